//! Between ipvsadm's model (what rvsadm parses and prints) and rvs_core's service model
//! (what the workers run), with libipvs's error wording (ipvs_strerror).

use std::net::SocketAddr;

use rvs_core::addr::{Addr, Protocol as CoreProto};
use rvs_core::conn::ConnInfo;
use rvs_core::service::{self as core, ConfigError, FwdMethod, Persistence};

use crate::ipvsadm::{self as ipv, AddressFamily, ConnEntry, ForwardMethod, Protocol};

pub fn proto_to_core(p: Protocol) -> CoreProto {
    match p {
        Protocol::Tcp => CoreProto::Tcp,
        Protocol::Udp => CoreProto::Udp,
        Protocol::Sctp => CoreProto::Sctp,
    }
}

fn proto_from_core(p: CoreProto) -> Protocol {
    match p {
        CoreProto::Tcp => Protocol::Tcp,
        CoreProto::Udp => Protocol::Udp,
        CoreProto::Sctp => Protocol::Sctp,
    }
}

pub fn key_to_core(k: &ipv::ServiceKey) -> core::ServiceKey {
    match *k {
        ipv::ServiceKey::Addr { proto, addr, port } => {
            core::ServiceKey::Proto { proto: proto_to_core(proto), addr: Addr::from(addr), port }
        }
        ipv::ServiceKey::Fwmark { mark, af } => core::ServiceKey::Fwmark { mark, v6: af == AddressFamily::Inet6 },
    }
}

pub fn key_from_core(k: &core::ServiceKey) -> ipv::ServiceKey {
    match *k {
        core::ServiceKey::Proto { proto, addr, port } => {
            ipv::ServiceKey::Addr { proto: proto_from_core(proto), addr: addr.to_ip(), port }
        }
        core::ServiceKey::Fwmark { mark, v6 } => {
            ipv::ServiceKey::Fwmark { mark, af: if v6 { AddressFamily::Inet6 } else { AddressFamily::Inet } }
        }
    }
}

pub fn service_to_core(s: &ipv::ServiceSpec) -> Result<core::ServiceSpec, String> {
    let v6 = s.key.af() == AddressFamily::Inet6;
    let prefix = if v6 {
        u8::try_from(s.netmask).map_err(|_| "illegal netmask specified".to_string())?
    } else {
        core::ipv4_mask_prefix(s.netmask.to_be_bytes()).map_err(|e| e.to_string())?
    };
    let mut flags = 0;
    for (on, bit) in [
        (s.flags.flag1, core::SchedFlags::FLAG1),
        (s.flags.flag2, core::SchedFlags::FLAG2),
        (s.flags.flag3, core::SchedFlags::FLAG3),
    ] {
        if on {
            flags |= bit;
        }
    }
    Ok(core::ServiceSpec {
        key: key_to_core(&s.key),
        scheduler: s.scheduler.clone(),
        flags: core::SchedFlags(flags),
        persistence: s.persistent.map(|timeout_s| Persistence { timeout_s, prefix }),
        one_packet: s.ops,
    })
}

pub fn service_from_core(s: &core::Service) -> ipv::ServiceSpec {
    let key = key_from_core(&s.key);
    let mut spec = ipv::ServiceSpec::new(key);
    spec.scheduler = s.scheduler.to_string();
    spec.flags.flag1 = s.flags.0 & core::SchedFlags::FLAG1 != 0;
    spec.flags.flag2 = s.flags.0 & core::SchedFlags::FLAG2 != 0;
    spec.flags.flag3 = s.flags.0 & core::SchedFlags::FLAG3 != 0;
    spec.ops = s.one_packet;
    if let Some(p) = s.persistence {
        spec.persistent = Some(p.timeout_s);
        spec.netmask = match key.af() {
            AddressFamily::Inet => u32::MAX.checked_shl(32 - u32::from(p.prefix.min(32))).unwrap_or(0),
            AddressFamily::Inet6 => u32::from(p.prefix),
        };
    }
    spec
}

pub fn dest_to_core(d: &ipv::DestSpec) -> Result<core::DestSpec, String> {
    let fwd = match d.method {
        ForwardMethod::Masq => FwdMethod::Masq,
        ForwardMethod::Route => FwdMethod::Route,
        ForwardMethod::Tunnel => FwdMethod::Tunnel,
        ForwardMethod::FullNat => return Err(ipv::Feature::FullNat.not_supported_message()),
    };
    Ok(core::DestSpec {
        addr: Addr::from(d.addr),
        port: d.port,
        weight: d.weight,
        u_threshold: d.u_threshold,
        l_threshold: d.l_threshold,
        fwd,
    })
}

pub fn dest_from_core(d: &core::Dest) -> ipv::DestSpec {
    let mut spec = ipv::DestSpec::new(d.addr.to_ip(), d.port);
    spec.method = match d.fwd {
        FwdMethod::Masq => ForwardMethod::Masq,
        FwdMethod::Route => ForwardMethod::Route,
        FwdMethod::Tunnel => ForwardMethod::Tunnel,
        FwdMethod::FullNat => ForwardMethod::FullNat,
    };
    spec.weight = d.weight;
    spec.u_threshold = d.u_threshold;
    spec.l_threshold = d.l_threshold;
    spec
}

/// libipvs's ipvs_strerror: the same errno reads differently per operation.
pub fn strerror(e: &ConfigError, dest_op: bool) -> String {
    match e {
        ConfigError::NoSuchService if dest_op => "Service not defined".into(),
        ConfigError::UnknownScheduler(_) => "Scheduler or persistence engine not found".into(),
        other => other.to_string(),
    }
}

pub fn conn_entry(c: &ConnInfo) -> Option<ConnEntry> {
    let proto = proto_from_core(CoreProto::from_number(c.proto)?);
    let sock = |a: Addr, p: u16| SocketAddr::new(a.to_ip(), p);
    Some(ConnEntry {
        proto,
        expire_secs: u32::try_from(c.expires_ms / 1000).unwrap_or(u32::MAX),
        state: c.state.to_string(),
        client: sock(c.caddr, c.cport),
        virt: sock(c.vaddr, c.vport),
        dest: sock(c.daddr, c.dport),
        pe: None,
    })
}
