//! The exception path's bring-up: the ports' kernel twins (net_tap), the rings between
//! the workers and the kernel thread, and that thread.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use control::config::{Config, TWIN_DESC};
use dataplane::kernel::{Twin, TwinCounters};
use dpdk::{Mbuf, Mempool, Port, PortConf, Ring};
use wire::EthernetAddress;

use crate::startup::Result;

/// The tap ports and their interface names (closed at the end).
pub type Taps = Vec<(Port, String)>;

/// `--vdev` arguments that create the ports' kernel twins (DPDK's net_tap). A name
/// already taken by an interface is refused here: net_tap would take over a tap of that
/// name, or fail deep in the EAL.
pub fn twin_vdevs(cfg: &Config) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (i, name) in control::twin::twins(cfg) {
        if std::path::Path::new("/sys/class/net").join(&name).exists() {
            return Err(format!(
                "{}: port {}: an interface named {name} exists already; name the port's kernel twin with twin = \"...\" ([[port]]), or twin = \"\" for none",
                cfg.path.display(),
                cfg.ports[i].name
            ));
        }
        out.push(format!("--vdev=net_tap_rvs{i},iface={name}"));
    }
    Ok(out)
}

/// Start each port's kernel twin: one queue pair, the port's MAC (so the kernel's frames
/// leave as the port's, and frames for the port are the twin's too). Returns the tap
/// ports (to close at the end) and, per port, the twin's queues for the kernel thread.
pub fn start_twins(cfg: &Config, pool: &Mempool, macs: &[EthernetAddress]) -> Result<(Taps, Vec<Option<Twin>>)> {
    let mut taps = Vec::new();
    let mut twins: Vec<Option<Twin>> = cfg.ports.iter().map(|_| None).collect();
    for (i, name) in control::twin::twins(cfg) {
        let dev = format!("net_tap_rvs{i}");
        let err = |what: &str, e: dpdk::Error| format!("twin {name} ({dev}): {what}: {e}");
        let port = Port::by_name(&dev).map_err(|e| err("probe", e))?;
        let conf = PortConf {
            rx_queues: 1,
            tx_queues: 1,
            rx_desc: TWIN_DESC,
            tx_desc: TWIN_DESC,
            rss: false,
            mtu: Some(cfg.ports[i].mtu),
            ..PortConf::default()
        };
        port.configure(&conf, pool).map_err(|e| err("configure", e))?;
        port.set_mac_addr(macs[i]).map_err(|e| err("MAC address", e))?;
        port.start().map_err(|e| err("start", e))?;
        let rx = port.rx_queue(0).map_err(|e| err("rx queue", e))?;
        let tx = port.tx_queue(0).map_err(|e| err("tx queue", e))?;
        println!("twin {name}: kernel interface of port {} ({dev}), mac {}", cfg.ports[i].name, macs[i]);
        twins[i] = Some(Twin { rx, tx });
        taps.push((port, name));
    }
    Ok((taps, twins))
}

/// The exception path's rings, as the workers see them.
pub struct KernelRings {
    pub up: Vec<Option<Ring<Mbuf>>>,
    pub down: Option<Ring<Mbuf>>,
}

/// The kernel thread, on the control CPU (never a worker's).
pub fn spawn(
    cfg: &Config,
    twins: Vec<Option<Twin>>,
    from_workers: Vec<Ring<Mbuf>>,
    to_worker: Ring<Mbuf>,
    counters: Arc<Vec<TwinCounters>>,
    stop: &Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>> {
    let k = dataplane::kernel::KernelConfig {
        twins,
        from_workers,
        to_worker,
        counters,
        stop: stop.clone(),
        idle_sleep: std::time::Duration::from_micros(100),
    };
    let cpu = cfg.control.cpu;
    std::thread::Builder::new()
        .name("rvs-kernel".into())
        .spawn(move || {
            if let Some(cpu) = cpu {
                core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
            }
            dataplane::kernel::run(k)
        })
        .map_err(|e| format!("kernel thread: {e}"))
}
