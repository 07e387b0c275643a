//! Semantic checks that turn a [`RawConfig`] into a [`Config`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use super::eal::{self, EalInfo};
use super::raw::{RawConfig, RawControl, RawKernel, RawPort, RawRoute, RawVip, RawWorkers, S};
use super::sizing::{MbufNeed, MAX_MBUFS};
use super::{
    Config, ConfigError, ControlConfig, EalConfig, IpCidr, Ipv4Cidr, KernelConfig, PortConfig, RouteConfig, Source,
    VipConfig, WorkersConfig, MAX_IFNAME,
};

use rvs_core::conn::MAX_ENTRIES;

type Result<T> = std::result::Result<T, ConfigError>;

/// Largest per-lcore mempool cache DPDK allows (RTE_MEMPOOL_CACHE_MAX_SIZE).
const MEMPOOL_CACHE_MAX: u32 = 512;
/// Smallest IPv4 MTU (RFC 791).
const MIN_MTU: u16 = 68;
/// Most neighbour entries per worker.
const MAX_NEIGH: u32 = 65536;

pub(super) fn build(src: &Source<'_>, raw: RawConfig) -> Result<Config> {
    let args_s = raw.eal.into_inner().args;
    let args: Vec<String> = args_s.get_ref().iter().map(|a| a.get_ref().clone()).collect();
    let info = eal::analyze(&args).map_err(|e| {
        let span = args_s.get_ref().get(e.index).map_or(args_s.span(), |a| a.span());
        src.error(span, format!("eal.args[{}]", e.index), e.message)
    })?;
    let port_spans: Vec<_> = raw.port.iter().map(|p| p.get_ref().device.span()).collect();
    let port_twins: Vec<_> = raw.port.iter().map(|p| p.get_ref().twin.clone()).collect();
    let ports = ports(src, raw.port, &info)?;
    let (kernel, ports) = kernel(src, raw.kernel, port_twins, ports)?;
    let vips = vips(src, raw.vip, &ports)?;
    let routes = routes(src, raw.route, &ports)?;
    let workers = workers(src, raw.workers, &info, &ports)?;
    check_queues(src, &port_spans, &ports, &workers, &info)?;
    let control = control(src, raw.control, &workers, &info)?;
    let service_lines = raw.service.iter().map(|s| src.line_of(s.span().start)).collect();
    let services = super::service::build(src, raw.service)?;
    Ok(Config {
        path: src.path.to_path_buf(),
        eal: EalConfig { args },
        ports,
        vips,
        routes,
        workers,
        control,
        kernel,
        services,
        service_lines,
    })
}

/// `[kernel]`, and each port's twin name: a valid Linux interface name, one per port.
fn kernel(
    src: &Source<'_>,
    raw: Option<S<RawKernel>>,
    twins: Vec<Option<S<String>>>,
    mut ports: Vec<PortConfig>,
) -> Result<(KernelConfig, Vec<PortConfig>)> {
    let mut out = KernelConfig::default();
    if let Some(k) = raw {
        let k = k.into_inner();
        if let Some(e) = &k.enabled {
            out.enabled = *e.get_ref();
        }
        for (v, field, dst) in [(&k.rate_pps, "rate_pps", &mut out.rate_pps), (&k.burst, "burst", &mut out.burst)] {
            if let Some(v) = v {
                if *v.get_ref() == 0 {
                    return Err(src.error(v.span(), format!("kernel.{field}"), "must be at least 1"));
                }
                *dst = *v.get_ref();
            }
        }
    }
    for (i, (p, twin)) in ports.iter_mut().zip(twins).enumerate() {
        let key = format!("port[{i}].twin");
        let (name, span) = match &twin {
            Some(t) => (t.get_ref().trim().to_string(), Some(t.span())),
            None => (p.name.clone(), None),
        };
        if !out.enabled || (twin.is_some() && name.is_empty()) {
            continue;
        }
        let bad = name.len() > MAX_IFNAME
            || name == "."
            || name == ".."
            || name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control());
        if bad {
            let why = format!(
                "'{name}' is not a Linux interface name (at most {MAX_IFNAME} characters, no '/', ':' or spaces){}",
                if span.is_none() { "; name the port's kernel twin with twin = \"...\"" } else { "" }
            );
            return Err(match span {
                Some(s) => src.error(s, key, why),
                None => src.error_nowhere(key, why),
            });
        }
        p.twin = Some(name);
    }
    for (i, p) in ports.iter().enumerate() {
        if let Some(j) = ports[..i].iter().position(|q| q.twin.is_some() && q.twin == p.twin) {
            return Err(src.error_nowhere(
                format!("port[{i}].twin"),
                format!("kernel twin '{}' is also port[{j}]'s", p.twin.as_deref().unwrap_or_default()),
            ));
        }
    }
    Ok((out, ports))
}

