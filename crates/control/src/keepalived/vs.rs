//! `virtual_server` blocks (keepalived 2.2.7 `check/check_parser.c`, with the defaults
//! and fix-ups of `check_data.c` `validate_check_config`) built into core's
//! [`ServiceDef`]: one per virtual server, or one per address and port of the
//! `virtual_server_group` it names, with the same real servers and settings.
//!
//! DPVS's fork adds FullNAT: `lb_kind FNAT` needs `laddr_group_name`; `proxy_protocol
//! v1|v2` (without case, as DPVS's `proxy_protocol_type`); and, as DPVS's data path does,
//! a FullNAT TCP service without a PROXY protocol carries the client's address in TOA.
//! And `syn_proxy` (no value): SYN cookies at the director, for TCP with NAT or FNAT
//! real servers (and sorry server).

use std::net::{IpAddr, Ipv4Addr};

use rvs_core::addr::{Addr, Protocol};
use rvs_core::sched;
use rvs_core::service::{
    ipv4_mask_prefix, DestSpec, FwdMethod, Persistence, ProxyProtocol, SchedFlags, ServiceDef, ServiceKey, ServiceSpec,
};

use super::check::{self, arg, ip, num, unknown, Inherit, RealServerChecks, ServiceChecks};
use super::group::{Group, FWMARK_REFUSED};
use super::laddr::{self, LaddrGroup};
use super::lexer::Stmt;
use super::rs::{self, boolean, method, RealServer};
use super::{Diag, Pos};

/// keepalived's IPVS_SVC_PERSISTENT_TIMEOUT: `persistence_timeout` without a value, and
/// what a port-0 service or a `persistence_granularity` alone gets.
const PERSISTENCE_DEFAULT: u32 = 360;
/// keepalived's LVS_MAX_TIMEOUT (31 days).
const PERSISTENCE_MAX: u32 = 86400 * 31;

/// A virtual server's settings as read, before they are built per address and port.
struct Vs {
    /// "Virtual server [ADDR]:PORT" or "Virtual server group NAME", as in messages.
    name: String,
    proto: Option<Protocol>,
    scheduler: Option<String>,
    flags: u8,
    timeout: Option<u32>,
    granularity: Option<(Pos, String)>,
    one_packet: bool,
    fwd: Option<FwdMethod>,
    weight: u32,
    sorry: Option<(Pos, IpAddr, Option<u16>)>,
    /// DPVS: `laddr_group_name` and `proxy_protocol`, with their lines.
    laddr_group: Option<(Pos, String)>,
    proxy_protocol: Option<(Pos, ProxyProtocol)>,
    /// DPVS: `syn_proxy`, with its line.
    syn_proxy: Option<Pos>,
    checks: ServiceChecks,
}

