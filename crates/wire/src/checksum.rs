//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! All sums here are 16-bit one's complement sums, folded but *not* complemented; a
//! checksum field holds the complement of the sum (`!sum`). A buffer whose stored
//! checksum is right sums (with the field included) to 0xffff.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Fold a sum of 16-bit words to 16 bits (end-around carry), not complemented: for
/// callers that combine several RFC 1624 updates into one (`!fold(!c + !m + m' ...)`).
#[inline]
pub fn fold(sum: u64) -> u16 {
    // Four end-around-carry steps cover any u64 (64 -> 33 -> 18 -> 17 -> 16 bits),
    // without a data-dependent loop: this runs several times per forwarded packet.
    let s = (sum & 0xffff_ffff) + (sum >> 32);
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// One's complement sum of `bytes` as big-endian 16-bit words, folded, not
/// complemented; an odd trailing byte is padded with zero (RFC 1071 §4.1).
#[inline]
pub fn data(bytes: &[u8]) -> u16 {
    // RFC 1071 §2(B): the sum is byte-order independent, so add native-order 32-bit
    // words (two 16-bit words each, their carries folded later) and swap the folded
    // sum once at the end, instead of converting every 16-bit word.
    let mut sum: u64 = 0;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let (a, b) = c.split_at(4);
        sum += u64::from(u32::from_ne_bytes(a.try_into().unwrap_or_default()))
            + u64::from(u32::from_ne_bytes(b.try_into().unwrap_or_default()));
    }
    let mut words = chunks.remainder().chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_ne_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        // Zero-padded to a big-endian word: the byte sits in the word's first byte.
        sum += u64::from(u16::from_ne_bytes([*last, 0]));
    }
    u16::from_be(fold(sum))
}

/// One's complement addition of partial sums, folded.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// Sum of the IPv4 pseudo header (RFC 793 §3.1, RFC 768): source, destination, zero,
/// protocol, upper-layer length.
pub fn pseudo_header_v4(src: &Ipv4Addr, dst: &Ipv4Addr, protocol: u8, length: u32) -> u16 {
    let s = src.octets();
    let d = dst.octets();
    let sum = u64::from(u16::from_be_bytes([s[0], s[1]]))
        + u64::from(u16::from_be_bytes([s[2], s[3]]))
        + u64::from(u16::from_be_bytes([d[0], d[1]]))
        + u64::from(u16::from_be_bytes([d[2], d[3]]))
        + u64::from(protocol)
        + u64::from(length >> 16)
        + u64::from(length & 0xffff);
    fold(sum)
}

/// Sum of the IPv6 pseudo header (RFC 8200 §8.1): source, destination, 32-bit
/// upper-layer length, three zero bytes, next header.
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let sum = u64::from(data(&src.octets()))
        + u64::from(data(&dst.octets()))
        + u64::from(length >> 16)
        + u64::from(length & 0xffff)
        + u64::from(next_header);
    fold(sum)
}

/// Addresses that have a pseudo header, so TCP/UDP/ICMPv6 checksum helpers can be
/// generic over the IP version.
pub trait PseudoHeader {
    /// True for IPv6, where UDP may not send the zero "no checksum" (RFC 8200 §8.1).
    const IS_V6: bool;
    /// Sum of the pseudo header for `protocol` and upper-layer `length`.
    fn pseudo_header(src: &Self, dst: &Self, protocol: u8, length: u32) -> u16;
}

impl PseudoHeader for Ipv4Addr {
    const IS_V6: bool = false;
    fn pseudo_header(src: &Self, dst: &Self, protocol: u8, length: u32) -> u16 {
        pseudo_header_v4(src, dst, protocol, length)
    }
}

impl PseudoHeader for Ipv6Addr {
    const IS_V6: bool = true;
    fn pseudo_header(src: &Self, dst: &Self, protocol: u8, length: u32) -> u16 {
        pseudo_header_v6(src, dst, protocol, length)
    }
}

/// Incrementally update a stored (complemented) checksum after a 16-bit field changed
/// from `old` to `new`: RFC 1624 eqn. 3, `HC' = ~(~HC + ~m + m')`. Unlike eqn. 2 it
/// never produces a -0 (0xffff sum) the full computation would not.
#[inline]
pub fn update16(checksum: u16, old: u16, new: u16) -> u16 {
    !fold(u64::from(!checksum) + u64::from(!old) + u64::from(new))
}

/// [`update16`] for a 32-bit field (an IPv4 address, a TCP sequence number): both
/// halves in one step.
#[inline]
pub fn update32(checksum: u16, old: u32, new: u32) -> u16 {
    let sum = u64::from(!checksum)
        + u64::from(!(old >> 16) as u16)
        + u64::from(!(old as u16))
        + u64::from((new >> 16) as u16)
        + u64::from(new as u16);
    !fold(sum)
}

/// [`update16`] applied to an IPv4 address rewrite (NAT, RFC 3022 §4.2).
#[inline]
pub fn update_ipv4_addr(checksum: u16, old: &Ipv4Addr, new: &Ipv4Addr) -> u16 {
    update32(checksum, u32::from(*old), u32::from(*new))
}

/// Incremental update for an IPv6 address rewrite: eight 16-bit words.
pub fn update_ipv6_addr(checksum: u16, old: &Ipv6Addr, new: &Ipv6Addr) -> u16 {
    let mut sum = u64::from(!checksum);
    for (o, n) in old.segments().iter().zip(new.segments().iter()) {
        sum += u64::from(!*o) + u64::from(*n);
    }
    !fold(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2.
        assert_eq!(data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        assert_eq!(data(&[]), 0);
    }

    #[test]
    fn combine_wraps_end_around() {
        assert_eq!(combine(&[0xffff, 0x0001]), 0x0001);
        assert_eq!(combine(&[0x8000, 0x8000]), 0x0001);
    }

    #[test]
    fn update16_matches_rfc1624_example() {
        // RFC 1624 §4: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000.
        assert_eq!(update16(0xdd2f, 0x5555, 0x3285), 0x0000);
    }

    #[test]
    fn pseudo_v6_length_is_32_bit() {
        let a = Ipv6Addr::UNSPECIFIED;
        assert_eq!(pseudo_header_v6(&a, &a, 17, 0x0001_0002), 1 + 2 + 17);
        let b = Ipv4Addr::UNSPECIFIED;
        assert_eq!(pseudo_header_v4(&b, &b, 6, 0x0001_0002), 1 + 2 + 6);
    }
}
