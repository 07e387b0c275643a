//! Data-path throughput of one worker over DPDK `net_ring` ports.
//!
//! Two `net_ring` devices stand for the director's wan (port 0) and lan (port 1). A
//! net_ring queue's tx feeds the same queue's rx, so each device gets two queue pairs:
//! the generator (main lcore) sends into queue 0, which the worker receives; the worker
//! sends on queue 1, which the generator receives. The worker is the real loop,
//! `dataplane::run`, with a real `Director` (services, connection table, neighbour table,
//! routes) on its own lcore.
//!
//! The generator keeps a fixed number of packets in flight and recycles every mbuf the
//! worker sends back into the next packet of its "chain" (the next flow's packet, or
//! the next packet of a TCP exchange: a returned SYN towards a real server becomes that
//! server's SYN-ACK), so it never allocates and reacts to what the director really did.
//! 64-byte frames on the wire (60 bytes + FCS): Ethernet, IPv4 (checksum filled in;
//! rvs verifies it), TCP with 6 bytes of payload (its checksum is not filled in: rvs
//! never verifies it, NAT adjusts it incrementally).
//!
//! Cases, each with a fresh worker:
//! - io-forward baseline: the same harness, `WorkerConfig::bypass` (rx → swap MACs → tx);
//!   the generator re-sends what comes back unchanged, so that it is not the limit.
//!   Measured first and last; the mean is the baseline.
//! - established NAT / DR / TUN at 1,000 and 1,000,000 flows: one SYN per flow first
//!   (connection table populated by the director itself), then ACKs with 6 bytes of data
//!   over the flows in a scattered order (stride 7919). NAT alternates client→server and
//!   the server's reply (both directions cross a NAT director); DR and TUN carry the
//!   client's direction only (replies bypass the director).
//! - new connections NAT / DR / TUN: SYN, SYN-ACK, ACK, FIN, FIN, ACK for NAT (6 packets
//!   through the director), SYN, ACK, FIN, ACK for DR/TUN (4); every completed exchange
//!   starts the next client.
//! - mix: 1M established flows spread over the NAT, DR and TUN services, 1 chain in 10 of
//!   in-flight packets running new NAT connections.
//!
//! Run (root): `cargo bench -p rvs-benches --bench dataplane`. `RVS_BENCH_SECS` sets the
//! measured seconds per case (default 1.5).

#![allow(clippy::manual_is_multiple_of, clippy::too_many_arguments)] // MSRV 1.80; measure() takes the case as arguments

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dataplane::{NeighInbox, NeighUpdate, WorkerConfig};
use dpdk::{lcore, Burst, Eal, Mbuf, Mempool, Port, PortConf, RxQueue, TxQueue};
use rvs_benches::{array, distance, num, object, string, write_fragment};
use rvs_core::addr::{Addr, Protocol};
use rvs_core::conn::ConnConfig;
use rvs_core::forward::Directory;
use rvs_core::l3::{L3Config, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::{Ipv4Cidr, RouteTable};
use rvs_core::rss::{self, Rss};
use rvs_core::service::{Config, DestSpec, FwdMethod, ServiceKey, ServiceSpec, Snapshot};
use rvs_core::stats::CoreStats;
use wire::{EthernetAddress, PacketBuf};

const WORKER_LCORE: u32 = 1;
const FRAME: usize = 60;
const PAYLOAD: usize = 6;
/// Packets the generator keeps in flight (below a net_ring ring's 1023 slots, so no ring
/// ever overflows).
const IN_FLIGHT: u64 = 960;
const STRIDE: u32 = 7919;
const HEADROOM: usize = 128;

const WAN: u16 = 0;
const LAN: u16 = 1;
const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 1);
const RS: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 0, 3, 11), Ipv4Addr::new(10, 0, 3, 12)];
const PEER_MAC: [EthernetAddress; 3] = [
    EthernetAddress([0x02, 0, 0, 0, 0xaa, 1]),
    EthernetAddress([0x02, 0, 0, 0, 0xbb, 11]),
    EthernetAddress([0x02, 0, 0, 0, 0xbb, 12]),
];