/// The services of the `virtual_server` block `b`; `first` is the index the first will
/// have in the configuration. None when keepalived would ignore the block (no real
/// servers: a warning).
pub(super) fn virtual_server(
    b: &Stmt,
    groups: &[Group],
    laddr_groups: &[LaddrGroup],
    first: usize,
    warnings: &mut Vec<Diag>,
) -> Result<Option<Vec<(ServiceDef, ServiceChecks)>>, Diag> {
    let (members, group) = target(b, groups)?;
    if b.block.is_none() {
        return Err(rs::no_block(b));
    }
    let v4 = members.first().is_none_or(|m| m.0.is_ipv4());
    let name = match (group, members.first()) {
        (Some(g), _) => format!("Virtual server group {g}"),
        (None, Some((a, p))) => format!("Virtual server [{a}]:{p}"),
        (None, None) => "Virtual server".into(),
    };
    let mut vs = Vs {
        name,
        proto: None,
        scheduler: None,
        flags: 0,
        timeout: None,
        granularity: None,
        one_packet: false,
        fwd: None,
        weight: 1,
        sorry: None,
        laddr_group: None,
        proxy_protocol: None,
        syn_proxy: None,
        checks: ServiceChecks { group: group.map(str::to_string), ..ServiceChecks::default() },
    };
    let mut timers = Inherit::default();
    let mut rs_blocks = Vec::new();
    for s in b.block.as_deref().unwrap_or_default() {
        if timers.take(s)? {
            continue;
        }
        if s.keyword() == "real_server" {
            if s.block.is_none() {
                return Err(rs::no_block(s));
            }
            // keepalived's alloc_rs takes the virtual server's method as it is then.
            rs_blocks.push((s, vs.fwd));
            continue;
        }
        keyword(s, &mut vs, v4, warnings)?;
    }
    if rs_blocks.is_empty() {
        warnings.push(b.pos.diag(format!("{} has no real servers - ignoring", vs.name)));
        return Ok(None);
    }
    let mut rss: Vec<RealServer> = Vec::with_capacity(rs_blocks.len());
    for (s, fwd_then) in rs_blocks {
        let r = rs::real_server(s, fwd_then, timers, warnings)?;
        if rss.iter().any(|o| o.addr == r.addr && o.port == r.port) {
            let at = fmt_rs(r.addr, r.port);
            warnings.push(r.pos.diag(format!("{}: real server {at} is duplicated - removing second rs", vs.name)));
            continue;
        }
        rss.push(r);
    }
    defaults(&mut vs, &b.pos, &rss, &members, warnings);
    vs.checks.delay_loop = timers.delay_loop.unwrap_or(check::DEFAULT_DELAY_LOOP);
    vs.checks.lb_kind = vs.checks.sorry_server_fwd.or(vs.fwd).unwrap_or(FwdMethod::Masq);
    let persistence = persistence(&vs, v4)?;
    let (laddrs, toa) = fullnat(&vs, b, &rss, laddr_groups, v4)?;
    synproxy(&vs, &rss)?;
    let mut out = Vec::with_capacity(members.len());
    let mut port_warned = vec![false; rss.len()];
    for (k, &(addr, port)) in members.iter().enumerate() {
        let key = ServiceKey::Proto { proto: vs.proto.unwrap_or(Protocol::Udp), addr: Addr::from(addr), port };
        let mut spec = ServiceSpec::new(key);
        spec.scheduler = vs.scheduler.clone().unwrap_or_else(|| "wlc".into());
        spec.flags = SchedFlags(vs.flags);
        spec.persistence = persistence;
        spec.one_packet = vs.one_packet;
        spec.proxy_protocol = vs.proxy_protocol.as_ref().map(|p| p.1);
        spec.toa = toa;
        spec.synproxy = vs.syn_proxy.is_some();
        let mut checks = vs.checks.clone();
        checks.same_checks_as = (k > 0).then_some(first);
        let mut dests = Vec::with_capacity(rss.len());
        for (j, r) in rss.iter().enumerate() {
            if r.addr.is_ipv4() != addr.is_ipv4() {
                return Err(r.pos.diag(format!(
                    "real server {}: its address family is not the virtual server's ({addr}); rvs forwards within one family",
                    r.addr
                )));
            }
            let fwd = r.fwd.or(vs.fwd).unwrap_or(FwdMethod::Masq);
            let dport = match (fwd, r.port) {
                // IPVS sends a NAT server without a port to the service's; FullNAT too.
                (FwdMethod::Masq | FwdMethod::FullNat, p) => p.unwrap_or(port),
                (_, Some(p)) if p != port && !port_warned[j] => {
                    port_warned[j] = true;
                    let at = fmt_rs(r.addr, r.port);
                    warnings.push(r.pos.diag(format!("{}: real server {at} ports don't match - resetting", vs.name)));
                    port
                }
                _ => port,
            };
            let mut d = DestSpec::new(Addr::from(r.addr), dport);
            (d.fwd, d.weight, d.u_threshold, d.l_threshold) =
                (fwd, r.weight.unwrap_or(vs.weight), r.u_threshold, r.l_threshold);
            dests.push(d);
            checks.real_servers.push(RealServerChecks {
                inhibit_on_failure: r.inhibit.unwrap_or(vs.checks.inhibit_on_failure),
                alpha: r.alpha.unwrap_or(vs.checks.alpha),
                ..r.checks.clone()
            });
        }
        if let Some((pos, a, p)) = &vs.sorry {
            if a.is_ipv4() != addr.is_ipv4() {
                return Err(pos.diag(format!("Address family of virtual server and sorry server {a} don't match")));
            }
            let fwd = checks.sorry_server_fwd.unwrap_or(FwdMethod::Masq);
            checks.sorry_server = Some((*a, if fwd == FwdMethod::Masq { p.unwrap_or(port) } else { port }));
        }
        out.push((ServiceDef { spec, dests, laddrs: laddrs.clone() }, checks));
    }
    Ok(Some(out))
}

