//! The worker loop.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crossbeam::channel::Receiver;
use crossbeam::queue::ArrayQueue;
use dpdk::{lcore, Burst, Mbuf, Mempool, Ring, RxQueue, TxQueue};
use rvs_core::conn::ConnConfig;
use rvs_core::ctl::WorkerCtl;
use rvs_core::forward::{Balancer, Director, Directory};
use rvs_core::l3::{Io, L3Config, Node, TokenBucket};
use rvs_core::neigh::NeighConfig;
use rvs_core::rss::Rss;
use rvs_core::service::Snapshot;
use rvs_core::stats::CoreStats;
use wire::EthernetAddress;

use crate::io::{KernelBuffer, RedirectBuffer, TxBuffer, WorkerIo};
use crate::tap::Tap;

/// A neighbour binding learned by another worker.
#[derive(Clone, Copy, Debug)]
pub struct NeighUpdate {
    pub port: u16,
    pub ip: IpAddr,
    pub mac: EthernetAddress,
}

/// Each worker's inbox of neighbour bindings learned elsewhere.
pub type NeighInbox = ArrayQueue<NeighUpdate>;

/// Everything one worker owns. Port index `i` is the i-th configured port; worker index
/// `core` is its position among the workers (rings and owner directory use it).
pub struct WorkerConfig {
    pub core: u8,
    pub ports: Vec<(RxQueue, TxQueue)>,
    pub pool: Mempool,
    pub stats: Arc<CoreStats>,
    pub l3: Arc<L3Config>,
    pub neigh: NeighConfig,
    pub conn: ConnConfig,
    /// The first configuration snapshot; later ones arrive on `ctl`.
    pub snapshot: Arc<Snapshot>,
    /// Requests from the control thread, served at timer ticks.
    pub ctl: Receiver<WorkerCtl>,
    /// Who holds connections that live away from their client's queue (shared).
    pub owners: Arc<Directory>,
    /// The ports' RSS configuration (clients' home workers are their RSS queues).
    pub rss: Arc<Rss>,
    /// `rings_out[j]`: single-producer ring to worker j (`None` for itself).
    pub rings_out: Vec<Option<Ring<Mbuf>>>,
    /// Single-consumer rings from the other workers.
    pub rings_in: Vec<Ring<Mbuf>>,
    /// Packets per rx burst and per tx flush, 1..=32.
    pub burst: usize,
    /// Longest a packet waits in a tx buffer, in microseconds (l3fwd: 100).
    pub drain_us: u64,
    /// Sleep this long after a run of empty polls (0: poll without pause, as DPDK
    /// applications on dedicated cores do; l3fwd-power's idea for shared cores).
    pub idle_sleep_us: u64,
    pub stop: Arc<AtomicBool>,
    pub inbox: Arc<NeighInbox>,
    pub peers: Vec<Arc<NeighInbox>>,
    /// Send gratuitous ARP for every address and VIP at start (one worker does).
    pub announce: bool,
    /// The exception path: frames for the kernel twins go up this ring (to the kernel
    /// thread), at most `kernel_rate` (per second, burst) of them; `None`: no twins.
    pub kernel_up: Option<Ring<Mbuf>>,
    pub kernel_rate: (u64, u64),
    /// Frames the kernel twins sent, to transmit (their `port` says out of which port).
    /// One worker takes them all, so the kernel's flows keep their order.
    pub kernel_down: Option<Ring<Mbuf>>,
    /// Benchmark baseline only (rvsd: false): skip `rvs_core` entirely; every received
    /// frame gets its MAC addresses swapped and goes back out of the port it came in on
    /// through the same tx buffering (testpmd's macswap). The I/O ceiling of this loop.
    pub bypass: bool,
}

/// Timers run this often: far coarser than the tx drain, far finer than ARP's
/// one-second retransmission or a connection timeout's second.
const TICK_MS: u64 = 10;
/// Empty polls before an idle sleep.
const IDLE_POLLS: u32 = 1024;

