//! TCP segments (RFC 9293 §3.1), checksummed over the IPv4/IPv6 pseudo header, with
//! the incremental rewrites NAT, FullNAT and the SYN proxy need (RFC 1624).

mod option;

pub use option::{options_len, tcp_option_kind, write_options, SynOptions, TcpOption, TcpOptions, MAX_SACK_BLOCKS};

use crate::checksum::{self, PseudoHeader};
use crate::field::{get_u16, get_u32, set_u16, set_u32};
use crate::ip_proto;
use crate::{Error, Result};

mod f {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    pub const OFF_FLAGS: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
}

/// Control bits of byte 13 (RFC 9293 §3.1, RFC 3168 §6.1 for ECE/CWR).
pub mod tcp_flags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push function.
    pub const PSH: u8 = 0x08;
    /// Acknowledgment field significant.
    pub const ACK: u8 = 0x10;
    /// Urgent pointer field significant.
    pub const URG: u8 = 0x20;
    /// ECN-Echo.
    pub const ECE: u8 = 0x40;
    /// Congestion Window Reduced.
    pub const CWR: u8 = 0x80;
}

/// A view of a TCP segment. The buffer is exactly the segment (the IP payload): the
/// checksum covers all of it, and TCP has no length field of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPacket<T> {
    buffer: T,
}

impl<T> TcpPacket<T> {
    /// A header without options.
    pub const MIN_HEADER_LEN: usize = 20;
    /// Data offset is 4 bits of 32-bit words.
    pub const MAX_HEADER_LEN: usize = 60;

    /// Wrap without checking; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wrap after checking: at least 20 bytes (`Truncated`), data offset ≥ 5
    /// (`Malformed`), header_len ≤ buffer length (`Truncated`).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        let len = p.buffer.as_ref().len();
        if len < Self::MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        if p.header_len() < Self::MIN_HEADER_LEN {
            return Err(Error::Malformed);
        }
        if p.header_len() > len {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        get_u16(self.b(), f::SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        get_u16(self.b(), f::DST_PORT)
    }

    /// Sequence number.
    pub fn seq_number(&self) -> u32 {
        get_u32(self.b(), f::SEQ)
    }

    /// Acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        get_u32(self.b(), f::ACK)
    }

