//! Every class of bad input gives ipvsadm 1.31's message and exit status.

mod ipvsadm_common;
use control::ipvsadm::*;
use ipvsadm_common::args;

fn err(cmdline: &str) -> (String, i32) {
    match parse(&args(cmdline)) {
        Ok(c) => panic!("`{cmdline}` parsed as {c:?}"),
        Err(e) => (e.message, e.exit_code),
    }
}

fn fail2(cmdline: &str, msg: &str) {
    assert_eq!(err(cmdline), (format!("{msg}\n"), 2), "{cmdline}");
}

const TRY: &str = "Try `rvsadm -h' or 'rvsadm --help' for more information.\n";

#[test]
fn ipvsadm_unknown_scheduler_or_pe_is_refused_like_the_kernel_does() {
    let m = "Scheduler or persistence engine not found\n".to_string();
    assert_eq!(err("-A -t 10.0.0.1:80 -s foo"), (m.clone(), 255));
    assert_eq!(err("-E -t 10.0.0.1:80 -s RR"), (m.clone(), 255));
    assert_eq!(err("-A -t 10.0.0.1:80 -p --pe bogus"), (m, 255));
}

#[test]
fn ipvsadm_bad_addresses() {
    let m = "illegal virtual server address[:port] specified";
    for a in ["10.0.0.300:80", "www.example.com:80", "10.0.0.1:99999", "10.0.0.1:bogus", "8080", "[::1]", "[::1]80"] {
        fail2(&format!("-A -t {a}"), m);
    }
    fail2("-a -t 10.0.0.1:80 -r 300.1.1.1", "illegal real server address[:port] specified");
    fail2("-A -f 0", "invalid fwmark value `0' specified");
    fail2("-A -f 4294967296", "invalid fwmark value `4294967296' specified");
    fail2("-A -f x", "invalid fwmark value `x' specified");
}

#[test]
fn ipvsadm_zero_port_needs_persistence() {
    fail2("-A -t 10.0.0.1", "Zero port specified for non-persistent service");
    fail2("-A -u 10.0.0.1:0", "Zero port specified for non-persistent service");
    fail2("-E -t 10.0.0.1:0 -s rr", "Zero port specified for non-persistent service");
    assert!(parse(&args("-A -t 10.0.0.1:0 -p")).is_ok());
    assert!(parse(&args("-A -f 3")).is_ok());
}

#[test]
fn ipvsadm_weights_and_thresholds() {
    for w in ["65536", "-1", "x", "1.5"] {
        fail2(&format!("-a -t 10.0.0.1:80 -r 192.168.1.1 -w {w}"), "illegal weight specified");
    }
    let empty_weight: Vec<String> = ["-a", "-t", "10.0.0.1:80", "-r", "1.1.1.1", "-w", ""].map(String::from).to_vec();
    assert_eq!(parse(&empty_weight).unwrap_err().message, "illegal weight specified\n");
    let empty_addr: Vec<String> = ["-A", "-t", ""].map(String::from).to_vec();
    assert_eq!(parse(&empty_addr).unwrap_err().message, "illegal virtual server address[:port] specified\n");
    fail2("-a -t 10.0.0.1:80 -r 192.168.1.1 -x 2147483648", "illegal u_threshold specified");
    fail2("-a -t 10.0.0.1:80 -r 192.168.1.1 -y -3", "illegal l_threshold specified");
    assert!(parse(&args("-a -t 10.0.0.1:80 -r 192.168.1.1 -w 65535")).is_ok());
    assert!(parse(&args("-a -t 10.0.0.1:80 -r 192.168.1.1 -w 0")).is_ok());
}

