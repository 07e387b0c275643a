//! Open-addressing index from flow keys to slab entries, in cache-line buckets: 16 `u32`
//! slots (8-bit hash tag | direction bit | 23-bit entry index) per 64-byte line, as VPP's
//! lb plugin packs hash tags and values per bucket. A key's home is the first slot of its
//! bucket; linear probing from there keeps a bucket's keys together, so one prefetched
//! line answers a lookup unless its bucket overflowed (rare at <= 70% load). Deletion by
//! backward shift, so no tombstones build up and the index never needs a rehash.
//! 4 bytes per slot, 1.43..2.9 slots per key, up to 2 keys per connection; in huge pages.

use rvs_hint::HugeSlice;

use crate::addr::Tuple;

const EMPTY: u32 = u32::MAX;
const IDX_BITS: u32 = 23;
const IDX_MASK: u32 = (1 << IDX_BITS) - 1;
const DIR_BIT: u32 = 1 << IDX_BITS;
/// Largest slab index an index slot can name.
pub const MAX_ENTRIES: u32 = IDX_MASK;

/// Which key of a connection a slot refers to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum KeyDir {
    In,
    Out,
}

#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Keyed flow hash (folded multiplies, per-table random seed).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlowHasher {
    seed: [u64; 4],
}

impl FlowHasher {
    pub(crate) fn new(seed: [u64; 4]) -> FlowHasher {
        FlowHasher { seed }
    }

    #[inline]
    pub(crate) fn hash(&self, t: &Tuple) -> u64 {
        let s = u128::from_le_bytes(t.src.0);
        let d = u128::from_le_bytes(t.dst.0);
        let p = u64::from(t.proto) | u64::from(t.sport) << 8 | u64::from(t.dport) << 24;
        let h1 = fold(s as u64 ^ self.seed[0], (s >> 64) as u64 ^ 0x243f_6a88_85a3_08d3);
        let h2 = fold(d as u64 ^ self.seed[1], (d >> 64) as u64 ^ 0x1319_8a2e_0370_7344);
        let h3 = fold(p ^ self.seed[2], h1.rotate_left(23) ^ 0xa409_3822_299f_31d0);
        fold(h2 ^ h3, self.seed[3] ^ 0x082e_fa98_ec4e_6c89)
    }
}

/// Slots per bucket (one cache line).
const SLOTS: usize = 16;

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Bucket([u32; SLOTS]);

pub(crate) struct Index {
    buckets: HugeSlice<Bucket>,
    /// Slots - 1 (a power of two minus one).
    mask: usize,
    /// Buckets - 1.
    bucket_mask: usize,
}

impl Index {
    /// Room for `keys` keys at load factor <= 0.7 (0.35..0.7 depending on rounding).
    pub(crate) fn new(keys: usize) -> Index {
        let n = (keys.saturating_mul(10) / 7 + 1).next_power_of_two().max(SLOTS);
        Index { buckets: HugeSlice::new(n / SLOTS, Bucket([EMPTY; SLOTS])), mask: n - 1, bucket_mask: n / SLOTS - 1 }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.buckets.len() * std::mem::size_of::<Bucket>()
    }

    #[inline]
    fn home(&self, h: u64) -> usize {
        (h as usize & self.bucket_mask) * SLOTS
    }

    #[inline]
    fn slot(&self, pos: usize) -> Option<u32> {
        self.buckets.get(pos / SLOTS).map(|b| b.0[pos % SLOTS])
    }

    #[inline]
    fn slot_mut(&mut self, pos: usize) -> Option<&mut u32> {
        self.buckets.get_mut(pos / SLOTS).map(|b| &mut b.0[pos % SLOTS])
    }

    #[inline]
    fn tagged(h: u64, dir: KeyDir, idx: u32) -> u32 {
        let tag = ((h >> 56) as u32) << 24;
        tag | if dir == KeyDir::Out { DIR_BIT } else { 0 } | (idx & IDX_MASK)
    }

    /// Start loading the bucket of hash `h` (stage one of a burst).
    #[inline]
    pub(crate) fn prefetch(&self, h: u64) {
        rvs_hint::prefetch_at(&self.buckets, h as usize & self.bucket_mask);
    }

