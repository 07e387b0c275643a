//! The real keepalived's VRRP part, run by rvsd (`[control] vrrp = true`): `keepalived
//! --vrrp` on the same keepalived.conf, on the kernel twins (`interface wan` is the
//! port's twin). It adds `virtual_ipaddress` to a twin while MASTER and removes it
//! otherwise; rvsd follows the twins' addresses, so it answers and forwards for a VIP
//! exactly while this director holds it. Supervised: restarted (with backoff) if it
//! dies, SIGHUP passed on, stopped with rvsd (keepalived then releases its VIPs).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest wait between restarts of a keepalived that keeps dying.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long keepalived may take to release its VIPs at stop before it is killed.
const STOP_WAIT: Duration = Duration::from_secs(5);

pub struct Vrrp {
    stop: Arc<AtomicBool>,
    pid: Arc<AtomicU32>,
    thread: Option<JoinHandle<()>>,
}

fn signal(pid: u32, sig: &str) {
    if pid != 0 {
        let _ = Command::new("kill").args([sig, &pid.to_string()]).stderr(Stdio::null()).status();
    }
}

fn spawn(conf: &Path, run: &Path) -> std::io::Result<Child> {
    // Pid files of its own, so a system keepalived (if any) is not taken for this one.
    Command::new("keepalived")
        .args(["--vrrp", "--dont-fork", "--log-console"])
        .arg(format!("--use-file={}", conf.display()))
        .arg(format!("--pid={}", run.join("keepalived.pid").display()))
        .arg(format!("--vrrp_pid={}", run.join("keepalived-vrrp.pid").display()))
        .stdin(Stdio::null())
        .spawn()
}

impl Vrrp {
    /// Start `keepalived --vrrp` on `conf`; its pid files go in `run`.
    pub fn start(conf: &Path, run: &Path) -> Result<Vrrp, String> {
        let _ = std::fs::create_dir_all(run);
        let first =
            spawn(conf, run).map_err(|e| format!("keepalived --vrrp: {e} (scripts/setup installs keepalived)"))?;
        println!("vrrp: keepalived --vrrp on {} (pid {})", conf.display(), first.id());
        let stop = Arc::new(AtomicBool::new(false));
        let pid = Arc::new(AtomicU32::new(first.id()));
        let (conf, run): (PathBuf, PathBuf) = (conf.into(), run.into());
        let (s, p) = (stop.clone(), pid.clone());
        let thread = std::thread::Builder::new()
            .name("rvs-vrrp".into())
            .spawn(move || supervise(first, &conf, &run, &s, &p))
            .map_err(|e| format!("vrrp thread: {e}"))?;
        Ok(Vrrp { stop, pid, thread: Some(thread) })
    }

    /// SIGHUP: keepalived re-reads the file (its VRRP instances, VIPs).
    pub fn reload(&self) {
        signal(self.pid.load(Ordering::Acquire), "-HUP");
    }

    /// Stop keepalived (it releases its VIPs) and the supervisor.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        signal(self.pid.load(Ordering::Acquire), "-TERM");
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn supervise(mut child: Child, conf: &Path, run: &Path, stop: &AtomicBool, pid: &AtomicU32) {
    let mut backoff = Duration::from_secs(1);
    loop {
        // Until it exits, or rvsd stops.
        let mut stopping_since: Option<Instant> = None;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) => {}
                Err(_) => break None,
            }
            if stop.load(Ordering::Acquire) {
                let since = *stopping_since.get_or_insert_with(Instant::now);
                if since.elapsed() > STOP_WAIT {
                    let _ = child.kill();
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if stop.load(Ordering::Acquire) {
            println!("vrrp: keepalived stopped");
            return;
        }
        let why = status.map_or("lost".to_string(), |s| s.to_string());
        eprintln!("rvsd: vrrp: keepalived --vrrp exited ({why}); restarting in {}s", backoff.as_secs());
        child = loop {
            let until = Instant::now() + backoff;
            while Instant::now() < until {
                if stop.load(Ordering::Acquire) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            match spawn(conf, run) {
                Ok(c) => break c,
                Err(e) => eprintln!("rvsd: vrrp: keepalived --vrrp: {e}; next try in {}s", backoff.as_secs()),
            }
        };
        println!("vrrp: keepalived --vrrp restarted (pid {})", child.id());
        pid.store(child.id(), Ordering::Release);
    }
}
