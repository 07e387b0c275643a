//! Static routes and connected subnets of both families, longest prefix first.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 address plus prefix length. `addr` keeps its host bits: for a port
/// address it is the interface address, for a route prefix the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

/// Why a string is not `a.b.c.d/len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseCidrError {
    message: String,
}

impl fmt::Display for ParseCidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseCidrError {}

fn cidr_err(message: String) -> ParseCidrError {
    ParseCidrError { message }
}

impl Ipv4Cidr {
    /// `None` if `prefix_len > 32`.
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> Option<Self> {
        (prefix_len <= 32).then_some(Self { addr, prefix_len })
    }

    /// The netmask as a host-order integer.
    fn mask_bits(&self) -> u32 {
        match self.prefix_len {
            0 => 0,
            n => u32::MAX << (32 - u32::from(n.min(32))),
        }
    }

    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask_bits())
    }

    /// The address with its host bits cleared.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask_bits())
    }

    /// The all-ones host address of the subnet.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask_bits())
    }

    /// Whether `ip` lies inside this subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask_bits() == u32::from(self.network())
    }

    /// Whether the two subnets share at least one address.
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        let wider = if self.prefix_len <= other.prefix_len { self } else { other };
        let narrower = if std::ptr::eq(wider, self) { other } else { self };
        wider.contains(narrower.network())
    }

    /// True if the host bits are all zero (a network prefix, not a host).
    pub fn is_network(&self) -> bool {
        self.addr == self.network()
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = ParseCidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((addr, len)) = s.split_once('/') else {
            return Err(cidr_err(format!("'{s}' has no prefix length (expected ADDRESS/LEN, e.g. 10.0.2.2/24)")));
        };
        let addr: Ipv4Addr = addr.parse().map_err(|_| cidr_err(format!("'{addr}' in '{s}' is not an IPv4 address")))?;
        // u8::from_str accepts "+8"; insist on plain digits.
        let prefix_len = if !len.is_empty() && len.len() <= 2 && len.bytes().all(|b| b.is_ascii_digit()) {
            len.parse::<u8>().ok().filter(|n| *n <= 32)
        } else {
            None
        };
        let prefix_len = prefix_len.ok_or_else(|| cidr_err(format!("prefix length '{len}' in '{s}' is not 0..=32")))?;
        Ok(Self { addr, prefix_len })
    }
}

/// An IPv6 address plus prefix length (the address keeps its host bits, as [`Ipv4Cidr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6Cidr {
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
}

impl Ipv6Cidr {
    /// `None` if `prefix_len > 128`.
    pub fn new(addr: Ipv6Addr, prefix_len: u8) -> Option<Self> {
        (prefix_len <= 128).then_some(Self { addr, prefix_len })
    }

    fn mask(&self) -> u128 {
        match self.prefix_len {
            0 => 0,
            n => u128::MAX << (128 - u32::from(n.min(128))),
        }
    }

    /// The address with its host bits cleared.
    pub fn network(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) & self.mask())
    }

    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & self.mask() == u128::from(self.network())
    }

    pub fn overlaps(&self, other: &Ipv6Cidr) -> bool {
        let (wide, narrow) = if self.prefix_len <= other.prefix_len { (self, other) } else { (other, self) };
        wide.contains(narrow.network())
    }

    pub fn is_network(&self) -> bool {
        self.addr == self.network()
    }
}

impl fmt::Display for Ipv6Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl FromStr for Ipv6Cidr {
    type Err = ParseCidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((addr, len)) = s.split_once('/') else {
            return Err(cidr_err(format!("'{s}' has no prefix length (expected ADDRESS/LEN, e.g. 2001:db8:2::2/64)")));
        };
        let addr: Ipv6Addr = addr.parse().map_err(|_| cidr_err(format!("'{addr}' in '{s}' is not an IPv6 address")))?;
        let prefix_len = if !len.is_empty() && len.len() <= 3 && len.bytes().all(|b| b.is_ascii_digit()) {
            len.parse::<u8>().ok().filter(|n| *n <= 128)
        } else {
            None
        };
        let prefix_len =
            prefix_len.ok_or_else(|| cidr_err(format!("prefix length '{len}' in '{s}' is not 0..=128")))?;
        Ok(Self { addr, prefix_len })
    }
}

