//! Virtual services and real servers (destinations), validated as ipvsadm/ip_vs_ctl.c do.
//!
//! Two halves:
//! - [`Config`]: the control plane's mutable model (`-A/-E/-D/-a/-e/-d`), which publishes
//!   immutable [`Snapshot`]s shared with workers by `Arc`.
//! - [`DestLoad`]: per-core live counters (active/inactive/persistent, overload flag).
//!
//! Counter design: in IPVS `activeconns`/`inactconns` are global atomics on the dest. In
//! rvs every worker owns its own connection table, so every worker also owns its own
//! `DestLoad` and schedules on its own counts: no shared cache line is written on the fast
//! path. RSS spreads clients evenly, so per-core least-connection decisions converge to
//! the global ones. The control plane sums the per-core counts for listings. Thresholds
//! (`-x/-y`) are compared with the per-core counts after dividing them by the number of
//! workers (rounded up), so the whole director honours roughly the configured limit.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use crate::addr::{Addr, Protocol};
use crate::sched;
pub use crate::sched::{DestCounters, DestLoad, DestLoadReader};

mod spec;
pub use spec::*;

/// Stable identifier of a destination: the index of its per-core counters. The same
/// (service, address, port) keeps its id across snapshots and delete/re-add while
/// connections or templates still refer to it (IPVS keeps deleted dests in
/// `dest_trash`), so connections of a returning server resume; once they are gone the
/// id is released ([`Config::release_ids`]) and may go to another server.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct DestId(pub u32);

/// A validated real server inside a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dest {
    pub id: DestId,
    pub addr: Addr,
    pub port: u16,
    /// 0..=65535; 0 = quiescent.
    pub weight: u32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub fwd: FwdMethod,
}

impl Dest {
    /// The spec this real server was built from.
    pub fn spec(&self) -> DestSpec {
        let Dest { addr, port, weight, u_threshold, l_threshold, fwd, .. } = *self;
        DestSpec { addr, port, weight, u_threshold, l_threshold, fwd }
    }
}

/// A validated virtual service inside a snapshot.
#[derive(Clone, Debug)]
pub struct Service {
    pub key: ServiceKey,
    /// The index of its per-core counters (`CoreStats::service`), stable while it
    /// exists; a deleted service's goes to the next one added.
    pub id: u32,
    /// One of [`sched::NAMES`].
    pub scheduler: &'static str,
    pub flags: SchedFlags,
    pub persistence: Option<Persistence>,
    pub one_packet: bool,
    pub proxy_protocol: Option<ProxyProtocol>,
    pub toa: bool,
    pub synproxy: bool,
    pub dests: Vec<Dest>,
    /// FullNAT local addresses, in the order added (`--add-laddr`).
    pub laddrs: Vec<Addr>,
}

