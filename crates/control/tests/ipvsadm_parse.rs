//! Accepted command lines parse to the commands and defaults ipvsadm 1.31 uses.

mod ipvsadm_common;
use control::ipvsadm::*;
use ipvsadm_common::*;

fn p(cmdline: &str) -> Command {
    parse(&args(cmdline)).unwrap_or_else(|e| panic!("`{cmdline}`: {}", e.message))
}

fn svc_ext(cmdline: &str) -> (ServiceSpec, ServiceExt) {
    match p(cmdline) {
        Command::AddService(s, e) | Command::EditService(s, e) => (s, e),
        c => panic!("{c:?}"),
    }
}

fn svc(cmdline: &str) -> ServiceSpec {
    svc_ext(cmdline).0
}

/// The `-p` timeout and the `-M` granularity as a prefix length.
fn persistence(cmdline: &str) -> Option<(u32, u8)> {
    svc(cmdline).persistence.map(|p| (p.timeout_s, p.prefix))
}

fn dst_tun(cmdline: &str) -> (ServiceKey, DestSpec, TunnelOpts) {
    match p(cmdline) {
        Command::AddServer { service, dest, tunnel } | Command::EditServer { service, dest, tunnel } => {
            (service, dest, tunnel)
        }
        c => panic!("{c:?}"),
    }
}

fn dst(cmdline: &str) -> (ServiceKey, DestSpec) {
    let (k, d, _) = dst_tun(cmdline);
    (k, d)
}

fn list(cmdline: &str) -> ListSpec {
    match p(cmdline) {
        Command::List(l) => l,
        c => panic!("{c:?}"),
    }
}

#[test]
fn ipvsadm_service_defaults() {
    let (s, ext) = svc_ext("-A -t 10.0.0.1:80");
    assert_eq!(s, ServiceSpec::new(tcp("10.0.0.1", 80)));
    assert_eq!(ext, ServiceExt::default());
    assert_eq!(s.scheduler, "wlc");
    assert_eq!(s.persistence, None);
    // -E resets what it is not given, like ipvsadm.
    assert_eq!(
        p("-E -t 10.0.0.1:80"),
        Command::EditService(ServiceSpec::new(tcp("10.0.0.1", 80)), ServiceExt::default())
    );
    assert_eq!(p("--add-service --tcp-service 10.0.0.1:80"), Command::AddService(s, ext));
}

#[test]
fn ipvsadm_persistent_optional_argument() {
    assert_eq!(persistence("-A -t 10.0.0.1:80 -p"), Some((300, 32)));
    assert_eq!(persistence("-A -t 10.0.0.1:80 -p 600"), Some((600, 32)));
    assert_eq!(persistence("-A -t 10.0.0.1:80 -p600"), Some((600, 32)));
    assert_eq!(persistence("-A -t 10.0.0.1:80 -p=600"), Some((600, 32)));
    assert_eq!(persistence("-A -t 10.0.0.1:80 --persistent=600"), Some((600, 32)));
    assert_eq!(persistence("-A -t 10.0.0.1:80 --persistent 600"), Some((600, 32)));
    // The next word starting with '-' is not taken.
    let s = svc("-A -t 10.0.0.1:80 -p -s rr");
    assert_eq!((s.persistence.map(|p| p.timeout_s), s.scheduler.as_str()), (Some(300), "rr"));
    let s = svc("-A -t 10.0.0.1:0 -p 60 -M 255.255.255.0");
    assert_eq!((s.persistence, s.key.port()), (Some(Persistence { timeout_s: 60, prefix: 24 }), 0));
    // -M without -p has nothing to apply to.
    assert_eq!(persistence("-A -t 10.0.0.1:80 -M 255.255.255.0"), None);
}

