//! FullNAT in keepalived.conf, in the spelling of DPVS's keepalived fork:
//! `local_address_group`, `laddr_group_name`, `lb_kind`/`lvs_method FNAT`,
//! `proxy_protocol`; TOA as DPVS's data path decides it.

mod keepalived_common;

use control::keepalived;
use keepalived_common::{file, temp, v4, v6};
use rvs_core::addr::Protocol;
use rvs_core::service::{FwdMethod, ProxyProtocol, ServiceKey};

#[test]
fn dpvs_file_builds_local_addresses_toa_and_proxy_protocol() {
    let c = keepalived::config_test(&file("dpvs_fnat.conf")).expect("no warnings");
    assert_eq!(c.services.len(), 4, "two group members, the IPv6 one, the UDP one");
    let g1 = [v4("10.0.3.200"), v4("10.0.3.201"), v4("10.0.3.202")];
    for (i, vip) in ["10.0.2.100", "10.0.2.101"].into_iter().enumerate() {
        let s = &c.services[i];
        assert_eq!(s.spec.key, ServiceKey::Proto { proto: Protocol::Tcp, addr: v4(vip), port: 80 });
        assert_eq!(s.laddrs, g1, "{vip}: the group's addresses, range expanded, in order");
        assert!(s.spec.toa, "FullNAT TCP without PROXY protocol: TOA, as DPVS");
        assert_eq!(s.spec.proxy_protocol, None);
        let d: Vec<_> = s.dests.iter().map(|d| (d.port, d.fwd, d.weight)).collect();
        assert_eq!(d, [(8080, FwdMethod::FullNat, 100), (8080, FwdMethod::FullNat, 100)], "FullNAT keeps RS ports");
    }
    let s6 = &c.services[2];
    assert_eq!(s6.laddrs, [v6("2001:db8:3::200")]);
    assert_eq!((s6.spec.proxy_protocol, s6.spec.toa), (Some(ProxyProtocol::V2), false), "V2 read without case");
    assert_eq!(s6.dests[0].fwd, FwdMethod::FullNat, "lvs_method FNAT on the real server");
    let udp = &c.services[3];
    assert_eq!(udp.spec.key, ServiceKey::Proto { proto: Protocol::Udp, addr: v4("10.0.2.102"), port: 53 });
    assert_eq!((udp.spec.toa, udp.laddrs.len()), (false, 3), "TOA is a TCP option");
    // The model takes them: services::build ran in load (check_together).
    let built = control::services::build(&c.services, 64).unwrap();
    assert_eq!(built.services()[2].laddrs, s6.laddrs);
}

/// keepalived 2.2.7 would refuse FNAT; rvs refuses what DPVS's fork would build badly.
#[test]
fn fullnat_mistakes_name_file_and_line() {
    for (name, why) in [
        ("fnat_laddr_group_missing.conf", ":9: laddr_group_name laddr_g2: no local_address_group laddr_g2 is defined"),
        (
            "fnat_laddr_family.conf",
            ":10: laddr_group_name mixed: 2001:db8:3::200 (line 3) is not of the virtual server's address family",
        ),
    ] {
        let e = keepalived::load(&file(name)).expect_err(name).to_string();
        assert!(e.contains(&format!("{name}{why}")), "{name}: {e}");
    }
    let vs = |top: &str, body: &str| {
        format!(
            "{top}virtual_server 10.0.2.100 80 {{\n    lb_algo rr\n    protocol TCP\n    lb_kind FNAT\n{body}    \
             real_server 10.0.3.11 80 {{\n    }}\n}}\n"
        )
    };
    let g = "local_address_group L {\n    10.0.3.200\n}\n"; // lines 1-3; the virtual server at 4
    for (name, text, why) in [
        (
            "pp-v3",
            vs(g, "    laddr_group_name L\n    proxy_protocol v3\n"),
            ":9: proxy_protocol v3: unknown PROXY protocol version",
        ),
        (
            "pp-insecure",
            vs(g, "    laddr_group_name L\n    proxy_protocol v2-insecure\n"),
            ":9: proxy_protocol v2-insecure: rvs does not pass on a client's PROXY header",
        ),
        (
            "pp-udp",
            vs(g, "    laddr_group_name L\n    proxy_protocol v1\n").replace("protocol TCP", "protocol UDP"),
            ":9: proxy_protocol v1 is for TCP virtual servers (a UDP one takes v2)",
        ),
        (
            "group-twice",
            vs(&format!("{g}{g}"), "    laddr_group_name L\n"),
            ":4: local_address_group L is already defined at ",
        ),
        (
            "dup-addr",
            vs("local_address_group L {\n    10.0.3.200-201\n    10.0.3.201\n}\n", ""),
            ":3: local_address_group L: 10.0.3.201 is already listed (line 2)",
        ),
        ("empty", vs("local_address_group L {\n}\n", ""), ":1: local_address_group L has no addresses"),
        (
            "bad-addr",
            vs("local_address_group L {\n    10.0.3.x\n}\n", ""),
            ":2: Invalid local address group IP address 10.0.3.x",
        ),
        (
            "bad-range",
            vs("local_address_group L {\n    10.0.3.200-1x\n}\n", ""),
            ":2: Local address group range '10.0.3.200-1x' is not a number",
        ),
        (
            "two-words",
            vs("local_address_group L {\n    10.0.3.200 dpdk0 extra\n}\n", ""),
            ":2: local_address_group L: an entry is ADDRESS [IFNAME]",
        ),
        ("no-name", vs("local_address_group {\n    10.0.3.200\n}\n", ""), ":1: local_address_group needs a name"),
    ] {
        let p = temp(name, &text);
        let e = keepalived::load(&p).expect_err(name).to_string();
        assert!(e.contains(&format!("{}{why}", p.display())), "{name}: {e}");
        let _ = std::fs::remove_file(p);
    }
    // proxy_protocol disable is none; a later laddr_group_name replaces an earlier one.
    let p = temp("pp-disable", &vs(g, "    laddr_group_name X\n    laddr_group_name L\n    proxy_protocol disable\n"));
    let c = keepalived::config_test(&p).expect("clean");
    assert_eq!((c.services[0].spec.proxy_protocol, c.services[0].spec.toa), (None, true));
    let _ = std::fs::remove_file(p);
}

/// A NAT virtual server may name a local address group (DPVS adds the addresses); it
/// gets them, and no TOA.
#[test]
fn a_nat_virtual_server_with_local_addresses_has_no_toa() {
    let p = temp(
        "nat-laddr",
        "local_address_group L {\n    10.0.3.200\n}\nvirtual_server 10.0.2.100 80 {\n    lb_algo rr\n    protocol TCP\n    \
         lb_kind NAT\n    laddr_group_name L\n    real_server 10.0.3.11 80 {\n    }\n}\n",
    );
    let c = keepalived::config_test(&p).expect("clean");
    assert_eq!((c.services[0].laddrs.len(), c.services[0].spec.toa), (1, false));
    let _ = std::fs::remove_file(p);
}
