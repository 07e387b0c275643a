//! RFC 1624 incremental updates must equal full recomputation: over 100,000 random
//! single-field rewrites, and over 100,000 NAT-style rewrites of real TCP/UDP/IPv4
//! packets (addresses, ports, sequence numbers, TTL, MSS at odd offsets, IPv6 addresses).

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use wire::checksum::{self, update16, update32};
use wire::{ip_proto, Ipv4Packet, TcpPacket, UdpPacket};

/// Full checksum (complemented sum) of `words`.
fn full(words: &[u16]) -> u16 {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    !checksum::data(&bytes)
}

proptest! {
    // One cheap property, 100,000 cases: a random header-sized block (its first word
    // fixed non-zero, as every real header and pseudo header has one) gets one 16-bit and
    // one 32-bit field rewritten.
    #![proptest_config(ProptestConfig::with_cases(100_000))]
    #[test]
    fn update16_and_update32_equal_recomputation(
        mut words in any::<[u16; 10]>(),
        i in 1usize..10,
        j in 1usize..9,
        new16 in any::<u16>(),
        new32 in any::<u32>(),
    ) {
        words[0] = 0x4500;
        let c0 = full(&words);
        let old16 = words[i];
        words[i] = new16;
        let c1 = update16(c0, old16, new16);
        prop_assert_eq!(c1, full(&words));
        let old32 = (u32::from(words[j]) << 16) | u32::from(words[j + 1]);
        words[j] = (new32 >> 16) as u16;
        words[j + 1] = new32 as u16;
        let c2 = update32(c1, old32, new32);
        prop_assert_eq!(c2, full(&words));
    }
}

/// xorshift64*: the inner loop's randomness, seeded by proptest.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// A valid IPv4 + TCP (with an MSS option at an odd offset) or UDP packet.
fn build(proto: u8, rng: &mut Rng, payload_len: usize) -> Vec<u8> {
    let l4 = if proto == ip_proto::TCP { 28 } else { 8 };
    let total = 20 + l4 + payload_len;
    let mut b = vec![0u8; total];
    for x in b[20 + l4..].iter_mut() {
        *x = rng.next() as u8;
    }
    let (src, dst) = (Ipv4Addr::from(rng.next() as u32), Ipv4Addr::from(rng.next() as u32));
    let mut ip = Ipv4Packet::new_unchecked(&mut b[..]);
    ip.set_version_and_header_len(4, 20);
    ip.set_total_len(total as u16);
    ip.set_ident(rng.next() as u16);
    ip.set_ttl(64);
    ip.set_protocol(proto);
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
    ip.fill_checksum();
    if proto == ip_proto::TCP {
        let mut t = TcpPacket::new_unchecked(&mut b[20..]);
        t.set_src_port(rng.next() as u16);
        t.set_dst_port(rng.next() as u16);
        t.set_seq_number(rng.next() as u32);
        t.set_ack_number(rng.next() as u32);
        t.set_header_len(28);
        t.set_flags(0x12);
        t.set_window_len(rng.next() as u16);
        // NOP, MSS (value at an odd offset), NOP, NOP, NOP: exercises patch_bytes.
        t.options_mut().copy_from_slice(&[1, 2, 4, 0xff, 0xff, 1, 1, 1]);
        t.fill_checksum(&src, &dst);
    } else {
        let mut u = UdpPacket::new_unchecked(&mut b[20..]);
        u.set_src_port(rng.next() as u16);
        u.set_dst_port(rng.next() as u16);
        u.set_len((8 + payload_len) as u16);
        u.fill_checksum(&src, &dst);
    }
    b
}

