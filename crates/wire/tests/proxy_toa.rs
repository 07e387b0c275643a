//! PROXY protocol v1/v2 and TOA: goldens from haproxy's proxy-protocol.txt and hand
//! bytes laid out from the spec / DPVS's structs, round trips, needs-more-data versus
//! invalid, DPVS's pruning cases, and no panics on any input. The external decoders
//! (tshark, scapy) are in `proxy_toa_tools.rs`.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use common::hex;
use proptest::prelude::*;
use wire::proxy_proto::{pp2_type, ProxyTlv, ProxyTlvs, V2_SIGNATURE};
use wire::toa::{insert_toa, strip_toa, TOA_KIND};
use wire::{
    Error, PacketBuf, ProxyAddrs, ProxyCommand, ProxyHeaderRepr, ProxyTransport, ProxyVersion, TcpPacket, ToaInsert,
    ToaRepr, VecBuf,
};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn v1(line: &[u8]) -> Result<(ProxyHeaderRepr, usize), Error> {
    ProxyHeaderRepr::parse(line)
}

// ---------------------------------------------------------------- PROXY v1

#[test]
fn v1_spec_example_round_trips() {
    // §2.1's example line, followed by the HTTP request it precedes.
    let wire = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
    let want = ProxyHeaderRepr::tcp(ProxyVersion::V1, sa("192.168.0.1:56324"), sa("192.168.0.11:443"));
    assert_eq!(v1(wire), Ok((want, 47)));
    let mut out = [0u8; 107];
    assert_eq!(want.buffer_len(), Ok(47));
    assert_eq!(want.emit(&mut out), Ok(47));
    assert_eq!(&out[..47], &wire[..47]);
    assert_eq!(want.emit(&mut out[..46]), Err(Error::Truncated));
}

#[test]
fn v1_longest_lines() {
    // §2.1's maximum lengths: 56 (TCP4), 104 (TCP6), 107 (UNKNOWN worst case).
    let l4 = b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
    let r4 = ProxyHeaderRepr::tcp(ProxyVersion::V1, sa("255.255.255.255:65535"), sa("255.255.255.255:65535"));
    assert_eq!(v1(l4), Ok((r4, 56)));
    let f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let l6 = format!("PROXY TCP6 {f} {f} 65535 65535\r\n");
    let r6 = ProxyHeaderRepr::tcp(ProxyVersion::V1, sa(&format!("[{f}]:65535")), sa(&format!("[{f}]:65535")));
    assert_eq!(v1(l6.as_bytes()), Ok((r6, 104)));
    let mut out = [0u8; 104];
    assert_eq!(r6.emit(&mut out), Ok(104));
    assert_eq!(&out[..], l6.as_bytes());
    let unknown = ProxyHeaderRepr { version: ProxyVersion::V1, command: ProxyCommand::Proxy, addrs: None };
    assert_eq!(v1(b"PROXY UNKNOWN\r\n"), Ok((unknown, 15)));
    // "the receiver must ignore anything presented before the CRLF".
    let worst = format!("PROXY UNKNOWN {f} {f} 65535 65535\r\n");
    assert_eq!(worst.len(), 107);
    assert_eq!(v1(worst.as_bytes()), Ok((unknown, 107)));
    assert_eq!(unknown.emit(&mut out), Ok(15));
    assert_eq!(&out[..15], b"PROXY UNKNOWN\r\n");
}

#[test]
fn v1_ipv6_compressed_forms() {
    let r = v1(b"PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 0\r\n").unwrap().0;
    assert_eq!(r.src(), Some(sa("[2001:db8::1]:1")));
    assert_eq!(r.dst(), Some(sa("[::ffff:10.0.0.1]:0")));
    let r = ProxyHeaderRepr::tcp(ProxyVersion::V1, sa("[2001:db8:0:0:1::1]:80"), sa("[::]:8080"));
    let mut out = [0u8; 107];
    let n = r.emit(&mut out).unwrap();
    assert_eq!(&out[..n], b"PROXY TCP6 2001:db8::1:0:0:1 :: 80 8080\r\n");
}

