//! Packet capture (`rvsadm --capture`): the next N frames of a port or of a virtual
//! service, as received (before any rewrite) and as transmitted (after it).
//!
//! The control thread builds one [`Capture`] per request and hands it to every worker
//! (`WorkerCtl::Capture`, served at the worker's tick). The sink is bounded and
//! preallocated when armed: `slots` buffers of `snaplen` bytes circulate between a free
//! queue and a filled queue (both lock-free, fixed capacity), so a worker copies a
//! matching frame into a buffer it pops and pushes it back filled, allocating nothing;
//! the control thread drains filled buffers into the file and returns them. A frame that
//! finds no free buffer is counted as lost, never waited for.
//!
//! "In" is each rx burst as the NIC gave it, on the worker that polled it (a frame
//! redirected to its connection's owner is not taken again there); "Out" is every frame
//! handed to a port's tx buffer, on whichever worker sends it (the kernel twins' frames
//! too). Frames dropped, or passed up to a kernel twin, appear only as received.
//!
//! Cost: off, a worker holds no capture and tests one `Option` per rx burst and per
//! transmitted frame. On, one relaxed load per burst/frame (still armed?), the filter
//! (a port compare, or a header parse for a service) and, for a match, one atomic add
//! and a copy of at most `snaplen` bytes. Exactly `count` frames are taken across all
//! workers; the capture then disarms itself, and the workers drop it at their tick.

mod filter;

pub use filter::{Filter, ServiceMatch};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crossbeam::queue::ArrayQueue;

/// Most frames one capture takes.
pub const MAX_COUNT: u64 = 100_000;
/// Snap length unless asked (an mbuf's data room: a whole frame without jumbo).
pub const DEFAULT_SNAPLEN: u32 = 2048;
pub const MAX_SNAPLEN: u32 = 65_535;
/// Buffers in flight at most, and the memory they may take in all.
pub const MAX_SLOTS: usize = 4096;
pub const MAX_SINK_BYTES: usize = 64 << 20;

/// Where a frame was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// As received, before the balancer looked at it.
    In,
    /// As transmitted, after any rewrite.
    Out,
}

/// One captured frame.
#[derive(Debug)]
pub struct Frame {
    pub buf: Box<[u8]>,
    /// Bytes of `buf` that hold the frame (at most the snap length).
    pub caplen: u32,
    /// The frame's length on the wire.
    pub len: u32,
    pub port: u16,
    pub stage: Stage,
    pub core: u8,
    /// Wall-clock time, ns since the Unix epoch (the worker's TSC, offset once).
    pub ts_ns: u64,
}

/// A bounded capture shared by the workers and the control thread.
pub struct Capture {
    filter: Filter,
    count: u64,
    armed: AtomicBool,
    /// Frames given a buffer (may pass `count` by a few: those are handed back).
    claimed: AtomicU64,
    /// Frames in the filled queue, in all (the control thread waits for `count`).
    filled: AtomicU64,
    lost: AtomicU64,
    free: ArrayQueue<Box<[u8]>>,
    full: ArrayQueue<Frame>,
}

impl Capture {
    /// A capture of `count` frames (1..=[`MAX_COUNT`]) of at most `snaplen` bytes each,
    /// with its buffers allocated now.
    pub fn new(filter: Filter, count: u64, snaplen: u32) -> Capture {
        let count = count.clamp(1, MAX_COUNT);
        let snaplen = snaplen.clamp(64, MAX_SNAPLEN) as usize;
        let slots = (MAX_SINK_BYTES / snaplen).min(MAX_SLOTS).min(count as usize).max(1);
        let free = ArrayQueue::new(slots);
        for _ in 0..slots {
            let _ = free.push(vec![0u8; snaplen].into_boxed_slice());
        }
        Capture {
            filter,
            count,
            armed: AtomicBool::new(true),
            claimed: AtomicU64::new(0),
            filled: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            free,
            full: ArrayQueue::new(slots),
        }
    }

    #[inline]
    pub fn armed(&self) -> bool {
        self.armed.load(Relaxed)
    }

    pub fn disarm(&self) {
        self.armed.store(false, Relaxed);
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Offer a frame seen on `port`; `clock` (ns) is read only for a frame taken.
    #[inline]
    pub fn offer(&self, port: u16, stage: Stage, core: u8, frame: &[u8], clock: impl FnOnce() -> u64) {
        if !self.armed() || !self.filter.matches(port, frame) {
            return;
        }
        let Some(mut buf) = self.free.pop() else {
            // All taken by the last frames of a finished capture is no loss.
            if self.claimed.load(Relaxed) < self.count {
                self.lost.fetch_add(1, Relaxed);
            }
            return;
        };
        let n = self.claimed.fetch_add(1, Relaxed);
        if n >= self.count {
            // Another worker took the last one meanwhile.
            let _ = self.free.push(buf);
            return;
        }
        if n + 1 == self.count {
            self.disarm();
        }
        let caplen = frame.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..caplen), frame.get(..caplen)) {
            d.copy_from_slice(s);
        }
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let f = Frame { buf, caplen: caplen as u32, len, port, stage, core, ts_ns: clock() };
        // As many filled slots as buffers: never full, but never block either.
        if self.full.push(f).is_err() {
            self.lost.fetch_add(1, Relaxed);
        }
        self.filled.fetch_add(1, Relaxed);
    }

    /// The next frame captured (control thread); give its buffer back with [`Self::recycle`].
    pub fn pop(&self) -> Option<Frame> {
        self.full.pop()
    }

    pub fn recycle(&self, buf: Box<[u8]>) {
        let _ = self.free.push(buf);
    }

    /// Whether all `count` frames are in the filled queue (or were lost there).
    pub fn complete(&self) -> bool {
        self.filled.load(Relaxed) >= self.count
    }

    /// Matching frames that found no free buffer.
    pub fn lost(&self) -> u64 {
        self.lost.load(Relaxed)
    }

    /// Buffers allocated (frames in flight at most).
    pub fn slots(&self) -> usize {
        self.free.capacity()
    }
}

#[cfg(test)]
mod tests;
