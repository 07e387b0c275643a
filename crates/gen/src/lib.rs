//! rvs-gen: a DPDK traffic generator for rvs.
//!
//! One lcore, one tx queue and any number of rx queues ([`Io`]); the engine ([`run`])
//! sends at a given rate (packets or connections per second, 0: as fast as it can) for a
//! given time, answers ARP for its own source addresses (and resolves the gateway's MAC
//! by ARP when it is not given), and counts what comes back:
//!
//! - [`Mode::Flows`]: TCP segments (ACK|PSH carrying data; with `syn_first`, one SYN per
//!   flow first, so a stateful balancer has an entry for every flow) or UDP datagrams over
//!   N flows, frames of 64 to 1518 bytes on the wire. Received: every frame that comes
//!   back on the rx queues (replies, or frames a device under test forwarded).
//! - [`Mode::Connect`]: TCP connections at a rate: SYN (MSS option), on SYN-ACK an ACK
//!   (and an HTTP GET when asked), then FIN, ACKing the server's data and FIN. State per
//!   connection in a table allocated before the run. Completions, RSTs, timeouts;
//!   SYN→SYN-ACK and SYN→closed latency percentiles (HdrHistogram).
//! - [`Mode::Synflood`]: SYNs from ranged or random sources; SYN-ACKs and RSTs counted.
//!
//! [`run_lcores`] runs it on several lcores, an [`Io`] each: lcore `i` of `n` owns the
//! source ports `p % n == i` (so its flows, SYN sources and connections are disjoint from
//! the others'), sends `1/n` of the rate on its own tx queue and keeps its own connection
//! table and histograms. A connect-mode reply that arrives on another lcore's rx queue
//! goes to its owner (its destination port mod `n`) over a single-producer/
//! single-consumer ring. Counts are summed and histograms merged at the end.
//!
//! No allocation in the send/receive loop: mbufs come from the mempool, frames are
//! written in place with the `wire` crate, histograms have fixed bounds.
#![forbid(unsafe_code)]

pub mod cli;
mod engine;
pub mod packet;

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

pub use engine::{run, run_lcores, Io};
use wire::EthernetAddress;

/// What the generator sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Flows,
    Connect,
    Synflood,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Flows => "flows",
            Mode::Connect => "connect",
            Mode::Synflood => "synflood",
        }
    }
}

/// The transport of [`Mode::Flows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// A generator run.
#[derive(Clone, Debug)]
pub struct Config {
    pub mode: Mode,
    pub proto: Proto,
    /// Source MAC; `None`: the port's.
    pub src_mac: Option<EthernetAddress>,
    /// Client addresses: `src_count` addresses from `src_ip`.
    pub src_ip: Ipv4Addr,
    pub src_count: u32,
    /// Client ports: `port_count` ports from `src_port`.
    pub src_port: u16,
    pub port_count: u16,
    pub dst_ip: Ipv4Addr,
    pub dst_port: u16,
    /// The next hop's MAC, or its address to resolve by ARP.
    pub gw_mac: Option<EthernetAddress>,
    pub gw_ip: Option<Ipv4Addr>,
    /// Packets per second (flows, synflood) or connections per second (connect); 0: as
    /// fast as possible.
    pub rate: u64,
    pub duration: Duration,
    /// Frame size on the wire, FCS included: 64..=1518 (flows mode).
    pub frame_size: u16,
    /// Flows (flows mode).
    pub flows: u32,
    /// Flows mode, TCP: one SYN per flow before the data segments.
    pub syn_first: bool,
    /// Connect mode: send `GET / HTTP/1.1` after the handshake and close after the reply.
    pub http: bool,
    /// Connect mode: connections open at once at most (the table's size).
    pub max_open: u32,
    /// Connect mode: a connection not closed after this long is a timeout.
    pub conn_timeout: Duration,
    /// Synflood: random source addresses (any unicast) rather than the source range.
    pub random_src: bool,
    /// After the sending window: keep receiving this long (connect: until every
    /// connection closed or timed out, at most `conn_timeout`).
    pub drain: Duration,
    /// Sleep this many microseconds after 64 loop turns in a row that received nothing
    /// (and whenever a drain turn receives nothing): for a generator sharing its CPU.
    /// 0: always spin.
    pub idle_sleep_us: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Flows,
            proto: Proto::Tcp,
            src_mac: None,
            src_ip: Ipv4Addr::new(10, 0, 1, 100),
            src_count: 1,
            src_port: 1024,
            port_count: 64512,
            dst_ip: Ipv4Addr::new(10, 0, 2, 100),
            dst_port: 80,
            gw_mac: None,
            gw_ip: None,
            rate: 0,
            duration: Duration::from_secs(1),
            frame_size: 64,
            flows: 1000,
            syn_first: true,
            http: false,
            max_open: 65536,
            conn_timeout: Duration::from_secs(2),
            random_src: false,
            drain: Duration::from_millis(100),
            idle_sleep_us: 0,
        }
    }
}

