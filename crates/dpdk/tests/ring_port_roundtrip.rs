//! (b) An mbuf round trip through net_ring0 (tx queue q loops back to rx queue q):
//! alloc, write bytes, tx_burst, rx_burst, same bytes back, stats count it.
mod common;

use dpdk::{Burst, Port, PortConf};
use wire::PacketBuf;

#[test]
fn mbuf_round_trip_through_ring_port() {
    let _eal = common::eal();
    let port = Port::by_name("net_ring0").unwrap();
    let pool = common::pool("roundtrip", 511);
    let conf = PortConf {
        rx_queues: 1,
        tx_queues: 1,
        rx_desc: 128,
        tx_desc: 128,
        rss: false,
        mtu: None,
        ..PortConf::default()
    };
    port.configure(&conf, &pool).unwrap();
    port.start().unwrap();
    let mut rx = port.rx_queue(0).unwrap();
    let mut tx = port.tx_queue(0).unwrap();

    // Nothing there yet.
    let mut got = Burst::new();
    assert_eq!(rx.rx_burst(&mut got), 0);

    // 40 frames: more than one burst, so the tx side sends a prefix of 32 at most.
    let frame = |i: u8| -> Vec<u8> { (0..60u8).map(|b| b.wrapping_mul(7).wrapping_add(i)).collect() };
    let mut sent_total = 0;
    for chunk in [0u8..32, 32..40] {
        let mut out = Burst::new();
        for i in chunk {
            let mut m = pool.alloc().expect("mbuf");
            m.append(60).unwrap().copy_from_slice(&frame(i));
            out.push(m);
        }
        let n = out.len();
        let sent = tx.tx_burst(&mut out);
        assert_eq!(sent, n, "net_ring has room for all");
        assert!(out.is_empty(), "sent mbufs are removed from the burst");
        sent_total += sent;
    }
    assert_eq!(sent_total, 40);

    let mut received = Vec::new();
    for _ in 0..4 {
        let mut b = Burst::new();
        let n = rx.rx_burst(&mut b);
        assert!(n <= dpdk::BURST);
        assert_eq!(n, b.len());
        received.extend(b);
    }
    assert_eq!(received.len(), 40);
    for (i, m) in received.iter().enumerate() {
        assert_eq!(m.data(), &frame(i as u8)[..], "frame {i}");
        assert_eq!(m.len(), 60);
        assert_eq!(m.pkt_len(), 60);
        assert_eq!(m.nb_segs(), 1);
        assert_eq!(m.rss_hash(), None, "net_ring computes no RSS hash");
    }

    // rx_burst fills only the spare capacity.
    let mut partial = Burst::new();
    for _ in 0..30 {
        partial.push(pool.alloc().unwrap());
    }
    for _ in 0..5 {
        let mut one = Burst::new();
        one.push(pool.alloc().unwrap());
        assert_eq!(tx.tx_burst(&mut one), 1);
    }
    assert_eq!(rx.rx_burst(&mut partial), 2);
    assert_eq!(partial.len(), dpdk::BURST);
    assert_eq!(rx.rx_burst(&mut partial), 0, "full burst takes nothing");
    drop(partial);
    let mut rest = Burst::new();
    assert_eq!(rx.rx_burst(&mut rest), 3);

    let s = port.stats().unwrap();
    assert_eq!(s.opackets, 45);
    assert_eq!(s.ipackets, 45);
    assert_eq!(s.oerrors, 0);

    drop((received, rest));
    assert_eq!(pool.in_use(), 0, "every mbuf is back in the pool");
    drop((rx, tx));
    port.close().unwrap();
}
