//! The fence: rvs's only `unsafe` outside the DPDK crates (as capsule fences its FFI),
//! behind two safe interfaces the data path needs and std does not offer.
//!
//! - [`prefetch`]: a cache hint. It never dereferences (a prefetch cannot fault), so it
//!   is safe for any reference; the staged burst path issues it for index buckets,
//!   connection entries and packet headers before they are read.
//! - [`HugeSlice`]: a fixed-size slice in 2 MiB pages for the connection table and its
//!   index, so 1M random lookups do not each pay a TLB miss and a page walk. From DPDK's
//!   hugepage memory when the process registered it ([`set_hugepage_allocator`]) and
//!   hugepages are reserved, else anonymous memory advised `MADV_HUGEPAGE` (transparent
//!   huge pages), else ordinary pages; [`HugeSlice::backing`] says which.

// The fence the standards allow (CPU hints, and the MADV_HUGEPAGE wrapper issue 11 asks
// for): it cannot forbid `unsafe`, so every block must say why it is sound.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::OnceLock;

/// A huge page: the alignment and rounding of [`HugeSlice`] memory.
pub const HUGE_PAGE: usize = 2 << 20;
const SMALL_PAGE: usize = 4096;

/// Start loading the cache line holding `r` into all cache levels (x86 `prefetcht0`,
/// DPDK's `rte_prefetch0`). A hint only; a no-op on other architectures.
#[inline(always)]
pub fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 never faults and has no architectural effect; the pointer comes
    // from a live reference anyway. SSE is part of the x86_64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>((r as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// Start loading the cache line holding `r` with intent to write (x86 `PREFETCHW`, DPDK's
/// `rte_prefetch0_write`): the line arrives owned, so the stores that follow need no
/// second trip to take it from another core's cache. For lines about to be rewritten
/// (a packet's headers). A hint only; a no-op on other architectures.
#[inline(always)]
pub fn prefetch_write<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHW never faults and has no architectural effect (CPUs without it
    // decode the 0F 0D group as a NOP); it reads no memory the program can observe,
    // touches no stack and leaves the flags; the pointer comes from a live reference.
    unsafe {
        core::arch::asm!("prefetchw [{0}]", in(reg) (r as *const T), options(nostack, preserves_flags, readonly));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// [`prefetch`] of `s[i]`; nothing when `i` is out of bounds.
#[inline(always)]
pub fn prefetch_at<T>(s: &[T], i: usize) {
    if let Some(r) = s.get(i) {
        prefetch(r);
    }
}

/// Where a [`HugeSlice`]'s memory came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Reserved 2 MiB hugepages, through the registered allocator (DPDK's rte_malloc).
    Hugetlb,
    /// Anonymous memory advised MADV_HUGEPAGE: the kernel backs it with transparent huge
    /// pages when it can (`/sys/kernel/mm/transparent_hugepage/enabled` not `never`).
    Thp,
    /// Ordinary 4 KiB pages (the advice was refused).
    Pages,
}

impl fmt::Display for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backing::Hugetlb => "2 MiB hugepages (DPDK)",
            Backing::Thp => "transparent huge pages (MADV_HUGEPAGE)",
            Backing::Pages => "4 KiB pages",
        })
    }
}

/// A source of hugepage memory (DPDK's rte_malloc when the EAL has hugepages).
///
/// # Safety
/// `alloc` must return memory that is valid for reads and writes of `bytes` bytes,
/// aligned to at least 64 bytes, and not used by anything else until `free` is called
/// with the same pointer and size.
pub unsafe trait HugeAlloc: Send + Sync {
    /// `bytes` bytes, or `None`.
    fn alloc(&self, bytes: usize) -> Option<NonNull<u8>>;
    /// Return memory from `alloc`.
    ///
    /// # Safety
    /// `p` and `bytes` are exactly those of one earlier `alloc`, and the memory is no
    /// longer used.
    unsafe fn free(&self, p: NonNull<u8>, bytes: usize);
}

static HUGE: OnceLock<&'static dyn HugeAlloc> = OnceLock::new();

/// Use `a` for every later [`HugeSlice`] (first registration wins; returns whether this
/// one did).
pub fn set_hugepage_allocator(a: &'static dyn HugeAlloc) -> bool {
    HUGE.set(a).is_ok()
}

/// A fixed-length slice of `T` in huge pages, filled at creation. `T: Copy`, so nothing
/// needs dropping and a partly filled slice can never be observed.
pub struct HugeSlice<T: Copy> {
    ptr: NonNull<T>,
    len: usize,
    /// Bytes mapped or allocated (freed with exactly this size).
    bytes: usize,
    backing: Backing,
}

