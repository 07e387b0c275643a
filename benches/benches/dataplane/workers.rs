//! The bench's ports, services and routes, and the workers of a case: started as rvsd
//! wires them, stopped and drained after.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use control::config::REDIRECT_RING;
use dataplane::{NeighInbox, NeighUpdate, WorkerConfig};
use dpdk::{lcore, Burst, Mbuf, Mempool, Port, PortConf, Ring};
use rvs_benches::topo::{add_fnat_service, LAN, PEER_MAC, ROUTER, RS, WAN};
use rvs_core::addr::{Addr, Protocol};
use rvs_core::conn::ConnConfig;
use rvs_core::forward::Directory;
use rvs_core::l3::{L3Config, PortL3};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::{Ipv4Cidr, RouteTable};
use rvs_core::rss::{self, Rss};
use rvs_core::service::{Config, DestSpec, FwdMethod, Persistence, ServiceKey, ServiceSpec, Snapshot};
use rvs_core::stats::CoreStats;
use wire::EthernetAddress;

use crate::eal::sharing;
use crate::generator::Gen;
use crate::synproxy::SP_VIP;
use crate::{Mode, IN_FLIGHT};

pub(crate) struct Setup {
    pub(crate) ports: Vec<Port>,
    pub(crate) pool: Mempool,
    l3: Arc<L3Config>,
    pub(crate) snapshot: Arc<Snapshot>,
    /// `snapshot` plus the persistent NAT service (the persistence case only, so that the
    /// other cases look up the same services as before).
    pub(crate) persist_snapshot: Arc<Snapshot>,
    /// `snapshot` plus the FullNAT service and its local addresses (the FullNAT cases).
    pub(crate) fnat_snapshot: Arc<Snapshot>,
    /// `snapshot` plus the SYN-proxied NAT service on [`SP_VIP`].
    pub(crate) sp_snapshot: Arc<Snapshot>,
    pub(crate) macs: [EthernetAddress; 2],
    /// The CPU of each lcore.
    pub(crate) cpus: Vec<usize>,
}

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().expect("cidr")
}

/// Mbufs for `workers` generator/worker pairs: what each generator keeps in flight plus
/// a ring's worth, every lcore's mempool cache, and slack (8191 for up to two pairs).
fn pool_size(workers: usize) -> u32 {
    let n = workers * (IN_FLIGHT as usize + 1024) + 2 * workers * 256 + 2048;
    (n + 1).next_power_of_two() as u32 - 1
}

