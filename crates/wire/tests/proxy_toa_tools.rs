//! Independent decoders read what we emit: tshark's PROXY dissector (v1 and v2) and
//! its TCP dissector with checksum validation for TOA segments, and scapy's TCP
//! option parser and checksum. Skipped (with a note) where the tool is not
//! installed; `scripts/setup` installs tshark, `pip install scapy` the other.

mod common;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::{Command, Stdio};

use wire::proxy_proto::{pp2_type, ProxyTlv, ProxyTlvs};
use wire::toa::insert_toa;
use wire::{checksum, ProxyHeaderRepr, ProxyVersion, TcpPacket, ToaInsert, ToaRepr, VecBuf};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Ethernet + IPv4/IPv6 around `seg` (a TCP segment whose checksum is already right
/// for `src`/`dst`).
fn frame(src: IpAddr, dst: IpAddr, seg: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&[0x08, 0x00]);
            let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0];
            ip[2..4].copy_from_slice(&((20 + seg.len()) as u16).to_be_bytes());
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
            let c = !checksum::data(&ip);
            ip[10..12].copy_from_slice(&c.to_be_bytes());
            f.extend_from_slice(&ip);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&(seg.len() as u16).to_be_bytes());
            f.extend_from_slice(&[6, 64]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        _ => panic!("mixed families"),
    }
    f.extend_from_slice(seg);
    f
}

/// A TCP segment sport → 80 with `opts` and `payload`, checksummed for `src`/`dst`.
fn segment(src: IpAddr, dst: IpAddr, sport: u16, flags: u8, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let hl = 20 + ((opts.len() + 3) & !3);
    let mut b = vec![0u8; hl + payload.len()];
    b[..2].copy_from_slice(&sport.to_be_bytes());
    b[2..4].copy_from_slice(&80u16.to_be_bytes());
    b[4..8].copy_from_slice(&1000u32.to_be_bytes());
    b[8..12].copy_from_slice(&2000u32.to_be_bytes());
    b[12] = ((hl / 4) as u8) << 4;
    b[13] = flags;
    b[14..16].copy_from_slice(&[0x72, 0x10]);
    b[20..20 + opts.len()].copy_from_slice(opts);
    b[hl..].copy_from_slice(payload);
    let mut t = TcpPacket::new_checked(&mut b[..]).unwrap();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => t.fill_checksum(&s, &d),
        (IpAddr::V6(s), IpAddr::V6(d)) => t.fill_checksum(&s, &d),
        _ => panic!("mixed families"),
    }
    b
}

/// A classic pcap file of Ethernet frames.
fn pcap(frames: &[Vec<u8>]) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("rvs-proxy-toa-{}-{n}.pcap", std::process::id()));
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32.to_le_bytes(), [2, 0, 4, 0], [0; 4], [0; 4], 65535u32.to_le_bytes(), 1u32.to_le_bytes()] {
        out.extend_from_slice(&v);
    }
    for (i, f) in frames.iter().enumerate() {
        for v in [(i as u32 + 1).to_le_bytes(), [0; 4], (f.len() as u32).to_le_bytes(), (f.len() as u32).to_le_bytes()]
        {
            out.extend_from_slice(&v);
        }
        out.extend_from_slice(f);
    }
    std::fs::write(&path, out).unwrap();
    path
}