/// Addresses a host may not own.
fn unusable(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("the unspecified address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.is_broadcast() {
        Some("the broadcast address")
    } else {
        None
    }
}

fn parse_ip(src: &Source<'_>, s: &S<String>, key: &str) -> Result<IpAddr> {
    let family = if s.get_ref().contains(':') { "IPv6" } else { "IPv4" };
    s.get_ref()
        .trim()
        .parse()
        .map_err(|_| src.error(s.span(), key, format!("'{}' is not an {family} address", s.get_ref())))
}

fn parse_cidr(src: &Source<'_>, s: &S<String>, key: &str) -> Result<IpCidr> {
    s.get_ref().trim().parse().map_err(|e| src.error(s.span(), key, format!("{e}")))
}

/// IPv6 addresses a host may not own here (the link-local one comes from the MAC).
fn unusable6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("the unspecified address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.segments()[0] & 0xffc0 == 0xfe80 {
        Some("a link-local address (each port's comes from its MAC)")
    } else {
        None
    }
}

fn unusable_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => unusable(a),
        IpAddr::V6(a) => unusable6(a),
    }
}

fn ports(src: &Source<'_>, raw: Vec<S<RawPort>>, info: &EalInfo) -> Result<Vec<PortConfig>> {
    if raw.is_empty() {
        return Err(src.error_nowhere("port", "no [[port]] table; rvsd needs at least one port"));
    }
    let mut out: Vec<PortConfig> = Vec::with_capacity(raw.len());
    // Every address seen so far: (port index, key, cidr).
    let mut seen: Vec<(usize, String, IpCidr)> = Vec::new();
    for (i, p) in raw.into_iter().enumerate() {
        let p = p.into_inner();
        let key = |field: &str| format!("port[{i}].{field}");

        let name = p.name.get_ref().trim();
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(src.error(p.name.span(), key("name"), "a port name must be one non-empty word"));
        }
        if let Some(j) = out.iter().position(|q| q.name == name) {
            return Err(src.error(
                p.name.span(),
                key("name"),
                format!("duplicate port name '{name}' (also port[{j}].name)"),
            ));
        }

        let device =
            known_device(info, p.device.get_ref().trim()).map_err(|m| src.error(p.device.span(), key("device"), m))?;
        if let Some(j) = out.iter().position(|q| q.device == device) {
            return Err(src.error(p.device.span(), key("device"), format!("device '{device}' is already port[{j}]")));
        }

        if p.addresses.get_ref().is_empty() {
            return Err(src.error(p.addresses.span(), key("addresses"), "a port needs at least one address"));
        }
        let (mut addresses, mut addresses6) = (Vec::new(), Vec::new());
        for (j, a) in p.addresses.get_ref().iter().enumerate() {
            let akey = format!("port[{i}].addresses[{j}]");
            let cidr = parse_cidr(src, a, &akey)?;
            match cidr {
                IpCidr::V4(c) => check_host_address(&c),
                IpCidr::V6(c) => unusable6(c.addr).map_or(Ok(()), |what| Err(format!("{} is {what}", c.addr))),
            }
            .map_err(|m| src.error(a.span(), &akey, m))?;
            for (pi, okey, other) in &seen {
                let msg = if other.addr() == cidr.addr() {
                    format!("address {} is already assigned at {okey}", cidr.addr())
                } else if *pi != i && other.overlaps(&cidr) {
                    format!("subnet {cidr} overlaps {other} at {okey} on another port")
                } else {
                    continue;
                };
                return Err(src.error(a.span(), &akey, msg));
            }
            seen.push((i, akey, cidr));
            match cidr {
                IpCidr::V4(c) => addresses.push(c),
                IpCidr::V6(c) => addresses6.push(c),
            }
        }

        let nonzero = |v: &Option<S<u16>>, field: &str, min: u16, default: u16| -> Result<u16> {
            match v {
                None => Ok(default),
                Some(s) if *s.get_ref() >= min => Ok(*s.get_ref()),
                Some(s) => Err(src.error(s.span(), key(field), format!("must be at least {min}"))),
            }
        };
        out.push(PortConfig {
            name: name.to_string(),
            device,
            addresses,
            addresses6,
            rx_desc: nonzero(&p.rx_desc, "rx_desc", 1, super::DEFAULT_DESC)?,
            tx_desc: nonzero(&p.tx_desc, "tx_desc", 1, super::DEFAULT_DESC)?,
            mtu: nonzero(&p.mtu, "mtu", MIN_MTU, super::DEFAULT_MTU)?,
            twin: None,
        });
    }
    Ok(out)
}

