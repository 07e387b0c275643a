//! The service model: what TOML `[[service]]` tables and rvsadm/ipvsadm commands build
//! and what [`super::Config`] validates. One set of types, compared and serialised by
//! derive, so a file's service and the same service typed into rvsadm are equal values.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::addr::{Addr, Protocol};

/// Forwarding method (`-m`, `-g`, `-i`, `--fullnat`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FwdMethod {
    Masq,
    #[default]
    Route,
    Tunnel,
    FullNat,
}

impl FwdMethod {
    /// As listed by ipvsadm (`Masq`, `Route`, `Tunnel`, `FullNat`).
    pub const fn name(self) -> &'static str {
        match self {
            FwdMethod::Masq => "Masq",
            FwdMethod::Route => "Route",
            FwdMethod::Tunnel => "Tunnel",
            FwdMethod::FullNat => "FullNat",
        }
    }
    /// Whether replies come back through the director (so a reply key is indexed).
    pub const fn has_replies(self) -> bool {
        matches!(self, FwdMethod::Masq | FwdMethod::FullNat)
    }
}

/// Scheduler flags (`-b`): IP_VS_SVC_F_SCHED1..3; sh-/mh- names alias flag-1/flag-2.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SchedFlags(pub u8);

impl SchedFlags {
    pub const FLAG1: u8 = 1;
    pub const FLAG2: u8 = 2;
    pub const FLAG3: u8 = 4;
    pub const SH_FALLBACK: SchedFlags = SchedFlags(Self::FLAG1);
    pub const SH_PORT: SchedFlags = SchedFlags(Self::FLAG2);
    pub const MH_FALLBACK: SchedFlags = SchedFlags(Self::FLAG1);
    pub const MH_PORT: SchedFlags = SchedFlags(Self::FLAG2);

    pub fn has(self, f: SchedFlags) -> bool {
        self.0 & f.0 == f.0 && f.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses `-b` as ipvsadm's parse_sched_flags: comma list; sh-*/mh-* need that scheduler.
    pub fn parse(list: &str, scheduler: &str) -> Result<SchedFlags, ConfigError> {
        let mut bits = 0u8;
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            let (bit, need) = match flag {
                "flag-1" => (Self::FLAG1, None),
                "flag-2" => (Self::FLAG2, None),
                "flag-3" => (Self::FLAG3, None),
                "sh-fallback" => (Self::FLAG1, Some("sh")),
                "sh-port" => (Self::FLAG2, Some("sh")),
                "mh-fallback" => (Self::FLAG1, Some("mh")),
                "mh-port" => (Self::FLAG2, Some("mh")),
                _ => return Err(ConfigError::InvalidSchedFlag(flag.to_string())),
            };
            if need.is_some_and(|s| s != scheduler) {
                return Err(ConfigError::IncompatibleSchedFlag(flag.to_string()));
            }
            bits |= bit;
        }
        Ok(SchedFlags(bits))
    }

    /// Comma-separated names as ipvsadm's print_sched_flags() prints them: sh and mh
    /// name (only) their two flags, other schedulers show flag-1..3.
    pub fn names(self, scheduler: &str) -> String {
        let named: &[(u8, &str)] = match scheduler {
            "sh" => &[(Self::FLAG1, "sh-fallback"), (Self::FLAG2, "sh-port")],
            "mh" => &[(Self::FLAG1, "mh-fallback"), (Self::FLAG2, "mh-port")],
            _ => &[(Self::FLAG1, "flag-1"), (Self::FLAG2, "flag-2"), (Self::FLAG3, "flag-3")],
        };
        named.iter().filter(|(bit, _)| self.0 & bit != 0).map(|(_, n)| *n).collect::<Vec<_>>().join(",")
    }
}

/// What identifies a virtual service.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKey {
    /// `-t/-u/--sctp-service addr:port`.
    Proto { proto: Protocol, addr: Addr, port: u16 },
    /// `-f mark` (`v6` = `-6`).
    Fwmark { mark: u32, v6: bool },
}

impl ServiceKey {
    /// The service port (0 for fwmark services, which match every port).
    pub fn port(&self) -> u16 {
        match *self {
            ServiceKey::Proto { port, .. } => port,
            ServiceKey::Fwmark { .. } => 0,
        }
    }

