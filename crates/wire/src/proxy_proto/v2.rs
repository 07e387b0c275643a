//! Version 2: binary header (proxy-protocol.txt §2.2): 12-byte signature, ver_cmd,
//! fam, be16 length of what follows, the address block, then TLVs (§2.2.1–2.2.8).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{ProxyAddrs, ProxyCommand, ProxyHeaderRepr, ProxyTransport, ProxyVersion, V2_HEADER_LEN};
use crate::{Error, Result};

/// `\r\n\r\n\0\r\nQUIT\n` (§2.2).
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// Registered TLV types (§2.2).
pub mod pp2_type {
    /// Application-Layer Protocol Negotiation.
    pub const ALPN: u8 = 0x01;
    /// Host name (SNI).
    pub const AUTHORITY: u8 = 0x02;
    /// CRC32c of the whole header, computed with this field zeroed (§2.2.3).
    pub const CRC32C: u8 = 0x03;
    /// Padding, ignored.
    pub const NOOP: u8 = 0x04;
    /// Opaque connection id, up to 128 bytes.
    pub const UNIQUE_ID: u8 = 0x05;
    /// TLS information with sub-TLVs.
    pub const SSL: u8 = 0x20;
    /// Network namespace name.
    pub const NETNS: u8 = 0x30;
}

const VERSION: u8 = 0x20;
const CMD_LOCAL: u8 = 0x0;
const CMD_PROXY: u8 = 0x1;
const AF_UNSPEC: u8 = 0x0;
const AF_INET: u8 = 0x1;
const AF_INET6: u8 = 0x2;
const AF_UNIX: u8 = 0x3;
const PROTO_UNSPEC: u8 = 0x0;
const PROTO_STREAM: u8 = 0x1;
const PROTO_DGRAM: u8 = 0x2;

/// One TLV (§2.2): type, be16 length, value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxyTlv<'a> {
    /// Type (see [`pp2_type`]).
    pub kind: u8,
    /// Value.
    pub value: &'a [u8],
}

/// Iterator over the TLVs after the address block; yields one `Err(Malformed)` and
/// stops when a TLV runs past the header.
#[derive(Debug, Clone)]
pub struct ProxyTlvs<'a> {
    rest: &'a [u8],
}

impl<'a> ProxyTlvs<'a> {
    /// Iterate a raw TLV area.
    pub fn new(area: &'a [u8]) -> Self {
        ProxyTlvs { rest: area }
    }

    /// The TLVs of the v2 header at the start of `header` (which may be followed by
    /// data): empty for a LOCAL or UNSPEC header, whose bytes after the fixed part
    /// the receiver ignores (§2.2). `Err` as [`ProxyHeaderRepr::parse`].
    pub fn of_header(header: &'a [u8]) -> Result<Self> {
        let h = fixed(header)?;
        Ok(ProxyTlvs::new(header.get(h.tlv_at..h.total).unwrap_or(&[])))
    }
}

impl<'a> Iterator for ProxyTlvs<'a> {
    type Item = Result<ProxyTlv<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let item = match self.rest {
            [kind, hi, lo, rest @ ..] => {
                let n = usize::from(u16::from_be_bytes([*hi, *lo]));
                match (rest.get(..n), rest.get(n..)) {
                    (Some(value), Some(after)) => {
                        self.rest = after;
                        return Some(Ok(ProxyTlv { kind: *kind, value }));
                    }
                    _ => Err(Error::Malformed),
                }
            }
            _ => Err(Error::Malformed),
        };
        self.rest = &[];
        Some(item)
    }
}

/// Bytes of the address block for `fam`'s family (§2.2), `None` for an invalid fam.
fn addr_block_len(fam: u8) -> Option<usize> {
    let (af, proto) = (fam >> 4, fam & 0x0f);
    match (af, proto) {
        (AF_UNSPEC, PROTO_UNSPEC) => Some(0),
        (AF_INET, PROTO_STREAM | PROTO_DGRAM) => Some(12),
        (AF_INET6, PROTO_STREAM | PROTO_DGRAM) => Some(36),
        (AF_UNIX, PROTO_STREAM | PROTO_DGRAM) => Some(216),
        _ => None,
    }
}

