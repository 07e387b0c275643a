//! Frames rvs-gen writes and reads, built with the `wire` crate's reprs and views over
//! plain byte slices (no DPDK here, so they are unit-tested on their own).

use std::net::Ipv4Addr;

use wire::{
    arp_op, ethertype, ip_proto, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetRepr, Ipv4Packet,
    Ipv4Repr, TcpPacket, UdpPacket,
};

/// Ethernet + IPv4 + TCP header bytes (no options).
pub const TCP_HEADERS: usize = 14 + 20 + 20;
/// Ethernet + IPv4 + UDP header bytes.
pub const UDP_HEADERS: usize = 14 + 20 + 8;
/// The shortest frame written (60 bytes; the NIC adds the 4-byte FCS: 64 on the wire).
pub const MIN_FRAME: usize = 60;
/// The TCP MSS option rvs-gen's SYNs carry.
const MSS_OPTION: [u8; 4] = [2, 4, (1460u16 >> 8) as u8, (1460u16 & 0xff) as u8];

/// A TCP segment to write.
#[derive(Clone, Copy, Debug)]
pub struct Seg<'a> {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// Carry the MSS option (SYNs).
    pub mss: bool,
    /// Payload bytes copied in.
    pub data: &'a [u8],
    /// Or, when `data` is empty: this many payload bytes (zeros).
    pub fill: usize,
}

/// Bytes [`write_tcp`] writes for `s` (padded to [`MIN_FRAME`]).
pub fn tcp_len(s: &Seg) -> usize {
    (TCP_HEADERS + opt_len(s) + payload_len(s)).max(MIN_FRAME)
}

fn opt_len(s: &Seg) -> usize {
    if s.mss {
        MSS_OPTION.len()
    } else {
        0
    }
}

fn payload_len(s: &Seg) -> usize {
    if s.data.is_empty() {
        s.fill
    } else {
        s.data.len()
    }
}

fn ip_repr(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload_len: usize) -> Ipv4Repr {
    Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol,
        payload_len: payload_len as u16,
        ttl: 64,
        ident: 0,
        dont_frag: true,
        dscp_ecn: 0,
    }
}

/// Write the segment `s` in an Ethernet frame from `eth` into `out` (exactly
/// [`tcp_len`] bytes). `false` if `out` has the wrong length.
pub fn write_tcp(out: &mut [u8], eth: &EthernetRepr, s: &Seg) -> bool {
    if out.len() != tcp_len(s) {
        return false;
    }
    let tcp_len = 20 + opt_len(s) + payload_len(s);
    let ip = ip_repr(s.src, s.dst, ip_proto::TCP, tcp_len);
    let l4 = 14 + 20;
    let end = l4 + tcp_len;
    out[end..].fill(0);
    if eth.emit(&mut EthernetFrame::new_unchecked(&mut *out)).is_err()
        || ip.emit(&mut Ipv4Packet::new_unchecked(&mut out[14..end])).is_err()
    {
        return false;
    }
    let mut t = TcpPacket::new_unchecked(&mut out[l4..end]);
    t.set_src_port(s.sport);
    t.set_dst_port(s.dport);
    t.set_seq_number(s.seq);
    t.set_ack_number(s.ack);
    t.set_header_len(20 + opt_len(s));
    t.set_flags(s.flags);
    t.set_window_len(65535);
    t.set_urgent_at(0);
    if s.mss {
        t.options_mut().copy_from_slice(&MSS_OPTION);
    }
    if s.data.is_empty() {
        t.payload_mut().fill(0);
    } else {
        t.payload_mut().copy_from_slice(s.data);
    }
    t.fill_checksum(&s.src, &s.dst);
    true
}

/// Bytes [`write_udp`] writes for `payload` bytes of payload.
pub fn udp_len(payload: usize) -> usize {
    (UDP_HEADERS + payload).max(MIN_FRAME)
}

