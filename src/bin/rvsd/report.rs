//! What rvsd prints when it stops: each worker's counters, so a run leaves a record.

use control::config::Config;
use rvs_core::stats::{CoreStats, DropReason};
use std::sync::Arc;

pub fn counters(cfg: &Config, stats: &[Arc<CoreStats>]) {
    for s in stats {
        for (i, p) in cfg.ports.iter().enumerate() {
            let c = s.port(i as u16);
            let drops: Vec<String> = DropReason::ALL
                .iter()
                .filter(|r| c.drops(**r) > 0)
                .map(|r| format!("{} {}", r.name(), c.drops(*r)))
                .collect();
            println!(
                "counters: lcore {} port {}: rx {} tx {} drops {}{}",
                s.lcore,
                p.name,
                c.rx_packets.get(),
                c.tx_packets.get(),
                c.total_drops(),
                if drops.is_empty() { String::new() } else { format!(" ({})", drops.join(", ")) }
            );
        }
        println!(
            "counters: lcore {}: redirects out {} in {}, connections {}",
            s.lcore,
            s.redirects_out.get(),
            s.redirects_in.get(),
            s.conns.get()
        );
    }
}
