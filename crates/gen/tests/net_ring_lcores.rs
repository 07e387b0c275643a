//! The engine on two EAL lcores (main 0 and worker 1) over a DPDK `net_ring` device,
//! against the test peer: generator lcore k sends on queue k (to the peer) and receives
//! on queue 2 + k (from it). The peer answers a segment on the queue of the lcore that
//! owns its port (port % 2), except for a quarter of the ports, answered on the other
//! lcore's queue: those replies must reach their owner over the handoff ring.
//! One test: the EAL starts once per process.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{base_config, peer, Ring};
use dpdk::{Mempool, Port};
use rvs_gen::packet::TcpSeen;
use rvs_gen::{Config, Io, Mode, Report};

/// The peer's tx queue for a segment from the generator: its owner's rx queue, or the
/// other one for every fourth pair of ports.
fn route(t: &TcpSeen) -> usize {
    let owner = usize::from(t.sport % 2);
    let wrong = (t.sport / 2) & 3 == 0;
    2 + if wrong { owner ^ 1 } else { owner }
}

fn run(port: Port, pool: &Mempool, cfg: &Config) -> Report {
    let mac = port.mac_addr().expect("mac");
    let stop = Arc::new(AtomicBool::new(false));
    let prx = vec![port.rx_queue(0).expect("rx 0"), port.rx_queue(1).expect("rx 1")];
    let ptx = vec![port.tx_queue(2).expect("tx 2"), port.tx_queue(3).expect("tx 3")];
    let st = stop.clone();
    let h = std::thread::spawn(move || peer(prx, ptx, mac, st, |t| route(t) - 2));
    let ios = (0..2)
        .map(|k| Io {
            tx: port.tx_queue(k).expect("gen tx"),
            rx: vec![port.rx_queue(2 + k).expect("gen rx")],
            pool: pool.clone(),
            mac,
        })
        .collect();
    let r = rvs_gen::run_lcores(cfg, ios, &[0, 1], Arc::new(AtomicBool::new(false))).expect("run");
    stop.store(true, Ordering::Relaxed);
    drop(h.join().expect("peer"));
    print!("{}", r.text());
    // The totals are the per-lcore figures summed.
    assert_eq!(r.per_lcore.len(), 2, "{r:?}");
    let sum = |f: fn(&Report) -> u64| r.per_lcore.iter().map(f).sum::<u64>();
    assert_eq!(r.sent, sum(|x| x.sent));
    assert_eq!(r.received, sum(|x| x.received));
    assert_eq!(r.received_window, sum(|x| x.received_window));
    assert_eq!(r.syn_acks, sum(|x| x.syn_acks));
    assert!((r.sent_mpps - r.per_lcore.iter().map(|x| x.sent_mpps).sum::<f64>()).abs() < 1e-9);
    assert_eq!(r.per_lcore.iter().map(|x| x.lcore).collect::<Vec<_>>(), [Some(0), Some(1)]);
    assert!(r.per_lcore.iter().all(|x| x.sent > 0), "{r:?}");
    assert!(r.json().contains("\"lcores\": [{"));
    r
}

#[test]
fn two_lcores_over_net_ring() {
    let ring = Ring::up("gen-lcores", "0-1", 4, 16383);
    let (port, pool) = (ring.port, &ring.pool);
    let base = base_config();

    // Connections at 20k/s over two lcores: every one completes, those answered on the
    // wrong queue through the ring; histograms merged.
    let c = run(port, pool, &Config { mode: Mode::Connect, rate: 20_000, ..base.clone() });
    let conn = c.conn.expect("connect figures");
    assert!(conn.attempted > 1000, "{c:?}");
    assert_eq!((conn.completed, conn.established, conn.reset, conn.timeouts), (conn.attempted, conn.attempted, 0, 0));
    assert_eq!(conn.syn_ack_us.samples, conn.attempted);
    assert!(c.handed_off > 0 && c.handoff_drops == 0, "{c:?}");
    let per: Vec<_> = c.per_lcore.iter().map(|x| x.conn.expect("per-lcore connect figures")).collect();
    assert_eq!(per.iter().map(|x| x.attempted).sum::<u64>(), conn.attempted);
    assert_eq!(per.iter().map(|x| x.completed).sum::<u64>(), conn.completed);
    assert!(per.iter().all(|x| x.attempted > 0 && x.completed == x.attempted), "{per:?}");

    // Flows at 50k pps in all for 0.3 s: each lcore sends its half.
    let r = run(port, pool, &Config { mode: Mode::Flows, rate: 50_000, ..base.clone() });
    assert!((14_000..=15_100).contains(&r.sent) && r.tx_full == 0, "{r:?}");
    assert!(r.per_lcore.iter().all(|x| (7_000..=7_600).contains(&x.sent)), "{r:?}");
    assert!(r.received_window > 1000 && r.received <= r.sent, "{r:?}");
    // As fast as it goes.
    let f = run(port, pool, &Config { mode: Mode::Flows, flows: 64, ..base.clone() });
    assert!(f.received_window > 1000 && f.received <= f.sent, "{f:?}");

    // SYN flood at 20k pps: a SYN-ACK for each SYN, counted where it lands.
    let s = run(port, pool, &Config { mode: Mode::Synflood, rate: 20_000, ..base.clone() });
    assert!(s.sent > 5000 && s.syn_acks == s.sent, "{s:?}");
}
