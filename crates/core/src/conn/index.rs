//! Open-addressing index from flow keys to slab entries: linear probing over `u32` slots
//! (8-bit hash tag | direction bit | 23-bit entry index), at most 70% full, deletion by
//! backward shift so no tombstones build up and the table never needs a rehash or growth.
//! 4 bytes per slot, 1.43..2.9 slots per key, up to 2 keys per connection.

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

#[derive(Debug)]
pub(crate) struct Index {
    slots: Vec<u32>,
    mask: usize,
}

impl Index {
    /// Room for `keys` keys at load factor <= 0.7 (0.35..0.7 depending on rounding).
    pub(crate) fn new(keys: usize) -> Index {
        let n = (keys.saturating_mul(10) / 7 + 1).next_power_of_two().max(16);
        Index { slots: vec![EMPTY; n], mask: n - 1 }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.len() * 4
    }

    #[inline]
    fn tagged(h: u64, dir: KeyDir, idx: u32) -> u32 {
        let tag = ((h >> 56) as u32) << 24;
        tag | if dir == KeyDir::Out { DIR_BIT } else { 0 } | (idx & IDX_MASK)
    }

    /// The entry index in the home slot of `h` when its tag matches (a load to warm the
    /// cache lines a following `find` needs; batch lookups issue these back to back).
    #[inline]
    pub(crate) fn home_candidate(&self, h: u64, dir: KeyDir) -> Option<u32> {
        let want = Self::tagged(h, dir, 0) & !IDX_MASK;
        let s = *self.slots.get(h as usize & self.mask)?;
        (s != EMPTY && s & !IDX_MASK == want).then_some(s & IDX_MASK)
    }

    /// The entry whose `dir` key has hash `h` and satisfies `eq`.
    #[inline]
    pub(crate) fn find(&self, h: u64, dir: KeyDir, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let want = Self::tagged(h, dir, 0) & !IDX_MASK;
        let mut pos = h as usize & self.mask;
        for _ in 0..self.slots.len() {
            let s = *self.slots.get(pos)?;
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

    /// Adds a key; the caller guarantees room (capacity fixed at construction).
    #[inline]
    pub(crate) fn insert(&mut self, h: u64, dir: KeyDir, idx: u32) -> bool {
        let mut pos = h as usize & self.mask;
        for _ in 0..self.slots.len() {
            match self.slots.get_mut(pos) {
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
        let mut pos = h as usize & self.mask;
        let mut found = false;
        for _ in 0..self.slots.len() {
            match self.slots.get(pos) {
                Some(&s) if s == target => {
                    found = true;
                    break;
                }
                Some(&s) if s != EMPTY => pos = (pos + 1) & self.mask,
                _ => break,
            }
        }
        if !found {
            return false;
        }
        // Backward shift: pull later members of the cluster into the hole when allowed.
        let mut hole = pos;
        let mut k = pos;
        loop {
            k = (k + 1) & self.mask;
            let s = match self.slots.get(k) {
                Some(&s) if s != EMPTY => s,
                _ => break,
            };
            let d = if s & DIR_BIT != 0 { KeyDir::Out } else { KeyDir::In };
            let home = rehash(s & IDX_MASK, d) as usize & self.mask;
            if (k.wrapping_sub(home) & self.mask) >= (k.wrapping_sub(hole) & self.mask) {
                if let Some(x) = self.slots.get_mut(hole) {
                    *x = s;
                }
                hole = k;
            }
        }
        if let Some(x) = self.slots.get_mut(hole) {
            *x = EMPTY;
        }
        true
    }
}
