//! Link + plugin smoke test over the raw bindings: a Rust test binary linked with
//! pkg-config's flags initialises the EAL (no hugepages, no PCI) and finds the
//! net_ring and net_af_packet PMDs, which Debian ships as plugins loaded at init.
//! Needs root (af_packet opens a raw socket on `lo`). One test per file: the EAL
//! initialises once per process.
use std::ffi::CString;
use std::os::raw::c_char;

#[test]
fn eal_init_finds_ring_and_af_packet_pmds() {
    let prefix = format!("--file-prefix=rvs-sys-test-{}", std::process::id());
    let args = [
        "dpdk-sys-test",
        "--no-huge",
        "-m",
        "128",
        "--no-pci",
        "--no-telemetry",
        "-l",
        "0",
        "--log-level=lib.eal:error",
        prefix.as_str(),
        "--vdev=net_ring0",
        "--vdev=net_af_packet0,iface=lo",
    ];
    let owned: Vec<CString> = args.iter().map(|a| CString::new(*a).unwrap()).collect();
    let mut argv: Vec<*mut c_char> = owned.iter().map(|a| a.as_ptr() as *mut c_char).collect();
    // SAFETY: argv points at NUL-terminated strings that outlive the call; EAL is
    // initialised once in this process (one #[test] in this file).
    let rc = unsafe { dpdk_sys::rte_eal_init(argv.len() as i32, argv.as_mut_ptr()) };
    assert!(rc >= 0, "rte_eal_init failed, rte_errno {}", unsafe { dpdk_sys::rvs_errno() });
    // SAFETY: EAL is initialised.
    let n = unsafe { dpdk_sys::rte_eth_dev_count_avail() };
    assert_eq!(n, 2, "expected net_ring0 and net_af_packet0");
    for name in ["net_ring0", "net_af_packet0"] {
        let c = CString::new(name).unwrap();
        let mut id = 0u16;
        // SAFETY: valid C string and out-pointer.
        let rc = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut id) };
        assert_eq!(rc, 0, "{name} not found");
    }
    // SAFETY: plain FFI calls after a successful init.
    unsafe {
        assert!(dpdk_sys::rvs_get_tsc_hz() > 0);
        assert_eq!(dpdk_sys::rvs_lcore_id(), 0);
        dpdk_sys::rte_eal_cleanup();
    }
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/rvs-sys-test-{}", std::process::id()));
}
