//! ICMP and ICMPv6 errors that belong to a connection (ip_vs_in_icmp / ip_vs_out_icmp
//! and their _v6 twins): find the connection from the quoted packet and translate quote
//! and outer header for NAT.

use std::net::{IpAddr, Ipv6Addr};

use wire::{checksum, icmpv4_type, icmpv6_type, ip_proto, Icmpv4Packet, Icmpv6Packet, Ipv4Packet, Ipv6Packet};

use super::flow::{Flow, ETH_LEN};
use super::xmit::End;
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

/// Translate an ICMP error for NAT: the quoted packet's `end` becomes `addr:port`, and the
/// outer source or destination becomes `outer`. Every checksum is patched (RFC 1624), not
/// recomputed, so a message that arrived intact leaves intact: the quoted IP header's
/// (IPv4) and transport checksum (when quoted) for the quote's change, the ICMP checksum
/// for every 16-bit word changed inside it (all at even offsets from the ICMP header)
/// and, for ICMPv6, for the outer address in its pseudo header too; the outer IPv4
/// header for its address.
pub(crate) fn translate(frame: &mut [u8], f: &Flow, q: &Quote, end: End, addr: Addr, port: u16, outer: Addr) {
    let end_of_ip = (ETH_LEN + f.ip_len).min(frame.len());
    let Some(quote) = frame.get_mut(q.at..end_of_ip) else { return };
    let (addr_len, src_at, dst_at, ip_csum_at) = if q.v6 { (16, 8, 24, None) } else { (4, 12, 16, Some(10)) };
    let (addr_at, port_at, old_addr, old_port) = match end {
        End::Src => (src_at, q.l4, q.src, q.sport),
        End::Dst => (dst_at, q.l4 + 2, q.dst, q.dport),
    };
    if quote.len() < q.l4 + 4 {
        return;
    }
    let word = |b: &[u8], at: usize| b.get(at..at + 2).map(|w| u16::from_be_bytes([w[0], w[1]]));
    // Patch a checksum for the address change, in the family's width.
    let patch_addr = |c: u16, old: Addr, new: Addr| {
        if q.v6 {
            checksum::update_ipv6_addr(c, &Ipv6Addr::from(old.0), &Ipv6Addr::from(new.0))
        } else {
            checksum::update32(c, old.words()[3], new.words()[3])
        }
    };
    let mut changes: [Option<(u16, u16)>; 2] = [None; 2];
    let new_bytes = if q.v6 { &addr.0[..] } else { &addr.0[12..] };
    quote[addr_at..addr_at + addr_len].copy_from_slice(new_bytes);
    quote[port_at..port_at + 2].copy_from_slice(&port.to_be_bytes());
    if let Some(at) = ip_csum_at {
        if let Some(c) = word(quote, at) {
            let n = patch_addr(c, old_addr, addr);
            quote[at..at + 2].copy_from_slice(&n.to_be_bytes());
            changes[0] = Some((c, n));
        }
    }
    // The quoted transport checksum, when the quote reaches it (UDP's 0 means none).
    let csum_at = q.l4 + if q.proto == ip_proto::TCP { 16 } else { 6 };
    if let Some(c) = word(quote, csum_at) {
        if !(q.proto == ip_proto::UDP && c == 0) {
            let n = checksum::update16(patch_addr(c, old_addr, addr), old_port, port);
            quote[csum_at..csum_at + 2].copy_from_slice(&n.to_be_bytes());
            changes[1] = Some((c, n));
        }
    }
    let Some(l3) = frame.get_mut(ETH_LEN..end_of_ip) else { return };
    // The quote's source was translated (a reply quoted by a router on the client's
    // side): the error goes on to the real server. Its destination was translated (our
    // packet quoted by the real server): the error goes to the client, from the VIP.
    let (old_outer, icmp_csum_at) = match (outer.to_ip(), q.v6) {
        (IpAddr::V6(new), true) => {
            let mut ip = Ipv6Packet::new_unchecked(&mut *l3);
            let old = if end == End::Src { ip.dst_addr() } else { ip.src_addr() };
            if end == End::Src {
                ip.set_dst_addr(new);
            } else {
                ip.set_src_addr(new);
            }
            (Some(Addr::from(old)), f.l4 + 2)
        }
        (IpAddr::V4(new), false) => {
            let mut ip = Ipv4Packet::new_unchecked(&mut *l3);
            if end == End::Src {
                ip.rewrite_dst_addr(new);
            } else {
                ip.rewrite_src_addr(new);
            }
            // ICMPv4's checksum has no pseudo header.
            (None, f.l4 + 2)
        }
        _ => return,
    };
    let Some(mut c) = word(l3, icmp_csum_at) else { return };
    if let Some(old) = old_outer {
        c = patch_addr(c, old, outer);
    }
    c = checksum::update16(patch_addr(c, old_addr, addr), old_port, port);
    for (o, n) in changes.into_iter().flatten() {
        c = checksum::update16(c, o, n);
    }
    l3[icmp_csum_at..icmp_csum_at + 2].copy_from_slice(&c.to_be_bytes());
}
