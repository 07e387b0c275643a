//! Owning packet buffers.
//!
//! An [`Mbuf`] is one `rte_mbuf` owned by Rust: it frees itself (`rte_pktmbuf_free`) on
//! drop. rvs configures ports without scatter, so every packet is a single segment;
//! [`Mbuf::data`] and the [`PacketBuf`] methods act on the first (only) segment.

use std::ptr::NonNull;

use arrayvec::ArrayVec;
use dpdk_sys::rte_mbuf;
use wire::PacketBuf;

/// Packets per rx/tx burst.
pub const BURST: usize = 32;
/// A burst of owned mbufs, contiguous `*mut rte_mbuf` as DPDK's burst calls want them.
pub type Burst = ArrayVec<Mbuf, BURST>;

/// An owned packet buffer (`struct rte_mbuf *`). `repr(transparent)`, so a slice of
/// `Mbuf` is an array of `rte_mbuf` pointers.
#[repr(transparent)]
pub struct Mbuf(NonNull<rte_mbuf>);

// SAFETY: an Mbuf is the unique owner of its rte_mbuf; moving it to another thread moves
// that ownership. Freeing from any thread is allowed (mempools are thread-safe).
unsafe impl Send for Mbuf {}
// SAFETY: &Mbuf only permits reads of the mbuf; writes need &mut.
unsafe impl Sync for Mbuf {}

