//! The admin API end to end without DPDK: rvsadm command lines executed against a live
//! configuration, outputs compared with ipvsadm's byte for byte, changes all-or-nothing.

use std::sync::Arc;

use control::admin::{Admin, Request, Response};
use control::live::Live;
use rvs_core::service::Config;
use rvs_core::stats::CoreStats;

struct Director {
    admin: Admin,
    live: Arc<Live>,
    core: Arc<CoreStats>,
}

fn director() -> Director {
    let live = Arc::new(Live::new(Config::new(64), vec![]));
    let core = Arc::new(CoreStats::with_dests(1, 1, 64));
    Director { admin: Admin::new(live.clone(), vec![core.clone()], 4096), live, core }
}

impl Director {
    fn run(&self, line: &str) -> Response {
        self.admin.execute(&Request { args: line.split_whitespace().map(String::from).collect(), stdin: None })
    }
    fn ok(&self, line: &str) -> String {
        let r = self.run(line);
        assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{line}");
        r.stdout
    }
    fn restore(&self, text: &str) -> Response {
        self.admin.execute(&Request { args: vec!["-R".into()], stdin: Some(text.into()) })
    }
}

const SEED_004: &str = "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.122.53:80 rr
  -> 192.168.122.50:80            Masq    1      0          0         
  -> 192.168.122.51:80            Masq    1      0          0         
";

#[test]
fn seed_004_commands_list_as_ipvsadm_does() {
    let d = director();
    d.ok("-A -t 192.168.122.53:80 -s rr");
    d.ok("-a -t 192.168.122.53:80 -r 192.168.122.50 -m");
    d.ok("-a -t 192.168.122.53:80 -r 192.168.122.51 -m");
    assert_eq!(d.ok("-L -n"), SEED_004);
    assert_eq!(d.ok("-L"), SEED_004, "rvsadm prints numerically always");
    assert_eq!(d.ok(""), SEED_004, "no arguments means -L");
    assert_eq!(d.live.snapshot().services().len(), 1, "published to the workers");
}

#[test]
fn save_clear_restore_round_trips() {
    let d = director();
    d.ok("-A -t 10.0.0.1:80 -s wlc -p 300");
    d.ok("-a -t 10.0.0.1:80 -r 192.168.1.10:80 -g -w 1");
    d.ok("-a -t 10.0.0.1:80 -r 192.168.1.11:80 -g -w 0");
    d.ok("-A -u 10.0.0.1:53 -s rr -o");
    d.ok("-a -u 10.0.0.1:53 -r 192.168.1.20:53 -m -w 1");
    let saved = d.ok("-S -n");
    assert_eq!(
        saved,
        "-A -t 10.0.0.1:80 -s wlc -p 300\n-a -t 10.0.0.1:80 -r 192.168.1.10:80 -g -w 1\n-a -t 10.0.0.1:80 -r 192.168.1.11:80 -g -w 0\n-A -u 10.0.0.1:53 -s rr -o\n-a -u 10.0.0.1:53 -r 192.168.1.20:53 -m -w 1\n"
    );
    let listed = d.ok("-L -n");
    d.ok("-C");
    assert_eq!(d.ok("-S -n"), "");
    let with_prefix: String = saved.lines().map(|l| format!("ipvsadm {l}\n")).collect();
    assert_eq!(d.restore(&with_prefix).code, 0);
    assert_eq!(d.ok("-S -n"), saved);
    assert_eq!(d.ok("-L -n"), listed);
}

#[test]
fn a_bad_restore_line_rejects_the_whole_file() {
    let d = director();
    d.ok("-A -t 10.0.0.1:80 -s rr");
    let before = d.ok("-S -n");
    let r =
        d.restore("-A -t 10.0.0.2:80 -s rr\n-a -t 10.0.0.2:80 -r 192.168.1.10:80 -m\n-A -t 10.0.0.3:80 -s nosuch\n");
    assert_ne!(r.code, 0);
    assert!(r.stderr.starts_with("line 3: "), "{}", r.stderr);
    assert_eq!(d.ok("-S -n"), before, "nothing applied");
    // A line that parses but cannot be applied (duplicate service) is named as well.
    let r = d.restore("-A -t 10.0.0.2:80 -s rr\n-A -t 10.0.0.1:80 -s rr\n");
    assert_eq!(r.stderr, "line 2: Service already exists\n");
    assert_eq!(d.ok("-S -n"), before);
}

