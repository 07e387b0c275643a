//! FullNAT through the fixture director: both ends rewritten, the new ISN's offset
//! applied both ways, timestamps shifted onto the director's clock, TOA on the
//! handshake's last ACK with the SYN-ACK's MSS lowered for it, a PROXY v2 header before
//! the first data (and its retransmission), SACK edges, replies owned by their port's
//! worker. Every frame leaving the director has valid checksums (checked with `wire`).

mod forward_common;

use std::net::Ipv4Addr;
use std::sync::Arc;

use forward_common::*;
use rvs_core::addr::{Addr, Protocol};
use rvs_core::forward::Directory;
use rvs_core::service::{FwdMethod, ProxyProtocol, ServiceSpec};
use wire::{tcp_flags as tf, Ipv4Packet, ProxyHeaderRepr, TcpPacket, ToaRepr, VecBuf};

const CLIENT: [u8; 4] = [10, 0, 1, 2];
const LADDR: [u8; 4] = [10, 0, 3, 200];
const RS: [u8; 4] = [10, 0, 3, 11];

/// An Ethernet/IPv4/TCP frame with valid checksums.
#[allow(clippy::too_many_arguments)]
fn tcp4(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
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
    t.set_window_len(8192);
    t.options_mut().copy_from_slice(opts);
    t.payload_mut().copy_from_slice(data);
    t.fill_checksum(&Ipv4Addr::from(src), &Ipv4Addr::from(dst));
    f
}

/// The one frame sent, checked: IPv4 and TCP checksums valid.
fn sent(io: &Recorder) -> (u16, Vec<u8>) {
    assert_eq!(io.tx.len(), 1, "one frame out: {:?} drops {:?}", io.tx.len(), io.drops);
    let (port, f) = io.tx[0].clone();
    check(&f);
    (port, f)
}

fn check(f: &[u8]) {
    let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
    assert!(ip.verify_checksum(), "IPv4 checksum");
    let total = ip.total_len() as usize;
    let t = TcpPacket::new_checked(&f[34..14 + total]).unwrap();
    assert!(t.verify_checksum(&ip.src_addr(), &ip.dst_addr()), "TCP checksum");
}

fn tcp(f: &[u8]) -> TcpPacket<&[u8]> {
    let total = Ipv4Packet::new_checked(&f[14..]).unwrap().total_len() as usize;
    TcpPacket::new_checked(&f[34..14 + total]).unwrap()
}

fn ip(f: &[u8]) -> Ipv4Packet<&[u8]> {
    Ipv4Packet::new_checked(&f[14..]).unwrap()
}

fn fullnat_lab(core: u8, workers: u32, port: u16, toa: bool, pp: Option<ProxyProtocol>) -> Lab {
    let mut l = lab_on(core, workers, Arc::new(Directory::new(2, 1024)));
    let k = key(Protocol::Tcp, port);
    let mut s = ServiceSpec::new(k);
    s.scheduler = "rr".into();
    s.toa = toa;
    s.proxy_protocol = pp;
    l.cfg.add_service(&s).unwrap();
    l.cfg.add_dest(&k, &dest(RS, port, FwdMethod::FullNat)).unwrap();
    l.cfg.add_laddr(&k, Addr::v4(LADDR)).unwrap();
    l.dir.set_snapshot(l.cfg.snapshot());
    l
}

fn input(l: &mut Lab, port: u16, f: Vec<u8>) -> Recorder {
    let mut io = Recorder::default();
    l.dir.input(port, VecBuf::from_slice(&f), 1_000, false, &mut io);
    io
}

const MSS_TS: [u8; 16] = [2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0];

