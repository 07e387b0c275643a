//! keepalived.conf in rvsd, with real health checks in the lab: seeds 000 and 002 load and
//! balance; a real server whose nginx stops leaves rotation within keepalived's detection
//! window and comes back within a delay_loop of restarting; inhibit_on_failure, HTTP_GET
//! status and digest, MISC_CHECK exit codes and misc_dynamic weights, quorum with a
//! sorry server; bad files are refused with file:line, at start and on SIGHUP.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The lab configuration naming a keepalived.conf (no [[service]] of its own).
fn config_with(kconf: &Path) -> String {
    lab_config("").replacen(
        "socket = \"/run/rvs/rvsd-lab-test.sock\"",
        &format!("socket = \"/run/rvs/rvsd-lab-test.sock\"\nkeepalived = \"{}\"", kconf.display()),
        1,
    )
}

fn write_kconf(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("rvs-{}-{name}.conf", std::process::id()));
    std::fs::write(&path, text).expect("write keepalived.conf");
    path
}

fn seed(name: &str) -> PathBuf {
    repo().join("crates/control/tests/keepalived").join(name)
}

fn nginx(server: &str, action: Option<&str>) {
    let dir = format!("/tmp/rvs-lab/rvs-{server}");
    let mut args = vec!["nginx", "-q", "-p", &dir, "-c", "nginx.conf", "-e", "error.log"];
    let conf = format!("{dir}/nginx.conf");
    args[5] = &conf;
    if let Some(a) = action {
        args.extend(["-s", a]);
    }
    ns_ok(&format!("rvs-{server}"), &args);
    // Until the port is closed (stop) or open (start), seen from the director's kernel.
    let ip = if server == "rs1" { "10.0.3.11" } else { "10.0.3.12" };
    let start = Instant::now();
    loop {
        let up = ns("rvs-director", &["curl", "-s", "-o", "/dev/null", "--max-time", "1", &format!("http://{ip}/")])
            .status
            .success();
        if up == action.is_none() {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "nginx on {server} did not {action:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `rvsadm -L -n` lines of real servers: (address:port, forward, weight).
fn dests() -> Vec<(String, String, u32)> {
    rvsadm_ok("-L -n")
        .lines()
        .filter_map(|l| l.strip_prefix("  -> "))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.first()?.to_string(), f.get(1)?.to_string(), f.get(2)?.parse().ok()?))
        })
        .collect()
}

