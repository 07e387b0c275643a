//! A worker's end of a packet capture ([`rvs_core::capture`]): frames as received, before
//! the director, and as transmitted, in `Io::tx`. Timestamps are the TSC in ns plus a
//! wall-clock offset taken once, when the worker arms the capture at its tick.

use std::num::NonZeroU128;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use dpdk::{lcore, Burst};
use rvs_core::capture::{Capture, Stage};

pub(crate) struct Tap {
    cap: Arc<Capture>,
    core: u8,
    /// TSC ticks per second (never 0: no division check on the fast path).
    hz: NonZeroU128,
    /// Wall-clock ns at TSC 0.
    offset_ns: u64,
}

fn tsc_ns(tsc: u64, hz: NonZeroU128) -> u64 {
    (u128::from(tsc) * 1_000_000_000 / hz) as u64
}

impl Tap {
    /// At a tick (reads the wall clock).
    pub fn new(cap: Arc<Capture>, core: u8) -> Tap {
        let hz = NonZeroU128::new(u128::from(lcore::tsc_hz())).unwrap_or(NonZeroU128::MIN);
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let offset_ns = wall.wrapping_sub(tsc_ns(lcore::tsc(), hz));
        Tap { cap, core, hz, offset_ns }
    }

    /// Still taking frames? (The worker drops a finished one at its tick.)
    pub fn armed(&self) -> bool {
        self.cap.armed()
    }

    #[inline]
    fn now_ns(&self) -> u64 {
        self.offset_ns.wrapping_add(tsc_ns(lcore::tsc(), self.hz))
    }

    /// A received burst, before the director rewrites any of it.
    #[inline]
    pub fn rx(&self, port: u16, burst: &Burst) {
        if !self.cap.armed() {
            return;
        }
        for m in burst.iter() {
            self.cap.offer(port, Stage::In, self.core, m.data(), || self.now_ns());
        }
    }

    /// A frame about to be queued for transmission out of `port`.
    #[inline]
    pub fn tx(&self, port: u16, frame: &[u8]) {
        self.cap.offer(port, Stage::Out, self.core, frame, || self.now_ns());
    }
}
