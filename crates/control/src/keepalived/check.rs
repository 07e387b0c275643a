//! Health-check settings as keepalived 2.2.7 reads them (`check/check_*.c`), kept as
//! plain data with keepalived's defaults; `control::health` runs them.

use std::net::IpAddr;
use std::time::Duration;

use rvs_core::service::FwdMethod;

use super::lexer::Stmt;
use super::Diag;

/// keepalived's defaults (`check_api.c`, `check_http.c`).
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRY: u32 = 1;
pub const DEFAULT_DELAY_BEFORE_RETRY: Duration = Duration::from_secs(1);
pub const DEFAULT_HTTP_DELAY_BEFORE_RETRY: Duration = Duration::from_secs(3);

/// A virtual server's checking settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceChecks {
    pub delay_loop: Duration,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    /// Its port is this service's when the file gives none.
    pub sorry_server: Option<(IpAddr, u16)>,
    /// `sorry_server_lvs_method`, else the virtual server's method (with `sorry_server`).
    pub sorry_server_fwd: Option<FwdMethod>,
    pub sorry_server_inhibit: bool,
    pub inhibit_on_failure: bool,
    pub alpha: bool,
    pub omega: bool,
    pub virtualhost: Option<String>,
    /// `ha_suspend`: checkers run only while the virtual address is local (keepalived:
    /// while VRRP holds it).
    pub ha_suspend: bool,
    /// `smtp_alert [BOOL]`; None: global_defs decides (keepalived).
    pub smtp_alert: Option<bool>,
    /// `virtual_server group NAME`: the group's name.
    pub group: Option<String>,
    /// Set on the second and later services one `virtual_server group` block builds:
    /// the index (in [`super::KeepalivedConf::services`]) of the first. Their real
    /// servers and checkers are the same, in the same order: check them once (on the
    /// first) and apply each real server's state to every member, as keepalived does.
    pub same_checks_as: Option<usize>,
    /// One per real server, in the service's order.
    pub real_servers: Vec<RealServerChecks>,
    /// `lb_kind`: the sorry server's forwarding method (keepalived's `alloc_ssvr` takes
    /// the virtual server's; NAT when unset).
    pub lb_kind: FwdMethod,
}

