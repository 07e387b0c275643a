//! `-R` input: `-S -n` output restores to the same table; leading `ipvsadm`
//! optional; one bad line rejects everything, naming the line.

mod ipvsadm_common;
use control::ipvsadm::*;
use ipvsadm_common::*;

/// Apply restore commands to an empty table (what the daemon would do).
fn rebuild(cmds: &[Command]) -> Vec<ServiceEntry> {
    let mut out: Vec<ServiceEntry> = Vec::new();
    for c in cmds {
        match c {
            Command::AddService(s, ext) => out.push(ServiceEntry { ext: ext.clone(), ..service(s.clone(), vec![]) }),
            Command::AddServer { service: k, dest, tunnel } => {
                let se = out.iter_mut().find(|s| s.spec.key == *k).expect("service first");
                let stats = Stats::default();
                se.dests.push(DestEntry { spec: *dest, tunnel: *tunnel, active: 0, inactive: 0, persist: 0, stats });
            }
            Command::AddLaddr { service: k, laddr } => {
                out.iter_mut().find(|s| s.spec.key == *k).expect("service first").laddrs.push(*laddr);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

type Specs = (ServiceSpec, ServiceExt, Vec<(DestSpec, TunnelOpts)>, Vec<std::net::IpAddr>);

fn specs(l: &[ServiceEntry]) -> Vec<Specs> {
    let mut v: Vec<_> = l
        .iter()
        .map(|s| {
            let mut d: Vec<_> = s.dests.iter().map(|d| (d.spec, d.tunnel)).collect();
            d.sort_by_key(|(d, _)| (d.addr, d.port));
            (s.spec.clone(), s.ext.clone(), d, s.laddrs.clone())
        })
        .collect();
    v.sort_by_key(|s| format!("{:?}", s.0.key));
    v
}

fn rich_table() -> Listing {
    let mut l = example_listing();
    let mut sh = ServiceSpec::new(tcp("192.168.0.1", 443));
    sh.scheduler = "sh".into();
    sh.flags = SchedFlags::SH_FALLBACK;
    sh.persistence = Some(Persistence { timeout_s: 600, prefix: 24 });
    let mut gue = dest("10.1.0.9", 443, FwdMethod::Tunnel, 7, 0, 0);
    gue.tunnel = TunnelOpts { tun_type: TunnelType::Gue, tun_port: 6080, tun_csum: TunnelCsum::RemCsum };
    let mut she = service(sh, vec![gue, dest("10.1.0.8", 443, FwdMethod::Masq, 65535, 1, 1)]);
    she.ext.pe = Some("sip".into());
    l.services.push(she);
    let mut v6 = ServiceSpec::new(ServiceKey::Fwmark { mark: 4_000_000_000, v6: true });
    v6.persistence = Some(Persistence { timeout_s: 30, prefix: 48 });
    v6.scheduler = "mh".into();
    v6.flags = SchedFlags::MH_PORT;
    let mut ipip = dest("2001:db8::9", 0, FwdMethod::Tunnel, 1, 0, 0);
    ipip.tunnel.tun_type = TunnelType::Ipip;
    l.services.push(service(v6, vec![ipip]));
    let mut fnat = ServiceSpec::new(ServiceKey::Proto { proto: Protocol::Sctp, addr: a("2001:db8::80"), port: 9 });
    (fnat.proxy_protocol, fnat.toa, fnat.synproxy) = (Some(ProxyProtocol::V1), true, true);
    let mut fe = service(fnat, vec![dest("2001:db8::81", 90, FwdMethod::FullNat, 2, 0, 0)]);
    fe.laddrs = vec![ip("2001:db8::100"), ip("2001:db8::101")];
    l.services.push(fe);
    l
}

#[test]
fn ipvsadm_save_restore_round_trip() {
    for table in [example_listing(), rich_table()] {
        let saved = format::save(&table);
        let cmds = parse_restore(&saved).unwrap_or_else(|e| panic!("{e}\n{saved}"));
        assert_eq!(specs(&rebuild(&cmds)), specs(&table.services), "{saved}");
        // And saving the rebuilt table gives the same text.
        let again = Listing { services: rebuild(&cmds), ..table.clone() };
        assert_eq!(format::save(&again), saved);
    }
}

#[test]
fn ipvsadm_thresholds_are_not_saved() {
    let mut l = example_listing();
    l.services[0].dests[0].spec.u_threshold = 100;
    let cmds = parse_restore(&format::save(&l)).unwrap();
    match &cmds[1] {
        Command::AddServer { dest, .. } => assert_eq!(dest.u_threshold, 0),
        c => panic!("{c:?}"),
    }
}

#[test]
fn ipvsadm_restore_with_and_without_program_name() {
    let plain = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.10 -m\n";
    let prefixed = "ipvsadm -A -t 10.0.0.1:80 -s rr\nipvsadm -a -t 10.0.0.1:80 -r 192.168.1.10 -m\n";
    let mixed = "# saved by hand\n\n  ipvsadm   -A -t 10.0.0.1:80\t-s rr   # web\r\nrvsadm -a -t 10.0.0.1:80 -r 192.168.1.10 -m\n\n";
    let a = parse_restore(plain).unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(parse_restore(prefixed).unwrap(), a);
    assert_eq!(parse_restore(mixed).unwrap(), a);
    assert_eq!(parse_restore("").unwrap(), vec![]);
    assert_eq!(parse_restore("ipvsadm\n#\n").unwrap(), vec![]);
    assert_eq!(parse_restore("-C\n--set 900 120 300\n-Z\n").unwrap().len(), 3);
}

#[test]
fn ipvsadm_restore_rejects_everything_on_one_bad_line() {
    let text =
        "-A -t 10.0.0.1:80 -s rr\n\n-a -t 10.0.0.1:80 -r 192.168.1.10 -w 70000\n-a -t 10.0.0.1:80 -r 192.168.1.11\n";
    let e = parse_restore(text).unwrap_err();
    assert_eq!((e.line, e.message.as_str(), e.exit_code), (3, "illegal weight specified", 2));
    assert_eq!(e.to_string(), "line 3: illegal weight specified");
    let e = parse_restore("ipvsadm -A -t 10.0.0.1:80 -s nope\n").unwrap_err();
    assert_eq!((e.line, e.message.as_str(), e.exit_code), (1, "Scheduler or persistence engine not found", 255));
    let e = parse_restore("-A -t 10.0.0.1:80\n-R\n").unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (2, "Try `rvsadm -h' or 'rvsadm --help' for more information."));
    let e = parse_restore("-A -t 10.0.0.1:80\n-L -n\n").unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (2, "`-L -n' is not a configuration command"));
    let e = parse_restore("-t 10.0.0.1:80 -A\n").unwrap_err();
    assert_eq!(e.line, 1);
}