/// Ports with `workers` workers' queue pairs (two each), services and routes.
pub(crate) fn setup(workers: usize) -> Setup {
    let pool =
        Mempool::create("bench_pkt", pool_size(workers), 256, dpdk::MBUF_DEFAULT_DATA_ROOM, -1).expect("mempool");
    let mut ports = Vec::new();
    let mut macs = [EthernetAddress::default(); 2];
    for (i, name) in ["net_ring0", "net_ring1"].iter().enumerate() {
        let p = Port::by_name(name).expect("net_ring port");
        let conf = PortConf {
            rx_queues: 2 * workers as u16,
            tx_queues: 2 * workers as u16,
            rx_desc: 1024,
            tx_desc: 1024,
            rss: false,
            mtu: None,
            ..PortConf::default()
        };
        p.configure(&conf, &pool).expect("configure");
        p.start().expect("start");
        macs[i] = p.mac_addr().expect("mac");
        ports.push(p);
    }
    let vips = vec![Mode::Nat.vip(), Mode::Dr.vip(), Mode::Tun.vip(), SP_VIP];
    let l3_ports = vec![
        PortL3 { mac: macs[0], addrs: vec![cidr("10.0.2.2/24")], vips, mtu: 1500, ..Default::default() },
        PortL3 { mac: macs[1], addrs: vec![cidr("10.0.3.1/24")], vips: vec![], mtu: 1500, ..Default::default() },
    ];
    let mut routes = RouteTable::default();
    routes.add_gateway(cidr("0.0.0.0/0"), ROUTER, WAN);
    let l3 = Arc::new(L3Config::new(l3_ports, routes));
    let mut cfg = Config::new(64);
    let service = |cfg: &mut Config, mode: Mode, fwd: FwdMethod, persistence: Option<Persistence>| {
        sp_service(cfg, mode.vip(), mode.vport(), fwd, persistence, false)
    };
    for (mode, fwd) in [(Mode::Nat, FwdMethod::Masq), (Mode::Dr, FwdMethod::Route), (Mode::Tun, FwdMethod::Tunnel)] {
        service(&mut cfg, mode, fwd, None);
    }
    let snapshot = cfg.snapshot();
    let mut fnat = cfg.clone();
    add_fnat_service(&mut fnat, Mode::Fnat.vip());
    let mut sp = cfg.clone();
    // ipvsadm -A -t 10.0.2.103:80 -s rr --synproxy, NAT real servers.
    sp_service(&mut sp, SP_VIP, 80, FwdMethod::Masq, None, true);
    // ipvsadm -A -t 10.0.2.100:90 -s rr -p 300: each client to one real server.
    service(&mut cfg, Mode::Persist, FwdMethod::Masq, Some(Persistence { timeout_s: 300, prefix: 32 }));
    let (persist_snapshot, fnat_snapshot, sp_snapshot) = (cfg.snapshot(), fnat.snapshot(), sp.snapshot());
    Setup { ports, pool, l3, snapshot, persist_snapshot, fnat_snapshot, sp_snapshot, macs, cpus: vec![0, 1] }
}

impl Setup {
    /// The configuration a case of `mode` runs.
    pub(crate) fn snapshot_of(&self, mode: Mode) -> &Arc<Snapshot> {
        match mode {
            Mode::Persist => &self.persist_snapshot,
            Mode::Fnat => &self.fnat_snapshot,
            _ => &self.snapshot,
        }
    }
}

/// A TCP service on `vip:port`, rr over the real servers by `fwd`.
fn sp_service(cfg: &mut Config, vip: Ipv4Addr, port: u16, fwd: FwdMethod, p: Option<Persistence>, synproxy: bool) {
    let key = ServiceKey::Proto { proto: Protocol::Tcp, addr: Addr::v4(vip.octets()), port };
    let mut spec = ServiceSpec::new(key);
    spec.scheduler = "rr".into();
    spec.persistence = p;
    spec.synproxy = synproxy;
    cfg.add_service(&spec).expect("service");
    for rs in RS {
        let mut d = DestSpec::new(Addr::v4(rs.octets()), 80);
        d.fwd = fwd;
        cfg.add_dest(&key, &d).expect("real server");
    }
}

pub(crate) struct Running {
    stop: Arc<AtomicBool>,
    pub(crate) stats: Vec<Arc<CoreStats>>,
    _ctl: Vec<crossbeam::channel::Sender<rvs_core::ctl::WorkerCtl>>,
}

/// Worker w's lcore; its generator's is the one before (generator 0: the main lcore).
pub(crate) fn worker_lcore(w: usize) -> u32 {
    2 * w as u32 + 1
}

pub(crate) fn gen_lcore(g: usize) -> u32 {
    2 * g as u32
}

