//! Failover that keeps established connections (seed 000's MASTER and BACKUP with IPVS
//! connection sync), in the two-director lab (`RVS_LAB_DIRECTORS=2`). Both rvsd run
//! keepalived's VRRP from their keepalived.conf; director 1 is MASTER and runs the sync
//! daemon as master, director 2 as backup (`rvsadm --start-daemon`, protocol v1 over
//! 224.0.0.81 on the twins). Mid-download, with a keep-alive session and 1,000 idle
//! connections open, rvsd on the master is SIGKILLed: director 2 takes the VIP and the
//! real servers' gateway, and everything open goes on through it.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use common::pair::*;
use common::*;

const BACKUP_PRIORITY: u32 = 100;
const IDLE: usize = 1000;

/// In the client's namespace: a keep-alive HTTP session's first request and `IDLE`
/// idle connections, "ready"; then, once `go` exists, the session's next request and a
/// request on every idle connection, "after <body> <answered>".
const CLIENT: &str = r#"
import http.client, os, resource, selectors, socket, sys, time
n, go = int(sys.argv[1]), sys.argv[2]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 32768), hard))
ka = http.client.HTTPConnection("10.0.2.100", 80, timeout=10)
ka.request("GET", "/")
first = ka.getresponse().read().decode().strip().replace(" ", "_")
socks = [socket.create_connection(("10.0.2.100", 80), timeout=10) for _ in range(n)]
print("ready", first, flush=True)
while not os.path.exists(go):
    time.sleep(0.02)
ka.request("GET", "/")
second = ka.getresponse().read().decode().strip().replace(" ", "_")
sel = selectors.DefaultSelector()
for s in socks:
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    except OSError:
        pass
answered, end = 0, time.time() + 15
while sel.get_map() and time.time() < end:
    for key, _ in sel.select(timeout=0.5):
        try:
            data = key.fileobj.recv(4096)
        except OSError:
            data = b""
        answered += data.startswith(b"HTTP/1.1 200")
        sel.unregister(key.fileobj)
print("after", second, answered, flush=True)
"#;

/// The client script running in the client's namespace: its keep-alive session's first
/// answer once its connections are open, then, on [`Client::finish`], the second answer
/// and how many idle connections answered.
struct Client {
    child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    go: std::path::PathBuf,
    first: String,
}

impl Client {
    fn open(n: usize, name: &str) -> Client {
        let go = std::env::temp_dir().join(format!("rvs-{}-{name}-go", std::process::id()));
        let _ = std::fs::remove_file(&go);
        let mut child = Command::new("ip")
            .args(["netns", "exec", "rvs-client", "/usr/bin/python3", "-c", CLIENT, &n.to_string()])
            .arg(&go)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = lines.next().and_then(Result::ok).unwrap_or_default();
        let first = ready.strip_prefix("ready ").unwrap_or_else(|| panic!("client: {ready:?}")).to_string();
        Client { child, lines, go, first }
    }

    /// The session's next answer and the idle connections answered.
    fn finish(mut self) -> (String, Option<usize>) {
        std::fs::write(&self.go, b"").unwrap();
        let after = self.lines.next().and_then(Result::ok).unwrap_or_default();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.go);
        let mut f = after.split_whitespace().skip(1);
        (f.next().unwrap_or_default().to_string(), f.next().and_then(|n| n.parse().ok()))
    }
}

/// Director 1 as MASTER (waited for), then director 2, each from its keepalived.conf.
fn pair(k1: &str, k2: &str, services: &str) -> (Rvsd, Rvsd) {
    std::fs::create_dir_all(LAB_RUN2).unwrap();
    let d1 = Rvsd::start(&rvsd_config_with(1, k1, services));
    wait_for(Duration::from_secs(10), || holds("rvs-director") == (true, true))
        .unwrap_or_else(|| panic!("director 1 never became MASTER:\n{}", d1.output()));
    let d2 = Rvsd::start_in("rvs-director2", &rvsd_config_with(2, k2, services));
    (d1, d2)
}

