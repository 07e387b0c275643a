//! The SYN proxy's counters (`--synproxy`, core's [`SynproxyCounters`]): per worker, and
//! per service (`rvs_service_synproxy_*`, summed over the workers).

use prometheus::{IntCounterVec, Registry};
use rvs_core::stats::{Counter, SynproxyCounters};

/// Which counter a family mirrors.
type Get = fn(&SynproxyCounters) -> &Counter;

/// Name, HELP, and the counter it mirrors.
type Family = (&'static str, &'static str, Get);

const FAMILIES: [Family; 7] = [
    (
        "rvs_synproxy_cookies_sent_total",
        "SYN-ACKs with a SYN cookie a worker sent for SYNs to SYN-proxied services.",
        |s| &s.cookies_sent,
    ),
    (
        "rvs_synproxy_cookies_valid_total",
        "Client ACKs whose SYN cookie was valid: a connection to a real server was opened.",
        |s| &s.cookies_valid,
    ),
    (
        "rvs_synproxy_cookies_failed_total",
        "Client ACKs, without a connection, whose SYN cookie was stale or forged (answered with RST).",
        |s| &s.cookies_failed,
    ),
    ("rvs_synproxy_rs_syn_retransmits_total", "SYNs to real servers sent again after no SYN-ACK came.", |s| {
        &s.rs_syn_retransmits
    }),
    ("rvs_synproxy_held_total", "Client segments held while the real server's SYN-ACK was awaited.", |s| &s.held),
    (
        "rvs_synproxy_held_dropped_total",
        "Client segments dropped while the real server's SYN-ACK was awaited (as many were held already).",
        |s| &s.held_dropped,
    ),
    (
        "rvs_synproxy_rs_resets_total",
        "Real servers that answered a proxied SYN with RST (the client was reset too).",
        |s| &s.rs_resets,
    ),
];

/// The families, registered: per worker ([`Synproxy::set`]) and per service
/// ([`Synproxy::set_service`]).
pub(super) struct Synproxy {
    lcore: Vec<(IntCounterVec, Get)>,
    service: Vec<(IntCounterVec, Get)>,
}

impl Synproxy {
    pub(super) fn new(r: &Registry) -> Self {
        let lcore =
            FAMILIES.iter().map(|(name, help, get)| (super::counter(r, name, help, &["lcore"]), *get)).collect();
        let service = FAMILIES
            .iter()
            .map(|(name, help, get)| {
                let name = name.replacen("rvs_synproxy_", "rvs_service_synproxy_", 1);
                (super::counter(r, &name, &format!("{help} Per service."), &["service"]), *get)
            })
            .collect();
        Synproxy { lcore, service }
    }

    pub(super) fn set(&self, lcore: &str, s: &SynproxyCounters) {
        for (c, get) in &self.lcore {
            super::set(c, &[lcore], get(s).get());
        }
    }

    /// Service `name`'s counters: its slot `id` summed over the workers.
    pub(super) fn set_service(&self, name: &str, id: u32, cores: &[std::sync::Arc<rvs_core::stats::CoreStats>]) {
        for (c, get) in &self.service {
            let v = cores.iter().filter_map(|k| k.synproxy_services.get(id as usize)).map(|s| get(s).get()).sum();
            super::set(c, &[name], v);
        }
    }

    /// Forget the services (the snapshot decides which exist).
    pub(super) fn reset_services(&self) {
        for (c, _) in &self.service {
            c.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rvs_core::stats::CoreStats;

    use super::super::{BuildInfo, Metrics};
    use super::FAMILIES;

    #[test]
    fn every_counter_is_exported_per_worker_with_help() {
        let cores = [Arc::new(CoreStats::new(1, 1)), Arc::new(CoreStats::new(3, 1))];
        let build = BuildInfo { version: "0.1.0", commit: "abc", dpdk: "22.11" };
        let m = Metrics::new(cores.to_vec(), vec!["wan".into()], &build, None, None);
        // A distinct value per counter and worker: each family reads its own counter.
        for (k, (_, _, get)) in FAMILIES.iter().enumerate() {
            get(&cores[0].synproxy).add(10 + k as u64);
            get(&cores[1].synproxy).add(100 + k as u64);
        }
        let text = m.render();
        for (k, (name, help, _)) in FAMILIES.iter().enumerate() {
            assert!(text.contains(&format!("# HELP {name} {help}\n# TYPE {name} counter\n")), "{name}: {text}");
            assert!(text.contains(&format!("{name}{{lcore=\"1\"}} {}\n", 10 + k)), "{name}: {text}");
            assert!(text.contains(&format!("{name}{{lcore=\"3\"}} {}\n", 100 + k)), "{name}: {text}");
        }
        assert!(text.contains("rvs_synproxy_cookies_failed_total{lcore=\"1\"} 12\n"), "{text}");
        assert!(text.contains("rvs_synproxy_rs_resets_total{lcore=\"3\"} 106\n"), "{text}");
        cores[0].synproxy.cookies_sent.add(5);
        assert!(m.render().contains("rvs_synproxy_cookies_sent_total{lcore=\"1\"} 15\n"), "a second scrape");
    }

    #[test]
    fn per_service_counters_sum_the_workers_for_proxied_services_only() {
        use rvs_core::addr::{Addr, Protocol};
        use rvs_core::service::{Config, ServiceKey, ServiceSpec};
        let cores = [Arc::new(CoreStats::with_dests(1, 1, 16)), Arc::new(CoreStats::with_dests(2, 1, 16))];
        let live = Arc::new(crate::live::Live::new(Config::new(16), vec![]));
        let key = |port| ServiceKey::Proto { proto: Protocol::Tcp, addr: Addr::v4([10, 0, 2, 100]), port };
        live.update(|c| {
            c.add_service(&ServiceSpec::new(key(80)))?;
            c.add_service(&ServiceSpec { synproxy: true, ..ServiceSpec::new(key(82)) })
        })
        .unwrap();
        let id = live.snapshot().services().iter().find(|s| s.synproxy).map(|s| s.id).unwrap();
        cores[0].synproxy_inc(Some(id), |c| &c.cookies_sent);
        cores[1].synproxy_inc(Some(id), |c| &c.cookies_sent);
        cores[1].synproxy_inc(Some(id), |c| &c.cookies_failed);
        let build = BuildInfo { version: "0", commit: "x", dpdk: "y" };
        let m = Metrics::new(cores.to_vec(), vec!["wan".into()], &build, None, Some(live));
        let text = m.render();
        assert!(text.contains("rvs_service_synproxy_cookies_sent_total{service=\"TCP 10.0.2.100:82\"} 2\n"), "{text}");
        assert!(
            text.contains("rvs_service_synproxy_cookies_failed_total{service=\"TCP 10.0.2.100:82\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("rvs_service_synproxy_cookies_sent_total{service=\"TCP 10.0.2.100:80\"}"), "{text}");
    }
}
