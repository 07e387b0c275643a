//! IPVS connection sync in the table: which packets queue a record (the master's
//! `ip_vs_sync_conn` rules), and a received record applied (the backup's
//! `ip_vs_proc_conn`).

use std::sync::Arc;

use super::entry::{addrs, Entry};
use super::{
    ConnId, ConnTable, Dir, InsertError, NewConn, TcpState, FWD_CODES, F_INACTIVE, F_NOOUTPUT, F_TEMPLATE, F_USED,
};
use crate::addr::{Addr, Protocol, Tuple};
use crate::service::{DestId, FwdMethod, Snapshot};
use crate::sync::{SyncQueues, SyncRecord, SYNC_PERIOD, SYNC_THRESHOLD};
use crate::timer::NIL;

/// Why a received record was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyError {
    /// No such service or real server here (counted, dropped, as IPVS without a dest
    /// would keep it unbound; rvs binds every connection).
    UnknownDest,
    /// Table full, a state out of range, or a reply key held by another connection.
    Refused,
}

/// Master: every connection is sent again at least this often, idle or not, so that a
/// backup joining later (a director back from a failure, before it preempts) holds the
/// whole table within one period. IPVS resends only on packets (`sync_period`,
/// `sync_refresh_period`): an idle connection would never reach a new backup.
pub const SYNC_REFRESH_MS: u64 = 8_000;
/// Table slots the refresh visits per timer tick at most.
const REFRESH_SLOTS_MAX: u64 = 8192;

/// Where the master's refresh walk is.
#[derive(Debug, Default)]
pub(super) struct Refresh {
    last_ms: u64,
    /// Slot-milliseconds owed: `elapsed × capacity`, paid `SYNC_REFRESH_MS` per slot.
    debt: u64,
    next: u32,
}

/// TCP states a master syncs in (IPVS: the others are transient).
fn synced_state(s: u8) -> bool {
    const SYNCED: u32 = 1 << TcpState::Established as u8
        | 1 << TcpState::FinWait as u8
        | 1 << TcpState::Close as u8
        | 1 << TcpState::CloseWait as u8
        | 1 << TcpState::TimeWait as u8;
    s < 32 && SYNCED & (1 << s) != 0
}

impl ConnTable {
    /// Master: queue records in `q`'s outbox (`None` or a backup's queues: sync off).
    pub fn set_sync(&mut self, q: Option<Arc<SyncQueues>>) {
        self.sync = q.filter(|q| q.master);
    }

    /// After a packet of connection `idx` (sync on): inbound packets are counted in
    /// `tmo` (unused by connections), and a record is queued as IPVS does: a TCP state
    /// change into a synced state at once (ESTABLISHED too, so that idle connections
    /// reach the backup), else at packet `sync_threshold` then every `sync_period`
    /// (TCP only in synced states); its template follows it.
    #[inline(never)]
    pub(super) fn sync_packet(&mut self, idx: u32, dir: Dir, changed: bool) {
        let Some(e) = self.slab.0.get_mut(idx as usize) else { return };
        if dir == Dir::In {
            e.tmo = e.tmo.wrapping_add(1);
        }
        let e = *e;
        let tcp = e.proto == Protocol::Tcp.number();
        if tcp && !synced_state(e.state) {
            return;
        }
        let periodic = dir == Dir::In && e.tmo % SYNC_PERIOD == SYNC_THRESHOLD;
        if !(periodic || tcp && changed) {
            return;
        }
        let Some(q) = &self.sync else { return };
        q.send(self.record(&e));
        if let Some(t) = self.slab.0.get(e.link as usize).filter(|t| e.link != NIL && t.is(F_TEMPLATE)) {
            q.send(self.record(t));
        }
    }

