//! The SYN proxy in the balancer's decisions: a first packet for a SYN-proxied service
//! (SYN → cookie SYN-ACK; ACK → cookie checked, connection opened, SYN to the real
//! server), client segments held while the server's SYN-ACK is awaited, and that
//! SYN-ACK (or RST) when it comes.

use wire::{ip_proto, tcp_flags, PacketBuf};

use super::super::balancer::{bound, Balancer};
use super::super::flow::Flow;
use super::super::reset::Reset;
use super::super::xmit::{Fx, Xmit};
use super::super::Action;
use super::cookie::CookieKeys;
use crate::conn::xt::{TcpExt, S_WAIT, X_SYNPROXY};
use crate::conn::{ConnId, Dir, Scheduled, TcpFlags};
use crate::l3::Node;
use crate::stats::DropReason;

/// The MSS the cookie SYN-ACK may offer: an Ethernet MTU's, less TOA when the service
/// inserts it.
fn mss_max(v6: bool, toa: bool) -> u16 {
    let base: u16 = if v6 { 1440 } else { 1460 };
    base - if toa {
        if v6 {
            20
        } else {
            8
        }
    } else {
        0
    }
}

impl Balancer {
    /// A SYN without a connection for service `svc`, if SYN-proxied: its cookie SYN-ACK,
    /// made in place. `None`: not for the proxy.
    #[inline]
    pub(in crate::forward) fn synproxy_syn<P: PacketBuf>(
        &self,
        svc: usize,
        pkt: &mut P,
        f: &Flow,
        now: u64,
    ) -> Option<Action> {
        let fl = f.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::RST);
        if f.proto != ip_proto::TCP || fl != tcp_flags::SYN {
            return None;
        }
        let s = self.snap.service(svc).filter(|s| s.synproxy)?;
        if !super::syn_ack(pkt, f, self.cookie_keys, now, mss_max(f.v6, s.toa)) {
            return Some(Action::Drop(DropReason::Malformed));
        }
        self.stats.synproxy_inc(Some(s.id), |c| &c.cookies_sent);
        Some(Action::Reflect)
    }

    /// A packet without a connection for SYN-proxied service `svc`.
    pub(in crate::forward) fn synproxy_first<P: PacketBuf>(
        &mut self,
        svc: usize,
        pkt: &mut P,
        f: &Flow,
        hash: Option<u64>,
        node: &mut Node<P>,
        now: u64,
    ) -> Action {
        if let Some(a) = self.synproxy_syn(svc, pkt, f, now) {
            return a;
        }
        let fl = f.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::RST);
        let keys: &CookieKeys = self.cookie_keys;
        if fl != tcp_flags::ACK {
            return Action::Drop(DropReason::NoConn);
        }
        let Some(x) = super::check_ack(pkt, f, keys, now) else {
            self.stats.synproxy_inc(self.snap.service(svc).map(|s| s.id), |c| &c.cookies_failed);
            return if super::rst_back(pkt, f) { Action::Reflect } else { Action::Drop(DropReason::NoConn) };
        };
        let (Some(service), Some(sched)) = (self.snap.service(svc), self.scheds.get_mut(svc)) else {
            return Action::Drop(DropReason::NoDest);
        };
        let id = match self.conns.schedule_hashed(service, sched, &f.tuple(), hash, now) {
            Ok(Scheduled::Conn(id)) => id,
            Ok(Scheduled::OnePacket { .. }) => return Action::Drop(DropReason::NoDest),
            Err(e) => return Self::refused(e),
        };
        self.stats.synproxy_inc(Some(service.id), |c| &c.cookies_valid);
        self.opened(id, f);
        // As if its SYN had come: SYN_RECV until the server answers.
        self.conns.on_packet(id, Dir::In, TcpFlags(tcp_flags::SYN), now);
        if let Some(xt) = self.conns.xt_mut(id) {
            // The service's TOA/PROXY flags with what the cookie remembered.
            let flags = xt.flags | x.flags;
            *xt = TcpExt { flags, ..x };
        }
        match self.server_syn(id, pkt.data(), f, node, now) {
            Some(a) => a,
            None => Action::Drop(DropReason::NoRoute),
        }
    }

    /// Build the SYN for connection `id`'s real server from the client's ACK `ack`
    /// and put it beside the packet, with its own action; the ACK itself is held.
    fn server_syn<P: PacketBuf>(
        &mut self,
        id: ConnId,
        ack: &[u8],
        f: &Flow,
        node: &mut Node<P>,
        now: u64,
    ) -> Option<Action> {
        let x = *self.conns.xt(id)?;
        let mut syn = super::client_syn(ack, f, &x)?;
        let sf = Flow::parse(syn.data())?;
        let c = self.conns.get(id)?;
        let (xm, e) = bound(c);
        let xm = xm?;
        if let Err(a) = Xmit::hop(&mut syn, &sf) {
            return Some(a);
        }
        let isn = if xm == Xmit::FullNat { self.fnat_isn(&e, ip_proto::TCP, now) } else { 0 };
        let fx = Fx { xt: self.conns.xt_mut(id), isn, now, stats: &self.stats, extra: &mut self.extra };
        let a = xm.inbound(&mut syn, &sf, &e, node, &mut self.tun_ident, Some(fx));
        self.side = Some((syn, a));
        Some(Action::Hold { conn: id.0, open: true })
    }

    /// A client segment of a connection whose server has not answered the proxied SYN
    /// yet: held (`Some`), else `None` (go on).
    pub(in crate::forward) fn synproxy_hold(&self, id: ConnId) -> Option<Action> {
        let x = self.conns.xt(id)?;
        (x.has(X_SYNPROXY) && x.sp & S_WAIT != 0).then_some(Action::Hold { conn: id.0, open: false })
    }

    /// A server segment of a connection awaiting its SYN-ACK: the SYN-ACK fixes the
    /// translations and releases the held segments (it is not passed on: the client
    /// had the cookie's); an RST resets the client and closes; anything else is dropped.
    pub(in crate::forward) fn synproxy_server<P: PacketBuf>(
        &mut self,
        id: ConnId,
        pkt: &P,
        f: &Flow,
        now: u64,
    ) -> Option<Action> {
        let x = self.conns.xt(id)?;
        if !x.has(X_SYNPROXY) {
            return None;
        }
        if x.sp & S_WAIT == 0 {
            let xt = self.conns.xt_mut(id)?;
            return super::ack_storm(pkt.data(), f, xt).then_some(Action::Drop(DropReason::AckStorm));
        }
        let fl = f.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::RST);
        if fl == tcp_flags::SYN | tcp_flags::ACK {
            let xt = self.conns.xt_mut(id)?;
            super::server_synack(pkt.data(), f, xt);
            self.conns.on_packet(id, Dir::Out, TcpFlags(f.tcp_flags), now);
            return Some(Action::Release(id.0));
        }
        if fl & tcp_flags::RST != 0 {
            self.stats.synproxy_inc(self.service_of_conn(id.0), |c| &c.rs_resets);
            self.synproxy_abort(id);
            return Some(Action::Drop(DropReason::DestRemoved));
        }
        Some(Action::Drop(DropReason::NoConn))
    }

    /// Close connection `id`, which never got its server's SYN-ACK, with an RST to the
    /// client (seq = the cookie + 1, the next the client expects).
    pub(in crate::forward) fn synproxy_abort(&mut self, id: ConnId) {
        let (Some(c), Some(x)) = (self.conns.get(id), self.conns.xt(id)) else { return };
        let r = Reset {
            src: c.vaddr(),
            sport: c.vport(),
            dst: c.caddr(),
            dport: c.cport(),
            seq: x.isn_vs.wrapping_add(1),
            ack: 0,
        };
        let _ = self.resets.try_push(r);
        self.conns.remove(id);
    }

    /// Send connection `id`'s SYN again (its server did not answer; `ack` is the held
    /// ACK): `None` when the connection is gone or answered (its held segments can go).
    pub fn synproxy_resend<P: PacketBuf>(
        &mut self,
        id: u32,
        cookie: u32,
        ack: &[u8],
        node: &mut Node<P>,
        now: u64,
    ) -> Option<Action> {
        let id = ConnId(id);
        let x = self.conns.xt(id)?;
        if !x.has(X_SYNPROXY) || x.sp & S_WAIT == 0 || x.isn_vs != cookie {
            return None;
        }
        let f = Flow::parse(ack)?;
        self.stats.synproxy_inc(self.service_of_conn(id.0), |c| &c.rs_syn_retransmits);
        self.server_syn(id, ack, &f, node, now)
    }

    /// Whether connection `id` still awaits its server's SYN-ACK for `cookie`.
    pub fn synproxy_waiting(&self, id: u32, cookie: u32) -> bool {
        self.conns.xt(ConnId(id)).is_some_and(|x| x.has(X_SYNPROXY) && x.sp & S_WAIT != 0 && x.isn_vs == cookie)
    }

    /// The cookie of connection `id` (what names it in the director's held segments).
    pub fn synproxy_cookie(&self, id: u32) -> Option<u32> {
        self.conns.xt(ConnId(id)).filter(|x| x.has(X_SYNPROXY)).map(|x| x.isn_vs)
    }

    /// Give up on connection `id` (no SYN-ACK after the retransmissions).
    pub fn synproxy_give_up(&mut self, id: u32, cookie: u32) {
        if self.synproxy_waiting(id, cookie) {
            self.synproxy_abort(ConnId(id));
        }
    }

    /// The service (its id) connection `id` belongs to.
    pub fn service_of_conn(&self, id: u32) -> Option<u32> {
        self.conns.get(ConnId(id)).and_then(|c| self.snap.service_of_dest(c.dest().0))
    }

    /// The frame to send beside the packet just processed, with its action.
    pub(in crate::forward) fn take_side(&mut self) -> Option<(super::super::frame::FrameBuf, Action)> {
        self.side.take()
    }
}
