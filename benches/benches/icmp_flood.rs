//! Review defect 13 under load: a flood of spoofed UDP packets to a virtual service
//! with no usable real server, through one worker's Director (no DPDK: plain buffers).
//! Each packet asks for an ICMP port unreachable. Before the fix every one was answered
//! (an amplifier towards whoever the sources name); now a per-worker token bucket
//! (1000/s, burst 50, Linux's icmp_msgs_per_sec/icmp_msgs_burst) holds them back. Both
//! run here on the same flood: the limit switched off (the old behaviour) and on.
//!
//! The flood's clock is simulated: 1,000 packets per millisecond (1 Mpps) for one
//! second, so the figure is exact whatever the machine; ns/packet is measured.
//!
//! Run: `cargo bench -p rvs-benches --bench icmp_flood`.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Instant;

use rvs_benches::{num, object, write_fragment};
use rvs_core::addr::{Addr, Protocol};
use rvs_core::conn::ConnConfig;
use rvs_core::forward::{Balancer, Director, Directory};
use rvs_core::l3::{Io, L3Config, Node, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::RouteTable;
use rvs_core::service::{Config, ServiceKey, ServiceSpec};
use rvs_core::stats::{CoreStats, DropReason};
use wire::{EthernetAddress, Ipv4Packet, PacketBuf, VecBuf};

const PACKETS: u64 = 1_000_000;
const PER_MS: u64 = 1_000;

#[derive(Default)]
struct Count {
    errors_out: u64,
    held: u64,
}

impl Io<VecBuf> for Count {
    fn tx(&mut self, _: u16, _: VecBuf) {
        self.errors_out += 1;
    }
    fn drop(&mut self, _: u16, _: VecBuf, _: DropReason) {}
    fn alloc(&mut self) -> Option<VecBuf> {
        Some(VecBuf::from_slice(&[]))
    }
    fn count_drop(&mut self, _: u16, _: DropReason) {}
    fn icmp_error_counted(&mut self, sent: bool) {
        if !sent {
            self.held += 1;
        }
    }
}

fn director() -> Director<VecBuf> {
    let vip = Ipv4Addr::new(10, 0, 2, 100);
    let key = ServiceKey::Proto { proto: Protocol::Udp, addr: Addr::from(vip), port: 53 };
    let mut cfg = Config::new(16);
    cfg.add_service(&ServiceSpec::new(key)).expect("service");
    let mut routes = RouteTable::default();
    routes.add_gateway("0.0.0.0/0".parse().expect("prefix"), Ipv4Addr::new(10, 0, 2, 1), 0);
    let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
    let ports = vec![PortL3 {
        mac,
        addrs: vec!["10.0.2.2/24".parse().expect("cidr")],
        vips: vec![vip],
        mtu: 1500,
        ..Default::default()
    }];
    let mut node = Node::new(Arc::new(L3Config::new(ports, routes)), NeighConfig::default());
    node.learn(0, Ipv4Addr::new(10, 0, 2, 1), EthernetAddress([2, 0, 0, 0, 0, 0xfe]), true, 0, &mut Count::default());
    let stats = Arc::new(CoreStats::with_dests(1, 1, 16));
    let conn = ConnConfig { capacity: 1024, max_dests: 16, ..ConnConfig::default() };
    let lb = Balancer::new(0, conn, cfg.snapshot(), Arc::new(Directory::new(1, 64)), stats, 0);
    Director::new(node, lb)
}

/// A spoofed DNS query from a different source each time (as a reflection attack).
fn frame(i: u64) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 16];
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xfe]);
    f[12] = 0x08;
    let mut ip = Ipv4Packet::new_unchecked(&mut f[14..]);
    ip.set_version_and_header_len(4, 20);
    ip.set_total_len(44);
    ip.set_ttl(60);
    ip.set_protocol(17);
    ip.set_src_addr(Ipv4Addr::from(0x0b00_0000 + (i as u32 & 0xffff)));
    ip.set_dst_addr(Ipv4Addr::new(10, 0, 2, 100));
    ip.fill_checksum();
    f[34..36].copy_from_slice(&5353u16.to_be_bytes());
    f[36..38].copy_from_slice(&53u16.to_be_bytes());
    f[38..40].copy_from_slice(&24u16.to_be_bytes());
    f
}

/// (ICMP errors sent, held back, ns per flood packet).
fn flood(limited: bool) -> (u64, u64, f64) {
    let mut d = director();
    if !limited {
        d.node.set_icmp_error_limit(u64::MAX, u64::MAX);
    }
    let frames: Vec<Vec<u8>> = (0..1024).map(frame).collect();
    let mut io = Count::default();
    let t = Instant::now();
    for i in 0..PACKETS {
        let f = &frames[(i % 1024) as usize];
        let mut b = VecBuf::from_slice(&[]);
        if let Some(buf) = b.append(f.len()) {
            buf.copy_from_slice(f);
        }
        d.input(0, b, 1_000 + i / PER_MS, false, &mut io);
    }
    let ns = t.elapsed().as_nanos() as f64 / PACKETS as f64;
    (io.errors_out, io.held, ns)
}

fn main() {
    let (before, _, ns_before) = flood(false);
    let (after, held, ns_after) = flood(true);
    let secs = PACKETS as f64 / PER_MS as f64 / 1000.0;
    println!("ICMP port-unreachable flood: {PACKETS} spoofed packets over {secs:.1} s (simulated clock), one worker");
    println!("  limit off (before the fix): {before:>9} ICMP errors sent   {ns_before:6.1} ns/packet");
    println!(
        "  limit on  (1000/s, burst 50): {after:>7} ICMP errors sent, {held} held back   {ns_after:6.1} ns/packet"
    );
    println!("  errors sent after / before: {:.5}", after as f64 / before.max(1) as f64);
    write_fragment(
        "icmp_flood",
        &object(&[
            ("packets", num(PACKETS as f64)),
            ("seconds_simulated", num(secs)),
            ("errors_sent_unlimited", num(before as f64)),
            ("errors_sent_limited", num(after as f64)),
            ("errors_held_back", num(held as f64)),
            ("ns_per_packet_unlimited", num(ns_before)),
            ("ns_per_packet_limited", num(ns_after)),
            ("ratio_after_to_before", num(after as f64 / before.max(1) as f64)),
        ]),
    );
}
