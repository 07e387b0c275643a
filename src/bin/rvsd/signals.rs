//! The control thread's wait: SIGINT/SIGTERM stop rvsd; SIGHUP re-reads the
//! configuration file and the keepalived.conf it names, and applies their services
//! live. A file with an error is reported with file and line, and the running
//! configuration stays.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use control::config::{Config, ControlConfig};
use control::live::Live;
use control::metrics::Metrics;
use control::net::LiveNet;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::checks::Checks;

pub struct Signals {
    term: Arc<AtomicBool>,
    hup: Arc<AtomicBool>,
}

impl Signals {
    pub fn install() -> Result<Signals, String> {
        let s = Signals { term: Arc::new(AtomicBool::new(false)), hup: Arc::new(AtomicBool::new(false)) };
        for (sig, flag) in [(SIGINT, &s.term), (SIGTERM, &s.term), (SIGHUP, &s.hup)] {
            signal_hook::flag::register(sig, flag.clone()).map_err(|e| format!("signal handler: {e}"))?;
        }
        Ok(s)
    }

    /// Serve signals until SIGINT or SIGTERM, running `every_period` every
    /// [`control::rate::PERIOD_SECS`] (the rate estimator's sample) and `every_tick`
    /// every 20 ms; `status` is the unit's STATUS after a reload.
    #[allow(clippy::too_many_arguments)]
    pub fn serve(
        &self,
        cfg: &Config,
        live: &Live,
        net: &LiveNet,
        checks: &Checks,
        metrics: &Metrics,
        vrrp: Option<&crate::vrrp::Vrrp>,
        mut every_period: impl FnMut(),
        mut every_tick: impl FnMut(),
        status: impl Fn() -> String,
    ) {
        let period = Duration::from_secs(control::rate::PERIOD_SECS);
        let mut next = Instant::now() + period;
        while !self.term.load(Ordering::Relaxed) {
            if self.hup.swap(false, Ordering::Relaxed) {
                crate::notify::reloading();
                let accepted = reload(cfg, live, net, checks);
                metrics.set_health(checks.source());
                // keepalived re-reads the same file, only once rvsd has accepted it.
                if let (true, Some(v)) = (accepted, vrrp) {
                    v.reload();
                }
                crate::notify::ready(&status());
            }
            if Instant::now() >= next {
                every_period();
                next += period;
            }
            every_tick();
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether the files were accepted (the running configuration stays when not).
fn reload(running: &Config, live: &Live, net: &LiveNet, checks: &Checks) -> bool {
    let new = match control::config::load(&running.path) {
        Ok(new) => new,
        Err(e) => {
            eprintln!("rvsd: reload refused: {e}; the running configuration stays");
            return false;
        }
    };
    // Both files are read before anything is applied.
    let keepalived = match control::keepalived::load_for(&new) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("rvsd: reload refused: {e}; the running configuration stays");
            return false;
        }
    };
    for w in keepalived.iter().flat_map(|k| &k.warnings) {
        // Not "rvsd: reload:", which announces what a reload applied.
        eprintln!("rvsd: keepalived: {}", w.as_warning());
    }
    // Services are tried on a copy first, so that a refusal leaves addresses alone too.
    let services = crate::startup::keepalived_services(keepalived.as_ref());
    if let Err(e) = control::keepalived::apply(&mut live.config(), &new, services) {
        eprintln!("rvsd: reload refused: {e}; the running configuration stays");
        return false;
    }
    // [control] keepalived is a source of services: it applies now.
    let control_changed = ControlConfig { keepalived: running.control.keepalived.clone(), ..new.control.clone() };
    if new.eal != running.eal || new.workers != running.workers || control_changed != running.control {
        eprintln!("rvsd: reload: [eal], [workers] and [control] apply at the next start; ignored now");
    }
    // Addresses, VIPs and routes apply live (the ports themselves need a restart).
    match net.reload(&new) {
        Ok(true) => {
            let vips: Vec<String> = net.vips().iter().map(|(a, p, _)| format!("{a} on {p}")).collect();
            println!("rvsd: reload: addresses, VIPs and routes applied; VIPs: {}", vips.join(", "));
        }
        Ok(false) => {}
        Err(e) => eprintln!("rvsd: reload: {e}; addresses, VIPs and routes unchanged"),
    }
    // The health checker keeps its servers' states and gives the list to apply.
    match checks.reload(&new, keepalived.as_ref()) {
        Ok(changes) => {
            println!("rvsd: reload: {changes}");
            crate::startup::print_services(&live.snapshot());
            true
        }
        Err(e) => {
            eprintln!("rvsd: reload refused: {e}; the running configuration stays");
            false
        }
    }
}
