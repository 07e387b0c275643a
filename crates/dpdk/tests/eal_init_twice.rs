//! (d) Eal::init a second time errors (never UB).
mod common;

use dpdk::Eal;

#[test]
fn eal_init_twice_errors() {
    assert!(!dpdk::eal::is_running());
    assert!(dpdk::Mempool::create("early", 63, 0, 2176, -1).is_err(), "no EAL yet");
    assert!(dpdk::Port::by_name("net_ring0").is_err(), "no EAL yet");
    assert_eq!(dpdk::Port::count(), 0);
    let eal = common::eal();
    assert!(dpdk::eal::is_running());
    let (args, _) = common::eal_args("0", &[]);
    let err = Eal::init(&args).unwrap_err();
    assert_eq!(err.errno(), Some(114), "{err}");
    assert!(err.to_string().contains("once"), "{err}");
    assert!(dpdk::tsc_hz() > 0);
    let t0 = dpdk::tsc();
    dpdk::pause();
    assert!(dpdk::tsc() >= t0);
    drop(eal);
    assert!(!dpdk::eal::is_running());
    assert!(Eal::init(&args).is_err(), "not even after cleanup");
    assert!(dpdk::Mempool::create("late", 63, 0, 2176, -1).is_err(), "EAL gone");
}
