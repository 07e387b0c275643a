//! `rte_ring` carrying owned pointers (mbufs between cores, boxed messages).
//!
//! A [`Ring`] is `Send + Sync` and cheap to clone (an `Arc`). With `sp`/`sc` the ring
//! uses DPDK's single-producer / single-consumer paths, which are only sound if at most
//! one thread enqueues (dequeues) at a time; each side is therefore guarded by a flag
//! taken with an atomic swap around the burst (uncontended in correct use: one cheap
//! atomic per burst). A concurrent second producer (consumer) gets 0 instead of
//! corrupting the ring, and a debug build asserts.

use std::ffi::CString;
use std::marker::PhantomData;
use std::os::raw::c_void;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arrayvec::ArrayVec;
use dpdk_sys::rte_ring;

use crate::{eal, Error, Mbuf, Result};

/// A value a [`Ring`] can carry: an owning, non-NULL pointer.
///
/// # Safety
/// `Self` must have the size, alignment and bit validity of a non-NULL `*mut c_void`
/// (e.g. `repr(transparent)` over `NonNull<_>`), so that an array of `Self` can be read
/// and written by DPDK as an array of `void *`; `into_ptr`/`from_ptr` must transfer
/// ownership, and `from_ptr(into_ptr(x))` must give back `x`.
pub unsafe trait RingItem: Send + Sized {
    fn into_ptr(self) -> *mut c_void;
    /// # Safety
    /// `p` must come from `into_ptr` and be used at most once.
    unsafe fn from_ptr(p: *mut c_void) -> Self;
}

// SAFETY: Mbuf is repr(transparent) over NonNull<rte_mbuf>; into_raw/from_raw transfer
// ownership.
unsafe impl RingItem for Mbuf {
    fn into_ptr(self) -> *mut c_void {
        self.into_raw() as *mut c_void
    }
    unsafe fn from_ptr(p: *mut c_void) -> Self {
        // SAFETY: p came from into_ptr, so it is an owned mbuf handed back once.
        unsafe { Mbuf::from_raw(p as *mut dpdk_sys::rte_mbuf) }
    }
}

// SAFETY: Box<T> of a Sized T has the layout of a non-NULL *mut T; into_raw/from_raw
// transfer ownership.
unsafe impl<T: Send> RingItem for Box<T> {
    fn into_ptr(self) -> *mut c_void {
        Box::into_raw(self) as *mut c_void
    }
    unsafe fn from_ptr(p: *mut c_void) -> Self {
        // SAFETY: p came from Box::into_raw of a Box<T>, handed back once.
        unsafe { Box::from_raw(p as *mut T) }
    }
}

struct RingInner<T: RingItem> {
    r: NonNull<rte_ring>,
    name: String,
    sp: bool,
    sc: bool,
    prod_busy: AtomicBool,
    cons_busy: AtomicBool,
    _items: PhantomData<T>,
}

// SAFETY: the ring only carries T: Send values between threads; DPDK's MP/MC paths are
// thread-safe and the SP/SC paths are serialised by prod_busy/cons_busy (see module doc).
unsafe impl<T: RingItem> Send for RingInner<T> {}
// SAFETY: as for Send; all methods take &self and synchronise as described.
unsafe impl<T: RingItem> Sync for RingInner<T> {}

impl<T: RingItem> Drop for RingInner<T> {
    fn drop(&mut self) {
        // Drain: the ring owns whatever is still in it (mbufs go back to their pools).
        let mut buf: ArrayVec<T, 32> = ArrayVec::new();
        loop {
            let n = dequeue_raw(self, &mut buf);
            buf.clear();
            if n == 0 {
                break;
            }
        }
        let mut st = eal::state();
        // SAFETY: last handle (Arc), so no other thread uses the ring; it is empty; the
        // EAL has not been cleaned up since live_objects counts this ring.
        unsafe { dpdk_sys::rte_ring_free(self.r.as_ptr()) };
        st.live_objects -= 1;
    }
}

/// Guard for one side of an SP or SC ring.
fn claim(flag: &AtomicBool, single: bool) -> bool {
    if !single {
        return true;
    }
    let got = !flag.swap(true, Ordering::Acquire);
    debug_assert!(got, "concurrent use of a single-producer/consumer ring side");
    got
}

fn release(flag: &AtomicBool, single: bool) {
    if single {
        flag.store(false, Ordering::Release);
    }
}

fn dequeue_raw<T: RingItem, const N: usize>(inner: &RingInner<T>, out: &mut ArrayVec<T, N>) -> usize {
    let len = out.len();
    let room = (N - len).min(u32::MAX as usize) as u32;
    if room == 0 || !claim(&inner.cons_busy, inner.sc) {
        return 0;
    }
    // SAFETY: the ring is alive; the consumer side is ours (MC ring, or SC claimed);
    // RingItem guarantees T is a pointer-sized owning pointer, so the spare capacity is
    // `room` writable void* slots.
    let n = unsafe {
        let slots = out.as_mut_ptr().add(len) as *mut *mut c_void;
        dpdk_sys::rvs_ring_dequeue_burst(inner.r.as_ptr(), slots, room, std::ptr::null_mut())
    } as usize;
    release(&inner.cons_busy, inner.sc);
    // SAFETY: DPDK wrote n <= room pointers that were enqueued via into_ptr; we own them.
    unsafe { out.set_len(len + n) };
    n
}

