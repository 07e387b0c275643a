//! NAT, DR and TUN end to end over IPv6: curl in the client namespace to the VIP6
//! 2001:db8:2::100 through the router, rvsd on two af_packet ports with two worker lcores,
//! nginx on real kernel servers listening on [::]:80. TUN is IPv6-in-IPv6 (RFC 2473, next
//! header 41), decapsulated on the real servers by lab/bpf/ipip_decap.c.
//!
//! rvsd's configuration is written on the fly, as in lab_forwarding.rs, and not kept in
//! dpdk-config/: every file there must load (crates/control/tests/config_examples.rs).

mod common;

use common::{big_download_matches, lab_config_v6, ns_ok, parallel_200, sample, write_config, Lab, Rvsd};

const VIP6: &str = "2001:db8:2::100";
const VIP6_URL: &str = "http://[2001:db8:2::100]/";
/// ipvsadm's name for the service, as in rvsd's metric labels.
const SERVICE: &str = "TCP [2001:db8:2::100]:80";

/// One `[[service]]` on [VIP6]:80 with the scheduler and real servers ("[addr]:port").
fn service(scheduler: &str, method: &str, servers: &[&str]) -> String {
    let mut s = format!("[[service]]\ntcp = \"[{VIP6}]:80\"\nscheduler = \"{scheduler}\"\n");
    for addr in servers {
        s += &format!("[[service.real_server]]\naddress = \"{addr}\"\nmethod = \"{method}\"\nweight = 1\n");
    }
    s
}

const LAN_SERVERS: [&str; 2] = ["[2001:db8:3::11]:80", "[2001:db8:3::12]:80"];

/// `curl -6` from the client namespace (-g: the brackets of an IPv6 literal are no glob).
fn curl6(url: &str) -> String {
    ns_ok("rvs-client", &["curl", "-6", "-g", "-sS", "--max-time", "10", url])
}

/// Round robin over two servers alternates exactly (seed 004).
fn rr_alternates() {
    let bodies: Vec<String> = (0..10).map(|_| curl6(VIP6_URL).trim().to_string()).collect();
    for pair in bodies.windows(2) {
        assert_ne!(pair[0], pair[1], "rr must alternate: {bodies:?}");
    }
    for b in &bodies {
        assert!(b == "Web Server 1" || b == "Web Server 2", "{bodies:?}");
    }
}

/// The router resolved the VIP6 by NDP on the wan segment to rvsd's wan port: dwan's MAC
/// (the af_packet PMD takes the kernel interface's address).
fn router_neighbour_is_rvsd() {
    let mac = ns_ok("rvs-director", &["cat", "/sys/class/net/dwan/address"]).trim().to_string();
    let neigh = ns_ok("rvs-router", &["ip", "-6", "neigh", "show", VIP6, "dev", "rtr-wan"]);
    assert!(neigh.contains(&format!("lladdr {mac}")), "router neighbour entry for the VIP6 should be {mac}: {neigh:?}");
}

/// What every method must do over IPv6; `method` as in the config (masq, route, tunnel).
fn exercise(method: &str) -> (Rvsd, std::path::PathBuf) {
    let path = write_config(&format!("{method}-v6"), &lab_config_v6(&service("rr", method, &LAN_SERVERS)));
    let rvsd = Rvsd::start(&path);
    rr_alternates();
    big_download_matches(VIP6_URL);
    parallel_200(VIP6_URL);
    router_neighbour_is_rvsd();
    (rvsd, path)
}

#[test]
fn lab_nat_v6() {
    let _lab = Lab::up();
    let (mut rvsd, _) = exercise("masq");
    let m = rvsd.metrics();
    let out = sample(&m, &format!("rvs_service_out_packets_total{{service=\"{SERVICE}\"}}"));
    assert!(out > 1000, "NAT replies pass through rvsd: {out}\n{m}");
    let (status, _) = rvsd.terminate();
    assert!(status.success(), "rvsd exit status {status}:\n{}", rvsd.output());
}

#[test]
fn lab_dr_v6() {
    let _lab = Lab::up();
    let (mut rvsd, _) = exercise("route");
    let m = rvsd.metrics();
    assert!(sample(&m, &format!("rvs_service_in_packets_total{{service=\"{SERVICE}\"}}")) > 200, "{m}");
    assert_eq!(
        sample(&m, &format!("rvs_service_out_packets_total{{service=\"{SERVICE}\"}}")),
        0,
        "DR replies bypass rvsd"
    );
    let (status, _) = rvsd.terminate();
    assert!(status.success(), "rvsd exit status {status}:\n{}", rvsd.output());
}

#[test]
fn lab_tun_v6() {
    let _lab = Lab::up();
    let (mut rvsd, path) = exercise("tunnel");
    // A real server the director reaches only through the router (2001:db8:4::/64 via
    // 2001:db8:3::fe): the ip6ip6 packet's outer destination is off-link.
    rvsd.reload(&path, &lab_config_v6(&service("rr", "tunnel", &["[2001:db8:4::11]:80"])));
    assert_eq!(curl6(VIP6_URL).trim(), "Web Server far1");
    big_download_matches(VIP6_URL);
    let m = rvsd.metrics();
    assert!(sample(&m, &format!("rvs_service_in_packets_total{{service=\"{SERVICE}\"}}")) > 200, "{m}");
    assert_eq!(
        sample(&m, &format!("rvs_service_out_packets_total{{service=\"{SERVICE}\"}}")),
        0,
        "TUN replies bypass rvsd"
    );
    let (status, _) = rvsd.terminate();
    assert!(status.success(), "rvsd exit status {status}:\n{}", rvsd.output());
}
