//! `[control] vrrp = true`: rvsd runs the real keepalived's VRRP part on the same
//! keepalived.conf, on its kernel twins. As MASTER, keepalived puts the instance's
//! virtual_ipaddress on the twin `wan`; rvsd answers for it and balances the
//! virtual_server on it; keepalived killed is restarted (and the VIP comes back); rvsd
//! stopped stops keepalived. (Two directors failing over: the failover issue.)

mod common;

use std::time::{Duration, Instant};

use common::*;

const KCONF: &str = r#"vrrp_instance VI_1 {
    state MASTER
    interface wan
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.0.2.150/32 dev wan
    }
}

virtual_server 10.0.2.150 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.3.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.0.3.12 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"#;

/// Within `within`, the router reaches the VIP (ARP answered by rvsd, echo by the kernel).
fn reached(within: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if ns("rvs-router", &["ping", "-c1", "-W", "0.3", "10.0.2.150"]).status.success() {
            return Some(start.elapsed());
        }
    }
    None
}

fn keepalived_pid() -> Option<String> {
    std::fs::read_to_string("/run/rvs/keepalived.pid").ok().map(|s| s.trim().to_string())
}

#[test]
fn lab_rvsd_runs_keepalived_vrrp_and_follows_its_vip() {
    let _lab = Lab::up();
    let kconf = std::env::temp_dir().join(format!("rvs-{}-vrrp.conf", std::process::id()));
    std::fs::write(&kconf, KCONF).unwrap();
    let text = lab_config("").replacen(
        "socket = \"/run/rvs/rvsd-lab-test.sock\"",
        &format!("socket = \"/run/rvs/rvsd-lab-test.sock\"\nkeepalived = \"{}\"\nvrrp = true", kconf.display()),
        1,
    );
    let path = write_config("vrrp", &text);
    let mut rvsd = Rvsd::start(&path);
    assert!(rvsd.output().contains("vrrp: keepalived --vrrp on"), "{}", rvsd.output());

    // BACKUP at start, MASTER after the master-down interval (about 3 s).
    let took = reached(Duration::from_secs(10)).unwrap_or_else(|| panic!("VIP never answered:\n{}", rvsd.output()));
    eprintln!("10.0.2.150 answered {took:?} after rvsd started");
    let twin = ns_ok("rvs-director", &["ip", "-br", "addr", "show", "wan"]);
    assert!(twin.contains("10.0.2.150/32"), "keepalived put the VIP on the twin: {twin}");
    let mut b: Vec<String> = (0..4).map(|_| curl("http://10.0.2.150/").trim().to_string()).collect();
    b.sort();
    assert_eq!(b, ["Web Server 1", "Web Server 1", "Web Server 2", "Web Server 2"], "the VIP's service balances");

    // keepalived dies: the VIP goes with it (SIGKILL releases nothing, so rvsd's twin
    // still holds it until the new keepalived, which restarts as BACKUP, sorts it out);
    // rvsd restarts keepalived and the VIP is served again.
    let pid = keepalived_pid().expect("keepalived's pid file");
    ns_ok("rvs-director", &["kill", "-9", &pid]);
    rvsd.wait_for_log("vrrp: keepalived --vrrp restarted", Duration::from_secs(5));
    let start = Instant::now();
    while keepalived_pid().as_deref() == Some(pid.as_str()) {
        assert!(start.elapsed() < Duration::from_secs(5), "a new keepalived writes its pid");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(reached(Duration::from_secs(10)).is_some(), "VIP served again:\n{}", rvsd.output());
    assert_eq!(curl("http://10.0.2.150/").trim().split(' ').next(), Some("Web"));

    // rvsd stops keepalived with it.
    let pid = keepalived_pid().expect("keepalived's pid file");
    let (status, _) = rvsd.terminate();
    assert!(status.success(), "{}", rvsd.output());
    assert!(rvsd.output().contains("vrrp: keepalived stopped"), "{}", rvsd.output());
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "keepalived {pid} still runs");
    let _ = std::fs::remove_file(kconf);
}
