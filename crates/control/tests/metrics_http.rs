//! The /metrics HTTP server under hostile clients: bounded request size, a deadline per
//! connection, and no client able to hold up another's scrape.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use control::metrics::{serve, serve_with, BuildInfo, Limits, Metrics};
use rvs_core::stats::CoreStats;

fn server() -> SocketAddr {
    let core = Arc::new(CoreStats::new(1, 1));
    core.port(0).rx_packets.add(5);
    let build = BuildInfo { version: "0", commit: "x", dpdk: "y" };
    let m = Metrics::new(vec![core], vec!["wan".into()], &build, None, None);
    serve("127.0.0.1:0".parse().unwrap(), Arc::new(m)).unwrap().0
}

/// A whole scrape: the response and how long it took.
fn scrape(addr: SocketAddr) -> (String, Duration) {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    (out, t0.elapsed())
}

#[test]
fn defect_06_metrics_caps_request_size() {
    let addr = server();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut w = s.try_clone().unwrap();
    // 64 MiB without a newline. A server that buffers it all reads every byte; one that
    // stops at its cap answers 431 and closes, and the sender hits a reset well short.
    let total = 64usize << 20;
    let sender = std::thread::spawn(move || {
        let chunk = vec![b'A'; 64 << 10];
        let mut sent = 0usize;
        while sent < total {
            match w.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        sent
    });
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let sent = sender.join().unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 431 "), "an oversized request gets 431, got {text:?}");
    assert!(sent < total / 2, "the server stopped reading at its cap, yet {sent} bytes were accepted");
    assert!(scrape(addr).0.starts_with("HTTP/1.1 200 OK\r\n"), "and keeps serving");
}

#[test]
fn defect_06_slow_client_does_not_block_scrapes() {
    let addr = server();
    // One client that has sent half a request line and then goes quiet, and one that
    // trickles a byte now and then: neither may delay another client's scrape.
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /metr").unwrap();
    let mut trickler = TcpStream::connect(addr).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let st = stop.clone();
    let t = std::thread::spawn(move || {
        while !st.load(std::sync::atomic::Ordering::Relaxed) {
            if trickler.write_all(b"G").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    let (out, took) = scrape(addr);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    t.join().unwrap();
    assert!(out.contains("rvs_port_rx_packets_total{lcore=\"1\",port=\"wan\"} 5"), "{out:?}");
    assert!(took < Duration::from_secs(2), "a scrape behind slow clients took {took:?}");
    drop(idle);
}

/// A server with `limits`, for the bounds that take too long to reach at their defaults.
fn server_with(limits: Limits) -> SocketAddr {
    let build = BuildInfo { version: "0", commit: "x", dpdk: "y" };
    let m = Metrics::new(vec![Arc::new(CoreStats::new(1, 1))], vec!["wan".into()], &build, None, None);
    serve_with("127.0.0.1:0".parse().unwrap(), Arc::new(m), limits).unwrap().0
}

#[test]
fn defect_06_connection_deadline_cuts_off_tricklers() {
    // A byte every 50 ms never trips a per-read timeout; the connection's deadline ends it.
    let addr = server_with(Limits { deadline: Duration::from_millis(500), ..Limits::default() });
    let mut s = TcpStream::connect(addr).unwrap();
    let t0 = Instant::now();
    let mut cut = None;
    while t0.elapsed() < Duration::from_secs(10) {
        if s.write_all(b"G").is_err() {
            cut = Some(t0.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let cut = cut.expect("a trickling client was never cut off");
    assert!(cut < Duration::from_secs(5), "cut off after {cut:?}, deadline 500 ms");
}

#[test]
fn defect_06_connections_beyond_the_cap_are_refused_not_queued() {
    let addr = server_with(Limits { max_conns: 2, ..Limits::default() });
    let holders: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(100));
    let (out, took) = scrape(addr);
    assert!(out.starts_with("HTTP/1.1 503 "), "{out:?}");
    assert!(took < Duration::from_secs(2), "refused at once, not after {took:?}");
    drop(holders);
    // Their slots come back once they close.
    let t0 = Instant::now();
    while !scrape(addr).0.starts_with("HTTP/1.1 200 ") {
        assert!(t0.elapsed() < Duration::from_secs(5), "slots never released");
        std::thread::sleep(Duration::from_millis(20));
    }
}
