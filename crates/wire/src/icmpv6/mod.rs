//! ICMPv6 (RFC 4443), checksummed over the IPv6 pseudo header (RFC 8200 §8.1), with the
//! Packet Too Big MTU (RFC 8201) and access to the quoted packet of error messages.

use std::net::Ipv6Addr;

use crate::checksum::{self, pseudo_header_v6};
use crate::field::{get_ipv6, get_u16, get_u32, set_u16, set_u32};
use crate::ip_proto;
use crate::ipv6::Ipv6Packet;
use crate::{Error, Result};

mod repr;
pub use repr::{error_quote, ndp_option, Icmpv6Repr, ERROR_QUOTE_MAX};

/// ICMPv6 message types (RFC 4443 §2.1, RFC 4861 §4).
pub mod icmpv6_type {
    /// Destination Unreachable.
    pub const DST_UNREACHABLE: u8 = 1;
    /// Packet Too Big.
    pub const PACKET_TOO_BIG: u8 = 2;
    /// Time Exceeded.
    pub const TIME_EXCEEDED: u8 = 3;
    /// Parameter Problem.
    pub const PARAM_PROBLEM: u8 = 4;
    /// Echo Request.
    pub const ECHO_REQUEST: u8 = 128;
    /// Echo Reply.
    pub const ECHO_REPLY: u8 = 129;
    /// Router Solicitation (NDP).
    pub const ROUTER_SOLICIT: u8 = 133;
    /// Router Advertisement (NDP).
    pub const ROUTER_ADVERT: u8 = 134;
    /// Neighbor Solicitation (NDP).
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    /// Neighbor Advertisement (NDP).
    pub const NEIGHBOR_ADVERT: u8 = 136;
    /// Redirect (NDP).
    pub const REDIRECT: u8 = 137;
}

/// Codes of Destination Unreachable (RFC 4443 §3.1).
pub mod icmpv6_code {
    /// No route to destination.
    pub const NO_ROUTE: u8 = 0;
    /// Address unreachable.
    pub const ADDR_UNREACHABLE: u8 = 3;
    /// Port unreachable.
    pub const PORT_UNREACHABLE: u8 = 4;
}

mod f {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const IDENT: usize = 4;
    pub const SEQ: usize = 6;
    pub const MTU: usize = 4;
    pub const TARGET: usize = 8;
}

/// A view of an ICMPv6 message (the whole upper-layer payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv6Packet<T> {
    buffer: T,
}

impl<T> Icmpv6Packet<T> {
    /// Type, code, checksum and the 4 message-specific bytes.
    pub const HEADER_LEN: usize = 8;

