//! Measuring one case: fresh workers, a generator per worker, one shared window; the
//! figures of a case and of each of its workers.

use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;

use dpdk::lcore;
use rvs_benches::topo::RS;
use rvs_core::addr::Addr;
use rvs_core::rss::Rss;
use rvs_core::service::Snapshot;
use rvs_core::stats::{CoreStats, DropReason};

use crate::eal::sharing;
use crate::generator::{Gen, Phase, Window};
use crate::traffic::{persist_client, Persist, Traffic};
use crate::workers::{gen_lcore, start_workers, stop_workers, Setup};
use crate::PERSIST_CLIENTS;

pub(crate) fn total_drops(stats: &[Arc<CoreStats>]) -> u64 {
    stats.iter().flat_map(|s| &s.ports).map(|p| p.total_drops()).sum()
}

/// "reason n, …" over the whole case, the workers' drops by reason (why a case lost packets).
fn drop_reasons(stats: &[Arc<CoreStats>]) -> String {
    let n = |r: DropReason| stats.iter().flat_map(|s| &s.ports).map(|p| p.drops(r)).sum::<u64>();
    let l: Vec<String> =
        DropReason::ALL.iter().filter(|r| n(**r) > 0).map(|r| format!("{} {}", r.name(), n(*r))).collect();
    l.join(", ")
}

/// Packets a worker took from its rx queues.
fn rx_packets(s: &CoreStats) -> u64 {
    s.ports.iter().map(|p| p.rx_packets.get()).sum()
}

/// One case to measure.
pub(crate) struct Case<'a> {
    pub(crate) name: String,
    pub(crate) mode: &'static str,
    pub(crate) flows: u64,
    pub(crate) capacity: u32,
    pub(crate) bypass: bool,
    pub(crate) workers: usize,
    pub(crate) snapshot: &'a Arc<Snapshot>,
}

/// One worker's share of a case.
pub(crate) struct WorkerFigures {
    /// Packets received from its rx queues in the measured window, millions per second.
    pub(crate) mpps: f64,
    /// Over the whole case, populating included: packets received from its rx queues,
    /// and packets handed to and taken from other workers.
    pub(crate) packets: u64,
    pub(crate) redirects_out: u64,
    pub(crate) redirects_in: u64,
}

/// The persistence case's check, from the frames the director sent to real servers.
pub(crate) struct PersistCheck {
    /// Clients whose packets reached a real server, and their connections (SYNs).
    pub(crate) clients: usize,
    pub(crate) connections: u64,
    /// Clients whose packets reached more than one real server (persistence broken).
    pub(crate) split: usize,
    /// Clients per real server, and per worker (their RSS queue).
    pub(crate) per_server: Vec<usize>,
    pub(crate) per_worker: Vec<usize>,
}

impl PersistCheck {
    /// From every generator's records (each saw the frames of its own worker).
    pub(crate) fn of(ts: &[Persist], rss: &Rss, workers: usize) -> PersistCheck {
        let mut per_worker = vec![0; workers];
        let mut per_server = vec![0; RS.len()];
        let (mut clients, mut split) = (0, 0);
        let reached = (0..PERSIST_CLIENTS as usize).map(|i| ts.iter().fold(0u8, |b, t| b | t.reached[i]));
        for (i, bits) in reached.enumerate() {
            if bits == 0 {
                continue;
            }
            clients += 1;
            split += usize::from(bits.count_ones() > 1);
            for (r, n) in per_server.iter_mut().enumerate() {
                *n += usize::from(bits & 1 << r != 0);
            }
            per_worker[usize::from(rss.queue_of(Addr::from(persist_client(i as u32))))] += 1;
        }
        let connections = ts.iter().map(|t| t.connections).sum();
        PersistCheck { clients, connections, split, per_server, per_worker }
    }
}

pub(crate) struct CaseResult {
    pub(crate) case: String,
    pub(crate) mode: &'static str,
    pub(crate) flows: u64,
    pub(crate) mpps: f64,
    pub(crate) cps: Option<f64>,
    pub(crate) drops: u64,
    pub(crate) conns: u64,
    /// The busiest generator's share of its time spent on packets.
    pub(crate) gen_busy: f64,
    /// Frames RSS would have given another worker than the one their generator feeds.
    pub(crate) misplaced: u64,
    pub(crate) per_worker: Vec<WorkerFigures>,
    pub(crate) persist: Option<PersistCheck>,
}

impl CaseResult {
    pub(crate) fn redirects(&self) -> (u64, u64, u64) {
        let sum = |f: fn(&WorkerFigures) -> u64| self.per_worker.iter().map(f).sum::<u64>();
        (sum(|w| w.redirects_out), sum(|w| w.redirects_in), sum(|w| w.packets))
    }
}

