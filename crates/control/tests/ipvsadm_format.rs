//! Listing formats against an independent model of ipvsadm.c's printf calls
//! (`print_title`, `print_service_entry`, `print_largenum`, `print_tunnel_rule`),
//! including ipvsadm's sort order and the K/M/G/T boundaries.

mod ipvsadm_common;
use control::ipvsadm::*;
use ipvsadm_common::*;

const PLAIN: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=65536)\n",
    "Prot LocalAddress:Port Scheduler Flags\n",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
    "TCP  192.168.0.1:443 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0 pe sip\n",
    "  -> 10.1.0.1:443                 Route   1      0          0         \n",
    "  -> 10.1.0.2:443                 Masq    5      1          2         \n",
    "TCP  10.0.0.1:80 wlc\n",
    "  -> 10.1.0.1:80                  Tunnel  2      3          4         \n",
    "UDP  10.0.0.1:53 rr ops\n",
    "TCP  [2001:db8::1]:80 mh (mh-port) persistent 300 mask 64\n",
    "  -> [2001:db8::10]:80            FullNat 1      0          0         \n",
    "FWM  5 wlc\n",
    "  -> 10.1.0.3:0                   Route   1      0          0         \n",
    "FWM  6 IPv6 rr persistent 60\n",
    "  -> [2001:db8::20]:0             Tunnel  1      0          0         \n",
);

const STATS: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=65536)\n",
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
    "  -> RemoteAddress:Port\n",
    "TCP  192.168.0.1:443              99999999  100000K  999999K    1000M   99999M\n",
    "  -> 10.1.0.1:443                        1        2        3        4        5\n",
    "  -> 10.1.0.2:443                     123G        5        0   98765G     100T\n",
    "TCP  10.0.0.1:80                         0        0        0        0        0\n",
    "  -> 10.1.0.1:80                         0        0        0        0        0\n",
    "UDP  10.0.0.1:53                         0        0        0        0        0\n",
    "TCP  [2001:db8::1]:80                    0        0        0        0        0\n",
    "  -> [2001:db8::10]:80                   0        0        0        0        0\n",
    "FWM  5                                   0        0        0        0        0\n",
    "  -> 10.1.0.3:0                          0        0        0        0        0\n",
    "FWM  6 IPv6                              0        0        0        0        0\n",
    "  -> [2001:db8::20]:0                    0        0        0        0        0\n",
);

const STATS_EXACT: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=65536)\n",
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
    "  -> RemoteAddress:Port\n",
    "TCP  192.168.0.1:443              99999999 100000000 999999999 1000000000 99999999999\n",
    "  -> 10.1.0.1:443                        1        2        3        4        5\n",
    "  -> 10.1.0.2:443                 123456789012        5        0 98765432109876 100000000000000\n",
    "TCP  10.0.0.1:80                         0        0        0        0        0\n",
    "  -> 10.1.0.1:80                         0        0        0        0        0\n",
    "UDP  10.0.0.1:53                         0        0        0        0        0\n",
    "TCP  [2001:db8::1]:80                    0        0        0        0        0\n",
    "  -> [2001:db8::10]:80                   0        0        0        0        0\n",
    "FWM  5                                   0        0        0        0        0\n",
    "  -> 10.1.0.3:0                          0        0        0        0        0\n",
    "FWM  6 IPv6                              0        0        0        0        0\n",
    "  -> [2001:db8::20]:0                    0        0        0        0        0\n",
);

const RATE: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=65536)\n",
    "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n",
    "  -> RemoteAddress:Port\n",
    "TCP  192.168.0.1:443                   123     100G   99999G     100T        5\n",
    "  -> 10.1.0.1:443                        6        7        8        9       10\n",
    "  -> 10.1.0.2:443                 150000000        1        2  250000K        3\n",
    "TCP  10.0.0.1:80                         0        0        0        0        0\n",
    "  -> 10.1.0.1:80                         0        0        0        0        0\n",
    "UDP  10.0.0.1:53                         0        0        0        0        0\n",
    "TCP  [2001:db8::1]:80                    0        0        0        0        0\n",
    "  -> [2001:db8::10]:80                   0        0        0        0        0\n",
    "FWM  5                                   0        0        0        0        0\n",
    "  -> 10.1.0.3:0                          0        0        0        0        0\n",
    "FWM  6 IPv6                              0        0        0        0        0\n",
    "  -> [2001:db8::20]:0                    0        0        0        0        0\n",
);