#[test]
fn fullnat_tcp_with_toa() {
    let mut l = fullnat_lab(0, 1, 90, true, None);
    let vip = VIP.octets();
    // SYN: both ends rewritten, timestamps on the director's clock, a new ISN.
    let io = input(&mut l, 0, tcp4(CLIENT, 40000, vip, 90, 1000, 0, tf::SYN, &MSS_TS, b""));
    let (port, f) = sent(&io);
    assert_eq!(port, 1);
    assert_eq!(ip(&f).src_addr(), Ipv4Addr::from(LADDR));
    assert_eq!(ip(&f).dst_addr(), Ipv4Addr::from(RS));
    let t = tcp(&f);
    let lport = t.src_port();
    assert!((1025..=65535).contains(&lport));
    assert_eq!(t.dst_port(), 90);
    // TSval 7 on the director's clock (the test's 1,000 ms), TSecr untouched.
    assert_eq!(&t.options()[4..], &[1, 1, 8, 10, 0, 0, 3, 0xe8, 0, 0, 0, 0][..], "timestamps on the director's clock");
    let isn = t.seq_number();
    assert_ne!(isn, 1000);
    // SYN-ACK: back to the client from the VIP, ack in its numbering, MSS lowered by 8.
    let io = input(
        &mut l,
        1,
        tcp4(RS, 90, LADDR, lport, 5000, isn.wrapping_add(1), tf::SYN | tf::ACK, &[2, 4, 0x05, 0xb4], b""),
    );
    let (port, f) = sent(&io);
    assert_eq!(port, 0);
    assert_eq!((ip(&f).src_addr(), ip(&f).dst_addr()), (VIP, Ipv4Addr::from(CLIENT)));
    let t = tcp(&f);
    assert_eq!((t.src_port(), t.dst_port(), t.seq_number(), t.ack_number()), (90, 40000, 5000, 1001));
    assert_eq!(t.options(), &[2, 4, 0x05, 0xac], "MSS 1460 - 8");
    // The handshake's ACK carries TOA: kind 254, the client's port and address.
    let io = input(&mut l, 0, tcp4(CLIENT, 40000, vip, 90, 1001, 5001, tf::ACK, &[], b""));
    let (_, f) = sent(&io);
    let t = tcp(&f);
    assert_eq!(t.seq_number(), isn.wrapping_add(1));
    let toa = ToaRepr::find(&t).expect("TOA");
    assert_eq!(toa.client, "10.0.1.2:40000".parse().unwrap());
    // Later segments: no TOA; a SACK block from the server is mapped back.
    let io = input(&mut l, 0, tcp4(CLIENT, 40000, vip, 90, 1001, 5100, tf::ACK, &[], b"hello"));
    let (_, f) = sent(&io);
    assert!(ToaRepr::find(&tcp(&f)).is_none());
    let sack_edges = |a: u32, b: u32| {
        let mut o = vec![1, 1, 5, 10];
        o.extend(a.to_be_bytes());
        o.extend(b.to_be_bytes());
        o
    };
    let s = isn.wrapping_add(101);
    let io = input(
        &mut l,
        1,
        tcp4(RS, 90, LADDR, lport, 5100, isn.wrapping_add(1), tf::ACK, &sack_edges(s, s.wrapping_add(50)), b""),
    );
    let (_, f) = sent(&io);
    let t = tcp(&f);
    assert_eq!(t.ack_number(), 1001);
    assert_eq!(&t.options()[4..12], &[1101u32.to_be_bytes(), 1151u32.to_be_bytes()].concat()[..]);
}

#[test]
fn fullnat_proxy_v2_and_its_retransmission() {
    let mut l = fullnat_lab(0, 1, 91, false, Some(ProxyProtocol::V2));
    let vip = VIP.octets();
    let io = input(&mut l, 0, tcp4(CLIENT, 40001, vip, 91, 7000, 0, tf::SYN, &[2, 4, 5, 0xb4], b""));
    let (_, f) = sent(&io);
    let (lport, isn) = (tcp(&f).src_port(), tcp(&f).seq_number());
    let io = input(
        &mut l,
        1,
        tcp4(RS, 91, LADDR, lport, 9000, isn.wrapping_add(1), tf::SYN | tf::ACK, &[2, 4, 5, 0xb4], b""),
    );
    sent(&io);
    // Pure ACK: no header.
    let io = input(&mut l, 0, tcp4(CLIENT, 40001, vip, 91, 7001, 9001, tf::ACK, &[], b""));
    let (_, f) = sent(&io);
    assert!(tcp(&f).payload().is_empty());
    // First data: header first, at the first data byte's place.
    let req = b"GET / HTTP/1.1\r\n\r\n";
    for _ in 0..2 {
        let io = input(&mut l, 0, tcp4(CLIENT, 40001, vip, 91, 7001, 9001, tf::ACK | tf::PSH, &[], req));
        let (_, f) = sent(&io);
        let t = tcp(&f);
        assert_eq!(t.seq_number(), isn.wrapping_add(1));
        let (h, n) = ProxyHeaderRepr::parse(t.payload()).expect("PROXY v2 header");
        assert_eq!(n, 28);
        assert_eq!(h.src(), Some("10.0.1.2:40001".parse().unwrap()));
        assert_eq!(h.dst(), Some("10.0.2.100:91".parse().unwrap()));
        assert_eq!(&t.payload()[n..], req);
    }
    // The next segment moves by the header's length; the server's ack comes back without it.
    let io = input(&mut l, 0, tcp4(CLIENT, 40001, vip, 91, 7001 + req.len() as u32, 9001, tf::ACK, &[], b"x"));
    let (_, f) = sent(&io);
    assert_eq!(tcp(&f).seq_number(), isn.wrapping_add(1 + 28 + req.len() as u32));
    let io = input(
        &mut l,
        1,
        tcp4(RS, 91, LADDR, lport, 9001, isn.wrapping_add(1 + 28 + req.len() as u32), tf::ACK, &[], b""),
    );
    let (_, f) = sent(&io);
    assert_eq!(tcp(&f).ack_number(), 7001 + req.len() as u32);
}

