//! The running service configuration. Changes are made on a copy and, when valid,
//! published as an immutable snapshot to every worker (RCU style: workers adopt it at
//! their next timer tick, without pausing; connections keep their real servers).

use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam::channel::Sender;
use rvs_core::conn::ConnInfo;
use rvs_core::ctl::WorkerCtl;
use rvs_core::service::{Config, Snapshot};

/// How long a listing waits for a worker's copy of its connections.
const LIST_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

pub struct Live {
    config: Mutex<Config>,
    current: Mutex<Arc<Snapshot>>,
    workers: Vec<Sender<WorkerCtl>>,
    timeouts: Mutex<(u32, u32, u32)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a valid value (changes are made on copies).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Live {
    pub fn new(config: Config, workers: Vec<Sender<WorkerCtl>>) -> Self {
        let snap = config.snapshot();
        let t = rvs_core::conn::Timeouts::default().get();
        Live { config: Mutex::new(config), current: Mutex::new(snap), workers, timeouts: Mutex::new(t) }
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

    /// The timeouts in force: (tcp, tcpfin, udp) seconds.
    pub fn timeouts(&self) -> (u32, u32, u32) {
        *lock(&self.timeouts)
    }

    /// Every worker's connections and templates (each worker answers at its next tick).
    pub fn connections(&self) -> Vec<ConnInfo> {
        let mut all = Vec::new();
        for w in &self.workers {
            let (tx, rx) = std::sync::mpsc::channel();
            if w.send(WorkerCtl::ListConns(tx)).is_ok() {
                if let Ok(v) = rx.recv_timeout(LIST_WAIT) {
                    all.extend(v);
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
    pub fn update<R, E>(&self, change: impl FnOnce(&mut Config) -> Result<R, E>) -> Result<R, E> {
        let mut cfg = lock(&self.config);
        let mut next = cfg.clone();
        let r = change(&mut next)?;
        let snap = next.snapshot();
        *cfg = next;
        *lock(&self.current) = snap.clone();
        for w in &self.workers {
            // A worker that has stopped has dropped its receiver; nothing to tell it.
            let _ = w.send(WorkerCtl::Snapshot(snap.clone()));
        }
        Ok(r)
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
        assert!(matches!(rx.try_recv().unwrap(), WorkerCtl::Snapshot(s) if s.services().len() == 1));
        assert!(live.update(|c| c.add_service(&ServiceSpec::new(key))).is_err(), "duplicate service");
        assert!(rx.try_recv().is_err(), "nothing published");
        assert_eq!(live.snapshot().services().len(), 1);
        assert_eq!(live.config().services().len(), 1);
    }
}
