//! Connection-table memory in the EAL's hugepages: with hugepages reserved, the tables'
//! slices come from rte_malloc (HugePages_Free drops while one lives), on the caller's
//! socket, and go back on drop. (Without hugepages, see packetbuf.rs: the EAL declines.)
//! Needs free 2 MiB hugepages: `scripts/setup --hugepages 64`, which scripts/test runs.

use dpdk::Eal;
use rvs_hint::{Backing, HugeSlice};

fn hugepages_free() -> u64 {
    let m = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    m.lines().find_map(|l| l.strip_prefix("HugePages_Free:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u32; 16]);

#[test]
fn tables_live_in_dpdk_hugepages() {
    assert!(
        hugepages_free() >= 24,
        "needs at least 24 free 2 MiB hugepages (scripts/setup --hugepages 64 reserves them; scripts/test does)"
    );
    let args = [
        "rvs-test",
        "--in-memory",
        "--no-pci",
        "--no-telemetry",
        "--log-level=lib.eal:error",
        "-l",
        "0",
        "--vdev=net_ring0",
    ];
    let eal = Eal::init(&args).unwrap_or_else(|e| panic!("EAL init with hugepages: {e} (are you root?)"));
    assert!(dpdk::use_hugepages_for_tables(), "the EAL has hugepages: tables must use them");
    let before = hugepages_free();
    let n = (16 << 20) / 64;
    let mut s = HugeSlice::from_fn(n, |i| Line([i as u32; 16]));
    assert_eq!(s.backing(), Backing::Hugetlb);
    let during = hugepages_free();
    assert!(during + 8 <= before, "16 MiB from rte_malloc must come out of hugepages: free {before} -> {during}");
    s[n - 1].0[15] = 7;
    assert!(s.iter().take(n - 1).enumerate().all(|(i, l)| l.0 == [i as u32; 16]));
    assert_eq!(s[n - 1].0[15], 7);
    // Small slices are not worth a huge page.
    assert_eq!(HugeSlice::new(100, 0u32).backing(), Backing::Pages);
    drop(s);
    drop(eal);
}
