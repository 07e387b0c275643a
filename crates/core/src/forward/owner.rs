//! Which worker owns a packet's connection, computed rather than looked up where it can
//! be: the client's RSS queue, a FullNAT local port's low bits; the owner directory for
//! the few connections away from their client's queue; later fragments following their
//! first. The balancer redirects by these.

use wire::PacketBuf;

use super::balancer::{bound, Action, Balancer, SWEEP_BUDGET};
use super::flow::Flow;
use super::frag;
use super::xmit::Xmit;
use crate::conn::{ConnId, Dir};
use crate::l3::Node;
use crate::stats::DropReason;

impl Balancer {
    /// The worker holding the connection a real server → client packet `t` replies on,
    /// when it is not this one: the owner directory for the few connections that live away
    /// from their client's queue (persistence with a netmask), else the client's queue.
    pub(super) fn reply_owner(&self, t: &crate::addr::Tuple) -> Option<u8> {
        if self.snap.is_laddr(&t.dst) {
            return Some(self.lport_owner(t.dport)).filter(|&o| o != self.core);
        }
        if let Some(owner) = self.owners.owner(self.core, t) {
            return Some(owner);
        }
        Some(self.client_home(t.dst)).filter(|&h| h != self.core)
    }

    /// The worker that holds the connection of `t` (a client → VIP or real server →
    /// client key) when it is not this one.
    pub(super) fn elsewhere(&self, t: &crate::addr::Tuple) -> Option<u8> {
        match self.snap.find(t.proto, t.dst, t.dport, 0) {
            Some(svc) => Some(self.home(svc, t)).filter(|&h| h != self.core),
            None => self.reply_owner(t),
        }
    }

    /// The worker that schedules new connections of this client for service `svc`: the
    /// queue RSS delivers the client's packets to. The ports hash the client's address
    /// alone (its source on the client side, its destination on the server side), so
    /// with RSS that is the worker that receives the connection's packets in both
    /// directions, and all of one client's connections share a worker: its persistence
    /// templates and its rr/wrr sequence are exactly IPVS's. For a persistent service
    /// with a netmask (`-M`), the masked address's queue schedules all of the subnet's
    /// clients (persistence stays exact); those connections' packets cross over to it.
    /// Without RSS (af_packet's fanout) the same function is simply a stable hash.
    #[inline]
    pub(super) fn home(&self, svc: usize, t: &crate::addr::Tuple) -> u8 {
        let full = if t.src.is_v4() { 32 } else { 128 };
        let prefix = self.snap.service(svc).and_then(|s| s.persistence).map_or(full, |p| p.prefix);
        self.client_home(t.src.masked(prefix))
    }

    /// The worker owning FullNAT source port `lport`.
    #[inline]
    pub(super) fn lport_owner(&self, lport: u16) -> u8 {
        crate::conn::laddr::lport_owner(lport, self.conns.config().workers)
    }

    /// The worker whose queue RSS delivers packets hashed on `client` to.
    #[inline]
    pub(super) fn client_home(&self, client: crate::addr::Addr) -> u8 {
        let workers = self.conns.config().workers.max(1);
        if workers == 1 {
            return self.core;
        }
        (u32::from(self.rss.queue_of(client)) % workers) as u8
    }

    /// The first fragment of a datagram went out on `id`: its later fragments follow,
    /// whichever worker receives them.
    pub(super) fn remember_fragment(&mut self, f: &Flow, id: ConnId, dir: Dir, now: u64) {
        let client = if dir == Dir::In { f.src } else { f.dst };
        let claim = self.client_home(client) != self.core;
        if let Some(old) = self.frags.remember(f, id, dir, now, claim) {
            self.owners.fragments().remove(self.core, &old);
        }
        if claim && !self.owners.fragments().insert(self.core, &frag::owner_key(f)) {
            self.stats.directory_full.inc();
        }
    }

    /// Enter connection `id`'s reply tuple in the owner directory; the table reports it
    /// when the connection goes. Departures are released first, so a reply key reused
    /// by a new connection is never removed on its predecessor's behalf.
    pub(super) fn share(&mut self, id: ConnId, reply: &crate::addr::Tuple) {
        self.release_departed();
        if self.owners.insert(self.core, reply) {
            self.conns.mark_shared(id);
        } else {
            self.stats.directory_full.inc();
        }
    }

    /// Remove from the owner directory the reply tuples of connections that left the
    /// table (expired, or removed by expire_nodest_conn or conn_reuse_mode).
    pub(super) fn release_departed(&mut self) {
        let (owners, core) = (&self.owners, self.core);
        self.conns.drain_departed(|t| {
            owners.remove(core, t);
        });
    }

    /// Timer-tick upkeep of the owner directory: departures, fragment keys timed out,
    /// bounded tombstone reclamation.
    pub(super) fn tend_directory(&mut self, now: u64) {
        self.release_departed();
        let (owners, core) = (&self.owners, self.core);
        self.frags.sweep(now, SWEEP_BUDGET, |k| {
            owners.fragments().remove(core, k);
        });
        self.owners.sweep(self.core, SWEEP_BUDGET);
    }

    /// A fragment without transport header: sent the way its first fragment went, the
    /// forwarding method's address rewrite only.
    pub(super) fn later_fragment<P: PacketBuf>(
        &mut self,
        pkt: &mut P,
        f: &Flow,
        node: &mut Node<P>,
        now: u64,
        redirected: bool,
    ) -> Action {
        let Some((id, dir)) = self.frags.find(f, now) else {
            if !redirected {
                // Its datagram's worker: named in the owner directory when that is not the
                // client's queue; else the client's (the source towards a VIP).
                let claimed = self.owners.fragments().owner(self.core, &frag::owner_key(f));
                let client = if node.config().is_local_addr(f.dst) { f.src } else { f.dst };
                let home = Some(self.client_home(client)).filter(|&h| h != self.core);
                if let Some(owner) = claimed.or(home) {
                    return Action::Redirect(owner);
                }
            }
            return Action::Drop(DropReason::Fragment);
        };
        let Some(c) = self.conns.get(id) else { return Action::Drop(DropReason::Fragment) };
        // The slot's connection may have been replaced since: check it is this flow's.
        let (src, dst) = (f.src, f.dst);
        let ours = match dir {
            Dir::In => c.caddr() == src && c.vaddr() == dst,
            Dir::Out => c.daddr() == src && c.caddr() == dst,
        };
        if !ours || c.is_template() {
            return Action::Drop(DropReason::Fragment);
        }
        let (x, e) = bound(c);
        if let Some(d) = self.stats.dest(e.dest) {
            let (pkts, bytes) = if dir == Dir::In { (&d.inpkts, &d.inbytes) } else { (&d.outpkts, &d.outbytes) };
            pkts.inc();
            bytes.add(f.ip_len as u64);
        }
        let Some(x) = x else { return Action::Drop(DropReason::Fragment) };
        if let Err(a) = Xmit::hop(pkt, f) {
            return a;
        }
        match dir {
            Dir::In => x.inbound(pkt, f, &e, node, &mut self.tun_ident, None),
            Dir::Out => x.reply(pkt, f, &e, None),
        }
    }
}
