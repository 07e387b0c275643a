//! `-h` prints ipvsadm 1.31's `usage_exit()` text byte for byte, with the
//! program name `rvsadm`, then rvs's extension block. The expected text below
//! is transcribed from the C string literals of ipvsadm.c (SCHEDULERS and
//! PE_LIST expanded as the 1.31 Makefile does).

use control::ipvsadm::*;

const IPVSADM_USAGE: &str = concat!(
    "Usage:\n",
    "  %s -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]\n",
    "  %s -D virtual-service\n",
    "  %s -C\n",
    "  %s -R\n",
    "  %s -S [-n]\n",
    "  %s -a|e virtual-service -r server-address [options]\n",
    "  %s -d virtual-service -r server-address\n",
    "  %s -L|l [virtual-service] [options]\n",
    "  %s -Z [virtual-service]\n",
    "  %s --set tcp tcpfin udp\n",
    "  %s --start-daemon {master|backup} [daemon-options]\n",
    "  %s --stop-daemon {master|backup}\n",
    "  %s -h\n\n",
    "Commands:\n",
    "Either long or short options are allowed.\n",
    "  --add-service     -A        add virtual service with options\n",
    "  --edit-service    -E        edit virtual service with options\n",
    "  --delete-service  -D        delete virtual service\n",
    "  --clear           -C        clear the whole table\n",
    "  --restore         -R        restore rules from stdin\n",
    "  --save            -S        save rules to stdout\n",
    "  --add-server      -a        add real server with options\n",
    "  --edit-server     -e        edit real server with options\n",
    "  --delete-server   -d        delete real server\n",
    "  --list            -L|-l     list the table\n",
    "  --zero            -Z        zero counters in a service or all services\n",
    "  --set tcp tcpfin udp        set connection timeout values\n",
    "  --start-daemon              start connection sync daemon\n",
    "  --stop-daemon               stop connection sync daemon\n",
    "  --help            -h        display this help message\n\n",
    "virtual-service:\n",
    "  --tcp-service|-t  service-address   service-address is host[:port]\n",
    "  --udp-service|-u  service-address   service-address is host[:port]\n",
    "  --sctp-service    service-address   service-address is host[:port]\n",
    "  --fwmark-service|-f fwmark          fwmark is an integer greater than zero\n",
    "\n",
    "Options:\n",
    "  --ipv6         -6                   fwmark entry uses IPv6\n",
    "  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,\n",
    "                                      the default scheduler is wlc.\n",
    "  --pe            engine              alternate persistence engine may be sip,\n",
    "                                      not set by default.\n",
    "  --persistent   -p [timeout]         persistent service\n",
    "  --netmask      -M netmask           persistent granularity mask\n",
    "  --real-server  -r server-address    server-address is host (and port)\n",
    "  --gatewaying   -g                   gatewaying (direct routing) (default)\n",
    "  --ipip         -i                   ipip encapsulation (tunneling)\n",
    "  --masquerading -m                   masquerading (NAT)\n",
    "  --tun-type      type                one of ipip|gue|gre,\n",
    "                                      the default tunnel type is ipip.\n",
    "  --tun-port      port                tunnel destination port\n",
    "  --tun-nocsum                        tunnel encapsulation without checksum\n",
    "  --tun-csum                          tunnel encapsulation with checksum\n",
    "  --tun-remcsum                       tunnel encapsulation with remote checksum\n",
    "  --weight       -w weight            capacity of real server\n",
    "  --u-threshold  -x uthreshold        upper threshold of connections\n",
    "  --l-threshold  -y lthreshold        lower threshold of connections\n",
    "  --connection   -c                   output of current IPVS connections\n",
    "  --timeout                           output of timeout (tcp tcpfin udp)\n",
    "  --daemon                            output of daemon information\n",
    "  --stats                             output of statistics information\n",
    "  --rate                              output of rate information\n",
    "  --exact                             expand numbers (display exact values)\n",
    "  --thresholds                        output of thresholds information\n",
    "  --persistent-conn                   output of persistent connection info\n",
    "  --tun-info                          output of tunnel information\n",
    "  --nosort                            disable sorting output of service/server entries\n",
    "  --sort                              does nothing, for backwards compatibility\n",
    "  --ops          -o                   one-packet scheduling\n",
    "  --numeric      -n                   numeric output of addresses and ports\n",
    "  --sched-flags  -b flags             scheduler flags (comma-separated)\n",
    "Daemon Options:\n",
    "  --syncid sid                        syncid for connection sync (default=255)\n",
    "  --sync-maxlen length                Max sync message length (default=1472)\n",
    "  --mcast-interface interface         multicast interface for connection sync\n",
    "  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)\n",
    "  --mcast-port port                   UDP port (default=8848)\n",
    "  --mcast-ttl ttl                     Multicast TTL (default=1)\n",
);

#[test]
fn ipvsadm_help_is_usage_exit_text() {
    assert_eq!(parse(&["-h".to_string()]).unwrap(), Command::Help);
    let text = usage_text();
    let (version, rest) = text.split_once('\n').unwrap();
    assert_eq!(format!("{version}\n"), version_line());
    let ipvsadm = IPVSADM_USAGE.replace("%s", "rvsadm");
    assert!(rest.starts_with(&ipvsadm), "usage differs:\n{rest}");
    let ext = &rest[ipvsadm.len()..];
    assert!(ext.starts_with("\nrvs extensions (not in ipvsadm"), "{ext}");
    for opt in [
        "--fullnat",
        "--add-laddr",
        "--del-laddr",
        "--get-laddr",
        "-z local-address",
        "--synproxy",
        "--proxy-protocol v1|v2",
        "--toa",
    ] {
        assert!(ext.contains(opt), "{opt} missing from the extension block");
    }
}

#[test]
fn ipvsadm_version_line_keeps_the_format() {
    let v = version_line();
    assert!(v.starts_with("rvsadm v1.31-rvs"), "{v}");
    assert!(v.ends_with(" 2019/12/24 (compiled with popt and IPVS v1.2.1)\n"), "{v}");
    assert_eq!(parse(&["--version".to_string()]).unwrap(), Command::Version);
    assert_eq!(try_help_text(), "Try `rvsadm -h' or 'rvsadm --help' for more information.\n");
}
