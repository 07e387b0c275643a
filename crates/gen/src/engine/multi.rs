//! Several lcores: each runs the engine on its own queues over its share of the
//! source ports (`port % n == index`), rate, flows and connection table. In connect mode
//! a reply that lands on another lcore's rx queue goes to its owner over a
//! single-producer/single-consumer ring. Figures are summed, histograms merged.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use dpdk::{lcore, Burst, Mbuf, Ring};
use hdrhistogram::Histogram;
use wire::EthernetAddress;

use super::{histogram, percentiles, resolve, run_part, Engine, Io, Outcome};
use crate::packet::TcpSeen;
use crate::{Config, ConnReport, Mode, Report};

/// Frames one handoff ring holds (replies in flight to another lcore).
const HANDOFF_RING: u32 = 4095;

/// Where each lcore leaves its outcome.
type Slots = Arc<Mutex<Vec<Option<Result<Outcome, String>>>>>;

/// This lcore's share of a run over `n` lcores: source ports `p` with
/// `p % n == index`, its part of the rate, flows and table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Part {
    pub index: u32,
    pub n: u32,
    /// Its first source port, and how many it has (every `n`-th from there).
    pub port0: u16,
    pub ports: u32,
    pub rate: u64,
    pub flows: u32,
    pub max_open: u32,
}

/// `total` split over `n`: the first `total % n` get one more.
fn share(total: u64, index: u32, n: u32) -> u64 {
    total / u64::from(n) + u64::from(u64::from(index) < total % u64::from(n))
}

impl Part {
    pub fn new(cfg: &Config, index: u32, n: u32) -> Part {
        let off = (index + n - u32::from(cfg.src_port) % n) % n;
        let ports = u32::from(cfg.port_count).saturating_sub(off).div_ceil(n);
        Part {
            index,
            n,
            port0: (u32::from(cfg.src_port) + off.min(u32::from(cfg.port_count))) as u16,
            ports,
            rate: share(cfg.rate, index, n),
            flows: share(u64::from(cfg.flows), index, n) as u32,
            max_open: share(u64::from(cfg.max_open), index, n) as u32,
        }
    }

    /// Whether `cfg` can be split over `n` lcores (each gets a port, a flow, a rate).
    pub fn check(cfg: &Config, n: u32) -> Result<(), String> {
        let n64 = u64::from(n);
        if n == 0 || u64::from(cfg.port_count) < n64 || u64::from(cfg.flows) < n64 || u64::from(cfg.max_open) < n64 {
            return Err(format!("{n} lcores need at least {n} source ports, flows and max-open"));
        }
        if cfg.rate != 0 && cfg.rate < n64 {
            return Err(format!("a rate of {} cannot be split over {n} lcores", cfg.rate));
        }
        Ok(())
    }
}

/// What an lcore of a multi-lcore run shares with the others.
pub(crate) struct Handoff {
    /// `to[j]`: the ring to lcore `j` (connect mode; `None` for itself).
    pub to: Vec<Option<Ring<Mbuf>>>,
    /// The rings from the others.
    pub from: Vec<Ring<Mbuf>>,
    /// Frames for lcore `j`, gathered over one rx burst.
    pub out: Vec<Burst>,
    /// Lcores done sending and draining: each keeps receiving (and handing off) until
    /// all are, so no reply for another lcore goes unread.
    pub done: Arc<AtomicUsize>,
}