/// tshark's fields for each frame of `frames`, `|`-separated; `None` without tshark.
fn tshark(frames: &[Vec<u8>], extra: &[&str], fields: &[&str]) -> Option<Vec<String>> {
    let path = pcap(frames);
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(&path).args(extra).args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=a"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output();
    let _ = std::fs::remove_file(&path);
    let Ok(out) = out else {
        panic!("tshark not found: the independent decoder cannot run (scripts/setup installs it)");
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    Some(text.lines().map(str::to_owned).collect())
}

#[test]
fn tshark_decodes_our_proxy_headers() {
    let (c4, v4) = (sa("192.0.2.10:51000"), sa("203.0.113.5:443"));
    let (c6, v6) = (sa("[2001:db8::a]:51000"), sa("[2001:db8:1::5]:443"));
    let headers = [
        ProxyHeaderRepr::tcp(ProxyVersion::V1, c4, v4),
        ProxyHeaderRepr::tcp(ProxyVersion::V1, c6, v6),
        ProxyHeaderRepr::tcp(ProxyVersion::V2, c4, v4),
        ProxyHeaderRepr::tcp(ProxyVersion::V2, c6, v6),
    ];
    let (l, r): (IpAddr, IpAddr) = (Ipv4Addr::new(10, 0, 0, 1).into(), Ipv4Addr::new(10, 0, 0, 2).into());
    let frames: Vec<Vec<u8>> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut p = [0u8; 128];
            // The last v2 header also carries TLVs (ALPN, AUTHORITY).
            let tlvs = [
                ProxyTlv { kind: pp2_type::ALPN, value: b"h2" },
                ProxyTlv { kind: pp2_type::AUTHORITY, value: b"example.com" },
            ];
            let n = if i == 3 { h.emit_with_tlvs(&tlvs, &mut p) } else { h.emit(&mut p) }.unwrap();
            let payload = [&p[..n], b"GET / HTTP/1.0\r\n\r\n"].concat();
            frame(l, r, &segment(l, r, 40000 + i as u16, 0x18, &[], &payload))
        })
        .collect();
    let fields = [
        "proxy.src.ipv4",
        "proxy.src.ipv6",
        "proxy.dst.ipv4",
        "proxy.dst.ipv6",
        "proxy.srcport",
        "proxy.dstport",
        "proxy.v2.cmd",
        "proxy.v2.addr_family_protocol",
        "proxy.v2.tlv.type",
    ];
    // The PROXY dissector is a TCP heuristic ("proxy_tcp", on by default); tried before
    // the port's (HTTP) dissector.
    let extra = ["-o", "tcp.try_heuristic_first:TRUE"];
    let Some(lines) = tshark(&frames, &extra, &fields) else { return };
    eprintln!("tshark PROXY: {lines:#?}");
    assert_eq!(lines.len(), 4, "{lines:?}");
    let want = [
        "192.0.2.10||203.0.113.5||51000|443|||",
        "|2001:db8::a||2001:db8:1::5|51000|443|||",
        "192.0.2.10||203.0.113.5||51000|443|1|0x11|",
        // tshark 4.0.17 lists only the first TLV, also for the same header built by
        // hand in Python (the golden in proxy_toa.rs); the length covers both.
        "|2001:db8::a||2001:db8:1::5|51000|443|1|0x21|0x01",
    ];
    for (got, want) in lines.iter().zip(want) {
        assert_eq!(got, want, "{lines:?}");
    }
}

/// client, (L3 src, L3 dst), TCP flags, options, payload.
type Case<'a> = (&'a str, (IpAddr, IpAddr), u8, &'a [u8], &'a [u8]);

/// The TOA cases run through both decoders: (client, L3 src, L3 dst, flags, options).
fn toa_cases() -> Vec<(String, Vec<u8>, usize)> {
    let l4: (IpAddr, IpAddr) = (Ipv4Addr::new(10, 0, 0, 1).into(), Ipv4Addr::new(10, 0, 0, 2).into());
    let l6: (IpAddr, IpAddr) =
        (Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1).into(), Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2).into());
    let syn_opts = common::hex("020405b401030307010104020101080a00000001000000001c048000fe0800010a0a0a0a");
    let sack = common::hex("0101080a00000007000000090101051a000000010000000200000003000000040000000500000006");
    let cases: [Case; 5] = [
        ("198.51.100.7:51234", l4, 0x10, b"", b""),
        ("[2001:db8::7]:51234", l4, 0x18, &[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2], b"odd"),
        ("198.51.100.7:51234", l4, 0x02, &syn_opts, b""),
        ("198.51.100.7:51234", l6, 0x18, &sack, b"payload!"),
        ("[2001:db8::7]:51234", l6, 0x02, &syn_opts, b""),
    ];
    cases
        .iter()
        .map(|(client, (s, d), flags, opts, payload)| {
            let seg = segment(*s, *d, 40000, *flags, opts, payload);
            let f = frame(*s, *d, &seg);
            let l3 = f.len() - seg.len();
            let mut buf = VecBuf::from_slice(&f);
            let toa = ToaRepr { client: sa(client) };
            let r = insert_toa(&mut buf, l3, seg.len(), &toa, usize::MAX).unwrap();
            let ToaInsert::Inserted { seg_len, .. } = r else { panic!("{client}: {r:?}") };
            // Rebuild the L3 header for the new length (what the caller does).
            let new_seg = buf.to_vec()[l3..l3 + seg_len].to_vec();
            (client.to_string(), frame(*s, *d, &new_seg), seg_len - payload.len())
        })
        .collect()
}

