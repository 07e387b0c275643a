//! Persistence templates (ip_vs_sched_persist) and one-packet scheduling via ConnTable::schedule.

mod conn_common;

use conn_common::*;
use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::conn::{Dir, ScheduleError, Scheduled, TcpFlags};
use rvs_core::sched;
use rvs_core::service::{Config, DestSpec, FwdMethod, Persistence, SchedFlags, ServiceKey, ServiceSpec};

fn tcp(src: [u8; 4], sport: u16, dport: u16) -> Tuple {
    Tuple::new(Protocol::Tcp, Addr::v4(src), sport, VIP, dport)
}

fn conn_of(r: Result<Scheduled, ScheduleError>) -> rvs_core::conn::ConnId {
    match r.unwrap() {
        Scheduled::Conn(id) => id,
        other => panic!("{other:?}"),
    }
}

#[test]
fn template_pins_masked_clients_to_one_dest() {
    let p = Persistence { timeout_s: 300, prefix: 24 };
    let snap = config(Protocol::Tcp, 80, 3, FwdMethod::Masq, "rr", Some(p)).snapshot();
    let svc = &snap.services()[0];
    let mut s = sched::build("rr", SchedFlags(0), &svc.dests).unwrap();
    let mut t = table(64, &snap);
    let a = conn_of(t.schedule(svc, s.as_mut(), &tcp([1, 2, 3, 4], 1000, 80), 0));
    let da = t.get(a).unwrap().dest();
    // Same /24, other ports: pinned even though rr would move on.
    for (i, host) in [4u8, 99, 200, 4].iter().enumerate() {
        let id = conn_of(t.schedule(svc, s.as_mut(), &tcp([1, 2, 3, *host], 2000 + i as u16, 80), 0));
        assert_eq!(t.get(id).unwrap().dest(), da);
    }
    // Another /24 gets the next dest from rr.
    let b = conn_of(t.schedule(svc, s.as_mut(), &tcp([1, 2, 4, 1], 1000, 80), 0));
    assert_ne!(t.get(b).unwrap().dest(), da);
    assert_eq!(t.templates(), 2);
    assert_eq!(t.counts(da).persist, 1);
    let tpl: Vec<_> = t.iter(0).filter(|c| c.template).collect();
    assert!(tpl.iter().any(|c| c.caddr == Addr::v4([1, 2, 3, 0]) && c.n_control == 5 && c.cport == 0));
}

#[test]
fn template_outlives_its_timeout_while_it_controls_conns() {
    let p = Persistence { timeout_s: 300, prefix: 32 };
    let snap = config(Protocol::Tcp, 80, 2, FwdMethod::Route, "rr", Some(p)).snapshot();
    let svc = &snap.services()[0];
    let mut s = sched::build("rr", SchedFlags(0), &svc.dests).unwrap();
    let mut t = table(64, &snap);
    let id = conn_of(t.schedule(svc, s.as_mut(), &tcp([5, 5, 5, 5], 1000, 80), 0));
    let dest = t.get(id).unwrap().dest();
    t.on_packet(id, Dir::In, TcpFlags::syn(), 0);
    t.on_packet(id, Dir::In, TcpFlags::ack(), 0);
    // Keep the conn alive to 1000 s: the template (300 s) must stay.
    for k in 1..=5 {
        t.on_packet(id, Dir::In, TcpFlags::ack(), k * 200 * S);
        expire_all(&mut t, k * 200 * S);
    }
    assert_eq!(t.templates(), 1, "template held by n_control");
    // New conns of that client still go to the same dest.
    let id2 = conn_of(t.schedule(svc, s.as_mut(), &tcp([5, 5, 5, 5], 1001, 80), 1000 * S));
    assert_eq!(t.get(id2).unwrap().dest(), dest);
    t.remove(id2);
    // The conn closes; once it expires the template has its own 300 s more at most.
    t.on_packet(id, Dir::In, TcpFlags::rst(), 1000 * S);
    expire_all(&mut t, 1011 * S);
    assert!(!alive(&t, id));
    assert_eq!(t.templates(), 1);
    expire_all(&mut t, 1000 * S + 301 * S + 16);
    assert_eq!(t.templates(), 0);
    assert_eq!(t.len(), 0);
    assert_eq!(t.counts(dest).persist, 0);
}

#[test]
fn unused_template_expires_after_persistence_timeout() {
    let p = Persistence { timeout_s: 60, prefix: 32 };
    let snap = config(Protocol::Udp, 53, 2, FwdMethod::Masq, "rr", Some(p)).snapshot();
    let svc = &snap.services()[0];
    let mut s = sched::build("rr", SchedFlags(0), &svc.dests).unwrap();
    let mut t = table(64, &snap);
    let u = Tuple::new(Protocol::Udp, Addr::v4([9, 9, 9, 9]), 5000, VIP, 53);
    let id = conn_of(t.schedule(svc, s.as_mut(), &u, 0));
    t.remove(id);
    expire_all(&mut t, 59 * S);
    assert_eq!(t.templates(), 1);
    expire_all(&mut t, 61 * S);
    assert_eq!(t.templates(), 0);
}

