//! A deleted real server's connections keep counting against its id until they are gone
//! (IPVS keeps such a dest in ip_vs_dest_trash): the worker must keep publishing that
//! figure, or the control thread could never tell when the id is free again.

use std::net::Ipv4Addr;
use std::sync::Arc;

use rvs_core::addr::{Addr, Protocol};
use rvs_core::conn::{ConnConfig, NewConn};
use rvs_core::forward::{Balancer, Directory};
use rvs_core::service::{Config, DestSpec, FwdMethod, ServiceKey, ServiceSpec};
use rvs_core::stats::CoreStats;

fn held(s: &CoreStats, id: u32) -> u64 {
    let d = s.dest(id).unwrap();
    d.active.get() + d.inactive.get() + d.persist.get()
}

#[test]
fn defect_08_worker_keeps_publishing_counts_of_deleted_servers() {
    let key = ServiceKey::Proto { proto: Protocol::Tcp, addr: Addr::from(Ipv4Addr::new(10, 0, 2, 100)), port: 80 };
    let rs = Addr::from(Ipv4Addr::new(10, 0, 3, 11));
    let mut cfg = Config::new(16);
    cfg.add_service(&ServiceSpec::new(key)).unwrap();
    let id = cfg.add_dest(&key, &DestSpec { fwd: FwdMethod::Masq, ..DestSpec::new(rs, 80) }).unwrap();
    let stats = Arc::new(CoreStats::with_dests(1, 1, 16));
    let conn = ConnConfig { capacity: 64, max_dests: 16, ..ConnConfig::default() };
    let mut lb = Balancer::new(0, conn, cfg.snapshot(), Arc::new(Directory::new(1, 64)), stats.clone(), 0);
    let d = cfg.snapshot().services()[0].dests[0];
    let client = (Addr::from(Ipv4Addr::new(10, 0, 1, 2)), 40000);
    let c = NewConn::to_dest(Protocol::Tcp, client, (Addr::from(Ipv4Addr::new(10, 0, 2, 100)), 80), &d);
    let conn_id = lb.conns_mut().insert(&c, 0).unwrap();
    lb.tick(10);
    assert_eq!(held(&stats, id.0), 1);

    cfg.del_dest(&key, rs, 80).unwrap();
    lb.set_snapshot(cfg.snapshot());
    lb.tick(20);
    assert_eq!(held(&stats, id.0), 1, "its connection still holds the deleted server's id");
    assert!(lb.conns_mut().remove(conn_id));
    lb.tick(30);
    assert_eq!(held(&stats, id.0), 0, "the figure follows the table after the server left the snapshot");
}
