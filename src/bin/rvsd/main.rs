//! rvsd: the rvs appliance. Owns the DPDK ports and worker lcores, runs the control
//! thread (metrics, later the admin API), and stops cleanly on SIGINT/SIGTERM.
#![forbid(unsafe_code)]

mod kernel;
mod nic;
mod report;
mod signals;
mod startup;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("RVS_GIT_COMMIT");
pub const DPDK_VERSION: &str = env!("RVS_DPDK_VERSION");

#[derive(Parser, Debug)]
#[command(
    name = "rvsd",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("RVS_GIT_COMMIT"), ", DPDK ", env!("RVS_DPDK_VERSION"), ")"),
    about = "rvs: a DPDK Layer-4 load balancer in the Linux Virtual Server tradition"
)]
struct Args {
    /// Run the appliance with this configuration file.
    #[arg(long, value_name = "FILE", required_unless_present = "check_config", conflicts_with = "check_config")]
    config: Option<PathBuf>,
    /// Validate this configuration file and exit (0: valid; 1: the first error, as FILE:LINE: KEY: message).
    #[arg(long, value_name = "FILE")]
    check_config: Option<PathBuf>,
    /// Load an ipvsadm save file (`ipvsadm -S -n` output) at start, after the
    /// configuration's [[service]] tables: an LVS director's rules migrate unchanged.
    #[arg(long, value_name = "RULES")]
    restore: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = args.check_config {
        return match control::config::load(&path) {
            Ok(cfg) => {
                println!(
                    "{}: ok ({} ports, {} VIPs, {} routes, {} workers)",
                    path.display(),
                    cfg.ports.len(),
                    cfg.vips.len(),
                    cfg.routes.len(),
                    cfg.workers.lcores.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("rvsd: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(path) = args.config else { return ExitCode::FAILURE };
    let cfg = match control::config::load(&path) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("rvsd: {e}");
            eprintln!("rvsd: nothing started");
            return ExitCode::FAILURE;
        }
    };
    match startup::run(cfg, args.restore.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rvsd: {e}");
            ExitCode::FAILURE
        }
    }
}