#[test]
fn ipvsadm_service_selectors() {
    assert_eq!(svc("-A -u 10.0.0.1:53 -s rr -o").key, udp("10.0.0.1", 53));
    assert!(svc("-A -u 10.0.0.1:53 -o").one_packet);
    // SCTP and fwmark keys parse as ipvsadm's (rvs refuses them when it runs them).
    let k = ServiceKey::Proto { proto: Protocol::Sctp, addr: a("10.0.0.1"), port: 9 };
    assert_eq!(svc("-A --sctp-service 10.0.0.1:9").key, k);
    let s = svc("-A -t [2001:db8::1]:443 -p -M 64");
    assert_eq!((s.key, s.persistence), (tcp("2001:db8::1", 443), Some(Persistence { timeout_s: 300, prefix: 64 })));
    // An IPv6 -t after -M resets the granularity to /128, as in ipvsadm.
    assert_eq!(persistence("-A -p -M 255.0.0.0 -t [2001:db8::1]:443"), Some((300, 128)));
    assert_eq!(persistence("-A -f 7 -6 -p"), Some((300, 128)));
    assert_eq!(svc("-A -f 7 -6").key, ServiceKey::Fwmark { mark: 7, v6: true });
    assert_eq!(svc("-A -f 4294967295").key, ServiceKey::Fwmark { mark: u32::MAX, v6: false });
    // inet_aton forms and service names.
    assert_eq!(svc("-A -t 10.1:http").key, tcp("10.0.0.1", 80));
    assert_eq!(svc("-A -t 0x0a000001:443").key, tcp("10.0.0.1", 443));
    // A bare IPv6 address takes no port; the last ':' is part of it.
    assert_eq!(svc("-A -t 2001:db8::1:80 -p").key, tcp("2001:db8::1:80", 0));
}

#[test]
fn ipvsadm_sched_flags() {
    let s = svc("-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port");
    assert_eq!(s.flags, SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2));
    assert_eq!(s.flags.names("sh"), "sh-fallback,sh-port");
    let s = svc("-A -t 10.0.0.1:80 -b flag-3 -s mh");
    assert_eq!(s.flags.names("mh"), "");
    assert_eq!(s.flags.names("wlc"), "flag-3");
    assert_eq!(svc("-A -t 10.0.0.1:80 -s mh -b mh-port").flags.names("mh"), "mh-port");
    assert_eq!(svc_ext("-A -t 10.0.0.1:80 -p --pe sip").1.pe.as_deref(), Some("sip"));
    assert_eq!(svc("-A -t 10.0.0.1:80 -s twos").scheduler, "twos");
    for s in SCHEDULERS {
        assert_eq!(&svc(&format!("-A -t 10.0.0.1:80 -s {s}")).scheduler, s);
    }
}

#[test]
fn ipvsadm_real_servers() {
    let (k, d) = dst("-a -t 10.0.0.1:80 -r 192.168.1.10");
    assert_eq!(k, tcp("10.0.0.1", 80));
    assert_eq!(d, DestSpec::new(a("192.168.1.10"), 80));
    assert_eq!((d.fwd, d.weight), (FwdMethod::Route, 1));
    // DR and TUN use the service port whatever -r says; NAT keeps it.
    assert_eq!(dst("-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -g").1.port, 80);
    assert_eq!(dst("-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -i").1.port, 80);
    let (_, d) = dst("-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 3 -x 100 -y 50");
    assert_eq!((d.port, d.fwd, d.weight, d.u_threshold, d.l_threshold), (8080, FwdMethod::Masq, 3, 100, 50));
    let (_, d) = dst("-a -t 10.0.0.1:80 -r 192.168.1.10:8080 --fullnat");
    assert_eq!((d.port, d.fwd), (8080, FwdMethod::FullNat));
    let (_, _, t) = dst_tun("-a -t 10.0.0.1:80 -r 192.168.1.10 -i --tun-type gue --tun-port 6080 --tun-csum");
    assert_eq!((t.tun_type, t.tun_port, t.tun_csum), (TunnelType::Gue, 6080, TunnelCsum::Csum));
    let (_, d, t) = dst_tun("-a -t 10.0.0.1:80 -r 2001:db8::5 -i --tun-type gre --tun-remcsum");
    assert_eq!((d.addr, t.tun_type, t.tun_csum), (a("2001:db8::5"), TunnelType::Gre, TunnelCsum::RemCsum));
    // -e without -w sends weight 1, as ipvsadm does.
    assert_eq!(dst("-e -t 10.0.0.1:80 -r 192.168.1.10 -m").1.weight, 1);
    assert_eq!(
        p("-d -t 10.0.0.1:80 -r 192.168.1.10:8080"),
        Command::DeleteServer { service: tcp("10.0.0.1", 80), addr: a("192.168.1.10"), port: 8080 }
    );
    let (k, d) = dst("-a -f 5 -r 192.168.1.10 -m");
    assert_eq!((k, d.port), (ServiceKey::Fwmark { mark: 5, v6: false }, 0));
}