/// What `-L --daemon` prints for a daemon in `state` on the lab's settings.
fn daemon(state: &str) -> String {
    format!("{state} sync daemon (mcast=wan, syncid=51)\n")
}

/// ESTABLISHED connections director `n` lists.
fn established(n: u8) -> usize {
    rvsadm_on(n, "-L -n -c").lines().filter(|l| l.contains("ESTABLISHED")).count()
}

/// How a failover case runs.
struct Case {
    /// VRRP version and advert interval (seconds).
    version: u8,
    advert_int: f64,
    /// SIGKILL to keepalived too (the whole master lost), not only to rvsd.
    whole: bool,
    /// The sync daemons from keepalived.conf's `lvs_sync_daemon`, else from rvsadm.
    lvs_sync: bool,
    /// The TOML services on 10.0.2.100:80 over rs1 and rs2; none: seed 000's
    /// `virtual_server` in the keepalived.conf.
    services: &'static str,
    /// VRRP adverts on the lab's management link (`interface mgmt`), not the wan twin.
    mgmt: bool,
}

const V2: Case = Case { version: 2, advert_int: 1.0, whole: false, lvs_sync: false, services: "", mgmt: false };

/// seed 000's `virtual_server` with the lab's addresses, in the keepalived.conf beside
/// its `vrrp_instance` when a case has no TOML services.
const SEED000_VS: &str = r#"
virtual_server 10.0.2.100 80 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.3.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            retry 3
            delay_before_retry 3
            connect_port 80
        }
    }
    real_server 10.0.3.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            retry 3
            delay_before_retry 3
            connect_port 80
        }
    }
}
"#;

/// SIGKILL to rvsd on the master: its keepalived goes with it (parent-death signal).
#[test]
fn lab_established_connections_survive_the_masters_rvsd_crash() {
    failover(V2);
}

/// The whole master lost at once (SIGKILL to rvsd and to its keepalived, no goodbye
/// advert), VRRP v3 with half-second adverts: the backup takes over within the
/// master-down interval (1.5 s + skew) plus 0.5 s, under 3 s. The sync daemons are
/// keepalived's `lvs_sync_daemon wan VI_1`: they follow the instance's state.
#[test]
fn lab_established_connections_survive_losing_the_whole_master() {
    failover(Case { version: 3, advert_int: 0.5, whole: true, lvs_sync: true, ..V2 });
}

/// The same through the SYN proxy: the backup has each connection's sequence, window
/// scale and timestamp translations from rvs's optional sync records, and goes on
/// translating (a kernel IPVS backup would skip them).
#[test]
fn lab_syn_proxied_connections_survive_the_masters_rvsd_crash() {
    failover(Case { version: 3, advert_int: 0.5, services: SYNPROXY_RR.as_str(), ..V2 });
}

/// FullNAT: the backup has each connection's local address and port and its sequence
/// offset from the optional records; it answers for the local address from the moment
/// it holds the VIP (and announces it), so the real servers' replies come to it.
#[test]
fn lab_fullnat_connections_survive_the_masters_rvsd_crash() {
    failover(Case { version: 3, advert_int: 0.5, services: FNAT_RR.as_str(), ..V2 });
}

/// [`NAT_RR`] with `extra` lines on the service and its servers' `method`.
fn nat_rr_as(extra: &str, method: &str) -> String {
    NAT_RR.replacen("scheduler = \"rr\"\n", &format!("scheduler = \"rr\"\n{extra}"), 1).replace("\"masq\"", method)
}

static FNAT_RR: LazyLock<String> = LazyLock::new(|| nat_rr_as("laddrs = [\"10.0.3.200\"]\n", "\"fullnat\""));
static SYNPROXY_RR: LazyLock<String> = LazyLock::new(|| nat_rr_as("synproxy = true\n", "\"masq\""));

/// seed 000's configuration with its adverts on a link rvsd does not hold (the lab's
/// `mgmt`), the VIP and gateway still on the twins: when rvsd crashes, keepalived (gone
/// with it by the parent-death signal) still sends its priority-0 goodbye, and the
/// backup holds the VIP within 1.5 s instead of VRRP's master-down interval.
#[test]
fn lab_with_vrrp_on_a_management_link_the_backup_takes_over_within_1_5_s() {
    failover(Case { mgmt: true, ..V2 });
}

