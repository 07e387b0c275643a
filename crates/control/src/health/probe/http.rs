//! HTTP_GET and SSL_GET (keepalived 2.2.7 `check/check_http.c`, `check_ssl.c`): one
//! url per attempt, its own connection, `GET` with keepalived's headers; the status
//! must be in the url's ranges and, with `digest`, the body's MD5 must match.

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use md5::{Digest, Md5};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use super::net::{connect, describe, Conn, ConnectError, Io};
use super::tls;
use crate::health::engine::{CheckResult, CheckerInfo, Outcome};
use crate::health::Stop;
use crate::keepalived::HttpCheck;

/// keepalived's MAX_BUFFER_LENGTH: a response head must fit in it.
const MAX_HEAD: usize = 4096;
const MAX_HEADERS: usize = 64;

#[derive(Debug)]
struct Url {
    request: Vec<u8>,
    /// Inclusive ranges.
    status: Vec<(u16, u16)>,
    digest: Option<String>,
    sni: ServerName<'static>,
}

#[derive(Debug)]
pub(crate) struct HttpProbe {
    conn: Conn,
    tls: Option<Arc<ClientConfig>>,
    urls: Vec<Url>,
}

/// `Host:` as check_http.c http_request_thread writes it: the virtual host, else the
/// connect address and port (`[v6]:port`).
fn host(vhost: Option<&str>, conn: &Conn) -> String {
    match (vhost, conn.dst.ip()) {
        (Some(v), _) => v.to_string(),
        (None, IpAddr::V6(a)) => format!("[{a}]:{}", conn.dst.port()),
        (None, IpAddr::V4(a)) => format!("{a}:{}", conn.dst.port()),
    }
}

/// The request check_http.c's request_template builds; `http_protocol` 1.1 and 1.0C
/// add `Connection: close`.
pub(crate) fn request(path: &str, protocol: Option<&str>, host: &str) -> Vec<u8> {
    let (minor, close) = match protocol {
        Some("1.1") => (1, true),
        Some("1.0C" | "1.0c") => (0, true),
        _ => (0, false),
    };
    let close = if close { "Connection: close\r\n" } else { "" };
    format!("GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {host}\r\n\r\n").into_bytes()
}

impl HttpProbe {
    pub(crate) fn new(info: &CheckerInfo, conn: Conn, h: &HttpCheck, ssl: bool) -> Result<HttpProbe, String> {
        let vs_host = info.service_virtualhost.as_deref();
        let urls = h
            .urls
            .iter()
            .map(|u| {
                // Host: url, checker, virtual server virtualhost (http_request_thread).
                let vhost = u.virtualhost.as_deref().or(h.virtualhost.as_deref()).or(vs_host);
                // SNI (check_ssl.c ssl_connect): the same names, none by address.
                let sni = vhost
                    .and_then(|v| ServerName::try_from(v.to_string()).ok())
                    .unwrap_or(ServerName::IpAddress(conn.dst.ip().into()));
                Url {
                    request: request(&u.path, h.http_protocol.as_deref(), &host(vhost, &conn)),
                    status: if u.status_code.is_empty() { vec![(200, 299)] } else { u.status_code.clone() },
                    digest: u.digest.as_ref().map(|d| d.to_ascii_lowercase()),
                    sni,
                }
            })
            .collect::<Vec<_>>();
        if urls.is_empty() {
            return Err("no url".into());
        }
        let tls = if ssl { Some(tls::client_config(h.enable_sni)?) } else { None };
        Ok(HttpProbe { conn, tls, urls })
    }

    pub(crate) fn run(&self, url: usize, stop: &Stop) -> Outcome {
        let start = Instant::now();
        let deadline = start + self.conn.timeout;
        let u = &self.urls[url.min(self.urls.len() - 1)];
        let result = match connect(&self.conn, deadline, stop) {
            Err(ConnectError::Skip(why)) => CheckResult::Skipped(why),
            Err(ConnectError::Fail(why)) => CheckResult::Failed(why),
            Err(ConnectError::Stopped) => CheckResult::Failed("stopped".into()),
            Ok(s) => {
                let io = Io { s, deadline, stop };
                let r = match &self.tls {
                    None => exchange(io, u),
                    Some(cfg) => match ClientConnection::new(cfg.clone(), u.sni.clone()) {
                        Ok(c) => exchange(StreamOwned::new(c, io), u),
                        Err(e) => Err(format!("TLS: {e}")),
                    },
                };
                match r {
                    Ok(()) => CheckResult::Ok,
                    Err(why) => CheckResult::Failed(why),
                }
            }
        };
        Outcome::new(result, start.elapsed())
    }
}

fn io_err(what: &str, e: &io::Error) -> String {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(t) => format!("{what}: TLS: {t}"),
        None => format!("{what}: {}", describe(e)),
    }
}

/// Reads until EOF; a TLS peer that closes without close_notify has still finished
/// (keepalived's ssl_read_thread stops at any end).
fn read_some<S: Read>(s: &mut S, buf: &mut [u8]) -> io::Result<usize> {
    match s.read(buf) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
        r => r,
    }
}

/// Sends the request and judges the answer.
fn exchange<S: Read + Write>(mut s: S, u: &Url) -> Result<(), String> {
    s.write_all(&u.request).and_then(|_| s.flush()).map_err(|e| io_err("cannot send request", &e))?;
    let mut buf = vec![0u8; MAX_HEAD];
    let mut len = 0;
    let head_end = loop {
        if let Some(p) = buf[..len].windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if len == MAX_HEAD {
            return Err(format!("response head over {MAX_HEAD} bytes"));
        }
        match read_some(&mut s, &mut buf[len..]) {
            Ok(0) if len == 0 => return Err("no data received".into()),
            Ok(0) => return Err("response head incomplete".into()),
            Ok(n) => len += n,
            Err(e) => return Err(io_err("read", &e)),
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(&buf[..head_end]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("response head incomplete".into()),
        Err(e) => return Err(format!("bad response head: {e}")),
    }
    let code = resp.code.unwrap_or(0);
    if !u.status.iter().any(|&(lo, hi)| (lo..=hi).contains(&code)) {
        return Err(format!("HTTP status {code}"));
    }
    let Some(want) = &u.digest else { return Ok(()) };
    // Content-Length bounds what is hashed (check_http.c http_process_response); the
    // rest up to EOF is read and hashed, whatever its size, within connect_timeout.
    let mut left = resp
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    let mut md5 = Md5::new();
    let mut feed = |b: &[u8], left: &mut u64| {
        let n = (b.len() as u64).min(*left) as usize;
        md5.update(&b[..n]);
        *left -= n as u64;
    };
    feed(&buf[head_end..len], &mut left);
    while left > 0 {
        match read_some(&mut s, &mut buf) {
            Ok(0) => break,
            Ok(n) => feed(&buf[..n], &mut left),
            Err(e) => return Err(io_err("read", &e)),
        }
    }
    let got = hex(&md5.finalize());
    if &got != want {
        return Err(format!("MD5 digest {got}, expected {want}"));
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn request_matches_keepalived_template() {
        let conn = Conn { dst: "[::1]:8080".parse().unwrap(), bind: None, timeout: Duration::from_secs(1) };
        assert_eq!(
            request("/h", None, &host(None, &conn)),
            b"GET /h HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: [::1]:8080\r\n\r\n"
        );
        assert_eq!(
            request("/", Some("1.1"), &host(Some("www"), &conn)),
            b"GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www\r\n\r\n"
        );
    }
}
