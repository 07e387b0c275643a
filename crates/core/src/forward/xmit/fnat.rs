//! FullNAT (DPVS's FNAT, Alibaba LVS's FULLNAT): both ends rewritten. Client →
//! VIP:vport becomes LADDR:lport → RS:rport; the reply RS → LADDR:lport becomes
//! VIP:vport → client. For TCP, as DPVS (`ip_vs_proto_tcp.c`): a new ISN towards the
//! real server and its offset applied for the connection's life (seq client → RS, ack
//! and SACK edges RS → client); the client's timestamps option NOPed on the SYN, since
//! many clients share one local address and their clocks would break the real server's
//! PAWS (DPVS's choice, kept); client-supplied TOA options stripped; TOA inserted on the
//! segments that complete the handshake with the SYN-ACK's MSS lowered by its length;
//! or a PROXY protocol header before the first data byte, on every transmission of that
//! segment, the offset grown by its length after it; UDP: a PROXY v2 header (DGRAM) at
//! the start of every client datagram, as DPVS inserts it. Timestamps are kept (DPVS NOPs
//! them): the client's TSval reaches the real server shifted onto the director's clock,
//! so the clients sharing a local port never look like one client whose clock ran
//! backwards to the server's PAWS (RFC 7323 5), and its TSecr comes back shifted.

use std::net::{IpAddr, SocketAddr};

use wire::proxy_proto::{ProxyAddrs, ProxyCommand, ProxyHeaderRepr, ProxyTransport, ProxyVersion};
use wire::tcp_option_kind as kind;
use wire::toa::{insert_toa, strip_toa, ToaInsert, ToaRepr};
use wire::{checksum, ip_proto, tcp_flags, PacketBuf, TcpOption, TcpPacket};

use super::super::flow::{Flow, Frag, ETH_LEN};
use super::nat::{nat, End};
use super::Ends;
use crate::conn::xt::{TcpExt, X_PP_ACKED, X_PP_SENT, X_PP_V1, X_PP_V2, X_RS_SYNACK, X_SEEN_BOTH, X_SYNPROXY, X_TOA};
use crate::forward::synproxy;
use crate::stats::CoreStats;

/// The longest PROXY header (v1 for IPv6 is at most 104 bytes; v2's is 52).
pub(crate) const PP_MAX: usize = 108;

/// A frame to send before the packet just processed: the PROXY header as a segment of
/// its own when the first data segment has no room for it.
pub(crate) type Extra = super::super::frame::FrameBuf;

#[inline]
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// The client's address as its real server must learn it.
fn client_sock(e: &Ends) -> SocketAddr {
    SocketAddr::new(e.client.to_ip(), e.cport)
}

/// The PROXY header of connection `e` (`len` bytes of `out`).
fn pp_header(e: &Ends, v2: bool, out: &mut [u8; PP_MAX]) -> usize {
    let version = if v2 { ProxyVersion::V2 } else { ProxyVersion::V1 };
    let repr = ProxyHeaderRepr::tcp(version, client_sock(e), SocketAddr::new(e.vip.to_ip(), e.vport));
    repr.emit(out).unwrap_or(0)
}

/// A real server's sequence number, as the client numbers it (`a` in the real server's
/// space): the ISN offset, and the PROXY header's bytes, which the client never sent.
#[inline]
fn to_client(x: &TcpExt, a: u32) -> u32 {
    let d = x.delta;
    if x.pp_len == 0 || x.has(X_PP_ACKED) {
        return a.wrapping_sub(d).wrapping_sub(u32::from(x.pp_len));
    }
    let start = x.pp_seq.wrapping_add(d);
    let end = start.wrapping_add(u32::from(x.pp_len));
    if !before(a, end) {
        a.wrapping_sub(d).wrapping_sub(u32::from(x.pp_len))
    } else if before(start, a) {
        // Inside the header: none of the client's data is covered yet.
        x.pp_seq
    } else {
        a.wrapping_sub(d)
    }
}

