//! (a) Port setup on net_ring0: configure, start, MAC, link up, stats, queue ownership.
mod common;

use dpdk::{Port, PortConf};

#[test]
fn port_setup_net_ring() {
    let _eal = common::eal();
    assert_eq!(Port::count(), 1);
    let port = Port::by_name("net_ring0").expect("net_ring0");
    assert_eq!(port.id(), 0);
    assert_eq!(port.name(), "net_ring0");
    assert_eq!(port.driver_name(), "net_ring");
    assert!(Port::by_name("nope0").is_err());
    assert!(Port::from_id(7).is_err());

    let pool = common::pool("port_setup", 1023);
    // Two queues with RSS requested: net_ring has no RSS, so it must stay off.
    let conf = PortConf {
        rx_queues: 2,
        tx_queues: 2,
        rx_desc: 256,
        tx_desc: 256,
        rss: true,
        mtu: None,
        ..PortConf::default()
    };
    port.configure(&conf, &pool).expect("configure");
    assert!(!port.rss_enabled(), "net_ring reports no RSS hash functions");
    assert_eq!(port.queue_counts(), (2, 2));
    let bad = PortConf { rx_queues: 1000, ..conf.clone() };
    let err = port.configure(&bad, &pool).unwrap_err();
    assert_eq!(err.errno(), Some(22), "{err}");

    port.configure(&conf, &pool).expect("re-configure");
    port.start().expect("start");
    port.promiscuous(true).expect("promiscuous");

    // net_ring starts with an all-zero MAC; set one and read it back.
    let mac = wire::EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
    match port.set_mac_addr(mac) {
        Ok(()) => assert_eq!(port.mac_addr().expect("mac"), mac),
        Err(e) => {
            assert_eq!(e.errno(), Some(95), "only 'not supported' is acceptable: {e}");
            port.mac_addr().expect("mac");
        }
    }
    let link = port.link();
    assert!(link.up, "net_ring link is up once started: {link:?}");
    let s = port.stats().expect("stats");
    assert_eq!((s.ipackets, s.opackets, s.ierrors, s.oerrors), (0, 0, 0, 0));
    let x = port.xstats().expect("xstats");
    assert!(x.iter().any(|(n, _)| n == "rx_good_packets"), "{x:?}");

    // Queues: one owner each, only configured ones, and no reconfigure/close while held.
    let rx0 = port.rx_queue(0).expect("rx 0");
    assert_eq!(port.rx_queue(0).unwrap_err().errno(), Some(16));
    assert_eq!(port.rx_queue(2).unwrap_err().errno(), Some(22));
    let tx1 = port.tx_queue(1).expect("tx 1");
    port.stop().expect("stop");
    assert_eq!(port.configure(&conf, &pool).unwrap_err().errno(), Some(16));
    assert_eq!(port.close().unwrap_err().errno(), Some(16));
    drop((rx0, tx1));
    let _rx0 = port.rx_queue(0).expect("rx 0 is free again");
    drop(_rx0);
    port.close().expect("close");
    assert!(port.stats().is_err(), "closed port is gone");
    assert_eq!(pool.in_use(), 0);
}