impl Engine<'_> {
    /// Multi-lcore: once this lcore is done, keep receiving (and handing replies to their
    /// owners) until every lcore is, or a second past `drain_end` plus the timeout.
    pub(super) fn linger(&mut self, drain_end: u64, stop: &AtomicBool) {
        let Some(done) = self.hand.as_ref().map(|h| h.done.clone()) else { return };
        done.fetch_add(1, Ordering::AcqRel);
        let n = self.part.n as usize;
        let end = drain_end + (self.cfg.conn_timeout.as_secs_f64() * self.hz as f64) as u64 + self.hz;
        let mut now = lcore::tsc();
        while done.load(Ordering::Acquire) < n && now < end && !stop.load(Ordering::Relaxed) {
            if self.poll(now) == 0 && self.cfg.idle_sleep_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(self.cfg.idle_sleep_us));
            }
            self.flush();
            now = lcore::tsc();
        }
    }

    /// The lcore a server's segment belongs to: its destination port (our source port)
    /// modulo the lcores, computed, never looked up.
    pub(super) fn owner(&self, t: &TcpSeen) -> Option<u32> {
        (t.src == self.cfg.dst_ip && t.sport == self.cfg.dst_port).then(|| u32::from(t.dport) % self.part.n)
    }

    /// Hand the frames `fwd` names (ascending burst indices, with their owners) to their
    /// owners' rings; free the rest of `b`. A full ring drops (counted).
    pub(super) fn hand_off(&mut self, b: &mut Burst, fwd: &[(u16, u16)]) {
        let Some(h) = self.hand.as_mut() else {
            dpdk::free_burst(b);
            return;
        };
        let mut next = fwd.iter().peekable();
        for (k, m) in b.drain(..).enumerate() {
            match next.peek() {
                Some(&&(i, o)) if usize::from(i) == k => {
                    next.next();
                    h.out[usize::from(o)].push(m);
                }
                _ => drop(m),
            }
        }
        for (j, out) in h.out.iter_mut().enumerate() {
            if out.is_empty() {
                continue;
            }
            if let Some(r) = h.to[j].as_ref() {
                self.c.handed_off += r.enqueue_burst(out) as u64;
            }
            self.c.handoff_drops += out.len() as u64;
            dpdk::free_burst(out);
        }
    }
}

/// Run `cfg` over `ios.len()` lcores: `ios[i]` on EAL lcore `lcores[i]`. The calling
/// lcore runs its own share if it is listed; the others are launched, so with more than
/// one lcore call this from the main lcore. Resolves the gateway first (over every rx
/// queue) when `cfg` has no MAC for it. The report sums the lcores' figures (Mpps too)
/// and lists each in `per_lcore`.
pub fn run_lcores(cfg: &Config, mut ios: Vec<Io>, lcores: &[u32], stop: Arc<AtomicBool>) -> Result<Report, String> {
    cfg.validate()?;
    let n = ios.len();
    if n == 0 || n != lcores.len() {
        return Err(format!("{} lcores but {n} sets of queues", lcores.len()));
    }
    let mut seen = lcores.to_vec();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() != n {
        return Err("an lcore is listed twice".into());
    }
    Part::check(cfg, n as u32)?;
    let mut cfg = cfg.clone();
    if cfg.gw_mac.is_none() {
        cfg.gw_mac = Some(resolve_all(&cfg, &mut ios, &stop)?);
    }
    let cfg = Arc::new(cfg);
    let hands = handoffs(&cfg, n)?;
    let results: Slots = Arc::new(Mutex::new((0..n).map(|_| None).collect()));
    let me = lcore::lcore_id();
    let (mut local, mut launched, mut err) = (None, Vec::new(), None);
    for (i, (io, hand)) in ios.into_iter().zip(hands).enumerate() {
        let (cfg, stop, results) = (cfg.clone(), stop.clone(), results.clone());
        let job = move || {
            let mut io = io;
            let out = run_part(&cfg, &mut io, &stop, Part::new(&cfg, i as u32, n as u32), hand);
            if out.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            drop(io);
            results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(out);
        };
        if lcores[i] == me {
            local = Some(job);
        } else if let Err(e) = lcore::launch(lcores[i], move || {
            job();
            0
        }) {
            err = Some(format!("lcore {}: {e}", lcores[i]));
            break;
        } else {
            launched.push(lcores[i]);
        }
    }
    if err.is_some() {
        stop.store(true, Ordering::Relaxed);
    } else if let Some(job) = local {
        job();
    }
    for l in launched {
        lcore::wait(l);
    }
    if let Some(e) = err {
        return Err(e);
    }
    let mut outs = Vec::with_capacity(n);
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    for (r, l) in results.into_iter().zip(lcores) {
        outs.push(r.ok_or_else(|| format!("lcore {l} did not finish"))?.map_err(|e| format!("lcore {l}: {e}"))?);
    }
    Ok(merge(&cfg, outs, lcores))
}