#[test]
fn bad_input_gets_ipvsadms_message_and_changes_nothing() {
    let d = director();
    d.ok("-A -t 10.0.0.1:80 -s rr");
    let before = d.ok("-S -n");
    for (line, want, code) in [
        ("-A -t 10.0.0.9:80 -s bogus", "Scheduler or persistence engine not found\n", 255),
        ("-A -t 10.0.0.300:80 -s rr", "", 2),
        ("-A -t 10.0.0.9:0 -s rr", "Zero port specified for non-persistent service\n", 2),
        ("-E -t 10.0.0.9:80 -s rr", "No such service\n", 255),
        ("-a -t 10.0.0.9:80 -r 192.168.1.10:80 -m", "Service not defined\n", 255),
        ("-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m -w 65536", "", 2),
        ("-A -t 10.0.0.1:80 -s rr", "Service already exists\n", 255),
        ("-d -t 10.0.0.1:80 -r 192.168.1.99:80", "No such destination\n", 255),
    ] {
        let r = d.run(line);
        assert_ne!(r.code, 0, "{line} must fail");
        assert_eq!(r.code, code, "{line}: {}", r.stderr);
        if !want.is_empty() {
            assert_eq!(r.stderr, want, "{line}");
        } else {
            assert!(!r.stderr.is_empty(), "{line}: a message");
        }
        assert_eq!(d.ok("-S -n"), before, "{line} changed the configuration");
    }
}

#[test]
fn extensions_not_built_yet_say_so_and_change_nothing() {
    let d = director();
    d.ok("-A -t 10.0.0.1:80 -s rr");
    for (line, want) in [
        ("-E -t 10.0.0.1:80 -s rr -p --pe sip", "--pe: not supported yet\n"),
        ("-a -t 10.0.0.1:80 -r 192.168.1.10:80 -i --tun-type gre", "--tun-type gre: not supported yet\n"),
        ("--start-daemon master", "--start-daemon/--stop-daemon: not supported yet\n"),
    ] {
        let r = d.run(line);
        assert_eq!((r.code, r.stderr.as_str()), (2, want), "{line}");
    }
    assert_eq!(d.ok("-S -n"), "-A -t 10.0.0.1:80 -s rr\n");
}

const FNAT_SAVE: &str = "-A -t 10.0.0.1:80 -s rr --proxy-protocol v2
-a -t 10.0.0.1:80 -r 192.168.1.10:8080 --fullnat -w 1
--add-laddr -t 10.0.0.1:80 -z 10.0.3.201
--add-laddr -t 10.0.0.1:80 -z 10.0.3.200
-A -t [2001:db8::1]:443 -s wlc --toa
-a -t [2001:db8::1]:443 -r [2001:db8:3::10]:443 --fullnat -w 3
--add-laddr -t [2001:db8::1]:443 -z 2001:db8:3::200
";

