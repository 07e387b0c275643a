//! The exact owner directory: which worker holds a connection that lives away from its
//! client's queue (a persistent service with a netmask), readable by every worker.
//!
//! One partition per worker; worker w alone writes partition w (inserts and removes
//! its own connections' reply tuples), any worker reads any partition. Everything is
//! allocated at construction; the data path takes no lock and allocates nothing.
//!
//! A partition is an open-addressing table (linear probing) of slots, each holding the
//! whole key (protocol, both addresses, both ports) under a seqlock: its version is odd
//! while the owner writes it, and a reader keeps a copy only when the version was even
//! and unchanged around its reads, so it never acts on a half-written key. Removal
//! leaves a tombstone (nothing moves, so a concurrent reader cannot miss a live key
//! being shifted past it); the owner turns tombstones back into empty slots once no
//! live key's probe chain crosses them: at once when the next slot is empty, else in a
//! bounded [`Table::sweep`] at each timer tick.
//!
//! Memory ordering (Boehm's seqlock): the writer stores the odd version, then a Release
//! fence, then the key words (Relaxed), then the even version with Release. A reader
//! loads the version with Acquire, the words Relaxed, then an Acquire fence and the
//! version again: if it read any word of a newer write, the fences order that write's
//! odd version before its second load, and the copy is discarded.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};

use crate::addr::Tuple;

const EMPTY: u64 = 0;
const LIVE: u64 = 1;
const TOMB: u64 = 2;
const STATE_SHIFT: u32 = 56;
/// Attempts at a slot being rewritten before a reader passes it by as not its key (the
/// owner rewrites a slot in a few stores; a stably present key's slot is never written).
const READ_TRIES: usize = 64;
/// Later-fragment keys a worker can hold: its fragment table's slots, at half load.
const FRAG_SLOTS: usize = 2 * super::frag::SLOTS;

/// A key as stored: source and destination addresses (two words each), then
/// protocol | sport << 8 | dport << 24 (the slot's state goes in the top byte).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Key([u64; 5]);

impl Key {
    fn of(t: &Tuple) -> Key {
        let half = |a: &crate::addr::Addr, i: usize| {
            let mut b = [0u8; 8];
            if let Some(s) = a.0.get(i * 8..i * 8 + 8) {
                b.copy_from_slice(s);
            }
            u64::from_ne_bytes(b)
        };
        let meta = u64::from(t.proto) | u64::from(t.sport) << 8 | u64::from(t.dport) << 24;
        Key([half(&t.src, 0), half(&t.src, 1), half(&t.dst, 0), half(&t.dst, 1), meta])
    }
}

struct Slot {
    /// Even: stable; odd: being written by the partition's owner.
    seq: AtomicU64,
    /// [`Key`] words; the last one's top byte is the state (EMPTY, LIVE, TOMB).
    w: [AtomicU64; 5],
}

impl Slot {
    fn new() -> Slot {
        Slot { seq: AtomicU64::new(0), w: std::array::from_fn(|_| AtomicU64::new(0)) }
    }

    /// The owner's view: nobody else writes, so plain loads are exact.
    fn state(&self) -> u64 {
        self.w[4].load(Ordering::Relaxed) >> STATE_SHIFT
    }

    fn key(&self) -> Key {
        let [a, b, c, d, e] = &self.w;
        let r = |x: &AtomicU64| x.load(Ordering::Relaxed);
        Key([r(a), r(b), r(c), r(d), r(e) & !(0xff << STATE_SHIFT)])
    }

    /// Publish `key` in `state` (owner only).
    fn write(&self, key: &Key, state: u64) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        let mut words = key.0;
        words[4] |= state << STATE_SHIFT;
        for (a, v) in self.w.iter().zip(words) {
            a.store(v, Ordering::Relaxed);
        }
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// Change the state only (owner only), under the same protocol.
    fn set_state(&self, state: u64) {
        self.write(&self.key(), state);
    }

    /// A consistent copy of (state, key) from any thread, or None if the slot stayed
    /// busy for [`READ_TRIES`] attempts.
    fn read(&self) -> Option<(u64, Key)> {
        for _ in 0..READ_TRIES {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 0 {
                let [a, b, c, d, e] = &self.w;
                let r = |x: &AtomicU64| x.load(Ordering::Relaxed);
                let words = [r(a), r(b), r(c), r(d), r(e)];
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == s1 {
                    let [a, b, c, d, e] = words;
                    return Some((e >> STATE_SHIFT, Key([a, b, c, d, e & !(0xff << STATE_SHIFT)])));
                }
            }
            std::hint::spin_loop();
        }
        None
    }
}

