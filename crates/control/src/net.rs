//! The director's addresses, VIPs and routes as they run: the configuration file's
//! `[[port]]` addresses, `[[vip]]` and `[[route]]` tables plus the VIPs added with
//! `rvsadm --add-vip`, built into one [`L3Config`] and published to every worker together
//! with the services, as one snapshot of the whole director ([`Live::set_net`]). A VIP
//! added is answered from the workers' next tick (ARP or NDP, traffic) and announced; one
//! removed is no longer answered.
//!
//! Origins, as for services: a SIGHUP re-reads the file's addresses, VIPs and routes and
//! keeps the VIPs rvsadm added; `rvsadm --del-vip` removes only those (the file's are
//! the file's to remove).

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use rvs_core::l3::{L3Config, PortL3};
use rvs_core::route::{IpCidr, Route6Table, RouteTable};
use wire::EthernetAddress;

use crate::config::Config;
use crate::live::Live;

/// Where a VIP came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VipOrigin {
    File,
    Admin,
    /// Found on the port's kernel twin (`ip addr add`, keepalived's virtual_ipaddress).
    Twin,
}

impl VipOrigin {
    pub fn name(self) -> &'static str {
        match self {
            VipOrigin::File => "file",
            VipOrigin::Admin => "rvsadm",
            VipOrigin::Twin => "twin",
        }
    }
}

/// The L3 view of `cfg` for ports with `macs`, plus `extra` VIPs (address, port index)
/// and the addresses found on each port's kernel twin (`twin[i]`, port i's).
pub fn build_l3(cfg: &Config, macs: &[EthernetAddress], extra: &[(IpAddr, usize)], twin: &[Vec<IpAddr>]) -> L3Config {
    let vips: Vec<(IpAddr, usize)> = cfg.vips.iter().map(|v| (v.addr, v.port)).chain(extra.iter().copied()).collect();
    let ports = cfg
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let here = vips.iter().filter(|(_, port)| *port == i).map(|(a, _)| *a);
            // The twin holds the port's own addresses too (rvsd puts them there), and may
            // hold a configured VIP: only what is the twin's alone is listed as such.
            let twin_only = twin
                .get(i)
                .into_iter()
                .flatten()
                .copied()
                .filter(|a| !p.cidrs().any(|c| c.addr() == *a) && !vips.iter().any(|(v, _)| v == a));
            let kernel = cfg.kernel.enabled && p.twin.is_some();
            PortL3 {
                kernel,
                twin4: twin_only.clone().filter_map(|a| if let IpAddr::V4(a) = a { Some(a) } else { None }).collect(),
                twin6: twin_only.filter_map(|a| if let IpAddr::V6(a) = a { Some(a) } else { None }).collect(),
                mac: macs.get(i).copied().unwrap_or_default(),
                addrs: p.addresses.clone(),
                vips: here.clone().filter_map(|a| if let IpAddr::V4(a) = a { Some(a) } else { None }).collect(),
                addrs6: p.addresses6.clone(),
                vips6: here.filter_map(|a| if let IpAddr::V6(a) = a { Some(a) } else { None }).collect(),
                mtu: p.mtu,
            }
        })
        .collect();
    let (mut routes, mut routes6) = (RouteTable::default(), Route6Table::default());
    for r in &cfg.routes {
        match (r.prefix, r.gateway) {
            (IpCidr::V4(p), IpAddr::V4(g)) => routes.add_gateway(p, g, r.port as u16),
            (IpCidr::V6(p), IpAddr::V6(g)) => routes6.add_gateway(p, g, r.port as u16),
            // Validation keeps a route's prefix and gateway in one family.
            _ => {}
        }
    }
    L3Config::with_routes(ports, routes, routes6)
}

struct State {
    file: Config,
    macs: Vec<EthernetAddress>,
    admin: Vec<(IpAddr, usize)>,
    /// Per port: the addresses its kernel twin holds (rtnetlink).
    twin: Vec<Vec<IpAddr>>,
    current: Arc<L3Config>,
}