#[test]
fn fullnat_services_local_addresses_toa_and_proxy_protocol() {
    let d = director();
    d.ok("-A -t 10.0.0.1:80 -s rr --proxy-protocol v2");
    d.ok("-a -t 10.0.0.1:80 -r 192.168.1.10:8080 --fullnat");
    d.ok("--add-laddr -t 10.0.0.1:80 -z 10.0.3.201");
    d.ok("--add-laddr -t 10.0.0.1:80 -z 10.0.3.200");
    d.ok("-A -t [2001:db8::1]:443 --toa");
    d.ok("-a -t [2001:db8::1]:443 -r [2001:db8:3::10]:443 --fullnat -w 3");
    d.ok("--add-laddr -t [2001:db8::1]:443 -z 2001:db8:3::200");
    let snap = d.live.snapshot();
    let s = &snap.services()[0];
    assert_eq!(s.laddrs.len(), 2, "published to the workers");
    assert_eq!(s.proxy_protocol, Some(rvs_core::service::ProxyProtocol::V2));
    assert!(snap.services()[1].toa);
    let listed = d.ok("-L -n");
    assert_eq!(
        listed,
        "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 rr proxy-protocol v2
  -> 192.168.1.10:8080            FullNat 1      0          0         
TCP  [2001:db8::1]:443 wlc toa
  -> [2001:db8:3::10]:443         FullNat 3      0          0         
"
    );
    assert_eq!(
        d.ok("--get-laddr -t 10.0.0.1:80"),
        "Prot LocalAddress:Port\n  -> LocalAddress\nTCP  10.0.0.1:80\n  -> 10.0.3.200\n  -> 10.0.3.201\n"
    );
    assert_eq!(d.ok("-S -n"), FNAT_SAVE);

    // Refusals, in the words of DPVS's libipvs, changing nothing.
    for (line, want) in [
        ("--add-laddr -t 10.0.0.1:80 -z 10.0.3.200", "Local address already exists\n"),
        ("--del-laddr -t 10.0.0.1:80 -z 10.0.3.9", "No such local address\n"),
        ("--add-laddr -t 10.0.0.9:80 -z 10.0.3.200", "Service not defined\n"),
        ("--add-laddr -t 10.0.0.1:80 -z 2001:db8:3::200", "address family mismatch\n"),
        (
            "-A -u 10.0.0.1:53 --toa",
            "--toa and --proxy-protocol v1 are for TCP services (a UDP service takes --proxy-protocol v2)\n",
        ),
    ] {
        let r = d.run(line);
        assert_eq!((r.code, r.stderr.as_str()), (255, want), "{line}");
    }
    assert_eq!(d.run("--get-laddr -t 10.0.0.9:80").code, 1);
    assert_eq!(d.ok("-S -n"), FNAT_SAVE);

    // -E without --proxy-protocol turns it off, as ipvsadm -E resets what it is not given.
    d.ok("-E -t 10.0.0.1:80 -s rr");
    assert_eq!(d.live.snapshot().services()[0].proxy_protocol, None);
    d.ok("--del-laddr -t 10.0.0.1:80 -z 10.0.3.201");
    assert_eq!(d.live.snapshot().services()[0].laddrs.len(), 1);

    // Save, clear, restore: the same table.
    d.ok("-C");
    assert_eq!(d.restore(FNAT_SAVE), Response::default());
    assert_eq!(d.ok("-S -n"), FNAT_SAVE);
    assert_eq!(d.ok("-L -n"), listed);
    // A bad --add-laddr line rejects the whole restore.
    d.ok("-C");
    let r = d.restore(
        "-A -t 10.0.0.1:80 -s rr\n--add-laddr -t 10.0.0.1:80 -z 10.0.3.200\n--add-laddr -t 10.0.0.1:80 -z 10.0.3.200\n",
    );
    assert_eq!((r.code, r.stderr.as_str()), (255, "line 3: Local address already exists\n"));
    assert_eq!(d.ok("-S -n"), "");
}

const SYNPROXY_SAVE: &str = "-A -t 10.0.0.1:80 -s rr --synproxy
-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m -w 1
-A -t [2001:db8::1]:443 -s wlc --synproxy --toa
-a -t [2001:db8::1]:443 -r [2001:db8:3::10]:443 --fullnat -w 1
--add-laddr -t [2001:db8::1]:443 -z 2001:db8:3::200
";

const NEEDS_REPLIES: &str = "--synproxy needs masq or fullnat real servers: with route or tunnel the replies bypass the director, which must translate their sequence numbers\n";

