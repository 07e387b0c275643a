//! IPv6 through the director, Katran-style: input frame → expected output frame (or
//! drop), for NAT, DR and TUN (IPv6-in-IPv6, RFC 2473), ICMPv6 errors translated for
//! their connection, and the node's NDP and echo. Expected frames are scapy's
//! (fixtures/gen_forward.py), checksums included, byte for byte.

mod forward_common;

use forward_common::golden::*;
use forward_common::*;
use rvs_core::stats::DropReason;
use wire::VecBuf;

fn run6(l: &mut Lab, port: u16, frame: &str) -> Recorder {
    let mut io = Recorder::default();
    l.dir.input(port, VecBuf::from_slice(&hex(frame)), 1_000, false, &mut io);
    io
}

#[test]
fn nat_v6_rewrites_to_the_real_server_and_back_to_the_vip() {
    let mut l = lab6();
    assert_eq!(run6(&mut l, 0, V6_NAT_SYN_IN).tx, vec![(1, hex(V6_NAT_SYN_OUT))]);
    assert_eq!(run6(&mut l, 1, V6_NAT_SYNACK_IN).tx, vec![(0, hex(V6_NAT_SYNACK_OUT))]);
    assert_eq!(l.dir.lb.conns().len(), 1);
}

#[test]
fn dr_v6_changes_only_the_mac_and_the_hop_limit() {
    let mut l = lab6();
    assert_eq!(run6(&mut l, 0, V6_DR_SYN_IN).tx, vec![(1, hex(V6_DR_SYN_OUT))]);
}

#[test]
fn tun_v6_encapsulates_ipv6_in_ipv6_towards_the_router() {
    let mut l = lab6();
    assert_eq!(run6(&mut l, 0, V6_TUN_SYN_IN).tx, vec![(1, hex(V6_TUN_SYN_OUT))]);
}

#[test]
fn tun_v6_too_big_gets_packet_too_big_with_the_tunnel_mtu() {
    let mut l = lab6();
    let io = run6(&mut l, 0, V6_TUN_BIG_IN);
    assert_eq!(io.tx, vec![(0, hex(V6_TUN_PTB_OUT))]);
    assert_eq!(io.drops, vec![(0, DropReason::TooBig)]);
}

#[test]
fn no_real_server_v6_answers_port_unreachable_from_the_vip() {
    let mut l = lab6();
    let io = run6(&mut l, 0, V6_NODEST_IN);
    assert_eq!(io.tx, vec![(0, hex(V6_NODEST_OUT))]);
    assert_eq!(io.drops, vec![(0, DropReason::NoDest)]);
}

#[test]
fn icmpv6_error_from_a_real_server_reaches_the_client_about_the_vip() {
    let mut l = lab6();
    assert_eq!(run6(&mut l, 0, V6_UDP_IN).tx, vec![(1, hex(V6_UDP_OUT))]);
    assert_eq!(run6(&mut l, 1, V6_RS_UNREACH_IN).tx, vec![(0, hex(V6_RS_UNREACH_OUT))]);
}

#[test]
fn packet_too_big_about_a_nat_v6_reply_goes_to_the_real_server() {
    let mut l = lab6();
    run6(&mut l, 0, V6_NAT_SYN_IN);
    assert_eq!(run6(&mut l, 0, V6_ROUTER_PTB_NAT_IN).tx, vec![(1, hex(V6_ROUTER_PTB_NAT_OUT))]);
}

#[test]
fn a_corrupted_icmpv6_error_is_dropped() {
    let mut l = lab6();
    run6(&mut l, 0, V6_NAT_SYN_IN);
    let mut f = hex(V6_ROUTER_PTB_NAT_IN);
    f[14 + 40 + 7] ^= 0x40; // the MTU changed in transit, checksum left as it was
    let mut io = Recorder::default();
    l.dir.input(0, VecBuf::from_slice(&f), 1_000, false, &mut io);
    assert!(io.tx.is_empty());
    assert_eq!(io.drops, vec![(0, DropReason::BadChecksum)]);
}

#[test]
fn neighbor_solicitation_for_the_vip_is_advertised_with_our_mac() {
    let mut l = lab6();
    assert_eq!(run6(&mut l, 0, V6_NS_VIP_IN).tx, vec![(0, hex(V6_NA_VIP_OUT))]);
    // Not on the lan port, which does not hold the VIP.
    assert!(run6(&mut l, 1, V6_NS_VIP_IN).tx.is_empty());
}

