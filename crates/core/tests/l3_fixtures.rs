//! Katran-style fixtures for the L3 node: input frame → expected output frames and
//! drops. The golden frames were generated with scapy, an independent implementation,
//! so a checksum or field-order mistake in ours cannot hide in both sides.

use std::net::Ipv4Addr;
use std::sync::Arc;

use rvs_core::l3::{Io, L3Config, Node, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::RouteTable;
use rvs_core::stats::DropReason;
use wire::{EthernetAddress, PacketBuf, VecBuf};

const D: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const R: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0xfe]);

const ARP_REQ_VIP: &str = "ffffffffffff0200000000fe080600010800060400010200000000fe0a0002010000000000000a000264";
const ARP_REP_VIP: &str = "0200000000fe020000000001080600010800060400020200000000010a0002640200000000fe0a000201";
const ECHO_REQ: &str = "0200000000010200000000fe08004500002c123440003f0112380a0001020a0002640800d653007700037276732d70696e672d7061796c6f6164";
const ECHO_REP: &str = "0200000000fe02000000000108004500002c12344000400111380a0002640a0001020000de53007700037276732d70696e672d7061796c6f6164";
const GARP_VIP: &str = "ffffffffffff020000000001080600010800060400010200000000010a0002640000000000000a000264";
const PROTO_253: &str = "0200000000010200000000fe0800450000170001000040fd62e60a0001020a00020278797a";
const ARP_PROBE_GW: &str = "ffffffffffff020000000001080600010800060400010200000000010a0002020000000000000a000201";
const ARP_REP_GW: &str = "0200000000010200000000fe080600010800060400020200000000fe0a0002010200000000010a000202";
const UDP_OUT_IN: &str = "00000000000000000000000008004500001e00010000401163690a0002640a00010200350cef000a72e76869";
const UDP_OUT_EXP: &str = "0200000000fe02000000000108004500001e00010000401163690a0002640a00010200350cef000a72e76869";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[derive(Default)]
struct Recorder {
    tx: Vec<(u16, Vec<u8>)>,
    drops: Vec<(u16, DropReason)>,
    learned: Vec<(u16, std::net::IpAddr, EthernetAddress)>,
    no_mbufs: bool,
}

impl Io<VecBuf> for Recorder {
    fn tx(&mut self, port: u16, pkt: VecBuf) {
        self.tx.push((port, pkt.to_vec()));
    }
    fn drop(&mut self, port: u16, _pkt: VecBuf, reason: DropReason) {
        self.drops.push((port, reason));
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        (!self.no_mbufs).then(|| VecBuf::from_slice(&[]))
    }
    fn count_drop(&mut self, port: u16, reason: DropReason) {
        self.drops.push((port, reason));
    }
    fn neigh_learned(&mut self, port: u16, ip: std::net::IpAddr, mac: EthernetAddress) {
        self.learned.push((port, ip, mac));
    }
}

fn node() -> Node<VecBuf> {
    let mut routes = RouteTable::default();
    routes.add_gateway("0.0.0.0/0".parse().unwrap(), Ipv4Addr::new(10, 0, 2, 1), 0);
    let ports = vec![
        PortL3 {
            mac: D,
            addrs: vec!["10.0.2.2/24".parse().unwrap()],
            vips: vec![Ipv4Addr::new(10, 0, 2, 100)],
            mtu: 1500,
            ..Default::default()
        },
        PortL3 {
            mac: EthernetAddress([2, 0, 0, 0, 1, 1]),
            addrs: vec!["10.0.3.1/24".parse().unwrap()],
            vips: vec![],
            mtu: 1500,
            ..Default::default()
        },
    ];
    Node::new(Arc::new(L3Config::new(ports, routes)), NeighConfig::default())
}

fn run(node: &mut Node<VecBuf>, port: u16, frame: &str) -> Recorder {
    let mut io = Recorder::default();
    node.input(port, VecBuf::from_slice(&hex(frame)), 0, &mut io);
    io
}

#[test]
fn arp_request_for_vip_gets_reply_with_our_mac() {
    let mut n = node();
    let io = run(&mut n, 0, ARP_REQ_VIP);
    assert_eq!(io.tx, vec![(0, hex(ARP_REP_VIP))]);
    assert!(io.drops.is_empty());
    // The requester is on-link and asked for us: learned (RFC 826 merge).
    assert_eq!(io.learned, vec![(0, Ipv4Addr::new(10, 0, 2, 1).into(), R)]);
}

#[test]
fn arp_for_vip_is_not_answered_on_another_port() {
    let mut n = node();
    let io = run(&mut n, 1, ARP_REQ_VIP);
    assert!(io.tx.is_empty());
    assert_eq!(io.drops, vec![(1, DropReason::ArpIgnored)]);
}

#[test]
fn icmp_echo_to_vip_is_answered_byte_exact() {
    let mut n = node();
    let io = run(&mut n, 0, ECHO_REQ);
    assert_eq!(io.tx, vec![(0, hex(ECHO_REP))]);
}

