//! Reconciling the running service model with the configuration file's
//! `[[service]]` tables (start-up and reload).
//!
//! [`apply`] turns the live [`Config`] into the desired one with the fewest
//! ipvsadm-style edits (`-A/-E/-D`, `-a/-e/-d`), on the services the file owns
//! ([`Origin::File`]): services added by rvsadm or `rvsd --restore` are left alone
//! unless the file declares their key, which hands them to the file. A real server that stays
//! keeps its [`DestId`](rvs_core::service::DestId): connections refer to
//! their real server by id, and a new id would orphan them as if the server
//! had been deleted. FullNAT local addresses are reconciled the same way: those that
//! stay are not touched (their connections keep their source ports).

use std::fmt;

use rvs_core::addr::{Addr, Protocol};
use rvs_core::sched;
use rvs_core::service::{Config, ConfigError, Dest, DestSpec, FwdMethod, Origin, Service, ServiceKey, ServiceSpec};

pub use crate::config::ServiceDecl;

/// What [`apply`] changed. Real servers and local addresses of added or deleted
/// services count as added or deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    pub services_added: usize,
    pub services_edited: usize,
    pub services_deleted: usize,
    pub dests_added: usize,
    pub dests_edited: usize,
    pub dests_deleted: usize,
    pub laddrs_added: usize,
    pub laddrs_deleted: usize,
}

impl Changes {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "services: {} added, {} edited, {} deleted; real servers: {} added, {} edited, {} deleted",
            self.services_added,
            self.services_edited,
            self.services_deleted,
            self.dests_added,
            self.dests_edited,
            self.dests_deleted
        )?;
        // Only FullNAT configurations have any: other reload lines stay as they were.
        if self.laddrs_added + self.laddrs_deleted > 0 {
            write!(f, "; local addresses: {} added, {} deleted", self.laddrs_added, self.laddrs_deleted)?;
        }
        Ok(())
    }
}

/// A model error and the declaration it came from: `service` indexes the
/// desired list, `real_server` that service's `dests`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub service: usize,
    pub real_server: Option<usize>,
    pub error: ConfigError,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service[{}]", self.service)?;
        if let Some(j) = self.real_server {
            write!(f, ".real_server[{j}]")?;
        }
        write!(f, ": {}", self.error)
    }
}

impl std::error::Error for BuildError {}

/// A fresh model holding `decls` (dest ids are allocated in file order).
pub fn build(decls: &[ServiceDecl], max_dests: u32) -> Result<Config, BuildError> {
    let mut c = Config::new(max_dests);
    reconcile(&mut c, decls)?;
    Ok(c)
}

/// Make the file-owned services of `live` exactly the `desired` services and
/// real servers; services of other origins stay unless `desired` declares
/// them. All or nothing: on error `live` is untouched. Services and real
/// servers that stay keep their place in the listing; new ones are appended.
pub fn apply(live: &mut Config, desired: &[ServiceDecl]) -> Result<Changes, ConfigError> {
    apply_located(live, desired).map_err(|e| e.error)
}

/// [`apply`], saying which declaration failed.
pub fn apply_located(live: &mut Config, desired: &[ServiceDecl]) -> Result<Changes, BuildError> {
    let mut next = live.clone();
    let changes = reconcile(&mut next, desired)?;
    *live = next;
    Ok(changes)
}

/// The port the model stores for `d` in the service `key` (ipvsadm gives
/// route and tunnel servers the service's port).
fn dest_port(key: &ServiceKey, d: &DestSpec) -> u16 {
    match *key {
        ServiceKey::Proto { port, .. } if matches!(d.fwd, FwdMethod::Route | FwdMethod::Tunnel) => port,
        _ => d.port,
    }
}

fn same_service(s: &Service, spec: &ServiceSpec) -> bool {
    sched::canonical_name(&spec.scheduler) == Some(s.scheduler)
        && s.flags == spec.flags
        && s.persistence == spec.persistence
        && s.one_packet == spec.one_packet
        && s.proxy_protocol == spec.proxy_protocol
        && s.toa == spec.toa
        && s.synproxy == spec.synproxy
}

fn same_dest(d: &Dest, x: &DestSpec) -> bool {
    (d.weight, d.u_threshold, d.l_threshold, d.fwd) == (x.weight, x.u_threshold, x.l_threshold, x.fwd)
}

fn find<'a>(c: &'a Config, key: &ServiceKey) -> Option<&'a Service> {
    c.services().iter().find(|s| s.key == *key)
}

