//! Maglev hashing (ip_vs_mh.c): a prime-sized lookup table filled by the dests'
//! permutations, `turns` per round from weight/gcd (shifted to keep the table fair).

use super::{gcd, l4_sport, DestView, Scheduler};
use crate::addr::{Addr, Tuple};
use crate::service::{Dest, SchedFlags};

/// ip_vs_mh.c primes; CONFIG_IP_VS_MH_TAB_INDEX 12 selects 65521.
pub const MH_PRIMES: [usize; 10] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];
pub const MH_TAB_SIZE: usize = 65521;
const NONE: u16 = u16::MAX;

/// generate_hash_secret: fixed hsiphash keys.
const HASH1: [u64; 2] = [2_654_435_761, 2_654_435_761];
const HASH2: [u64; 2] = [2_654_435_801, 2_654_435_801];

/// hsiphash of one u32 on 64-bit kernels: SipHash-1-3, truncated to 32 bits.
fn hsiphash_u32(v: u32, k: &[u64; 2]) -> u32 {
    let mut s = [
        k[0] ^ 0x736f_6d65_7073_6575,
        k[1] ^ 0x646f_7261_6e64_6f6d,
        k[0] ^ 0x6c79_6765_6e65_7261,
        k[1] ^ 0x7465_6462_7974_6573,
    ];
    let round = |s: &mut [u64; 4]| {
        s[0] = s[0].wrapping_add(s[1]);
        s[1] = s[1].rotate_left(13) ^ s[0];
        s[0] = s[0].rotate_left(32);
        s[2] = s[2].wrapping_add(s[3]);
        s[3] = s[3].rotate_left(16) ^ s[2];
        s[0] = s[0].wrapping_add(s[3]);
        s[3] = s[3].rotate_left(21) ^ s[0];
        s[2] = s[2].wrapping_add(s[1]);
        s[1] = s[1].rotate_left(17) ^ s[2];
        s[2] = s[2].rotate_left(32);
    };
    // Message: 4 little-endian bytes; last word carries the length in the top byte.
    let b: u64 = (4u64 << 56) | u64::from(v);
    s[3] ^= b;
    round(&mut s);
    s[0] ^= b;
    s[2] ^= 0xff;
    for _ in 0..3 {
        round(&mut s);
    }
    ((s[0] ^ s[1]) ^ (s[2] ^ s[3])) as u32
}

/// ip_vs_mh_hashkey: hsiphash(offset + ntohs(port) + ntohl(fold)).
#[inline]
fn mh_hashkey(a: &Addr, port: u16, key: &[u64; 2], offset: u32) -> u32 {
    hsiphash_u32(offset.wrapping_add(u32::from(port)).wrapping_add(a.fold32()), key)
}

/// Maglev scheduler on the client address (and port with mh-port).
#[derive(Debug)]
pub struct Mh {
    table: Vec<u16>,
    size: usize,
    fallback: bool,
    port: bool,
}

impl Mh {
    /// `size` should be one of [`MH_PRIMES`].
    pub fn new(flags: SchedFlags, size: usize) -> Mh {
        Mh {
            table: vec![NONE; size],
            size: size.max(1),
            fallback: flags.has(SchedFlags::MH_FALLBACK),
            port: flags.has(SchedFlags::MH_PORT),
        }
    }

    /// The lookup table (dest index per slot, `u16::MAX` = empty), for tests.
    pub fn table(&self) -> &[u16] {
        &self.table
    }

    #[inline]
    fn slot(&self, h: u32) -> Option<usize> {
        self.table.get(h as usize % self.size).filter(|&&d| d != NONE).map(|&d| usize::from(d))
    }
}

impl Scheduler for Mh {
    fn name(&self) -> &'static str {
        "mh"
    }

    /// ip_vs_mh_permutate + ip_vs_mh_populate.
    fn update(&mut self, dests: &[Dest]) {
        let m = self.size;
        self.table.iter_mut().for_each(|s| *s = NONE);
        let g = dests.iter().filter(|d| d.weight > 0).fold(0, |g, d| gcd(g, d.weight));
        if g < 1 {
            return;
        }
        // ip_vs_mh_shift_weight: keep weight/gcd within MH_TAB_BITS (= ilog2(M)/2) bits.
        let tab_bits = m.ilog2() / 2;
        let mw = dests.iter().map(|d| d.weight).max().unwrap_or(0) / g;
        let fls = 32 - mw.leading_zeros();
        let shift = fls.saturating_sub(tab_bits);
        struct Setup {
            perm: usize,
            skip: usize,
            turns: u32,
        }
        let mut ds: Vec<Setup> = dests
            .iter()
            .map(|d| {
                let offset = mh_hashkey(&d.addr, d.port, &HASH1, 0) as usize % m;
                let skip = mh_hashkey(&d.addr, d.port, &HASH2, 0) as usize % (m - 1).max(1) + 1;
                let t = (d.weight / g) >> shift;
                Setup { perm: offset, skip, turns: if t > 0 { t } else { u32::from(d.weight != 0) } }
            })
            .collect();
        let mut used = vec![false; m];
        let mut n = 0usize;
        'fill: loop {
            let mut progressed = false;
            for (i, d) in ds.iter_mut().enumerate() {
                for _ in 0..d.turns {
                    while used[d.perm] {
                        d.perm += d.skip;
                        if d.perm >= m {
                            d.perm -= m;
                        }
                    }
                    used[d.perm] = true;
                    self.table[d.perm] = i as u16;
                    progressed = true;
                    n += 1;
                    if n == m {
                        break 'fill;
                    }
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn pick(&mut self, v: &DestView<'_>, t: &Tuple, _now: u64) -> Option<usize> {
        let port = if self.port { l4_sport(t) } else { 0 };
        let ok = |d: usize| d < v.len() && v.usable(d);
        let ihash = mh_hashkey(&t.src, port, &HASH1, 0) as usize % self.size;
        let d = self.slot(ihash as u32)?;
        if ok(d) {
            return Some(d);
        }
        if !self.fallback {
            return None;
        }
        // ip_vs_mh_get_fallback: rehash with growing offsets from ihash.
        for offset in 0..self.size {
            let roffset = ((offset + ihash) % self.size) as u32;
            match self.slot(mh_hashkey(&t.src, port, &HASH1, roffset)) {
                None => return None,
                Some(d) if ok(d) => return Some(d),
                Some(_) => {}
            }
        }
        None
    }
}
