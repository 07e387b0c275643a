//! Two directors, MASTER and BACKUP (seed 000), in the two-director lab
//! (`RVS_LAB_DIRECTORS=2`): each rvsd runs keepalived's VRRP on its twins from its own
//! keepalived.conf (seed 000's vrrp_instance, lab addresses), which floats the VIP on the
//! wan and the real servers' gateway 10.0.3.1 on the lan. Director 1 (priority 150) holds
//! both and forwards; rvsd on it is SIGKILLed: its keepalived goes with it (parent-death
//! signal), and director 2 takes both addresses within VRRP's master-down interval and
//! serves new connections. (Connections surviving the failover is connection sync's job.)

mod common;

use std::time::{Duration, Instant};

use common::*;

const ADVERT_INT: f64 = 1.0;
const BACKUP_PRIORITY: u32 = 100;

/// One director's keepalived.conf: seed 000's vrrp_instance with the lab's addresses.
fn keepalived_conf(state: &str, priority: u32) -> String {
    format!(
        r#"vrrp_instance VI_1 {{
    state {state}
    interface wan
    virtual_router_id 51
    priority {priority}
    advert_int {ADVERT_INT}
    authentication {{
        auth_type PASS
        auth_pass 1111
    }}
    virtual_ipaddress {{
        10.0.2.100/24 dev wan
        10.0.3.1/24 dev lan
    }}
}}
"#
    )
}

/// Director `n`'s rvsd configuration, running keepalived's VRRP on `kconf`.
fn rvsd_config(n: u8, kconf: &str) -> std::path::PathBuf {
    let k = write_config(&format!("keepalived{n}"), kconf);
    let socket_line = lab_config_for(n, NAT_RR).lines().find(|l| l.starts_with("socket = ")).unwrap().to_string();
    let text = replace_once(
        &lab_config_for(n, NAT_RR),
        &socket_line,
        &format!("{socket_line}\nkeepalived = \"{}\"\nvrrp = true", k.display()),
    );
    write_config(&format!("rvsd{n}"), &text)
}

/// Whether `namespace`'s twins hold the VIP (wan) and the gateway (lan).
fn holds(namespace: &str) -> (bool, bool) {
    let has = |dev: &str, addr: &str| {
        let out = ns(namespace, &["ip", "-br", "-4", "addr", "show", "dev", dev]);
        String::from_utf8_lossy(&out.stdout).split_whitespace().any(|a| a == addr)
    };
    (has("wan", "10.0.2.100/24"), has("lan", "10.0.3.1/24"))
}

/// keepalived processes (not zombies) in `namespace`.
fn keepalived_procs(namespace: &str) -> Vec<String> {
    let out = std::process::Command::new("ip").args(["netns", "pids", namespace]).output().expect("ip netns pids");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // "pid (comm) state …"
            let after = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
            stat.contains("(keepalived)") && !after.starts_with('Z')
        })
        .map(String::from)
        .collect()
}

/// Polls `f` every 20 ms for up to `within`; how long it took to become true.
fn wait_for(within: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn answered() -> bool {
    ns("rvs-client", &["curl", "-sS", "--max-time", "0.5", "http://10.0.2.100/"]).status.success()
}

#[test]
fn lab_backup_director_takes_over_when_rvsd_on_the_master_dies() {
    let _lab = Lab::up_with(&[("RVS_LAB_DIRECTORS", "2")]);
    std::fs::create_dir_all(LAB_RUN2).unwrap();
    let mut d1 = Rvsd::start(&rvsd_config(1, &keepalived_conf("MASTER", 150)));
    wait_for(Duration::from_secs(10), || holds("rvs-director") == (true, true))
        .unwrap_or_else(|| panic!("director 1 never became MASTER:\n{}", d1.output()));
    let d2 = Rvsd::start_in("rvs-director2", &rvsd_config(2, &keepalived_conf("BACKUP", BACKUP_PRIORITY)));

    // Director 2 hears director 1's adverts (through both rvsd) and stays BACKUP past its
    // master-down interval; a split brain would show here.
    let down_interval = 3.0 * ADVERT_INT + (256 - BACKUP_PRIORITY) as f64 / 256.0 * ADVERT_INT;
    std::thread::sleep(Duration::from_secs_f64(down_interval + 1.0));
    assert_eq!(holds("rvs-director2"), (false, false), "director 2 stays BACKUP:\n{}", d2.output());
    assert_eq!(holds("rvs-director"), (true, true));
    let mut b: Vec<String> = (0..4).map(|_| curl("http://10.0.2.100/").trim().to_string()).collect();
    b.sort();
    assert_eq!(b, ["Web Server 1", "Web Server 1", "Web Server 2", "Web Server 2"], "through director 1");
    let (svc_in, svc_out) = (
        "rvs_service_in_packets_total{service=\"TCP 10.0.2.100:80\"}",
        "rvs_service_out_packets_total{service=\"TCP 10.0.2.100:80\"}",
    );
    assert_eq!(sample(&d2.metrics(), svc_in), 0, "the BACKUP forwards nothing");
    let before = keepalived_procs("rvs-director");
    assert_eq!(before.len(), 2, "keepalived and its VRRP child on director 1: {before:?}");

    // rvsd on the master crashes.
    let t0 = Instant::now();
    d1.kill();
    let gone = wait_for(Duration::from_secs(5), || keepalived_procs("rvs-director").is_empty());
    let took_vip =
        wait_for(Duration::from_secs(10).saturating_sub(t0.elapsed()), || holds("rvs-director2") == (true, true))
            .map(|_| t0.elapsed());
    let served = took_vip.and_then(|_| wait_for(Duration::from_secs(5), answered)).map(|_| t0.elapsed());
    eprintln!(
        "after SIGKILL of rvsd on director 1: its keepalived gone {gone:?}, director 2 holds the VIP and \
         gateway at {took_vip:?}, a new connection through the VIP answered at {served:?} \
         (master-down interval {down_interval:.2} s)"
    );

    // keepalived stopped with rvsd (its orderly stop takes about a second); the twins it
    // held the addresses on went with rvsd, so nothing of director 1 still claims them.
    let gone = gone.unwrap_or_else(|| panic!("keepalived outlived rvsd: {:?}", keepalived_procs("rvs-director")));
    assert!(gone <= Duration::from_millis(1500), "keepalived stopped {gone:?} after rvsd died");
    assert!(!ns("rvs-director", &["ip", "link", "show", "wan"]).status.success(), "director 1's twin is gone");
    let took_vip = took_vip.unwrap_or_else(|| panic!("director 2 never took over:\n{}", d2.output()));
    assert!(
        took_vip.as_secs_f64() <= down_interval + 0.5,
        "director 2 took over {took_vip:?} after the crash, master-down interval {down_interval:.2} s"
    );
    let served = served.unwrap_or_else(|| panic!("no new connection through director 2:\n{}", d2.output()));
    assert!(served - took_vip <= Duration::from_secs(1), "new connections {:?} after takeover", served - took_vip);
    let mut b: Vec<String> = (0..4).map(|_| curl("http://10.0.2.100/").trim().to_string()).collect();
    b.sort();
    assert_eq!(b, ["Web Server 1", "Web Server 1", "Web Server 2", "Web Server 2"], "through director 2");
    // Both ways through director 2: the replies found the gateway 10.0.3.1 there.
    let m = d2.metrics();
    assert!(sample(&m, svc_in) > 0 && sample(&m, svc_out) > 0, "director 2 forwards both ways:\n{m}");
}