#[test]
fn v1_invalid_lines() {
    for bad in [
        &b"PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n"[..], // heading zero (port)
        b"PROXY TCP4 192.168.0.01 192.168.0.11 56324 443\r\n",      // heading zero (octet)
        b"PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n",       // port range
        b"PROXY TCP4 192.168.0.1  192.168.0.11 56324 443\r\n",      // two spaces
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 \r\n",      // trailing space
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n",           // missing field
        b"PROXY TCP4 ::1 ::1 1 2\r\n",                              // family mismatch
        b"PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n",
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n", // lone LF
        b"PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n",
        b"PROXY tcp4 1.2.3.4 1.2.3.4 1 2\r\n",
        b"PROXY +1.2.3.4 1.2.3.4 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n",
        b"PROXX TCP4",
        b"GET / HTTP/1.1\r\n",
    ] {
        assert_eq!(v1(bad), Err(Error::Malformed), "{}", String::from_utf8_lossy(bad));
    }
    // No CRLF in the first 107 bytes: invalid; fewer bytes so far: read more.
    let long = [b"PROXY UNKNOWN ".as_slice(), &[b'x'; 100]].concat();
    assert_eq!(v1(&long), Err(Error::Malformed));
    assert_eq!(v1(&long[..106]), Err(Error::Truncated));
    for n in 0..6 {
        assert_eq!(v1(&b"PROXY "[..n]), Err(Error::Truncated));
    }
    // Garbage is refused before the CRLF arrives; a possible start waits for more.
    for bad in [&b"PROXY X"[..], b"PROXY TCP5", b"PROXY TCP4 1.2.3.4 x", b"PROXY TCP4 1.2\r ", b"PROXY UNKNOWNX"] {
        assert_eq!(v1(bad), Err(Error::Malformed), "{}", String::from_utf8_lossy(bad));
    }
    for ok in [&b"PROXY T"[..], b"PROXY TCP6 ::1 ", b"PROXY UNKNOWN anything!", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"] {
        assert_eq!(v1(ok), Err(Error::Truncated), "{}", String::from_utf8_lossy(ok));
    }
}

#[test]
fn v1_refuses_what_it_cannot_say() {
    let mut out = [0u8; 128];
    let udp = ProxyAddrs { transport: ProxyTransport::Udp, src: sa("1.2.3.4:1"), dst: sa("5.6.7.8:2") };
    let r = ProxyHeaderRepr { version: ProxyVersion::V1, command: ProxyCommand::Proxy, addrs: Some(udp) };
    assert_eq!(r.emit(&mut out), Err(Error::Malformed));
    let r = ProxyHeaderRepr { version: ProxyVersion::V1, command: ProxyCommand::Local, addrs: None };
    assert_eq!(r.emit(&mut out), Err(Error::Malformed));
    let r = ProxyHeaderRepr::tcp(ProxyVersion::V1, sa("1.2.3.4:1"), sa("[::1]:2"));
    assert_eq!(r.emit(&mut out), Err(Error::Malformed));
    assert_eq!(r.buffer_len(), Err(Error::Malformed));
}

// ---------------------------------------------------------------- PROXY v2

const SIG: &str = "0d0a0d0a000d0a515549540a";

#[test]
fn v2_tcp4_tcp6_udp_local_goldens() {
    // Hand bytes from §2.2: signature, ver_cmd 0x21, fam, be16 length, addresses, ports.
    let cases = [
        (
            format!("{SIG}2111000cc0a80001c0a8000bdc0401bb"),
            ProxyHeaderRepr::tcp(ProxyVersion::V2, sa("192.168.0.1:56324"), sa("192.168.0.11:443")),
        ),
        (
            format!(
                "{SIG}21210024{}{}dc0401bb",
                "20010db8000000000000000000000001", "20010db8000000000000000000000002"
            ),
            ProxyHeaderRepr::tcp(ProxyVersion::V2, sa("[2001:db8::1]:56324"), sa("[2001:db8::2]:443")),
        ),
        (
            format!("{SIG}2112000c0a0000010a00000200350035"),
            ProxyHeaderRepr {
                version: ProxyVersion::V2,
                command: ProxyCommand::Proxy,
                addrs: Some(ProxyAddrs {
                    transport: ProxyTransport::Udp,
                    src: sa("10.0.0.1:53"),
                    dst: sa("10.0.0.2:53"),
                }),
            },
        ),
        (
            format!("{SIG}20000000"),
            ProxyHeaderRepr { version: ProxyVersion::V2, command: ProxyCommand::Local, addrs: None },
        ),
        (
            format!("{SIG}21000000"),
            ProxyHeaderRepr { version: ProxyVersion::V2, command: ProxyCommand::Proxy, addrs: None },
        ),
    ];
    for (h, r) in cases {
        let wire = hex(&h);
        assert_eq!(ProxyHeaderRepr::parse(&wire), Ok((r, wire.len())), "{h}");
        let mut out = [0u8; 64];
        assert_eq!(r.emit(&mut out), Ok(wire.len()));
        assert_eq!(&out[..wire.len()], &wire[..]);
        assert_eq!(r.buffer_len(), Ok(wire.len()));
        assert_eq!(r.emit(&mut out[..wire.len() - 1]), Err(Error::Truncated));
        // Every proper prefix asks for more data; with data after it, the length stops.
        for n in 0..wire.len() {
            assert_eq!(ProxyHeaderRepr::parse(&wire[..n]), Err(Error::Truncated), "{h} cut at {n}");
        }
        let more = [&wire[..], b"GET /"].concat();
        assert_eq!(ProxyHeaderRepr::parse(&more), Ok((r, wire.len())));
    }
}

