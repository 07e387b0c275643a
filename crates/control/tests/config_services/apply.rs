//! `control::services::apply`: the live model made equal to the file's
//! services with the fewest edits, real servers keeping their ids.

use super::{decls, v4, WEB};
use control::services::{self, Changes};
use rvs_core::addr::Addr;
use rvs_core::service::{Config, ConfigError, DestId, DestSpec, FwdMethod, Persistence};

fn ids(c: &Config) -> Vec<(Addr, u16, DestId, u32)> {
    c.services().iter().flat_map(|s| s.dests.iter().map(|d| (d.addr, d.port, d.id, d.weight))).collect()
}

#[test]
fn apply_adds_from_empty_and_is_idempotent() {
    let want = decls(WEB);
    let mut live = Config::new(16);
    let ch = services::apply(&mut live, &want).unwrap();
    assert_eq!(ch, Changes { services_added: 1, dests_added: 2, ..Changes::default() });
    assert_eq!(ch.to_string(), "services: 1 added, 0 edited, 0 deleted; real servers: 2 added, 0 edited, 0 deleted");
    let before = ids(&live);
    let ch = services::apply(&mut live, &want).unwrap();
    assert!(ch.is_empty(), "{ch}");
    assert_eq!(ids(&live), before);
    // A route server declared with another port is the same server (ipvsadm).
    let dr = decls("[[service]]\ntcp = \"10.0.2.100:80\"\n[[service.real_server]]\naddress = \"10.0.3.11:8080\"\n");
    let mut live = services::build(&dr, 16).unwrap();
    assert!(services::apply(&mut live, &dr).unwrap().is_empty());
}

#[test]
fn apply_keeps_ids_across_weight_change() {
    let mut live = services::build(&decls(WEB), 16).unwrap();
    let before = ids(&live);
    let mut want = decls(WEB);
    want[0].dests[1].weight = 5;
    want[0].dests[0].u_threshold = 100;
    let ch = services::apply(&mut live, &want).unwrap();
    assert_eq!(ch, Changes { dests_edited: 2, ..Changes::default() });
    let after = ids(&live);
    assert_eq!(after.iter().map(|x| x.2).collect::<Vec<_>>(), before.iter().map(|x| x.2).collect::<Vec<_>>());
    assert_eq!(after[1].3, 5);
    assert_eq!(live.services()[0].dests[0].u_threshold, 100);
}

#[test]
fn apply_removes_and_adds_dests() {
    let mut live = services::build(&decls(WEB), 16).unwrap();
    let kept = ids(&live)[1].2;
    let mut want = decls(WEB);
    want[0].dests.remove(0);
    want[0].dests.push(DestSpec { fwd: FwdMethod::Masq, ..DestSpec::new(v4(10, 0, 3, 13), 80) });
    let ch = services::apply(&mut live, &want).unwrap();
    assert_eq!(ch, Changes { dests_added: 1, dests_deleted: 1, ..Changes::default() });
    let now = ids(&live);
    assert_eq!(now.len(), 2);
    assert!(!now.iter().any(|d| d.0 == v4(10, 0, 3, 11)), "removed dest gone");
    assert_eq!((now[0].0, now[0].2), (v4(10, 0, 3, 12), kept));
    assert_eq!(now[1].0, v4(10, 0, 3, 13));
    // A server that comes back gets its old id (IPVS's dest_trash).
    let first = services::build(&decls(WEB), 16).unwrap();
    services::apply(&mut live, &decls(WEB)).unwrap();
    assert_eq!(ids(&live).iter().find(|d| d.0 == v4(10, 0, 3, 11)).map(|d| d.2), Some(ids(&first)[0].2));
}

#[test]
fn apply_edits_service_keeping_dests() {
    let mut live = services::build(&decls(WEB), 16).unwrap();
    let before = ids(&live);
    let mut want = decls(WEB);
    want[0].spec.scheduler = "wlc".into();
    want[0].spec.persistence = Some(Persistence::default_for(false));
    let ch = services::apply(&mut live, &want).unwrap();
    assert_eq!(ch, Changes { services_edited: 1, ..Changes::default() });
    let s = &live.services()[0];
    assert_eq!((s.scheduler, s.persistence), ("wlc", Some(Persistence::default_for(false))));
    assert_eq!(ids(&live), before);
}

#[test]
fn apply_deletes_services() {
    let two = format!("{WEB}[[service]]\nudp = \"10.0.2.100:53\"\n[[service.real_server]]\naddress = \"10.0.3.11\"\n");
    let mut live = services::build(&decls(&two), 16).unwrap();
    let ch = services::apply(&mut live, &decls(WEB)).unwrap();
    assert_eq!(ch, Changes { services_deleted: 1, dests_deleted: 1, ..Changes::default() });
    assert_eq!(live.services().len(), 1);
    let ch = services::apply(&mut live, &[]).unwrap();
    assert_eq!(ch, Changes { services_deleted: 1, dests_deleted: 2, ..Changes::default() });
    assert!(live.services().is_empty());
}

#[test]
fn apply_failure_leaves_live_untouched() {
    let mut live = services::build(&decls(WEB), 16).unwrap();
    let before = format!("{:?}", live.services());
    let mut bad = decls(WEB);
    bad[0].dests[0].weight = 1; // fine
    bad[0].dests[1].weight = 70000;
    bad.insert(0, decls("[[service]]\nudp = \"10.0.2.100:53\"\n").remove(0));
    assert_eq!(services::apply(&mut live, &bad), Err(ConfigError::InvalidWeight(70000)));
    assert_eq!(format!("{:?}", live.services()), before);
    let e = services::apply_located(&mut live, &bad).unwrap_err();
    assert_eq!(e.to_string(), "service[1].real_server[1]: illegal weight specified");
    // Duplicates in the desired list are refused, not merged.
    let dup = [decls(WEB), decls(WEB)].concat();
    assert_eq!(services::apply(&mut live, &dup), Err(ConfigError::ServiceExists));
    let mut dup = decls(WEB);
    dup[0].dests[1] = dup[0].dests[0];
    assert_eq!(services::apply(&mut live, &dup), Err(ConfigError::DestExists));
    let mut ops = decls(WEB);
    ops[0].spec.one_packet = true;
    assert_eq!(services::apply(&mut live, &ops), Err(ConfigError::OnePacketNotUdp));
    assert_eq!(format!("{:?}", live.services()), before);
    // Too many real servers for the dest-id space.
    let mut small = Config::new(1);
    assert_eq!(services::apply(&mut small, &decls(WEB)), Err(ConfigError::TooManyDests));
    assert!(small.services().is_empty());
}
