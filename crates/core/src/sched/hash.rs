//! Static hash schedulers: destination hashing (ip_vs_dh.c) and source hashing (ip_vs_sh.c),
//! 256-bucket tables filled at `update`.

use super::{l4_sport, DestView, Scheduler};
use crate::addr::{Addr, Tuple};
use crate::service::{Dest, SchedFlags};

pub const DH_TAB_SIZE: usize = 256;
pub const SH_TAB_SIZE: usize = 256;
const NONE: u16 = u16::MAX;

/// ip_vs_dh_hashkey: `(ntohl(fold) * 2654435761) & mask` (unsigned long arithmetic).
#[inline]
fn dh_hashkey(a: &Addr) -> usize {
    (u64::from(a.fold32()).wrapping_mul(2_654_435_761) & (DH_TAB_SIZE as u64 - 1)) as usize
}

/// hash_32(val, 8) with GOLDEN_RATIO_32.
#[inline]
fn hash_32(val: u32, bits: u32) -> u32 {
    val.wrapping_mul(0x61C8_8647) >> (32 - bits)
}

/// ip_vs_sh_hashkey: `(offset + hash_32(ntohs(port) + ntohl(fold), 8)) & mask`.
#[inline]
fn sh_hashkey(a: &Addr, port: u16, offset: u32) -> usize {
    (offset.wrapping_add(hash_32(u32::from(port).wrapping_add(a.fold32()), 8)) as usize) & (SH_TAB_SIZE - 1)
}

/// Destination hashing on the packet's destination address.
#[derive(Debug)]
pub struct Dh {
    buckets: Box<[u16; DH_TAB_SIZE]>,
}

impl Dh {
    pub fn new() -> Dh {
        Dh { buckets: Box::new([NONE; DH_TAB_SIZE]) }
    }
}

impl Default for Dh {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler for Dh {
    fn name(&self) -> &'static str {
        "dh"
    }
    /// ip_vs_dh_reassign: buckets take the dests in list order, cyclically (unweighted).
    fn update(&mut self, dests: &[Dest]) {
        for (i, b) in self.buckets.iter_mut().enumerate() {
            *b = if dests.is_empty() { NONE } else { (i % dests.len()) as u16 };
        }
    }
    fn pick(&mut self, v: &DestView<'_>, t: &Tuple, _now: u64) -> Option<usize> {
        let d = *self.buckets.get(dh_hashkey(&t.dst))?;
        let d = usize::from(d);
        (d < v.len() && v.usable(d)).then_some(d)
    }
}

/// Source hashing on the client address (and port with sh-port); sh-fallback walks on.
#[derive(Debug)]
pub struct Sh {
    buckets: Box<[u16; SH_TAB_SIZE]>,
    fallback: bool,
    port: bool,
}

impl Sh {
    pub fn new(flags: SchedFlags) -> Sh {
        Sh {
            buckets: Box::new([NONE; SH_TAB_SIZE]),
            fallback: flags.has(SchedFlags::SH_FALLBACK),
            port: flags.has(SchedFlags::SH_PORT),
        }
    }

    #[inline]
    fn at(&self, h: usize) -> Option<usize> {
        self.buckets.get(h).filter(|&&d| d != NONE).map(|&d| usize::from(d))
    }
}

impl Scheduler for Sh {
    fn name(&self) -> &'static str {
        "sh"
    }
    /// ip_vs_sh_reassign: a dest keeps taking buckets until it holds `weight` of them
    /// (a weight-0 dest still takes one, as `++d_count >= 0` in the kernel).
    fn update(&mut self, dests: &[Dest]) {
        let mut p = 0usize;
        let mut count = 0u32;
        for b in self.buckets.iter_mut() {
            if dests.is_empty() {
                *b = NONE;
                continue;
            }
            if p >= dests.len() {
                p = 0;
            }
            *b = p as u16;
            count += 1;
            if count >= dests.get(p).map_or(0, |d| d.weight) {
                p += 1;
                count = 0;
            }
        }
    }
    fn pick(&mut self, v: &DestView<'_>, t: &Tuple, _now: u64) -> Option<usize> {
        let port = if self.port { l4_sport(t) } else { 0 };
        let ok = |d: usize| d < v.len() && v.usable(d);
        let ihash = sh_hashkey(&t.src, port, 0);
        let d = self.at(ihash)?;
        if ok(d) {
            return Some(d);
        }
        if !self.fallback {
            return None;
        }
        // ip_vs_sh_get_fallback: rehash with growing offsets from ihash.
        for offset in 0..SH_TAB_SIZE {
            let roffset = ((offset + ihash) % SH_TAB_SIZE) as u32;
            if let Some(d) = self.at(sh_hashkey(&t.src, port, roffset)).filter(|&d| ok(d)) {
                return Some(d);
            }
        }
        None
    }
}
