//! Golden tests: the examples of /work/shared/reference/ipvsadm.md, copied
//! verbatim (trailing spaces on dest rows included), byte for byte.

mod ipvsadm_common;
use control::ipvsadm::*;
use ipvsadm_common::*;

/// `$ ipvsadm -L -n`
const LIST_N: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port Scheduler Flags\n",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
    "TCP  10.0.0.1:80 wlc persistent 300\n",
    "  -> 192.168.1.10:80              Route   1      12         40        \n",
    "  -> 192.168.1.11:80              Route   0      3          17        \n",
    "UDP  10.0.0.1:53 rr ops\n",
    "  -> 192.168.1.20:53              Masq    1      0          5         \n",
);

/// `$ ipvsadm -L -n --stats`
const LIST_STATS: &str = concat!(
    "IP Virtual Server version 1.2.1 (size=4096)\n",
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
    "  -> RemoteAddress:Port\n",
    "TCP  10.0.0.1:80                    113786 19495479        0    2110M        0\n",
    "  -> 192.168.1.10:80                 56893  9747739        0  804275K        0\n",
);

/// `$ ipvsadm -S -n`
const SAVE_N: &str = concat!(
    "-A -t 10.0.0.1:80 -s wlc -p 300\n",
    "-a -t 10.0.0.1:80 -r 192.168.1.10:80 -g -w 1\n",
    "-a -t 10.0.0.1:80 -r 192.168.1.11:80 -g -w 0\n",
    "-A -u 10.0.0.1:53 -s rr -o\n",
    "-a -u 10.0.0.1:53 -r 192.168.1.20:53 -m -w 1\n",
);

/// `$ ipvsadm -L -n -c`
const LIST_CONN: &str = concat!(
    "IPVS connection entries\n",
    "pro expire state       source             virtual            destination\n",
    "TCP 14:58  ESTABLISHED 203.0.113.5:51000  10.0.0.1:80        192.168.1.10:80\n",
    "UDP 04:59  UDP         198.51.100.7:3311  10.0.0.1:53        192.168.1.20:53\n",
);
fn stats_listing() -> Listing {
    let mut l = example_listing();
    l.services.truncate(1);
    let web = &mut l.services[0];
    web.dests.truncate(1);
    web.stats = Stats {
        conns: 113_786,
        inpkts: 19_495_479,
        outpkts: 0,
        inbytes: 2_110_987_654,
        outbytes: 0,
        ..Stats::default()
    };
    web.dests[0].stats =
        Stats { conns: 56_893, inpkts: 9_747_739, outpkts: 0, inbytes: 804_275_999, outbytes: 0, ..Stats::default() };
    l
}

#[test]
fn ipvsadm_list_numeric_matches_reference() {
    let out = run("ipvsadm -L -n", &example_listing(), &[], &Timeouts::default()).unwrap();
    assert_eq!(out, LIST_N);
}

#[test]
fn ipvsadm_list_without_n_equals_list_with_n() {
    let l = example_listing();
    let t = Timeouts::default();
    assert_eq!(run("-L", &l, &[], &t).unwrap(), LIST_N);
    assert_eq!(run("-l", &l, &[], &t).unwrap(), LIST_N);
    assert_eq!(run("-Ln", &l, &[], &t).unwrap(), LIST_N);
    assert_eq!(run("--list --numeric", &l, &[], &t).unwrap(), LIST_N);
    // No arguments at all means -L.
    assert_eq!(run("", &l, &[], &t).unwrap(), LIST_N);
}

#[test]
fn ipvsadm_stats_matches_reference() {
    let out = run("ipvsadm -L -n --stats", &stats_listing(), &[], &Timeouts::default()).unwrap();
    assert_eq!(out, LIST_STATS);
}

#[test]
fn ipvsadm_save_matches_reference() {
    let out = run("ipvsadm -S -n", &example_listing(), &[], &Timeouts::default()).unwrap();
    assert_eq!(out, SAVE_N);
    assert_eq!(run("-S", &example_listing(), &[], &Timeouts::default()).unwrap(), SAVE_N);
}

#[test]
fn ipvsadm_connections_match_reference() {
    let out = run("ipvsadm -L -n -c", &example_listing(), &example_conns(), &Timeouts::default()).unwrap();
    assert_eq!(out, LIST_CONN);
}

#[test]
fn ipvsadm_timeout_listing() {
    let t = Timeouts { tcp: 900, tcpfin: 120, udp: 300 };
    assert_eq!(run("-L --timeout", &example_listing(), &[], &t).unwrap(), "Timeout (tcp tcpfin udp): 900 120 300\n");
}

#[test]
fn ipvsadm_single_service_listing_has_no_version_header() {
    let out = run("-L -n -t 10.0.0.1:53", &example_listing(), &[], &Timeouts::default());
    assert!(out.is_err(), "no TCP service on :53");
    let e = out.unwrap_err();
    assert_eq!((e.message.as_str(), e.exit_code), ("No such service\n", 1));
    let out = run("-L -n -u 10.0.0.1:53", &example_listing(), &[], &Timeouts::default()).unwrap();
    let expected: String =
        LIST_N.lines().skip(1).take(2).chain(LIST_N.lines().skip(6)).map(|l| format!("{l}\n")).collect();
    assert_eq!(out, expected);
}
