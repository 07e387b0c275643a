//! The director's own presence on its ports, both families, organised by family
//! (`v4`: ARP, ICMP; `v6`: NDP, ICMPv6): answering address resolution for its addresses
//! and VIPs, announcing them, ICMP echo, the ICMP errors rvs sends, and sending packets
//! to a next hop through the routing and neighbour tables. Everything else is dropped
//! with a reason.
//!
//! Generic over the packet buffer so the same code runs over DPDK mbufs in the worker
//! and over `VecBuf` in fixture tests.

mod bind;
mod config;
mod v4;
mod v6;

use std::net::IpAddr;
use std::sync::Arc;

use wire::{ethertype, EthernetAddress, EthernetFrame, PacketBuf};

pub use bind::Hop;
pub use config::{L3Config, PortL3};
pub use v6::solicited_node;

use crate::neigh::{Enqueued, NeighConfig, NeighTable, Probe};
use crate::stats::DropReason;

const ETH_LEN: usize = 14;
/// TTL / hop limit of packets the director originates (Linux's default `ip_default_ttl`).
const DEFAULT_TTL: u8 = 64;

/// An ICMP error rvs sends about a packet, in either family's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpError {
    /// No real server (IPVS's icmp_send port unreachable): v4 3/3, v6 1/4.
    PortUnreachable,
    /// TTL or hop limit exhausted: v4 11/0, v6 3/0.
    TimeExceeded,
    /// Too big for the next link (TUN): v4 3/4 with the MTU (RFC 1191), v6 packet too
    /// big (RFC 8201).
    TooBig { mtu: u16 },
}

/// Where the node puts packets. The worker implements it over its tx buffers and counters.
pub trait Io<P> {
    /// Transmit a complete frame out of `port`.
    fn tx(&mut self, port: u16, pkt: P);
    /// Drop a packet that arrived on (or was meant for) `port`, counting `reason`.
    fn drop(&mut self, port: u16, pkt: P, reason: DropReason);
    /// An empty packet buffer to build a frame in.
    fn alloc(&mut self) -> Option<P>;
    /// Count a drop where no packet exists (e.g. an allocation that failed).
    fn count_drop(&mut self, port: u16, reason: DropReason);
    /// A neighbour binding was learned here; other workers should know it too.
    fn neigh_learned(&mut self, _port: u16, _ip: IpAddr, _mac: EthernetAddress) {}
    /// An ICMP error was sent (`true`), or held back by the rate limit or because its
    /// addressee must not get one (`false`).
    fn icmp_error_counted(&mut self, _sent: bool) {}
    /// Hand a packet to worker `core`, which owns its connection.
    fn redirect(&mut self, _core: u8, port: u16, pkt: P) {
        self.drop(port, pkt, DropReason::RedirectFull);
    }
    /// Pass a frame that arrived on `port` up to the port's kernel twin (the exception
    /// path: rate-limited and queued by the worker, written to the twin off the workers).
    fn kernel(&mut self, port: u16, pkt: P) {
        self.drop(port, pkt, DropReason::KernelQueueFull);
    }
}

/// ICMP errors a worker may send per second, and in one burst: Linux's
/// net.ipv4.icmp_msgs_per_sec and icmp_msgs_burst (icmp_global_allow).
pub const ICMP_ERRORS_PER_SEC: u64 = 1000;
pub const ICMP_ERRORS_BURST: u64 = 50;

/// A token bucket refilled with the clock the worker passes in (ms).
#[derive(Debug)]
pub struct TokenBucket {
    per_sec: u64,
    burst: u64,
    tokens: u64,
    /// Time of the last refill, and the remainder (in token-milliseconds) it left.
    at: u64,
    carry: u64,
}

impl TokenBucket {
    pub fn new(per_sec: u64, burst: u64, now: u64) -> Self {
        TokenBucket { per_sec, burst, tokens: burst, at: now, carry: 0 }
    }

