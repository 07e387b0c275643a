//! The slow parts of a start, accounted as they happen: the workers' connection tables
//! (a 10M-entry table takes seconds to allocate and touch) and link on real NICs
//! (autonegotiation takes seconds). Each step is printed and sent as systemd STATUS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use control::config::Config;
use dpdk::Port;
use rvs_core::stats::CoreStats;

use crate::notify::progress;

/// How long a start waits for link on every port. Past it rvsd runs anyway (a cable
/// plugged in later brings the port up) and says which ports are down.
pub const LINK_WAIT: Duration = Duration::from_secs(15);
/// How long the workers may take to allocate their tables before rvsd gives up.
const TABLE_WAIT: Duration = Duration::from_secs(600);
const EVERY: Duration = Duration::from_secs(2);

/// Announce the tables the workers are about to allocate.
pub fn tables_begin(cfg: &Config, capacity: u32) -> Instant {
    let bytes = u64::from(capacity) * rvs_core::conn::ENTRY_BYTES as u64;
    progress(&format!(
        "conn tables: allocating {} x {capacity} connections (entries: about {} MiB each)",
        cfg.workers.lcores.len(),
        bytes.div_ceil(1 << 20)
    ));
    Instant::now()
}

/// Wait until every worker has its table (its `conn_capacity` gauge is set once the
/// table exists), reporting progress and how long it took.
pub fn tables_wait(stats: &[Arc<CoreStats>], started: Instant) -> Result<(), String> {
    let mut next = started + EVERY;
    loop {
        let done = stats.iter().filter(|s| s.conn_capacity.get() > 0).count();
        if done == stats.len() {
            progress(&format!("conn tables: allocated in {:.1} s", started.elapsed().as_secs_f64()));
            return Ok(());
        }
        if started.elapsed() > TABLE_WAIT {
            return Err(format!("conn tables: {done} of {} allocated after {TABLE_WAIT:?}", stats.len()));
        }
        if Instant::now() >= next {
            progress(&format!(
                "conn tables: {done} of {} allocated ({:.0} s)",
                stats.len(),
                started.elapsed().as_secs_f64()
            ));
            next += EVERY;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait up to `limit` for link on every port; ports whose link is up at once (the lab's
/// af_packet) cost nothing.
pub fn links(cfg: &Config, ports: &[Port], limit: Duration) {
    let started = Instant::now();
    let down = || -> Vec<&str> {
        ports.iter().zip(&cfg.ports).filter(|(p, _)| !p.link().up).map(|(_, c)| c.name.as_str()).collect()
    };
    let mut waiting = down();
    if waiting.is_empty() {
        return;
    }
    progress(&format!("link: waiting up to {} s for {}", limit.as_secs(), waiting.join(", ")));
    let mut next = started + EVERY;
    while !waiting.is_empty() && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(100));
        waiting = down();
        if Instant::now() >= next && !waiting.is_empty() {
            progress(&format!(
                "link: still down after {:.0} s: {}",
                started.elapsed().as_secs_f64(),
                waiting.join(", ")
            ));
            next += EVERY;
        }
    }
    let took = started.elapsed().as_secs_f64();
    for (p, c) in ports.iter().zip(&cfg.ports) {
        let l = p.link();
        if l.up {
            println!("link: {} up {} Mbps ({took:.1} s)", c.name, l.speed_mbps);
        }
    }
    if waiting.is_empty() {
        progress(&format!("link: all ports up after {took:.1} s"));
    } else {
        let msg = format!("link: still down after {took:.0} s: {}; running anyway", waiting.join(", "));
        eprintln!("rvsd: {msg}");
        crate::notify::status(&msg);
    }
}
