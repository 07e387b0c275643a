//! `real_server` blocks and forwarding methods (keepalived 2.2.7 `check/check_parser.c`),
//! read before the virtual server they belong to is built into services.

use std::net::IpAddr;

use rvs_core::service::FwdMethod;

use super::check::{self, arg, num, unknown, Inherit, RealServerChecks};
use super::lexer::Stmt;
use super::{Diag, Pos};

/// IPVS (and rvs's model) weights are 0-65535, as ipvsadm takes them; keepalived would
/// read up to 2147483647.
pub const MAX_WEIGHT: u32 = 65535;

/// Checkers keepalived 2.2.7 has that rvs's health checker does not.
const OTHER_CHECKERS: &[&str] =
    &["SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "FILE_CHECK", "BFD_CHECK", "track_file"];

/// A real server as read; ports and defaults are settled per service by `vs`.
#[derive(Debug, Clone)]
pub(super) struct RealServer {
    pub pos: Pos,
    pub addr: IpAddr,
    /// None when the file gives none or 0 (keepalived treats both alike).
    pub port: Option<u16>,
    /// Its `lvs_method`, else the virtual server's at the time of the block (keepalived's
    /// `alloc_rs` copies it then), else None: the virtual server's final one.
    pub fwd: Option<FwdMethod>,
    pub weight: Option<u32>,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub inhibit: Option<bool>,
    pub alpha: Option<bool>,
    /// Checkers, notify scripts, smtp_alert, virtualhost; inherited flags set by `vs`.
    pub checks: RealServerChecks,
}

pub(super) fn real_server(
    b: &Stmt,
    fwd_now: Option<FwdMethod>,
    outer: Inherit,
    warnings: &mut Vec<Diag>,
) -> Result<RealServer, Diag> {
    let (a, p) = match b.args() {
        [a] => (a, None),
        [a, p] => (a, Some(p)),
        _ => return Err(b.pos.diag("real_server needs IP [PORT]")),
    };
    let bad = || b.pos.diag(format!("Invalid real server ip address/port {a}/{}", p.map_or("", |p| p.as_str())));
    let addr: IpAddr = a.parse().map_err(|_| bad())?;
    let port = match p {
        None => None,
        Some(p) if p.bytes().all(|b| b == b'0') => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?),
    };
    let mut rs = RealServer {
        pos: b.pos.clone(),
        addr,
        port,
        fwd: fwd_now,
        weight: None,
        u_threshold: 0,
        l_threshold: 0,
        inhibit: None,
        alpha: None,
        checks: RealServerChecks::default(),
    };
    let mut timers = Inherit::default();
    let mut checker_blocks = Vec::new();
    for s in b.block.as_deref().unwrap_or_default() {
        if timers.take(s)? {
            continue;
        }
        let c = &mut rs.checks;
        match s.keyword() {
            "weight" => rs.weight = Some(weight(s, 0)?),
            "lvs_method" => rs.fwd = Some(method(s, "real")?),
            "uthreshold" => rs.u_threshold = num(s, 0, u32::MAX)?,
            "lthreshold" => rs.l_threshold = num(s, 0, u32::MAX)?,
            "inhibit_on_failure" => rs.inhibit = Some(boolean(s)?),
            "alpha" => rs.alpha = Some(boolean(s)?),
            "smtp_alert" => c.smtp_alert = Some(boolean(s)?),
            "virtualhost" => c.virtualhost = Some(arg(s)?.to_string()),
            "notify_up" => c.notify_up = Some(s.args().join(" ")),
            "notify_down" => c.notify_down = Some(s.args().join(" ")),
            "snmp_name" => return Err(snmp(s)),
            "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" if s.block.is_some() => checker_blocks.push(s),
            "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" => return Err(no_block(s)),
            k if OTHER_CHECKERS.contains(&k) => {
                return Err(s.pos.diag(format!(
                    "{k}: rvs's health checker has no {k}; it runs TCP_CHECK, HTTP_GET, SSL_GET and MISC_CHECK"
                )))
            }
            _ => unknown(s, warnings),
        }
    }
    if rs.u_threshold != 0 && rs.l_threshold > rs.u_threshold {
        // keepalived passes it on; IPVS's model (and rvs's) refuse it.
        return Err(b.pos.diag("lthreshold is higher than uthreshold"));
    }
    let t = timers.or(outer);
    for s in checker_blocks {
        rs.checks.checkers.push(check::checker(s, t, warnings)?);
    }
    Ok(rs)
}

