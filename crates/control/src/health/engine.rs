//! The health-check state machine, without threads or clocks: it is told each
//! attempt's result ([`Engine::report`]) and answers when to try next, what to log and
//! which scripts to run. [`Engine::effective`] is what IPVS would hold under keepalived.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rvs_core::addr::{fmt_addr_port, Addr};
use rvs_core::service::{DestSpec, FwdMethod, ServiceDef};

use super::checker::{self, CkState, Step};
use crate::keepalived::{Checker, CheckerKind, KeepalivedConf, ServiceChecks};
use crate::metrics::service_label;

/// keepalived's BOOTSTRAP_DELAY (lib/scheduler.h): every checker's first run waits
/// this long plus a random part of its warmup.
pub const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);
/// IPVS's weight limit as the rvs model (and ipvsadm) has it.
pub const MAX_WEIGHT: i64 = 65535;

/// A checker of one configuration generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CheckerId {
    pub generation: u64,
    pub service: usize,
    pub real_server: usize,
    pub checker: usize,
}

/// What one check attempt found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckResult {
    /// TCP connected; HTTP/SSL url answered as configured; MISC exited 0.
    Ok,
    /// The reason, for the log (MISC: timed out, killed, could not start).
    Failed(String),
    /// MISC_CHECK's exit status.
    Exit(u8),
    /// The attempt could not be made (socket or bind error): keepalived reschedules
    /// after delay_loop without a verdict.
    Skipped(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub result: CheckResult,
    /// How long the attempt took.
    pub latency: Duration,
}

impl Outcome {
    pub fn new(result: CheckResult, latency: Duration) -> Outcome {
        Outcome { result, latency }
    }
}

/// Side effects of a state change, for the caller to carry out outside any lock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Lines for stdout.
    pub logs: Vec<String>,
    /// Command lines to spawn (notify_up/down, quorum_up/down), in order.
    pub scripts: Vec<String>,
    /// The effective list may have changed.
    pub changed: bool,
}

impl Effects {
    pub(crate) fn log(&mut self, line: String) {
        self.logs.push(line);
    }
    pub(crate) fn script(&mut self, s: &Option<String>) {
        if let Some(s) = s {
            self.scripts.push(s.clone());
        }
    }
    pub(crate) fn append(&mut self, o: Effects) {
        self.logs.extend(o.logs);
        self.scripts.extend(o.scripts);
        self.changed |= o.changed;
    }
}

/// The answer to [`Engine::report`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Until the checker's next attempt.
    pub delay: Duration,
    /// HTTP_GET/SSL_GET: index of the url to fetch next.
    pub url: usize,
    pub effects: Effects,
}

/// A checker as the runner needs it.
#[derive(Clone, Debug)]
pub struct CheckerInfo {
    pub id: CheckerId,
    pub checker: Checker,
    /// The real server (the default connect address).
    pub server: SocketAddr,
    /// The virtual server's `virtualhost` (HTTP Host and SNI fallback).
    pub service_virtualhost: Option<String>,
    /// The virtual server's delay_loop (MISC_CHECK's default misc_timeout).
    pub service_delay_loop: Duration,
    /// The first run is due BOOTSTRAP_DELAY plus a random part of this.
    pub warmup: Duration,
    /// For logs: "TCP_CHECK on 10.0.3.11:80".
    pub name: String,
}

/// One checker's state and counters.
#[derive(Clone, Debug)]
pub(crate) struct Ck {
    pub spec: Checker,
    pub alpha: bool,
    /// "TCP_CHECK", "HTTP_GET/2" for a second one on the same server.
    pub label: String,
    /// For logs: what it checks.
    pub target: String,
    pub st: CkState,
    pub ok: u64,
    pub failed: u64,
    pub last_latency: Option<Duration>,
}

#[derive(Clone, Debug)]
pub(crate) struct Rs {
    pub dest: DestSpec,
    pub label: String,
    pub inhibit: bool,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    pub alive: bool,
    pub checkers: Vec<Ck>,
}

