//! Ipv4Cidr parsing and subnet arithmetic.

use std::net::Ipv4Addr;

use control::config::Ipv4Cidr;

fn c(s: &str) -> Ipv4Cidr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn parse_and_display() {
    let x = c("10.0.2.2/24");
    assert_eq!((x.addr, x.prefix_len), (Ipv4Addr::new(10, 0, 2, 2), 24));
    assert_eq!(x.to_string(), "10.0.2.2/24");
    assert_eq!(c("0.0.0.0/0").to_string(), "0.0.0.0/0");
    for bad in [
        "10.0.2.300/24",
        "10.0.2.2/33",
        "10.0.2.2",
        "10.0.2.2/",
        "/24",
        "10.0.2/24",
        "10.0.2.2/24/1",
        "10.0.2.2/-1",
        "10.0.2.2/+8",
        "10.0.2.2/ 8",
        "",
    ] {
        assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad:?} parsed");
    }
    assert_eq!(Ipv4Cidr::new(Ipv4Addr::LOCALHOST, 33), None);
}

#[test]
fn network_broadcast_contains() {
    let x = c("10.0.2.2/24");
    assert_eq!(x.network(), Ipv4Addr::new(10, 0, 2, 0));
    assert_eq!(x.broadcast(), Ipv4Addr::new(10, 0, 2, 255));
    assert_eq!(x.netmask(), Ipv4Addr::new(255, 255, 255, 0));
    assert!(x.contains(Ipv4Addr::new(10, 0, 2, 1)));
    assert!(!x.contains(Ipv4Addr::new(10, 0, 3, 1)));
    assert!(!x.is_network());
    assert!(c("10.0.4.0/24").is_network());
    let all = c("0.0.0.0/0");
    assert!(all.contains(Ipv4Addr::BROADCAST) && all.contains(Ipv4Addr::UNSPECIFIED));
    assert_eq!(all.netmask(), Ipv4Addr::UNSPECIFIED);
    let host = c("10.0.2.2/32");
    assert!(host.contains(Ipv4Addr::new(10, 0, 2, 2)) && !host.contains(Ipv4Addr::new(10, 0, 2, 3)));
    assert_eq!(c("10.0.2.5/31").network(), Ipv4Addr::new(10, 0, 2, 4));
}

#[test]
fn overlaps() {
    assert!(c("10.0.2.2/24").overlaps(&c("10.0.2.200/25")));
    assert!(c("10.0.2.200/25").overlaps(&c("10.0.2.2/24")));
    assert!(c("10.0.0.1/8").overlaps(&c("10.0.3.1/24")));
    assert!(!c("10.0.2.2/24").overlaps(&c("10.0.3.1/24")));
    assert!(!c("10.0.2.1/25").overlaps(&c("10.0.2.129/25")));
    assert!(c("0.0.0.0/0").overlaps(&c("192.0.2.1/32")));
    assert!(c("192.0.2.1/32").overlaps(&c("192.0.2.1/32")));
}
