//! TOA, "TCP Option Address": DPVS's TCP option kind 254 carrying the client's address
//! to a real server behind FullNAT (DPVS `include/ipvs/proto_tcp.h`,
//! `src/ipvs/ip_vs_proto_tcp.c`; read by the `toa` kernel module on the server).
//!
//! Layout: kind 254, length, client port (be16), client address: 8 bytes for IPv4,
//! 20 for IPv6.
//!
//! - [`strip_toa`] turns every kind-254 option of a segment into NOPs, in place: it
//!   runs on any client segment (anti-spoofing), so it must not change lengths, move
//!   the payload or disturb the alignment other options were sent with; DPVS likewise
//!   NOPs out an option it removes in place (`tcp_in_remove_ts`). The NOPs are
//!   reclaimed by [`insert_toa`]'s pruning when room is short.
//! - [`insert_toa`] puts the option right after the 20-byte fixed header, moving the
//!   old options and the payload back (`tcp_in_add_toa`), pruning first when the
//!   40-byte option space or the MTU has no room (`tcp_in_prune_options`, see there).
//!
//! Left to the FullNAT caller, as in DPVS: which segments get the option (client
//! segments with ack == RS ISN + 1 and neither SYN nor RST; DPVS >= 1.9.6 not the SYN),
//! lowering the MSS of the RS's SYN-ACK by the option length ([`TcpPacket::clamp_mss`])
//! so the RS never sends segments that cannot grow, the IP total / payload length
//! (and IPv4 header checksum) from the returned segment length, and counting
//! [`ToaInsert::NoRoom`]. The checksum update is incremental over a full checksum; a
//! path that leaves the TCP checksum to the NIC (pseudo-header sum only in the field)
//! must recompute that field afterwards instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::buf::PacketBuf;
use crate::checksum::{self, PseudoHeader};
use crate::tcp::{tcp_option_kind as kind, TcpPacket};
use crate::{Error, Result};

/// The option kind (RFC 4727 experimental, used by DPVS / LVS FullNAT).
pub const TOA_KIND: u8 = 254;
/// Option length with an IPv4 client (`TCP_OLEN_IP4_ADDR`).
pub const TOA_LEN_V4: usize = 8;
/// Option length with an IPv6 client (`TCP_OLEN_IP6_ADDR`).
pub const TOA_LEN_V6: usize = 20;

const FIXED: usize = 20;
const MAX_HDR: usize = 60;
const MAX_OPTS: usize = MAX_HDR - FIXED;

/// The TOA option: the client's address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ToaRepr {
    /// The client as the balancer saw it.
    pub client: SocketAddr,
}

impl ToaRepr {
    /// Option length: 8 (IPv4) or 20 (IPv6).
    pub fn buffer_len(&self) -> usize {
        match self.client {
            SocketAddr::V4(_) => TOA_LEN_V4,
            SocketAddr::V6(_) => TOA_LEN_V6,
        }
    }

    /// Write the option (kind byte first) at the start of `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        let out = buf.get_mut(..len).ok_or(Error::Truncated)?;
        out[0] = TOA_KIND;
        out[1] = len as u8;
        out[2..4].copy_from_slice(&self.client.port().to_be_bytes());
        match self.client.ip() {
            IpAddr::V4(a) => out[4..].copy_from_slice(&a.octets()),
            IpAddr::V6(a) => out[4..].copy_from_slice(&a.octets()),
        }
        Ok(len)
    }

    /// Parse the option at the start of `opt` (kind byte first); returns it and its
    /// length. `Err(Malformed)` for another kind or a length other than 8 or 20.
    pub fn parse(opt: &[u8]) -> Result<(ToaRepr, usize)> {
        let (&k, rest) = opt.split_first().ok_or(Error::Truncated)?;
        let len = usize::from(*rest.first().ok_or(Error::Truncated)?);
        if k != TOA_KIND || (len != TOA_LEN_V4 && len != TOA_LEN_V6) {
            return Err(Error::Malformed);
        }
        let o = opt.get(..len).ok_or(Error::Truncated)?;
        let port = u16::from_be_bytes([o[2], o[3]]);
        let ip = match <[u8; 4]>::try_from(&o[4..]) {
            Ok(a) => IpAddr::V4(Ipv4Addr::from(a)),
            Err(_) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&o[4..]).map_err(|_| Error::Malformed)?)),
        };
        Ok((ToaRepr { client: SocketAddr::new(ip, port) }, len))
    }

    /// The first well-formed TOA option of `tcp`, if any (the walk stops at End of
    /// Option List or a malformed option, as the server's `toa` module does).
    pub fn find<T: AsRef<[u8]>>(tcp: &TcpPacket<T>) -> Option<ToaRepr> {
        let opts = tcp.options();
        let mut at = 0;
        while let Some((len, k)) = option_at(opts, at) {
            if k == TOA_KIND {
                if let Ok((t, _)) = ToaRepr::parse(opts.get(at..).unwrap_or(&[])) {
                    return Some(t);
                }
            }
            at += len;
        }
        None
    }
}

