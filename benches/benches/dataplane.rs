//! Data-path throughput of one or several workers over DPDK `net_ring` ports.
//!
//! Two `net_ring` devices stand for the director's wan (port 0) and lan (port 1). A
//! net_ring queue's tx feeds the same queue's rx, so each device gets two queue pairs per
//! worker: worker w's generator sends into queue 2w, which worker w receives; worker w
//! sends on queue 2w + 1, which its generator receives (one worker: queues 0 and 1, as
//! before). Each worker is the real loop, `dataplane::run`, with a real `Director`
//! (services, connection table, neighbour table, routes) on its own lcore; several
//! workers share an owner `Directory` and redirect rings, as rvsd wires them. Each worker
//! has its own generator lcore (generator g on lcore 2g, the main lcore for g = 0; worker
//! w on lcore 2w + 1), so the generator is not what limits several workers.
//!
//! With several workers every frame is placed as a NIC's Toeplitz RSS would with rvs's
//! configuration (`Rss::new(DEFAULT_KEY, workers, 128)`, the client's address alone): by
//! source address on the wan port (it holds the VIPs), by destination on lan (NAT replies
//! to clients), except FullNAT replies to a local address, which go to the worker their
//! port's low bits name (`lport_owner`, the rte_flow rule rvs asks of a NIC). Generator g
//! stands for RSS queue g: it drives only the clients RSS gives
//! worker g (the flows, new clients and persistent clients are split by their RSS queue),
//! and checks every frame's queue before sending it (a frame RSS would give another worker
//! is counted as misplaced and replaced). So "no packet crosses between workers" is
//! measured, from each worker's `redirects_out`/`redirects_in`, not assumed.
//!
//! A generator keeps a fixed number of packets in flight and recycles every mbuf its
//! worker sends back into the next packet of its "chain" (the next flow's packet, or
//! the next packet of a TCP exchange: a returned SYN towards a real server becomes that
//! server's SYN-ACK), so it never allocates and reacts to what the director really did.
//! 64-byte frames on the wire (60 bytes + FCS): Ethernet, IPv4 (checksum filled in;
//! rvs verifies it), TCP with 6 bytes of payload (its checksum is not filled in: rvs
//! never verifies it, NAT adjusts it incrementally). A chain's state travels in the IP
//! ID and its client in the payload, which no forwarding method rewrites (FullNAT
//! rewrites both addresses and the client's sequence numbers). The generators populate
//! their flows, wait for each other, then share one warm-up and one measured window.
//!
//! Cases, each with fresh workers:
//! - io-forward baseline: the same harness, `WorkerConfig::bypass` (rx → swap MACs → tx);
//!   the generator re-sends what comes back unchanged, so that it is not the limit.
//!   Measured first and last; the mean is the baseline.
//! - established NAT / FullNAT / DR / TUN at 1,000 and 1,000,000 flows (in total, spread
//!   over the workers by RSS): one SYN per flow first (connection table populated by the
//!   director itself), then ACKs with 6 bytes of data over the flows in a scattered order
//!   (stride 7919). NAT and FullNAT alternate client→server and the server's reply (both
//!   directions cross the director; a FullNAT reply goes to LADDR:lport, and the client
//!   checks its acknowledgement came back through the ISN offset); DR and TUN carry the
//!   client's direction only (replies bypass it). FullNAT runs its own configuration (the
//!   NAT VIP, port 81, 63 local addresses; sequence state for every connection).
//! - new connections NAT / FullNAT / DR / TUN: SYN, SYN-ACK, ACK, FIN, FIN, ACK for NAT
//!   and FullNAT (6 packets through the director), SYN, ACK, FIN, ACK for DR/TUN (4); every
//!   completed exchange starts the next client.
//! - SYN proxy (`synproxy`, a SYN-proxied NAT service on 10.0.2.103:80): a SYN flood from
//!   random clients, each cookie SYN-ACK turned into the next SYN (cookie SYN-ACKs/s; the
//!   table must stay empty); new connections through the proxy, each step computed from
//!   what the director sent (the client's ACK from the cookie SYN-ACK, the server's
//!   SYN-ACK from the director's SYN), beside "new connections nat" in the same run.
//! - mix: 1M established flows spread over the NAT, DR and TUN services, 1 chain in 10 of
//!   in-flight packets running new NAT connections.
//! - RSS placement, max(2, `RVS_BENCH_WORKERS`) workers: established NAT / FullNAT / DR /
//!   TUN at 1,000 flows, new FullNAT connections (redirects per packet: 0 when every reply
//!   reached its port's worker), and new connections to a persistent NAT service (`-p`)
//!   from 1,000 clients, each opening connection after connection from new ports; the
//!   generators record which real servers each client's packets reached (a split client
//!   breaks persistence). Redirect counters and that check are printed, never asserted.
//! - scaling, when `RVS_BENCH_WORKERS` is a list ("1,2,4,8"): established NAT at 1M and
//!   1k flows for each N of the list (and 1): aggregate and per-worker Mpps, aggregate /
//!   (N × the one-worker figure), redirects per packet.
//!
//! Run (root): `cargo bench -p rvs-benches --bench dataplane`. `RVS_BENCH_SECS` sets the
//! measured seconds per case (default 1.5); `RVS_BENCH_WORKERS` (1..=8, default 1; or a
//! list, whose first entry the main cases use) the workers. The EAL gets two lcores per
//! worker (`-l 0-(2N-1)`, or `--lcores` mapped onto the CPUs this process may use when it
//! has fewer: lcore i on the i-th of them, modulo their number, one thread per physical
//! core first).

