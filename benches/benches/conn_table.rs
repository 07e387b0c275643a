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

use rvs_benches::{num, object, rss_bytes, string, write_fragment};

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

    // 10M connections: a core's table indexes at most MAX_ENTRIES (2^23 - 1), so 10M is
    // two cores' tables of 5M each, as a two-worker director would hold them.
    let big = if n_env.is_some() { 0 } else { 10_000_000usize };
    let (mut big_rss, mut big_alloc, mut big_ins) = (f64::NAN, f64::NAN, f64::NAN);
    if big > 0 {
        let per = big / 2;
        let rss0 = rss_bytes();
        let mut tables = Vec::new();
        let mut ins_s = 0.0;
        let mut heap = 0usize;
        for k in 0..2 {
            let mut t = ConnTable::new(ConnConfig { capacity: per as u32, max_dests: 64, ..ConnConfig::default() }, 0);
            let t0 = Instant::now();
            let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ k;
            let mut ok = 0;
            for i in 0..per {
                let r = rng(&mut x);
                let c = NewConn {
                    caddr: Addr::v4([
                        (k as u8) * 64 + 1 + (i >> 24) as u8 % 60,
                        (i >> 16) as u8,
                        (i >> 8) as u8,
                        i as u8,
                    ]),
                    cport: 1024 + (r % 60_000) as u16,
                    ..cs[i % cs.len()]
                };
                ok += t.insert(&c, 0).is_ok() as usize;
            }
            ins_s += t0.elapsed().as_secs_f64();
            assert_eq!(ok, per, "all 10M inserts succeed");
            heap += t.heap_bytes();
            tables.push(t);
        }
        big_rss = rss_bytes().saturating_sub(rss0) as f64 / big as f64;
        big_alloc = heap as f64 / big as f64;
        big_ins = mrate(big, ins_s);
        println!("  10M (2 tables x 5M): bytes/conn (RSS delta) {big_rss:.1} B, (allocation) {big_alloc:.1} B, insert {big_ins:.2} M/s");
        println!(
            "  target <= {TARGET_BYTES} B/conn: 1M {rss_per:.1} B {}, 10M {big_rss:.1} B {}",
            rvs_benches::distance(rss_per, TARGET_BYTES, false),
            rvs_benches::distance(big_rss, TARGET_BYTES, false)
        );
        drop(tables);
    }
    write_fragment(
        "conn_table",
        &object(&[
            ("entries", N.to_string()),
            ("entry_bytes", ENTRY_BYTES.to_string()),
            ("bytes_per_connection_1m_rss", num(rss_per)),
            ("bytes_per_connection_1m_alloc", num(table_bytes)),
            ("bytes_per_connection_10m_rss", num(big_rss)),
            ("bytes_per_connection_10m_alloc", num(big_alloc)),
            ("baseline_hashmap_bytes_per_connection", num(b_rss)),
            ("insert_mps", num(ins)),
            ("insert_10m_mps", num(big_ins)),
            ("baseline_hashmap_insert_mps", num(b_ins)),
            ("lookup_mps", num(look)),
            ("lookup_burst_mps", num(burst)),
            ("baseline_hashmap_lookup_mps", num(b_look)),
            ("lookup_out_mps", num(mrate(N, out_s))),
            ("lookup_on_packet_mps", num(mrate(N, pkt_s))),
            ("note", string("10M = two per-core tables of 5M (a core indexes at most 2^23-1 entries); RSS delta after inserting")),
        ]),
    );
}