/// A UDP datagram of `payload` zero bytes in an Ethernet frame.
pub fn write_udp(
    out: &mut [u8],
    eth: &EthernetRepr,
    (src, sport): (Ipv4Addr, u16),
    (dst, dport): (Ipv4Addr, u16),
    payload: usize,
) -> bool {
    if out.len() != udp_len(payload) {
        return false;
    }
    let ulen = 8 + payload;
    let ip = ip_repr(src, dst, ip_proto::UDP, ulen);
    let l4 = 14 + 20;
    let end = l4 + ulen;
    out[end..].fill(0);
    if eth.emit(&mut EthernetFrame::new_unchecked(&mut *out)).is_err()
        || ip.emit(&mut Ipv4Packet::new_unchecked(&mut out[14..end])).is_err()
    {
        return false;
    }
    let mut u = UdpPacket::new_unchecked(&mut out[l4..end]);
    u.set_src_port(sport);
    u.set_dst_port(dport);
    u.set_len(ulen as u16);
    u.payload_mut().fill(0);
    u.fill_checksum(&src, &dst);
    true
}

/// A data frame written once with the `wire` reprs, then stamped per packet with its
/// source address, source port and (TCP) sequence number: both checksums come from
/// partial sums taken once, so a packet costs a copy and a few stores, not a sum over
/// its payload.
pub struct Template {
    frame: Vec<u8>,
    udp: bool,
    ip_base: u64,
    l4_base: u64,
}

const IP_CSUM: usize = 24;
const IP_SRC: usize = 26;
const L4: usize = 34;
const TCP_SEQ: usize = 38;
const TCP_CSUM: usize = 50;
const UDP_CSUM: usize = 40;

fn words(v: u32) -> u64 {
    u64::from(v >> 16) + u64::from(v & 0xffff)
}

impl Template {
    /// TCP segments to `dst:dport` with `fill` payload bytes and `flags`, ACK number 1.
    pub fn tcp(eth: &EthernetRepr, dst: Ipv4Addr, dport: u16, fill: usize, flags: u8) -> Template {
        let s = Seg {
            src: Ipv4Addr::UNSPECIFIED,
            dst,
            sport: 0,
            dport,
            seq: 0,
            ack: 1,
            flags,
            mss: false,
            data: b"",
            fill,
        };
        let mut frame = vec![0; tcp_len(&s)];
        write_tcp(&mut frame, eth, &s);
        Self::bases(frame, false, dst, TCP_HEADERS - L4 + fill)
    }

    /// UDP datagrams to `dst:dport` with `payload` zero bytes.
    pub fn udp(eth: &EthernetRepr, dst: Ipv4Addr, dport: u16, payload: usize) -> Template {
        let mut frame = vec![0; udp_len(payload)];
        write_udp(&mut frame, eth, (Ipv4Addr::UNSPECIFIED, 0), (dst, dport), payload);
        Self::bases(frame, true, dst, UDP_HEADERS - L4 + payload)
    }

    fn bases(mut frame: Vec<u8>, udp: bool, dst: Ipv4Addr, l4_len: usize) -> Template {
        let csum = if udp { UDP_CSUM } else { TCP_CSUM };
        frame[IP_CSUM..IP_CSUM + 2].fill(0);
        frame[csum..csum + 2].fill(0);
        let ip_base = u64::from(wire::checksum::data(&frame[14..L4]));
        let proto = if udp { ip_proto::UDP } else { ip_proto::TCP };
        let ph = wire::checksum::pseudo_header_v4(&Ipv4Addr::UNSPECIFIED, &dst, proto, l4_len as u32);
        let l4_base = u64::from(wire::checksum::combine(&[ph, wire::checksum::data(&frame[L4..L4 + l4_len])]));
        Template { frame, udp, ip_base, l4_base }
    }

    /// Bytes of a stamped frame.
    pub fn len(&self) -> usize {
        self.frame.len()
    }

    /// Never: a frame has headers.
    pub fn is_empty(&self) -> bool {
        self.frame.is_empty()
    }

