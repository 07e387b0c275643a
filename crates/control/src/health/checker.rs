//! One checker's schedule and verdict, as keepalived 2.2.7's per-kind epilogs decide
//! them (`check_tcp.c` tcp_epilog, `check_http.c` epilog/timeout_epilog,
//! `check_misc.c` misc_check_child_thread). Pure: no clock, no I/O.

use std::time::Duration;

use crate::keepalived::{Checker, CheckerKind};

/// A checker's mutable state (keepalived's `checker_t` fields of the same names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CkState {
    pub is_up: bool,
    pub has_run: bool,
    pub retry_it: u32,
    /// HTTP/SSL: the url fetched next (`url_it`) and the one that failed (`failed_url`).
    pub url: usize,
    pub failed_url: Option<usize>,
    /// MISC: the exit code last acted on and the weight offset it set (`cur_weight`).
    pub last_exit: u8,
    pub cur_weight: i64,
}

impl CkState {
    /// Startup state (check_data.c): alpha checkers start failed; "one failure is
    /// enough initially" (`retry_it = retry`).
    pub fn initial(alpha: bool, retry: u32) -> CkState {
        CkState {
            is_up: !alpha,
            has_run: false,
            retry_it: retry,
            url: 0,
            failed_url: None,
            last_exit: 0,
            cur_weight: 0,
        }
    }
}

/// What an attempt's result leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// Until the next attempt.
    pub delay: Duration,
    /// Call update_svr_checker_state(alive) with `had_run` as has_run was then.
    pub update: Option<Verdict>,
    /// A failed attempt that will be retried: (retry number, of).
    pub retrying: Option<(u32, u32)>,
    /// MISC: `cur_weight` changed (update_svr_wgt with quorum update).
    pub weight_changed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub alive: bool,
    pub had_run: bool,
}

/// tcp_epilog: `retry` failures after the first before failing; a failed checker is
/// re-tested every delay_loop and one success brings it back.
pub(crate) fn tcp(st: &mut CkState, c: &Checker, ok: bool) -> Step {
    let mut step = Step { delay: c.delay_loop, update: None, retrying: None, weight_changed: false };
    if ok || st.retry_it >= c.retry {
        st.retry_it = 0;
        // A verdict on a change, or on the first run.
        let news = if ok { !st.is_up } else { st.is_up };
        if news || !st.has_run {
            step.update = Some(Verdict { alive: ok, had_run: st.has_run });
        }
    } else {
        step.delay = c.delay_before_retry;
        st.retry_it += 1;
        step.retrying = Some((st.retry_it, c.retry));
    }
    st.has_run = true;
    step
}

/// check_http.c epilog: urls are fetched one per delay_loop; each failing url is
/// retried `retry` times delay_before_retry apart; once failed, that url is re-fetched
/// every max(delay_before_retry, delay_loop) and, when it passes, every url again from
/// the first before the checker is up.
pub(crate) fn http(st: &mut CkState, c: &Checker, ok: bool) -> Step {
    let urls = match &c.kind {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) => h.urls.len().max(1),
        _ => 1,
    };
    #[derive(PartialEq)]
    enum M {
        New,
        Retry,
        Failed,
    }
    let mut step = Step { delay: c.delay_loop, update: None, retrying: None, weight_changed: false };
    // timeout_epilog marks has_run before a retry; a known-dead server is not retried.
    let m = if ok {
        M::New
    } else if st.is_up || !st.has_run {
        st.has_run = true;
        M::Retry
    } else {
        M::Failed
    };
    let mut next: Option<usize> = Some(st.url);
    match m {
        M::New => {
            next = (st.url + 1 < urls).then_some(st.url + 1);
            st.retry_it = 0;
        }
        M::Retry => st.retry_it += 1,
        M::Failed => {}
    }
    if m == M::New && next.is_none() && st.failed_url.is_none() {
        if !st.is_up || !st.has_run {
            step.update = Some(Verdict { alive: true, had_run: st.has_run });
            st.has_run = true;
        }
        next = Some(0);
        st.retry_it = 0;
    } else if m == M::Retry && st.retry_it > c.retry {
        if st.is_up || !st.has_run {
            step.update = Some(Verdict { alive: false, had_run: st.has_run });
        }
        st.failed_url = Some(st.url);
    } else if m == M::New && st.failed_url.is_some() {
        st.failed_url = None;
        next = Some(0);
        st.retry_it = 0;
    } else if m == M::Retry {
        step.retrying = Some((st.retry_it, c.retry));
    }
    st.url = next.unwrap_or(0);
    step.delay = if m == M::New {
        if !st.has_run {
            st.retry_it = c.retry;
        }
        c.delay_loop
    } else if st.failed_url.is_some() {
        c.delay_before_retry.max(c.delay_loop)
    } else {
        c.delay_before_retry
    };
    step
}

/// misc_check_child_thread: exit 0 is success, and with misc_dynamic so is 2-255,
/// which sets the weight to code - 2; anything else (1, 2-255 without misc_dynamic, a
/// signal, a timeout: `exit` None) fails after `retry` retries. The next run is due
/// delay_loop (delay_before_retry when retrying) after the start of this one.
pub(crate) fn misc(st: &mut CkState, c: &Checker, iweight: u32, exit: Option<u8>, took: Duration) -> Step {
    let dynamic = matches!(&c.kind, CheckerKind::Misc(m) if m.misc_dynamic);
    let mut step = Step { delay: c.delay_loop, update: None, retrying: None, weight_changed: false };
    match exit.filter(|&e| e == 0 || (dynamic && e >= 2)) {
        Some(code) => {
            if code != st.last_exit {
                let w = if code == 0 { 0 } else { i64::from(code) - 2 - i64::from(iweight) };
                step.weight_changed = w != st.cur_weight;
                st.cur_weight = w;
                st.last_exit = code;
            }
            if !st.is_up || !st.has_run {
                step.update = Some(Verdict { alive: true, had_run: st.has_run });
            }
            st.retry_it = 0;
        }
        None if st.is_up || !st.has_run => {
            if st.retry_it < c.retry {
                st.retry_it += 1;
                step.retrying = Some((st.retry_it, c.retry));
            } else {
                st.retry_it = 0;
                st.cur_weight = 0;
                // keepalived keeps the old code after a signal, so a script that
                // recovers with the same code would keep the configured weight;
                // forgetting it makes the next success set its weight again.
                st.last_exit = exit.unwrap_or(1);
                step.update = Some(Verdict { alive: false, had_run: st.has_run });
            }
        }
        None => {}
    }
    if st.retry_it > 0 {
        step.delay = c.delay_before_retry;
    }
    step.delay = step.delay.saturating_sub(took);
    st.has_run = true;
    step
}
