//! Writes the `director` target's seed corpus: record sequences (see
//! `common/director.rs`) built from the scapy golden frames of the forwarding tests,
//! plus a few frames derived from them (other service ports, ARP, NDP).
//!
//! `cargo run --example director_seeds [DIR]` (default `corpus/director`).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

#[path = "../common/director.rs"]
mod director;
#[allow(dead_code)]
#[path = "../../crates/core/tests/fixtures/forward_golden.rs"]
mod golden;

use director::encode;
use golden::*;
use wire::checksum;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// A record's control byte: port, worker, redirected, clock step (index into
/// `STEPS_MS`), tick first.
fn ctl(port: u8, worker: u8, redirected: bool, step: u8, tick: bool) -> u8 {
    port | worker << 1 | u8::from(redirected) << 2 | step << 3 | u8::from(tick) << 6
}

/// A frame on the wan (port 0) of worker 0, 1 ms after the previous record.
const WAN: u8 = 1 << 3;
/// The same on the lan (port 1).
const LAN: u8 = 1 | 1 << 3;
const ALLOC_FAILS: u8 = 0x80;

/// Recomputes the TCP or UDP checksum of an untagged IPv4 / IPv6 frame without
/// extension headers.
fn fix_l4(f: &mut [u8]) {
    let (proto, l4, pseudo) = match u16::from_be_bytes([f[12], f[13]]) {
        0x0800 => {
            let ihl = usize::from(f[14] & 15) * 4;
            let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
            let (src, dst) = (
                Ipv4Addr::from(<[u8; 4]>::try_from(&f[26..30]).unwrap()),
                Ipv4Addr::from(<[u8; 4]>::try_from(&f[30..34]).unwrap()),
            );
            let l4 = 14 + ihl..14 + total;
            (f[23], l4.clone(), checksum::pseudo_header_v4(&src, &dst, f[23], l4.len() as u32))
        }
        _ => {
            let plen = usize::from(u16::from_be_bytes([f[18], f[19]]));
            let src = Ipv6Addr::from(<[u8; 16]>::try_from(&f[22..38]).unwrap());
            let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&f[38..54]).unwrap());
            (f[20], 54..54 + plen, checksum::pseudo_header_v6(&src, &dst, f[20], plen as u32))
        }
    };
    let at = l4.start
        + match proto {
            6 => 16,
            17 => 6,
            58 => 2,
            p => panic!("protocol {p}"),
        };
    f[at..at + 2].copy_from_slice(&[0, 0]);
    let sum = !checksum::combine(&[pseudo, checksum::data(&f[l4])]);
    f[at..at + 2].copy_from_slice(&sum.to_be_bytes());
}

fn l4_offset(f: &[u8]) -> usize {
    if f[12] == 0x08 {
        14 + usize::from(f[14] & 15) * 4
    } else {
        54
    }
}

/// A golden frame with another source and destination port.
fn ports(frame: &str, sport: u16, dport: u16) -> Vec<u8> {
    let mut f = hex(frame);
    let at = l4_offset(&f);
    f[at..at + 2].copy_from_slice(&sport.to_be_bytes());
    f[at + 2..at + 4].copy_from_slice(&dport.to_be_bytes());
    fix_l4(&mut f);
    f
}

fn arp(op: u16, eth_dst: [u8; 6], sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&eth_dst);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    for part in [&sha[..], &spa[..], &tha[..], &tpa[..]] {
        f.extend_from_slice(part);
    }
    f
}

/// A solicited neighbour advertisement from `ip` (MAC `m`) to the lan port's address.
fn na(ip: &str, m: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&director::mac([1, 1]).0);
    f.extend_from_slice(&m);
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 32, 58, 255]);
    f.extend_from_slice(&ip.parse::<Ipv6Addr>().unwrap().octets());
    f.extend_from_slice(&"2001:db8:3::1".parse::<Ipv6Addr>().unwrap().octets());
    f.extend_from_slice(&[136, 0, 0, 0, 0x60, 0, 0, 0]);
    f.extend_from_slice(&ip.parse::<Ipv6Addr>().unwrap().octets());
    f.extend_from_slice(&[2, 1]);
    f.extend_from_slice(&m);
    fix_l4(&mut f);
    f
}