/// A DPDK ring of `T` (mbufs, boxed messages).
pub struct Ring<T: RingItem>(Arc<RingInner<T>>);

impl<T: RingItem> Clone for Ring<T> {
    fn clone(&self) -> Self {
        Ring(self.0.clone())
    }
}

impl<T: RingItem> std::fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring").field("name", &self.0.name).field("count", &self.count()).finish()
    }
}

impl<T: RingItem> Ring<T> {
    /// `rte_ring_create` holding up to `count` items (any count: RING_F_EXACT_SZ is used
    /// when it is not a power of two minus one), on any NUMA socket. `sp` / `sc` select
    /// the single-producer / single-consumer paths.
    pub fn create(name: &str, count: u32, sp: bool, sc: bool) -> Result<Self> {
        Self::create_on(name, count, sp, sc, -1)
    }

    /// [`Ring::create`] on NUMA socket `socket` (-1: any).
    pub fn create_on(name: &str, count: u32, sp: bool, sc: bool, socket: i32) -> Result<Self> {
        const OP: &str = "rte_ring_create";
        if name.is_empty() || name.len() >= dpdk_sys::RVS_RING_NAMESIZE as usize {
            return Err(Error::msg_errno(
                OP,
                36,
                format!("name {name:?} must be 1..{} bytes", dpdk_sys::RVS_RING_NAMESIZE - 1),
            ));
        }
        if count == 0 {
            return Err(Error::msg_errno(OP, 22, "count must be > 0"));
        }
        let cname = CString::new(name).map_err(|_| Error::msg_errno(OP, 22, "name contains NUL"))?;
        let (size, mut flags) = if (count as u64 + 1).is_power_of_two() {
            (count + 1, 0) // a plain ring of 2^k slots holds 2^k - 1
        } else {
            (count, dpdk_sys::RING_F_EXACT_SZ)
        };
        if sp {
            flags |= dpdk_sys::RING_F_SP_ENQ;
        }
        if sc {
            flags |= dpdk_sys::RING_F_SC_DEQ;
        }
        let mut st = eal::running(OP)?;
        // SAFETY: EAL running (under the lock); valid C string (copied by DPDK).
        let r = unsafe { dpdk_sys::rte_ring_create(cname.as_ptr(), size, socket, flags) };
        let r = NonNull::new(r).ok_or_else(|| Error::from_rte_errno(OP))?;
        st.live_objects += 1;
        Ok(Ring(Arc::new(RingInner {
            r,
            name: name.to_string(),
            sp,
            sc,
            prod_busy: AtomicBool::new(false),
            cons_busy: AtomicBool::new(false),
            _items: PhantomData,
        })))
    }

    /// The ring's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Enqueue a prefix of `items`; returns how many went in. Enqueued items are removed
    /// from the front of `items`; the rest stay, in order (ring full). Never allocates.
    #[inline]
    pub fn enqueue_burst<const N: usize>(&self, items: &mut ArrayVec<T, N>) -> usize {
        let inner = &*self.0;
        let len = items.len();
        if len == 0 || !claim(&inner.prod_busy, inner.sp) {
            return 0;
        }
        let want = len.min(u32::MAX as usize) as u32;
        let base = items.as_mut_ptr() as *mut *mut c_void;
        // SAFETY: ring alive; producer side is ours (MP, or SP claimed); RingItem makes
        // `items` an array of `len` owning void* pointers.
        let n =
            unsafe { dpdk_sys::rvs_ring_enqueue_burst(inner.r.as_ptr(), base, want, std::ptr::null_mut()) } as usize;
        release(&inner.prod_busy, inner.sp);
        if n > 0 {
            // SAFETY: the first n pointers now belong to the ring: shift the rest to the
            // front (memmove, no drops) and shrink, so they are forgotten, not dropped.
            unsafe {
                std::ptr::copy(base.add(n), base, len - n);
                items.set_len(len - n);
            }
        }
        n
    }

    /// Enqueue one item; gives it back if the ring is full.
    pub fn enqueue(&self, item: T) -> std::result::Result<(), T> {
        let mut one: ArrayVec<T, 1> = ArrayVec::new();
        one.push(item);
        self.enqueue_burst(&mut one);
        match one.pop() {
            None => Ok(()),
            Some(t) => Err(t),
        }
    }

    /// Dequeue into the spare capacity of `out`; returns how many were added.
    #[inline]
    pub fn dequeue_burst<const N: usize>(&self, out: &mut ArrayVec<T, N>) -> usize {
        dequeue_raw(&self.0, out)
    }

    /// Dequeue one item.
    pub fn dequeue(&self) -> Option<T> {
        let mut one: ArrayVec<T, 1> = ArrayVec::new();
        self.dequeue_burst(&mut one);
        one.pop()
    }

    /// Items in the ring.
    pub fn count(&self) -> u32 {
        // SAFETY: ring alive; reads head/tail indices.
        unsafe { dpdk_sys::rvs_ring_count(self.0.r.as_ptr()) }
    }

    /// Free slots in the ring.
    pub fn free_count(&self) -> u32 {
        // SAFETY: ring alive; reads head/tail indices.
        unsafe { dpdk_sys::rvs_ring_free_count(self.0.r.as_ptr()) }
    }
}