/// One worker's slots; counters are written by that worker only.
#[repr(align(64))]
struct Partition {
    slots: Box<[Slot]>,
    live: AtomicUsize,
    tombs: AtomicUsize,
    /// Where the next [`Table::sweep`] resumes.
    cursor: AtomicUsize,
}

/// A partitioned, exact, lock-free map from keys to the worker that inserted them.
pub struct Table {
    parts: Box<[Partition]>,
    /// Slots per partition (the same in all, so a key's home is too).
    n: usize,
    /// Live keys and tombstones a partition may hold: 7/8 of its slots, so every probe
    /// meets an empty slot.
    limit: usize,
    seed: u64,
}

impl Table {
    /// `workers` partitions of `slots_per_worker` slots (at least 8) each.
    pub fn new(workers: usize, slots_per_worker: usize) -> Table {
        let n = slots_per_worker.max(8);
        let parts = (0..workers.clamp(1, 256))
            .map(|_| Partition {
                slots: (0..n).map(|_| Slot::new()).collect(),
                live: AtomicUsize::new(0),
                tombs: AtomicUsize::new(0),
                cursor: AtomicUsize::new(0),
            })
            .collect();
        Table { parts, n, limit: n - n / 8, seed: RandomState::new().hash_one(0x5eed_u64) | 1 }
    }

    /// Keys a partition holds at most.
    pub fn capacity(&self) -> usize {
        self.limit
    }

