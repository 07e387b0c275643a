//! Katran-style fixtures for virtual-service forwarding: input frame → expected output
//! frame (or drop reason, or redirect), for NAT, DR and TUN. Expected frames come from
//! scapy (fixtures/gen_forward.py), so checksums are checked against an independent
//! implementation, byte for byte.

#[path = "fixtures/forward_golden.rs"]
mod golden;

use std::net::Ipv4Addr;
use std::sync::Arc;

use golden::*;
use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::conn::ConnConfig;
use rvs_core::forward::{Balancer, Director, OwnerMap};
use rvs_core::l3::{Io, L3Config, Node, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::RouteTable;
use rvs_core::service::{Config, DestSpec, FwdMethod, ServiceKey, ServiceSpec};
use rvs_core::stats::{CoreStats, DropReason};
use wire::{EthernetAddress, VecBuf};

fn mac(last2: [u8; 2]) -> EthernetAddress {
    EthernetAddress([2, 0, 0, 0, last2[0], last2[1]])
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[derive(Default)]
struct Recorder {
    tx: Vec<(u16, Vec<u8>)>,
    drops: Vec<(u16, DropReason)>,
    redirects: Vec<(u8, u16)>,
}

impl Io<VecBuf> for Recorder {
    fn tx(&mut self, port: u16, pkt: VecBuf) {
        self.tx.push((port, pkt.to_vec()));
    }
    fn drop(&mut self, port: u16, _: VecBuf, reason: DropReason) {
        self.drops.push((port, reason));
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        Some(VecBuf::from_slice(&[]))
    }
    fn count_drop(&mut self, port: u16, reason: DropReason) {
        self.drops.push((port, reason));
    }
    fn redirect(&mut self, core: u8, port: u16, _: VecBuf) {
        self.redirects.push((core, port));
    }
}

const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 100);

fn key(proto: Protocol, port: u16) -> ServiceKey {
    ServiceKey::Proto { proto, addr: Addr::from(VIP), port }
}

fn dest(ip: [u8; 4], port: u16, fwd: FwdMethod) -> DestSpec {
    DestSpec { fwd, ..DestSpec::new(Addr::from(Ipv4Addr::from(ip)), port) }
}

struct Lab {
    cfg: Config,
    dir: Director<VecBuf>,
    stats: Arc<CoreStats>,
    owners: Arc<OwnerMap>,
}

fn lab() -> Lab {
    let mut cfg = Config::new(64);
    let mut svc = |proto, port, dests: &[DestSpec]| {
        let mut s = ServiceSpec::new(key(proto, port));
        s.scheduler = "rr".into();
        cfg.add_service(&s).unwrap();
        for d in dests {
            cfg.add_dest(&key(proto, port), d).unwrap();
        }
    };
    svc(Protocol::Tcp, 80, &[dest([10, 0, 3, 11], 8080, FwdMethod::Masq), dest([10, 0, 3, 12], 80, FwdMethod::Masq)]);
    svc(Protocol::Tcp, 81, &[dest([10, 0, 3, 11], 81, FwdMethod::Route)]);
    svc(Protocol::Tcp, 82, &[dest([10, 0, 4, 11], 82, FwdMethod::Tunnel)]);
    svc(Protocol::Udp, 82, &[dest([10, 0, 4, 11], 82, FwdMethod::Tunnel)]);
    svc(Protocol::Udp, 83, &[]);
    svc(Protocol::Udp, 53, &[dest([10, 0, 3, 12], 5353, FwdMethod::Masq)]);

    let mut routes = RouteTable::default();
    routes.add_gateway("0.0.0.0/0".parse().unwrap(), Ipv4Addr::new(10, 0, 2, 1), 0);
    routes.add_gateway("10.0.4.0/24".parse().unwrap(), Ipv4Addr::new(10, 0, 3, 254), 1);
    let ports = vec![
        PortL3 { mac: mac([0, 1]), addrs: vec!["10.0.2.2/24".parse().unwrap()], vips: vec![VIP], mtu: 1500 },
        PortL3 { mac: mac([1, 1]), addrs: vec!["10.0.3.1/24".parse().unwrap()], vips: vec![], mtu: 1500 },
    ];
    let l3 = Arc::new(L3Config::new(ports, routes));
    let mut node = Node::new(l3, NeighConfig::default());
    let mut io = Recorder::default();
    for (port, ip, m) in [
        (0, [10, 0, 2, 1], [0, 0xfe]),
        (1, [10, 0, 3, 11], [3, 11]),
        (1, [10, 0, 3, 12], [3, 12]),
        (1, [10, 0, 3, 254], [2, 0xfe]),
    ] {
        node.learn(port, Ipv4Addr::from(ip), mac(m), true, 0, &mut io);
    }
    let stats = Arc::new(CoreStats::with_dests(1, 2, 64));
    let owners = Arc::new(OwnerMap::new(16));
    let conn = ConnConfig { capacity: 1024, max_dests: 64, ..ConnConfig::default() };
    let lb = Balancer::new(0, conn, cfg.snapshot(), owners.clone(), stats.clone(), 0);
    Lab { cfg, dir: Director::new(node, lb), stats, owners }
}

fn run(l: &mut Lab, port: u16, frame: &str) -> Recorder {
    let mut io = Recorder::default();
    l.dir.input(port, VecBuf::from_slice(&hex(frame)), 1_000, false, &mut io);
    io
}

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
    l.owners.claim(&reply, 1);
    let io = run(&mut l, 1, NAT_SYNACK_IN);
    assert_eq!(io.redirects, vec![(1, 1)]);
    assert!(io.tx.is_empty());
    // Arriving redirected at a core that lacks it: dropped, not bounced again.
    let mut io = Recorder::default();
    l.dir.input(1, VecBuf::from_slice(&hex(NAT_SYNACK_IN)), 1_000, true, &mut io);
    assert_eq!(io.drops, vec![(1, DropReason::RedirectMiss)]);
    // This core's own NAT connections claim their replies.
    run(&mut l, 0, NAT_SYN_IN);
    assert_eq!(l.owners.owner(&reply), Some(0));
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
