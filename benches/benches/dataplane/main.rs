//! Data-path throughput of one or several workers over DPDK `net_ring` ports.
//!
//! Two `net_ring` devices stand for the director's wan (port 0) and lan (port 1). A
//! net_ring queue's tx feeds the same queue's rx, so each device gets two queue pairs per
//! worker: worker w's generator sends into queue 2w, which worker w receives; worker w
//! sends on queue 2w + 1, which its generator receives (one worker: queues 0 and 1, as
//! before). Each worker is the real loop, `dataplane::run`, with a real `Director`
//! (services, connection table, neighbour table, routes) on its own lcore; several
//! workers share an owner `Directory` and redirect rings, as rvsd wires them. Each worker
//! has its own generator lcore (generator g on lcore 2g, the main lcore for g = 0; worker
//! w on lcore 2w + 1), so the generator is not what limits several workers.
//!
//! With several workers every frame is placed as a NIC's Toeplitz RSS would with rvs's
//! configuration (`Rss::new(DEFAULT_KEY, workers, 128)`, the client's address alone): by
//! source address on the wan port (it holds the VIPs), by destination on lan (NAT replies
//! to clients), except FullNAT replies to a local address, which go to the worker their
//! port's low bits name (`lport_owner`, the rte_flow rule rvs asks of a NIC). Generator g
//! stands for RSS queue g: it drives only the clients RSS gives
//! worker g (the flows, new clients and persistent clients are split by their RSS queue),
//! and checks every frame's queue before sending it (a frame RSS would give another worker
//! is counted as misplaced and replaced). So "no packet crosses between workers" is
//! measured, from each worker's `redirects_out`/`redirects_in`, not assumed.
//!
//! A generator keeps a fixed number of packets in flight and recycles every mbuf its
//! worker sends back into the next packet of its "chain" (the next flow's packet, or
//! the next packet of a TCP exchange: a returned SYN towards a real server becomes that
//! server's SYN-ACK), so it never allocates and reacts to what the director really did.
//! 64-byte frames on the wire (60 bytes + FCS): Ethernet, IPv4 (checksum filled in;
//! rvs verifies it), TCP with 6 bytes of payload (its checksum is not filled in: rvs
//! never verifies it, NAT adjusts it incrementally). A chain's state travels in the IP
//! ID and its client in the payload, which no forwarding method rewrites (FullNAT
//! rewrites both addresses and the client's sequence numbers). The generators populate
//! their flows, wait for each other, then share one warm-up and one measured window.
//!
//! Cases, each with fresh workers:
//! - io-forward baseline: the same harness, `WorkerConfig::bypass` (rx → swap MACs → tx);
//!   the generator re-sends what comes back unchanged, so that it is not the limit.
//!   Measured first and last; the mean is the baseline.
//! - established NAT / FullNAT / DR / TUN at 1,000 and 1,000,000 flows (in total, spread
//!   over the workers by RSS): one SYN per flow first (connection table populated by the
//!   director itself), then ACKs with 6 bytes of data over the flows in a scattered order
//!   (stride 7919). NAT and FullNAT alternate client→server and the server's reply (both
//!   directions cross the director; a FullNAT reply goes to LADDR:lport, and the client
//!   checks its acknowledgement came back through the ISN offset); DR and TUN carry the
//!   client's direction only (replies bypass it). FullNAT runs its own configuration (the
//!   NAT VIP, port 81, 63 local addresses; sequence state for every connection).
//! - new connections NAT / FullNAT / DR / TUN: SYN, SYN-ACK, ACK, FIN, FIN, ACK for NAT
//!   and FullNAT (6 packets through the director), SYN, ACK, FIN, ACK for DR/TUN (4); every
//!   completed exchange starts the next client.
//! - SYN proxy (`synproxy`, a SYN-proxied NAT service on 10.0.2.103:80): a SYN flood from
//!   random clients, each cookie SYN-ACK turned into the next SYN (cookie SYN-ACKs/s; the
//!   table must stay empty); new connections through the proxy, each step computed from
//!   what the director sent (the client's ACK from the cookie SYN-ACK, the server's
//!   SYN-ACK from the director's SYN), beside "new connections nat" in the same run.
//! - mix: 1M established flows spread over the NAT, DR and TUN services, 1 chain in 10 of
//!   in-flight packets running new NAT connections.
//! - RSS placement, max(2, `RVS_BENCH_WORKERS`) workers: established NAT / FullNAT / DR /
//!   TUN at 1,000 flows, new FullNAT connections (redirects per packet: 0 when every reply
//!   reached its port's worker), and new connections to a persistent NAT service (`-p`)
//!   from 1,000 clients, each opening connection after connection from new ports; the
//!   generators record which real servers each client's packets reached (a split client
//!   breaks persistence). Redirect counters and that check are printed, never asserted.
//! - scaling, when `RVS_BENCH_WORKERS` is a list ("1,2,4,8"): established NAT at 1M and
//!   1k flows for each N of the list (and 1): aggregate and per-worker Mpps, aggregate /
//!   (N × the one-worker figure), redirects per packet.
//!
//! Run (root): `cargo bench -p rvs-benches --bench dataplane`. `RVS_BENCH_SECS` sets the
//! measured seconds per case (default 1.5); `RVS_BENCH_WORKERS` (1..=8, default 1; or a
//! list, whose first entry the main cases use) the workers. The EAL gets two lcores per
//! worker (`-l 0-(2N-1)`, or `--lcores` mapped onto the CPUs this process may use when it
//! has fewer: lcore i on the i-th of them, modulo their number, one thread per physical
//! core first).

