//! The report: the main table, the placement and scaling tables, the targets, rvs-gen's
//! table, and the JSON fragment.

use rvs_benches::{array, distance, num, object, string, write_fragment};

use crate::cases::{shares, MainCases};
use crate::measure::CaseResult;
use crate::{engine, rss, scaling};
use crate::{SP_TARGET_MPPS, TARGET_CPS, TARGET_FRACTION, TARGET_MPPS};

/// The JSON fields of a several-worker case: packets, redirects, drops, placement.
pub(crate) fn redirect_fields(
    r: &CaseResult,
    pkts: u64,
    out: u64,
    inn: u64,
    per_pkt: f64,
) -> Vec<(&'static str, String)> {
    vec![
        ("packets", pkts.to_string()),
        ("redirects_out", out.to_string()),
        ("redirects_in", inn.to_string()),
        ("redirects_per_packet", num(per_pkt)),
        ("drops", r.drops.to_string()),
        ("generator_busy", num(r.gen_busy)),
        ("misplaced", r.misplaced.to_string()),
        ("per_worker", workers_json(r)),
    ]
}

/// Per-worker figures of a case as JSON.
fn workers_json(r: &CaseResult) -> String {
    let items: Vec<String> = r
        .per_worker
        .iter()
        .enumerate()
        .map(|(i, w)| {
            object(&[
                ("worker", i.to_string()),
                ("mpps", num(w.mpps)),
                ("packets", w.packets.to_string()),
                ("redirects_out", w.redirects_out.to_string()),
                ("redirects_in", w.redirects_in.to_string()),
            ])
        })
        .collect();
    array(&items)
}

