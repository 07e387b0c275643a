//! rvs-gen in the lab: the generator runs in `rvs-client` on a DPDK af_packet port over
//! cli0, with source addresses of its own (10.0.1.100–199, which it answers the router's
//! ARP for), and opens TCP connections (SYN, ACK, FIN) at a fixed rate for a few seconds:
//! to the NAT VIP through rvsd, then to a real server directly through the router
//! (kernel only), printed side by side; then HTTP GETs, HTTP GETs as fast as they go
//! beside wrk (the lab bench's generator) in the same run, and a short SYN flood at the VIP.
//!
//! The client's kernel owns cli0 too and sees the SYN-ACKs for rvs-gen's addresses; they
//! are not its addresses and it does not forward, so it drops them without a reset: an
//! nftables counter in the namespace checks that it sends no reset from those addresses.
//!
//! The generator runs in this test binary, re-executed inside the namespace (the
//! `gen_child` test, a no-op unless `RVS_GEN_CHILD_ARGS` is set), so the EAL gets a
//! process of its own.

mod common;

use std::process::Command;

use common::{lab_config, ns_ok, write_config, Lab, Rvsd};

const CHILD: &str = "RVS_GEN_CHILD_ARGS";
const RATE: u64 = 1000;
const SECS: f64 = 3.0;

/// Runs rvs-gen with the arguments in `RVS_GEN_CHILD_ARGS` (0x1f-separated); see the
/// module docs.
#[test]
fn gen_child() {
    let Ok(args) = std::env::var(CHILD) else { return };
    let argv = std::iter::once("rvs-gen".to_string()).chain(args.split('\x1f').map(String::from));
    assert_eq!(rvs_gen::cli::main_with(argv), 0, "rvs-gen failed");
}

/// rvs-gen's JSON report of a connect run to `dst` from the client namespace.
fn connect(dst: &str, label: &str) -> String {
    let (rate, secs) = (RATE.to_string(), SECS.to_string());
    gen(&["--mode", "connect", "--dst", dst, "--rate", &rate, "--duration", &secs, "--timeout-ms", "2000"], label)
}

/// rvs-gen with `args` (its source addresses and gateway added) in the client namespace;
/// its JSON report.
fn gen(args: &[&str], label: &str) -> String {
    gen_on(args, label, "0", "")
}

