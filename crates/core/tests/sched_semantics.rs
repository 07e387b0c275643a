//! Scheduler semantics against the kernel's ip_vs_*.c behaviour.

mod sched_common;

use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::sched::{self, Lblc, Lblcr, Scheduler, NAMES};
use rvs_core::service::SchedFlags;
use sched_common::*;

/// Clients with distinct destination addresses too (dh and lblc hash the destination).
fn spread(i: u32) -> Tuple {
    let mut t = client(i);
    t.dst = client(i.wrapping_mul(31)).src;
    t
}

#[test]
fn names_and_unknown() {
    assert_eq!(NAMES.len(), 14);
    let b = bed(&[1]);
    for n in NAMES {
        assert_eq!(sched::build(n, SchedFlags(0), &b.dests).unwrap().name(), *n);
    }
    assert!(sched::build("nope", SchedFlags(0), &b.dests).is_err());
}

#[test]
fn rr_order_exact_and_skips_weight_zero() {
    let b = bed(&[1, 1, 1]);
    let mut s = b.sched("rr");
    let got: Vec<_> = (0..7).map(|i| b.pick(s.as_mut(), &client(i)).unwrap()).collect();
    assert_eq!(got, [0, 1, 2, 0, 1, 2, 0]);
    let b = bed(&[1, 0, 5]);
    let mut s = b.sched("rr");
    let got: Vec<_> = (0..5).map(|i| b.pick(s.as_mut(), &client(i)).unwrap()).collect();
    assert_eq!(got, [0, 2, 0, 2, 0]);
}

#[test]
fn wrr_three_to_one() {
    let b = bed(&[3, 1]);
    let mut s = b.sched("wrr");
    let first: Vec<_> = (0..8).map(|i| b.pick(s.as_mut(), &client(i)).unwrap()).collect();
    assert_eq!(first, [0, 0, 0, 1, 0, 0, 0, 1]);
    let mut s = b.sched("wrr");
    let n = 10_000;
    let zero = (0..n).filter(|&i| b.pick(s.as_mut(), &client(i)) == Some(0)).count();
    let share = zero as f64 / n as f64;
    assert!((share - 0.75).abs() <= 0.01, "share {share}");
}

#[test]
fn wrr_gcd_stepping_proportions() {
    // gcd 2: weights 4:6:2 behave as 2:3:1.
    let b = bed(&[4, 6, 2]);
    let mut s = b.sched("wrr");
    let mut c = [0usize; 3];
    for i in 0..600 {
        c[b.pick(s.as_mut(), &client(i)).unwrap()] += 1;
    }
    assert_eq!(c, [200, 300, 100]);
}

fn reference_weighted(b: &Bed, oh: impl Fn(usize) -> f64, require_w: bool) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for i in 0..b.dests.len() {
        let w = b.dests[i].weight;
        if w == 0 && require_w {
            continue;
        }
        let r = oh(i) / w as f64;
        if best.is_none_or(|(_, br)| r < br) {
            best = Some((i, r));
        }
    }
    best.map(|x| x.0)
}

#[test]
fn lc_wlc_sed_follow_overhead_formulas() {
    let mut rng = Lcg(7);
    for round in 0..300 {
        let weights: Vec<u32> = (0..6).map(|_| 1 + rng.next(9)).collect();
        let mut b = bed(&weights);
        let mut counts = vec![];
        for i in 0..6 {
            let (a, n) = (rng.next(50), rng.next(2000));
            b.set(i, a, n);
            counts.push((a, n));
        }
        let oh = |i: usize| counts[i].0 as f64 * 256.0 + counts[i].1 as f64;
        let lc_ref = (0..6).min_by(|&x, &y| oh(x).partial_cmp(&oh(y)).unwrap()).unwrap();
        assert_eq!(b.pick(b.sched("lc").as_mut(), &client(round)), Some(lc_ref), "lc {counts:?}");
        let wlc_ref = reference_weighted(&b, oh, true);
        assert_eq!(b.pick(b.sched("wlc").as_mut(), &client(round)), wlc_ref, "wlc {counts:?} {weights:?}");
        let sed_ref = reference_weighted(&b, |i| counts[i].0 as f64 + 1.0, true);
        assert_eq!(b.pick(b.sched("sed").as_mut(), &client(round)), sed_ref, "sed");
    }
}

