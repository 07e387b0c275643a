//! IPv4 (RFC 791), with the header checksum (RFC 791 §3.1, RFC 1071) and the
//! incremental updates NAT needs (RFC 1624).

use std::net::Ipv4Addr;

use crate::checksum;
use crate::field::{get_ipv4, get_u16, set_ipv4, set_u16};
use crate::{Error, Result};

mod repr;
pub use repr::Ipv4Repr;

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
pub mod ip_proto {
    /// IPv6 Hop-by-Hop Options (RFC 8200 §4.3).
    pub const HOPOPT: u8 = 0;
    /// ICMP for IPv4 (RFC 792).
    pub const ICMP: u8 = 1;
    /// IPv4 encapsulated in IPv4 (RFC 2003).
    pub const IPIP: u8 = 4;
    /// TCP (RFC 9293).
    pub const TCP: u8 = 6;
    /// UDP (RFC 768).
    pub const UDP: u8 = 17;
    /// IPv6 encapsulation (RFC 2473).
    pub const IPV6: u8 = 41;
    /// IPv6 Routing header (RFC 8200 §4.4).
    pub const IPV6_ROUTE: u8 = 43;
    /// IPv6 Fragment header (RFC 8200 §4.5).
    pub const IPV6_FRAG: u8 = 44;
    /// Encapsulating Security Payload (RFC 4303).
    pub const ESP: u8 = 50;
    /// Authentication Header (RFC 4302).
    pub const AH: u8 = 51;
    /// ICMP for IPv6 (RFC 4443).
    pub const ICMPV6: u8 = 58;
    /// IPv6 No Next Header (RFC 8200 §4.7).
    pub const IPV6_NONXT: u8 = 59;
    /// IPv6 Destination Options (RFC 8200 §4.6).
    pub const IPV6_OPTS: u8 = 60;
}

mod f {
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLG_OFF: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 packet. Bytes past `total_len` (Ethernet padding) may follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Packet<T> {
    buffer: T,
}

impl<T> Ipv4Packet<T> {
    /// A header without options.
    pub const MIN_HEADER_LEN: usize = 20;
    /// IHL is 4 bits of 32-bit words.
    pub const MAX_HEADER_LEN: usize = 60;

    /// Wrap without checking; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wrap after checking: at least 20 bytes, version 4, IHL ≥ 5, header_len ≤
    /// total_len ≤ buffer length. Trailing bytes beyond total_len are allowed.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_header()?;
        if usize::from(p.total_len()) > p.buffer.as_ref().len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    /// Like [`new_checked`](Self::new_checked) but lets the payload be cut short of
    /// total_len, as in the packet an ICMP error quotes (RFC 792: "Internet Header +
    /// 64 bits of Original Data Datagram"; RFC 1812 §4.3.2.3 allows more). The whole
    /// header must still be there; [`payload`](Self::payload) returns what is.
    pub fn new_checked_truncated(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_header()?;
        Ok(p)
    }

    fn check_header(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < Self::MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::Malformed);
        }
        let hl = self.header_len();
        if hl < Self::MIN_HEADER_LEN {
            return Err(Error::Malformed);
        }
        if hl > len {
            return Err(Error::Truncated);
        }
        if usize::from(self.total_len()) < hl {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Version (4).
    pub fn version(&self) -> u8 {
        self.b()[f::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[f::VER_IHL] & 0x0f) * 4
    }

    /// The former TOS byte: DSCP (6 bits, RFC 2474) and ECN (2 bits, RFC 3168).
    pub fn dscp_ecn(&self) -> u8 {
        self.b()[f::DSCP_ECN]
    }

    /// Total length of header and payload in bytes.
    pub fn total_len(&self) -> u16 {
        get_u16(self.b(), f::LENGTH)
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        get_u16(self.b(), f::IDENT)
    }

    /// Don't Fragment flag.
    pub fn dont_frag(&self) -> bool {
        get_u16(self.b(), f::FLG_OFF) & FLAG_DF != 0
    }

    /// More Fragments flag.
    pub fn more_frags(&self) -> bool {
        get_u16(self.b(), f::FLG_OFF) & FLAG_MF != 0
    }

    /// Fragment offset in bytes (the field counts 8-byte units).
    pub fn frag_offset(&self) -> u16 {
        (get_u16(self.b(), f::FLG_OFF) & OFFSET_MASK) << 3
    }

    /// A fragment of a larger datagram: MF set or a non-zero offset.
    pub fn is_fragment(&self) -> bool {
        get_u16(self.b(), f::FLG_OFF) & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.b()[f::TTL]
    }

    /// Protocol of the payload (see [`ip_proto`]).
    pub fn protocol(&self) -> u8 {
        self.b()[f::PROTOCOL]
    }

    /// Header checksum as stored.
    pub fn checksum(&self) -> u16 {
        get_u16(self.b(), f::CHECKSUM)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        get_ipv4(self.b(), f::SRC)
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        get_ipv4(self.b(), f::DST)
    }

    /// The raw options, between the fixed 20 bytes and header_len.
    pub fn options(&self) -> &[u8] {
        &self.b()[Self::MIN_HEADER_LEN..self.header_len()]
    }

    /// Iterate the options (RFC 791 §3.1 option formats).
    pub fn options_iter(&self) -> Ipv4Options<'_> {
        Ipv4Options { rest: self.options() }
    }

