//! IPv6 (RFC 8200): the fixed header and the extension-header walk (§4) that finds the
//! upper-layer protocol and where it starts.

use std::net::Ipv6Addr;

use crate::field::{get_ipv6, get_u16, get_u32, set_ipv6, set_u16, set_u32};
use crate::ip_proto;
use crate::{Error, Result};

mod repr;
pub use repr::Ipv6Repr;

mod f {
    pub const VER_TC_FLOW: usize = 0;
    pub const LENGTH: usize = 4;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}

/// A view of an IPv6 packet. Bytes past 40 + payload_len (Ethernet padding) may follow.
/// Jumbograms (RFC 2675, payload length 0) are not supported: their payload is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Packet<T> {
    buffer: T,
}

impl<T> Ipv6Packet<T> {
    /// The fixed header.
    pub const HEADER_LEN: usize = 40;

    /// Wrap without checking; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wrap after checking: at least 40 bytes, version 6, 40 + payload_len ≤ buffer.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_checked_truncated(buffer)?;
        if Self::HEADER_LEN + usize::from(p.payload_len()) > p.buffer.as_ref().len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    /// Only the 40-byte header must be present, as in the packet an ICMPv6 error quotes
    /// ("as much of invoking packet as possible", RFC 4443 §3).
    pub fn new_checked_truncated(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        if p.buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(Error::Truncated);
        }
        if p.version() != 6 {
            return Err(Error::Malformed);
        }
        Ok(p)
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Version (6).
    pub fn version(&self) -> u8 {
        self.b()[f::VER_TC_FLOW] >> 4
    }

    /// Traffic class (DSCP and ECN, RFC 8200 §7).
    pub fn traffic_class(&self) -> u8 {
        ((get_u16(self.b(), f::VER_TC_FLOW) >> 4) & 0xff) as u8
    }

    /// Flow label (20 bits, RFC 6437).
    pub fn flow_label(&self) -> u32 {
        get_u32(self.b(), f::VER_TC_FLOW) & 0x000f_ffff
    }

    /// Payload length: everything after the fixed header, extension headers included.
    pub fn payload_len(&self) -> u16 {
        get_u16(self.b(), f::LENGTH)
    }

    /// Next header: the first extension header or the upper-layer protocol.
    pub fn next_header(&self) -> u8 {
        self.b()[f::NXT_HDR]
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.b()[f::HOP_LIMIT]
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        get_ipv6(self.b(), f::SRC)
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        get_ipv6(self.b(), f::DST)
    }

    /// Everything after the fixed header, up to payload_len (cut at the buffer's end for
    /// a truncated view).
    pub fn payload(&self) -> &[u8] {
        let b = self.b();
        let end = (Self::HEADER_LEN + usize::from(self.payload_len())).min(b.len());
        &b[Self::HEADER_LEN..end]
    }

    /// Iterate the extension headers in order.
    pub fn ext_headers(&self) -> Ipv6ExtHeaders<'_> {
        Ipv6ExtHeaders::new(self.next_header(), self.payload())
    }

    /// Walk the extension headers to the upper layer. Offsets are from the start of the
    /// IPv6 header.
    pub fn upper_layer(&self) -> Result<Ipv6UpperLayer> {
        upper_layer(self.next_header(), self.payload()).map(|mut u| {
            u.offset += Self::HEADER_LEN;
            u
        })
    }

    /// The upper-layer bytes (from [`upper_layer`](Self::upper_layer)'s offset to the end
    /// of the payload) and their protocol.
    pub fn upper_layer_payload(&self) -> Result<(Ipv6UpperLayer, &[u8])> {
        let u = upper_layer(self.next_header(), self.payload())?;
        let bytes = self.payload().get(u.offset..).ok_or(Error::Truncated)?;
        Ok((Ipv6UpperLayer { offset: u.offset + Self::HEADER_LEN, ..u }, bytes))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Set version (high 4 bits of the first byte).
    pub fn set_version(&mut self, v: u8) {
        let b = self.buffer.as_mut();
        b[0] = (v << 4) | (b[0] & 0x0f);
    }

    /// Set traffic class.
    pub fn set_traffic_class(&mut self, tc: u8) {
        let b = self.buffer.as_mut();
        let w = (get_u16(b, 0) & 0xf00f) | (u16::from(tc) << 4);
        set_u16(b, 0, w);
    }

    /// Set flow label (low 20 bits used).
    pub fn set_flow_label(&mut self, fl: u32) {
        let b = self.buffer.as_mut();
        let w = (get_u32(b, 0) & 0xfff0_0000) | (fl & 0x000f_ffff);
        set_u32(b, 0, w);
    }

    /// Set payload length.
    pub fn set_payload_len(&mut self, v: u16) {
        set_u16(self.buffer.as_mut(), f::LENGTH, v);
    }

    /// Set next header.
    pub fn set_next_header(&mut self, v: u8) {
        self.buffer.as_mut()[f::NXT_HDR] = v;
    }

    /// Set hop limit.
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[f::HOP_LIMIT] = v;
    }

    /// Set source address.
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        set_ipv6(self.buffer.as_mut(), f::SRC, a);
    }

    /// Set destination address.
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        set_ipv6(self.buffer.as_mut(), f::DST, a);
    }

    /// The payload, writable (same bounds as [`payload`](Ipv6Packet::payload)).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.buffer.as_ref().len();
        let end = (Self::HEADER_LEN + usize::from(self.payload_len())).min(len);
        &mut self.buffer.as_mut()[Self::HEADER_LEN..end]
    }
}