/// 1,000 packets × 100 rewrites = 100,000 NAT-style rewrites, each followed by a check
/// that the incrementally patched checksums equal full recomputation.
#[test]
fn nat_rewrites_equal_recomputation() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut rewrites = 0;
    for n in 0..1_000 {
        let proto = if n % 2 == 0 { ip_proto::TCP } else { ip_proto::UDP };
        let plen = (rng.next() % 64) as usize;
        let mut b = build(proto, &mut rng, plen);
        for _ in 0..100 {
            let mut ip = Ipv4Packet::new_checked(&mut b[..]).unwrap();
            let what = rng.next() % 8;
            let (old_src, old_dst) = (ip.src_addr(), ip.dst_addr());
            match what {
                0 => {
                    ip.rewrite_src_addr(Ipv4Addr::from(rng.next() as u32));
                }
                1 => {
                    ip.rewrite_dst_addr(Ipv4Addr::from(rng.next() as u32));
                }
                2 if ip.decrement_ttl() == 0 => {
                    ip.set_ttl(255);
                    ip.fill_checksum();
                }
                _ => {}
            }
            let (src, dst) = (ip.src_addr(), ip.dst_addr());
            let payload = ip.payload_mut();
            if proto == ip_proto::TCP {
                let mut t = TcpPacket::new_checked(payload).unwrap();
                t.update_checksum32(u32::from(old_src), u32::from(src));
                t.update_checksum32(u32::from(old_dst), u32::from(dst));
                match what {
                    3 => drop(t.rewrite_src_port(rng.next() as u16)),
                    4 => drop(t.rewrite_dst_port(rng.next() as u16)),
                    5 => drop(t.rewrite_seq_number(rng.next() as u32)),
                    6 => drop(t.rewrite_ack_number(rng.next() as u32)),
                    7 => t.patch_bytes(23, &(rng.next() as u16).to_be_bytes()).unwrap(),
                    _ => {}
                }
                let inc = t.checksum();
                t.fill_checksum(&src, &dst);
                assert_eq!(inc, t.checksum(), "tcp rewrite {what} of packet {n}");
            } else {
                let mut u = UdpPacket::new_checked(payload).unwrap();
                u.update_checksum32(u32::from(old_src), u32::from(src));
                u.update_checksum32(u32::from(old_dst), u32::from(dst));
                match what {
                    3 | 5 | 7 => drop(u.rewrite_src_port(rng.next() as u16)),
                    4 | 6 => drop(u.rewrite_dst_port(rng.next() as u16)),
                    _ => {}
                }
                let inc = u.checksum();
                u.fill_checksum(&src, &dst);
                assert_eq!(inc, u.checksum(), "udp rewrite {what} of packet {n}");
            }
            let mut ip = Ipv4Packet::new_checked(&mut b[..]).unwrap();
            let inc = ip.checksum();
            ip.fill_checksum();
            assert_eq!(inc, ip.checksum(), "ipv4 rewrite {what} of packet {n}");
            rewrites += 1;
        }
    }
    assert_eq!(rewrites, 100_000);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]
    /// IPv6 address rewrites (NAT64-free FullNAT on v6) patch the TCP checksum exactly.
    #[test]
    fn ipv6_address_rewrite_equals_recomputation(s in any::<[u8; 16]>(), d in any::<[u8; 16]>(), n in any::<[u8; 16]>(), body in proptest::collection::vec(any::<u8>(), 20..80)) {
        let (src, dst, new) = (Ipv6Addr::from(s), Ipv6Addr::from(d), Ipv6Addr::from(n));
        let mut seg = body;
        seg[12] = 0x50;
        let mut t = TcpPacket::new_checked(&mut seg[..]).unwrap();
        t.fill_checksum(&src, &dst);
        let inc = checksum::update_ipv6_addr(t.checksum(), &dst, &new);
        t.fill_checksum(&src, &new);
        prop_assert_eq!(inc, t.checksum());
    }
}

/// RFC 1071 word by word: big-endian 16-bit words, an odd last byte padded with zero,
/// end-around carry after every addition.
fn reference_sum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for w in bytes.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w.get(1).copied().unwrap_or(0)]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]
    /// `data` (native-order 32-bit words, swapped once) equals the definition, for every
    /// length and alignment, odd ones included.
    #[test]
    fn data_equals_the_word_by_word_sum(bytes in proptest::collection::vec(any::<u8>(), 0..200), skip in 0usize..8) {
        let b = bytes.get(skip.min(bytes.len())..).unwrap_or(&[]);
        // Even the two zeros agree: 0 only for all-zero input, 0xffff otherwise.
        prop_assert_eq!(checksum::data(b), reference_sum(b));
    }
}
