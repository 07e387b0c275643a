//! keepalived.conf reader: seed 000 and 002's virtual_server blocks (keywords in
//! keepalived's spelling, the lab's addresses) read as keepalived 2.2.7 reads them, and
//! `keepalived -t` on the same files as an independent oracle.

mod keepalived_common;

use std::time::Duration;

use control::keepalived::{self, CheckerKind};
use keepalived_common::{file, has, have_keepalived, keepalived_t, v4};
use rvs_core::addr::Protocol;
use rvs_core::service::{FwdMethod, Persistence, SchedFlags, ServiceKey};

#[test]
fn seed000_nb_get_retry_is_unknown_in_tcp_check() {
    let c = keepalived::load(&file("seed000.conf")).expect("loads with warnings");
    assert!(has(&c.warnings, 11, "Unknown keyword 'nb_get_retry'"), "{:?}", c.warnings);
    assert!(has(&c.warnings, 20, "Unknown keyword 'nb_get_retry'"), "{:?}", c.warnings);
    assert!(c.warnings[0].to_string().contains("seed000.conf:11: "), "{}", c.warnings[0]);
    let s = &c.services[0];
    assert_eq!(s.spec.key, ServiceKey::Proto { proto: Protocol::Tcp, addr: v4("10.0.2.100"), port: 80 });
    assert_eq!(s.spec.scheduler, "rr");
    assert_eq!(s.dests.len(), 2);
    assert_eq!((s.dests[1].addr, s.dests[1].port, s.dests[1].fwd), (v4("10.0.3.12"), 80, FwdMethod::Masq));
    let ck = &c.checks[0].real_servers[0].checkers[0];
    assert_eq!(ck.kind, CheckerKind::Tcp);
    // nb_get_retry ignored: retry keeps keepalived's default 1.
    assert_eq!((ck.retry, ck.connect_timeout, ck.connect_port), (1, Duration::from_secs(3), Some(80)));
    assert_eq!(ck.delay_loop, Duration::from_secs(6));
    assert!(keepalived::config_test(&file("seed000.conf")).is_err());
    let ok = keepalived::config_test(&file("seed000_retry.conf")).expect("retry is TCP_CHECK's keyword");
    assert_eq!(ok.checks[0].real_servers[1].checkers[0].retry, 3);
}

#[test]
fn seed002_as_printed_defaults_udp_wlc_nat() {
    let c = keepalived::load(&file("seed002.conf")).expect("loads with warnings");
    let s = &c.services[0];
    assert_eq!(s.spec.key, ServiceKey::Proto { proto: Protocol::Udp, addr: v4("10.0.2.100"), port: 80 });
    assert_eq!(s.spec.scheduler, "wlc");
    assert!(s.dests.iter().all(|d| d.fwd == FwdMethod::Masq && d.weight == 1));
    let w = &c.warnings;
    assert!(has(w, 12, "nb_get_retry is deprecated"), "{w:?}");
    // The second HTTP_GET closes early: its timers land in real_server, where
    // nb_get_retry is unknown; the last '}' is one too many.
    assert!(has(w, 25, "Unknown keyword 'nb_get_retry'"), "{w:?}");
    assert!(has(w, 30, "Extra '}' found"), "{w:?}");
    assert!(has(w, 1, "no protocol set - defaulting to UDP"), "{w:?}");
    let rs = &c.checks[0].real_servers;
    let CheckerKind::Http(h) = &rs[0].checkers[0].kind else { panic!("HTTP_GET") };
    assert_eq!((h.urls[0].path.as_str(), h.urls[0].status_code.as_slice()), ("/", &[(200, 200)][..]));
    assert_eq!(rs[0].checkers[0].retry, 3);
    // Real-server timers reach its checker; HTTP's delay_before_retry default is 3.
    assert_eq!(rs[1].checkers[0].connect_timeout, Duration::from_secs(3));
    assert_eq!(rs[1].checkers[0].retry, 1);
    assert!(keepalived::config_test(&file("seed002.conf")).is_err());
}

