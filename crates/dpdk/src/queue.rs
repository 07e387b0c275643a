//! A port's rx and tx queues: each held by one owner (DPDK's queues are not
//! thread-safe) and given back on drop; see [`crate::port`] for the registry that keeps
//! a held queue from being released under its owner.

use std::cell::Cell;
use std::marker::PhantomData;

use arrayvec::ArrayVec;
use dpdk_sys::rte_mbuf;

use crate::port::{locked, ports, Port};
use crate::{Error, Mbuf, Result};

impl Port {
    /// Take ownership of rx queue `q` (one owner per queue; released on drop). Fails if
    /// the port is not configured with that queue or it is already held.
    pub fn rx_queue(&self, q: u16) -> Result<RxQueue> {
        let mut g = locked("rx_queue", self.id())?;
        let t = g[self.id() as usize].rx_taken.get_mut(q as usize).ok_or_else(|| {
            Error::msg_errno("rx_queue", 22, format!("port {} has no configured rx queue {q}", self.id()))
        })?;
        if *t {
            return Err(Error::msg_errno(
                "rx_queue",
                16,
                format!("rx queue {q} of port {} is already held", self.id()),
            ));
        }
        *t = true;
        Ok(RxQueue { port: self.id(), queue: q, _not_sync: PhantomData })
    }

    /// Take ownership of tx queue `q` (one owner per queue; released on drop).
    pub fn tx_queue(&self, q: u16) -> Result<TxQueue> {
        let mut g = locked("tx_queue", self.id())?;
        let t = g[self.id() as usize].tx_taken.get_mut(q as usize).ok_or_else(|| {
            Error::msg_errno("tx_queue", 22, format!("port {} has no configured tx queue {q}", self.id()))
        })?;
        if *t {
            return Err(Error::msg_errno(
                "tx_queue",
                16,
                format!("tx queue {q} of port {} is already held", self.id()),
            ));
        }
        *t = true;
        Ok(TxQueue { port: self.id(), queue: q, _not_sync: PhantomData })
    }
}

/// Exclusive handle on one rx queue. `Send` (move it to the lcore that polls it), not
/// `Sync`.
#[derive(Debug)]
pub struct RxQueue {
    port: u16,
    queue: u16,
    _not_sync: PhantomData<Cell<()>>,
}

impl RxQueue {
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Receive into the spare capacity of `out`; returns how many packets were added.
    /// Never allocates.
    #[inline]
    pub fn rx_burst<const N: usize>(&mut self, out: &mut ArrayVec<Mbuf, N>) -> usize {
        self.rx_burst_max(out, N)
    }

    /// As [`RxQueue::rx_burst`], receiving at most `max` packets.
    #[inline]
    pub fn rx_burst_max<const N: usize>(&mut self, out: &mut ArrayVec<Mbuf, N>, max: usize) -> usize {
        let len = out.len();
        let room = (N - len).min(max).min(u16::MAX as usize) as u16;
        if room == 0 {
            return 0;
        }
        // SAFETY: we exclusively own (port, queue), which the registry guarantees is a
        // configured queue that cannot be released while we exist. Mbuf is
        // repr(transparent) over a non-NULL rte_mbuf pointer, so the spare capacity is
        // `room` writable *mut rte_mbuf slots.
        let n = unsafe {
            let slots = out.as_mut_ptr().add(len) as *mut *mut rte_mbuf;
            dpdk_sys::rvs_eth_rx_burst(self.port, self.queue, slots, room)
        } as usize;
        debug_assert!(n <= room as usize);
        // SAFETY: the driver wrote n <= room valid mbufs, now owned by us.
        unsafe { out.set_len(len + n) };
        n
    }
}

impl Drop for RxQueue {
    fn drop(&mut self) {
        if let Some(t) = ports()[self.port as usize].rx_taken.get_mut(self.queue as usize) {
            *t = false;
        }
    }
}

/// Exclusive handle on one tx queue. `Send`, not `Sync`.
#[derive(Debug)]
pub struct TxQueue {
    port: u16,
    queue: u16,
    _not_sync: PhantomData<Cell<()>>,
}

impl TxQueue {
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Send a prefix of `pkts`; returns how many were sent. Sent mbufs are removed from
    /// the front of `pkts` (the driver owns them now); unsent ones stay, in order, for
    /// the caller to retry or drop. Never allocates.
    #[inline]
    pub fn tx_burst<const N: usize>(&mut self, pkts: &mut ArrayVec<Mbuf, N>) -> usize {
        let len = pkts.len();
        if len == 0 {
            return 0;
        }
        let want = len.min(u16::MAX as usize);
        let base = pkts.as_mut_ptr() as *mut *mut rte_mbuf;
        // SAFETY: exclusive owner of a configured tx queue (see RxQueue::rx_burst);
        // `base` points at `len` owned mbuf pointers (repr(transparent)).
        let sent = unsafe { dpdk_sys::rvs_eth_tx_burst(self.port, self.queue, base, want as u16) } as usize;
        debug_assert!(sent <= want);
        if sent > 0 {
            // SAFETY: the first `sent` mbufs now belong to the driver: we move the
            // unsent tail to the front (memmove, no drops) and shrink the length, so
            // they are forgotten, not freed. Indices stay within the initialised len.
            unsafe {
                std::ptr::copy(base.add(sent), base, len - sent);
                pkts.set_len(len - sent);
            }
        }
        sent
    }
}

impl Drop for TxQueue {
    fn drop(&mut self) {
        if let Some(t) = ports()[self.port as usize].tx_taken.get_mut(self.queue as usize) {
            *t = false;
        }
    }
}
