//! The fixture the `director` fuzz target drives, shared by path with the seed-corpus
//! generator (`examples/director_seeds.rs`).
//!
//! Two workers' [`Director`]s sharing one owner [`Directory`], each configured like the
//! forwarding tests' `lab()` and `lab6()` together: NAT, DR and TUN services on the IPv4
//! VIP 10.0.2.100 and on the IPv6 VIP 2001:db8:2::100, plus persistent services, a
//! one-packet UDP service and a UDP service with no real server; two ports (wan 0, lan 1)
//! with addresses of both families, routes of both families, neighbours resolved except
//! one real server per family (so ARP / NDP resolution and its queue run).
//!
//! An input is a sequence of records, each
//!
//! ```text
//! ctl: u8 | len: u16 (big endian) | len bytes of frame (cut to what remains)
//! ```
//!
//! `ctl` bit 0: port; bit 1: worker; bit 2: `redirected`; bits 3-5: clock step
//! ([`STEPS_MS`]); bit 6: tick that worker before the frame (if its last tick is
//! [`TICK_EVERY_MS`] old, and at most one tick in [`INPUTS_PER_TICK`] inputs); bit 7:
//! buffer allocation
//! fails while it handles the frame. A record with `len == 0` is a control request to
//! that worker instead of a frame ([`Lab::control`]). Packets a worker redirects are
//! handed to their owner, marked `redirected`, as the dataplane does; neighbour bindings
//! one worker learns are told to the other.
#![allow(dead_code)] // the target and the seed generator each use their own part

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;

use rvs_core::addr::{Addr, Protocol};
use rvs_core::conn::ConnConfig;
use rvs_core::ctl::{ConnChunk, WorkerCtl};
use rvs_core::forward::{Balancer, Director, Directory};
use rvs_core::l3::{Io, L3Config, Node, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::{Route6Table, RouteTable};
use rvs_core::service::{Config, DestSpec, FwdMethod, Persistence, ServiceKey, ServiceSpec};
use rvs_core::stats::{CoreStats, DropReason};
use wire::{EthernetAddress, VecBuf};

pub const WORKERS: usize = 2;
/// Clock steps (ms) a record's bits 3-5 choose. At most 10 s: a tick walks the timer
/// wheel slot by slot, so a worker's clock never jumps far; the connection timeouts
/// are reached by shortening them ([`Lab::control`]).
pub const STEPS_MS: [u64; 8] = [0, 1, 10, 100, 1_000, 2_000, 5_000, 10_000];
/// A worker ticks at most this often (clock ms), and the process runs at most one tick
/// in [`INPUTS_PER_TICK`] inputs. A tick sweeps bounded parts of the owner directory,
/// the fragment table (all its 4096 slots), the neighbour table and the timer wheel,
/// which costs far more than a frame (the neighbour table fills up with fuzzed
/// bindings): asked for by every other random record (two per input at most), ticks
/// took 80% of the run (5 k inputs/s); one in 4 inputs, still 55%.
pub const TICK_EVERY_MS: u64 = 1_000;
pub const INPUTS_PER_TICK: u64 = 16;
/// Connection listings a worker may have queued.
pub const MAX_LISTINGS: usize = 4;
/// Connections (and templates) per worker.
pub const CAPACITY: u32 = 256;
/// The clock the workers start at (ms).
pub const START_MS: u64 = 1_000;

pub const VIP4: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 100);
pub const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x100);

pub fn mac(last2: [u8; 2]) -> EthernetAddress {
    EthernetAddress([2, 0, 0, 0, last2[0], last2[1]])
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// One record of an input.
pub struct Record<'a> {
    pub port: u16,
    pub worker: usize,
    pub redirected: bool,
    pub step_ms: u64,
    pub tick: bool,
    pub alloc_fails: bool,
    /// Empty: a control request.
    pub frame: &'a [u8],
    /// The control byte again, for [`Lab::control`].
    pub ctl: u8,
}

/// Splits an input into records; a trailing partial header is ignored.
pub fn records(mut data: &[u8]) -> impl Iterator<Item = Record<'_>> {
    std::iter::from_fn(move || {
        let [ctl, hi, lo, rest @ ..] = data else { return None };
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
        let (frame, tail) = rest.split_at(len);
        data = tail;
        Some(Record {
            port: u16::from(ctl & 1),
            worker: usize::from((ctl >> 1) & 1),
            redirected: ctl & 4 != 0,
            step_ms: STEPS_MS[usize::from((ctl >> 3) & 7)],
            tick: ctl & 0x40 != 0,
            alloc_fails: ctl & 0x80 != 0,
            frame,
            ctl: *ctl,
        })
    })
}