impl std::fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mbuf").field("ptr", &self.0).field("len", &self.len()).field("port", &self.port()).finish()
    }
}

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own the mbuf (see from_raw's contract) and it is not used again.
        unsafe { dpdk_sys::rvs_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl Mbuf {
    /// Take ownership of a raw mbuf.
    ///
    /// # Safety
    /// `m` must be a valid, non-NULL mbuf from a pktmbuf pool that nobody else owns or
    /// will free, whose data nobody else can reach (a direct mbuf with refcnt 1, as
    /// `rte_pktmbuf_alloc` and rx bursts produce; not a clone or an indirect mbuf).
    /// Single segment expected (see the module docs).
    #[inline]
    pub unsafe fn from_raw(m: *mut rte_mbuf) -> Mbuf {
        debug_assert!(!m.is_null());
        // SAFETY: the caller guarantees m is non-NULL.
        Mbuf(unsafe { NonNull::new_unchecked(m) })
    }

    /// Give up ownership; the caller must free or hand over the returned mbuf.
    #[inline]
    pub fn into_raw(self) -> *mut rte_mbuf {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }

    /// The raw pointer, still owned by `self`.
    #[inline]
    pub fn as_ptr(&self) -> *mut rte_mbuf {
        self.0.as_ptr()
    }

    #[inline]
    fn raw(&self) -> &rte_mbuf {
        // SAFETY: we own a valid mbuf; a shared borrow of self allows reads only.
        unsafe { self.0.as_ref() }
    }

    /// Bytes of the first segment (`rte_pktmbuf_mtod`, `data_len` long).
    #[inline]
    pub fn data(&self) -> &[u8] {
        let m = self.raw();
        // SAFETY: buf_addr + data_off .. + data_len lies inside the mbuf's data room
        // (DPDK's invariant for every mbuf, kept by the rte_pktmbuf_* calls we use);
        // the memory is initialised (zeroed pool memory or written packet bytes) and
        // exclusively owned by this mbuf, borrowed immutably with self.
        unsafe {
            let p = (m.buf_addr as *const u8).add(m.data_off as usize);
            std::slice::from_raw_parts(p, m.data_len as usize)
        }
    }

    /// Bytes of the first segment, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let m = self.raw();
        let (base, off, len) = (m.buf_addr as *mut u8, m.data_off as usize, m.data_len as usize);
        // SAFETY: as in data(); &mut self makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(base.add(off), len) }
    }

    /// Length of the first segment (`data_len`), i.e. `data().len()`.
    #[inline]
    pub fn len(&self) -> usize {
        self.raw().data_len as usize
    }

    /// True if the packet has no bytes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total packet length over all segments (`pkt_len`).
    #[inline]
    pub fn pkt_len(&self) -> u32 {
        self.raw().pkt_len
    }

    /// Number of segments (1 in rvs).
    #[inline]
    pub fn nb_segs(&self) -> u16 {
        self.raw().nb_segs
    }

    /// Input port id set by rx.
    #[inline]
    pub fn port(&self) -> u16 {
        self.raw().port
    }

    /// Set the port id field.
    #[inline]
    pub fn set_port(&mut self, port: u16) {
        // SAFETY: exclusive owner via &mut self; writing a plain u16 field.
        unsafe { (*self.0.as_ptr()).port = port }
    }

    /// The NIC's RSS hash, if the driver set one (`RTE_MBUF_F_RX_RSS_HASH`).
    #[inline]
    pub fn rss_hash(&self) -> Option<u32> {
        if self.ol_flags() & dpdk_sys::RVS_MBUF_F_RX_RSS_HASH != 0 {
            // SAFETY: valid owned mbuf; the shim reads m->hash.rss.
            Some(unsafe { dpdk_sys::rvs_mbuf_rss_hash(self.0.as_ptr()) })
        } else {
            None
        }
    }

    /// Offload flags (`ol_flags`).
    #[inline]
    pub fn ol_flags(&self) -> u64 {
        self.raw().ol_flags
    }

    /// Replace the offload flags.
    #[inline]
    pub fn set_ol_flags(&mut self, flags: u64) {
        // SAFETY: exclusive owner via &mut self; writing a plain u64 field.
        unsafe { (*self.0.as_ptr()).ol_flags = flags }
    }

    /// Free bytes behind the packet (`rte_pktmbuf_tailroom`).
    #[inline]
    pub fn tailroom(&self) -> usize {
        // SAFETY: valid owned mbuf; the shim only reads lengths.
        unsafe { dpdk_sys::rvs_pktmbuf_tailroom(self.0.as_ptr()) as usize }
    }

    /// Replace the packet with `bytes` (keeping the headroom). `false` if it does not fit.
    pub fn set_data(&mut self, bytes: &[u8]) -> bool {
        let cur = self.len();
        if bytes.len() > cur + self.tailroom() {
            return false;
        }
        if bytes.len() > cur {
            self.append(bytes.len() - cur);
        } else {
            self.trim(cur - bytes.len());
        }
        self.data_mut().copy_from_slice(bytes);
        true
    }
}

impl PacketBuf for Mbuf {
    #[inline]
    fn data(&self) -> &[u8] {
        Mbuf::data(self)
    }
    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        Mbuf::data_mut(self)
    }
    #[inline]
    fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        let n = u16::try_from(n).ok()?;
        // SAFETY: owned single-segment mbuf; rte_pktmbuf_prepend checks the headroom
        // and changes nothing (returns NULL) if it is short.
        let p = unsafe { dpdk_sys::rvs_pktmbuf_prepend(self.0.as_ptr(), n) };
        if p.is_null() {
            return None;
        }
        Some(self.data_mut())
    }
    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        let Ok(n) = u16::try_from(n) else { return false };
        // SAFETY: owned mbuf; rte_pktmbuf_adj refuses (NULL) n > data_len.
        !unsafe { dpdk_sys::rvs_pktmbuf_adj(self.0.as_ptr(), n) }.is_null()
    }
    #[inline]
    fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        let n16 = u16::try_from(n).ok()?;
        if self.nb_segs() != 1 {
            return None; // the returned tail would not be in the first segment
        }
        // SAFETY: owned single-segment mbuf; rte_pktmbuf_append checks the tailroom of
        // the last (only) segment and changes nothing (NULL) if it is short.
        let p = unsafe { dpdk_sys::rvs_pktmbuf_append(self.0.as_ptr(), n16) };
        if p.is_null() {
            return None;
        }
        let d = self.data_mut();
        let old = d.len() - n;
        Some(&mut d[old..])
    }
    #[inline]
    fn trim(&mut self, n: usize) -> bool {
        let Ok(n) = u16::try_from(n) else { return false };
        // SAFETY: owned single-segment mbuf; rte_pktmbuf_trim refuses (-1) n > data_len.
        unsafe { dpdk_sys::rvs_pktmbuf_trim(self.0.as_ptr(), n) == 0 }
    }
    #[inline]
    fn headroom(&self) -> usize {
        self.raw().data_off as usize
    }
    #[inline]
    fn len(&self) -> usize {
        Mbuf::len(self)
    }
    #[inline]
    fn prefetch(&self) {
        // rte_prefetch0_write(rte_pktmbuf_mtod(m)): the headers' line, owned, since
        // nearly every packet's headers are rewritten (NAT, the SYN proxy's answer).
        if let Some(b) = Mbuf::data(self).first() {
            rvs_hint::prefetch_write(b);
        }
    }
}

/// Free every mbuf in `burst` with one `rte_pktmbuf_free_bulk` call (cheaper than
/// dropping them one by one, which is what `burst.clear()` does).
#[inline]
pub fn free_burst<const N: usize>(burst: &mut ArrayVec<Mbuf, N>) {
    let len = burst.len();
    if len == 0 {
        return;
    }
    // SAFETY: the burst owns `len` valid mbufs, laid out as `*mut rte_mbuf`
    // (repr(transparent)). Setting the length to 0 first forgets them on the Rust side,
    // so ownership passes to rte_pktmbuf_free_bulk, which frees each exactly once.
    unsafe {
        burst.set_len(0);
        dpdk_sys::rte_pktmbuf_free_bulk(burst.as_mut_ptr() as *mut *mut rte_mbuf, len as u32);
    }
}
