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

    /// What was held for `conn`, whose server answered the SYN `cookie` named: its wait
    /// ends too (else it would keep a slot for 3 s, and at most [`CONNS`] connections
    /// could open per 3 s, however fast their servers answer).
    pub fn take(&mut self, conn: u32, cookie: Option<u32>) -> Option<ArrayVec<(u16, P), PER_CONN>> {
        // In due order, so the oldest (the likeliest answered) come first.
        if let Some(i) = self.wait.iter().position(|w| w.conn == conn && Some(w.cookie) == cookie) {
            self.wait.remove(i);
        }
        self.map.remove(&conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connections whose servers answered free their slots at once: more than
    /// [`CONNS`] open one after another within the SYN timeout.
    #[test]
    fn answered_connections_free_their_slots() {
        let mut h: Held<u32> = Held::new();
        for conn in 0..3 * CONNS as u32 {
            let cookie = conn ^ 0x5a5a;
            assert!(h.hold(conn, Some(cookie), 0, conn, 1_000).is_ok(), "connection {conn} refused");
            assert_eq!(h.take(conn, Some(cookie)).map(|l| l.len()), Some(1));
        }
        assert!(h.wait.is_empty() && h.map.is_empty());
    }

    /// A wait left for another connection's cookie (the id reused) is not the one ended.
    #[test]
    fn take_ends_only_its_own_wait() {
        let mut h: Held<u32> = Held::new();
        h.wait.push_back(Wait { conn: 7, cookie: 1, due: 0, tries: 0 });
        assert!(h.hold(7, Some(2), 0, 70, 1_000).is_ok());
        assert_eq!(h.take(7, Some(2)).map(|l| l.len()), Some(1));
        assert_eq!(h.wait.len(), 1);
        assert_eq!(h.wait[0].cookie, 1);
    }
}