/// Measure one case: fresh workers, and on each worker's generator the traffic
/// `make(g)` returns; returns the figures and each generator's traffic.
pub(crate) fn measure<T: Traffic + Send + 'static>(
    s: &Setup,
    gens: &mut Vec<Gen>,
    c: Case,
    mut make: impl FnMut(usize) -> T,
) -> (CaseResult, Vec<T>) {
    let hz = lcore::tsc_hz() as f64;
    let secs: f64 = std::env::var("RVS_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.5);
    let n = c.workers;
    let w = start_workers(s, c.snapshot, n, c.capacity, c.bypass);
    // Wait until the workers have built their Directors (a large connection table takes a
    // while to allocate) and taken the neighbour bindings (published at the first tick).
    let ready = lcore::tsc() + (60.0 * hz) as u64;
    while w.stats.iter().any(|st| st.conn_capacity.get() == 0 || st.neighbours.get() < 3)
        && !c.bypass
        && lcore::tsc() < ready
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let ph = Arc::new(Phase {
        gens: n,
        populated: AtomicUsize::new(0),
        start: AtomicU64::new(0),
        end: AtomicU64::new(0),
        warm_tsc: (0.3 * hz) as u64,
        measure_tsc: (secs * hz) as u64,
    });
    let idle_sleep = sharing(&s.cpus, n);
    // Generators 1.. on their lcores, generator 0 here; each comes back with its traffic.
    let mut idle: Vec<Gen> = gens.drain(n..).collect();
    let mut own = gens.drain(..).map(Some).collect::<Vec<_>>();
    let (done_tx, done_rx) = crossbeam::channel::unbounded();
    for (g, slot) in own.iter_mut().enumerate().skip(1) {
        let mut gen = slot.take().expect("generator");
        gen.begin(n, idle_sleep);
        let mut t = make(g);
        let (st, ph, done) = (w.stats[g].clone(), ph.clone(), done_tx.clone());
        lcore::launch(gen_lcore(g), move || {
            let win = gen.case(&mut t, &st, &ph, || {});
            let _ = done.send((g, gen, t, win));
            0
        })
        .expect("launch generator");
    }
    let mut gen0 = own[0].take().expect("generator");
    gen0.begin(n, idle_sleep);
    let mut t0 = make(0);
    let mut at_start = (0, Vec::new());
    let win0 = gen0.case(&mut t0, &w.stats[0], &ph, || {
        at_start = (total_drops(&w.stats), w.stats.iter().map(|st| rx_packets(st)).collect());
    });
    // Per worker, over generator 0's window (the others' differ by microseconds).
    let (drops0, rx0) = at_start;
    let drops = total_drops(&w.stats) - drops0;
    let dt = win0.tsc as f64 / hz;
    let per_worker = w
        .stats
        .iter()
        .zip(rx0)
        .map(|(st, r0)| WorkerFigures {
            mpps: (rx_packets(st) - r0) as f64 / dt / 1e6,
            packets: rx_packets(st),
            redirects_out: st.redirects_out.get(),
            redirects_in: st.redirects_in.get(),
        })
        .collect();
    let mut done: Vec<Option<(Gen, T, Window)>> = (0..n).map(|_| None).collect();
    done[0] = Some((gen0, t0, win0));
    for _ in 1..n {
        let (g, gen, t, win) = done_rx.recv().expect("a generator's result");
        lcore::wait(gen_lcore(g));
        done[g] = Some((gen, t, win));
    }
    let conns = w.stats.iter().map(|st| st.conns.get()).sum();
    if drops > 0 {
        println!("  ({}: drops by reason over the case: {})", c.name, drop_reasons(&w.stats));
    }
    let (mut mpps, mut cps, mut busy, mut misplaced) = (0.0, 0.0, 0.0f64, 0);
    let mut traffic = Vec::with_capacity(n);
    for (gen, t, win) in done.into_iter().map(|d| d.expect("every generator")) {
        let dt = win.tsc as f64 / hz;
        mpps += win.packets as f64 / dt / 1e6;
        cps += win.completed as f64 / dt;
        busy = busy.max(win.busy_tsc as f64 / win.tsc as f64);
        misplaced += gen.misplaced;
        gens.push(gen);
        traffic.push(t);
    }
    gens.append(&mut idle);
    stop_workers(w, s, &mut gens[..n]);
    let r = CaseResult {
        case: c.name,
        mode: c.mode,
        flows: c.flows,
        mpps,
        cps: (cps > 0.0).then_some(cps),
        drops,
        conns,
        gen_busy: busy,
        misplaced,
        per_worker,
        persist: None,
    };
    (r, traffic)
}
