//! Prometheus text exposition of the workers' counters, served over HTTP by the control
//! thread. Workers never wait for a scrape: values are read from their per-core atomics
//! when the scrape happens.

mod http;
mod synproxy;

use std::sync::{Arc, Mutex};

use prometheus::{Encoder, GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use rvs_core::addr::fmt_addr_port;
use rvs_core::service::{ServiceKey, Snapshot};
use rvs_core::stats::{CoreStats, DropReason, TwinCounters};

use crate::health::HealthSource;
use crate::live::Live;

pub use http::{serve, serve_with, Limits};

/// NIC-level counters of one port, as the driver reports them (rte_eth_stats).
#[derive(Clone, Copy, Debug, Default)]
pub struct NicStats {
    pub link_up: bool,
    pub ipackets: u64,
    pub opackets: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
    /// The NIC's rte_flow rules steer FullNAT replies to their worker (else software).
    pub fullnat_nic: bool,
    /// rte_flow rules installed on the port.
    pub flow_rules: u64,
}

/// Reads NIC counters for every port, in port order (implemented by rvsd over DPDK).
pub type NicReader = Box<dyn Fn() -> Vec<NicStats> + Send + Sync>;

/// Labels of `rvs_build_info`.
#[derive(Clone, Debug)]
pub struct BuildInfo {
    pub version: &'static str,
    pub commit: &'static str,
    pub dpdk: &'static str,
}

pub struct Metrics {
    registry: Registry,
    cores: Vec<Arc<CoreStats>>,
    ports: Vec<String>,
    nic: Option<NicReader>,
    rx_packets: IntCounterVec,
    rx_bytes: IntCounterVec,
    tx_packets: IntCounterVec,
    tx_bytes: IntCounterVec,
    drops: IntCounterVec,
    neighbours: IntGaugeVec,
    nic_counters: IntCounterVec,
    link_up: IntGaugeVec,
    fullnat_nic: IntGaugeVec,
    flow_rules: IntGaugeVec,
    redirects: IntCounterVec,
    kernel: IntCounterVec,
    kernel_drops: IntCounterVec,
    /// The kernel thread's losses, per port (`None`: no twins).
    twins: Option<Arc<Vec<TwinCounters>>>,
    /// The IPVS sync daemon's counters (`None`: rvsd runs none).
    sync: Option<Arc<crate::sync::SyncDaemon>>,
    icmp_errors: IntCounterVec,
    directory_full: IntCounterVec,
    conn_entries: IntGaugeVec,
    conn_capacity: IntGaugeVec,
    laddr_ports: IntGaugeVec,
    toa_no_room: IntCounterVec,
    synproxy: synproxy::Synproxy,
    live: Option<Arc<Live>>,
    svc: ServerFamilies,
    rs: ServerFamilies,
    rs_active: IntGaugeVec,
    rs_inactive: IntGaugeVec,
    rs_weight: IntGaugeVec,
    /// Health checks ([`Metrics::set_health`]): none until a source is given.
    health: Mutex<Option<Arc<dyn HealthSource>>>,
    rs_up: IntGaugeVec,
    checks: IntCounterVec,
    check_latency: GaugeVec,
    /// Rendering resets and refills shared families: one scrape at a time.
    render_lock: Mutex<()>,
}

/// IPVS's per-service and per-real-server stats (ip_vs_stats), as counters.
struct ServerFamilies {
    conns: IntCounterVec,
    inpkts: IntCounterVec,
    outpkts: IntCounterVec,
    inbytes: IntCounterVec,
    outbytes: IntCounterVec,
}

impl ServerFamilies {
    fn new(r: &Registry, prefix: &str, what: &str, labels: &[&str]) -> Self {
        let c = |name: &str, help: &str| counter(r, &format!("{prefix}_{name}"), &format!("{help} {what}."), labels);
        ServerFamilies {
            conns: c("connections_total", "Connections scheduled to the"),
            inpkts: c("in_packets_total", "Packets from clients to the"),
            outpkts: c("out_packets_total", "Packets from the real server(s) to clients, through the director, of the"),
            inbytes: c("in_bytes_total", "Bytes from clients to the"),
            outbytes: c("out_bytes_total", "Bytes from the real server(s) to clients, through the director, of the"),
        }
    }

    fn reset(&self) {
        for f in [&self.conns, &self.inpkts, &self.outpkts, &self.inbytes, &self.outbytes] {
            f.reset();
        }
    }

    fn set(&self, labels: &[&str], v: [u64; 5]) {
        for (f, v) in [&self.conns, &self.inpkts, &self.outpkts, &self.inbytes, &self.outbytes].into_iter().zip(v) {
            set(f, labels, v);
        }
    }
}

/// ipvsadm's name for a service: `TCP  10.0.2.100:80` without the padding.
pub fn service_label(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Proto { proto, addr, port } => format!("{} {}", proto.name(), fmt_addr_port(*addr, *port)),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    }
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("static metric definition");
    registry.register(Box::new(c.clone())).expect("metric registered once");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("static metric definition");
    registry.register(Box::new(g.clone())).expect("metric registered once");
    g
}

