//! The CPU of each lcore and the EAL's arguments.

/// The CPUs this process may run on (`Cpus_allowed_list`, e.g. "0-3,8"); 0 and 1 if unknown.
fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let list = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).unwrap_or("");
    let mut cpus = Vec::new();
    for r in list.trim().split(',').filter(|r| !r.is_empty()) {
        let (a, b) = r.split_once('-').unwrap_or((r, r));
        if let (Ok(a), Ok(b)) = (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
            cpus.extend(a..=b);
        }
    }
    if cpus.is_empty() {
        cpus = vec![0, 1];
    }
    cpus
}

/// The usable CPUs, one hardware thread of each physical core first, then their
/// siblings, so that lcores running at once get cores of their own while there are enough.
fn ordered_cpus() -> Vec<usize> {
    let topo = |c: usize, f: &str| {
        std::fs::read_to_string(format!("/sys/devices/system/cpu/cpu{c}/topology/{f}"))
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
    };
    let mut seen = Vec::new();
    let mut ranked = Vec::new();
    for c in allowed_cpus() {
        let core = (topo(c, "physical_package_id").unwrap_or(0), topo(c, "core_id").unwrap_or(c as i64));
        ranked.push((seen.iter().filter(|k| **k == core).count(), c));
        seen.push(core);
    }
    ranked.sort_unstable();
    ranked.into_iter().map(|(_, c)| c).collect()
}

/// The CPU of each of `n` lcores (generator g: lcore 2g, worker w: 2w + 1): lcore i on
/// the i-th usable CPU, modulo their number. With two CPUs, the generators share one and
/// the workers the other; one pair (generator 0, worker 0) never shares.
pub(crate) fn lcore_cpus(n: usize) -> Vec<usize> {
    let cpus = ordered_cpus();
    (0..n).map(|i| cpus[i % cpus.len()]).collect()
}

/// `-l 0-(n-1)` when lcore i is CPU i (as before: `-l 0-1` for one worker), else `--lcores`.
fn lcore_args(cpus: &[usize]) -> Vec<String> {
    if cpus.iter().enumerate().all(|(i, &c)| c == i) {
        return vec!["-l".into(), format!("0-{}", cpus.len() - 1)];
    }
    let map: Vec<String> = cpus.iter().enumerate().map(|(i, c)| format!("{i}@{c}")).collect();
    vec![format!("--lcores={}", map.join(","))]
}

/// Whether the lcores of the first `workers` generator/worker pairs share a CPU.
pub(crate) fn sharing(cpus: &[usize], workers: usize) -> bool {
    let used = &cpus[..2 * workers];
    used.iter().enumerate().any(|(i, c)| used[..i].contains(c))
}

pub(crate) fn eal_args(cpus: &[usize]) -> (Vec<String>, String) {
    let prefix = format!("rvs-bench-{}", std::process::id());
    let huge = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("HugePages_Free:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let mut a: Vec<String> = vec!["rvs-bench".into()];
    if huge >= 256 {
        a.extend(["-m", "256"].map(String::from));
    } else {
        a.extend(["--no-huge", "-m", "512"].map(String::from));
    }
    a.extend(["--no-pci", "--no-telemetry", "--log-level=lib.eal:error"].map(String::from));
    a.extend(lcore_args(cpus));
    a.extend(["--vdev=net_ring0", "--vdev=net_ring1"].map(String::from));
    a.push(format!("--file-prefix={prefix}"));
    (a, prefix)
}
