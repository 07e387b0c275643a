//! UDP (RFC 768), checksummed over the IPv4 or IPv6 pseudo header (RFC 768, RFC 8200
//! §8.1).

use crate::checksum::{self, PseudoHeader};
use crate::field::{get_u16, set_u16};
use crate::ip_proto;
use crate::{Error, Result};

mod f {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
}

/// A view of a UDP datagram. Bytes past the length field may follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpPacket<T> {
    buffer: T,
}

impl<T> UdpPacket<T> {
    /// Source port, destination port, length, checksum.
    pub const HEADER_LEN: usize = 8;

    /// Wrap without checking; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wrap after checking: at least 8 bytes, 8 ≤ length field ≤ buffer length.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_checked_truncated(buffer)?;
        if usize::from(p.len()) < Self::HEADER_LEN {
            return Err(Error::Malformed);
        }
        if usize::from(p.len()) > p.buffer.as_ref().len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    /// Only the 8-byte header must be present, as in the first 64 bits of a datagram
    /// an ICMP error quotes (RFC 792). [`payload`](Self::payload) returns what is there.
    pub fn new_checked_truncated(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(Self::new_unchecked(buffer))
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::DST_PORT)
    }

    /// Length of header and payload.
    pub fn len(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::LENGTH)
    }

    /// A length field of zero (only ever seen in malformed or jumbo datagrams).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checksum as stored; 0 means "not computed" over IPv4 (RFC 768).
    pub fn checksum(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::CHECKSUM)
    }

    /// The payload: 8..length, cut at the buffer's end.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(self.len()).clamp(Self::HEADER_LEN, b.len());
        &b[Self::HEADER_LEN..end]
    }

    fn datagram(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..usize::from(self.len()).clamp(Self::HEADER_LEN, b.len())]
    }

    /// Verify the checksum with the pseudo header of `src`/`dst` (IPv4 or IPv6). A
    /// zero checksum passes over IPv4 (RFC 768) and fails over IPv6 (RFC 8200 §8.1).
    pub fn verify_checksum<A: PseudoHeader>(&self, src: &A, dst: &A) -> bool {
        if self.checksum() == 0 {
            return !A::IS_V6;
        }
        let d = self.datagram();
        let ph = A::pseudo_header(src, dst, ip_proto::UDP, d.len() as u32);
        checksum::combine(&[ph, checksum::data(d)]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Set source port.
    pub fn set_src_port(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), f::SRC_PORT, v);
    }

    /// Set destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), f::DST_PORT, v);
    }

    /// Set the length field.
    pub fn set_len(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), f::LENGTH, v);
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), f::CHECKSUM, v);
    }

    /// Compute and store the checksum over 0..length with the pseudo header of
    /// `src`/`dst`. A computed 0 is sent as 0xffff (RFC 768).
    pub fn fill_checksum<A: PseudoHeader>(&mut self, src: &A, dst: &A) {
        self.set_checksum(0);
        let d = self.datagram();
        let ph = A::pseudo_header(src, dst, ip_proto::UDP, d.len() as u32);
        let c = !checksum::combine(&[ph, checksum::data(d)]);
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }

    /// Patch the checksum for a 16-bit field change (a port, RFC 1624). A zero
    /// checksum ("none", IPv4 only) stays zero; a result of 0 is stored as 0xffff.
    pub fn update_checksum16(&mut self, old: u16, new: u16) {
        let c = self.checksum();
        if c != 0 {
            let n = checksum::update16(c, old, new);
            self.set_checksum(if n == 0 { 0xffff } else { n });
        }
    }

    /// Patch the checksum for a 32-bit field change (an IPv4 address in the pseudo
    /// header). Same zero rules as [`update_checksum16`](Self::update_checksum16).
    pub fn update_checksum32(&mut self, old: u32, new: u32) {
        let c = self.checksum();
        if c != 0 {
            let n = checksum::update32(c, old, new);
            self.set_checksum(if n == 0 { 0xffff } else { n });
        }
    }

    /// Rewrite the source port and patch the checksum. Returns the old port.
    pub fn rewrite_src_port(&mut self, port: u16) -> u16 {
        let old = self.src_port();
        self.update_checksum16(old, port);
        self.set_src_port(port);
        old
    }

    /// Rewrite the destination port and patch the checksum. Returns the old port.
    pub fn rewrite_dst_port(&mut self, port: u16) -> u16 {
        let old = self.dst_port();
        self.update_checksum16(old, port);
        self.set_dst_port(port);
        old
    }

    /// The payload, writable (same bounds as [`payload`](UdpPacket::payload)).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.buffer.as_ref().len();
        let end = usize::from(self.len()).clamp(Self::HEADER_LEN, len);
        &mut self.buffer.as_mut()[Self::HEADER_LEN..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn length_checks() {
        let mut b = [0u8; 12];
        b[5] = 12;
        assert!(UdpPacket::new_checked(&b[..]).is_ok());
        assert_eq!(UdpPacket::new_checked(&b[..11]), Err(Error::Truncated));
        assert!(UdpPacket::new_checked_truncated(&b[..8]).is_ok());
        b[5] = 7;
        assert_eq!(UdpPacket::new_checked(&b[..]), Err(Error::Malformed));
        assert_eq!(UdpPacket::new_checked(&b[..7]), Err(Error::Truncated));
    }

    #[test]
    fn zero_checksum_rules() {
        let mut b = [0u8; 8];
        let mut p = UdpPacket::new_unchecked(&mut b[..]);
        p.set_len(8);
        let (a4, a6) = (Ipv4Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
        assert!(p.verify_checksum(&a4, &a4));
        assert!(!p.verify_checksum(&a6, &a6));
        p.update_checksum16(1, 2);
        assert_eq!(p.checksum(), 0, "no checksum stays no checksum");
        p.fill_checksum(&a6, &a6);
        assert!(p.verify_checksum(&a6, &a6));
    }
}
