//! SYN proxy: the client segments a worker holds while a real server's SYN-ACK is
//! awaited (DPVS keeps up to 3 ACKs per connection), and the connections awaiting one,
//! whose SYN is sent again every 3 s up to 3 times (DPVS's timer). Bounded: beyond
//! [`CONNS`] connections or [`PER_CONN`] segments a segment is dropped (counted); the
//! client sends it again.

use std::collections::VecDeque;

use arrayvec::ArrayVec;

/// Segments held per connection.
pub const PER_CONN: usize = 3;
/// Connections a worker holds segments for.
pub const CONNS: usize = 4096;
/// When an unanswered SYN goes again, and how often.
pub const RS_SYN_TIMEOUT_MS: u64 = 3000;
pub const RS_SYN_TRIES: u8 = 3;

pub(crate) struct Wait {
    pub conn: u32,
    pub cookie: u32,
    pub due: u64,
    pub tries: u8,
}

pub(crate) struct Held<P> {
    pub map: hashbrown::HashMap<u32, ArrayVec<(u16, P), PER_CONN>>,
    /// In due order (every wait is as long).
    pub wait: VecDeque<Wait>,
}

impl<P> Held<P> {
    pub fn new() -> Self {
        Held { map: hashbrown::HashMap::with_capacity(CONNS), wait: VecDeque::with_capacity(CONNS) }
    }

    /// Hold `pkt` for `conn`; `open`: the ACK that opened it (its SYN just went, with
    /// `cookie` naming this connection). The packet back when there is no room.
    pub fn hold(&mut self, conn: u32, open: Option<u32>, port: u16, pkt: P, now: u64) -> Result<(), P> {
        if let Some(cookie) = open {
            if self.wait.len() >= CONNS {
                return Err(pkt);
            }
            // A slot reused since: what it held was another connection's.
            self.map.remove(&conn);
            self.wait.push_back(Wait { conn, cookie, due: now + RS_SYN_TIMEOUT_MS, tries: 0 });
        }
        if !self.map.contains_key(&conn) && self.map.len() >= CONNS {
            return Err(pkt);
        }
        match self.map.entry(conn).or_default().try_push((port, pkt)) {
            Ok(()) => Ok(()),
            Err(e) => Err(e.element().1),
        }
    }

    pub fn take(&mut self, conn: u32) -> Option<ArrayVec<(u16, P), PER_CONN>> {
        self.map.remove(&conn)
    }
}
