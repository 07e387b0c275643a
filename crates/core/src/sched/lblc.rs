//! Locality-based least-connection (ip_vs_lblc.c) and its replicated variant
//! (ip_vs_lblcr.c): a cache keyed by the packet's destination address maps to a dest
//! (lblc) or a set of dests (lblcr).
//!
//! The kernel's caches are chained hash tables that grow with kmalloc and are trimmed by a
//! periodic timer. Here the cache is preallocated and 4-way set-associative: a miss takes
//! an empty way or the least recently used one, so `pick` never allocates. Entries unused
//! for `expiration` (sysctl lblc_expiration / lblcr_expiration, 24 h) are misses.

use super::lc::{least_weighted, worse};
use super::{DestView, Scheduler};
use crate::addr::{Addr, Tuple};
use crate::service::{Dest, DestId};

pub const LBLC_CACHE_SIZE: usize = 16384;
/// DEFAULT_EXPIRATION (24 h) in ms.
pub const LBLC_EXPIRATION_MS: u64 = 24 * 60 * 60 * 1000;
/// ENTRY_TIMEOUT: 60 s, the age after which lblcr shrinks a set.
pub const LBLC_ENTRY_TIMEOUT_MS: u64 = 60 * 1000;
const WAYS: usize = 4;
/// Max members of an lblcr set (the kernel's list is unbounded).
pub const LBLCR_SET_MAX: usize = 8;
const NONE: u16 = u16::MAX;

#[derive(Clone, Copy, Debug)]
struct Slot<V> {
    addr: Addr,
    lastuse: u64,
    used: bool,
    v: V,
}

#[derive(Debug)]
struct Cache<V> {
    slots: Vec<Slot<V>>,
    sets: usize,
    expiration: u64,
}

impl<V: Copy> Cache<V> {
    fn new(size: usize, empty: V) -> Self {
        let sets = (size / WAYS).max(1);
        let slot = Slot { addr: Addr::UNSPECIFIED, lastuse: 0, used: false, v: empty };
        Cache { slots: vec![slot; sets * WAYS], sets, expiration: LBLC_EXPIRATION_MS }
    }

    #[inline]
    fn set_of(&self, a: &Addr) -> usize {
        let h = u64::from(a.fold32()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((h >> 32) as usize % self.sets) * WAYS
    }

    /// The live entry for `a`, touched (lastuse = now).
    fn get(&mut self, a: &Addr, now: u64) -> Option<&mut Slot<V>> {
        let base = self.set_of(a);
        let exp = self.expiration;
        let s = self.slots.get_mut(base..base + WAYS)?.iter_mut().find(|s| s.used && s.addr == *a)?;
        if now.saturating_sub(s.lastuse) > exp {
            s.used = false;
            return None;
        }
        s.lastuse = now;
        Some(s)
    }

    /// A slot for `a`: an empty way or the least recently used one.
    fn insert(&mut self, a: &Addr, now: u64, v: V) {
        let base = self.set_of(a);
        if let Some(ways) = self.slots.get_mut(base..base + WAYS) {
            let victim = ways.iter_mut().min_by_key(|s| if s.used { s.lastuse.saturating_add(1) } else { 0 });
            if let Some(s) = victim {
                *s = Slot { addr: *a, lastuse: now, used: true, v };
            }
        }
    }
}

/// Maps old dest indices to new ones after a config change (by DestId); NONE if gone.
fn remap(old: &[DestId], new: &[Dest]) -> Vec<u16> {
    old.iter().map(|id| new.iter().position(|d| d.id == *id).map_or(NONE, |p| p as u16)).collect()
}

/// lblc/lblcr is_overloaded: active > weight while some dest has active*2 < weight.
fn is_overloaded(v: &DestView<'_>, d: usize) -> bool {
    if v.active(d) > v.weight(d) {
        return (0..v.len()).any(|i| u64::from(v.active(i)) * 2 < u64::from(v.weight(i)));
    }
    false
}

/// Locality-based least-connection.
#[derive(Debug)]
pub struct Lblc {
    cache: Cache<u16>,
    ids: Vec<DestId>,
}

impl Lblc {
    pub fn new(cache_size: usize) -> Lblc {
        Lblc { cache: Cache::new(cache_size, NONE), ids: Vec::new() }
    }
    /// sysctl lblc_expiration, in ms.
    pub fn set_expiration(&mut self, ms: u64) {
        self.cache.expiration = ms;
    }
}

impl Scheduler for Lblc {
    fn name(&self) -> &'static str {
        "lblc"
    }
    fn update(&mut self, dests: &[Dest]) {
        let map = remap(&self.ids, dests);
        for s in self.cache.slots.iter_mut().filter(|s| s.used) {
            s.v = map.get(usize::from(s.v)).copied().unwrap_or(NONE);
            s.used = s.v != NONE;
        }
        self.ids = dests.iter().map(|d| d.id).collect();
    }
    fn pick(&mut self, v: &DestView<'_>, t: &Tuple, now: u64) -> Option<usize> {
        if let Some(s) = self.cache.get(&t.dst, now) {
            let d = usize::from(s.v);
            if d < v.len() && v.usable(d) && !is_overloaded(v, d) {
                return Some(d);
            }
        }
        // __ip_vs_lblc_schedule: weighted least-connection, then (re)cache.
        let d = least_weighted(v, |i| v.overhead(i))?;
        match self.cache.get(&t.dst, now) {
            Some(s) => s.v = d as u16,
            None => self.cache.insert(&t.dst, now, d as u16),
        }
        Some(d)
    }
}

