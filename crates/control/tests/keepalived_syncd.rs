//! keepalived's `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] ...` in `global_defs`:
//! read with its instance's addresses and router id; the copy rvsd gives
//! `keepalived --vrrp` leaves it out and is otherwise the same configuration, as
//! `keepalived -t` (the oracle) says of both.

mod keepalived_common;

use std::net::IpAddr;

use control::keepalived::{self, syncd};
use keepalived_common::{have_keepalived, temp};

const CONF: &str = r#"global_defs {
    router_id LVS_DEVEL
    lvs_sync_daemon wan VI_1 maxlen 1400 ttl 2
    script_user root
    enable_script_security
}

vrrp_instance VI_1 {
    state MASTER
    interface wan
    virtual_router_id 51
    priority 150
    advert_int 1
    notify_master "/usr/bin/logger -t vrrp became master"
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        10.0.2.100/24 dev wan label wan:1
        10.0.3.1/24 dev lan
    }
}

virtual_server 10.0.2.100 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.3.11 80 {
        weight 1
    }
}
"#;

#[test]
fn lvs_sync_daemon_follows_its_instance() {
    let c = keepalived::config_test(&temp("syncd", CONF)).expect("no warnings");
    let d = c.sync_daemon.expect("lvs_sync_daemon read");
    assert_eq!((d.ifname.as_str(), d.instance.as_str(), d.syncid), ("wan", "VI_1", 51), "syncid: the router id");
    assert_eq!((d.maxlen, d.ttl, d.port, d.group), (1400, 2, 0, None));
    let vips: Vec<IpAddr> = vec!["10.0.2.100".parse().unwrap(), "10.0.3.1".parse().unwrap()];
    assert_eq!(d.vips, vips);
    assert_eq!(d.pos.line, 3);
    let id = keepalived::config_test(&temp("syncd-id", &CONF.replace("maxlen 1400 ttl 2", "id 7 group 224.0.0.82")))
        .expect("id and group");
    let d = id.sync_daemon.unwrap();
    assert_eq!((d.syncid, d.group), (7, Some("224.0.0.82".parse().unwrap())));
    assert!(keepalived::config_test(&temp(
        "syncd-none",
        &CONF.replace("    lvs_sync_daemon wan VI_1 maxlen 1400 ttl 2\n", "")
    ))
    .unwrap()
    .sync_daemon
    .is_none());
}

#[test]
fn lvs_sync_daemon_mistakes_name_file_and_line() {
    for (from, to, want) in [
        ("wan VI_1 maxlen 1400 ttl 2", "wan", ":3: lvs_sync_daemon needs an interface and the VRRP instance"),
        ("VI_1 maxlen", "VI_2 maxlen", ":3: lvs_sync_daemon: no vrrp_instance VI_2 is defined"),
        ("ttl 2", "ttl 300", ":3: lvs_sync_daemon: ttl 300 is not a number up to 255"),
        ("ttl 2", "group 10.0.0.1", ":3: lvs_sync_daemon: group 10.0.0.1: IPv4 multicast groups only"),
        ("ttl 2", "speed 9", ":3: lvs_sync_daemon: unknown option 'speed'"),
    ] {
        let e = keepalived::config_test(&temp("syncd-bad", &CONF.replace(from, to))).expect_err(to);
        let e = e.last().unwrap().to_string();
        assert!(e.contains(want), "{to}: {e}");
    }
}

#[test]
fn keepalived_vrrp_gets_the_file_without_lvs_sync_daemon() {
    let user = temp("syncd-user", CONF);
    let text = syncd::vrrp_text(&user).unwrap().expect("a copy");
    assert!(!text.lines().any(|l| !l.starts_with('#') && l.contains("lvs_sync_daemon")), "{text}");
    assert!(text.contains("    notify_master \"/usr/bin/logger -t vrrp became master\"\n"), "quoted again: {text}");
    // Read back, it is the same configuration but for the daemon.
    let copy = temp("syncd-copy", &text);
    let (a, b) = (keepalived::load(&user).unwrap(), keepalived::load(&copy).unwrap());
    assert_eq!(a.services, b.services);
    assert!(b.sync_daemon.is_none());
    assert_eq!(syncd::vrrp_text(&copy).unwrap(), None, "nothing to leave out: keepalived reads the file itself");
    if have_keepalived("keepalived_vrrp_gets_the_file_without_lvs_sync_daemon") {
        // keepalived -t wants the interfaces to exist: a veth pair wan, lan in a network
        // namespace of the test's own.
        for f in [&user, &copy] {
            let sh =
                format!("ip link add wan type veth peer name lan && keepalived -t --log-console -f {}", f.display());
            let out = std::process::Command::new("unshare").args(["-n", "sh", "-c", &sh]).output().expect("unshare");
            let log = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "keepalived -t on {}: {log}", f.display());
        }
    }
}
