//! ipvsadm 1.31's listing output, byte for byte: `list_all()`, `list_service()`,
//! `print_title()`, `print_service_entry()`, `print_tunnel_rule()`,
//! `print_largenum()`, `print_sched_flags()`, `list_conn()`/`print_conn()`,
//! `list_timeout()` and `list_daemon()`.
//!
//! rvs never resolves names (no DNS on the control path): the output is always
//! what ipvsadm prints with `-n` (`FMT_NUMERIC`), column widths unchanged.

use super::addr::{addrport, ntop};
use super::model::*;
use super::sort::{cmp_dests, cmp_services, qsort};
use super::UsageError;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};

/// `print_largenum()`: `%9llu` below 100 million, then K/M/G/T in `%8llu`
/// columns; `--exact` widens the column to fit.
pub fn print_largenum(i: u64, exact: bool) -> String {
    if exact {
        let s = i.to_string();
        let w = if s.len() <= 8 { 9 } else { s.len() + 1 };
        return format!("{s:>w$}");
    }
    if i < 100_000_000 {
        format!("{i:>9}")
    } else if i < 1_000_000_000 {
        format!("{:>8}K", i / 1000)
    } else if i < 100_000_000_000 {
        format!("{:>8}M", i / 1_000_000)
    } else if i < 100_000_000_000_000 {
        format!("{:>8}G", i / 1_000_000_000)
    } else {
        format!("{:>8}T", i / 1_000_000_000_000)
    }
}

