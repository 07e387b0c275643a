//! Load-based schedulers: lc, wlc, sed, nq, fo, ovf, twos (ip_vs_{lc,wlc,sed,nq,fo,ovf,twos}.c).
//! Ratios are compared by cross-multiplication as the kernel does (`loh * dw > doh * lw`).

use super::{DestView, Scheduler};
use crate::addr::Tuple;
use crate::service::Dest;

/// `loh / lw > doh / dw` without division (ip_vs_wlc.c uses __s64 products). Overheads
/// are < 2^41 and weights <= 65535, so the products fit in u64 (saturating otherwise).
#[inline]
pub(crate) fn worse(loh: u64, lw: u32, doh: u64, dw: u32) -> bool {
    loh.saturating_mul(u64::from(dw)) > doh.saturating_mul(u64::from(lw))
}

/// Kernel pattern: the first usable dest, then every later non-overloaded one that is
/// strictly better by `overhead/weight`. Weight-0 dests never win (`x * 0 > ...` is false).
#[inline]
pub(crate) fn least_weighted(v: &DestView<'_>, overhead: impl Fn(usize) -> u64) -> Option<usize> {
    let first = (0..v.len()).find(|&i| v.usable(i))?;
    let mut least = first;
    let mut loh = overhead(first);
    for i in first + 1..v.len() {
        if v.overloaded(i) {
            continue;
        }
        let doh = overhead(i);
        if worse(loh, v.weight(least), doh, v.weight(i)) {
            least = i;
            loh = doh;
        }
    }
    Some(least)
}

macro_rules! stateless {
    ($t:ident, $name:literal) => {
        impl Scheduler for $t {
            fn name(&self) -> &'static str {
                $name
            }
            fn cheap_update(&self) -> bool {
                true
            }
            fn update(&mut self, _dests: &[Dest]) {}
            fn pick(&mut self, v: &DestView<'_>, _t: &Tuple, _now: u64) -> Option<usize> {
                self.choose(v)
            }
        }
    };
}

/// ip_vs_lc.c: minimum overhead (active*256 + inactive), first wins ties.
#[derive(Debug, Default)]
pub struct Lc;
impl Lc {
    fn choose(&self, v: &DestView<'_>) -> Option<usize> {
        let mut least: Option<(usize, u64)> = None;
        for i in (0..v.len()).filter(|&i| v.usable(i)) {
            let doh = v.overhead(i);
            if least.is_none_or(|(_, loh)| doh < loh) {
                least = Some((i, doh));
            }
        }
        least.map(|(i, _)| i)
    }
}
stateless!(Lc, "lc");

/// ip_vs_wlc.c: minimum overhead/weight.
#[derive(Debug, Default)]
pub struct Wlc;
impl Wlc {
    fn choose(&self, v: &DestView<'_>) -> Option<usize> {
        least_weighted(v, |i| v.overhead(i))
    }
}
stateless!(Wlc, "wlc");

/// ip_vs_sed.c: minimum (active + 1)/weight (inactive conns ignored).
#[derive(Debug, Default)]
pub struct Sed;
impl Sed {
    fn choose(&self, v: &DestView<'_>) -> Option<usize> {
        least_weighted(v, |i| u64::from(v.active(i)) + 1)
    }
}
stateless!(Sed, "sed");

/// ip_vs_nq.c: the first idle (active == 0) dest; otherwise as sed.
#[derive(Debug, Default)]
pub struct Nq;
impl Nq {
    fn choose(&self, v: &DestView<'_>) -> Option<usize> {
        let mut least: Option<(usize, u64)> = None;
        for i in (0..v.len()).filter(|&i| v.usable(i)) {
            if v.active(i) == 0 {
                return Some(i);
            }
            let doh = u64::from(v.active(i)) + 1;
            if least.is_none_or(|(l, loh)| worse(loh, v.weight(l), doh, v.weight(i))) {
                least = Some((i, doh));
            }
        }
        least.map(|(i, _)| i)
    }
}
stateless!(Nq, "nq");

/// ip_vs_fo.c: the highest weight not overloaded (first wins ties).
#[derive(Debug, Default)]
pub struct Fo;
impl Fo {
    fn choose(&self, v: &DestView<'_>) -> Option<usize> {
        let mut best: Option<usize> = None;
        let mut hw = 0;
        for i in 0..v.len() {
            if !v.overloaded(i) && v.weight(i) > hw {
                hw = v.weight(i);
                best = Some(i);
            }
        }
        best
    }
}
stateless!(Fo, "fo");

/// ip_vs_ovf.c: the highest weight among dests whose active conns do not exceed the weight.
#[derive(Debug, Default)]
pub struct Ovf;
impl Ovf {
    fn choose(&self, v: &DestView<'_>) -> Option<usize> {
        let mut best: Option<usize> = None;
        for i in 0..v.len() {
            let w = v.weight(i);
            if v.overloaded(i) || v.active(i) > w || w == 0 {
                continue;
            }
            if best.is_none_or(|h| w > v.weight(h)) {
                best = Some(i);
            }
        }
        best
    }
}
stateless!(Ovf, "ovf");

/// ip_vs_twos.c: two weighted-random candidates; the one with less overhead/weight.
#[derive(Debug)]
pub struct Twos {
    rng: u64,
}

impl Twos {
    pub fn new(seed: u64) -> Twos {
        Twos { rng: seed | 1 }
    }
    #[inline]
    fn next(&mut self) -> u32 {
        // xorshift64*: prandom_u32 stand-in, no syscall.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
}

impl Scheduler for Twos {
    fn name(&self) -> &'static str {
        "twos"
    }
    fn cheap_update(&self) -> bool {
        true
    }
    fn update(&mut self, _dests: &[Dest]) {}
    fn pick(&mut self, v: &DestView<'_>, _t: &Tuple, _now: u64) -> Option<usize> {
        let total: u64 = (0..v.len()).filter(|&i| v.usable(i)).map(|i| u64::from(v.weight(i))).sum();
        if total == 0 {
            return None;
        }
        // Random weights in [0, total] as the kernel (total_weight += 1).
        let m = total + 1;
        let mut r1 = (u64::from(self.next()) % m) as i64;
        let mut r2 = (u64::from(self.next()) % m) as i64;
        let (mut c1, mut c2): (Option<usize>, Option<usize>) = (None, None);
        for i in (0..v.len()).filter(|&i| v.usable(i)) {
            let w = i64::from(v.weight(i));
            r1 -= w;
            r2 -= w;
            if r1 <= 0 && c1.is_none() {
                c1 = Some(i);
            }
            if r2 <= 0 && c2.is_none() {
                c2 = Some(i);
            }
            if c1.is_some() && c2.is_some() {
                break;
            }
        }
        let c1 = c1?;
        match c2 {
            Some(c2) if worse(v.overhead(c1), v.weight(c1), v.overhead(c2), v.weight(c2)) => Some(c2),
            _ => Some(c1),
        }
    }
}
