//! The real keepalived's VRRP part, run by rvsd (`[control] vrrp = true`): `keepalived
//! --vrrp` on the same keepalived.conf, on the kernel twins (`interface wan` is the
//! port's twin). It adds `virtual_ipaddress` to a twin while MASTER and removes it
//! otherwise; rvsd follows the twins' addresses, so it answers and forwards for a VIP
//! exactly while this director holds it. Supervised: restarted (with backoff) if it
//! dies, SIGHUP passed on, stopped with rvsd (keepalived then releases its VIPs).
//!
//! Its life is tied to rvsd's: a keepalived left advertising for a director whose data
//! path is gone would hold the VIP for nobody (and its pid files would keep the next
//! rvsd's keepalived from starting). It runs under `setpriv --pdeathsig TERM` (util-linux):
//! the kernel sends it SIGTERM when rvsd dies, even by SIGKILL. TERM, not KILL: keepalived
//! then stops in order (VIPs off the twins, a priority 0 advert where a twin is still up,
//! pid files removed), and its VRRP child, which keepalived itself ties to the parent,
//! goes with it (`tests/lab_two_directors.rs`; keepalived's own stop takes about 1 s
//! whatever the signal or advert_int). Setting the signal ourselves would need
//! `pre_exec`, which this crate's `forbid` on raw-pointer code rules out.

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
    /// The operator's keepalived.conf, and where rvsd's copy of it goes.
    user: PathBuf,
    run: PathBuf,
    /// The file keepalived was started on (the operator's, or rvsd's copy).
    reads: PathBuf,
}

fn signal(pid: u32, sig: &str) {
    if pid != 0 {
        let _ = Command::new("kill").args([sig, &pid.to_string()]).stderr(Stdio::null()).status();
    }
}

/// Whether `prog` is an executable on PATH.
fn on_path(prog: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .any(|d| std::fs::metadata(d.join(prog)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

fn spawn(conf: &Path, run: &Path, pdeathsig: bool) -> std::io::Result<Child> {
    // setpriv sets the signal and execs keepalived: rvsd stays keepalived's parent.
    let mut cmd = if pdeathsig {
        let mut c = Command::new("setpriv");
        c.args(["--pdeathsig", "TERM", "--", "keepalived"]);
        c
    } else {
        Command::new("keepalived")
    };
    // Pid files of its own, so a system keepalived (if any) is not taken for this one.
    cmd.args(["--vrrp", "--dont-fork", "--log-console"])
        .arg(format!("--use-file={}", conf.display()))
        .arg(format!("--pid={}", run.join("keepalived.pid").display()))
        .arg(format!("--vrrp_pid={}", run.join("keepalived-vrrp.pid").display()))
        .stdin(Stdio::null())
        .spawn()
}

/// The file keepalived reads: `conf` itself, or (when it has an `lvs_sync_daemon`,
/// which rvsd runs) a copy without it in `run`.
fn effective(conf: &Path, run: &Path) -> Result<PathBuf, String> {
    match control::keepalived::syncd::vrrp_text(conf).map_err(|e| e.to_string())? {
        None => Ok(conf.into()),
        Some(text) => {
            let p = run.join("keepalived-vrrp.conf");
            std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(p)
        }
    }
}

impl Vrrp {
    /// Start `keepalived --vrrp` on `conf`; its pid files go in `run`.
    pub fn start(conf: &Path, run: &Path) -> Result<Vrrp, String> {
        let _ = std::fs::create_dir_all(run);
        let (user, reads) = (conf.to_path_buf(), effective(conf, run)?);
        let conf = reads.as_path();
        // setpriv execs keepalived, so a missing keepalived would only show as exits.
        if !on_path("keepalived") {
            return Err("keepalived --vrrp: keepalived not found (scripts/setup installs keepalived)".into());
        }
        let pdeathsig = on_path("setpriv");
        if !pdeathsig {
            eprintln!("rvsd: vrrp: setpriv (util-linux) not found: keepalived will outlive rvsd if it is killed");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let pid = Arc::new(AtomicU32::new(0));
        let run_dir = run.to_path_buf();
        let (conf, run): (PathBuf, PathBuf) = (conf.into(), run.into());
        let (s, p) = (stop.clone(), pid.clone());
        // Every keepalived is spawned on the supervisor's thread: the parent-death signal
        // fires when the spawning thread ends, and this one lives as long as rvsd's VRRP.
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("rvs-vrrp".into())
            .spawn(move || {
                let first = match spawn(&conf, &run, pdeathsig) {
                    Ok(c) => c,
                    Err(e) => return drop(tx.send(Err(format!("keepalived --vrrp: {e}")))),
                };
                p.store(first.id(), Ordering::Release);
                let _ = tx.send(Ok((first.id(), conf.clone())));
                supervise(first, &conf, &run, pdeathsig, &s, &p)
            })
            .map_err(|e| format!("vrrp thread: {e}"))?;
        let (first, conf) = rx.recv().map_err(|_| "vrrp thread died".to_string())??;
        println!(
            "vrrp: keepalived --vrrp on {} (pid {first}{})",
            conf.display(),
            if pdeathsig { ", stops when rvsd dies" } else { "" }
        );
        Ok(Vrrp { stop, pid, thread: Some(thread), user, run: run_dir, reads })
    }

    /// SIGHUP: keepalived re-reads the file (its VRRP instances, VIPs), rewritten first
    /// when it is rvsd's copy.
    pub fn reload(&self) {
        match effective(&self.user, &self.run) {
            // keepalived reads the file it was started on: an lvs_sync_daemon added or
            // removed since would have it read the wrong one (or crash on the line).
            Ok(p) if p != self.reads => {
                eprintln!("rvsd: vrrp: lvs_sync_daemon added or removed: restart rvsd for keepalived to follow");
                return;
            }
            Ok(_) => {}
            Err(e) => eprintln!("rvsd: vrrp: {e}"),
        }
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

fn supervise(mut child: Child, conf: &Path, run: &Path, pdeathsig: bool, stop: &AtomicBool, pid: &AtomicU32) {
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
            match spawn(conf, run, pdeathsig) {
                Ok(c) => break c,
                Err(e) => eprintln!("rvsd: vrrp: keepalived --vrrp: {e}; next try in {}s", backoff.as_secs()),
            }
        };
        println!("vrrp: keepalived --vrrp restarted (pid {})", child.id());
        pid.store(child.id(), Ordering::Release);
    }
}
