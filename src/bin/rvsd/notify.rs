//! systemd's service notifications (sd_notify): READY, STATUS, RELOADING, STOPPING.
//! Without NOTIFY_SOCKET (not started by a `Type=notify` unit) each call does nothing.

use sd_notify::NotifyState;

/// Print a progress line and send it as the unit's STATUS (what `systemctl status` shows).
pub fn progress(line: &str) {
    println!("{line}");
    send(&[NotifyState::Status(line)]);
}

/// Ports up, services loaded: systemd's start job completes.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A SIGHUP reload begins. systemd 253+ wants MONOTONIC_USEC with RELOADING=1 to tell
/// this reload from an earlier one; older versions ignore it.
pub fn reloading() {
    let mut states = vec![NotifyState::Reloading, NotifyState::Status("reloading")];
    if let Ok(now) = NotifyState::monotonic_usec_now() {
        states.push(now);
    }
    send(&states);
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

fn send(states: &[NotifyState]) {
    // The environment stays: reload and stop notify again. A failure is reported, not
    // fatal: the balancer runs whether or not systemd hears of it.
    if let Err(e) = sd_notify::notify(false, states) {
        eprintln!("rvsd: sd_notify: {e}");
    }
}

/// A STATUS line alone (the caller printed it its own way).
pub fn status(line: &str) {
    send(&[NotifyState::Status(line)]);
}
