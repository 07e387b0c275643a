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
use super::xmit::End;
use super::Action;
use crate::conn::{ConnId, Dir, TcpFlags, Verdict};
use crate::l3::Node;
use crate::service::FwdMethod;
use crate::stats::DropReason;

impl Balancer {
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
            (Dir::In, FwdMethod::Masq) => rewrite4(data, f, Some((End::Dst, c.daddr, c.dport))),
            (Dir::Out, _) => rewrite4(data, f, Some((End::Src, c.vaddr, c.vport))),
            _ => rewrite4(data, f, None),
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

/// The TTL decrement (RFC 1812 5.3.1) and, for NAT, one end's address and port, with
/// one RFC 1624 update per checksum: what `decrement_ttl` then `nat` do, in fewer
/// steps (one's-complement sums are associative). `f`: TCP or UDP, option-less header
/// (the fast path's conditions), TTL above 1.
#[inline]
fn rewrite4(frame: &mut [u8], f: &Flow, nat: Option<(End, [u8; 4], u16)>) {
    use wire::checksum::fold;
    const ETH: usize = 14;
    let w = |b: &[u8], at: usize| b.get(at..at + 2).map_or(0, |x| u16::from_be_bytes([x[0], x[1]]));
    let Some(ip) = frame.get_mut(ETH..ETH + 20) else { return };
    let ttl_old = w(ip, 8);
    ip[8] = ip[8].saturating_sub(1);
    let mut sum = u64::from(!w(ip, 10)) + u64::from(!ttl_old) + u64::from(w(ip, 8));
    let Some((end, new, port)) = nat else {
        ip[10..12].copy_from_slice(&(!fold(sum)).to_be_bytes());
        return;
    };
    let at = if end == End::Dst { 16 } else { 12 };
    let (old_hi, old_lo) = (w(ip, at), w(ip, at + 2));
    let (new_hi, new_lo) = (u16::from_be_bytes([new[0], new[1]]), u16::from_be_bytes([new[2], new[3]]));
    let addr = u64::from(!old_hi) + u64::from(!old_lo) + u64::from(new_hi) + u64::from(new_lo);
    sum += addr;
    ip[10..12].copy_from_slice(&(!fold(sum)).to_be_bytes());
    ip[at..at + 4].copy_from_slice(&new);
    let udp = f.proto == wire::ip_proto::UDP;
    let (csum_at, len) = if udp { (6, 8) } else { (16, 18) };
    let Some(l4) = frame.get_mut(ETH + 20..ETH + 20 + len) else { return };
    let port_at = if end == End::Dst { 2 } else { 0 };
    let (c, old_port) = (w(l4, csum_at), w(l4, port_at));
    // A UDP checksum of 0 means none (RFC 768): it stays 0, and a computed 0 is sent
    // as 0xffff.
    if !(udp && c == 0) {
        let n = !fold(u64::from(!c) + addr + u64::from(!old_port) + u64::from(port));
        let n = if udp && n == 0 { 0xffff } else { n };
        l4[csum_at..csum_at + 2].copy_from_slice(&n.to_be_bytes());
    }
    l4[port_at..port_at + 2].copy_from_slice(&port.to_be_bytes());
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
    let mut sum = 0u32;
    for w in h.chunks_exact(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    true
}