impl Config {
    /// Check the ranges; `Err` says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !(64..=1518).contains(&self.frame_size) {
            return Err(format!("frame size {} not in 64..=1518", self.frame_size));
        }
        if self.src_count == 0 || self.port_count == 0 || self.flows == 0 || self.max_open == 0 {
            return Err("source addresses, ports, flows and max-open must be at least 1".into());
        }
        if u32::from(self.src_ip).checked_add(self.src_count - 1).is_none() {
            return Err("source address range runs past 255.255.255.255".into());
        }
        if u32::from(self.src_port) + u32::from(self.port_count) > 65536 {
            return Err("source port range runs past 65535".into());
        }
        if self.gw_mac.is_none() && self.gw_ip.is_none() {
            return Err("give the gateway's MAC (--gw-mac) or its address (--gw-ip, resolved by ARP)".into());
        }
        Ok(())
    }
}

/// Latency percentiles in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    pub samples: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Connect-mode figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ConnReport {
    /// SYNs sent for new connections.
    pub attempted: u64,
    /// SYN-ACKs answered.
    pub established: u64,
    /// Both FINs exchanged and ours ACKed.
    pub completed: u64,
    /// Reset by the peer.
    pub reset: u64,
    /// Not closed within the timeout (still open at the end included).
    pub timeouts: u64,
    /// Turns a new connection waited: its table slot was still busy (`max_open`
    /// connections open).
    pub table_full: u64,
    /// Completions per second of the sending window.
    pub cps: f64,
    /// SYN → SYN-ACK.
    pub syn_ack_us: Percentiles,
    /// SYN → closed (both FINs ACKed).
    pub complete_us: Percentiles,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub mode: &'static str,
    pub frame_size: u16,
    /// The sending window, seconds.
    pub secs: f64,
    /// Frames the tx queue took (all of them: data, SYNs, ACKs, FINs, ARP).
    pub sent: u64,
    /// Frames received (ARP excluded), during the window and in all.
    pub received_window: u64,
    pub received: u64,
    pub sent_mpps: f64,
    pub received_mpps: f64,
    /// Sending stalled: no mbuf, or the tx queue full (flows mode at full speed: loop
    /// turns that found the tx queue full; otherwise frames not sent).
    pub no_mbuf: u64,
    pub tx_full: u64,
    pub arp_replies: u64,
    /// Synflood: SYN-ACKs and RSTs received.
    pub syn_acks: u64,
    pub rsts: u64,
    /// Several lcores, connect mode: replies that landed on another lcore's rx queue and
    /// were handed to their owner over a ring, and those lost because it was full.
    pub handed_off: u64,
    pub handoff_drops: u64,
    pub conn: Option<ConnReport>,
    /// In a per-lcore report: the EAL lcore it ran on.
    pub lcore: Option<u32>,
    /// Several lcores: each one's report (this one sums them).
    pub per_lcore: Vec<Report>,
}

fn pct_json(p: &Percentiles) -> String {
    format!(
        "{{\"samples\": {}, \"p50\": {:.1}, \"p90\": {:.1}, \"p99\": {:.1}, \"p99.9\": {:.1}, \"max\": {:.1}}}",
        p.samples, p.p50, p.p90, p.p99, p.p999, p.max
    )
}

fn pct_text(p: &Percentiles) -> String {
    format!(
        "p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us ({} samples)",
        p.p50, p.p90, p.p99, p.p999, p.max, p.samples
    )
}

