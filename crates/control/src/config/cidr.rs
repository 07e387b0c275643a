//! IPv4 address with prefix length ("10.0.2.2/24").

use std::fmt;
use std::net::Ipv4Addr;
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
        let wider = if self.prefix_len <= other.prefix_len {
            self
        } else {
            other
        };
        let narrower = if std::ptr::eq(wider, self) {
            other
        } else {
            self
        };
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
            return Err(cidr_err(format!(
                "'{s}' has no prefix length (expected ADDRESS/LEN, e.g. 10.0.2.2/24)"
            )));
        };
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| cidr_err(format!("'{addr}' in '{s}' is not an IPv4 address")))?;
        // u8::from_str accepts "+8"; insist on plain digits.
        let prefix_len =
            if !len.is_empty() && len.len() <= 2 && len.bytes().all(|b| b.is_ascii_digit()) {
                len.parse::<u8>().ok().filter(|n| *n <= 32)
            } else {
                None
            };
        let prefix_len = prefix_len
            .ok_or_else(|| cidr_err(format!("prefix length '{len}' in '{s}' is not 0..=32")))?;
        Ok(Self { addr, prefix_len })
    }
}
