//! MISC_CHECK (keepalived 2.2.7 `check/check_misc.c`): run `misc_path`; past
//! `misc_timeout` (default: the virtual server's delay_loop) its process group gets
//! SIGTERM, then SIGKILL 2 s later, and the check has failed.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rustix::process::{kill_process_group, Pid, Signal};

use super::net::SLICE;
use crate::health::engine::{CheckResult, Outcome};
use crate::health::{script, Stop};

/// check_misc.c: SIGTERM, then SIGKILL after 2 s.
const TERM_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub(crate) struct MiscProbe {
    pub argv: Vec<String>,
    pub timeout: Duration,
    pub user: Option<(u32, u32)>,
}

type Exit = std::io::Result<ExitStatus>;

impl MiscProbe {
    pub(crate) fn run(&self, stop: &Stop) -> Outcome {
        let start = Instant::now();
        let child = match script::command(&self.argv, self.user).spawn() {
            Ok(c) => c,
            Err(e) => {
                return Outcome::new(CheckResult::Failed(format!("cannot run {}: {e}", self.argv[0])), start.elapsed())
            }
        };
        let pid = Pid::from_child(&child);
        let rx = script::reap(child);
        let deadline = start + self.timeout;
        let result = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if stop.is_set() {
                kill(pid, Signal::KILL, &rx);
                break CheckResult::Failed("stopped".into());
            }
            if left.is_zero() {
                break timed_out(pid, &rx, self.timeout);
            }
            match rx.recv_timeout(left.min(SLICE)) {
                Ok(exit) => break judge(exit),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break CheckResult::Failed("lost the script".into()),
            }
        };
        Outcome::new(result, start.elapsed())
    }
}

fn judge(exit: Exit) -> CheckResult {
    match exit {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(c), _) => CheckResult::Exit((c & 0xff) as u8),
            (None, Some(sig)) => CheckResult::Failed(format!("killed by signal {sig}")),
            (None, None) => CheckResult::Failed("ended oddly".into()),
        },
        Err(e) => CheckResult::Failed(format!("wait: {e}")),
    }
}

/// SIGTERM to the group, SIGKILL after the grace; an exit within the grace still
/// counts as a timeout, as keepalived's SCRIPT_STATE_REQUESTING_TERMINATION.
fn timed_out(pid: Pid, rx: &Receiver<Exit>, timeout: Duration) -> CheckResult {
    if !kill(pid, Signal::TERM, rx) {
        kill(pid, Signal::KILL, rx);
    }
    CheckResult::Failed(format!("timed out after {timeout:?}"))
}

/// Signals the group and waits up to the grace; true when the script ended.
fn kill(pid: Pid, sig: Signal, rx: &Receiver<Exit>) -> bool {
    // ESRCH: the group is gone already; the exit is on its way.
    let _ = kill_process_group(pid, sig);
    rx.recv_timeout(TERM_GRACE).is_ok()
}
