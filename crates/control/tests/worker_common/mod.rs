//! A worker's side of the control channel without DPDK: a real `Director` that drains
//! its `WorkerCtl` queue and ticks, as `dataplane::worker::run` does every 10 ms.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::channel::Receiver;
use rvs_core::conn::ConnConfig;
use rvs_core::ctl::WorkerCtl;
use rvs_core::forward::{Balancer, Director, Directory};
use rvs_core::l3::{Io, L3Config, Node};
use rvs_core::neigh::NeighConfig;
use rvs_core::route::RouteTable;
use rvs_core::service::Snapshot;
use rvs_core::stats::{CoreStats, DropReason};
use wire::VecBuf;

pub struct NullIo;

impl Io<VecBuf> for NullIo {
    fn tx(&mut self, _: u16, _: VecBuf) {}
    fn drop(&mut self, _: u16, _: VecBuf, _: DropReason) {}
    fn alloc(&mut self) -> Option<VecBuf> {
        None
    }
    fn count_drop(&mut self, _: u16, _: DropReason) {}
    fn redirect(&mut self, _: u8, _: u16, _: VecBuf) {}
}

pub struct Worker {
    pub dir: Director<VecBuf>,
    pub ctl: Receiver<WorkerCtl>,
    pub stats: Arc<CoreStats>,
}

impl Worker {
    pub fn new(snap: Arc<Snapshot>, ctl: Receiver<WorkerCtl>, capacity: u32, max_dests: u32) -> Worker {
        let l3 = Arc::new(L3Config::new(Vec::new(), RouteTable::default()));
        let stats = Arc::new(CoreStats::with_dests(1, 1, max_dests as usize));
        let conn = ConnConfig { capacity, max_dests, ..ConnConfig::default() };
        let lb = Balancer::new(0, conn, snap, Arc::new(Directory::new(1, 1024)), stats.clone(), 0);
        Worker { dir: Director::new(Node::new(l3, NeighConfig::default()), lb), ctl, stats }
    }

    /// One timer tick of the worker loop: drain the control queue, run the timers.
    /// Returns how long the worker was not polling.
    pub fn tick(&mut self, now: u64) -> Duration {
        let t0 = Instant::now();
        while let Ok(msg) = self.ctl.try_recv() {
            self.dir.control(msg, now);
        }
        self.dir.tick(now, &mut NullIo);
        t0.elapsed()
    }
}
