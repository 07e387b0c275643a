//! FullNAT end to end (seed 001/004's LVS-FullNAT): the real servers have no route to
//! the client at all (their default routes are removed), rvsd rewrites both ends with a
//! local address on the lan, two workers. nginx on the real servers reads the PROXY
//! protocol (v1 and v2); a capture on a real server, decoded by scapy, shows TOA; a
//! small port range shows exhaustion refused, counted, and recovered.

mod common;

use std::time::Duration;

use common::{big_download_matches, lab_config_v6, ns, ns_ok, parallel_200, rvsadm_ok, write_config, Lab, Rvsd};

const LADDR: &str = "10.0.3.200";
const LADDR6: &str = "2001:db8:3::200";

/// A FullNAT `[[service]]` on `vip` with `extra` keys, over `servers`.
fn service(vip: &str, laddr: &str, extra: &str, servers: &[&str]) -> String {
    let mut s = format!("[[service]]\ntcp = \"{vip}\"\nscheduler = \"rr\"\nladdrs = [\"{laddr}\"]\n{extra}\n");
    for a in servers {
        s += &format!("[[service.real_server]]\naddress = \"{a}\"\nmethod = \"fullnat\"\nweight = 1\n");
    }
    s
}

fn services() -> String {
    let rs80 = ["10.0.3.11:80", "10.0.3.12:80"];
    let rs8080 = ["10.0.3.11:8080", "10.0.3.12:8080"];
    [
        service("10.0.2.100:80", LADDR, "", &rs80),
        service("10.0.2.100:8080", LADDR, "proxy_protocol = \"v2\"", &rs8080),
        service("10.0.2.100:8081", LADDR, "proxy_protocol = \"v1\"", &rs8080),
        service("10.0.2.100:81", LADDR, "toa = true", &["10.0.3.11:80"]),
        service("[2001:db8:2::100]:80", LADDR6, "", &["[2001:db8:3::11]:80", "[2001:db8:3::12]:80"]),
        service(
            "[2001:db8:2::100]:8080",
            LADDR6,
            "proxy_protocol = \"v2\"",
            &["[2001:db8:3::11]:8080", "[2001:db8:3::12]:8080"],
        ),
    ]
    .concat()
}

/// The real servers lose every route off their own subnets: FullNAT must not need one.
fn no_route_to_clients() {
    for rs in ["rvs-rs1", "rvs-rs2"] {
        ns_ok(rs, &["ip", "route", "del", "default"]);
        ns_ok(rs, &["ip", "-6", "route", "del", "default"]);
        assert!(!ns(rs, &["ip", "route", "get", "10.0.1.2"]).status.success(), "{rs} still routes to the client");
        assert!(!ns(rs, &["ip", "-6", "route", "get", "2001:db8:1::2"]).status.success());
    }
}

fn start(name: &str, text: &str) -> Rvsd {
    Rvsd::start(&write_config(name, text))
}

fn curl_g(args: &[&str]) -> String {
    let mut a = vec!["curl", "-g", "-sS", "--max-time", "20"];
    a.extend_from_slice(args);
    ns_ok("rvs-client", &a)
}

