//! rte_ring wrapper: burst semantics, full/empty behaviour, boxed messages, drain on drop.
mod common;

use std::sync::Arc;

use arrayvec::ArrayVec;
use dpdk::{Burst, Mbuf, Ring};

#[test]
fn ring_bursts_and_drop() {
    let _eal = common::eal();
    let pool = common::pool("ringpool", 255);

    // count 7 = 2^3 - 1: a plain ring; count 10: RING_F_EXACT_SZ.
    for (name, cap) in [("r7", 7u32), ("r10", 10)] {
        let ring: Ring<Mbuf> = Ring::create(name, cap, false, false).unwrap();
        let mut b = Burst::new();
        assert!(pool.alloc_bulk(&mut b, 12));
        let n = ring.enqueue_burst(&mut b);
        assert_eq!(n as u32, cap, "{name}");
        assert_eq!(b.len(), 12 - cap as usize, "unsent stay in the burst");
        assert_eq!(ring.count(), cap);
        assert_eq!(ring.free_count(), 0);
        assert_eq!(ring.enqueue_burst(&mut b), 0, "full");
        let mut out = Burst::new();
        assert_eq!(ring.dequeue_burst(&mut out) as u32, cap);
        assert_eq!(ring.dequeue_burst(&mut out), 0, "empty");
        drop((b, out));
    }
    assert_eq!(pool.in_use(), 0);

    // Order is preserved; dropping a ring frees what is still in it.
    let ring: Ring<Mbuf> = Ring::create("order", 63, true, true).unwrap();
    let mut b = Burst::new();
    assert!(pool.alloc_bulk(&mut b, 5));
    for (i, m) in b.iter_mut().enumerate() {
        wire::PacketBuf::append(m, 1).unwrap()[0] = i as u8;
    }
    assert_eq!(ring.enqueue_burst(&mut b), 5);
    let mut out: ArrayVec<Mbuf, 2> = ArrayVec::new();
    assert_eq!(ring.dequeue_burst(&mut out), 2, "fills spare capacity only");
    assert_eq!((out[0].data()[0], out[1].data()[0]), (0, 1));
    assert_eq!(ring.dequeue().unwrap().data()[0], 2);
    assert!(Ring::<Mbuf>::create("order", 63, true, true).is_err(), "duplicate name");
    drop(out);
    assert_eq!(pool.in_use(), 2);
    drop(ring);
    assert_eq!(pool.in_use(), 0, "ring drop returned its mbufs");

    // Boxed messages.
    let witness = Arc::new(5u32);
    let msgs: Ring<Box<Arc<u32>>> = Ring::create("msgs", 3, false, false).unwrap();
    for _ in 0..3 {
        msgs.enqueue(Box::new(witness.clone())).unwrap();
    }
    assert!(msgs.enqueue(Box::new(witness.clone())).is_err(), "full: item handed back");
    assert_eq!(**msgs.dequeue().unwrap(), 5);
    assert_eq!(Arc::strong_count(&witness), 3);
    drop(msgs);
    assert_eq!(Arc::strong_count(&witness), 1, "ring drop dropped its messages");
}
