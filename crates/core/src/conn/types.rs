//! Public types of the connection table API.

use super::entry::{addrs, Entry, Pool6};
use super::{ConnId, TcpState, FWD_CODES, F_TEMPLATE};
use crate::addr::{Addr, Protocol};
use crate::service::{Dest, DestId, FwdMethod};

/// Table sizing and IPVS sysctls.
#[derive(Clone, Copy, Debug)]
pub struct ConnConfig {
    /// Connections + templates this core can hold (<= [`super::MAX_ENTRIES`]).
    pub capacity: u32,
    /// Size of the per-core [`crate::service::DestLoad`].
    pub max_dests: u32,
    /// Worker cores sharing dest thresholds.
    pub workers: u32,
    /// Timer tick = 2^tick_shift ms.
    pub tick_shift: u32,
    /// Wheel of 2^wheel_bits slots (default 2^16 x 16 ms = 17.5 min per revolution).
    pub wheel_bits: u32,
    /// IPv6 connections and templates this core can hold (`None`: half of `capacity`):
    /// their addresses take a second cache line each, from a pool of this size.
    pub capacity_v6: Option<u32>,
    /// FullNAT and SYN-proxied TCP connections this core can hold (`None`: a quarter of
    /// `capacity`): each takes 48 bytes of sequence state from a pool of this size,
    /// allocated when the first service needs it.
    pub capacity_fullnat: Option<u32>,
    /// FullNAT source ports, first and last (DPVS's 1025-65535); each worker owns
    /// those whose low bits are its index.
    pub lports: (u16, u16),
    /// sysctl expire_nodest_conn.
    pub expire_nodest_conn: bool,
    /// sysctl expire_quiescent_template.
    pub expire_quiescent_template: bool,
    /// sysctl conn_reuse_mode (default 1): a SYN on a TIME_WAIT conn (bit 2 also:
    /// FIN_WAIT without replies) not controlled by a template expires it for rescheduling.
    pub conn_reuse_mode: u8,
}

impl ConnConfig {
    /// The capacity the table is built with: `capacity` within 1..=[`super::MAX_ENTRIES`]
    /// (the most its index can name). This, not `capacity`, is what gets reported.
    pub fn effective_capacity(&self) -> u32 {
        self.capacity.clamp(1, super::MAX_ENTRIES)
    }

    /// The IPv6 pool the table is built with: `capacity_v6` (default half the effective
    /// capacity), at most the effective capacity.
    pub fn effective_capacity_v6(&self) -> u32 {
        let cap = self.effective_capacity();
        self.capacity_v6.unwrap_or(cap.div_ceil(2)).min(cap)
    }

    /// The FullNAT and SYN-proxy TCP pool (allocated with the first service that needs
    /// it): `capacity_fullnat` (default a quarter of the effective capacity), at most the
    /// effective capacity.
    pub fn effective_capacity_fullnat(&self) -> u32 {
        let cap = self.effective_capacity();
        self.capacity_fullnat.unwrap_or(cap.div_ceil(4)).min(cap)
    }
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            capacity: 1 << 20,
            capacity_v6: None,
            capacity_fullnat: None,
            lports: super::laddr::DEFAULT_LPORTS,
            max_dests: 4096,
            workers: 1,
            tick_shift: 4,
            wheel_bits: 16,
            expire_nodest_conn: false,
            expire_quiescent_template: false,
            conn_reuse_mode: 1,
        }
    }
}

/// A connection to insert (the forward key plus where it goes).
#[derive(Clone, Copy, Debug)]
pub struct NewConn {
    pub proto: Protocol,
    pub caddr: Addr,
    pub cport: u16,
    pub vaddr: Addr,
    pub vport: u16,
    pub daddr: Addr,
    pub dport: u16,
    /// FullNAT local address/port (ignored for other methods).
    pub laddr: Addr,
    pub lport: u16,
    pub dest: DestId,
    pub fwd: FwdMethod,
}

impl NewConn {
    /// A connection from `client` to the virtual service `vip` on real server `dest`
    /// (tests, benches and tools; the balancer builds its own from a packet).
    pub fn to_dest(proto: Protocol, client: (Addr, u16), vip: (Addr, u16), dest: &Dest) -> NewConn {
        NewConn {
            proto,
            caddr: client.0,
            cport: client.1,
            vaddr: vip.0,
            vport: vip.1,
            daddr: dest.addr,
            dport: dest.port,
            laddr: Addr::UNSPECIFIED,
            lport: 0,
            dest: dest.id,
            fwd: dest.fwd,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// Capacity reached: the new connection is refused (and counted).
    Full,
    /// A connection with this key (in or reply) exists.
    Exists(ConnId),
}

/// What to do with a packet of an existing connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Forward,
    /// Its dest was removed and expire_nodest_conn = 0: drop, keep the conn.
    DropNoDest,
    /// The conn is gone (its dest was removed and expire_nodest_conn = 1, or a SYN reused
    /// a TIME_WAIT conn): treat the packet as a miss, a SYN is scheduled anew.
    Expired,
}

/// Per-core counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    pub inserted: u64,
    pub refused_full: u64,
    /// Of `refused_full`: the IPv6 address pool was exhausted (`capacity_v6`).
    pub refused_v6: u64,
    /// Of `refused_full`: the FullNAT TCP pool was exhausted (`capacity_fullnat`).
    pub refused_fullnat: u64,
    /// New FullNAT connections refused: no free source port on any local address.
    pub laddr_exhausted: u64,
    pub expired: u64,
    pub dropped_nodest: u64,
    pub expired_nodest: u64,
    pub no_dest_available: u64,
    /// Departures of shared connections not queued (more than `DEPARTED` removed between
    /// two drains): their owner-directory entries stay until the key is reused.
    pub departed_lost: u64,
}

/// A read-only view of one connection for the data path.
#[derive(Clone, Copy)]
pub struct ConnRef<'a> {
    e: &'a Entry,
    a: [Addr; 4],
}

impl<'a> ConnRef<'a> {
    #[inline]
    pub(super) fn new(e: &'a Entry, pool: &Pool6) -> Self {
        ConnRef { e, a: addrs(e, pool) }
    }
    pub fn dest(&self) -> DestId {
        DestId(self.e.dest)
    }
    pub fn daddr(&self) -> Addr {
        self.a[2]
    }
    pub fn dport(&self) -> u16 {
        self.e.dport
    }
    pub fn laddr(&self) -> Addr {
        self.a[3]
    }
    pub fn lport(&self) -> u16 {
        self.e.lport
    }
    pub fn caddr(&self) -> Addr {
        self.a[0]
    }
    pub fn cport(&self) -> u16 {
        self.e.cport
    }
    pub fn vaddr(&self) -> Addr {
        self.a[1]
    }
    pub fn vport(&self) -> u16 {
        self.e.vport
    }
    pub fn fwd(&self) -> FwdMethod {
        FWD_CODES.get(usize::from(self.e.fwd)).copied().unwrap_or_default()
    }
    pub fn tcp_state(&self) -> TcpState {
        TcpState::from_u8(self.e.state)
    }
    pub fn is_template(&self) -> bool {
        self.e.is(F_TEMPLATE)
    }
}
