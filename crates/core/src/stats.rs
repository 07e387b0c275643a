//! Per-core, per-port counters. Each worker owns its `CoreStats` and is the only writer;
//! the control thread reads them at any time without stopping the worker. Owner-only
//! writes let an increment be a relaxed load and store (no locked instruction).

use std::sync::atomic::{
    AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

/// Why a packet was dropped. The names are the `reason` label in metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// Failed a length or header check (`new_checked`).
    Malformed,
    /// IPv4 header or ICMP checksum wrong.
    BadChecksum,
    /// Unicast frame for another MAC address.
    OtherHost,
    /// Neither IPv4 nor ARP.
    UnknownEthertype,
    /// Neighbor Discovery addressed to us that needs no answer (an advertisement,
    /// once learned from) or is not for one of our addresses.
    NdpIgnored,
    /// ARP that is neither for one of our addresses nor from a known neighbour.
    ArpIgnored,
    /// IPv4 to us with a protocol we do not serve (not ICMP, TCP, UDP).
    UnknownProtocol,
    /// ICMP to us other than an echo request.
    IcmpIgnored,
    /// TCP or UDP to one of our addresses with no virtual service.
    NoService,
    /// A fragment that cannot be placed: addressed to the director itself (it does not
    /// reassemble), or a later fragment of a virtual-service datagram whose first
    /// fragment was not seen (out of order, or forgotten: `forward::frag`).
    Fragment,
    /// IPv4 for an address that is not ours: the director is not a router.
    NotLocal,
    /// No route to the destination.
    NoRoute,
    /// The bounded queue of packets waiting for a neighbour's MAC was full.
    NeighQueueFull,
    /// The neighbour never answered ARP; the packets waiting for it are dropped.
    NeighUnresolved,
    /// No room in the neighbour table for another unresolved neighbour.
    NeighTableFull,
    /// The NIC refused the packet (tx ring full).
    TxFull,
    /// The mempool was empty when a packet had to be built.
    NoMbuf,
    /// A new connection for a service with no usable real server (IPVS answers ICMP
    /// port unreachable, which is sent).
    NoDest,
    /// The connection table was full: the new connection was refused.
    ConnTableFull,
    /// A TCP segment other than SYN for a service, matching no connection.
    NoConn,
    /// A packet of a connection whose real server was deleted (expire_nodest_conn = 0).
    DestRemoved,
    /// Too big for the tunnel MTU (ICMP fragmentation needed is sent when DF is set).
    TooBig,
    /// The ring to the core owning the connection was full.
    RedirectFull,
    /// A reply redirected to the core the owner directory (or the client's queue) named, which had no such connection.
    RedirectMiss,
    /// TTL 1 or less on a packet to forward (ICMP time exceeded is sent, RFC 1812 5.3.1).
    TtlExceeded,
    /// For the kernel twin, over the exception path's rate (`[kernel] rate_pps`): a
    /// flood towards the box is dropped here, in O(1), not queued.
    KernelRateLimit,
    /// For the kernel twin, but its queue was full (or the port has no twin thread).
    KernelQueueFull,
    /// A new FullNAT connection found no free source port on any of the service's
    /// local addresses towards its real server (DPVS's sa_miss): refused.
    LaddrExhausted,
    /// A new FullNAT connection for a service without local addresses: refused.
    NoLaddr,
    /// SYN proxy: a real server repeating one pure ACK more than 10 times (DPVS's ACK
    /// storm guard).
    AckStorm,
}

impl DropReason {
    pub const COUNT: usize = 30;
    pub const ALL: [DropReason; Self::COUNT] = [
        Self::Malformed,
        Self::BadChecksum,
        Self::OtherHost,
        Self::UnknownEthertype,
        Self::NdpIgnored,
        Self::ArpIgnored,
        Self::UnknownProtocol,
        Self::IcmpIgnored,
        Self::NoService,
        Self::Fragment,
        Self::NotLocal,
        Self::NoRoute,
        Self::NeighQueueFull,
        Self::NeighUnresolved,
        Self::NeighTableFull,
        Self::TxFull,
        Self::NoMbuf,
        Self::NoDest,
        Self::ConnTableFull,
        Self::NoConn,
        Self::DestRemoved,
        Self::TooBig,
        Self::RedirectFull,
        Self::RedirectMiss,
        Self::TtlExceeded,
        Self::KernelRateLimit,
        Self::KernelQueueFull,
        Self::LaddrExhausted,
        Self::NoLaddr,
        Self::AckStorm,
    ];

