//! Walk a frame Ethernet → VLAN → ARP | IPv4 | IPv6 → TCP | UDP | ICMP | IPIP and read
//! every field of every view on the way, then do it again through the setters. Shared
//! by the no-panic property tests and the cargo-fuzz target (`fuzz/`), which includes
//! this file by path. Every accessor is called only on a view `new_checked` accepted.

use std::net::{Ipv4Addr, Ipv6Addr};

use wire::ethernet::{ethertype, l3_offset, EthernetFrame, VlanTag};
use wire::ipv6::{upper_layer, Ipv6ExtHeader, Ipv6FragmentHeader};
use wire::{
    ip_proto, ArpPacket, ArpRepr, EthernetRepr, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, Ipv4Packet,
    Ipv4Repr, Ipv6Packet, Ipv6Repr, PacketBuf, SynOptions, TcpPacket, UdpPacket,
};

/// Mix a value into the accumulator so no read is optimised away.
fn mix(acc: &mut u64, v: impl Into<u64>) {
    *acc = acc.rotate_left(5) ^ v.into();
}

fn mix_bytes(acc: &mut u64, b: &[u8]) {
    mix(acc, b.len() as u64);
    mix(acc, u64::from(wire::checksum::data(b)));
}

fn mix4(acc: &mut u64, a: Ipv4Addr) {
    mix(acc, u32::from(a));
}

fn mix6(acc: &mut u64, a: Ipv6Addr) {
    mix(acc, u128::from(a) as u64);
}

/// Read-only walk of a whole frame. Returns a digest of everything read.
pub fn walk_frame(frame: &[u8]) -> u64 {
    let mut acc = 0u64;
    let Ok(eth) = EthernetFrame::new_checked(frame) else { return acc };
    mix(&mut acc, u64::from(eth.dst_addr().is_broadcast()) | u64::from(eth.src_addr().is_multicast()) << 1);
    mix(&mut acc, eth.ethertype());
    mix_bytes(&mut acc, eth.payload());
    let _ = eth.dst_addr().to_string().parse::<wire::EthernetAddress>();
    if let Ok(r) = EthernetRepr::parse(&eth) {
        let mut out = [0u8; 14];
        r.emit(&mut EthernetFrame::new_unchecked(&mut out[..])).expect("14 bytes suffice");
        assert_eq!(out[..], frame[..14], "Ethernet repr changed the header");
    }
    if let Ok(tag) = VlanTag::new_checked(eth.payload()) {
        mix(&mut acc, tag.tci() ^ tag.vid() ^ u16::from(tag.pcp()) ^ u16::from(tag.dei()) ^ tag.ethertype());
        mix_bytes(&mut acc, tag.payload());
    }
    let Ok((ty, off, vid)) = l3_offset(frame) else { return acc };
    mix(&mut acc, vid.unwrap_or(0xffff));
    let l3 = frame.get(off..).unwrap_or(&[]);
    match ty {
        ethertype::ARP => walk_arp(&mut acc, l3),
        ethertype::IPV4 => walk_ipv4(&mut acc, l3, 0),
        ethertype::IPV6 => walk_ipv6(&mut acc, l3, 0),
        _ => {}
    }
    acc
}

fn walk_arp(acc: &mut u64, b: &[u8]) {
    let Ok(arp) = ArpPacket::new_checked(b) else { return };
    mix(acc, arp.hardware_type() ^ arp.protocol_type() ^ arp.operation());
    mix(acc, u64::from(arp.is_gratuitous()));
    mix(acc, arp.source_hardware_addr().0[5]);
    mix(acc, arp.target_hardware_addr().0[5]);
    mix4(acc, arp.source_protocol_addr());
    mix4(acc, arp.target_protocol_addr());
    if let Ok(r) = ArpRepr::parse(&arp) {
        let mut out = [0u8; 28];
        r.emit(&mut ArpPacket::new_unchecked(&mut out[..])).expect("28 bytes suffice");
        assert_eq!(out[..], b[..28], "ARP repr changed the packet");
    }
}

