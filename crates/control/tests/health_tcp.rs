//! TCP_CHECK end to end: real listeners on loopback, the engine's own threads.

mod health_common;

use std::net::TcpListener;
use std::time::Duration;

use health_common::{conf, servers, wait_for, Listener, Running};

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

const T: &str = "connect_timeout 1\n retry 1\n delay_before_retry 1\n warmup 0\n";

fn vs(vip: &str, extra: &str, rs: &str) -> String {
    format!("virtual_server {vip} 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{extra}{rs}}}\n")
}

#[test]
fn closed_listener_is_removed_and_comes_back() {
    let mut l = Listener::new();
    let port = l.addr.port();
    let r = Running::start(&conf(&vs(
        "10.0.2.100",
        "",
        &format!(" real_server 127.0.0.1 {port} {{\n weight 2\n TCP_CHECK {{\n {T} }}\n }}\n"),
    )));
    let up = [format!("127.0.0.1:{port}=2")];
    let up: Vec<&str> = up.iter().map(String::as_str).collect();
    assert_eq!(r.servers(0), up);
    // The first check (bootstrap 1 s) passes.
    wait_for(Duration::from_secs(10), || r.h().status()[0].checkers[0].ok > 0).expect("a passing check");
    assert_eq!(r.servers(0), up);
    l.close();
    // delay_loop + connect_timeout + retry x delay_before_retry, and slack.
    let took = r.wait_servers(0, &[], Duration::from_secs(15));
    println!("removed after {took:?}");
    let line = format!(
        "health: TCP_CHECK on 127.0.0.1:{port} failed (connection refused); real server 127.0.0.1:{port} of TCP 10.0.2.100:80 removed"
    );
    assert!(r.log().contains(&line), "{}", r.log());
    assert!(r.changes.lock().unwrap().iter().any(|c| servers(c, 0).is_empty()), "on_change saw the removal");
    l.reopen();
    // A failed checker is re-tested within delay_loop (+ delay_before_retry).
    r.wait_servers(0, &up, Duration::from_secs(10));
    assert!(r.log().contains("added back"), "{}", r.log());
    let last = r.changes.lock().unwrap().last().cloned().expect("changes");
    assert_eq!(servers(&last, 0), up, "the last on_change carries the latest list");
    let st = &r.h().status()[0];
    assert!(st.up && st.checkers[0].failed >= 2 && st.checkers[0].last_latency.is_some(), "{st:?}");
}

#[test]
fn inhibit_on_failure_keeps_the_server_at_weight_zero() {
    let port = closed_port();
    let r = Running::start(&conf(&vs(
        "10.0.2.101",
        " inhibit_on_failure\n",
        &format!(" real_server 127.0.0.1 {port} {{\n weight 3\n TCP_CHECK {{\n {T} }}\n }}\n"),
    )));
    r.wait_servers(0, &[&format!("127.0.0.1:{port}=0")], Duration::from_secs(10));
    assert!(r.log().contains("set to weight 0 (inhibit_on_failure)"), "{}", r.log());
}

#[test]
fn connect_ip_port_and_bindto_are_used() {
    let l = Listener::new();
    let src_port = closed_port();
    // The real server's own address is unreachable; alpha keeps it out until the
    // checker has reached the listener through connect_ip/connect_port.
    let text = vs(
        "10.0.2.102",
        " alpha\n",
        &format!(
            " real_server 192.0.2.1 80 {{\n TCP_CHECK {{\n connect_ip 127.0.0.1\n connect_port {}\n \
             bindto 127.0.0.2\n bind_port {src_port}\n {T} }}\n }}\n",
            l.addr.port()
        ),
    );
    let r = Running::start(&conf(&text));
    assert!(r.servers(0).is_empty(), "alpha: out until checked");
    r.wait_servers(0, &["192.0.2.1:80=1"], Duration::from_secs(10));
    // The listener records a peer when its thread accepts, after the handshake.
    wait_for(Duration::from_secs(5), || !l.peers.lock().unwrap().is_empty()).expect("an accepted connection");
    let peers = l.peers.lock().unwrap().clone();
    assert_eq!(peers.first().map(|p| p.to_string()), Some(format!("127.0.0.2:{src_port}")), "{peers:?}");
}

#[test]
fn stop_is_prompt_and_reload_after_checks_keeps_state() {
    let l = Listener::new();
    let dead = closed_port();
    let rs = |p: u16| format!(" real_server 127.0.0.1 {p} {{\n TCP_CHECK {{\n {T} }}\n }}\n");
    let a = conf(&vs("10.0.2.103", "", &format!("{}{}", rs(l.addr.port()), rs(dead))));
    let mut r = Running::start(&a);
    let alive = format!("127.0.0.1:{}=1", l.addr.port());
    r.wait_servers(0, &[&alive], Duration::from_secs(10));
    // Reload: the dead server stays down and the live one up until their next checks
    // (which wait BOOTSTRAP_DELAY at least), a new one (no alpha) starts up.
    let other = Listener::new();
    let b = conf(&vs("10.0.2.103", "", &format!("{}{}{}", rs(l.addr.port()), rs(dead), rs(other.addr.port()))));
    r.h().reload(&b);
    let added = format!("127.0.0.1:{}=1", other.addr.port());
    assert_eq!(r.servers(0), [alive.as_str(), added.as_str()]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(r.servers(0), [alive.as_str(), added.as_str()], "still so after the new checkers ran");
    let start = std::time::Instant::now();
    r.stop();
    assert!(start.elapsed() < Duration::from_secs(3), "stop took {:?}", start.elapsed());
}
