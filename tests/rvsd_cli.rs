//! rvsd's command line: `--check-config`, and bad configurations refused before anything
//! starts, with the file, line and key named; with a keepalived.conf ([control]
//! keepalived) too: both files checked, its warnings printed with file and line, a
//! service both files declare named in both.

use std::path::{Path, PathBuf};
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

fn line_of(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path).unwrap().lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn check_config_accepts_the_shipped_examples() {
    for file in ["demo.toml", "pci-example.toml", "keepalived-lab.toml"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dpdk-config").join(file);
        let (ok, out, err) = rvsd(&["--check-config", path.to_str().unwrap()]);
        assert!(ok, "{file}: {err}");
        assert!(out.contains(": ok ("), "{out}");
        assert!(err.is_empty(), "{file}: {err}");
    }
    let (_, out, _) =
        rvsd(&["--check-config", &format!("{}/dpdk-config/keepalived-lab.toml", env!("CARGO_MANIFEST_DIR"))]);
    assert!(out.contains("keepalived-lab.conf: 1 virtual server, 1 service, 0 warnings)"), "{out}");
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

// keepalived.conf named by [control] keepalived.

fn shipped(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dpdk-config").join(name)
}

/// A directory of its own for one test: the lab's TOML naming `keepalived.conf` (relative,
/// so the directory's), with `toml_edit` applied, and that keepalived.conf.
fn pair(name: &str, keepalived: &str, toml_edit: (&str, &str)) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("rvs-kcli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = std::fs::read_to_string(shipped("keepalived-lab.toml")).unwrap();
    let line = "keepalived = \"keepalived-lab.conf\"";
    assert!(toml.contains(line), "keepalived-lab.toml changed");
    let toml = toml.replacen(line, "keepalived = \"keepalived.conf\"", 1);
    assert!(toml.contains(toml_edit.0), "keepalived-lab.toml changed");
    let toml = toml.replacen(toml_edit.0, toml_edit.1, 1);
    std::fs::write(dir.join("rvs.toml"), toml).unwrap();
    std::fs::write(dir.join("keepalived.conf"), keepalived).unwrap();
    (dir.join("rvs.toml"), dir.join("keepalived.conf"))
}

fn lab_conf() -> String {
    std::fs::read_to_string(shipped("keepalived-lab.conf")).unwrap()
}

fn clean(toml: &Path) {
    if let Some(dir) = toml.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn check_config_reads_the_keepalived_file_the_toml_names() {
    let (toml, k) = pair("ok", &lab_conf(), ("", ""));
    let (ok, out, err) = rvsd(&["--check-config", toml.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("keepalived {}: 1 virtual server, 1 service, 0 warnings)", k.display())), "{out}");
    clean(&toml);
}

#[test]
fn a_bad_keepalived_conf_names_its_line_and_starts_nothing() {
    let bad = lab_conf().replacen("lb_kind NAT", "lb_kind DR\n    syn_proxy", 1);
    let (toml, k) = pair("bad", &bad, ("", ""));
    let at = line_of(&k, "real_server 10.0.3.11");
    let want = format!("{}:{at}: real server 10.0.3.11:80 is DR: syn_proxy needs lb_kind NAT or FNAT", k.display());
    for mode in ["--check-config", "--config"] {
        let (ok, out, err) = rvsd(&[mode, toml.to_str().unwrap()]);
        assert!(!ok, "{mode} accepted it");
        assert!(err.contains(&want), "{mode}: expected {want:?} in:\n{err}");
        assert!(!out.contains("eal:") && !out.contains("port "), "{mode}: something started:\n{out}");
        if mode == "--config" {
            assert!(err.contains("rvsd: nothing started"), "{err}");
        }
    }
    let (ok, _, err) = rvsd(&["--check-keepalived", k.to_str().unwrap()]);
    assert!(!ok && err.contains(&want), "{err}");
    clean(&toml);
}

/// FullNAT everywhere: a TOML service with laddrs, proxy_protocol and a fullnat real
/// server, beside a keepalived.conf in DPVS's spelling (local_address_group,
/// laddr_group_name, lb_kind FNAT, proxy_protocol).
#[test]
fn check_config_accepts_fullnat_in_both_files() {
    let dpvs = lab_conf()
        .replacen(
            "virtual_server 10.0.2.100 80 {",
            "local_address_group lg {\n    10.0.3.200 dpdk0\n    10.0.3.201-202\n}\n\nvirtual_server 10.0.2.100 80 {",
            1,
        )
        .replacen("lb_kind NAT", "lb_kind FNAT\n    laddr_group_name lg\n    proxy_protocol v1", 1);
    let service = "[[service]]\ntcp = \"[2001:db8:2::100]:80\"\nscheduler = \"rr\"\n\
                   laddrs = [\"2001:db8:3::200\", \"2001:db8:3::201\"]\ntoa = true\n";
    let (toml, k) = pair("fnat", &dpvs, ("[[service]]\ntcp = \"[2001:db8:2::100]:80\"\nscheduler = \"rr\"\n", service));
    let toml_text = std::fs::read_to_string(&toml).unwrap().replacen("method = \"masq\"", "method = \"fullnat\"", 2);
    std::fs::write(&toml, toml_text).unwrap();
    let (ok, out, err) = rvsd(&["--check-config", toml.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.is_empty(), "no warnings: {err}");
    assert!(out.contains(&format!("keepalived {}: 1 virtual server, 1 service, 0 warnings)", k.display())), "{out}");
    // The same without laddrs is refused at its key.
    let no_laddrs = std::fs::read_to_string(&toml).unwrap().replacen("laddrs = [", "# laddrs = [", 1);
    std::fs::write(&toml, no_laddrs).unwrap();
    let (ok, _, err) = rvsd(&["--check-config", toml.to_str().unwrap()]);
    assert!(!ok && err.contains("service[0].real_server[0].method: a fullnat real server needs"), "{err}");
    clean(&toml);
}

/// The SYN proxy in both files: `synproxy = true` on a TOML service, DPVS's `syn_proxy`
/// in a virtual_server; each refused at its line with route servers.
#[test]
fn check_config_accepts_synproxy_in_both_files() {
    let dpvs = lab_conf().replacen("lb_kind NAT", "lb_kind NAT\n    syn_proxy", 1);
    let svc = "[[service]]\ntcp = \"[2001:db8:2::100]:80\"\nscheduler = \"rr\"\n";
    let (toml, k) = pair("syn", &dpvs, (svc, &format!("{svc}synproxy = true\n")));
    let (ok, out, err) = rvsd(&["--check-config", toml.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.is_empty(), "no warnings: {err}");
    assert!(out.contains(&format!("keepalived {}: 1 virtual server, 1 service, 0 warnings)", k.display())), "{out}");
    // A route server in the TOML service is refused at its method.
    let text = std::fs::read_to_string(&toml).unwrap();
    let routed = text.replacen("method = \"masq\"", "method = \"route\"", 1);
    std::fs::write(&toml, routed).unwrap();
    let at = line_of(&toml, "method = \"route\"");
    let (ok, _, err) = rvsd(&["--check-config", toml.to_str().unwrap()]);
    let want = format!("{}:{at}: service[0].real_server[0].method: --synproxy needs masq or fullnat", toml.display());
    assert!(!ok && err.contains(&want), "expected {want:?} in:\n{err}");
    clean(&toml);
}

#[test]
fn a_missing_keepalived_conf_is_an_error() {
    let (toml, k) = pair("missing", "", ("", ""));
    std::fs::remove_file(&k).unwrap();
    let (ok, _, err) = rvsd(&["--check-config", toml.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains(&format!("{}:0: cannot read", k.display())), "{err}");
    clean(&toml);
}

/// Seed 000 as printed: keepalived logs nb_get_retry in TCP_CHECK and goes on; so does rvsd.
#[test]
fn keepalived_warnings_are_printed_with_file_and_line() {
    let (toml, k) = pair("warn", &lab_conf().replace(" retry 3", " nb_get_retry 3"), ("", ""));
    let line = line_of(&k, "nb_get_retry 3");
    let want = format!("{}:{line}: warning: Unknown keyword 'nb_get_retry'", k.display());
    let (ok, out, err) = rvsd(&["--check-config", toml.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.lines().any(|l| l == want), "expected {want:?} in:\n{err}");
    assert!(out.contains("1 virtual server, 1 service, 2 warnings)"), "{out}");
    // At start they are printed before anything else happens (here a bad --restore file
    // stops rvsd before the EAL).
    let rules = toml.with_file_name("bad.rules");
    std::fs::write(&rules, "-A -t 10.0.2.101:80 -s bogus\n").unwrap();
    let (ok, out, err) = rvsd(&["--config", toml.to_str().unwrap(), "--restore", rules.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains(&format!("rvsd: keepalived: {want}")), "{err}");
    assert!(out.contains("keepalived: ") && !out.contains("eal:"), "{out}");
    clean(&toml);
}

#[test]
fn a_service_in_both_files_names_both_places() {
    let both =
        "[[service]]\ntcp = \"10.0.2.100:80\"\nscheduler = \"wlc\"\n\n[[service]]\ntcp = \"[2001:db8:2::100]:80\"";
    let (toml, k) = pair("both", &lab_conf(), ("[[service]]\ntcp = \"[2001:db8:2::100]:80\"", both));
    let want = format!(
        "{}:{}: TCP 10.0.2.100:80 is also declared in {}:{} (service[0]); declare it in one file",
        k.display(),
        line_of(&k, "virtual_server 10.0.2.100 80"),
        toml.display(),
        line_of(&toml, "tcp = \"10.0.2.100:80\"") - 1
    );
    for mode in ["--check-config", "--config"] {
        let (ok, out, err) = rvsd(&[mode, toml.to_str().unwrap()]);
        assert!(!ok && err.contains(&want), "{mode}: expected {want:?} in:\n{err}");
        assert!(!out.contains("eal:"), "{out}");
    }
    clean(&toml);
}

#[test]
fn toml_errors_stay_the_tomls() {
    let (toml, _) = pair("toml-error", &lab_conf(), ("lcores = [1]", "lcores = [1]\nturbo = true"));
    let (ok, _, err) = rvsd(&["--check-config", toml.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains(&format!("{}:{}: workers.turbo:", toml.display(), line_of(&toml, "turbo"))), "{err}");
    let (toml2, _) = pair("empty-key", &lab_conf(), ("keepalived = \"keepalived.conf\"", "keepalived = \"\""));
    let (ok, _, err) = rvsd(&["--check-config", toml2.to_str().unwrap()]);
    assert!(!ok && err.contains("control.keepalived: names no file"), "{err}");
    clean(&toml);
    clean(&toml2);
}

/// The usage line shows rvsd's three forms, so "--config is required" matches it; rvsadm's
/// help names twos, the scheduler ipvsadm 1.31 predates.
#[test]
fn usage_shows_what_is_required() {
    let (ok, _, err) = rvsd(&[]);
    assert!(!ok);
    assert!(err.contains("--config") && err.contains("Usage: rvsd --config FILE [--restore RULES]"), "{err}");
    assert!(err.contains("rvsd --check-config FILE") && err.contains("rvsd --check-keepalived FILE"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_rvsadm")).arg("-h").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("-s twos") && help.contains("power of two choices"), "{help}");
}