/// Resolve the gateway over every lcore's rx queues (the reply may land on any of them),
/// lent to the first `Io` for the while.
fn resolve_all(cfg: &Config, ios: &mut [Io], stop: &AtomicBool) -> Result<EthernetAddress, String> {
    let Some((first, rest)) = ios.split_first_mut() else { return Err("no queues".into()) };
    let own = first.rx.len();
    let counts: Vec<usize> = rest.iter().map(|io| io.rx.len()).collect();
    for io in rest.iter_mut() {
        first.rx.append(&mut io.rx);
    }
    let r = resolve(cfg, first, stop);
    let mut back = first.rx.split_off(own);
    for (io, c) in rest.iter_mut().zip(counts) {
        let tail = back.split_off(c);
        io.rx = std::mem::replace(&mut back, tail);
    }
    r
}

/// Each lcore's [`Handoff`]: rings from every lcore to every other (connect mode only),
/// created before the run; `None` for one lcore.
fn handoffs(cfg: &Config, n: usize) -> Result<Vec<Option<Handoff>>, String> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    if n == 1 {
        return Ok(vec![None]);
    }
    let done = Arc::new(AtomicUsize::new(0));
    let mut to: Vec<Vec<Option<Ring<Mbuf>>>> = (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
    let mut from: Vec<Vec<Ring<Mbuf>>> = (0..n).map(|_| Vec::new()).collect();
    if cfg.mode == Mode::Connect {
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        for (i, to) in to.iter_mut().enumerate() {
            for (j, from) in from.iter_mut().enumerate().filter(|&(j, _)| j != i) {
                let r = Ring::create(&format!("rvsgen{run}_{i}_{j}"), HANDOFF_RING, true, true)
                    .map_err(|e| format!("handoff ring: {e}"))?;
                to[j] = Some(r.clone());
                from.push(r);
            }
        }
    }
    Ok(to
        .into_iter()
        .zip(from)
        .map(|(to, from)| Some(Handoff { to, from, out: (0..n).map(|_| Burst::new()).collect(), done: done.clone() }))
        .collect())
}

/// The run's report: the lcores' figures summed (Mpps too), the largest window, the
/// histograms merged; each lcore's own report in `per_lcore`.
fn merge(cfg: &Config, outs: Vec<Outcome>, lcores: &[u32]) -> Report {
    let (mut syn_ack, mut complete): (Histogram<u64>, Histogram<u64>) = (histogram(), histogram());
    let mut t = Report { mode: cfg.mode.name(), ..Report::default() };
    let mut c = ConnReport::default();
    for (o, &l) in outs.into_iter().zip(lcores) {
        let r = o.report;
        t.frame_size = r.frame_size;
        t.secs = t.secs.max(r.secs);
        t.sent += r.sent;
        t.received_window += r.received_window;
        t.received += r.received;
        t.sent_mpps += r.sent_mpps;
        t.received_mpps += r.received_mpps;
        t.no_mbuf += r.no_mbuf;
        t.tx_full += r.tx_full;
        t.arp_replies += r.arp_replies;
        t.syn_acks += r.syn_acks;
        t.rsts += r.rsts;
        t.handed_off += r.handed_off;
        t.handoff_drops += r.handoff_drops;
        if let Some(x) = &r.conn {
            c.attempted += x.attempted;
            c.established += x.established;
            c.completed += x.completed;
            c.reset += x.reset;
            c.timeouts += x.timeouts;
            c.table_full += x.table_full;
        }
        // Same bounds on every lcore: adding cannot fail.
        let _ = syn_ack.add(&o.syn_ack);
        let _ = complete.add(&o.complete);
        t.per_lcore.push(Report { lcore: Some(l), ..r });
    }
    if cfg.mode == Mode::Connect {
        c.cps = c.completed as f64 / t.secs.max(1e-9);
        c.syn_ack_us = percentiles(&syn_ack);
        c.complete_us = percentiles(&complete);
        t.conn = Some(c);
    }
    t
}
