//! Katran-style fixtures for FullNAT: input frame → expected output frames, byte for
//! byte. The expected frames come from scapy (fixtures/gen_fullnat.py), written from
//! FullNAT's rules as DPVS applies them (new ISN, TOA and its pruning, the MSS lowered
//! for it, PROXY v1/v2 with its retransmission and standalone segment, SACK edges, ICMP
//! errors both ways, RSTs on expiry) and rvs's own for timestamps (kept, where DPVS NOPs
//! them: the client's TSval shifted onto the director's clock, the server's TSecr shifted
//! back), so sequence arithmetic, option layout and every checksum are checked against
//! an independent implementation.

mod forward_common;

#[path = "fixtures/fullnat_golden.rs"]
mod fullnat_golden;

use std::net::{Ipv4Addr, Ipv6Addr};

use forward_common::{hex, key, lab, lab6, mac, run, Lab, Recorder, VIP6};
use fullnat_golden::*;
use rvs_core::addr::{Addr, Protocol};
use rvs_core::service::{DestSpec, FwdMethod, ProxyProtocol, ServiceKey, ServiceSpec};
use wire::VecBuf;

/// The real server's view of every client ISN (the generator's ISN).
const ISN: u32 = 0xffff_fff0;
/// The services: (protocol, virtual port, TOA, PROXY protocol); real server port +8000.
const SERVICES: [(Protocol, u16, bool, Option<ProxyProtocol>); 5] = [
    (Protocol::Tcp, 90, true, None),
    (Protocol::Tcp, 91, false, None),
    (Protocol::Tcp, 93, false, Some(ProxyProtocol::V1)),
    (Protocol::Tcp, 94, false, Some(ProxyProtocol::V2)),
    (Protocol::Udp, 90, false, None),
];

/// The fixture director with the FullNAT services on `key(proto, port)`, real server
/// `rs`, local address `laddr`, and the fixed ISN.
fn with_fullnat(mut l: Lab, key: impl Fn(Protocol, u16) -> ServiceKey, rs: Addr, laddr: Addr) -> Lab {
    for (proto, port, toa, pp) in SERVICES {
        let k = key(proto, port);
        let mut s = ServiceSpec::new(k);
        s.scheduler = "rr".into();
        s.toa = toa;
        s.proxy_protocol = pp;
        l.cfg.add_service(&s).unwrap();
        l.cfg.add_dest(&k, &DestSpec { fwd: FwdMethod::FullNat, ..DestSpec::new(rs, port + 8000) }).unwrap();
        l.cfg.add_laddr(&k, laddr).unwrap();
    }
    l.dir.set_snapshot(l.cfg.snapshot());
    l.dir.lb.set_fixed_isn(Some(ISN));
    l
}

fn lab4() -> Lab {
    with_fullnat(lab(), key, Addr::from(Ipv4Addr::new(10, 0, 3, 11)), Addr::from(Ipv4Addr::new(10, 0, 3, 200)))
}

