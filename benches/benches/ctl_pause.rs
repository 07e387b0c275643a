//! What the control plane costs a worker: the pause in packet polling to adopt a
//! configuration change with 50 `mh` services, and to serve `rvsadm -L -c` on a full
//! 1M connection table. Each is measured the old way (worker-side `update()` of every
//! scheduler per queued snapshot; one-go `iter().collect()` of the table) next to the
//! new way (adopting prebuilt state; the largest per-tick listing chunk), same run.
//!
//! Run: `cargo bench -p rvs-benches --bench ctl_pause`

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rvs_core::addr::{Addr, Protocol};
use rvs_core::conn::{ConnConfig, ConnInfo, ConnTable, NewConn};
use rvs_core::forward::LIST_SLOTS_PER_TICK;
use rvs_core::sched::{self, Prebuilt, SchedSet};
use rvs_core::service::{Config, DestSpec, FwdMethod, ServiceKey, ServiceSpec, Snapshot};

const SERVICES: u16 = 50;
/// rvsadm commands in the script the issue measured.
const SCRIPT: f64 = 400.0;

fn key(i: u16) -> ServiceKey {
    ServiceKey::Proto { proto: Protocol::Tcp, addr: Addr::from(Ipv4Addr::new(10, 0, 2, 100)), port: 1000 + i }
}

fn config(weight: u32) -> Config {
    let mut c = Config::new(4096);
    for i in 0..SERVICES {
        let mut s = ServiceSpec::new(key(i));
        s.scheduler = "mh".into();
        c.add_service(&s).unwrap();
        for last in 11..15u8 {
            let d = DestSpec {
                weight,
                fwd: FwdMethod::Masq,
                ..DestSpec::new(Addr::from(Ipv4Addr::new(10, 0, 3, last)), 80)
            };
            c.add_dest(&key(i), &d).unwrap();
        }
    }
    c
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Worker pause per adopted snapshot in which every one of the 50 services changed.
fn adoption() -> (f64, f64, f64) {
    let (a, b) = (config(1).snapshot(), config(2).snapshot());
    let snaps: [&Snapshot; 2] = [&a, &b];
    // Old: the worker called update() on every service's scheduler for each snapshot.
    let mut old: Vec<Box<dyn sched::Scheduler>> =
        a.services().iter().map(|s| sched::build(s.scheduler, s.flags, &s.dests).unwrap()).collect();
    let mut old_worst = Duration::ZERO;
    for r in 0..6 {
        let s = snaps[r % 2];
        let t0 = Instant::now();
        for (x, svc) in old.iter_mut().zip(s.services()) {
            x.update(black_box(&svc.dests));
        }
        old_worst = old_worst.max(t0.elapsed());
    }
    // New: the control thread builds (timed apart); the worker adopts.
    let mut set = SchedSet::new(&a);
    let (mut new_worst, mut control) = (Duration::ZERO, Duration::ZERO);
    for r in 0..6 {
        let (prev, next) = (snaps[r % 2], snaps[(r + 1) % 2]);
        let t0 = Instant::now();
        let pre: Vec<Prebuilt> = sched::changed(prev, next).map(Prebuilt::build).collect();
        control = control.max(t0.elapsed());
        let t0 = Instant::now();
        set.adopt(next, pre);
        new_worst = new_worst.max(t0.elapsed());
    }
    assert_eq!(set.local_builds(), 0, "every instance came prebuilt");
    (ms(old_worst), ms(new_worst), ms(control))
}

/// A full table of `n` connections.
fn full_table(n: u32) -> ConnTable {
    let mut t = ConnTable::new(ConnConfig { capacity: n, ..ConnConfig::default() }, 0);
    let dest = config(1).snapshot().services()[0].dests[0];
    for i in 0..n {
        let client = (Addr::from(Ipv4Addr::from(0x0b00_0000 + i)), 40000);
        let c = NewConn::to_dest(Protocol::Tcp, client, (Addr::from(Ipv4Addr::new(10, 0, 2, 100)), 80), &dest);
        t.insert(&c, 0).unwrap();
    }
    t
}

/// (one-go collect ms, MiB it allocated, largest chunk ms, chunks, whole chunked listing ms).
fn listing(t: &ConnTable) -> (f64, f64, f64, usize, f64) {
    let t0 = Instant::now();
    let all: Vec<ConnInfo> = t.iter(1).collect();
    let old = ms(t0.elapsed());
    let mib = (all.capacity() * std::mem::size_of::<ConnInfo>()) as f64 / (1 << 20) as f64;
    assert_eq!(all.len(), t.len());
    drop(all);
    let (mut worst, mut chunks, mut listed, mut next) = (Duration::ZERO, 0, 0, Some(0));
    let start = Instant::now();
    while let Some(from) = next {
        let t0 = Instant::now();
        let mut chunk = Vec::new();
        next = t.list_chunk(from, LIST_SLOTS_PER_TICK, 1, &mut chunk);
        listed += black_box(chunk).len();
        worst = worst.max(t0.elapsed());
        chunks += 1;
    }
    assert_eq!(listed, t.len(), "the chunks list every connection");
    (old, mib, ms(worst), chunks, ms(start.elapsed()))
}

fn main() {
    let (old_adopt, new_adopt, control) = adoption();
    println!("snapshot adoption, {SERVICES} mh services all changed (worker pause per snapshot):");
    println!(
        "  before (update() on the worker): {old_adopt:.3} ms; after (adopt prebuilt): {new_adopt:.4} ms; ratio {:.0}x",
        old_adopt / new_adopt
    );
    println!(
        "  a {SCRIPT}-command rvsadm script: before {:.1} s of stalls; after one adoption, {new_adopt:.4} ms (control thread builds: {control:.2} ms per change)",
        old_adopt * SCRIPT / 1e3
    );
    let n = 1 << 20;
    let t = full_table(n);
    let (old_list, mib, chunk, chunks, whole) = listing(&t);
    println!("rvsadm -L -c on a full {n}-connection table:");
    println!(
        "  before (one-go iter().collect()): {old_list:.1} ms, {mib:.0} MiB; after: largest per-tick chunk ({LIST_SLOTS_PER_TICK} slots) {chunk:.3} ms, {chunks} chunks ({whole:.0} ms of work, one chunk per 10 ms tick); ratio {:.0}x",
        old_list / chunk
    );
    let (old_pause, new_pause) = (old_adopt.max(old_list), new_adopt.max(chunk));
    println!(
        "worker's longest pause: before {old_pause:.1} ms, after {new_pause:.3} ms; ratio {:.0}x",
        old_pause / new_pause
    );
    let n = |v: f64| rvs_benches::num(v);
    rvs_benches::write_fragment(
        "ctl_pause",
        &rvs_benches::object(&[
            ("mh_services", n(f64::from(SERVICES))),
            ("adopt_before_ms", n(old_adopt)),
            ("adopt_after_ms", n(new_adopt)),
            ("adopt_control_build_ms", n(control)),
            ("list_entries", n(f64::from(t.len() as u32))),
            ("list_before_ms", n(old_list)),
            ("list_before_mib", n(mib)),
            ("list_chunk_after_ms", n(chunk)),
            ("list_chunks", n(chunks as f64)),
            ("pause_before_ms", n(old_pause)),
            ("pause_after_ms", n(new_pause)),
        ]),
    );
}
