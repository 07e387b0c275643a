//! Virtual-service forwarding in front of the L3 node: IPVS's ip_vs_in/ip_vs_out with
//! the NAT (`-m`), DR (`-g`) and TUN (`-i`) transmitters of ip_vs_xmit.c.

mod balancer;
mod directory;
mod fast;
mod flow;
mod frag;
mod frame;
mod held;
mod icmp;
mod owner;
mod reset;
pub mod synproxy;
mod trash;
mod xmit;

use balancer::Staged;
pub use balancer::{Action, Balancer};
pub use directory::{Directory, Table};

use std::collections::VecDeque;

use arrayvec::ArrayVec;
use std::sync::mpsc::Sender;
use std::sync::Arc;

use wire::PacketBuf;

use crate::ctl::{ConnChunk, Publication, WorkerCtl};
use crate::l3::{Io, L3Config, Node};
use crate::service::Snapshot;

/// Frames handled per stage: a DPDK burst.
const STAGE: usize = 32;

/// Connection-table slots a listing visits per timer tick: a full 1M table is listed
/// in 256 ticks, each a fraction of a millisecond of not polling.
pub const LIST_SLOTS_PER_TICK: u32 = 4096;

/// A connection listing in progress: where it is in the slab, and who waits for it.
struct Listing {
    reply: Sender<ConnChunk>,
    next: u32,
}

/// One worker's packet logic: the balancer first, the L3 node for everything else.
pub struct Director<P> {
    pub node: Node<P>,
    pub lb: Balancer,
    /// The newest snapshot received since the last tick, adopted at the tick.
    pending: Option<Publication>,
    /// Listings being served, one chunk of the first per tick.
    listings: VecDeque<Listing>,
    /// The network configuration as published; the node runs it with the services'
    /// FullNAT local addresses added ([`with_laddrs`]).
    net: Arc<L3Config>,
    /// SYN proxy: segments held for connections awaiting their server's SYN-ACK.
    held: held::Held<P>,
    /// A burst's staged frames, kept between bursts (3 KiB not cleared per burst).
    staged: Box<[Staged; STAGE]>,
}

/// `net` with the FullNAT local addresses of `snap` answered (ARP, NDP, gratuitous ARP
/// on gaining them) on the port whose subnet holds them, else the port routing to them:
/// the real servers send their replies there. Only those of services whose VIP this
/// director holds: a VRRP backup (the VIP on the other director's twin) must leave
/// them to the master, and takes them, announced, with the VIP. The same `Arc` when
/// there are none.
pub fn with_laddrs(net: &Arc<L3Config>, snap: &Snapshot) -> Arc<L3Config> {
    use crate::service::ServiceKey;
    let held = |s: &&crate::service::Service| match s.key {
        ServiceKey::Proto { addr, .. } => net.is_local_addr(addr),
        ServiceKey::Fwmark { .. } => true,
    };
    let mut laddrs = snap.services().iter().filter(held).flat_map(|s| s.laddrs.iter()).peekable();
    if laddrs.peek().is_none() {
        return net.clone();
    }
    let mut cfg = L3Config::clone(net);
    for a in laddrs {
        let ip = a.to_ip();
        let on_link = cfg.ports.iter().position(|p| match ip {
            std::net::IpAddr::V4(v4) => p.addrs.iter().any(|c| c.contains(v4)),
            std::net::IpAddr::V6(v6) => p.addrs6.iter().any(|c| c.contains(v6)),
        });
        let port = on_link.or_else(|| cfg.route(ip).map(|h| usize::from(h.port))).unwrap_or(0);
        let Some(p) = cfg.ports.get_mut(port) else { continue };
        match ip {
            std::net::IpAddr::V4(v4) if !p.vips.contains(&v4) => p.vips.push(v4),
            std::net::IpAddr::V6(v6) if !p.vips6.contains(&v6) => p.vips6.push(v6),
            _ => {}
        }
    }
    Arc::new(cfg)
}

impl<P: PacketBuf> Director<P> {
    pub fn new(mut node: Node<P>, lb: Balancer) -> Self {
        let net = node.config_arc().clone();
        let run = with_laddrs(&net, lb.snapshot());
        if !Arc::ptr_eq(&run, &net) {
            node.set_config(run);
        }
        let staged = Box::new([Staged::EMPTY; STAGE]);
        Director { node, lb, pending: None, listings: VecDeque::new(), net, held: held::Held::new(), staged }
    }

    /// Handle one frame received on `port`; `redirected` when another core passed it
    /// here as the connection's owner.
    #[inline]
    pub fn input(&mut self, port: u16, mut pkt: P, now: u64, redirected: bool, io: &mut impl Io<P>) {
        let a = self.lb.process(&mut pkt, &mut self.node, now, redirected);
        self.dispatch(port, pkt, a, now, io);
    }