    /// The metric label value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::BadChecksum => "bad_checksum",
            Self::OtherHost => "other_host",
            Self::UnknownEthertype => "unknown_ethertype",
            Self::NdpIgnored => "ndp_ignored",
            Self::ArpIgnored => "arp_ignored",
            Self::UnknownProtocol => "unknown_protocol",
            Self::IcmpIgnored => "icmp_ignored",
            Self::NoService => "no_service",
            Self::Fragment => "fragment",
            Self::NotLocal => "not_local",
            Self::NoRoute => "no_route",
            Self::NeighQueueFull => "neigh_queue_full",
            Self::NeighUnresolved => "neigh_unresolved",
            Self::NeighTableFull => "neigh_table_full",
            Self::TxFull => "tx_full",
            Self::NoMbuf => "no_mbuf",
            Self::NoDest => "no_dest",
            Self::ConnTableFull => "conn_table_full",
            Self::NoConn => "no_conn",
            Self::DestRemoved => "dest_removed",
            Self::TooBig => "too_big",
            Self::RedirectFull => "redirect_full",
            Self::RedirectMiss => "redirect_miss",
            Self::TtlExceeded => "ttl_exceeded",
            Self::KernelRateLimit => "kernel_rate_limit",
            Self::KernelQueueFull => "kernel_queue_full",
            Self::LaddrExhausted => "laddr_port_exhausted",
            Self::NoLaddr => "no_laddr",
            Self::AckStorm => "ack_storm",
        }
    }
}

/// A counter written by one thread and read by others.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Add `n`. Only the owning worker may call this (load + store is not atomic RMW).
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }
    /// Overwrite (for gauges). Owner only, like `add`.
    #[inline]
    pub fn set(&self, v: u64) {
        self.0.store(v, Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// The generation of the snapshot a worker runs, published after the per-dest gauges of
/// the same tick (Release): a reader that sees it (Acquire) sees those gauges too.
#[derive(Debug, Default)]
pub struct Generation(AtomicU64);

impl Generation {
    /// Owner only.
    pub fn publish(&self, generation: u64) {
        self.0.store(generation, Release);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Acquire)
    }
}

/// One worker's counters for one port, on its own cache lines.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct PortCounters {
    pub rx_packets: Counter,
    pub rx_bytes: Counter,
    pub tx_packets: Counter,
    pub tx_bytes: Counter,
    pub drops: [Counter; DropReason::COUNT],
    /// Frames passed up to the port's kernel twin, and the kernel's frames sent out of
    /// the port (the exception path).
    pub kernel_up: Counter,
    pub kernel_down: Counter,
}

impl PortCounters {
    #[inline]
    pub fn drop(&self, reason: DropReason) {
        self.drops[reason as usize].inc();
    }
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize].get()
    }
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().map(Counter::get).sum()
    }
}

/// What the kernel thread loses on one port's exception path (it alone writes these).
#[derive(Debug, Default)]
pub struct TwinCounters {
    /// Frames for the kernel the twin refused (its queue to the kernel full).
    pub up_dropped: Counter,
    /// Frames from the kernel the worker's ring had no room for.
    pub down_dropped: Counter,
}

/// Everything one worker counts.
#[derive(Debug)]
pub struct CoreStats {
    pub lcore: u32,
    pub ports: Vec<PortCounters>,
    /// Neighbour entries currently held by this core.
    pub neighbours: Counter,
    /// Packets handed to another core because it owns their connection.
    pub redirects_out: Counter,
    /// Packets received from other cores for connections this core owns.
    pub redirects_in: Counter,
    /// Connections (or fragment keys) the owner directory had no room for: their
    /// packets that land on another worker are steered to the client's queue instead.
    pub directory_full: Counter,
    /// ICMP errors this core sent, and those it held back (rate limit, or a sender that
    /// must not get one: RFC 1122 3.2.2).
    pub icmp_errors_sent: Counter,
    pub icmp_errors_suppressed: Counter,
    /// FullNAT segments that should have carried a TOA option but had no room for it
    /// even after pruning (sent without, as DPVS).
    pub toa_no_room: Counter,
    /// FullNAT source ports this core holds (all local addresses), a gauge.
    pub laddr_ports_in_use: Counter,
    /// SYN proxy (`--synproxy`) on this core, and per service (by `Service::id`).
    pub synproxy: SynproxyCounters,
    pub synproxy_services: Vec<SynproxyCounters>,
    /// Connections (and persistence templates) in this core's table; and its capacity.
    pub conns: Counter,
    pub conn_capacity: Counter,
    /// The snapshot generation whose per-dest gauges are published.
    pub adopted: Generation,
    /// Per real server (indexed by `DestId`), as IPVS's per-dest stats.
    pub dests: Vec<DestCounters>,
}

