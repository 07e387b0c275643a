use std::process::Command;

use rvs_core::capture::Filter;

use super::*;

fn frame(last: u8) -> Vec<u8> {
    // Ethernet + IPv4/UDP 10.0.1.2:5000 -> 10.0.2.100:53, 4 bytes of payload.
    let mut v = vec![4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 2, 0x08, 0x00];
    v.extend_from_slice(&[0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 1, 2, 10, 0, 2, 100]);
    v.extend_from_slice(&[0x13, 0x88, 0, 53, 0, 12, 0, 0, 1, 2, 3, last]);
    v
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("rvs-capture-{}-{name}", std::process::id()))
}

#[test]
fn writes_pcapng_that_tshark_reads() {
    let cap = Capture::new(Filter::Port(1), 3, 256);
    cap.offer(1, Stage::In, 0, &frame(1), || 1_700_000_000_000_000_001);
    cap.offer(0, Stage::In, 0, &frame(9), || 0); // port 0: not taken
    cap.offer(1, Stage::Out, 2, &frame(2), || 1_700_000_000_000_000_002);
    cap.offer(1, Stage::Out, 2, &frame(3), || 1_700_000_000_000_000_003);
    let path = temp("w.pcapng");
    let file = std::fs::File::create(&path).unwrap();
    let ports = ["wan".to_string(), "lan".to_string()];
    let s = collect(&cap, &ports, 256, std::io::BufWriter::new(file), Duration::from_secs(5)).unwrap();
    assert_eq!(s, Summary { before: 1, after: 2, lost: 0, timed_out: false });
    assert!(!cap.armed());
    let Ok(out) = Command::new("tshark")
        .args(["-r"])
        .arg(&path)
        .args(["-T", "fields", "-E", "separator=|", "-e", "frame.interface_name", "-e", "udp.dstport"])
        .args(["-e", "frame.comment", "-e", "frame.time_epoch"])
        .output()
    else {
        let _ = std::fs::remove_file(&path);
        panic!("tshark not found: the independent decoder cannot run (scripts/setup installs it)");
    };
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(lines[0].starts_with("lan-in|53|before rewrite, worker 0|1700000000.000000001"), "{text}");
    assert!(lines[1].starts_with("lan-out|53|after rewrite, worker 2|"), "{text}");
}

#[test]
fn a_timeout_writes_what_came() {
    let cap = Capture::new(Filter::Port(0), 10, 128);
    cap.offer(0, Stage::In, 0, &frame(1), || 5);
    let mut buf = Vec::new();
    let s = collect(&cap, &["wan".into()], 128, &mut buf, Duration::from_millis(30)).unwrap();
    assert_eq!(s, Summary { before: 1, after: 0, lost: 0, timed_out: true });
    assert!(!cap.armed());
    assert!(buf.len() > 100);
}
