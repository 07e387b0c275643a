//! The health-check state machine fed explicit results (no sockets, no sleeping):
//! keepalived 2.2.7's retry, alpha, inhibit, misc_dynamic, quorum/sorry server and
//! reload semantics.

mod health_common;

use std::time::Duration;

use control::health::{CheckResult, CheckerId, Effects, Engine, Outcome, Report};
use health_common::{conf, servers, TempDir};
use rvs_core::service::FwdMethod;

const MS: Duration = Duration::from_millis(1);

fn ok() -> Outcome {
    Outcome::new(CheckResult::Ok, MS)
}
fn fail() -> Outcome {
    Outcome::new(CheckResult::Failed("connection refused".into()), MS)
}
fn exit(c: u8) -> Outcome {
    Outcome::new(CheckResult::Exit(c), MS)
}
fn ids(e: &Engine) -> Vec<CheckerId> {
    e.checkers().iter().map(|c| c.id).collect()
}
fn report(e: &mut Engine, id: CheckerId, o: Outcome) -> Report {
    e.report(id, o).expect("a checker of this generation")
}
fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
fn has_log(fx: &Effects, text: &str) -> bool {
    fx.logs.iter().any(|l| l.contains(text))
}

const VS: &str = "virtual_server 10.0.2.100 80 {\n delay_loop 10\n lb_algo rr\n lb_kind NAT\n protocol TCP\n";

#[test]
fn one_failure_is_enough_at_start_then_retry_counts() {
    let c = conf(&format!(
        "{VS} real_server 10.0.3.11 80 {{\n weight 2\n TCP_CHECK {{\n retry 2\n delay_before_retry 4\n }}\n }}\n \
         real_server 10.0.3.12 80 {{\n TCP_CHECK {{\n }}\n }}\n}}\n"
    ));
    let (mut e, _) = Engine::new(&c);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=2", "10.0.3.12:80=1"]);
    let id = ids(&e)[0];
    // check_data.c: retry_it = retry at startup, so the first failure fails the checker.
    let r = report(&mut e, id, fail());
    assert_eq!(r.delay, secs(10));
    assert!(r.effects.changed);
    assert!(
        has_log(
            &r.effects,
            "health: TCP_CHECK on 10.0.3.11:80 failed (connection refused); real server 10.0.3.11:80 of TCP 10.0.2.100:80 removed"
        ),
        "{:?}",
        r.effects.logs
    );
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.12:80=1"]);
    // tcp_epilog retries a failed checker too, then waits delay_loop.
    assert_eq!(report(&mut e, id, fail()).delay, secs(4));
    let r = report(&mut e, id, ok());
    assert_eq!(r.delay, secs(10));
    assert!(has_log(&r.effects, "real server 10.0.3.11:80 of TCP 10.0.2.100:80 added back"), "{:?}", r.effects.logs);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=2", "10.0.3.12:80=1"]);
    // Up again: 1 + retry attempts, delay_before_retry apart, before it fails.
    for _ in 0..2 {
        let r = report(&mut e, id, fail());
        assert_eq!(r.delay, secs(4));
        assert_eq!(servers(&e.effective(), 0).len(), 2);
    }
    assert_eq!(report(&mut e, id, fail()).delay, secs(10));
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.12:80=1"]);
}

#[test]
fn inhibit_on_failure_sets_weight_zero() {
    let c = conf(&format!(
        "{VS} inhibit_on_failure\n real_server 10.0.3.11 80 {{\n weight 3\n TCP_CHECK {{\n }}\n }}\n}}\n"
    ));
    let (mut e, _) = Engine::new(&c);
    let id = ids(&e)[0];
    let r = report(&mut e, id, fail());
    assert!(has_log(&r.effects, "set to weight 0 (inhibit_on_failure)"), "{:?}", r.effects.logs);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=0"]);
    report(&mut e, id, ok());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=3"]);
    // Real-server level too.
    let c = conf(&format!("{VS} real_server 10.0.3.11 80 {{\n inhibit_on_failure\n TCP_CHECK {{\n }}\n }}\n}}\n"));
    let (mut e, _) = Engine::new(&c);
    let id = ids(&e)[0];
    report(&mut e, id, fail());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=0"]);
}

