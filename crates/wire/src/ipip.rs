//! IPv4-in-IPv4 encapsulation (RFC 2003), as LVS's TUN forwarding uses it: an outer
//! IPv4 header with protocol 4 in front of the client's unchanged packet.

use std::net::Ipv4Addr;

use crate::buf::PacketBuf;
use crate::ip_proto;
use crate::ipv4::Ipv4Packet;
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
    let inner = Ipv4Packet::new_checked(inner)?;
    let total = usize::from(inner.total_len()) + OUTER_HEADER_LEN;
    let total = u16::try_from(total).map_err(|_| Error::Malformed)?;
    let outer = outer.get_mut(..OUTER_HEADER_LEN).ok_or(Error::Truncated)?;
    let mut o = Ipv4Packet::new_unchecked(outer);
    o.set_version_and_header_len(4, OUTER_HEADER_LEN);
    o.set_dscp_ecn(inner.dscp_ecn());
    o.set_total_len(total);
    o.set_ident(p.ident);
    o.set_flags_and_frag_offset(inner.dont_frag(), false, 0);
    o.set_ttl(p.ttl);
    o.set_protocol(ip_proto::IPIP);
    o.set_src_addr(p.src);
    o.set_dst_addr(p.dst);
    o.fill_checksum();
    Ok(())
}

/// Encapsulate the IPv4 packet that starts `l3_offset` bytes into `buf` (0 for a bare
/// IP packet, 14 or 18 for an Ethernet frame): grows the buffer at the front by 20
/// bytes, moves the first `l3_offset` bytes (the L2 header, left for the caller to
/// rewrite) to the new front and writes the outer header after them. Bytes after the
/// inner total length (Ethernet padding) are trimmed first. On error the buffer is
/// unchanged.
pub fn encapsulate<B: PacketBuf + ?Sized>(buf: &mut B, l3_offset: usize, p: &IpipEncap) -> Result<()> {
    let inner_len = {
        let inner = buf.data().get(l3_offset..).ok_or(Error::Truncated)?;
        let ip = Ipv4Packet::new_checked(inner)?;
        if usize::from(ip.total_len()) + OUTER_HEADER_LEN > usize::from(u16::MAX) {
            return Err(Error::Malformed);
        }
        usize::from(ip.total_len())
    };
    let pad = buf.len() - l3_offset - inner_len;
    if buf.headroom() < OUTER_HEADER_LEN {
        return Err(Error::Truncated);
    }
    if !buf.trim(pad) {
        return Err(Error::Truncated);
    }
    let data = buf.prepend(OUTER_HEADER_LEN).ok_or(Error::Truncated)?;
    data.copy_within(OUTER_HEADER_LEN..OUTER_HEADER_LEN + l3_offset, 0);
    let (outer, inner) = data[l3_offset..].split_at_mut(OUTER_HEADER_LEN);
    write_outer_header(outer, inner, p)
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
    let pad = buf.len() - l3_offset - total;
    if !buf.trim(pad) {
        return Err(Error::Truncated);
    }
    buf.data_mut().copy_within(0..l3_offset, hl);
    if !buf.adj(hl) {
        return Err(Error::Truncated);
    }
    Ok(())
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
