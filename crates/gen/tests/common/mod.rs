//! The TCP peer the net_ring tests run the engine against, on a thread of its own.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dpdk::{Burst, Eal, Mempool, Port, PortConf, RxQueue, TxQueue};
use rvs_gen::packet::{parse, tcp_len, write_tcp, Rx, Seg, TcpSeen};
use rvs_gen::Config;
use wire::{tcp_flags, EthernetAddress, EthernetRepr, PacketBuf};

pub const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0xaa]);

/// SYN → SYN-ACK, FIN → FIN-ACK, data → an ACK with a few bytes of reply, bare ACKs
/// dropped. Reads every queue of `rx`; answers on `tx[route(segment)]`.
pub fn peer(
    mut rx: Vec<RxQueue>,
    mut tx: Vec<TxQueue>,
    gen_mac: EthernetAddress,
    stop: Arc<AtomicBool>,
    route: impl Fn(&TcpSeen) -> usize,
) -> (Vec<RxQueue>, Vec<TxQueue>) {
    let mut b = Burst::new();
    let mut outs: Vec<Burst> = tx.iter().map(|_| Burst::new()).collect();
    while !stop.load(Ordering::Relaxed) {
        let mut got = 0;
        for q in &mut rx {
            got += q.rx_burst(&mut b);
            for mut m in b.drain(..) {
                let Rx::Tcp(t) = parse(m.data()) else { continue };
                let syn = t.flags & tcp_flags::SYN != 0;
                let fin = t.flags & tcp_flags::FIN != 0;
                if !syn && !fin && t.payload_len == 0 {
                    continue;
                }
                let eth = EthernetRepr { src_addr: PEER_MAC, dst_addr: gen_mac, ethertype: 0x0800 };
                let seg = Seg {
                    src: t.dst,
                    dst: t.src,
                    sport: t.dport,
                    dport: t.sport,
                    seq: if syn { 1000 } else { t.ack },
                    ack: t.seq.wrapping_add(t.payload_len).wrapping_add(u32::from(syn || fin)),
                    flags: tcp_flags::ACK
                        | if syn {
                            tcp_flags::SYN
                        } else if fin {
                            tcp_flags::FIN
                        } else {
                            tcp_flags::PSH
                        },
                    mss: false,
                    data: if syn || fin { b"" } else { b"HTTP/1.1 200 OK\r\n\r\n" },
                    fill: 0,
                };
                let len = m.len();
                m.trim(len);
                if m.append(tcp_len(&seg)).is_some_and(|buf| write_tcp(buf, &eth, &seg)) {
                    outs[route(&t)].push(m);
                }
            }
            for (out, q) in outs.iter_mut().zip(tx.iter_mut()) {
                while !out.is_empty() && !stop.load(Ordering::Relaxed) {
                    q.tx_burst(out);
                }
                dpdk::free_burst(out);
            }
        }
        if got == 0 {
            std::thread::yield_now();
        }
    }
    (rx, tx)
}

/// The EAL on `lcores` with one net_ring port of `queues` queue pairs, started, its
/// pool of `mbufs`; everything goes, runtime folder included, when it drops.
pub struct Ring {
    pub port: Port,
    // Dropped in this order, after `Drop::drop` has stopped the port: the pool before
    // the EAL, the runtime folder (which DPDK leaves behind) last.
    pub pool: Mempool,
    _eal: Eal,
    _dir: RuntimeDir,
}

struct RuntimeDir(String);

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{}", self.0));
    }
}

impl Ring {
    pub fn up(name: &str, lcores: &str, queues: u16, mbufs: u32) -> Ring {
        let prefix = format!("rvs-{name}-{}", std::process::id());
        let args = [
            "rvs-gen-test",
            "--no-huge",
            "-m",
            "256",
            "--no-pci",
            "--no-telemetry",
            "-l",
            lcores,
            "--log-level=lib.eal:error",
            "--vdev=net_ring0",
            &format!("--file-prefix={prefix}"),
        ];
        let eal = Eal::init(&args).expect("EAL (run as root)");
        let pool = Mempool::create("gen_test", mbufs, 256, dpdk::MBUF_DEFAULT_DATA_ROOM, -1).expect("mempool");
        let port = Port::by_name("net_ring0").expect("net_ring0");
        let conf = PortConf { rx_queues: queues, tx_queues: queues, rss: false, ..PortConf::default() };
        port.configure(&conf, &pool).expect("configure");
        port.start().expect("start");
        Ring { port, pool, _eal: eal, _dir: RuntimeDir(prefix) }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        let _ = self.port.stop();
    }
}

/// 10.0.1.100–199 towards 10.0.2.100:80 through the peer, 300 ms.
pub fn base_config() -> Config {
    Config {
        src_ip: Ipv4Addr::new(10, 0, 1, 100),
        src_count: 100,
        dst_ip: Ipv4Addr::new(10, 0, 2, 100),
        dst_port: 80,
        gw_mac: Some(PEER_MAC),
        duration: Duration::from_millis(300),
        ..Config::default()
    }
}
