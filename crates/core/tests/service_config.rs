//! Service model validation as ipvsadm / ip_vs_ctl.c, snapshots and dest ids.

use rvs_core::addr::{Addr, Protocol};
use rvs_core::service::{
    ipv4_mask_prefix, Config, ConfigError, DestLoad, DestSpec, FwdMethod, Persistence, SchedFlags, ServiceKey,
    ServiceSpec,
};

const VIP: Addr = Addr::v4([10, 0, 0, 1]);

fn tcp(port: u16) -> ServiceKey {
    ServiceKey::Proto { proto: Protocol::Tcp, addr: VIP, port }
}

#[test]
fn defaults_match_ipvsadm() {
    let s = ServiceSpec::new(tcp(80));
    assert_eq!(s.scheduler, "wlc");
    let d = DestSpec::new(Addr::v4([1, 1, 1, 1]), 80);
    assert_eq!((d.weight, d.fwd), (1, FwdMethod::Route));
    assert_eq!(Persistence::default_for(false), Persistence { timeout_s: 300, prefix: 32 });
    assert_eq!(Persistence::default_for(true).prefix, 128);
    assert_eq!(FwdMethod::FullNat.name(), "FullNat");
    assert_eq!(FwdMethod::Route.name(), "Route");
}

#[test]
fn validation_errors() {
    let mut c = Config::new(8);
    assert_eq!(c.add_service(&ServiceSpec::new(tcp(0))), Err(ConfigError::ZeroPortNotPersistent));
    let mut p0 = ServiceSpec::new(tcp(0));
    p0.persistence = Some(Persistence::default_for(false));
    assert_eq!(c.add_service(&p0), Ok(()));
    let mut bad = ServiceSpec::new(tcp(80));
    bad.scheduler = "fastest".into();
    assert_eq!(c.add_service(&bad), Err(ConfigError::UnknownScheduler("fastest".into())));
    let mut ops = ServiceSpec::new(tcp(81));
    ops.one_packet = true;
    assert_eq!(c.add_service(&ops), Err(ConfigError::OnePacketNotUdp));
    let mut zero_to = ServiceSpec::new(tcp(82));
    zero_to.persistence = Some(Persistence { timeout_s: 0, prefix: 32 });
    assert_eq!(c.add_service(&zero_to), Err(ConfigError::InvalidTimeout));
    c.add_service(&ServiceSpec::new(tcp(80))).unwrap();
    assert_eq!(c.add_service(&ServiceSpec::new(tcp(80))), Err(ConfigError::ServiceExists));

    let mut d = DestSpec::new(Addr::v4([192, 168, 1, 1]), 80);
    d.weight = 65536;
    assert_eq!(c.add_dest(&tcp(80), &d), Err(ConfigError::InvalidWeight(65536)));
    d.weight = 65535;
    d.u_threshold = 10;
    d.l_threshold = 20;
    assert_eq!(c.add_dest(&tcp(80), &d), Err(ConfigError::ThresholdRange));
    d.l_threshold = 5;
    assert!(c.add_dest(&tcp(80), &d).is_ok());
    assert_eq!(c.add_dest(&tcp(80), &d), Err(ConfigError::DestExists));
    let v6 = DestSpec::new(Addr([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]), 80);
    assert_eq!(c.add_dest(&tcp(80), &v6), Err(ConfigError::FamilyMismatch));
    assert_eq!(c.add_dest(&tcp(99), &d), Err(ConfigError::NoSuchService));
}

#[test]
fn dr_and_tun_dest_port_is_the_service_port() {
    let mut c = Config::new(8);
    c.add_service(&ServiceSpec::new(tcp(80))).unwrap();
    let mut d = DestSpec::new(Addr::v4([192, 168, 1, 1]), 8080);
    c.add_dest(&tcp(80), &d).unwrap();
    d.addr = Addr::v4([192, 168, 1, 2]);
    d.fwd = FwdMethod::Masq;
    c.add_dest(&tcp(80), &d).unwrap();
    let ports: Vec<_> = c.services()[0].dests.iter().map(|d| d.port).collect();
    assert_eq!(ports, vec![80, 8080]);
}

