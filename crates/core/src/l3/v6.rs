//! The node's IPv6 half: Neighbor Discovery (RFC 4861: answer solicitations for our
//! addresses and VIPs, learn from advertisements, solicit, announce), ICMPv6 echo, and
//! the ICMPv6 errors rvs sends (RFC 4443).

use std::net::{IpAddr, Ipv6Addr};

use wire::{
    checksum, ethertype, icmpv6, icmpv6_type, ip_proto, EthernetAddress, EthernetFrame, EthernetRepr, Icmpv6Packet,
    Icmpv6Repr, Ipv6Packet, Ipv6Repr, PacketBuf,
};

use super::{IcmpError, Io, Node, DEFAULT_TTL, ETH_LEN};
use crate::stats::DropReason;

/// NDP messages are sent, and only accepted, with hop limit 255 (RFC 4861 7.1.1).
const NDP_HOP_LIMIT: u8 = 255;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// ff02::1:ffXX:XXXX for `a` (RFC 4291 2.7.1).
pub fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, o[13], o[14], o[15]])
}

/// The Ethernet group address of an IPv6 multicast address (RFC 2464 7).
fn multicast_mac(a: Ipv6Addr) -> EthernetAddress {
    let o = a.octets();
    EthernetAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

impl<P: PacketBuf> Node<P> {
    /// Whether `dst` is addressed to this port: one of its addresses, the all-nodes
    /// group, or the solicited-node group of one of its addresses or VIPs.
    fn accepts6(&self, port: u16, dst: Ipv6Addr) -> bool {
        let Some(p) = self.cfg.ports.get(usize::from(port)).filter(|p| p.has_ipv6()) else { return false };
        if self.cfg.owns6_on_port(port, dst) || dst == ALL_NODES {
            return true;
        }
        let mine = p.all6().chain([p.link_local()]);
        dst.segments()[0] == 0xff02 && mine.into_iter().any(|a| solicited_node(a) == dst)
    }

    pub(super) fn ipv6_input(&mut self, port: u16, pkt: P, now: u64, io: &mut impl Io<P>) {
        let parsed = Ipv6Packet::new_checked(pkt.data().get(ETH_LEN..).unwrap_or(&[])).and_then(|ip| {
            let (up, _) = ip.upper_layer_payload()?;
            Ok((
                ip.src_addr(),
                ip.dst_addr(),
                ip.hop_limit(),
                up,
                Ipv6Packet::<&[u8]>::HEADER_LEN + usize::from(ip.payload_len()),
            ))
        });
        let Ok((src, dst, hop_limit, up, total)) = parsed else {
            return io.drop(port, pkt, DropReason::Malformed);
        };
        let to = IpAddr::V6(dst);
        let twin = self.cfg.has_kernel(port);
        if !self.accepts6(port, dst) {
            // Other groups (MLD's, VRRP's ff02::12, the twin's own solicited-node
            // groups) are the kernel's.
            if dst.is_multicast() && twin {
                return io.kernel(port, pkt);
            }
            return io.drop(
                port,
                pkt,
                if self.cfg.is_local6(dst) { DropReason::NdpIgnored } else { DropReason::NotLocal },
            );
        }
        if up.fragment.is_some() {
            return self.up_or_drop(port, to, pkt, DropReason::Fragment, io);
        }
        match up.protocol {
            ip_proto::ICMPV6 => {}
            ip_proto::TCP | ip_proto::UDP => return self.up_or_drop(port, to, pkt, DropReason::NoService, io),
            _ => return self.up_or_drop(port, to, pkt, DropReason::UnknownProtocol, io),
        }
        let message = pkt.data().get(ETH_LEN + up.offset..ETH_LEN + total).unwrap_or(&[]);
        let Ok(icmp) = Icmpv6Packet::new_checked(message) else {
            return io.drop(port, pkt, DropReason::Malformed);
        };
        if !icmp.verify_checksum(&src, &dst) {
            return io.drop(port, pkt, DropReason::BadChecksum);
        }
        let eth_src = EthernetFrame::new_checked(pkt.data()).map(|e| e.src_addr()).unwrap_or_default();
        match Icmpv6Repr::parse(&src, &dst, &icmp) {
            Ok(Icmpv6Repr::NeighborSolicit { target, source_lladdr }) if hop_limit == NDP_HOP_LIMIT => {
                if !self.cfg.owns6_on_port(port, target) {
                    return io.drop(port, pkt, DropReason::NdpIgnored);
                }
                // RFC 4861 7.2.3: the solicitor's link-layer option creates or updates
                // its entry (not from the unspecified address: duplicate address detection).
                if let Some(mac) = source_lladdr.filter(|_| !src.is_unspecified()) {
                    self.learn(port, src, mac, true, now, io);
                }
                drop(pkt);
                // A DAD probe is answered to all nodes, unsolicited (RFC 4861 7.2.4).
                let (to, solicited) = if src.is_unspecified() { (ALL_NODES, false) } else { (src, true) };
                let mac = if solicited { source_lladdr.unwrap_or(eth_src) } else { multicast_mac(ALL_NODES) };
                self.send_na(port, target, to, mac, solicited, io);
            }
            Ok(Icmpv6Repr::NeighborAdvert { solicited, target, target_lladdr, .. }) if hop_limit == NDP_HOP_LIMIT => {
                // Only an entry being resolved or held is updated (RFC 4861 7.2.5). The
                // solicitation may have been another worker's (the answer lands on the
                // queue RSS picks): a solicited answer to our address on this port, for
                // an on-link target, creates the entry, as an ARP reply to us does.
                let answer = solicited && self.cfg.owns6_on_port(port, dst) && self.cfg.on_link6(port, target);
                if let Some(mac) = target_lladdr.filter(|m| m.is_unicast()) {
                    self.learn(port, target, mac, answer, now, io);
                }
                // It may answer the kernel twin's own solicitation.
                if twin {
                    return io.kernel(port, pkt);
                }
                io.drop(port, pkt, DropReason::NdpIgnored);
            }
            Ok(Icmpv6Repr::EchoRequest { .. })
                if (self.cfg.owns6_on_port(port, dst) || self.cfg.is_local6(dst)) && !self.cfg.kernel_owns(to) =>
            {
                self.echo6_reply(port, pkt, up.offset, io)
            }
            // Echo to the kernel's addresses, replies and errors for its sockets, router
            // advertisements, MLD: the kernel's.
            Ok(_) if twin && (dst.is_multicast() || self.cfg.kernel_owns(to)) => io.kernel(port, pkt),
            Ok(_) => io.drop(port, pkt, DropReason::IcmpIgnored),
            Err(_) => io.drop(port, pkt, DropReason::Malformed),
        }
    }

    /// Echo reply in place (RFC 4443 4.2): addresses swapped (the pseudo-header sum is
    /// unchanged), the type changed with an incremental checksum update.
    fn echo6_reply(&self, port: u16, mut pkt: P, icmp_at: usize, io: &mut impl Io<P>) {
        let Some(our_mac) = self.cfg.mac(port) else { return io.drop(port, pkt, DropReason::IcmpIgnored) };
        let data = pkt.data_mut();
        let mut eth = EthernetFrame::new_unchecked(&mut *data);
        let peer = eth.src_addr();
        eth.set_dst_addr(peer);
        eth.set_src_addr(our_mac);
        let mut ip = Ipv6Packet::new_unchecked(eth.payload_mut());
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        ip.set_src_addr(dst);
        ip.set_dst_addr(src);
        ip.set_hop_limit(DEFAULT_TTL);
        if let Some(m) = pkt.data_mut().get_mut(ETH_LEN + icmp_at..) {
            let mut icmp = Icmpv6Packet::new_unchecked(m);
            let old = u16::from(icmpv6_type::ECHO_REQUEST) << 8 | u16::from(icmp.msg_code());
            let new = u16::from(icmpv6_type::ECHO_REPLY) << 8 | u16::from(icmp.msg_code());
            icmp.set_msg_type(icmpv6_type::ECHO_REPLY);
            icmp.set_checksum(checksum::update16(icmp.checksum(), old, new));
        }
        io.tx(port, pkt);
    }

    /// A Neighbor Advertisement for `target` (ours) to `to` at `mac`, override set: rvsd
    /// owns the address (RFC 4861 7.2.4).
    fn send_na(
        &self,
        port: u16,
        target: Ipv6Addr,
        to: Ipv6Addr,
        mac: EthernetAddress,
        solicited: bool,
        io: &mut impl Io<P>,
    ) {
        let Some(our_mac) = self.cfg.mac(port) else { return };
        let icmp = Icmpv6Repr::NeighborAdvert {
            router: false,
            solicited,
            override_: true,
            target,
            target_lladdr: Some(our_mac),
        };
        self.send_ndp(port, target, to, mac, &icmp, io);
    }

    fn send_ndp(
        &self,
        port: u16,
        from: Ipv6Addr,
        to: Ipv6Addr,
        mac: EthernetAddress,
        icmp: &Icmpv6Repr,
        io: &mut impl Io<P>,
    ) {
        let Some(our_mac) = self.cfg.mac(port) else { return };
        let Some(mut pkt) = io.alloc() else { return io.count_drop(port, DropReason::NoMbuf) };
        let eth = EthernetRepr { src_addr: our_mac, dst_addr: mac, ethertype: ethertype::IPV6 };
        let ip = Ipv6Repr {
            src_addr: from,
            dst_addr: to,
            next_header: ip_proto::ICMPV6,
            payload_len: icmp.buffer_len() as u16,
            hop_limit: NDP_HOP_LIMIT,
            traffic_class: 0,
            flow_label: 0,
        };
        match wire::frame::emit_icmpv6_frame(&mut pkt, &eth, &ip, icmp) {
            Ok(_) => io.tx(port, pkt),
            Err(_) => io.drop(port, pkt, DropReason::NoMbuf),
        }
    }

    /// A Neighbor Solicitation for `ip` out of `port`: to its solicited-node group, or
    /// unicast to `mac` when revalidating (RFC 4861 7.2.2, 7.3.3).
    pub(super) fn ns_probe(&self, port: u16, ip: Ipv6Addr, mac: Option<EthernetAddress>, io: &mut impl Io<P>) {
        let (Some(src), Some(our_mac)) = (self.cfg.source_addr6(port, ip), self.cfg.mac(port)) else { return };
        let (to, dst_mac) = match mac {
            Some(m) => (ip, m),
            None => (solicited_node(ip), multicast_mac(solicited_node(ip))),
        };
        let ns = Icmpv6Repr::NeighborSolicit { target: ip, source_lladdr: Some(our_mac) };
        self.send_ndp(port, src, to, dst_mac, &ns, io);
    }

    /// Unsolicited advertisements (override set) for every IPv6 address and VIP of every
    /// port, so neighbours' caches point at us at start (RFC 4861 7.2.6).
    pub(super) fn announce_v6(&self, io: &mut impl Io<P>) {
        for (i, p) in self.cfg.ports.iter().enumerate().filter(|(_, p)| p.has_ipv6()) {
            for ip in p.all6().chain([p.link_local()]) {
                self.unsolicited_na(i as u16, ip, io);
            }
        }
    }

    /// An unsolicited advertisement of `ip` to all nodes, override set.
    pub(super) fn unsolicited_na(&self, port: u16, ip: Ipv6Addr, io: &mut impl Io<P>) {
        self.send_na(port, ip, ALL_NODES, multicast_mac(ALL_NODES), false, io);
    }

    /// RFC 4443 2.4 (e): no error about an error, nor to or about a multicast or
    /// unspecified address, nor about a frame sent to a link-layer group.
    pub(super) fn may_answer_v6(&self, frame: &[u8]) -> bool {
        let l2_unicast = EthernetFrame::new_checked(frame).is_ok_and(|e| e.dst_addr().is_unicast());
        let Ok(orig) = Ipv6Packet::new_checked(frame.get(ETH_LEN..).unwrap_or(&[])) else { return false };
        let (src, dst) = (orig.src_addr(), orig.dst_addr());
        let not_a_host = src.is_unspecified() || src.is_loopback() || src.is_multicast();
        let icmp_error = orig.upper_layer_payload().is_ok_and(|(u, l4)| {
            u.protocol == ip_proto::ICMPV6 && l4.first().is_some_and(|&t| t < icmpv6_type::ECHO_REQUEST)
        });
        let later_fragment = orig.upper_layer().is_ok_and(|u| u.fragment.is_some_and(|f| f.offset != 0));
        l2_unicast && !not_a_host && !dst.is_multicast() && !icmp_error && !later_fragment
    }

    /// An ICMPv6 error about the packet in `frame`, ready for [`Node::output`], with its
    /// destination; `None` when none may be sent. The quote fills the minimum MTU.
    pub(super) fn icmpv6_error(
        &mut self,
        port: u16,
        frame: &[u8],
        err: IcmpError,
        io: &mut impl Io<P>,
    ) -> Option<(P, Ipv6Addr)> {
        let orig = Ipv6Packet::new_checked(frame.get(ETH_LEN..).unwrap_or(&[])).ok()?;
        let to = orig.src_addr();
        let from =
            if self.cfg.is_local6(orig.dst_addr()) { orig.dst_addr() } else { self.cfg.source_addr6(port, to)? };
        let len = Ipv6Packet::<&[u8]>::HEADER_LEN + usize::from(orig.payload_len());
        let quote = icmpv6::error_quote(frame.get(ETH_LEN..ETH_LEN + len).unwrap_or(&[]));
        let icmp = match err {
            IcmpError::PortUnreachable => {
                Icmpv6Repr::DstUnreachable { code: wire::icmpv6_code::PORT_UNREACHABLE, quote }
            }
            IcmpError::TooBig { mtu } => Icmpv6Repr::PacketTooBig { mtu: u32::from(mtu), quote },
            IcmpError::TimeExceeded => Icmpv6Repr::TimeExceeded { code: 0, quote },
        };
        let ip = Ipv6Repr {
            src_addr: from,
            dst_addr: to,
            next_header: ip_proto::ICMPV6,
            payload_len: icmp.buffer_len() as u16,
            hop_limit: DEFAULT_TTL,
            traffic_class: 0,
            flow_label: 0,
        };
        let eth = EthernetRepr {
            src_addr: EthernetAddress::default(),
            dst_addr: EthernetAddress::default(),
            ethertype: ethertype::IPV6,
        };
        let Some(mut pkt) = io.alloc() else {
            io.count_drop(port, DropReason::NoMbuf);
            return None;
        };
        match wire::frame::emit_icmpv6_frame(&mut pkt, &eth, &ip, &icmp) {
            Ok(_) => Some((pkt, to)),
            Err(_) => {
                io.drop(port, pkt, DropReason::NoMbuf);
                None
            }
        }
    }
}
