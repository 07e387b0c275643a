//! IPVS connection sync (`ip_vs_sync.c`), the workers' side: each worker has an outbox
//! (master: records of connections to send) and an inbox (backup: records received),
//! bounded lock-free queues the sync thread drains and fills. A worker never blocks on
//! them: a full outbox drops the record and counts it.
//!
//! [`SyncRecord`] is what a queue holds (plain data, no allocation);
//! [`SyncRecord::to_repr`] and [`SyncRecord::from_repr`] translate it to and from the
//! wire's protocol v1 record, with rvs's optional options for what IPVS cannot carry.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crossbeam::queue::ArrayQueue;
use wire::ipvs_sync::{conn_flags, opt, SyncConnRepr, SyncOptionRepr};

use crate::addr::Addr;
use crate::conn::xt::TcpExt;
use crate::rss::Rss;
use crate::service::{FwdMethod, Snapshot};

/// `sync_threshold`: a connection is first sent at its 3rd inbound packet...
pub const SYNC_THRESHOLD: u32 = 3;
/// ... then every `sync_period` packets.
pub const SYNC_PERIOD: u32 = 50;
/// Records a worker applies per timer tick (10 ms): 100k/s per worker.
pub const APPLY_PER_TICK: usize = 1024;
/// Default queue sizes per worker.
pub const QUEUE_LEN: usize = 16384;

/// One connection or template as synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncRecord {
    pub proto: u8,
    pub template: bool,
    /// Not counted in ActiveConn (`IP_VS_CONN_F_INACTIVE`).
    pub inactive: bool,
    /// No reply seen yet (`IP_VS_CONN_F_NOOUTPUT`).
    pub nooutput: bool,
    pub fwd: FwdMethod,
    /// `IP_VS_TCP_S_*` (TCP), 0 otherwise.
    pub state: u8,
    pub caddr: Addr,
    pub cport: u16,
    pub vaddr: Addr,
    pub vport: u16,
    pub daddr: Addr,
    pub dport: u16,
    /// FullNAT local address and port (unspecified, 0 otherwise).
    pub laddr: Addr,
    pub lport: u16,
    /// Firewall mark of a fwmark template (its `vaddr` holds the mark, as IPVS keys it).
    pub fwmark: u32,
    /// Seconds.
    pub timeout: u32,
    /// FullNAT / SYN proxy TCP state.
    pub xt: Option<TcpExt>,
}

/// Counters of one worker's sync side (written by the worker, read by metrics).
#[derive(Debug, Default)]
pub struct SyncCounters {
    /// Records pushed to the outbox.
    pub queued: AtomicU64,
    /// Records dropped: outbox full.
    pub out_dropped: AtomicU64,
    /// Received records applied (created or updated a connection).
    pub applied: AtomicU64,
    /// Received records for an unknown service or real server.
    pub unknown_dest: AtomicU64,
    /// Received records refused (table full, bad state, key taken by another).
    pub refused: AtomicU64,
}

/// One worker's queues. `master`: the worker fills the outbox.
#[derive(Debug)]
pub struct SyncQueues {
    pub master: bool,
    pub outbox: ArrayQueue<SyncRecord>,
    pub inbox: ArrayQueue<SyncRecord>,
    pub counters: SyncCounters,
}

impl SyncQueues {
    pub fn new(master: bool, len: usize) -> SyncQueues {
        let len = len.max(1);
        SyncQueues {
            master,
            outbox: ArrayQueue::new(len),
            inbox: ArrayQueue::new(len),
            counters: SyncCounters::default(),
        }
    }

    /// Worker: queue `r` for sending; never blocks, a full outbox drops and counts.
    #[inline]
    pub fn send(&self, r: SyncRecord) {
        if self.outbox.push(r).is_ok() {
            self.counters.queued.fetch_add(1, Relaxed);
        } else {
            self.counters.out_dropped.fetch_add(1, Relaxed);
        }
    }
}

/// The worker that owns `r` on this director: the one whose queue its client's packets
/// reach (the balancer's `home`: the persistence netmask's network for such services).
pub fn home_worker(rss: &Rss, workers: u32, snap: &Snapshot, r: &SyncRecord) -> usize {
    let workers = workers.max(1);
    if workers == 1 {
        return 0;
    }
    let full = if r.caddr.is_v4() { 32 } else { 128 };
    let prefix = snap
        .find(r.proto, r.vaddr, r.vport, r.fwmark)
        .and_then(|i| snap.service(i))
        .and_then(|s| s.persistence)
        .map_or(full, |p| p.prefix);
    (u32::from(rss.queue_of(r.caddr.masked(prefix))) % workers) as usize
}

fn ip(a: Addr, v6: bool) -> IpAddr {
    match (a.to_ip(), v6) {
        (IpAddr::V4(v4), true) => IpAddr::V6(v4.to_ipv6_mapped()),
        (IpAddr::V6(v6a), false) => v6a.to_ipv4_mapped().map_or(IpAddr::V6(v6a), IpAddr::V4),
        (x, _) => x,
    }
}

