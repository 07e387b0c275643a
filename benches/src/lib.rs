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
/// router the clients are behind, the two real servers, the peers' MACs, FullNAT's
/// local addresses.
pub mod topo {
    use std::net::Ipv4Addr;

    use rvs_core::addr::{Addr, Protocol};
    use rvs_core::service::{Config, DestSpec, FwdMethod, ServiceKey, ServiceSpec};
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

    /// The FullNAT service: the NAT VIP on this port (so the L3 configuration is the
    /// other cases'), in a snapshot of its own.
    pub const FNAT_VPORT: u16 = 81;
    /// Its local addresses, 10.0.3.192 and up on lan. 63 × 64,511 ports × 2 real servers
    /// hold 8.1M connections, what the new-connection cases open before their tables
    /// fill (a port stays taken through TIME_WAIT); an odd count, so that the round over
    /// local addresses and rr over two real servers do not pair each address with one.
    pub const LADDRS: u32 = 63;
    const LADDR_FIRST: u32 = 0x0a00_03c0;

    pub fn laddr(i: u32) -> Ipv4Addr {
        Ipv4Addr::from(LADDR_FIRST + i)
    }

    #[inline]
    pub fn is_laddr(a: Ipv4Addr) -> bool {
        u32::from(a).wrapping_sub(LADDR_FIRST) < LADDRS
    }

    /// Add the FullNAT service (`vip`:[`FNAT_VPORT`], rr, both real servers on port 80,
    /// the [`LADDRS`] local addresses) to `cfg`.
    pub fn add_fnat_service(cfg: &mut Config, vip: Ipv4Addr) {
        let key = ServiceKey::Proto { proto: Protocol::Tcp, addr: Addr::v4(vip.octets()), port: FNAT_VPORT };
        let mut spec = ServiceSpec::new(key);
        spec.scheduler = "rr".into();
        cfg.add_service(&spec).expect("fullnat service");
        for rs in RS {
            let mut d = DestSpec::new(Addr::v4(rs.octets()), 80);
            d.fwd = FwdMethod::FullNat;
            cfg.add_dest(&key, &d).expect("fullnat real server");
        }
        for i in 0..LADDRS {
            cfg.add_laddr(&key, Addr::v4(laddr(i).octets())).expect("local address");
        }
    }
}
