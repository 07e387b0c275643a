//! Connection table: bytes per connection and lookup/insert rates at 1M entries, each next
//! to std's HashMap with the same keys, measured in the same run.
//!
//! Run: `cargo bench -p rvs-benches --bench conn_table`

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::conn::{ConnConfig, ConnTable, Dir, NewConn, TcpFlags, ENTRY_BYTES};
use rvs_core::service::{DestId, FwdMethod};

const LOOKUP_ROUNDS: usize = 5;
const TARGET_BYTES: f64 = 128.0;
const TARGET_LOOKUPS: f64 = 20e6;

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) * 4096
}

fn rng(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn conns(n: usize) -> Vec<NewConn> {
    let mut x = 0x1234_5678_9abc_def1u64;
    (0..n)
        .map(|i| {
            let r = rng(&mut x);
            let b = (r as u32).to_be_bytes();
            NewConn {
                proto: Protocol::Tcp,
                caddr: Addr::v4([b[0] | 1, b[1], b[2], b[3]]),
                cport: 1024 + (i % 60_000) as u16,
                vaddr: Addr::v4([10, 0, 0, 1]),
                vport: 80,
                daddr: Addr::v4([192, 168, 1, (r >> 40) as u8 % 16 + 10]),
                dport: 8080,
                laddr: Addr::UNSPECIFIED,
                lport: 0,
                dest: DestId((r >> 40) as u32 % 16),
                fwd: FwdMethod::Masq,
            }
        })
        .collect()
}

fn tuple(c: &NewConn) -> Tuple {
    Tuple::new(c.proto, c.caddr, c.cport, c.vaddr, c.vport)
}

fn mrate(n: usize, secs: f64) -> f64 {
    n as f64 / secs / 1e6
}

fn main() {
    // RVS_BENCH_CONNS overrides the table size (e.g. 65536 to see the in-cache rate).
    let n_env = std::env::var("RVS_BENCH_CONNS").ok().and_then(|v| v.parse().ok());
    #[allow(non_snake_case)]
    let N: usize = n_env.unwrap_or(1_000_000);
    let cs = conns(N);
    let mut order: Vec<usize> = (0..N).collect();
    let mut x = 99u64;
    for i in (1..N).rev() {
        order.swap(i, (rng(&mut x) % (i as u64 + 1)) as usize);
    }
    let probes: Vec<Tuple> = order.iter().map(|&i| tuple(&cs[i])).collect();
    let replies: Vec<Tuple> =
        order.iter().map(|&i| Tuple::new(Protocol::Tcp, cs[i].daddr, cs[i].dport, cs[i].caddr, cs[i].cport)).collect();

    // rvs table: NAT conns, so both keys are indexed (the worst case for memory).
    let rss0 = rss_bytes();
    let t0 = Instant::now();
    let mut t = ConnTable::new(ConnConfig { capacity: N as u32, max_dests: 64, ..ConnConfig::default() }, 0);
    let alloc_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let mut ok = 0;
    for c in &cs {
        ok += t.insert(c, 0).is_ok() as usize;
    }
    let ins_s = t0.elapsed().as_secs_f64();
    let rss_delta = rss_bytes().saturating_sub(rss0);
    assert_eq!(ok, N, "all inserts succeed (key collisions in the generator would show here)");

    // One untimed pass to settle page mappings and CPU frequency.
    for p in &probes {
        black_box(t.lookup_in(p));
    }
    let t0 = Instant::now();
    let mut hits = 0usize;
    for _ in 0..LOOKUP_ROUNDS {
        for p in &probes {
            hits += black_box(t.lookup_in(black_box(p))).is_some() as usize;
        }
    }
    let look_s = t0.elapsed().as_secs_f64();
    assert_eq!(hits, N * LOOKUP_ROUNDS);
    // Bursts of 32 as the worker loop sees them.
    let mut out = [None; 32];
    let t0 = Instant::now();
    let mut bhits = 0usize;
    for _ in 0..LOOKUP_ROUNDS {
        for burst in probes.chunks(32) {
            t.lookup_in_burst(black_box(burst), &mut out);
            bhits += out.iter().take(burst.len()).filter(|o| o.is_some()).count();
        }
    }
    let burst_s = t0.elapsed().as_secs_f64();
    assert_eq!(bhits, N * LOOKUP_ROUNDS);
    let t0 = Instant::now();
    let mut rhits = 0usize;
    for p in &replies {
        rhits += black_box(t.lookup_out(black_box(p))).is_some() as usize;
    }
    let out_s = t0.elapsed().as_secs_f64();
    assert_eq!(rhits, N);
    let t0 = Instant::now();
    for (k, p) in probes.iter().enumerate() {
        if let Some(id) = t.lookup_in(p) {
            black_box(t.on_packet(id, Dir::In, TcpFlags::ack(), 1000 + k as u64 / 1000));
        }
    }
    let pkt_s = t0.elapsed().as_secs_f64();
    // The worker's shape: a burst lookup, then each hit's packet.
    let t0 = Instant::now();
    for (b, burst) in probes.chunks(32).enumerate() {
        t.lookup_in_burst(burst, &mut out);
        for id in out.iter().take(burst.len()).flatten() {
            black_box(t.on_packet(*id, Dir::In, TcpFlags::ack(), 2000 + b as u64 / 30));
        }
    }
    let bpkt_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let expired = t.expire(10_000_000, usize::MAX, |_| {});
    let exp_s = t0.elapsed().as_secs_f64();
    assert_eq!(expired, N);

    let table_bytes = t.heap_bytes() as f64 / N as f64;
    let rss_per = rss_delta as f64 / N as f64;
    drop(t);

    // Baseline: std HashMap, the same keys, both directions as two maps of Tuple -> u32.
    let rss0 = rss_bytes();
    let t0 = Instant::now();
    let mut hin: HashMap<Tuple, u32> = HashMap::with_capacity(N);
    let mut hout: HashMap<Tuple, u32> = HashMap::with_capacity(N);
    for (i, c) in cs.iter().enumerate() {
        hin.insert(tuple(c), i as u32);
        hout.insert(Tuple::new(Protocol::Tcp, c.daddr, c.dport, c.caddr, c.cport), i as u32);
    }
    let b_ins_s = t0.elapsed().as_secs_f64();
    let b_rss = rss_bytes().saturating_sub(rss0) as f64 / N as f64;
    let t0 = Instant::now();
    let mut bh = 0usize;
    for _ in 0..LOOKUP_ROUNDS {
        for p in &probes {
            bh += black_box(hin.get(black_box(p))).is_some() as usize;
        }
    }
    let b_look_s = t0.elapsed().as_secs_f64();
    assert_eq!(bh, N * LOOKUP_ROUNDS);

    let look = mrate(N * LOOKUP_ROUNDS, look_s);
    let burst = mrate(N * LOOKUP_ROUNDS, burst_s);
    let b_look = mrate(N * LOOKUP_ROUNDS, b_look_s);
    let ins = mrate(N, ins_s);
    let b_ins = mrate(N, b_ins_s);
    println!("conn_table bench: {N} NAT connections (2 keys each), 1 core");
    println!("  entry size                 {ENTRY_BYTES} B (slab) + index slots");
    println!(
        "  bytes/conn (allocation)    {table_bytes:.1} B   target <= {TARGET_BYTES} B   distance {:+.1} B",
        table_bytes - TARGET_BYTES
    );
    println!(
        "  bytes/conn (RSS delta)     {rss_per:.1} B   baseline std HashMap x2 (keys + u32 only): {b_rss:.1} B   ratio {:.2}",
        rss_per / b_rss.max(1.0)
    );
    println!("  table allocation           {:.1} ms", alloc_s * 1e3);
    println!(
        "  insert                     {ins:.2} M/s   baseline HashMap x2 {b_ins:.2} M/s   ratio {:.2}",
        ins / b_ins
    );
    println!(
        "  lookup_in (random hits)    {look:.2} M/s   baseline HashMap {b_look:.2} M/s   ratio {:.2}   target >= {:.0} M/s   distance {:+.2} M/s",
        look / b_look,
        TARGET_LOOKUPS / 1e6,
        look - TARGET_LOOKUPS / 1e6
    );
    println!(
        "  lookup_in_burst (32/burst) {burst:.2} M/s   baseline HashMap {b_look:.2} M/s   ratio {:.2}   target >= {:.0} M/s   distance {:+.2} M/s",
        burst / b_look,
        TARGET_LOOKUPS / 1e6,
        burst - TARGET_LOOKUPS / 1e6
    );
    println!("  lookup_out (random hits)   {:.2} M/s", mrate(N, out_s));
    println!("  lookup_in + on_packet      {:.2} M/s", mrate(N, pkt_s));
    println!("  burst lookup + on_packet   {:.2} M/s", mrate(N, bpkt_s));
    println!("  expire 1M (one call)       {:.1} ms ({:.2} M/s)", exp_s * 1e3, mrate(N, exp_s));
}