/// What the fixed 16 bytes say, validated.
struct Fixed {
    cmd: u8,
    fam: u8,
    /// Where the TLVs start (= `total` for LOCAL and UNSPEC: not interpreted).
    tlv_at: usize,
    /// Header length, 16 + the length field.
    total: usize,
}

fn fixed(buf: &[u8]) -> Result<Fixed> {
    match super::prefix_match(buf, &V2_SIGNATURE) {
        Some(Ok(())) => {}
        Some(Err(e)) => return Err(e),
        None => return Err(Error::Malformed),
    }
    let [ver_cmd, fam, hi, lo] = *buf.get(12..V2_HEADER_LEN).ok_or(Error::Truncated)? else {
        return Err(Error::Truncated);
    };
    // §2.2: version must be 2; commands other than LOCAL/PROXY must be dropped.
    let cmd = ver_cmd & 0x0f;
    if ver_cmd & 0xf0 != VERSION || cmd > CMD_PROXY {
        return Err(Error::Malformed);
    }
    let total = V2_HEADER_LEN + usize::from(u16::from_be_bytes([hi, lo]));
    // LOCAL: "discard the protocol block including the family which is ignored".
    let block = if cmd == CMD_LOCAL { Some(total - V2_HEADER_LEN) } else { addr_block_len(fam) };
    let block = block.ok_or(Error::Malformed)?;
    // UNSPEC: the receiver ignores address information, so what follows is opaque.
    let tlv_at = if cmd == CMD_LOCAL || fam == 0 { total } else { V2_HEADER_LEN + block };
    if tlv_at > total {
        return Err(Error::Malformed); // length shorter than the family's block
    }
    if buf.len() < total {
        return Err(Error::Truncated);
    }
    Ok(Fixed { cmd, fam, tlv_at, total })
}