#[test]
fn fullnat_replies_belong_to_their_ports_worker() {
    // Worker 1 of 2 owns odd ports: a reply to an even port goes to worker 0.
    let mut l = fullnat_lab(1, 2, 92, false, None);
    let io = input(&mut l, 1, tcp4(RS, 92, LADDR, 2000, 1, 1, tf::ACK, &[], b""));
    assert_eq!(io.redirects, vec![(0, 1)]);
    let io = input(&mut l, 1, tcp4(RS, 92, LADDR, 2001, 1, 1, tf::ACK, &[], b""));
    assert!(io.redirects.is_empty(), "its own port: not redirected");
}

/// An Ethernet/IPv4/UDP datagram with valid checksums.
fn udp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, data: &[u8]) -> Vec<u8> {
    let total = 28 + data.len();
    let mut f = vec![0u8; 14 + total];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xfe]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let c = !wire::checksum::data(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut u = wire::UdpPacket::new_unchecked(&mut f[34..]);
    u.set_src_port(sport);
    u.set_dst_port(dport);
    u.set_len((8 + data.len()) as u16);
    u.payload_mut().copy_from_slice(data);
    u.fill_checksum(&Ipv4Addr::from(src), &Ipv4Addr::from(dst));
    f
}

#[test]
fn fullnat_udp_datagrams_carry_a_proxy_v2_header_each() {
    let mut l = lab_on(0, 1, Arc::new(Directory::new(2, 1024)));
    let k = key(Protocol::Udp, 96);
    let mut s = ServiceSpec::new(k);
    s.scheduler = "rr".into();
    s.proxy_protocol = Some(ProxyProtocol::V2);
    l.cfg.add_service(&s).unwrap();
    l.cfg.add_dest(&k, &dest(RS, 96, FwdMethod::FullNat)).unwrap();
    l.cfg.add_laddr(&k, Addr::v4(LADDR)).unwrap();
    l.dir.set_snapshot(l.cfg.snapshot());
    for payload in [&b"query one"[..], b"query two"] {
        let io = input(&mut l, 0, udp4(CLIENT, 5353, VIP.octets(), 96, payload));
        assert_eq!(io.tx.len(), 1, "{:?}", io.drops);
        let f = &io.tx[0].1;
        let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!((ip.src_addr(), ip.dst_addr()), (Ipv4Addr::from(LADDR), Ipv4Addr::from(RS)));
        let u = wire::UdpPacket::new_checked(&f[34..14 + ip.total_len() as usize]).unwrap();
        assert!(u.verify_checksum(&ip.src_addr(), &ip.dst_addr()), "UDP checksum");
        let (h, n) = ProxyHeaderRepr::parse(u.payload()).expect("PROXY v2 header");
        assert_eq!(h.transport(), Some(wire::ProxyTransport::Udp));
        assert_eq!(h.src(), Some("10.0.1.2:5353".parse().unwrap()));
        assert_eq!(&u.payload()[n..], payload, "each datagram: header, then its data");
    }
}

/// A director answers for a service's local addresses only while it holds the
/// service's VIP: a VRRP backup leaves them to the master (the real servers' replies go
/// where they answer) and takes them with the VIP.
#[test]
fn local_addresses_are_answered_only_with_their_vip() {
    let l = fullnat_lab(0, 1, 90, false, None);
    let snap = l.dir.lb.snapshot().clone();
    let mut cfg = l.dir.node.config().clone();
    for p in &mut cfg.ports {
        p.vips.clear();
    }
    let backup = Arc::new(cfg.clone());
    cfg.ports[0].vips.push(VIP);
    let with_vip = Arc::new(cfg);
    let laddr = Addr::v4(LADDR);
    assert!(!rvs_core::forward::with_laddrs(&backup, &snap).is_local_addr(laddr), "the backup stays silent");
    assert!(rvs_core::forward::with_laddrs(&with_vip, &snap).is_local_addr(laddr), "the VIP's holder answers");
}