impl Report {
    /// Human-readable, one figure per line.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "rvs-gen {}: {:.2} s, {} B frames", self.mode, self.secs, self.frame_size);
        let _ = writeln!(s, "  sent     {:>12} frames  {:>8.3} Mpps", self.sent, self.sent_mpps);
        let _ = writeln!(
            s,
            "  received {:>12} frames  {:>8.3} Mpps (in the window; {} in all)",
            self.received_window, self.received_mpps, self.received
        );
        let _ = writeln!(
            s,
            "  stalls: no mbuf {}, tx full {}; ARP replies sent {}",
            self.no_mbuf, self.tx_full, self.arp_replies
        );
        if self.mode == Mode::Synflood.name() {
            let _ = writeln!(s, "  SYN-ACKs {} RSTs {}", self.syn_acks, self.rsts);
        }
        if let Some(c) = &self.conn {
            let _ = writeln!(
                s,
                "  connections: attempted {}, established {}, completed {} ({:.0}/s), reset {}, timeouts {}, table full {}",
                c.attempted, c.established, c.completed, c.cps, c.reset, c.timeouts, c.table_full
            );
            let _ = writeln!(s, "  SYN -> SYN-ACK: {}", pct_text(&c.syn_ack_us));
            let _ = writeln!(s, "  SYN -> closed:  {}", pct_text(&c.complete_us));
        }
        if !self.per_lcore.is_empty() {
            let _ = write!(s, "  {} lcores", self.per_lcore.len());
            if self.conn.is_some() {
                let _ = write!(
                    s,
                    "; replies handed to their owner lcore {}, lost (ring full) {}",
                    self.handed_off, self.handoff_drops
                );
            }
            s.push('\n');
        }
        for r in &self.per_lcore {
            let _ = write!(
                s,
                "    lcore {:>3}: sent {:>8.3} Mpps, received {:>8.3} Mpps ({} / {} frames)",
                r.lcore.unwrap_or(0),
                r.sent_mpps,
                r.received_mpps,
                r.sent,
                r.received
            );
            if let Some(c) = &r.conn {
                let _ = write!(s, ", completed {} of {}", c.completed, c.attempted);
            }
            s.push('\n');
        }
        s
    }

    /// One JSON object.
    pub fn json(&self) -> String {
        let mut s = format!(
            "{{\"mode\": \"{}\", \"frame_size\": {}, \"secs\": {:.3}, \"sent\": {}, \"received\": {}, \"received_window\": {}, \"sent_mpps\": {:.4}, \"received_mpps\": {:.4}, \"no_mbuf\": {}, \"tx_full\": {}, \"arp_replies\": {}, \"syn_acks\": {}, \"rsts\": {}",
            self.mode,
            self.frame_size,
            self.secs,
            self.sent,
            self.received,
            self.received_window,
            self.sent_mpps,
            self.received_mpps,
            self.no_mbuf,
            self.tx_full,
            self.arp_replies,
            self.syn_acks,
            self.rsts
        );
        if let Some(c) = &self.conn {
            let _ = write!(
                s,
                ", \"connections\": {{\"attempted\": {}, \"established\": {}, \"completed\": {}, \"cps\": {:.1}, \"reset\": {}, \"timeouts\": {}, \"table_full\": {}, \"syn_ack_us\": {}, \"complete_us\": {}}}",
                c.attempted,
                c.established,
                c.completed,
                c.cps,
                c.reset,
                c.timeouts,
                c.table_full,
                pct_json(&c.syn_ack_us),
                pct_json(&c.complete_us)
            );
        }
        if let Some(l) = self.lcore {
            let _ = write!(s, ", \"lcore\": {l}");
        }
        if !self.per_lcore.is_empty() {
            let _ = write!(
                s,
                ", \"handed_off\": {}, \"handoff_drops\": {}, \"lcores\": [",
                self.handed_off, self.handoff_drops
            );
            for (i, r) in self.per_lcore.iter().enumerate() {
                s.push_str(if i == 0 { "" } else { ", " });
                s.push_str(&r.json());
            }
            s.push(']');
        }
        s.push('}');
        s
    }
}
