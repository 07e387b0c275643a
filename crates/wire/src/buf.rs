//! A mutable packet buffer with headroom, implemented by DPDK's `Mbuf` in the data path
//! and by [`VecBuf`] in tests, so forwarding logic runs unchanged over both.

use crate::ethernet::EthernetFrame;
use crate::{Error, Result};

/// A contiguous packet with room to grow at the front (encapsulation) and back.
///
/// Mirrors the rte_pktmbuf_{prepend,adj,append,trim} family: every operation either
/// succeeds or returns `None`/`false` and leaves the buffer untouched.
pub trait PacketBuf {
    /// The packet bytes.
    fn data(&self) -> &[u8];
    /// The packet bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Grow at the front by `n` bytes; returns the new packet start (first `n` bytes
    /// uninitialised from the caller's point of view). `None` if headroom is short.
    fn prepend(&mut self, n: usize) -> Option<&mut [u8]>;
    /// Drop `n` bytes from the front (decapsulation). `false` if the packet is shorter.
    fn adj(&mut self, n: usize) -> bool;
    /// Grow at the back by `n` bytes; returns the new tail. `None` if tailroom is short.
    fn append(&mut self, n: usize) -> Option<&mut [u8]>;
    /// Drop `n` bytes from the back. `false` if the packet is shorter.
    fn trim(&mut self, n: usize) -> bool;
    /// Bytes available in front of the packet.
    fn headroom(&self) -> usize;
    /// Packet length in bytes.
    fn len(&self) -> usize {
        self.data().len()
    }
    /// True for a zero-length packet.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Start loading the packet's first cache line (its headers) ahead of use: a hint,
    /// no effect on the contents. The staged burst path issues it for a whole burst
    /// before parsing any packet. No-op by default.
    #[inline]
    fn prefetch(&self) {}
}

/// A heap buffer with headroom, for tests and the benchmark generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecBuf {
    storage: Vec<u8>,
    start: usize,
    end: usize,
}

impl VecBuf {
    /// DPDK's default mbuf headroom (RTE_PKTMBUF_HEADROOM).
    pub const DEFAULT_HEADROOM: usize = 128;
    /// DPDK's default data room (RTE_MBUF_DEFAULT_DATAROOM) less the headroom.
    pub const DEFAULT_CAPACITY: usize = 2048;

    /// A copy of `bytes` with the default headroom and tailroom.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self::with_room(bytes, Self::DEFAULT_HEADROOM, Self::DEFAULT_CAPACITY)
    }

    /// A copy of `bytes` with `headroom` bytes in front and room for `capacity` bytes of
    /// packet in total (at least `bytes.len()`).
    pub fn with_room(bytes: &[u8], headroom: usize, capacity: usize) -> Self {
        let capacity = capacity.max(bytes.len());
        let mut storage = vec![0u8; headroom + capacity];
        storage[headroom..headroom + bytes.len()].copy_from_slice(bytes);
        VecBuf { storage, start: headroom, end: headroom + bytes.len() }
    }

    /// Refill with a copy of `bytes` starting `headroom` bytes into the storage, reusing
    /// it (no allocation), so a benchmark can recycle one pool of buffers. `false`, and
    /// the buffer unchanged, when the storage is too small.
    #[must_use]
    pub fn reset_from(&mut self, bytes: &[u8], headroom: usize) -> bool {
        let Some(end) = headroom.checked_add(bytes.len()).filter(|&e| e <= self.storage.len()) else {
            return false;
        };
        self.storage[headroom..end].copy_from_slice(bytes);
        self.start = headroom;
        self.end = end;
        true
    }

    /// The packet bytes as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.data().to_vec()
    }
}

impl PacketBuf for VecBuf {
    fn data(&self) -> &[u8] {
        &self.storage[self.start..self.end]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.end]
    }
    fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        let start = self.start.checked_sub(n)?;
        self.start = start;
        Some(&mut self.storage[start..self.end])
    }
    fn adj(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.start += n;
        true
    }
    fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        let end = self.end.checked_add(n).filter(|&e| e <= self.storage.len())?;
        let old = self.end;
        self.end = end;
        Some(&mut self.storage[old..end])
    }
    fn trim(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.end -= n;
        true
    }
    fn headroom(&self) -> usize {
        self.start
    }
}