#[test]
fn alpha_starts_down_until_a_check_passes() {
    let c = conf(&format!(
        "{VS} alpha\n real_server 10.0.3.11 80 {{\n TCP_CHECK {{\n }}\n }}\n \
         real_server 10.0.3.12 80 {{\n notify_down \"/bin/echo 12 down\"\n TCP_CHECK {{\n }}\n }}\n \
         real_server 10.0.3.13 80 {{\n }}\n}}\n"
    ));
    let (mut e, _) = Engine::new(&c);
    // A real server without checkers is always up.
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.13:80=1"]);
    let i = ids(&e);
    report(&mut e, i[0], ok());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1", "10.0.3.13:80=1"]);
    // An alpha checker's first failure announces the server down (do_rs_notifies).
    let r = report(&mut e, i[1], fail());
    assert_eq!(r.effects.scripts, ["/bin/echo 12 down"]);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1", "10.0.3.13:80=1"]);
}

#[test]
fn any_failed_checker_keeps_the_server_down() {
    let c = conf(&format!(
        "{VS} real_server 10.0.3.11 80 {{\n TCP_CHECK {{\n }}\n MISC_CHECK {{\n misc_path /bin/true\n }}\n }}\n}}\n"
    ));
    let (mut e, _) = Engine::new(&c);
    let i = ids(&e);
    report(&mut e, i[0], fail());
    assert!(servers(&e.effective(), 0).is_empty());
    let r = report(&mut e, i[1], exit(1));
    assert!(has_log(&r.effects, "stays down (2 checkers failing)"), "{:?}", r.effects.logs);
    report(&mut e, i[0], ok());
    assert!(servers(&e.effective(), 0).is_empty(), "MISC_CHECK still fails");
    report(&mut e, i[1], exit(0));
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1"]);
    let st = e.status();
    assert_eq!((st[0].checkers[0].ok, st[0].checkers[0].failed), (1, 1));
    assert_eq!(st[0].checkers[1].checker, "MISC_CHECK");
}

#[test]
fn misc_dynamic_exit_codes_set_weights() {
    let c = conf(&format!(
        "{VS} real_server 10.0.3.11 80 {{\n weight 1\n MISC_CHECK {{\n misc_path /bin/true\n misc_dynamic\n }}\n }}\n \
         real_server 10.0.3.12 80 {{\n weight 4\n MISC_CHECK {{\n misc_path /bin/true\n }}\n }}\n}}\n"
    ));
    let (mut e, _) = Engine::new(&c);
    let i = ids(&e);
    let r = report(&mut e, i[0], exit(7));
    assert!(r.effects.changed);
    assert!(has_log(&r.effects, "weight 1 -> 5"), "{:?}", r.effects.logs);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=5", "10.0.3.12:80=4"]);
    report(&mut e, i[0], exit(2));
    assert_eq!(servers(&e.effective(), 0)[0], "10.0.3.11:80=0", "exit 2: up with weight 0");
    report(&mut e, i[0], exit(0));
    assert_eq!(servers(&e.effective(), 0)[0], "10.0.3.11:80=1", "exit 0: the configured weight");
    report(&mut e, i[0], exit(255));
    assert_eq!(servers(&e.effective(), 0)[0], "10.0.3.11:80=253");
    report(&mut e, i[0], exit(1));
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.12:80=4"], "exit 1 fails (misc retry defaults to 0)");
    report(&mut e, i[0], exit(9));
    assert_eq!(servers(&e.effective(), 0)[0], "10.0.3.11:80=7");
    // Without misc_dynamic 2-255 are failures.
    report(&mut e, i[1], exit(3));
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=7"]);
    report(&mut e, i[1], exit(0));
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=7", "10.0.3.12:80=4"]);
}

