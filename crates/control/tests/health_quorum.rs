//! Quorum, sorry server and notify scripts end to end (TCP_CHECK on loopback), and
//! alpha: a server starts out and comes in after a good check.

mod health_common;

use std::path::Path;
use std::time::Duration;

use health_common::{conf_in, wait_for, Listener, Running, TempDir};

fn events(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p).unwrap_or_default().lines().map(str::to_string).collect()
}

/// A script line that appends `what` to `file`.
fn note(file: &Path, what: &str) -> String {
    format!("\"/bin/sh -c 'echo {what} >> {}'\"", file.display())
}

#[test]
fn sorry_server_while_quorum_is_lost_and_scripts_run() {
    let d = TempDir::new("quorum");
    let ev = d.path("events");
    let mut a = Listener::new();
    let b = Listener::new();
    let rs = |l: &Listener, n: &str| {
        format!(
            " real_server 127.0.0.1 {} {{\n weight 1\n notify_up {}\n notify_down {}\n \
             TCP_CHECK {{\n connect_timeout 1\n retry 0\n warmup 0\n }}\n }}\n",
            l.addr.port(),
            note(&ev, &format!("up-{n}")),
            note(&ev, &format!("down-{n}"))
        )
    };
    let text = format!(
        "virtual_server 10.0.2.100 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n omega\n \
         quorum 2\n sorry_server 10.0.3.99 80\n quorum_up {}\n quorum_down {}\n{}{}}}\n",
        note(&ev, "quorum-up"),
        note(&ev, "quorum-down"),
        rs(&a, "a"),
        rs(&b, "b")
    );
    let mut r = Running::start(&conf_in(&d, &text));
    let (pa, pb) = (a.addr.port(), b.addr.port());
    let both = [format!("127.0.0.1:{pa}=1"), format!("127.0.0.1:{pb}=1")];
    let both: Vec<&str> = both.iter().map(String::as_str).collect();
    assert_eq!(r.servers(0), both);
    // keepalived runs quorum_up when it starts with quorum.
    wait_for(Duration::from_secs(5), || events(&ev) == ["quorum-up"]).expect("quorum_up at start");
    a.close();
    r.wait_servers(0, &["10.0.3.99:80=1"], Duration::from_secs(10));
    // Scripts run concurrently: their lines may land in either order.
    let sorted = |from: usize| {
        let mut e = events(&ev).get(from..).map(<[String]>::to_vec).unwrap_or_default();
        e.sort();
        e
    };
    wait_for(Duration::from_secs(5), || events(&ev).len() == 3).unwrap_or_else(|| panic!("{:?}", events(&ev)));
    assert_eq!(sorted(1), ["down-a", "quorum-down"]);
    assert!(r.log().contains("quorum lost for TCP 10.0.2.100:80"), "{}", r.log());
    assert!(r.log().contains("sorry server 10.0.3.99:80 added"), "{}", r.log());
    a.reopen();
    r.wait_servers(0, &both, Duration::from_secs(10));
    wait_for(Duration::from_secs(5), || events(&ev).len() == 5).unwrap_or_else(|| panic!("{:?}", events(&ev)));
    assert_eq!(sorted(3), ["quorum-up", "up-a"]);
    // omega: at shutdown every server up is announced down, then the quorum.
    r.stop();
    assert_eq!(sorted(5), ["down-a", "down-b", "quorum-down"]);
    drop(b);
}

#[test]
fn alpha_server_comes_in_after_a_good_check() {
    let l = Listener::new();
    let p = l.addr.port();
    let d = TempDir::new("alpha");
    // DR: the real server takes the virtual server's port (80); its checker reaches
    // the listener through connect_port.
    let text = format!(
        "virtual_server 10.0.2.100 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind DR\n protocol TCP\n alpha\n \
         real_server 127.0.0.1 80 {{\n TCP_CHECK {{\n connect_port {p}\n connect_timeout 1\n warmup 0\n }}\n }}\n}}\n"
    );
    let r = Running::start(&conf_in(&d, &text));
    assert!(r.servers(0).is_empty(), "alpha: out at start");
    assert!(!r.h().status()[0].up);
    r.wait_servers(0, &["127.0.0.1:80=1"], Duration::from_secs(10));
    assert!(r.changes.lock().unwrap().len() == 1, "one change reported: {:?}", r.changes.lock().unwrap());
}
