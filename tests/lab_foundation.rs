//! The foundation in the lab: rvsd in the director's namespace on two af_packet ports,
//! real kernel stacks around it.

mod common;

use std::time::Duration;

use common::{ns_ok, repo, sample, Lab, Rvsd};

const UNKNOWN_PROTO: &str = "rvs_port_drops_total{lcore=\"1\",port=\"wan\",reason=\"unknown_protocol\"}";

/// Send `n` IPv4 packets of protocol 253 (RFC 3692 experimental) from the client to `dst`.
fn send_proto_253(dst: &str, n: u32) {
    let script = format!(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)\nfor _ in range({n}): s.sendto(b'rvs-unknown-protocol', ('{dst}', 0))\n"
    );
    ns_ok("rvs-client", &["/usr/bin/python3", "-c", &script]);
}

#[test]
fn lab_rvsd_answers_arp_and_icmp_counts_drops_and_stops_on_sigterm() {
    let _lab = Lab::up();
    let mut rvsd = Rvsd::start(&repo().join("dpdk-config/demo.toml"));
    let startup = rvsd.output();
    for line in [
        "port wan: net_af_packet0",
        "port lan: net_af_packet1",
        "link up",
        "worker lcore 1: queue 0 on wan, lan",
        "vip 10.0.2.100 on wan",
    ] {
        assert!(startup.contains(line), "startup output lacks {line:?}:\n{startup}");
    }

    // ICMP echo to the director's own wan address and to the VIP, through the router.
    for dst in ["10.0.2.2", "10.0.2.100"] {
        let out = ns_ok("rvs-client", &["ping", "-c", "3", "-i", "0.2", "-W", "2", dst]);
        assert!(out.contains("3 received"), "ping {dst}:\n{out}");
    }

    // The router, beside the wan port, resolved the VIP to the port's MAC.
    let mac = ns_ok("rvs-director", &["cat", "/sys/class/net/dwan/address"]).trim().to_string();
    assert!(startup.contains(&format!("mac {mac}")), "rvsd should report dwan's MAC {mac}:\n{startup}");
    let neigh = ns_ok("rvs-router", &["ip", "neigh", "show", "10.0.2.100", "dev", "rtr-wan"]);
    assert!(neigh.contains(&format!("lladdr {mac}")), "router neighbour entry for the VIP: {neigh:?}");

    // An unknown IP protocol to the VIP is dropped and counted by reason (to the port's
    // own address it would go up to the kernel twin, whose address it is).
    let before = sample(&rvsd.metrics(), UNKNOWN_PROTO);
    send_proto_253("10.0.2.100", 3);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut after = before;
    while after < before + 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        after = sample(&rvsd.metrics(), UNKNOWN_PROTO);
    }
    assert_eq!(after - before, 3, "three protocol-253 packets counted as unknown_protocol drops");
    let m = rvsd.metrics();
    assert!(
        sample(&m, "rvs_port_rx_packets_total{lcore=\"1\",port=\"wan\"}") >= 9,
        "six echo requests and three protocol-253 packets at least: {m}"
    );
    assert!(sample(&m, "rvs_port_tx_packets_total{lcore=\"1\",port=\"wan\"}") >= 6, "six echo replies at least");
    assert_eq!(sample(&m, "rvs_port_link_up{port=\"wan\"}"), 1);

    // SIGTERM: clean exit 0 within 2 s, final counters printed.
    let (status, took) = rvsd.terminate();
    assert!(status.success(), "rvsd exit status {status}:\n{}", rvsd.output());
    assert!(took < Duration::from_secs(2), "rvsd took {took:?} to stop");
    let log = rvsd.output();
    assert!(log.contains("counters: lcore 1 port wan:") && log.contains("unknown_protocol 3"), "{log}");
    assert!(log.contains("rvsd: stopped"));
}
