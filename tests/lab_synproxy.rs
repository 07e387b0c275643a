//! SYNPROXY end to end: a SYN flood from random sources (hping3) at a NAT VIP, once
//! without the SYN proxy and once with it, in the same test, both printed; with it the
//! legitimate clients get through, the real servers see no half-open connection and
//! rvsd's table does not grow. Downloads through SYN-proxied NAT and FullNAT services,
//! IPv4 and IPv6, keep window scaling, SACK and timestamps as the client's `ss -ti` and
//! the server's show.

mod common;

use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{big_download_matches, lab_config_v6, ns, ns_ok, sum, write_config, Lab, Rvsd};

/// rs1 and rs2 behind `vip` (NAT), with the SYN proxy when `synproxy`.
fn nat(vip: &str, port: u16, synproxy: bool, servers: [&str; 2]) -> String {
    let mut s = format!("[[service]]\ntcp = \"{vip}\"\nscheduler = \"rr\"\nsynproxy = {synproxy}\n");
    for a in servers {
        s += &format!("[[service.real_server]]\naddress = \"{a}:{port}\"\nmethod = \"masq\"\nweight = 1\n");
    }
    s
}

fn services() -> String {
    let v4 = ["10.0.3.11", "10.0.3.12"];
    let v6 = ["[2001:db8:3::11]", "[2001:db8:3::12]"];
    let fnat = |vip: &str, laddr: &str, rs: [&str; 2]| {
        let mut s =
            format!("[[service]]\ntcp = \"{vip}\"\nscheduler = \"rr\"\nsynproxy = true\nladdrs = [\"{laddr}\"]\n");
        for a in rs {
            s += &format!("[[service.real_server]]\naddress = \"{a}:80\"\nmethod = \"fullnat\"\nweight = 1\n");
        }
        s
    };
    [
        nat("10.0.2.100:80", 80, false, v4),
        nat("10.0.2.100:82", 80, true, v4),
        fnat("10.0.2.100:83", "10.0.3.200", v4),
        nat("[2001:db8:2::100]:82", 80, true, v6),
        fnat("[2001:db8:2::100]:83", "2001:db8:3::200", v6),
    ]
    .concat()
}

/// The legitimate client (NAT: the real servers see its address).
const CLIENT: &str = "10.0.1.2";

