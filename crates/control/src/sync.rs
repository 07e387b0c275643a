//! The IPVS sync daemon (`ip_vs_sync.c`'s master and backup threads), protocol v1 over
//! UDP multicast on a kernel twin. Not a worker: the master drains the workers'
//! outboxes into messages of at most `sync_maxlen` bytes (full ones sent at once, a
//! partial one within [`FLUSH`]); the backup checks each message (syncid, IPVS's
//! message checks) and hands each record to the inbox of the worker whose queue the
//! client's packets reach.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rvs_core::rss::Rss;
use rvs_core::sync::{home_worker, SyncQueues, SyncRecord, QUEUE_LEN};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use wire::ipvs_sync::{SyncConnRepr, SyncMessage, SyncMessageBuilder, SYNC_GROUP, SYNC_PORT};

use crate::ipvsadm::{DaemonSpec, DaemonState};
use crate::live::Live;

/// A partial message waits at most this long (IPVS: 2 s).
pub const FLUSH: Duration = Duration::from_secs(1);
/// How often the master drains the outboxes.
const POLL: Duration = Duration::from_millis(20);

/// Counters of the sync daemon (Prometheus `rvs_sync_*`).
#[derive(Debug, Default)]
pub struct SyncStats {
    pub msgs_sent: AtomicU64,
    pub conns_sent: AtomicU64,
    pub send_errors: AtomicU64,
    pub msgs_received: AtomicU64,
    pub conns_received: AtomicU64,
    /// Messages or records refused by the decoder (IPVS's checks), and other syncids.
    pub decode_errors: AtomicU64,
    pub wrong_syncid: AtomicU64,
    /// Received records dropped: the owning worker's inbox was full.
    pub inbox_dropped: AtomicU64,
    /// Master: age in ms of the oldest record in the last message sent.
    pub lag_ms: AtomicU64,
}

struct Running {
    spec: DaemonSpec,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    queues: Vec<Arc<SyncQueues>>,
}

/// Starts and stops the daemon (rvsadm `--start-daemon`, `--stop-daemon`; keepalived's
/// `lvs_sync_daemon` through [`Follow`]).
pub struct SyncDaemon {
    live: Arc<Live>,
    rss: Arc<Rss>,
    running: Mutex<Option<Running>>,
    pub stats: Arc<SyncStats>,
}

fn sys(ifn: &str, what: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/class/net/{ifn}/{what}")).ok()?.trim().parse().ok()
}

fn group_of(spec: &DaemonSpec) -> Result<Ipv4Addr, String> {
    match spec.mcast_group {
        None => Ok(SYNC_GROUP),
        Some(std::net::IpAddr::V4(g)) if g.is_multicast() => Ok(g),
        Some(_) => Err("Invalid argument (IPv4 multicast groups only)".into()),
    }
}

/// The daemon's socket: bound to the interface (SO_BINDTODEVICE), TTL, no loopback;
/// the backup joins the group there and listens on the port.
fn open(spec: &DaemonSpec, ifindex: u32) -> std::io::Result<Socket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.bind_device(Some(spec.mcast_ifn.as_bytes()))?;
    s.set_multicast_loop_v4(false)?;
    let ttl = if spec.mcast_ttl == 0 { 1 } else { spec.mcast_ttl };
    s.set_multicast_ttl_v4(ttl)?;
    let port = if spec.mcast_port == 0 { SYNC_PORT } else { spec.mcast_port };
    let group = group_of(spec).map_err(std::io::Error::other)?;
    if spec.state == DaemonState::Backup {
        s.set_reuse_address(true)?;
        s.bind(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)).into())?;
        s.join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))?;
        s.set_read_timeout(Some(Duration::from_millis(200)))?;
    }
    Ok(s)
}

