//! An independent oracle: etherparse (0.16) must accept, field for field and with the
//! same checksums, the packets our setters build; and we must accept what its
//! PacketBuilder writes. Random fields via proptest.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{
    IcmpEchoHeader, Icmpv4Type, Icmpv6Type, NetSlice, PacketBuilder, SlicedPacket, TcpOptionElement, TransportSlice,
    VlanSlice,
};
use proptest::prelude::*;
use wire::frame::{emit_icmpv4_frame, emit_icmpv6_frame};
use wire::ipv6::{Ipv6ExtHeader, Ipv6FragmentHeader};
use wire::{
    ethertype, icmpv4_type, icmpv6_type, ip_proto, EthernetAddress, EthernetFrame, EthernetRepr, Icmpv4Packet,
    Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, PacketBuf, TcpOption, TcpPacket,
    UdpPacket, VecBuf, VlanTag,
};

#[derive(Debug, Clone)]
struct L4 {
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    mss: Option<u16>,
    ws: Option<u8>,
    sack_perm: bool,
    ts: Option<(u32, u32)>,
    sack: Option<(u32, u32)>,
    payload: Vec<u8>,
}

fn l4() -> impl Strategy<Value = L4> {
    (
        (any::<u16>(), any::<u16>(), any::<u32>(), any::<u32>(), any::<u8>(), any::<u16>()),
        (
            any::<Option<u16>>(),
            proptest::option::of(0u8..15),
            any::<bool>(),
            any::<Option<(u32, u32)>>(),
            any::<Option<(u32, u32)>>(),
        ),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|((sport, dport, seq, ack, flags, window), (mss, ws, sack_perm, ts, sack), payload)| L4 {
            sport,
            dport,
            seq,
            ack,
            flags,
            window,
            mss,
            ws,
            sack_perm,
            ts,
            sack,
            payload,
        })
}

fn options(l: &L4) -> Vec<TcpOption<'static>> {
    let mut v = Vec::new();
    if let Some(m) = l.mss {
        v.push(TcpOption::MaxSegmentSize(m));
    }
    if l.sack_perm {
        v.push(TcpOption::SackPermitted);
    }
    if let Some((a, b)) = l.ts {
        v.push(TcpOption::NoOperation);
        v.push(TcpOption::NoOperation);
        v.push(TcpOption::Timestamps { tsval: a, tsecr: b });
    }
    if let Some(w) = l.ws {
        v.push(TcpOption::NoOperation);
        v.push(TcpOption::WindowScale(w));
    }
    if let Some(b) = l.sack {
        v.push(TcpOption::SackRange([Some(b), None, None, None]));
    }
    v
}

/// Write a TCP segment with our setters into `buf` (exactly the segment length).
fn write_tcp(buf: &mut [u8], l: &L4, opts_len: usize) {
    let opts = options(l);
    let mut t = TcpPacket::new_unchecked(buf);
    t.set_src_port(l.sport);
    t.set_dst_port(l.dport);
    t.set_seq_number(l.seq);
    t.set_ack_number(l.ack);
    t.set_header_len(20 + opts_len);
    t.set_flags(l.flags);
    t.set_window_len(l.window);
    t.set_urgent_at(0);
    wire::tcp::write_options(&opts, t.options_mut()).unwrap();
    t.payload_mut().copy_from_slice(&l.payload);
}

fn ipv4_header(buf: &mut [u8], total: usize, proto: u8, ttl: u8, id: u16, src: Ipv4Addr, dst: Ipv4Addr) {
    let mut p = Ipv4Packet::new_unchecked(buf);
    p.set_version_and_header_len(4, 20);
    p.set_dscp_ecn(0);
    p.set_total_len(total as u16);
    p.set_ident(id);
    p.set_flags_and_frag_offset(true, false, 0);
    p.set_ttl(ttl);
    p.set_protocol(proto);
    p.set_src_addr(src);
    p.set_dst_addr(dst);
    p.fill_checksum();
}

