//! SYN cookies: Linux's scheme (net/ipv4/syncookies.c) with DPVS's data layout
//! (ip_vs_synproxy.c), keyed by SipHash-1-3. The cookie is the director's ISN:
//!
//! `cookie = H1(tuple) + client_isn + (count << 24) + ((H2(tuple, count) + data) mod 2^24)`
//!
//! `count` is the minute; a cookie is valid for 4 counts (DPVS). The 24 data bits carry
//! what the client's SYN asked and no state keeps: bits 15..12 the MSS index into
//! [`MSS_TABLE`], bit 20 timestamps; without timestamps (DPVS's layout) also 19..16
//! the window scale (15: none) and bit 21 SACK. With timestamps, as Linux does, those
//! go in the low 5 bits of the cookie SYN-ACK's TSval, which the client echoes: then 20
//! data bits are fixed zeros a forged ACK must hit (14 without).
//!
//! Linux keys H1 and H2 with two SipHash runs. Here one SipHash-1-3 does: the low half
//! of its 64-bit output is H1, the high half the tuple's secret for H2, into which the
//! count is mixed by one multiply (for each count a bijection of the secret, so each
//! minute's H2 is as unpredictable as the secret). A forger without the SYN-ACK knows
//! neither half, as with two runs; one run is a large part of a flood's cost saved.
//! The key is drawn once per process, shared by every worker; the count in H2 makes
//! each minute's cookies different (Linux's rotation).

use std::sync::OnceLock;

use siphasher::sip::SipHasher13;

use crate::addr::Addr;

/// DPVS's MSS table (ip_vs_synproxy.c msstab).
pub const MSS_TABLE: [u16; 10] = [64, 256, 512, 536, 1024, 1280, 1440, 1452, 1460, 4312];
/// Counts (minutes) a cookie stays valid.
const MAX_AGE: u32 = 4;
/// Window scale 15 in the cookie: the client sent none.
pub const NO_WSCALE: u8 = 15;
const DATA_MASK: u32 = 0x00ff_ffff;
/// Data bits that must be zero.
const ZERO_BITS: u32 = 0x00c0_0fff;

/// What a cookie remembers of the client's SYN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieData {
    /// Index into [`MSS_TABLE`].
    pub mss_idx: u8,
    /// The client's window scale, or [`NO_WSCALE`].
    pub wscale: u8,
    pub ts: bool,
    pub sack: bool,
}

impl CookieData {
    fn bits(self) -> u32 {
        let mss = (u32::from(self.mss_idx & 0xf) << 12) | (u32::from(self.ts) << 20);
        if self.ts {
            return mss;
        }
        mss | (u32::from(self.wscale & 0xf) << 16) | (u32::from(self.sack) << 21)
    }

    /// With timestamps, the low bits of the cookie SYN-ACK's TSval.
    pub fn ts_bits(self) -> u32 {
        u32::from(self.wscale & 0xf) | (u32::from(self.sack) << 4)
    }

    /// `tsecr`: the client's TSecr, when its ACK carries timestamps.
    fn from_bits(d: u32, tsecr: Option<u32>) -> Option<CookieData> {
        let ts = d & (1 << 20) != 0;
        let zero = if ts { ZERO_BITS | 0x002f_0000 } else { ZERO_BITS };
        if d & zero != 0 || ts != tsecr.is_some() {
            return None;
        }
        let mss_idx = ((d >> 12) & 0xf) as u8;
        let (wscale, sack) = match tsecr {
            Some(e) => ((e & 0xf) as u8, e & 0x10 != 0),
            None => (((d >> 16) & 0xf) as u8, d & (1 << 21) != 0),
        };
        if usize::from(mss_idx) >= MSS_TABLE.len() || (wscale > 14 && wscale != NO_WSCALE) {
            return None;
        }
        Some(CookieData { mss_idx, wscale, ts, sack })
    }

    /// The largest table MSS not above `mss` (the table's smallest when below it).
    #[inline(always)]
    pub fn mss_index(mss: u16) -> u8 {
        // A SYN without the option (536, a flood's usual) and Ethernet's 1460 first;
        // else the table ascends: entries not above `mss`, less one.
        match mss {
            536 => 3,
            1460 => 8,
            _ => MSS_TABLE.iter().filter(|&&m| m <= mss).count().saturating_sub(1) as u8,
        }
    }

