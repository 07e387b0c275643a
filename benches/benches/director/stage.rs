//! The measured loop: what a burst goes through (the Director, or the baseline's MAC
//! swap), the sink that takes every packet back into the pool, and the loop itself.

use std::time::{Duration, Instant};

use rvs_core::forward::Director;
use rvs_core::l3::Io;
use rvs_core::stats::DropReason;
use wire::{PacketBuf, VecBuf};

use crate::traffic::Traffic;
use crate::{CHECK_EVERY, HEADROOM, NOW, POOL};

/// Takes every packet back into the pool; counts what happened.
pub(crate) struct Sink {
    pub(crate) pool: Vec<VecBuf>,
    pub(crate) tx: u64,
    pub(crate) drops: u64,
    pub(crate) first_drop: Option<DropReason>,
}

impl Sink {
    pub(crate) fn new() -> Sink {
        let mut pool = Vec::with_capacity(POOL);
        pool.extend((0..POOL).map(|_| VecBuf::with_room(&[], HEADROOM, VecBuf::DEFAULT_CAPACITY)));
        Sink { pool, tx: 0, drops: 0, first_drop: None }
    }

    /// Count from here (the measured window).
    pub(crate) fn reset_counts(&mut self) {
        self.tx = 0;
        self.drops = 0;
        self.first_drop = None;
    }
}

impl Io<VecBuf> for Sink {
    #[inline(always)]
    fn tx(&mut self, _: u16, pkt: VecBuf) {
        // The frame's bytes count as used, so no write to them may be optimised away.
        std::hint::black_box(pkt.data());
        self.tx += 1;
        self.pool.push(pkt);
    }
    fn drop(&mut self, _: u16, pkt: VecBuf, reason: DropReason) {
        self.drops += 1;
        self.first_drop.get_or_insert(reason);
        self.pool.push(pkt);
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        self.pool.pop()
    }
    fn count_drop(&mut self, _: u16, reason: DropReason) {
        self.drops += 1;
        self.first_drop.get_or_insert(reason);
    }
}

/// What a burst goes through: the Director, or the baseline's MAC swap.
pub(crate) trait Stage {
    fn burst(&mut self, port: u16, burst: &mut Vec<VecBuf>, sink: &mut Sink);
}

impl Stage for Director<VecBuf> {
    #[inline(always)]
    fn burst(&mut self, port: u16, burst: &mut Vec<VecBuf>, sink: &mut Sink) {
        self.input_burst(port, burst.drain(..), NOW, false, sink);
    }
}

pub(crate) struct MacSwap;

impl Stage for MacSwap {
    #[inline(always)]
    fn burst(&mut self, port: u16, burst: &mut Vec<VecBuf>, sink: &mut Sink) {
        for mut p in burst.drain(..) {
            let (dst, src) = p.data_mut().split_at_mut(6);
            dst.swap_with_slice(&mut src[..6]);
            sink.tx(port, p);
        }
    }
}

/// Run bursts until `secs` have passed or `limit` packets went in; (packets, seconds).
pub(crate) fn run<S: Stage>(
    stage: &mut S,
    t: &mut Traffic,
    sink: &mut Sink,
    burst: &mut Vec<VecBuf>,
    secs: f64,
    limit: u64,
) -> (u64, f64) {
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs_f64(secs);
    let mut packets = 0u64;
    loop {
        for _ in 0..CHECK_EVERY {
            let port = t.fill(&mut sink.pool, burst);
            packets += burst.len() as u64;
            stage.burst(port, burst, sink);
        }
        let now = Instant::now();
        if now >= end || packets >= limit {
            return (packets, (now - t0).as_secs_f64());
        }
    }
}