/// Read every field of an IPv4 packet and its payload. `depth` bounds IPIP / ICMP-quote
/// recursion.
pub fn walk_ipv4(acc: &mut u64, b: &[u8], depth: u32) {
    let ip = match Ipv4Packet::new_checked(b) {
        Ok(ip) => ip,
        Err(_) => match Ipv4Packet::new_checked_truncated(b) {
            Ok(ip) => ip,
            Err(_) => return,
        },
    };
    mix(acc, ip.version() ^ ip.dscp_ecn() ^ ip.ttl() ^ ip.protocol());
    mix(acc, ip.header_len() as u64);
    mix(acc, ip.total_len() ^ ip.ident() ^ ip.frag_offset() ^ ip.checksum());
    mix(acc, u64::from(ip.dont_frag()) | u64::from(ip.more_frags()) << 1 | u64::from(ip.is_fragment()) << 2);
    mix4(acc, ip.src_addr());
    mix4(acc, ip.dst_addr());
    mix_bytes(acc, ip.options());
    mix_bytes(acc, ip.header());
    for o in ip.options_iter() {
        match o {
            Ok(o) => mix(acc, u64::from(o.kind) ^ o.data.len() as u64),
            Err(e) => mix(acc, e as u64),
        }
    }
    mix(acc, u64::from(ip.verify_checksum()));
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    if let Ok(r) = Ipv4Repr::parse(&ip) {
        let mut out = [0u8; 20];
        r.emit(&mut Ipv4Packet::new_unchecked(&mut out[..])).expect("20 bytes suffice");
        let mut whole = out.to_vec();
        whole.extend_from_slice(ip.payload());
        assert_eq!(Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&whole[..])), Ok(r));
    }
    let payload = ip.payload();
    mix_bytes(acc, payload);
    match ip.protocol() {
        ip_proto::TCP => walk_tcp(acc, payload, |t| t.verify_checksum(&src, &dst)),
        ip_proto::UDP => walk_udp(acc, payload, |u| u.verify_checksum(&src, &dst)),
        ip_proto::ICMP => {
            let Ok(icmp) = Icmpv4Packet::new_checked(payload) else { return };
            mix(acc, icmp.msg_type() ^ icmp.msg_code());
            mix(acc, icmp.checksum() ^ icmp.echo_ident() ^ icmp.echo_seq_no() ^ icmp.next_hop_mtu());
            mix(acc, icmp.rest_of_header());
            mix(acc, u64::from(icmp.verify_checksum()) | u64::from(icmp.is_error()) << 1);
            mix_bytes(acc, icmp.data());
            if let Ok(r) = Icmpv4Repr::parse(&icmp) {
                let mut out = vec![0u8; r.buffer_len()];
                r.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..])).expect("buffer_len suffices");
                assert_eq!(Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&out[..])), Ok(r));
            }
            if let (Ok(q), true) = (icmp.quoted_ipv4(), depth < 4) {
                walk_ipv4(acc, q.into_inner(), depth + 1);
            }
        }
        ip_proto::IPIP if depth < 4 => walk_ipv4(acc, payload, depth + 1),
        _ => {}
    }
}

fn walk_tcp(acc: &mut u64, b: &[u8], verify: impl Fn(&TcpPacket<&[u8]>) -> bool) {
    let Ok(t) = TcpPacket::new_checked(b) else {
        // A quoted segment may be just its first 8 bytes: ports only.
        if let Ok(u) = UdpPacket::new_checked_truncated(b) {
            mix(acc, u.src_port() ^ u.dst_port());
        }
        return;
    };
    mix(acc, t.src_port() ^ t.dst_port() ^ t.window_len() ^ t.checksum() ^ t.urgent_at());
    mix(acc, t.seq_number() ^ t.ack_number());
    mix(acc, t.header_len() as u64 ^ u64::from(t.flags()) ^ t.segment_len() as u64);
    let flags = [t.fin(), t.syn(), t.rst(), t.psh(), t.ack(), t.urg(), t.ece(), t.cwr()];
    mix(acc, flags.iter().fold(0u8, |a, &f| a << 1 | u8::from(f)));
    mix_bytes(acc, t.options());
    mix_bytes(acc, t.payload());
    for o in t.options_iter() {
        match o {
            Ok(o) => {
                mix(acc, u64::from(o.kind()) ^ o.buffer_len() as u64);
                let mut out = [0u8; 64];
                if let Ok(n) = o.emit(&mut out) {
                    mix_bytes(acc, out.get(..n).unwrap_or(&[]));
                }
            }
            Err(e) => mix(acc, e as u64),
        }
    }
    let s = SynOptions::parse(t.options());
    mix(acc, s.mss.unwrap_or(0) ^ u16::from(s.window_scale.unwrap_or(0)) ^ u16::from(s.sack_permitted));
    mix(acc, u64::from(verify(&t)));
}

