//! Virtual-service forwarding in front of the L3 node: IPVS's ip_vs_in/ip_vs_out with
//! the NAT (`-m`), DR (`-g`) and TUN (`-i`) transmitters of ip_vs_xmit.c.

mod balancer;
mod flow;
mod frag;
mod icmp;
mod owner;
mod xmit;

pub use balancer::{Action, Balancer};
pub use owner::OwnerMap;

use std::sync::Arc;

use wire::PacketBuf;

use crate::ctl::WorkerCtl;
use crate::l3::{Io, Node};
use crate::service::Snapshot;

/// One worker's packet logic: the balancer first, the L3 node for everything else.
pub struct Director<P> {
    pub node: Node<P>,
    pub lb: Balancer,
}

impl<P: PacketBuf> Director<P> {
    pub fn new(node: Node<P>, lb: Balancer) -> Self {
        Director { node, lb }
    }

    /// Handle one frame received on `port`; `redirected` when another core passed it
    /// here as the connection's owner.
    #[inline]
    pub fn input(&mut self, port: u16, mut pkt: P, now: u64, redirected: bool, io: &mut impl Io<P>) {
        match self.lb.process(&mut pkt, self.node.config(), now, redirected) {
            Action::Pass => self.node.input(port, pkt, now, io),
            Action::Output(dst) => self.node.output(pkt, dst, now, io),
            Action::Drop(reason) => io.drop(port, pkt, reason),
            Action::Redirect(core) => io.redirect(core, port, pkt),
            Action::IcmpError { ty, code, rest, reason } => {
                self.node.icmp_error(port, pkt.data(), ty, code, rest, now, io);
                io.drop(port, pkt, reason);
            }
        }
    }

    /// Timers of both halves.
    pub fn tick(&mut self, now: u64, io: &mut impl Io<P>) {
        self.node.tick(now, io);
        self.lb.tick(now);
    }

    pub fn set_snapshot(&mut self, snap: Arc<Snapshot>) {
        self.lb.set_snapshot(snap);
    }

    /// Carry out a control-thread request (at a timer tick, never per packet).
    pub fn control(&mut self, msg: WorkerCtl, now: u64) {
        match msg {
            WorkerCtl::Snapshot(snap) => self.set_snapshot(snap),
            WorkerCtl::Timeouts { tcp, tcpfin, udp } => self.lb.conns_mut().set_timeouts(tcp, tcpfin, udp),
            WorkerCtl::ListConns(reply) => {
                // The requester may have given up waiting; nothing to do then.
                let _ = reply.send(self.lb.conns().iter(now).collect());
            }
        }
    }
}
