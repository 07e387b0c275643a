//! rvsd's TOML configuration file (`rvsd --config FILE`).
//!
//! [`parse`] deserialises the file with serde, then [`validate`] checks what
//! serde cannot: addresses, devices against the EAL arguments, lcores,
//! VIP/route resolution, services as rvsadm checks them. Every
//! [`ConfigError`] names file, line and key.
//!
//! Services come from `[[service]]` tables and, when `[control] keepalived` names a
//! keepalived.conf, from its `virtual_server` blocks: [`crate::keepalived::load_for`]
//! reads that file (its errors are `FILE:LINE: message` of that file) and
//! [`crate::keepalived::apply`] applies both lists as the configuration's services.

mod cidr;
mod eal;
mod raw;
mod service;
mod sizing;
mod validate;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub use cidr::{IpCidr, Ipv4Cidr, Ipv6Cidr, ParseCidrError};
pub use service::ServiceDecl;
pub use sizing::{MbufNeed, KERNEL_RING, MAX_MBUFS, REDIRECT_RING, TWIN_DESC};

/// Default RX/TX ring sizes per queue.
pub const DEFAULT_DESC: u16 = 1024;
pub const DEFAULT_MTU: u16 = 1500;
/// Largest (and default) rx/tx burst.
pub const MAX_BURST: usize = 32;
pub const DEFAULT_DRAIN_US: u64 = 100;
/// 2^13 - 1: mempools are most memory-efficient at 2^n - 1 elements. The smallest pool
/// rvsd sizes by itself ([`MbufNeed::auto_size`]).
pub const DEFAULT_MBUFS: u32 = 8191;
pub const DEFAULT_MBUF_CACHE: u32 = 256;
pub const DEFAULT_CONN_CAPACITY: u32 = 1 << 20;
pub const DEFAULT_NEIGH_CAPACITY: u32 = 1024;
pub const DEFAULT_NEIGH_QUEUE: u32 = 4;
pub const DEFAULT_NEIGH_REACHABLE_SECS: u64 = 300;
pub const DEFAULT_METRICS: &str = "127.0.0.1:9469";
pub const DEFAULT_SOCKET: &str = "/run/rvs/rvsd.sock";

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it came from.
    pub path: PathBuf,
    pub eal: EalConfig,
    pub ports: Vec<PortConfig>,
    pub vips: Vec<VipConfig>,
    pub routes: Vec<RouteConfig>,
    pub workers: WorkersConfig,
    pub control: ControlConfig,
    pub kernel: KernelConfig,
    /// `[[service]]`: virtual services with their real servers, in file order.
    pub services: Vec<ServiceDecl>,
    /// The line of each `[[service]]` (same index), for errors that involve another
    /// file (a service keepalived.conf declares too).
    pub service_lines: Vec<usize>,
}

/// `[eal]`: arguments passed verbatim to `rte_eal_init` (after argv[0]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EalConfig {
    pub args: Vec<String>,
}

/// `[[port]]`: one DPDK ethdev.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    pub name: String,
    /// DPDK device name: a `--vdev` name or a PCI address, the latter
    /// normalised to DPDK's `dddd:bb:dd.f` form.
    pub device: String,
    /// IPv4 interface addresses; the first is primary.
    pub addresses: Vec<Ipv4Cidr>,
    /// IPv6 interface addresses (global; the link-local one comes from the MAC).
    pub addresses6: Vec<Ipv6Cidr>,
    pub rx_desc: u16,
    pub tx_desc: u16,
    pub mtu: u16,
    /// The kernel interface that stands for this port (`twin`, default: the port's
    /// name); `None` when `[kernel] enabled = false` or `twin = ""`.
    pub twin: Option<String>,
}

/// `[kernel]`: the exception path to the ports' kernel twins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelConfig {
    /// Give ports kernel twins (default true).
    pub enabled: bool,
    /// Frames each worker passes up per second, and in one burst.
    pub rate_pps: u64,
    pub burst: u64,
}

/// Per worker: far above what VRRP, BGP, health checks and SSH need, far below what
/// would let a flood towards the box cost the workers more than a counter.
pub const DEFAULT_KERNEL_RATE_PPS: u64 = 50_000;
pub const DEFAULT_KERNEL_BURST: u64 = 256;
/// Longest interface name Linux takes (IFNAMSIZ − 1).
pub const MAX_IFNAME: usize = 15;

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig { enabled: true, rate_pps: DEFAULT_KERNEL_RATE_PPS, burst: DEFAULT_KERNEL_BURST }
    }
}

/// `[[vip]]`: an address the director answers ARP (or NDP) for and load-balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipConfig {
    pub addr: IpAddr,
    /// Index into [`Config::ports`].
    pub port: usize,
}

