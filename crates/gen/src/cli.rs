//! The `rvs-gen` command line: EAL arguments after `--`, one port, the engine on the main
//! lcore (or on `--lcores`, a queue pair each), the report as text or JSON.

use std::net::Ipv4Addr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use dpdk::{lcore, Eal, Mempool, Port, PortConf};
use wire::EthernetAddress;

use crate::{Config, Io, Mode, Proto};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    Flows,
    Connect,
    Synflood,
}

/// rvs-gen: DPDK traffic generator (TCP/UDP flows, TCP connection rate, SYN flood).
///
/// Example: rvs-gen --mode connect --src 10.0.1.100-10.0.1.199 --dst 10.0.2.100:80
/// --gw-ip 10.0.1.1 --rate 2000 --duration 3 -- --no-huge -m 512 --no-pci
/// --vdev=net_af_packet0,iface=cli0
#[derive(Parser, Debug)]
#[command(name = "rvs-gen", version)]
struct Args {
    /// flows: data segments (or UDP) over N flows; connect: TCP connections (SYN, ACK,
    /// FIN); synflood: SYNs.
    #[arg(long, value_enum, default_value = "flows")]
    mode: ModeArg,
    /// The DPDK port: device name (net_af_packet0, a PCI address) or id; default port 0.
    #[arg(long)]
    port: Option<String>,
    /// Source addresses: A or A-B (inclusive).
    #[arg(long, default_value = "10.0.1.100")]
    src: String,
    /// Source ports: P or P-Q (inclusive).
    #[arg(long, default_value = "1024-65535")]
    src_ports: String,
    /// Source MAC (default: the port's).
    #[arg(long)]
    src_mac: Option<String>,
    /// Destination address:port.
    #[arg(long, default_value = "10.0.2.100:80")]
    dst: String,
    /// The next hop's MAC.
    #[arg(long)]
    gw_mac: Option<String>,
    /// The next hop's address, resolved by ARP (when --gw-mac is not given).
    #[arg(long)]
    gw_ip: Option<Ipv4Addr>,
    /// Packets per second (flows, synflood) or connections per second (connect); 0: as
    /// fast as possible.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Seconds to send.
    #[arg(long, default_value_t = 1.0)]
    duration: f64,
    /// Frame size on the wire, FCS included (64..=1518), flows mode.
    #[arg(long, default_value_t = 64)]
    size: u16,
    /// Flows (flows mode).
    #[arg(long, default_value_t = 1000)]
    flows: u32,
    /// UDP rather than TCP (flows mode).
    #[arg(long)]
    udp: bool,
    /// Flows mode: no SYN per flow before the data.
    #[arg(long)]
    no_syn_first: bool,
    /// Connect mode: send an HTTP GET after the handshake, close after the reply.
    #[arg(long)]
    http: bool,
    /// Connect mode: connections open at once at most.
    #[arg(long, default_value_t = 65536)]
    max_open: u32,
    /// Connect mode: milliseconds before an unfinished connection is a timeout.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
    /// Synflood: random source addresses (any unicast), not --src.
    #[arg(long)]
    random_src: bool,
    /// Milliseconds to keep receiving after sending (flows, synflood).
    #[arg(long, default_value_t = 100)]
    drain_ms: u64,
    /// Sleep this many microseconds when idle (a generator sharing its CPU); 0: spin.
    #[arg(long, default_value_t = 0)]
    idle_sleep_us: u64,
    /// EAL lcores to generate on, one rx/tx queue pair each (RSS on when the device has
    /// it; af_packet: give it qpairs=N): "1,2" or "1-3". Default: the main lcore alone.
    #[arg(long)]
    lcores: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// EAL arguments (after --).
    #[arg(last = true)]
    eal: Vec<String>,
}

fn range<T: std::str::FromStr + Copy>(s: &str) -> Result<(T, T), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let p = |x: &str| x.trim().parse::<T>().map_err(|_| format!("bad range {s:?}"));
    Ok((p(a)?, p(b)?))
}

fn mac(s: &str) -> Result<EthernetAddress, String> {
    let v: Vec<u8> = s.split(':').filter_map(|x| u8::from_str_radix(x, 16).ok()).collect();
    let b: [u8; 6] = v.try_into().map_err(|_| format!("bad MAC {s:?}"))?;
    Ok(EthernetAddress(b))
}

fn config(a: &Args) -> Result<Config, String> {
    let (s0, s1) = range::<Ipv4Addr>(&a.src)?;
    let (p0, p1) = range::<u16>(&a.src_ports)?;
    if u32::from(s1) < u32::from(s0) || p1 < p0 {
        return Err("a range's end is before its start".into());
    }
    let (dip, dport) = a.dst.rsplit_once(':').ok_or("--dst is address:port")?;
    let c = Config {
        mode: match a.mode {
            ModeArg::Flows => Mode::Flows,
            ModeArg::Connect => Mode::Connect,
            ModeArg::Synflood => Mode::Synflood,
        },
        proto: if a.udp { Proto::Udp } else { Proto::Tcp },
        src_mac: a.src_mac.as_deref().map(mac).transpose()?,
        src_ip: s0,
        src_count: u32::from(s1) - u32::from(s0) + 1,
        src_port: p0,
        port_count: p1 - p0 + 1,
        dst_ip: dip.parse().map_err(|_| format!("bad address {dip:?}"))?,
        dst_port: dport.parse().map_err(|_| format!("bad port {dport:?}"))?,
        gw_mac: a.gw_mac.as_deref().map(mac).transpose()?,
        gw_ip: a.gw_ip,
        rate: a.rate,
        duration: Duration::from_secs_f64(a.duration.max(0.0)),
        frame_size: a.size,
        flows: a.flows,
        syn_first: !a.no_syn_first,
        http: a.http,
        max_open: a.max_open,
        conn_timeout: Duration::from_millis(a.timeout_ms),
        random_src: a.random_src,
        drain: Duration::from_millis(a.drain_ms),
        idle_sleep_us: a.idle_sleep_us,
    };
    c.validate()?;
    Ok(c)
}

