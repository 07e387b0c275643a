//! Scheduling a first packet into the table: ip_vs_schedule and, for persistent services,
//! ip_vs_sched_persist with its connection templates.

use super::{ConnId, ConnTable, InsertError, NewConn, F_INDEXED, F_TEMPLATE, F_USED, NIL};
use crate::addr::{Addr, Protocol, Tuple};
use crate::sched::{DestView, Scheduler};
use crate::service::{Dest, DestId, FwdMethod, Service, ServiceKey};

/// Outcome of scheduling a new flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheduled {
    /// A connection was created.
    Conn(ConnId),
    /// One-packet scheduling (`-o`, UDP): forward this packet to `svc.dests[dest]`,
    /// nothing is kept.
    OnePacket { dest: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleError {
    /// No usable real server (IPVS answers ICMP port unreachable).
    NoDest,
    /// Table full: refused and counted.
    Full,
    /// The flow already has a connection.
    Exists(ConnId),
    /// FullNAT to a service without local addresses.
    NoLaddr,
    /// FullNAT: no free source port on any of the service's local addresses.
    LaddrExhausted,
}

/// IPPROTO_IP: fwmark templates (`<IPPROTO_IP, caddr, 0, fwmark, 0, daddr, 0>`).
const PROTO_IP: u8 = 0;

impl ConnTable {
    /// The template key for a client of `svc` (ip_vs_sched_persist).
    fn template_tuple(svc: &Service, t: &Tuple, snet: Addr) -> Tuple {
        match svc.key {
            ServiceKey::Fwmark { mark, .. } => {
                Tuple { proto: PROTO_IP, src: snet, sport: 0, dst: Addr::v4(mark.to_be_bytes()), dport: 0 }
            }
            ServiceKey::Proto { port, .. } => Tuple { proto: t.proto, src: snet, sport: 0, dst: t.dst, dport: port },
        }
    }

    /// ip_vs_check_template: its dest is still in the service (and not quiescent when
    /// expire_quiescent_template is set).
    fn template_dest(&self, svc: &Service, tpl: u32) -> Option<usize> {
        let e = self.entry(tpl)?;
        let i = svc.dests.iter().position(|d| d.id == DestId(e.dest))?;
        let d = svc.dests.get(i)?;
        let ok = self.load.get(d.id).available && !(self.cfg.expire_quiescent_template && d.weight == 0);
        ok.then_some(i)
    }

    /// Looks up a live template for `tt`.
    pub fn lookup_template(&self, tt: &Tuple) -> Option<ConnId> {
        self.find_in(tt, true)
    }

    pub(super) fn new_template(
        &mut self,
        tt: &Tuple,
        d: &Dest,
        timeout_s: u32,
        now_ms: u64,
    ) -> Result<u32, ScheduleError> {
        if self.free == NIL {
            self.stats.refused_full += 1;
            return Err(ScheduleError::Full);
        }
        let Some(mut e) = self.entry_for([tt.src, tt.dst, d.addr, Addr::UNSPECIFIED]) else {
            self.stats.refused_full += 1;
            self.stats.refused_v6 += 1;
            return Err(ScheduleError::Full);
        };
        let Some(idx) = self.alloc() else {
            self.release_lines(&e);
            self.stats.refused_full += 1;
            return Err(ScheduleError::Full);
        };
        e.vport = tt.dport;
        e.dport = d.port;
        e.link = 0;
        e.tmo = timeout_s;
        e.dest = d.id.0;
        e.proto = tt.proto;
        e.flags |= F_USED | F_TEMPLATE | F_INDEXED;
        e.fwd = super::fwd_code(d.fwd);
        let ticks = self.wheel.ticks_ceil(u64::from(timeout_s) * 1000);
        self.place(idx, e, now_ms, ticks);
        self.load.add_persist(d.id, 1);
        self.templates += 1;
        Ok(idx)
    }

    /// Schedules the first packet `t` (client -> VIP) of a flow for service `svc` with this
    /// service's scheduler instance, honouring persistence and one-packet scheduling, and
    /// inserts the connection; a FullNAT connection gets a local address and port from
    /// this worker's pools.
    pub fn schedule(
        &mut self,
        svc: &Service,
        sched: &mut dyn Scheduler,
        t: &Tuple,
        now_ms: u64,
    ) -> Result<Scheduled, ScheduleError> {
        self.schedule_hashed(svc, sched, t, None, now_ms)
    }

    /// [`ConnTable::schedule`] with `t`'s hash when the caller has it.
    pub(crate) fn schedule_hashed(
        &mut self,
        svc: &Service,
        sched: &mut dyn Scheduler,
        t: &Tuple,
        hash: Option<u64>,
        now_ms: u64,
    ) -> Result<Scheduled, ScheduleError> {
        let proto = Protocol::from_number(t.proto).ok_or(ScheduleError::NoDest)?;
        let mut tpl = NIL;
        let di = if let Some(p) = svc.persistence {
            let tt = Self::template_tuple(svc, t, t.src.masked(p.prefix));
            let found = self.lookup_template(&tt);
            let valid = found.and_then(|id| self.template_dest(svc, id.0).map(|i| (id, i)));
            match (found, valid) {
                (_, Some((id, i))) => {
                    tpl = id.0;
                    i
                }
                (stale, None) => {
                    if let Some(id) = stale {
                        // Invalid template: unhash it; it goes once its conns are gone.
                        self.unindex(id.0);
                        let d = self.wheel.tick(now_ms);
                        self.wheel.arm(&mut self.slab, id.0, d);
                    }
                    let i = self.pick(svc, sched, t, now_ms)?;
                    let d = svc.dests.get(i).ok_or(ScheduleError::NoDest)?;
                    tpl = self.new_template(&tt, d, p.timeout_s, now_ms)?;
                    i
                }
            }
        } else {
            self.pick(svc, sched, t, now_ms)?
        };
        let d = *svc.dests.get(di).ok_or(ScheduleError::NoDest)?;
        if svc.one_packet && proto == Protocol::Udp {
            return Ok(Scheduled::OnePacket { dest: di });
        }
        let svc_port = match svc.key {
            ServiceKey::Proto { port, .. } => port,
            ServiceKey::Fwmark { .. } => 0,
        };
        let dport = if d.port != 0 && (tpl == NIL || t.dport == svc_port) { d.port } else { t.dport };
        let (laddr, lport) =
            if d.fwd == FwdMethod::FullNat { self.local_port(svc, &d.addr, dport)? } else { (Addr::UNSPECIFIED, 0) };
        let nc = NewConn {
            proto,
            caddr: t.src,
            cport: t.sport,
            vaddr: t.dst,
            vport: t.dport,
            daddr: d.addr,
            dport,
            laddr,
            lport,
            dest: d.id,
            fwd: d.fwd,
        };
        let inserted = self.insert_hashed(&nc, hash, now_ms);
        if inserted.is_err() && lport != 0 {
            self.ports.release(&laddr, &d.addr, dport, lport);
        }
        let id = inserted.map_err(|e| match e {
            InsertError::Full => ScheduleError::Full,
            InsertError::Exists(id) => ScheduleError::Exists(id),
        })?;
        // Sequence state for TCP; a UDP FullNAT connection only needs a record to carry
        // its PROXY v2 header.
        let xt = match proto {
            Protocol::Tcp => d.fwd == FwdMethod::FullNat || svc.synproxy,
            _ => d.fwd == FwdMethod::FullNat && svc.proxy_protocol.is_some(),
        };
        if xt && !self.attach_xt(id, svc) {
            return Err(ScheduleError::Full);
        }
        if tpl != NIL {
            // ip_vs_control_add + ip_vs_conn_put(ct): count it, re-arm the template.
            if let Some(c) = self.slab.0.get_mut(id.0 as usize) {
                c.link = tpl;
            }
            let timeout = match self.slab.0.get_mut(tpl as usize) {
                Some(te) => {
                    te.link += 1;
                    te.tmo
                }
                None => 0,
            };
            let dl = self.wheel.tick(now_ms) + self.wheel.ticks_ceil(u64::from(timeout) * 1000);
            self.wheel.arm(&mut self.slab, tpl, dl);
        }
        Ok(Scheduled::Conn(id))
    }

    /// A FullNAT source: the service's local addresses in turn from where the last
    /// connection left off (DPVS tries each), the first with a free port towards the
    /// real server. One pick in 20 skips an address (DPVS's 5%), so an rr rotation of
    /// real servers and this one never fall into lockstep (with two servers and an even
    /// number of addresses each address would only ever serve one server).
    fn local_port(&mut self, svc: &Service, daddr: &Addr, dport: u16) -> Result<(Addr, u16), ScheduleError> {
        let n = svc.laddrs.len();
        if n == 0 {
            return Err(ScheduleError::NoLaddr);
        }
        for k in 0..n {
            let i = (self.laddr_next as usize + k) % n;
            let Some(l) = svc.laddrs.get(i) else { continue };
            if let Some(p) = self.ports.alloc(l, daddr, dport) {
                self.laddr_picks = self.laddr_picks.wrapping_add(1);
                let skip = usize::from(self.laddr_picks.is_multiple_of(20));
                self.laddr_next = ((i + 1 + skip) % n) as u32;
                return Ok((*l, p));
            }
        }
        self.stats.laddr_exhausted += 1;
        Err(ScheduleError::LaddrExhausted)
    }

    fn pick(
        &mut self,
        svc: &Service,
        sched: &mut dyn Scheduler,
        t: &Tuple,
        now_ms: u64,
    ) -> Result<usize, ScheduleError> {
        let v = DestView::new(&svc.dests, &self.load);
        match sched.pick(&v, t, now_ms) {
            Some(i) => Ok(i),
            None => {
                self.stats.no_dest_available += 1;
                Err(ScheduleError::NoDest)
            }
        }
    }
}
