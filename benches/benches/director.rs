//! The director's own work on one core: `rvs_core::forward::Director` over pre-built
//! bursts of 32 frames, with no rings, no generator lcore and no DPDK, so the figure is
//! the load-balancing work itself (the dataplane bench measures the whole worker).
//!
//! Every burst is 32 buffers from a preallocated pool of `VecBuf`s, each refilled from a
//! template frame (`VecBuf::reset_from`) and patched with its flow's client address and
//! port (IPv4 checksum updated incrementally), then handed to `Director::input_burst`.
//! An `Io` sink takes every packet back into the pool, so the measured loop never
//! allocates. 64-byte frames on the wire (60 + FCS): Ethernet, IPv4, TCP, 6 bytes of data.
//!
//! Cases (services, real servers and routes as in the dataplane bench):
//! - established NAT / FullNAT / DR / TUN at 1,000 and 1,000,000 flows: connections
//!   populated first (a SYN per flow, then a pass of the traffic; not timed), then ACKs
//!   over the flows in a random order (a xorshift permutation, so cache and TLB misses are
//!   those of real traffic, not of a sequential walk). NAT and FullNAT alternate bursts of
//!   client packets (wan) and of the servers' replies (lan) at an independent place in the
//!   permutation (a FullNAT reply goes to the flow's local address and port, read from
//!   the table after populating, laid out in the permutation's order so that the loop
//!   reads it sequentially); DR and TUN carry the client's direction only. FullNAT
//!   runs its own configuration (the NAT VIP, port 81, 63 local addresses; sequence state
//!   for every connection).
//! - new connections NAT / FullNAT / DR / TUN: SYNs, each from a new client; conn/s =
//!   SYNs/s. The table is sized to the most it can hold and a case stops early rather
//!   than fill it.
//! - SYN flood on a SYN-proxied NAT service: SYNs from new clients, each answered by a
//!   cookie SYN-ACK in place (target >= 10 Mpps); the table must stay empty.
//!
//! The clock stands still (timers never run): the per-packet path alone.
//!
//! Baseline: the very same loop (pool, refill, patch, sink) with a MAC swap in place of
//! the Director, over the established NAT 1M traffic; measured first and last, the mean
//! is the baseline.
//!
//! Run: `cargo bench -p rvs-benches --bench director`. `RVS_BENCH_SECS` sets the measured
//! seconds per case (default 1), `RVS_BENCH_CASES=substring,…` runs only the matching
//! cases (the baselines always run). The thread is pinned to the first CPU it may use.
#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rvs_benches::topo::{add_fnat_service, FNAT_VPORT, LAN, PEER_MAC, ROUTER, RS, WAN};
use rvs_benches::{array, distance, num, object, string, write_fragment};
use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::conn::ConnConfig;
use rvs_core::forward::{Balancer, Director, Directory};
use rvs_core::l3::{Io, L3Config, Node, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::{Ipv4Cidr, RouteTable};
use rvs_core::service::{Config, DestSpec, FwdMethod, ServiceKey, ServiceSpec};
use rvs_core::stats::{CoreStats, DropReason};
use wire::{EthernetAddress, PacketBuf, VecBuf};

const BURST: usize = 32;
/// Buffers in the pool: a burst in flight, and room for any the Director holds.
const POOL: usize = 4 * BURST;
const FRAME: usize = 60;
const PAYLOAD: usize = 6;
const HEADROOM: usize = VecBuf::DEFAULT_HEADROOM;
/// Bursts between two looks at the clock.
const CHECK_EVERY: u64 = 64;
/// The clock (ms) every packet sees.
const NOW: u64 = 1_000;
const TARGET_MPPS: f64 = 30.0;
/// Issue 14: cookie SYN-ACKs per second on one core, millions.
const SP_TARGET_MPPS: f64 = 10.0;
/// The SYN-proxied NAT service's VIP (port 80), as in the dataplane bench.
const SP_VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 103);

const WAN_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
const LAN_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 1, 1]);

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// Offsets in the frame of what is patched per packet.
const IP_CSUM: usize = 24;
const IP_SRC: usize = 26;
const IP_DST: usize = 30;
const TCP_SPORT: usize = 34;
const TCP_DPORT: usize = 36;

/// Established clients: flow i is 11.0.0.0 + i; new connections: 12.0.0.0 + n.
const EST_NET: u32 = 0x0b00_0000;
const NEW_NET: u32 = 0x0c00_0000;
/// In a flow-order entry: the flow's real server (RS[1]) when set, else RS[0].
const RS_BIT: u32 = 1 << 31;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Nat,
    Dr,
    Tun,
    Fnat,
}

