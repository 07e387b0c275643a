//! FullNAT reply steering by the NIC. A reply (real server → local address:lport) belongs
//! to the worker owning lport (`lport & mask == worker`, rvs_core::conn::laddr). Where
//! the NIC has rte_flow, every port gets, per local address, worker and protocol, a rule
//! "TCP|UDP to LADDR, dst port bits = i under mask → queue i", so replies arrive on
//! their owner's queue. Elsewhere (af_packet, net_ring, a NIC that refuses the rule) the
//! workers compute the owner and redirect through their rings; that path stays in any
//! case, for ICMP errors and for whatever no rule matches.
//!
//! Runs on the control thread only (rte_flow calls on a port must not overlap): it
//! follows the published snapshot's local addresses at each tick.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use dpdk::{Flow, Port, QueueRule, L4};
use rvs_core::addr::Addr;
use rvs_core::conn::laddr::lport_mask;
use rvs_core::service::Snapshot;

/// What installs rules on one port: the DPDK port, or a fake in tests.
pub trait RuleSink {
    type Rule;
    fn install(&self, rule: &QueueRule) -> Result<Self::Rule, String>;
    fn remove(&self, rule: Self::Rule) -> Result<(), String>;
}

impl RuleSink for Port {
    type Rule = Flow;
    fn install(&self, rule: &QueueRule) -> Result<Flow, String> {
        self.flow_create(rule).map_err(|e| e.to_string())
    }
    fn remove(&self, rule: Flow) -> Result<(), String> {
        rule.destroy().map_err(|e| e.to_string())
    }
}

/// Per port, for the metrics endpoint.
#[derive(Debug, Default)]
pub struct SteerStatus {
    /// The NIC's rules steer this port's FullNAT replies.
    pub nic: AtomicBool,
    /// Rules installed now.
    pub rules: AtomicU64,
}

enum Mode<R> {
    /// Not tried yet: no local address so far.
    Untried,
    /// Rules by local address (workers × {TCP, UDP} each).
    Nic(BTreeMap<Addr, Vec<R>>),
    /// The port refused a rule; never tried again.
    Software,
    /// One worker: every reply is its own.
    NotNeeded,
}

struct PortSteer<S: RuleSink> {
    name: String,
    sink: S,
    mode: Mode<S::Rule>,
}

pub struct Steering<S: RuleSink = Port> {
    workers: u16,
    ports: Vec<PortSteer<S>>,
    generation: Option<u64>,
    status: Arc<Vec<SteerStatus>>,
}

/// The rules that steer replies to `laddr` among `workers`.
pub fn rules_for(laddr: Addr, workers: u16) -> impl Iterator<Item = QueueRule> {
    let mask = lport_mask(u32::from(workers));
    (0..workers).flat_map(move |q| {
        [L4::Tcp, L4::Udp].map(|l4| QueueRule { dst: laddr.to_ip(), l4, dst_port: q, dst_port_mask: mask, queue: q })
    })
}

impl<S: RuleSink> Steering<S> {
    /// `ports`: (name, sink) in port order; `workers`: rx queues per port, one each.
    pub fn new(ports: Vec<(String, S)>, workers: u16) -> Self {
        let status = Arc::new(ports.iter().map(|_| SteerStatus::default()).collect());
        let ports = ports
            .into_iter()
            .map(|(name, sink)| PortSteer {
                name,
                sink,
                mode: if workers > 1 { Mode::Untried } else { Mode::NotNeeded },
            })
            .collect();
        Steering { workers, ports, generation: None, status }
    }

    pub fn status(&self) -> Arc<Vec<SteerStatus>> {
        self.status.clone()
    }

    /// Bring every port's rules to `snap`'s local addresses (cheap when its generation
    /// was seen already).
    pub fn sync(&mut self, snap: &Snapshot) {
        if self.generation == Some(snap.generation()) {
            return;
        }
        self.generation = Some(snap.generation());
        let want: BTreeSet<Addr> = snap.laddrs().copied().collect();
        for (p, st) in self.ports.iter_mut().zip(self.status.iter()) {
            p.sync(&want, self.workers);
            let (nic, rules) = match &p.mode {
                Mode::Nic(m) => (true, m.values().map(Vec::len).sum::<usize>()),
                _ => (false, 0),
            };
            st.nic.store(nic, Ordering::Relaxed);
            st.rules.store(rules as u64, Ordering::Relaxed);
        }
    }

