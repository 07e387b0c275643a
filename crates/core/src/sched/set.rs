//! One core's scheduler instances, one per service of the current snapshot.

use super::{build, Scheduler};
use crate::service::{SchedFlags, ServiceKey, Snapshot};

type Ident = (ServiceKey, &'static str, SchedFlags);

/// Scheduler state for every service of a snapshot, indexed like `Snapshot::services`.
#[derive(Default)]
pub struct SchedSet {
    v: Vec<Box<dyn Scheduler>>,
    ids: Vec<Ident>,
}

impl SchedSet {
    pub fn new(snap: &Snapshot) -> SchedSet {
        let mut s = SchedSet::default();
        s.apply(snap);
        s
    }

    /// Follows a new snapshot (not on the fast path): a service with the same key,
    /// scheduler and flags keeps its instance (rr position, lblc caches) and gets
    /// `update(dests)`; others get a fresh instance.
    pub fn apply(&mut self, snap: &Snapshot) {
        let mut old: Vec<Option<(Ident, Box<dyn Scheduler>)>> =
            self.ids.drain(..).zip(self.v.drain(..)).map(Some).collect();
        for svc in snap.services() {
            let id = (svc.key, svc.scheduler, svc.flags);
            let kept = old.iter_mut().find(|o| o.as_ref().is_some_and(|(i, _)| *i == id)).and_then(Option::take);
            let s = match kept {
                Some((_, mut s)) => {
                    s.update(&svc.dests);
                    s
                }
                // Snapshot services carry validated names, so build cannot fail; fall back
                // to rr rather than panic.
                None => build(svc.scheduler, svc.flags, &svc.dests)
                    .or_else(|_| build("rr", svc.flags, &svc.dests))
                    .unwrap_or_else(|_| Box::new(super::Rr::new())),
            };
            self.ids.push(id);
            self.v.push(s);
        }
    }

    /// The scheduler of `Snapshot::services()[svc]`.
    #[inline]
    pub fn get_mut(&mut self, svc: usize) -> Option<&mut (dyn Scheduler + 'static)> {
        self.v.get_mut(svc).map(|b| b.as_mut())
    }

    pub fn len(&self) -> usize {
        self.v.len()
    }

    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }
}
