//! The SYN proxy in keepalived.conf, in the spelling of DPVS's keepalived fork:
//! `syn_proxy` (no value) in a `virtual_server`; TCP with NAT or FNAT servers only.

mod keepalived_common;

use control::keepalived;
use keepalived_common::{file, has, temp};
use rvs_core::service::FwdMethod;

#[test]
fn dpvs_file_turns_the_syn_proxy_on_where_it_is_written() {
    let c = keepalived::config_test(&file("dpvs_synproxy.conf")).expect("no warnings");
    let on: Vec<_> = c.services.iter().map(|s| (s.spec.key.port(), s.spec.synproxy)).collect();
    assert_eq!(on, [(80, true), (443, true), (8080, false)]);
    assert_eq!(c.services[1].dests[0].fwd, FwdMethod::FullNat);
    assert!(c.services[1].spec.toa, "TOA as without syn_proxy");
    let built = control::services::build(&c.services, 64).unwrap();
    assert!(built.services()[0].synproxy && !built.services()[2].synproxy);
}

#[test]
fn syn_proxy_mistakes_name_file_and_line() {
    let vs = |kind: &str, body: &str| {
        format!("virtual_server 10.0.2.100 80 {{\n    lb_algo rr\n    protocol TCP\n    lb_kind {kind}\n    syn_proxy\n{body}}}\n")
    };
    let rs = "    real_server 10.0.3.11 80 {\n    }\n"; // line 6
    let why = "syn_proxy needs lb_kind NAT or FNAT: with DR or TUN the replies bypass the director, which must translate their sequence numbers";
    for (name, text, want) in [
        (
            "udp",
            vs("NAT", rs).replace("protocol TCP", "protocol UDP"),
            ":5: syn_proxy is for TCP virtual servers".into(),
        ),
        (
            "no-proto",
            vs("NAT", rs).replace("    protocol TCP\n", ""),
            ":4: syn_proxy is for TCP virtual servers".into(),
        ),
        ("dr", vs("DR", rs), format!(":6: real server 10.0.3.11:80 is DR: {why}")),
        (
            "rs-tun",
            vs("NAT", &format!("{rs}    real_server 10.0.3.12 80 {{\n        lvs_method TUN\n    }}\n")),
            format!(":8: real server 10.0.3.12:80 is TUN: {why}"),
        ),
        (
            "sorry-dr",
            vs("NAT", &format!("    sorry_server 10.0.3.99 80\n    sorry_server_lvs_method DR\n{rs}")),
            format!(":6: sorry server 10.0.3.99 is DR: {why}"),
        ),
    ] {
        let p = temp(&format!("syn-{name}"), &text);
        let e = keepalived::load(&p).expect_err(name).to_string();
        assert_eq!(e, format!("{}{want}", p.display()), "{name}");
        let _ = std::fs::remove_file(p);
    }
    // A value is ignored, as DPVS's handler does: said, and the SYN proxy is on.
    let p = temp("syn-value", &vs("NAT", rs).replace("syn_proxy\n", "syn_proxy off\n"));
    let c = keepalived::load(&p).expect("loads");
    assert!(c.services[0].spec.synproxy);
    assert!(has(&c.warnings, 5, "syn_proxy takes no value; 'off' ignored, the SYN proxy is on"), "{:?}", c.warnings);
    let _ = std::fs::remove_file(p);
}
