//! The exception path's decisions: with a kernel twin on the port, what the data path
//! does not consume and is addressed to the box goes up (`Io::kernel`); without one the
//! same frames are dropped with their reasons, as before twins existed. Frames are built
//! with etherparse, an independent implementation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use etherparse::PacketBuilder;
use rvs_core::l3::{Io, L3Config, Node, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::RouteTable;
use rvs_core::stats::DropReason;
use wire::{EthernetAddress, VecBuf};

const D: [u8; 6] = [2, 0, 0, 0, 0, 1];
const R: [u8; 6] = [2, 0, 0, 0, 0, 0xfe];
const ADDR: [u8; 4] = [10, 0, 2, 2];
const VIP: [u8; 4] = [10, 0, 2, 100];
const TWIN_ONLY: [u8; 4] = [10, 0, 2, 101];
const CLIENT: [u8; 4] = [10, 0, 1, 2];
const ADDR6: &str = "2001:db8:2::2";
const CLIENT6: &str = "2001:db8:1::2";

#[derive(Default)]
struct Recorder {
    tx: Vec<(u16, Vec<u8>)>,
    drops: Vec<(u16, DropReason)>,
    kernel: Vec<(u16, Vec<u8>)>,
}

impl Io<VecBuf> for Recorder {
    fn tx(&mut self, port: u16, pkt: VecBuf) {
        self.tx.push((port, pkt.to_vec()));
    }
    fn drop(&mut self, port: u16, _pkt: VecBuf, reason: DropReason) {
        self.drops.push((port, reason));
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        Some(VecBuf::from_slice(&[]))
    }
    fn count_drop(&mut self, port: u16, reason: DropReason) {
        self.drops.push((port, reason));
    }
    fn kernel(&mut self, port: u16, pkt: VecBuf) {
        self.kernel.push((port, pkt.to_vec()));
    }
}

fn node(twin: bool) -> Node<VecBuf> {
    let mut routes = RouteTable::default();
    routes.add_gateway("0.0.0.0/0".parse().unwrap(), Ipv4Addr::new(10, 0, 2, 1), 0);
    let ports = vec![PortL3 {
        mac: EthernetAddress(D),
        addrs: vec!["10.0.2.2/24".parse().unwrap()],
        vips: vec![VIP.into()],
        addrs6: vec![format!("{ADDR6}/64").parse().unwrap()],
        mtu: 1500,
        kernel: twin,
        twin4: if twin { vec![TWIN_ONLY.into()] } else { vec![] },
        ..Default::default()
    }];
    Node::new(Arc::new(L3Config::new(ports, routes)), NeighConfig::default())
}

fn run(twin: bool, frame: Vec<u8>) -> Recorder {
    let mut n = node(twin);
    let mut io = Recorder::default();
    n.input(0, VecBuf::from_slice(&frame), 0, &mut io);
    io
}

fn tcp_syn(dst: [u8; 4], dport: u16) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(R, D).ipv4(CLIENT, dst, 64).tcp(40000, dport, 1, 64240).syn();
    let mut out = Vec::new();
    b.write(&mut out, &[]).unwrap();
    out
}

fn echo(dst: [u8; 4]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(R, D).ipv4(CLIENT, dst, 64).icmpv4_echo_request(7, 1);
    let mut out = Vec::new();
    b.write(&mut out, b"ping").unwrap();
    out
}

/// A VRRP advertisement: IP protocol 112 to 224.0.0.18, MAC 01:00:5e:00:00:12.
fn vrrp() -> Vec<u8> {
    let b = PacketBuilder::ethernet2(R, [1, 0, 0x5e, 0, 0, 0x12]).ipv4([10, 0, 2, 3], [224, 0, 0, 18], 255);
    let mut out = Vec::new();
    b.write(&mut out, etherparse::IpNumber(112), &[0x31, 1, 100, 1, 0, 1, 0, 0, 10, 0, 2, 100]).unwrap();
    out
}

/// An ARP reply to one of our addresses (the kernel's request answered).
fn arp_reply() -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&D);
    f.extend_from_slice(&R);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
    f.extend_from_slice(&R);
    f.extend_from_slice(&[10, 0, 2, 1]);
    f.extend_from_slice(&D);
    f.extend_from_slice(&ADDR);
    f
}