#[test]
fn ipvsadm_other_commands() {
    assert_eq!(p("-D -t 10.0.0.1:80"), Command::DeleteService(tcp("10.0.0.1", 80)));
    assert_eq!(p("-C"), Command::Clear);
    assert_eq!(p("--clear"), Command::Clear);
    assert_eq!(p("-Z"), Command::Zero(None));
    assert_eq!(p("-Z -u 10.0.0.1:53"), Command::Zero(Some(udp("10.0.0.1", 53))));
    assert_eq!(p("--set 900 120 300"), Command::SetTimeouts(Timeouts { tcp: 900, tcpfin: 120, udp: 300 }));
    assert_eq!(p("--set 0 0 0"), Command::SetTimeouts(Timeouts::default()));
    assert_eq!(p("-S"), Command::Save { numeric: false });
    assert_eq!(p("-S -n"), Command::Save { numeric: true });
    assert_eq!(p("-Sn"), Command::Save { numeric: true });
    assert_eq!(p("-R"), Command::Restore);
    assert_eq!(p("-h"), Command::Help);
    assert_eq!(p("--help"), Command::Help);
    assert_eq!(p("-v"), Command::Version);
    // --sort is accepted anywhere and does nothing.
    assert_eq!(svc("-A -t 10.0.0.1:80 --sort"), ServiceSpec::new(tcp("10.0.0.1", 80)));
}

#[test]
fn ipvsadm_list_modifiers() {
    assert_eq!(list("-L"), ListSpec::default());
    let l = list("-Ln --stats --exact --nosort");
    assert!(l.format.numeric && l.format.stats && l.format.exact && l.format.nosort);
    assert_eq!(l.target, ListTarget::All);
    let l = list("-L -X --rate --thresholds --persistent-conn --tun-info");
    assert!(l.format.exact && l.format.rate && l.format.thresholds && l.format.persistent_conn && l.format.tun_info);
    assert_eq!(list("-L -c").target, ListTarget::Connections);
    assert!(list("-lc --persistent-conn").format.persistent_conn);
    assert_eq!(list("-L --timeout").target, ListTarget::Timeout);
    assert_eq!(list("-L --daemon").target, ListTarget::Daemon);
    assert_eq!(list("-L -t 10.0.0.1:80").target, ListTarget::Service(tcp("10.0.0.1", 80)));
}

#[test]
fn ipvsadm_sync_daemon() {
    match p("--start-daemon master") {
        Command::StartDaemon(d) => assert_eq!((d.state, d.mcast_ifn.as_str()), (DaemonState::Master, "eth0")),
        c => panic!("{c:?}"),
    }
    match p("--start-daemon backup --mcast-interface eth1 --syncid 5 --mcast-group 239.1.1.1 --mcast-port 9000 --mcast-ttl 2 --sync-maxlen 1400") {
        Command::StartDaemon(d) => {
            assert_eq!(d.state, DaemonState::Backup);
            assert_eq!((d.mcast_ifn.as_str(), d.syncid, d.mcast_port, d.mcast_ttl, d.sync_maxlen), ("eth1", 5, 9000, 2, 1400));
            assert_eq!(d.mcast_group, Some(ip("239.1.1.1")));
        }
        c => panic!("{c:?}"),
    }
    assert!(matches!(p("--stop-daemon backup --syncid 3"), Command::StopDaemon(d) if d.syncid == 3));
}

