//! The slow parts of a start, accounted as they happen: the workers' connection tables
//! (a 10M-entry table takes seconds to allocate and touch) and link on real NICs
//! (autonegotiation takes seconds). Each step is printed and sent as systemd STATUS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use control::config::Config;
use dpdk::{Link, Port};
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
    let names: Vec<&str> = cfg.ports.iter().map(|p| p.name.as_str()).collect();
    wait_links(&names, limit, EVERY, |i| ports[i].link());
}

/// The wait itself, on any link source; returns the ports still down.
fn wait_links<'a>(names: &[&'a str], limit: Duration, every: Duration, link: impl Fn(usize) -> Link) -> Vec<&'a str> {
    let started = Instant::now();
    let down = || -> Vec<&'a str> { (0..names.len()).filter(|&i| !link(i).up).map(|i| names[i]).collect() };
    let mut waiting = down();
    if waiting.is_empty() {
        return waiting;
    }
    progress(&format!("link: waiting up to {} s for {}", limit.as_secs(), waiting.join(", ")));
    let mut next = started + every;
    while !waiting.is_empty() && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
        waiting = down();
        if Instant::now() >= next && !waiting.is_empty() {
            progress(&format!(
                "link: still down after {:.0} s: {}",
                started.elapsed().as_secs_f64(),
                waiting.join(", ")
            ));
            next += every;
        }
    }
    let took = started.elapsed().as_secs_f64();
    for (i, name) in names.iter().enumerate() {
        let l = link(i);
        if l.up {
            println!("link: {name} up {} Mbps ({took:.1} s)", l.speed_mbps);
        }
    }
    if waiting.is_empty() {
        progress(&format!("link: all ports up after {took:.1} s"));
    } else {
        let msg = format!("link: still down after {took:.0} s: {}; running anyway", waiting.join(", "));
        eprintln!("rvsd: {msg}");
        crate::notify::status(&msg);
    }
    waiting
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(start: Instant, up_at: Option<Duration>) -> Link {
        let up = up_at.is_some_and(|t| start.elapsed() >= t);
        Link { up, speed_mbps: if up { 10_000 } else { 0 }, full_duplex: up }
    }

    #[test]
    fn links_up_at_once_cost_nothing() {
        let start = Instant::now();
        let down = wait_links(&["wan", "lan"], Duration::from_secs(5), EVERY, |_| after(start, Some(Duration::ZERO)));
        assert!(down.is_empty());
        assert!(start.elapsed() < Duration::from_millis(50), "{:?}", start.elapsed());
    }

    #[test]
    fn a_link_that_comes_up_ends_the_wait() {
        let start = Instant::now();
        let up_at = [Some(Duration::ZERO), Some(Duration::from_millis(300))];
        let down =
            wait_links(&["wan", "lan"], Duration::from_secs(5), Duration::from_millis(100), |i| after(start, up_at[i]));
        assert!(down.is_empty());
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn a_link_that_stays_down_is_waited_for_a_bounded_time() {
        let start = Instant::now();
        let up_at = [Some(Duration::ZERO), None];
        let down = wait_links(&["wan", "lan"], Duration::from_millis(400), Duration::from_millis(100), |i| {
            after(start, up_at[i])
        });
        assert_eq!(down, ["lan"]);
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(400) && took < Duration::from_secs(2), "{took:?}");
    }
}