/// `print_title()`; `rule` is `FMT_RULE` (`-S`).
fn title(f: &ListFormat, rule: bool) -> String {
    let p = "Prot LocalAddress:Port";
    if f.stats {
        format!(
            "{p:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        )
    } else if f.rate {
        format!(
            "{p:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
            "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        )
    } else if f.thresholds {
        format!(
            "{p:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        )
    } else if f.persistent_conn {
        format!(
            "{p:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        )
    } else if f.tun_info {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n".to_string()
    } else if !rule {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n".to_string()
    } else {
        String::new()
    }
}

/// Keep the first `n` bytes (ipvsadm's `name[n] = '\0'`); names are ASCII.
fn cut(mut s: String, n: usize) -> String {
    if s.len() > n && s.is_char_boundary(n) {
        s.truncate(n);
    }
    s
}

/// Save-format option (`option_from_protocol()` in ipvsadm.c).
fn proto_option(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "-t",
        Protocol::Udp => "-u",
        Protocol::Sctp => "--sctp-service",
    }
}

/// Save-format switch (`fwd_switch()`).
fn fwd_switch(m: FwdMethod) -> &'static str {
    match m {
        FwdMethod::Masq => "-m",
        FwdMethod::Route => "-g",
        FwdMethod::Tunnel => "-i",
        FwdMethod::FullNat => "--fullnat",
    }
}

/// The `svc_name` of `print_service_entry()`.
fn svc_name(k: &ServiceKey, rule: bool) -> String {
    match *k {
        // ipvsadm prints the mark with %d. `-S` prints it unsigned on purpose
        // (ipvsadm saves marks >= 2^31 as negative numbers it cannot restore).
        ServiceKey::Fwmark { mark, v6 } => {
            let m = mark as i32;
            match (rule, v6) {
                (true, true) => format!("-f {mark} -6"),
                (true, false) => format!("-f {mark}"),
                (false, true) => format!("FWM  {m} IPv6"),
                (false, false) => format!("FWM  {m}"),
            }
        }
        ServiceKey::Proto { proto, addr, port } => {
            let v = addrport(&addr.to_ip(), port);
            if rule {
                format!("{} {v}", proto_option(proto))
            } else {
                let s = format!("{:<4} {v}", proto.name());
                if addr.is_v4() {
                    cut(s, 33)
                } else {
                    s
                }
            }
        }
    }
}

/// ` mask x` / ` -M x` when the granularity is not the full address: ipvsadm keeps an
/// IPv4 mask (printed dotted) and an IPv6 prefix length; rvs keeps prefix lengths.
fn mask_suffix(v6: bool, p: &Persistence, word: &str) -> String {
    match (v6, p.prefix) {
        (false, prefix) if prefix < 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            format!(" {word} {}", Ipv4Addr::from(mask))
        }
        (true, prefix) if prefix < 128 => format!(" {word} {prefix}"),
        _ => String::new(),
    }
}

/// rvs service extensions, appended after everything ipvsadm prints: `-L` words, `-S`
/// options.
fn ext_suffix(s: &ServiceSpec, rule: bool) -> String {
    let dash = if rule { "--" } else { "" };
    let mut out = String::new();
    if s.synproxy {
        let _ = write!(out, " {dash}synproxy");
    }
    if let Some(pp) = s.proxy_protocol {
        let _ = write!(out, " {dash}proxy-protocol {}", pp.name());
    }
    if s.toa {
        let _ = write!(out, " {dash}toa");
    }
    out
}

/// `fwd_tun_info()`.
fn tun_info(d: &DestSpec, t: &TunnelOpts) -> Option<String> {
    if d.fwd != FwdMethod::Tunnel {
        return None;
    }
    Some(match t.tun_type {
        TunnelType::Ipip => "ipip".to_string(),
        TunnelType::Gue => format!("gue:{}:{}", t.tun_port, t.tun_csum.short()),
        TunnelType::Gre => format!("gre:{}", t.tun_csum.short()),
    })
}

/// `print_tunnel_rule()` and the plain `-a` rule.
fn dest_rule(out: &mut String, svc: &str, dname: &str, d: &DestSpec, t: &TunnelOpts) {
    let head = format!("-a {svc} -r {dname} {} -w {}", fwd_switch(d.fwd), d.weight);
    let _ = match (d.fwd, t.tun_type) {
        (FwdMethod::Tunnel, TunnelType::Gre) => {
            writeln!(out, "{head} --tun-type gre {}", t.tun_csum.option())
        }
        (FwdMethod::Tunnel, TunnelType::Gue) => {
            writeln!(out, "{head} --tun-type gue --tun-port {} {}", t.tun_port, t.tun_csum.option())
        }
        (FwdMethod::Tunnel, TunnelType::Ipip) => writeln!(out, "{head} --tun-type ipip"),
        _ => writeln!(out, "{head}"),
    };
}

fn largenums(out: &mut String, vals: &[u64], exact: bool) {
    for v in vals {
        out.push_str(&print_largenum(*v, exact));
    }
}

/// `print_service_entry()`.
fn service_entry(out: &mut String, se: &ServiceEntry, f: &ListFormat, rule: bool) {
    let s = &se.spec;
    let name = svc_name(&s.key, rule);
    let (ext, v6) = (&se.ext, s.key.is_v6());
    let st = &se.stats;
    if rule {
        let _ = write!(out, "-A {name} -s {}", s.scheduler);
        if let Some(p) = &s.persistence {
            let _ = write!(out, " -p {}{}", p.timeout_s, mask_suffix(v6, p, "-M"));
        }
        if let Some(pe) = &ext.pe {
            let _ = write!(out, " --pe {pe}");
        }
        if s.one_packet {
            out.push_str(" -o");
        }
        if !s.flags.is_empty() {
            let _ = write!(out, " -b {}", s.flags.names(&s.scheduler));
        }
        out.push_str(&ext_suffix(s, true));
    } else if f.stats {
        let _ = write!(out, "{name:<33}");
        largenums(out, &[st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes], f.exact);
    } else if f.rate {
        let _ = write!(out, "{name:<33}");
        largenums(out, &[st.cps, st.inpps, st.outpps, st.inbps, st.outbps], f.exact);
    } else {
        let _ = write!(out, "{name} {}", s.scheduler);
        if !s.flags.is_empty() {
            let _ = write!(out, " ({})", s.flags.names(&s.scheduler));
        }
        if let Some(p) = &s.persistence {
            let _ = write!(out, " persistent {}{}", p.timeout_s, mask_suffix(v6, p, "mask"));
            if let Some(pe) = &ext.pe {
                let _ = write!(out, " pe {pe}");
            }
        }
        if s.one_packet {
            out.push_str(" ops");
        }
        out.push_str(&ext_suffix(s, false));
    }
    out.push('\n');

    let dests = if f.nosort { se.dests.clone() } else { qsort(&se.dests, &cmp_dests) };
    for e in &dests {
        let (d, t) = (&e.spec, &e.tunnel);
        let mut dname = addrport(&d.addr.to_ip(), d.port);
        if !rule && d.addr.is_v4() {
            dname = cut(dname, 28);
        }
        let est = &e.stats;
        let _ = if rule {
            dest_rule(out, &name, &dname, d, t);
            Ok(())
        } else if f.stats {
            let _ = write!(out, "  -> {dname:<28}");
            largenums(out, &[est.conns, est.inpkts, est.outpkts, est.inbytes, est.outbytes], f.exact);
            writeln!(out)
        } else if f.rate {
            let _ = write!(out, "  -> {dname:<28} {:>8} {:>8} {:>8}", est.cps, est.inpps, est.outpps);
            largenums(out, &[est.inbps, est.outbps], f.exact);
            writeln!(out)
        } else if f.thresholds {
            writeln!(
                out,
                "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
                d.u_threshold, d.l_threshold, e.active, e.inactive
            )
        } else if f.persistent_conn {
            writeln!(out, "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}", d.weight, e.persist, e.active, e.inactive)
        } else if f.tun_info {
            let ti = tun_info(d, t).unwrap_or_else(|| "n/a".to_string());
            writeln!(
                out,
                "  -> {dname:<28} {:<7} {ti:<13} {:<6} {:<10} {:<10}",
                d.fwd.name(),
                d.weight,
                e.active,
                e.inactive
            )
        } else {
            writeln!(out, "  -> {dname:<28} {:<7} {:<6} {:<10} {:<10}", d.fwd.name(), d.weight, e.active, e.inactive)
        };
    }
    if rule {
        // rvs extension: a FullNAT service's local address pool.
        for l in &se.laddrs {
            let _ = writeln!(out, "--add-laddr {name} -z {}", ntop(l));
        }
    }
}

fn sorted_services(listing: &Listing, nosort: bool) -> Vec<ServiceEntry> {
    if nosort {
        listing.services.clone()
    } else {
        qsort(&listing.services, &cmp_services)
    }
}

/// `list_all(format)`: `-L` (and no arguments at all).
pub fn list_all(listing: &Listing, f: &ListFormat) -> String {
    let mut out = format!("IP Virtual Server version {} (size={})\n", listing.version, listing.table_size);
    out.push_str(&title(f, false));
    for se in sorted_services(listing, f.nosort) {
        service_entry(&mut out, &se, f, false);
    }
    out
}

/// `-S [-n]`: `list_all(FMT_RULE)`. Thresholds are not saved, as in ipvsadm.
pub fn save(listing: &Listing) -> String {
    let mut out = String::new();
    for se in sorted_services(listing, false) {
        service_entry(&mut out, &se, &ListFormat::default(), true);
    }
    out
}

/// The entry for `key`, or ipvsadm's `No such service` (exit status 1).
pub fn find_service<'a>(listing: &'a Listing, key: &ServiceKey) -> Result<&'a ServiceEntry, UsageError> {
    listing
        .services
        .iter()
        .find(|s| s.spec.key == *key)
        .ok_or_else(|| UsageError { message: "No such service\n".to_string(), exit_code: 1 })
}

