//! Connection table: timeouts per state, counts, both directions, capacity, nodest.

mod conn_common;

use conn_common::*;
use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::conn::{ConnConfig, ConnTable, Dir, InsertError, TcpFlags, TcpState, Verdict, LIST_HEADER};
use rvs_core::service::FwdMethod;

/// Alive just before `deadline`, gone just after it (one 16 ms tick of slack).
fn assert_expires_at(t: &mut ConnTable, id: rvs_core::conn::ConnId, deadline: u64) {
    expire_all(t, deadline - 20);
    assert!(alive(t, id), "expired before {deadline}");
    expire_all(t, deadline + 16);
    assert!(!alive(t, id), "still alive after {deadline}");
}

#[test]
fn tcp_syn_recv_60s_established_900s_fin_120s() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Route, "rr", None).snapshot();
    let mut t = table(64, &snap);
    let c = new_conn(&snap, Protocol::Tcp, 1, 0);
    let id = t.insert(&c, 0).unwrap();
    assert_eq!(t.on_packet(id, Dir::In, TcpFlags::syn(), 1000), Verdict::Forward);
    assert_eq!(t.get(id).unwrap().tcp_state(), TcpState::SynRecv);
    assert_expires_at(&mut t, id, 1000 + 60 * S);

    let id = t.insert(&c, 100 * S).unwrap();
    t.on_packet(id, Dir::In, TcpFlags::syn(), 100 * S);
    t.on_packet(id, Dir::In, TcpFlags::ack(), 101 * S);
    assert_eq!(t.get(id).unwrap().tcp_state(), TcpState::Established);
    assert_expires_at(&mut t, id, 101 * S + 900 * S);

    let id = t.insert(&c, 2000 * S).unwrap();
    t.on_packet(id, Dir::In, TcpFlags::syn(), 2000 * S);
    t.on_packet(id, Dir::In, TcpFlags::ack(), 2000 * S);
    t.on_packet(id, Dir::In, TcpFlags::fin_ack(), 2005 * S);
    assert_eq!(t.get(id).unwrap().tcp_state(), TcpState::FinWait, "input-only: ES + fin -> FIN_WAIT");
    assert_expires_at(&mut t, id, 2005 * S + 120 * S);
}

#[test]
fn udp_300s_and_every_packet_rearms() {
    let snap = config(Protocol::Udp, 53, 1, FwdMethod::Masq, "rr", None).snapshot();
    let mut t = table(64, &snap);
    let id = t.insert(&new_conn(&snap, Protocol::Udp, 1, 0), 0).unwrap();
    for k in 0..4 {
        t.on_packet(id, Dir::In, TcpFlags(0), k * 250 * S);
        expire_all(&mut t, k * 250 * S + 200 * S);
        assert!(alive(&t, id));
    }
    assert_eq!(t.info_of(id, 750 * S).unwrap().state, "UDP");
    assert_expires_at(&mut t, id, 750 * S + 300 * S);
}

#[test]
fn earlier_deadline_is_not_late() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Route, "rr", None).snapshot();
    let mut t = table(64, &snap);
    let id = t.insert(&new_conn(&snap, Protocol::Tcp, 1, 0), 0).unwrap();
    t.on_packet(id, Dir::In, TcpFlags::syn(), 0);
    t.on_packet(id, Dir::In, TcpFlags::ack(), 0);
    t.on_packet(id, Dir::In, TcpFlags::rst(), 5 * S);
    assert_eq!(t.get(id).unwrap().tcp_state(), TcpState::Close);
    assert_expires_at(&mut t, id, 15 * S);
}

