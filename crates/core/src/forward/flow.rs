//! The fields of an Ethernet/IPv4 TCP or UDP frame the forwarder needs, read once.

use std::net::Ipv4Addr;

use wire::{ethertype, ip_proto, EthernetFrame, Ipv4Packet};

use crate::addr::{Addr, Tuple};

pub(crate) const ETH_LEN: usize = 14;

/// Where a packet sits in its datagram (RFC 791 fragmentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frag {
    /// A whole datagram.
    Whole,
    /// Offset 0 with more to come: carries the transport header, so it is classified
    /// like a whole datagram.
    First,
    /// Offset > 0: no transport header; follows its first fragment by IP id.
    Later,
}

/// A parsed IPv4 packet of a transport flow (or an ICMP message).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flow {
    pub proto: u8,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// 0 for a later fragment (no transport header).
    pub sport: u16,
    pub dport: u16,
    pub tcp_flags: u8,
    /// IPv4 header length in bytes.
    pub ihl: usize,
    /// IPv4 total length.
    pub total_len: usize,
    pub dont_frag: bool,
    pub ttl: u8,
    pub ident: u16,
    pub frag: Frag,
}

impl Flow {
    /// `None` for anything the L3 node should see instead: not IPv4, a bad header
    /// checksum, a truncated transport header, another protocol.
    #[inline]
    pub fn parse(frame: &[u8]) -> Option<Flow> {
        let eth = EthernetFrame::new_checked(frame).ok()?;
        if eth.ethertype() != ethertype::IPV4 {
            return None;
        }
        let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
        if !ip.verify_checksum() {
            return None;
        }
        let frag = match (ip.frag_offset(), ip.more_frags()) {
            (0, false) => Frag::Whole,
            (0, true) => Frag::First,
            _ => Frag::Later,
        };
        let l4 = ip.payload();
        let port = |at: usize| l4.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let (sport, dport, tcp_flags) = match ip.protocol() {
            ip_proto::TCP | ip_proto::UDP if frag == Frag::Later => (0, 0, 0),
            ip_proto::TCP if l4.len() >= 20 => (port(0)?, port(2)?, *l4.get(13)?),
            ip_proto::UDP if l4.len() >= 8 => (port(0)?, port(2)?, 0),
            // ICMP errors are never fragmented in practice; a fragment of one is the L3
            // node's to drop.
            ip_proto::ICMP if l4.len() >= 8 && frag == Frag::Whole => (0, 0, 0),
            _ => return None,
        };
        Some(Flow {
            proto: ip.protocol(),
            src: ip.src_addr(),
            dst: ip.dst_addr(),
            sport,
            dport,
            tcp_flags,
            ihl: ip.header_len(),
            total_len: usize::from(ip.total_len()),
            dont_frag: ip.dont_frag(),
            ttl: ip.ttl(),
            ident: ip.ident(),
            frag,
        })
    }

    pub fn tuple(&self) -> Tuple {
        Tuple {
            proto: self.proto,
            src: Addr::from(self.src),
            sport: self.sport,
            dst: Addr::from(self.dst),
            dport: self.dport,
        }
    }
}