/// Run the command line `argv` (program name first); returns the exit status.
pub fn main_with(argv: impl IntoIterator<Item = String>) -> i32 {
    let a = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let cfg = match config(&a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rvs-gen: {e}");
            return 2;
        }
    };
    let mut eal_args = vec!["rvs-gen".to_string()];
    eal_args.extend(a.eal.iter().cloned());
    let eal = match Eal::init(&eal_args) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("rvs-gen: EAL init {:?}: {e}", &eal_args[1..]);
            return 1;
        }
    };
    let code = match run_port(&a, &cfg) {
        Ok(r) => {
            if a.json {
                println!("{}", r.json());
            } else {
                print!("{}", r.text());
            }
            0
        }
        Err(e) => {
            eprintln!("rvs-gen: {e}");
            1
        }
    };
    drop(eal);
    code
}

/// `--lcores`: "1,2", "1-3", "0,2-3".
fn lcore_list(s: &str) -> Result<Vec<u32>, String> {
    let mut v = Vec::new();
    for part in s.split(',') {
        let (a, b) = range::<u32>(part)?;
        if b < a || b - a >= 1024 {
            return Err(format!("bad lcore range {part:?}"));
        }
        v.extend(a..=b);
    }
    Ok(v)
}

fn run_port(a: &Args, cfg: &Config) -> Result<crate::Report, String> {
    let lcores = match a.lcores.as_deref() {
        Some(l) => lcore_list(l)?,
        None => vec![lcore::lcore_id()],
    };
    let n = lcores.len() as u16;
    let port = match a.port.as_deref() {
        None => Port::from_id(0),
        Some(p) => match p.parse::<u16>() {
            Ok(id) => Port::from_id(id),
            Err(_) => Port::by_name(p),
        },
    }
    .map_err(|e| format!("port: {e}"))?;
    let mbufs = 16384 * u32::from(n) - 1;
    let pool = Mempool::create("rvs_gen_pkt", mbufs, 256, dpdk::MBUF_DEFAULT_DATA_ROOM, port.socket_id())
        .map_err(|e| format!("mempool: {e}"))?;
    let conf = PortConf { rx_queues: n, tx_queues: n, rss: n > 1, ..PortConf::default() };
    port.configure(&conf, &pool).map_err(|e| {
        let hint = if n > 1 { " (af_packet: add qpairs=N to its --vdev)" } else { "" };
        format!("configure {} with {n} queue pairs: {e}{hint}", port.name())
    })?;
    port.start().map_err(|e| format!("start {}: {e}", port.name()))?;
    let mac = port.mac_addr().map_err(|e| format!("MAC: {e}"))?;
    let r = if a.lcores.is_none() {
        // One lcore, as it always was: the engine on this one.
        let mut io = Io {
            tx: port.tx_queue(0).map_err(|e| e.to_string())?,
            rx: vec![port.rx_queue(0).map_err(|e| e.to_string())?],
            pool,
            mac,
        };
        let r = crate::run(cfg, &mut io, &AtomicBool::new(false));
        drop(io);
        r
    } else {
        let mut ios = Vec::with_capacity(lcores.len());
        for q in 0..n {
            ios.push(Io {
                tx: port.tx_queue(q).map_err(|e| e.to_string())?,
                rx: vec![port.rx_queue(q).map_err(|e| e.to_string())?],
                pool: pool.clone(),
                mac,
            });
        }
        crate::run_lcores(cfg, ios, &lcores, Arc::new(AtomicBool::new(false)))
    };
    let _ = port.stop();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_and_modes() {
        let a = Args::try_parse_from([
            "rvs-gen",
            "--mode",
            "connect",
            "--src",
            "10.0.1.100-10.0.1.199",
            "--src-ports",
            "2000-2999",
            "--dst",
            "10.0.2.100:80",
            "--gw-ip",
            "10.0.1.1",
            "--",
            "--no-huge",
            "--vdev=net_ring0",
        ])
        .unwrap();
        let c = config(&a).unwrap();
        assert_eq!((c.mode, c.src_count, c.src_port, c.port_count), (Mode::Connect, 100, 2000, 1000));
        assert_eq!(a.eal, ["--no-huge", "--vdev=net_ring0"]);
        let mut bad = Args::try_parse_from(["rvs-gen", "--gw-mac", "02:00:00:00:00:01", "--size", "1519"]).unwrap();
        assert!(config(&bad).unwrap_err().contains("frame size"));
        bad.size = 1518;
        assert!(config(&bad).is_ok());
        bad.gw_mac = None;
        assert!(config(&bad).unwrap_err().contains("gateway"));
        assert_eq!(lcore_list("1,3-5").unwrap(), [1, 3, 4, 5]);
        assert!(lcore_list("3-1").is_err() && lcore_list("x").is_err());
    }
}