/// The addresses and ports a `virtual_server` line names, and its group's name.
type Target<'g> = (Vec<(IpAddr, u16)>, Option<&'g str>);

fn target<'g>(b: &Stmt, groups: &'g [Group]) -> Result<Target<'g>, Diag> {
    let a = b.args();
    match a {
        [k, m] if k == "fwmark" => {
            if m.parse::<u32>().is_err() {
                return Err(b.pos.diag(format!("virtual server fwmark '{m}' must be in [0, {}]", u32::MAX)));
            }
            Err(b.pos.diag(format!("virtual_server fwmark {m}: {FWMARK_REFUSED}")))
        }
        [k, g] if k == "group" => match groups.iter().find(|x| x.name == *g) {
            Some(x) => {
                if x.members.iter().any(|m| m.addr.is_ipv4() != x.members[0].addr.is_ipv4()) {
                    return Err(b.pos.diag(format!(
                        "virtual_server group {g}: the group has IPv4 and IPv6 addresses (line {}); rvs serves one family per virtual server, so split it",
                        x.pos.line
                    )));
                }
                Ok((x.members.iter().map(|m| (m.addr, m.port)).collect(), Some(&x.name)))
            }
            // keepalived 2.2.7 logs "specified but not configured" and drops the block.
            None => Err(b.pos.diag(format!("virtual_server group {g}: no virtual_server_group {g} is defined"))),
        },
        [k] if k == "fwmark" || k == "group" => Err(b.pos.diag(format!("virtual_server {k} needs a value"))),
        [x] | [x, _] => {
            let p = a.get(1).map_or("", String::as_str);
            if let Some(cut) = x.find(['-', '/']) {
                return Err(b.pos.diag(format!(
                    "virtual_server {x}: a range or prefix needs a virtual_server_group (keepalived 2.2.7 would serve {} alone)",
                    &x[..cut]
                )));
            }
            let bad = || b.pos.diag(format!("Invalid virtual server IP address/port {x}/{p}"));
            let addr: IpAddr = x.parse().map_err(|_| bad())?;
            // No port, or all zeros, is port 0 (keepalived since 2.0.7).
            let port = if p.bytes().all(|b| b == b'0') { 0 } else { p.parse::<u16>().map_err(|_| bad())? };
            Ok((vec![(addr, port)], None))
        }
        [] => Err(b.pos.diag("virtual_server needs IP [PORT], fwmark N or group NAME")),
        _ => Err(b.pos.diag("virtual_server takes IP [PORT], fwmark N or group NAME")),
    }
}

