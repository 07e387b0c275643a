//! NIC counters for the metrics endpoint, read from DPDK by the control thread.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use control::config::Config;
use control::metrics::{NicReader, NicStats};
use dpdk::Port;

use crate::steer::SteerStatus;

pub fn reader(cfg: &Config, steer: Arc<Vec<SteerStatus>>) -> NicReader {
    let ports: Vec<Port> = cfg.ports.iter().filter_map(|p| Port::by_name(&p.device).ok()).collect();
    Box::new(move || {
        ports
            .iter()
            .zip(steer.iter())
            .map(|(p, st)| {
                let s = p.stats().unwrap_or_default();
                NicStats {
                    link_up: p.link().up,
                    ipackets: s.ipackets,
                    opackets: s.opackets,
                    imissed: s.imissed,
                    ierrors: s.ierrors,
                    oerrors: s.oerrors,
                    rx_nombuf: s.rx_nombuf,
                    fullnat_nic: st.nic.load(Ordering::Relaxed),
                    flow_rules: st.rules.load(Ordering::Relaxed),
                }
            })
            .collect()
    })
}
