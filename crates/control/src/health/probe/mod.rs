//! The checks themselves: blocking I/O on the checker's own thread, bounded by
//! connect_timeout (misc_timeout for scripts) and cut short by a stop.

mod http;
mod misc;
mod net;
mod tls;

use std::net::SocketAddr;
use std::time::Instant;

use super::engine::{CheckResult, CheckerInfo, Outcome};
use super::{script, Stop};
use crate::keepalived::CheckerKind;

#[derive(Debug)]
pub(crate) enum Probe {
    Tcp(net::Conn),
    Http(http::HttpProbe),
    Misc(misc::MiscProbe),
}

impl Probe {
    /// What `info` checks; an error disables the checker (keepalived drops such a
    /// checker when it reads the configuration).
    pub(crate) fn new(info: &CheckerInfo) -> Result<Probe, String> {
        let c = &info.checker;
        let dst =
            SocketAddr::new(c.connect_ip.unwrap_or(info.server.ip()), c.connect_port.unwrap_or(info.server.port()));
        // socket_bind_connect binds only when bindto is set; bind_port alone is ignored.
        let bind = c.bindto.map(|ip| SocketAddr::new(ip, c.bind_port.unwrap_or(0)));
        if bind.is_some_and(|b| b.is_ipv4() != dst.is_ipv4()) {
            return Err("bindto and the connect address are of different families".into());
        }
        let conn = net::Conn { dst, bind, timeout: c.connect_timeout };
        Ok(match &c.kind {
            CheckerKind::Tcp => Probe::Tcp(conn),
            CheckerKind::Http(h) => Probe::Http(http::HttpProbe::new(info, conn, h, false)?),
            CheckerKind::Ssl(h) => Probe::Http(http::HttpProbe::new(info, conn, h, true)?),
            CheckerKind::Misc(m) => Probe::Misc(misc::MiscProbe {
                argv: script::argv(&m.misc_path).ok_or_else(|| format!("cannot parse misc_path '{}'", m.misc_path))?,
                timeout: m.misc_timeout.filter(|t| !t.is_zero()).unwrap_or(info.service_delay_loop),
                user: m.user.as_deref().map(script::lookup_user).transpose()?,
            }),
        })
    }

    /// One attempt; `url` is the HTTP url to fetch.
    pub(crate) fn run(&self, url: usize, stop: &Stop) -> Outcome {
        match self {
            Probe::Tcp(conn) => {
                let start = Instant::now();
                let r = match net::connect(conn, start + conn.timeout, stop) {
                    Ok(_) => CheckResult::Ok,
                    Err(net::ConnectError::Skip(why)) => CheckResult::Skipped(why),
                    Err(net::ConnectError::Fail(why)) => CheckResult::Failed(why),
                    Err(net::ConnectError::Stopped) => CheckResult::Failed("stopped".into()),
                };
                Outcome::new(r, start.elapsed())
            }
            Probe::Http(h) => h.run(url, stop),
            Probe::Misc(m) => m.run(stop),
        }
    }
}
