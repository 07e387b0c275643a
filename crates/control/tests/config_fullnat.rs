//! FullNAT in the TOML file: `laddrs`, `proxy_protocol`, `toa` on a `[[service]]`,
//! `method = "fullnat"` on its real servers; errors at their key and line; a reload
//! applying only the difference in local addresses.

mod config_common;

use config_common::{err, ok, BASE};
use control::config::ServiceDecl;
use control::ipvsadm::{parse, Command};
use control::services::{self, Changes};
use rvs_core::addr::Addr;
use rvs_core::service::{Config, FwdMethod, ProxyProtocol};

#[track_caller]
fn decls(text: &str) -> Vec<ServiceDecl> {
    ok(&format!("{BASE}{text}")).services
}

/// The error for BASE plus `text` (whose first line is line 23).
#[track_caller]
fn check(text: &str, want: &str) {
    assert_eq!(err(&format!("{BASE}{text}")), want);
}

const FNAT: &str = r#"[[service]]
tcp = "10.0.2.100:80"
scheduler = "rr"
laddrs = ["10.0.3.200", "10.0.3.201"]
proxy_protocol = "v2"
[[service.real_server]]
address = "10.0.3.11:8080"
method = "fullnat"
[[service]]
tcp = "[2001:db8:2::100]:443"
laddrs = ["2001:db8:3::200"]
toa = true
[[service.real_server]]
address = "[2001:db8:3::11]:443"
method = "FNAT"
weight = 2
"#;

fn a(s: &str) -> Addr {
    Addr::from(s.parse::<std::net::IpAddr>().unwrap())
}

/// The table and the rvsadm commands that say the same build one value of core's model.
#[test]
fn fullnat_service_equals_what_rvsadm_builds() {
    let d = decls(FNAT);
    assert_eq!(d[0].laddrs, vec![a("10.0.3.200"), a("10.0.3.201")]);
    assert_eq!((d[0].spec.proxy_protocol, d[0].spec.toa), (Some(ProxyProtocol::V2), false));
    assert_eq!((d[1].spec.proxy_protocol, d[1].spec.toa), (None, true));
    assert_eq!(d[1].dests[0].fwd, FwdMethod::FullNat);
    let lines = [
        "-A -t 10.0.2.100:80 -s rr --proxy-protocol v2",
        "-a -t 10.0.2.100:80 -r 10.0.3.11:8080 --fullnat",
        "--add-laddr -t 10.0.2.100:80 -z 10.0.3.200",
        "--add-laddr -t 10.0.2.100:80 -z 10.0.3.201",
        "-A -t [2001:db8:2::100]:443 --toa",
        "-a -t [2001:db8:2::100]:443 -r [2001:db8:3::11]:443 --fullnat -w 2",
        "--add-laddr -t [2001:db8:2::100]:443 -z 2001:db8:3::200",
    ];
    let mut want: Vec<ServiceDecl> = Vec::new();
    for l in lines {
        match parse(&l.split_whitespace().map(String::from).collect::<Vec<_>>()).unwrap() {
            Command::AddService(spec, _) => want.push(ServiceDecl { spec, dests: vec![], laddrs: vec![] }),
            Command::AddServer { service, dest, .. } => {
                want.iter_mut().find(|s| s.spec.key == service).unwrap().dests.push(dest)
            }
            Command::AddLaddr { service, laddr } => {
                want.iter_mut().find(|s| s.spec.key == service).unwrap().laddrs.push(Addr::from(laddr))
            }
            c => panic!("{c:?}"),
        }
    }
    assert_eq!(d, want);
    // The model takes them as the file gives them.
    let c = services::build(&d, 16).unwrap();
    assert_eq!(c.services()[0].laddrs, d[0].laddrs);
    assert!(c.services()[1].toa);
}

const SVC: &str = "[[service]]\ntcp = \"10.0.2.100:80\"\n"; // lines 23-24

