//! SIGHUP reconciles only what the configuration file owns: services that came from
//! `rvsd --restore` or rvsadm survive a reload (rvsd's signals.rs makes the same call).

use std::net::Ipv4Addr;
use std::sync::Arc;

use control::admin::{self, Admin, Request};
use control::live::Live;
use control::services::{self, ServiceDecl};
use rvs_core::addr::{Addr, Protocol};
use rvs_core::service::{Config, DestSpec, FwdMethod, ServiceKey, ServiceSpec};

fn tcp(port: u16) -> ServiceKey {
    ServiceKey::Proto { proto: Protocol::Tcp, addr: Addr::from(Ipv4Addr::new(10, 0, 2, 100)), port }
}

/// demo.toml's web service: rr over two NAT real servers.
fn file() -> Vec<ServiceDecl> {
    let mut spec = ServiceSpec::new(tcp(80));
    spec.scheduler = "rr".into();
    let rs = |last| DestSpec { fwd: FwdMethod::Masq, ..DestSpec::new(Addr::from(Ipv4Addr::new(10, 0, 3, last)), 80) };
    vec![ServiceDecl { spec, dests: vec![rs(11), rs(12)], laddrs: vec![] }]
}

/// rvsd's start: the file's services, then `--restore RULES`.
fn started() -> (Arc<Live>, Admin) {
    let mut c = Config::new(64);
    services::apply(&mut c, &file()).unwrap();
    admin::restore(&mut c, "-A -t 10.0.2.100:443 -s wlc\n-a -t 10.0.2.100:443 -r 10.0.3.11:443 -m\n").unwrap();
    let live = Arc::new(Live::new(c, vec![]));
    let admin = Admin::new(live.clone(), vec![], 4096);
    (live, admin)
}

fn rvsadm(a: &Admin, line: &str) {
    let r = a.execute(&Request { args: line.split_whitespace().map(String::from).collect(), stdin: None });
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{line}");
}

fn ports(live: &Live) -> Vec<u16> {
    let mut v: Vec<u16> = live
        .config()
        .services()
        .iter()
        .map(|s| match s.key {
            ServiceKey::Proto { port, .. } => port,
            ServiceKey::Fwmark { .. } => 0,
        })
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn defect_05_reloading_an_unchanged_file_keeps_restored_and_rvsadm_services() {
    let (live, a) = started();
    rvsadm(&a, "-A -u 10.0.2.100:53 -s rr");
    rvsadm(&a, "-a -u 10.0.2.100:53 -r 10.0.3.12:53 -m");
    let changes = live.update(|c| services::apply(c, &file())).unwrap();
    assert!(changes.is_empty(), "an unchanged file changes nothing, got {changes}");
    assert_eq!(ports(&live), vec![53, 80, 443]);
    assert_eq!(live.config().services().iter().map(|s| s.dests.len()).sum::<usize>(), 4);
}

#[test]
fn defect_05_reload_still_reconciles_what_the_file_owns() {
    let (live, a) = started();
    rvsadm(&a, "-A -u 10.0.2.100:53 -s rr");
    // The file drops its service: it goes; the others stay.
    let changes = live.update(|c| services::apply(c, &[])).unwrap();
    assert_eq!((changes.services_deleted, changes.dests_deleted), (1, 2));
    assert_eq!(ports(&live), vec![53, 443]);
    // The file declares a service rvsadm added: the file takes it over and owns it.
    let mut d = file();
    d[0].spec.key = tcp(443);
    d[0].dests.iter_mut().for_each(|x| x.port = 443);
    let changes = live.update(|c| services::apply(c, &d)).unwrap();
    assert_eq!((changes.services_added, changes.services_edited, changes.dests_added), (0, 1, 1));
    let changes = live.update(|c| services::apply(c, &[])).unwrap();
    assert_eq!(changes.services_deleted, 1, "now the file's to delete");
    assert_eq!(ports(&live), vec![53]);
}
