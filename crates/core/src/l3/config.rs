//! What the L3 node knows of the director's ports: addresses of both families, VIPs,
//! MTUs, and the routes (connected subnets plus static ones).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wire::EthernetAddress;

use crate::route::{Ipv4Cidr, Ipv6Cidr, NextHop, Route6Table, RouteTable};

/// One port's addresses.
#[derive(Clone, Debug, Default)]
pub struct PortL3 {
    pub mac: EthernetAddress,
    pub addrs: Vec<Ipv4Cidr>,
    /// VIPs announced and answered on this port.
    pub vips: Vec<Ipv4Addr>,
    /// IPv6 addresses (global); the link-local address comes from the MAC.
    pub addrs6: Vec<Ipv6Cidr>,
    pub vips6: Vec<Ipv6Addr>,
    /// Largest IP packet the link carries (TUN checks it before encapsulating).
    pub mtu: u16,
    /// The port has a kernel twin: what the data path does not consume and is addressed
    /// to the box goes up to it instead of being dropped.
    pub kernel: bool,
    /// Addresses found on the twin beyond `addrs`/`addrs6` (an operator's `ip addr add`,
    /// keepalived's virtual_ipaddress): answered and owned like VIPs, and the kernel's.
    pub twin4: Vec<Ipv4Addr>,
    pub twin6: Vec<Ipv6Addr>,
}

impl PortL3 {
    /// fe80::/64 with the modified EUI-64 interface identifier of the port's MAC
    /// (RFC 4291 2.5.1, appendix A), as Linux gives an Ethernet interface.
    /// A port speaks IPv6 (NDP, its link-local address) only when given an IPv6
    /// address or VIP: an IPv4-only director stays silent in IPv6.
    pub fn has_ipv6(&self) -> bool {
        !self.addrs6.is_empty() || !self.vips6.is_empty() || !self.twin6.is_empty()
    }

    /// Every IPv4 address answered on this port: addresses, VIPs, the twin's.
    pub fn all4(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.addrs.iter().map(|a| a.addr).chain(self.vips.iter().copied()).chain(self.twin4.iter().copied())
    }

    /// Every IPv6 address answered on this port (the link-local one aside).
    pub fn all6(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.addrs6.iter().map(|a| a.addr).chain(self.vips6.iter().copied()).chain(self.twin6.iter().copied())
    }

    pub fn link_local(&self) -> Ipv6Addr {
        let m = self.mac.0;
        Ipv6Addr::from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
    }
}

/// The L3 configuration shared (read-only) by all workers.
#[derive(Clone, Debug, Default)]
pub struct L3Config {
    pub ports: Vec<PortL3>,
    /// Static routes; connected subnets of `ports` are added by [`L3Config::new`].
    pub routes: RouteTable,
    pub routes6: Route6Table,
}

impl L3Config {
    /// Ports plus static routes; adds each port address's subnet as a connected route.
    pub fn new(ports: Vec<PortL3>, routes: RouteTable) -> Self {
        Self::with_routes(ports, routes, Route6Table::default())
    }

    /// [`L3Config::new`] with IPv6 static routes too.
    pub fn with_routes(ports: Vec<PortL3>, mut routes: RouteTable, mut routes6: Route6Table) -> Self {
        for (i, p) in ports.iter().enumerate() {
            for a in &p.addrs {
                routes.add_connected(*a, i as u16);
            }
            for a in &p.addrs6 {
                routes6.add_connected(*a, i as u16);
            }
            // Link-local neighbours (routers advertise themselves so) are on their port.
            if p.has_ipv6() {
                routes6.add_connected(Ipv6Cidr { addr: p.link_local(), prefix_len: 64 }, i as u16);
            }
        }
        L3Config { ports, routes, routes6 }
    }

    pub fn mac(&self, port: u16) -> Option<EthernetAddress> {
        self.ports.get(usize::from(port)).map(|p| p.mac)
    }

    /// Whether `ip` is one of this port's own addresses or VIPs (ARP is answered per port).
    pub fn owns_on_port(&self, port: u16, ip: Ipv4Addr) -> bool {
        self.ports
            .get(usize::from(port))
            .is_some_and(|p| p.vips.contains(&ip) || p.addrs.iter().any(|a| a.addr == ip) || p.twin4.contains(&ip))
    }

    /// The same for IPv6 (NDP is answered per port), the link-local address included.
    pub fn owns6_on_port(&self, port: u16, ip: Ipv6Addr) -> bool {
        self.ports.get(usize::from(port)).is_some_and(|p| {
            p.vips6.contains(&ip)
                || p.addrs6.iter().any(|a| a.addr == ip)
                || p.twin6.contains(&ip)
                || (p.has_ipv6() && p.link_local() == ip)
        })
    }

