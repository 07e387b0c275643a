//! Messages from the control thread to the workers. Workers read them at their timer
//! tick, so a control operation never waits on the packet path and never locks it.

use std::sync::mpsc::Sender;
use std::sync::Arc;

use crate::capture::Capture;
use crate::conn::ConnInfo;
use crate::l3::L3Config;
use crate::sched::Prebuilt;
use crate::service::Snapshot;

/// One snapshot of the whole director, as the control thread publishes it: the
/// services and, built for this worker, the schedulers of those that changed since the
/// previous publication; and the ports' addresses, VIPs and routes. Both halves are
/// immutable and adopted together at the worker's next tick.
pub struct Publication {
    pub snap: Arc<Snapshot>,
    pub scheds: Vec<Prebuilt>,
    pub net: Arc<L3Config>,
}

impl Publication {
    /// Folds a newer publication into this one (queued changes): its snapshot wins, and
    /// so does its instance for a service both built one for.
    pub fn merge(&mut self, newer: Publication) {
        self.snap = newer.snap;
        self.net = newer.net;
        for p in newer.scheds {
            self.scheds.retain(|o| o.key() != p.key());
            self.scheds.push(p);
        }
    }
}

/// One piece of a worker's connection listing; `done` on the last.
pub struct ConnChunk {
    pub conns: Vec<ConnInfo>,
    pub done: bool,
}

pub enum WorkerCtl {
    /// Adopt this configuration (RCU style: the control thread built it). A worker
    /// adopts only the newest of those queued.
    Snapshot(Publication),
    /// `ipvsadm --set tcp tcpfin udp` (seconds; 0 keeps a value).
    Timeouts { tcp: u32, tcpfin: u32, udp: u32 },
    /// Send a copy of every connection and template (`ipvsadm -L -c`), in chunks of a
    /// bounded part of the table per tick, as /proc/net/ip_vs_conn reads them.
    ListConns(Sender<ConnChunk>),
    /// Arm a packet capture (replacing any armed one): served by the worker's I/O,
    /// which sees frames before the director and after it.
    Capture(Arc<Capture>),
    /// Connection sync on (master: fill the outbox; backup: apply the inbox at each
    /// tick) or off (`None`).
    Sync(Option<Arc<crate::sync::SyncQueues>>),
}