/// An interface address must be a unicast host address of its subnet.
fn check_host_address(c: &Ipv4Cidr) -> std::result::Result<(), String> {
    if let Some(what) = unusable(c.addr) {
        return Err(format!("{} is {what}", c.addr));
    }
    if c.prefix_len <= 30 && c.addr == c.network() {
        return Err(format!("{} is the network address of {}/{}", c.addr, c.network(), c.prefix_len));
    }
    if c.prefix_len <= 30 && c.addr == c.broadcast() {
        return Err(format!("{} is the broadcast address of {}/{}", c.addr, c.network(), c.prefix_len));
    }
    Ok(())
}

/// Check that the EAL arguments create `dev`; returns DPDK's name for it.
fn known_device(info: &EalInfo, dev: &str) -> std::result::Result<String, String> {
    if dev.is_empty() {
        return Err("device must not be empty".into());
    }
    if info.vdevs.iter().any(|(v, _)| v == dev) {
        return Ok(dev.to_string());
    }
    if let Some(pci) = eal::normalise_pci(dev) {
        if info.no_pci {
            return Err(format!("PCI device '{dev}' but eal.args has --no-pci"));
        }
        if info.block.contains(&pci) {
            return Err(format!("PCI device '{dev}' is blocked by -b/--block in eal.args"));
        }
        if info.allow.is_empty() || info.allow.contains(&pci) {
            return Ok(pci);
        }
    }
    Err(format!("unknown device '{dev}': not created by any --vdev or -a/--allow in eal.args"))
}

/// Index of the port with an address whose subnet contains `ip`.
fn port_on_subnet(ports: &[PortConfig], ip: IpAddr) -> Option<(usize, IpCidr)> {
    ports.iter().enumerate().find_map(|(i, p)| p.cidrs().find(|a| a.contains(ip)).map(|a| (i, a)))
}

/// The port key (`port[i].addresses[j]`) owning `ip` as an interface address.
fn own_address(ports: &[PortConfig], ip: IpAddr) -> Option<String> {
    ports
        .iter()
        .enumerate()
        .find_map(|(i, p)| p.cidrs().position(|a| a.addr() == ip).map(|j| format!("port[{i}].addresses[{j}]")))
}

fn port_names(ports: &[PortConfig]) -> String {
    let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
    names.join(", ")
}

