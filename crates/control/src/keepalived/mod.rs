//! keepalived.conf reader (keepalived 2.2.7's grammar and defaults): `virtual_server`
//! blocks become the same [`ServiceDef`] values a TOML `[[service]]` or rvsadm builds
//! (a `virtual_server group` one per address and port of its `virtual_server_group`,
//! as keepalived installs them in IPVS); checker blocks become plain data ([`check`]);
//! `global_defs` and `vrrp_*` blocks are kept aside for the real keepalived (but for
//! `lvs_sync_daemon`, which rvsd runs itself: [`syncd`]). rvsd reads
//! the file `[control] keepalived` names ([`load_for`], [`apply`]).
//!
//! FullNAT is read in the spelling of DPVS's keepalived fork: `lb_kind`/`lvs_method
//! FNAT`, a top-level `local_address_group` named by `laddr_group_name`, and
//! `proxy_protocol v1|v2` ([`laddr`], [`vs`]); the SYN proxy as its `syn_proxy`.
//!
//! What keepalived 2.2.7 logs and goes on from (unknown keywords, an extra `}`, a missing
//! `protocol`/`lb_algo`/`lb_kind`) is a warning with file:line; `keepalived -t` fails on
//! those, and so does [`config_test`]. What rvs cannot build or serve is an error:
//! firewall marks, SCTP, GUE/GRE tunnels, persistence engines, checkers other than
//! TCP_CHECK, HTTP_GET, SSL_GET and MISC_CHECK; also a few things keepalived accepts and
//! then drops silently (a group that is not defined, defined twice, or mixing families
//! for one virtual server; FNAT without local addresses; `syn_proxy` on UDP or with DR
//! or TUN real servers).

pub mod check;
mod declared;
mod group;
mod laddr;
mod lexer;
mod rs;
pub mod syncd;
mod vs;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

pub use check::{Checker, CheckerKind, HttpCheck, MiscCheck, RealServerChecks, ServiceChecks, UrlCheck};
pub use declared::{apply, declared, load_for};
pub use group::MAX_GROUP_SERVICES;
pub use lexer::Stmt;
use rvs_core::service::ServiceDef;

/// A place in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    pub file: Arc<Path>,
    /// 1-based.
    pub line: usize,
}

impl Pos {
    pub fn diag(&self, message: impl Into<String>) -> Diag {
        Diag { pos: self.clone(), message: message.into() }
    }
}

/// An error or warning, printed `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.pos.file.display(), self.pos.line, self.message)
    }
}

impl std::error::Error for Diag {}

impl Diag {
    /// `file:line: warning: message`.
    pub fn as_warning(&self) -> String {
        format!("{}:{}: warning: {}", self.pos.file.display(), self.pos.line, self.message)
    }
}

/// A keepalived configuration as rvs reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeepalivedConf {
    /// One per `virtual_server` (a `virtual_server group`: one per address and port of
    /// the group, in its order), in file order.
    pub services: Vec<ServiceDef>,
    /// Health-check settings of `services[i]` (same index).
    pub checks: Vec<ServiceChecks>,
    /// The `virtual_server` line of `services[i]` (same index).
    pub places: Vec<Pos>,
    /// `global_defs`, `vrrp_*` and other blocks for the real keepalived, and `SSL`
    /// (SSL_GET's TLS context) for the health checker, untouched.
    pub kept: Vec<Stmt>,
    /// What keepalived would log and go on from.
    pub warnings: Vec<Diag>,
    /// `global_defs`' `lvs_sync_daemon`, with its VRRP instance's addresses.
    pub sync_daemon: Option<syncd::LvsSyncDaemon>,
}

impl KeepalivedConf {
    /// How many `virtual_server` blocks built services (a group's services share one).
    pub fn virtual_servers(&self) -> usize {
        self.checks.iter().filter(|c| c.same_checks_as.is_none()).count()
    }

    /// What keepalived would do with these settings that rvs does not (they are valid
    /// keepalived, so not warnings; rvsd says so at start rather than ignore them
    /// silently): mail alerts, and suspending checks while VRRP is BACKUP.
    pub fn notes(&self) -> Vec<Diag> {
        let mut out = Vec::new();
        for (c, pos) in self.checks.iter().zip(&self.places).filter(|(c, _)| c.same_checks_as.is_none()) {
            if c.smtp_alert == Some(true) || c.real_servers.iter().any(|r| r.smtp_alert == Some(true)) {
                out.push(
                    pos.diag("smtp_alert: rvs sends no mail; transitions are logged and exported (rvs_real_server_up)"),
                );
            }
            if c.ha_suspend {
                out.push(
                    pos.diag("ha_suspend: rvs does not follow VRRP yet; checks run whatever the instance's state"),
                );
            }
        }
        out
    }
}