const TARGET_MPPS: f64 = 20.0;
const TARGET_FRACTION: f64 = 0.25;
const TARGET_CPS: f64 = 1_000_000.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Nat,
    Dr,
    Tun,
}

impl Mode {
    fn vip(self) -> Ipv4Addr {
        match self {
            Mode::Nat => Ipv4Addr::new(10, 0, 2, 100),
            Mode::Dr => Ipv4Addr::new(10, 0, 2, 101),
            Mode::Tun => Ipv4Addr::new(10, 0, 2, 102),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Mode::Nat => "nat",
            Mode::Dr => "dr",
            Mode::Tun => "tun",
        }
    }
    fn of_flow(i: u32) -> Mode {
        [Mode::Nat, Mode::Dr, Mode::Tun][(i % 3) as usize]
    }
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;

/// What a frame the generator writes carries.
#[derive(Clone, Copy)]
struct Pkt {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    flags: u8,
    /// The chain's state travels in the sequence number (rvs never changes it).
    seq: u32,
}

/// The fields of a returned frame (the inner packet of an IPIP one).
#[derive(Clone, Copy)]
struct Seen {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
}

struct Macs {
    port: [EthernetAddress; 2],
}

fn write(m: &mut Mbuf, port: u16, p: &Pkt, macs: &Macs) {
    // An encapsulated (TUN) frame came back 20 bytes longer at the front.
    let h = m.headroom();
    if h < HEADROOM {
        m.adj(HEADROOM - h);
    }
    let mut f = [0u8; FRAME];
    let peer = if port == WAN { PEER_MAC[0] } else { PEER_MAC[1] };
    f[0..6].copy_from_slice(&macs.port[port as usize].0);
    f[6..12].copy_from_slice(&peer.0);
    f[12] = 0x08;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + 20 + PAYLOAD) as u16).to_be_bytes());
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&p.src.octets());
    ip[16..20].copy_from_slice(&p.dst.octets());
    let c = !wire::checksum::data(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let tcp = &mut f[34..54];
    tcp[0..2].copy_from_slice(&p.sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&p.dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&p.seq.to_be_bytes());
    tcp[12] = 0x50;
    tcp[13] = p.flags;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    m.set_data(&f);
}

fn parse(d: &[u8]) -> Option<Seen> {
    if d.len() < 54 || d[12] != 0x08 || d[13] != 0 {
        return None;
    }
    let mut ip = &d[14..];
    if ip[9] == 4 {
        ip = ip.get(20..)?; // IPIP: the inner packet
    }
    if ip.len() < 40 || ip[9] != 6 {
        return None;
    }
    let a = |o: usize| Ipv4Addr::new(ip[o], ip[o + 1], ip[o + 2], ip[o + 3]);
    let t = &ip[20..];
    Some(Seen {
        src: a(12),
        dst: a(16),
        sport: u16::from_be_bytes([t[0], t[1]]),
        dport: u16::from_be_bytes([t[2], t[3]]),
        seq: u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
    })
}

/// Turns a returned mbuf (`Some((port it came out of, its fields))`) or a fresh one
/// (`None`) into the next packet of its chain; returns the port to send it into.
trait Traffic {
    /// Send returned frames back unchanged (the baseline).
    const ECHO: bool = false;
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16;
    /// Still populating the connection table (not measured yet).
    fn populating(&self) -> bool {
        false
    }
    /// Completed connection exchanges so far.
    fn completed(&self) -> u64 {
        0
    }
}

/// The baseline: fresh packets are established-flow frames; what returns goes back as it is.
struct Echo(Established);

impl Traffic for Echo {
    const ECHO: bool = true;
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        match returned {
            Some((port, _)) => port,
            None => self.0.flow_packet(m, macs),
        }
    }
}

fn client(i: u32) -> (Ipv4Addr, u16) {
    (Ipv4Addr::from(0x0b00_0000 + i), 10_000 + (i & 0x3fff) as u16)
}

