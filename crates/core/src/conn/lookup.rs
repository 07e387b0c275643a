//! Finding connections: by a client's key or a reply's key, one at a time or staged
//! for a burst (hash and prefetch the bucket, prefetch the entries, then compare).

use super::entry::{in_matches, out_matches};
use super::index::KeyDir;
use super::{ConnId, ConnTable, Dir, NIL};
use crate::addr::Tuple;

impl ConnTable {
    /// Client -> VIP packet: (proto, caddr, cport, vaddr, vport).
    #[inline]
    pub fn lookup_in(&self, t: &Tuple) -> Option<ConnId> {
        self.find_in(t, false)
    }

    /// [`ConnTable::lookup_in`] for a burst, staged: hash every key and prefetch its
    /// bucket, then prefetch the candidate entries, then compare, so the cache misses of
    /// the burst overlap instead of queueing. `out[i]` answers `ts[i]`; at most
    /// `min(ts.len(), out.len())` are looked up.
    pub fn lookup_in_burst(&self, ts: &[Tuple], out: &mut [Option<ConnId>]) {
        const B: usize = 32;
        for (tc, oc) in ts.chunks(B).zip(out.chunks_mut(B)) {
            let mut hs = [0u64; B];
            for (h, t) in hs.iter_mut().zip(tc) {
                *h = self.hasher.hash(t);
                self.index.prefetch(*h);
            }
            for h in hs.iter().take(tc.len()) {
                self.prefetch_entries(*h);
            }
            for ((o, t), h) in oc.iter_mut().zip(tc).zip(&hs) {
                *o = self.find_in_hashed(t, *h, false);
            }
        }
    }

    /// The flow hash of `t` (stage one of a staged lookup).
    #[inline]
    pub fn hash(&self, t: &Tuple) -> u64 {
        self.hasher.hash(t)
    }

    /// Start loading the index bucket of hash `h`.
    #[inline]
    pub fn prefetch_bucket(&self, h: u64) {
        self.index.prefetch(h);
    }

    /// Start loading the entries `h`'s bucket names (its bucket should be loaded by now).
    #[inline]
    pub fn prefetch_entries(&self, h: u64) {
        let mut c = [NIL; 2];
        let n = self.index.candidates(h, &mut c);
        for &i in c.iter().take(n) {
            rvs_hint::prefetch_at(&self.slab.0, i as usize);
        }
    }

    /// The connection whose in-key (`Dir::In`) or reply key (`Dir::Out`) is `t`, whose
    /// hash is `h`; in-keys first, as `lookup_in` then `lookup_out`.
    #[inline]
    pub fn lookup_hashed(&self, t: &Tuple, h: u64) -> Option<(ConnId, Dir)> {
        let (slab, pool) = (&self.slab.0, &self.pool);
        self.index
            .find_any(h, |i, d| {
                slab.get(i as usize).is_some_and(|e| match d {
                    KeyDir::In => in_matches(e, pool, t, false),
                    KeyDir::Out => out_matches(e, pool, t),
                })
            })
            .map(|(i, d)| (ConnId(i), if d == KeyDir::In { Dir::In } else { Dir::Out }))
    }

    pub(super) fn find_in(&self, t: &Tuple, template: bool) -> Option<ConnId> {
        self.find_in_hashed(t, self.hasher.hash(t), template)
    }

    #[inline]
    pub(super) fn find_in_hashed(&self, t: &Tuple, h: u64, template: bool) -> Option<ConnId> {
        let (slab, pool) = (&self.slab.0, &self.pool);
        self.index
            .find(h, KeyDir::In, |i| slab.get(i as usize).is_some_and(|e| in_matches(e, pool, t, template)))
            .map(ConnId)
    }

    /// Real server -> director packet: NAT (daddr, dport -> caddr, cport) or FullNAT
    /// (daddr, dport -> laddr, lport).
    #[inline]
    pub fn lookup_out(&self, t: &Tuple) -> Option<ConnId> {
        let h = self.hasher.hash(t);
        let (slab, pool) = (&self.slab.0, &self.pool);
        self.index.find(h, KeyDir::Out, |i| slab.get(i as usize).is_some_and(|e| out_matches(e, pool, t))).map(ConnId)
    }
}