#[test]
fn icmp_echo_with_bad_checksum_is_dropped() {
    let mut frame = hex(ECHO_REQ);
    let last = frame.len() - 1;
    frame[last] ^= 0xff;
    let mut n = node();
    let mut io = Recorder::default();
    n.input(0, VecBuf::from_slice(&frame), 0, &mut io);
    assert!(io.tx.is_empty());
    assert_eq!(io.drops, vec![(0, DropReason::BadChecksum)]);
}

#[test]
fn unknown_ip_protocol_is_counted() {
    let mut n = node();
    assert_eq!(run(&mut n, 0, PROTO_253).drops, vec![(0, DropReason::UnknownProtocol)]);
}

#[test]
fn classification_drops_by_reason() {
    let mut n = node();
    // Truncated Ethernet header.
    let mut io = Recorder::default();
    n.input(0, VecBuf::from_slice(&[1, 2, 3]), 0, &mut io);
    assert_eq!(io.drops, vec![(0, DropReason::Malformed)]);
    // Unicast for another MAC.
    let mut f = hex(ECHO_REQ);
    f[5] = 0x99;
    let mut io = Recorder::default();
    n.input(0, VecBuf::from_slice(&f), 0, &mut io);
    assert_eq!(io.drops, vec![(0, DropReason::OtherHost)]);
    // Unknown ethertype.
    let mut f = hex(ECHO_REQ);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    let mut io = Recorder::default();
    n.input(0, VecBuf::from_slice(&f), 0, &mut io);
    assert_eq!(io.drops, vec![(0, DropReason::UnknownEthertype)]);
    // IPv4 truncated below its header.
    let f = hex(ECHO_REQ)[..30].to_vec();
    let mut io = Recorder::default();
    n.input(0, VecBuf::from_slice(&f), 0, &mut io);
    assert_eq!(io.drops, vec![(0, DropReason::Malformed)]);
}

#[test]
fn gratuitous_arp_announces_every_address_and_vip() {
    let n = node();
    let mut io = Recorder::default();
    n.announce(&mut io);
    assert_eq!(io.tx.len(), 3, "10.0.2.2 and the VIP on wan, 10.0.3.1 on lan");
    assert!(io.tx.contains(&(0, hex(GARP_VIP))));
    let mut io = Recorder { no_mbufs: true, ..Default::default() };
    n.announce(&mut io);
    assert!(io.tx.is_empty());
    assert_eq!(io.drops.len(), 3, "every failed allocation is counted");
}

#[test]
fn output_resolves_the_gateway_then_sends_the_queued_packet() {
    let mut n = node();
    let mut io = Recorder::default();
    n.output(VecBuf::from_slice(&hex(UDP_OUT_IN)), Ipv4Addr::new(10, 0, 1, 2), 0, &mut io);
    assert_eq!(io.tx, vec![(0, hex(ARP_PROBE_GW))], "unresolved: an ARP request, packet held");
    let mut io = Recorder::default();
    n.input(0, VecBuf::from_slice(&hex(ARP_REP_GW)), 10, &mut io);
    assert_eq!(io.tx, vec![(0, hex(UDP_OUT_EXP))], "the reply releases the held packet");
    assert_eq!(io.learned, vec![(0, Ipv4Addr::new(10, 0, 2, 1).into(), R)]);
    let mut io = Recorder::default();
    n.output(VecBuf::from_slice(&hex(UDP_OUT_IN)), Ipv4Addr::new(10, 0, 1, 2), 20, &mut io);
    assert_eq!(io.tx, vec![(0, hex(UDP_OUT_EXP))], "resolved: sent at once");
}

#[test]
fn unanswered_arp_drops_the_held_packets_as_unresolved() {
    let mut n = node();
    let mut io = Recorder::default();
    n.output(VecBuf::from_slice(&hex(UDP_OUT_IN)), Ipv4Addr::new(10, 0, 1, 2), 0, &mut io);
    for t in (0..=5_000).step_by(100) {
        n.tick(t, &mut io);
    }
    let probes = io.tx.iter().filter(|(_, f)| f == &hex(ARP_PROBE_GW)).count();
    assert_eq!(probes, 3, "Linux-like: three solicitations");
    assert_eq!(io.drops, vec![(0, DropReason::NeighUnresolved)]);
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut n = node();
    let mut io = Recorder::default();
    let seeds = [ARP_REQ_VIP, ECHO_REQ, PROTO_253, ARP_REP_GW];
    let mut x: u32 = 12345;
    for i in 0..20_000 {
        let mut f = hex(seeds[i % seeds.len()]);
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let cut = (x as usize) % (f.len() + 1);
        f.truncate(cut.max(f.len() / 2));
        let at = (x as usize >> 8) % f.len().max(1);
        if let Some(b) = f.get_mut(at) {
            *b ^= (x >> 24) as u8;
        }
        n.input((x & 1) as u16, VecBuf::from_slice(&f), u64::from(x), &mut io);
    }
    let _ = VecBuf::from_slice(&[]).len();
}

