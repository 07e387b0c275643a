//! [`Icmpv6Repr`]: the ICMPv6 messages rvs sends and answers (RFC 4443), Neighbor
//! Solicitation and Advertisement (RFC 4861 §4.3-4.4) included, parsed and emitted whole.

use std::net::Ipv6Addr;

use super::{icmpv6_type, Icmpv6Packet};
use crate::ethernet::EthernetAddress;
use crate::{Error, Result};

/// Most bytes of the offending packet an error quotes: the error may not exceed the
/// IPv6 minimum MTU, 1280 (RFC 4443 §2.4 (c)), behind 40 + 8 bytes of headers.
pub const ERROR_QUOTE_MAX: usize = 1280 - 40 - 8;

/// The first [`ERROR_QUOTE_MAX`] bytes of `invoking` (all of it if shorter).
pub fn error_quote(invoking: &[u8]) -> &[u8] {
    invoking.get(..ERROR_QUOTE_MAX).unwrap_or(invoking)
}

/// NDP option types (RFC 4861 §4.6).
pub mod ndp_option {
    /// Source Link-Layer Address.
    pub const SOURCE_LLADDR: u8 = 1;
    /// Target Link-Layer Address.
    pub const TARGET_LLADDR: u8 = 2;
}

/// An ICMPv6 message. Echo data and quoted packets are borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv6Repr<'a> {
    /// Echo Request (type 128, code 0).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data, echoed back by the reply.
        data: &'a [u8],
    },
    /// Echo Reply (type 129, code 0).
    EchoReply {
        /// Identifier of the request.
        ident: u16,
        /// Sequence number of the request.
        seq_no: u16,
        /// The request's data.
        data: &'a [u8],
    },
    /// Destination Unreachable (type 1, RFC 4443 §3.1; see [`icmpv6_code`](crate::icmpv6_code)).
    DstUnreachable {
        /// Code.
        code: u8,
        /// As much of the invoking packet as fits (see [`error_quote`]).
        quote: &'a [u8],
    },
    /// Packet Too Big (type 2, code 0, RFC 4443 §3.2).
    PacketTooBig {
        /// MTU of the next-hop link.
        mtu: u32,
        /// As much of the invoking packet as fits.
        quote: &'a [u8],
    },
    /// Time Exceeded (type 3; code 0 hop limit, 1 reassembly; RFC 4443 §3.3).
    TimeExceeded {
        /// Code.
        code: u8,
        /// As much of the invoking packet as fits.
        quote: &'a [u8],
    },
    /// Parameter Problem (type 4, RFC 4443 §3.4).
    ParamProblem {
        /// Code (0 erroneous header field, 1 unknown next header, 2 unknown option).
        code: u8,
        /// Offset of the error within the invoking packet.
        pointer: u32,
        /// As much of the invoking packet as fits.
        quote: &'a [u8],
    },
    /// Neighbor Solicitation (type 135, RFC 4861 §4.3).
    NeighborSolicit {
        /// The address being resolved.
        target: Ipv6Addr,
        /// Source link-layer address option; must be absent from the unspecified source.
        source_lladdr: Option<EthernetAddress>,
    },
    /// Neighbor Advertisement (type 136, RFC 4861 §4.4).
    NeighborAdvert {
        /// R: the sender is a router.
        router: bool,
        /// S: sent in answer to a solicitation (never to a multicast destination).
        solicited: bool,
        /// O: override an existing cache entry.
        override_: bool,
        /// The address advertised.
        target: Ipv6Addr,
        /// Target link-layer address option.
        target_lladdr: Option<EthernetAddress>,
    },
}

/// What follows the first 8 bytes.
enum Body<'a> {
    Data(&'a [u8]),
    /// Target address and an optional link-layer address option of the given type.
    Ndp(Ipv6Addr, u8, Option<EthernetAddress>),
}

const HEADER_LEN: usize = Icmpv6Packet::<&[u8]>::HEADER_LEN;
/// One Ethernet link-layer address option: type, length 1 (8 octets), MAC (RFC 2464 §6).
const LLADDR_OPT_LEN: usize = 8;
const NA_ROUTER: u32 = 0x8000_0000;
const NA_SOLICITED: u32 = 0x4000_0000;
const NA_OVERRIDE: u32 = 0x2000_0000;

/// ff02::1:ffXX:XXXX (RFC 4291 §2.7.1).
fn is_solicited_node(a: &Ipv6Addr) -> bool {
    a.octets()[..13] == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff]
}