    /// Header length in bytes (data offset × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[f::OFF_FLAGS] >> 4) * 4
    }

    /// The eight control bits of byte 13 (see [`tcp_flags`]).
    pub fn flags(&self) -> u8 {
        self.b()[f::FLAGS]
    }

    /// FIN.
    pub fn fin(&self) -> bool {
        self.flags() & tcp_flags::FIN != 0
    }
    /// SYN.
    pub fn syn(&self) -> bool {
        self.flags() & tcp_flags::SYN != 0
    }
    /// RST.
    pub fn rst(&self) -> bool {
        self.flags() & tcp_flags::RST != 0
    }
    /// PSH.
    pub fn psh(&self) -> bool {
        self.flags() & tcp_flags::PSH != 0
    }
    /// ACK.
    pub fn ack(&self) -> bool {
        self.flags() & tcp_flags::ACK != 0
    }
    /// URG.
    pub fn urg(&self) -> bool {
        self.flags() & tcp_flags::URG != 0
    }
    /// ECE.
    pub fn ece(&self) -> bool {
        self.flags() & tcp_flags::ECE != 0
    }
    /// CWR.
    pub fn cwr(&self) -> bool {
        self.flags() & tcp_flags::CWR != 0
    }

    /// Window (unscaled).
    pub fn window_len(&self) -> u16 {
        get_u16(self.b(), f::WINDOW)
    }

    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        get_u16(self.b(), f::CHECKSUM)
    }

    /// Urgent pointer.
    pub fn urgent_at(&self) -> u16 {
        get_u16(self.b(), f::URGENT)
    }

    /// The raw options area (20..header_len).
    pub fn options(&self) -> &[u8] {
        &self.b()[Self::MIN_HEADER_LEN..self.header_len()]
    }

    /// Iterate the options.
    pub fn options_iter(&self) -> TcpOptions<'_> {
        TcpOptions::new(self.options())
    }

    /// The first option of `kind` and its byte offset in the segment (where its kind
    /// byte is), e.g. to patch it in place with
    /// [`patch_bytes`](TcpPacket::patch_bytes). The walk stops at End of Option List or
    /// a malformed option.
    pub fn find_option(&self, kind: u8) -> Option<(usize, TcpOption<'_>)> {
        let mut at = Self::MIN_HEADER_LEN;
        let mut rest = self.options();
        while !rest.is_empty() {
            let (r, opt) = TcpOption::parse(rest).ok()?;
            if opt.kind() == kind {
                return Some((at, opt));
            }
            if opt == TcpOption::EndOfList {
                return None;
            }
            at += rest.len() - r.len();
            rest = r;
        }
        None
    }

    /// The payload after the header.
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..]
    }

    /// Length the segment occupies in sequence space: payload + SYN + FIN.
    pub fn segment_len(&self) -> usize {
        self.payload().len() + usize::from(self.syn()) + usize::from(self.fin())
    }

    /// True if the checksum is right for the pseudo header of `src`/`dst`.
    pub fn verify_checksum<A: PseudoHeader>(&self, src: &A, dst: &A) -> bool {
        let ph = A::pseudo_header(src, dst, ip_proto::TCP, self.b().len() as u32);
        checksum::combine(&[ph, checksum::data(self.b())]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Set source port.
    pub fn set_src_port(&mut self, v: u16) {
        set_u16(self.bm(), f::SRC_PORT, v);
    }
    /// Set destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        set_u16(self.bm(), f::DST_PORT, v);
    }
    /// Set sequence number.
    pub fn set_seq_number(&mut self, v: u32) {
        set_u32(self.bm(), f::SEQ, v);
    }
    /// Set acknowledgment number.
    pub fn set_ack_number(&mut self, v: u32) {
        set_u32(self.bm(), f::ACK, v);
    }

    /// Set the header length in bytes (multiple of 4, 20..=60); keeps the reserved bits
    /// of byte 12 (bit 0 is AE, RFC 9768 / NS in RFC 3540).
    pub fn set_header_len(&mut self, len: usize) {
        let b = self.bm();
        b[f::OFF_FLAGS] = (((len / 4) as u8) << 4) | (b[f::OFF_FLAGS] & 0x0f);
    }

    /// Set all eight control bits of byte 13.
    pub fn set_flags(&mut self, flags: u8) {
        self.bm()[f::FLAGS] = flags;
    }

    fn set_flag(&mut self, bit: u8, on: bool) {
        let v = if on { self.flags() | bit } else { self.flags() & !bit };
        self.set_flags(v);
    }
    /// Set or clear FIN.
    pub fn set_fin(&mut self, on: bool) {
        self.set_flag(tcp_flags::FIN, on);
    }
    /// Set or clear SYN.
    pub fn set_syn(&mut self, on: bool) {
        self.set_flag(tcp_flags::SYN, on);
    }
    /// Set or clear RST.
    pub fn set_rst(&mut self, on: bool) {
        self.set_flag(tcp_flags::RST, on);
    }
    /// Set or clear PSH.
    pub fn set_psh(&mut self, on: bool) {
        self.set_flag(tcp_flags::PSH, on);
    }
    /// Set or clear ACK.
    pub fn set_ack(&mut self, on: bool) {
        self.set_flag(tcp_flags::ACK, on);
    }
    /// Set or clear URG.
    pub fn set_urg(&mut self, on: bool) {
        self.set_flag(tcp_flags::URG, on);
    }
    /// Set or clear ECE.
    pub fn set_ece(&mut self, on: bool) {
        self.set_flag(tcp_flags::ECE, on);
    }
    /// Set or clear CWR.
    pub fn set_cwr(&mut self, on: bool) {
        self.set_flag(tcp_flags::CWR, on);
    }

    /// Set the window.
    pub fn set_window_len(&mut self, v: u16) {
        set_u16(self.bm(), f::WINDOW, v);
    }
    /// Set the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        set_u16(self.bm(), f::CHECKSUM, v);
    }
    /// Set the urgent pointer.
    pub fn set_urgent_at(&mut self, v: u16) {
        set_u16(self.bm(), f::URGENT, v);
    }

    /// The raw options area, writable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.bm()[Self::MIN_HEADER_LEN..hl]
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.bm()[hl..]
    }

    /// Compute and store the checksum with the pseudo header of `src`/`dst`.
    pub fn fill_checksum<A: PseudoHeader>(&mut self, src: &A, dst: &A) {
        self.set_checksum(0);
        let ph = A::pseudo_header(src, dst, ip_proto::TCP, self.b().len() as u32);
        let sum = checksum::combine(&[ph, checksum::data(self.b())]);
        self.set_checksum(!sum);
    }

    /// Patch the checksum for a 16-bit change elsewhere (RFC 1624).
    pub fn update_checksum16(&mut self, old: u16, new: u16) {
        let c = checksum::update16(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// Patch the checksum for a 32-bit change (an IPv4 pseudo-header address).
    pub fn update_checksum32(&mut self, old: u32, new: u32) {
        let c = checksum::update32(self.checksum(), old, new);
        self.set_checksum(c);
    }

    /// Rewrite the source port, patching the checksum. Returns the old port.
    pub fn rewrite_src_port(&mut self, port: u16) -> u16 {
        let old = self.src_port();
        self.update_checksum16(old, port);
        self.set_src_port(port);
        old
    }

    /// Rewrite the destination port, patching the checksum. Returns the old port.
    pub fn rewrite_dst_port(&mut self, port: u16) -> u16 {
        let old = self.dst_port();
        self.update_checksum16(old, port);
        self.set_dst_port(port);
        old
    }

    /// Rewrite the sequence number (SYN-proxy / FullNAT sequence offset), patching the
    /// checksum. Returns the old value.
    pub fn rewrite_seq_number(&mut self, v: u32) -> u32 {
        let old = self.seq_number();
        self.update_checksum32(old, v);
        self.set_seq_number(v);
        old
    }

    /// Rewrite the acknowledgment number, patching the checksum. Returns the old value.
    pub fn rewrite_ack_number(&mut self, v: u32) -> u32 {
        let old = self.ack_number();
        self.update_checksum32(old, v);
        self.set_ack_number(v);
        old
    }

    /// Overwrite bytes at `at` (any alignment) inside the segment and patch the checksum
    /// word by word (RFC 1624). `Err(Truncated)` if the range is outside the buffer,
    /// `Err(Malformed)` if it overlaps the checksum field itself.
    pub fn patch_bytes(&mut self, at: usize, new: &[u8]) -> Result<()> {
        let end = at.checked_add(new.len()).ok_or(Error::Truncated)?;
        if end > self.b().len() {
            return Err(Error::Truncated);
        }
        if at < f::CHECKSUM + 2 && end > f::CHECKSUM {
            return Err(Error::Malformed);
        }
        let mut c = self.checksum();
        let mut i = at & !1;
        while i < end {
            let old = self.word_at(i);
            let (lo, hi) = (i.max(at), (i + 2).min(end));
            self.bm()[lo..hi].copy_from_slice(&new[lo - at..hi - at]);
            c = checksum::update16(c, old, self.word_at(i));
            i += 2;
        }
        self.set_checksum(c);
        Ok(())
    }

    fn word_at(&self, i: usize) -> u16 {
        let b = self.b();
        u16::from_be_bytes([b.get(i).copied().unwrap_or(0), b.get(i + 1).copied().unwrap_or(0)])
    }

    /// Lower the MSS option to `max` if it is larger (MSS clamping for tunnels, RFC
    /// 4459 §3.2), patching the checksum. Returns the old MSS if it was changed.
    pub fn clamp_mss(&mut self, max: u16) -> Option<u16> {
        let (at, opt) = self.find_option(tcp_option_kind::MSS)?;
        let TcpOption::MaxSegmentSize(mss) = opt else { return None };
        if mss <= max {
            return None;
        }
        self.patch_bytes(at + 2, &max.to_be_bytes()).ok()?;
        Some(mss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn syn(opts: &[TcpOption<'_>]) -> Vec<u8> {
        let n = options_len(opts);
        let mut b = vec![0u8; 20 + n + 3];
        let mut t = TcpPacket::new_unchecked(&mut b[..]);
        t.set_header_len(20 + n);
        t.set_syn(true);
        write_options(opts, t.options_mut()).unwrap();
        t.fill_checksum(&Ipv4Addr::LOCALHOST, &Ipv4Addr::BROADCAST);
        b
    }

    #[test]
    fn find_option_and_clamp_at_odd_offset() {
        let mut b = syn(&[TcpOption::WindowScale(7), TcpOption::MaxSegmentSize(9000)]);
        let mut t = TcpPacket::new_checked(&mut b[..]).unwrap();
        assert_eq!(t.find_option(tcp_option_kind::MSS), Some((23, TcpOption::MaxSegmentSize(9000))));
        assert_eq!(t.find_option(tcp_option_kind::TIMESTAMPS), None);
        assert_eq!(t.clamp_mss(1460), Some(9000));
        assert!(t.verify_checksum(&Ipv4Addr::LOCALHOST, &Ipv4Addr::BROADCAST));
        assert_eq!(t.find_option(tcp_option_kind::MSS), Some((23, TcpOption::MaxSegmentSize(1460))));
        // An odd-length segment pads its last word with zero (RFC 1071).
        assert_eq!(t.patch_bytes(t.b().len() - 1, &[0xab]), Ok(()));
        assert!(t.verify_checksum(&Ipv4Addr::LOCALHOST, &Ipv4Addr::BROADCAST));
        assert_eq!(t.patch_bytes(t.b().len(), &[1]), Err(Error::Truncated));
        assert_eq!(t.patch_bytes(17, &[1]), Err(Error::Malformed));
    }

    #[test]
    fn no_mss_after_end_of_list() {
        let mut b = syn(&[TcpOption::EndOfList, TcpOption::MaxSegmentSize(9000)]);
        let mut t = TcpPacket::new_checked(&mut b[..]).unwrap();
        assert_eq!(t.find_option(tcp_option_kind::MSS), None);
        assert_eq!(t.clamp_mss(1460), None);
    }

    #[test]
    fn checked_rejections() {
        let mut b = [0u8; 24];
        b[12] = 0x40;
        assert_eq!(TcpPacket::new_checked(&b[..]), Err(Error::Malformed));
        b[12] = 0x60;
        assert!(TcpPacket::new_checked(&b[..]).is_ok());
        assert_eq!(TcpPacket::new_checked(&b[..23]), Err(Error::Truncated));
        assert_eq!(TcpPacket::new_checked(&b[..19]), Err(Error::Truncated));
    }
}
