//! Golden-byte tests, IPv6 side: extension-header walk, ICMPv6 echo and Packet Too Big,
//! MLDv2 behind hop-by-hop, TCP SYN over IPv6.

mod common;

use std::net::Ipv6Addr;

use common::hex;
use common::vectors::*;
use wire::ipv6::{Ipv6ExtHeader, Ipv6FragInfo, Ipv6FragmentHeader, Ipv6UpperLayer};
use wire::{
    ethertype, icmpv6_type, ip_proto, EthernetAddress, EthernetFrame, Icmpv6Packet, Ipv6Packet, TcpOption, TcpPacket,
    UdpPacket,
};

const C: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const R: EthernetAddress = EthernetAddress([0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]);
const D: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn eth(buf: &mut [u8], dst: EthernetAddress, src: EthernetAddress) {
    let mut e = EthernetFrame::new_checked(buf).unwrap();
    e.set_dst_addr(dst);
    e.set_src_addr(src);
    e.set_ethertype(ethertype::IPV6);
}

fn ipv6(buf: &mut [u8], flow: u32, plen: u16, nh: u8, hlim: u8, src: Ipv6Addr, dst: Ipv6Addr) {
    let mut p = Ipv6Packet::new_unchecked(buf);
    p.set_version(6);
    p.set_traffic_class(0);
    p.set_flow_label(flow);
    p.set_payload_len(plen);
    p.set_next_header(nh);
    p.set_hop_limit(hlim);
    p.set_src_addr(src);
    p.set_dst_addr(dst);
}

#[test]
fn mldv2_report_behind_hop_by_hop() {
    let g = hex(IPV6_MLDV2);
    let f = EthernetFrame::new_checked(&g[..]).unwrap();
    assert_eq!(f.ethertype(), ethertype::IPV6);
    assert!(f.dst_addr().is_multicast());
    let p = Ipv6Packet::new_checked(f.payload()).unwrap();
    assert_eq!((p.version(), p.payload_len(), p.next_header(), p.hop_limit()), (6, 36, ip_proto::HOPOPT, 1));
    assert_eq!((p.src_addr(), p.dst_addr()), (a6("fe80::5054:ff:fe12:3456"), a6("ff02::16")));
    let hdrs: Vec<_> = p.ext_headers().collect::<Result<_, _>>().unwrap();
    assert_eq!(hdrs.len(), 1);
    assert_eq!((hdrs[0].kind, hdrs[0].offset, hdrs[0].len, hdrs[0].next_header), (0, 0, 8, ip_proto::ICMPV6));
    let hbh = Ipv6ExtHeader::new_checked(p.payload()).unwrap();
    assert_eq!(hbh.data(), &[5, 2, 0, 0, 1, 0]); // Router Alert (RFC 2711), PadN
    let u = p.upper_layer().unwrap();
    assert_eq!(u, Ipv6UpperLayer { protocol: ip_proto::ICMPV6, offset: 48, fragment: None });
    let i = Icmpv6Packet::new_checked(&p.payload()[8..]).unwrap();
    assert_eq!((i.msg_type(), i.checksum()), (143, 0xeb53));
    assert!(i.verify_checksum(&p.src_addr(), &p.dst_addr()) && !i.is_error());

    let mut b = vec![0u8; 14 + 40 + 36];
    eth(&mut b, EthernetAddress([0x33, 0x33, 0, 0, 0, 0x16]), C);
    let (src, dst) = (a6("fe80::5054:ff:fe12:3456"), a6("ff02::16"));
    ipv6(&mut b[14..], 0, 36, ip_proto::HOPOPT, 1, src, dst);
    let mut h = Ipv6ExtHeader::new_unchecked(&mut b[54..62]);
    h.set_next_header(ip_proto::ICMPV6);
    h.set_header_len(8);
    h.data_mut().copy_from_slice(&[5, 2, 0, 0, 1, 0]);
    let mut i = Icmpv6Packet::new_checked(&mut b[62..]).unwrap();
    i.set_msg_type(143);
    i.set_pointer(1); // reserved (16 bits) + number of records (16 bits)
    i.data_mut()[0] = 4; // CHANGE_TO_EXCLUDE_MODE
    i.data_mut()[4..].copy_from_slice(&a6("ff02::fb").octets());
    i.fill_checksum(&src, &dst);
    assert_eq!(b, g);
}

