//! NAT's in-place rewrites (ip_vs_nat_xmit, handle_response): address and port
//! translation with incremental checksum updates (RFC 1624), for IPv4 and IPv6, and the
//! TTL or hop limit every forwarded packet loses.

use std::net::Ipv6Addr;

use wire::{checksum, ip_proto, Ipv6Packet};

use super::super::flow::{Flow, Frag, ETH_LEN};
use crate::addr::Addr;

/// Which end of the packet a NAT rewrite changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// NAT in (ip_vs_nat_xmit): VIP:vport becomes RS:rport.
    Dst,
    /// NAT out (handle_response): RS:rport becomes VIP:vport.
    Src,
}

/// Rewrite one end's address and port; checksums are patched, not recomputed. `f` must
/// describe `frame` (lengths were checked by [`Flow::parse`]). A later fragment has no
/// transport header: only its address changes (the first fragment carried the
/// checksum, which covers the whole datagram).
pub(crate) fn nat(frame: &mut [u8], f: &Flow, end: End, addr: Addr, port: u16) {
    if !f.v6 {
        if addr.is_v4() {
            nat4(frame, f, end, [addr.0[12], addr.0[13], addr.0[14], addr.0[15]], port);
        }
        return;
    }
    if addr.is_v4() {
        return;
    }
    let Some(l3) = frame.get_mut(ETH_LEN..) else { return };
    let new = Ipv6Addr::from(addr.0);
    let mut ip = Ipv6Packet::new_unchecked(l3);
    let old = match end {
        End::Dst => ip.dst_addr(),
        End::Src => ip.src_addr(),
    };
    match end {
        End::Dst => ip.set_dst_addr(new),
        End::Src => ip.set_src_addr(new),
    }
    if f.frag != Frag::Later {
        transport6(l3_of(frame), f, end, &old, &new, port);
    }
}

/// The IPv4 rewrite on the header's bytes: address and header checksum, then (unless a
/// later fragment) the port and the TCP or UDP checksum, whose pseudo header holds the
/// address; RFC 1624 updates throughout. A UDP checksum of 0 (none, RFC 768) stays 0.
#[inline]
fn nat4(frame: &mut [u8], f: &Flow, end: End, new: [u8; 4], port: u16) {
    let Some(ip) = frame.get_mut(ETH_LEN..ETH_LEN + 20) else { return };
    let at = if end == End::Dst { 16 } else { 12 };
    let old = u32::from_be_bytes([ip[at], ip[at + 1], ip[at + 2], ip[at + 3]]);
    let newv = u32::from_be_bytes(new);
    let c = checksum::update32(u16::from_be_bytes([ip[10], ip[11]]), old, newv);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip[at..at + 4].copy_from_slice(&new);
    if f.frag == Frag::Later {
        return;
    }
    let (csum_at, udp) = match f.proto {
        ip_proto::TCP => (16, false),
        ip_proto::UDP => (6, true),
        _ => return,
    };
    let Some(l4) = frame.get_mut(ETH_LEN + f.l4..ETH_LEN + f.l4 + 18) else {
        // Only a UDP header may be this short (8 bytes): TCP's 20 were checked in parse.
        if let Some(l4) = frame.get_mut(ETH_LEN + f.l4..ETH_LEN + f.l4 + 8) {
            ports_and_checksum(l4, csum_at, udp, end, old, newv, port);
        }
        return;
    };
    ports_and_checksum(l4, csum_at, udp, end, old, newv, port);
}

