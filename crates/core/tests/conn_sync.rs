//! Connection sync: which packets queue a record (IPVS's ip_vs_sync_conn rules), and a
//! record through the v1 wire format applied on a backup table.

mod conn_common;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use conn_common::*;
use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::conn::xt::TcpExt;
use rvs_core::conn::{ApplyError, ConnTable, Dir, Scheduled, TcpFlags, TcpState};
use rvs_core::sched;
use rvs_core::service::{FwdMethod, Persistence, SchedFlags};
use rvs_core::sync::{SyncQueues, SyncRecord};
use wire::ipvs_sync::{SyncMessage, SyncMessageBuilder, SyncMessageRepr};

const SYN: TcpFlags = TcpFlags(TcpFlags::SYN);
const ACK: TcpFlags = TcpFlags(TcpFlags::ACK);
const FIN: TcpFlags = TcpFlags(TcpFlags::FIN | TcpFlags::ACK);

fn drain(q: &SyncQueues) -> Vec<SyncRecord> {
    std::iter::from_fn(|| q.outbox.pop()).collect()
}

fn master(t: &mut ConnTable) -> Arc<SyncQueues> {
    let q = Arc::new(SyncQueues::new(true, 64));
    t.set_sync(Some(q.clone()));
    q
}

#[test]
fn tcp_syncs_on_state_changes_and_at_threshold_then_every_period() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Masq, "rr", None).snapshot();
    let mut t = table(64, &snap);
    let q = master(&mut t);
    let id = t.insert(&new_conn(&snap, Protocol::Tcp, 1, 0), 0).unwrap();
    t.on_packet(id, Dir::In, SYN, 0);
    assert!(drain(&q).is_empty(), "SYN_RECV is not synced");
    t.on_packet(id, Dir::Out, TcpFlags(TcpFlags::SYN | TcpFlags::ACK), 0);
    t.on_packet(id, Dir::In, ACK, 0);
    let r = drain(&q);
    assert_eq!(r.len(), 1, "into ESTABLISHED at once");
    assert_eq!((r[0].state, r[0].timeout, r[0].inactive), (TcpState::Established as u8, 900, false));
    let mut at = Vec::new();
    for pkt in 3..=110u32 {
        t.on_packet(id, Dir::In, ACK, 0);
        t.on_packet(id, Dir::Out, ACK, 0); // replies are not counted
        if !drain(&q).is_empty() {
            at.push(pkt);
        }
    }
    assert_eq!(at, [3, 53, 103], "pkts % sync_period == sync_threshold");
    t.on_packet(id, Dir::In, FIN, 0);
    let r = drain(&q);
    assert_eq!(r.len(), 1, "into CLOSE_WAIT (IPVS: a client FIN) at once");
    assert_eq!(r[0].state, TcpState::CloseWait as u8);
}

#[test]
fn udp_syncs_at_threshold_and_period_only() {
    let snap = config(Protocol::Udp, 53, 1, FwdMethod::Route, "rr", None).snapshot();
    let mut t = table(64, &snap);
    let q = master(&mut t);
    let id = t.insert(&new_conn(&snap, Protocol::Udp, 1, 0), 0).unwrap();
    let mut at = Vec::new();
    for pkt in 1..=60u32 {
        t.on_packet(id, Dir::In, TcpFlags(0), 0);
        if let Some(r) = drain(&q).first() {
            assert_eq!((r.timeout, r.nooutput, r.fwd), (300, true, FwdMethod::Route));
            at.push(pkt);
        }
    }
    assert_eq!(at, [3, 53]);
}

#[test]
fn off_queues_nothing_and_a_full_outbox_drops_and_counts() {
    let snap = config(Protocol::Udp, 53, 1, FwdMethod::Masq, "rr", None).snapshot();
    let mut t = table(64, &snap);
    let backup = Arc::new(SyncQueues::new(false, 1));
    t.set_sync(Some(backup.clone()));
    let a = t.insert(&new_conn(&snap, Protocol::Udp, 1, 0), 0).unwrap();
    let b = t.insert(&new_conn(&snap, Protocol::Udp, 2, 0), 0).unwrap();
    for _ in 0..3 {
        t.on_packet(a, Dir::In, TcpFlags(0), 0);
    }
    assert!(backup.outbox.is_empty(), "a backup's table sends nothing");
    let q = Arc::new(SyncQueues::new(true, 1));
    t.set_sync(Some(q.clone()));
    for _ in 0..50 {
        t.on_packet(a, Dir::In, TcpFlags(0), 0);
        t.on_packet(b, Dir::In, TcpFlags(0), 0);
    }
    assert_eq!(q.outbox.len(), 1);
    assert_eq!(q.counters.queued.load(Relaxed), 1);
    assert_eq!(q.counters.out_dropped.load(Relaxed), 1);
}

