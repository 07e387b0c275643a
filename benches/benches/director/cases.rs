//! The Director under test and the cases: established flows, new connections, the SYN
//! flood, the baseline; each returns its row.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rvs_benches::topo::{add_fnat_service, FNAT_VPORT, LAN, PEER_MAC, ROUTER, RS, WAN};
use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::conn::ConnConfig;
use rvs_core::forward::{Balancer, Director, Directory};
use rvs_core::l3::{Io, L3Config, Node, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::{Ipv4Cidr, RouteTable};
use rvs_core::service::{Config, DestSpec, FwdMethod, ServiceKey, ServiceSpec};
use rvs_core::stats::{CoreStats, DropReason};
use wire::{PacketBuf, VecBuf};

use crate::stage::{run, MacSwap, Sink};
use crate::traffic::Traffic;
use crate::{cport, Mode, ACK, BURST, EST_NET, IP_DST, IP_SRC, LAN_MAC, NOW, RS_BIT, SP_VIP, SYN, WAN_MAC};

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().expect("cidr")
}

/// One worker's Director with the dataplane bench's services, routes and neighbours;
/// for `mode` FullNAT, its service and local addresses too (so the other cases look up
/// the same services as before) and sequence state for every connection.
fn director(capacity: u32, mode: Mode) -> Director<VecBuf> {
    director_with(capacity, mode, false).0
}

/// `director`, with the SYN-proxied NAT service on [`SP_VIP`] when `synproxy`; and its
/// stats.
fn director_with(capacity: u32, mode: Mode, synproxy: bool) -> (Director<VecBuf>, Arc<CoreStats>) {
    let l3_ports = vec![
        PortL3 {
            mac: WAN_MAC,
            addrs: vec![cidr("10.0.2.2/24")],
            vips: vec![Mode::Nat.vip(), Mode::Dr.vip(), Mode::Tun.vip(), SP_VIP],
            mtu: 1500,
            ..Default::default()
        },
        PortL3 { mac: LAN_MAC, addrs: vec![cidr("10.0.3.1/24")], vips: vec![], mtu: 1500, ..Default::default() },
    ];
    let mut routes = RouteTable::default();
    routes.add_gateway(cidr("0.0.0.0/0"), ROUTER, WAN);
    let mut cfg = Config::new(64);
    let mut services = vec![
        (Mode::Nat.vip(), FwdMethod::Masq),
        (Mode::Dr.vip(), FwdMethod::Route),
        (Mode::Tun.vip(), FwdMethod::Tunnel),
    ];
    if synproxy {
        services.push((SP_VIP, FwdMethod::Masq));
    }
    for (vip, fwd) in services {
        let key = ServiceKey::Proto { proto: Protocol::Tcp, addr: Addr::v4(vip.octets()), port: 80 };
        let mut spec = ServiceSpec::new(key);
        spec.scheduler = "rr".into();
        spec.synproxy = vip == SP_VIP;
        cfg.add_service(&spec).expect("service");
        for rs in RS {
            let mut d = DestSpec::new(Addr::v4(rs.octets()), 80);
            d.fwd = fwd;
            cfg.add_dest(&key, &d).expect("real server");
        }
    }
    let fnat = mode == Mode::Fnat;
    if fnat {
        add_fnat_service(&mut cfg, Mode::Fnat.vip());
    }
    let neigh = NeighConfig { reachable_ms: 3_600_000, ..NeighConfig::default() };
    let mut node = Node::new(Arc::new(L3Config::new(l3_ports, routes)), neigh);
    let mut sink = Sink::new();
    node.learn(WAN, ROUTER, PEER_MAC[0], true, 0, &mut sink);
    for (k, rs) in RS.iter().enumerate() {
        node.learn(LAN, *rs, PEER_MAC[1 + k], true, 0, &mut sink);
    }
    let stats = Arc::new(CoreStats::with_dests(0, 2, 64));
    let capacity_fullnat = fnat.then_some(capacity);
    let conn = ConnConfig { capacity, max_dests: 64, workers: 1, capacity_fullnat, ..ConnConfig::default() };
    let owners = Arc::new(Directory::for_capacity(1, capacity as usize));
    (Director::new(node, Balancer::new(0, conn, cfg.snapshot(), owners, stats.clone(), 0)), stats)
}

