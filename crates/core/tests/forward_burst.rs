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