#[test]
fn v2_local_and_unix_ignore_the_address_block() {
    // LOCAL with a TCP4 block: "discard the protocol block including the family".
    let wire = hex(&format!("{SIG}2011000c0102030405060708000100020a"));
    let (r, n) = ProxyHeaderRepr::parse(&wire).unwrap();
    assert_eq!((r.command, r.addrs, n), (ProxyCommand::Local, None, 28));
    // LOCAL even with a family byte that PROXY would reject.
    assert_eq!(ProxyHeaderRepr::parse(&hex(&format!("{SIG}20ff0000"))).map(|x| x.1), Ok(16));
    // AF_UNIX stream: 216 bytes of paths, no IP endpoints.
    let unix = [hex(&format!("{SIG}213100d8")), vec![0u8; 216]].concat();
    assert_eq!(ProxyHeaderRepr::parse(&unix).map(|(r, n)| (r.addrs, n)), Ok((None, 232)));
    // Emitting LOCAL with addresses is refused.
    let mut r = ProxyHeaderRepr::tcp(ProxyVersion::V2, sa("1.2.3.4:1"), sa("5.6.7.8:2"));
    r.command = ProxyCommand::Local;
    assert_eq!(r.emit(&mut [0u8; 64]), Err(Error::Malformed));
}

#[test]
fn v2_invalid_headers() {
    for (why, h) in [
        ("version 1 in ver_cmd", format!("{SIG}1111000cc0a80001c0a8000bdc0401bb")),
        ("command 2", format!("{SIG}2211000cc0a80001c0a8000bdc0401bb")),
        ("fam 0x13", format!("{SIG}2113000cc0a80001c0a8000bdc0401bb")),
        ("fam 0x41", format!("{SIG}2141000cc0a80001c0a8000bdc0401bb")),
        ("fam 0x10", format!("{SIG}2110000cc0a80001c0a8000bdc0401bb")),
        ("length < block", format!("{SIG}2111000bc0a80001c0a8000bdc0401")),
        ("TLV past the end", format!("{SIG}21110010c0a80001c0a8000bdc0401bb04000500")),
        ("TLV header cut", format!("{SIG}2111000ec0a80001c0a8000bdc0401bb0400")),
        ("bad signature", "0d0a0d0a000d0a515549540b2111000c".to_string()),
    ] {
        assert_eq!(ProxyHeaderRepr::parse(&hex(&h)), Err(Error::Malformed), "{why}");
    }
    assert_eq!(ProxyVersion::detect(b"\r\n\r\n\0"), Err(Error::Truncated));
    assert_eq!(ProxyVersion::detect(b"\r\n\r\n\0\r\nQUIT\n!"), Ok(Some(ProxyVersion::V2)));
    assert_eq!(ProxyVersion::detect(b"PROXY TCP4"), Ok(Some(ProxyVersion::V1)));
    assert_eq!(ProxyVersion::detect(b"\r\nX"), Ok(None));
    assert_eq!(ProxyVersion::detect(b""), Err(Error::Truncated));
}