impl Metrics {
    pub fn new(
        cores: Vec<Arc<CoreStats>>,
        ports: Vec<String>,
        build: &BuildInfo,
        nic: Option<NicReader>,
        live: Option<Arc<Live>>,
    ) -> Self {
        let r = Registry::new();
        let per_port = &["lcore", "port"];
        let m = Metrics {
            kernel: counter(
                &r,
                "rvs_kernel_packets_total",
                "Packets through the kernel twin of a port: up (to the kernel), down (the kernel's, out of the port).",
                &["lcore", "port", "direction"],
            ),
            kernel_drops: counter(
                &r,
                "rvs_kernel_drops_total",
                "Frames the kernel thread lost: up (the twin refused them), down (no room towards the worker).",
                &["port", "direction"],
            ),
            twins: None,
            sync: None,
            redirects: counter(
                &r,
                "rvs_worker_redirects_total",
                "Packets passed between workers to the core owning their connection.",
                &["lcore", "direction"],
            ),
            icmp_errors: counter(
                &r,
                "rvs_icmp_errors_total",
                "ICMP errors a worker generated (result=sent), or held back by the rate limit or because their addressee must not get one (result=suppressed).",
                &["lcore", "result"],
            ),
            directory_full: counter(
                &r,
                "rvs_owner_directory_full_total",
                "Connections and fragment keys a worker could not enter in the owner directory (its partition was full).",
                &["lcore"],
            ),
            conn_entries: gauge(
                &r,
                "rvs_conn_table_entries",
                "Connections and persistence templates in a worker's table.",
                &["lcore"],
            ),
            conn_capacity: gauge(&r, "rvs_conn_table_capacity", "Capacity of a worker's connection table.", &["lcore"]),
            // Per worker, as the pools are: each worker owns its own share of every
            // local address's ports, so one can run out while the sum looks fine.
            laddr_ports: gauge(
                &r,
                "rvs_laddr_ports_in_use",
                "FullNAT source ports a worker holds on the local addresses (of its share of each).",
                &["lcore"],
            ),
            toa_no_room: counter(
                &r,
                "rvs_toa_no_room_total",
                "FullNAT segments sent without their TOA option (no room for it in the TCP header).",
                &["lcore"],
            ),
            synproxy: synproxy::Synproxy::new(&r),
            svc: ServerFamilies::new(&r, "rvs_service", "virtual service", &["service"]),
            rs: ServerFamilies::new(&r, "rvs_real_server", "real server", &["service", "server"]),
            rs_active: gauge(
                &r,
                "rvs_real_server_active_connections",
                "Active connections (IPVS ActiveConn) of a real server.",
                &["service", "server"],
            ),
            rs_inactive: gauge(
                &r,
                "rvs_real_server_inactive_connections",
                "Inactive connections (IPVS InActConn) of a real server.",
                &["service", "server"],
            ),
            rs_weight: gauge(
                &r,
                "rvs_real_server_weight",
                "Weight of a real server (0: quiescent).",
                &["service", "server"],
            ),
            live,
            health: Mutex::new(None),
            rs_up: gauge(
                &r,
                "rvs_real_server_up",
                "1 when every health checker of a real server passes (keepalived's alive), else 0.",
                &["service", "server"],
            ),
            checks: counter(
                &r,
                "rvs_health_checks_total",
                "Health-check attempts of a real server's checker, by result (ok or failed; retries count).",
                &["service", "server", "checker", "result"],
            ),
            check_latency: {
                let g = GaugeVec::new(
                    Opts::new(
                        "rvs_health_check_last_duration_seconds",
                        "How long a checker's last attempt took (connect and exchange, or the script's run).",
                    ),
                    &["service", "server", "checker"],
                )
                .expect("static metric definition");
                r.register(Box::new(g.clone())).expect("metric registered once");
                g
            },
            rx_packets: counter(&r, "rvs_port_rx_packets_total", "Packets received by a worker on a port.", per_port),
            rx_bytes: counter(&r, "rvs_port_rx_bytes_total", "Bytes received by a worker on a port.", per_port),
            tx_packets: counter(&r, "rvs_port_tx_packets_total", "Packets a worker handed to a port's NIC.", per_port),
            tx_bytes: counter(&r, "rvs_port_tx_bytes_total", "Bytes a worker handed to a port's NIC.", per_port),
            drops: counter(
                &r,
                "rvs_port_drops_total",
                "Packets dropped by a worker, by port and reason.",
                &["lcore", "port", "reason"],
            ),
            neighbours: gauge(
                &r,
                "rvs_neighbours",
                "Resolved and pending ARP neighbours held by a worker.",
                &["lcore"],
            ),
            nic_counters: counter(
                &r,
                "rvs_nic_packets_total",
                "NIC counters per port (rte_eth_stats).",
                &["port", "counter"],
            ),
            link_up: gauge(&r, "rvs_port_link_up", "1 when the port's link is up.", &["port"]),
            fullnat_nic: gauge(
                &r,
                "rvs_port_fullnat_nic_steering",
                "1 when the NIC's rte_flow rules steer FullNAT replies to their worker; 0: software.",
                &["port"],
            ),
            flow_rules: gauge(&r, "rvs_port_flow_rules", "rte_flow rules installed on the port.", &["port"]),
            registry: r,
            render_lock: Mutex::new(()),
            cores,
            ports,
            nic,
        };
        let info = gauge(
            &m.registry,
            "rvs_build_info",
            "rvs build information; the value is 1.",
            &["version", "commit", "dpdk"],
        );
        info.with_label_values(&[build.version, build.commit, build.dpdk]).set(1);
        m
    }

