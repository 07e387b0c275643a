//! rvsd's metrics as a real Prometheus server sees them: Debian's `prometheus` runs in the
//! director's namespace, scrapes rvsd's loopback endpoint every second, and the test reads
//! the counters back through Prometheus's HTTP API before and after 20 HTTP requests
//! through the NAT service. `promtool check metrics` must accept the raw exposition.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use common::prometheus::{Prometheus, JOB};
use common::{lab_config, ns_ok, write_config, Lab, Rvsd, NAT_RR};

const SERVICE: &str = "TCP 10.0.2.100:80";
const REQUESTS: u64 = 20;

/// The one value of an instant query (a test bug, not rvsd's, if it has several).
fn one(p: &Prometheus, q: &str) -> f64 {
    let v = p.query(q).unwrap_or_else(|e| panic!("{q}: {e}\n{}", p.log()));
    assert_eq!(v.len(), 1, "{q}: one series expected: {v:?}");
    v[0].1
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs_f64()
}

/// The counters this test follows, as Prometheus stored them.
#[derive(Debug)]
struct Seen {
    service: f64,
    rs: [f64; 2],
    rs_sum: f64,
    rx_wan: f64,
    rx_lan: f64,
}

fn seen(p: &Prometheus) -> Seen {
    let rs = |a: &str| {
        one(p, &format!("rvs_real_server_connections_total{{job=\"{JOB}\",service=\"{SERVICE}\",server=\"{a}\"}}"))
    };
    Seen {
        service: one(p, &format!("rvs_service_connections_total{{job=\"{JOB}\",service=\"{SERVICE}\"}}")),
        rs: [rs("10.0.3.11:80"), rs("10.0.3.12:80")],
        rs_sum: one(p, &format!("sum(rvs_real_server_connections_total{{job=\"{JOB}\"}})")),
        rx_wan: one(p, &format!("sum(rvs_port_rx_packets_total{{job=\"{JOB}\",port=\"wan\"}})")),
        rx_lan: one(p, &format!("sum(rvs_port_rx_packets_total{{job=\"{JOB}\",port=\"lan\"}})")),
    }
}

#[test]
fn lab_prometheus_scrapes_rvsd() {
    let _lab = Lab::up();
    let path = write_config("prometheus", &lab_config(NAT_RR));
    let mut rvsd = Rvsd::start(&path);

    // promtool lints the exposition exactly as rvsd serves it.
    let text = rvsd.metrics();
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool (scripts/setup installs Debian's prometheus package)");
    promtool.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("feed promtool");
    let lint = promtool.wait_with_output().expect("promtool");
    let lint_text = format!("{}{}", String::from_utf8_lossy(&lint.stdout), String::from_utf8_lossy(&lint.stderr));
    eprintln!("promtool check metrics: {}\n{lint_text}", lint.status);

    let prom = Prometheus::start();
    prom.scrapes_after(0.0, 1);
    assert_eq!(one(&prom, &format!("up{{job=\"{JOB}\"}}")), 1.0, "Prometheus sees rvsd up");
    let before = seen(&prom);

    // 20 separate connections (one curl each: no keep-alive reuse) through the NAT service.
    let codes = ns_ok(
        "rvs-client",
        &["sh", "-c", &format!("for i in $(seq {REQUESTS}); do curl -sS --max-time 10 -o /dev/null -w '%{{http_code}}\\n' http://10.0.2.100/; done")],
    );
    assert_eq!(codes.lines().filter(|l| *l == "200").count() as u64, REQUESTS, "every request answered: {codes}");
    let sent = now();

    prom.scrapes_after(sent, 1);
    assert_eq!(one(&prom, &format!("up{{job=\"{JOB}\"}}")), 1.0, "Prometheus sees rvsd up");
    let after = seen(&prom);
    let n = REQUESTS as f64;
    let ctx = format!("before {before:?}\nafter {after:?}");
    assert_eq!(after.service - before.service, n, "service connections rose by the requests sent\n{ctx}");
    assert_eq!(after.rs_sum - before.rs_sum, n, "real-server connections rose by the requests sent\n{ctx}");
    for i in 0..2 {
        assert_eq!(after.rs[i] - before.rs[i], n / 2.0, "rr gives each real server half\n{ctx}");
    }
    // Each connection brings rvsd at least SYN, ACK, request and FIN from the client (wan)
    // and SYN-ACK, response and FIN from the real server (lan).
    assert!(after.rx_wan - before.rx_wan >= 4.0 * n, "wan rx packets\n{ctx}");
    assert!(after.rx_lan - before.rx_lan >= 3.0 * n, "lan rx packets\n{ctx}");

    drop(prom);
    let (status, _) = rvsd.terminate();
    assert!(status.success(), "rvsd exits cleanly:\n{}", rvsd.output());
    assert!(lint.status.success(), "promtool check metrics ({}):\n{lint_text}", lint.status);
}