/// Established flows: populate with one SYN each, then ACKs in a scattered order.
struct Established {
    /// `None`: the mix (mode by flow index).
    mode: Option<Mode>,
    n: u32,
    populated: u32,
    cur: u32,
    stride: u32,
}

const EST_DATA: u32 = 0x0100;
const EST_REPLY: u32 = 0x0101;

impl Established {
    fn new(mode: Option<Mode>, n: u32, populate: bool) -> Self {
        Established { mode, n, populated: if populate { 0 } else { n }, cur: 0, stride: STRIDE % n }
    }
    fn flow_packet(&mut self, m: &mut Mbuf, macs: &Macs) -> u16 {
        let (i, flags, seq) = if self.populated < self.n {
            self.populated += 1;
            (self.populated - 1, SYN, 0)
        } else {
            self.cur += self.stride;
            if self.cur >= self.n {
                self.cur -= self.n;
            }
            (self.cur, ACK, EST_DATA)
        };
        let mode = self.mode.unwrap_or(Mode::of_flow(i));
        let (src, sport) = client(i);
        write(m, WAN, &Pkt { src, dst: mode.vip(), sport, dport: 80, flags, seq }, macs);
        WAN
    }
}

impl Traffic for Established {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        // A NAT client packet came out towards its real server: send the server's reply.
        if let Some((LAN, Some(s))) = returned {
            if s.seq == EST_DATA && RS.contains(&s.dst) {
                let p = Pkt { src: s.dst, dst: s.src, sport: s.dport, dport: s.sport, flags: ACK, seq: EST_REPLY };
                write(m, LAN, &p, macs);
                return LAN;
            }
        }
        self.flow_packet(m, macs)
    }
    fn populating(&self) -> bool {
        self.populated < self.n
    }
}

/// New connections, each a short TCP exchange driven by what the director sends out.
struct NewConns {
    mode: Mode,
    next_client: u32,
    done: u64,
}

const NEW_KIND: u32 = 0x0200;

impl NewConns {
    fn new(mode: Mode) -> Self {
        NewConns { mode, next_client: 0, done: 0 }
    }

    fn start(&mut self, m: &mut Mbuf, macs: &Macs) -> u16 {
        let c = self.next_client;
        self.next_client = self.next_client.wrapping_add(1);
        let src = Ipv4Addr::from(0x0c00_0000 + (c & 0x00ff_ffff));
        let sport = 20_000 + (c >> 24) as u16;
        write(m, WAN, &Pkt { src, dst: self.mode.vip(), sport, dport: 80, flags: SYN, seq: NEW_KIND }, macs);
        WAN
    }

    fn step(&mut self, port: u16, s: &Seen, m: &mut Mbuf, macs: &Macs) -> u16 {
        let step = s.seq & 0xff;
        let vip = self.mode.vip();
        // Out towards the server (lan): the client is the source; towards the client: the destination.
        let (c, cport) = if port == LAN { (s.src, s.sport) } else { (s.dst, s.dport) };
        let from_client =
            |flags: u8, step: u32| Pkt { src: c, dst: vip, sport: cport, dport: 80, flags, seq: NEW_KIND | step };
        let from_server = |flags: u8, step: u32| Pkt {
            src: s.dst,
            dst: c,
            sport: s.dport,
            dport: cport,
            flags,
            seq: NEW_KIND | step,
        };
        let (out, p) = match (self.mode, step) {
            (Mode::Nat, 0) => (LAN, from_server(SYN | ACK, 1)),
            (Mode::Nat, 1) => (WAN, from_client(ACK, 2)),
            (Mode::Nat, 2) => (WAN, from_client(FIN | ACK, 3)),
            (Mode::Nat, 3) => (LAN, from_server(FIN | ACK, 4)),
            (Mode::Nat, 4) => (WAN, from_client(ACK, 5)),
            (Mode::Dr | Mode::Tun, 0) => (WAN, from_client(ACK, 1)),
            (Mode::Dr | Mode::Tun, 1) => (WAN, from_client(FIN | ACK, 2)),
            (Mode::Dr | Mode::Tun, 2) => (WAN, from_client(ACK, 3)),
            _ => {
                self.done += 1;
                return self.start(m, macs);
            }
        };
        write(m, out, &p, macs);
        out
    }
}

