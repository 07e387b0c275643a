//! Connection listings (`ipvsadm -L -c`): a snapshot of one entry and its ipvsadm row.

use super::{ConnId, ConnTable, Entry, TcpState, FWD_CODES, F_INACTIVE, F_TEMPLATE, F_USED};
use crate::addr::{fmt_addr_port, Addr, Protocol};
use crate::service::{DestId, FwdMethod};

/// `ipvsadm -L -c` title line: `"pro expire %-11s %-18s %-18s %s\n"`.
pub const LIST_HEADER: &str = "pro expire state       source             virtual            destination\n";

/// A copy of one connection (or persistence template) for listings and expiry reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    pub id: ConnId,
    /// IP protocol number (0 for fwmark templates, listed `IP`).
    pub proto: u8,
    pub template: bool,
    /// State as ipvsadm prints it (`ESTABLISHED`, `UDP`, ...).
    pub state: &'static str,
    pub caddr: Addr,
    pub cport: u16,
    pub vaddr: Addr,
    pub vport: u16,
    pub daddr: Addr,
    pub dport: u16,
    pub laddr: Addr,
    pub lport: u16,
    pub dest: DestId,
    pub fwd: FwdMethod,
    /// Time left before expiry.
    pub expires_ms: u64,
    /// Counted in ActiveConn.
    pub active: bool,
    /// Templates: connections they control.
    pub n_control: u32,
    /// FullNAT TCP: its sequence state (what an expiry's RSTs are built from).
    pub tcp_ext: Option<super::xt::TcpExt>,
}

impl ConnInfo {
    /// One `ipvsadm -L -c -n` row: `"%-3s %-6s %-11s %-18s %-18s %s\n"`, expire as MM:SS.
    pub fn ipvsadm_row(&self) -> String {
        let proto = Protocol::from_number(self.proto).map_or("IP", |p| p.name());
        let secs = self.expires_ms / 1000;
        let expire = format!("{:02}:{:02}", secs / 60, secs % 60);
        format!(
            "{:<3} {:<6} {:<11} {:<18} {:<18} {}\n",
            proto,
            expire,
            self.state,
            fmt_addr_port(self.caddr, self.cport),
            fmt_addr_port(self.vaddr, self.vport),
            fmt_addr_port(self.daddr, self.dport)
        )
    }
}

impl ConnTable {
    pub(super) fn info(&self, idx: u32, e: &Entry, now_ms: u64) -> ConnInfo {
        let template = e.is(F_TEMPLATE);
        let state = match Protocol::from_number(e.proto) {
            Some(Protocol::Tcp) => TcpState::from_u8(e.state).name(),
            Some(Protocol::Udp) => "UDP",
            _ => "NONE",
        };
        let expires_ms = self.wheel.deadline_ms(&self.slab, idx).map_or(0, |d| d.saturating_sub(now_ms));
        let [caddr, vaddr, daddr, laddr] = super::entry::addrs(e, &self.pool);
        ConnInfo {
            id: ConnId(idx),
            proto: e.proto,
            template,
            state,
            caddr,
            cport: e.cport,
            vaddr,
            vport: e.vport,
            daddr,
            dport: e.dport,
            laddr: if template { Addr::UNSPECIFIED } else { laddr },
            lport: e.lport,
            dest: DestId(e.dest),
            fwd: FWD_CODES.get(usize::from(e.fwd)).copied().unwrap_or_default(),
            expires_ms,
            active: !template && !e.is(F_INACTIVE),
            n_control: if template { e.link } else { 0 },
            tcp_ext: if e.xt == super::NIL { None } else { self.xts.get(e.xt).copied() },
        }
    }

    /// Every connection and template (control plane; walks the whole slab).
    pub fn iter(&self, now_ms: u64) -> impl Iterator<Item = ConnInfo> + '_ {
        self.slab.0.iter().enumerate().filter(|(_, e)| e.is(F_USED)).map(move |(i, e)| self.info(i as u32, e, now_ms))
    }

    /// The used entries among `max_slots` slab slots from `start` (a listing cursor that
    /// bounds each call's work), appended to `out`. Returns where the next call starts,
    /// or `None` when the slab is done. Entries moving meanwhile may be listed twice or
    /// missed, as when /proc/net/ip_vs_conn is read in pieces.
    pub fn list_chunk(&self, start: u32, max_slots: u32, now_ms: u64, out: &mut Vec<ConnInfo>) -> Option<u32> {
        let from = (start as usize).min(self.slab.0.len());
        let to = from.saturating_add(max_slots.max(1) as usize).min(self.slab.0.len());
        let slots = self.slab.0.get(from..to).unwrap_or_default();
        for (i, e) in slots.iter().enumerate().filter(|(_, e)| e.is(F_USED)) {
            out.push(self.info((from + i) as u32, e, now_ms));
        }
        (to < self.slab.0.len()).then_some(to as u32)
    }

    /// One connection's listing data.
    pub fn info_of(&self, id: ConnId, now_ms: u64) -> Option<ConnInfo> {
        self.entry(id.0).map(|e| self.info(id.0, e, now_ms))
    }
}
