//! One core's virtual-service state: the configuration snapshot, a scheduler instance
//! per service, the connection table. Decides, per packet, what ip_vs_in / ip_vs_out
//! would: forward on a connection, schedule a new one, translate a reply, or let the
//! L3 node have it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use wire::{ip_proto, tcp_flags, IpipEncap, PacketBuf};

use super::flow::{Flow, ETH_LEN};
use super::icmp;
use super::owner::OwnerMap;
use super::trash::Trash;
use super::xmit::{self, End};
use crate::conn::{ConnConfig, ConnId, ConnTable, Dir, ScheduleError, Scheduled, TcpFlags, Verdict};
use crate::l3::L3Config;
use crate::sched::{Prebuilt, SchedSet};
use crate::service::{FwdMethod, Snapshot};
use crate::stats::{CoreStats, DropReason};

/// What to do with a packet after the balancer looked at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Not virtual-service traffic: the L3 node handles it.
    Pass,
    /// Rewritten as needed; send it towards this address.
    Output(Ipv4Addr),
    Drop(DropReason),
    /// Another core owns the connection.
    Redirect(u8),
    /// Answer the sender with this ICMP error, then drop the packet counting `reason`.
    IcmpError {
        ty: u8,
        code: u8,
        rest: u32,
        reason: DropReason,
    },
}

/// Outer TTL of IPIP packets (Linux ip_tunnel default: inherit is off, 64).
const TUN_TTL: u8 = 64;
/// Expiry work per timer tick, so a mass expiry never stalls the loop.
const EXPIRE_BUDGET: usize = 256;

pub struct Balancer {
    core: u8,
    snap: Arc<Snapshot>,
    scheds: SchedSet,
    conns: ConnTable,
    owners: Arc<OwnerMap>,
    stats: Arc<CoreStats>,
    tun_ident: u16,
    trash: Trash,
}

fn ipv4(a: crate::addr::Addr) -> Ipv4Addr {
    match a.to_ip() {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    }
}

impl Balancer {
    /// `core` is this worker's index among the workers (the owner-map value).
    pub fn new(
        core: u8,
        conn: ConnConfig,
        snap: Arc<Snapshot>,
        owners: Arc<OwnerMap>,
        stats: Arc<CoreStats>,
        now: u64,
    ) -> Self {
        stats.conn_capacity.set(u64::from(conn.capacity));
        let mut b = Balancer {
            core,
            snap: Arc::new(Snapshot::new(Vec::new(), conn.max_dests)),
            scheds: SchedSet::default(),
            conns: ConnTable::new(conn, now),
            owners,
            stats,
            tun_ident: u16::from(core) << 12,
            trash: Trash::default(),
        };
        b.scheds = SchedSet::new(&snap);
        b.conns.sync_snapshot(&snap);
        b.snap = snap;
        b
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
    }

    pub fn scheds(&self) -> &SchedSet {
        &self.scheds
    }

    /// Classify one frame and apply the forwarding method's rewrite in place.
    /// `redirected`: it came from another core, which found this one the owner.
    #[inline]
    pub fn process<P: PacketBuf>(&mut self, pkt: &mut P, l3: &L3Config, now: u64, redirected: bool) -> Action {
        let Some(f) = Flow::parse(pkt.data()) else { return Action::Pass };
        if f.proto == ip_proto::ICMP {
            return self.icmp(pkt, &f, l3, now);
        }
        let t = f.tuple();
        if let Some(id) = self.conns.lookup_in(&t) {
            return self.established_in(id, pkt, &f, l3, now);
        }
        if let Some(id) = self.conns.lookup_out(&t) {
            return self.reply(id, pkt, &f, now);
        }
        // Not here: another worker may own it (a reply, or a client packet that the NIC
        // placed on this queue while its connection was scheduled on its home worker).
        if !redirected {
            if let Some(owner) = self.owners.owner(&t).filter(|&o| o != self.core) {
                return Action::Redirect(owner);
            }
        }
        if let Some(svc) = self.snap.find(f.proto, t.dst, f.dport, 0) {
            let home = self.home(svc, &t);
            if home != self.core && !redirected {
                return Action::Redirect(home);
            }
            return self.schedule(svc, pkt, &f, l3, now);
        }
        if redirected {
            return Action::Drop(DropReason::RedirectMiss);
        }
        Action::Pass
    }

    /// The worker that schedules new connections of this client for service `svc`.
    ///
    /// Scheduling state is per worker, so all connections of one client (of one
    /// persistence netmask's worth of clients, for a persistent service) are scheduled by
    /// one worker: its persistence template and its rr/wrr sequence are then exactly
    /// IPVS's. The NIC (or af_packet's fanout) spreads by the whole 5-tuple, so a first
    /// packet that lands elsewhere is passed over once; later packets of the connection
    /// follow through the owner map.
    #[inline]
    fn home(&self, svc: usize, t: &crate::addr::Tuple) -> u8 {
        let workers = self.conns.config().workers.max(1);
        if workers == 1 {
            return self.core;
        }
        let prefix = self.snap.service(svc).and_then(|s| s.persistence).map_or(128, |p| p.prefix);
        let h = u64::from(t.src.masked(prefix).fold32()).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        ((h >> 32) % u64::from(workers)) as u8
    }

