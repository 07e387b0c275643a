//! `virtual_server_group NAME { ... }` (keepalived 2.2.7 `check/check_data.c`
//! `alloc_vsg_entry`): each entry is `ADDRESS [PORT]`, where ADDRESS may be a range
//! (`10.0.2.100-102`, `10.0.2.100-10.0.2.102`, IPv6 `2001:db8::1-a` in hex) or a
//! prefix (`10.0.2.0/30`), or `fwmark N [inet|inet6]`. keepalived installs one IPVS
//! service per address and port (`ipvswrapper.c` `ipvs_group_range_cmd`), network and
//! broadcast addresses of a prefix included; so does rvs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::check::num;
use super::lexer::Stmt;
use super::{Diag, Pos};

/// More services than this from one group is refused (a mistyped prefix would
/// otherwise build tens of thousands).
pub const MAX_GROUP_SERVICES: u128 = 1024;

/// What rvs says of a firewall-mark service, a `virtual_server` or a group member.
pub const FWMARK_REFUSED: &str =
    "firewall-mark services are not supported by rvs (no packet marking in the data path); use address and port";

/// Which block an address entry is in, for its messages.
pub(super) struct Block {
    /// The keyword: `virtual_server_group`.
    pub keyword: &'static str,
    /// As keepalived's messages say it: `virtual server group`.
    pub words: &'static str,
    /// What one address makes: `services`.
    pub makes: &'static str,
}

pub(super) const VSG: Block =
    Block { keyword: "virtual_server_group", words: "virtual server group", makes: "services" };

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub pos: Pos,
    /// Every address and port, in the order keepalived installs them.
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub addr: IpAddr,
    /// 0 when the entry has none (keepalived then makes the service persistent).
    pub port: u16,
    /// The entry's line.
    pub pos: Pos,
}

/// Reads a `virtual_server_group` block.
pub fn group(b: &Stmt) -> Result<Group, Diag> {
    let name = match b.args() {
        [n] => n.clone(),
        [] => return Err(b.pos.diag("virtual_server_group needs a name")),
        _ => return Err(b.pos.diag("virtual_server_group takes one name")),
    };
    if b.block.is_none() {
        return Err(b.pos.diag(format!("virtual_server_group {name} has no '{{' block")));
    }
    let mut members: Vec<Member> = Vec::new();
    for s in b.block.as_deref().unwrap_or_default() {
        if s.block.is_some() {
            return Err(s.pos.diag(format!("virtual_server_group {name}: an entry has no '{{' block")));
        }
        if s.keyword() == "fwmark" {
            // keepalived rejects a bad mark or family first; a good one rvs cannot serve.
            num(s, 0, u32::MAX)?;
            if let Some(f) = s.args().get(1).filter(|f| !matches!(f.as_str(), "inet" | "inet6")) {
                return Err(s.pos.diag(format!("({name}): fwmark '{}' family {f} unknown", s.args()[0])));
            }
            return Err(s.pos.diag(format!("virtual_server_group {name}: fwmark {}: {FWMARK_REFUSED}", s.args()[0])));
        }
        for addr in entry(s, &VSG)? {
            let port = member_port(s)?;
            if let Some(m) = members.iter().find(|m| m.addr == addr && m.port == port) {
                return Err(s.pos.diag(format!(
                    "virtual_server_group {name}: {} is already a member (line {})",
                    rvs_core::addr::fmt_addr_port(addr.into(), port),
                    m.pos.line
                )));
            }
            members.push(Member { addr, port, pos: s.pos.clone() });
        }
        if members.len() as u128 > MAX_GROUP_SERVICES {
            return Err(s.pos.diag(format!(
                "virtual_server_group {name} has more than {MAX_GROUP_SERVICES} addresses and ports; rvs refuses so many"
            )));
        }
    }
    if members.is_empty() {
        return Err(b.pos.diag(format!("virtual server group {name} has no entries")));
    }
    Ok(Group { name, pos: b.pos.clone(), members })
}

