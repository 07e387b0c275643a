//! One core's scheduler instances, one per service of the current snapshot.
//!
//! Building a table scheduler is O(table) (`mh`: 65,537 slots), so a worker never does
//! it when it adopts a snapshot: the control thread builds one [`Prebuilt`] instance per
//! worker for every service whose scheduler inputs changed and sends them with the
//! snapshot; the worker keeps its own instance for services that did not change.

use super::{build, Rr, Scheduler};
use crate::service::{Dest, SchedFlags, Service, ServiceKey, Snapshot};

/// A scheduler instance built for exactly one service's (key, scheduler, flags, dests).
pub struct Prebuilt {
    key: ServiceKey,
    scheduler: &'static str,
    flags: SchedFlags,
    dests: Vec<Dest>,
    sched: Box<dyn Scheduler>,
}

impl Prebuilt {
    /// Builds `svc`'s scheduler (control thread; allocates, O(table)).
    pub fn build(svc: &Service) -> Prebuilt {
        // Snapshot services carry validated names, so build cannot fail; fall back to rr
        // rather than panic.
        let sched = build(svc.scheduler, svc.flags, &svc.dests)
            .or_else(|_| build("rr", svc.flags, &svc.dests))
            .unwrap_or_else(|_| Box::new(Rr::new()));
        Prebuilt { key: svc.key, scheduler: svc.scheduler, flags: svc.flags, dests: svc.dests.clone(), sched }
    }

    pub fn key(&self) -> ServiceKey {
        self.key
    }

    /// Built for what `svc` is now: its state is what a fresh build would give.
    pub fn matches(&self, svc: &Service) -> bool {
        self.same_ident(svc) && self.dests == svc.dests
    }

    fn same_ident(&self, svc: &Service) -> bool {
        self.key == svc.key && self.scheduler == svc.scheduler && self.flags == svc.flags
    }
}

/// The services of `next` whose scheduler must be rebuilt after `prev`: new, or with
/// another scheduler, flags or dests (weights and thresholds included).
pub fn changed<'a>(prev: &'a Snapshot, next: &'a Snapshot) -> impl Iterator<Item = &'a Service> + 'a {
    next.services().iter().filter(move |s| {
        !prev
            .services()
            .iter()
            .any(|p| p.key == s.key && p.scheduler == s.scheduler && p.flags == s.flags && p.dests == s.dests)
    })
}

/// Scheduler state for every service of a snapshot, indexed like `Snapshot::services`.
#[derive(Default)]
pub struct SchedSet {
    v: Vec<Prebuilt>,
    local_builds: u64,
}

impl SchedSet {
    /// Builds every service's scheduler here (a worker's start, before it polls).
    pub fn new(snap: &Snapshot) -> SchedSet {
        SchedSet { v: snap.services().iter().map(Prebuilt::build).collect(), local_builds: 0 }
    }

    /// Follows a new snapshot without prebuilt instances (tests and tools; a worker
    /// gets them with the snapshot, see [`SchedSet::adopt`]).
    pub fn apply(&mut self, snap: &Snapshot) {
        self.adopt(snap, Vec::new());
    }

    /// Follows a new snapshot (at a timer tick, not per packet). Per service: the
    /// instance it has if its inputs did not change (rr position, lblc caches carry
    /// over) or if its scheduler updates cheaply (rr, wrr, lc family: then `update`),
    /// else a matching prebuilt one, else one built here and counted in
    /// [`SchedSet::local_builds`] (the control thread sends one for every change, so this
    /// only happens when it did not).
    pub fn adopt(&mut self, snap: &Snapshot, mut prebuilt: Vec<Prebuilt>) {
        let mut old: Vec<Option<Prebuilt>> = self.v.drain(..).map(Some).collect();
        for svc in snap.services() {
            let kept = old.iter_mut().find(|o| o.as_ref().is_some_and(|p| p.matches(svc))).and_then(Option::take);
            let kept = kept.or_else(|| {
                let o =
                    old.iter_mut().find(|o| o.as_ref().is_some_and(|p| p.same_ident(svc) && p.sched.cheap_update()))?;
                let mut p = o.take()?;
                p.sched.update(&svc.dests);
                p.dests.clone_from(&svc.dests);
                Some(p)
            });
            let s = match kept {
                Some(s) => s,
                None => match prebuilt.iter().rposition(|p| p.matches(svc)) {
                    Some(i) => prebuilt.swap_remove(i),
                    None => {
                        self.local_builds += 1;
                        Prebuilt::build(svc)
                    }
                },
            };
            self.v.push(s);
        }
    }

    /// Schedulers this core had to build itself while adopting snapshots.
    pub fn local_builds(&self) -> u64 {
        self.local_builds
    }

    /// The scheduler of `Snapshot::services()[svc]`.
    #[inline]
    pub fn get_mut(&mut self, svc: usize) -> Option<&mut (dyn Scheduler + 'static)> {
        self.v.get_mut(svc).map(|p| p.sched.as_mut())
    }

    pub fn len(&self) -> usize {
        self.v.len()
    }

    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }
}
