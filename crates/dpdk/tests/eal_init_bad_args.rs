//! A failed Eal::init is an error with DPDK's reason, and the EAL stays unusable
//! (DPDK cannot retry init in the same process): every later call errors, no UB.
mod common;

use dpdk::Eal;

#[test]
fn eal_init_bad_args_errors() {
    let (mut args, _) = common::eal_args("0", &[]);
    args.push("--no-such-eal-option".into());
    let err = Eal::init(&args).unwrap_err();
    assert_eq!(err.op(), "rte_eal_init");
    assert_eq!(err.errno(), Some(22), "{err}");
    assert!(err.to_string().contains("errno 22"), "{err}");
    assert!(!dpdk::eal::is_running());
    let (args, _) = common::eal_args("0", &[]);
    let again = Eal::init(&args).unwrap_err();
    assert!(again.to_string().contains("Failed"), "{again}");
    assert!(dpdk::Mempool::create("p", 63, 0, 2176, -1).is_err());
    assert!(dpdk::Ring::<dpdk::Mbuf>::create("r", 63, true, true).is_err());
    assert!(dpdk::launch(1, || 0).is_err());
    assert_eq!(dpdk::wait(1), 0);
    dpdk::wait_all();
}
