//! Per-core connection table (ip_vs_conn.c), preallocated: a slab of fixed-size entries,
//! an open-addressing index holding both directions' keys, and a timing wheel.
//!
//! Each entry is one 64-byte cache line (an IPv4 connection's addresses in line; an IPv6
//! connection's in a second line from a pool sized by `capacity_v6`); the index adds
//! 11..23 bytes per connection (4-byte slots in 64-byte buckets at load <= 0.7 for two
//! keys, 16 B at 1M), the wheel's slot heads 256 KiB per table. Slab, pool and index are
//! in huge pages ([`ConnTable::backing`]). Nothing on the lookup, insert, packet or
//! expire path allocates, locks, or makes a system call.
//!
//! Staged lookups for a burst: [`ConnTable::hash`] and [`ConnTable::prefetch_bucket`] for
//! every packet, then [`ConnTable::prefetch_entries`], then [`ConnTable::lookup_hashed`].
//!
//! Data path per burst: [`ConnTable::lookup_in_burst`] (or `lookup_in`/`lookup_out`);
//! hit -> [`ConnTable::on_packet`]; miss on a first packet -> `Snapshot::find` ->
//! [`ConnTable::schedule`]; every poll -> [`ConnTable::expire`] with a budget. After a new
//! snapshot -> [`ConnTable::sync_snapshot`] (also once before the first packet) and each
//! scheduler's `update`.

mod entry;
mod ext;
mod index;
pub mod laddr;
mod list;
mod lookup;
mod persist;
mod state;
mod sync;
pub mod tcp;
mod types;
pub mod xt;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use crate::addr::{Addr, Tuple};
use crate::sched::DestLoadReader;
use crate::service::{DestCounters, DestId, DestLoad, FwdMethod, Snapshot};
use crate::timer::{Nodes, TimerNode, TimerWheel, NIL};
use entry::{in_tuple, out_matches, out_tuple, Entry, Pool6};
use index::{FlowHasher, Index, KeyDir};
use laddr::LocalPorts;
use rvs_hint::{Backing, HugeSlice};
use xt::XtPool;

pub use index::MAX_ENTRIES;
pub use list::{ConnInfo, LIST_HEADER};
pub use persist::{ScheduleError, Scheduled};
pub use sync::{ApplyError, SYNC_REFRESH_MS};
pub use tcp::{Dir, TcpFlags, TcpState, Timeouts};
pub use types::{ConnConfig, ConnRef, ConnStats, InsertError, NewConn, Verdict};

/// An IPv4 connection's fields the fast path uses ([`ConnTable::hot4`]).
#[derive(Clone, Copy, Debug)]
pub struct Hot4 {
    pub fwd: FwdMethod,
    pub caddr: [u8; 4],
    pub vaddr: [u8; 4],
    pub daddr: [u8; 4],
    pub vport: u16,
    pub dport: u16,
    pub dest: u32,
}

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
/// The addresses are in the IPv6 pool (`ext`), not in line.
const F_V6: u8 = 128;
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

/// Size of one slab entry in bytes (a cache line).
pub const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();

struct Slab(HugeSlice<Entry>);

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
    /// Addresses of IPv6 connections.
    pool: Pool6,
    /// FullNAT TCP connections' sequence state.
    xts: XtPool,
    /// FullNAT source ports of this worker.
    ports: LocalPorts,
    /// Where the next FullNAT connection starts trying the service's local addresses,
    /// and how many it picked.
    laddr_next: u32,
    laddr_picks: u32,
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
    /// Master sync: the worker's outbox (`None`: sync off, one branch per packet).
    sync: Option<std::sync::Arc<crate::sync::SyncQueues>>,
    /// Master sync: the walk that sends every connection again now and then.
    refresh: sync::Refresh,
}

