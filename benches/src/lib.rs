//! Benchmark harness support: where each bench writes its machine-readable figures.
//!
//! Every bench prints its table to stdout. When `RVS_BENCH_OUT` names a directory (as
//! `scripts/bench` does), it also writes `<bench>.json` there; `scripts/bench` merges
//! those into `benches/results/latest.{md,json}`.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::path::PathBuf;

/// Writes `json` to `$RVS_BENCH_OUT/<name>.json` when the variable is set.
pub fn write_fragment(name: &str, json: &str) {
    let Some(dir) = std::env::var_os("RVS_BENCH_OUT") else { return };
    let path = PathBuf::from(dir).join(format!("{name}.json"));
    if let Err(e) = std::fs::write(&path, json) {
        eprintln!("bench: writing {}: {e}", path.display());
    }
}

/// A JSON number, or `null` for what is not finite.
pub fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "null".into()
    }
}

/// A JSON string (names and notes only: quotes, backslashes and control characters escaped).
pub fn string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON object from already-encoded values.
pub fn object(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}: {v}", string(k))).collect();
    format!("{{{}}}", body.join(", "))
}

/// A JSON array from already-encoded values.
pub fn array(items: &[String]) -> String {
    format!("[\n  {}\n]", items.join(",\n  "))
}

/// Resident set size of this process, in bytes.
pub fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) * 4096
}

/// "distance to target" text: how far `value` is from `target` in the good direction.
pub fn distance(value: f64, target: f64, higher_is_better: bool) -> String {
    let met = if higher_is_better { value >= target } else { value <= target };
    let pct = (value - target) / target * 100.0;
    format!("{} ({pct:+.1}%)", if met { "met" } else { "MISSED" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_helpers() {
        assert_eq!(string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
        assert_eq!(num(f64::NAN), "null");
        assert_eq!(object(&[("a", num(1.5)), ("b", string("x"))]), "{\"a\": 1.5000, \"b\": \"x\"}");
    }
}

/// The topology both data-path benches build (the lab's, in miniature): ports, the
/// router the clients are behind, the two real servers, the peers' MACs.
pub mod topo {
    use std::net::Ipv4Addr;

    use wire::EthernetAddress;

    pub const WAN: u16 = 0;
    pub const LAN: u16 = 1;
    pub const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 1);
    pub const RS: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 0, 3, 11), Ipv4Addr::new(10, 0, 3, 12)];
    /// The router's, then the real servers' MACs.
    pub const PEER_MAC: [EthernetAddress; 3] = [
        EthernetAddress([0x02, 0, 0, 0, 0xaa, 1]),
        EthernetAddress([0x02, 0, 0, 0, 0xbb, 11]),
        EthernetAddress([0x02, 0, 0, 0, 0xbb, 12]),
    ];
}
