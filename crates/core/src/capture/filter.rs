//! Which frames a capture takes: every frame of one port, or the frames of one virtual
//! service. A service's frames are found by their addresses alone (no connection
//! lookup), which covers every forwarding method:
//!
//! - client side, both ways, any method: an endpoint is VIP:vport;
//! - NAT, real-server side (after DNAT, and a reply before SNAT): an endpoint is one of
//!   the service's real servers (address and port);
//! - DR: the rewritten frame keeps VIP:vport (only the MAC changes);
//! - TUN: the outer IPIP / IPv6-in-IPv6 header is skipped and the inner one matched.
//!
//! The real servers are those of the service when the capture was armed. A real server
//! shared with another service, or one that also talks to its own clients, shows that
//! traffic too (same address and port). ICMP errors about a connection are not matched.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const ETH_HLEN: usize = 14;
const ETH_P_IPV4: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const IPPROTO_IPIP: u8 = 4;
const IPPROTO_IPV6: u8 = 41;

/// A virtual service and its real servers, as the capture matches them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceMatch {
    /// 6 (TCP) or 17 (UDP).
    pub proto: u8,
    pub vip: IpAddr,
    /// 0: every port (a port-0 persistent service).
    pub vport: u16,
    /// Real servers (address, port; port 0: any).
    pub reals: Vec<(IpAddr, u16)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Every frame received on or sent out of this port (index).
    Port(u16),
    Service(ServiceMatch),
}

impl Filter {
    /// Whether a frame received on (or sent out of) `port` is to be captured.
    pub fn matches(&self, port: u16, frame: &[u8]) -> bool {
        match self {
            Filter::Port(p) => *p == port,
            Filter::Service(s) => s.matches(frame),
        }
    }
}

/// The addresses and ports of one IP packet (`None`: no ports, a later fragment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tuple {
    pub proto: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ports: Option<(u16, u16)>,
    /// Where the payload (L4 header) starts, from the start of the IP header.
    pub l4: usize,
}

impl ServiceMatch {
    pub fn matches(&self, frame: &[u8]) -> bool {
        let Some(ip) = ip_header(frame) else { return false };
        let Some(t) = tuple(ip) else { return false };
        if matches!(t.proto, IPPROTO_IPIP | IPPROTO_IPV6) {
            return ip.get(t.l4..).and_then(tuple).is_some_and(|inner| self.hit(&inner));
        }
        self.hit(&t)
    }

    fn hit(&self, t: &Tuple) -> bool {
        if t.proto != self.proto {
            return false;
        }
        let (sp, dp) = match t.ports {
            Some((s, d)) => (Some(s), Some(d)),
            None => (None, None),
        };
        self.endpoint(t.src, sp) || self.endpoint(t.dst, dp)
    }

    /// An unknown port (fragment) matches any.
    fn endpoint(&self, a: IpAddr, p: Option<u16>) -> bool {
        let port_ok = |want: u16| want == 0 || p.is_none_or(|p| p == want);
        (a == self.vip && port_ok(self.vport)) || self.reals.iter().any(|&(ra, rp)| ra == a && port_ok(rp))
    }
}

/// The IP header of an Ethernet frame (after up to two VLAN tags).
fn ip_header(frame: &[u8]) -> Option<&[u8]> {
    let mut off = ETH_HLEN - 2;
    for _ in 0..3 {
        let et = u16::from_be_bytes(frame.get(off..off + 2)?.try_into().ok()?);
        match et {
            ETH_P_8021Q | ETH_P_8021AD => off += 4,
            ETH_P_IPV4 | ETH_P_IPV6 => return frame.get(off + 2..),
            _ => return None,
        }
    }
    None
}

fn ports(l4: Option<&[u8]>) -> Option<(u16, u16)> {
    let b: &[u8; 4] = l4?.get(..4)?.try_into().ok()?;
    Some((u16::from_be_bytes([b[0], b[1]]), u16::from_be_bytes([b[2], b[3]])))
}

/// Parse an IPv4 or IPv6 header (no extension headers walked).
pub(crate) fn tuple(ip: &[u8]) -> Option<Tuple> {
    match ip.first()? >> 4 {
        4 => {
            let h: &[u8; 20] = ip.get(..20)?.try_into().ok()?;
            let ihl = usize::from(h[0] & 0x0f) * 4;
            if ihl < 20 {
                return None;
            }
            let frag_off = u16::from_be_bytes([h[6], h[7]]) & 0x1fff;
            let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
            let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
            let ports = if frag_off == 0 { ports(ip.get(ihl..)) } else { None };
            Some(Tuple { proto: h[9], src: src.into(), dst: dst.into(), ports, l4: ihl })
        }
        6 => {
            let h: &[u8; 40] = ip.get(..40)?.try_into().ok()?;
            let a = |r: std::ops::Range<usize>| -> Option<IpAddr> {
                let b: [u8; 16] = h.get(r)?.try_into().ok()?;
                Some(Ipv6Addr::from(b).into())
            };
            Some(Tuple { proto: h[6], src: a(8..24)?, dst: a(24..40)?, ports: ports(ip.get(40..)), l4: 40 })
        }
        _ => None,
    }
}