#[test]
fn misc_runs_are_due_from_their_start() {
    let c = conf(&format!(
        "{VS} real_server 10.0.3.11 80 {{\n MISC_CHECK {{\n misc_path /bin/true\n retry 1\n delay_before_retry 3\n }}\n }}\n}}\n"
    ));
    let (mut e, _) = Engine::new(&c);
    let id = ids(&e)[0];
    assert_eq!(report(&mut e, id, Outcome::new(CheckResult::Exit(0), secs(4))).delay, secs(6));
    assert_eq!(report(&mut e, id, Outcome::new(CheckResult::Exit(1), secs(1))).delay, secs(2), "retry");
    assert_eq!(servers(&e.effective(), 0).len(), 1);
    let r = report(&mut e, id, Outcome::new(CheckResult::Failed("timed out after 1s".into()), secs(1)));
    assert!(has_log(&r.effects, "failed (timed out after 1s)"), "{:?}", r.effects.logs);
    assert!(servers(&e.effective(), 0).is_empty());
}

const QUORUM: &str = " quorum 2\n quorum_up \"/q up\"\n quorum_down \"/q down\"\n";

fn quorum_conf(extra: &str) -> String {
    format!(
        "{VS}{QUORUM}{extra} real_server 10.0.3.11 80 {{\n notify_up \"/n up 11\"\n notify_down \"/n down 11\"\n TCP_CHECK {{\n }}\n }}\n \
         real_server 10.0.3.12 80 {{\n TCP_CHECK {{\n }}\n }}\n}}\n"
    )
}

#[test]
fn quorum_lost_puts_the_sorry_server_in() {
    let c = conf(&quorum_conf(" sorry_server 10.0.3.99 8080\n"));
    let (mut e, fx) = Engine::new(&c);
    // init_service_vs: quorum is gained at startup, so quorum_up runs.
    assert_eq!(fx.scripts, ["/q up"]);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1", "10.0.3.12:80=1"]);
    let i = ids(&e);
    let r = report(&mut e, i[0], fail());
    assert_eq!(r.effects.scripts, ["/n down 11", "/q down"]);
    assert!(has_log(&r.effects, "quorum lost for TCP 10.0.2.100:80"), "{:?}", r.effects.logs);
    assert!(has_log(&r.effects, "sorry server 10.0.3.99:8080 added"), "{:?}", r.effects.logs);
    let list = e.effective();
    assert_eq!(servers(&list, 0), ["10.0.3.99:8080=1"], "alive servers out, sorry server in");
    assert_eq!(list[0].dests[0].fwd, FwdMethod::Masq, "the virtual server's lb_kind");
    let r = report(&mut e, i[0], ok());
    assert_eq!(r.effects.scripts, ["/n up 11", "/q up"]);
    assert!(has_log(&r.effects, "sorry server 10.0.3.99:8080 removed"), "{:?}", r.effects.logs);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1", "10.0.3.12:80=1"]);
}

#[test]
fn quorum_lost_without_sorry_server_only_notifies() {
    let c = conf(&quorum_conf(""));
    let (mut e, _) = Engine::new(&c);
    let i = ids(&e);
    let r = report(&mut e, i[1], fail());
    assert_eq!(r.effects.scripts, ["/q down"]);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1"]);
    let r = report(&mut e, i[1], ok());
    assert_eq!(r.effects.scripts, ["/q up"]);
}

#[test]
fn hysteresis_delays_both_transitions() {
    let c = conf(&format!(
        "{VS} quorum 2\n hysteresis 1\n sorry_server 10.0.3.99 80\n \
         real_server 10.0.3.11 80 {{\n TCP_CHECK {{\n }}\n }}\n real_server 10.0.3.12 80 {{\n TCP_CHECK {{\n }}\n }}\n \
         real_server 10.0.3.13 80 {{\n TCP_CHECK {{\n }}\n }}\n}}\n"
    ));
    let (mut e, _) = Engine::new(&c);
    let i = ids(&e);
    report(&mut e, i[0], fail());
    report(&mut e, i[1], fail());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.13:80=1"], "1 >= 2-1: quorum kept");
    report(&mut e, i[2], fail());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.99:80=1"]);
    report(&mut e, i[0], ok());
    report(&mut e, i[1], ok());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.99:80=1"], "2 < 2+1: still the sorry server");
    report(&mut e, i[2], ok());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1", "10.0.3.12:80=1", "10.0.3.13:80=1"]);
}