/// The entry's port: none or all zeros is 0 (keepalived since 2.0.7), else 1-65535.
fn member_port(s: &Stmt) -> Result<u16, Diag> {
    if s.args().len() > 1 {
        return Err(s.pos.diag(format!("virtual_server_group entry '{}' takes ADDRESS [PORT]", s.words.join(" "))));
    }
    match s.args().first() {
        None => Ok(0),
        Some(p) if p.bytes().all(|b| b == b'0') => Ok(0),
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| s.pos.diag(format!("Invalid virtual server group IP address {} port {p}", s.keyword()))),
    }
}

/// The addresses of one entry, in order.
pub(super) fn entry(s: &Stmt, block: &Block) -> Result<Vec<IpAddr>, Diag> {
    let text = s.keyword();
    let bad = |m: &str| s.pos.diag(format!("{m} - {text}"));
    let words = block.words;
    let cap = words[..1].to_ascii_uppercase() + &words[1..];
    // keepalived: the address is what precedes the first '-' or '/'.
    let cut = text.find(['-', '/']).unwrap_or(text.len());
    let start: IpAddr = text[..cut].parse().map_err(|_| s.pos.diag(format!("Invalid {words} IP address {text}")))?;
    let rest = &text[cut..];
    let (first, last): (u128, u128) = match (start, rest.chars().next()) {
        (_, None) => return Ok(vec![start]),
        (_, Some('/')) => {
            let bits = if start.is_ipv4() { 32 } else { 128 };
            let m = rest[1..].parse::<u32>().ok().filter(|m| (1..=bits).contains(m));
            let m = m.ok_or_else(|| bad("Invalid netmask"))?;
            let host = (1u128 << (bits - m)) - 1;
            let a = ip_num(start);
            if a & host != 0 {
                return Err(bad("Address mask bits not empty"));
            }
            (a, a | host)
        }
        (_, _) => {
            let end = &rest[1..];
            let full = if start.is_ipv4() { end.contains('.') } else { end.contains(':') };
            if full {
                let e: IpAddr = end.parse().map_err(|_| bad("Invalid range end"))?;
                if e.is_ipv4() != start.is_ipv4() {
                    return Err(bad("Range address families do not match"));
                }
                if ip_num(e) < ip_num(start) {
                    return Err(bad("Address range end is less than address range start"));
                }
                (ip_num(start), ip_num(e))
            } else {
                // The last byte (IPv4, decimal) or 16 bits (IPv6, hex) end the range.
                let (radix, max, low) = if start.is_ipv4() { (10, 0xff, 0xff) } else { (16, 0xffff, 0xffff) };
                let n = (!end.is_empty() && end.chars().all(|c| c.is_digit(radix)))
                    .then(|| u128::from_str_radix(end, radix).ok())
                    .flatten()
                    .ok_or_else(|| s.pos.diag(format!("{cap} range '{text}' is not a number")))?;
                if n > max {
                    return Err(s.pos.diag(format!("{cap} range '{text}' end '{end}' too large")));
                }
                let a = ip_num(start);
                if (a & low) >= n {
                    return Err(bad("Address range end is not greater than address range start"));
                }
                (a, (a & !low) | n)
            }
        }
    };
    // keepalived steps only the last 16 bits of an IPv6 range; one wider than that
    // would be installed as other addresses than it names.
    if !start.is_ipv4() && first >> 16 != last >> 16 {
        return Err(bad(
            "an IPv6 range or prefix must differ in its last 16 bits only (keepalived 2.2.7 steps those alone)",
        ));
    }
    if last - first >= MAX_GROUP_SERVICES {
        return Err(s.pos.diag(format!(
            "{text} is {} addresses; rvs takes at most {MAX_GROUP_SERVICES} {} from one {}",
            last - first + 1,
            block.makes,
            block.keyword
        )));
    }
    Ok((first..=last).map(|n| num_ip(n, start.is_ipv4())).collect())
}

fn ip_num(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn num_ip(n: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}
