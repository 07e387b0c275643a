//! IPv4 address with prefix length ("10.0.2.2/24"): one type shared with the data path.

pub use rvs_core::route::{Ipv4Cidr, ParseCidrError};
