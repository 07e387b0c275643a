//! RSS placement: several workers, every frame on the queue a NIC's RSS would give it;
//! the cases (redirects, FullNAT's port steering, persistence) and their table.

use rvs_benches::{num, object, string};

use crate::cases::{established, fnat_note, new_conns, persist, rss_for, shares, BIG, MODES, SMALL};
use crate::generator::Gen;
use crate::measure::{measure, Case, CaseResult, PersistCheck};
use crate::report::redirect_fields;
use crate::workers::Setup;
use crate::{selected, Mode, IN_FLIGHT, PERSIST_CLIENTS};

/// The RSS placement cases on `rss_workers` workers, frames on the queue the NIC would
/// pick; each prints its line as it completes.
pub(crate) fn run(s: &Setup, gens: &mut Vec<Gen>, rss_workers: usize) -> Vec<CaseResult> {
    let new_cap = rvs_core::conn::MAX_ENTRIES;
    let mut placed: Vec<CaseResult> = Vec::new();
    let rss_case = |name: String, mode: &'static str, flows: u64, capacity: u32, snapshot| Case {
        name,
        mode,
        flows,
        capacity,
        bypass: false,
        workers: rss_workers,
        snapshot,
    };
    for mode in MODES {
        let label = format!("rss established {} 1k", mode.name());
        if !selected(&label) {
            continue;
        }
        let t = established(Some(mode), 1000, true, rss_workers);
        let (r, ts) = measure(s, gens, rss_case(label, mode.name(), 1000, SMALL, s.snapshot_of(mode)), t);
        let (out, inn, pkts) = r.redirects();
        println!(
            "  {}, {rss_workers} workers: {:.2} Mpps, redirects out {out} in {inn} of {pkts} packets{}",
            r.case,
            r.mpps,
            fnat_note(&r, &ts)
        );
        placed.push(r);
    }
    // FullNAT's new connections: each SYN-ACK is the first reply to a port just taken.
    if selected("rss new connections fnat") {
        let label = "rss new connections fnat".to_string();
        let c = rss_case(label, Mode::Fnat.name(), IN_FLIGHT * rss_workers as u64, new_cap, &s.fnat_snapshot);
        let (r, _) = measure(s, gens, c, new_conns(Mode::Fnat, rss_workers));
        let (out, inn, pkts) = r.redirects();
        println!(
            "  {}, {rss_workers} workers: {:.0} conn/s, redirects out {out} in {inn} of {pkts} packets{}",
            r.case,
            r.cps.unwrap_or(0.0),
            fnat_note(&r, &[])
        );
        placed.push(r);
    }
    if selected("rss persistence") {
        let label = "rss persistence nat -p".to_string();
        let flows = u64::from(PERSIST_CLIENTS);
        let c = rss_case(label, Mode::Persist.name(), flows, BIG, &s.persist_snapshot);
        let (mut r, ts) = measure(s, gens, c, persist(rss_workers));
        let p = PersistCheck::of(&ts, &rss_for(rss_workers), rss_workers);
        let (out, inn, pkts) = r.redirects();
        println!(
            "  {}, {rss_workers} workers: {:.0} conn/s, redirects out {out} in {inn} of {pkts} packets; {} clients, {} connections: clients split across real servers: {}",
            r.case,
            r.cps.unwrap_or(0.0),
            p.clients,
            p.connections,
            p.split
        );
        r.persist = Some(p);
        placed.push(r);
    }
    placed
}

/// The placement table; returns its JSON items.
pub(crate) fn table(placed: &[CaseResult], rss_workers: usize) -> Vec<String> {
    let mut placed_items = Vec::new();
    if !placed.is_empty() {
        println!();
        println!("{rss_workers} workers, RSS placement (redirects over the whole case, populating included):");
        println!(
            "{:<28} {:>8} {:>12} {:>10} {:>10} {:>12} {:>6}  Mpps per worker",
            "case", "Mpps", "conn/s", "redir out", "redir in", "redir/pkt", "drops"
        );
    }
    for r in placed {
        let (out, inn, pkts) = r.redirects();
        let per_pkt = out as f64 / pkts.max(1) as f64;
        println!(
            "{:<28} {:>8.2} {:>12} {:>10} {:>10} {:>12.6} {:>6}  {}",
            r.case,
            r.mpps,
            r.cps.map_or("-".into(), |c| format!("{c:.0}")),
            out,
            inn,
            per_pkt,
            r.drops,
            shares(r)
        );
        let mut f = vec![
            ("case", string(&r.case)),
            ("mode", string(r.mode)),
            ("flows", r.flows.to_string()),
            ("workers", r.per_worker.len().to_string()),
            ("mpps", num(r.mpps)),
        ];
        if let Some(c) = r.cps {
            f.push(("connections_per_second", num(c)));
        }
        f.extend(redirect_fields(r, pkts, out, inn, per_pkt));
        if let Some(p) = &r.persist {
            println!(
                "  persistence: {} clients, {} connections; clients split across real servers: {} (clients per real server {:?}, per worker {:?})",
                p.clients, p.connections, p.split, p.per_server, p.per_worker
            );
            let list = |v: &[usize]| format!("[{}]", v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "));
            f.extend([
                ("clients", p.clients.to_string()),
                ("connections_checked", p.connections.to_string()),
                ("clients_split_across_real_servers", p.split.to_string()),
                ("clients_per_real_server", list(&p.per_server)),
                ("clients_per_worker", list(&p.per_worker)),
            ]);
        }
        placed_items.push(object(&f));
    }
    placed_items
}
