//! The admin API behind `rvsadm`: ipvsadm command lines executed against the live
//! configuration, answered with ipvsadm's exact output. Served on a Unix socket by the
//! control thread (see [`socket`]).

mod capture;
pub mod socket;
pub mod vip;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use rvs_core::addr::{Addr, Protocol};
use rvs_core::conn::ConnInfo;
use rvs_core::service::{self as core, ConfigError, DestId, FwdMethod};
use rvs_core::stats::CoreStats;
use serde::{Deserialize, Serialize};

use crate::ipvsadm::{self as ipv, format, Command, ConnEntry, Feature, ListTarget, Listing, UsageError};
use crate::live::Live;
use crate::rate::{Estimator, Totals};

/// One rvsadm invocation: its arguments (without the program name) and, for `-R`, its
/// standard input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub args: Vec<String>,
    #[serde(default)]
    pub stdin: Option<String>,
}

/// What rvsadm prints and its exit status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Response {
    fn out(stdout: String) -> Self {
        Response { stdout, ..Response::default() }
    }
    fn err(stderr: impl Into<String>, code: i32) -> Self {
        let mut stderr = stderr.into();
        if !stderr.ends_with('\n') {
            stderr.push('\n');
        }
        Response { stderr, code, ..Response::default() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum RateKey {
    Service(core::ServiceKey),
    Dest(DestId),
}

#[derive(Default)]
struct State {
    rates: Estimator<RateKey>,
    /// `-Z`: counters at the time of zeroing. Listings subtract them; the workers'
    /// counters (and Prometheus) keep counting up.
    zero: HashMap<DestId, Totals>,
}

pub struct Admin {
    live: Arc<Live>,
    net: Option<Arc<crate::net::LiveNet>>,
    cores: Vec<Arc<CoreStats>>,
    table_size: u32,
    state: Mutex<State>,
    /// A capture is running (one at a time).
    capturing: AtomicBool,
    /// The IPVS sync daemon (`--start-daemon`), where rvsd runs one.
    sync: Option<Arc<crate::sync::SyncDaemon>>,
}

/// Per-real-server figures summed over the workers.
#[derive(Clone, Copy, Default)]
struct DestSum {
    totals: Totals,
    active: u32,
    inactive: u32,
    persist: u32,
}

fn sub(a: Totals, b: Totals) -> Totals {
    Totals {
        conns: a.conns.saturating_sub(b.conns),
        inpkts: a.inpkts.saturating_sub(b.inpkts),
        outpkts: a.outpkts.saturating_sub(b.outpkts),
        inbytes: a.inbytes.saturating_sub(b.inbytes),
        outbytes: a.outbytes.saturating_sub(b.outbytes),
    }
}

fn add(a: Totals, b: Totals) -> Totals {
    Totals {
        conns: a.conns + b.conns,
        inpkts: a.inpkts + b.inpkts,
        outpkts: a.outpkts + b.outpkts,
        inbytes: a.inbytes + b.inbytes,
        outbytes: a.outbytes + b.outbytes,
    }
}

fn stats(t: Totals, r: crate::rate::Rates) -> ipv::Stats {
    ipv::Stats {
        conns: t.conns,
        inpkts: t.inpkts,
        outpkts: t.outpkts,
        inbytes: t.inbytes,
        outbytes: t.outbytes,
        cps: r.cps,
        inpps: r.inpps,
        outpps: r.outpps,
        inbps: r.inbps,
        outbps: r.outbps,
    }
}

impl Admin {
    /// `table_size` is what the listing header reports as `size=`.
    pub fn new(live: Arc<Live>, cores: Vec<Arc<CoreStats>>, table_size: u32) -> Self {
        Admin {
            live,
            net: None,
            cores,
            table_size,
            state: Mutex::new(State::default()),
            capturing: AtomicBool::new(false),
            sync: None,
        }
    }

    /// Serve `--start-daemon`, `--stop-daemon` and `-L --daemon` with `sync`.
    pub fn with_sync(mut self, sync: Arc<crate::sync::SyncDaemon>) -> Self {
        self.sync = Some(sync);
        self
    }

    /// The sync daemon's commands, when this rvsd has one.
    fn daemon(&self, cmd: &Command) -> Option<Response> {
        let sync = self.sync.as_ref()?;
        let done = |r: Result<(), String>| match r {
            Ok(()) => Response::default(),
            Err(e) => Response::err(e, 255),
        };
        match cmd {
            Command::StartDaemon(d) => Some(done(sync.start(d))),
            Command::StopDaemon(d) => Some(done(sync.stop(d.state))),
            Command::List(l) if l.target == ListTarget::Daemon => {
                Some(Response::out(format::list_daemon(&sync.list())))
            }
            _ => None,
        }
    }

    /// The running addresses and VIPs, for `rvsadm --add-vip` and friends.
    pub fn with_net(mut self, net: Arc<crate::net::LiveNet>) -> Self {
        self.net = Some(net);
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn dest_sum(&self, id: DestId) -> DestSum {
        let mut s = DestSum::default();
        for c in &self.cores {
            if let Some(d) = c.dest(id.0) {
                s.totals = add(
                    s.totals,
                    Totals {
                        conns: d.conns.get(),
                        inpkts: d.inpkts.get(),
                        outpkts: d.outpkts.get(),
                        inbytes: d.inbytes.get(),
                        outbytes: d.outbytes.get(),
                    },
                );
                s.active += d.active.get() as u32;
                s.inactive += d.inactive.get() as u32;
                s.persist += d.persist.get() as u32;
            }
        }
        s
    }

    /// The rate estimator's sample, and ids of deleted real servers whose connections
    /// are gone made available again; call every [`crate::rate::PERIOD_SECS`] seconds.
    pub fn tick(&self) {
        let freed = self.live.release_ids(&self.cores);
        if !freed.is_empty() {
            // Their -Z baselines belonged to the servers that left.
            self.state().zero.retain(|id, _| !freed.contains(id));
        }
        let snap = self.live.snapshot();
        let mut samples = Vec::new();
        for svc in snap.services() {
            let mut total = Totals::default();
            for d in &svc.dests {
                let t = self.dest_sum(d.id).totals;
                total = add(total, t);
                samples.push((RateKey::Dest(d.id), t));
            }
            samples.push((RateKey::Service(svc.key), total));
        }
        self.state().rates.sample(samples);
    }

    /// The table as ipvsadm would list it now.
    pub fn listing(&self) -> Listing {
        let cfg = self.live.config();
        let state = self.state();
        let mut services = Vec::new();
        for svc in cfg.services() {
            let mut total = Totals::default();
            let mut dests = Vec::new();
            for d in &svc.dests {
                let sum = self.dest_sum(d.id);
                let shown = sub(sum.totals, state.zero.get(&d.id).copied().unwrap_or_default());
                total = add(total, shown);
                dests.push(ipv::DestEntry {
                    spec: d.spec(),
                    tunnel: ipv::TunnelOpts::default(),
                    active: sum.active,
                    inactive: sum.inactive,
                    persist: sum.persist,
                    stats: stats(shown, state.rates.rates(&RateKey::Dest(d.id))),
                });
            }
            services.push(ipv::ServiceEntry {
                spec: svc.spec(),
                ext: ipv::ServiceExt::default(),
                dests,
                stats: stats(total, state.rates.rates(&RateKey::Service(svc.key))),
                laddrs: svc.laddrs.iter().map(|a| a.to_ip()).collect(),
            });
        }
        Listing { version: ipv::IPVS_VERSION.to_string(), table_size: self.table_size, services }
    }

    /// Run one rvsadm command line.
    pub fn execute(&self, req: &Request) -> Response {
        match crate::capture::request::parse(&req.args) {
            Some(Ok(c)) => return self.capture(&c),
            Some(Err(usage)) => return Response::err(usage, 2),
            None => {}
        }
        match (vip::parse(&req.args), &self.net) {
            (Some(Ok(c)), Some(net)) => return vip::execute(net, c),
            (Some(Ok(_)), None) => return Response::err("rvsadm: this rvsd manages no VIPs", 255),
            (Some(Err(usage)), _) => return Response::err(usage, 2),
            (None, _) => {}
        }
        let cmd = match ipv::parse(&req.args) {
            Ok(c) => c,
            Err(e) => return Response::err(e.message, e.exit_code),
        };
        if let Some(r) = self.daemon(&cmd) {
            return r;
        }
        if let Err(e) = supported(&cmd) {
            return Response::err(e.message, e.exit_code);
        }
        match cmd {
            Command::Help => Response::out(ipv::usage_text()),
            Command::Version => Response::out(format!("{}\n", ipv::version_line())),
            Command::List(spec) => self.list(&spec),
            Command::Save { .. } => Response::out(format::save(&self.listing())),
            Command::GetLaddr { service } => match format::list_laddrs(&self.listing(), &service) {
                Ok(s) => Response::out(s),
                Err(e) => Response::err(e.message, e.exit_code),
            },
            Command::Restore => self.restore(req.stdin.as_deref().unwrap_or("")),
            Command::Zero(key) => self.zero(key.as_ref()),
            Command::SetTimeouts(t) => {
                self.live.set_timeouts(t.tcp, t.tcpfin, t.udp);
                Response::default()
            }
            other => match self.live.update(|c| apply(c, &other)) {
                Ok(()) => Response::default(),
                Err(msg) => Response::err(msg, 255),
            },
        }
    }

    fn list(&self, spec: &ipv::ListSpec) -> Response {
        match &spec.target {
            ListTarget::All => Response::out(format::list_all(&self.listing(), &spec.format)),
            ListTarget::Service(key) => match format::list_service(&self.listing(), key, &spec.format) {
                Ok(s) => Response::out(s),
                Err(e) => Response::err(e.message, e.exit_code),
            },
            ListTarget::Connections => {
                let conns: Vec<ipv::ConnEntry> = self.live.connections().iter().filter_map(conn_entry).collect();
                Response::out(format::list_conn(&conns, spec.format.persistent_conn))
            }
            ListTarget::Timeout => {
                let (tcp, tcpfin, udp) = self.live.timeouts();
                Response::out(format::list_timeout(&ipv::Timeouts { tcp, tcpfin, udp }))
            }
            ListTarget::Daemon => Response::out(format::list_daemon(&[])),
        }
    }

    /// `-R`: every line is parsed, then all are applied to one copy of the
    /// configuration; a bad line rejects the whole input and nothing changes.
    fn restore(&self, text: &str) -> Response {
        match self.live.update(|cfg| restore(cfg, text)) {
            Ok(()) => Response::default(),
            Err((msg, code)) => Response::err(msg, code),
        }
    }

    /// `-Z [service]`: listings count from zero again.
    fn zero(&self, key: Option<&core::ServiceKey>) -> Response {
        let snap = self.live.snapshot();
        let want = key.copied();
        if want.is_some() && !snap.services().iter().any(|s| Some(s.key) == want) {
            return Response::err("No such service", 255);
        }
        let ids: Vec<DestId> = snap
            .services()
            .iter()
            .filter(|s| want.is_none_or(|k| k == s.key))
            .flat_map(|s| s.dests.iter().map(|d| d.id))
            .collect();
        let sums: Vec<(DestId, Totals)> = ids.into_iter().map(|id| (id, self.dest_sum(id).totals)).collect();
        self.state().zero.extend(sums);
        Response::default()
    }
}

/// Apply an ipvsadm save file (`ipvsadm -S -n` output, `-R` input) to `cfg`: all lines
/// or, on the first bad one, an error naming it (`line N: ...`) and its exit status.
pub fn restore(cfg: &mut core::Config, text: &str) -> Result<(), (String, i32)> {
    let cmds = ipv::parse_restore_lines(text).map_err(|e| (e.to_string(), e.exit_code))?;
    for (line, c) in &cmds {
        supported(c).map_err(|e| (format!("line {line}: {e}"), e.exit_code))?;
        apply(cfg, c).map_err(|m| (format!("line {line}: {m}"), 255))?;
    }
    Ok(())
}

/// One configuration command on a copy of the configuration.
fn apply(c: &mut core::Config, cmd: &Command) -> Result<(), String> {
    let svc_err = |e: core::ConfigError| strerror(&e, false);
    let dest_err = |e: core::ConfigError| strerror(&e, true);
    match cmd {
        Command::AddService(s, _) => c.add_service(s).map_err(svc_err),
        Command::EditService(s, _) => c.edit_service(s).map_err(svc_err),
        Command::DeleteService(k) => c.del_service(k).map_err(svc_err),
        Command::Clear => {
            c.clear();
            Ok(())
        }
        Command::AddServer { service, dest, .. } => c.add_dest(service, dest).map(|_| ()).map_err(dest_err),
        Command::EditServer { service, dest, .. } => c.edit_dest(service, dest).map_err(dest_err),
        Command::DeleteServer { service, addr, port } => c.del_dest(service, *addr, *port).map_err(dest_err),
        // DPVS's libipvs words a missing service as for real servers: "Service not defined".
        Command::AddLaddr { service, laddr } => c.add_laddr(service, Addr::from(*laddr)).map_err(dest_err),
        Command::DelLaddr { service, laddr } => c.del_laddr(service, Addr::from(*laddr)).map_err(dest_err),
        other => Err(format!("{other:?}: not a configuration command")),
    }
}

/// What rvs cannot do for a command: a service it cannot forward (SCTP, fwmark), or an
/// extension not built yet (`--pe`, GUE/GRE, the sync daemon).
fn supported(cmd: &Command) -> Result<(), UsageError> {
    cmd.check_forwardable()?;
    match cmd.features().into_iter().find(|f| !Feature::BUILT.contains(f)) {
        Some(f) => Err(UsageError { message: format!("{}\n", f.not_supported_message()), exit_code: 2 }),
        None => Ok(()),
    }
}

/// libipvs's ipvs_strerror: the same errno reads differently per operation.
fn strerror(e: &ConfigError, dest_op: bool) -> String {
    match e {
        ConfigError::NoSuchService if dest_op => "Service not defined".into(),
        ConfigError::UnknownScheduler(_) => "Scheduler or persistence engine not found".into(),
        other => other.to_string(),
    }
}

/// A worker's connection as `-L -c` lists it.
fn conn_entry(c: &ConnInfo) -> Option<ConnEntry> {
    let sock = |a: Addr, p: u16| SocketAddr::new(a.to_ip(), p);
    Some(ConnEntry {
        proto: Protocol::from_number(c.proto)?,
        expire_secs: u32::try_from(c.expires_ms / 1000).unwrap_or(u32::MAX),
        state: c.state.to_string(),
        client: sock(c.caddr, c.cport),
        virt: sock(c.vaddr, c.vport),
        dest: sock(c.daddr, c.dport),
        pe: None,
        local: (c.fwd == FwdMethod::FullNat).then(|| sock(c.laddr, c.lport)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_core::conn::ConnId;

    fn info(fwd: FwdMethod) -> ConnInfo {
        let a = |s: &str| Addr::from(s.parse::<std::net::IpAddr>().unwrap());
        ConnInfo {
            id: ConnId(1),
            proto: 6,
            template: false,
            state: "ESTABLISHED",
            caddr: a("203.0.113.5"),
            cport: 51000,
            vaddr: a("10.0.2.100"),
            vport: 80,
            daddr: a("10.0.3.11"),
            dport: 80,
            laddr: a("10.0.3.200"),
            lport: 1025,
            dest: DestId(0),
            fwd,
            expires_ms: 61_500,
            active: true,
            n_control: 0,
            tcp_ext: None,
        }
    }

    #[test]
    fn a_fullnat_connection_carries_its_local_address_others_none() {
        let e = conn_entry(&info(FwdMethod::FullNat)).unwrap();
        assert_eq!(e.local, Some("10.0.3.200:1025".parse().unwrap()));
        assert_eq!(e.expire_secs, 61);
        for fwd in [FwdMethod::Masq, FwdMethod::Route, FwdMethod::Tunnel] {
            assert_eq!(conn_entry(&info(fwd)).unwrap().local, None, "{fwd:?}");
        }
    }
}
