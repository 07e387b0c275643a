//! FullNAT reply steering in rvsd on ports without usable rte_flow: a net_ring port (no
//! flow ops at all) and a net_tap port (rte_flow through TC), two workers, a FullNAT
//! service with a local address. Each port says once why it has no rules, its startup
//! line and metrics say "software", and a local address added later is not retried.
//! (That the workers then redirect a reply to its port's owner is
//! rvs-core's forward_fullnat `fullnat_replies_belong_to_their_ports_worker`.)
//!
//! rvsd runs in a network namespace of its own (`unshare -n`), so its tap never shows on
//! the host and it touches no lab namespace. Needs root; skips (passes with a note)
//! without it or without /dev/net/tun.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const METRICS: &str = "127.0.0.1:19479";

fn config(dir: &Path) -> String {
    format!(
        r#"[eal]
args = ["--no-huge", "-m", "256", "--no-pci", "--no-telemetry", "--lcores=0@0,1@1,2@1",
        "--file-prefix=rvs-steer-{pid}", "--vdev=net_tap0,iface=rvsst0", "--vdev=net_ring0"]
[[port]]
name = "wan"
device = "net_tap0"
addresses = ["10.0.2.2/24"]
[[port]]
name = "lan"
device = "net_ring0"
addresses = ["10.0.3.1/24"]
[workers]
lcores = [1, 2]
conn_capacity = 4096
idle_sleep_us = 200
[kernel]
enabled = false
[control]
metrics = "{METRICS}"
socket = "{sock}"
[[service]]
tcp = "10.0.2.100:80"
scheduler = "rr"
laddrs = ["10.0.3.200"]
[[service.real_server]]
address = "10.0.3.11:80"
method = "fullnat"
"#,
        pid = std::process::id(),
        sock = dir.join("rvsd.sock").display()
    )
}

struct Rvsd {
    child: Child,
    dir: PathBuf,
}

impl Rvsd {
    fn out(&self) -> String {
        std::fs::read_to_string(self.dir.join("out")).unwrap_or_default()
    }
    fn err(&self) -> String {
        std::fs::read_to_string(self.dir.join("err")).unwrap_or_default()
    }
    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Rvsd {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/rvs-steer-{}", std::process::id()));
    }
}

fn start() -> Rvsd {
    let dir = std::env::temp_dir().join(format!("rvs-steer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rvsd.toml"), config(&dir)).unwrap();
    let script = format!(
        "ip link set lo up && exec {} --config {}",
        env!("CARGO_BIN_EXE_rvsd"),
        dir.join("rvsd.toml").display()
    );
    // `unshare` execs sh, which execs rvsd: the child's pid is rvsd's.
    let child = Command::new("unshare")
        .args(["-n", "--", "sh", "-c", &script])
        .stdout(std::fs::File::create(dir.join("out")).unwrap())
        .stderr(std::fs::File::create(dir.join("err")).unwrap())
        .spawn()
        .expect("unshare");
    let r = Rvsd { child, dir };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !r.out().contains("rvsd: running") {
        assert!(Instant::now() < deadline, "rvsd did not start:\n{}\n{}", r.out(), r.err());
        std::thread::sleep(Duration::from_millis(100));
    }
    r
}

fn metrics(r: &Rvsd) -> String {
    let out = Command::new("nsenter")
        .args(["-t", &r.pid(), "-n", "curl", "-sf", &format!("http://{METRICS}/metrics")])
        .output()
        .expect("nsenter curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn said(err: &str, port: &str) -> usize {
    err.lines()
        .filter(|l| {
            l.starts_with(&format!("rvsd: port {port}: no rte_flow ("))
                && l.ends_with("): FullNAT replies are steered to their worker in software")
        })
        .count()
}

#[test]
fn ports_without_rte_flow_say_so_once_and_steer_in_software() {
    let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if !root.unwrap_or(false) || !Path::new("/dev/net/tun").exists() {
        eprintln!("skipped: needs root and /dev/net/tun");
        return;
    }
    let mut r = start();
    let (out, err) = (r.out(), r.err());
    // net_ring has no flow ops: ethdev refuses at validation.
    assert_eq!(said(&err, "lan"), 1, "{err}");
    assert!(err.contains("rvsd: port lan: no rte_flow (rte_flow_validate: Function not implemented"), "{err}");
    assert!(out.contains("port lan: FullNAT reply steering in software (no rte_flow, said above)"), "{out}");
    // net_tap validates the rule but cannot create it (DPDK 22.11 maps a port mask to no TC
    // key, and this kernel has no multiq qdisc); wherever it could, it says so instead.
    let wan_nic = out.contains("port wan: FullNAT reply steering by the NIC (4 rte_flow rules)");
    assert!(wan_nic || said(&err, "wan") == 1, "{out}\n{err}");
    println!("net_tap: {}", err.lines().find(|l| l.contains("port wan: no rte_flow")).unwrap_or("steered by the NIC"));

    let m = metrics(&r);
    assert!(m.contains("rvs_port_fullnat_nic_steering{port=\"lan\"} 0\n"), "{m}");
    assert!(m.contains("rvs_port_flow_rules{port=\"lan\"} 0\n"), "{m}");
    let wan = if wan_nic { "1" } else { "0" };
    assert!(m.contains(&format!("rvs_port_fullnat_nic_steering{{port=\"wan\"}} {wan}\n")), "{m}");

    // A local address added at run time: the ports are not tried again.
    let st = Command::new(env!("CARGO_BIN_EXE_rvsadm"))
        .args(["--add-laddr", "-t", "10.0.2.100:80", "-z", "10.0.3.201"])
        .env("RVSADM_SOCKET", r.dir.join("rvsd.sock"))
        .status()
        .unwrap();
    assert!(st.success());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(said(&r.err(), "lan"), 1, "{}", r.err());
    if !wan_nic {
        assert_eq!(said(&r.err(), "wan"), 1, "{}", r.err());
    }

    assert!(Command::new("kill").args(["-INT", &r.pid()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while r.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "rvsd did not stop:\n{}", r.out());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(r.out().contains("rvsd: stopped"), "{}\n{}", r.out(), r.err());
}