#[test]
fn tshark_validates_toa_segments() {
    let cases = toa_cases();
    let frames: Vec<Vec<u8>> = cases.iter().map(|c| c.1.clone()).collect();
    let fields = [
        "tcp.hdr_len",
        "tcp.checksum.status",
        "tcp.option_kind",
        "tcp.option_len",
        "tcp.options.experimental.exid",
        "tcp.options.experimental.data",
    ];
    let extra = ["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"];
    let Some(lines) = tshark(&frames, &extra, &fields) else { return };
    eprintln!("tshark TOA: {lines:#?}");
    assert_eq!(lines.len(), cases.len(), "{lines:?}");
    for ((client, _, hl), line) in cases.iter().zip(&lines) {
        let f: Vec<&str> = line.split('|').collect();
        let c = sa(client);
        let (len, addr_hex) = match c.ip() {
            IpAddr::V4(a) => (8, common::to_hex(&a.octets())),
            IpAddr::V6(a) => (20, common::to_hex(&a.octets())),
        };
        assert_eq!(f[0], hl.to_string(), "{line}");
        assert_eq!(f[1], "1", "checksum status Good: {line}");
        assert_eq!(f[2].split(',').next(), Some("254"), "TOA first: {line}");
        assert_eq!(f[2].matches("254").count(), 1, "one TOA: {line}");
        assert_eq!(f[3].split(',').next(), Some(len.to_string().as_str()), "{line}");
        // Wireshark reads kind 254 as RFC 6994: the port is the "ExID".
        assert_eq!(f[4], format!("0x{:04x}", c.port()), "{line}");
        assert_eq!(f[5].replace(':', ""), addr_hex, "{line}");
    }
}

#[test]
fn scapy_parses_toa_segments() {
    let cases = toa_cases();
    let script = r#"
import sys
from scapy.all import Ether, TCP, IP, IPv6
from scapy.layers.inet import in4_chksum
from scapy.layers.inet6 import in6_chksum
for line in sys.stdin:
    f = Ether(bytes.fromhex(line.strip()))
    ip = f[IP] if IP in f else f[IPv6]
    raw = bytes(f[TCP])
    zeroed = raw[:16] + b"\0\0" + raw[18:]
    ck = in4_chksum(6, ip, zeroed) if IP in f else in6_chksum(6, ip, zeroed)
    opts = f[TCP].options
    kind, val = opts[0]
    print(f[TCP].dataofs * 4, int(ck == f[TCP].chksum), kind, val.hex() if isinstance(val, bytes) else val,
          sum(1 for o in opts if o[0] == kind))
"#;
    let child = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        panic!("python3 not found: the scapy cross-check cannot run");
    };
    let mut input = String::new();
    for c in &cases {
        input.push_str(&common::to_hex(&c.1));
        input.push('\n');
    }
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("No module named 'scapy'"), "scapy missing: scripts/setup installs python3-scapy");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    eprintln!("scapy TOA: {text}");
    assert_eq!(lines.len(), cases.len(), "{text}{err}");
    for ((client, _, hl), line) in cases.iter().zip(&lines) {
        let c = sa(client);
        let mut value = c.port().to_be_bytes().to_vec();
        match c.ip() {
            IpAddr::V4(a) => value.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => value.extend_from_slice(&a.octets()),
        }
        assert_eq!(*line, format!("{hl} 1 254 {} 1", common::to_hex(&value)), "{text}");
    }
}

