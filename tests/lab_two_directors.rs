//! Two directors, MASTER and BACKUP (seed 000), in the two-director lab
//! (`RVS_LAB_DIRECTORS=2`): each rvsd runs keepalived's VRRP on its twins from its own
//! keepalived.conf (seed 000's vrrp_instance, lab addresses), which floats the VIP on the
//! wan and the real servers' gateway 10.0.3.1 on the lan. Director 1 (priority 150) holds
//! both and forwards; rvsd on it is SIGKILLed: its keepalived goes with it (parent-death
//! signal), and director 2 takes both addresses within VRRP's master-down interval and
//! serves new connections. (Connections surviving the failover is connection sync's job.)

mod common;

use std::time::{Duration, Instant};

use common::pair::*;
use common::*;

const ADVERT_INT: f64 = 1.0;
const BACKUP_PRIORITY: u32 = 100;

fn answered() -> bool {
    ns("rvs-client", &["curl", "-sS", "--max-time", "0.5", "http://10.0.2.100/"]).status.success()
}

#[test]
fn lab_backup_director_takes_over_when_rvsd_on_the_master_dies() {
    let _lab = Lab::up_with(&[("RVS_LAB_DIRECTORS", "2")]);
    std::fs::create_dir_all(LAB_RUN2).unwrap();
    let mut d1 = Rvsd::start(&rvsd_config(1, &keepalived_conf("MASTER", 150, ADVERT_INT)));
    wait_for(Duration::from_secs(10), || holds("rvs-director") == (true, true))
        .unwrap_or_else(|| panic!("director 1 never became MASTER:\n{}", d1.output()));
    let d2 = Rvsd::start_in("rvs-director2", &rvsd_config(2, &keepalived_conf("BACKUP", BACKUP_PRIORITY, ADVERT_INT)));

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
