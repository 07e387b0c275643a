//! Bring-up and tear-down: EAL, mempool, ports, workers, control thread, signals.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

// Redirect rings hold REDIRECT_RING mbufs each; the pool is sized with it.
use control::config::{Config, MbufNeed, KERNEL_RING, REDIRECT_RING};
use control::keepalived::KeepalivedConf;
use control::live::Live;
use control::metrics::{self, service_label, BuildInfo, Metrics};
use control::net::LiveNet;
use dataplane::{NeighInbox, WorkerConfig};
use dpdk::{lcore, Eal, Mbuf, Mempool, Port, PortConf, Ring, RssFields};
use rvs_core::addr::fmt_addr_port;
use rvs_core::conn::ConnConfig;
use rvs_core::ctl::WorkerCtl;
use rvs_core::forward::Directory;
use rvs_core::l3::L3Config;
use rvs_core::neigh::NeighConfig;
use rvs_core::rss::{self, Rss};
use rvs_core::service::{ServiceDef, Snapshot};
use rvs_core::stats::CoreStats;
use wire::EthernetAddress;

use crate::signals::Signals;

/// Real servers across all services (per-core counters are sized by it).
pub const MAX_DESTS: u32 = 4096;
/// Neighbour-update hints a worker can have pending from the others.
const NEIGH_INBOX: usize = 256;

pub type Result<T> = std::result::Result<T, String>;

