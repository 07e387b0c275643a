//! The fixture director shared by the forwarding tests: services for NAT, DR and TUN on
//! one VIP, two ports (wan, lan), resolved neighbours, and a recorder for what it does.
#![allow(dead_code)] // each test binary uses its own part

#[path = "../fixtures/forward_golden.rs"]
pub mod golden;

use std::net::Ipv4Addr;
use std::sync::Arc;

use rvs_core::addr::{Addr, Protocol};
use rvs_core::conn::ConnConfig;
use rvs_core::forward::{Balancer, Director, Directory};
use rvs_core::l3::{Io, L3Config, Node, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::RouteTable;
use rvs_core::service::{Config, DestSpec, FwdMethod, ServiceKey, ServiceSpec};
use rvs_core::stats::{CoreStats, DropReason};
use wire::{EthernetAddress, VecBuf};

pub fn mac(last2: [u8; 2]) -> EthernetAddress {
    EthernetAddress([2, 0, 0, 0, last2[0], last2[1]])
}

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[derive(Default)]
pub struct Recorder {
    pub tx: Vec<(u16, Vec<u8>)>,
    pub drops: Vec<(u16, DropReason)>,
    pub redirects: Vec<(u8, u16)>,
    pub icmp_sent: u32,
    pub icmp_suppressed: u32,
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
    fn icmp_error_counted(&mut self, sent: bool) {
        if sent {
            self.icmp_sent += 1;
        } else {
            self.icmp_suppressed += 1;
        }
    }
}

pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 100);

pub fn key(proto: Protocol, port: u16) -> ServiceKey {
    ServiceKey::Proto { proto, addr: Addr::from(VIP), port }
}

pub fn dest(ip: [u8; 4], port: u16, fwd: FwdMethod) -> DestSpec {
    DestSpec { fwd, ..DestSpec::new(Addr::from(Ipv4Addr::from(ip)), port) }
}

pub struct Lab {
    pub cfg: Config,
    pub dir: Director<VecBuf>,
    pub stats: Arc<CoreStats>,
    pub owners: Arc<Directory>,
}

pub fn lab() -> Lab {
    lab_on(0, 1, Arc::new(Directory::new(2, 1024)))
}

/// Worker `core` of `workers`, sharing `owners` with the others.
pub fn lab_on(core: u8, workers: u32, owners: Arc<Directory>) -> Lab {
    lab_sized(core, workers, owners, 1024)
}

/// [`lab_on`] with a connection table of `capacity` entries.
pub fn lab_sized(core: u8, workers: u32, owners: Arc<Directory>, capacity: u32) -> Lab {
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
        PortL3 {
            mac: mac([0, 1]),
            addrs: vec!["10.0.2.2/24".parse().unwrap()],
            vips: vec![VIP],
            mtu: 1500,
            ..Default::default()
        },
        PortL3 {
            mac: mac([1, 1]),
            addrs: vec!["10.0.3.1/24".parse().unwrap()],
            vips: vec![],
            mtu: 1500,
            ..Default::default()
        },
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
    let conn = ConnConfig { capacity, max_dests: 64, workers, ..ConnConfig::default() };
    let lb = Balancer::new(core, conn, cfg.snapshot(), owners.clone(), stats.clone(), 0);
    Lab { cfg, dir: Director::new(node, lb), stats, owners }
}

pub fn run(l: &mut Lab, port: u16, frame: &str) -> Recorder {
    let mut io = Recorder::default();
    l.dir.input(port, VecBuf::from_slice(&hex(frame)), 1_000, false, &mut io);
    io
}

pub const VIP6: &str = "2001:db8:2::100";

fn v6(s: &str) -> std::net::Ipv6Addr {
    s.parse().unwrap()
}

/// The IPv6 twin of [`lab`]: the same services on VIP6, the ports' IPv6 subnets, the
/// router at 2001:db8:2::1 (wan) and 2001:db8:3::fe (lan), neighbours resolved.
pub fn lab6() -> Lab {
    let mut cfg = Config::new(64);
    let key6 = |proto, port| ServiceKey::Proto { proto, addr: Addr::from(v6(VIP6)), port };
    let d6 = |a: &str, port, fwd| DestSpec { fwd, ..DestSpec::new(Addr::from(v6(a)), port) };
    let mut svc = |proto, port, dests: &[DestSpec]| {
        let mut s = ServiceSpec::new(key6(proto, port));
        s.scheduler = "rr".into();
        cfg.add_service(&s).unwrap();
        for d in dests {
            cfg.add_dest(&key6(proto, port), d).unwrap();
        }
    };
    svc(Protocol::Tcp, 80, &[d6("2001:db8:3::11", 8080, FwdMethod::Masq), d6("2001:db8:3::12", 80, FwdMethod::Masq)]);
    svc(Protocol::Tcp, 81, &[d6("2001:db8:3::11", 81, FwdMethod::Route)]);
    svc(Protocol::Tcp, 82, &[d6("2001:db8:4::11", 82, FwdMethod::Tunnel)]);
    svc(Protocol::Udp, 82, &[d6("2001:db8:4::11", 82, FwdMethod::Tunnel)]);
    svc(Protocol::Udp, 83, &[]);
    svc(Protocol::Udp, 53, &[d6("2001:db8:3::12", 5353, FwdMethod::Masq)]);
    let mut routes6 = rvs_core::route::Route6Table::default();
    routes6.add_gateway("::/0".parse().unwrap(), v6("2001:db8:2::1"), 0);
    routes6.add_gateway("2001:db8:4::/64".parse().unwrap(), v6("2001:db8:3::fe"), 1);
    let ports = vec![
        PortL3 {
            mac: mac([0, 1]),
            addrs6: vec!["2001:db8:2::2/64".parse().unwrap()],
            vips6: vec![v6(VIP6)],
            mtu: 1500,
            ..Default::default()
        },
        PortL3 { mac: mac([1, 1]), addrs6: vec!["2001:db8:3::1/64".parse().unwrap()], mtu: 1500, ..Default::default() },
    ];
    let l3 = Arc::new(L3Config::with_routes(ports, RouteTable::default(), routes6));
    let mut node = Node::new(l3, NeighConfig::default());
    let mut io = Recorder::default();
    for (port, ip, m) in [
        (0, "2001:db8:2::1", [0, 0xfe]),
        (1, "2001:db8:3::11", [3, 11]),
        (1, "2001:db8:3::12", [3, 12]),
        (1, "2001:db8:3::fe", [2, 0xfe]),
    ] {
        node.learn(port, v6(ip), mac(m), true, 0, &mut io);
    }
    let stats = Arc::new(CoreStats::with_dests(1, 2, 64));
    let conn = ConnConfig { capacity: 1024, max_dests: 64, workers: 1, ..ConnConfig::default() };
    let owners = Arc::new(Directory::new(2, 1024));
    let lb = Balancer::new(0, conn, cfg.snapshot(), owners.clone(), stats.clone(), 0);
    Lab { cfg, dir: Director::new(node, lb), stats, owners }
}