#[test]
fn tcp_to_the_box_goes_up_with_a_twin_and_is_dropped_without() {
    let with = run(true, tcp_syn(ADDR, 22));
    assert_eq!(with.kernel, vec![(0, tcp_syn(ADDR, 22))], "the frame itself, untouched");
    assert!(with.drops.is_empty() && with.tx.is_empty());
    let without = run(false, tcp_syn(ADDR, 22));
    assert!(without.kernel.is_empty());
    assert_eq!(without.drops, vec![(0, DropReason::NoService)]);
}

#[test]
fn an_address_only_the_twin_holds_is_answered_and_the_kernels() {
    let io = run(true, tcp_syn(TWIN_ONLY, 8080));
    assert_eq!(io.kernel.len(), 1);
    // Without the twin the address is nobody's: not local.
    assert_eq!(run(false, tcp_syn(TWIN_ONLY, 8080)).drops, vec![(0, DropReason::NotLocal)]);
}

#[test]
fn echo_to_the_kernels_address_goes_up_echo_to_a_vip_is_answered_here() {
    let io = run(true, echo(ADDR));
    assert_eq!((io.kernel.len(), io.tx.len()), (1, 0));
    let io = run(true, echo(VIP));
    assert_eq!((io.kernel.len(), io.tx.len()), (0, 1), "a VIP only rvs holds: the data path answers");
    let io = run(false, echo(ADDR));
    assert_eq!((io.kernel.len(), io.tx.len()), (0, 1), "no twin: answered here as before");
}

#[test]
fn vrrp_multicast_goes_up_only_with_a_twin() {
    assert_eq!(run(true, vrrp()).kernel.len(), 1);
    assert_eq!(run(false, vrrp()).drops, vec![(0, DropReason::NotLocal)]);
}

#[test]
fn arp_replies_to_us_are_learned_and_go_up() {
    let mut n = node(true);
    let mut io = Recorder::default();
    // Something must be waiting for 10.0.2.1 for a reply to be taken (RFC 826 merge
    // only updates): send a packet towards it first.
    let pkt = VecBuf::from_slice(&echo(CLIENT));
    n.output(pkt, IpAddr::V4(Ipv4Addr::new(10, 0, 2, 1)), 0, &mut io);
    n.input(0, VecBuf::from_slice(&arp_reply()), 0, &mut io);
    assert_eq!(io.kernel, vec![(0, arp_reply())]);
    // Learned as well: the packet that waited for 10.0.2.1 left, to its MAC (after the
    // probe that asked for it).
    assert_eq!(io.tx.len(), 2);
    assert_eq!(io.tx[1].1[..6], R);
    let io = run(false, arp_reply());
    assert!(io.kernel.is_empty());
}

#[test]
fn ipv6_tcp_and_echo_to_the_box_go_up() {
    let src: Ipv6Addr = CLIENT6.parse().unwrap();
    let dst: Ipv6Addr = ADDR6.parse().unwrap();
    let mut syn = Vec::new();
    PacketBuilder::ethernet2(R, D)
        .ipv6(src.octets(), dst.octets(), 64)
        .tcp(40000, 22, 1, 64240)
        .syn()
        .write(&mut syn, &[])
        .unwrap();
    assert_eq!(run(true, syn.clone()).kernel.len(), 1);
    assert_eq!(run(false, syn).drops, vec![(0, DropReason::NoService)]);
    let mut ping = Vec::new();
    PacketBuilder::ethernet2(R, D)
        .ipv6(src.octets(), dst.octets(), 64)
        .icmpv6_echo_request(1, 1)
        .write(&mut ping, b"ping")
        .unwrap();
    let io = run(true, ping.clone());
    assert_eq!((io.kernel.len(), io.tx.len()), (1, 0));
    let io = run(false, ping);
    assert_eq!((io.kernel.len(), io.tx.len()), (0, 1));
}

#[test]
fn other_hosts_frames_never_go_up() {
    // Unicast to another MAC, or IPv4 to an address that is nobody's here: the kernel
    // would not take them either, and the director is not a router.
    let mut f = tcp_syn(ADDR, 22);
    f[5] = 9;
    assert_eq!(run(true, f).drops, vec![(0, DropReason::OtherHost)]);
    assert_eq!(run(true, tcp_syn([10, 0, 9, 9], 22)).drops, vec![(0, DropReason::NotLocal)]);
}