/// [`gen`] on EAL lcores `lcores`, with `vdev_args` added to the af_packet vdev.
fn gen_on(args: &[&str], label: &str, lcores: &str, vdev_args: &str) -> String {
    let prefix = format!("rvs-gen-{}-{label}", std::process::id());
    let args = [
        args,
        &[
            "--src",
            "10.0.1.100-10.0.1.199",
            "--gw-ip",
            "10.0.1.1",
            "--json",
            "--",
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--no-telemetry",
            "-l",
            lcores,
            "--log-level=lib.eal:error",
            &format!("--file-prefix={prefix}"),
            &format!("--vdev=net_af_packet0,iface=cli0{vdev_args}"),
        ],
    ]
    .concat()
    .join("\x1f");
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("ip")
        .args(["netns", "exec", "rvs-client"])
        .arg(exe)
        .args(["gen_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, args)
        .output()
        .expect("run rvs-gen");
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "rvs-gen {label}: {}\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
    // libtest may print "test gen_child ... " in front of it.
    let at = stdout.find("{\"mode\"").unwrap_or_else(|| panic!("no JSON report from rvs-gen: {stdout}"));
    stdout[at..].lines().next().unwrap_or_default().to_string()
}

/// The number after `"key": ` in `json` (the first occurrence after `after`).
fn field(json: &str, after: &str, key: &str) -> f64 {
    let from = json.find(after).unwrap_or(0);
    let pat = format!("\"{key}\": ");
    let at = json[from..].find(&pat).unwrap_or_else(|| panic!("{key} in {json}")) + from + pat.len();
    let num: String = json[at..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    num.parse().unwrap_or_else(|_| panic!("{key} in {json}"))
}

/// Count, in the client's namespace, the TCP resets its kernel sends from rvs-gen's
/// addresses (a reset for one of rvs-gen's connections would carry one of them).
fn watch_resets() {
    ns_ok("rvs-client", &["nft", "add", "table", "ip", "rvsgen"]);
    ns_ok("rvs-client", &["nft", "add", "chain", "ip", "rvsgen", "out", "{ type filter hook output priority 0 ; }"]);
    ns_ok(
        "rvs-client",
        &[
            "nft",
            "add",
            "rule",
            "ip",
            "rvsgen",
            "out",
            "ip",
            "saddr",
            "10.0.1.100-10.0.1.199",
            "tcp",
            "flags",
            "rst",
            "counter",
        ],
    );
}

fn resets_sent() -> u64 {
    let t = ns_ok("rvs-client", &["nft", "list", "table", "ip", "rvsgen"]);
    let at = t.find("packets ").unwrap_or_else(|| panic!("nft counter: {t}")) + "packets ".len();
    t[at..].split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("nft counter: {t}"))
}

struct Run {
    attempted: f64,
    completed: f64,
    cps: f64,
    failed: f64,
    syn_ack: [f64; 5],
}

fn check(name: &str, json: &str) -> Run {
    let c = "\"connections\"";
    let s = "\"syn_ack_us\"";
    let r = Run {
        attempted: field(json, c, "attempted"),
        completed: field(json, c, "completed"),
        cps: field(json, c, "cps"),
        failed: field(json, c, "reset") + field(json, c, "timeouts"),
        syn_ack: ["p50", "p90", "p99", "p99.9", "max"].map(|k| field(json, s, k)),
    };
    assert!(r.completed > 0.0, "{name}: no connection completed: {json}");
    // Every connection is opened at the rate; a handful may be lost (no retransmission).
    assert!(r.failed <= 5.0 + r.attempted * 0.01, "{name}: too many resets or timeouts: {json}");
    assert!(r.completed + r.failed >= r.attempted, "{name}: connections unaccounted for: {json}");
    r
}

#[test]
fn lab_gen() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let _lab = Lab::up();
    let services = "[[service]]\ntcp = \"10.0.2.100:80\"\nscheduler = \"rr\"\n\
        [[service.real_server]]\naddress = \"10.0.3.11:80\"\nmethod = \"masq\"\n\
        [[service.real_server]]\naddress = \"10.0.3.12:80\"\nmethod = \"masq\"\n";
    let path = write_config("gen", &lab_config(services));
    let rvsd = Rvsd::start(&path);
    watch_resets();

    let vip = connect("10.0.2.100:80", "vip");
    println!("rvs-gen connect via rvsd (NAT VIP): {vip}");
    // The router resolved rvs-gen's addresses by ARP, from rvs-gen's answers.
    let cli0_mac = ns_ok("rvs-client", &["cat", "/sys/class/net/cli0/address"]);
    let neigh = ns_ok("rvs-router", &["ip", "neigh", "show", "dev", "rtr-cli"]);
    assert!(
        neigh.lines().any(|l| l.starts_with("10.0.1.1") && l.contains(cli0_mac.trim()) && !l.starts_with("10.0.1.2 ")),
        "router's neighbours on rtr-cli: {neigh}"
    );

    // With an HTTP GET after the handshake (nginx answers, then both sides close).
    let http =
        gen(&["--mode", "connect", "--http", "--dst", "10.0.2.100:80", "--rate", "500", "--duration", "2"], "http");
    println!("rvs-gen connect --http via rvsd: {http}");

    // As many as it can (50 open at most) beside the lab bench's generator, wrk with 50
    // connections and `Connection: close` (benches/lab.sh), 2 s each, through rvsd.
    let max = gen(
        &[
            "--mode",
            "connect",
            "--http",
            "--dst",
            "10.0.2.100:80",
            "--rate",
            "0",
            "--max-open",
            "50",
            "--duration",
            "2",
            "--idle-sleep-us",
            "50",
        ],
        "max",
    );
    println!("rvs-gen connect --http, 50 open, as fast as it can, via rvsd: {max}");
    let wrk = ns_ok("rvs-client", &["wrk", "-t2", "-c50", "-d2s", "-H", "Connection: close", "http://10.0.2.100/"]);
    let wrk_rps: f64 = wrk
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("wrk: {wrk}"));
    let max_cps = field(&max, "\"connections\"", "cps");
    assert!(max_cps > 0.0, "rvs-gen at full speed completed nothing: {max}");

    // Directly to rs1 through the router: its replies to the client subnet go back via the
    // router (in NAT they go via rvsd's lan address, its default route).
    ns_ok("rvs-rs1", &["ip", "route", "add", "10.0.1.0/24", "via", "10.0.3.254"]);
    let direct = connect("10.0.3.11:80", "direct");
    println!("rvs-gen connect direct (10.0.3.11:80, kernel only): {direct}");
    let rsts = resets_sent();
    ns_ok("rvs-rs1", &["ip", "route", "del", "10.0.1.0/24", "via", "10.0.3.254"]);

    // SYNs only, from the source range, at the VIP: the servers' SYN-ACKs come back
    // through rvsd.
    let flood = gen(&["--mode", "synflood", "--dst", "10.0.2.100:80", "--rate", "2000", "--duration", "1"], "flood");
    println!("rvs-gen synflood via rvsd: {flood}");

    // On two lcores, a queue pair each (af_packet qpairs=2: the kernel's fanout spreads
    // the replies; one on the other lcore's queue goes to its owner over a ring).
    let two = gen_on(
        &[
            "--mode",
            "connect",
            "--dst",
            "10.0.2.100:80",
            "--rate",
            "1000",
            "--duration",
            "2",
            "--lcores",
            "0,1",
            "--idle-sleep-us",
            "50",
        ],
        "lcores",
        "0-1",
        ",qpairs=2",
    );
    println!("rvs-gen connect on 2 lcores via rvsd: {two}");
    drop(rvsd);
    let t = check("2 lcores via rvsd", &two);
    assert_eq!(two.matches("\"lcore\": ").count(), 2, "not 2 lcores: {two}");
    assert!(t.completed > 1000.0, "2 lcores: {two}");
    let h = check("http via rvsd", &http);
    assert!(field(&flood, "", "syn_acks") > 0.0, "no SYN-ACK came back to the SYN flood: {flood}");

    let (v, d) = (check("via rvsd", &vip), check("direct", &direct));
    println!("\nrvs-gen connect, {RATE}/s for {SECS} s, SYN -> ACK -> FIN (HTTP row: GET, reply, then FIN); SYN -> SYN-ACK latency:");
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "", "attempted", "completed", "conn/s", "failed", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us"
    );
    for (name, r) in [("NAT VIP via rvsd", &v), ("real server direct", &d), ("NAT VIP, HTTP GET, 500/s", &h)] {
        println!(
            "{name:<28} {:>9} {:>9} {:>9.0} {:>7} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            r.attempted,
            r.completed,
            r.cps,
            r.failed,
            r.syn_ack[0],
            r.syn_ack[1],
            r.syn_ack[2],
            r.syn_ack[3],
            r.syn_ack[4]
        );
    }
    println!("SYN -> SYN-ACK p50 via rvsd / direct: {:.2}x", v.syn_ack[0] / d.syn_ack[0].max(1e-9));
    println!(
        "as fast as they go through rvsd, 2 s, 50 connections open, GET then close: rvs-gen {max_cps:.0} conn/s \
         (reset {}, timeouts {}), wrk {wrk_rps:.0} requests/s: rvs-gen / wrk {:.2}x",
        field(&max, "\"connections\"", "reset"),
        field(&max, "\"connections\"", "timeouts"),
        max_cps / wrk_rps.max(1e-9)
    );
    assert_eq!(rsts, 0, "the client's kernel reset {rsts} connections of rvs-gen's");
}
