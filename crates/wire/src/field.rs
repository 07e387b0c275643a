//! Big-endian field access on byte slices. Callers index only inside lengths that
//! `new_checked` verified, so these never panic on a checked view.

use std::net::{Ipv4Addr, Ipv6Addr};

#[inline]
pub(crate) fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
pub(crate) fn set_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
pub(crate) fn set_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn get_ipv4(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

#[inline]
pub(crate) fn set_ipv4(b: &mut [u8], at: usize, a: Ipv4Addr) {
    b[at..at + 4].copy_from_slice(&a.octets());
}

#[inline]
pub(crate) fn get_ipv6(b: &[u8], at: usize) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[at..at + 16]);
    Ipv6Addr::from(o)
}

#[inline]
pub(crate) fn set_ipv6(b: &mut [u8], at: usize, a: Ipv6Addr) {
    b[at..at + 16].copy_from_slice(&a.octets());
}
