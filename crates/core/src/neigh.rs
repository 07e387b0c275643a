//! The neighbour table of one worker (ARP for IPv4, NDP for IPv6): next hop → MAC, with a bounded queue of
//! packets waiting while a neighbour resolves, probes with retransmission, and expiry
//! with refresh (RFC 1122 2.3.2.1: keep using a cached entry while revalidating it).
//!
//! Capacity, per-neighbour queues and the index are allocated up front; nothing on the
//! packet path allocates.
//!
//! A full table makes room as Linux's neighbour GC does (neigh_forced_gc): an entry that
//! nothing has used is evicted, found by a clock hand with a second chance for entries
//! used since its last pass. An entry made only because someone ARPed us may evict only
//! another such entry, so a flood of spoofed requests can never push out the neighbours
//! traffic is sent to.

use hashbrown::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use wire::EthernetAddress;

use crate::stats::DropReason;

/// Tunables, in milliseconds.
#[derive(Clone, Copy, Debug)]
pub struct NeighConfig {
    /// Most neighbours held at once.
    pub capacity: usize,
    /// Packets queued per unresolved neighbour; more are dropped and counted.
    pub queue_len: usize,
    /// How long a confirmed entry is trusted before it is re-probed.
    pub reachable_ms: u64,
    /// Interval between ARP probes.
    pub retrans_ms: u64,
    /// Unanswered probes before an entry is given up (Linux `mcast_solicit` = 3).
    pub max_probes: u32,
}

impl Default for NeighConfig {
    fn default() -> Self {
        NeighConfig { capacity: 1024, queue_len: 4, reachable_ms: 300_000, retrans_ms: 1_000, max_probes: 3 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Probing; no MAC yet, packets queue.
    Incomplete,
    /// MAC known and confirmed within `reachable_ms`.
    Reachable,
    /// MAC known but due for revalidation: still used while probes go out.
    Stale,
}

struct Entry<P> {
    ip: IpAddr,
    port: u16,
    mac: EthernetAddress,
    state: State,
    confirmed: u64,
    next_probe: u64,
    probes: u32,
    queue: Vec<P>,
    /// Used for output since the clock hand last passed (second chance).
    used: bool,
    /// Made by an ARP request to us and never used for output: the first to go.
    passive: bool,
}

/// What [`NeighTable::enqueue`] did with a packet.
#[derive(Debug)]
pub enum Enqueued<P> {
    /// Queued; `probe` says a new entry was made and an ARP request should go out now.
    Queued { probe: bool },
    /// Not queued; the caller drops it with this reason.
    Refused(P, DropReason),
}

/// An ARP request (or NDP solicitation) the table wants sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub port: u16,
    pub ip: IpAddr,
    /// Unicast to the cached MAC when revalidating, broadcast when `None`.
    pub mac: Option<EthernetAddress>,
}

pub struct NeighTable<P> {
    cfg: NeighConfig,
    index: HashMap<IpAddr, u32>,
    entries: Vec<Entry<P>>,
    free: Vec<u32>,
    hand: usize,
    /// Bumped whenever a binding changes or goes: what was resolved from the table
    /// before (a real server's cached next hop) must be resolved again.
    gen: u64,
}

impl<P> NeighTable<P> {
    pub fn new(cfg: NeighConfig) -> Self {
        let capacity = cfg.capacity.max(1);
        let entries = (0..capacity)
            .map(|_| Entry {
                ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                port: 0,
                mac: EthernetAddress::default(),
                state: State::Incomplete,
                confirmed: 0,
                next_probe: 0,
                probes: 0,
                queue: Vec::with_capacity(cfg.queue_len),
                used: false,
                passive: false,
            })
            .collect();
        NeighTable {
            cfg,
            index: HashMap::with_capacity(capacity),
            entries,
            free: (0..capacity as u32).rev().collect(),
            hand: 0,
            gen: 0,
        }
    }

    /// A free slot, evicting an unused entry when the table is full (`passive_only`:
    /// only an entry that was itself made passively). Bounded: two turns of the hand.
    fn take_slot(&mut self, passive_only: bool) -> Option<u32> {
        if let Some(slot) = self.free.pop() {
            return Some(slot);
        }
        let n = self.entries.len();
        for _ in 0..2 * n {
            self.hand = (self.hand + 1) % n;
            let slot = self.hand as u32;
            let Some(e) = self.entries.get_mut(self.hand) else { continue };
            if self.index.get(&e.ip) != Some(&slot) || (passive_only && !e.passive) || !e.queue.is_empty() {
                continue;
            }
            if e.used {
                e.used = false;
                continue;
            }
            let ip = e.ip;
            self.index.remove(&ip);
            self.gen += 1;
            return Some(slot);
        }
        None
    }

    /// Changes whenever an entry's MAC or port changes or an entry goes.
    pub fn generation(&self) -> u64 {
        self.gen
    }