    #[inline]
    fn home(&self, k: &Key) -> usize {
        let mut h = self.seed;
        for w in k.0 {
            h = (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            h ^= h >> 29;
        }
        // Multiply-shift onto 0..n: no power-of-two size needed.
        ((u128::from(h) * self.n as u128) >> 64) as usize
    }

    #[inline]
    fn next(&self, i: usize) -> usize {
        if i + 1 >= self.n {
            0
        } else {
            i + 1
        }
    }

    fn prev(&self, i: usize) -> usize {
        if i == 0 {
            self.n - 1
        } else {
            i - 1
        }
    }

    /// Record that worker `me` holds `key` (`me`'s thread only). True when it is held
    /// (also when it already was); false when the partition is full.
    pub fn insert(&self, me: u8, key: &Tuple) -> bool {
        let Some(p) = self.parts.get(usize::from(me)) else { return false };
        let k = Key::of(key);
        let mut i = self.home(&k);
        let mut tomb = None;
        let mut empty = None;
        for _ in 0..self.n {
            let Some(s) = p.slots.get(i) else { return false };
            match s.state() {
                EMPTY => {
                    empty = Some(i);
                    break;
                }
                TOMB => {
                    tomb.get_or_insert(i);
                }
                _ if s.key() == k => return true,
                _ => {}
            }
            i = self.next(i);
        }
        // A tombstone earlier in the chain is reused (occupancy unchanged); a fresh slot
        // only while occupancy stays under the limit.
        let (at, reused) = match (tomb, empty) {
            (Some(t), _) => (t, true),
            (None, Some(e)) if p.live.load(Ordering::Relaxed) + p.tombs.load(Ordering::Relaxed) < self.limit => {
                (e, false)
            }
            _ => return false,
        };
        let Some(s) = p.slots.get(at) else { return false };
        s.write(&k, LIVE);
        p.live.fetch_add(1, Ordering::Relaxed);
        if reused {
            p.tombs.fetch_sub(1, Ordering::Relaxed);
        }
        true
    }

    /// Forget that worker `me` holds `key` (`me`'s thread only). False if it did not.
    pub fn remove(&self, me: u8, key: &Tuple) -> bool {
        let Some(p) = self.parts.get(usize::from(me)) else { return false };
        let k = Key::of(key);
        let mut i = self.home(&k);
        for _ in 0..self.n {
            let Some(s) = p.slots.get(i) else { return false };
            match s.state() {
                EMPTY => return false,
                LIVE if s.key() == k => {
                    p.live.fetch_sub(1, Ordering::Relaxed);
                    self.bury(p, i);
                    return true;
                }
                _ => {}
            }
            i = self.next(i);
        }
        false
    }

    /// Slot `i` of `p` no longer holds a live key: empty if the next slot is (no probe
    /// chain crosses it then), with the tombstones just before it; else a tombstone.
    fn bury(&self, p: &Partition, i: usize) {
        let next_empty = p.slots.get(self.next(i)).is_some_and(|s| s.state() == EMPTY);
        let Some(s) = p.slots.get(i) else { return };
        if !next_empty {
            s.set_state(TOMB);
            p.tombs.fetch_add(1, Ordering::Relaxed);
            return;
        }
        s.set_state(EMPTY);
        let mut j = self.prev(i);
        for _ in 0..self.n {
            match p.slots.get(j) {
                Some(t) if t.state() == TOMB => {
                    t.set_state(EMPTY);
                    p.tombs.fetch_sub(1, Ordering::Relaxed);
                }
                _ => break,
            }
            j = self.prev(j);
        }
    }

    /// The worker other than `me` that holds `key`, if any (any thread).
    pub fn owner(&self, me: u8, key: &Tuple) -> Option<u8> {
        let k = Key::of(key);
        let home = self.home(&k);
        for (w, p) in self.parts.iter().enumerate() {
            if w != usize::from(me) && self.holds(p, home, &k) {
                return u8::try_from(w).ok();
            }
        }
        None
    }

    fn holds(&self, p: &Partition, home: usize, k: &Key) -> bool {
        let mut i = home;
        for _ in 0..self.n {
            let Some(s) = p.slots.get(i) else { return false };
            // A slot still busy after the retries is passed by: it is not a stably
            // present key's (that slot is never written), and not an end of chain.
            match s.read() {
                Some((EMPTY, _)) => return false,
                Some((LIVE, key)) if key == *k => return true,
                _ => {}
            }
            i = self.next(i);
        }
        false
    }

    /// Keys worker `me` holds.
    pub fn len(&self, me: u8) -> usize {
        self.parts.get(usize::from(me)).map_or(0, |p| p.live.load(Ordering::Relaxed))
    }

    /// Tombstones in worker `me`'s partition.
    pub fn tombstones(&self, me: u8) -> usize {
        self.parts.get(usize::from(me)).map_or(0, |p| p.tombs.load(Ordering::Relaxed))
    }

    pub fn heap_bytes(&self) -> usize {
        self.parts.len() * self.n * std::mem::size_of::<Slot>()
    }

    /// Reclaim tombstones no probe chain needs, visiting about `budget` slots of `me`'s
    /// partition from where the last sweep stopped (`me`'s thread only). A tombstone
    /// is needed while a live key after it, in the same run of non-empty slots, has
    /// its home at or before it.
    pub fn sweep(&self, me: u8, budget: usize) {
        let Some(p) = self.parts.get(usize::from(me)) else { return };
        if p.tombs.load(Ordering::Relaxed) == 0 {
            return;
        }
        let state = |i: usize| p.slots.get(i).map_or(EMPTY, Slot::state);
        let mut left = budget.min(self.n);
        let mut i = p.cursor.load(Ordering::Relaxed) % self.n;
        // Find the empty slot before a run.
        while left > 0 && state(i) != EMPTY {
            i = self.next(i);
            left -= 1;
        }
        while left > 0 {
            let start = self.next(i);
            let mut len = 0;
            let mut end = start;
            while len < self.n && state(end) != EMPTY {
                end = self.next(end);
                len += 1;
            }
            self.clean_run(p, start, len);
            left = left.saturating_sub(len + 1);
            i = end;
        }
        p.cursor.store(i, Ordering::Relaxed);
    }

    /// Empty the tombstones of the run `start..start+len` that no live key needs,
    /// walking back from its end with the earliest home of the live keys after.
    fn clean_run(&self, p: &Partition, start: usize, len: usize) {
        let offset = |i: usize| if i >= start { i - start } else { i + self.n - start };
        let mut min_home = len;
        for k in (0..len).rev() {
            let Some(s) = p.slots.get((start + k) % self.n) else { continue };
            match s.state() {
                TOMB if min_home > k => {
                    s.set_state(EMPTY);
                    p.tombs.fetch_sub(1, Ordering::Relaxed);
                }
                LIVE => {
                    let h = offset(self.home(&s.key()));
                    // A home outside the run cannot be (no chain crosses an empty slot);
                    // if it were, keep everything before.
                    min_home = min_home.min(if h > k { 0 } else { h });
                }
                _ => {}
            }
        }
    }
}

/// The owner directory of all workers: connections' reply tuples, and later IPv4
/// fragments' datagram keys (`frag::owner_key`) in a table of their own, so the two
/// kinds of key never meet.
pub struct Directory {
    conns: Table,
    frags: Table,
}

impl Directory {
    /// `workers` partitions of `slots_per_worker` connection slots each.
    pub fn new(workers: usize, slots_per_worker: usize) -> Directory {
        Directory { conns: Table::new(workers, slots_per_worker), frags: Table::new(workers, FRAG_SLOTS) }
    }

