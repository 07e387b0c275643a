//! Root build script: stamps the binaries with what they were built from (git commit and
//! the DPDK version pkg-config found), for `rvsd --version` and the `rvs_build_info`
//! metric. Linking DPDK itself is dpdk-sys's job; nothing else happens here.

use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    // GIT_OPTIONAL_LOCKS=0: `git status` must not refresh and rewrite .git/index, which
    // is an input of this script: it would make every build rebuild the root crate.
    let out = Command::new(cmd).args(args).env("GIT_OPTIONAL_LOCKS", "0").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|s| !s.is_empty())
}

fn main() {
    let commit = output("git", &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = output("git", &["status", "--porcelain", "--untracked-files=no"]).is_some();
    let dpdk = output("pkg-config", &["--modversion", "libdpdk"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=RVS_GIT_COMMIT={commit}{}", if dirty { "-dirty" } else { "" });
    println!("cargo:rustc-env=RVS_DPDK_VERSION={dpdk}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
}
