//! rvsadm against a live rvsd in the lab: the command sequences of the seeds (LVS
//! guides) run unchanged with the program name swapped, and traffic follows them.

mod common;

use std::time::Duration;

use common::{curl, lab_config, ns, rvsadm, rvsadm_ok, write_config, Lab, Rvsd};

const VIP_URL: &str = "http://10.0.2.100/";

fn bodies(n: usize) -> Vec<String> {
    (0..n).map(|_| curl(VIP_URL).trim().to_string()).collect()
}

fn alternates(b: &[String]) -> bool {
    b.windows(2).all(|w| w[0] != w[1]) && b.iter().all(|x| x.starts_with("Web Server "))
}

/// Keep-alive HTTP connections held open by one python process in the client namespace:
/// `n` connections, then on each line of stdin one more request on every connection;
/// prints how many got a 200.
struct OpenConnections(std::process::Child, std::io::BufReader<std::process::ChildStdout>);

impl OpenConnections {
    fn open(n: usize) -> Self {
        let script = format!(
            r#"
import http.client, sys
cs = [http.client.HTTPConnection('10.0.2.100', 80, timeout=10) for _ in range({n})]
def round():
    ok = 0
    for c in cs:
        try:
            c.request('GET', '/'); r = c.getresponse(); r.read(); ok += r.status == 200
        except Exception:
            pass
    print(ok, flush=True)
round()
for _ in sys.stdin:
    round()
"#
        );
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", "rvs-client", "/usr/bin/python3", "-c", &script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        OpenConnections(child, out)
    }

    fn answered(&mut self) -> usize {
        use std::io::BufRead;
        let mut line = String::new();
        self.1.read_line(&mut line).expect("python output");
        line.trim().parse().expect("a count")
    }

    fn again(&mut self) -> usize {
        use std::io::Write;
        let stdin = self.0.stdin.as_mut().expect("stdin");
        writeln!(stdin).and_then(|_| stdin.flush()).expect("python stdin");
        self.answered()
    }
}

impl Drop for OpenConnections {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn lab_seed_sequences_drive_traffic_live() {
    let _lab = Lab::up();
    let path = write_config("rvsadm", &lab_config(""));
    let mut rvsd = Rvsd::start(&path);

    // Seed 004 (NAT): add, list, save, clear, restore.
    rvsadm_ok("-A -t 10.0.2.100:80 -s rr");
    rvsadm_ok("-a -t 10.0.2.100:80 -r 10.0.3.11 -m");
    rvsadm_ok("-a -t 10.0.2.100:80 -r 10.0.3.12 -m");
    let b = bodies(6);
    assert!(alternates(&b), "{b:?}");
    let stats = rvsadm_ok("-L -n --stats");
    assert!(stats.starts_with("IP Virtual Server version 1.2.1 (size=131072)\nProt LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"), "{stats}");
    // ipvsadm's "%-33s %8s": the service, then its connections.
    let row = format!("{:<33} {:>8} ", "TCP  10.0.2.100:80", 6);
    assert!(stats.contains(&row), "six connections counted:\n{stats}");
    let saved = rvsadm_ok("-S -n");
    assert_eq!(saved, "-A -t 10.0.2.100:80 -s rr\n-a -t 10.0.2.100:80 -r 10.0.3.11:80 -m -w 1\n-a -t 10.0.2.100:80 -r 10.0.3.12:80 -m -w 1\n");
    rvsadm_ok("-C");
    assert_eq!(rvsadm_ok("-S -n"), "");
    assert!(ns("rvs-client", &["curl", "-s", "--max-time", "2", VIP_URL]).stdout.is_empty(), "no service: no answer");
    let (code, _, err) = rvsadm("-R", Some(&saved));
    assert_eq!(code, 0, "{err}");
    assert_eq!(rvsadm_ok("-S -n"), saved);
    assert!(alternates(&bodies(4)));

    // Adding a real server while 100 connections are open loses none of them.
    rvsadm_ok("-C");
    rvsadm_ok("-A -t 10.0.2.100:80 -s rr");
    rvsadm_ok("-a -t 10.0.2.100:80 -r 10.0.3.11 -m");
    let mut open = OpenConnections::open(100);
    assert_eq!(open.answered(), 100);
    rvsadm_ok("-a -t 10.0.2.100:80 -r 10.0.3.12 -m");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(open.again(), 100, "every open connection still answered");
    let counts = rvsadm_ok("-L -n");
    // ActiveConn 100; InActConn holds the earlier curls' closed connections until expiry.
    assert!(counts.contains("  -> 10.0.3.11:80                 Masq    1      100        "), "{counts}");
    let conns = rvsadm_ok("-L -n -c");
    assert!(
        conns.starts_with(
            "IPVS connection entries\npro expire state       source             virtual            destination\n"
        ),
        "{conns}"
    );
    assert_eq!(
        conns.lines().filter(|l| l.contains(" ESTABLISHED ") && l.ends_with("10.0.3.11:80")).count(),
        100,
        "{conns}"
    );
    drop(open);
    assert!(bodies(4).contains(&"Web Server 2".to_string()), "the new server takes new connections");

