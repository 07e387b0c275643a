//! The transmitters of ip_vs_xmit.c, bound to a connection when it is scheduled
//! (IPVS's ip_vs_bind_xmit, DPVS's conn_bind_dest): NAT, DR and TUN, each with its
//! inbound rewrite, its reply rewrite and its ICMP-error translation, all here. A real
//! server's next hop is the L3 node's cached [`Hop`], resolved once per destination.

mod fnat;
mod icmp;
mod nat;
mod tun;

pub(crate) use fnat::{seq_to_client, Extra};

pub(crate) use nat::{decrement_ttl, ttl_nat4};

use wire::PacketBuf;

use super::flow::Flow;
use super::icmp::Quote;
use super::Action;
use crate::addr::Addr;
use crate::conn::xt::TcpExt;
use crate::l3::{Hop, IcmpError, Node};
use crate::service::FwdMethod;
use crate::stats::CoreStats;
use crate::stats::DropReason;
pub(crate) use nat::End;

/// What a connection's packets get, by its forwarding method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Xmit {
    /// `-m`: addresses and ports rewritten both ways.
    Nat,
    /// `-g`: only the MAC; replies bypass the director.
    Dr,
    /// `-i`: IPIP or IPv6-in-IPv6 to the real server; replies bypass the director.
    Tun,
    /// `--fullnat`: both ends rewritten, the client's side to a local address and port.
    FullNat,
}

/// Apply `adjust` to the TCP segment of `pkt` (a whole datagram or a first fragment).
fn tcp_seq<P: PacketBuf>(pkt: &mut P, f: &Flow, adjust: impl FnOnce(&mut wire::TcpPacket<&mut [u8]>)) {
    if f.proto != wire::ip_proto::TCP || f.frag == super::flow::Frag::Later {
        return;
    }
    let at = super::flow::ETH_LEN + f.l4;
    if let Some(Ok(mut t)) =
        pkt.data_mut().get_mut(at..super::flow::ETH_LEN + f.ip_len).map(wire::TcpPacket::new_checked)
    {
        adjust(&mut t);
    }
}

/// What a FullNAT packet brings besides its ends: the TCP connection's record, the ISN
/// for a first SYN, the counters, and where a segment to send first goes.
pub(crate) struct Fx<'a> {
    pub xt: Option<&'a mut TcpExt>,
    pub isn: u32,
    /// The worker's clock (ms): FullNAT's timestamps towards the server.
    pub now: u64,
    pub stats: &'a CoreStats,
    pub extra: &'a mut Option<Extra>,
}

/// The two ends a connection joins: the client's view (VIP) and the real server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ends {
    pub client: Addr,
    pub cport: u16,
    pub vip: Addr,
    pub vport: u16,
    pub rs: Addr,
    pub rport: u16,
    /// The real server's id (its cached next hop).
    pub dest: u32,
    /// FullNAT: the local address and port the real server sees.
    pub laddr: Addr,
    pub lport: u16,
}

impl Xmit {
    pub fn of(fwd: FwdMethod) -> Option<Xmit> {
        match fwd {
            FwdMethod::Masq => Some(Xmit::Nat),
            FwdMethod::Route => Some(Xmit::Dr),
            FwdMethod::Tunnel => Some(Xmit::Tun),
            FwdMethod::FullNat => Some(Xmit::FullNat),
        }
    }

    /// RFC 1812 5.3.1 before forwarding: a packet with TTL (hop limit) 1 or less goes no
    /// further and its sender hears time exceeded (IPVS's decrement_ttl); otherwise it
    /// loses one. Never an error about an ICMP error (RFC 1122 3.2.2, RFC 4443 2.4).
    pub fn hop<P: PacketBuf>(pkt: &mut P, f: &Flow) -> Result<(), Action> {
        if f.ttl <= 1 {
            return Err(if f.is_icmp() {
                Action::Drop(DropReason::TtlExceeded)
            } else {
                Action::IcmpError { err: IcmpError::TimeExceeded, reason: DropReason::TtlExceeded }
            });
        }
        decrement_ttl(pkt.data_mut(), f);
        Ok(())
    }

    /// The real server's hop; DR needs it on-link: through a gateway the frame would
    /// come straight back to the VIP's owner.
    fn bound<P: PacketBuf>(self, e: &Ends, node: &mut Node<P>) -> Result<Hop, Action> {
        let hop = node.bind(e.dest, e.rs.to_ip()).ok_or(Action::Drop(DropReason::NoRoute))?;
        if self == Xmit::Dr && hop.next_hop != e.rs.to_ip() {
            return Err(Action::Drop(DropReason::NoRoute));
        }
        Ok(hop)
    }

