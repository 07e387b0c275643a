use std::net::IpAddr;

use etherparse::PacketBuilder;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp4(src: &str, sport: u16, dst: &str, dport: u16) -> Vec<u8> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (ip(src), ip(dst)) else { panic!() };
    let b = PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(s.octets(), d.octets(), 64).tcp(sport, dport, 1, 1000);
    let mut v = Vec::new();
    b.write(&mut v, b"GET /").unwrap();
    v
}

fn udp6(src: &str, sport: u16, dst: &str, dport: u16) -> Vec<u8> {
    let (IpAddr::V6(s), IpAddr::V6(d)) = (ip(src), ip(dst)) else { panic!() };
    let b = PacketBuilder::ethernet2([2; 6], [4; 6]).ipv6(s.octets(), d.octets(), 64).udp(sport, dport);
    let mut v = Vec::new();
    b.write(&mut v, b"q").unwrap();
    v
}

/// The TUN transmitter's frame: an outer IPv4 header (proto 4) around `inner`'s packet.
fn ipip(inner: &[u8]) -> Vec<u8> {
    let mut v = inner[..14].to_vec();
    let pkt = &inner[14..];
    let total = (20 + pkt.len()) as u16;
    v.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 4, 0, 0]);
    v.extend_from_slice(&[10, 0, 3, 1, 10, 0, 3, 21]);
    v.extend_from_slice(pkt);
    v
}

fn service() -> Filter {
    Filter::Service(ServiceMatch {
        proto: 6,
        vip: ip("10.0.2.100"),
        vport: 80,
        reals: vec![(ip("10.0.3.11"), 80), (ip("10.0.3.12"), 8080)],
    })
}

#[test]
fn the_service_filter_takes_both_sides_of_nat_dr_and_tun() {
    let f = service();
    let m = |fr: &[u8]| f.matches(0, fr);
    // Client side, both ways (and DR's rewritten frame, which keeps the VIP).
    assert!(m(&tcp4("10.0.1.2", 40000, "10.0.2.100", 80)));
    assert!(m(&tcp4("10.0.2.100", 80, "10.0.1.2", 40000)));
    // NAT's real-server side: after DNAT, and the reply before SNAT.
    assert!(m(&tcp4("10.0.1.2", 40000, "10.0.3.11", 80)));
    assert!(m(&tcp4("10.0.3.12", 8080, "10.0.1.2", 40000)));
    // TUN: the inner packet decides.
    assert!(m(&ipip(&tcp4("10.0.1.2", 40000, "10.0.2.100", 80))));
    assert!(!m(&ipip(&tcp4("10.0.1.2", 40000, "10.0.2.100", 443))));
    // Other ports, addresses, protocols.
    assert!(!m(&tcp4("10.0.1.2", 40000, "10.0.2.100", 443)));
    assert!(!m(&tcp4("10.0.3.12", 80, "10.0.1.2", 40000)), "rs2 is on 8080");
    assert!(!m(&tcp4("10.0.1.2", 40000, "10.0.1.3", 80)));
    let v6 = Filter::Service(ServiceMatch { proto: 17, vip: ip("2001:db8:2::100"), vport: 53, reals: vec![] });
    assert!(v6.matches(0, &udp6("2001:db8:1::2", 5000, "2001:db8:2::100", 53)));
    assert!(!v6.matches(0, &udp6("2001:db8:1::2", 5000, "2001:db8:2::100", 54)));
    assert!(!f.matches(0, &udp6("2001:db8:1::2", 5000, "2001:db8:2::100", 80)));
}

#[test]
fn malformed_frames_match_nothing_and_never_panic() {
    let f = service();
    let good = tcp4("10.0.1.2", 40000, "10.0.2.100", 80);
    for n in 0..good.len() {
        let _ = f.matches(0, &good[..n]);
    }
    assert!(!f.matches(0, &good[..30]), "cut in the IP header");
    let mut bad_ihl = good.clone();
    bad_ihl[14] = 0x41;
    assert!(!f.matches(0, &bad_ihl));
    assert!(!f.matches(0, &[0xff; 64]));
    assert!(!f.matches(0, &[]));
}

