//! `[[service]]` tables (ipvsadm's -A/-a in rvsd's file) and reconciling
//! the live service model with them (`control::services::apply`).

/// Reconciling with `control::services::apply`.
#[path = "config_services/apply.rs"]
mod apply;
mod config_common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use config_common::{err, ok, BASE};
use control::config::{self, ServiceDecl};
use control::services;
use rvs_core::addr::{Addr, Protocol};
use rvs_core::service::{DestId, DestSpec, FwdMethod, Persistence, SchedFlags, ServiceKey, ServiceSpec};

fn v4(a: u8, b: u8, c: u8, d: u8) -> Addr {
    Addr::from(Ipv4Addr::new(a, b, c, d))
}

fn tcp(addr: Addr, port: u16) -> ServiceKey {
    ServiceKey::Proto { proto: Protocol::Tcp, addr, port }
}

/// The services of BASE plus `text`, whose first line is line 23.
#[track_caller]
fn decls(text: &str) -> Vec<ServiceDecl> {
    ok(&format!("{BASE}{text}")).services
}

/// Assert the error's `file:line: key: ` prefix and part of its message.
#[track_caller]
fn check(text: &str, prefix: &str, message_part: &str) {
    let e = err(&format!("{BASE}{text}"));
    assert!(e.starts_with(prefix), "expected prefix {prefix:?}, got {e:?}");
    assert!(e.contains(message_part), "expected {message_part:?} in {e:?}");
}

const WEB: &str = r#"
[[service]]
tcp = "10.0.2.100:80"
scheduler = "rr"
[[service.real_server]]
address = "10.0.3.11:80"
method = "masq"
[[service.real_server]]
address = "10.0.3.12:80"
method = "masq"
"#;

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dpdk-config").join(name)
}

// --- parsing ---