impl SyncDaemon {
    pub fn new(live: Arc<Live>, rss: Arc<Rss>) -> Self {
        SyncDaemon { live, rss, running: Mutex::new(None), stats: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The running daemons, as `-L --daemon` lists them.
    pub fn list(&self) -> Vec<DaemonSpec> {
        self.lock().iter().map(|r| r.spec.clone()).collect()
    }

    /// Records the workers dropped (outbox full), applied, and could not bind.
    pub fn worker_counts(&self) -> (u64, u64, u64, u64) {
        let g = self.lock();
        let qs = g.iter().flat_map(|r| r.queues.iter());
        qs.fold((0, 0, 0, 0), |a, q| {
            let c = &q.counters;
            (
                a.0 + c.out_dropped.load(Relaxed),
                a.1 + c.applied.load(Relaxed),
                a.2 + c.unknown_dest.load(Relaxed),
                a.3 + c.refused.load(Relaxed),
            )
        })
    }

    /// `--start-daemon`: one daemon at a time (keepalived switches roles by stopping one
    /// and starting the other).
    pub fn start(&self, spec: &DaemonSpec) -> Result<(), String> {
        let mut g = self.lock();
        if let Some(r) = g.as_ref() {
            return Err(if r.spec.state == spec.state { "File exists" } else { "Device or resource busy" }.into());
        }
        let ifindex = sys(&spec.mcast_ifn, "ifindex").ok_or("No such device")?;
        let syncid = u8::try_from(spec.syncid).map_err(|_| "Invalid argument")?;
        group_of(spec)?;
        let mtu = sys(&spec.mcast_ifn, "mtu").unwrap_or(1500) as usize;
        let maxlen = if spec.sync_maxlen != 0 { spec.sync_maxlen as usize } else { mtu.saturating_sub(28) };
        let maxlen = maxlen.clamp(44, 65_507);
        let sock = open(spec, ifindex).map_err(|e| e.to_string())?;
        let master = spec.state == DaemonState::Master;
        let queues: Vec<_> = (0..self.live.workers()).map(|_| Arc::new(SyncQueues::new(master, QUEUE_LEN))).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let (st, qs, live, rss, stats) =
            (stop.clone(), queues.clone(), self.live.clone(), self.rss.clone(), self.stats.clone());
        let port = if spec.mcast_port == 0 { SYNC_PORT } else { spec.mcast_port };
        let dst = SocketAddrV4::new(group_of(spec)?, port);
        let name = format!("rvs-sync-{}", spec.state.name());
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                if master {
                    run_master(sock, dst, syncid, maxlen, &qs, &st, &stats)
                } else {
                    run_backup(sock, syncid, &qs, &live, &rss, &st, &stats)
                }
            })
            .map_err(|e| e.to_string())?;
        self.live.set_sync(&queues);
        *g = Some(Running { spec: spec.clone(), stop, thread: Some(thread), queues });
        Ok(())
    }

    /// `--stop-daemon STATE`.
    pub fn stop(&self, state: DaemonState) -> Result<(), String> {
        let mut g = self.lock();
        match g.as_ref() {
            Some(r) if r.spec.state == state => {}
            _ => return Err("No such process".into()),
        }
        if let Some(mut r) = g.take() {
            self.live.set_sync(&[]);
            r.stop.store(true, Relaxed);
            if let Some(t) = r.thread.take() {
                let _ = t.join();
            }
        }
        Ok(())
    }
}

