//! The kernel path in the lab: each rvsd port has a kernel twin (net_tap) with the port's
//! MAC, addresses and routes. From the client, the director's own address answers ping
//! and a TCP service the director's kernel runs (python's http.server) through it; the
//! director's kernel reaches the real servers through it (what health checks use); an
//! address added to a twin is answered within a second and no longer once removed; a
//! flood towards the box is dropped and counted on the exception path while service
//! traffic goes on.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A low exception-path rate, so that the flood below is cut for certain.
const KERNEL: &str = "[kernel]\nrate_pps = 5000\nburst = 256\n";

fn router_reaches(addr: &str, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if ns("rvs-router", &["ping", "-c1", "-W", "0.2", addr]).status.success() {
            return true;
        }
    }
    false
}

fn kernel_up(m: &str, port: &str) -> u64 {
    ["1", "2"]
        .iter()
        .map(|l| sample(m, &format!("rvs_kernel_packets_total{{direction=\"up\",lcore=\"{l}\",port=\"{port}\"}}")))
        .sum()
}

fn rate_limited(m: &str, port: &str) -> u64 {
    ["1", "2"]
        .iter()
        .map(|l| {
            sample(m, &format!("rvs_port_drops_total{{lcore=\"{l}\",port=\"{port}\",reason=\"kernel_rate_limit\"}}"))
        })
        .sum()
}

#[test]
fn lab_kernel_twins_carry_the_boxs_own_traffic() {
    let _lab = Lab::up();
    let path = write_config("kernel", &lab_config(&format!("{KERNEL}\n{NAT_RR}")));
    let mut rvsd = Rvsd::start(&path);

    // The twins: the ports' MACs and addresses, the configuration's routes.
    let twin = ns_ok("rvs-director", &["ip", "-br", "addr", "show", "wan"]);
    assert!(twin.contains("10.0.2.2/24"), "{twin}");
    for (twin, port) in [("wan", "dwan"), ("lan", "dlan")] {
        let a = ns_ok("rvs-director", &["cat", &format!("/sys/class/net/{twin}/address")]);
        let b = ns_ok("rvs-director", &["cat", &format!("/sys/class/net/{port}/address")]);
        assert_eq!(a, b, "twin {twin} carries port {port}'s MAC");
    }
    let routes = ns_ok("rvs-director", &["ip", "route"]);
    assert!(
        routes.contains("default via 10.0.2.1 dev wan") && routes.contains("10.0.4.0/24 via 10.0.3.254 dev lan"),
        "{routes}"
    );

    // Ping the director's own address: answered by its kernel, through the twin.
    let before = kernel_up(&rvsd.metrics(), "wan");
    let ping = ns_ok("rvs-client", &["ping", "-c", "3", "-W", "1", "10.0.2.2"]);
    assert!(ping.contains("3 received") && !ping.contains("duplicates"), "{ping}");
    assert!(kernel_up(&rvsd.metrics(), "wan") >= before + 3, "the echo requests went up to the twin");

    // A TCP service of the director's kernel, reached from the client.
    let mut http = Command::new("ip")
        .args(["netns", "exec", "rvs-director", "/usr/bin/python3", "-c", &http_server("10.0.2.2", 8080)])
        .current_dir(repo().join("lab"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 http.server");
    let start = Instant::now();
    let listing = loop {
        let out = ns("rvs-client", &["curl", "-sS", "--max-time", "2", "http://10.0.2.2:8080/"]);
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the director's http.server never answered");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(listing.contains("nginx.conf.in"), "the directory listing of lab/: {listing}");

    // The director's kernel reaches the real servers (health checks' path), both ways
    // through rvsd, while the VIP still balances.
    assert_eq!(ns_ok("rvs-director", &["curl", "-sS", "--max-time", "5", "http://10.0.3.11/"]).trim(), "Web Server 1");
    assert_eq!(ns_ok("rvs-director", &["curl", "-sS", "--max-time", "5", "http://10.0.3.12/"]).trim(), "Web Server 2");
    let mut seen: Vec<String> = (0..4).map(|_| curl("http://10.0.2.100/").trim().to_string()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["Web Server 1", "Web Server 2"]);

    // An address added to the twin is answered within a second; removed, it is not.
    assert!(!router_reaches("10.0.2.101", Duration::from_millis(500)), "not ours yet");
    ns_ok("rvs-director", &["ip", "addr", "add", "10.0.2.101/32", "dev", "wan"]);
    let t = Instant::now();
    assert!(router_reaches("10.0.2.101", Duration::from_secs(1)), "answered within a second:\n{}", rvsd.output());
    eprintln!("10.0.2.101 answered {:?} after ip addr add", t.elapsed());
    assert!(rvsadm_ok("--list-vip").contains("10.0.2.101"), "listed, as the twin's");
    ns_ok("rvs-director", &["ip", "addr", "del", "10.0.2.101/32", "dev", "wan"]);
    std::thread::sleep(Duration::from_secs(1));
    let _ = ns("rvs-router", &["ip", "neigh", "flush", "to", "10.0.2.101"]);
    assert!(!ns("rvs-router", &["ping", "-c2", "-W", "0.5", "10.0.2.101"]).status.success(), "removed: not answered");

    // A flood of UDP towards the director's own address: the exception path drops it,
    // counted, and service traffic is forwarded all the while.
    let limited = rate_limited(&rvsd.metrics(), "wan");
    let mut flood = Command::new("ip")
        .args([
            "netns",
            "exec",
            "rvs-client",
            "timeout",
            "8",
            "hping3",
            "--flood",
            "--udp",
            "-p",
            "9",
            "-q",
            "10.0.2.2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("hping3");
    std::thread::sleep(Duration::from_secs(1));
    parallel_200("http://10.0.2.100/");
    big_download_matches("http://10.0.2.100/");
    let _ = flood.wait();
    let m = rvsd.metrics();
    let dropped = rate_limited(&m, "wan") - limited;
    eprintln!("flood: {dropped} frames dropped by the exception path's rate limit");
    assert!(dropped > 1000, "the flood was cut at the exception path, counted: {dropped}");

    let _ = http.kill();
    let _ = http.wait();
    let (status, _) = rvsd.terminate();
    assert!(status.success());
    let twins = ns_ok("rvs-director", &["ip", "-br", "link"]);
    assert!(!twins.lines().any(|l| l.starts_with("wan ")), "the twins go with rvsd: {twins}");
}