    pub fn mss(self) -> u16 {
        MSS_TABLE.get(usize::from(self.mss_idx)).copied().unwrap_or(536)
    }
}

/// The process's cookie key (SipHash's two 64-bit halves).
pub struct CookieKeys {
    k0: u64,
    k1: u64,
}

impl CookieKeys {
    /// A fixed key (fixtures), as SipHash's 16 key bytes.
    pub const fn fixed(k: [u8; 16]) -> CookieKeys {
        let k0 = u64::from_le_bytes([k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]]);
        let k1 = u64::from_le_bytes([k[8], k[9], k[10], k[11], k[12], k[13], k[14], k[15]]);
        CookieKeys { k0, k1 }
    }

    /// A key drawn from the OS's randomness once per process (std's RandomState seeds).
    pub fn process() -> &'static CookieKeys {
        static KEYS: OnceLock<CookieKeys> = OnceLock::new();
        KEYS.get_or_init(|| {
            use std::hash::BuildHasher;
            let r = std::collections::hash_map::RandomState::new();
            CookieKeys { k0: r.hash_one(1u64), k1: r.hash_one(2u64) }
        })
    }

    /// H1 and H2's secret for the tuple client → VIP: SipHash-1-3 of the addresses
    /// (4 bytes each for IPv4, 16 for IPv6) and the ports little-endian. Fed as
    /// integers (`write_u64`/`write_u32`, the same bytes on a little-endian machine as
    /// one slice), so the message never goes through memory: a buffer written in
    /// pieces and read back in words stalls on store forwarding, every SYN.
    #[inline(always)]
    fn hash(&self, src: &Addr, sport: u16, dst: &Addr, dport: u16) -> (u32, u32) {
        use std::hash::Hasher;
        let w = |a: &Addr, i: usize| u32::from_le_bytes([a.0[i], a.0[i + 1], a.0[i + 2], a.0[i + 3]]);
        let mut h = SipHasher13::new_with_keys(self.k0, self.k1);
        if src.is_v4() && dst.is_v4() {
            h.write_u64(u64::from(w(src, 12)) | u64::from(w(dst, 12)) << 32);
        } else {
            for a in [src, dst] {
                h.write_u64(u64::from(w(a, 0)) | u64::from(w(a, 4)) << 32);
                h.write_u64(u64::from(w(a, 8)) | u64::from(w(a, 12)) << 32);
            }
        }
        h.write_u32(u32::from(sport) | u32::from(dport) << 16);
        let r = h.finish();
        (r as u32, (r >> 32) as u32)
    }

    /// H2: the count mixed into the tuple's secret, `secret · 2^32 + count` times an odd
    /// constant, the product's high half: for each count a bijection of the secret (so
    /// as unpredictable), one multiply on a flood's every SYN.
    #[inline(always)]
    fn h2(secret: u32, count: u32) -> u32 {
        ((u64::from(secret) << 32 | u64::from(count)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32
    }

    /// The cookie for the client's SYN `src:sport` → `dst:dport` with ISN `isn`, at
    /// minute `count`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn make(&self, src: &Addr, sport: u16, dst: &Addr, dport: u16, isn: u32, count: u32, data: CookieData) -> u32 {
        let (h1, secret) = self.hash(src, sport, dst, dport);
        let h2 = Self::h2(secret, count);
        h1.wrapping_add(isn).wrapping_add(count << 24).wrapping_add(h2.wrapping_add(data.bits()) & DATA_MASK)
    }

    /// What `cookie` (the client's ack − 1) remembers, if it is one this process made
    /// for `src:sport` → `dst:dport` and the client ISN `isn` (its seq − 1) less than
    /// [`MAX_AGE`] counts ago; `tsecr`: the ACK's echoed timestamp, if it has one.
    #[allow(clippy::too_many_arguments)]
    pub fn check(
        &self,
        src: &Addr,
        sport: u16,
        dst: &Addr,
        dport: u16,
        isn: u32,
        cookie: u32,
        count: u32,
        tsecr: Option<u32>,
    ) -> Option<CookieData> {
        let (h1, secret) = self.hash(src, sport, dst, dport);
        let c = cookie.wrapping_sub(h1).wrapping_sub(isn);
        let age = count.wrapping_sub(c >> 24) & 0xff;
        if age >= MAX_AGE {
            return None;
        }
        let h2 = Self::h2(secret, count.wrapping_sub(age));
        CookieData::from_bits(c.wrapping_sub(h2) & DATA_MASK, tsecr)
    }
}

