//! Katran-style fixtures for the SYN proxy: input frame → expected output frames, byte
//! for byte. The expected frames come from scapy (fixtures/gen_synproxy.py), whose
//! cookies come from its own SipHash-1-3 and the formula in synproxy/cookie.rs: the cookie
//! SYN-ACK for every MSS, window scale, SACK and timestamp combination and the server SYN
//! its ACK opens; stale, forged and mismatched cookies reset; held segments released
//! translated; later segments' seq/ack/SACK/timestamps/window; the server's RST; the
//! SYN's retransmission and give-up. NAT and FullNAT (whose timestamps offset onto the
//! director's clock stacks with the proxy's).

mod forward_common;

#[path = "fixtures/synproxy_golden.rs"]
mod synproxy_golden;

use std::net::Ipv4Addr;

use forward_common::{hex, key, lab, mac, Lab, Recorder};
use rvs_core::addr::{Addr, Protocol};
use rvs_core::forward::synproxy::cookie::CookieKeys;
use rvs_core::service::{FwdMethod, ServiceSpec};
use synproxy_golden::*;
use wire::{Ipv4Packet, TcpPacket, VecBuf};

/// The generator's key, 00..0f.
static KEYS: CookieKeys = CookieKeys::fixed([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
/// FullNAT's ISN towards the real server (the generator's FISN).
const FISN: u32 = 0x4000_0000;

/// The fixture director with SYN-proxied TCP :95 (NAT to 10.0.3.11:8095) and :96
/// (FullNAT to 10.0.3.11:8096 from 10.0.3.200), fixed keys, neighbours fresh at `NOW`.
fn lab_sp() -> Lab {
    let mut l = lab();
    for (port, fwd) in [(95, FwdMethod::Masq), (96, FwdMethod::FullNat)] {
        let k = key(Protocol::Tcp, port);
        let mut s = ServiceSpec::new(k);
        s.scheduler = "rr".into();
        s.synproxy = true;
        l.cfg.add_service(&s).unwrap();
        l.cfg.add_dest(&k, &forward_common::dest([10, 0, 3, 11], port + 8000, fwd)).unwrap();
        if fwd == FwdMethod::FullNat {
            l.cfg.add_laddr(&k, Addr::v4([10, 0, 3, 200])).unwrap();
        }
    }
    l.dir.set_snapshot(l.cfg.snapshot());
    l.dir.lb.set_cookie_keys(&KEYS);
    l.dir.lb.set_fixed_isn(Some(FISN));
    for (port, ip, m) in [(0, [10, 0, 2, 1], [0, 0xfe]), (1, [10, 0, 3, 11], [3, 11])] {
        l.dir.node.learn(port, Ipv4Addr::from(ip), mac(m), true, NOW, &mut Recorder::default());
    }
    l
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sent(io: &Recorder) -> Vec<(u16, String)> {
    io.tx.iter().map(|(p, f)| (*p, to_hex(f))).collect()
}

fn input_at(l: &mut Lab, port: u16, frame: &[u8], now: u64) -> Recorder {
    let mut io = Recorder::default();
    l.dir.input(port, VecBuf::from_slice(frame), now, false, &mut io);
    io
}

/// `input` arrives on `port` at `now`: exactly `out` leave (port, frame), in order, and
/// nothing is dropped.
fn step_at(l: &mut Lab, port: u16, input: &str, now: u64, out: &[(u16, &str)]) {
    let io = input_at(l, port, &hex(input), now);
    assert_eq!(io.drops, vec![], "nothing dropped");
    let want: Vec<(u16, String)> = out.iter().map(|(p, o)| (*p, o.to_string())).collect();
    assert_eq!(sent(&io), want);
}

/// The director's IPv4 frames of ticks at `times` (the node's ARP probes left out).
fn ticks(l: &mut Lab, times: impl IntoIterator<Item = u64>) -> Vec<(u16, String)> {
    let mut io = Recorder::default();
    for t in times {
        l.dir.tick(t, &mut io);
    }
    sent(&io).into_iter().filter(|(_, f)| &f[24..28] == "0800").collect()
}

/// A TCP segment client → VIP as the matrix rows describe it (checksums by `wire`).
fn client_seg(sport: u16, seq: u32, ack: u32, flags: u8, opts: &[u8]) -> Vec<u8> {
    let total = 40 + opts.len();
    let mut f = vec![0u8; 14 + total];
    f[..14].copy_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0xfe, 8, 0]);
    let (src, dst) = (Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(10, 0, 2, 100));
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = !wire::checksum::data(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut t = TcpPacket::new_unchecked(&mut f[34..]);
    t.set_src_port(sport);
    t.set_dst_port(95);
    t.set_seq_number(seq);
    t.set_ack_number(ack);
    t.set_header_len(20 + opts.len());
    t.set_flags(flags);
    t.set_window_len(if flags & wire::tcp_flags::SYN != 0 { 64240 } else { 502 });
    t.options_mut().copy_from_slice(opts);
    t.fill_checksum(&src, &dst);
    f
}

/// The options of a matrix row's SYN (or, with `ts` its (TSval, TSecr), its ACK's
/// timestamps alone).
fn syn_opts(mss: Option<u16>, ws: Option<u8>, sack: bool, ts: Option<(u32, u32)>) -> Vec<u8> {
    let mut o = Vec::new();
    if let Some(m) = mss {
        o.extend([2, 4]);
        o.extend(m.to_be_bytes());
    }
    match (sack, ts) {
        (true, Some(_)) => o.extend([4, 2, 8, 10]),
        (false, Some(_)) => o.extend([1, 1, 8, 10]),
        (true, None) => o.extend([1, 1, 4, 2]),
        (false, None) => {}
    }
    if let Some((v, e)) = ts {
        o.extend(v.to_be_bytes());
        o.extend(e.to_be_bytes());
    }
    if let Some(w) = ws {
        o.extend([1, 3, 3, w]);
    }
    o
}

fn tsval(frame: &str) -> u32 {
    let f = hex(frame);
    let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
    let t = TcpPacket::new_checked(ip.payload()).unwrap();
    t.options_iter()
        .filter_map(Result::ok)
        .find_map(|o| if let wire::TcpOption::Timestamps { tsval, .. } = o { Some(tsval) } else { None })
        .unwrap()
}

#[test]
fn cookie_synack_for_every_mss_window_scale_sack_and_timestamps() {
    let mut l = lab_sp();
    for &(mss, ws, sack, ts, sport, isn, tsv, cookie, synack, rs_syn) in MATRIX {
        let row = format!("mss {mss:?} ws {ws:?} sack {sack} ts {ts}");
        let syn = client_seg(sport, isn, 0, wire::tcp_flags::SYN, &syn_opts(mss, ws, sack, ts.then_some((tsv, 0))));
        let io = input_at(&mut l, 0, &syn, NOW);
        assert_eq!(sent(&io), vec![(0, synack.to_string())], "{row}");
        let Some(rs_syn) = rs_syn else { continue };
        // The ACK echoes the cookie SYN-ACK's TSval; the cookie gives back what the SYN
        // asked for, and the server's SYN carries it.
        let echo = ts.then(|| (tsv + 1, tsval(synack)));
        let opts = echo.map(|t| syn_opts(None, None, false, Some(t))).unwrap_or_default();
        let ack = client_seg(sport, isn.wrapping_add(1), cookie.wrapping_add(1), wire::tcp_flags::ACK, &opts);
        let io = input_at(&mut l, 0, &ack, NOW + 59_000);
        assert_eq!(sent(&io), vec![(1, rs_syn.to_string())], "{row}");
    }
    let sp = &l.stats.synproxy;
    assert_eq!(sp.cookies_sent.get(), MATRIX.len() as u64);
    assert_eq!((sp.cookies_valid.get(), sp.cookies_failed.get()), (256, 0));
}

#[test]
fn nat_data_ack_held_then_released_and_later_segments_translated() {
    let mut l = lab_sp();
    step_at(&mut l, 0, NAT_SYN_IN, NOW, &[(0, NAT_SYNACK_OUT)]);
    assert_eq!(l.dir.lb.conns().len(), 0, "a SYN leaves no state");
    // The ACK carries data: only the SYN goes out; the next segment is held too.
    step_at(&mut l, 0, NAT_ACK_DATA_IN, NOW, &[(1, NAT_RS_SYN_OUT)]);
    step_at(&mut l, 0, NAT_DATA2_IN, NOW, &[]);
    assert_eq!(l.stats.synproxy.held.get(), 2);
    // The server's SYN-ACK is consumed; both go on in order, translated.
    step_at(&mut l, 1, NAT_RS_SYNACK_IN, NOW, &[(1, NAT_ACK_DATA_OUT), (1, NAT_DATA2_OUT)]);
    step_at(&mut l, 1, NAT_RS_DATA_IN, NOW, &[(0, NAT_RS_DATA_OUT)]);
    step_at(&mut l, 0, NAT_SACK_IN, NOW, &[(1, NAT_SACK_OUT)]);
}

/// FullNAT behind the proxy, timestamps end to end: the server's SYN carries the
/// director's clock at the ACK (FullNAT's offset), the held ACK's echo goes to the server
/// in its clock, the server's TSval reaches the client continued from the cookie's and
/// its echo back in the client's clock, the client's SACK shifted both ways.
#[test]
fn fullnat_translated_with_timestamps_on_the_directors_clock() {
    let mut l = lab_sp();
    step_at(&mut l, 0, FNAT_SYN_IN, NOW, &[(0, FNAT_SYNACK_OUT)]);
    // The ACK a second later: the server's SYN's TSval is FNAT_AT.
    step_at(&mut l, 0, FNAT_ACK_IN, FNAT_AT, &[(1, FNAT_RS_SYN_OUT)]);
    step_at(&mut l, 1, FNAT_RS_SYNACK_IN, FNAT_AT, &[(1, FNAT_ACK_OUT)]);
    step_at(&mut l, 1, FNAT_RS_DATA_IN, FNAT_AT, &[(0, FNAT_RS_DATA_OUT)]);
    step_at(&mut l, 0, FNAT_SACK_IN, FNAT_AT, &[(1, FNAT_SACK_OUT)]);
}

#[test]
fn stale_forged_and_mismatched_cookies_reset() {
    let mut l = lab_sp();
    step_at(&mut l, 0, BAD_SYN_IN, NOW, &[(0, BAD_SYNACK_OUT)]);
    step_at(&mut l, 0, BAD_ACK_IN, STALE, &[(0, BAD_STALE_RST)]);
    step_at(&mut l, 0, BAD_FORGED_IN, NOW, &[(0, BAD_FORGED_RST)]);
    step_at(&mut l, 0, BAD_TS_IN, NOW, &[(0, BAD_TS_RST)]);
    assert_eq!(l.dir.lb.conns().len(), 0, "no state from bad cookies");
    assert_eq!(l.stats.synproxy.cookies_failed.get(), 3);
    // The oldest count still valid opens the connection.
    step_at(&mut l, 0, BAD_ACK_IN, VALID, &[(1, BAD_RS_SYN_OUT)]);
    assert_eq!(l.dir.lb.conns().len(), 1);
}

#[test]
fn the_servers_rst_resets_the_client_at_the_next_tick() {
    let mut l = lab_sp();
    step_at(&mut l, 0, ABORT_SYN_IN, NOW, &[(0, ABORT_SYNACK_OUT)]);
    step_at(&mut l, 0, ABORT_ACK_IN, NOW, &[(1, ABORT_RS_SYN_OUT)]);
    let io = input_at(&mut l, 1, &hex(ABORT_RS_RST_IN), NOW);
    assert_eq!((io.tx.len(), io.drops.len()), (0, 1), "the server's RST goes no further");
    assert_eq!(l.dir.lb.conns().len(), 0);
    assert_eq!(ticks(&mut l, [NOW + 1]), vec![(0, ABORT_RST_OUT.to_string())]);
    // The held ACK's retransmission timer finds nothing to send.
    assert_eq!(ticks(&mut l, [NOW + 3_000, NOW + 6_000]), vec![]);
}

#[test]
fn unanswered_syn_sent_again_every_3s_three_times_then_the_client_reset() {
    let mut l = lab_sp();
    step_at(&mut l, 0, ABORT_SYN_IN, NOW, &[(0, ABORT_SYNACK_OUT)]);
    step_at(&mut l, 0, ABORT_ACK_IN, NOW, &[(1, ABORT_RS_SYN_OUT)]);
    assert_eq!(ticks(&mut l, [NOW + 1_000, NOW + 2_999]), vec![]);
    let syn = (1, ABORT_RS_SYN_OUT.to_string());
    assert_eq!(ticks(&mut l, [NOW + 3_000]), vec![syn.clone()]);
    assert_eq!(ticks(&mut l, [NOW + 6_000]), vec![syn.clone()]);
    assert_eq!(ticks(&mut l, [NOW + 9_000]), vec![syn]);
    assert_eq!(l.stats.synproxy.rs_syn_retransmits.get(), 3);
    assert_eq!(l.dir.lb.conns().len(), 1);
    assert_eq!(ticks(&mut l, [NOW + 12_000]), vec![(0, ABORT_RST_OUT.to_string())]);
    assert_eq!(l.dir.lb.conns().len(), 0);
    assert_eq!(ticks(&mut l, [NOW + 15_000, NOW + 30_000]), vec![]);
}