fn be32(d: &[u8], i: usize) -> u32 {
    d.get(i..i + 4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be16(d: &[u8], i: usize) -> u16 {
    d.get(i..i + 2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
}

fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_be_bytes()).collect()
}

impl SyncRecord {
    /// The v1 record. FullNAT travels as masquerading with rvs's optional records:
    /// 0x50 local address and port, 0x51 FullNAT sequence state, 0x52 SYN proxy state,
    /// 0x53 timestamp offsets (a kernel backup skips them).
    pub fn to_repr(&self) -> SyncConnRepr {
        let v6 = !(self.caddr.is_v4() && self.vaddr.is_v4() && self.daddr.is_v4());
        let mut flags = match self.fwd {
            FwdMethod::Masq | FwdMethod::FullNat => conn_flags::MASQ,
            FwdMethod::Tunnel => conn_flags::TUNNEL,
            FwdMethod::Route => conn_flags::DROUTE,
        };
        for (on, f) in [
            (self.inactive, conn_flags::INACTIVE),
            (self.nooutput, conn_flags::NOOUTPUT),
            (self.template, conn_flags::TEMPLATE),
        ] {
            if on {
                flags |= f;
            }
        }
        let mut options = Vec::new();
        if self.fwd == FwdMethod::FullNat && !self.template {
            let mut d: Vec<u8> = match ip(self.laddr, v6) {
                IpAddr::V4(a) => a.octets().to_vec(),
                IpAddr::V6(a) => a.octets().to_vec(),
            };
            d.extend_from_slice(&self.lport.to_be_bytes());
            options.push(SyncOptionRepr::Raw { kind: opt::RVS_FNAT_LADDR, data: d });
        }
        if let Some(x) = &self.xt {
            let mut d = words(&[x.delta, x.rs_isn1, x.pp_seq, x.c_nxt, x.r_nxt]);
            d.extend_from_slice(&[x.flags, x.pp_len]);
            options.push(SyncOptionRepr::Raw { kind: opt::RVS_FNAT_SEQ, data: d });
            let mut d = words(&[x.isn_vs, x.out_delta]);
            d.extend_from_slice(&[x.sp, x.ws_vs, x.ws_rs, x.ws_client]);
            d.extend_from_slice(&x.mss.to_be_bytes());
            options.push(SyncOptionRepr::Raw { kind: opt::RVS_SYNPROXY_SEQ, data: d });
            let d = words(&[x.ts_in, x.ts_out, x.ts_client, x.ts_vs]);
            options.push(SyncOptionRepr::Raw { kind: opt::RVS_TCP_TS, data: d });
        }
        SyncConnRepr {
            v6,
            protocol: self.proto,
            flags,
            state: u16::from(self.state),
            cport: self.cport,
            vport: self.vport,
            dport: self.dport,
            fwmark: self.fwmark,
            timeout: self.timeout,
            caddr: ip(self.caddr, v6),
            vaddr: ip(self.vaddr, v6),
            daddr: ip(self.daddr, v6),
            options,
        }
    }

    /// A received record. The forwarding method is the real server's on the backup
    /// (IPVS: connections inherit it from their dest); here it is MASQ, or FullNAT when
    /// the local-address option is present.
    pub fn from_repr(r: &SyncConnRepr) -> SyncRecord {
        let template = r.flags & conn_flags::TEMPLATE != 0;
        let mut fwd = match r.flags & conn_flags::FWD_MASK {
            conn_flags::TUNNEL => FwdMethod::Tunnel,
            conn_flags::DROUTE => FwdMethod::Route,
            _ => FwdMethod::Masq,
        };
        let (mut laddr, mut lport) = (Addr::UNSPECIFIED, 0);
        if let Some(d) = r.raw_option(opt::RVS_FNAT_LADDR) {
            let a = match d.len() {
                6 => Some(Addr::v4([d[0], d[1], d[2], d[3]])),
                18 => <[u8; 16]>::try_from(&d[..16]).ok().map(|o| Addr::from(IpAddr::from(o))),
                _ => None,
            };
            if let Some(a) = a {
                laddr = a;
                lport = be16(d, d.len() - 2);
                fwd = FwdMethod::FullNat;
            }
        }
        let xt = r.raw_option(opt::RVS_FNAT_SEQ).filter(|d| d.len() == 22).map(|d| {
            let mut x = TcpExt {
                delta: be32(d, 0),
                rs_isn1: be32(d, 4),
                pp_seq: be32(d, 8),
                c_nxt: be32(d, 12),
                r_nxt: be32(d, 16),
                flags: d[20],
                pp_len: d[21],
                ..TcpExt::default()
            };
            if let Some(s) = r.raw_option(opt::RVS_SYNPROXY_SEQ).filter(|s| s.len() == 14) {
                (x.isn_vs, x.out_delta) = (be32(s, 0), be32(s, 4));
                (x.sp, x.ws_vs, x.ws_rs, x.ws_client) = (s[8], s[9], s[10], s[11]);
                x.mss = be16(s, 12);
            }
            if let Some(t) = r.raw_option(opt::RVS_TCP_TS).filter(|t| t.len() == 16) {
                (x.ts_in, x.ts_out, x.ts_client, x.ts_vs) = (be32(t, 0), be32(t, 4), be32(t, 8), be32(t, 12));
            }
            x
        });
        SyncRecord {
            proto: r.protocol,
            template,
            inactive: r.flags & conn_flags::INACTIVE != 0,
            nooutput: r.flags & conn_flags::NOOUTPUT != 0,
            fwd,
            state: u8::try_from(r.state).unwrap_or(u8::MAX),
            caddr: Addr::from(r.caddr),
            cport: r.cport,
            vaddr: Addr::from(r.vaddr),
            vport: r.vport,
            daddr: Addr::from(r.daddr),
            dport: r.dport,
            laddr,
            lport,
            fwmark: r.fwmark,
            timeout: r.timeout,
            xt,
        }
    }
}
