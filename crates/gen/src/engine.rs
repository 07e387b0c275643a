//! The send/receive loop.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};

use dpdk::{lcore, Burst, Mempool, RxQueue, TxQueue};
use hdrhistogram::Histogram;
use wire::{arp_op, ethertype, tcp_flags, ArpRepr, EthernetAddress, EthernetRepr, PacketBuf};

use crate::packet::{self, Rx, Seg, TcpSeen, Template};
use crate::{Config, ConnReport, Mode, Percentiles, Proto, Report};

/// The queues and pool a generator runs on (it owns them for the run).
pub struct Io {
    pub tx: TxQueue,
    pub rx: Vec<RxQueue>,
    pub pool: Mempool,
    /// The port's MAC (the source MAC unless the config gives one).
    pub mac: EthernetAddress,
}

mod conn;
mod multi;

use conn::{Conn, State};
pub use multi::run_lcores;
use multi::{Handoff, Part};

#[derive(Default)]
struct Counters {
    sent: u64,
    received: u64,
    no_mbuf: u64,
    tx_full: u64,
    arp_replies: u64,
    syn_acks: u64,
    rsts: u64,
    handed_off: u64,
    handoff_drops: u64,
    conn: ConnReport,
}

struct Engine<'a> {
    cfg: &'a Config,
    io: &'a mut Io,
    part: Part,
    hand: Option<Handoff>,
    pend: Burst,
    eth: EthernetRepr,
    hz: u64,
    c: Counters,
    conns: Vec<Conn>,
    tuples: u32,
    scan: usize,
    syn_ack: Histogram<u64>,
    complete: Histogram<u64>,
    rng: u64,
    gw_ip: Option<Ipv4Addr>,
    /// Flows mode: the data frame, stamped per packet.
    data: Option<Template>,
    /// Connect mode: the next tuple's number.
    next_tuple: u64,
}

/// One lcore's result: its report and the histograms to merge.
pub(crate) struct Outcome {
    pub report: Report,
    pub syn_ack: Histogram<u64>,
    pub complete: Histogram<u64>,
}

fn histogram() -> Histogram<u64> {
    // 1 ns .. 100 s, 3 significant digits; fixed size, so recording never allocates.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("histogram bounds")
}

fn percentiles(h: &Histogram<u64>) -> Percentiles {
    let us = |ns: u64| ns as f64 / 1000.0;
    if h.is_empty() {
        return Percentiles::default();
    }
    Percentiles {
        samples: h.len(),
        p50: us(h.value_at_quantile(0.50)),
        p90: us(h.value_at_quantile(0.90)),
        p99: us(h.value_at_quantile(0.99)),
        p999: us(h.value_at_quantile(0.999)),
        max: us(h.max()),
    }
}

/// Run `cfg` on `io` until its duration is over (or `stop` is set), then drain.
pub fn run(cfg: &Config, io: &mut Io, stop: &AtomicBool) -> Result<Report, String> {
    cfg.validate()?;
    run_part(cfg, io, stop, Part::new(cfg, 0, 1), None).map(|o| o.report)
}

fn engine<'a>(cfg: &'a Config, io: &'a mut Io, part: Part, hand: Option<Handoff>) -> Engine<'a> {
    let src_mac = cfg.src_mac.unwrap_or(io.mac);
    let tuples = (u64::from(cfg.src_count) * u64::from(part.ports)).min(u64::from(u32::MAX)) as u32;
    let table = if cfg.mode == Mode::Connect { part.max_open.min(tuples) as usize } else { 0 };
    Engine {
        cfg,
        io,
        part,
        hand,
        pend: Burst::new(),
        eth: EthernetRepr {
            src_addr: src_mac,
            dst_addr: cfg.gw_mac.unwrap_or(EthernetAddress::BROADCAST),
            ethertype: ethertype::IPV4,
        },
        hz: lcore::tsc_hz(),
        c: Counters::default(),
        conns: vec![Conn::default(); table],
        tuples,
        scan: 0,
        syn_ack: histogram(),
        complete: histogram(),
        rng: 0x9e37_79b9_7f4a_7c15 ^ lcore::tsc() ^ u64::from(part.index).wrapping_mul(0x1000_0000_01b3),
        gw_ip: cfg.gw_ip,
        data: None,
        next_tuple: 0,
    }
}

