//! In-place rewrites of ip_vs_xmit.c's transmitters: NAT address/port translation with
//! incremental checksum updates (RFC 1624), the TTL every forwarded packet loses, and
//! IPIP encapsulation for TUN.

use std::net::Ipv4Addr;

use wire::{ip_proto, Ipv4Packet, TcpPacket, UdpPacket};

use super::flow::{Flow, Frag, ETH_LEN};

/// Which end of the packet a NAT rewrite changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// NAT in (ip_vs_nat_xmit): VIP:vport becomes RS:rport.
    Dst,
    /// NAT out (handle_response): RS:rport becomes VIP:vport.
    Src,
}

/// Rewrite one end's address and port; the IPv4 header and TCP/UDP checksums are
/// patched, not recomputed. `f` must describe `frame` (lengths were checked by
/// [`Flow::parse`], so the views below cannot be short). A later fragment has no
/// transport header: only its address changes (the first fragment carried the
/// checksum, which covers the whole datagram).
pub(crate) fn nat(frame: &mut [u8], f: &Flow, end: End, addr: Ipv4Addr, port: u16) {
    let Some(l3) = frame.get_mut(ETH_LEN..) else { return };
    let mut ip = Ipv4Packet::new_unchecked(l3);
    let old = match end {
        End::Dst => ip.rewrite_dst_addr(addr),
        End::Src => ip.rewrite_src_addr(addr),
    };
    if f.frag == Frag::Later {
        return;
    }
    let (old, new) = (u32::from(old), u32::from(addr));
    match f.proto {
        ip_proto::TCP => {
            let mut tcp = TcpPacket::new_unchecked(ip.payload_mut());
            tcp.update_checksum32(old, new);
            match end {
                End::Dst => tcp.rewrite_dst_port(port),
                End::Src => tcp.rewrite_src_port(port),
            };
        }
        ip_proto::UDP => {
            let mut udp = UdpPacket::new_unchecked(ip.payload_mut());
            udp.update_checksum32(old, new);
            match end {
                End::Dst => udp.rewrite_dst_port(port),
                End::Src => udp.rewrite_src_port(port),
            };
        }
        _ => {}
    }
}

/// RFC 1812 5.3.1: a forwarded packet loses one TTL, header checksum patched. IPVS does
/// it in every forwarding method since Linux 4.11 (decrement_ttl in ip_vs_xmit.c); the
/// caller has checked that the TTL is above 1.
pub(crate) fn decrement_ttl(frame: &mut [u8]) {
    if let Some(l3) = frame.get_mut(ETH_LEN..) {
        Ipv4Packet::new_unchecked(l3).decrement_ttl();
    }
}