    /// Entries in use.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The MAC to use for `ip`, if known (reachable or being revalidated).
    #[inline]
    pub fn lookup(&mut self, ip: IpAddr) -> Option<EthernetAddress> {
        let e = self.entries.get_mut(*self.index.get(&ip)? as usize)?;
        if e.state == State::Incomplete {
            return None;
        }
        if !e.used {
            e.used = true;
            e.passive = false;
        }
        Some(e.mac)
    }

    /// Queue `pkt` until `ip` resolves, creating an incomplete entry if there is none.
    pub fn enqueue(&mut self, port: u16, ip: IpAddr, pkt: P, now: u64) -> Enqueued<P> {
        let (slot, probe) = match self.index.get(&ip) {
            Some(&slot) => (slot, false),
            None => {
                let Some(slot) = self.take_slot(false) else {
                    return Enqueued::Refused(pkt, DropReason::NeighTableFull);
                };
                self.index.insert(ip, slot);
                if let Some(e) = self.entries.get_mut(slot as usize) {
                    e.ip = ip;
                    e.port = port;
                    e.state = State::Incomplete;
                    e.probes = 1;
                    e.next_probe = now + self.cfg.retrans_ms;
                    e.used = true;
                    e.passive = false;
                }
                (slot, true)
            }
        };
        match self.entries.get_mut(slot as usize) {
            Some(e) if e.queue.len() < self.cfg.queue_len => {
                e.queue.push(pkt);
                Enqueued::Queued { probe }
            }
            _ => Enqueued::Refused(pkt, DropReason::NeighQueueFull),
        }
    }

    /// Take in an ARP sender binding (RFC 826 "merge"): update an existing entry, or make
    /// one when `create` (the ARP was addressed to us). Returns the packets that were
    /// waiting for it, to be sent to `mac`, and whether anything changed.
    pub fn learn(
        &mut self,
        port: u16,
        ip: IpAddr,
        mac: EthernetAddress,
        create: bool,
        now: u64,
    ) -> Option<(bool, std::vec::Drain<'_, P>)> {
        let slot = match self.index.get(&ip) {
            Some(&slot) => slot,
            None if create => {
                let slot = self.take_slot(true)?;
                self.index.insert(ip, slot);
                if let Some(e) = self.entries.get_mut(slot as usize) {
                    e.ip = ip;
                    e.state = State::Incomplete;
                    e.used = false;
                    e.passive = true;
                }
                slot
            }
            None => return None,
        };
        let e = self.entries.get_mut(slot as usize)?;
        let changed = e.state == State::Incomplete || e.mac != mac || e.port != port;
        if changed {
            self.gen += 1;
        }
        e.port = port;
        e.mac = mac;
        e.state = State::Reachable;
        e.confirmed = now;
        e.probes = 0;
        Some((changed, e.queue.drain(..)))
    }

    /// Advance time: returns probes to send through `probe`, and hands the packets of
    /// neighbours that never answered to `dropped`. Scans the table, which is small and
    /// bounded by `capacity`; call it every few milliseconds, not per packet.
    pub fn tick(&mut self, now: u64, mut probe: impl FnMut(Probe), mut dropped: impl FnMut(P)) {
        let cfg = self.cfg;
        let mut i = 0;
        while i < self.entries.len() {
            let slot = i as u32;
            i += 1;
            let Some(e) = self.entries.get_mut(slot as usize) else { break };
            if self.index.get(&e.ip) != Some(&slot) {
                continue;
            }
            match e.state {
                State::Reachable if now >= e.confirmed + cfg.reachable_ms => {
                    e.state = State::Stale;
                    e.probes = 1;
                    e.next_probe = now + cfg.retrans_ms;
                    probe(Probe { port: e.port, ip: e.ip, mac: Some(e.mac) });
                }
                State::Incomplete | State::Stale if now >= e.next_probe => {
                    if e.probes >= cfg.max_probes {
                        e.queue.drain(..).for_each(&mut dropped);
                        let ip = e.ip;
                        self.index.remove(&ip);
                        self.free.push(slot);
                        self.gen += 1;
                        continue;
                    }
                    e.probes += 1;
                    e.next_probe = now + cfg.retrans_ms;
                    let mac = (e.state == State::Stale).then_some(e.mac);
                    probe(Probe { port: e.port, ip: e.ip, mac });
                }
                _ => {}
            }
        }
    }