const THRESHOLDS: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=65536)\n",
    "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n",
    "  -> RemoteAddress:Port\n",
    "TCP  192.168.0.1:443 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0 pe sip\n",
    "  -> 10.1.0.1:443                 0          0          0          0         \n",
    "  -> 10.1.0.2:443                 100        10         1          2         \n",
    "TCP  10.0.0.1:80 wlc\n",
    "  -> 10.1.0.1:80                  0          0          3          4         \n",
    "UDP  10.0.0.1:53 rr ops\n",
    "TCP  [2001:db8::1]:80 mh (mh-port) persistent 300 mask 64\n",
    "  -> [2001:db8::10]:80            0          0          0          0         \n",
    "FWM  5 wlc\n",
    "  -> 10.1.0.3:0                   0          0          0          0         \n",
    "FWM  6 IPv6 rr persistent 60\n",
    "  -> [2001:db8::20]:0             0          0          0          0         \n",
);

const PCONN: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=65536)\n",
    "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n",
    "  -> RemoteAddress:Port\n",
    "TCP  192.168.0.1:443 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0 pe sip\n",
    "  -> 10.1.0.1:443                 1         0           0          0         \n",
    "  -> 10.1.0.2:443                 5         7           1          2         \n",
    "TCP  10.0.0.1:80 wlc\n",
    "  -> 10.1.0.1:80                  2         0           3          4         \n",
    "UDP  10.0.0.1:53 rr ops\n",
    "TCP  [2001:db8::1]:80 mh (mh-port) persistent 300 mask 64\n",
    "  -> [2001:db8::10]:80            1         0           0          0         \n",
    "FWM  5 wlc\n",
    "  -> 10.1.0.3:0                   1         0           0          0         \n",
    "FWM  6 IPv6 rr persistent 60\n",
    "  -> [2001:db8::20]:0             1         0           0          0         \n",
);

const TUNINFO: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=65536)\n",
    "Prot LocalAddress:Port Scheduler Flags\n",
    "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n",
    "TCP  192.168.0.1:443 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0 pe sip\n",
    "  -> 10.1.0.1:443                 Route   n/a           1      0          0         \n",
    "  -> 10.1.0.2:443                 Masq    n/a           5      1          2         \n",
    "TCP  10.0.0.1:80 wlc\n",
    "  -> 10.1.0.1:80                  Tunnel  gue:6080:+c   2      3          4         \n",
    "UDP  10.0.0.1:53 rr ops\n",
    "TCP  [2001:db8::1]:80 mh (mh-port) persistent 300 mask 64\n",
    "  -> [2001:db8::10]:80            FullNat n/a           1      0          0         \n",
    "FWM  5 wlc\n",
    "  -> 10.1.0.3:0                   Route   n/a           1      0          0         \n",
    "FWM  6 IPv6 rr persistent 60\n",
    "  -> [2001:db8::20]:0             Tunnel  gre:r+c       1      0          0         \n",
);

const SAVE: &str = concat!(
    "-A -t 192.168.0.1:443 -s sh -p 600 -M 255.255.255.0 --pe sip -b sh-fallback,sh-port\n",
    "-a -t 192.168.0.1:443 -r 10.1.0.1:443 -g -w 1\n",
    "-a -t 192.168.0.1:443 -r 10.1.0.2:443 -m -w 5\n",
    "-A -t 10.0.0.1:80 -s wlc\n",
    "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum\n",
    "-A -u 10.0.0.1:53 -s rr -o\n",
    "-A -t [2001:db8::1]:80 -s mh -p 300 -M 64 -b mh-port\n",
    "-a -t [2001:db8::1]:80 -r [2001:db8::10]:80 --fullnat -w 1\n",
    "-A -f 5 -s wlc\n",
    "-a -f 5 -r 10.1.0.3:0 -g -w 1\n",
    "-A -f 6 -6 -s rr -p 60\n",
    "-a -f 6 -6 -r [2001:db8::20]:0 -i -w 1 --tun-type gre --tun-remcsum\n",
);
fn st(v: [u64; 10]) -> Stats {
    Stats {
        conns: v[0],
        inpkts: v[1],
        outpkts: v[2],
        inbytes: v[3],
        outbytes: v[4],
        cps: v[5],
        inpps: v[6],
        outpps: v[7],
        inbps: v[8],
        outbps: v[9],
    }
}

