//! How many mbufs the packet pool needs: every place that can hold one at the same time.
//! DPDK's mempool never grows, and a pool smaller than the rings fills the NIC's rx ring
//! short (rx_nombuf) or starves a worker outright.

use std::fmt;

use super::{PortConfig, WorkersConfig};

/// Slots per worker-to-worker redirect ring (rvsd creates them with exactly this many).
pub const REDIRECT_RING: u32 = 1024;
/// Slots of each ring between a worker and the kernel thread (the exception path's
/// queue; its rate limit keeps it far from full).
pub const KERNEL_RING: u32 = 128;
/// rx and tx descriptors of each kernel twin's queue.
pub const TWIN_DESC: u16 = 128;

/// Largest pool rvsd makes: 2^24 - 1 mbufs, about 40 GB of 2 KiB buffers.
pub const MAX_MBUFS: u32 = (1 << 24) - 1;

/// The mbufs each consumer can hold at once, summed over the workers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MbufNeed {
    /// Filled rx descriptors and not-yet-freed tx descriptors of every worker's queues.
    pub descriptors: u64,
    /// Per-lcore mempool caches, each up to 1.5 x its size (DPDK's flush threshold).
    pub caches: u64,
    /// A worker's rx burst, tx buffer per port and redirect buffer per peer.
    pub bursts: u64,
    /// Worker-to-worker redirect rings, full.
    pub redirect_rings: u64,
    /// Packets waiting on unresolved neighbours, every entry's queue full.
    pub neigh_queues: u64,
    /// The exception path: the twins' descriptors, the rings to and from the kernel
    /// thread full, its bursts.
    pub kernel: u64,
}

impl MbufNeed {
    pub fn new(ports: &[PortConfig], w: &WorkersConfig) -> MbufNeed {
        let n = w.lcores.len() as u64;
        let desc: u64 = ports.iter().map(|p| u64::from(p.rx_desc) + u64::from(p.tx_desc)).sum();
        MbufNeed {
            descriptors: n * desc,
            caches: n * (u64::from(w.mbuf_cache) * 3 / 2),
            bursts: n * w.burst as u64 * (1 + ports.len() as u64 + n.saturating_sub(1)),
            redirect_rings: n * n.saturating_sub(1) * u64::from(REDIRECT_RING),
            neigh_queues: n * u64::from(w.neigh_capacity) * u64::from(w.neigh_queue),
            kernel: match ports.iter().filter(|p| p.twin.is_some()).count() as u64 {
                0 => 0,
                t => {
                    t * (2 * u64::from(TWIN_DESC) + w.burst as u64) + (n + 1) * u64::from(KERNEL_RING) + w.burst as u64
                }
            },
        }
    }

    pub fn total(&self) -> u64 {
        self.descriptors + self.caches + self.bursts + self.redirect_rings + self.neigh_queues + self.kernel
    }

    /// The pool size chosen when `mbufs` is not set: the need rounded up to 2^n - 1
    /// (a mempool's ring is 2^n slots), never below the old default; `None` past
    /// [`MAX_MBUFS`].
    pub fn auto_size(&self) -> Option<u32> {
        let size = (self.total() + 1).next_power_of_two() - 1;
        u32::try_from(size.max(u64::from(super::DEFAULT_MBUFS))).ok().filter(|&s| s <= MAX_MBUFS)
    }
}

impl fmt::Display for MbufNeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} = descriptors {} + caches {} + bursts {} + redirect rings {} + neighbour queues {} + kernel path {}",
            self.total(),
            self.descriptors,
            self.caches,
            self.bursts,
            self.redirect_rings,
            self.neigh_queues,
            self.kernel
        )
    }
}