/// A record: its control byte and frame (empty: a control request).
type Record = (u8, Vec<u8>);

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus/director".into()));
    std::fs::create_dir_all(&dir).unwrap();
    let gw = [2, 0, 0, 0, 0, 0xfe];
    let wan_mac = director::mac([0, 1]).0;
    let lan_mac = director::mac([1, 1]).0;
    let rs13 = [2, 0, 0, 0, 3, 13];
    let h = |s: &str| hex(s);

    let seeds: Vec<(&str, Vec<Record>)> = vec![
        ("v4-nat-syn-synack", vec![(WAN, h(NAT_SYN_IN)), (LAN, h(NAT_SYNACK_IN)), (LAN | 2, h(NAT_SYNACK_IN))]),
        (
            "v4-nat-two-workers",
            vec![
                (WAN, h(NAT_SYN_IN)),
                (WAN | 2, h(NAT_SYN2_IN)),
                (LAN | 2, h(NAT_SYNACK_IN)),
                (LAN | 4, h(NAT_SYNACK_IN)),
            ],
        ),
        (
            "v4-nat-icmp-frag-needed",
            vec![(WAN, h(NAT_SYN_IN)), (WAN, h(ROUTER_FRAG_NAT_IN)), (WAN | 2, h(ROUTER_FRAG_NAT_CORRUPT_IN))],
        ),
        ("v4-dr-icmp", vec![(WAN, h(DR_SYN_IN)), (WAN | 2, h(ROUTER_FRAG_DR_IN))]),
        ("v4-tun-big-df", vec![(WAN, h(TUN_SYN_IN)), (WAN, h(TUN_BIG_DF_IN))]),
        ("v4-udp-rs-unreach", vec![(WAN, h(UDP_IN)), (LAN, h(RS_UNREACH_IN))]),
        ("v4-nodest", vec![(WAN, h(NODEST_IN))]),
        ("v4-ttl1", vec![(WAN, h(TTL1_SYN_IN)), (WAN, h(NAT_SYN_IN)), (LAN, h(TTL1_SYNACK_IN))]),
        (
            "v4-frags",
            vec![
                (WAN, h(FRAG0_IN)),
                (WAN, h(FRAG1_IN)),
                (WAN, h(FRAG2_IN)),
                (LAN, h(FRAG_REPLY0_IN)),
                (LAN, h(FRAG_REPLY1_IN)),
                (LAN, h(FRAG_REPLY2_IN)),
            ],
        ),
        (
            "v4-frags-reordered-expired",
            vec![
                (WAN, h(FRAG2_IN)),
                (WAN | 2, h(FRAG1_IN)),
                (WAN, h(FRAG0_IN)),
                (ctl(0, 0, false, 5, true), h(FRAG2_IN)),
                (ctl(0, 0, false, 6, true), h(FRAG1_IN)),
            ],
        ),
        ("v4-ack-no-conn", vec![(WAN, h(NAT_ACK_NOCONN)), (WAN | 2, h(NAT_ACK_NOCONN))]),
        (
            "v4-nat-expired",
            vec![
                // TCP timeouts of 2 s on both workers, then 20 s of ticks.
                (ctl(0, 0, false, 3, false), Vec::new()),
                (ctl(0, 1, false, 3, false), Vec::new()),
                (WAN, h(NAT_SYN_IN)),
                (ctl(0, 0, false, 7, false), Vec::new()),
                (ctl(0, 0, false, 7, false), Vec::new()),
                (LAN, h(NAT_SYNACK_IN)),
                (ctl(0, 0, false, 4, false), Vec::new()),
                (ctl(0, 1, false, 4, false), Vec::new()),
            ],
        ),
        (
            "v4-persistent-unresolved-arp",
            vec![
                (WAN, ports(NAT_SYN_IN, 40000, 443)),
                (WAN, ports(NAT_SYN_IN, 40001, 443)),
                (WAN | 2, ports(NAT_SYN_IN, 40002, 443)),
                (LAN, arp(2, lan_mac, rs13, [10, 0, 3, 13], lan_mac, [10, 0, 3, 1])),
                (ctl(1, 0, false, 4, true), ports(NAT_SYN_IN, 40003, 443)),
            ],
        ),
        (
            "v4-persistent-dr-tun-allports",
            vec![
                (WAN, ports(DR_SYN_IN, 40000, 444)),
                (WAN, ports(DR_SYN_IN, 40001, 444)),
                (WAN, ports(UDP_IN, 3311, 7)),
                (WAN | 2, ports(UDP_IN, 3312, 9)),
            ],
        ),
        (
            "v4-one-packet",
            vec![(WAN, ports(UDP_IN, 3311, 54)), (WAN, ports(UDP_IN, 3311, 54)), (WAN | 2, ports(UDP_IN, 3312, 54))],
        ),
        (
            "v4-arp",
            vec![
                (WAN, arp(1, [0xff; 6], gw, [10, 0, 2, 1], [0; 6], [10, 0, 2, 100])),
                (LAN, arp(1, [0xff; 6], [2, 0, 0, 0, 3, 11], [10, 0, 3, 11], [0; 6], [10, 0, 3, 1])),
                (WAN | 2, arp(2, wan_mac, gw, [10, 0, 2, 1], wan_mac, [10, 0, 2, 2])),
            ],
        ),
        (
            "v6-nat-syn-synack-ptb",
            vec![(WAN, h(V6_NAT_SYN_IN)), (LAN, h(V6_NAT_SYNACK_IN)), (WAN | 2, h(V6_ROUTER_PTB_NAT_IN))],
        ),
        ("v6-dr", vec![(WAN, h(V6_DR_SYN_IN)), (WAN | 2, h(V6_DR_SYN_IN))]),
        ("v6-tun-big", vec![(WAN, h(V6_TUN_SYN_IN)), (WAN, h(V6_TUN_BIG_IN))]),
        ("v6-udp-rs-unreach", vec![(WAN, h(V6_UDP_IN)), (LAN, h(V6_RS_UNREACH_IN))]),
        ("v6-nodest", vec![(WAN, h(V6_NODEST_IN))]),
        ("v6-ndp-echo", vec![(WAN, h(V6_NS_VIP_IN)), (WAN | 2, h(V6_ECHO_IN))]),
        (
            "v6-persistent-unresolved-ndp",
            vec![
                (WAN, ports(V6_NAT_SYN_IN, 40000, 443)),
                (WAN, ports(V6_NAT_SYN_IN, 40001, 443)),
                (LAN | 2, na("2001:db8:3::13", rs13)),
                (ctl(1, 0, false, 4, true), ports(V6_NAT_SYN_IN, 40002, 443)),
            ],
        ),
        (
            "v6-persistent-dr-tun-allports",
            vec![
                (WAN, ports(V6_DR_SYN_IN, 40000, 444)),
                (WAN, ports(V6_DR_SYN_IN, 40001, 444)),
                (WAN, ports(V6_UDP_IN, 3311, 7)),
            ],
        ),
        ("v6-one-packet", vec![(WAN, ports(V6_UDP_IN, 3311, 54)), (WAN | 2, ports(V6_UDP_IN, 3311, 54))]),
        (
            "control-list-timeouts",
            vec![
                (WAN, h(NAT_SYN_IN)),
                (WAN, h(V6_NAT_SYN_IN)),
                (ctl(0, 0, false, 0, false), Vec::new()),
                (ctl(0, 0, false, 0, true), Vec::new()),
                (ctl(0, 1, false, 2, true), Vec::new()),
                (ctl(0, 0, false, 3, false), Vec::new()),
                (ctl(0, 0, false, 4, true), h(UDP_IN)),
                (ctl(0, 0, false, 6, false), Vec::new()),
                (ctl(0, 0, false, 4, false), Vec::new()),
                (ctl(0, 1, false, 5, false), Vec::new()),
            ],
        ),
        (
            "alloc-fails",
            vec![
                (WAN | ALLOC_FAILS, h(NODEST_IN)),
                (WAN | ALLOC_FAILS, h(TTL1_SYN_IN)),
                (WAN | ALLOC_FAILS, h(V6_NS_VIP_IN)),
                (WAN | ALLOC_FAILS, h(V6_NODEST_IN)),
                (WAN | ALLOC_FAILS, h(TUN_BIG_DF_IN)),
                (WAN | ALLOC_FAILS, ports(NAT_SYN_IN, 40010, 443)),
            ],
        ),
    ];
    for (name, records) in &seeds {
        let mut input = Vec::new();
        for (c, frame) in records {
            encode(&mut input, *c, frame);
        }
        assert!(input.len() <= 4096, "{name}: {} bytes is over -max_len", input.len());
        std::fs::write(dir.join(format!("seed-{name}")), input).unwrap();
    }
    // Every input runs on the same lab: check the seeds do not panic, in order.
    let mut lab = director::Lab::new();
    for (name, records) in &seeds {
        let before = lab.sent;
        lab.run(&std::fs::read(dir.join(format!("seed-{name}"))).unwrap());
        println!("seed-{name}: {} records, {} frames sent", records.len(), lab.sent - before);
    }
    println!("{} seeds in {}", seeds.len(), dir.display());
}
