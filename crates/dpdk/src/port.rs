//! Ethernet ports (ethdev) and their rx/tx queues.
//!
//! Soundness model: a process-wide registry (behind one mutex) remembers, per port, how
//! many queues it was configured with, which queues are held by an [`RxQueue`] /
//! [`TxQueue`] (each queue has at most one owner, as DPDK requires: queues are not
//! thread-safe), and the mempool its rx queues take mbufs from. Reconfiguring or closing
//! a port is refused while any of its queues is held, so the fast-path burst calls
//! never see a released queue; a stopped port's burst calls hit DPDK's dummy handlers
//! (return 0). The mempool handle is kept until the port is closed.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::sync::{Mutex, MutexGuard};

pub use crate::queue::{RxQueue, TxQueue};
use crate::{eal, Error, Mempool, Result};

#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) rx_taken: Vec<bool>,
    pub(crate) tx_taken: Vec<bool>,
    pool: Option<Mempool>,
    rss: Option<RssFields>,
    reta_size: u16,
    started: bool,
    /// rte_flow rules on this port (see [`crate::flow`]).
    pub(crate) flows: crate::flow::Flows,
}

impl Slot {
    fn busy(&self) -> bool {
        self.rx_taken.iter().chain(&self.tx_taken).any(|&t| t)
    }
}

static PORTS: Mutex<Vec<Slot>> = Mutex::new(Vec::new());

pub(crate) fn ports() -> MutexGuard<'static, Vec<Slot>> {
    let mut g = PORTS.lock().unwrap_or_else(|p| p.into_inner());
    if g.is_empty() {
        g.resize_with(dpdk_sys::RTE_MAX_ETHPORTS as usize, Slot::default);
    }
    g
}

/// Lock the registry and check that the EAL is running and `port` is a valid port.
pub(crate) fn locked(op: &'static str, port: u16) -> Result<MutexGuard<'static, Vec<Slot>>> {
    let g = ports(); // lock order: PORTS, then eal::STATE
    drop(eal::running(op)?);
    // SAFETY: the EAL is running and cannot be torn down while we hold PORTS (Eal::drop
    // takes PORTS first); the call only checks the id against the port table.
    if unsafe { dpdk_sys::rte_eth_dev_is_valid_port(port) } == 0 {
        return Err(Error::msg_errno(op, 19, format!("no port {port}")));
    }
    Ok(g)
}

/// Eal teardown: under the registry lock, destroy every flow rule, stop and close every
/// port whose queues are not held (dropping its mempool handle), then run `f` (the EAL
/// cleanup) while still holding the lock so no port call can interleave.
pub(crate) fn teardown(f: impl FnOnce()) {
    let mut g = ports();
    for (id, slot) in g.iter_mut().enumerate() {
        slot.flows.destroy_all(id as u16);
        if slot.pool.is_some() && !slot.busy() {
            let id = id as u16;
            // SAFETY: the EAL is still running (teardown runs before cleanup), `id` was
            // configured by us and none of its queues is held by a RxQueue/TxQueue.
            unsafe {
                if slot.started {
                    dpdk_sys::rte_eth_dev_stop(id);
                }
                dpdk_sys::rte_eth_dev_close(id);
            }
            *slot = Slot::default();
        }
    }
    f();
}

/// Port configuration for [`Port::configure`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortConf {
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
    /// Spread flows over rx queues with RSS, if there is more than one rx queue and the
    /// device supports it.
    pub rss: bool,
    /// What RSS hashes (when on).
    pub rss_fields: RssFields,
    /// The RSS key (40 bytes, Toeplitz); `None`: the driver's default.
    pub rss_key: Option<[u8; 40]>,
    pub mtu: Option<u16>,
}

/// The packet fields RSS hashes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RssFields {
    /// IP addresses and TCP/UDP ports (the drivers' usual 4-tuple).
    #[default]
    Tuple,
    /// The IPv4/IPv6 source address only (RTE_ETH_RSS_L3_SRC_ONLY): all of a client's
    /// packets on the port clients send to land on one queue.
    SrcAddr,
    /// The destination address only (RTE_ETH_RSS_L3_DST_ONLY): a NAT reply lands on the
    /// queue its request did, where the other port hashes the source.
    DstAddr,
}

impl Default for PortConf {
    fn default() -> Self {
        PortConf {
            rx_queues: 1,
            tx_queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            rss: true,
            rss_fields: RssFields::Tuple,
            rss_key: None,
            mtu: None,
        }
    }
}

