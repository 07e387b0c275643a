//! ICMP errors that belong to a connection (ip_vs_in_icmp / ip_vs_out_icmp): find the
//! connection from the quoted packet and translate quote and outer header for NAT.

use std::net::Ipv4Addr;

use wire::{checksum, icmpv4_type, ip_proto, Icmpv4Packet, Ipv4Packet};

use super::flow::{Flow, ETH_LEN};
use super::xmit::End;
use crate::addr::{Addr, Tuple};

/// The transport packet quoted by an ICMP error (RFC 792: IP header + at least 8 bytes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Quote {
    pub proto: u8,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    /// Offset of the quoted IPv4 header in the frame.
    pub at: usize,
    pub ihl: usize,
}

impl Quote {
    /// The quoted packet's flow seen from the other side: for a quote of VIP→client that
    /// is the client→VIP key; for a quote of client→RS, the RS→client reply key.
    pub fn reversed(&self) -> Tuple {
        Tuple {
            proto: self.proto,
            src: Addr::from(self.dst),
            sport: self.dport,
            dst: Addr::from(self.src),
            dport: self.sport,
        }
    }
}

/// Whether the ICMP message's checksum is right (RFC 792). IPVS drops a bad one before
/// looking at the quote (ip_vs_in_icmp: ip_vs_checksum_complete), so a corrupted error
/// is never translated and given a fresh, valid checksum.
pub(crate) fn checksum_ok(frame: &[u8], f: &Flow) -> bool {
    frame
        .get(ETH_LEN + f.ihl..ETH_LEN + f.total_len)
        .and_then(|m| Icmpv4Packet::new_checked(m).ok())
        .is_some_and(|icmp| icmp.verify_checksum())
}

/// The quote of an ICMP destination-unreachable, time-exceeded or parameter-problem
/// message about TCP or UDP.
pub(crate) fn parse(frame: &[u8], f: &Flow) -> Option<Quote> {
    let at_icmp = ETH_LEN + f.ihl;
    let icmp = Icmpv4Packet::new_checked(frame.get(at_icmp..ETH_LEN + f.total_len)?).ok()?;
    match icmp.msg_type() {
        icmpv4_type::DST_UNREACHABLE | icmpv4_type::TIME_EXCEEDED | 12 => {}
        _ => return None,
    }
    let q = icmp.data();
    // Not new_checked: a quote is usually shorter than its own total length.
    let (&vihl, proto) = (q.first()?, *q.get(9)?);
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < 20 || !matches!(proto, ip_proto::TCP | ip_proto::UDP) {
        return None;
    }
    let addr = |at: usize| q.get(at..at + 4).map(|b| Ipv4Addr::new(b[0], b[1], b[2], b[3]));
    let port = |at: usize| q.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    Some(Quote {
        proto,
        src: addr(12)?,
        dst: addr(16)?,
        sport: port(ihl)?,
        dport: port(ihl + 2)?,
        at: at_icmp + Icmpv4Packet::<&[u8]>::HEADER_LEN,
        ihl,
    })
}

/// Translate an ICMP error for NAT: the quoted packet's `end` becomes `addr:port`, and the
/// outer source or destination becomes `outer`. Every checksum is patched (RFC 1624), not
/// recomputed, so a message that arrived intact leaves intact: the quoted IP header's and
/// transport checksum (when quoted) for the quote's change, the ICMP checksum for every
/// 16-bit word changed inside it (all at even offsets from the ICMP header), the outer
/// header for its address.
pub(crate) fn translate(frame: &mut [u8], f: &Flow, q: &Quote, end: End, addr: Ipv4Addr, port: u16, outer: Ipv4Addr) {
    let (at, ihl) = (q.at, q.ihl);
    let end_of_ip = (ETH_LEN + f.total_len).min(frame.len());
    let Some(quote) = frame.get_mut(at..end_of_ip) else { return };
    let (addr_at, port_at, old_addr, old_port) = match end {
        End::Src => (12, ihl, q.src, q.sport),
        End::Dst => (16, ihl + 2, q.dst, q.dport),
    };
    if quote.len() < ihl + 4 {
        return;
    }
    let word = |b: &[u8], at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
    let (old_a, new_a) = (u32::from(old_addr), u32::from(addr));
    let old_ip_csum = word(quote, 10);
    quote[addr_at..addr_at + 4].copy_from_slice(&addr.octets());
    quote[port_at..port_at + 2].copy_from_slice(&port.to_be_bytes());
    let ip_csum = checksum::update32(old_ip_csum, old_a, new_a);
    quote[10..12].copy_from_slice(&ip_csum.to_be_bytes());
    // The quoted transport checksum, when the quote reaches it (UDP's 0 means none).
    let csum_at = ihl + if q.proto == ip_proto::TCP { 16 } else { 6 };
    let mut l4_change = None;
    if let Some(c) = quote.get(csum_at..csum_at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])) {
        if !(q.proto == ip_proto::UDP && c == 0) {
            let n = checksum::update16(checksum::update32(c, old_a, new_a), old_port, port);
            quote[csum_at..csum_at + 2].copy_from_slice(&n.to_be_bytes());
            l4_change = Some((c, n));
        }
    }
    let Some(l3) = frame.get_mut(ETH_LEN..end_of_ip) else { return };
    let mut ip = Ipv4Packet::new_unchecked(l3);
    match end {
        // The quote's source was translated (a reply quoted by a router on the client's
        // side): the error goes on to the real server.
        End::Src => ip.rewrite_dst_addr(outer),
        // The quote's destination was translated (our packet quoted by the real server):
        // the error goes to the client, from the VIP.
        End::Dst => ip.rewrite_src_addr(outer),
    };
    let mut icmp = Icmpv4Packet::new_unchecked(ip.payload_mut());
    let mut icmp_csum = checksum::update32(icmp.checksum(), old_a, new_a);
    icmp_csum = checksum::update16(icmp_csum, old_port, port);
    icmp_csum = checksum::update16(icmp_csum, old_ip_csum, ip_csum);
    if let Some((o, n)) = l4_change {
        icmp_csum = checksum::update16(icmp_csum, o, n);
    }
    icmp.set_checksum(icmp_csum);
}