/// `list_service()`: `-L -t addr:port`, no version header.
pub fn list_service(listing: &Listing, key: &ServiceKey, f: &ListFormat) -> Result<String, UsageError> {
    let se = find_service(listing, key)?;
    let mut out = title(f, false);
    service_entry(&mut out, se, f, false);
    Ok(out)
}

/// `list_conn()`: `-L -c [--persistent-conn]`.
///
/// FullNAT (rvs extension): when any listed connection is FullNAT, a `local` column
/// (its local address and port, the source its real server sees) comes between
/// `virtual` and `destination`, as in DPVS's `ipvsadm -lnc`; other rows show `-` there.
/// DPVS's lcore prefix and seconds-only expiry are not copied: without FullNAT rows
/// the output stays ipvsadm's, byte for byte, for the scripts that read it.
pub fn list_conn(conns: &[ConnEntry], persistent_conn: bool) -> String {
    let fnat = conns.iter().any(|c| c.local.is_some());
    let mut out = String::from("IPVS connection entries\n");
    let (st, src, vs, dst) = ("state", "source", "virtual", "destination");
    let lh = if fnat { format!("{:<18} ", "local") } else { String::new() };
    let _ = if persistent_conn {
        let (pn, pd) = ("pe name", "pe_data");
        writeln!(out, "pro expire {st:<11} {src:<18} {vs:<18} {lh}{dst:<18} {pn:<16} {pd}")
    } else {
        writeln!(out, "pro expire {st:<11} {src:<18} {vs:<18} {lh}{dst}")
    };
    for c in conns {
        let expire = format!("{:02}:{:02}", c.expire_secs / 60, c.expire_secs % 60);
        let cn = addrport(&c.client.ip(), c.client.port());
        let vn = addrport(&c.virt.ip(), c.virt.port());
        let dn = addrport(&c.dest.ip(), c.dest.port());
        let ln = match (fnat, c.local) {
            (false, _) => String::new(),
            (true, Some(l)) => format!("{:<18} ", addrport(&l.ip(), l.port())),
            (true, None) => format!("{:<18} ", "-"),
        };
        let p = c.proto.name();
        let _ = match (&c.pe, persistent_conn) {
            (Some(pe), true) => writeln!(
                out,
                "{p:<3} {expire:<6} {:<11} {cn:<18} {vn:<18} {ln}{dn:<16} {:<18} {}",
                c.state, pe.name, pe.data
            ),
            _ => writeln!(out, "{p:<3} {expire:<6} {:<11} {cn:<18} {vn:<18} {ln}{dn}", c.state),
        };
    }
    out
}