#[derive(Clone, Copy, Debug)]
struct DestSet {
    members: [u16; LBLCR_SET_MAX],
    len: u8,
    lastmod: u64,
}

impl DestSet {
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.members.iter().take(usize::from(self.len)).map(|&m| usize::from(m))
    }
    /// ip_vs_dest_set_insert (no-op if present; full sets drop their oldest member).
    fn insert(&mut self, d: usize, now: u64) {
        if self.iter().any(|m| m == d) {
            return;
        }
        if usize::from(self.len) == LBLCR_SET_MAX {
            self.members.copy_within(1.., 0);
            self.len -= 1;
        }
        if let Some(slot) = self.members.get_mut(usize::from(self.len)) {
            *slot = d as u16;
            self.len += 1;
        }
        self.lastmod = now;
    }
    fn erase(&mut self, d: usize, now: u64) {
        let pos = self.iter().position(|m| m == d);
        if let Some(p) = pos {
            self.members.copy_within(p + 1.., p);
            self.len -= 1;
            self.lastmod = now;
        }
    }
    /// ip_vs_dest_set_min: least overhead/weight among usable members.
    fn min(&self, v: &DestView<'_>) -> Option<usize> {
        let mut least: Option<usize> = None;
        for d in self.iter().filter(|&d| d < v.len() && !v.overloaded(d)) {
            match least {
                None if v.weight(d) > 0 => least = Some(d),
                Some(l) if worse(v.overhead(l), v.weight(l), v.overhead(d), v.weight(d)) => least = Some(d),
                _ => {}
            }
        }
        least
    }
    /// ip_vs_dest_set_max: most overhead/weight among members with weight > 0.
    fn max(&self, v: &DestView<'_>) -> Option<usize> {
        let mut most: Option<usize> = None;
        for d in self.iter().filter(|&d| d < v.len() && v.weight(d) > 0) {
            if most.is_none_or(|m| worse(v.overhead(d), v.weight(d), v.overhead(m), v.weight(m))) {
                most = Some(d);
            }
        }
        most
    }
}

/// Locality-based least-connection with replication.
#[derive(Debug)]
pub struct Lblcr {
    cache: Cache<DestSet>,
    ids: Vec<DestId>,
    set_expiration: u64,
}

impl Lblcr {
    pub fn new(cache_size: usize) -> Lblcr {
        let empty = DestSet { members: [NONE; LBLCR_SET_MAX], len: 0, lastmod: 0 };
        Lblcr { cache: Cache::new(cache_size, empty), ids: Vec::new(), set_expiration: LBLC_EXPIRATION_MS }
    }
    /// sysctl lblcr_expiration (ms): entry lifetime, and the age after which a set of
    /// more than one dest loses its most loaded member.
    pub fn set_expiration(&mut self, ms: u64) {
        self.cache.expiration = ms;
        self.set_expiration = ms;
    }
    /// Members of the cached set for `addr` (tests, listings).
    pub fn set_of(&mut self, addr: &Addr, now: u64) -> Vec<usize> {
        self.cache.get(addr, now).map(|s| s.v.iter().collect()).unwrap_or_default()
    }
}

impl Scheduler for Lblcr {
    fn name(&self) -> &'static str {
        "lblcr"
    }
    fn update(&mut self, dests: &[Dest]) {
        let map = remap(&self.ids, dests);
        for s in self.cache.slots.iter_mut().filter(|s| s.used) {
            let mut set = s.v;
            set.len = 0;
            for m in s.v.iter() {
                if let Some(&n) = map.get(m).filter(|&&n| n != NONE) {
                    if let Some(x) = set.members.get_mut(usize::from(set.len)) {
                        *x = n;
                        set.len += 1;
                    }
                }
            }
            s.v = set;
            s.used = set.len > 0;
        }
        self.ids = dests.iter().map(|d| d.id).collect();
    }
    fn pick(&mut self, v: &DestView<'_>, t: &Tuple, now: u64) -> Option<usize> {
        let exp = self.set_expiration;
        if let Some(s) = self.cache.get(&t.dst, now) {
            let set = &mut s.v;
            let dest = set.min(v);
            // More than one member and unchanged for long: drop the most loaded.
            if set.len > 1 && now.saturating_sub(set.lastmod) > exp {
                if let Some(m) = set.max(v) {
                    set.erase(m, now);
                }
            }
            if let Some(d) = dest.filter(|&d| !is_overloaded(v, d)) {
                return Some(d);
            }
            let d = least_weighted(v, |i| v.overhead(i))?;
            set.insert(d, now);
            return Some(d);
        }
        let d = least_weighted(v, |i| v.overhead(i))?;
        let mut set = DestSet { members: [NONE; LBLCR_SET_MAX], len: 0, lastmod: now };
        set.insert(d, now);
        self.cache.insert(&t.dst, now, set);
        Some(d)
    }
}
