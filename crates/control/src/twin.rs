//! The ports' kernel twins seen from the control plane, over rtnetlink: rvsd gives each
//! twin the port's addresses and routes (so the kernel's own traffic — health checks,
//! VRRP, BGP, SSH — leaves with the director's addresses), then watches the addresses on
//! the twins and publishes them to the workers ([`LiveNet::set_twin`]): an address an
//! operator or keepalived adds to a twin is answered by the data path at once, and no
//! longer when it goes (seed 003's `ifconfig eth0:100`, keepalived's virtual_ipaddress).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use futures_util::stream::{StreamExt, TryStreamExt};
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{Handle, MulticastGroup, RouteMessageBuilder};
use rvs_core::route::IpCidr;

use crate::config::Config;
use crate::net::LiveNet;

/// A full re-read of every twin's addresses this often, besides the notifications (a
/// netlink socket may overflow and lose some).
const RESYNC: Duration = Duration::from_secs(5);

/// The twins of `cfg`'s ports: (port index, interface name).
pub fn twins(cfg: &Config) -> Vec<(usize, String)> {
    cfg.ports.iter().enumerate().filter_map(|(i, p)| p.twin.clone().map(|t| (i, t))).collect()
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("tokio runtime: {e}"))
}

async fn ifindex(h: &Handle, name: &str) -> Result<u32, String> {
    let mut links = h.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(l)) => Ok(l.header.index),
        Ok(None) => Err(format!("no interface {name}")),
        Err(e) => Err(format!("interface {name}: {e}")),
    }
}

/// Give every twin its port's addresses (IPv6 without duplicate address detection: the
/// data path already answers for them) and the kernel the configuration's routes
/// through the twins. An address or route already there is left as it is. Returns one
/// line per thing done, for the startup log.
pub fn configure(cfg: &Config) -> Result<Vec<String>, String> {
    let rt = runtime()?;
    rt.block_on(async {
        let (conn, h, _) = rtnetlink::new_connection().map_err(|e| format!("rtnetlink: {e}"))?;
        tokio::spawn(conn);
        let mut log = Vec::new();
        let mut index = vec![None; cfg.ports.len()];
        for (i, name) in twins(cfg) {
            let idx = ifindex(&h, &name).await?;
            index[i] = Some(idx);
            let p = &cfg.ports[i];
            if !p.addresses6.is_empty() {
                // A namespace may default to IPv6 off (the lab's director does).
                let knob = format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6");
                let _ = std::fs::write(knob, "0");
            }
            for c in p.cidrs() {
                let (addr, len) = (c.addr(), c.prefix_len());
                let mut req = h.address().add(idx, addr, len).replace();
                if addr.is_ipv6() {
                    req.message_mut().attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
                }
                req.execute().await.map_err(|e| format!("{name}: address {addr}/{len}: {e}"))?;
                log.push(format!("twin {name}: address {addr}/{len}"));
            }
            // Up, whatever the PMD did (net_tap brings its interface up on start).
            let _ = h.link().set(rtnetlink::LinkUnspec::new_with_index(idx).up().build()).execute().await;
        }
        for r in &cfg.routes {
            let Some(idx) = index.get(r.port).copied().flatten() else { continue };
            let name = cfg.ports[r.port].twin.as_deref().unwrap_or_default();
            let msg = match (r.prefix, r.gateway) {
                (IpCidr::V4(p), IpAddr::V4(g)) => RouteMessageBuilder::<Ipv4Addr>::new()
                    .destination_prefix(p.network(), p.prefix_len)
                    .gateway(g)
                    .output_interface(idx)
                    .build(),
                (IpCidr::V6(p), IpAddr::V6(g)) => RouteMessageBuilder::<Ipv6Addr>::new()
                    .destination_prefix(p.network(), p.prefix_len)
                    .gateway(g)
                    .output_interface(idx)
                    .build(),
                _ => continue,
            };
            match h.route().add(msg).replace().execute().await {
                Ok(()) => log.push(format!("twin {name}: route {} via {}", r.prefix, r.gateway)),
                // The box's own routing may already cover it (a management default
                // route): the kernel's table is the operator's, so only say so.
                Err(e) => log.push(format!("twin {name}: route {} via {}: {e} (left as it is)", r.prefix, r.gateway)),
            }
        }
        Ok(log)
    })
}