impl Traffic for NewConns {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        match returned {
            Some((port, Some(s))) if s.seq & 0xff00 == NEW_KIND => self.step(port, &s, m, macs),
            _ => self.start(m, macs),
        }
    }
    fn completed(&self) -> u64 {
        self.done
    }
}

/// Established flows over all three services, one chain in `every` running new NAT
/// connections.
struct Mix {
    est: Established,
    new: NewConns,
    every: u64,
    assigned: u64,
}

impl Traffic for Mix {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        if self.est.populating() {
            return self.est.next(returned, m, macs);
        }
        match returned {
            Some((port, Some(s))) if s.seq & 0xff00 == NEW_KIND => self.new.step(port, &s, m, macs),
            Some((_, Some(s))) if s.seq == 0 => {
                // Each chain's first return after populating decides its kind.
                self.assigned += 1;
                if self.assigned % self.every == 0 {
                    self.new.start(m, macs)
                } else {
                    self.est.next(returned, m, macs)
                }
            }
            _ => self.est.next(returned, m, macs),
        }
    }
    fn populating(&self) -> bool {
        self.est.populating()
    }
    fn completed(&self) -> u64 {
        self.new.done
    }
}

/// The generator's queues and pool.
struct Gen {
    tx: Vec<TxQueue>,
    rx: Vec<RxQueue>,
    pool: Mempool,
    pend: Vec<Burst>,
    macs: Macs,
    sent: u64,
    recv: u64,
}

#[derive(Default, Clone, Copy)]
struct Window {
    packets: u64,
    tsc: u64,
    busy_tsc: u64,
    completed: u64,
}

impl Gen {
    #[inline]
    fn push(&mut self, port: u16, m: Mbuf) {
        let p = usize::from(port);
        // The worker's input ring never holds more than what is in flight, so a full
        // pending burst always drains.
        while self.pend[p].is_full() {
            self.sent += self.tx[p].tx_burst(&mut self.pend[p]) as u64;
        }
        self.pend[p].push(m);
        if self.pend[p].is_full() {
            self.sent += self.tx[p].tx_burst(&mut self.pend[p]) as u64;
        }
    }

    fn flush(&mut self) {
        for p in 0..self.pend.len() {
            self.sent += self.tx[p].tx_burst(&mut self.pend[p]) as u64;
        }
    }

    /// Top up to `IN_FLIGHT` with fresh packets (at start, and after drops).
    fn top_up<T: Traffic>(&mut self, t: &mut T, stats: &CoreStats) {
        let drops: u64 = stats.ports.iter().map(|p| p.total_drops()).sum();
        let queued: u64 = self.pend.iter().map(|b| b.len() as u64).sum();
        let in_flight = (self.sent + queued).saturating_sub(self.recv + drops);
        for _ in in_flight..in_flight_target() {
            let Some(mut m) = self.pool.alloc() else { break };
            let port = t.next(None, &mut m, &self.macs);
            self.push(port, m);
        }
        self.flush();
    }

    /// Recycle returned packets until `done(traffic, tsc)`; returns what was seen.
    fn run<T: Traffic>(&mut self, t: &mut T, stats: &CoreStats, mut done: impl FnMut(&T, u64) -> bool) -> Window {
        let t0 = lcore::tsc();
        let (p0, c0) = (self.recv, t.completed());
        let mut busy = 0u64;
        let mut b = Burst::new();
        let mut idle = 0u32;
        loop {
            let it = lcore::tsc();
            let mut got = 0;
            for port in 0..self.rx.len() {
                let n = self.rx[port].rx_burst(&mut b);
                if n == 0 {
                    continue;
                }
                got += n;
                self.recv += n as u64;
                for mut m in b.drain(..) {
                    let out = if T::ECHO {
                        port as u16
                    } else {
                        let seen = parse(m.data());
                        t.next(Some((port as u16, seen)), &mut m, &self.macs)
                    };
                    self.push(out, m);
                }
            }
            // Full bursts go out as they fill (in `push`); partial ones only when nothing
            // came back, so both sides see bursts of 32 rather than ping-pong in ones.
            let now = lcore::tsc();
            if got > 0 {
                busy += now - it;
                idle = 0;
            } else {
                self.flush();
                idle += 1;
                if idle % 4096 == 0 {
                    self.top_up(t, stats);
                }
            }
            if done(t, now) {
                return Window {
                    packets: self.recv - p0,
                    tsc: now - t0,
                    busy_tsc: busy,
                    completed: t.completed() - c0,
                };
            }
        }
    }

