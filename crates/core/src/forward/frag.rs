//! Later fragments of a connection's datagrams (IPv4, RFC 791; IPv6, RFC 8200 4.5). IPVS sees datagrams
//! reassembled by nf_defrag; a director on the fast path forwards fragments instead: the
//! first one carries the ports, is classified like a whole datagram and remembered here
//! by (source, destination, protocol, IP id); later ones follow it to the same
//! connection. Fixed size, no allocation after start: a slot is overwritten by a newer
//! datagram, and forgotten after Linux's `ipfrag_time` (30 s). A later fragment that
//! arrives before its first, or after its entry was overwritten, is dropped and counted
//! (`fragment`).

use super::flow::Flow;
use crate::addr::{Addr, Tuple};
use crate::conn::{ConnId, Dir};

/// Datagrams followed at once per core.
const SLOTS: usize = 4096;
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
    conn: u32,
    expires: u64,
}

pub(crate) struct FragTable {
    slots: Box<[Slot]>,
}

fn index(f: &Flow) -> usize {
    let w = u64::from(f.src.fold32()) << 32 | u64::from(f.dst.fold32());
    let w = w ^ (u64::from(f.ident) << 8 | u64::from(f.proto)).rotate_left(40);
    (w.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize % SLOTS
}

impl FragTable {
    pub fn new() -> FragTable {
        FragTable { slots: vec![Slot::default(); SLOTS].into_boxed_slice() }
    }

    /// The first fragment of `f`'s datagram went out on connection `conn`.
    pub fn remember(&mut self, f: &Flow, conn: ConnId, dir: Dir, now: u64) {
        if let Some(s) = self.slots.get_mut(index(f)) {
            *s = Slot {
                src: f.src,
                dst: f.dst,
                ident: f.ident,
                proto: f.proto,
                dir: if dir == Dir::In { 1 } else { 2 },
                conn: conn.0,
                expires: now + TIMEOUT_MS,
            };
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

/// The key other cores find a datagram's owner by (the IP id stands in for the ports,
/// which later fragments do not carry; port 0 is never a real flow's).
pub(crate) fn owner_key(f: &Flow) -> Tuple {
    Tuple { proto: f.proto, src: f.src, sport: f.ident as u16, dst: f.dst, dport: (f.ident >> 16) as u16 | 0x8000 }
}
