//! Rate estimation for `ipvsadm -L --rate`, as IPVS's estimator (ip_vs_est.c): every
//! 2 seconds each counter's increase feeds an exponentially weighted average with
//! weight 1/4, kept in fixed point (rates of packets and connections scaled by 2^10,
//! of bytes by 2^5), and read back rounded.

use std::collections::HashMap;
use std::hash::Hash;

/// Totals of one service or real server at a sampling instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
}

/// Per-second rates as ipvsadm prints them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rates {
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Est {
    last: Totals,
    cps: i64,
    inpps: i64,
    outpps: i64,
    inbps: i64,
    outbps: i64,
}

/// The estimator period, in seconds (IPVS: 2 s).
pub const PERIOD_SECS: u64 = 2;

/// One estimator per key (service or real server).
#[derive(Debug)]
pub struct Estimator<K> {
    est: HashMap<K, Est>,
}

impl<K> Default for Estimator<K> {
    fn default() -> Self {
        Estimator { est: HashMap::new() }
    }
}

fn ewma(avg: &mut i64, delta: u64, shift: u32) {
    // ip_vs_estimation_timer: rate = delta << shift (per 2 s, i.e. per second scaled by
    // 2^(shift+1)); avg += (rate - avg) >> 2.
    let rate = (delta as i64).saturating_mul(1 << shift);
    *avg += (rate - *avg) >> 2;
}

impl<K: Hash + Eq + Clone> Estimator<K> {
    /// Take one sample (call every [`PERIOD_SECS`]). Keys not sampled are forgotten.
    pub fn sample(&mut self, now: impl IntoIterator<Item = (K, Totals)>) {
        let mut next = HashMap::with_capacity(self.est.len());
        for (k, t) in now {
            let mut e = self.est.remove(&k).unwrap_or(Est { last: t, ..Est::default() });
            // Counters that went backwards (a real server re-added) restart the baseline.
            let d = |new: u64, old: u64| new.saturating_sub(old);
            ewma(&mut e.cps, d(t.conns, e.last.conns), 9);
            ewma(&mut e.inpps, d(t.inpkts, e.last.inpkts), 9);
            ewma(&mut e.outpps, d(t.outpkts, e.last.outpkts), 9);
            ewma(&mut e.inbps, d(t.inbytes, e.last.inbytes), 4);
            ewma(&mut e.outbps, d(t.outbytes, e.last.outbytes), 4);
            e.last = t;
            next.insert(k, e);
        }
        self.est = next;
    }

    /// The current rates of `k` (zero if never sampled).
    pub fn rates(&self, k: &K) -> Rates {
        let Some(e) = self.est.get(k) else { return Rates::default() };
        // ip_vs_read_estimator: round the fixed-point values.
        let r = |v: i64, shift: u32, half: i64| ((v.max(0) + half) >> shift) as u64;
        Rates {
            cps: r(e.cps, 10, 0x1ff),
            inpps: r(e.inpps, 10, 0x1ff),
            outpps: r(e.outpps, 10, 0x1ff),
            inbps: r(e.inbps, 5, 0xf),
            outbps: r(e.outbps, 5, 0xf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_to_the_steady_rate_like_ipvs() {
        let mut e = Estimator::default();
        let mut t = Totals::default();
        e.sample([("svc", t)]);
        assert_eq!(e.rates(&"svc"), Rates::default());
        // 100 conn/s, 1000 pkt/s in, 500 out, 1 MB/s in, 64 kB/s out, long enough for the
        // average to settle (after a minute IPVS still shows 999821 B/s here).
        for _ in 0..100 {
            t.conns += 200;
            t.inpkts += 2000;
            t.outpkts += 1000;
            t.inbytes += 2_000_000;
            t.outbytes += 128_000;
            e.sample([("svc", t)]);
        }
        assert_eq!(e.rates(&"svc"), Rates { cps: 100, inpps: 1000, outpps: 500, inbps: 1_000_000, outbps: 64_000 });
    }

    #[test]
    fn first_period_weighs_a_quarter() {
        let mut e = Estimator::default();
        e.sample([(1, Totals::default())]);
        e.sample([(1, Totals { conns: 800, ..Totals::default() })]);
        // 400/s observed, averaged in with weight 1/4.
        assert_eq!(e.rates(&1).cps, 100);
        e.sample([(1, Totals { conns: 800, ..Totals::default() })]);
        assert_eq!(e.rates(&1).cps, 75, "decays by 3/4 when idle");
        e.sample(std::iter::empty());
        assert_eq!(e.rates(&1), Rates::default(), "a deleted service is forgotten");
    }
}
