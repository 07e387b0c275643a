//! Regression tests for the review's data-path defects (issue "Sixteen defects found in
//! review"), one or more per defect, named after it. Expected frames are scapy's
//! (fixtures/gen_forward.py).

mod forward_common;

use std::sync::Arc;

use forward_common::golden::*;
use forward_common::*;
use rvs_core::forward::Directory;
use rvs_core::stats::DropReason;
use wire::{Ipv4Packet, VecBuf};

fn input(l: &mut Lab, port: u16, frame: &[u8], now: u64, redirected: bool) -> Recorder {
    let mut io = Recorder::default();
    l.dir.input(port, VecBuf::from_slice(frame), now, redirected, &mut io);
    io
}

/// Two workers sharing an owner directory; `frame` (a client's first packet) goes to whichever
/// worker the director places it on. Returns (owner, the other).
fn two_workers_with(frame: &str) -> (Lab, Lab) {
    let owners = Arc::new(Directory::new(2, 1024));
    let mut w = [lab_on(0, 2, owners.clone()), lab_on(1, 2, owners)];
    let first = input(&mut w[0], 0, &hex(frame), 1_000, false);
    let owner = match first.redirects.as_slice() {
        [] => 0,
        [(to, _)] => usize::from(*to),
        other => panic!("one redirect at most, got {other:?}"),
    };
    if owner == 1 {
        assert_eq!(input(&mut w[1], 0, &hex(frame), 1_000, true).tx.len(), 1);
    } else {
        assert_eq!(first.tx.len(), 1);
    }
    let [a, b] = w;
    if owner == 0 {
        (a, b)
    } else {
        (b, a)
    }
}

#[test]
fn defect_01_icmp_error_for_another_workers_nat_connection_is_steered_to_it() {
    let (mut owner, mut other) = two_workers_with(NAT_SYN_IN);
    // A router's fragmentation needed about the NAT reply reaches the worker without it.
    let io = input(&mut other, 0, &hex(ROUTER_FRAG_NAT_IN), 1_000, false);
    assert!(io.drops.is_empty(), "not dropped: {:?}", io.drops);
    assert_eq!(io.redirects.len(), 1, "handed to the connection's owner");
    let io = input(&mut owner, 0, &hex(ROUTER_FRAG_NAT_IN), 1_000, true);
    assert_eq!(io.tx, vec![(1, hex(ROUTER_FRAG_NAT_OUT))]);
}

#[test]
fn defect_01_icmp_error_for_another_workers_dr_connection_is_steered_to_it() {
    let (mut owner, mut other) = two_workers_with(DR_SYN_IN);
    let io = input(&mut other, 0, &hex(ROUTER_FRAG_DR_IN), 1_000, false);
    assert!(io.drops.is_empty(), "not dropped: {:?}", io.drops);
    assert_eq!(io.redirects.len(), 1);
    let io = input(&mut owner, 0, &hex(ROUTER_FRAG_DR_IN), 1_000, true);
    assert_eq!(io.tx, vec![(1, hex(ROUTER_FRAG_DR_OUT))]);
}

/// The client's ACK for the NAT connection of NAT_SYN_IN (rvs does not check TCP
/// checksums, so only the flags byte needs changing).
fn nat_ack() -> Vec<u8> {
    let mut f = hex(NAT_SYN_IN);
    f[14 + 20 + 13] = 0x10;
    f
}

#[test]
fn defect_02_an_icmp_error_does_not_close_an_established_connection() {
    let mut l = lab();
    input(&mut l, 0, &hex(NAT_SYN_IN), 1_000, false);
    input(&mut l, 1, &hex(NAT_SYNACK_IN), 1_000, false);
    assert_eq!(input(&mut l, 0, &nat_ack(), 1_000, false).tx.len(), 1);
    let state = |l: &Lab, now| l.dir.lb.conns().iter(now).map(|c| (c.state, c.expires_ms)).next().unwrap();
    assert_eq!(state(&l, 1_000).0, "ESTABLISHED");
    assert_eq!(input(&mut l, 0, &hex(ROUTER_FRAG_NAT_IN), 2_000, false).tx.len(), 1);
    let (st, left) = state(&l, 2_000);
    assert_eq!(st, "ESTABLISHED", "IPVS's ip_vs_in_icmp never changes the state");
    assert!(left > 800_000, "still the established timeout, {left} ms left");
    // Idle past CLOSE's 10 s: the connection is still there for the client's next segment.
    let mut io = Recorder::default();
    l.dir.tick(13_000, &mut io);
    let io = input(&mut l, 0, &nat_ack(), 13_000, false);
    assert_eq!(io.drops, vec![]);
    assert_eq!(io.tx.len(), 1);
}