impl Mode {
    fn vip(self) -> Ipv4Addr {
        match self {
            Mode::Nat | Mode::Fnat => Ipv4Addr::new(10, 0, 2, 100),
            Mode::Dr => Ipv4Addr::new(10, 0, 2, 101),
            Mode::Tun => Ipv4Addr::new(10, 0, 2, 102),
        }
    }
    fn vport(self) -> u16 {
        if self == Mode::Fnat {
            FNAT_VPORT
        } else {
            80
        }
    }
    fn name(self) -> &'static str {
        match self {
            Mode::Nat => "nat",
            Mode::Dr => "dr",
            Mode::Tun => "tun",
            Mode::Fnat => "fnat",
        }
    }
    /// Replies cross the director.
    fn replies(self) -> bool {
        matches!(self, Mode::Nat | Mode::Fnat)
    }
}

fn cport(flow: u32) -> u16 {
    10_000 + (flow & 0x3fff) as u16
}

/// A frame to refill buffers from, and the one's-complement sum of its IPv4 header
/// without the checksum and the patched address, to finish the checksum per packet.
struct Template {
    frame: [u8; FRAME],
    sum: u32,
    /// Offsets of the patched address and port.
    addr_at: usize,
    port_at: usize,
}

impl Template {
    /// `client_is_src`: the client's side, patched per packet, is the source (client to
    /// VIP), else the destination (a server's reply).
    #[allow(clippy::too_many_arguments)]
    fn new(
        dst_mac: EthernetAddress,
        src_mac: EthernetAddress,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        flags: u8,
        client_is_src: bool,
    ) -> Template {
        let mut f = [0u8; FRAME];
        f[0..6].copy_from_slice(&dst_mac.0);
        f[6..12].copy_from_slice(&src_mac.0);
        f[12] = 0x08;
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((20 + 20 + PAYLOAD) as u16).to_be_bytes());
        ip[6] = 0x40; // DF
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&src.octets());
        ip[16..20].copy_from_slice(&dst.octets());
        f[TCP_SPORT..TCP_SPORT + 2].copy_from_slice(&sport.to_be_bytes());
        f[TCP_DPORT..TCP_DPORT + 2].copy_from_slice(&dport.to_be_bytes());
        f[46] = 0x50; // data offset: 20 bytes
        f[47] = flags;
        f[48..50].copy_from_slice(&65535u16.to_be_bytes());
        let (addr_at, port_at) = if client_is_src { (IP_SRC, TCP_SPORT) } else { (IP_DST, TCP_DPORT) };
        f[addr_at..addr_at + 4].fill(0);
        let sum = u32::from(wire::checksum::data(&f[14..34]));
        Template { frame: f, sum, addr_at, port_at }
    }

    /// Refill `b` with this frame for client `addr`:`port`.
    #[inline(always)]
    fn write(&self, b: &mut VecBuf, addr: u32, port: u16) {
        let ok = b.reset_from(&self.frame, HEADROOM);
        debug_assert!(ok);
        let d = b.data_mut();
        d[self.addr_at..self.addr_at + 4].copy_from_slice(&addr.to_be_bytes());
        d[self.port_at..self.port_at + 2].copy_from_slice(&port.to_be_bytes());
        let mut s = self.sum + (addr >> 16) + (addr & 0xffff);
        s = (s & 0xffff) + (s >> 16);
        s = (s & 0xffff) + (s >> 16);
        d[IP_CSUM..IP_CSUM + 2].copy_from_slice(&(!(s as u16)).to_be_bytes());
    }
}

/// Where the bursts come from.
#[allow(clippy::large_enum_variant)] // one per case, never moved in the measured loop
enum Traffic {
    /// Established flows over `order` (flow index | [`RS_BIT`]), `fwd` for the client's
    /// packets and, NAT and FullNAT, `rev` for the replies, every other burst.
    Established {
        order: Vec<u32>,
        fwd: usize,
        rev: usize,
        nat: bool,
        next_rev: bool,
        client: Template,
        reply: [Template; 2],
        /// FullNAT: the local address and port of `order`'s flows, in its order (read
        /// in step with it, as cheap as NAT's computing the client from the flow).
        local: Option<Box<[(u32, u16)]>>,
    },
    /// SYNs, each from a new client.
    New { next: u32, syn: Template },
}