/// One keyword of a virtual_server block (not a timer, not real_server).
fn keyword(s: &Stmt, vs: &mut Vs, v4: bool, warnings: &mut Vec<Diag>) -> Result<(), Diag> {
    let c = &mut vs.checks;
    match s.keyword() {
        "ip_family" => {
            let inet = match arg(s)? {
                "inet" => true,
                "inet6" => false,
                f => return Err(s.pos.diag(format!("unknown address family {f}"))),
            };
            if inet != v4 {
                let f = arg(s)?;
                return Err(s.pos.diag(format!("Virtual server specified family {f} conflicts with server family")));
            }
        }
        // keepalived compares without case.
        "protocol" => {
            vs.proto = Some(match arg(s)?.to_ascii_uppercase().as_str() {
                "TCP" => Protocol::Tcp,
                "UDP" => Protocol::Udp,
                "SCTP" => return Err(s.pos.diag("SCTP services are not supported: rvs has no SCTP forwarding")),
                _ => return Err(s.pos.diag(format!("Unknown protocol {}", arg(s)?))),
            })
        }
        "lb_algo" | "lvs_sched" => {
            let n = arg(s)?;
            let c = sched::canonical_name(n).ok_or_else(|| s.pos.diag(format!("Invalid lvs_scheduler '{n}'")))?;
            vs.scheduler = Some(c.to_string());
        }
        "lb_kind" | "lvs_method" => vs.fwd = Some(method(s, "virtual")?),
        "ops" => vs.one_packet = true,
        "flag-1" => vs.flags |= SchedFlags::FLAG1,
        "flag-2" => vs.flags |= SchedFlags::FLAG2,
        "flag-3" => vs.flags |= SchedFlags::FLAG3,
        // keepalived 2.2.7 (lbflags_handler) looks at the scheduler set so far: sh takes
        // sh-*, mh takes mh-*, either ignores the rest silently, others log and ignore.
        k @ ("hashed" | "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback") => match (vs.scheduler.as_deref(), k) {
            (Some("sh"), "sh-fallback") | (Some("mh"), "mh-fallback") => vs.flags |= SchedFlags::FLAG1,
            (Some("sh"), "sh-port") | (Some("mh"), "mh-port") => vs.flags |= SchedFlags::FLAG2,
            (Some("sh" | "mh"), _) => {}
            _ => warnings.push(s.pos.diag(format!("{k} only applies to sh scheduler - ignoring"))),
        },
        "persistence_engine" => {
            let e = s.args().join(" ");
            return Err(s.pos.diag(format!(
                "persistence_engine {e}: rvs has no persistence engines (IPVS's SIP Call-ID matching); remove it"
            )));
        }
        "persistence_timeout" => {
            vs.timeout = Some(if s.args().is_empty() { PERSISTENCE_DEFAULT } else { num(s, 1, PERSISTENCE_MAX)? })
        }
        "persistence_granularity" => vs.granularity = Some((s.pos.clone(), arg(s)?.to_string())),
        "weight" => vs.weight = rs::weight(s, 1)?,
        "quorum" => c.quorum = num(s, 1, u32::MAX)?,
        "hysteresis" => c.hysteresis = num(s, 0, u32::MAX)?,
        "quorum_up" => c.quorum_up = Some(s.args().join(" ")),
        "quorum_down" => c.quorum_down = Some(s.args().join(" ")),
        "sorry_server" => {
            let (a, p) = match s.args() {
                [a] => (a, None),
                [a, p] => (a, Some(p)),
                _ => return Err(s.pos.diag("sorry_server needs IP [PORT]")),
            };
            let p = match p {
                Some(p) if !p.bytes().all(|b| b == b'0') => Some(check::port(s, p)?),
                _ => None,
            };
            vs.sorry = Some((s.pos.clone(), ip(s, a)?, p));
            c.sorry_server_fwd = c.sorry_server_fwd.or(vs.fwd);
        }
        "sorry_server_inhibit" if vs.sorry.is_none() => {
            warnings.push(s.pos.diag("Ignoring sorry_server inhibit used before or without sorry_server"))
        }
        "sorry_server_inhibit" => c.sorry_server_inhibit = true,
        "sorry_server_lvs_method" if vs.sorry.is_none() => {
            warnings.push(s.pos.diag("sorry_server forwarding used without sorry_server"))
        }
        "sorry_server_lvs_method" => c.sorry_server_fwd = Some(method(s, "sorry")?),
        "inhibit_on_failure" => c.inhibit_on_failure = true,
        "alpha" => c.alpha = true,
        "omega" => c.omega = true,
        "ha_suspend" => c.ha_suspend = true,
        "smtp_alert" => c.smtp_alert = Some(boolean(s)?),
        "virtualhost" => c.virtualhost = Some(arg(s)?.to_string()),
        "snmp_name" => return Err(rs::snmp(s)),
        "laddr_group_name" => vs.laddr_group = Some((s.pos.clone(), arg(s)?.to_string())),
        "proxy_protocol" => vs.proxy_protocol = proxy_protocol(s)?.map(|p| (s.pos.clone(), p)),
        // DPVS's handler takes no value and ignores any: `syn_proxy off` turns it on.
        "syn_proxy" => {
            if let Some(v) = s.args().first() {
                warnings.push(s.pos.diag(format!("syn_proxy takes no value; '{v}' ignored, the SYN proxy is on")));
            }
            vs.syn_proxy = Some(s.pos.clone());
        }
        _ => unknown(s, warnings),
    }
    Ok(())
}