/// NODEST_IN (UDP to a service with no real server) from `src`.
fn nodest_from(src: [u8; 4]) -> Vec<u8> {
    let mut f = hex(NODEST_IN);
    let mut ip = Ipv4Packet::new_unchecked(&mut f[14..]);
    ip.set_src_addr(src.into());
    ip.fill_checksum();
    f
}

#[test]
fn defect_13_port_unreachable_is_rate_limited_per_worker() {
    let mut l = lab();
    let (mut sent, mut held) = (0, 0);
    for _ in 0..10_000 {
        let io = input(&mut l, 0, &hex(NODEST_IN), 5_000, false);
        assert_eq!(io.drops, vec![(0, DropReason::NoDest)], "every packet dropped and counted");
        sent += io.tx.len();
        assert_eq!(io.tx.len() as u32, io.icmp_sent);
        held += io.icmp_suppressed;
    }
    assert_eq!(sent as u64, rvs_core::l3::ICMP_ERRORS_BURST, "one burst in the same millisecond");
    assert_eq!(held as usize, 10_000 - sent);
    // The bucket refills at 1000 a second: 100 ms later, 100 more.
    let more: usize = (0..1_000).map(|_| input(&mut l, 0, &hex(NODEST_IN), 5_100, false).tx.len()).sum();
    assert_eq!(more, 50, "refilled to the burst, not beyond");
}

#[test]
fn defect_13_no_icmp_error_to_a_source_that_is_not_one_unicast_host() {
    let mut l = lab();
    for src in [[224, 0, 0, 5], [255, 255, 255, 255], [0, 0, 0, 0], [10, 0, 2, 255], [127, 0, 0, 1], [240, 0, 0, 1]] {
        let io = input(&mut l, 0, &nodest_from(src), 1_000, false);
        assert!(io.tx.is_empty(), "no error to {src:?}");
        assert_eq!(io.icmp_suppressed, 1);
        assert_eq!(io.drops, vec![(0, DropReason::NoDest)]);
    }
    // Nor about a frame sent to the link-layer broadcast address.
    let mut f = hex(NODEST_IN);
    f[..6].copy_from_slice(&[0xff; 6]);
    assert!(input(&mut l, 0, &f, 1_000, false).tx.is_empty());
    // A unicast host still gets one.
    assert_eq!(input(&mut l, 0, &hex(NODEST_IN), 1_000, false).tx, vec![(0, hex(NODEST_OUT))]);
}

#[test]
fn defect_14_ttl_1_to_a_vip_is_not_forwarded_and_gets_time_exceeded_from_the_vip() {
    let mut l = lab();
    let io = input(&mut l, 0, &hex(TTL1_SYN_IN), 1_000, false);
    assert_eq!(io.tx, vec![(0, hex(TTL1_SYN_OUT))]);
    assert_eq!(io.drops, vec![(0, DropReason::TtlExceeded)]);
}

#[test]
fn defect_14_ttl_1_nat_reply_gets_time_exceeded_from_the_directors_lan_address() {
    let mut l = lab();
    input(&mut l, 0, &hex(NAT_SYN_IN), 1_000, false);
    let io = input(&mut l, 1, &hex(TTL1_SYNACK_IN), 1_000, false);
    assert_eq!(io.tx, vec![(1, hex(TTL1_SYNACK_OUT))]);
    assert_eq!(io.drops, vec![(1, DropReason::TtlExceeded)]);
}