/// The first link-layer address option of type `kind` in `opts`. Every option must have
/// a non-zero length and fit (RFC 4861 §4.6, §7.1.1-7.1.2); the wanted one must be the
/// 8-byte Ethernet form (RFC 2464 §6). Other options are skipped (RFC 4861 §4.6).
fn lladdr_option(mut opts: &[u8], kind: u8) -> Result<Option<EthernetAddress>> {
    let mut found = None;
    while !opts.is_empty() {
        let len = usize::from(*opts.get(1).ok_or(Error::Malformed)?) * 8;
        let opt = opts.get(..len).filter(|o| !o.is_empty()).ok_or(Error::Malformed)?;
        if opt.first() == Some(&kind) && found.is_none() {
            if len != LLADDR_OPT_LEN {
                return Err(Error::Malformed);
            }
            found = opt.get(2..8).and_then(EthernetAddress::from_bytes);
        }
        opts = opts.get(len..).unwrap_or(&[]);
    }
    Ok(found)
}

impl<'a> Icmpv6Repr<'a> {
    /// Read one of the messages above from a whole ICMPv6 message sent from `src_addr`
    /// to `dst_addr`. `Truncated` under 8 bytes (24 for NDP); `Malformed` for a wrong
    /// checksum, another type, a code the repr cannot hold, or an NDP message RFC 4861
    /// §7.1.1/§7.1.2 says to discard (non-zero code, multicast target, zero-length or
    /// overrunning option, link-layer option from the unspecified address or not to a
    /// solicited-node group, solicited advertisement to a multicast address). The hop
    /// limit of 255 is the caller's to check, on the IPv6 header.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        src_addr: &Ipv6Addr,
        dst_addr: &Ipv6Addr,
        packet: &Icmpv6Packet<&'a T>,
    ) -> Result<Self> {
        let b: &'a [u8] = T::as_ref(packet.buffer);
        let p = Icmpv6Packet::new_checked(b)?;
        if !p.verify_checksum(src_addr, dst_addr) {
            return Err(Error::Malformed);
        }
        let (code, rest) = (p.msg_code(), p.pointer());
        let data = b.get(HEADER_LEN..).unwrap_or(&[]);
        let (ident, seq_no) = ((rest >> 16) as u16, rest as u16);
        let repr = match (p.msg_type(), code) {
            (icmpv6_type::ECHO_REQUEST, 0) => Icmpv6Repr::EchoRequest { ident, seq_no, data },
            (icmpv6_type::ECHO_REPLY, 0) => Icmpv6Repr::EchoReply { ident, seq_no, data },
            (icmpv6_type::DST_UNREACHABLE, _) => Icmpv6Repr::DstUnreachable { code, quote: data },
            (icmpv6_type::PACKET_TOO_BIG, 0) => Icmpv6Repr::PacketTooBig { mtu: rest, quote: data },
            (icmpv6_type::TIME_EXCEEDED, _) => Icmpv6Repr::TimeExceeded { code, quote: data },
            (icmpv6_type::PARAM_PROBLEM, _) => Icmpv6Repr::ParamProblem { code, pointer: rest, quote: data },
            (icmpv6_type::NEIGHBOR_SOLICIT | icmpv6_type::NEIGHBOR_ADVERT, 0) => {
                let target = p.ndp_target_addr().ok_or(Error::Truncated)?;
                let opts = data.get(16..).unwrap_or(&[]);
                if p.msg_type() == icmpv6_type::NEIGHBOR_SOLICIT {
                    let source_lladdr = lladdr_option(opts, ndp_option::SOURCE_LLADDR)?;
                    Icmpv6Repr::NeighborSolicit { target, source_lladdr }
                } else {
                    Icmpv6Repr::NeighborAdvert {
                        router: rest & NA_ROUTER != 0,
                        solicited: rest & NA_SOLICITED != 0,
                        override_: rest & NA_OVERRIDE != 0,
                        target,
                        target_lladdr: lladdr_option(opts, ndp_option::TARGET_LLADDR)?,
                    }
                }
            }
            _ => return Err(Error::Malformed),
        };
        repr.check(src_addr, dst_addr)?;
        Ok(repr)
    }

    /// The RFC 4861 §7.1.1/§7.1.2 rules that depend on the fields and addresses, shared
    /// by parse and emit so that neither accepts what the other refuses.
    fn check(&self, src_addr: &Ipv6Addr, dst_addr: &Ipv6Addr) -> Result<()> {
        let bad = match self {
            Icmpv6Repr::NeighborSolicit { target, source_lladdr } => {
                target.is_multicast()
                    || (src_addr.is_unspecified() && (source_lladdr.is_some() || !is_solicited_node(dst_addr)))
            }
            Icmpv6Repr::NeighborAdvert { solicited, target, .. } => {
                target.is_multicast() || (*solicited && dst_addr.is_multicast())
            }
            _ => false,
        };
        if bad {
            Err(Error::Malformed)
        } else {
            Ok(())
        }
    }

    /// Type, code, the 4 bytes after the checksum, and what follows.
    fn fields(&self) -> (u8, u8, u32, Body<'a>) {
        use Body::{Data, Ndp};
        let word = |hi: u16, lo: u16| (u32::from(hi) << 16) | u32::from(lo);
        match *self {
            Icmpv6Repr::EchoRequest { ident, seq_no, data } => {
                (icmpv6_type::ECHO_REQUEST, 0, word(ident, seq_no), Data(data))
            }
            Icmpv6Repr::EchoReply { ident, seq_no, data } => {
                (icmpv6_type::ECHO_REPLY, 0, word(ident, seq_no), Data(data))
            }
            Icmpv6Repr::DstUnreachable { code, quote } => (icmpv6_type::DST_UNREACHABLE, code, 0, Data(quote)),
            Icmpv6Repr::PacketTooBig { mtu, quote } => (icmpv6_type::PACKET_TOO_BIG, 0, mtu, Data(quote)),
            Icmpv6Repr::TimeExceeded { code, quote } => (icmpv6_type::TIME_EXCEEDED, code, 0, Data(quote)),
            Icmpv6Repr::ParamProblem { code, pointer, quote } => {
                (icmpv6_type::PARAM_PROBLEM, code, pointer, Data(quote))
            }
            Icmpv6Repr::NeighborSolicit { target, source_lladdr } => {
                (icmpv6_type::NEIGHBOR_SOLICIT, 0, 0, Ndp(target, ndp_option::SOURCE_LLADDR, source_lladdr))
            }
            Icmpv6Repr::NeighborAdvert { router, solicited, override_, target, target_lladdr } => {
                let flags = (if router { NA_ROUTER } else { 0 })
                    | (if solicited { NA_SOLICITED } else { 0 })
                    | (if override_ { NA_OVERRIDE } else { 0 });
                (icmpv6_type::NEIGHBOR_ADVERT, 0, flags, Ndp(target, ndp_option::TARGET_LLADDR, target_lladdr))
            }
        }
    }

    /// The 8-byte ICMPv6 header.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The whole message: header and data, quote, or NDP target and option.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + match self.fields().3 {
                Body::Data(d) => d.len(),
                Body::Ndp(_, _, opt) => 16 + if opt.is_some() { LLADDR_OPT_LEN } else { 0 },
            }
    }

    /// Write the message into the first [`buffer_len`](Self::buffer_len) bytes of
    /// `packet`, checksum over exactly those and the pseudo header of `src_addr` and
    /// `dst_addr` (RFC 4443 §2.3). `Err(Truncated)` if shorter; `Err(Malformed)` for an
    /// NDP message [`parse`](Self::parse) would refuse.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        src_addr: &Ipv6Addr,
        dst_addr: &Ipv6Addr,
        packet: &mut Icmpv6Packet<T>,
    ) -> Result<()> {
        self.check(src_addr, dst_addr)?;
        let (ty, code, rest, body) = self.fields();
        let b = packet.buffer.as_mut().get_mut(..self.buffer_len()).ok_or(Error::Truncated)?;
        let mut p = Icmpv6Packet::new_unchecked(b);
        match body {
            Body::Data(d) => p.data_mut().copy_from_slice(d),
            Body::Ndp(target, kind, opt) => {
                let out = p.data_mut();
                out[..16].copy_from_slice(&target.octets());
                if let Some(mac) = opt {
                    out[16..18].copy_from_slice(&[kind, 1]);
                    out[18..24].copy_from_slice(mac.as_bytes());
                }
            }
        }
        p.set_msg_type(ty);
        p.set_msg_code(code);
        p.set_pointer(rest);
        p.fill_checksum(src_addr, dst_addr);
        Ok(())
    }
}
