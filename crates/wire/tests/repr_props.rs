//! `parse(emit(x)) == x` for every Repr, random fields via proptest; emit into every
//! shorter buffer fails with `Truncated` instead of panicking; whole frames and both
//! tunnels round-trip through a `PacketBuf`.

use std::net::Ipv6Addr;

use proptest::prelude::*;
use wire::frame::{emit_icmpv4_frame, emit_icmpv6_frame};
use wire::{
    ethertype, ip6tnl, ip_proto, ipip, ArpPacket, ArpRepr, Error, EthernetAddress, EthernetFrame, EthernetRepr,
    Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpipEncap, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr,
    Ipv6TunnelEncap, PacketBuf, VecBuf,
};

fn mac() -> impl Strategy<Value = EthernetAddress> {
    any::<[u8; 6]>().prop_map(EthernetAddress)
}

fn v6addr() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        4 => any::<[u8; 16]>().prop_map(Ipv6Addr::from),
        1 => Just(Ipv6Addr::UNSPECIFIED),
        1 => Just(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
        2 => any::<[u8; 3]>().prop_map(|l| Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00 | u16::from(l[0]), u16::from_be_bytes([l[1], l[2]]))),
    ]
}

fn ipv4_repr() -> impl Strategy<Value = Ipv4Repr> {
    (any::<[u8; 4]>(), any::<[u8; 4]>(), any::<u8>(), 0u16..600, any::<u8>(), any::<u16>(), any::<bool>(), any::<u8>())
        .prop_map(|(s, d, protocol, payload_len, ttl, ident, dont_frag, dscp_ecn)| Ipv4Repr {
            src_addr: s.into(),
            dst_addr: d.into(),
            protocol,
            payload_len,
            ttl,
            ident,
            dont_frag,
            dscp_ecn,
        })
}

fn ipv6_repr() -> impl Strategy<Value = Ipv6Repr> {
    (v6addr(), v6addr(), any::<u8>(), 0u16..600, any::<u8>(), any::<u8>(), 0u32..=0xfffff).prop_map(
        |(src_addr, dst_addr, next_header, payload_len, hop_limit, traffic_class, flow_label)| Ipv6Repr {
            src_addr,
            dst_addr,
            next_header,
            payload_len,
            hop_limit,
            traffic_class,
            flow_label,
        },
    )
}

/// The fields of any ICMP repr; `icmpv4`/`icmpv6` pick a variant by `kind`.
#[derive(Debug, Clone)]
struct IcmpFields {
    kind: u8,
    a: u16,
    b: u16,
    code: u8,
    word: u32,
    flags: [bool; 3],
    target: Ipv6Addr,
    lladdr: Option<EthernetAddress>,
    data: Vec<u8>,
}

fn icmp_fields() -> impl Strategy<Value = IcmpFields> {
    (
        (any::<u8>(), any::<u16>(), any::<u16>(), any::<u8>(), any::<u32>(), any::<[bool; 3]>()),
        (v6addr(), proptest::option::of(mac()), proptest::collection::vec(any::<u8>(), 0..200)),
    )
        .prop_map(|((kind, a, b, code, word, flags), (target, lladdr, data))| IcmpFields {
            kind,
            a,
            b,
            code,
            word,
            flags,
            target,
            lladdr,
            data,
        })
}

fn icmpv4(f: &IcmpFields) -> Icmpv4Repr<'_> {
    let (ident, seq_no, data, quote, code) = (f.a, f.b, &f.data[..], &f.data[..], f.code);
    match f.kind % 5 {
        0 => Icmpv4Repr::EchoRequest { ident, seq_no, data },
        1 => Icmpv4Repr::EchoReply { ident, seq_no, data },
        2 => Icmpv4Repr::DstUnreachable { code, next_hop_mtu: f.b, quote },
        3 => Icmpv4Repr::TimeExceeded { code, quote },
        _ => Icmpv4Repr::ParamProblem { pointer: code, quote },
    }
}

