//! The /metrics endpoint under hostile clients: scrape latency while slow clients (some
//! silent after half a request line, some trickling a byte at a time) and oversized
//! requests are connected, against the scrape latency with none, in the same run. Also
//! how much the process grew while oversized requests were pushed at it.
//!
//! Run: `cargo bench -p rvs-benches --bench metrics_http`

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use control::metrics::{serve, BuildInfo, Limits, Metrics};
use rvs_benches::{num, object, rss_bytes, write_fragment};
use rvs_core::stats::CoreStats;

const SCRAPES: usize = 200;
const SILENT: usize = 16;
const TRICKLERS: usize = 16;

/// One scrape's wall time in ms.
fn scrape(addr: SocketAddr) -> f64 {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n").expect("request");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(
        out.starts_with(b"HTTP/1.1 200 "),
        "scrape failed: {:?}",
        String::from_utf8_lossy(&out[..out.len().min(80)])
    );
    t0.elapsed().as_secs_f64() * 1e3
}

/// (median, p99) of `n` scrapes, in ms.
fn latencies(addr: SocketAddr, n: usize) -> (f64, f64) {
    let mut v: Vec<f64> = (0..n).map(|_| scrape(addr)).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    (v[n / 2], v[(n * 99 / 100).min(n - 1)])
}

fn main() {
    let cores: Vec<Arc<CoreStats>> = (1..=4).map(|l| Arc::new(CoreStats::with_dests(l, 2, 64))).collect();
    for c in &cores {
        c.port(0).rx_packets.add(12345);
    }
    let build = BuildInfo { version: "bench", commit: "x", dpdk: "y" };
    let m = Metrics::new(cores, vec!["wan".into(), "lan".into()], &build, None, None);
    let (addr, _) = serve("127.0.0.1:0".parse().expect("addr"), Arc::new(m)).expect("serve");
    let limits = Limits::default();
    println!(
        "metrics_http bench: {SCRAPES} scrapes each; limits: {} B request head, {:?} per connection, {} connections",
        limits.max_request, limits.deadline, limits.max_conns
    );
    latencies(addr, 20); // warm up
    let (base_p50, base_p99) = latencies(addr, SCRAPES);

    let stop = Arc::new(AtomicBool::new(false));
    let pushed = Arc::new(AtomicU64::new(0));
    let mut threads = vec![];
    let mut silent = vec![];
    for _ in 0..SILENT {
        let mut s = TcpStream::connect(addr).expect("connect");
        let _ = s.write_all(b"GET /metr");
        silent.push(s);
    }
    for _ in 0..TRICKLERS {
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).expect("connect");
            while !stop.load(Ordering::Relaxed) && s.write_all(b"G").is_ok() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }));
    }
    // One client pushing a request line with no end, reconnecting whenever cut off.
    let rss_before = rss_bytes();
    {
        let (stop, pushed) = (stop.clone(), pushed.clone());
        threads.push(std::thread::spawn(move || {
            let chunk = vec![b'A'; 64 << 10];
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = TcpStream::connect(addr) else { continue };
                while !stop.load(Ordering::Relaxed) {
                    match s.write(&chunk) {
                        Ok(n) => pushed.fetch_add(n as u64, Ordering::Relaxed),
                        Err(_) => break,
                    };
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(200));
    let (load_p50, load_p99) = latencies(addr, SCRAPES);
    let grew = rss_bytes().saturating_sub(rss_before);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    drop(silent);
    let pushed = pushed.load(Ordering::Relaxed);

    let (r50, r99) = (load_p50 / base_p50, load_p99 / base_p99);
    println!("  scrape, no other clients          p50 {base_p50:.3} ms   p99 {base_p99:.3} ms");
    println!(
        "  scrape, {SILENT} silent + {TRICKLERS} trickling + 1 oversized   p50 {load_p50:.3} ms   p99 {load_p99:.3} ms   ratio p50 {r50:.2}  p99 {r99:.2}"
    );
    println!(
        "  oversized requests: {:.1} MiB pushed, process RSS +{:.1} MiB",
        pushed as f64 / 1048576.0,
        grew as f64 / 1048576.0
    );
    write_fragment(
        "metrics_http",
        &object(&[
            ("baseline_p50_ms", num(base_p50)),
            ("baseline_p99_ms", num(base_p99)),
            ("loaded_p50_ms", num(load_p50)),
            ("loaded_p99_ms", num(load_p99)),
            ("ratio_p50", num(r50)),
            ("ratio_p99", num(r99)),
            ("silent_clients", num(SILENT as f64)),
            ("trickling_clients", num(TRICKLERS as f64)),
            ("oversized_bytes_pushed", num(pushed as f64)),
            ("rss_growth_bytes", num(grew as f64)),
        ]),
    );
}