/// Top-level blocks keepalived 2.2.7 knows that rvs does not build services from.
const KEPT: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_sync_group",
    "vrrp_script",
    "vrrp_track_process",
    "track_file",
    "vrrp_track_file",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "linkbeat_interfaces",
    "net_namespace",
    "use_pid_dir",
    "instance",
    // SSL_GET's TLS context (password, ca, certificate, key): for the health checker.
    "SSL",
];

/// Reads `path`; warnings are in the result, the first error is returned.
pub fn load(path: &Path) -> Result<KeepalivedConf, Diag> {
    let mut conf = KeepalivedConf::default();
    let stmts = lexer::read(path, &mut conf.warnings)?;
    // keepalived links groups after reading everything: they may follow their use.
    let groups = named(&stmts, "virtual_server_group", group::group, |g| (&g.name, &g.pos))?;
    let laddrs = named(&stmts, "local_address_group", laddr::laddr_group, |g| (&g.name, &g.pos))?;
    for s in stmts {
        match s.keyword() {
            "virtual_server" => {
                let first = conf.services.len();
                let built = vs::virtual_server(&s, &groups, &laddrs, first, &mut conf.warnings)?;
                for (def, checks) in built.unwrap_or_default() {
                    conf.services.push(def);
                    conf.checks.push(checks);
                    conf.places.push(s.pos.clone());
                }
            }
            "virtual_server_group" | "local_address_group" => {}
            k if KEPT.contains(&k) || k.starts_with("vrrp_") => conf.kept.push(s),
            k => conf.warnings.push(s.pos.diag(format!("Unknown keyword '{k}'"))),
        }
    }
    check_together(&conf)?;
    conf.sync_daemon = syncd::read(&conf.kept)?;
    Ok(conf)
}

/// Every top-level `keyword` block, read by `read`; a name defined twice is an error
/// (keepalived would use the first and ignore the other silently).
fn named<T>(
    stmts: &[Stmt],
    keyword: &str,
    read: fn(&Stmt) -> Result<T, Diag>,
    id: fn(&T) -> (&String, &Pos),
) -> Result<Vec<T>, Diag> {
    let mut out: Vec<T> = Vec::new();
    for s in stmts.iter().filter(|s| s.keyword() == keyword) {
        let g = read(s)?;
        let (name, _) = id(&g);
        if let Some(o) = out.iter().find(|o| id(o).0 == name) {
            return Err(s.pos.diag(format!("{keyword} {name} is already defined at {}", place(id(o).1))));
        }
        out.push(g);
    }
    Ok(out)
}

/// The model's own rules across services (duplicates, families), at the offending block.
fn check_together(conf: &KeepalivedConf) -> Result<(), Diag> {
    let Err(e) = crate::services::build(&conf.services, u32::MAX) else { return Ok(()) };
    let (Some(def), Some(at)) = (conf.services.get(e.service), conf.places.get(e.service)) else {
        let pos = conf.places.first().cloned().unwrap_or(Pos { file: Arc::from(Path::new("")), line: 0 });
        return Err(pos.diag(e.error.to_string()));
    };
    let label = crate::metrics::service_label(&def.spec.key);
    let first = conf.services.iter().position(|d| d.spec.key == def.spec.key).and_then(|i| conf.places.get(i));
    Err(match (&e.error, first, e.real_server) {
        (rvs_core::service::ConfigError::ServiceExists, Some(p), None) => {
            at.diag(format!("{label} is already a virtual server at {}", place(p)))
        }
        (err, _, Some(j)) => {
            let d = def.dests.get(j).map(|d| rvs_core::addr::fmt_addr_port(d.addr, d.port)).unwrap_or_default();
            at.diag(format!("{label}: real server {d}: {err}"))
        }
        (err, _, None) => at.diag(format!("{label}: {err}")),
    })
}

/// `file:line`.
pub(crate) fn place(p: &Pos) -> String {
    format!("{}:{}", p.file.display(), p.line)
}

/// `keepalived -t`: the configuration, or every error and warning (the first error last).
pub fn config_test(path: &Path) -> Result<KeepalivedConf, Vec<Diag>> {
    match load(path) {
        Ok(c) if c.warnings.is_empty() => Ok(c),
        Ok(c) => Err(c.warnings),
        Err(e) => Err(vec![e]),
    }
}
