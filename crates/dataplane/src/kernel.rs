//! The kernel thread: the exception path between the workers and the ports' kernel
//! twins (DPDK's `net_tap`), on a core that is not a worker's (DPVS's KNI thread, in
//! its place).
//!
//! Up: each worker queues what the data path does not consume (rate-limited there) on
//! its own single-producer ring; this thread writes the frames to their port's twin.
//! Down: what the kernel sends on a twin is read here and handed to one worker, which
//! transmits it out of the port on its own tx queue (a port's tx queues all belong to
//! workers; one worker keeps the kernel's flows in order). Every loss is counted; a
//! worker never waits for this thread.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use dpdk::{Burst, Mbuf, Ring, RxQueue, TxQueue};
pub use rvs_core::stats::TwinCounters;

/// One port's twin: its tap queue pair.
pub struct Twin {
    pub rx: RxQueue,
    pub tx: TxQueue,
}

pub struct KernelConfig {
    /// Indexed by port; `None` for a port without a twin.
    pub twins: Vec<Option<Twin>>,
    /// One ring from each worker.
    pub from_workers: Vec<Ring<Mbuf>>,
    /// To the worker that transmits the kernel's frames.
    pub to_worker: Ring<Mbuf>,
    /// Indexed by port.
    pub counters: Arc<Vec<TwinCounters>>,
    pub stop: Arc<AtomicBool>,
    /// Sleep this long when a pass over every queue found nothing.
    pub idle_sleep: Duration,
}

/// Run until `stop` is set.
pub fn run(cfg: KernelConfig) {
    let KernelConfig { mut twins, from_workers, to_worker, counters, stop, idle_sleep } = cfg;
    let mut up: Vec<Burst> = twins.iter().map(|_| Burst::new()).collect();
    let mut burst = Burst::new();
    let mut down = Burst::new();
    let lost = |port: usize, up: bool, n: usize| {
        if let Some(c) = counters.get(port) {
            (if up { &c.up_dropped } else { &c.down_dropped }).add(n as u64);
        }
    };
    while !stop.load(Relaxed) {
        let mut got = 0;
        for ring in &from_workers {
            got += ring.dequeue_burst(&mut burst);
            for m in burst.drain(..) {
                let p = usize::from(m.port());
                let Some(pending) = up.get_mut(p).filter(|_| matches!(twins.get(p), Some(Some(_)))) else {
                    lost(p, true, 1);
                    continue;
                };
                if let Err(e) = pending.try_push(m) {
                    write_up(&mut twins, p, pending, &lost);
                    if pending.try_push(e.element()).is_err() {
                        lost(p, true, 1);
                    }
                }
            }
        }
        for (p, pending) in up.iter_mut().enumerate() {
            write_up(&mut twins, p, pending, &lost);
        }
        for (p, twin) in twins.iter_mut().enumerate() {
            let Some(t) = twin else { continue };
            let n = t.rx.rx_burst(&mut down);
            got += n;
            if n == 0 {
                continue;
            }
            // The port travels in the mbuf: our index, which the worker transmits on.
            for m in down.iter_mut() {
                m.set_port(p as u16);
            }
            to_worker.enqueue_burst(&mut down);
            lost(p, false, down.len());
            down.clear();
        }
        if got == 0 {
            std::thread::sleep(idle_sleep);
        }
    }
}

fn write_up(twins: &mut [Option<Twin>], p: usize, pending: &mut Burst, lost: &impl Fn(usize, bool, usize)) {
    if pending.is_empty() {
        return;
    }
    if let Some(Some(t)) = twins.get_mut(p) {
        t.tx.tx_burst(pending);
    }
    lost(p, true, pending.len());
    pending.clear();
}
