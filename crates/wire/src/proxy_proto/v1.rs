//! Version 1: one US-ASCII line (proxy-protocol.txt §2.1),
//! `PROXY TCP4|TCP6|UNKNOWN <src> <dst> <sport> <dport>\r\n`, at most 107 bytes.

use core::fmt::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{ProxyAddrs, ProxyCommand, ProxyHeaderRepr, ProxyTransport, ProxyVersion, V1_MAX_LEN};
use crate::{Error, Result};

/// A `fmt::Write` into a slice that counts what it could not store.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    at: usize,
    overflow: bool,
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.at + s.len();
        match self.buf.get_mut(self.at..end) {
            Some(dst) => dst.copy_from_slice(s.as_bytes()),
            None => self.overflow = true,
        }
        self.at = end;
        Ok(())
    }
}

/// Write the line into `w` (the family name, then the fields, §2.1).
fn write_line(r: &ProxyHeaderRepr, w: &mut SliceWriter<'_>) -> Result<()> {
    if r.command != ProxyCommand::Proxy {
        return Err(Error::Malformed);
    }
    let res = match r.addrs {
        None => w.write_str("PROXY UNKNOWN\r\n"),
        Some(ProxyAddrs { transport: ProxyTransport::Tcp, src, dst }) => {
            // IPv4 in dotted decimal without heading zeroes, IPv6 in RFC 5952 form
            // (std's Display), as §2.1 asks.
            let fam = match (src.ip(), dst.ip()) {
                (IpAddr::V4(_), IpAddr::V4(_)) => "TCP4",
                (IpAddr::V6(_), IpAddr::V6(_)) => "TCP6",
                _ => return Err(Error::Malformed),
            };
            write!(w, "PROXY {fam} {} {} {} {}\r\n", src.ip(), dst.ip(), src.port(), dst.port())
        }
        Some(_) => return Err(Error::Malformed), // v1 has no UDP
    };
    res.map_err(|_| Error::Malformed)
}

pub(super) fn buffer_len(r: &ProxyHeaderRepr) -> Result<usize> {
    let mut w = SliceWriter { buf: &mut [], at: 0, overflow: false };
    write_line(r, &mut w)?;
    Ok(w.at)
}

pub(super) fn emit(r: &ProxyHeaderRepr, buf: &mut [u8]) -> Result<usize> {
    let mut w = SliceWriter { buf, at: 0, overflow: false };
    write_line(r, &mut w)?;
    if w.overflow {
        return Err(Error::Truncated);
    }
    Ok(w.at)
}

/// A port: 1 to 5 decimal digits, no heading zero, at most 65535 (§2.1).
fn port(s: &str) -> Result<u16> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
        return Err(Error::Malformed);
    }
    s.parse().map_err(|_| Error::Malformed)
}

/// Whether the start of a line without its LF yet can still become a valid one, so
/// that garbage is refused at once rather than after 107 bytes (§2.1: "abort the
/// connection as soon as possible"): the family must be a prefix of `TCP4`, `TCP6`
/// or `UNKNOWN` (after which anything may follow), and a TCP line holds only
/// address, port and space characters, with a CR only last.
fn could_continue(line: &[u8]) -> bool {
    let Some(rest) = line.get(6..) else { return true }; // "PROXY " checked by detect
    let fam_len = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
    let (fam, fields) = rest.split_at(fam_len);
    if fam == b"UNKNOWN" || fam == b"UNKNOWN\r" {
        return true; // the rest of an UNKNOWN line is ignored
    }
    let is_prefix = |w: &[u8]| w.get(..fam.len()) == Some(fam);
    if !(is_prefix(b"TCP4") || is_prefix(b"TCP6") || is_prefix(b"UNKNOWN")) {
        return false;
    }
    if fields.is_empty() {
        return true;
    }
    if fam != b"TCP4" && fam != b"TCP6" {
        return false;
    }
    let body = match fields {
        [body @ .., b'\r'] => body,
        _ => fields,
    };
    body.iter().all(|c| c.is_ascii_hexdigit() || matches!(c, b'.' | b':' | b' '))
}

pub(super) fn parse(buf: &[u8]) -> Result<(ProxyHeaderRepr, usize)> {
    // §2.1: wait for the CRLF; none in the first 107 bytes is invalid, and a lone LF
    // must not end the line.
    let window = buf.get(..V1_MAX_LEN).unwrap_or(buf);
    let Some(lf) = window.iter().position(|&c| c == b'\n') else {
        return Err(if window.len() == V1_MAX_LEN || !could_continue(window) {
            Error::Malformed
        } else {
            Error::Truncated
        });
    };
    let line = match lf.checked_sub(1).and_then(|cr| window.get(..=cr)) {
        Some([line @ .., b'\r']) => line,
        _ => return Err(Error::Malformed),
    };
    let line = core::str::from_utf8(line).map_err(|_| Error::Malformed)?;
    let mut f = line.split(' ');
    if f.next() != Some("PROXY") {
        return Err(Error::Malformed);
    }
    let v6 = match f.next() {
        Some("TCP4") => false,
        Some("TCP6") => true,
        // §2.1: for UNKNOWN the receiver ignores the rest of the line.
        Some("UNKNOWN") => {
            let r = ProxyHeaderRepr { version: ProxyVersion::V1, command: ProxyCommand::Proxy, addrs: None };
            return Ok((r, lf + 1));
        }
        _ => return Err(Error::Malformed),
    };
    // Exactly one space between fields: an empty field (two spaces) fails below.
    let (Some(s), Some(d), Some(sp), Some(dp), None) = (f.next(), f.next(), f.next(), f.next(), f.next()) else {
        return Err(Error::Malformed);
    };
    let ip = |t: &str| -> Result<IpAddr> {
        if v6 {
            t.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| Error::Malformed)
        } else {
            // std refuses heading zeroes in IPv4 octets, as §2.1 requires.
            t.parse::<Ipv4Addr>().map(IpAddr::V4).map_err(|_| Error::Malformed)
        }
    };
    let src = SocketAddr::new(ip(s)?, port(sp)?);
    let dst = SocketAddr::new(ip(d)?, port(dp)?);
    let addrs = Some(ProxyAddrs { transport: ProxyTransport::Tcp, src, dst });
    Ok((ProxyHeaderRepr { version: ProxyVersion::V1, command: ProxyCommand::Proxy, addrs }, lf + 1))
}
