//! The director's own work on one core: `rvs_core::forward::Director` over pre-built
//! bursts of 32 frames, with no rings, no generator lcore and no DPDK, so the figure is
//! the load-balancing work itself (the dataplane bench measures the whole worker).
//!
//! Every burst is 32 buffers from a preallocated pool of `VecBuf`s, each refilled from a
//! template frame (`VecBuf::reset_from`) and patched with its flow's client address and
//! port (IPv4 checksum updated incrementally), then handed to `Director::input_burst`.
//! An `Io` sink takes every packet back into the pool, so the measured loop never
//! allocates. 64-byte frames on the wire (60 + FCS): Ethernet, IPv4, TCP, 6 bytes of data.
//!
//! Cases (services, real servers and routes as in the dataplane bench):
//! - established NAT / FullNAT / DR / TUN at 1,000 and 1,000,000 flows: connections
//!   populated first (a SYN per flow, then a pass of the traffic; not timed), then ACKs
//!   over the flows in a random order (a xorshift permutation, so cache and TLB misses are
//!   those of real traffic, not of a sequential walk). NAT and FullNAT alternate bursts of
//!   client packets (wan) and of the servers' replies (lan) at an independent place in the
//!   permutation (a FullNAT reply goes to the flow's local address and port, read from
//!   the table after populating, laid out in the permutation's order so that the loop
//!   reads it sequentially); DR and TUN carry the client's direction only. FullNAT
//!   runs its own configuration (the NAT VIP, port 81, 63 local addresses; sequence state
//!   for every connection).
//! - new connections NAT / FullNAT / DR / TUN: SYNs, each from a new client; conn/s =
//!   SYNs/s. The table is sized to the most it can hold and a case stops early rather
//!   than fill it.
//! - SYN flood on a SYN-proxied NAT service: SYNs from new clients, each answered by a
//!   cookie SYN-ACK in place (target >= 10 Mpps); the table must stay empty.
//!
//! The clock stands still (timers never run): the per-packet path alone.
//!
//! Baseline: the very same loop (pool, refill, patch, sink) with a MAC swap in place of
//! the Director, over the established NAT 1M traffic; measured first and last, the mean
//! is the baseline.
//!
//! Run: `cargo bench -p rvs-benches --bench director`. `RVS_BENCH_SECS` sets the measured
//! seconds per case (default 1), `RVS_BENCH_CASES=substring,…` runs only the matching
//! cases (the baselines always run). The thread is pinned to the first CPU it may use.
#![forbid(unsafe_code)]

mod cases;
mod stage;
mod traffic;

use std::net::Ipv4Addr;

use rvs_benches::topo::FNAT_VPORT;
use rvs_benches::{array, distance, num, object, string, write_fragment};
use wire::{EthernetAddress, VecBuf};

use crate::cases::{baseline, established, new_connections, permutation, syn_flood};
use crate::traffic::check_templates;

const BURST: usize = 32;
/// Buffers in the pool: a burst in flight, and room for any the Director holds.
const POOL: usize = 4 * BURST;
const FRAME: usize = 60;
const PAYLOAD: usize = 6;
const HEADROOM: usize = VecBuf::DEFAULT_HEADROOM;
/// Bursts between two looks at the clock.
const CHECK_EVERY: u64 = 64;
/// The clock (ms) every packet sees.
const NOW: u64 = 1_000;
const TARGET_MPPS: f64 = 30.0;
/// Issue 14: cookie SYN-ACKs per second on one core, millions.
const SP_TARGET_MPPS: f64 = 10.0;
/// The SYN-proxied NAT service's VIP (port 80), as in the dataplane bench.
const SP_VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 103);

const WAN_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
const LAN_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 1, 1]);

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// Offsets in the frame of what is patched per packet.
const IP_CSUM: usize = 24;
const IP_SRC: usize = 26;
const IP_DST: usize = 30;
const TCP_SPORT: usize = 34;
const TCP_DPORT: usize = 36;

/// Established clients: flow i is 11.0.0.0 + i; new connections: 12.0.0.0 + n.
const EST_NET: u32 = 0x0b00_0000;
const NEW_NET: u32 = 0x0c00_0000;
/// In a flow-order entry: the flow's real server (RS[1]) when set, else RS[0].
const RS_BIT: u32 = 1 << 31;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Nat,
    Dr,
    Tun,
    Fnat,
}

impl Mode {
    fn vip(self) -> Ipv4Addr {
        match self {
            Mode::Nat | Mode::Fnat => Ipv4Addr::new(10, 0, 2, 100),
            Mode::Dr => Ipv4Addr::new(10, 0, 2, 101),
            Mode::Tun => Ipv4Addr::new(10, 0, 2, 102),
        }
    }
    fn vport(self) -> u16 {
        if self == Mode::Fnat {
            FNAT_VPORT
        } else {
            80
        }
    }
    fn name(self) -> &'static str {
        match self {
            Mode::Nat => "nat",
            Mode::Dr => "dr",
            Mode::Tun => "tun",
            Mode::Fnat => "fnat",
        }
    }
    /// Replies cross the director.
    fn replies(self) -> bool {
        matches!(self, Mode::Nat | Mode::Fnat)
    }
}

fn cport(flow: u32) -> u16 {
    10_000 + (flow & 0x3fff) as u16
}

/// `RVS_BENCH_CASES=substring,…` runs only the matching cases (the baselines always run).
fn selected(case: &str) -> bool {
    match std::env::var("RVS_BENCH_CASES") {
        Ok(v) if !v.is_empty() => v.split(',').any(|p| case.contains(p)),
        _ => true,
    }
}

