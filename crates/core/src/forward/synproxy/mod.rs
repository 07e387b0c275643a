//! SYNPROXY (DPVS's ip_vs_synproxy.c, LVS's SYNPROXY): a SYN to a SYN-proxied service
//! is answered by the worker with a cookie SYN-ACK and leaves no state; the client's ACK
//! proves its address, and only then is a connection scheduled and the real server sent
//! a SYN with the client's options. Until the server's SYN-ACK the client's segments
//! are held; after it, the server's sequence numbers are shifted to the cookie's (ack
//! and SACK edges back), its window rescaled to the scale the client was told, and its
//! timestamps continued from the cookie SYN-ACK's clock (which DPVS never does: it turns
//! timestamps off).

pub mod cookie;
mod path;

use wire::tcp_option_kind as kind;
use wire::{checksum, ip_proto, tcp_flags, PacketBuf, SynOptions, TcpOption, TcpPacket};

use super::flow::{Flow, ETH_LEN};
use super::frame::FrameBuf;
use crate::conn::xt::{TcpExt, S_SACK, S_TS, S_WAIT, X_RS_SYNACK, X_SYNPROXY};
use cookie::{CookieData, CookieKeys, NO_WSCALE};

/// The window scale the cookie SYN-ACK offers a client that offered one (Linux's
/// usual for large buffers); the server's is translated to it.
pub const WS_VS: u8 = 7;
/// The window of the cookie SYN-ACK (a SYN's is never scaled).
const SYNACK_WINDOW: u16 = 65535;

/// The options a client's SYN (or the cookie) carries.
#[derive(Clone, Copy, Debug, Default)]
struct Opts {
    mss: Option<u16>,
    ws: Option<u8>,
    sack: bool,
    ts: Option<(u32, u32)>,
}

#[inline(always)]
fn opts(raw: &[u8]) -> Opts {
    let s = SynOptions::parse(raw);
    Opts { mss: s.mss, ws: s.window_scale.map(|w| w.min(14)), sack: s.sack_permitted, ts: s.timestamps }
}

fn options<T: AsRef<[u8]>>(t: &TcpPacket<T>) -> Opts {
    opts(t.options())
}

/// A SYN's options as 32-bit words (big-endian values): MSS, then SACK-permitted and
/// timestamps, then window scale, NOP-padded as Linux orders them. Returns the words
/// and how many there are.
#[inline(always)]
fn opt_words(mss: u16, sack: bool, ts: Option<(u32, u32)>, ws: Option<u8>) -> ([u32; 5], usize) {
    let be = |b: [u8; 4]| u32::from_be_bytes(b);
    let mut w = [be([kind::MSS, 4, 0, 0]) | u32::from(mss), 0, 0, 0, 0];
    let mut n = 1;
    if let Some((v, e)) = ts {
        let lead = if sack { [kind::SACK_PERMITTED, 2] } else { [kind::NOP, kind::NOP] };
        w[1] = be([lead[0], lead[1], kind::TIMESTAMPS, 10]);
        w[2] = v;
        w[3] = e;
        n = 4;
    } else if sack {
        w[1] = be([kind::NOP, kind::NOP, kind::SACK_PERMITTED, 2]);
        n = 2;
    }
    if let Some(s) = ws {
        if let Some(x) = w.get_mut(n) {
            *x = be([kind::NOP, kind::WINDOW_SCALE, 3, s]);
            n += 1;
        }
    }
    (w, n)
}

/// [`opt_words`] as bytes. Returns their length.
fn write_opts(out: &mut [u8; 20], mss: u16, sack: bool, ts: Option<(u32, u32)>, ws: Option<u8>) -> usize {
    let (w, n) = opt_words(mss, sack, ts, ws);
    for (o, x) in out.chunks_exact_mut(4).zip(&w[..n]) {
        o.copy_from_slice(&x.to_be_bytes());
    }
    4 * n
}