#[test]
fn alpha_with_sorry_server_starts_with_it() {
    let c = conf(&format!(
        "{VS} alpha\n quorum 1\n quorum_down \"/q down\"\n lb_kind DR\n sorry_server 10.0.3.99 8080\n \
         real_server 10.0.3.11 80 {{\n TCP_CHECK {{\n }}\n }}\n}}\n"
    ));
    let (mut e, fx) = Engine::new(&c);
    assert_eq!(fx.scripts, ["/q down"]);
    let list = e.effective();
    // A DR sorry server takes the virtual server's port, and the DR method.
    assert_eq!(servers(&list, 0), ["10.0.3.99:80=1"]);
    assert_eq!(list[0].dests[0].fwd, FwdMethod::Route);
    let id = ids(&e)[0];
    report(&mut e, id, ok());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1"]);
}

#[test]
fn quorum_above_the_total_weight_is_lowered() {
    // The reader lowers it, with keepalived's warning; the engine would too.
    let dir = TempDir::new("conf");
    let p = dir.path("keepalived.conf");
    std::fs::write(
        &p,
        format!("{VS} quorum 5\n real_server 10.0.3.11 80 {{\n weight 2\n TCP_CHECK {{\n }}\n }}\n}}\n"),
    )
    .unwrap();
    let c = control::keepalived::load(&p).unwrap();
    assert!(c.warnings.iter().any(|w| w.message.contains("reducing quorum to 2")), "{:?}", c.warnings);
    let (e, _) = Engine::new(&c);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=2"]);
}

#[test]
fn http_urls_are_checked_one_per_delay_loop() {
    let c = conf(&format!(
        "{VS} real_server 10.0.3.11 80 {{\n HTTP_GET {{\n url {{\n path /a\n }}\n url {{\n path /b\n }}\n \
         retry 1\n delay_before_retry 2\n }}\n }}\n}}\n"
    ));
    let (mut e, _) = Engine::new(&c);
    let id = ids(&e)[0];
    let r = report(&mut e, id, ok());
    assert_eq!((r.delay, r.url), (secs(10), 1));
    // First round: one failure is enough; the failed url is re-fetched every delay_loop.
    let r = report(&mut e, id, fail());
    assert_eq!((r.delay, r.url), (secs(10), 1));
    assert!(servers(&e.effective(), 0).is_empty());
    assert_eq!(report(&mut e, id, fail()).url, 1);
    // The failed url passes: every url again from the first before it is up.
    assert_eq!(report(&mut e, id, ok()).url, 0);
    assert_eq!(report(&mut e, id, ok()).url, 1);
    assert!(servers(&e.effective(), 0).is_empty());
    let r = report(&mut e, id, ok());
    assert_eq!(r.url, 0);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1"]);
    // Up: a failing url is retried once, delay_before_retry later.
    report(&mut e, id, ok());
    let r = report(&mut e, id, fail());
    assert_eq!((r.delay, r.url), (secs(2), 1));
    assert_eq!(servers(&e.effective(), 0).len(), 1);
    report(&mut e, id, fail());
    assert!(servers(&e.effective(), 0).is_empty());
}

#[test]
fn reload_keeps_the_state_of_servers_that_stay() {
    let a = conf(&format!(
        "{VS} real_server 10.0.3.11 80 {{\n TCP_CHECK {{\n }}\n }}\n \
         real_server 10.0.3.12 80 {{\n notify_down \"/n down 12\"\n TCP_CHECK {{\n }}\n }}\n \
         real_server 10.0.3.14 80 {{\n TCP_CHECK {{\n }}\n }}\n}}\n"
    ));
    let (mut e, _) = Engine::new(&a);
    let old = ids(&e);
    report(&mut e, old[0], fail());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.12:80=1", "10.0.3.14:80=1"]);
    // 11 stays (down), 12 goes, 13 comes under alpha, 14 stays (up).
    let b = conf(&format!(
        "{VS} alpha\n real_server 10.0.3.11 80 {{\n TCP_CHECK {{\n }}\n }}\n \
         real_server 10.0.3.13 80 {{\n TCP_CHECK {{\n }}\n }}\n real_server 10.0.3.14 80 {{\n TCP_CHECK {{\n }}\n }}\n}}\n"
    ));
    let fx = e.reload(&b);
    assert_eq!(fx.scripts, ["/n down 12"], "a removed server that was up is announced down");
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.14:80=1"]);
    assert!(e.report(old[0], ok()).is_none(), "the old generation's checkers are stale");
    let new = ids(&e);
    assert_eq!(new.len(), 3);
    report(&mut e, new[1], ok());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.13:80=1", "10.0.3.14:80=1"]);
    report(&mut e, new[0], ok());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1", "10.0.3.13:80=1", "10.0.3.14:80=1"]);
    assert_eq!(e.status()[0].checkers[0].failed, 1, "counters carried over");
}

