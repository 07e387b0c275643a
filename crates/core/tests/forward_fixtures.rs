//! Katran-style fixtures for virtual-service forwarding: input frame → expected output
//! frame (or drop reason, or redirect), for NAT, DR and TUN. Expected frames come from
//! scapy (fixtures/gen_forward.py), so checksums are checked against an independent
//! implementation, byte for byte.

mod forward_common;

use std::net::Ipv4Addr;

use forward_common::golden::*;
use forward_common::*;
use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::service::{DestSpec, FwdMethod};
use rvs_core::stats::DropReason;
use wire::VecBuf;

#[test]
fn nat_rewrites_to_the_real_server_and_back_to_the_vip() {
    let mut l = lab();
    assert_eq!(run(&mut l, 0, NAT_SYN_IN).tx, vec![(1, hex(NAT_SYN_OUT))]);
    assert_eq!(run(&mut l, 1, NAT_SYNACK_IN).tx, vec![(0, hex(NAT_SYNACK_OUT))]);
    // rr: the next connection goes to the second real server, on its own port.
    assert_eq!(run(&mut l, 0, NAT_SYN2_IN).tx, vec![(1, hex(NAT_SYN2_OUT))]);
    // A retransmitted SYN stays on its connection.
    assert_eq!(run(&mut l, 0, NAT_SYN_IN).tx, vec![(1, hex(NAT_SYN_OUT))]);
    assert_eq!(l.dir.lb.conns().len(), 2);
    let total: u64 = l.stats.dests.iter().map(|d| d.conns.get()).sum();
    assert_eq!(total, 2);
    let out: u64 = l.stats.dests.iter().map(|d| d.outpkts.get()).sum();
    assert_eq!(out, 1, "one reply translated");
}

#[test]
fn non_syn_without_connection_is_dropped() {
    let mut l = lab();
    let io = run(&mut l, 0, NAT_ACK_NOCONN);
    assert!(io.tx.is_empty());
    assert_eq!(io.drops, vec![(0, DropReason::NoConn)]);
}

#[test]
fn dr_changes_only_the_mac() {
    let mut l = lab();
    assert_eq!(run(&mut l, 0, DR_SYN_IN).tx, vec![(1, hex(DR_SYN_OUT))]);
}

#[test]
fn tun_encapsulates_towards_the_router() {
    let mut l = lab();
    assert_eq!(run(&mut l, 0, TUN_SYN_IN).tx, vec![(1, hex(TUN_SYN_OUT))]);
}

#[test]
fn tun_too_big_with_df_gets_fragmentation_needed() {
    let mut l = lab();
    let io = run(&mut l, 0, TUN_BIG_DF_IN);
    assert_eq!(io.tx, vec![(0, hex(TUN_FRAG_NEEDED_OUT))]);
    assert_eq!(io.drops, vec![(0, DropReason::TooBig)]);
}

#[test]
fn no_real_server_answers_port_unreachable() {
    let mut l = lab();
    let io = run(&mut l, 0, NODEST_IN);
    assert_eq!(io.tx, vec![(0, hex(NODEST_OUT))]);
    assert_eq!(io.drops, vec![(0, DropReason::NoDest)]);
}

#[test]
fn icmp_error_from_real_server_reaches_client_about_the_vip() {
    let mut l = lab();
    assert_eq!(run(&mut l, 0, UDP_IN).tx, vec![(1, hex(UDP_OUT))]);
    assert_eq!(run(&mut l, 1, RS_UNREACH_IN).tx, vec![(0, hex(RS_UNREACH_OUT))]);
}

#[test]
fn replies_owned_by_another_core_are_redirected() {
    let mut l = lab();
    let reply = Tuple::new(
        Protocol::Tcp,
        Addr::from(Ipv4Addr::new(10, 0, 3, 11)),
        8080,
        Addr::from(Ipv4Addr::new(10, 0, 1, 2)),
        40000,
    );
    assert!(l.owners.insert(1, &reply));
    let io = run(&mut l, 1, NAT_SYNACK_IN);
    assert_eq!(io.redirects, vec![(1, 1)]);
    assert!(io.tx.is_empty());
    // Arriving redirected at a core that lacks it: dropped, not bounced again.
    let mut io = Recorder::default();
    l.dir.input(1, VecBuf::from_slice(&hex(NAT_SYNACK_IN)), 1_000, true, &mut io);
    assert_eq!(io.drops, vec![(1, DropReason::RedirectMiss)]);
    // A connection on its client's own worker claims nothing (its replies reach that
    // worker by the client's address); only connections living elsewhere are named.
    run(&mut l, 0, NAT_SYN_IN);
    assert_eq!(l.owners.owner(0, &reply), Some(1), "the earlier entry stays");
}

