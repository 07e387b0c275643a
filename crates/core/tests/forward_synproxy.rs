//! The SYN proxy through the fixture director (NAT and FullNAT): a SYN gets a cookie
//! SYN-ACK and leaves no connection; a forged ACK gets an RST; a valid ACK opens the
//! connection, goes to the server as a SYN with the client's options and is held; the
//! server's SYN-ACK releases it with the server's numbers translated for the
//! connection's life (seq, window scale, timestamps). Checksums checked with `wire`.

mod forward_common;

use std::net::Ipv4Addr;
use std::sync::Arc;

use forward_common::*;
use rvs_core::addr::{Addr, Protocol};
use rvs_core::forward::Directory;
use rvs_core::service::{FwdMethod, ServiceSpec};
use wire::{tcp_flags as tf, Ipv4Packet, TcpOption, TcpPacket, VecBuf};

const CLIENT: [u8; 4] = [10, 0, 1, 2];
const RS: [u8; 4] = [10, 0, 3, 11];
const LADDR: [u8; 4] = [10, 0, 3, 200];

#[allow(clippy::too_many_arguments)]
fn tcp4(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    win: u16,
    opts: &[u8],
    data: &[u8],
) -> Vec<u8> {
    let hl = 20 + opts.len();
    let total = 20 + hl + data.len();
    let mut f = vec![0u8; 14 + total];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xfe]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    {
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&dst);
        let c = !wire::checksum::data(ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
    }
    let mut t = TcpPacket::new_unchecked(&mut f[34..]);
    t.set_src_port(sport);
    t.set_dst_port(dport);
    t.set_seq_number(seq);
    t.set_ack_number(ack);
    t.set_header_len(hl);
    t.set_flags(flags);
    t.set_window_len(win);
    t.options_mut().copy_from_slice(opts);
    t.payload_mut().copy_from_slice(data);
    t.fill_checksum(&Ipv4Addr::from(src), &Ipv4Addr::from(dst));
    f
}

fn checked(f: &[u8]) -> (Ipv4Packet<&[u8]>, TcpPacket<&[u8]>) {
    let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
    assert!(ip.verify_checksum(), "IPv4 checksum");
    let total = ip.total_len() as usize;
    let t = TcpPacket::new_checked(&f[34..14 + total]).unwrap();
    assert!(t.verify_checksum(&ip.src_addr(), &ip.dst_addr()), "TCP checksum");
    (ip, t)
}

fn ts(t: &TcpPacket<&[u8]>) -> Option<(u32, u32)> {
    t.options_iter().filter_map(Result::ok).find_map(|o| match o {
        TcpOption::Timestamps { tsval, tsecr } => Some((tsval, tsecr)),
        _ => None,
    })
}

fn ws(t: &TcpPacket<&[u8]>) -> Option<u8> {
    t.options_iter().filter_map(Result::ok).find_map(|o| if let TcpOption::WindowScale(w) = o { Some(w) } else { None })
}

fn proxied(fwd: FwdMethod) -> Lab {
    let mut l = lab_on(0, 1, Arc::new(Directory::new(2, 1024)));
    let k = key(Protocol::Tcp, 95);
    let mut s = ServiceSpec::new(k);
    s.scheduler = "rr".into();
    s.synproxy = true;
    l.cfg.add_service(&s).unwrap();
    l.cfg.add_dest(&k, &dest(RS, 95, fwd)).unwrap();
    if fwd == FwdMethod::FullNat {
        l.cfg.add_laddr(&k, Addr::v4(LADDR)).unwrap();
    }
    l.dir.set_snapshot(l.cfg.snapshot());
    l
}

fn input(l: &mut Lab, port: u16, f: Vec<u8>) -> Recorder {
    let mut io = Recorder::default();
    l.dir.input(port, VecBuf::from_slice(&f), 1_000, false, &mut io);
    io
}

/// MSS 1460, SACK-permitted, timestamps (TSval 5000), window scale 9.
const SYN_OPTS: [u8; 20] = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0x13, 0x88, 0, 0, 0, 0, 1, 3, 3, 9];