pub fn run(cfg: Config, keepalived: Option<KeepalivedConf>, restore: Option<&std::path::Path>) -> Result<()> {
    println!("rvsd {} ({}, DPDK {})", crate::VERSION, crate::COMMIT, crate::DPDK_VERSION);
    println!("config: {}", cfg.path.display());
    if let (Some(path), Some(k)) = (&cfg.control.keepalived, &keepalived) {
        println!(
            "keepalived: {}: {} virtual servers, {} services",
            path.display(),
            k.virtual_servers(),
            k.services.len()
        );
    }
    let signals = Signals::install()?;

    // Services first: a bad one refuses to start before any port is touched.
    let mut services = rvs_core::service::Config::new(MAX_DESTS);
    control::keepalived::apply(&mut services, &cfg, keepalived_services(keepalived.as_ref()))
        .map_err(|e| format!("{e}; nothing started"))?;
    if let Some(rules) = restore {
        let text = std::fs::read_to_string(rules).map_err(|e| format!("{}: {e}", rules.display()))?;
        control::admin::restore(&mut services, &text)
            .map_err(|(e, _)| format!("{}: {e}; nothing started", rules.display()))?;
        println!("restore: {} applied", rules.display());
    }

    let mut eal_args = vec!["rvsd".to_string()];
    eal_args.extend(cfg.eal.args.iter().cloned());
    // Another rvsd on this file prefix is said first: its twins would otherwise be named
    // as the reason, and DPDK's own refusal reads "Success".
    let prefix = crate::runtime::file_prefix(&eal_args);
    let held = |pid: u32| {
        format!(
            "process {pid} (another rvsd?) runs DPDK with --file-prefix={prefix} and holds {}; \
             stop it, or give this rvsd another --file-prefix in [eal] args; nothing started",
            crate::runtime::dir(&prefix).display()
        )
    };
    if let Some(pid) = crate::runtime::holder(&prefix) {
        return Err(held(pid));
    }
    eal_args.extend(crate::kernel::twin_vdevs(&cfg)?);
    crate::notify::progress("eal: starting DPDK");
    let eal = Eal::init(&eal_args).map_err(|e| match crate::runtime::holder(&prefix) {
        Some(pid) => format!("EAL init failed: {}", held(pid)),
        None => format!("EAL init failed: {e}"),
    })?;
    let enabled = lcore::worker_lcores();
    println!("eal: main lcore {}, worker lcores available {:?}", lcore::main_lcore(), enabled);
    for l in &cfg.workers.lcores {
        if !enabled.contains(l) {
            return Err(format!(
                "{}: workers.lcores: lcore {l} is not enabled by the EAL arguments",
                cfg.path.display()
            ));
        }
    }

    let nb_workers = cfg.workers.lcores.len();
    print_table_memory(&cfg, dpdk::use_hugepages_for_tables());
    let need = MbufNeed::new(&cfg.ports, &cfg.workers);
    println!(
        "mempool: {} mbufs ({}), need {need}",
        cfg.workers.mbufs,
        if cfg.workers.mbufs_auto { "sized automatically; set workers.mbufs to choose" } else { "workers.mbufs" }
    );
    let pool = Mempool::create("rvs_pkt", cfg.workers.mbufs, cfg.workers.mbuf_cache, dpdk::MBUF_DEFAULT_DATA_ROOM, -1)
        .map_err(|e| format!("mempool: {e}"))?;
    let (ports, macs, rss) = start_ports(&cfg, &pool, nb_workers as u16)?;
    crate::progress::links(&cfg, &ports, crate::progress::LINK_WAIT);
    let (taps, twins) = crate::kernel::start_twins(&cfg, &pool, &macs)?;
    for line in control::twin::configure(&cfg)? {
        println!("{line}");
    }
    // The exception path's rings: one up from each worker, one down to worker 0.
    let kernel_up: Vec<Option<Ring<Mbuf>>> = (0..nb_workers)
        .map(|q| {
            (!taps.is_empty())
                .then(|| Ring::create(&format!("rvs_ku_{q}"), KERNEL_RING, true, true))
                .transpose()
                .map_err(|e| format!("kernel ring: {e}"))
        })
        .collect::<Result<_>>()?;
    let kernel_down = (!taps.is_empty())
        .then(|| Ring::create("rvs_kd", KERNEL_RING, true, true))
        .transpose()
        .map_err(|e| format!("kernel ring: {e}"))?;

    let stop = Arc::new(AtomicBool::new(false));
    let stats: Vec<Arc<CoreStats>> = cfg
        .workers
        .lcores
        .iter()
        .map(|&l| Arc::new(CoreStats::with_dests(l, cfg.ports.len(), MAX_DESTS as usize)))
        .collect();
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..nb_workers).map(|_| crossbeam::channel::unbounded::<WorkerCtl>()).unzip();
    let live = Arc::new(Live::new(services, senders));
    let net = Arc::new(LiveNet::new(&cfg, macs, live.clone()));
    let l3 = net.current();
    print_services(&live.snapshot());
    // Before the workers start, so their first FullNAT replies already land right.
    let mut steer = crate::steer::Steering::new(
        cfg.ports.iter().zip(&ports).map(|(c, p)| (c.name.clone(), *p)).collect(),
        nb_workers as u16,
    );
    steer.sync(&live.snapshot());
    for line in steer.describe() {
        println!("{line}");
    }
    let kernel = crate::kernel::KernelRings { up: kernel_up.clone(), down: kernel_down.clone() };
    let tables = crate::progress::tables_begin(&cfg, conn_config(&cfg).effective_capacity());
    launch_workers(&cfg, &ports, &pool, &l3, &rss, &stats, &live, receivers, &stop, &kernel)?;
    if let Err(e) = crate::progress::tables_wait(&stats, tables) {
        stop.store(true, Ordering::Relaxed);
        lcore::wait_all();
        return Err(e);
    }
    let twin_counters: Arc<Vec<_>> = Arc::new(cfg.ports.iter().map(|_| Default::default()).collect());
    let kernel_thread = match kernel_down {
        Some(down) => Some(crate::kernel::spawn(
            &cfg,
            twins,
            kernel_up.into_iter().flatten().collect(),
            down,
            twin_counters.clone(),
            &stop,
        )?),
        None => None,
    };
    let twin_watch = if taps.is_empty() { None } else { Some(control::twin::watch(&cfg, net.clone(), stop.clone())?) };
    // Health checks go out through the twins: they start once the kernel path runs.
    let checks = crate::checks::Checks::start(live.clone(), &cfg, keepalived.as_ref())?;
    // VRRP by the real keepalived, once the twins it speaks on exist.
    let vrrp = match (&cfg.control.keepalived, cfg.control.vrrp) {
        (Some(k), true) => {
            let run = cfg.control.socket.parent().unwrap_or(std::path::Path::new("/run/rvs"));
            Some(crate::vrrp::Vrrp::start(k, run)?)
        }
        _ => None,
    };

    if let Some(cpu) = cfg.control.cpu {
        core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    }
    let build = BuildInfo { version: crate::VERSION, commit: crate::COMMIT, dpdk: crate::DPDK_VERSION };
    let port_names: Vec<String> = cfg.ports.iter().map(|p| p.name.clone()).collect();
    let nic = crate::nic::reader(&cfg, steer.status());
    let sync = Arc::new(control::sync::SyncDaemon::new(live.clone(), rss.clone()));
    // keepalived's lvs_sync_daemon: master while its VRRP instance is MASTER.
    let mut follow = keepalived.as_ref().and_then(|k| k.sync_daemon.clone()).map(control::sync::Follow::new);
    let metrics = Arc::new(
        Metrics::new(stats.clone(), port_names, &build, Some(nic), Some(live.clone()))
            .with_twins(twin_counters)
            .with_sync(sync.clone()),
    );
    metrics.set_health(checks.source());
    match metrics::serve(cfg.control.metrics, metrics.clone()) {
        Ok((addr, _)) => println!("metrics: http://{addr}/metrics"),
        Err(e) => eprintln!("rvsd: metrics on {}: {e} (continuing without)", cfg.control.metrics),
    }
    let table_size = conn_config(&cfg).effective_capacity().saturating_mul(nb_workers as u32);
    let admin = Arc::new(
        control::admin::Admin::new(live.clone(), stats.clone(), table_size)
            .with_net(net.clone())
            .with_sync(sync.clone()),
    );
    match control::admin::socket::serve(&cfg.control.socket, admin.clone()) {
        Ok(_) => println!("admin: {} (rvsadm)", cfg.control.socket.display()),
        Err(e) => eprintln!("rvsd: admin socket {}: {e} (continuing without)", cfg.control.socket.display()),
    }
    println!("rvsd: running; SIGHUP reloads [[service]] and keepalived.conf, SIGINT or SIGTERM stops");
    crate::notify::ready(&running_status(&cfg, &ports, &live));

    signals.serve(
        &cfg,
        &live,
        &net,
        &checks,
        &metrics,
        vrrp.as_ref(),
        || admin.tick(),
        || {
            steer.sync(&live.snapshot());
            if let Some(f) = follow.as_mut() {
                f.tick(&sync, &net);
            }
        },
        || running_status(&cfg, &ports, &live),
    );
    crate::notify::stopping();
    let _ = std::fs::remove_file(&cfg.control.socket);

    println!("rvsd: signal received, stopping");
    checks.stop();
    if let Some(v) = vrrp {
        v.stop();
    }
    stop.store(true, Ordering::Relaxed);
    lcore::wait_all();
    drop(steer); // its rules go before the ports stop
    for t in [kernel_thread, twin_watch].into_iter().flatten() {
        let _ = t.join();
    }
    for (p, name) in &taps {
        let _ = p.stop();
        if let Err(e) = p.close() {
            eprintln!("rvsd: twin {name}: close: {e}");
        }
    }
    for (p, c) in ports.iter().zip(&cfg.ports) {
        if let Err(e) = p.stop() {
            eprintln!("rvsd: port {}: stop: {e}", c.name);
        }
        if let Err(e) = p.close() {
            eprintln!("rvsd: port {}: close: {e}", c.name);
        }
    }
    crate::report::counters(&cfg, &stats);
    drop(pool);
    drop(eal);
    crate::runtime::remove(&prefix);
    println!("rvsd: stopped");
    Ok(())
}

