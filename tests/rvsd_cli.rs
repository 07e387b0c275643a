//! rvsd's command line: `--check-config`, and bad configurations refused before anything
//! starts, with the file, line and key named.

use std::path::PathBuf;
use std::process::Command;

fn rvsd(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rvsd")).args(args).output().expect("run rvsd");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dpdk-config/demo.toml")
}

/// The demo config with one textual change, written to a temp file.
fn variant(name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(demo()).unwrap();
    assert!(text.contains(from), "demo.toml no longer contains {from:?}");
    let path = std::env::temp_dir().join(format!("rvs-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

fn line_of(path: &PathBuf, needle: &str) -> usize {
    std::fs::read_to_string(path).unwrap().lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn check_config_accepts_the_shipped_examples() {
    for file in ["demo.toml", "pci-example.toml"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dpdk-config").join(file);
        let (ok, out, err) = rvsd(&["--check-config", path.to_str().unwrap()]);
        assert!(ok, "{file}: {err}");
        assert!(out.contains(": ok ("), "{out}");
    }
}

#[test]
fn bad_configs_name_file_line_and_key_and_start_nothing() {
    let cases = [
        ("device", "device = \"net_af_packet1\"", "device = \"net_bogus0\"", "port[1].device", "net_bogus0"),
        (
            "overlap",
            "addresses = [\"10.0.3.1/24\", \"2001:db8:3::1/64\"]",
            "addresses = [\"10.0.2.9/24\", \"2001:db8:3::1/64\"]",
            "port[1].addresses[0]",
            "overlap",
        ),
        (
            "malformed",
            "addresses = [\"10.0.2.2/24\", \"2001:db8:2::2/64\"]",
            "addresses = [\"10.0.2.300/24\"]",
            "port[0].addresses[0]",
            "10.0.2.300",
        ),
        ("unknown-key", "lcores = [1]", "lcores = [1]\nturbo = true", "workers.turbo", "unknown"),
    ];
    for (name, from, to, key, word) in cases {
        let path = variant(name, from, to);
        let needle = to.lines().last().unwrap();
        let line = line_of(&path, needle);
        for mode in ["--config", "--check-config"] {
            let (ok, out, err) = rvsd(&[mode, path.to_str().unwrap()]);
            assert!(!ok, "{name}: {mode} accepted a bad config");
            let want = format!("{}:{line}: {key}:", path.display());
            assert!(err.contains(&want), "{name}: expected {want:?} in:\n{err}");
            assert!(err.to_lowercase().contains(word), "{name}: expected {word:?} in:\n{err}");
            assert!(!out.contains("eal:") && !out.contains("port "), "{name}: something started:\n{out}");
        }
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn missing_file_is_an_error_not_a_panic() {
    let (ok, _, err) = rvsd(&["--check-config", "/nonexistent/rvs.toml"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/rvs.toml"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn a_bad_ipvsadm_rules_file_names_its_line_and_starts_nothing() {
    let rules = std::env::temp_dir().join(format!("rvs-{}-bad.rules", std::process::id()));
    std::fs::write(&rules, "-A -t 10.0.2.100:80 -s rr\n-a -t 10.0.2.100:80 -r 10.0.3.11:80 -m -w 70000\n").unwrap();
    let (ok, out, err) = rvsd(&["--config", demo().to_str().unwrap(), "--restore", rules.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains(&format!("{}: line 2: ", rules.display())), "{err}");
    assert!(err.contains("nothing started"), "{err}");
    assert!(!out.contains("eal:"), "EAL was started:\n{out}");
    let _ = std::fs::remove_file(rules);
}

#[test]
fn restore_refuses_sctp_and_fwmark_services_naming_the_line() {
    for (name, line, why) in [
        ("sctp", "-A --sctp-service 10.0.2.100:9 -s rr", "SCTP services are not supported: rvs has no SCTP forwarding"),
        ("fwmark", "-A -f 1 -s rr", "firewall-mark services are not supported: rvs has no firewall-mark classifier"),
    ] {
        let rules = std::env::temp_dir().join(format!("rvs-{}-{name}.rules", std::process::id()));
        std::fs::write(&rules, format!("-A -t 10.0.2.100:81 -s rr\n{line}\n")).unwrap();
        let (ok, out, err) = rvsd(&["--config", demo().to_str().unwrap(), "--restore", rules.to_str().unwrap()]);
        assert!(!ok);
        assert!(err.contains(&format!("{}: line 2: {why}; nothing started", rules.display())), "{err}");
        assert!(!out.contains("eal:"), "EAL was started:\n{out}");
        let _ = std::fs::remove_file(rules);
    }
}

/// rvsadm refuses them itself, before asking rvsd (here: none is running).
#[test]
fn rvsadm_refuses_sctp_and_fwmark_services_without_rvsd() {
    let sock = std::env::temp_dir().join(format!("rvs-{}-none.sock", std::process::id()));
    for (args, why) in [
        (&["-A", "--sctp-service", "10.0.0.1:9"][..], "SCTP services are not supported: rvs has no SCTP forwarding\n"),
        (
            &["-A", "-f", "1", "-6"][..],
            "firewall-mark services are not supported: rvs has no firewall-mark classifier\n",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_rvsadm")).args(args).env("RVSADM_SOCKET", &sock).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), why, "{args:?}");
    }
}
