//! The build side against scapy: every Repr variant and both tunnels emit exactly the
//! frames of `tests/golden/gen.py emit`, and parsing those frames gives the Reprs back.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use common::emit_vectors::*;
use common::{hex, to_hex};
use wire::frame::{emit_arp_frame, emit_icmpv4_frame, emit_icmpv6_frame};
use wire::{
    arp_op, ethertype, icmpv4_code, icmpv6_code, ip6tnl, ip_proto, ipip, ArpPacket, ArpRepr, EthernetAddress,
    EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpipEncap, Ipv4Packet, Ipv4Repr,
    Ipv6Packet, Ipv6Repr, Ipv6TunnelEncap, PacketBuf, VecBuf,
};

const R: EthernetAddress = EthernetAddress([0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]);
const D: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
const RS: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc]);

fn a4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn eth(dst: EthernetAddress, ethertype: u16) -> EthernetRepr {
    EthernetRepr { src_addr: D, dst_addr: dst, ethertype }
}

fn empty() -> VecBuf {
    VecBuf::with_room(&[], 0, 2048)
}

/// Linux ping data (see gen.py).
fn ping_data() -> Vec<u8> {
    let mut d = hex("5e7c3b6700000000a1b2030000000000");
    d.extend(0x10u8..0x38);
    d
}

fn v4(src: &str, dst: &str, ident: u16, dont_frag: bool, dscp_ecn: u8, icmp: &Icmpv4Repr) -> Ipv4Repr {
    Ipv4Repr {
        src_addr: a4(src),
        dst_addr: a4(dst),
        protocol: ip_proto::ICMP,
        payload_len: icmp.buffer_len() as u16,
        ttl: 64,
        ident,
        dont_frag,
        dscp_ecn,
    }
}

fn v6(src: &str, dst: &str, hop_limit: u8, traffic_class: u8, flow_label: u32, icmp: &Icmpv6Repr) -> Ipv6Repr {
    Ipv6Repr {
        src_addr: a6(src),
        dst_addr: a6(dst),
        next_header: ip_proto::ICMPV6,
        payload_len: icmp.buffer_len() as u16,
        hop_limit,
        traffic_class,
        flow_label,
    }
}

/// Emit, compare with the golden, then parse the golden back into the same reprs.
fn check_v4(golden: &str, eth: EthernetRepr, ip: Ipv4Repr, icmp: Icmpv4Repr) {
    let mut b = empty();
    assert_eq!(emit_icmpv4_frame(&mut b, &eth, &ip, &icmp), Ok(golden.len() / 2));
    assert_eq!(to_hex(b.data()), golden);
    let g = hex(golden);
    let f = EthernetFrame::new_checked(&g[..]).unwrap();
    assert_eq!(EthernetRepr::parse(&f), Ok(eth));
    let p = Ipv4Packet::new_checked(f.payload()).unwrap();
    assert_eq!(Ipv4Repr::parse(&p), Ok(ip));
    assert_eq!(Icmpv4Repr::parse(&Icmpv4Packet::new_checked(p.payload()).unwrap()), Ok(icmp));
}

fn check_v6(golden: &str, eth: EthernetRepr, ip: Ipv6Repr, icmp: Icmpv6Repr) {
    let mut b = empty();
    assert_eq!(emit_icmpv6_frame(&mut b, &eth, &ip, &icmp), Ok(golden.len() / 2));
    assert_eq!(to_hex(b.data()), golden);
    let g = hex(golden);
    let f = EthernetFrame::new_checked(&g[..]).unwrap();
    assert_eq!(EthernetRepr::parse(&f), Ok(eth));
    let p = Ipv6Packet::new_checked(f.payload()).unwrap();
    assert_eq!(Ipv6Repr::parse(&p), Ok(ip));
    let i = Icmpv6Packet::new_checked(p.payload()).unwrap();
    assert_eq!(Icmpv6Repr::parse(&ip.src_addr, &ip.dst_addr, &i), Ok(icmp));
}

#[test]
fn arp_probe_and_answer() {
    for (golden, op, dst, spa, tha) in [
        (ARP_PROBE, arp_op::REQUEST, EthernetAddress::BROADCAST, "10.0.2.2", EthernetAddress::default()),
        (ARP_ANSWER, arp_op::REPLY, R, "10.0.2.100", R),
    ] {
        let e = eth(dst, ethertype::ARP);
        let arp = ArpRepr {
            operation: op,
            source_hardware_addr: D,
            source_protocol_addr: a4(spa),
            target_hardware_addr: tha,
            target_protocol_addr: a4("10.0.2.1"),
        };
        let mut b = empty();
        assert_eq!(emit_arp_frame(&mut b, &e, &arp), Ok(42));
        assert_eq!(to_hex(b.data()), golden);
        let g = hex(golden);
        let f = EthernetFrame::new_checked(&g[..]).unwrap();
        assert_eq!(EthernetRepr::parse(&f), Ok(e));
        assert_eq!(ArpRepr::parse(&ArpPacket::new_checked(f.payload()).unwrap()), Ok(arp));
    }
}