fn icmpv6(f: &IcmpFields) -> Icmpv6Repr<'_> {
    let (ident, seq_no, data, quote, code) = (f.a, f.b, &f.data[..], &f.data[..], f.code);
    let [router, solicited, override_] = f.flags;
    match f.kind % 8 {
        0 => Icmpv6Repr::EchoRequest { ident, seq_no, data },
        1 => Icmpv6Repr::EchoReply { ident, seq_no, data },
        2 => Icmpv6Repr::DstUnreachable { code, quote },
        3 => Icmpv6Repr::PacketTooBig { mtu: f.word, quote },
        4 => Icmpv6Repr::TimeExceeded { code, quote },
        5 => Icmpv6Repr::ParamProblem { code, pointer: f.word, quote },
        6 => Icmpv6Repr::NeighborSolicit { target: f.target, source_lladdr: f.lladdr },
        _ => Icmpv6Repr::NeighborAdvert { router, solicited, override_, target: f.target, target_lladdr: f.lladdr },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn ethernet_and_arp_round_trip(src in mac(), dst in mac(), ty in any::<u16>(), op in any::<u16>(), sha in mac(), tha in mac(), spa in any::<[u8; 4]>(), tpa in any::<[u8; 4]>(), short in 0usize..28) {
        let e = EthernetRepr { src_addr: src, dst_addr: dst, ethertype: ty };
        let mut b = [0u8; 14];
        prop_assert_eq!(e.emit(&mut EthernetFrame::new_unchecked(&mut b[..short.min(13)])), Err(Error::Truncated));
        e.emit(&mut EthernetFrame::new_unchecked(&mut b[..])).unwrap();
        prop_assert_eq!(EthernetRepr::parse(&EthernetFrame::new_unchecked(&b[..])), Ok(e));
        let a = ArpRepr { operation: op, source_hardware_addr: sha, source_protocol_addr: spa.into(), target_hardware_addr: tha, target_protocol_addr: tpa.into() };
        let mut b = [0u8; 28];
        prop_assert_eq!(a.emit(&mut ArpPacket::new_unchecked(&mut b[..short])), Err(Error::Truncated));
        a.emit(&mut ArpPacket::new_unchecked(&mut b[..])).unwrap();
        prop_assert_eq!(ArpRepr::parse(&ArpPacket::new_unchecked(&b[..])), Ok(a));
    }

    #[test]
    fn ipv4_and_ipv6_round_trip(r4 in ipv4_repr(), r6 in ipv6_repr(), short in 0usize..40, fill in any::<u8>()) {
        let mut b = vec![fill; r4.buffer_len()];
        prop_assert_eq!(r4.emit(&mut Ipv4Packet::new_unchecked(&mut b[..short.min(19)])), Err(Error::Truncated));
        r4.emit(&mut Ipv4Packet::new_unchecked(&mut b[..])).unwrap();
        prop_assert_eq!(Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&b[..])), Ok(r4));
        let mut b = vec![fill; r6.buffer_len()];
        prop_assert_eq!(r6.emit(&mut Ipv6Packet::new_unchecked(&mut b[..short.min(39)])), Err(Error::Truncated));
        r6.emit(&mut Ipv6Packet::new_unchecked(&mut b[..])).unwrap();
        prop_assert_eq!(Ipv6Repr::parse(&Ipv6Packet::new_unchecked(&b[..])), Ok(r6));
    }

    #[test]
    fn icmpv4_round_trip(f in icmp_fields(), short in any::<usize>(), fill in any::<u8>()) {
        let r = icmpv4(&f);
        let mut b = vec![fill; r.buffer_len() + 3];
        let short = short % r.buffer_len();
        prop_assert_eq!(r.emit(&mut Icmpv4Packet::new_unchecked(&mut b[..short])), Err(Error::Truncated));
        r.emit(&mut Icmpv4Packet::new_unchecked(&mut b[..])).unwrap();
        let b = &b[..r.buffer_len()];
        prop_assert_eq!(Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(b)), Ok(r));
    }

    /// Emit succeeds unless an RFC 4861 rule forbids the NDP message, and whatever it
    /// emits parses back the same.
    #[test]
    fn icmpv6_round_trip(f in icmp_fields(), src in v6addr(), dst in v6addr(), short in any::<usize>(), fill in any::<u8>()) {
        let r = icmpv6(&f);
        let mut b = vec![fill; r.buffer_len() + 3];
        match r.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut b[..])) {
            Ok(()) => {
                let short = short % r.buffer_len();
                prop_assert_eq!(r.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut b[..short])), Err(Error::Truncated));
                r.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut b[..])).unwrap();
                let b = &b[..r.buffer_len()];
                prop_assert_eq!(Icmpv6Repr::parse(&src, &dst, &Icmpv6Packet::new_unchecked(b)), Ok(r));
            }
            Err(e) => {
                prop_assert_eq!(e, Error::Malformed);
                let (ns, na) = (f.kind % 8 == 6, f.kind % 8 == 7);
                let solicit_bad = ns && (src.is_unspecified() && (f.lladdr.is_some() || dst.segments()[..6] != [0xff02, 0, 0, 0, 0, 1]));
                prop_assert!(f.target.is_multicast() || solicit_bad || (na && f.flags[1] && dst.is_multicast()), "{:?} {} {}", r, src, dst);
            }
        }
    }

    /// Whole frames: each layer parses back to the repr it came from.
    #[test]
    fn frames_round_trip(f in icmp_fields(), r4 in ipv4_repr(), r6 in ipv6_repr(), src in mac(), dst in mac()) {
        let i4 = icmpv4(&f);
        let eth = EthernetRepr { src_addr: src, dst_addr: dst, ethertype: ethertype::IPV4 };
        let ip4 = Ipv4Repr { protocol: ip_proto::ICMP, payload_len: i4.buffer_len() as u16, ..r4 };
        let mut b = VecBuf::with_room(&[], 0, 400);
        prop_assert_eq!(emit_icmpv4_frame(&mut b, &eth, &ip4, &i4), Ok(14 + 20 + i4.buffer_len()));
        let e = EthernetFrame::new_checked(b.data()).unwrap();
        prop_assert_eq!(EthernetRepr::parse(&e), Ok(eth));
        let p = Ipv4Packet::new_checked(e.payload()).unwrap();
        prop_assert_eq!(Ipv4Repr::parse(&p), Ok(ip4));
        prop_assert_eq!(Icmpv4Repr::parse(&Icmpv4Packet::new_checked(p.payload()).unwrap()), Ok(i4));

        let i6 = icmpv6(&f);
        let eth = EthernetRepr { ethertype: ethertype::IPV6, ..eth };
        let ip6 = Ipv6Repr { next_header: ip_proto::ICMPV6, payload_len: i6.buffer_len() as u16, hop_limit: 255, ..r6 };
        let mut b = VecBuf::with_room(&[], 0, 400);
        if emit_icmpv6_frame(&mut b, &eth, &ip6, &i6).is_ok() {
            let e = EthernetFrame::new_checked(b.data()).unwrap();
            let p = Ipv6Packet::new_checked(e.payload()).unwrap();
            prop_assert_eq!(Ipv6Repr::parse(&p), Ok(ip6));
            prop_assert_eq!(Icmpv6Repr::parse(&ip6.src_addr, &ip6.dst_addr, &Icmpv6Packet::new_checked(p.payload()).unwrap()), Ok(i6));
        } else {
            prop_assert!(b.is_empty());
        }
        // Too little tailroom: refused, nothing appended.
        let mut b = VecBuf::with_room(&[], 0, 14 + 20 + i4.buffer_len() - 1);
        prop_assert_eq!(emit_icmpv4_frame(&mut b, &eth_v4(src, dst), &ip4, &i4), Err(Error::Truncated));
        prop_assert!(b.is_empty());
    }

    /// Encapsulating then decapsulating gives the frame back (padding trimmed), at every
    /// L2 length, for both tunnels.
    #[test]
    fn tunnels_round_trip(r4 in ipv4_repr(), r6 in ipv6_repr(), l2 in prop_oneof![Just(0usize), Just(14), Just(18)], pad in 0usize..10, fl in 0u32..=0xfffff, hl in any::<u8>(), payload in any::<u8>()) {
        let mut f = vec![0xaa; l2];
        let mut ip = vec![payload; r6.buffer_len()];
        r6.emit(&mut Ipv6Packet::new_unchecked(&mut ip[..])).unwrap();
        f.extend_from_slice(&ip);
        let mut b = VecBuf::from_slice(&f);
        b.append(pad).unwrap().fill(0xee);
        let p = Ipv6TunnelEncap { src: r6.dst_addr, dst: r6.src_addr, hop_limit: hl, flow_label: fl };
        ip6tnl::encapsulate(&mut b, l2, &p).unwrap();
        let outer = Ipv6Repr::parse(&Ipv6Packet::new_checked(&b.data()[l2..]).unwrap()).unwrap();
        prop_assert_eq!(outer, Ipv6Repr { src_addr: p.src, dst_addr: p.dst, next_header: ip_proto::IPV6, payload_len: r6.buffer_len() as u16, hop_limit: hl, traffic_class: r6.traffic_class, flow_label: fl });
        ip6tnl::decapsulate(&mut b, l2).unwrap();
        prop_assert_eq!(&b.data()[l2..], &f[l2..]);

        let mut f = vec![0xaa; l2];
        let mut ip = vec![payload; r4.buffer_len()];
        r4.emit(&mut Ipv4Packet::new_unchecked(&mut ip[..])).unwrap();
        f.extend_from_slice(&ip);
        let mut b = VecBuf::from_slice(&f);
        b.append(pad).unwrap().fill(0xee);
        let p = IpipEncap { src: r4.dst_addr, dst: r4.src_addr, ttl: hl, ident: r4.ident };
        ipip::encapsulate(&mut b, l2, &p).unwrap();
        let outer = Ipv4Repr::parse(&Ipv4Packet::new_checked(&b.data()[l2..]).unwrap()).unwrap();
        prop_assert_eq!(outer, Ipv4Repr { src_addr: p.src, dst_addr: p.dst, protocol: ip_proto::IPIP, payload_len: r4.buffer_len() as u16, ttl: hl, ..r4 });
        ipip::decapsulate(&mut b, l2).unwrap();
        prop_assert_eq!(&b.data()[l2..], &f[l2..]);
    }
}

