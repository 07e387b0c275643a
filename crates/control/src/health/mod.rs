//! Health checks with keepalived 2.2.7's semantics (`keepalived/check/`): TCP_CHECK,
//! HTTP_GET, SSL_GET and MISC_CHECK run against the real servers of a keepalived
//! configuration, and the result is the *effective* service list, what IPVS would hold
//! under keepalived: failed servers out (weight 0 with `inhibit_on_failure`),
//! misc_dynamic weights applied, the sorry server in while quorum is lost.
//!
//! [`Engine`] is the state machine alone (fed attempt results, no threads or clocks);
//! [`Health`] runs it: one plain thread per checker (never a worker lcore), blocking
//! I/O bounded by the checker's timeouts, sleeps on a condition variable so that a stop
//! is prompt, and one thread that hands every change of the list to `on_change`.
//!
//! Where rvs differs from keepalived 2.2.7, on purpose:
//! - A MISC_CHECK script that cannot be started fails its check (keepalived drops a
//!   missing script when loading, and a failed exec exits 0, i.e. passes).
//! - A MISC_CHECK run that timed out or was killed forgets its last exit code, so a
//!   misc_dynamic script that recovers with the same code sets its weight again.
//! - Real servers added by a reload honour `alpha` (2.2.7 applies it at startup only);
//!   on reload a misc_dynamic exit 0 keeps the configured weight (2.2.7: weight 0).
//! - HTTP: reading stops at Content-Length (keepalived reads to EOF) and
//!   connect_timeout bounds the whole exchange, not each read; the body is hashed as
//!   it streams, so there is no size cap. SSL_GET needs TLS 1.2 or later (rustls).
//! - A sorry server equal to a real server replaces that entry while it is in.
//! - MISC_CHECK `user` is looked up in /etc/passwd and /etc/group (not NSS).
//! - Not done: smtp_alert, notify FIFOs, SNMP, track files, BFD, DNS/UDP/SMTP/FILE
//!   checkers, HTTP regex and fast_recovery (the reader refuses them or, for
//!   smtp_alert, rvsd says so at start).

mod checker;
mod engine;
mod probe;
mod reload;
mod script;
mod state;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rvs_core::service::ServiceDef;

pub use engine::{
    CheckResult, CheckerId, CheckerInfo, CheckerStatus, Effects, Engine, Outcome, RealServerStatus, Report,
    BOOTSTRAP_DELAY, MAX_WEIGHT,
};

use crate::keepalived::KeepalivedConf;
use probe::Probe;

/// Where [`Health`] writes its log lines (stdout by default).
pub type LogFn = Arc<dyn Fn(&str) + Send + Sync>;
/// Receives each new effective list.
pub type OnChange = Arc<dyn Fn(Vec<ServiceDef>) + Send + Sync>;

/// keepalived waits a second for each shutdown script (system_call_script, TIMER_HZ).
const SHUTDOWN_SCRIPT_WAIT: Duration = Duration::from_secs(1);

/// A stop signal that sleeping threads wake up for.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    set: Mutex<bool>,
    cv: Condvar,
}

impl Stop {
    pub(crate) fn set(&self) {
        *lock(&self.set) = true;
        self.cv.notify_all();
    }
    pub(crate) fn is_set(&self) -> bool {
        *lock(&self.set)
    }
    /// Sleeps up to `d`; true when stopped.
    pub(crate) fn wait(&self, d: Duration) -> bool {
        let g = lock(&self.set);
        let (g, _) = self.cv.wait_timeout_while(g, d, |s| !*s).unwrap_or_else(|e| e.into_inner());
        *g
    }
}

/// A poisoned lock still holds consistent state here (every update is a plain
/// assignment); keep going rather than panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

enum Msg {
    Changed,
    Quit,
}