/// The rss_hf for `fields` on a device offering `offered`, or `None` if it cannot.
fn rss_hf(fields: RssFields, offered: u64) -> Option<u64> {
    let (want, only) = match fields {
        RssFields::Tuple => (dpdk_sys::RVS_ETH_RSS_IP | dpdk_sys::RVS_ETH_RSS_TCP | dpdk_sys::RVS_ETH_RSS_UDP, 0),
        // IP types only: with no TCP/UDP type enabled, drivers hash TCP and UDP packets
        // by their IP fields too, so no port enters the hash.
        RssFields::SrcAddr => (dpdk_sys::RVS_ETH_RSS_IP, dpdk_sys::RVS_ETH_RSS_L3_SRC_ONLY),
        RssFields::DstAddr => (dpdk_sys::RVS_ETH_RSS_IP, dpdk_sys::RVS_ETH_RSS_L3_DST_ONLY),
    };
    let hf = want & offered;
    (hf != 0 && offered & only == only).then_some(hf | only)
}

/// Link state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Link {
    pub up: bool,
    pub speed_mbps: u32,
    pub full_duplex: bool,
}

/// Basic port counters (`rte_eth_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

/// An ethdev port id. Cheap to copy; every call checks that the port still exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Port {
    id: u16,
}

impl Port {
    /// The port with this device name (e.g. `net_ring0`, `net_af_packet0`, a PCI address).
    pub fn by_name(name: &str) -> Result<Port> {
        const OP: &str = "rte_eth_dev_get_port_by_name";
        let c = CString::new(name).map_err(|_| Error::msg_errno(OP, 22, "name contains NUL"))?;
        let _g = ports();
        drop(eal::running(OP)?);
        let mut id = 0u16;
        // SAFETY: EAL running (and kept so by the registry lock); valid C string and
        // out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut id) };
        Error::check(OP, ret).map_err(|_| Error::msg_errno(OP, 19, format!("no port named {name:?}")))?;
        Ok(Port { id })
    }

    /// The port with this id, if it exists.
    pub fn from_id(id: u16) -> Result<Port> {
        drop(locked("rte_eth_dev_is_valid_port", id)?);
        Ok(Port { id })
    }

    /// Number of usable ports (`rte_eth_dev_count_avail`); 0 if the EAL is not running.
    pub fn count() -> u16 {
        let _g = ports();
        if !eal::is_running() {
            return 0;
        }
        // SAFETY: EAL running; a read of the port table.
        unsafe { dpdk_sys::rte_eth_dev_count_avail() }
    }

    /// The port id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The device name, empty if the port is gone.
    pub fn name(&self) -> String {
        let Ok(_g) = locked("rte_eth_dev_get_name_by_port", self.id) else { return String::new() };
        let mut buf = [0 as c_char; dpdk_sys::RVS_ETH_NAME_MAX_LEN as usize];
        // SAFETY: valid port; buf has RTE_ETH_NAME_MAX_LEN bytes as the call requires.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_name_by_port(self.id, buf.as_mut_ptr()) };
        if ret != 0 {
            return String::new();
        }
        // SAFETY: on success DPDK wrote a NUL-terminated name into buf.
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
    }

    /// NUMA socket of the device (-1 if unknown).
    pub fn socket_id(&self) -> i32 {
        // SAFETY: rte_eth_dev_socket_id validates the id (returns -1 / sets rte_errno).
        unsafe { dpdk_sys::rte_eth_dev_socket_id(self.id) }
    }

    fn info(&self, op: &'static str) -> Result<dpdk_sys::rte_eth_dev_info> {
        let mut info = dpdk_sys::rte_eth_dev_info::default();
        // SAFETY: valid out-pointer to a zeroed rte_eth_dev_info; the id is validated.
        Error::check(op, unsafe { dpdk_sys::rte_eth_dev_info_get(self.id, &mut info) })?;
        Ok(info)
    }

    /// The PMD's driver name (e.g. `net_ring`).
    pub fn driver_name(&self) -> String {
        let Ok(_g) = locked("rte_eth_dev_info_get", self.id) else { return String::new() };
        match self.info("rte_eth_dev_info_get") {
            Ok(i) if !i.driver_name.is_null() => {
                // SAFETY: driver_name is a static NUL-terminated string owned by the driver.
                unsafe { CStr::from_ptr(i.driver_name) }.to_string_lossy().into_owned()
            }
            _ => String::new(),
        }
    }