/// The unit's STATUS while running: services and each port's link.
fn running_status(cfg: &Config, ports: &[Port], live: &Live) -> String {
    let links: Vec<String> = ports
        .iter()
        .zip(&cfg.ports)
        .map(|(p, c)| {
            let l = p.link();
            if l.up {
                format!("{} up {} Mbps", c.name, l.speed_mbps)
            } else {
                format!("{} down", c.name)
            }
        })
        .collect();
    format!("running: {} services; {}", live.snapshot().services().len(), links.join(", "))
}

/// Configure and start every port with one rx and one tx queue per worker; returns the
/// ports, their MAC addresses, and the RSS configuration.
///
/// RSS hashes the client's address alone, with one key and one redirection table on
/// every port: its source on a port that holds VIPs (clients send there), its
/// destination on the others (NAT replies to clients arrive there). A request and its
/// reply then reach the same worker, which owns the connection: no packet crosses
/// between workers. A device that cannot hash an address alone spreads by its own
/// fields, and the owner directory and rings carry what lands elsewhere.
fn start_ports(cfg: &Config, pool: &Mempool, queues: u16) -> Result<(Vec<Port>, Vec<EthernetAddress>, Arc<Rss>)> {
    let mut ports = Vec::new();
    let mut macs = Vec::new();
    let mut reta_size = 0;
    for (i, p) in cfg.ports.iter().enumerate() {
        let port = Port::by_name(&p.device).map_err(|e| format!("port {}: device {}: {e}", p.name, p.device))?;
        let client_side = cfg.vips.iter().any(|v| v.port == i);
        let conf = PortConf {
            rx_queues: queues,
            tx_queues: queues,
            rx_desc: p.rx_desc,
            tx_desc: p.tx_desc,
            rss: queues > 1,
            rss_fields: if client_side { RssFields::SrcAddr } else { RssFields::DstAddr },
            rss_key: Some(rss::DEFAULT_KEY),
            mtu: Some(p.mtu),
        };
        port.configure(&conf, pool).map_err(|e| format!("port {}: configure: {e}", p.name))?;
        port.start().map_err(|e| format!("port {}: start: {e}", p.name))?;
        if port.rss_enabled() {
            let table = Rss::new(rss::DEFAULT_KEY, queues, usize::from(port.reta_size()));
            let size = table.reta().len().min(usize::from(port.reta_size()));
            if let Err(e) = port.set_reta(&table.reta()[..size]) {
                eprintln!("rvsd: port {}: RSS redirection table: {e} (the driver's stays)", p.name);
            }
            reta_size = reta_size.max(usize::from(port.reta_size()));
        }
        let mac = port.mac_addr().map_err(|e| format!("port {}: MAC address: {e}", p.name))?;
        let link = port.link();
        let addrs: Vec<String> = p.cidrs().map(|c| c.to_string()).collect();
        println!(
            "port {}: {} (port {}), mac {mac}, {}, {queues} rx + {queues} tx queues, {}/{} descriptors, rss {}, link {}",
            p.name,
            p.device,
            port.id(),
            addrs.join(" "),
            p.rx_desc,
            p.tx_desc,
            match port.rss_fields() {
                Some(RssFields::SrcAddr) => "on (client source address)",
                Some(RssFields::DstAddr) => "on (client destination address)",
                Some(RssFields::Tuple) => "on (tuple)",
                None if queues > 1 => "off (the device cannot hash an address alone; flows spread by the driver)",
                None => "off (one queue)",
            },
            if link.up { format!("up {} Mbps", link.speed_mbps) } else { "down".into() }
        );
        macs.push(mac);
        ports.push(port);
    }
    for r in &cfg.routes {
        println!("route {} via {} ({})", r.prefix, r.gateway, cfg.ports[r.port].name);
    }
    for v in &cfg.vips {
        println!("vip {} on {}", v.addr, cfg.ports[v.port].name);
    }
    let rss = Arc::new(Rss::new(rss::DEFAULT_KEY, queues, if reta_size > 0 { reta_size } else { 128 }));
    Ok((ports, macs, rss))
}