    /// Free everything in the generator's hands and in its rx rings.
    fn drain(&mut self) {
        for p in &mut self.pend {
            dpdk::free_burst(p);
        }
        let mut b = Burst::new();
        for q in &mut self.rx {
            while q.rx_burst(&mut b) > 0 {
                dpdk::free_burst(&mut b);
            }
        }
    }
}

struct Setup {
    ports: Vec<Port>,
    pool: Mempool,
    l3: Arc<L3Config>,
    snapshot: Arc<Snapshot>,
    macs: [EthernetAddress; 2],
}

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().expect("cidr")
}

fn setup() -> Setup {
    let pool = Mempool::create("bench_pkt", 8191, 256, dpdk::MBUF_DEFAULT_DATA_ROOM, -1).expect("mempool");
    let mut ports = Vec::new();
    let mut macs = [EthernetAddress::default(); 2];
    for (i, name) in ["net_ring0", "net_ring1"].iter().enumerate() {
        let p = Port::by_name(name).expect("net_ring port");
        let conf = PortConf {
            rx_queues: 2,
            tx_queues: 2,
            rx_desc: 1024,
            tx_desc: 1024,
            rss: false,
            mtu: None,
            ..PortConf::default()
        };
        p.configure(&conf, &pool).expect("configure");
        p.start().expect("start");
        macs[i] = p.mac_addr().expect("mac");
        ports.push(p);
    }
    let vips = vec![Mode::Nat.vip(), Mode::Dr.vip(), Mode::Tun.vip()];
    let l3_ports = vec![
        PortL3 { mac: macs[0], addrs: vec![cidr("10.0.2.2/24")], vips, mtu: 1500, ..Default::default() },
        PortL3 { mac: macs[1], addrs: vec![cidr("10.0.3.1/24")], vips: vec![], mtu: 1500, ..Default::default() },
    ];
    let mut routes = RouteTable::default();
    routes.add_gateway(cidr("0.0.0.0/0"), ROUTER, WAN);
    let l3 = Arc::new(L3Config::new(l3_ports, routes));
    let mut cfg = Config::new(64);
    for (mode, fwd) in [(Mode::Nat, FwdMethod::Masq), (Mode::Dr, FwdMethod::Route), (Mode::Tun, FwdMethod::Tunnel)] {
        let key = ServiceKey::Proto { proto: Protocol::Tcp, addr: Addr::v4(mode.vip().octets()), port: 80 };
        let mut spec = ServiceSpec::new(key);
        spec.scheduler = "rr".into();
        cfg.add_service(&spec).expect("service");
        for rs in RS {
            let mut d = DestSpec::new(Addr::v4(rs.octets()), 80);
            d.fwd = fwd;
            cfg.add_dest(&key, &d).expect("real server");
        }
    }
    Setup { ports, pool, l3, snapshot: cfg.snapshot(), macs }
}

struct Running {
    stop: Arc<AtomicBool>,
    stats: Arc<CoreStats>,
    _ctl: crossbeam::channel::Sender<rvs_core::ctl::WorkerCtl>,
}

