//! NIC counters for the metrics endpoint, read from DPDK by the control thread.

use control::config::Config;
use control::metrics::{NicReader, NicStats};
use dpdk::Port;

pub fn reader(cfg: &Config) -> NicReader {
    let ports: Vec<Port> = cfg.ports.iter().filter_map(|p| Port::by_name(&p.device).ok()).collect();
    Box::new(move || {
        ports
            .iter()
            .map(|p| {
                let s = p.stats().unwrap_or_default();
                NicStats {
                    link_up: p.link().up,
                    ipackets: s.ipackets,
                    opackets: s.opackets,
                    imissed: s.imissed,
                    ierrors: s.ierrors,
                    oerrors: s.oerrors,
                    rx_nombuf: s.rx_nombuf,
                }
            })
            .collect()
    })
}
