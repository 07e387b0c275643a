//! The data rvsadm speaks: parsed commands and listing data.
//!
//! Services and real servers are rvs_core's model ([`ServiceSpec`], [`DestSpec`],
//! [`ServiceKey`]), the same values TOML builds and workers run. What is here is only
//! what ipvsadm has beyond that model: options rvs parses but refuses ("not supported
//! yet": `--pe`, tunnel types), listing rows with counters,
//! connections, timeouts and the sync daemon (ipvsadm 1.31's `ipvs_timeout_t`,
//! `ipvs_daemon_t`). Everything is serde-serialisable for the admin protocol.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

pub use rvs_core::addr::{Addr, Protocol};
pub use rvs_core::service::{DestSpec, FwdMethod, Persistence, ProxyProtocol, SchedFlags, ServiceKey, ServiceSpec};

/// What `-A`/`-E` may ask beyond [`ServiceSpec`]: options rvs refuses as not supported
/// yet, kept so the refusal names them and a listing could print them as ipvsadm does.
/// (`--proxy-protocol`, `--toa` and `--synproxy` are [`ServiceSpec`] fields: rvs runs
/// them.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceExt {
    /// Persistence engine (`--pe`).
    pub pe: Option<String>,
}

/// `--tun-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

impl TunnelType {
    pub fn name(self) -> &'static str {
        match self {
            TunnelType::Ipip => "ipip",
            TunnelType::Gue => "gue",
            TunnelType::Gre => "gre",
        }
    }
}

/// `--tun-nocsum|--tun-csum|--tun-remcsum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelCsum {
    #[default]
    NoCsum,
    Csum,
    RemCsum,
}

impl TunnelCsum {
    /// Short form used in `--tun-info` listings (`tunflags[]`).
    pub fn short(self) -> &'static str {
        match self {
            TunnelCsum::NoCsum => "-c",
            TunnelCsum::Csum => "+c",
            TunnelCsum::RemCsum => "r+c",
        }
    }

    /// Save-format option (`tun_flags_opts[]`).
    pub fn option(self) -> &'static str {
        match self {
            TunnelCsum::NoCsum => "--tun-nocsum",
            TunnelCsum::Csum => "--tun-csum",
            TunnelCsum::RemCsum => "--tun-remcsum",
        }
    }
}

/// `--tun-type`, `--tun-port` and the checksum option of a tunnel real server (`-i`):
/// beyond [`DestSpec`], since rvs tunnels only with IPIP (GUE and GRE are refused).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TunnelOpts {
    pub tun_type: TunnelType,
    /// GUE destination port (0 = n/a).
    pub tun_port: u16,
    pub tun_csum: TunnelCsum,
}

/// `--set tcp tcpfin udp` (0 keeps the current value) and `-L --timeout`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcpfin: u32,
    pub udp: u32,
}

/// Sync daemon role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonState {
    Master,
    Backup,
}

impl DaemonState {
    pub fn name(self) -> &'static str {
        match self {
            DaemonState::Master => "master",
            DaemonState::Backup => "backup",
        }
    }
}

/// `--start-daemon`/`--stop-daemon` and `-L --daemon` (0 / None = unset).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonSpec {
    pub state: DaemonState,
    pub mcast_ifn: String,
    pub syncid: u32,
    pub sync_maxlen: u32,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: u16,
    pub mcast_ttl: u32,
}

/// Counters and rates (`struct ip_vs_stats64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A real server in a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestEntry {
    pub spec: DestSpec,
    #[serde(default)]
    pub tunnel: TunnelOpts,
    pub active: u32,
    pub inactive: u32,
    pub persist: u32,
    pub stats: Stats,
}

/// A virtual service in a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    pub spec: ServiceSpec,
    #[serde(default)]
    pub ext: ServiceExt,
    pub dests: Vec<DestEntry>,
    pub stats: Stats,
    /// FullNAT local address pool (rvs extension).
    #[serde(default)]
    pub laddrs: Vec<IpAddr>,
}