#[test]
fn defect_14_every_method_forwards_with_one_ttl_less() {
    let mut l = lab();
    let ttl = |f: &[u8], at: usize| f[at + 8];
    for (port, frame) in [(0, NAT_SYN_IN), (1, NAT_SYNACK_IN), (0, DR_SYN_IN)] {
        let inp = hex(frame);
        let io = input(&mut l, port, &inp, 1_000, false);
        assert_eq!(ttl(&io.tx[0].1, 14), ttl(&inp, 14) - 1, "{frame}");
        assert!(Ipv4Packet::new_checked(&io.tx[0].1[14..]).unwrap().verify_checksum());
    }
    // TUN: the inner packet's TTL (after the 20-byte outer header).
    let io = input(&mut l, 0, &hex(TUN_SYN_IN), 1_000, false);
    assert_eq!(ttl(&io.tx[0].1, 34), ttl(&hex(TUN_SYN_IN), 14) - 1);
}

#[test]
fn defect_15_a_corrupted_icmp_error_is_dropped_not_forwarded_with_a_fresh_checksum() {
    let mut l = lab();
    input(&mut l, 0, &hex(NAT_SYN_IN), 1_000, false);
    let io = input(&mut l, 0, &hex(ROUTER_FRAG_NAT_CORRUPT_IN), 1_000, false);
    assert!(io.tx.is_empty(), "MTU 68 never reaches the real server");
    assert_eq!(io.drops, vec![(0, DropReason::BadChecksum)]);
    // The intact one is translated with incrementally patched checksums (scapy agrees).
    assert_eq!(input(&mut l, 0, &hex(ROUTER_FRAG_NAT_IN), 1_000, false).tx, vec![(1, hex(ROUTER_FRAG_NAT_OUT))]);
}

#[test]
fn defect_16_fragments_of_a_nat_datagram_follow_their_first_fragment_both_ways() {
    let mut l = lab();
    for (i, o) in [(FRAG0_IN, FRAG0_OUT), (FRAG1_IN, FRAG1_OUT), (FRAG2_IN, FRAG2_OUT)] {
        let io = input(&mut l, 0, &hex(i), 1_000, false);
        assert_eq!(io.drops, vec![]);
        assert_eq!(io.tx, vec![(1, hex(o))]);
    }
    for (i, o) in
        [(FRAG_REPLY0_IN, FRAG_REPLY0_OUT), (FRAG_REPLY1_IN, FRAG_REPLY1_OUT), (FRAG_REPLY2_IN, FRAG_REPLY2_OUT)]
    {
        assert_eq!(input(&mut l, 1, &hex(i), 1_000, false).tx, vec![(0, hex(o))]);
    }
    let per_dest: u64 = l.stats.dests.iter().map(|d| d.inpkts.get() + d.outpkts.get()).sum();
    assert_eq!(per_dest, 6, "fragments count as the connection's packets");
}

#[test]
fn defect_16_a_later_fragment_without_its_first_is_dropped_and_counted() {
    let mut l = lab();
    let io = input(&mut l, 0, &hex(FRAG1_IN), 1_000, false);
    assert_eq!(io.drops, vec![(0, DropReason::Fragment)]);
    // Its datagram's first fragment is remembered for 30 s (Linux's ipfrag_time), not more.
    input(&mut l, 0, &hex(FRAG0_IN), 1_000, false);
    assert_eq!(input(&mut l, 0, &hex(FRAG1_IN), 30_999, false).tx.len(), 1);
    assert_eq!(input(&mut l, 0, &hex(FRAG2_IN), 31_000, false).drops, vec![(0, DropReason::Fragment)]);
}

#[test]
fn defect_16_later_fragments_on_another_worker_reach_the_datagrams_owner() {
    let (mut owner, mut other) = two_workers_with(FRAG0_IN);
    let io = input(&mut other, 0, &hex(FRAG1_IN), 1_000, false);
    assert_eq!(io.redirects.len(), 1);
    assert_eq!(input(&mut owner, 0, &hex(FRAG1_IN), 1_000, true).tx, vec![(1, hex(FRAG1_OUT))]);
}