/// What the SYN proxy did on one core.
#[derive(Debug, Default)]
pub struct SynproxyCounters {
    /// Cookie SYN-ACKs sent for SYNs to SYN-proxied services.
    pub cookies_sent: Counter,
    /// Client ACKs whose cookie was valid: a connection was opened to a real server.
    pub cookies_valid: Counter,
    /// Client ACKs (without a connection) whose cookie was stale or forged: answered RST.
    pub cookies_failed: Counter,
    /// SYNs to real servers sent again after no SYN-ACK came.
    pub rs_syn_retransmits: Counter,
    /// Client segments held while the real server's SYN-ACK was awaited.
    pub held: Counter,
    /// Client segments dropped because as many were held already.
    pub held_dropped: Counter,
    /// Real servers that answered the proxied SYN with RST (the client is reset too).
    pub rs_resets: Counter,
}

/// Traffic of one real server on one core (IPVS `ip_vs_stats`).
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct DestCounters {
    pub conns: Counter,
    pub inpkts: Counter,
    pub outpkts: Counter,
    pub inbytes: Counter,
    pub outbytes: Counter,
    /// Active and inactive connections to it on this core (mirrors the table's counts).
    pub active: Counter,
    pub inactive: Counter,
    /// Persistence templates pointing at it (IPVS PersistConn).
    pub persist: Counter,
}

impl DestCounters {
    /// Zeroes every counter when the control thread hands a released id to a new real
    /// server. Breaks the one-writer rule only where no worker writes: the id is in no
    /// worker's snapshot and no connection or template of any worker refers to it.
    pub fn reset(&self) {
        for c in [
            &self.conns,
            &self.inpkts,
            &self.outpkts,
            &self.inbytes,
            &self.outbytes,
            &self.active,
            &self.inactive,
            &self.persist,
        ] {
            c.set(0);
        }
    }

    /// Connections and templates bound to the dest on this core, as last published.
    pub fn held(&self) -> u64 {
        self.active.get() + self.inactive.get() + self.persist.get()
    }
}

impl CoreStats {
    pub fn new(lcore: u32, ports: usize) -> Self {
        Self::with_dests(lcore, ports, 0)
    }

    /// With room for `max_dests` real servers' counters.
    pub fn with_dests(lcore: u32, ports: usize, max_dests: usize) -> Self {
        CoreStats {
            lcore,
            ports: (0..ports).map(|_| PortCounters::default()).collect(),
            neighbours: Counter::default(),
            redirects_out: Counter::default(),
            redirects_in: Counter::default(),
            directory_full: Counter::default(),
            icmp_errors_sent: Counter::default(),
            icmp_errors_suppressed: Counter::default(),
            toa_no_room: Counter::default(),
            laddr_ports_in_use: Counter::default(),
            synproxy: SynproxyCounters::default(),
            synproxy_services: (0..max_dests).map(|_| SynproxyCounters::default()).collect(),
            conns: Counter::default(),
            conn_capacity: Counter::default(),
            adopted: Generation::default(),
            dests: (0..max_dests).map(|_| DestCounters::default()).collect(),
        }
    }

    /// Count one SYN proxy event on this core and for service `service`'s counters.
    #[inline]
    pub fn synproxy_inc(&self, service: Option<u32>, which: fn(&SynproxyCounters) -> &Counter) {
        which(&self.synproxy).inc();
        if let Some(s) = service.and_then(|id| self.synproxy_services.get(id as usize)) {
            which(s).inc();
        }
    }

    /// The counters of real server `id`, if in range.
    #[inline]
    pub fn dest(&self, id: u32) -> Option<&DestCounters> {
        self.dests.get(id as usize)
    }

    /// The counters of `port`; out-of-range ports land on the last port's counters rather
    /// than panicking (callers only pass configured ports).
    #[inline]
    pub fn port(&self, port: u16) -> &PortCounters {
        let i = usize::from(port).min(self.ports.len().saturating_sub(1));
        &self.ports[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_ordered_like_the_enum() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
    }

    #[test]
    fn counters_add_per_port_and_reason() {
        let s = CoreStats::new(3, 2);
        s.port(1).drop(DropReason::UnknownProtocol);
        s.port(1).drop(DropReason::UnknownProtocol);
        s.port(0).rx_packets.add(5);
        assert_eq!(s.port(1).drops(DropReason::UnknownProtocol), 2);
        assert_eq!(s.port(0).drops(DropReason::UnknownProtocol), 0);
        assert_eq!(s.port(1).total_drops(), 2);
        assert_eq!(s.port(0).rx_packets.get(), 5);
        assert_eq!(s.port(9).drops(DropReason::UnknownProtocol), 2, "clamped to the last port");
    }
}
