//! SYN proxy in the TOML file: `synproxy = true` on a `[[service]]`; the core's refusals
//! (UDP, route/tunnel real servers) at their key and line; a reload editing the service.

mod config_common;

use config_common::{err, ok, BASE};
use control::config::ServiceDecl;
use control::ipvsadm::{parse, Command};
use control::services::{self, BuildError, Changes};
use rvs_core::service::{Config, ConfigError, FwdMethod};

#[track_caller]
fn decls(text: &str) -> Vec<ServiceDecl> {
    ok(&format!("{BASE}{text}")).services
}

/// The error for BASE plus `text` (whose first line is line 23).
#[track_caller]
fn check(text: &str, want: &str) {
    assert_eq!(err(&format!("{BASE}{text}")), want);
}

const SYN: &str = r#"[[service]]
tcp = "10.0.2.100:80"
scheduler = "rr"
synproxy = true
[[service.real_server]]
address = "10.0.3.11"
method = "masq"
[[service]]
tcp = "[2001:db8:2::100]:443"
laddrs = ["2001:db8:3::200"]
synproxy = true
toa = true
[[service.real_server]]
address = "[2001:db8:3::11]:443"
method = "fullnat"
"#;

#[test]
fn synproxy_service_equals_what_rvsadm_builds() {
    let d = decls(SYN);
    assert!(d[0].spec.synproxy && d[1].spec.synproxy);
    assert!(!decls(&SYN.replace("synproxy = true\n", "")).iter().any(|d| d.spec.synproxy), "off by default");
    assert!(!decls(&SYN.replace("synproxy = true", "synproxy = false"))[0].spec.synproxy);
    let mut want: Vec<ServiceDecl> = Vec::new();
    for l in [
        "-A -t 10.0.2.100:80 -s rr --synproxy",
        "-a -t 10.0.2.100:80 -r 10.0.3.11:80 -m",
        "-A -t [2001:db8:2::100]:443 -j enable --toa",
        "-a -t [2001:db8:2::100]:443 -r [2001:db8:3::11]:443 --fullnat",
    ] {
        match parse(&l.split_whitespace().map(String::from).collect::<Vec<_>>()).unwrap() {
            Command::AddService(spec, _) => want.push(ServiceDecl { spec, dests: vec![], laddrs: vec![] }),
            Command::AddServer { service, dest, .. } => {
                want.iter_mut().find(|s| s.spec.key == service).unwrap().dests.push(dest)
            }
            c => panic!("{c:?}"),
        }
    }
    want[1].laddrs = d[1].laddrs.clone();
    assert_eq!(d, want);
    let c = services::build(&d, 16).unwrap();
    assert!(c.services().iter().all(|s| s.synproxy));
}

const SVC: &str = "[[service]]\ntcp = \"10.0.2.100:80\"\n"; // lines 23-24
const NEEDS_REPLIES: &str = "--synproxy needs masq or fullnat real servers: with route or tunnel the replies bypass the director, which must translate their sequence numbers";

#[test]
fn bad_values_and_refused_combinations_are_named_with_line_and_key() {
    check(
        &format!("{SVC}synproxy = \"yes\"\n"),
        "t.toml:25: service[0].synproxy: invalid type: string \"yes\", expected a boolean",
    );
    check(
        &format!("{SVC}synproxy = 1\n"),
        "t.toml:25: service[0].synproxy: invalid type: integer `1`, expected a boolean",
    );
    check(
        "[[service]]\nudp = \"10.0.2.100:53\"\nsynproxy = true\n",
        "t.toml:25: service[0].synproxy: synproxy is for TCP services",
    );
    let masq = "[[service.real_server]]\naddress = \"10.0.3.11\"\nmethod = \"masq\"\n"; // lines 26-28
    for m in ["route", "dr", "tunnel", "ipip"] {
        check(
            &format!(
                "{SVC}synproxy = true\n{masq}[[service.real_server]]\naddress = \"10.0.3.12\"\nmethod = \"{m}\"\n"
            ),
            &format!("t.toml:31: service[0].real_server[1].method: {NEEDS_REPLIES}"),
        );
    }
    // No method is route, ipvsadm's default: said at the real server's table.
    check(
        &format!("{SVC}synproxy = true\n[[service.real_server]]\naddress = \"10.0.3.11\"\n"),
        &format!(
            "t.toml:26: service[0].real_server[0].method: {NEEDS_REPLIES} (no method given: route, ipvsadm's default)"
        ),
    );
}

/// Turning the SYN proxy on or off edits the service in place (real servers keep their
/// ids); it may come on in the same reload that turns route servers into masq ones.
#[test]
fn reload_edits_the_service() {
    let mut live = Config::new(16);
    let plain = SYN.replace("synproxy = true\n", "");
    services::apply(&mut live, &decls(&plain)).unwrap();
    let id = live.services()[0].dests[0].id;
    let ch = services::apply(&mut live, &decls(SYN)).unwrap();
    assert_eq!(ch, Changes { services_edited: 2, ..Changes::default() });
    assert!(live.services().iter().all(|s| s.synproxy));
    assert_eq!(live.services()[0].dests[0].id, id, "the real server keeps its id");
    assert!(services::apply(&mut live, &decls(SYN)).unwrap().is_empty(), "an unchanged file changes nothing");

    // Off with the servers turned route, then on again with them masq.
    let routed = plain.replace("method = \"masq\"", "method = \"route\"");
    let ch = services::apply(&mut live, &decls(&routed)).unwrap();
    assert_eq!((ch.services_edited, ch.dests_edited), (2, 1));
    assert_eq!(live.services()[0].dests[0].fwd, FwdMethod::Route);
    let ch = services::apply(&mut live, &decls(SYN)).unwrap();
    assert_eq!((ch.services_edited, ch.dests_edited), (2, 1));
    assert!(live.services()[0].synproxy);
    assert_eq!(live.services()[0].dests[0].fwd, FwdMethod::Masq);

    // On while a route server stays: refused at that server, nothing changed.
    let mut off = Config::new(16);
    services::apply(&mut off, &decls(&routed)).unwrap();
    let before = off.clone();
    let mut bad = decls(SYN); // (the file itself would be refused)
    bad[0].dests[0].fwd = FwdMethod::Route;
    let e = services::apply_located(&mut off, &bad).unwrap_err();
    assert_eq!(e, BuildError { service: 0, real_server: Some(0), error: ConfigError::SynproxyNeedsReplies });
    assert_eq!(format!("{:?}", off.services()), format!("{:?}", before.services()));
}
