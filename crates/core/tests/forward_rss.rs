//! Two workers fed the way a NIC's RSS feeds them with rvs's port configuration (the
//! client's address alone: source on the wan port, destination on the lan port, one
//! key, one redirection table): no packet crosses between workers in NAT, DR or TUN,
//! and persistence holds across the two workers.

mod forward_common;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use forward_common::*;
use rvs_core::addr::{Addr, Protocol};
use rvs_core::forward::Directory;
use rvs_core::rss::{Rss, DEFAULT_KEY};
use rvs_core::service::{DestSpec, FwdMethod, Persistence, ServiceSpec};
use wire::{Ipv4Packet, VecBuf};

const SYN: u8 = 0x02;
const SYNACK: u8 = 0x12;
const ACK: u8 = 0x10;

fn tcp(eth_dst: [u8; 6], src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, flags: u8) -> Vec<u8> {
    let mut f = vec![0u8; 54];
    f[..6].copy_from_slice(&eth_dst);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 9, 9]);
    f[12] = 0x08;
    let mut ip = Ipv4Packet::new_unchecked(&mut f[14..]);
    ip.set_version_and_header_len(4, 20);
    ip.set_total_len(40);
    ip.set_ttl(64);
    ip.set_protocol(6);
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
    ip.fill_checksum();
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[46] = 0x50;
    f[47] = flags;
    f
}

const WAN_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const LAN_MAC: [u8; 6] = [2, 0, 0, 0, 1, 1];

struct Pair {
    w: [Lab; 2],
    rss: Rss,
    redirects: usize,
    forwarded: usize,
}

impl Pair {
    fn new() -> Pair {
        let owners = Arc::new(Directory::new(2, 1024));
        Pair {
            w: [lab_on(0, 2, owners.clone()), lab_on(1, 2, owners)],
            rss: Rss::new(DEFAULT_KEY, 2, 128),
            redirects: 0,
            forwarded: 0,
        }
    }

    /// Deliver `frame` on `port` to the worker RSS picks by `hashed` (the client).
    fn deliver(&mut self, port: u16, hashed: Ipv4Addr, frame: Vec<u8>) -> Vec<(u16, Vec<u8>)> {
        let q = usize::from(self.rss.queue_of(Addr::from(hashed)));
        let mut io = Recorder::default();
        self.w[q].dir.input(port, VecBuf::from_slice(&frame), 1_000, false, &mut io);
        self.redirects += io.redirects.len();
        self.forwarded += io.tx.len();
        assert!(io.drops.is_empty(), "{:?}", io.drops);
        assert!(!io.tx.is_empty() || !io.redirects.is_empty(), "nothing happened to a packet from {hashed} on {port}");
        io.tx
    }

    fn add_service(&mut self, spec: ServiceSpec, dests: &[DestSpec]) {
        for w in &mut self.w {
            w.cfg.add_service(&spec).unwrap();
            for d in dests {
                w.cfg.add_dest(&spec.key, d).unwrap();
            }
            let snap = w.cfg.snapshot();
            w.dir.set_snapshot(snap);
        }
    }
}

fn client(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0b00_0000 + i * 7919)
}

#[test]
fn rss_placement_needs_no_redirect_for_nat_dr_or_tun() {
    let mut p = Pair::new();
    let vip = Ipv4Addr::new(10, 0, 2, 100);
    for i in 0..400 {
        let c = client(i);
        // NAT (:80): SYN in on wan, the real server's SYN-ACK back on lan, then an ACK.
        let out = p.deliver(0, c, tcp(WAN_MAC, c, 20_000, vip, 80, SYN));
        let rs = Ipv4Addr::from(<[u8; 4]>::try_from(&out[0].1[30..34]).unwrap());
        let rport = u16::from_be_bytes([out[0].1[36], out[0].1[37]]);
        p.deliver(1, c, tcp(LAN_MAC, rs, rport, c, 20_000, SYNACK));
        p.deliver(0, c, tcp(WAN_MAC, c, 20_000, vip, 80, ACK));
        // DR (:81) and TUN (:82): the client's direction only.
        p.deliver(0, c, tcp(WAN_MAC, c, 20_001, vip, 81, SYN));
        p.deliver(0, c, tcp(WAN_MAC, c, 20_002, vip, 82, SYN));
    }
    assert_eq!(p.forwarded, 2_000);
    assert_eq!(p.redirects, 0, "no packet crossed between workers");
    let per_worker: Vec<usize> = p.w.iter().map(|w| w.dir.lb.conns().len()).collect();
    assert!(per_worker.iter().all(|&n| n > 400), "both workers hold connections: {per_worker:?}");
}