/// `weight N`: a real server's may be 0, a virtual server's default starts at 1.
pub(super) fn weight(s: &Stmt, min: u32) -> Result<u32, Diag> {
    let a = arg(s)?;
    match a.parse::<u64>() {
        Ok(w) if w >= u64::from(min) && w <= u64::from(MAX_WEIGHT) => Ok(w as u32),
        Ok(w) if w >= u64::from(min) && w <= i32::MAX as u64 => {
            Err(s.pos.diag(format!("weight {w}: rvs takes weights 0-{MAX_WEIGHT} (IPVS's range as ipvsadm sets it)")))
        }
        _ => Err(s.pos.diag(format!("weight {a} is outside range {min}-{MAX_WEIGHT}"))),
    }
}

/// keepalived's `check_true_false`: no value is true.
pub(super) fn boolean(s: &Stmt) -> Result<bool, Diag> {
    match s.args().first().map(String::as_str) {
        None | Some("true" | "on" | "yes") => Ok(true),
        Some("false" | "off" | "no") => Ok(false),
        Some(v) => Err(s.pos.diag(format!("Invalid {} parameter {v}", s.keyword()))),
    }
}

pub(super) fn no_block(s: &Stmt) -> Diag {
    s.pos.diag(format!("{}: Missing '{{' at beginning of configuration block", s.keyword()))
}

pub(super) fn snmp(s: &Stmt) -> Diag {
    s.pos.diag("snmp_name: rvs has no SNMP agent (its metrics are Prometheus's, [control] metrics); remove it")
}

/// `lb_kind`/`lvs_method`/`sorry_server_lvs_method`: `NAT`, `DR`, `TUN` or DPVS's `FNAT`, then
/// keepalived's tunnel options `type ipip|gue|gre`, `port N`, `csum|nocsum|remcsum`.
/// `what` is keepalived's word for the server ("virtual", "real", "sorry").
pub(super) fn method(s: &Stmt, what: &str) -> Result<FwdMethod, Diag> {
    let m = match arg(s)? {
        "NAT" => FwdMethod::Masq,
        "DR" => FwdMethod::Route,
        "TUN" => FwdMethod::Tunnel,
        // DPVS's keepalived (keepalived 2.2.7 has no FNAT: "unknown [FNAT] routing method").
        "FNAT" => FwdMethod::FullNat,
        m => return Err(s.pos.diag(format!("unknown [{m}] routing method for {what} server"))),
    };
    let opts = &s.args()[1..];
    let (mut i, mut port, mut csum) = (0, false, false);
    while let Some(w) = opts.get(i) {
        let value = opts.get(i + 1).map(String::as_str);
        i += 1;
        match (w.as_str(), value) {
            ("type", Some("ipip")) => i += 1,
            ("type", Some(t @ ("gue" | "gre"))) => {
                return Err(s.pos.diag(format!("TUN type {t}: rvs tunnels with IPIP only; use type ipip or no type")))
            }
            ("type", t) => {
                return Err(s.pos.diag(format!("Unknown tunnel type {} for {what} server", t.unwrap_or(""))));
            }
            ("port", Some(_)) => (port, i) = (true, i + 1),
            ("port", None) => return Err(s.pos.diag(format!("Missing port for {what} server gue tunnel"))),
            ("nocsum", _) => {}
            ("csum" | "remcsum", _) => csum = true,
            (w, _) => return Err(s.pos.diag(format!("Invalid tunnel option {w} for {what} server"))),
        }
    }
    if port {
        return Err(s.pos.diag("gue tunnels require port, otherwise cannot have port"));
    }
    if csum {
        return Err(s.pos.diag("ipip tunnels do not support checksum option"));
    }
    Ok(m)
}
