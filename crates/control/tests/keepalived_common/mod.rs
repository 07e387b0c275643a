//! Shared fixtures for the keepalived.conf tests.
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use control::keepalived::Diag;
use rvs_core::addr::Addr;

/// A file of tests/keepalived/.
pub fn file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keepalived").join(name)
}

pub fn v4(s: &str) -> Addr {
    Addr::from(s.parse::<Ipv4Addr>().expect("ipv4"))
}

pub fn v6(s: &str) -> Addr {
    Addr::from(s.parse::<Ipv6Addr>().expect("ipv6"))
}

/// A diagnostic at `line` whose message contains `text`.
pub fn has(diags: &[Diag], line: usize, text: &str) -> bool {
    diags.iter().any(|d| d.pos.line == line && d.message.contains(text))
}

/// Whether `keepalived` runs here; a machine set up by scripts/setup must have it.
pub fn have_keepalived(test: &str) -> bool {
    if Command::new("keepalived").arg("--version").output().is_ok() {
        return true;
    }
    // scripts/setup installs keepalived beside nginx: a set-up machine must have it.
    assert!(
        !Path::new("/usr/sbin/nginx").exists(),
        "keepalived is missing but scripts/setup was run (nginx is here): rerun scripts/setup"
    );
    eprintln!("SKIPPED {test}: no keepalived (run scripts/setup)");
    false
}

/// `keepalived -t -f path`: passed, and what it logged.
pub fn keepalived_t(path: &Path) -> (bool, String) {
    let out = Command::new("keepalived").args(["-t", "--log-console", "-f"]).arg(path).output().expect("keepalived -t");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `text` written to a temporary file named after the test.
pub fn temp(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("rvs-kconf-{}-{name}.conf", std::process::id()));
    std::fs::write(&p, text).expect("write temp file");
    p
}