#[test]
fn demo_toml_services() {
    let c = config::load(&example("demo.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.workers.conn_capacity, 65536);
    let mut spec = ServiceSpec::new(tcp(v4(10, 0, 2, 100), 80));
    spec.scheduler = "rr".into();
    let dest = |last| DestSpec { fwd: FwdMethod::Masq, ..DestSpec::new(v4(10, 0, 3, last), 80) };
    let v6 = |s: &str| rvs_core::addr::Addr::from(s.parse::<std::net::Ipv6Addr>().unwrap());
    let mut spec6 = ServiceSpec::new(tcp(v6("2001:db8:2::100"), 80));
    spec6.scheduler = "rr".into();
    let dest6 = |a| DestSpec { fwd: FwdMethod::Masq, ..DestSpec::new(v6(a), 80) };
    assert_eq!(
        c.services,
        vec![
            ServiceDecl { spec, dests: vec![dest(11), dest(12)], laddrs: vec![] },
            ServiceDecl { spec: spec6, dests: vec![dest6("2001:db8:3::11"), dest6("2001:db8:3::12")], laddrs: vec![] }
        ]
    );
    let live = services::build(&c.services, 16).unwrap();
    let s = &live.services()[0];
    assert_eq!((s.scheduler, s.dests.len()), ("rr", 2));
    assert_eq!(s.dests.iter().map(|d| d.id).collect::<Vec<_>>(), [DestId(0), DestId(1)]);
}

/// The commented-out examples at the end of pci-example.toml are valid.
#[test]
fn pci_example_services_uncommented() {
    let text = std::fs::read_to_string(example("pci-example.toml")).unwrap();
    let (head, tail) = text.split_at(text.find("# Virtual services").expect("services block"));
    let body: String = tail
        .lines()
        .filter_map(|l| {
            l.strip_prefix("# [")
                .map(|r| format!("[{r}"))
                .or_else(|| l.strip_prefix("# ").filter(|r| r.contains(" = ")).map(str::to_string))
        })
        .map(|l| l + "\n")
        .collect();
    let c = config::parse(&format!("{head}{body}"), Path::new("p.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.services.len(), 3);
    let (dr, tun, fnat) = (&c.services[0], &c.services[1], &c.services[2]);
    assert_eq!(dr.spec.persistence, Some(Persistence { timeout_s: 600, prefix: 24 }));
    assert_eq!(
        dr.dests.iter().map(|d| (d.port, d.fwd, d.weight)).collect::<Vec<_>>(),
        [(443, FwdMethod::Route, 3), (443, FwdMethod::Route, 1)]
    );
    assert_eq!((dr.dests[1].u_threshold, dr.dests[1].l_threshold), (5000, 4000));
    assert_eq!(tun.spec.flags, SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2));
    assert!(tun.spec.one_packet);
    assert!(tun.dests.iter().all(|d| d.fwd == FwdMethod::Tunnel && d.port == 53));
    assert_eq!(fnat.laddrs, [v4(198, 51, 100, 200), v4(198, 51, 100, 201)]);
    assert!(fnat.spec.toa);
    assert_eq!((fnat.dests[0].fwd, fnat.dests[0].port), (FwdMethod::FullNat, 8080));
}

#[test]
fn defaults_are_ipvsadms() {
    let d = decls("[[service]]\ntcp = \"10.0.2.100:443\"\n[[service.real_server]]\naddress = \"10.0.3.11\"\n");
    let spec = &d[0].spec;
    assert_eq!(
        (spec.scheduler.as_str(), spec.flags, spec.persistence, spec.one_packet),
        ("wlc", SchedFlags(0), None, false)
    );
    let r = d[0].dests[0];
    assert_eq!(
        (r.addr, r.port, r.fwd, r.weight, r.u_threshold, r.l_threshold),
        (v4(10, 0, 3, 11), 443, FwdMethod::Route, 1, 0, 0)
    );
    assert!(decls("").is_empty());
    // A service without real servers is fine (ipvsadm -A alone).
    assert!(decls("[[service]]\nudp = \"10.0.2.100:53\"\n")[0].dests.is_empty());
}

#[test]
fn keys_families_and_ports() {
    let d = decls(concat!(
        "[[service]]\nudp = \"10.0.2.100:53\"\nops = true\n",
        "[[service]]\nudp = \"[2001:db8::1]:9\"\n[[service.real_server]]\naddress = \"[2001:db8::2]:99\"\nmethod = \"nat\"\n",
        "[[service]]\ntcp = \"[2001:db8::1]:0\"\npersistent = true\n[[service.real_server]]\naddress = \"2001:db8::3\"\nmethod = \"ipip\"\n",
        "[[service]]\ntcp = \"10.0.2.100:80\"\n[[service.real_server]]\naddress = \"10.0.3.11:8080\"\nmethod = \"dr\"\n",
    ));
    assert_eq!(d[0].spec.key, ServiceKey::Proto { proto: Protocol::Udp, addr: v4(10, 0, 2, 100), port: 53 });
    assert!(d[0].spec.one_packet);
    let v6 = |last| Addr::from(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)));
    assert_eq!(d[1].spec.key, ServiceKey::Proto { proto: Protocol::Udp, addr: v6(1), port: 9 });
    assert_eq!((d[1].dests[0].addr, d[1].dests[0].port, d[1].dests[0].fwd), (v6(2), 99, FwdMethod::Masq));
    assert_eq!(d[2].spec.key, ServiceKey::Proto { proto: Protocol::Tcp, addr: v6(1), port: 0 });
    assert_eq!(d[2].spec.persistence, Some(Persistence::default_for(true)));
    assert_eq!((d[2].dests[0].port, d[2].dests[0].fwd), (0, FwdMethod::Tunnel));
    // ipvsadm: route and tunnel servers get the service's port.
    assert_eq!((d[3].dests[0].port, d[3].dests[0].fwd), (80, FwdMethod::Route));
}

#[test]
fn persistence_and_netmask() {
    let p = |extra: &str| decls(&format!("[[service]]\ntcp = \"10.0.2.100:0\"\n{extra}"))[0].spec.persistence;
    assert_eq!(p("persistent = true\n"), Some(Persistence { timeout_s: 300, prefix: 32 }));
    assert_eq!(p("persistent = 60\nnetmask = \"255.255.255.0\"\n"), Some(Persistence { timeout_s: 60, prefix: 24 }));
    assert_eq!(p("persistent = 60\nnetmask = 16\n"), Some(Persistence { timeout_s: 60, prefix: 16 }));
    let d = decls("[[service]]\ntcp = \"[2001:db8::1]:80\"\npersistent = true\nnetmask = 64\n");
    assert_eq!(d[0].spec.persistence, Some(Persistence { timeout_s: 300, prefix: 64 }));
    let d = decls("[[service]]\ntcp = \"10.0.2.100:80\"\npersistent = false\n");
    assert_eq!(d[0].spec.persistence, None);
}

#[test]
fn methods_flags_and_schedulers() {
    for (m, want) in [
        ("masq", FwdMethod::Masq),
        ("NAT", FwdMethod::Masq),
        ("route", FwdMethod::Route),
        ("gatewaying", FwdMethod::Route),
        ("tunnel", FwdMethod::Tunnel),
        ("tun", FwdMethod::Tunnel),
    ] {
        let d = decls(&format!("[[service]]\ntcp = \"10.0.2.100:80\"\n[[service.real_server]]\naddress = \"10.0.3.11\"\nmethod = \"{m}\"\n"));
        assert_eq!(d[0].dests[0].fwd, want, "{m}");
    }
    for s in rvs_core::sched::NAMES {
        assert_eq!(
            decls(&format!("[[service]]\ntcp = \"10.0.2.100:80\"\nscheduler = \"{s}\"\n"))[0].spec.scheduler,
            *s
        );
    }
    let d = decls("[[service]]\ntcp = \"10.0.2.100:80\"\nscheduler = \"mh\"\nflags = \"mh-port,flag-3\"\n");
    assert_eq!(d[0].spec.flags, SchedFlags(SchedFlags::FLAG2 | SchedFlags::FLAG3));
}

// --- errors: file:line: key ---

/// rvs cannot forward SCTP and has no firewall-mark classifier: such services are
/// refused at their key rather than accepted and never matched.
#[test]
fn sctp_and_fwmark_services_are_refused() {
    let e = err(&format!("{BASE}[[service]]\nsctp = \"10.0.2.100:9\"\n"));
    assert_eq!(e, "t.toml:24: service[0].sctp: SCTP services are not supported: rvs has no SCTP forwarding");
    let e = err(&format!("{BASE}{WEB}[[service]]\nscheduler = \"rr\"\nfwmark = 7\nipv6 = true\n"));
    assert_eq!(
        e,
        "t.toml:35: service[1].fwmark: firewall-mark services are not supported: rvs has no firewall-mark classifier"
    );
}

/// A `[[service]]` table and the rvsadm commands that say the same build one value of
/// core's model (derived equality, nothing converted).
#[test]
fn toml_and_rvsadm_build_equal_services() {
    use control::ipvsadm::{parse, Command};
    let d = decls(concat!(
        "[[service]]\ntcp = \"10.0.2.100:0\"\nscheduler = \"sh\"\nflags = \"sh-port\"\n",
        "persistent = 600\nnetmask = \"255.255.255.0\"\n",
        "[[service.real_server]]\naddress = \"10.0.3.11:8080\"\nmethod = \"masq\"\nweight = 3\n",
        "u_threshold = 100\nl_threshold = 10\n",
        "[[service.real_server]]\naddress = \"10.0.3.12:9\"\nmethod = \"route\"\n",
        "[[service]]\nudp = \"[2001:db8::1]:53\"\nops = true\npersistent = true\nnetmask = 64\n",
        "[[service.real_server]]\naddress = \"[2001:db8::2]:53\"\nmethod = \"tunnel\"\nweight = 0\n",
    ));
    let lines = [
        "-A -t 10.0.2.100:0 -s sh -b sh-port -p 600 -M 255.255.255.0",
        "-a -t 10.0.2.100:0 -r 10.0.3.11:8080 -m -w 3 -x 100 -y 10",
        "-a -t 10.0.2.100:0 -r 10.0.3.12:9 -g",
        "-A -u [2001:db8::1]:53 -o -p -M 64",
        "-a -u [2001:db8::1]:53 -r [2001:db8::2]:53 -i -w 0",
    ];
    let mut from_rvsadm: Vec<ServiceDecl> = Vec::new();
    for l in lines {
        match parse(&l.split_whitespace().map(String::from).collect::<Vec<_>>()).unwrap() {
            Command::AddService(spec, _) => from_rvsadm.push(ServiceDecl { spec, dests: vec![], laddrs: vec![] }),
            Command::AddServer { service, dest, .. } => {
                let s = from_rvsadm.iter_mut().find(|s| s.spec.key == service).unwrap();
                s.dests.push(dest);
            }
            c => panic!("{c:?}"),
        }
    }
    assert_eq!(d, from_rvsadm);
    // Equality is over every field: one differing threshold makes them differ.
    from_rvsadm[0].dests[0].l_threshold = 11;
    assert_ne!(d, from_rvsadm);
}

const SVC: &str = "[[service]]\ntcp = \"10.0.2.100:80\"\n"; // lines 23-24

#[test]
fn service_key_errors() {
    check("[[service]]\nscheduler = \"rr\"\n", "t.toml:23: service[0]: ", "needs tcp or udp");
    check(&format!("{SVC}udp = \"10.0.2.100:53\"\n"), "t.toml:25: service[0].udp: ", "also has tcp");
    check(&format!("{SVC}fwmark = 3\n"), "t.toml:25: service[0].fwmark: ", "only one of");
    check("[[service]]\nfwmark = 0\n", "t.toml:24: service[0].fwmark: ", "1..=4294967295");
    check("[[service]]\nfwmark = -1\n", "t.toml:24: service[0].fwmark: ", "invalid value");
    check(&format!("{SVC}ipv6 = true\n"), "t.toml:25: service[0].ipv6: ", "only for fwmark");
    check("[[service]]\ntcp = \"10.0.2.300:80\"\n", "t.toml:24: service[0].tcp: ", "not ADDRESS[:PORT]");
    check("[[service]]\ntcp = \"10.0.2.100:99999\"\n", "t.toml:24: service[0].tcp: ", "not ADDRESS[:PORT]");
    check("[[service]]\ntcp = \"[10.0.2.100]\"\n", "t.toml:24: service[0].tcp: ", "not ADDRESS[:PORT]");
    check("[[service]]\ntcp = \"2001:db8::1:80:x\"\n", "t.toml:24: service[0].tcp: ", "not ADDRESS[:PORT]");
    // ipvsadm: "Zero port specified for non-persistent service"; an omitted port is 0.
    check(
        "[[service]]\ntcp = \"10.0.2.100:0\"\n",
        "t.toml:24: service[0].tcp: ",
        "Zero port specified for non-persistent service",
    );
    check("[[service]]\ntcp = \"10.0.2.100\"\n", "t.toml:24: service[0].tcp: ", "Zero port");
    check(&format!("{SVC}{SVC}"), "t.toml:26: service[1].tcp: ", "duplicate service (also service[0])");
    check(&format!("{SVC}bogus = 1\n"), "t.toml:25: service[0].bogus: ", "unknown field `bogus`");
    check("[service]\ntcp = \"10.0.2.100:80\"\n", "t.toml:23: service: ", "write [[service]]");
}

#[test]
fn service_option_errors() {
    check(
        &format!("{SVC}scheduler = \"fastest\"\n"),
        "t.toml:25: service[0].scheduler: ",
        "unknown scheduler 'fastest' (one of rr, wrr",
    );
    check(
        &format!("{SVC}flags = \"sh-port\"\n"),
        "t.toml:25: service[0].flags: ",
        "incompatible scheduler flag `sh-port'",
    );
    check(
        &format!("{SVC}scheduler = \"sh\"\nflags = \"mh-port\"\n"),
        "t.toml:26: service[0].flags: ",
        "mh-port needs mh",
    );
    check(&format!("{SVC}flags = \"turbo\"\n"), "t.toml:25: service[0].flags: ", "invalid scheduler flag `turbo'");
    check(&format!("{SVC}ops = true\n"), "t.toml:25: service[0].ops: ", "only for UDP");
    check(&format!("{SVC}persistent = 0\n"), "t.toml:25: service[0].persistent: ", "illegal timeout");
    check(&format!("{SVC}persistent = -5\n"), "t.toml:25: service[0].persistent: ", "true, false or a timeout");
    check(&format!("{SVC}persistent = \"yes\"\n"), "t.toml:25: service[0].persistent: ", "true, false or a timeout");
    check(&format!("{SVC}netmask = \"255.255.255.0\"\n"), "t.toml:25: service[0].netmask: ", "persistent");
    check(
        &format!("{SVC}persistent = true\nnetmask = \"255.0.255.0\"\n"),
        "t.toml:26: service[0].netmask: ",
        "contiguous",
    );
    check(
        &format!("{SVC}persistent = true\nnetmask = \"255.255\"\n"),
        "t.toml:26: service[0].netmask: ",
        "not a dotted",
    );
    check(&format!("{SVC}persistent = true\nnetmask = 33\n"), "t.toml:26: service[0].netmask: ", "1..=32");
    check(
        "[[service]]\ntcp = \"[::1]:80\"\npersistent = true\nnetmask = \"255.0.0.0\"\n",
        "t.toml:26: service[0].netmask: ",
        "prefix length",
    );
}

#[test]
fn real_server_errors() {
    let rs =
        |body: &str| format!("{SVC}[[service.real_server]]\naddress = \"10.0.3.11\"\n[[service.real_server]]\n{body}");
    // Lines: 25 [[real_server]], 26 its address, 27 second [[real_server]], 28.. body.
    check(
        &rs("address = \"10.0.3.12\"\nweight = 70000\n"),
        "t.toml:29: service[0].real_server[1].weight: ",
        "illegal weight specified: 70000 is out of range 0..=65535",
    );
    check(
        &rs("address = \"10.0.3.12\"\nweight = -1\n"),
        "t.toml:29: service[0].real_server[1].weight: ",
        "invalid value",
    );
    check(
        &rs("address = \"10.0.3.11:80\"\n"),
        "t.toml:28: service[0].real_server[1].address: ",
        "duplicate real server 10.0.3.11:80 (also service[0].real_server[0])",
    );
    check(
        &rs("address = \"10.0.3.11:8080\"\n"),
        "t.toml:28: service[0].real_server[1].address: ",
        "always use the service port",
    );
    check(&rs("address = \"10.0.3.1x\"\n"), "t.toml:28: service[0].real_server[1].address: ", "not ADDRESS[:PORT]");
    check(
        &rs("address = \"[2001:db8::2]:80\"\n"),
        "t.toml:28: service[0].real_server[1].address: ",
        "address family mismatch",
    );
    check(
        &rs("address = \"10.0.3.12\"\nmethod = \"teleport\"\n"),
        "t.toml:29: service[0].real_server[1].method: ",
        "unknown method 'teleport'",
    );
    check(
        &rs("address = \"10.0.3.12\"\nu_threshold = 10\nl_threshold = 20\n"),
        "t.toml:30: service[0].real_server[1].l_threshold: ",
        "lower threshold is higher",
    );
    check(&rs("weight = 1\n"), "t.toml:27: service[0].real_server[1].address: ", "missing field `address`");
    check(
        &rs("address = \"10.0.3.12\"\nport = 80\n"),
        "t.toml:29: service[0].real_server[1].port: ",
        "unknown field `port`",
    );
    // The same server in two services is fine.
    assert_eq!(
        decls(&format!(
            "{}[[service]]\ntcp = \"10.0.2.100:81\"\n[[service.real_server]]\naddress = \"10.0.3.11\"\n",
            rs("address = \"10.0.3.12\"\n")
        ))
        .len(),
        2
    );
}

/// Truncated and mutated service tables give errors, never panics, and the
/// errors of the service section have a line.
#[test]
fn no_panics_on_service_garbage() {
    let text = std::fs::read_to_string(example("demo.toml")).unwrap();
    let start = text.find("\n[[service]]").expect("demo has services") + 1;
    for end in start..=text.len() {
        if let Some(t) = text.get(..end) {
            if let Err(e) = config::parse(t, Path::new("d.toml")) {
                assert!(e.line.is_some(), "{e} (cut at {end})");
            }
        }
    }
    let junk = [b'[', b']', b'"', b'=', b':', b'\n', b'.', b'0', b'9', b'-', b'#', b'x', 0xff];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3000 {
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..2 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let pos = start + (seed >> 33) as usize % (bytes.len() - start);
            bytes[pos] = junk[(seed >> 20) as usize % junk.len()];
        }
        let t = String::from_utf8_lossy(&bytes);
        if let Err(e) = config::parse(&t, Path::new("d.toml")) {
            assert!(e.to_string().starts_with("d.toml:"), "{e}");
        }
    }
}
