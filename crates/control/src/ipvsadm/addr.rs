//! libc behaviour ipvsadm relies on, reimplemented: `strtol`-based
//! `string_to_number()`, `atoi`, `inet_aton`, `inet_pton`, glibc's `inet_ntop`,
//! and ipvsadm's `parse_service()` / `addrport_to_anyname()` (numeric form).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `isspace()` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `strtol(s, &end, 10)` requiring `*end == '\0'`; `None` on junk or overflow.
fn strtol_full(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut v: i64 = 0;
    let mut overflow = false;
    while i < b.len() && b[i].is_ascii_digit() {
        let d = i64::from(b[i] - b'0');
        match v.checked_mul(10).and_then(|x| if neg { x.checked_sub(d) } else { x.checked_add(d) }) {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start || i != b.len() || overflow {
        return None;
    }
    Some(v)
}

/// ipvsadm's `string_to_number(s, min, max)`.
pub(crate) fn string_to_number(s: &str, min: i64, max: i64) -> Option<i64> {
    strtol_full(s).filter(|n| (min..=max).contains(n))
}

/// `atoi()` (used by ipvsadm for IPv6 `-M`): leading digits, 0 on none.
pub(crate) fn atoi(s: &str) -> i64 {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = v.saturating_mul(10).saturating_add(i64::from(b[i] - b'0'));
        i += 1;
    }
    if neg {
        -v
    } else {
        v
    }
}

/// glibc `inet_aton()`: `a`, `a.b`, `a.b.c`, `a.b.c.d`, each part decimal, octal
/// (leading 0) or hex (0x); trailing whitespace and anything after it accepted.
pub(crate) fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let b = s.as_bytes();
    let mut parts: Vec<u64> = Vec::with_capacity(4);
    let mut i = 0;
    loop {
        if i >= b.len() || !b[i].is_ascii_digit() {
            return None;
        }
        let (base, mut j) = if b[i] == b'0' {
            if i + 1 < b.len() && (b[i + 1] == b'x' || b[i + 1] == b'X') {
                (16u64, i + 2)
            } else {
                (8u64, i + 1)
            }
        } else {
            (10u64, i)
        };
        let mut val: u64 = 0;
        while j < b.len() {
            let c = b[j];
            let d = match c {
                b'0'..=b'9' if base != 8 || c < b'8' => u64::from(c - b'0'),
                b'a'..=b'f' if base == 16 => u64::from(c - b'a' + 10),
                b'A'..=b'F' if base == 16 => u64::from(c - b'A' + 10),
                _ => break,
            };
            val = val * base + d;
            if val > 0xffff_ffff {
                return None;
            }
            j += 1;
        }
        parts.push(val);
        i = j;
        if i < b.len() && b[i] == b'.' {
            if parts.len() >= 4 {
                return None;
            }
            i += 1;
            continue;
        }
        break;
    }
    if i < b.len() && !is_c_space(b[i]) {
        return None;
    }
    let v: u32 = match parts.as_slice() {
        [a] => *a as u32,
        [a, r] if *a <= 0xff && *r <= 0xff_ffff => ((*a as u32) << 24) | *r as u32,
        [a, bb, r] if *a <= 0xff && *bb <= 0xff && *r <= 0xffff => {
            ((*a as u32) << 24) | ((*bb as u32) << 16) | *r as u32
        }
        [a, bb, c, d] if *a <= 0xff && *bb <= 0xff && *c <= 0xff && *d <= 0xff => {
            ((*a as u32) << 24) | ((*bb as u32) << 16) | ((*c as u32) << 8) | *d as u32
        }
        _ => return None,
    };
    Some(Ipv4Addr::from(v))
}

/// `inet_pton(AF_INET6, ...)`.
pub(crate) fn pton6(s: &str) -> Option<Ipv6Addr> {
    s.parse::<Ipv6Addr>().ok()
}