/// Edit `c` in place (callers work on a copy).
fn reconcile(c: &mut Config, desired: &[ServiceDecl]) -> Result<Changes, BuildError> {
    let mut ch = Changes::default();
    let gone: Vec<(ServiceKey, usize, usize)> = c
        .services()
        .iter()
        .filter(|s| c.origin(&s.key) == Origin::File && !desired.iter().any(|d| d.spec.key == s.key))
        .map(|s| (s.key, s.dests.len(), s.laddrs.len()))
        .collect();
    for (key, n, l) in gone {
        // The key was just listed, so this cannot fail; report it anyway.
        c.del_service(&key).map_err(|error| BuildError { service: 0, real_server: None, error })?;
        ch.services_deleted += 1;
        ch.dests_deleted += n;
        ch.laddrs_deleted += l;
    }
    for (i, d) in desired.iter().enumerate() {
        let key = d.spec.key;
        let at = |j: Option<usize>| move |error| BuildError { service: i, real_server: j, error };
        if desired[..i].iter().any(|p| p.spec.key == key) {
            return Err(at(None)(ConfigError::ServiceExists));
        }
        // A SYN proxy turned on as route servers turn masq: on once they are, and a
        // route server left is refused at its declaration (as when the service is new).
        let tcp = matches!(key, ServiceKey::Proto { proto: Protocol::Tcp, .. });
        let syn_later = d.spec.synproxy && find(c, &key).is_some_and(|s| !s.synproxy);
        if let Some(j) = d.dests.iter().position(|x| syn_later && tcp && !x.fwd.has_replies()) {
            return Err(at(Some(j))(ConfigError::SynproxyNeedsReplies));
        }
        match find(c, &key) {
            None => {
                c.add_service(&d.spec).map_err(at(None))?;
                ch.services_added += 1;
            }
            Some(s) if !same_service(s, &d.spec) => {
                c.edit_service(&ServiceSpec { synproxy: d.spec.synproxy && !syn_later, ..d.spec.clone() })
                    .map_err(at(None))?;
                ch.services_edited += 1;
            }
            Some(_) => {}
        }
        c.set_origin(&key, Origin::File).map_err(at(None))?;
        let want: Vec<(u16, &DestSpec)> = d.dests.iter().map(|x| (dest_port(&key, x), x)).collect();
        let stale: Vec<_> = find(c, &key)
            .map(|s| {
                s.dests
                    .iter()
                    .filter(|o| !want.iter().any(|(p, x)| x.addr == o.addr && *p == o.port))
                    .map(|o| (o.addr, o.port))
                    .collect()
            })
            .unwrap_or_default();
        for (addr, port) in stale {
            c.del_dest(&key, addr, port).map_err(at(None))?;
            ch.dests_deleted += 1;
        }
        for (j, &(port, x)) in want.iter().enumerate() {
            if want[..j].iter().any(|(p, o)| o.addr == x.addr && *p == port) {
                return Err(at(Some(j))(ConfigError::DestExists));
            }
            let old = find(c, &key).and_then(|s| s.dests.iter().find(|o| o.addr == x.addr && o.port == port));
            match old {
                None => {
                    c.add_dest(&key, x).map_err(at(Some(j)))?;
                    ch.dests_added += 1;
                }
                Some(o) if !same_dest(o, x) => {
                    c.edit_dest(&key, &DestSpec { port, ..*x }).map_err(at(Some(j)))?;
                    ch.dests_edited += 1;
                }
                Some(_) => {}
            }
        }
        laddrs(c, &key, &d.laddrs, &mut ch).map_err(at(None))?;
        if syn_later {
            c.edit_service(&d.spec).map_err(at(None))?;
        }
    }
    Ok(ch)
}

/// The service's local addresses become `want`: those gone deleted, new ones appended,
/// the rest left in place.
fn laddrs(c: &mut Config, key: &ServiceKey, want: &[Addr], ch: &mut Changes) -> Result<(), ConfigError> {
    let have = find(c, key).map(|s| s.laddrs.clone()).unwrap_or_default();
    for a in have.iter().filter(|a| !want.contains(a)) {
        c.del_laddr(key, *a)?;
        ch.laddrs_deleted += 1;
    }
    for a in want.iter().filter(|a| !have.contains(a)) {
        c.add_laddr(key, *a)?;
        ch.laddrs_added += 1;
    }
    Ok(())
}