impl Service {
    /// The spec this service was built from (its scheduler by canonical name).
    pub fn spec(&self) -> ServiceSpec {
        ServiceSpec {
            key: self.key,
            scheduler: self.scheduler.to_string(),
            flags: self.flags,
            persistence: self.persistence,
            one_packet: self.one_packet,
            proxy_protocol: self.proxy_protocol,
            toa: self.toa,
            synproxy: self.synproxy,
        }
    }
    pub fn protocol(&self) -> Option<Protocol> {
        match self.key {
            ServiceKey::Proto { proto, .. } => Some(proto),
            ServiceKey::Fwmark { .. } => None,
        }
    }
    pub fn is_v6(&self) -> bool {
        match self.key {
            ServiceKey::Proto { addr, .. } => !addr.is_v4(),
            ServiceKey::Fwmark { v6, .. } => v6,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    UnknownScheduler(String),
    InvalidSchedFlag(String),
    IncompatibleSchedFlag(String),
    /// "Zero port specified for non-persistent service".
    ZeroPortNotPersistent,
    InvalidWeight(u32),
    /// Kernel: lower threshold higher than upper (-ERANGE).
    ThresholdRange,
    InvalidTimeout,
    InvalidNetmask,
    /// "One-Packet Scheduling is only for UDP virtual services".
    OnePacketNotUdp,
    ServiceExists,
    NoSuchService,
    DestExists,
    NoSuchDest,
    FamilyMismatch,
    TooManyDests,
    /// An SCTP service: rvs forwards TCP and UDP only.
    SctpUnsupported,
    /// A firewall-mark service: rvs has no classifier that marks packets.
    FwmarkUnsupported,
    /// `--add-laddr` of an address the service has.
    LaddrExists,
    /// `--del-laddr` of an address the service does not have.
    NoSuchLaddr,
    /// TOA is a TCP option; PROXY v1 names TCP only (v2 carries UDP).
    ClientAddrNotUdp,
    /// SYN cookies are TCP's.
    SynproxyNotTcp,
    /// A SYN-proxied service's real servers must send their replies through the
    /// director (NAT, FullNAT): it translates their sequence numbers.
    SynproxyNeedsReplies,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ConfigError::UnknownScheduler(n) => return write!(f, "Scheduler not found: {n}"),
            ConfigError::InvalidSchedFlag(n) => return write!(f, "invalid scheduler flag `{n}'"),
            ConfigError::IncompatibleSchedFlag(n) => return write!(f, "incompatible scheduler flag `{n}'"),
            ConfigError::ZeroPortNotPersistent => "Zero port specified for non-persistent service",
            ConfigError::InvalidWeight(_) => "illegal weight specified",
            ConfigError::ThresholdRange => "lower threshold is higher than upper threshold",
            ConfigError::InvalidTimeout => "illegal timeout for persistent service",
            ConfigError::InvalidNetmask => "illegal netmask specified",
            ConfigError::OnePacketNotUdp => "One-Packet Scheduling is only for UDP virtual services",
            ConfigError::ServiceExists => "Service already exists",
            ConfigError::NoSuchService => "No such service",
            ConfigError::DestExists => "Destination already exists",
            ConfigError::NoSuchDest => "No such destination",
            ConfigError::FamilyMismatch => "address family mismatch",
            ConfigError::TooManyDests => "too many destinations",
            ConfigError::SctpUnsupported => "SCTP services are not supported: rvs has no SCTP forwarding",
            ConfigError::FwmarkUnsupported => {
                "firewall-mark services are not supported: rvs has no firewall-mark classifier"
            }
            ConfigError::LaddrExists => "Local address already exists",
            ConfigError::NoSuchLaddr => "No such local address",
            ConfigError::SynproxyNotTcp => "--synproxy is for TCP services",
            ConfigError::SynproxyNeedsReplies => {
                "--synproxy needs masq or fullnat real servers: with route or tunnel the replies bypass the director, which must translate their sequence numbers"
            }
            ConfigError::ClientAddrNotUdp => {
                "--toa and --proxy-protocol v1 are for TCP services (a UDP service takes --proxy-protocol v2)"
            }
        };
        f.write_str(s)
    }
}

impl std::error::Error for ConfigError {}

fn validate_service(spec: &ServiceSpec) -> Result<&'static str, ConfigError> {
    let name =
        sched::canonical_name(&spec.scheduler).ok_or_else(|| ConfigError::UnknownScheduler(spec.scheduler.clone()))?;
    if let ServiceKey::Proto { proto, port, addr } = spec.key {
        if port == 0 && spec.persistence.is_none() {
            return Err(ConfigError::ZeroPortNotPersistent);
        }
        if spec.one_packet && proto != Protocol::Udp {
            return Err(ConfigError::OnePacketNotUdp);
        }
        // PROXY v1 names TCP only; v2 carries UDP too (DPVS inserts it in UDP datagrams).
        if proto != Protocol::Tcp && (spec.toa || spec.proxy_protocol == Some(ProxyProtocol::V1)) {
            return Err(ConfigError::ClientAddrNotUdp);
        }
        if proto != Protocol::Tcp && spec.synproxy {
            return Err(ConfigError::SynproxyNotTcp);
        }
        if let Some(p) = spec.persistence {
            if p.prefix > if addr.is_v4() { 32 } else { 128 } {
                return Err(ConfigError::InvalidNetmask);
            }
        }
    }
    if let Some(p) = spec.persistence {
        if p.timeout_s == 0 {
            return Err(ConfigError::InvalidTimeout);
        }
    }
    Ok(name)
}

fn validate_dest(svc: &ServiceKey, d: &DestSpec) -> Result<DestSpec, ConfigError> {
    if d.weight > 65535 {
        return Err(ConfigError::InvalidWeight(d.weight));
    }
    if d.l_threshold > d.u_threshold && d.u_threshold != 0 {
        return Err(ConfigError::ThresholdRange);
    }
    let mut out = *d;
    // ipvsadm: DR/TUN dest port is the service port (not for fwmark services).
    if let ServiceKey::Proto { port, .. } = *svc {
        if matches!(d.fwd, FwdMethod::Route | FwdMethod::Tunnel) {
            out.port = port;
        }
    }
    Ok(out)
}

