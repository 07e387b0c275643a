//! Whole frames the L3 node sends, written at the end of a [`PacketBuf`] with `append`
//! from the header reprs: ARP requests and replies, ICMPv4 and ICMPv6 messages (echo
//! replies, errors, NDP). Each returns the bytes written; on any error the buffer is
//! left as it was. The reprs' lengths must agree (`Malformed` otherwise): the EtherType
//! names the network layer, the IP protocol is ICMP, and the IP payload length is the
//! ICMP message's [`buffer_len`](Icmpv4Repr::buffer_len).

use crate::arp::{ArpPacket, ArpRepr};
use crate::buf::PacketBuf;
use crate::ethernet::{ethertype, EthernetFrame, EthernetRepr};
use crate::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use crate::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use crate::ipv4::{ip_proto, Ipv4Packet, Ipv4Repr};
use crate::ipv6::{Ipv6Packet, Ipv6Repr};
use crate::{Error, Result};

/// Append `len` bytes and let `emit` fill them; take them back if it fails.
fn append_with<B, F>(buf: &mut B, len: usize, emit: F) -> Result<usize>
where
    B: PacketBuf + ?Sized,
    F: FnOnce(&mut EthernetFrame<&mut [u8]>) -> Result<()>,
{
    let out = buf.append(len).ok_or(Error::Truncated)?;
    match emit(&mut EthernetFrame::new_unchecked(out)) {
        Ok(()) => Ok(len),
        Err(e) => {
            buf.trim(len);
            Err(e)
        }
    }
}

fn agree(ok: bool) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::Malformed)
    }
}

/// An ARP frame (RFC 826): 42 bytes, unpadded (the NIC pads to 60).
pub fn emit_arp_frame<B: PacketBuf + ?Sized>(buf: &mut B, eth: &EthernetRepr, arp: &ArpRepr) -> Result<usize> {
    agree(eth.ethertype == ethertype::ARP)?;
    append_with(buf, eth.buffer_len() + arp.buffer_len(), |f| {
        eth.emit(f)?;
        arp.emit(&mut ArpPacket::new_unchecked(f.payload_mut()))
    })
}

/// An ICMPv4 message in an option-less IPv4 header: echo reply or error.
pub fn emit_icmpv4_frame<B: PacketBuf + ?Sized>(
    buf: &mut B,
    eth: &EthernetRepr,
    ip: &Ipv4Repr,
    icmp: &Icmpv4Repr,
) -> Result<usize> {
    agree(eth.ethertype == ethertype::IPV4 && ip.protocol == ip_proto::ICMP)?;
    agree(usize::from(ip.payload_len) == icmp.buffer_len())?;
    append_with(buf, eth.buffer_len() + ip.buffer_len(), |f| {
        eth.emit(f)?;
        let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
        ip.emit(&mut p)?;
        icmp.emit(&mut Icmpv4Packet::new_unchecked(p.payload_mut()))
    })
}

/// An ICMPv6 message directly behind the IPv6 header (no extension headers), checksum
/// over `ip`'s addresses. NDP messages must go with hop limit 255 (RFC 4861 §7.1).
pub fn emit_icmpv6_frame<B: PacketBuf + ?Sized>(
    buf: &mut B,
    eth: &EthernetRepr,
    ip: &Ipv6Repr,
    icmp: &Icmpv6Repr,
) -> Result<usize> {
    agree(eth.ethertype == ethertype::IPV6 && ip.next_header == ip_proto::ICMPV6)?;
    agree(usize::from(ip.payload_len) == icmp.buffer_len())?;
    let ndp = matches!(icmp, Icmpv6Repr::NeighborSolicit { .. } | Icmpv6Repr::NeighborAdvert { .. });
    agree(!ndp || ip.hop_limit == 255)?;
    append_with(buf, eth.buffer_len() + ip.buffer_len(), |f| {
        eth.emit(f)?;
        let mut p = Ipv6Packet::new_unchecked(f.payload_mut());
        ip.emit(&mut p)?;
        icmp.emit(&ip.src_addr, &ip.dst_addr, &mut Icmpv6Packet::new_unchecked(p.payload_mut()))
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::{arp_op, EthernetAddress, VecBuf};

    #[test]
    fn short_buffers_and_disagreeing_reprs_leave_the_buffer_alone() {
        let eth = EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: ethertype::ARP,
        };
        let arp = ArpRepr {
            operation: arp_op::REQUEST,
            source_hardware_addr: eth.src_addr,
            source_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
            target_hardware_addr: EthernetAddress::default(),
            target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
        };
        let mut b = VecBuf::with_room(&[7], 0, 42);
        assert_eq!(emit_arp_frame(&mut b, &eth, &arp), Err(Error::Truncated));
        assert_eq!(b.data(), &[7]);
        let mut b = VecBuf::with_room(&[], 0, 42);
        assert_eq!(
            emit_arp_frame(&mut b, &EthernetRepr { ethertype: ethertype::IPV4, ..eth }, &arp),
            Err(Error::Malformed)
        );
        assert_eq!(emit_arp_frame(&mut b, &eth, &arp), Ok(42));
        let icmp = Icmpv4Repr::EchoReply { ident: 1, seq_no: 2, data: &[] };
        let ip = Ipv4Repr {
            src_addr: arp.source_protocol_addr,
            dst_addr: arp.target_protocol_addr,
            protocol: ip_proto::ICMP,
            payload_len: 9,
            ttl: 64,
            ident: 0,
            dont_frag: false,
            dscp_ecn: 0,
        };
        let eth4 = EthernetRepr { ethertype: ethertype::IPV4, ..eth };
        let mut b = VecBuf::with_room(&[], 0, 100);
        assert_eq!(emit_icmpv4_frame(&mut b, &eth4, &ip, &icmp), Err(Error::Malformed));
        assert_eq!(emit_icmpv4_frame(&mut b, &eth4, &Ipv4Repr { payload_len: 8, ..ip }, &icmp), Ok(42));
    }
}
