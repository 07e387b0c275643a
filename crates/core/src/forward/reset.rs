//! RSTs to both ends of an established FullNAT connection that expires (DPVS's
//! tcp_send_rst on expire): the real server would otherwise keep the socket, and the
//! next client given the same local port would meet it. Each RST carries the sequence
//! number the receiver expects next, as recorded from the connection's traffic.

use std::net::IpAddr;

use wire::{checksum, ethertype, ip_proto, tcp_flags, PacketBuf, TcpPacket};

use crate::addr::Addr;
use crate::conn::xt::{TcpExt, X_SEEN_BOTH};
use crate::conn::ConnInfo;

/// One RST to build: from `src:sport` to `dst:dport`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reset {
    pub src: Addr,
    pub sport: u16,
    pub dst: Addr,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
}

/// The two RSTs for an expiring connection, if it is an established FullNAT TCP one:
/// to the client from the VIP, to the real server from the local address.
pub(crate) fn for_expired(c: &ConnInfo) -> Option<[Reset; 2]> {
    let x: TcpExt = c.tcp_ext?;
    if c.state != "ESTABLISHED" || !x.has(X_SEEN_BOTH) {
        return None;
    }
    let client_next = super::xmit::seq_to_client(&x, x.c_nxt);
    Some([
        Reset { src: c.vaddr, sport: c.vport, dst: c.caddr, dport: c.cport, seq: x.r_nxt, ack: client_next },
        Reset { src: c.laddr, sport: c.lport, dst: c.daddr, dport: c.dport, seq: x.c_nxt, ack: x.r_nxt },
    ])
}

/// The RST as an Ethernet frame (addresses filled by the L3 node's output).
pub(crate) fn build<P: PacketBuf>(mut p: P, r: &Reset) -> Option<P> {
    let v6 = !r.src.is_v4();
    let ip_len = if v6 { 40 } else { 20 };
    let len = 14 + ip_len + 20;
    let b = p.append(len)?;
    b.fill(0);
    let et = if v6 { ethertype::IPV6 } else { ethertype::IPV4 };
    b[12..14].copy_from_slice(&et.to_be_bytes());
    let (ip, tcp) = b[14..].split_at_mut(ip_len);
    if v6 {
        ip[0] = 0x60;
        ip[4..6].copy_from_slice(&20u16.to_be_bytes());
        ip[6] = ip_proto::TCP;
        ip[7] = 64;
        ip[8..24].copy_from_slice(&r.src.0);
        ip[24..40].copy_from_slice(&r.dst.0);
    } else {
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = ip_proto::TCP;
        ip[12..16].copy_from_slice(&r.src.0[12..]);
        ip[16..20].copy_from_slice(&r.dst.0[12..]);
        let c = !checksum::data(ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
    }
    let mut t = TcpPacket::new_unchecked(tcp);
    t.set_src_port(r.sport);
    t.set_dst_port(r.dport);
    t.set_seq_number(r.seq);
    t.set_ack_number(r.ack);
    t.set_header_len(20);
    t.set_flags(tcp_flags::RST | tcp_flags::ACK);
    match (r.src.to_ip(), r.dst.to_ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => t.fill_checksum(&s, &d),
        (IpAddr::V6(s), IpAddr::V6(d)) => t.fill_checksum(&s, &d),
        _ => return None,
    }
    Some(p)
}