/// A random order of the flows 0..n (Fisher-Yates over xorshift64*).
pub(crate) fn permutation(n: u32, seed: u64) -> Vec<u32> {
    let mut v: Vec<u32> = (0..n).collect();
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        v.swap(i, (r % (i as u64 + 1)) as usize);
    }
    v
}

/// Records each NAT flow's real server from the SYNs the director sends out.
struct Populate<'a> {
    sink: &'a mut Sink,
    rs_of: &'a mut [bool],
}

impl Io<VecBuf> for Populate<'_> {
    fn tx(&mut self, port: u16, pkt: VecBuf) {
        let d = pkt.data();
        let ip = |at: usize| u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]);
        if let Some(r) = self.rs_of.get_mut(ip(IP_SRC).wrapping_sub(EST_NET) as usize) {
            *r = Ipv4Addr::from(ip(IP_DST)) == RS[1];
        }
        self.sink.tx(port, pkt);
    }
    fn drop(&mut self, port: u16, pkt: VecBuf, reason: DropReason) {
        self.sink.drop(port, pkt, reason);
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        self.sink.alloc()
    }
    fn count_drop(&mut self, port: u16, reason: DropReason) {
        self.sink.count_drop(port, reason);
    }
}

pub(crate) struct Row {
    pub(crate) case: String,
    pub(crate) mode: &'static str,
    pub(crate) flows: u64,
    pub(crate) packets: u64,
    pub(crate) mpps: f64,
    pub(crate) cps: Option<f64>,
    pub(crate) drops: u64,
    pub(crate) first_drop: Option<DropReason>,
    /// Packets neither sent nor dropped (held, e.g. waiting for a neighbour).
    pub(crate) unsent: u64,
}

fn row(case: String, mode: &'static str, flows: u64, (packets, secs): (u64, f64), sink: &Sink, new: bool) -> Row {
    let mpps = packets as f64 / secs / 1e6;
    Row {
        case,
        mode,
        flows,
        packets,
        mpps,
        cps: new.then_some(mpps * 1e6),
        drops: sink.drops,
        first_drop: sink.first_drop,
        unsent: packets.saturating_sub(sink.tx + sink.drops),
    }
}

fn warm_secs(secs: f64) -> f64 {
    (secs / 4.0).clamp(0.05, 0.3)
}

/// Established flows: populate (SYN per flow, then a pass), then measure.
pub(crate) fn established(mode: Mode, n: u32, secs: f64, burst: &mut Vec<VecBuf>) -> Row {
    let capacity = if n > 1 << 14 { 1 << 21 } else { 1 << 14 };
    let mut d = director(capacity, mode);
    let mut sink = Sink::new();
    let mut rs_of = vec![false; n as usize];
    let seq: Vec<u32> = (0..n).collect();
    let mut syns = Traffic::established(mode, seq, SYN, false);
    for _ in 0..n.div_ceil(BURST as u32) {
        let port = syns.fill(&mut sink.pool, burst);
        d.input_burst(port, burst.drain(..), NOW, false, &mut Populate { sink: &mut sink, rs_of: &mut rs_of });
    }
    // A FullNAT packet on lan no longer names its client: the table says where it went.
    let ends = (mode == Mode::Fnat).then(|| fnat_ends(&d, n, &mut rs_of));
    let order: Vec<u32> = permutation(n, 0x9e37_79b9_7f4a_7c15 ^ u64::from(n))
        .into_iter()
        .map(|f| f | if rs_of[f as usize] { RS_BIT } else { 0 })
        .collect();
    let local = ends.map(|l| order.iter().map(|e| l[(e & !RS_BIT) as usize]).collect());
    let mut t = Traffic::established(mode, order, ACK, mode.replies());
    if let Traffic::Established { local: l, .. } = &mut t {
        *l = local;
    }
    // A full pass at least (every connection sees its first ACK), and a warm cache.
    let pass = u64::from(n) * if mode.replies() { 2 } else { 1 };
    run(&mut d, &mut t, &mut sink, burst, warm_secs(secs), u64::MAX);
    run(&mut d, &mut t, &mut sink, burst, 3600.0, pass);
    sink.reset_counts();
    let m = run(&mut d, &mut t, &mut sink, burst, secs, u64::MAX);
    let flows = if n >= 1_000_000 { "1M".to_string() } else { format!("{}k", n / 1000) };
    row(format!("established {} {flows}", mode.name()), mode.name(), u64::from(n), m, &sink, false)
}

