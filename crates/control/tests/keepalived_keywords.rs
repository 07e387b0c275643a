//! Every virtual_server and real_server keyword read as keepalived 2.2.7 reads it
//! (keywords.conf passes `keepalived -t`; keepalived_conf.rs checks the verdicts).

mod keepalived_common;

use control::keepalived;
use keepalived_common::{file, has, temp, v4};
use rvs_core::addr::Protocol;
use rvs_core::service::{FwdMethod, Persistence, SchedFlags, ServiceKey};

#[test]
fn every_keyword_means_what_keepalived_reads() {
    let c = keepalived::config_test(&file("keywords.conf")).expect("clean");
    let (s, k) = (&c.services[0], &c.checks[0]);
    assert_eq!(s.spec.key, ServiceKey::Proto { proto: Protocol::Udp, addr: v4("10.0.2.100"), port: 53 });
    assert_eq!(s.spec.scheduler, "mh");
    assert_eq!(s.spec.flags, SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2 | SchedFlags::FLAG3));
    assert!(s.spec.one_packet);
    assert_eq!(s.spec.persistence, Some(Persistence { timeout_s: 600, prefix: 24 }));
    let d: Vec<_> = s.dests.iter().map(|d| (d.addr, d.port, d.fwd, d.weight, d.u_threshold, d.l_threshold)).collect();
    assert_eq!(
        d,
        [
            // The virtual server's `weight 4` is the default of its real servers.
            (v4("10.0.3.11"), 5353, FwdMethod::Masq, 4, 100, 50),
            (v4("10.0.3.12"), 53, FwdMethod::Tunnel, 0, 0, 0),
        ]
    );
    assert!(k.ha_suspend && k.alpha && k.omega && k.inhibit_on_failure && k.sorry_server_inhibit);
    assert_eq!((k.quorum, k.hysteresis, k.smtp_alert), (2, 1, Some(false)));
    assert_eq!(k.quorum_up.as_deref(), Some("/usr/local/bin/up"));
    assert_eq!(k.virtualhost.as_deref(), Some("dns.example.com"));
    // A sorry server without a port takes the service's.
    assert_eq!(k.sorry_server, Some(("10.0.3.99".parse().unwrap(), 53)));
    assert_eq!(k.sorry_server_fwd, Some(FwdMethod::Masq));
    let (r0, r1) = (&k.real_servers[0], &k.real_servers[1]);
    assert_eq!((r0.inhibit_on_failure, r0.alpha, r0.smtp_alert), (false, false, Some(true)));
    assert_eq!(r0.virtualhost.as_deref(), Some("rs1.example.com"));
    assert_eq!(r0.notify_down.as_deref(), Some("/usr/local/bin/rs_down 1"));
    // Not set on the real server: the virtual server's.
    assert_eq!((r1.inhibit_on_failure, r1.alpha, r1.smtp_alert), (true, true, None));

    let s = &c.services[1];
    assert_eq!(s.spec.flags, SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2));
    // persistence_granularity alone makes the service persistent (360 s), as keepalived.
    assert_eq!(s.spec.persistence, Some(Persistence { timeout_s: 360, prefix: 16 }));
    assert_eq!((s.dests[0].fwd, s.dests[0].port), (FwdMethod::Route, 443));
}

/// sh-/mh- flags look at the scheduler set so far (keepalived's lbflags_handler).
#[test]
fn a_flag_before_its_scheduler_is_ignored_with_a_warning() {
    let c = keepalived::load(&file("flag_wrong_scheduler.conf")).expect("loads");
    assert!(has(&c.warnings, 2, "sh-port only applies to sh scheduler - ignoring"), "{:?}", c.warnings);
    assert_eq!((c.services[0].spec.scheduler.as_str(), c.services[0].spec.flags), ("sh", SchedFlags(0)));
}