/// A prefix of either family: what a port address or a route is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpCidr {
    V4(Ipv4Cidr),
    V6(Ipv6Cidr),
}

impl IpCidr {
    pub fn addr(&self) -> IpAddr {
        match self {
            IpCidr::V4(c) => IpAddr::V4(c.addr),
            IpCidr::V6(c) => IpAddr::V6(c.addr),
        }
    }
    pub fn prefix_len(&self) -> u8 {
        match self {
            IpCidr::V4(c) => c.prefix_len,
            IpCidr::V6(c) => c.prefix_len,
        }
    }
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (IpCidr::V4(c), IpAddr::V4(a)) => c.contains(a),
            (IpCidr::V6(c), IpAddr::V6(a)) => c.contains(a),
            _ => false,
        }
    }
    pub fn is_network(&self) -> bool {
        match self {
            IpCidr::V4(c) => c.is_network(),
            IpCidr::V6(c) => c.is_network(),
        }
    }
    pub fn overlaps(&self, other: &IpCidr) -> bool {
        match (self, other) {
            (IpCidr::V4(a), IpCidr::V4(b)) => a.overlaps(b),
            (IpCidr::V6(a), IpCidr::V6(b)) => a.overlaps(b),
            _ => false,
        }
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpCidr::V4(c) => c.fmt(f),
            IpCidr::V6(c) => c.fmt(f),
        }
    }
}

impl FromStr for IpCidr {
    type Err = ParseCidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains(':') {
            s.parse().map(IpCidr::V6)
        } else {
            s.parse().map(IpCidr::V4)
        }
    }
}

/// A prefix a routing table matches on.
pub trait Prefix: Copy + fmt::Debug {
    type Addr: Copy + PartialEq + fmt::Debug;
    fn bits(&self) -> u8;
    fn covers(&self, a: Self::Addr) -> bool;
}

impl Prefix for Ipv4Cidr {
    type Addr = Ipv4Addr;
    fn bits(&self) -> u8 {
        self.prefix_len
    }
    fn covers(&self, a: Ipv4Addr) -> bool {
        self.contains(a)
    }
}

impl Prefix for Ipv6Cidr {
    type Addr = Ipv6Addr;
    fn bits(&self) -> u8 {
        self.prefix_len
    }
    fn covers(&self, a: Ipv6Addr) -> bool {
        self.contains(a)
    }
}

/// Where to send a packet: out of `port`, to the neighbour `next_hop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextHop<A = Ipv4Addr> {
    pub port: u16,
    pub next_hop: A,
}

#[derive(Clone, Copy, Debug)]
struct Route<C: Prefix> {
    prefix: C,
    /// `None` for a connected subnet: the destination is its own next hop.
    gateway: Option<C::Addr>,
    port: u16,
}

/// A small routing table. Directors carry a handful of routes, so a linear scan over
/// entries sorted longest prefix first is faster than a trie and allocation-free.
#[derive(Clone, Debug)]
pub struct Routes<C: Prefix> {
    routes: Vec<Route<C>>,
}

/// IPv4 routes.
pub type RouteTable = Routes<Ipv4Cidr>;
/// IPv6 routes.
pub type Route6Table = Routes<Ipv6Cidr>;

impl<C: Prefix> Default for Routes<C> {
    fn default() -> Self {
        Routes { routes: Vec::new() }
    }
}

impl<C: Prefix> Routes<C> {
    /// A connected subnet on `port`.
    pub fn add_connected(&mut self, prefix: C, port: u16) {
        self.insert(Route { prefix, gateway: None, port });
    }

    /// A static route through `gateway` on `port`.
    pub fn add_gateway(&mut self, prefix: C, gateway: C::Addr, port: u16) {
        self.insert(Route { prefix, gateway: Some(gateway), port });
    }

    fn insert(&mut self, r: Route<C>) {
        let at = self.routes.partition_point(|x| x.prefix.bits() >= r.prefix.bits());
        self.routes.insert(at, r);
    }