/// Encodes a record (the inverse of [`records`]), for the seed corpus.
pub fn encode(out: &mut Vec<u8>, ctl: u8, frame: &[u8]) {
    out.push(ctl);
    out.extend_from_slice(&u16::try_from(frame.len()).unwrap().to_be_bytes());
    out.extend_from_slice(frame);
}

/// An [`Io`] that keeps only what the harness passes on (redirected packets, learned
/// neighbours, both bounded) and never panics.
#[derive(Default)]
pub struct FuzzIo {
    pub alloc_fails: bool,
    /// Frames transmitted.
    pub tx: u64,
    pub redirects: Vec<(u8, u16, VecBuf)>,
    pub learned: Vec<(u16, IpAddr, EthernetAddress)>,
}

impl Io<VecBuf> for FuzzIo {
    fn tx(&mut self, _port: u16, pkt: VecBuf) {
        self.tx += 1;
        std::hint::black_box(pkt);
    }
    fn drop(&mut self, _port: u16, pkt: VecBuf, reason: DropReason) {
        std::hint::black_box((pkt, reason));
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        (!self.alloc_fails).then(|| VecBuf::from_slice(&[]))
    }
    fn count_drop(&mut self, _port: u16, reason: DropReason) {
        std::hint::black_box(reason);
    }
    fn neigh_learned(&mut self, port: u16, ip: IpAddr, mac: EthernetAddress) {
        if self.learned.len() < 64 {
            self.learned.push((port, ip, mac));
        }
    }
    fn redirect(&mut self, core: u8, port: u16, pkt: VecBuf) {
        if self.redirects.len() < 64 {
            self.redirects.push((core, port, pkt));
        }
    }
}

/// Both workers, their shared clock and the listings they serve.
pub struct Lab {
    pub workers: [Director<VecBuf>; WORKERS],
    pub now: u64,
    /// Each worker's last tick.
    ticked: [u64; WORKERS],
    /// Ticks the current input may still run.
    ticks_left: u32,
    /// Inputs run so far.
    pub inputs: u64,
    /// Frames the workers transmitted so far (the seed generator checks it).
    pub sent: u64,
    listings: Vec<Receiver<ConnChunk>>,
    /// Listings each worker has queued: a tick serves one chunk of the first, and with
    /// [`CAPACITY`] under `LIST_SLOTS_PER_TICK` a chunk is a whole listing. At most
    /// [`MAX_LISTINGS`], or requests would pile up faster than the rare ticks serve
    /// them (a control thread waits for one listing before the next).
    queued: [usize; WORKERS],
}

fn config() -> Config {
    let mut cfg = Config::new(64);
    let mut svc =
        |addr: Addr, proto, port, sched: &str, persist: Option<Persistence>, ops: bool, dests: &[DestSpec]| {
            let key = ServiceKey::Proto { proto, addr, port };
            let mut s = ServiceSpec::new(key);
            s.scheduler = sched.into();
            s.persistence = persist;
            s.one_packet = ops;
            cfg.add_service(&s).unwrap();
            for d in dests {
                cfg.add_dest(&key, d).unwrap();
            }
        };
    let d = |a: IpAddr, port, fwd| DestSpec { fwd, ..DestSpec::new(Addr::from(a), port) };
    let (tcp, udp) = (Protocol::Tcp, Protocol::Udp);
    let (nat, dr, tun) = (FwdMethod::Masq, FwdMethod::Route, FwdMethod::Tunnel);
    for v in [false, true] {
        let a = |four: [u8; 4], six: &str| -> IpAddr {
            if v {
                v6(six).into()
            } else {
                Ipv4Addr::from(four).into()
            }
        };
        let vip = Addr::from(if v { IpAddr::from(VIP6) } else { IpAddr::from(VIP4) });
        let rs11 = a([10, 0, 3, 11], "2001:db8:3::11");
        let rs12 = a([10, 0, 3, 12], "2001:db8:3::12");
        // Never resolved up front: traffic to it waits for ARP / NDP.
        let rs13 = a([10, 0, 3, 13], "2001:db8:3::13");
        let far = a([10, 0, 4, 11], "2001:db8:4::11");
        let persist = Some(Persistence { timeout_s: 300, prefix: if v { 64 } else { 24 } });
        // The services of the forwarding tests' lab() / lab6(), so the golden frames
        // take the paths they take there...
        svc(vip, tcp, 80, "rr", None, false, &[d(rs11, 8080, nat), d(rs12, 80, nat)]);
        svc(vip, tcp, 81, "rr", None, false, &[d(rs11, 81, dr)]);
        svc(vip, tcp, 82, "rr", None, false, &[d(far, 82, tun)]);
        svc(vip, udp, 82, "rr", None, false, &[d(far, 82, tun)]);
        svc(vip, udp, 83, "rr", None, false, &[]);
        svc(vip, udp, 53, "rr", None, false, &[d(rs12, 5353, nat)]);
        // ...and persistent, one-packet and other schedulers' services beside them.
        svc(vip, tcp, 443, "wlc", persist, false, &[d(rs11, 443, nat), d(rs13, 443, nat)]);
        svc(vip, tcp, 444, "sh", persist, false, &[d(rs11, 444, dr), d(far, 444, tun)]);
        svc(vip, udp, 54, "mh", None, true, &[d(rs12, 54, nat), d(rs13, 54, nat)]);
        svc(vip, udp, 0, "rr", persist, false, &[d(rs12, 0, dr)]);
    }
    cfg
}

