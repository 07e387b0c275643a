//! The fields of an Ethernet/IPv4 or IPv6 TCP or UDP frame the forwarder needs, read
//! once (IPv6 extension headers walked by `wire`).

use wire::{checksum, ethertype, ip_proto, Ipv6Packet};

use crate::addr::{Addr, Tuple};

pub(crate) const ETH_LEN: usize = 14;

/// Where a packet sits in its datagram (RFC 791; RFC 8200 4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frag {
    /// A whole datagram.
    Whole,
    /// Offset 0 with more to come: carries the transport header, so it is classified
    /// like a whole datagram.
    First,
    /// Offset > 0: no transport header; follows its first fragment by IP id.
    Later,
}

/// A parsed IP packet of a transport flow (or an ICMP error).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flow {
    pub v6: bool,
    /// Transport protocol (after IPv6 extension headers).
    pub proto: u8,
    pub src: Addr,
    pub dst: Addr,
    /// 0 for a later fragment (no transport header).
    pub sport: u16,
    pub dport: u16,
    pub tcp_flags: u8,
    /// Offset of the transport header from the IP header.
    pub l4: usize,
    /// Bytes of the IP packet (IPv4 total length, or 40 + IPv6 payload length).
    pub ip_len: usize,
    /// IPv4 DF; always set for IPv6, which routers never fragment (RFC 8200 5).
    pub dont_frag: bool,
    /// TTL or hop limit.
    pub ttl: u8,
    /// IPv4 identification, or the IPv6 Fragment header's.
    pub ident: u32,
    pub frag: Frag,
}

/// The one's-complement sum of an option-less IPv4 header (0xffff when it verifies):
/// native-order 32-bit words (RFC 1071 2(B)); 0xffff reads the same either way round.
#[inline(always)]
fn sum20(h: &[u8; 20]) -> u16 {
    let w = |i: usize| u64::from(u32::from_ne_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]));
    checksum::fold(w(0) + w(4) + w(8) + w(12) + w(16))
}

/// ICMPv6 error types are below 128 (RFC 4443 2.1); echo and NDP are the node's.
fn is_icmpv6_error(l4: &[u8]) -> bool {
    l4.first().is_some_and(|&t| t < 128)
}

impl Flow {
    /// `None` for anything the L3 node should see instead: not IP, a bad IPv4 header
    /// checksum, a truncated transport header, another protocol, ICMP that is not an
    /// error.
    #[inline]
    pub fn parse(frame: &[u8]) -> Option<Flow> {
        // The EtherType straight from the frame (EthernetFrame's check: 14 bytes).
        let (t, l3) = (frame.get(12..14)?, frame.get(ETH_LEN..)?);
        match u16::from_be_bytes([t[0], t[1]]) {
            ethertype::IPV4 => Self::parse_v4(l3),
            ethertype::IPV6 => Self::parse_v6(l3),
            _ => None,
        }
    }

    #[inline(always)]
    fn transport(proto: u8, l4: &[u8], frag: Frag) -> Option<(u16, u16, u8)> {
        let port = |at: usize| l4.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        match proto {
            ip_proto::TCP | ip_proto::UDP if frag == Frag::Later => Some((0, 0, 0)),
            ip_proto::TCP if l4.len() >= 20 => Some((port(0)?, port(2)?, *l4.get(13)?)),
            ip_proto::UDP if l4.len() >= 8 => Some((port(0)?, port(2)?, 0)),
            _ => None,
        }
    }

    /// A flow with nothing parsed (a staging slot's start).
    pub const EMPTY: Flow = Flow {
        v6: false,
        proto: 0,
        src: Addr::UNSPECIFIED,
        dst: Addr::UNSPECIFIED,
        sport: 0,
        dport: 0,
        tcp_flags: 0,
        l4: 0,
        ip_len: 0,
        dont_frag: false,
        ttl: 0,
        ident: 0,
        frag: Frag::Whole,
    };

