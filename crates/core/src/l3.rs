//! The director's own IPv4 presence on its ports: answering ARP for its addresses and
//! VIPs, gratuitous ARP, ICMP echo, and sending packets to a next hop through the
//! neighbour table. Everything else is dropped with a reason.
//!
//! Generic over the packet buffer so the same code runs over DPDK mbufs in the worker
//! and over `VecBuf` in fixture tests.

use std::net::Ipv4Addr;
use std::sync::Arc;

use wire::{
    arp_op, checksum, ethertype, icmpv4_type, ip_proto, ArpPacket, EthernetAddress, EthernetFrame, Icmpv4Packet,
    Ipv4Packet, PacketBuf,
};

use crate::neigh::{Enqueued, NeighConfig, NeighTable, Probe};
use crate::route::{Ipv4Cidr, RouteTable};
use crate::stats::DropReason;

const ETH_LEN: usize = 14;
const ARP_FRAME_LEN: usize = ETH_LEN + 28;
/// TTL of packets the director originates (Linux's default `ip_default_ttl`).
const DEFAULT_TTL: u8 = 64;
/// Largest quote in an ICMP error: 576 bytes less the new IPv4 and ICMP headers.
const ICMP_QUOTE_MAX: usize = 576 - 20 - 8;

/// One port's addresses.
#[derive(Clone, Debug)]
pub struct PortL3 {
    pub mac: EthernetAddress,
    pub addrs: Vec<Ipv4Cidr>,
    /// VIPs announced and answered on this port.
    pub vips: Vec<Ipv4Addr>,
    /// Largest IPv4 packet the link carries (TUN checks it before encapsulating).
    pub mtu: u16,
}

/// The L3 configuration shared (read-only) by all workers.
#[derive(Clone, Debug, Default)]
pub struct L3Config {
    pub ports: Vec<PortL3>,
    /// Static routes; connected subnets of `ports` are added by [`L3Config::new`].
    pub routes: RouteTable,
}

impl L3Config {
    /// Ports plus static routes; adds each port address's subnet as a connected route.
    pub fn new(ports: Vec<PortL3>, mut routes: RouteTable) -> Self {
        for (i, p) in ports.iter().enumerate() {
            for a in &p.addrs {
                routes.add_connected(*a, i as u16);
            }
        }
        L3Config { ports, routes }
    }

    /// Whether `ip` is one of this port's own addresses or VIPs (ARP is answered per port).
    pub fn owns_on_port(&self, port: u16, ip: Ipv4Addr) -> bool {
        self.ports.get(usize::from(port)).is_some_and(|p| p.vips.contains(&ip) || p.addrs.iter().any(|a| a.addr == ip))
    }

    /// Whether `ip` is local on any port (weak host model, as Linux).
    pub fn is_local(&self, ip: Ipv4Addr) -> bool {
        (0..self.ports.len() as u16).any(|p| self.owns_on_port(p, ip))
    }

    /// [`L3Config::is_local`] for an address of either family (IPv6 is never local yet).
    pub fn is_local_addr(&self, a: crate::addr::Addr) -> bool {
        match a.to_ip() {
            std::net::IpAddr::V4(v4) => self.is_local(v4),
            std::net::IpAddr::V6(_) => false,
        }
    }

    /// Whether `ip` is on a subnet connected to `port`.
    fn on_link(&self, port: u16, ip: Ipv4Addr) -> bool {
        self.ports.get(usize::from(port)).is_some_and(|p| p.addrs.iter().any(|a| a.contains(ip)))
    }

    /// The director's address to source packets from towards `ip` out of `port`: the
    /// port address on `ip`'s subnet, else the port's first address.
    pub fn source_addr(&self, port: u16, ip: Ipv4Addr) -> Option<Ipv4Addr> {
        let p = self.ports.get(usize::from(port))?;
        p.addrs.iter().find(|a| a.contains(ip)).or(p.addrs.first()).map(|a| a.addr)
    }
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
    fn neigh_learned(&mut self, _port: u16, _ip: Ipv4Addr, _mac: EthernetAddress) {}
    /// An ICMP error was sent (`true`), or held back by the rate limit or because its
    /// addressee must not get one (`false`).
    fn icmp_error_counted(&mut self, _sent: bool) {}
    /// Hand a packet to worker `core`, which owns its connection.
    fn redirect(&mut self, _core: u8, port: u16, pkt: P) {
        self.drop(port, pkt, DropReason::RedirectFull);
    }
}