/// Lay out a TCP segment without payload at `f.l4` of `frame` (its IP header kept, the
/// length fixed), from `src:sport` to `dst:dport`, returning it for the caller to fill.
/// The buffer must already be `ETH_LEN + f.l4 + 20 + opts` long.
#[inline(always)]
fn rebuild_ip(frame: &mut [u8], f: &Flow, swap: bool, tcp_len: usize) {
    let ip_len = f.l4 + tcp_len;
    let Some(ip) = frame.get_mut(ETH_LEN..ETH_LEN + f.l4) else { return };
    if f.v6 {
        if swap {
            let (s, d) = ip.split_at_mut(24);
            s[8..24].swap_with_slice(&mut d[..16]);
        }
        ip[4..6].copy_from_slice(&(tcp_len as u16).to_be_bytes());
        ip[7] = 64;
    } else {
        let Some(h) = ip.get_mut(..20) else { return };
        if swap {
            let (s, d) = ([h[12], h[13], h[14], h[15]], [h[16], h[17], h[18], h[19]]);
            h[12..16].copy_from_slice(&d);
            h[16..20].copy_from_slice(&s);
        }
        // The header came verified (Flow::parse): patch its checksum for the length
        // and TTL in one step (RFC 1624 eqn. 3); swapping the addresses leaves the sum.
        let word = |h: &[u8], i: usize| u64::from(u16::from_be_bytes([h[i], h[i + 1]]));
        let (len0, ttl0, c0) = (word(h, 2), word(h, 8), word(h, 10));
        h[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
        h[8] = 64;
        let sum = (!c0 & 0xffff) + (!len0 & 0xffff) + word(h, 2) + (!ttl0 & 0xffff) + word(h, 8);
        h[10..12].copy_from_slice(&(!checksum::fold(sum)).to_be_bytes());
    }
}

/// The sum of the pseudo header (RFC 9293 3.1) of a `tcp_len`-byte segment in the IP
/// header at `ETH_LEN` of `frame`, from the header's address bytes, which lie together,
/// as big-endian 32-bit words (unfolded).
#[inline(always)]
fn pseudo(frame: &[u8], v6: bool, tcp_len: usize) -> u64 {
    let addrs = if v6 { ETH_LEN + 8..ETH_LEN + 40 } else { ETH_LEN + 12..ETH_LEN + 20 };
    let words =
        |b: &[u8]| b.chunks_exact(4).map(|w| u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))).sum::<u64>();
    frame.get(addrs).map_or(0, words) + u64::from(ip_proto::TCP) + tcp_len as u64
}

/// Recompute the TCP checksum from the IP header's addresses.
fn fill(frame: &mut [u8], f: &Flow) {
    let l4 = ETH_LEN + f.l4;
    let ph = pseudo(frame, f.v6, frame.len().saturating_sub(l4));
    let Some(seg) = frame.get_mut(l4..) else { return };
    if seg.len() < 20 {
        return;
    }
    seg[16..18].fill(0);
    let sum = ph + u64::from(checksum::data(seg));
    seg[16..18].copy_from_slice(&(!checksum::fold(sum)).to_be_bytes());
}

/// Resize `pkt` so the segment at `f.l4` is `tcp_len` bytes (payload and padding gone).
#[inline(always)]
fn resize<P: PacketBuf>(pkt: &mut P, f: &Flow, tcp_len: usize) -> bool {
    let want = ETH_LEN + f.l4 + tcp_len;
    let have = pkt.len();
    if have > want {
        pkt.trim(have - want)
    } else {
        have == want || pkt.append(want - have).is_some()
    }
}