fn failover(case: Case) {
    let Case { version, advert_int, whole, lvs_sync, services, mgmt } = case;
    let _lab = Lab::up_with(&[("RVS_LAB_DIRECTORS", "2")]);
    let kconf = |state, priority| {
        let mut c = keepalived_conf_v(version, state, priority, advert_int);
        if mgmt {
            c = replace_once(&c, "    interface wan\n", "    interface mgmt\n");
        }
        if services.is_empty() {
            c.push_str(SEED000_VS);
        }
        if lvs_sync {
            with_sync_daemon(&c)
        } else {
            c
        }
    };
    let (mut d1, d2) = pair(&kconf("MASTER", 150), &kconf("BACKUP", BACKUP_PRIORITY), services);
    if lvs_sync {
        let roles = wait_for(Duration::from_secs(5), || {
            rvsadm_on(1, "-L --daemon") == daemon("master") && rvsadm_on(2, "-L --daemon") == daemon("backup")
        });
        assert!(roles.is_some(), "lvs_sync_daemon: director 1 master, 2 backup:\n{}\n{}", d1.output(), d2.output());
    } else {
        rvsadm_on(1, "--start-daemon master --mcast-interface wan --syncid 51");
        rvsadm_on(2, "--start-daemon backup --mcast-interface wan --syncid 51");
    }
    let down_interval = 3.0 * advert_int + (256 - BACKUP_PRIORITY) as f64 / 256.0 * advert_int;
    std::thread::sleep(Duration::from_secs_f64(down_interval + 0.5));
    assert_eq!(holds("rvs-director2"), (false, false), "director 2 stays BACKUP:\n{}", d2.output());

    // A 20 MiB download at 1.5 MB/s (about 14 s), a keep-alive session, 1,000 idle
    // connections.
    let want = ns_ok("rvs-rs1", &["cat", "/tmp/rvs-lab/rvs-rs1/www/big.bin.sha256"]);
    let download = Command::new("ip")
        .args(["netns", "exec", "rvs-client", "sh", "-c"])
        .arg("curl -sS --max-time 60 --limit-rate 1500K http://10.0.2.100/big.bin | sha256sum")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl");
    let client = Client::open(IDLE, "failover");
    let first = client.first.clone();
    let opened = Instant::now();
    // Every connection reaches the backup through the sync daemon.
    let want_conns = IDLE + 2;
    let synced = wait_for(Duration::from_secs(10), || established(2) >= want_conns);
    let (on_master, on_backup) = (established(1), established(2));
    eprintln!(
        "synced: {on_backup} of the master's {on_master} established connections on the backup \
         {:?} after the last was opened",
        synced.map(|_| opened.elapsed())
    );
    assert!(synced.is_some(), "the backup holds {on_backup} of {want_conns} connections:\n{}", d2.output());

    if services.contains("fullnat") {
        let peers = ns_ok("rvs-rs1", &["ss", "-Htn", "state", "established"]);
        let from_laddr = peers.lines().filter(|l| l.contains("10.0.3.200:")).count();
        assert!(from_laddr * 4 >= IDLE, "rs1 sees the connections from the local address: {from_laddr}");
    }
    if services.contains("synproxy = true") {
        let valid = sum(&d1.metrics(), "rvs_synproxy_cookies_valid_total{");
        assert!(valid >= want_conns as u64, "every connection opened through the SYN proxy: {valid} cookies valid");
    }
    // Mid-download, rvsd on the master crashes (or the whole master is lost).
    std::thread::sleep(Duration::from_secs(2));
    let keepalived = keepalived_procs("rvs-director");
    if whole {
        eprintln!("SIGKILL to keepalived {keepalived:?} and rvsd on director 1");
    }
    let t0 = Instant::now();
    if whole {
        // Frozen first: keepalived's VRRP child would otherwise catch its own
        // parent-death signal between the two SIGKILLs and send a goodbye advert.
        for sig in ["-STOP", "-KILL"] {
            let _ = Command::new("kill").arg(sig).args(&keepalived).status();
        }
    }
    d1.kill();
    let took = wait_for(Duration::from_secs(10), || holds("rvs-director2") == (true, true)).map(|_| t0.elapsed());
    let took = took.unwrap_or_else(|| panic!("director 2 never took over:\n{}", d2.output()));
    if lvs_sync {
        // The new MASTER's daemon turns master with it.
        let turned = wait_for(Duration::from_secs(2), || rvsadm_on(2, "-L --daemon") == daemon("master"));
        assert!(turned.is_some(), "director 2's sync daemon follows VRRP: {}", rvsadm_on(2, "-L --daemon"));
    }

    let (second, answered) = client.finish();
    let out = download.wait_with_output().expect("curl");
    let got = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string();
    let fresh = curl("http://10.0.2.100/");
    let killed = if whole { "rvsd and keepalived" } else { "rvsd" };
    let sha = if got == want.split_whitespace().next().unwrap_or("-") { "matches" } else { "DIFFERS" };
    eprintln!(
        "VRRP v{version}, advert_int {advert_int}: after SIGKILL of {killed} on director 1: director 2 \
         holds the VIP and gateway at {took:?} (master-down interval {down_interval:.2} s); \
         keep-alive session {first} -> {second}; idle connections answered {answered:?}/{IDLE}; \
         download sha256 {sha}; new connection: {}",
        fresh.trim()
    );
    assert!(
        took.as_secs_f64() <= down_interval + 0.5,
        "director 2 took over {took:?} after the crash; master-down interval {down_interval:.2} s"
    );
    if whole {
        assert!(took < Duration::from_secs(3), "VRRP v3 at 0.5 s adverts takes over in under 3 s: {took:?}");
    }
    if mgmt {
        assert!(took <= Duration::from_millis(1500), "the goodbye advert: taken over {took:?} after rvsd's crash");
    }
    assert_eq!(
        got,
        want.split_whitespace().next().unwrap_or_default(),
        "the download completes intact through director 2: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(second, first, "the keep-alive session's next request, on the same real server");
    let answered = answered.unwrap_or_else(|| panic!("the client never reported the idle connections"));
    assert!(answered * 100 >= IDLE * 99, "{answered}/{IDLE} idle connections answered after the failover");
    assert!(fresh.starts_with("Web Server"), "new connections work: {fresh}");
    let m = d2.metrics();
    assert!(sample(&m, "rvs_sync_connections_total{dir=\"received\"}") >= want_conns as u64, "{m}");
}

/// Entries in a director's connection tables (every worker's).
fn table_entries(m: &str) -> u64 {
    sum(m, "rvs_conn_table_entries{")
}

/// 10,000 connections opened through the master are all on the backup within 2 s of
/// the last one's opening.
#[test]
fn lab_ten_thousand_connections_reach_the_backup_within_two_seconds() {
    const N: usize = 10_000;
    let _lab = Lab::up_with(&[("RVS_LAB_DIRECTORS", "2")]);
    let (_d1, d2) =
        pair(&keepalived_conf("MASTER", 150, 1.0), &keepalived_conf("BACKUP", BACKUP_PRIORITY, 1.0), NAT_RR);
    rvsadm_on(1, "--start-daemon master --mcast-interface wan --syncid 51");
    rvsadm_on(2, "--start-daemon backup --mcast-interface wan --syncid 51");
    let client = Client::open(N, "sync10k");
    let opened = Instant::now();
    let synced = wait_for(Duration::from_secs(10), || table_entries(&d2.metrics()) >= (N + 1) as u64);
    let (on_master, on_backup) = (established(1), established(2));
    eprintln!(
        "{on_backup} of the master's {on_master} established connections on the backup {:?} after the \
         last was opened",
        synced.map(|_| opened.elapsed())
    );
    client.finish();
    let synced = synced.unwrap_or_else(|| panic!("the backup holds {on_backup} of {}", N + 1));
    assert!(synced <= Duration::from_secs(2), "all on the backup {synced:?} after the last was opened");
    assert!(on_backup > N, "{on_backup} established on the backup");
}

/// The old master comes back and preempts, as its configuration says (both instances
/// `state BACKUP`, director 1 at the higher priority with `preempt_delay`), without
/// breaking what director 2 carried meanwhile: its sync daemon turned master with its
/// VRRP instance, and the returning director (backup) received every connection,
/// idle ones included, from the master's refresh before it preempted.
#[test]
fn lab_the_old_master_returns_and_preempts_without_breaking_flows() {
    const PREEMPT_DELAY: u64 = 12;
    let _lab = Lab::up_with(&[("RVS_LAB_DIRECTORS", "2")]);
    let kconf = |priority: u32| {
        let c = keepalived_conf_v(3, "BACKUP", priority, 0.5);
        let c = c.replace("    advert_int 0.5\n", &format!("    advert_int 0.5\n    preempt_delay {PREEMPT_DELAY}\n"));
        with_sync_daemon(&c)
    };
    let (mut d1, d2) = pair(&kconf(150), &kconf(BACKUP_PRIORITY), NAT_RR);
    let roles = |m: u8, b: u8| {
        rvsadm_on(m, "-L --daemon") == daemon("master") && rvsadm_on(b, "-L --daemon") == daemon("backup")
    };
    assert!(wait_for(Duration::from_secs(5), || roles(1, 2)).is_some(), "director 1 master, 2 backup");

    let client = Client::open(IDLE, "return");
    let first = client.first.clone();
    let want_conns = IDLE + 1;
    assert!(wait_for(Duration::from_secs(10), || established(2) >= want_conns).is_some(), "synced to director 2");

    // Director 1 fails; director 2 carries everything.
    d1.kill();
    assert!(wait_for(Duration::from_secs(10), || holds("rvs-director2") == (true, true)).is_some(), "takeover");
    assert!(wait_for(Duration::from_secs(3), || rvsadm_on(2, "-L --daemon") == daemon("master")).is_some());

    // Director 1 comes back: BACKUP first (it waits preempt_delay), filled by the
    // refresh of director 2's table, then MASTER again.
    let t0 = Instant::now();
    let d1 = Rvsd::start(&rvsd_config(1, &kconf(150)));
    let filled = wait_for(Duration::from_secs(PREEMPT_DELAY), || established(1) >= want_conns).map(|_| t0.elapsed());
    let backup_meanwhile = holds("rvs-director") == (false, false);
    let back = wait_for(Duration::from_secs(PREEMPT_DELAY + 10), || holds("rvs-director") == (true, true))
        .map(|_| t0.elapsed());
    let settled = wait_for(Duration::from_secs(5), || holds("rvs-director2") == (false, false) && roles(1, 2));
    let (second, answered) = client.finish();
    let fresh = curl("http://10.0.2.100/");
    eprintln!(
        "director 1 back: all {want_conns} connections on it {filled:?} after its start (it stayed BACKUP: \
         {backup_meanwhile}); MASTER again {back:?} after (preempt_delay {PREEMPT_DELAY} s); \
         keep-alive {first} -> {second}; idle answered {answered:?}/{IDLE}; new: {}",
        fresh.trim()
    );
    assert!(filled.is_some(), "director 1 holds {} of {want_conns} connections:\n{}", established(1), d1.output());
    assert!(backup_meanwhile, "director 1 waits its preempt_delay as BACKUP");
    assert!(back.is_some(), "director 1 preempts:\n{}", d1.output());
    assert!(settled.is_some(), "director 2 BACKUP and its sync daemon backup again:\n{}", d2.output());
    assert_eq!(second, first, "the keep-alive session's next request, on the same real server");
    let answered = answered.unwrap_or_else(|| panic!("the client never reported the idle connections"));
    assert!(answered * 100 >= IDLE * 99, "{answered}/{IDLE} idle connections answered after the return");
    assert!(fresh.starts_with("Web Server"), "new connections work: {fresh}");
}
