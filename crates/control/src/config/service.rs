//! `[[service]]` tables: virtual services and their real servers, with
//! ipvsadm's meanings and defaults (`-A` and `-a`).
//!
//! Each table is first turned into a [`ServiceDecl`] (syntax: addresses,
//! names, ranges), then the whole list is built into a
//! [`rvs_core::service::Config`] so that the model's own rules (port 0 only
//! when persistent, one-packet scheduling only for UDP, duplicates, weights)
//! are checked exactly as `rvsadm` checks them; its errors are mapped back to
//! the offending key.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;

use rvs_core::addr::{fmt_addr_port, Addr, Protocol};
use rvs_core::sched;
use rvs_core::service::{
    ipv4_mask_prefix, ConfigError as SvcError, DestSpec, FwdMethod, Persistence, ProxyProtocol, SchedFlags, ServiceKey,
    ServiceSpec, DEFAULT_PERSISTENCE_TIMEOUT,
};
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::Deserialize;

use super::raw::S;
use super::{ConfigError, Source};
use crate::services::{self, BuildError};

/// One `[[service]]`: core's service with its real servers, the same value rvsadm's
/// `-A` and `-a` commands build (a route/tunnel server's port is already the service's).
pub use rvs_core::service::ServiceDef as ServiceDecl;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    #[serde(default)]
    pub tcp: Option<S<String>>,
    #[serde(default)]
    pub udp: Option<S<String>>,
    #[serde(default)]
    pub sctp: Option<S<String>>,
    #[serde(default)]
    pub fwmark: Option<S<u32>>,
    #[serde(default)]
    pub ipv6: Option<S<bool>>,
    #[serde(default)]
    pub scheduler: Option<S<String>>,
    #[serde(default)]
    pub persistent: Option<S<RawPersistent>>,
    #[serde(default)]
    pub netmask: Option<S<RawNetmask>>,
    #[serde(default)]
    pub flags: Option<S<String>>,
    #[serde(default)]
    pub ops: Option<S<bool>>,
    /// FullNAT local addresses (`--add-laddr`).
    #[serde(default)]
    pub laddrs: Option<S<Vec<S<String>>>>,
    #[serde(default)]
    pub proxy_protocol: Option<S<String>>,
    #[serde(default)]
    pub toa: Option<S<bool>>,
    /// SYN cookies at the director (`--synproxy`).
    #[serde(default)]
    pub synproxy: Option<S<bool>>,
    #[serde(default)]
    pub real_server: Vec<S<RawRealServer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRealServer {
    pub address: S<String>,
    #[serde(default)]
    pub method: Option<S<String>>,
    #[serde(default)]
    pub weight: Option<S<u32>>,
    #[serde(default)]
    pub u_threshold: Option<S<u32>>,
    #[serde(default)]
    pub l_threshold: Option<S<u32>>,
}

/// `persistent = true | false | SECONDS`.
pub(super) enum RawPersistent {
    Off,
    Secs(u32),
}

/// `netmask = "255.255.255.0" | PREFIX_LEN`.
pub(super) enum RawNetmask {
    Dotted(String),
    Prefix(i64),
}