#[test]
fn weight_zero_takes_no_new_connections_but_keeps_old_ones() {
    let mut l = lab();
    assert_eq!(run(&mut l, 0, DR_SYN_IN).tx.len(), 1);
    // `-e -t VIP:81 -r 10.0.3.11:81 -g -w 0`
    l.cfg
        .edit_dest(&key(Protocol::Tcp, 81), &DestSpec { weight: 0, ..dest([10, 0, 3, 11], 81, FwdMethod::Route) })
        .unwrap();
    l.dir.set_snapshot(l.cfg.snapshot());
    assert_eq!(run(&mut l, 0, DR_SYN_IN).tx, vec![(1, hex(DR_SYN_OUT))], "the open connection keeps flowing");
    // A new client: no usable server, so ICMP port unreachable back out of the wan port.
    let io = run(&mut l, 0, &DR_SYN_IN.replace("9c420051", "9c430051")); // source port 40003
    assert_eq!(io.drops, vec![(0, DropReason::NoDest)], "no new connection to a quiescent server");
    assert!(io.tx.iter().all(|(p, _)| *p == 0));
}

#[test]
fn router_fragmentation_needed_about_a_nat_reply_goes_to_the_real_server() {
    let mut l = lab();
    run(&mut l, 0, NAT_SYN_IN);
    assert_eq!(run(&mut l, 0, ROUTER_FRAG_NAT_IN).tx, vec![(1, hex(ROUTER_FRAG_NAT_OUT))]);
}

#[test]
fn router_fragmentation_needed_about_a_dr_reply_goes_to_the_real_server() {
    let mut l = lab();
    run(&mut l, 0, DR_SYN_IN);
    assert_eq!(run(&mut l, 0, ROUTER_FRAG_DR_IN).tx, vec![(1, hex(ROUTER_FRAG_DR_OUT))]);
}

/// Malformed input is counted and dropped, never a panic: every golden frame, truncated
/// and with bytes flipped, through the whole Director (balancer and L3), both ports,
/// both as received and as redirected from another worker.
#[test]
fn mutated_frames_never_panic_the_director() {
    let seeds = [
        NAT_SYN_IN,
        NAT_SYNACK_IN,
        NAT_ACK_NOCONN,
        DR_SYN_IN,
        TUN_SYN_IN,
        TUN_BIG_DF_IN,
        NODEST_IN,
        UDP_IN,
        RS_UNREACH_IN,
        ROUTER_FRAG_NAT_IN,
        ROUTER_FRAG_DR_IN,
    ];
    let mut l = lab();
    let mut io = Recorder::default();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..60_000u64 {
        let mut f = hex(seeds[(i as usize) % seeds.len()]);
        let r = next();
        if r & 3 == 0 {
            f.truncate((r >> 8) as usize % (f.len() + 1));
        }
        for _ in 0..(r >> 16) % 4 {
            let at = next() as usize % f.len().max(1);
            if let Some(b) = f.get_mut(at) {
                *b ^= (next() >> 24) as u8 | 1;
            }
        }
        l.dir.input((r >> 40) as u16 & 1, VecBuf::from_slice(&f), 1_000 + i, r & 0x100 != 0, &mut io);
        if i % 1000 == 0 {
            l.dir.tick(1_000 + i, &mut io);
        }
    }
    assert!(!io.drops.is_empty() && !io.tx.is_empty(), "mutations both forwarded and dropped");
}

/// A connection's next hop is resolved once per real server and reused, until the
/// neighbour table or the L3 configuration changes (their generations).
#[test]
fn a_real_servers_next_hop_is_resolved_once_and_rebound_when_tables_change() {
    let mut l = lab();
    assert_eq!(run(&mut l, 0, DR_SYN_IN).tx, vec![(1, hex(DR_SYN_OUT))]);
    let first = l.dir.node.resolutions();
    for _ in 0..100 {
        assert_eq!(run(&mut l, 0, DR_SYN_IN).tx.len(), 1);
    }
    assert_eq!(l.dir.node.resolutions(), first, "100 packets, no lookup");
    // rs1 moves to another MAC: the next packet is rebound and goes there.
    let moved = mac([3, 0x99]);
    l.dir.node.learn(1, Ipv4Addr::new(10, 0, 3, 11), moved, false, 1_000, &mut Recorder::default());
    let io = run(&mut l, 0, DR_SYN_IN);
    assert_eq!(&io.tx[0].1[..6], &moved.0);
    assert_eq!(l.dir.node.resolutions(), first + 1);
    // A new configuration (routes, addresses) rebinds too.
    let cfg = std::sync::Arc::new(l.dir.node.config().clone());
    l.dir.node.set_config(cfg);
    run(&mut l, 0, DR_SYN_IN);
    assert_eq!(l.dir.node.resolutions(), first + 2);
}
