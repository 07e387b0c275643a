//! `virtual_server` and `real_server` blocks (keepalived 2.2.7 `check/check_parser.c`)
//! built into core's [`ServiceDef`].

use std::net::IpAddr;

use rvs_core::addr::{Addr, Protocol};
use rvs_core::sched;
use rvs_core::service::{
    ipv4_mask_prefix, DestSpec, FwdMethod, Persistence, SchedFlags, ServiceDef, ServiceKey, ServiceSpec,
};

use super::check::{self, arg, ip, num, port, unknown, Inherit, RealServerChecks, ServiceChecks};
use super::lexer::Stmt;
use super::{Diag, KeepalivedConf, Pos};
use crate::services;

/// keepalived's IPVS_SVC_PERSISTENT_TIMEOUT: `persistence_timeout` without a value.
const PERSISTENCE_DEFAULT: u32 = 360;

pub(super) fn virtual_server(b: &Stmt, warnings: &mut Vec<Diag>) -> Result<(ServiceDef, ServiceChecks), Diag> {
    let a = b.args();
    let (addr, vport) = match a.first().map(String::as_str) {
        Some("fwmark") => return Err(b.pos.diag("fwmark virtual servers are not supported by rvs yet")),
        Some("group") => return Err(b.pos.diag("virtual_server group is not supported by rvs yet")),
        Some(x) if a.len() == 2 => match (x.parse::<IpAddr>(), a[1].parse::<u16>()) {
            (Ok(i), Ok(p)) => (i, p),
            _ => return Err(b.pos.diag(format!("Invalid virtual server IP address/port {x}/{}", a[1]))),
        },
        _ => return Err(b.pos.diag("virtual_server needs IP PORT, fwmark N or group NAME")),
    };
    let mut proto = None;
    let mut scheduler = None;
    let mut fwd = None;
    let mut timeout = None;
    let mut prefix = None;
    let mut flags = 0u8;
    let mut ops = false;
    let mut checks = ServiceChecks::default();
    let mut timers = Inherit::default();
    let mut rs = Vec::new();
    for s in b.block.as_deref().unwrap_or_default() {
        if timers.take(s)? {
            continue;
        }
        match s.keyword() {
            "protocol" => {
                proto = Some(match arg(s)? {
                    "TCP" => Protocol::Tcp,
                    "UDP" => Protocol::Udp,
                    "SCTP" => return Err(s.pos.diag("SCTP services are not supported: rvs has no SCTP forwarding")),
                    p => return Err(s.pos.diag(format!("Unknown protocol {p}"))),
                })
            }
            "lb_algo" | "lvs_sched" => {
                let n = arg(s)?;
                let c = sched::canonical_name(n).ok_or_else(|| s.pos.diag(format!("Invalid lvs_scheduler '{n}'")))?;
                scheduler = Some(c.to_string());
            }
            "lb_kind" | "lvs_method" => {
                fwd = Some(match arg(s)? {
                    "NAT" => FwdMethod::Masq,
                    "DR" => FwdMethod::Route,
                    "TUN" => FwdMethod::Tunnel,
                    // keepalived 2.2.7 has no FNAT (a fork's); it logs "unknown routing method".
                    m => return Err(s.pos.diag(format!("unknown [{m}] routing method for virtual server"))),
                })
            }
            "persistence_timeout" => {
                timeout = Some(if s.args().is_empty() { PERSISTENCE_DEFAULT } else { num(s, 1, u32::MAX)? })
            }
            "persistence_granularity" => {
                let g = arg(s)?;
                let bad = || s.pos.diag(format!("persistence_granularity '{g}' is not a netmask or prefix length"));
                prefix = Some(match g.parse::<std::net::Ipv4Addr>() {
                    Ok(m) => ipv4_mask_prefix(m.octets()).map_err(|_| bad())?,
                    Err(_) => g.parse::<u8>().ok().filter(|p| *p <= 128).ok_or_else(bad)?,
                });
            }
            "ops" => ops = true,
            "flag-1" | "sh-fallback" | "mh-fallback" => flags |= SchedFlags::FLAG1,
            "flag-2" | "sh-port" | "mh-port" => flags |= SchedFlags::FLAG2,
            "flag-3" => flags |= SchedFlags::FLAG3,
            "quorum" => checks.quorum = num(s, 1, u32::MAX)?,
            "hysteresis" => checks.hysteresis = num(s, 0, u32::MAX)?,
            "quorum_up" => checks.quorum_up = Some(s.args().join(" ")),
            "quorum_down" => checks.quorum_down = Some(s.args().join(" ")),
            "sorry_server" => {
                let (a, p) = match s.args() {
                    [a, p] => (a, p),
                    _ => return Err(s.pos.diag("sorry_server needs IP PORT")),
                };
                checks.sorry_server = Some((ip(s, a)?, port(s, p)?));
            }
            "inhibit_on_failure" => checks.inhibit_on_failure = true,
            "alpha" => checks.alpha = true,
            "omega" => checks.omega = true,
            "virtualhost" => checks.virtualhost = Some(arg(s)?.to_string()),
            "real_server" if s.block.is_some() => rs.push(s),
            _ => unknown(s, warnings),
        }
    }
    // keepalived 2.2.7's defaults, each logged (so `keepalived -t` fails without them).
    let name = format!("Virtual server [{addr}]:{vport}");
    let proto = proto.unwrap_or_else(|| {
        warnings.push(b.pos.diag(format!("{name}: no protocol set - defaulting to UDP")));
        Protocol::Udp
    });
    let scheduler = scheduler.unwrap_or_else(|| {
        warnings.push(b.pos.diag(format!("{name}: no scheduler set, setting default 'wlc'")));
        "wlc".into()
    });
    let fwd = fwd.unwrap_or_else(|| {
        warnings.push(b.pos.diag(format!("{name}: no forwarding method set, setting default NAT")));
        FwdMethod::Masq
    });
    let key = ServiceKey::Proto { proto, addr: Addr::from(addr), port: vport };
    let full = if addr.is_ipv4() { 32 } else { 128 };
    let mut spec = ServiceSpec::new(key);
    spec.scheduler = scheduler;
    spec.flags = SchedFlags(flags);
    spec.persistence = timeout.map(|timeout_s| Persistence { timeout_s, prefix: prefix.unwrap_or(full) });
    spec.one_packet = ops;
    if spec.one_packet && proto != Protocol::Udp {
        return Err(b.pos.diag("ops (one-packet scheduling) is only for UDP virtual services"));
    }
    checks.delay_loop = timers.delay_loop.unwrap_or(check::DEFAULT_DELAY_LOOP);
    checks.lb_kind = fwd;
    let mut dests = Vec::with_capacity(rs.len());
    for s in rs {
        let (d, c) = real_server(s, vport, fwd, timers, warnings)?;
        dests.push(d);
        checks.real_servers.push(c);
    }
    Ok((ServiceDef { spec, dests }, checks))
}