#![allow(clippy::manual_is_multiple_of)] // MSRV 1.80

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use control::config::REDIRECT_RING;
use dataplane::{NeighInbox, NeighUpdate, WorkerConfig};
use dpdk::{lcore, Burst, Eal, Mbuf, Mempool, Port, PortConf, Ring, RxQueue, TxQueue};
use rvs_benches::topo::{add_fnat_service, is_laddr, FNAT_VPORT, LAN, PEER_MAC, ROUTER, RS, WAN};
use rvs_benches::{array, distance, num, object, string, write_fragment};
use rvs_core::addr::{Addr, Protocol};
use rvs_core::conn::laddr::lport_owner;
use rvs_core::conn::ConnConfig;
use rvs_core::forward::Directory;
use rvs_core::l3::{L3Config, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::{Ipv4Cidr, RouteTable};
use rvs_core::rss::{self, Rss};
use rvs_core::service::{Config, DestSpec, FwdMethod, Persistence, ServiceKey, ServiceSpec, Snapshot};
use rvs_core::stats::{CoreStats, DropReason};
use wire::{EthernetAddress, PacketBuf};

/// Workers at most: a net_ring device has 16 queue pairs, two per worker.
const MAX_WORKERS: usize = 8;
/// Clients of the persistence case.
const PERSIST_CLIENTS: u32 = 1000;
const FRAME: usize = 60;
const PAYLOAD: usize = 6;
/// Packets the generator keeps in flight (below a net_ring ring's 1023 slots, so no ring
/// ever overflows).
const IN_FLIGHT: u64 = 960;
const STRIDE: u32 = 7919;
const HEADROOM: usize = 128;

const TARGET_MPPS: f64 = 20.0;
const TARGET_FRACTION: f64 = 0.25;
/// Issue 14's SYN-flood target: cookie SYN-ACKs per second on one core, millions.
const SP_TARGET_MPPS: f64 = 10.0;
/// Issue 11's new-connection targets per core: NAT, DR, TUN; FullNAT's are NAT's.
const TARGET_CPS: [(&str, f64); 4] = [
    ("new connections nat", 1_500_000.0),
    ("new connections fnat", 1_500_000.0),
    ("new connections dr", 2_000_000.0),
    ("new connections tun", 1_500_000.0),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Nat,
    Dr,
    Tun,
    /// NAT to the persistent service (the NAT VIP, port 90; only in the persistence case's
    /// configuration, so the other cases' services are as before).
    Persist,
    /// FullNAT (the NAT VIP, port [`FNAT_VPORT`]; likewise in a configuration of its own).
    Fnat,
}

impl Mode {
    fn vip(self) -> Ipv4Addr {
        match self {
            Mode::Nat | Mode::Persist | Mode::Fnat => Ipv4Addr::new(10, 0, 2, 100),
            Mode::Dr => Ipv4Addr::new(10, 0, 2, 101),
            Mode::Tun => Ipv4Addr::new(10, 0, 2, 102),
        }
    }
    fn vport(self) -> u16 {
        match self {
            Mode::Persist => 90,
            Mode::Fnat => FNAT_VPORT,
            _ => 80,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Mode::Nat => "nat",
            Mode::Dr => "dr",
            Mode::Tun => "tun",
            Mode::Persist => "nat -p",
            Mode::Fnat => "fnat",
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
    /// The chain's state (below 2^16): it travels in the IP ID too, which no forwarding
    /// method changes (FullNAT offsets the client's sequence numbers).
    seq: u32,
    ack: u32,
    /// The connection's client, carried in the payload: a FullNAT packet on lan no
    /// longer names it.
    client: Ipv4Addr,
    cport: u16,
}

/// The fields of a returned frame (the inner packet of an IPIP one).
#[derive(Clone, Copy)]
struct Seen {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    /// The chain's state and the client (see [`Pkt`]; 0.0.0.0:0 in a frame without
    /// payload, such as the SYN proxy's).
    tag: u32,
    client: Ipv4Addr,
    cport: u16,
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
    ip[4..6].copy_from_slice(&(p.seq as u16).to_be_bytes());
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
    tcp[8..12].copy_from_slice(&p.ack.to_be_bytes());
    tcp[12] = 0x50;
    tcp[13] = p.flags;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    f[54..58].copy_from_slice(&p.client.octets());
    f[58..60].copy_from_slice(&p.cport.to_be_bytes());
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
    let w = |o: usize| u32::from_be_bytes([t[o], t[o + 1], t[o + 2], t[o + 3]]);
    let body = usize::from(t[12] >> 4) * 4;
    let c = t.get(body..body + 6).unwrap_or(&[0; 6]);
    Some(Seen {
        src: a(12),
        dst: a(16),
        sport: u16::from_be_bytes([t[0], t[1]]),
        dport: u16::from_be_bytes([t[2], t[3]]),
        seq: w(4),
        ack: w(8),
        flags: t[13],
        tag: u32::from(u16::from_be_bytes([ip[4], ip[5]])),
        client: Ipv4Addr::new(c[0], c[1], c[2], c[3]),
        cport: u16::from_be_bytes([c[4], c[5]]),
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

/// One generator's share of `n` established flows: the flows RSS gives its worker, in
/// index order (the order they are populated in) and in the scattered order they are
/// visited (stride [`STRIDE`] over all `n`, so one worker sees the order it always did).
struct FlowList {
    fill: Vec<u32>,
    walk: Vec<u32>,
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The RSS queue (worker) of each client address; everything is queue 0 for one worker.
fn queue_of(rss: &Rss, workers: usize, a: Ipv4Addr) -> usize {
    if workers == 1 {
        0
    } else {
        usize::from(rss.queue_of(Addr::from(a)))
    }
}

/// Flows 0..n split over `workers` generators by their client's RSS queue.
fn flow_lists(n: u32, rss: &Rss, workers: usize) -> Vec<FlowList> {
    let owner: Vec<u8> = (0..n).map(|i| queue_of(rss, workers, client(i).0) as u8).collect();
    let mut lists: Vec<FlowList> = (0..workers)
        .map(|_| FlowList {
            fill: Vec::with_capacity(n as usize / workers),
            walk: Vec::with_capacity(n as usize / workers),
        })
        .collect();
    for i in 0..n {
        lists[usize::from(owner[i as usize])].fill.push(i);
    }
    // A stride that visits every flow once per round.
    let mut stride = (STRIDE % n).max(1);
    while gcd(stride, n) != 1 {
        stride += 1;
    }
    let mut cur = 0u32;
    for _ in 0..n {
        cur += stride;
        if cur >= n {
            cur -= n;
        }
        lists[usize::from(owner[cur as usize])].walk.push(cur);
    }
    lists
}

/// Established flows: populate with one SYN each, then ACKs in a scattered order.
struct Established {
    /// `None`: the mix (mode by flow index).
    mode: Option<Mode>,
    flows: FlowList,
    populated: usize,
    cur: usize,
    /// Replies that reached the client acknowledging other than what it sent (FullNAT
    /// maps the real server's acknowledgements back through the ISN offset).
    bad_acks: u64,
}

const EST_DATA: u32 = 0x0100;
const EST_REPLY: u32 = 0x0101;

impl Established {
    fn new(mode: Option<Mode>, flows: FlowList, populate: bool) -> Self {
        assert!(!flows.walk.is_empty(), "a generator without flows");
        let populated = if populate { 0 } else { flows.fill.len() };
        Established { mode, flows, populated, cur: 0, bad_acks: 0 }
    }
    fn flow_packet(&mut self, m: &mut Mbuf, macs: &Macs) -> u16 {
        let (i, flags, seq) = if let Some(&i) = self.flows.fill.get(self.populated) {
            self.populated += 1;
            (i, SYN, 0)
        } else {
            let i = self.flows.walk[self.cur];
            self.cur += 1;
            if self.cur == self.flows.walk.len() {
                self.cur = 0;
            }
            (i, ACK, EST_DATA)
        };
        let mode = self.mode.unwrap_or(Mode::of_flow(i));
        let (src, sport) = client(i);
        let p = Pkt { src, dst: mode.vip(), sport, dport: mode.vport(), flags, seq, ack: 0, client: src, cport: sport };
        write(m, WAN, &p, macs);
        WAN
    }
}

impl Traffic for Established {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        match returned {
            // A (Full)NAT client packet came out towards its real server: send the server's
            // reply, acknowledging its data as numbered on that side.
            Some((LAN, Some(s))) if s.tag == EST_DATA && RS.contains(&s.dst) => {
                let p = Pkt {
                    src: s.dst,
                    dst: s.src,
                    sport: s.dport,
                    dport: s.sport,
                    flags: ACK,
                    seq: EST_REPLY,
                    ack: s.seq.wrapping_add(PAYLOAD as u32),
                    client: s.client,
                    cport: s.cport,
                };
                write(m, LAN, &p, macs);
                return LAN;
            }
            Some((WAN, Some(s))) if s.tag == EST_REPLY => {
                self.bad_acks += u64::from(s.ack != EST_DATA + PAYLOAD as u32);
            }
            _ => {}
        }
        self.flow_packet(m, macs)
    }
    fn populating(&self) -> bool {
        self.populated < self.flows.fill.len()
    }
}

/// New connections, each a short TCP exchange driven by what the director sends out.
struct NewConns {
    mode: Mode,
    vport: u16,
    clients: Clients,
    next_client: u32,
    done: u64,
}

/// Who opens the connections of one generator.
enum Clients {
    /// Every connection from a new client: any address (one worker), or those of the list
    /// (the addresses RSS gives this generator's worker), each time from a new port.
    Fresh(Option<Vec<u32>>),
    /// These persistence-case clients in turn, each time from a new port.
    Few(Vec<u32>),
}

/// Fresh client addresses the generator of each worker may use (RSS spreads them).
const FRESH_PER_WORKER: usize = 1 << 16;

fn fresh_clients(rss: &Rss, workers: usize) -> Vec<Clients> {
    if workers == 1 {
        return vec![Clients::Fresh(None)];
    }
    let mut lists = vec![Vec::with_capacity(FRESH_PER_WORKER); workers];
    let mut a = 0x0c00_0000u32;
    while lists.iter().any(|l| l.len() < FRESH_PER_WORKER) {
        let l = &mut lists[queue_of(rss, workers, Ipv4Addr::from(a))];
        if l.len() < FRESH_PER_WORKER {
            l.push(a);
        }
        a += 1;
    }
    lists.into_iter().map(|l| Clients::Fresh(Some(l))).collect()
}

/// The persistence case's clients, split by RSS queue.
fn persist_clients(rss: &Rss, workers: usize) -> Vec<Clients> {
    let mut lists = vec![Vec::new(); workers];
    for i in 0..PERSIST_CLIENTS {
        lists[queue_of(rss, workers, persist_client(i))].push(i);
    }
    lists.into_iter().map(Clients::Few).collect()
}

const NEW_KIND: u32 = 0x0200;

/// Client `i` of the persistence case.
fn persist_client(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0d00_0000 + i)
}

impl NewConns {
    fn new(mode: Mode, clients: Clients) -> Self {
        assert!(
            !matches!(&clients, Clients::Few(l) | Clients::Fresh(Some(l)) if l.is_empty()),
            "a generator without clients"
        );
        NewConns { mode, vport: mode.vport(), clients, next_client: 0, done: 0 }
    }

    fn start(&mut self, m: &mut Mbuf, macs: &Macs) -> u16 {
        let c = self.next_client;
        self.next_client = self.next_client.wrapping_add(1);
        let (src, sport) = match &self.clients {
            Clients::Fresh(None) => (Ipv4Addr::from(0x0c00_0000 + (c & 0x00ff_ffff)), 20_000 + (c >> 24) as u16),
            Clients::Fresh(Some(l)) => {
                let k = l.len() as u32;
                (Ipv4Addr::from(l[(c % k) as usize]), 20_000 + (c / k % 40_000) as u16)
            }
            // A port is reused only after 60,000 connections of that client.
            Clients::Few(l) => {
                let k = l.len() as u32;
                (persist_client(l[(c % k) as usize]), 1024 + (c / k % 60_000) as u16)
            }
        };
        let p = Pkt {
            src,
            dst: self.mode.vip(),
            sport,
            dport: self.vport,
            flags: SYN,
            seq: NEW_KIND,
            ack: 0,
            client: src,
            cport: sport,
        };
        write(m, WAN, &p, macs);
        WAN
    }

    fn step(&mut self, s: &Seen, m: &mut Mbuf, macs: &Macs) -> u16 {
        let step = s.tag & 0xff;
        let (vip, vport) = (self.mode.vip(), self.vport);
        let (c, cport) = (s.client, s.cport);
        let from_client = |flags: u8, step: u32| Pkt {
            src: c,
            dst: vip,
            sport: cport,
            dport: vport,
            flags,
            seq: NEW_KIND | step,
            ack: 0,
            client: c,
            cport,
        };
        // The real server answers the client's SYN or FIN just returned on lan (to the
        // client, or FullNAT's local address), acknowledging it as numbered on its side.
        let from_server = |flags: u8, step: u32| Pkt {
            src: s.dst,
            dst: s.src,
            sport: s.dport,
            dport: s.sport,
            flags,
            seq: NEW_KIND | step,
            ack: s.seq.wrapping_add(1),
            client: c,
            cport,
        };
        let (out, p) = match (self.mode, step) {
            (Mode::Nat | Mode::Persist | Mode::Fnat, 0) => (LAN, from_server(SYN | ACK, 1)),
            (Mode::Nat | Mode::Persist | Mode::Fnat, 1) => (WAN, from_client(ACK, 2)),
            (Mode::Nat | Mode::Persist | Mode::Fnat, 2) => (WAN, from_client(FIN | ACK, 3)),
            (Mode::Nat | Mode::Persist | Mode::Fnat, 3) => (LAN, from_server(FIN | ACK, 4)),
            (Mode::Nat | Mode::Persist | Mode::Fnat, 4) => (WAN, from_client(ACK, 5)),
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
            Some((_, Some(s))) if s.tag & 0xff00 == NEW_KIND => self.step(&s, m, macs),
            _ => self.start(m, macs),
        }
    }
    fn completed(&self) -> u64 {
        self.done
    }
}

/// New connections to the persistent NAT service from [`PERSIST_CLIENTS`] clients; checks,
/// from the frames the director sends to real servers, that each client reached one.
struct Persist {
    new: NewConns,
    /// Per client, one bit per real server its packets reached.
    reached: Vec<u8>,
    /// SYNs seen going to a real server.
    connections: u64,
}

impl Persist {
    fn new(clients: Clients) -> Self {
        Persist {
            new: NewConns::new(Mode::Persist, clients),
            reached: vec![0; PERSIST_CLIENTS as usize],
            connections: 0,
        }
    }
}

impl Traffic for Persist {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        if let Some((LAN, Some(s))) = returned {
            let client = u32::from(s.src).wrapping_sub(u32::from(persist_client(0))) as usize;
            if let (Some(bits), Some(r)) = (self.reached.get_mut(client), RS.iter().position(|a| *a == s.dst)) {
                *bits |= 1 << r;
                self.connections += u64::from(s.tag == NEW_KIND);
            }
        }
        self.new.next(returned, m, macs)
    }
    fn completed(&self) -> u64 {
        self.new.done
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
            Some((_, Some(s))) if s.tag & 0xff00 == NEW_KIND => self.new.step(&s, m, macs),
            Some((_, Some(s))) if s.tag == 0 => {
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

/// The SYN-proxied NAT service's VIP (port 80; only in `Setup::sp_snapshot`).
const SP_VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 103);
/// The ISNs of the SYN-proxied exchange's client and server.
const SP_CLIENT_ISN: u32 = 0x0300_0000;
const SP_SERVER_ISN: u32 = 0x7000_0000;

/// A packet of the SYN-proxy cases: ack 0 and no data (the payload's first 4 bytes,
/// `Pkt::client`, carry a number the chain keeps: see [`SynConns`]).
fn sp_pkt(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, flags: u8, seq: u32) -> Pkt {
    Pkt { src, dst, sport, dport, flags, seq, ack: 0, client: Ipv4Addr::UNSPECIFIED, cport: 0 }
}

/// A SYN from a random client (xorshift) to the SYN-proxied service.
fn random_syn(rng: &mut u64, m: &mut Mbuf, macs: &Macs) -> u16 {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let r = *rng;
    let src = Ipv4Addr::from(0x0b00_0000 | (r as u32 & 0x00ff_ffff));
    let sport = 1024 + ((r >> 32) % 60_000) as u16;
    let p = sp_pkt(src, SP_VIP, sport, 80, SYN, SP_CLIENT_ISN);
    write(m, WAN, &p, macs);
    WAN
}

/// SYN flood on the SYN-proxied service: every returned frame (a cookie SYN-ACK)
/// becomes a SYN from a new random client.
struct SynFlood {
    rng: u64,
    /// Cookie SYN-ACKs seen, and other frames.
    synacks: u64,
    other: u64,
}

impl SynFlood {
    fn new(g: usize) -> Self {
        SynFlood { rng: 0x9e37_79b9_7f4a_7c15 ^ (g as u64 + 1), synacks: 0, other: 0 }
    }
}

impl Traffic for SynFlood {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        match returned {
            Some((WAN, Some(s))) if s.flags == SYN | ACK && s.src == SP_VIP && s.ack == SP_CLIENT_ISN + 1 => {
                self.synacks += 1
            }
            Some(_) => self.other += 1,
            None => {}
        }
        random_syn(&mut self.rng, m, macs)
    }
    fn completed(&self) -> u64 {
        self.synacks
    }
}

/// New connections through the SYN proxy, each from what the director sent: SYN →
/// cookie SYN-ACK; the client's ACK (ack = cookie + 1, the cookie also in its payload)
/// → the director's SYN to the server (the ACK held); the server's SYN-ACK → the held
/// ACK released; client FIN, server FIN (the cookie in its payload), client ACK.
/// 6 packets into the director, 6 out, as NAT's exchange.
struct SynConns {
    next_client: u32,
    done: u64,
    /// Frames whose translation was wrong (the released ACK's ack not the server's
    /// ISN + 1, the server's FIN not in the cookie's numbering), and unexpected ones.
    bad: u64,
    other: u64,
}

impl SynConns {
    fn start(&mut self, m: &mut Mbuf, macs: &Macs) -> u16 {
        let c = self.next_client;
        self.next_client = self.next_client.wrapping_add(1);
        let src = Ipv4Addr::from(0x0e00_0000 + (c & 0x00ff_ffff));
        let p = sp_pkt(src, SP_VIP, 20_000 + (c >> 24) as u16, 80, SYN, SP_CLIENT_ISN);
        write(m, WAN, &p, macs);
        WAN
    }

    fn step(&mut self, port: u16, s: &Seen, m: &mut Mbuf, macs: &Macs) -> u16 {
        let to_client = port == WAN && s.src == SP_VIP;
        let client = |flags: u8, seq: u32| sp_pkt(s.src, SP_VIP, s.sport, 80, flags, seq);
        let server = |flags: u8, seq: u32| sp_pkt(s.dst, s.src, s.dport, s.sport, flags, seq);
        // The number the chain carries in the payload (the cookie, once known).
        let kept = u32::from(s.client);
        let (out, p, ack, data) = match (to_client, s.flags) {
            // The cookie SYN-ACK: the client's ACK.
            (true, f) if f == SYN | ACK => {
                let p = sp_pkt(s.dst, SP_VIP, s.dport, 80, ACK, s.ack);
                (WAN, p, s.seq.wrapping_add(1), s.seq)
            }
            // The server's FIN, in the cookie's numbering: the client's last ACK.
            (true, f) if f == FIN | ACK => {
                self.bad += u64::from(s.seq != kept.wrapping_add(1));
                let p = sp_pkt(s.dst, SP_VIP, s.dport, 80, ACK, s.ack);
                (WAN, p, s.seq.wrapping_add(1), 0)
            }
            // The director's SYN to the server: its SYN-ACK.
            (false, SYN) if port == LAN => (LAN, server(SYN | ACK, SP_SERVER_ISN), s.seq.wrapping_add(1), 0),
            // The released ACK: the client's FIN (ack in the cookie's numbering).
            (false, ACK) if port == LAN && s.seq == SP_CLIENT_ISN + 1 => {
                self.bad += u64::from(s.ack != SP_SERVER_ISN + 1);
                (WAN, client(FIN | ACK, s.seq), kept.wrapping_add(1), kept)
            }
            // The client's FIN at the server: the server's FIN.
            (false, f) if port == LAN && f == FIN | ACK => {
                (LAN, server(FIN | ACK, SP_SERVER_ISN + 1), s.seq.wrapping_add(1), kept)
            }
            (false, ACK) if port == LAN && s.seq == SP_CLIENT_ISN + 2 => {
                self.done += 1;
                return self.start(m, macs);
            }
            _ => {
                self.other += 1;
                return self.start(m, macs);
            }
        };
        write(m, out, &Pkt { ack, client: Ipv4Addr::from(data), ..p }, macs);
        out
    }
}

impl Traffic for SynConns {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        match returned {
            Some((port, Some(s))) => self.step(port, &s, m, macs),
            _ => self.start(m, macs),
        }
    }
    fn completed(&self) -> u64 {
        self.done
    }
}

/// The SYN-proxy cases' checks.
struct SpFigures {
    /// Connections in the table after the flood (must be 0), frames not a cookie SYN-ACK.
    flood_conns: u64,
    flood_other: u64,
    /// New connections: mistranslated and unexpected frames.
    bad: u64,
    new_other: u64,
}

/// One generator: the queues into its worker and back, and the pool.
struct Gen {
    /// Its worker's index, and the RSS queue it stands for.
    index: usize,
    /// Into its worker on port p (index p), with its pending burst.
    tx: Vec<TxQueue>,
    pend: Vec<Burst>,
    /// What its worker sends, with the port it came out of.
    rx: Vec<(u16, RxQueue)>,
    pool: Mempool,
    macs: Macs,
    sent: u64,
    recv: u64,
    /// Workers of the current case, and their RSS configuration, to place frames as
    /// the NIC would.
    workers: usize,
    rss: Rss,
    /// Frames RSS would have given another worker (replaced by fresh ones of its own).
    misplaced: u64,
    /// Sleep when idle (it shares its CPU), as the workers do.
    idle_sleep: bool,
}

#[derive(Default, Clone, Copy)]
struct Window {
    packets: u64,
    tsc: u64,
    busy_tsc: u64,
    completed: u64,
}

/// Sleep when idle for this long (a generator sharing its CPU).
const GEN_IDLE_SLEEP_US: u64 = 50;

/// What the generators of one case share: they populate, wait for each other, then
/// generator 0 sets one warm-up and one measured window for all.
struct Phase {
    gens: usize,
    populated: AtomicUsize,
    /// TSC at the start and end of the measured window (0: not set yet).
    start: AtomicU64,
    end: AtomicU64,
    warm_tsc: u64,
    measure_tsc: u64,
}

impl Gen {
    /// Generator `index`, on the queues of worker `index`.
    fn new(s: &Setup, index: usize) -> Gen {
        let q = 2 * index as u16;
        Gen {
            index,
            tx: s.ports.iter().map(|p| p.tx_queue(q).expect("tx")).collect(),
            pend: s.ports.iter().map(|_| Burst::new()).collect(),
            rx: s.ports.iter().enumerate().map(|(i, p)| (i as u16, p.rx_queue(q + 1).expect("rx"))).collect(),
            pool: s.pool.clone(),
            macs: Macs { port: s.macs },
            sent: 0,
            recv: 0,
            workers: 1,
            rss: Rss::new(rss::DEFAULT_KEY, 1, 128),
            misplaced: 0,
            idle_sleep: false,
        }
    }

    /// Get ready for a case of `workers` workers.
    fn begin(&mut self, workers: usize, idle_sleep: bool) {
        self.workers = workers;
        self.rss = Rss::new(rss::DEFAULT_KEY, workers as u16, 128);
        self.idle_sleep = idle_sleep;
        self.misplaced = 0;
        self.sent = 0;
        self.recv = 0;
    }

    /// The worker a NIC with rvs's RSS delivers this frame to: hashed on the client's
    /// address, the source on wan (it holds the VIPs), the destination on lan; a FullNAT
    /// reply to a local address goes where its port's low bits say (rvs's rte_flow rule).
    #[inline]
    fn worker_of(&self, port: u16, m: &Mbuf) -> usize {
        if self.workers == 1 {
            return 0;
        }
        let d = m.data();
        let at = if port == WAN { 26 } else { 30 };
        let a = d.get(at..at + 4).map_or(Ipv4Addr::UNSPECIFIED, |b| Ipv4Addr::new(b[0], b[1], b[2], b[3]));
        if port == LAN && is_laddr(a) {
            let lport = d.get(36..38).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
            return usize::from(lport_owner(lport, self.workers as u32));
        }
        usize::from(self.rss.queue_of(Addr::from(a)))
    }

    /// Send `m` into `port` if RSS gives it to this generator's worker; else (a frame
    /// of another worker's client came back here) count it and send a fresh one instead.
    #[inline]
    fn push<T: Traffic>(&mut self, t: &mut T, mut port: u16, mut m: Mbuf) {
        let mut tries = 0;
        while self.worker_of(port, &m) != self.index {
            self.misplaced += 1;
            tries += 1;
            if tries > 16 {
                return; // dropping `m` frees it
            }
            port = t.next(None, &mut m, &self.macs);
        }
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
    fn top_up<T: Traffic>(&mut self, t: &mut T, stats: &[Arc<CoreStats>]) {
        let drops = total_drops(stats);
        let queued: u64 = self.pend.iter().map(|b| b.len() as u64).sum();
        let in_flight = (self.sent + queued).saturating_sub(self.recv + drops);
        for _ in in_flight..in_flight_target() {
            let Some(mut m) = self.pool.alloc() else { break };
            let port = t.next(None, &mut m, &self.macs);
            self.push(t, port, m);
        }
        self.flush();
    }

    /// Recycle returned packets until `done(traffic, tsc)`; returns what was seen.
    fn run<T: Traffic>(
        &mut self,
        t: &mut T,
        stats: &[Arc<CoreStats>],
        mut done: impl FnMut(&T, u64) -> bool,
    ) -> Window {
        let t0 = lcore::tsc();
        let (p0, c0) = (self.recv, t.completed());
        let mut busy = 0u64;
        let mut b = Burst::new();
        let mut idle = 0u32;
        loop {
            let it = lcore::tsc();
            let mut got = 0;
            for q in 0..self.rx.len() {
                let port = self.rx[q].0;
                let n = self.rx[q].1.rx_burst(&mut b);
                if n == 0 {
                    continue;
                }
                got += n;
                self.recv += n as u64;
                for mut m in b.drain(..) {
                    let out = if T::ECHO {
                        port
                    } else {
                        let seen = parse(m.data());
                        t.next(Some((port, seen)), &mut m, &self.macs)
                    };
                    self.push(t, out, m);
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
                if self.idle_sleep && idle % 64 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(GEN_IDLE_SLEEP_US));
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

    /// One case on this generator (its worker's `stats`): fill the pipe, populate, wait
    /// for the other generators, warm up, then the measured window; `at_start` runs
    /// as it opens.
    fn case<T: Traffic>(&mut self, t: &mut T, stats: &Arc<CoreStats>, ph: &Phase, at_start: impl FnOnce()) -> Window {
        let stats = std::slice::from_ref(stats);
        self.top_up(t, stats);
        let deadline = lcore::tsc() + 120 * lcore::tsc_hz();
        self.run(t, stats, |t, now| !t.populating() || now > deadline);
        ph.populated.fetch_add(1, Ordering::AcqRel);
        let lead = self.index == 0;
        self.run(t, stats, |_, now| {
            if lead && ph.start.load(Ordering::Acquire) == 0 && ph.populated.load(Ordering::Acquire) == ph.gens {
                ph.end.store(now + ph.warm_tsc + ph.measure_tsc, Ordering::Release);
                ph.start.store(now + ph.warm_tsc, Ordering::Release);
            }
            let start = ph.start.load(Ordering::Acquire);
            start != 0 && now >= start
        });
        at_start();
        let end = ph.end.load(Ordering::Acquire);
        self.run(t, stats, |_, now| now >= end)
    }

    /// Free everything in the generator's hands and in its rx rings.
    fn drain(&mut self) {
        for p in &mut self.pend {
            dpdk::free_burst(p);
        }
        let mut b = Burst::new();
        for (_, q) in &mut self.rx {
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
    /// `snapshot` plus the persistent NAT service (the persistence case only, so that the
    /// other cases look up the same services as before).
    persist_snapshot: Arc<Snapshot>,
    /// `snapshot` plus the FullNAT service and its local addresses (the FullNAT cases).
    fnat_snapshot: Arc<Snapshot>,
    /// `snapshot` plus the SYN-proxied NAT service on [`SP_VIP`].
    sp_snapshot: Arc<Snapshot>,
    macs: [EthernetAddress; 2],
    /// The CPU of each lcore.
    cpus: Vec<usize>,
}

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().expect("cidr")
}

/// Mbufs for `workers` generator/worker pairs: what each generator keeps in flight plus
/// a ring's worth, every lcore's mempool cache, and slack (8191 for up to two pairs).
fn pool_size(workers: usize) -> u32 {
    let n = workers * (IN_FLIGHT as usize + 1024) + 2 * workers * 256 + 2048;
    (n + 1).next_power_of_two() as u32 - 1
}

/// Ports with `workers` workers' queue pairs (two each), services and routes.
fn setup(workers: usize) -> Setup {
    let pool =
        Mempool::create("bench_pkt", pool_size(workers), 256, dpdk::MBUF_DEFAULT_DATA_ROOM, -1).expect("mempool");
    let mut ports = Vec::new();
    let mut macs = [EthernetAddress::default(); 2];
    for (i, name) in ["net_ring0", "net_ring1"].iter().enumerate() {
        let p = Port::by_name(name).expect("net_ring port");
        let conf = PortConf {
            rx_queues: 2 * workers as u16,
            tx_queues: 2 * workers as u16,
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
    let vips = vec![Mode::Nat.vip(), Mode::Dr.vip(), Mode::Tun.vip(), SP_VIP];
    let l3_ports = vec![
        PortL3 { mac: macs[0], addrs: vec![cidr("10.0.2.2/24")], vips, mtu: 1500, ..Default::default() },
        PortL3 { mac: macs[1], addrs: vec![cidr("10.0.3.1/24")], vips: vec![], mtu: 1500, ..Default::default() },
    ];
    let mut routes = RouteTable::default();
    routes.add_gateway(cidr("0.0.0.0/0"), ROUTER, WAN);
    let l3 = Arc::new(L3Config::new(l3_ports, routes));
    let mut cfg = Config::new(64);
    let service = |cfg: &mut Config, mode: Mode, fwd: FwdMethod, persistence: Option<Persistence>| {
        sp_service(cfg, mode.vip(), mode.vport(), fwd, persistence, false)
    };
    for (mode, fwd) in [(Mode::Nat, FwdMethod::Masq), (Mode::Dr, FwdMethod::Route), (Mode::Tun, FwdMethod::Tunnel)] {
        service(&mut cfg, mode, fwd, None);
    }
    let snapshot = cfg.snapshot();
    let mut fnat = cfg.clone();
    add_fnat_service(&mut fnat, Mode::Fnat.vip());
    let mut sp = cfg.clone();
    // ipvsadm -A -t 10.0.2.103:80 -s rr --synproxy, NAT real servers.
    sp_service(&mut sp, SP_VIP, 80, FwdMethod::Masq, None, true);
    // ipvsadm -A -t 10.0.2.100:90 -s rr -p 300: each client to one real server.
    service(&mut cfg, Mode::Persist, FwdMethod::Masq, Some(Persistence { timeout_s: 300, prefix: 32 }));
    let (persist_snapshot, fnat_snapshot, sp_snapshot) = (cfg.snapshot(), fnat.snapshot(), sp.snapshot());
    Setup { ports, pool, l3, snapshot, persist_snapshot, fnat_snapshot, sp_snapshot, macs, cpus: vec![0, 1] }
}

impl Setup {
    /// The configuration a case of `mode` runs.
    fn snapshot_of(&self, mode: Mode) -> &Arc<Snapshot> {
        match mode {
            Mode::Persist => &self.persist_snapshot,
            Mode::Fnat => &self.fnat_snapshot,
            _ => &self.snapshot,
        }
    }
}

/// A TCP service on `vip:port`, rr over the real servers by `fwd`.
fn sp_service(cfg: &mut Config, vip: Ipv4Addr, port: u16, fwd: FwdMethod, p: Option<Persistence>, synproxy: bool) {
    let key = ServiceKey::Proto { proto: Protocol::Tcp, addr: Addr::v4(vip.octets()), port };
    let mut spec = ServiceSpec::new(key);
    spec.scheduler = "rr".into();
    spec.persistence = p;
    spec.synproxy = synproxy;
    cfg.add_service(&spec).expect("service");
    for rs in RS {
        let mut d = DestSpec::new(Addr::v4(rs.octets()), 80);
        d.fwd = fwd;
        cfg.add_dest(&key, &d).expect("real server");
    }
}

struct Running {
    stop: Arc<AtomicBool>,
    stats: Vec<Arc<CoreStats>>,
    _ctl: Vec<crossbeam::channel::Sender<rvs_core::ctl::WorkerCtl>>,
}

/// Worker w's lcore; its generator's is the one before (generator 0: the main lcore).
fn worker_lcore(w: usize) -> u32 {
    2 * w as u32 + 1
}

fn gen_lcore(g: usize) -> u32 {
    2 * g as u32
}

/// Start `workers` fresh workers (each its own Director and connection table of
/// `capacity`), wired as rvsd's startup wires them: one RSS configuration, a shared owner
/// directory, a redirect ring for each ordered pair, each other's neighbour inboxes.
fn start_workers(s: &Setup, snapshot: &Arc<Snapshot>, workers: usize, capacity: u32, bypass: bool) -> Running {
    // Ring names must be unique while a ring lives; the last case's may not be freed yet.
    static STARTS: AtomicU32 = AtomicU32::new(0);
    let start = STARTS.fetch_add(1, Ordering::Relaxed);
    let stop = Arc::new(AtomicBool::new(false));
    let owners = Arc::new(Directory::for_capacity(workers, capacity as usize));
    let rss = Arc::new(Rss::new(rss::DEFAULT_KEY, workers as u16, 128));
    let inboxes: Vec<Arc<NeighInbox>> = (0..workers).map(|_| Arc::new(NeighInbox::new(16))).collect();
    // rings[i][j]: from worker i to worker j, single producer and single consumer.
    let rings: Vec<Vec<Option<Ring<Mbuf>>>> = (0..workers)
        .map(|i| {
            (0..workers)
                .map(|j| {
                    (i != j).then(|| {
                        Ring::create(&format!("bench_rd{start}_{i}_{j}"), REDIRECT_RING, true, true)
                            .expect("redirect ring")
                    })
                })
                .collect()
        })
        .collect();
    let (mut stats, mut ctls) = (Vec::new(), Vec::new());
    for w in 0..workers {
        let st = Arc::new(CoreStats::with_dests(worker_lcore(w), 2, 64));
        let (tx, rx) = crossbeam::channel::unbounded();
        let inbox = inboxes[w].clone();
        // Next hops resolved up front, as Node::learn does for an ARP reply.
        let _ = inbox.push(NeighUpdate { port: WAN, ip: ROUTER.into(), mac: PEER_MAC[0] });
        for (k, rs) in RS.iter().enumerate() {
            let _ = inbox.push(NeighUpdate { port: LAN, ip: (*rs).into(), mac: PEER_MAC[1 + k] });
        }
        let q = 2 * w as u16;
        let ports = s.ports.iter().map(|p| (p.rx_queue(q).expect("rx"), p.tx_queue(q + 1).expect("tx"))).collect();
        let cfg = WorkerConfig {
            core: w as u8,
            ports,
            pool: s.pool.clone(),
            stats: st.clone(),
            l3: s.l3.clone(),
            neigh: NeighConfig { reachable_ms: 3_600_000, ..NeighConfig::default() },
            conn: ConnConfig {
                capacity,
                max_dests: 64,
                workers: workers as u32,
                // FullNAT: sequence state for every connection (the default is an eighth).
                capacity_fullnat: snapshot.laddrs().next().is_some().then_some(capacity),
                ..ConnConfig::default()
            },
            snapshot: snapshot.clone(),
            ctl: rx,
            owners: owners.clone(),
            rss: rss.clone(),
            rings_out: rings[w].clone(),
            rings_in: (0..workers).filter(|&i| i != w).filter_map(|i| rings[i][w].clone()).collect(),
            burst: dpdk::BURST,
            drain_us: 100,
            // Workers sharing a CPU sleep when idle, as rvsd's lab configuration does, so
            // that one's spinning does not hold up the other's packets for a time slice.
            idle_sleep_us: if sharing(&s.cpus, workers) { 50 } else { 0 },
            stop: stop.clone(),
            inbox,
            peers: inboxes.iter().enumerate().filter(|(i, _)| *i != w).map(|(_, b)| b.clone()).collect(),
            announce: false,
            bypass,
            kernel_up: None,
            kernel_rate: (1, 1),
            kernel_down: None,
        };
        lcore::launch(worker_lcore(w), move || dataplane::run(cfg)).expect("launch worker");
        stats.push(st);
        ctls.push(tx);
    }
    Running { stop, stats, _ctl: ctls }
}

fn stop_workers(r: Running, s: &Setup, gens: &mut [Gen]) {
    r.stop.store(true, Ordering::Relaxed);
    for w in 0..r.stats.len() {
        lcore::wait(worker_lcore(w));
    }
    for g in gens.iter_mut() {
        g.drain();
        g.sent = 0;
        g.recv = 0;
    }
    // What the workers had not received yet.
    let mut b = Burst::new();
    for p in &s.ports {
        for w in 0..r.stats.len() {
            let mut q = p.rx_queue(2 * w as u16).expect("rx");
            while q.rx_burst(&mut b) > 0 {
                dpdk::free_burst(&mut b);
            }
        }
    }
}

/// The JSON fields of a several-worker case: packets, redirects, drops, placement.
fn redirect_fields(r: &CaseResult, pkts: u64, out: u64, inn: u64, per_pkt: f64) -> Vec<(&'static str, String)> {
    vec![
        ("packets", pkts.to_string()),
        ("redirects_out", out.to_string()),
        ("redirects_in", inn.to_string()),
        ("redirects_per_packet", num(per_pkt)),
        ("drops", r.drops.to_string()),
        ("generator_busy", num(r.gen_busy)),
        ("misplaced", r.misplaced.to_string()),
        ("per_worker", workers_json(r)),
    ]
}

fn total_drops(stats: &[Arc<CoreStats>]) -> u64 {
    stats.iter().flat_map(|s| &s.ports).map(|p| p.total_drops()).sum()
}

/// "reason n, …" over the whole case, the workers' drops by reason (why a case lost packets).
fn drop_reasons(stats: &[Arc<CoreStats>]) -> String {
    let n = |r: DropReason| stats.iter().flat_map(|s| &s.ports).map(|p| p.drops(r)).sum::<u64>();
    let l: Vec<String> =
        DropReason::ALL.iter().filter(|r| n(**r) > 0).map(|r| format!("{} {}", r.name(), n(*r))).collect();
    l.join(", ")
}

/// Packets a worker took from its rx queues.
fn rx_packets(s: &CoreStats) -> u64 {
    s.ports.iter().map(|p| p.rx_packets.get()).sum()
}

/// One case to measure.
struct Case<'a> {
    name: String,
    mode: &'static str,
    flows: u64,
    capacity: u32,
    bypass: bool,
    workers: usize,
    snapshot: &'a Arc<Snapshot>,
}

/// One worker's share of a case.
struct WorkerFigures {
    /// Packets received from its rx queues in the measured window, millions per second.
    mpps: f64,
    /// Over the whole case, populating included: packets received from its rx queues,
    /// and packets handed to and taken from other workers.
    packets: u64,
    redirects_out: u64,
    redirects_in: u64,
}

/// The persistence case's check, from the frames the director sent to real servers.
struct PersistCheck {
    /// Clients whose packets reached a real server, and their connections (SYNs).
    clients: usize,
    connections: u64,
    /// Clients whose packets reached more than one real server (persistence broken).
    split: usize,
    /// Clients per real server, and per worker (their RSS queue).
    per_server: Vec<usize>,
    per_worker: Vec<usize>,
}

impl PersistCheck {
    /// From every generator's records (each saw the frames of its own worker).
    fn of(ts: &[Persist], rss: &Rss, workers: usize) -> PersistCheck {
        let mut per_worker = vec![0; workers];
        let mut per_server = vec![0; RS.len()];
        let (mut clients, mut split) = (0, 0);
        let reached = (0..PERSIST_CLIENTS as usize).map(|i| ts.iter().fold(0u8, |b, t| b | t.reached[i]));
        for (i, bits) in reached.enumerate() {
            if bits == 0 {
                continue;
            }
            clients += 1;
            split += usize::from(bits.count_ones() > 1);
            for (r, n) in per_server.iter_mut().enumerate() {
                *n += usize::from(bits & 1 << r != 0);
            }
            per_worker[usize::from(rss.queue_of(Addr::from(persist_client(i as u32))))] += 1;
        }
        let connections = ts.iter().map(|t| t.connections).sum();
        PersistCheck { clients, connections, split, per_server, per_worker }
    }
}

struct CaseResult {
    case: String,
    mode: &'static str,
    flows: u64,
    mpps: f64,
    cps: Option<f64>,
    drops: u64,
    conns: u64,
    /// The busiest generator's share of its time spent on packets.
    gen_busy: f64,
    /// Frames RSS would have given another worker than the one their generator feeds.
    misplaced: u64,
    per_worker: Vec<WorkerFigures>,
    persist: Option<PersistCheck>,
}

impl CaseResult {
    fn redirects(&self) -> (u64, u64, u64) {
        let sum = |f: fn(&WorkerFigures) -> u64| self.per_worker.iter().map(f).sum::<u64>();
        (sum(|w| w.redirects_out), sum(|w| w.redirects_in), sum(|w| w.packets))
    }
}

/// Measure one case: fresh workers, and on each worker's generator the traffic
/// `make(g)` returns; returns the figures and each generator's traffic.
fn measure<T: Traffic + Send + 'static>(
    s: &Setup,
    gens: &mut Vec<Gen>,
    c: Case,
    mut make: impl FnMut(usize) -> T,
) -> (CaseResult, Vec<T>) {
    let hz = lcore::tsc_hz() as f64;
    let secs: f64 = std::env::var("RVS_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.5);
    let n = c.workers;
    let w = start_workers(s, c.snapshot, n, c.capacity, c.bypass);
    // Wait until the workers have built their Directors (a large connection table takes a
    // while to allocate) and taken the neighbour bindings (published at the first tick).
    let ready = lcore::tsc() + (60.0 * hz) as u64;
    while w.stats.iter().any(|st| st.conn_capacity.get() == 0 || st.neighbours.get() < 3)
        && !c.bypass
        && lcore::tsc() < ready
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let ph = Arc::new(Phase {
        gens: n,
        populated: AtomicUsize::new(0),
        start: AtomicU64::new(0),
        end: AtomicU64::new(0),
        warm_tsc: (0.3 * hz) as u64,
        measure_tsc: (secs * hz) as u64,
    });
    let idle_sleep = sharing(&s.cpus, n);
    // Generators 1.. on their lcores, generator 0 here; each comes back with its traffic.
    let mut idle: Vec<Gen> = gens.drain(n..).collect();
    let mut own = gens.drain(..).map(Some).collect::<Vec<_>>();
    let (done_tx, done_rx) = crossbeam::channel::unbounded();
    for (g, slot) in own.iter_mut().enumerate().skip(1) {
        let mut gen = slot.take().expect("generator");
        gen.begin(n, idle_sleep);
        let mut t = make(g);
        let (st, ph, done) = (w.stats[g].clone(), ph.clone(), done_tx.clone());
        lcore::launch(gen_lcore(g), move || {
            let win = gen.case(&mut t, &st, &ph, || {});
            let _ = done.send((g, gen, t, win));
            0
        })
        .expect("launch generator");
    }
    let mut gen0 = own[0].take().expect("generator");
    gen0.begin(n, idle_sleep);
    let mut t0 = make(0);
    let mut at_start = (0, Vec::new());
    let win0 = gen0.case(&mut t0, &w.stats[0], &ph, || {
        at_start = (total_drops(&w.stats), w.stats.iter().map(|st| rx_packets(st)).collect());
    });
    // Per worker, over generator 0's window (the others' differ by microseconds).
    let (drops0, rx0) = at_start;
    let drops = total_drops(&w.stats) - drops0;
    let dt = win0.tsc as f64 / hz;
    let per_worker = w
        .stats
        .iter()
        .zip(rx0)
        .map(|(st, r0)| WorkerFigures {
            mpps: (rx_packets(st) - r0) as f64 / dt / 1e6,
            packets: rx_packets(st),
            redirects_out: st.redirects_out.get(),
            redirects_in: st.redirects_in.get(),
        })
        .collect();
    let mut done: Vec<Option<(Gen, T, Window)>> = (0..n).map(|_| None).collect();
    done[0] = Some((gen0, t0, win0));
    for _ in 1..n {
        let (g, gen, t, win) = done_rx.recv().expect("a generator's result");
        lcore::wait(gen_lcore(g));
        done[g] = Some((gen, t, win));
    }
    let conns = w.stats.iter().map(|st| st.conns.get()).sum();
    if drops > 0 {
        println!("  ({}: drops by reason over the case: {})", c.name, drop_reasons(&w.stats));
    }
    let (mut mpps, mut cps, mut busy, mut misplaced) = (0.0, 0.0, 0.0f64, 0);
    let mut traffic = Vec::with_capacity(n);
    for (gen, t, win) in done.into_iter().map(|d| d.expect("every generator")) {
        let dt = win.tsc as f64 / hz;
        mpps += win.packets as f64 / dt / 1e6;
        cps += win.completed as f64 / dt;
        busy = busy.max(win.busy_tsc as f64 / win.tsc as f64);
        misplaced += gen.misplaced;
        gens.push(gen);
        traffic.push(t);
    }
    gens.append(&mut idle);
    stop_workers(w, s, &mut gens[..n]);
    let r = CaseResult {
        case: c.name,
        mode: c.mode,
        flows: c.flows,
        mpps,
        cps: (cps > 0.0).then_some(cps),
        drops,
        conns,
        gen_busy: busy,
        misplaced,
        per_worker,
        persist: None,
    };
    (r, traffic)
}

/// rvs-gen's engine (crates/gen, open loop: allocates, sends as fast as the ring takes
/// them, frees what comes back) in generator 0's place, on its queues and lcore, against
/// one fresh worker (or the io-forward bypass): `flows` TCP flows from 11.0.0.0/8 to
/// `mode`'s VIP (a SYN per flow, then ACK|PSH, 64-byte frames). Returns its report and
/// the worker's drops.
fn rvs_gen_case(s: &Setup, gens: &mut [Gen], mode: Mode, flows: u32, bypass: bool) -> (rvs_gen::Report, u64) {
    let hz = lcore::tsc_hz() as f64;
    let secs: f64 = std::env::var("RVS_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.5);
    let w = start_workers(s, &s.snapshot, 1, 1 << 14, bypass);
    let ready = lcore::tsc() + (60.0 * hz) as u64;
    while w.stats.iter().any(|st| st.conn_capacity.get() == 0 || st.neighbours.get() < 3)
        && !bypass
        && lcore::tsc() < ready
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let g = &mut gens[0];
    let mut txs = std::mem::take(&mut g.tx);
    let tx = txs.remove(usize::from(WAN));
    let mut io = rvs_gen::Io {
        tx,
        rx: std::mem::take(&mut g.rx).into_iter().map(|(_, q)| q).collect(),
        pool: s.pool.clone(),
        mac: PEER_MAC[0],
    };
    let cfg = rvs_gen::Config {
        mode: rvs_gen::Mode::Flows,
        src_ip: Ipv4Addr::new(11, 0, 0, 1),
        src_count: flows,
        src_port: 10_000,
        port_count: 1,
        dst_ip: mode.vip(),
        dst_port: mode.vport(),
        gw_mac: Some(s.macs[usize::from(WAN)]),
        duration: std::time::Duration::from_secs_f64(secs),
        frame_size: 64,
        flows,
        drain: std::time::Duration::from_millis(50),
        ..rvs_gen::Config::default()
    };
    let stop = AtomicBool::new(false);
    let drops0 = total_drops(&w.stats);
    let report = rvs_gen::run(&cfg, &mut io, &stop).expect("rvs-gen run");
    let drops = total_drops(&w.stats) - drops0;
    txs.insert(usize::from(WAN), io.tx);
    g.tx = txs;
    g.rx = io.rx.into_iter().enumerate().map(|(i, q)| (i as u16, q)).collect();
    stop_workers(w, s, &mut gens[..1]);
    (report, drops)
}

/// A real server's TCP in a few lines, for rvs-gen's connect case: on the lan port, a
/// SYN gets a SYN-ACK and a FIN a FIN-ACK (from the real server the worker chose, back
/// into the worker); ACKs are dropped. Runs until `stop`.
fn responder(
    mut rx: RxQueue,
    mut tx: TxQueue,
    worker_mac: EthernetAddress,
    stop: Arc<AtomicBool>,
) -> (RxQueue, TxQueue) {
    use rvs_gen::packet::{parse, tcp_len, write_tcp, Rx, Seg};
    let mut b = Burst::new();
    let mut out = Burst::new();
    while !stop.load(Ordering::Relaxed) {
        if rx.rx_burst(&mut b) == 0 {
            // It shares generator 0's CPU: let it run.
            std::thread::sleep(std::time::Duration::from_micros(GEN_IDLE_SLEEP_US));
            continue;
        }
        for mut m in b.drain(..) {
            let Rx::Tcp(t) = parse(m.data()) else { continue };
            let syn = t.flags & SYN != 0 && t.flags & ACK == 0;
            if !syn && t.flags & FIN == 0 {
                continue;
            }
            let k = RS.iter().position(|a| *a == t.dst).unwrap_or(0);
            let eth = wire::EthernetRepr { src_addr: PEER_MAC[1 + k], dst_addr: worker_mac, ethertype: 0x0800 };
            let seg = Seg {
                src: t.dst,
                dst: t.src,
                sport: t.dport,
                dport: t.sport,
                seq: if syn { t.seq.rotate_left(7) } else { t.ack },
                ack: t.seq.wrapping_add(t.payload_len).wrapping_add(1),
                flags: if syn { SYN | ACK } else { FIN | ACK },
                mss: false,
                data: b"",
                fill: 0,
            };
            let len = m.len();
            m.trim(len);
            if m.append(tcp_len(&seg)).is_some_and(|buf| write_tcp(buf, &eth, &seg)) {
                out.push(m);
            }
        }
        while !out.is_empty() && !stop.load(Ordering::Relaxed) {
            tx.tx_burst(&mut out);
        }
        dpdk::free_burst(&mut out);
    }
    (rx, tx)
}

/// rvs-gen's connect mode (rate 0, 480 connections open at most: up to 960 packets in
/// flight, as the bench's generator keeps) from the wan queues through a fresh NAT worker
/// to [`responder`] on lcore 2 with the lan queues.
fn rvs_gen_connect(s: &Setup, gens: &mut [Gen]) -> (rvs_gen::Report, u64) {
    let secs: f64 = std::env::var("RVS_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.5);
    let w = start_workers(s, &s.snapshot, 1, rvs_core::conn::MAX_ENTRIES, false);
    let hz = lcore::tsc_hz() as f64;
    let ready = lcore::tsc() + (60.0 * hz) as u64;
    while w.stats.iter().any(|st| st.conn_capacity.get() == 0 || st.neighbours.get() < 3) && lcore::tsc() < ready {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let g = &mut gens[0];
    let mut txs = std::mem::take(&mut g.tx);
    let mut rxs: Vec<RxQueue> = std::mem::take(&mut g.rx).into_iter().map(|(_, q)| q).collect();
    let (lan_tx, lan_rx) = (txs.remove(usize::from(LAN)), rxs.remove(usize::from(LAN)));
    let (wan_tx, wan_rx) = (txs.remove(usize::from(WAN)), rxs.remove(usize::from(WAN)));
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = crossbeam::channel::bounded(1);
    let (st, lan_mac) = (stop.clone(), s.macs[usize::from(LAN)]);
    lcore::launch(gen_lcore(1), move || {
        let _ = done_tx.send(responder(lan_rx, lan_tx, lan_mac, st));
        0
    })
    .expect("launch responder");
    let mut io = rvs_gen::Io { tx: wan_tx, rx: vec![wan_rx], pool: s.pool.clone(), mac: PEER_MAC[0] };
    let cfg = rvs_gen::Config {
        mode: rvs_gen::Mode::Connect,
        src_ip: Ipv4Addr::new(11, 0, 0, 1),
        src_count: 4096,
        src_port: 1024,
        port_count: 64000,
        dst_ip: Mode::Nat.vip(),
        dst_port: 80,
        gw_mac: Some(s.macs[usize::from(WAN)]),
        duration: std::time::Duration::from_secs_f64(secs),
        // Each connection has up to two packets in flight (its ACK and FIN): half the
        // bench's in-flight count keeps every net_ring ring below its 1023 slots.
        max_open: IN_FLIGHT as u32 / 2,
        conn_timeout: std::time::Duration::from_millis(500),
        idle_sleep_us: GEN_IDLE_SLEEP_US,
        ..rvs_gen::Config::default()
    };
    let drops0 = total_drops(&w.stats);
    let report = rvs_gen::run(&cfg, &mut io, &AtomicBool::new(false)).expect("rvs-gen connect");
    let drops = total_drops(&w.stats) - drops0;
    stop.store(true, Ordering::Relaxed);
    let (lan_rx, lan_tx) = done_rx.recv().expect("responder");
    lcore::wait(gen_lcore(1));
    txs.insert(usize::from(WAN), io.tx);
    txs.insert(usize::from(LAN), lan_tx);
    g.tx = txs;
    let mut rx = io.rx;
    rx.push(lan_rx);
    g.rx = rx.into_iter().enumerate().map(|(i, q)| (i as u16, q)).collect();
    stop_workers(w, s, &mut gens[..1]);
    (report, drops)
}

/// The CPUs this process may run on (`Cpus_allowed_list`, e.g. "0-3,8"); 0 and 1 if unknown.
fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let list = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).unwrap_or("");
    let mut cpus = Vec::new();
    for r in list.trim().split(',').filter(|r| !r.is_empty()) {
        let (a, b) = r.split_once('-').unwrap_or((r, r));
        if let (Ok(a), Ok(b)) = (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
            cpus.extend(a..=b);
        }
    }
    if cpus.is_empty() {
        cpus = vec![0, 1];
    }
    cpus
}

/// The usable CPUs, one hardware thread of each physical core first, then their
/// siblings, so that lcores running at once get cores of their own while there are enough.
fn ordered_cpus() -> Vec<usize> {
    let topo = |c: usize, f: &str| {
        std::fs::read_to_string(format!("/sys/devices/system/cpu/cpu{c}/topology/{f}"))
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
    };
    let mut seen = Vec::new();
    let mut ranked = Vec::new();
    for c in allowed_cpus() {
        let core = (topo(c, "physical_package_id").unwrap_or(0), topo(c, "core_id").unwrap_or(c as i64));
        ranked.push((seen.iter().filter(|k| **k == core).count(), c));
        seen.push(core);
    }
    ranked.sort_unstable();
    ranked.into_iter().map(|(_, c)| c).collect()
}

/// The CPU of each of `n` lcores (generator g: lcore 2g, worker w: 2w + 1): lcore i on
/// the i-th usable CPU, modulo their number. With two CPUs, the generators share one and
/// the workers the other; one pair (generator 0, worker 0) never shares.
fn lcore_cpus(n: usize) -> Vec<usize> {
    let cpus = ordered_cpus();
    (0..n).map(|i| cpus[i % cpus.len()]).collect()
}

/// `-l 0-(n-1)` when lcore i is CPU i (as before: `-l 0-1` for one worker), else `--lcores`.
fn lcore_args(cpus: &[usize]) -> Vec<String> {
    if cpus.iter().enumerate().all(|(i, &c)| c == i) {
        return vec!["-l".into(), format!("0-{}", cpus.len() - 1)];
    }
    let map: Vec<String> = cpus.iter().enumerate().map(|(i, c)| format!("{i}@{c}")).collect();
    vec![format!("--lcores={}", map.join(","))]
}

/// Whether the lcores of the first `workers` generator/worker pairs share a CPU.
fn sharing(cpus: &[usize], workers: usize) -> bool {
    let used = &cpus[..2 * workers];
    used.iter().enumerate().any(|(i, c)| used[..i].contains(c))
}

fn eal_args(cpus: &[usize]) -> (Vec<String>, String) {
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
    a.extend(["--no-pci", "--no-telemetry", "--log-level=lib.eal:error"].map(String::from));
    a.extend(lcore_args(cpus));
    a.extend(["--vdev=net_ring0", "--vdev=net_ring1"].map(String::from));
    a.push(format!("--file-prefix={prefix}"));
    (a, prefix)
}

/// Packets kept in flight: `RVS_BENCH_IN_FLIGHT` or [`IN_FLIGHT`].
fn in_flight_target() -> u64 {
    std::env::var("RVS_BENCH_IN_FLIGHT").ok().and_then(|v| v.parse().ok()).unwrap_or(IN_FLIGHT).min(1000)
}

/// `RVS_BENCH_WORKERS`: a number of workers (1..=8, default 1) or a list ("1,2,4,8"),
/// whose first entry the main cases use.
fn workers_list() -> Vec<usize> {
    let mut l = Vec::new();
    for p in std::env::var("RVS_BENCH_WORKERS").unwrap_or_default().split(',') {
        if let Ok(n) = p.trim().parse::<usize>() {
            let n = n.clamp(1, MAX_WORKERS);
            if !l.contains(&n) {
                l.push(n);
            }
        }
    }
    if l.is_empty() {
        l.push(1);
    }
    l
}

/// `RVS_BENCH_CASES=substring,…` runs only the matching cases (baselines always run);
/// the placement cases are named "rss …" (`rss` runs just them; "established nat 1k"
/// matches "rss established nat 1k" too), the scaling cases "scaling established nat 1M
/// n=4" and so on.
fn selected(case: &str) -> bool {
    match std::env::var("RVS_BENCH_CASES") {
        Ok(v) if !v.is_empty() => v.split(',').any(|p| case.contains(p)),
        _ => true,
    }
}

/// Per-worker figures of a case as JSON.
fn workers_json(r: &CaseResult) -> String {
    let items: Vec<String> = r
        .per_worker
        .iter()
        .enumerate()
        .map(|(i, w)| {
            object(&[
                ("worker", i.to_string()),
                ("mpps", num(w.mpps)),
                ("packets", w.packets.to_string()),
                ("redirects_out", w.redirects_out.to_string()),
                ("redirects_in", w.redirects_in.to_string()),
            ])
        })
        .collect();
    array(&items)
}

fn rss_for(workers: usize) -> Rss {
    Rss::new(rss::DEFAULT_KEY, workers as u16, 128)
}

/// Each generator's share of `flows` established flows.
fn established(mode: Option<Mode>, flows: u32, populate: bool, workers: usize) -> impl FnMut(usize) -> Established {
    let mut lists: Vec<Option<FlowList>> =
        flow_lists(flows, &rss_for(workers), workers).into_iter().map(Some).collect();
    move |g| Established::new(mode, lists[g].take().expect("flows"), populate)
}

fn echo(workers: usize) -> impl FnMut(usize) -> Echo {
    let mut est = established(Some(Mode::Dr), 1000, false, workers);
    move |g| Echo(est(g))
}

fn new_conns(mode: Mode, workers: usize) -> impl FnMut(usize) -> NewConns {
    let mut clients: Vec<Option<Clients>> = fresh_clients(&rss_for(workers), workers).into_iter().map(Some).collect();
    move |g| NewConns::new(mode, clients[g].take().expect("clients"))
}

fn mix(workers: usize) -> impl FnMut(usize) -> Mix {
    let mut est = established(None, 1_000_000, true, workers);
    let mut new = new_conns(Mode::Nat, workers);
    move |g| Mix { est: est(g), new: new(g), every: 10, assigned: 0 }
}

fn persist(workers: usize) -> impl FnMut(usize) -> Persist {
    let mut clients: Vec<Option<Clients>> = persist_clients(&rss_for(workers), workers).into_iter().map(Some).collect();
    move |g| Persist::new(clients[g].take().expect("clients"))
}

fn flows_label(n: u32) -> String {
    if n >= 1_000_000 {
        format!("{}M", n / 1_000_000)
    } else {
        format!("{}k", n / 1000)
    }
}

/// For a FullNAT case: its redirects per packet (replies steered by port: expected 0),
/// frames whose port's owner was not the worker that sent them out (expected 0) and, for
/// established flows, replies whose acknowledgement came back wrong.
fn fnat_note(r: &CaseResult, ts: &[Established]) -> String {
    if r.mode != Mode::Fnat.name() {
        return String::new();
    }
    let (out, _, pkts) = r.redirects();
    let per = out as f64 / pkts.max(1) as f64;
    let mut s = format!("; FullNAT redirects/packet {per:.6} ({out} of {pkts}), misplaced {}", r.misplaced);
    if !ts.is_empty() {
        s += &format!(", replies with a wrong ack {}", ts.iter().map(|t| t.bad_acks).sum::<u64>());
    }
    s
}

/// Mpps per worker, "a / b / …".
fn shares(r: &CaseResult) -> String {
    r.per_worker.iter().map(|w| format!("{:.2}", w.mpps)).collect::<Vec<_>>().join(" / ")
}

fn main() {
    let list = workers_list();
    let workers = list[0];
    // The placement cases need at least two workers.
    let rss_workers = list.iter().copied().max().unwrap_or(1).max(2);
    // Scaling runs when several counts are given, always with the one-worker reference.
    let mut scaling = list.clone();
    if scaling.len() > 1 && !scaling.contains(&1) {
        scaling.insert(0, 1);
    }
    if scaling.len() < 2 {
        scaling.clear();
    }
    let cpus = lcore_cpus(2 * rss_workers);
    let (args, prefix) = eal_args(&cpus);
    let eal = match Eal::init(&args) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("dataplane bench: EAL init ({args:?}): {e} (run as root)");
            std::process::exit(1);
        }
    };
    let huge = !args.iter().any(|a| a == "--no-huge");
    let mut s = setup(rss_workers);
    s.cpus = cpus;
    let mut gens: Vec<Gen> = (0..rss_workers).map(|g| Gen::new(&s, g)).collect();
    println!(
        "dataplane bench: {workers} worker lcore(s) running dataplane::run ({rss_workers} for the RSS placement cases{}), each fed by its own generator lcore, net_ring ports, {} memory, {FRAME}+4-byte frames, {IN_FLIGHT} packets in flight per generator",
        if scaling.is_empty() { String::new() } else { format!("; scaling over {scaling:?}") },
        if huge { "hugepage" } else { "--no-huge" }
    );
    let map: Vec<String> = (0..rss_workers)
        .map(|g| format!("g{g}@{} w{g}@{}", s.cpus[gen_lcore(g) as usize], s.cpus[worker_lcore(g) as usize]))
        .collect();
    println!("  generator and worker CPUs: {}", map.join(", "));

    const SMALL: u32 = 1 << 14;
    const BIG: u32 = 1 << 21;
    let new_cap = rvs_core::conn::MAX_ENTRIES;
    let case = |name: &str, mode: &'static str, flows: u64, capacity: u32, bypass: bool| Case {
        name: name.into(),
        mode,
        flows,
        capacity,
        bypass,
        workers,
        snapshot: &s.snapshot,
    };
    let mut rows: Vec<CaseResult> = Vec::new();
    let (base1, _) =
        measure(&s, &mut gens, case("io-forward baseline (first)", "bypass", 1000, SMALL, true), echo(workers));
    println!("  baseline (first run) {:.2} Mpps", base1.mpps);
    rows.push(base1);
    const MODES: [Mode; 4] = [Mode::Nat, Mode::Fnat, Mode::Dr, Mode::Tun];
    for n in [1_000u32, 1_000_000] {
        for mode in MODES {
            let cap = if n > SMALL { BIG } else { SMALL };
            let label = format!("established {} {}", mode.name(), flows_label(n));
            if !selected(&label) {
                continue;
            }
            let t = established(Some(mode), n, true, workers);
            let c = Case { snapshot: s.snapshot_of(mode), ..case(&label, mode.name(), u64::from(n), cap, false) };
            let (r, ts) = measure(&s, &mut gens, c, t);
            println!("  {label}: {:.2} Mpps{}", r.mpps, fnat_note(&r, &ts));
            rows.push(r);
        }
    }
    for mode in MODES {
        let label = format!("new connections {}", mode.name());
        if !selected(&label) {
            continue;
        }
        let c = case(&label, mode.name(), IN_FLIGHT * workers as u64, new_cap, false);
        let c = Case { snapshot: s.snapshot_of(mode), ..c };
        let (r, _) = measure(&s, &mut gens, c, new_conns(mode, workers));
        println!("  {label}: {:.2} Mpps, {:.0} conn/s{}", r.mpps, r.cps.unwrap_or(0.0), fnat_note(&r, &[]));
        rows.push(r);
    }
    // SYN proxy: a SYN flood, and new connections beside the same NAT service without it.
    let mut sp: Option<SpFigures> = None;
    if selected("synproxy") {
        let c = |name: &str| Case {
            name: name.into(),
            mode: "sp nat",
            flows: IN_FLIGHT * workers as u64,
            capacity: new_cap,
            bypass: false,
            workers,
            snapshot: &s.sp_snapshot,
        };
        let (flood, ts) = measure(&s, &mut gens, Case { capacity: SMALL, ..c("synproxy syn flood") }, SynFlood::new);
        let other: u64 = ts.iter().map(|t| t.other).sum();
        println!(
            "  {}: {:.2} Mpps, {:.0} cookie SYN-ACKs/s, connections in the table after: {}, other frames {other}",
            flood.case,
            flood.mpps,
            flood.cps.unwrap_or(0.0),
            flood.conns
        );
        if !rows.iter().any(|r| r.case == "new connections nat") {
            let c = case("new connections nat", Mode::Nat.name(), IN_FLIGHT * workers as u64, new_cap, false);
            let (r, _) = measure(&s, &mut gens, c, new_conns(Mode::Nat, workers));
            println!("  {}: {:.2} Mpps, {:.0} conn/s", r.case, r.mpps, r.cps.unwrap_or(0.0));
            rows.push(r);
        }
        let make = |_| SynConns { next_client: 0, done: 0, bad: 0, other: 0 };
        let (new, ts) = measure(&s, &mut gens, c("synproxy new connections nat"), make);
        let bad: u64 = ts.iter().map(|t| t.bad).sum();
        let new_other: u64 = ts.iter().map(|t| t.other).sum();
        println!(
            "  {}: {:.2} Mpps, {:.0} conn/s, mistranslated {bad}, unexpected frames {new_other}",
            new.case,
            new.mpps,
            new.cps.unwrap_or(0.0)
        );
        sp = Some(SpFigures { flood_conns: flood.conns, flood_other: other, bad, new_other });
        rows.push(flood);
        rows.push(new);
    }
    // rvs-gen's engine in the same harness, beside the bench's generator (one worker).
    let mut gen_rows: Vec<(String, rvs_gen::Report, u64, f64)> = Vec::new();
    if workers == 1 && selected("rvs-gen") {
        let bench_of =
            |rows: &[CaseResult], case: &str| rows.iter().find(|r| r.case == case).map_or(f64::NAN, |r| r.mpps);
        for (mode, bypass, theirs) in [
            (Mode::Nat, true, "io-forward baseline (first)"),
            (Mode::Nat, false, "established nat 1k"),
            (Mode::Dr, false, "established dr 1k"),
        ] {
            let (r, drops) = rvs_gen_case(&s, &mut gens, mode, 1000, bypass);
            let label = if bypass { "rvs-gen io-forward".to_string() } else { format!("rvs-gen {}", theirs) };
            let bench = bench_of(&rows, theirs);
            println!(
                "  {label}: sent {:.2} Mpps, back {:.2} Mpps (worker drops {drops}); bench generator ({theirs}) {:.2} Mpps; ratio {:.2}",
                r.sent_mpps,
                r.received_mpps,
                bench,
                r.received_mpps / bench
            );
            gen_rows.push((label, r, drops, bench));
        }
    }
    let mut gen_connect: Option<(rvs_gen::Report, f64)> = None;
    if workers == 1 && selected("rvs-gen connect") {
        let (r, drops) = rvs_gen_connect(&s, &mut gens);
        let bench = rows.iter().find(|r| r.case == "new connections nat").and_then(|r| r.cps).unwrap_or(f64::NAN);
        if let Some(c) = &r.conn {
            println!(
                "  rvs-gen connect nat: {:.0} conn/s completed (attempted {}, reset {}, timeouts {}; worker drops {drops}, rvs-gen no mbuf {} tx full {}), SYN -> SYN-ACK p50 {:.1} us p99 {:.1} us p99.9 {:.1} us; bench generator (new connections nat) {bench:.0} conn/s; ratio {:.2}",
                c.cps,
                c.attempted,
                c.reset,
                c.timeouts,
                r.no_mbuf,
                r.tx_full,
                c.syn_ack_us.p50,
                c.syn_ack_us.p99,
                c.syn_ack_us.p999,
                c.cps / bench
            );
        }
        gen_connect = Some((r, bench));
    }
    if selected("mix") {
        let c = case("mix (1M est. NAT/DR/TUN + 1/10 new NAT)", "mix", 1_000_000, new_cap, false);
        let (r, _) = measure(&s, &mut gens, c, mix(workers));
        println!("  mix: {:.2} Mpps", r.mpps);
        rows.push(r);
    }
    let (base2, _) =
        measure(&s, &mut gens, case("io-forward baseline (last)", "bypass", 1000, SMALL, true), echo(workers));
    println!("  baseline (last run) {:.2} Mpps", base2.mpps);
    rows.push(base2);
    let baseline = (rows[0].mpps + rows[rows.len() - 1].mpps) / 2.0;

    // RSS placement: several workers, frames on the queue the NIC would pick.
    let mut placed: Vec<CaseResult> = Vec::new();
    let rss_case = |name: String, mode: &'static str, flows: u64, capacity: u32, snapshot| Case {
        name,
        mode,
        flows,
        capacity,
        bypass: false,
        workers: rss_workers,
        snapshot,
    };
    for mode in MODES {
        let label = format!("rss established {} 1k", mode.name());
        if !selected(&label) {
            continue;
        }
        let t = established(Some(mode), 1000, true, rss_workers);
        let (r, ts) = measure(&s, &mut gens, rss_case(label, mode.name(), 1000, SMALL, s.snapshot_of(mode)), t);
        let (out, inn, pkts) = r.redirects();
        println!(
            "  {}, {rss_workers} workers: {:.2} Mpps, redirects out {out} in {inn} of {pkts} packets{}",
            r.case,
            r.mpps,
            fnat_note(&r, &ts)
        );
        placed.push(r);
    }
    // FullNAT's new connections: each SYN-ACK is the first reply to a port just taken.
    if selected("rss new connections fnat") {
        let label = "rss new connections fnat".to_string();
        let c = rss_case(label, Mode::Fnat.name(), IN_FLIGHT * rss_workers as u64, new_cap, &s.fnat_snapshot);
        let (r, _) = measure(&s, &mut gens, c, new_conns(Mode::Fnat, rss_workers));
        let (out, inn, pkts) = r.redirects();
        println!(
            "  {}, {rss_workers} workers: {:.0} conn/s, redirects out {out} in {inn} of {pkts} packets{}",
            r.case,
            r.cps.unwrap_or(0.0),
            fnat_note(&r, &[])
        );
        placed.push(r);
    }
    if selected("rss persistence") {
        let label = "rss persistence nat -p".to_string();
        let flows = u64::from(PERSIST_CLIENTS);
        let c = rss_case(label, Mode::Persist.name(), flows, BIG, &s.persist_snapshot);
        let (mut r, ts) = measure(&s, &mut gens, c, persist(rss_workers));
        let p = PersistCheck::of(&ts, &rss_for(rss_workers), rss_workers);
        let (out, inn, pkts) = r.redirects();
        println!(
            "  {}, {rss_workers} workers: {:.0} conn/s, redirects out {out} in {inn} of {pkts} packets; {} clients, {} connections: clients split across real servers: {}",
            r.case,
            r.cps.unwrap_or(0.0),
            p.clients,
            p.connections,
            p.split
        );
        r.persist = Some(p);
        placed.push(r);
    }

    // Scaling: established NAT over N workers, flows spread over them by RSS.
    let mut scaled: Vec<CaseResult> = Vec::new();
    for flows in [1_000_000u32, 1_000] {
        for &n in &scaling {
            let label = format!("scaling established nat {} n={n}", flows_label(flows));
            if !selected(&label) {
                continue;
            }
            let cap = if flows > SMALL { BIG } else { SMALL };
            let c = Case {
                name: label,
                mode: Mode::Nat.name(),
                flows: u64::from(flows),
                capacity: cap,
                bypass: false,
                workers: n,
                snapshot: &s.snapshot,
            };
            let (r, _) = measure(&s, &mut gens, c, established(Some(Mode::Nat), flows, true, n));
            println!("  {}: {:.2} Mpps ({})", r.case, r.mpps, shares(&r));
            scaled.push(r);
        }
    }

    println!();
    println!(
        "{:<44} {:>6} {:>9} {:>8} {:>8} {:>7} {:>12} {:>6} {:>9} {:>8}{}",
        "case",
        "mode",
        "flows",
        "Mpps",
        "ns/pkt",
        "x base",
        "conn/s",
        "drops",
        "conns",
        "gen busy",
        if workers > 1 { "    redir/pkt  Mpps per worker" } else { "" }
    );
    let mut items = Vec::new();
    for r in &rows {
        let ns = 1e3 / r.mpps;
        let ratio = r.mpps / baseline;
        let (out, inn, pkts) = r.redirects();
        let per_pkt = out as f64 / pkts.max(1) as f64;
        println!(
            "{:<44} {:>6} {:>9} {:>8.2} {:>8.1} {:>7.3} {:>12} {:>6} {:>9} {:>7.0}%{}",
            r.case,
            r.mode,
            r.flows,
            r.mpps,
            ns,
            ratio,
            r.cps.map_or("-".into(), |c| format!("{c:.0}")),
            r.drops,
            r.conns,
            r.gen_busy * 100.0,
            if workers > 1 { format!(" {per_pkt:>12.6}  {}", shares(r)) } else { String::new() }
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
        f.push(("workers", r.per_worker.len().to_string()));
        if r.per_worker.len() > 1 {
            f.push(("redirects_out", out.to_string()));
            f.push(("redirects_in", inn.to_string()));
            f.push(("redirects_per_packet", num(per_pkt)));
            f.push(("misplaced", r.misplaced.to_string()));
            f.push(("per_worker", workers_json(r)));
        }
        items.push(object(&f));
    }
    println!("baseline (mean of first and last io-forward runs): {baseline:.2} Mpps");
    println!("(gen busy: share of the busiest generator's time spent on packets; near 100% means the generator, not the worker, set the pace)");

    let mut placed_items = Vec::new();
    if !placed.is_empty() {
        println!();
        println!("{rss_workers} workers, RSS placement (redirects over the whole case, populating included):");
        println!(
            "{:<28} {:>8} {:>12} {:>10} {:>10} {:>12} {:>6}  Mpps per worker",
            "case", "Mpps", "conn/s", "redir out", "redir in", "redir/pkt", "drops"
        );
    }
    for r in &placed {
        let (out, inn, pkts) = r.redirects();
        let per_pkt = out as f64 / pkts.max(1) as f64;
        println!(
            "{:<28} {:>8.2} {:>12} {:>10} {:>10} {:>12.6} {:>6}  {}",
            r.case,
            r.mpps,
            r.cps.map_or("-".into(), |c| format!("{c:.0}")),
            out,
            inn,
            per_pkt,
            r.drops,
            shares(r)
        );
        let mut f = vec![
            ("case", string(&r.case)),
            ("mode", string(r.mode)),
            ("flows", r.flows.to_string()),
            ("workers", r.per_worker.len().to_string()),
            ("mpps", num(r.mpps)),
        ];
        if let Some(c) = r.cps {
            f.push(("connections_per_second", num(c)));
        }
        f.extend(redirect_fields(r, pkts, out, inn, per_pkt));
        if let Some(p) = &r.persist {
            println!(
                "  persistence: {} clients, {} connections; clients split across real servers: {} (clients per real server {:?}, per worker {:?})",
                p.clients, p.connections, p.split, p.per_server, p.per_worker
            );
            let list = |v: &[usize]| format!("[{}]", v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "));
            f.extend([
                ("clients", p.clients.to_string()),
                ("connections_checked", p.connections.to_string()),
                ("clients_split_across_real_servers", p.split.to_string()),
                ("clients_per_real_server", list(&p.per_server)),
                ("clients_per_worker", list(&p.per_worker)),
            ]);
        }
        placed_items.push(object(&f));
    }

    let mut scaled_items = Vec::new();
    if !scaled.is_empty() {
        println!();
        println!("scaling: established NAT, one generator per worker, frames placed by RSS (flows in total, spread over the workers):");
        println!(
            "{:<6} {:>3} {:>8} {:>10} {:>10} {:>12} {:>6} {:>9}  Mpps per worker",
            "flows", "N", "Mpps", "per worker", "x (N x 1)", "redir/pkt", "drops", "gen busy"
        );
    }
    for r in &scaled {
        let n = r.per_worker.len();
        let one = scaled.iter().find(|o| o.flows == r.flows && o.per_worker.len() == 1).map(|o| o.mpps);
        let ratio = one.map_or(f64::NAN, |one| r.mpps / (n as f64 * one));
        let (out, inn, pkts) = r.redirects();
        let per_pkt = out as f64 / pkts.max(1) as f64;
        println!(
            "{:<6} {:>3} {:>8.2} {:>10.2} {:>10.3} {:>12.6} {:>6} {:>8.0}%  {}",
            flows_label(r.flows as u32),
            n,
            r.mpps,
            r.mpps / n as f64,
            ratio,
            per_pkt,
            r.drops,
            r.gen_busy * 100.0,
            shares(r)
        );
        let mut f = vec![
            ("case", string(&r.case)),
            ("mode", string(r.mode)),
            ("flows", r.flows.to_string()),
            ("workers", n.to_string()),
            ("mpps", num(r.mpps)),
            ("mpps_per_worker", num(r.mpps / n as f64)),
            ("ratio_to_n_times_one_worker", num(ratio)),
        ];
        f.extend(redirect_fields(r, pkts, out, inn, per_pkt));
        scaled_items.push(object(&f));
    }
    let misplaced: u64 = rows.iter().chain(&placed).chain(&scaled).map(|r| r.misplaced).sum();
    if misplaced > 0 {
        println!("note: {misplaced} frames came back to a generator whose worker RSS would not give them (replaced by fresh ones)");
    }

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
        if let Some((_, t)) = TARGET_CPS.iter().find(|(name, _)| *name == r.case) {
            println!("  {:<28} >= {t:.0} conn/s per core: {c:.0} {}", r.case, distance(c, *t, true));
        }
    }
    let row = |case: &str| rows.iter().find(|r| r.case == case);
    let mut sp_fields = Vec::new();
    if let (Some(f), Some(x)) = (row("synproxy syn flood"), &sp) {
        let a = f.cps.unwrap_or(0.0) / 1e6;
        println!(
            "  {:<28} >= {SP_TARGET_MPPS} Mpps cookie SYN-ACKs per core: {a:.2} Mpps {}   ({:.1}% of io-forward; table after: {} connections)",
            f.case,
            distance(a, SP_TARGET_MPPS, true),
            f.mpps / baseline * 100.0,
            x.flood_conns
        );
        sp_fields.extend([
            ("syn_flood_mpps", num(f.mpps)),
            ("cookie_synacks_per_second", num(f.cps.unwrap_or(0.0))),
            ("syn_flood_ratio_to_baseline", num(f.mpps / baseline)),
            ("syn_flood_target_mpps", num(SP_TARGET_MPPS)),
            ("syn_flood_connections_after", x.flood_conns.to_string()),
            ("syn_flood_other_frames", x.flood_other.to_string()),
        ]);
    }
    if let (Some(w), Some(wo), Some(x)) = (row("synproxy new connections nat"), row("new connections nat"), &sp) {
        let (a, b) = (w.cps.unwrap_or(0.0), wo.cps.unwrap_or(0.0));
        println!(
            "  {:<28} {a:.0} conn/s with SYNPROXY, {b:.0} without (same run): {:.2}x",
            "synproxy new connections",
            a / b
        );
        sp_fields.extend([
            ("new_connections_per_second", num(a)),
            ("new_connections_per_second_without", num(b)),
            ("new_connections_ratio", num(a / b)),
            ("mistranslated", x.bad.to_string()),
            ("unexpected_frames", x.new_other.to_string()),
        ]);
    }
    if !gen_rows.is_empty() || gen_connect.is_some() {
        println!();
        println!("rvs-gen (crates/gen engine, open loop, 1000 flows, 64-byte frames) beside the bench's generator, same harness and worker:");
        println!(
            "  {:<36} {:>10} {:>10} {:>12} {:>12} {:>7}",
            "case", "sent Mpps", "back Mpps", "worker drops", "bench Mpps", "ratio"
        );
        for (label, r, drops, bench) in &gen_rows {
            println!(
                "  {label:<36} {:>10.2} {:>10.2} {drops:>12} {bench:>12.2} {:>6.2}x",
                r.sent_mpps,
                r.received_mpps,
                r.received_mpps / bench
            );
        }
    }
    if let Some((r, bench)) = &gen_connect {
        if let Some(c) = &r.conn {
            let p = &c.syn_ack_us;
            println!(
                "  {:<36} {:>10.0} conn/s, bench generator {bench:.0} conn/s, ratio {:.2}x; SYN -> SYN-ACK p50 {:.1} p90 {:.1} p99 {:.1} p99.9 {:.1} us; reset {} timeouts {}",
                "rvs-gen connect nat (SYN..ACK, 6 pkts)",
                c.cps,
                c.cps / bench,
                p.p50,
                p.p90,
                p.p99,
                p.p999,
                c.reset,
                c.timeouts
            );
        }
    }
    let mut gen_items: Vec<String> = gen_rows
        .iter()
        .map(|(label, r, drops, bench)| {
            object(&[
                ("case", string(label)),
                ("sent_mpps", num(r.sent_mpps)),
                ("received_mpps", num(r.received_mpps)),
                ("worker_drops", drops.to_string()),
                ("bench_generator_mpps", num(*bench)),
                ("ratio", num(r.received_mpps / bench)),
            ])
        })
        .collect();
    if let Some((r, bench)) = &gen_connect {
        let c = r.conn.unwrap_or_default();
        gen_items.push(object(&[
            ("case", string("rvs-gen connect nat")),
            ("cps", num(c.cps)),
            ("bench_generator_cps", num(*bench)),
            ("ratio", num(c.cps / bench)),
            ("syn_ack_p50_us", num(c.syn_ack_us.p50)),
            ("syn_ack_p99_us", num(c.syn_ack_us.p99)),
            ("syn_ack_p999_us", num(c.syn_ack_us.p999)),
            ("reset", c.reset.to_string()),
            ("timeouts", c.timeouts.to_string()),
        ]));
    }
    let json = object(&[
        ("rvs_gen", array(&gen_items)),
        ("baseline_mpps", num(baseline)),
        ("synproxy", object(&sp_fields)),
        ("new_connections_per_second_per_core", num(new_nat)),
        ("memory", string(if huge { "hugepages" } else { "--no-huge" })),
        ("workers", workers.to_string()),
        ("cases", array(&items)),
        ("rss_placement", object(&[("workers", rss_workers.to_string()), ("cases", array(&placed_items))])),
        ("scaling", array(&scaled_items)),
    ]);
    write_fragment("dataplane", &json);

    drop(gens);
    drop(s);
    drop(eal);
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
}