fn l3() -> Arc<L3Config> {
    let mut routes = RouteTable::default();
    routes.add_gateway("0.0.0.0/0".parse().unwrap(), Ipv4Addr::new(10, 0, 2, 1), 0);
    routes.add_gateway("10.0.4.0/24".parse().unwrap(), Ipv4Addr::new(10, 0, 3, 254), 1);
    let mut routes6 = Route6Table::default();
    routes6.add_gateway("::/0".parse().unwrap(), v6("2001:db8:2::1"), 0);
    routes6.add_gateway("2001:db8:4::/64".parse().unwrap(), v6("2001:db8:3::fe"), 1);
    let ports = vec![
        PortL3 {
            mac: mac([0, 1]),
            addrs: vec!["10.0.2.2/24".parse().unwrap()],
            vips: vec![VIP4],
            addrs6: vec!["2001:db8:2::2/64".parse().unwrap()],
            vips6: vec![VIP6],
            mtu: 1500,
        },
        PortL3 {
            mac: mac([1, 1]),
            addrs: vec!["10.0.3.1/24".parse().unwrap()],
            vips: vec![],
            addrs6: vec!["2001:db8:3::1/64".parse().unwrap()],
            vips6: vec![],
            mtu: 1500,
        },
    ];
    Arc::new(L3Config::with_routes(ports, routes, routes6))
}

impl Lab {
    pub fn new() -> Lab {
        let cfg = config();
        let l3 = l3();
        let owners = Arc::new(Directory::for_capacity(WORKERS, CAPACITY as usize));
        let worker = |core: u8| {
            let mut node = Node::new(l3.clone(), NeighConfig::default());
            let mut io = FuzzIo::default();
            let neighbours: [(u16, IpAddr, [u8; 2]); 8] = [
                (0, Ipv4Addr::new(10, 0, 2, 1).into(), [0, 0xfe]),
                (1, Ipv4Addr::new(10, 0, 3, 11).into(), [3, 11]),
                (1, Ipv4Addr::new(10, 0, 3, 12).into(), [3, 12]),
                (1, Ipv4Addr::new(10, 0, 3, 254).into(), [2, 0xfe]),
                (0, v6("2001:db8:2::1").into(), [0, 0xfe]),
                (1, v6("2001:db8:3::11").into(), [3, 11]),
                (1, v6("2001:db8:3::12").into(), [3, 12]),
                (1, v6("2001:db8:3::fe").into(), [2, 0xfe]),
            ];
            for (port, ip, m) in neighbours {
                node.learn(port, ip, mac(m), true, START_MS, &mut io);
            }
            let stats = Arc::new(CoreStats::with_dests(u32::from(core), 2, 64));
            let conn =
                ConnConfig { capacity: CAPACITY, max_dests: 64, workers: WORKERS as u32, ..ConnConfig::default() };
            let lb = Balancer::new(core, conn, cfg.snapshot(), owners.clone(), stats, START_MS);
            Director::new(node, lb)
        };
        Lab {
            workers: [worker(0), worker(1)],
            now: START_MS,
            ticked: [START_MS; WORKERS],
            ticks_left: 0,
            inputs: 0,
            sent: 0,
            listings: Vec::new(),
            queued: [0; WORKERS],
        }
    }

