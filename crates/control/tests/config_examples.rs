//! The shipped example configurations parse and mean what they say.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use control::config::{self, Ipv4Cidr};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dpdk-config").join(name)
}

fn net(s: &str) -> control::config::IpCidr {
    control::config::IpCidr::V4(cidr(s))
}

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().expect("test CIDR")
}

#[test]
fn demo_toml_parses() {
    let path = example("demo.toml");
    let c = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.path, path);
    assert!(c.eal.args.iter().any(|a| a == "--vdev=net_af_packet0,iface=dwan,qpairs=1"));
    assert_eq!(c.ports.len(), 2);
    assert_eq!(c.ports[0].name, "wan");
    assert_eq!(c.ports[0].device, "net_af_packet0");
    assert_eq!(c.ports[0].addresses, vec![cidr("10.0.2.2/24")]);
    assert_eq!(c.ports[1].name, "lan");
    assert_eq!(c.ports[1].device, "net_af_packet1");
    assert_eq!(c.ports[1].addresses, vec![cidr("10.0.3.1/24")]);
    assert_eq!(c.ports[0].addresses6, vec!["2001:db8:2::2/64".parse().unwrap()]);
    assert_eq!(c.ports[1].addresses6, vec!["2001:db8:3::1/64".parse().unwrap()]);
    assert_eq!((c.ports[0].rx_desc, c.ports[0].tx_desc, c.ports[0].mtu), (1024, 1024, 1500));

    assert_eq!(c.vips.len(), 2);
    assert_eq!(c.vips[0].addr, Ipv4Addr::new(10, 0, 2, 100));
    assert_eq!(c.vips[0].port, 0);
    assert_eq!(c.vips[1].addr, "2001:db8:2::100".parse::<std::net::Ipv6Addr>().unwrap());
    assert_eq!(c.vips[1].port, 0, "found by its subnet");

    assert_eq!(c.routes.len(), 4);
    assert_eq!(c.routes[2].gateway, "2001:db8:2::1".parse::<std::net::Ipv6Addr>().unwrap());
    assert_eq!(c.routes[3].port, 1);
    assert_eq!(c.routes[0].prefix, net("0.0.0.0/0"));
    assert_eq!(c.routes[0].gateway, Ipv4Addr::new(10, 0, 2, 1));
    assert_eq!(c.routes[0].port, 0);
    assert_eq!(c.routes[1].prefix, net("10.0.4.0/24"));
    assert_eq!(c.routes[1].gateway, Ipv4Addr::new(10, 0, 3, 254));
    assert_eq!(c.routes[1].port, 1);

    assert_eq!(c.workers.lcores, vec![1]);
    assert_eq!(c.control.metrics, "127.0.0.1:9469".parse::<SocketAddr>().unwrap());
    assert_eq!(c.control.socket, PathBuf::from("/run/rvs/rvsd.sock"));
    assert_eq!(c.control.cpu, None);
    assert_eq!(c.port_index("lan"), Some(1));
}

#[test]
fn pci_example_toml_parses() {
    let c = config::load(&example("pci-example.toml")).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<(&str, &str)> = c.ports.iter().map(|p| (p.name.as_str(), p.device.as_str())).collect();
    assert_eq!(names, [("wan", "0000:03:00.0"), ("lan", "0000:03:00.1")]);
    assert_eq!(c.ports[0].addresses, vec![cidr("203.0.113.2/24")]);
    assert_eq!(c.ports[1].addresses, vec![cidr("198.51.100.1/24")]);
    assert_eq!((c.ports[0].rx_desc, c.ports[0].mtu), (2048, 1500));
    let vips: Vec<(std::net::IpAddr, usize)> = c.vips.iter().map(|v| (v.addr, v.port)).collect();
    assert_eq!(vips, [(Ipv4Addr::new(203, 0, 113, 10).into(), 0), (Ipv4Addr::new(203, 0, 113, 11).into(), 0)]);
    assert_eq!(c.routes[0].port, 0);
    assert_eq!((c.routes[1].prefix, c.routes[1].port), (net("192.0.2.0/24"), 1));
    assert_eq!(c.workers.lcores, vec![1, 2, 3, 4]);
    assert_eq!((c.workers.mbufs, c.workers.mbufs_auto), (65535, true), "sized to its rings, as its comment says");
    assert_eq!(c.control.cpu, Some(0));
    assert!(!c.eal.args.iter().any(|a| a.contains("no-huge")));
}

/// Every example in dpdk-config/ must load, so none can rot unnoticed.
#[test]
fn all_examples_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dpdk-config");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("dpdk-config/") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            config::load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 2);
}

#[test]
fn keepalived_lab_toml_names_its_keepalived_conf() {
    let path = example("keepalived-lab.toml");
    let c = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.control.keepalived, Some(example("keepalived-lab.conf")));
    let k = control::keepalived::load_for(&c).unwrap_or_else(|e| panic!("{e}")).expect("named");
    assert_eq!((k.services.len(), c.services.len(), k.warnings.len()), (1, 1, 0));
    let all = control::keepalived::declared(&c, &k.services);
    assert_eq!(all.len(), 2);
    assert_eq!(control::services::build(&all, 4096).map(|m| m.services().len()), Ok(2));
}