    /// [`Flow::parse`] into `out` (`false`: not a flow, `out` unspecified). An IPv4
    /// frame's fields are stored straight into `out`, each once: a flow built aside and
    /// copied in is read back in 16-byte pieces its small stores cannot forward to, a
    /// stall per frame of a burst.
    #[inline]
    pub fn parse_into(frame: &[u8], out: &mut Flow) -> bool {
        let v4 = frame.get(12..14) == Some(&[0x08, 0x00][..]);
        let parsed = if v4 { frame.get(ETH_LEN..).and_then(Self::parse_v4) } else { Self::parse(frame) };
        match parsed {
            Some(f) => {
                out.v6 = f.v6;
                out.proto = f.proto;
                out.src = f.src;
                out.dst = f.dst;
                out.sport = f.sport;
                out.dport = f.dport;
                out.tcp_flags = f.tcp_flags;
                out.l4 = f.l4;
                out.ip_len = f.ip_len;
                out.dont_frag = f.dont_frag;
                out.ttl = f.ttl;
                out.ident = f.ident;
                out.frag = f.frag;
                true
            }
            None => false,
        }
    }

    /// The IPv4 header read straight from its bytes (the checks of
    /// `Ipv4Packet::new_checked` and `verify_checksum`, without the views' per-field
    /// bounds checks: this runs for every packet).
    #[inline(always)]
    fn parse_v4(l3: &[u8]) -> Option<Flow> {
        let h: &[u8; 20] = l3.get(..20)?.try_into().ok()?;
        if h[0] >> 4 != 4 {
            return None;
        }
        let hl = usize::from(h[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
        if hl < 20 || hl > l3.len() || total < hl || total > l3.len() {
            return None;
        }
        let sum = if hl == 20 { sum20(h) } else { checksum::data(l3.get(..hl)?) };
        if sum != 0xffff {
            return None;
        }
        let ff = u16::from_be_bytes([h[6], h[7]]);
        let frag = match (ff & 0x1fff, ff & 0x2000 != 0) {
            (0, false) => Frag::Whole,
            (0, true) => Frag::First,
            _ => Frag::Later,
        };
        let proto = h[9];
        let l4 = l3.get(hl..total)?;
        let (sport, dport, tcp_flags) = match proto {
            // ICMP errors are never fragmented in practice; a fragment of one is the L3
            // node's to drop.
            ip_proto::ICMP if l4.len() >= 8 && frag == Frag::Whole => (0, 0, 0),
            p => Self::transport(p, l4, frag)?,
        };
        Some(Flow {
            v6: false,
            proto,
            src: Addr::v4([h[12], h[13], h[14], h[15]]),
            dst: Addr::v4([h[16], h[17], h[18], h[19]]),
            sport,
            dport,
            tcp_flags,
            l4: hl,
            ip_len: total,
            dont_frag: ff & 0x4000 != 0,
            ttl: h[8],
            ident: u32::from(u16::from_be_bytes([h[4], h[5]])),
            frag,
        })
    }

    fn parse_v6(l3: &[u8]) -> Option<Flow> {
        let ip = Ipv6Packet::new_checked(l3).ok()?;
        let (up, l4) = ip.upper_layer_payload().ok()?;
        let frag = match up.fragment {
            None => Frag::Whole,
            Some(f) if f.offset == 0 && f.more_frags => Frag::First,
            Some(f) if f.offset == 0 => Frag::Whole,
            Some(_) => Frag::Later,
        };
        let (sport, dport, tcp_flags) = match up.protocol {
            ip_proto::ICMPV6 if l4.len() >= 8 && frag == Frag::Whole && is_icmpv6_error(l4) => (0, 0, 0),
            p => Self::transport(p, l4, frag)?,
        };
        Some(Flow {
            v6: true,
            proto: up.protocol,
            src: Addr::from(ip.src_addr()),
            dst: Addr::from(ip.dst_addr()),
            sport,
            dport,
            tcp_flags,
            l4: up.offset,
            ip_len: Ipv6Packet::<&[u8]>::HEADER_LEN + usize::from(ip.payload_len()),
            dont_frag: true,
            ttl: ip.hop_limit(),
            ident: up.fragment.map_or(0, |f| f.ident),
            frag,
        })
    }

    /// An ICMP (v4) or ICMPv6 error message.
    pub fn is_icmp(&self) -> bool {
        matches!(self.proto, ip_proto::ICMP | ip_proto::ICMPV6)
    }

    pub fn tuple(&self) -> Tuple {
        Tuple { proto: self.proto, src: self.src, sport: self.sport, dst: self.dst, dport: self.dport }
    }
}