    /// The payload: header_len..total_len (cut at the buffer's end for a view made
    /// with [`new_checked_truncated`](Self::new_checked_truncated)).
    pub fn payload(&self) -> &[u8] {
        let b = self.b();
        let end = usize::from(self.total_len()).min(b.len());
        &b[self.header_len()..end]
    }

    /// The header bytes (fixed part and options).
    pub fn header(&self) -> &[u8] {
        &self.b()[..self.header_len()]
    }

    /// True if the header checksum is right (the header sums to 0xffff).
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.header()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Set version and header length (bytes, a multiple of 4 from 20 to 60).
    pub fn set_version_and_header_len(&mut self, version: u8, header_len_bytes: usize) {
        self.bm()[f::VER_IHL] = (version << 4) | ((header_len_bytes / 4) as u8 & 0x0f);
    }

    /// Set DSCP/ECN.
    pub fn set_dscp_ecn(&mut self, v: u8) {
        self.bm()[f::DSCP_ECN] = v;
    }

    /// Set total length.
    pub fn set_total_len(&mut self, v: u16) {
        set_u16(self.bm(), f::LENGTH, v);
    }

    /// Set identification.
    pub fn set_ident(&mut self, v: u16) {
        set_u16(self.bm(), f::IDENT, v);
    }

    /// Set DF, MF and the fragment offset (in bytes; rounded down to 8-byte units).
    pub fn set_flags_and_frag_offset(&mut self, dont_frag: bool, more_frags: bool, offset_bytes: u16) {
        let mut v = (offset_bytes >> 3) & OFFSET_MASK;
        if dont_frag {
            v |= FLAG_DF;
        }
        if more_frags {
            v |= FLAG_MF;
        }
        set_u16(self.bm(), f::FLG_OFF, v);
    }

    /// Set TTL.
    pub fn set_ttl(&mut self, v: u8) {
        self.bm()[f::TTL] = v;
    }

    /// Set protocol.
    pub fn set_protocol(&mut self, v: u8) {
        self.bm()[f::PROTOCOL] = v;
    }

    /// Set the header checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        set_u16(self.bm(), f::CHECKSUM, v);
    }

    /// Set source address.
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        set_ipv4(self.bm(), f::SRC, a);
    }

    /// Set destination address.
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        set_ipv4(self.bm(), f::DST, a);
    }

    /// Compute and store the header checksum over header_len bytes.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(self.header());
        self.set_checksum(!sum);
    }

    /// The payload, writable (same bounds as [`payload`](Ipv4Packet::payload)).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        let end = usize::from(self.total_len()).min(self.buffer.as_ref().len());
        &mut self.bm()[hl..end]
    }

    /// The raw options, writable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.bm()[Self::MIN_HEADER_LEN..hl]
    }

    /// Rewrite the source address and patch the header checksum (RFC 1624). Returns the
    /// old address so the caller can patch the TCP/UDP pseudo-header checksum too.
    pub fn rewrite_src_addr(&mut self, a: Ipv4Addr) -> Ipv4Addr {
        let old = self.src_addr();
        self.set_checksum(checksum::update_ipv4_addr(self.checksum(), &old, &a));
        self.set_src_addr(a);
        old
    }

    /// Rewrite the destination address and patch the header checksum (RFC 1624).
    /// Returns the old address.
    pub fn rewrite_dst_addr(&mut self, a: Ipv4Addr) -> Ipv4Addr {
        let old = self.dst_addr();
        self.set_checksum(checksum::update_ipv4_addr(self.checksum(), &old, &a));
        self.set_dst_addr(a);
        old
    }

    /// Decrement TTL and patch the checksum (RFC 1812 §5.3.1, RFC 1624 §4 example).
    /// Returns the new TTL; a TTL already 0 is left alone and 0 returned.
    pub fn decrement_ttl(&mut self) -> u8 {
        let ttl = self.ttl();
        if ttl == 0 {
            return 0;
        }
        let proto = self.protocol();
        let old = u16::from_be_bytes([ttl, proto]);
        let new = u16::from_be_bytes([ttl - 1, proto]);
        self.set_checksum(checksum::update16(self.checksum(), old, new));
        self.set_ttl(ttl - 1);
        ttl - 1
    }
}

/// One IPv4 option: its type byte and data (without type and length bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Option<'a> {
    /// Option type (copied flag, class, number).
    pub kind: u8,
    /// Option data after the type and length bytes; empty for EOOL and NOP.
    pub data: &'a [u8],
}

/// Option type: End of Option List (RFC 791).
pub const IPV4_OPT_EOOL: u8 = 0;
/// Option type: No Operation (RFC 791).
pub const IPV4_OPT_NOP: u8 = 1;