#[test]
fn set_timeouts_like_ipvsadm_set() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Route, "rr", None).snapshot();
    let mut t = table(64, &snap);
    t.set_timeouts(100, 20, 0);
    assert_eq!(t.timeouts().get(), (100, 20, 300), "0 keeps udp");
    t.set_timeouts(0, 0, 40);
    assert_eq!(t.timeouts().get(), (100, 20, 40));
    let id = t.insert(&new_conn(&snap, Protocol::Tcp, 1, 0), 0).unwrap();
    t.on_packet(id, Dir::In, TcpFlags::syn(), 0);
    t.on_packet(id, Dir::In, TcpFlags::ack(), 0);
    assert_expires_at(&mut t, id, 100 * S);
    let id = t.insert(&new_conn(&snap, Protocol::Tcp, 2, 0), 200 * S).unwrap();
    t.on_packet(id, Dir::In, TcpFlags::syn(), 200 * S);
    t.on_packet(id, Dir::In, TcpFlags::ack(), 200 * S);
    t.on_packet(id, Dir::In, TcpFlags::fin_ack(), 200 * S);
    assert_expires_at(&mut t, id, 220 * S);
    let snap = config(Protocol::Udp, 53, 1, FwdMethod::Route, "rr", None).snapshot();
    let mut u = table(8, &snap);
    u.set_timeouts(0, 0, 40);
    let id = u.insert(&new_conn(&snap, Protocol::Udp, 1, 0), 0).unwrap();
    u.on_packet(id, Dir::In, TcpFlags(0), 0);
    assert_expires_at(&mut u, id, 40 * S);
}

#[test]
fn exact_counts_through_a_nat_tcp_life_cycle() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Masq, "rr", None).snapshot();
    let dest = snap.services()[0].dests[0].id;
    let mut t = table(64, &snap);
    let id = t.insert(&new_conn(&snap, Protocol::Tcp, 1, 0), 0).unwrap();
    let counts = |t: &ConnTable| (t.counts(dest).active, t.counts(dest).inactive);
    assert_eq!(counts(&t), (0, 1), "new conns start inactive (IP_VS_CONN_F_INACTIVE)");
    let steps = [
        (Dir::In, TcpFlags::syn(), TcpState::SynRecv, (1, 0)),
        (Dir::Out, TcpFlags::syn_ack(), TcpState::SynRecv, (1, 0)),
        (Dir::In, TcpFlags::ack(), TcpState::Established, (1, 0)),
        (Dir::In, TcpFlags::fin_ack(), TcpState::CloseWait, (0, 1)),
        (Dir::Out, TcpFlags::ack(), TcpState::CloseWait, (0, 1)),
        (Dir::Out, TcpFlags::fin_ack(), TcpState::TimeWait, (0, 1)),
        (Dir::In, TcpFlags::ack(), TcpState::TimeWait, (0, 1)),
    ];
    for (i, (dir, fl, st, want)) in steps.into_iter().enumerate() {
        t.on_packet(id, dir, fl, i as u64 * S);
        assert_eq!(t.get(id).unwrap().tcp_state(), st, "step {i}");
        assert_eq!(counts(&t), want, "step {i}");
    }
    // TIME_WAIT 120 s after the last packet.
    assert_expires_at(&mut t, id, 6 * S + 120 * S);
    assert_eq!(counts(&t), (0, 0));
    // A conn expiring while active is uncounted from active.
    let id = t.insert(&new_conn(&snap, Protocol::Tcp, 2, 0), 1000 * S).unwrap();
    t.on_packet(id, Dir::In, TcpFlags::syn(), 1000 * S);
    assert_eq!(counts(&t), (1, 0));
    let mut seen = vec![];
    t.expire(1061 * S, usize::MAX, |c| seen.push((c.id, c.active)));
    assert_eq!(seen, vec![(id, true)]);
    assert_eq!(counts(&t), (0, 0));
}

#[test]
fn both_directions_found() {
    for fwd in [FwdMethod::Masq, FwdMethod::FullNat, FwdMethod::Route, FwdMethod::Tunnel] {
        let snap = config(Protocol::Tcp, 80, 2, fwd, "rr", None).snapshot();
        let mut t = table(64, &snap);
        let c = new_conn(&snap, Protocol::Tcp, 7, 1);
        let id = t.insert(&c, 0).unwrap();
        assert_eq!(t.lookup_in(&in_tuple(&c)), Some(id));
        let nat_reply = Tuple::new(Protocol::Tcp, c.daddr, c.dport, c.caddr, c.cport);
        let fnat_reply = Tuple::new(Protocol::Tcp, c.daddr, c.dport, c.laddr, c.lport);
        let (want_nat, want_fnat) = match fwd {
            FwdMethod::Masq => (Some(id), None),
            FwdMethod::FullNat => (None, Some(id)),
            _ => (None, None),
        };
        assert_eq!(t.lookup_out(&nat_reply), want_nat, "{fwd:?}");
        assert_eq!(t.lookup_out(&fnat_reply), want_fnat, "{fwd:?}");
        let mut other = in_tuple(&c);
        other.sport += 1;
        assert_eq!(t.lookup_in(&other), None);
        assert_eq!(t.insert(&c, 0), Err(InsertError::Exists(id)));
        assert!(t.remove(id));
        assert_eq!(t.lookup_in(&in_tuple(&c)), None);
        assert_eq!(t.lookup_out(&nat_reply), None);
        assert_eq!(t.lookup_out(&fnat_reply), None);
    }
}

