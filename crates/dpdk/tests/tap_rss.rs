//! The RSS branch of Port::configure, on a device that advertises RSS hash functions:
//! net_tap (flow_type_rss_offloads = IP/TCP/UDP). The test process first moves into a
//! private network namespace, so the tap interface never appears on the host and
//! vanishes with the process. Skips (passes with a note) if TUN/TAP is unavailable.
mod common;

use std::os::raw::c_int;

use dpdk::{Port, PortConf};

extern "C" {
    fn unshare(flags: c_int) -> c_int;
}
const CLONE_NEWNET: c_int = 0x4000_0000;

#[test]
fn rss_is_enabled_when_the_device_supports_it() {
    // SAFETY: unshare(2) only changes this thread's network namespace; the EAL and tap
    // threads created afterwards inherit it. No Rust invariants are involved.
    if unsafe { unshare(CLONE_NEWNET) } != 0 {
        eprintln!("skipped: unshare(CLONE_NEWNET) failed: {}", std::io::Error::last_os_error());
        return;
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        eprintln!("skipped: no /dev/net/tun");
        return;
    }
    let _eal = common::eal_with("0", &["--vdev=net_tap0,iface=rvsrss0"]);
    let Ok(port) = Port::by_name("net_tap0") else {
        eprintln!("skipped: net_tap0 did not probe");
        return;
    };
    let pool = common::pool("tap", 2047);
    let conf = PortConf {
        rx_queues: 2,
        tx_queues: 2,
        rx_desc: 256,
        tx_desc: 256,
        rss: true,
        mtu: None,
        ..PortConf::default()
    };
    port.configure(&conf, &pool).expect("configure with RSS");
    assert!(port.rss_enabled(), "net_tap advertises IP/TCP/UDP hashing");
    // One rx queue: RSS is pointless and stays off; likewise when not asked for.
    port.configure(&PortConf { rx_queues: 1, tx_queues: 1, ..conf.clone() }, &pool).unwrap();
    assert!(!port.rss_enabled());
    port.configure(&PortConf { rss: false, ..conf.clone() }, &pool).unwrap();
    assert!(!port.rss_enabled());
    port.configure(&conf, &pool).unwrap();
    port.start().expect("start");
    let _ = port.stats().expect("stats");
    port.close().unwrap();
}