#[test]
fn template_follows_its_connection() {
    let p = Persistence { timeout_s: 300, prefix: 32 };
    let snap = config(Protocol::Tcp, 80, 2, FwdMethod::Masq, "rr", Some(p)).snapshot();
    let svc = &snap.services()[0];
    let mut s = sched::build("rr", SchedFlags(0), &svc.dests).unwrap();
    let mut t = table(64, &snap);
    let q = master(&mut t);
    let tu = Tuple::new(Protocol::Tcp, client(7), 4000, VIP, 80);
    let Ok(Scheduled::Conn(id)) = t.schedule(svc, s.as_mut(), &tu, 0) else { panic!() };
    t.on_packet(id, Dir::In, SYN, 0);
    t.on_packet(id, Dir::Out, TcpFlags(TcpFlags::SYN | TcpFlags::ACK), 0);
    t.on_packet(id, Dir::In, ACK, 0);
    let r = drain(&q);
    assert_eq!(r.len(), 2);
    assert!(!r[0].template && r[1].template);
    assert_eq!((r[1].caddr, r[1].cport, r[1].timeout, r[1].daddr), (client(7), 0, 300, r[0].daddr));

    // Both applied on a backup: the template pins the client there too.
    let mut b = table(64, &snap);
    for x in &r {
        b.apply_sync(&through_wire(x), &snap, 0).unwrap();
    }
    assert_eq!(b.templates(), 1);
    let tpl = b.iter(0).find(|c| c.template).unwrap();
    assert_eq!((tpl.caddr, tpl.daddr, tpl.expires_ms), (client(7), r[0].daddr, 300_000));
}

/// `r` packed into a v1 message, read back by the wire's decoder.
fn through_wire(r: &SyncRecord) -> SyncRecord {
    let msgs = SyncMessageBuilder::pack(9, 1472, &[r.to_repr()]).unwrap();
    assert_eq!(msgs.len(), 1);
    let m = SyncMessageRepr::parse(&SyncMessage::new_checked(&msgs[0][..]).unwrap()).unwrap();
    assert_eq!((m.syncid, m.conns.len()), (9, 1));
    SyncRecord::from_repr(&m.conns[0])
}

#[test]
fn record_round_trips_into_a_backup_connection() {
    let snap = config(Protocol::Tcp, 80, 3, FwdMethod::Masq, "rr", None).snapshot();
    let mut m = table(64, &snap);
    let q = master(&mut m);
    let id = m.insert(&new_conn(&snap, Protocol::Tcp, 5, 2), 0).unwrap();
    m.on_packet(id, Dir::In, SYN, 0);
    m.on_packet(id, Dir::Out, TcpFlags(TcpFlags::SYN | TcpFlags::ACK), 0);
    m.on_packet(id, Dir::In, ACK, 0);
    let r = drain(&q)[0];
    let got = through_wire(&r);
    assert_eq!(got, r);

    let mut b = table(64, &snap);
    let bid = b.apply_sync(&got, &snap, 0).unwrap();
    assert_eq!(b.sync_record(bid), Some(r));
    let c = b.get(bid).unwrap();
    let dest = c.dest();
    assert_eq!((dest, c.tcp_state()), (snap.services()[0].dests[2].id, TcpState::Established));
    assert_eq!(b.counts(dest).active, 1);
    let info = b.iter(0).next().unwrap();
    assert_eq!((info.state, info.expires_ms), ("ESTABLISHED", 900_000));
    // Its packets now find it, both ways.
    let t = Tuple::new(Protocol::Tcp, r.caddr, r.cport, VIP, 80);
    assert_eq!(b.lookup_in(&t), Some(bid));

    // FIN_WAIT later: updated in place, no longer active.
    let fin = SyncRecord { state: TcpState::FinWait as u8, inactive: true, timeout: 120, ..r };
    assert_eq!(b.apply_sync(&through_wire(&fin), &snap, 0), Ok(bid));
    assert_eq!((b.len(), b.counts(dest).active, b.counts(dest).inactive), (1, 0, 1));

    // Bound to another real server on the master: replaced.
    let d0 = snap.services()[0].dests[0];
    let moved = SyncRecord { daddr: d0.addr, ..r };
    let nid = b.apply_sync(&through_wire(&moved), &snap, 0).unwrap();
    assert_eq!((b.len(), b.get(nid).unwrap().dest()), (1, d0.id));

    // Unknown real server or service: refused.
    let stray = SyncRecord { daddr: Addr::v4([192, 0, 2, 1]), ..r };
    assert_eq!(b.apply_sync(&through_wire(&stray), &snap, 0), Err(ApplyError::UnknownDest));
    let other = SyncRecord { vport: 443, ..r };
    assert_eq!(b.apply_sync(&other, &snap, 0), Err(ApplyError::UnknownDest));
}