/// Start a fresh worker (its own Director and connection table of `capacity`).
fn start_worker(s: &Setup, capacity: u32, bypass: bool) -> Running {
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(CoreStats::with_dests(WORKER_LCORE, 2, 64));
    let (tx, rx) = crossbeam::channel::unbounded();
    let inbox = Arc::new(NeighInbox::new(16));
    // Next hops resolved up front, as Node::learn does for an ARP reply.
    let _ = inbox.push(NeighUpdate { port: WAN, ip: ROUTER.into(), mac: PEER_MAC[0] });
    for (k, rs) in RS.iter().enumerate() {
        let _ = inbox.push(NeighUpdate { port: LAN, ip: (*rs).into(), mac: PEER_MAC[1 + k] });
    }
    let ports = s.ports.iter().map(|p| (p.rx_queue(0).expect("rx 0"), p.tx_queue(1).expect("tx 1"))).collect();
    let w = WorkerConfig {
        core: 0,
        ports,
        pool: s.pool.clone(),
        stats: stats.clone(),
        l3: s.l3.clone(),
        neigh: NeighConfig { reachable_ms: 3_600_000, ..NeighConfig::default() },
        conn: ConnConfig { capacity, max_dests: 64, workers: 1, ..ConnConfig::default() },
        snapshot: s.snapshot.clone(),
        ctl: rx,
        owners: Arc::new(Directory::for_capacity(1, capacity as usize)),
        rss: Arc::new(Rss::new(rss::DEFAULT_KEY, 1, 128)),
        rings_out: vec![None],
        rings_in: vec![],
        burst: dpdk::BURST,
        drain_us: 100,
        idle_sleep_us: 0,
        stop: stop.clone(),
        inbox,
        peers: vec![],
        announce: false,
        bypass,
    };
    lcore::launch(WORKER_LCORE, move || dataplane::run(w)).expect("launch worker");
    Running { stop, stats, _ctl: tx }
}

fn stop_worker(r: Running, s: &Setup, g: &mut Gen) {
    r.stop.store(true, Ordering::Relaxed);
    lcore::wait(WORKER_LCORE);
    g.drain();
    // What the worker had not received yet.
    let mut b = Burst::new();
    for p in &s.ports {
        let mut q = p.rx_queue(0).expect("rx 0");
        while q.rx_burst(&mut b) > 0 {
            dpdk::free_burst(&mut b);
        }
    }
    g.sent = 0;
    g.recv = 0;
}

struct CaseResult {
    case: String,
    mode: &'static str,
    flows: u64,
    mpps: f64,
    cps: Option<f64>,
    drops: u64,
    conns: u64,
    gen_busy: f64,
}