/// `[[route]]`: a static route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    /// Network prefix (host bits are zero), of either family.
    pub prefix: IpCidr,
    pub gateway: IpAddr,
    /// Index into [`Config::ports`]: the port whose subnet holds the gateway.
    pub port: usize,
}

/// `[workers]`: the poll-mode worker lcores and their resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkersConfig {
    /// EAL lcore ids, one worker (and one rx/tx queue per port) each.
    pub lcores: Vec<u32>,
    /// rx/tx burst size, 1..=32.
    pub burst: usize,
    /// Flush partially filled tx buffers after this many microseconds.
    pub drain_us: u64,
    /// mbufs per packet mempool: as set, or sized to [`MbufNeed`] when not.
    pub mbufs: u32,
    /// `mbufs` was not set and was sized by rvsd.
    pub mbufs_auto: bool,
    /// Per-lcore mempool cache.
    pub mbuf_cache: u32,
    /// Connection-table capacity.
    pub conn_capacity: u32,
    /// IPv6 connections (and templates) of that capacity (`None`: half).
    pub conn_capacity_v6: Option<u32>,
    /// FullNAT and SYN-proxied TCP connections of that capacity (`None`: a quarter).
    pub conn_capacity_fullnat: Option<u32>,
    /// FullNAT source ports, first and last (`fullnat_ports = "1025-65535"`).
    pub fullnat_ports: (u16, u16),
    /// Neighbour (ARP) entries.
    pub neigh_capacity: u32,
    /// Packets held per unresolved neighbour while ARP resolves.
    pub neigh_queue: u32,
    /// How long a resolved neighbour stays reachable.
    pub neigh_reachable_secs: u64,
    /// Sleep after a run of empty polls, in microseconds (0: poll continuously, as on
    /// dedicated cores; set it when workers share CPUs with other work).
    pub idle_sleep_us: u64,
}

impl Default for WorkersConfig {
    fn default() -> Self {
        Self {
            lcores: Vec::new(),
            burst: MAX_BURST,
            drain_us: DEFAULT_DRAIN_US,
            mbufs: DEFAULT_MBUFS,
            mbufs_auto: false,
            mbuf_cache: DEFAULT_MBUF_CACHE,
            conn_capacity: DEFAULT_CONN_CAPACITY,
            conn_capacity_v6: None,
            conn_capacity_fullnat: None,
            fullnat_ports: rvs_core::conn::laddr::DEFAULT_LPORTS,
            neigh_capacity: DEFAULT_NEIGH_CAPACITY,
            neigh_queue: DEFAULT_NEIGH_QUEUE,
            neigh_reachable_secs: DEFAULT_NEIGH_REACHABLE_SECS,
            idle_sleep_us: 0,
        }
    }
}

/// `[control]`: the control plane's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlConfig {
    /// Prometheus HTTP listener.
    pub metrics: SocketAddr,
    /// Admin API Unix socket (rvsadm).
    pub socket: PathBuf,
    /// CPU to pin the control-plane threads to.
    pub cpu: Option<usize>,
    /// A keepalived.conf whose virtual servers rvsd serves beside the `[[service]]`
    /// tables (a relative path is taken from this file's directory). This module does
    /// not read it: [`crate::keepalived::load_for`] does, so that each file's errors
    /// stay its own.
    pub keepalived: Option<PathBuf>,
    /// rvsd runs the real keepalived's VRRP part (`keepalived --vrrp`) on that file, on
    /// the kernel twins, supervised: restarted if it dies, reloaded on SIGHUP, stopped
    /// with rvsd. Off: the operator runs keepalived (or nothing).
    pub vrrp: bool,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            metrics: SocketAddr::from(([127, 0, 0, 1], 9469)),
            socket: PathBuf::from(DEFAULT_SOCKET),
            cpu: None,
            keepalived: None,
            vrrp: false,
        }
    }
}

impl EalConfig {
    /// The EAL main lcore (rvsd's control thread): `--main-lcore`, else the
    /// lowest lcore of `-l`/`--lcores`/`-c`, else 0.
    pub fn main_lcore(&self) -> u32 {
        eal::analyze(&self.args).map_or(0, |i| i.main_lcore())
    }
}

impl PortConfig {
    /// Every interface address, IPv4 first, in the order the file gave each family.
    pub fn cidrs(&self) -> impl Iterator<Item = IpCidr> + '_ {
        self.addresses.iter().map(|c| IpCidr::V4(*c)).chain(self.addresses6.iter().map(|c| IpCidr::V6(*c)))
    }
}