struct Shared {
    engine: Mutex<Engine>,
    /// The stop of the current generation's checkers.
    gen_stop: Mutex<Arc<Stop>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    tx: Mutex<Sender<Msg>>,
    log: LogFn,
    stopped: AtomicBool,
}

impl Shared {
    /// Logs, starts scripts (not waited for) and wakes the dispatcher: never under the
    /// engine lock.
    fn carry_out(&self, fx: Effects) -> Vec<Receiver<std::io::Result<std::process::ExitStatus>>> {
        for l in &fx.logs {
            (self.log)(l);
        }
        let log = |s: &str| (self.log)(s);
        let started = fx.scripts.iter().filter_map(|s| script::notify(s, &log)).collect();
        if fx.changed {
            let _ = lock(&self.tx).send(Msg::Changed);
        }
        started
    }

    fn spawn_checkers(self: &Arc<Self>, infos: Vec<CheckerInfo>, stop: &Arc<Stop>) {
        let mut threads = lock(&self.threads);
        threads.retain(|t| !t.is_finished());
        for info in infos {
            let probe = match Probe::new(&info) {
                Ok(p) => p,
                Err(why) => {
                    (self.log)(&format!("health: {} disabled: {why}", info.name));
                    continue;
                }
            };
            let (me, stop) = (self.clone(), stop.clone());
            let t =
                std::thread::Builder::new().name("rvs-health".into()).spawn(move || me.run_checker(info, probe, &stop));
            match t {
                Ok(t) => threads.push(t),
                Err(e) => (self.log)(&format!("health: cannot start a checker thread: {e}")),
            }
        }
    }

    fn run_checker(&self, info: CheckerInfo, probe: Probe, stop: &Stop) {
        // register_checkers_thread: BOOTSTRAP_DELAY plus a random part of warmup.
        let warmup = u64::try_from(info.warmup.as_nanos()).unwrap_or(u64::MAX);
        let mut delay = BOOTSTRAP_DELAY + Duration::from_nanos(fastrand::u64(0..=warmup));
        let mut url = 0;
        loop {
            if stop.wait(delay) {
                return;
            }
            let outcome = probe.run(url, stop);
            if stop.is_set() {
                return;
            }
            let Some(report) = lock(&self.engine).report(info.id, outcome) else { return };
            self.carry_out(report.effects);
            (delay, url) = (report.delay, report.url);
        }
    }
}

/// The health-check engine at work.
pub struct Health {
    shared: Arc<Shared>,
    dispatcher: Option<JoinHandle<()>>,
}

/// Something that reports real servers' health (for [`crate::metrics::Metrics`]).
pub trait HealthSource: Send + Sync {
    fn real_servers(&self) -> Vec<RealServerStatus>;
}

struct Source(Arc<Shared>);

impl HealthSource for Source {
    fn real_servers(&self) -> Vec<RealServerStatus> {
        lock(&self.0.engine).status()
    }
}

impl HealthSource for Health {
    fn real_servers(&self) -> Vec<RealServerStatus> {
        self.status()
    }
}

impl Health {
    /// Starts checking. `on_change` is called from the engine's dispatcher thread (never
    /// holding an engine lock) with the new effective list whenever it changes; the
    /// list at start is [`Health::effective`]'s. Log lines go to stdout.
    pub fn start(conf: &KeepalivedConf, on_change: OnChange) -> Health {
        Health::start_with_log(conf, on_change, Arc::new(|l: &str| println!("{l}")))
    }

