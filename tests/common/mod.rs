//! Shared helpers for the lab tests: the namespaces from `scripts/lab`, rvsd started in
//! the director's namespace, commands run inside namespaces.
#![allow(dead_code)]

pub mod pair;
pub mod prometheus;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn require_root() {
    let uid = Command::new("id").arg("-u").output().expect("id -u");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "lab tests need root (network namespaces, raw sockets): run scripts/test as root"
    );
}

/// `scripts/lab up` now, `scripts/lab down` when dropped. Holds an exclusive lock on
/// the lab meanwhile, so test runs (and benchmarks) on one machine never share it.
pub struct Lab {
    _lock: std::fs::File,
}

impl Lab {
    pub fn up() -> Lab {
        Self::up_with(&[])
    }

    /// With `scripts/lab`'s environment settings, e.g. `[("RVS_LAB_DIRECTORS", "2")]`.
    pub fn up_with(env: &[(&str, &str)]) -> Lab {
        require_root();
        let lock = std::fs::File::create("/run/rvs-lab.lock").expect("lab lock file");
        lock.lock().expect("lock the lab");
        let out = Command::new(repo().join("scripts/lab"))
            .arg("up")
            .envs(env.iter().copied())
            .output()
            .expect("run scripts/lab");
        assert!(out.status.success(), "lab up failed: {}", String::from_utf8_lossy(&out.stderr));
        Lab { _lock: lock }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/lab")).arg("down").output();
        remove_scratch();
    }
}

/// Removes this test process's scratch files when dropped: a test leaves nothing behind.
pub struct Scratch;

impl Drop for Scratch {
    fn drop(&mut self) {
        remove_scratch();
    }
}

/// This process's files and folders in the temp dir (named `rvs…-<pid>…` or
/// `rvsd-test-<pid>.log` by the tests), and the DPDK runtime folder of the lab tests'
/// rvsd (DPDK leaves it behind; rvsd removes it on a clean stop, not when killed).
pub fn remove_scratch() {
    let pid = std::process::id().to_string();
    let ours = |name: &str| name.starts_with("rvs") && name.split(['-', '.']).any(|part| part == pid);
    if let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) {
        for e in dir.flatten() {
            if ours(&e.file_name().to_string_lossy()) {
                let p = e.path();
                let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            }
        }
    }
    let _ = std::fs::remove_dir_all("/var/run/dpdk/rvs-lab-test");
    let _ = std::fs::remove_dir_all("/var/run/dpdk/rvs-lab-test2");
    let _ = std::fs::remove_dir_all(LAB_RUN2);
}

/// Run a command inside a namespace and return its output.
pub fn ns(ns: &str, cmd: &[&str]) -> Output {
    Command::new("ip").args(["netns", "exec", ns]).args(cmd).output().expect("ip netns exec")
}

