//! Shared EAL setup for the DPDK-backed tests.
//!
//! The EAL initialises once per process, so each test file holds exactly one #[test]
//! (cargo test runs every file as its own process; cargo-nextest runs every test as its
//! own process anyway). Needs root. Each process gets its own `--file-prefix`, so tests
//! can run in parallel; the runtime directory is removed afterwards.
#![allow(dead_code)]

use dpdk::Eal;

/// The EAL plus cleanup of its runtime directory.
pub struct TestEal {
    eal: Option<Eal>,
    prefix: String,
}

impl Drop for TestEal {
    fn drop(&mut self) {
        drop(self.eal.take());
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{}", self.prefix));
    }
}

/// The EAL arguments used by every test: no hugepages, no PCI, one `net_ring0` port,
/// lcores `lcores` (e.g. "0" or "0,1").
pub fn eal_args(lcores: &str, extra: &[&str]) -> (Vec<String>, String) {
    let prefix = format!("rvs-test-{}", std::process::id());
    let mut args: Vec<String> = [
        "rvs-test",
        "--no-huge",
        "-m",
        "256",
        "--no-pci",
        "--no-telemetry",
        "--log-level=lib.eal:error",
        "-l",
        lcores,
        "--vdev=net_ring0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--file-prefix={prefix}"));
    args.extend(extra.iter().map(|s| s.to_string()));
    (args, prefix)
}

/// Initialise the EAL for this test process (panics with DPDK's reason on failure).
pub fn eal_with(lcores: &str, extra: &[&str]) -> TestEal {
    let (args, prefix) = eal_args(lcores, extra);
    let eal = Eal::init(&args).unwrap_or_else(|e| panic!("EAL init ({args:?}): {e} (are you root?)"));
    TestEal { eal: Some(eal), prefix }
}

/// EAL on lcore 0 with `net_ring0`.
pub fn eal() -> TestEal {
    eal_with("0", &[])
}

/// A pktmbuf pool with the default data room.
pub fn pool(name: &str, n: u32) -> dpdk::Mempool {
    dpdk::Mempool::create(name, n, 0, dpdk::MBUF_DEFAULT_DATA_ROOM, -1).expect("mempool")
}