#[test]
fn persistence_holds_across_the_two_workers() {
    let mut p = Pair::new();
    let vip = Addr::from(Ipv4Addr::new(10, 0, 2, 100));
    let rs = [[10, 0, 3, 11], [10, 0, 3, 12]];
    let dests: Vec<DestSpec> = rs.iter().map(|a| dest(*a, 90, FwdMethod::Masq)).collect();
    // -p 300: each client to one real server; -M 255.255.255.0 on :91: each /24.
    let svc = |port, prefix| ServiceSpec {
        scheduler: "rr".into(),
        persistence: Some(Persistence { timeout_s: 300, prefix }),
        ..ServiceSpec::new(rvs_core::service::ServiceKey::Proto { proto: Protocol::Tcp, addr: vip, port })
    };
    p.add_service(svc(90, 32), &dests);
    p.add_service(svc(91, 24), &dests);
    let vip = Ipv4Addr::new(10, 0, 2, 100);
    let rs_of = |out: &[(u16, Vec<u8>)]| <[u8; 4]>::try_from(&out[0].1[30..34]).unwrap();
    let mut by_client = HashMap::new();
    let mut by_subnet = HashMap::new();
    let mut subnet_workers: HashMap<u32, Vec<u16>> = HashMap::new();
    for i in 0..200u32 {
        let c = Ipv4Addr::from(0x0b00_0000 + (i % 8) * 256 + i * 3 % 250);
        for k in 0..4u16 {
            let sport = 30_000 + (i as u16) * 8 + k;
            let out = p.deliver(0, c, tcp(WAN_MAC, c, sport, vip, 90, SYN));
            assert_eq!(*by_client.entry(c).or_insert(rs_of(&out)), rs_of(&out), "client {c} sticks");
            let before = p.redirects;
            let mut out = p.deliver(0, c, tcp(WAN_MAC, c, sport, vip, 91, SYN));
            if p.redirects > before {
                // The subnet's home worker schedules it (a crossing the README accounts for).
                let q = usize::from(p.rss.queue_of(Addr::from(c)));
                let mut io = Recorder::default();
                p.w[1 - q].dir.input(
                    0,
                    VecBuf::from_slice(&tcp(WAN_MAC, c, sport, vip, 91, SYN)),
                    1_000,
                    true,
                    &mut io,
                );
                out = io.tx;
            }
            let net = u32::from(c) >> 8;
            assert_eq!(*by_subnet.entry(net).or_insert(rs_of(&out)), rs_of(&out), "subnet of {c} sticks");
            subnet_workers.entry(net).or_default().push(p.rss.queue_of(Addr::from(c)));
        }
    }
    assert!(
        subnet_workers.values().any(|w| w.contains(&0) && w.contains(&1)),
        "some subnet's clients arrive on both workers, so the test proves something"
    );
    let used: std::collections::HashSet<_> = by_client.values().collect();
    assert_eq!(used.len(), 2, "rr still spreads clients over both real servers");
}

/// A UDP datagram from `src` to the group `dst` (Ethernet group address per RFC 1112).
fn udp_group(src: Ipv4Addr, dst: Ipv4Addr, dport: u16) -> Vec<u8> {
    let o = dst.octets();
    let mut f = vec![0u8; 42 + 8];
    f[..6].copy_from_slice(&[0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 9, 9]);
    f[12] = 0x08;
    let mut ip = Ipv4Packet::new_unchecked(&mut f[14..]);
    ip.set_version_and_header_len(4, 20);
    ip.set_total_len(36);
    ip.set_ttl(1);
    ip.set_protocol(17);
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
    ip.fill_checksum();
    f[34..36].copy_from_slice(&dport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[38..40].copy_from_slice(&16u16.to_be_bytes());
    f
}

/// IPVS sync (224.0.0.81:8848) and other group traffic arrive on whichever queue the
/// NIC picks: neither worker may take it for a NAT reply to a client another worker
/// holds (it was redirected, then dropped as a redirect miss, and the backup never saw
/// the master's connections).
#[test]
fn group_traffic_is_never_taken_for_a_nat_reply() {
    let mut p = Pair::new();
    for (dst, port) in [([224, 0, 0, 81], 8848), ([224, 0, 0, 18], 0), ([239, 1, 2, 3], 5000), ([255; 4], 67)] {
        for core in 0..2 {
            let f = udp_group(Ipv4Addr::new(10, 0, 2, 3), Ipv4Addr::from(dst), port);
            let mut io = Recorder::default();
            p.w[core].dir.input(0, VecBuf::from_slice(&f), 1_000, false, &mut io);
            assert!(io.redirects.is_empty(), "{dst:?} redirected by worker {core}");
            assert!(!io.drops.iter().any(|d| d.1 == rvs_core::stats::DropReason::RedirectMiss));
        }
    }
}