#[allow(clippy::too_many_arguments)]
fn launch_workers(
    cfg: &Config,
    ports: &[Port],
    pool: &Mempool,
    l3: &Arc<L3Config>,
    rss: &Arc<Rss>,
    stats: &[Arc<CoreStats>],
    live: &Live,
    receivers: Vec<crossbeam::channel::Receiver<WorkerCtl>>,
    stop: &Arc<AtomicBool>,
    kernel: &crate::kernel::KernelRings,
) -> Result<()> {
    let n = cfg.workers.lcores.len();
    let inboxes: Vec<Arc<NeighInbox>> = (0..n).map(|_| Arc::new(NeighInbox::new(NEIGH_INBOX))).collect();
    // rings[i][j]: from worker i to worker j, single producer and single consumer.
    let mut rings: Vec<Vec<Option<Ring<Mbuf>>>> = Vec::with_capacity(n);
    for i in 0..n {
        let mut row = Vec::with_capacity(n);
        for j in 0..n {
            row.push(if i == j {
                None
            } else {
                Some(
                    Ring::create(&format!("rvs_rd_{i}_{j}"), REDIRECT_RING, true, true)
                        .map_err(|e| format!("redirect ring: {e}"))?,
                )
            });
        }
        rings.push(row);
    }
    let neigh = NeighConfig {
        capacity: cfg.workers.neigh_capacity as usize,
        queue_len: cfg.workers.neigh_queue as usize,
        reachable_ms: cfg.workers.neigh_reachable_secs * 1000,
        ..NeighConfig::default()
    };
    let conn = conn_config(cfg);
    // Room for every connection of every worker: a partition never refuses before the
    // worker's own table is full.
    let owners = Arc::new(Directory::for_capacity(n, conn.effective_capacity() as usize));
    for (q, (&lcore_id, ctl)) in cfg.workers.lcores.iter().zip(receivers).enumerate() {
        let mut queues = Vec::with_capacity(ports.len());
        for p in ports {
            let rx = p.rx_queue(q as u16).map_err(|e| format!("port {}: rx queue {q}: {e}", p.id()))?;
            let tx = p.tx_queue(q as u16).map_err(|e| format!("port {}: tx queue {q}: {e}", p.id()))?;
            queues.push((rx, tx));
        }
        let w = WorkerConfig {
            core: q as u8,
            ports: queues,
            pool: pool.clone(),
            stats: stats[q].clone(),
            l3: l3.clone(),
            neigh,
            conn,
            snapshot: live.snapshot(),
            ctl,
            owners: owners.clone(),
            rss: rss.clone(),
            rings_out: rings[q].clone(),
            rings_in: (0..n).filter(|&i| i != q).filter_map(|i| rings[i][q].clone()).collect(),
            burst: cfg.workers.burst,
            drain_us: cfg.workers.drain_us,
            idle_sleep_us: cfg.workers.idle_sleep_us,
            stop: stop.clone(),
            inbox: inboxes[q].clone(),
            peers: inboxes.iter().enumerate().filter(|(i, _)| *i != q).map(|(_, b)| b.clone()).collect(),
            announce: q == 0,
            bypass: false,
            kernel_up: kernel.up.get(q).cloned().flatten(),
            kernel_rate: (cfg.kernel.rate_pps, cfg.kernel.burst),
            kernel_down: if q == 0 { kernel.down.clone() } else { None },
        };
        lcore::launch(lcore_id, move || dataplane::run(w)).map_err(|e| format!("worker lcore {lcore_id}: {e}"))?;
        let names: Vec<&str> = cfg.ports.iter().map(|p| p.name.as_str()).collect();
        println!(
            "worker lcore {lcore_id}: queue {q} on {}, {} connections",
            names.join(", "),
            conn.effective_capacity()
        );
    }
    Ok(())
}

