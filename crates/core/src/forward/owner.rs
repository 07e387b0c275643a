//! Which core owns a NAT connection, readable by every core, written only by owners.
//!
//! RSS (or af_packet's fanout) places a client's packets and the real server's replies on
//! different queues, since they are different tuples on different ports. The core that
//! receives a reply it does not hold looks up the owner here and hands the packet over
//! a ring. Slots are indexed by a hash of the reply tuple; a collision can only send a
//! reply to a core that lacks it, where it is dropped and counted (`redirect_miss`).

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

use crate::addr::Tuple;

pub struct OwnerMap {
    slots: Box<[AtomicU8]>,
    mask: usize,
}

impl OwnerMap {
    /// 2^`bits` slots (one byte each).
    pub fn new(bits: u32) -> Self {
        let n = 1usize << bits.clamp(4, 28);
        OwnerMap { slots: (0..n).map(|_| AtomicU8::new(0)).collect(), mask: n - 1 }
    }

    #[inline]
    fn slot(&self, t: &Tuple) -> usize {
        let w = (u64::from(t.src.fold32()) << 32 | u64::from(t.dst.fold32()))
            ^ (u64::from(t.sport) << 48 | u64::from(t.dport) << 32 | u64::from(t.proto));
        // Fibonacci hashing: multiply, keep the high bits.
        (w.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & self.mask
    }

    /// Record that `core` owns the connection whose replies carry `reply`.
    #[inline]
    pub fn claim(&self, reply: &Tuple, core: u8) {
        if let Some(s) = self.slots.get(self.slot(reply)) {
            s.store(core.saturating_add(1), Relaxed);
        }
    }

    /// The core that claimed `reply` last, if any.
    #[inline]
    pub fn owner(&self, reply: &Tuple) -> Option<u8> {
        let v = self.slots.get(self.slot(reply))?.load(Relaxed);
        v.checked_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{Addr, Protocol};

    #[test]
    fn claims_are_seen_by_readers() {
        let m = OwnerMap::new(16);
        let t = Tuple::new(
            Protocol::Tcp,
            Addr::from(std::net::Ipv4Addr::new(10, 0, 3, 11)),
            80,
            Addr::from(std::net::Ipv4Addr::new(10, 0, 1, 2)),
            40000,
        );
        assert_eq!(m.owner(&t), None);
        m.claim(&t, 1);
        assert_eq!(m.owner(&t), Some(1));
        m.claim(&t, 0);
        assert_eq!(m.owner(&t), Some(0));
        let mut other = t;
        other.dport = 40001;
        assert_ne!(m.slot(&other), m.slot(&t), "neighbouring ports spread");
    }
}
