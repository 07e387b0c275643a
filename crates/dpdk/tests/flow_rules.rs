//! rte_flow queue rules (dpdk::flow) on the two devices a test can create: net_ring (no
//! rte_flow at all) and net_tap (rte_flow through TC flower, 2 queues), with FullNAT's
//! rules (dst address exact, dst port bits = queue under mask 1, queue 0/1) and a
//! full-mask variant. What each device refuses is printed with the driver's message;
//! where a rule is created, destroy, stop and close are checked to release it. The test
//! process moves into its own network namespace first, so the tap never shows on the
//! host. Skips (passes with a note) without TUN/TAP.
mod common;

use std::net::IpAddr;
use std::os::raw::c_int;

use dpdk::{Port, PortConf, QueueRule, L4};

extern "C" {
    fn unshare(flags: c_int) -> c_int;
}
const CLONE_NEWNET: c_int = 0x4000_0000;
const ENOSYS: i32 = 38;
const ERANGE: i32 = 34;

fn rule(dst: &str, l4: L4, dst_port: u16, dst_port_mask: u16, queue: u16) -> QueueRule {
    QueueRule { dst: dst.parse::<IpAddr>().unwrap(), l4, dst_port, dst_port_mask, queue }
}

/// FullNAT's rules for two workers: every family, protocol and queue.
fn fullnat_rules() -> Vec<QueueRule> {
    let mut v = Vec::new();
    for dst in ["10.0.3.200", "2001:db8:3::200"] {
        for l4 in [L4::Tcp, L4::Udp] {
            for q in 0..2 {
                v.push(rule(dst, l4, q, 1, q));
            }
        }
    }
    v
}

/// Create `r`; if the device takes it, check that destroy releases it. Returns what
/// happened, for the report.
fn try_create(port: &Port, r: &QueueRule) -> Result<(), String> {
    match port.flow_create(r) {
        Ok(f) => {
            assert_eq!(port.flow_count(), 1);
            f.destroy().expect("destroy a rule just created");
            assert_eq!(port.flow_count(), 0);
            Ok(())
        }
        Err(e) => {
            assert_eq!(port.flow_count(), 0, "a refused rule is not registered");
            let text = e.to_string();
            assert!(text.starts_with("rte_flow_"), "{text}");
            Err(text)
        }
    }
}

#[test]
fn queue_rules_on_net_ring_and_net_tap() {
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
    let _eal = common::eal_with("0", &["--vdev=net_tap0,iface=rvsflow0"]);
    let pool = common::pool("flow", 4095);
    let conf = PortConf { rx_queues: 2, tx_queues: 2, rx_desc: 256, tx_desc: 256, ..PortConf::default() };

    // net_ring has no flow ops: ethdev refuses every rule itself.
    let ring = Port::by_name("net_ring0").unwrap();
    ring.configure(&conf, &pool).unwrap();
    ring.start().unwrap();
    for r in fullnat_rules() {
        let e = ring.flow_validate(&r).unwrap_err();
        assert_eq!((e.op(), e.errno()), ("rte_flow_validate", Some(ENOSYS)), "{e}");
        let e = ring.flow_create(&r).unwrap_err();
        assert_eq!(e.errno(), Some(ENOSYS), "{e}");
    }
    assert_eq!(ring.flow_count(), 0);
    println!("net_ring: {}", ring.flow_create(&fullnat_rules()[0]).unwrap_err());

    let Ok(tap) = Port::by_name("net_tap0") else {
        eprintln!("skipped: net_tap0 did not probe");
        return;
    };
    tap.configure(&conf, &pool).unwrap();
    tap.start().unwrap();
    // A queue the port does not have is refused at validation, with the driver's words.
    let e = tap.flow_validate(&rule("10.0.3.200", L4::Tcp, 0, 1, 2)).unwrap_err();
    assert_eq!(e.errno(), Some(ERANGE), "{e}");
    println!("net_tap, queue 2 of 2: {e}");

    let mut created = 0;
    for r in fullnat_rules() {
        let v = tap.flow_validate(&r);
        let c = try_create(&tap, &r);
        created += usize::from(c.is_ok());
        println!("net_tap, FullNAT rule {r:?}: validate {v:?}, create {c:?}");
    }
    // The full-mask variant: one exact port.
    for l4 in [L4::Tcp, L4::Udp] {
        let r = rule("10.0.3.200", l4, 1025, 0xffff, 1);
        let c = try_create(&tap, &r);
        println!("net_tap, full mask {r:?}: validate {:?}, create {c:?}", tap.flow_validate(&r));
    }

    // Where the device takes rules: stop releases them, and a handle whose rule went
    // with its port is a no-op.
    let r = fullnat_rules()[1];
    if let Ok(f) = tap.flow_create(&r) {
        tap.stop().unwrap();
        assert_eq!(tap.flow_count(), 0, "stop destroys the port's rules");
        f.destroy().expect("a released rule's handle is a no-op");
        tap.start().unwrap();
        let f = tap.flow_create(&r).expect("created again after the restart");
        tap.close().unwrap();
        drop(f);
        println!("net_tap: NIC path exercised: {created} of 8 FullNAT rules created and destroyed");
    } else {
        tap.close().unwrap();
        println!("net_tap: NIC path NOT available here: the FullNAT rules are refused (above)");
    }
    ring.close().unwrap();
}