#[test]
fn the_port_filter_takes_everything_of_its_port() {
    let f = Filter::Port(1);
    assert!(f.matches(1, &[]));
    assert!(!f.matches(0, &tcp4("10.0.1.2", 1, "10.0.2.100", 80)));
}

#[test]
fn takes_exactly_count_frames_then_disarms() {
    let c = Capture::new(Filter::Port(0), 3, 128);
    let fr = tcp4("10.0.1.2", 40000, "10.0.2.100", 80);
    c.offer(1, Stage::In, 0, &fr, || 7); // another port
    for _ in 0..5 {
        c.offer(0, Stage::Out, 1, &fr, || 9);
    }
    assert!(!c.armed() && c.complete());
    let got: Vec<Frame> = std::iter::from_fn(|| c.pop()).collect();
    assert_eq!(got.len(), 3);
    assert_eq!((got[0].port, got[0].stage, got[0].core, got[0].ts_ns), (0, Stage::Out, 1, 9));
    assert_eq!(&got[0].buf[..got[0].caplen as usize], &fr[..]);
    assert_eq!(c.lost(), 0);
}

#[test]
fn a_full_sink_counts_its_losses_and_snaplen_cuts() {
    // 2000 frames asked, but buffers for MAX_SINK_BYTES / snaplen only.
    let c = Capture::new(Filter::Port(0), 2000, MAX_SNAPLEN);
    let slots = c.slots();
    assert_eq!(slots, MAX_SINK_BYTES / MAX_SNAPLEN as usize);
    let fr = vec![0xaa; 100];
    for _ in 0..slots + 10 {
        c.offer(0, Stage::In, 0, &fr, || 0);
    }
    assert_eq!(c.lost(), 10);
    assert!(c.armed() && !c.complete());
    // Draining frees buffers for more.
    let f = c.pop().unwrap();
    assert_eq!((f.caplen, f.len), (100, 100));
    c.recycle(f.buf);
    c.offer(0, Stage::In, 0, &fr, || 0);
    assert_eq!(c.lost(), 10);

    let small = Capture::new(Filter::Port(0), 1, 64);
    small.offer(0, Stage::In, 0, &fr, || 0);
    let f = small.pop().unwrap();
    assert_eq!((f.caplen, f.len), (64, 100));
}

#[test]
fn a_disarmed_capture_takes_nothing() {
    let c = Capture::new(Filter::Port(0), 10, 128);
    c.disarm();
    c.offer(0, Stage::In, 0, &[1, 2, 3], || panic!("clock read for nothing"));
    assert!(c.pop().is_none());
    assert_eq!(c.lost(), 0);
}

proptest::proptest! {
    /// Any bytes, as a frame or behind a valid Ethernet/IP start: no panic.
    #[test]
    fn the_matcher_takes_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..128), v6 in proptest::bool::ANY) {
        let f = service();
        let _ = f.matches(0, &bytes);
        let mut framed = vec![0u8; 12];
        framed.extend_from_slice(if v6 { &[0x86, 0xdd, 0x60] } else { &[0x08, 0x00, 0x45] });
        framed.extend_from_slice(&bytes);
        let _ = f.matches(0, &framed);
        let c = Capture::new(f, 1, 64);
        c.offer(0, Stage::In, 0, &framed, || 0);
    }
}

#[test]
fn workers_racing_take_exactly_count() {
    let c = std::sync::Arc::new(Capture::new(Filter::Port(0), 500, 64));
    let threads: Vec<_> = (0..4u8)
        .map(|core| {
            let c = c.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    c.offer(0, Stage::Out, core, &[core; 80], || 1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(c.complete() && !c.armed());
    assert_eq!(std::iter::from_fn(|| c.pop()).count(), 500);
    // A frame may find every buffer held by the last ones being claimed: a loss while
    // the count was not yet reached, one per other worker at most.
    assert!(c.lost() <= 3, "{}", c.lost());
}