#[test]
fn synproxy_services_run_list_save_and_restore() {
    let d = director();
    d.ok("-A -t 10.0.0.1:80 -s rr --synproxy");
    d.ok("-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m");
    d.ok("-A -t [2001:db8::1]:443 --synproxy --toa");
    d.ok("-a -t [2001:db8::1]:443 -r [2001:db8:3::10]:443 --fullnat");
    d.ok("--add-laddr -t [2001:db8::1]:443 -z 2001:db8:3::200");
    let snap = d.live.snapshot();
    assert!(snap.services().iter().all(|s| s.synproxy), "published to the workers");
    let listed = d.ok("-L -n");
    assert_eq!(
        listed,
        "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 rr synproxy
  -> 192.168.1.10:80              Masq    1      0          0         
TCP  [2001:db8::1]:443 wlc synproxy toa
  -> [2001:db8:3::10]:443         FullNat 1      0          0         
"
    );
    assert_eq!(d.ok("-S -n"), SYNPROXY_SAVE);

    // The core's refusals, changing nothing: UDP; route/tunnel servers at -a, -e and -E.
    d.ok("-A -t 10.0.0.2:80 -s rr");
    d.ok("-a -t 10.0.0.2:80 -r 192.168.1.20:80 -g");
    for (line, want) in [
        ("-A -u 10.0.0.1:53 --synproxy", "--synproxy is for TCP services\n"),
        ("-a -t 10.0.0.1:80 -r 192.168.1.11:80 -g", NEEDS_REPLIES),
        ("-a -t 10.0.0.1:80 -r 192.168.1.11:80 -i", NEEDS_REPLIES),
        ("-e -t 10.0.0.1:80 -r 192.168.1.10:80 -g", NEEDS_REPLIES),
        ("-E -t 10.0.0.2:80 -s rr --synproxy", NEEDS_REPLIES),
    ] {
        let r = d.run(line);
        assert_eq!((r.code, r.stderr.as_str()), (255, want), "{line}");
    }
    assert!(!d.live.snapshot().services()[2].synproxy);
    d.ok("-D -t 10.0.0.2:80");
    assert_eq!(d.ok("-S -n"), SYNPROXY_SAVE);

    // -E without --synproxy turns it off, as ipvsadm -E resets what it is not given.
    d.ok("-E -t 10.0.0.1:80 -s rr");
    assert!(!d.live.snapshot().services()[0].synproxy);
    d.ok("-a -t 10.0.0.1:80 -r 192.168.1.11:80 -g");

    // Save, clear, restore: the same table; a refused line rejects the whole restore.
    d.ok("-C");
    assert_eq!(d.restore(SYNPROXY_SAVE), Response::default());
    assert_eq!(d.ok("-L -n"), listed);
    d.ok("-C");
    let r = d.restore("-A -t 10.0.0.1:80 -s rr --synproxy\n-a -t 10.0.0.1:80 -r 192.168.1.10:80 -g\n");
    assert_eq!((r.code, r.stderr.clone()), (255, format!("line 2: {NEEDS_REPLIES}")));
    assert_eq!(d.ok("-S -n"), "");
}

const NO_SCTP: &str = "SCTP services are not supported: rvs has no SCTP forwarding";
const NO_FWMARK: &str = "firewall-mark services are not supported: rvs has no firewall-mark classifier";

/// ipvsadm would configure these; rvs would accept them and never match a packet.
#[test]
fn sctp_and_fwmark_services_are_refused_and_change_nothing() {
    let d = director();
    d.ok("-A -t 10.0.0.1:80 -s rr");
    let before = d.ok("-S -n");
    for (line, want) in [
        ("-A --sctp-service 10.0.0.1:9 -s rr", NO_SCTP),
        ("-E --sctp-service 10.0.0.1:9", NO_SCTP),
        ("-a --sctp-service 10.0.0.1:9 -r 192.168.1.10 -m", NO_SCTP),
        ("-A -f 1", NO_FWMARK),
        ("-A -f 7 -6 -s rr -p", NO_FWMARK),
        ("-a -f 1 -r 192.168.1.10:80 -m", NO_FWMARK),
        ("-D -f 1", NO_FWMARK),
        ("-L -n -f 1", NO_FWMARK),
    ] {
        let r = d.run(line);
        assert_eq!((r.code, r.stderr.as_str(), r.stdout.as_str()), (2, format!("{want}\n").as_str(), ""), "{line}");
        assert_eq!(d.ok("-S -n"), before, "{line} changed the configuration");
    }
    // -R refuses the whole input, naming the line.
    let r = d.restore("-A -t 10.0.0.2:80 -s rr\n-A --sctp-service 10.0.0.2:9 -s rr\n");
    assert_eq!((r.code, r.stderr), (2, format!("line 2: {NO_SCTP}\n")));
    let r = d.restore("-A -t 10.0.0.2:80 -s rr\n\n-A -f 3 -s rr\n-a -f 3 -r 192.168.1.10:80 -m\n");
    assert_eq!((r.code, r.stderr), (2, format!("line 3: {NO_FWMARK}\n")));
    assert_eq!(d.ok("-S -n"), before, "nothing restored");
}

