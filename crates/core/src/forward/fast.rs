//! The common case in few instructions: an option-less, unfragmented IPv4 TCP or UDP
//! packet of a connection this worker holds, NAT or DR inbound or a NAT reply, whose
//! next hop is bound. Everything it does is what the general path (`established_in`,
//! `reply`) does for such a packet, in the same order, without the general path's
//! intermediate values (the connection's four addresses, its ends, a hop, an action
//! carrying it); any other packet, or one whose hop is not bound yet, takes the general
//! path, before anything was changed. `forward_burst` checks the two agree.

use wire::PacketBuf;

use super::balancer::Balancer;
use super::flow::{Flow, Frag};
use super::xmit::{decrement_ttl, nat_rewrite, End};
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
        if !self.fast_path || f.v6 || f.frag != Frag::Whole || f.ttl <= 1 {
            return None;
        }
        let c = self.conns.hot4(id)?;
        let (port, mac) = match (dir, c.fwd) {
            (Dir::In, FwdMethod::Masq) => {
                let (port, mac, _) = node.cached_hop4(c.dest, c.daddr)?;
                (port, mac)
            }
            (Dir::In, FwdMethod::Route) => {
                // DR needs the real server on-link (see `Xmit::bound`).
                let (port, mac, next) = node.cached_hop4(c.dest, c.daddr)?;
                if next != std::net::IpAddr::V4(c.daddr.into()) {
                    return None;
                }
                (port, mac)
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
        decrement_ttl(data, f);
        match (dir, c.fwd) {
            (Dir::In, FwdMethod::Masq) => nat_rewrite(data, f, End::Dst, crate::addr::Addr::v4(c.daddr), c.dport),
            (Dir::Out, _) => nat_rewrite(data, f, End::Src, crate::addr::Addr::v4(c.vaddr), c.vport),
            _ => {}
        }
        self.fast_packets += 1;
        Some(Action::Send { port, mac })
    }
}
