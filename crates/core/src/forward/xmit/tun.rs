//! TUN (ip_vs_tunnel_xmit / _v6): IPIP for IPv4, IPv6-in-IPv6 (RFC 2473) for IPv6, with
//! the director's address on the egress port as outer source.

use std::net::IpAddr;

use wire::{IpipEncap, Ipv6TunnelEncap, PacketBuf};

use super::super::flow::{Flow, ETH_LEN};
use super::super::Action;
use crate::addr::Addr;
use crate::l3::{Hop, IcmpError};
use crate::stats::DropReason;

/// Outer TTL of tunnelled packets (Linux ip_tunnel default: inherit is off, 64).
const TUN_TTL: u8 = 64;

/// Encapsulate `pkt` for `rs` along `hop`. A packet that no longer fits the egress MTU
/// gets fragmentation needed when DF is set (RFC 1191) or, IPv6, packet too big (RFC
/// 8201), and is dropped otherwise: rvs does not fragment; all counted. `ident` is this
/// worker's running IPv4 identification for outer headers.
pub(super) fn encapsulate<P: PacketBuf>(
    pkt: &mut P,
    f: &Flow,
    rs: Addr,
    hop: &Hop,
    ident: &mut u16,
) -> Result<(), Action> {
    let outer = if f.v6 { wire::ip6tnl::OUTER_HEADER_LEN } else { wire::ipip::OUTER_HEADER_LEN };
    let mtu = usize::from(hop.mtu);
    if f.ip_len + outer > mtu {
        return Err(if f.dont_frag {
            let room = mtu.saturating_sub(outer) as u16;
            Action::IcmpError { err: IcmpError::TooBig { mtu: room }, reason: DropReason::TooBig }
        } else {
            Action::Drop(DropReason::TooBig)
        });
    }
    let done = match (hop.src, rs.to_ip()) {
        (Some(IpAddr::V4(src)), IpAddr::V4(dst)) => {
            *ident = ident.wrapping_add(1);
            wire::ipip::encapsulate(pkt, ETH_LEN, &IpipEncap { src, dst, ttl: TUN_TTL, ident: *ident })
        }
        (Some(IpAddr::V6(src)), IpAddr::V6(dst)) => {
            let encap = Ipv6TunnelEncap { src, dst, hop_limit: TUN_TTL, flow_label: 0 };
            wire::ip6tnl::encapsulate(pkt, ETH_LEN, &encap)
        }
        _ => return Err(Action::Drop(DropReason::NoRoute)),
    };
    done.map_err(|_| Action::Drop(DropReason::TooBig))
}
