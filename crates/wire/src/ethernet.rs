//! Ethernet II frames (IEEE 802.3 clause 3, RFC 894) and the 802.1Q VLAN tag.

use core::fmt;
use core::str::FromStr;

use crate::field::{get_u16, set_u16};
use crate::{Error, Result};

/// A 48-bit MAC address (IEEE 802).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Self = EthernetAddress([0xff; 6]);

    /// The address from its six bytes; `None` if `b` is not 6 bytes long.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        <[u8; 6]>::try_from(b).ok().map(EthernetAddress)
    }

    /// The six bytes.
    pub fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// All ones.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Group bit (I/G, least significant bit of the first octet) set; includes broadcast.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Individual (not group) address.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// U/L bit set: a locally administered address.
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl From<[u8; 6]> for EthernetAddress {
    fn from(b: [u8; 6]) -> Self {
        EthernetAddress(b)
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl FromStr for EthernetAddress {
    type Err = Error;

    /// Six colon- (or dash-) separated hex octets, one or two digits each.
    fn from_str(s: &str) -> Result<Self> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for o in out.iter_mut() {
            let p = parts.next().ok_or(Error::Malformed)?;
            if p.is_empty() || p.len() > 2 {
                return Err(Error::Malformed);
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| Error::Malformed)?;
        }
        if parts.next().is_some() {
            return Err(Error::Malformed);
        }
        Ok(EthernetAddress(out))
    }
}

/// EtherType values (IEEE registry) the load balancer handles.
pub mod ethertype {
    /// Internet Protocol version 4 (RFC 894).
    pub const IPV4: u16 = 0x0800;
    /// Address Resolution Protocol (RFC 826).
    pub const ARP: u16 = 0x0806;
    /// IEEE 802.1Q VLAN-tagged frame (customer VLAN tag).
    pub const VLAN: u16 = 0x8100;
    /// IEEE 802.1ad service VLAN tag (QinQ outer tag).
    pub const QINQ: u16 = 0x88a8;
    /// Internet Protocol version 6 (RFC 2464).
    pub const IPV6: u16 = 0x86dd;
}

/// A view of an Ethernet II frame: destination, source, EtherType, payload. The FCS is
/// not part of the buffer (NICs strip it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthernetFrame<T> {
    buffer: T,
}

mod eth_field {
    pub const DST: core::ops::Range<usize> = 0..6;
    pub const SRC: core::ops::Range<usize> = 6..12;
    pub const ETHERTYPE: usize = 12;
}

impl<T> EthernetFrame<T> {
    /// Destination (6) + source (6) + EtherType (2).
    pub const HEADER_LEN: usize = 14;

    /// Wrap without checking; accessors may panic on a buffer under 14 bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wrap after checking the buffer holds the 14-byte header.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }

    /// `Err(Truncated)` if the buffer is shorter than the header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < Self::HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Destination MAC address.
    pub fn dst_addr(&self) -> EthernetAddress {
        let mut a = [0u8; 6];
        a.copy_from_slice(&self.buffer.as_ref()[eth_field::DST]);
        EthernetAddress(a)
    }

    /// Source MAC address.
    pub fn src_addr(&self) -> EthernetAddress {
        let mut a = [0u8; 6];
        a.copy_from_slice(&self.buffer.as_ref()[eth_field::SRC]);
        EthernetAddress(a)
    }

    /// EtherType (or TPID 0x8100 when a VLAN tag follows the source address).
    pub fn ethertype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), eth_field::ETHERTYPE)
    }

    /// Everything after the 14-byte header (a VLAN tag first, if tagged).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Set the destination MAC address.
    pub fn set_dst_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[eth_field::DST].copy_from_slice(&a.0);
    }

    /// Set the source MAC address.
    pub fn set_src_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[eth_field::SRC].copy_from_slice(&a.0);
    }

    /// Set the EtherType.
    pub fn set_ethertype(&mut self, t: u16) {
        set_u16(self.buffer.as_mut(), eth_field::ETHERTYPE, t);
    }

    /// Everything after the 14-byte header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[Self::HEADER_LEN..]
    }
}

/// A view of the 4 bytes that follow TPID 0x8100 in a tagged frame (IEEE 802.1Q §9.6):
/// the tag control information (PCP, DEI, VID) and the EtherType of what follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanTag<T> {
    buffer: T,
}

impl<T> VlanTag<T> {
    /// TCI (2) + inner EtherType (2).
    pub const LEN: usize = 4;

    /// Wrap without checking; accessors may panic on a buffer under 4 bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        VlanTag { buffer }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    /// Wrap after checking the 4-byte tag is present.
    pub fn new_checked(buffer: T) -> Result<Self> {
        if buffer.as_ref().len() < Self::LEN {
            return Err(Error::Truncated);
        }
        Ok(Self::new_unchecked(buffer))
    }