/// The gateway's MAC by ARP, over `io` (every rx queue in it).
pub(crate) fn resolve(cfg: &Config, io: &mut Io, stop: &AtomicBool) -> Result<EthernetAddress, String> {
    let mut e = engine(cfg, io, Part::new(cfg, 0, 1), None);
    e.resolve_gateway(stop)?;
    e.flush();
    Ok(e.eth.dst_addr)
}

/// One lcore's run: `part` of `cfg`, sharing with the others through `hand`.
pub(crate) fn run_part(
    cfg: &Config,
    io: &mut Io,
    stop: &AtomicBool,
    part: Part,
    hand: Option<Handoff>,
) -> Result<Outcome, String> {
    let mut e = engine(cfg, io, part, hand);
    if cfg.gw_mac.is_none() {
        e.resolve_gateway(stop)?;
    }
    if cfg.mode == Mode::Flows {
        let wire_len = usize::from(cfg.frame_size) - 4;
        e.data = Some(match cfg.proto {
            Proto::Udp => Template::udp(&e.eth, cfg.dst_ip, cfg.dst_port, wire_len - packet::UDP_HEADERS),
            Proto::Tcp => Template::tcp(
                &e.eth,
                cfg.dst_ip,
                cfg.dst_port,
                wire_len - packet::TCP_HEADERS,
                tcp_flags::ACK | tcp_flags::PSH,
            ),
        });
    }
    Ok(e.main(stop))
}

