//! keepalived.conf reader (keepalived 2.2.7's grammar and defaults): `virtual_server`
//! blocks become the same [`ServiceDef`] values a TOML `[[service]]` or rvsadm builds;
//! checker blocks become plain data ([`check`]); `global_defs` and `vrrp_*` blocks are
//! kept aside for the real keepalived. Not yet wired into rvsd.
//!
//! What keepalived 2.2.7 logs and goes on from (unknown keywords, an extra `}`, a missing
//! `protocol`/`lb_algo`/`lb_kind`) is a warning with file:line; `keepalived -t` fails on
//! those, and so does [`config_test`]. What rvs cannot build is an error.

pub mod check;
mod lexer;
mod vs;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

pub use check::{Checker, CheckerKind, HttpCheck, MiscCheck, RealServerChecks, ServiceChecks, UrlCheck};
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

/// A keepalived configuration as rvs reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeepalivedConf {
    /// One per `virtual_server`, in file order.
    pub services: Vec<ServiceDef>,
    /// Health-check settings of `services[i]` (same index).
    pub checks: Vec<ServiceChecks>,
    /// `global_defs`, `vrrp_*` and other blocks for the real keepalived, untouched.
    pub kept: Vec<Stmt>,
    /// What keepalived would log and go on from.
    pub warnings: Vec<Diag>,
}

/// Top-level blocks keepalived 2.2.7 knows that rvs leaves to keepalived.
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
];

/// Reads `path`; warnings are in the result, the first error is returned.
pub fn load(path: &Path) -> Result<KeepalivedConf, Diag> {
    let mut conf = KeepalivedConf::default();
    let stmts = lexer::read(path, &mut conf.warnings)?;
    let mut at = Vec::new();
    for s in stmts {
        match s.keyword() {
            "virtual_server" => {
                let (def, checks) = vs::virtual_server(&s, &mut conf.warnings)?;
                conf.services.push(def);
                conf.checks.push(checks);
                at.push(s.pos.clone());
            }
            "virtual_server_group" => {
                return Err(s.pos.diag("virtual_server_group is not supported by rvs yet"));
            }
            k if KEPT.contains(&k) || k.starts_with("vrrp_") => conf.kept.push(s),
            k => conf.warnings.push(s.pos.diag(format!("Unknown keyword '{k}'"))),
        }
    }
    if !at.is_empty() {
        vs::check_together(&conf, &at)?;
    }
    Ok(conf)
}

/// `keepalived -t`: the configuration, or every error and warning (the first error last).
pub fn config_test(path: &Path) -> Result<KeepalivedConf, Vec<Diag>> {
    match load(path) {
        Ok(c) if c.warnings.is_empty() => Ok(c),
        Ok(c) => Err(c.warnings),
        Err(e) => Err(vec![e]),
    }
}