fn vips(src: &Source<'_>, raw: Vec<S<RawVip>>, ports: &[PortConfig]) -> Result<Vec<VipConfig>> {
    let mut out: Vec<VipConfig> = Vec::with_capacity(raw.len());
    for (i, v) in raw.into_iter().enumerate() {
        let v = v.into_inner();
        let akey = format!("vip[{i}].address");
        let addr = parse_ip(src, &v.address, &akey)?;
        let at = |m: String| src.error(v.address.span(), &akey, m);
        if let Some(what) = unusable_ip(addr) {
            return Err(at(format!("{addr} is {what}")));
        }
        if let Some(k) = own_address(ports, addr) {
            return Err(at(format!("{addr} is a port address ({k}), not a VIP")));
        }
        if let Some(j) = out.iter().position(|o| o.addr == addr) {
            return Err(at(format!("duplicate VIP {addr} (also vip[{j}])")));
        }
        let port = match &v.port {
            Some(name) => ports.iter().position(|p| &p.name == name.get_ref()).ok_or_else(|| {
                src.error(
                    name.span(),
                    format!("vip[{i}].port"),
                    format!("unknown port '{}' (ports: {})", name.get_ref(), port_names(ports)),
                )
            })?,
            None => match port_on_subnet(ports, addr) {
                Some((_, IpCidr::V4(net)))
                    if net.prefix_len <= 30 && (addr == net.network() || addr == net.broadcast()) =>
                {
                    return Err(at(format!(
                        "{addr} is the network or broadcast address of {}/{}",
                        net.network(),
                        net.prefix_len
                    )));
                }
                Some((p, _)) => p,
                None => {
                    return Err(at(format!(
                        "{addr} is on no port's subnet; say which port receives it with port = \"NAME\""
                    )))
                }
            },
        };
        out.push(VipConfig { addr, port });
    }
    Ok(out)
}

fn routes(src: &Source<'_>, raw: Vec<S<RawRoute>>, ports: &[PortConfig]) -> Result<Vec<RouteConfig>> {
    let mut out: Vec<RouteConfig> = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let r = r.into_inner();
        let pkey = format!("route[{i}].prefix");
        let prefix = parse_cidr(src, &r.prefix, &pkey)?;
        if !prefix.is_network() {
            let network = match prefix {
                IpCidr::V4(c) => c.network().to_string(),
                IpCidr::V6(c) => c.network().to_string(),
            };
            return Err(src.error(
                r.prefix.span(),
                &pkey,
                format!("{prefix} has host bits set; did you mean {network}/{}?", prefix.prefix_len()),
            ));
        }
        if let Some(j) = out.iter().position(|o| o.prefix == prefix) {
            return Err(src.error(r.prefix.span(), &pkey, format!("duplicate route {prefix} (also route[{j}])")));
        }
        let gkey = format!("route[{i}].gateway");
        let gateway = parse_ip(src, &r.gateway, &gkey)?;
        let at = |m: String| src.error(r.gateway.span(), &gkey, m);
        if let Some(k) = own_address(ports, gateway) {
            return Err(at(format!("gateway {gateway} is this director's own address ({k})")));
        }
        if gateway.is_ipv4() != matches!(prefix, IpCidr::V4(_)) {
            return Err(at(format!("gateway {gateway} is not of {prefix}'s family")));
        }
        let Some((port, _)) = port_on_subnet(ports, gateway) else {
            return Err(at(format!("gateway {gateway} is not on any port's subnet")));
        };
        out.push(RouteConfig { prefix, gateway, port });
    }
    Ok(out)
}

