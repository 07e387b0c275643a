//! NAT's translation of an ICMP error about one of its connections (ip_vs_nat_icmp,
//! ip_vs_nat_icmp_v6): the quoted packet's translated end and the outer address.

use std::net::{IpAddr, Ipv6Addr};

use wire::{checksum, ip_proto, Ipv4Packet, Ipv6Packet};

use super::super::flow::{Flow, ETH_LEN};
use super::super::icmp::Quote;
use super::nat::End;
use crate::addr::Addr;

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

/// Map the quoted TCP segment's sequence number with `map` (FullNAT: back into the
/// client's numbering, which the client checks against its window), patching the quoted
/// TCP checksum when quoted and the ICMP checksum (every word at an even offset).
pub(crate) fn quoted_seq(frame: &mut [u8], f: &Flow, q: &Quote, map: impl Fn(u32) -> u32) {
    if q.proto != ip_proto::TCP {
        return;
    }
    let end_of_ip = (ETH_LEN + f.ip_len).min(frame.len());
    let icmp_csum_at = ETH_LEN + f.l4 + 2;
    let seq_at = q.at + q.l4 + 4;
    let Some(b) = frame.get(seq_at..seq_at + 4).filter(|_| seq_at + 4 <= end_of_ip) else { return };
    let old = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let new = map(old);
    frame[seq_at..seq_at + 4].copy_from_slice(&new.to_be_bytes());
    let word = |b: &[u8], at: usize| b.get(at..at + 2).map(|w| u16::from_be_bytes([w[0], w[1]]));
    let Some(mut c) = word(frame, icmp_csum_at) else { return };
    c = checksum::update32(c, old, new);
    let tcp_csum_at = q.at + q.l4 + 16;
    if tcp_csum_at + 2 <= end_of_ip {
        if let Some(t) = word(frame, tcp_csum_at) {
            let n = checksum::update32(t, old, new);
            frame[tcp_csum_at..tcp_csum_at + 2].copy_from_slice(&n.to_be_bytes());
            c = checksum::update16(c, t, n);
        }
    }
    frame[icmp_csum_at..icmp_csum_at + 2].copy_from_slice(&c.to_be_bytes());
}