pub fn ns_ok(namespace: &str, cmd: &[&str]) -> String {
    let out = ns(namespace, cmd);
    assert!(
        out.status.success(),
        "{namespace}: {cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// rvsd running in a director's namespace, its output collected in a log file.
pub struct Rvsd {
    child: Option<Child>,
    pub log: PathBuf,
    /// The namespace it runs in.
    pub ns: String,
    /// Its metrics endpoint, from the config's `metrics = "…"`.
    metrics: String,
}

impl Rvsd {
    pub fn start(config: &Path) -> Rvsd {
        Self::start_with(config, &[])
    }

    /// With extra rvsd arguments.
    pub fn start_with(config: &Path, extra: &[&str]) -> Rvsd {
        Self::spawn_in("rvs-director", config, extra)
    }

    /// In another director's namespace (`rvs-director2`, `RVS_LAB_DIRECTORS=2`), with a log
    /// of its own; the config gives it its own socket, metrics port and EAL file prefix
    /// ([`lab_config_for`]).
    pub fn start_in(namespace: &str, config: &Path) -> Rvsd {
        Self::spawn_in(namespace, config, &[])
    }

    fn spawn_in(namespace: &str, config: &Path, extra: &[&str]) -> Rvsd {
        let tag = if namespace == "rvs-director" { String::new() } else { format!("-{namespace}") };
        let log = std::env::temp_dir().join(format!("rvsd-test-{}{tag}.log", std::process::id()));
        let text = std::fs::read_to_string(config).unwrap_or_default();
        let metrics = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("metrics = \"")?.strip_suffix('"'))
            .unwrap_or("127.0.0.1:9469")
            .to_string();
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", namespace, env!("CARGO_BIN_EXE_rvsd"), "--config"])
            .arg(config)
            .args(extra)
            .stdout(file.try_clone().expect("dup log"))
            .stderr(file)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn rvsd");
        let mut r = Rvsd { child: Some(child), log, ns: namespace.into(), metrics };
        r.wait_for_log("rvsd: running", Duration::from_secs(30));
        r
    }

    pub fn output(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.output().contains(needle) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("rvsd exited early ({status}):\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rvsd did not print {needle:?} within {timeout:?}:\n{}", self.output());
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Send SIGTERM; return the exit status and how long it took.
    pub fn terminate(&mut self) -> (ExitStatus, Duration) {
        let mut child = self.child.take().expect("rvsd running");
        let start = Instant::now();
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        loop {
            if let Some(status) = child.try_wait().expect("wait rvsd") {
                return (status, start.elapsed());
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("rvsd ignored SIGTERM for 10 s:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Rewrite the config file, send SIGHUP and wait until rvsd has applied it.
    pub fn reload(&mut self, path: &Path, text: &str) {
        let before = self.output().matches("rvsd: reload:").count();
        std::fs::write(path, text).expect("rewrite config");
        let _ = Command::new("kill").args(["-HUP", &self.pid().to_string()]).status();
        let start = Instant::now();
        while self.output().matches("rvsd: reload:").count() == before {
            assert!(start.elapsed() < Duration::from_secs(10), "rvsd did not reload:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(20));
        }
        // Workers adopt a snapshot at their next timer tick (10 ms).
        std::thread::sleep(Duration::from_millis(100));
    }

    /// The Prometheus text from rvsd's metrics endpoint (loopback of the director's namespace).
    pub fn metrics(&self) -> String {
        ns_ok(&self.ns, &["curl", "-sf", &format!("http://{}/metrics", self.metrics)])
    }

    /// SIGKILL, as a crash: nothing of rvsd's runs its shutdown. Returns when it is reaped.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("rvsd running");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Rvsd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// rvsd's lab configuration with two workers (lcores 1 and 2; lcore 2 shares CPU 0 with
/// the control thread, so workers sleep briefly when idle and leave the kernel stacks
/// of the lab CPU time) and the given `[[service]]` tables.
pub fn lab_config(services: &str) -> String {
    format!(
        r#"[eal]
args = ["--no-huge", "-m", "512", "--no-pci", "--lcores=0@0,1@1,2@0", "--file-prefix=rvs-lab-test",
        "--vdev=net_af_packet0,iface=dwan,qpairs=2", "--vdev=net_af_packet1,iface=dlan,qpairs=2"]

[[port]]
name = "wan"
device = "net_af_packet0"
addresses = ["10.0.2.2/24"]

[[port]]
name = "lan"
device = "net_af_packet1"
addresses = ["10.0.3.1/24"]

[[vip]]
address = "10.0.2.100"

[[route]]
prefix = "0.0.0.0/0"
gateway = "10.0.2.1"

[[route]]
prefix = "10.0.4.0/24"
gateway = "10.0.3.254"

[workers]
lcores = [1, 2]
conn_capacity = 65536
idle_sleep_us = 50

[control]
metrics = "127.0.0.1:9469"
socket = "/run/rvs/rvsd-lab-test.sock"

{services}"#
    )
}

/// The run folder (admin socket, keepalived's pid files) of the second director's rvsd:
/// one of its own, since both rvsd share the machine's /run.
pub const LAB_RUN2: &str = "/run/rvs/director2";

/// Director `n`'s configuration (1: `rvs-director`, 2: `rvs-director2`) in the two-director
/// lab (`RVS_LAB_DIRECTORS=2`): `lab_config`'s EAL arguments, workers and routes, with
/// the director's own addresses (1: 10.0.2.2 and 10.0.3.3, 2: 10.0.2.3 and 10.0.3.2) and
/// no `[[vip]]`: the VIP and the real servers' gateway 10.0.3.1 float between the
/// directors by VRRP (a static one would be answered by both). Director 2 gets its own
/// EAL file prefix, admin socket (under [`LAB_RUN2`]) and metrics port (9470).
pub fn lab_config_for(director: u8, services: &str) -> String {
    let c = replace_once(&lab_config(services), "[[vip]]\naddress = \"10.0.2.100\"\n\n", "");
    match director {
        1 => replace_once(&c, r#"addresses = ["10.0.3.1/24"]"#, r#"addresses = ["10.0.3.3/24"]"#),
        2 => {
            let c = replace_once(&c, r#"addresses = ["10.0.2.2/24"]"#, r#"addresses = ["10.0.2.3/24"]"#);
            let c = replace_once(&c, r#"addresses = ["10.0.3.1/24"]"#, r#"addresses = ["10.0.3.2/24"]"#);
            let c = replace_once(&c, "--file-prefix=rvs-lab-test\"", "--file-prefix=rvs-lab-test2\"");
            let c = replace_once(&c, "127.0.0.1:9469", "127.0.0.1:9470");
            replace_once(&c, LAB_SOCKET, &format!("{LAB_RUN2}/rvsd-lab-test.sock"))
        }
        _ => panic!("the lab has directors 1 and 2"),
    }
}

/// `s` with `from` replaced by `to`, which must be there: a silent no-op would leave the
/// test running rvsd without its IPv6 half.
pub fn replace_once(s: &str, from: &str, to: &str) -> String {
    assert_eq!(s.matches(from).count(), 1, "lab_config() no longer holds {from:?}");
    s.replacen(from, to, 1)
}

/// The v4 lab configuration (same EAL arguments, two workers, control socket), with the
/// IPv6 half of the lab beside it: rvsd's own addresses 2001:db8:2::2 (wan) and
/// 2001:db8:3::1 (lan, the NAT servers' gateway), the VIP6, a default route via the
/// router's wan address and the far subnet via the router's lan leg (TUN to rvs-far1).
pub fn lab_config_v6(services: &str) -> String {
    let c = lab_config(services);
    let c = replace_once(&c, r#"addresses = ["10.0.2.2/24"]"#, r#"addresses = ["10.0.2.2/24", "2001:db8:2::2/64"]"#);
    let c = replace_once(&c, r#"addresses = ["10.0.3.1/24"]"#, r#"addresses = ["10.0.3.1/24", "2001:db8:3::1/64"]"#);
    replace_once(
        &c,
        "[workers]",
        r#"[[vip]]
address = "2001:db8:2::100"

[[route]]
prefix = "::/0"
gateway = "2001:db8:2::1"

[[route]]
prefix = "2001:db8:4::/64"
gateway = "2001:db8:3::fe"

[workers]"#,
    )
}

/// The lab's NAT service: VIP 10.0.2.100:80, rr over rs1 and rs2 (seed 000).
pub const NAT_RR: &str = r#"[[service]]
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

/// A config file the test owns (rewritten for reloads).
pub fn write_config(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("rvs-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).expect("write config");
    path
}

/// Run rvsadm (the real binary) in the director's namespace against the lab test's rvsd.
/// Returns (exit code, stdout, stderr).
pub fn rvsadm(args: &str, stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["netns", "exec", "rvs-director", env!("CARGO_BIN_EXE_rvsadm")])
        .args(args.split_whitespace())
        .env("RVSADM_SOCKET", LAB_SOCKET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rvsadm");
    if let Some(text) = stdin {
        child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write rules");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("rvsadm");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// rvsadm that must succeed; its stdout.
pub fn rvsadm_ok(args: &str) -> String {
    let (code, out, err) = rvsadm(args, None);
    assert_eq!(code, 0, "rvsadm {args}: {err}");
    out
}

/// The admin socket of the lab test configuration.
pub const LAB_SOCKET: &str = "/run/rvs/rvsd-lab-test.sock";

/// `curl` from the client namespace; the body, or panics with curl's error.
pub fn curl(url: &str) -> String {
    ns_ok("rvs-client", &["curl", "-sS", "--max-time", "10", url])
}

/// The sum of a metric's samples (every line starting with `prefix`, e.g. `name{`) in
/// Prometheus text: a family over its workers.
pub fn sum(metrics: &str, prefix: &str) -> u64 {
    metrics.lines().filter(|l| l.starts_with(prefix)).filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok()).sum()
}

/// The value of one sample line `name{labels} value` in Prometheus text, 0 if absent.
pub fn sample(metrics: &str, name_and_labels: &str) -> u64 {
    metrics.lines().find_map(|l| l.strip_prefix(name_and_labels).and_then(|v| v.trim().parse().ok())).unwrap_or(0)
}

/// From the client, 200 connections at once to `base` (a URL ending in `/`): all answered 200.
pub fn parallel_200(base: &str) {
    let mut args: Vec<String> =
        ["curl", "-g", "-sS", "--max-time", "30", "--parallel", "--parallel-immediate", "--parallel-max", "200"]
            .iter()
            .map(|a| a.to_string())
            .collect();
    args.extend(["-w".into(), "%{http_code}\\n".into()]);
    for i in 0..200 {
        args.extend(["-o".into(), "/dev/null".into(), format!("{base}?{i}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ns("rvs-client", &args);
    let codes = String::from_utf8_lossy(&out.stdout);
    assert_eq!(codes.lines().filter(|l| *l == "200").count(), 200, "200 parallel connections, all answered: {codes}");
}

/// The 20 MiB file fetched from the client through `base` matches the servers' digest.
pub fn big_download_matches(base: &str) {
    let want = ns_ok("rvs-rs1", &["cat", "/tmp/rvs-lab/rvs-rs1/www/big.bin.sha256"]);
    let got = ns_ok("rvs-client", &["sh", "-c", &format!("curl -g -sS --max-time 60 '{base}big.bin' | sha256sum")]);
    assert_eq!(got.split_whitespace().next(), want.split_whitespace().next(), "20 MiB through {base}");
}

/// python's http.server on `ip:port`, serving the current directory: a TCPServer, since
/// HTTPServer's bind looks up the host's name, which takes seconds without DNS.
pub fn http_server(ip: &str, port: u16) -> String {
    format!(
        "import socketserver, http.server as h; socketserver.TCPServer.allow_reuse_address = True; \
         socketserver.TCPServer(('{ip}', {port}), h.SimpleHTTPRequestHandler).serve_forever()"
    )
}
