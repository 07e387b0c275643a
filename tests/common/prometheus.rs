//! A real Prometheus (Debian's `prometheus`) in `rvs-director`, scraping the lab rvsd's
//! metrics endpoint every second, read back through its HTTP API.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::ns;

pub const JOB: &str = "rvsd";
const ADDR: &str = "127.0.0.1:9090";

/// Killed and its config and TSDB directory removed when dropped.
pub struct Prometheus {
    child: Option<Child>,
    dir: PathBuf,
}

impl Prometheus {
    pub fn start() -> Prometheus {
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
            .arg(format!("--web.listen-address={ADDR}"))
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn prometheus (scripts/setup installs Debian's prometheus package)");
        let mut p = Prometheus { child: Some(child), dir };
        let start = Instant::now();
        loop {
            if ns("rvs-director", &["curl", "-sf", "--max-time", "1", &format!("http://{ADDR}/-/ready")])
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

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// GET an API path with url-encoded parameters: the answer's `data`, or why not.
    pub fn api(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let url = format!("http://{ADDR}{path}");
        let mut args = vec!["curl".to_string(), "-sS".into(), "--max-time".into(), "5".into(), "-G".into(), url];
        for (k, v) in params {
            args.extend(["--data-urlencode".into(), format!("{k}={v}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ns("rvs-director", &args);
        let body = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!("curl {}: {}{body}", out.status, String::from_utf8_lossy(&out.stderr)));
        }
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("status {}: {} {}", v["status"], v["errorType"], v["error"]));
        }
        Ok(v["data"].clone())
    }

    /// An instant query: the result vector's samples (labels, value).
    pub fn query(&self, q: &str) -> Result<Vec<(Value, f64)>, String> {
        let data = self.api("/api/v1/query", &[("query", q)])?;
        if data["resultType"] != "vector" {
            return Err(format!("result type {}, not a vector", data["resultType"]));
        }
        let samples = data["result"].as_array().ok_or("no result array")?;
        samples
            .iter()
            .map(|s| {
                let v = s["value"][1].as_str().ok_or_else(|| format!("sample without a value: {s}"))?;
                let v = v.parse::<f64>().map_err(|e| format!("value {v}: {e}"))?;
                Ok((s["metric"].clone(), v))
            })
            .collect()
    }

    /// The values of `label` on series matching `selector` (Grafana's `label_values`).
    pub fn label_values(&self, label: &str, selector: &str) -> Result<Vec<String>, String> {
        let data = self.api(&format!("/api/v1/label/{label}/values"), &[("match[]", selector)])?;
        let values = data.as_array().ok_or("no value array")?;
        Ok(values.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
    }

    /// Wait until Prometheus holds `n` successful scrapes of rvsd that started after
    /// `after` (Unix seconds): `timestamp()` of a raw series is its sample's time.
    pub fn scrapes_after(&self, after: f64, n: usize) {
        let start = Instant::now();
        loop {
            // A range selector: every sample of `up` in the last 30 s, with its time.
            let samples = self
                .api("/api/v1/query", &[("query", &format!("up{{job=\"{JOB}\"}}[30s]"))])
                .ok()
                .and_then(|d| d["result"][0]["values"].as_array().cloned())
                .unwrap_or_default();
            let recent = samples.iter().filter(|s| s[0].as_f64().is_some_and(|t| t > after) && s[1] == "1").count();
            if recent >= n {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "fewer than {n} successful scrapes of rvsd after {after} ({recent}):\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
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
