//! Address and flow tuple types shared by services, schedulers and the connection table.
//!
//! Addresses are stored as 16 bytes (IPv4 as IPv4-mapped IPv6, `::ffff:a.b.c.d`) so one
//! key type serves both families without an enum tag in the hot structures.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IPv4 or IPv6 address in 16 bytes (IPv4 is IPv4-mapped).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Addr(pub [u8; 16]);

impl Addr {
    pub const UNSPECIFIED: Addr = Addr([0; 16]);

    pub const fn v4(o: [u8; 4]) -> Addr {
        // The mapped half as one 64-bit value, stored whole: the hot paths read
        // addresses as 8-byte words, and a word stored in pieces (a 2-byte 0xffff, a
        // 4-byte address) and read back whole stalls on store forwarding.
        let h = (0xffff_0000u64 | (u32::from_le_bytes(o) as u64) << 32).to_le_bytes();
        Addr([0, 0, 0, 0, 0, 0, 0, 0, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
    }

    pub fn is_v4(&self) -> bool {
        self.0[..12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]
    }

    /// A group or broadcast address (IPv4 224/4 or 255.255.255.255, IPv6 ff00::/8):
    /// never a host's, so never a connection's client.
    pub fn is_group(&self) -> bool {
        if self.is_v4() {
            self.0[12] & 0xf0 == 0xe0 || self.0[12..] == [255; 4]
        } else {
            self.0[0] == 0xff
        }
    }

    pub fn to_ip(self) -> IpAddr {
        if self.is_v4() {
            IpAddr::V4(Ipv4Addr::new(self.0[12], self.0[13], self.0[14], self.0[15]))
        } else {
            IpAddr::V6(Ipv6Addr::from(self.0))
        }
    }

    /// The address as four host-order 32-bit words (network order of the bytes).
    pub fn words(&self) -> [u32; 4] {
        let b = &self.0;
        [
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
        ]
    }

    /// Fold as ip_vs_sh/dh/mh do: the IPv4 address, or the XOR of the four IPv6 words
    /// (host order, as after `ntohl`).
    pub fn fold32(&self) -> u32 {
        let w = self.words();
        if self.is_v4() {
            w[3]
        } else {
            w[0] ^ w[1] ^ w[2] ^ w[3]
        }
    }

    /// Keep the first `prefix` bits of the address (IPv4 prefixes count from the IPv4 part).
    pub fn masked(&self, prefix: u8) -> Addr {
        let (start, total) = if self.is_v4() { (12usize, 32u32) } else { (0usize, 128u32) };
        let keep = u32::from(prefix).min(total);
        let mut out = *self;
        for (i, byte) in out.0.iter_mut().enumerate().skip(start) {
            let bit = (i - start) as u32 * 8;
            if bit >= keep {
                *byte = 0;
            } else if keep - bit < 8 {
                *byte &= 0xffu8 << (8 - (keep - bit));
            }
        }
        out
    }
}

impl From<IpAddr> for Addr {
    fn from(ip: IpAddr) -> Addr {
        match ip {
            IpAddr::V4(a) => Addr::v4(a.octets()),
            IpAddr::V6(a) => Addr(a.octets()),
        }
    }
}

impl From<Ipv4Addr> for Addr {
    fn from(a: Ipv4Addr) -> Addr {
        Addr::v4(a.octets())
    }
}

impl From<Ipv6Addr> for Addr {
    fn from(a: Ipv6Addr) -> Addr {
        Addr(a.octets())
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_ip())
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_ip())
    }
}

/// Serialised as the address's text (`10.0.0.1`, `2001:db8::1`), as people write it.
impl Serialize for Addr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.to_ip())
    }
}

impl<'de> Deserialize<'de> for Addr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Addr, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<IpAddr>().map(Addr::from).map_err(serde::de::Error::custom)
    }
}

/// Transport protocols a virtual service can carry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub const fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    pub fn from_number(n: u8) -> Option<Protocol> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// As ipvsadm prints it (`TCP`, `UDP`, `SCTP`).
    pub const fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// A packet's 5-tuple as seen on the wire: `src:sport -> dst:dport`.
///
/// Client to VIP: `src` = client, `dst` = VIP. Reply from a real server (NAT/FullNAT):
/// `src` = real server, `dst` = client (NAT) or local address (FullNAT).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Tuple {
    pub proto: u8,
    pub src: Addr,
    pub sport: u16,
    pub dst: Addr,
    pub dport: u16,
}

impl Tuple {
    pub fn new(proto: Protocol, src: Addr, sport: u16, dst: Addr, dport: u16) -> Tuple {
        Tuple { proto: proto.number(), src, sport, dst, dport }
    }
}

/// Formats `addr:port` as ipvsadm does (`[v6]:port` for IPv6).
pub fn fmt_addr_port(a: Addr, port: u16) -> String {
    match a.to_ip() {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}
