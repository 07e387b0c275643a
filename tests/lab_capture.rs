//! `rvsadm --capture` against a live rvsd in the lab: a NAT service's connection seen
//! on both sides of the director, before and after each rewrite, as tshark reads the
//! file; and a port capture.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{curl, lab_config, rvsadm, rvsadm_ok, write_config, Lab, Rvsd, Scratch};

/// One packet as tshark prints it.
#[derive(Debug, Clone, PartialEq)]
struct Pkt {
    iface: String,
    src: String,
    sport: u16,
    dst: String,
    dport: u16,
    syn: bool,
    ack: bool,
    payload: u32,
}

fn tshark(file: &str) -> Vec<Pkt> {
    let out = Command::new("tshark")
        .args(["-r", file, "-T", "fields", "-E", "separator=,", "-e", "frame.interface_name"])
        .args(["-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport"])
        .args(["-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.len"])
        .output()
        .expect("tshark");
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    let flag = |s: &str| s == "1" || s == "True";
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("");
            Pkt {
                iface: get(0).into(),
                src: get(1).into(),
                sport: get(2).parse().unwrap_or(0),
                dst: get(3).into(),
                dport: get(4).parse().unwrap_or(0),
                syn: flag(get(5)),
                ack: flag(get(6)),
                payload: get(7).parse().unwrap_or(0),
            }
        })
        .collect()
}

fn capture_file(name: &str) -> String {
    std::env::temp_dir().join(format!("rvs-{}-{name}.pcapng", std::process::id())).to_string_lossy().into_owned()
}

/// Start `rvsadm --capture ARGS`, give the workers a few ticks to arm, run `traffic`,
/// and return rvsadm's stdout (it must succeed).
fn capture_while(args: String, traffic: impl FnOnce()) -> String {
    let t = std::thread::spawn(move || rvsadm(&args, None));
    std::thread::sleep(Duration::from_millis(300));
    traffic();
    let (code, out, err) = t.join().expect("rvsadm thread");
    assert_eq!(code, 0, "rvsadm --capture: {err}");
    out
}

#[test]
fn lab_capture_of_a_nat_service_and_of_a_port() {
    let _lab = Lab::up();
    let _scratch = Scratch;
    let path = write_config("capture", &lab_config(""));
    let _rvsd = Rvsd::start(&path);
    rvsadm_ok("-A -t 10.0.2.100:80 -s rr");
    rvsadm_ok("-a -t 10.0.2.100:80 -r 10.0.3.11 -m");
    rvsadm_ok("-a -t 10.0.2.100:80 -r 10.0.3.12 -m");
    std::thread::sleep(Duration::from_millis(100));

    // Bad command lines: ipvsadm-style usage, exit 2; a port rvsd lacks: 255.
    let (code, _, err) = rvsadm("--capture -i wan -c 10", None);
    assert_eq!(code, 2);
    assert!(err.contains("rvsadm --capture -i port"), "{err}");
    let (code, _, err) = rvsadm(&format!("--capture -i nosuch -c 1 -w {}", capture_file("x")), None);
    assert_eq!((code, err.trim()), (255, "rvsadm: no port named nosuch"));

    // The service: 40 frames, then stop (3 connections would give about 60).
    let file = capture_file("svc");
    let out = capture_while(format!("--capture -t 10.0.2.100:80 -c 40 -w {file} --timeout 20"), || {
        for _ in 0..3 {
            assert!(curl("http://10.0.2.100/").starts_with("Web Server "));
        }
    });
    assert!(out.starts_with(&format!("40 packets captured to {file} (")), "{out}");
    assert!(out.contains("\n0 packets not captured"), "{out}");
    let pkts = tshark(&file);
    assert_eq!(pkts.len(), 40, "{pkts:#?}");
    // The first connection: its client port from the SYN as received.
    let syn = pkts
        .iter()
        .find(|p| p.iface == "wan-in" && p.syn && !p.ack && p.dst == "10.0.2.100" && p.dport == 80)
        .unwrap_or_else(|| panic!("client SYN before rewrite: {pkts:#?}"));
    assert_eq!(syn.src, "10.0.1.2");
    let cport = syn.sport;
    let conn: Vec<&Pkt> = pkts.iter().filter(|p| p.sport == cport || p.dport == cport).collect();
    let dnat = conn
        .iter()
        .find(|p| p.iface == "lan-out" && p.syn && !p.ack && p.src == "10.0.1.2")
        .unwrap_or_else(|| panic!("SYN after DNAT: {conn:#?}"));
    let rs = dnat.dst.clone();
    assert!(rs == "10.0.3.11" || rs == "10.0.3.12", "{dnat:?}");
    assert_eq!(dnat.dport, 80);
    let has = |iface: &str, src: &str, sport: u16, dst: &str, dport: u16, what: fn(&Pkt) -> bool| {
        conn.iter().any(|p| {
            p.iface == iface && p.src == src && p.sport == sport && p.dst == dst && p.dport == dport && what(p)
        })
    };
    let synack: fn(&Pkt) -> bool = |p| p.syn && p.ack;
    let data: fn(&Pkt) -> bool = |p| p.payload > 0;
    // The reply before SNAT (from the real server) and after (from the VIP).
    assert!(has("lan-in", &rs, 80, "10.0.1.2", cport, synack), "SYN-ACK before SNAT: {conn:#?}");
    assert!(has("wan-out", "10.0.2.100", 80, "10.0.1.2", cport, synack), "SYN-ACK after SNAT: {conn:#?}");
    // The request on both sides, and the response on both sides.
    assert!(has("wan-in", "10.0.1.2", cport, "10.0.2.100", 80, data), "request before DNAT: {conn:#?}");
    assert!(has("lan-out", "10.0.1.2", cport, &rs, 80, data), "request after DNAT: {conn:#?}");
    assert!(has("lan-in", &rs, 80, "10.0.1.2", cport, data), "response before SNAT: {conn:#?}");
    assert!(has("wan-out", "10.0.2.100", 80, "10.0.1.2", cport, data), "response after SNAT: {conn:#?}");
    // Nothing but the service's frames.
    assert!(pkts.iter().all(|p| p.dport == 80 || p.sport == 80), "{pkts:#?}");

    // A port: only wan's frames, both ways.
    let file = capture_file("wan");
    let out = capture_while(format!("--capture -i wan -c 10 -w {file} --timeout 20"), || {
        for _ in 0..2 {
            curl("http://10.0.2.100/");
        }
    });
    assert!(out.starts_with("10 packets captured"), "{out}");
    let pkts = tshark(&file);
    assert_eq!(pkts.len(), 10);
    assert!(pkts.iter().all(|p| p.iface == "wan-in" || p.iface == "wan-out"), "{pkts:#?}");
    assert!(pkts.iter().any(|p| p.iface == "wan-in") && pkts.iter().any(|p| p.iface == "wan-out"), "{pkts:#?}");

    // Off again: a capture that times out says so and writes what it got.
    let file = capture_file("idle");
    let out = capture_while(format!("--capture -t 10.0.2.100:80 -c 5 -w {file} --timeout 1"), || {});
    assert_eq!(out.lines().next(), Some(format!("0 packets captured to {file} (0 as received, 0 as sent)").as_str()));
    assert!(out.contains("stopped after 1 s"), "{out}");
}