    pub fn take(&mut self, now: u64) -> bool {
        let credit = now.saturating_sub(self.at).saturating_mul(self.per_sec).saturating_add(self.carry);
        self.at = now.max(self.at);
        self.tokens = self.tokens.saturating_add(credit / 1000).min(self.burst);
        self.carry = if self.tokens == self.burst { 0 } else { credit % 1000 };
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

/// Addresses announced per tick after a configuration change (the rest wait a tick).
const ANNOUNCE_PER_TICK: usize = 64;

/// One worker's L3 state.
pub struct Node<P> {
    cfg: Arc<L3Config>,
    neigh: NeighTable<P>,
    icmp_budget: TokenBucket,
    /// Addresses that appeared in the last configuration, to announce at the next ticks.
    fresh: Vec<(u16, IpAddr)>,
    /// Real servers' resolved next hops, and the configuration generation they hold for.
    bindings: bind::Bindings,
    cfg_gen: u64,
    /// The last next hop [`Node::output`] resolved, its MAC and the neighbour-table
    /// generation it holds for: NAT replies to many clients go through one gateway.
    last_hop: Option<(IpAddr, EthernetAddress, u64)>,
}

impl<P: PacketBuf> Node<P> {
    pub fn new(cfg: Arc<L3Config>, neigh: NeighConfig) -> Self {
        Node {
            cfg,
            neigh: NeighTable::new(neigh),
            icmp_budget: TokenBucket::new(ICMP_ERRORS_PER_SEC, ICMP_ERRORS_BURST, 0),
            fresh: Vec::new(),
            bindings: bind::Bindings::new(),
            cfg_gen: 0,
            last_hop: None,
        }
    }

    /// Adopt a new configuration of the ports' addresses, VIPs and routes (published by
    /// the control thread; never per packet). From the next packet on, an address that
    /// went away is no longer answered for and a new one is; each new one is announced
    /// (gratuitous ARP, unsolicited advertisement) at the next ticks so neighbours' caches
    /// move to us at once, as Linux does when an address is added.
    pub fn set_config(&mut self, cfg: Arc<L3Config>) {
        for (i, p) in cfg.ports.iter().enumerate() {
            let old = self.cfg.ports.get(i);
            let v4 = p.all4().map(IpAddr::V4);
            let v6 = p.all6().map(IpAddr::V6);
            for a in v4.chain(v6) {
                let had = old.is_some_and(|o| match a {
                    IpAddr::V4(a) => o.all4().any(|x| x == a),
                    IpAddr::V6(a) => o.all6().any(|x| x == a),
                });
                if !had && !self.fresh.contains(&(i as u16, a)) {
                    self.fresh.push((i as u16, a));
                }
            }
        }
        self.cfg = cfg;
        self.cfg_gen += 1;
    }

    /// Change the ICMP error rate limit (errors per second, burst), as Linux's
    /// icmp_msgs_per_sec and icmp_msgs_burst sysctls. `u64::MAX` for both: unlimited
    /// (what the benchmark compares against).
    pub fn set_icmp_error_limit(&mut self, per_sec: u64, burst: u64) {
        self.icmp_budget = TokenBucket::new(per_sec, burst, self.icmp_budget.at);
    }

    pub fn config(&self) -> &L3Config {
        &self.cfg
    }

    /// The shared configuration itself (to tell whether a publication changed it).
    pub fn config_arc(&self) -> &Arc<L3Config> {
        &self.cfg
    }

    pub fn neighbours(&self) -> &NeighTable<P> {
        &self.neigh
    }

    /// Handle one received frame.
    pub fn input(&mut self, port: u16, pkt: P, now: u64, io: &mut impl Io<P>) {
        let (dst, ty) = match EthernetFrame::new_checked(pkt.data()) {
            Ok(f) => (f.dst_addr(), f.ethertype()),
            Err(_) => return io.drop(port, pkt, DropReason::Malformed),
        };
        if dst.is_unicast() && Some(dst) != self.cfg.mac(port) {
            return io.drop(port, pkt, DropReason::OtherHost);
        }
        match ty {
            ethertype::ARP => self.arp_input(port, pkt, now, io),
            ethertype::IPV4 => self.ipv4_input(port, pkt, io),
            ethertype::IPV6 => self.ipv6_input(port, pkt, now, io),
            _ => io.drop(port, pkt, DropReason::UnknownEthertype),
        }
    }

    /// Up to the kernel twin when it holds `dst`, else dropped for `reason` (what the
    /// data path does for a director without a twin).
    #[inline]
    pub(crate) fn up_or_drop(&self, port: u16, dst: IpAddr, pkt: P, reason: DropReason, io: &mut impl Io<P>) {
        if self.cfg.kernel_owns(dst) {
            io.kernel(port, pkt)
        } else {
            io.drop(port, pkt, reason)
        }
    }

    /// Send an IP packet (Ethernet header present, addresses to be filled) to `dst`
    /// along the routing table: now if the next hop is resolved, else once it is.
    pub fn output(&mut self, pkt: P, dst: impl Into<IpAddr>, now: u64, io: &mut impl Io<P>) {
        let Some(hop) = self.cfg.route(dst.into()) else {
            return io.drop(0, pkt, DropReason::NoRoute);
        };
        let gen = self.neigh.generation();
        if let Some((ip, mac, g)) = self.last_hop {
            if ip == hop.next_hop && g == gen {
                return self.send_to(hop.port, mac, pkt, io);
            }
        }
        match self.neigh.lookup(hop.next_hop) {
            Some(mac) => {
                self.last_hop = Some((hop.next_hop, mac, gen));
                self.send_to(hop.port, mac, pkt, io)
            }
            None => match self.neigh.enqueue(hop.port, hop.next_hop, pkt, now) {
                Enqueued::Queued { probe: true } => {
                    self.probe(Probe { port: hop.port, ip: hop.next_hop, mac: None }, io)
                }
                Enqueued::Queued { probe: false } => {}
                Enqueued::Refused(pkt, reason) => io.drop(hop.port, pkt, reason),
            },
        }
    }

    /// Where [`Node::output`] would send a packet for IPv4 `dst` when the next hop's MAC
    /// is the one last used (NAT replies to clients behind one gateway), else `None`.
    #[inline]
    pub(crate) fn cached_output4(&self, dst: [u8; 4]) -> Option<(u16, EthernetAddress)> {
        let hop = self.cfg.route(IpAddr::V4(dst.into()))?;
        let (ip, mac, g) = self.last_hop?;
        (ip == hop.next_hop && g == self.neigh.generation()).then_some((hop.port, mac))
    }

    /// Send `pkt` back out of `port` to the MAC it came from, from ours (an answer to
    /// its sender, as DPVS's SYN proxy sends its SYN-ACKs).
    #[inline]
    pub(crate) fn reflect(&self, port: u16, mut pkt: P, io: &mut impl Io<P>) {
        let Some(our_mac) = self.cfg.mac(port) else {
            return io.drop(port, pkt, DropReason::NoRoute);
        };
        match pkt.data_mut().get_mut(..12) {
            // A group source MAC is no sender's (IEEE 802: the I/G bit).
            Some(h) if h[6] & 1 == 0 => {
                h.copy_within(6..12, 0);
                h[6..12].copy_from_slice(&our_mac.0);
                io.tx(port, pkt)
            }
            _ => io.drop(port, pkt, DropReason::Malformed),
        }
    }

    pub(crate) fn send_to(&self, port: u16, mac: EthernetAddress, mut pkt: P, io: &mut impl Io<P>) {
        let Some(our_mac) = self.cfg.mac(port) else {
            return io.drop(port, pkt, DropReason::NoRoute);
        };
        // The two MAC addresses in place (every forwarded frame passes here).
        match pkt.data_mut().get_mut(..14) {
            Some(h) => {
                h[..6].copy_from_slice(&mac.0);
                h[6..12].copy_from_slice(&our_mac.0);
                io.tx(port, pkt)
            }
            None => io.drop(port, pkt, DropReason::Malformed),
        }
    }

    /// A binding learned here or by another worker: record it and release waiting packets.
    pub fn learn(
        &mut self,
        port: u16,
        ip: impl Into<IpAddr>,
        mac: EthernetAddress,
        create: bool,
        now: u64,
        io: &mut impl Io<P>,
    ) {
        let ip = ip.into();
        let Some((changed, waiting)) = self.neigh.learn(port, ip, mac, create, now) else { return };
        let our_mac = self.cfg.mac(port).unwrap_or_default();
        for mut pkt in waiting {
            if let Ok(mut eth) = EthernetFrame::new_checked(pkt.data_mut()) {
                eth.set_dst_addr(mac);
                eth.set_src_addr(our_mac);
            }
            io.tx(port, pkt);
        }
        if changed {
            io.neigh_learned(port, ip, mac);
        }
    }

    /// Send an ICMP or ICMPv6 error about the packet in `frame` (received on `port`) back
    /// to its sender. The source is the address it was sent to when that is ours (the
    /// VIP, as IPVS's icmp_send from LOCAL_IN), else our address on `port`. At most
    /// [`ICMP_ERRORS_PER_SEC`] a second per worker (bursts of [`ICMP_ERRORS_BURST`]), as
    /// Linux's icmp_global_allow, so a flood of spoofed packets is not amplified; never
    /// to a sender RFC 1122 3.2.2 / RFC 4443 2.4 forbid.
    pub fn icmp_error(&mut self, port: u16, frame: &[u8], err: IcmpError, now: u64, io: &mut impl Io<P>) {
        let v6 = EthernetFrame::new_checked(frame).is_ok_and(|e| e.ethertype() == ethertype::IPV6);
        let may = if v6 { self.may_answer_v6(frame) } else { self.may_answer_v4(frame) };
        if !may || !self.icmp_budget.take(now) {
            return io.icmp_error_counted(false);
        }
        let built = if v6 {
            self.icmpv6_error(port, frame, err, io).map(|(p, to)| (p, IpAddr::V6(to)))
        } else {
            self.icmpv4_error(port, frame, err, io).map(|(p, to)| (p, IpAddr::V4(to)))
        };
        let Some((pkt, to)) = built else { return io.icmp_error_counted(false) };
        io.icmp_error_counted(true);
        self.output(pkt, to, now, io);
    }

    /// Timers: neighbour retransmission, revalidation and expiry.
    pub fn tick(&mut self, now: u64, io: &mut impl Io<P>) {
        let mut probes = [None; 8];
        let mut n = 0;
        // Probes are collected first (bounded per tick) because sending one needs `io`
        // while the table is borrowed; the rest wait for the next tick.
        self.neigh.tick(
            now,
            |p| {
                if let Some(slot) = probes.get_mut(n) {
                    *slot = Some(p);
                    n += 1;
                }
            },
            |pkt| io.drop(0, pkt, DropReason::NeighUnresolved),
        );
        for p in probes.into_iter().flatten() {
            self.probe(p, io);
        }
        let n = self.fresh.len().min(ANNOUNCE_PER_TICK);
        let fresh: Vec<(u16, IpAddr)> = self.fresh.drain(..n).collect();
        for (port, a) in fresh {
            match a {
                IpAddr::V4(a) => self.garp(port, a, io),
                IpAddr::V6(a) => self.unsolicited_na(port, a, io),
            }
        }
    }

    fn probe(&self, p: Probe, io: &mut impl Io<P>) {
        match p.ip {
            IpAddr::V4(ip) => self.arp_probe(p.port, ip, p.mac, io),
            IpAddr::V6(ip) => self.ns_probe(p.port, ip, p.mac, io),
        }
    }

    /// Gratuitous ARP and unsolicited neighbour advertisements for every address and
    /// VIP, so upstream caches point at us at start.
    pub fn announce(&self, io: &mut impl Io<P>) {
        self.announce_v4(io);
        self.announce_v6(io);
    }
}