/// Where a service came from: a reload reconciles only what the configuration file owns
/// (services from rvsadm or `rvsd --restore` survive it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A `[[service]]` table of rvsd's configuration file.
    File,
    /// rvsadm (`-A`, `-R`) or `rvsd --restore`.
    Admin,
}

/// The control plane's configuration model. Not used on the fast path.
#[derive(Clone, Debug)]
pub struct Config {
    services: Vec<Service>,
    /// Services the configuration file owns ([`Origin::File`]); the others are Admin's.
    file_owned: HashSet<ServiceKey>,
    ids: HashMap<(ServiceKey, Addr, u16), DestId>,
    free_ids: Vec<DestId>,
    next_id: u32,
    /// Service counter slots: free ones, and the next never used.
    free_svc_ids: Vec<u32>,
    next_svc_id: u32,
    max_dests: u32,
}

impl Config {
    /// `max_dests` bounds [`DestId`]s (and the size of every core's [`DestLoad`]).
    pub fn new(max_dests: u32) -> Config {
        Config {
            services: Vec::new(),
            file_owned: HashSet::new(),
            ids: HashMap::new(),
            free_ids: Vec::new(),
            next_id: 0,
            free_svc_ids: Vec::new(),
            next_svc_id: 0,
            max_dests,
        }
    }

    pub fn max_dests(&self) -> u32 {
        self.max_dests
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    fn find(&self, key: &ServiceKey) -> Option<usize> {
        self.services.iter().position(|s| s.key == *key)
    }

    /// Where the service `key` came from (a new service is [`Origin::Admin`]'s).
    pub fn origin(&self, key: &ServiceKey) -> Origin {
        if self.file_owned.contains(key) {
            Origin::File
        } else {
            Origin::Admin
        }
    }

    /// Hands an existing service to the configuration file or back to the admin.
    pub fn set_origin(&mut self, key: &ServiceKey, origin: Origin) -> Result<(), ConfigError> {
        self.find(key).ok_or(ConfigError::NoSuchService)?;
        match origin {
            Origin::File => self.file_owned.insert(*key),
            Origin::Admin => self.file_owned.remove(key),
        };
        Ok(())
    }

    /// `-A`.
    pub fn add_service(&mut self, spec: &ServiceSpec) -> Result<(), ConfigError> {
        let scheduler = validate_service(spec)?;
        if self.find(&spec.key).is_some() {
            return Err(ConfigError::ServiceExists);
        }
        let id = match self.free_svc_ids.pop() {
            Some(id) => id,
            None => {
                self.next_svc_id += 1;
                self.next_svc_id - 1
            }
        };
        self.services.push(Service {
            key: spec.key,
            id,
            scheduler,
            flags: spec.flags,
            persistence: spec.persistence,
            one_packet: spec.one_packet,
            proxy_protocol: spec.proxy_protocol,
            toa: spec.toa,
            synproxy: spec.synproxy,
            dests: Vec::new(),
            laddrs: Vec::new(),
        });
        Ok(())
    }

    /// `-E`.
    pub fn edit_service(&mut self, spec: &ServiceSpec) -> Result<(), ConfigError> {
        let scheduler = validate_service(spec)?;
        let i = self.find(&spec.key).ok_or(ConfigError::NoSuchService)?;
        let s = &mut self.services[i];
        if spec.synproxy && s.dests.iter().any(|d| !d.fwd.has_replies()) {
            return Err(ConfigError::SynproxyNeedsReplies);
        }
        s.scheduler = scheduler;
        s.flags = spec.flags;
        s.persistence = spec.persistence;
        s.one_packet = spec.one_packet;
        s.proxy_protocol = spec.proxy_protocol;
        s.toa = spec.toa;
        s.synproxy = spec.synproxy;
        Ok(())
    }

    /// `--add-laddr`: a FullNAT local address of the service's family (DPVS's
    /// dp_vs_laddr_add). Workers answer for it and take source ports from it.
    pub fn add_laddr(&mut self, key: &ServiceKey, addr: Addr) -> Result<(), ConfigError> {
        let i = self.find(key).ok_or(ConfigError::NoSuchService)?;
        let s = &mut self.services[i];
        if addr.is_v4() == s.is_v6() || addr == Addr::UNSPECIFIED {
            return Err(ConfigError::FamilyMismatch);
        }
        if s.laddrs.contains(&addr) {
            return Err(ConfigError::LaddrExists);
        }
        s.laddrs.push(addr);
        Ok(())
    }

    /// `--del-laddr`: new connections stop using it; established ones keep their port.
    pub fn del_laddr(&mut self, key: &ServiceKey, addr: Addr) -> Result<(), ConfigError> {
        let i = self.find(key).ok_or(ConfigError::NoSuchService)?;
        let l = &mut self.services[i].laddrs;
        let j = l.iter().position(|a| *a == addr).ok_or(ConfigError::NoSuchLaddr)?;
        l.remove(j);
        Ok(())
    }

    /// `-D`. Dest ids stay reserved (see [`Config::release_ids`]).
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), ConfigError> {
        let i = self.find(key).ok_or(ConfigError::NoSuchService)?;
        let s = self.services.remove(i);
        self.free_svc_ids.push(s.id);
        self.file_owned.remove(key);
        Ok(())
    }

