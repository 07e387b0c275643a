//! HTTP_GET end to end against a small HTTP server on loopback: status codes and
//! ranges, MD5 digests (md5sum as the oracle, as keepalived's genhash), the request
//! keepalived sends (request line, Host from virtualhost or the address).

mod health_common;

use std::sync::Arc;
use std::time::Duration;

use health_common::{conf, md5_hex, response, HttpServer, Running};

const BODY: &[u8] = b"<html>all good</html>\n";

fn server() -> HttpServer {
    HttpServer::new(Arc::new(|path: &str| match path {
        "/ok" | "/vh" => response("200 OK", b"fine"),
        "/digest" => response("200 OK", BODY),
        "/big" => response("200 OK", &big()),
        "/created" => response("201 Created", b""),
        _ => response("404 Not Found", b"no"),
    }))
}

/// 2 MiB: far more than keepalived's 4 KiB read buffer, hashed as a stream.
fn big() -> Vec<u8> {
    (0..2u32 << 20).map(|i| (i % 251) as u8).collect()
}

/// One virtual server per case; `alpha` where the case must come up, so that
/// passing is not just the initial state.
fn vs(n: u8, alpha: bool, port: u16, checker: &str) -> String {
    format!(
        "virtual_server 10.0.2.{n} 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{}\
         real_server 127.0.0.1 {port} {{\n HTTP_GET {{\n connect_timeout 3\n retry 0\n warmup 0\n{checker} }}\n }}\n}}\n",
        if alpha { " alpha\n" } else { "" }
    )
}

fn url(path: &str, more: &str) -> String {
    format!(" url {{\n path {path}\n{more} }}\n")
}

#[test]
fn http_get_status_digest_and_request() {
    let s = server();
    let p = s.addr.port();
    let cases = [
        vs(1, true, p, &url("/ok", "")),
        vs(2, false, p, &url("/missing", "")),
        vs(3, true, p, &url("/missing", " status_code 200-204 404\n")),
        vs(4, false, p, &url("/created", " status_code 200\n")),
        vs(5, true, p, &url("/digest", &format!(" digest {}\n", md5_hex(BODY)))),
        vs(6, false, p, &url("/digest", " digest 0123456789abcdef0123456789abcdef\n")),
        vs(7, true, p, &format!(" virtualhost www.example.test\n http_protocol 1.1\n{}", url("/vh", ""))),
        vs(8, true, p, &url("/big", &format!(" digest {}\n", md5_hex(&big())))),
        // Every url must pass.
        vs(9, false, p, &format!("{}{}", url("/ok", ""), url("/missing", ""))),
    ];
    let r = Running::start(&conf(&cases.concat()));
    let up = format!("127.0.0.1:{p}=1");
    let want = |i: usize| -> Vec<&str> {
        if [0, 2, 4, 6, 7].contains(&i) {
            vec![up.as_str()]
        } else {
            vec![]
        }
    };
    for i in 0..cases.len() {
        r.wait_servers(i, &want(i), Duration::from_secs(15));
    }
    let log = r.log();
    assert!(log.contains("HTTP_GET on 127.0.0.1:") && log.contains("failed (HTTP status 404)"), "{log}");
    assert!(log.contains("failed (HTTP status 201)"), "{log}");
    assert!(log.contains("failed (MD5 digest"), "{log}");
    let heads = s.heads();
    let plain = format!("GET /ok HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{p}\r\n\r\n");
    assert!(heads.contains(&plain), "{heads:?}");
    let vhost =
        "GET /vh HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.test\r\n\r\n";
    assert!(heads.iter().any(|h| h == vhost), "{heads:?}");
}

#[test]
fn virtualhost_falls_back_to_the_virtual_server() {
    let s = server();
    let p = s.addr.port();
    let text = format!(
        "virtual_server 10.0.2.20 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n alpha\n virtualhost vs.example.test\n \
         real_server 127.0.0.1 {p} {{\n HTTP_GET {{\n connect_timeout 3\n warmup 0\n{}{} }}\n }}\n}}\n",
        url("/ok", ""),
        url("/vh", " virtualhost url.example.test\n")
    );
    let r = Running::start(&conf(&text));
    // Urls go one per delay_loop: /ok, then /vh, then it is up.
    r.wait_servers(0, &[&format!("127.0.0.1:{p}=1")], Duration::from_secs(15));
    let heads = s.heads();
    assert!(
        heads.iter().any(|h| h.starts_with("GET /ok ") && h.contains("\r\nHost: vs.example.test\r\n")),
        "{heads:?}"
    );
    assert!(
        heads.iter().any(|h| h.starts_with("GET /vh ") && h.contains("\r\nHost: url.example.test\r\n")),
        "{heads:?}"
    );
}
