//! A connection's storage: one 64-byte cache line holds all an IPv4 connection's packets
//! need (key, real server, state, timer); an IPv6 connection's four addresses take a
//! second line from the IPv6 address pool. Both live in huge pages.

use rvs_hint::HugeSlice;

use super::{fwd_code, F_TEMPLATE, F_V6};
use crate::addr::{Addr, Tuple};
use crate::service::FwdMethod;
use crate::timer::{TimerNode, NIL};

/// One connection or persistence template, one cache line (`repr(C)`, 64-aligned).
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
pub(crate) struct Entry {
    /// caddr, vaddr, daddr, laddr as IPv4 octets (`[0; 4]`: unspecified), unless F_V6.
    pub a4: [[u8; 4]; 4],
    pub cport: u16,
    pub vport: u16,
    pub dport: u16,
    pub lport: u16,
    pub proto: u8,
    pub flags: u8,
    pub state: u8,
    pub fwd: u8,
    pub dest: u32,
    /// Conn: controlling template or NIL. Template: number of controlled conns (n_control).
    pub link: u32,
    /// F_V6: the slot of the four addresses in the IPv6 pool.
    pub ext: u32,
    /// Template: its timeout in seconds.
    pub tmo: u32,
    /// FullNAT TCP: its [`super::xt::TcpExt`] record, else NIL.
    pub xt: u32,
    pub timer: TimerNode,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 64);

impl Entry {
    pub const EMPTY: Entry = Entry {
        a4: [[0; 4]; 4],
        cport: 0,
        vport: 0,
        dport: 0,
        lport: 0,
        proto: 0,
        flags: 0,
        state: 0,
        fwd: 0,
        dest: 0,
        link: NIL,
        ext: NIL,
        tmo: 0,
        xt: NIL,
        timer: TimerNode::new(),
    };

    #[inline]
    pub fn is(&self, f: u8) -> bool {
        self.flags & f != 0
    }

    /// The IPv4 in-line form of `a`: a v4-mapped address other than 0.0.0.0, or the
    /// unspecified address (`[0; 4]`). Anything else needs the pool.
    #[inline]
    pub fn encode4(a: &Addr) -> Option<[u8; 4]> {
        if *a == Addr::UNSPECIFIED {
            return Some([0; 4]);
        }
        let o = [a.0[12], a.0[13], a.0[14], a.0[15]];
        (a.is_v4() && o != [0; 4]).then_some(o)
    }

    #[inline]
    pub fn decode4(o: [u8; 4]) -> Addr {
        if o == [0; 4] {
            Addr::UNSPECIFIED
        } else {
            Addr::v4(o)
        }
    }

    /// `a` equals the in-line address `o` (an IPv4 entry): `decode4(o) == a`.
    #[inline]
    pub fn eq4(a: &Addr, o: &[u8; 4]) -> bool {
        if a.0[12..] != o[..] {
            return false;
        }
        if *o == [0; 4] {
            *a == Addr::UNSPECIFIED
        } else {
            a.is_v4()
        }
    }
}

/// caddr, vaddr, daddr, laddr of an IPv6 (or mixed) connection: one cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
pub(crate) struct Addrs6(pub [Addr; 4]);

/// The IPv6 address pool: a fixed number of lines and a free stack.
pub(crate) struct Pool6 {
    lines: HugeSlice<Addrs6>,
    free: Vec<u32>,
}

impl Pool6 {
    pub fn new(n: u32) -> Pool6 {
        Pool6 { lines: HugeSlice::new(n as usize, Addrs6([Addr::UNSPECIFIED; 4])), free: (0..n).rev().collect() }
    }
    pub fn capacity(&self) -> usize {
        self.lines.len()
    }
    pub fn in_use(&self) -> usize {
        self.lines.len() - self.free.len()
    }
    pub fn heap_bytes(&self) -> usize {
        self.lines.len() * std::mem::size_of::<Addrs6>() + self.free.capacity() * 4
    }
    /// A line holding `a`, or `None` when the pool is exhausted.
    pub fn alloc(&mut self, a: [Addr; 4]) -> Option<u32> {
        let i = self.free.pop()?;
        match self.lines.get_mut(i as usize) {
            Some(l) => {
                l.0 = a;
                Some(i)
            }
            None => None,
        }
    }
    /// Return line `i` (never pushes past the preallocated capacity: each line is
    /// released once, by the entry that holds it).
    pub fn release(&mut self, i: u32) {
        if (i as usize) < self.lines.len() && self.free.len() < self.free.capacity() {
            self.free.push(i);
        }
    }
    #[inline]
    pub fn get(&self, i: u32) -> Option<&[Addr; 4]> {
        self.lines.get(i as usize).map(|l| &l.0)
    }
}

/// The addresses of an entry, wherever they are kept.
#[inline]
pub(crate) fn addrs(e: &Entry, pool: &Pool6) -> [Addr; 4] {
    if e.is(F_V6) {
        pool.get(e.ext).copied().unwrap_or([Addr::UNSPECIFIED; 4])
    } else {
        e.a4.map(Entry::decode4)
    }
}

/// An entry's in-key (client -> VIP).
#[inline]
pub(crate) fn in_tuple(e: &Entry, pool: &Pool6) -> Tuple {
    let a = addrs(e, pool);
    Tuple { proto: e.proto, src: a[0], sport: e.cport, dst: a[1], dport: e.vport }
}

/// An entry's reply key: NAT (daddr, dport -> caddr, cport) or FullNAT (-> laddr, lport).
#[inline]
pub(crate) fn out_tuple(e: &Entry, pool: &Pool6) -> Tuple {
    let a = addrs(e, pool);
    let (dst, dport) = if e.fwd == fwd_code(FwdMethod::FullNat) { (a[3], e.lport) } else { (a[0], e.cport) };
    Tuple { proto: e.proto, src: a[2], sport: e.dport, dst, dport }
}

/// `e`'s in-key is `t` (and it is a template iff `template`): the hot comparison, on the
/// entry's own line for IPv4.
#[inline]
pub(crate) fn in_matches(e: &Entry, pool: &Pool6, t: &Tuple, template: bool) -> bool {
    let want = if template { F_TEMPLATE } else { 0 };
    if e.cport != t.sport || e.vport != t.dport || e.proto != t.proto || e.flags & F_TEMPLATE != want {
        return false;
    }
    if e.is(F_V6) {
        pool.get(e.ext).is_some_and(|a| a[0] == t.src && a[1] == t.dst)
    } else {
        Entry::eq4(&t.src, &e.a4[0]) && Entry::eq4(&t.dst, &e.a4[1])
    }
}

/// `e`'s reply key is `t`.
#[inline]
pub(crate) fn out_matches(e: &Entry, pool: &Pool6, t: &Tuple) -> bool {
    if e.dport != t.sport || e.proto != t.proto {
        return false;
    }
    let fnat = e.fwd == fwd_code(FwdMethod::FullNat);
    let dport = if fnat { e.lport } else { e.cport };
    if dport != t.dport {
        return false;
    }
    if e.is(F_V6) {
        pool.get(e.ext).is_some_and(|a| a[2] == t.src && a[if fnat { 3 } else { 0 }] == t.dst)
    } else {
        Entry::eq4(&t.src, &e.a4[2]) && Entry::eq4(&t.dst, &e.a4[if fnat { 3 } else { 0 }])
    }
}