#[test]
fn wlc_concrete_case() {
    // overheads: 2*256+10=522 (w1), 3*256+0=768 (w2: 384 per weight), 0*256+600 (w1)
    let mut b = bed(&[1, 2, 1]);
    b.set(0, 2, 10);
    b.set(1, 3, 0);
    b.set(2, 0, 600);
    assert_eq!(b.pick(b.sched("wlc").as_mut(), &client(0)), Some(1));
    assert_eq!(b.pick(b.sched("lc").as_mut(), &client(0)), Some(0));
    // sed ignores inactive: (2+1)/1, (3+1)/2, (0+1)/1 -> index 2
    assert_eq!(b.pick(b.sched("sed").as_mut(), &client(0)), Some(2));
}

#[test]
fn nq_prefers_idle_then_sed() {
    let mut b = bed(&[1, 5, 1]);
    b.set(0, 3, 0);
    b.set(1, 4, 0);
    b.set(2, 0, 900);
    assert_eq!(b.pick(b.sched("nq").as_mut(), &client(0)), Some(2));
    b.set(2, 2, 0);
    // (3+1)/1, (4+1)/5, (2+1)/1 -> 1
    assert_eq!(b.pick(b.sched("nq").as_mut(), &client(0)), Some(1));
}

#[test]
fn fo_highest_weight_available() {
    let mut b = bed_with(&[2, 7, 7, 3], &[(0, 0), (1, 0), (0, 0), (0, 0)]);
    assert_eq!(b.pick(b.sched("fo").as_mut(), &client(0)), Some(1));
    b.set(1, 1, 0); // reaches u_threshold 1 -> overloaded
    assert_eq!(b.pick(b.sched("fo").as_mut(), &client(0)), Some(2));
}

#[test]
fn ovf_highest_weight_until_active_exceeds_weight() {
    let mut b = bed(&[2, 5, 3]);
    b.set(1, 5, 0);
    assert_eq!(b.pick(b.sched("ovf").as_mut(), &client(0)), Some(1), "active == weight still eligible");
    b.set(1, 6, 0);
    assert_eq!(b.pick(b.sched("ovf").as_mut(), &client(0)), Some(2));
    b.set(2, 4, 0);
    assert_eq!(b.pick(b.sched("ovf").as_mut(), &client(0)), Some(0));
    b.set(0, 3, 0);
    assert_eq!(b.pick(b.sched("ovf").as_mut(), &client(0)), None);
}

#[test]
fn weight_zero_never_picked_by_any_scheduler() {
    for name in NAMES {
        let b = bed(&[0, 1, 0, 2, 0]);
        let mut s = b.sched(name);
        let mut seen = 0;
        for i in 0..3000 {
            if let Some(d) = b.pick(s.as_mut(), &spread(i)) {
                assert!(d == 1 || d == 3, "{name} picked weight-0 dest {d}");
                seen += 1;
            }
        }
        assert!(seen > 0, "{name} never picked");
        let b = bed(&[0, 0]);
        let mut s = b.sched(name);
        assert!((0..200).all(|i| b.pick(s.as_mut(), &client(i)).is_none()), "{name}");
    }
}

#[test]
fn thresholds_honoured_by_every_scheduler() {
    for name in NAMES {
        let mut b = bed_with(&[1, 1, 1], &[(4, 2), (0, 0), (0, 0)]);
        let id = b.dests[0].id;
        for _ in 0..4 {
            b.load.bind(id, true);
        }
        assert!(b.view().overloaded(0), "bind to u_threshold sets OVERLOAD");
        let mut s = b.sched(name);
        for i in 0..2000 {
            assert_ne!(b.pick(s.as_mut(), &spread(i)), Some(0), "{name} picked an overloaded dest");
        }
        b.load.unbind(id, true);
        assert!(b.view().overloaded(0), "3 >= l_threshold 2: still overloaded");
        b.load.unbind(id, true);
        b.load.unbind(id, true);
        assert!(!b.view().overloaded(0), "1 < l_threshold: cleared");
    }
    // l_threshold 0: cleared below 3/4 of u_threshold.
    let mut b = bed_with(&[1], &[(8, 0)]);
    let id = b.dests[0].id;
    (0..8).for_each(|_| b.load.bind(id, false));
    assert!(b.view().overloaded(0));
    (0..2).for_each(|_| b.load.unbind(id, false));
    assert!(b.view().overloaded(0), "6*4 = 24 is not < 8*3");
    b.load.unbind(id, false);
    assert!(!b.view().overloaded(0));
}