/// The model's table, deliberately out of ipvsadm's order.
fn table() -> Listing {
    // Fwmark rows are fed to the formatter directly: rvs refuses such services, but
    // the formatter still prints them as ipvsadm does.
    let fw = |mark, v6| ServiceKey::Fwmark { mark, v6 };
    let mut fw6 = ServiceSpec::new(fw(6, true));
    fw6.scheduler = "rr".into();
    fw6.persistence = persist(&fw6.key, 60);
    let mut gre = dest("2001:db8::20", 0, FwdMethod::Tunnel, 1, 0, 0);
    gre.tunnel.tun_type = TunnelType::Gre;
    gre.tunnel.tun_csum = TunnelCsum::RemCsum;

    let mut v6 = ServiceSpec::new(tcp("2001:db8::1", 80));
    v6.scheduler = "mh".into();
    v6.flags = SchedFlags::MH_PORT;
    v6.persistence = Some(Persistence { timeout_s: 300, prefix: 64 });

    let mut dns = ServiceSpec::new(udp("10.0.0.1", 53));
    dns.scheduler = "rr".into();
    dns.one_packet = true;

    let mut gue = dest("10.1.0.1", 80, FwdMethod::Tunnel, 2, 3, 4);
    gue.tunnel = TunnelOpts { tun_type: TunnelType::Gue, tun_port: 6080, tun_csum: TunnelCsum::Csum };

    let mut sh = ServiceSpec::new(tcp("192.168.0.1", 443));
    sh.scheduler = "sh".into();
    sh.flags = SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2);
    sh.persistence = Some(Persistence { timeout_s: 600, prefix: 24 });
    let mut masq = dest("10.1.0.2", 443, FwdMethod::Masq, 5, 1, 2);
    masq.spec.u_threshold = 100;
    masq.spec.l_threshold = 10;
    masq.persist = 7;
    masq.stats =
        st([123_456_789_012, 5, 0, 98_765_432_109_876, 100_000_000_000_000, 150_000_000, 1, 2, 250_000_000, 3]);
    let mut route = dest("10.1.0.1", 443, FwdMethod::Route, 1, 0, 0);
    route.stats = st([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let mut sh_entry = service(sh, vec![masq, route]);
    sh_entry.ext.pe = Some("sip".into());
    sh_entry.stats = st([
        99_999_999,
        100_000_000,
        999_999_999,
        1_000_000_000,
        99_999_999_999,
        123,
        100_000_000_000,
        99_999_999_999_999,
        100_000_000_000_000,
        5,
    ]);

    Listing {
        version: "1.2.1".into(),
        table_size: 65536,
        services: vec![
            service(fw6, vec![gre]),
            service(v6, vec![dest("2001:db8::10", 80, FwdMethod::FullNat, 1, 0, 0)]),
            service(ServiceSpec::new(fw(5, false)), vec![dest("10.1.0.3", 0, FwdMethod::Route, 1, 0, 0)]),
            service(dns, vec![]),
            service(ServiceSpec::new(tcp("10.0.0.1", 80)), vec![gue]),
            sh_entry,
        ],
    }
}

fn list(cmdline: &str) -> String {
    run(cmdline, &table(), &[], &Timeouts::default()).unwrap()
}

#[test]
fn ipvsadm_format_plain_sorted() {
    assert_eq!(list("-L -n"), PLAIN);
    assert_eq!(list("-L --sort"), PLAIN);
}

#[test]
fn ipvsadm_format_stats_rate_exact() {
    assert_eq!(list("-L -n --stats"), STATS);
    assert_eq!(list("-L -n --stats --rate"), STATS);
    assert_eq!(list("-L -n --stats --exact"), STATS_EXACT);
    assert_eq!(list("-L -n --rate"), RATE);
}

#[test]
fn ipvsadm_format_thresholds_pconn_tuninfo() {
    assert_eq!(list("-L -n --thresholds"), THRESHOLDS);
    assert_eq!(list("-L -n --persistent-conn"), PCONN);
    assert_eq!(list("-L -n --tun-info"), TUNINFO);
}

#[test]
fn ipvsadm_format_save() {
    assert_eq!(list("-S -n"), SAVE);
}

#[test]
fn ipvsadm_largenum_boundaries() {
    let cases: [(u64, &str); 12] = [
        (0, "        0"),
        (99_999_999, " 99999999"),
        (100_000_000, "  100000K"),
        (999_999_999, "  999999K"),
        (1_000_000_000, "    1000M"),
        (99_999_999_999, "   99999M"),
        (100_000_000_000, "     100G"),
        (99_999_999_999_999, "   99999G"),
        (100_000_000_000_000, "     100T"),
        (u64::MAX, "18446744T"),
        (1_000_000_000_000_000_000, " 1000000T"),
        (12_345_678_901, "   12345M"),
    ];
    for (n, s) in cases {
        assert_eq!(format::print_largenum(n, false), s, "{n}");
    }
    assert_eq!(format::print_largenum(12, true), "       12");
    assert_eq!(format::print_largenum(12_345_678, true), " 12345678");
    assert_eq!(format::print_largenum(123_456_789, true), " 123456789");
    assert_eq!(format::print_largenum(u64::MAX, true), " 18446744073709551615");
}

#[test]
fn ipvsadm_format_nosort_keeps_table_order() {
    let out = list("-L -n --nosort");
    let first: Vec<&str> = out.lines().filter(|l| !l.starts_with(' ')).skip(2).collect();
    assert_eq!(first[0], "FWM  6 IPv6 rr persistent 60");
    assert_eq!(first[5], "TCP  192.168.0.1:443 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0 pe sip");
    assert!(out.contains("  -> 10.1.0.2:443                 Masq    5      1          2         \n  -> 10.1.0.1:443"));
}

#[test]
fn ipvsadm_sort_uses_libipvs_int_subtraction() {
    // 0x0a000001 - 0xc0a80001 overflows an int to a positive value, so
    // ipvsadm lists 192.168.0.1 before 10.0.0.1; glibc's merge sort over that
    // non-transitive order gives exactly this (traced by hand).
    let mut l = Listing::default();
    for a in ["10.0.0.2", "192.168.0.1", "10.0.0.1", "172.16.0.1"] {
        l.services.push(service(ServiceSpec::new(tcp(a, 80)), vec![]));
    }
    let out = format::save(&l);
    let order: Vec<&str> = out.lines().collect();
    assert_eq!(
        order,
        [
            "-A -t 172.16.0.1:80 -s wlc",
            "-A -t 192.168.0.1:80 -s wlc",
            "-A -t 10.0.0.1:80 -s wlc",
            "-A -t 10.0.0.2:80 -s wlc"
        ]
    );
}

#[test]
fn ipvsadm_format_connections_ipv6_and_pe() {
    let mut c = example_conns();
    c[0].pe = Some(PeData { name: "sip".into(), data: "abc".into() });
    c.push(ConnEntry {
        proto: Protocol::Sctp,
        expire_secs: 6000,
        state: "ESTABLISHED".into(),
        client: sock("[2001:db8::5]:4000"),
        virt: sock("[2001:db8::1]:80"),
        dest: sock("10.1.0.1:80"),
        pe: None,
        local: None,
    });
    let plain = format::list_conn(&c, false);
    assert!(plain.ends_with("SCTP 100:00 ESTABLISHED [2001:db8::5]:4000 [2001:db8::1]:80   10.1.0.1:80\n"), "{plain}");
    let pc = format::list_conn(&c, true);
    let mut lines = pc.lines();
    assert_eq!(lines.next(), Some("IPVS connection entries"));
    assert_eq!(
        lines.next(),
        Some(
            "pro expire state       source             virtual            destination        pe name          pe_data"
        )
    );
    assert_eq!(
        lines.next(),
        Some("TCP 14:58  ESTABLISHED 203.0.113.5:51000  10.0.0.1:80        192.168.1.10:80  sip                abc")
    );
    assert_eq!(lines.next(), Some("UDP 04:59  UDP         198.51.100.7:3311  10.0.0.1:53        192.168.1.20:53"));
}

/// rvs extension: a `local` column between `virtual` and `destination` once a FullNAT
/// connection is listed (DPVS's `-lnc` has one there); other rows show `-`.
#[test]
fn connections_listing_has_a_local_column_only_with_fullnat_rows() {
    let mut c = example_conns();
    c.push(ConnEntry {
        proto: Protocol::Tcp,
        expire_secs: 90,
        state: "SYN_RECV".into(),
        client: sock("203.0.113.9:40000"),
        virt: sock("10.0.0.1:443"),
        dest: sock("192.168.1.30:443"),
        pe: None,
        local: Some(sock("10.0.3.200:1030")),
    });
    assert_eq!(
        format::list_conn(&c, false),
        "IPVS connection entries
pro expire state       source             virtual            local              destination
TCP 14:58  ESTABLISHED 203.0.113.5:51000  10.0.0.1:80        -                  192.168.1.10:80
UDP 04:59  UDP         198.51.100.7:3311  10.0.0.1:53        -                  192.168.1.20:53
TCP 01:30  SYN_RECV    203.0.113.9:40000  10.0.0.1:443       10.0.3.200:1030    192.168.1.30:443
"
    );
    let pc = format::list_conn(&c, true);
    assert!(pc.contains("\npro expire state       source             virtual            local              destination        pe name          pe_data\n"), "{pc}");
    // Without a FullNAT row, ipvsadm's exact columns.
    assert_eq!(format::list_conn(&c[..2], false), format::list_conn(&example_conns(), false));
    assert!(!format::list_conn(&c[..2], true).contains("local"));
}

#[test]
fn ipvsadm_format_daemon_and_laddrs() {
    let d = DaemonSpec {
        state: DaemonState::Master,
        mcast_ifn: "eth0".into(),
        syncid: 5,
        sync_maxlen: 1472,
        mcast_group: Some(ip("224.0.0.81")),
        mcast_port: 8848,
        mcast_ttl: 1,
    };
    let bare = DaemonSpec {
        state: DaemonState::Backup,
        sync_maxlen: 0,
        mcast_group: None,
        mcast_port: 0,
        mcast_ttl: 0,
        ..d.clone()
    };
    assert_eq!(
        format::list_daemon(&[d, bare]),
        "master sync daemon (mcast=eth0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\nbackup sync daemon (mcast=eth0, syncid=5)\n"
    );
    let mut l = example_listing();
    l.services[0].laddrs = vec![ip("10.0.0.101"), ip("10.0.0.100")];
    assert_eq!(
        format::list_laddrs(&l, &tcp("10.0.0.1", 80)).unwrap(),
        "Prot LocalAddress:Port\n  -> LocalAddress\nTCP  10.0.0.1:80\n  -> 10.0.0.100\n  -> 10.0.0.101\n"
    );
    assert_eq!(format::list_laddrs(&l, &tcp("10.0.0.9", 80)).unwrap_err().exit_code, 1);
    let save = format::save(&l);
    assert!(save.contains("--add-laddr -t 10.0.0.1:80 -z 10.0.0.101\n--add-laddr -t 10.0.0.1:80 -z 10.0.0.100\n"));
}

#[test]
fn ipvsadm_format_extension_flags_and_ipv6_text() {
    let mut spec = ServiceSpec::new(tcp("10.0.0.1", 80));
    (spec.proxy_protocol, spec.toa, spec.synproxy) = (Some(ProxyProtocol::V2), true, true);
    let l = Listing { services: vec![service(spec, vec![])], ..Listing::default() };
    assert!(
        format::list_all(&l, &ListFormat::default()).contains("TCP  10.0.0.1:80 wlc synproxy proxy-protocol v2 toa\n")
    );
    assert_eq!(format::save(&l), "-A -t 10.0.0.1:80 -s wlc --synproxy --proxy-protocol v2 --toa\n");
    // glibc inet_ntop forms.
    for (a, s) in [
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("::1.2.3.4", "::1.2.3.4"),
        ("::1", "::1"),
        ("::", "::"),
        ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
        ("2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1"),
        ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),
    ] {
        assert_eq!(ntop(&ip(a)), s, "{a}");
    }
}

#[test]
fn ipvsadm_list_prints_fwmark_signed_like_ipvsadm() {
    let key = ServiceKey::Fwmark { mark: 4_000_000_000, v6: false };
    let l = Listing { services: vec![service(ServiceSpec::new(key), vec![])], ..Listing::default() };
    assert!(format::list_all(&l, &ListFormat::default()).ends_with("FWM  -294967296 wlc\n"));
    assert_eq!(format::save(&l), "-A -f 4000000000 -s wlc\n");
}
