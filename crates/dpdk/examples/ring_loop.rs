//! Rough cost of the safe burst API: one core sends bursts of 32 mbufs into net_ring0
//! and receives them back (tx queue 0 loops to rx queue 0), counting packets/s.
//! Run as root: `cargo run --release -p dpdk --example ring_loop [seconds]`.
use dpdk::{Burst, Eal, Mempool, Port, PortConf};

fn main() {
    let secs: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let prefix = format!("--file-prefix=rvs-ring-loop-{}", std::process::id());
    let args = ["--no-huge", "-m", "256", "--no-pci", "--no-telemetry", "-l", "0", "--vdev=net_ring0", &prefix];
    let eal = Eal::init(&args).expect("EAL");
    let port = Port::by_name("net_ring0").unwrap();
    let pool = Mempool::create("loop", 4095, 256, dpdk::MBUF_DEFAULT_DATA_ROOM, -1).unwrap();
    let conf = PortConf {
        rx_queues: 1,
        tx_queues: 1,
        rx_desc: 1024,
        tx_desc: 1024,
        rss: false,
        mtu: None,
        ..PortConf::default()
    };
    port.configure(&conf, &pool).unwrap();
    port.start().unwrap();
    let (mut rx, mut tx) = (port.rx_queue(0).unwrap(), port.tx_queue(0).unwrap());
    let mut b = Burst::new();
    assert!(pool.alloc_bulk(&mut b, dpdk::BURST));
    for m in b.iter_mut() {
        wire::PacketBuf::append(m, 64).unwrap().fill(0x5a);
    }
    let hz = dpdk::tsc_hz() as f64;
    let end = dpdk::tsc() + (secs * hz) as u64;
    let mut pkts: u64 = 0;
    let t0 = dpdk::tsc();
    while dpdk::tsc() < end {
        for _ in 0..1024 {
            tx.tx_burst(&mut b);
            pkts += rx.rx_burst(&mut b) as u64;
            // touch every packet like a forwarder would (swap 6 bytes)
            for m in b.iter_mut() {
                let d = m.data_mut();
                d[0] ^= d[6];
            }
        }
    }
    let dt = (dpdk::tsc() - t0) as f64 / hz;
    println!(
        "net_ring0 tx+rx loop: {:.1} Mpps ({} packets in {:.2} s), {:.1} cycles/packet",
        pkts as f64 / dt / 1e6,
        pkts,
        dt,
        dt * hz / pkts as f64
    );
    drop((b, rx, tx));
    drop(pool);
    drop(eal);
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/rvs-ring-loop-{}", std::process::id()));
}