#[test]
fn udp_behind_dstopts_routing_fragment() {
    let g = hex(IPV6_EXT_UDP);
    let p = Ipv6Packet::new_checked(&g[14..]).unwrap();
    assert_eq!((p.flow_label(), p.traffic_class(), p.payload_len()), (0x12345, 0, 40));
    let kinds: Vec<_> =
        p.ext_headers().map(|h| h.map(|h| (h.kind, h.offset, h.len))).collect::<Result<_, _>>().unwrap();
    assert_eq!(kinds, vec![(ip_proto::IPV6_OPTS, 0, 8), (ip_proto::IPV6_ROUTE, 8, 8), (ip_proto::IPV6_FRAG, 16, 8)]);
    let rh = Ipv6ExtHeader::new_checked(&p.payload()[8..]).unwrap();
    assert_eq!((rh.routing_type(), rh.segments_left()), (0, 0));
    let (u, l4) = p.upper_layer_payload().unwrap();
    let frag = Ipv6FragInfo { offset: 0, more_frags: false, ident: 0xdeadbeef };
    assert_eq!(u, Ipv6UpperLayer { protocol: ip_proto::UDP, offset: 64, fragment: Some(frag) });
    let udp = UdpPacket::new_checked(l4).unwrap();
    assert_eq!((udp.src_port(), udp.dst_port(), udp.payload()), (40001, 53, &b"rvs-wire"[..]));
    assert!(udp.verify_checksum(&p.src_addr(), &p.dst_addr()));

    let (src, dst) = (a6("2001:db8::100"), a6("2001:db8:1::53"));
    let mut b = vec![0u8; 14 + 40 + 40];
    eth(&mut b, R, C);
    ipv6(&mut b[14..], 0x12345, 40, ip_proto::IPV6_OPTS, 64, src, dst);
    let mut h = Ipv6ExtHeader::new_unchecked(&mut b[54..62]);
    h.set_next_header(ip_proto::IPV6_ROUTE);
    h.set_header_len(8);
    h.data_mut()[..2].copy_from_slice(&[1, 4]); // PadN, 4 bytes
    let mut h = Ipv6ExtHeader::new_unchecked(&mut b[62..70]);
    h.set_next_header(ip_proto::IPV6_FRAG);
    h.set_header_len(8);
    Ipv6FragmentHeader::new_checked(&mut b[70..78]).unwrap().fill(ip_proto::UDP, 0, false, 0xdeadbeef);
    let mut u = UdpPacket::new_unchecked(&mut b[78..]);
    u.set_src_port(40001);
    u.set_dst_port(53);
    u.set_len(16);
    u.payload_mut().copy_from_slice(b"rvs-wire");
    u.fill_checksum(&src, &dst);
    assert_eq!(b, g);
}

#[test]
fn icmpv6_echo_request() {
    let g = hex(IPV6_ECHO);
    let p = Ipv6Packet::new_checked(&g[14..]).unwrap();
    let i = Icmpv6Packet::new_checked(p.payload()).unwrap();
    assert_eq!((i.msg_type(), i.msg_code(), i.echo_ident(), i.echo_seq_no()), (icmpv6_type::ECHO_REQUEST, 0, 0x2a, 3));
    assert_eq!(i.checksum(), 0x3d80);
    assert!(i.verify_checksum(&p.src_addr(), &p.dst_addr()));
    assert_eq!(i.quoted_ipv6(), Err(wire::Error::Malformed));

    let (src, dst) = (a6("2001:db8::100"), a6("2001:db8:1::1"));
    let mut b = vec![0u8; 14 + 40 + 12];
    eth(&mut b, R, C);
    ipv6(&mut b[14..], 0xabcde, 12, ip_proto::ICMPV6, 64, src, dst);
    let mut i = Icmpv6Packet::new_checked(&mut b[54..]).unwrap();
    i.set_msg_type(icmpv6_type::ECHO_REQUEST);
    i.set_echo_ident(0x2a);
    i.set_echo_seq_no(3);
    i.data_mut().copy_from_slice(b"rvs!");
    i.fill_checksum(&src, &dst);
    assert_eq!(b, g);
}

fn syn_options() -> [TcpOption<'static>; 5] {
    [
        TcpOption::MaxSegmentSize(1460),
        TcpOption::SackPermitted,
        TcpOption::Timestamps { tsval: 2316216134, tsecr: 0 },
        TcpOption::NoOperation,
        TcpOption::WindowScale(7),
    ]
}

