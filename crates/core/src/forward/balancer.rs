//! One core's virtual-service state: the configuration snapshot, a scheduler instance
//! per service, the connection table. Decides, per packet, what ip_vs_in / ip_vs_out
//! would: forward on a connection, schedule a new one, translate a reply, or let the
//! L3 node have it.

use std::net::IpAddr;
use std::sync::Arc;

use arrayvec::ArrayVec;

use wire::{ip_proto, tcp_flags, PacketBuf};

use super::directory::Directory;
use super::flow::{Flow, Frag};
use super::frag::FragTable;
use super::icmp;
use super::trash::Trash;
use super::xmit::{Ends, Extra, Fx, Xmit};
use crate::conn::{ConnConfig, ConnId, ConnRef, ConnTable, Dir, ScheduleError, Scheduled, TcpFlags, Verdict};
use crate::l3::{Hop, IcmpError, Node};
use crate::rss::{self, Rss};
use crate::sched::{Prebuilt, SchedSet};
use crate::service::{FwdMethod, Snapshot};
use crate::stats::{CoreStats, DropReason};

/// What to do with a packet after the balancer looked at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Not virtual-service traffic: the L3 node handles it.
    Pass,
    /// Rewritten as needed; send it towards this address (routed per packet).
    Output(IpAddr),
    /// Rewritten as needed; send it along this real server's bound next hop.
    Via(Hop),
    /// Rewritten, and the next hop known: out of `port` to `mac`.
    Send {
        port: u16,
        mac: wire::EthernetAddress,
    },
    Drop(DropReason),
    /// Another core owns the connection.
    Redirect(u8),
    /// SYN proxy: keep the packet until connection `conn`'s real server answers
    /// (`open`: the client's ACK that opened it; its SYN goes out beside it).
    Hold {
        conn: u32,
        open: bool,
    },
    /// SYN proxy: the real server answered (this packet, its SYN-ACK, is consumed): the
    /// packets held for connection `conn` go on.
    Release(u32),
    /// Rewritten into an answer to its sender: out of the port it came in on, to the
    /// MAC it came from (DPVS's SYN proxy answers so: no route or neighbour lookup).
    Reflect,
    /// Answer the sender with this ICMP error, then drop the packet counting `reason`.
    IcmpError {
        err: IcmpError,
        reason: DropReason,
    },
}

/// A frame after stage one of a burst: parsed, and its tuple hashed when it has one to
/// look up.
#[derive(Clone, Copy)]
pub(crate) struct Staged {
    /// Meaningful only when `parsed`.
    flow: Flow,
    parsed: bool,
    hash: Option<u64>,
}

impl Staged {
    pub(crate) const EMPTY: Staged = Staged { flow: Flow::EMPTY, parsed: false, hash: None };
}

/// Expiry work per timer tick, so a mass expiry never stalls the loop.
const EXPIRE_BUDGET: usize = 256;
/// Owner-directory slots (and fragment slots) swept for reclaimable entries per tick.
pub(super) const SWEEP_BUDGET: usize = 4096;

pub struct Balancer {
    pub(super) core: u8,
    pub(super) snap: Arc<Snapshot>,
    pub(super) scheds: SchedSet,
    pub(super) conns: ConnTable,
    pub(super) owners: Arc<Directory>,
    pub(super) stats: Arc<CoreStats>,
    pub(super) tun_ident: u16,
    pub(super) frags: FragTable,
    /// How the NIC spreads clients over the workers' queues: a client's home worker is
    /// the queue RSS delivers its packets to.
    pub(super) rss: Arc<Rss>,
    trash: Trash,
    /// Established IPv4 packets take [`Balancer::fast`] (on unless a test compares it
    /// with the general path).
    pub(super) fast_path: bool,
    /// Packets the fast path handled.
    pub(super) fast_packets: u64,
    /// A frame the director sends before the packet just processed (FullNAT's PROXY
    /// header in a segment of its own).
    pub(super) extra: Option<Extra>,
    /// RSTs for established FullNAT connections that expired, sent by the director
    /// after the tick (bounded: beyond it connections expire silently).
    pub(super) resets: ArrayVec<super::reset::Reset, RESETS>,
    /// A frame to send beside the packet just processed, with its own action (the SYN
    /// proxy's SYN to a real server).
    pub(super) side: Option<(super::frame::FrameBuf, Action)>,
    /// A fixed FullNAT ISN instead of the keyed, clocked one (fixtures only).
    fixed_isn: Option<u32>,
    /// SYN cookie keys: the process's, or fixed ones (fixtures).
    pub(super) cookie_keys: &'static super::synproxy::cookie::CookieKeys,
    /// Connection sync: this worker's queues.
    sync: Option<Arc<crate::sync::SyncQueues>>,
    /// The last virtual service found for a packet without a connection (see
    /// `find_service`); cleared with every new snapshot.
    pub(super) last_service: Option<(u8, crate::addr::Addr, u16, usize)>,
}

