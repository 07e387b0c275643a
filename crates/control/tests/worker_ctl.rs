//! What a configuration change and a connection listing cost the worker: both are served
//! at its timer tick, so whatever they do there is a pause in packet polling.

mod worker_common;

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use control::live::Live;
use rvs_core::addr::{Addr, Protocol};
use rvs_core::conn::NewConn;
use rvs_core::service::{Config, DestSpec, FwdMethod, ServiceKey, ServiceSpec};
use worker_common::Worker;

fn key(i: u16) -> ServiceKey {
    ServiceKey::Proto { proto: Protocol::Tcp, addr: Addr::from(Ipv4Addr::new(10, 0, 2, 100)), port: 1000 + i }
}

fn rs(last: u8) -> Addr {
    Addr::from(Ipv4Addr::new(10, 0, 3, last))
}

/// 50 `mh` services with two real servers each.
fn mh_services(n: u16) -> Config {
    let mut c = Config::new(4096);
    for i in 0..n {
        let mut s = ServiceSpec::new(key(i));
        s.scheduler = "mh".into();
        c.add_service(&s).unwrap();
        for last in [11, 12] {
            c.add_dest(&key(i), &DestSpec { fwd: FwdMethod::Masq, ..DestSpec::new(rs(last), 80) }).unwrap();
        }
    }
    c
}

/// Generous: adopting prebuilt state takes microseconds; the old worker-side rebuild of
/// 50 Maglev tables per queued change took seconds here (debug build).
const PAUSE_BOUND: Duration = Duration::from_millis(100);

#[test]
fn defect_03_queued_changes_do_not_stall_the_worker() {
    let (tx, rx) = crossbeam::channel::unbounded();
    let live = Live::new(mh_services(50), vec![tx]);
    let mut w = Worker::new(live.snapshot(), rx, 1024, 4096);
    // A script of 20 rvsadm edits, queued before the worker's next tick.
    for i in 0..20u16 {
        let d = DestSpec { fwd: FwdMethod::Masq, weight: 2, ..DestSpec::new(rs(11), 80) };
        live.update(|c| c.edit_dest(&key(i), &d)).unwrap();
    }
    let pause = w.tick(10);
    assert!(Arc::ptr_eq(w.dir.lb.snapshot(), &live.snapshot()), "the newest snapshot is adopted");
    assert!(pause < PAUSE_BOUND, "worker paused {pause:?} to adopt 20 queued changes of 50 mh services");
    assert_eq!(w.dir.lb.scheds().local_builds(), 0, "every changed scheduler came prebuilt");
}

/// A worker ticking in its own thread; returns its longest pause when `stop` is set.
fn spawn_worker(mut w: Worker, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Duration> {
    std::thread::spawn(move || {
        let mut longest = Duration::ZERO;
        let mut now = 0;
        while !stop.load(Ordering::Relaxed) {
            now += 1;
            longest = longest.max(w.tick(now));
            std::thread::sleep(Duration::from_micros(200));
        }
        longest
    })
}

#[test]
fn defect_04_listing_a_full_table_is_served_in_bounded_chunks() {
    const N: u32 = 1 << 20;
    let (tx, rx) = crossbeam::channel::unbounded();
    let live = Live::new(mh_services(1), vec![tx]);
    let mut w = Worker::new(live.snapshot(), rx, N, 4096);
    let dest = live.snapshot().services()[0].dests[0];
    for i in 0..N {
        let client = (Addr::from(Ipv4Addr::from(0x0b00_0000 + i)), 40000);
        let c = NewConn::to_dest(Protocol::Tcp, client, (Addr::from(Ipv4Addr::new(10, 0, 2, 100)), 1000), &dest);
        w.dir.lb.conns_mut().insert(&c, 0).unwrap();
    }
    assert_eq!(w.dir.lb.conns().len(), N as usize, "the table is full");
    let stop = Arc::new(AtomicBool::new(false));
    let worker = spawn_worker(w, stop.clone());
    let listed = live.connections();
    stop.store(true, Ordering::Relaxed);
    let longest = worker.join().unwrap();
    assert_eq!(listed.len(), N as usize, "every connection listed");
    let mut ids: Vec<u32> = listed.iter().map(|c| c.id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), N as usize, "each once");
    assert!(longest < PAUSE_BOUND, "worker paused {longest:?} while listing {N} connections");
}