impl Rs {
    pub fn num_failed(&self) -> usize {
        self.checkers.iter().filter(|c| !c.st.is_up).count()
    }
    /// keepalived's `real_weight(effective_weight)`: the configured weight plus every
    /// misc_dynamic offset, clamped.
    pub fn weight(&self) -> u32 {
        let w = i64::from(self.dest.weight) + self.checkers.iter().map(|c| c.st.cur_weight).sum::<i64>();
        w.clamp(0, MAX_WEIGHT) as u32
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Svc {
    pub def: ServiceDef,
    pub label: String,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up_script: Option<String>,
    pub quorum_down_script: Option<String>,
    pub sorry: Option<DestSpec>,
    /// `sorry_server_inhibit`: out of quorum loss, the sorry server stays at weight 0.
    pub sorry_inhibit: bool,
    pub omega: bool,
    pub delay_loop: Duration,
    pub virtualhost: Option<String>,
    pub quorum_up: bool,
    pub sorry_alive: bool,
    pub rs: Vec<Rs>,
}

/// Per real server state, for metrics and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServerStatus {
    /// `TCP 10.0.2.100:80`.
    pub service: String,
    /// `10.0.3.11:80`.
    pub server: String,
    /// Every checker passes.
    pub up: bool,
    /// In the effective list with a weight (up, and not pushed out by a sorry server).
    pub in_pool: bool,
    /// Configured weight with misc_dynamic applied.
    pub weight: u32,
    pub checkers: Vec<CheckerStatus>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckerStatus {
    /// `TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK` (`/2`, `/3` for more of a kind).
    pub checker: String,
    pub up: bool,
    /// Attempts that passed or failed (retries count).
    pub ok: u64,
    pub failed: u64,
    pub last_latency: Option<Duration>,
}

/// The state machine of a whole configuration.
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) generation: u64,
    pub(crate) services: Vec<Svc>,
    /// Per service: the group member whose checks it shares (`ServiceChecks::
    /// same_checks_as`). A virtual_server group is one virtual server to keepalived:
    /// its real servers are checked once, and their states apply to every member.
    pub(crate) same_as: Vec<Option<usize>>,
}

pub(crate) fn kind_name(k: &CheckerKind) -> &'static str {
    match k {
        CheckerKind::Tcp => "TCP_CHECK",
        CheckerKind::Http(_) => "HTTP_GET",
        CheckerKind::Ssl(_) => "SSL_GET",
        CheckerKind::Misc(_) => "MISC_CHECK",
    }
}

fn ip_port(a: IpAddr, p: u16) -> String {
    fmt_addr_port(Addr::from(a), p)
}

/// keepalived drops an HTTP_GET/SSL_GET without urls at configuration time
/// ("checker has no urls specified - ignoring"); such a checker never runs.
fn runnable(c: &Checker) -> bool {
    match &c.kind {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) => !h.urls.is_empty(),
        _ => true,
    }
}