#[test]
fn ipvsadm_rvs_extensions_parse() {
    let (s, ext) = svc_ext("-A -t 10.0.0.1:80 --synproxy --proxy-protocol v2 --toa");
    assert!(s.synproxy && s.toa);
    assert_eq!(ext, ServiceExt::default(), "one representation: the spec");
    assert_eq!(s.proxy_protocol, Some(ProxyProtocol::V2));
    assert_eq!(svc("-E -t 10.0.0.1:80 --proxy-protocol=v1").proxy_protocol, Some(ProxyProtocol::V1));
    assert!(svc("-E -t 10.0.0.1:80 --synproxy -s rr").synproxy, "an option after is not its argument");
    // DPVS's spelling: -j enable|disable.
    for (line, on) in [
        ("-A -t 10.0.0.1:80 -j enable", true),
        ("-A -t 10.0.0.1:80 --synproxy=enable -s rr", true),
        ("-A -t 10.0.0.1:80 -s rr -j disable", false),
        ("-E -t 10.0.0.1:80 --synproxy disable", false),
        ("-A -t 10.0.0.1:80 -j", true),
    ] {
        assert_eq!(svc(line).synproxy, on, "{line}");
    }
    // -E resets what it is not given: no --toa, no PROXY protocol, no SYN proxy.
    let plain = svc("-E -t 10.0.0.1:80");
    assert_eq!((plain.toa, plain.proxy_protocol, plain.synproxy), (false, None, false));
    assert_eq!(
        p("--add-laddr -t 10.0.0.1:80 -z 10.0.0.100"),
        Command::AddLaddr { service: tcp("10.0.0.1", 80), laddr: ip("10.0.0.100") }
    );
    assert_eq!(
        p("--del-laddr -t 10.0.0.1:80 --laddr 2001:db8::64"),
        Command::DelLaddr { service: tcp("10.0.0.1", 80), laddr: ip("2001:db8::64") }
    );
    assert_eq!(p("--get-laddr -t 10.0.0.1:80"), Command::GetLaddr { service: tcp("10.0.0.1", 80) });
}

#[test]
fn ipvsadm_extensions_are_visible_to_the_daemon() {
    assert_eq!(
        p("-A -t 10.0.0.1:80 -p --pe sip --synproxy --proxy-protocol v1 --toa").features(),
        vec![Feature::PersistenceEngine, Feature::Synproxy, Feature::ProxyProtocol, Feature::Toa]
    );
    assert_eq!(p("-a -t 10.0.0.1:80 -r 10.1.1.1 --fullnat").features(), vec![Feature::FullNat]);
    assert_eq!(p("-a -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-type gre").features(), vec![Feature::TunnelGre]);
    assert_eq!(p("--get-laddr -t 10.0.0.1:80").features(), vec![Feature::LocalAddress]);
    assert_eq!(p("--start-daemon master").features(), vec![Feature::SyncDaemon]);
    assert!(p("-A -t 10.0.0.1:80").features().is_empty());
    assert!(p("-a -t 10.0.0.1:80 -r 10.1.1.1 -m").features().is_empty());
    assert_eq!(Feature::PersistenceEngine.not_supported_message(), "--pe: not supported yet");
    for f in [Feature::FullNat, Feature::Synproxy, Feature::ProxyProtocol, Feature::Toa, Feature::LocalAddress] {
        assert!(Feature::BUILT.contains(&f), "{f:?}");
    }
    for f in [Feature::PersistenceEngine, Feature::TunnelGue, Feature::TunnelGre, Feature::SyncDaemon] {
        assert!(!Feature::BUILT.contains(&f), "{f:?}");
    }
}

#[test]
fn ipvsadm_commands_serialise_for_the_admin_protocol() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Msg {
        cmd: Command,
    }
    for c in [
        "-A -t 10.0.0.1:80 -s sh -b sh-port -p 60 -M 255.255.0.0 --synproxy --proxy-protocol v2",
        "-a -t [2001:db8::1]:80 -r 2001:db8::2 -i --tun-type gue --tun-port 6080",
        "-A -f 9 -6",
        "-L -n --stats -t 10.0.0.1:80",
        "--set 900 120 300",
        "--start-daemon master --mcast-group 239.0.0.1",
        "--add-laddr -t 10.0.0.1:80 -z 10.0.0.100",
        // (TOML has no null, so `Zero(None)` is left to the JSON transport.)
        "-Z -u 10.0.0.1:53",
        "-C",
    ] {
        let m = Msg { cmd: p(c) };
        let text = toml::to_string(&m).unwrap_or_else(|e| panic!("{c}: {e}"));
        let back: Msg = toml::from_str(&text).unwrap_or_else(|e| panic!("{c}: {e}\n{text}"));
        assert_eq!(back, m, "{c}");
    }
}
