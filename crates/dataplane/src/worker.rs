//! The worker loop.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use crossbeam::queue::ArrayQueue;
use dpdk::{lcore, Burst, Mempool, RxQueue, TxQueue};
use rvs_core::l3::{L3Config, Node};
use rvs_core::neigh::NeighConfig;
use rvs_core::stats::CoreStats;
use wire::EthernetAddress;

use crate::io::{TxBuffer, WorkerIo};

/// A neighbour binding learned by another worker.
#[derive(Clone, Copy, Debug)]
pub struct NeighUpdate {
    pub port: u16,
    pub ip: Ipv4Addr,
    pub mac: EthernetAddress,
}

/// Each worker's inbox of neighbour bindings learned elsewhere.
pub type NeighInbox = ArrayQueue<NeighUpdate>;

/// Everything one worker owns. Port index `i` is the i-th configured port.
pub struct WorkerConfig {
    pub lcore: u32,
    pub ports: Vec<(RxQueue, TxQueue)>,
    pub pool: Mempool,
    pub stats: Arc<CoreStats>,
    pub l3: Arc<L3Config>,
    pub neigh: NeighConfig,
    /// Packets per rx burst and per tx flush, 1..=32.
    pub burst: usize,
    /// Longest a packet waits in a tx buffer, in microseconds (l3fwd: 100).
    pub drain_us: u64,
    pub stop: Arc<AtomicBool>,
    pub inbox: Arc<NeighInbox>,
    pub peers: Vec<Arc<NeighInbox>>,
    /// Send gratuitous ARP for every address and VIP at start (one worker does).
    pub announce: bool,
}

/// Neighbour timers run this often; far coarser than the tx drain, far finer than ARP's
/// one-second retransmission.
const TICK_MS: u64 = 10;

/// Run until `stop` is set. Returns 0, as an lcore function.
pub fn run(cfg: WorkerConfig) -> i32 {
    let WorkerConfig { ports, pool, stats, l3, neigh, burst: max_burst, drain_us, stop, inbox, peers, announce, .. } = cfg;
    let max_burst = max_burst.clamp(1, dpdk::BURST);
    let hz = lcore::tsc_hz().max(1);
    let drain_tsc = (hz / 1_000_000).max(1) * drain_us.max(1);
    let tsc_per_ms = (hz / 1_000).max(1);

    let (mut rx, tx): (Vec<RxQueue>, Vec<TxBuffer>) =
        ports.into_iter().map(|(r, t)| (r, TxBuffer { queue: t, pending: Burst::new() })).unzip();
    let mut tx = tx;
    let mut node = Node::new(l3, neigh);
    let mut io = WorkerIo { tx: &mut tx, stats: &stats, pool: &pool, peers: &peers, flush_at: max_burst };
    let mut burst = Burst::new();

    if announce {
        node.announce(&mut io);
        io.flush_all();
    }

    let mut prev_drain = lcore::tsc();
    let mut next_tick = 0u64;
    let mut now = prev_drain / tsc_per_ms;
    while !stop.load(Relaxed) {
        let cur = lcore::tsc();
        if cur.wrapping_sub(prev_drain) >= drain_tsc {
            io.flush_all();
            prev_drain = cur;
            now = cur / tsc_per_ms;
            while let Some(u) = inbox.pop() {
                node.learn(u.port, u.ip, u.mac, true, now, &mut io);
            }
            if now >= next_tick {
                node.tick(now, &mut io);
                stats.neighbours.set(node.neighbours().len() as u64);
                next_tick = now + TICK_MS;
            }
        }
        for (i, q) in rx.iter_mut().enumerate() {
            let n = q.rx_burst_max(&mut burst, max_burst);
            if n == 0 {
                continue;
            }
            let counters = stats.port(i as u16);
            counters.rx_packets.add(n as u64);
            counters.rx_bytes.add(burst.iter().map(|m| m.len() as u64).sum());
            for m in burst.drain(..) {
                node.input(i as u16, m, now, &mut io);
            }
        }
    }
    io.flush_all();
    0
}
