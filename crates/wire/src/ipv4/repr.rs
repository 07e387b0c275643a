//! [`Ipv4Repr`]: the fields of an option-less IPv4 header, parsed and emitted whole.

use std::net::Ipv4Addr;

use super::Ipv4Packet;
use crate::{Error, Result};

/// An IPv4 header without options, of an unfragmented datagram (smoltcp's `Ipv4Repr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload (see [`ip_proto`](crate::ip_proto)).
    pub protocol: u8,
    /// Payload length in bytes (total length less the header).
    pub payload_len: u16,
    /// Time to live.
    pub ttl: u8,
    /// Identification (RFC 6864: any value for an atomic datagram).
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// DSCP and ECN, the former TOS byte (RFC 2474, RFC 3168).
    pub dscp_ecn: u8,
}

impl Ipv4Repr {
    /// Read a whole datagram's header: the checks of [`Ipv4Packet::new_checked`], a
    /// right header checksum, and no fragment (MF or offset: `Malformed`). Options are
    /// skipped (not part of the repr); `payload_len` is total length less header length.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv4Packet<&T>) -> Result<Self> {
        let p = Ipv4Packet::new_checked(packet.buffer.as_ref())?;
        if !p.verify_checksum() || p.is_fragment() {
            return Err(Error::Malformed);
        }
        Ok(Ipv4Repr {
            src_addr: p.src_addr(),
            dst_addr: p.dst_addr(),
            protocol: p.protocol(),
            payload_len: p.total_len() - p.header_len() as u16,
            ttl: p.ttl(),
            ident: p.ident(),
            dont_frag: p.dont_frag(),
            dscp_ecn: p.dscp_ecn(),
        })
    }

    /// Bytes of header [`emit`](Self::emit) writes: 20.
    pub const fn header_len(&self) -> usize {
        Ipv4Packet::<&[u8]>::MIN_HEADER_LEN
    }

    /// Header and payload.
    pub const fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len as usize
    }

    /// Write the 20-byte header (fragment offset 0, MF clear, checksum filled) at the
    /// front of `packet`; the payload is the caller's. `Err(Truncated)` under 20 bytes,
    /// `Err(Malformed)` if 20 + payload_len exceeds 65535 (RFC 791 total length).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) -> Result<()> {
        let hl = self.header_len();
        let total = u16::try_from(self.buffer_len()).map_err(|_| Error::Malformed)?;
        let header = packet.buffer.as_mut().get_mut(..hl).ok_or(Error::Truncated)?;
        let mut p = Ipv4Packet::new_unchecked(header);
        p.set_version_and_header_len(4, hl);
        p.set_dscp_ecn(self.dscp_ecn);
        p.set_total_len(total);
        p.set_ident(self.ident);
        p.set_flags_and_frag_offset(self.dont_frag, false, 0);
        p.set_ttl(self.ttl);
        p.set_protocol(self.protocol);
        p.set_src_addr(self.src_addr);
        p.set_dst_addr(self.dst_addr);
        p.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip_proto;

    fn repr() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 1),
            dst_addr: Ipv4Addr::new(10, 0, 0, 2),
            protocol: ip_proto::UDP,
            payload_len: 4,
            ttl: 64,
            ident: 7,
            dont_frag: true,
            dscp_ecn: 0xb8,
        }
    }

    #[test]
    fn emit_checks_lengths_and_parse_refuses_fragments_and_bad_sums() {
        let r = repr();
        let mut b = [0u8; 24];
        assert_eq!(r.emit(&mut Ipv4Packet::new_unchecked(&mut b[..19])), Err(Error::Truncated));
        r.emit(&mut Ipv4Packet::new_unchecked(&mut b[..])).unwrap();
        assert_eq!(Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&b[..])), Ok(r));
        assert_eq!(Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&b[..23])), Err(Error::Truncated));
        let big = Ipv4Repr { payload_len: 65516, ..r };
        assert_eq!(big.emit(&mut Ipv4Packet::new_unchecked(&mut b[..])), Err(Error::Malformed));
        let mut bad = b;
        bad[8] ^= 1;
        assert_eq!(Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&bad[..])), Err(Error::Malformed));
        let mut frag = Ipv4Packet::new_unchecked(b);
        frag.set_flags_and_frag_offset(false, true, 0);
        frag.fill_checksum();
        let frag = frag.into_inner();
        assert_eq!(Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&frag[..])), Err(Error::Malformed));
    }
}