/// Open room for an `n`-byte outer header in front of the `inner_len`-byte packet at
/// `l3_offset` (RFC 2003 §3, RFC 2473 §3): trims what follows the inner packet (Ethernet
/// padding), grows the front by `n`, moves the L2 header to the new front and sets its
/// EtherType (the two bytes before L3, when `l3_offset` is at least an Ethernet header)
/// to `ethertype`. Returns the bytes from `l3_offset`: the room, then the inner packet.
/// On error the buffer is unchanged.
pub(crate) fn push_outer_header<B: PacketBuf + ?Sized>(
    buf: &mut B,
    l3_offset: usize,
    inner_len: usize,
    n: usize,
    ethertype: u16,
) -> Result<&mut [u8]> {
    let pad = buf.len().checked_sub(l3_offset + inner_len).ok_or(Error::Truncated)?;
    if buf.headroom() < n || !buf.trim(pad) {
        return Err(Error::Truncated);
    }
    let data = buf.prepend(n).ok_or(Error::Truncated)?;
    data.copy_within(n..n + l3_offset, 0);
    set_l2_ethertype(data, l3_offset, ethertype);
    Ok(&mut data[l3_offset..])
}

/// Undo [`push_outer_header`]: drop the `n`-byte outer header at `l3_offset` of a
/// `total`-byte outer packet (`n` ≤ `total`), trimming what follows it, and set the L2
/// EtherType to `ethertype`. On error the buffer is unchanged.
pub(crate) fn pop_outer_header<B: PacketBuf + ?Sized>(
    buf: &mut B,
    l3_offset: usize,
    n: usize,
    total: usize,
    ethertype: u16,
) -> Result<()> {
    let pad = buf.len().checked_sub(l3_offset + total).ok_or(Error::Truncated)?;
    if n > total || !buf.trim(pad) {
        return Err(Error::Truncated);
    }
    let data = buf.data_mut();
    set_l2_ethertype(data, l3_offset, ethertype);
    data.copy_within(0..l3_offset, n);
    if !buf.adj(n) {
        return Err(Error::Truncated);
    }
    Ok(())
}

fn set_l2_ethertype(data: &mut [u8], l3_offset: usize, ethertype: u16) {
    if l3_offset >= EthernetFrame::<&[u8]>::HEADER_LEN {
        if let Some(t) = data.get_mut(l3_offset - 2..l3_offset) {
            t.copy_from_slice(&ethertype.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepend_adj_append_trim_round_trip() {
        let mut b = VecBuf::with_room(&[1, 2, 3], 4, 8);
        assert!(b.prepend(5).is_none(), "more than the headroom must be refused");
        b.prepend(2).unwrap().copy_from_slice(&[9, 9, 1, 2, 3]);
        assert_eq!(b.data(), &[9, 9, 1, 2, 3]);
        assert_eq!(b.headroom(), 2);
        assert!(b.adj(2));
        assert_eq!(b.data(), &[1, 2, 3]);
        b.append(2).unwrap().copy_from_slice(&[4, 5]);
        assert_eq!(b.data(), &[1, 2, 3, 4, 5]);
        assert!(b.append(6).is_none(), "more than the tailroom must be refused");
        assert!(!b.trim(6));
        assert!(b.trim(2));
        assert_eq!(b.to_vec(), vec![1, 2, 3]);
        assert!(!b.adj(4));
    }

    #[test]
    fn reset_from_refills_in_place() {
        let mut b = VecBuf::with_room(&[1, 2, 3], 4, 8);
        b.prepend(3).unwrap();
        b.append(2).unwrap();
        let at = b.storage.as_ptr();
        assert!(b.reset_from(&[7, 8], 4));
        assert_eq!(b.data(), &[7, 8]);
        assert_eq!(b.headroom(), 4);
        assert_eq!(b.storage.as_ptr(), at, "the storage must be reused, not reallocated");
        // Headroom and tailroom are back: a full prepend and append fit again.
        assert!(b.prepend(4).is_some());
        assert!(b.adj(4));
        assert!(b.append(6).is_some());
        assert!(b.trim(6));
        let before = b.clone();
        assert!(!b.reset_from(&[0; 9], 4), "more than the storage must be refused");
        assert!(!b.reset_from(&[], usize::MAX));
        assert_eq!(b, before, "a refused refill leaves the buffer unchanged");
        assert!(b.reset_from(&[], 12));
        assert!(b.is_empty());
    }
}
