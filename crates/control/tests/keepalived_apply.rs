//! `[control] keepalived` and the configuration's services: the TOML's `[[service]]`s and
//! keepalived.conf's virtual servers applied together (control::keepalived::apply, the
//! call rvsd makes at start and on SIGHUP), rvsadm's services left alone.

mod config_common;
mod keepalived_common;

use std::path::{Path, PathBuf};

use config_common::{edit, err, BASE};
use control::config;
use control::keepalived;
use keepalived_common::{file, temp, v4};
use rvs_core::addr::Protocol;
use rvs_core::service::{Config as Model, Origin, ServiceKey};

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Proto { proto: Protocol::Tcp, addr: v4(addr), port }
}

/// BASE with a TOML service on 10.0.2.100:443 and `keepalived` naming `k`.
fn cfg(k: &Path) -> config::Config {
    let text = format!(
        "{BASE}\n[control]\nkeepalived = {k:?}\n\n[[service]]\ntcp = \"10.0.2.100:443\"\n\n\
         [[service.real_server]]\naddress = \"10.0.3.11\"\nmethod = \"masq\"\n"
    );
    config::parse(&text, Path::new("/etc/rvs/rvs.toml")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_keepalived_key_is_a_path_from_the_tomls_directory() {
    let c = cfg(Path::new("keepalived.conf"));
    assert_eq!(c.control.keepalived, Some(PathBuf::from("/etc/rvs/keepalived.conf")));
    assert_eq!(c.service_lines, [27]);
    assert_eq!(cfg(Path::new("/etc/keepalived/k.conf")).control.keepalived, Some("/etc/keepalived/k.conf".into()));
    let e = err(&edit(BASE, "[workers]", "[control]\nkeepalived = \" \"\n\n[workers]"));
    assert!(e.starts_with("t.toml:22: control.keepalived: names no file"), "{e}");
    // No key, no file.
    let none = config::parse(BASE, Path::new("t.toml")).unwrap();
    assert_eq!(keepalived::load_for(&none), Ok(None));
}

#[test]
fn toml_and_keepalived_services_apply_together_and_rvsadms_stay() {
    let c = cfg(&file("seed000_retry.conf"));
    let k = keepalived::load_for(&c).expect("loads").expect("named");
    let mut live = Model::new(64);
    control::admin::restore(&mut live, "-A -t 10.0.2.101:80 -s wlc\n").unwrap();
    let ch = keepalived::apply(&mut live, &c, &k.services).expect("applies");
    assert_eq!((ch.services_added, ch.dests_added), (2, 3));
    let keys: Vec<ServiceKey> = live.services().iter().map(|s| s.key).collect();
    assert_eq!(keys, [tcp("10.0.2.101", 80), tcp("10.0.2.100", 443), tcp("10.0.2.100", 80)]);
    assert_eq!(live.origin(&tcp("10.0.2.100", 80)), Origin::File);
    assert_eq!(live.origin(&tcp("10.0.2.101", 80)), Origin::Admin);

    // A health checker's effective list: one real server down.
    let mut effective = k.services.clone();
    effective[0].dests.remove(0);
    let ch = keepalived::apply(&mut live, &c, &effective).expect("applies");
    assert_eq!((ch.dests_deleted, ch.services_edited), (1, 0));
    // keepalived.conf no longer names the virtual server: it goes, the others stay.
    let ch = keepalived::apply(&mut live, &c, &[]).expect("applies");
    assert_eq!(ch.services_deleted, 1);
    assert_eq!(live.services().len(), 2);
}

#[test]
fn a_service_in_both_files_is_refused_naming_both() {
    let k = temp("both", "virtual_server 10.0.2.100 443 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 10.0.3.11 443 {\n    }\n}\n");
    let c = cfg(&k);
    let e = keepalived::load_for(&c).expect_err("declared twice").to_string();
    let want = format!(
        "{}:1: TCP 10.0.2.100:443 is also declared in /etc/rvs/rvs.toml:27 (service[0]); declare it in one file",
        k.display()
    );
    assert_eq!(e, want);
    // apply refuses it too (for a list that did not come through load_for) and changes nothing.
    let loaded = keepalived::load(&k).expect("the file alone is fine");
    let mut live = Model::new(64);
    let e = keepalived::apply(&mut live, &c, &loaded.services).expect_err("declared twice");
    assert_eq!(e, format!("{}: virtual server TCP 10.0.2.100:443: Service already exists", k.display()));
    assert!(live.services().is_empty());
    let _ = std::fs::remove_file(k);
}

#[test]
fn a_bad_keepalived_conf_is_its_own_error() {
    let k = temp("bad", "virtual_server 10.0.2.100 80 {\n    persistence_engine sip\n}\n");
    let e = keepalived::load_for(&cfg(&k)).expect_err("persistence_engine").to_string();
    assert!(e.starts_with(&format!("{}:2: persistence_engine sip", k.display())), "{e}");
    let _ = std::fs::remove_file(k);
}