    /// `-C`.
    pub fn clear(&mut self) {
        self.free_svc_ids.extend(self.services.iter().map(|s| s.id));
        self.services.clear();
        self.file_owned.clear();
    }

    fn alloc_id(&mut self, k: (ServiceKey, Addr, u16)) -> Result<DestId, ConfigError> {
        if let Some(id) = self.ids.get(&k) {
            return Ok(*id);
        }
        let id = match self.free_ids.pop() {
            Some(id) => id,
            None if self.next_id < self.max_dests => {
                self.next_id += 1;
                DestId(self.next_id - 1)
            }
            None => return Err(ConfigError::TooManyDests),
        };
        self.ids.insert(k, id);
        Ok(id)
    }

    /// `-a`.
    pub fn add_dest(&mut self, key: &ServiceKey, d: &DestSpec) -> Result<DestId, ConfigError> {
        let i = self.find(key).ok_or(ConfigError::NoSuchService)?;
        let d = validate_dest(key, d)?;
        if self.services[i].synproxy && !d.fwd.has_replies() {
            return Err(ConfigError::SynproxyNeedsReplies);
        }
        if d.addr.is_v4() == self.services[i].is_v6() && matches!(key, ServiceKey::Proto { .. }) {
            return Err(ConfigError::FamilyMismatch);
        }
        if self.services[i].dests.iter().any(|x| x.addr == d.addr && x.port == d.port) {
            return Err(ConfigError::DestExists);
        }
        let id = self.alloc_id((*key, d.addr, d.port))?;
        self.services[i].dests.push(Dest {
            id,
            addr: d.addr,
            port: d.port,
            weight: d.weight,
            u_threshold: d.u_threshold,
            l_threshold: d.l_threshold,
            fwd: d.fwd,
        });
        Ok(id)
    }

    /// `-e`.
    pub fn edit_dest(&mut self, key: &ServiceKey, d: &DestSpec) -> Result<(), ConfigError> {
        let i = self.find(key).ok_or(ConfigError::NoSuchService)?;
        let d = validate_dest(key, d)?;
        if self.services[i].synproxy && !d.fwd.has_replies() {
            return Err(ConfigError::SynproxyNeedsReplies);
        }
        let dest = self.services[i]
            .dests
            .iter_mut()
            .find(|x| x.addr == d.addr && x.port == d.port)
            .ok_or(ConfigError::NoSuchDest)?;
        dest.weight = d.weight;
        dest.u_threshold = d.u_threshold;
        dest.l_threshold = d.l_threshold;
        dest.fwd = d.fwd;
        Ok(())
    }

    /// `-d`. The id stays reserved for this (service, addr, port) until released, as
    /// IPVS's dest_trash.
    pub fn del_dest(&mut self, key: &ServiceKey, addr: Addr, port: u16) -> Result<(), ConfigError> {
        let i = self.find(key).ok_or(ConfigError::NoSuchService)?;
        let dests = &mut self.services[i].dests;
        let j = dests.iter().position(|x| x.addr == addr && x.port == port).ok_or(ConfigError::NoSuchDest)?;
        dests.remove(j);
        Ok(())
    }

    /// Frees reserved ids of deleted dests for which `unused(id)` (summed counts are 0)
    /// and returns them.
    pub fn release_ids(&mut self, mut unused: impl FnMut(DestId) -> bool) -> Vec<DestId> {
        let live: std::collections::HashSet<DestId> =
            self.services.iter().flat_map(|s| s.dests.iter().map(|d| d.id)).collect();
        let mut freed = Vec::new();
        self.ids.retain(|_, id| {
            let keep = live.contains(id) || !unused(*id);
            if !keep {
                freed.push(*id);
            }
            keep
        });
        self.free_ids.extend(&freed);
        freed
    }