/// Update the IP length fields for an IP packet now `ip_len` bytes long.
fn set_ip_len(frame: &mut [u8], v6: bool, ip_len: usize) {
    if v6 {
        if let Some(w) = frame.get_mut(ETH_LEN + 4..ETH_LEN + 6) {
            w.copy_from_slice(&((ip_len - 40) as u16).to_be_bytes());
        }
        return;
    }
    let Some(ip) = frame.get_mut(ETH_LEN..ETH_LEN + 20) else { return };
    let old = u16::from_be_bytes([ip[2], ip[3]]);
    let c = checksum::update16(u16::from_be_bytes([ip[10], ip[11]]), old, ip_len as u16);
    ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Recompute the TCP checksum of the segment in `frame` from its IP header's addresses.
fn fill_tcp(frame: &mut [u8], f: &Flow, ip_len: usize) {
    let (src, dst) = match (f.v6, frame.get(ETH_LEN..ETH_LEN + 40)) {
        (true, Some(h)) => {
            let s: [u8; 16] = h[8..24].try_into().unwrap_or_default();
            let d: [u8; 16] = h[24..40].try_into().unwrap_or_default();
            (IpAddr::from(s), IpAddr::from(d))
        }
        (false, _) => match frame.get(ETH_LEN + 12..ETH_LEN + 20) {
            Some(h) => (IpAddr::from([h[0], h[1], h[2], h[3]]), IpAddr::from([h[4], h[5], h[6], h[7]])),
            None => return,
        },
        _ => return,
    };
    let Some(seg) = frame.get_mut(ETH_LEN + f.l4..ETH_LEN + ip_len) else { return };
    let Ok(mut t) = TcpPacket::new_checked(seg) else { return };
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => t.fill_checksum(&s, &d),
        (IpAddr::V6(s), IpAddr::V6(d)) => t.fill_checksum(&s, &d),
        _ => {}
    }
}

/// Add `val` to a timestamps option's TSval and take `ecr` from its TSecr (checksum
/// patched).
fn shift_ts<T: AsRef<[u8]> + AsMut<[u8]>>(t: &mut TcpPacket<T>, val: u32, ecr: u32) {
    if val == 0 && ecr == 0 {
        return;
    }
    if let Some((at, TcpOption::Timestamps { tsval, tsecr })) = t.find_option(kind::TIMESTAMPS) {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&tsval.wrapping_add(val).to_be_bytes());
        b[4..].copy_from_slice(&tsecr.wrapping_sub(ecr).to_be_bytes());
        let _ = t.patch_bytes(at + 2, &b);
    }
}

/// Map each SACK block edge (RS → client) into the client's numbering.
fn sack_to_client<T: AsRef<[u8]> + AsMut<[u8]>>(t: &mut TcpPacket<T>, x: &TcpExt) {
    let Some((at, _)) = t.find_option(kind::SACK) else { return };
    // `at` counts from the segment's start; the options from byte 20.
    let rel = at.saturating_sub(20);
    let len = t.options().get(rel + 1).map_or(0, |l| usize::from(*l));
    let mut edge = at + 2;
    while edge + 4 <= at + len {
        let o = edge - 20;
        let Some(b) = t.options().get(o..o + 4) else { return };
        let old = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let _ = t.patch_bytes(edge, &to_client(x, old).to_be_bytes());
        edge += 4;
    }
}

/// FullNAT's rewrite of a client → real server packet (TTL already handled). TCP
/// connections bring their record `x`; `isn` is the new ISN should this be the
/// connection's first SYN; `mtu` the real server's path MTU. `Some(extra)` when a
/// segment must go out before this one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn inbound<P: PacketBuf>(
    pkt: &mut P,
    f: &Flow,
    e: &Ends,
    x: Option<&mut TcpExt>,
    isn: u32,
    now: u64,
    mtu: usize,
    stats: &CoreStats,
) -> Option<Extra> {
    let mut ip_len = f.ip_len;
    let mut full_csum = false;
    let mut apart = None;
    if let (Some(x), true) = (x, f.frag == Frag::Whole) {
        // Ethernet padding goes before the segment may grow.
        let pad = pkt.len().saturating_sub(ETH_LEN + ip_len);
        if pad > 0 && !pkt.trim(pad) {
            return None;
        }
        match f.proto {
            ip_proto::TCP => (ip_len, full_csum, apart) = tcp_in(pkt, f, e, x, isn, now, mtu, stats),
            ip_proto::UDP if x.has(X_PP_V2) => (ip_len, full_csum, apart) = udp_in(pkt, f, e, mtu),
            _ => {}
        }
    }
    let data = pkt.data_mut();
    nat(data, f, End::Src, e.laddr, e.lport);
    nat(data, f, End::Dst, e.rs, e.rport);
    if ip_len != f.ip_len {
        set_ip_len(data, f.v6, ip_len);
    }
    if full_csum && f.proto == ip_proto::UDP {
        fill_udp(data, f, ip_len);
    } else if full_csum {
        fill_tcp(data, f, ip_len);
    }
    let (h, n) = apart?;
    if f.proto == ip_proto::UDP {
        return standalone_udp(data, f, h.get(..n)?);
    }
    standalone(data, f, h.get(..n)?)
}