fn eth_v4(src: EthernetAddress, dst: EthernetAddress) -> EthernetRepr {
    EthernetRepr { src_addr: src, dst_addr: dst, ethertype: ethertype::IPV4 }
}

/// The NDP rules parse enforces on bytes emit would never write.
#[test]
fn ndp_parse_rejects_what_rfc4861_discards() {
    let (src, dst): (Ipv6Addr, Ipv6Addr) = ("fe80::1".parse().unwrap(), "fe80::2".parse().unwrap());
    let na = Icmpv6Repr::NeighborAdvert {
        router: false,
        solicited: true,
        override_: false,
        target: "2001:db8::1".parse().unwrap(),
        target_lladdr: Some(EthernetAddress([2, 0, 0, 0, 0, 1])),
    };
    let mut good = [0u8; 32];
    na.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut good[..])).unwrap();
    fn parse<'a>(src: &Ipv6Addr, dst: &Ipv6Addr, b: &'a [u8]) -> wire::Result<Icmpv6Repr<'a>> {
        Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_unchecked(b))
    }
    assert_eq!(parse(&src, &dst, &good), Ok(na));
    let patched = |at: usize, v: u8| {
        let mut b = good;
        b[at] = v;
        let mut p = Icmpv6Packet::new_unchecked(&mut b[..]);
        p.fill_checksum(&src, &dst);
        b
    };
    assert_eq!(parse(&src, &dst, &patched(1, 1)), Err(Error::Malformed), "code 1");
    assert_eq!(parse(&src, &dst, &patched(8, 0xff)), Err(Error::Malformed), "multicast target");
    assert_eq!(parse(&src, &dst, &patched(25, 0)), Err(Error::Malformed), "option length 0");
    assert_eq!(parse(&src, &dst, &patched(25, 2)), Err(Error::Malformed), "option overruns the message");
    assert_eq!(
        parse(&src, &dst, &patched(24, 14)),
        Ok(Icmpv6Repr::NeighborAdvert {
            router: false,
            solicited: true,
            override_: false,
            target: "2001:db8::1".parse().unwrap(),
            target_lladdr: None
        }),
        "unknown option skipped"
    );
    assert_eq!(parse(&src, &dst, &good[..31]), Err(Error::Malformed), "wrong checksum / cut option");
    let mut cut = [0u8; 23];
    cut.copy_from_slice(&good[..23]);
    Icmpv6Packet::new_unchecked(&mut cut[..]).fill_checksum(&src, &dst);
    assert_eq!(parse(&src, &dst, &cut), Err(Error::Truncated), "under 24 bytes");
    // A second target link-layer option (two 8-byte options): the first one counts.
    let mut two = [0u8; 40];
    two[..32].copy_from_slice(&good);
    two[32..].copy_from_slice(&[2, 1, 9, 9, 9, 9, 9, 9]);
    Icmpv6Packet::new_unchecked(&mut two[..]).fill_checksum(&src, &dst);
    assert_eq!(parse(&src, &dst, &two), Ok(na));
    // A 16-byte link-layer option is not Ethernet's (RFC 2464 §6).
    let mut wide = [0u8; 40];
    wide[..32].copy_from_slice(&good);
    wide[25] = 2;
    Icmpv6Packet::new_unchecked(&mut wide[..]).fill_checksum(&src, &dst);
    assert_eq!(parse(&src, &dst, &wide), Err(Error::Malformed));
    let mcast: Ipv6Addr = "ff02::1".parse().unwrap();
    assert_eq!(
        na.emit(&src, &mcast, &mut Icmpv6Packet::new_unchecked(&mut good[..])),
        Err(Error::Malformed),
        "solicited NA to a group"
    );
    let ns = Icmpv6Repr::NeighborSolicit {
        target: "2001:db8::1".parse().unwrap(),
        source_lladdr: Some(EthernetAddress([2, 0, 0, 0, 0, 1])),
    };
    let sn: Ipv6Addr = "ff02::1:ff00:1".parse().unwrap();
    let unspec = Ipv6Addr::UNSPECIFIED;
    assert_eq!(
        ns.emit(&unspec, &sn, &mut Icmpv6Packet::new_unchecked(&mut good[..])),
        Err(Error::Malformed),
        "SLLAO from ::"
    );
    let dad = Icmpv6Repr::NeighborSolicit { target: "2001:db8::1".parse().unwrap(), source_lladdr: None };
    assert_eq!(
        dad.emit(&unspec, &mcast, &mut Icmpv6Packet::new_unchecked(&mut good[..])),
        Err(Error::Malformed),
        "DAD not to the solicited-node group"
    );
    assert_eq!(dad.emit(&unspec, &sn, &mut Icmpv6Packet::new_unchecked(&mut good[..])), Ok(()));
}