fn walk_udp(acc: &mut u64, b: &[u8], verify: impl Fn(&UdpPacket<&[u8]>) -> bool) {
    let u = match UdpPacket::new_checked(b) {
        Ok(u) => {
            mix(acc, u64::from(verify(&u)));
            u
        }
        Err(_) => match UdpPacket::new_checked_truncated(b) {
            Ok(u) => u,
            Err(_) => return,
        },
    };
    mix(acc, u.src_port() ^ u.dst_port() ^ u.len() ^ u.checksum() ^ u16::from(u.is_empty()));
    mix_bytes(acc, u.payload());
}

/// Read every field of an IPv6 packet, its extension headers and its upper layer.
pub fn walk_ipv6(acc: &mut u64, b: &[u8], depth: u32) {
    let ip = match Ipv6Packet::new_checked(b) {
        Ok(ip) => ip,
        Err(_) => match Ipv6Packet::new_checked_truncated(b) {
            Ok(ip) => ip,
            Err(_) => return,
        },
    };
    mix(acc, ip.version() ^ ip.traffic_class() ^ ip.next_header() ^ ip.hop_limit());
    mix(acc, ip.flow_label() ^ u32::from(ip.payload_len()));
    mix6(acc, ip.src_addr());
    mix6(acc, ip.dst_addr());
    if let Ok(r) = Ipv6Repr::parse(&ip) {
        let mut out = [0u8; 40];
        r.emit(&mut Ipv6Packet::new_unchecked(&mut out[..])).expect("40 bytes and a 20-bit flow label");
        assert_eq!(out[..], b[..40], "IPv6 repr changed the header");
    }
    let payload = ip.payload();
    mix_bytes(acc, payload);
    for h in ip.ext_headers() {
        match h {
            Ok(h) => {
                mix(acc, u64::from(h.kind) ^ h.offset as u64 ^ h.len as u64 ^ u64::from(h.next_header));
                let hb = payload.get(h.offset..).unwrap_or(&[]);
                if let Ok(e) = Ipv6ExtHeader::new_checked(hb) {
                    mix(acc, e.next_header() ^ e.routing_type() ^ e.segments_left());
                    mix(acc, e.header_len() as u64);
                    mix_bytes(acc, e.data());
                }
                if let Ok(fh) = Ipv6FragmentHeader::new_checked(hb) {
                    let i = fh.info();
                    mix(
                        acc,
                        u64::from(fh.next_header())
                            ^ u64::from(i.offset)
                            ^ u64::from(i.ident)
                            ^ u64::from(i.more_frags),
                    );
                    mix(acc, u64::from(i.is_first()));
                }
            }
            Err(e) => mix(acc, e as u64),
        }
    }
    let _ = upper_layer(ip.next_header(), payload);
    let Ok((u, l4)) = ip.upper_layer_payload() else { return };
    mix(acc, u64::from(u.protocol) ^ u.offset as u64);
    if matches!(u.fragment, Some(f) if !f.is_first()) {
        return;
    }
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    match u.protocol {
        ip_proto::TCP => walk_tcp(acc, l4, |t| t.verify_checksum(&src, &dst)),
        ip_proto::UDP => walk_udp(acc, l4, |u| u.verify_checksum(&src, &dst)),
        ip_proto::ICMPV6 => {
            let Ok(icmp) = Icmpv6Packet::new_checked(l4) else { return };
            mix(acc, icmp.msg_type() ^ icmp.msg_code());
            mix(acc, icmp.checksum() ^ icmp.echo_ident() ^ icmp.echo_seq_no());
            mix(acc, icmp.mtu() ^ icmp.pointer());
            mix(acc, u64::from(icmp.verify_checksum(&src, &dst)) | u64::from(icmp.is_error()) << 1);
            mix6(acc, icmp.ndp_target_addr().unwrap_or(Ipv6Addr::UNSPECIFIED));
            mix_bytes(acc, icmp.data());
            if let Ok(r) = Icmpv6Repr::parse(&src, &dst, &icmp) {
                let mut out = vec![0u8; r.buffer_len()];
                r.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut out[..])).expect("emit takes what parse gave");
                assert_eq!(Icmpv6Repr::parse(&src, &dst, &Icmpv6Packet::new_unchecked(&out[..])), Ok(r));
            }
            if let (Ok(q), true) = (icmp.quoted_ipv6(), depth < 4) {
                walk_ipv6(acc, q.into_inner(), depth + 1);
            }
        }
        _ => {}
    }
}

