//! A generator: one lcore feeding one worker's queues, recycling what comes back into
//! the next packet of its chain, and the phases the generators of a case share.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use dpdk::{lcore, Burst, Mbuf, Mempool, RxQueue, TxQueue};
use rvs_benches::topo::{is_laddr, LAN, WAN};
use rvs_core::addr::Addr;
use rvs_core::conn::laddr::lport_owner;
use rvs_core::rss::{self, Rss};
use rvs_core::stats::CoreStats;

use crate::frame::{parse, Macs};
use crate::in_flight_target;
use crate::measure::total_drops;
use crate::traffic::Traffic;
use crate::workers::Setup;

/// One generator: the queues into its worker and back, and the pool.
pub(crate) struct Gen {
    /// Its worker's index, and the RSS queue it stands for.
    index: usize,
    /// Into its worker on port p (index p), with its pending burst.
    pub(crate) tx: Vec<TxQueue>,
    pend: Vec<Burst>,
    /// What its worker sends, with the port it came out of.
    pub(crate) rx: Vec<(u16, RxQueue)>,
    pool: Mempool,
    macs: Macs,
    pub(crate) sent: u64,
    pub(crate) recv: u64,
    /// Workers of the current case, and their RSS configuration, to place frames as
    /// the NIC would.
    workers: usize,
    rss: Rss,
    /// Frames RSS would have given another worker (replaced by fresh ones of its own).
    pub(crate) misplaced: u64,
    /// Sleep when idle (it shares its CPU), as the workers do.
    idle_sleep: bool,
}

#[derive(Default, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) packets: u64,
    pub(crate) tsc: u64,
    pub(crate) busy_tsc: u64,
    pub(crate) completed: u64,
}

/// Sleep when idle for this long (a generator sharing its CPU).
pub(crate) const GEN_IDLE_SLEEP_US: u64 = 50;

/// What the generators of one case share: they populate, wait for each other, then
/// generator 0 sets one warm-up and one measured window for all.
pub(crate) struct Phase {
    pub(crate) gens: usize,
    pub(crate) populated: AtomicUsize,
    /// TSC at the start and end of the measured window (0: not set yet).
    pub(crate) start: AtomicU64,
    pub(crate) end: AtomicU64,
    pub(crate) warm_tsc: u64,
    pub(crate) measure_tsc: u64,
}

impl Gen {
    /// Generator `index`, on the queues of worker `index`.
    pub(crate) fn new(s: &Setup, index: usize) -> Gen {
        let q = 2 * index as u16;
        Gen {
            index,
            tx: s.ports.iter().map(|p| p.tx_queue(q).expect("tx")).collect(),
            pend: s.ports.iter().map(|_| Burst::new()).collect(),
            rx: s.ports.iter().enumerate().map(|(i, p)| (i as u16, p.rx_queue(q + 1).expect("rx"))).collect(),
            pool: s.pool.clone(),
            macs: Macs { port: s.macs },
            sent: 0,
            recv: 0,
            workers: 1,
            rss: Rss::new(rss::DEFAULT_KEY, 1, 128),
            misplaced: 0,
            idle_sleep: false,
        }
    }

    /// Get ready for a case of `workers` workers.
    pub(crate) fn begin(&mut self, workers: usize, idle_sleep: bool) {
        self.workers = workers;
        self.rss = Rss::new(rss::DEFAULT_KEY, workers as u16, 128);
        self.idle_sleep = idle_sleep;
        self.misplaced = 0;
        self.sent = 0;
        self.recv = 0;
    }

    /// The worker a NIC with rvs's RSS delivers this frame to: hashed on the client's
    /// address, the source on wan (it holds the VIPs), the destination on lan; a FullNAT
    /// reply to a local address goes where its port's low bits say (rvs's rte_flow rule).
    #[inline]
    fn worker_of(&self, port: u16, m: &Mbuf) -> usize {
        if self.workers == 1 {
            return 0;
        }
        let d = m.data();
        let at = if port == WAN { 26 } else { 30 };
        let a = d.get(at..at + 4).map_or(Ipv4Addr::UNSPECIFIED, |b| Ipv4Addr::new(b[0], b[1], b[2], b[3]));
        if port == LAN && is_laddr(a) {
            let lport = d.get(36..38).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
            return usize::from(lport_owner(lport, self.workers as u32));
        }
        usize::from(self.rss.queue_of(Addr::from(a)))
    }