/// The tables, the targets and the JSON fragment, from everything measured.
pub(crate) fn write(
    ran: MainCases,
    placed: Vec<CaseResult>,
    scaled: Vec<CaseResult>,
    baseline: f64,
    workers: usize,
    rss_workers: usize,
    huge: bool,
) {
    let MainCases { rows, sp, gen_rows, gen_connect } = ran;
    println!();
    println!(
        "{:<44} {:>6} {:>9} {:>8} {:>8} {:>7} {:>12} {:>6} {:>9} {:>8}{}",
        "case",
        "mode",
        "flows",
        "Mpps",
        "ns/pkt",
        "x base",
        "conn/s",
        "drops",
        "conns",
        "gen busy",
        if workers > 1 { "    redir/pkt  Mpps per worker" } else { "" }
    );
    let mut items = Vec::new();
    for r in &rows {
        let ns = 1e3 / r.mpps;
        let ratio = r.mpps / baseline;
        let (out, inn, pkts) = r.redirects();
        let per_pkt = out as f64 / pkts.max(1) as f64;
        println!(
            "{:<44} {:>6} {:>9} {:>8.2} {:>8.1} {:>7.3} {:>12} {:>6} {:>9} {:>7.0}%{}",
            r.case,
            r.mode,
            r.flows,
            r.mpps,
            ns,
            ratio,
            r.cps.map_or("-".into(), |c| format!("{c:.0}")),
            r.drops,
            r.conns,
            r.gen_busy * 100.0,
            if workers > 1 { format!(" {per_pkt:>12.6}  {}", shares(r)) } else { String::new() }
        );
        let mut f = vec![
            ("case", string(&r.case)),
            ("mode", string(r.mode)),
            ("flows", r.flows.to_string()),
            ("mpps", num(r.mpps)),
            ("ns_per_packet", num(ns)),
            ("ratio_to_baseline", num(ratio)),
        ];
        if let Some(c) = r.cps {
            f.push(("connections_per_second", num(c)));
        }
        f.push(("drops", r.drops.to_string()));
        f.push(("generator_busy", num(r.gen_busy)));
        f.push(("workers", r.per_worker.len().to_string()));
        if r.per_worker.len() > 1 {
            f.push(("redirects_out", out.to_string()));
            f.push(("redirects_in", inn.to_string()));
            f.push(("redirects_per_packet", num(per_pkt)));
            f.push(("misplaced", r.misplaced.to_string()));
            f.push(("per_worker", workers_json(r)));
        }
        items.push(object(&f));
    }
    println!("baseline (mean of first and last io-forward runs): {baseline:.2} Mpps");
    println!("(gen busy: share of the busiest generator's time spent on packets; near 100% means the generator, not the worker, set the pace)");

    let placed_items = rss::table(&placed, rss_workers);

    let scaled_items = scaling::table(&scaled);
    let misplaced: u64 = rows.iter().chain(&placed).chain(&scaled).map(|r| r.misplaced).sum();
    if misplaced > 0 {
        println!("note: {misplaced} frames came back to a generator whose worker RSS would not give them (replaced by fresh ones)");
    }

    // Targets: printed with the distance to each, never asserted.
    let est_1m: Vec<&CaseResult> =
        rows.iter().filter(|r| r.case.starts_with("established") && r.flows == 1_000_000).collect();
    println!("targets:");
    for r in &est_1m {
        println!(
            "  {:<28} >= {TARGET_MPPS} Mpps: {:.2} Mpps {}   >= {:.0}% of io-forward: {:.1}% {}",
            r.case,
            r.mpps,
            distance(r.mpps, TARGET_MPPS, true),
            TARGET_FRACTION * 100.0,
            r.mpps / baseline * 100.0,
            distance(r.mpps / baseline, TARGET_FRACTION, true)
        );
    }
    let new_nat = rows.iter().find(|r| r.case == "new connections nat").and_then(|r| r.cps).unwrap_or(0.0);
    for r in rows.iter().filter(|r| r.case.starts_with("new connections")) {
        let c = r.cps.unwrap_or(0.0);
        if let Some((_, t)) = TARGET_CPS.iter().find(|(name, _)| *name == r.case) {
            println!("  {:<28} >= {t:.0} conn/s per core: {c:.0} {}", r.case, distance(c, *t, true));
        }
    }
    let row = |case: &str| rows.iter().find(|r| r.case == case);
    let mut sp_fields = Vec::new();
    if let (Some(f), Some(x)) = (row("synproxy syn flood"), &sp) {
        let a = f.cps.unwrap_or(0.0) / 1e6;
        println!(
            "  {:<28} >= {SP_TARGET_MPPS} Mpps cookie SYN-ACKs per core: {a:.2} Mpps {}   ({:.1}% of io-forward; table after: {} connections)",
            f.case,
            distance(a, SP_TARGET_MPPS, true),
            f.mpps / baseline * 100.0,
            x.flood_conns
        );
        sp_fields.extend([
            ("syn_flood_mpps", num(f.mpps)),
            ("cookie_synacks_per_second", num(f.cps.unwrap_or(0.0))),
            ("syn_flood_ratio_to_baseline", num(f.mpps / baseline)),
            ("syn_flood_target_mpps", num(SP_TARGET_MPPS)),
            ("syn_flood_connections_after", x.flood_conns.to_string()),
            ("syn_flood_other_frames", x.flood_other.to_string()),
        ]);
    }
    if let (Some(w), Some(wo), Some(x)) = (row("synproxy new connections nat"), row("new connections nat"), &sp) {
        let (a, b) = (w.cps.unwrap_or(0.0), wo.cps.unwrap_or(0.0));
        println!(
            "  {:<28} {a:.0} conn/s with SYNPROXY, {b:.0} without (same run): {:.2}x",
            "synproxy new connections",
            a / b
        );
        sp_fields.extend([
            ("new_connections_per_second", num(a)),
            ("new_connections_per_second_without", num(b)),
            ("new_connections_ratio", num(a / b)),
            ("mistranslated", x.bad.to_string()),
            ("unexpected_frames", x.new_other.to_string()),
        ]);
    }
    let gen_items = engine::table(&gen_rows, &gen_connect);
    let json = object(&[
        ("rvs_gen", array(&gen_items)),
        ("baseline_mpps", num(baseline)),
        ("synproxy", object(&sp_fields)),
        ("new_connections_per_second_per_core", num(new_nat)),
        ("memory", string(if huge { "hugepages" } else { "--no-huge" })),
        ("workers", workers.to_string()),
        ("cases", array(&items)),
        ("rss_placement", object(&[("workers", rss_workers.to_string()), ("cases", array(&placed_items))])),
        ("scaling", array(&scaled_items)),
    ]);
    write_fragment("dataplane", &json);
}
