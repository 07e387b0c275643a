//! Per-core live counters of every destination (IPVS activeconns/inactconns/persistconns
//! and IP_VS_DEST_F_OVERLOAD), owned by one core's connection table and read by that
//! core's schedulers. See `service` for why counts are per core.

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
    /// Thresholds scaled to this core (see module doc).
    pub u_threshold: u32,
    pub l_threshold: u32,
}

/// One core's counters for every [`DestId`], preallocated.
#[derive(Clone, Debug)]
pub struct DestLoad {
    c: Vec<DestCounters>,
    workers: u32,
}

impl DestLoad {
    /// `workers`: number of worker cores sharing the thresholds.
    pub fn new(max_dests: u32, workers: u32) -> DestLoad {
        DestLoad { c: vec![DestCounters::default(); max_dests as usize], workers: workers.max(1) }
    }

    pub fn get(&self, id: DestId) -> DestCounters {
        self.c.get(id.0 as usize).copied().unwrap_or_default()
    }

    pub fn get_mut(&mut self, id: DestId) -> Option<&mut DestCounters> {
        self.c.get_mut(id.0 as usize)
    }

    pub fn len(&self) -> usize {
        self.c.len()
    }

    pub fn is_empty(&self) -> bool {
        self.c.is_empty()
    }

    /// Applies a new snapshot: availability and per-core thresholds. Not on the fast path.
    pub fn sync(&mut self, snap: &Snapshot) {
        for c in self.c.iter_mut() {
            c.available = false;
        }
        let w = self.workers;
        for d in snap.services().iter().flat_map(|s| s.dests.iter()) {
            if let Some(c) = self.c.get_mut(d.id.0 as usize) {
                c.available = true;
                let u = d.u_threshold.div_ceil(w);
                // __ip_vs_update_dest: clear OVERLOAD when the limit is gone or raised.
                if u == 0 || u > c.u_threshold {
                    c.overloaded = false;
                }
                c.u_threshold = u;
                c.l_threshold = d.l_threshold.div_ceil(w);
            }
        }
    }

    /// Test/administration helper: set counts directly and recompute the overload flag.
    pub fn set_counts(&mut self, id: DestId, active: u32, inactive: u32) {
        if let Some(c) = self.c.get_mut(id.0 as usize) {
            c.active = active;
            c.inactive = inactive;
            c.overloaded = c.u_threshold != 0 && active.saturating_add(inactive) >= c.u_threshold;
        }
    }

    /// ip_vs_bind_dest: count a new conn and set OVERLOAD at the upper threshold.
    pub fn bind(&mut self, id: DestId, active: bool) {
        if let Some(c) = self.c.get_mut(id.0 as usize) {
            if active {
                c.active = c.active.saturating_add(1);
            } else {
                c.inactive = c.inactive.saturating_add(1);
            }
            if c.u_threshold != 0 && c.active.saturating_add(c.inactive) >= c.u_threshold {
                c.overloaded = true;
            }
        }
    }

    /// ip_vs_unbind_dest: uncount; clear OVERLOAD below l_threshold (or 3/4 of u_threshold).
    pub fn unbind(&mut self, id: DestId, active: bool) {
        if let Some(c) = self.c.get_mut(id.0 as usize) {
            if active {
                c.active = c.active.saturating_sub(1);
            } else {
                c.inactive = c.inactive.saturating_sub(1);
            }
            let total = u64::from(c.active) + u64::from(c.inactive);
            if c.l_threshold != 0 {
                if total < u64::from(c.l_threshold) {
                    c.overloaded = false;
                }
            } else if c.u_threshold != 0 {
                if total * 4 < u64::from(c.u_threshold) * 3 {
                    c.overloaded = false;
                }
            } else {
                c.overloaded = false;
            }
        }
    }

    /// Moves a conn between the active and inactive counts (set_tcp_state).
    pub fn set_active(&mut self, id: DestId, now_active: bool) {
        if let Some(c) = self.c.get_mut(id.0 as usize) {
            if now_active {
                c.inactive = c.inactive.saturating_sub(1);
                c.active = c.active.saturating_add(1);
            } else {
                c.active = c.active.saturating_sub(1);
                c.inactive = c.inactive.saturating_add(1);
            }
        }
    }
}
