//! Packet-buffer pools (`rte_pktmbuf_pool_create`).

use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::Arc;

use arrayvec::ArrayVec;
use dpdk_sys::{rte_mbuf, rte_mempool};

use crate::{eal, Error, Mbuf, Result};

struct PoolInner {
    mp: NonNull<rte_mempool>,
    name: String,
}

// SAFETY: rte_mempool is built for concurrent use: the default ops are multi-producer /
// multi-consumer rings, the per-lcore caches are indexed by the caller's lcore id (one
// thread per EAL lcore), and non-EAL threads (LCORE_ID_ANY) bypass the cache. The
// pointer itself is only freed in Drop, when no handle is left.
unsafe impl Send for PoolInner {}
// SAFETY: see Send; every method takes &self and DPDK synchronises internally.
unsafe impl Sync for PoolInner {}

impl Drop for PoolInner {
    fn drop(&mut self) {
        let mut st = eal::state();
        // SAFETY: mp is a live pool (freed only here); counting is a read-only walk.
        let out = unsafe { dpdk_sys::rte_mempool_in_use_count(self.mp.as_ptr()) };
        if out > 0 || st.phase != eal::Phase::Running {
            // Mbufs still point into this pool (or the EAL is gone): leak it rather than
            // free memory that live Mbufs would later write to. It stays counted in
            // live_objects so the EAL is not torn down under those mbufs either.
            if out > 0 {
                eprintln!("dpdk: mempool {} dropped with {out} mbuf(s) out; leaking it", self.name);
            }
            return;
        }
        // SAFETY: no mbuf is out (in_use == 0), no Mempool handle is left (this is the
        // Arc's last owner) and ports drop their handle only after closing, so nothing
        // references the pool any more. The EAL is running (checked under the lock).
        unsafe { dpdk_sys::rte_mempool_free(self.mp.as_ptr()) };
        st.live_objects -= 1;
    }
}

/// A pool of packet mbufs. Cheap to clone (an `Arc`); `Send + Sync`. The pool is freed
/// when the last handle is dropped, provided every mbuf has come back; otherwise it is
/// leaked (and reported on stderr), because those mbufs still live in its memory.
#[derive(Clone)]
pub struct Mempool(Arc<PoolInner>);

impl std::fmt::Debug for Mempool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mempool")
            .field("name", &self.0.name)
            .field("available", &self.available())
            .field("in_use", &self.in_use())
            .finish()
    }
}

impl Mempool {
    /// `rte_pktmbuf_pool_create(name, n, cache, 0, data_room, socket)`. `data_room`
    /// includes the headroom (use 2048 + 128 = `RTE_MBUF_DEFAULT_BUF_SIZE` for
    /// 1500-byte frames). `socket` -1 means any NUMA socket. `n` is best 2^k - 1.
    pub fn create(name: &str, n: u32, cache: u32, data_room: u16, socket: i32) -> Result<Mempool> {
        const OP: &str = "rte_pktmbuf_pool_create";
        if name.is_empty() || name.len() >= dpdk_sys::RVS_MEMPOOL_NAMESIZE as usize {
            return Err(Error::msg_errno(
                OP,
                36,
                format!("name {name:?} must be 1..{} bytes", dpdk_sys::RVS_MEMPOOL_NAMESIZE - 1),
            ));
        }
        if (data_room as u32) < dpdk_sys::RVS_PKTMBUF_HEADROOM {
            return Err(Error::msg_errno(OP, 22, format!("data_room {data_room} is less than the headroom")));
        }
        let cname = CString::new(name).map_err(|_| Error::msg_errno(OP, 22, "name contains NUL"))?;
        let mut st = eal::running(OP)?;
        // SAFETY: the EAL is running (held under the lock), cname is a valid C string
        // that outlives the call (DPDK copies the name).
        let mp = unsafe { dpdk_sys::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, data_room, socket) };
        let mp = NonNull::new(mp).ok_or_else(|| Error::from_rte_errno(OP))?;
        st.live_objects += 1;
        Ok(Mempool(Arc::new(PoolInner { mp, name: name.to_string() })))
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The raw pool, for FFI. Valid while this handle lives.
    pub fn as_ptr(&self) -> *mut rte_mempool {
        self.0.mp.as_ptr()
    }

    /// One mbuf (reset: no data, default headroom), or `None` if the pool is empty.
    #[inline]
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is alive (we hold a handle) and was created by
        // rte_pktmbuf_pool_create, as rte_pktmbuf_alloc requires; the pool is thread-safe.
        let m = unsafe { dpdk_sys::rvs_pktmbuf_alloc(self.0.mp.as_ptr()) };
        // SAFETY: a non-NULL result is a freshly allocated mbuf that nobody else owns.
        NonNull::new(m).map(|m| unsafe { Mbuf::from_raw(m.as_ptr()) })
    }

    /// Append exactly `n` fresh mbufs to `out`, all or nothing: `false` (and `out`
    /// unchanged) if the pool has fewer than `n` or `out` lacks room for `n`.
    #[inline]
    pub fn alloc_bulk<const N: usize>(&self, out: &mut ArrayVec<Mbuf, N>, n: usize) -> bool {
        if n == 0 {
            return true;
        }
        if n > out.remaining_capacity() || n > u32::MAX as usize {
            return false;
        }
        let len = out.len();
        // SAFETY: Mbuf is repr(transparent) over NonNull<rte_mbuf>, so the spare
        // capacity (len..len+n, within N as checked) is an array of *mut rte_mbuf slots
        // that rte_pktmbuf_alloc_bulk may fill.
        let ret = unsafe {
            let slots = out.as_mut_ptr().add(len) as *mut *mut rte_mbuf;
            dpdk_sys::rvs_pktmbuf_alloc_bulk(self.0.mp.as_ptr(), slots, n as u32)
        };
        if ret != 0 {
            return false;
        }
        // SAFETY: on success the n slots hold n distinct non-NULL mbufs we now own.
        unsafe { out.set_len(len + n) };
        true
    }

    /// Mbufs currently in the pool (per-lcore caches included).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is alive; a read-only walk of its counters.
        unsafe { dpdk_sys::rte_mempool_avail_count(self.0.mp.as_ptr()) }
    }

    /// Mbufs currently allocated out of the pool.
    pub fn in_use(&self) -> u32 {
        // SAFETY: the pool is alive; a read-only walk of its counters.
        unsafe { dpdk_sys::rte_mempool_in_use_count(self.0.mp.as_ptr()) }
    }

    /// Total number of mbufs in the pool.
    pub fn capacity(&self) -> u32 {
        // SAFETY: the pool is alive; `size` is set at creation and never changes.
        unsafe { (*self.0.mp.as_ptr()).size }
    }
}