    /// A new flow for service `svc` (ip_vs_schedule). Only a SYN starts a TCP connection
    /// (IPVS with sloppy_tcp off).
    fn schedule<P: PacketBuf>(&mut self, svc: usize, pkt: &mut P, f: &Flow, l3: &L3Config, now: u64) -> Action {
        if f.proto == ip_proto::TCP
            && f.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::RST) != tcp_flags::SYN
        {
            return Action::Drop(DropReason::NoConn);
        }
        let (Some(service), Some(sched)) = (self.snap.service(svc), self.scheds.get_mut(svc)) else {
            return Action::Drop(DropReason::NoDest);
        };
        match self.conns.schedule(service, sched, &f.tuple(), None, now) {
            Ok(Scheduled::Conn(id)) => {
                if let Some(c) = self.conns.get(id) {
                    if let Some(d) = self.stats.dest(c.dest().0) {
                        d.conns.inc();
                    }
                    // Both directions find their way here from any worker.
                    self.owners.claim(&f.tuple(), self.core);
                    if c.fwd() == FwdMethod::Masq {
                        let reply = crate::addr::Tuple {
                            proto: f.proto,
                            src: c.daddr(),
                            sport: c.dport(),
                            dst: c.caddr(),
                            dport: c.cport(),
                        };
                        self.owners.claim(&reply, self.core);
                    }
                }
                self.established_in(id, pkt, f, l3, now)
            }
            Ok(Scheduled::OnePacket { dest }) => match service.dests.get(dest) {
                Some(d) => {
                    if let Some(c) = self.stats.dest(d.id.0) {
                        c.conns.inc();
                        c.inpkts.inc();
                        c.inbytes.add(f.total_len as u64);
                    }
                    let (fwd, addr, port) = (d.fwd, ipv4(d.addr), if d.port == 0 { f.dport } else { d.port });
                    self.transmit(pkt, f, fwd, addr, port, l3)
                }
                None => Action::Drop(DropReason::NoDest),
            },
            Err(ScheduleError::NoDest) => Action::IcmpError { ty: 3, code: 3, rest: 0, reason: DropReason::NoDest },
            Err(ScheduleError::Full) => Action::Drop(DropReason::ConnTableFull),
            Err(ScheduleError::Exists(id)) => self.established_in(id, pkt, f, l3, now),
        }
    }

    /// Client → real server on an existing connection.
    fn established_in<P: PacketBuf>(&mut self, id: ConnId, pkt: &mut P, f: &Flow, l3: &L3Config, now: u64) -> Action {
        match self.conns.on_packet(id, Dir::In, TcpFlags(f.tcp_flags), now) {
            Verdict::Forward => {}
            Verdict::DropNoDest => return Action::Drop(DropReason::DestRemoved),
            // expire_nodest_conn = 1 removed it: a SYN may be scheduled afresh.
            Verdict::Expired => {
                return match self.snap.find(f.proto, f.tuple().dst, f.dport, 0) {
                    Some(svc) if self.conns.lookup_in(&f.tuple()).is_none() => self.schedule(svc, pkt, f, l3, now),
                    _ => Action::Drop(DropReason::DestRemoved),
                };
            }
        }
        let Some(c) = self.conns.get(id) else { return Action::Drop(DropReason::NoConn) };
        let (fwd, addr, port) = (c.fwd(), ipv4(c.daddr()), c.dport());
        if let Some(d) = self.stats.dest(c.dest().0) {
            d.inpkts.inc();
            d.inbytes.add(f.total_len as u64);
        }
        self.transmit(pkt, f, fwd, addr, port, l3)
    }

    /// Real server → client on a NAT connection: the source becomes the VIP again.
    fn reply<P: PacketBuf>(&mut self, id: ConnId, pkt: &mut P, f: &Flow, now: u64) -> Action {
        if self.conns.on_packet(id, Dir::Out, TcpFlags(f.tcp_flags), now) != Verdict::Forward {
            return Action::Drop(DropReason::DestRemoved);
        }
        let Some(c) = self.conns.get(id) else { return Action::Drop(DropReason::NoConn) };
        let (vaddr, vport, caddr) = (ipv4(c.vaddr()), c.vport(), ipv4(c.caddr()));
        if let Some(d) = self.stats.dest(c.dest().0) {
            d.outpkts.inc();
            d.outbytes.add(f.total_len as u64);
        }
        xmit::nat(pkt.data_mut(), f, End::Src, vaddr, vport);
        Action::Output(caddr)
    }

    /// ip_vs_xmit.c: the forwarding method's transmitter.
    fn transmit<P: PacketBuf>(
        &mut self,
        pkt: &mut P,
        f: &Flow,
        fwd: FwdMethod,
        addr: Ipv4Addr,
        port: u16,
        l3: &L3Config,
    ) -> Action {
        match fwd {
            FwdMethod::Masq => {
                xmit::nat(pkt.data_mut(), f, End::Dst, addr, port);
                Action::Output(addr)
            }
            // DR rewrites nothing but the MAC, so the real server must be on-link: through a
            // gateway the frame would come straight back to the VIP's owner.
            FwdMethod::Route => match l3.routes.lookup(addr) {
                Some(hop) if hop.next_hop == addr => Action::Output(addr),
                _ => Action::Drop(DropReason::NoRoute),
            },
            FwdMethod::Tunnel => self.tunnel(pkt, f, addr, l3),
            FwdMethod::FullNat => Action::Drop(DropReason::NoDest),
        }
    }

    /// TUN (ip_vs_tunnel_xmit): IPIP with the director's address as outer source. A packet
    /// that no longer fits the egress MTU gets ICMP fragmentation needed when DF is set
    /// (RFC 1191), and is dropped otherwise: rvs does not fragment; both are counted.
    fn tunnel<P: PacketBuf>(&mut self, pkt: &mut P, f: &Flow, rs: Ipv4Addr, l3: &L3Config) -> Action {
        let Some(hop) = l3.routes.lookup(rs) else { return Action::Drop(DropReason::NoRoute) };
        let Some(port) = l3.ports.get(usize::from(hop.port)) else { return Action::Drop(DropReason::NoRoute) };
        let Some(src) = l3.source_addr(hop.port, hop.next_hop) else { return Action::Drop(DropReason::NoRoute) };
        let mtu = usize::from(port.mtu);
        if f.total_len + wire::ipip::OUTER_HEADER_LEN > mtu {
            return if f.dont_frag {
                let room = mtu.saturating_sub(wire::ipip::OUTER_HEADER_LEN) as u32;
                Action::IcmpError { ty: 3, code: 4, rest: room, reason: DropReason::TooBig }
            } else {
                Action::Drop(DropReason::TooBig)
            };
        }
        self.tun_ident = self.tun_ident.wrapping_add(1);
        let encap = IpipEncap { src, dst: rs, ttl: TUN_TTL, ident: self.tun_ident };
        match wire::ipip::encapsulate(pkt, ETH_LEN, &encap) {
            Ok(()) => Action::Output(rs),
            Err(_) => Action::Drop(DropReason::TooBig),
        }
    }

    /// ICMP errors about a connection's packets (ip_vs_in_icmp / ip_vs_out_icmp).
    fn icmp<P: PacketBuf>(&mut self, pkt: &mut P, f: &Flow, l3: &L3Config, now: u64) -> Action {
        let Some(q) = icmp::parse(pkt.data(), f) else { return Action::Pass };
        let key = q.reversed();
        // A router on the client's side quotes a packet sent from the VIP: our NAT reply,
        // or a DR/TUN real server's direct reply. It belongs to that real server.
        if let Some(id) = self.conns.lookup_in(&key) {
            let _ = self.conns.on_packet(id, Dir::In, TcpFlags(0), now);
            let Some(c) = self.conns.get(id) else { return Action::Pass };
            let (fwd, addr, port) = (c.fwd(), ipv4(c.daddr()), c.dport());
            return match fwd {
                FwdMethod::Masq => {
                    icmp::translate(pkt.data_mut(), f, &q, End::Src, addr, port, addr);
                    Action::Output(addr)
                }
                FwdMethod::Route => self.transmit(pkt, f, fwd, addr, port, l3),
                FwdMethod::Tunnel => self.tunnel(pkt, f, addr, l3),
                FwdMethod::FullNat => Action::Pass,
            };
        }
        // The real server (or a router before it) quotes our NAT'ed packet: the client
        // must see it about the VIP, from the VIP.
        if let Some(id) = self.conns.lookup_out(&key) {
            let Some(c) = self.conns.get(id) else { return Action::Pass };
            let (vaddr, vport, caddr) = (ipv4(c.vaddr()), c.vport(), ipv4(c.caddr()));
            icmp::translate(pkt.data_mut(), f, &q, End::Dst, vaddr, vport, vaddr);
            return Action::Output(caddr);
        }
        Action::Pass
    }

    /// Timers: expire connections (bounded work) and publish table gauges.
    pub fn tick(&mut self, now: u64) {
        self.conns.expire(now, EXPIRE_BUDGET, |_| {});
        self.stats.conns.set(self.conns.len() as u64);
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