    /// Write the frame into `out` (exactly [`Template::len`] bytes) from `src:sport`,
    /// TCP sequence number `seq` (ignored for UDP). `false` if `out` has the wrong length.
    #[inline]
    pub fn stamp(&self, out: &mut [u8], src: Ipv4Addr, sport: u16, seq: u32) -> bool {
        if out.len() != self.frame.len() {
            return false;
        }
        out.copy_from_slice(&self.frame);
        let a = u32::from(src);
        out[IP_SRC..IP_SRC + 4].copy_from_slice(&a.to_be_bytes());
        out[L4..L4 + 2].copy_from_slice(&sport.to_be_bytes());
        let ip = !wire::checksum::fold(self.ip_base + words(a));
        out[IP_CSUM..IP_CSUM + 2].copy_from_slice(&ip.to_be_bytes());
        if self.udp {
            let c = !wire::checksum::fold(self.l4_base + words(a) + u64::from(sport));
            let c = if c == 0 { 0xffff } else { c };
            out[UDP_CSUM..UDP_CSUM + 2].copy_from_slice(&c.to_be_bytes());
        } else {
            out[TCP_SEQ..TCP_SEQ + 4].copy_from_slice(&seq.to_be_bytes());
            let c = !wire::checksum::fold(self.l4_base + words(a) + u64::from(sport) + words(seq));
            out[TCP_CSUM..TCP_CSUM + 2].copy_from_slice(&c.to_be_bytes());
        }
        true
    }
}

/// Bytes of an ARP frame (padded).
pub const ARP_FRAME: usize = MIN_FRAME;

/// An ARP request or reply in a 60-byte frame.
pub fn write_arp(out: &mut [u8], eth: &EthernetRepr, arp: &ArpRepr) -> bool {
    if out.len() != ARP_FRAME || eth.ethertype != ethertype::ARP {
        return false;
    }
    out[14 + 28..].fill(0);
    eth.emit(&mut EthernetFrame::new_unchecked(&mut *out)).is_ok()
        && arp.emit(&mut ArpPacket::new_unchecked(&mut out[14..14 + 28])).is_ok()
}

/// What rvs-gen reads out of a received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rx {
    Arp(ArpRepr, EthernetAddress),
    Tcp(TcpSeen),
    /// Another IPv4 packet (UDP, ICMP, …) or a TCP one whose checksum is wrong.
    OtherIp,
    Other,
}

/// The fields of a received TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSeen {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload_len: u32,
}

/// Read a frame (untagged Ethernet II only).
pub fn parse(frame: &[u8]) -> Rx {
    let Ok(eth) = EthernetFrame::new_checked(frame) else { return Rx::Other };
    match eth.ethertype() {
        ethertype::ARP => match ArpRepr::parse(&ArpPacket::new_unchecked(eth.payload())) {
            Ok(a) => Rx::Arp(a, eth.src_addr()),
            Err(_) => Rx::Other,
        },
        ethertype::IPV4 => {
            let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else { return Rx::OtherIp };
            if ip.protocol() != ip_proto::TCP || ip.is_fragment() {
                return Rx::OtherIp;
            }
            let Ok(t) = TcpPacket::new_checked(ip.payload()) else { return Rx::OtherIp };
            Rx::Tcp(TcpSeen {
                src: ip.src_addr(),
                dst: ip.dst_addr(),
                sport: t.src_port(),
                dport: t.dst_port(),
                seq: t.seq_number(),
                ack: t.ack_number(),
                flags: t.flags(),
                payload_len: t.payload().len() as u32,
            })
        }
        _ => Rx::Other,
    }
}