#[test]
fn fullnat_balances_both_families_with_no_route_back() {
    let _lab = Lab::up();
    no_route_to_clients();
    let rvsd = start("fnat", &lab_config_v6(&services()));
    for (url, family) in [("http://10.0.2.100/", "IPv4"), ("http://[2001:db8:2::100]/", "IPv6")] {
        let bodies: Vec<String> = (0..10).map(|_| curl_g(&[url]).trim().to_string()).collect();
        for pair in bodies.chunks(2) {
            let mut p = pair.to_vec();
            p.sort();
            assert_eq!(p, ["Web Server 1", "Web Server 2"], "{family}: rr alternates exactly: {bodies:?}");
        }
        big_download_matches(url);
        parallel_200(url);
    }
    // The connections (closed, in TIME_WAIT until they expire) keep their local address
    // and port: `-c` lists them in its local column, and the workers count the ports.
    let conns = rvsadm_ok("-L -n -c");
    assert!(conns.contains(" local ") && conns.contains(&format!("{LADDR}:")), "-c lists the local address: {conns}");
    let m = rvsd.metrics();
    let in_use: u64 = m
        .lines()
        .filter(|l| l.starts_with("rvs_laddr_ports_in_use{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(in_use >= 200, "the 200 parallel connections' ports are held until they expire: {m}");
    // Local addresses change live: a new one is answered for (the servers ARP for it)
    // and used once the old one is deleted.
    rvsadm_ok("--add-laddr -t 10.0.2.100:80 -z 10.0.3.201");
    rvsadm_ok("--del-laddr -t 10.0.2.100:80 -z 10.0.3.200");
    assert_eq!(rvsadm_ok("--get-laddr -t 10.0.2.100:80").matches("10.0.3.20").count(), 1, "one local address left");
    let body = curl_g(&["http://10.0.2.100/"]);
    assert!(body.starts_with("Web Server"), "{body}");
    let seen = ["rvs-rs1", "rvs-rs2"].iter().any(|rs| {
        std::fs::read_to_string(format!("/tmp/rvs-lab/{rs}/access.log"))
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("10.0.3.201 "))
    });
    assert!(seen, "a server saw the new local address");
    // Both real servers saw only the local addresses, never the client.
    for rs in ["rvs-rs1", "rvs-rs2"] {
        let log = std::fs::read_to_string(format!("/tmp/rvs-lab/{rs}/access.log")).expect("access log");
        let local = |l: &str| l.starts_with(LADDR) || l.starts_with("10.0.3.201 ") || l.starts_with(LADDR6);
        assert!(log.lines().all(local), "{rs} saw a client address: {log}");
    }
}

#[test]
fn proxy_protocol_names_the_client_on_every_request_and_upload() {
    let _lab = Lab::up();
    no_route_to_clients();
    let _rvsd = start("fnat-pp", &lab_config_v6(&services()));
    for (base, client) in [
        ("http://10.0.2.100:8080", "10.0.1.2"),
        ("http://10.0.2.100:8081", "10.0.1.2"),
        ("http://[2001:db8:2::100]:8080", "2001:db8:1::2"),
    ] {
        // Two requests on one keep-alive connection: both name the client's address and
        // the connection's own port (the sequence offset held after the header).
        let url = format!("{base}/pp");
        let out = curl_g(&["-w", "port=%{local_port}\\n", &url, &url]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{base}: {out}");
        let port = lines[1].strip_prefix("port=").expect("local port");
        assert_eq!(lines[3], lines[1], "{base}: one connection for both requests: {out}");
        for body in [lines[0], lines[2]] {
            assert_eq!(body, format!("{client}:{port}"), "{base}: PROXY header names the client: {out}");
        }
        // A 20 MiB upload after the header: stored intact on one of the servers.
        let name = format!("up-{}.bin", port);
        let put = curl_g(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-T",
            "/tmp/rvs-lab/big.bin",
            &format!("{base}/up/{name}"),
        ]);
        assert_eq!(put, "201", "{base}: PUT 20 MiB");
        let want = std::fs::read_to_string("/tmp/rvs-lab/big.bin.sha256").expect("digest");
        let stored: Vec<String> = ["rvs-rs1", "rvs-rs2"]
            .iter()
            .map(|rs| format!("/tmp/rvs-lab/{rs}/up/{name}"))
            .filter(|p| std::path::Path::new(p).exists())
            .collect();
        assert_eq!(stored.len(), 1, "{base}: the upload is on one server");
        let got = ns_ok("rvs-client", &["sha256sum", &stored[0]]);
        assert_eq!(got.split_whitespace().next(), want.split_whitespace().next(), "{base}: upload intact");
    }
    // nginx's own log agrees: every request through :8080/:8081 named a client, none a
    // local address.
    for rs in ["rvs-rs1", "rvs-rs2"] {
        let log = std::fs::read_to_string(format!("/tmp/rvs-lab/{rs}/pp.log")).unwrap_or_default();
        for l in log.lines() {
            assert!(l.starts_with("10.0.1.2:") || l.starts_with("2001:db8:1::2:"), "{rs} pp.log: {l}");
        }
    }
}

/// Every TCP segment in `pcap` carrying option 254, decoded by scapy: one line each,
/// `flags seq payload_len port address`.
fn toa_segments(pcap: &str) -> String {
    let py = format!(
        r#"
import socket, struct
from scapy.all import rdpcap, TCP, IP
for p in rdpcap("{pcap}"):
    if TCP not in p: continue
    for k, v in p[TCP].options:
        if k == 254 or (isinstance(k, int) and k == 254):
            port = struct.unpack("!H", v[:2])[0]
            addr = socket.inet_ntop(socket.AF_INET, v[2:6]) if len(v) == 6 else socket.inet_ntop(socket.AF_INET6, v[2:18])
            print(p[TCP].flags, p[TCP].seq, len(p[TCP].payload), port, addr)
"#
    );
    ns_ok("rvs-rs1", &["/usr/bin/python3", "-c", &py])
}

#[test]
fn toa_carries_the_client_to_the_real_server() {
    let _lab = Lab::up();
    no_route_to_clients();
    let _rvsd = start("fnat-toa", &lab_config_v6(&services()));
    let pcap = format!("/tmp/rvs-toa-{}.pcap", std::process::id());
    let mut cap = std::process::Command::new("ip")
        .args(["netns", "exec", "rvs-rs1", "tcpdump", "-U", "-i", "eth0", "-w", &pcap, "tcp port 80"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tcpdump");
    std::thread::sleep(Duration::from_secs(2));
    let out = curl_g(&["-w", "\\nport=%{local_port}", "http://10.0.2.100:81/"]);
    let port = out.rsplit("port=").next().expect("port").trim().to_string();
    big_download_matches("http://10.0.2.100:81/");
    std::thread::sleep(Duration::from_millis(500));
    let _ = ns("rvs-rs1", &["pkill", "-INT", "tcpdump"]);
    let _ = cap.wait();
    let segs = toa_segments(&pcap);
    let _ = std::fs::remove_file(&pcap);
    let mine: Vec<&str> = segs.lines().filter(|l| l.ends_with(&format!(" {port} 10.0.1.2"))).collect();
    assert!(!mine.is_empty(), "a segment to rs1 carried TOA 10.0.1.2:{port}: {segs}");
    assert!(segs.lines().all(|l| !l.starts_with('S')), "no SYN carries TOA: {segs}");
    assert!(segs.lines().all(|l| l.ends_with(" 10.0.1.2")), "TOA names only the client: {segs}");
}

#[test]
fn port_exhaustion_is_refused_counted_and_recovers() {
    let _lab = Lab::up();
    no_route_to_clients();
    // Six ports, three per worker; the client's connections are all its home worker's.
    let text = lab_config_v6(&service("10.0.2.100:80", LADDR, "", &["10.0.3.11:80"]))
        .replace("[workers]", "[workers]\nfullnat_ports = \"1025-1030\"");
    let rvsd = start("fnat-ports", &text);
    let py = r#"
import socket, struct, time
def conn():
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect(("10.0.2.100", 80)); return s
    except OSError:
        s.close(); return None
held = [conn() for _ in range(3)]
print("held", sum(s is not None for s in held))
print("fourth", conn() is not None)
for s in held:
    if s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        print("answer", s.recv(4096).split(b"\r\n")[0].decode())
for s in held:
    if s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.close()
t = time.time()
while time.time() - t < 30:
    s = conn()
    if s:
        print("reused after", int(time.time() - t)); break
    time.sleep(1)
"#;
    let out = ns_ok("rvs-client", &["/usr/bin/python3", "-c", py]);
    assert!(out.contains("held 3"), "three connections on the worker's three ports: {out}");
    assert!(out.contains("fourth False"), "the fourth is refused: {out}");
    assert_eq!(out.matches("answer HTTP/1.1 200 OK").count(), 3, "established ones keep working: {out}");
    assert!(out.contains("reused after"), "freed ports are reused after expiry: {out}");
    let m = rvsd.metrics();
    let refused: u64 = m
        .lines()
        .filter(|l| l.starts_with("rvs_port_drops_total{") && l.contains("reason=\"laddr_port_exhausted\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(refused >= 1, "counted: {m}");
}
