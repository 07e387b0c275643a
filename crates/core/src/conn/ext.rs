//! The table's FullNAT and SYN-proxy side: this worker's local ports and the TCP
//! sequence-state records of its connections.

use super::xt::{self, TcpExt};
use super::{laddr, ConnId, ConnTable, F_USED, NIL};
use laddr::LocalPorts;

impl ConnTable {
    /// This table is worker `core`'s: its FullNAT source ports are those whose low bits
    /// are `core` ([`laddr::lport_owner`]). Call before the first snapshot.
    pub fn set_lcore(&mut self, core: u8) {
        self.ports = LocalPorts::new(core, self.cfg.workers, self.cfg.lports);
    }

    /// FullNAT source ports held, and how many each (local address, server group)
    /// ring of this worker has.
    pub fn local_ports(&self) -> (u32, usize) {
        (self.ports.in_use(), self.ports.per_pool())
    }

    /// FullNAT TCP records held, and the most the pool holds.
    pub fn fullnat_usage(&self) -> (usize, usize) {
        (self.xts.in_use(), self.xts.capacity())
    }

    /// A FullNAT TCP connection's sequence state.
    #[inline]
    pub fn xt(&self, id: ConnId) -> Option<&TcpExt> {
        let e = self.entry(id.0)?;
        self.xts.get(e.xt).filter(|_| e.xt != NIL)
    }

    #[inline]
    pub fn xt_mut(&mut self, id: ConnId) -> Option<&mut TcpExt> {
        let e = self.slab.0.get(id.0 as usize).filter(|e| e.is(F_USED) && e.xt != NIL)?;
        self.xts.get_mut(e.xt)
    }

    /// Give a new FullNAT TCP connection its record, flagged with what its service
    /// delivers to the real server. Without one (pool exhausted) the connection is
    /// removed and counted as refused.
    pub(super) fn attach_xt(&mut self, id: ConnId, svc: &crate::service::Service) -> bool {
        let mut flags = 0;
        if svc.toa {
            flags |= xt::X_TOA;
        }
        match svc.proxy_protocol {
            Some(crate::service::ProxyProtocol::V1) => flags |= xt::X_PP_V1,
            Some(crate::service::ProxyProtocol::V2) => flags |= xt::X_PP_V2,
            None => {}
        }
        match self.xts.alloc(TcpExt { flags, ..TcpExt::default() }) {
            Some(i) => {
                if let Some(e) = self.slab.0.get_mut(id.0 as usize) {
                    e.xt = i;
                }
                true
            }
            None => {
                self.remove(id);
                self.stats.refused_full += 1;
                self.stats.refused_fullnat += 1;
                false
            }
        }
    }
}
