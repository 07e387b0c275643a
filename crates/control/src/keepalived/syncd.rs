//! keepalived's `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id SYNCID] [maxlen LEN]
//! [port PORT] [ttl TTL] [group ADDRESS]` in `global_defs` (keepalived 2.2.7,
//! global_parser.c): the IPVS sync daemon runs as master while the VRRP instance is
//! MASTER and as backup otherwise; the syncid defaults to the instance's
//! `virtual_router_id`. keepalived drives the kernel's daemon; rvsd runs its own and
//! tells MASTER from the instance's `virtual_ipaddress` being on the twins, which
//! keepalived adds exactly while MASTER ([`crate::sync::Follow`]).

use std::net::IpAddr;

use super::lexer::Stmt;
use super::{Diag, Pos};

/// What `lvs_sync_daemon` asks, with what rvsd needs of its VRRP instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    pub ifname: String,
    pub instance: String,
    pub syncid: u32,
    /// 0: the interface's MTU less headers (ipvsadm's default).
    pub maxlen: u32,
    /// 0: 8848.
    pub port: u16,
    /// 0: 1.
    pub ttl: u32,
    pub group: Option<IpAddr>,
    /// The instance's `virtual_ipaddress` entries: on a twin while it is MASTER.
    pub vips: Vec<IpAddr>,
    pub pos: Pos,
}

/// Option `what`'s value `v`, a number up to `max`.
fn number(s: &Stmt, what: &str, v: Option<&String>, max: u32) -> Result<u32, Diag> {
    let v = v.ok_or_else(|| s.pos.diag(format!("lvs_sync_daemon: {what} needs a value")))?;
    v.parse::<u32>()
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(|| s.pos.diag(format!("lvs_sync_daemon: {what} {v} is not a number up to {max}")))
}

/// The `lvs_sync_daemon` of `kept`'s `global_defs`, if any, with its VRRP instance
/// looked up among `kept`'s `vrrp_instance` blocks.
pub fn read(kept: &[Stmt]) -> Result<Option<LvsSyncDaemon>, Diag> {
    let mut globals = kept.iter().filter(|s| s.keyword() == "global_defs").filter_map(|s| s.block.as_deref()).flatten();
    let Some(s) = globals.rfind(|s| s.keyword() == "lvs_sync_daemon") else { return Ok(None) };
    let (ifname, instance, rest) = match s.args() {
        [i, n, rest @ ..] => (i.clone(), n.clone(), rest),
        _ => return Err(s.pos.diag("lvs_sync_daemon needs an interface and the VRRP instance it follows")),
    };
    let inst = kept
        .iter()
        .find(|v| v.keyword() == "vrrp_instance" && v.args().first() == Some(&instance))
        .ok_or_else(|| s.pos.diag(format!("lvs_sync_daemon: no vrrp_instance {instance} is defined")))?;
    let body = inst.block.as_deref().unwrap_or_default();
    let vrid = body.iter().find(|b| b.keyword() == "virtual_router_id").and_then(|b| b.args().first()?.parse().ok());
    let vips: Vec<IpAddr> = body
        .iter()
        .filter(|b| b.keyword() == "virtual_ipaddress")
        .filter_map(|b| b.block.as_deref())
        .flatten()
        .filter_map(|e| e.keyword().split('/').next()?.parse().ok())
        .collect();
    if vips.is_empty() {
        return Err(s.pos.diag(format!(
            "lvs_sync_daemon: vrrp_instance {instance} has no virtual_ipaddress to tell its MASTER state by"
        )));
    }
    let mut d = LvsSyncDaemon {
        ifname,
        instance,
        syncid: vrid.unwrap_or(0),
        maxlen: 0,
        port: 0,
        ttl: 0,
        group: None,
        vips,
        pos: s.pos.clone(),
    };
    let mut it = rest.iter();
    while let Some(k) = it.next() {
        match k.as_str() {
            "id" => d.syncid = number(s, "id", it.next(), 255)?,
            "maxlen" => d.maxlen = number(s, "maxlen", it.next(), 65_507)?,
            "port" => d.port = number(s, "port", it.next(), 65_535)? as u16,
            "ttl" => d.ttl = number(s, "ttl", it.next(), 255)?,
            "group" => {
                let v = it.next().ok_or_else(|| s.pos.diag("lvs_sync_daemon: group needs an address"))?;
                d.group = Some(v.parse().map_err(|_| s.pos.diag(format!("lvs_sync_daemon: group {v}"))).and_then(
                    |a: IpAddr| match a {
                        IpAddr::V4(g) if g.is_multicast() => Ok(a),
                        _ => Err(s.pos.diag(format!("lvs_sync_daemon: group {v}: IPv4 multicast groups only"))),
                    },
                )?);
            }
            other => return Err(s.pos.diag(format!("lvs_sync_daemon: unknown option '{other}'"))),
        }
    }
    Ok(Some(d))
}

/// The configuration for `keepalived --vrrp` when `path` (with its includes) has an
/// `lvs_sync_daemon`: the same statements without it, since rvsd runs the daemon
/// itself and keepalived 2.2.7's VRRP process, finding no IPVS in the kernel, dies of
/// a segmentation fault. `None`: keepalived reads `path` itself. The user's file is
/// never written.
pub fn vrrp_text(path: &std::path::Path) -> Result<Option<String>, Diag> {
    let stmts = super::lexer::read(path, &mut Vec::new())?;
    let has =
        |s: &Stmt| s.keyword() == "global_defs" && s.block.iter().flatten().any(|b| b.keyword() == "lvs_sync_daemon");
    if !stmts.iter().any(has) {
        return Ok(None);
    }
    let mut out = format!(
        "# Written by rvsd from {} for keepalived --vrrp: its lvs_sync_daemon left out (rvsd runs the\n# IPVS sync daemon itself). Edit the original, not this file.\n",
        path.display()
    );
    write(&mut out, &stmts, 0, true);
    Ok(Some(out))
}

/// keepalived's syntax again: a word with blanks, quotes, braces or comment marks quoted.
fn write(out: &mut String, stmts: &[Stmt], depth: usize, top: bool) {
    for s in stmts {
        if !top && s.keyword() == "lvs_sync_daemon" {
            continue;
        }
        out.push_str(&"    ".repeat(depth));
        let words: Vec<String> = s
            .words
            .iter()
            .map(|w| {
                if w.is_empty() || w.chars().any(|c| c.is_whitespace() || matches!(c, '"' | '{' | '}' | '#' | '!')) {
                    format!("\"{w}\"")
                } else {
                    w.clone()
                }
            })
            .collect();
        out.push_str(&words.join(" "));
        match &s.block {
            Some(b) => {
                out.push_str(" {\n");
                write(out, b, depth + 1, false);
                out.push_str(&"    ".repeat(depth));
                out.push_str("}\n");
            }
            None => out.push('\n'),
        }
    }
}
