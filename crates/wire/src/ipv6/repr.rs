//! [`Ipv6Repr`]: the fields of the fixed IPv6 header, parsed and emitted whole.

use std::net::Ipv6Addr;

use super::Ipv6Packet;
use crate::{Error, Result};

/// The 40-byte IPv6 header (RFC 8200 §3), smoltcp's `Ipv6Repr` plus traffic class and
/// flow label. `next_header` is what directly follows: an extension header or the
/// upper layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next header.
    pub next_header: u8,
    /// Payload length (extension headers included).
    pub payload_len: u16,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class (DSCP and ECN, RFC 8200 §7).
    pub traffic_class: u8,
    /// Flow label, 20 bits (RFC 6437).
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// Flow labels are 20 bits.
    pub const FLOW_LABEL_MAX: u32 = 0x000f_ffff;

    /// Read the fixed header, with the checks of [`Ipv6Packet::new_checked`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv6Packet<&T>) -> Result<Self> {
        let p = Ipv6Packet::new_checked(packet.buffer.as_ref())?;
        Ok(Ipv6Repr {
            src_addr: p.src_addr(),
            dst_addr: p.dst_addr(),
            next_header: p.next_header(),
            payload_len: p.payload_len(),
            hop_limit: p.hop_limit(),
            traffic_class: p.traffic_class(),
            flow_label: p.flow_label(),
        })
    }

    /// Bytes of header [`emit`](Self::emit) writes: 40.
    pub const fn header_len(&self) -> usize {
        Ipv6Packet::<&[u8]>::HEADER_LEN
    }

    /// Header and payload.
    pub const fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len as usize
    }

    /// Write the 40-byte header at the front of `packet`; the payload is the caller's.
    /// `Err(Truncated)` under 40 bytes, `Err(Malformed)` for a flow label over 20 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) -> Result<()> {
        if self.flow_label > Self::FLOW_LABEL_MAX {
            return Err(Error::Malformed);
        }
        let header = packet.buffer.as_mut().get_mut(..self.header_len()).ok_or(Error::Truncated)?;
        let mut p = Ipv6Packet::new_unchecked(header);
        p.set_version(6);
        p.set_traffic_class(self.traffic_class);
        p.set_flow_label(self.flow_label);
        p.set_payload_len(self.payload_len);
        p.set_next_header(self.next_header);
        p.set_hop_limit(self.hop_limit);
        p.set_src_addr(self.src_addr);
        p.set_dst_addr(self.dst_addr);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_checks_length_and_flow_label() {
        let r = Ipv6Repr {
            src_addr: Ipv6Addr::LOCALHOST,
            dst_addr: "2001:db8::1".parse().unwrap(),
            next_header: 59,
            payload_len: 2,
            hop_limit: 255,
            traffic_class: 0xb8,
            flow_label: 0xfffff,
        };
        let mut b = [0xffu8; 42];
        assert_eq!(r.emit(&mut Ipv6Packet::new_unchecked(&mut b[..39])), Err(Error::Truncated));
        r.emit(&mut Ipv6Packet::new_unchecked(&mut b[..])).unwrap();
        assert_eq!(&b[..4], &[0x6b, 0x8f, 0xff, 0xff]);
        assert_eq!(Ipv6Repr::parse(&Ipv6Packet::new_unchecked(&b[..])), Ok(r));
        assert_eq!(Ipv6Repr::parse(&Ipv6Packet::new_unchecked(&b[..41])), Err(Error::Truncated));
        let wide = Ipv6Repr { flow_label: 0x100000, ..r };
        assert_eq!(wide.emit(&mut Ipv6Packet::new_unchecked(&mut b[..])), Err(Error::Malformed));
    }
}