/// glibc `inet_ntop(AF_INET6, ...)` (BIND 8 algorithm: longest zero run of two or
/// more words compressed; `::a.b.c.d` and `::ffff:a.b.c.d` printed dotted).
pub fn ntop6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    type Run = Option<(usize, usize)>;
    let (mut best, mut cur): (Run, Run) = (None, None);
    for (i, word) in w.iter().enumerate() {
        if *word == 0 {
            cur = Some(match cur {
                None => (i, 1),
                Some((b, l)) => (b, l + 1),
            });
        } else if let Some(c) = cur.take() {
            if !matches!(best, Some(b) if b.1 >= c.1) {
                best = Some(c);
            }
        }
    }
    if let Some(c) = cur {
        if !matches!(best, Some(b) if b.1 >= c.1) {
            best = Some(c);
        }
    }
    let best = best.filter(|b| b.1 >= 2);
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if let Some((base, len)) = best {
            if i >= base && i < base + len {
                if i == base {
                    out.push(':');
                }
                i += 1;
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 {
            if let Some((0, len)) = best {
                if len == 6 || (len == 5 && w[5] == 0xffff) {
                    let o = a.octets();
                    out.push_str(&Ipv4Addr::new(o[12], o[13], o[14], o[15]).to_string());
                    break;
                }
            }
        }
        out.push_str(&format!("{:x}", w[i]));
        i += 1;
    }
    if let Some((base, len)) = best {
        if base + len == 8 {
            out.push(':');
        }
    }
    out
}

/// `inet_ntop()` for either family.
pub fn ntop(a: &IpAddr) -> String {
    match a {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => ntop6(v6),
    }
}

/// `addrport_to_anyname(..., FMT_NUMERIC)`: `a.b.c.d:port` or `[v6]:port`.
pub fn addrport(a: &IpAddr, port: u16) -> String {
    match a {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{}]:{port}", ntop6(v6)),
    }
}

/// A few `/etc/services` names so `-t 10.0.0.1:http` works without NSS
/// (ipvsadm's `service_to_port()` calls `getservbyname`).
const SERVICES: &[(&str, u16)] = &[
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("tftp", 69),
    ("http", 80),
    ("www", 80),
    ("www-http", 80),
    ("pop3", 110),
    ("ntp", 123),
    ("imap2", 143),
    ("imap", 143),
    ("snmp", 161),
    ("ldap", 389),
    ("https", 443),
    ("submission", 587),
    ("ldaps", 636),
    ("imaps", 993),
    ("pop3s", 995),
    ("mysql", 3306),
    ("sip", 5060),
    ("postgresql", 5432),
    ("http-alt", 8080),
];

/// `service_to_port(name, proto)`: `proto` is the IP protocol number (0 = none).
fn service_to_port(name: &str, proto: u8) -> Option<u16> {
    if proto != 6 && proto != 17 {
        return None;
    }
    SERVICES.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

/// The address part of ipvsadm's `ipvs_service_t` that `parse_service()` edits.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SvcAddr {
    pub addr: Option<IpAddr>,
    pub port: u16,
    /// IPv4 mask (host order) or IPv6 prefix.
    pub netmask: u32,
}

pub(crate) const SERVICE_ADDR: u8 = 1;
pub(crate) const SERVICE_PORT: u8 = 2;

/// ipvsadm's `parse_service()`: returns `SERVICE_ADDR|SERVICE_PORT` bits (0 =
/// failure) and edits `svc` as the C code does. Host names are not resolved.
pub(crate) fn parse_service(buf: &str, proto: u8, svc: &mut SvcAddr) -> u8 {
    if buf.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let (mut host, mut portp): (&str, Option<&str>) = (buf, None);
    if let Some(rest) = buf.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return 0;
        };
        let after = &rest[close + 1..];
        let Some(port) = after.strip_prefix(':') else {
            return 0;
        };
        host = &rest[..close];
        portp = Some(port);
    }
    if let Some(a6) = pton6(host) {
        svc.addr = Some(IpAddr::V6(a6));
        svc.netmask = 128;
    } else {
        // The C code re-searches for ':' here, dropping a bracketed port.
        portp = None;
        if let Some(idx) = host.rfind(':') {
            portp = Some(&host[idx + 1..]);
            host = &host[..idx];
        }
        match inet_aton(host) {
            Some(a4) => svc.addr = Some(IpAddr::V4(a4)),
            None => return 0,
        }
    }
    let mut result = SERVICE_ADDR;
    if let Some(p) = portp {
        result |= SERVICE_PORT;
        if let Some(n) = string_to_number(p, 0, 65535) {
            svc.port = n as u16;
        } else if let Some(n) = service_to_port(p, proto) {
            svc.port = n;
        } else {
            return 0;
        }
    }
    result
}