/// The TTL decrement and, for NAT, one end's address and port, with one RFC 1624 update
/// of the header checksum: what [`decrement_ttl`] then [`nat`] do, in fewer steps (the
/// fast path's; one's-complement sums are associative). `f`: TCP or UDP behind a 20-byte
/// header, TTL above 1.
#[inline]
pub(crate) fn ttl_nat4(frame: &mut [u8], f: &Flow, nat: Option<(End, [u8; 4], u16)>) {
    let w = |b: &[u8], at: usize| b.get(at..at + 2).map_or(0, |x| u16::from_be_bytes([x[0], x[1]]));
    let Some(ip) = frame.get_mut(ETH_LEN..ETH_LEN + 20) else { return };
    let ttl_old = w(ip, 8);
    ip[8] = ip[8].saturating_sub(1);
    let mut sum = u64::from(!w(ip, 10)) + u64::from(!ttl_old) + u64::from(w(ip, 8));
    let Some((end, new, port)) = nat else {
        ip[10..12].copy_from_slice(&(!checksum::fold(sum)).to_be_bytes());
        return;
    };
    let at = if end == End::Dst { 16 } else { 12 };
    let old = u32::from_be_bytes([ip[at], ip[at + 1], ip[at + 2], ip[at + 3]]);
    let newv = u32::from_be_bytes(new);
    sum += u64::from(!(old >> 16) as u16) + u64::from(!(old as u16)) + u64::from(newv >> 16) + u64::from(newv as u16);
    ip[10..12].copy_from_slice(&(!checksum::fold(sum)).to_be_bytes());
    ip[at..at + 4].copy_from_slice(&new);
    let (csum_at, udp, len) = if f.proto == ip_proto::UDP { (6, true, 8) } else { (16, false, 18) };
    if let Some(l4) = frame.get_mut(ETH_LEN + 20..ETH_LEN + 20 + len) {
        ports_and_checksum(l4, csum_at, udp, end, old, newv, port);
    }
}

#[inline]
fn ports_and_checksum(l4: &mut [u8], csum_at: usize, udp: bool, end: End, old: u32, new: u32, port: u16) {
    let port_at = if end == End::Dst { 2 } else { 0 };
    let (Some(p), Some(c)) = (l4.get(port_at..port_at + 2), l4.get(csum_at..csum_at + 2)) else { return };
    let old_port = u16::from_be_bytes([p[0], p[1]]);
    let c = u16::from_be_bytes([c[0], c[1]]);
    if !(udp && c == 0) {
        let n = checksum::update16(checksum::update32(c, old, new), old_port, port);
        let n = if udp && n == 0 { 0xffff } else { n };
        if let Some(w) = l4.get_mut(csum_at..csum_at + 2) {
            w.copy_from_slice(&n.to_be_bytes());
        }
    }
    if let Some(w) = l4.get_mut(port_at..port_at + 2) {
        w.copy_from_slice(&port.to_be_bytes());
    }
}

fn l3_of(frame: &mut [u8]) -> &mut [u8] {
    frame.get_mut(ETH_LEN..).unwrap_or_default()
}

/// The TCP/UDP header behind IPv6: ports and the checksum, whose pseudo header holds
/// the changed address (RFC 8200 8.1; no IP header checksum in IPv6).
fn transport6(l3: &mut [u8], f: &Flow, end: End, old: &Ipv6Addr, new: &Ipv6Addr, port: u16) {
    let Some(l4) = l3.get_mut(f.l4..) else { return };
    let csum_at = match f.proto {
        ip_proto::TCP => 16,
        ip_proto::UDP => 6,
        _ => return,
    };
    let port_at = if end == End::Dst { 2 } else { 0 };
    let word = |b: &[u8], at: usize| b.get(at..at + 2).map(|w| u16::from_be_bytes([w[0], w[1]]));
    let (Some(old_port), Some(c)) = (word(l4, port_at), word(l4, csum_at)) else { return };
    let c = checksum::update16(checksum::update_ipv6_addr(c, old, new), old_port, port);
    l4[port_at..port_at + 2].copy_from_slice(&port.to_be_bytes());
    l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
}

/// RFC 1812 5.3.1 / RFC 8200 3: a forwarded packet loses one TTL or hop limit (the
/// IPv4 header checksum patched). IPVS does it in every forwarding method since Linux
/// 4.11 (decrement_ttl in ip_vs_xmit.c); the caller has checked it is above 1.
pub(crate) fn decrement_ttl(frame: &mut [u8], f: &Flow) {
    if f.v6 {
        if let Some(h) = frame.get_mut(ETH_LEN + 7) {
            *h = h.saturating_sub(1);
        }
        return;
    }
    // TTL shares a 16-bit word with the protocol (RFC 1624 section 4's example).
    let Some(ip) = frame.get_mut(ETH_LEN..ETH_LEN + 20) else { return };
    if ip[8] == 0 {
        return;
    }
    let old = u16::from_be_bytes([ip[8], ip[9]]);
    ip[8] -= 1;
    let c = checksum::update16(u16::from_be_bytes([ip[10], ip[11]]), old, u16::from_be_bytes([ip[8], ip[9]]));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}
