//! FullNAT source ports (DPVS's `sa_pool`): for each local address, this worker's slice
//! of the port range, so a reply's owner is computed from its destination port, never
//! looked up. With W workers and `shift = ceil(log2 W)`, worker i owns the ports whose
//! low `shift` bits are i (a NIC's rte_flow rule can match them; [`lport_owner`]).
//!
//! Each local address's slice is kept in [`SUBPOOLS`] FIFO rings, one per group of
//! real servers ((RS address's low 16 bits + RS port) mod 16, DPVS's choice): the same
//! port serves servers of different groups at once, since the reply tuple includes the
//! server. FIFO order reuses the longest-free port first, which keeps a port out of use
//! for as long as possible after its connection left (the real server's TIME_WAIT).
//! Allocation and release are O(1); the rings are allocated when a snapshot brings a
//! new local address (at a timer tick), never per packet.

use crate::addr::Addr;
use crate::service::Snapshot;

/// Rings per local address (DPVS `pool_hash_size`).
pub const SUBPOOLS: usize = 16;

/// The default FullNAT source port range (DPVS's 1025-65535).
pub const DEFAULT_LPORTS: (u16, u16) = (1025, 65535);

/// The worker owning FullNAT source port `lport` among `workers`.
#[inline]
pub fn lport_owner(lport: u16, workers: u32) -> u8 {
    (lport & lport_mask(workers)) as u8
}

/// The low-bit mask naming a port's worker: `2^ceil(log2 workers) - 1`.
#[inline]
pub fn lport_mask(workers: u32) -> u16 {
    (workers.max(1).next_power_of_two() - 1) as u16
}

/// A FIFO of free ports, preallocated to hold the whole slice.
struct Ring {
    buf: Box<[u16]>,
    head: usize,
    len: usize,
}

impl Ring {
    fn full(ports: &[u16]) -> Ring {
        Ring { buf: ports.into(), head: 0, len: ports.len() }
    }
    fn pop(&mut self) -> Option<u16> {
        if self.len == 0 {
            return None;
        }
        let p = self.buf.get(self.head).copied();
        self.head = (self.head + 1) % self.buf.len().max(1);
        self.len -= 1;
        p
    }
    /// Never past capacity: each port is released once, by the connection holding it.
    fn push(&mut self, p: u16) {
        let cap = self.buf.len();
        if self.len >= cap {
            return;
        }
        if let Some(s) = self.buf.get_mut((self.head + self.len) % cap) {
            *s = p;
            self.len += 1;
        }
    }
}

struct Pool {
    sub: Vec<Ring>,
    /// Per ring: ports a synchronised connection holds that are still in the ring (a
    /// backup learns them from the master): skipped when popped, not pushed again when
    /// released. Empty but on a backup.
    claimed: Vec<hashbrown::HashSet<u16>>,
    in_use: u32,
    /// Named by the current snapshot; a pool no longer named serves no new connection
    /// and goes once its last port is back.
    live: bool,
}

/// One worker's FullNAT source ports, by local address.
pub(crate) struct LocalPorts {
    /// This worker's ports of the range, ascending.
    slice: Vec<u16>,
    mask: u16,
    core: u16,
    range: (u16, u16),
    pools: hashbrown::HashMap<Addr, Pool>,
    in_use: u32,
}

fn subpool(daddr: &Addr, dport: u16) -> usize {
    (usize::from(u16::from_be_bytes([daddr.0[14], daddr.0[15]])) + usize::from(dport)) % SUBPOOLS
}

impl LocalPorts {
    pub fn new(core: u8, workers: u32, range: (u16, u16)) -> LocalPorts {
        let mask = lport_mask(workers);
        let (lo, hi) = (range.0.max(1), range.1);
        let slice = (lo..=hi).filter(|p| p & mask == u16::from(core)).collect();
        LocalPorts { slice, mask, core: u16::from(core), range: (lo, hi), pools: hashbrown::HashMap::new(), in_use: 0 }
    }