    /// Refresh every value from the workers and render the text exposition format.
    /// Export the kernel thread's counters (one per port).
    pub fn with_twins(mut self, twins: Arc<Vec<TwinCounters>>) -> Self {
        self.twins = Some(twins);
        self
    }

    /// Export the sync daemon's counters (`rvs_sync_*`).
    pub fn with_sync(mut self, sync: Arc<crate::sync::SyncDaemon>) -> Self {
        self.sync = Some(sync);
        self
    }

    pub fn render(&self) -> String {
        let _one = self.render_lock.lock().unwrap_or_else(|e| e.into_inner());
        for core in &self.cores {
            let lcore = core.lcore.to_string();
            for (port, name) in self.ports.iter().enumerate() {
                let c = core.port(port as u16);
                let l = [lcore.as_str(), name.as_str()];
                set(&self.rx_packets, &l, c.rx_packets.get());
                set(&self.rx_bytes, &l, c.rx_bytes.get());
                set(&self.tx_packets, &l, c.tx_packets.get());
                set(&self.tx_bytes, &l, c.tx_bytes.get());
                for reason in DropReason::ALL {
                    set(&self.drops, &[&lcore, name, reason.name()], c.drops(reason));
                }
                set(&self.kernel, &[&lcore, name, "up"], c.kernel_up.get());
                set(&self.kernel, &[&lcore, name, "down"], c.kernel_down.get());
            }
            self.neighbours.with_label_values(&[&lcore]).set(core.neighbours.get() as i64);
            set(&self.redirects, &[&lcore, "out"], core.redirects_out.get());
            set(&self.redirects, &[&lcore, "in"], core.redirects_in.get());
            set(&self.icmp_errors, &[&lcore, "sent"], core.icmp_errors_sent.get());
            set(&self.icmp_errors, &[&lcore, "suppressed"], core.icmp_errors_suppressed.get());
            set(&self.directory_full, &[&lcore], core.directory_full.get());
            self.conn_entries.with_label_values(&[&lcore]).set(core.conns.get() as i64);
            self.conn_capacity.with_label_values(&[&lcore]).set(core.conn_capacity.get() as i64);
            self.laddr_ports.with_label_values(&[&lcore]).set(core.laddr_ports_in_use.get() as i64);
            set(&self.toa_no_room, &[&lcore], core.toa_no_room.get());
            self.synproxy.set(&lcore, &core.synproxy);
        }
        if let Some(live) = &self.live {
            self.services(&live.snapshot());
        }
        if let Some(twins) = &self.twins {
            for (c, name) in twins.iter().zip(&self.ports) {
                set(&self.kernel_drops, &[name, "up"], c.up_dropped.get());
                set(&self.kernel_drops, &[name, "down"], c.down_dropped.get());
            }
        }
        let health = lock(&self.health).clone();
        if let Some(h) = health {
            self.health(h.as_ref());
        }
        if let Some(read) = &self.nic {
            for (name, s) in self.ports.iter().zip(read()) {
                self.link_up.with_label_values(&[name]).set(i64::from(s.link_up));
                self.fullnat_nic.with_label_values(&[name]).set(i64::from(s.fullnat_nic));
                self.flow_rules.with_label_values(&[name]).set(s.flow_rules as i64);
                for (counter, v) in [
                    ("ipackets", s.ipackets),
                    ("opackets", s.opackets),
                    ("imissed", s.imissed),
                    ("ierrors", s.ierrors),
                    ("oerrors", s.oerrors),
                    ("rx_nombuf", s.rx_nombuf),
                ] {
                    set(&self.nic_counters, &[name, counter], v);
                }
            }
        }
        let mut out = Vec::new();
        // Encoding our own well-formed families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        let mut text = String::from_utf8(out).unwrap_or_default();
        if let Some(sync) = &self.sync {
            text.push_str(&crate::sync::metrics_text(sync));
        }
        text
    }
}