impl ConnTable {
    /// Allocates everything up front.
    pub fn new(cfg: ConnConfig, now_ms: u64) -> ConnTable {
        let cap = cfg.effective_capacity();
        let entries = HugeSlice::from_fn(cap as usize, |i| {
            let mut e = Entry::EMPTY;
            e.timer.set_free_next(if i + 1 < cap as usize { i as u32 + 1 } else { NIL });
            e
        });
        let rs = RandomState::new();
        let seed = [rs.hash_one(1u8), rs.hash_one(2u8), rs.hash_one(3u8), rs.hash_one(4u8)];
        let mut t = ConnTable {
            slab: Slab(entries),
            pool: Pool6::new(cfg.effective_capacity_v6()),
            // Allocated with the first FullNAT or SYN-proxied service (sync_snapshot).
            xts: XtPool::new(0),
            ports: LocalPorts::new(0, cfg.workers, cfg.lports),
            laddr_next: 0,
            laddr_picks: 0,
            free: 0,
            len: 0,
            templates: 0,
            index: Index::new(cap as usize * 2),
            hasher: FlowHasher::new(seed),
            wheel: TimerWheel::new(cfg.wheel_bits, cfg.tick_shift, now_ms),
            load: DestLoad::new(cfg.max_dests, cfg.workers),
            timeouts: Timeouts::default(),
            ticks: [0; tcp::TCP_STATES + 2],
            cfg: ConnConfig {
                capacity: cap,
                capacity_v6: Some(cfg.effective_capacity_v6()),
                capacity_fullnat: Some(cfg.effective_capacity_fullnat()),
                ..cfg
            },
            stats: ConnStats::default(),
            departed: Vec::with_capacity(DEPARTED),
            sync: None,
            refresh: sync::Refresh::default(),
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
    /// Bytes of the table's structures (slab + IPv6 pool + index + wheel + dest
    /// counters). Each huge-page slice also rounds up to a whole 2 MiB page.
    pub fn heap_bytes(&self) -> usize {
        self.slab.0.len() * ENTRY_BYTES
            + self.pool.heap_bytes()
            + self.xts.heap_bytes()
            + self.index.heap_bytes()
            + self.wheel.heap_bytes()
            + self.load.len() * 24
    }

    /// Where the slab and index memory came from (the startup account prints it).
    pub fn backing(&self) -> Backing {
        self.slab.0.backing()
    }

    /// IPv6 connections (and templates) held, and the most the pool holds.
    pub fn v6_usage(&self) -> (usize, usize) {
        (self.pool.in_use(), self.pool.capacity())
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
    /// Takes a new configuration snapshot (dest availability, thresholds, FullNAT
    /// local addresses).
    pub fn sync_snapshot(&mut self, snap: &Snapshot) {
        self.load.sync(snap);
        self.ports.sync(snap);
        let needs = snap.services().iter().any(|s| s.synproxy || s.dests.iter().any(|d| d.fwd == FwdMethod::FullNat));
        if needs && self.xts.capacity() == 0 {
            self.xts = XtPool::new(self.cfg.effective_capacity_fullnat());
        }
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
        self.entry(id.0).map(|e| ConnRef::new(e, &self.pool))
    }

    /// What the IPv4 fast path needs of a connection, read from its one line; `None`
    /// for an IPv6 connection, a template, or a free slot.
    #[inline]
    pub fn hot4(&self, id: ConnId) -> Option<Hot4> {
        let e = self.slab.0.get(id.0 as usize)?;
        // Connections with sequence state (FullNAT, SYN proxy) take the general path.
        if e.flags & (F_USED | F_TEMPLATE | F_V6) != F_USED || e.xt != NIL {
            return None;
        }
        Some(Hot4 {
            fwd: FWD_CODES.get(usize::from(e.fwd)).copied()?,
            caddr: e.a4[0],
            vaddr: e.a4[1],
            daddr: e.a4[2],
            vport: e.vport,
            dport: e.dport,
            dest: e.dest,
        })
    }

    /// An entry for addresses `a` (caddr, vaddr, daddr, laddr): in line when all are
    /// IPv4, else with a line from the IPv6 pool (`None` when it is exhausted).
    fn entry_for(&mut self, a: [Addr; 4]) -> Option<Entry> {
        let mut e = Entry::EMPTY;
        match (Entry::encode4(&a[0]), Entry::encode4(&a[1]), Entry::encode4(&a[2]), Entry::encode4(&a[3])) {
            (Some(c), Some(v), Some(d), Some(l)) => e.a4 = [c, v, d, l],
            _ => {
                e.ext = self.pool.alloc(a)?;
                e.flags |= F_V6;
            }
        }
        Some(e)
    }

    fn alloc(&mut self) -> Option<u32> {
        let idx = self.free;
        let e = self.slab.0.get_mut(idx as usize)?;
        self.free = e.timer.free_next();
        self.len += 1;
        Some(idx)
    }

    fn release(&mut self, idx: u32) {
        if let Some(e) = self.slab.0.get(idx as usize).filter(|e| e.lport != 0 && !e.is(F_TEMPLATE)) {
            if e.fwd == fwd_code(FwdMethod::FullNat) {
                let a = entry::addrs(e, &self.pool);
                self.ports.release(&a[3], &a[2], e.dport, e.lport);
            }
        }
        if let Some(e) = self.slab.0.get_mut(idx as usize) {
            if e.is(F_V6) {
                self.pool.release(e.ext);
            }
            if e.xt != NIL {
                self.xts.release(e.xt);
            }
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
        self.insert_hashed(c, None, now_ms)
    }

    /// [`ConnTable::insert`] with the in-key's hash when the caller has it (the staged
    /// path hashed the packet's tuple already): each key is hashed once per insert.
    pub(crate) fn insert_hashed(&mut self, c: &NewConn, hin: Option<u64>, now_ms: u64) -> Result<ConnId, InsertError> {
        let tin = Tuple::new(c.proto, c.caddr, c.cport, c.vaddr, c.vport);
        let hin = hin.unwrap_or_else(|| self.hasher.hash(&tin));
        if let Some(id) = self.find_in_hashed(&tin, hin, false) {
            return Err(InsertError::Exists(id));
        }
        let fnat = c.fwd == FwdMethod::FullNat;
        let laddr = if fnat { c.laddr } else { Addr::UNSPECIFIED };
        let out = Tuple::new(
            c.proto,
            c.daddr,
            c.dport,
            if fnat { laddr } else { c.caddr },
            if fnat { c.lport } else { c.cport },
        );
        let hout = self.hasher.hash(&out);
        if c.fwd.has_replies() {
            let (slab, pool) = (&self.slab.0, &self.pool);
            let found = self
                .index
                .find(hout, KeyDir::Out, |i| slab.get(i as usize).is_some_and(|e| out_matches(e, pool, &out)));
            if let Some(id) = found {
                return Err(InsertError::Exists(ConnId(id)));
            }
        }
        if self.free == NIL || self.slab.0.get(self.free as usize).is_none() {
            self.stats.refused_full += 1;
            return Err(InsertError::Full);
        }
        let Some(mut e) = self.entry_for([c.caddr, c.vaddr, c.daddr, laddr]) else {
            self.stats.refused_full += 1;
            self.stats.refused_v6 += 1;
            return Err(InsertError::Full);
        };
        e.cport = c.cport;
        e.vport = c.vport;
        e.dport = c.dport;
        e.lport = if fnat { c.lport } else { 0 };
        e.dest = c.dest.0;
        e.proto = c.proto.number();
        e.state = TcpState::None as u8;
        e.flags |= F_USED | F_INACTIVE | F_INDEXED;
        e.fwd = fwd_code(c.fwd);
        e.flags |= if c.fwd.has_replies() { F_HAS_OUT } else { F_NOOUTPUT };
        let Some(idx) = self.alloc() else {
            self.release_lines(&e);
            self.stats.refused_full += 1;
            return Err(InsertError::Full);
        };
        self.place_hashed(idx, e, hin, hout, now_ms, self.ticks[TcpState::None as usize]);
        self.load.bind(c.dest, false);
        self.stats.inserted += 1;
        Ok(ConnId(idx))
    }

    /// Give back the pool line of an entry that was never placed.
    fn release_lines(&mut self, e: &Entry) {
        if e.is(F_V6) {
            self.pool.release(e.ext);
        }
    }

    fn place(&mut self, idx: u32, e: Entry, now_ms: u64, ticks: u64) {
        let hin = self.hasher.hash(&in_tuple(&e, &self.pool));
        let hout = if e.is(F_HAS_OUT) { self.hasher.hash(&out_tuple(&e, &self.pool)) } else { 0 };
        self.place_hashed(idx, e, hin, hout, now_ms, ticks);
    }

    /// Index `e` at `idx` under its keys' hashes `hin` and (if it has one) `hout`, store
    /// it and arm its timer.
    fn place_hashed(&mut self, idx: u32, e: Entry, hin: u64, hout: u64, now_ms: u64, ticks: u64) {
        self.index.insert(hin, KeyDir::In, idx);
        if e.is(F_HAS_OUT) {
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
        let (hasher, slab, pool) = (&self.hasher, &self.slab.0, &self.pool);
        let rehash = |i: u32, d: KeyDir| {
            slab.get(i as usize)
                .map_or(0, |x| hasher.hash(&if d == KeyDir::In { in_tuple(x, pool) } else { out_tuple(x, pool) }))
        };
        if e.is(F_INDEXED) {
            self.index.remove(hasher.hash(&in_tuple(&e, pool)), KeyDir::In, idx, rehash);
        }
        if e.is(F_HAS_OUT) {
            self.index.remove(hasher.hash(&out_tuple(&e, pool)), KeyDir::Out, idx, rehash);
        }
        if let Some(x) = self.slab.0.get_mut(idx as usize) {
            x.flags &= !(F_INDEXED | F_HAS_OUT);
        }
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
                self.departed.push(out_tuple(e, &self.pool));
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
                let ticks = self.wheel.ticks_ceil(u64::from(e.tmo) * 1000);
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
