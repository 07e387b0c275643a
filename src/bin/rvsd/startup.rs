//! Bring-up and tear-down: EAL, mempool, ports, workers, control thread, signals.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use control::config::Config;
use control::metrics::{self, BuildInfo, Metrics, NicReader, NicStats};
use dataplane::{NeighInbox, WorkerConfig};
use dpdk::{lcore, Eal, Mempool, Port, PortConf};
use rvs_core::l3::{L3Config, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::RouteTable;
use rvs_core::stats::{CoreStats, DropReason};

/// Neighbour-update hints a worker can have pending from the others.
const NEIGH_INBOX: usize = 256;

type Result<T> = std::result::Result<T, String>;

pub fn run(cfg: Config) -> Result<()> {
    println!("rvsd {} ({}, DPDK {})", crate::VERSION, crate::COMMIT, crate::DPDK_VERSION);
    println!("config: {}", cfg.path.display());

    let term = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, term.clone()).map_err(|e| format!("signal handler: {e}"))?;
    }

    let mut eal_args = vec!["rvsd".to_string()];
    eal_args.extend(cfg.eal.args.iter().cloned());
    let eal = Eal::init(&eal_args).map_err(|e| format!("EAL init failed: {e}"))?;
    let enabled = lcore::worker_lcores();
    println!("eal: main lcore {}, worker lcores available {:?}", lcore::main_lcore(), enabled);
    for l in &cfg.workers.lcores {
        if !enabled.contains(l) {
            return Err(format!("{}: workers.lcores: lcore {l} is not enabled by the EAL arguments", cfg.path.display()));
        }
    }

    let nb_workers = cfg.workers.lcores.len() as u16;
    let pool = Mempool::create("rvs_pkt", cfg.workers.mbufs, cfg.workers.mbuf_cache, dpdk::MBUF_DEFAULT_DATA_ROOM, -1)
        .map_err(|e| format!("mempool: {e}"))?;

    let mut ports = Vec::new();
    let mut l3_ports = Vec::new();
    for p in &cfg.ports {
        let port = Port::by_name(&p.device).map_err(|e| format!("port {}: device {}: {e}", p.name, p.device))?;
        let conf = PortConf {
            rx_queues: nb_workers,
            tx_queues: nb_workers,
            rx_desc: p.rx_desc,
            tx_desc: p.tx_desc,
            rss: nb_workers > 1,
            mtu: Some(p.mtu),
        };
        port.configure(&conf, &pool).map_err(|e| format!("port {}: configure: {e}", p.name))?;
        port.start().map_err(|e| format!("port {}: start: {e}", p.name))?;
        let mac = port.mac_addr().map_err(|e| format!("port {}: MAC address: {e}", p.name))?;
        let link = port.link();
        let addrs: Vec<String> = p.addresses.iter().map(ToString::to_string).collect();
        println!(
            "port {}: {} (port {}), mac {mac}, {}, {nb_workers} rx + {nb_workers} tx queues, {}/{} descriptors, link {}",
            p.name,
            p.device,
            port.id(),
            addrs.join(" "),
            p.rx_desc,
            p.tx_desc,
            if link.up { format!("up {} Mbps", link.speed_mbps) } else { "down".into() }
        );
        let vips: Vec<Ipv4Addr> = cfg.vips.iter().filter(|v| v.port == l3_ports.len()).map(|v| v.addr).collect();
        l3_ports.push(PortL3 { mac, addrs: p.addresses.clone(), vips });
        ports.push(port);
    }
    let mut routes = RouteTable::default();
    for r in &cfg.routes {
        routes.add_gateway(r.prefix, r.gateway, r.port as u16);
        println!("route {} via {} ({})", r.prefix, r.gateway, cfg.ports[r.port].name);
    }
    for v in &cfg.vips {
        println!("vip {} on {}", v.addr, cfg.ports[v.port].name);
    }
    let l3 = Arc::new(L3Config::new(l3_ports, routes));

    let stop = Arc::new(AtomicBool::new(false));
    let stats: Vec<Arc<CoreStats>> =
        cfg.workers.lcores.iter().map(|&l| Arc::new(CoreStats::new(l, cfg.ports.len()))).collect();
    let inboxes: Vec<Arc<NeighInbox>> = cfg.workers.lcores.iter().map(|_| Arc::new(NeighInbox::new(NEIGH_INBOX))).collect();
    let neigh = NeighConfig {
        capacity: cfg.workers.neigh_capacity as usize,
        queue_len: cfg.workers.neigh_queue as usize,
        reachable_ms: cfg.workers.neigh_reachable_secs * 1000,
        ..NeighConfig::default()
    };
    for (q, &lcore_id) in cfg.workers.lcores.iter().enumerate() {
        let mut queues = Vec::with_capacity(ports.len());
        for p in &ports {
            let rx = p.rx_queue(q as u16).map_err(|e| format!("port {}: rx queue {q}: {e}", p.id()))?;
            let tx = p.tx_queue(q as u16).map_err(|e| format!("port {}: tx queue {q}: {e}", p.id()))?;
            queues.push((rx, tx));
        }
        let w = WorkerConfig {
            lcore: lcore_id,
            ports: queues,
            pool: pool.clone(),
            stats: stats[q].clone(),
            l3: l3.clone(),
            neigh,
            burst: cfg.workers.burst,
            drain_us: cfg.workers.drain_us,
            stop: stop.clone(),
            inbox: inboxes[q].clone(),
            peers: inboxes.iter().enumerate().filter(|(i, _)| *i != q).map(|(_, b)| b.clone()).collect(),
            announce: q == 0,
        };
        lcore::launch(lcore_id, move || dataplane::run(w)).map_err(|e| format!("worker lcore {lcore_id}: {e}"))?;
        let names: Vec<&str> = cfg.ports.iter().map(|p| p.name.as_str()).collect();
        println!("worker lcore {lcore_id}: queue {q} on {}", names.join(", "));
    }

    if let Some(cpu) = cfg.control.cpu {
        core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    }
    let port_ids: Vec<Port> = cfg.ports.iter().filter_map(|p| Port::by_name(&p.device).ok()).collect();
    let nic: NicReader = Box::new(move || {
        port_ids
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
    });
    let build = BuildInfo { version: crate::VERSION, commit: crate::COMMIT, dpdk: crate::DPDK_VERSION };
    let port_names: Vec<String> = cfg.ports.iter().map(|p| p.name.clone()).collect();
    let metrics = Arc::new(Metrics::new(stats.clone(), port_names, &build, Some(nic)));
    match metrics::serve(cfg.control.metrics, metrics) {
        Ok((addr, _)) => println!("metrics: http://{addr}/metrics"),
        Err(e) => eprintln!("rvsd: metrics on {}: {e} (continuing without)", cfg.control.metrics),
    }
    println!("rvsd: running; SIGINT or SIGTERM stops");

    while !term.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("rvsd: signal received, stopping");
    stop.store(true, Ordering::Relaxed);
    lcore::wait_all();
    for (p, c) in ports.iter().zip(&cfg.ports) {
        if let Err(e) = p.stop() {
            eprintln!("rvsd: port {}: stop: {e}", c.name);
        }
        if let Err(e) = p.close() {
            eprintln!("rvsd: port {}: close: {e}", c.name);
        }
    }
    print_counters(&cfg, &stats);
    drop(pool);
    drop(eal);
    println!("rvsd: stopped");
    Ok(())
}

/// Final per-worker, per-port counters, so a run leaves a record in its log.
fn print_counters(cfg: &Config, stats: &[Arc<CoreStats>]) {
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
    }
}
