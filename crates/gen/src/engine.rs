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

const HTTP_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: rvs\r\nUser-Agent: rvs-gen\r\nAccept: */*\r\n\r\n";
/// Connection-table slots looked at for timeouts per loop turn.
const SCAN: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum State {
    #[default]
    Free,
    SynSent,
    /// Handshake done, GET sent, waiting for the reply.
    Requested,
    /// Our FIN sent.
    FinSent,
}

/// One connection (connect mode).
#[derive(Clone, Copy, Default)]
struct Conn {
    state: State,
    /// Its tuple's index in the source range (address first, then port).
    tuple: u32,
    iss: u32,
    /// Our next sequence number (after the GET), and the FIN's.
    snd_nxt: u32,
    rcv_nxt: u32,
    t_syn: u64,
    fin_acked: bool,
    peer_fin: bool,
}

#[derive(Default)]
struct Counters {
    sent: u64,
    received: u64,
    no_mbuf: u64,
    tx_full: u64,
    arp_replies: u64,
    syn_acks: u64,
    rsts: u64,
    conn: ConnReport,
}

struct Engine<'a> {
    cfg: &'a Config,
    io: &'a mut Io,
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
    let src_mac = cfg.src_mac.unwrap_or(io.mac);
    let tuples = (u64::from(cfg.src_count) * u64::from(cfg.port_count)).min(u64::from(u32::MAX)) as u32;
    let table = if cfg.mode == Mode::Connect { cfg.max_open.min(tuples) as usize } else { 0 };
    let mut e = Engine {
        cfg,
        io,
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
        rng: 0x9e37_79b9_7f4a_7c15 ^ lcore::tsc(),
        gw_ip: cfg.gw_ip,
        data: None,
        next_tuple: 0,
    };
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

    /// The `t`-th tuple of the source range: addresses first, then ports.
    fn tuple(&self, t: u32) -> (Ipv4Addr, u16) {
        let ip = u32::from(self.cfg.src_ip) + t % self.cfg.src_count;
        let port = self.cfg.src_port as u32 + (t / self.cfg.src_count) % u32::from(self.cfg.port_count);
        (Ipv4Addr::from(ip), port as u16)
    }

    /// The tuple index of (addr, port), if it is in the source range.
    fn tuple_of(&self, ip: Ipv4Addr, port: u16) -> Option<u32> {
        let a = u32::from(ip).wrapping_sub(u32::from(self.cfg.src_ip));
        let p = u32::from(port).wrapping_sub(u32::from(self.cfg.src_port));
        (a < self.cfg.src_count && p < u32::from(self.cfg.port_count)).then(|| p * self.cfg.src_count + a)
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

    fn main(mut self, stop: &AtomicBool) -> Report {
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
            let due = if cfg.rate == 0 {
                u64::MAX
            } else {
                (u128::from(now - start) * u128::from(cfg.rate) / u128::from(hz)) as u64
            };
            // At most a burst's worth of new packets or connections a turn.
            let want = due.saturating_sub(issued).min(dpdk::BURST as u64);
            let syns = if cfg.syn_first && cfg.proto == Proto::Tcp { u64::from(cfg.flows) } else { 0 };
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
        let open = self.conns.iter().filter(|c| c.state != State::Free).count() as u64;
        let conn = (cfg.mode == Mode::Connect).then(|| ConnReport {
            timeouts: self.c.conn.timeouts + open,
            cps: self.c.conn.completed as f64 / secs.max(1e-9),
            syn_ack_us: percentiles(&self.syn_ack),
            complete_us: percentiles(&self.complete),
            ..self.c.conn
        });
        Report {
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
            conn,
        }
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
        let flows = u64::from(self.cfg.flows);
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
        let flow = (n % u64::from(cfg.flows)) as u32;
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
        let sport = 1024 + ((r >> 32) as u16 % 64512);
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

    /// Connect mode: open the next connection, on the next tuple (of the range, in
    /// order) whose table slot is free, looking at 8 at most; `false` if none was.
    fn open(&mut self, now: u64) -> bool {
        let mut found = None;
        for _ in 0..8 {
            let t = (self.next_tuple % u64::from(self.tuples)) as u32;
            self.next_tuple += 1;
            let slot = t as usize % self.conns.len();
            if self.conns[slot].state == State::Free {
                found = Some((t, slot));
                break;
            }
        }
        let Some((t, slot)) = found else {
            // `max_open` connections open: wait (counted once per turn that waits).
            self.c.conn.table_full += 1;
            return false;
        };
        let iss = (self.rand() >> 32) as u32;
        let (src, sport) = self.tuple(t);
        let ok = self.send_tcp(&Seg {
            src,
            dst: self.cfg.dst_ip,
            sport,
            dport: self.cfg.dst_port,
            seq: iss,
            ack: 0,
            flags: tcp_flags::SYN,
            mss: true,
            data: b"",
            fill: 0,
        });
        if ok {
            self.conns[slot] = Conn {
                state: State::SynSent,
                tuple: t,
                iss,
                snd_nxt: iss.wrapping_add(1),
                t_syn: now,
                ..Conn::default()
            };
            self.c.conn.attempted += 1;
        }
        ok
    }

    /// Time out a few connections a turn.
    fn expire(&mut self, now: u64) {
        let n = self.conns.len();
        let limit = (self.cfg.conn_timeout.as_secs_f64() * self.hz as f64) as u64;
        for _ in 0..SCAN.min(n) {
            let c = &mut self.conns[self.scan];
            if c.state != State::Free && now.saturating_sub(c.t_syn) > limit {
                c.state = State::Free;
                self.c.conn.timeouts += 1;
            }
            self.scan = (self.scan + 1) % n;
        }
    }

    /// Receive and handle what came in; returns how many frames.
    fn poll(&mut self, now: u64) -> usize {
        let mut got = 0;
        let mut b = Burst::new();
        let parse_all = self.cfg.mode != Mode::Flows;
        for q in 0..self.io.rx.len() {
            if self.io.rx[q].rx_burst(&mut b) == 0 {
                continue;
            }
            for m in &b {
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
                        self.tcp(&t, now);
                    }
                    Rx::OtherIp | Rx::Other => self.c.received += 1,
                }
            }
            got += b.len();
            dpdk::free_burst(&mut b);
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

    fn conn_segment(&mut self, t: &TcpSeen, now: u64) {
        if t.src != self.cfg.dst_ip || t.sport != self.cfg.dst_port {
            return;
        }
        let Some(tuple) = self.tuple_of(t.dst, t.dport) else { return };
        let slot = tuple as usize % self.conns.len();
        let mut c = self.conns[slot];
        if c.state == State::Free || c.tuple != tuple {
            return;
        }
        let seg = |seq: u32, ack: u32, flags: u8, data: &'static [u8]| Seg {
            src: t.dst,
            dst: t.src,
            sport: t.dport,
            dport: t.sport,
            seq,
            ack,
            flags,
            mss: false,
            data,
            fill: 0,
        };
        if t.flags & tcp_flags::RST != 0 {
            self.conns[slot].state = State::Free;
            self.c.conn.reset += 1;
            return;
        }
        match c.state {
            State::SynSent => {
                if t.flags & (tcp_flags::SYN | tcp_flags::ACK) != (tcp_flags::SYN | tcp_flags::ACK)
                    || t.ack != c.iss.wrapping_add(1)
                {
                    return;
                }
                let _ = self.syn_ack.record(self.ns(now - c.t_syn).max(1));
                self.c.conn.established += 1;
                c.rcv_nxt = t.seq.wrapping_add(1);
                self.send_tcp(&seg(c.snd_nxt, c.rcv_nxt, tcp_flags::ACK, b""));
                if self.cfg.http {
                    self.send_tcp(&seg(c.snd_nxt, c.rcv_nxt, tcp_flags::ACK | tcp_flags::PSH, HTTP_GET));
                    c.snd_nxt = c.snd_nxt.wrapping_add(HTTP_GET.len() as u32);
                    c.state = State::Requested;
                } else {
                    self.send_tcp(&seg(c.snd_nxt, c.rcv_nxt, tcp_flags::ACK | tcp_flags::FIN, b""));
                    c.state = State::FinSent;
                }
            }
            State::Requested | State::FinSent => {
                if t.flags & tcp_flags::SYN != 0 {
                    return; // a retransmitted SYN-ACK
                }
                let fin_seq = c.snd_nxt;
                if c.state == State::FinSent && t.flags & tcp_flags::ACK != 0 && t.ack == fin_seq.wrapping_add(1) {
                    c.fin_acked = true;
                }
                let fin = t.flags & tcp_flags::FIN != 0;
                if t.payload_len > 0 || fin {
                    if t.seq == c.rcv_nxt {
                        c.rcv_nxt = t.seq.wrapping_add(t.payload_len).wrapping_add(u32::from(fin));
                        c.peer_fin |= fin;
                    }
                    if c.state == State::Requested {
                        // The reply (or its first segment): ACK it with our FIN.
                        self.send_tcp(&seg(fin_seq, c.rcv_nxt, tcp_flags::ACK | tcp_flags::FIN, b""));
                        c.state = State::FinSent;
                    } else {
                        self.send_tcp(&seg(fin_seq.wrapping_add(1), c.rcv_nxt, tcp_flags::ACK, b""));
                    }
                }
                if c.state == State::FinSent && c.fin_acked && c.peer_fin {
                    let _ = self.complete.record(self.ns(now - c.t_syn).max(1));
                    self.c.conn.completed += 1;
                    c.state = State::Free;
                }
            }
            State::Free => {}
        }
        self.conns[slot] = c;
    }
}