#![allow(clippy::manual_is_multiple_of)] // MSRV 1.80

mod cases;
mod eal;
mod engine;
mod frame;
mod generator;
mod measure;
mod report;
mod rss;
mod scaling;
mod synproxy;
mod traffic;
mod workers;

use std::net::Ipv4Addr;

use dpdk::Eal;
use rvs_benches::topo::FNAT_VPORT;

use crate::eal::{eal_args, lcore_cpus};
use crate::generator::Gen;
use crate::workers::{gen_lcore, setup, worker_lcore};

/// Workers at most: a net_ring device has 16 queue pairs, two per worker.
const MAX_WORKERS: usize = 8;
/// Clients of the persistence case.
const PERSIST_CLIENTS: u32 = 1000;
const FRAME: usize = 60;
const PAYLOAD: usize = 6;
/// Packets the generator keeps in flight (below a net_ring ring's 1023 slots, so no ring
/// ever overflows).
const IN_FLIGHT: u64 = 960;
const STRIDE: u32 = 7919;
const HEADROOM: usize = 128;

const TARGET_MPPS: f64 = 20.0;
const TARGET_FRACTION: f64 = 0.25;
/// Issue 14's SYN-flood target: cookie SYN-ACKs per second on one core, millions.
const SP_TARGET_MPPS: f64 = 10.0;
/// Issue 11's new-connection targets per core: NAT, DR, TUN; FullNAT's are NAT's.
const TARGET_CPS: [(&str, f64); 4] = [
    ("new connections nat", 1_500_000.0),
    ("new connections fnat", 1_500_000.0),
    ("new connections dr", 2_000_000.0),
    ("new connections tun", 1_500_000.0),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Nat,
    Dr,
    Tun,
    /// NAT to the persistent service (the NAT VIP, port 90; only in the persistence case's
    /// configuration, so the other cases' services are as before).
    Persist,
    /// FullNAT (the NAT VIP, port [`FNAT_VPORT`]; likewise in a configuration of its own).
    Fnat,
}