/// Turn the client's SYN `pkt` into the cookie SYN-ACK, in place (it goes back to the
/// client from the VIP). `mss_max`: the most the director lets the client send (the
/// real servers' side less TOA when the service inserts it). Every SYN of a flood
/// comes here: the header is read straight from its bytes, the answer's TCP header made
/// as 32-bit words, summed from their values and stored once.
#[inline]
pub(crate) fn syn_ack<P: PacketBuf>(pkt: &mut P, f: &Flow, keys: &CookieKeys, now_ms: u64, mss_max: u16) -> bool {
    let at = ETH_LEN + f.l4;
    let (isn, o) = {
        let Some(seg) = pkt.data().get(at..ETH_LEN + f.ip_len) else { return false };
        let Some(h) = seg.get(..20) else { return false };
        let Some(raw) = seg.get(20..usize::from(h[12] >> 4) * 4) else { return false };
        (u32::from_be_bytes([h[4], h[5], h[6], h[7]]), opts(raw))
    };
    let data = CookieData {
        mss_idx: CookieData::mss_index(o.mss.unwrap_or(536).min(mss_max)),
        wscale: o.ws.unwrap_or(NO_WSCALE),
        ts: o.ts.is_some(),
        sack: o.sack,
    };
    let c = keys.make(&f.src, f.sport, &f.dst, f.dport, isn, cookie::count(now_ms), data);
    let ts = o.ts.map(|(v, _)| (((now_ms as u32) & !0x1f) | data.ts_bits(), v));
    // The header as ten 32-bit words, summed as numbers and stored a word at a time:
    // bytes stored piecewise and read back wider stall on store forwarding.
    let (opt, n) = opt_words(data.mss(), o.sack, ts, o.ws.map(|_| WS_VS));
    let len = 20 + 4 * n;
    let mut w = [0u32; 10];
    w[0] = u32::from(f.dport) << 16 | u32::from(f.sport);
    w[1] = c;
    w[2] = isn.wrapping_add(1);
    w[3] = (len as u32 / 4) << 28 | u32::from(tcp_flags::SYN | tcp_flags::ACK) << 16 | u32::from(SYNACK_WINDOW);
    w[5..].copy_from_slice(&opt);
    // Grown first if the answer is longer; written in place; trimmed last (payload and
    // Ethernet padding) when shorter.
    let (have, want) = (pkt.len(), at + len);
    if want > have && pkt.append(want - have).is_none() {
        return false;
    }
    // Summed from the values, not read back: the pseudo header's addresses from the
    // flow (the same two, swapped), the words as they were made.
    let addrs = |a: &crate::addr::Addr| {
        let w = a.words();
        if f.v6 {
            w.iter().map(|&x| u64::from(x)).sum()
        } else {
            u64::from(w[3])
        }
    };
    let sum = u64::from(w[0])
        + u64::from(c)
        + u64::from(w[2])
        + u64::from(w[3])
        + opt.iter().map(|&x| u64::from(x)).sum::<u64>()
        + addrs(&f.src)
        + addrs(&f.dst)
        + u64::from(ip_proto::TCP)
        + len as u64;
    w[4] = u32::from(!checksum::fold(sum)) << 16;
    let frame = pkt.data_mut();
    rebuild_ip(frame, f, true, len);
    let Some(out) = frame.get_mut(at..at + len) else { return false };
    for (o, x) in out.chunks_exact_mut(4).zip(&w) {
        o.copy_from_slice(&x.to_be_bytes());
    }
    have <= want || pkt.trim(have - want)
}

/// Turn a client's segment into an RST back to it from the VIP (a stale or forged
/// cookie; RFC 9293 3.10.7.1: seq = the segment's ack).
pub(crate) fn rst_back<P: PacketBuf>(pkt: &mut P, f: &Flow) -> bool {
    let at = ETH_LEN + f.l4;
    let ack = match pkt.data().get(at..ETH_LEN + f.ip_len).map(TcpPacket::new_checked) {
        Some(Ok(t)) => t.ack_number(),
        _ => return false,
    };
    if !resize(pkt, f, 20) {
        return false;
    }
    let frame = pkt.data_mut();
    rebuild_ip(frame, f, true, 20);
    let Some(seg) = frame.get_mut(at..at + 20) else { return false };
    let mut tcp = TcpPacket::new_unchecked(seg);
    tcp.set_src_port(f.dport);
    tcp.set_dst_port(f.sport);
    tcp.set_seq_number(ack);
    tcp.set_ack_number(0);
    tcp.set_header_len(20);
    tcp.set_flags(tcp_flags::RST);
    tcp.set_window_len(0);
    tcp.set_urgent_at(0);
    fill(frame, f);
    true
}

