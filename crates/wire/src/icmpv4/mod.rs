//! ICMP for IPv4 (RFC 792), with Path MTU Discovery's next-hop MTU (RFC 1191 §4) and
//! access to the packet an error message quotes.

use crate::checksum;
use crate::field::{get_u16, set_u16};
use crate::ipv4::Ipv4Packet;
use crate::{Error, Result};

mod repr;
pub use repr::{error_quote, Icmpv4Repr, ERROR_QUOTE_MAX};

/// ICMPv4 message types (RFC 792).
pub mod icmpv4_type {
    /// Echo Reply.
    pub const ECHO_REPLY: u8 = 0;
    /// Destination Unreachable.
    pub const DST_UNREACHABLE: u8 = 3;
    /// Source Quench (deprecated by RFC 6633, still an error message).
    pub const SOURCE_QUENCH: u8 = 4;
    /// Redirect.
    pub const REDIRECT: u8 = 5;
    /// Echo Request.
    pub const ECHO_REQUEST: u8 = 8;
    /// Time Exceeded.
    pub const TIME_EXCEEDED: u8 = 11;
    /// Parameter Problem.
    pub const PARAM_PROBLEM: u8 = 12;
}

/// ICMPv4 codes of Destination Unreachable (RFC 792, RFC 1122 §3.2.2.1).
pub mod icmpv4_code {
    /// Network unreachable.
    pub const NET_UNREACHABLE: u8 = 0;
    /// Host unreachable.
    pub const HOST_UNREACHABLE: u8 = 1;
    /// Protocol unreachable.
    pub const PROTO_UNREACHABLE: u8 = 2;
    /// Port unreachable.
    pub const PORT_UNREACHABLE: u8 = 3;
    /// Fragmentation needed and DF set (RFC 1191).
    pub const FRAG_NEEDED: u8 = 4;
}

mod f {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const IDENT: usize = 4;
    pub const SEQ: usize = 6;
    pub const MTU: usize = 6;
}

/// A view of an ICMPv4 message: type, code, checksum, 4 type-specific bytes, data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv4Packet<T> {
    buffer: T,
}

impl<T> Icmpv4Packet<T> {
    /// Type, code, checksum and the 4-byte "rest of header".
    pub const HEADER_LEN: usize = 8;

    /// Wrap without checking; accessors may panic on a buffer under 8 bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        Icmpv4Packet { buffer }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wrap after checking the 8-byte header is present. The buffer is the whole ICMP
    /// message (the IPv4 payload); the checksum covers all of it.
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Self::new_unchecked(buffer))
    }

    /// Message type (see [`icmpv4_type`]).
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

    /// Identifier of an echo request/reply.
    pub fn echo_ident(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::IDENT)
    }

    /// Sequence number of an echo request/reply.
    pub fn echo_seq_no(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::SEQ)
    }

    /// Next-hop MTU of a "fragmentation needed" message (RFC 1191 §4); 0 from old routers.
    pub fn next_hop_mtu(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::MTU)
    }

    /// The 4 type-specific bytes after the checksum, as a big-endian word.
    pub fn rest_of_header(&self) -> u32 {
        crate::field::get_u32(self.buffer.as_ref(), 4)
    }

    /// Everything after the 8-byte header (echo data, or the quoted packet of an error).
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }

    /// An error message, which quotes the offending packet (RFC 792; RFC 1122 §3.2.2).
    pub fn is_error(&self) -> bool {
        use icmpv4_type::*;
        matches!(self.msg_type(), DST_UNREACHABLE | SOURCE_QUENCH | REDIRECT | TIME_EXCEEDED | PARAM_PROBLEM)
    }

    /// The IPv4 packet an error message quotes: its full header and as much payload
    /// as was included (at least 8 bytes per RFC 792). `Err(Malformed)` for a message
    /// that is not an error; otherwise the error of
    /// [`Ipv4Packet::new_checked_truncated`].
    pub fn quoted_ipv4(&self) -> Result<Ipv4Packet<&[u8]>> {
        if !self.is_error() {
            return Err(Error::Malformed);
        }
        Ipv4Packet::new_checked_truncated(self.data())
    }

    /// True if the checksum over the whole message is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
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

    /// Set the next-hop MTU (also zeroes nothing else: bytes 4..6 are "unused" and the
    /// caller writes them with [`set_rest_of_header`](Self::set_rest_of_header) if needed).
    pub fn set_next_hop_mtu(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), f::MTU, v);
    }

    /// Set the 4 type-specific bytes after the checksum.
    pub fn set_rest_of_header(&mut self, v: u32) {
        crate::field::set_u32(self.buffer.as_mut(), 4, v);
    }

    /// Compute and store the checksum over the whole message.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(self.buffer.as_ref());
        self.set_checksum(!sum);
    }

    /// Everything after the 8-byte header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[Self::HEADER_LEN..]
    }

    /// The quoted IPv4 packet of an error message, writable (NAT rewrites the quote
    /// too, RFC 5508 §4.2). Refill this message's checksum afterwards.
    pub fn quoted_ipv4_mut(&mut self) -> Result<Ipv4Packet<&mut [u8]>> {
        if !self.is_error() {
            return Err(Error::Malformed);
        }
        Ipv4Packet::new_checked_truncated(self.data_mut())
    }

    /// Patch the checksum for a 16-bit change in the message (RFC 1624).
    pub fn update_checksum16(&mut self, old: u16, new: u16) {
        let c = checksum::update16(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// Rewrite the echo identifier, which NAT treats as the port of ICMP query
    /// messages (RFC 5508 §3.1), patching the checksum. Returns the old identifier.
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
    fn short_is_truncated_and_echo_has_no_quote() {
        assert_eq!(Icmpv4Packet::new_checked(&[0u8; 7][..]), Err(Error::Truncated));
        let mut b = [0u8; 8];
        let mut p = Icmpv4Packet::new_checked(&mut b[..]).unwrap();
        p.set_msg_type(icmpv4_type::ECHO_REQUEST);
        p.set_echo_ident(0x1234);
        p.set_echo_seq_no(7);
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(p.quoted_ipv4(), Err(Error::Malformed));
        assert_eq!(b, [8, 0, 0xe5, 0xc4, 0x12, 0x34, 0, 7]);
        let mut p = Icmpv4Packet::new_checked(&mut b[..]).unwrap();
        assert_eq!(p.rewrite_echo_ident(0xbeef), 0x1234);
        assert!(p.verify_checksum());
        assert_eq!(p.quoted_ipv4_mut().unwrap_err(), Error::Malformed);
    }
}
