//! Generates DPDK bindings with bindgen from the system DPDK (found through pkg-config,
//! module `libdpdk`), compiles the C shim for DPDK's static-inline functions, and emits
//! the link flags. Dependents see `DEP_DPDK_INCLUDE` / `DEP_DPDK_CFLAGS` (links = "dpdk").

use std::env;
use std::path::PathBuf;
use std::process::Command;

const SETUP_HINT: &str = "DPDK not found via pkg-config (libdpdk). Run scripts/setup \
     (installs libdpdk-dev, dpdk, clang, libclang-dev, pkg-config)";

fn pkg_config(args: &[&str]) -> Result<String, String> {
    let exe = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let out = Command::new(&exe).args(args).output().map_err(|e| format!("cannot run `{exe}`: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{exe} {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn fail(detail: &str) -> ! {
    // A panic message is what cargo shows for a failing build script; make it actionable.
    panic!("\n\n{SETUP_HINT}\n  ({detail})\n\n");
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc/shim.h");
    println!("cargo:rerun-if-changed=csrc/shim.c");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_LIBDIR");

    let version = pkg_config(&["--modversion", "libdpdk"]).unwrap_or_else(|e| fail(&e));
    let cflags = pkg_config(&["--cflags", "libdpdk"]).unwrap_or_else(|e| fail(&e));
    let libs = pkg_config(&["--libs", "libdpdk"]).unwrap_or_else(|e| fail(&e));
    if !version.starts_with("22.11") {
        println!("cargo:warning=dpdk-sys was written against DPDK 22.11; found libdpdk {version}");
    }
    let cflags: Vec<String> = cflags.split_whitespace().map(str::to_string).collect();

    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let csrc = manifest.join("csrc");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());

    // ---- link flags --------------------------------------------------------------
    // Rust links with --as-needed, so only the rte_* libraries whose symbols we use stay
    // as DT_NEEDED. That is enough: Debian builds DPDK with a default driver directory
    // (RTE_EAL_PMD_PATH) and librte_eal dlopen()s every PMD plugin from it at
    // rte_eal_init (net_ring, net_af_packet, net_null, mempool_ring, ...); each plugin
    // carries its own DT_NEEDED entries. Verified by the tests (--vdev=net_ring0).
    for t in libs.split_whitespace() {
        if let Some(dir) = t.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(lib) = t.strip_prefix("-l") {
            println!("cargo:rustc-link-lib={lib}");
        } else if t.starts_with("-Wl,--as-needed") || t.starts_with("-pthread") {
            // rustc already links with --as-needed and pthread.
        } else if t == "-Wl,--whole-archive" || t == "-Wl,--no-whole-archive" {
            // Only used by static DPDK (pkg-config --static); not supported here.
        } else {
            println!("cargo:warning=dpdk-sys: ignoring link flag from pkg-config: {t}");
        }
    }

    // ---- C shim ------------------------------------------------------------------
    let mut cc = cc::Build::new();
    cc.file(csrc.join("shim.c")).include(&csrc).opt_level(3).warnings(true);
    let mut it = cflags.iter();
    while let Some(f) = it.next() {
        if f == "-include" {
            if let Some(h) = it.next() {
                cc.flag("-include").flag(h);
            }
        } else if let Some(dir) = f.strip_prefix("-I") {
            cc.include(dir);
        } else {
            cc.flag(f);
        }
    }
    cc.compile("rvs_dpdk_shim");

    let includes: Vec<&str> = cflags.iter().filter_map(|f| f.strip_prefix("-I")).collect();
    println!(
        "cargo:include={}",
        std::iter::once(csrc.to_str().unwrap()).chain(includes.iter().copied()).collect::<Vec<_>>().join(":")
    );
    println!("cargo:cflags={}", cflags.join(" "));

    // ---- bindings ----------------------------------------------------------------
    let bindings = bindgen::Builder::default()
        .header(csrc.join("shim.h").to_str().unwrap())
        .clang_args(cflags.iter())
        .clang_arg(format!("-I{}", csrc.display()))
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .allowlist_function("rte_.*")
        .allowlist_function("rvs_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*")
        .allowlist_var("RVS_.*")
        .allowlist_var("RING_F_.*")
        .allowlist_var("MEMPOOL_F_.*")
        .allowlist_var("SOCKET_ID_ANY")
        .allowlist_var("LCORE_ID_ANY")
        // Packed structs with aligned members: Rust rejects their generated layouts.
        .opaque_type("rte_arp_ipv4")
        .opaque_type("rte_arp_hdr")
        .opaque_type("rte_l2tpv2_.*")
        .opaque_type("rte_gtp_.*")
        .derive_default(true)
        .derive_debug(false)
        .prepend_enum_name(false)
        .generate_comments(false)
        .layout_tests(true)
        .generate()
        .unwrap_or_else(|e| {
            panic!("bindgen failed over the DPDK headers ({e}); is libclang-dev installed? Run scripts/setup")
        });
    bindings.write_to_file(out.join("bindings.rs")).expect("write bindings.rs");
    println!("cargo:rustc-env=RVS_DPDK_VERSION={version}");
}
