//! Shared fixtures for the health-check tests: configurations from text, temporary
//! directories, waiting for the engine, small loopback servers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use control::health::{Health, LogFn, OnChange};
use control::keepalived::{self, KeepalivedConf};
use rvs_core::addr::fmt_addr_port;
use rvs_core::service::{DestSpec, ServiceDef};

/// A fresh directory under the system's temporary one, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("health-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// An executable shell script.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.path(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads `text` as keepalived.conf; it must read without warnings.
pub fn conf_in(dir: &TempDir, text: &str) -> KeepalivedConf {
    let p = dir.path("keepalived.conf");
    std::fs::write(&p, text).expect("write conf");
    let c = keepalived::load(&p).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    c
}

pub fn conf(text: &str) -> KeepalivedConf {
    conf_in(&TempDir::new("conf"), text)
}

/// The real servers of service `i` as "addr:port=weight".
pub fn servers(list: &[ServiceDef], i: usize) -> Vec<String> {
    list[i].dests.iter().map(|d: &DestSpec| format!("{}={}", fmt_addr_port(d.addr, d.port), d.weight)).collect()
}

/// Polls `f` until it holds or `limit` passes; the time it took.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f().then(|| start.elapsed())
}

/// A running engine that records every list handed to on_change and every log line.
pub struct Running {
    pub health: Option<Health>,
    pub changes: Arc<Mutex<Vec<Vec<ServiceDef>>>>,
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Running {
    pub fn start(c: &KeepalivedConf) -> Running {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (ch, lg) = (changes.clone(), logs.clone());
        let on_change: OnChange = Arc::new(move |l| ch.lock().unwrap().push(l));
        let log: LogFn = Arc::new(move |l: &str| {
            println!("{l}");
            lg.lock().unwrap().push(l.to_string())
        });
        Running { health: Some(Health::start_with_log(c, on_change, log)), changes, logs }
    }
    pub fn h(&self) -> &Health {
        self.health.as_ref().expect("running")
    }
    pub fn servers(&self, i: usize) -> Vec<String> {
        servers(&self.h().effective(), i)
    }
    /// Waits until service `i` lists exactly `want`.
    pub fn wait_servers(&self, i: usize, want: &[&str], limit: Duration) -> Duration {
        wait_for(limit, || self.servers(i) == want)
            .unwrap_or_else(|| panic!("service {i}: {:?}, want {want:?}; log:\n{}", self.servers(i), self.log()))
    }
    pub fn log(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
    pub fn stop(&mut self) {
        if let Some(h) = self.health.take() {
            h.stop();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP listener on 127.0.0.1 that accepts (and drops) connections until closed;
/// `reopen` listens on the same port again.
pub struct Listener {
    pub addr: SocketAddr,
    stop: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Peer addresses of accepted connections.
    pub peers: Arc<Mutex<Vec<SocketAddr>>>,
}

impl Listener {
    pub fn new() -> Listener {
        Listener::on("127.0.0.1:0".parse().unwrap())
    }
    pub fn on(addr: SocketAddr) -> Listener {
        let l = TcpListener::bind(addr).expect("bind listener");
        let addr = l.local_addr().expect("local addr");
        let mut me = Listener { addr, stop: None, peers: Arc::new(Mutex::new(Vec::new())) };
        me.serve(l);
        me
    }
    fn serve(&mut self, l: TcpListener) {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        l.set_nonblocking(true).expect("nonblocking");
        let (s, peers) = (stop.clone(), self.peers.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Acquire) {
                match l.accept() {
                    Ok((_c, peer)) => peers.lock().unwrap().push(peer),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        self.stop = Some(stop);
    }
    /// Stops listening: connections are refused from now on.
    pub fn close(&mut self) {
        if let Some(s) = self.stop.take() {
            s.store(true, Ordering::Release);
            // The accept thread drops the listener within a poll interval.
            let a = self.addr;
            wait_for(Duration::from_secs(5), || TcpStream::connect(a).is_err()).expect("listener closed");
        }
    }
    pub fn reopen(&mut self) {
        self.close();
        let l = TcpListener::bind(self.addr).expect("rebind listener");
        self.serve(l);
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            s.store(true, Ordering::Release);
        }
    }
}

/// One HTTP exchange an [`HttpServer`] saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The request head as received.
    pub head: String,
    /// TLS server name indication, when over TLS.
    pub sni: Option<String>,
}

pub type Responder = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

/// A plain HTTP/1.0 server answering by request path, recording what it received.
pub struct HttpServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// Reads a request head from `s`.
pub fn read_head(s: &mut impl Read) -> String {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.len() < 8192 {
        match s.read(&mut b) {
            Ok(1) => buf.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

pub fn path_of(head: &str) -> String {
    head.split_whitespace().nth(1).unwrap_or("").to_string()
}

/// A response with a body and Content-Length.
pub fn response(status: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!("HTTP/1.0 {status}\r\nContent-Length: {}\r\nServer: test\r\n\r\n", body.len()).into_bytes();
    r.extend_from_slice(body);
    r
}

impl HttpServer {
    pub fn new(respond: Responder) -> HttpServer {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind http");
        let addr = l.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        std::thread::spawn(move || {
            for mut c in l.incoming().flatten() {
                let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                let head = read_head(&mut c);
                let out = respond(&path_of(&head));
                s2.lock().unwrap().push(Seen { head, sni: None });
                let _ = c.write_all(&out);
            }
        });
        HttpServer { addr, seen }
    }
    pub fn heads(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|s| s.head.clone()).collect()
    }
}

/// The body's digest as coreutils' md5sum prints it (what keepalived's genhash gives).
pub fn md5_hex(b: &[u8]) -> String {
    use std::process::{Command, Stdio};
    let mut c = Command::new("md5sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("md5sum");
    c.stdin.take().expect("stdin").write_all(b).expect("write");
    let out = c.wait_with_output().expect("md5sum output");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().expect("digest").to_string()
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