#[test]
fn echo_request_to_the_vip_is_answered() {
    let mut l = lab6();
    assert_eq!(run6(&mut l, 0, V6_ECHO_IN).tx, vec![(0, hex(V6_ECHO_OUT))]);
}

#[test]
fn an_unresolved_real_server_is_solicited_through_its_solicited_node_group() {
    let mut l = lab6();
    // rs1 forgotten: a fresh node with the same config but no neighbours.
    let cfg = std::sync::Arc::new(l.dir.node.config().clone());
    l.dir.node = rvs_core::l3::Node::new(cfg, rvs_core::neigh::NeighConfig::default());
    let io = run6(&mut l, 0, V6_DR_SYN_IN);
    assert_eq!(io.tx, vec![(1, hex(V6_NS_RS1_OUT))], "the SYN waits; a solicitation goes out");
    // The real server's advertisement releases the SYN.
    let na = wire_na("2001:db8:3::11", [2, 0, 0, 0, 3, 11], true);
    let mut io = Recorder::default();
    l.dir.input(1, VecBuf::from_slice(&na), 1_000, false, &mut io);
    assert_eq!(io.tx, vec![(1, hex(V6_DR_SYN_OUT))]);
}

/// Another worker solicited rs1 and its answer came to this one (the NIC's hash picks
/// the queue): the solicited advertisement to our address creates the entry, so the
/// SYN goes straight out; an unsolicited one creates nothing (RFC 4861 7.2.5).
#[test]
fn a_solicited_advertisement_answers_another_workers_solicitation() {
    let fresh = |l: &mut Lab| {
        let cfg = std::sync::Arc::new(l.dir.node.config().clone());
        l.dir.node = rvs_core::l3::Node::new(cfg, rvs_core::neigh::NeighConfig::default());
    };
    for (solicited, resolved) in [(true, true), (false, false)] {
        let mut l = lab6();
        fresh(&mut l);
        let na = wire_na("2001:db8:3::11", [2, 0, 0, 0, 3, 11], solicited);
        let mut io = Recorder::default();
        l.dir.input(1, VecBuf::from_slice(&na), 1_000, false, &mut io);
        let io = run6(&mut l, 0, V6_DR_SYN_IN);
        let want = if resolved { V6_DR_SYN_OUT } else { V6_NS_RS1_OUT };
        assert_eq!(io.tx, vec![(1, hex(want))], "solicited: {solicited}");
    }
}

/// A neighbor advertisement from `target` at `mac`, built with wire's Repr side.
fn wire_na(target: &str, mac: [u8; 6], solicited: bool) -> Vec<u8> {
    let t: std::net::Ipv6Addr = target.parse().unwrap();
    let mac = wire::EthernetAddress(mac);
    let icmp = wire::Icmpv6Repr::NeighborAdvert {
        router: false,
        solicited,
        override_: true,
        target: t,
        target_lladdr: Some(mac),
    };
    let ip = wire::Ipv6Repr {
        src_addr: t,
        dst_addr: "2001:db8:3::1".parse().unwrap(),
        next_header: 58,
        payload_len: icmp.buffer_len() as u16,
        hop_limit: 255,
        traffic_class: 0,
        flow_label: 0,
    };
    let eth =
        wire::EthernetRepr { src_addr: mac, dst_addr: wire::EthernetAddress([2, 0, 0, 0, 1, 1]), ethertype: 0x86dd };
    let mut b = VecBuf::from_slice(&[]);
    wire::frame::emit_icmpv6_frame(&mut b, &eth, &ip, &icmp).unwrap();
    b.to_vec()
}

#[test]
fn fragments_of_an_ipv6_nat_datagram_follow_their_first_fragment() {
    let mut l = lab6();
    for (i, o) in [(V6_FRAG0_IN, V6_FRAG0_OUT), (V6_FRAG1_IN, V6_FRAG1_OUT), (V6_FRAG2_IN, V6_FRAG2_OUT)] {
        let io = run6(&mut l, 0, i);
        assert_eq!(io.drops, vec![]);
        assert_eq!(io.tx, vec![(1, hex(o))]);
    }
    // A later fragment with no first fragment seen is dropped and counted.
    let mut l = lab6();
    assert_eq!(run6(&mut l, 0, V6_FRAG1_IN).drops, vec![(0, DropReason::Fragment)]);
}
