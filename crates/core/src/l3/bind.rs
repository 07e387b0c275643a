//! Real servers' next hops, resolved once and reused: IPVS caches a route per
//! destination (ip_vs_dest_dst, checked against its route cookie) and DPVS binds one to
//! each connection (conn_bind_dest). Here the egress port, next hop, its MAC, our source
//! address on that port and its MTU are resolved per destination and kept until the L3
//! configuration or the neighbour table changes (their generation numbers), so a packet
//! to a real server costs no route or neighbour lookup.

use std::net::IpAddr;

use wire::{EthernetAddress, PacketBuf};

use super::{Io, Node};
use crate::neigh::{Enqueued, Probe};

/// Destinations cached per worker (their ids index the table; rvsd has at most 4,096).
const SLOTS: usize = 4096;

/// Where packets to one real server go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    pub port: u16,
    pub next_hop: IpAddr,
    /// `None` until the neighbour resolves (packets then queue for it).
    pub mac: Option<EthernetAddress>,
    /// Our address of the destination's family on `port` (TUN's outer source).
    pub src: Option<IpAddr>,
    pub mtu: u16,
}

#[derive(Clone, Copy)]
struct Slot {
    dest: u32,
    addr: IpAddr,
    cfg_gen: u64,
    neigh_gen: u64,
    hop: Hop,
}

pub(super) struct Bindings {
    slots: Box<[Option<Slot>]>,
    /// Route and neighbour lookups made to (re)bind a destination.
    resolutions: u64,
}

impl Bindings {
    pub(super) fn new() -> Bindings {
        Bindings { slots: vec![None; SLOTS].into_boxed_slice(), resolutions: 0 }
    }
}

impl<P: PacketBuf> Node<P> {
    /// The next hop of destination `dest` at `addr`: cached while both generations hold
    /// (and the id still names that address: ids are reused), else resolved and, once
    /// its neighbour is known, cached.
    pub fn bind(&mut self, dest: u32, addr: IpAddr) -> Option<Hop> {
        let i = dest as usize % SLOTS;
        let neigh_gen = self.neigh.generation();
        if let Some(Some(s)) = self.bindings.slots.get(i) {
            if s.dest == dest && s.addr == addr && s.cfg_gen == self.cfg_gen && s.neigh_gen == neigh_gen {
                return Some(s.hop);
            }
        }
        self.bindings.resolutions += 1;
        let route = self.cfg.route(addr)?;
        let hop = Hop {
            port: route.port,
            next_hop: route.next_hop,
            mac: self.neigh.lookup(route.next_hop),
            src: self.cfg.source_for(route.port, route.next_hop),
            mtu: self.cfg.mtu(route.port)?,
        };
        if hop.mac.is_some() {
            if let Some(slot) = self.bindings.slots.get_mut(i) {
                *slot = Some(Slot { dest, addr, cfg_gen: self.cfg_gen, neigh_gen, hop });
            }
        }
        Some(hop)
    }

    /// The cached hop of destination `dest` at IPv4 `addr`, only if it is cached,
    /// current and resolved: nothing is resolved here (the fast path leaves that to
    /// [`Node::bind`]).
    #[inline]
    pub(crate) fn cached_hop4(&self, dest: u32, addr: [u8; 4]) -> Option<&Hop> {
        let s = self.bindings.slots.get(dest as usize % SLOTS)?.as_ref()?;
        let ok = s.dest == dest
            && s.addr == IpAddr::V4(addr.into())
            && s.cfg_gen == self.cfg_gen
            && s.neigh_gen == self.neigh.generation();
        (ok && s.hop.mac.is_some()).then_some(&s.hop)
    }

    /// How many times a destination's hop was resolved (route and neighbour lookups)
    /// rather than taken from the cache.
    pub fn resolutions(&self) -> u64 {
        self.bindings.resolutions
    }

    /// Send a packet along a bound hop: straight to the neighbour's MAC, or queued while
    /// it resolves (the first packet also sends the probe).
    pub fn send_hop(&mut self, pkt: P, hop: Hop, now: u64, io: &mut impl Io<P>) {
        if let Some(mac) = hop.mac {
            return self.send_to(hop.port, mac, pkt, io);
        }
        match self.neigh.enqueue(hop.port, hop.next_hop, pkt, now) {
            Enqueued::Queued { probe: true } => self.probe(Probe { port: hop.port, ip: hop.next_hop, mac: None }, io),
            Enqueued::Queued { probe: false } => {}
            Enqueued::Refused(pkt, reason) => io.drop(hop.port, pkt, reason),
        }
    }
}