#[test]
fn ipv6_keys() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Masq, "rr", None).snapshot();
    let mut t = table(16, &snap);
    let mut c = new_conn(&snap, Protocol::Tcp, 1, 0);
    c.caddr = Addr("2001:db8::5".parse::<std::net::Ipv6Addr>().unwrap().octets());
    c.vaddr = Addr("2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    let id = t.insert(&c, 0).unwrap();
    assert_eq!(t.lookup_in(&in_tuple(&c)), Some(id));
    let row = t.info_of(id, 0).unwrap().ipvsadm_row();
    assert!(row.starts_with("TCP 00:02  NONE        [2001:db8::5]:10001"), "{row}");
}

#[test]
fn table_full_refuses_and_counts_and_keeps_established() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Route, "rr", None).snapshot();
    let mut t = table(4, &snap);
    assert_eq!(t.capacity(), 4);
    let ids: Vec<_> = (0..4)
        .map(|i| {
            let id = t.insert(&new_conn(&snap, Protocol::Tcp, i, 0), 0).unwrap();
            t.on_packet(id, Dir::In, TcpFlags::syn(), 0);
            t.on_packet(id, Dir::In, TcpFlags::ack(), 0);
            id
        })
        .collect();
    for k in 0..3 {
        assert_eq!(t.insert(&new_conn(&snap, Protocol::Tcp, 100 + k, 0), 0), Err(InsertError::Full));
    }
    assert_eq!(t.stats().refused_full, 3);
    assert_eq!(t.len(), 4);
    assert!(ids.iter().all(|id| t.get(*id).unwrap().tcp_state() == TcpState::Established));
    t.remove(ids[2]);
    assert!(t.insert(&new_conn(&snap, Protocol::Tcp, 200, 0), 0).is_ok());
}

#[test]
fn expire_nodest_conn_0_drops_and_1_expires() {
    for expire in [false, true] {
        let mut cfg = config(Protocol::Tcp, 80, 2, FwdMethod::Route, "rr", None);
        let snap = cfg.snapshot();
        let mut t = table(16, &snap);
        t.set_expire_nodest_conn(expire);
        let c = new_conn(&snap, Protocol::Tcp, 1, 1);
        let id = t.insert(&c, 0).unwrap();
        t.on_packet(id, Dir::In, TcpFlags::syn(), 0);
        cfg.del_dest(&key(Protocol::Tcp, 80), c.daddr, c.dport).unwrap();
        t.sync_snapshot(&cfg.snapshot());
        let v = t.on_packet(id, Dir::In, TcpFlags::ack(), S);
        if expire {
            assert_eq!(v, Verdict::Expired);
            assert_eq!(t.len(), 0);
            assert_eq!(t.counts(c.dest).active + t.counts(c.dest).inactive, 0);
            assert_eq!(t.lookup_in(&in_tuple(&c)), None);
        } else {
            assert_eq!(v, Verdict::DropNoDest);
            assert_eq!(t.get(id).unwrap().tcp_state(), TcpState::SynRecv, "dropped packets change nothing");
            // The dest comes back (same id): the conn resumes.
            let mut d = rvs_core::service::DestSpec::new(c.daddr, c.dport);
            d.fwd = FwdMethod::Route;
            assert_eq!(cfg.add_dest(&key(Protocol::Tcp, 80), &d).unwrap(), c.dest);
            t.sync_snapshot(&cfg.snapshot());
            assert_eq!(t.on_packet(id, Dir::In, TcpFlags::ack(), 2 * S), Verdict::Forward);
            assert_eq!(t.stats().dropped_nodest, 1);
        }
    }
}

