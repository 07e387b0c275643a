//! Shared fixtures for the ipvsadm tests: the table behind the examples of
//! /work/shared/reference/ipvsadm.md, and a tiny dispatcher doing what
//! `rvsadm` does with a parsed listing command.
#![allow(dead_code)]

use control::ipvsadm::*;
use std::net::{IpAddr, SocketAddr};

pub fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// An address in core's form.
pub fn a(s: &str) -> Addr {
    Addr::from(ip(s))
}

pub fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Proto { proto: Protocol::Tcp, addr: a(addr), port }
}

pub fn udp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Proto { proto: Protocol::Udp, addr: a(addr), port }
}

/// `-p timeout` with the full-address granularity of the key's family.
pub fn persist(key: &ServiceKey, timeout_s: u32) -> Option<Persistence> {
    Some(Persistence { timeout_s, ..Persistence::default_for(key.is_v6()) })
}

pub fn dest(addr: &str, port: u16, fwd: FwdMethod, weight: u32, active: u32, inactive: u32) -> DestEntry {
    let mut spec = DestSpec::new(a(addr), port);
    spec.fwd = fwd;
    spec.weight = weight;
    DestEntry { spec, tunnel: TunnelOpts::default(), active, inactive, persist: 0, stats: Stats::default() }
}

pub fn service(spec: ServiceSpec, dests: Vec<DestEntry>) -> ServiceEntry {
    ServiceEntry { spec, ext: ServiceExt::default(), dests, stats: Stats::default(), laddrs: Vec::new() }
}

/// The table of the reference's `-L -n` and `-S -n` examples.
pub fn example_listing() -> Listing {
    let mut web = ServiceSpec::new(tcp("10.0.0.1", 80));
    web.persistence = persist(&web.key, 300);
    let mut dns = ServiceSpec::new(udp("10.0.0.1", 53));
    dns.scheduler = "rr".into();
    dns.one_packet = true;
    Listing {
        version: "1.2.1".into(),
        table_size: 4096,
        services: vec![
            service(
                web,
                vec![
                    dest("192.168.1.10", 80, FwdMethod::Route, 1, 12, 40),
                    dest("192.168.1.11", 80, FwdMethod::Route, 0, 3, 17),
                ],
            ),
            service(dns, vec![dest("192.168.1.20", 53, FwdMethod::Masq, 1, 0, 5)]),
        ],
    }
}

pub fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub fn example_conns() -> Vec<ConnEntry> {
    vec![
        ConnEntry {
            proto: Protocol::Tcp,
            expire_secs: 14 * 60 + 58,
            state: "ESTABLISHED".into(),
            client: sock("203.0.113.5:51000"),
            virt: sock("10.0.0.1:80"),
            dest: sock("192.168.1.10:80"),
            pe: None,
            local: None,
        },
        ConnEntry {
            proto: Protocol::Udp,
            expire_secs: 4 * 60 + 59,
            state: "UDP".into(),
            client: sock("198.51.100.7:3311"),
            virt: sock("10.0.0.1:53"),
            dest: sock("192.168.1.20:53"),
            pe: None,
            local: None,
        },
    ]
}

/// What rvsadm prints for a listing command line against this data.
pub fn run(cmdline: &str, listing: &Listing, conns: &[ConnEntry], timeouts: &Timeouts) -> Result<String, UsageError> {
    let a = args(cmdline);
    let a = if a.first().map(String::as_str) == Some("ipvsadm") { &a[1..] } else { &a[..] };
    match parse(a)? {
        Command::List(l) => match l.target {
            ListTarget::All => Ok(format::list_all(listing, &l.format)),
            ListTarget::Service(k) => format::list_service(listing, &k, &l.format),
            ListTarget::Connections => Ok(format::list_conn(conns, l.format.persistent_conn)),
            ListTarget::Timeout => Ok(format::list_timeout(timeouts)),
            ListTarget::Daemon => Ok(format::list_daemon(&[])),
        },
        Command::Save { .. } => Ok(format::save(listing)),
        Command::Help => Ok(usage_text()),
        other => panic!("not a listing command: {other:?}"),
    }
}
