//! rvs-gen's engine (crates/gen) in the bench's harness, in generator 0's place: its
//! flows and connect cases, and their table beside the bench's own generator.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dpdk::{lcore, Burst, RxQueue, TxQueue};
use rvs_benches::topo::{LAN, PEER_MAC, RS, WAN};
use rvs_benches::{num, object, string};
use wire::{EthernetAddress, PacketBuf};

use crate::generator::{Gen, GEN_IDLE_SLEEP_US};
use crate::measure::{total_drops, CaseResult};
use crate::workers::{gen_lcore, start_workers, stop_workers, Setup};
use crate::{selected, Mode, ACK, FIN, IN_FLIGHT, SYN};

/// rvs-gen's engine (crates/gen, open loop: allocates, sends as fast as the ring takes
/// them, frees what comes back) in generator 0's place, on its queues and lcore, against
/// one fresh worker (or the io-forward bypass): `flows` TCP flows from 11.0.0.0/8 to
/// `mode`'s VIP (a SYN per flow, then ACK|PSH, 64-byte frames). Returns its report and
/// the worker's drops.
fn rvs_gen_case(s: &Setup, gens: &mut [Gen], mode: Mode, flows: u32, bypass: bool) -> (rvs_gen::Report, u64) {
    let hz = lcore::tsc_hz() as f64;
    let secs: f64 = std::env::var("RVS_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.5);
    let w = start_workers(s, &s.snapshot, 1, 1 << 14, bypass);
    let ready = lcore::tsc() + (60.0 * hz) as u64;
    while w.stats.iter().any(|st| st.conn_capacity.get() == 0 || st.neighbours.get() < 3)
        && !bypass
        && lcore::tsc() < ready
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let g = &mut gens[0];
    let mut txs = std::mem::take(&mut g.tx);
    let tx = txs.remove(usize::from(WAN));
    let mut io = rvs_gen::Io {
        tx,
        rx: std::mem::take(&mut g.rx).into_iter().map(|(_, q)| q).collect(),
        pool: s.pool.clone(),
        mac: PEER_MAC[0],
    };
    let cfg = rvs_gen::Config {
        mode: rvs_gen::Mode::Flows,
        src_ip: Ipv4Addr::new(11, 0, 0, 1),
        src_count: flows,
        src_port: 10_000,
        port_count: 1,
        dst_ip: mode.vip(),
        dst_port: mode.vport(),
        gw_mac: Some(s.macs[usize::from(WAN)]),
        duration: std::time::Duration::from_secs_f64(secs),
        frame_size: 64,
        flows,
        drain: std::time::Duration::from_millis(50),
        ..rvs_gen::Config::default()
    };
    let stop = AtomicBool::new(false);
    let drops0 = total_drops(&w.stats);
    let report = rvs_gen::run(&cfg, &mut io, &stop).expect("rvs-gen run");
    let drops = total_drops(&w.stats) - drops0;
    txs.insert(usize::from(WAN), io.tx);
    g.tx = txs;
    g.rx = io.rx.into_iter().enumerate().map(|(i, q)| (i as u16, q)).collect();
    stop_workers(w, s, &mut gens[..1]);
    (report, drops)
}

/// A real server's TCP in a few lines, for rvs-gen's connect case: on the lan port, a
/// SYN gets a SYN-ACK and a FIN a FIN-ACK (from the real server the worker chose, back
/// into the worker); ACKs are dropped. Runs until `stop`.
fn responder(
    mut rx: RxQueue,
    mut tx: TxQueue,
    worker_mac: EthernetAddress,
    stop: Arc<AtomicBool>,
) -> (RxQueue, TxQueue) {
    use rvs_gen::packet::{parse, tcp_len, write_tcp, Rx, Seg};
    let mut b = Burst::new();
    let mut out = Burst::new();
    while !stop.load(Ordering::Relaxed) {
        if rx.rx_burst(&mut b) == 0 {
            // It shares generator 0's CPU: let it run.
            std::thread::sleep(std::time::Duration::from_micros(GEN_IDLE_SLEEP_US));
            continue;
        }
        for mut m in b.drain(..) {
            let Rx::Tcp(t) = parse(m.data()) else { continue };
            let syn = t.flags & SYN != 0 && t.flags & ACK == 0;
            if !syn && t.flags & FIN == 0 {
                continue;
            }
            let k = RS.iter().position(|a| *a == t.dst).unwrap_or(0);
            let eth = wire::EthernetRepr { src_addr: PEER_MAC[1 + k], dst_addr: worker_mac, ethertype: 0x0800 };
            let seg = Seg {
                src: t.dst,
                dst: t.src,
                sport: t.dport,
                dport: t.sport,
                seq: if syn { t.seq.rotate_left(7) } else { t.ack },
                ack: t.seq.wrapping_add(t.payload_len).wrapping_add(1),
                flags: if syn { SYN | ACK } else { FIN | ACK },
                mss: false,
                data: b"",
                fill: 0,
            };
            let len = m.len();
            m.trim(len);
            if m.append(tcp_len(&seg)).is_some_and(|buf| write_tcp(buf, &eth, &seg)) {
                out.push(m);
            }
        }
        while !out.is_empty() && !stop.load(Ordering::Relaxed) {
            tx.tx_burst(&mut out);
        }
        dpdk::free_burst(&mut out);
    }
    (rx, tx)
}

/// rvs-gen's connect mode (rate 0, 480 connections open at most: up to 960 packets in
/// flight, as the bench's generator keeps) from the wan queues through a fresh NAT worker
/// to [`responder`] on lcore 2 with the lan queues.
fn rvs_gen_connect(s: &Setup, gens: &mut [Gen]) -> (rvs_gen::Report, u64) {
    let secs: f64 = std::env::var("RVS_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.5);
    let w = start_workers(s, &s.snapshot, 1, rvs_core::conn::MAX_ENTRIES, false);
    let hz = lcore::tsc_hz() as f64;
    let ready = lcore::tsc() + (60.0 * hz) as u64;
    while w.stats.iter().any(|st| st.conn_capacity.get() == 0 || st.neighbours.get() < 3) && lcore::tsc() < ready {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let g = &mut gens[0];
    let mut txs = std::mem::take(&mut g.tx);
    let mut rxs: Vec<RxQueue> = std::mem::take(&mut g.rx).into_iter().map(|(_, q)| q).collect();
    let (lan_tx, lan_rx) = (txs.remove(usize::from(LAN)), rxs.remove(usize::from(LAN)));
    let (wan_tx, wan_rx) = (txs.remove(usize::from(WAN)), rxs.remove(usize::from(WAN)));
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = crossbeam::channel::bounded(1);
    let (st, lan_mac) = (stop.clone(), s.macs[usize::from(LAN)]);
    lcore::launch(gen_lcore(1), move || {
        let _ = done_tx.send(responder(lan_rx, lan_tx, lan_mac, st));
        0
    })
    .expect("launch responder");
    let mut io = rvs_gen::Io { tx: wan_tx, rx: vec![wan_rx], pool: s.pool.clone(), mac: PEER_MAC[0] };
    let cfg = rvs_gen::Config {
        mode: rvs_gen::Mode::Connect,
        src_ip: Ipv4Addr::new(11, 0, 0, 1),
        src_count: 4096,
        src_port: 1024,
        port_count: 64000,
        dst_ip: Mode::Nat.vip(),
        dst_port: 80,
        gw_mac: Some(s.macs[usize::from(WAN)]),
        duration: std::time::Duration::from_secs_f64(secs),
        // Each connection has up to two packets in flight (its ACK and FIN): half the
        // bench's in-flight count keeps every net_ring ring below its 1023 slots.
        max_open: IN_FLIGHT as u32 / 2,
        conn_timeout: std::time::Duration::from_millis(500),
        idle_sleep_us: GEN_IDLE_SLEEP_US,
        ..rvs_gen::Config::default()
    };
    let drops0 = total_drops(&w.stats);
    let report = rvs_gen::run(&cfg, &mut io, &AtomicBool::new(false)).expect("rvs-gen connect");
    let drops = total_drops(&w.stats) - drops0;
    stop.store(true, Ordering::Relaxed);
    let (lan_rx, lan_tx) = done_rx.recv().expect("responder");
    lcore::wait(gen_lcore(1));
    txs.insert(usize::from(WAN), io.tx);
    txs.insert(usize::from(LAN), lan_tx);
    g.tx = txs;
    let mut rx = io.rx;
    rx.push(lan_rx);
    g.rx = rx.into_iter().enumerate().map(|(i, q)| (i as u16, q)).collect();
    stop_workers(w, s, &mut gens[..1]);
    (report, drops)
}

/// rvs-gen's flows cases in the same harness, beside the bench's generator (one worker):
/// each beside what the bench's generator measured for the same case in `rows`.
pub(crate) fn beside(
    s: &Setup,
    gens: &mut [Gen],
    workers: usize,
    rows: &[CaseResult],
) -> Vec<(String, rvs_gen::Report, u64, f64)> {
    let mut gen_rows: Vec<(String, rvs_gen::Report, u64, f64)> = Vec::new();
    if workers == 1 && selected("rvs-gen") {
        let bench_of =
            |rows: &[CaseResult], case: &str| rows.iter().find(|r| r.case == case).map_or(f64::NAN, |r| r.mpps);
        for (mode, bypass, theirs) in [
            (Mode::Nat, true, "io-forward baseline (first)"),
            (Mode::Nat, false, "established nat 1k"),
            (Mode::Dr, false, "established dr 1k"),
        ] {
            let (r, drops) = rvs_gen_case(s, gens, mode, 1000, bypass);
            let label = if bypass { "rvs-gen io-forward".to_string() } else { format!("rvs-gen {}", theirs) };
            let bench = bench_of(rows, theirs);
            println!(
                "  {label}: sent {:.2} Mpps, back {:.2} Mpps (worker drops {drops}); bench generator ({theirs}) {:.2} Mpps; ratio {:.2}",
                r.sent_mpps,
                r.received_mpps,
                bench,
                r.received_mpps / bench
            );
            gen_rows.push((label, r, drops, bench));
        }
    }
    gen_rows
}

/// rvs-gen's connect case (one worker), beside the bench's "new connections nat" in `rows`.
pub(crate) fn connect(
    s: &Setup,
    gens: &mut [Gen],
    workers: usize,
    rows: &[CaseResult],
) -> Option<(rvs_gen::Report, f64)> {
    let mut gen_connect: Option<(rvs_gen::Report, f64)> = None;
    if workers == 1 && selected("rvs-gen connect") {
        let (r, drops) = rvs_gen_connect(s, gens);
        let bench = rows.iter().find(|r| r.case == "new connections nat").and_then(|r| r.cps).unwrap_or(f64::NAN);
        if let Some(c) = &r.conn {
            println!(
                "  rvs-gen connect nat: {:.0} conn/s completed (attempted {}, reset {}, timeouts {}; worker drops {drops}, rvs-gen no mbuf {} tx full {}), SYN -> SYN-ACK p50 {:.1} us p99 {:.1} us p99.9 {:.1} us; bench generator (new connections nat) {bench:.0} conn/s; ratio {:.2}",
                c.cps,
                c.attempted,
                c.reset,
                c.timeouts,
                r.no_mbuf,
                r.tx_full,
                c.syn_ack_us.p50,
                c.syn_ack_us.p99,
                c.syn_ack_us.p999,
                c.cps / bench
            );
        }
        gen_connect = Some((r, bench));
    }
    gen_connect
}

/// rvs-gen's table beside the bench's generator; returns its JSON items.
pub(crate) fn table(
    gen_rows: &[(String, rvs_gen::Report, u64, f64)],
    gen_connect: &Option<(rvs_gen::Report, f64)>,
) -> Vec<String> {
    if !gen_rows.is_empty() || gen_connect.is_some() {
        println!();
        println!("rvs-gen (crates/gen engine, open loop, 1000 flows, 64-byte frames) beside the bench's generator, same harness and worker:");
        println!(
            "  {:<36} {:>10} {:>10} {:>12} {:>12} {:>7}",
            "case", "sent Mpps", "back Mpps", "worker drops", "bench Mpps", "ratio"
        );
        for (label, r, drops, bench) in gen_rows {
            println!(
                "  {label:<36} {:>10.2} {:>10.2} {drops:>12} {bench:>12.2} {:>6.2}x",
                r.sent_mpps,
                r.received_mpps,
                r.received_mpps / bench
            );
        }
    }
    if let Some((r, bench)) = gen_connect {
        if let Some(c) = &r.conn {
            let p = &c.syn_ack_us;
            println!(
                "  {:<36} {:>10.0} conn/s, bench generator {bench:.0} conn/s, ratio {:.2}x; SYN -> SYN-ACK p50 {:.1} p90 {:.1} p99 {:.1} p99.9 {:.1} us; reset {} timeouts {}",
                "rvs-gen connect nat (SYN..ACK, 6 pkts)",
                c.cps,
                c.cps / bench,
                p.p50,
                p.p90,
                p.p99,
                p.p999,
                c.reset,
                c.timeouts
            );
        }
    }
    let mut gen_items: Vec<String> = gen_rows
        .iter()
        .map(|(label, r, drops, bench)| {
            object(&[
                ("case", string(label)),
                ("sent_mpps", num(r.sent_mpps)),
                ("received_mpps", num(r.received_mpps)),
                ("worker_drops", drops.to_string()),
                ("bench_generator_mpps", num(*bench)),
                ("ratio", num(r.received_mpps / bench)),
            ])
        })
        .collect();
    if let Some((r, bench)) = gen_connect {
        let c = r.conn.unwrap_or_default();
        gen_items.push(object(&[
            ("case", string("rvs-gen connect nat")),
            ("cps", num(c.cps)),
            ("bench_generator_cps", num(*bench)),
            ("ratio", num(c.cps / bench)),
            ("syn_ack_p50_us", num(c.syn_ack_us.p50)),
            ("syn_ack_p99_us", num(c.syn_ack_us.p99)),
            ("syn_ack_p999_us", num(c.syn_ack_us.p999)),
            ("reset", c.reset.to_string()),
            ("timeouts", c.timeouts.to_string()),
        ]));
    }
    gen_items
}
