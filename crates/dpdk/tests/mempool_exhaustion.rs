//! (c) Mempool exhaustion returns None / false instead of panicking, and mbufs return
//! to the pool on drop.
mod common;

use arrayvec::ArrayVec;
use dpdk::{Mbuf, Mempool};

#[test]
fn mempool_exhaustion_and_return() {
    let _eal = common::eal();
    const N: u32 = 63;
    let pool = common::pool("exhaust", N);
    assert_eq!(pool.capacity(), N);
    assert_eq!(pool.available(), N);
    assert_eq!(pool.in_use(), 0);

    // Bad arguments are errors, not panics.
    let e = Mempool::create("exhaust", 63, 0, 2176, -1).unwrap_err();
    assert_eq!(e.errno(), Some(17), "duplicate name: {e}");
    assert!(e.to_string().contains("rte_pktmbuf_pool_create"), "{e}");
    assert!(Mempool::create(&"x".repeat(64), 63, 0, 2176, -1).is_err());
    assert!(Mempool::create("tiny", 63, 0, 64, -1).is_err());

    let mut held: Vec<Mbuf> = Vec::new();
    while let Some(m) = pool.alloc() {
        held.push(m);
        assert!(held.len() <= N as usize);
    }
    assert_eq!(held.len(), N as usize);
    assert_eq!(pool.available(), 0);
    assert_eq!(pool.in_use(), N);
    assert!(pool.alloc().is_none());
    let mut bulk: ArrayVec<Mbuf, 32> = ArrayVec::new();
    assert!(!pool.alloc_bulk(&mut bulk, 1), "empty pool");
    assert!(bulk.is_empty());

    // Give back 10; bulk is all-or-nothing.
    held.truncate(N as usize - 10);
    assert_eq!(pool.available(), 10);
    assert!(!pool.alloc_bulk(&mut bulk, 11));
    assert!(bulk.is_empty(), "failed bulk leaves the burst unchanged");
    assert!(pool.alloc_bulk(&mut bulk, 4));
    assert!(pool.alloc_bulk(&mut bulk, 6));
    assert_eq!(bulk.len(), 10);
    assert!(!pool.alloc_bulk(&mut bulk, 23), "more than the burst's spare room");
    assert_eq!(pool.available(), 0);

    drop(bulk);
    drop(held);
    assert_eq!(pool.available(), N, "all mbufs are back");
    assert_eq!(pool.in_use(), 0);

    // A pool dropped while an mbuf is out is leaked, not freed under it.
    let p2 = common::pool("leaky", 31);
    let m = p2.alloc().unwrap();
    drop(p2);
    drop(m); // still valid memory
}