/// A UDP datagram of connection `e`: the PROXY v2 header (DGRAM) before its payload,
/// or, when the datagram would pass the MTU, in a datagram of its own (DPVS).
fn udp_in<P: PacketBuf>(pkt: &mut P, f: &Flow, e: &Ends, mtu: usize) -> (usize, bool, Apart) {
    let mut h = [0u8; PP_MAX];
    let repr = ProxyHeaderRepr {
        version: ProxyVersion::V2,
        command: ProxyCommand::Proxy,
        addrs: Some(ProxyAddrs {
            transport: ProxyTransport::Udp,
            src: client_sock(e),
            dst: SocketAddr::new(e.vip.to_ip(), e.vport),
        }),
    };
    let Ok(n) = repr.emit(&mut h) else { return (f.ip_len, false, None) };
    if f.ip_len + n > mtu || pkt.append(n).is_none() {
        return (f.ip_len, false, Some((h, n)));
    }
    let data = pkt.data_mut();
    let body = ETH_LEN + f.l4 + 8;
    data.copy_within(body..ETH_LEN + f.ip_len, body + n);
    if let (Some(d), Some(s)) = (data.get_mut(body..body + n), h.get(..n)) {
        d.copy_from_slice(s);
    }
    let ip_len = f.ip_len + n;
    if let Some(l) = data.get_mut(ETH_LEN + f.l4 + 4..ETH_LEN + f.l4 + 6) {
        l.copy_from_slice(&((ip_len - f.l4) as u16).to_be_bytes());
    }
    (ip_len, true, None)
}

/// Recompute the UDP checksum of the datagram in `frame` (RFC 768; 0 becomes 0xffff).
fn fill_udp(frame: &mut [u8], f: &Flow, ip_len: usize) {
    let (src, dst) = match addrs_of(frame, f) {
        Some(a) => a,
        None => return,
    };
    let Some(seg) = frame.get_mut(ETH_LEN + f.l4..ETH_LEN + ip_len) else { return };
    if seg.len() < 8 {
        return;
    }
    seg[6..8].fill(0);
    let len = seg.len() as u32;
    let pseudo = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => checksum::pseudo_header_v4(&s, &d, ip_proto::UDP, len),
        (IpAddr::V6(s), IpAddr::V6(d)) => checksum::pseudo_header_v6(&s, &d, ip_proto::UDP, len),
        _ => return,
    };
    let c = !checksum::combine(&[pseudo, checksum::data(seg)]);
    let c = if c == 0 { 0xffff } else { c };
    seg[6..8].copy_from_slice(&c.to_be_bytes());
}

/// The IP header's source and destination.
fn addrs_of(frame: &[u8], f: &Flow) -> Option<(IpAddr, IpAddr)> {
    let h = frame.get(ETH_LEN..ETH_LEN + f.l4)?;
    if f.v6 {
        let s: [u8; 16] = h.get(8..24)?.try_into().ok()?;
        let d: [u8; 16] = h.get(24..40)?.try_into().ok()?;
        Some((IpAddr::from(s), IpAddr::from(d)))
    } else {
        Some((IpAddr::from([h[12], h[13], h[14], h[15]]), IpAddr::from([h[16], h[17], h[18], h[19]])))
    }
}

/// A datagram of its own carrying the PROXY header `pp`, sent before the rewritten
/// datagram in `frame` (its headers).
fn standalone_udp(frame: &[u8], f: &Flow, pp: &[u8]) -> Option<Extra> {
    let body = ETH_LEN + f.l4 + 8;
    let mut x = Extra::from_slice(frame.get(..body)?)?;
    x.append(pp.len())?.copy_from_slice(pp);
    let ip_len = x.len() - ETH_LEN;
    let out = x.data_mut();
    out.get_mut(ETH_LEN + f.l4 + 4..ETH_LEN + f.l4 + 6)?.copy_from_slice(&((ip_len - f.l4) as u16).to_be_bytes());
    if f.v6 {
        set_ip_len(out, true, ip_len);
    } else {
        let ip = out.get_mut(ETH_LEN..ETH_LEN + f.l4)?;
        ip.get_mut(2..4)?.copy_from_slice(&(ip_len as u16).to_be_bytes());
        ip.get_mut(10..12)?.fill(0);
        let c = !checksum::data(ip);
        ip.get_mut(10..12)?.copy_from_slice(&c.to_be_bytes());
    }
    fill_udp(out, f, ip_len);
    Some(x)
}

/// The TCP part of [`inbound`]: returns the IP length after it, whether the TCP
/// checksum must be recomputed, and a PROXY segment to send first.
/// A PROXY header to send in a segment of its own.
type Apart = Option<([u8; PP_MAX], usize)>;