/// Run until `stop` is set. Returns 0, as an lcore function.
pub fn run(cfg: WorkerConfig) -> i32 {
    let WorkerConfig {
        core,
        ports,
        pool,
        stats,
        l3,
        neigh,
        conn,
        snapshot,
        ctl,
        owners,
        rss,
        rings_out,
        rings_in,
        burst: max_burst,
        drain_us,
        idle_sleep_us,
        stop,
        inbox,
        peers,
        announce,
        bypass,
        kernel_up,
        kernel_rate,
        kernel_down,
        ..
    } = cfg;
    let max_burst = max_burst.clamp(1, dpdk::BURST);
    let hz = lcore::tsc_hz().max(1);
    let drain_tsc = (hz / 1_000_000).max(1) * drain_us.max(1);
    let tsc_per_ms = (hz / 1_000).max(1);

    let (mut rx, mut tx): (Vec<RxQueue>, Vec<TxBuffer>) =
        ports.into_iter().map(|(r, t)| (r, TxBuffer { queue: t, pending: Burst::new() })).unzip();
    let mut redirect: Vec<Option<RedirectBuffer>> =
        rings_out.into_iter().map(|r| r.map(|ring| RedirectBuffer { ring, pending: Burst::new() })).collect();
    let start = lcore::tsc() / tsc_per_ms;
    let mut kernel = kernel_up.map(|ring| KernelBuffer {
        ring,
        pending: Burst::new(),
        bucket: TokenBucket::new(kernel_rate.0, kernel_rate.1, start),
    });
    let mut dir = Director::new(
        Node::new(l3, neigh),
        Balancer::new(core, conn, snapshot, owners, stats.clone(), start).with_rss(rss),
    );
    let mut io = WorkerIo {
        kernel: kernel.as_mut(),
        now: start,
        tx: &mut tx,
        redirect: &mut redirect,
        stats: &stats,
        pool: &pool,
        peers: &peers,
        flush_at: max_burst,
        tap: None,
    };
    let mut burst = Burst::new();

    if announce {
        dir.node.announce(&mut io);
        io.flush_all();
    }

    let mut prev_drain = lcore::tsc();
    let mut next_tick = 0u64;
    let mut now = prev_drain / tsc_per_ms;
    let mut idle = 0u32;
    while !stop.load(Relaxed) {
        let cur = lcore::tsc();
        if cur.wrapping_sub(prev_drain) >= drain_tsc {
            io.flush_all();
            prev_drain = cur;
            now = cur / tsc_per_ms;
            io.now = now;
            while let Some(u) = inbox.pop() {
                dir.node.learn(u.port, u.ip, u.mac, true, now, &mut io);
            }
            if now >= next_tick {
                while let Ok(msg) = ctl.try_recv() {
                    match msg {
                        WorkerCtl::Capture(c) => io.tap = Some(Tap::new(c, core)),
                        m => dir.control(m, now),
                    }
                }
                if io.tap.as_ref().is_some_and(|t| !t.armed()) {
                    io.tap = None; // finished or stopped: back to no cost
                }
                dir.tick(now, &mut io);
                stats.neighbours.set(dir.node.neighbours().len() as u64);
                next_tick = now + TICK_MS;
            }
        }
        let mut got = 0;
        for (i, q) in rx.iter_mut().enumerate() {
            let n = q.rx_burst_max(&mut burst, max_burst);
            if n == 0 {
                continue;
            }
            got += n;
            let counters = stats.port(i as u16);
            counters.rx_packets.add(n as u64);
            counters.rx_bytes.add(burst.iter().map(|m| m.len() as u64).sum());
            if let Some(t) = &io.tap {
                t.rx(i as u16, &burst);
            }
            if bypass {
                for mut m in burst.drain(..) {
                    if let Some((dst, rest)) = m.data_mut().split_at_mut_checked(6) {
                        if let Some(src) = rest.get_mut(..6) {
                            dst.swap_with_slice(src);
                        }
                    }
                    io.tx(i as u16, m);
                }
                continue;
            }
            dir.input_burst(i as u16, burst.drain(..), now, false, &mut io);
        }
        if let Some(ring) = &kernel_down {
            // One burst per loop: the kernel's traffic is bounded work here too.
            let n = ring.dequeue_burst(&mut burst);
            got += n;
            for m in burst.drain(..) {
                let port = m.port();
                stats.port(port).kernel_down.inc();
                io.tx(port, m);
            }
        }
        for ring in &rings_in {
            let n = ring.dequeue_burst(&mut burst);
            if n == 0 {
                continue;
            }
            got += n;
            stats.redirects_in.add(n as u64);
            for m in burst.drain(..) {
                let port = m.port();
                dir.input(port, m, now, true, &mut io);
            }
        }
        if got == 0 && idle_sleep_us > 0 {
            idle += 1;
            if idle >= IDLE_POLLS {
                io.flush_all();
                std::thread::sleep(Duration::from_micros(idle_sleep_us));
                idle = 0;
            }
        } else {
            idle = 0;
        }
    }
    io.flush_all();
    0
}
