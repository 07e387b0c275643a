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
/// outer source or destination becomes `outer`. Checksums: the quoted IP header and the
/// quoted transport checksum (if quoted) incrementally, the ICMP message in full, the
/// outer header incrementally.
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
    quote[addr_at..addr_at + 4].copy_from_slice(&addr.octets());
    quote[port_at..port_at + 2].copy_from_slice(&port.to_be_bytes());
    let ip_csum = u16::from_be_bytes([quote[10], quote[11]]);
    let ip_csum = checksum::update_ipv4_addr(ip_csum, &old_addr, &addr);
    quote[10..12].copy_from_slice(&ip_csum.to_be_bytes());
    // The quoted transport checksum, when the quote reaches it.
    let csum_at = ihl + if q.proto == ip_proto::TCP { 16 } else { 6 };
    if let Some(c) = quote.get(csum_at..csum_at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])) {
        if !(q.proto == ip_proto::UDP && c == 0) {
            let c = checksum::update32(c, u32::from(old_addr), u32::from(addr));
            let c = checksum::update16(c, old_port, port);
            quote[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
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
    icmp.fill_checksum();
}
