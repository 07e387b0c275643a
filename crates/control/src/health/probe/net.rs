//! Connecting and talking under a deadline, in slices short enough that a stop is
//! seen promptly (keepalived's layer4.c socket_bind_connect and connect_timeout).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use socket2::{Domain, Protocol, Socket, Type};

use crate::health::Stop;

/// The longest a blocking call waits before looking at the stop flag.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

/// Where and how a checker connects.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub dst: SocketAddr,
    /// `bindto` (with `bind_port`): keepalived binds only when bindto is set.
    pub bind: Option<SocketAddr>,
    /// `connect_timeout`: bounds the connect and the whole exchange.
    pub timeout: Duration,
}

/// Why no connection came up.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The attempt could not be made (socket, bind): no verdict.
    Skip(String),
    /// Refused, unreachable, timed out: the check failed.
    Fail(String),
    Stopped,
}

/// Short, lower-case words for the log ("connection refused").
pub(crate) fn describe(e: &io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::ConnectionReset => "connection reset".into(),
        ErrorKind::TimedOut | ErrorKind::WouldBlock => "timeout".into(),
        ErrorKind::HostUnreachable => "host unreachable".into(),
        ErrorKind::NetworkUnreachable => "network unreachable".into(),
        ErrorKind::UnexpectedEof => "connection closed early".into(),
        _ => e.to_string(),
    }
}

pub(crate) fn connect(c: &Conn, deadline: Instant, stop: &Stop) -> Result<TcpStream, ConnectError> {
    let sock = Socket::new(Domain::for_address(c.dst), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| ConnectError::Skip(format!("socket: {e}")))?;
    if let Some(b) = c.bind {
        sock.bind(&b.into()).map_err(|e| ConnectError::Skip(format!("bind to {b}: {e}")))?;
    }
    sock.set_nonblocking(true).map_err(|e| ConnectError::Skip(format!("socket: {e}")))?;
    match sock.connect(&c.dst.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => loop {
            if stop.is_set() {
                return Err(ConnectError::Stopped);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ConnectError::Fail("timeout".into()));
            }
            let wait = left.min(SLICE);
            let ts = Timespec { tv_sec: 0, tv_nsec: i64::from(wait.subsec_nanos()).max(1) };
            let mut fds = [PollFd::new(&sock, PollFlags::OUT)];
            match poll(&mut fds, Some(&ts)) {
                Ok(0) | Err(rustix::io::Errno::INTR) => continue,
                Ok(_) => break,
                Err(e) => return Err(ConnectError::Fail(describe(&e.into()))),
            }
        },
        Err(e) => return Err(ConnectError::Fail(describe(&e))),
    }
    match sock.take_error() {
        Ok(None) => {}
        Ok(Some(e)) | Err(e) => return Err(ConnectError::Fail(describe(&e))),
    }
    sock.set_nonblocking(false).map_err(|e| ConnectError::Fail(describe(&e)))?;
    Ok(sock.into())
}

/// A connected stream whose reads and writes give up at the deadline or on stop.
pub(crate) struct Io<'a> {
    pub s: TcpStream,
    pub deadline: Instant,
    pub stop: &'a Stop,
}

impl Io<'_> {
    /// The next slice to wait, or the error that ends the exchange.
    fn slice(&self) -> io::Result<Duration> {
        if self.stop.is_set() {
            return Err(io::Error::other("stopped"));
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(ErrorKind::TimedOut, "timeout"));
        }
        Ok(left.min(SLICE))
    }
}

fn again(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}

impl Read for Io<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            self.s.set_read_timeout(Some(self.slice()?))?;
            match self.s.read(buf) {
                Err(e) if again(&e) => continue,
                r => return r,
            }
        }
    }
}

impl Write for Io<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            self.s.set_write_timeout(Some(self.slice()?))?;
            match self.s.write(buf) {
                Err(e) if again(&e) => continue,
                r => return r,
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.s.flush()
    }
}