impl Engine<'_> {
    fn ns(&self, tsc: u64) -> u64 {
        (u128::from(tsc) * 1_000_000_000 / u128::from(self.hz)) as u64
    }

    /// The `t`-th tuple of this lcore's source range: addresses first, then its ports.
    fn tuple(&self, t: u32) -> (Ipv4Addr, u16) {
        let ip = u32::from(self.cfg.src_ip) + t % self.cfg.src_count;
        let k = (t / self.cfg.src_count) % self.part.ports;
        (Ipv4Addr::from(ip), (u32::from(self.part.port0) + k * self.part.n) as u16)
    }

    /// The tuple index of (addr, port), if it is in this lcore's source range.
    fn tuple_of(&self, ip: Ipv4Addr, port: u16) -> Option<u32> {
        let a = u32::from(ip).wrapping_sub(u32::from(self.cfg.src_ip));
        let p = u32::from(port).wrapping_sub(u32::from(self.part.port0));
        let (k, r) = (p / self.part.n, p % self.part.n);
        (a < self.cfg.src_count && r == 0 && k < self.part.ports).then(|| k * self.cfg.src_count + a)
    }

    fn ours(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip).wrapping_sub(u32::from(self.cfg.src_ip)) < self.cfg.src_count
    }

    fn rand(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn flush(&mut self) {
        if !self.pend.is_empty() {
            self.c.sent += self.io.tx.tx_burst(&mut self.pend) as u64;
        }
    }

    /// Room for one more frame in the pending burst (flushing it if full).
    fn room(&mut self) -> bool {
        if self.pend.is_full() {
            self.flush();
        }
        !self.pend.is_full()
    }

    /// Queue a frame of `len` bytes that `fill` writes.
    fn send(&mut self, len: usize, fill: impl FnOnce(&mut [u8]) -> bool) -> bool {
        // A reply (ACK, FIN, ARP) lost here would cost a connection: try a while.
        let mut tries = 0;
        while !self.room() {
            tries += 1;
            if tries == 256 {
                self.c.tx_full += 1;
                return false;
            }
        }
        let Some(mut m) = self.io.pool.alloc() else {
            self.c.no_mbuf += 1;
            return false;
        };
        let ok = m.append(len).is_some_and(fill);
        if ok {
            self.pend.push(m);
        }
        ok
    }

    fn send_tcp(&mut self, s: &Seg) -> bool {
        let eth = self.eth;
        self.send(packet::tcp_len(s), |b| packet::write_tcp(b, &eth, s))
    }

    fn send_arp(&mut self, dst: EthernetAddress, arp: &ArpRepr) -> bool {
        let eth = EthernetRepr { src_addr: self.eth.src_addr, dst_addr: dst, ethertype: ethertype::ARP };
        self.send(packet::ARP_FRAME, |b| packet::write_arp(b, &eth, arp))
    }

    /// ARP for the gateway until it answers (3 s at most).
    fn resolve_gateway(&mut self, stop: &AtomicBool) -> Result<(), String> {
        let Some(gw) = self.gw_ip else { return Err("no gateway".into()) };
        let start = lcore::tsc();
        let mut next = start;
        while self.eth.dst_addr == EthernetAddress::BROADCAST {
            let now = lcore::tsc();
            if now - start > 3 * self.hz || stop.load(Ordering::Relaxed) {
                return Err(format!("gateway {gw} did not answer ARP within 3 s"));
            }
            if now >= next {
                let req = ArpRepr {
                    operation: arp_op::REQUEST,
                    source_hardware_addr: self.eth.src_addr,
                    source_protocol_addr: self.cfg.src_ip,
                    target_hardware_addr: EthernetAddress::default(),
                    target_protocol_addr: gw,
                };
                self.send_arp(EthernetAddress::BROADCAST, &req);
                self.flush();
                next = now + self.hz / 5;
            }
            self.poll(now);
        }
        Ok(())
    }

    fn main(mut self, stop: &AtomicBool) -> Outcome {
        let cfg = self.cfg;
        let hz = self.hz;
        let start = lcore::tsc();
        let end = start + (cfg.duration.as_secs_f64() * hz as f64) as u64;
        let mut issued = 0u64;
        let (sent0, recv0) = (self.c.sent, self.c.received);
        let mut now = start;
        let mut idle = 0u32;
        while now < end && !stop.load(Ordering::Relaxed) {
            let got = self.poll(now);
            if cfg.idle_sleep_us > 0 {
                idle = if got > 0 { 0 } else { idle + 1 };
                if idle % 64 == 63 {
                    std::thread::sleep(std::time::Duration::from_micros(cfg.idle_sleep_us));
                }
            }
            let due = if self.part.rate == 0 {
                u64::MAX
            } else {
                (u128::from(now - start) * u128::from(self.part.rate) / u128::from(hz)) as u64
            };
            // At most a burst's worth of new packets or connections a turn.
            let want = due.saturating_sub(issued).min(dpdk::BURST as u64);
            let syns = if cfg.syn_first && cfg.proto == Proto::Tcp { u64::from(self.part.flows) } else { 0 };
            if cfg.mode == Mode::Flows && issued >= syns {
                issued += self.flow_burst(issued, want as usize) as u64;
                self.flush();
                now = lcore::tsc();
                continue;
            }
            for _ in 0..want {
                if !self.room() {
                    break;
                }
                if !match cfg.mode {
                    Mode::Flows => self.flow_packet(issued),
                    Mode::Synflood => self.syn_packet(),
                    Mode::Connect => self.open(now),
                } {
                    break;
                }
                issued += 1;
            }
            self.flush();
            if cfg.mode == Mode::Connect {
                self.expire(now);
            }
            now = lcore::tsc();
        }
        let secs = (now - start) as f64 / hz as f64;
        let (sent, received_window) = (self.c.sent - sent0, self.c.received - recv0);
        // Drain: replies still in flight, connections closing.
        let drain_end = now
            + if cfg.mode == Mode::Connect {
                (cfg.conn_timeout.as_secs_f64() * hz as f64) as u64
            } else {
                (cfg.drain.as_secs_f64() * hz as f64) as u64
            };
        while now < drain_end && !stop.load(Ordering::Relaxed) {
            if self.poll(now) == 0 && cfg.idle_sleep_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(cfg.idle_sleep_us));
            }
            self.flush();
            if cfg.mode == Mode::Connect {
                self.expire(now);
                if self.conns.iter().all(|c| c.state == State::Free) {
                    break;
                }
            }
            now = lcore::tsc();
        }
        self.flush();
        self.linger(drain_end, stop);
        let open = self.conns.iter().filter(|c| c.state != State::Free).count() as u64;
        let conn = (cfg.mode == Mode::Connect).then(|| ConnReport {
            timeouts: self.c.conn.timeouts + open,
            cps: self.c.conn.completed as f64 / secs.max(1e-9),
            syn_ack_us: percentiles(&self.syn_ack),
            complete_us: percentiles(&self.complete),
            ..self.c.conn
        });
        let report = Report {
            mode: cfg.mode.name(),
            frame_size: if cfg.mode == Mode::Flows { cfg.frame_size } else { 64 },
            secs,
            sent: self.c.sent,
            received_window,
            received: self.c.received,
            sent_mpps: sent as f64 / secs.max(1e-9) / 1e6,
            received_mpps: received_window as f64 / secs.max(1e-9) / 1e6,
            no_mbuf: self.c.no_mbuf,
            tx_full: self.c.tx_full,
            arp_replies: self.c.arp_replies,
            syn_acks: self.c.syn_acks,
            rsts: self.c.rsts,
            handed_off: self.c.handed_off,
            handoff_drops: self.c.handoff_drops,
            conn,
            ..Report::default()
        };
        Outcome { report, syn_ack: self.syn_ack, complete: self.complete }
    }

    /// Flows mode, the data packets: up to `want` from packet `first` on (flow n mod
    /// flows, round n / flows), mbufs allocated in bulk, frames stamped from the template.
    fn flow_burst(&mut self, first: u64, want: usize) -> usize {
        if want == 0 {
            return 0;
        }
        let n = want.min(self.pend.remaining_capacity());
        if n == 0 {
            self.c.tx_full += 1;
            return 0;
        }
        let mut fresh = Burst::new();
        if !self.io.pool.alloc_bulk(&mut fresh, n) {
            self.c.no_mbuf += 1;
            return 0;
        }
        let Some(t) = self.data.as_ref() else { return 0 };
        let flows = u64::from(self.part.flows);
        let step = (t.len() - packet::TCP_HEADERS) as u32;
        let rounds0 = u64::from(self.cfg.syn_first && self.cfg.proto == Proto::Tcp);
        for (k, mut m) in fresh.drain(..).enumerate() {
            let pkt = first + k as u64;
            let flow = (pkt % flows) as u32;
            let round = (pkt / flows - rounds0) as u32;
            let (src, sport) = self.tuple(flow);
            let seq = flow.wrapping_mul(2_654_435_761).wrapping_add(1).wrapping_add(round.wrapping_mul(step));
            if !m.append(t.len()).is_some_and(|buf| t.stamp(buf, src, sport, seq)) {
                return k;
            }
            self.pend.push(m);
        }
        n
    }

    /// Flows mode, TCP: the SYN of flow `n` (the first round, before the data).
    fn flow_packet(&mut self, n: u64) -> bool {
        let cfg = self.cfg;
        let flow = (n % u64::from(self.part.flows)) as u32;
        let (src, sport) = self.tuple(flow);
        self.send_tcp(&Seg {
            src,
            dst: cfg.dst_ip,
            sport,
            dport: cfg.dst_port,
            seq: flow.wrapping_mul(2_654_435_761),
            ack: 0,
            flags: tcp_flags::SYN,
            mss: true,
            data: b"",
            fill: 0,
        })
    }

    fn syn_packet(&mut self) -> bool {
        let r = self.rand();
        let src = if self.cfg.random_src {
            // Any address in 1.0.0.0 .. 223.255.255.255.
            Ipv4Addr::from(0x0100_0000 + (r as u32) % (0xe000_0000 - 0x0100_0000))
        } else {
            Ipv4Addr::from(u32::from(self.cfg.src_ip) + (r as u32) % self.cfg.src_count)
        };
        // Ports 1024.. whose remainder mod n is this lcore's (all of them on one lcore).
        let n = self.part.n;
        let k = (u32::from((r >> 32) as u16) % (64512 / n)) * n;
        let sport = (1024 + k + (self.part.index + n - 1024 % n) % n) as u16;
        self.send_tcp(&Seg {
            src,
            dst: self.cfg.dst_ip,
            sport,
            dport: self.cfg.dst_port,
            seq: (r >> 16) as u32,
            ack: 0,
            flags: tcp_flags::SYN,
            mss: true,
            data: b"",
            fill: 0,
        })
    }

    /// Receive and handle what came in (and what other lcores handed over); returns how
    /// many frames.
    fn poll(&mut self, now: u64) -> usize {
        let mut got = 0;
        let mut b = Burst::new();
        let rings = self.hand.as_ref().map_or(0, |h| h.from.len());
        for r in 0..rings {
            let Some(h) = self.hand.as_ref() else { break };
            if h.from[r].dequeue_burst(&mut b) == 0 {
                continue;
            }
            for m in &b {
                if let Rx::Tcp(t) = packet::parse(m.data()) {
                    self.tcp(&t, now);
                }
            }
            got += b.len();
            dpdk::free_burst(&mut b);
        }
        let parse_all = self.cfg.mode != Mode::Flows;
        let handoff = self.cfg.mode == Mode::Connect && rings > 0;
        // (index in the burst, owner) of the replies for other lcores.
        let mut fwd = [(0u16, 0u16); dpdk::BURST];
        for q in 0..self.io.rx.len() {
            if self.io.rx[q].rx_burst(&mut b) == 0 {
                continue;
            }
            let mut nf = 0;
            for (k, m) in b.iter().enumerate() {
                let d = m.data();
                // A frame of ours (or of the kernel sharing the interface) seen going out.
                if d.get(6..12) == Some(&self.eth.src_addr.0[..]) {
                    continue;
                }
                let arp = d.get(12..14) == Some(&ethertype::ARP.to_be_bytes()[..]);
                if !arp && !parse_all {
                    self.c.received += 1;
                    continue;
                }
                match packet::parse(d) {
                    Rx::Arp(a, _) => self.arp(&a),
                    Rx::Tcp(t) => {
                        self.c.received += 1;
                        match self.owner(&t) {
                            Some(o) if handoff && o != self.part.index => {
                                fwd[nf] = (k as u16, o as u16);
                                nf += 1;
                            }
                            _ => self.tcp(&t, now),
                        }
                    }
                    Rx::OtherIp | Rx::Other => self.c.received += 1,
                }
            }
            got += b.len();
            if nf == 0 {
                dpdk::free_burst(&mut b);
            } else {
                self.hand_off(&mut b, &fwd[..nf]);
            }
        }
        got
    }

    fn arp(&mut self, a: &ArpRepr) {
        if a.operation == arp_op::REQUEST && self.ours(a.target_protocol_addr) {
            let rep = packet::arp_reply(a, self.eth.src_addr);
            if self.send_arp(a.source_hardware_addr, &rep) {
                self.c.arp_replies += 1;
            }
        } else if self.gw_ip == Some(a.source_protocol_addr) && a.source_hardware_addr.is_unicast() {
            self.eth.dst_addr = a.source_hardware_addr;
        }
    }

    fn tcp(&mut self, t: &TcpSeen, now: u64) {
        const SYNACK: u8 = tcp_flags::SYN | tcp_flags::ACK;
        match self.cfg.mode {
            Mode::Flows => {}
            Mode::Synflood => {
                if t.flags & SYNACK == SYNACK {
                    self.c.syn_acks += 1;
                } else if t.flags & tcp_flags::RST != 0 {
                    self.c.rsts += 1;
                }
            }
            Mode::Connect => self.conn_segment(t, now),
        }
    }
}