/// The cookie's count for a clock in milliseconds: minutes, 8 bits of which the
/// cookie keeps.
pub fn count(now_ms: u64) -> u32 {
    (now_ms / 60_000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Addr = Addr::v4([10, 0, 1, 2]);
    const VIP: Addr = Addr::v4([10, 0, 2, 100]);

    fn make(k: &CookieKeys, sport: u16, isn: u32, count: u32, d: CookieData) -> u32 {
        k.make(&SRC, sport, &VIP, 80, isn, count, d)
    }

    fn check(k: &CookieKeys, sport: u16, isn: u32, c: u32, count: u32, tsecr: Option<u32>) -> Option<CookieData> {
        k.check(&SRC, sport, &VIP, 80, isn, c, count, tsecr)
    }

    #[test]
    fn round_trip_every_field_and_age() {
        let k = CookieKeys::fixed([1; 16]);
        for mss_idx in 0..MSS_TABLE.len() as u8 {
            for wscale in (0..=14).chain([NO_WSCALE]) {
                for (ts, sack) in [(false, false), (true, false), (false, true), (true, true)] {
                    let d = CookieData { mss_idx, wscale, ts, sack };
                    let c = make(&k, 40000, 12345, 100, d);
                    let tsecr = ts.then_some(0xabcd_ef00 | d.ts_bits());
                    for age in 0..MAX_AGE {
                        assert_eq!(check(&k, 40000, 12345, c, 100 + age, tsecr), Some(d));
                    }
                    assert_eq!(check(&k, 40000, 12345, c, 100 + MAX_AGE, tsecr), None, "too old");
                }
            }
        }
    }

    #[test]
    fn forged_or_foreign_cookies_fail() {
        let k = CookieKeys::fixed([1; 16]);
        let d = CookieData { mss_idx: 8, wscale: 7, ts: true, sack: true };
        let c = make(&k, 40000, 777, 5, d);
        let e = Some(d.ts_bits());
        assert_eq!(check(&k, 40000, 778, c, 5, e), None, "another ISN");
        assert_eq!(check(&k, 40001, 777, c, 5, e), None, "another tuple");
        assert_eq!(check(&CookieKeys::fixed([3; 16]), 40000, 777, c, 5, e), None, "another key");
        assert_eq!(check(&k, 40000, 777, c, 5, None), None, "timestamps agreed but none echoed");
        // Random ACKs: with timestamps 20 fixed bits (about 1 in 1.7M passes), without 14
        // (about 1 in 26,000, DPVS's layout).
        let mut x = 0x1234_5678u32;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let with_ts = (0..200_000).filter(|_| check(&k, 40000, 777, rnd(), 5, Some(7)).is_some()).count();
        assert!(with_ts <= 1, "{with_ts} random cookies passed");
        let without = (0..200_000).filter(|_| check(&k, 40000, 777, rnd(), 5, None).is_some()).count();
        assert!(without <= 30, "{without} random cookies passed");
    }

    /// Each minute's H2 differs: a cookie of one count never checks as another's with
    /// the same top byte (a count 256 minutes later).
    #[test]
    fn the_count_rotates_the_data_hash() {
        let k = CookieKeys::fixed([9; 16]);
        let d = CookieData { mss_idx: 3, wscale: NO_WSCALE, ts: false, sack: false };
        let passed = (0..1000u16)
            .filter(|&p| {
                let c = make(&k, p, 1, 7, d);
                check(&k, p, 1, c, 7 + 256, None).is_some()
            })
            .count();
        assert!(passed <= 2, "{passed} of 1000 cookies passed 256 minutes on");
    }

    #[test]
    fn mss_index_rounds_down() {
        assert_eq!(CookieData::mss_index(1460), 8);
        assert_eq!(CookieData::mss_index(1459), 7);
        assert_eq!(CookieData::mss_index(9000), 9);
        assert_eq!(CookieData::mss_index(10), 0);
        for mss in 0..=u16::MAX {
            let want = MSS_TABLE.iter().rposition(|&m| m <= mss).unwrap_or(0) as u8;
            assert_eq!(CookieData::mss_index(mss), want, "{mss}");
        }
    }
}