/// Each FullNAT flow's local address and port from its connection (and its real server
/// into `rs_of`).
fn fnat_ends(d: &Director<VecBuf>, n: u32, rs_of: &mut [bool]) -> Vec<(u32, u16)> {
    let conns = d.lb.conns();
    (0..n)
        .map(|i| {
            let t = Tuple {
                proto: 6,
                src: Addr::v4((EST_NET + i).to_be_bytes()),
                sport: cport(i),
                dst: Addr::v4(Mode::Fnat.vip().octets()),
                dport: FNAT_VPORT,
            };
            let c = conns.lookup_in(&t).and_then(|id| conns.get(id)).expect("a populated FullNAT flow");
            rs_of[i as usize] = c.daddr() == Addr::v4(RS[1].octets());
            let IpAddr::V4(l) = c.laddr().to_ip() else { panic!("an IPv4 local address") };
            (u32::from(l), c.lport())
        })
        .collect()
}

/// SYNs from new clients into a table sized to hold every one of them.
pub(crate) fn new_connections(mode: Mode, secs: f64, burst: &mut Vec<VecBuf>) -> Row {
    let capacity = rvs_core::conn::MAX_ENTRIES;
    let mut d = director(capacity, mode);
    let mut sink = Sink::new();
    let mut t = Traffic::new_conns(mode);
    // Stop short of a full table (refused SYNs would be another case).
    let budget = u64::from(capacity) * 7 / 8;
    let (warm, _) = run(&mut d, &mut t, &mut sink, burst, warm_secs(secs), budget / 8);
    sink.reset_counts();
    let m = run(&mut d, &mut t, &mut sink, burst, secs, budget - warm);
    let mut r = row(format!("new connections {}", mode.name()), mode.name(), m.0, m, &sink, true);
    if m.1 < secs * 0.99 {
        r.case.push_str(" (stopped early: table near full)");
    }
    r
}

/// A SYN flood on the SYN-proxied service: every SYN answered by a cookie SYN-ACK, no
/// connection made. Returns the row, the cookies sent and the table's length after.
pub(crate) fn syn_flood(secs: f64, burst: &mut Vec<VecBuf>) -> (Row, u64, usize) {
    let (mut d, stats) = director_with(1 << 14, Mode::Nat, true);
    let mut sink = Sink::new();
    let mut t = Traffic::syns(SP_VIP, 80);
    run(&mut d, &mut t, &mut sink, burst, warm_secs(secs), u64::MAX);
    sink.reset_counts();
    let c0 = stats.synproxy.cookies_sent.get();
    let m = run(&mut d, &mut t, &mut sink, burst, secs, u64::MAX);
    let cookies = stats.synproxy.cookies_sent.get() - c0;
    let mut r = row("synproxy syn flood (cookie SYN-ACKs)".into(), "sp nat", m.0, m, &sink, false);
    r.cps = Some(cookies as f64 / m.1);
    (r, cookies, d.lb.conns().len())
}

pub(crate) fn baseline(label: &str, order: &[u32], secs: f64, burst: &mut Vec<VecBuf>) -> Row {
    let mut sink = Sink::new();
    let mut t = Traffic::established(Mode::Nat, order.to_vec(), ACK, true);
    run(&mut MacSwap, &mut t, &mut sink, burst, warm_secs(secs), u64::MAX);
    sink.reset_counts();
    let m = run(&mut MacSwap, &mut t, &mut sink, burst, secs, u64::MAX);
    row(label.into(), "macswap", order.len() as u64, m, &sink, false)
}