fn real_server(
    b: &Stmt,
    vport: u16,
    fwd: FwdMethod,
    outer: Inherit,
    warnings: &mut Vec<Diag>,
) -> Result<(DestSpec, RealServerChecks), Diag> {
    let (a, p) = match b.args() {
        [a] => (a, None),
        [a, p] => (a, Some(p)),
        _ => return Err(b.pos.diag("real_server needs IP [PORT]")),
    };
    let addr = ip(b, a)?;
    let mut d = DestSpec::new(Addr::from(addr), p.map(|p| port(b, p)).transpose()?.unwrap_or(vport));
    d.fwd = fwd;
    // ipvsadm (and so the model): a DR/TUN server takes the service's port.
    if matches!(fwd, FwdMethod::Route | FwdMethod::Tunnel) {
        d.port = vport;
    }
    let mut c = RealServerChecks::default();
    let mut timers = Inherit::default();
    let mut checker_blocks = Vec::new();
    for s in b.block.as_deref().unwrap_or_default() {
        if timers.take(s)? {
            continue;
        }
        match s.keyword() {
            // keepalived 2.2.7 reads 0-2147483647; IPVS as ipvsadm limits it to 65535.
            "weight" => d.weight = num(s, 0, 65535)?,
            "uthreshold" => d.u_threshold = num(s, 0, u32::MAX)?,
            "lthreshold" => d.l_threshold = num(s, 0, u32::MAX)?,
            "inhibit_on_failure" => c.inhibit_on_failure = true,
            "notify_up" => c.notify_up = Some(s.args().join(" ")),
            "notify_down" => c.notify_down = Some(s.args().join(" ")),
            "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" if s.block.is_some() => checker_blocks.push(s),
            _ => unknown(s, warnings),
        }
    }
    if d.u_threshold != 0 && d.l_threshold > d.u_threshold {
        return Err(b.pos.diag("lthreshold is higher than uthreshold"));
    }
    let t = timers.or(outer);
    for s in checker_blocks {
        c.checkers.push(check::checker(s, t, warnings)?);
    }
    Ok((d, c))
}

/// The model's own rules across services (duplicates, families), at the offending block.
pub(super) fn check_together(conf: &KeepalivedConf, at: &[Pos]) -> Result<(), Diag> {
    services::build(&conf.services, u32::MAX).map(|_| ()).map_err(|e| match at.get(e.service) {
        Some(p) => p.diag(e.error.to_string()),
        None => Diag { pos: at[0].clone(), message: e.error.to_string() },
    })
}