#[test]
fn icmpv4_echo_request_and_reply() {
    let data = ping_data();
    let req = Icmpv4Repr::EchoRequest { ident: 0x0b0b, seq_no: 7, data: &data };
    check_v4(ICMP_ECHO_REQUEST_EMIT, eth(R, ethertype::IPV4), v4("10.0.2.2", "10.0.2.1", 1, true, 0, &req), req);
    let rep = Icmpv4Repr::EchoReply { ident: 0x1c46, seq_no: 1, data: &data };
    let ip = v4("8.8.8.8", "192.168.1.100", 0x3c5e, false, 0, &rep);
    check_v4(ICMP_ECHO_REPLY_EMIT, eth(R, ethertype::IPV4), ip, rep);
}

#[test]
fn icmpv4_errors_quote_the_offending_datagram() {
    let e = eth(R, ethertype::IPV4);
    // Quotes are the bytes after Ethernet (14), IPv4 (20) and ICMP (8) headers.
    let g = hex(ICMP_PORT_UNREACH_EMIT);
    let icmp = Icmpv4Repr::DstUnreachable { code: icmpv4_code::PORT_UNREACHABLE, next_hop_mtu: 0, quote: &g[42..] };
    check_v4(ICMP_PORT_UNREACH_EMIT, e, v4("10.0.2.100", "192.168.1.100", 0, false, 0xc0, &icmp), icmp);

    let g = hex(ICMP_FRAG_NEEDED_EMIT);
    assert_eq!(wire::icmpv4::error_quote(&g[42..]).len(), 548, "the quote fills 576 bytes");
    let icmp = Icmpv4Repr::DstUnreachable { code: icmpv4_code::FRAG_NEEDED, next_hop_mtu: 1480, quote: &g[42..] };
    check_v4(ICMP_FRAG_NEEDED_EMIT, e, v4("10.0.2.2", "203.0.113.10", 0, false, 0, &icmp), icmp);

    let g = hex(ICMP_TIME_EXCEEDED_EMIT);
    let icmp = Icmpv4Repr::TimeExceeded { code: 0, quote: &g[42..] };
    check_v4(ICMP_TIME_EXCEEDED_EMIT, e, v4("10.0.2.2", "192.168.1.100", 0, false, 0xc0, &icmp), icmp);

    let g = hex(ICMP_PARAM_PROBLEM_EMIT);
    let icmp = Icmpv4Repr::ParamProblem { pointer: 20, quote: &g[42..] };
    check_v4(ICMP_PARAM_PROBLEM_EMIT, e, v4("10.0.2.2", "192.168.1.100", 0, false, 0, &icmp), icmp);
}

#[test]
fn icmpv6_echo_request_and_reply() {
    let e = eth(R, ethertype::IPV6);
    let req = Icmpv6Repr::EchoRequest { ident: 0x2a, seq_no: 3, data: b"rvs!" };
    check_v6(ICMPV6_ECHO_REQUEST_EMIT, e, v6("2001:db8::10", "2001:db8::1", 64, 0, 0x12345, &req), req);
    let rep = Icmpv6Repr::EchoReply { ident: 0x2a, seq_no: 3, data: b"rvs!" };
    check_v6(ICMPV6_ECHO_REPLY_EMIT, e, v6("2001:db8:1::1", "2001:db8::100", 64, 0xb8, 0, &rep), rep);
}

#[test]
fn icmpv6_errors_quote_up_to_the_minimum_mtu() {
    let e = eth(R, ethertype::IPV6);
    // Quotes follow Ethernet (14), IPv6 (40) and ICMPv6 (8) headers.
    let g = hex(ICMPV6_PORT_UNREACH_EMIT);
    let icmp = Icmpv6Repr::DstUnreachable { code: icmpv6_code::PORT_UNREACHABLE, quote: &g[62..] };
    check_v6(ICMPV6_PORT_UNREACH_EMIT, e, v6("2001:db8:1::7", "2001:db8::100", 64, 0, 0, &icmp), icmp);

    let g = hex(ICMPV6_PTB_EMIT);
    let mut invoking = g[62..].to_vec();
    invoking.extend_from_slice(&[0x79; 248]); // the rest of the 1480-byte packet
    let icmp = Icmpv6Repr::PacketTooBig { mtu: 1280, quote: wire::icmpv6::error_quote(&invoking) };
    let ip = v6("2001:db8::1", "2001:db8::10", 64, 0, 0, &icmp);
    assert_eq!(ip.buffer_len(), 1280);
    check_v6(ICMPV6_PTB_EMIT, e, ip, icmp);

    let g = hex(ICMPV6_TIME_EXCEEDED_EMIT);
    let icmp = Icmpv6Repr::TimeExceeded { code: 0, quote: &g[62..] };
    check_v6(ICMPV6_TIME_EXCEEDED_EMIT, e, v6("2001:db8::1", "2001:db8::100", 64, 0, 0, &icmp), icmp);

    let g = hex(ICMPV6_PARAM_PROBLEM_EMIT);
    let icmp = Icmpv6Repr::ParamProblem { code: 1, pointer: 6, quote: &g[62..] };
    check_v6(ICMPV6_PARAM_PROBLEM_EMIT, e, v6("2001:db8::1", "2001:db8::100", 64, 0, 0, &icmp), icmp);
}