    /// Configure the device and set up its queues (port must be stopped, and none of its
    /// queues held). RSS is enabled when `conf.rss`, more than one rx queue and the
    /// device hashes at least one of IP/TCP/UDP (`flow_type_rss_offloads`); see
    /// [`Port::rss_enabled`]. Rx queues take mbufs from `pool`, which the port keeps a
    /// handle to until [`Port::close`].
    pub fn configure(&self, conf: &PortConf, pool: &Mempool) -> Result<()> {
        const OP: &str = "rte_eth_dev_configure";
        let mut g = locked(OP, self.id)?;
        let slot = &mut g[self.id as usize];
        if slot.busy() {
            return Err(Error::msg_errno(OP, 16, "a RxQueue/TxQueue of this port is still held"));
        }
        let info = self.info("rte_eth_dev_info_get")?;
        if conf.rx_queues == 0 || conf.rx_queues > info.max_rx_queues {
            return Err(Error::msg_errno(
                OP,
                22,
                format!("rx_queues {} not in 1..={}", conf.rx_queues, info.max_rx_queues),
            ));
        }
        if conf.tx_queues == 0 || conf.tx_queues > info.max_tx_queues {
            return Err(Error::msg_errno(
                OP,
                22,
                format!("tx_queues {} not in 1..={}", conf.tx_queues, info.max_tx_queues),
            ));
        }
        let mut ec = dpdk_sys::rte_eth_conf::default();
        let mut rss = None;
        let mut key = conf.rss_key;
        if conf.rss && conf.rx_queues > 1 {
            if let Some(hf) = rss_hf(conf.rss_fields, info.flow_type_rss_offloads) {
                ec.rxmode.mq_mode = dpdk_sys::RTE_ETH_MQ_RX_RSS;
                ec.rx_adv_conf.rss_conf.rss_hf = hf;
                if let Some(k) = key.as_mut().filter(|_| usize::from(info.hash_key_size) == 40) {
                    // DPDK copies the key during configure.
                    ec.rx_adv_conf.rss_conf.rss_key = k.as_mut_ptr();
                    ec.rx_adv_conf.rss_conf.rss_key_len = 40;
                }
                ec.rxmode.offloads |= info.rx_offload_capa & dpdk_sys::RVS_ETH_RX_OFFLOAD_RSS_HASH;
                rss = Some(conf.rss_fields);
            }
        }
        if let Some(mtu) = conf.mtu {
            if mtu < info.min_mtu || mtu > info.max_mtu {
                return Err(Error::msg_errno(OP, 22, format!("mtu {mtu} not in {}..={}", info.min_mtu, info.max_mtu)));
            }
            ec.rxmode.mtu = mtu as u32;
        }
        // Rules name queues the new configuration may not have.
        slot.flows.destroy_all(self.id);
        // SAFETY: valid port, stopped state is checked by DPDK (EBUSY otherwise), `ec`
        // is a fully initialised rte_eth_conf that DPDK copies.
        Error::check(OP, unsafe { dpdk_sys::rte_eth_dev_configure(self.id, conf.rx_queues, conf.tx_queues, &ec) })?;
        slot.rx_taken.clear();
        slot.tx_taken.clear();
        slot.rss = rss;
        slot.reta_size = if rss.is_some() { info.reta_size } else { 0 };
        // Keep the pool before any rx queue can hold mbufs from it.
        slot.pool = Some(pool.clone());
        let (mut rxd, mut txd) = (conf.rx_desc, conf.tx_desc);
        // SAFETY: valid port and out-pointers; clamps to the device's descriptor limits.
        Error::check("rte_eth_dev_adjust_nb_rx_tx_desc", unsafe {
            dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(self.id, &mut rxd, &mut txd)
        })?;
        let socket = self.socket_id() as u32; // -1 becomes SOCKET_ID_ANY
        for q in 0..conf.rx_queues {
            // SAFETY: configured port, q < nb_rx_queues, NULL rxconf = driver defaults,
            // and the pool stays alive while the port uses it (handle kept in the slot).
            Error::check("rte_eth_rx_queue_setup", unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(self.id, q, rxd, socket, std::ptr::null(), pool.as_ptr())
            })?;
        }
        for q in 0..conf.tx_queues {
            // SAFETY: configured port, q < nb_tx_queues, NULL txconf = driver defaults.
            Error::check("rte_eth_tx_queue_setup", unsafe {
                dpdk_sys::rte_eth_tx_queue_setup(self.id, q, txd, socket, std::ptr::null())
            })?;
        }
        slot.rx_taken = vec![false; conf.rx_queues as usize];
        slot.tx_taken = vec![false; conf.tx_queues as usize];
        Ok(())
    }

    /// Whether the last [`Port::configure`] turned RSS on.
    pub fn rss_enabled(&self) -> bool {
        ports()[self.id as usize].rss.is_some()
    }

    /// The fields RSS hashes since the last [`Port::configure`], if it is on.
    pub fn rss_fields(&self) -> Option<RssFields> {
        ports()[self.id as usize].rss
    }

    /// Entries of the device's RSS redirection table (0 without RSS).
    pub fn reta_size(&self) -> u16 {
        ports()[self.id as usize].reta_size
    }

    /// Program the RSS redirection table: entry i sends to queue `reta[i]`
    /// (`reta.len()` must be [`Port::reta_size`]).
    pub fn set_reta(&self, reta: &[u16]) -> Result<()> {
        const OP: &str = "rte_eth_dev_rss_reta_update";
        let size = self.reta_size();
        if size == 0 || reta.len() != usize::from(size) {
            return Err(Error::msg_errno(OP, 22, format!("{} entries for a table of {size}", reta.len())));
        }
        let mut conf: Vec<dpdk_sys::rte_eth_rss_reta_entry64> = reta
            .chunks(dpdk_sys::RTE_ETH_RETA_GROUP_SIZE as usize)
            .map(|c| {
                let mut e = dpdk_sys::rte_eth_rss_reta_entry64 { mask: 0, reta: [0; 64] };
                for (i, q) in c.iter().enumerate() {
                    e.mask |= 1 << i;
                    e.reta[i] = *q;
                }
                e
            })
            .collect();
        // SAFETY: valid port; `conf` holds size/64 initialised groups, as DPDK reads.
        Error::check(OP, unsafe { dpdk_sys::rte_eth_dev_rss_reta_update(self.id, conf.as_mut_ptr(), size) })?;
        Ok(())
    }

    /// Configured (rx, tx) queue counts; (0, 0) before configure.
    pub fn queue_counts(&self) -> (u16, u16) {
        let g = ports();
        let s = &g[self.id as usize];
        (s.rx_taken.len() as u16, s.tx_taken.len() as u16)
    }

    /// `rte_eth_dev_start`.
    pub fn start(&self) -> Result<()> {
        let mut g = locked("rte_eth_dev_start", self.id)?;
        // SAFETY: valid port; DPDK checks that it is configured.
        Error::check("rte_eth_dev_start", unsafe { dpdk_sys::rte_eth_dev_start(self.id) })?;
        g[self.id as usize].started = true;
        Ok(())
    }

    /// `rte_eth_dev_stop`, after destroying the port's flow rules. Held queues stay
    /// valid: bursts on a stopped port return 0.
    pub fn stop(&self) -> Result<()> {
        let mut g = locked("rte_eth_dev_stop", self.id)?;
        // Rules survive a restart only on some devices (RTE_ETH_DEV_CAPA_FLOW_RULE_KEEP).
        g[self.id as usize].flows.destroy_all(self.id);
        // SAFETY: valid port; stopping resets the fast-path ops to DPDK's dummies, so
        // concurrent bursts on held queues stay sound.
        Error::check("rte_eth_dev_stop", unsafe { dpdk_sys::rte_eth_dev_stop(self.id) })?;
        g[self.id as usize].started = false;
        Ok(())
    }

    /// Stop and close the port (`rte_eth_dev_close`), releasing its mempool handle.
    /// Refused while any of its queues is held.
    pub fn close(&self) -> Result<()> {
        const OP: &str = "rte_eth_dev_close";
        let mut g = locked(OP, self.id)?;
        let slot = &mut g[self.id as usize];
        if slot.busy() {
            return Err(Error::msg_errno(OP, 16, "a RxQueue/TxQueue of this port is still held"));
        }
        slot.flows.destroy_all(self.id);
        // SAFETY: valid port and no queue handle exists, so no burst can run on the
        // queues close releases. Stop first if needed: close wants a stopped port.
        let ret = unsafe {
            if slot.started {
                dpdk_sys::rte_eth_dev_stop(self.id);
            }
            dpdk_sys::rte_eth_dev_close(self.id)
        };
        *slot = Slot::default();
        Error::check(OP, ret).map(drop)
    }

    /// Enable or disable promiscuous mode.
    pub fn promiscuous(&self, on: bool) -> Result<()> {
        let _g = locked("rte_eth_promiscuous_enable", self.id)?;
        // SAFETY: valid port.
        let ret = unsafe {
            if on {
                dpdk_sys::rte_eth_promiscuous_enable(self.id)
            } else {
                dpdk_sys::rte_eth_promiscuous_disable(self.id)
            }
        };
        Error::check(if on { "rte_eth_promiscuous_enable" } else { "rte_eth_promiscuous_disable" }, ret).map(drop)
    }

    /// The port's MAC address.
    pub fn mac_addr(&self) -> Result<wire::EthernetAddress> {
        let _g = locked("rte_eth_macaddr_get", self.id)?;
        let mut a = dpdk_sys::rte_ether_addr::default();
        // SAFETY: valid port and out-pointer.
        Error::check("rte_eth_macaddr_get", unsafe { dpdk_sys::rte_eth_macaddr_get(self.id, &mut a) })?;
        Ok(wire::EthernetAddress(a.addr_bytes))
    }

    /// Set the port's default MAC address (`rte_eth_dev_default_mac_addr_set`).
    pub fn set_mac_addr(&self, mac: wire::EthernetAddress) -> Result<()> {
        const OP: &str = "rte_eth_dev_default_mac_addr_set";
        let _g = locked(OP, self.id)?;
        let mut a = dpdk_sys::rte_ether_addr { addr_bytes: mac.0 };
        // SAFETY: valid port; DPDK copies the address.
        Error::check(OP, unsafe { dpdk_sys::rte_eth_dev_default_mac_addr_set(self.id, &mut a) }).map(drop)
    }

    /// Link state without waiting (`rte_eth_link_get_nowait`); down if unknown.
    pub fn link(&self) -> Link {
        let Ok(_g) = locked("rte_eth_link_get_nowait", self.id) else { return Link::default() };
        let mut l = dpdk_sys::rte_eth_link::default();
        // SAFETY: valid port and out-pointer.
        if unsafe { dpdk_sys::rte_eth_link_get_nowait(self.id, &mut l) } != 0 {
            return Link::default();
        }
        Link {
            up: l.link_status() as u32 == dpdk_sys::RTE_ETH_LINK_UP,
            speed_mbps: l.link_speed,
            full_duplex: l.link_duplex() as u32 == dpdk_sys::RTE_ETH_LINK_FULL_DUPLEX,
        }
    }

    /// Basic counters (`rte_eth_stats_get`).
    pub fn stats(&self) -> Result<PortStats> {
        let _g = locked("rte_eth_stats_get", self.id)?;
        let mut s = dpdk_sys::rte_eth_stats::default();
        // SAFETY: valid port and out-pointer.
        Error::check("rte_eth_stats_get", unsafe { dpdk_sys::rte_eth_stats_get(self.id, &mut s) })?;
        Ok(PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Reset the basic counters (`rte_eth_stats_reset`).
    pub fn stats_reset(&self) -> Result<()> {
        let _g = locked("rte_eth_stats_reset", self.id)?;
        // SAFETY: valid port.
        Error::check("rte_eth_stats_reset", unsafe { dpdk_sys::rte_eth_stats_reset(self.id) }).map(drop)
    }

    /// Extended counters as (name, value).
    pub fn xstats(&self) -> Result<Vec<(String, u64)>> {
        const OP: &str = "rte_eth_xstats_get";
        let _g = locked(OP, self.id)?;
        for _ in 0..4 {
            // SAFETY: valid port; a NULL array with size 0 asks for the count.
            let n = Error::check(OP, unsafe { dpdk_sys::rte_eth_xstats_get_names(self.id, std::ptr::null_mut(), 0) })?
                as usize;
            let mut names = vec![dpdk_sys::rte_eth_xstat_name::default(); n];
            let mut vals = vec![dpdk_sys::rte_eth_xstat::default(); n];
            // SAFETY: both arrays have n elements, as passed.
            let (nn, nv) = unsafe {
                (
                    dpdk_sys::rte_eth_xstats_get_names(self.id, names.as_mut_ptr(), n as u32),
                    dpdk_sys::rte_eth_xstats_get(self.id, vals.as_mut_ptr(), n as u32),
                )
            };
            let (nn, nv) = (Error::check(OP, nn)? as usize, Error::check(OP, nv)? as usize);
            if nn > n || nv > n {
                continue; // the set grew between the calls; retry
            }
            let out = vals[..nv]
                .iter()
                .filter_map(|v| {
                    let name = names.get(v.id as usize)?;
                    // SAFETY: DPDK NUL-terminates names within their 64-byte arrays
                    // (zero-initialised here, so a NUL exists regardless).
                    let s = unsafe { CStr::from_ptr(name.name.as_ptr()) };
                    Some((s.to_string_lossy().into_owned(), v.value))
                })
                .collect();
            return Ok(out);
        }
        Err(Error::msg_errno(OP, 11, "xstats kept changing size"))
    }
}