/// Persistence-engine data of a connection (`-c --persistent-conn`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeData {
    pub name: String,
    pub data: String,
}

/// One connection as `-L -c` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnEntry {
    pub proto: Protocol,
    pub expire_secs: u32,
    /// State name as IPVS prints it (`ESTABLISHED`, `SYN_RECV`, `UDP`, `NONE`...).
    pub state: String,
    pub client: SocketAddr,
    pub virt: SocketAddr,
    pub dest: SocketAddr,
    #[serde(default)]
    pub pe: Option<PeData>,
    /// A FullNAT connection's local address and port (the source its real server sees).
    #[serde(default)]
    pub local: Option<SocketAddr>,
}

/// The whole table as `-L`/`-S` need it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// IPVS version string printed in the header, `1.2.1`.
    pub version: String,
    /// Connection table size printed in the header.
    pub table_size: u32,
    pub services: Vec<ServiceEntry>,
}

impl Default for Listing {
    fn default() -> Self {
        Listing { version: IPVS_VERSION.to_string(), table_size: 4096, services: Vec::new() }
    }
}

/// The IPVS version rvs reports.
pub const IPVS_VERSION: &str = "1.2.1";

/// Output modifiers of `-L` (ipvsadm's `FMT_*` flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListFormat {
    /// `-n`. rvs always prints numerically; kept for fidelity of the request.
    pub numeric: bool,
    pub stats: bool,
    pub rate: bool,
    pub thresholds: bool,
    pub persistent_conn: bool,
    pub nosort: bool,
    pub exact: bool,
    pub tun_info: bool,
}

/// What `-L` lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListTarget {
    /// The whole table (`list_all()`).
    #[default]
    All,
    /// One service (`list_service()`: no version header).
    Service(ServiceKey),
    /// `-c` (`list_conn()`).
    Connections,
    /// `--timeout`.
    Timeout,
    /// `--daemon`.
    Daemon,
}

/// A `-L` request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListSpec {
    pub target: ListTarget,
    pub format: ListFormat,
}

/// One parsed rvsadm command line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// `-A`.
    AddService(ServiceSpec, ServiceExt),
    /// `-E`.
    EditService(ServiceSpec, ServiceExt),
    /// `-D`.
    DeleteService(ServiceKey),
    /// `-C`.
    Clear,
    /// `-a`.
    AddServer { service: ServiceKey, dest: DestSpec, tunnel: TunnelOpts },
    /// `-e` (unspecified fields take ipvsadm's defaults, e.g. weight 1).
    EditServer { service: ServiceKey, dest: DestSpec, tunnel: TunnelOpts },
    /// `-d`.
    DeleteServer { service: ServiceKey, addr: Addr, port: u16 },
    /// `-L|-l` (also no arguments at all).
    List(ListSpec),
    /// `-Z [service]`.
    Zero(Option<ServiceKey>),
    /// `--set tcp tcpfin udp`.
    SetTimeouts(Timeouts),
    /// `--start-daemon`.
    StartDaemon(DaemonSpec),
    /// `--stop-daemon`.
    StopDaemon(DaemonSpec),
    /// `-S [-n]`.
    Save { numeric: bool },
    /// `-R`: the caller reads stdin and calls `parse_restore`.
    Restore,
    /// `-h`: print `usage_text()` to stdout, exit 0.
    Help,
    /// `-v`: print `version_line()` to stdout, exit 0.
    Version,
    /// `--add-laddr -t svc -z addr` (rvs extension).
    AddLaddr { service: ServiceKey, laddr: IpAddr },
    /// `--del-laddr -t svc -z addr` (rvs extension).
    DelLaddr { service: ServiceKey, laddr: IpAddr },
    /// `--get-laddr -t svc` (rvs extension).
    GetLaddr { service: ServiceKey },
}
