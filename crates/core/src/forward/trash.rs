//! Real servers that left this worker's snapshot while connections or templates still
//! referred to them (IPVS keeps such a dest in ip_vs_dest_trash until its refcount
//! drops). Their per-dest gauges keep being published until they reach zero, so the
//! control thread can tell when an id may be given to another real server.

use crate::conn::ConnTable;
use crate::service::{DestId, Snapshot};
use crate::stats::CoreStats;

#[derive(Default)]
pub(super) struct Trash {
    ids: Vec<DestId>,
}

impl Trash {
    /// Adopting `next` after `prev` (allocates; at a timer tick, not per packet).
    pub(super) fn follow(&mut self, prev: &Snapshot, next: &Snapshot) {
        let mut present = vec![false; next.max_dests() as usize];
        for id in next.dest_ids() {
            if let Some(p) = present.get_mut(id.0 as usize) {
                *p = true;
            }
        }
        let gone = |id: &DestId| !present.get(id.0 as usize).copied().unwrap_or(false);
        self.ids.retain(gone);
        self.ids.extend(prev.dest_ids().filter(gone));
        self.ids.sort_unstable();
        self.ids.dedup();
    }

    /// Publishes the counts of every trashed id; forgets those that reached zero (after
    /// publishing the zero). At most `max_dests` ids, no allocation.
    pub(super) fn publish(&mut self, conns: &ConnTable, stats: &CoreStats) {
        self.ids.retain(|id| {
            let c = conns.counts(*id);
            if let Some(s) = stats.dest(id.0) {
                s.active.set(u64::from(c.active));
                s.inactive.set(u64::from(c.inactive));
                s.persist.set(u64::from(c.persist));
            }
            c.active + c.inactive + c.persist > 0
        });
    }
}
