//! ipvsadm 1.31's `usage_exit()`, `version()` and `tryhelp_exit()` texts with
//! the program name `rvsadm`, plus rvs's extension options in a marked block.

/// The program name substituted for ipvsadm's `argv[0]`.
pub const PROGRAM: &str = "rvsadm";

/// ipvsadm's `SCHEDULERS` (Makefile, from the `SCHEDULERS` file of 1.31).
const SCHEDULERS_HELP: &str = "rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh";
/// ipvsadm's `PE_LIST`.
const PE_LIST: &str = "sip";

/// ipvsadm's `version()` line, format kept:
/// `ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)` becomes
/// `rvsadm v1.31-rvs<crate version> 2019/12/24 (compiled with popt and IPVS v1.2.1)`,
/// so scripts that pick `v1.31` or `IPVS v1.2.1` out of it keep working.
pub fn version_line() -> String {
    format!(
        "{PROGRAM} v1.31-rvs{} 2019/12/24 (compiled with popt and IPVS v{})\n",
        env!("CARGO_PKG_VERSION"),
        super::model::IPVS_VERSION
    )
}

/// `tryhelp_exit()`'s message.
pub fn try_help_text() -> String {
    format!("Try `{PROGRAM} -h' or '{PROGRAM} --help' for more information.\n")
}

/// `usage_exit()`'s text (`-h`), byte for byte with `rvsadm` for `ipvsadm`,
/// followed by the rvs extension block.
pub fn usage_text() -> String {
    let mut s = version_line();
    s.push_str(USAGE_BODY);
    s.push_str(EXTENSIONS);
    s.replace("%PROG%", PROGRAM).replace("%SCHEDULERS%", SCHEDULERS_HELP).replace("%PE_LIST%", PE_LIST)
}

/// The four `fprintf()`s of `usage_exit()` after `version()`.
const USAGE_BODY: &str = r#"Usage:
  %PROG% -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]
  %PROG% -D virtual-service
  %PROG% -C
  %PROG% -R
  %PROG% -S [-n]
  %PROG% -a|e virtual-service -r server-address [options]
  %PROG% -d virtual-service -r server-address
  %PROG% -L|l [virtual-service] [options]
  %PROG% -Z [virtual-service]
  %PROG% --set tcp tcpfin udp
  %PROG% --start-daemon {master|backup} [daemon-options]
  %PROG% --stop-daemon {master|backup}
  %PROG% -h

Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  --start-daemon              start connection sync daemon
  --stop-daemon               stop connection sync daemon
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]
  --sctp-service    service-address   service-address is host[:port]
  --fwmark-service|-f fwmark          fwmark is an integer greater than zero

Options:
  --ipv6         -6                   fwmark entry uses IPv6
  --scheduler    -s scheduler         one of %SCHEDULERS%,
                                      the default scheduler is wlc.
  --pe            engine              alternate persistence engine may be %PE_LIST%,
                                      not set by default.
  --persistent   -p [timeout]         persistent service
  --netmask      -M netmask           persistent granularity mask
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --tun-type      type                one of ipip|gue|gre,
                                      the default tunnel type is ipip.
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --daemon                            output of daemon information
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output of addresses and ports
  --sched-flags  -b flags             scheduler flags (comma-separated)
Daemon Options:
  --syncid sid                        syncid for connection sync (default=255)
  --sync-maxlen length                Max sync message length (default=1472)
  --mcast-interface interface         multicast interface for connection sync
  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)
  --mcast-port port                   UDP port (default=8848)
  --mcast-ttl ttl                     Multicast TTL (default=1)
"#;

/// rvs's own options, after everything ipvsadm prints.
const EXTENSIONS: &str = r#"
rvs extensions (not in ipvsadm; long options, no ipvsadm letter changes meaning):
  %PROG% --add-laddr|--del-laddr virtual-service -z local-address
  %PROG% --get-laddr virtual-service
  %PROG% --capture -i port|-t|-u service-address -c count -w file [-s snaplen] [--timeout seconds]
  --fullnat                           full NAT forwarding (listed FullNat)
  --add-laddr                         add a local address to a FullNAT service
  --del-laddr                         delete a local address of a FullNAT service
  --get-laddr                         list the local addresses of a FullNAT service
  --laddr        -z local-address     local address for --add-laddr/--del-laddr
  --synproxy     -j [enable|disable]  SYN proxy (SYN cookies) for a TCP service
  --proxy-protocol v1|v2              pass the client address in a PROXY header
  --toa                               pass the client address in a TCP option (TOA)
  --capture                           write the next count packets of a port or a service,
                                      as received and as sent, to a pcapng file;
                                      after --capture the letters are tcpdump's:
  --interface    -i port              a port, by name (with --capture)
  --count        -c count             packets to capture, 1..100000 (with --capture)
  --write        -w file              the pcapng file, written by rvsd (with --capture)
  --snaplen      -s bytes             bytes kept per packet, default 2048 (with --capture)
  --timeout         seconds           stop after this long, default 10 (with --capture)
  --scheduler    -s twos              also: power of two choices (Linux 6.11), newer than ipvsadm 1.31
Addresses and ports are always listed numerically (no DNS on the control path).
"#;
