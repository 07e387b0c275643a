//! The node's IPv4 half: ARP (answer for our addresses and VIPs, learn, probe,
//! gratuitous), ICMP echo, and the ICMP errors rvs sends.

use std::net::{IpAddr, Ipv4Addr};

use wire::{
    arp_op, checksum, ethertype, icmpv4, icmpv4_type, ip_proto, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame,
    EthernetRepr, Icmpv4Packet, Icmpv4Repr, Ipv4Packet, Ipv4Repr, PacketBuf,
};

use super::{IcmpError, Io, Node, DEFAULT_TTL, ETH_LEN};
use crate::stats::DropReason;

impl<P: PacketBuf> Node<P> {
    pub(super) fn arp_input(&mut self, port: u16, mut pkt: P, now: u64, io: &mut impl Io<P>) {
        let (op, sha, spa, tpa) = match ArpPacket::new_checked(pkt.data().get(ETH_LEN..).unwrap_or(&[])) {
            Ok(a) => (a.operation(), a.source_hardware_addr(), a.source_protocol_addr(), a.target_protocol_addr()),
            Err(_) => return io.drop(port, pkt, DropReason::Malformed),
        };
        let Some(our_mac) = self.cfg.mac(port) else {
            return io.drop(port, pkt, DropReason::ArpIgnored);
        };
        let for_us = self.cfg.owns_on_port(port, tpa);
        if sha.is_unicast() && sha != our_mac && self.cfg.on_link(port, spa) && !self.cfg.is_local(spa) {
            self.learn(port, spa, sha, for_us, now, io);
        }
        if op != arp_op::REQUEST || !for_us || spa == tpa {
            // Replies and gratuitous ARP have done their work by now (learned above). A
            // reply to one of our addresses may answer the kernel twin's own request: it
            // goes up too, so the kernel resolves its neighbours as on any Ethernet.
            if op == arp_op::REPLY && for_us && self.cfg.has_kernel(port) {
                return io.kernel(port, pkt);
            }
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

    pub(super) fn ipv4_input(&mut self, port: u16, mut pkt: P, io: &mut impl Io<P>) {
        let (dst, proto, header_len, total, fragment) = {
            let Ok(ip) = Ipv4Packet::new_checked(pkt.data().get(ETH_LEN..).unwrap_or(&[])) else {
                return io.drop(port, pkt, DropReason::Malformed);
            };
            if !ip.verify_checksum() {
                return io.drop(port, pkt, DropReason::BadChecksum);
            }
            (ip.dst_addr(), ip.protocol(), ip.header_len(), usize::from(ip.total_len()), ip.is_fragment())
        };
        let to = IpAddr::V4(dst);
        if !self.cfg.is_local(dst) {
            // Multicast and broadcast are the kernel's (VRRP's 224.0.0.18, IPVS sync's
            // 224.0.0.81); the director is not a router for the rest.
            if (dst.is_multicast() || dst.is_broadcast() || self.cfg.is_broadcast(port, dst))
                && self.cfg.has_kernel(port)
            {
                return io.kernel(port, pkt);
            }
            return io.drop(port, pkt, DropReason::NotLocal);
        }
        if fragment {
            // The kernel reassembles what is its own; the data path never does.
            return self.up_or_drop(port, to, pkt, DropReason::Fragment, io);
        }
        match proto {
            ip_proto::ICMP => {}
            ip_proto::TCP | ip_proto::UDP => return self.up_or_drop(port, to, pkt, DropReason::NoService, io),
            _ => return self.up_or_drop(port, to, pkt, DropReason::UnknownProtocol, io),
        }
        // Bounded by the IPv4 total length, not the frame (Ethernet pads short frames).
        let message = pkt.data().get(ETH_LEN + header_len..ETH_LEN + total).unwrap_or(&[]);
        let (ty, csum_ok) = match Icmpv4Packet::new_checked(message) {
            Ok(icmp) => (icmp.msg_type(), icmp.verify_checksum()),
            Err(_) => return io.drop(port, pkt, DropReason::Malformed),
        };
        if !csum_ok {
            return io.drop(port, pkt, DropReason::BadChecksum);
        }
        // With a twin, ICMP to the kernel's addresses is the kernel's (echo included:
        // ping answers as Linux does, and replies and errors reach its own sockets).
        if ty != icmpv4_type::ECHO_REQUEST || self.cfg.kernel_owns(to) {
            return self.up_or_drop(port, to, pkt, DropReason::IcmpIgnored, io);
        }
        let Some(our_mac) = self.cfg.mac(port) else {
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

    /// Whether an ICMP error about this packet may be sent at all (RFC 1122 3.2.2,
    /// RFC 1812 4.3.2.7): not about a link-layer or IP broadcast or multicast, not to a
    /// source that is not one unicast host, not about a later fragment or an ICMP error.
    pub(super) fn may_answer_v4(&self, frame: &[u8]) -> bool {
        let l2_unicast = EthernetFrame::new_checked(frame).is_ok_and(|e| e.dst_addr().is_unicast());
        let Ok(orig) = Ipv4Packet::new_checked(frame.get(ETH_LEN..).unwrap_or(&[])) else { return false };
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

    /// An ICMPv4 error about the packet in `frame`, ready for [`Node::output`], with its
    /// destination; `None` when none may be sent. The quote is as much of the packet as
    /// fits in 576 bytes (RFC 1812 4.3.2.3).
    pub(super) fn icmpv4_error(
        &mut self,
        port: u16,
        frame: &[u8],
        err: IcmpError,
        io: &mut impl Io<P>,
    ) -> Option<(P, Ipv4Addr)> {
        let orig = Ipv4Packet::new_checked(frame.get(ETH_LEN..).unwrap_or(&[])).ok()?;
        let to = orig.src_addr();
        let from = if self.cfg.is_local(orig.dst_addr()) { orig.dst_addr() } else { self.cfg.source_addr(port, to)? };
        let quote = icmpv4::error_quote(frame.get(ETH_LEN..ETH_LEN + usize::from(orig.total_len())).unwrap_or(&[]));
        let icmp = match err {
            IcmpError::PortUnreachable => Icmpv4Repr::DstUnreachable { code: 3, next_hop_mtu: 0, quote },
            IcmpError::TooBig { mtu } => Icmpv4Repr::DstUnreachable { code: 4, next_hop_mtu: mtu, quote },
            IcmpError::TimeExceeded => Icmpv4Repr::TimeExceeded { code: 0, quote },
        };
        let ip = Ipv4Repr {
            src_addr: from,
            dst_addr: to,
            protocol: ip_proto::ICMP,
            payload_len: icmp.buffer_len() as u16,
            ttl: DEFAULT_TTL,
            ident: 0,
            dont_frag: false,
            dscp_ecn: 0,
        };
        // Ethernet addresses are filled in by output.
        let eth = EthernetRepr {
            src_addr: EthernetAddress::default(),
            dst_addr: EthernetAddress::default(),
            ethertype: ethertype::IPV4,
        };
        let Some(mut pkt) = io.alloc() else {
            io.count_drop(port, DropReason::NoMbuf);
            return None;
        };
        match wire::frame::emit_icmpv4_frame(&mut pkt, &eth, &ip, &icmp) {
            Ok(_) => Some((pkt, to)),
            Err(_) => {
                io.drop(port, pkt, DropReason::NoMbuf);
                None
            }
        }
    }

    /// An ARP request for `ip` out of `port`: broadcast, or unicast to `mac` when
    /// revalidating a cached entry (RFC 1122 2.3.2.1).
    pub(super) fn arp_probe(&self, port: u16, ip: Ipv4Addr, mac: Option<EthernetAddress>, io: &mut impl Io<P>) {
        let Some(spa) = self.cfg.source_addr(port, ip) else { return };
        let dst = mac.unwrap_or(EthernetAddress::BROADCAST);
        self.send_arp(port, arp_op::REQUEST, dst, spa, mac.unwrap_or_default(), ip, io);
    }

    /// Gratuitous ARP for every address and VIP of every port.
    pub(super) fn announce_v4(&self, io: &mut impl Io<P>) {
        for (i, p) in self.cfg.ports.iter().enumerate() {
            for ip in p.all4() {
                self.garp(i as u16, ip, io);
            }
        }
    }

    /// A gratuitous ARP request for `ip` (RFC 5227 3: an announcement).
    pub(super) fn garp(&self, port: u16, ip: Ipv4Addr, io: &mut impl Io<P>) {
        let (b, z) = (EthernetAddress::BROADCAST, EthernetAddress::default());
        self.send_arp(port, arp_op::REQUEST, b, ip, z, ip, io);
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
        let Some(mac) = self.cfg.mac(port) else { return };
        let Some(mut pkt) = io.alloc() else { return io.count_drop(port, DropReason::NoMbuf) };
        let eth = EthernetRepr { src_addr: mac, dst_addr: dst, ethertype: ethertype::ARP };
        let arp = ArpRepr {
            operation: op,
            source_hardware_addr: mac,
            source_protocol_addr: spa,
            target_hardware_addr: tha,
            target_protocol_addr: tpa,
        };
        match wire::frame::emit_arp_frame(&mut pkt, &eth, &arp) {
            Ok(_) => io.tx(port, pkt),
            Err(_) => io.drop(port, pkt, DropReason::NoMbuf),
        }
    }
}