    /// Send the frame the balancer asked to go before the packet just processed, the
    /// same way.
    #[cold]
    fn dispatch_extra(&mut self, port: u16, a: Action, now: u64, io: &mut impl Io<P>) {
        let Some(x) = self.lb.extra.take() else { return };
        let Some(mut p) = io.alloc() else { return io.count_drop(port, crate::stats::DropReason::NoMbuf) };
        match p.append(x.len()) {
            Some(d) => d.copy_from_slice(x.data()),
            None => return io.drop(port, p, crate::stats::DropReason::NoMbuf),
        }
        self.dispatch_one(port, p, a, now, io);
    }

    #[inline]
    fn dispatch(&mut self, port: u16, pkt: P, a: Action, now: u64, io: &mut impl Io<P>) {
        if self.lb.extra.is_some() {
            self.dispatch_extra(port, a, now, io);
        }
        if self.lb.side.is_some() {
            self.dispatch_side(port, now, io);
        }
        self.dispatch_one(port, pkt, a, now, io);
    }

    /// Send the frame the balancer built beside the packet, with its own action.
    #[cold]
    fn dispatch_side(&mut self, port: u16, now: u64, io: &mut impl Io<P>) {
        let Some((x, a)) = self.lb.take_side() else { return };
        let Some(mut p) = io.alloc() else { return io.count_drop(port, crate::stats::DropReason::NoMbuf) };
        match p.append(x.len()) {
            Some(d) => d.copy_from_slice(x.data()),
            None => return io.drop(port, p, crate::stats::DropReason::NoMbuf),
        }
        self.dispatch_one(port, p, a, now, io);
    }

    /// SYN proxy: hold a client segment, or release what was held.
    #[cold]
    fn synproxy(&mut self, port: u16, pkt: P, a: Action, now: u64, io: &mut impl Io<P>) {
        match a {
            Action::Hold { conn, open } => {
                let cookie = if open { self.lb.synproxy_cookie(conn) } else { None };
                let svc = self.lb.service_of_conn(conn);
                match self.held.hold(conn, cookie, port, pkt, now) {
                    Ok(()) => self.lb.stats.synproxy_inc(svc, |c| &c.held),
                    // Dropped: the client sends it again.
                    Err(_) => self.lb.stats.synproxy_inc(svc, |c| &c.held_dropped),
                }
            }
            Action::Release(conn) => {
                // The server's SYN-ACK (`pkt`) is consumed; the held segments go on.
                drop(pkt);
                let cookie = self.lb.synproxy_cookie(conn);
                for (p, held) in self.held.take(conn, cookie).into_iter().flatten() {
                    self.input(p, held, now, true, io);
                }
            }
            _ => {}
        }
    }

    /// SYN proxy timers: SYNs not answered go again, then the connection is given up.
    fn serve_synproxy(&mut self, now: u64, io: &mut impl Io<P>) {
        while self.held.wait.front().is_some_and(|w| w.due <= now) {
            let Some(w) = self.held.wait.pop_front() else { break };
            if !self.lb.synproxy_waiting(w.conn, w.cookie) {
                self.held.map.remove(&w.conn);
                continue;
            }
            if w.tries >= held::RS_SYN_TRIES {
                self.lb.synproxy_give_up(w.conn, w.cookie);
                self.held.map.remove(&w.conn);
                continue;
            }
            let sent = match self.held.map.get(&w.conn).and_then(|l| l.first()) {
                Some((_, ack)) => self.lb.synproxy_resend(w.conn, w.cookie, ack.data(), &mut self.node, now).is_some(),
                None => false,
            };
            if sent {
                self.dispatch_side(0, now, io);
                self.held.wait.push_back(held::Wait { due: now + held::RS_SYN_TIMEOUT_MS, tries: w.tries + 1, ..w });
            } else {
                self.lb.synproxy_give_up(w.conn, w.cookie);
                self.held.map.remove(&w.conn);
            }
        }
    }

    #[inline]
    fn dispatch_one(&mut self, port: u16, pkt: P, a: Action, now: u64, io: &mut impl Io<P>) {
        match a {
            Action::Pass => self.node.input(port, pkt, now, io),
            Action::Output(dst) => self.node.output(pkt, dst, now, io),
            Action::Via(hop) => self.node.send_hop(pkt, hop, now, io),
            Action::Send { port, mac } => self.node.send_to(port, mac, pkt, io),
            Action::Drop(reason) => io.drop(port, pkt, reason),
            Action::Redirect(core) => io.redirect(core, port, pkt),
            Action::Reflect => self.node.reflect(port, pkt, io),
            Action::IcmpError { err, reason } => {
                self.node.icmp_error(port, pkt.data(), err, now, io);
                io.drop(port, pkt, reason);
            }
            Action::Hold { .. } | Action::Release(_) => self.synproxy(port, pkt, a, now, io),
        }
    }

