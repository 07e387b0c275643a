//! The ipvsadm-compatible command surface of `rvsadm`, without DPDK.
//!
//! Reproduces ipvsadm 1.31 (`ipvsadm.c` and `libipvs`, read from
//! github.com/louygan/ipvsadm at a0e3834, the 1.31 tree with GRE tunnels):
//! - [`parse`] turns an argument vector into a [`Command`] exactly as ipvsadm's
//!   popt-based `parse_options()` / `process_options()` accept or reject it,
//!   with the same messages and exit codes ([`UsageError`]);
//! - [`parse_restore`] reads `-R` input (stricter than ipvsadm: one bad line
//!   rejects everything, so nothing is applied);
//! - [`format`] prints listings byte for byte as ipvsadm's `list_all()`,
//!   `print_service_entry()`, `list_conn()`, `list_timeout()`... do;
//! - [`usage_text`] is `usage_exit()`'s text with `rvsadm` for `ipvsadm`.
//!
//! Deliberate differences: addresses and ports are never resolved to names
//! (no DNS on a director's control path), so `-L` prints what `-L -n` prints
//! and `host[:port]` arguments must be numeric (a few well-known service names
//! like `http` are built in); unknown schedulers and persistence engines are
//! rejected while parsing, with the message ipvsadm prints when the kernel
//! refuses them (`Scheduler or persistence engine not found`, exit 255);
//! `-S` prints fwmarks unsigned (ipvsadm's `%d` saves marks >= 2^31 as
//! negative numbers its own `-R` rejects; `-L` keeps ipvsadm's `%d`).

mod addr;
mod check;
pub mod format;
pub mod model;
mod options;
mod parse;
pub(crate) use parse::MAX_TIMEOUT;
mod popt;
mod restore;
mod sort;
mod usage;

pub use addr::{addrport, ntop, ntop6};
pub use model::*;
pub use parse::{parse, SCHEDULERS};
pub use restore::{parse_restore, parse_restore_lines, RestoreError};
pub use usage::{try_help_text, usage_text, version_line, PROGRAM};

use std::fmt;

/// A rejected command line: what ipvsadm would print on stderr, and its exit
/// status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    /// Exact stderr text, newline-terminated.
    pub message: String,
    /// Process exit status ipvsadm uses for this case.
    pub exit_code: i32,
}

impl UsageError {
    /// `fail(2, msg)`: message and newline, exit 2.
    pub(crate) fn fail(msg: impl Into<String>) -> Self {
        let mut message = msg.into();
        message.push('\n');
        UsageError { message, exit_code: 2 }
    }

    /// `tryhelp_exit(argv[0], -1)`: exit status 255.
    pub(crate) fn try_help() -> Self {
        UsageError { message: try_help_text(), exit_code: 255 }
    }

    /// A popt error inside the option loop: `"%s: %s\n"`, then
    /// `process_options()` returns -1 (exit status 255).
    pub(crate) fn popt(bad: &str, err: popt::PoptError) -> Self {
        UsageError { message: format!("{bad}: {}\n", err.message()), exit_code: 255 }
    }

    /// An error libipvs reports for a refused request (`ipvs_strerror()`),
    /// exit status 255.
    pub(crate) fn kernel(msg: &str) -> Self {
        UsageError { message: format!("{msg}\n"), exit_code: 255 }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.trim_end_matches('\n'))
    }
}

impl std::error::Error for UsageError {}

/// Capabilities a command needs beyond plain ipvsadm services and real servers,
/// so the daemon can answer "not supported yet" for what it lacks ([`Feature::BUILT`]
/// are those it has).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    FullNat,
    Synproxy,
    ProxyProtocol,
    Toa,
    LocalAddress,
    PersistenceEngine,
    OnePacketScheduling,
    TunnelGue,
    TunnelGre,
    SyncDaemon,
}

