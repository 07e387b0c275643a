//! SIGHUP: a new configuration replaces the old one and keeps the state of what
//! stayed (keepalived 2.2.7 `check/ipwrapper.c` clear_diff_services, clear_diff_rs,
//! migrate_checkers; then init_services).

use super::engine::{Effects, Engine, Rs};
use crate::keepalived::{CheckerKind, KeepalivedConf};

impl Engine {
    /// Replaces the configuration. A (service key, real server address:port) pair that
    /// stays keeps its up/down state, and each of its checkers whose settings did not
    /// change keeps its state; removed real servers that were up run notify_down, as
    /// in keepalived. New real servers start as at startup (`alpha` honoured; keepalived
    /// 2.2.7 forgets alpha for servers added by a reload). The generation changes: the
    /// old [`super::CheckerId`]s are no longer accepted.
    pub fn reload(&mut self, conf: &KeepalivedConf) -> Effects {
        let mut fx = Effects::default();
        let mut new = Engine::build_raw(conf, self.generation + 1, &mut fx.logs);
        let old = std::mem::take(&mut self.services);
        let mut kept = vec![false; new.services.len()];
        let mut bring_up = Vec::new();
        for os in old {
            let Some(ni) = new.services.iter().position(|s| s.def.spec.key == os.def.spec.key) else {
                fx.log(format!("health: reload: {} no longer configured", os.label));
                for r in os.rs.iter().filter(|r| r.alive) {
                    fx.log(format!("health: reload: real server {} of {} removed with it", r.label, os.label));
                    fx.script(&r.notify_down);
                }
                if os.quorum_up {
                    fx.script(&os.quorum_down_script);
                }
                continue;
            };
            kept[ni] = true;
            let ns = &mut new.services[ni];
            ns.quorum_up = os.quorum_up;
            let same_sorry = os.sorry.map(|d| (d.addr, d.port)) == ns.sorry.map(|d| (d.addr, d.port));
            ns.sorry_alive = os.sorry_alive && same_sorry;
            for or in os.rs {
                match ns.rs.iter().position(|r| (r.dest.addr, r.dest.port) == (or.dest.addr, or.dest.port)) {
                    Some(nj) => bring_up.extend(migrate(&or, &mut ns.rs[nj]).then_some((ni, nj))),
                    None if or.alive => {
                        fx.log(format!(
                            "health: reload: real server {} of {} no longer configured",
                            or.label, ns.label
                        ));
                        fx.script(&or.notify_down);
                    }
                    None => {}
                }
            }
        }
        *self = new;
        for (i, j) in bring_up {
            self.perform_svr_state(i, j, true, "health: reload: no checker failing", &mut fx);
        }
        let same_as = self.same_as.clone();
        for (i, kept) in kept.into_iter().enumerate().filter(|(i, _)| same_as[*i].is_none()) {
            fx.append(self.init_service(i, kept));
        }
        fx.changed = true;
        fx
    }
}

/// migrate_checkers: the old server's state onto the new one; true when it must be
/// brought up (no checker failing any more).
fn migrate(or: &Rs, nr: &mut Rs) -> bool {
    nr.alive = or.alive;
    let iweight = i64::from(nr.dest.weight);
    let mut used = vec![false; or.checkers.len()];
    for nc in nr.checkers.iter_mut() {
        // A reloaded server's checkers start up and not run (no startup alpha marking).
        nc.st.is_up = true;
        nc.st.has_run = false;
        nc.st.retry_it = 0;
        let Some(o) = (0..or.checkers.len()).find(|&o| !used[o] && or.checkers[o].spec == nc.spec) else {
            continue;
        };
        used[o] = true;
        let oc = &or.checkers[o];
        if oc.st.has_run {
            nc.st.is_up = oc.st.is_up;
        }
        nc.st.has_run = oc.st.has_run;
        // "If we have already had sufficient retries for the new retry value ... just
        // require one more failure".
        if oc.st.retry_it > 0 && nc.spec.retry > 0 {
            nc.st.retry_it = oc.st.retry_it.min(nc.spec.retry - 1);
        }
        if let CheckerKind::Misc(m) = &nc.spec.kind {
            nc.st.last_exit = oc.st.last_exit;
            // migrate_misc_check keeps a dynamic weight (exit 0 keeps the configured one).
            if m.misc_dynamic && oc.st.last_exit >= 2 {
                nc.st.cur_weight = i64::from(oc.st.last_exit) - 2 - iweight;
            }
        }
        (nc.ok, nc.failed, nc.last_latency) = (oc.ok, oc.failed, oc.last_latency);
    }
    let any_run = nr.checkers.iter().any(|c| c.st.has_run);
    if nr.num_failed() > 0 || (!nr.alive && !any_run) {
        for nc in nr.checkers.iter_mut().filter(|c| !c.st.has_run) {
            if nc.alpha {
                nc.st.is_up = false;
            }
            nc.st.retry_it = nc.spec.retry;
        }
    }
    nr.num_failed() == 0 && !nr.alive
}