#[test]
fn listing_rows_match_ipvsadm() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Route, "rr", None).snapshot();
    let mut t = table(16, &snap);
    let id = t.insert(&new_conn(&snap, Protocol::Tcp, 5, 0), 0).unwrap();
    t.on_packet(id, Dir::In, TcpFlags::syn(), 0);
    t.on_packet(id, Dir::In, TcpFlags::ack(), 0);
    let rows: Vec<_> = t.iter(2 * S).map(|c| c.ipvsadm_row()).collect();
    assert_eq!(
        LIST_HEADER,
        format!("pro expire {:<11} {:<18} {:<18} {}\n", "state", "source", "virtual", "destination")
    );
    assert_eq!(
        rows,
        vec!["TCP 14:58  ESTABLISHED 100.0.0.5:10005    10.0.0.1:80        192.168.1.10:80\n".to_string()]
    );
}

#[test]
fn index_survives_churn_against_a_model() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Masq, "rr", None).snapshot();
    // A small table makes long probe clusters and exercises the backward shift.
    let mut t = ConnTable::new(ConnConfig { capacity: 512, max_dests: 64, ..ConnConfig::default() }, 0);
    t.sync_snapshot(&snap);
    let mut model = std::collections::HashMap::new();
    let mut x = 12345u64;
    for step in 0..50_000u32 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let k = ((x >> 33) % 700) as u32;
        let c = new_conn(&snap, Protocol::Tcp, k, 0);
        match model.get(&k) {
            Some(id) if step % 3 != 0 => {
                assert_eq!(t.lookup_in(&in_tuple(&c)), Some(*id));
                assert!(t.remove(*id));
                model.remove(&k);
            }
            Some(id) => assert_eq!(t.insert(&c, 0), Err(InsertError::Exists(*id))),
            None => match t.insert(&c, 0) {
                Ok(id) => {
                    model.insert(k, id);
                }
                Err(e) => assert_eq!((e, t.len()), (InsertError::Full, 512)),
            },
        }
        if step % 997 == 0 {
            for k in 0..700 {
                let c = new_conn(&snap, Protocol::Tcp, k, 0);
                let reply = Tuple::new(Protocol::Tcp, c.daddr, c.dport, c.caddr, c.cport);
                assert_eq!(t.lookup_in(&in_tuple(&c)), model.get(&k).copied(), "step {step} key {k}");
                assert_eq!(t.lookup_out(&reply), model.get(&k).copied());
            }
        }
    }
}

#[test]
fn syn_reuses_a_time_wait_conn() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Route, "rr", None).snapshot();
    let mut t = table(16, &snap);
    let c = new_conn(&snap, Protocol::Tcp, 1, 0);
    let id = t.insert(&c, 0).unwrap();
    for f in [TcpFlags::syn(), TcpFlags::ack(), TcpFlags::fin_ack()] {
        t.on_packet(id, Dir::In, f, 0);
    }
    assert_eq!(t.get(id).unwrap().tcp_state(), TcpState::FinWait);
    // FIN_WAIT is reused only with conn_reuse_mode bit 2: here the SYN revives it.
    t.on_packet(id, Dir::In, TcpFlags::syn(), S);
    assert_eq!(t.get(id).unwrap().tcp_state(), TcpState::SynRecv);
    for f in [TcpFlags::ack(), TcpFlags::fin_ack(), TcpFlags::rst()] {
        t.on_packet(id, Dir::In, f, 2 * S);
    }
    // Input-only: FW + rst -> CLOSE; build TIME_WAIT through FIN on SYN_RECV instead.
    let id = t.insert(&new_conn(&snap, Protocol::Tcp, 2, 0), 3 * S).unwrap();
    t.on_packet(id, Dir::In, TcpFlags::syn(), 3 * S);
    t.on_packet(id, Dir::In, TcpFlags::fin_ack(), 3 * S);
    assert_eq!(t.get(id).unwrap().tcp_state(), TcpState::TimeWait);
    assert_eq!(t.on_packet(id, Dir::In, TcpFlags::syn(), 4 * S), Verdict::Expired);
    assert!(!alive(&t, id));
    assert_eq!(t.counts(snap.services()[0].dests[0].id).inactive, 1, "only the CLOSE conn remains");
}