fn workers(src: &Source<'_>, raw: S<RawWorkers>, info: &EalInfo, ports: &[PortConfig]) -> Result<WorkersConfig> {
    let table = raw.span();
    let w = raw.into_inner();
    let d = WorkersConfig::default();
    let key = |f: &str| format!("workers.{f}");
    if w.lcores.get_ref().is_empty() {
        return Err(src.error(w.lcores.span(), key("lcores"), "no worker lcores; list at least one"));
    }
    let main = info.main_lcore();
    let mut lcores: Vec<u32> = Vec::new();
    for (i, l) in w.lcores.get_ref().iter().enumerate() {
        let lc = *l.get_ref();
        let at = |m: String| src.error(l.span(), format!("workers.lcores[{i}]"), m);
        if lcores.contains(&lc) {
            return Err(at(format!("lcore {lc} is listed twice")));
        }
        if lc == main {
            return Err(at(format!(
                "lcore {lc} is the EAL main lcore, which runs the control thread; use another or set --main-lcore"
            )));
        }
        if let Some(list) = &info.lcores {
            if !list.contains(&lc) {
                return Err(at(format!("lcore {lc} is not in the EAL lcore list (-l/--lcores/-c in eal.args)")));
            }
        }
        lcores.push(lc);
    }

    // A field with a default, checked against an inclusive range.
    fn ranged<T: Copy + PartialOrd + std::fmt::Display>(
        src: &Source<'_>,
        v: &Option<S<T>>,
        key: String,
        default: T,
        min: T,
        max: T,
    ) -> Result<T> {
        match v {
            None => Ok(default),
            Some(s) if *s.get_ref() >= min && *s.get_ref() <= max => Ok(*s.get_ref()),
            Some(s) => Err(src.error(s.span(), key, format!("{} is out of range {min}..={max}", s.get_ref()))),
        }
    }
    let burst = ranged(src, &w.burst, key("burst"), d.burst as u64, 1, super::MAX_BURST as u64)?;
    let mbuf_cache = ranged(src, &w.mbuf_cache, key("mbuf_cache"), d.mbuf_cache, 0, MEMPOOL_CACHE_MAX)?;
    let mbufs = ranged(src, &w.mbufs, key("mbufs"), d.mbufs, 1, MAX_MBUFS)?;
    // rte_mempool_create refuses a cache larger than n / 1.5.
    if w.mbufs.is_some() && u64::from(mbuf_cache) * 3 > u64::from(mbufs) * 2 {
        let span = w.mbuf_cache.as_ref().or(w.mbufs.as_ref()).map_or(0..0, |s| s.span());
        return Err(src.error(
            span,
            key("mbuf_cache"),
            format!("mbuf_cache {mbuf_cache} must not exceed mbufs / 1.5 ({mbufs} mbufs)"),
        ));
    }
    let mut out = WorkersConfig {
        lcores,
        burst: burst as usize,
        drain_us: ranged(src, &w.drain_us, key("drain_us"), d.drain_us, 0, 1_000_000)?,
        mbufs,
        mbufs_auto: w.mbufs.is_none(),
        mbuf_cache,
        // The table's index names at most MAX_ENTRIES entries (rvs_core::conn).
        conn_capacity: ranged(src, &w.conn_capacity, key("conn_capacity"), d.conn_capacity, 1, MAX_ENTRIES)?,
        // IPv6 connections take a second line from a pool; unset: half the table.
        conn_capacity_v6: match &w.conn_capacity_v6 {
            Some(_) => Some(ranged(src, &w.conn_capacity_v6, key("conn_capacity_v6"), 0, 0, MAX_ENTRIES)?),
            None => None,
        },
        // FullNAT and SYN-proxied TCP connections take 48 B of sequence state; unset: a quarter.
        conn_capacity_fullnat: match &w.conn_capacity_fullnat {
            Some(_) => Some(ranged(src, &w.conn_capacity_fullnat, key("conn_capacity_fullnat"), 0, 0, MAX_ENTRIES)?),
            None => None,
        },
        fullnat_ports: match &w.fullnat_ports {
            None => d.fullnat_ports,
            Some(s) => port_range(s.get_ref()).ok_or_else(|| {
                src.error(
                    s.span(),
                    key("fullnat_ports"),
                    format!("{:?} is not FIRST-LAST with 1 <= FIRST <= LAST <= 65535", s.get_ref()),
                )
            })?,
        },
        // Next hops, not clients: on-link real servers (at most 4096) and gateways.
        neigh_capacity: ranged(src, &w.neigh_capacity, key("neigh_capacity"), d.neigh_capacity, 1, MAX_NEIGH)?,
        neigh_queue: ranged(src, &w.neigh_queue, key("neigh_queue"), d.neigh_queue, 0, 1024)?,
        neigh_reachable_secs: ranged(
            src,
            &w.neigh_reachable_secs,
            key("neigh_reachable_secs"),
            d.neigh_reachable_secs,
            1,
            86_400,
        )?,
        idle_sleep_us: ranged(src, &w.idle_sleep_us, key("idle_sleep_us"), d.idle_sleep_us, 0, 100_000)?,
    };
    let need = MbufNeed::new(ports, &out);
    match &w.mbufs {
        Some(m) if u64::from(mbufs) < need.total() => {
            let n = out.lcores.len();
            let hint = need.auto_size().map(|a| format!("set mbufs = {a} or more, or ")).unwrap_or_default();
            return Err(src.error(
                m.span(),
                key("mbufs"),
                format!(
                    "{mbufs} mbufs are too few: {n} worker(s) on {} port(s) need {need}; {hint}leave mbufs out to size the pool automatically",
                    ports.len()
                ),
            ));
        }
        Some(_) => {}
        None => {
            out.mbufs = need.auto_size().ok_or_else(|| {
                src.error(
                    table,
                    key("mbufs"),
                    format!(
                        "the pool would need {need} mbufs, more than {MAX_MBUFS}; lower neigh_capacity x neigh_queue, the ports' rx_desc/tx_desc or the workers"
                    ),
                )
            })?;
        }
    }
    Ok(out)
}