#[test]
fn fullnat_record_carries_local_address_and_sequence_state() {
    let mut cfg = config(Protocol::Tcp, 80, 1, FwdMethod::FullNat, "rr", None);
    let laddr = Addr::v4([10, 9, 0, 1]);
    cfg.add_laddr(&key(Protocol::Tcp, 80), laddr).unwrap();
    let snap = cfg.snapshot();
    let d = snap.services()[0].dests[0];
    let xt = TcpExt {
        delta: 0x1111_2222,
        rs_isn1: 3,
        pp_seq: 4,
        c_nxt: 5,
        r_nxt: 6,
        flags: 0x21,
        pp_len: 28,
        sp: 2,
        ws_vs: 7,
        ws_rs: 8,
        ws_client: 9,
        mss: 1460,
        isn_vs: 0xdead_beef,
        out_delta: 10,
        ts_out: 11,
        ts_client: 12,
        ts_vs: 13,
        ts_in: 0x8000_0001,
    };
    let r = SyncRecord {
        proto: 6,
        template: false,
        inactive: false,
        nooutput: false,
        fwd: FwdMethod::FullNat,
        state: TcpState::Established as u8,
        caddr: client(3),
        cport: 5555,
        vaddr: VIP,
        vport: 80,
        daddr: d.addr,
        dport: d.port,
        laddr,
        lport: 20_001,
        fwmark: 0,
        timeout: 900,
        xt: Some(xt),
    };
    let repr = r.to_repr();
    assert_eq!(repr.flags & 7, 0, "a kernel backup reads it as masquerading");
    assert!(repr.options.len() == 4);
    let got = through_wire(&r);
    assert_eq!(got, r);
    let mut b = table(64, &snap);
    let id = b.apply_sync(&got, &snap, 0).unwrap();
    assert_eq!(b.sync_record(id), Some(r));
    assert_eq!(b.xt(id), Some(&xt));
    // The server's replies to the local address and port find it.
    let reply = Tuple::new(Protocol::Tcp, d.addr, d.port, laddr, 20_001);
    assert_eq!(b.lookup_out(&reply), Some(id));
    // Its port is held on the backup too: no connection of the backup's may take it.
    assert_eq!(b.local_ports().0, 1, "the master's port counted in use here");
}

/// Idle connections are sent again, every one within a refresh period, at a pace (not
/// all at once).
#[test]
fn the_master_sends_every_connection_again_within_a_refresh_period() {
    use rvs_core::conn::SYNC_REFRESH_MS;
    let snap = config(Protocol::Udp, 53, 1, FwdMethod::Masq, "rr", None).snapshot();
    let mut t = table(64, &snap);
    let ids: Vec<_> = (1..=20).map(|c| t.insert(&new_conn(&snap, Protocol::Udp, c, 0), 0).unwrap()).collect();
    for now in (0..=SYNC_REFRESH_MS).step_by(10) {
        t.sync_refresh(now);
    }
    assert_eq!(t.len(), ids.len());
    let q = master(&mut t);
    let start = SYNC_REFRESH_MS + 10;
    t.sync_refresh(start);
    drain(&q);
    let mut seen = std::collections::HashMap::new();
    let mut most_per_tick = 0;
    for now in (start..=start + SYNC_REFRESH_MS).step_by(10) {
        t.sync_refresh(now);
        let r = drain(&q);
        most_per_tick = most_per_tick.max(r.len());
        for rec in r {
            *seen.entry((rec.caddr, rec.cport)).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len(), ids.len(), "every idle connection sent again: {seen:?}");
    assert!(seen.values().all(|&n| n <= 2), "about once a period: {seen:?}");
    assert!(most_per_tick <= 2, "paced: {most_per_tick} records in one tick");
}
