//! Helpers shared by the scheduler tests.
#![allow(dead_code)]

use rvs_core::addr::{Addr, Protocol, Tuple};
use rvs_core::sched::{self, DestView, Scheduler};
use rvs_core::service::{Config, Dest, DestLoad, DestSpec, Persistence, SchedFlags, ServiceKey, ServiceSpec};

pub const VIP: Addr = Addr::v4([10, 0, 0, 1]);

pub struct Bed {
    pub dests: Vec<Dest>,
    pub load: DestLoad,
}

/// A TCP service on VIP:80 with dests 192.168.1.(10+i):80 of the given weights and thresholds.
pub fn bed_with(weights: &[u32], thresholds: &[(u32, u32)]) -> Bed {
    let mut cfg = Config::new(256);
    let key = ServiceKey::Proto { proto: Protocol::Tcp, addr: VIP, port: 80 };
    let mut spec = ServiceSpec::new(key);
    spec.persistence = None::<Persistence>;
    cfg.add_service(&spec).unwrap();
    for (i, w) in weights.iter().enumerate() {
        let mut d = DestSpec::new(Addr::v4([192, 168, 1, 10 + i as u8]), 80);
        d.weight = *w;
        if let Some((u, l)) = thresholds.get(i) {
            d.u_threshold = *u;
            d.l_threshold = *l;
        }
        cfg.add_dest(&key, &d).unwrap();
    }
    let snap = cfg.snapshot();
    let mut load = DestLoad::new(256, 1);
    load.sync(&snap);
    Bed { dests: snap.services()[0].dests.clone(), load }
}

pub fn bed(weights: &[u32]) -> Bed {
    bed_with(weights, &[])
}

impl Bed {
    pub fn view(&self) -> DestView<'_> {
        DestView::new(&self.dests, &self.load)
    }
    pub fn set(&mut self, i: usize, active: u32, inactive: u32) {
        let id = self.dests[i].id;
        self.load.set_counts(id, active, inactive);
    }
    pub fn sched(&self, name: &str) -> Box<dyn Scheduler> {
        sched::build(name, SchedFlags(0), &self.dests).unwrap()
    }
    pub fn pick(&self, s: &mut dyn Scheduler, t: &Tuple) -> Option<usize> {
        s.pick(&self.view(), t, 0)
    }
}

/// Client n (distinct address and port) to VIP:80.
pub fn client(n: u32) -> Tuple {
    let b = (n.wrapping_mul(2_654_435_761)).to_be_bytes();
    Tuple::new(Protocol::Tcp, Addr::v4([b[0] | 1, b[1], b[2], b[3]]), 1024 + (n % 60000) as u16, VIP, 80)
}

/// Deterministic pseudo-random numbers for test set-ups.
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self, bound: u32) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % u64::from(bound)) as u32
    }
}