/// `list_timeout()`: `-L --timeout`.
pub fn list_timeout(t: &Timeouts) -> String {
    format!("Timeout (tcp tcpfin udp): {} {} {}\n", t.tcp, t.tcpfin, t.udp)
}

/// `list_daemon()`: `-L --daemon`.
pub fn list_daemon(daemons: &[DaemonSpec]) -> String {
    let mut out = String::new();
    for d in daemons {
        let _ = write!(out, "{} sync daemon (mcast={}, syncid={}", d.state.name(), d.mcast_ifn, d.syncid);
        if d.sync_maxlen != 0 {
            let _ = write!(out, ", maxlen={}", d.sync_maxlen);
        }
        if let Some(g) = &d.mcast_group {
            let _ = write!(out, ", group={}", ntop(g));
        }
        if d.mcast_port != 0 {
            let _ = write!(out, ", port={}", d.mcast_port);
        }
        if d.mcast_ttl != 0 {
            let _ = write!(out, ", ttl={}", d.mcast_ttl);
        }
        out.push_str(")\n");
    }
    out
}

/// `--get-laddr` (rvs extension, ipvsadm-style columns):
/// `Prot LocalAddress:Port` title, the service, then `  -> laddr` rows.
pub fn list_laddrs(listing: &Listing, key: &ServiceKey) -> Result<String, UsageError> {
    let se = find_service(listing, key)?;
    let mut out = String::from("Prot LocalAddress:Port\n  -> LocalAddress\n");
    let _ = writeln!(out, "{}", svc_name(key, false));
    let mut l: Vec<IpAddr> = se.laddrs.clone();
    l.sort();
    for a in &l {
        let _ = writeln!(out, "  -> {}", ntop(a));
    }
    Ok(out)
}