#[test]
fn ipvsadm_options_illegal_with_command() {
    fail2("-L -s rr", "Illegal 'scheduler' option with the 'list' command");
    fail2("-D -t 10.0.0.1:80 -r 1.2.3.4", "Illegal 'real-server' option with the 'delete-service' command");
    fail2("-C -n", "Illegal 'numeric' option with the 'flush' command");
    fail2("-S -c", "Illegal 'connection' option with the 'save' command");
    fail2("-A -t 10.0.0.1:80 -w 3", "Illegal 'weight' option with the 'add-service' command");
    fail2("-a -t 10.0.0.1:80 -r 1.2.3.4 -s rr", "Illegal 'scheduler' option with the 'add-server' command");
    fail2("-L --fullnat", "Illegal 'forwarding-method' option with the 'list' command");
    fail2("-a -t 10.0.0.1:80 -r 1.2.3.4 --synproxy", "Illegal 'synproxy' option with the 'add-server' command");
    fail2("-A -t 10.0.0.1:80 -j on", "synproxy switch must be enable or disable");
    fail2("-A -t 10.0.0.1:80 --synproxy=yes", "synproxy switch must be enable or disable");
    fail2("-A -t 10.0.0.1:80 -j enable --synproxy", "multiple 'synproxy' options specified");
    fail2("--set 1 2 3 -n", "Illegal 'numeric' option with the 'set' command");
    // The first illegal option by table column is reported, not by position.
    fail2("-L -w 1 -s rr", "Illegal 'scheduler' option with the 'list' command");
}

#[test]
fn ipvsadm_missing_compulsory_options() {
    fail2("-A -s rr", "You need to supply the 'service-address' option for the 'add-service' command");
    fail2("-D", "You need to supply the 'service-address' option for the 'delete-service' command");
    fail2("-a -r 1.2.3.4", "You need to supply the 'service-address' option for the 'add-server' command");
    fail2("-a -t 10.0.0.1:80", "You need to supply the 'real-server' option for the 'add-server' command");
    fail2("-d -t 10.0.0.1:80", "You need to supply the 'real-server' option for the 'delete-server' command");
    fail2("--add-laddr -t 10.0.0.1:80", "You need to supply the 'laddr' option for the 'add-laddr' command");
}

#[test]
fn ipvsadm_conflicts() {
    fail2("-L -c --timeout", "The option 'timeout' conflicts with the 'connection' option in the 'list' command");
    fail2(
        "-L -t 10.0.0.1:80 --daemon",
        "The option 'daemon' conflicts with the 'service-address' option in the 'list' command",
    );
    fail2("-L -c --stats", "options conflicts in the list command");
    fail2("-L --timeout --persistent-conn", "options conflicts in the list command");
    fail2("-A -t 1.2.3.4:80 -u 1.2.3.4:80", "multiple 'service-address' options specified");
    fail2("-a -t 1.2.3.4:80 -r 5.6.7.8 -g -m", "multiple 'forwarding-method' options specified");
    fail2("-a -t 1.2.3.4:80 -r 5.6.7.8 -m --fullnat", "multiple 'forwarding-method' options specified");
    fail2("-L -n -n", "multiple 'numeric' options specified");
    fail2("-A -t 1.2.3.4:80 -o", "One-Packet Scheduling is only for UDP virtual services");
}

#[test]
fn ipvsadm_popt_errors() {
    // The first option must be a command.
    assert_eq!(err("-t 1.2.3.4:80 -A"), (TRY.to_string(), 255));
    assert_eq!(err("foo"), (TRY.to_string(), 255));
    assert_eq!(err("--bogus"), (TRY.to_string(), 255));
    assert_eq!(err("--start-daemon"), (TRY.to_string(), 255));
    // Later: popt's own messages, exit status 255.
    assert_eq!(err("-A -t"), ("-t: missing argument\n".to_string(), 255));
    assert_eq!(err("-A --bogus"), ("--bogus: unknown option\n".to_string(), 255));
    assert_eq!(err("-Lq"), ("-Lq: unknown option\n".to_string(), 255));
    assert_eq!(err("-A --ops=1"), ("--ops=1: option does not take an argument\n".to_string(), 255));
    // A known option the switch does not handle.
    fail2("-A -A", "invalid option `-A'");
    fail2("-L -h", "invalid option `-h'");
    fail2("-L -nA", "invalid option `-nA'");
    fail2("-A -t 1.2.3.4:80 extra", "unexpected argument extra");
    fail2("-A -t 1.2.3.4:80 -- -s", "unexpected argument -s");
}

#[test]
fn ipvsadm_timeouts_and_persistence() {
    fail2("--set 1 2", "--set option requires 3 timeout values");
    fail2("--set 1 2 x", "invalid timeout value `x' specified");
    fail2("--set 1 2 2678401", "invalid timeout value `2678401' specified");
    fail2("--set 1 2 3 4", "unexpected argument 4");
    fail2("-A -t 1.2.3.4:80 -p 0", "invalid timeout value `0' specified");
    fail2("-A -t 1.2.3.4:80 -p x", "invalid timeout value `x' specified");
}

