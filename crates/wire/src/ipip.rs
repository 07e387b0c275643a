//! IPv4-in-IPv4 encapsulation (RFC 2003), as LVS's TUN forwarding uses it: an outer
//! IPv4 header with protocol 4 in front of the client's unchanged packet.

use std::net::Ipv4Addr;

use crate::buf::{pop_outer_header, push_outer_header, PacketBuf};
use crate::ipv4::{Ipv4Packet, Ipv4Repr};
use crate::{ethertype, ip_proto};
use crate::{Error, Result};

/// Outer header parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpipEncap {
    /// Outer source: the director's tunnel address.
    pub src: Ipv4Addr,
    /// Outer destination: the real server.
    pub dst: Ipv4Addr,
    /// Outer TTL (RFC 2003 §3.1: the inner TTL is not decremented by the tunnel).
    pub ttl: u8,
    /// Outer identification.
    pub ident: u16,
}

/// Outer IPv4 header length written by this module (no options).
pub const OUTER_HEADER_LEN: usize = 20;

/// Write the 20-byte outer header into `outer` for the inner IPv4 packet `inner`
/// (which must be a valid IPv4 packet; only its header and total length are read).
/// Copies the inner DSCP/ECN (RFC 2003 §3.1 TOS copy; RFC 6040 §4.1 normal mode copies
/// ECN) and DF (RFC 2003 §3.1), sets protocol 4 and the header checksum.
pub fn write_outer_header(outer: &mut [u8], inner: &[u8], p: &IpipEncap) -> Result<()> {
    outer_repr(&Ipv4Packet::new_checked(inner)?, p)?.emit(&mut Ipv4Packet::new_unchecked(outer))
}

fn outer_repr(inner: &Ipv4Packet<&[u8]>, p: &IpipEncap) -> Result<Ipv4Repr> {
    let repr = Ipv4Repr {
        src_addr: p.src,
        dst_addr: p.dst,
        protocol: ip_proto::IPIP,
        payload_len: inner.total_len(),
        ttl: p.ttl,
        ident: p.ident,
        dont_frag: inner.dont_frag(),
        dscp_ecn: inner.dscp_ecn(),
    };
    if repr.buffer_len() > usize::from(u16::MAX) {
        return Err(Error::Malformed);
    }
    Ok(repr)
}

/// Encapsulate the IPv4 packet that starts `l3_offset` bytes into `buf` (0 for a bare
/// IP packet, 14 or 18 for an Ethernet frame): grows the buffer at the front by 20
/// bytes, moves the first `l3_offset` bytes (the L2 header, left for the caller to
/// rewrite but for its EtherType, set to IPv4) to the new front and writes the outer
/// header after them. Bytes after the inner total length (Ethernet padding) are
/// trimmed first. On error the buffer is unchanged.
pub fn encapsulate<B: PacketBuf + ?Sized>(buf: &mut B, l3_offset: usize, p: &IpipEncap) -> Result<()> {
    let repr = {
        let inner = buf.data().get(l3_offset..).ok_or(Error::Truncated)?;
        outer_repr(&Ipv4Packet::new_checked(inner)?, p)?
    };
    let len = usize::from(repr.payload_len);
    let data = push_outer_header(buf, l3_offset, len, OUTER_HEADER_LEN, ethertype::IPV4)?;
    repr.emit(&mut Ipv4Packet::new_unchecked(data))
}

/// Remove an IPIP outer header at `l3_offset`: checks it is a valid, unfragmented IPv4
/// packet with protocol 4 carrying a valid IPv4 header, moves the first `l3_offset` bytes
/// forward and drops the outer header (options included). Bytes past the outer total
/// length are trimmed. On error the buffer is unchanged.
pub fn decapsulate<B: PacketBuf + ?Sized>(buf: &mut B, l3_offset: usize) -> Result<()> {
    let (hl, total) = {
        let outer_bytes = buf.data().get(l3_offset..).ok_or(Error::Truncated)?;
        let outer = Ipv4Packet::new_checked(outer_bytes)?;
        if outer.protocol() != ip_proto::IPIP || outer.is_fragment() {
            return Err(Error::Malformed);
        }
        Ipv4Packet::new_checked(outer.payload())?;
        (outer.header_len(), usize::from(outer.total_len()))
    };
    pop_outer_header(buf, l3_offset, hl, total, ethertype::IPV4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VecBuf;

    #[test]
    fn encapsulate_refuses_without_headroom() {
        let mut inner = [0u8; 20];
        let mut ip = Ipv4Packet::new_unchecked(&mut inner[..]);
        ip.set_version_and_header_len(4, 20);
        ip.set_total_len(20);
        let p = IpipEncap { src: Ipv4Addr::LOCALHOST, dst: Ipv4Addr::LOCALHOST, ttl: 64, ident: 0 };
        let mut b = VecBuf::with_room(&inner, 19, 64);
        assert_eq!(encapsulate(&mut b, 0, &p), Err(Error::Truncated));
        assert_eq!(b.data(), &inner[..]);
        let mut b = VecBuf::with_room(&inner, 20, 64);
        assert_eq!(encapsulate(&mut b, 0, &p), Ok(()));
        assert_eq!(b.len(), 40);
        assert_eq!(decapsulate(&mut b, 0), Ok(()));
        assert_eq!(b.data(), &inner[..]);
        assert_eq!(decapsulate(&mut b, 0), Err(Error::Malformed));
    }
}
