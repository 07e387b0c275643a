//! The two-director lab (`RVS_LAB_DIRECTORS=2`): seed 000's VRRP instance for each
//! director's keepalived, each rvsd's configuration, and what the tests poll.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{lab_config_for, ns, replace_once, write_config, LAB_RUN2, NAT_RR};

/// One director's keepalived.conf: seed 000's vrrp_instance with the lab's addresses,
/// floating the VIP on the wan and the real servers' gateway 10.0.3.1 on the lan.
pub fn keepalived_conf(state: &str, priority: u32, advert_int: f64) -> String {
    keepalived_conf_v(2, state, priority, advert_int)
}

/// [`keepalived_conf`] for VRRP `version` 2 or 3 (RFC 5798: sub-second adverts, no
/// authentication).
pub fn keepalived_conf_v(version: u8, state: &str, priority: u32, advert_int: f64) -> String {
    let (global, auth) = if version == 3 {
        ("global_defs {\n    vrrp_version 3\n}\n", "")
    } else {
        ("", "    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n")
    };
    format!(
        r#"{global}vrrp_instance VI_1 {{
    state {state}
    interface wan
    virtual_router_id 51
    priority {priority}
    advert_int {advert_int}
{auth}    virtual_ipaddress {{
        10.0.2.100/24 dev wan label wan:1
        10.0.3.1/24 dev lan label lan:1
    }}
}}
"#
    )
}

/// `conf` with keepalived's `lvs_sync_daemon wan VI_1` in its `global_defs`: the sync
/// daemon follows the instance's state (syncid: its virtual_router_id, 51).
pub fn with_sync_daemon(conf: &str) -> String {
    let line = "    lvs_sync_daemon wan VI_1\n";
    match conf.find("global_defs {\n") {
        Some(i) => format!("{}{line}{}", &conf[..i + 14], &conf[i + 14..]),
        None => format!("global_defs {{\n{line}}}\n{conf}"),
    }
}

/// Director `n`'s rvsd configuration (NAT rr over rs1 and rs2), running keepalived's
/// VRRP on `kconf`.
pub fn rvsd_config(n: u8, kconf: &str) -> PathBuf {
    rvsd_config_with(n, kconf, NAT_RR)
}

/// [`rvsd_config`] with `services` (TOML `[[service]]` blocks).
pub fn rvsd_config_with(n: u8, kconf: &str, services: &str) -> PathBuf {
    let k = write_config(&format!("keepalived{n}"), kconf);
    let base = lab_config_for(n, services);
    let socket_line = base.lines().find(|l| l.starts_with("socket = ")).unwrap().to_string();
    let text =
        replace_once(&base, &socket_line, &format!("{socket_line}\nkeepalived = \"{}\"\nvrrp = true", k.display()));
    write_config(&format!("rvsd{n}"), &text)
}

/// Whether `namespace`'s twins hold the VIP (wan) and the gateway (lan).
pub fn holds(namespace: &str) -> (bool, bool) {
    let has = |dev: &str, addr: &str| {
        let out = ns(namespace, &["ip", "-br", "-4", "addr", "show", "dev", dev]);
        String::from_utf8_lossy(&out.stdout).split_whitespace().any(|a| a == addr)
    };
    (has("wan", "10.0.2.100/24"), has("lan", "10.0.3.1/24"))
}

/// Polls `f` every 20 ms for up to `within`; how long it took to become true.
pub fn wait_for(within: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// rvsadm against director `n`'s rvsd, in its namespace; its stdout (it must succeed).
pub fn rvsadm_on(n: u8, args: &str) -> String {
    let (namespace, socket) = match n {
        1 => ("rvs-director", super::LAB_SOCKET.to_string()),
        _ => ("rvs-director2", format!("{LAB_RUN2}/rvsd-lab-test.sock")),
    };
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", namespace, env!("CARGO_BIN_EXE_rvsadm")])
        .args(args.split_whitespace())
        .env("RVSADM_SOCKET", socket)
        .output()
        .expect("rvsadm");
    assert!(out.status.success(), "rvsadm {args} on director {n}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// keepalived processes (not zombies) in `namespace`.
pub fn keepalived_procs(namespace: &str) -> Vec<String> {
    let out = std::process::Command::new("ip").args(["netns", "pids", namespace]).output().expect("ip netns pids");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // "pid (comm) state …"
            let after = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
            stat.contains("(keepalived)") && !after.starts_with('Z')
        })
        .map(String::from)
        .collect()
}