/// The sync daemon's counters in the text exposition format.
pub fn metrics_text(sync: &SyncDaemon) -> String {
    use std::fmt::Write;
    use std::sync::atomic::Ordering::Relaxed;
    let s = &sync.stats;
    let (out_dropped, applied, unknown, refused) = sync.worker_counts();
    let mut t = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: &[(&str, u64)]| {
        let _ = writeln!(t, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(t, "{name}{labels} {v}");
        }
    };

    family(
        "rvs_sync_messages_total",
        "counter",
        "IPVS sync messages sent and received.",
        &[("{dir=\"sent\"}", s.msgs_sent.load(Relaxed)), ("{dir=\"received\"}", s.msgs_received.load(Relaxed))],
    );
    family(
        "rvs_sync_connections_total",
        "counter",
        "Connection records sent and received.",
        &[("{dir=\"sent\"}", s.conns_sent.load(Relaxed)), ("{dir=\"received\"}", s.conns_received.load(Relaxed))],
    );
    family(
        "rvs_sync_records_total",
        "counter",
        "Received records applied by the workers, or not (no such real server, refused).",
        &[("{result=\"applied\"}", applied), ("{result=\"unknown_dest\"}", unknown), ("{result=\"refused\"}", refused)],
    );
    family(
        "rvs_sync_dropped_total",
        "counter",
        "Records dropped: a worker's outbox full, a worker's inbox full.",
        &[("{queue=\"outbox\"}", out_dropped), ("{queue=\"inbox\"}", s.inbox_dropped.load(Relaxed))],
    );
    family(
        "rvs_sync_errors_total",
        "counter",
        "Messages refused by IPVS's checks, of another syncid, not sent.",
        &[
            ("{kind=\"decode\"}", s.decode_errors.load(Relaxed)),
            ("{kind=\"syncid\"}", s.wrong_syncid.load(Relaxed)),
            ("{kind=\"send\"}", s.send_errors.load(Relaxed)),
        ],
    );
    family(
        "rvs_sync_lag_seconds",
        "gauge",
        "Master: age of the oldest record of the last message when it was sent.",
        &[("", 0)],
    );
    t.truncate(t.len() - "rvs_sync_lag_seconds 0\n".len());
    let _ = writeln!(t, "rvs_sync_lag_seconds {}", s.lag_ms.load(Relaxed) as f64 / 1000.0);
    t
}

fn run_master(
    sock: Socket,
    dst: SocketAddrV4,
    syncid: u8,
    maxlen: usize,
    queues: &[Arc<SyncQueues>],
    stop: &AtomicBool,
    stats: &SyncStats,
) {
    let dst = SocketAddr::V4(dst).into();
    let mut pending: Vec<SyncConnRepr> = Vec::new();
    let mut pending_len = SyncMessage::<&[u8]>::HEADER_LEN;
    let mut since: Option<Instant> = None;
    let send = |conns: &mut Vec<SyncConnRepr>, since: Instant| {
        let Ok(msgs) = SyncMessageBuilder::pack(syncid, maxlen, conns) else {
            stats.send_errors.fetch_add(1, Relaxed);
            conns.clear();
            return;
        };
        for m in msgs {
            let n = SyncMessage::new_checked(&m[..]).map_or(0, |m| u64::from(m.nr_conns()));
            match sock.send_to(&m, &dst) {
                Ok(_) => {
                    stats.msgs_sent.fetch_add(1, Relaxed);
                    stats.conns_sent.fetch_add(n, Relaxed);
                }
                Err(_) => {
                    stats.send_errors.fetch_add(1, Relaxed);
                }
            }
        }
        stats.lag_ms.store(since.elapsed().as_millis() as u64, Relaxed);
        conns.clear();
    };
    while !stop.load(Relaxed) {
        for q in queues {
            while let Some(r) = q.outbox.pop() {
                let repr = r.to_repr();
                pending_len = ((pending_len + 3) & !3) + repr.buffer_len();
                pending.push(repr);
                since.get_or_insert_with(Instant::now);
                // A full message goes at once.
                if pending_len > maxlen || pending.len() >= 255 {
                    let last = pending.pop();
                    send(&mut pending, since.unwrap_or_else(Instant::now));
                    pending.extend(last);
                    pending_len = SyncMessage::<&[u8]>::HEADER_LEN + pending.first().map_or(0, |c| c.buffer_len());
                }
            }
        }
        if since.is_some_and(|t| t.elapsed() >= FLUSH) && !pending.is_empty() {
            send(&mut pending, since.unwrap_or_else(Instant::now));
            pending_len = SyncMessage::<&[u8]>::HEADER_LEN;
            since = None;
        }
        std::thread::sleep(POLL);
    }
    if !pending.is_empty() {
        send(&mut pending, Instant::now());
    }
}

