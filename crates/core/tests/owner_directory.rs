//! The owner directory: exact under concurrency and collisions, released with its
//! connections, and a million NAT connections whose replies all land on the worker that
//! does not own them, with no drop.

mod forward_common;

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use forward_common::*;
use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::forward::{Directory, Table};
use rvs_core::l3::Io;
use rvs_core::rss::{Rss, DEFAULT_KEY};
use rvs_core::service::{DestSpec, FwdMethod, Persistence, ServiceKey, ServiceSpec};
use rvs_core::stats::DropReason;
use wire::{PacketBuf, VecBuf};

fn key(i: u32) -> Tuple {
    Tuple::new(Protocol::Tcp, Addr::from(Ipv4Addr::new(10, 0, 3, 11)), 8080, Addr::from(Ipv4Addr::from(i)), 40_000)
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Two writers churn their partitions of a small table (long probe chains, constant
/// collisions) while two readers look up random keys: a key of the third kind (never
/// inserted) is never found, a key is only ever found at the worker that inserted it,
/// and a pinned key (inserted before, never removed) is never missed.
#[test]
fn concurrent_readers_never_see_a_stranger_nor_miss_a_pinned_key() {
    const SLOTS: usize = 256;
    const PINNED: u32 = 60; // ids below: 20 per kind
    const UNIVERSE: u32 = 600;
    const OPS: usize = 200_000;
    let table = Arc::new(Table::new(2, SLOTS));
    let ready = Arc::new(Barrier::new(4));
    let done = Arc::new(AtomicUsize::new(0));
    let lookups = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for w in 0..2u8 {
        let (table, ready, done) = (table.clone(), ready.clone(), done.clone());
        threads.push(std::thread::spawn(move || {
            let mine: Vec<u32> = (0..UNIVERSE).filter(|i| i % 3 == u32::from(w)).collect();
            for &i in mine.iter().filter(|&&i| i < PINNED) {
                assert!(table.insert(w, &key(i)));
            }
            ready.wait();
            let churn: Vec<u32> = mine.into_iter().filter(|&i| i >= PINNED).collect();
            let mut held = vec![false; churn.len()];
            let mut x = 0x9e37_79b9 + u64::from(w);
            for op in 0..OPS {
                let j = (xorshift(&mut x) % churn.len() as u64) as usize;
                let (Some(&id), Some(h)) = (churn.get(j), held.get_mut(j)) else { continue };
                if *h {
                    assert!(table.remove(w, &key(id)), "held key {id} removable");
                    *h = false;
                } else {
                    *h = table.insert(w, &key(id));
                }
                if op % 97 == 0 {
                    table.sweep(w, 64);
                }
            }
            done.fetch_add(1, Ordering::Release);
        }));
    }
    for r in 0..2u64 {
        let (table, ready, done, lookups) = (table.clone(), ready.clone(), done.clone(), lookups.clone());
        threads.push(std::thread::spawn(move || {
            ready.wait();
            let mut x = 0x1234_5678 + r;
            let mut n = 0;
            while done.load(Ordering::Acquire) < 2 {
                let id = (xorshift(&mut x) % u64::from(UNIVERSE)) as u32;
                let found = table.owner(u8::MAX, &key(id));
                match id % 3 {
                    2 => assert_eq!(found, None, "key {id} was never inserted"),
                    w => assert!(found.is_none() || found == Some(w as u8), "key {id} found at {found:?}"),
                }
                if id < PINNED && id % 3 != 2 {
                    assert_eq!(found, Some((id % 3) as u8), "pinned key {id} missed");
                }
                n += 1;
            }
            lookups.fetch_add(n, Ordering::Relaxed);
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    assert!(lookups.load(Ordering::Relaxed) > 1_000, "the readers ran alongside");
    for i in (0..PINNED).filter(|i| i % 3 != 2) {
        assert_eq!(table.owner(u8::MAX, &key(i)), Some((i % 3) as u8));
    }
}

/// Sixteen slots: every key shares its probe chain with the others, yet each is found
/// at its own worker only, removed exactly, and a full partition refuses.
#[test]
fn exact_under_collisions() {
    let t = Table::new(3, 16);
    assert_eq!(t.capacity(), 14);
    for i in 0..14 {
        assert!(t.insert((i % 3) as u8, &key(i)));
    }
    for i in 0..14 {
        assert_eq!(t.owner(u8::MAX, &key(i)), Some((i % 3) as u8));
        assert_eq!(t.owner((i % 3) as u8, &key(i)), None);
    }
    for i in 14..1_000 {
        assert_eq!(t.owner(u8::MAX, &key(i)), None, "{i} differs from every key held in some field");
    }
    // Keys differing in one field only are distinct.
    let mut k = key(3);
    k.dport ^= 1;
    assert_eq!(t.owner(u8::MAX, &k), None);
    let mut k = key(3);
    k.proto = 17;
    assert_eq!(t.owner(u8::MAX, &k), None);
    for i in (0..14).step_by(2) {
        assert!(t.remove((i % 3) as u8, &key(i)));
    }
    for i in 0..14 {
        assert_eq!(t.owner(u8::MAX, &key(i)), if i % 2 == 0 { None } else { Some((i % 3) as u8) });
    }
}

// ---- Two directors ----

const SYN: u8 = 0x02;
const SYNACK: u8 = 0x12;
const ACK: u8 = 0x10;
const WAN_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const LAN_MAC: [u8; 6] = [2, 0, 0, 0, 1, 1];
/// The persistent service with `-M 255.255.255.0`.
const NETMASK_PORT: u16 = 91;

/// A 54-byte TCP frame with a valid IPv4 header checksum.
fn tcp(eth_dst: [u8; 6], src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, flags: u8) -> VecBuf {
    let mut f = [0u8; 54];
    f[..6].copy_from_slice(&eth_dst);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 9, 9]);
    f[12] = 0x08;
    f[14] = 0x45;
    f[17] = 40;
    f[22] = 64;
    f[23] = 6;
    f[26..30].copy_from_slice(&src.octets());
    f[30..34].copy_from_slice(&dst.octets());
    let sum = f[14..34].chunks(2).fold(0u32, |s, w| s + u32::from(u16::from_be_bytes([w[0], w[1]])));
    let sum = (sum & 0xffff) + (sum >> 16);
    f[24..26].copy_from_slice(&(!((sum & 0xffff) + (sum >> 16)) as u16).to_be_bytes());
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[46] = 0x50;
    f[47] = flags;
    VecBuf::from_slice(&f)
}

/// What one input did: the frame sent (its IPv4 destination and TCP port), or the
/// worker it was handed to, or drops.
#[derive(Default)]
struct Tally {
    sent: Option<(Ipv4Addr, u16)>,
    redirect: Option<(u8, VecBuf)>,
    drops: Vec<DropReason>,
}

impl Io<VecBuf> for Tally {
    fn tx(&mut self, _: u16, pkt: VecBuf) {
        let d = pkt.data();
        let ip = d.get(30..34).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(Ipv4Addr::from);
        let port = d.get(36..38).map(|b| u16::from_be_bytes([b[0], b[1]]));
        self.sent = ip.zip(port);
    }
    fn drop(&mut self, _: u16, _: VecBuf, reason: DropReason) {
        self.drops.push(reason);
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        Some(VecBuf::from_slice(&[]))
    }
    fn count_drop(&mut self, _: u16, reason: DropReason) {
        self.drops.push(reason);
    }
    fn redirect(&mut self, core: u8, _: u16, pkt: VecBuf) {
        self.redirect = Some((core, pkt));
    }
}

struct Pair {
    w: [Lab; 2],
    rss: Rss,
    redirects: u64,
}

impl Pair {
    fn new(capacity: u32) -> Pair {
        let owners = Arc::new(Directory::for_capacity(2, capacity as usize));
        let mut p = Pair {
            w: [lab_sized(0, 2, owners.clone(), capacity), lab_sized(1, 2, owners, capacity)],
            rss: Rss::new(DEFAULT_KEY, 2, 128),
            redirects: 0,
        };
        let vip = Addr::from(VIP);
        let spec = ServiceSpec {
            scheduler: "rr".into(),
            persistence: Some(Persistence { timeout_s: 300, prefix: 24 }),
            ..ServiceSpec::new(ServiceKey::Proto { proto: Protocol::Tcp, addr: vip, port: NETMASK_PORT })
        };
        let dests: Vec<DestSpec> =
            [[10, 0, 3, 11], [10, 0, 3, 12]].iter().map(|a| dest(*a, 9091, FwdMethod::Masq)).collect();
        for w in &mut p.w {
            w.cfg.add_service(&spec).unwrap();
            for d in &dests {
                w.cfg.add_dest(&spec.key, d).unwrap();
            }
            let snap = w.cfg.snapshot();
            w.dir.set_snapshot(snap);
        }
        p
    }

    /// Input `pkt` at worker `at`, following one redirect; returns (the worker that sent
    /// it, where to). Any drop fails the test.
    fn input(&mut self, at: usize, port: u16, pkt: VecBuf, now: u64) -> (usize, Ipv4Addr, u16) {
        let mut io = Tally::default();
        self.w[at].dir.input(port, pkt, now, false, &mut io);
        let mut by = at;
        if let Some((to, pkt)) = io.redirect.take() {
            self.redirects += 1;
            by = usize::from(to);
            assert_ne!(by, at, "never redirected to itself");
            self.w[by].dir.input(port, pkt, now, true, &mut io);
        }
        assert!(io.drops.is_empty(), "dropped at worker {by}: {:?}", io.drops);
        let Some((ip, port)) = io.sent else { panic!("nothing sent by worker {by}") };
        (by, ip, port)
    }
}

/// Connection `i`: its client, source port and service port (two in five are the
/// netmask service's, spread over ~4,000 /24 subnets).
fn conn(i: u32) -> (Ipv4Addr, u16, u16) {
    let client = Ipv4Addr::from(0x0b00_0000 + (i / 32) * 37);
    let svc = if i % 5 < 2 { NETMASK_PORT } else { 80 };
    (client, 10_000 + (i % 32) as u16, svc)
}

/// The must-show: 1M NAT connections across two workers (a good share of them
/// living away from their client's queue), every reply delivered to the worker that does
/// NOT own it, a packet of every connection in both directions: zero drops.
#[test]
fn a_million_nat_connections_replies_at_the_non_owner_zero_drops() {
    const N: u32 = 1 << 20;
    let start = Instant::now();
    let mut p = Pair::new(700_000);
    // (real server, its port, owner) per connection.
    let mut placed: Vec<(Ipv4Addr, u16, u8)> = Vec::with_capacity(N as usize);
    for i in 0..N {
        let (c, sport, svc) = conn(i);
        let nic = usize::from(p.rss.queue_of(Addr::from(c)));
        let (owner, rs, rport) = p.input(nic, 0, tcp(WAN_MAC, c, sport, VIP, svc, SYN), 1_000);
        placed.push((rs, rport, owner as u8));
    }
    let created = p.redirects;
    let held: Vec<usize> = p.w.iter().map(|w| w.dir.lb.conns().len()).collect();
    let shared: Vec<usize> = (0..2u8).map(|w| p.w[0].owners.len(w)).collect();
    for (i, &(rs, rport, owner)) in (0..N).zip(&placed) {
        let (c, sport, svc) = conn(i);
        let other = 1 - usize::from(owner);
        let (by, to, _) = p.input(other, 1, tcp(LAN_MAC, rs, rport, c, sport, SYNACK), 1_001);
        assert_eq!((by, to), (usize::from(owner), c), "connection {i}: the reply reached its owner");
        let nic = usize::from(p.rss.queue_of(Addr::from(c)));
        let (by, to, port) = p.input(nic, 0, tcp(WAN_MAC, c, sport, VIP, svc, ACK), 1_002);
        assert_eq!((by, to, port), (usize::from(owner), rs, rport), "connection {i}: the client's packet too");
    }
    let full: u64 = p.w.iter().map(|w| w.stats.directory_full.get()).sum();
    eprintln!(
        "{N} connections ({held:?} entries per worker, {shared:?} in the directory), {created} redirects creating, \
         {} in both directions, {:?}",
        p.redirects - created,
        start.elapsed()
    );
    assert_eq!(full, 0);
    assert!(shared.iter().all(|&n| n > 50_000), "the directory carried a good share: {shared:?}");
    assert!(p.redirects - created >= u64::from(N), "every reply crossed over");
}

/// Entries leave with their connections: at expiry, and when a connection is removed.
#[test]
fn entries_leave_with_their_connections() {
    let mut p = Pair::new(4_096);
    let mut owned = Vec::new();
    for i in 0..2_000 {
        let (c, sport, _) = conn(i);
        let nic = usize::from(p.rss.queue_of(Addr::from(c)));
        let (owner, rs, rport) = p.input(nic, 0, tcp(WAN_MAC, c, sport, VIP, NETMASK_PORT, SYN), 1_000);
        owned.push((owner, Tuple::new(Protocol::Tcp, Addr::from(rs), rport, Addr::from(c), sport)));
    }
    let dir = p.w[0].owners.clone();
    let shared = |d: &Directory| d.len(0) + d.len(1);
    let away = owned.iter().filter(|(o, t)| dir.owner(1 - *o as u8, t) == Some(*o as u8)).count();
    assert_eq!(away, shared(&dir), "exactly the connections away from their client's queue are named");
    assert!(away > 200, "{away}");
    // Remove one directly (as expire_nodest_conn and conn_reuse_mode do): gone at the tick.
    let (o, t) = *owned.iter().find(|(o, t)| dir.owner(1 - *o as u8, t).is_some()).unwrap();
    let lb = &mut p.w[o].dir.lb;
    let id = lb.conns().lookup_out(&t).unwrap();
    assert!(lb.conns_mut().remove(id));
    p.w[o].dir.lb.tick(1_001);
    assert_eq!(dir.owner(1 - o as u8, &t), None);
    assert_eq!(shared(&dir), away - 1);
    // Everything else expires (SYN_RECV: 60 s); the ticks release as they go.
    let mut now = 1_000;
    while p.w.iter().any(|w| !w.dir.lb.conns().is_empty()) && now < 2_000_000 {
        now += 10_000;
        for w in &mut p.w {
            for _ in 0..64 {
                w.dir.lb.tick(now);
            }
        }
    }
    assert!(p.w.iter().all(|w| w.dir.lb.conns().is_empty()), "all expired");
    assert_eq!(shared(&dir), 0, "no entry outlives its connection");
    assert!(owned.iter().all(|(o, t)| dir.owner(1 - *o as u8, t).is_none()));
}
