//! rvs's RSS hash (what workers and the benchmark use to know a client's queue) against
//! DPDK's own software Toeplitz, `rte_softrss`, the reference a NIC's hash is specified
//! by: the same values for IPv4 and IPv6 addresses, under rvs's key and a random one.

use std::net::{Ipv4Addr, Ipv6Addr};

use rvs_core::addr::Addr;
use rvs_core::rss::{toeplitz, Rss, DEFAULT_KEY};

fn words(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[test]
fn rvs_toeplitz_equals_rte_softrss() {
    let mut x: u64 = 0x243f_6a88_85a3_08d3;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut random_key = [0u8; 40];
    random_key.iter_mut().for_each(|b| *b = next() as u8);
    for key in [DEFAULT_KEY, random_key] {
        let rss = Rss::new(key, 4, 512);
        for _ in 0..5_000 {
            let v4 = Ipv4Addr::from(next() as u32);
            let v6 = Ipv6Addr::from(u128::from(next()) << 64 | u128::from(next()));
            for a in [Addr::from(v4), Addr::from(v6)] {
                let bytes: &[u8] = if a.is_v4() { &a.0[12..] } else { &a.0 };
                let reference = dpdk::softrss(&words(bytes), &key);
                assert_eq!(toeplitz(&key, bytes), reference, "{a}");
                assert_eq!(rss.hash(a), reference, "{a}");
                assert_eq!(usize::from(rss.queue_of(a)), (reference as usize & 511) % 4);
            }
        }
    }
}