    /// Publishes the current configuration.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot_gen(0)
    }

    /// Publishes the current configuration as the control plane's `generation`th.
    pub fn snapshot_gen(&self, generation: u64) -> Arc<Snapshot> {
        let mut s = Snapshot::new(self.services.clone(), self.max_dests);
        s.generation = generation;
        Arc::new(s)
    }
}

/// An immutable configuration shared with the workers.
#[derive(Debug)]
pub struct Snapshot {
    services: Vec<Service>,
    /// hashbrown's default hasher (foldhash): looked up for every new connection and
    /// every packet without one, keyed by the workers' own data, not by untrusted input
    /// that could choose collisions (the keys are the configured services).
    /// Looked up for every packet without a connection (a SYN flood's every SYN): Fx's
    /// multiply-rotate, not a DoS-resistant hash, since only the configured keys are
    /// stored (a lookup cannot add collisions).
    by_key: hashbrown::HashMap<(u8, Addr, u16), usize, rustc_hash::FxBuildHasher>,
    by_mark: hashbrown::HashMap<(u32, bool), usize>,
    /// Every service's FullNAT local addresses: replies to them are FullNAT's.
    laddrs: hashbrown::HashSet<Addr>,
    /// The service (its `id`) each real server (by `DestId`) belongs to.
    dest_service: Vec<u32>,
    max_dests: u32,
    generation: u64,
}

impl Snapshot {
    pub fn new(services: Vec<Service>, max_dests: u32) -> Snapshot {
        let mut by_key = hashbrown::HashMap::with_capacity_and_hasher(services.len(), rustc_hash::FxBuildHasher);
        let mut by_mark = hashbrown::HashMap::new();
        for (i, s) in services.iter().enumerate() {
            match s.key {
                ServiceKey::Proto { proto, addr, port } => by_key.insert((proto.number(), addr, port), i),
                ServiceKey::Fwmark { mark, v6 } => by_mark.insert((mark, v6), i),
            };
        }
        let laddrs = services.iter().flat_map(|s| s.laddrs.iter().copied()).collect();
        let n = services.iter().flat_map(|s| s.dests.iter().map(|d| d.id.0 as usize + 1)).max().unwrap_or(0);
        let mut dest_service = vec![u32::MAX; n];
        for s in &services {
            for d in &s.dests {
                if let Some(x) = dest_service.get_mut(d.id.0 as usize) {
                    *x = s.id;
                }
            }
        }
        Snapshot { services, by_key, by_mark, laddrs, dest_service, max_dests, generation: 0 }
    }

    /// The id of the service real server `dest` belongs to.
    #[inline]
    pub fn service_of_dest(&self, dest: u32) -> Option<u32> {
        self.dest_service.get(dest as usize).copied().filter(|&s| s != u32::MAX)
    }

    /// Whether `a` is a FullNAT local address of some service.
    #[inline]
    pub fn is_laddr(&self, a: &Addr) -> bool {
        !self.laddrs.is_empty() && self.laddrs.contains(a)
    }

    /// Every service's FullNAT local addresses.
    pub fn laddrs(&self) -> impl Iterator<Item = &Addr> + '_ {
        self.laddrs.iter()
    }

    /// Which publication this is (see [`Config::snapshot_gen`]; 0 when unnumbered).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    pub fn service(&self, idx: usize) -> Option<&Service> {
        self.services.get(idx)
    }

    pub fn max_dests(&self) -> u32 {
        self.max_dests
    }

    /// As ip_vs_service_find: fwmark first, then (proto, vaddr, vport), then the
    /// port-zero service (proto, vaddr, 0). No allocation.
    pub fn find(&self, proto: u8, vaddr: Addr, vport: u16, fwmark: u32) -> Option<usize> {
        if fwmark != 0 {
            if let Some(i) = self.by_mark.get(&(fwmark, !vaddr.is_v4())) {
                return Some(*i);
            }
        }
        self.by_key.get(&(proto, vaddr, vport)).or_else(|| self.by_key.get(&(proto, vaddr, 0))).copied()
    }

    /// Every dest id present in this snapshot.
    pub fn dest_ids(&self) -> impl Iterator<Item = DestId> + '_ {
        self.services.iter().flat_map(|s| s.dests.iter().map(|d| d.id))
    }
}
