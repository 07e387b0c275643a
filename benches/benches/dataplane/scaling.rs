//! Scaling: established NAT over each worker count of an `RVS_BENCH_WORKERS` list, and
//! its table.

use rvs_benches::{num, object, string};

use crate::cases::{established, flows_label, shares, BIG, SMALL};
use crate::generator::Gen;
use crate::measure::{measure, Case, CaseResult};
use crate::report::redirect_fields;
use crate::workers::Setup;
use crate::{selected, Mode};

/// Established NAT over each worker count of `scaling`, flows spread over them by RSS;
/// each case prints its line as it completes.
pub(crate) fn run(s: &Setup, gens: &mut Vec<Gen>, scaling: &[usize]) -> Vec<CaseResult> {
    let mut scaled: Vec<CaseResult> = Vec::new();
    for flows in [1_000_000u32, 1_000] {
        for &n in scaling {
            let label = format!("scaling established nat {} n={n}", flows_label(flows));
            if !selected(&label) {
                continue;
            }
            let cap = if flows > SMALL { BIG } else { SMALL };
            let c = Case {
                name: label,
                mode: Mode::Nat.name(),
                flows: u64::from(flows),
                capacity: cap,
                bypass: false,
                workers: n,
                snapshot: &s.snapshot,
            };
            let (r, _) = measure(s, gens, c, established(Some(Mode::Nat), flows, true, n));
            println!("  {}: {:.2} Mpps ({})", r.case, r.mpps, shares(&r));
            scaled.push(r);
        }
    }
    scaled
}

/// The scaling table (against N times the one-worker figure); returns its JSON items.
pub(crate) fn table(scaled: &[CaseResult]) -> Vec<String> {
    let mut scaled_items = Vec::new();
    if !scaled.is_empty() {
        println!();
        println!("scaling: established NAT, one generator per worker, frames placed by RSS (flows in total, spread over the workers):");
        println!(
            "{:<6} {:>3} {:>8} {:>10} {:>10} {:>12} {:>6} {:>9}  Mpps per worker",
            "flows", "N", "Mpps", "per worker", "x (N x 1)", "redir/pkt", "drops", "gen busy"
        );
    }
    for r in scaled {
        let n = r.per_worker.len();
        let one = scaled.iter().find(|o| o.flows == r.flows && o.per_worker.len() == 1).map(|o| o.mpps);
        let ratio = one.map_or(f64::NAN, |one| r.mpps / (n as f64 * one));
        let (out, inn, pkts) = r.redirects();
        let per_pkt = out as f64 / pkts.max(1) as f64;
        println!(
            "{:<6} {:>3} {:>8.2} {:>10.2} {:>10.3} {:>12.6} {:>6} {:>8.0}%  {}",
            flows_label(r.flows as u32),
            n,
            r.mpps,
            r.mpps / n as f64,
            ratio,
            per_pkt,
            r.drops,
            r.gen_busy * 100.0,
            shares(r)
        );
        let mut f = vec![
            ("case", string(&r.case)),
            ("mode", string(r.mode)),
            ("flows", r.flows.to_string()),
            ("workers", n.to_string()),
            ("mpps", num(r.mpps)),
            ("mpps_per_worker", num(r.mpps / n as f64)),
            ("ratio_to_n_times_one_worker", num(ratio)),
        ];
        f.extend(redirect_fields(r, pkts, out, inn, per_pkt));
        scaled_items.push(object(&f));
    }
    scaled_items
}