/// CRC32c (Castagnoli, reflected polynomial 0x82F63B78; RFC 4960 Appendix B) of
/// `parts` in order, bit by bit: it runs once per header that carries the TLV.
fn crc32c(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for b in parts.iter().flat_map(|p| p.iter()) {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

pub(super) fn parse(buf: &[u8]) -> Result<(ProxyHeaderRepr, usize)> {
    let h = fixed(buf)?;
    let header = buf.get(..h.total).ok_or(Error::Truncated)?;
    // TLVs must tile the rest of the header; a CRC32C TLV must match (§2.2.3).
    let mut at = h.tlv_at;
    for tlv in ProxyTlvs::new(header.get(h.tlv_at..).unwrap_or(&[])) {
        let tlv = tlv?;
        if tlv.kind == pp2_type::CRC32C {
            let want: [u8; 4] = tlv.value.try_into().map_err(|_| Error::Malformed)?;
            let v = at + 3;
            let (before, after) = (header.get(..v).unwrap_or(&[]), header.get(v + 4..).unwrap_or(&[]));
            if crc32c(&[before, &[0; 4], after]) != u32::from_be_bytes(want) {
                return Err(Error::Malformed);
            }
        }
        at += 3 + tlv.value.len();
    }
    let command = if h.cmd == CMD_LOCAL { ProxyCommand::Local } else { ProxyCommand::Proxy };
    let a = header.get(V2_HEADER_LEN..).unwrap_or(&[]);
    let transport = if h.fam & 0x0f == PROTO_DGRAM { ProxyTransport::Udp } else { ProxyTransport::Tcp };
    let port = |i: usize| u16::from_be_bytes([a.get(i).copied().unwrap_or(0), a.get(i + 1).copied().unwrap_or(0)]);
    let addrs = match (command, h.fam >> 4) {
        (ProxyCommand::Proxy, AF_INET) => {
            let ip = |i: usize| -> IpAddr {
                let o: [u8; 4] = a.get(i..i + 4).and_then(|s| s.try_into().ok()).unwrap_or([0; 4]);
                IpAddr::V4(Ipv4Addr::from(o))
            };
            Some((ip(0), ip(4), port(8), port(10)))
        }
        (ProxyCommand::Proxy, AF_INET6) => {
            let ip = |i: usize| -> IpAddr {
                let o: [u8; 16] = a.get(i..i + 16).and_then(|s| s.try_into().ok()).unwrap_or([0; 16]);
                IpAddr::V6(Ipv6Addr::from(o))
            };
            Some((ip(0), ip(16), port(32), port(34)))
        }
        // LOCAL, UNSPEC, AF_UNIX: no IP endpoints to report.
        _ => None,
    };
    let addrs =
        addrs.map(|(s, d, sp, dp)| ProxyAddrs { transport, src: SocketAddr::new(s, sp), dst: SocketAddr::new(d, dp) });
    Ok((ProxyHeaderRepr { version: ProxyVersion::V2, command, addrs }, h.total))
}

/// fam byte and address-block length for `r`, or `Err(Malformed)`.
fn fam_of(r: &ProxyHeaderRepr) -> Result<(u8, usize)> {
    match (r.command, r.addrs) {
        (_, None) => Ok((0x00, 0)),
        (ProxyCommand::Local, Some(_)) => Err(Error::Malformed),
        (ProxyCommand::Proxy, Some(a)) => {
            let proto = match a.transport {
                ProxyTransport::Tcp => PROTO_STREAM,
                ProxyTransport::Udp => PROTO_DGRAM,
            };
            match (a.src, a.dst) {
                (SocketAddr::V4(_), SocketAddr::V4(_)) => Ok(((AF_INET << 4) | proto, 12)),
                (SocketAddr::V6(_), SocketAddr::V6(_)) => Ok(((AF_INET6 << 4) | proto, 36)),
                _ => Err(Error::Malformed),
            }
        }
    }
}

pub(super) fn buffer_len(r: &ProxyHeaderRepr, tlvs: &[super::ProxyTlv<'_>]) -> Result<usize> {
    let (_, block) = fam_of(r)?;
    let mut n = V2_HEADER_LEN + block;
    for t in tlvs {
        if t.value.len() > usize::from(u16::MAX) {
            return Err(Error::Malformed);
        }
        n += 3 + t.value.len();
    }
    if n - V2_HEADER_LEN > usize::from(u16::MAX) {
        return Err(Error::Malformed);
    }
    Ok(n)
}

pub(super) fn emit(r: &ProxyHeaderRepr, tlvs: &[ProxyTlv<'_>], buf: &mut [u8]) -> Result<usize> {
    let total = buffer_len(r, tlvs)?;
    let (fam, _) = fam_of(r)?;
    let out = buf.get_mut(..total).ok_or(Error::Truncated)?;
    let cmd = if r.command == ProxyCommand::Local { CMD_LOCAL } else { CMD_PROXY };
    out[..12].copy_from_slice(&V2_SIGNATURE);
    out[12] = VERSION | cmd;
    out[13] = fam;
    out[14..16].copy_from_slice(&((total - V2_HEADER_LEN) as u16).to_be_bytes());
    let mut at = V2_HEADER_LEN;
    if let Some(a) = r.addrs {
        // Addresses, then ports, all in network order (§2.2, `union proxy_addr`).
        for ip in [a.src.ip(), a.dst.ip()] {
            let n = match ip {
                IpAddr::V4(v) => copy(out, at, &v.octets()),
                IpAddr::V6(v) => copy(out, at, &v.octets()),
            };
            at += n;
        }
        at += copy(out, at, &a.src.port().to_be_bytes());
        at += copy(out, at, &a.dst.port().to_be_bytes());
    }
    for t in tlvs {
        at += copy(out, at, &[t.kind]);
        at += copy(out, at, &(t.value.len() as u16).to_be_bytes());
        at += copy(out, at, t.value);
    }
    Ok(total)
}

/// Copy `src` into `out` at `at` (in bounds by construction); returns its length.
fn copy(out: &mut [u8], at: usize, src: &[u8]) -> usize {
    if let Some(d) = out.get_mut(at..at + src.len()) {
        d.copy_from_slice(src);
    }
    src.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // RFC 3720 B.4 / the usual check value of CRC-32C over "123456789".
        assert_eq!(crc32c(&[b"123456789"]), 0xE306_9283);
        assert_eq!(crc32c(&[b"1234", b"56789"]), 0xE306_9283);
    }
}
