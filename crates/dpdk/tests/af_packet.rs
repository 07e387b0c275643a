//! net_af_packet on `lo` (found as a plugin from Debian's driver directory): two queue
//! pairs (kernel PACKET_FANOUT spreads flows, no RSS), start, link, and real packets:
//! a UDP datagram sent to 127.0.0.1 is seen on one of the rx queues.
mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use dpdk::{Burst, Port, PortConf};

#[test]
fn af_packet_on_loopback() {
    let _eal = common::eal_with("0", &["--vdev=net_af_packet0,iface=lo,qpairs=2"]);
    assert_eq!(Port::count(), 2, "net_ring0 and net_af_packet0");
    let port = Port::by_name("net_af_packet0").expect("af_packet PMD plugin loaded");
    assert_eq!(port.driver_name(), "net_af_packet");
    let pool = common::pool("afp", 4095);
    let conf = PortConf {
        rx_queues: 2,
        tx_queues: 2,
        rx_desc: 512,
        tx_desc: 512,
        rss: true,
        mtu: None,
        ..PortConf::default()
    };
    port.configure(&conf, &pool).expect("configure 2 queue pairs");
    assert!(!port.rss_enabled(), "af_packet offers no RSS; the kernel's fanout hash spreads flows");
    let too_many = PortConf { rx_queues: 3, tx_queues: 3, ..conf.clone() };
    assert!(port.configure(&too_many, &pool).is_err(), "qpairs=2 caps the queues");
    port.configure(&conf, &pool).unwrap();
    port.start().expect("start");
    assert!(port.link().up);
    port.mac_addr().expect("mac");

    let mut rxq = [port.rx_queue(0).unwrap(), port.rx_queue(1).unwrap()];
    let marker = format!("rvs-af-packet-test-{}", std::process::id());
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let dst = sock.local_addr().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = false;
    while !seen && Instant::now() < deadline {
        sock.send_to(marker.as_bytes(), dst).unwrap();
        std::thread::sleep(Duration::from_millis(10));
        for q in rxq.iter_mut() {
            let mut b = Burst::new();
            while q.rx_burst(&mut b) > 0 {
                seen |= b.iter().any(|m| m.data().windows(marker.len()).any(|w| w == marker.as_bytes()));
                dpdk::free_burst(&mut b);
            }
        }
    }
    assert!(seen, "the datagram shows up on lo through af_packet");
    assert!(port.stats().unwrap().ipackets > 0);
    drop(rxq);
    port.close().unwrap();
    assert_eq!(pool.in_use(), 0);
}