impl Traffic {
    /// `replies`: every other burst is the servers' replies (NAT).
    fn established(mode: Mode, order: Vec<u32>, flags: u8, replies: bool) -> Traffic {
        let reply =
            [0, 1].map(|k| Template::new(LAN_MAC, PEER_MAC[1 + k], RS[k], Ipv4Addr::UNSPECIFIED, 80, 0, ACK, false));
        Traffic::Established {
            rev: order.len() / 2,
            order,
            fwd: 0,
            nat: replies,
            next_rev: false,
            client: Template::new(
                WAN_MAC,
                PEER_MAC[0],
                Ipv4Addr::UNSPECIFIED,
                mode.vip(),
                0,
                mode.vport(),
                flags,
                true,
            ),
            reply,
            local: None,
        }
    }

    fn new_conns(mode: Mode) -> Traffic {
        Traffic::syns(mode.vip(), mode.vport())
    }

    /// SYNs to `vip`:`vport`, each from a new client.
    fn syns(vip: Ipv4Addr, vport: u16) -> Traffic {
        let syn = Template::new(WAN_MAC, PEER_MAC[0], Ipv4Addr::UNSPECIFIED, vip, 0, vport, SYN, true);
        Traffic::New { next: 0, syn }
    }

    /// Fill `burst` with the next 32 frames from `pool`; returns the port they arrive on.
    #[inline(always)]
    fn fill(&mut self, pool: &mut Vec<VecBuf>, burst: &mut Vec<VecBuf>) -> u16 {
        match self {
            Traffic::Established { order, fwd, rev, nat, next_rev, client, reply, local } => {
                let reverse = *nat && *next_rev;
                *next_rev = !*next_rev;
                let cur = if reverse { rev } else { fwd };
                for _ in 0..BURST {
                    let Some(mut b) = pool.pop() else { break };
                    let at = *cur;
                    let e = order[at];
                    *cur += 1;
                    if *cur == order.len() {
                        *cur = 0;
                    }
                    let flow = e & !RS_BIT;
                    if reverse {
                        let (addr, port) = match local {
                            None => (EST_NET + flow, cport(flow)),
                            Some(l) => l[at],
                        };
                        reply[usize::from(e & RS_BIT != 0)].write(&mut b, addr, port);
                    } else {
                        client.write(&mut b, EST_NET + flow, cport(flow));
                    }
                    burst.push(b);
                }
                if reverse {
                    LAN
                } else {
                    WAN
                }
            }
            Traffic::New { next, syn } => {
                for _ in 0..BURST {
                    let Some(mut b) = pool.pop() else { break };
                    let c = *next;
                    *next = next.wrapping_add(1);
                    syn.write(&mut b, NEW_NET + (c & 0x00ff_ffff), 20_000 + (c >> 24) as u16);
                    burst.push(b);
                }
                WAN
            }
        }
    }
}

/// Takes every packet back into the pool; counts what happened.
struct Sink {
    pool: Vec<VecBuf>,
    tx: u64,
    drops: u64,
    first_drop: Option<DropReason>,
}

impl Sink {
    fn new() -> Sink {
        let mut pool = Vec::with_capacity(POOL);
        pool.extend((0..POOL).map(|_| VecBuf::with_room(&[], HEADROOM, VecBuf::DEFAULT_CAPACITY)));
        Sink { pool, tx: 0, drops: 0, first_drop: None }
    }

    /// Count from here (the measured window).
    fn reset_counts(&mut self) {
        self.tx = 0;
        self.drops = 0;
        self.first_drop = None;
    }
}

impl Io<VecBuf> for Sink {
    #[inline(always)]
    fn tx(&mut self, _: u16, pkt: VecBuf) {
        // The frame's bytes count as used, so no write to them may be optimised away.
        std::hint::black_box(pkt.data());
        self.tx += 1;
        self.pool.push(pkt);
    }
    fn drop(&mut self, _: u16, pkt: VecBuf, reason: DropReason) {
        self.drops += 1;
        self.first_drop.get_or_insert(reason);
        self.pool.push(pkt);
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        self.pool.pop()
    }
    fn count_drop(&mut self, _: u16, reason: DropReason) {
        self.drops += 1;
        self.first_drop.get_or_insert(reason);
    }
}

/// What a burst goes through: the Director, or the baseline's MAC swap.
trait Stage {
    fn burst(&mut self, port: u16, burst: &mut Vec<VecBuf>, sink: &mut Sink);
}