/// DPVS's `proxy_protocol_type`: v1, v2 (any case); `disable` is none. The `-insecure`
/// forms (a header the client sent passed on) are refused, as is anything else (DPVS
/// would disable the PROXY protocol silently).
fn proxy_protocol(s: &Stmt) -> Result<Option<ProxyProtocol>, Diag> {
    let v = arg(s)?;
    match v.to_ascii_lowercase().as_str() {
        "v1" => Ok(Some(ProxyProtocol::V1)),
        "v2" => Ok(Some(ProxyProtocol::V2)),
        "disable" => Ok(None),
        "v1-insecure" | "v2-insecure" => {
            Err(s.pos.diag(format!("proxy_protocol {v}: rvs does not pass on a client's PROXY header; use v1 or v2")))
        }
        _ => Err(s.pos.diag(format!("proxy_protocol {v}: unknown PROXY protocol version (v1, v2 or disable)"))),
    }
}

/// A virtual server's FullNAT settings: its local addresses (`laddr_group_name`, which
/// any FNAT real server or sorry server needs) and whether TOA is on.
fn fullnat(vs: &Vs, b: &Stmt, rss: &[RealServer], groups: &[LaddrGroup], v4: bool) -> Result<(Vec<Addr>, bool), Diag> {
    let fnat = rss.iter().any(|r| r.fwd.or(vs.fwd) == Some(FwdMethod::FullNat))
        || (vs.sorry.is_some() && vs.checks.sorry_server_fwd == Some(FwdMethod::FullNat));
    let tcp = vs.proto == Some(Protocol::Tcp);
    if let (Some((pos, ProxyProtocol::V1)), false) = (&vs.proxy_protocol, tcp) {
        return Err(pos.diag("proxy_protocol v1 is for TCP virtual servers (a UDP one takes v2)"));
    }
    let laddrs = match &vs.laddr_group {
        Some((pos, name)) => laddr::addresses(groups, pos, name, v4)?,
        None if fnat => {
            return Err(b.pos.diag(format!(
                "{}: lb_kind FNAT needs laddr_group_name (the local_address_group FullNAT connections leave from)",
                vs.name
            )))
        }
        None => Vec::new(),
    };
    Ok((laddrs.into_iter().map(Addr::from).collect(), fnat && tcp && vs.proxy_protocol.is_none()))
}

/// `syn_proxy`'s rules (core's, said at their lines): TCP; every real server, and the
/// sorry server, NAT or FNAT, whose replies come back through the director.
fn synproxy(vs: &Vs, rss: &[RealServer]) -> Result<(), Diag> {
    let Some(pos) = &vs.syn_proxy else { return Ok(()) };
    if vs.proto != Some(Protocol::Tcp) {
        return Err(pos.diag("syn_proxy is for TCP virtual servers"));
    }
    let why = "syn_proxy needs lb_kind NAT or FNAT: with DR or TUN the replies bypass the director, which must translate their sequence numbers";
    let kind = |f: FwdMethod| if f == FwdMethod::Route { "DR" } else { "TUN" };
    for r in rss {
        let fwd = r.fwd.or(vs.fwd).unwrap_or(FwdMethod::Masq);
        if !fwd.has_replies() {
            return Err(r.pos.diag(format!("real server {} is {}: {why}", fmt_rs(r.addr, r.port), kind(fwd))));
        }
    }
    match (&vs.sorry, vs.checks.sorry_server_fwd) {
        (Some((at, a, _)), Some(fwd)) if !fwd.has_replies() => {
            Err(at.diag(format!("sorry server {a} is {}: {why}", kind(fwd))))
        }
        _ => Ok(()),
    }
}

