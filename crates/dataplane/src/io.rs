//! The worker's side of `rvs_core::l3::Io`: tx and redirect buffering, counting,
//! allocation.

use std::net::IpAddr;
use std::sync::Arc;

use dpdk::{Burst, Mbuf, Mempool, Ring, TxQueue};
use rvs_core::l3::{Io, TokenBucket};
use rvs_core::stats::{CoreStats, DropReason};
use wire::EthernetAddress;

use crate::tap::Tap;
use crate::worker::{NeighInbox, NeighUpdate};

/// Packets waiting for one port's tx queue.
pub(crate) struct TxBuffer {
    pub queue: TxQueue,
    pub pending: Burst,
}

/// Packets waiting for the ring to one other worker.
pub(crate) struct RedirectBuffer {
    pub ring: Ring<Mbuf>,
    pub pending: Burst,
}

/// Frames for the kernel twins, waiting for the ring to the kernel thread, behind the
/// exception path's rate limit.
pub struct KernelBuffer {
    pub ring: Ring<Mbuf>,
    pub pending: Burst,
    pub bucket: TokenBucket,
}

pub(crate) struct WorkerIo<'a> {
    /// Up to the kernel thread (`None`: no port has a twin).
    pub kernel: Option<&'a mut KernelBuffer>,
    /// The worker's clock (ms), for the kernel path's rate limit.
    pub now: u64,
    pub tx: &'a mut [TxBuffer],
    /// Indexed by worker; `None` for this worker itself.
    pub redirect: &'a mut [Option<RedirectBuffer>],
    pub stats: &'a CoreStats,
    pub pool: &'a Mempool,
    pub peers: &'a [Arc<NeighInbox>],
    /// Flush a buffer once it holds this many packets.
    pub flush_at: usize,
    /// An armed packet capture (`None`, the usual case: one test per frame sent).
    pub tap: Option<Tap>,
}

impl WorkerIo<'_> {
    /// Hand a port's buffered packets to the NIC; what it refuses is freed and counted.
    pub fn flush(&mut self, port: usize) {
        let Some(b) = self.tx.get_mut(port) else { return };
        if b.pending.is_empty() {
            return;
        }
        let counters = self.stats.port(port as u16);
        let bytes: usize = b.pending.iter().map(|m| m.len()).sum();
        let queued = b.pending.len();
        b.queue.tx_burst(&mut b.pending);
        let unsent_bytes: usize = b.pending.iter().map(|m| m.len()).sum();
        let refused = b.pending.len();
        counters.tx_packets.add((queued - refused) as u64);
        counters.tx_bytes.add((bytes - unsent_bytes) as u64);
        if refused > 0 {
            counters.drops[DropReason::TxFull as usize].add(refused as u64);
            b.pending.clear(); // dropping the mbufs returns them to their pool
        }
    }

    /// Hand buffered redirects to their owners' rings; a full ring drops, counted on the
    /// port each packet arrived on.
    fn flush_redirect(&mut self, core: usize) {
        let Some(Some(b)) = self.redirect.get_mut(core) else { return };
        if b.pending.is_empty() {
            return;
        }
        let queued = b.pending.len();
        b.ring.enqueue_burst(&mut b.pending);
        self.stats.redirects_out.add((queued - b.pending.len()) as u64);
        for m in b.pending.drain(..) {
            self.stats.port(m.port()).drop(DropReason::RedirectFull);
        }
    }

    /// Hand frames for the kernel to the kernel thread's ring; a full ring drops them,
    /// counted (the kernel path never holds a worker up).
    fn flush_kernel(&mut self) {
        let Some(k) = self.kernel.as_deref_mut() else { return };
        if k.pending.is_empty() {
            return;
        }
        let mut ports = [0u16; dpdk::BURST];
        for (p, m) in ports.iter_mut().zip(k.pending.iter()) {
            *p = m.port();
        }
        let n = k.ring.enqueue_burst(&mut k.pending);
        for &p in ports.iter().take(n) {
            self.stats.port(p).kernel_up.inc();
        }
        for m in k.pending.drain(..) {
            self.stats.port(m.port()).drop(DropReason::KernelQueueFull);
        }
    }

    pub fn flush_all(&mut self) {
        for port in 0..self.tx.len() {
            self.flush(port);
        }
        self.flush_kernel();
        for core in 0..self.redirect.len() {
            self.flush_redirect(core);
        }
    }
}

