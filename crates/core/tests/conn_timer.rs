//! The timing wheel on its own: exact expiry, lazy re-arm, long deadlines, bounded work.

use rvs_core::timer::{TimerNode, TimerWheel};

fn drain(w: &mut TimerWheel, nodes: &mut [TimerNode], now: u64, budget: usize) -> Vec<u32> {
    let mut b = budget;
    let mut out = vec![];
    while let Some(id) = w.next_expired(nodes, now, &mut b) {
        out.push(id);
    }
    out.sort();
    out
}

#[test]
fn expires_each_node_at_its_deadline() {
    // 2^8 slots of 1 ms: deadlines past the 256 ms span are revisited each revolution.
    let mut w = TimerWheel::new(8, 0, 0);
    let mut nodes = vec![TimerNode::new(); 100];
    for i in 0..100u32 {
        w.arm(&mut nodes[..], i, u64::from(i) * 37 + 5);
    }
    assert_eq!(w.len(), 100);
    let mut seen = vec![];
    for now in 0..4000u64 {
        for id in drain(&mut w, &mut nodes, now, usize::MAX) {
            assert_eq!(u64::from(id) * 37 + 5, now, "node {id} fired at {now}");
            seen.push(id);
        }
    }
    assert_eq!(seen.len(), 100);
    assert!(w.is_empty());
}

#[test]
fn rearm_later_is_lazy_and_earlier_relinks() {
    let mut w = TimerWheel::new(10, 0, 0);
    let mut nodes = vec![TimerNode::new(); 3];
    w.arm(&mut nodes[..], 0, 100);
    w.arm(&mut nodes[..], 0, 5000); // later: stays in slot 100, moved when visited
    w.arm(&mut nodes[..], 1, 900);
    w.arm(&mut nodes[..], 1, 50); // earlier: relinked
    assert_eq!(drain(&mut w, &mut nodes, 60, usize::MAX), vec![1]);
    assert_eq!(drain(&mut w, &mut nodes, 4999, usize::MAX), Vec::<u32>::new());
    assert_eq!(w.deadline_ms(&nodes[..], 0), Some(5000));
    assert_eq!(drain(&mut w, &mut nodes, 5000, usize::MAX), vec![0]);
    w.arm(&mut nodes[..], 2, 6000);
    w.cancel(&mut nodes[..], 2);
    assert_eq!(drain(&mut w, &mut nodes, 100_000, usize::MAX), Vec::<u32>::new());
    assert!(w.is_empty());
}

#[test]
fn bounded_work_per_call_and_resume() {
    let mut w = TimerWheel::new(6, 0, 0);
    let n = 1000;
    let mut nodes = vec![TimerNode::new(); n];
    for i in 0..n as u32 {
        w.arm(&mut nodes[..], i, 10);
    }
    let mut total = 0;
    let mut calls = 0;
    loop {
        let got = drain(&mut w, &mut nodes, 20, 64);
        assert!(got.len() <= 64);
        if got.is_empty() {
            break;
        }
        total += got.len();
        calls += 1;
    }
    assert_eq!(total, n);
    assert!(calls >= n / 64);
}

#[test]
fn long_pause_visits_every_slot_once() {
    let mut w = TimerWheel::new(4, 0, 0);
    let mut nodes = vec![TimerNode::new(); 40];
    for i in 0..40u32 {
        w.arm(&mut nodes[..], i, u64::from(i) * 1000);
    }
    let got = drain(&mut w, &mut nodes, 20_500, usize::MAX);
    assert_eq!(got, (0..=20).collect::<Vec<u32>>());
    let got = drain(&mut w, &mut nodes, 39_000, usize::MAX);
    assert_eq!(got, (21..40).collect::<Vec<u32>>());
}

#[test]
fn random_operations_match_a_model() {
    use std::collections::HashMap;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    // 2^7 slots of 1 ms, so many deadlines lie several revolutions ahead.
    let mut w = TimerWheel::new(7, 0, 0);
    let n = 300u32;
    let mut nodes = vec![TimerNode::new(); n as usize];
    let mut model: HashMap<u32, u64> = HashMap::new();
    let mut now = 0u64;
    for _ in 0..20_000 {
        match rnd(10) {
            0..=4 => {
                let id = rnd(u64::from(n)) as u32;
                let d = now + rnd(2000);
                w.arm(&mut nodes[..], id, d);
                model.insert(id, d);
            }
            5 => {
                let id = rnd(u64::from(n)) as u32;
                w.cancel(&mut nodes[..], id);
                model.remove(&id);
            }
            _ => {
                now += rnd(300);
                let limited = rnd(2) == 0;
                let mut budget = if limited { rnd(50) as usize } else { usize::MAX };
                while let Some(id) = w.next_expired(&mut nodes[..], now, &mut budget) {
                    let d = model.remove(&id).expect("expired node was armed");
                    assert!(d <= now, "node {id} expired at {now}, deadline {d}");
                }
                if !limited {
                    assert!(model.values().all(|&d| d > now), "a due node was missed at {now}");
                }
                assert_eq!(w.len(), model.len());
            }
        }
    }
}

