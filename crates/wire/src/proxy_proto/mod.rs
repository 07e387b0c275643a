//! HAProxy's PROXY protocol (doc/proxy-protocol.txt), versions 1 (text, §2.1) and 2
//! (binary, §2.2): the header a FullNAT balancer puts in front of the client's first
//! data so that the real server learns the client's address (DPVS
//! `ip_vs_proxy_proto.c`).
//!
//! [`ProxyHeaderRepr::parse`] reports `Err(Truncated)` while the bytes seen so far are
//! a prefix of a header that may still turn out valid (a stream receiver should read
//! more), and `Err(Malformed)` once they cannot be (§2.1: "any sequence which does not
//! exactly match the protocol must be discarded"). Nothing here allocates: text is
//! formatted into the caller's slice and parsed from it.

mod v1;
mod v2;

use std::net::SocketAddr;

use crate::{Error, Result};

pub use v2::{pp2_type, ProxyTlv, ProxyTlvs, V2_SIGNATURE};

/// Longest v1 line, CRLF included (§2.1: the "worst case" UNKNOWN line).
pub const V1_MAX_LEN: usize = 107;
/// Fixed part of a v2 header: signature, ver_cmd, fam, length (§2.2).
pub const V2_HEADER_LEN: usize = 16;

/// Protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyVersion {
    /// Text line (§2.1).
    V1,
    /// Binary header (§2.2).
    V2,
}

impl ProxyVersion {
    /// Which version `buf` starts with (§2.2, "Identifying the protocol version"):
    /// `Ok(None)` when it is not a PROXY header at all, `Err(Truncated)` while `buf`
    /// is too short to tell (a prefix of both "PROXY " and the v2 signature is
    /// impossible, so one byte usually decides).
    pub fn detect(buf: &[u8]) -> Result<Option<ProxyVersion>> {
        let v1 = b"PROXY ";
        if let Some(r) = prefix_match(buf, &V2_SIGNATURE) {
            return r.map(|()| Some(ProxyVersion::V2));
        }
        match prefix_match(buf, v1) {
            Some(r) => r.map(|()| Some(ProxyVersion::V1)),
            None => Ok(None),
        }
    }
}

/// `Some(Ok)` when `buf` starts with `sig`, `Some(Err(Truncated))` when it is a
/// shorter prefix of it, `None` when it differs.
fn prefix_match(buf: &[u8], sig: &[u8]) -> Option<Result<()>> {
    let n = buf.len().min(sig.len());
    if buf.get(..n)? != sig.get(..n)? {
        return None;
    }
    Some(if n == sig.len() { Ok(()) } else { Err(Error::Truncated) })
}

/// v2 command (§2.2, low nibble of byte 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyCommand {
    /// 0x1: relayed on behalf of the client; the addresses are the client's.
    Proxy,
    /// 0x0: the proxy's own connection (health check); the receiver uses the real
    /// endpoints. v1 cannot say this.
    Local,
}

/// Transport of the proxied connection (§2.2, low nibble of byte 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyTransport {
    /// STREAM (0x1): v1 `TCP4`/`TCP6`, v2 0x11/0x21.
    Tcp,
    /// DGRAM (0x2): v2 only, 0x12/0x22.
    Udp,
}

/// The proxied connection's endpoints; `src` and `dst` are of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxyAddrs {
    /// TCP or UDP.
    pub transport: ProxyTransport,
    /// The client.
    pub src: SocketAddr,
    /// The address the client connected to (the VIP).
    pub dst: SocketAddr,
}

/// A PROXY header.
///
/// `addrs: None` is v1 `UNKNOWN` or v2 family UNSPEC (0x00); a parsed v2 `LOCAL`
/// header, or one of family AF_UNIX, has no addresses either (§2.2: the receiver
/// ignores them). Emitting `Local` requires `addrs: None` (written as fam 0x00, length
/// 0, as §2.2 recommends); v1 cannot emit `Local` or UDP; `src` and `dst` of
/// different families are refused (`Err(Malformed)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxyHeaderRepr {
    /// Version to write / version read.
    pub version: ProxyVersion,
    /// PROXY or LOCAL (v1: always `Proxy`).
    pub command: ProxyCommand,
    /// The endpoints, or none.
    pub addrs: Option<ProxyAddrs>,
}

impl ProxyHeaderRepr {
    /// A PROXY header for a TCP connection from `src` to `dst`.
    pub fn tcp(version: ProxyVersion, src: SocketAddr, dst: SocketAddr) -> Self {
        let addrs = Some(ProxyAddrs { transport: ProxyTransport::Tcp, src, dst });
        ProxyHeaderRepr { version, command: ProxyCommand::Proxy, addrs }
    }

    /// The client's address, if the header carries one.
    pub fn src(&self) -> Option<SocketAddr> {
        self.addrs.map(|a| a.src)
    }

    /// The destination the client used, if the header carries one.
    pub fn dst(&self) -> Option<SocketAddr> {
        self.addrs.map(|a| a.dst)
    }

    /// The transport, if the header carries addresses.
    pub fn transport(&self) -> Option<ProxyTransport> {
        self.addrs.map(|a| a.transport)
    }

    /// Bytes [`emit`](Self::emit) writes; `Err(Malformed)` for a header that cannot be
    /// written (see the type's rules).
    pub fn buffer_len(&self) -> Result<usize> {
        match self.version {
            ProxyVersion::V1 => v1::buffer_len(self),
            ProxyVersion::V2 => v2::buffer_len(self, &[]),
        }
    }

    /// Write the header at the start of `buf`; returns its length. `Err(Truncated)`
    /// if `buf` is too short, `Err(Malformed)` for a header that cannot be written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        match self.version {
            ProxyVersion::V1 => v1::emit(self, buf),
            ProxyVersion::V2 => v2::emit(self, &[], buf),
        }
    }

    /// Write a v2 header followed by `tlvs` (§2.2, after the address block).
    /// `Err(Malformed)` for a v1 header or a TLV value over 65535 bytes.
    pub fn emit_with_tlvs(&self, tlvs: &[ProxyTlv<'_>], buf: &mut [u8]) -> Result<usize> {
        match self.version {
            ProxyVersion::V1 => Err(Error::Malformed),
            ProxyVersion::V2 => v2::emit(self, tlvs, buf),
        }
    }

    /// Parse the header at the start of `buf` (either version); returns it and its
    /// length, after which the client's data starts. v2 TLVs are checked for shape
    /// (each one inside the header; a CRC32C TLV must match, §2.2.3) and skipped; read
    /// them with [`ProxyTlvs::of_header`].
    pub fn parse(buf: &[u8]) -> Result<(ProxyHeaderRepr, usize)> {
        match ProxyVersion::detect(buf)? {
            Some(ProxyVersion::V1) => v1::parse(buf),
            Some(ProxyVersion::V2) => v2::parse(buf),
            None => Err(Error::Malformed),
        }
    }
}
