//! SSL_GET end to end against a rustls server with a self-signed certificate (rcgen):
//! no certificate verification, as keepalived; SNI only with enable_sni.

mod health_common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use health_common::{conf, md5_hex, path_of, read_head, response, Running, Seen};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

struct TlsServer {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn tls_server() -> TlsServer {
    let ck = rcgen::generate_simple_self_signed(vec!["self-signed.invalid".to_string()]).expect("cert");
    let cert = CertificateDer::from(ck.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let cfg = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config");
    let cfg = Arc::new(cfg);
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for tcp in l.incoming().flatten() {
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            let Ok(conn) = ServerConnection::new(cfg.clone()) else { continue };
            let mut tls = StreamOwned::new(conn, tcp);
            let head = read_head(&mut tls);
            let sni = tls.conn.server_name().map(str::to_string);
            let out = match path_of(&head).as_str() {
                "/secure" => response("200 OK", b"secret"),
                _ => response("404 Not Found", b""),
            };
            s2.lock().unwrap().push(Seen { head, sni });
            let _ = tls.write_all(&out);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    TlsServer { port, seen }
}

#[test]
fn ssl_get_with_and_without_sni() {
    let s = tls_server();
    let p = s.port;
    let vs = |n: u8, alpha: bool, checker: &str| {
        format!(
            "virtual_server 10.0.2.{n} 443 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{}\
             real_server 127.0.0.1 {p} {{\n SSL_GET {{\n connect_timeout 3\n retry 0\n warmup 0\n{checker} }}\n }}\n}}\n",
            if alpha { " alpha\n" } else { "" }
        )
    };
    let digest = md5_hex(b"secret");
    let text = [
        vs(
            1,
            true,
            &format!(" virtualhost sni.example.test\n enable_sni\n url {{\n path /secure\n digest {digest}\n }}\n"),
        ),
        vs(2, true, " virtualhost nosni.example.test\n url {\n path /secure\n }\n"),
        vs(3, false, " url {\n path /nothing\n }\n"),
    ]
    .concat();
    let r = Running::start(&conf(&text));
    let up = format!("127.0.0.1:{p}=1");
    r.wait_servers(0, &[&up], Duration::from_secs(15));
    r.wait_servers(1, &[&up], Duration::from_secs(15));
    r.wait_servers(2, &[], Duration::from_secs(15));
    let seen = s.seen.lock().unwrap().clone();
    let with = seen.iter().find(|x| x.head.contains("Host: sni.example.test")).expect("request with SNI");
    assert_eq!(with.sni.as_deref(), Some("sni.example.test"));
    assert!(with.head.starts_with("GET /secure HTTP/1.0\r\n"), "{:?}", with.head);
    let without = seen.iter().find(|x| x.head.contains("Host: nosni.example.test")).expect("request without SNI");
    assert_eq!(without.sni, None, "no enable_sni, no server name");
    assert!(r.log().contains("SSL_GET on 127.0.0.1:") && r.log().contains("failed (HTTP status 404)"), "{}", r.log());
}