/// TUN mode: encapsulating then decapsulating gives back the frame less its padding
/// (the EtherType is rewritten to what it already was).
fn tunnel_round_trip(
    acc: &mut u64,
    frame: &[u8],
    off: usize,
    encap: impl Fn(&mut wire::VecBuf) -> wire::Result<()>,
    decap: impl Fn(&mut wire::VecBuf) -> wire::Result<()>,
    outer_ok: impl Fn(&[u8]) -> bool,
) {
    let mut buf = wire::VecBuf::from_slice(frame);
    if encap(&mut buf).is_err() {
        return;
    }
    mix(acc, buf.len() as u64);
    assert!(outer_ok(buf.data().get(off..).unwrap_or(&[])), "encapsulate wrote a valid header");
    decap(&mut buf).expect("decapsulate undoes encapsulate");
    let inner_end = buf.len();
    assert_eq!(buf.data(), &frame[..inner_end], "tunnel round trip changed the frame");
}

fn ipip_round_trip(acc: &mut u64, frame: &[u8], off: usize) {
    use wire::ipip::{decapsulate, encapsulate, IpipEncap};
    let p = IpipEncap { src: Ipv4Addr::new(10, 0, 0, 1), dst: Ipv4Addr::new(10, 0, 1, 10), ttl: 64, ident: 0 };
    let outer_ok = |b: &[u8]| {
        Ipv4Packet::new_checked(b).is_ok_and(|o| o.verify_checksum() && o.protocol() == ip_proto::IPIP)
            && Ipv4Repr::parse(&Ipv4Packet::new_unchecked(b)).is_ok()
    };
    tunnel_round_trip(acc, frame, off, |b| encapsulate(b, off, &p), |b| decapsulate(b, off), outer_ok);
}

fn ip6tnl_round_trip(acc: &mut u64, frame: &[u8], off: usize) {
    use wire::ip6tnl::{decapsulate, encapsulate, Ipv6TunnelEncap};
    let a = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
    let p = Ipv6TunnelEncap { src: a, dst: a, hop_limit: 64, flow_label: 0x12345 };
    let outer_ok =
        |b: &[u8]| Ipv6Repr::parse(&Ipv6Packet::new_unchecked(b)).is_ok_and(|o| o.next_header == ip_proto::IPV6);
    tunnel_round_trip(acc, frame, off, |b| encapsulate(b, off, &p), |b| decapsulate(b, off), outer_ok);
}