#[test]
fn sh_and_dh_are_stable_and_weighted() {
    let b = bed(&[3, 1, 2]);
    let mut sh = b.sched("sh");
    let mut sh2 = b.sched("sh");
    let mut dh = b.sched("dh");
    let mut per = [0usize; 3];
    for i in 0..5000 {
        let t = client(i);
        let a = b.pick(sh.as_mut(), &t).unwrap();
        per[a] += 1;
        assert_eq!(b.pick(sh.as_mut(), &t), Some(a));
        assert_eq!(b.pick(sh2.as_mut(), &t), Some(a), "fresh instance");
        sh.update(&b.dests);
        assert_eq!(b.pick(sh.as_mut(), &t), Some(a), "after rebuild");
        let mut dt = t;
        dt.dst = t.src; // dh hashes the destination address
        let d = b.pick(dh.as_mut(), &dt).unwrap();
        dh.update(&b.dests);
        assert_eq!(b.pick(dh.as_mut(), &dt), Some(d));
    }
    // Buckets 3:1:2 -> shares near 1/2, 1/6, 1/3.
    let f = |x: usize| per[x] as f64 / 5000.0;
    assert!((f(0) - 0.5).abs() < 0.06 && (f(1) - 1.0 / 6.0).abs() < 0.05, "{per:?}");
}

#[test]
fn sh_port_and_fallback_flags() {
    let mut b = bed(&[1, 1, 1, 1]);
    let t = client(42);
    let mut plain = sched::build("sh", SchedFlags(0), &b.dests).unwrap();
    let mut port = sched::build("sh", SchedFlags::SH_PORT, &b.dests).unwrap();
    let base = b.pick(plain.as_mut(), &t).unwrap();
    let spread: std::collections::HashSet<_> =
        (0..64).map(|p| b.pick(port.as_mut(), &Tuple { sport: 2000 + p, ..t }).unwrap()).collect();
    assert!(spread.len() > 1, "sh-port spreads one client's ports");
    assert!((0..64).all(|p| b.pick(plain.as_mut(), &Tuple { sport: 2000 + p, ..t }) == Some(base)));
    // Make the hashed dest quiescent: without fallback no dest, with fallback another one.
    b.dests[base].weight = 0;
    assert_eq!(b.pick(plain.as_mut(), &t), None);
    let mut fb = sched::build("sh", SchedFlags::SH_FALLBACK, &b.dests).unwrap();
    let other = b.pick(fb.as_mut(), &t).unwrap();
    assert_ne!(other, base);
}

#[test]
fn lblc_locality_and_overload_rescheduling() {
    let mut b = bed(&[2, 2, 2]);
    let mut s = Lblc::new(1024);
    s.update(&b.dests);
    let target = |n: u8| Tuple::new(Protocol::Tcp, Addr::v4([1, 1, 1, 1]), 1000, Addr::v4([172, 16, 0, n]), 80);
    let first = s.pick(&b.view(), &target(1), 0).unwrap();
    b.set(first, 1, 0); // more load on it; locality still wins
    for i in 0..20 {
        assert_eq!(s.pick(&b.view(), &target(1), i), Some(first));
    }
    // Another address goes to the least-loaded dest by wlc.
    let second = s.pick(&b.view(), &target(2), 0).unwrap();
    assert_ne!(second, first);
    // is_overloaded: active > weight and some dest below half its weight -> reschedule.
    b.set(first, 3, 0);
    let moved = s.pick(&b.view(), &target(1), 30).unwrap();
    assert_ne!(moved, first);
    assert_eq!(s.pick(&b.view(), &target(1), 31), Some(moved), "cache updated");
    // Expired entries are misses.
    s.set_expiration(1000);
    b.set(first, 0, 0);
    b.set(moved, 5, 0);
    b.set(3 - first - moved, 5, 0);
    assert_eq!(s.pick(&b.view(), &target(1), 5000), Some(first));
}

