//! `virtual_server_group` and `virtual_server group NAME`: one service per address and
//! port, as keepalived 2.2.7 installs them in IPVS, with the same real servers.

mod keepalived_common;

use control::keepalived::{self, ServiceChecks};
use keepalived_common::{file, has, temp, v4, v6};
use rvs_core::addr::Protocol;
use rvs_core::service::{FwdMethod, Persistence, ServiceDef, ServiceKey};

fn tcp(addr: rvs_core::addr::Addr, port: u16) -> ServiceKey {
    ServiceKey::Proto { proto: Protocol::Tcp, addr, port }
}

#[test]
fn a_group_is_one_service_per_address_and_port() {
    let c = keepalived::config_test(&file("group.conf")).expect("clean");
    let keys: Vec<ServiceKey> = c.services.iter().map(|s| s.spec.key).collect();
    let web = ["10.0.2.100", "10.0.2.101", "10.0.2.102", "10.0.2.110", "10.0.2.111", "10.0.2.120", "10.0.2.121"];
    let mut want: Vec<ServiceKey> = web.iter().map(|a| tcp(v4(a), 80)).collect();
    want.extend([tcp(v6("2001:db8:2::100"), 443), tcp(v6("2001:db8:2::101"), 443)]);
    assert_eq!(keys, want);
    for (i, s) in c.services[..7].iter().enumerate() {
        assert_eq!(s.spec.scheduler, "wrr");
        let d: Vec<_> = s.dests.iter().map(|d| (d.addr, d.port, d.fwd, d.weight)).collect();
        // DR takes the member's port; a NAT server without one goes to it (IPVS does).
        assert_eq!(d, [(v4("10.0.3.11"), 80, FwdMethod::Route, 2), (v4("10.0.3.12"), 80, FwdMethod::Masq, 1)]);
        assert_eq!(c.checks[i].group.as_deref(), Some("WEB"));
        assert_eq!(c.checks[i].same_checks_as, if i == 0 { None } else { Some(0) });
        assert_eq!(c.places[i].line, 2);
        assert_eq!(c.checks[i].real_servers, c.checks[0].real_servers, "the same checkers");
    }
    assert_eq!(c.services[8].dests[0].port, 8443);
    assert_eq!(c.checks[8].same_checks_as, Some(7));
    assert_eq!((c.checks[7].same_checks_as, c.places[7].line), (None, 28));
}

/// Seed 000's virtual server over three VIPs: each service is seed 000's.
#[test]
fn seed000_through_a_group_matches_seed000() {
    let one = keepalived::config_test(&file("seed000_retry.conf")).expect("clean");
    let c = keepalived::config_test(&file("seed000_group.conf")).expect("clean");
    assert_eq!(c.services.len(), 3);
    for (i, addr) in ["10.0.2.100", "10.0.2.101", "10.0.2.102"].into_iter().enumerate() {
        let mut want: ServiceDef = one.services[0].clone();
        want.spec.key = tcp(v4(addr), 80);
        assert_eq!(c.services[i], want);
        let want =
            ServiceChecks { group: Some("LAB".into()), same_checks_as: (i > 0).then_some(0), ..one.checks[0].clone() };
        assert_eq!(c.checks[i], want);
    }
}

#[test]
fn group_errors_name_the_entry() {
    let e = keepalived::load(&file("range_not_greater.conf")).expect_err("range");
    assert!(
        e.to_string().ends_with(
            "range_not_greater.conf:2: Address range end is not greater than address range start - 10.0.2.100-100"
        ),
        "{e}"
    );
    let e = keepalived::load(&file("group_empty.conf")).expect_err("empty");
    assert!(e.to_string().ends_with("group_empty.conf:1: virtual server group WEB has no entries"), "{e}");
    for (entry, why) in [
        ("10.0.0.0/16 80", "10.0.0.0/16 is 65536 addresses; rvs takes at most 1024 services"),
        ("10.0.2.1/24 80", "Address mask bits not empty - 10.0.2.1/24"),
        ("10.0.2.9-10.0.2.1 80", "Address range end is less than address range start"),
        ("10.0.2.9-300 80", "end '300' too large"),
        ("2001:db8::1-2001:db8:1::1 80", "must differ in its last 16 bits only"),
        ("10.0.2.9 99999", "Invalid virtual server group IP address 10.0.2.9 port 99999"),
        ("fwmark 5 inet7", "fwmark '5' family inet7 unknown"),
        ("10.0.2.9 80\n    10.0.2.8-9 80", ":3: virtual_server_group G: 10.0.2.9:80 is already a member (line 2)"),
    ] {
        let p = temp("group-entry", &format!("virtual_server_group G {{\n    {entry}\n}}\n"));
        let e = keepalived::load(&p).expect_err(entry).to_string();
        assert!(e.contains(why) && e.starts_with(&format!("{}:", p.display())), "{entry}: {e}");
        let _ = std::fs::remove_file(p);
    }
}

/// A member without a port makes the whole virtual server persistent, as keepalived does.
#[test]
fn a_portless_member_makes_the_service_persistent() {
    let c = keepalived::load(&file("zero_port.conf")).expect("loads with a warning");
    assert!(has(&c.warnings, 4, "zero port only valid for persistent services - setting"), "{:?}", c.warnings);
    assert_eq!(c.services[0].spec.key, tcp(v4("10.0.2.100"), 0));
    assert_eq!(c.services[0].spec.persistence, Some(Persistence { timeout_s: 360, prefix: 32 }));
}
