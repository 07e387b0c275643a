//! Per-core live counters of every destination (IPVS activeconns/inactconns/persistconns
//! and IP_VS_DEST_F_OVERLOAD), written by one core's connection table and read by that
//! core's schedulers. See `service` for why counts are per core.
//!
//! Single writer: the owning core updates cells with relaxed load + store (plain moves on
//! x86, no locked instruction); the control plane reads them through a
//! [`DestLoadReader`] and sums the cores for listings.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;

use crate::service::{DestId, Snapshot};

/// Per-core live state of one destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DestCounters {
    pub active: u32,
    pub inactive: u32,
    /// Persistence templates pointing at the dest (IPVS persistconns).
    pub persist: u32,
    /// IP_VS_DEST_F_OVERLOAD, per core.
    pub overloaded: bool,
    /// Present in the current snapshot (IP_VS_DEST_F_AVAILABLE).
    pub available: bool,
    /// Thresholds scaled to this core (see `service`).
    pub u_threshold: u32,
    pub l_threshold: u32,
}

const OVERLOAD: u32 = 1;
const AVAILABLE: u32 = 2;

#[derive(Debug, Default)]
struct Cell {
    active: AtomicU32,
    inactive: AtomicU32,
    persist: AtomicU32,
    bits: AtomicU32,
    u: AtomicU32,
    l: AtomicU32,
}

impl Cell {
    fn read(&self) -> DestCounters {
        let bits = self.bits.load(Relaxed);
        DestCounters {
            active: self.active.load(Relaxed),
            inactive: self.inactive.load(Relaxed),
            persist: self.persist.load(Relaxed),
            overloaded: bits & OVERLOAD != 0,
            available: bits & AVAILABLE != 0,
            u_threshold: self.u.load(Relaxed),
            l_threshold: self.l.load(Relaxed),
        }
    }
    #[inline]
    fn set_bit(&self, bit: u32, on: bool) {
        let b = self.bits.load(Relaxed);
        self.bits.store(if on { b | bit } else { b & !bit }, Relaxed);
    }
}

#[inline]
fn add(a: &AtomicU32, d: i32) {
    a.store(a.load(Relaxed).saturating_add_signed(d), Relaxed);
}

/// One core's counters for every [`DestId`], preallocated. Not `Clone`: one writer.
#[derive(Debug)]
pub struct DestLoad {
    c: Arc<[Cell]>,
    workers: u32,
}

/// Read-only handle on a core's counters for the control plane.
#[derive(Clone, Debug)]
pub struct DestLoadReader {
    c: Arc<[Cell]>,
}

impl DestLoadReader {
    pub fn get(&self, id: DestId) -> DestCounters {
        self.c.get(id.0 as usize).map(Cell::read).unwrap_or_default()
    }
    /// Active, inactive and persistent counts of `id` summed over cores (`ipvsadm -L`).
    pub fn sum(cores: &[DestLoadReader], id: DestId) -> DestCounters {
        cores.iter().map(|r| r.get(id)).fold(DestCounters::default(), |mut acc, c| {
            acc.active += c.active;
            acc.inactive += c.inactive;
            acc.persist += c.persist;
            acc.overloaded |= c.overloaded;
            acc.available |= c.available;
            acc
        })
    }
}

impl DestLoad {
    /// `workers`: number of worker cores sharing the thresholds.
    pub fn new(max_dests: u32, workers: u32) -> DestLoad {
        DestLoad { c: (0..max_dests).map(|_| Cell::default()).collect(), workers: workers.max(1) }
    }

    /// A handle the control plane can read from another thread.
    pub fn reader(&self) -> DestLoadReader {
        DestLoadReader { c: Arc::clone(&self.c) }
    }

    #[inline]
    pub fn get(&self, id: DestId) -> DestCounters {
        self.c.get(id.0 as usize).map(Cell::read).unwrap_or_default()
    }

    /// IP_VS_DEST_F_AVAILABLE without reading the other fields (every packet asks).
    #[inline]
    pub fn available(&self, id: DestId) -> bool {
        self.c.get(id.0 as usize).is_some_and(|c| c.bits.load(Relaxed) & AVAILABLE != 0)
    }