/// Start `workers` fresh workers (each its own Director and connection table of
/// `capacity`), wired as rvsd's startup wires them: one RSS configuration, a shared owner
/// directory, a redirect ring for each ordered pair, each other's neighbour inboxes.
pub(crate) fn start_workers(
    s: &Setup,
    snapshot: &Arc<Snapshot>,
    workers: usize,
    capacity: u32,
    bypass: bool,
) -> Running {
    // Ring names must be unique while a ring lives; the last case's may not be freed yet.
    static STARTS: AtomicU32 = AtomicU32::new(0);
    let start = STARTS.fetch_add(1, Ordering::Relaxed);
    let stop = Arc::new(AtomicBool::new(false));
    let owners = Arc::new(Directory::for_capacity(workers, capacity as usize));
    let rss = Arc::new(Rss::new(rss::DEFAULT_KEY, workers as u16, 128));
    let inboxes: Vec<Arc<NeighInbox>> = (0..workers).map(|_| Arc::new(NeighInbox::new(16))).collect();
    // rings[i][j]: from worker i to worker j, single producer and single consumer.
    let rings: Vec<Vec<Option<Ring<Mbuf>>>> = (0..workers)
        .map(|i| {
            (0..workers)
                .map(|j| {
                    (i != j).then(|| {
                        Ring::create(&format!("bench_rd{start}_{i}_{j}"), REDIRECT_RING, true, true)
                            .expect("redirect ring")
                    })
                })
                .collect()
        })
        .collect();
    let (mut stats, mut ctls) = (Vec::new(), Vec::new());
    for w in 0..workers {
        let st = Arc::new(CoreStats::with_dests(worker_lcore(w), 2, 64));
        let (tx, rx) = crossbeam::channel::unbounded();
        let inbox = inboxes[w].clone();
        // Next hops resolved up front, as Node::learn does for an ARP reply.
        let _ = inbox.push(NeighUpdate { port: WAN, ip: ROUTER.into(), mac: PEER_MAC[0] });
        for (k, rs) in RS.iter().enumerate() {
            let _ = inbox.push(NeighUpdate { port: LAN, ip: (*rs).into(), mac: PEER_MAC[1 + k] });
        }
        let q = 2 * w as u16;
        let ports = s.ports.iter().map(|p| (p.rx_queue(q).expect("rx"), p.tx_queue(q + 1).expect("tx"))).collect();
        let cfg = WorkerConfig {
            core: w as u8,
            ports,
            pool: s.pool.clone(),
            stats: st.clone(),
            l3: s.l3.clone(),
            neigh: NeighConfig { reachable_ms: 3_600_000, ..NeighConfig::default() },
            conn: ConnConfig {
                capacity,
                max_dests: 64,
                workers: workers as u32,
                // FullNAT: sequence state for every connection (the default is an eighth).
                capacity_fullnat: snapshot.laddrs().next().is_some().then_some(capacity),
                ..ConnConfig::default()
            },
            snapshot: snapshot.clone(),
            ctl: rx,
            owners: owners.clone(),
            rss: rss.clone(),
            rings_out: rings[w].clone(),
            rings_in: (0..workers).filter(|&i| i != w).filter_map(|i| rings[i][w].clone()).collect(),
            burst: dpdk::BURST,
            drain_us: 100,
            // Workers sharing a CPU sleep when idle, as rvsd's lab configuration does, so
            // that one's spinning does not hold up the other's packets for a time slice.
            idle_sleep_us: if sharing(&s.cpus, workers) { 50 } else { 0 },
            stop: stop.clone(),
            inbox,
            peers: inboxes.iter().enumerate().filter(|(i, _)| *i != w).map(|(_, b)| b.clone()).collect(),
            announce: false,
            bypass,
            kernel_up: None,
            kernel_rate: (1, 1),
            kernel_down: None,
        };
        lcore::launch(worker_lcore(w), move || dataplane::run(cfg)).expect("launch worker");
        stats.push(st);
        ctls.push(tx);
    }
    Running { stop, stats, _ctl: ctls }
}

pub(crate) fn stop_workers(r: Running, s: &Setup, gens: &mut [Gen]) {
    r.stop.store(true, Ordering::Relaxed);
    for w in 0..r.stats.len() {
        lcore::wait(worker_lcore(w));
    }
    for g in gens.iter_mut() {
        g.drain();
        g.sent = 0;
        g.recv = 0;
    }
    // What the workers had not received yet.
    let mut b = Burst::new();
    for p in &s.ports {
        for w in 0..r.stats.len() {
            let mut q = p.rx_queue(2 * w as u16).expect("rx");
            while q.rx_burst(&mut b) > 0 {
                dpdk::free_burst(&mut b);
            }
        }
    }
}
