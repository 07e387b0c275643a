//! ICMP and ICMPv6 errors that belong to a connection (ip_vs_in_icmp / ip_vs_out_icmp
//! and their _v6 twins): the quoted packet, which names the connection. The translation
//! for NAT is the transmitter's (`xmit::icmp`).

use std::net::IpAddr;

use wire::{icmpv4_type, icmpv6_type, ip_proto, Icmpv4Packet, Icmpv6Packet, Ipv6Packet};

use super::flow::{Flow, ETH_LEN};
use crate::addr::{Addr, Tuple};

/// The transport packet quoted by an ICMP error (RFC 792: IP header + at least 8 bytes;
/// RFC 4443: as much of the packet as fits).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Quote {
    pub v6: bool,
    pub proto: u8,
    pub src: Addr,
    pub dst: Addr,
    pub sport: u16,
    pub dport: u16,
    /// Offset of the quoted IP header in the frame.
    pub at: usize,
    /// Offset of the quoted transport header from the quoted IP header.
    pub l4: usize,
}

impl Quote {
    /// The quoted packet's flow seen from the other side: for a quote of VIP→client that
    /// is the client→VIP key; for a quote of client→RS, the RS→client reply key.
    pub fn reversed(&self) -> Tuple {
        Tuple { proto: self.proto, src: self.dst, sport: self.dport, dst: self.src, dport: self.sport }
    }
}

/// Whether the ICMP message's checksum is right (RFC 792; ICMPv6 over its pseudo
/// header, RFC 4443 2.3). IPVS drops a bad one before looking at the quote
/// (ip_vs_in_icmp: ip_vs_checksum_complete), so a corrupted error is never translated
/// and given a fresh, valid checksum.
pub(crate) fn checksum_ok(frame: &[u8], f: &Flow) -> bool {
    let Some(m) = frame.get(ETH_LEN + f.l4..ETH_LEN + f.ip_len) else { return false };
    match (f.src.to_ip(), f.dst.to_ip()) {
        (IpAddr::V6(s), IpAddr::V6(d)) if f.v6 => {
            Icmpv6Packet::new_checked(m).is_ok_and(|icmp| icmp.verify_checksum(&s, &d))
        }
        _ => Icmpv4Packet::new_checked(m).is_ok_and(|icmp| icmp.verify_checksum()),
    }
}

/// The quote of a destination-unreachable, packet-too-big, time-exceeded or
/// parameter-problem message about TCP or UDP.
pub(crate) fn parse(frame: &[u8], f: &Flow) -> Option<Quote> {
    let at_icmp = ETH_LEN + f.l4;
    let message = frame.get(at_icmp..ETH_LEN + f.ip_len)?;
    let ty = *message.first()?;
    let q = message.get(8..)?;
    let at = at_icmp + 8;
    let port = |at: usize| q.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    if f.v6 {
        if !matches!(
            ty,
            icmpv6_type::DST_UNREACHABLE
                | icmpv6_type::PACKET_TOO_BIG
                | icmpv6_type::TIME_EXCEEDED
                | icmpv6_type::PARAM_PROBLEM
        ) {
            return None;
        }
        let ip = Ipv6Packet::new_checked_truncated(q).ok()?;
        let up = ip.upper_layer().ok()?;
        if !matches!(up.protocol, ip_proto::TCP | ip_proto::UDP) || up.fragment.is_some_and(|f| f.offset != 0) {
            return None;
        }
        let l4 = up.offset;
        return Some(Quote {
            v6: true,
            proto: up.protocol,
            src: Addr::from(ip.src_addr()),
            dst: Addr::from(ip.dst_addr()),
            sport: port(l4)?,
            dport: port(l4 + 2)?,
            at,
            l4,
        });
    }
    if !matches!(ty, icmpv4_type::DST_UNREACHABLE | icmpv4_type::TIME_EXCEEDED | 12) {
        return None;
    }
    // Not new_checked: a quote is usually shorter than its own total length.
    let (&vihl, proto) = (q.first()?, *q.get(9)?);
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < 20 || !matches!(proto, ip_proto::TCP | ip_proto::UDP) {
        return None;
    }
    let addr = |at: usize| q.get(at..at + 4).map(|b| Addr::v4([b[0], b[1], b[2], b[3]]));
    Some(Quote {
        v6: false,
        proto,
        src: addr(12)?,
        dst: addr(16)?,
        sport: port(ihl)?,
        dport: port(ihl + 2)?,
        at,
        l4: ihl,
    })
}
