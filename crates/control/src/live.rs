//! The running service configuration. Changes are made on a copy and, when valid,
//! published as an immutable snapshot to every worker (RCU style: workers adopt it at
//! their next timer tick, without pausing; connections keep their real servers).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam::channel::Sender;
use rvs_core::conn::ConnInfo;
use rvs_core::ctl::{ConnChunk, Publication, WorkerCtl};
use rvs_core::l3::L3Config;
use rvs_core::sched::{self, Prebuilt};
use rvs_core::service::{Config, DestId, Snapshot};
use rvs_core::stats::CoreStats;

/// How long a listing waits for a worker's next chunk (one per 10 ms tick).
const LIST_WAIT: Duration = Duration::from_secs(2);
/// How long a listing may take in all (a full 1M table: 256 ticks, about 3 s).
const LIST_TOTAL: Duration = Duration::from_secs(60);

pub struct Live {
    config: Mutex<Config>,
    current: Mutex<Arc<Snapshot>>,
    /// The ports' addresses, VIPs and routes: the other half of every publication
    /// (kept by [`crate::net::LiveNet`]).
    net: Mutex<Arc<L3Config>>,
    workers: Vec<Sender<WorkerCtl>>,
    timeouts: Mutex<(u32, u32, u32)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a valid value (changes are made on copies).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Live {
    pub fn new(config: Config, workers: Vec<Sender<WorkerCtl>>) -> Self {
        // Generation 1: a worker's stats read 0 until its first tick publishes.
        let snap = config.snapshot_gen(1);
        let t = rvs_core::conn::Timeouts::default().get();
        Live {
            config: Mutex::new(config),
            current: Mutex::new(snap),
            net: Mutex::new(Arc::new(L3Config::default())),
            workers,
            timeouts: Mutex::new(t),
        }
    }

    /// `ipvsadm --set tcp tcpfin udp`: 0 keeps a value. Every worker applies it.
    pub fn set_timeouts(&self, tcp: u32, tcpfin: u32, udp: u32) {
        let mut t = lock(&self.timeouts);
        let keep = |new: u32, old: u32| if new == 0 { old } else { new };
        *t = (keep(tcp, t.0), keep(tcpfin, t.1), keep(udp, t.2));
        for w in &self.workers {
            let _ = w.send(WorkerCtl::Timeouts { tcp, tcpfin, udp });
        }
    }

    /// Arm `cap` on every worker (replacing any capture they run); returns how many
    /// workers were told (a stopped one is not).
    pub fn arm_capture(&self, cap: &Arc<rvs_core::capture::Capture>) -> usize {
        self.workers.iter().filter(|w| w.send(WorkerCtl::Capture(cap.clone())).is_ok()).count()
    }

    /// How many workers there are.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Connection sync on (worker `i` gets `queues[i]`) or off (empty).
    pub fn set_sync(&self, queues: &[Arc<rvs_core::sync::SyncQueues>]) {
        for (i, w) in self.workers.iter().enumerate() {
            let _ = w.send(WorkerCtl::Sync(queues.get(i).cloned()));
        }
    }

    /// The timeouts in force: (tcp, tcpfin, udp) seconds.
    pub fn timeouts(&self) -> (u32, u32, u32) {
        *lock(&self.timeouts)
    }

    /// Every worker's connections and templates. Each worker sends a bounded chunk per
    /// timer tick, all workers at once; a worker silent for [`LIST_WAIT`] (stopped) or
    /// a listing past [`LIST_TOTAL`] ends with what arrived.
    pub fn connections(&self) -> Vec<ConnInfo> {
        let rxs: Vec<_> = self
            .workers
            .iter()
            .filter_map(|w| {
                let (tx, rx) = std::sync::mpsc::channel::<ConnChunk>();
                w.send(WorkerCtl::ListConns(tx)).is_ok().then_some(rx)
            })
            .collect();
        let deadline = Instant::now() + LIST_TOTAL;
        let mut all = Vec::new();
        for rx in rxs {
            loop {
                let wait = LIST_WAIT.min(deadline.saturating_duration_since(Instant::now()));
                match rx.recv_timeout(wait) {
                    Ok(c) => {
                        all.extend(c.conns);
                        if c.done {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        all
    }

    /// The snapshot the workers run (or are about to).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        lock(&self.current).clone()
    }

    /// A copy of the service configuration, for listings and saves.
    pub fn config(&self) -> Config {
        lock(&self.config).clone()
    }

    /// Apply `change` to a copy; if it succeeds, the copy becomes the configuration and
    /// its snapshot is published. On error nothing changes.
    ///
    /// The schedulers of the services whose (key, scheduler, flags, dests) changed are
    /// built here, one instance per worker, and sent with the snapshot: a worker then
    /// never rebuilds a table (`mh`: 65,537 slots) in its loop.
    pub fn update<R, E>(&self, change: impl FnOnce(&mut Config) -> Result<R, E>) -> Result<R, E> {
        let mut cfg = lock(&self.config);
        let mut next = cfg.clone();
        let r = change(&mut next)?;
        let mut current = lock(&self.current);
        let snap = next.snapshot_gen(current.generation() + 1);
        let changed: Vec<_> = sched::changed(&current, &snap).collect();
        let net = lock(&self.net).clone();
        for w in &self.workers {
            let scheds: Vec<Prebuilt> = changed.iter().map(|s| Prebuilt::build(s)).collect();
            // A worker that has stopped has dropped its receiver; nothing to tell it.
            let _ = w.send(WorkerCtl::Snapshot(Publication { snap: snap.clone(), scheds, net: net.clone() }));
        }
        *cfg = next;
        *current = snap;
        Ok(r)
    }

    /// The addresses, VIPs and routes the workers start with (not published: they are
    /// given it at launch).
    pub fn init_net(&self, net: Arc<L3Config>) {
        *lock(&self.net) = net;
    }

    /// Publish new addresses, VIPs and routes with the services as they are: one
    /// snapshot of the whole director, adopted at each worker's next tick.
    pub fn set_net(&self, net: Arc<L3Config>) {
        // Under the services' lock, so publications never cross.
        let current = lock(&self.current);
        *lock(&self.net) = net.clone();
        for w in &self.workers {
            let _ = w.send(WorkerCtl::Snapshot(Publication {
                snap: current.clone(),
                scheds: Vec::new(),
                net: net.clone(),
            }));
        }
    }

    /// The addresses, VIPs and routes the workers run.
    pub fn net(&self) -> Arc<L3Config> {
        lock(&self.net).clone()
    }

    /// Frees the ids of deleted real servers that nothing refers to any more (IPVS
    /// empties ip_vs_dest_trash the same way), zeroing their per-core statistics so the
    /// next real server to get one starts from zero; returns them. Only when every
    /// worker in `cores` has published its counts under the newest snapshot: before
    /// that a worker may still schedule onto a server just deleted.
    pub fn release_ids(&self, cores: &[Arc<CoreStats>]) -> Vec<DestId> {
        let mut cfg = lock(&self.config);
        let generation = lock(&self.current).generation();
        if cores.iter().any(|c| c.adopted.get() < generation) {
            return Vec::new();
        }
        let held = |id: DestId| cores.iter().any(|c| c.dest(id.0).is_some_and(|d| d.held() > 0));
        let freed = cfg.release_ids(|id| !held(id));
        for id in &freed {
            for d in cores.iter().filter_map(|c| c.dest(id.0)) {
                d.reset();
            }
        }
        freed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_core::addr::{Addr, Protocol};
    use rvs_core::service::{ServiceKey, ServiceSpec};

    #[test]
    fn a_failed_change_publishes_nothing() {
        let (tx, rx) = crossbeam::channel::unbounded();
        let live = Live::new(Config::new(16), vec![tx]);
        let key = ServiceKey::Proto {
            proto: Protocol::Tcp,
            addr: Addr::from(std::net::Ipv4Addr::new(10, 0, 2, 100)),
            port: 80,
        };
        live.update(|c| c.add_service(&ServiceSpec::new(key))).unwrap();
        assert!(matches!(rx.try_recv().unwrap(), WorkerCtl::Snapshot(p) if p.snap.services().len() == 1));
        assert!(live.update(|c| c.add_service(&ServiceSpec::new(key))).is_err(), "duplicate service");
        assert!(rx.try_recv().is_err(), "nothing published");
        assert_eq!(live.snapshot().services().len(), 1);
        assert_eq!(live.config().services().len(), 1);
    }
}