/// Fragment header fields (RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6FragInfo {
    /// Fragment offset in bytes.
    pub offset: u16,
    /// M flag: more fragments follow.
    pub more_frags: bool,
    /// Identification.
    pub ident: u32,
}

impl Ipv6FragInfo {
    /// The first fragment (offset 0) carries the upper-layer header; later ones do not.
    pub fn is_first(&self) -> bool {
        self.offset == 0
    }
}

/// Where the upper layer of an IPv6 packet starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6UpperLayer {
    /// Upper-layer protocol (TCP, UDP, ICMPv6, ESP, No Next Header, ...).
    pub protocol: u8,
    /// Byte offset of the upper-layer header (from the IPv6 header for
    /// [`Ipv6Packet::upper_layer`]).
    pub offset: usize,
    /// The Fragment header, if any. With a non-zero offset, the bytes at `offset` are a
    /// middle piece of the upper-layer data, not its header.
    pub fragment: Option<Ipv6FragInfo>,
}

/// One extension header found by the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6ExtHeaderInfo {
    /// This header's type (0 hop-by-hop, 43 routing, 44 fragment, 60 destination
    /// options, 51 AH, ...).
    pub kind: u8,
    /// Offset of this header within the IPv6 payload.
    pub offset: usize,
    /// Its length in bytes.
    pub len: usize,
    /// Its Next Header field.
    pub next_header: u8,
}

/// True for the protocol numbers that are IPv6 extension headers walked here
/// (RFC 8200 §4; RFC 7045 list: AH, Mobility 135, HIP 139, Shim6 140 share the format).
pub fn is_ext_header(nh: u8) -> bool {
    matches!(
        nh,
        ip_proto::HOPOPT
            | ip_proto::IPV6_ROUTE
            | ip_proto::IPV6_FRAG
            | ip_proto::IPV6_OPTS
            | ip_proto::AH
            | 135
            | 139
            | 140
    )
}

/// Iterator over extension headers. Yields `Err` once and stops on a truncated or
/// misplaced header; ends at the first upper-layer protocol or after a non-first
/// fragment.
#[derive(Debug, Clone)]
pub struct Ipv6ExtHeaders<'a> {
    payload: &'a [u8],
    next: u8,
    offset: usize,
    done: bool,
}

impl<'a> Ipv6ExtHeaders<'a> {
    /// Walk `payload` (bytes after the fixed header) whose first header is `next_header`.
    pub fn new(next_header: u8, payload: &'a [u8]) -> Self {
        Ipv6ExtHeaders { payload, next: next_header, offset: 0, done: false }
    }

    /// The next header value at the point the walk has reached.
    pub fn next_header(&self) -> u8 {
        self.next
    }

    /// Offset (within the payload) the walk has reached.
    pub fn offset(&self) -> usize {
        self.offset
    }

    fn fail(&mut self, e: Error) -> Option<Result<Ipv6ExtHeaderInfo>> {
        self.done = true;
        Some(Err(e))
    }
}

