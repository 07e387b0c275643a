//! DPDK's runtime directory (`/var/run/dpdk/<file-prefix>`) from rvsd's side: who holds
//! it when the EAL refuses to start, and removing it when rvsd stops (DPDK 22.11 leaves
//! it behind even after a clean exit).

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// The `--file-prefix` in the EAL arguments (DPDK's default: `rte`).
pub fn file_prefix(args: &[String]) -> String {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(p) = a.strip_prefix("--file-prefix=") {
            return p.to_string();
        }
        if a == "--file-prefix" {
            if let Some(p) = it.next() {
                return p.clone();
            }
        }
    }
    "rte".into()
}

/// Where DPDK keeps a primary process's runtime files (eal_get_runtime_dir: root's
/// under /var/run, others' under $XDG_RUNTIME_DIR or /tmp).
pub fn dir(prefix: &str) -> PathBuf {
    let base = if is_root() {
        PathBuf::from("/var/run")
    } else {
        std::env::var_os("XDG_RUNTIME_DIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
    };
    base.join("dpdk").join(prefix)
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// The pid of another process that holds the runtime directory's `config` lock (the
/// primary process DPDK refuses to start a second one beside), from /proc/locks.
pub fn holder(prefix: &str) -> Option<u32> {
    let ino = std::fs::metadata(dir(prefix).join("config")).ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (pid, dev) = (f.get(4)?, f.get(5)?);
        let pid: u32 = pid.parse().ok()?;
        (dev.rsplit(':').next()?.parse::<u64>().ok()? == ino && pid != std::process::id()).then_some(pid)
    })
}

/// Remove the runtime directory at a clean stop, unless another process holds it.
pub fn remove(prefix: &str) {
    if holder(prefix).is_none() {
        let _ = std::fs::remove_dir_all(dir(prefix));
    }
}