impl Default for ServiceChecks {
    fn default() -> Self {
        ServiceChecks {
            delay_loop: DEFAULT_DELAY_LOOP,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            sorry_server: None,
            sorry_server_fwd: None,
            sorry_server_inhibit: false,
            inhibit_on_failure: false,
            alpha: false,
            omega: false,
            virtualhost: None,
            ha_suspend: false,
            smtp_alert: None,
            group: None,
            same_checks_as: None,
            real_servers: Vec::new(),
            lb_kind: FwdMethod::Masq,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RealServerChecks {
    /// The real server's `inhibit_on_failure [BOOL]`, else the virtual server's.
    pub inhibit_on_failure: bool,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    pub checkers: Vec<Checker>,
    /// The real server's `alpha [BOOL]`, else the virtual server's.
    pub alpha: bool,
    /// `smtp_alert [BOOL]`; None: global_defs decides (keepalived).
    pub smtp_alert: Option<bool>,
    /// The real server's `virtualhost` (HTTP_GET/SSL_GET's Host when theirs is unset).
    pub virtualhost: Option<String>,
}

/// One checker with its timers resolved (checker, then real server, then virtual
/// server settings, then keepalived's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checker {
    pub kind: CheckerKind,
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub connect_timeout: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    pub warmup: Option<Duration>,
    pub delay_loop: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckerKind {
    Tcp,
    Http(HttpCheck),
    /// SSL_GET: HTTP_GET over TLS.
    Ssl(HttpCheck),
    Misc(MiscCheck),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpCheck {
    pub urls: Vec<UrlCheck>,
    pub virtualhost: Option<String>,
    pub http_protocol: Option<String>,
    pub enable_sni: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlCheck {
    pub path: String,
    pub digest: Option<String>,
    /// Inclusive ranges; empty means keepalived's 200-299.
    pub status_code: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MiscCheck {
    pub misc_path: String,
    pub misc_timeout: Option<Duration>,
    pub misc_dynamic: bool,
    pub user: Option<String>,
}

/// Timers a real server or virtual server sets for its checkers (keepalived 2.x).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Inherit {
    pub connect_timeout: Option<Duration>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub delay_loop: Option<Duration>,
}

impl Inherit {
    /// Takes a timer keyword; false when `s` is not one.
    pub fn take(&mut self, s: &Stmt) -> Result<bool, Diag> {
        match s.keyword() {
            "connect_timeout" => self.connect_timeout = Some(secs(s)?),
            "retry" => self.retry = Some(num(s, 0, u32::MAX)?),
            "delay_before_retry" => self.delay_before_retry = Some(secs(s)?),
            "warmup" => self.warmup = Some(secs(s)?),
            "delay_loop" => self.delay_loop = Some(secs(s)?),
            _ => return Ok(false),
        }
        Ok(true)
    }
    pub fn or(self, o: Inherit) -> Inherit {
        Inherit {
            connect_timeout: self.connect_timeout.or(o.connect_timeout),
            retry: self.retry.or(o.retry),
            delay_before_retry: self.delay_before_retry.or(o.delay_before_retry),
            warmup: self.warmup.or(o.warmup),
            delay_loop: self.delay_loop.or(o.delay_loop),
        }
    }
}

/// The one argument of `s`.
pub(super) fn arg(s: &Stmt) -> Result<&str, Diag> {
    s.args().first().map(String::as_str).ok_or_else(|| s.pos.diag(format!("'{}' needs a value", s.keyword())))
}

pub(super) fn num(s: &Stmt, min: u32, max: u32) -> Result<u32, Diag> {
    let a = arg(s)?;
    match a.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(s.pos.diag(format!("{} '{a}' is not a number in {min}-{max}", s.keyword()))),
    }
}

/// Seconds, decimals allowed (keepalived reads timers as decimals).
pub(super) fn secs(s: &Stmt) -> Result<Duration, Diag> {
    let a = arg(s)?;
    a.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && *v < 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| s.pos.diag(format!("{} '{a}' is not a number of seconds", s.keyword())))
}

pub(super) fn ip(s: &Stmt, a: &str) -> Result<IpAddr, Diag> {
    a.parse().map_err(|_| s.pos.diag(format!("{} '{a}' is not an IP address", s.keyword())))
}

pub(super) fn port(s: &Stmt, a: &str) -> Result<u16, Diag> {
    a.parse().map_err(|_| s.pos.diag(format!("{} '{a}' is not a port", s.keyword())))
}

fn rest(s: &Stmt) -> Result<String, Diag> {
    arg(s)?;
    Ok(s.args().join(" "))
}

fn flag(s: &Stmt) -> bool {
    !matches!(s.args().first().map(String::as_str), Some("false" | "no" | "off" | "0"))
}

pub(super) fn unknown(s: &Stmt, warnings: &mut Vec<Diag>) {
    warnings.push(s.pos.diag(format!("Unknown keyword '{}'", s.keyword())));
}

/// Reads a checker block (`TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK`) whose timers
/// fall back to `outer`.
pub(super) fn checker(b: &Stmt, outer: Inherit, warnings: &mut Vec<Diag>) -> Result<Checker, Diag> {
    let mut kind = match b.keyword() {
        "TCP_CHECK" => CheckerKind::Tcp,
        "HTTP_GET" => CheckerKind::Http(HttpCheck::default()),
        "SSL_GET" => CheckerKind::Ssl(HttpCheck::default()),
        _ => CheckerKind::Misc(MiscCheck::default()),
    };
    let mut own = Inherit::default();
    let (mut connect_ip, mut connect_port, mut bindto, mut bind_port) = (None, None, None, None);
    let misc = matches!(kind, CheckerKind::Misc(_));
    for s in b.block.as_deref().unwrap_or_default() {
        let k = s.keyword();
        if own.take(s)? {
            if misc && k == "connect_timeout" {
                unknown(s, warnings);
            }
            continue;
        }
        match (&mut kind, k) {
            (CheckerKind::Misc(_), "connect_ip" | "connect_port" | "bindto" | "bind_port") => unknown(s, warnings),
            (_, "connect_ip") => connect_ip = Some(ip(s, arg(s)?)?),
            (_, "connect_port") => connect_port = Some(port(s, arg(s)?)?),
            (_, "bindto") => bindto = Some(ip(s, arg(s)?)?),
            (_, "bind_port") => bind_port = Some(port(s, arg(s)?)?),
            (CheckerKind::Http(h) | CheckerKind::Ssl(h), _) => http_kw(s, h, &mut own, warnings)?,
            (CheckerKind::Misc(m), "misc_path") => m.misc_path = rest(s)?,
            (CheckerKind::Misc(m), "misc_timeout") => m.misc_timeout = Some(secs(s)?),
            (CheckerKind::Misc(m), "misc_dynamic") => m.misc_dynamic = flag(s),
            (CheckerKind::Misc(m), "user") => m.user = Some(rest(s)?),
            // keepalived 2.2.7 knows nb_get_retry only in HTTP_GET/SSL_GET: in TCP_CHECK
            // and MISC_CHECK it is an unknown keyword.
            _ => unknown(s, warnings),
        }
    }
    if let CheckerKind::Misc(m) = &kind {
        if m.misc_path.is_empty() {
            return Err(b.pos.diag("MISC_CHECK has no misc_path"));
        }
    }
    let http = matches!(kind, CheckerKind::Http(_) | CheckerKind::Ssl(_));
    let t = own.or(outer);
    Ok(Checker {
        kind,
        connect_ip,
        connect_port,
        bindto,
        bind_port,
        connect_timeout: t.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        // keepalived's misc_check_handler sets `default_retry = 0` for MISC_CHECK.
        retry: t.retry.unwrap_or(if misc { 0 } else { DEFAULT_RETRY }),
        delay_before_retry: t.delay_before_retry.unwrap_or(if http {
            DEFAULT_HTTP_DELAY_BEFORE_RETRY
        } else {
            DEFAULT_DELAY_BEFORE_RETRY
        }),
        warmup: t.warmup,
        delay_loop: t.delay_loop.unwrap_or(DEFAULT_DELAY_LOOP),
    })
}

fn http_kw(s: &Stmt, h: &mut HttpCheck, own: &mut Inherit, warnings: &mut Vec<Diag>) -> Result<(), Diag> {
    match s.keyword() {
        "nb_get_retry" => {
            // keepalived 2.2.7: "nb_get_retry is deprecated - please use 'retry'".
            warnings.push(s.pos.diag("nb_get_retry is deprecated - please use 'retry'"));
            own.retry = Some(num(s, 0, u32::MAX)?);
        }
        "virtualhost" => h.virtualhost = Some(arg(s)?.to_string()),
        "http_protocol" => h.http_protocol = Some(arg(s)?.to_string()),
        "enable_sni" => h.enable_sni = flag(s),
        "url" if s.block.is_some() => h.urls.push(url(s, warnings)?),
        _ => unknown(s, warnings),
    }
    Ok(())
}

fn url(b: &Stmt, warnings: &mut Vec<Diag>) -> Result<UrlCheck, Diag> {
    let mut u = UrlCheck::default();
    for s in b.block.as_deref().unwrap_or_default() {
        match s.keyword() {
            "path" => u.path = arg(s)?.to_string(),
            "digest" => u.digest = Some(arg(s)?.to_string()),
            "virtualhost" => u.virtualhost = Some(arg(s)?.to_string()),
            "status_code" => {
                arg(s)?;
                for a in s.args() {
                    let (lo, hi) = a.split_once('-').unwrap_or((a, a));
                    match (lo.parse::<u16>(), hi.parse::<u16>()) {
                        (Ok(lo), Ok(hi)) if (100..=599).contains(&lo) && (lo..=599).contains(&hi) => {
                            u.status_code.push((lo, hi))
                        }
                        _ => return Err(s.pos.diag(format!("status_code '{a}' is not a code or range in 100-599"))),
                    }
                }
            }
            _ => unknown(s, warnings),
        }
    }
    if u.path.is_empty() {
        return Err(b.pos.diag("url has no path"));
    }
    Ok(u)
}