#[test]
fn seed002_fixed_is_dr_tcp() {
    let c = keepalived::config_test(&file("seed002_fixed.conf")).expect("clean");
    let s = &c.services[0];
    assert_eq!(s.spec.key, ServiceKey::Proto { proto: Protocol::Tcp, addr: v4("10.0.2.100"), port: 80 });
    assert!(s.dests.iter().all(|d| d.fwd == FwdMethod::Route));
    let ck = &c.checks[0].real_servers[1].checkers[0];
    assert_eq!((ck.connect_timeout, ck.delay_before_retry), (Duration::from_secs(3), Duration::from_secs(3)));
}

#[test]
fn include_flags_ops_persistence_and_kept_blocks() {
    let c = keepalived::config_test(&file("full.conf")).expect("clean");
    let kept: Vec<&str> = c.kept.iter().map(|s| s.keyword()).collect();
    assert_eq!(kept, ["global_defs", "SSL", "vrrp_instance"]);
    let s = &c.services[0];
    assert_eq!(s.spec.scheduler, "sh");
    assert!(s.spec.one_packet);
    assert_eq!(s.spec.flags, SchedFlags::SH_PORT);
    assert_eq!(s.spec.persistence, Some(Persistence { timeout_s: 360, prefix: 24 }));
    assert_eq!((s.dests[0].weight, s.dests[0].fwd), (3, FwdMethod::Tunnel));
    let CheckerKind::Misc(m) = &c.checks[0].real_servers[0].checkers[0].kind else { panic!("MISC_CHECK") };
    assert_eq!((m.misc_path.as_str(), m.misc_dynamic), ("/usr/local/bin/check dns", true));
}

#[test]
fn errors_name_file_and_line() {
    let e = keepalived::load(&file("fnat.conf")).expect_err("FNAT without local addresses");
    assert!(
        e.to_string().ends_with(
            "fnat.conf:1: Virtual server [10.0.2.100]:80: lb_kind FNAT needs laddr_group_name (the local_address_group FullNAT connections leave from)"
        ),
        "{e}"
    );
    let e = keepalived::load(&file("badaddr.conf")).expect_err("bad address");
    assert!(e.to_string().contains("badaddr.conf:1: Invalid virtual server IP address/port"), "{e}");
}

/// Files keepalived 2.2.7 accepts and rvs refuses, and why: what rvs cannot serve, and
/// what keepalived would accept and then drop or misread silently.
const STRICTER: &[(&str, &str)] = &[
    ("stricter_dns_check.conf", ":6: DNS_CHECK: rvs's health checker has no DNS_CHECK"),
    ("stricter_fwmark.conf", ":1: virtual_server fwmark 1: firewall-mark services are not supported by rvs"),
    ("stricter_granularity_24.conf", ":6: Invalid IPv4 persistence_granularity specified - 24"),
    ("stricter_group_families.conf", ":5: virtual_server group WEB: the group has IPv4 and IPv6 addresses"),
    ("stricter_group_fwmark.conf", ":3: virtual_server_group WEB: fwmark 7: firewall-mark services are not supported"),
    ("stricter_group_missing.conf", ":1: virtual_server group NOPE: no virtual_server_group NOPE is defined"),
    ("stricter_group_twice.conf", ":4: virtual_server_group WEB is already defined at "),
    ("stricter_gue.conf", ":3: TUN type gue: rvs tunnels with IPIP only"),
    ("stricter_overlap.conf", ":12: TCP 10.0.2.101:80 is already a virtual server at "),
    ("stricter_persistence_engine.conf", ":5: persistence_engine sip: rvs has no persistence engines"),
    ("stricter_sctp.conf", ":4: SCTP services are not supported: rvs has no SCTP forwarding"),
    ("stricter_vs_range.conf", ":1: virtual_server 10.0.2.100-105: a range or prefix needs a virtual_server_group"),
];