    /// Longest-prefix match.
    pub fn lookup(&self, dst: C::Addr) -> Option<NextHop<C::Addr>> {
        self.routes
            .iter()
            .find(|r| r.prefix.covers(dst))
            .map(|r| NextHop { port: r.port, next_hop: r.gateway.unwrap_or(dst) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_contain() {
        let c = cidr("10.0.2.2/24");
        assert_eq!(c.network(), Ipv4Addr::new(10, 0, 2, 0));
        assert!(c.contains(Ipv4Addr::new(10, 0, 2, 254)));
        assert!(!c.contains(Ipv4Addr::new(10, 0, 3, 1)));
        assert!(cidr("0.0.0.0/0").contains(Ipv4Addr::new(1, 2, 3, 4)));
        assert!(cidr("10.0.0.0/8").overlaps(&cidr("10.0.2.2/24")));
        assert!(cidr("10.0.2.2/24").overlaps(&cidr("10.0.0.0/8")));
        assert!(!cidr("10.0.2.0/24").overlaps(&cidr("10.0.3.0/24")));
        assert!("10.0.2.300/24".parse::<Ipv4Cidr>().is_err());
        assert!("10.0.2.2/33".parse::<Ipv4Cidr>().is_err());
        assert!("10.0.2.2".parse::<Ipv4Cidr>().is_err());
        assert_eq!(c.to_string(), "10.0.2.2/24");
    }

    #[test]
    fn longest_prefix_wins() {
        let mut t = RouteTable::default();
        t.add_gateway(cidr("0.0.0.0/0"), Ipv4Addr::new(10, 0, 2, 1), 0);
        t.add_connected(cidr("10.0.3.1/24"), 1);
        t.add_gateway(cidr("10.0.4.0/24"), Ipv4Addr::new(10, 0, 3, 254), 1);
        t.add_connected(cidr("10.0.2.2/24"), 0);
        let hop = |s: &str| t.lookup(s.parse().unwrap()).unwrap();
        assert_eq!(hop("10.0.3.11"), NextHop { port: 1, next_hop: "10.0.3.11".parse().unwrap() });
        assert_eq!(hop("10.0.4.13"), NextHop { port: 1, next_hop: "10.0.3.254".parse().unwrap() });
        assert_eq!(hop("10.0.1.2"), NextHop { port: 0, next_hop: "10.0.2.1".parse().unwrap() });
        assert_eq!(hop("10.0.2.9"), NextHop { port: 0, next_hop: "10.0.2.9".parse().unwrap() });
        assert!(RouteTable::default().lookup(Ipv4Addr::LOCALHOST).is_none());
    }

    #[test]
    fn ipv6_prefixes_and_routes() {
        let c: Ipv6Cidr = "2001:db8:3::1/64".parse().unwrap();
        assert!(c.contains("2001:db8:3::11".parse().unwrap()));
        assert!(!c.contains("2001:db8:4::11".parse().unwrap()));
        assert_eq!(c.network(), "2001:db8:3::".parse::<Ipv6Addr>().unwrap());
        assert!("2001:db8::/129".parse::<Ipv6Cidr>().is_err());
        assert!(matches!("2001:db8::1/64".parse::<IpCidr>(), Ok(IpCidr::V6(_))));
        assert!(matches!("10.0.0.1/8".parse::<IpCidr>(), Ok(IpCidr::V4(_))));
        let mut t = Route6Table::default();
        t.add_gateway("::/0".parse().unwrap(), "2001:db8:2::1".parse().unwrap(), 0);
        t.add_connected(c, 1);
        let hop = |s: &str| t.lookup(s.parse().unwrap()).unwrap();
        assert_eq!(hop("2001:db8:3::11").port, 1);
        assert_eq!(hop("2001:db8:3::11").next_hop, "2001:db8:3::11".parse::<Ipv6Addr>().unwrap());
        assert_eq!(hop("2001:db8:1::2").next_hop, "2001:db8:2::1".parse::<Ipv6Addr>().unwrap());
    }
}