impl Iterator for Ipv6ExtHeaders<'_> {
    type Item = Result<Ipv6ExtHeaderInfo>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || !is_ext_header(self.next) {
            return None;
        }
        let kind = self.next;
        // Hop-by-hop must come first (RFC 8200 §4.3).
        if kind == ip_proto::HOPOPT && self.offset != 0 {
            return self.fail(Error::Malformed);
        }
        let Some(h) = self.payload.get(self.offset..self.offset + 8) else {
            return self.fail(Error::Truncated);
        };
        let (nh, hlen) = (h[0], usize::from(h[1]));
        let len = match kind {
            ip_proto::IPV6_FRAG => 8,
            // AH counts 4-octet units minus 2 (RFC 4302 §2.2).
            ip_proto::AH => (hlen + 2) * 4,
            // 8-octet units not counting the first 8 (RFC 8200 §4.3-4.6).
            _ => (hlen + 1) * 8,
        };
        if self.payload.len() < self.offset + len {
            return self.fail(Error::Truncated);
        }
        let info = Ipv6ExtHeaderInfo { kind, offset: self.offset, len, next_header: nh };
        self.offset += len;
        self.next = nh;
        if kind == ip_proto::IPV6_FRAG && get_u16(h, 2) & 0xfff8 != 0 {
            // Not the first fragment: what follows is data, not headers.
            self.done = true;
        }
        Some(Ok(info))
    }
}

/// Walk `payload` starting with `next_header` to the upper layer; offsets are within
/// `payload`.
pub fn upper_layer(next_header: u8, payload: &[u8]) -> Result<Ipv6UpperLayer> {
    let mut walk = Ipv6ExtHeaders::new(next_header, payload);
    let mut fragment = None;
    for h in walk.by_ref() {
        let h = h?;
        if h.kind == ip_proto::IPV6_FRAG {
            let fh = Ipv6FragmentHeader::new_checked(payload.get(h.offset..).ok_or(Error::Truncated)?)?;
            fragment = Some(fh.info());
        }
    }
    Ok(Ipv6UpperLayer { protocol: walk.next_header(), offset: walk.offset(), fragment })
}

/// A view of a generic extension header (hop-by-hop, routing, destination options):
/// next header, length in 8-octet units beyond the first 8, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6ExtHeader<T> {
    buffer: T,
}

impl<T> Ipv6ExtHeader<T> {
    /// Wrap without checking.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv6ExtHeader { buffer }
    }
    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> Ipv6ExtHeader<T> {
    /// Wrap after checking the whole header (its length field's worth) is present.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        let hl = b.get(1).ok_or(Error::Truncated)?;
        if b.len() < (usize::from(*hl) + 1) * 8 {
            return Err(Error::Truncated);
        }
        Ok(Self::new_unchecked(buffer))
    }
    /// Next header.
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[0]
    }
    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        (usize::from(self.buffer.as_ref()[1]) + 1) * 8
    }
    /// The options (hop-by-hop, destination options) or type-specific data (routing)
    /// after the first two bytes.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[2..self.header_len()]
    }
    /// Routing type (routing header only, RFC 8200 §4.4).
    pub fn routing_type(&self) -> u8 {
        self.buffer.as_ref()[2]
    }
    /// Segments left (routing header only).
    pub fn segments_left(&self) -> u8 {
        self.buffer.as_ref()[3]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6ExtHeader<T> {
    /// Set next header.
    pub fn set_next_header(&mut self, v: u8) {
        self.buffer.as_mut()[0] = v;
    }
    /// Set the length in bytes (a multiple of 8, 8..=2048).
    pub fn set_header_len(&mut self, len: usize) {
        self.buffer.as_mut()[1] = (len / 8).saturating_sub(1) as u8;
    }
    /// The body after the first two bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.buffer.as_mut()[2..hl]
    }
}

/// A view of the Fragment header (RFC 8200 §4.5), 8 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6FragmentHeader<T> {
    buffer: T,
}