fn handshake(fwd: FwdMethod) {
    let mut l = proxied(fwd);
    let vip = VIP.octets();
    // SYN: a cookie SYN-ACK back from the VIP, no connection.
    let io = input(&mut l, 0, tcp4(CLIENT, 41000, vip, 95, 100, 0, tf::SYN, 64240, &SYN_OPTS, b""));
    assert_eq!(io.tx.len(), 1, "{:?}", io.drops);
    let (ip, t) = checked(&io.tx[0].1);
    assert_eq!((ip.src_addr(), ip.dst_addr()), (VIP, Ipv4Addr::from(CLIENT)));
    assert_eq!(t.flags(), tf::SYN | tf::ACK);
    assert_eq!(t.ack_number(), 101);
    assert_eq!(ws(&t), Some(7), "the proxy's window scale");
    let (our_ts, echo) = ts(&t).expect("timestamps kept");
    assert_eq!(echo, 5000);
    assert!(t.options_iter().filter_map(Result::ok).any(|o| o == TcpOption::SackPermitted));
    assert!(t.options_iter().filter_map(Result::ok).any(|o| o == TcpOption::MaxSegmentSize(1460)));
    let cookie = t.seq_number();
    assert_eq!(l.dir.lb.conns().len(), 0, "a SYN leaves no state");
    // A forged ACK: RST, still no state.
    let mut ts_opt = vec![1, 1, 8, 10];
    ts_opt.extend(5001u32.to_be_bytes());
    ts_opt.extend(our_ts.to_be_bytes());
    let io = input(&mut l, 0, tcp4(CLIENT, 41000, vip, 95, 101, cookie.wrapping_add(77), tf::ACK, 502, &ts_opt, b""));
    let (_, t) = checked(&io.tx[0].1);
    assert_eq!((t.flags(), t.seq_number()), (tf::RST, cookie.wrapping_add(77)));
    assert_eq!(l.dir.lb.conns().len(), 0);
    // The real ACK: a SYN to the server with the client's options; the ACK is held.
    let io = input(&mut l, 0, tcp4(CLIENT, 41000, vip, 95, 101, cookie.wrapping_add(1), tf::ACK, 502, &ts_opt, b""));
    assert_eq!(io.tx.len(), 1, "only the SYN goes out: {:?}", io.drops);
    let (ip, t) = checked(&io.tx[0].1);
    assert_eq!(ip.dst_addr(), Ipv4Addr::from(RS));
    assert_eq!(t.flags(), tf::SYN);
    assert_eq!(ws(&t), Some(9), "the client's window scale");
    assert!(t.options_iter().filter_map(Result::ok).any(|o| o == TcpOption::SackPermitted));
    let (src, sport, isn_rs) = (ip.src_addr(), t.src_port(), t.seq_number());
    if fwd == FwdMethod::Masq {
        assert_eq!((src, sport, isn_rs), (Ipv4Addr::from(CLIENT), 41000, 100));
        assert_eq!(ts(&t), Some((5001, 0)), "the client's clock to the server");
    } else {
        assert_eq!(src, Ipv4Addr::from(LADDR));
        assert_eq!(ts(&t), Some((1000, 0)), "FullNAT: the client's clock shifted onto the director's (1,000 ms)");
    }
    assert_eq!(l.dir.lb.conns().len(), 1);
    // The server's SYN-ACK: consumed; the held ACK goes on, acking the server's ISN.
    // The server echoes the TSval it got: the client's (NAT) or the director's clock (FullNAT).
    let echo = if fwd == FwdMethod::Masq { 5001u32 } else { 1000 };
    let rs_ts = {
        let mut o = vec![1, 1, 8, 10];
        o.extend(90_000u32.to_be_bytes());
        o.extend(echo.to_be_bytes());
        o
    };
    let mut synack_opts = vec![2, 4, 5, 0xb4, 1, 3, 3, 5];
    synack_opts.extend(&rs_ts);
    let io = input(
        &mut l,
        1,
        tcp4(
            RS,
            95,
            src.octets(),
            sport,
            7_000_000,
            isn_rs.wrapping_add(1),
            tf::SYN | tf::ACK,
            65535,
            &synack_opts,
            b"",
        ),
    );
    assert_eq!(io.tx.len(), 1, "the held ACK, not the SYN-ACK: {:?}", io.drops);
    let (ip, t) = checked(&io.tx[0].1);
    assert_eq!(ip.dst_addr(), Ipv4Addr::from(RS));
    assert_eq!((t.flags(), t.ack_number()), (tf::ACK, 7_000_001));
    assert_eq!(ts(&t), Some((echo, 90_000)), "the echo in the server's clock");
    // Server data: seq in the cookie's numbering, window 100 << 5 >> 7 = 25, its clock
    // continued from the cookie SYN-ACK's.
    let mut opts = vec![1, 1, 8, 10];
    opts.extend(90_010u32.to_be_bytes());
    opts.extend(echo.to_be_bytes());
    let io = input(
        &mut l,
        1,
        tcp4(RS, 95, src.octets(), sport, 7_000_001, isn_rs.wrapping_add(1), tf::ACK | tf::PSH, 100, &opts, b"hi"),
    );
    let (ip, t) = checked(&io.tx[0].1);
    assert_eq!(ip.dst_addr(), Ipv4Addr::from(CLIENT));
    assert_eq!(t.seq_number(), cookie.wrapping_add(1));
    assert_eq!(t.ack_number(), 101);
    assert_eq!(t.window_len(), 25);
    assert_eq!(ts(&t), Some((our_ts.wrapping_add(10), 5001)), "the server's clock continued, the echo the client's");
    // DPVS's ACK storm guard: the same pure ACK from the server more than ten times in a
    // row stops being passed on; data resets it.
    let dup = || tcp4(RS, 95, src.octets(), sport, 7_000_003, isn_rs.wrapping_add(1), tf::ACK, 100, &[], b"");
    let sent: Vec<usize> = (0..12).map(|_| input(&mut l, 1, dup()).tx.len()).collect();
    assert_eq!(sent, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], "ten repeats pass, then dropped");
    let io = input(&mut l, 1, dup());
    assert_eq!(io.drops, [(1, rvs_core::stats::DropReason::AckStorm)]);
    let sp = &l.stats.synproxy;
    assert_eq!((sp.cookies_sent.get(), sp.cookies_valid.get(), sp.cookies_failed.get(), sp.held.get()), (1, 1, 1, 1));
}

