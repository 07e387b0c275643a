//! Golden-byte tests, IPv4 side: parse real-style frames field by field, then build the
//! same frames from zeroed buffers with our setters and compare byte for byte.

mod common;

use std::net::Ipv4Addr;

use common::hex;
use common::vectors::*;
use wire::ethernet::{l3_offset, VlanTag};
use wire::ipip::{self, IpipEncap};
use wire::{
    arp_op, ethertype, icmpv4_code, icmpv4_type, ip_proto, ArpPacket, EthernetAddress, EthernetFrame, Icmpv4Packet,
    Ipv4Packet, TcpOption, TcpPacket, UdpPacket,
};

const C: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const R: EthernetAddress = EthernetAddress([0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]);
const D: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);

fn ip(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

fn eth(buf: &mut [u8], dst: EthernetAddress, src: EthernetAddress, ty: u16) {
    let mut e = EthernetFrame::new_checked(buf).unwrap();
    e.set_dst_addr(dst);
    e.set_src_addr(src);
    e.set_ethertype(ty);
}

struct V4 {
    tos: u8,
    total: u16,
    id: u16,
    df: bool,
    ttl: u8,
    proto: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
}

/// Write a 20-byte IPv4 header with every field set (checksum left for later).
fn ipv4(buf: &mut [u8], h: &V4) {
    let mut p = Ipv4Packet::new_unchecked(buf);
    p.set_version_and_header_len(4, 20);
    p.set_dscp_ecn(h.tos);
    p.set_total_len(h.total);
    p.set_ident(h.id);
    p.set_flags_and_frag_offset(h.df, false, 0);
    p.set_ttl(h.ttl);
    p.set_protocol(h.proto);
    p.set_checksum(0);
    p.set_src_addr(h.src);
    p.set_dst_addr(h.dst);
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

/// The TCP SYN of `tcp_syn`/`ipip_syn` (inner), 40 bytes, checksum filled.
fn syn_segment(buf: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr) {
    let mut t = TcpPacket::new_unchecked(buf);
    t.set_src_port(54321);
    t.set_dst_port(80);
    t.set_seq_number(0x5f3a1c2d);
    t.set_ack_number(0);
    t.set_header_len(40);
    t.set_flags(0);
    t.set_syn(true);
    t.set_window_len(64240);
    t.set_urgent_at(0);
    let n = wire::tcp::write_options(&syn_options(), t.options_mut()).unwrap();
    assert_eq!(n, 20);
    t.fill_checksum(&src, &dst);
}

#[test]
fn arp_request_and_reply() {
    let req = hex(ARP_REQUEST);
    let f = EthernetFrame::new_checked(&req[..]).unwrap();
    assert_eq!((f.dst_addr(), f.src_addr(), f.ethertype()), (EthernetAddress::BROADCAST, C, ethertype::ARP));
    let a = ArpPacket::new_checked(f.payload()).unwrap();
    assert_eq!(a.operation(), arp_op::REQUEST);
    assert_eq!((a.source_hardware_addr(), a.source_protocol_addr()), (C, ip(192, 168, 1, 100)));
    assert_eq!((a.target_hardware_addr(), a.target_protocol_addr()), (EthernetAddress::default(), ip(192, 168, 1, 1)));
    assert!(!a.is_gratuitous());

    let mut b = vec![0u8; 42];
    eth(&mut b, EthernetAddress::BROADCAST, C, ethertype::ARP);
    ArpPacket::new_unchecked(&mut b[14..]).fill_ipv4_over_ethernet(
        arp_op::REQUEST,
        C,
        ip(192, 168, 1, 100),
        EthernetAddress::default(),
        ip(192, 168, 1, 1),
    );
    assert_eq!(b, req);

    // The reply, padded to the 60-byte Ethernet minimum: answer the request in place.
    let rep = hex(ARP_REPLY);
    let a = ArpPacket::new_checked(&rep[14..]).unwrap();
    assert_eq!((a.operation(), a.source_hardware_addr(), a.target_hardware_addr()), (arp_op::REPLY, R, C));
    let mut b = req.clone();
    b.resize(60, 0);
    let mut f = EthernetFrame::new_checked(&mut b[..]).unwrap();
    f.set_dst_addr(C);
    f.set_src_addr(R);
    let mut a = ArpPacket::new_checked(f.payload_mut()).unwrap();
    let (spa, tpa) = (a.source_protocol_addr(), a.target_protocol_addr());
    a.set_operation(arp_op::REPLY);
    a.set_target_hardware_addr(C);
    a.set_target_protocol_addr(spa);
    a.set_source_hardware_addr(R);
    a.set_source_protocol_addr(tpa);
    assert_eq!(b, rep);
}

#[test]
fn icmp_echo_request() {
    let g = hex(ICMP_ECHO);
    let f = EthernetFrame::new_checked(&g[..]).unwrap();
    let p = Ipv4Packet::new_checked(f.payload()).unwrap();
    assert_eq!((p.version(), p.header_len(), p.total_len(), p.ident()), (4, 20, 84, 0x3c5e));
    assert!(p.dont_frag() && !p.more_frags() && !p.is_fragment());
    assert_eq!((p.ttl(), p.protocol(), p.checksum()), (64, ip_proto::ICMP, 0x2c2f));
    assert_eq!((p.src_addr(), p.dst_addr()), (ip(192, 168, 1, 100), ip(8, 8, 8, 8)));
    assert!(p.verify_checksum() && p.options().is_empty());
    let i = Icmpv4Packet::new_checked(p.payload()).unwrap();
    assert_eq!((i.msg_type(), i.msg_code(), i.echo_ident(), i.echo_seq_no()), (8, 0, 0x1c46, 1));
    assert!(i.verify_checksum() && !i.is_error());
    assert_eq!(i.data().len(), 56);

    let mut b = vec![0u8; 14 + 84];
    eth(&mut b, R, C, ethertype::IPV4);
    let h = V4 {
        tos: 0,
        total: 84,
        id: 0x3c5e,
        df: true,
        ttl: 64,
        proto: 1,
        src: ip(192, 168, 1, 100),
        dst: ip(8, 8, 8, 8),
    };
    ipv4(&mut b[14..], &h);
    let mut ipp = Ipv4Packet::new_checked(&mut b[14..]).unwrap();
    ipp.fill_checksum();
    let mut i = Icmpv4Packet::new_checked(ipp.payload_mut()).unwrap();
    i.set_msg_type(icmpv4_type::ECHO_REQUEST);
    i.set_msg_code(0);
    i.set_echo_ident(0x1c46);
    i.set_echo_seq_no(1);
    i.data_mut()[..16].copy_from_slice(&hex("5e7c3b6700000000a1b2030000000000"));
    for (k, x) in i.data_mut()[16..].iter_mut().enumerate() {
        *x = 0x10 + k as u8;
    }
    i.fill_checksum();
    assert_eq!(b, g);
}

#[test]
fn tcp_syn_with_options() {
    let g = hex(TCP_SYN);
    let p = Ipv4Packet::new_checked(&g[14..]).unwrap();
    assert!(p.verify_checksum());
    let t = TcpPacket::new_checked(p.payload()).unwrap();
    assert_eq!((t.src_port(), t.dst_port(), t.seq_number(), t.ack_number()), (54321, 80, 0x5f3a1c2d, 0));
    assert_eq!((t.header_len(), t.flags(), t.window_len(), t.urgent_at()), (40, 0x02, 64240, 0));
    assert!(t.syn() && !t.ack() && !t.fin() && !t.rst());
    assert_eq!(t.checksum(), 0x658b);
    assert!(t.verify_checksum(&p.src_addr(), &p.dst_addr()));
    assert!(!t.verify_checksum(&p.dst_addr(), &ip(1, 2, 3, 4)));
    let opts: Vec<_> = t.options_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(opts, syn_options());
    let s = wire::SynOptions::parse(t.options());
    assert_eq!(
        (s.mss, s.window_scale, s.sack_permitted, s.timestamps),
        (Some(1460), Some(7), true, Some((2316216134, 0)))
    );
    assert_eq!(t.segment_len(), 1);

    let (src, dst) = (ip(198, 51, 100, 7), ip(203, 0, 113, 10));
    let mut b = vec![0u8; 14 + 60];
    eth(&mut b, D, R, ethertype::IPV4);
    ipv4(&mut b[14..], &V4 { tos: 0, total: 60, id: 0xa3f1, df: true, ttl: 63, proto: ip_proto::TCP, src, dst });
    Ipv4Packet::new_unchecked(&mut b[14..]).fill_checksum();
    syn_segment(&mut b[34..], src, dst);
    assert_eq!(b, g);
}

const DNS_QUERY: &str = "1a2b01000001000000000000076578616d706c6503636f6d0000010001";

#[test]
fn udp_dns_query() {
    let g = hex(UDP_DNS);
    let p = Ipv4Packet::new_checked(&g[14..]).unwrap();
    assert!(!p.dont_frag() && p.verify_checksum());
    let u = UdpPacket::new_checked(p.payload()).unwrap();
    assert_eq!((u.src_port(), u.dst_port(), u.len(), u.checksum()), (51234, 53, 37, 0x7b97));
    assert!(u.verify_checksum(&p.src_addr(), &p.dst_addr()));
    assert_eq!(u.payload(), &hex(DNS_QUERY)[..]);

    let (src, dst) = (ip(192, 168, 1, 100), ip(8, 8, 8, 8));
    let mut b = vec![0u8; 14 + 57];
    eth(&mut b, R, C, ethertype::IPV4);
    ipv4(&mut b[14..], &V4 { tos: 0, total: 57, id: 0x6d2b, df: false, ttl: 64, proto: ip_proto::UDP, src, dst });
    Ipv4Packet::new_unchecked(&mut b[14..]).fill_checksum();
    let mut u = UdpPacket::new_unchecked(&mut b[34..]);
    u.set_src_port(51234);
    u.set_dst_port(53);
    u.set_len(37);
    u.payload_mut().copy_from_slice(&hex(DNS_QUERY));
    u.fill_checksum(&src, &dst);
    assert_eq!(b, g);
}

const TRACEROUTE_PAYLOAD: &[u8] = b"@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_";

#[test]
fn icmp_port_unreachable_quotes_udp() {
    let g = hex(ICMP_PORT_UNREACH);
    let p = Ipv4Packet::new_checked(&g[14..]).unwrap();
    assert_eq!((p.dscp_ecn(), p.total_len()), (0xc0, 88));
    let i = Icmpv4Packet::new_checked(p.payload()).unwrap();
    assert_eq!((i.msg_type(), i.msg_code()), (icmpv4_type::DST_UNREACHABLE, icmpv4_code::PORT_UNREACHABLE));
    assert!(i.verify_checksum() && i.is_error());
    let q = i.quoted_ipv4().unwrap();
    assert_eq!(
        (q.src_addr(), q.dst_addr(), q.protocol(), q.ident()),
        (ip(192, 168, 1, 100), ip(192, 168, 1, 1), 17, 0x6d2b)
    );
    assert!(q.verify_checksum());
    let qu = UdpPacket::new_checked(q.payload()).unwrap();
    assert_eq!((qu.src_port(), qu.dst_port(), qu.len()), (51234, 33434, 40));
    assert!(qu.verify_checksum(&q.src_addr(), &q.dst_addr()));
    assert_eq!(qu.payload(), TRACEROUTE_PAYLOAD);

    let (r, c) = (ip(192, 168, 1, 1), ip(192, 168, 1, 100));
    let mut b = vec![0u8; 14 + 88];
    eth(&mut b, C, R, ethertype::IPV4);
    ipv4(
        &mut b[14..],
        &V4 { tos: 0xc0, total: 88, id: 0x0f13, df: false, ttl: 64, proto: ip_proto::ICMP, src: r, dst: c },
    );
    Ipv4Packet::new_unchecked(&mut b[14..]).fill_checksum();
    ipv4(&mut b[42..], &V4 { tos: 0, total: 60, id: 0x6d2b, df: false, ttl: 64, proto: ip_proto::UDP, src: c, dst: r });
    Ipv4Packet::new_unchecked(&mut b[42..]).fill_checksum();
    let mut u = UdpPacket::new_unchecked(&mut b[62..]);
    u.set_src_port(51234);
    u.set_dst_port(33434);
    u.set_len(40);
    u.payload_mut().copy_from_slice(TRACEROUTE_PAYLOAD);
    u.fill_checksum(&c, &r);
    let mut i = Icmpv4Packet::new_unchecked(&mut b[34..]);
    i.set_msg_type(icmpv4_type::DST_UNREACHABLE);
    i.set_msg_code(icmpv4_code::PORT_UNREACHABLE);
    i.set_rest_of_header(0);
    i.fill_checksum();
    assert_eq!(b, g);
}

#[test]
fn icmp_frag_needed_quotes_only_64_bits() {
    let g = hex(ICMP_FRAG_NEEDED);
    let p = Ipv4Packet::new_checked(&g[14..]).unwrap();
    let i = Icmpv4Packet::new_checked(p.payload()).unwrap();
    assert_eq!((i.msg_type(), i.msg_code(), i.next_hop_mtu()), (3, icmpv4_code::FRAG_NEEDED, 1400));
    assert!(i.verify_checksum());
    // The quote claims 1500 bytes but carries 28: only the truncated view accepts it.
    assert_eq!(Ipv4Packet::new_checked(i.data()).unwrap_err(), wire::Error::Truncated);
    let q = i.quoted_ipv4().unwrap();
    assert_eq!((q.total_len(), q.payload().len(), q.protocol()), (1500, 8, ip_proto::TCP));
    assert!(q.dont_frag() && q.verify_checksum());
    let ports = UdpPacket::new_checked_truncated(q.payload()).unwrap();
    assert_eq!((ports.src_port(), ports.dst_port()), (80, 54321));
    assert_eq!(TcpPacket::new_checked(q.payload()).unwrap_err(), wire::Error::Truncated);

    let (vip, client, rtr) = (ip(203, 0, 113, 10), ip(198, 51, 100, 7), ip(198, 51, 100, 1));
    let mut b = vec![0u8; 14 + 56];
    eth(&mut b, D, R, ethertype::IPV4);
    ipv4(&mut b[14..], &V4 { tos: 0, total: 56, id: 1, df: false, ttl: 64, proto: ip_proto::ICMP, src: rtr, dst: vip });
    Ipv4Packet::new_unchecked(&mut b[14..]).fill_checksum();
    // The original 1500-byte segment, built whole, then cut to header + 8 bytes.
    let mut orig = vec![0u8; 1500];
    ipv4(
        &mut orig,
        &V4 { tos: 0, total: 1500, id: 0xa3f2, df: true, ttl: 62, proto: ip_proto::TCP, src: vip, dst: client },
    );
    Ipv4Packet::new_unchecked(&mut orig[..]).fill_checksum();
    let mut t = TcpPacket::new_unchecked(&mut orig[20..]);
    t.set_src_port(80);
    t.set_dst_port(54321);
    t.set_seq_number(1);
    t.set_ack_number(2);
    t.set_header_len(20);
    t.set_flags(wire::tcp_flags::ACK);
    t.set_window_len(502);
    t.payload_mut().fill(b'x');
    t.fill_checksum(&vip, &client);
    b[42..].copy_from_slice(&orig[..28]);
    let mut i = Icmpv4Packet::new_unchecked(&mut b[34..]);
    i.set_msg_type(icmpv4_type::DST_UNREACHABLE);
    i.set_msg_code(icmpv4_code::FRAG_NEEDED);
    i.set_next_hop_mtu(1400);
    i.fill_checksum();
    assert_eq!(b, g);
}

#[test]
fn ipip_encapsulated_syn() {
    let g = hex(IPIP_SYN);
    let outer = Ipv4Packet::new_checked(&g[14..]).unwrap();
    assert_eq!((outer.protocol(), outer.total_len(), outer.ttl()), (ip_proto::IPIP, 80, 64));
    assert_eq!((outer.src_addr(), outer.dst_addr()), (ip(10, 0, 0, 1), ip(10, 0, 1, 10)));
    assert!(outer.verify_checksum() && outer.dont_frag());
    let inner = Ipv4Packet::new_checked(outer.payload()).unwrap();
    assert_eq!((inner.src_addr(), inner.dst_addr(), inner.ttl()), (ip(198, 51, 100, 7), ip(203, 0, 113, 10), 62));
    let t = TcpPacket::new_checked(inner.payload()).unwrap();
    assert!(t.syn() && t.verify_checksum(&inner.src_addr(), &inner.dst_addr()));

    // Director, TUN mode: take the client's frame, encapsulate, rewrite MACs.
    let (src, dst) = (ip(198, 51, 100, 7), ip(203, 0, 113, 10));
    let mut frame = vec![0u8; 14 + 60];
    eth(&mut frame, D, R, ethertype::IPV4);
    ipv4(&mut frame[14..], &V4 { tos: 0, total: 60, id: 0xa3f1, df: true, ttl: 62, proto: ip_proto::TCP, src, dst });
    Ipv4Packet::new_unchecked(&mut frame[14..]).fill_checksum();
    syn_segment(&mut frame[34..], src, dst);
    frame.resize(14 + 60 + 6, 0xee); // trailing garbage is trimmed by encapsulate
    let mut buf = wire::VecBuf::from_slice(&frame);
    let params = IpipEncap { src: ip(10, 0, 0, 1), dst: ip(10, 0, 1, 10), ttl: 64, ident: 0 };
    ipip::encapsulate(&mut buf, 14, &params).unwrap();
    use wire::PacketBuf;
    let mut e = EthernetFrame::new_checked(buf.data_mut()).unwrap();
    e.set_dst_addr(EthernetAddress([0x52, 0x54, 0, 0xaa, 0xbb, 0xcc]));
    e.set_src_addr(D);
    assert_eq!(buf.data(), &g[..]);
    // And back: the real server's decapsulation gives the original frame (less MACs).
    ipip::decapsulate(&mut buf, 14).unwrap();
    assert_eq!(buf.data()[14..], frame[14..74]);
}

#[test]
fn vlan_tagged_udp() {
    let g = hex(VLAN_UDP);
    let f = EthernetFrame::new_checked(&g[..]).unwrap();
    assert_eq!(f.ethertype(), ethertype::VLAN);
    let tag = VlanTag::new_checked(f.payload()).unwrap();
    assert_eq!((tag.pcp(), tag.dei(), tag.vid(), tag.ethertype()), (5, false, 100, ethertype::IPV4));
    assert_eq!(l3_offset(&g), Ok((ethertype::IPV4, 18, Some(100))));
    let p = Ipv4Packet::new_checked(tag.payload()).unwrap();
    let u = UdpPacket::new_checked(p.payload()).unwrap();
    assert_eq!((u.src_port(), u.dst_port(), u.payload()), (40000, 5353, &b"hello"[..]));
    assert!(p.verify_checksum() && u.verify_checksum(&p.src_addr(), &p.dst_addr()));

    let (src, dst) = (ip(10, 100, 0, 2), ip(10, 100, 0, 1));
    let mut b = vec![0u8; 18 + 33];
    eth(&mut b, R, C, ethertype::VLAN);
    let mut t = VlanTag::new_checked(&mut b[14..]).unwrap();
    t.set_pcp_dei_vid(5, false, 100);
    t.set_ethertype(ethertype::IPV4);
    ipv4(&mut b[18..], &V4 { tos: 0, total: 33, id: 0x42, df: false, ttl: 64, proto: ip_proto::UDP, src, dst });
    Ipv4Packet::new_unchecked(&mut b[18..]).fill_checksum();
    let mut u = UdpPacket::new_unchecked(&mut b[38..]);
    u.set_src_port(40000);
    u.set_dst_port(5353);
    u.set_len(13);
    u.payload_mut().copy_from_slice(b"hello");
    u.fill_checksum(&src, &dst);
    assert_eq!(b, g);
}

#[test]
fn tcp_ack_with_sack_blocks() {
    let g = hex(TCP_ACK_SACK);
    let p = Ipv4Packet::new_checked(&g[14..]).unwrap();
    let t = TcpPacket::new_checked(p.payload()).unwrap();
    assert_eq!((t.header_len(), t.flags(), t.window_len(), t.checksum()), (52, 0x10, 501, 0x9d65));
    assert!(t.ack() && !t.syn() && t.payload().is_empty() && t.segment_len() == 0);
    assert!(t.verify_checksum(&p.src_addr(), &p.dst_addr()));
    let sack = TcpOption::SackRange([Some((0x5f3a2e8e, 0x5f3a3436)), Some((0x5f3a39de, 0x5f3a3f86)), None, None]);
    let want = [
        TcpOption::NoOperation,
        TcpOption::NoOperation,
        TcpOption::Timestamps { tsval: 3339741520, tsecr: 2316216200 },
        TcpOption::NoOperation,
        TcpOption::NoOperation,
        sack,
    ];
    assert_eq!(t.options_iter().collect::<Result<Vec<_>, _>>().unwrap(), want);

    let (src, dst) = (ip(203, 0, 113, 10), ip(198, 51, 100, 7));
    let mut b = vec![0u8; 14 + 72];
    eth(&mut b, R, D, ethertype::IPV4);
    ipv4(&mut b[14..], &V4 { tos: 0, total: 72, id: 0x51c0, df: true, ttl: 64, proto: ip_proto::TCP, src, dst });
    Ipv4Packet::new_unchecked(&mut b[14..]).fill_checksum();
    let mut t = TcpPacket::new_unchecked(&mut b[34..]);
    t.set_src_port(80);
    t.set_dst_port(54321);
    t.set_seq_number(0x10000001);
    t.set_ack_number(0x5f3a1c2e);
    t.set_header_len(52);
    t.set_ack(true);
    t.set_window_len(501);
    assert_eq!(wire::tcp::write_options(&want, t.options_mut()), Ok(32));
    t.fill_checksum(&src, &dst);
    assert_eq!(b, g);
}

#[test]
fn igmp_report_with_router_alert_option() {
    let g = hex(IGMP_REPORT_RA);
    let p = Ipv4Packet::new_checked(&g[14..]).unwrap();
    assert_eq!((p.header_len(), p.total_len(), p.ttl(), p.protocol(), p.dscp_ecn()), (24, 32, 1, 2, 0xc0));
    assert!(p.verify_checksum());
    assert_eq!(p.options(), &[0x94, 4, 0, 0]);
    let opts: Vec<_> = p.options_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(opts, vec![wire::ipv4::Ipv4Option { kind: 0x94, data: &[0, 0] }]);
    assert_eq!(p.payload(), &hex("16000904e00000fb")[..]);
    assert_eq!(wire::checksum::data(p.payload()), 0xffff, "IGMP uses the Internet checksum");

    let mut b = vec![0u8; 14 + 32];
    eth(&mut b, EthernetAddress([1, 0, 0x5e, 0, 0, 0xfb]), C, ethertype::IPV4);
    let h = V4 {
        tos: 0xc0,
        total: 32,
        id: 0,
        df: true,
        ttl: 1,
        proto: 2,
        src: ip(192, 168, 1, 100),
        dst: ip(224, 0, 0, 251),
    };
    ipv4(&mut b[14..], &h);
    let mut p = Ipv4Packet::new_unchecked(&mut b[14..]);
    p.set_version_and_header_len(4, 24);
    p.options_mut().copy_from_slice(&[0x94, 4, 0, 0]);
    p.fill_checksum();
    let igmp = p.payload_mut();
    igmp.copy_from_slice(&[0x16, 0, 0, 0, 224, 0, 0, 251]);
    let c = !wire::checksum::data(igmp);
    igmp[2..4].copy_from_slice(&c.to_be_bytes());
    assert_eq!(b, g);
}

#[test]
fn ipv4_non_first_fragment() {
    let g = hex(IPV4_FRAG_SECOND);
    let p = Ipv4Packet::new_checked(&g[14..]).unwrap();
    assert_eq!((p.ident(), p.frag_offset(), p.more_frags(), p.dont_frag()), (0x1234, 1480, false, false));
    assert!(p.is_fragment() && p.verify_checksum());
    assert_eq!(p.payload(), &[b'z'; 128][..]);

    let mut b = vec![0u8; 14 + 148];
    eth(&mut b, D, R, ethertype::IPV4);
    let h = V4 {
        tos: 0,
        total: 148,
        id: 0x1234,
        df: false,
        ttl: 63,
        proto: ip_proto::UDP,
        src: ip(198, 51, 100, 7),
        dst: ip(203, 0, 113, 10),
    };
    ipv4(&mut b[14..], &h);
    let mut p = Ipv4Packet::new_unchecked(&mut b[14..]);
    p.set_flags_and_frag_offset(false, false, 1480);
    p.fill_checksum();
    p.payload_mut().fill(b'z');
    assert_eq!(b, g);
}