/// Length and kind of the option at `at` of a raw options area; `None` at the end,
/// at End of Option List, or on a malformed option (length below 2 or past the end).
fn option_at(opts: &[u8], at: usize) -> Option<(usize, u8)> {
    match *opts.get(at)? {
        kind::EOL => None,
        kind::NOP => Some((1, kind::NOP)),
        k => {
            let len = usize::from(*opts.get(at + 1)?);
            (len >= 2 && at + len <= opts.len()).then_some((len, k))
        }
    }
}

/// Replace every kind-254 option of `tcp` with NOPs, patching the checksum (RFC 1624);
/// returns how many were replaced. Lengths and offsets do not change (see the module
/// notes for why NOPs rather than compaction).
pub fn strip_toa<T: AsRef<[u8]> + AsMut<[u8]>>(tcp: &mut TcpPacket<T>) -> usize {
    const NOPS: [u8; MAX_OPTS] = [kind::NOP; MAX_OPTS];
    let mut at = 0;
    let mut n = 0;
    while let Some((len, k)) = option_at(tcp.options(), at) {
        if k == TOA_KIND && tcp.patch_bytes(FIXED + at, NOPS.get(..len).unwrap_or(&[])).is_ok() {
            n += 1;
        }
        at += len;
    }
    n
}

/// What [`insert_toa`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum ToaInsert {
    /// The option is in; the segment is now `seg_len` bytes (fix the IP length with
    /// it), after `pruned` bytes of old options were removed to make room.
    Inserted {
        /// New TCP segment length.
        seg_len: usize,
        /// Bytes of options removed (a multiple of 4; 0 when no pruning was needed).
        pruned: usize,
    },
    /// No room even after pruning, or no tailroom in the buffer: the segment is
    /// unchanged; DPVS counts this and sends the segment without the option.
    NoRoom,
}

/// Options a pruning pass keeps (DPVS `tcp_in_prune_options`): on a SYN MSS, window
/// scale, SACK-permitted, timestamps, MPTCP (30) and TCP Fast Open (34); otherwise
/// timestamps only (SACK blocks and MPTCP DSS go). Each kind is kept once, and only
/// at no more than its largest valid length.
fn protected_max_len(k: u8, syn: bool) -> Option<usize> {
    match (k, syn) {
        (kind::TIMESTAMPS, _) => Some(10),
        (kind::MSS, true) => Some(4),
        (kind::WINDOW_SCALE, true) => Some(3),
        (kind::SACK_PERMITTED, true) => Some(2),
        (30, true) => Some(40),
        (34, true) => Some(18),
        _ => None,
    }
}

