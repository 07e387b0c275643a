//! ARP for IPv4 over Ethernet (RFC 826). Only that combination is accepted: the
//! director resolves IPv4 next hops on Ethernet ports and nothing else.

use std::net::Ipv4Addr;

use crate::ethernet::EthernetAddress;
use crate::field::{get_ipv4, get_u16, set_ipv4, set_u16};
use crate::{Error, Result};

/// ARP opcodes (RFC 826; IANA "Operation Codes").
pub mod arp_op {
    /// ares_op$REQUEST.
    pub const REQUEST: u16 = 1;
    /// ares_op$REPLY.
    pub const REPLY: u16 = 2;
}

/// Hardware type Ethernet (RFC 826 ar$hrd = ares_hrd$Ethernet).
pub const HTYPE_ETHERNET: u16 = 1;

mod f {
    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const SHA: usize = 8;
    pub const SPA: usize = 14;
    pub const THA: usize = 18;
    pub const TPA: usize = 24;
}

/// A view of an IPv4-over-Ethernet ARP packet (28 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpPacket<T> {
    buffer: T,
}

impl<T> ArpPacket<T> {
    /// 8 bytes of fixed header + 2 × (6 + 4) addresses.
    pub const LEN: usize = 28;

    /// Wrap without checking; accessors may panic on a buffer under 28 bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wrap after checking the length (`Truncated`) and that htype is Ethernet, ptype
    /// IPv4, hlen 6 and plen 4 (`Malformed` otherwise).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        let b = p.buffer.as_ref();
        if b.len() < Self::LEN {
            return Err(Error::Truncated);
        }
        if p.hardware_type() != HTYPE_ETHERNET
            || p.protocol_type() != crate::ethertype::IPV4
            || b[f::HLEN] != 6
            || b[f::PLEN] != 4
        {
            return Err(Error::Malformed);
        }
        Ok(p)
    }

    /// ar$hrd.
    pub fn hardware_type(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::HTYPE)
    }

    /// ar$pro.
    pub fn protocol_type(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::PTYPE)
    }

    /// ar$op.
    pub fn operation(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::OPER)
    }

    fn mac_at(&self, at: usize) -> EthernetAddress {
        let mut a = [0u8; 6];
        a.copy_from_slice(&self.buffer.as_ref()[at..at + 6]);
        EthernetAddress(a)
    }

    /// ar$sha.
    pub fn source_hardware_addr(&self) -> EthernetAddress {
        self.mac_at(f::SHA)
    }

    /// ar$spa.
    pub fn source_protocol_addr(&self) -> Ipv4Addr {
        get_ipv4(self.buffer.as_ref(), f::SPA)
    }

    /// ar$tha (zero in a request).
    pub fn target_hardware_addr(&self) -> EthernetAddress {
        self.mac_at(f::THA)
    }

    /// ar$tpa.
    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        get_ipv4(self.buffer.as_ref(), f::TPA)
    }

    /// A gratuitous ARP announces its own address: spa == tpa (RFC 5227 §3).
    pub fn is_gratuitous(&self) -> bool {
        self.source_protocol_addr() == self.target_protocol_addr()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Set ar$op.
    pub fn set_operation(&mut self, op: u16) {
        set_u16(self.buffer.as_mut(), f::OPER, op);
    }

    /// Set ar$sha.
    pub fn set_source_hardware_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[f::SHA..f::SHA + 6].copy_from_slice(&a.0);
    }

    /// Set ar$spa.
    pub fn set_source_protocol_addr(&mut self, a: Ipv4Addr) {
        set_ipv4(self.buffer.as_mut(), f::SPA, a);
    }

    /// Set ar$tha.
    pub fn set_target_hardware_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[f::THA..f::THA + 6].copy_from_slice(&a.0);
    }

    /// Set ar$tpa.
    pub fn set_target_protocol_addr(&mut self, a: Ipv4Addr) {
        set_ipv4(self.buffer.as_mut(), f::TPA, a);
    }

    /// Write all 28 bytes of an IPv4-over-Ethernet ARP packet, including the fixed
    /// htype/ptype/hlen/plen fields.
    pub fn fill_ipv4_over_ethernet(
        &mut self,
        op: u16,
        sha: EthernetAddress,
        spa: Ipv4Addr,
        tha: EthernetAddress,
        tpa: Ipv4Addr,
    ) {
        {
            let b = self.buffer.as_mut();
            set_u16(b, f::HTYPE, HTYPE_ETHERNET);
            set_u16(b, f::PTYPE, crate::ethertype::IPV4);
            b[f::HLEN] = 6;
            b[f::PLEN] = 4;
        }
        self.set_operation(op);
        self.set_source_hardware_addr(sha);
        self.set_source_protocol_addr(spa);
        self.set_target_hardware_addr(tha);
        self.set_target_protocol_addr(tpa);
    }
}

/// The fields of an IPv4-over-Ethernet ARP packet (RFC 826), for building and reading
/// requests and replies without touching offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// ar$op (see [`arp_op`]).
    pub operation: u16,
    /// ar$sha.
    pub source_hardware_addr: EthernetAddress,
    /// ar$spa.
    pub source_protocol_addr: Ipv4Addr,
    /// ar$tha (zero in a request, RFC 826; RFC 5227 §2.1.1).
    pub target_hardware_addr: EthernetAddress,
    /// ar$tpa.
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Read an ARP packet, with the checks of [`ArpPacket::new_checked`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &ArpPacket<&T>) -> Result<Self> {
        let p = ArpPacket::new_checked(packet.buffer.as_ref())?;
        Ok(ArpRepr {
            operation: p.operation(),
            source_hardware_addr: p.source_hardware_addr(),
            source_protocol_addr: p.source_protocol_addr(),
            target_hardware_addr: p.target_hardware_addr(),
            target_protocol_addr: p.target_protocol_addr(),
        })
    }

    /// Bytes [`emit`](Self::emit) writes: 28.
    pub const fn header_len(&self) -> usize {
        ArpPacket::<&[u8]>::LEN
    }

    /// Same as [`header_len`](Self::header_len): ARP has no payload.
    pub const fn buffer_len(&self) -> usize {
        self.header_len()
    }

    /// Write all 28 bytes; `Err(Truncated)` if the buffer is shorter.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) -> Result<()> {
        if packet.buffer.as_ref().len() < ArpPacket::<&[u8]>::LEN {
            return Err(Error::Truncated);
        }
        packet.fill_ipv4_over_ethernet(
            self.operation,
            self.source_hardware_addr,
            self.source_protocol_addr,
            self.target_hardware_addr,
            self.target_protocol_addr,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_other_hardware_or_protocol() {
        let mut b = [0u8; 28];
        ArpPacket::new_unchecked(&mut b[..]).fill_ipv4_over_ethernet(
            arp_op::REQUEST,
            EthernetAddress([2, 0, 0, 0, 0, 1]),
            Ipv4Addr::new(10, 0, 0, 1),
            EthernetAddress::default(),
            Ipv4Addr::new(10, 0, 0, 2),
        );
        assert!(ArpPacket::new_checked(&b[..]).is_ok());
        assert_eq!(ArpPacket::new_checked(&b[..27]), Err(Error::Truncated));
        for (at, v) in [(1, 6u8), (2, 0x86), (4, 8), (5, 16)] {
            let mut c = b;
            c[at] = v;
            assert_eq!(ArpPacket::new_checked(&c[..]), Err(Error::Malformed), "byte {at}");
        }
    }
}