impl Metrics {
    /// Reports health checks from `source` from the next scrape on (None: no more).
    pub fn set_health(&self, source: Option<Arc<dyn HealthSource>>) {
        *lock(&self.health) = source;
    }

    /// Rebuilt on every scrape, so removed servers leave the output.
    fn health(&self, source: &dyn HealthSource) {
        self.rs_up.reset();
        self.checks.reset();
        self.check_latency.reset();
        for rs in source.real_servers() {
            let (svc, server) = (rs.service.as_str(), rs.server.as_str());
            self.rs_up.with_label_values(&[svc, server]).set(i64::from(rs.up));
            for c in &rs.checkers {
                let ck = c.checker.as_str();
                set(&self.checks, &[svc, server, ck, "ok"], c.ok);
                set(&self.checks, &[svc, server, ck, "failed"], c.failed);
                if let Some(l) = c.last_latency {
                    self.check_latency.with_label_values(&[svc, server, ck]).set(l.as_secs_f64());
                }
            }
        }
    }

    /// Per service and real server, summed over the workers. Families are rebuilt from
    /// the current snapshot so deleted services and servers disappear from the output.
    fn services(&self, snap: &Snapshot) {
        self.svc.reset();
        self.rs.reset();
        for g in [&self.rs_active, &self.rs_inactive, &self.rs_weight] {
            g.reset();
        }
        self.synproxy.reset_services();
        for svc in snap.services() {
            let name = service_label(&svc.key);
            if svc.synproxy {
                self.synproxy.set_service(&name, svc.id, &self.cores);
            }
            let mut total = [0u64; 5];
            for d in &svc.dests {
                let server = fmt_addr_port(d.addr, d.port);
                let mut v = [0u64; 7];
                for core in &self.cores {
                    if let Some(c) = core.dest(d.id.0) {
                        for (acc, x) in v.iter_mut().zip([
                            &c.conns,
                            &c.inpkts,
                            &c.outpkts,
                            &c.inbytes,
                            &c.outbytes,
                            &c.active,
                            &c.inactive,
                        ]) {
                            *acc += x.get();
                        }
                    }
                }
                let labels = [name.as_str(), server.as_str()];
                self.rs.set(&labels, [v[0], v[1], v[2], v[3], v[4]]);
                self.rs_active.with_label_values(&labels).set(v[5] as i64);
                self.rs_inactive.with_label_values(&labels).set(v[6] as i64);
                self.rs_weight.with_label_values(&labels).set(i64::from(d.weight));
                for (t, x) in total.iter_mut().zip(v) {
                    *t += x;
                }
            }
            self.svc.set(&[&name], total);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A counter mirrors a value counted elsewhere: reset it to that value.
fn set(c: &IntCounterVec, labels: &[&str], v: u64) {
    let c = c.with_label_values(labels);
    c.reset();
    c.inc_by(v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    fn metrics() -> (Arc<CoreStats>, Metrics) {
        let core = Arc::new(CoreStats::new(1, 2));
        let build = BuildInfo { version: "0.1.0", commit: "abc", dpdk: "22.11" };
        let nic: NicReader = Box::new(|| {
            vec![NicStats { link_up: true, ipackets: 7, fullnat_nic: true, flow_rules: 8, ..Default::default() }; 2]
        });
        let m = Metrics::new(vec![core.clone()], vec!["wan".into(), "lan".into()], &build, Some(nic), None);
        (core, m)
    }

    #[test]
    fn render_reflects_worker_counters() {
        let (core, m) = metrics();
        core.port(0).rx_packets.add(3);
        core.port(1).drop(DropReason::UnknownProtocol);
        core.icmp_errors_sent.add(50);
        core.icmp_errors_suppressed.add(950);
        core.directory_full.add(4);
        core.toa_no_room.add(6);
        core.laddr_ports_in_use.set(1200);
        core.port(1).drop(DropReason::LaddrExhausted);
        let text = m.render();
        assert!(text.contains("rvs_toa_no_room_total{lcore=\"1\"} 6\n"), "{text}");
        assert!(text.contains("rvs_laddr_ports_in_use{lcore=\"1\"} 1200\n"), "{text}");
        assert!(text.contains("# TYPE rvs_laddr_ports_in_use gauge\n"), "{text}");
        assert!(text.contains("rvs_port_drops_total{lcore=\"1\",port=\"lan\",reason=\"laddr_port_exhausted\"} 1\n"));
        assert!(text.contains("rvs_port_drops_total{lcore=\"1\",port=\"wan\",reason=\"no_laddr\"} 0\n"));
        assert!(text.contains("rvs_owner_directory_full_total{lcore=\"1\"} 4\n"), "{text}");
        assert!(text.contains("rvs_icmp_errors_total{lcore=\"1\",result=\"sent\"} 50\n"), "{text}");
        assert!(text.contains("rvs_icmp_errors_total{lcore=\"1\",result=\"suppressed\"} 950\n"));
        assert!(text.contains("rvs_port_rx_packets_total{lcore=\"1\",port=\"wan\"} 3\n"), "{text}");
        assert!(text.contains("rvs_port_drops_total{lcore=\"1\",port=\"lan\",reason=\"unknown_protocol\"} 1\n"));
        assert!(text.contains("rvs_build_info{commit=\"abc\",dpdk=\"22.11\",version=\"0.1.0\"} 1\n"));
        assert!(text.contains("rvs_nic_packets_total{counter=\"ipackets\",port=\"wan\"} 7\n"));
        assert!(text.contains("rvs_port_fullnat_nic_steering{port=\"lan\"} 1\n"), "{text}");
        assert!(text.contains("rvs_port_flow_rules{port=\"wan\"} 8\n"), "{text}");
        core.port(0).rx_packets.add(2);
        assert!(
            m.render().contains("rvs_port_rx_packets_total{lcore=\"1\",port=\"wan\"} 5\n"),
            "a second scrape sees the new value"
        );
    }

    #[test]
    fn per_service_and_real_server_metrics_follow_the_live_snapshot() {
        use rvs_core::addr::{Addr, Protocol};
        use rvs_core::service::{Config, DestSpec, ServiceSpec};
        let core = Arc::new(CoreStats::with_dests(1, 1, 16));
        let live = Arc::new(Live::new(Config::new(16), vec![]));
        let vip = Addr::from(std::net::Ipv4Addr::new(10, 0, 2, 100));
        let key = ServiceKey::Proto { proto: Protocol::Tcp, addr: vip, port: 80 };
        let rs = Addr::from(std::net::Ipv4Addr::new(10, 0, 3, 11));
        let id = live
            .update(|c| {
                c.add_service(&ServiceSpec::new(key))?;
                c.add_dest(&key, &DestSpec { weight: 3, ..DestSpec::new(rs, 80) })
            })
            .unwrap();
        core.dest(id.0).unwrap().conns.add(4);
        core.dest(id.0).unwrap().inbytes.add(1000);
        core.dest(id.0).unwrap().active.set(2);
        let build = BuildInfo { version: "0", commit: "x", dpdk: "y" };
        let m = Metrics::new(vec![core], vec!["wan".into()], &build, None, Some(live.clone()));
        let text = m.render();
        assert!(text.contains("rvs_service_connections_total{service=\"TCP 10.0.2.100:80\"} 4\n"), "{text}");
        assert!(text
            .contains("rvs_real_server_in_bytes_total{server=\"10.0.3.11:80\",service=\"TCP 10.0.2.100:80\"} 1000\n"));
        assert!(text
            .contains("rvs_real_server_active_connections{server=\"10.0.3.11:80\",service=\"TCP 10.0.2.100:80\"} 2\n"));
        assert!(text.contains("rvs_real_server_weight{server=\"10.0.3.11:80\",service=\"TCP 10.0.2.100:80\"} 3\n"));
        live.update(|c| c.del_service(&key)).unwrap();
        assert!(!m.render().contains("TCP 10.0.2.100:80"), "a deleted service leaves the output");
    }

    #[test]
    fn health_source_feeds_up_checks_and_latency() {
        use crate::health::{CheckerStatus, RealServerStatus};
        struct Fake(Mutex<Vec<RealServerStatus>>);
        impl HealthSource for Fake {
            fn real_servers(&self) -> Vec<RealServerStatus> {
                lock(&self.0).clone()
            }
        }
        let (_, m) = metrics();
        assert!(!m.render().contains("rvs_real_server_up"), "no source, no health families");
        let rs = |up, ok, failed| RealServerStatus {
            service: "TCP 10.0.2.100:80".into(),
            server: "10.0.3.11:80".into(),
            up,
            in_pool: up,
            weight: 1,
            checkers: vec![CheckerStatus {
                checker: "TCP_CHECK".into(),
                up,
                ok,
                failed,
                last_latency: Some(std::time::Duration::from_millis(250)),
            }],
        };
        let fake = Arc::new(Fake(Mutex::new(vec![rs(true, 3, 0)])));
        m.set_health(Some(fake.clone()));
        let l = "server=\"10.0.3.11:80\",service=\"TCP 10.0.2.100:80\"";
        let text = m.render();
        assert!(text.contains(&format!("rvs_real_server_up{{{l}}} 1\n")), "{text}");
        assert!(text.contains(&format!("rvs_health_checks_total{{checker=\"TCP_CHECK\",result=\"ok\",{l}}} 3\n")));
        assert!(text.contains(&format!("rvs_health_check_last_duration_seconds{{checker=\"TCP_CHECK\",{l}}} 0.25\n")));
        *lock(&fake.0) = vec![rs(false, 3, 2)];
        let text = m.render();
        assert!(text.contains(&format!("rvs_real_server_up{{{l}}} 0\n")), "{text}");
        assert!(text.contains(&format!("rvs_health_checks_total{{checker=\"TCP_CHECK\",result=\"failed\",{l}}} 2\n")));
        lock(&fake.0).clear();
        assert!(!m.render().contains("10.0.3.11:80"), "a removed server leaves the output");
    }

    #[test]
    fn serves_metrics_over_http() {
        let (core, m) = metrics();
        core.port(0).tx_packets.add(9);
        let (addr, _) = serve("127.0.0.1:0".parse().unwrap(), Arc::new(m)).unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let ok = get("/metrics");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(ok.contains("rvs_port_tx_packets_total{lcore=\"1\",port=\"wan\"} 9"));
        assert!(get("/").starts_with("HTTP/1.1 404"));
    }
}