    /// Handle a burst of frames received on `port` (the worker's rx burst, or a ring of
    /// packets redirected here when `redirected`), in the order received, in stages as
    /// VPP and l3fwd do, so the cache misses of a burst overlap instead of queueing:
    /// prefetch every frame's headers; parse and hash each and prefetch its index bucket;
    /// prefetch the connection entries the buckets name; then decide, rewrite and output.
    pub fn input_burst(
        &mut self,
        port: u16,
        pkts: impl IntoIterator<Item = P>,
        now: u64,
        redirected: bool,
        io: &mut impl Io<P>,
    ) {
        let mut it = pkts.into_iter();
        let mut batch: ArrayVec<P, STAGE> = ArrayVec::new();
        // Staged in place and read by reference: never moved (see `stage_into`).
        loop {
            for p in it.by_ref().take(STAGE) {
                p.prefetch();
                // `take(STAGE)` keeps it within capacity; never a panicking push.
                let _ = batch.try_push(p);
            }
            if batch.is_empty() {
                return;
            }
            let full = batch.is_full();
            for (p, s) in batch.iter().zip(self.staged.iter_mut()) {
                self.lb.stage_into(p, s);
            }
            for s in self.staged.iter().take(batch.len()) {
                self.lb.prefetch_entries(s);
            }
            for (i, mut p) in batch.drain(..).enumerate() {
                let Some(s) = self.staged.get(i) else { break };
                let a = self.lb.process_staged(&mut p, s, &mut self.node, now, redirected);
                // The two commonest answers straight out (an established flow's next
                // hop; a SYN proxy's cookie), unless a frame must go with them.
                let alone = self.lb.extra.is_none() && self.lb.side.is_none();
                match a {
                    Action::Send { port, mac } if alone => self.node.send_to(port, mac, p, io),
                    Action::Reflect if alone => self.node.reflect(port, p, io),
                    a => self.dispatch(port, p, a, now, io),
                }
            }
            if !full {
                return;
            }
        }
    }

    /// Timers of both halves, after adopting the newest snapshot received and serving
    /// one bounded chunk of a connection listing.
    pub fn tick(&mut self, now: u64, io: &mut impl Io<P>) {
        if let Some(p) = self.pending.take() {
            let same_laddrs = p.snap.laddrs().count() == self.lb.snapshot().laddrs().count()
                && p.snap.laddrs().all(|a| self.lb.snapshot().is_laddr(a));
            self.lb.adopt(p.snap, p.scheds);
            if !Arc::ptr_eq(&p.net, &self.net) || !same_laddrs {
                self.net = p.net;
                self.node.set_config(with_laddrs(&self.net, self.lb.snapshot()));
            }
        }
        self.serve_listing(now);
        self.node.tick(now, io);
        self.lb.tick(now);
        self.serve_synproxy(now, io);
        self.send_resets(now, io);
    }

    /// The RSTs of established FullNAT connections that expired this tick.
    fn send_resets(&mut self, now: u64, io: &mut impl Io<P>) {
        for r in self.lb.resets.drain(..) {
            let Some(p) = io.alloc() else {
                io.count_drop(0, crate::stats::DropReason::NoMbuf);
                continue;
            };
            if let Some(p) = reset::build(p, &r) {
                self.node.output(p, r.dst.to_ip(), now, io);
            }
        }
    }

    fn serve_listing(&mut self, now: u64) {
        let Some(l) = self.listings.front_mut() else { return };
        let mut conns = Vec::new();
        let next = self.lb.conns().list_chunk(l.next, LIST_SLOTS_PER_TICK, now, &mut conns);
        // A requester that gave up has dropped its receiver: stop listing for it.
        let sent = l.reply.send(ConnChunk { conns, done: next.is_none() }).is_ok();
        match next {
            Some(n) if sent => l.next = n,
            _ => {
                self.listings.pop_front();
            }
        }
    }

    pub fn set_snapshot(&mut self, snap: Arc<Snapshot>) {
        self.lb.set_snapshot(snap);
        let run = with_laddrs(&self.net, self.lb.snapshot());
        if !Arc::ptr_eq(&run, self.node.config_arc()) {
            self.node.set_config(run);
        }
    }

    /// Carry out a control-thread request (at a timer tick, never per packet).
    pub fn control(&mut self, msg: WorkerCtl, _now: u64) {
        match msg {
            // Only the newest queued snapshot is adopted, at the tick.
            WorkerCtl::Snapshot(p) => match &mut self.pending {
                Some(q) => q.merge(p),
                None => self.pending = Some(p),
            },
            WorkerCtl::Timeouts { tcp, tcpfin, udp } => self.lb.conns_mut().set_timeouts(tcp, tcpfin, udp),
            WorkerCtl::ListConns(reply) => self.listings.push_back(Listing { reply, next: 0 }),
            // The worker loop arms captures; a director alone has no frames to copy.
            WorkerCtl::Capture(_) => {}
            WorkerCtl::Sync(q) => self.lb.set_sync(q),
        }
    }
}