/// DPVS's pruning, planned into `out`; returns the pruned options' length (before
/// padding). Pass 1 drops every NOP and kind-254 option and stops at End of Option
/// List or a malformed option (dropping the rest). If that frees fewer than `need`
/// bytes, pass 2 walks what is left in order, keeping the protected options
/// ([`protected_max_len`]) and dropping the others until `need` bytes are free, then
/// keeping the rest as is.
fn prune(opts: &[u8], syn: bool, need: usize, out: &mut [u8; MAX_OPTS]) -> usize {
    let mut n = 0;
    let mut at = 0;
    while let Some((len, k)) = option_at(opts, at) {
        if k != kind::NOP && k != TOA_KIND {
            if let (Some(d), Some(s)) = (out.get_mut(n..n + len), opts.get(at..at + len)) {
                d.copy_from_slice(s);
                n += len;
            }
        }
        at += len;
    }
    let mut freed = opts.len() - n;
    if freed >= need {
        return n;
    }
    let mut seen = [false; 256];
    let (mut r, mut w) = (0, 0);
    while let Some((len, k)) = option_at(&out[..n], r) {
        let keep = protected_max_len(k, syn).is_some_and(|m| len <= m) && !seen[usize::from(k)];
        if keep {
            seen[usize::from(k)] = true;
            out.copy_within(r..r + len, w);
            w += len;
        } else {
            freed += len;
            if freed >= need {
                out.copy_within(r + len..n, w);
                w += n - (r + len);
                break;
            }
        }
        r += len;
    }
    // What compaction left behind becomes zero (EOL) padding.
    out.get_mut(w..).unwrap_or(&mut []).fill(0);
    w
}

/// The new header for the segment `seg` with `toa` in front of its options, pruned to free at
/// least `need` bytes when `need > 0`; `None` when pruning cannot. Returns the header
/// (checksum patched for the new header and length) and its length, and the bytes
/// pruned.
fn plan(seg: &[u8], toa: &ToaRepr, need: usize) -> Option<([u8; MAX_HDR], usize, usize)> {
    let tcp = TcpPacket::new_checked(seg).ok()?;
    let seg_len = seg.len();
    let opts = tcp.options();
    let hl = FIXED + opts.len();
    let mut new_opts = [0u8; MAX_OPTS];
    let (kept, pruned) = if need == 0 {
        new_opts.get_mut(..opts.len())?.copy_from_slice(opts);
        // Old 254 options become NOPs (as strip_toa), so ours is the only one.
        let mut at = 0;
        while let Some((len, k)) = option_at(opts, at) {
            if k == TOA_KIND {
                new_opts.get_mut(at..at + len)?.fill(kind::NOP);
            }
            at += len;
        }
        (opts.len(), 0)
    } else {
        let w = prune(opts, tcp.syn(), need, &mut new_opts);
        let pruned = opts.len().checked_sub((w + 3) & !3)?;
        if pruned < need {
            return None;
        }
        (w, pruned)
    };
    let toa_len = toa.buffer_len();
    let new_hl = FIXED + toa_len + ((kept + 3) & !3); // zero (EOL) padding, RFC 9293 §3.1
    let mut h = [0u8; MAX_HDR];
    h.get_mut(..FIXED)?.copy_from_slice(seg.get(..FIXED)?);
    toa.emit(h.get_mut(FIXED..)?).ok()?;
    h.get_mut(FIXED + toa_len..new_hl)?.copy_from_slice(new_opts.get(..new_hl - FIXED - toa_len)?);
    // Data offset, keeping the reserved / AE bits of byte 12.
    h[12] = (((new_hl / 4) as u8) << 4) | (h[12] & 0x0f);
    // Checksum (RFC 1624): the payload keeps its 16-bit alignment (both header lengths
    // are multiples of 4), so only the header words and the pseudo-header length
    // change. Sums are taken with the checksum field at zero.
    let old = tcp.checksum();
    let old_sum = checksum::fold(u64::from(checksum::data(seg.get(..hl)?)) + u64::from(!old));
    h[16..18].fill(0);
    let new_sum = checksum::data(h.get(..new_hl)?);
    let new_seg_len = seg_len - hl + new_hl;
    let c = checksum::update32(old, seg_len as u32, new_seg_len as u32);
    let c = !checksum::fold(u64::from(!c) + u64::from(!old_sum) + u64::from(new_sum));
    h[16..18].copy_from_slice(&c.to_be_bytes());
    Some((h, new_hl, pruned))
}

