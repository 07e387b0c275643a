//! Per-core connection table (ip_vs_conn.c), preallocated: a slab of fixed-size entries,
//! an open-addressing index holding both directions' keys, and a timing wheel.
//!
//! Each entry is 100 bytes (four 16-byte addresses, ports, timer links, dest, state);
//! the index adds 11..23 bytes per connection (4-byte slots at load <= 0.7 for two keys,
//! 16 B at 1M), the wheel's slot heads 256 KiB per table. Nothing on the lookup, insert,
//! packet or expire path allocates, locks, or makes a system call.
//!
//! Data path per burst: [`ConnTable::lookup_in_burst`] (or `lookup_in`/`lookup_out`);
//! hit -> [`ConnTable::on_packet`]; miss on a first packet -> `Snapshot::find` ->
//! [`ConnTable::schedule`]; every poll -> [`ConnTable::expire`] with a budget. After a new
//! snapshot -> [`ConnTable::sync_snapshot`] (also once before the first packet) and each
//! scheduler's `update`.

mod index;
mod list;
mod persist;
pub mod tcp;
mod types;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use crate::addr::{Addr, Protocol, Tuple};
use crate::sched::DestLoadReader;
use crate::service::{DestCounters, DestId, DestLoad, FwdMethod, Snapshot};
use crate::timer::{Nodes, TimerNode, TimerWheel, NIL};
use index::{FlowHasher, Index, KeyDir};

pub use index::MAX_ENTRIES;
pub use list::{ConnInfo, LIST_HEADER};
pub use persist::{ScheduleError, Scheduled};
pub use tcp::{Dir, TcpFlags, TcpState, Timeouts};
pub use types::{ConnConfig, ConnRef, ConnStats, InsertError, NewConn, Verdict};

/// Index of a connection in its core's table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ConnId(pub u32);

const F_USED: u8 = 1;
const F_TEMPLATE: u8 = 2;
/// IP_VS_CONN_F_INACTIVE: counted in InActConn.
const F_INACTIVE: u8 = 4;
/// IP_VS_CONN_F_NOOUTPUT: no reply seen yet (DR/TUN use the INPUT-ONLY table).
const F_NOOUTPUT: u8 = 8;
/// The reply key is indexed.
const F_HAS_OUT: u8 = 16;
/// The in key is indexed (an invalidated template is not).
const F_INDEXED: u8 = 32;
/// The reply key is in the workers' owner directory: reported on departure.
const F_SHARED: u8 = 64;
/// Departures of shared connections held until the owner drains them: it does after
/// every call that can remove (`on_packet`, `expire` with its budget).
const DEPARTED: usize = 1024;

const FWD_CODES: [FwdMethod; 4] = [FwdMethod::Masq, FwdMethod::Route, FwdMethod::Tunnel, FwdMethod::FullNat];

fn fwd_code(f: FwdMethod) -> u8 {
    match f {
        FwdMethod::Masq => 0,
        FwdMethod::Route => 1,
        FwdMethod::Tunnel => 2,
        FwdMethod::FullNat => 3,
    }
}

/// One connection or persistence template. `repr(C)` keeps the in-key fields in the
/// first 40 bytes, so a lookup touches at most two cache lines.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct Entry {
    caddr: Addr,
    vaddr: Addr,
    cport: u16,
    vport: u16,
    proto: u8,
    flags: u8,
    state: u8,
    fwd: u8,
    daddr: Addr,
    /// FullNAT local address; a template keeps its timeout (s) in the first 4 bytes.
    laddr: Addr,
    dport: u16,
    lport: u16,
    timer: TimerNode,
    /// Conn: controlling template or NIL. Template: number of controlled conns (n_control).
    link: u32,
    dest: u32,
}

/// Size of one slab entry in bytes.
pub const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();