    /// Ports this worker may hand out per local address and real-server group.
    pub fn per_pool(&self) -> usize {
        self.slice.len()
    }

    /// Ports held by connections, all local addresses.
    pub fn in_use(&self) -> u32 {
        self.in_use
    }

    /// Follow a new snapshot: pools for its local addresses, old ones retired once
    /// empty. Allocates (a timer tick's work, not a packet's).
    pub fn sync(&mut self, snap: &Snapshot) {
        for p in self.pools.values_mut() {
            p.live = false;
        }
        for a in snap.services().iter().flat_map(|s| s.laddrs.iter()) {
            let slice = &self.slice;
            let p = self.pools.entry(*a).or_insert_with(|| Pool {
                sub: (0..SUBPOOLS).map(|_| Ring::full(slice)).collect(),
                claimed: (0..SUBPOOLS).map(|_| hashbrown::HashSet::new()).collect(),
                in_use: 0,
                live: true,
            });
            p.live = true;
        }
        self.pools.retain(|_, p| p.live || p.in_use > 0);
    }

    /// A free port of `laddr` towards `daddr:dport`; `None` when its ring is empty (or
    /// the address is not a current local address).
    #[inline]
    pub fn alloc(&mut self, laddr: &Addr, daddr: &Addr, dport: u16) -> Option<u16> {
        let pool = self.pools.get_mut(laddr).filter(|p| p.live)?;
        let i = subpool(daddr, dport);
        let (ring, claimed) = (pool.sub.get_mut(i)?, pool.claimed.get_mut(i)?);
        let port = loop {
            let p = ring.pop()?;
            // Held by a synchronised connection: it comes back when that one leaves.
            if claimed.is_empty() || !claimed.remove(&p) {
                break p;
            }
        };
        pool.in_use += 1;
        self.in_use += 1;
        Some(port)
    }

    /// A synchronised connection (from the master) holds `lport` of `laddr` towards
    /// `daddr:dport`: no new connection may take it while it does. Returns whether the
    /// port is this worker's to track. Allocates (a timer tick's work).
    pub fn claim(&mut self, laddr: &Addr, daddr: &Addr, dport: u16, lport: u16) -> bool {
        if lport & self.mask != self.core || lport < self.range.0 || lport > self.range.1 {
            return false;
        }
        let Some(pool) = self.pools.get_mut(laddr) else { return false };
        let Some(c) = pool.claimed.get_mut(subpool(daddr, dport)) else { return false };
        if c.insert(lport) {
            pool.in_use += 1;
            self.in_use += 1;
        }
        true
    }