#[allow(clippy::too_many_arguments)]
fn tcp_in<P: PacketBuf>(
    pkt: &mut P,
    f: &Flow,
    e: &Ends,
    x: &mut TcpExt,
    isn: u32,
    now: u64,
    mtu: usize,
    stats: &CoreStats,
) -> (usize, bool, Apart) {
    let at = ETH_LEN + f.l4;
    let mut ip_len = f.ip_len;
    let Some(seg) = pkt.data_mut().get_mut(at..ETH_LEN + ip_len) else { return (ip_len, false, None) };
    let Ok(mut t) = TcpPacket::new_checked(seg) else { return (ip_len, false, None) };
    let (seq, ack, fl) = (t.seq_number(), t.ack_number(), t.flags());
    if fl & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN {
        strip_toa(&mut t);
        let first = x.c_nxt == 0 && x.delta == 0;
        if first {
            if let Some((_, TcpOption::Timestamps { tsval, .. })) = t.find_option(kind::TIMESTAMPS) {
                x.ts_in = (now as u32).wrapping_sub(tsval);
            }
        }
        shift_ts(&mut t, x.ts_in, 0);
        if first {
            x.delta = isn.wrapping_sub(seq);
            x.pp_seq = seq.wrapping_add(1);
            if x.flags & (X_PP_V1 | X_PP_V2) != 0 {
                let mut h = [0u8; PP_MAX];
                x.pp_len = pp_header(e, x.has(X_PP_V2), &mut h) as u8;
            }
        }
        let s = seq.wrapping_add(x.delta);
        t.rewrite_seq_number(s);
        x.c_nxt = s.wrapping_add(1);
        return (ip_len, false, None);
    }
    let mut full = false;
    // The ack in the real server's numbering (the SYN proxy's cookie ISN is not its).
    let ack = if x.has(X_SYNPROXY) { ack.wrapping_sub(x.out_delta) } else { ack };
    // TOA on the segments that complete the handshake (DPVS: ack == RS ISN + 1).
    if x.has(X_RS_SYNACK) && fl & (tcp_flags::SYN | tcp_flags::RST) == 0 && ack == x.rs_isn1 {
        if x.has(X_TOA) {
            let toa = ToaRepr { client: client_sock(e) };
            match insert_toa(pkt, at, ip_len - f.l4, &toa, mtu.saturating_sub(f.l4)) {
                Ok(ToaInsert::Inserted { seg_len, .. }) => ip_len = f.l4 + seg_len,
                Ok(ToaInsert::NoRoom) | Err(_) => stats.toa_no_room.inc(),
            }
        } else if let Some(seg) = pkt.data_mut().get_mut(at..ETH_LEN + ip_len) {
            if let Ok(mut t) = TcpPacket::new_checked(seg) {
                strip_toa(&mut t);
            }
        }
    }
    let (hl, payload) = match pkt.data().get(at..ETH_LEN + ip_len).map(TcpPacket::new_checked) {
        Some(Ok(t)) => (t.header_len(), ip_len - f.l4 - t.header_len()),
        _ => return (ip_len, full, None),
    };
    let pp = usize::from(x.pp_len);
    let mut extra = None;
    // Where this segment's first byte goes in the real server's numbering.
    let mut d = x.delta;
    if pp > 0 && (x.has(X_PP_ACKED) || before(x.pp_seq, seq)) {
        d = d.wrapping_add(pp as u32);
    } else if pp > 0 && seq == x.pp_seq && payload > 0 && fl & tcp_flags::RST == 0 {
        let mut h = [0u8; PP_MAX];
        let n = pp_header(e, x.has(X_PP_V2), &mut h);
        x.flags |= X_PP_SENT;
        if ip_len + n <= mtu && pkt.append(n).is_some() {
            let data = pkt.data_mut();
            let body = at + hl;
            data.copy_within(body..ETH_LEN + ip_len, body + n);
            if let (Some(dst), Some(src)) = (data.get_mut(body..body + n), h.get(..n)) {
                dst.copy_from_slice(src);
            }
            ip_len += n;
            full = true;
        } else {
            // No room: the header goes first in a segment of its own.
            extra = Some((h, n));
            d = d.wrapping_add(pp as u32);
        }
    }
    let Some(seg) = pkt.data_mut().get_mut(at..ETH_LEN + ip_len) else { return (ip_len, full, extra) };
    let Ok(mut t) = TcpPacket::new_checked(seg) else { return (ip_len, full, extra) };
    let s = seq.wrapping_add(d);
    t.rewrite_seq_number(s);
    shift_ts(&mut t, x.ts_in, 0);
    if x.has(X_SYNPROXY) {
        synproxy::to_server(&mut t, x);
    }
    let fin = u32::from(fl & tcp_flags::FIN != 0);
    let end = s.wrapping_add((ip_len - f.l4 - t.header_len()) as u32 + fin);
    if before(x.c_nxt, end) {
        x.c_nxt = end;
    }
    (ip_len, full, extra)
}