/// The startup account of connection-table memory: how much, and in which pages (a
/// probe slice gets what the tables will get).
fn print_table_memory(cfg: &Config, dpdk_huge: bool) {
    let probe = rvs_hint::HugeSlice::new(rvs_hint::HUGE_PAGE, 0u8);
    let c = conn_config(cfg);
    let per = rvs_core::conn::ENTRY_BYTES;
    println!(
        "conn tables: {} x {} connections ({} IPv6), {per} B entries + index, in {}{}",
        cfg.workers.lcores.len(),
        c.effective_capacity(),
        c.effective_capacity_v6(),
        probe.backing(),
        if dpdk_huge || probe.backing() != rvs_hint::Backing::Pages {
            ""
        } else {
            " (reserve hugepages or enable THP for fewer TLB misses)"
        }
    );
}

/// Each worker's connection table.
fn conn_config(cfg: &Config) -> ConnConfig {
    ConnConfig {
        capacity: cfg.workers.conn_capacity,
        capacity_v6: cfg.workers.conn_capacity_v6,
        capacity_fullnat: cfg.workers.conn_capacity_fullnat,
        lports: cfg.workers.fullnat_ports,
        max_dests: MAX_DESTS,
        workers: cfg.workers.lcores.len() as u32,
        ..ConnConfig::default()
    }
}

/// The services keepalived.conf declares (none without one): what is validated before
/// anything starts, and applied until the health checker gives its effective list.
pub fn keepalived_services(k: Option<&KeepalivedConf>) -> &[ServiceDef] {
    k.map_or(&[], |k| &k.services)
}

/// One line per service and real server, in ipvsadm's words.
pub fn print_services(snap: &Snapshot) {
    for s in snap.services() {
        let dests: Vec<String> = s
            .dests
            .iter()
            .map(|d| format!("{} {} w{}", fmt_addr_port(d.addr, d.port), d.fwd.name(), d.weight))
            .collect();
        let persist = s.persistence.map(|p| format!(" persistent {}", p.timeout_s)).unwrap_or_default();
        println!(
            "service {} {}{persist}: {}",
            service_label(&s.key),
            s.scheduler,
            if dests.is_empty() { "no real servers".into() } else { dests.join(", ") }
        );
    }
}