/// checksums, TTL decrement, MSS clamp, full checksum fills. Must not panic either.
pub fn walk_frame_mut(frame: &mut [u8]) -> u64 {
    let mut acc = 0u64;
    let Ok((ty, off, _)) = l3_offset(frame) else { return acc };
    if let Ok(mut eth) = EthernetFrame::new_checked(&mut frame[..]) {
        let (s, d) = (eth.src_addr(), eth.dst_addr());
        eth.set_src_addr(d);
        eth.set_dst_addr(s);
    }
    let Some(l3) = frame.get_mut(off..) else { return acc };
    match ty {
        ethertype::ARP => {
            if let Ok(mut arp) = ArpPacket::new_checked(l3) {
                let (sha, spa) = (arp.source_hardware_addr(), arp.source_protocol_addr());
                let tpa = arp.target_protocol_addr();
                arp.fill_ipv4_over_ethernet(wire::arp_op::REPLY, sha, tpa, sha, spa);
                mix(&mut acc, arp.operation());
            }
        }
        ethertype::IPV4 => {
            ipip_round_trip(&mut acc, frame, off);
            let Some(l3) = frame.get_mut(off..) else { return acc };
            let Ok(mut ip) = Ipv4Packet::new_checked(l3) else { return acc };
            ip.decrement_ttl();
            let new_src = Ipv4Addr::new(10, 1, 2, 3);
            let old_src = ip.rewrite_src_addr(new_src);
            mix(&mut acc, u64::from(ip.verify_checksum()));
            let proto = ip.protocol();
            let is_first = ip.frag_offset() == 0;
            let (s, d) = (ip.src_addr(), ip.dst_addr());
            let payload = ip.payload_mut();
            match proto {
                ip_proto::TCP if is_first => {
                    if let Ok(mut t) = TcpPacket::new_checked(payload) {
                        t.update_checksum32(u32::from(old_src), u32::from(new_src));
                        t.rewrite_dst_port(8080);
                        t.rewrite_seq_number(t.seq_number().wrapping_add(1000));
                        t.rewrite_ack_number(t.ack_number().wrapping_sub(7));
                        mix(&mut acc, t.clamp_mss(1360).unwrap_or(0));
                        mix(&mut acc, u64::from(t.verify_checksum(&s, &d)));
                        t.fill_checksum(&s, &d);
                    }
                }
                ip_proto::UDP if is_first => {
                    if let Ok(mut u) = UdpPacket::new_checked(payload) {
                        u.update_checksum32(u32::from(old_src), u32::from(new_src));
                        u.rewrite_src_port(4096);
                        mix(&mut acc, u64::from(u.verify_checksum(&s, &d)));
                        u.fill_checksum(&s, &d);
                    }
                }
                ip_proto::ICMP => {
                    if let Ok(mut i) = Icmpv4Packet::new_checked(payload) {
                        i.set_msg_type(wire::icmpv4_type::ECHO_REPLY);
                        i.fill_checksum();
                        mix(&mut acc, u64::from(i.verify_checksum()));
                    }
                }
                _ => {}
            }
            ip.fill_checksum();
        }
        ethertype::IPV6 => {
            ip6tnl_round_trip(&mut acc, frame, off);
            let Some(l3) = frame.get_mut(off..) else { return acc };
            let Ok(mut ip) = Ipv6Packet::new_checked(l3) else { return acc };
            let Ok(u) = ip.upper_layer() else { return acc };
            ip.set_hop_limit(ip.hop_limit().saturating_sub(1));
            let (s, d) = (ip.src_addr(), ip.dst_addr());
            let new_dst: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x99);
            ip.set_dst_addr(new_dst);
            let off = u.offset - Ipv6Packet::<&[u8]>::HEADER_LEN;
            let Some(l4) = ip.payload_mut().get_mut(off..) else { return acc };
            if matches!(u.fragment, Some(f) if !f.is_first()) {
                return acc;
            }
            match u.protocol {
                ip_proto::TCP => {
                    if let Ok(mut t) = TcpPacket::new_checked(l4) {
                        let c = wire::checksum::update_ipv6_addr(t.checksum(), &d, &new_dst);
                        t.set_checksum(c);
                        mix(&mut acc, u64::from(t.verify_checksum(&s, &new_dst)));
                        t.clamp_mss(1220);
                    }
                }
                ip_proto::UDP => {
                    if let Ok(mut t) = UdpPacket::new_checked(l4) {
                        t.fill_checksum(&s, &new_dst);
                    }
                }
                ip_proto::ICMPV6 => {
                    if let Ok(mut i) = Icmpv6Packet::new_checked(l4) {
                        i.set_mtu(1280);
                        i.fill_checksum(&s, &new_dst);
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
    acc
}