    /// The entries in `h`'s bucket whose tag matches, either direction (stage two of a
    /// burst: their lines are loaded next). At most `out.len()` are reported.
    #[inline]
    pub(crate) fn candidates(&self, h: u64, out: &mut [u32; 2]) -> usize {
        let want = Self::tagged(h, KeyDir::In, 0) & !(IDX_MASK | DIR_BIT);
        let Some(b) = self.buckets.get(h as usize & self.bucket_mask) else { return 0 };
        let mut n = 0;
        for &s in &b.0 {
            if s == EMPTY {
                break;
            }
            if s & !(IDX_MASK | DIR_BIT) == want {
                if let Some(o) = out.get_mut(n) {
                    *o = s & IDX_MASK;
                    n += 1;
                }
            }
        }
        n
    }

    /// The entry whose `dir` key has hash `h` and satisfies `eq`.
    #[inline]
    pub(crate) fn find(&self, h: u64, dir: KeyDir, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let want = Self::tagged(h, dir, 0) & !IDX_MASK;
        let mut pos = self.home(h);
        for _ in 0..=self.mask {
            let s = self.slot(pos)?;
            if s == EMPTY {
                return None;
            }
            if s & !IDX_MASK == want && eq(s & IDX_MASK) {
                return Some(s & IDX_MASK);
            }
            pos = (pos + 1) & self.mask;
        }
        None
    }

    /// The first entry with hash `h` for which `eq(idx, dir)` holds, in-keys preferred:
    /// one walk answers both of a packet's lookups (its tuple as a client's key and as a
    /// real server's reply key hash alike).
    #[inline]
    pub(crate) fn find_any(&self, h: u64, mut eq: impl FnMut(u32, KeyDir) -> bool) -> Option<(u32, KeyDir)> {
        let want = Self::tagged(h, KeyDir::In, 0) & !(IDX_MASK | DIR_BIT);
        let mut pos = self.home(h);
        let mut out = None;
        for _ in 0..=self.mask {
            let s = self.slot(pos)?;
            if s == EMPTY {
                break;
            }
            if s & !(IDX_MASK | DIR_BIT) == want {
                let d = if s & DIR_BIT != 0 { KeyDir::Out } else { KeyDir::In };
                if (d == KeyDir::In || out.is_none()) && eq(s & IDX_MASK, d) {
                    if d == KeyDir::In {
                        return Some((s & IDX_MASK, d));
                    }
                    out = Some((s & IDX_MASK, d));
                }
            }
            pos = (pos + 1) & self.mask;
        }
        out
    }

    /// Adds a key; the caller guarantees room (capacity fixed at construction).
    #[inline]
    pub(crate) fn insert(&mut self, h: u64, dir: KeyDir, idx: u32) -> bool {
        let mut pos = self.home(h);
        for _ in 0..=self.mask {
            match self.slot_mut(pos) {
                Some(s) if *s == EMPTY => {
                    *s = Self::tagged(h, dir, idx);
                    return true;
                }
                Some(_) => pos = (pos + 1) & self.mask,
                None => return false,
            }
        }
        false
    }

    /// Removes the key (`h`, `dir`, `idx`); `rehash(idx, dir)` recomputes the hash of a
    /// displaced key during the backward shift.
    pub(crate) fn remove(&mut self, h: u64, dir: KeyDir, idx: u32, rehash: impl Fn(u32, KeyDir) -> u64) -> bool {
        let target = Self::tagged(h, dir, idx);
        let mut pos = self.home(h);
        let mut found = false;
        for _ in 0..=self.mask {
            match self.slot(pos) {
                Some(s) if s == target => {
                    found = true;
                    break;
                }
                Some(s) if s != EMPTY => pos = (pos + 1) & self.mask,
                _ => break,
            }
        }
        if !found {
            return false;
        }
        // Backward shift: pull later members of the cluster into the hole when allowed
        // (their home is not cyclically after the hole).
        let mut hole = pos;
        let mut k = pos;
        loop {
            k = (k + 1) & self.mask;
            let s = match self.slot(k) {
                Some(s) if s != EMPTY => s,
                _ => break,
            };
            let d = if s & DIR_BIT != 0 { KeyDir::Out } else { KeyDir::In };
            let home = self.home(rehash(s & IDX_MASK, d));
            if (k.wrapping_sub(home) & self.mask) >= (k.wrapping_sub(hole) & self.mask) {
                if let Some(x) = self.slot_mut(hole) {
                    *x = s;
                }
                hole = k;
            }
        }
        if let Some(x) = self.slot_mut(hole) {
            *x = EMPTY;
        }
        true
    }
}
