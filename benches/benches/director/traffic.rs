//! The bursts' frames: templates refilled and patched per packet, and the traffic of a
//! case (established flows, or SYNs from new clients).

use std::net::Ipv4Addr;

use rvs_benches::topo::{LAN, PEER_MAC, RS, WAN};
use wire::{EthernetAddress, PacketBuf, VecBuf};

use crate::{
    cport, Mode, ACK, BURST, EST_NET, FRAME, HEADROOM, IP_CSUM, IP_DST, IP_SRC, LAN_MAC, NEW_NET, PAYLOAD, RS_BIT, SYN,
    TCP_DPORT, TCP_SPORT, WAN_MAC,
};

/// A frame to refill buffers from, and the one's-complement sum of its IPv4 header
/// without the checksum and the patched address, to finish the checksum per packet.
pub(crate) struct Template {
    frame: [u8; FRAME],
    sum: u32,
    /// Offsets of the patched address and port.
    addr_at: usize,
    port_at: usize,
}

impl Template {
    /// `client_is_src`: the client's side, patched per packet, is the source (client to
    /// VIP), else the destination (a server's reply).
    #[allow(clippy::too_many_arguments)]
    fn new(
        dst_mac: EthernetAddress,
        src_mac: EthernetAddress,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        flags: u8,
        client_is_src: bool,
    ) -> Template {
        let mut f = [0u8; FRAME];
        f[0..6].copy_from_slice(&dst_mac.0);
        f[6..12].copy_from_slice(&src_mac.0);
        f[12] = 0x08;
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((20 + 20 + PAYLOAD) as u16).to_be_bytes());
        ip[6] = 0x40; // DF
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&src.octets());
        ip[16..20].copy_from_slice(&dst.octets());
        f[TCP_SPORT..TCP_SPORT + 2].copy_from_slice(&sport.to_be_bytes());
        f[TCP_DPORT..TCP_DPORT + 2].copy_from_slice(&dport.to_be_bytes());
        f[46] = 0x50; // data offset: 20 bytes
        f[47] = flags;
        f[48..50].copy_from_slice(&65535u16.to_be_bytes());
        let (addr_at, port_at) = if client_is_src { (IP_SRC, TCP_SPORT) } else { (IP_DST, TCP_DPORT) };
        f[addr_at..addr_at + 4].fill(0);
        let sum = u32::from(wire::checksum::data(&f[14..34]));
        Template { frame: f, sum, addr_at, port_at }
    }

    /// Refill `b` with this frame for client `addr`:`port`.
    #[inline(always)]
    fn write(&self, b: &mut VecBuf, addr: u32, port: u16) {
        let ok = b.reset_from(&self.frame, HEADROOM);
        debug_assert!(ok);
        let d = b.data_mut();
        d[self.addr_at..self.addr_at + 4].copy_from_slice(&addr.to_be_bytes());
        d[self.port_at..self.port_at + 2].copy_from_slice(&port.to_be_bytes());
        let mut s = self.sum + (addr >> 16) + (addr & 0xffff);
        s = (s & 0xffff) + (s >> 16);
        s = (s & 0xffff) + (s >> 16);
        d[IP_CSUM..IP_CSUM + 2].copy_from_slice(&(!(s as u16)).to_be_bytes());
    }
}

/// Where the bursts come from.
#[allow(clippy::large_enum_variant)] // one per case, never moved in the measured loop
pub(crate) enum Traffic {
    /// Established flows over `order` (flow index | [`RS_BIT`]), `fwd` for the client's
    /// packets and, NAT and FullNAT, `rev` for the replies, every other burst.
    Established {
        order: Vec<u32>,
        fwd: usize,
        rev: usize,
        nat: bool,
        next_rev: bool,
        client: Template,
        reply: [Template; 2],
        /// FullNAT: the local address and port of `order`'s flows, in its order (read
        /// in step with it, as cheap as NAT's computing the client from the flow).
        local: Option<Box<[(u32, u16)]>>,
    },
    /// SYNs, each from a new client.
    New { next: u32, syn: Template },
}

impl Traffic {
    /// `replies`: every other burst is the servers' replies (NAT).
    pub(crate) fn established(mode: Mode, order: Vec<u32>, flags: u8, replies: bool) -> Traffic {
        let reply =
            [0, 1].map(|k| Template::new(LAN_MAC, PEER_MAC[1 + k], RS[k], Ipv4Addr::UNSPECIFIED, 80, 0, ACK, false));
        Traffic::Established {
            rev: order.len() / 2,
            order,
            fwd: 0,
            nat: replies,
            next_rev: false,
            client: Template::new(
                WAN_MAC,
                PEER_MAC[0],
                Ipv4Addr::UNSPECIFIED,
                mode.vip(),
                0,
                mode.vport(),
                flags,
                true,
            ),
            reply,
            local: None,
        }
    }

    pub(crate) fn new_conns(mode: Mode) -> Traffic {
        Traffic::syns(mode.vip(), mode.vport())
    }

    /// SYNs to `vip`:`vport`, each from a new client.
    pub(crate) fn syns(vip: Ipv4Addr, vport: u16) -> Traffic {
        let syn = Template::new(WAN_MAC, PEER_MAC[0], Ipv4Addr::UNSPECIFIED, vip, 0, vport, SYN, true);
        Traffic::New { next: 0, syn }
    }

    /// Fill `burst` with the next 32 frames from `pool`; returns the port they arrive on.
    #[inline(always)]
    pub(crate) fn fill(&mut self, pool: &mut Vec<VecBuf>, burst: &mut Vec<VecBuf>) -> u16 {
        match self {
            Traffic::Established { order, fwd, rev, nat, next_rev, client, reply, local } => {
                let reverse = *nat && *next_rev;
                *next_rev = !*next_rev;
                let cur = if reverse { rev } else { fwd };
                for _ in 0..BURST {
                    let Some(mut b) = pool.pop() else { break };
                    let at = *cur;
                    let e = order[at];
                    *cur += 1;
                    if *cur == order.len() {
                        *cur = 0;
                    }
                    let flow = e & !RS_BIT;
                    if reverse {
                        let (addr, port) = match local {
                            None => (EST_NET + flow, cport(flow)),
                            Some(l) => l[at],
                        };
                        reply[usize::from(e & RS_BIT != 0)].write(&mut b, addr, port);
                    } else {
                        client.write(&mut b, EST_NET + flow, cport(flow));
                    }
                    burst.push(b);
                }
                if reverse {
                    LAN
                } else {
                    WAN
                }
            }
            Traffic::New { next, syn } => {
                for _ in 0..BURST {
                    let Some(mut b) = pool.pop() else { break };
                    let c = *next;
                    *next = next.wrapping_add(1);
                    syn.write(&mut b, NEW_NET + (c & 0x00ff_ffff), 20_000 + (c >> 24) as u16);
                    burst.push(b);
                }
                WAN
            }
        }
    }
}

/// The incremental IPv4 checksum must agree with a full one (rvs drops bad ones).
pub(crate) fn check_templates() {
    let t = Template::new(WAN_MAC, PEER_MAC[0], Ipv4Addr::UNSPECIFIED, Mode::Nat.vip(), 0, 80, ACK, true);
    let mut b = VecBuf::with_room(&[], HEADROOM, VecBuf::DEFAULT_CAPACITY);
    for a in [EST_NET, EST_NET + 0x000f_ffff, NEW_NET + 0x00ff_ffff, u32::MAX] {
        t.write(&mut b, a, 1);
        assert_eq!(wire::checksum::data(&b.data()[14..34]), 0xffff, "IPv4 checksum of {a:#x}");
    }
}