fn pin() -> String {
    match core_affinity::get_core_ids().and_then(|ids| ids.into_iter().next()) {
        Some(id) if core_affinity::set_for_current(id) => format!("pinned to CPU {}", id.id),
        _ => "not pinned".into(),
    }
}

fn main() {
    let secs: f64 = std::env::var("RVS_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    check_templates();
    let pinned = pin();
    println!(
        "director bench: one core ({pinned}), Director::input_burst over pre-built bursts of {BURST} {FRAME}+4-byte frames, {secs} s per case"
    );
    let mut burst: Vec<VecBuf> = Vec::with_capacity(BURST);
    let base_order = permutation(1_000_000, 7);
    let mut rows = vec![baseline("baseline: refill + MAC swap (first)", &base_order, secs, &mut burst)];
    println!("  {}: {:.2} Mpps", rows[0].case, rows[0].mpps);
    const MODES: [Mode; 4] = [Mode::Nat, Mode::Fnat, Mode::Dr, Mode::Tun];
    for n in [1_000u32, 1_000_000] {
        for mode in MODES {
            if !selected(&format!("established {} {}", mode.name(), if n >= 1_000_000 { "1M" } else { "1k" })) {
                continue;
            }
            rows.push(established(mode, n, secs, &mut burst));
            let r = rows.last().expect("row");
            println!("  {}: {:.2} Mpps", r.case, r.mpps);
        }
    }
    for mode in MODES {
        if !selected(&format!("new connections {}", mode.name())) {
            continue;
        }
        rows.push(new_connections(mode, secs, &mut burst));
        let r = rows.last().expect("row");
        println!("  {}: {:.0} conn/s", r.case, r.cps.unwrap_or(0.0));
    }
    let mut sp = None;
    if selected("synproxy syn flood") {
        let (r, cookies, left) = syn_flood(secs, &mut burst);
        println!("  {}: {:.2} Mpps in, {cookies} cookie SYN-ACKs, connections after: {left}", r.case, r.mpps);
        rows.push(r);
        sp = Some(left);
    }
    rows.push(baseline("baseline: refill + MAC swap (last)", &base_order, secs, &mut burst));
    let baseline = (rows[0].mpps + rows[rows.len() - 1].mpps) / 2.0;

    println!();
    println!(
        "{:<48} {:>6} {:>9} {:>8} {:>8} {:>8} {:>12} {:>6}",
        "case", "mode", "flows", "Mpps", "ns/pkt", "x base", "conn/s", "drops"
    );
    let mut items = Vec::new();
    for r in &rows {
        let ns = 1e3 / r.mpps;
        let ratio = r.mpps / baseline;
        println!(
            "{:<48} {:>6} {:>9} {:>8.2} {:>8.1} {:>8.3} {:>12} {:>6}",
            r.case,
            r.mode,
            r.flows,
            r.mpps,
            ns,
            ratio,
            r.cps.map_or("-".into(), |c| format!("{c:.0}")),
            r.drops
        );
        if let Some(why) = r.first_drop {
            println!("    (dropped: {why:?} first; the figures above are not the forwarding path)");
        }
        if r.unsent > 0 {
            println!("    ({} packets neither sent nor dropped)", r.unsent);
        }
        let mut f = vec![
            ("case", string(&r.case)),
            ("mode", string(r.mode)),
            ("flows", r.flows.to_string()),
            ("packets", r.packets.to_string()),
            ("mpps", num(r.mpps)),
            ("ns_per_packet", num(ns)),
            ("ratio_to_baseline", num(ratio)),
        ];
        if let Some(c) = r.cps {
            f.push(("connections_per_second", num(c)));
        }
        f.push(("drops", r.drops.to_string()));
        items.push(object(&f));
    }
    println!("baseline (mean of first and last): {baseline:.2} Mpps, {:.1} ns/packet", 1e3 / baseline);
    println!("target (printed, not asserted): Director at 1M flows >= {TARGET_MPPS} Mpps on one core");
    for r in rows.iter().filter(|r| r.case.starts_with("established") && r.flows == 1_000_000) {
        println!("  {:<24} {:>6.2} Mpps {}", r.case, r.mpps, distance(r.mpps, TARGET_MPPS, true));
    }
    let mut sp_fields = Vec::new();
    if let (Some(r), Some(left)) = (rows.iter().find(|r| r.case.starts_with("synproxy syn flood")), sp) {
        let a = r.cps.unwrap_or(0.0) / 1e6;
        println!(
            "  {:<24} {a:>6.2} Mpps cookie SYN-ACKs (>= {SP_TARGET_MPPS}) {}; connections after: {left}",
            "synproxy syn flood",
            distance(a, SP_TARGET_MPPS, true)
        );
        sp_fields.extend([
            ("cookie_synacks_per_second", num(a * 1e6)),
            ("target_mpps", num(SP_TARGET_MPPS)),
            ("ratio_to_baseline", num(r.mpps / baseline)),
            ("connections_after", left.to_string()),
        ]);
    }
    write_fragment(
        "director",
        &object(&[
            ("synproxy", object(&sp_fields)),
            ("baseline_mpps", num(baseline)),
            ("target_mpps", num(TARGET_MPPS)),
            ("burst", BURST.to_string()),
            ("seconds_per_case", num(secs)),
            ("pinned", string(&pinned)),
            ("cases", array(&items)),
        ]),
    );
}