impl<T> Ipv6FragmentHeader<T> {
    /// Fixed size.
    pub const LEN: usize = 8;
    /// Wrap without checking.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv6FragmentHeader { buffer }
    }
    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> Ipv6FragmentHeader<T> {
    /// Wrap after checking 8 bytes are present.
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < Self::LEN {
            return Err(Error::Truncated);
        }
        Ok(Self::new_unchecked(buffer))
    }
    /// Next header.
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[0]
    }
    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2) & 0xfff8
    }
    /// M flag.
    pub fn more_frags(&self) -> bool {
        get_u16(self.buffer.as_ref(), 2) & 1 != 0
    }
    /// Identification.
    pub fn ident(&self) -> u32 {
        get_u32(self.buffer.as_ref(), 4)
    }
    /// The fields as a value.
    pub fn info(&self) -> Ipv6FragInfo {
        Ipv6FragInfo { offset: self.frag_offset(), more_frags: self.more_frags(), ident: self.ident() }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6FragmentHeader<T> {
    /// Write all 8 bytes.
    pub fn fill(&mut self, next_header: u8, offset_bytes: u16, more_frags: bool, ident: u32) {
        let b = self.buffer.as_mut();
        b[0] = next_header;
        b[1] = 0;
        set_u16(b, 2, (offset_bytes & 0xfff8) | u16::from(more_frags));
        set_u32(b, 4, ident);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 40];
        let mut p = Ipv6Packet::new_unchecked(&mut v[..]);
        p.set_version(6);
        p.set_traffic_class(0xb8);
        p.set_flow_label(0xabcde);
        p.set_payload_len(payload.len() as u16);
        p.set_next_header(next);
        p.set_hop_limit(64);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn fixed_header_fields() {
        let v = packet(ip_proto::UDP, &[0; 8]);
        let p = Ipv6Packet::new_checked(&v[..]).unwrap();
        assert_eq!((p.version(), p.traffic_class(), p.flow_label()), (6, 0xb8, 0xabcde));
        assert_eq!(p.upper_layer().unwrap(), Ipv6UpperLayer { protocol: 17, offset: 40, fragment: None });
        assert_eq!(Ipv6Packet::new_checked(&v[..47]), Err(Error::Truncated));
        assert!(Ipv6Packet::new_checked_truncated(&v[..47]).is_ok());
        let mut bad = v.clone();
        bad[0] = 0x40;
        assert_eq!(Ipv6Packet::new_checked(&bad[..]), Err(Error::Malformed));
    }

    #[test]
    fn walk_hbh_dst_frag_routing() {
        let mut pl = vec![ip_proto::IPV6_OPTS, 0, 1, 4, 0, 0, 0, 0]; // HBH, PadN
        pl.extend_from_slice(&[ip_proto::IPV6_ROUTE, 1]); // DstOpts, 16 bytes
        pl.extend_from_slice(&[1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        pl.extend_from_slice(&[ip_proto::IPV6_FRAG, 0, 4, 0, 0, 0, 0, 0]); // Routing type 4, 0 left
        pl.extend_from_slice(&[ip_proto::TCP, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]); // Frag offset 0, M
        pl.extend_from_slice(&[0u8; 20]);
        let v = packet(ip_proto::HOPOPT, &pl);
        let p = Ipv6Packet::new_checked(&v[..]).unwrap();
        let kinds: Vec<_> = p.ext_headers().map(|h| h.unwrap().kind).collect();
        assert_eq!(kinds, vec![0, 60, 43, 44]);
        let u = p.upper_layer().unwrap();
        assert_eq!(u.protocol, ip_proto::TCP);
        assert_eq!(u.offset, 40 + 40);
        assert_eq!(u.fragment, Some(Ipv6FragInfo { offset: 0, more_frags: true, ident: 0xdeadbeef }));
        // Later fragment: the walk stops at the fragment header.
        let mut later = pl.clone();
        later[34] = 0x05;
        later[35] = 0xa8;
        let v = packet(ip_proto::HOPOPT, &later);
        let u = Ipv6Packet::new_checked(&v[..]).unwrap().upper_layer().unwrap();
        assert_eq!(u.fragment.map(|f| f.offset), Some(0x05a8));
        assert!(!u.fragment.unwrap().is_first());
        // Hop-by-hop not first is malformed; truncated headers are truncated.
        let v = packet(ip_proto::IPV6_OPTS, &[0, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0]);
        assert_eq!(Ipv6Packet::new_checked(&v[..]).unwrap().upper_layer(), Err(Error::Malformed));
        let v = packet(ip_proto::IPV6_OPTS, &[6, 1, 1, 4, 0, 0, 0, 0]);
        assert_eq!(Ipv6Packet::new_checked(&v[..]).unwrap().upper_layer(), Err(Error::Truncated));
    }
}