    /// Room for every connection of tables of `capacity` entries per worker (a lone
    /// worker holds every client's queue and never enters anything).
    pub fn for_capacity(workers: usize, capacity: usize) -> Directory {
        if workers <= 1 {
            return Directory { conns: Table::new(1, 8), frags: Table::new(1, 8) };
        }
        // Twice the capacity: under churn, tombstones a live key's probe chain still
        // needs take up to a quarter of the slots at half load (measured), within the
        // 7/8 a partition may fill.
        Directory::new(workers, capacity.saturating_mul(2))
    }

    pub fn insert(&self, me: u8, key: &Tuple) -> bool {
        self.conns.insert(me, key)
    }

    pub fn remove(&self, me: u8, key: &Tuple) -> bool {
        self.conns.remove(me, key)
    }

    pub fn owner(&self, me: u8, key: &Tuple) -> Option<u8> {
        self.conns.owner(me, key)
    }

    pub fn len(&self, me: u8) -> usize {
        self.conns.len(me)
    }

    pub fn connections(&self) -> &Table {
        &self.conns
    }

    pub fn fragments(&self) -> &Table {
        &self.frags
    }

    /// Bounded tombstone reclamation in both tables (`me`'s thread, at timer ticks).
    pub fn sweep(&self, me: u8, budget: usize) {
        self.conns.sweep(me, budget);
        self.frags.sweep(me, budget);
    }

    pub fn heap_bytes(&self) -> usize {
        self.conns.heap_bytes() + self.frags.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{Addr, Protocol};
    use std::net::Ipv4Addr;

    fn t(i: u32) -> Tuple {
        Tuple::new(Protocol::Tcp, Addr::from(Ipv4Addr::new(10, 0, 3, 11)), 80, Addr::from(Ipv4Addr::from(i)), 40000)
    }

    #[test]
    fn insert_owner_remove() {
        let d = Directory::new(3, 64);
        assert_eq!(d.owner(0, &t(1)), None);
        assert!(d.insert(2, &t(1)));
        assert!(d.insert(2, &t(1)), "idempotent");
        assert_eq!(d.len(2), 1);
        assert_eq!(d.owner(0, &t(1)), Some(2));
        assert_eq!(d.owner(2, &t(1)), None, "a worker never redirects to itself");
        assert_eq!(d.owner(0, &t(2)), None);
        assert!(d.remove(2, &t(1)));
        assert!(!d.remove(2, &t(1)));
        assert_eq!(d.owner(0, &t(1)), None);
        assert_eq!(d.len(2), 0);
    }

    #[test]
    fn a_full_partition_refuses_and_tombstones_are_reclaimed() {
        let d = Table::new(1, 64);
        let cap = d.capacity() as u32;
        assert_eq!(cap, 56);
        for i in 0..cap {
            assert!(d.insert(0, &t(i)), "{i}");
        }
        assert!(!d.insert(0, &t(1_000)), "full");
        for i in 0..cap {
            assert_eq!(d.owner(1, &t(i)), Some(0));
        }
        for i in 0..cap {
            assert!(d.remove(0, &t(i)));
            assert_eq!(d.owner(1, &t(i)), None);
        }
        d.sweep(0, 64);
        assert_eq!((d.len(0), d.tombstones(0)), (0, 0), "an empty partition is all empty slots");
        for i in 0..cap {
            assert!(d.insert(0, &t(i + 2_000)), "room again");
        }
    }

    /// Steady churn at a worker's full connection capacity, sized as rvsd sizes it and
    /// swept as its ticks sweep: tombstones never crowd out a live key.
    #[test]
    fn churn_at_capacity_never_refuses() {
        let cap = 4_000u32;
        let d = Directory::for_capacity(2, cap as usize);
        let mut live: Vec<u32> = (0..cap).collect();
        for &k in &live {
            assert!(d.insert(0, &t(k)));
        }
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for (op, next) in (cap..cap + 100_000).enumerate() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x % u64::from(cap)) as usize;
            assert!(d.remove(0, &t(live[i])));
            assert!(d.insert(0, &t(next)), "op {op}: {} tombstones", d.connections().tombstones(0));
            live[i] = next;
            if op % 64 == 0 {
                d.sweep(0, 4096);
            }
        }
        assert_eq!(d.len(0), cap as usize);
        assert!(live.iter().all(|&k| d.owner(1, &t(k)) == Some(0)));
    }
}
