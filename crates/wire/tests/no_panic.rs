//! Robustness: every `new_checked`, every accessor and setter reached through it, the
//! option iterators, the extension-header walk and every Repr parse (re-emitted and
//! parsed again to the same value) must never panic, on random bytes and
//! on random mutations of the golden frames. ~10k cases in all; the cargo-fuzz target
//! in `fuzz/` runs the same walk for as long as one likes.

mod common;

use std::net::Ipv6Addr;

use common::walk::{walk_frame, walk_frame_mut, walk_ipv4, walk_ipv6};
use proptest::prelude::*;
use wire::ipv6::{upper_layer, Ipv6ExtHeaders};
use wire::{
    ethertype, ArpPacket, ArpRepr, EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr,
    Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, TcpOption, TcpOptions, UdpPacket,
};

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Truncate(usize),
    Extend(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Mutation::Extend),
    ]
}

fn apply(frame: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Set(i, v) if !frame.is_empty() => {
            let n = frame.len();
            frame[i % n] = *v;
        }
        Mutation::Truncate(n) => {
            let keep = n % (frame.len() + 1);
            frame.truncate(keep);
        }
        Mutation::Extend(b) => frame.extend_from_slice(b),
        Mutation::Set(..) => {}
    }
}

/// Try every view directly on `b`, not only through Ethernet.
fn every_view(b: &[u8]) {
    let mut acc = 0;
    walk_ipv4(&mut acc, b, 0);
    walk_ipv6(&mut acc, b, 0);
    reprs(b);
    if let Ok(a) = ArpPacket::new_checked(b) {
        let _ = (a.operation(), a.source_hardware_addr(), a.target_protocol_addr());
    }
    if let Ok(i) = Icmpv4Packet::new_checked(b) {
        let _ = (i.quoted_ipv4(), i.next_hop_mtu(), i.verify_checksum());
    }
    if let Ok(i) = Icmpv6Packet::new_checked(b) {
        let _ = (i.quoted_ipv6(), i.mtu(), i.ndp_target_addr());
    }
    if let Ok(u) = UdpPacket::new_checked(b) {
        let _ = (u.payload(), u.len());
        common::formats::ipvs_sync(u.payload());
    }
    for o in TcpOptions::new(b).take(64).flatten() {
        let mut out = [0u8; 300];
        let _ = o.emit(&mut out);
    }
    let _ = TcpOption::parse(b);
    let _ = wire::SynOptions::parse(b);
    if let Some((&nh, rest)) = b.split_first() {
        let _ = upper_layer(nh, rest);
        for h in Ipv6ExtHeaders::new(nh, rest).take(64) {
            let _ = h;
        }
    }
    let _ = wire::ethernet::l3_offset(b);
    common::formats::walk_formats(b);
}

/// Every Repr parse straight on `b`, even where the view was never checked.
fn reprs(b: &[u8]) {
    let (s, d) = (Ipv6Addr::LOCALHOST, Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 1));
    let _ = EthernetRepr::parse(&EthernetFrame::new_unchecked(b));
    let _ = ArpRepr::parse(&ArpPacket::new_unchecked(b));
    let _ = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(b));
    let _ = Ipv6Repr::parse(&Ipv6Packet::new_unchecked(b));
    let _ = Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(b));
    let _ = Icmpv6Repr::parse(&s, &d, &Icmpv6Packet::new_unchecked(b));
    let _ = Icmpv6Repr::parse(&Ipv6Addr::UNSPECIFIED, &d, &Icmpv6Packet::new_unchecked(b));
}

/// The scapy goldens of both directions: what we parse and what we emit.
fn every_golden() -> Vec<(&'static str, Vec<u8>)> {
    let mut v = common::all_frames();
    v.extend(common::emit_frames());
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    #[test]
    fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        walk_frame(&b);
        walk_frame_mut(&mut b.clone());
        every_view(&b);
    }

    /// Random bytes behind a plausible Ethernet + IP prefix, so the walk gets deep.
    #[test]
    fn random_after_valid_prefix_never_panic(v6 in any::<bool>(), vlan in any::<bool>(), tail in proptest::collection::vec(any::<u8>(), 0..120), proto in prop_oneof![Just(6u8), Just(17), Just(1), Just(58), Just(4), Just(0), Just(43), Just(44), Just(60), Just(51), any::<u8>()]) {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        if vlan {
            f.extend_from_slice(&ethertype::VLAN.to_be_bytes());
            f.extend_from_slice(&[0, 100]);
        }
        if v6 {
            f.extend_from_slice(&ethertype::IPV6.to_be_bytes());
            f.extend_from_slice(&[0x60, 0, 0, 0]);
            f.extend_from_slice(&(tail.len() as u16).to_be_bytes());
            f.extend_from_slice(&[proto, 64]);
            f.extend_from_slice(&[0x20; 32]);
        } else {
            f.extend_from_slice(&ethertype::IPV4.to_be_bytes());
            f.extend_from_slice(&[0x45, 0]);
            f.extend_from_slice(&((20 + tail.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        }
        f.extend_from_slice(&tail);
        walk_frame(&f);
        walk_frame_mut(&mut f.clone());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn mutated_golden_frames_never_panic(which in any::<usize>(), muts in proptest::collection::vec(mutation(), 1..6)) {
        let frames = every_golden();
        let mut f = frames[which % frames.len()].1.clone();
        for m in &muts {
            apply(&mut f, m);
        }
        walk_frame(&f);
        walk_frame_mut(&mut f.clone());
        every_view(&f);
        if f.len() > 14 {
            every_view(&f[14..]);
        }
    }
}

/// Every golden frame, and every prefix of it, walks without panicking.
#[test]
fn golden_frames_and_all_prefixes() {
    for (_, f) in every_golden() {
        assert_ne!(walk_frame(&f), 0);
        walk_frame_mut(&mut f.clone());
        for n in 0..f.len() {
            walk_frame(&f[..n]);
            walk_frame_mut(&mut f[..n].to_vec());
            every_view(&f[n..]);
        }
    }
}

/// The cargo-fuzz seed corpus (`fuzz/corpus/parse_packet/seed-*`) holds exactly the
/// golden frames, so the fuzzer starts from real packets.
#[test]
fn fuzz_seed_corpus_matches_golden_vectors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/parse_packet");
    for (name, f) in common::all_frames() {
        let seed = std::fs::read(dir.join(format!("seed-{name}"))).unwrap_or_else(|e| panic!("seed-{name}: {e}"));
        assert_eq!(seed, f, "seed-{name} differs from its golden vector");
    }
}
