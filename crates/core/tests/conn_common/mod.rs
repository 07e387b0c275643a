//! Helpers shared by the connection-table tests.
#![allow(dead_code)]

use std::sync::Arc;

use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::conn::{ConnConfig, ConnId, ConnTable, NewConn};
use rvs_core::service::{Config, DestSpec, FwdMethod, Persistence, ServiceKey, ServiceSpec, Snapshot};

pub const VIP: Addr = Addr::v4([10, 0, 0, 1]);
pub const S: u64 = 1000;

pub fn rs(i: u8) -> Addr {
    Addr::v4([192, 168, 1, 10 + i])
}

pub fn key(proto: Protocol, port: u16) -> ServiceKey {
    ServiceKey::Proto { proto, addr: VIP, port }
}

/// A config with one service of `n` dests (weights 1) forwarding by `fwd`.
pub fn config(proto: Protocol, port: u16, n: u8, fwd: FwdMethod, sched: &str, persist: Option<Persistence>) -> Config {
    let mut cfg = Config::new(64);
    let k = key(proto, port);
    let mut spec = ServiceSpec::new(k);
    spec.scheduler = sched.into();
    spec.persistence = persist;
    cfg.add_service(&spec).unwrap();
    for i in 0..n {
        let mut d = DestSpec::new(rs(i), 8080);
        d.fwd = fwd;
        cfg.add_dest(&k, &d).unwrap();
    }
    cfg
}

pub fn table(cap: u32, snap: &Arc<Snapshot>) -> ConnTable {
    let mut t = ConnTable::new(ConnConfig { capacity: cap, max_dests: 64, ..ConnConfig::default() }, 0);
    t.sync_snapshot(snap);
    t
}

pub fn client(i: u32) -> Addr {
    let b = i.to_be_bytes();
    Addr::v4([100, b[1], b[2], b[3]])
}

pub fn new_conn(snap: &Snapshot, proto: Protocol, i: u32, dest: usize) -> NewConn {
    let d = snap.services()[0].dests[dest];
    NewConn {
        proto,
        caddr: client(i),
        cport: 10_000 + (i % 50_000) as u16,
        vaddr: VIP,
        vport: 80,
        daddr: d.addr,
        dport: d.port,
        laddr: Addr::v4([10, 9, 0, 1]),
        lport: 20_000 + (i % 40_000) as u16,
        dest: d.id,
        fwd: d.fwd,
    }
}

pub fn in_tuple(c: &NewConn) -> Tuple {
    Tuple::new(c.proto, c.caddr, c.cport, c.vaddr, c.vport)
}

/// Expires everything due at `now` and returns how many went.
pub fn expire_all(t: &mut ConnTable, now: u64) -> usize {
    t.expire(now, usize::MAX, |_| {})
}

pub fn alive(t: &ConnTable, id: ConnId) -> bool {
    t.get(id).is_some()
}