impl Svc {
    fn build(def: &ServiceDef, ch: &ServiceChecks, warnings: &mut Vec<String>) -> Svc {
        let label = service_label(&def.spec.key);
        let vport = def.spec.key.port();
        let mut rs = Vec::with_capacity(def.dests.len());
        let empty = Default::default();
        for (j, d) in def.dests.iter().enumerate() {
            let rc = ch.real_servers.get(j).unwrap_or(&empty);
            let label_rs = fmt_addr_port(d.addr, d.port);
            let mut checkers: Vec<Ck> = Vec::new();
            for c in rc.checkers.iter() {
                let name = kind_name(&c.kind);
                if !runnable(c) {
                    warnings
                        .push(format!("health: {name} of {label_rs} in {label} has no url: ignored, as keepalived"));
                    continue;
                }
                let n = checkers.iter().filter(|k| k.label.split('/').next() == Some(name)).count();
                let target = match &c.kind {
                    CheckerKind::Misc(m) => m.misc_path.clone(),
                    _ => ip_port(c.connect_ip.unwrap_or(d.addr.to_ip()), c.connect_port.unwrap_or(d.port)),
                };
                checkers.push(Ck {
                    spec: c.clone(),
                    alpha: ch.alpha,
                    label: if n == 0 { name.to_string() } else { format!("{name}/{}", n + 1) },
                    target,
                    st: CkState::initial(ch.alpha, c.retry),
                    ok: 0,
                    failed: 0,
                    last_latency: None,
                });
            }
            rs.push(Rs {
                dest: *d,
                label: label_rs,
                inhibit: ch.inhibit_on_failure || rc.inhibit_on_failure,
                notify_up: rc.notify_up.clone(),
                notify_down: rc.notify_down.clone(),
                alive: false,
                checkers,
            });
        }
        // check_data.c: quorum above the total weight could never be met, and
        // hysteresis must stay below quorum.
        let total: i64 = def.dests.iter().map(|d| i64::from(d.weight)).sum();
        let mut quorum = ch.quorum;
        if i64::from(quorum) > total {
            let t = total.clamp(0, i64::from(u32::MAX)) as u32;
            warnings.push(format!(
                "health: quorum {quorum} of {label} exceeds the real servers' total weight {t}; using {t}"
            ));
            quorum = t;
        }
        let hysteresis = if ch.hysteresis >= quorum && ch.hysteresis > 0 {
            let h = quorum.saturating_sub(1);
            warnings.push(format!("health: hysteresis {} >= quorum {quorum} of {label}; using {h}", ch.hysteresis));
            h
        } else {
            ch.hysteresis
        };
        let sorry = ch.sorry_server.map(|(a, p)| {
            let mut d = DestSpec::new(Addr::from(a), p);
            d.fwd = ch.lb_kind;
            // check_data.c: a non-NAT sorry server takes the virtual server's port.
            if d.fwd != FwdMethod::Masq || p == 0 {
                d.port = vport;
            }
            d
        });
        Svc {
            def: def.clone(),
            label,
            quorum,
            hysteresis,
            quorum_up_script: ch.quorum_up.clone(),
            quorum_down_script: ch.quorum_down.clone(),
            sorry,
            sorry_inhibit: ch.sorry_server_inhibit,
            omega: ch.omega,
            delay_loop: ch.delay_loop,
            virtualhost: ch.virtualhost.clone(),
            quorum_up: false,
            sorry_alive: false,
            rs,
        }
    }

    /// Whether real server `j` holds its weight in the pool: alive, and not pushed
    /// out by the sorry server (ipwrapper.c perform_svr_state/perform_quorum_state).
    pub fn in_pool(&self, j: usize) -> bool {
        self.rs[j].alive && (self.quorum_up || self.sorry.is_none() || !self.sorry_alive)
    }

    /// This service's real servers as `st`'s checks left them (`st` is this service,
    /// or the group member that checks for it: same real servers, same order).
    fn effective_as(&self, st: &Svc) -> ServiceDef {
        let mut dests = Vec::with_capacity(self.rs.len() + 1);
        for (j, r) in self.rs.iter().enumerate() {
            let Some(state) = st.rs.get(j) else { continue };
            if st.in_pool(j) {
                dests.push(DestSpec { weight: state.weight(), ..r.dest });
            } else if r.inhibit {
                // ipvswrapper.c ipvs_cmd: inhibit_on_failure edits the weight to 0.
                dests.push(DestSpec { weight: 0, ..r.dest });
            }
        }
        match (self.sorry, st.sorry_alive) {
            (Some(s), true) => {
                // A sorry server that is also a real server takes that entry.
                dests.retain(|d| (d.addr, d.port) != (s.addr, s.port));
                dests.push(s);
            }
            // sorry_server_inhibit: inhibit_on_failure's weight 0 for the sorry server.
            (Some(s), false) if self.sorry_inhibit && !dests.iter().any(|d| (d.addr, d.port) == (s.addr, s.port)) => {
                dests.push(DestSpec { weight: 0, ..s });
            }
            _ => {}
        }
        ServiceDef { spec: self.def.spec.clone(), dests, laddrs: self.def.laddrs.clone() }
    }
}

impl Engine {
    /// The engine at keepalived's start: every real server whose checkers have not
    /// failed (all of them, unless `alpha`) in the pool, quorum evaluated. The effects
    /// are the startup's (quorum_up when quorum is met, the sorry server otherwise).
    pub fn new(conf: &KeepalivedConf) -> (Engine, Effects) {
        Engine::build(conf, 0)
    }