impl Feature {
    /// What rvs runs; the rest is parsed (so ipvsadm scripts get exact usage errors)
    /// and refused.
    pub const BUILT: &'static [Feature] = &[
        Feature::OnePacketScheduling,
        Feature::FullNat,
        Feature::Synproxy,
        Feature::ProxyProtocol,
        Feature::Toa,
        Feature::LocalAddress,
    ];

    /// The option that asked for the feature.
    pub fn option(self) -> &'static str {
        match self {
            Feature::FullNat => "--fullnat",
            Feature::Synproxy => "--synproxy",
            Feature::ProxyProtocol => "--proxy-protocol",
            Feature::Toa => "--toa",
            Feature::LocalAddress => "--add-laddr/--del-laddr/--get-laddr",
            Feature::PersistenceEngine => "--pe",
            Feature::OnePacketScheduling => "--ops",
            Feature::TunnelGue => "--tun-type gue",
            Feature::TunnelGre => "--tun-type gre",
            Feature::SyncDaemon => "--start-daemon/--stop-daemon",
        }
    }

    /// What the daemon answers when it lacks the feature.
    pub fn not_supported_message(self) -> String {
        format!("{}: not supported yet", self.option())
    }
}

impl Command {
    /// The optional capabilities this command uses.
    pub fn features(&self) -> Vec<Feature> {
        let mut v = Vec::new();
        match self {
            Command::AddService(s, ext) | Command::EditService(s, ext) => {
                if ext.pe.is_some() {
                    v.push(Feature::PersistenceEngine);
                }
                if s.one_packet {
                    v.push(Feature::OnePacketScheduling);
                }
                if s.synproxy {
                    v.push(Feature::Synproxy);
                }
                if s.proxy_protocol.is_some() {
                    v.push(Feature::ProxyProtocol);
                }
                if s.toa {
                    v.push(Feature::Toa);
                }
            }
            Command::AddServer { dest, tunnel, .. } | Command::EditServer { dest, tunnel, .. } => match dest.fwd {
                FwdMethod::FullNat => v.push(Feature::FullNat),
                FwdMethod::Tunnel => match tunnel.tun_type {
                    TunnelType::Gue => v.push(Feature::TunnelGue),
                    TunnelType::Gre => v.push(Feature::TunnelGre),
                    TunnelType::Ipip => {}
                },
                _ => {}
            },
            Command::AddLaddr { .. } | Command::DelLaddr { .. } | Command::GetLaddr { .. } => {
                v.push(Feature::LocalAddress)
            }
            Command::StartDaemon(_) | Command::StopDaemon(_) => v.push(Feature::SyncDaemon),
            Command::List(l) if l.target == ListTarget::Daemon => v.push(Feature::SyncDaemon),
            _ => {}
        }
        v
    }

    /// The virtual service this command names, if any.
    pub fn service_key(&self) -> Option<&ServiceKey> {
        match self {
            Command::AddService(s, _) | Command::EditService(s, _) => Some(&s.key),
            Command::DeleteService(k) | Command::Zero(Some(k)) => Some(k),
            Command::AddServer { service, .. }
            | Command::EditServer { service, .. }
            | Command::DeleteServer { service, .. }
            | Command::AddLaddr { service, .. }
            | Command::DelLaddr { service, .. }
            | Command::GetLaddr { service } => Some(service),
            Command::List(ListSpec { target: ListTarget::Service(k), .. }) => Some(k),
            _ => None,
        }
    }

    /// Refuses a command about a service rvs cannot forward (SCTP, fwmark): ipvsadm
    /// would configure it, rvs would accept it and never match a packet. Exit status 2,
    /// as for options rvs does not support yet.
    pub fn check_forwardable(&self) -> Result<(), UsageError> {
        match self.service_key().map(ServiceKey::check_forwardable) {
            Some(Err(e)) => Err(UsageError::fail(e.to_string())),
            _ => Ok(()),
        }
    }
}