/// Every test file: rvs's config test passes exactly where `keepalived -t` does, but for
/// [`STRICTER`]'s, which keepalived passes and rvs refuses with its reason, and `dpvs_*`
/// files (DPVS's keepalived fork: FNAT, local_address_group), which rvs reads and
/// keepalived 2.2.7 refuses.
#[test]
fn same_verdict_as_keepalived_config_test() {
    if !have_keepalived("same_verdict_as_keepalived_config_test") {
        return;
    }
    let dir = file("");
    let mut names: Vec<_> = std::fs::read_dir(&dir).expect("dir").filter_map(|e| e.ok()).map(|e| e.path()).collect();
    names.retain(|p| p.extension().is_some_and(|x| x == "conf"));
    names.sort();
    assert!(names.len() >= 29);
    for p in names {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let (ka_ok, ka_log) = keepalived_t(&p);
        let rvs = keepalived::config_test(&p);
        if name.starts_with("dpvs_") {
            assert!(!ka_ok, "{name}: keepalived -t now takes DPVS's keywords");
            assert!(rvs.is_ok(), "{name}: {:?}", rvs.err());
            continue;
        }
        let stricter = STRICTER.iter().find(|(n, _)| *n == name);
        assert_eq!(name.starts_with("stricter_"), stricter.is_some(), "{name}: list it in STRICTER or rename it");
        let Some((_, why)) = stricter else {
            assert_eq!(rvs.is_ok(), ka_ok, "{name}: keepalived -t: {ka_log}\nrvs: {:?}", rvs.err());
            continue;
        };
        assert!(ka_ok, "{name}: keepalived -t now fails too: {ka_log}");
        let errs = rvs.expect_err(name);
        assert!(errs.iter().any(|e| e.to_string().contains(&format!("{name}{why}"))), "{name}: {errs:?}");
    }
}

/// Seeds 000 and 002 (fixed) build exactly the services ipvsadm would be given, and
/// dpdk-config/keepalived-lab.conf (what the lab runs) is seed 000's.
#[test]
fn seed_services_are_the_expected_service_defs() {
    use rvs_core::service::{DestSpec, ServiceDef, ServiceSpec};
    let svc = |sched: &str, fwd: FwdMethod| {
        let mut spec = ServiceSpec::new(ServiceKey::Proto { proto: Protocol::Tcp, addr: v4("10.0.2.100"), port: 80 });
        spec.scheduler = sched.into();
        let rs = |a: &str| DestSpec { fwd, ..DestSpec::new(v4(a), 80) };
        ServiceDef { spec, dests: vec![rs("10.0.3.11"), rs("10.0.3.12")], laddrs: vec![] }
    };
    let nat = svc("rr", FwdMethod::Masq);
    for name in ["seed000.conf", "seed000_retry.conf"] {
        assert_eq!(keepalived::load(&file(name)).expect(name).services, std::slice::from_ref(&nat), "{name}");
    }
    let dr = svc("rr", FwdMethod::Route);
    assert_eq!(keepalived::load(&file("seed002_fixed.conf")).expect("loads").services, [dr]);
    let lab = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dpdk-config/keepalived-lab.conf");
    let lab = keepalived::config_test(&lab).expect("the lab's file passes keepalived -t's rules");
    let seed = keepalived::load(&file("seed000_retry.conf")).expect("loads");
    assert_eq!((lab.services, lab.checks), (seed.services, seed.checks));
}

/// Valid keepalived that rvs does not act on is said, not silently dropped.
#[test]
fn smtp_alert_and_ha_suspend_are_noted() {
    let dir = std::env::temp_dir().join(format!("rvs-notes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("k.conf");
    std::fs::write(
        &p,
        "virtual_server 10.0.2.100 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    smtp_alert\n    \
         ha_suspend\n    real_server 10.0.3.11 80 {\n        TCP_CHECK {\n        }\n    }\n}\n",
    )
    .unwrap();
    let k = keepalived::load(&p).unwrap();
    let notes: Vec<String> = k.notes().iter().map(|n| n.to_string()).collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].ends_with(
            "k.conf:1: smtp_alert: rvs sends no mail; transitions are logged and exported (rvs_real_server_up)"
        ),
        "{notes:?}"
    );
    assert!(notes[1].contains("ha_suspend"));
    std::fs::remove_dir_all(&dir).unwrap();
}
