//! scripts/install into a scratch root, and the installed rvsd run in the lab as its
//! systemd unit would run it: NOTIFY_SOCKET set, the unit's capability bounding set and
//! no_new_privs. systemd's side of the protocol is a datagram socket this test binds.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{curl, lab_config, remove_scratch, repo, write_config, Lab};

const SERVICE: &str = r#"[[service]]
tcp = "10.0.2.100:80"
scheduler = "rr"

[[service.real_server]]
address = "10.0.3.11:80"
method = "masquerading"

[[service.real_server]]
address = "10.0.3.12:80"
method = "masquerading"
"#;

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("run command");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o7777
}

/// The unit's CapabilityBoundingSet as setpriv's `--bounding-set` argument.
fn bounding_set(unit: &str) -> String {
    let caps = unit
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("the unit sets CapabilityBoundingSet");
    let mut arg = String::from("-all");
    for c in caps.split_whitespace() {
        arg += &format!(",+{}", c.trim_start_matches("CAP_").to_lowercase());
    }
    arg
}

/// systemd's end of NOTIFY_SOCKET: each datagram is one notification.
struct Notify {
    sock: UnixDatagram,
    path: PathBuf,
    seen: Vec<String>,
}

impl Notify {
    fn bind() -> Notify {
        let path = std::env::temp_dir().join(format!("rvs-notify-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let sock = UnixDatagram::bind(&path).expect("bind the notify socket");
        sock.set_read_timeout(Some(Duration::from_millis(100))).expect("read timeout");
        Notify { sock, path, seen: Vec::new() }
    }

    /// Receive until a datagram has a line `want`; returns that datagram.
    fn until(&mut self, want: &str, timeout: Duration, log: &Path) -> String {
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        while start.elapsed() < timeout {
            if let Ok(n) = self.sock.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.seen.push(msg.clone());
                if msg.lines().any(|l| l == want) {
                    return msg;
                }
            }
        }
        panic!(
            "no {want} within {timeout:?}; got {:?}\nrvsd:\n{}",
            self.seen,
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
}

/// The installed rvsd in the director's namespace; killed if the test fails.
struct Installed {
    child: Option<Child>,
    log: PathBuf,
}

impl Installed {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        // ip netns exec execs: the child's pid is setpriv's, which execs rvsd.
        assert!(Command::new("kill").args([sig, &pid]).status().expect("kill").success());
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn lab_installed_rvsd_notifies_systemd_and_serves() {
    let _lab = Lab::up();
    let pid = std::process::id();
    let root = std::env::temp_dir().join(format!("rvs-root-{pid}"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rvsd")).parent().expect("bin dir");

    // Install, then check what landed where, with which modes.
    let (ok, out, err) =
        run(Command::new(repo().join("scripts/install")).arg("--root").arg(&root).arg("--bin-dir").arg(bin_dir));
    assert!(ok, "scripts/install failed:\n{out}{err}");
    let sbin = root.join("usr/local/sbin");
    let unit_path = root.join("etc/systemd/system/rvsd.service");
    for (p, m) in [
        (sbin.join("rvsd"), 0o755),
        (sbin.join("rvsadm"), 0o755),
        (sbin.join("rvs-prepare"), 0o755),
        (root.join("etc/rvs/rvsd.toml"), 0o644),
        (root.join("etc/rvs/prepare.conf"), 0o644),
        (unit_path.clone(), 0o644),
    ] {
        assert_eq!(mode(&p), m, "{}", p.display());
    }
    let (same, _, _) = run(Command::new("cmp").arg(env!("CARGO_BIN_EXE_rvsd")).arg(sbin.join("rvsd")));
    assert!(same, "the installed rvsd is the built one");
    let unit = std::fs::read_to_string(&unit_path).expect("unit");
    for line in [
        "Type=notify",
        "ExecStartPre=+/usr/local/sbin/rvs-prepare --config /etc/rvs/rvsd.toml",
        "ExecStart=/usr/local/sbin/rvsd --config /etc/rvs/rvsd.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "LimitMEMLOCK=infinity",
        "RuntimeDirectory=rvs",
        "Restart=on-failure",
    ] {
        assert!(unit.lines().any(|l| l == line), "unit lacks {line:?}:\n{unit}");
    }

    // The template is a valid configuration, and a reinstall keeps the operator's edits.
    let template = root.join("etc/rvs/rvsd.toml");
    let (ok, out, err) = run(Command::new(sbin.join("rvsd")).arg("--check-config").arg(&template));
    assert!(ok && out.contains("2 ports") && out.contains("2 workers"), "template: {out}{err}");
    std::fs::write(&template, "# mine\n").expect("edit the config");
    let (ok, out, err) =
        run(Command::new(repo().join("scripts/install")).arg("--root").arg(&root).arg("--bin-dir").arg(bin_dir));
    assert!(ok && out.contains("exists, kept"), "reinstall: {out}{err}");
    assert_eq!(std::fs::read_to_string(&template).expect("config"), "# mine\n", "reinstall overwrote rvsd.toml");

    // systemd-analyze verify in the root: it resolves the unit's dependencies and
    // executables there, so systemd's own units and /bin/kill come along.
    std::fs::create_dir_all(root.join("usr/lib/systemd")).expect("mkdir");
    std::fs::create_dir_all(root.join("usr/bin")).expect("mkdir");
    assert!(Command::new("cp")
        .arg("-a")
        .arg("/usr/lib/systemd/system")
        .arg(root.join("usr/lib/systemd/"))
        .status()
        .expect("cp")
        .success());
    std::fs::copy("/usr/bin/kill", root.join("usr/bin/kill")).expect("copy kill");
    std::os::unix::fs::symlink("usr/bin", root.join("bin")).expect("bin symlink");
    let (ok, out, err) = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .arg("/etc/systemd/system/rvsd.service"));
    // verify exits 0 on warnings (an unknown key, a bad value): any output is a failure.
    assert!(ok && out.is_empty() && err.is_empty(), "systemd-analyze verify:\n{out}{err}");

    // rvs-prepare: a lab config names no PCI device (nothing to do); the template's
    // devices are not on this box, which it says by name before touching anything.
    let conf = write_config("prepare", "HUGEPAGES=0\n");
    let lab = write_config("lab", &lab_config(SERVICE));
    let prepare = |cfg: &Path| {
        run(Command::new(sbin.join("rvs-prepare")).arg("--config").arg(cfg).arg("--prepare-conf").arg(&conf))
    };
    let (ok, out, err) = prepare(&lab);
    assert!(ok && out.contains("names no PCI devices"), "rvs-prepare on the lab config: {out}{err}");
    std::fs::copy(repo().join("dist/rvsd.toml"), &template).expect("restore the template");
    let (ok, out, err) = prepare(&template);
    assert!(!ok && err.contains("device 0000:03:00.0: no such PCI device"), "rvs-prepare on the template: {out}{err}");

    // The installed rvsd as the unit runs it. A bad configuration first: nothing starts,
    // and the unit's status says why.
    let mut notify = Notify::bind();
    let bad = write_config("bad", &lab_config(SERVICE).replace("lcores = [1, 2]", "lcores = \"one\""));
    let (ok, out, err) =
        run(Command::new(sbin.join("rvsd")).arg("--config").arg(&bad).env("NOTIFY_SOCKET", &notify.path));
    assert!(!ok && err.contains("nothing started"), "bad config: {out}{err}");
    let mut buf = [0u8; 4096];
    let n = notify.sock.recv(&mut buf).expect("a STATUS for the failed start");
    let failed = String::from_utf8_lossy(&buf[..n]);
    assert!(failed.starts_with("STATUS=failed: ") && failed.contains("lcores"), "{failed:?}");
    let log = std::env::temp_dir().join(format!("rvsd-test-{pid}.log"));
    let file = std::fs::File::create(&log).expect("log");
    let child = Command::new("ip")
        .args(["netns", "exec", "rvs-director", "setpriv", "--no-new-privs", "--bounding-set"])
        .arg(bounding_set(&unit))
        .arg(sbin.join("rvsd"))
        .arg("--config")
        .arg(&lab)
        .env("NOTIFY_SOCKET", &notify.path)
        .stdout(file.try_clone().expect("dup"))
        .stderr(file)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn rvsd");
    let mut rvsd = Installed { child: Some(child), log: log.clone() };

    let ready = notify.until("READY=1", Duration::from_secs(30), &log);
    let at_ready = rvsd.output();
    for line in ["port wan: net_af_packet0", "port lan: net_af_packet1", "conn tables: allocated", "rvsd: running"] {
        assert!(at_ready.contains(line), "READY=1 before {line:?}:\n{at_ready}");
    }
    assert!(ready.contains("STATUS=running: 1 services; wan up"), "READY's status: {ready:?}");
    let statuses: Vec<&String> = notify.seen.iter().filter(|m| m.starts_with("STATUS=")).collect();
    assert!(statuses.iter().any(|m| m.contains("conn tables: allocating 2 x 65536")), "{:?}", notify.seen);
    assert!(statuses.iter().any(|m| m.contains("conn tables: allocated in")), "{:?}", notify.seen);
    assert!(!at_ready.contains("link: waiting"), "af_packet links are up at once:\n{at_ready}");

    for _ in 0..2 {
        let body = curl("http://10.0.2.100/");
        assert!(body.trim() == "Web Server 1" || body.trim() == "Web Server 2", "through the VIP: {body:?}");
    }

    rvsd.signal("-HUP");
    let reloading = notify.until("RELOADING=1", Duration::from_secs(10), &log);
    assert!(reloading.lines().any(|l| l.starts_with("MONOTONIC_USEC=")), "{reloading:?}");
    notify.until("READY=1", Duration::from_secs(10), &log);
    assert!(rvsd.output().contains("rvsd: reload:"), "{}", rvsd.output());

    rvsd.signal("-TERM");
    notify.until("STOPPING=1", Duration::from_secs(10), &log);
    let mut child = rvsd.child.take().expect("running");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "rvsd ignored SIGTERM:\n{}", rvsd.output());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success() && rvsd.output().contains("rvsd: stopped"), "{status}:\n{}", rvsd.output());

    // Uninstall removes what install put in, and keeps the configuration.
    let (ok, out, err) = run(Command::new(repo().join("scripts/install")).arg("--uninstall").arg("--root").arg(&root));
    assert!(ok, "uninstall: {out}{err}");
    assert!(!sbin.join("rvsd").exists() && !unit_path.exists() && template.exists());
    remove_scratch();
    assert!(!root.exists(), "scratch root left behind");
}
