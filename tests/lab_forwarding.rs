//! NAT, DR and TUN end to end: curl in the client namespace, rvsd on two af_packet ports
//! with two worker lcores, nginx on real kernel servers (seed 004's "Web Server N").

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{big_download_matches, curl, lab_config, parallel_200, sample, write_config, Lab, Rvsd};

const VIP_URL: &str = "http://10.0.2.100/";

fn service(scheduler: &str, extra: &str, servers: &[(&str, &str, u32)]) -> String {
    let mut s = format!("[[service]]\ntcp = \"10.0.2.100:80\"\nscheduler = \"{scheduler}\"\n{extra}\n");
    for (addr, method, weight) in servers {
        s += &format!("[[service.real_server]]\naddress = \"{addr}\"\nmethod = \"{method}\"\nweight = {weight}\n");
    }
    s
}

fn two(method: &str, w1: u32, w2: u32) -> Vec<(&'static str, String, u32)> {
    vec![("10.0.3.11:80", method.to_string(), w1), ("10.0.3.12:80", method.to_string(), w2)]
}

fn services(scheduler: &str, extra: &str, servers: &[(&'static str, String, u32)]) -> String {
    let v: Vec<(&str, &str, u32)> = servers.iter().map(|(a, m, w)| (*a, m.as_str(), *w)).collect();
    service(scheduler, extra, &v)
}

fn tally(n: usize) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for _ in 0..n {
        *m.entry(curl(VIP_URL).trim().to_string()).or_default() += 1;
    }
    m
}

/// Seed 004: round robin over two servers alternates exactly.
fn rr_alternates() {
    let bodies: Vec<String> = (0..10).map(|_| curl(VIP_URL).trim().to_string()).collect();
    for pair in bodies.windows(2) {
        assert_ne!(pair[0], pair[1], "rr must alternate: {bodies:?}");
    }
    for b in &bodies {
        assert!(b == "Web Server 1" || b == "Web Server 2", "{bodies:?}");
    }
}

/// A keep-alive HTTP connection held open across a weight change (python http.client in
/// the client namespace: one request per line on its stdin, one body per line back).
struct OpenConnection {
    child: std::process::Child,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl OpenConnection {
    fn open() -> (OpenConnection, String) {
        let script = r#"
import http.client, sys
c = http.client.HTTPConnection('10.0.2.100', 80, timeout=10)
for _ in sys.stdin:
    c.request('GET', '/')
    print(c.getresponse().read().decode().strip(), flush=True)
"#;
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", "rvs-client", "/usr/bin/python3", "-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut c = OpenConnection { child, out };
        let first = c.get();
        (c, first)
    }

    fn get(&mut self) -> String {
        use std::io::{BufRead, Write};
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "GET").and_then(|_| stdin.flush()).expect("write to python");
        let mut line = String::new();
        self.out.read_line(&mut line).expect("read from python");
        line.trim().to_string()
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The checks every mode must pass; `method` as in the config (masq, route, tunnel).
fn exercise(method: &str) -> (Rvsd, std::path::PathBuf) {
    let path = write_config(method, &lab_config(&services("rr", "", &two(method, 1, 1))));
    let mut rvsd = Rvsd::start(&path);
    rr_alternates();

    // wrr 3:1 gives 30/10 over 40 connections.
    rvsd.reload(&path, &lab_config(&services("wrr", "", &two(method, 3, 1))));
    let t = tally(40);
    let one = t.get("Web Server 1").copied().unwrap_or(0);
    assert!((28..=32).contains(&one), "wrr 3:1 over 40: {t:?}");

    // -p: one client stays on one server.
    rvsd.reload(&path, &lab_config(&services("rr", "persistent = 300", &two(method, 1, 1))));
    assert_eq!(tally(10).len(), 1, "persistence pins the client");

    // Weight 0: no new connections, while an open one keeps working.
    rvsd.reload(&path, &lab_config(&services("rr", "", &two(method, 1, 1))));
    let (mut open, first) = OpenConnection::open();
    let (w1, w2) = if first == "Web Server 1" { (0, 1) } else { (1, 0) };
    rvsd.reload(&path, &lab_config(&services("rr", "", &two(method, w1, w2))));
    let t = tally(10);
    assert!(!t.contains_key(&first), "the quiescent server got new connections: {t:?}");
    assert_eq!(open.get(), first, "the open connection keeps its server");
    drop(open);

    rvsd.reload(&path, &lab_config(&services("rr", "", &two(method, 1, 1))));
    big_download_matches("http://10.0.2.100/");
    parallel_200("http://10.0.2.100/");
    (rvsd, path)
}

#[test]
fn lab_nat() {
    let _lab = Lab::up();
    let (mut rvsd, _) = exercise("masq");
    let m = rvsd.metrics();
    let out = sample(&m, "rvs_service_out_packets_total{service=\"TCP 10.0.2.100:80\"}");
    assert!(out > 1000, "NAT replies pass through rvsd: {out}");
    let redirected: u64 = ["1", "2"]
        .iter()
        .map(|l| sample(&m, &format!("rvs_worker_redirects_total{{direction=\"out\",lcore=\"{l}\"}}")))
        .sum();
    assert!(redirected > 0, "with two workers some replies land on the other core:\n{m}");
    let (status, _) = rvsd.terminate();
    assert!(status.success());
}

#[test]
fn lab_dr() {
    let _lab = Lab::up();
    let (mut rvsd, _) = exercise("route");
    let m = rvsd.metrics();
    assert!(sample(&m, "rvs_service_in_packets_total{service=\"TCP 10.0.2.100:80\"}") > 200);
    assert_eq!(sample(&m, "rvs_service_out_packets_total{service=\"TCP 10.0.2.100:80\"}"), 0, "DR replies bypass rvsd");
    let (status, _) = rvsd.terminate();
    assert!(status.success());
}

#[test]
fn lab_tun() {
    let _lab = Lab::up();
    let (mut rvsd, path) = exercise("tunnel");
    // A real server the director reaches only through the router.
    rvsd.reload(&path, &lab_config(&service("rr", "", &[("10.0.4.11:80", "tunnel", 1)])));
    assert_eq!(curl(VIP_URL).trim(), "Web Server far1");
    let m = rvsd.metrics();
    assert_eq!(
        sample(&m, "rvs_service_out_packets_total{service=\"TCP 10.0.2.100:80\"}"),
        0,
        "TUN replies bypass rvsd"
    );
    std::thread::sleep(Duration::from_millis(10));
    let (status, _) = rvsd.terminate();
    assert!(status.success());
}
