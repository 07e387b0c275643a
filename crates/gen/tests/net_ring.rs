//! The engine over a DPDK `net_ring` device (no NIC, no lab; root for the EAL), against
//! a few lines of TCP peer on another thread: the device's queue 0 carries rvs-gen's
//! frames to the peer, queue 1 the peer's back (a net_ring queue's tx feeds its rx).
//! One test: the EAL starts once per process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod common;

use common::{base_config, peer, Ring};
use dpdk::{Mempool, Port};
use rvs_gen::{Config, Io, Mode, Report};

fn run(port: Port, pool: &Mempool, cfg: &Config) -> Report {
    let mac = port.mac_addr().expect("mac");
    let stop = Arc::new(AtomicBool::new(false));
    let (prx, ptx) = (port.rx_queue(0).expect("rx 0"), port.tx_queue(1).expect("tx 1"));
    let st = stop.clone();
    let h = std::thread::spawn(move || peer(vec![prx], vec![ptx], mac, st, |_| 0));
    let mut io =
        Io { tx: port.tx_queue(0).expect("tx 0"), rx: vec![port.rx_queue(1).expect("rx 1")], pool: pool.clone(), mac };
    let r = rvs_gen::run(cfg, &mut io, &AtomicBool::new(false)).expect("run");
    stop.store(true, Ordering::Relaxed);
    drop(h.join().expect("peer"));
    drop(io);
    print!("{}", r.text());
    r
}

#[test]
fn modes_over_net_ring() {
    let ring = Ring::up("gen-test", "0", 2, 8191);
    let (port, pool) = (ring.port, &ring.pool);
    let base = base_config();

    // Connections at 20k/s: every one completes, none times out.
    let c = run(port, pool, &Config { mode: Mode::Connect, rate: 20_000, ..base.clone() });
    let conn = c.conn.expect("connect figures");
    assert!(conn.attempted > 1000, "{c:?}");
    assert_eq!((conn.completed, conn.established, conn.reset, conn.timeouts), (conn.attempted, conn.attempted, 0, 0));
    assert_eq!(conn.syn_ack_us.samples, conn.attempted);
    assert!(conn.syn_ack_us.p50 > 0.0 && conn.syn_ack_us.p50 <= conn.syn_ack_us.p99);

    // With an HTTP GET: the peer answers it, then the FINs.
    let h = run(port, pool, &Config { mode: Mode::Connect, rate: 5_000, http: true, ..base.clone() });
    let hc = h.conn.expect("connect figures");
    assert!(hc.attempted > 100 && hc.completed == hc.attempted && hc.timeouts == 0, "{h:?}");

    // Flows, 1518-byte frames, as fast as it goes: a reply comes back for each.
    let f = run(port, pool, &Config { mode: Mode::Flows, frame_size: 1518, flows: 64, ..base.clone() });
    assert!(f.received_window > 1000 && f.received <= f.sent, "{f:?}");
    // At a rate: 50k pps for 0.3 s.
    let r = run(port, pool, &Config { mode: Mode::Flows, rate: 50_000, ..base.clone() });
    assert!((14_000..=15_100).contains(&r.sent) && r.tx_full == 0, "{r:?}");

    // SYN flood at 20k pps: a SYN-ACK for each SYN.
    let s = run(port, pool, &Config { mode: Mode::Synflood, rate: 20_000, ..base.clone() });
    assert!(s.sent > 5000 && s.syn_acks == s.sent, "{s:?}");
}