    // Seed 003 (DR, weighted): 3:1.
    rvsadm_ok("-C");
    rvsadm_ok("-A -t 10.0.2.100:80 -s wrr");
    rvsadm_ok("-a -t 10.0.2.100:80 -r 10.0.3.11 -g -w 3");
    rvsadm_ok("-a -t 10.0.2.100:80 -r 10.0.3.12 -g -w 1");
    let one = bodies(40).iter().filter(|b| *b == "Web Server 1").count();
    assert!((28..=32).contains(&one), "wrr 3:1: {one}/40");

    // Seed 002 (DR, round robin, then a server removed by a health check script).
    rvsadm_ok("-E -t 10.0.2.100:80 -s rr");
    rvsadm_ok("-e -t 10.0.2.100:80 -r 10.0.3.11 -g -w 1");
    assert!(alternates(&bodies(4)));
    rvsadm_ok("-d -t 10.0.2.100:80 -r 10.0.3.12");
    assert!(bodies(4).iter().all(|b| b == "Web Server 1"));

    // Deleting the service stops new connections.
    rvsadm_ok("-D -t 10.0.2.100:80");
    assert!(!ns("rvs-client", &["curl", "-s", "--max-time", "2", VIP_URL]).status.success());

    // Bad input: ipvsadm's words, a non-zero exit, nothing changed.
    rvsadm_ok("-A -t 10.0.2.100:80 -s rr");
    let before = rvsadm_ok("-S -n");
    for (args, code, msg) in [
        ("-A -t 10.0.2.100:81 -s bogus", 255, "Scheduler or persistence engine not found\n"),
        ("-A -t 10.0.2.100:0 -s rr", 2, "Zero port specified for non-persistent service\n"),
        ("-E -t 10.0.2.200:80 -s rr", 255, "No such service\n"),
    ] {
        let (c, _, e) = rvsadm(args, None);
        assert_eq!((c, e.as_str()), (code, msg), "rvsadm {args}");
    }
    let (c, _, e) = rvsadm("-a -t 10.0.2.100:80 -r 10.0.3.300 -m", None);
    assert!(c != 0 && e.contains("illegal"), "{c} {e}");
    assert_eq!(rvsadm_ok("-S -n"), before);

    let (status, _) = rvsd.terminate();
    assert!(status.success());
}

/// An LVS director's `ipvsadm -S -n` output loads unchanged at start.
#[test]
fn lab_rvsd_restores_an_ipvsadm_save_file_at_start() {
    let _lab = Lab::up();
    let rules = "-A -t 10.0.2.100:80 -s rr\n-a -t 10.0.2.100:80 -r 10.0.3.11:80 -m -w 1\n-a -t 10.0.2.100:80 -r 10.0.3.12:80 -m -w 1\n";
    let rules_path = write_config("rules", rules);
    let path = write_config("restore", &lab_config(""));
    let mut rvsd = Rvsd::start_with(&path, &["--restore", rules_path.to_str().unwrap()]);
    assert_eq!(rvsadm_ok("-S -n"), rules);
    assert!(alternates(&bodies(4)));
    let (status, _) = rvsd.terminate();
    assert!(status.success());
}

/// What a new user hit, said in rvs's words: a second rvsd on a file prefix another holds
/// names the holder (not DPDK's "Success", not its twins); rvsadm run by a user other
/// than root is told to run as root.
#[test]
fn lab_second_rvsd_and_non_root_rvsadm_are_told_why() {
    let _lab = Lab::up();
    let path = write_config("second", &lab_config(""));
    let mut rvsd = Rvsd::start(&path);
    let out = ns("rvs-director", &[env!("CARGO_BIN_EXE_rvsd"), "--config", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let want = format!("process {} (another rvsd?) runs DPDK with --file-prefix=rvs-lab-test", rvsd.pid());
    assert!(err.contains(&want) && err.contains("nothing started"), "{err}");
    let nobody = ns(
        "rvs-director",
        &[
            "env",
            &format!("RVSADM_SOCKET={}", common::LAB_SOCKET),
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_rvsadm"),
            "-L",
            "-n",
        ],
    );
    let err = String::from_utf8_lossy(&nobody.stderr);
    assert!(err.contains("Permission denied") && err.contains("rvsadm must run as root"), "{err}");
    assert!(rvsadm_ok("-L -n").contains("IP Virtual Server"), "the first rvsd still serves");
    let (status, _) = rvsd.terminate();
    assert!(status.success());
}