#[test]
fn packet_too_big_quotes_tcp() {
    let g = hex(IPV6_PTB);
    assert_eq!(g.len(), 14 + 1280, "a PTB fills the IPv6 minimum MTU");
    let p = Ipv6Packet::new_checked(&g[14..]).unwrap();
    let i = Icmpv6Packet::new_checked(p.payload()).unwrap();
    assert_eq!((i.msg_type(), i.mtu()), (icmpv6_type::PACKET_TOO_BIG, 1280));
    assert!(i.is_error() && i.verify_checksum(&p.src_addr(), &p.dst_addr()));
    let q = i.quoted_ipv6().unwrap();
    assert_eq!((q.payload_len(), q.payload().len(), q.next_header()), (1420, 1192, ip_proto::TCP));
    assert_eq!((q.src_addr(), q.dst_addr()), (a6("2001:db8::10"), a6("2001:db8:1::7")));
    let t = TcpPacket::new_checked(q.payload()).unwrap();
    assert_eq!((t.src_port(), t.dst_port(), t.seq_number(), t.ack_number()), (443, 50000, 10, 20));

    let (vip, client) = (a6("2001:db8::10"), a6("2001:db8:1::7"));
    let mut orig = vec![0u8; 40 + 20 + 1400];
    ipv6(&mut orig, 0, 1420, ip_proto::TCP, 63, vip, client);
    let mut t = TcpPacket::new_unchecked(&mut orig[40..]);
    t.set_src_port(443);
    t.set_dst_port(50000);
    t.set_seq_number(10);
    t.set_ack_number(20);
    t.set_header_len(20);
    t.set_ack(true);
    t.set_window_len(500);
    t.payload_mut().fill(b'y');
    t.fill_checksum(&vip, &client);
    let rtr = a6("2001:db8:ff::1");
    let mut b = vec![0u8; 14 + 1280];
    eth(&mut b, D, R);
    ipv6(&mut b[14..], 0, 1240, ip_proto::ICMPV6, 64, rtr, vip);
    let mut i = Icmpv6Packet::new_checked(&mut b[54..]).unwrap();
    i.set_msg_type(icmpv6_type::PACKET_TOO_BIG);
    i.set_mtu(1280);
    i.data_mut().copy_from_slice(&orig[..1232]);
    i.fill_checksum(&rtr, &vip);
    assert_eq!(b, g);
}

#[test]
fn tcp_syn_over_ipv6() {
    let g = hex(IPV6_TCP_SYN);
    let p = Ipv6Packet::new_checked(&g[14..]).unwrap();
    let (u, l4) = p.upper_layer_payload().unwrap();
    assert_eq!((u.protocol, u.offset), (ip_proto::TCP, 40));
    let t = TcpPacket::new_checked(l4).unwrap();
    assert!(t.syn() && t.verify_checksum(&p.src_addr(), &p.dst_addr()));
    assert_eq!((t.window_len(), t.checksum()), (64800, 0xf4ee));
    assert_eq!(t.options_iter().collect::<Result<Vec<_>, _>>().unwrap(), syn_options());

    let (src, dst) = (a6("2001:db8:1::7"), a6("2001:db8::10"));
    let mut b = vec![0u8; 14 + 40 + 40];
    eth(&mut b, D, R);
    ipv6(&mut b[14..], 0, 40, ip_proto::TCP, 62, src, dst);
    let mut t = TcpPacket::new_unchecked(&mut b[54..]);
    t.set_src_port(50000);
    t.set_dst_port(443);
    t.set_seq_number(0x01020304);
    t.set_header_len(40);
    t.set_syn(true);
    t.set_window_len(64800);
    wire::tcp::write_options(&syn_options(), t.options_mut()).unwrap();
    t.fill_checksum(&src, &dst);
    assert_eq!(b, g);

    // MSS clamp for a tunnel: value changes, checksum stays valid incrementally.
    let mut t = TcpPacket::new_checked(&mut b[54..]).unwrap();
    assert_eq!(t.clamp_mss(1400), Some(1460));
    assert_eq!(t.clamp_mss(1400), None);
    assert!(t.verify_checksum(&src, &dst));
    assert_eq!(wire::SynOptions::parse(t.options()).mss, Some(1400));
}