    /// The services with every real server down and every checker in its startup state.
    pub(crate) fn build_raw(conf: &KeepalivedConf, generation: u64, warnings: &mut Vec<String>) -> Engine {
        let none = ServiceChecks::default();
        let services = conf
            .services
            .iter()
            .enumerate()
            .map(|(i, def)| Svc::build(def, conf.checks.get(i).unwrap_or(&none), warnings))
            .collect::<Vec<Svc>>();
        let same_as = (0..services.len())
            .map(|i| {
                let f = conf.checks.get(i)?.same_checks_as.filter(|&f| f < i)?;
                (services[f].rs.len() == services[i].rs.len()).then_some(f)
            })
            .collect();
        Engine { generation, services, same_as }
    }

    pub(crate) fn build(conf: &KeepalivedConf, generation: u64) -> (Engine, Effects) {
        let mut fx = Effects::default();
        let mut e = Engine::build_raw(conf, generation, &mut fx.logs);
        let checked: Vec<usize> = (0..e.services.len()).filter(|&i| e.same_as[i].is_none()).collect();
        for i in checked {
            fx.append(e.init_service(i, false));
        }
        fx.changed = true;
        (e, fx)
    }

    /// set_quorum_states, then init_service_rs and update_quorum_state(init).
    pub(crate) fn init_service(&mut self, i: usize, keep_quorum: bool) -> Effects {
        let mut fx = Effects::default();
        if !keep_quorum {
            let s = &mut self.services[i];
            s.quorum_up = s.live_weight() >= i64::from(s.quorum) + i64::from(s.hysteresis);
        }
        let s = &mut self.services[i];
        for r in s.rs.iter_mut() {
            if r.num_failed() == 0 && !r.alive {
                r.alive = true;
            }
        }
        self.update_quorum(i, true, &mut fx);
        fx
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every checker to run, with what its runner needs.
    pub fn checkers(&self) -> Vec<CheckerInfo> {
        let mut out = Vec::new();
        for (i, s) in self.services.iter().enumerate().filter(|(i, _)| self.same_as[*i].is_none()) {
            for (j, r) in s.rs.iter().enumerate() {
                for (k, c) in r.checkers.iter().enumerate() {
                    out.push(CheckerInfo {
                        id: CheckerId { generation: self.generation, service: i, real_server: j, checker: k },
                        checker: c.spec.clone(),
                        server: SocketAddr::new(r.dest.addr.to_ip(), r.dest.port),
                        service_virtualhost: s.virtualhost.clone(),
                        service_delay_loop: s.delay_loop,
                        // check_data.c: warmup defaults to the checker's delay_loop.
                        warmup: c.spec.warmup.unwrap_or(c.spec.delay_loop),
                        name: format!("{} on {}", kind_name(&c.spec.kind), c.target),
                    });
                }
            }
        }
        out
    }

    /// The effective list: the configured services in order, real servers as IPVS
    /// would hold them under keepalived.
    pub fn effective(&self) -> Vec<ServiceDef> {
        self.services
            .iter()
            .enumerate()
            .map(|(i, s)| s.effective_as(self.same_as[i].and_then(|f| self.services.get(f)).unwrap_or(s)))
            .collect()
    }

    pub fn status(&self) -> Vec<RealServerStatus> {
        let mut out = Vec::new();
        for (_, s) in self.services.iter().enumerate().filter(|(i, _)| self.same_as[*i].is_none()) {
            for (j, r) in s.rs.iter().enumerate() {
                out.push(RealServerStatus {
                    service: s.label.clone(),
                    server: r.label.clone(),
                    up: r.alive,
                    in_pool: s.in_pool(j),
                    weight: r.weight(),
                    checkers: r
                        .checkers
                        .iter()
                        .map(|c| CheckerStatus {
                            checker: c.label.clone(),
                            up: c.st.is_up,
                            ok: c.ok,
                            failed: c.failed,
                            last_latency: c.last_latency,
                        })
                        .collect(),
                });
            }
        }
        out
    }

    /// One attempt's result. `None` when `id` is not a checker of this generation (a
    /// runner that outlived a reload).
    pub fn report(&mut self, id: CheckerId, outcome: Outcome) -> Option<Report> {
        if id.generation != self.generation {
            return None;
        }
        let svc = self.services.get_mut(id.service)?;
        let iweight = svc.rs.get(id.real_server)?.dest.weight;
        let weight_before = svc.rs[id.real_server].weight();
        let ck = svc.rs[id.real_server].checkers.get_mut(id.checker)?;
        let mut fx = Effects::default();
        let name = format!("{} on {}", kind_name(&ck.spec.kind), ck.target);
        let misc = matches!(ck.spec.kind, CheckerKind::Misc(_));
        let (ok, reason) = match &outcome.result {
            CheckResult::Skipped(why) => {
                // check_tcp.c: "TCP socket bind failed. Rescheduling."
                fx.log(format!("health: {name} not run ({why}); rescheduled"));
                return Some(Report { delay: ck.spec.delay_loop, url: ck.st.url, effects: fx });
            }
            CheckResult::Ok => (true, String::new()),
            CheckResult::Failed(r) => (false, r.clone()),
            CheckResult::Exit(0) => (true, String::new()),
            CheckResult::Exit(c) => {
                let dynamic = matches!(&ck.spec.kind, CheckerKind::Misc(m) if m.misc_dynamic);
                (misc && dynamic && *c >= 2, format!("exit status {c}"))
            }
        };
        if ok {
            ck.ok += 1;
        } else {
            ck.failed += 1;
        }
        ck.last_latency = Some(outcome.latency);
        let step: Step = match &ck.spec.kind {
            CheckerKind::Tcp => checker::tcp(&mut ck.st, &ck.spec, ok),
            CheckerKind::Http(_) | CheckerKind::Ssl(_) => checker::http(&mut ck.st, &ck.spec, ok),
            CheckerKind::Misc(_) => {
                let exit = match &outcome.result {
                    CheckResult::Exit(c) => Some(*c),
                    CheckResult::Ok => Some(0),
                    _ => None,
                };
                checker::misc(&mut ck.st, &ck.spec, iweight, exit, outcome.latency)
            }
        };
        let url = ck.st.url;
        if let Some((n, of)) = step.retrying {
            fx.log(format!("health: {name} failed ({reason}); retry {n}/{of} in {:?}", step.delay));
        }
        let (i, j, k) = (id.service, id.real_server, id.checker);
        if step.weight_changed {
            let after = self.services[i].rs[j].weight();
            if after != weight_before && ok {
                let s = &self.services[i];
                fx.log(format!(
                    "health: {name} {reason_or_ok}; real server {} of {} weight {weight_before} -> {after}{}",
                    s.rs[j].label,
                    s.label,
                    if s.rs[j].alive { "" } else { " (not in the pool)" },
                    reason_or_ok = if reason.is_empty() { "succeeded".to_string() } else { reason.clone() },
                ));
                // update_svr_wgt(.., update_quorum = true)
                self.update_quorum(i, false, &mut fx);
                fx.changed = true;
            }
        }
        if let Some(v) = step.update {
            let why = if ok { "succeeded".to_string() } else { format!("failed ({reason})") };
            self.update_checker_state(i, j, k, v, &format!("health: {name} {why}"), &mut fx);
        }
        Some(Report { delay: step.delay, url, effects: fx })
    }

    /// clear_services at shutdown: with `omega`, notify_down of every server in the
    /// pool and quorum_down of every service (ipwrapper.c clear_service_rs,
    /// update_vs_notifies with stopping).
    pub fn shutdown(&mut self) -> Effects {
        let mut fx = Effects::default();
        for s in self.services.iter_mut() {
            for r in s.rs.iter_mut() {
                if r.alive {
                    r.alive = false;
                    if s.omega {
                        fx.log(format!("health: shutting down real server {} of {}", r.label, s.label));
                        fx.script(&r.notify_down);
                    }
                }
            }
            s.quorum_up = false;
            if s.omega {
                fx.script(&s.quorum_down_script);
            }
        }
        fx
    }
}