fn eth(buf: &mut [u8], ty: u16) {
    let mut e = EthernetFrame::new_unchecked(buf);
    e.set_dst_addr(EthernetAddress([2, 0, 0, 0, 0, 2]));
    e.set_src_addr(EthernetAddress([2, 0, 0, 0, 0, 1]));
    e.set_ethertype(ty);
}

fn ep_net(frame: &[u8]) -> SlicedPacket<'_> {
    SlicedPacket::from_ethernet(frame).expect("etherparse accepts our frame")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tcp_over_ipv4_agrees(l in l4(), src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), ttl in 1u8.., id in any::<u16>(), vid in proptest::option::of(1u16..4095)) {
        let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
        let opts_len = wire::tcp::options_len(&options(&l));
        let l2 = if vid.is_some() { 18 } else { 14 };
        let seg = 20 + opts_len + l.payload.len();
        let mut f = vec![0u8; l2 + 20 + seg];
        if let Some(v) = vid {
            eth(&mut f, ethertype::VLAN);
            let mut t = VlanTag::new_unchecked(&mut f[14..]);
            t.set_pcp_dei_vid(3, false, v);
            t.set_ethertype(ethertype::IPV4);
        } else {
            eth(&mut f, ethertype::IPV4);
        }
        ipv4_header(&mut f[l2..], 20 + seg, ip_proto::TCP, ttl, id, src, dst);
        write_tcp(&mut f[l2 + 20..], &l, opts_len);
        TcpPacket::new_unchecked(&mut f[l2 + 20..]).fill_checksum(&src, &dst);

        let sp = ep_net(&f);
        if let Some(v) = vid {
            match sp.vlan { Some(VlanSlice::SingleVlan(s)) => prop_assert_eq!(s.vlan_identifier().value(), v), other => prop_assert!(false, "vlan {:?}", other) }
        }
        let Some(NetSlice::Ipv4(ip)) = &sp.net else { panic!("not ipv4") };
        let h = ip.header();
        prop_assert_eq!((h.source_addr(), h.destination_addr(), h.ttl(), h.identification()), (src, dst, ttl, id));
        prop_assert!(h.dont_fragment());
        prop_assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
        let Some(TransportSlice::Tcp(t)) = &sp.transport else { panic!("not tcp") };
        prop_assert_eq!((t.source_port(), t.destination_port(), t.sequence_number(), t.acknowledgment_number()), (l.sport, l.dport, l.seq, l.ack));
        prop_assert_eq!((t.syn(), t.fin(), t.ack(), t.window_size()), (l.flags & 2 != 0, l.flags & 1 != 0, l.flags & 0x10 != 0, l.window));
        prop_assert_eq!(t.calc_checksum_ipv4(src.octets(), dst.octets()).unwrap(), t.checksum());
        prop_assert_eq!(t.payload(), &l.payload[..]);
        // etherparse's option parser agrees with what we wrote.
        let theirs: Vec<_> = t.options_iterator().map(|o| o.unwrap()).collect();
        let ours: Vec<_> = options(&l).into_iter().filter(|o| *o != TcpOption::NoOperation).collect();
        let theirs: Vec<_> = theirs.into_iter().filter(|o| *o != TcpOptionElement::Noop).collect();
        prop_assert_eq!(theirs.len(), ours.len());
        for (a, b) in ours.iter().zip(theirs.iter()) {
            let same = match (a, b) {
                (TcpOption::MaxSegmentSize(x), TcpOptionElement::MaximumSegmentSize(y)) => x == y,
                (TcpOption::WindowScale(x), TcpOptionElement::WindowScale(y)) => x == y,
                (TcpOption::SackPermitted, TcpOptionElement::SelectiveAcknowledgementPermitted) => true,
                (TcpOption::Timestamps { tsval, tsecr }, TcpOptionElement::Timestamp(x, y)) => (tsval, tsecr) == (x, y),
                (TcpOption::SackRange(r), TcpOptionElement::SelectiveAcknowledgement(first, rest)) => r[0] == Some(*first) && rest[0].is_none(),
                _ => false,
            };
            prop_assert!(same, "{:?} vs {:?}", a, b);
        }
    }

    #[test]
    fn udp_over_ipv4_and_ipv6_agrees(sport in any::<u16>(), dport in any::<u16>(), payload in proptest::collection::vec(any::<u8>(), 0..200),
                                     s4 in any::<[u8; 4]>(), d4 in any::<[u8; 4]>(), s6 in any::<[u8; 16]>(), d6 in any::<[u8; 16]>()) {
        let ulen = 8 + payload.len();
        // IPv4
        let (src, dst) = (Ipv4Addr::from(s4), Ipv4Addr::from(d4));
        let mut f = vec![0u8; 34 + ulen];
        eth(&mut f, ethertype::IPV4);
        ipv4_header(&mut f[14..], 20 + ulen, ip_proto::UDP, 64, 7, src, dst);
        let mut u = UdpPacket::new_unchecked(&mut f[34..]);
        u.set_src_port(sport);
        u.set_dst_port(dport);
        u.set_len(ulen as u16);
        u.payload_mut().copy_from_slice(&payload);
        u.fill_checksum(&src, &dst);
        let ours = u.checksum();
        let sp = ep_net(&f);
        let Some(TransportSlice::Udp(eu)) = &sp.transport else { panic!("not udp") };
        prop_assert_eq!(eu.to_header().calc_checksum_ipv4_raw(s4, d4, eu.payload()).unwrap(), ours);
        prop_assert_eq!((eu.source_port(), eu.destination_port(), eu.length()), (sport, dport, ulen as u16));
        // IPv6
        let (src, dst) = (Ipv6Addr::from(s6), Ipv6Addr::from(d6));
        let mut f = vec![0u8; 54 + ulen];
        eth(&mut f, ethertype::IPV6);
        let mut p = Ipv6Packet::new_unchecked(&mut f[14..]);
        p.set_version(6);
        p.set_payload_len(ulen as u16);
        p.set_next_header(ip_proto::UDP);
        p.set_hop_limit(64);
        p.set_src_addr(src);
        p.set_dst_addr(dst);
        let mut u = UdpPacket::new_unchecked(&mut p.payload_mut()[..]);
        u.set_src_port(sport);
        u.set_dst_port(dport);
        u.set_len(ulen as u16);
        u.payload_mut().copy_from_slice(&payload);
        u.fill_checksum(&src, &dst);
        let ours = u.checksum();
        let sp = ep_net(&f);
        let Some(TransportSlice::Udp(eu)) = &sp.transport else { panic!("not udp") };
        prop_assert_eq!(eu.to_header().calc_checksum_ipv6_raw(s6, d6, eu.payload()).unwrap(), ours);
    }

    #[test]
    fn icmp_echo_v4_v6_agree(id in any::<u16>(), seq in any::<u16>(), data in proptest::collection::vec(any::<u8>(), 0..100), s6 in any::<[u8; 16]>(), d6 in any::<[u8; 16]>()) {
        let n = 8 + data.len();
        let mut f = vec![0u8; 34 + n];
        eth(&mut f, ethertype::IPV4);
        ipv4_header(&mut f[14..], 20 + n, ip_proto::ICMP, 64, 1, Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let mut i = Icmpv4Packet::new_unchecked(&mut f[34..]);
        i.set_msg_type(icmpv4_type::ECHO_REQUEST);
        i.set_echo_ident(id);
        i.set_echo_seq_no(seq);
        i.data_mut().copy_from_slice(&data);
        i.fill_checksum();
        let sp = ep_net(&f);
        let Some(TransportSlice::Icmpv4(ei)) = &sp.transport else { panic!("not icmp") };
        prop_assert_eq!(ei.icmp_type().calc_checksum(ei.payload()), ei.checksum());
        prop_assert_eq!(ei.payload(), &data[..]);

        let (src, dst) = (Ipv6Addr::from(s6), Ipv6Addr::from(d6));
        let mut f = vec![0u8; 54 + n];
        eth(&mut f, ethertype::IPV6);
        let mut p = Ipv6Packet::new_unchecked(&mut f[14..]);
        p.set_version(6);
        p.set_payload_len(n as u16);
        p.set_next_header(ip_proto::ICMPV6);
        p.set_hop_limit(255);
        p.set_src_addr(src);
        p.set_dst_addr(dst);
        let mut i = Icmpv6Packet::new_unchecked(&mut f[54..]);
        i.set_msg_type(icmpv6_type::ECHO_REPLY);
        i.set_echo_ident(id);
        i.set_echo_seq_no(seq);
        i.data_mut().copy_from_slice(&data);
        i.fill_checksum(&src, &dst);
        let sp = ep_net(&f);
        let Some(TransportSlice::Icmpv6(ei)) = &sp.transport else { panic!("not icmpv6") };
        prop_assert!(ei.is_checksum_valid(s6, d6));
    }

    #[test]
    fn ipv6_extension_walk_agrees(dstopts in any::<bool>(), routing in any::<bool>(), frag in any::<bool>(), l in l4(), pad8 in 0usize..3) {
        // Build HBH? -> [DstOpts] -> [Routing] -> [Fragment(atomic)] -> TCP with our setters.
        let opts_len = wire::tcp::options_len(&options(&l));
        let seg = 20 + opts_len + l.payload.len();
        let mut chain = vec![ip_proto::HOPOPT];
        if dstopts { chain.push(ip_proto::IPV6_OPTS); }
        if routing { chain.push(ip_proto::IPV6_ROUTE); }
        if frag { chain.push(ip_proto::IPV6_FRAG); }
        chain.push(ip_proto::TCP);
        let ext_len: usize = chain[..chain.len() - 1].iter().map(|&k| if k == ip_proto::IPV6_FRAG { 8 } else { 8 + 8 * pad8 }).sum();
        let (src, dst) = ("2001:db8::1".parse::<Ipv6Addr>().unwrap(), "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        let mut f = vec![0u8; 54 + ext_len + seg];
        eth(&mut f, ethertype::IPV6);
        let mut p = Ipv6Packet::new_unchecked(&mut f[14..]);
        p.set_version(6);
        p.set_payload_len((ext_len + seg) as u16);
        p.set_next_header(chain[0]);
        p.set_hop_limit(64);
        p.set_src_addr(src);
        p.set_dst_addr(dst);
        let mut at = 54;
        for w in chain.windows(2) {
            if w[0] == ip_proto::IPV6_FRAG {
                Ipv6FragmentHeader::new_unchecked(&mut f[at..at + 8]).fill(w[1], 0, false, 0x01020304);
                at += 8;
            } else {
                let len = 8 + 8 * pad8;
                let mut h = Ipv6ExtHeader::new_unchecked(&mut f[at..at + len]);
                h.set_next_header(w[1]);
                h.set_header_len(len);
                let d = h.data_mut();
                if w[0] == ip_proto::IPV6_ROUTE {
                    d[0] = 4; // routing type (SRH-like, 0 segments left: ignored)
                } else {
                    d[0] = 1; // PadN covering the rest
                    d[1] = (len - 4) as u8;
                }
                at += len;
            }
        }
        write_tcp(&mut f[at..], &l, opts_len);
        TcpPacket::new_unchecked(&mut f[at..]).fill_checksum(&src, &dst);

        let ours = Ipv6Packet::new_checked(&f[14..]).unwrap().upper_layer().unwrap();
        prop_assert_eq!(ours.protocol, ip_proto::TCP);
        prop_assert_eq!(ours.offset, 40 + ext_len);
        let sp = ep_net(&f);
        let Some(NetSlice::Ipv6(ip6)) = &sp.net else { panic!("not ipv6") };
        prop_assert_eq!(ip6.payload().ip_number.0, ours.protocol);
        prop_assert_eq!(ip6.payload().payload.len(), f.len() - 14 - ours.offset);
        let Some(TransportSlice::Tcp(t)) = &sp.transport else { panic!("not tcp") };
        prop_assert_eq!(t.calc_checksum_ipv6(src.octets(), dst.octets()).unwrap(), t.checksum());
    }

    #[test]
    fn we_accept_what_etherparse_builds(l in l4(), s4 in any::<[u8; 4]>(), d4 in any::<[u8; 4]>(), s6 in any::<[u8; 16]>(), d6 in any::<[u8; 16]>(), v6 in any::<bool>(), udp in any::<bool>()) {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let b = if v6 { b.ipv6(s6, d6, 64) } else { b.ipv4(s4, d4, 64) };
        let mut f = Vec::new();
        if udp {
            b.udp(l.sport, l.dport).write(&mut f, &l.payload).unwrap();
        } else {
            let mut t = b.tcp(l.sport, l.dport, l.seq, l.window).syn();
            if let Some(m) = l.mss {
                t = t.options(&[TcpOptionElement::MaximumSegmentSize(m), TcpOptionElement::SelectiveAcknowledgementPermitted]).unwrap();
            }
            t.write(&mut f, &l.payload).unwrap();
        }
        let e = EthernetFrame::new_checked(&f[..]).unwrap();
        let (l4_bytes, ok) = if v6 {
            let ip = Ipv6Packet::new_checked(e.payload()).unwrap();
            let (u, bytes) = ip.upper_layer_payload().unwrap();
            prop_assert_eq!(u.protocol, if udp { ip_proto::UDP } else { ip_proto::TCP });
            let (s, d) = (Ipv6Addr::from(s6), Ipv6Addr::from(d6));
            let ok = if udp { UdpPacket::new_checked(bytes).unwrap().verify_checksum(&s, &d) } else { TcpPacket::new_checked(bytes).unwrap().verify_checksum(&s, &d) };
            (bytes.to_vec(), ok)
        } else {
            let ip = Ipv4Packet::new_checked(e.payload()).unwrap();
            prop_assert!(ip.verify_checksum());
            let (s, d) = (Ipv4Addr::from(s4), Ipv4Addr::from(d4));
            let bytes = ip.payload();
            let ok = if udp { UdpPacket::new_checked(bytes).unwrap().verify_checksum(&s, &d) } else { TcpPacket::new_checked(bytes).unwrap().verify_checksum(&s, &d) };
            (bytes.to_vec(), ok)
        };
        prop_assert!(ok);
        if !udp {
            let t = TcpPacket::new_checked(&l4_bytes[..]).unwrap();
            prop_assert_eq!((t.src_port(), t.dst_port(), t.seq_number(), t.syn()), (l.sport, l.dport, l.seq, true));
            prop_assert_eq!(wire::SynOptions::parse(t.options()).mss, l.mss);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// The build side: etherparse reads the IPv4/IPv6 headers and ICMP echoes our
    /// Reprs emit field for field, with checksums it computes itself; and our parse
    /// reads what its PacketBuilder writes.
    #[test]
    fn repr_emit_agrees_with_etherparse(
        ident in any::<u16>(), seq_no in any::<u16>(), data in proptest::collection::vec(any::<u8>(), 0..100),
        s4 in any::<[u8; 4]>(), d4 in any::<[u8; 4]>(), ttl in any::<u8>(), id in any::<u16>(), df in any::<bool>(), tos in any::<u8>(),
        s6 in any::<[u8; 16]>(), d6 in any::<[u8; 16]>(), tc in any::<u8>(), fl in 0u32..=0xfffff, reply in any::<bool>(),
    ) {
        let eth4 = EthernetRepr { src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]), dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]), ethertype: ethertype::IPV4 };
        let icmp = if reply { Icmpv4Repr::EchoReply { ident, seq_no, data: &data } } else { Icmpv4Repr::EchoRequest { ident, seq_no, data: &data } };
        let ip = Ipv4Repr { src_addr: s4.into(), dst_addr: d4.into(), protocol: ip_proto::ICMP, payload_len: icmp.buffer_len() as u16, ttl, ident: id, dont_frag: df, dscp_ecn: tos };
        let mut b = VecBuf::with_room(&[], 0, 256);
        emit_icmpv4_frame(&mut b, &eth4, &ip, &icmp).unwrap();
        let sp = ep_net(b.data());
        let Some(NetSlice::Ipv4(eip)) = &sp.net else { panic!("not ipv4") };
        let h = eip.header();
        prop_assert_eq!((h.source(), h.destination(), h.ttl(), h.identification(), h.dont_fragment(), h.more_fragments()), (s4, d4, ttl, id, df, false));
        prop_assert_eq!((h.dcp().value() << 2) | h.ecn().value(), tos);
        prop_assert_eq!((h.total_len(), h.protocol().0), (28 + data.len() as u16, ip_proto::ICMP));
        prop_assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
        let Some(TransportSlice::Icmpv4(ei)) = &sp.transport else { panic!("not icmp") };
        let echo = IcmpEchoHeader { id: ident, seq: seq_no };
        let want = if reply { Icmpv4Type::EchoReply(echo) } else { Icmpv4Type::EchoRequest(echo) };
        prop_assert_eq!(ei.icmp_type(), want);
        prop_assert_eq!(ei.icmp_type().calc_checksum(ei.payload()), ei.checksum());
        prop_assert_eq!(ei.payload(), &data[..]);

        let (src, dst) = (Ipv6Addr::from(s6), Ipv6Addr::from(d6));
        let icmp = if reply { Icmpv6Repr::EchoReply { ident, seq_no, data: &data } } else { Icmpv6Repr::EchoRequest { ident, seq_no, data: &data } };
        let ip = Ipv6Repr { src_addr: src, dst_addr: dst, next_header: ip_proto::ICMPV6, payload_len: icmp.buffer_len() as u16, hop_limit: ttl, traffic_class: tc, flow_label: fl };
        let mut b = VecBuf::with_room(&[], 0, 256);
        emit_icmpv6_frame(&mut b, &EthernetRepr { ethertype: ethertype::IPV6, ..eth4 }, &ip, &icmp).unwrap();
        let sp = ep_net(b.data());
        let Some(NetSlice::Ipv6(eip)) = &sp.net else { panic!("not ipv6") };
        let h = eip.header();
        prop_assert_eq!((h.source(), h.destination(), h.hop_limit(), h.traffic_class(), h.flow_label().value()), (s6, d6, ttl, tc, fl));
        prop_assert_eq!((h.payload_length(), h.next_header().0), (8 + data.len() as u16, ip_proto::ICMPV6));
        let Some(TransportSlice::Icmpv6(ei)) = &sp.transport else { panic!("not icmpv6") };
        let want = if reply { Icmpv6Type::EchoReply(echo) } else { Icmpv6Type::EchoRequest(echo) };
        prop_assert_eq!(ei.icmp_type(), want);
        prop_assert!(ei.is_checksum_valid(s6, d6));
        prop_assert_eq!(ei.payload(), &data[..]);

        // Reverse: etherparse builds, our Reprs parse.
        let mut f = Vec::new();
        let pb = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]).ipv6(s6, d6, ttl);
        if reply { pb.icmpv6_echo_reply(ident, seq_no).write(&mut f, &data).unwrap() } else { pb.icmpv6_echo_request(ident, seq_no).write(&mut f, &data).unwrap() }
        let p = Ipv6Packet::new_checked(&f[14..]).unwrap();
        prop_assert_eq!(Ipv6Repr::parse(&p).map(|r| (r.src_addr, r.dst_addr, r.hop_limit, r.payload_len)), Ok((src, dst, ttl, 8 + data.len() as u16)));
        prop_assert_eq!(Icmpv6Repr::parse(&src, &dst, &Icmpv6Packet::new_checked(p.payload()).unwrap()), Ok(icmp));
        let mut f = Vec::new();
        let pb = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]).ipv4(s4, d4, ttl);
        if reply { pb.icmpv4_echo_reply(ident, seq_no).write(&mut f, &data).unwrap() } else { pb.icmpv4_echo_request(ident, seq_no).write(&mut f, &data).unwrap() }
        let p = Ipv4Packet::new_checked(&f[14..]).unwrap();
        prop_assert_eq!(Ipv4Repr::parse(&p).map(|r| (r.src_addr, r.dst_addr, r.ttl, r.protocol)), Ok((s4.into(), d4.into(), ttl, ip_proto::ICMP)));
        let i4 = if reply { Icmpv4Repr::EchoReply { ident, seq_no, data: &data } } else { Icmpv4Repr::EchoRequest { ident, seq_no, data: &data } };
        prop_assert_eq!(Icmpv4Repr::parse(&Icmpv4Packet::new_checked(p.payload()).unwrap()), Ok(i4));
    }
}

