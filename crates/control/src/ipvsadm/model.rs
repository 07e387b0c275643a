//! The data rvsadm speaks: parsed commands and listing data.
//!
//! Everything here is serde-serialisable because it is the payload of the admin
//! protocol between `rvsadm` and `rvsd`. Field meanings follow ipvsadm 1.31's
//! `ipvs_service_t` / `ipvs_dest_t` / `ipvs_timeout_t` / `ipvs_daemon_t`.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// Transport protocol of a virtual service (`-t`, `-u`, `--sctp-service`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// Listing name (`protocol_name()` in ipvsadm.c).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// Save-format option (`option_from_protocol()` in ipvsadm.c).
    pub fn option(self) -> &'static str {
        match self {
            Protocol::Tcp => "-t",
            Protocol::Udp => "-u",
            Protocol::Sctp => "--sctp-service",
        }
    }

    /// IANA protocol number, used for ipvsadm's sort order.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
}

/// Address family of a fwmark service (`-6` selects IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressFamily {
    #[default]
    Inet,
    Inet6,
}

impl AddressFamily {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        }
    }
}

/// What identifies a virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKey {
    /// `-t|-u|--sctp-service host[:port]`.
    Addr { proto: Protocol, addr: IpAddr, port: u16 },
    /// `-f mark [-6]`.
    Fwmark { mark: u32, af: AddressFamily },
}

impl ServiceKey {
    pub fn af(&self) -> AddressFamily {
        match self {
            ServiceKey::Addr { addr, .. } => AddressFamily::of(addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }

    /// Port of the service (0 for fwmark services).
    pub fn port(&self) -> u16 {
        match self {
            ServiceKey::Addr { port, .. } => *port,
            ServiceKey::Fwmark { .. } => 0,
        }
    }
}

/// The three scheduler flag bits (`IP_VS_SVC_F_SCHED1..3`). Their names depend on
/// the scheduler: `sh-fallback`/`sh-port` for sh, `mh-fallback`/`mh-port` for mh,
/// `flag-1..3` otherwise, exactly as ipvsadm's `print_sched_flags()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchedFlags {
    pub flag1: bool,
    pub flag2: bool,
    pub flag3: bool,
}

impl SchedFlags {
    pub fn is_empty(&self) -> bool {
        !(self.flag1 || self.flag2 || self.flag3)
    }

    /// Comma-separated names as `print_sched_flags()` prints them for `sched`.
    pub fn names(&self, sched: &str) -> String {
        let mut v: Vec<&str> = Vec::new();
        match sched {
            "sh" | "mh" => {
                let (a, b) = if sched == "sh" { ("sh-fallback", "sh-port") } else { ("mh-fallback", "mh-port") };
                if self.flag1 {
                    v.push(a);
                }
                if self.flag2 {
                    v.push(b);
                }
            }
            _ => {
                if self.flag1 {
                    v.push("flag-1");
                }
                if self.flag2 {
                    v.push("flag-2");
                }
                if self.flag3 {
                    v.push("flag-3");
                }
            }
        }
        v.join(",")
    }
}

/// rvs extension: PROXY protocol header sent to FullNAT real servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyProtocol {
    V1,
    V2,
}

impl ProxyProtocol {
    pub fn name(self) -> &'static str {
        match self {
            ProxyProtocol::V1 => "v1",
            ProxyProtocol::V2 => "v2",
        }
    }
}

/// A virtual service as `-A`/`-E` define it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub key: ServiceKey,
    /// Scheduler name (`-s`, default `wlc`).
    pub scheduler: String,
    pub flags: SchedFlags,
    /// Persistence timeout in seconds (`-p [timeout]`, default 300).
    pub persistent: Option<u32>,
    /// Persistence granularity: an IPv4 mask in host byte order
    /// (`0xffff_ffff` = none) or an IPv6 prefix length (128 = none).
    pub netmask: u32,
    /// Persistence engine (`--pe`).
    pub pe: Option<String>,
    /// One-packet scheduling (`-o`).
    pub ops: bool,
    /// rvs extension `--synproxy`.
    #[serde(default)]
    pub synproxy: bool,
    /// rvs extension `--proxy-protocol v1|v2`.
    #[serde(default)]
    pub proxy_protocol: Option<ProxyProtocol>,
    /// rvs extension `--toa`.
    #[serde(default)]
    pub toa: bool,
}

impl ServiceSpec {
    /// A service with ipvsadm's defaults (`wlc`, no persistence, full mask).
    pub fn new(key: ServiceKey) -> Self {
        let netmask = match key.af() {
            AddressFamily::Inet => 0xffff_ffff,
            AddressFamily::Inet6 => 128,
        };
        ServiceSpec {
            key,
            scheduler: "wlc".to_string(),
            flags: SchedFlags::default(),
            persistent: None,
            netmask,
            pe: None,
            ops: false,
            synproxy: false,
            proxy_protocol: None,
            toa: false,
        }
    }
}

/// Forwarding method of a real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardMethod {
    /// `-m`, NAT.
    Masq,
    /// `-g`, direct routing (the default).
    #[default]
    Route,
    /// `-i`, IP-in-IP (or GUE/GRE) tunnelling.
    Tunnel,
    /// `--fullnat` (rvs extension).
    FullNat,
}

impl ForwardMethod {
    /// Listing name (`fwd_name()`).
    pub fn name(self) -> &'static str {
        match self {
            ForwardMethod::Masq => "Masq",
            ForwardMethod::Route => "Route",
            ForwardMethod::Tunnel => "Tunnel",
            ForwardMethod::FullNat => "FullNat",
        }
    }

    /// Save-format switch (`fwd_switch()`).
    pub fn switch(self) -> &'static str {
        match self {
            ForwardMethod::Masq => "-m",
            ForwardMethod::Route => "-g",
            ForwardMethod::Tunnel => "-i",
            ForwardMethod::FullNat => "--fullnat",
        }
    }
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

/// A real server as `-a`/`-e` define it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DestSpec {
    pub addr: IpAddr,
    pub port: u16,
    pub method: ForwardMethod,
    /// 0..=65535, default 1 (0 = quiescent).
    pub weight: u32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub tun_type: TunnelType,
    /// GUE destination port (0 = n/a).
    pub tun_port: u16,
    pub tun_csum: TunnelCsum,
}

impl DestSpec {
    /// A real server with ipvsadm's defaults (`-g`, weight 1).
    pub fn new(addr: IpAddr, port: u16) -> Self {
        DestSpec {
            addr,
            port,
            method: ForwardMethod::Route,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: TunnelType::Ipip,
            tun_port: 0,
            tun_csum: TunnelCsum::NoCsum,
        }
    }
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
    pub active: u32,
    pub inactive: u32,
    pub persist: u32,
    pub stats: Stats,
}

/// A virtual service in a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    pub spec: ServiceSpec,
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
    AddService(ServiceSpec),
    /// `-E`.
    EditService(ServiceSpec),
    /// `-D`.
    DeleteService(ServiceKey),
    /// `-C`.
    Clear,
    /// `-a`.
    AddServer { service: ServiceKey, dest: DestSpec },
    /// `-e` (unspecified fields take ipvsadm's defaults, e.g. weight 1).
    EditServer { service: ServiceKey, dest: DestSpec },
    /// `-d`.
    DeleteServer { service: ServiceKey, addr: IpAddr, port: u16 },
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
