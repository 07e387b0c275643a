//! rvsd's metrics as a real Prometheus server sees them: Debian's `prometheus` runs in the
//! director's namespace, scrapes rvsd's loopback endpoint every second, and the test reads
//! the counters back through Prometheus's HTTP API before and after 20 HTTP requests
//! through the NAT service. `promtool check metrics` must accept the raw exposition.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{lab_config, ns, ns_ok, write_config, Lab, Rvsd};

const SERVICE: &str = "TCP 10.0.2.100:80";
const JOB: &str = "rvsd";
const PROM: &str = "127.0.0.1:9090";
const REQUESTS: u64 = 20;

const NAT_RR: &str = r#"[[service]]
tcp = "10.0.2.100:80"
scheduler = "rr"

[[service.real_server]]
address = "10.0.3.11:80"
method = "masq"
weight = 1

[[service.real_server]]
address = "10.0.3.12:80"
method = "masq"
weight = 1
"#;

/// A Prometheus server in `rvs-director` with its own config and TSDB in a temp dir;
/// killed and its directory removed when dropped.
struct Prometheus {
    child: Option<Child>,
    dir: PathBuf,
}

impl Prometheus {
    fn start() -> Prometheus {
        let dir = std::env::temp_dir().join(format!("rvs-prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).expect("prometheus temp dir");
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: [\"127.0.0.1:9469\"]\n"
            ),
        )
        .expect("prometheus.yml");
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("prometheus log");
        let child = Command::new("ip")
            .args(["netns", "exec", "rvs-director", "prometheus"])
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={PROM}"))
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn prometheus (scripts/setup installs Debian's prometheus package)");
        let mut p = Prometheus { child: Some(child), dir };
        let start = Instant::now();
        loop {
            if ns("rvs-director", &["curl", "-sf", "--max-time", "1", &format!("http://{PROM}/-/ready")])
                .status
                .success()
            {
                return p;
            }
            if let Some(Ok(Some(status))) = p.child.as_mut().map(Child::try_wait) {
                panic!("prometheus exited early ({status}):\n{}", p.log());
            }
            assert!(start.elapsed() < Duration::from_secs(20), "prometheus not ready within 20 s:\n{}", p.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query through the HTTP API: the values of the resulting vector.
    fn query(&self, q: &str) -> Vec<f64> {
        let url = format!("http://{PROM}/api/v1/query");
        let out = ns(
            "rvs-director",
            &["curl", "-sS", "--max-time", "5", "-G", &url, "--data-urlencode", &format!("query={q}")],
        );
        let body = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            panic!(
                "query {q:?}: curl {}: {}{body}\nprometheus log:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                self.log()
            );
        }
        vector_values(&body).unwrap_or_else(|e| panic!("query {q:?}: {e}: {body}"))
    }

    /// The single value of a query that must yield exactly one sample.
    fn one(&self, q: &str) -> f64 {
        let v = self.query(q);
        assert_eq!(v.len(), 1, "query {q:?} must yield one sample: {v:?}");
        v[0]
    }

    /// Wait until Prometheus holds a scrape of rvsd that started after `after` (Unix
    /// seconds). (`timestamp()` of a raw series is its sample's time; of an expression
    /// such as `up == 1` it would be the evaluation time.)
    fn scraped_after(&self, after: f64) {
        let start = Instant::now();
        loop {
            let ts = self.query(&format!("timestamp(up{{job=\"{JOB}\"}})"));
            if ts.first().is_some_and(|t| *t > after) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no successful scrape of rvsd after {after} (last {ts:?}):\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The values of an instant-vector answer of `/api/v1/query`:
/// `{"status":"success","data":{"resultType":"vector","result":[{"metric":{…},"value":[ts,"v"]},…]}}`.
/// Label values never contain `"value":[` here, so a scan for it is exact enough.
fn vector_values(json: &str) -> Result<Vec<f64>, String> {
    if !json.contains(r#""status":"success""#) {
        return Err("not a success".into());
    }
    if !json.contains(r#""resultType":"vector""#) {
        return Err("not an instant vector".into());
    }
    let mut out = Vec::new();
    for (i, _) in json.match_indices(r#""value":["#) {
        let rest = &json[i + r#""value":["#.len()..];
        let close = rest.find(']').ok_or("unterminated value")?;
        let (_, v) = rest[..close].split_once(',').ok_or("value without a comma")?;
        out.push(v.trim().trim_matches('"').parse::<f64>().map_err(|e| format!("value {v}: {e}"))?);
    }
    Ok(out)
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
        p.one(&format!("rvs_real_server_connections_total{{job=\"{JOB}\",service=\"{SERVICE}\",server=\"{a}\"}}"))
    };
    Seen {
        service: p.one(&format!("rvs_service_connections_total{{job=\"{JOB}\",service=\"{SERVICE}\"}}")),
        rs: [rs("10.0.3.11:80"), rs("10.0.3.12:80")],
        rs_sum: p.one(&format!("sum(rvs_real_server_connections_total{{job=\"{JOB}\"}})")),
        rx_wan: p.one(&format!("sum(rvs_port_rx_packets_total{{job=\"{JOB}\",port=\"wan\"}})")),
        rx_lan: p.one(&format!("sum(rvs_port_rx_packets_total{{job=\"{JOB}\",port=\"lan\"}})")),
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
    prom.scraped_after(0.0);
    assert_eq!(prom.one(&format!("up{{job=\"{JOB}\"}}")), 1.0, "Prometheus sees rvsd up");
    let before = seen(&prom);

    // 20 separate connections (one curl each: no keep-alive reuse) through the NAT service.
    let codes = ns_ok(
        "rvs-client",
        &["sh", "-c", &format!("for i in $(seq {REQUESTS}); do curl -sS --max-time 10 -o /dev/null -w '%{{http_code}}\\n' http://10.0.2.100/; done")],
    );
    assert_eq!(codes.lines().filter(|l| *l == "200").count() as u64, REQUESTS, "every request answered: {codes}");
    let sent = now();

    prom.scraped_after(sent);
    assert_eq!(prom.one(&format!("up{{job=\"{JOB}\"}}")), 1.0, "Prometheus sees rvsd up");
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
