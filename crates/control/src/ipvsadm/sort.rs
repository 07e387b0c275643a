//! ipvsadm's listing order: libipvs's `ipvs_cmp_services()` /
//! `ipvs_cmp_dests()` run by glibc's `qsort()` (a top-down merge sort). The
//! comparators subtract unsigned 32-bit words into an `int`, so addresses more
//! than 2^31 apart compare "backwards" (10.0.0.1 lists after 192.168.0.1);
//! running the same comparator through the same merge sort reproduces that
//! order exactly, and never panics on the non-transitive comparisons.

use super::model::{Addr, DestEntry, ServiceEntry, ServiceKey};

/// Address as the four network-order words of `union nf_inet_addr` (IPv4 first).
fn words(a: &Addr) -> [u32; 4] {
    let w = a.words();
    if a.is_v4() {
        [w[3], 0, 0, 0]
    } else {
        w
    }
}

const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;

fn af(v6: bool) -> i32 {
    if v6 {
        AF_INET6
    } else {
        AF_INET
    }
}

/// `r = a - b` as C computes it for two unsigned words stored into an int.
fn diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

fn addr_cmp(af1: i32, w1: &[u32; 4], w2: &[u32; 4]) -> i32 {
    if af1 == AF_INET6 {
        for i in 0..4 {
            let r = diff(w1[i], w2[i]);
            if r != 0 {
                return r;
            }
        }
        0
    } else {
        diff(w1[0], w2[0])
    }
}

/// (fwmark, af, protocol, address words, port) of a service entry.
fn svc_fields(k: &ServiceKey) -> (u32, i32, i32, [u32; 4], u16) {
    match *k {
        ServiceKey::Proto { proto, addr, port } => {
            (0, af(!addr.is_v4()), i32::from(proto.number()), words(&addr), port)
        }
        // ipvsadm gives fwmark services protocol TCP and a zero address.
        ServiceKey::Fwmark { mark, v6 } => (mark, af(v6), 6, [0; 4], 0),
    }
}

/// `ipvs_cmp_services()`.
pub fn cmp_services(s1: &ServiceEntry, s2: &ServiceEntry) -> i32 {
    let (f1, a1, p1, w1, port1) = svc_fields(&s1.spec.key);
    let (f2, a2, p2, w2, port2) = svc_fields(&s2.spec.key);
    let r = diff(f1, f2);
    if r != 0 {
        return r;
    }
    if a1 != a2 {
        return a1 - a2;
    }
    if p1 != p2 {
        return p1 - p2;
    }
    let r = addr_cmp(a1, &w1, &w2);
    if r != 0 {
        return r;
    }
    i32::from(port1) - i32::from(port2)
}

/// `ipvs_cmp_dests()` (the family of the first argument decides).
pub fn cmp_dests(d1: &DestEntry, d2: &DestEntry) -> i32 {
    let r = addr_cmp(af(!d1.spec.addr.is_v4()), &words(&d1.spec.addr), &words(&d2.spec.addr));
    if r != 0 {
        return r;
    }
    i32::from(d1.spec.port) - i32::from(d2.spec.port)
}

/// glibc `msort_with_tmp()` over indices: split n/2, sort halves, merge
/// taking from the left while `cmp(left, right) <= 0`.
fn msort<T>(items: &[T], idx: &mut [usize], cmp: &dyn Fn(&T, &T) -> i32) {
    let n = idx.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    let (left, right) = idx.split_at_mut(n1);
    msort(items, left, cmp);
    msort(items, right, cmp);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if cmp(&items[left[i]], &items[right[j]]) <= 0 {
            merged.push(left[i]);
            i += 1;
        } else {
            merged.push(right[j]);
            j += 1;
        }
    }
    merged.extend_from_slice(&left[i..]);
    merged.extend_from_slice(&right[j..]);
    idx.copy_from_slice(&merged);
}

/// Sort like `qsort(base, n, size, cmp)` with glibc.
pub fn qsort<T: Clone>(items: &[T], cmp: &dyn Fn(&T, &T) -> i32) -> Vec<T> {
    let mut idx: Vec<usize> = (0..items.len()).collect();
    msort(items, &mut idx, cmp);
    idx.into_iter().map(|i| items[i].clone()).collect()
}