#[test]
fn reload_of_a_failed_server_without_its_failing_checker_brings_it_up() {
    let a = conf(&format!("{VS} real_server 10.0.3.11 80 {{\n notify_up \"/n up\"\n TCP_CHECK {{\n }}\n }}\n}}\n"));
    let (mut e, _) = Engine::new(&a);
    let id = ids(&e)[0];
    report(&mut e, id, fail());
    let b = conf(&format!("{VS} real_server 10.0.3.11 80 {{\n notify_up \"/n up\"\n }}\n}}\n"));
    let fx = e.reload(&b);
    assert_eq!(fx.scripts, ["/n up"]);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1"]);
}

#[test]
fn shutdown_runs_down_scripts_only_with_omega() {
    let text = |omega: &str| {
        format!(
            "{VS}{omega} quorum_down \"/q down\"\n real_server 10.0.3.11 80 {{\n notify_down \"/n down\"\n }}\n \
             real_server 10.0.3.12 80 {{\n notify_down \"/n down 12\"\n TCP_CHECK {{\n }}\n }}\n}}\n"
        )
    };
    let (mut e, _) = Engine::new(&conf(&text(" omega\n")));
    let id = ids(&e)[0];
    report(&mut e, id, fail());
    assert_eq!(e.shutdown().scripts, ["/n down", "/q down"], "servers still up, then the quorum");
    let (mut e, _) = Engine::new(&conf(&text("")));
    assert!(e.shutdown().scripts.is_empty());
}

#[test]
fn a_group_is_checked_once_and_its_states_apply_to_every_member() {
    let c = conf(
        "virtual_server_group LAB {\n 10.0.2.100-102 80\n}\nvirtual_server group LAB {\n delay_loop 10\n lb_algo rr\n \
         lb_kind NAT\n protocol TCP\n quorum_up \"/q up\"\n real_server 10.0.3.11 80 {\n TCP_CHECK {\n }\n }\n \
         real_server 10.0.3.12 80 {\n TCP_CHECK {\n }\n }\n}\n",
    );
    assert_eq!(c.services.len(), 3, "one service per member");
    let (mut e, fx) = Engine::new(&c);
    assert_eq!(fx.scripts, ["/q up"], "one virtual server to keepalived: its scripts run once");
    let id = ids(&e);
    assert_eq!(id.len(), 2, "two real servers, one checker each, whatever the number of members");
    assert_eq!(e.status().len(), 2);
    report(&mut e, id[1], fail());
    let list = e.effective();
    for m in 0..3 {
        assert_eq!(servers(&list, m), ["10.0.3.11:80=1"], "member {m} follows the check");
    }
    report(&mut e, id[1], ok());
    assert!((0..3).all(|m| servers(&e.effective(), m).len() == 2));
}

#[test]
fn sorry_server_inhibit_keeps_it_at_weight_0_while_quorum_holds() {
    let c = conf(&format!(
        "{VS} quorum 1\n sorry_server 10.0.3.99 80\n sorry_server_inhibit\n \
         real_server 10.0.3.11 80 {{\n TCP_CHECK {{\n }}\n }}\n}}\n"
    ));
    let (mut e, _) = Engine::new(&c);
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1", "10.0.3.99:80=0"]);
    let id = ids(&e)[0];
    report(&mut e, id, fail());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.99:80=1"]);
    report(&mut e, id, ok());
    assert_eq!(servers(&e.effective(), 0), ["10.0.3.11:80=1", "10.0.3.99:80=0"]);
}