/// Iterator over IPv4 options; yields `Err(Malformed)` once on a bad length and stops.
#[derive(Debug, Clone)]
pub struct Ipv4Options<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Ipv4Options<'a> {
    type Item = Result<Ipv4Option<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, after) = self.rest.split_first()?;
        match kind {
            IPV4_OPT_EOOL => {
                self.rest = &[];
                Some(Ok(Ipv4Option { kind, data: &[] }))
            }
            IPV4_OPT_NOP => {
                self.rest = after;
                Some(Ok(Ipv4Option { kind, data: &[] }))
            }
            _ => {
                let len = after.first().map(|&l| usize::from(l));
                match len {
                    Some(l) if l >= 2 && l <= self.rest.len() => {
                        let data = self.rest.get(2..l).unwrap_or(&[]);
                        self.rest = self.rest.get(l..).unwrap_or(&[]);
                        Some(Ok(Ipv4Option { kind, data }))
                    }
                    _ => {
                        self.rest = &[];
                        Some(Err(Error::Malformed))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> [u8; 20] {
        let mut b = [0u8; 20];
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        p.set_version_and_header_len(4, 20);
        p.set_total_len(20);
        p.set_ttl(64);
        p.set_protocol(ip_proto::UDP);
        p.set_src_addr(Ipv4Addr::new(10, 0, 0, 1));
        p.set_dst_addr(Ipv4Addr::new(10, 0, 0, 2));
        p.fill_checksum();
        b
    }

    #[test]
    fn checked_rejections() {
        let b = header();
        assert!(Ipv4Packet::new_checked(&b[..]).is_ok());
        assert_eq!(Ipv4Packet::new_checked(&b[..19]), Err(Error::Truncated));
        let mut v6 = b;
        v6[0] = 0x65;
        assert_eq!(Ipv4Packet::new_checked(&v6[..]), Err(Error::Malformed));
        let mut ihl4 = b;
        ihl4[0] = 0x44;
        assert_eq!(Ipv4Packet::new_checked(&ihl4[..]), Err(Error::Malformed));
        let mut ihl6 = b;
        ihl6[0] = 0x46;
        ihl6[3] = 24;
        assert_eq!(Ipv4Packet::new_checked(&ihl6[..]), Err(Error::Truncated));
        let mut short_total = b;
        short_total[3] = 19;
        assert_eq!(Ipv4Packet::new_checked(&short_total[..]), Err(Error::Malformed));
        let mut long_total = b;
        long_total[3] = 21;
        assert_eq!(Ipv4Packet::new_checked(&long_total[..]), Err(Error::Truncated));
        assert!(Ipv4Packet::new_checked_truncated(&long_total[..]).is_ok());
        // Ethernet padding after total_len is fine and not part of the payload.
        let mut padded = b.to_vec();
        padded.extend_from_slice(&[0; 26]);
        let p = Ipv4Packet::new_checked(&padded[..]).unwrap();
        assert!(p.payload().is_empty());
    }

    #[test]
    fn fragment_fields() {
        let mut b = header();
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        p.set_flags_and_frag_offset(false, true, 1480);
        assert!(p.more_frags() && !p.dont_frag() && p.is_fragment());
        assert_eq!(p.frag_offset(), 1480);
        p.set_flags_and_frag_offset(true, false, 0);
        assert!(p.dont_frag() && !p.is_fragment());
        p.set_flags_and_frag_offset(false, false, 65528);
        assert_eq!(p.frag_offset(), 65528);
        assert!(p.is_fragment());
    }

    #[test]
    fn ttl_and_address_rewrites_keep_checksum_valid() {
        let mut b = header();
        let mut p = Ipv4Packet::new_checked(&mut b[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.decrement_ttl(), 63);
        assert!(p.verify_checksum());
        assert_eq!(p.rewrite_dst_addr(Ipv4Addr::new(192, 168, 7, 9)), Ipv4Addr::new(10, 0, 0, 2));
        p.rewrite_src_addr(Ipv4Addr::new(172, 16, 255, 254));
        assert!(p.verify_checksum());
        let inc = p.checksum();
        p.fill_checksum();
        assert_eq!(inc, p.checksum());
    }

    #[test]
    fn options_iterate() {
        // NOP, Router Alert (RFC 2113: 0x94 04 0000), EOOL, padding.
        let opts = [1u8, 0x94, 4, 0, 0, 0, 0, 0];
        let v: Vec<_> = Ipv4Options { rest: &opts }.collect();
        assert_eq!(v.len(), 3);
        assert_eq!(v[1], Ok(Ipv4Option { kind: 0x94, data: &[0, 0] }));
        let bad = [0x94u8, 9, 0];
        let v: Vec<_> = Ipv4Options { rest: &bad }.collect();
        assert_eq!(v, vec![Err(Error::Malformed)]);
        let bad = [0x94u8, 1];
        let v: Vec<_> = Ipv4Options { rest: &bad }.collect();
        assert_eq!(v, vec![Err(Error::Malformed)]);
    }
}