#[test]
fn lblcr_sets_grow_and_shrink() {
    let mut b = bed(&[1, 1, 1]);
    let mut s = Lblcr::new(1024);
    s.update(&b.dests);
    let dst = Addr::v4([172, 16, 0, 9]);
    let t = Tuple::new(Protocol::Tcp, Addr::v4([1, 1, 1, 1]), 1000, dst, 80);
    let a = s.pick(&b.view(), &t, 0).unwrap();
    assert_eq!(s.set_of(&dst, 0), vec![a]);
    // Overload a's locality (active 2 > weight 1 while another dest is idle): add a member.
    b.set(a, 2, 0);
    let c = s.pick(&b.view(), &t, 10).unwrap();
    assert_ne!(c, a);
    let mut set = s.set_of(&dst, 10);
    set.sort();
    let mut want = vec![a, c];
    want.sort();
    assert_eq!(set, want);
    // The set's least loaded member serves while not overloaded.
    b.set(a, 0, 0);
    b.set(c, 1, 0);
    assert_eq!(s.pick(&b.view(), &t, 20), Some(a));
    // After the expiration without changes, the most loaded member is dropped.
    s.set_expiration(1000);
    assert_eq!(s.pick(&b.view(), &t, 900), Some(a));
    assert_eq!(s.set_of(&dst, 900).len(), 2);
    s.pick(&b.view(), &t, 1500).unwrap();
    assert_eq!(s.set_of(&dst, 1500), vec![a]);
}

#[test]
fn twos_weighted_and_load_aware() {
    let b = bed(&[1, 3]);
    let mut s = b.sched("twos");
    let n = 20_000;
    let ones = (0..n).filter(|&i| b.pick(s.as_mut(), &client(i)) == Some(1)).count();
    // Equal (zero) load: the first candidate wins. The kernel draws r in [0, total]
    // (total_weight += 1) and takes the first dest with r - cumulative <= 0, so with
    // weights 1:3 dest 0 gets r in {0, 1}: p(dest 1) = 3/5.
    let share = ones as f64 / n as f64;
    assert!((share - 0.6).abs() < 0.02, "{share}");
    // Heavy load on dest 1: chosen only when both candidates are dest 1 (p = 9/25).
    let mut b = bed(&[1, 3]);
    b.set(1, 100, 0);
    let mut s = b.sched("twos");
    let ones = (0..n).filter(|&i| b.pick(s.as_mut(), &client(i)) == Some(1)).count();
    let share = ones as f64 / n as f64;
    assert!((share - 0.36).abs() < 0.02, "{share}");
}

#[test]
fn sched_set_keeps_state_across_snapshots() {
    use rvs_core::service::{Config, DestSpec, ServiceKey, ServiceSpec};
    let mut cfg = Config::new(16);
    let k = ServiceKey::Proto { proto: Protocol::Tcp, addr: VIP, port: 80 };
    let mut spec = ServiceSpec::new(k);
    spec.scheduler = "rr".into();
    cfg.add_service(&spec).unwrap();
    for i in 0..3 {
        cfg.add_dest(&k, &DestSpec::new(Addr::v4([192, 168, 1, i]), 80)).unwrap();
    }
    let snap = cfg.snapshot();
    let mut load = rvs_core::service::DestLoad::new(16, 1);
    load.sync(&snap);
    let mut set = sched::SchedSet::new(&snap);
    let pick = |set: &mut sched::SchedSet, snap: &rvs_core::service::Snapshot| {
        let v = sched::DestView::new(&snap.services()[0].dests, &load);
        set.get_mut(0).unwrap().pick(&v, &client(0), 0).unwrap()
    };
    assert_eq!(pick(&mut set, &snap), 0);
    assert_eq!(pick(&mut set, &snap), 1);
    // A weight change keeps the rr position; a scheduler change starts afresh.
    let mut d = DestSpec::new(Addr::v4([192, 168, 1, 0]), 80);
    d.weight = 5;
    cfg.edit_dest(&k, &d).unwrap();
    let snap2 = cfg.snapshot();
    set.apply(&snap2);
    assert_eq!(pick(&mut set, &snap2), 2);
    spec.scheduler = "wrr".into();
    cfg.edit_service(&spec).unwrap();
    let snap3 = cfg.snapshot();
    set.apply(&snap3);
    assert_eq!(set.get_mut(0).unwrap().name(), "wrr");
    assert_eq!(set.len(), 1);
}