#[test]
fn stats_come_from_the_workers_and_zero_resets_the_listing_only() {
    let d = director();
    d.ok("-A -t 10.0.0.1:80 -s rr");
    d.ok("-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m");
    let id = d.live.snapshot().services()[0].dests[0].id;
    let c = d.core.dest(id.0).unwrap();
    c.conns.add(113_786);
    c.inpkts.add(19_495_479);
    c.inbytes.add(2_110_000_000);
    c.active.set(12);
    c.inactive.set(40);
    let stats = d.ok("-L -n --stats");
    assert_eq!(
        stats,
        "IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.0.0.1:80                    113786 19495479        0    2110M        0
  -> 192.168.1.10:80                113786 19495479        0    2110M        0
"
    );
    assert!(d.ok("-L -n").contains("  -> 192.168.1.10:80              Masq    1      12         40        \n"));
    d.ok("-Z");
    assert!(d
        .ok("-L -n --stats")
        .contains("TCP  10.0.0.1:80                         0        0        0        0        0\n"));
    assert_eq!(c.conns.get(), 113_786, "the workers' counters (and Prometheus) keep counting");
    c.conns.add(5);
    assert!(d.ok("-L -n --stats --exact").contains("TCP  10.0.0.1:80                         5"));
}

#[test]
fn rates_follow_the_2_second_estimator() {
    let d = director();
    d.ok("-A -t 10.0.0.1:80 -s rr");
    d.ok("-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m");
    let id = d.live.snapshot().services()[0].dests[0].id;
    d.admin.tick();
    for _ in 0..100 {
        d.core.dest(id.0).unwrap().conns.add(200);
        d.admin.tick();
    }
    let rate = d.ok("-L -n --rate");
    assert!(rate.contains("CPS    InPPS   OutPPS    InBPS   OutBPS"), "{rate}");
    assert!(
        rate.contains("TCP  10.0.0.1:80                       100        0        0        0        0\n"),
        "{rate}"
    );
}

#[test]
fn timeouts_list_and_set_like_ipvsadm() {
    let d = director();
    assert_eq!(d.ok("-L --timeout"), "Timeout (tcp tcpfin udp): 900 120 300\n");
    d.ok("--set 600 0 60");
    assert_eq!(d.ok("-L --timeout"), "Timeout (tcp tcpfin udp): 600 120 60\n");
}

#[test]
fn scheduler_flags_netmask_and_ops_survive_the_live_configuration() {
    let d = director();
    d.ok("-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port");
    d.ok("-A -t 10.0.0.2:443 -s mh -b mh-port -p 600 -M 255.255.255.0");
    d.ok("-A -u 10.0.0.1:53 -s rr -o");
    assert_eq!(
        d.ok("-S -n"),
        "-A -t 10.0.0.1:80 -s sh -b sh-fallback,sh-port\n-A -t 10.0.0.2:443 -s mh -p 600 -M 255.255.255.0 -b mh-port\n-A -u 10.0.0.1:53 -s rr -o\n"
    );
    let snap = d.live.snapshot();
    let mh = snap.services().iter().find(|s| s.scheduler == "mh").unwrap();
    assert_eq!(mh.persistence.map(|p| (p.timeout_s, p.prefix)), Some((600, 24)));
}
