//! Static IPv4 routes and connected subnets, longest prefix first.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 prefix such as `10.0.2.0/24` (an interface address keeps its host bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

impl Ipv4Cidr {
    /// `None` when `prefix_len > 32`.
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> Option<Self> {
        (prefix_len <= 32).then_some(Ipv4Cidr { addr, prefix_len })
    }
    pub fn mask(&self) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(self.prefix_len)).unwrap_or(0)
    }
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        (u32::from(ip) ^ u32::from(self.addr)) & self.mask() == 0
    }
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        let shorter = if self.prefix_len <= other.prefix_len { self } else { other };
        let longer = if shorter == self { other } else { self };
        shorter.contains(longer.addr)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// Why an `a.b.c.d/n` string was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrParseError(pub String);

impl fmt::Display for CidrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CidrParseError {}

impl FromStr for Ipv4Cidr {
    type Err = CidrParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, len) = s
            .split_once('/')
            .ok_or_else(|| CidrParseError(format!("'{s}' is not ADDRESS/PREFIX (e.g. 10.0.2.2/24)")))?;
        let addr = addr
            .parse::<Ipv4Addr>()
            .map_err(|_| CidrParseError(format!("'{addr}' is not an IPv4 address")))?;
        let len = len
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= 32)
            .ok_or_else(|| CidrParseError(format!("prefix length '{len}' is not 0..=32")))?;
        Ok(Ipv4Cidr { addr, prefix_len: len })
    }
}

/// Where to send a packet: out of `port`, to the neighbour `next_hop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextHop {
    pub port: u16,
    pub next_hop: Ipv4Addr,
}

#[derive(Clone, Copy, Debug)]
struct Route {
    prefix: Ipv4Cidr,
    /// `None` for a connected subnet: the destination is its own next hop.
    gateway: Option<Ipv4Addr>,
    port: u16,
}

/// A small routing table. Directors carry a handful of routes, so a linear scan over
/// entries sorted longest prefix first is faster than a trie and allocation-free.
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// A connected subnet on `port`.
    pub fn add_connected(&mut self, prefix: Ipv4Cidr, port: u16) {
        self.insert(Route { prefix, gateway: None, port });
    }

    /// A static route through `gateway` on `port`.
    pub fn add_gateway(&mut self, prefix: Ipv4Cidr, gateway: Ipv4Addr, port: u16) {
        self.insert(Route { prefix, gateway: Some(gateway), port });
    }

    fn insert(&mut self, r: Route) {
        let at = self.routes.partition_point(|x| x.prefix.prefix_len >= r.prefix.prefix_len);
        self.routes.insert(at, r);
    }

    /// Longest-prefix match.
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<NextHop> {
        self.routes.iter().find(|r| r.prefix.contains(dst)).map(|r| NextHop {
            port: r.port,
            next_hop: r.gateway.unwrap_or(dst),
        })
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
}
