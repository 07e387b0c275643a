//! Shared fixtures for the config tests.
#![allow(dead_code)]

use std::path::Path;

use control::config::{self, Config};

/// A valid configuration; tests edit it. Line numbers matter:
/// 4 [[port]] wan, 7 its addresses, 9 [[port]] lan, 10-12 its keys,
/// 14 [[vip]], 17 [[route]], 21 [workers], 22 lcores.
pub const BASE: &str = r#"[eal]
args = ["--no-pci", "-l", "0,1", "--vdev=net_null0", "--vdev=net_null1"]

[[port]]
name = "wan"
device = "net_null0"
addresses = ["10.0.2.2/24"]

[[port]]
name = "lan"
device = "net_null1"
addresses = ["10.0.3.1/24"]

[[vip]]
address = "10.0.2.100"

[[route]]
prefix = "0.0.0.0/0"
gateway = "10.0.2.1"

[workers]
lcores = [1]
"#;

/// `text` with the first `from` replaced; `from` must occur.
#[track_caller]
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "fixture lacks {from:?}");
    text.replacen(from, to, 1)
}

#[track_caller]
pub fn ok(text: &str) -> Config {
    config::parse(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// The Display string of the error `text` must produce.
#[track_caller]
pub fn err(text: &str) -> String {
    match config::parse(text, Path::new("t.toml")) {
        Ok(_) => panic!("config unexpectedly valid:\n{text}"),
        Err(e) => e.to_string(),
    }
}