/// RSTs sent per tick (expired FullNAT connections, two each; refused SYN proxies).
const RESETS: usize = 256;

impl Balancer {
    /// `core` is this worker's index among the workers (its owner-directory partition).
    pub fn new(
        core: u8,
        conn: ConnConfig,
        snap: Arc<Snapshot>,
        owners: Arc<Directory>,
        stats: Arc<CoreStats>,
        now: u64,
    ) -> Self {
        let conns = ConnTable::new(conn, now);
        // Set once the table exists: rvsd's startup waits for it on every worker.
        stats.conn_capacity.set(u64::from(conn.effective_capacity()));
        let mut b = Balancer {
            core,
            snap: Arc::new(Snapshot::new(Vec::new(), conn.max_dests)),
            scheds: SchedSet::default(),
            conns,
            owners,
            stats,
            tun_ident: u16::from(core) << 12,
            frags: FragTable::new(),
            rss: Arc::new(Rss::new(rss::DEFAULT_KEY, conn.workers.max(1) as u16, 128)),
            trash: Trash::default(),
            fast_path: true,
            fast_packets: 0,
            extra: None,
            resets: ArrayVec::new(),
            side: None,
            fixed_isn: None,
            cookie_keys: super::synproxy::cookie::CookieKeys::process(),
            sync: None,
            last_service: None,
        };
        b.conns.set_lcore(core);
        b.scheds = SchedSet::new(&snap);
        b.conns.sync_snapshot(&snap);
        b.snap = snap;
        b
    }

    /// The RSS configuration the ports run (the default key and a 128-entry table
    /// otherwise): workers then compute each client's queue exactly as the NIC does.
    pub fn with_rss(mut self, rss: Arc<Rss>) -> Self {
        self.rss = rss;
        self
    }

    /// Turn the IPv4 fast path off (`false`) or on: tests check both paths agree.
    pub fn set_fast_path(&mut self, on: bool) {
        self.fast_path = on;
    }

    /// Give every new FullNAT connection this ISN towards its real server (`None`: the
    /// keyed hash and clock), so fixtures can be compared byte for byte.
    pub fn set_fixed_isn(&mut self, isn: Option<u32>) {
        self.fixed_isn = isn;
    }

    /// Make SYN cookies with `keys` instead of the process's random ones (fixtures).
    pub fn set_cookie_keys(&mut self, keys: &'static super::synproxy::cookie::CookieKeys) {
        self.cookie_keys = keys;
    }

    /// Packets the IPv4 fast path handled.
    pub fn fast_path_packets(&self) -> u64 {
        self.fast_packets
    }

    pub fn conns(&self) -> &ConnTable {
        &self.conns
    }