    /// Client → real server (ip_vs_nat_xmit, ip_vs_dr_xmit, ip_vs_tunnel_xmit, DPVS's
    /// fnat_in_handler), TTL already handled. `fx`: a FullNAT connection's extras.
    pub fn inbound<P: PacketBuf, Q: PacketBuf>(
        self,
        pkt: &mut Q,
        f: &Flow,
        e: &Ends,
        node: &mut Node<P>,
        ident: &mut u16,
        fx: Option<Fx<'_>>,
    ) -> Action {
        let hop = match self.bound(e, node) {
            Ok(h) => h,
            Err(a) => return a,
        };
        match self {
            Xmit::Nat => {
                if let Some(x) = fx.and_then(|fx| fx.xt) {
                    tcp_seq(pkt, f, |t| crate::forward::synproxy::to_server(t, x));
                }
                nat::nat(pkt.data_mut(), f, End::Dst, e.rs, e.rport)
            }
            Xmit::FullNat => match fx {
                Some(fx) => *fx.extra = fnat::inbound(pkt, f, e, fx.xt, fx.isn, fx.now, usize::from(hop.mtu), fx.stats),
                None => {
                    nat::nat(pkt.data_mut(), f, End::Src, e.laddr, e.lport);
                    nat::nat(pkt.data_mut(), f, End::Dst, e.rs, e.rport);
                }
            },
            Xmit::Dr => {}
            Xmit::Tun => {
                if let Err(a) = tun::encapsulate(pkt, f, e.rs, &hop, ident) {
                    return a;
                }
            }
        }
        Action::Via(hop)
    }

    /// Real server → client (NAT's handle_response, FullNAT's out handler): the source
    /// becomes the VIP again (and for FullNAT the destination the client). DR and TUN
    /// replies never pass the director.
    pub fn reply<P: PacketBuf>(self, pkt: &mut P, f: &Flow, e: &Ends, xt: Option<&mut TcpExt>) -> Action {
        match self {
            Xmit::Nat => {
                if let Some(x) = xt {
                    tcp_seq(pkt, f, |t| crate::forward::synproxy::to_client(t, x));
                }
                nat::nat(pkt.data_mut(), f, End::Src, e.vip, e.vport);
                Action::Output(e.client.to_ip())
            }
            Xmit::FullNat => {
                fnat::reply(pkt, f, e, xt);
                Action::Output(e.client.to_ip())
            }
            Xmit::Dr | Xmit::Tun => Action::Drop(DropReason::NoConn),
        }
    }

    /// An ICMP error about a packet sent from the VIP to the client (a router on the
    /// client's side quoting our NAT reply, or a DR/TUN server's direct reply): it goes
    /// on to the real server, translated for NAT (ip_vs_in_icmp).
    pub fn icmp_to_server<P: PacketBuf>(
        self,
        pkt: &mut P,
        f: &Flow,
        q: &Quote,
        e: &Ends,
        node: &mut Node<P>,
        ident: &mut u16,
    ) -> Action {
        match self {
            Xmit::Nat => {
                let hop = match self.bound(e, node) {
                    Ok(h) => h,
                    Err(a) => return a,
                };
                icmp::translate(pkt.data_mut(), f, q, End::Src, e.rs, e.rport, e.rs);
                Action::Via(hop)
            }
            // The quote was our reply VIP → client: now RS → LADDR, sent to the real
            // server from the local address.
            Xmit::FullNat => {
                let hop = match self.bound(e, node) {
                    Ok(h) => h,
                    Err(a) => return a,
                };
                icmp::translate(pkt.data_mut(), f, q, End::Src, e.rs, e.rport, e.rs);
                icmp::translate(pkt.data_mut(), f, q, End::Dst, e.laddr, e.lport, e.laddr);
                Action::Via(hop)
            }
            Xmit::Dr | Xmit::Tun => self.inbound(pkt, f, e, node, ident, None),
        }
    }

    /// An ICMP error quoting our NAT'ed packet (from the real server, or a router before
    /// it): the client must see it about the VIP, from the VIP (ip_vs_out_icmp).
    /// For FullNAT the quote LADDR → RS becomes client → VIP, its TCP sequence number
    /// back in the client's numbering, and the error goes to the client.
    pub fn icmp_to_client<P: PacketBuf>(
        self,
        pkt: &mut P,
        f: &Flow,
        q: &Quote,
        e: &Ends,
        xt: Option<&TcpExt>,
    ) -> Action {
        icmp::translate(pkt.data_mut(), f, q, End::Dst, e.vip, e.vport, e.vip);
        if self == Xmit::FullNat {
            icmp::translate(pkt.data_mut(), f, q, End::Src, e.client, e.cport, e.client);
            if let Some(x) = xt {
                icmp::quoted_seq(pkt.data_mut(), f, q, |s| fnat::seq_to_client(x, s));
            }
        }
        Action::Output(e.client.to_ip())
    }
}