/// Wait until `pred` holds of the listing; returns how long it took.
fn until(what: &str, limit: Duration, pred: impl Fn(&[(String, String, u32)]) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let d = dests();
        if pred(&d) {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what} not within {limit:?}: {d:?}\n{}", rvsadm_ok("-L -n"));
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn has(d: &[(String, String, u32)], addr: &str) -> Option<u32> {
    d.iter().find(|(a, _, _)| a == addr).map(|(_, _, w)| *w)
}

fn bodies(n: usize) -> Vec<String> {
    (0..n).map(|_| curl("http://10.0.2.100/").trim().to_string()).collect()
}

#[test]
fn lab_keepalived_seeds_load_and_balance_and_bad_files_are_refused() {
    let _lab = Lab::up();
    // Seed 000's virtual_server (NAT, rr, TCP_CHECK), keywords as keepalived spells them.
    let kconf = write_kconf("seed", &std::fs::read_to_string(seed("seed000_retry.conf")).unwrap());
    let path = write_config("kseed", &config_with(&kconf));
    let mut rvsd = Rvsd::start(&path);
    let list = rvsadm_ok("-L -n");
    let want = "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.0.2.100:80 rr\n  -> 10.0.3.11:80                 Masq    1      0          0         \n  -> 10.0.3.12:80                 Masq    1      0          0         \n";
    assert!(list.ends_with(want), "as ipvsadm lists keepalived's seed 000:\n{list}");
    let mut b = bodies(4);
    b.sort();
    assert_eq!(b, ["Web Server 1", "Web Server 1", "Web Server 2", "Web Server 2"], "rr over both");

    // SIGHUP to seed 002 (DR, HTTP_GET), with protocol TCP and lb_kind DR added.
    std::fs::write(&kconf, std::fs::read_to_string(seed("seed002_fixed.conf")).unwrap()).unwrap();
    rvsd.reload(&path, &config_with(&kconf));
    let d = dests();
    assert_eq!(d, [("10.0.3.11:80".into(), "Route".into(), 1), ("10.0.3.12:80".into(), "Route".into(), 1)]);
    let mut b = bodies(4);
    b.sort();
    assert_eq!(b, ["Web Server 1", "Web Server 1", "Web Server 2", "Web Server 2"], "DR balances too");

    // A bad file on SIGHUP: reported with file:line, the running configuration stays.
    std::fs::write(&kconf, "virtual_server 10.0.2.100 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 10.0.3.300 80 {\n    }\n}\n").unwrap();
    let before = rvsd.output().matches("reload refused").count();
    let _ = Command::new("kill").args(["-HUP", &rvsd.pid().to_string()]).status();
    rvsd.wait_for_log(&format!("{}:5:", kconf.display()), Duration::from_secs(5));
    assert!(rvsd.output().matches("reload refused").count() > before, "{}", rvsd.output());
    assert_eq!(dests().len(), 2, "the running configuration stays");
    assert!(dests().iter().all(|(_, f, _)| f == "Route"));
    let (status, _) = rvsd.terminate();
    assert!(status.success());

    // The same bad file at start: file:line, nothing started (exit 1, no twin made).
    let out = Command::new("ip")
        .args(["netns", "exec", "rvs-director", env!("CARGO_BIN_EXE_rvsd"), "--config"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("{}:5:", kconf.display())) && err.contains("nothing started"), "{err}");
}

const CHECKED: &str = r#"
virtual_server 10.0.2.100 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    @INHIBIT@
    real_server 10.0.3.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.0.3.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
"#;

#[test]
fn lab_health_checks_take_dead_servers_out_and_bring_them_back() {
    let _lab = Lab::up();
    let kconf = write_kconf("checked", &CHECKED.replace("@INHIBIT@", ""));
    let path = write_config("kchecked", &config_with(&kconf));
    let mut rvsd = Rvsd::start(&path);
    until("both servers in", Duration::from_secs(3), |d| d.len() == 2);

    // nginx stops on rs1: out within delay_loop + connect_timeout + retry x
    // delay_before_retry (2 + 1 + 1 x 1), plus a second.
    nginx("rs1", Some("stop"));
    let took = until("rs1 removed", Duration::from_secs(5), |d| has(d, "10.0.3.11:80").is_none());
    eprintln!("rs1 left rotation {took:?} after nginx stopped");
    assert!(rvsd.output().contains("10.0.3.11:80"), "the transition is logged:\n{}", rvsd.output());
    let m = rvsd.metrics();
    assert!(m.contains("rvs_real_server_up"), "exported");
    // Every request after the window goes to rs2, none fails.
    assert!(bodies(10).iter().all(|b| b == "Web Server 2"));
    // nginx back: in rotation within one delay_loop (+1 s).
    nginx("rs1", None);
    let took = until("rs1 back", Duration::from_secs(3), |d| has(d, "10.0.3.11:80") == Some(1));
    eprintln!("rs1 back {took:?} after nginx started");
    let mut b = bodies(4);
    b.sort();
    assert_eq!(b, ["Web Server 1", "Web Server 1", "Web Server 2", "Web Server 2"]);

    // inhibit_on_failure: weight 0 instead of removal.
    std::fs::write(&kconf, CHECKED.replace("@INHIBIT@", "inhibit_on_failure")).unwrap();
    rvsd.reload(&path, &config_with(&kconf));
    nginx("rs2", Some("stop"));
    until("rs2 weight 0", Duration::from_secs(5), |d| has(d, "10.0.3.12:80") == Some(0));
    assert!(bodies(6).iter().all(|b| b == "Web Server 1"));
    nginx("rs2", None);
    until("rs2 weight 1", Duration::from_secs(3), |d| has(d, "10.0.3.12:80") == Some(1));
    let (status, _) = rvsd.terminate();
    assert!(status.success());
}

#[test]
fn lab_http_get_misc_check_and_quorum_as_keepalived() {
    let _lab = Lab::up();
    // HTTP_GET: rs1 checked for 200 and the MD5 of "Web Server 1\n"; rs2 for a 404 it
    // does not return: down.
    let md5_rs1 = ns_ok("rvs-client", &["sh", "-c", "printf 'Web Server 1\\n' | md5sum"]);
    let md5_rs1 = md5_rs1.split_whitespace().next().unwrap();
    let http = format!(
        r#"virtual_server 10.0.2.100 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.3.11 80 {{
        HTTP_GET {{
            url {{
                path /
                digest {md5_rs1}
                status_code 200
            }}
            connect_timeout 1
            retry 0
        }}
    }}
    real_server 10.0.3.12 80 {{
        HTTP_GET {{
            url {{
                path /
                status_code 404
            }}
            connect_timeout 1
            retry 0
        }}
    }}
}}
"#
    );
    let kconf = write_kconf("http", &http);
    let path = write_config("khttp", &config_with(&kconf));
    let mut rvsd = Rvsd::start(&path);
    until("rs2 down (status 200, not 404)", Duration::from_secs(5), |d| {
        has(d, "10.0.3.11:80").is_some() && has(d, "10.0.3.12:80").is_none()
    });
    // rs1's digest made wrong: it goes too.
    std::fs::write(&kconf, http.replace(md5_rs1, "00000000000000000000000000000000")).unwrap();
    rvsd.reload(&path, &config_with(&kconf));
    until("rs1 down (digest)", Duration::from_secs(5), |d| d.is_empty());

    // MISC_CHECK with misc_dynamic: each server's exit code from a file.
    let dir = std::env::temp_dir().join(format!("rvs-misc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let code = |rs: &str, c: u8| std::fs::write(dir.join(rs), c.to_string()).unwrap();
    code("rs1", 0);
    code("rs2", 7);
    let misc = |rs: &str, ip: &str| {
        format!(
            "    real_server {ip} 80 {{\n        weight 3\n        MISC_CHECK {{\n            misc_path \"/bin/sh -c 'exit $(cat {})'\"\n            misc_timeout 2\n            misc_dynamic\n        }}\n    }}\n",
            dir.join(rs).display()
        )
    };
    let misc_conf = format!(
        "virtual_server 10.0.2.100 80 {{\n    delay_loop 1\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n{}{}}}\n",
        misc("rs1", "10.0.3.11"),
        misc("rs2", "10.0.3.12")
    );
    std::fs::write(&kconf, &misc_conf).unwrap();
    rvsd.reload(&path, &config_with(&kconf));
    until("exit 0 keeps weight 3, exit 7 sets weight 5", Duration::from_secs(5), |d| {
        has(d, "10.0.3.11:80") == Some(3) && has(d, "10.0.3.12:80") == Some(5)
    });
    code("rs2", 1);
    until("exit 1: down", Duration::from_secs(5), |d| has(d, "10.0.3.12:80").is_none());
    code("rs2", 2);
    until("exit 2: weight 0", Duration::from_secs(5), |d| has(d, "10.0.3.12:80") == Some(0));

    // Quorum 2 with a sorry server (python's http.server on rs1:8081): one real server
    // lost brings the sorry server in and takes the other out; back, the reverse.
    let sorry_dir = std::env::temp_dir().join(format!("rvs-sorry-{}", std::process::id()));
    std::fs::create_dir_all(&sorry_dir).unwrap();
    std::fs::write(sorry_dir.join("index.html"), "Sorry\n").unwrap();
    let mut sorry = Command::new("ip")
        .args(["netns", "exec", "rvs-rs1", "/usr/bin/python3", "-c", &http_server("10.0.3.11", 8081)])
        .current_dir(&sorry_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ns("rvs-director", &["curl", "-s", "--max-time", "1", "http://10.0.3.11:8081/"]).status.success() {
        assert!(start.elapsed() < Duration::from_secs(10), "the sorry server listens");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::write(&kconf, CHECKED.replace("@INHIBIT@", "quorum 2\n    sorry_server 10.0.3.11 8081")).unwrap();
    rvsd.reload(&path, &config_with(&kconf));
    until("both in", Duration::from_secs(3), |d| d.len() == 2 && has(d, "10.0.3.11:8081").is_none());
    nginx("rs2", Some("stop"));
    until("sorry server in, rs1 out", Duration::from_secs(6), |d| d.len() == 1 && has(d, "10.0.3.11:8081").is_some());
    let start = Instant::now();
    loop {
        let out = ns("rvs-client", &["curl", "-sS", "--max-time", "2", "http://10.0.2.100/"]);
        if String::from_utf8_lossy(&out.stdout).trim() == "Sorry" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the sorry server answers: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    nginx("rs2", None);
    until("quorum regained: sorry out", Duration::from_secs(4), |d| d.len() == 2 && has(d, "10.0.3.11:8081").is_none());
    let _ = sorry.kill();
    let _ = sorry.wait();
    let (status, _) = rvsd.terminate();
    assert!(status.success());
}