#[test]
fn ndp_solicitations() {
    let ns = Icmpv6Repr::NeighborSolicit { target: a6("2001:db8::1"), source_lladdr: Some(D) };
    let e = eth(EthernetAddress([0x33, 0x33, 0xff, 0, 0, 1]), ethertype::IPV6);
    check_v6(NDP_NS, e, v6("fe80::ff:fe00:1", "ff02::1:ff00:1", 255, 0, 0, &ns), ns);
    // Duplicate address detection: from ::, so no link-layer option (RFC 4861 §7.2.2).
    let dad = Icmpv6Repr::NeighborSolicit { target: a6("2001:db8::10"), source_lladdr: None };
    let e = eth(EthernetAddress([0x33, 0x33, 0xff, 0, 0, 0x10]), ethertype::IPV6);
    check_v6(NDP_NS_DAD, e, v6("::", "ff02::1:ff00:10", 255, 0, 0, &dad), dad);
}

#[test]
fn ndp_advertisements() {
    let na = Icmpv6Repr::NeighborAdvert {
        router: false,
        solicited: true,
        override_: true,
        target: a6("2001:db8::10"),
        target_lladdr: Some(D),
    };
    check_v6(NDP_NA, eth(R, ethertype::IPV6), v6("2001:db8::10", "fe80::21a:2bff:fe3c:4d5e", 255, 0, 0, &na), na);
    let una = Icmpv6Repr::NeighborAdvert {
        router: true,
        solicited: false,
        override_: true,
        target: a6("2001:db8::10"),
        target_lladdr: None,
    };
    let e = eth(EthernetAddress([0x33, 0x33, 0, 0, 0, 1]), ethertype::IPV6);
    check_v6(NDP_NA_UNSOLICITED, e, v6("fe80::ff:fe00:1", "ff02::1", 255, 0, 0, &una), una);
    // The same NA with hop limit 64 is refused, and leaves the buffer empty.
    let mut b = empty();
    let ip = v6("2001:db8::10", "fe80::1", 64, 0, 0, &na);
    assert_eq!(emit_icmpv6_frame(&mut b, &eth(R, ethertype::IPV6), &ip, &na), Err(wire::Error::Malformed));
    assert!(b.is_empty());
}

/// The director's TUN step: the client's frame (addressed to it, padded), encapsulated,
/// MACs rewritten for the real server, equals the golden; decapsulation gives it back.
fn check_tunnel(
    golden: &str,
    outer_len: usize,
    encap: impl Fn(&mut VecBuf) -> wire::Result<()>,
    decap: fn(&mut VecBuf) -> wire::Result<()>,
) {
    let g = hex(golden);
    let ty = u16::from_be_bytes([g[12], g[13]]);
    let mut frame = vec![0u8; 14];
    EthernetRepr { src_addr: R, dst_addr: D, ethertype: ty }
        .emit(&mut EthernetFrame::new_unchecked(&mut frame[..]))
        .unwrap();
    frame.extend_from_slice(&g[14 + outer_len..]);
    let mut buf = VecBuf::from_slice(&frame);
    buf.append(6).unwrap().fill(0xee); // trailing padding is trimmed
    encap(&mut buf).unwrap();
    eth(RS, ty).emit(&mut EthernetFrame::new_unchecked(buf.data_mut())).unwrap();
    assert_eq!(to_hex(buf.data()), golden);
    decap(&mut buf).unwrap();
    assert_eq!(buf.data()[14..], frame[14..]);
    assert_eq!(buf.data()[12..14], ty.to_be_bytes());
}

#[test]
fn both_tunnels() {
    let p = Ipv6TunnelEncap { src: a6("2001:db8::2"), dst: a6("2001:db8:3::11"), hop_limit: 64, flow_label: 0xbeef };
    check_tunnel(IP6TNL_SYN, 40, |b| ip6tnl::encapsulate(b, 14, &p), |b| ip6tnl::decapsulate(b, 14));
    let p = IpipEncap { src: a4("10.0.0.1"), dst: a4("10.0.1.10"), ttl: 64, ident: 0 };
    check_tunnel(common::vectors::IPIP_SYN, 20, |b| ipip::encapsulate(b, 14, &p), |b| ipip::decapsulate(b, 14));
    // The outer IPv6 header parses as the repr the tunnel was given.
    let g = hex(IP6TNL_SYN);
    let outer = Ipv6Repr::parse(&Ipv6Packet::new_checked(&g[14..]).unwrap()).unwrap();
    assert_eq!((outer.next_header, outer.payload_len, outer.traffic_class), (ip_proto::IPV6, 80, 0x28));
}