/// keepalived 2.2.7's `validate_check_config` defaults, each logged (so `keepalived -t`
/// fails without them).
fn defaults(vs: &mut Vs, pos: &Pos, rss: &[RealServer], members: &[(IpAddr, u16)], warnings: &mut Vec<Diag>) {
    let at = |w: &mut Vec<Diag>, m: String| w.push(pos.diag(m));
    let name = vs.name.clone();
    if vs.proto.is_none() {
        at(warnings, format!("{name}: no protocol set - defaulting to UDP"));
    }
    if vs.one_packet && vs.proto.is_some_and(|p| p != Protocol::Udp) {
        at(warnings, format!("{name}: one packet scheduling requires UDP - resetting"));
        vs.one_packet = false;
    }
    if vs.timeout.is_none() && vs.granularity.is_some() {
        vs.timeout = Some(PERSISTENCE_DEFAULT);
    }
    if vs.timeout.is_none() && members.iter().any(|m| m.1 == 0) {
        at(warnings, format!("{name}: zero port only valid for persistent services - setting"));
        vs.timeout = Some(PERSISTENCE_DEFAULT);
    }
    if vs.scheduler.is_none() {
        at(warnings, format!("{name}: no scheduler set, setting default 'wlc'"));
    }
    let sorry_unset = vs.sorry.is_some() && vs.checks.sorry_server_fwd.is_none();
    if vs.fwd.is_none() && (rss.iter().any(|r| r.fwd.is_none()) || sorry_unset) {
        at(warnings, format!("{name}: no forwarding method set, setting default NAT"));
        vs.fwd = Some(FwdMethod::Masq);
    }
    if vs.sorry.is_some() {
        vs.checks.sorry_server_fwd = vs.checks.sorry_server_fwd.or(vs.fwd);
    }
    let sum: u64 = rss.iter().map(|r| u64::from(r.weight.unwrap_or(vs.weight))).sum();
    let c = &mut vs.checks;
    if u64::from(c.quorum) > sum {
        at(
            warnings,
            format!(
                "Warning - quorum {} for {name} exceeds total weight of real servers {sum}, reducing quorum to {sum}",
                c.quorum
            ),
        );
        c.quorum = sum as u32;
    }
    if c.hysteresis >= c.quorum {
        // keepalived sets quorum - 1, wrapping at 0; rvs stops at 0.
        let h = c.quorum.saturating_sub(1);
        at(warnings, format!("{name}: hysteresis {} >= quorum {}; setting hysteresis to {h}", c.hysteresis, c.quorum));
        c.hysteresis = h;
    }
}

/// The service's persistence: `persistence_timeout` and `persistence_granularity` (an
/// IPv4 netmask, or an IPv6 prefix length, as keepalived reads them).
fn persistence(vs: &Vs, v4: bool) -> Result<Option<Persistence>, Diag> {
    let Some(timeout_s) = vs.timeout else { return Ok(None) };
    let prefix = match &vs.granularity {
        None => {
            if v4 {
                32
            } else {
                128
            }
        }
        Some((pos, g)) if v4 => {
            let m: Ipv4Addr = g.parse().map_err(|_| {
                pos.diag(format!(
                    "Invalid IPv4 persistence_granularity specified - {g} (a netmask such as 255.255.255.0)"
                ))
            })?;
            ipv4_mask_prefix(m.octets()).map_err(|_| {
                pos.diag(format!(
                    "persistence_granularity {g}: rvs takes contiguous netmasks only (IPVS would mask with it as is)"
                ))
            })?
        }
        Some((pos, g)) => g
            .parse::<u8>()
            .ok()
            .filter(|p| (1..=128).contains(p))
            .ok_or_else(|| pos.diag(format!("Invalid IPv6 persistence_granularity specified - {g}")))?,
    };
    Ok(Some(Persistence { timeout_s, prefix }))
}

fn fmt_rs(addr: IpAddr, port: Option<u16>) -> String {
    rvs_core::addr::fmt_addr_port(Addr::from(addr), port.unwrap_or(0))
}