    /// The whole tag control information.
    pub fn tci(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 0)
    }

    /// Priority code point (3 bits, IEEE 802.1p).
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop eligible indicator.
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// VLAN identifier (12 bits).
    pub fn vid(&self) -> u16 {
        self.tci() & 0x0fff
    }

    /// EtherType of the encapsulated payload.
    pub fn ethertype(&self) -> u16 {
        get_u16(self.buffer.as_ref(), 2)
    }

    /// What follows the tag.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanTag<T> {
    /// Set the whole tag control information.
    pub fn set_tci(&mut self, tci: u16) {
        set_u16(self.buffer.as_mut(), 0, tci);
    }

    /// Set PCP (low 3 bits used), DEI and VID (low 12 bits used).
    pub fn set_pcp_dei_vid(&mut self, pcp: u8, dei: bool, vid: u16) {
        let tci = (u16::from(pcp & 0x7) << 13) | (u16::from(dei) << 12) | (vid & 0x0fff);
        self.set_tci(tci);
    }

    /// Set the EtherType of the encapsulated payload.
    pub fn set_ethertype(&mut self, t: u16) {
        set_u16(self.buffer.as_mut(), 2, t);
    }

    /// What follows the tag, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[Self::LEN..]
    }
}

/// The fields of an untagged Ethernet II header, for building frames (smoltcp's
/// `EthernetRepr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    /// Source MAC address.
    pub src_addr: EthernetAddress,
    /// Destination MAC address.
    pub dst_addr: EthernetAddress,
    /// EtherType of the payload (see [`ethertype`]).
    pub ethertype: u16,
}

impl EthernetRepr {
    /// Read the header of `frame`; `Err(Truncated)` under 14 bytes.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &EthernetFrame<&T>) -> Result<Self> {
        frame.check_len()?;
        Ok(EthernetRepr { src_addr: frame.src_addr(), dst_addr: frame.dst_addr(), ethertype: frame.ethertype() })
    }

    /// Bytes [`emit`](Self::emit) writes: 14.
    pub const fn header_len(&self) -> usize {
        EthernetFrame::<&[u8]>::HEADER_LEN
    }

    /// Same as [`header_len`](Self::header_len): the payload is the caller's.
    pub const fn buffer_len(&self) -> usize {
        self.header_len()
    }

    /// Write the 14-byte header; `Err(Truncated)` if the buffer is shorter.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) -> Result<()> {
        frame.check_len()?;
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
        Ok(())
    }
}

/// Where the network layer starts in an Ethernet frame, skipping up to two VLAN tags
/// (802.1Q, 802.1ad QinQ): `(ethertype, offset, vlan_id)` with the innermost VID.
pub fn l3_offset(frame: &[u8]) -> Result<(u16, usize, Option<u16>)> {
    let eth = EthernetFrame::new_checked(frame)?;
    let mut ty = eth.ethertype();
    let mut off = EthernetFrame::<&[u8]>::HEADER_LEN;
    let mut vid = None;
    for _ in 0..2 {
        if ty != ethertype::VLAN && ty != ethertype::QINQ {
            break;
        }
        let tag = VlanTag::new_checked(frame.get(off..).ok_or(Error::Truncated)?)?;
        vid = Some(tag.vid());
        ty = tag.ethertype();
        off += VlanTag::<&[u8]>::LEN;
    }
    Ok((ty, off, vid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_text_round_trip() {
        let a: EthernetAddress = "02:00:00:00:00:01".parse().unwrap();
        assert_eq!(a, EthernetAddress([2, 0, 0, 0, 0, 1]));
        assert_eq!(a.to_string(), "02:00:00:00:00:01");
        assert!(a.is_unicast() && a.is_local() && !a.is_multicast());
        assert!("02:00:00:00:00".parse::<EthernetAddress>().is_err());
        assert!("02:00:00:00:00:01:07".parse::<EthernetAddress>().is_err());
        assert!("02:00:00:00:00:1g".parse::<EthernetAddress>().is_err());
        assert!("02:00:00:00::01".parse::<EthernetAddress>().is_err());
        assert!(EthernetAddress::BROADCAST.is_broadcast());
        assert!(EthernetAddress::BROADCAST.is_multicast());
        assert!(EthernetAddress([0x01, 0, 0x5e, 0, 0, 1]).is_multicast());
    }

    #[test]
    fn short_frame_is_truncated() {
        assert_eq!(EthernetFrame::new_checked(&[0u8; 13][..]), Err(Error::Truncated));
        assert!(EthernetFrame::new_checked(&[0u8; 14][..]).is_ok());
    }

    #[test]
    fn l3_offset_skips_qinq_and_rejects_cut_tags() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64, 0x86, 0xdd]);
        assert_eq!(l3_offset(&f), Ok((ethertype::IPV6, 22, Some(100))));
        assert_eq!(l3_offset(&f[..20]), Err(Error::Truncated));
        assert_eq!(l3_offset(&f[..14]), Err(Error::Truncated));
        assert_eq!(l3_offset(&f[..13]), Err(Error::Truncated));
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(l3_offset(&f), Ok((ethertype::ARP, 14, None)));
    }

    #[test]
    fn vlan_fields() {
        let mut b = [0u8; 4];
        let mut t = VlanTag::new_checked(&mut b[..]).unwrap();
        t.set_pcp_dei_vid(5, true, 100);
        t.set_ethertype(ethertype::IPV4);
        assert_eq!(b, [0xb0, 0x64, 0x08, 0x00]);
        let t = VlanTag::new_checked(&b[..]).unwrap();
        assert_eq!((t.pcp(), t.dei(), t.vid(), t.ethertype()), (5, true, 100, 0x0800));
    }
}