impl Io<Mbuf> for WorkerIo<'_> {
    #[inline]
    fn tx(&mut self, port: u16, pkt: Mbuf) {
        if let Some(t) = &self.tap {
            t.tx(port, pkt.data());
        }
        let i = usize::from(port);
        let Some(b) = self.tx.get_mut(i) else {
            return self.stats.port(port).drop(DropReason::NoRoute);
        };
        if let Err(e) = b.pending.try_push(pkt) {
            // Full: drain to the NIC, then queue.
            self.flush(i);
            if let Some(b) = self.tx.get_mut(i) {
                if b.pending.try_push(e.element()).is_err() {
                    self.stats.port(port).drop(DropReason::TxFull);
                }
            }
            return;
        }
        if self.tx.get(i).is_some_and(|b| b.pending.len() >= self.flush_at) {
            self.flush(i);
        }
    }

    #[inline]
    fn drop(&mut self, port: u16, pkt: Mbuf, reason: DropReason) {
        self.stats.port(port).drop(reason);
        drop(pkt);
    }

    fn alloc(&mut self) -> Option<Mbuf> {
        self.pool.alloc()
    }

    fn count_drop(&mut self, port: u16, reason: DropReason) {
        self.stats.port(port).drop(reason);
    }

    fn icmp_error_counted(&mut self, sent: bool) {
        if sent {
            self.stats.icmp_errors_sent.inc();
        } else {
            self.stats.icmp_errors_suppressed.inc();
        }
    }

    fn neigh_learned(&mut self, port: u16, ip: IpAddr, mac: EthernetAddress) {
        // ARP replies land on whichever queue the NIC hashes them to: tell every other
        // worker, through lock-free bounded queues. A full queue loses only a hint; that
        // worker resolves the neighbour itself.
        for peer in self.peers {
            let _ = peer.push(NeighUpdate { port, ip, mac });
        }
    }

    fn kernel(&mut self, port: u16, mut pkt: Mbuf) {
        let now = self.now;
        let Some(k) = self.kernel.as_deref_mut() else {
            return self.stats.port(port).drop(DropReason::KernelQueueFull);
        };
        if !k.bucket.take(now) {
            return self.stats.port(port).drop(DropReason::KernelRateLimit);
        }
        pkt.set_port(port);
        if let Err(e) = k.pending.try_push(pkt) {
            self.flush_kernel();
            if let Some(k) = self.kernel.as_deref_mut() {
                if k.pending.try_push(e.element()).is_err() {
                    self.stats.port(port).drop(DropReason::KernelQueueFull);
                }
            }
        }
    }

    #[inline]
    fn redirect(&mut self, core: u8, port: u16, mut pkt: Mbuf) {
        let c = usize::from(core);
        // The arrival port travels in the mbuf (our port index, not DPDK's port id).
        pkt.set_port(port);
        let Some(Some(b)) = self.redirect.get_mut(c) else {
            return self.stats.port(port).drop(DropReason::RedirectFull);
        };
        if let Err(e) = b.pending.try_push(pkt) {
            self.flush_redirect(c);
            if let Some(Some(b)) = self.redirect.get_mut(c) {
                if b.pending.try_push(e.element()).is_err() {
                    self.stats.port(port).drop(DropReason::RedirectFull);
                }
            }
            return;
        }
        if matches!(self.redirect.get(c), Some(Some(b)) if b.pending.len() >= self.flush_at) {
            self.flush_redirect(c);
        }
    }
}