/// 400 days of uptime, in ms: the clock rvsd reads is time since boot.
const UPTIME_400_DAYS: u64 = 400 * 86_400_000;

#[test]
fn defect_12_far_deadline_at_400_days_uptime_is_not_early() {
    // The connection table's wheel: 2^16 slots of 16 ms. A deadline 40,000,000 s ahead
    // (past an i32 of 16 ms ticks) used to wrap into the past and expire at the slot's
    // next visit, within one 17.5-minute revolution.
    let start = UPTIME_400_DAYS;
    let mut w = TimerWheel::new(16, 4, start);
    let mut nodes = vec![TimerNode::new(); 2];
    let far = w.tick(start) + w.ticks_ceil(40_000_000_000);
    w.arm(&mut nodes[..], 0, far);
    // 31 days (ipvsadm's cap, rvs's longest timeout) expires exactly, however long the
    // box has been up.
    let month = w.tick(start) + w.ticks_ceil(31 * 86_400_000);
    w.arm(&mut nodes[..], 1, month);
    for mins in [1u64, 20, 60, 24 * 60, 30 * 24 * 60] {
        let now = start + mins * 60_000;
        assert_eq!(drain(&mut w, &mut nodes, now, usize::MAX), Vec::<u32>::new(), "expired after {mins} min");
    }
    let month_ms = month << 4;
    assert_eq!(drain(&mut w, &mut nodes, month_ms - 16, usize::MAX), Vec::<u32>::new());
    assert_eq!(drain(&mut w, &mut nodes, month_ms, usize::MAX), vec![1], "31 days expire on time");
    let d = w.deadline_ms(&nodes[..], 0).expect("the far node is still armed");
    assert_eq!(d, start + 40_000_000_000, "the far deadline is kept exactly");
    assert_eq!(drain(&mut w, &mut nodes, start + 365 * 86_400_000, usize::MAX), Vec::<u32>::new());
    assert_eq!(w.len(), 1);
}
#[test]
fn defect_12_any_deadline_is_safe_at_any_uptime() {
    // Deadlines up to u64::MAX ticks, from clocks either side of the 32-bit tick wraps:
    // nothing expires before its deadline (or before the wheel's horizon, for deadlines
    // beyond it), and every node expires once the clock passes.
    for start in [0, (1u64 << 31) * 16 - 5000, UPTIME_400_DAYS, (1u64 << 32) * 16 + 7, 1 << 50] {
        let mut w = TimerWheel::new(8, 4, start);
        let t0 = w.tick(start);
        let ahead = [0u64, 1, 255, 256, 1 << 20, (1 << 31) - 1, 1 << 31, (1 << 32) + 3, 1 << 40, u64::MAX - t0];
        let mut nodes = vec![TimerNode::new(); ahead.len()];
        for (i, a) in ahead.iter().enumerate() {
            w.arm(&mut nodes[..], i as u32, t0 + a);
        }
        let horizon = t0 + w.max_ahead();
        let mut left: Vec<u32> = (0..ahead.len() as u32).collect();
        // Jump through the interesting instants, then far past everything.
        let mut checks: Vec<u64> =
            ahead.iter().flat_map(|a| [t0 + a.min(&w.max_ahead()), t0 + a.min(&w.max_ahead()) + 1]).collect();
        checks.sort();
        for now_t in checks {
            for id in drain(&mut w, &mut nodes, now_t << 4, usize::MAX) {
                let due = (t0 + ahead[id as usize]).min(horizon);
                assert!(due <= now_t, "start {start}: node {id} due at tick {due} expired at {now_t}");
                left.retain(|&x| x != id);
            }
            for &id in &left {
                let due = (t0 + ahead[id as usize]).min(horizon);
                assert!(due > now_t, "start {start}: node {id} due at tick {due} still armed at {now_t}");
            }
        }
        assert!(left.is_empty(), "start {start}: {left:?} never expired");
    }
}
