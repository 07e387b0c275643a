//! VIPs added and removed at run time, through the admin socket (`rvsadm --add-vip`,
//! `--del-vip`) and through SIGHUP: answered (ARP, traffic) within a second of being
//! added, no longer answered once removed.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// Whether the router reaches `vip` within `within` (ARP resolved to rvsd, echo answered).
fn answered_within(vip: &str, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if ns("rvs-router", &["ping", "-c1", "-W", "0.2", vip]).status.success() {
            return true;
        }
    }
    false
}

/// Whether, within a second (workers adopt a change at their next tick), nobody answers
/// ARP (NDP) for `vip` any more: the router's cache entry forgotten, then two pings
/// unanswered.
fn unanswered(vip: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        let _ = ns("rvs-router", &["ip", "neigh", "flush", "to", vip]);
        if !ns("rvs-router", &["ping", "-c1", "-W", "0.2", vip]).status.success() {
            let _ = ns("rvs-router", &["ip", "neigh", "flush", "to", vip]);
            return !ns("rvs-router", &["ping", "-c2", "-W", "0.5", vip]).status.success();
        }
    }
    false
}

/// The IPv6 lab config: the lab's IPv6 addresses on rvsd's ports and a default route.
fn with_ipv6(text: &str) -> String {
    let t = text
        .replacen("addresses = [\"10.0.2.2/24\"]", "addresses = [\"10.0.2.2/24\", \"2001:db8:2::2/64\"]", 1)
        .replacen("addresses = [\"10.0.3.1/24\"]", "addresses = [\"10.0.3.1/24\", \"2001:db8:3::1/64\"]", 1);
    assert_ne!(t, text, "lab_config() no longer has the addresses this test extends");
    t.replacen("[[route]]", "[[route]]\nprefix = \"::/0\"\ngateway = \"2001:db8:2::1\"\n\n[[route]]", 1)
}

fn rvsd_mac() -> String {
    ns_ok("rvs-director", &["cat", "/sys/class/net/dwan/address"]).trim().to_string()
}

#[test]
fn lab_vips_added_and_removed_at_run_time() {
    let _lab = Lab::up();
    let text = with_ipv6(&lab_config(""));
    let path = write_config("vip", &text);
    let mut rvsd = Rvsd::start(&path);
    assert!(unanswered("10.0.2.101"), "not a VIP yet");

    // The admin socket.
    let t = Instant::now();
    rvsadm_ok("--add-vip 10.0.2.101");
    assert!(answered_within("10.0.2.101", Duration::from_secs(1)), "answered within a second");
    eprintln!("10.0.2.101 answered {:?} after --add-vip", t.elapsed());
    let neigh = ns_ok("rvs-router", &["ip", "neigh", "show", "10.0.2.101"]);
    assert!(neigh.contains(&rvsd_mac()), "the router's entry is rvsd's MAC: {neigh}");
    // Traffic: a NAT service on the new VIP.
    rvsadm_ok("-A -t 10.0.2.101:80 -s rr");
    rvsadm_ok("-a -t 10.0.2.101:80 -r 10.0.3.11:80 -m");
    assert_eq!(curl("http://10.0.2.101/").trim(), "Web Server 1");
    let list = rvsadm_ok("--list-vip");
    assert!(list.contains("10.0.2.100") && list.contains("file"), "{list}");
    assert!(list.contains("10.0.2.101") && list.contains("rvsadm"), "{list}");
    let (code, _, err) = rvsadm("--del-vip 10.0.2.100", None);
    assert_ne!(code, 0, "the file's VIP stays: {err}");
    rvsadm_ok("--del-vip 10.0.2.101");
    assert!(unanswered("10.0.2.101"), "removed: no longer answered");
    // IPv6: answered by NDP within a second, and no longer once removed.
    assert!(unanswered("2001:db8:2::101"));
    rvsadm_ok("--add-vip 2001:db8:2::101");
    assert!(answered_within("2001:db8:2::101", Duration::from_secs(1)), "an IPv6 VIP is answered");
    let neigh = ns_ok("rvs-router", &["ip", "-6", "neigh", "show", "2001:db8:2::101"]);
    assert!(neigh.contains(&rvsd_mac()), "the router's NDP entry is rvsd's MAC: {neigh}");
    rvsadm_ok("--del-vip 2001:db8:2::101");
    assert!(unanswered("2001:db8:2::101"));
    let (code, _, err) = rvsadm("--add-vip", None);
    assert_eq!(code, 2, "usage error");
    assert!(err.contains("Usage"), "{err}");

    // SIGHUP: a [[vip]] added to the file, then taken out.
    let with = text.replace(
        "[[vip]]\naddress = \"10.0.2.100\"",
        "[[vip]]\naddress = \"10.0.2.100\"\n\n[[vip]]\naddress = \"10.0.2.102\"",
    );
    assert_ne!(with, text);
    rvsd.reload(&path, &with);
    assert!(answered_within("10.0.2.102", Duration::from_secs(1)), "a VIP added by SIGHUP is answered");
    rvsd.reload(&path, &text);
    assert!(unanswered("10.0.2.102"), "and no longer once the file drops it");
    assert!(answered_within("10.0.2.100", Duration::from_secs(1)), "the others stay");
    let (status, _) = rvsd.terminate();
    assert!(status.success());
}