/// A segment of its own carrying the PROXY header `pp`, sent before the rewritten
/// packet in `frame`: its headers, its sequence number less the header's length, ACK and
/// PSH only (DPVS's standalone PROXY segment).
fn standalone(frame: &[u8], f: &Flow, pp: &[u8]) -> Option<Extra> {
    let at = ETH_LEN + f.l4;
    let hl = TcpPacket::new_checked(frame.get(at..)?).ok()?.header_len();
    let body = at + hl;
    let mut x = Extra::from_slice(frame.get(..body)?)?;
    x.append(pp.len())?.copy_from_slice(pp);
    let ip_len = x.len() - ETH_LEN;
    let out = x.data_mut();
    let mut t = TcpPacket::new_checked(out.get_mut(at..)?).ok()?;
    let s = t.seq_number().wrapping_sub(pp.len() as u32);
    t.set_seq_number(s);
    t.set_flags(tcp_flags::ACK | tcp_flags::PSH);
    if f.v6 {
        set_ip_len(out, true, ip_len);
    } else {
        let ip = out.get_mut(ETH_LEN..at)?;
        ip.get_mut(2..4)?.copy_from_slice(&(ip_len as u16).to_be_bytes());
        ip.get_mut(10..12)?.fill(0);
        let c = !checksum::data(ip);
        ip.get_mut(10..12)?.copy_from_slice(&c.to_be_bytes());
    }
    fill_tcp(out, f, ip_len);
    Some(x)
}

/// FullNAT's rewrite of a real server → client packet (TTL already handled).
pub(crate) fn reply<P: PacketBuf>(pkt: &mut P, f: &Flow, e: &Ends, x: Option<&mut TcpExt>) {
    if let (Some(x), ip_proto::TCP, true) = (x, f.proto, f.frag != Frag::Later) {
        let at = ETH_LEN + f.l4;
        if let Some(Ok(mut t)) = pkt.data_mut().get_mut(at..ETH_LEN + f.ip_len).map(TcpPacket::new_checked) {
            let (seq, fl) = (t.seq_number(), t.flags());
            shift_ts(&mut t, 0, x.ts_in);
            if x.has(X_SYNPROXY) {
                synproxy::to_client(&mut t, x);
            }
            if fl & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN | tcp_flags::ACK && !x.has(X_SYNPROXY) {
                x.rs_isn1 = seq.wrapping_add(1);
                x.flags |= X_RS_SYNACK;
                if x.has(X_TOA) {
                    let room = if f.v6 { 20 } else { 8 };
                    if let Some((_, wire::TcpOption::MaxSegmentSize(m))) = t.find_option(kind::MSS) {
                        t.clamp_mss(m.saturating_sub(room));
                    }
                }
            }
            if fl & tcp_flags::ACK != 0 {
                let a = t.ack_number();
                if x.pp_len > 0 && x.has(X_PP_SENT) && !x.has(X_PP_ACKED) {
                    let end = x.pp_seq.wrapping_add(x.delta).wrapping_add(u32::from(x.pp_len));
                    if !before(a, end) {
                        x.flags |= X_PP_ACKED;
                    }
                }
                t.rewrite_ack_number(to_client(x, a));
                sack_to_client(&mut t, x);
            }
            let syn = u32::from(fl & tcp_flags::SYN != 0);
            let fin = u32::from(fl & tcp_flags::FIN != 0);
            let len = (f.ip_len - f.l4 - t.header_len()) as u32;
            let end = seq.wrapping_add(len + syn + fin);
            if x.r_nxt == 0 || before(x.r_nxt, end) {
                x.r_nxt = end;
            }
            x.flags |= X_SEEN_BOTH;
        }
    }
    let data = pkt.data_mut();
    nat(data, f, End::Src, e.vip, e.vport);
    nat(data, f, End::Dst, e.client, e.cport);
}

/// A client → real server sequence number (`a`, the real server's numbering) as the
/// client numbers it: an ICMP error's quote, an expiry's RST.
pub(crate) fn seq_to_client(x: &TcpExt, a: u32) -> u32 {
    to_client(x, a)
}
