//! (f) Launch closures on a worker lcore (EAL with -l 0,1) and collect their results.
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn launch_on_worker_lcore() {
    let _eal = common::eal_with("0,1", &[]);
    assert_eq!(dpdk::lcore_id(), 0);
    assert_eq!(dpdk::main_lcore(), 0);
    assert_eq!(dpdk::worker_lcores(), vec![1]);
    assert_eq!(dpdk::lcore::lcore_count(), 2);
    assert!(dpdk::socket_id() >= 0);

    // Result and lcore id come back through wait().
    dpdk::launch(1, || 40 + dpdk::lcore_id() as i32 + 1).expect("launch");
    assert_eq!(dpdk::wait(1), 42);
    assert_eq!(dpdk::wait(1), 42, "idle lcore: DPDK 22.11 returns the last job's value");

    // Not the main lcore, not a disabled one.
    assert!(dpdk::launch(0, || 0).is_err());
    assert!(dpdk::launch(5, || 0).is_err());

    // Busy lcore: a second launch is refused (and its closure dropped, not leaked/run).
    let go = Arc::new(AtomicBool::new(false));
    let g = go.clone();
    dpdk::launch(1, move || {
        while !g.load(Ordering::Acquire) {
            dpdk::pause();
        }
        7
    })
    .unwrap();
    let witness = Arc::new(());
    let w = witness.clone();
    let err = dpdk::launch(1, move || {
        drop(w);
        0
    })
    .unwrap_err();
    assert_eq!(err.errno(), Some(16), "{err}");
    assert_eq!(Arc::strong_count(&witness), 1, "refused closure was dropped");
    go.store(true, Ordering::Release);
    assert_eq!(dpdk::wait(1), 7);

    // Work that uses DPDK objects on the worker: mbufs through an SP/SC ring.
    let pool = common::pool("lcore", 1023);
    let ring: dpdk::Ring<dpdk::Mbuf> = dpdk::Ring::create("lcore_ring", 255, true, true).unwrap();
    let (r2, p2) = (ring.clone(), pool.clone());
    dpdk::launch(1, move || {
        let mut got = 0;
        let mut b = dpdk::Burst::new();
        while got < 1000 {
            got += r2.dequeue_burst(&mut b);
            for m in b.drain(..) {
                assert_eq!(m.len(), 4);
            }
        }
        assert_eq!(p2.name(), "lcore");
        got as i32
    })
    .unwrap();
    let mut sent = 0;
    while sent < 1000 {
        let mut b = dpdk::Burst::new();
        let n = (1000 - sent).min(dpdk::BURST);
        assert!(pool.alloc_bulk(&mut b, n), "at most ~290 mbufs are in flight");
        for m in b.iter_mut() {
            wire::PacketBuf::append(m, 4).unwrap().copy_from_slice(&[1, 2, 3, 4]);
        }
        while !b.is_empty() {
            sent += ring.enqueue_burst(&mut b);
        }
    }
    assert_eq!(dpdk::wait(1), 1000);
    dpdk::wait_all();
    assert_eq!(pool.in_use(), 0);
}
