//! rvsd: the rvs appliance. Owns the DPDK ports and worker lcores, runs the control
//! thread (metrics, later the admin API), and stops cleanly on SIGINT/SIGTERM.
#![forbid(unsafe_code)]

mod checks;
mod kernel;
mod nic;
mod notify;
mod progress;
mod report;
mod runtime;
mod signals;
mod startup;
mod steer;
mod vrrp;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("RVS_GIT_COMMIT");
pub const DPDK_VERSION: &str = env!("RVS_DPDK_VERSION");

#[derive(Parser, Debug)]
#[command(
    name = "rvsd",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("RVS_GIT_COMMIT"), ", DPDK ", env!("RVS_DPDK_VERSION"), ")"),
    about = "rvs: a DPDK Layer-4 load balancer in the Linux Virtual Server tradition",
    override_usage = "rvsd --config FILE [--restore RULES]\n       rvsd --check-config FILE\n       rvsd --check-keepalived FILE"
)]
struct Args {
    /// Run the appliance with this configuration file.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present_any = ["check_config", "check_keepalived"],
        conflicts_with_all = ["check_config", "check_keepalived"]
    )]
    config: Option<PathBuf>,
    /// Validate this configuration file, and the keepalived.conf its [control] keepalived
    /// names, and exit (0: valid; 1: the first error, as FILE:LINE: KEY: message).
    #[arg(long, value_name = "FILE", conflicts_with = "check_keepalived")]
    check_config: Option<PathBuf>,
    /// Validate a keepalived.conf as rvsd reads it and exit (0: valid; 1: the first
    /// error, as FILE:LINE: message). Warnings are what keepalived logs and goes on from.
    #[arg(long, value_name = "FILE")]
    check_keepalived: Option<PathBuf>,
    /// Load an ipvsadm save file (`ipvsadm -S -n` output) at start, after the
    /// configuration's [[service]] tables: an LVS director's rules migrate unchanged.
    #[arg(long, value_name = "RULES")]
    restore: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = args.check_config {
        return check_config(&path);
    }
    if let Some(path) = args.check_keepalived {
        return check_keepalived(&path);
    }
    let Some(path) = args.config else { return ExitCode::FAILURE };
    // Both files are read before anything starts: an error in either starts nothing.
    let loaded = control::config::load(&path)
        .map_err(|e| e.to_string())
        .and_then(|cfg| control::keepalived::load_for(&cfg).map(|k| (cfg, k)).map_err(|e| e.to_string()));
    let (cfg, keepalived) = match loaded {
        Ok(x) => x,
        Err(e) => {
            eprintln!("rvsd: {e}");
            eprintln!("rvsd: nothing started");
            notify::status(&format!("failed: {e}"));
            return ExitCode::FAILURE;
        }
    };
    for w in keepalived.iter().flat_map(|k| &k.warnings) {
        eprintln!("rvsd: keepalived: {}", w.as_warning());
    }
    for n in keepalived.iter().flat_map(|k| k.notes()) {
        eprintln!("rvsd: keepalived: {}:{}: note: {}", n.pos.file.display(), n.pos.line, n.message);
    }
    match startup::run(cfg, keepalived, args.restore.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rvsd: {e}");
            // systemctl status shows why the start failed.
            notify::status(&format!("failed: {e}"));
            ExitCode::FAILURE
        }
    }
}

/// `--check-config`: the TOML and the keepalived.conf it names.
fn check_config(path: &Path) -> ExitCode {
    let cfg = match control::config::load(path) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("rvsd: {e}");
            return ExitCode::FAILURE;
        }
    };
    let keepalived = match control::keepalived::load_for(&cfg) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("rvsd: {e}");
            return ExitCode::FAILURE;
        }
    };
    for w in keepalived.iter().flat_map(|k| &k.warnings) {
        eprintln!("{}", w.as_warning());
    }
    let k = match (&cfg.control.keepalived, &keepalived) {
        (Some(p), Some(k)) => format!("; keepalived {}: {}", p.display(), summary(k)),
        _ => String::new(),
    };
    println!(
        "{}: ok ({} ports, {} VIPs, {} routes, {} workers, {} services{k})",
        path.display(),
        cfg.ports.len(),
        cfg.vips.len(),
        cfg.routes.len(),
        cfg.workers.lcores.len(),
        cfg.services.len(),
    );
    ExitCode::SUCCESS
}

/// `--check-keepalived`.
fn check_keepalived(path: &Path) -> ExitCode {
    match control::keepalived::load(path) {
        Ok(k) => {
            for w in &k.warnings {
                eprintln!("{}", w.as_warning());
            }
            println!("{}: ok ({})", path.display(), summary(&k));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rvsd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// "N virtual servers (M services), W warnings".
fn summary(k: &control::keepalived::KeepalivedConf) -> String {
    let vs = k.virtual_servers();
    let w = k.warnings.len();
    format!(
        "{vs} virtual server{}, {} service{}, {w} warning{}",
        if vs == 1 { "" } else { "s" },
        k.services.len(),
        if k.services.len() == 1 { "" } else { "s" },
        if w == 1 { "" } else { "s" }
    )
}
