//! IPVS connection sync, protocol v1, in the lab. Master: rvsd sends its connections by
//! multicast (224.0.0.81:8848, TTL 1) out of the twin `wan`; tshark in the router
//! namespace captures them on rtr-wan and its IPVS dissector decodes them, with no
//! malformed packet, naming the connections `rvsadm -L -n -c` lists. Backup: python in
//! the router namespace sends v1 messages it builds itself (struct); rvsd creates those
//! connections with the master's state and real server.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

#[test]
fn lab_sync_master_sends_what_tshark_decodes() {
    let _lab = Lab::up();
    let path = write_config("sync-master", &lab_config(NAT_RR));
    let _rvsd = Rvsd::start(&path);
    let pcap = std::env::temp_dir().join(format!("rvs-{}-sync.pcap", std::process::id()));
    let _ = std::fs::remove_file(&pcap);
    let mut cap = Command::new("ip")
        .args([
            "netns",
            "exec",
            "rvs-router",
            "tshark",
            "-q",
            "-i",
            "rtr-wan",
            "-a",
            "duration:8",
            "-f",
            "udp port 8848",
        ])
        .arg("-w")
        .arg(&pcap)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tshark");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(rvsadm_ok("-L --daemon"), "");
    rvsadm_ok("--start-daemon master --mcast-interface wan --syncid 7");
    assert_eq!(rvsadm_ok("-L --daemon"), "master sync daemon (mcast=wan, syncid=7)\n");
    for _ in 0..10 {
        curl("http://10.0.2.100/");
    }
    let listed = rvsadm_ok("-L -n -c");
    assert!(cap.wait().expect("tshark").success());

    let fields = |filter: &str, fields: &[&str]| -> String {
        let mut args = vec!["-r", pcap.to_str().unwrap_or_default(), "-d", "udp.port==8848,ipvs", "-Y", filter];
        args.extend(["-T", "fields"]);
        for f in fields {
            args.extend(["-e", f]);
        }
        let o = Command::new("tshark").args(&args).output().expect("tshark -r");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(fields("_ws.malformed || _ws.expert.severity >= warning", &["frame.number"]), "", "malformed");
    let hdr = fields("ipvs", &["ip.dst", "ip.ttl", "ipvs.syncid", "ipvs.version"]);
    assert!(!hdr.is_empty(), "no sync message captured");
    for l in hdr.lines() {
        assert_eq!(l, "224.0.0.81\t1\t7\t1", "{hdr}");
    }
    let recs = fields("ipvs", &["ipvs.caddr", "ipvs.cport", "ipvs.vaddr", "ipvs.vport", "ipvs.daddr", "ipvs.dport"]);
    let mut seen = 0;
    for row in listed.lines().filter(|l| l.starts_with("TCP")) {
        let f: Vec<&str> = row.split_whitespace().collect();
        let (c, v, d) = (f[3].replace(':', ","), f[4].replace(':', ","), f[5].replace(':', ","));
        // tshark lists a message's records comma-separated per field, in order.
        let found = recs.lines().any(|l| {
            let cols: Vec<Vec<&str>> = l.split('\t').map(|x| x.split(',').collect()).collect();
            (0..cols[0].len()).any(|i| {
                let g = |k: usize| cols.get(k).and_then(|x| x.get(i)).copied().unwrap_or_default();
                format!("{},{}", g(0), g(1)) == c
                    && format!("{},{}", g(2), g(3)) == v
                    && format!("{},{}", g(4), g(5)) == d
            })
        });
        assert!(found, "{row} not in the sync traffic:\n{recs}");
        seen += 1;
    }
    assert!(seen >= 10, "{listed}");
    let _ = std::fs::remove_file(&pcap);
}

/// Three records and a bad one, built independently of rvs (python's struct), sent from
/// the router to the group on rtr-wan.
const SENDER: &str = r#"
import socket, struct, sys
def rec(c, cp, d, st, tmo, flags=0):
    a = lambda s: socket.inet_aton(s)
    return struct.pack("!BBHIHHHHII4s4s4s", 0, 6, 36, flags, st, cp, 80, 80, 0, tmo, a(c), a("10.0.2.100"), a(d))
def msg(syncid, recs):
    body = b"".join(recs)
    return struct.pack("!BBHBBH", 0, syncid, 8 + len(body), len(recs), 1, 0) + body
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.0.2.1"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
good = msg(7, [rec("10.0.1.50", 40001, "10.0.3.11", 1, 900), rec("10.0.1.51", 40002, "10.0.3.12", 4, 120, 0x100),
               rec("10.0.1.52", 40003, "10.0.3.99", 1, 900)])
other = msg(8, [rec("10.0.1.53", 40004, "10.0.3.11", 1, 900)])
for m in (good, other, b"\x00\x07\x00\x20junk"):
    s.sendto(m, ("224.0.0.81", 8848))
"#;

#[test]
fn lab_sync_backup_creates_the_masters_connections() {
    let _lab = Lab::up();
    let path = write_config("sync-backup", &lab_config(NAT_RR));
    let mut rvsd = Rvsd::start(&path);
    rvsadm_ok("--start-daemon backup --mcast-interface wan --syncid 7");
    assert_eq!(rvsadm_ok("-L --daemon"), "backup sync daemon (mcast=wan, syncid=7)\n");
    let start = Instant::now();
    let listed = loop {
        ns_ok("rvs-router", &["/usr/bin/python3", "-c", SENDER]);
        std::thread::sleep(Duration::from_millis(300));
        let l = rvsadm_ok("-L -n -c");
        if l.contains("10.0.1.51:40002") || start.elapsed() > Duration::from_secs(10) {
            break l;
        }
    };
    let row = |c: &str| listed.lines().find(|l| l.contains(c)).map(|l| l.split_whitespace().collect::<Vec<_>>());
    let a = row("10.0.1.50:40001").unwrap_or_else(|| panic!("{listed}"));
    assert_eq!((a[0], a[2], a[4], a[5]), ("TCP", "ESTABLISHED", "10.0.2.100:80", "10.0.3.11:80"), "{listed}");
    assert!(a[1].starts_with("14:") || a[1] == "15:00", "the master's timeout: {listed}");
    let b = row("10.0.1.51:40002").unwrap_or_else(|| panic!("{listed}"));
    assert_eq!((b[2], b[5]), ("FIN_WAIT", "10.0.3.12:80"), "{listed}");
    assert!(b[1].starts_with("01:") || b[1] == "02:00", "{listed}");
    assert!(row("10.0.1.52").is_none(), "no such real server here: {listed}");
    assert!(row("10.0.1.53").is_none(), "another syncid: {listed}");
    let m = rvsd.metrics();
    assert!(sample(&m, "rvs_sync_records_total{result=\"unknown_dest\"}") >= 1, "{m}");
    assert!(sample(&m, "rvs_sync_errors_total{kind=\"syncid\"}") >= 1, "{m}");
    assert!(sample(&m, "rvs_sync_errors_total{kind=\"decode\"}") >= 1, "{m}");
    rvsadm_ok("--stop-daemon backup");
    assert_eq!(rvsadm_ok("-L --daemon"), "");
    let _ = &mut rvsd;
}