impl Entry {
    const EMPTY: Entry = Entry {
        caddr: Addr::UNSPECIFIED,
        vaddr: Addr::UNSPECIFIED,
        daddr: Addr::UNSPECIFIED,
        laddr: Addr::UNSPECIFIED,
        cport: 0,
        vport: 0,
        dport: 0,
        lport: 0,
        timer: TimerNode::new(),
        link: NIL,
        dest: 0,
        proto: 0,
        state: 0,
        flags: 0,
        fwd: 0,
    };
    fn in_tuple(&self) -> Tuple {
        Tuple { proto: self.proto, src: self.caddr, sport: self.cport, dst: self.vaddr, dport: self.vport }
    }
    fn out_tuple(&self) -> Tuple {
        let (dst, dport) =
            if self.fwd == fwd_code(FwdMethod::FullNat) { (self.laddr, self.lport) } else { (self.caddr, self.cport) };
        Tuple { proto: self.proto, src: self.daddr, sport: self.dport, dst, dport }
    }
    fn is(&self, f: u8) -> bool {
        self.flags & f != 0
    }
    fn template_timeout(&self) -> u32 {
        let b = &self.laddr.0;
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

struct Slab(Vec<Entry>);

impl Nodes for Slab {
    fn node(&self, id: u32) -> Option<&TimerNode> {
        self.0.get(id as usize).map(|e| &e.timer)
    }
    fn node_mut(&mut self, id: u32) -> Option<&mut TimerNode> {
        self.0.get_mut(id as usize).map(|e| &mut e.timer)
    }
}

/// One core's connection table.
pub struct ConnTable {
    slab: Slab,
    free: u32,
    len: u32,
    templates: u32,
    index: Index,
    hasher: FlowHasher,
    wheel: TimerWheel,
    load: DestLoad,
    timeouts: Timeouts,
    /// Timeouts in ticks: TCP states, then UDP, then SCTP.
    ticks: [u64; tcp::TCP_STATES + 2],
    cfg: ConnConfig,
    stats: ConnStats,
    /// Reply tuples of shared connections gone since the last drain (never grows past
    /// its preallocated [`DEPARTED`]).
    departed: Vec<Tuple>,
}

impl ConnTable {
    /// Allocates everything up front.
    pub fn new(cfg: ConnConfig, now_ms: u64) -> ConnTable {
        let cap = cfg.effective_capacity();
        let mut entries = vec![Entry::EMPTY; cap as usize];
        for (i, e) in entries.iter_mut().enumerate() {
            e.timer.set_free_next(if i + 1 < cap as usize { i as u32 + 1 } else { NIL });
        }
        let rs = RandomState::new();
        let seed = [rs.hash_one(1u8), rs.hash_one(2u8), rs.hash_one(3u8), rs.hash_one(4u8)];
        let mut t = ConnTable {
            slab: Slab(entries),
            free: 0,
            len: 0,
            templates: 0,
            index: Index::new(cap as usize * 2),
            hasher: FlowHasher::new(seed),
            wheel: TimerWheel::new(cfg.wheel_bits, cfg.tick_shift, now_ms),
            load: DestLoad::new(cfg.max_dests, cfg.workers),
            timeouts: Timeouts::default(),
            ticks: [0; tcp::TCP_STATES + 2],
            cfg: ConnConfig { capacity: cap, ..cfg },
            stats: ConnStats::default(),
            departed: Vec::with_capacity(DEPARTED),
        };
        t.recompute_ticks();
        t
    }

    fn recompute_ticks(&mut self) {
        for (i, s) in self.timeouts.tcp.iter().enumerate() {
            self.ticks[i] = self.wheel.ticks_ceil(u64::from(*s) * 1000);
        }
        self.ticks[tcp::TCP_STATES] = self.wheel.ticks_ceil(u64::from(self.timeouts.udp) * 1000);
        self.ticks[tcp::TCP_STATES + 1] = self.wheel.ticks_ceil(u64::from(self.timeouts.sctp) * 1000);
    }

    pub fn capacity(&self) -> usize {
        self.cfg.capacity as usize
    }
    /// Connections and templates in the table.
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn templates(&self) -> usize {
        self.templates as usize
    }
    pub fn stats(&self) -> ConnStats {
        self.stats
    }
    pub fn config(&self) -> &ConnConfig {
        &self.cfg
    }
    pub fn set_expire_nodest_conn(&mut self, on: bool) {
        self.cfg.expire_nodest_conn = on;
    }
    pub fn set_expire_quiescent_template(&mut self, on: bool) {
        self.cfg.expire_quiescent_template = on;
    }
    /// Bytes allocated by the table (slab + index + wheel + dest counters).
    pub fn heap_bytes(&self) -> usize {
        self.slab.0.len() * ENTRY_BYTES + self.index.heap_bytes() + self.wheel.heap_bytes() + self.load.len() * 24
    }

    /// This core's counters for a dest (sum over cores for listings).
    pub fn counts(&self, dest: DestId) -> DestCounters {
        self.load.get(dest)
    }
    /// This core's per-dest load, for the schedulers.
    pub fn load(&self) -> &DestLoad {
        &self.load
    }
    pub fn load_mut(&mut self) -> &mut DestLoad {
        &mut self.load
    }
    /// A handle for the control plane to read this core's per-dest counts.
    pub fn load_reader(&self) -> DestLoadReader {
        self.load.reader()
    }
    /// Takes a new configuration snapshot (dest availability, thresholds).
    pub fn sync_snapshot(&mut self, snap: &Snapshot) {
        self.load.sync(snap);
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }
    /// `ipvsadm --set tcp tcpfin udp` (0 keeps); applies from each conn's next packet.
    pub fn set_timeouts(&mut self, tcp: u32, tcpfin: u32, udp: u32) {
        self.timeouts.set(tcp, tcpfin, udp);
        self.recompute_ticks();
    }
    pub fn set_all_timeouts(&mut self, t: Timeouts) {
        self.timeouts = t;
        self.recompute_ticks();
    }

    #[inline]
    fn entry(&self, idx: u32) -> Option<&Entry> {
        self.slab.0.get(idx as usize).filter(|e| e.is(F_USED))
    }

    pub fn get(&self, id: ConnId) -> Option<ConnRef<'_>> {
        self.entry(id.0).map(ConnRef)
    }

    /// Client -> VIP packet: (proto, caddr, cport, vaddr, vport).
    #[inline]
    pub fn lookup_in(&self, t: &Tuple) -> Option<ConnId> {
        self.find_in(t, false)
    }

    /// [`ConnTable::lookup_in`] for a burst: hashes all keys and touches their index slots
    /// and entries first, so the cache misses of the burst overlap instead of queueing.
    /// `out[i]` answers `ts[i]`; at most `min(ts.len(), out.len())` are looked up.
    pub fn lookup_in_burst(&self, ts: &[Tuple], out: &mut [Option<ConnId>]) {
        const B: usize = 32;
        for (tc, oc) in ts.chunks(B).zip(out.chunks_mut(B)) {
            let mut hs = [0u64; B];
            let mut cand = [NIL; B];
            for (h, t) in hs.iter_mut().zip(tc) {
                *h = self.hasher.hash(t);
            }
            for (c, h) in cand.iter_mut().zip(&hs) {
                *c = self.index.home_candidate(*h, KeyDir::In).unwrap_or(NIL);
            }
            let mut touch = 0u8;
            for c in &cand {
                touch ^= self.slab.0.get(*c as usize).map_or(0, |e| e.caddr.0[0] ^ e.fwd);
            }
            std::hint::black_box(touch);
            for ((o, t), h) in oc.iter_mut().zip(tc).zip(&hs) {
                *o = self.find_in_hashed(t, *h, false);
            }
        }
    }

    fn find_in(&self, t: &Tuple, template: bool) -> Option<ConnId> {
        self.find_in_hashed(t, self.hasher.hash(t), template)
    }

    #[inline]
    fn find_in_hashed(&self, t: &Tuple, h: u64, template: bool) -> Option<ConnId> {
        let want = if template { F_TEMPLATE } else { 0 };
        let slab = &self.slab.0;
        self.index
            .find(h, KeyDir::In, |i| {
                slab.get(i as usize).is_some_and(|e| {
                    e.cport == t.sport
                        && e.vport == t.dport
                        && e.proto == t.proto
                        && e.flags & F_TEMPLATE == want
                        && e.caddr == t.src
                        && e.vaddr == t.dst
                })
            })
            .map(ConnId)
    }

    /// Real server -> director packet: NAT (daddr, dport -> caddr, cport) or FullNAT
    /// (daddr, dport -> laddr, lport).
    #[inline]
    pub fn lookup_out(&self, t: &Tuple) -> Option<ConnId> {
        let h = self.hasher.hash(t);
        let slab = &self.slab.0;
        self.index.find(h, KeyDir::Out, |i| slab.get(i as usize).is_some_and(|e| e.out_tuple() == *t)).map(ConnId)
    }

    fn alloc(&mut self) -> Option<u32> {
        let idx = self.free;
        let e = self.slab.0.get_mut(idx as usize)?;
        self.free = e.timer.free_next();
        self.len += 1;
        Some(idx)
    }

    fn release(&mut self, idx: u32) {
        if let Some(e) = self.slab.0.get_mut(idx as usize) {
            *e = Entry::EMPTY;
            e.timer.set_free_next(self.free);
            self.free = idx;
            self.len = self.len.saturating_sub(1);
        }
    }

    #[inline]
    fn deadline(&self, now_ms: u64, ticks: u64) -> u64 {
        self.wheel.tick(now_ms) + ticks
    }

    /// ip_vs_conn_new + ip_vs_bind_dest: state NONE, counted inactive, armed for the
    /// NONE timeout until the first packet's [`ConnTable::on_packet`].
    pub fn insert(&mut self, c: &NewConn, now_ms: u64) -> Result<ConnId, InsertError> {
        let tin = Tuple::new(c.proto, c.caddr, c.cport, c.vaddr, c.vport);
        if let Some(id) = self.lookup_in(&tin) {
            return Err(InsertError::Exists(id));
        }
        let mut e = Entry {
            caddr: c.caddr,
            vaddr: c.vaddr,
            daddr: c.daddr,
            laddr: if c.fwd == FwdMethod::FullNat { c.laddr } else { Addr::UNSPECIFIED },
            cport: c.cport,
            vport: c.vport,
            dport: c.dport,
            lport: if c.fwd == FwdMethod::FullNat { c.lport } else { 0 },
            timer: TimerNode::new(),
            link: NIL,
            dest: c.dest.0,
            proto: c.proto.number(),
            state: TcpState::None as u8,
            flags: F_USED | F_INACTIVE | F_INDEXED,
            fwd: fwd_code(c.fwd),
        };
        if c.fwd.has_replies() {
            if let Some(id) = self.lookup_out(&e.out_tuple()) {
                return Err(InsertError::Exists(id));
            }
            e.flags |= F_HAS_OUT;
        } else {
            e.flags |= F_NOOUTPUT;
        }
        let Some(idx) = self.alloc() else {
            self.stats.refused_full += 1;
            return Err(InsertError::Full);
        };
        self.place(idx, e, now_ms, self.ticks[TcpState::None as usize]);
        self.load.bind(c.dest, false);
        self.stats.inserted += 1;
        Ok(ConnId(idx))
    }

    fn place(&mut self, idx: u32, e: Entry, now_ms: u64, ticks: u64) {
        let hin = self.hasher.hash(&e.in_tuple());
        self.index.insert(hin, KeyDir::In, idx);
        if e.is(F_HAS_OUT) {
            let hout = self.hasher.hash(&e.out_tuple());
            self.index.insert(hout, KeyDir::Out, idx);
        }
        if let Some(s) = self.slab.0.get_mut(idx as usize) {
            *s = e;
        }
        let d = self.deadline(now_ms, ticks);
        self.wheel.arm(&mut self.slab, idx, d);
    }

    fn unindex(&mut self, idx: u32) {
        let Some(e) = self.slab.0.get(idx as usize).copied() else { return };
        let hasher = &self.hasher;
        let slab = &self.slab.0;
        let rehash = |i: u32, d: KeyDir| {
            slab.get(i as usize).map_or(0, |x| hasher.hash(&if d == KeyDir::In { x.in_tuple() } else { x.out_tuple() }))
        };
        if e.is(F_INDEXED) {
            self.index.remove(hasher.hash(&e.in_tuple()), KeyDir::In, idx, rehash);
        }
        if e.is(F_HAS_OUT) {
            self.index.remove(hasher.hash(&e.out_tuple()), KeyDir::Out, idx, rehash);
        }
        if let Some(x) = self.slab.0.get_mut(idx as usize) {
            x.flags &= !(F_INDEXED | F_HAS_OUT);
        }
    }

    /// Applies one packet: TCP state transition (set_tcp_state) with exact active/inactive
    /// accounting, and re-arms the timer with the state's timeout.
    #[inline]
    pub fn on_packet(&mut self, id: ConnId, dir: Dir, flags: TcpFlags, now_ms: u64) -> Verdict {
        let Some(e) = self.slab.0.get(id.0 as usize).filter(|e| e.is(F_USED) && !e.is(F_TEMPLATE)) else {
            return Verdict::Expired;
        };
        let dest = DestId(e.dest);
        if !self.load.get(dest).available {
            if self.cfg.expire_nodest_conn {
                self.stats.expired_nodest += 1;
                self.remove(id);
                return Verdict::Expired;
            }
            self.stats.dropped_nodest += 1;
            return Verdict::DropNoDest;
        }
        let ticks = match Protocol::from_number(e.proto) {
            Some(Protocol::Tcp) => {
                if dir == Dir::In && flags.0 & TcpFlags::SYN != 0 && self.reusable(e) {
                    // ip_vs_in: is_new_conn_expected -> ip_vs_conn_expire_now.
                    self.remove(id);
                    return Verdict::Expired;
                }
                let mut input_only = false;
                let mut f = e.flags;
                if f & F_NOOUTPUT != 0 {
                    if dir == Dir::Out {
                        f &= !F_NOOUTPUT;
                    } else {
                        input_only = true;
                    }
                }
                let cur = TcpState::from_u8(e.state);
                let new = tcp::next_state(cur, dir, input_only, flags);
                if new != cur {
                    if f & F_INACTIVE == 0 && !new.is_active() {
                        self.load.set_active(dest, false);
                        f |= F_INACTIVE;
                    } else if f & F_INACTIVE != 0 && new.is_active() {
                        self.load.set_active(dest, true);
                        f &= !F_INACTIVE;
                    }
                }
                if let Some(e) = self.slab.0.get_mut(id.0 as usize) {
                    e.state = new as u8;
                    e.flags = f;
                }
                self.ticks.get(new as usize).copied().unwrap_or(0)
            }
            Some(Protocol::Udp) => self.ticks[tcp::TCP_STATES],
            _ => self.ticks[tcp::TCP_STATES + 1],
        };
        let d = self.deadline(now_ms, ticks);
        self.wheel.arm(&mut self.slab, id.0, d);
        Verdict::Forward
    }

    /// A packet about the connection that is not one of its own (an ICMP error quoting
    /// it): ip_vs_in_icmp never changes the state, but ip_vs_conn_put re-arms the timer
    /// with the current state's timeout. A removed real server's connection is left for
    /// its own packets to expire.
    pub fn touch(&mut self, id: ConnId, now_ms: u64) -> Verdict {
        let Some(e) = self.slab.0.get(id.0 as usize).filter(|e| e.is(F_USED) && !e.is(F_TEMPLATE)) else {
            return Verdict::Expired;
        };
        if !self.load.get(DestId(e.dest)).available {
            return Verdict::DropNoDest;
        }
        let ticks = match Protocol::from_number(e.proto) {
            Some(Protocol::Tcp) => self.ticks.get(usize::from(e.state)).copied().unwrap_or(0),
            Some(Protocol::Udp) => self.ticks[tcp::TCP_STATES],
            _ => self.ticks[tcp::TCP_STATES + 1],
        };
        let d = self.deadline(now_ms, ticks);
        self.wheel.arm(&mut self.slab, id.0, d);
        Verdict::Forward
    }

    /// is_new_conn_expected: TIME_WAIT, or (mode bit 2) FIN_WAIT without replies; never
    /// for a conn controlled by a persistence template.
    #[inline]
    fn reusable(&self, e: &Entry) -> bool {
        let mode = self.cfg.conn_reuse_mode;
        let st = TcpState::from_u8(e.state);
        mode != 0
            && e.link == NIL
            && (st == TcpState::TimeWait || (mode & 2 != 0 && st == TcpState::FinWait && e.is(F_NOOUTPUT)))
    }

    /// Removes a connection now (uncounting it, releasing its template's hold).
    pub fn remove(&mut self, id: ConnId) -> bool {
        let Some(e) = self.entry(id.0).copied() else { return false };
        self.wheel.cancel(&mut self.slab, id.0);
        self.drop_entry(id.0, &e);
        true
    }

    fn drop_entry(&mut self, idx: u32, e: &Entry) {
        self.unindex(idx);
        if e.is(F_SHARED) {
            if self.departed.len() < DEPARTED {
                self.departed.push(e.out_tuple());
            } else {
                self.stats.departed_lost += 1;
            }
        }
        if e.is(F_TEMPLATE) {
            self.load.add_persist(DestId(e.dest), -1);
            self.templates = self.templates.saturating_sub(1);
        } else {
            self.load.unbind(DestId(e.dest), !e.is(F_INACTIVE));
            if let Some(t) = self.slab.0.get_mut(e.link as usize).filter(|t| t.is(F_TEMPLATE)) {
                t.link = t.link.saturating_sub(1);
            }
        }
        self.release(idx);
    }

    /// Mark `id`'s reply key as entered in the owner directory: when the connection
    /// goes, however it goes, its reply tuple is queued for [`ConnTable::drain_departed`].
    pub fn mark_shared(&mut self, id: ConnId) {
        if let Some(e) = self.slab.0.get_mut(id.0 as usize).filter(|e| e.is(F_USED)) {
            e.flags |= F_SHARED;
        }
    }

    /// The reply tuples of marked connections removed since the last call, oldest first.
    pub fn drain_departed(&mut self, mut f: impl FnMut(&Tuple)) {
        for t in &self.departed {
            f(t);
        }
        self.departed.clear();
    }

    /// Expires what is due at `now_ms`, visiting at most `budget` timer nodes and slots.
    /// `f` sees each expired connection or template before it is freed. Returns how many
    /// were expired. A template that still controls connections is re-armed instead
    /// (ip_vs_conn_expire: n_control).
    pub fn expire(&mut self, now_ms: u64, budget: usize, mut f: impl FnMut(&ConnInfo)) -> usize {
        let mut budget = budget;
        let mut n = 0;
        while let Some(idx) = self.wheel.next_expired(&mut self.slab, now_ms, &mut budget) {
            let Some(e) = self.entry(idx).copied() else { continue };
            if e.is(F_TEMPLATE) && e.link > 0 {
                let ticks = self.wheel.ticks_ceil(u64::from(e.template_timeout()) * 1000);
                let d = self.deadline(now_ms, ticks);
                self.wheel.arm(&mut self.slab, idx, d);
                continue;
            }
            f(&self.info(idx, &e, now_ms));
            self.drop_entry(idx, &e);
            self.stats.expired += 1;
            n += 1;
        }
        n
    }
}
