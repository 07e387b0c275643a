//! NAT's in-place rewrites (ip_vs_nat_xmit, handle_response): address and port
//! translation with incremental checksum updates (RFC 1624), for IPv4 and IPv6, and the
//! TTL or hop limit every forwarded packet loses.

use std::net::{IpAddr, Ipv6Addr};

use wire::{checksum, ip_proto, Ipv4Packet, Ipv6Packet, TcpPacket, UdpPacket};

use super::super::flow::{Flow, Frag, ETH_LEN};
use crate::addr::Addr;

/// Which end of the packet a NAT rewrite changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// NAT in (ip_vs_nat_xmit): VIP:vport becomes RS:rport.
    Dst,
    /// NAT out (handle_response): RS:rport becomes VIP:vport.
    Src,
}

/// Rewrite one end's address and port; checksums are patched, not recomputed. `f` must
/// describe `frame` (lengths were checked by [`Flow::parse`]). A later fragment has no
/// transport header: only its address changes (the first fragment carried the
/// checksum, which covers the whole datagram).
pub(crate) fn nat(frame: &mut [u8], f: &Flow, end: End, addr: Addr, port: u16) {
    let Some(l3) = frame.get_mut(ETH_LEN..) else { return };
    match addr.to_ip() {
        IpAddr::V4(new) if !f.v6 => {
            let mut ip = Ipv4Packet::new_unchecked(l3);
            let old = match end {
                End::Dst => ip.rewrite_dst_addr(new),
                End::Src => ip.rewrite_src_addr(new),
            };
            if f.frag == Frag::Later {
                return;
            }
            let (old, new) = (u32::from(old), u32::from(new));
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
        IpAddr::V6(new) if f.v6 => {
            let mut ip = Ipv6Packet::new_unchecked(l3);
            let old = match end {
                End::Dst => ip.dst_addr(),
                End::Src => ip.src_addr(),
            };
            match end {
                End::Dst => ip.set_dst_addr(new),
                End::Src => ip.set_src_addr(new),
            }
            if f.frag != Frag::Later {
                transport6(l3_of(frame), f, end, &old, &new, port);
            }
        }
        _ => {}
    }
}

fn l3_of(frame: &mut [u8]) -> &mut [u8] {
    frame.get_mut(ETH_LEN..).unwrap_or_default()
}

/// The TCP/UDP header behind IPv6: ports and the checksum, whose pseudo header holds
/// the changed address (RFC 8200 8.1; no IP header checksum in IPv6).
fn transport6(l3: &mut [u8], f: &Flow, end: End, old: &Ipv6Addr, new: &Ipv6Addr, port: u16) {
    let Some(l4) = l3.get_mut(f.l4..) else { return };
    let csum_at = match f.proto {
        ip_proto::TCP => 16,
        ip_proto::UDP => 6,
        _ => return,
    };
    let port_at = if end == End::Dst { 2 } else { 0 };
    let word = |b: &[u8], at: usize| b.get(at..at + 2).map(|w| u16::from_be_bytes([w[0], w[1]]));
    let (Some(old_port), Some(c)) = (word(l4, port_at), word(l4, csum_at)) else { return };
    let c = checksum::update16(checksum::update_ipv6_addr(c, old, new), old_port, port);
    l4[port_at..port_at + 2].copy_from_slice(&port.to_be_bytes());
    l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
}

/// RFC 1812 5.3.1 / RFC 8200 3: a forwarded packet loses one TTL or hop limit (the
/// IPv4 header checksum patched). IPVS does it in every forwarding method since Linux
/// 4.11 (decrement_ttl in ip_vs_xmit.c); the caller has checked it is above 1.
pub(crate) fn decrement_ttl(frame: &mut [u8], f: &Flow) {
    let Some(l3) = frame.get_mut(ETH_LEN..) else { return };
    if f.v6 {
        let mut ip = Ipv6Packet::new_unchecked(l3);
        let h = ip.hop_limit();
        ip.set_hop_limit(h.saturating_sub(1));
    } else {
        Ipv4Packet::new_unchecked(l3).decrement_ttl();
    }
}