fn lab_v6() -> Lab {
    let v6 = |s: &str| Addr::from(s.parse::<Ipv6Addr>().unwrap());
    let key6 = move |proto, port| ServiceKey::Proto { proto, addr: v6(VIP6), port };
    with_fullnat(lab6(), key6, v6("2001:db8:3::11"), v6("2001:db8:3::200"))
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sent(io: &Recorder) -> Vec<(u16, String)> {
    io.tx.iter().map(|(p, f)| (*p, to_hex(f))).collect()
}

/// `input` arrives on `port` (0 wan, 1 lan): exactly the frames `out` leave, in order,
/// out of the other port, and nothing is dropped.
fn step(l: &mut Lab, port: u16, input: &str, out: &[&str]) {
    let io = run(l, port, input);
    assert_eq!(io.drops, vec![], "nothing dropped");
    let want: Vec<(u16, String)> = out.iter().map(|o| (1 - port, o.to_string())).collect();
    assert_eq!(sent(&io), want);
}

/// SYN, SYN-ACK, the handshake's ACK: (client → RS, RS → client, client → RS).
fn handshake(l: &mut Lab, frames: [&str; 6]) {
    step(l, 0, frames[0], &[frames[1]]);
    step(l, 1, frames[2], &[frames[3]]);
    step(l, 0, frames[4], &[frames[5]]);
}

/// The SYN's TSval becomes the director's clock (`run`'s 1,000 ms), the SYN-ACK's and
/// the reply's TSecr come back in the client's clock, the pruned segment's and the later
/// ACK's TSval move by the SYN's offset.
#[test]
fn syn_synack_toa_inserted_and_pruned_and_timestamps_shifted() {
    let mut l = lab4();
    step(&mut l, 0, FNAT_TOA_SYN_IN, &[FNAT_TOA_SYN_OUT]);
    // A retransmitted SYN keeps the connection's ISN.
    step(&mut l, 0, FNAT_TOA_SYN_IN, &[FNAT_TOA_SYN_OUT]);
    step(&mut l, 1, FNAT_TOA_SYNACK_IN, &[FNAT_TOA_SYNACK_OUT]);
    step(&mut l, 0, FNAT_TOA_ACK_IN, &[FNAT_TOA_ACK_OUT]);
    // Again as a NIC delivers it, padded to Ethernet's 60 bytes: the padding goes before
    // the option goes in.
    step(&mut l, 0, &format!("{FNAT_TOA_ACK_IN}000000000000"), &[FNAT_TOA_ACK_OUT]);
    step(&mut l, 0, FNAT_TOA_DATA_IN, &[FNAT_TOA_DATA_OUT]);
    step(&mut l, 0, FNAT_TOA_PRUNE_IN, &[FNAT_TOA_PRUNE_OUT]);
    step(&mut l, 0, FNAT_TOA_EDGE_IN, &[FNAT_TOA_EDGE_OUT]);
    assert_eq!(l.stats.toa_no_room.get(), 0);
    step(&mut l, 0, FNAT_TOA_NOROOM_IN, &[FNAT_TOA_NOROOM_OUT]);
    assert_eq!(l.stats.toa_no_room.get(), 1, "sent without TOA, counted");
    step(&mut l, 1, FNAT_TOA_REPLY_IN, &[FNAT_TOA_REPLY_OUT]);
    step(&mut l, 0, FNAT_TOA_LATER_IN, &[FNAT_TOA_LATER_OUT]);
}

/// Through the director, from the client's side (0) or the real server's (1): the
/// handshake, the client's spoofed TOA NOPed, data, the server's SACK and reply, a
/// router's error about the reply, the server's error about the data.
fn plain(l: &mut Lab, frames: [[&str; 2]; 9]) {
    for (port, [input, out]) in [0, 1, 0, 0, 0, 1, 1, 0, 1].into_iter().zip(frames) {
        step(l, port, input, &[out]);
    }
}

#[test]
fn sack_edges_spoofed_toa_and_icmp_errors_both_ways() {
    plain(
        &mut lab4(),
        [
            [FNAT_SYN_IN, FNAT_SYN_OUT],
            [FNAT_SYNACK_IN, FNAT_SYNACK_OUT],
            [FNAT_ACK_IN, FNAT_ACK_OUT],
            [FNAT_SPOOF_IN, FNAT_SPOOF_OUT],
            [FNAT_DATA_IN, FNAT_DATA_OUT],
            [FNAT_SACK_IN, FNAT_SACK_OUT],
            [FNAT_REPLY_IN, FNAT_REPLY_OUT],
            [FNAT_ROUTER_FRAG_IN, FNAT_ROUTER_FRAG_OUT],
            [FNAT_RS_UNREACH_IN, FNAT_RS_UNREACH_OUT],
        ],
    );
}

#[test]
fn v6_sack_edges_spoofed_toa_and_icmp_errors_both_ways() {
    plain(
        &mut lab_v6(),
        [
            [FNAT6_SYN_IN, FNAT6_SYN_OUT],
            [FNAT6_SYNACK_IN, FNAT6_SYNACK_OUT],
            [FNAT6_ACK_IN, FNAT6_ACK_OUT],
            [FNAT6_SPOOF_IN, FNAT6_SPOOF_OUT],
            [FNAT6_DATA_IN, FNAT6_DATA_OUT],
            [FNAT6_SACK_IN, FNAT6_SACK_OUT],
            [FNAT6_REPLY_IN, FNAT6_REPLY_OUT],
            [FNAT6_ROUTER_FRAG_IN, FNAT6_ROUTER_FRAG_OUT],
            [FNAT6_RS_UNREACH_IN, FNAT6_RS_UNREACH_OUT],
        ],
    );
}

/// PROXY header before the first data byte (and again on its retransmission), later
/// bytes moved by its length, the real server's acks moved back.
fn proxy(l: &mut Lab, hs: [&str; 6], data: [&str; 2], next: [&str; 2], half: [&str; 2], all: [&str; 2]) {
    handshake(l, hs);
    step(l, 0, data[0], &[data[1]]);
    step(l, 0, data[0], &[data[1]]);
    step(l, 0, next[0], &[next[1]]);
    step(l, 1, half[0], &[half[1]]);
    step(l, 1, all[0], &[all[1]]);
}

#[test]
fn proxy_v1_and_its_retransmission() {
    proxy(
        &mut lab4(),
        [FNAT_PP1_SYN_IN, FNAT_PP1_SYN_OUT, FNAT_PP1_SYNACK_IN, FNAT_PP1_SYNACK_OUT, FNAT_PP1_ACK_IN, FNAT_PP1_ACK_OUT],
        [FNAT_PP1_DATA_IN, FNAT_PP1_DATA_OUT],
        [FNAT_PP1_NEXT_IN, FNAT_PP1_NEXT_OUT],
        [FNAT_PP1_HALF_ACK_IN, FNAT_PP1_HALF_ACK_OUT],
        [FNAT_PP1_ACK_ALL_IN, FNAT_PP1_ACK_ALL_OUT],
    );
}

const PP2_HS: [&str; 6] =
    [FNAT_PP2_SYN_IN, FNAT_PP2_SYN_OUT, FNAT_PP2_SYNACK_IN, FNAT_PP2_SYNACK_OUT, FNAT_PP2_ACK_IN, FNAT_PP2_ACK_OUT];

#[test]
fn proxy_v2_and_its_retransmission() {
    proxy(
        &mut lab4(),
        PP2_HS,
        [FNAT_PP2_DATA_IN, FNAT_PP2_DATA_OUT],
        [FNAT_PP2_NEXT_IN, FNAT_PP2_NEXT_OUT],
        [FNAT_PP2_HALF_ACK_IN, FNAT_PP2_HALF_ACK_OUT],
        [FNAT_PP2_ACK_ALL_IN, FNAT_PP2_ACK_ALL_OUT],
    );
}

#[test]
fn proxy_header_in_a_segment_of_its_own_when_the_data_is_full_size() {
    let mut l = lab4();
    handshake(&mut l, PP2_HS);
    step(&mut l, 0, FNAT_PP2_EDGE_IN, &[FNAT_PP2_EDGE_OUT]);
    let mut l = lab4();
    handshake(&mut l, PP2_HS);
    step(&mut l, 0, FNAT_PP2_FULL_IN, &[FNAT_PP2_ALONE_OUT, FNAT_PP2_FULL_OUT]);
    step(&mut l, 0, FNAT_PP2_FULL_IN, &[FNAT_PP2_ALONE_OUT, FNAT_PP2_FULL_OUT]);
    step(&mut l, 1, FNAT_PP2_FULL_ACK_IN, &[FNAT_PP2_FULL_ACK_OUT]);
}

#[test]
fn an_expiring_established_connection_resets_both_ends() {
    let mut l = lab4();
    handshake(&mut l, PP2_HS);
    step(&mut l, 0, FNAT_PP2_DATA_IN, &[FNAT_PP2_DATA_OUT]);
    step(&mut l, 1, FNAT_PP2_SACK_IN, &[FNAT_PP2_SACK_OUT]);
    step(&mut l, 0, FNAT_PP2_CACK_IN, &[FNAT_PP2_CACK_OUT]);
    // Packets came at 1 s; ESTABLISHED lasts 900 s. The timer wheel visits a bounded
    // number of slots per tick, so the clock advances as a worker's would. (The node's
    // neighbour probes go out at the same ticks: only IPv4 frames are the director's.)
    let tick_to = |l: &mut Lab, from: u64, to: u64| {
        let mut io = Recorder::default();
        for t in (from..=to).step_by(1_000) {
            l.dir.tick(t, &mut io);
        }
        sent(&io).into_iter().filter(|(_, f)| &f[24..28] == "0800").collect::<Vec<_>>()
    };
    assert_eq!(tick_to(&mut l, 2_000, 899_000), vec![], "not yet expired");
    assert_eq!(l.dir.lb.conns().len(), 1);
    // The router and the real server answer again (their entries failed unanswered):
    // the RSTs need not wait for resolution.
    for (port, ip, m) in [(0, [10, 0, 2, 1], [0, 0xfe]), (1, [10, 0, 3, 11], [3, 11])] {
        l.dir.node.learn(port, Ipv4Addr::from(ip), mac(m), true, 899_000, &mut Recorder::default());
    }
    let rsts = tick_to(&mut l, 900_000, 903_000);
    assert_eq!(rsts, vec![(0, FNAT_RST_CLIENT.to_string()), (1, FNAT_RST_RS.to_string())]);
    assert_eq!(l.dir.lb.conns().len(), 0);
}

#[test]
fn udp_both_ways_and_the_real_servers_port_unreachable() {
    let mut l = lab4();
    step(&mut l, 0, FNAT_UDP_IN, &[FNAT_UDP_OUT]);
    step(&mut l, 1, FNAT_UDP_REPLY_IN, &[FNAT_UDP_REPLY_OUT]);
    step(&mut l, 1, FNAT_UDP_UNREACH_IN, &[FNAT_UDP_UNREACH_OUT]);
}

/// Timestamps over IPv6, the shifted TSval wrapping past 2^32: the SYN's becomes now,
/// the SYN-ACK's echo comes back, the ACK's (with TOA in front) moves by the same offset.
#[test]
fn v6_syn_synack_toa_and_timestamps_shifted() {
    let mut l = lab_v6();
    handshake(
        &mut l,
        [
            FNAT6_TOA_SYN_IN,
            FNAT6_TOA_SYN_OUT,
            FNAT6_TOA_SYNACK_IN,
            FNAT6_TOA_SYNACK_OUT,
            FNAT6_TOA_ACK_IN,
            FNAT6_TOA_ACK_OUT,
        ],
    );
}

#[test]
fn v6_proxy_v1_and_v2() {
    let mut l = lab_v6();
    handshake(
        &mut l,
        [
            FNAT6_PP1_SYN_IN,
            FNAT6_PP1_SYN_OUT,
            FNAT6_PP1_SYNACK_IN,
            FNAT6_PP1_SYNACK_OUT,
            FNAT6_PP1_ACK_IN,
            FNAT6_PP1_ACK_OUT,
        ],
    );
    step(&mut l, 0, FNAT6_PP1_DATA_IN, &[FNAT6_PP1_DATA_OUT]);
    step(&mut l, 1, FNAT6_PP1_ACK_ALL_IN, &[FNAT6_PP1_ACK_ALL_OUT]);
    // :94's real server port is another group of the local address's ports (DPVS
    // sa_pool), whose ring starts at 1025 too.
    handshake(
        &mut l,
        [
            FNAT6_PP2_SYN_IN,
            FNAT6_PP2_SYN_OUT,
            FNAT6_PP2_SYNACK_IN,
            FNAT6_PP2_SYNACK_OUT,
            FNAT6_PP2_ACK_IN,
            FNAT6_PP2_ACK_OUT,
        ],
    );
    step(&mut l, 0, FNAT6_PP2_DATA_IN, &[FNAT6_PP2_DATA_OUT]);
    step(&mut l, 1, FNAT6_PP2_ACK_ALL_IN, &[FNAT6_PP2_ACK_ALL_OUT]);
}

/// Malformed FullNAT input never panics the director: the golden inputs truncated and
/// with bytes flipped, mid-connection, both ports, with timer ticks between.
#[test]
fn mutated_fullnat_frames_never_panic() {
    let seeds = [
        FNAT_TOA_SYN_IN,
        FNAT_TOA_SYNACK_IN,
        FNAT_TOA_PRUNE_IN,
        FNAT_SACK_IN,
        FNAT_ROUTER_FRAG_IN,
        FNAT_RS_UNREACH_IN,
        FNAT_PP2_DATA_IN,
        FNAT_PP2_FULL_IN,
        FNAT_UDP_UNREACH_IN,
    ];
    let mut l = lab4();
    let mut io = Recorder::default();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..20_000u64 {
        let mut f = hex(seeds[(i as usize) % seeds.len()]);
        let r = next();
        if r & 3 == 0 {
            f.truncate((r >> 8) as usize % (f.len() + 1));
        }
        for _ in 0..(r >> 16) % 4 {
            let at = next() as usize % f.len().max(1);
            if let Some(b) = f.get_mut(at) {
                *b ^= (next() >> 24) as u8 | 1;
            }
        }
        l.dir.input((r >> 40) as u16 & 1, VecBuf::from_slice(&f), 1_000 + i, r & 0x100 != 0, &mut io);
        if i % 1000 == 0 {
            l.dir.tick(1_000 + i * 100, &mut io);
        }
    }
    assert!(!io.drops.is_empty() && !io.tx.is_empty(), "mutations both forwarded and dropped");
}