/// Insert `toa` right after the fixed header of the `seg_len`-byte TCP segment at
/// `tcp_offset` of `buf`, as DPVS does on the client's first ACK / data segment
/// (`tcp_in_add_toa`), updating the data offset and the checksum (incrementally: a
/// segment whose checksum was right stays right; the caller still fixes the IP
/// length with the returned `seg_len`, and may recompute the checksum in full with
/// [`fill_tcp_checksum`] after its own rewrites).
///
/// Old kind-254 options never survive. When the option does not fit the 40-byte
/// option space, or the segment would exceed `max_seg_len` (the route MTU less the
/// IP header; `usize::MAX` for none), or the buffer has no tailroom for the growth,
/// the options are pruned as DPVS's `tcp_in_prune_options` does (first every NOP
/// and old 254 option; then, in order, the unprotected options: a SYN keeps one
/// each of MSS, window scale, SACK-permitted, timestamps, MPTCP and TFO, another
/// segment one timestamps option) by just enough to fit (DPVS frees a whole option
/// length, or everything pass 1 frees) and the insertion retried; if
/// that fails the segment is left unchanged and [`ToaInsert::NoRoom`] returned.
/// Bytes after the segment (Ethernet padding) are dropped. The payload moves by
/// the change in header length (the buffer must have the tailroom to grow).
/// `Err` for a segment that is not valid TCP or outside `buf`.
pub fn insert_toa<B: PacketBuf + ?Sized>(
    buf: &mut B,
    tcp_offset: usize,
    seg_len: usize,
    toa: &ToaRepr,
    max_seg_len: usize,
) -> Result<ToaInsert> {
    let end = tcp_offset.checked_add(seg_len).ok_or(Error::Truncated)?;
    let toa_len = toa.buffer_len();
    let mut need = {
        let seg = buf.data().get(tcp_offset..end).ok_or(Error::Truncated)?;
        let hl = TcpPacket::new_checked(seg)?.header_len();
        let over = (hl + toa_len).saturating_sub(MAX_HDR).max((seg_len + toa_len).saturating_sub(max_seg_len));
        (over + 3) & !3
    };
    loop {
        let planned = {
            let seg = buf.data().get(tcp_offset..end).ok_or(Error::Truncated)?;
            let hl = TcpPacket::new_checked(seg)?.header_len();
            plan(seg, toa, need).map(|(h, new_hl, pruned)| (h, new_hl, pruned, hl))
        };
        let Some((h, new_hl, pruned, hl)) = planned else { return Ok(ToaInsert::NoRoom) };
        let new_end = end - hl + new_hl;
        if new_end > buf.len() && buf.append(new_end - buf.len()).is_none() {
            if need >= toa_len {
                return Ok(ToaInsert::NoRoom);
            }
            // DPVS also prunes when the mbuf has no tailroom: free the whole option.
            need = toa_len;
            continue;
        }
        let data = buf.data_mut();
        data.copy_within(tcp_offset + hl..end, tcp_offset + new_hl);
        if let (Some(d), Some(s)) = (data.get_mut(tcp_offset..tcp_offset + new_hl), h.get(..new_hl)) {
            d.copy_from_slice(s);
        }
        if buf.len() > new_end && !buf.trim(buf.len() - new_end) {
            return Err(Error::Truncated);
        }
        return Ok(ToaInsert::Inserted { seg_len: new_end - tcp_offset, pruned });
    }
}

/// Recompute the checksum of the `seg_len`-byte TCP segment at `tcp_offset` of `buf`
/// in full, with the pseudo header of `src`/`dst` (RFC 9293 §3.1).
pub fn fill_tcp_checksum<B: PacketBuf + ?Sized, A: PseudoHeader>(
    buf: &mut B,
    tcp_offset: usize,
    seg_len: usize,
    src: &A,
    dst: &A,
) -> Result<()> {
    let end = tcp_offset.checked_add(seg_len).ok_or(Error::Truncated)?;
    let seg = buf.data_mut().get_mut(tcp_offset..end).ok_or(Error::Truncated)?;
    TcpPacket::new_checked(seg)?.fill_checksum(src, dst);
    Ok(())
}