/// An ARP request for `tpa` from `spa` with a MAC of its own (as a spoofer would send).
fn arp_request(spa: Ipv4Addr, tpa: Ipv4Addr, n: u32) -> VecBuf {
    let sha = EthernetAddress([2, 0x5f, (n >> 16) as u8, (n >> 8) as u8, n as u8, 1]);
    let mut f = vec![0u8; 42];
    let mut eth = wire::EthernetFrame::new_unchecked(&mut f[..]);
    eth.set_dst_addr(EthernetAddress::BROADCAST);
    eth.set_src_addr(sha);
    eth.set_ethertype(wire::ethertype::ARP);
    let mut arp = wire::ArpPacket::new_unchecked(eth.payload_mut());
    arp.fill_ipv4_over_ethernet(wire::arp_op::REQUEST, sha, spa, EthernetAddress::default(), tpa);
    VecBuf::from_slice(&f)
}

#[test]
fn defect_09_spoofed_arp_requests_cannot_fill_the_neighbour_table() {
    // A /16 port and the default 1,024 neighbours: 1,100 spoofed requests for our address.
    let ports = vec![PortL3 {
        mac: D,
        addrs: vec!["10.1.0.1/16".parse().unwrap()],
        vips: vec![],
        mtu: 1500,
        ..Default::default()
    }];
    let mut n: Node<VecBuf> = Node::new(Arc::new(L3Config::new(ports, RouteTable::default())), NeighConfig::default());
    let us = Ipv4Addr::new(10, 1, 0, 1);
    let rs = Ipv4Addr::new(10, 1, 200, 11);
    let mut io = Recorder::default();
    // A real server we already send to, resolved and in use.
    n.learn(0, Ipv4Addr::new(10, 1, 200, 12), R, true, 0, &mut io);
    n.output(udp_to(Ipv4Addr::new(10, 1, 200, 12)), Ipv4Addr::new(10, 1, 200, 12), 0, &mut io);
    for i in 0..1_100u32 {
        let spa = Ipv4Addr::new(10, 1, 1 + (i / 250) as u8, 1 + (i % 250) as u8);
        n.input(0, arp_request(spa, us, i), 0, &mut io);
    }
    assert!(n.neighbours().len() <= 1_024);
    // Traffic to a real server not yet resolved: an ARP probe goes out, nothing dropped.
    let mut io = Recorder::default();
    n.output(udp_to(rs), rs, 0, &mut io);
    assert_eq!(io.drops, vec![], "not neigh_table_full");
    assert_eq!(io.tx.len(), 1, "an ARP request for the real server");
    assert_eq!(&io.tx[0].1[38..42], &rs.octets(), "asking for {rs}");
    // The neighbour in use survived the flood.
    let mut io = Recorder::default();
    n.output(udp_to(Ipv4Addr::new(10, 1, 200, 12)), Ipv4Addr::new(10, 1, 200, 12), 0, &mut io);
    assert_eq!(io.tx.len(), 1);
    assert_eq!(&io.tx[0].1[..6], &R.0, "sent straight to its MAC");
}

/// An IPv4/UDP frame to `dst` (addresses filled in by the node's output).
fn udp_to(dst: Ipv4Addr) -> VecBuf {
    let mut f = hex(UDP_OUT_IN);
    let mut ip = wire::Ipv4Packet::new_unchecked(&mut f[14..]);
    ip.set_dst_addr(dst);
    ip.fill_checksum();
    VecBuf::from_slice(&f)
}

#[test]
fn a_vip_added_at_run_time_is_announced_and_answered_and_a_removed_one_is_not() {
    let mut n = node();
    let new_vip = Ipv4Addr::new(10, 0, 2, 101);
    let ask = |n: &mut Node<VecBuf>| {
        let mut io = Recorder::default();
        n.input(0, arp_request(Ipv4Addr::new(10, 0, 2, 1), new_vip, 1), 0, &mut io);
        io.tx
    };
    assert!(ask(&mut n).is_empty(), "not ours yet");
    let mut cfg = n.config().clone();
    cfg.ports[0].vips.push(new_vip);
    n.set_config(Arc::new(cfg.clone()));
    let answer = ask(&mut n);
    assert_eq!(answer.len(), 1, "answered from the next packet on");
    assert_eq!(&answer[0].1[28..32], &new_vip.octets(), "the reply's sender address is the new VIP");
    // The next tick announces it once (gratuitous ARP: sender = target = the VIP).
    let mut io = Recorder::default();
    n.tick(1, &mut io);
    let garps: Vec<_> =
        io.tx.iter().filter(|(_, f)| f[28..32] == new_vip.octets() && f[38..42] == new_vip.octets()).collect();
    assert_eq!(garps.len(), 1);
    let mut io = Recorder::default();
    n.tick(2, &mut io);
    assert!(io.tx.is_empty(), "announced once");
    cfg.ports[0].vips.retain(|v| *v != new_vip);
    n.set_config(Arc::new(cfg));
    assert!(ask(&mut n).is_empty(), "removed: no longer answered");
}