/// CRC32c written independently of the crate's: table-driven, reflected 0x82F63B78.
fn crc32c_table(data: &[u8]) -> u32 {
    let table: Vec<u32> =
        (0..256u32).map(|i| (0..8).fold(i, |c, _| if c & 1 == 1 { (c >> 1) ^ 0x82F6_3B78 } else { c >> 1 })).collect();
    !data.iter().fold(!0u32, |c, &b| table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8))
}

#[test]
fn v2_tlvs_match_a_python_encoding() {
    // Built with Python's struct from §2.2 (sig, 0x21, 0x21, be16 len, addresses,
    // ports, TLVs ALPN "h2" and AUTHORITY "example.com").
    let py = hex(concat!(
        "0d0a0d0a000d0a515549540a2121003720010db800000000000000000000000a20010db80001000000",
        "00000000000005c73801bb010002683202000b6578616d706c652e636f6d"
    ));
    let r = ProxyHeaderRepr::tcp(ProxyVersion::V2, sa("[2001:db8::a]:51000"), sa("[2001:db8:1::5]:443"));
    let tlvs = [
        ProxyTlv { kind: pp2_type::ALPN, value: b"h2" },
        ProxyTlv { kind: pp2_type::AUTHORITY, value: b"example.com" },
    ];
    let mut out = [0u8; 128];
    assert_eq!(r.emit_with_tlvs(&tlvs, &mut out), Ok(py.len()));
    assert_eq!(&out[..py.len()], &py[..]);
    assert_eq!(ProxyHeaderRepr::parse(&py), Ok((r, py.len())));
    let got: Vec<_> = ProxyTlvs::of_header(&py).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(got, tlvs);
}

#[test]
fn v2_tlvs_are_kept_and_crc_checked() {
    let r = ProxyHeaderRepr::tcp(ProxyVersion::V2, sa("10.1.2.3:40000"), sa("10.9.9.9:443"));
    let tlvs = [
        ProxyTlv { kind: pp2_type::ALPN, value: b"h2" },
        ProxyTlv { kind: pp2_type::AUTHORITY, value: b"example.com" },
        ProxyTlv { kind: pp2_type::CRC32C, value: &[0; 4] },
        ProxyTlv { kind: pp2_type::NOOP, value: &[] },
    ];
    let mut out = [0u8; 128];
    let n = r.emit_with_tlvs(&tlvs, &mut out).unwrap();
    assert_eq!(n, 28 + 5 + 14 + 7 + 3);
    // Fill the CRC as §2.2.3 says: over the whole header with the field at zero.
    let crc_at = 28 + 5 + 14 + 3;
    let crc = crc32c_table(&out[..n]);
    out[crc_at..crc_at + 4].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(ProxyHeaderRepr::parse(&out[..n]), Ok((r, n)));
    let got: Vec<_> = ProxyTlvs::of_header(&out[..n]).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(got.len(), 4);
    assert_eq!(got[1], tlvs[1]);
    assert_eq!(got[2].value, crc.to_be_bytes());
    out[20] ^= 1; // a flipped address bit no longer matches the CRC
    assert_eq!(ProxyHeaderRepr::parse(&out[..n]), Err(Error::Malformed));
    let v1 = ProxyHeaderRepr { version: ProxyVersion::V1, ..r };
    assert_eq!(v1.emit_with_tlvs(&tlvs, &mut out), Err(Error::Malformed));
}

fn addr_pair() -> impl Strategy<Value = (SocketAddr, SocketAddr)> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>(), any::<[u8; 4]>(), any::<u16>()).prop_map(|(a, p, b, q)| (
            SocketAddr::new(Ipv4Addr::from(a).into(), p),
            SocketAddr::new(Ipv4Addr::from(b).into(), q)
        )),
        (any::<[u8; 16]>(), any::<u16>(), any::<[u8; 16]>(), any::<u16>(), any::<u8>()).prop_map(|(a, p, b, q, z)| {
            // Runs of zeros exercise the `::` forms of the text encoding.
            let mut a = a;
            a[(z % 8) as usize * 2..].iter_mut().take(usize::from(z % 9) * 2).for_each(|x| *x = 0);
            (SocketAddr::new(Ipv6Addr::from(a).into(), p), SocketAddr::new(Ipv6Addr::from(b).into(), q))
        }),
    ]
}

