//! Addresses with prefix length ("10.0.2.2/24", "2001:db8:2::2/64"): the types the data
//! path uses.

pub use rvs_core::route::{IpCidr, Ipv4Cidr, Ipv6Cidr, ParseCidrError};