/// Each worker needs its own rx/tx queue on every port. af_packet ports have only as
/// many as their `qpairs` devarg, af_xdp ports as their `queue_count` (both default 1).
fn check_queues(
    src: &Source<'_>,
    spans: &[std::ops::Range<usize>],
    ports: &[PortConfig],
    workers: &WorkersConfig,
    info: &EalInfo,
) -> Result<()> {
    let need = workers.lcores.len();
    for (i, p) in ports.iter().enumerate() {
        let Some((_, args)) = info.vdevs.iter().find(|(n, _)| *n == p.device) else {
            continue;
        };
        let key = if p.device.starts_with("net_af_packet") {
            "qpairs"
        } else if p.device.starts_with("net_af_xdp") {
            "queue_count"
        } else {
            continue;
        };
        let have = eal::devarg(args, key).unwrap_or("1");
        if have.parse::<usize>().map_or(true, |q| q < need) {
            let span = spans.get(i).cloned().unwrap_or(0..0);
            return Err(src.error(
                span,
                format!("port[{i}].device"),
                format!(
                    "{} has {key}={have} but {need} worker(s) need one queue pair each; set {key}={need} in its --vdev",
                    p.device
                ),
            ));
        }
    }
    Ok(())
}

fn control(
    src: &Source<'_>,
    raw: Option<S<RawControl>>,
    workers: &WorkersConfig,
    info: &EalInfo,
) -> Result<ControlConfig> {
    let mut out = ControlConfig::default();
    let Some(c) = raw else { return Ok(out) };
    let c = c.into_inner();
    if let Some(m) = &c.metrics {
        out.metrics = m.get_ref().trim().parse::<SocketAddr>().map_err(|_| {
            src.error(
                m.span(),
                "control.metrics",
                format!("'{}' is not ADDRESS:PORT (e.g. 127.0.0.1:9469)", m.get_ref()),
            )
        })?;
    }
    if let Some(s) = &c.socket {
        let p = PathBuf::from(s.get_ref());
        if !p.is_absolute() {
            return Err(src.error(s.span(), "control.socket", format!("'{}' must be an absolute path", s.get_ref())));
        }
        out.socket = p;
    }
    if let Some(cpu) = &c.cpu {
        let n = *cpu.get_ref();
        // With -l/-c, lcore N runs on CPU N; --lcores may remap, so skip then.
        if !info.lcores_remapped && workers.lcores.iter().any(|&l| l as usize == n) {
            return Err(src.error(
                cpu.span(),
                "control.cpu",
                format!("CPU {n} runs a worker lcore; pin control threads elsewhere"),
            ));
        }
        out.cpu = Some(n);
    }
    if let Some(k) = &c.keepalived {
        let p = PathBuf::from(k.get_ref());
        if k.get_ref().trim().is_empty() {
            return Err(src.error(k.span(), "control.keepalived", "names no file (a keepalived.conf path)"));
        }
        // Relative to this file's directory, as keepalived's own includes are.
        let dir = src.path.parent().unwrap_or(std::path::Path::new(""));
        out.keepalived = Some(if p.is_absolute() { p } else { dir.join(p) });
    }
    if let Some(v) = &c.vrrp {
        if *v.get_ref() && out.keepalived.is_none() {
            return Err(src.error(
                v.span(),
                "control.vrrp",
                "keepalived --vrrp runs on the file control.keepalived names; name one",
            ));
        }
        out.vrrp = *v.get_ref();
    }
    Ok(out)
}

/// `FIRST-LAST`, a port range (FullNAT source ports).
fn port_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-')?;
    let (a, b) = (a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?);
    (a >= 1 && a <= b).then_some((a, b))
}