    /// Wrap without checking; accessors may panic on a buffer under 8 bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        Icmpv6Packet { buffer }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Wrap after checking the 8-byte header is present.
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Self::new_unchecked(buffer))
    }

    /// Message type (see [`icmpv6_type`]).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[f::TYPE]
    }

    /// Message code.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[f::CODE]
    }

    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::CHECKSUM)
    }

    /// Echo identifier.
    pub fn echo_ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::IDENT)
    }

    /// Echo sequence number.
    pub fn echo_seq_no(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::SEQ)
    }

    /// MTU of a Packet Too Big message (RFC 4443 §3.2).
    pub fn mtu(&self) -> u32 {
        get_u32(self.buffer.as_ref(), f::MTU)
    }

    /// Pointer of a Parameter Problem message (RFC 4443 §3.4).
    pub fn pointer(&self) -> u32 {
        get_u32(self.buffer.as_ref(), f::MTU)
    }

    /// Everything after the 8-byte header.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }

    /// Error messages have types 0..=127 (RFC 4443 §2.1) and quote the invoking packet.
    pub fn is_error(&self) -> bool {
        self.msg_type() < 128
    }

    /// The IPv6 packet an error message quotes (as much as fits, RFC 4443 §3).
    /// `Err(Malformed)` for an informational message.
    pub fn quoted_ipv6(&self) -> Result<Ipv6Packet<&[u8]>> {
        if !self.is_error() {
            return Err(Error::Malformed);
        }
        Ipv6Packet::new_checked_truncated(self.data())
    }

    /// Target address of a Neighbor Solicitation/Advertisement (RFC 4861 §4.3-4.4);
    /// `None` if the message is too short.
    pub fn ndp_target_addr(&self) -> Option<Ipv6Addr> {
        let b = self.buffer.as_ref();
        (b.len() >= f::TARGET + 16).then(|| get_ipv6(b, f::TARGET))
    }

    /// True if the checksum is right for the pseudo header of `src`/`dst`.
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let b = self.buffer.as_ref();
        let ph = pseudo_header_v6(src, dst, ip_proto::ICMPV6, b.len() as u32);
        checksum::combine(&[ph, checksum::data(b)]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Set message type.
    pub fn set_msg_type(&mut self, v: u8) {
        self.buffer.as_mut()[f::TYPE] = v;
    }
    /// Set message code.
    pub fn set_msg_code(&mut self, v: u8) {
        self.buffer.as_mut()[f::CODE] = v;
    }
    /// Set the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), f::CHECKSUM, v);
    }
    /// Set the echo identifier.
    pub fn set_echo_ident(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), f::IDENT, v);
    }
    /// Set the echo sequence number.
    pub fn set_echo_seq_no(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), f::SEQ, v);
    }
    /// Set the Packet Too Big MTU.
    pub fn set_mtu(&mut self, v: u32) {
        set_u32(self.buffer.as_mut(), f::MTU, v);
    }
    /// Set the Parameter Problem pointer.
    pub fn set_pointer(&mut self, v: u32) {
        set_u32(self.buffer.as_mut(), f::MTU, v);
    }
    /// Compute and store the checksum with the pseudo header of `src`/`dst`.
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let ph = pseudo_header_v6(src, dst, ip_proto::ICMPV6, b.len() as u32);
        let sum = checksum::combine(&[ph, checksum::data(b)]);
        self.set_checksum(!sum);
    }
    /// Everything after the 8-byte header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[Self::HEADER_LEN..]
    }

    /// The quoted IPv6 packet of an error message, writable. Refill this message's
    /// checksum afterwards.
    pub fn quoted_ipv6_mut(&mut self) -> Result<Ipv6Packet<&mut [u8]>> {
        if !self.is_error() {
            return Err(Error::Malformed);
        }
        Ipv6Packet::new_checked_truncated(self.data_mut())
    }

    /// Patch the checksum for a 16-bit change (RFC 1624).
    pub fn update_checksum16(&mut self, old: u16, new: u16) {
        let c = checksum::update16(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// Rewrite the echo identifier, patching the checksum. Returns the old one.
    pub fn rewrite_echo_ident(&mut self, ident: u16) -> u16 {
        let old = self.echo_ident();
        self.update_checksum16(old, ident);
        self.set_echo_ident(ident);
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_too_big_and_quote() {
        let mut b = [0u8; 8 + 40];
        let mut p = Icmpv6Packet::new_checked(&mut b[..]).unwrap();
        p.set_msg_type(icmpv6_type::PACKET_TOO_BIG);
        p.set_mtu(1280);
        p.data_mut()[0] = 0x60;
        let (s, d) = (Ipv6Addr::LOCALHOST, "2001:db8::1".parse().unwrap());
        p.fill_checksum(&s, &d);
        assert!(p.verify_checksum(&s, &d));
        assert!(!p.verify_checksum(&s, &"2001:db8::2".parse().unwrap()));
        assert_eq!(p.mtu(), 1280);
        assert_eq!(p.quoted_ipv6().map(|q| q.version()), Ok(6));
        assert_eq!(p.ndp_target_addr(), Some(Ipv6Addr::from([0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
        p.quoted_ipv6_mut().unwrap().set_hop_limit(9);
        assert_eq!(p.quoted_ipv6().map(|q| q.hop_limit()), Ok(9));
        p.fill_checksum(&s, &d);
        assert_eq!(p.rewrite_echo_ident(77), 0);
        assert!(p.verify_checksum(&s, &d));
        p.set_msg_type(icmpv6_type::ECHO_REQUEST);
        assert_eq!(p.quoted_ipv6(), Err(Error::Malformed));
        assert_eq!(Icmpv6Packet::new_checked(&b[..7]), Err(Error::Truncated));
    }
}
