//! keepalived.conf's services as they run: the declared virtual servers through the
//! health checker (`control::health`), whose effective list — dead servers out or at
//! weight 0, misc_dynamic weights, the sorry server while quorum is lost — is applied
//! with the TOML `[[service]]`s through the same snapshot path rvsadm uses.
//!
//! One lock orders every application: a check result and a SIGHUP never apply a list
//! computed from the other's stale configuration.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use control::config::Config;
use control::health::{Health, HealthSource};
use control::keepalived::KeepalivedConf;
use control::live::Live;
use control::services::Changes;

struct State {
    /// The configuration in force (the latest one loaded).
    cfg: Config,
    health: Option<Health>,
}

struct Inner {
    live: Arc<Live>,
    state: Mutex<State>,
    /// rvsd is stopping: what the checker reports while it winds down (its shutdown
    /// clears the pool) is not applied.
    stopping: AtomicBool,
}

pub struct Checks {
    inner: Arc<Inner>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Inner {
    /// Apply the TOML's services and the checker's effective list; the caller holds the
    /// state.
    fn apply(&self, st: &State) -> Result<Changes, String> {
        let effective = st.health.as_ref().map(Health::effective).unwrap_or_default();
        self.live.update(|c| control::keepalived::apply(c, &st.cfg, &effective))
    }
}

impl Checks {
    /// Start checking `k`'s real servers (when rvsd has a keepalived.conf) and apply
    /// what that gives: with `alpha`, servers are out until their first good check.
    pub fn start(live: Arc<Live>, cfg: &Config, k: Option<&KeepalivedConf>) -> Result<Checks, String> {
        let state = Mutex::new(State { cfg: cfg.clone(), health: None });
        let inner = Arc::new(Inner { live, state, stopping: AtomicBool::new(false) });
        let checks = Checks { inner };
        let mut st = lock(&checks.inner.state);
        st.health = k.map(|k| Health::start(k, checks.on_change()));
        checks.inner.apply(&st)?;
        drop(st);
        Ok(checks)
    }

    /// Every change the checker reports applies the current effective list (read under
    /// the lock, so never one older than the last reload's).
    fn on_change(&self) -> control::health::OnChange {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        Arc::new(move |_| {
            let Some(inner) = weak.upgrade() else { return };
            if inner.stopping.load(Ordering::Acquire) {
                return;
            }
            let st = lock(&inner.state);
            match inner.apply(&st) {
                Ok(ch) if !ch.is_empty() => println!("rvsd: health: {ch}"),
                Ok(_) => {}
                Err(e) => eprintln!("rvsd: health: {e}; the running configuration stays"),
            }
        })
    }

    /// SIGHUP: the new configuration and keepalived.conf (both already validated). The
    /// checker keeps the state of unchanged real servers, as keepalived does.
    pub fn reload(&self, cfg: &Config, k: Option<&KeepalivedConf>) -> Result<Changes, String> {
        let mut st = lock(&self.inner.state);
        st.cfg = cfg.clone();
        match (&st.health, k) {
            (Some(h), Some(k)) => h.reload(k),
            (None, Some(k)) => st.health = Some(Health::start(k, self.on_change())),
            (Some(_), None) => {
                // Stopped outside the lock: its notify thread may be waiting for it.
                let h = st.health.take();
                drop(st);
                if let Some(h) = h {
                    h.stop();
                }
                st = lock(&self.inner.state);
            }
            (None, None) => {}
        }
        self.inner.apply(&st)
    }

    /// For the metrics: real servers' states and check counts.
    pub fn source(&self) -> Option<Arc<dyn HealthSource>> {
        lock(&self.inner.state).health.as_ref().map(Health::source)
    }

    /// Stop checking (omega's scripts run, as at keepalived's shutdown).
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::Release);
        let h = lock(&self.inner.state).health.take();
        if let Some(h) = h {
            h.stop();
        }
    }
}