    /// [`Health::start`] with log lines sent to `log`.
    pub fn start_with_log(conf: &KeepalivedConf, on_change: OnChange, log: LogFn) -> Health {
        let (engine, fx) = Engine::new(conf);
        let infos = engine.checkers();
        let first = engine.effective();
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(Stop::default());
        let shared = Arc::new(Shared {
            engine: Mutex::new(engine),
            gen_stop: Mutex::new(stop.clone()),
            threads: Mutex::new(Vec::new()),
            tx: Mutex::new(tx),
            log,
            stopped: AtomicBool::new(false),
        });
        let me = shared.clone();
        let dispatcher = std::thread::Builder::new()
            .name("rvs-health-notify".into())
            .spawn(move || dispatch(&me, &rx, &on_change, first));
        let dispatcher = match dispatcher {
            Ok(d) => Some(d),
            Err(e) => {
                (shared.log)(&format!("health: cannot start the notify thread: {e}; changes are not reported"));
                None
            }
        };
        shared.carry_out(Effects { changed: false, ..fx });
        shared.spawn_checkers(infos, &stop);
        Health { shared, dispatcher }
    }

    /// The effective list now: the configured services in order, down real servers
    /// removed (weight 0 with inhibit_on_failure), misc_dynamic weights applied, the
    /// sorry server in and alive servers out while quorum is lost.
    pub fn effective(&self) -> Vec<ServiceDef> {
        lock(&self.shared.engine).effective()
    }

    /// SIGHUP: a new configuration. Real servers (service key, address:port) that stay
    /// keep their up/down state; new ones start as `alpha` says; removed ones stop.
    /// Every checker restarts after BOOTSTRAP_DELAY + warmup, as on keepalived's reload.
    pub fn reload(&self, conf: &KeepalivedConf) {
        if self.shared.stopped.load(Ordering::Acquire) {
            return;
        }
        let (fx, infos) = {
            let mut e = lock(&self.shared.engine);
            let fx = e.reload(conf);
            (fx, e.checkers())
        };
        let stop = Arc::new(Stop::default());
        let old = std::mem::replace(&mut *lock(&self.shared.gen_stop), stop.clone());
        old.set();
        self.shared.spawn_checkers(infos, &stop);
        self.shared.carry_out(fx);
    }

    /// Per real server state, for metrics and logs.
    pub fn status(&self) -> Vec<RealServerStatus> {
        lock(&self.shared.engine).status()
    }

    /// A handle on [`Health::status`] that outlives [`Health::stop`] (for metrics).
    pub fn source(&self) -> Arc<dyn HealthSource> {
        Arc::new(Source(self.shared.clone()))
    }

    /// Stops every checker (joining their threads) and, where `omega` is set, runs
    /// notify_down of the servers in the pool and quorum_down, waiting up to a second
    /// for each (keepalived's clear_services). The effective list is not changed nor
    /// reported: what to do with the services at shutdown is the caller's business.
    pub fn stop(mut self) {
        self.shared.stopped.store(true, Ordering::Release);
        lock(&self.shared.gen_stop).set();
        let threads = std::mem::take(&mut *lock(&self.shared.threads));
        for t in threads {
            let _ = t.join();
        }
        let fx = lock(&self.shared.engine).shutdown();
        for rx in self.shared.carry_out(Effects { changed: false, ..fx }) {
            script::wait(&rx, SHUTDOWN_SCRIPT_WAIT);
        }
        let _ = lock(&self.shared.tx).send(Msg::Quit);
        if let Some(d) = self.dispatcher.take() {
            let _ = d.join();
        }
    }
}

impl Drop for Health {
    /// Without [`Health::stop`], threads are told to end but not waited for.
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::Release);
        lock(&self.shared.gen_stop).set();
        let _ = lock(&self.shared.tx).send(Msg::Quit);
    }
}

/// Hands each new effective list to `on_change`, coalescing bursts; the last call
/// always carries the latest list.
fn dispatch(shared: &Shared, rx: &Receiver<Msg>, on_change: &OnChange, mut last: Vec<ServiceDef>) {
    while let Ok(msg) = rx.recv() {
        let mut quit = matches!(msg, Msg::Quit);
        while let Ok(m) = rx.try_recv() {
            quit |= matches!(m, Msg::Quit);
        }
        let now = lock(&shared.engine).effective();
        if now != last {
            last = now.clone();
            on_change(now);
        }
        if quit {
            return;
        }
    }
}
