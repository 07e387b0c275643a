//! Real-server ids come back once a deleted server's connections are gone (IPVS's
//! ip_vs_dest_trash), so an add/delete loop never runs out of them.

mod worker_common;

use std::net::Ipv4Addr;
use std::sync::Arc;

use control::admin::{Admin, Request};
use control::live::Live;
use rvs_core::addr::{Addr, Protocol};
use rvs_core::conn::NewConn;
use rvs_core::service::Config;
use worker_common::Worker;

const MAX_DESTS: u32 = 64;

struct Rig {
    live: Arc<Live>,
    admin: Admin,
    w: Worker,
    now: u64,
}

fn rig() -> Rig {
    let (tx, rx) = crossbeam::channel::unbounded();
    let live = Arc::new(Live::new(Config::new(MAX_DESTS), vec![tx]));
    let w = Worker::new(live.snapshot(), rx, 1024, MAX_DESTS);
    let admin = Admin::new(live.clone(), vec![w.stats.clone()], 4096);
    let r = Rig { live, admin, w, now: 0 };
    r.ok("-A -t 10.0.2.100:80 -s rr");
    r
}

impl Rig {
    fn run(&self, line: &str) -> (i32, String) {
        let r = self.admin.execute(&Request { args: line.split_whitespace().map(String::from).collect(), stdin: None });
        (r.code, r.stderr)
    }
    #[track_caller]
    fn ok(&self, line: &str) {
        assert_eq!(self.run(line), (0, String::new()), "{line}");
    }
    /// The worker's next tick, then the control thread's periodic one.
    fn settle(&mut self) {
        self.now += 10;
        self.w.tick(self.now);
        self.admin.tick();
    }
}

fn rs(i: u32) -> String {
    format!("10.{}.{}.{}:80", 1 + i / 65536, (i / 256) % 256, i % 256)
}

#[test]
fn defect_08_an_add_delete_loop_never_runs_out_of_ids() {
    let mut r = rig();
    for i in 0..(3 * MAX_DESTS) {
        r.ok(&format!("-a -t 10.0.2.100:80 -r {} -m", rs(i)));
        r.ok(&format!("-d -t 10.0.2.100:80 -r {}", rs(i)));
        r.settle();
    }
    // -C too: its servers' ids come back.
    for i in 0..MAX_DESTS {
        r.ok(&format!("-a -t 10.0.2.100:80 -r {} -m", rs(1000 + i)));
    }
    r.ok("-C");
    r.settle();
    r.ok("-A -t 10.0.2.100:80 -s rr");
    for i in 0..MAX_DESTS {
        r.ok(&format!("-a -t 10.0.2.100:80 -r {} -m", rs(2000 + i)));
    }
}

#[test]
fn defect_08_an_id_comes_back_only_when_its_connections_are_gone_and_starts_at_zero() {
    let mut r = rig();
    r.ok("-a -t 10.0.2.100:80 -r 10.0.3.11:80 -m");
    r.settle();
    let d = r.live.snapshot().services()[0].dests[0];
    let client = (Addr::from(Ipv4Addr::new(10, 0, 1, 2)), 40000);
    let c = NewConn::to_dest(Protocol::Tcp, client, (Addr::from(Ipv4Addr::new(10, 0, 2, 100)), 80), &d);
    let conn = r.w.dir.lb.conns_mut().insert(&c, r.now).unwrap();
    r.w.stats.dest(d.id.0).unwrap().inpkts.add(5);
    r.w.stats.dest(d.id.0).unwrap().conns.add(1);
    r.settle();
    r.ok("-d -t 10.0.2.100:80 -r 10.0.3.11:80");
    r.settle();
    r.settle();
    // Every other id is usable; the deleted server's is not while its connection lives.
    for i in 0..MAX_DESTS - 1 {
        r.ok(&format!("-a -t 10.0.2.100:80 -r {} -m", rs(i)));
    }
    let (code, err) = r.run(&format!("-a -t 10.0.2.100:80 -r {} -m", rs(MAX_DESTS)));
    assert_eq!((code, err.trim()), (255, "too many destinations"));
    assert!(r.w.dir.lb.conns_mut().remove(conn));
    r.settle();
    r.ok(&format!("-a -t 10.0.2.100:80 -r {} -m", rs(MAX_DESTS)));
    let reused = r.live.snapshot().services()[0].dests.last().copied().unwrap();
    assert_eq!(reused.id, d.id, "the freed id is the only one left");
    let s = r.w.stats.dest(d.id.0).unwrap();
    assert_eq!((s.conns.get(), s.inpkts.get()), (0, 0), "a reused id starts with zeroed statistics");
    let listing = r.admin.execute(&Request { args: vec!["-L".into(), "-n".into(), "--stats".into()], stdin: None });
    let row = listing.stdout.lines().find(|l| l.contains(&rs(MAX_DESTS))).unwrap().to_string();
    assert!(row.split_whitespace().skip(2).all(|f| f == "0"), "{row}");
}