const _: () = assert!(rvs_core::conn::ENTRY_BYTES == 64);

#[test]
fn bytes_per_connection_from_allocation() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Masq, "rr", None).snapshot();
    for cap in [1u32 << 16, 100_000, (1 << 17) + 1, 300_000] {
        let t = table(cap, &snap);
        let per = t.heap_bytes() as f64 / f64::from(cap);
        assert!(per <= 128.0, "cap {cap}: {per} B per connection");
    }
}

#[test]
fn control_plane_reads_and_sums_per_core_counts() {
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Route, "rr", None).snapshot();
    let dest = snap.services()[0].dests[0].id;
    let mut cores: Vec<ConnTable> = (0..3).map(|_| table(16, &snap)).collect();
    let readers: Vec<_> = cores.iter().map(|t| t.load_reader()).collect();
    for (k, t) in cores.iter_mut().enumerate() {
        for i in 0..=k as u32 {
            let id = t.insert(&new_conn(&snap, Protocol::Tcp, i, 0), 0).unwrap();
            if i % 2 == 0 {
                t.on_packet(id, Dir::In, TcpFlags::syn(), 0);
            }
        }
    }
    // Core k holds k+1 conns, the even-numbered ones active: 1+1+2 active, 0+1+1 inactive.
    let sum = std::thread::spawn(move || rvs_core::service::DestLoadReader::sum(&readers, dest)).join().unwrap();
    assert_eq!((sum.active, sum.inactive), (4, 2));
}

/// IPv6 connections take a line from a pool of `capacity_v6`; when it is spent, IPv6
/// inserts are refused and counted while IPv4 ones still fit, and lines come back on
/// removal.
#[test]
fn ipv6_pool_bounds_ipv6_connections_only() {
    use rvs_core::conn::NewConn;
    let snap = config(Protocol::Tcp, 80, 1, FwdMethod::Masq, "rr", None).snapshot();
    let d = &snap.services()[0].dests[0];
    let mut t =
        ConnTable::new(ConnConfig { capacity: 8, capacity_v6: Some(2), max_dests: 64, ..ConnConfig::default() }, 0);
    let v6 = |i: u8| {
        let mut a = Addr::from("2001:db8::1".parse::<std::net::IpAddr>().unwrap());
        a.0[15] = i;
        a
    };
    let vip6 = Addr::from("2001:db8:1::1".parse::<std::net::IpAddr>().unwrap());
    let mut rs6 = *d;
    rs6.addr = Addr::from("2001:db8:2::1".parse::<std::net::IpAddr>().unwrap());
    let c6 = |i| NewConn::to_dest(Protocol::Tcp, (v6(i), 1000), (vip6, 80), &rs6);
    let a = t.insert(&c6(1), 0).unwrap();
    t.insert(&c6(2), 0).unwrap();
    assert_eq!(t.insert(&c6(3), 0), Err(InsertError::Full));
    assert_eq!((t.stats().refused_full, t.stats().refused_v6), (1, 1));
    assert_eq!(t.v6_usage(), (2, 2));
    // IPv4 still fits.
    t.insert(&new_conn(&snap, Protocol::Tcp, 1, 0), 0).unwrap();
    // IPv6 addresses read back whole, and the line is reused after removal.
    let c = t.get(a).unwrap();
    assert_eq!((c.caddr(), c.vaddr(), c.daddr()), (v6(1), vip6, rs6.addr));
    assert!(t.remove(a));
    assert_eq!(t.v6_usage(), (1, 2));
    let b = t.insert(&c6(3), 0).unwrap();
    assert_eq!(t.lookup_in(&Tuple::new(Protocol::Tcp, v6(3), 1000, vip6, 80)), Some(b));
    assert_eq!(t.lookup_out(&Tuple::new(Protocol::Tcp, rs6.addr, rs6.port, v6(3), 1000)), Some(b));
    assert_eq!(t.lookup_in(&Tuple::new(Protocol::Tcp, v6(1), 1000, vip6, 80)), None);
}
