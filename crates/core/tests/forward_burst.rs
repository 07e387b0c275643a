//! The staged burst path (`Director::input_burst`: prefetch, parse and hash, prefetch
//! entries, then decide) must do exactly what the one-packet path does, in the same
//! order: a connection created by one frame of a burst is found by a later frame of it,
//! and bursts longer than a stage are handled in stages.

mod forward_common;

use forward_common::golden::*;
use forward_common::*;
use wire::VecBuf;

fn one_by_one(l: &mut Lab, port: u16, frames: &[&str], io: &mut Recorder) {
    for f in frames {
        l.dir.input(port, VecBuf::from_slice(&hex(f)), 1_000, false, io);
    }
}

fn as_burst(l: &mut Lab, port: u16, frames: &[&str], io: &mut Recorder) {
    l.dir.input_burst(port, frames.iter().map(|f| VecBuf::from_slice(&hex(f))), 1_000, false, io);
}

type Outcome = (Vec<(u16, Vec<u8>)>, Vec<(u16, rvs_core::stats::DropReason)>, Vec<(u8, u16)>);

fn outcome(io: &Recorder) -> Outcome {
    (io.tx.clone(), io.drops.clone(), io.redirects.clone())
}

#[test]
fn a_burst_is_handled_as_its_packets_one_by_one() {
    // Client side: new NAT, DR, TUN and UDP flows, a SYN for a service without real
    // servers, an ACK without a connection, and a retransmitted SYN that must find the
    // connection the first frame of this same burst created.
    let wan = [NAT_SYN_IN, DR_SYN_IN, TUN_SYN_IN, UDP_IN, NODEST_IN, NAT_ACK_NOCONN, NAT_SYN_IN, NAT_SYN2_IN];
    // Server side: a NAT reply and an ICMP error quoting the NAT'ed UDP datagram.
    let lan = [NAT_SYNACK_IN, RS_UNREACH_IN];
    let (mut a, mut b) = (lab(), lab());
    let (mut ia, mut ib) = (Recorder::default(), Recorder::default());
    one_by_one(&mut a, 0, &wan, &mut ia);
    one_by_one(&mut a, 1, &lan, &mut ia);
    as_burst(&mut b, 0, &wan, &mut ib);
    as_burst(&mut b, 1, &lan, &mut ib);
    assert_eq!(outcome(&ib), outcome(&ia));
    // And they did real work: every forwarded frame is the scapy golden one.
    assert!(ib.tx.contains(&(1, hex(NAT_SYN_OUT))));
    assert!(ib.tx.contains(&(0, hex(NAT_SYNACK_OUT))));
    assert!(ib.tx.contains(&(0, hex(RS_UNREACH_OUT))));
    assert!(ib.icmp_sent >= 1, "the no-real-server SYN drew port unreachable");
    assert_eq!(b.dir.lb.conns().len(), a.dir.lb.conns().len());
}

#[test]
fn bursts_longer_than_a_stage_lose_nothing() {
    let frames: Vec<&str> = std::iter::repeat_n([NAT_SYN_IN, DR_SYN_IN, NAT_ACK_NOCONN], 23).flatten().collect();
    assert!(frames.len() > 64);
    let (mut a, mut b) = (lab(), lab());
    let (mut ia, mut ib) = (Recorder::default(), Recorder::default());
    one_by_one(&mut a, 0, &frames, &mut ia);
    as_burst(&mut b, 0, &frames, &mut ib);
    assert_eq!(outcome(&ib), outcome(&ia));
    assert_eq!(ib.tx.len() + ib.drops.len(), frames.len());
}

/// The IPv4 fast path (established NAT and DR, NAT replies) against the general path:
/// same frames out, same drops, same connection states and counters.
#[test]
fn fast_path_agrees_with_the_general_path() {
    // A UDP datagram without checksum (0, RFC 768) must keep none on both paths.
    let mut udp0 = hex(UDP_IN);
    udp0[14 + 20 + 6] = 0;
    udp0[14 + 20 + 7] = 0;
    let udp0: String = udp0.iter().map(|x| format!("{x:02x}")).collect();
    let wan = [NAT_SYN_IN, DR_SYN_IN, UDP_IN, NAT_SYN_IN, DR_SYN_IN, UDP_IN, TUN_SYN_IN, TUN_SYN_IN, &udp0];
    let lan = [NAT_SYNACK_IN, RS_UNREACH_IN, NAT_SYNACK_IN];
    let (mut general, mut fast) = (lab(), lab());
    general.dir.lb.set_fast_path(false);
    let (mut ig, mut iff) = (Recorder::default(), Recorder::default());
    for (l, io) in [(&mut general, &mut ig), (&mut fast, &mut iff)] {
        for round in 0..3 {
            as_burst(l, 0, &wan, io);
            as_burst(l, 1, &lan, io);
            // A client's ACK and FIN move the NAT connection's state on both paths.
            let flags = if round == 2 { "11" } else { "10" };
            as_burst(l, 0, &[&ack_of(NAT_SYN_IN, flags)], io);
        }
    }
    assert_eq!(outcome(&iff), outcome(&ig));
    assert!(iff.tx.len() > 20);
    let zero = iff.tx.iter().filter(|(_, f)| f.len() > 41 && f[23] == 17 && f[40] == 0 && f[41] == 0).count();
    assert_eq!(zero, 3, "the checksum-less datagram went out three times, still without a checksum");
    assert_eq!(general.dir.lb.fast_path_packets(), 0);
    let n = fast.dir.lb.fast_path_packets();
    assert!(n >= 26, "NAT, DR and TUN inbound and NAT replies take the fast path: {n}");
    let list = |l: &Lab| {
        let mut v: Vec<String> = l.dir.lb.conns().iter(1_000).map(|c| c.ipvsadm_row()).collect();
        v.sort();
        v
    };
    assert_eq!(list(&fast), list(&general));
    for d in 0..4u32 {
        let (a, b) = (general.stats.dest(d).unwrap(), fast.stats.dest(d).unwrap());
        assert_eq!(
            (a.inpkts.get(), a.inbytes.get(), a.outpkts.get(), a.outbytes.get()),
            (b.inpkts.get(), b.inbytes.get(), b.outpkts.get(), b.outbytes.get()),
            "dest {d}"
        );
    }
}

/// `frame` (a client's TCP SYN to the VIP) with its TCP flags set to `flags` (hex) and
/// the checksum fixed: the connection's next segment.
fn ack_of(frame: &str, flags: &str) -> String {
    let mut b = hex(frame);
    let l4 = 14 + usize::from(b[14] & 0x0f) * 4;
    b[l4 + 13] = u8::from_str_radix(flags, 16).unwrap();
    b[l4 + 16] = 0;
    b[l4 + 17] = 0;
    let src: [u8; 4] = b[26..30].try_into().unwrap();
    let dst: [u8; 4] = b[30..34].try_into().unwrap();
    let len = b.len() - l4;
    let mut sum = wire::checksum::pseudo_header_v4(&src.into(), &dst.into(), 6, len as u32) as u32;
    sum += u32::from(wire::checksum::data(&b[l4..]));
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let c = !(sum as u16);
    b[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
    b.iter().map(|x| format!("{x:02x}")).collect()
}
