//! [`Icmpv4Repr`]: the ICMPv4 messages rvs sends and answers, parsed and emitted whole.

use super::{icmpv4_type, Icmpv4Packet};
use crate::{Error, Result};

/// Most bytes of the offending datagram an error quotes: the error fits in 576 bytes
/// (RFC 1812 §4.3.2.3) behind a 20-byte IPv4 and the 8-byte ICMP header.
pub const ERROR_QUOTE_MAX: usize = 576 - 20 - 8;

/// The first [`ERROR_QUOTE_MAX`] bytes of `invoking` (all of it if shorter).
pub fn error_quote(invoking: &[u8]) -> &[u8] {
    invoking.get(..ERROR_QUOTE_MAX).unwrap_or(invoking)
}

/// An ICMPv4 message (RFC 792). Echo data and quoted datagrams are borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv4Repr<'a> {
    /// Echo (type 8, code 0).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data, echoed back by the reply.
        data: &'a [u8],
    },
    /// Echo Reply (type 0, code 0).
    EchoReply {
        /// Identifier of the request.
        ident: u16,
        /// Sequence number of the request.
        seq_no: u16,
        /// The request's data.
        data: &'a [u8],
    },
    /// Destination Unreachable (type 3, see [`icmpv4_code`](crate::icmpv4_code)).
    DstUnreachable {
        /// Code.
        code: u8,
        /// Next-hop MTU of fragmentation needed (RFC 1191 §4); 0 for other codes.
        next_hop_mtu: u16,
        /// The offending datagram's header and first data bytes.
        quote: &'a [u8],
    },
    /// Time Exceeded (type 11; code 0 in transit, 1 in reassembly).
    TimeExceeded {
        /// Code.
        code: u8,
        /// The offending datagram's header and first data bytes.
        quote: &'a [u8],
    },
    /// Parameter Problem (type 12, code 0: the pointer names the bad octet).
    ParamProblem {
        /// Octet of the quoted header where the problem is.
        pointer: u8,
        /// The offending datagram's header and first data bytes.
        quote: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Read one of the messages above from a whole ICMP message (the IPv4 payload).
    /// `Truncated` under 8 bytes; `Malformed` for a wrong checksum, another type, or a
    /// code the repr cannot hold (non-zero for echo and parameter problem).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Icmpv4Packet<&'a T>) -> Result<Self> {
        let b: &'a [u8] = T::as_ref(packet.buffer);
        let p = Icmpv4Packet::new_checked(b)?;
        if !p.verify_checksum() {
            return Err(Error::Malformed);
        }
        let (code, rest) = (p.msg_code(), p.rest_of_header());
        let data = b.get(Icmpv4Packet::<&[u8]>::HEADER_LEN..).unwrap_or(&[]);
        let (ident, seq_no) = ((rest >> 16) as u16, rest as u16);
        Ok(match (p.msg_type(), code) {
            (icmpv4_type::ECHO_REQUEST, 0) => Icmpv4Repr::EchoRequest { ident, seq_no, data },
            (icmpv4_type::ECHO_REPLY, 0) => Icmpv4Repr::EchoReply { ident, seq_no, data },
            (icmpv4_type::DST_UNREACHABLE, _) => Icmpv4Repr::DstUnreachable { code, next_hop_mtu: seq_no, quote: data },
            (icmpv4_type::TIME_EXCEEDED, _) => Icmpv4Repr::TimeExceeded { code, quote: data },
            (icmpv4_type::PARAM_PROBLEM, 0) => Icmpv4Repr::ParamProblem { pointer: (rest >> 24) as u8, quote: data },
            _ => return Err(Error::Malformed),
        })
    }

    /// Type, code, the 4 bytes after the checksum, and the data.
    fn fields(&self) -> (u8, u8, u32, &'a [u8]) {
        let word = |hi: u16, lo: u16| (u32::from(hi) << 16) | u32::from(lo);
        match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, data } => {
                (icmpv4_type::ECHO_REQUEST, 0, word(ident, seq_no), data)
            }
            Icmpv4Repr::EchoReply { ident, seq_no, data } => (icmpv4_type::ECHO_REPLY, 0, word(ident, seq_no), data),
            Icmpv4Repr::DstUnreachable { code, next_hop_mtu, quote } => {
                (icmpv4_type::DST_UNREACHABLE, code, word(0, next_hop_mtu), quote)
            }
            Icmpv4Repr::TimeExceeded { code, quote } => (icmpv4_type::TIME_EXCEEDED, code, 0, quote),
            Icmpv4Repr::ParamProblem { pointer, quote } => {
                (icmpv4_type::PARAM_PROBLEM, 0, u32::from(pointer) << 24, quote)
            }
        }
    }

    /// The 8-byte ICMP header.
    pub const fn header_len(&self) -> usize {
        Icmpv4Packet::<&[u8]>::HEADER_LEN
    }

    /// Header and data (or quote).
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.fields().3.len()
    }

    /// Write the message into the first [`buffer_len`](Self::buffer_len) bytes of
    /// `packet`, checksum (RFC 792) over exactly those. `Err(Truncated)` if shorter.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv4Packet<T>) -> Result<()> {
        let (ty, code, rest, data) = self.fields();
        let b = packet.buffer.as_mut().get_mut(..self.buffer_len()).ok_or(Error::Truncated)?;
        let mut p = Icmpv4Packet::new_unchecked(b);
        p.data_mut().copy_from_slice(data);
        p.set_msg_type(ty);
        p.set_msg_code(code);
        p.set_rest_of_header(rest);
        p.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_refuses_bad_sums_unknown_types_and_codes() {
        let r = Icmpv4Repr::ParamProblem { pointer: 9, quote: &[0x45, 0, 0, 20] };
        let mut b = [0u8; 12];
        assert_eq!(r.emit(&mut Icmpv4Packet::new_unchecked(&mut b[..11])), Err(Error::Truncated));
        r.emit(&mut Icmpv4Packet::new_unchecked(&mut b[..])).unwrap();
        assert_eq!(&b[..8], &[12, 0, 0xa5, 0xeb, 9, 0, 0, 0]);
        assert_eq!(Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&b[..])), Ok(r));
        assert_eq!(Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&b[..7])), Err(Error::Truncated));
        let mut c = b;
        c[11] = 1;
        assert_eq!(Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&c[..])), Err(Error::Malformed));
        for (ty, code) in [(12, 1), (8, 1), (0, 2), (5, 0), (13, 0)] {
            let mut p = Icmpv4Packet::new_unchecked(b);
            p.set_msg_type(ty);
            p.set_msg_code(code);
            p.fill_checksum();
            let d = p.into_inner();
            assert_eq!(Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&d[..])), Err(Error::Malformed), "{ty}/{code}");
        }
        assert_eq!(error_quote(&[0; 600]).len(), 548);
        assert_eq!(error_quote(&[0; 60]).len(), 60);
    }
}