    /// Runs one input: its records in order. State (connections, neighbours, fragments,
    /// the clock) carries over to the next input.
    pub fn run(&mut self, data: &[u8]) {
        self.ticks_left = u32::from(self.inputs.is_multiple_of(INPUTS_PER_TICK));
        self.inputs += 1;
        // Consecutive frames for one worker, port and origin, with no time passing and
        // nothing else between them, arrive as one burst (the worker's staged path), as
        // a NIC's rx burst does; the rest one at a time.
        let mut burst: Vec<VecBuf> = Vec::new();
        let mut key = None;
        for r in records(data) {
            let this = (r.worker, r.port, r.redirected, r.alloc_fails);
            let joins = !r.frame.is_empty() && r.step_ms == 0 && !r.tick && key == Some(this);
            if !joins {
                self.flush(&mut burst, key);
            }
            self.now += r.step_ms;
            let now = self.now;
            if r.frame.is_empty() || r.tick {
                let mut io = FuzzIo { alloc_fails: r.alloc_fails, ..FuzzIo::default() };
                if r.tick && now >= self.ticked[r.worker] + TICK_EVERY_MS {
                    self.tick(r.worker, &mut io);
                }
                if r.frame.is_empty() {
                    self.control(r.worker, r.ctl);
                    key = None;
                    self.deliver(r.worker, io);
                    continue;
                }
                self.deliver(r.worker, io);
            }
            key = Some(this);
            burst.push(VecBuf::from_slice(r.frame));
        }
        self.flush(&mut burst, key);
    }

    /// Hands the pending frames to their worker as one burst.
    fn flush(&mut self, burst: &mut Vec<VecBuf>, key: Option<(usize, u16, bool, bool)>) {
        let Some((worker, port, redirected, alloc_fails)) = key else { return };
        if burst.is_empty() {
            return;
        }
        let mut io = FuzzIo { alloc_fails, ..FuzzIo::default() };
        self.workers[worker].input_burst(port, burst.drain(..), self.now, redirected, &mut io);
        self.deliver(worker, io);
    }

    fn tick(&mut self, w: usize, io: &mut FuzzIo) {
        if self.ticks_left == 0 {
            return;
        }
        self.ticks_left -= 1;
        self.ticked[w] = self.now;
        self.queued[w] = self.queued[w].saturating_sub(1);
        self.workers[w].tick(self.now, io);
        // Read what the listings sent; a finished listing's sender is gone.
        self.listings.retain(|rx| loop {
            match rx.try_recv() {
                Ok(chunk) => {
                    std::hint::black_box(chunk.conns.len());
                    if chunk.done {
                        break false;
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => break true,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => break false,
            }
        });
    }

    /// A control request, chosen by bits 3-5 of `ctl` (so it also chose the clock step).
    fn control(&mut self, w: usize, ctl: u8) {
        let now = self.now;
        let room = self.queued[w] < MAX_LISTINGS;
        let msg = match (ctl >> 3) & 7 {
            0 | 1 if room => {
                let (tx, rx) = channel();
                self.listings.push(rx);
                self.queued[w] += 1;
                WorkerCtl::ListConns(tx)
            }
            // A listing whose requester has already given up.
            2 if room => {
                self.queued[w] += 1;
                WorkerCtl::ListConns(channel().0)
            }
            3 => WorkerCtl::Timeouts { tcp: 2, tcpfin: 1, udp: 1 },
            4 => WorkerCtl::Timeouts { tcp: 900, tcpfin: 120, udp: 300 },
            5 => WorkerCtl::Timeouts { tcp: 0, tcpfin: 0, udp: u32::MAX },
            _ => {
                // Tick both workers.
                for w in 0..WORKERS {
                    let mut io = FuzzIo::default();
                    self.tick(w, &mut io);
                    self.deliver(w, io);
                }
                return;
            }
        };
        self.workers[w].control(msg, now);
    }

    /// Passes what worker `from` redirected to its owner (once: a packet redirected
    /// again is dropped, as the dataplane never bounces one back), and tells the other
    /// workers of the neighbours it learned.
    fn deliver(&mut self, from: usize, io: FuzzIo) {
        let now = self.now;
        self.sent += io.tx;
        for (core, port, pkt) in io.redirects {
            let to = usize::from(core);
            assert!(to < WORKERS, "redirected to worker {core} of {WORKERS}");
            let mut again = FuzzIo::default();
            self.workers[to].input(port, pkt, now, true, &mut again);
            self.sent += again.tx;
            for (port, ip, mac) in again.learned {
                self.learn_elsewhere(to, port, ip, mac);
            }
        }
        for (port, ip, mac) in io.learned {
            self.learn_elsewhere(from, port, ip, mac);
        }
    }

    fn learn_elsewhere(&mut self, from: usize, port: u16, ip: IpAddr, mac: EthernetAddress) {
        let now = self.now;
        for (w, d) in self.workers.iter_mut().enumerate() {
            if w != from {
                let mut io = FuzzIo::default();
                d.node.learn(port, ip, mac, true, now, &mut io);
                self.sent += io.tx;
            }
        }
    }
}

impl Default for Lab {
    fn default() -> Self {
        Lab::new()
    }
}
