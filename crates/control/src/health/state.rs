//! Real server and quorum transitions, as keepalived 2.2.7's `check/ipwrapper.c`
//! (update_svr_checker_state, perform_svr_state, update_quorum_state).

use super::checker::Verdict;
use super::engine::{Effects, Engine, Svc};

impl Svc {
    /// weigh_live_realservers: the weights of the alive real servers.
    pub(crate) fn live_weight(&self) -> i64 {
        self.rs.iter().filter(|r| r.alive).map(|r| i64::from(r.weight())).sum()
    }
}

impl Engine {
    /// update_svr_checker_state: a real server is down when any checker failed and up
    /// when none has; `head` starts the log line ("health: TCP_CHECK on .. failed (..)").
    pub(crate) fn update_checker_state(
        &mut self,
        i: usize,
        j: usize,
        k: usize,
        v: Verdict,
        head: &str,
        fx: &mut Effects,
    ) {
        let r = &mut self.services[i].rs[j];
        let failed = r.num_failed();
        let ck = &mut r.checkers[k];
        if ck.st.is_up == v.alive {
            // First verdict equal to the initial state: an alpha checker's first
            // failure announces the server down (do_rs_notifies).
            if !v.had_run && (ck.alpha || !v.alive) {
                let s = &self.services[i];
                let r = &s.rs[j];
                let state = if r.alive { "up" } else { "down" };
                fx.log(format!("{head}; real server {} of {} is {state}", r.label, s.label));
                fx.script(if r.alive { &r.notify_up } else { &r.notify_down });
            }
            return;
        }
        if v.alive && failed <= 1 || !v.alive && failed == 0 {
            self.perform_svr_state(i, j, v.alive, head, fx);
        } else {
            let s = &self.services[i];
            let r = &s.rs[j];
            let n = if v.alive { failed - 1 } else { failed + 1 };
            fx.log(format!("{head}; real server {} of {} stays down ({n} checkers failing)", r.label, s.label));
        }
        // set_checker_state
        self.services[i].rs[j].checkers[k].st.is_up = v.alive;
    }

    /// perform_svr_state: the server enters or leaves the pool (unless the sorry
    /// server holds it), its notify script runs, quorum is re-evaluated.
    pub(crate) fn perform_svr_state(&mut self, i: usize, j: usize, alive: bool, head: &str, fx: &mut Effects) {
        let s = &mut self.services[i];
        if s.rs[j].alive == alive {
            return;
        }
        let held = !(s.quorum_up || s.sorry.is_none() || !s.sorry_alive);
        s.rs[j].alive = alive;
        let r = &s.rs[j];
        let what = match (alive, r.inhibit) {
            (true, false) => "added back".to_string(),
            (true, true) => format!("weight {} restored", r.weight()),
            (false, false) => "removed".to_string(),
            (false, true) => "set to weight 0 (inhibit_on_failure)".to_string(),
        };
        let held = if held { " (the sorry server holds the pool: quorum is lost)" } else { "" };
        fx.log(format!("{head}; real server {} of {} {what}{held}", r.label, s.label));
        fx.script(if alive { &r.notify_up } else { &r.notify_down });
        fx.changed = true;
        self.update_quorum(i, false, fx);
    }

    /// update_quorum_state: quorum is lost when the alive weight falls below
    /// quorum - hysteresis (or to 0), regained at quorum + hysteresis. With a sorry
    /// server, losing it puts the sorry server in and the alive servers out; without
    /// one only quorum_down runs. `init` (startup, reload) also puts the sorry server
    /// in when quorum is already down.
    pub(crate) fn update_quorum(&mut self, i: usize, init: bool, fx: &mut Effects) {
        let s = &mut self.services[i];
        let sum = s.live_weight();
        let (q, h) = (i64::from(s.quorum), i64::from(s.hysteresis));
        let threshold = if s.quorum_up { q - h } else { q + h };
        if !s.quorum_up && sum >= threshold {
            s.quorum_up = true;
            let mut line = format!("health: quorum gained for {} ({q}+{h}={threshold} <= {sum})", s.label);
            if let (Some(d), true) = (s.sorry, s.sorry_alive) {
                s.sorry_alive = false;
                line += &format!(": sorry server {} removed, alive servers added back", d_label(&d));
            }
            fx.log(line);
            fx.script(&s.quorum_up_script);
            fx.changed = true;
        } else if (s.quorum_up && (sum == 0 || sum < threshold))
            || (init && !s.quorum_up && s.sorry.is_some() && !s.sorry_alive)
        {
            s.quorum_up = false;
            let mut line = format!(
                "health: {} for {} ({q}-{h}={threshold} > {sum})",
                if init { "starting with quorum down" } else { "quorum lost" },
                s.label
            );
            if let (Some(d), false) = (s.sorry, s.sorry_alive) {
                s.sorry_alive = true;
                line += &format!(": sorry server {} added, alive servers removed", d_label(&d));
            }
            fx.log(line);
            fx.script(&s.quorum_down_script);
            fx.changed = true;
        }
    }
}

fn d_label(d: &rvs_core::service::DestSpec) -> String {
    rvs_core::addr::fmt_addr_port(d.addr, d.port)
}