    /// Whether packets for `ip` that the data path does not consume go up to a kernel
    /// twin: it holds the address (the port's own addresses, what was added to the
    /// twin; not a VIP that lives only in rvs's configuration).
    pub fn kernel_owns(&self, ip: IpAddr) -> bool {
        self.ports.iter().filter(|p| p.kernel).any(|p| match ip {
            IpAddr::V4(a) => p.addrs.iter().any(|c| c.addr == a) || p.twin4.contains(&a),
            IpAddr::V6(a) => {
                p.addrs6.iter().any(|c| c.addr == a) || p.twin6.contains(&a) || (p.has_ipv6() && p.link_local() == a)
            }
        })
    }

    /// Whether `port` has a kernel twin.
    pub fn has_kernel(&self, port: u16) -> bool {
        self.ports.get(usize::from(port)).is_some_and(|p| p.kernel)
    }

    /// Whether `ip` is local on any port (weak host model, as Linux).
    pub fn is_local(&self, ip: Ipv4Addr) -> bool {
        (0..self.ports.len() as u16).any(|p| self.owns_on_port(p, ip))
    }

    pub fn is_local6(&self, ip: Ipv6Addr) -> bool {
        (0..self.ports.len() as u16).any(|p| self.owns6_on_port(p, ip))
    }

    /// [`L3Config::is_local`] for an address of either family.
    pub fn is_local_addr(&self, a: crate::addr::Addr) -> bool {
        match a.to_ip() {
            IpAddr::V4(v4) => self.is_local(v4),
            IpAddr::V6(v6) => self.is_local6(v6),
        }
    }

    /// Whether `ip` is the broadcast address of one of `port`'s subnets.
    pub fn is_broadcast(&self, port: u16, ip: Ipv4Addr) -> bool {
        self.ports
            .get(usize::from(port))
            .is_some_and(|p| p.addrs.iter().any(|a| a.prefix_len < 31 && a.broadcast() == ip))
    }

    /// Whether `ip` is on a subnet connected to `port`.
    pub(super) fn on_link(&self, port: u16, ip: Ipv4Addr) -> bool {
        self.ports.get(usize::from(port)).is_some_and(|p| p.addrs.iter().any(|a| a.contains(ip)))
    }

    /// The same for IPv6: a subnet of the port's, or link-local on an IPv6 port.
    pub(super) fn on_link6(&self, port: u16, ip: Ipv6Addr) -> bool {
        self.ports.get(usize::from(port)).is_some_and(|p| {
            p.addrs6.iter().any(|a| a.contains(ip)) || (p.has_ipv6() && ip.segments()[0] & 0xffc0 == 0xfe80)
        })
    }

    /// The director's address to source packets from towards `ip` out of `port`: the
    /// port address on `ip`'s subnet, else the port's first address.
    pub fn source_addr(&self, port: u16, ip: Ipv4Addr) -> Option<Ipv4Addr> {
        let p = self.ports.get(usize::from(port))?;
        p.addrs.iter().find(|a| a.contains(ip)).or(p.addrs.first()).map(|a| a.addr)
    }

    /// The IPv6 source towards `ip` out of `port` (RFC 6724, simply): a global address
    /// on `ip`'s subnet, else the first global one, else the link-local address (always
    /// for a link-local destination).
    pub fn source_addr6(&self, port: u16, ip: Ipv6Addr) -> Option<Ipv6Addr> {
        let p = self.ports.get(usize::from(port))?;
        if ip.segments()[0] & 0xffc0 == 0xfe80 {
            return Some(p.link_local());
        }
        Some(p.addrs6.iter().find(|a| a.contains(ip)).or(p.addrs6.first()).map_or(p.link_local(), |a| a.addr))
    }

    /// The director's address of `dst`'s family to source from out of `port`.
    pub fn source_for(&self, port: u16, dst: IpAddr) -> Option<IpAddr> {
        match dst {
            IpAddr::V4(d) => self.source_addr(port, d).map(IpAddr::V4),
            IpAddr::V6(d) => self.source_addr6(port, d).map(IpAddr::V6),
        }
    }

    /// Longest-prefix match in `dst`'s family.
    pub fn route(&self, dst: IpAddr) -> Option<NextHop<IpAddr>> {
        match dst {
            IpAddr::V4(d) => self.routes.lookup(d).map(|h| NextHop { port: h.port, next_hop: IpAddr::V4(h.next_hop) }),
            IpAddr::V6(d) => self.routes6.lookup(d).map(|h| NextHop { port: h.port, next_hop: IpAddr::V6(h.next_hop) }),
        }
    }

    pub fn mtu(&self, port: u16) -> Option<u16> {
        self.ports.get(usize::from(port)).map(|p| p.mtu)
    }
}
