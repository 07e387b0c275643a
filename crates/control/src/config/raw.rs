//! The file as serde sees it: every user value keeps its span so that
//! semantic errors can name a line.

use serde::Deserialize;
use toml::Spanned;

pub(super) type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub eal: S<RawEal>,
    #[serde(default)]
    pub port: Vec<S<RawPort>>,
    #[serde(default)]
    pub vip: Vec<S<RawVip>>,
    #[serde(default)]
    pub route: Vec<S<RawRoute>>,
    pub workers: S<RawWorkers>,
    #[serde(default)]
    pub control: Option<S<RawControl>>,
    #[serde(default)]
    pub kernel: Option<S<RawKernel>>,
    #[serde(default)]
    pub service: Vec<S<super::service::RawService>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEal {
    pub args: S<Vec<S<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPort {
    pub name: S<String>,
    pub device: S<String>,
    pub addresses: S<Vec<S<String>>>,
    #[serde(default)]
    pub rx_desc: Option<S<u16>>,
    #[serde(default)]
    pub tx_desc: Option<S<u16>>,
    #[serde(default)]
    pub mtu: Option<S<u16>>,
    #[serde(default)]
    pub twin: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVip {
    pub address: S<String>,
    #[serde(default)]
    pub port: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub prefix: S<String>,
    pub gateway: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkers {
    pub lcores: S<Vec<S<u32>>>,
    #[serde(default)]
    pub burst: Option<S<u64>>,
    #[serde(default)]
    pub drain_us: Option<S<u64>>,
    #[serde(default)]
    pub mbufs: Option<S<u32>>,
    #[serde(default)]
    pub mbuf_cache: Option<S<u32>>,
    #[serde(default)]
    pub conn_capacity: Option<S<u32>>,
    #[serde(default)]
    pub conn_capacity_v6: Option<S<u32>>,
    #[serde(default)]
    pub conn_capacity_fullnat: Option<S<u32>>,
    #[serde(default)]
    pub fullnat_ports: Option<S<String>>,
    #[serde(default)]
    pub neigh_capacity: Option<S<u32>>,
    #[serde(default)]
    pub neigh_queue: Option<S<u32>>,
    #[serde(default)]
    pub neigh_reachable_secs: Option<S<u64>>,
    #[serde(default)]
    pub idle_sleep_us: Option<S<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawControl {
    #[serde(default)]
    pub metrics: Option<S<String>>,
    #[serde(default)]
    pub socket: Option<S<String>>,
    #[serde(default)]
    pub cpu: Option<S<usize>>,
    #[serde(default)]
    pub keepalived: Option<S<String>>,
    #[serde(default)]
    pub vrrp: Option<S<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKernel {
    #[serde(default)]
    pub enabled: Option<S<bool>>,
    #[serde(default)]
    pub rate_pps: Option<S<u64>>,
    #[serde(default)]
    pub burst: Option<S<u64>>,
}