    /// Master (sync on), at a timer tick: send the next slots' connections again, at a
    /// pace that walks the whole table every [`SYNC_REFRESH_MS`].
    pub fn sync_refresh(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.refresh.last_ms);
        self.refresh.last_ms = now_ms;
        let Some(q) = self.sync.clone() else {
            self.refresh.debt = 0;
            return;
        };
        let cap = self.slab.0.len() as u32;
        let debt = self.refresh.debt.saturating_add(elapsed.saturating_mul(u64::from(cap)));
        let n = (debt / SYNC_REFRESH_MS).min(REFRESH_SLOTS_MAX);
        self.refresh.debt = (debt - n * SYNC_REFRESH_MS).min(SYNC_REFRESH_MS);
        for _ in 0..n {
            let i = self.refresh.next;
            self.refresh.next = if i + 1 >= cap { 0 } else { i + 1 };
            let Some(e) = self.slab.0.get(i as usize).filter(|e| e.is(F_USED)) else { continue };
            if e.proto == Protocol::Tcp.number() && !e.is(F_TEMPLATE) && !synced_state(e.state) {
                continue;
            }
            q.send(self.record(e));
        }
    }

    /// The record of entry `e` (a connection's timeout is its state's).
    pub(super) fn record(&self, e: &Entry) -> SyncRecord {
        let [caddr, vaddr, daddr, laddr] = addrs(e, &self.pool);
        let template = e.is(F_TEMPLATE);
        let timeout = if template {
            e.tmo
        } else {
            match Protocol::from_number(e.proto) {
                Some(Protocol::Tcp) => self.timeouts.tcp.get(usize::from(e.state)).copied().unwrap_or(0),
                Some(Protocol::Udp) => self.timeouts.udp,
                _ => self.timeouts.sctp,
            }
        };
        let fwmark =
            if template && e.proto == 0 { u32::from_be_bytes(vaddr.0[12..16].try_into().unwrap_or([0; 4])) } else { 0 };
        SyncRecord {
            proto: e.proto,
            template,
            inactive: e.is(F_INACTIVE),
            nooutput: e.is(F_NOOUTPUT),
            fwd: FWD_CODES.get(usize::from(e.fwd)).copied().unwrap_or_default(),
            state: if template { 0 } else { e.state },
            caddr,
            cport: e.cport,
            vaddr,
            vport: e.vport,
            daddr,
            dport: e.dport,
            laddr: if template { Addr::UNSPECIFIED } else { laddr },
            lport: if template { 0 } else { e.lport },
            fwmark,
            timeout,
            xt: (e.xt != NIL).then(|| self.xts.get(e.xt).copied()).flatten(),
        }
    }

    /// The record of connection `id` (tests, tools).
    pub fn sync_record(&self, id: ConnId) -> Option<SyncRecord> {
        self.entry(id.0).map(|e| self.record(e))
    }

    /// Backup: create or update the connection (or template) `r` describes, in the
    /// master's state with the master's timeout, bound to the real server of `snap` with
    /// its address and port; one bound to another real server is replaced.
    pub fn apply_sync(&mut self, r: &SyncRecord, snap: &Snapshot, now_ms: u64) -> Result<ConnId, ApplyError> {
        let fwmark = if r.template { r.fwmark } else { 0 };
        let svc = snap.find(r.proto, r.vaddr, r.vport, fwmark).and_then(|i| snap.service(i));
        let svc = svc.ok_or(ApplyError::UnknownDest)?;
        let d = *svc
            .dests
            .iter()
            .find(|d| d.addr == r.daddr && (d.port == r.dport || d.port == 0))
            .ok_or(ApplyError::UnknownDest)?;
        if r.template {
            return self.apply_template(r, &d, now_ms);
        }
        let proto = Protocol::from_number(r.proto).ok_or(ApplyError::Refused)?;
        if proto == Protocol::Tcp && usize::from(r.state) >= super::tcp::TCP_STATES {
            return Err(ApplyError::Refused);
        }
        let tin = Tuple::new(proto, r.caddr, r.cport, r.vaddr, r.vport);
        let fnat = d.fwd == FwdMethod::FullNat;
        if fnat && r.lport == 0 {
            return Err(ApplyError::Refused);
        }
        let id = match self.find_in(&tin, false) {
            Some(id) if self.entry(id.0).is_some_and(|e| e.dest == d.id.0) => id,
            found => {
                if let Some(old) = found {
                    self.remove(old);
                }
                let nc = NewConn {
                    proto,
                    caddr: r.caddr,
                    cport: r.cport,
                    vaddr: r.vaddr,
                    vport: r.vport,
                    daddr: d.addr,
                    dport: r.dport,
                    laddr: r.laddr,
                    lport: r.lport,
                    dest: d.id,
                    fwd: d.fwd,
                };
                let id = self.insert(&nc, now_ms).map_err(|e| match e {
                    InsertError::Full | InsertError::Exists(_) => ApplyError::Refused,
                })?;
                if proto == Protocol::Tcp && (fnat || svc.synproxy) && !self.attach_xt(id, svc) {
                    return Err(ApplyError::Refused);
                }
                // The master's port: no connection of ours may take it meanwhile.
                if fnat {
                    self.ports.claim(&r.laddr, &d.addr, r.dport, r.lport);
                }
                id
            }
        };
        if let (Some(x), Some(mine)) = (r.xt, self.xt_mut(id)) {
            *mine = x;
        }
        let Some(e) = self.slab.0.get_mut(id.0 as usize) else { return Err(ApplyError::Refused) };
        e.state = if proto == Protocol::Tcp { r.state } else { 0 };
        let was_active = !e.is(F_INACTIVE);
        if was_active == r.inactive {
            e.flags ^= F_INACTIVE;
            self.load.set_active(DestId(e.dest), !r.inactive);
        }
        let ticks = self.wheel.ticks_ceil(u64::from(r.timeout) * 1000);
        let dl = self.deadline(now_ms, ticks);
        self.wheel.arm(&mut self.slab, id.0, dl);
        Ok(id)
    }

    fn apply_template(&mut self, r: &SyncRecord, d: &crate::service::Dest, now_ms: u64) -> Result<ConnId, ApplyError> {
        let tt = Tuple { proto: r.proto, src: r.caddr, sport: r.cport, dst: r.vaddr, dport: r.vport };
        if let Some(id) = self.lookup_template(&tt) {
            let same = self.entry(id.0).is_some_and(|e| e.dest == d.id.0);
            let controls = self.entry(id.0).is_some_and(|e| e.link > 0);
            if same || controls {
                if let Some(e) = self.slab.0.get_mut(id.0 as usize) {
                    e.tmo = r.timeout;
                }
                let dl = self.deadline(now_ms, self.wheel.ticks_ceil(u64::from(r.timeout) * 1000));
                self.wheel.arm(&mut self.slab, id.0, dl);
                return if same { Ok(id) } else { Err(ApplyError::Refused) };
            }
            self.remove(id);
        }
        let mut d = *d;
        d.port = r.dport;
        self.new_template(&tt, &d, r.timeout, now_ms).map(ConnId).map_err(|_| ApplyError::Refused)
    }
}
