//! Later fragments of a connection's datagrams (IPv4, RFC 791; IPv6, RFC 8200 4.5). IPVS sees datagrams
//! reassembled by nf_defrag; a director on the fast path forwards fragments instead: the
//! first one carries the ports, is classified like a whole datagram and remembered here
//! by (source, destination, protocol, IP id); later ones follow it to the same
//! connection. Fixed size, no allocation after start: a slot is overwritten by a newer
//! datagram, and forgotten after Linux's `ipfrag_time` (30 s). A later fragment that
//! arrives before its first, or after its entry was overwritten, is dropped and counted
//! (`fragment`).
//!
//! A datagram whose connection lives away from its client's queue is also entered in
//! the owner directory's fragment table (`claimed`), so later fragments landing on
//! other workers find it; the key leaves the directory when its slot is overwritten or
//! found expired by [`FragTable::sweep`].

use super::flow::Flow;
use crate::addr::{Addr, Tuple};
use crate::conn::{ConnId, Dir};

/// Datagrams followed at once per core.
pub(crate) const SLOTS: usize = 4096;
/// Linux net.ipv4.ipfrag_time.
const TIMEOUT_MS: u64 = 30_000;

#[derive(Clone, Copy, Default)]
struct Slot {
    src: Addr,
    dst: Addr,
    ident: u32,
    proto: u8,
    /// 0: empty; 1: client → real server; 2: reply.
    dir: u8,
    /// Its [`owner_key`] is in the owner directory.
    claimed: bool,
    conn: u32,
    expires: u64,
}

pub(crate) struct FragTable {
    slots: Box<[Slot]>,
    /// Where the next [`FragTable::sweep`] resumes.
    cursor: usize,
}

fn index(f: &Flow) -> usize {
    let w = u64::from(f.src.fold32()) << 32 | u64::from(f.dst.fold32());
    let w = w ^ (u64::from(f.ident) << 8 | u64::from(f.proto)).rotate_left(40);
    (w.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize % SLOTS
}

impl FragTable {
    pub fn new() -> FragTable {
        FragTable { slots: vec![Slot::default(); SLOTS].into_boxed_slice(), cursor: 0 }
    }

    /// The first fragment of `f`'s datagram went out on connection `conn`; `claimed`:
    /// its key is (being) entered in the owner directory. Returns the directory key the
    /// slot held for another datagram, which must leave the directory now.
    pub fn remember(&mut self, f: &Flow, conn: ConnId, dir: Dir, now: u64, claimed: bool) -> Option<Tuple> {
        let s = self.slots.get_mut(index(f))?;
        let old = s.claimed.then(|| s.key()).filter(|k| !claimed || *k != owner_key(f));
        *s = Slot {
            src: f.src,
            dst: f.dst,
            ident: f.ident,
            proto: f.proto,
            dir: if dir == Dir::In { 1 } else { 2 },
            claimed,
            conn: conn.0,
            expires: now + TIMEOUT_MS,
        };
        old
    }

    /// Visit `budget` slots from where the last call stopped; each expired claimed one
    /// is unclaimed and its key handed to `release`.
    pub fn sweep(&mut self, now: u64, budget: usize, mut release: impl FnMut(&Tuple)) {
        for _ in 0..budget.min(SLOTS) {
            self.cursor = (self.cursor + 1) % SLOTS;
            if let Some(s) = self.slots.get_mut(self.cursor).filter(|s| s.claimed && now >= s.expires) {
                s.claimed = false;
                release(&s.key());
            }
        }
    }

    /// The connection and direction of the datagram a later fragment belongs to.
    pub fn find(&self, f: &Flow, now: u64) -> Option<(ConnId, Dir)> {
        let s = self.slots.get(index(f))?;
        let same = s.dir != 0
            && s.src == f.src
            && s.dst == f.dst
            && s.ident == f.ident
            && s.proto == f.proto
            && now < s.expires;
        same.then_some((ConnId(s.conn), if s.dir == 1 { Dir::In } else { Dir::Out }))
    }
}

impl Slot {
    fn key(&self) -> Tuple {
        key_of(self.proto, self.src, self.dst, self.ident)
    }
}

/// The key other cores find a datagram's owner by, in the directory's fragment table:
/// the IP id (32 bits for IPv6) stands in for the ports later fragments do not carry.
fn key_of(proto: u8, src: Addr, dst: Addr, ident: u32) -> Tuple {
    Tuple { proto, src, sport: ident as u16, dst, dport: (ident >> 16) as u16 }
}

pub(crate) fn owner_key(f: &Flow) -> Tuple {
    key_of(f.proto, f.src, f.dst, f.ident)
}