#[test]
fn sched_flags_parse() {
    assert_eq!(SchedFlags::parse("sh-fallback,sh-port", "sh"), Ok(SchedFlags(3)));
    assert_eq!(SchedFlags::parse("mh-port", "mh"), Ok(SchedFlags::MH_PORT));
    assert_eq!(SchedFlags::parse("flag-3", "rr"), Ok(SchedFlags(4)));
    assert!(matches!(SchedFlags::parse("sh-port", "mh"), Err(ConfigError::IncompatibleSchedFlag(_))));
    assert!(matches!(SchedFlags::parse("bogus", "sh"), Err(ConfigError::InvalidSchedFlag(_))));
}

#[test]
fn netmask_and_masking() {
    assert_eq!(ipv4_mask_prefix([255, 255, 255, 0]), Ok(24));
    assert_eq!(ipv4_mask_prefix([255, 255, 255, 255]), Ok(32));
    assert_eq!(ipv4_mask_prefix([255, 0, 255, 0]), Err(ConfigError::InvalidNetmask));
    assert_eq!(Addr::v4([1, 2, 3, 200]).masked(25), Addr::v4([1, 2, 3, 128]));
    assert_eq!(Addr::v4([1, 2, 3, 4]).masked(32), Addr::v4([1, 2, 3, 4]));
    let a = Addr([0x20, 1, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
    assert_eq!(a.masked(36).0[..6], [0x20, 1, 0x0d, 0xb8, 0xf0, 0]);
}

#[test]
fn snapshot_lookup_order_and_stable_dest_ids() {
    let mut c = Config::new(8);
    c.add_service(&ServiceSpec::new(tcp(80))).unwrap();
    let mut p0 = ServiceSpec::new(tcp(0));
    p0.persistence = Some(Persistence::default_for(false));
    c.add_service(&p0).unwrap();
    let mut fw = ServiceSpec::new(ServiceKey::Fwmark { mark: 5, v6: false });
    fw.persistence = None;
    c.add_service(&fw).unwrap();
    let s = c.snapshot();
    assert_eq!(s.find(6, VIP, 80, 0), Some(0));
    assert_eq!(s.find(6, VIP, 443, 0), Some(1), "port-zero service catches other ports");
    assert_eq!(s.find(6, VIP, 80, 5), Some(2), "fwmark first");
    assert_eq!(s.find(17, VIP, 80, 0), None);

    let a = c.add_dest(&tcp(80), &DestSpec::new(Addr::v4([192, 168, 1, 1]), 80)).unwrap();
    let b = c.add_dest(&tcp(80), &DestSpec::new(Addr::v4([192, 168, 1, 2]), 80)).unwrap();
    assert_ne!(a, b);
    c.del_dest(&tcp(80), Addr::v4([192, 168, 1, 1]), 80).unwrap();
    assert_eq!(c.add_dest(&tcp(80), &DestSpec::new(Addr::v4([192, 168, 1, 1]), 80)), Ok(a), "dest_trash reuse");
    // Per-core load follows snapshots: a deleted dest is unavailable.
    let mut load = DestLoad::new(8, 1);
    load.sync(&c.snapshot());
    assert!(load.get(a).available);
    c.del_dest(&tcp(80), Addr::v4([192, 168, 1, 1]), 80).unwrap();
    load.sync(&c.snapshot());
    assert!(!load.get(a).available && load.get(b).available);
}

#[test]
fn thresholds_split_across_workers() {
    let mut c = Config::new(8);
    c.add_service(&ServiceSpec::new(tcp(80))).unwrap();
    let mut d = DestSpec::new(Addr::v4([192, 168, 1, 1]), 80);
    d.u_threshold = 10;
    let id = c.add_dest(&tcp(80), &d).unwrap();
    let mut load = DestLoad::new(8, 4);
    load.sync(&c.snapshot());
    assert_eq!(load.get(id).u_threshold, 3, "ceil(10 / 4 workers)");
    (0..3).for_each(|_| load.bind(id, true));
    assert!(load.get(id).overloaded);
}