impl Stage for Director<VecBuf> {
    #[inline(always)]
    fn burst(&mut self, port: u16, burst: &mut Vec<VecBuf>, sink: &mut Sink) {
        self.input_burst(port, burst.drain(..), NOW, false, sink);
    }
}

struct MacSwap;

impl Stage for MacSwap {
    #[inline(always)]
    fn burst(&mut self, port: u16, burst: &mut Vec<VecBuf>, sink: &mut Sink) {
        for mut p in burst.drain(..) {
            let (dst, src) = p.data_mut().split_at_mut(6);
            dst.swap_with_slice(&mut src[..6]);
            sink.tx(port, p);
        }
    }
}

/// Run bursts until `secs` have passed or `limit` packets went in; (packets, seconds).
fn run<S: Stage>(
    stage: &mut S,
    t: &mut Traffic,
    sink: &mut Sink,
    burst: &mut Vec<VecBuf>,
    secs: f64,
    limit: u64,
) -> (u64, f64) {
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs_f64(secs);
    let mut packets = 0u64;
    loop {
        for _ in 0..CHECK_EVERY {
            let port = t.fill(&mut sink.pool, burst);
            packets += burst.len() as u64;
            stage.burst(port, burst, sink);
        }
        let now = Instant::now();
        if now >= end || packets >= limit {
            return (packets, (now - t0).as_secs_f64());
        }
    }
}

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
fn permutation(n: u32, seed: u64) -> Vec<u32> {
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

struct Row {
    case: String,
    mode: &'static str,
    flows: u64,
    packets: u64,
    mpps: f64,
    cps: Option<f64>,
    drops: u64,
    first_drop: Option<DropReason>,
    /// Packets neither sent nor dropped (held, e.g. waiting for a neighbour).
    unsent: u64,
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
fn established(mode: Mode, n: u32, secs: f64, burst: &mut Vec<VecBuf>) -> Row {
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
fn new_connections(mode: Mode, secs: f64, burst: &mut Vec<VecBuf>) -> Row {
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
fn syn_flood(secs: f64, burst: &mut Vec<VecBuf>) -> (Row, u64, usize) {
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

fn baseline(label: &str, order: &[u32], secs: f64, burst: &mut Vec<VecBuf>) -> Row {
    let mut sink = Sink::new();
    let mut t = Traffic::established(Mode::Nat, order.to_vec(), ACK, true);
    run(&mut MacSwap, &mut t, &mut sink, burst, warm_secs(secs), u64::MAX);
    sink.reset_counts();
    let m = run(&mut MacSwap, &mut t, &mut sink, burst, secs, u64::MAX);
    row(label.into(), "macswap", order.len() as u64, m, &sink, false)
}

/// The incremental IPv4 checksum must agree with a full one (rvs drops bad ones).
fn check_templates() {
    let t = Template::new(WAN_MAC, PEER_MAC[0], Ipv4Addr::UNSPECIFIED, Mode::Nat.vip(), 0, 80, ACK, true);
    let mut b = VecBuf::with_room(&[], HEADROOM, VecBuf::DEFAULT_CAPACITY);
    for a in [EST_NET, EST_NET + 0x000f_ffff, NEW_NET + 0x00ff_ffff, u32::MAX] {
        t.write(&mut b, a, 1);
        assert_eq!(wire::checksum::data(&b.data()[14..34]), 0xffff, "IPv4 checksum of {a:#x}");
    }
}

/// `RVS_BENCH_CASES=substring,…` runs only the matching cases (the baselines always run).
fn selected(case: &str) -> bool {
    match std::env::var("RVS_BENCH_CASES") {
        Ok(v) if !v.is_empty() => v.split(',').any(|p| case.contains(p)),
        _ => true,
    }
}

fn pin() -> String {
    match core_affinity::get_core_ids().and_then(|ids| ids.into_iter().next()) {
        Some(id) if core_affinity::set_for_current(id) => format!("pinned to CPU {}", id.id),
        _ => "not pinned".into(),
    }
}

fn main() {
    let secs: f64 = std::env::var("RVS_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    check_templates();
    let pinned = pin();
    println!(
        "director bench: one core ({pinned}), Director::input_burst over pre-built bursts of {BURST} {FRAME}+4-byte frames, {secs} s per case"
    );
    let mut burst: Vec<VecBuf> = Vec::with_capacity(BURST);
    let base_order = permutation(1_000_000, 7);
    let mut rows = vec![baseline("baseline: refill + MAC swap (first)", &base_order, secs, &mut burst)];
    println!("  {}: {:.2} Mpps", rows[0].case, rows[0].mpps);
    const MODES: [Mode; 4] = [Mode::Nat, Mode::Fnat, Mode::Dr, Mode::Tun];
    for n in [1_000u32, 1_000_000] {
        for mode in MODES {
            if !selected(&format!("established {} {}", mode.name(), if n >= 1_000_000 { "1M" } else { "1k" })) {
                continue;
            }
            rows.push(established(mode, n, secs, &mut burst));
            let r = rows.last().expect("row");
            println!("  {}: {:.2} Mpps", r.case, r.mpps);
        }
    }
    for mode in MODES {
        if !selected(&format!("new connections {}", mode.name())) {
            continue;
        }
        rows.push(new_connections(mode, secs, &mut burst));
        let r = rows.last().expect("row");
        println!("  {}: {:.0} conn/s", r.case, r.cps.unwrap_or(0.0));
    }
    let mut sp = None;
    if selected("synproxy syn flood") {
        let (r, cookies, left) = syn_flood(secs, &mut burst);
        println!("  {}: {:.2} Mpps in, {cookies} cookie SYN-ACKs, connections after: {left}", r.case, r.mpps);
        rows.push(r);
        sp = Some(left);
    }
    rows.push(baseline("baseline: refill + MAC swap (last)", &base_order, secs, &mut burst));
    let baseline = (rows[0].mpps + rows[rows.len() - 1].mpps) / 2.0;

    println!();
    println!(
        "{:<48} {:>6} {:>9} {:>8} {:>8} {:>8} {:>12} {:>6}",
        "case", "mode", "flows", "Mpps", "ns/pkt", "x base", "conn/s", "drops"
    );
    let mut items = Vec::new();
    for r in &rows {
        let ns = 1e3 / r.mpps;
        let ratio = r.mpps / baseline;
        println!(
            "{:<48} {:>6} {:>9} {:>8.2} {:>8.1} {:>8.3} {:>12} {:>6}",
            r.case,
            r.mode,
            r.flows,
            r.mpps,
            ns,
            ratio,
            r.cps.map_or("-".into(), |c| format!("{c:.0}")),
            r.drops
        );
        if let Some(why) = r.first_drop {
            println!("    (dropped: {why:?} first; the figures above are not the forwarding path)");
        }
        if r.unsent > 0 {
            println!("    ({} packets neither sent nor dropped)", r.unsent);
        }
        let mut f = vec![
            ("case", string(&r.case)),
            ("mode", string(r.mode)),
            ("flows", r.flows.to_string()),
            ("packets", r.packets.to_string()),
            ("mpps", num(r.mpps)),
            ("ns_per_packet", num(ns)),
            ("ratio_to_baseline", num(ratio)),
        ];
        if let Some(c) = r.cps {
            f.push(("connections_per_second", num(c)));
        }
        f.push(("drops", r.drops.to_string()));
        items.push(object(&f));
    }
    println!("baseline (mean of first and last): {baseline:.2} Mpps, {:.1} ns/packet", 1e3 / baseline);
    println!("target (printed, not asserted): Director at 1M flows >= {TARGET_MPPS} Mpps on one core");
    for r in rows.iter().filter(|r| r.case.starts_with("established") && r.flows == 1_000_000) {
        println!("  {:<24} {:>6.2} Mpps {}", r.case, r.mpps, distance(r.mpps, TARGET_MPPS, true));
    }
    let mut sp_fields = Vec::new();
    if let (Some(r), Some(left)) = (rows.iter().find(|r| r.case.starts_with("synproxy syn flood")), sp) {
        let a = r.cps.unwrap_or(0.0) / 1e6;
        println!(
            "  {:<24} {a:>6.2} Mpps cookie SYN-ACKs (>= {SP_TARGET_MPPS}) {}; connections after: {left}",
            "synproxy syn flood",
            distance(a, SP_TARGET_MPPS, true)
        );
        sp_fields.extend([
            ("cookie_synacks_per_second", num(a * 1e6)),
            ("target_mpps", num(SP_TARGET_MPPS)),
            ("ratio_to_baseline", num(r.mpps / baseline)),
            ("connections_after", left.to_string()),
        ]);
    }
    write_fragment(
        "director",
        &object(&[
            ("synproxy", object(&sp_fields)),
            ("baseline_mpps", num(baseline)),
            ("target_mpps", num(TARGET_MPPS)),
            ("burst", BURST.to_string()),
            ("seconds_per_case", num(secs)),
            ("pinned", string(&pinned)),
            ("cases", array(&items)),
        ]),
    );
}