#[test]
fn bad_values_are_named_with_line_and_key() {
    let cases = [
        ("laddrs = [\"10.0.3.200\", \"10.0.3.x\"]\n", "t.toml:25: service[0].laddrs[1]: '10.0.3.x' is not an IP address"),
        ("laddrs = [\"10.0.3.200/24\"]\n", "t.toml:25: service[0].laddrs[0]: '10.0.3.200/24' is not an IP address"),
        ("laddrs = [\"2001:db8::1\"]\n", "t.toml:25: service[0].laddrs[0]: 2001:db8::1 is IPv6, the service is IPv4"),
        (
            "laddrs = [\"10.0.3.200\", \"10.0.3.200\"]\n",
            "t.toml:25: service[0].laddrs[1]: duplicate local address 10.0.3.200 (also laddrs[0])",
        ),
        ("laddrs = [\"0.0.0.0\"]\n", "t.toml:25: service[0].laddrs[0]: 0.0.0.0 cannot be a local address"),
        ("laddrs = []\n", "t.toml:25: service[0].laddrs: an empty list: give addresses or leave it out"),
        ("proxy_protocol = \"v3\"\n", "t.toml:25: service[0].proxy_protocol: 'v3' is not a PROXY protocol version (v1 or v2)"),
        (
            "proxy_protocol = \"v2-insecure\"\n",
            "t.toml:25: service[0].proxy_protocol: 'v2-insecure' (passing on a header the client sent) is not supported; use v1 or v2",
        ),
        ("toa = \"yes\"\n", "t.toml:25: service[0].toa: invalid type: string \"yes\", expected a boolean"),
        (
            "laddrs = [\"10.0.3.200\"]\n[[service.real_server]]\naddress = \"10.0.3.11\"\nmethod = \"teleport\"\n",
            "t.toml:28: service[0].real_server[0].method: unknown method 'teleport' (masq/nat, route/dr/gatewaying, tunnel/ipip/tun, fullnat/fnat)",
        ),
        (
            "[[service.real_server]]\naddress = \"10.0.3.11\"\nmethod = \"fullnat\"\n",
            "t.toml:27: service[0].real_server[0].method: a fullnat real server needs the service's local addresses: laddrs = [\"10.0.3.200\", ...]",
        ),
    ];
    for (body, want) in cases {
        check(&format!("{SVC}{body}"), want);
    }
    // TOA and PROXY protocol are for TCP (core's rule, put at the key).
    check(
        "[[service]]\nudp = \"10.0.2.100:53\"\ntoa = true\n",
        "t.toml:25: service[0].toa: toa is for TCP services (a UDP service takes proxy_protocol = \"v2\")",
    );
    check(
        "[[service]]\nudp = \"10.0.2.100:53\"\nproxy_protocol = \"v1\"\n",
        "t.toml:25: service[0].proxy_protocol: proxy_protocol = \"v1\" is for TCP services (a UDP service takes proxy_protocol = \"v2\")",
    );
}

fn laddrs(c: &Config) -> Vec<Addr> {
    c.services()[0].laddrs.clone()
}

/// A reload applies the difference: addresses that stay are not touched (nor is their
/// order), gone ones are deleted, new ones appended; TOA and PROXY protocol edit the
/// service in place, keeping its real servers' ids.
#[test]
fn reload_applies_the_difference_in_local_addresses() {
    let mut live = Config::new(16);
    let ch = services::apply(&mut live, &decls(FNAT)).unwrap();
    assert_eq!((ch.services_added, ch.dests_added, ch.laddrs_added), (2, 2, 3));
    assert!(ch.to_string().ends_with("; local addresses: 3 added, 0 deleted"), "{ch}");
    assert!(services::apply(&mut live, &decls(FNAT)).unwrap().is_empty(), "an unchanged file changes nothing");
    let id = live.services()[0].dests[0].id;

    let moved = FNAT.replace("[\"10.0.3.200\", \"10.0.3.201\"]", "[\"10.0.3.202\", \"10.0.3.201\"]");
    let ch = services::apply(&mut live, &decls(&moved)).unwrap();
    assert_eq!(ch, Changes { laddrs_added: 1, laddrs_deleted: 1, ..Changes::default() });
    assert_eq!(laddrs(&live), vec![a("10.0.3.201"), a("10.0.3.202")]);

    let reordered = FNAT.replace("[\"10.0.3.200\", \"10.0.3.201\"]", "[\"10.0.3.201\", \"10.0.3.202\"]");
    assert!(services::apply(&mut live, &decls(&reordered)).unwrap().is_empty(), "order alone is no change");

    let plain = reordered.replace("proxy_protocol = \"v2\"\n", "toa = true\n");
    let ch = services::apply(&mut live, &decls(&plain)).unwrap();
    assert_eq!(ch, Changes { services_edited: 1, ..Changes::default() });
    assert_eq!((live.services()[0].toa, live.services()[0].proxy_protocol), (true, None));
    assert_eq!(live.services()[0].dests[0].id, id, "the real server keeps its id");
    assert_eq!(laddrs(&live), vec![a("10.0.3.201"), a("10.0.3.202")]);

    // The file's services gone: their local addresses counted with them.
    let ch = services::apply(&mut live, &[]).unwrap();
    assert_eq!((ch.services_deleted, ch.dests_deleted, ch.laddrs_deleted), (2, 2, 3));
}