/// The most SYN_RECV sockets either real server holds for the flood's sources (any
/// peer but the legitimate client, whose own openings pass through SYN_RECV for the
/// moment between the proxied SYN and its released ACK).
fn syn_recv() -> usize {
    ["rvs-rs1", "rvs-rs2"]
        .iter()
        .map(|rs| {
            ns_ok(rs, &["ss", "-Htn", "state", "syn-recv"])
                .lines()
                .filter(|l| !l.split_whitespace().any(|w| w.starts_with(&format!("{CLIENT}:"))))
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn conn_entries(rvsd: &Rvsd) -> u64 {
    sum(&rvsd.metrics(), "rvs_conn_table_entries{")
}

/// hping3's flood of SYNs from random sources at `port` of the VIP, until killed.
fn flood(port: u16) -> Child {
    Command::new("ip")
        .args([
            "netns",
            "exec",
            "rvs-client",
            "hping3",
            "-q",
            "-S",
            "-p",
            &port.to_string(),
            "--flood",
            "--rand-source",
            "10.0.2.100",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("hping3")
}

/// 200 curls to `url`, 20 at a time, while the flood runs: how many were answered.
fn legit_200(url: &str) -> usize {
    let mut args: Vec<String> =
        ["curl", "-sS", "--max-time", "10", "--parallel", "--parallel-max", "20", "-w", "%{http_code}\\n"]
            .iter()
            .map(|a| a.to_string())
            .collect();
    for i in 0..200 {
        args.extend(["-o".into(), "/dev/null".into(), format!("{url}?{i}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ns("rvs-client", &args);
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| *l == "200").count()
}

struct Run {
    ok: usize,
    syn_recv: usize,
    entries_before: u64,
    entries_max: u64,
}

fn under_flood(rvsd: &Rvsd, port: u16) -> Run {
    let url = format!("http://10.0.2.100:{port}/");
    let entries_before = conn_entries(rvsd);
    let mut f = flood(port);
    sleep(Duration::from_secs(2));
    let (mut max_recv, mut max_entries) = (syn_recv(), conn_entries(rvsd));
    let t = Instant::now();
    let ok = std::thread::scope(|s| {
        let h = s.spawn(|| legit_200(&url));
        while !h.is_finished() && t.elapsed() < Duration::from_secs(60) {
            max_recv = max_recv.max(syn_recv());
            max_entries = max_entries.max(conn_entries(rvsd));
            sleep(Duration::from_millis(500));
        }
        h.join().expect("curls")
    });
    let _ = f.kill();
    let _ = f.wait();
    Run { ok, syn_recv: max_recv, entries_before, entries_max: max_entries }
}

#[test]
fn syn_flood_with_and_without_the_proxy() {
    let _lab = Lab::up();
    let rvsd = Rvsd::start(&write_config("synproxy", &lab_config_v6(&services())));
    // The proxied flood first: the unproxied one leaves the servers' half-open
    // sockets and rvsd's table full for a minute.
    let with = under_flood(&rvsd, 82);
    let without = under_flood(&rvsd, 80);
    let sp = rvsd.metrics();
    let sent = sum(&sp, "rvs_synproxy_cookies_sent_total{");
    for (name, r) in [("without SYN proxy", &without), ("with SYN proxy", &with)] {
        println!(
            "hping3 --flood --rand-source, {name}: {}/200 curls answered, real servers' SYN_RECV from the flood max {}, rvsd conn entries {} -> max {}",
            r.ok, r.syn_recv, r.entries_before, r.entries_max
        );
    }
    println!("cookie SYN-ACKs sent: {sent}");
    assert!(sent > 10_000, "the flood reached the proxy: {sent} cookies");
    assert!(with.ok >= 198, "≥ 99% of legitimate clients served under the flood: {}", with.ok);
    assert_eq!(with.syn_recv, 0, "no half-open connection of the flood reaches a real server");
    // Only the legitimate connections (and their TIME_WAITs) take entries.
    assert!(with.entries_max <= with.entries_before + 400, "the table does not grow with the flood");
}

/// The client's side of a download through `url` on `port`: its `ss -ti` while the
/// download runs, and tcpdump's decoding of its first segments (Debian 12's ss prints
/// the window scales but not the timestamps and SACK flags, even for a plain NAT
/// connection, so those are read off the wire).
fn client_view(url: &str, port: u16) -> (String, String) {
    let get = format!(
        "timeout 40 tcpdump -l -nn -v -i cli0 -c 12 'tcp port {port}' > /tmp/rvs-sp-cap.txt 2>/dev/null & sleep 1; \
         curl -g -sS --max-time 30 --limit-rate 4M -o /dev/null '{url}big.bin' & sleep 1.5; \
         ss -tin state established; wait; cat /tmp/rvs-sp-cap.txt; rm -f /tmp/rvs-sp-cap.txt"
    );
    let out = ns_ok("rvs-client", &["sh", "-c", &get]);
    let cut = out.find("IP").unwrap_or(out.len());
    (out[..cut].to_string(), out[cut..].to_string())
}

#[test]
fn proxied_downloads_keep_tcp_options() {
    let _lab = Lab::up();
    let _rvsd = Rvsd::start(&write_config("synproxy-dl", &lab_config_v6(&services())));
    for (url, fullnat) in [
        ("http://10.0.2.100:82/", false),
        ("http://10.0.2.100:83/", true),
        ("http://[2001:db8:2::100]:82/", false),
        ("http://[2001:db8:2::100]:83/", true),
    ] {
        big_download_matches(url);
        let port = if url.ends_with(":82/") { 82 } else { 83 };
        let (ss, cap) = client_view(url, port);
        assert!(ss.contains("wscale:7,"), "{url}: the proxy's window scale 7 in effect: {ss}");
        // The cookie SYN-ACK agreed SACK, timestamps and window scaling, and the
        // server's segments reach the client with timestamps (its clock continued).
        let synack = cap.lines().find(|l| l.contains("Flags [S.]")).unwrap_or_default();
        for opt in ["sackOK", "TS val", "wscale 7"] {
            assert!(synack.contains(opt), "{url}: SYN-ACK has {opt}: {cap}");
        }
        let from_server = cap.lines().filter(|l| l.contains(&format!(".{port} >")) && l.contains("Flags [.")).count();
        let with_ts = cap
            .lines()
            .filter(|l| l.contains(&format!(".{port} >")) && l.contains("Flags [.") && l.contains("TS val"))
            .count();
        // FullNAT too: the client's clock reaches the server shifted onto the director's.
        assert!(
            from_server > 0 && with_ts == from_server,
            "{url} (FullNAT {fullnat}): timestamps on the server's segments: {cap}"
        );
    }
}