/// ICMP errors a worker may send per second, and in one burst: Linux's
/// net.ipv4.icmp_msgs_per_sec and icmp_msgs_burst (icmp_global_allow).
pub const ICMP_ERRORS_PER_SEC: u64 = 1000;
pub const ICMP_ERRORS_BURST: u64 = 50;

/// A token bucket refilled with the clock the worker passes in (ms).
#[derive(Debug)]
struct TokenBucket {
    per_sec: u64,
    burst: u64,
    tokens: u64,
    /// Time of the last refill, and the remainder (in token-milliseconds) it left.
    at: u64,
    carry: u64,
}

impl TokenBucket {
    fn new(per_sec: u64, burst: u64, now: u64) -> Self {
        TokenBucket { per_sec, burst, tokens: burst, at: now, carry: 0 }
    }

    fn take(&mut self, now: u64) -> bool {
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

/// One worker's L3 state.
pub struct Node<P> {
    cfg: Arc<L3Config>,
    neigh: NeighTable<P>,
    icmp_budget: TokenBucket,
}

impl<P: PacketBuf> Node<P> {
    pub fn new(cfg: Arc<L3Config>, neigh: NeighConfig) -> Self {
        Node {
            cfg,
            neigh: NeighTable::new(neigh),
            icmp_budget: TokenBucket::new(ICMP_ERRORS_PER_SEC, ICMP_ERRORS_BURST, 0),
        }
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

    pub fn neighbours(&self) -> &NeighTable<P> {
        &self.neigh
    }

    /// Handle one received frame.
    pub fn input(&mut self, port: u16, pkt: P, now: u64, io: &mut impl Io<P>) {
        let (dst, ty) = match EthernetFrame::new_checked(pkt.data()) {
            Ok(f) => (f.dst_addr(), f.ethertype()),
            Err(_) => return io.drop(port, pkt, DropReason::Malformed),
        };
        let mine = self.cfg.ports.get(usize::from(port)).map(|p| p.mac);
        if dst.is_unicast() && Some(dst) != mine {
            return io.drop(port, pkt, DropReason::OtherHost);
        }
        match ty {
            ethertype::ARP => self.arp_input(port, pkt, now, io),
            ethertype::IPV4 => self.ipv4_input(port, pkt, io),
            ethertype::IPV6 => io.drop(port, pkt, DropReason::Ipv6),
            _ => io.drop(port, pkt, DropReason::UnknownEthertype),
        }
    }

    fn arp_input(&mut self, port: u16, mut pkt: P, now: u64, io: &mut impl Io<P>) {
        let (op, sha, spa, tpa) = match ArpPacket::new_checked(pkt.data().get(ETH_LEN..).unwrap_or(&[])) {
            Ok(a) => (a.operation(), a.source_hardware_addr(), a.source_protocol_addr(), a.target_protocol_addr()),
            Err(_) => return io.drop(port, pkt, DropReason::Malformed),
        };
        let Some(our_mac) = self.cfg.ports.get(usize::from(port)).map(|p| p.mac) else {
            return io.drop(port, pkt, DropReason::ArpIgnored);
        };
        let for_us = self.cfg.owns_on_port(port, tpa);
        if sha.is_unicast() && sha != our_mac && self.cfg.on_link(port, spa) && !self.cfg.is_local(spa) {
            self.learn(port, spa, sha, for_us, now, io);
        }
        if op != arp_op::REQUEST || !for_us || spa == tpa {
            // Replies and gratuitous ARP have done their work by now (learned above).
            if !for_us && !self.cfg.on_link(port, spa) {
                io.drop(port, pkt, DropReason::ArpIgnored);
            }
            return;
        }
        // Turn the request into the reply in place (RFC 826).
        let data = pkt.data_mut();
        let mut eth = EthernetFrame::new_unchecked(&mut *data);
        eth.set_dst_addr(sha);
        eth.set_src_addr(our_mac);
        let mut arp = ArpPacket::new_unchecked(eth.payload_mut());
        arp.fill_ipv4_over_ethernet(arp_op::REPLY, our_mac, tpa, sha, spa);
        io.tx(port, pkt);
    }

    fn ipv4_input(&mut self, port: u16, mut pkt: P, io: &mut impl Io<P>) {
        let (dst, proto, header_len, fragment) = {
            let Ok(ip) = Ipv4Packet::new_checked(pkt.data().get(ETH_LEN..).unwrap_or(&[])) else {
                return io.drop(port, pkt, DropReason::Malformed);
            };
            if !ip.verify_checksum() {
                return io.drop(port, pkt, DropReason::BadChecksum);
            }
            (ip.dst_addr(), ip.protocol(), ip.header_len(), ip.is_fragment())
        };
        if !self.cfg.is_local(dst) {
            return io.drop(port, pkt, DropReason::NotLocal);
        }
        if fragment {
            return io.drop(port, pkt, DropReason::Fragment);
        }
        match proto {
            ip_proto::ICMP => {}
            ip_proto::TCP | ip_proto::UDP => return io.drop(port, pkt, DropReason::NoService),
            _ => return io.drop(port, pkt, DropReason::UnknownProtocol),
        }
        let l4 = ETH_LEN + header_len;
        let (ty, csum_ok) = match Icmpv4Packet::new_checked(ip_payload(pkt.data(), header_len)) {
            Ok(icmp) => (icmp.msg_type(), icmp.verify_checksum()),
            Err(_) => return io.drop(port, pkt, DropReason::Malformed),
        };
        if !csum_ok {
            return io.drop(port, pkt, DropReason::BadChecksum);
        }
        if ty != icmpv4_type::ECHO_REQUEST || l4 > pkt.len() {
            return io.drop(port, pkt, DropReason::IcmpIgnored);
        }
        let Some(our_mac) = self.cfg.ports.get(usize::from(port)).map(|p| p.mac) else {
            return io.drop(port, pkt, DropReason::IcmpIgnored);
        };
        // Echo reply in place: back to the neighbour it came from, which is how it reached
        // us; the ICMP checksum is adjusted for the type change only (RFC 1624).
        let data = pkt.data_mut();
        let mut eth = EthernetFrame::new_unchecked(&mut *data);
        let peer = eth.src_addr();
        eth.set_dst_addr(peer);
        eth.set_src_addr(our_mac);
        let mut ip = Ipv4Packet::new_unchecked(eth.payload_mut());
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        ip.set_src_addr(dst);
        ip.set_dst_addr(src);
        ip.set_ttl(DEFAULT_TTL);
        ip.fill_checksum();
        let mut icmp = Icmpv4Packet::new_unchecked(ip.payload_mut());
        let old = u16::from(icmpv4_type::ECHO_REQUEST) << 8 | u16::from(icmp.msg_code());
        let new = u16::from(icmpv4_type::ECHO_REPLY) << 8 | u16::from(icmp.msg_code());
        icmp.set_msg_type(icmpv4_type::ECHO_REPLY);
        icmp.set_checksum(checksum::update16(icmp.checksum(), old, new));
        io.tx(port, pkt);
    }

    /// Send an IPv4 packet (Ethernet header present, addresses to be filled) to `dst`
    /// along the routing table: now if the next hop is resolved, else once it is.
    pub fn output(&mut self, pkt: P, dst: Ipv4Addr, now: u64, io: &mut impl Io<P>) {
        let Some(hop) = self.cfg.routes.lookup(dst) else {
            return io.drop(0, pkt, DropReason::NoRoute);
        };
        match self.neigh.lookup(hop.next_hop) {
            Some(mac) => self.send_to(hop.port, mac, pkt, io),
            None => match self.neigh.enqueue(hop.port, hop.next_hop, pkt, now) {
                Enqueued::Queued { probe: true } => {
                    self.probe(Probe { port: hop.port, ip: hop.next_hop, mac: None }, io)
                }
                Enqueued::Queued { probe: false } => {}
                Enqueued::Refused(pkt, reason) => io.drop(hop.port, pkt, reason),
            },
        }
    }

    fn send_to(&self, port: u16, mac: EthernetAddress, mut pkt: P, io: &mut impl Io<P>) {
        let Some(our_mac) = self.cfg.ports.get(usize::from(port)).map(|p| p.mac) else {
            return io.drop(port, pkt, DropReason::NoRoute);
        };
        match EthernetFrame::new_checked(pkt.data_mut()) {
            Ok(mut eth) => {
                eth.set_dst_addr(mac);
                eth.set_src_addr(our_mac);
                io.tx(port, pkt)
            }
            Err(_) => io.drop(port, pkt, DropReason::Malformed),
        }
    }

    /// A binding learned here or by another worker: record it and release waiting packets.
    pub fn learn(
        &mut self,
        port: u16,
        ip: Ipv4Addr,
        mac: EthernetAddress,
        create: bool,
        now: u64,
        io: &mut impl Io<P>,
    ) {
        let Some((changed, waiting)) = self.neigh.learn(port, ip, mac, create, now) else { return };
        let our_mac = self.cfg.ports.get(usize::from(port)).map(|p| p.mac).unwrap_or_default();
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

    /// Whether an ICMP error about this packet may be sent at all (RFC 1122 3.2.2,
    /// RFC 1812 4.3.2.7): not about a link-layer or IP broadcast or multicast, not to a
    /// source that is not one unicast host, not about a later fragment or an ICMP error.
    fn may_answer(&self, frame: &[u8], orig: &Ipv4Packet<&[u8]>) -> bool {
        let l2_unicast = EthernetFrame::new_checked(frame).is_ok_and(|e| e.dst_addr().is_unicast());
        let (src, dst) = (orig.src_addr(), orig.dst_addr());
        let not_a_host = |ip: Ipv4Addr| {
            ip.is_unspecified()
                || ip.octets()[0] == 0
                || ip.is_loopback()
                || ip.is_multicast()
                || ip.octets()[0] >= 240
                || self.cfg.ports.iter().flat_map(|p| &p.addrs).any(|a| a.prefix_len < 31 && a.broadcast() == ip)
        };
        let icmp_error = orig.protocol() == ip_proto::ICMP
            && orig
                .payload()
                .first()
                .is_some_and(|&t| !matches!(t, icmpv4_type::ECHO_REQUEST | icmpv4_type::ECHO_REPLY));
        l2_unicast
            && !not_a_host(src)
            && !dst.is_multicast()
            && !dst.is_broadcast()
            && orig.frag_offset() == 0
            && !icmp_error
    }

    /// Send an ICMP error about the IPv4 packet in `frame` (received on `port`) back to
    /// its sender (RFC 792). The source is the address it was sent to when that is ours
    /// (the VIP, as IPVS's icmp_send from LOCAL_IN), else our address on `port`. The quote
    /// is as much of the packet as fits in 576 bytes (RFC 1812 4.3.2.3). At most
    /// [`ICMP_ERRORS_PER_SEC`] a second per worker (bursts of [`ICMP_ERRORS_BURST`]), as
    /// Linux's icmp_global_allow, so a flood of spoofed packets is not amplified.
    #[allow(clippy::too_many_arguments)]
    pub fn icmp_error(&mut self, port: u16, frame: &[u8], ty: u8, code: u8, rest: u32, now: u64, io: &mut impl Io<P>) {
        let Ok(orig) = Ipv4Packet::new_checked(frame.get(ETH_LEN..).unwrap_or(&[])) else { return };
        if !self.may_answer(frame, &orig) || !self.icmp_budget.take(now) {
            return io.icmp_error_counted(false);
        }
        let to = orig.src_addr();
        let from = if self.cfg.is_local(orig.dst_addr()) {
            orig.dst_addr()
        } else {
            match self.cfg.source_addr(port, to) {
                Some(a) => a,
                None => return io.icmp_error_counted(false),
            }
        };
        let quote = frame.get(ETH_LEN..ETH_LEN + usize::from(orig.total_len()).min(ICMP_QUOTE_MAX)).unwrap_or(&[]);
        let Some(mut pkt) = io.alloc() else { return io.count_drop(0, DropReason::NoMbuf) };
        let len = ETH_LEN + 20 + 8 + quote.len();
        let Some(buf) = pkt.append(len) else { return io.drop(0, pkt, DropReason::NoMbuf) };
        buf.fill(0);
        let mut eth = EthernetFrame::new_unchecked(&mut *buf);
        eth.set_ethertype(ethertype::IPV4);
        let mut ip = Ipv4Packet::new_unchecked(eth.payload_mut());
        ip.set_version_and_header_len(4, 20);
        ip.set_total_len((len - ETH_LEN) as u16);
        ip.set_ttl(DEFAULT_TTL);
        ip.set_protocol(ip_proto::ICMP);
        ip.set_src_addr(from);
        ip.set_dst_addr(to);
        ip.fill_checksum();
        let mut icmp = Icmpv4Packet::new_unchecked(ip.payload_mut());
        icmp.set_msg_type(ty);
        icmp.set_msg_code(code);
        icmp.set_rest_of_header(rest);
        icmp.data_mut().copy_from_slice(quote);
        icmp.fill_checksum();
        io.icmp_error_counted(true);
        self.output(pkt, to, now, io);
    }

    /// Timers: ARP retransmission, revalidation and expiry.
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
    }

    fn probe(&self, p: Probe, io: &mut impl Io<P>) {
        let Some(spa) = self.cfg.source_addr(p.port, p.ip) else { return };
        let tha = p.mac.unwrap_or_default();
        let dst = p.mac.unwrap_or(EthernetAddress::BROADCAST);
        self.send_arp(p.port, arp_op::REQUEST, dst, spa, tha, p.ip, io);
    }

    /// Gratuitous ARP for every address and VIP, so upstream caches point at us at start.
    pub fn announce(&self, io: &mut impl Io<P>) {
        for (i, p) in self.cfg.ports.iter().enumerate() {
            let ips = p.addrs.iter().map(|a| a.addr).chain(p.vips.iter().copied());
            for ip in ips {
                self.send_arp(
                    i as u16,
                    arp_op::REQUEST,
                    EthernetAddress::BROADCAST,
                    ip,
                    EthernetAddress::default(),
                    ip,
                    io,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_arp(
        &self,
        port: u16,
        op: u16,
        dst: EthernetAddress,
        spa: Ipv4Addr,
        tha: EthernetAddress,
        tpa: Ipv4Addr,
        io: &mut impl Io<P>,
    ) {
        let Some(mac) = self.cfg.ports.get(usize::from(port)).map(|p| p.mac) else { return };
        let Some(mut pkt) = io.alloc() else { return io.count_drop(port, DropReason::NoMbuf) };
        let Some(buf) = pkt.append(ARP_FRAME_LEN) else { return io.drop(port, pkt, DropReason::NoMbuf) };
        let mut eth = EthernetFrame::new_unchecked(buf);
        eth.set_dst_addr(dst);
        eth.set_src_addr(mac);
        eth.set_ethertype(ethertype::ARP);
        ArpPacket::new_unchecked(eth.payload_mut()).fill_ipv4_over_ethernet(op, mac, spa, tha, tpa);
        io.tx(port, pkt);
    }
}

fn ip_payload(frame: &[u8], header_len: usize) -> &[u8] {
    // Bounded by the IPv4 total length, not the frame (Ethernet pads short frames).
    let Ok(ip) = Ipv4Packet::new_checked(frame.get(ETH_LEN..).unwrap_or(&[])) else { return &[] };
    let total = usize::from(ip.total_len());
    frame.get(ETH_LEN + header_len..ETH_LEN + total).unwrap_or(&[])
}
