//! The main cases on the first `RVS_BENCH_WORKERS` count (baselines, established flows,
//! new connections, SYN proxy, rvs-gen, mix), and the traffic each generator gets.

use rvs_core::rss::{self, Rss};

use crate::engine;
use crate::generator::Gen;
use crate::measure::{measure, Case, CaseResult};
use crate::synproxy::{SpFigures, SynConns, SynFlood};
use crate::traffic::{
    flow_lists, fresh_clients, persist_clients, Clients, Echo, Established, FlowList, Mix, NewConns, Persist,
};
use crate::workers::Setup;
use crate::{selected, Mode, IN_FLIGHT};

/// Connection-table capacities: SMALL up to 16k flows (and the baselines), BIG beyond.
pub(crate) const SMALL: u32 = 1 << 14;
pub(crate) const BIG: u32 = 1 << 21;
/// The forwarding methods of the established and new-connection cases, in their order.
pub(crate) const MODES: [Mode; 4] = [Mode::Nat, Mode::Fnat, Mode::Dr, Mode::Tun];

/// What the main cases measured, for the report.
pub(crate) struct MainCases {
    pub(crate) rows: Vec<CaseResult>,
    pub(crate) sp: Option<SpFigures>,
    pub(crate) gen_rows: Vec<(String, rvs_gen::Report, u64, f64)>,
    pub(crate) gen_connect: Option<(rvs_gen::Report, f64)>,
}

pub(crate) fn rss_for(workers: usize) -> Rss {
    Rss::new(rss::DEFAULT_KEY, workers as u16, 128)
}

/// Each generator's share of `flows` established flows.
pub(crate) fn established(
    mode: Option<Mode>,
    flows: u32,
    populate: bool,
    workers: usize,
) -> impl FnMut(usize) -> Established {
    let mut lists: Vec<Option<FlowList>> =
        flow_lists(flows, &rss_for(workers), workers).into_iter().map(Some).collect();
    move |g| Established::new(mode, lists[g].take().expect("flows"), populate)
}

fn echo(workers: usize) -> impl FnMut(usize) -> Echo {
    let mut est = established(Some(Mode::Dr), 1000, false, workers);
    move |g| Echo(est(g))
}

pub(crate) fn new_conns(mode: Mode, workers: usize) -> impl FnMut(usize) -> NewConns {
    let mut clients: Vec<Option<Clients>> = fresh_clients(&rss_for(workers), workers).into_iter().map(Some).collect();
    move |g| NewConns::new(mode, clients[g].take().expect("clients"))
}

fn mix(workers: usize) -> impl FnMut(usize) -> Mix {
    let mut est = established(None, 1_000_000, true, workers);
    let mut new = new_conns(Mode::Nat, workers);
    move |g| Mix { est: est(g), new: new(g), every: 10, assigned: 0 }
}

pub(crate) fn persist(workers: usize) -> impl FnMut(usize) -> Persist {
    let mut clients: Vec<Option<Clients>> = persist_clients(&rss_for(workers), workers).into_iter().map(Some).collect();
    move |g| Persist::new(clients[g].take().expect("clients"))
}

pub(crate) fn flows_label(n: u32) -> String {
    if n >= 1_000_000 {
        format!("{}M", n / 1_000_000)
    } else {
        format!("{}k", n / 1000)
    }
}

/// For a FullNAT case: its redirects per packet (replies steered by port: expected 0),
/// frames whose port's owner was not the worker that sent them out (expected 0) and, for
/// established flows, replies whose acknowledgement came back wrong.
pub(crate) fn fnat_note(r: &CaseResult, ts: &[Established]) -> String {
    if r.mode != Mode::Fnat.name() {
        return String::new();
    }
    let (out, _, pkts) = r.redirects();
    let per = out as f64 / pkts.max(1) as f64;
    let mut s = format!("; FullNAT redirects/packet {per:.6} ({out} of {pkts}), misplaced {}", r.misplaced);
    if !ts.is_empty() {
        s += &format!(", replies with a wrong ack {}", ts.iter().map(|t| t.bad_acks).sum::<u64>());
    }
    s
}

/// Mpps per worker, "a / b / …".
pub(crate) fn shares(r: &CaseResult) -> String {
    r.per_worker.iter().map(|w| format!("{:.2}", w.mpps)).collect::<Vec<_>>().join(" / ")
}

