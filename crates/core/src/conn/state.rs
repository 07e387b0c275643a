//! A connection's packets: IPVS's TCP state machine with exact active/inactive
//! accounting, timers re-armed by state, and connection reuse (conn_reuse_mode).

use super::entry::Entry;
use super::{
    tcp, ConnId, ConnTable, Dir, TcpFlags, TcpState, Verdict, F_INACTIVE, F_NOOUTPUT, F_TEMPLATE, F_USED, NIL,
};
use crate::addr::Protocol;
use crate::service::DestId;

impl ConnTable {
    /// Applies one packet: TCP state transition (set_tcp_state) with exact active/inactive
    /// accounting, and re-arms the timer with the state's timeout.
    #[inline]
    pub fn on_packet(&mut self, id: ConnId, dir: Dir, flags: TcpFlags, now_ms: u64) -> Verdict {
        let Some(e) = self.slab.0.get(id.0 as usize).filter(|e| e.flags & (F_USED | F_TEMPLATE) == F_USED) else {
            return Verdict::Expired;
        };
        let dest = DestId(e.dest);
        let mut changed = false;
        if !self.load.available(dest) {
            if self.cfg.expire_nodest_conn {
                self.stats.expired_nodest += 1;
                self.remove(id);
                return Verdict::Expired;
            }
            self.stats.dropped_nodest += 1;
            return Verdict::DropNoDest;
        }
        let ticks = if e.proto == Protocol::Tcp.number() {
            if dir == Dir::In && flags.0 & TcpFlags::SYN != 0 && self.reusable(e) {
                // ip_vs_in: is_new_conn_expected -> ip_vs_conn_expire_now.
                self.remove(id);
                return Verdict::Expired;
            }
            let mut input_only = false;
            let mut f = e.flags;
            if f & F_NOOUTPUT != 0 {
                if dir == Dir::Out {
                    f &= !F_NOOUTPUT;
                } else {
                    input_only = true;
                }
            }
            let cur = TcpState::from_u8(e.state);
            let new = tcp::next_state(cur, dir, input_only, flags);
            changed = new != cur;
            if new != cur {
                if f & F_INACTIVE == 0 && !new.is_active() {
                    self.load.set_active(dest, false);
                    f |= F_INACTIVE;
                } else if f & F_INACTIVE != 0 && new.is_active() {
                    self.load.set_active(dest, true);
                    f &= !F_INACTIVE;
                }
            }
            // Write back only what changed: an established connection's line stays clean.
            if new != cur || f != e.flags {
                if let Some(e) = self.slab.0.get_mut(id.0 as usize) {
                    e.state = new as u8;
                    e.flags = f;
                }
            }
            self.ticks.get(new as usize).copied().unwrap_or(0)
        } else if e.proto == Protocol::Udp.number() {
            self.ticks[tcp::TCP_STATES]
        } else {
            self.ticks[tcp::TCP_STATES + 1]
        };
        let d = self.deadline(now_ms, ticks);
        self.wheel.arm(&mut self.slab, id.0, d);
        if self.sync.is_some() {
            self.sync_packet(id.0, dir, changed);
        }
        Verdict::Forward
    }

    /// A packet about the connection that is not one of its own (an ICMP error quoting
    /// it): ip_vs_in_icmp never changes the state, but ip_vs_conn_put re-arms the timer
    /// with the current state's timeout. A removed real server's connection is left for
    /// its own packets to expire.
    pub fn touch(&mut self, id: ConnId, now_ms: u64) -> Verdict {
        let Some(e) = self.slab.0.get(id.0 as usize).filter(|e| e.is(F_USED) && !e.is(F_TEMPLATE)) else {
            return Verdict::Expired;
        };
        if !self.load.available(DestId(e.dest)) {
            return Verdict::DropNoDest;
        }
        let ticks = match Protocol::from_number(e.proto) {
            Some(Protocol::Tcp) => self.ticks.get(usize::from(e.state)).copied().unwrap_or(0),
            Some(Protocol::Udp) => self.ticks[tcp::TCP_STATES],
            _ => self.ticks[tcp::TCP_STATES + 1],
        };
        let d = self.deadline(now_ms, ticks);
        self.wheel.arm(&mut self.slab, id.0, d);
        Verdict::Forward
    }

    /// is_new_conn_expected: TIME_WAIT, or (mode bit 2) FIN_WAIT without replies; never
    /// for a conn controlled by a persistence template.
    #[inline]
    fn reusable(&self, e: &Entry) -> bool {
        let mode = self.cfg.conn_reuse_mode;
        let st = TcpState::from_u8(e.state);
        mode != 0
            && e.link == NIL
            && (st == TcpState::TimeWait || (mode & 2 != 0 && st == TcpState::FinWait && e.is(F_NOOUTPUT)))
    }
}