/// The addresses on interface `idx`, the link-local ones aside (each port's comes from
/// its MAC, and the data path answers it already).
async fn addresses(h: &Handle, idx: u32) -> Result<Vec<IpAddr>, rtnetlink::Error> {
    let mut out = Vec::new();
    let mut s = h.address().get().set_link_index_filter(idx).execute();
    while let Some(m) = s.try_next().await? {
        if m.header.index != idx {
            continue;
        }
        // IPv4: IFA_LOCAL is the address (IFA_ADDRESS the peer's on point-to-point);
        // IPv6 has IFA_ADDRESS only.
        let local = m.attributes.iter().find_map(|a| if let AddressAttribute::Local(a) = a { Some(*a) } else { None });
        let addr = local.or_else(|| {
            m.attributes.iter().find_map(|a| if let AddressAttribute::Address(a) = a { Some(*a) } else { None })
        });
        match addr {
            Some(IpAddr::V6(a)) if a.segments()[0] & 0xffc0 == 0xfe80 => {}
            Some(a) => out.push(a),
            None => {}
        }
    }
    Ok(out)
}

/// Watch the twins' addresses until `stop` is set: every change is published at once
/// (a notification triggers a re-read of the twins), and everything every [`RESYNC`].
pub fn watch(cfg: &Config, net: Arc<LiveNet>, stop: Arc<AtomicBool>) -> Result<JoinHandle<()>, String> {
    let twins = twins(cfg);
    let rt = runtime()?;
    std::thread::Builder::new()
        .name("rvs-twin".into())
        .spawn(move || {
            rt.block_on(async move {
                let groups = [MulticastGroup::Ipv4Ifaddr, MulticastGroup::Ipv6Ifaddr, MulticastGroup::Link];
                let (conn, h, mut events) = match rtnetlink::new_multicast_connection(&groups) {
                    Ok(c) => c,
                    Err(e) => return eprintln!("rvsd: twin: rtnetlink: {e}; twin addresses are not followed"),
                };
                tokio::spawn(conn);
                let mut index: Vec<(usize, String, Option<u32>)> = twins.into_iter().map(|(i, n)| (i, n, None)).collect();
                while !stop.load(Ordering::Relaxed) {
                    for (port, name, idx) in index.iter_mut() {
                        if idx.is_none() {
                            *idx = ifindex(&h, name).await.ok();
                        }
                        let Some(i) = *idx else { continue };
                        match addresses(&h, i).await {
                            Ok(addrs) => {
                                let shown: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
                                if net.set_twin(*port, addrs) {
                                    println!("rvsd: twin {name}: addresses {}", shown.join(" "));
                                }
                            }
                            // The interface went (and may come back with a new index).
                            Err(_) => *idx = None,
                        }
                    }
                    // Until something changes on a link or address, the stop flag is
                    // looked at, or the resync is due.
                    let wait = tokio::time::sleep(RESYNC);
                    tokio::pin!(wait);
                    loop {
                        tokio::select! {
                            ev = events.next() => match ev {
                                Some((m, _)) if matches!(
                                    m.payload,
                                    NetlinkPayload::InnerMessage(
                                        RouteNetlinkMessage::NewAddress(_)
                                            | RouteNetlinkMessage::DelAddress(_)
                                            | RouteNetlinkMessage::NewLink(_)
                                            | RouteNetlinkMessage::DelLink(_)
                                    )
                                ) => break,
                                Some(_) => {}
                                None => return eprintln!("rvsd: twin: rtnetlink closed; twin addresses are no longer followed"),
                            },
                            _ = &mut wait => break,
                            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                                if stop.load(Ordering::Relaxed) { return; }
                            }
                        }
                    }
                }
            })
        })
        .map_err(|e| format!("twin thread: {e}"))
}