#[test]
fn keepalived_fix_ups_are_warnings() {
    let c = keepalived::load(&file("dr_port_mismatch.conf")).expect("loads");
    assert!(has(&c.warnings, 5, "real server 10.0.3.11:8080 ports don't match - resetting"), "{:?}", c.warnings);
    assert_eq!(c.services[0].dests[0].port, 80);
    let c = keepalived::load(&file("no_real_servers.conf")).expect("loads");
    assert!(has(&c.warnings, 1, "has no real servers - ignoring"), "{:?}", c.warnings);
    assert!(c.services.is_empty() && c.checks.is_empty() && c.places.is_empty());
    let c = keepalived::load(&file("quorum_over_weight.conf")).expect("loads");
    assert!(
        has(&c.warnings, 1, "quorum 3 for Virtual server [10.0.2.100]:80 exceeds total weight"),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.checks[0].quorum, 1);
}

/// A real server takes the virtual server's method as it is when the block is read.
#[test]
fn lb_kind_applies_to_the_real_servers_that_follow() {
    let p = temp(
        "late-kind",
        "virtual_server 10.0.2.100 80 {\n    lb_algo rr\n    protocol TCP\n    lb_kind DR\n    \
         real_server 10.0.3.11 80 {\n    }\n    lb_kind NAT\n    real_server 10.0.3.12 8080 {\n    }\n}\n",
    );
    let c = keepalived::config_test(&p).expect("clean");
    let d: Vec<_> = c.services[0].dests.iter().map(|d| (d.port, d.fwd)).collect();
    assert_eq!(d, [(80, FwdMethod::Route), (8080, FwdMethod::Masq)]);
    let _ = std::fs::remove_file(p);
}

#[test]
fn refusals_name_the_line_and_the_reason() {
    let vs = |body: &str| format!("virtual_server 10.0.2.100 80 {{\n    lb_algo rr\n    protocol TCP\n{body}\n}}\n");
    let rs = "    real_server 10.0.3.11 80 {\n    }";
    for (name, text, why) in [
        (
            "fnat",
            vs(&format!("    lb_kind FNAT\n{rs}")),
            ":1: Virtual server [10.0.2.100]:80: lb_kind FNAT needs laddr_group_name",
        ),
        (
            "rs-fnat",
            vs("    real_server 10.0.3.11 80 {\n        lvs_method FNAT\n    }"),
            ":1: Virtual server [10.0.2.100]:80: lb_kind FNAT needs laddr_group_name",
        ),
        (
            "syn-proxy-dr",
            vs(&format!("    lb_kind DR\n    syn_proxy\n{rs}")),
            ":6: real server 10.0.3.11:80 is DR: syn_proxy needs lb_kind NAT or FNAT",
        ),
        ("gre", vs(&format!("    lb_kind TUN type gre\n{rs}")), ":4: TUN type gre: rvs tunnels with IPIP only"),
        ("csum", vs(&format!("    lb_kind TUN csum\n{rs}")), ":4: ipip tunnels do not support checksum option"),
        (
            "fwmark-bad",
            "virtual_server fwmark x {\n}\n".into(),
            ":1: virtual server fwmark 'x' must be in [0, 4294967295]",
        ),
        (
            "weight",
            vs("    real_server 10.0.3.11 80 {\n        weight 70000\n    }"),
            ":5: weight 70000: rvs takes weights 0-65535",
        ),
        ("snmp", vs(&format!("    snmp_name web\n{rs}")), ":4: snmp_name: rvs has no SNMP agent"),
        ("timeout", vs(&format!("    persistence_timeout 2678401\n{rs}")), ":4: persistence_timeout '2678401' is not"),
        ("family", vs(&format!("    ip_family inet6\n{rs}")), ":4: Virtual server specified family inet6 conflicts"),
        (
            "rs-family",
            vs("    real_server 2001:db8:3::11 80 {\n    }"),
            ":4: real server 2001:db8:3::11: its address family",
        ),
        (
            "noncontig",
            vs(&format!("    persistence_granularity 255.0.255.0\n{rs}")),
            ":4: persistence_granularity 255.0.255.0: rvs takes contiguous",
        ),
    ] {
        let p = temp(name, &text);
        let e = keepalived::load(&p).expect_err(name).to_string();
        assert!(e.contains(&format!("{}{why}", p.display())), "{name}: {e}");
        let _ = std::fs::remove_file(p);
    }
}
