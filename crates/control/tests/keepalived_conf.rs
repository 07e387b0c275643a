//! keepalived.conf reader: seed 000 and 002's virtual_server blocks (keywords in
//! keepalived's spelling, the lab's addresses) read as keepalived 2.2.7 reads them, and
//! `keepalived -t` on the same files as an independent oracle.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use control::keepalived::{self, CheckerKind};
use rvs_core::addr::{Addr, Protocol};
use rvs_core::service::{FwdMethod, Persistence, SchedFlags, ServiceKey};

fn file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keepalived").join(name)
}

fn v4(s: &str) -> Addr {
    Addr::from(s.parse::<Ipv4Addr>().expect("ipv4"))
}

fn has(diags: &[keepalived::Diag], line: usize, text: &str) -> bool {
    diags.iter().any(|d| d.pos.line == line && d.message.contains(text))
}

#[test]
fn seed000_nb_get_retry_is_unknown_in_tcp_check() {
    let c = keepalived::load(&file("seed000.conf")).expect("loads with warnings");
    assert!(has(&c.warnings, 11, "Unknown keyword 'nb_get_retry'"), "{:?}", c.warnings);
    assert!(has(&c.warnings, 20, "Unknown keyword 'nb_get_retry'"), "{:?}", c.warnings);
    assert!(c.warnings[0].to_string().contains("seed000.conf:11: "), "{}", c.warnings[0]);
    let s = &c.services[0];
    assert_eq!(s.spec.key, ServiceKey::Proto { proto: Protocol::Tcp, addr: v4("10.0.2.100"), port: 80 });
    assert_eq!(s.spec.scheduler, "rr");
    assert_eq!(s.dests.len(), 2);
    assert_eq!((s.dests[1].addr, s.dests[1].port, s.dests[1].fwd), (v4("10.0.3.12"), 80, FwdMethod::Masq));
    let ck = &c.checks[0].real_servers[0].checkers[0];
    assert_eq!(ck.kind, CheckerKind::Tcp);
    // nb_get_retry ignored: retry keeps keepalived's default 1.
    assert_eq!((ck.retry, ck.connect_timeout, ck.connect_port), (1, Duration::from_secs(3), Some(80)));
    assert_eq!(ck.delay_loop, Duration::from_secs(6));
    assert!(keepalived::config_test(&file("seed000.conf")).is_err());
    let ok = keepalived::config_test(&file("seed000_retry.conf")).expect("retry is TCP_CHECK's keyword");
    assert_eq!(ok.checks[0].real_servers[1].checkers[0].retry, 3);
}

#[test]
fn seed002_as_printed_defaults_udp_wlc_nat() {
    let c = keepalived::load(&file("seed002.conf")).expect("loads with warnings");
    let s = &c.services[0];
    assert_eq!(s.spec.key, ServiceKey::Proto { proto: Protocol::Udp, addr: v4("10.0.2.100"), port: 80 });
    assert_eq!(s.spec.scheduler, "wlc");
    assert!(s.dests.iter().all(|d| d.fwd == FwdMethod::Masq && d.weight == 1));
    let w = &c.warnings;
    assert!(has(w, 12, "nb_get_retry is deprecated"), "{w:?}");
    // The second HTTP_GET closes early: its timers land in real_server, where
    // nb_get_retry is unknown; the last '}' is one too many.
    assert!(has(w, 25, "Unknown keyword 'nb_get_retry'"), "{w:?}");
    assert!(has(w, 30, "Extra '}' found"), "{w:?}");
    assert!(has(w, 1, "no protocol set - defaulting to UDP"), "{w:?}");
    let rs = &c.checks[0].real_servers;
    let CheckerKind::Http(h) = &rs[0].checkers[0].kind else { panic!("HTTP_GET") };
    assert_eq!((h.urls[0].path.as_str(), h.urls[0].status_code.as_slice()), ("/", &[(200, 200)][..]));
    assert_eq!(rs[0].checkers[0].retry, 3);
    // Real-server timers reach its checker; HTTP's delay_before_retry default is 3.
    assert_eq!(rs[1].checkers[0].connect_timeout, Duration::from_secs(3));
    assert_eq!(rs[1].checkers[0].retry, 1);
    assert!(keepalived::config_test(&file("seed002.conf")).is_err());
}

#[test]
fn seed002_fixed_is_dr_tcp() {
    let c = keepalived::config_test(&file("seed002_fixed.conf")).expect("clean");
    let s = &c.services[0];
    assert_eq!(s.spec.key, ServiceKey::Proto { proto: Protocol::Tcp, addr: v4("10.0.2.100"), port: 80 });
    assert!(s.dests.iter().all(|d| d.fwd == FwdMethod::Route));
    let ck = &c.checks[0].real_servers[1].checkers[0];
    assert_eq!((ck.connect_timeout, ck.delay_before_retry), (Duration::from_secs(3), Duration::from_secs(3)));
}

#[test]
fn include_flags_ops_persistence_and_kept_blocks() {
    let c = keepalived::config_test(&file("full.conf")).expect("clean");
    let kept: Vec<&str> = c.kept.iter().map(|s| s.keyword()).collect();
    assert_eq!(kept, ["global_defs", "vrrp_instance"]);
    let s = &c.services[0];
    assert_eq!(s.spec.scheduler, "sh");
    assert!(s.spec.one_packet);
    assert_eq!(s.spec.flags, SchedFlags::SH_PORT);
    assert_eq!(s.spec.persistence, Some(Persistence { timeout_s: 360, prefix: 24 }));
    assert_eq!((s.dests[0].weight, s.dests[0].fwd), (3, FwdMethod::Tunnel));
    let CheckerKind::Misc(m) = &c.checks[0].real_servers[0].checkers[0].kind else { panic!("MISC_CHECK") };
    assert_eq!((m.misc_path.as_str(), m.misc_dynamic), ("/usr/local/bin/check dns", true));
}

#[test]
fn errors_name_file_and_line() {
    let e = keepalived::load(&file("fnat.conf")).expect_err("FNAT");
    assert!(e.to_string().ends_with("fnat.conf:4: unknown [FNAT] routing method for virtual server"), "{e}");
    let e = keepalived::load(&file("badaddr.conf")).expect_err("bad address");
    assert!(e.to_string().contains("badaddr.conf:1: Invalid virtual server IP address/port"), "{e}");
}

/// Every test file: rvs's config test passes exactly where `keepalived -t` does.
#[test]
fn same_verdict_as_keepalived_config_test() {
    if Command::new("keepalived").arg("--version").output().is_err() {
        // scripts/setup installs keepalived beside nginx: a set-up machine must have it.
        assert!(
            !Path::new("/usr/sbin/nginx").exists(),
            "keepalived is missing but scripts/setup was run (nginx is here): rerun scripts/setup"
        );
        eprintln!("SKIPPED same_verdict_as_keepalived_config_test: no keepalived (run scripts/setup)");
        return;
    }
    let dir = file("");
    let mut names: Vec<_> = std::fs::read_dir(&dir).expect("dir").filter_map(|e| e.ok()).map(|e| e.path()).collect();
    names.retain(|p| p.extension().is_some_and(|x| x == "conf"));
    names.sort();
    assert!(names.len() >= 7);
    for p in names {
        let out = Command::new("keepalived").arg("-t").arg("-f").arg(&p).output().expect("keepalived -t");
        let ka_ok = out.status.success();
        let rvs = keepalived::config_test(&p);
        assert_eq!(
            rvs.is_ok(),
            ka_ok,
            "{}: keepalived -t {:?}: {}\nrvs: {:?}",
            p.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            rvs.err()
        );
    }
}