#[test]
fn synproxy_nat_handshake_and_translation() {
    handshake(FwdMethod::Masq);
}

#[test]
fn synproxy_fullnat_handshake_and_translation() {
    handshake(FwdMethod::FullNat);
}

/// Two workers: a SYN is answered by the worker that receives it (it leaves no state,
/// so nothing crosses to the client's home worker), out of its arrival port to the
/// sender's MAC; the client's ACK goes to the home worker, whose check of the other
/// worker's cookie (one key per process) opens the connection.
#[test]
fn syns_are_answered_where_they_arrive_and_acks_go_home() {
    let owners = Arc::new(Directory::new(2, 1024));
    let mut w: Vec<Lab> = (0..2)
        .map(|core| {
            let mut l = lab_on(core, 2, owners.clone());
            let k = key(Protocol::Tcp, 95);
            let mut s = ServiceSpec::new(k);
            s.scheduler = "rr".into();
            s.synproxy = true;
            l.cfg.add_service(&s).unwrap();
            l.cfg.add_dest(&k, &dest(RS, 95, FwdMethod::Masq)).unwrap();
            l.dir.set_snapshot(l.cfg.snapshot());
            l
        })
        .collect();
    let vip = VIP.octets();
    let (mut crossed, mut opened) = (0, [0usize; 2]);
    for last in 2..40u8 {
        let client = [10, 0, 1, last];
        let syn = tcp4(client, 41000, vip, 95, 100, 0, tf::SYN, 64240, &[], b"");
        let mut cookies = Vec::new();
        for l in w.iter_mut() {
            let io = input(l, 0, syn.clone());
            assert_eq!(io.redirects, vec![], "a SYN is never passed on");
            assert_eq!(io.tx.len(), 1, "{:?}", io.drops);
            let (port, f) = &io.tx[0];
            assert_eq!(*port, 0, "out of the arrival port");
            assert_eq!((&f[0..6], &f[6..12]), (&syn[6..12], &syn[0..6]), "to the sender, from the port");
            let (_, t) = checked(f);
            assert_eq!(t.flags(), tf::SYN | tf::ACK);
            cookies.push(t.seq_number());
        }
        assert_eq!(cookies[0], cookies[1], "one key per process");
        let ack = tcp4(client, 41000, vip, 95, 101, cookies[0].wrapping_add(1), tf::ACK, 502, &[], b"");
        let first = input(&mut w[0], 0, ack.clone());
        let home = if first.redirects.is_empty() { 0 } else { 1 };
        let away = 1 - home;
        crossed += home;
        let io = if home == 0 { first } else { input(&mut w[1], 0, ack.clone()) };
        assert_eq!(io.redirects, vec![], "the home worker keeps its client's ACK");
        assert!(io.tx.iter().any(|(p, _)| *p == 1), "the home worker opens the connection: {:?}", io.drops);
        opened[home] += 1;
        assert_eq!(w[home].dir.lb.conns().len(), opened[home]);
        let io = input(&mut w[away], 0, ack);
        assert_eq!(io.redirects, vec![(home as u8, 0)], "the ACK goes home");
        assert_eq!(w[away].dir.lb.conns().len(), opened[away], "nothing opened away from home");
    }
    assert!(crossed > 0 && crossed < 38, "both workers were some client's home ({crossed} on worker 1)");
}