    /// One line per port, for the startup account.
    pub fn describe(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| {
                let how = match &p.mode {
                    Mode::Untried => {
                        "by the NIC if it takes rte_flow rules (tried with the first local address)".into()
                    }
                    Mode::Nic(m) => {
                        format!("by the NIC ({} rte_flow rules)", m.values().map(Vec::len).sum::<usize>())
                    }
                    Mode::Software => "in software (no rte_flow, said above)".into(),
                    Mode::NotNeeded => "not needed (one worker)".into(),
                };
                format!("port {}: FullNAT reply steering {how}", p.name)
            })
            .collect()
    }
}

impl<S: RuleSink> PortSteer<S> {
    fn sync(&mut self, want: &BTreeSet<Addr>, workers: u16) {
        if want.is_empty() && matches!(self.mode, Mode::Untried) {
            return;
        }
        let mut have = match std::mem::replace(&mut self.mode, Mode::Untried) {
            Mode::Untried => BTreeMap::new(),
            Mode::Nic(m) => m,
            other => {
                self.mode = other;
                return;
            }
        };
        // Removed addresses first: their rules free room for the new ones.
        let gone: Vec<Addr> = have.keys().filter(|a| !want.contains(a)).copied().collect();
        for a in gone {
            for r in have.remove(&a).unwrap_or_default() {
                if let Err(e) = self.sink.remove(r) {
                    eprintln!("rvsd: port {}: rte_flow rule for {a}: {e}", self.name);
                }
            }
        }
        let new: Vec<Addr> = want.iter().filter(|a| !have.contains_key(a)).copied().collect();
        for a in new {
            let mut rules = Vec::with_capacity(usize::from(workers) * 2);
            for r in rules_for(a, workers) {
                match self.sink.install(&r) {
                    Ok(f) => rules.push(f),
                    Err(e) => {
                        // All or nothing: a port is steered by the NIC or in software.
                        for f in rules.into_iter().chain(have.into_values().flatten()) {
                            let _ = self.sink.remove(f);
                        }
                        eprintln!(
                            "rvsd: port {}: no rte_flow ({e}): FullNAT replies are steered to their worker in software",
                            self.name
                        );
                        self.mode = Mode::Software;
                        return;
                    }
                }
            }
            have.insert(a, rules);
        }
        self.mode = Mode::Nic(have);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    use rvs_core::addr::Protocol;
    use rvs_core::service::{Config, ServiceKey, ServiceSpec};

    /// Installed rules by id; refuses the `fail_at`-th install (1-based) and after.
    #[derive(Default)]
    struct Fake {
        live: Rc<RefCell<Vec<(u32, QueueRule)>>>,
        next: RefCell<u32>,
        fail_at: Option<u32>,
        tries: Rc<RefCell<u32>>,
    }

    impl RuleSink for Fake {
        type Rule = u32;
        fn install(&self, rule: &QueueRule) -> Result<u32, String> {
            *self.tries.borrow_mut() += 1;
            let n = *self.tries.borrow();
            if self.fail_at.is_some_and(|f| n >= f) {
                return Err("rte_flow_create: item not supported".into());
            }
            let id = *self.next.borrow();
            *self.next.borrow_mut() += 1;
            self.live.borrow_mut().push((id, *rule));
            Ok(id)
        }
        fn remove(&self, rule: u32) -> Result<(), String> {
            let mut l = self.live.borrow_mut();
            let i = l.iter().position(|(id, _)| *id == rule).ok_or("double remove")?;
            l.remove(i);
            Ok(())
        }
    }

    /// A snapshot whose services (one IPv4, one IPv6) have `laddrs`.
    fn snap(laddrs: &[&str], generation: u64) -> Arc<Snapshot> {
        let mut cfg = Config::new(16);
        let v4 = ServiceKey::Proto { proto: Protocol::Tcp, addr: Addr::v4([10, 0, 2, 100]), port: 80 };
        let v6 = ServiceKey::Proto {
            proto: Protocol::Tcp,
            addr: Addr::from("2001:db8:2::100".parse::<std::net::Ipv6Addr>().unwrap()),
            port: 80,
        };
        for key in [v4, v6] {
            cfg.add_service(&ServiceSpec::new(key)).unwrap();
        }
        for a in laddrs {
            let a = Addr::from(a.parse::<std::net::IpAddr>().unwrap());
            cfg.add_laddr(if a.is_v4() { &v4 } else { &v6 }, a).unwrap();
        }
        cfg.snapshot_gen(generation)
    }

    #[test]
    fn rules_cover_every_worker_and_protocol_under_the_owner_mask() {
        let r: Vec<QueueRule> = rules_for(Addr::v4([10, 0, 3, 200]), 3).collect();
        assert_eq!(r.len(), 6);
        for (i, q) in r.iter().enumerate() {
            assert_eq!((q.dst_port, q.queue, q.dst_port_mask), ((i / 2) as u16, (i / 2) as u16, 3));
            assert_eq!(q.l4, if i % 2 == 0 { L4::Tcp } else { L4::Udp });
            assert_eq!(q.dst.to_string(), "10.0.3.200");
        }
        // The rule's queue is the owner rvs_core computes for every port it matches.
        for lport in [1025u16, 4242, 65535] {
            let owner = rvs_core::conn::laddr::lport_owner(lport, 3);
            let hit = r.iter().find(|q| lport & q.dst_port_mask == q.dst_port).map(|q| q.queue);
            assert_eq!(hit, (u32::from(owner) < 3).then_some(u16::from(owner)));
        }
    }

    #[test]
    fn rules_follow_the_local_addresses() {
        let fake = Fake::default();
        let live = fake.live.clone();
        let mut s = Steering::new(vec![("lan".into(), fake)], 2);
        s.sync(&snap(&[], 1));
        assert!(live.borrow().is_empty());
        assert!(s.describe()[0].contains("tried with the first local address"), "{:?}", s.describe());
        s.sync(&snap(&["10.0.3.200", "2001:db8:3::200"], 2));
        assert_eq!(live.borrow().len(), 8, "2 laddrs x 2 workers x TCP/UDP");
        assert!(s.status()[0].nic.load(Ordering::Relaxed));
        assert_eq!(s.status()[0].rules.load(Ordering::Relaxed), 8);
        s.sync(&snap(&["2001:db8:3::200"], 3));
        assert_eq!(live.borrow().len(), 4);
        assert!(live.borrow().iter().all(|(_, r)| r.dst.to_string() == "2001:db8:3::200"));
        assert_eq!(s.describe()[0], "port lan: FullNAT reply steering by the NIC (4 rte_flow rules)");
        s.sync(&snap(&[], 4));
        assert!(live.borrow().is_empty());
    }

    #[test]
    fn the_first_refusal_drops_the_port_to_software_for_good() {
        let fake = Fake { fail_at: Some(7), ..Fake::default() };
        let (live, tries) = (fake.live.clone(), fake.tries.clone());
        let ok = Fake::default();
        let ok_live = ok.live.clone();
        let mut s = Steering::new(vec![("wan".into(), fake), ("lan".into(), ok)], 2);
        s.sync(&snap(&["10.0.3.200"], 1));
        assert_eq!(live.borrow().len(), 4);
        s.sync(&snap(&["10.0.3.200", "10.0.3.201"], 2));
        assert!(live.borrow().is_empty(), "every rule of the port is removed");
        assert!(!s.status()[0].nic.load(Ordering::Relaxed));
        assert_eq!(s.status()[0].rules.load(Ordering::Relaxed), 0);
        assert_eq!(s.describe()[0], "port wan: FullNAT reply steering in software (no rte_flow, said above)");
        let n = *tries.borrow();
        s.sync(&snap(&["10.0.3.202"], 3));
        assert_eq!(*tries.borrow(), n, "never tried again");
        assert_eq!(ok_live.borrow().len(), 4, "the other port keeps its own");
        assert!(s.status()[1].nic.load(Ordering::Relaxed));
    }

    #[test]
    fn one_worker_needs_no_rules() {
        let fake = Fake::default();
        let tries = fake.tries.clone();
        let mut s = Steering::new(vec![("lan".into(), fake)], 1);
        s.sync(&snap(&["10.0.3.200"], 1));
        assert_eq!(*tries.borrow(), 0);
        assert_eq!(s.describe()[0], "port lan: FullNAT reply steering not needed (one worker)");
    }
}
