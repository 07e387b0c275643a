//! The 64-byte frames the generators write and read back: what a frame carries, writing
//! one into an mbuf, parsing a returned one.

use std::net::Ipv4Addr;

use dpdk::Mbuf;
use rvs_benches::topo::{PEER_MAC, WAN};
use wire::{EthernetAddress, PacketBuf};

use crate::{FRAME, HEADROOM, PAYLOAD};

/// What a frame the generator writes carries.
#[derive(Clone, Copy)]
pub(crate) struct Pkt {
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    pub(crate) sport: u16,
    pub(crate) dport: u16,
    pub(crate) flags: u8,
    /// The chain's state (below 2^16): it travels in the IP ID too, which no forwarding
    /// method changes (FullNAT offsets the client's sequence numbers).
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    /// The connection's client, carried in the payload: a FullNAT packet on lan no
    /// longer names it.
    pub(crate) client: Ipv4Addr,
    pub(crate) cport: u16,
}

/// The fields of a returned frame (the inner packet of an IPIP one).
#[derive(Clone, Copy)]
pub(crate) struct Seen {
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    pub(crate) sport: u16,
    pub(crate) dport: u16,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) flags: u8,
    /// The chain's state and the client (see [`Pkt`]; 0.0.0.0:0 in a frame without
    /// payload, such as the SYN proxy's).
    pub(crate) tag: u32,
    pub(crate) client: Ipv4Addr,
    pub(crate) cport: u16,
}

pub(crate) struct Macs {
    pub(crate) port: [EthernetAddress; 2],
}

pub(crate) fn write(m: &mut Mbuf, port: u16, p: &Pkt, macs: &Macs) {
    // An encapsulated (TUN) frame came back 20 bytes longer at the front.
    let h = m.headroom();
    if h < HEADROOM {
        m.adj(HEADROOM - h);
    }
    let mut f = [0u8; FRAME];
    let peer = if port == WAN { PEER_MAC[0] } else { PEER_MAC[1] };
    f[0..6].copy_from_slice(&macs.port[port as usize].0);
    f[6..12].copy_from_slice(&peer.0);
    f[12] = 0x08;
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + 20 + PAYLOAD) as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&(p.seq as u16).to_be_bytes());
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&p.src.octets());
    ip[16..20].copy_from_slice(&p.dst.octets());
    let c = !wire::checksum::data(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let tcp = &mut f[34..54];
    tcp[0..2].copy_from_slice(&p.sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&p.dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&p.seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&p.ack.to_be_bytes());
    tcp[12] = 0x50;
    tcp[13] = p.flags;
    tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
    f[54..58].copy_from_slice(&p.client.octets());
    f[58..60].copy_from_slice(&p.cport.to_be_bytes());
    m.set_data(&f);
}

pub(crate) fn parse(d: &[u8]) -> Option<Seen> {
    if d.len() < 54 || d[12] != 0x08 || d[13] != 0 {
        return None;
    }
    let mut ip = &d[14..];
    if ip[9] == 4 {
        ip = ip.get(20..)?; // IPIP: the inner packet
    }
    if ip.len() < 40 || ip[9] != 6 {
        return None;
    }
    let a = |o: usize| Ipv4Addr::new(ip[o], ip[o + 1], ip[o + 2], ip[o + 3]);
    let t = &ip[20..];
    let w = |o: usize| u32::from_be_bytes([t[o], t[o + 1], t[o + 2], t[o + 3]]);
    let body = usize::from(t[12] >> 4) * 4;
    let c = t.get(body..body + 6).unwrap_or(&[0; 6]);
    Some(Seen {
        src: a(12),
        dst: a(16),
        sport: u16::from_be_bytes([t[0], t[1]]),
        dport: u16::from_be_bytes([t[2], t[3]]),
        seq: w(4),
        ack: w(8),
        flags: t[13],
        tag: u32::from(u16::from_be_bytes([ip[4], ip[5]])),
        client: Ipv4Addr::new(c[0], c[1], c[2], c[3]),
        cport: u16::from_be_bytes([c[4], c[5]]),
    })
}