/// The ARP reply to `req` for our `mac`.
pub fn arp_reply(req: &ArpRepr, mac: EthernetAddress) -> ArpRepr {
    ArpRepr {
        operation: arp_op::REPLY,
        source_hardware_addr: mac,
        source_protocol_addr: req.target_protocol_addr,
        target_hardware_addr: req.source_hardware_addr,
        target_protocol_addr: req.source_protocol_addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::tcp_flags;

    fn eth() -> EthernetRepr {
        EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype: ethertype::IPV4,
        }
    }

    #[test]
    fn tcp_round_trip_and_checksums() {
        for (data, fill, mss) in
            [(&b""[..], 0, true), (&b"GET / HTTP/1.1\r\n\r\n"[..], 0, false), (&b""[..], 1446, false)]
        {
            let s = Seg {
                src: Ipv4Addr::new(10, 0, 1, 100),
                dst: Ipv4Addr::new(10, 0, 2, 100),
                sport: 40000,
                dport: 80,
                seq: 7,
                ack: 9,
                flags: tcp_flags::SYN,
                mss,
                data,
                fill,
            };
            let mut b = vec![0xaa; tcp_len(&s)];
            assert!(write_tcp(&mut b, &eth(), &s));
            let ip = Ipv4Packet::new_checked(&b[14..]).unwrap();
            assert!(ip.verify_checksum());
            let t = TcpPacket::new_checked(ip.payload()).unwrap();
            assert!(t.verify_checksum(&s.src, &s.dst));
            let Rx::Tcp(seen) = parse(&b) else { panic!("not tcp") };
            assert_eq!((seen.sport, seen.seq, seen.ack, seen.flags), (40000, 7, 9, tcp_flags::SYN));
            assert_eq!(seen.payload_len as usize, if data.is_empty() { fill } else { data.len() });
        }
        // 64-byte and 1518-byte frames on the wire.
        let s = Seg {
            src: Ipv4Addr::LOCALHOST,
            dst: Ipv4Addr::LOCALHOST,
            sport: 1,
            dport: 2,
            seq: 0,
            ack: 0,
            flags: 0,
            mss: false,
            data: b"",
            fill: 0,
        };
        assert_eq!(tcp_len(&s), 60);
        assert_eq!(tcp_len(&Seg { fill: 1514 - TCP_HEADERS, ..s }), 1514);
    }

    #[test]
    fn template_stamps_what_write_writes() {
        let (src, dst) = (Ipv4Addr::new(11, 0, 3, 7), Ipv4Addr::new(10, 0, 2, 100));
        for fill in [6, 100, 1460] {
            let flags = tcp_flags::ACK | tcp_flags::PSH;
            let t = Template::tcp(&eth(), dst, 80, fill, flags);
            let mut a = vec![0; t.len()];
            assert!(t.stamp(&mut a, src, 40123, 0xdead_beef));
            let s =
                Seg { src, dst, sport: 40123, dport: 80, seq: 0xdead_beef, ack: 1, flags, mss: false, data: b"", fill };
            let mut b = vec![0; tcp_len(&s)];
            assert!(write_tcp(&mut b, &eth(), &s));
            assert_eq!(a, b, "fill {fill}");
        }
        for payload in [18, 1000] {
            let t = Template::udp(&eth(), dst, 53, payload);
            let mut a = vec![0; t.len()];
            assert!(t.stamp(&mut a, src, 999, 0));
            let mut b = vec![0; udp_len(payload)];
            assert!(write_udp(&mut b, &eth(), (src, 999), (dst, 53), payload));
            assert_eq!(a, b, "udp payload {payload}");
        }
    }

    #[test]
    fn udp_and_arp() {
        let mut b = vec![0; udp_len(100)];
        let (a, z) = (Ipv4Addr::new(1, 2, 3, 4), Ipv4Addr::new(5, 6, 7, 8));
        assert!(write_udp(&mut b, &eth(), (a, 1), (z, 2), 100));
        let ip = Ipv4Packet::new_checked(&b[14..]).unwrap();
        assert!(UdpPacket::new_checked(ip.payload()).unwrap().verify_checksum(&a, &z));
        assert_eq!(parse(&b), Rx::OtherIp);
        let req = ArpRepr {
            operation: arp_op::REQUEST,
            source_hardware_addr: EthernetAddress([2, 0, 0, 0, 0, 9]),
            source_protocol_addr: a,
            target_hardware_addr: EthernetAddress::default(),
            target_protocol_addr: z,
        };
        let mut f = [0u8; ARP_FRAME];
        let e = EthernetRepr { ethertype: ethertype::ARP, ..eth() };
        assert!(write_arp(&mut f, &e, &req));
        let Rx::Arp(got, from) = parse(&f) else { panic!("not arp") };
        assert_eq!((got, from), (req, e.src_addr));
        let rep = arp_reply(&got, EthernetAddress([2, 0, 0, 0, 0, 7]));
        assert_eq!((rep.source_protocol_addr, rep.target_protocol_addr), (z, a));
    }
}