pub struct LiveNet {
    state: Mutex<State>,
    live: Arc<Live>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LiveNet {
    /// The configuration the workers start with (`cfg` on ports with `macs`), published
    /// from then on through `live`.
    pub fn new(cfg: &Config, macs: Vec<EthernetAddress>, live: Arc<Live>) -> LiveNet {
        let current = Arc::new(build_l3(cfg, &macs, &[], &[]));
        live.init_net(current.clone());
        let twin = vec![Vec::new(); cfg.ports.len()];
        LiveNet { state: Mutex::new(State { file: cfg.clone(), macs, admin: Vec::new(), twin, current }), live }
    }

    /// What the workers run (or are about to).
    pub fn current(&self) -> Arc<L3Config> {
        lock(&self.state).current.clone()
    }

    fn publish(&self, s: &mut State) {
        s.current = Arc::new(build_l3(&s.file, &s.macs, &s.admin, &s.twin));
        self.live.set_net(s.current.clone());
    }

    /// Take the file's addresses, VIPs and routes from a re-read configuration (SIGHUP);
    /// rvsadm's VIPs stay. The ports themselves (names, devices, their number) need a
    /// restart. Returns whether anything changed.
    pub fn reload(&self, cfg: &Config) -> Result<bool, String> {
        let mut s = lock(&self.state);
        let same_ports = s.file.ports.len() == cfg.ports.len()
            && s.file
                .ports
                .iter()
                .zip(&cfg.ports)
                .all(|(a, b)| a.name == b.name && a.device == b.device && a.twin == b.twin);
        if !same_ports {
            return Err("ports were added, removed, renamed, moved to other devices or given other kernel twins: restart rvsd for that".into());
        }
        let changed = s.file.ports != cfg.ports || s.file.vips != cfg.vips || s.file.routes != cfg.routes;
        s.file = cfg.clone();
        // A VIP rvsadm added that the file now declares is the file's.
        s.admin.retain(|(a, _)| !cfg.vips.iter().any(|v| v.addr == *a));
        if changed {
            self.publish(&mut s);
        }
        Ok(changed)
    }

    /// The addresses port `port`'s kernel twin holds now (from rtnetlink): the data path
    /// answers for each from the workers' next tick, and no longer for one removed.
    /// Returns whether anything changed.
    pub fn set_twin(&self, port: usize, mut addrs: Vec<IpAddr>) -> bool {
        let mut s = lock(&self.state);
        addrs.sort();
        addrs.dedup();
        match s.twin.get_mut(port) {
            Some(t) if *t != addrs => *t = addrs,
            _ => return false,
        }
        self.publish(&mut s);
        true
    }

    /// Whether a kernel twin holds `ip` now (keepalived puts a VRRP instance's
    /// addresses there while it is MASTER).
    pub fn twin_holds(&self, ip: IpAddr) -> bool {
        lock(&self.state).twin.iter().any(|t| t.contains(&ip))
    }

    /// `rvsadm --add-vip ADDR [--ifname PORT]`: the port defaults to the one whose
    /// subnet holds the address, as `[[vip]]` does.
    pub fn add_vip(&self, addr: IpAddr, port: Option<&str>) -> Result<(), String> {
        let mut s = lock(&self.state);
        let bad = match addr {
            IpAddr::V4(a) => a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_broadcast(),
            IpAddr::V6(a) => a.is_unspecified() || a.is_loopback() || a.is_multicast(),
        };
        if bad {
            return Err(format!("{addr} cannot be a VIP"));
        }
        if s.file.vips.iter().any(|v| v.addr == addr) || s.admin.iter().any(|(a, _)| *a == addr) {
            return Err(format!("VIP {addr} already exists"));
        }
        if s.file.ports.iter().any(|p| p.cidrs().any(|c| c.addr() == addr)) {
            return Err(format!("{addr} is a port address, not a VIP"));
        }
        let port = match port {
            Some(name) => s.file.port_index(name).ok_or_else(|| format!("no port named {name}"))?,
            None => s
                .file
                .ports
                .iter()
                .position(|p| p.cidrs().any(|c| c.contains(addr)))
                .ok_or_else(|| format!("{addr} is on no port's subnet; name the port with --ifname"))?,
        };
        s.admin.push((addr, port));
        self.publish(&mut s);
        Ok(())
    }

    /// `rvsadm --del-vip ADDR`: a VIP rvsadm added (the file's go with the file).
    pub fn del_vip(&self, addr: IpAddr) -> Result<(), String> {
        let mut s = lock(&self.state);
        if s.file.vips.iter().any(|v| v.addr == addr) {
            return Err(format!("VIP {addr} comes from {}: remove it there and reload", s.file.path.display()));
        }
        let before = s.admin.len();
        s.admin.retain(|(a, _)| *a != addr);
        if s.admin.len() == before {
            return Err(format!("no such VIP {addr}"));
        }
        self.publish(&mut s);
        Ok(())
    }

    /// The ports' names, by index.
    pub fn port_names(&self) -> Vec<String> {
        lock(&self.state).file.ports.iter().map(|p| p.name.clone()).collect()
    }

    /// Every VIP with its port's name and origin, the file's first.
    pub fn vips(&self) -> Vec<(IpAddr, String, VipOrigin)> {
        let s = lock(&self.state);
        let name = |i: usize| s.file.ports.get(i).map_or(String::new(), |p| p.name.clone());
        let file = s.file.vips.iter().map(|v| (v.addr, name(v.port), VipOrigin::File));
        let admin = s.admin.iter().map(|(a, p)| (*a, name(*p), VipOrigin::Admin));
        let twin = s.current.ports.iter().enumerate().flat_map(|(i, p)| {
            let v4 = p.twin4.iter().map(|a| IpAddr::V4(*a));
            v4.chain(p.twin6.iter().map(|a| IpAddr::V6(*a))).map(move |a| (a, i))
        });
        let twin: Vec<_> = twin.map(|(a, i)| (a, name(i), VipOrigin::Twin)).collect();
        file.chain(admin).chain(twin).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(vips: &str) -> Config {
        let text = format!(
            r#"[eal]
args = ["--no-huge", "--no-pci", "-l", "0,1", "--vdev=net_ring0", "--vdev=net_ring1"]
[[port]]
name = "wan"
device = "net_ring0"
addresses = ["10.0.2.2/24", "2001:db8:2::2/64"]
[[port]]
name = "lan"
device = "net_ring1"
addresses = ["10.0.3.1/24"]
{vips}
[workers]
lcores = [1]
"#
        );
        crate::config::parse(&text, Path::new("t.toml")).expect("valid")
    }

    fn published(rx: &crossbeam::channel::Receiver<rvs_core::ctl::WorkerCtl>) -> Arc<L3Config> {
        match rx.try_recv() {
            Ok(rvs_core::ctl::WorkerCtl::Snapshot(p)) => p.net,
            _ => panic!("a new network configuration was published"),
        }
    }

    #[test]
    fn vips_added_and_removed_reach_the_workers_and_reloads_keep_rvsadms() {
        let (tx, rx) = crossbeam::channel::unbounded();
        let file = config("[[vip]]\naddress = \"10.0.2.100\"");
        let live = Arc::new(Live::new(rvs_core::service::Config::new(16), vec![tx]));
        let net = LiveNet::new(&file, vec![EthernetAddress([2, 0, 0, 0, 0, 1]); 2], live.clone());
        assert_eq!(live.net().ports[0].vips.len(), 1, "the workers' first configuration");
        assert!(rx.try_recv().is_err(), "nothing published at start: workers get current()");
        net.add_vip("10.0.2.101".parse().unwrap(), None).unwrap();
        assert_eq!(
            published(&rx).ports[0].vips,
            ["10.0.2.100".parse::<std::net::Ipv4Addr>().unwrap(), "10.0.2.101".parse().unwrap()]
        );
        net.add_vip("2001:db8:2::101".parse().unwrap(), None).unwrap();
        assert_eq!(published(&rx).ports[0].vips6, ["2001:db8:2::101".parse::<std::net::Ipv6Addr>().unwrap()]);
        net.add_vip("192.0.2.1".parse().unwrap(), Some("lan")).unwrap();
        assert_eq!(published(&rx).ports[1].vips.len(), 1, "--ifname places it");
        // Refused, nothing published.
        assert!(net.add_vip("10.0.2.101".parse().unwrap(), None).unwrap_err().contains("already exists"));
        assert!(net.add_vip("10.0.2.2".parse().unwrap(), None).unwrap_err().contains("port address"));
        assert!(net.add_vip("198.51.100.1".parse().unwrap(), None).unwrap_err().contains("--ifname"));
        assert!(net.add_vip("192.0.2.2".parse().unwrap(), Some("dmz")).unwrap_err().contains("no port named dmz"));
        assert!(net.del_vip("10.0.2.100".parse().unwrap()).unwrap_err().contains("t.toml"), "the file's");
        assert!(rx.try_recv().is_err());
        net.del_vip("10.0.2.101".parse().unwrap()).unwrap();
        assert_eq!(published(&rx).ports[0].vips.len(), 1);
        // SIGHUP with another file VIP: rvsadm's stay.
        assert!(net.reload(&config("[[vip]]\naddress = \"10.0.2.102\"")).unwrap());
        let l3 = published(&rx);
        assert_eq!(l3.ports[0].vips, ["10.0.2.102".parse::<std::net::Ipv4Addr>().unwrap()]);
        assert_eq!(l3.ports[0].vips6.len(), 1);
        assert_eq!(l3.ports[1].vips.len(), 1);
        let origins: Vec<_> = net.vips().into_iter().map(|(_, _, o)| o).collect();
        assert_eq!(origins, [VipOrigin::File, VipOrigin::Admin, VipOrigin::Admin]);
        assert!(!net.reload(&config("[[vip]]\naddress = \"10.0.2.102\"")).unwrap(), "unchanged");
    }

    #[test]
    fn twin_addresses_are_published_and_owned_like_vips() {
        let (tx, rx) = crossbeam::channel::unbounded();
        let mut file = config("[[vip]]\naddress = \"10.0.2.100\"");
        assert_eq!(file.ports[0].twin.as_deref(), Some("wan"), "a twin by default, named after the port");
        file.ports[1].twin = None;
        let live = Arc::new(Live::new(rvs_core::service::Config::new(16), vec![tx]));
        let net = LiveNet::new(&file, vec![EthernetAddress([2, 0, 0, 0, 0, 1]); 2], live);
        assert!(net.current().ports[0].kernel && !net.current().ports[1].kernel);
        // The twin holds the port's address (rvsd put it there), the file's VIP and one more.
        let on_twin = ["10.0.2.2", "10.0.2.100", "10.0.2.101", "2001:db8:2::101"].map(|a| a.parse().unwrap());
        assert!(net.set_twin(0, on_twin.to_vec()));
        let l3 = published(&rx);
        assert_eq!(
            l3.ports[0].twin4,
            ["10.0.2.101".parse::<std::net::Ipv4Addr>().unwrap()],
            "only what is the twin's alone"
        );
        assert_eq!(l3.ports[0].twin6, ["2001:db8:2::101".parse::<std::net::Ipv6Addr>().unwrap()]);
        assert!(l3.is_local("10.0.2.101".parse().unwrap()) && l3.kernel_owns("10.0.2.101".parse().unwrap()));
        assert!(!l3.kernel_owns("10.0.2.100".parse().unwrap()), "a VIP of the file is rvs's, not the kernel's");
        assert!(!net.set_twin(0, on_twin.into_iter().rev().collect()), "same set: nothing published");
        assert!(rx.try_recv().is_err());
        let origins: Vec<_> = net.vips().into_iter().map(|(a, _, o)| (a.to_string(), o)).collect();
        assert!(origins.contains(&("10.0.2.101".into(), VipOrigin::Twin)));
        // Removed from the twin: no longer ours.
        assert!(net.set_twin(0, vec!["10.0.2.2".parse().unwrap()]));
        assert!(!published(&rx).is_local("10.0.2.101".parse().unwrap()));
    }
}