/// haproxy (Debian's 2.6) on loopback: an `accept-proxy` frontend answers each
/// request with the addresses it took from our header (v1, v2, IPv4, IPv6, LOCAL),
/// and `send-proxy` / `send-proxy-v2` servers send their headers (v2 with a CRC32C
/// TLV) to a listener of ours, which must parse them to the real endpoints.
#[test]
fn haproxy_reads_ours_and_we_read_haproxys() {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    let free = || TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (port, send_v1, send_v2) = (free(), free(), free());
    // The other way round, haproxy as the encoder: `send-proxy` / `send-proxy-v2`
    // (with a CRC32C TLV) towards a listener of ours.
    let ours = TcpListener::bind("127.0.0.1:0").unwrap();
    let ours_port = ours.local_addr().unwrap().port();
    let cfg = std::env::temp_dir().join(format!("rvs-proxy-haproxy-{}.cfg", std::process::id()));
    let conf = format!(
        "global\n  maxconn 100\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend f\n  bind 127.0.0.1:{port} accept-proxy\n  \
         http-request return status 200 content-type text/plain lf-string \"%[src] %[src_port] %[dst] %[dst_port]\"\n\
         listen s1\n  mode tcp\n  bind 127.0.0.1:{send_v1}\n  server o 127.0.0.1:{ours_port} send-proxy\n\
         listen s2\n  mode tcp\n  bind 127.0.0.1:{send_v2}\n  \
         server o 127.0.0.1:{ours_port} send-proxy-v2 proxy-v2-options crc32c\n"
    );
    std::fs::write(&cfg, conf).unwrap();
    let child =
        Command::new("haproxy").arg("-db").arg("-f").arg(&cfg).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
    let Ok(mut child) = child else {
        let _ = std::fs::remove_file(&cfg);
        panic!("haproxy not found: the PROXY protocol cross-check cannot run (scripts/setup installs it)");
    };
    let ask = |header: &[u8]| -> String {
        let start = Instant::now();
        let mut s = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) if start.elapsed() < Duration::from_secs(5) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => panic!("haproxy did not listen: {e}"),
            }
        };
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&[header, b"GET / HTTP/1.0\r\n\r\n"].concat()).unwrap();
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        resp.rsplit("\r\n\r\n").next().unwrap_or("").to_string()
    };
    let (c4, v4) = (sa("192.0.2.10:51000"), sa("203.0.113.5:443"));
    let (c6, v6) = (sa("[2001:db8::a]:51001"), sa("[2001:db8:1::5]:8443"));
    let mut answers = Vec::new();
    for version in [ProxyVersion::V1, ProxyVersion::V2] {
        for (c, v) in [(c4, v4), (c6, v6)] {
            let mut p = [0u8; 128];
            let n = ProxyHeaderRepr::tcp(version, c, v).emit(&mut p).unwrap();
            answers.push((format!("{} {} {} {}", c.ip(), c.port(), v.ip(), v.port()), ask(&p[..n])));
        }
    }
    // A v2 LOCAL header: haproxy keeps the real endpoints.
    let local = ProxyHeaderRepr { version: ProxyVersion::V2, command: wire::ProxyCommand::Local, addrs: None };
    let mut p = [0u8; 16];
    local.emit(&mut p).unwrap();
    let real = ask(&p);
    let mut encoded = Vec::new();
    for (via, version) in [(send_v1, ProxyVersion::V1), (send_v2, ProxyVersion::V2)] {
        let client = TcpStream::connect(("127.0.0.1", via)).unwrap();
        let (mut conn, _) = ours.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let mut b = [0u8; 256];
        // Read until the header parses (haproxy sends it at once; TCP may not).
        let parsed = loop {
            match ProxyHeaderRepr::parse(&got) {
                Err(wire::Error::Truncated) => {}
                other => break other,
            }
            let n = conn.read(&mut b).unwrap();
            assert!(n > 0, "eof after {got:?}");
            got.extend_from_slice(&b[..n]);
        };
        let want = ProxyHeaderRepr::tcp(version, client.local_addr().unwrap(), sa(&format!("127.0.0.1:{via}")));
        let (r, n) = parsed.unwrap_or_else(|e| panic!("{e:?}: {}", common::to_hex(&got)));
        let tlvs: Vec<u8> = match version {
            ProxyVersion::V2 => ProxyTlvs::of_header(&got[..n]).unwrap().flatten().map(|t| t.kind).collect(),
            ProxyVersion::V1 => Vec::new(),
        };
        encoded.push((r, want, tlvs));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&cfg);
    eprintln!("haproxy: {answers:?} local: {real:?}");
    for (want, got) in &answers {
        assert_eq!(got, want, "haproxy stderr: {}", String::from_utf8_lossy(&out.stderr));
    }
    eprintln!("haproxy-encoded: {encoded:?}");
    for (got, want, _) in &encoded {
        assert_eq!(got, want);
    }
    assert_eq!(encoded[1].2, [pp2_type::CRC32C], "v2 carries a CRC32C TLV, checked by parse");
    assert!(real.starts_with("127.0.0.1 "), "{real}");
    assert!(real.ends_with(&format!(" 127.0.0.1 {port}")), "{real}");
}