    /// Give `lport` back (a connection holding it left). Ports that are not this
    /// worker's slice are not pooled.
    #[inline]
    pub fn release(&mut self, laddr: &Addr, daddr: &Addr, dport: u16, lport: u16) {
        if lport & self.mask != self.core || lport < self.range.0 || lport > self.range.1 {
            return;
        }
        let Some(pool) = self.pools.get_mut(laddr) else { return };
        let i = subpool(daddr, dport);
        // A claimed port never left its ring: it stays there, no longer skipped.
        let claimed = pool.claimed.get_mut(i).is_some_and(|c| !c.is_empty() && c.remove(&lport));
        if let Some(r) = pool.sub.get_mut(i) {
            if !claimed {
                r.push(lport);
            }
            pool.in_use = pool.in_use.saturating_sub(1);
            self.in_use = self.in_use.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_partition_the_range_by_low_bits() {
        let mut seen = std::collections::HashSet::new();
        for core in 0..3u8 {
            let lp = LocalPorts::new(core, 3, (1025, 1040));
            for p in &lp.slice {
                assert_eq!(lport_owner(*p, 3), core);
                assert!(seen.insert(*p));
            }
        }
        // Three workers use a 2-bit mask: residue 3 belongs to nobody.
        assert_eq!(seen.len(), 12);
    }

    #[test]
    fn fifo_reuse_and_exhaustion() {
        let mut lp = LocalPorts::new(1, 2, (1025, 1030));
        let l = Addr::v4([10, 0, 3, 200]);
        let rs = Addr::v4([10, 0, 3, 11]);
        let svc = crate::service::Service {
            id: 0,
            key: crate::service::ServiceKey::Proto {
                proto: crate::addr::Protocol::Tcp,
                addr: Addr::v4([10, 0, 2, 100]),
                port: 80,
            },
            scheduler: "rr",
            flags: Default::default(),
            persistence: None,
            one_packet: false,
            proxy_protocol: None,
            toa: false,
            synproxy: false,
            dests: Vec::new(),
            laddrs: vec![l],
        };
        lp.sync(&Snapshot::new(vec![svc], 16));
        let got: Vec<u16> = (0..3).filter_map(|_| lp.alloc(&l, &rs, 80)).collect();
        assert_eq!(got, [1025, 1027, 1029]);
        assert_eq!(lp.alloc(&l, &rs, 80), None, "slice exhausted");
        // Another group of real servers has its own ring.
        assert_eq!(lp.alloc(&l, &Addr::v4([10, 0, 3, 12]), 80), Some(1025));
        lp.release(&l, &rs, 80, 1027);
        assert_eq!(lp.alloc(&l, &rs, 80), Some(1027));
        assert_eq!(lp.in_use(), 4);
        // Retired with the snapshot: no new ports, the pool stays for the ports out.
        lp.sync(&Snapshot::new(Vec::new(), 16));
        assert_eq!(lp.alloc(&l, &rs, 80), None);
        lp.release(&l, &rs, 80, 1025);
        assert_eq!(lp.in_use(), 3);
    }

    #[test]
    fn a_claimed_port_is_never_handed_out_nor_pooled_twice() {
        let mut lp = LocalPorts::new(0, 1, (1025, 1028));
        let mut cfg = crate::service::Config::new(8);
        let key = crate::service::ServiceKey::Proto {
            proto: crate::addr::Protocol::Tcp,
            addr: Addr::v4([10, 0, 2, 100]),
            port: 80,
        };
        cfg.add_service(&crate::service::ServiceSpec::new(key)).unwrap();
        let l = Addr::v4([10, 0, 3, 200]);
        cfg.add_laddr(&key, l).unwrap();
        lp.sync(&cfg.snapshot());
        let rs = Addr::v4([10, 0, 3, 11]);
        // The master's connection holds 1025, the ring's first port.
        assert!(lp.claim(&l, &rs, 80, 1025));
        assert_eq!(lp.in_use(), 1);
        let got: Vec<u16> = (0..4).filter_map(|_| lp.alloc(&l, &rs, 80)).collect();
        assert_eq!(got, [1026, 1027, 1028], "1025 skipped");
        lp.release(&l, &rs, 80, 1025);
        lp.release(&l, &rs, 80, 1026);
        assert_eq!(lp.in_use(), 2);
        assert_eq!(
            (lp.alloc(&l, &rs, 80), lp.alloc(&l, &rs, 80), lp.alloc(&l, &rs, 80)),
            (Some(1025), Some(1026), None)
        );
        // Released while still in the ring: it stays there once, no longer skipped.
        let mut lp2 = LocalPorts::new(0, 1, (1025, 1026));
        lp2.sync(&cfg.snapshot());
        assert!(lp2.claim(&l, &rs, 80, 1026));
        lp2.release(&l, &rs, 80, 1026);
        let got: Vec<u16> = (0..3).filter_map(|_| lp2.alloc(&l, &rs, 80)).collect();
        assert_eq!(got, [1025, 1026]);
        assert!(!lp2.claim(&l, &rs, 80, 80), "outside the range");
    }
}
