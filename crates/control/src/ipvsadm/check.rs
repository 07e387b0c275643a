//! ipvsadm 1.31's argument checkers: `generic_opt_check()`,
//! `tunnel_opt_check()`, `set_option()`, `parse_timeout()`, `parse_fwmark()`,
//! `parse_sched_flags()` and the per-option number parsing of `parse_options()`.

use super::addr::{pton6, string_to_number};
use super::model::{SchedFlags, TunnelType};
use super::options::*;
use super::UsageError;
use std::net::{IpAddr, Ipv4Addr};

pub(crate) const DEF_SCHED: &str = "wlc";
/// `IPVS_SVC_PERSISTENT_TIMEOUT`.
const DEF_PERSISTENT_TIMEOUT: u32 = 300;

pub(crate) fn has(options: u64, optc: usize) -> bool {
    options & (1u64 << optc) != 0
}

/// `set_option()`.
pub(crate) fn set_option(options: &mut u64, optc: usize) -> Result<(), UsageError> {
    if has(*options, optc) {
        return Err(UsageError::fail(format!("multiple '{}' options specified", OPT_NAMES[optc])));
    }
    *options |= 1u64 << optc;
    Ok(())
}

/// `parse_timeout()`.
pub(crate) fn parse_timeout(buf: Option<&str>, min: i64, max: i64) -> Result<u32, UsageError> {
    let Some(buf) = buf else {
        return Ok(DEF_PERSISTENT_TIMEOUT);
    };
    string_to_number(buf, min, max)
        .map(|n| n as u32)
        .ok_or_else(|| UsageError::fail(format!("invalid timeout value `{buf}' specified")))
}

/// `parse_fwmark()`: strtol, 1..=UINT_MAX.
pub(crate) fn parse_fwmark(buf: &str) -> Result<u32, UsageError> {
    string_to_number(buf, 1, i64::from(u32::MAX))
        .map(|n| n as u32)
        .ok_or_else(|| UsageError::fail(format!("invalid fwmark value `{buf}' specified")))
}

/// `parse_sched_flags()`: core's parser with ipvsadm's default scheduler; an empty list
/// is refused (ipvsadm's strtok() loop would dereference NULL there).
pub(crate) fn parse_sched_flags(sched: &str, arg: &str) -> Result<SchedFlags, UsageError> {
    let sched = if sched.is_empty() { DEF_SCHED } else { sched };
    if arg.split(',').all(str::is_empty) {
        return Err(UsageError::fail(format!("invalid scheduler flag `{arg}'")));
    }
    SchedFlags::parse(arg, sched).map_err(|e| UsageError::fail(e.to_string()))
}

/// Truncate like `strncpy(dst, src, n)` into a buffer of `n + 1`.
pub(crate) fn truncated(s: &str, n: usize) -> String {
    let mut end = s.len().min(n);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

pub(crate) fn parse_mcast_group(arg: &str) -> Result<IpAddr, UsageError> {
    if arg.contains(':') {
        match pton6(arg) {
            Some(a) if a.is_multicast() => Ok(IpAddr::V6(a)),
            _ => Err(UsageError::fail(format!("invalid IPv6 mcast-group `{arg}'"))),
        }
    } else {
        match arg.parse::<Ipv4Addr>() {
            Ok(a) if a.is_multicast() => Ok(IpAddr::V4(a)),
            _ => Err(UsageError::fail(format!("invalid IPv4 mcast-group `{arg}'"))),
        }
    }
}

pub(crate) fn number(arg: &str, min: i64, max: i64, what: &str) -> Result<u32, UsageError> {
    string_to_number(arg, min, max)
        .map(|n| n as u32)
        .ok_or_else(|| UsageError::fail(format!("illegal {what} specified")))
}

pub(crate) fn generic_opt_check(cmd: Cmd, options: u64) -> Result<(), UsageError> {
    let i = cmd as usize;
    let row = COMMANDS_V_OPTIONS[i];
    let cmd = CMD_NAMES[i];
    let mut last: Option<usize> = None;
    for (j, cell) in row.iter().enumerate() {
        if !has(options, j) {
            if *cell == b'+' {
                return Err(UsageError::fail(format!(
                    "You need to supply the '{}' option for the '{cmd}' command",
                    OPT_NAMES[j]
                )));
            }
        } else {
            if *cell == b'x' {
                return Err(UsageError::fail(format!("Illegal '{}' option with the '{cmd}' command", OPT_NAMES[j])));
            }
            if *cell == b'1' {
                if let Some(l) = last {
                    return Err(UsageError::fail(format!(
                        "The option '{}' conflicts with the '{}' option in the '{cmd}' command",
                        OPT_NAMES[j], OPT_NAMES[l]
                    )));
                }
                last = Some(j);
            }
        }
    }
    Ok(())
}

/// `tunnel_opt_check()`.
pub(crate) fn tunnel_opt_check(tun_type: TunnelType, options: u64) -> Result<(), UsageError> {
    let i = tun_type as usize;
    let ty = tun_type.name();
    let mut last: Option<usize> = None;
    for (j, k) in TUN_OPTS.iter().enumerate() {
        let cell = TUNNEL_TYPES_V_OPTIONS[i][j];
        if !has(options, *k) {
            if cell == b'+' {
                return Err(UsageError::fail(format!(
                    "You need to supply the '{}' option for the '{ty}' tunnel type",
                    OPT_NAMES[*k]
                )));
            }
        } else {
            if cell == b'x' {
                return Err(UsageError::fail(format!(
                    "Illegal '{}' option with the '{ty}' tunnel type",
                    OPT_NAMES[*k]
                )));
            }
            if cell == b'1' {
                if let Some(l) = last {
                    return Err(UsageError::fail(format!(
                        "The option '{}' conflicts with the '{}' option in the '{ty}' tunnel type",
                        OPT_NAMES[*k], OPT_NAMES[l]
                    )));
                }
                last = Some(*k);
            }
        }
    }
    Ok(())
}