/// The golden vectors are themselves checked against etherparse: same L3/L4 split and
/// checksums it computes itself.
#[test]
fn golden_vectors_agree_with_etherparse() {
    for (name, f) in common::all_frames() {
        let sp = SlicedPacket::from_ethernet(&f).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        match (&sp.net, &sp.transport) {
            (Some(NetSlice::Ipv4(ip)), t) => {
                let h = ip.header();
                assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum(), "{name}");
                let ours = Ipv4Packet::new_checked(&f[f.len() - h.slice().len() - ip.payload().payload.len()..]);
                if let Ok(p) = ours {
                    assert_eq!(p.protocol(), ip.payload().ip_number.0, "{name}");
                    assert_eq!(p.payload(), ip.payload().payload, "{name}");
                }
                match t {
                    Some(TransportSlice::Tcp(t)) => {
                        assert_eq!(t.calc_checksum_ipv4(h.source(), h.destination()).unwrap(), t.checksum(), "{name}")
                    }
                    Some(TransportSlice::Udp(u)) => assert_eq!(
                        u.to_header().calc_checksum_ipv4_raw(h.source(), h.destination(), u.payload()).unwrap(),
                        u.checksum(),
                        "{name}"
                    ),
                    Some(TransportSlice::Icmpv4(i)) => {
                        assert_eq!(i.icmp_type().calc_checksum(i.payload()), i.checksum(), "{name}")
                    }
                    _ => {}
                }
            }
            (Some(NetSlice::Ipv6(ip)), t) => {
                let h = ip.header();
                match t {
                    Some(TransportSlice::Tcp(t)) => {
                        assert_eq!(t.calc_checksum_ipv6(h.source(), h.destination()).unwrap(), t.checksum(), "{name}")
                    }
                    Some(TransportSlice::Udp(u)) => assert_eq!(
                        u.to_header().calc_checksum_ipv6_raw(h.source(), h.destination(), u.payload()).unwrap(),
                        u.checksum(),
                        "{name}"
                    ),
                    Some(TransportSlice::Icmpv6(i)) => {
                        assert!(i.is_checksum_valid(h.source(), h.destination()), "{name}")
                    }
                    _ => {}
                }
            }
            _ => assert!(name.starts_with("arp"), "{name}"),
        }
    }
}
