//! Messages from the control thread to the workers. Workers read them at their timer
//! tick, so a control operation never waits on the packet path and never locks it.

use std::sync::mpsc::Sender;
use std::sync::Arc;

use crate::conn::ConnInfo;
use crate::service::Snapshot;

pub enum WorkerCtl {
    /// Adopt this configuration (RCU style: the control thread built it).
    Snapshot(Arc<Snapshot>),
    /// `ipvsadm --set tcp tcpfin udp` (seconds; 0 keeps a value).
    Timeouts { tcp: u32, tcpfin: u32, udp: u32 },
    /// Send a copy of every connection and template (`ipvsadm -L -c`).
    ListConns(Sender<Vec<ConnInfo>>),
}