fn run_backup(
    sock: Socket,
    syncid: u8,
    queues: &[Arc<SyncQueues>],
    live: &Live,
    rss: &Rss,
    stop: &AtomicBool,
    stats: &SyncStats,
) {
    let sock: std::net::UdpSocket = sock.into();
    let mut buf = vec![0u8; 65_536];
    let workers = queues.len() as u32;
    while !stop.load(Relaxed) {
        let Ok(n) = sock.recv(&mut buf) else { continue };
        let Some(data) = buf.get(..n) else { continue };
        stats.msgs_received.fetch_add(1, Relaxed);
        let Ok(m) = SyncMessage::new_checked(data) else {
            stats.decode_errors.fetch_add(1, Relaxed);
            continue;
        };
        // IPVS: a backup with syncid 0 takes every syncid.
        if syncid != 0 && m.syncid() != syncid {
            stats.wrong_syncid.fetch_add(1, Relaxed);
            continue;
        }
        let snap = live.snapshot();
        for c in m.records() {
            let Ok(c) = c else {
                // The rest of the message is dropped, as Linux does.
                stats.decode_errors.fetch_add(1, Relaxed);
                break;
            };
            if c.unknown_mandatory().is_some() {
                continue;
            }
            let Ok(repr) = SyncConnRepr::parse(&c) else {
                stats.decode_errors.fetch_add(1, Relaxed);
                continue;
            };
            stats.conns_received.fetch_add(1, Relaxed);
            let r = SyncRecord::from_repr(&repr);
            let w = home_worker(rss, workers, &snap, &r);
            if queues.get(w).is_none_or(|q| q.inbox.push(r).is_err()) {
                stats.inbox_dropped.fetch_add(1, Relaxed);
            }
        }
    }
}

/// keepalived's `lvs_sync_daemon`: the daemon as master while the VRRP instance is
/// MASTER (its addresses on the twins), as backup otherwise, switched by stopping one
/// and starting the other as keepalived does. Called from the control loop's tick.
pub struct Follow {
    conf: crate::keepalived::syncd::LvsSyncDaemon,
    role: Option<DaemonState>,
    retry: Option<Instant>,
}

impl Follow {
    pub fn new(conf: crate::keepalived::syncd::LvsSyncDaemon) -> Follow {
        Follow { conf, role: None, retry: None }
    }

    fn spec(&self, state: DaemonState) -> DaemonSpec {
        let c = &self.conf;
        DaemonSpec {
            state,
            mcast_ifn: c.ifname.clone(),
            syncid: c.syncid,
            sync_maxlen: c.maxlen,
            mcast_group: c.group,
            mcast_port: c.port,
            mcast_ttl: c.ttl,
        }
    }

    pub fn tick(&mut self, sync: &SyncDaemon, net: &crate::net::LiveNet) {
        let master = self.conf.vips.iter().any(|v| net.twin_holds(*v));
        let want = if master { DaemonState::Master } else { DaemonState::Backup };
        if self.role == Some(want) || self.retry.is_some_and(|t| Instant::now() < t) {
            return;
        }
        if let Some(r) = self.role.take() {
            let _ = sync.stop(r);
        }
        match sync.start(&self.spec(want)) {
            Ok(()) => {
                self.retry = None;
                self.role = Some(want);
                println!(
                    "sync: {} daemon on {} (syncid {}): VRRP instance {} is {}",
                    want.name(),
                    self.conf.ifname,
                    self.conf.syncid,
                    self.conf.instance,
                    if master { "MASTER" } else { "not MASTER" }
                );
            }
            Err(e) => {
                // Tried again a second later (the interface may come later).
                self.retry = Some(Instant::now() + Duration::from_secs(1));
                eprintln!("sync: lvs_sync_daemon {} on {}: {e}", want.name(), self.conf.ifname);
            }
        }
    }
}
