//! Round-robin (ip_vs_rr.c) and weighted round-robin (ip_vs_wrr.c).

use super::{gcd, DestView, Scheduler};
use crate::addr::Tuple;
use crate::service::Dest;

/// ip_vs_rr.c: continue after the last picked dest, cycling; skip weight 0 / overloaded.
#[derive(Debug, Default)]
pub struct Rr {
    /// Index of the last pick; `None` = list head.
    last: Option<usize>,
}

impl Rr {
    pub fn new() -> Rr {
        Rr { last: None }
    }
}

impl Scheduler for Rr {
    fn name(&self) -> &'static str {
        "rr"
    }
    fn cheap_update(&self) -> bool {
        true
    }
    fn update(&mut self, dests: &[Dest]) {
        if self.last.is_some_and(|l| l >= dests.len()) {
            self.last = None;
        }
    }
    fn pick(&mut self, v: &DestView<'_>, _t: &Tuple, _now: u64) -> Option<usize> {
        let n = v.len();
        let start = self.last.map_or(0, |l| l + 1);
        for k in 0..n {
            let i = (start + k) % n;
            if v.usable(i) {
                self.last = Some(i);
                return Some(i);
            }
        }
        None
    }
}

/// ip_vs_wrr.c: current weight `cw` steps down by the gcd of weights from the max weight;
/// each pass over the list picks dests with weight >= cw.
#[derive(Debug, Default)]
pub struct Wrr {
    /// Current position; `None` = list head.
    cl: Option<usize>,
    cw: i64,
    mw: i64,
    di: i64,
}

impl Wrr {
    pub fn new() -> Wrr {
        Wrr { cl: None, cw: 0, mw: 0, di: 1 }
    }
}

impl Scheduler for Wrr {
    fn name(&self) -> &'static str {
        "wrr"
    }
    /// ip_vs_wrr_dest_changed: restart from the head; keep cw when still in range.
    fn cheap_update(&self) -> bool {
        true
    }
    fn update(&mut self, dests: &[Dest]) {
        let g = dests.iter().filter(|d| d.weight > 0).fold(0, |g, d| gcd(g, d.weight));
        self.di = i64::from(if g == 0 { 1 } else { g });
        self.mw = i64::from(dests.iter().map(|d| d.weight).max().unwrap_or(0));
        self.cl = None;
        if self.cw > self.mw {
            self.cw = 0;
        }
    }
    fn pick(&mut self, v: &DestView<'_>, _t: &Tuple, _now: u64) -> Option<usize> {
        let n = v.len();
        if n == 0 || self.mw <= 0 {
            return None;
        }
        // Every (position, cw) pair at most once: then all dests are overloaded.
        let max_steps = (n + 1) * (self.mw / self.di.max(1) + 2) as usize;
        for _ in 0..max_steps {
            let next = match self.cl {
                None => {
                    self.cw -= self.di;
                    if self.cw <= 0 {
                        self.cw = self.mw;
                    }
                    0
                }
                Some(c) => c + 1,
            };
            if next >= n {
                self.cl = None;
                continue;
            }
            self.cl = Some(next);
            if !v.overloaded(next) && i64::from(v.weight(next)) >= self.cw && v.weight(next) > 0 {
                return Some(next);
            }
        }
        None
    }
}
