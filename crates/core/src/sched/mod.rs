//! Schedulers with kernel IPVS semantics (net/netfilter/ipvs/ip_vs_*.c).
//!
//! One instance per (service, core): `update` rebuilds state when the service's dests
//! change (may allocate); `pick` allocates nothing and returns an index into the dests of
//! the [`DestView`]. Every scheduler skips weight-0 (quiescent) and overloaded dests.

mod hash;
mod lblc;
mod lc;
mod load;
mod mh;
mod rr;
mod set;

use std::fmt;

use crate::addr::Tuple;
use crate::service::{Dest, SchedFlags};

pub use hash::{Dh, Sh, DH_TAB_SIZE, SH_TAB_SIZE};
pub use lblc::{Lblc, Lblcr, LBLC_CACHE_SIZE, LBLC_ENTRY_TIMEOUT_MS, LBLC_EXPIRATION_MS};
pub use lc::{Fo, Lc, Nq, Ovf, Sed, Twos, Wlc};
pub use load::{DestCounters, DestLoad, DestLoadReader};
pub use mh::{Mh, MH_PRIMES, MH_TAB_SIZE};
pub use rr::{Rr, Wrr};
pub use set::{changed, Prebuilt, SchedSet};

/// Every scheduler name, as ipvsadm's `-s` accepts them.
pub const NAMES: &[&str] =
    &["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"];

/// The static name for `name`, if it is a known scheduler.
pub fn canonical_name(name: &str) -> Option<&'static str> {
    NAMES.iter().copied().find(|n| *n == name)
}

/// The dests of one service with this core's live counters.
#[derive(Clone, Copy)]
pub struct DestView<'a> {
    pub dests: &'a [Dest],
    pub load: &'a DestLoad,
}

impl<'a> DestView<'a> {
    pub fn new(dests: &'a [Dest], load: &'a DestLoad) -> DestView<'a> {
        DestView { dests, load }
    }
    pub fn len(&self) -> usize {
        self.dests.len()
    }
    pub fn is_empty(&self) -> bool {
        self.dests.is_empty()
    }
    #[inline]
    pub fn weight(&self, i: usize) -> u32 {
        self.dests.get(i).map_or(0, |d| d.weight)
    }
    #[inline]
    pub fn active(&self, i: usize) -> u32 {
        self.dests.get(i).map_or(0, |d| self.load.conns(d.id).0)
    }
    #[inline]
    pub fn inactive(&self, i: usize) -> u32 {
        self.dests.get(i).map_or(0, |d| self.load.conns(d.id).1)
    }
    /// IP_VS_DEST_F_OVERLOAD on this core.
    #[inline]
    pub fn overloaded(&self, i: usize) -> bool {
        self.dests.get(i).is_some_and(|d| self.load.overloaded(d.id))
    }
    /// ip_vs_dest_conn_overhead: active * 256 + inactive.
    #[inline]
    pub fn overhead(&self, i: usize) -> u64 {
        let (a, n) = self.dests.get(i).map_or((0, 0), |d| self.load.conns(d.id));
        (u64::from(a) << 8) + u64::from(n)
    }
    /// Weight > 0 and not overloaded (the test every scheduler applies).
    #[inline]
    pub fn usable(&self, i: usize) -> bool {
        self.weight(i) > 0 && !self.overloaded(i)
    }
}

/// A scheduling algorithm's per-core state.
pub trait Scheduler: Send {
    fn name(&self) -> &'static str;
    /// Rebuilds tables after the service's dests changed (may allocate).
    fn update(&mut self, dests: &[Dest]);
    /// `update` is O(dests) with no table to rebuild, so a worker may run it when it
    /// adopts a snapshot and keep the instance's state (rr/wrr position, as IPVS keeps
    /// sched_data across a dest edit). Table schedulers come prebuilt instead.
    fn cheap_update(&self) -> bool {
        false
    }
    /// Chooses a dest for a new connection `t` (client -> VIP); no allocation.
    fn pick(&mut self, v: &DestView<'_>, t: &Tuple, now_ms: u64) -> Option<usize>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownScheduler(pub String);

impl fmt::Display for UnknownScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scheduler not found: {}", self.0)
    }
}

impl std::error::Error for UnknownScheduler {}

/// Builds the scheduler `name` for a service with `flags` and `dests`.
pub fn build(name: &str, flags: SchedFlags, dests: &[Dest]) -> Result<Box<dyn Scheduler>, UnknownScheduler> {
    let mut s: Box<dyn Scheduler> = match name {
        "rr" => Box::new(Rr::new()),
        "wrr" => Box::new(Wrr::new()),
        "lc" => Box::new(Lc),
        "wlc" => Box::new(Wlc),
        "lblc" => Box::new(Lblc::new(LBLC_CACHE_SIZE)),
        "lblcr" => Box::new(Lblcr::new(LBLC_CACHE_SIZE)),
        "dh" => Box::new(Dh::new()),
        "sh" => Box::new(Sh::new(flags)),
        "sed" => Box::new(Sed),
        "nq" => Box::new(Nq),
        "fo" => Box::new(Fo),
        "ovf" => Box::new(Ovf),
        "mh" => Box::new(Mh::new(flags, MH_TAB_SIZE)),
        "twos" => {
            use std::hash::BuildHasher;
            Box::new(Twos::new(std::collections::hash_map::RandomState::new().hash_one(0x9e37_79b9u32)))
        }
        _ => return Err(UnknownScheduler(name.to_string())),
    };
    s.update(dests);
    Ok(s)
}

/// Greatest common divisor (ip_vs_wrr_gcd_weight / ip_vs_mh_gcd_weight helper).
pub(crate) fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

/// Source port for sh-port/mh-port: only TCP, UDP and SCTP carry ports.
pub(crate) fn l4_sport(t: &Tuple) -> u16 {
    match t.proto {
        6 | 17 | 132 => t.sport,
        _ => 0,
    }
}