impl Mode {
    fn vip(self) -> Ipv4Addr {
        match self {
            Mode::Nat | Mode::Persist | Mode::Fnat => Ipv4Addr::new(10, 0, 2, 100),
            Mode::Dr => Ipv4Addr::new(10, 0, 2, 101),
            Mode::Tun => Ipv4Addr::new(10, 0, 2, 102),
        }
    }
    fn vport(self) -> u16 {
        match self {
            Mode::Persist => 90,
            Mode::Fnat => FNAT_VPORT,
            _ => 80,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Mode::Nat => "nat",
            Mode::Dr => "dr",
            Mode::Tun => "tun",
            Mode::Persist => "nat -p",
            Mode::Fnat => "fnat",
        }
    }
    fn of_flow(i: u32) -> Mode {
        [Mode::Nat, Mode::Dr, Mode::Tun][(i % 3) as usize]
    }
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;

/// Packets kept in flight: `RVS_BENCH_IN_FLIGHT` or [`IN_FLIGHT`].
fn in_flight_target() -> u64 {
    std::env::var("RVS_BENCH_IN_FLIGHT").ok().and_then(|v| v.parse().ok()).unwrap_or(IN_FLIGHT).min(1000)
}

/// `RVS_BENCH_WORKERS`: a number of workers (1..=8, default 1) or a list ("1,2,4,8"),
/// whose first entry the main cases use.
fn workers_list() -> Vec<usize> {
    let mut l = Vec::new();
    for p in std::env::var("RVS_BENCH_WORKERS").unwrap_or_default().split(',') {
        if let Ok(n) = p.trim().parse::<usize>() {
            let n = n.clamp(1, MAX_WORKERS);
            if !l.contains(&n) {
                l.push(n);
            }
        }
    }
    if l.is_empty() {
        l.push(1);
    }
    l
}

/// `RVS_BENCH_CASES=substring,…` runs only the matching cases (baselines always run);
/// the placement cases are named "rss …" (`rss` runs just them; "established nat 1k"
/// matches "rss established nat 1k" too), the scaling cases "scaling established nat 1M
/// n=4" and so on.
fn selected(case: &str) -> bool {
    match std::env::var("RVS_BENCH_CASES") {
        Ok(v) if !v.is_empty() => v.split(',').any(|p| case.contains(p)),
        _ => true,
    }
}

fn main() {
    let list = workers_list();
    let workers = list[0];
    // The placement cases need at least two workers.
    let rss_workers = list.iter().copied().max().unwrap_or(1).max(2);
    // Scaling runs when several counts are given, always with the one-worker reference.
    let mut scaling = list.clone();
    if scaling.len() > 1 && !scaling.contains(&1) {
        scaling.insert(0, 1);
    }
    if scaling.len() < 2 {
        scaling.clear();
    }
    let cpus = lcore_cpus(2 * rss_workers);
    let (args, prefix) = eal_args(&cpus);
    let eal = match Eal::init(&args) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("dataplane bench: EAL init ({args:?}): {e} (run as root)");
            std::process::exit(1);
        }
    };
    let huge = !args.iter().any(|a| a == "--no-huge");
    let mut s = setup(rss_workers);
    s.cpus = cpus;
    let mut gens: Vec<Gen> = (0..rss_workers).map(|g| Gen::new(&s, g)).collect();
    println!(
        "dataplane bench: {workers} worker lcore(s) running dataplane::run ({rss_workers} for the RSS placement cases{}), each fed by its own generator lcore, net_ring ports, {} memory, {FRAME}+4-byte frames, {IN_FLIGHT} packets in flight per generator",
        if scaling.is_empty() { String::new() } else { format!("; scaling over {scaling:?}") },
        if huge { "hugepage" } else { "--no-huge" }
    );
    let map: Vec<String> = (0..rss_workers)
        .map(|g| format!("g{g}@{} w{g}@{}", s.cpus[gen_lcore(g) as usize], s.cpus[worker_lcore(g) as usize]))
        .collect();
    println!("  generator and worker CPUs: {}", map.join(", "));

    let ran = cases::run(&s, &mut gens, workers);
    let baseline = (ran.rows[0].mpps + ran.rows[ran.rows.len() - 1].mpps) / 2.0;

    // RSS placement: several workers, frames on the queue the NIC would pick.
    let placed = rss::run(&s, &mut gens, rss_workers);

    // Scaling: established NAT over N workers, flows spread over them by RSS.
    let scaled = scaling::run(&s, &mut gens, &scaling);

    report::write(ran, placed, scaled, baseline, workers, rss_workers, huge);

    drop(gens);
    drop(s);
    drop(eal);
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
}