    pub fn is_v6(&self) -> bool {
        match *self {
            ServiceKey::Proto { addr, .. } => !addr.is_v4(),
            ServiceKey::Fwmark { v6, .. } => v6,
        }
    }

    /// Whether rvs can forward this service's packets. IPVS has SCTP and fwmark
    /// services, but rvs has no SCTP forwarding and no firewall (nothing sets a mark),
    /// so such a service would be accepted and never match: it is refused instead.
    pub fn check_forwardable(&self) -> Result<(), ConfigError> {
        match *self {
            ServiceKey::Proto { proto: Protocol::Sctp, .. } => Err(ConfigError::SctpUnsupported),
            ServiceKey::Fwmark { .. } => Err(ConfigError::FwmarkUnsupported),
            ServiceKey::Proto { .. } => Ok(()),
        }
    }
}

/// `-p [timeout] -M netmask`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Persistence {
    /// Seconds; ipvsadm's default for a bare `-p` is 300.
    pub timeout_s: u32,
    /// Prefix length applied to the client address (32 / 128 = the whole address).
    pub prefix: u8,
}

pub const DEFAULT_PERSISTENCE_TIMEOUT: u32 = 300;

impl Persistence {
    /// `-p` without a value, full-length mask for the family.
    pub fn default_for(v6: bool) -> Persistence {
        Persistence { timeout_s: DEFAULT_PERSISTENCE_TIMEOUT, prefix: if v6 { 128 } else { 32 } }
    }
}

/// Converts a dotted IPv4 netmask (`-M 255.255.255.0`) to a prefix length; non-contiguous masks
/// are refused.
pub fn ipv4_mask_prefix(mask: [u8; 4]) -> Result<u8, ConfigError> {
    let m = u32::from_be_bytes(mask);
    let ones = m.leading_ones();
    if m.checked_shl(ones).unwrap_or(0) != 0 {
        return Err(ConfigError::InvalidNetmask);
    }
    u8::try_from(ones).map_err(|_| ConfigError::InvalidNetmask)
}

/// HAProxy's PROXY protocol version a FullNAT service prepends to the client's first
/// data (`--proxy-protocol v1|v2`, DPVS's spelling).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
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

/// A service as requested by `-A/-E` or a `[[service]]` table (before validation).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub key: ServiceKey,
    pub scheduler: String,
    pub flags: SchedFlags,
    pub persistence: Option<Persistence>,
    pub one_packet: bool,
    /// FullNAT: the client's address and port in a PROXY protocol header at the start
    /// of the connection's data (`--proxy-protocol`).
    #[serde(default)]
    pub proxy_protocol: Option<ProxyProtocol>,
    /// FullNAT TCP: the client's address and port in a TOA option, kind 254 (`--toa`).
    #[serde(default)]
    pub toa: bool,
    /// SYN cookies at the director (`--synproxy`, DPVS's SYNPROXY): a real server hears
    /// of a client only once its ACK proved the address. NAT and FullNAT TCP.
    #[serde(default)]
    pub synproxy: bool,
}

impl ServiceSpec {
    /// Defaults as ipvsadm: scheduler wlc, not persistent.
    pub fn new(key: ServiceKey) -> ServiceSpec {
        ServiceSpec {
            key,
            scheduler: "wlc".into(),
            flags: SchedFlags(0),
            persistence: None,
            one_packet: false,
            proxy_protocol: None,
            toa: false,
            synproxy: false,
        }
    }
}

/// A real server as requested by `-a/-e` or a `[[service.real_server]]` (before validation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct DestSpec {
    pub addr: Addr,
    pub port: u16,
    pub weight: u32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub fwd: FwdMethod,
}

impl DestSpec {
    /// Defaults as ipvsadm: weight 1, Route, no thresholds.
    pub fn new(addr: Addr, port: u16) -> DestSpec {
        DestSpec { addr, port, weight: 1, u_threshold: 0, l_threshold: 0, fwd: FwdMethod::Route }
    }
}

/// A virtual service with its real servers, in order: one `[[service]]` table, or an
/// `-A` followed by its `-a`s. A route or tunnel server's port is the service's (as
/// ipvsadm sets it), so equal services compare equal however they were written.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct ServiceDef {
    pub spec: ServiceSpec,
    pub dests: Vec<DestSpec>,
    /// FullNAT local addresses (`--add-laddr`), in the order added.
    #[serde(default)]
    pub laddrs: Vec<Addr>,
}