#[test]
fn ipvsadm_masks_flags_and_families() {
    fail2("-A -t 1.2.3.4:80 -6", "-6 used before -f\n");
    fail2("-A -t 1.2.3.4:80 -p -M 255.255.255.256", "illegal virtual server persistent mask specified");
    fail2("-A -t [2001:db8::1]:80 -p -M 200", "illegal ipv6 netmask specified");
    fail2("-A -t 1.2.3.4:80 -b sh-port", "incompatible scheduler flag `sh-port'");
    fail2("-A -t 1.2.3.4:80 -s sh -b mh-port", "incompatible scheduler flag `mh-port'");
    fail2("-A -t 1.2.3.4:80 -s sh -b bogus", "invalid scheduler flag `bogus'");
    fail2("-a -t 1.2.3.4:80 -r [2001:db8::2]:80", "Different address family is allowed only for tunneling servers");
}

#[test]
fn ipvsadm_tunnel_options() {
    let base = "-a -t 1.2.3.4:80 -r 5.6.7.8";
    fail2(&format!("{base} --tun-type gue"), "Tunnel options conflict with forward method");
    fail2(&format!("{base} -i --tun-type foo"), "illegal tunnel type specified");
    fail2(&format!("{base} -i --tun-type gue"), "You need to supply the 'tun-port' option for the 'gue' tunnel type");
    fail2(&format!("{base} -i --tun-port 5000"), "Illegal 'tun-port' option with the 'ipip' tunnel type");
    fail2(&format!("{base} -i --tun-type gre --tun-port 1"), "Illegal 'tun-port' option with the 'gre' tunnel type");
    fail2(
        &format!("{base} -i --tun-type gre --tun-csum --tun-remcsum"),
        "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gre' tunnel type",
    );
    fail2(&format!("{base} -i --tun-type gue --tun-port 0"), "illegal tunnel port specified");
}

#[test]
fn ipvsadm_daemon_and_extension_arguments() {
    fail2("--start-daemon foo", "illegal start-daemon parameter specified");
    fail2("--stop-daemon foo", "illegal start_daemon specified");
    fail2("--start-daemon master --syncid 256", "illegal syncid specified");
    fail2("--start-daemon master --mcast-group 10.0.0.1", "invalid IPv4 mcast-group `10.0.0.1'");
    fail2("--start-daemon master --mcast-group ::1", "invalid IPv6 mcast-group `::1'");
    fail2("-A -t 1.2.3.4:80 --proxy-protocol v3", "illegal proxy-protocol version specified");
    fail2("--add-laddr -t 1.2.3.4:80 -z bogus", "illegal local address specified");
    fail2("--get-laddr -t 1.2.3.4:80 -z 1.1.1.1", "Illegal 'laddr' option with the 'get-laddr' command");
}

#[test]
fn ipvsadm_display_trims_the_newline() {
    let e = parse(&args("-A -t 10.0.0.1")).unwrap_err();
    assert_eq!(e.to_string(), "Zero port specified for non-persistent service");
}

#[test]
fn ipvsadm_no_panic_on_odd_input() {
    let odd = [
        "-",
        "--",
        "-=",
        "--=",
        "-p=",
        "-\u{e9}",
        "-L\u{e9}",
        "-t\u{e9}",
        "-A -t [",
        "-A -t ]:",
        "-A -t [:]:1",
        "-A -t :",
        "-A -t ::::::::::::::::::",
        "-a -t 1.1.1.1:1 -r",
        "-A -t 1.1.1.1:1 -b ,",
        "-A -t 1.1.1.1:1 -b=",
        "-A -p",
        "--set",
        "-A --tcp-service=",
        "-A -t 0x1.0x2:0x50",
        "-A -t 1.1.1.1:+80 -M 1.2.3.4.5",
    ];
    for o in odd {
        let _ = parse(&args(o));
    }
    let _ = parse(&["-A".to_string(), "-t".to_string(), "1.2.3.4 :80".to_string()]);
    let _ = parse(&[String::new()]);
}