    pub fn conns_mut(&mut self) -> &mut ConnTable {
        &mut self.conns
    }

    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snap
    }

    /// Adopt a new configuration (RCU style: the control thread built it). Scheduler
    /// state carries over for services that keep their scheduler; connections keep
    /// their real server (ip_vs_edit_service semantics). Allocates; never per packet.
    pub fn set_snapshot(&mut self, snap: Arc<Snapshot>) {
        self.adopt(snap, Vec::new());
    }

    /// [`Balancer::set_snapshot`] with the schedulers the control thread built for it.
    pub fn adopt(&mut self, snap: Arc<Snapshot>, prebuilt: Vec<Prebuilt>) {
        self.scheds.adopt(&snap, prebuilt);
        self.conns.sync_snapshot(&snap);
        self.trash.follow(&self.snap, &snap);
        self.snap = snap;
        self.last_service = None;
    }

    pub fn scheds(&self) -> &SchedSet {
        &self.scheds
    }

    /// Classify one frame and apply the forwarding method's rewrite in place.
    /// `redirected`: it came from another core, which found this one the owner.
    #[inline]
    pub fn process<P: PacketBuf>(&mut self, pkt: &mut P, node: &mut Node<P>, now: u64, redirected: bool) -> Action {
        let s = self.stage(pkt);
        self.process_staged(pkt, &s, node, now, redirected)
    }

    /// Stage one of a burst: parse the frame and hash its tuple, and start loading the
    /// index bucket the lookup will read.
    #[inline]
    pub(crate) fn stage<P: PacketBuf>(&self, pkt: &P) -> Staged {
        let mut s = Staged::EMPTY;
        self.stage_into(pkt, &mut s);
        s
    }

    /// [`Balancer::stage`] into `s`, in place: a staged frame built aside and copied in
    /// is read back in 16-byte pieces its small field stores cannot forward to, a
    /// stall per frame.
    #[inline]
    pub(crate) fn stage_into<P: PacketBuf>(&self, pkt: &P, s: &mut Staged) {
        s.parsed = Flow::parse_into(pkt.data(), &mut s.flow);
        let f = &s.flow;
        s.hash = match s.parsed {
            true if !f.is_icmp() && f.frag != Frag::Later => {
                let h = self.conns.hash(&f.tuple());
                self.conns.prefetch_bucket(h);
                Some(h)
            }
            _ => None,
        };
    }

    /// Stage two: start loading the connection entries the bucket names.
    #[inline]
    pub(crate) fn prefetch_entries(&self, s: &Staged) {
        if let Some(h) = s.hash {
            self.conns.prefetch_entries(h);
        }
    }

    /// Stage three: decide and rewrite (ip_vs_in / ip_vs_out).
    #[inline]
    pub(crate) fn process_staged<P: PacketBuf>(
        &mut self,
        pkt: &mut P,
        s: &Staged,
        node: &mut Node<P>,
        now: u64,
        redirected: bool,
    ) -> Action {
        if !s.parsed {
            return Action::Pass;
        }
        let f = &s.flow;
        if f.is_icmp() {
            return self.icmp(pkt, f, node, now, redirected);
        }
        if f.frag == Frag::Later {
            return self.later_fragment(pkt, f, node, now, redirected);
        }
        let t = f.tuple();
        let h = s.hash.unwrap_or_else(|| self.conns.hash(&t));
        if let Some((id, dir)) = self.conns.lookup_hashed(&t, h) {
            if let Some(a) = self.fast(pkt, f, id, dir, node, now) {
                return a;
            }
            return match dir {
                Dir::In => self.established_in(id, pkt, f, node, now),
                Dir::Out => self.reply(id, pkt, f, now),
            };
        }
        // Not here. A packet to a virtual service belongs to its client's home worker:
        // computed, exact, no table.
        if let Some(svc) = self.find_service(f.proto, t.dst, f.dport) {
            // A SYN the proxy answers leaves no state: answered by whichever worker has
            // it, never passed to the client's home (its ACK goes there).
            if let Some(a) = self.synproxy_syn(svc, pkt, f, now) {
                return a;
            }
            let home = self.home(svc, &t);
            if home != self.core && !redirected {
                return Action::Redirect(home);
            }
            return self.schedule(svc, pkt, f, Some(h), node, now);
        }
        // A FullNAT reply to a local address: its port names the worker.
        if self.snap.is_laddr(&t.dst) {
            let owner = self.lport_owner(t.dport);
            if owner != self.core && !redirected {
                return Action::Redirect(owner);
            }
            return Action::Drop(if redirected { DropReason::RedirectMiss } else { DropReason::NoConn });
        }
        // Else perhaps a NAT reply to a client whose connection another worker holds.
        // Not to a group address (IPVS sync's 224.0.0.81, VRRP's): that is the kernel
        // twin's, from whichever queue it arrives on.
        if !redirected && !t.dst.is_group() && !node.config().is_local_addr(t.dst) {
            if let Some(owner) = self.reply_owner(&t) {
                return Action::Redirect(owner);
            }
        }
        if redirected {
            return Action::Drop(DropReason::RedirectMiss);
        }
        Action::Pass
    }

    /// A new ISN towards the real server for a FullNAT connection from `lport` of `e`:
    /// a keyed hash of the connection's server-side tuple plus a clock ticking every
    /// 64 ns, as Linux's secure_tcp_seq, so a port reused towards the same server gets
    /// a later ISN than its previous connection (the server's TIME_WAIT accepts it).
    pub(super) fn fnat_isn(&self, e: &Ends, proto: u8, now: u64) -> u32 {
        if let Some(isn) = self.fixed_isn {
            return isn;
        }
        let t = crate::addr::Tuple { proto, src: e.laddr, sport: e.lport, dst: e.rs, dport: e.rport };
        (self.conns.hash(&t) as u32).wrapping_add((now as u32).wrapping_mul(15_625))
    }

    /// A new flow for service `svc` (ip_vs_schedule). Only a SYN starts a TCP connection
    /// (IPVS with sloppy_tcp off).
    fn schedule<P: PacketBuf>(
        &mut self,
        svc: usize,
        pkt: &mut P,
        f: &Flow,
        hash: Option<u64>,
        node: &mut Node<P>,
        now: u64,
    ) -> Action {
        if f.proto == ip_proto::TCP && self.snap.service(svc).is_some_and(|s| s.synproxy) {
            return self.synproxy_first(svc, pkt, f, hash, node, now);
        }
        if f.proto == ip_proto::TCP
            && f.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::RST) != tcp_flags::SYN
        {
            return Action::Drop(DropReason::NoConn);
        }
        let (Some(service), Some(sched)) = (self.snap.service(svc), self.scheds.get_mut(svc)) else {
            return Action::Drop(DropReason::NoDest);
        };
        match self.conns.schedule_hashed(service, sched, &f.tuple(), hash, now) {
            Ok(Scheduled::Conn(id)) => {
                self.opened(id, f);
                if let Some(a) = self.fast(pkt, f, id, Dir::In, node, now) {
                    return a;
                }
                self.established_in(id, pkt, f, node, now)
            }
            Ok(Scheduled::OnePacket { dest }) => match service.dests.get(dest) {
                Some(d) => {
                    if let Some(c) = self.stats.dest(d.id.0) {
                        c.conns.inc();
                        c.inpkts.inc();
                        c.inbytes.add(f.ip_len as u64);
                    }
                    let rport = if d.port == 0 { f.dport } else { d.port };
                    let e = Ends {
                        client: f.src,
                        cport: f.sport,
                        vip: f.dst,
                        vport: f.dport,
                        rs: d.addr,
                        rport,
                        dest: d.id.0,
                        laddr: crate::addr::Addr::UNSPECIFIED,
                        lport: 0,
                    };
                    // One-packet scheduling keeps no connection to hold a local port.
                    let Some(x) = Xmit::of(d.fwd).filter(|x| *x != Xmit::FullNat) else {
                        return Action::Drop(DropReason::NoLaddr);
                    };
                    if let Err(a) = Xmit::hop(pkt, f) {
                        return a;
                    }
                    x.inbound(pkt, f, &e, node, &mut self.tun_ident, None)
                }
                None => Action::Drop(DropReason::NoDest),
            },
            Err(ScheduleError::Exists(id)) => self.established_in(id, pkt, f, node, now),
            Err(e) => Self::refused(e),
        }
    }

    /// What a connection refused by the scheduler means for its packet.
    pub(super) fn refused(e: ScheduleError) -> Action {
        match e {
            ScheduleError::NoDest => Action::IcmpError { err: IcmpError::PortUnreachable, reason: DropReason::NoDest },
            ScheduleError::Full => Action::Drop(DropReason::ConnTableFull),
            ScheduleError::NoLaddr => Action::Drop(DropReason::NoLaddr),
            ScheduleError::LaddrExhausted => Action::Drop(DropReason::LaddrExhausted),
            ScheduleError::Exists(_) => Action::Drop(DropReason::NoConn),
        }
    }

    /// Bookkeeping of a connection just scheduled from `f`: its real server's count,
    /// and, away from its client's queue (persistence with a netmask), its reply tuple
    /// told to the other workers.
    pub(super) fn opened(&mut self, id: ConnId, f: &Flow) {
        let Some(c) = self.conns.get(id) else { return };
        if let Some(d) = self.stats.dest(c.dest().0) {
            d.conns.inc();
        }
        if c.fwd() == FwdMethod::Masq && self.client_home(c.caddr()) != self.core {
            let reply = crate::addr::Tuple {
                proto: f.proto,
                src: c.daddr(),
                sport: c.dport(),
                dst: c.caddr(),
                dport: c.cport(),
            };
            self.share(id, &reply);
        }
    }

    /// Client → real server on an existing connection.
    fn established_in<P: PacketBuf>(
        &mut self,
        id: ConnId,
        pkt: &mut P,
        f: &Flow,
        node: &mut Node<P>,
        now: u64,
    ) -> Action {
        if let Some(a) = self.synproxy_hold(id) {
            return a;
        }
        match self.conns.on_packet(id, Dir::In, TcpFlags(f.tcp_flags), now) {
            Verdict::Forward => {}
            Verdict::DropNoDest => return Action::Drop(DropReason::DestRemoved),
            // expire_nodest_conn = 1 removed it: a SYN may be scheduled afresh.
            Verdict::Expired => return self.expired_in(pkt, f, node, now),
        }
        let Some(c) = self.conns.get(id) else { return Action::Drop(DropReason::NoConn) };
        let (x, e) = bound(c);
        if let Some(d) = self.stats.dest(e.dest) {
            d.inpkts.inc();
            d.inbytes.add(f.ip_len as u64);
        }
        let Some(x) = x else { return Action::Drop(DropReason::NoDest) };
        if let Err(a) = Xmit::hop(pkt, f) {
            return a;
        }
        let syn = f.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN;
        let isn = if x == Xmit::FullNat && syn { self.fnat_isn(&e, f.proto, now) } else { 0 };
        let fx = (x == Xmit::FullNat || self.conns.xt(id).is_some()).then(|| Fx {
            xt: self.conns.xt_mut(id),
            isn,
            now,
            stats: &self.stats,
            extra: &mut self.extra,
        });
        let out = x.inbound(pkt, f, &e, node, &mut self.tun_ident, fx);
        if f.frag == Frag::First && matches!(out, Action::Output(_) | Action::Via(_)) {
            self.remember_fragment(f, id, Dir::In, now);
        }
        out
    }

    /// A client's packet whose connection just went (expire_nodest_conn = 1, or a SYN
    /// reusing TIME_WAIT): a SYN is scheduled afresh, anything else is dropped.
    pub(super) fn expired_in<P: PacketBuf>(&mut self, pkt: &mut P, f: &Flow, node: &mut Node<P>, now: u64) -> Action {
        match self.snap.find(f.proto, f.tuple().dst, f.dport, 0) {
            Some(svc) if self.conns.lookup_in(&f.tuple()).is_none() => self.schedule(svc, pkt, f, None, node, now),
            _ => Action::Drop(DropReason::DestRemoved),
        }
    }

    /// Real server → client on a NAT connection: the source becomes the VIP again.
    fn reply<P: PacketBuf>(&mut self, id: ConnId, pkt: &mut P, f: &Flow, now: u64) -> Action {
        if let Some(a) = self.synproxy_server(id, pkt, f, now) {
            return a;
        }
        if self.conns.on_packet(id, Dir::Out, TcpFlags(f.tcp_flags), now) != Verdict::Forward {
            return Action::Drop(DropReason::DestRemoved);
        }
        let Some(c) = self.conns.get(id) else { return Action::Drop(DropReason::NoConn) };
        let (x, e) = bound(c);
        if let Some(d) = self.stats.dest(e.dest) {
            d.outpkts.inc();
            d.outbytes.add(f.ip_len as u64);
        }
        let Some(x) = x else { return Action::Drop(DropReason::NoDest) };
        if let Err(a) = Xmit::hop(pkt, f) {
            return a;
        }
        let out = x.reply(pkt, f, &e, self.conns.xt_mut(id));
        if f.frag == Frag::First {
            self.remember_fragment(f, id, Dir::Out, now);
        }
        out
    }

    /// ICMP errors about a connection's packets (ip_vs_in_icmp / ip_vs_out_icmp): found by
    /// the packet they quote, on whichever worker holds its connection, checksum verified
    /// first, and never a change of the connection's state (only its timer is re-armed).
    fn icmp<P: PacketBuf>(&mut self, pkt: &mut P, f: &Flow, node: &mut Node<P>, now: u64, redirected: bool) -> Action {
        let Some(q) = icmp::parse(pkt.data(), f) else { return Action::Pass };
        if !icmp::checksum_ok(pkt.data(), f) {
            return Action::Drop(DropReason::BadChecksum);
        }
        let key = q.reversed();
        // A router on the client's side quotes a packet sent from the VIP: our NAT reply,
        // or a DR/TUN real server's direct reply. It belongs to that real server.
        if let Some(id) = self.conns.lookup_in(&key) {
            if self.conns.touch(id, now) != Verdict::Forward {
                return Action::Drop(DropReason::DestRemoved);
            }
            let Some(c) = self.conns.get(id) else { return Action::Pass };
            let (x, e) = bound(c);
            let Some(x) = x else { return Action::Pass };
            if let Err(a) = Xmit::hop(pkt, f) {
                return a;
            }
            return x.icmp_to_server(pkt, f, &q, &e, node, &mut self.tun_ident);
        }
        // The real server (or a router before it) quotes our NAT'ed packet: the client
        // must see it about the VIP, from the VIP.
        if let Some(id) = self.conns.lookup_out(&key) {
            if self.conns.touch(id, now) != Verdict::Forward {
                return Action::Drop(DropReason::DestRemoved);
            }
            let Some(c) = self.conns.get(id) else { return Action::Pass };
            let (x, e) = bound(c);
            let Some(x) = x else { return Action::Pass };
            if let Err(a) = Xmit::hop(pkt, f) {
                return a;
            }
            return x.icmp_to_client(pkt, f, &q, &e, self.conns.xt(id));
        }
        // Another worker's connection: steered by the tuple it quotes, as its packets are.
        if !redirected {
            if let Some(owner) = self.elsewhere(&key) {
                return Action::Redirect(owner);
            }
        }
        Action::Pass
    }

    /// Connection sync on with these queues, or off.
    pub fn set_sync(&mut self, q: Option<Arc<crate::sync::SyncQueues>>) {
        self.conns.set_sync(q.clone());
        self.sync = q;
    }

    /// Backup: apply at most [`crate::sync::APPLY_PER_TICK`] received records.
    fn apply_synced(&mut self, now: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let Some(q) = &self.sync else { return };
        for _ in 0..crate::sync::APPLY_PER_TICK {
            let Some(r) = q.inbox.pop() else { break };
            let c = &q.counters;
            match self.conns.apply_sync(&r, &self.snap, now) {
                Ok(_) => c.applied.fetch_add(1, Relaxed),
                Err(crate::conn::ApplyError::UnknownDest) => c.unknown_dest.fetch_add(1, Relaxed),
                Err(crate::conn::ApplyError::Refused) => c.refused.fetch_add(1, Relaxed),
            };
        }
    }

    /// Timers: expire connections (bounded work) and publish table gauges.
    pub fn tick(&mut self, now: u64) {
        if self.sync.is_some() {
            self.apply_synced(now);
        }
        self.conns.sync_refresh(now);
        let resets = &mut self.resets;
        self.conns.expire(now, EXPIRE_BUDGET, |c| {
            if let Some([a, b]) = super::reset::for_expired(c) {
                if resets.remaining_capacity() >= 2 {
                    resets.push(a);
                    resets.push(b);
                }
            }
        });
        self.tend_directory(now);
        self.stats.conns.set(self.conns.len() as u64);
        self.stats.laddr_ports_in_use.set(u64::from(self.conns.local_ports().0));
        for svc in self.snap.services() {
            for d in &svc.dests {
                if let Some(s) = self.stats.dest(d.id.0) {
                    let c = self.conns.counts(d.id);
                    s.active.set(u64::from(c.active));
                    s.inactive.set(u64::from(c.inactive));
                    s.persist.set(u64::from(c.persist));
                }
            }
        }
        self.trash.publish(&self.conns, &self.stats);
        self.stats.adopted.publish(self.snap.generation());
    }
}

/// A connection's transmitter (bound when it was scheduled) and the ends it joins.
pub(super) fn bound(c: ConnRef<'_>) -> (Option<Xmit>, Ends) {
    let e = Ends {
        client: c.caddr(),
        cport: c.cport(),
        vip: c.vaddr(),
        vport: c.vport(),
        rs: c.daddr(),
        rport: c.dport(),
        dest: c.dest().0,
        laddr: c.laddr(),
        lport: c.lport(),
    };
    (Xmit::of(c.fwd()), e)
}
