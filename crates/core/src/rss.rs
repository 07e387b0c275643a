//! Receive-side scaling as a NIC computes it (Microsoft's RSS: a Toeplitz hash over a
//! 40-byte key; the hash's low bits index a redirection table of queues), so a worker
//! knows which queue the NIC delivers a given client's packets to, and a benchmark can
//! place packets exactly as a NIC would.
//!
//! rvs hashes the client's address only: on the ports clients' packets arrive on, the
//! source address (DPDK's RTE_ETH_RSS_L3_SRC_ONLY), on the ports NAT replies arrive on,
//! the destination address (L3_DST_ONLY). A request and its reply then land on the same
//! queue index, and all of one client's connections on one worker.

use crate::addr::Addr;

pub const KEY_LEN: usize = 40;

/// The key from Microsoft's RSS specification (also most drivers' default), so the
/// specification's verification vectors check [`toeplitz`].
pub const DEFAULT_KEY: [u8; KEY_LEN] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b,
    0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac,
    0x01, 0xfa,
];

/// The Toeplitz hash of `input` (bytes in network order) under `key`: for every set
/// bit i of the input (most significant first), XOR in the 32 key bits starting at
/// bit i. Input longer than the key allows (key bits run out) hashes only what fits.
pub fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    let bit = |i: usize| key.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0);
    let window = |i: usize| (0..32).fold(0u32, |w, k| w << 1 | u32::from(bit(i + k)));
    let mut h = 0;
    for (n, byte) in input.iter().enumerate() {
        for b in 0..8 {
            if byte & (0x80 >> b) != 0 && n * 8 + b + 32 <= key.len() * 8 {
                h ^= window(n * 8 + b);
            }
        }
    }
    h
}

/// One RSS configuration shared by every port: key, redirection table (RETA).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rss {
    key: [u8; KEY_LEN],
    /// Queue per RETA entry; the length is a power of two.
    reta: Vec<u16>,
    /// Per byte position and value, the hash contribution (a 4-bit-free table lookup
    /// instead of the bit loop, for the data path: 16 bytes × 256 × 4 B = 16 KiB).
    lut: Vec<[u32; 256]>,
}

impl Rss {
    /// `queues` queues spread round robin over a RETA of `reta_size` entries (rounded
    /// up to a power of two), as DPDK's drivers fill it by default.
    pub fn new(key: [u8; KEY_LEN], queues: u16, reta_size: usize) -> Rss {
        let size = reta_size.max(1).next_power_of_two();
        let reta = (0..size).map(|i| (i % usize::from(queues.max(1))) as u16).collect();
        // The hash is linear over the input bits: precompute each byte value's part.
        let lut = (0..16)
            .map(|pos| {
                let mut t = [0u32; 256];
                for (v, slot) in t.iter_mut().enumerate() {
                    let mut input = [0u8; 16];
                    input[pos] = v as u8;
                    *slot = toeplitz(&key, &input[..=pos]);
                }
                t
            })
            .collect();
        Rss { key, reta, lut }
    }

    pub fn key(&self) -> &[u8; KEY_LEN] {
        &self.key
    }

    /// The redirection table, entry i → queue.
    pub fn reta(&self) -> &[u16] {
        &self.reta
    }

    /// The NIC's hash of an address alone (4 bytes for IPv4, 16 for IPv6).
    #[inline]
    pub fn hash(&self, a: Addr) -> u32 {
        let bytes: &[u8] = if a.is_v4() { &a.0[12..] } else { &a.0 };
        bytes.iter().zip(&self.lut).fold(0, |h, (b, t)| h ^ t[usize::from(*b)])
    }

    /// The queue a NIC with this configuration delivers packets hashed on `a` to.
    #[inline]
    pub fn queue_of(&self, a: Addr) -> u16 {
        let i = self.hash(a) as usize & (self.reta.len() - 1);
        self.reta.get(i).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Microsoft's "Verifying the RSS Hash Calculation" vectors (IPv4 and IPv6, addresses
    /// only: source then destination).
    #[test]
    fn verification_suite_vectors() {
        let v4 = |s: &str, d: &str| {
            let (s, d): (Ipv4Addr, Ipv4Addr) = (s.parse().unwrap(), d.parse().unwrap());
            toeplitz(&DEFAULT_KEY, &[s.octets(), d.octets()].concat())
        };
        assert_eq!(v4("66.9.149.187", "161.142.100.80"), 0x323e_8fc2);
        assert_eq!(v4("199.92.111.2", "65.69.140.83"), 0xd718_262a);
        assert_eq!(v4("24.19.198.95", "12.22.207.184"), 0xd2d0_a5de);
        assert_eq!(v4("38.27.205.30", "209.142.163.6"), 0x8298_9176);
        assert_eq!(v4("153.39.163.191", "202.188.127.2"), 0x5d18_09c5);
        let v6 = |s: &str, d: &str| {
            let (s, d): (Ipv6Addr, Ipv6Addr) = (s.parse().unwrap(), d.parse().unwrap());
            toeplitz(&DEFAULT_KEY, &[s.octets(), d.octets()].concat())
        };
        assert_eq!(v6("3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1"), 0x2cc1_8cd5);
        assert_eq!(v6("3ffe:501:8::260:97ff:fe40:efab", "ff02::1"), 0x0f0c_461c);
        assert_eq!(v6("3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf"), 0x4b61_e985);
    }

    #[test]
    fn the_table_lookup_equals_the_bit_loop() {
        let rss = Rss::new(DEFAULT_KEY, 3, 128);
        for i in 0..2_000u32 {
            let a = Addr::from(Ipv4Addr::from(i.wrapping_mul(2_654_435_761)));
            assert_eq!(rss.hash(a), toeplitz(&DEFAULT_KEY, &a.0[12..]));
            let b = Addr::from(Ipv6Addr::from(u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)));
            assert_eq!(rss.hash(b), toeplitz(&DEFAULT_KEY, &b.0));
        }
    }

    #[test]
    fn queues_follow_the_low_hash_bits_through_the_table() {
        let rss = Rss::new(DEFAULT_KEY, 3, 100);
        assert_eq!(rss.reta().len(), 128);
        let a = Addr::from(Ipv4Addr::new(66, 9, 149, 187));
        let h = toeplitz(&DEFAULT_KEY, &[66, 9, 149, 187]);
        assert_eq!(rss.queue_of(a), ((h & 127) % 3) as u16);
        let mut seen = [0u32; 3];
        for i in 0..3_000u32 {
            seen[usize::from(rss.queue_of(Addr::from(Ipv4Addr::from(0x0b00_0000 + i))))] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "spread over every queue: {seen:?}");
    }
}
