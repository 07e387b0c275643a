//! The configuration's services: the TOML's `[[service]]` tables and the virtual
//! servers of the keepalived.conf `[control] keepalived` names, applied together as the
//! file-owned services ([`crate::services::apply`]); services rvsadm added stay.
//!
//! The keepalived part is a parameter of [`declared`] and [`apply`]: rvsd passes the
//! file's services, a health checker passes its effective list of the same services
//! (real servers that are down left out).

use rvs_core::service::{Config as Model, ServiceDef};

use super::{load, Diag, KeepalivedConf};
use crate::config::{Config, ServiceDecl};
use crate::metrics::service_label;
use crate::services::{self, Changes};

/// Reads the keepalived.conf `cfg` names (None when it names none). A virtual server
/// the TOML declares as well is an error at its `virtual_server` line naming the
/// `[[service]]` too.
pub fn load_for(cfg: &Config) -> Result<Option<KeepalivedConf>, Diag> {
    let Some(path) = &cfg.control.keepalived else { return Ok(None) };
    let k = load(path)?;
    for (def, at) in k.services.iter().zip(&k.places) {
        if let Some(i) = cfg.services.iter().position(|t| t.spec.key == def.spec.key) {
            let line = cfg.service_lines.get(i).map(|l| format!(":{l}")).unwrap_or_default();
            return Err(at.diag(format!(
                "{} is also declared in {}{line} (service[{i}]); declare it in one file",
                service_label(&def.spec.key),
                cfg.path.display()
            )));
        }
    }
    Ok(Some(k))
}

/// The services the configuration declares: the TOML's, then `keepalived`'s.
pub fn declared(cfg: &Config, keepalived: &[ServiceDef]) -> Vec<ServiceDecl> {
    cfg.services.iter().chain(keepalived).cloned().collect()
}

/// Makes the file-owned services of `live` the [`declared`] ones (all or nothing). An
/// error names the file, and the `[[service]]` or virtual server, it is about.
pub fn apply(live: &mut Model, cfg: &Config, keepalived: &[ServiceDef]) -> Result<Changes, String> {
    services::apply_located(live, &declared(cfg, keepalived)).map_err(|e| {
        let n = cfg.services.len();
        let Some(d) = e.service.checked_sub(n).and_then(|i| keepalived.get(i)) else {
            return format!("{}: {e}", cfg.path.display());
        };
        let file = cfg.control.keepalived.as_deref().unwrap_or(std::path::Path::new("keepalived.conf"));
        let rs = e.real_server.and_then(|j| d.dests.get(j));
        let rs = rs.map(|x| format!(": real server {}", rvs_core::addr::fmt_addr_port(x.addr, x.port)));
        format!(
            "{}: virtual server {}{}: {}",
            file.display(),
            service_label(&d.spec.key),
            rs.unwrap_or_default(),
            e.error
        )
    })
}
