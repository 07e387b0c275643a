//! The common case in few instructions: an unfragmented IPv4 TCP or UDP packet with a
//! 20-byte header, of a connection this worker holds (NAT, DR or TUN inbound, or a NAT
//! reply) whose next hop is bound. It does what the general path (`established_in`,
//! `reply`) does for such a packet, in the same order, without the general path's
//! intermediate values (the connection's four addresses, its ends, a hop, an action
//! carrying it). Any other packet, or one whose hop is not bound yet, takes the general
//! path before anything was changed. `forward_burst` checks that the two agree.

use std::net::IpAddr;

use wire::PacketBuf;

use super::balancer::Balancer;
use super::flow::{Flow, Frag};
use super::xmit::{ttl_nat4, End};
use super::Action;
use crate::conn::{ConnId, Dir, TcpFlags, Verdict};
use crate::l3::Node;
use crate::service::FwdMethod;
use crate::stats::DropReason;

impl Balancer {
    /// The virtual service (no firewall mark) of a packet without a connection, from a
    /// one-entry cache of the last one found: a burst of new flows (a SYN flood above
    /// all) mostly goes to one service, and the hash lookup was a tenth of a SYN.
    #[inline]
    pub(super) fn find_service(&mut self, proto: u8, dst: crate::addr::Addr, dport: u16) -> Option<usize> {
        if let Some((p, a, port, svc)) = self.last_service {
            if (p, port) == (proto, dport) && a == dst {
                return Some(svc);
            }
        }
        let svc = self.snap.find(proto, dst, dport, 0)?;
        self.last_service = Some((proto, dst, dport, svc));
        Some(svc)
    }

    /// `Some(action)` when the fast path handled the packet, `None` (nothing changed)
    /// for the general path.
    #[inline]
    pub(super) fn fast<P: PacketBuf>(
        &mut self,
        pkt: &mut P,
        f: &Flow,
        id: ConnId,
        dir: Dir,
        node: &mut Node<P>,
        now: u64,
    ) -> Option<Action> {
        if !self.fast_path || f.v6 || f.frag != Frag::Whole || f.ttl <= 1 || f.l4 != 20 {
            return None;
        }
        let c = self.conns.hot4(id)?;
        let mut tun_src = [0u8; 4];
        let (port, mac) = match (dir, c.fwd) {
            (Dir::In, FwdMethod::Masq) => {
                let h = node.cached_hop4(c.dest, c.daddr)?;
                (h.port, h.mac?)
            }
            (Dir::In, FwdMethod::Route) => {
                // DR needs the real server on-link (see `Xmit::bound`).
                let h = node.cached_hop4(c.dest, c.daddr)?;
                if h.next_hop != IpAddr::V4(c.daddr.into()) {
                    return None;
                }
                (h.port, h.mac?)
            }
            (Dir::In, FwdMethod::Tunnel) => {
                // What `tun::encapsulate` refuses (too big, no IPv4 source) it answers
                // with errors: left to it.
                let h = node.cached_hop4(c.dest, c.daddr)?;
                let Some(IpAddr::V4(src)) = h.src else { return None };
                if f.ip_len + OUTER > usize::from(h.mtu) || pkt.headroom() < OUTER {
                    return None;
                }
                tun_src = src.octets();
                (h.port, h.mac?)
            }
            (Dir::Out, FwdMethod::Masq) => node.cached_output4(c.caddr)?,
            _ => return None,
        };
        match self.conns.on_packet(id, dir, TcpFlags(f.tcp_flags), now) {
            Verdict::Forward => {}
            Verdict::DropNoDest => return Some(Action::Drop(DropReason::DestRemoved)),
            // Gone (expire_nodest_conn, or a SYN reusing TIME_WAIT): as the general path.
            Verdict::Expired if dir == Dir::In => return Some(self.expired_in(pkt, f, node, now)),
            Verdict::Expired => return Some(Action::Drop(DropReason::DestRemoved)),
        }
        if let Some(d) = self.stats.dest(c.dest) {
            let (pkts, bytes) = if dir == Dir::In { (&d.inpkts, &d.inbytes) } else { (&d.outpkts, &d.outbytes) };
            pkts.inc();
            bytes.add(f.ip_len as u64);
        }
        let data = pkt.data_mut();
        match (dir, c.fwd) {
            (Dir::In, FwdMethod::Masq) => ttl_nat4(data, f, Some((End::Dst, c.daddr, c.dport))),
            (Dir::Out, _) => ttl_nat4(data, f, Some((End::Src, c.vaddr, c.vport))),
            _ => ttl_nat4(data, f, None),
        }
        if (dir, c.fwd) == (Dir::In, FwdMethod::Tunnel) {
            self.tun_ident = self.tun_ident.wrapping_add(1);
            if !ipip4(pkt, f, tun_src, c.daddr, self.tun_ident) {
                return Some(Action::Drop(DropReason::TooBig));
            }
        }
        self.fast_packets += 1;
        Some(Action::Send { port, mac })
    }
}

/// IPIP's outer header (RFC 2003), as `wire::ipip::encapsulate` writes it.
const OUTER: usize = 20;
/// Outer TTL, as the general path's (`tun::TUN_TTL`).
const TUN_TTL: u8 = 64;

/// Put an IPIP header from `src` to `dst` in front of the IPv4 packet of `pkt` (the
/// Ethernet header moves to the new front; padding after the packet is trimmed), exactly
/// as `wire::ipip::encapsulate` does: DSCP/ECN and DF copied from the inner header.
#[inline]
fn ipip4<P: PacketBuf>(pkt: &mut P, f: &Flow, src: [u8; 4], dst: [u8; 4], ident: u16) -> bool {
    const ETH: usize = 14;
    let pad = pkt.len().saturating_sub(ETH + f.ip_len);
    if !pkt.trim(pad) {
        return false;
    }
    let Some(d) = pkt.prepend(OUTER) else { return false };
    let Some(inner) = d.get(ETH + OUTER..ETH + OUTER + 2) else { return false };
    let tos = inner[1];
    d.copy_within(OUTER..OUTER + ETH, 0);
    let Some(h) = d.get_mut(ETH..ETH + OUTER) else { return false };
    let total = (f.ip_len + OUTER) as u16;
    let flags: u16 = if f.dont_frag { 0x4000 } else { 0 };
    h[0] = 0x45;
    h[1] = tos;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&ident.to_be_bytes());
    h[6..8].copy_from_slice(&flags.to_be_bytes());
    h[8] = TUN_TTL;
    h[9] = wire::ip_proto::IPIP;
    h[10] = 0;
    h[11] = 0;
    h[12..16].copy_from_slice(&src);
    h[16..20].copy_from_slice(&dst);
    let c = !wire::checksum::data(h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    true
}