    /// Send `m` into `port` if RSS gives it to this generator's worker; else (a frame
    /// of another worker's client came back here) count it and send a fresh one instead.
    #[inline]
    fn push<T: Traffic>(&mut self, t: &mut T, mut port: u16, mut m: Mbuf) {
        let mut tries = 0;
        while self.worker_of(port, &m) != self.index {
            self.misplaced += 1;
            tries += 1;
            if tries > 16 {
                return; // dropping `m` frees it
            }
            port = t.next(None, &mut m, &self.macs);
        }
        let p = usize::from(port);
        // The worker's input ring never holds more than what is in flight, so a full
        // pending burst always drains.
        while self.pend[p].is_full() {
            self.sent += self.tx[p].tx_burst(&mut self.pend[p]) as u64;
        }
        self.pend[p].push(m);
        if self.pend[p].is_full() {
            self.sent += self.tx[p].tx_burst(&mut self.pend[p]) as u64;
        }
    }

    fn flush(&mut self) {
        for p in 0..self.pend.len() {
            self.sent += self.tx[p].tx_burst(&mut self.pend[p]) as u64;
        }
    }

    /// Top up to `IN_FLIGHT` with fresh packets (at start, and after drops).
    fn top_up<T: Traffic>(&mut self, t: &mut T, stats: &[Arc<CoreStats>]) {
        let drops = total_drops(stats);
        let queued: u64 = self.pend.iter().map(|b| b.len() as u64).sum();
        let in_flight = (self.sent + queued).saturating_sub(self.recv + drops);
        for _ in in_flight..in_flight_target() {
            let Some(mut m) = self.pool.alloc() else { break };
            let port = t.next(None, &mut m, &self.macs);
            self.push(t, port, m);
        }
        self.flush();
    }

    /// Recycle returned packets until `done(traffic, tsc)`; returns what was seen.
    fn run<T: Traffic>(
        &mut self,
        t: &mut T,
        stats: &[Arc<CoreStats>],
        mut done: impl FnMut(&T, u64) -> bool,
    ) -> Window {
        let t0 = lcore::tsc();
        let (p0, c0) = (self.recv, t.completed());
        let mut busy = 0u64;
        let mut b = Burst::new();
        let mut idle = 0u32;
        loop {
            let it = lcore::tsc();
            let mut got = 0;
            for q in 0..self.rx.len() {
                let port = self.rx[q].0;
                let n = self.rx[q].1.rx_burst(&mut b);
                if n == 0 {
                    continue;
                }
                got += n;
                self.recv += n as u64;
                for mut m in b.drain(..) {
                    let out = if T::ECHO {
                        port
                    } else {
                        let seen = parse(m.data());
                        t.next(Some((port, seen)), &mut m, &self.macs)
                    };
                    self.push(t, out, m);
                }
            }
            // Full bursts go out as they fill (in `push`); partial ones only when nothing
            // came back, so both sides see bursts of 32 rather than ping-pong in ones.
            let now = lcore::tsc();
            if got > 0 {
                busy += now - it;
                idle = 0;
            } else {
                self.flush();
                idle += 1;
                if idle % 4096 == 0 {
                    self.top_up(t, stats);
                }
                if self.idle_sleep && idle % 64 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(GEN_IDLE_SLEEP_US));
                }
            }
            if done(t, now) {
                return Window {
                    packets: self.recv - p0,
                    tsc: now - t0,
                    busy_tsc: busy,
                    completed: t.completed() - c0,
                };
            }
        }
    }

    /// One case on this generator (its worker's `stats`): fill the pipe, populate, wait
    /// for the other generators, warm up, then the measured window; `at_start` runs
    /// as it opens.
    pub(crate) fn case<T: Traffic>(
        &mut self,
        t: &mut T,
        stats: &Arc<CoreStats>,
        ph: &Phase,
        at_start: impl FnOnce(),
    ) -> Window {
        let stats = std::slice::from_ref(stats);
        self.top_up(t, stats);
        let deadline = lcore::tsc() + 120 * lcore::tsc_hz();
        self.run(t, stats, |t, now| !t.populating() || now > deadline);
        ph.populated.fetch_add(1, Ordering::AcqRel);
        let lead = self.index == 0;
        self.run(t, stats, |_, now| {
            if lead && ph.start.load(Ordering::Acquire) == 0 && ph.populated.load(Ordering::Acquire) == ph.gens {
                ph.end.store(now + ph.warm_tsc + ph.measure_tsc, Ordering::Release);
                ph.start.store(now + ph.warm_tsc, Ordering::Release);
            }
            let start = ph.start.load(Ordering::Acquire);
            start != 0 && now >= start
        });
        at_start();
        let end = ph.end.load(Ordering::Acquire);
        self.run(t, stats, |_, now| now >= end)
    }

    /// Free everything in the generator's hands and in its rx rings.
    pub(crate) fn drain(&mut self) {
        for p in &mut self.pend {
            dpdk::free_burst(p);
        }
        let mut b = Burst::new();
        for (_, q) in &mut self.rx {
            while q.rx_burst(&mut b) > 0 {
                dpdk::free_burst(&mut b);
            }
        }
    }
}