/// The client's ACK `pkt` for a SYN-proxied service: what its cookie remembers (with
/// its timestamps), if valid.
pub(crate) fn check_ack<P: PacketBuf>(pkt: &P, f: &Flow, keys: &CookieKeys, now_ms: u64) -> Option<TcpExt> {
    let t = TcpPacket::new_checked(pkt.data().get(ETH_LEN + f.l4..ETH_LEN + f.ip_len)?).ok()?;
    let o = options(&t);
    let isn = t.seq_number().wrapping_sub(1);
    let cookie = t.ack_number().wrapping_sub(1);
    let d = keys.check(&f.src, f.sport, &f.dst, f.dport, isn, cookie, cookie::count(now_ms), o.ts.map(|(_, e)| e))?;
    let mut sp = S_WAIT;
    if d.ts {
        sp |= S_TS;
    }
    if d.sack {
        sp |= S_SACK;
    }
    let (ts_client, ts_vs) = o.ts.unwrap_or((0, 0));
    Some(TcpExt {
        flags: X_SYNPROXY,
        sp,
        ws_vs: if d.wscale == NO_WSCALE { NO_WSCALE } else { WS_VS },
        ws_client: d.wscale,
        ws_rs: 0,
        mss: d.mss(),
        isn_vs: cookie,
        ts_client,
        ts_vs,
        ..TcpExt::default()
    })
}

/// The SYN the client would have sent, rebuilt from its held ACK `ack` (client → VIP,
/// before any rewrite) and what the cookie remembered: the connection's rewrite then
/// takes it to the real server.
pub(crate) fn client_syn(ack: &[u8], f: &Flow, x: &TcpExt) -> Option<FrameBuf> {
    let at = ETH_LEN + f.l4;
    let (seq, win) = {
        let t = TcpPacket::new_checked(ack.get(at..ETH_LEN + f.ip_len)?).ok()?;
        (t.seq_number().wrapping_sub(1), t.window_len())
    };
    let ts = (x.sp & S_TS != 0).then_some((x.ts_client, 0));
    let ws = (x.ws_client != NO_WSCALE).then_some(x.ws_client);
    let mut opts = [0u8; 20];
    let n = write_opts(&mut opts, x.mss, x.sp & S_SACK != 0, ts, ws);
    let mut b = FrameBuf::from_slice(ack.get(..at)?)?;
    b.append(20 + n)?.fill(0);
    let frame = b.data_mut();
    rebuild_ip(frame, f, false, 20 + n);
    let seg = frame.get_mut(at..at + 20 + n)?;
    let mut tcp = TcpPacket::new_unchecked(seg);
    tcp.set_src_port(f.sport);
    tcp.set_dst_port(f.dport);
    tcp.set_seq_number(seq);
    tcp.set_ack_number(0);
    tcp.set_header_len(20 + n);
    tcp.set_flags(tcp_flags::SYN);
    // The ACK's window was scaled by the client's shift; a SYN's is not.
    let raw = u32::from(win) << ws.unwrap_or(0).min(14);
    tcp.set_window_len(raw.min(65535) as u16);
    tcp.options_mut().copy_from_slice(opts.get(..n)?);
    fill(frame, f);
    Some(b)
}

/// The real server's SYN-ACK to a proxied SYN (before any rewrite): its ISN, window
/// scale and timestamp fix the translations for the connection's life.
pub(crate) fn server_synack(frame: &[u8], f: &Flow, x: &mut TcpExt) -> bool {
    let Some(Ok(t)) = frame.get(ETH_LEN + f.l4..ETH_LEN + f.ip_len).map(TcpPacket::new_checked) else {
        return false;
    };
    let o = options(&t);
    let isn = t.seq_number();
    x.out_delta = x.isn_vs.wrapping_sub(isn);
    x.rs_isn1 = isn.wrapping_add(1);
    x.flags |= X_RS_SYNACK;
    x.ws_rs = o.ws.unwrap_or(0);
    match o.ts {
        Some((v, _)) if x.sp & S_TS != 0 => x.ts_out = x.ts_vs.wrapping_sub(v),
        // No timestamps from the server: nothing to continue.
        _ => x.sp &= !S_TS,
    }
    x.sp &= !S_WAIT;
    true
}

