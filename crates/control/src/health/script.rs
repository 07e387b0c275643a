//! Running scripts as keepalived does (lib/notify.c system_call_script): the command
//! line split into words (quotes and backslashes as a shell would, like keepalived's
//! alloc_strvec_quoted_escaped) and executed directly, not through a shell, in a
//! process group of its own so a timeout can kill everything it started.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The words of a command line; None when empty or badly quoted.
pub(crate) fn argv(cmd: &str) -> Option<Vec<String>> {
    shlex::split(cmd).filter(|v| !v.is_empty())
}

/// A command ready to spawn: its own process group, no stdin or stdout.
pub(crate) fn command(argv: &[String], user: Option<(u32, u32)>) -> Command {
    let mut c = Command::new(&argv[0]);
    c.args(&argv[1..]).stdin(Stdio::null()).stdout(Stdio::null()).process_group(0);
    if let Some((uid, gid)) = user {
        c.uid(uid).gid(gid);
    }
    c
}

/// Waits for `child` on a thread of its own; the receiver gets its exit.
pub(crate) fn reap(mut child: Child) -> mpsc::Receiver<std::io::Result<std::process::ExitStatus>> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name("rvs-health-reap".into()).spawn(move || {
        let _ = tx.send(child.wait());
    });
    if let Err(e) = spawned {
        // No thread: the child is reaped when it is dropped by no one; say so.
        println!("health: cannot start a thread to reap a script: {e}");
    }
    rx
}

/// notify_up/down, quorum_up/down: started and not waited for (notify_exec); the
/// receiver tells when it ended. Errors are logged through `log`.
pub(crate) fn notify(
    cmd: &str,
    log: &dyn Fn(&str),
) -> Option<mpsc::Receiver<std::io::Result<std::process::ExitStatus>>> {
    let Some(words) = argv(cmd) else {
        log(&format!("health: cannot parse script '{cmd}'"));
        return None;
    };
    match command(&words, None).spawn() {
        Ok(child) => Some(reap(child)),
        Err(e) => {
            log(&format!("health: cannot run script '{cmd}': {e}"));
            None
        }
    }
}

/// Waits up to `limit` for a script started by [`notify`] (shutdown scripts get a
/// second, as keepalived's TIMER_HZ there).
pub(crate) fn wait(rx: &mpsc::Receiver<std::io::Result<std::process::ExitStatus>>, limit: Duration) {
    let _ = rx.recv_timeout(limit);
}

/// MISC_CHECK `user NAME [GROUP]`: uid and gid from /etc/passwd and /etc/group.
pub(crate) fn lookup_user(spec: &str) -> Result<(u32, u32), String> {
    let mut words = spec.split_whitespace();
    let name = words.next().ok_or("no user name")?;
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    let (uid, mut gid) = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == name)
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .ok_or_else(|| format!("no user '{name}'"))?;
    if let Some(group) = words.next() {
        let groups = std::fs::read_to_string("/etc/group").map_err(|e| format!("/etc/group: {e}"))?;
        gid = groups
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 2 && f[0] == group)
            .and_then(|f| f[2].parse().ok())
            .ok_or_else(|| format!("no group '{group}'"))?;
    }
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_keepalived() {
        assert_eq!(argv("/bin/check.sh 10.0.0.1 80").unwrap(), ["/bin/check.sh", "10.0.0.1", "80"]);
        assert_eq!(argv(r#"/bin/x "a b" c\ d"#).unwrap(), ["/bin/x", "a b", "c d"]);
        assert!(argv("  ").is_none());
        assert!(argv("\"open").is_none());
    }

    #[test]
    fn root_is_uid_0() {
        assert_eq!(lookup_user("root").unwrap(), (0, 0));
        assert!(lookup_user("no-such-user-rvs").is_err());
    }
}