fn repr() -> impl Strategy<Value = ProxyHeaderRepr> {
    (any::<bool>(), any::<bool>(), prop::option::of(addr_pair()), any::<bool>()).prop_map(|(v2, udp, addrs, local)| {
        let version = if v2 { ProxyVersion::V2 } else { ProxyVersion::V1 };
        let transport = if v2 && udp { ProxyTransport::Udp } else { ProxyTransport::Tcp };
        let command = if v2 && local && addrs.is_none() { ProxyCommand::Local } else { ProxyCommand::Proxy };
        let addrs = addrs.map(|(src, dst)| ProxyAddrs { transport, src, dst });
        ProxyHeaderRepr { version, command, addrs }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn proxy_round_trip(r in repr(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mut out = [0u8; 128];
        let n = r.emit(&mut out).unwrap();
        prop_assert_eq!(Ok(n), r.buffer_len());
        prop_assert!(n <= 107 || r.version == ProxyVersion::V2);
        let with_tail = [&out[..n], &tail[..]].concat();
        prop_assert_eq!(ProxyHeaderRepr::parse(&with_tail), Ok((r, n)));
        for k in 0..n {
            prop_assert_eq!(ProxyHeaderRepr::parse(&out[..k]), Err(Error::Truncated));
            prop_assert_eq!(r.emit(&mut [0u8; 128][..k]), Err(Error::Truncated));
        }
    }

    #[test]
    fn proxy_parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300), v2 in any::<bool>()) {
        let b = if v2 { [&V2_SIGNATURE[..], &b].concat() } else { [&b"PROXY "[..], &b].concat() };
        for buf in [&b[..], &b[12.min(b.len())..]] {
            if let Ok((r, n)) = ProxyHeaderRepr::parse(buf) {
                prop_assert!(n <= buf.len());
                let mut out = [0u8; 128];
                // What was parsed re-emits and parses to the same value.
                if let Ok(m) = r.emit(&mut out) {
                    prop_assert_eq!(ProxyHeaderRepr::parse(&out[..m]).map(|x| x.0), Ok(r));
                }
            }
            if let Ok(t) = ProxyTlvs::of_header(buf) {
                for x in t.take(300) { let _ = x; }
            }
            let _ = ProxyVersion::detect(buf);
        }
    }
}

// ---------------------------------------------------------------- TOA

/// A TCP segment with `opts` (padded with EOL to 4 bytes), checksummed over
/// 10.0.0.1 → 10.0.0.2.
fn segment(flags: u8, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let hl = 20 + ((opts.len() + 3) & !3);
    let mut b = vec![0u8; hl + payload.len()];
    b[..4].copy_from_slice(&[0x9c, 0x40, 0x00, 0x50]);
    b[4..8].copy_from_slice(&0x1000_0000u32.to_be_bytes());
    b[8..12].copy_from_slice(&0x2000_0001u32.to_be_bytes());
    b[12] = ((hl / 4) as u8) << 4;
    b[13] = flags;
    b[14..16].copy_from_slice(&[0xff, 0xff]);
    b[20..20 + opts.len()].copy_from_slice(opts);
    b[hl..].copy_from_slice(payload);
    let mut t = TcpPacket::new_checked(&mut b[..]).unwrap();
    t.fill_checksum(&SRC, &DST);
    b
}

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

fn toa4() -> ToaRepr {
    ToaRepr { client: sa("198.51.100.7:51234") }
}
fn toa6() -> ToaRepr {
    ToaRepr { client: sa("[2001:db8::7]:51234") }
}

/// Insert into a copy of `seg` sitting after a 14-byte fake L2 header.
fn insert(seg: &[u8], toa: &ToaRepr, max: usize) -> (ToaInsert, Vec<u8>) {
    let frame = [&[0xeeu8; 14][..], seg].concat();
    let mut buf = VecBuf::from_slice(&frame);
    let r = insert_toa(&mut buf, 14, seg.len(), toa, max).unwrap();
    let out = buf.to_vec();
    assert_eq!(&out[..14], &[0xee; 14]);
    (r, out[14..].to_vec())
}

fn check(seg: &[u8], payload: &[u8]) {
    let t = TcpPacket::new_checked(seg).unwrap();
    assert!(t.verify_checksum(&SRC, &DST), "checksum");
    assert_eq!(t.payload(), payload);
}

#[test]
fn toa_option_bytes() {
    let mut o = [0u8; 20];
    assert_eq!(toa4().emit(&mut o), Ok(8));
    assert_eq!(o[..8], hex("fe08c822c6336407")[..]);
    assert_eq!(ToaRepr::parse(&o), Ok((toa4(), 8)));
    assert_eq!(toa6().emit(&mut o), Ok(20));
    assert_eq!(o[..], hex("fe14c82220010db8000000000000000000000007")[..]);
    assert_eq!(ToaRepr::parse(&o), Ok((toa6(), 20)));
    assert_eq!(toa6().emit(&mut o[..19]), Err(Error::Truncated));
    assert_eq!(ToaRepr::parse(&hex("fe0a00000000000000")), Err(Error::Malformed));
    assert_eq!(ToaRepr::parse(&hex("fd08c822c6336407")), Err(Error::Malformed));
    assert_eq!(ToaRepr::parse(&hex("fe08c822")), Err(Error::Truncated));
}

#[test]
fn toa_plain_insert_v4_v6() {
    let payload = b"hello, odd";
    // Linux's SYN options: MSS, SACK_PERM, TS, NOP, WS (20 bytes).
    let opts = hex("020405b40402080a0000000100000000 01030307".replace(' ', "").as_str());
    let seg = segment(ACK, &opts, payload);
    let (r, out) = insert(&seg, &toa4(), usize::MAX);
    assert_eq!(r, ToaInsert::Inserted { seg_len: seg.len() + 8, pruned: 0 });
    assert_eq!(out[12] >> 4, 12);
    assert_eq!(out[20..28], hex("fe08c822c6336407")[..]);
    assert_eq!(out[28..48], opts[..]);
    assert_eq!(out[..12], seg[..12]);
    check(&out, payload);
    let (r, out) = insert(&seg, &toa6(), usize::MAX);
    assert_eq!(r, ToaInsert::Inserted { seg_len: seg.len() + 20, pruned: 0 });
    assert_eq!(out[12] >> 4, 15);
    assert_eq!(ToaRepr::find(&TcpPacket::new_checked(&out[..]).unwrap()), Some(toa6()));
    check(&out, payload);
}

#[test]
fn toa_syn_prune_golden() {
    // SYN: MSS, NOP, WS, NOP, NOP, SACK_PERM, NOP, NOP, TS, a client's TOA, UTO (28):
    // 36 bytes of options. +8 is 4 over: pass 1 (NOPs, old 254) frees 13, enough.
    let opts = hex("020405b4 01 030307 0101 0402 0101 080a0000000100000000 fe080001010101 01 1c048000"
        .replace(' ', "")
        .as_str());
    assert_eq!(opts.len(), 36);
    let seg = segment(SYN, &opts, b"");
    let (r, out) = insert(&seg, &toa4(), usize::MAX);
    assert_eq!(r, ToaInsert::Inserted { seg_len: 20 + 8 + 24, pruned: 12 });
    let want_opts = "fe08c822c6336407 020405b4 030307 0402 080a0000000100000000 1c048000 00";
    assert_eq!(common::to_hex(&out[20..]), want_opts.replace(' ', ""));
    check(&out, b"");
    // IPv6 (+20 is 16 over): pass 1's 13 are short, so pass 2 drops UTO, the only
    // unprotected option of a SYN.
    let (r, out) = insert(&seg, &toa6(), usize::MAX);
    assert_eq!(r, ToaInsert::Inserted { seg_len: 60, pruned: 16 });
    let want = "fe14c82220010db8000000000000000000000007 020405b4 030307 0402 080a0000000100000000 00";
    assert_eq!(common::to_hex(&out[20..]), want.replace(' ', ""));
    check(&out, b"");
}

#[test]
fn toa_data_segment_drops_sack_keeps_ts() {
    // NOP, NOP, TS, NOP, NOP, SACK with 3 blocks: 40 bytes, header 60.
    let sack = "051a 00000001 00000002 00000003 00000004 00000005 00000006";
    let opts = hex(&format!("0101080a0000000700000009 0101 {sack}").replace(' ', ""));
    assert_eq!(opts.len(), 40);
    let payload: Vec<u8> = (0..301u16).map(|i| i as u8).collect();
    let seg = segment(ACK | 0x08, &opts, &payload);
    let (r, out) = insert(&seg, &toa4(), usize::MAX);
    assert_eq!(r, ToaInsert::Inserted { seg_len: 20 + 8 + 12 + 301, pruned: 28 });
    assert_eq!(common::to_hex(&out[20..40]), "fe08c822c6336407080a00000007000000090000");
    check(&out, &payload);
}

#[test]
fn toa_no_room_when_protected_options_fill_the_space() {
    // SYN: MSS, WS, SACK_PERM, TS, TFO cookie (34, 18 bytes): 37, padded to 40; all
    // protected on a SYN (DPVS keeps MSS, WS, SACKP, TS, MPTCP, TFO).
    let opts = hex(&format!("020405b4 030307 0402 080a0000000100000000 2212{}", "ab".repeat(16)).replace(' ', ""));
    let seg = segment(SYN, &opts, b"");
    assert_eq!(insert(&seg, &toa4(), usize::MAX), (ToaInsert::NoRoom, seg.clone()));
    // On a non-SYN only TS is protected: the cookie and the rest go.
    let seg = segment(ACK, &opts, b"x");
    let (r, out) = insert(&seg, &toa4(), usize::MAX);
    assert!(matches!(r, ToaInsert::Inserted { .. }), "{r:?}");
    check(&out, b"x");
    // The MTU: a full-sized segment without options cannot grow.
    let seg = segment(ACK, &[], &[7; 100]);
    assert_eq!(insert(&seg, &toa4(), seg.len()), (ToaInsert::NoRoom, seg.clone()));
    assert!(matches!(insert(&seg, &toa4(), seg.len() + 8).0, ToaInsert::Inserted { .. }));
    // ... one with SACK blocks can, once they are pruned.
    let seg = segment(ACK, &hex("0101050a0000000100000002"), &[7; 100]);
    let (r, out) = insert(&seg, &toa4(), seg.len());
    assert_eq!(r, ToaInsert::Inserted { seg_len: seg.len() - 4, pruned: 12 });
    check(&out, &[7; 100]);
}

#[test]
fn toa_tailroom_and_padding() {
    // No tailroom: DPVS prunes a whole option length instead of growing.
    let seg = segment(ACK, &hex("0101010101010101080a00000001000000020101"), b"abc");
    let mut buf = VecBuf::with_room(&seg, 0, seg.len());
    let r = insert_toa(&mut buf, 0, seg.len(), &toa4(), usize::MAX).unwrap();
    assert_eq!(r, ToaInsert::Inserted { seg_len: seg.len(), pruned: 8 });
    check(buf.data(), b"abc");
    let bare = segment(ACK, &[], b"abc");
    let mut buf = VecBuf::with_room(&bare, 0, bare.len());
    assert_eq!(insert_toa(&mut buf, 0, bare.len(), &toa4(), usize::MAX), Ok(ToaInsert::NoRoom));
    assert_eq!(buf.data(), &bare[..]);
    // Ethernet padding after the segment is used, then dropped.
    let padded = [&bare[..], &[0u8; 20]].concat();
    let mut buf = VecBuf::with_room(&padded, 0, padded.len());
    let r = insert_toa(&mut buf, 0, bare.len(), &toa6(), usize::MAX).unwrap();
    assert_eq!(r, ToaInsert::Inserted { seg_len: bare.len() + 20, pruned: 0 });
    assert_eq!(buf.len(), bare.len() + 20);
    check(buf.data(), b"abc");
    // Not TCP / outside the buffer.
    assert_eq!(insert_toa(&mut buf, 0, 70, &toa4(), usize::MAX), Err(Error::Truncated));
    assert_eq!(insert_toa(&mut VecBuf::from_slice(&[0; 24]), 0, 24, &toa4(), 9999), Err(Error::Malformed));
}

#[test]
fn toa_strip_and_old_options_never_survive() {
    // A client's 254 options (TOA-shaped and an RFC 6994 one) become NOPs in place.
    let opts = hex("fe0800010a0a0a0a 080a0000000100000000 fe0cf989aaaaaaaaaaaaaaaa".replace(' ', "").as_str());
    let mut seg = segment(ACK, &opts, b"data");
    let mut t = TcpPacket::new_checked(&mut seg[..]).unwrap();
    assert_eq!(ToaRepr::find(&t).map(|x| x.client), Some(sa("10.10.10.10:1")));
    assert_eq!(strip_toa(&mut t), 2);
    assert_eq!(ToaRepr::find(&t), None);
    assert!(t.verify_checksum(&SRC, &DST));
    assert_eq!(common::to_hex(t.options()), format!("{}080a0000000100000000{}0000", "01".repeat(8), "01".repeat(12)));
    // insert_toa alone also neutralises them: only ours is left.
    let seg = segment(ACK, &opts, b"data");
    let (r, out) = insert(&seg, &toa4(), usize::MAX);
    assert!(matches!(r, ToaInsert::Inserted { .. }));
    let t = TcpPacket::new_checked(&out[..]).unwrap();
    let kinds: Vec<u8> = t.options_iter().flatten().map(|o| o.kind()).filter(|&k| k == TOA_KIND).collect();
    assert_eq!(kinds, [TOA_KIND]);
    assert_eq!(ToaRepr::find(&t), Some(toa4()));
    check(&out, b"data");
}

fn raw_option() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(vec![1]),
        2 => any::<u16>().prop_map(|m| [&[2u8, 4][..], &m.to_be_bytes()].concat()),
        1 => Just(vec![3, 3, 7]),
        1 => Just(vec![4, 2]),
        2 => any::<[u8; 8]>().prop_map(|t| [&[8u8, 10][..], &t].concat()),
        2 => (1usize..4).prop_map(|n| [vec![5u8, 2 + 8 * n as u8], vec![0xab; 8 * n]].concat()),
        2 => (0usize..2).prop_map(|v6| if v6 == 1 { [vec![254u8, 20], vec![9; 18]].concat() } else { vec![254, 8, 0, 1, 2, 3, 4, 5] }),
        1 => (0usize..17).prop_map(|n| [vec![34u8, 2 + n as u8], vec![0xcd; n]].concat()),
        1 => (2u8..12, any::<u8>()).prop_map(|(l, k)| [vec![k | 0x10, l], vec![0; usize::from(l) - 2]].concat()),
        1 => Just(vec![0]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    /// Over random option lists: an insertion keeps the checksum right, puts ours
    /// first and alone, keeps the payload, never grows past 60 / max_seg_len; NoRoom
    /// leaves the bytes as they were.
    #[test]
    fn toa_insert_props(
        opts in proptest::collection::vec(raw_option(), 0..10),
        payload in proptest::collection::vec(any::<u8>(), 0..40),
        syn in any::<bool>(), v6 in any::<bool>(), slack in prop::option::of(0usize..30),
    ) {
        let mut o: Vec<u8> = opts.concat();
        o.truncate(40);
        let seg = segment(if syn { SYN } else { ACK }, &o, &payload);
        let toa = if v6 { toa6() } else { toa4() };
        let max = slack.map_or(usize::MAX, |s| seg.len() + s);
        let (r, out) = insert(&seg, &toa, max);
        match r {
            ToaInsert::NoRoom => prop_assert_eq!(out, seg),
            ToaInsert::Inserted { seg_len, pruned } => {
                prop_assert_eq!(seg_len, out.len());
                prop_assert!(seg_len <= max);
                prop_assert_eq!(seg_len + pruned, seg.len() + toa.buffer_len());
                let t = TcpPacket::new_checked(&out[..]).unwrap();
                prop_assert!(t.verify_checksum(&SRC, &DST));
                prop_assert_eq!(t.payload(), &payload[..]);
                prop_assert_eq!(ToaRepr::parse(t.options()), Ok((toa, toa.buffer_len())));
                let n254 = t.options_iter().take_while(|x| x.is_ok()).flatten().filter(|x| x.kind() == TOA_KIND).count();
                prop_assert_eq!(n254, 1);
                prop_assert_eq!(&out[..12], &seg[..12]);
                prop_assert_eq!(&out[13..16], &seg[13..16]);
            }
        }
    }

    #[test]
    fn toa_never_panics(b in proptest::collection::vec(any::<u8>(), 0..80), at in 0usize..90, len in 0usize..90) {
        let mut buf = VecBuf::from_slice(&b);
        let _ = insert_toa(&mut buf, at, len, &toa6(), at ^ len);
        let mut c = b.clone();
        if let Ok(mut t) = TcpPacket::new_checked(&mut c[..]) {
            let _ = ToaRepr::find(&t);
            strip_toa(&mut t);
        }
        let _ = ToaRepr::parse(&b);
    }
}