/// The main cases on `workers` workers, each printing its line as it completes: the
/// first baseline, established flows, new connections, the SYN proxy, rvs-gen's engine,
/// the mix, the last baseline.
pub(crate) fn run(s: &Setup, gens: &mut Vec<Gen>, workers: usize) -> MainCases {
    let new_cap = rvs_core::conn::MAX_ENTRIES;
    let case = |name: &str, mode: &'static str, flows: u64, capacity: u32, bypass: bool| Case {
        name: name.into(),
        mode,
        flows,
        capacity,
        bypass,
        workers,
        snapshot: &s.snapshot,
    };
    let mut rows: Vec<CaseResult> = Vec::new();
    let (base1, _) = measure(s, gens, case("io-forward baseline (first)", "bypass", 1000, SMALL, true), echo(workers));
    println!("  baseline (first run) {:.2} Mpps", base1.mpps);
    rows.push(base1);
    for n in [1_000u32, 1_000_000] {
        for mode in MODES {
            let cap = if n > SMALL { BIG } else { SMALL };
            let label = format!("established {} {}", mode.name(), flows_label(n));
            if !selected(&label) {
                continue;
            }
            let t = established(Some(mode), n, true, workers);
            let c = Case { snapshot: s.snapshot_of(mode), ..case(&label, mode.name(), u64::from(n), cap, false) };
            let (r, ts) = measure(s, gens, c, t);
            println!("  {label}: {:.2} Mpps{}", r.mpps, fnat_note(&r, &ts));
            rows.push(r);
        }
    }
    for mode in MODES {
        let label = format!("new connections {}", mode.name());
        if !selected(&label) {
            continue;
        }
        let c = case(&label, mode.name(), IN_FLIGHT * workers as u64, new_cap, false);
        let c = Case { snapshot: s.snapshot_of(mode), ..c };
        let (r, _) = measure(s, gens, c, new_conns(mode, workers));
        println!("  {label}: {:.2} Mpps, {:.0} conn/s{}", r.mpps, r.cps.unwrap_or(0.0), fnat_note(&r, &[]));
        rows.push(r);
    }
    // SYN proxy: a SYN flood, and new connections beside the same NAT service without it.
    let mut sp: Option<SpFigures> = None;
    if selected("synproxy") {
        let c = |name: &str| Case {
            name: name.into(),
            mode: "sp nat",
            flows: IN_FLIGHT * workers as u64,
            capacity: new_cap,
            bypass: false,
            workers,
            snapshot: &s.sp_snapshot,
        };
        let (flood, ts) = measure(s, gens, Case { capacity: SMALL, ..c("synproxy syn flood") }, SynFlood::new);
        let other: u64 = ts.iter().map(|t| t.other).sum();
        println!(
            "  {}: {:.2} Mpps, {:.0} cookie SYN-ACKs/s, connections in the table after: {}, other frames {other}",
            flood.case,
            flood.mpps,
            flood.cps.unwrap_or(0.0),
            flood.conns
        );
        if !rows.iter().any(|r| r.case == "new connections nat") {
            let c = case("new connections nat", Mode::Nat.name(), IN_FLIGHT * workers as u64, new_cap, false);
            let (r, _) = measure(s, gens, c, new_conns(Mode::Nat, workers));
            println!("  {}: {:.2} Mpps, {:.0} conn/s", r.case, r.mpps, r.cps.unwrap_or(0.0));
            rows.push(r);
        }
        let make = |_| SynConns { next_client: 0, done: 0, bad: 0, other: 0 };
        let (new, ts) = measure(s, gens, c("synproxy new connections nat"), make);
        let bad: u64 = ts.iter().map(|t| t.bad).sum();
        let new_other: u64 = ts.iter().map(|t| t.other).sum();
        println!(
            "  {}: {:.2} Mpps, {:.0} conn/s, mistranslated {bad}, unexpected frames {new_other}",
            new.case,
            new.mpps,
            new.cps.unwrap_or(0.0)
        );
        sp = Some(SpFigures { flood_conns: flood.conns, flood_other: other, bad, new_other });
        rows.push(flood);
        rows.push(new);
    }
    // rvs-gen's engine in the same harness, beside the bench's generator (one worker).
    let gen_rows = engine::beside(s, gens, workers, &rows);
    let gen_connect = engine::connect(s, gens, workers, &rows);
    if selected("mix") {
        let c = case("mix (1M est. NAT/DR/TUN + 1/10 new NAT)", "mix", 1_000_000, new_cap, false);
        let (r, _) = measure(s, gens, c, mix(workers));
        println!("  mix: {:.2} Mpps", r.mpps);
        rows.push(r);
    }
    let (base2, _) = measure(s, gens, case("io-forward baseline (last)", "bypass", 1000, SMALL, true), echo(workers));
    println!("  baseline (last run) {:.2} Mpps", base2.mpps);
    rows.push(base2);
    MainCases { rows, sp, gen_rows, gen_connect }
}
