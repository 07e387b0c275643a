//! DPVS's keepalived fork (`tools/keepalived/keepalived/check/check_parser.c`,
//! `check_data.c` `alloc_laddr_entry`): `local_address_group NAME { ADDRESS [IFNAME] ... }`
//! lists FullNAT local addresses, a `virtual_server` takes them with `laddr_group_name
//! NAME`. An ADDRESS may be a range as in `virtual_server_group` (`10.0.3.200-205`).
//! IFNAME is the DPDK port DPVS adds the address to; rvs keeps no address-to-port
//! binding for local addresses, so the name is accepted (DPVS files carry it) and not
//! used.

use std::net::IpAddr;

use super::group::{entry, Block, MAX_GROUP_SERVICES};
use super::lexer::Stmt;
use super::{Diag, Pos};

const LADDR: Block = Block { keyword: "local_address_group", words: "local address group", makes: "addresses" };

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaddrGroup {
    pub name: String,
    pub pos: Pos,
    /// Every address, in the file's order, with its entry's line.
    pub addrs: Vec<(IpAddr, Pos)>,
}

/// Reads a `local_address_group` block.
pub fn laddr_group(b: &Stmt) -> Result<LaddrGroup, Diag> {
    let name = match b.args() {
        [n] => n.clone(),
        [] => return Err(b.pos.diag("local_address_group needs a name")),
        _ => return Err(b.pos.diag("local_address_group takes one name")),
    };
    let Some(block) = b.block.as_deref() else {
        return Err(b.pos.diag(format!("local_address_group {name} has no '{{' block")));
    };
    let mut addrs: Vec<(IpAddr, Pos)> = Vec::new();
    for s in block {
        if s.block.is_some() || s.args().len() > 1 {
            return Err(s.pos.diag(format!("local_address_group {name}: an entry is ADDRESS [IFNAME]")));
        }
        for a in entry(s, &LADDR)? {
            if a.is_unspecified() || a.is_multicast() {
                return Err(s.pos.diag(format!("local_address_group {name}: {a} cannot be a local address")));
            }
            if let Some((_, at)) = addrs.iter().find(|(o, _)| *o == a) {
                return Err(s
                    .pos
                    .diag(format!("local_address_group {name}: {a} is already listed (line {})", at.line)));
            }
            addrs.push((a, s.pos.clone()));
        }
        if addrs.len() as u128 > MAX_GROUP_SERVICES {
            return Err(s.pos.diag(format!(
                "local_address_group {name} has more than {MAX_GROUP_SERVICES} addresses; rvs refuses so many"
            )));
        }
    }
    if addrs.is_empty() {
        return Err(b.pos.diag(format!("local_address_group {name} has no addresses")));
    }
    Ok(LaddrGroup { name, pos: b.pos.clone(), addrs })
}

/// The addresses `laddr_group_name` at `at` names, all of the virtual server's family.
pub(super) fn addresses(groups: &[LaddrGroup], at: &Pos, name: &str, v4: bool) -> Result<Vec<IpAddr>, Diag> {
    let Some(g) = groups.iter().find(|g| g.name == name) else {
        return Err(at.diag(format!("laddr_group_name {name}: no local_address_group {name} is defined")));
    };
    if let Some((a, p)) = g.addrs.iter().find(|(a, _)| a.is_ipv4() != v4) {
        return Err(at.diag(format!(
            "laddr_group_name {name}: {a} (line {}) is not of the virtual server's address family; FullNAT in rvs keeps one family",
            p.line
        )));
    }
    Ok(g.addrs.iter().map(|(a, _)| *a).collect())
}
