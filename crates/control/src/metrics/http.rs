//! The /metrics HTTP endpoint. Each connection gets its own short-lived thread, so a slow
//! or silent client holds only that thread; a cap on connections, on the request head and
//! on each connection's lifetime bounds what any client can hold.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Metrics;

/// What one client may take from the endpoint.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Request line plus headers, in bytes (nginx's large_client_header_buffers: 8k).
    pub max_request: usize,
    /// A connection's whole life: reading the request and writing the response.
    pub deadline: Duration,
    /// Connections served at once; more are answered 503 at once and closed.
    pub max_conns: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Prometheus's default scrape_timeout is 10 s.
        Limits { max_request: 8 << 10, deadline: Duration::from_secs(10), max_conns: 64 }
    }
}

/// Bytes of a refused request read and discarded before closing, so that the client
/// sees the error response rather than a reset (the lingering close of RFC 9112 9.6).
const LINGER_BYTES: usize = 256 << 10;
const LINGER: Duration = Duration::from_secs(1);

/// Serve `GET /metrics` on `addr` from a background thread, with [`Limits::default`].
pub fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    serve_with(addr, metrics, Limits::default())
}

/// [`serve`] with explicit limits.
pub fn serve_with(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    limits: Limits,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let active = Arc::new(AtomicUsize::new(0));
    let handle = std::thread::Builder::new().name("rvs-metrics".into()).spawn(move || {
        // The accept loop never reads or waits on a client.
        for stream in listener.incoming().flatten() {
            if active.load(Ordering::Acquire) >= limits.max_conns {
                refuse(stream);
                continue;
            }
            let slot = Slot::take(&active);
            let m = metrics.clone();
            // A failed spawn drops the closure, and with it the slot and the stream.
            let _ = std::thread::Builder::new().name("rvs-metrics-conn".into()).spawn(move || {
                let _slot = slot;
                let _ = handle(stream, &m, &limits);
            });
        }
    })?;
    Ok((local, handle))
}

/// One counted connection; released on drop.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>) -> Slot {
        active.fetch_add(1, Ordering::AcqRel);
        Slot(active.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Over the connection cap: a 503 into the fresh socket's empty buffer, never waiting.
fn refuse(stream: TcpStream) {
    let _ = stream.set_nonblocking(true);
    let _ = (&stream).write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

fn handle(mut stream: TcpStream, metrics: &Metrics, limits: &Limits) -> std::io::Result<()> {
    let deadline = Instant::now() + limits.deadline;
    let Some(head) = read_head(&mut stream, limits.max_request, deadline)? else {
        respond(&mut stream, "431 Request Header Fields Too Large", "request too large\n", deadline)?;
        linger(&mut stream, deadline);
        return Ok(());
    };
    let request = head.lines().next().unwrap_or("");
    let mut words = request.split_whitespace();
    let (method, path) = (words.next(), words.next().unwrap_or(""));
    match (method, path) {
        (Some("GET"), "/metrics") => {
            let body = metrics.render();
            respond(&mut stream, "200 OK", &body, deadline)
        }
        (Some("GET"), _) => respond(&mut stream, "404 Not Found", "try /metrics\n", deadline),
        _ => respond(&mut stream, "405 Method Not Allowed", "GET only\n", deadline),
    }
}

/// Time left before `deadline`, or a timeout error.
fn left(deadline: Instant) -> std::io::Result<Duration> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "connection deadline"));
    }
    Ok(d)
}

/// The request line and headers, up to the blank line (or the end of what the client
/// sends); `None` when they exceed `max` bytes. Only `max` plus one read are buffered.
fn read_head(stream: &mut TcpStream, max: usize, deadline: Instant) -> std::io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        stream.set_read_timeout(Some(left(deadline)?))?;
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_end(&head) {
            head.truncate(end);
            break;
        }
        if head.len() > max {
            return Ok(None);
        }
    }
    if head.len() > max {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&head).into_owned()))
}

/// Where the header block ends: after the first empty line (CRLF or bare LF).
fn find_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    crlf.into_iter().chain(lf).min()
}

fn respond(stream: &mut TcpStream, status: &str, body: &str, deadline: Instant) -> std::io::Result<()> {
    let ctype = if status.starts_with("200") { "text/plain; version=0.0.4; charset=utf-8" } else { "text/plain" };
    let out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut rest = out.as_bytes();
    while !rest.is_empty() {
        stream.set_write_timeout(Some(left(deadline)?))?;
        match stream.write(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Half-close and drain a little of what the client still sends, bounded in bytes and
/// time, so that closing does not reset the connection before it reads our answer.
fn linger(stream: &mut TcpStream, deadline: Instant) {
    let _ = stream.shutdown(Shutdown::Write);
    let until = deadline.min(Instant::now() + LINGER);
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < LINGER_BYTES {
        let Ok(t) = left(until) else { return };
        if stream.set_read_timeout(Some(t)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::find_end;

    #[test]
    fn head_ends_at_the_first_empty_line() {
        assert_eq!(find_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"), Some(27));
        assert_eq!(find_end(b"GET / HTTP/1.0\n\n"), Some(16));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }
}
