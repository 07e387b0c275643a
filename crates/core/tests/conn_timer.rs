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