impl<'de> Deserialize<'de> for RawPersistent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawPersistent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or a timeout in seconds")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> std::result::Result<RawPersistent, E> {
                Ok(if b { RawPersistent::Secs(DEFAULT_PERSISTENCE_TIMEOUT) } else { RawPersistent::Off })
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> std::result::Result<RawPersistent, E> {
                u32::try_from(n).map(RawPersistent::Secs).map_err(|_| E::invalid_value(Unexpected::Signed(n), &self))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> std::result::Result<RawPersistent, E> {
                u32::try_from(n).map(RawPersistent::Secs).map_err(|_| E::invalid_value(Unexpected::Unsigned(n), &self))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawNetmask {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawNetmask;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a dotted IPv4 netmask such as \"255.255.255.0\" or a prefix length")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<RawNetmask, E> {
                Ok(RawNetmask::Dotted(s.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> std::result::Result<RawNetmask, E> {
                Ok(RawNetmask::Prefix(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> std::result::Result<RawNetmask, E> {
                Ok(RawNetmask::Prefix(i64::try_from(n).unwrap_or(i64::MAX)))
            }
        }
        d.deserialize_any(V)
    }
}

type Result<T> = std::result::Result<T, ConfigError>;

/// Where each part of a service came from, to put build errors at their key.
struct Spans {
    table: Range<usize>,
    /// `tcp`, `udp`, `sctp` or `fwmark`, and its value's span.
    key: (&'static str, Range<usize>),
    scheduler: Option<Range<usize>>,
    persistent: Option<Range<usize>>,
    netmask: Option<Range<usize>>,
    flags: Option<Range<usize>>,
    ops: Option<Range<usize>>,
    toa: Option<Range<usize>>,
    proxy_protocol: Option<Range<usize>>,
    synproxy: Option<Range<usize>>,
    dests: Vec<DestSpans>,
}

struct DestSpans {
    table: Range<usize>,
    address: Range<usize>,
    method: Option<Range<usize>>,
    weight: Option<Range<usize>>,
    l_threshold: Option<Range<usize>>,
}

/// Parse every `[[service]]` and check them together as rvsadm would.
pub(super) fn build(src: &Source<'_>, raw: Vec<S<RawService>>) -> Result<Vec<ServiceDecl>> {
    let mut decls = Vec::with_capacity(raw.len());
    let mut spans = Vec::with_capacity(raw.len());
    for (i, s) in raw.into_iter().enumerate() {
        let (d, sp) = service(src, i, s)?;
        decls.push(d);
        spans.push(sp);
    }
    // Dest ids are not limited here: rvsd checks its own limit when it applies them.
    match services::build(&decls, u32::MAX) {
        Ok(_) => Ok(decls),
        Err(e) => Err(located(src, &decls, &spans, &e)),
    }
}

/// `host[:port]` (IPv6 in brackets when a port follows).
fn host_port(s: &str) -> std::result::Result<(Addr, Option<u16>), ()> {
    let s = s.trim();
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok((Addr::from(sa.ip()), Some(sa.port())));
    }
    let host = s.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(s);
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) if host != s => Err(()),
        Ok(ip) => Ok((Addr::from(ip), None)),
        Err(_) => Err(()),
    }
}

fn bad_address(src: &Source<'_>, s: &S<String>, key: String) -> ConfigError {
    src.error(s.span(), key, format!("'{}' is not ADDRESS[:PORT] (IPv6 as \"[2001:db8::1]:80\")", s.get_ref()))
}

/// A service key present in the table: name, protocol and address (none
/// for fwmark), span.
type KeySeen<'a> = (&'static str, Option<(Protocol, &'a S<String>)>, Range<usize>);

fn service(src: &Source<'_>, i: usize, s: S<RawService>) -> Result<(ServiceDecl, Spans)> {
    let table = s.span();
    let s = s.into_inner();
    let key = |f: &str| format!("service[{i}].{f}");

    // Exactly one of tcp / udp / sctp / fwmark.
    let protos = [("tcp", Protocol::Tcp, &s.tcp), ("udp", Protocol::Udp, &s.udp), ("sctp", Protocol::Sctp, &s.sctp)];
    let mut all: Vec<KeySeen<'_>> =
        protos.iter().filter_map(|(n, p, v)| v.as_ref().map(|v| (*n, Some((*p, v)), v.span()))).collect();
    if let Some(m) = &s.fwmark {
        all.push(("fwmark", None, m.span()));
    }
    all.sort_by_key(|(_, _, span)| span.start);
    let Some((kname, proto, kspan)) = all.first().cloned() else {
        return Err(src.error(
            table,
            format!("service[{i}]"),
            "a service needs tcp or udp = \"ADDRESS:PORT\" (sctp and fwmark are refused)",
        ));
    };
    if let Some((other, _, span)) = all.get(1) {
        return Err(src.error(
            span.clone(),
            key(other),
            format!("a service has only one of tcp, udp, sctp, fwmark (this one also has {kname})"),
        ));
    }
    let svc_key = match proto {
        Some((proto, v)) => {
            if let Some(v6) = &s.ipv6 {
                return Err(src.error(
                    v6.span(),
                    key("ipv6"),
                    format!("ipv6 is only for fwmark services; a {kname} service's family is its address's"),
                ));
            }
            let (addr, port) = host_port(v.get_ref()).map_err(|()| bad_address(src, v, key(kname)))?;
            ServiceKey::Proto { proto, addr, port: port.unwrap_or(0) }
        }
        None => {
            let m = s.fwmark.as_ref().map_or(0, |m| *m.get_ref());
            if m == 0 {
                return Err(src.error(kspan, key("fwmark"), "a firewall mark is 1..=4294967295"));
            }
            ServiceKey::Fwmark { mark: m, v6: s.ipv6.as_ref().is_some_and(|v| *v.get_ref()) }
        }
    };
    svc_key.check_forwardable().map_err(|e| src.error(kspan.clone(), key(kname), e.to_string()))?;
    let v6 = svc_key.is_v6();

    let mut spec = ServiceSpec::new(svc_key);
    if let Some(sch) = &s.scheduler {
        let name = sch.get_ref().trim();
        if sched::canonical_name(name).is_none() {
            return Err(src.error(
                sch.span(),
                key("scheduler"),
                format!("unknown scheduler '{name}' (one of {})", sched::NAMES.join(", ")),
            ));
        }
        spec.scheduler = name.to_string();
    }
    if let Some(f) = &s.flags {
        spec.flags = SchedFlags::parse(f.get_ref().trim(), &spec.scheduler)
            .map_err(|e| src.error(f.span(), key("flags"), flags_message(&e, &spec.scheduler)))?;
    }
    spec.one_packet = s.ops.as_ref().is_some_and(|o| *o.get_ref());
    if let Some(p) = &s.persistent {
        if let RawPersistent::Secs(t) = *p.get_ref() {
            // ipvsadm -p takes 1..=2678400 (parse_timeout), as rvsadm does; 0 is refused
            // below, as IPVS refuses it.
            let max = crate::ipvsadm::MAX_TIMEOUT;
            if i64::from(t) > max {
                return Err(src.error(
                    p.span(),
                    key("persistent"),
                    format!("{t} is out of range 1..={max} seconds (31 days, as ipvsadm -p)"),
                ));
            }
            spec.persistence = Some(Persistence { timeout_s: t, ..Persistence::default_for(v6) });
        }
    }
    if let Some(m) = &s.netmask {
        let at = |msg: String| src.error(m.span(), key("netmask"), msg);
        let Some(p) = spec.persistence.as_mut() else {
            return Err(at("netmask only applies to a persistent service; set persistent = true or a timeout".into()));
        };
        let max = if v6 { 128 } else { 32 };
        p.prefix = match m.get_ref() {
            RawNetmask::Prefix(n) if (1..=max).contains(n) => *n as u8,
            RawNetmask::Prefix(n) => return Err(at(format!("prefix length {n} is out of range 1..={max}"))),
            RawNetmask::Dotted(d) if v6 => {
                return Err(at(format!("'{d}': an IPv6 service's netmask is a prefix length, e.g. 64")))
            }
            RawNetmask::Dotted(d) => {
                let mask: Ipv4Addr = d.trim().parse().map_err(|_| at(format!("'{d}' is not a dotted IPv4 netmask")))?;
                ipv4_mask_prefix(mask.octets())
                    .map_err(|_| at(format!("'{d}' is not a netmask (its ones must be contiguous)")))?
            }
        };
    }

    spec.toa = s.toa.as_ref().is_some_and(|t| *t.get_ref());
    spec.synproxy = s.synproxy.as_ref().is_some_and(|t| *t.get_ref());
    if let Some(pp) = &s.proxy_protocol {
        spec.proxy_protocol =
            Some(proxy_protocol(pp.get_ref()).map_err(|m| src.error(pp.span(), key("proxy_protocol"), m))?);
    }
    let laddrs = match &s.laddrs {
        Some(l) => local_addresses(src, i, v6, l)?,
        None => Vec::new(),
    };

    let mut dests = Vec::with_capacity(s.real_server.len());
    let mut dspans = Vec::with_capacity(s.real_server.len());
    for (j, r) in s.real_server.into_iter().enumerate() {
        let method = r.get_ref().method.as_ref().map(|m| m.span());
        let (d, sp) = real_server(src, i, j, &svc_key, r)?;
        if d.fwd == FwdMethod::FullNat && laddrs.is_empty() {
            return Err(src.error(
                method.unwrap_or(sp.table.clone()),
                format!("service[{i}].real_server[{j}].method"),
                "a fullnat real server needs the service's local addresses: laddrs = [\"10.0.3.200\", ...]",
            ));
        }
        dests.push(d);
        dspans.push(sp);
    }
    let spans = Spans {
        table,
        key: (kname, kspan),
        scheduler: s.scheduler.as_ref().map(|x| x.span()),
        persistent: s.persistent.as_ref().map(|x| x.span()),
        netmask: s.netmask.as_ref().map(|x| x.span()),
        flags: s.flags.as_ref().map(|x| x.span()),
        ops: s.ops.as_ref().map(|x| x.span()),
        toa: s.toa.as_ref().map(|x| x.span()),
        proxy_protocol: s.proxy_protocol.as_ref().map(|x| x.span()),
        synproxy: s.synproxy.as_ref().map(|x| x.span()),
        dests: dspans,
    };
    Ok((ServiceDecl { spec, dests, laddrs }, spans))
}

/// `proxy_protocol = "v1" | "v2"` (without case, as DPVS reads it).
fn proxy_protocol(v: &str) -> std::result::Result<ProxyProtocol, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "v1" => Ok(ProxyProtocol::V1),
        "v2" => Ok(ProxyProtocol::V2),
        i @ ("v1-insecure" | "v2-insecure") => {
            Err(format!("'{i}' (passing on a header the client sent) is not supported; use v1 or v2"))
        }
        other => Err(format!("'{other}' is not a PROXY protocol version (v1 or v2)")),
    }
}

/// `laddrs = ["10.0.3.200", ...]`: addresses of the service's family, each once.
fn local_addresses(src: &Source<'_>, i: usize, v6: bool, l: &S<Vec<S<String>>>) -> Result<Vec<Addr>> {
    let mut out: Vec<Addr> = Vec::with_capacity(l.get_ref().len());
    for (k, a) in l.get_ref().iter().enumerate() {
        let at = |m: String| src.error(a.span(), format!("service[{i}].laddrs[{k}]"), m);
        let text = a.get_ref().trim();
        let ip: IpAddr = text.parse().map_err(|_| at(format!("'{text}' is not an IP address")))?;
        if ip.is_unspecified() || ip.is_multicast() {
            return Err(at(format!("{ip} cannot be a local address")));
        }
        if ip.is_ipv6() != v6 {
            let fam = |v6: bool| if v6 { "IPv6" } else { "IPv4" };
            return Err(at(format!("{ip} is {}, the service is {}", fam(ip.is_ipv6()), fam(v6))));
        }
        let addr = Addr::from(ip);
        if let Some(first) = out.iter().position(|o| *o == addr) {
            return Err(at(format!("duplicate local address {ip} (also laddrs[{first}])")));
        }
        out.push(addr);
    }
    if out.is_empty() {
        return Err(src.error(
            l.span(),
            format!("service[{i}].laddrs"),
            "an empty list: give addresses or leave it out",
        ));
    }
    Ok(out)
}

fn flags_message(e: &SvcError, scheduler: &str) -> String {
    match e {
        SvcError::IncompatibleSchedFlag(f) => {
            format!("{e} (scheduler is {scheduler}; {f} needs {})", f.get(..2).unwrap_or(f))
        }
        _ => format!("{e} (flags are sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3)"),
    }
}

fn real_server(
    src: &Source<'_>,
    i: usize,
    j: usize,
    svc: &ServiceKey,
    r: S<RawRealServer>,
) -> Result<(DestSpec, DestSpans)> {
    let table = r.span();
    let r = r.into_inner();
    let key = |f: &str| format!("service[{i}].real_server[{j}].{f}");
    let (addr, port) = host_port(r.address.get_ref()).map_err(|()| bad_address(src, &r.address, key("address")))?;
    let mut d = DestSpec::new(addr, port.unwrap_or(svc.port()));
    if let Some(m) = &r.method {
        d.fwd = match m.get_ref().trim().to_ascii_lowercase().as_str() {
            "masq" | "nat" | "masquerading" => FwdMethod::Masq,
            "route" | "dr" | "gatewaying" | "direct" => FwdMethod::Route,
            "tunnel" | "ipip" | "tun" => FwdMethod::Tunnel,
            "fullnat" | "fnat" => FwdMethod::FullNat,
            other => {
                return Err(src.error(
                    m.span(),
                    key("method"),
                    format!("unknown method '{other}' (masq/nat, route/dr/gatewaying, tunnel/ipip/tun, fullnat/fnat)"),
                ))
            }
        };
    }
    // ipvsadm: a route or tunnel server receives the service's port.
    if let ServiceKey::Proto { port, .. } = *svc {
        if matches!(d.fwd, FwdMethod::Route | FwdMethod::Tunnel) {
            d.port = port;
        }
    }
    let val = |v: &Option<S<u32>>, default: u32| v.as_ref().map_or(default, |x| *x.get_ref());
    d.weight = val(&r.weight, 1);
    d.u_threshold = val(&r.u_threshold, 0);
    d.l_threshold = val(&r.l_threshold, 0);
    let spans = DestSpans {
        table,
        address: r.address.span(),
        method: r.method.as_ref().map(|x| x.span()),
        weight: r.weight.as_ref().map(|x| x.span()),
        l_threshold: r.l_threshold.as_ref().or(r.u_threshold.as_ref()).map(|x| x.span()),
    };
    Ok((d, spans))
}

/// Put a model error at the key it is about.
fn located(src: &Source<'_>, decls: &[ServiceDecl], spans: &[Spans], e: &BuildError) -> ConfigError {
    let i = e.service;
    let (Some(d), Some(sp)) = (decls.get(i), spans.get(i)) else {
        return src.error_nowhere("service", e.error.to_string());
    };
    let key = |f: &str| format!("service[{i}].{f}");
    let msg = e.error.to_string();
    let (kname, kspan) = (sp.key.0, sp.key.1.clone());
    let Some(j) = e.real_server else {
        let or_key = |s: &Option<Range<usize>>, f: &str| match s {
            Some(s) => (s.clone(), key(f)),
            None => (kspan.clone(), key(kname)),
        };
        let (span, k, msg) = match &e.error {
            SvcError::UnknownScheduler(_) => {
                let (s, k) = or_key(&sp.scheduler, "scheduler");
                (s, k, msg)
            }
            SvcError::InvalidSchedFlag(_) | SvcError::IncompatibleSchedFlag(_) => {
                let (s, k) = or_key(&sp.flags, "flags");
                (s, k, flags_message(&e.error, &d.spec.scheduler))
            }
            SvcError::OnePacketNotUdp => {
                let (s, k) = or_key(&sp.ops, "ops");
                (s, k, msg)
            }
            SvcError::ClientAddrNotUdp => {
                let (f, span) = if d.spec.toa { ("toa", &sp.toa) } else { ("proxy_protocol", &sp.proxy_protocol) };
                let (s, k) = or_key(span, f);
                let what = if d.spec.toa { f.to_string() } else { format!("{f} = \"v1\"") };
                (s, k, format!("{what} is for TCP services (a UDP service takes proxy_protocol = \"v2\")"))
            }
            SvcError::SynproxyNotTcp => {
                let (s, k) = or_key(&sp.synproxy, "synproxy");
                (s, k, "synproxy is for TCP services".to_string())
            }
            SvcError::InvalidTimeout => {
                let (s, k) = or_key(&sp.persistent, "persistent");
                (s, k, format!("{msg} (a timeout is at least 1 second)"))
            }
            SvcError::InvalidNetmask => {
                let (s, k) = or_key(&sp.netmask.clone().or(sp.persistent.clone()), "netmask");
                (s, k, msg)
            }
            SvcError::ZeroPortNotPersistent => {
                (kspan, key(kname), format!("{msg} (port 0 means every port; add persistent = true)"))
            }
            SvcError::ServiceExists => {
                let first = decls.iter().position(|o| o.spec.key == d.spec.key).unwrap_or(i);
                (kspan, key(kname), format!("duplicate service (also service[{first}])"))
            }
            _ => (sp.table.clone(), format!("service[{i}]"), msg),
        };
        return src.error(span, k, msg);
    };
    let (Some(x), Some(ds)) = (d.dests.get(j), sp.dests.get(j)) else {
        return src.error(sp.table.clone(), format!("service[{i}]"), msg);
    };
    let key = |f: &str| format!("service[{i}].real_server[{j}].{f}");
    let at =
        |s: &Option<Range<usize>>, f: &str, msg: String| src.error(s.clone().unwrap_or(ds.table.clone()), key(f), msg);
    let address = Some(ds.address.clone());
    match &e.error {
        SvcError::InvalidWeight(w) => at(&ds.weight, "weight", format!("{msg}: {w} is out of range 0..=65535")),
        SvcError::ThresholdRange => at(&ds.l_threshold, "l_threshold", msg),
        SvcError::DestExists => {
            let first = d.dests.iter().position(|o| o.addr == x.addr && o.port == x.port).unwrap_or(j);
            let mut m = format!(
                "duplicate real server {} (also service[{i}].real_server[{first}])",
                fmt_addr_port(x.addr, x.port)
            );
            if matches!(x.fwd, FwdMethod::Route | FwdMethod::Tunnel) {
                m.push_str("; route and tunnel servers always use the service port");
            }
            at(&address, "address", m)
        }
        // A route server by default: say so where no method is written.
        SvcError::SynproxyNeedsReplies if ds.method.is_none() => {
            at(&None, "method", format!("{msg} (no method given: route, ipvsadm's default)"))
        }
        SvcError::SynproxyNeedsReplies => at(&ds.method, "method", msg),
        SvcError::FamilyMismatch => {
            at(&address, "address", format!("{msg}: {} and the service are not the same IP version", x.addr))
        }
        _ => at(&address, "address", msg),
    }
}
