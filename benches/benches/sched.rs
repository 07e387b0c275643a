//! Scheduler cost per pick for every scheduler at 10 and 1,000 real servers, with rr as
//! the baseline measured in the same run.
//!
//! Run: `cargo bench -p rvs-benches --bench sched`

use std::hint::black_box;
use std::time::Instant;

use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::sched::{self, DestView, NAMES};
use rvs_core::service::{Dest, DestId, DestLoad, FwdMethod, SchedFlags};

fn dests(n: usize) -> (Vec<Dest>, DestLoad) {
    let mut load = DestLoad::new(n as u32, 1);
    let mut x = 7u64;
    let d = (0..n)
        .map(|i| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let id = DestId(i as u32);
            load.set_counts(id, (x >> 40) as u32 % 100, (x >> 20) as u32 % 1000);
            Dest {
                id,
                addr: Addr::v4([10, 1, (i >> 8) as u8, i as u8]),
                port: 80,
                weight: 1 + (x >> 33) as u32 % 10,
                u_threshold: 0,
                l_threshold: 0,
                fwd: FwdMethod::Route,
            }
        })
        .collect();
    (d, load)
}

fn flows(k: usize) -> Vec<Tuple> {
    (0..k as u32)
        .map(|i| {
            let b = i.wrapping_mul(2654435761).to_be_bytes();
            Tuple::new(
                Protocol::Tcp,
                Addr::v4([b[0] | 1, b[1], b[2], b[3]]),
                1024 + (i % 60000) as u16,
                Addr::v4([172, 16, b[2], b[3]]),
                80,
            )
        })
        .collect()
}

fn main() {
    let fl = flows(4096);
    println!("sched bench: ns per pick (weights 1..10, random active/inactive counts)");
    println!("{:<6} {:>10} {:>8} {:>12} {:>8}", "sched", "n=10", "x rr", "n=1000", "x rr");
    let mut rows = vec![];
    for n in [10usize, 1000] {
        let (d, load) = dests(n);
        let view = DestView::new(&d, &load);
        let picks = if n == 10 { 2_000_000 } else { 200_000 };
        let mut col = vec![];
        for name in NAMES {
            let mut s = sched::build(name, SchedFlags(0), &d).unwrap();
            for t in fl.iter().take(1000) {
                black_box(s.pick(&view, t, 0));
            }
            let t0 = Instant::now();
            let mut got = 0usize;
            for i in 0..picks {
                let t = &fl[i & 4095];
                got += black_box(s.pick(&view, black_box(t), i as u64)).is_some() as usize;
            }
            let ns = t0.elapsed().as_secs_f64() * 1e9 / picks as f64;
            assert!(got > 0, "{name} picked nothing");
            col.push(ns);
        }
        rows.push(col);
    }
    let rr = |c: &Vec<f64>| c[0];
    for (i, name) in NAMES.iter().enumerate() {
        println!(
            "{:<6} {:>8.1}ns {:>8.2} {:>10.1}ns {:>8.2}",
            name,
            rows[0][i],
            rows[0][i] / rr(&rows[0]),
            rows[1][i],
            rows[1][i] / rr(&rows[1])
        );
    }
    let items: Vec<String> = NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            rvs_benches::object(&[
                ("scheduler", rvs_benches::string(name)),
                ("ns_per_pick_10", rvs_benches::num(rows[0][i])),
                ("ratio_to_rr_10", rvs_benches::num(rows[0][i] / rr(&rows[0]))),
                ("ns_per_pick_1000", rvs_benches::num(rows[1][i])),
                ("ratio_to_rr_1000", rvs_benches::num(rows[1][i] / rr(&rows[1]))),
            ])
        })
        .collect();
    rvs_benches::write_fragment("sched", &rvs_benches::array(&items));
    // Table rebuild cost (update) for the table-based schedulers at 1,000 servers.
    let (d, _) = dests(1000);
    for name in ["sh", "dh", "mh", "wrr"] {
        let mut s = sched::build(name, SchedFlags(0), &d).unwrap();
        let t0 = Instant::now();
        for _ in 0..10 {
            s.update(black_box(&d));
        }
        println!("update {name:<4} at n=1000: {:.3} ms", t0.elapsed().as_secs_f64() * 1e2);
    }
}