#[test]
fn port_zero_and_fwmark_services_persist_across_ports() {
    let p = Persistence { timeout_s: 300, prefix: 32 };
    for fwmark in [false, true] {
        let mut cfg = Config::new(64);
        let k = if fwmark { ServiceKey::Fwmark { mark: 7, v6: false } } else { key(Protocol::Tcp, 0) };
        let mut spec = ServiceSpec::new(k);
        spec.scheduler = "rr".into();
        spec.persistence = Some(p);
        cfg.add_service(&spec).unwrap();
        for i in 0..3 {
            cfg.add_dest(&k, &DestSpec::new(rs(i), 0)).unwrap();
        }
        let snap = cfg.snapshot();
        assert_eq!(snap.find(6, VIP, 443, if fwmark { 7 } else { 0 }), Some(0));
        let svc = &snap.services()[0];
        let mut s = sched::build("rr", SchedFlags(0), &svc.dests).unwrap();
        let mut t = table(64, &snap);
        let first = conn_of(t.schedule(svc, s.as_mut(), &tcp([7, 7, 7, 7], 1000, 80), 0));
        let d = t.get(first).unwrap().dest();
        for port in [443u16, 8080, 22] {
            let id = conn_of(t.schedule(svc, s.as_mut(), &tcp([7, 7, 7, 7], 1001, port), 0));
            assert_eq!(t.get(id).unwrap().dest(), d, "fwmark={fwmark} port {port}");
            assert_eq!(t.get(id).unwrap().dport(), port, "port-0 dest keeps the client's port");
        }
        assert_eq!(t.templates(), 1);
    }
}

#[test]
fn template_of_removed_dest_is_replaced() {
    let p = Persistence { timeout_s: 300, prefix: 32 };
    let mut cfg = config(Protocol::Tcp, 80, 2, FwdMethod::Route, "rr", Some(p));
    let snap = cfg.snapshot();
    let svc = snap.services()[0].clone();
    let mut s = sched::build("rr", SchedFlags(0), &svc.dests).unwrap();
    let mut t = table(64, &snap);
    let id = conn_of(t.schedule(&svc, s.as_mut(), &tcp([3, 3, 3, 3], 1, 80), 0));
    let gone = t.get(id).unwrap().daddr();
    cfg.del_dest(&key(Protocol::Tcp, 80), gone, 80).unwrap();
    let snap2 = cfg.snapshot();
    t.sync_snapshot(&snap2);
    let svc2 = &snap2.services()[0];
    s.update(&svc2.dests);
    let id2 = conn_of(t.schedule(svc2, s.as_mut(), &tcp([3, 3, 3, 3], 2, 80), S));
    assert_ne!(t.get(id2).unwrap().daddr(), gone);
    assert_eq!(t.iter(S).filter(|c| c.template).count(), 2, "old template waits for its conn");
}

#[test]
fn one_packet_scheduling_keeps_nothing() {
    let mut cfg = Config::new(64);
    let k = key(Protocol::Udp, 53);
    let mut spec = ServiceSpec::new(k);
    spec.scheduler = "rr".into();
    spec.one_packet = true;
    cfg.add_service(&spec).unwrap();
    cfg.add_dest(&k, &DestSpec::new(rs(0), 53)).unwrap();
    cfg.add_dest(&k, &DestSpec::new(rs(1), 53)).unwrap();
    let snap = cfg.snapshot();
    let svc = &snap.services()[0];
    let mut s = sched::build("rr", SchedFlags(0), &svc.dests).unwrap();
    let mut t = table(8, &snap);
    let u = Tuple::new(Protocol::Udp, Addr::v4([9, 9, 9, 9]), 5000, VIP, 53);
    assert_eq!(t.schedule(svc, s.as_mut(), &u, 0), Ok(Scheduled::OnePacket { dest: 0 }));
    assert_eq!(t.schedule(svc, s.as_mut(), &u, 0), Ok(Scheduled::OnePacket { dest: 1 }));
    assert_eq!(t.len(), 0);
}

#[test]
fn schedule_refuses_when_full_or_no_dest() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Route, "wlc", None).snapshot();
    let svc = &snap.services()[0];
    let mut s = sched::build("wlc", SchedFlags(0), &svc.dests).unwrap();
    let mut t = table(2, &snap);
    for i in 0..2 {
        conn_of(t.schedule(svc, s.as_mut(), &tcp([1, 1, 1, i], 1, 80), 0));
    }
    assert_eq!(t.schedule(svc, s.as_mut(), &tcp([1, 1, 1, 9], 1, 80), 0), Err(ScheduleError::Full));
    assert_eq!(t.stats().refused_full, 1);
    let mut q = svc.clone();
    q.dests[0].weight = 0;
    let mut t = table(2, &snap);
    assert_eq!(t.schedule(&q, s.as_mut(), &tcp([1, 1, 1, 1], 1, 80), 0), Err(ScheduleError::NoDest));
    assert_eq!(t.stats().no_dest_available, 1);
}