impl Config {
    /// Index of the port called `name`.
    pub fn port_index(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|p| p.name == name)
    }
}

/// A configuration error: `{path}:{line}: {key}: {message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line, if the error has a place in the file.
    pub line: Option<usize>,
    /// Key path such as `port[1].addresses[0]`; empty for file-level errors.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Read and validate a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        line: None,
        key: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    parse(&text, path)
}

/// Validate configuration text; `path` is only used in errors and [`Config::path`].
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let src = Source { text, path };
    let (table, errors) = DeTable::parse_recoverable(text);
    if let Some(e) = errors.first() {
        return Err(src.toml_error(&table, e));
    }
    let de = toml::de::Deserializer::from(table.clone());
    let raw = raw::RawConfig::deserialize(de).map_err(|e| src.toml_error(&table, &e))?;
    validate::build(&src, raw)
}

/// The text being parsed, for turning spans into lines.
pub(crate) struct Source<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Source<'_> {
    /// 1-based line of byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        1 + self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count()
    }

    /// An error at `span` (a value's or table's place in the file).
    fn error(&self, span: Range<usize>, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: self.path.to_path_buf(),
            line: Some(self.line_of(span.start)),
            key: key.into(),
            message: message.into(),
        }
    }

    /// An error with no place in the file (e.g. a missing section).
    fn error_nowhere(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError { path: self.path.to_path_buf(), line: None, key: key.into(), message: message.into() }
    }

    /// Convert a TOML syntax or serde error, finding the key from its span.
    fn toml_error(&self, table: &Spanned<DeTable<'_>>, e: &toml::de::Error) -> ConfigError {
        let mut message = e.message().trim().to_string();
        let mut key = String::new();
        let span = e.span();
        if let Some(span) = span.as_ref().filter(|s| **s != table.span()) {
            if !walk_table(table.get_ref(), span, &mut key) {
                // Inside a `[header]` table (whose span is just the header):
                // name the table, plus the offending key if the span is one.
                let mut best = None;
                enclosing_header(table.get_ref(), span.start, &mut String::new(), &mut best);
                key = best.map(|(_, k)| k).unwrap_or_default();
                if let Some(word) = self.text.get(span.clone()).filter(|w| is_bare(w)) {
                    push_key(&mut key, word);
                }
            }
        }
        // serde reports a missing field at its parent table.
        if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
            let at_root = key.is_empty();
            push_key(&mut key, field);
            if at_root {
                return self.error_nowhere(key, message);
            }
        }
        if matches!(key.as_str(), "port" | "vip" | "route" | "service") && message.contains("expected a sequence") {
            message.push_str(&format!(" (write [[{key}]], an array of tables)"));
        }
        match span {
            Some(span) => self.error(span, key, message),
            None => self.error_nowhere(key, message),
        }
    }
}

/// Append `.key` (quoted if not bare) to a key path.
fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    if is_bare(key) {
        path.push_str(key);
    } else {
        path.push_str(&format!("{key:?}"));
    }
}

fn is_bare(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The table starting last at or before `offset`, as (start, key path).
fn enclosing_header(t: &DeTable<'_>, offset: usize, path: &mut String, best: &mut Option<(usize, String)>) {
    for (k, v) in t.iter() {
        let len = path.len();
        push_key(path, k.get_ref());
        let mut visit = |v: &Spanned<DeValue<'_>>, path: &mut String| {
            if let DeValue::Table(inner) = v.get_ref() {
                let start = v.span().start;
                if start <= offset && !matches!(best, Some((b, _)) if start < *b) {
                    *best = Some((start, path.clone()));
                }
                enclosing_header(inner, offset, path, best);
            }
        };
        match v.get_ref() {
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    let l = path.len();
                    path.push_str(&format!("[{i}]"));
                    visit(item, path);
                    path.truncate(l);
                }
            }
            _ => visit(v, path),
        }
        path.truncate(len);
    }
}

fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Find the deepest key/value whose span covers `span`, building its key path.
fn walk_table(t: &DeTable<'_>, span: &Range<usize>, path: &mut String) -> bool {
    for (k, v) in t.iter() {
        let len = path.len();
        push_key(path, k.get_ref());
        if covers(&k.span(), span) || walk_value(v, span, path) {
            return true;
        }
        path.truncate(len);
    }
    false
}

fn walk_value(v: &Spanned<DeValue<'_>>, span: &Range<usize>, path: &mut String) -> bool {
    match v.get_ref() {
        DeValue::Table(t) if walk_table(t, span, path) => return true,
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                if walk_value(item, span, path) {
                    return true;
                }
                path.truncate(len);
            }
        }
        _ => {}
    }
    covers(&v.span(), span)
}