fn measure<T: Traffic>(
    s: &Setup,
    g: &mut Gen,
    case: &str,
    mode: &'static str,
    flows: u64,
    capacity: u32,
    bypass: bool,
    mut t: T,
) -> CaseResult {
    let hz = lcore::tsc_hz() as f64;
    let secs: f64 = std::env::var("RVS_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.5);
    let w = start_worker(s, capacity, bypass);
    // Wait until the worker has built its Director (a large connection table takes a
    // while to allocate) and taken the neighbour bindings (published at its first tick).
    let ready = lcore::tsc() + (60.0 * hz) as u64;
    while (w.stats.conn_capacity.get() == 0 || w.stats.neighbours.get() < 3) && !bypass && lcore::tsc() < ready {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    g.top_up(&mut t, &w.stats);
    let deadline = lcore::tsc() + (120.0 * hz) as u64;
    g.run(&mut t, &w.stats, |t, now| !t.populating() || now > deadline);
    let warm_end = lcore::tsc() + (0.3 * hz) as u64;
    g.run(&mut t, &w.stats, |_, now| now >= warm_end);
    let drops0: u64 = w.stats.ports.iter().map(|p| p.total_drops()).sum();
    let end = lcore::tsc() + (secs * hz) as u64;
    let win = g.run(&mut t, &w.stats, |_, now| now >= end);
    let drops = w.stats.ports.iter().map(|p| p.total_drops()).sum::<u64>() - drops0;
    let conns = w.stats.conns.get();
    stop_worker(w, s, g);
    let dt = win.tsc as f64 / hz;
    let mpps = win.packets as f64 / dt / 1e6;
    let cps = (win.completed > 0).then(|| win.completed as f64 / dt);
    CaseResult {
        case: case.into(),
        mode,
        flows,
        mpps,
        cps,
        drops,
        conns,
        gen_busy: win.busy_tsc as f64 / win.tsc as f64,
    }
}

fn eal_args() -> (Vec<String>, String) {
    let prefix = format!("rvs-bench-{}", std::process::id());
    let huge = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("HugePages_Free:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let mut a: Vec<String> = vec!["rvs-bench".into()];
    if huge >= 256 {
        a.extend(["-m", "256"].map(String::from));
    } else {
        a.extend(["--no-huge", "-m", "512"].map(String::from));
    }
    a.extend(
        [
            "--no-pci",
            "--no-telemetry",
            "--log-level=lib.eal:error",
            "-l",
            "0,1",
            "--vdev=net_ring0",
            "--vdev=net_ring1",
        ]
        .map(String::from),
    );
    a.push(format!("--file-prefix={prefix}"));
    (a, prefix)
}

/// Packets kept in flight: `RVS_BENCH_IN_FLIGHT` or [`IN_FLIGHT`].
fn in_flight_target() -> u64 {
    std::env::var("RVS_BENCH_IN_FLIGHT").ok().and_then(|v| v.parse().ok()).unwrap_or(IN_FLIGHT).min(1000)
}

/// `RVS_BENCH_CASES=substring,…` runs only the matching cases (baselines always run).
fn selected(case: &str) -> bool {
    match std::env::var("RVS_BENCH_CASES") {
        Ok(v) if !v.is_empty() => v.split(',').any(|p| case.contains(p)),
        _ => true,
    }
}

fn main() {
    let (args, prefix) = eal_args();
    let eal = match Eal::init(&args) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("dataplane bench: EAL init ({args:?}): {e} (run as root)");
            std::process::exit(1);
        }
    };
    let huge = !args.iter().any(|a| a == "--no-huge");
    let s = setup();
    let mut g = Gen {
        tx: s.ports.iter().map(|p| p.tx_queue(0).expect("tx 0")).collect(),
        rx: s.ports.iter().map(|p| p.rx_queue(1).expect("rx 1")).collect(),
        pool: s.pool.clone(),
        pend: vec![Burst::new(), Burst::new()],
        macs: Macs { port: s.macs },
        sent: 0,
        recv: 0,
    };
    println!(
        "dataplane bench: 1 worker lcore ({WORKER_LCORE}) running dataplane::run, generator on the main lcore, net_ring ports, {} memory, {FRAME}+4-byte frames, {IN_FLIGHT} packets in flight",
        if huge { "hugepage" } else { "--no-huge" }
    );

    const SMALL: u32 = 1 << 14;
    const BIG: u32 = 1 << 21;
    let new_cap = rvs_core::conn::MAX_ENTRIES;
    let mut rows: Vec<CaseResult> = Vec::new();
    let base1 = measure(
        &s,
        &mut g,
        "io-forward baseline (first)",
        "bypass",
        1000,
        SMALL,
        true,
        Echo(Established::new(Some(Mode::Dr), 1000, false)),
    );
    println!("  baseline (first run) {:.2} Mpps", base1.mpps);
    rows.push(base1);
    for n in [1_000u32, 1_000_000] {
        for mode in [Mode::Nat, Mode::Dr, Mode::Tun] {
            let cap = if n > SMALL { BIG } else { SMALL };
            let label = format!(
                "established {} {}",
                mode.name(),
                if n >= 1_000_000 { "1M".to_string() } else { format!("{}k", n / 1000) }
            );
            if !selected(&label) {
                continue;
            }
            let r = measure(
                &s,
                &mut g,
                &label,
                mode.name(),
                u64::from(n),
                cap,
                false,
                Established::new(Some(mode), n, true),
            );
            println!("  {label}: {:.2} Mpps", r.mpps);
            rows.push(r);
        }
    }
    for mode in [Mode::Nat, Mode::Dr, Mode::Tun] {
        let label = format!("new connections {}", mode.name());
        if !selected(&label) {
            continue;
        }
        let r = measure(&s, &mut g, &label, mode.name(), IN_FLIGHT, new_cap, false, NewConns::new(mode));
        println!("  {label}: {:.2} Mpps, {:.0} conn/s", r.mpps, r.cps.unwrap_or(0.0));
        rows.push(r);
    }
    let mix =
        Mix { est: Established::new(None, 1_000_000, true), new: NewConns::new(Mode::Nat), every: 10, assigned: 0 };
    if selected("mix") {
        let r = measure(&s, &mut g, "mix (1M est. NAT/DR/TUN + 1/10 new NAT)", "mix", 1_000_000, new_cap, false, mix);
        println!("  mix: {:.2} Mpps", r.mpps);
        rows.push(r);
    }
    let base2 = measure(
        &s,
        &mut g,
        "io-forward baseline (last)",
        "bypass",
        1000,
        SMALL,
        true,
        Echo(Established::new(Some(Mode::Dr), 1000, false)),
    );
    println!("  baseline (last run) {:.2} Mpps", base2.mpps);
    rows.push(base2);
    let baseline = (rows[0].mpps + rows[rows.len() - 1].mpps) / 2.0;

    println!();
    println!(
        "{:<44} {:>6} {:>9} {:>8} {:>8} {:>7} {:>12} {:>6} {:>9} {:>8}",
        "case", "mode", "flows", "Mpps", "ns/pkt", "x base", "conn/s", "drops", "conns", "gen busy"
    );
    let mut items = Vec::new();
    for r in &rows {
        let ns = 1e3 / r.mpps;
        let ratio = r.mpps / baseline;
        println!(
            "{:<44} {:>6} {:>9} {:>8.2} {:>8.1} {:>7.3} {:>12} {:>6} {:>9} {:>7.0}%",
            r.case,
            r.mode,
            r.flows,
            r.mpps,
            ns,
            ratio,
            r.cps.map_or("-".into(), |c| format!("{c:.0}")),
            r.drops,
            r.conns,
            r.gen_busy * 100.0
        );
        let mut f = vec![
            ("case", string(&r.case)),
            ("mode", string(r.mode)),
            ("flows", r.flows.to_string()),
            ("mpps", num(r.mpps)),
            ("ns_per_packet", num(ns)),
            ("ratio_to_baseline", num(ratio)),
        ];
        if let Some(c) = r.cps {
            f.push(("connections_per_second", num(c)));
        }
        f.push(("drops", r.drops.to_string()));
        f.push(("generator_busy", num(r.gen_busy)));
        items.push(object(&f));
    }
    println!("baseline (mean of first and last io-forward runs): {baseline:.2} Mpps");
    println!("(gen busy: share of the generator's time spent on packets; near 100% means the generator, not the worker, set the pace)");

    // Targets: printed with the distance to each, never asserted.
    let est_1m: Vec<&CaseResult> =
        rows.iter().filter(|r| r.case.starts_with("established") && r.flows == 1_000_000).collect();
    println!("targets:");
    for r in &est_1m {
        println!(
            "  {:<28} >= {TARGET_MPPS} Mpps: {:.2} Mpps {}   >= {:.0}% of io-forward: {:.1}% {}",
            r.case,
            r.mpps,
            distance(r.mpps, TARGET_MPPS, true),
            TARGET_FRACTION * 100.0,
            r.mpps / baseline * 100.0,
            distance(r.mpps / baseline, TARGET_FRACTION, true)
        );
    }
    let new_nat = rows.iter().find(|r| r.case == "new connections nat").and_then(|r| r.cps).unwrap_or(0.0);
    for r in rows.iter().filter(|r| r.case.starts_with("new connections")) {
        let c = r.cps.unwrap_or(0.0);
        println!("  {:<28} >= 1,000,000 conn/s per core: {c:.0} {}", r.case, distance(c, TARGET_CPS, true));
    }
    let json = object(&[
        ("baseline_mpps", num(baseline)),
        ("new_connections_per_second_per_core", num(new_nat)),
        ("memory", string(if huge { "hugepages" } else { "--no-huge" })),
        ("cases", array(&items)),
    ]);
    write_fragment("dataplane", &json);

    drop(g);
    drop(s);
    drop(eal);
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
}