    /// Every resolved neighbour, for listings.
    pub fn entries(&self) -> impl Iterator<Item = (u16, IpAddr, EthernetAddress)> + '_ {
        self.index.values().filter_map(|&s| {
            let e = self.entries.get(s as usize)?;
            (e.state != State::Incomplete).then_some((e.port, e.ip, e.mac))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 9]);
    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 3, last))
    }
    fn cfg() -> NeighConfig {
        NeighConfig { capacity: 2, queue_len: 2, reachable_ms: 10_000, retrans_ms: 1_000, max_probes: 3 }
    }

    #[test]
    fn queue_until_resolved_then_flush_in_order() {
        let mut t: NeighTable<u32> = NeighTable::new(cfg());
        assert!(matches!(t.enqueue(1, ip(11), 1, 0), Enqueued::Queued { probe: true }));
        assert!(matches!(t.enqueue(1, ip(11), 2, 0), Enqueued::Queued { probe: false }));
        assert!(matches!(t.enqueue(1, ip(11), 3, 0), Enqueued::Refused(3, DropReason::NeighQueueFull)));
        assert_eq!(t.lookup(ip(11)), None);
        let (changed, flushed) = t.learn(1, ip(11), MAC, false, 5).unwrap();
        assert!(changed);
        assert_eq!(flushed.collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(t.lookup(ip(11)), Some(MAC));
    }

    #[test]
    fn learn_creates_only_when_asked() {
        let mut t: NeighTable<u32> = NeighTable::new(cfg());
        assert!(t.learn(0, ip(1), MAC, false, 0).is_none());
        assert_eq!(t.lookup(ip(1)), None);
        assert!(t.learn(0, ip(1), MAC, true, 0).is_some());
        assert_eq!(t.lookup(ip(1)), Some(MAC));
        let (changed, _) = t.learn(0, ip(1), MAC, false, 1).unwrap();
        assert!(!changed, "a refresh with the same MAC changes nothing");
    }

    #[test]
    fn a_full_table_of_neighbours_in_use_refuses_a_new_one() {
        let mut t: NeighTable<u32> = NeighTable::new(cfg());
        t.enqueue(0, ip(1), 1, 0);
        t.enqueue(0, ip(2), 2, 0);
        assert!(matches!(t.enqueue(0, ip(3), 7, 0), Enqueued::Refused(7, DropReason::NeighTableFull)));
        t.learn(0, ip(1), MAC, false, 0);
        assert_eq!(t.lookup(ip(1)), Some(MAC));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn unused_entries_make_room_second_chance_for_used_ones() {
        let mut t: NeighTable<u32> = NeighTable::new(cfg());
        t.learn(0, ip(1), MAC, true, 0);
        t.learn(0, ip(2), MAC, true, 0);
        assert_eq!(t.lookup(ip(2)), Some(MAC), "ip 2 is used");
        // Passive learning may only displace a passive entry.
        assert!(t.learn(0, ip(3), MAC, true, 0).is_some());
        assert_eq!(t.lookup(ip(1)), None, "the unused, passively made entry went");
        assert_eq!(t.lookup(ip(2)), Some(MAC));
        assert_eq!(t.lookup(ip(3)), Some(MAC));
        // Both in use now: a passive one cannot get in, resolution makes room by clock.
        assert!(t.learn(0, ip(4), MAC, true, 0).is_none());
        assert!(matches!(t.enqueue(0, ip(5), 9, 0), Enqueued::Queued { probe: true }));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn unanswered_probes_give_up_and_drop_the_queue() {
        let mut t: NeighTable<u32> = NeighTable::new(cfg());
        t.enqueue(0, ip(5), 42, 0);
        let mut probes = vec![];
        let mut dropped = vec![];
        for now in (0..=5_000).step_by(500) {
            t.tick(now, |p| probes.push((now, p)), |p| dropped.push(p));
        }
        // First probe was sent by the caller at enqueue; tick retransmits twice more.
        assert_eq!(probes.iter().map(|(t, _)| *t).collect::<Vec<_>>(), vec![1_000, 2_000]);
        assert!(probes.iter().all(|(_, p)| p.mac.is_none() && p.ip == ip(5)));
        assert_eq!(dropped, vec![42]);
        assert!(t.is_empty());
        assert!(matches!(t.enqueue(0, ip(5), 1, 6_000), Enqueued::Queued { probe: true }), "slot reused");
    }

    #[test]
    fn stale_entries_keep_working_while_revalidated() {
        let mut t: NeighTable<u32> = NeighTable::new(cfg());
        t.learn(0, ip(1), MAC, true, 0);
        let mut probes = vec![];
        t.tick(10_000, |p| probes.push(p), |_| {});
        assert_eq!(probes, vec![Probe { port: 0, ip: ip(1), mac: Some(MAC) }]);
        assert_eq!(t.lookup(ip(1)), Some(MAC), "stale entries are still used");
        t.learn(0, ip(1), MAC, false, 10_500);
        t.tick(20_000, |p| probes.push(p), |_| {});
        assert_eq!(probes.len(), 1, "confirmed again: no probe until reachable_ms passes");
        // Never confirmed again: probes, then gives up.
        for now in [20_500, 21_500, 22_500, 23_500] {
            t.tick(now, |p| probes.push(p), |_| {});
        }
        assert_eq!(t.lookup(ip(1)), None);
    }
}