    /// IP_VS_DEST_F_OVERLOAD without reading the other fields (scheduler hot loop).
    #[inline]
    pub fn overloaded(&self, id: DestId) -> bool {
        self.c.get(id.0 as usize).is_some_and(|c| c.bits.load(Relaxed) & OVERLOAD != 0)
    }

    /// `(active, inactive)` (scheduler hot loop).
    #[inline]
    pub fn conns(&self, id: DestId) -> (u32, u32) {
        self.c.get(id.0 as usize).map_or((0, 0), |c| (c.active.load(Relaxed), c.inactive.load(Relaxed)))
    }

    pub fn len(&self) -> usize {
        self.c.len()
    }

    pub fn is_empty(&self) -> bool {
        self.c.is_empty()
    }

    /// Applies a new snapshot: availability and per-core thresholds. Not on the fast path.
    pub fn sync(&mut self, snap: &Snapshot) {
        for c in self.c.iter() {
            c.set_bit(AVAILABLE, false);
        }
        let w = self.workers;
        for d in snap.services().iter().flat_map(|s| s.dests.iter()) {
            if let Some(c) = self.c.get(d.id.0 as usize) {
                c.set_bit(AVAILABLE, true);
                let u = d.u_threshold.div_ceil(w);
                // __ip_vs_update_dest: clear OVERLOAD when the limit is gone or raised.
                if u == 0 || u > c.u.load(Relaxed) {
                    c.set_bit(OVERLOAD, false);
                }
                c.u.store(u, Relaxed);
                c.l.store(d.l_threshold.div_ceil(w), Relaxed);
            }
        }
    }

    /// Test/administration helper: set counts directly and recompute the overload flag.
    pub fn set_counts(&mut self, id: DestId, active: u32, inactive: u32) {
        if let Some(c) = self.c.get(id.0 as usize) {
            c.active.store(active, Relaxed);
            c.inactive.store(inactive, Relaxed);
            let u = c.u.load(Relaxed);
            c.set_bit(OVERLOAD, u != 0 && active.saturating_add(inactive) >= u);
        }
    }

    /// ip_vs_bind_dest: count a new conn and set OVERLOAD at the upper threshold.
    #[inline]
    pub fn bind(&mut self, id: DestId, active: bool) {
        if let Some(c) = self.c.get(id.0 as usize) {
            add(if active { &c.active } else { &c.inactive }, 1);
            let u = c.u.load(Relaxed);
            if u != 0 && c.active.load(Relaxed).saturating_add(c.inactive.load(Relaxed)) >= u {
                c.set_bit(OVERLOAD, true);
            }
        }
    }

    /// ip_vs_unbind_dest: uncount; clear OVERLOAD below l_threshold (or 3/4 of u_threshold).
    #[inline]
    pub fn unbind(&mut self, id: DestId, active: bool) {
        if let Some(c) = self.c.get(id.0 as usize) {
            add(if active { &c.active } else { &c.inactive }, -1);
            let total = u64::from(c.active.load(Relaxed)) + u64::from(c.inactive.load(Relaxed));
            let (u, l) = (u64::from(c.u.load(Relaxed)), u64::from(c.l.load(Relaxed)));
            let clear = if l != 0 {
                total < l
            } else if u != 0 {
                total * 4 < u * 3
            } else {
                true
            };
            if clear {
                c.set_bit(OVERLOAD, false);
            }
        }
    }

    /// Moves a conn between the active and inactive counts (set_tcp_state).
    #[inline]
    pub fn set_active(&mut self, id: DestId, now_active: bool) {
        if let Some(c) = self.c.get(id.0 as usize) {
            let (inc, dec) = if now_active { (&c.active, &c.inactive) } else { (&c.inactive, &c.active) };
            add(dec, -1);
            add(inc, 1);
        }
    }

    /// Counts a persistence template on the dest (IPVS persistconns), `delta` = +1 / -1.
    #[inline]
    pub fn add_persist(&mut self, id: DestId, delta: i32) {
        if let Some(c) = self.c.get(id.0 as usize) {
            add(&c.persist, delta);
        }
    }
}