// SAFETY: HugeSlice owns its memory exclusively, like a Box<[T]>.
unsafe impl<T: Copy + Send> Send for HugeSlice<T> {}
// SAFETY: shared access only hands out &[T].
unsafe impl<T: Copy + Sync> Sync for HugeSlice<T> {}

impl<T: Copy> HugeSlice<T> {
    /// `len` copies of `fill`. Aborts (as `Vec` does) when no memory can be had.
    pub fn new(len: usize, fill: T) -> HugeSlice<T> {
        Self::from_fn(len, |_| fill)
    }

    /// `f(0), f(1), ..`.
    pub fn from_fn(len: usize, mut f: impl FnMut(usize) -> T) -> HugeSlice<T> {
        assert!(std::mem::align_of::<T>() <= 64, "HugeSlice aligns to cache lines only");
        let need = std::mem::size_of::<T>().checked_mul(len).expect("HugeSlice size overflow").max(1);
        // Less than half a huge page is not worth one: ordinary pages, rounded to 4 KiB.
        let small = need < HUGE_PAGE / 2;
        let bytes = if small { need.div_ceil(SMALL_PAGE) * SMALL_PAGE } else { need.div_ceil(HUGE_PAGE) * HUGE_PAGE };
        let (raw, backing) = match HUGE.get().filter(|_| !small).and_then(|a| a.alloc(bytes)) {
            Some(p) => (p, Backing::Hugetlb),
            None => map_anonymous(bytes, !small),
        };
        let ptr = raw.cast::<T>();
        for i in 0..len {
            let v = f(i);
            // SAFETY: i < len and the allocation holds len Ts, aligned (64-byte aligned
            // memory, align_of::<T>() <= 64); writing, not assigning, as it is
            // uninitialised. If `f` panics, the slice is never built: Drop does not run
            // and the memory leaks, which is sound.
            unsafe { ptr.as_ptr().add(i).write(v) };
        }
        HugeSlice { ptr, len, bytes, backing }
    }

    pub fn backing(&self) -> Backing {
        self.backing
    }

    /// Bytes of memory held: rounded up to whole huge pages, or to 4 KiB pages for a
    /// slice under half a huge page (not worth one).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// `bytes` of anonymous memory; with `huge` (`bytes` a multiple of [`HUGE_PAGE`]) aligned
/// to a huge page and advised MADV_HUGEPAGE. Aborts when the kernel refuses the mapping.
fn map_anonymous(bytes: usize, huge: bool) -> (NonNull<u8>, Backing) {
    let span = if huge { bytes + HUGE_PAGE } else { bytes };
    // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            span,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        std::alloc::handle_alloc_error(std::alloc::Layout::from_size_align(bytes, HUGE_PAGE).expect("layout"));
    }
    let addr = p as usize;
    if !huge {
        return (NonNull::new(p.cast::<u8>()).expect("mmap returned null"), Backing::Pages);
    }
    let aligned = addr.next_multiple_of(HUGE_PAGE);
    let head = aligned - addr;
    let tail = span - head - bytes;
    // SAFETY: the head and tail ranges lie inside the mapping just made and nothing
    // refers to them: unmapping them leaves exactly [aligned, aligned + bytes).
    unsafe {
        if head > 0 {
            libc::munmap(p, head);
        }
        if tail > 0 {
            libc::munmap((aligned + bytes) as *mut libc::c_void, tail);
        }
    }
    // SAFETY: advice on our own mapping; failure (THP off or unsupported) only means
    // ordinary pages.
    let advised = unsafe { libc::madvise(aligned as *mut libc::c_void, bytes, libc::MADV_HUGEPAGE) } == 0;
    let ptr = NonNull::new(aligned as *mut u8).expect("mmap returned null");
    (ptr, if advised { Backing::Thp } else { Backing::Pages })
}

impl<T: Copy> Drop for HugeSlice<T> {
    fn drop(&mut self) {
        let p = self.ptr.cast::<u8>();
        match self.backing {
            Backing::Hugetlb => {
                if let Some(a) = HUGE.get() {
                    // SAFETY: allocated by the registered allocator with this size, and
                    // this slice was its only user.
                    unsafe { a.free(p, self.bytes) }
                }
            }
            // SAFETY: our own mapping of exactly `bytes`, no longer referenced.
            Backing::Thp | Backing::Pages => unsafe {
                libc::munmap(p.as_ptr().cast(), self.bytes);
            },
        }
    }
}

impl<T: Copy> Deref for HugeSlice<T> {
    type Target = [T];
    #[inline(always)]
    fn deref(&self) -> &[T] {
        // SAFETY: `len` initialised Ts, owned by self, alive as long as the borrow.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> DerefMut for HugeSlice<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in deref, and &mut self makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy + fmt::Debug> fmt::Debug for HugeSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HugeSlice").field("len", &self.len).field("backing", &self.backing).finish()
    }
}
