//! Sizes and timeouts the file may set are bounded by what rvsd can honour: the mbuf
//! pool covers every ring and queue that holds mbufs, capacities stay within what is
//! allocated, persistence within ipvsadm's 31 days.

mod config_common;

use config_common::{edit, err, ok, BASE};

#[track_caller]
fn check(text: &str, prefix: &str, message_part: &str) {
    let e = err(text);
    assert!(e.starts_with(prefix), "expected prefix {prefix:?}, got {e:?}");
    assert!(e.contains(message_part), "expected {message_part:?} in {e:?}");
}

/// BASE with four workers (lcores 1-4) and 2048/2048 descriptors on both ports, as
/// dpdk-config/pci-example.toml has them.
fn four_workers() -> String {
    let t = edit(BASE, "\"-l\", \"0,1\"", "\"-l\", \"0-4\"");
    let t = edit(&t, "lcores = [1]", "lcores = [1, 2, 3, 4]");
    let t = edit(&t, "device = \"net_null0\"", "device = \"net_null0\"\nrx_desc = 2048\ntx_desc = 2048");
    edit(&t, "device = \"net_null1\"", "device = \"net_null1\"\nrx_desc = 2048\ntx_desc = 2048")
}

// Need at 4 workers, 2 ports: descriptors 4 x 2 x 4096 = 32768, caches 4 x 384 = 1536,
// bursts 4 x 32 x (1 rx + 2 tx + 3 redirect) = 768, redirect rings 4 x 3 x 1024 = 12288,
// neighbour queues 4 x 1024 x 4 = 16384, kernel path 2 twins x (2 x 128 descriptors + 32)
// + 5 rings x 128 + 32 = 1248: 64992.
const NEED_4: u32 = 64992;

#[test]
fn defect_10_explicit_mbufs_below_need_is_rejected() {
    // pci-example.toml's old figure: one short of its descriptors alone.
    check(&format!("{}mbufs = 32767\n", four_workers()), "t.toml:27: workers.mbufs: ", &format!("need {NEED_4}"));
    check(&format!("{}mbufs = {}\n", four_workers(), NEED_4 - 1), "t.toml:27: workers.mbufs: ", "too few");
    assert_eq!(ok(&format!("{}mbufs = {NEED_4}\n", four_workers())).workers.mbufs, NEED_4);
}

#[test]
fn defect_10_unset_mbufs_is_sized_to_the_rings() {
    let w = ok(&four_workers()).workers;
    assert!(w.mbufs >= NEED_4, "{} mbufs for a need of {NEED_4}", w.mbufs);
    assert_eq!(w.mbufs, 65535, "rounded up to 2^n - 1, the size mempools use best");
    // Fewer neighbour queues, fewer mbufs; never below the old default.
    let w = ok(&format!("{BASE}neigh_queue = 0\n")).workers;
    assert_eq!(w.mbufs, 8191);
}

#[test]
fn defect_10_shipped_examples_cover_their_rings() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dpdk-config");
    for (name, need) in [("pci-example.toml", NEED_4), ("demo.toml", 9536)] {
        let c = control::config::load(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.workers.mbufs >= need, "{name}: {} mbufs for a need of {need}", c.workers.mbufs);
    }
}

#[test]
fn defect_11_neigh_capacity_bounded() {
    // 4294967295 used to pass and abort at start allocating 274 GB.
    check(&format!("{BASE}neigh_capacity = 4294967295\n"), "t.toml:23: workers.neigh_capacity: ", "1..=65536");
    check(&format!("{BASE}neigh_capacity = 65537\n"), "t.toml:23: workers.neigh_capacity: ", "out of range");
    assert_eq!(ok(&format!("{BASE}neigh_capacity = 65536\nneigh_queue = 0\n")).workers.neigh_capacity, 65536);
    check(&format!("{BASE}neigh_queue = 1025\n"), "t.toml:23: workers.neigh_queue: ", "out of range 0..=1024");
}

#[test]
fn defect_11_conn_capacity_bounded_by_the_table() {
    // The table's index names at most 2^23 - 1 entries; more used to be clamped silently.
    check(&format!("{BASE}conn_capacity = 8388608\n"), "t.toml:23: workers.conn_capacity: ", "1..=8388607");
    check(&format!("{BASE}conn_capacity = 4294967295\n"), "t.toml:23: workers.conn_capacity: ", "out of range");
    assert_eq!(ok(&format!("{BASE}conn_capacity = 8388607\n")).workers.conn_capacity, 8388607);
}

#[test]
fn conn_capacity_v6_is_optional_and_bounded() {
    assert_eq!(ok(BASE).workers.conn_capacity_v6, None, "unset: half the table (ConnConfig)");
    assert_eq!(ok(&format!("{BASE}conn_capacity_v6 = 4096\n")).workers.conn_capacity_v6, Some(4096));
    check(&format!("{BASE}conn_capacity_v6 = 8388608\n"), "t.toml:23: workers.conn_capacity_v6: ", "0..=8388607");
}

#[test]
fn defect_11_mbufs_bounded() {
    check(&format!("{BASE}mbufs = 4294967295\n"), "t.toml:23: workers.mbufs: ", "out of range");
    // A need past the largest pool names the keys that drive it.
    check(&format!("{BASE}neigh_capacity = 65536\nneigh_queue = 1024\n"), "t.toml:21: workers.mbufs: ", "neigh_queue");
}

const SVC: &str = "\n[[service]]\ntcp = \"10.0.2.100:80\"\npersistent = ";

#[test]
fn defect_12_persistent_capped_at_31_days() {
    // ipvsadm -p takes 1..=2678400 (31 days); the file now takes what rvsadm takes.
    let at = "t.toml:26: service[0].persistent: ";
    check(&format!("{BASE}{SVC}40000000\n"), at, "1..=2678400");
    check(&format!("{BASE}{SVC}2678401\n"), at, "31 days");
    check(&format!("{BASE}{SVC}0\n"), at, "illegal timeout");
    let c = ok(&format!("{BASE}{SVC}2678400\n"));
    assert_eq!(c.services[0].spec.persistence.map(|p| p.timeout_s), Some(2678400));
}
