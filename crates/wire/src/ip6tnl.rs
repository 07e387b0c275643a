//! Generic packet tunnelling in IPv6 (RFC 2473), IPv6 in IPv6, as TUN forwarding to an
//! IPv6 real server uses it: an outer IPv6 header with next header 41 in front of the
//! client's unchanged packet. No Tunnel Encapsulation Limit option is sent (§4.1.1).

use std::net::Ipv6Addr;

use crate::buf::{pop_outer_header, push_outer_header, PacketBuf};
use crate::ipv6::{Ipv6Packet, Ipv6Repr};
use crate::{ethertype, ip_proto, Error, Result};

/// Outer header parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6TunnelEncap {
    /// Outer source: the director's tunnel address.
    pub src: Ipv6Addr,
    /// Outer destination: the real server.
    pub dst: Ipv6Addr,
    /// Outer hop limit (RFC 2473 §6.3: the tunnel's own; the inner one is untouched).
    pub hop_limit: u8,
    /// Outer flow label, 20 bits (RFC 6437 §5: a tunnel entry may set its own).
    pub flow_label: u32,
}

/// Outer IPv6 header length written by this module (no extension headers).
pub const OUTER_HEADER_LEN: usize = 40;

/// Encapsulate the IPv6 packet that starts `l3_offset` bytes into `buf` (0 for a bare
/// IP packet, 14 or 18 for an Ethernet frame), like [`ipip::encapsulate`](crate::ipip::encapsulate):
/// grows the front by 40 bytes, keeps the L2 header in front (EtherType set to IPv6) and
/// writes the outer header, with the inner traffic class copied (RFC 2473 §6.5; RFC 6040
/// §4.1 normal mode copies ECN). Padding after the inner packet is trimmed. On error
/// (`Malformed` for a flow label over 20 bits or an outer payload over 65535) the
/// buffer is unchanged.
pub fn encapsulate<B: PacketBuf + ?Sized>(buf: &mut B, l3_offset: usize, p: &Ipv6TunnelEncap) -> Result<()> {
    let repr = {
        let inner = Ipv6Packet::new_checked(buf.data().get(l3_offset..).ok_or(Error::Truncated)?)?;
        let len = Ipv6Packet::<&[u8]>::HEADER_LEN + usize::from(inner.payload_len());
        if p.flow_label > Ipv6Repr::FLOW_LABEL_MAX {
            return Err(Error::Malformed);
        }
        Ipv6Repr {
            src_addr: p.src,
            dst_addr: p.dst,
            next_header: ip_proto::IPV6,
            payload_len: u16::try_from(len).map_err(|_| Error::Malformed)?,
            hop_limit: p.hop_limit,
            traffic_class: inner.traffic_class(),
            flow_label: p.flow_label,
        }
    };
    let len = usize::from(repr.payload_len);
    let data = push_outer_header(buf, l3_offset, len, OUTER_HEADER_LEN, ethertype::IPV6)?;
    repr.emit(&mut Ipv6Packet::new_unchecked(data))
}

/// Remove an IPv6 tunnel header at `l3_offset`: the outer packet must be valid and lead,
/// past any extension headers but a Fragment header, to next header 41 and a valid
/// IPv6 packet. The L2 header moves forward (EtherType IPv6), the outer header and its
/// extension headers are dropped, bytes past the outer payload trimmed. On error the
/// buffer is unchanged.
pub fn decapsulate<B: PacketBuf + ?Sized>(buf: &mut B, l3_offset: usize) -> Result<()> {
    let (hl, total) = {
        let outer = Ipv6Packet::new_checked(buf.data().get(l3_offset..).ok_or(Error::Truncated)?)?;
        let (upper, inner) = outer.upper_layer_payload()?;
        if upper.protocol != ip_proto::IPV6 || upper.fragment.is_some() {
            return Err(Error::Malformed);
        }
        Ipv6Packet::new_checked(inner)?;
        (upper.offset, Ipv6Packet::<&[u8]>::HEADER_LEN + usize::from(outer.payload_len()))
    };
    pop_outer_header(buf, l3_offset, hl, total, ethertype::IPV6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VecBuf;

    #[test]
    fn refuses_without_headroom_and_round_trips() {
        let mut inner = [0u8; 40];
        let r = Ipv6Repr {
            src_addr: Ipv6Addr::LOCALHOST,
            dst_addr: Ipv6Addr::LOCALHOST,
            next_header: ip_proto::IPV6_NONXT,
            payload_len: 0,
            hop_limit: 64,
            traffic_class: 0x2a,
            flow_label: 1,
        };
        r.emit(&mut Ipv6Packet::new_unchecked(&mut inner[..])).unwrap();
        let p = Ipv6TunnelEncap { src: Ipv6Addr::LOCALHOST, dst: Ipv6Addr::LOCALHOST, hop_limit: 64, flow_label: 0 };
        let mut b = VecBuf::with_room(&inner, 39, 128);
        assert_eq!(encapsulate(&mut b, 0, &p), Err(Error::Truncated));
        assert_eq!(b.data(), &inner[..]);
        let wide = Ipv6TunnelEncap { flow_label: 1 << 20, ..p };
        let mut b = VecBuf::with_room(&inner, 40, 128);
        assert_eq!(encapsulate(&mut b, 0, &wide), Err(Error::Malformed));
        assert_eq!(encapsulate(&mut b, 0, &p), Ok(()));
        let outer = Ipv6Packet::new_checked(b.data()).unwrap();
        assert_eq!((outer.payload_len(), outer.next_header(), outer.traffic_class()), (40, 41, 0x2a));
        assert_eq!(decapsulate(&mut b, 0), Ok(()));
        assert_eq!(b.data(), &inner[..]);
        assert_eq!(decapsulate(&mut b, 0), Err(Error::Malformed));
    }
}