/// Client → real server on a proxied connection: the ack (and SACK edges, which name the
/// server's bytes) back in the server's numbering, the echoed timestamp too.
pub(crate) fn to_server<T: AsRef<[u8]> + AsMut<[u8]>>(t: &mut TcpPacket<T>, x: &TcpExt) {
    if t.flags() & tcp_flags::ACK != 0 {
        let a = t.ack_number().wrapping_sub(x.out_delta);
        t.rewrite_ack_number(a);
    }
    shift_sack(t, x.out_delta.wrapping_neg());
    if x.sp & S_TS != 0 {
        if let Some((at, TcpOption::Timestamps { tsecr, .. })) = t.find_option(kind::TIMESTAMPS) {
            let _ = t.patch_bytes(at + 6, &tsecr.wrapping_sub(x.ts_out).to_be_bytes());
        }
    }
}

/// Real server → client on a proxied connection: its sequence number in the cookie's
/// numbering, its window in the scale the client was told, its clock continued.
pub(crate) fn to_client<T: AsRef<[u8]> + AsMut<[u8]>>(t: &mut TcpPacket<T>, x: &TcpExt) {
    let s = t.seq_number().wrapping_add(x.out_delta);
    t.rewrite_seq_number(s);
    if x.ws_vs != NO_WSCALE && x.ws_rs != x.ws_vs {
        let w = (u32::from(t.window_len()) << x.ws_rs.min(14)) >> x.ws_vs;
        let old = t.window_len();
        let new = w.min(65535) as u16;
        t.set_window_len(new);
        t.update_checksum16(old, new);
    }
    if x.sp & S_TS != 0 {
        if let Some((at, TcpOption::Timestamps { tsval, .. })) = t.find_option(kind::TIMESTAMPS) {
            let _ = t.patch_bytes(at + 2, &tsval.wrapping_add(x.ts_out).to_be_bytes());
        }
    }
}

/// Add `d` to every SACK block edge.
fn shift_sack<T: AsRef<[u8]> + AsMut<[u8]>>(t: &mut TcpPacket<T>, d: u32) {
    let Some((at, _)) = t.find_option(kind::SACK) else { return };
    let rel = at.saturating_sub(20);
    let len = t.options().get(rel + 1).map_or(0, |l| usize::from(*l));
    let mut edge = at + 2;
    while edge + 4 <= at + len {
        let o = edge - 20;
        let Some(b) = t.options().get(o..o + 4) else { return };
        let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]).wrapping_add(d);
        let _ = t.patch_bytes(edge, &v.to_be_bytes());
        edge += 4;
    }
}

/// DPVS's ACK storm guard: a real server repeating the same pure ACK more than
/// [`ACK_STORM`] times in a row (a sequence mismatch it keeps answering) is not passed
/// on. `true`: drop this one.
pub(crate) fn ack_storm(frame: &[u8], f: &Flow, x: &mut TcpExt) -> bool {
    let Some(Ok(t)) = frame.get(ETH_LEN + f.l4..ETH_LEN + f.ip_len).map(TcpPacket::new_checked) else {
        return false;
    };
    let pure = t.flags() & (tcp_flags::SYN | tcp_flags::FIN | tcp_flags::RST) == 0 && t.payload().is_empty();
    if !pure {
        x.mss = 0;
        return false;
    }
    if t.ack_number() == x.ts_client && x.mss > 0 {
        x.mss = x.mss.saturating_add(1);
    } else {
        x.ts_client = t.ack_number();
        x.mss = 1;
    }
    x.mss > ACK_STORM
}

/// Repeats of one pure ACK the guard lets through (DPVS: 10).
pub const ACK_STORM: u16 = 10;
