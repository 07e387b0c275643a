//! VIP and route resolution, workers, control, EAL lcores, defaults.

mod config_common;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use config_common::{edit, err, ok, BASE};
use control::config::{self, ConfigError, ControlConfig, WorkersConfig};

#[track_caller]
fn check(text: &str, prefix: &str, message_part: &str) {
    let e = err(text);
    assert!(e.starts_with(prefix), "expected prefix {prefix:?}, got {e:?}");
    assert!(e.contains(message_part), "expected {message_part:?} in {e:?}");
}

// --- VIPs ---

#[test]
fn vip_resolves_to_port_by_subnet_or_name() {
    let c = ok(&edit(BASE, "address = \"10.0.2.100\"", "address = \"10.0.3.100\""));
    assert_eq!(c.vips[0].port, 1);
    // An explicit port may hold a VIP routed to the director from elsewhere.
    let c = ok(&edit(BASE, "address = \"10.0.2.100\"", "address = \"192.0.2.10\"\nport = \"lan\""));
    assert_eq!((c.vips[0].addr, c.vips[0].port), (Ipv4Addr::new(192, 0, 2, 10).into(), 1));
}

#[test]
fn vip_errors() {
    check(&edit(BASE, "\"10.0.2.100\"", "\"10.0.2.256\""), "t.toml:15: vip[0].address: ", "not an IPv4 address");
    check(&edit(BASE, "\"10.0.2.100\"", "\"10.0.2.100/32\""), "t.toml:15: vip[0].address: ", "not an IPv4 address");
    check(&edit(BASE, "\"10.0.2.100\"", "\"10.9.9.9\""), "t.toml:15: vip[0].address: ", "on no port's subnet");
    check(
        &edit(BASE, "\"10.0.2.100\"", "\"10.0.2.100\"\nport = \"dmz\""),
        "t.toml:16: vip[0].port: ",
        "unknown port 'dmz' (ports: wan, lan)",
    );
    check(
        &edit(BASE, "\"10.0.2.100\"", "\"10.0.2.2\""),
        "t.toml:15: vip[0].address: ",
        "port address (port[0].addresses[0])",
    );
    check(&edit(BASE, "\"10.0.2.100\"", "\"10.0.2.255\""), "t.toml:15: vip[0].address: ", "broadcast");
    check(&edit(BASE, "\"10.0.2.100\"", "\"0.0.0.0\""), "t.toml:15: vip[0].address: ", "unspecified");
    let dup = edit(BASE, "[[route]]", "[[vip]]\naddress = \"10.0.2.100\"\n\n[[route]]");
    check(&dup, "t.toml:18: vip[1].address: ", "duplicate VIP 10.0.2.100 (also vip[0])");
}

// --- routes ---

#[test]
fn route_resolves_port_from_gateway() {
    let t = edit(
        BASE,
        "gateway = \"10.0.2.1\"",
        "gateway = \"10.0.2.1\"\n\n[[route]]\nprefix = \"10.0.4.0/24\"\ngateway = \"10.0.3.254\"",
    );
    let c = ok(&t);
    assert_eq!(c.routes[0].port, 0);
    assert_eq!(c.routes[1].port, 1);
    assert_eq!(c.routes[1].prefix.to_string(), "10.0.4.0/24");
}

#[test]
fn route_errors() {
    check(
        &edit(BASE, "\"10.0.2.1\"", "\"10.0.9.1\""),
        "t.toml:19: route[0].gateway: ",
        "gateway 10.0.9.1 is not on any port's subnet",
    );
    check(&edit(BASE, "\"10.0.2.1\"", "\"10.0.2.2\""), "t.toml:19: route[0].gateway: ", "own address");
    check(&edit(BASE, "\"10.0.2.1\"", "\"gw\""), "t.toml:19: route[0].gateway: ", "not an IPv4 address");
    check(&edit(BASE, "\"0.0.0.0/0\"", "\"0.0.0.0\""), "t.toml:18: route[0].prefix: ", "no prefix length");
    check(&edit(BASE, "\"0.0.0.0/0\"", "\"10.0.4.1/24\""), "t.toml:18: route[0].prefix: ", "did you mean 10.0.4.0/24?");
    let dup = format!("{}\n[[route]]\nprefix = \"0.0.0.0/0\"\ngateway = \"10.0.3.2\"\n", BASE);
    check(&dup, "t.toml:25: route[1].prefix: ", "duplicate route 0.0.0.0/0 (also route[0])");
}

// --- workers ---

#[test]
fn worker_lcore_errors() {
    check(&edit(BASE, "lcores = [1]", "lcores = []"), "t.toml:22: workers.lcores: ", "no worker lcores");
    check(
        &edit(BASE, "lcores = [1]", "lcores = [1, 5]"),
        "t.toml:22: workers.lcores[1]: ",
        "lcore 5 is not in the EAL lcore list",
    );
    check(&edit(BASE, "lcores = [1]", "lcores = [0]"), "t.toml:22: workers.lcores[0]: ", "main lcore");
    check(&edit(BASE, "lcores = [1]", "lcores = [1, 1]"), "t.toml:22: workers.lcores[1]: ", "listed twice");
    // --main-lcore moves the main lcore.
    let moved = edit(BASE, "\"0,1\"", "\"0,1\", \"--main-lcore\", \"1\"");
    check(&moved, "t.toml:22: workers.lcores[0]: ", "lcore 1 is the EAL main lcore");
    assert_eq!(ok(&edit(&moved, "lcores = [1]", "lcores = [0]")).workers.lcores, vec![0]);
    // Without -l the main lcore is 0 and any other lcore is accepted.
    let nol = edit(BASE, "\"-l\", \"0,1\", ", "");
    assert_eq!(ok(&edit(&nol, "lcores = [1]", "lcores = [3, 7]")).workers.lcores, vec![3, 7]);
    check(&edit(&nol, "lcores = [1]", "lcores = [0]"), "t.toml:22: workers.lcores[0]: ", "main lcore");
}

#[test]
fn eal_lcore_syntaxes() {
    let with = |l: &str| edit(BASE, "\"-l\", \"0,1\"", l);
    assert_eq!(ok(&edit(&with("\"-l0-4\""), "[1]", "[1, 2, 3, 4]")).workers.lcores, vec![1, 2, 3, 4]);
    assert_eq!(ok(&edit(&with("\"--lcores=0,(1-2)@3\""), "[1]", "[2, 1]")).workers.lcores, vec![2, 1]);
    assert_eq!(ok(&edit(&with("\"-c\", \"0x6\""), "[1]", "[2]")).workers.lcores, vec![2]);
    // -c 0x6 = lcores 1 and 2, so 1 is main.
    check(&with("\"-c\", \"0x6\""), "t.toml:22: workers.lcores[0]: ", "main lcore");
    check(&with("\"-l\", \"3-1\""), "t.toml:2: eal.args[2]: ", "backwards");
    check(&with("\"-l\", \"x\""), "t.toml:2: eal.args[2]: ", "not an lcore id");
    check(&with("\"--lcores=(1,2\""), "t.toml:2: eal.args[1]: ", "unbalanced");
    check(&with("\"-c\", \"0xg\""), "t.toml:2: eal.args[2]: ", "core mask");
    check(
        &edit(BASE, "\"--vdev=net_null1\"]", "\"--vdev=net_null1\", \"-l\"]"),
        "t.toml:2: eal.args[5]: ",
        "'-l' needs a value",
    );
    check(&edit(BASE, "\"--vdev=net_null1\"", "\"--vdev=,iface=x\""), "t.toml:2: eal.args[4]: ", "no device name");
}

#[test]
fn eal_args_across_lines_report_the_arg_line() {
    let t = edit(BASE, "\"-l\", \"0,1\",", "\n  \"-l\",\n  \"9-1\",");
    check(&t, "t.toml:4: eal.args[2]: ", "backwards");
}

#[test]
fn worker_limits() {
    check(&format!("{BASE}burst = 0\n"), "t.toml:23: workers.burst: ", "0 is out of range 1..=32");
    check(&format!("{BASE}burst = 33\n"), "t.toml:23: workers.burst: ", "33 is out of range 1..=32");
    assert_eq!(ok(&format!("{BASE}burst = 1\n")).workers.burst, 1);
    check(&format!("{BASE}mbuf_cache = 513\n"), "t.toml:23: workers.mbuf_cache: ", "out of range 0..=512");
    check(&format!("{BASE}mbufs = 300\n"), "t.toml:23: workers.mbuf_cache: ", "mbufs / 1.5");
    check(&format!("{BASE}conn_capacity = 0\n"), "t.toml:23: workers.conn_capacity: ", "out of range");
    check(&format!("{BASE}neigh_reachable_secs = 0\n"), "t.toml:23: workers.neigh_reachable_secs: ", "out of range");
}

// --- control ---

#[test]
fn control_errors() {
    let c = |body: &str| format!("{BASE}\n[control]\n{body}\n");
    check(&c("metrics = \"localhost\""), "t.toml:25: control.metrics: ", "not ADDRESS:PORT");
    check(&c("socket = \"rvsd.sock\""), "t.toml:25: control.socket: ", "absolute path");
    check(&c("cpu = 1"), "t.toml:25: control.cpu: ", "CPU 1 runs a worker lcore");
    let ctl = ok(&c("metrics = \"[::1]:9100\"\nsocket = \"/tmp/x.sock\"\ncpu = 0")).control;
    assert_eq!(ctl.metrics, "[::1]:9100".parse().unwrap());
    assert_eq!((ctl.socket, ctl.cpu), (PathBuf::from("/tmp/x.sock"), Some(0)));
}

// --- defaults, Display, files ---

#[test]
fn defaults_applied() {
    let c = ok(BASE);
    let w = &c.workers;
    assert_eq!(w.lcores, vec![1]);
    // mbufs left out: sized to 1 worker x 2 ports' rings, caches and neighbour queues.
    assert_eq!((w.burst, w.drain_us, w.mbufs, w.mbufs_auto, w.mbuf_cache), (32, 100, 16383, true, 256));
    assert_eq!((w.conn_capacity, w.neigh_capacity, w.neigh_queue, w.neigh_reachable_secs), (1 << 20, 1024, 4, 300));
    assert_eq!(*w, WorkersConfig { lcores: vec![1], mbufs: 16383, mbufs_auto: true, ..WorkersConfig::default() });
    assert_eq!(c.control, ControlConfig::default());
    assert_eq!(c.control.metrics, "127.0.0.1:9469".parse().unwrap());
    assert_eq!(c.control.socket, PathBuf::from("/run/rvs/rvsd.sock"));
    for p in &c.ports {
        assert_eq!((p.rx_desc, p.tx_desc, p.mtu), (1024, 1024, 1500));
    }
    assert_eq!(c.path, PathBuf::from("t.toml"));
}

#[test]
fn overrides_applied() {
    let t = edit(BASE, "name = \"lan\"", "name = \"lan\"\nrx_desc = 512\ntx_desc = 2048\nmtu = 9000");
    let t = format!("{t}burst = 16\ndrain_us = 50\nmbufs = 16383\nmbuf_cache = 512\nconn_capacity = 4096\nneigh_capacity = 64\nneigh_queue = 0\nneigh_reachable_secs = 30\n");
    let c = ok(&t);
    assert_eq!((c.ports[1].rx_desc, c.ports[1].tx_desc, c.ports[1].mtu), (512, 2048, 9000));
    let w = c.workers;
    assert_eq!((w.burst, w.drain_us, w.mbufs, w.mbuf_cache), (16, 50, 16383, 512));
    assert_eq!((w.conn_capacity, w.neigh_capacity, w.neigh_queue, w.neigh_reachable_secs), (4096, 64, 0, 30));
}

#[test]
fn display_forms() {
    let e = ConfigError { path: "demo.toml".into(), line: Some(7), key: "port[1].device".into(), message: "m".into() };
    assert_eq!(e.to_string(), "demo.toml:7: port[1].device: m");
    let e = ConfigError { line: None, ..e };
    assert_eq!(e.to_string(), "demo.toml: port[1].device: m");
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert!(boxed.to_string().starts_with("demo.toml"));
}

#[test]
fn load_missing_file() {
    let e = config::load(Path::new("/nonexistent/rvsd.toml")).unwrap_err();
    assert_eq!(e.line, None);
    assert!(e.to_string().starts_with("/nonexistent/rvsd.toml: cannot read: "), "{e}");
}

#[test]
fn crlf_line_endings() {
    let t = edit(BASE, "10.0.2.2/24", "10.0.2.2/99").replace('\n', "\r\n");
    check(&t, "t.toml:7: port[0].addresses[0]: ", "prefix length");
}

/// No input may panic: every prefix of a valid file, and byte mutations of it.
#[test]
fn no_panics_on_garbage() {
    let mut cuts = 0;
    for end in 0..=BASE.len() {
        if let Some(t) = BASE.get(..end) {
            let _ = config::parse(t, Path::new("t.toml"));
            cuts += 1;
        }
    }
    assert!(cuts > 100);
    // Deep nesting must not overflow the stack.
    let deep = format!("{BASE}x = {}{}\n", "[".repeat(20_000), "]".repeat(20_000));
    assert!(config::parse(&deep, Path::new("t.toml")).is_err());
    let deep = format!("{BASE}x = {}\n", "{a = ".repeat(20_000));
    assert!(config::parse(&deep, Path::new("t.toml")).is_err());
    let junk = [b'[', b']', b'"', b'=', b',', b'\n', b'/', b'.', b'9', b'#', b'{', b'\\', 0xff];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let mut bytes = BASE.as_bytes().to_vec();
        for _ in 0..3 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let pos = (seed >> 33) as usize % bytes.len();
            bytes[pos] = junk[(seed >> 20) as usize % junk.len()];
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = config::parse(&text, Path::new("t.toml")) {
            assert!(e.to_string().starts_with("t.toml"));
        }
    }
}

#[test]
fn af_packet_needs_a_queue_pair_per_worker() {
    let t = edit(
        BASE,
        "\"--vdev=net_null0\", \"--vdev=net_null1\"",
        "\"--vdev=net_af_packet0,iface=a\", \"--vdev=net_af_packet1,iface=b,qpairs=2\"",
    );
    let t = edit(&t, "\"net_null0\"", "\"net_af_packet0\"");
    let t = edit(&t, "\"net_null1\"", "\"net_af_packet1\"");
    let t = edit(&t, "\"0,1\"", "\"0-2\"");
    assert_eq!(ok(&t).ports[0].device, "net_af_packet0");
    let two = edit(&t, "lcores = [1]", "lcores = [1, 2]");
    check(&two, "t.toml:6: port[0].device: ", "net_af_packet0 has qpairs=1 but 2 worker(s)");
    let two = edit(&two, "iface=a", "iface=a,qpairs=2");
    assert_eq!(ok(&two).workers.lcores, vec![1, 2]);
}

/// af_xdp ports take one queue per worker from `queue_count` (on a veth, DPDK 22.11
/// allows only one: it finds no combined channels there).
#[test]
fn af_xdp_needs_a_queue_per_worker() {
    let t = edit(
        BASE,
        "\"--vdev=net_null0\", \"--vdev=net_null1\"",
        "\"--vdev=net_af_xdp0,iface=a,start_queue=0\", \"--vdev=net_af_xdp1,iface=b,queue_count=2\"",
    );
    let t = edit(&t, "\"net_null0\"", "\"net_af_xdp0\"");
    let t = edit(&t, "\"net_null1\"", "\"net_af_xdp1\"");
    let t = edit(&t, "\"0,1\"", "\"0-2\"");
    assert_eq!(ok(&t).ports[0].device, "net_af_xdp0");
    let two = edit(&t, "lcores = [1]", "lcores = [1, 2]");
    check(&two, "t.toml:6: port[0].device: ", "net_af_xdp0 has queue_count=1 but 2 worker(s)");
    let two = edit(&two, "iface=a,start_queue=0", "iface=a,start_queue=0,queue_count=2");
    assert_eq!(ok(&two).workers.lcores, vec![1, 2]);
}

#[test]
fn main_lcore_of_eal_config() {
    let c = ok(BASE);
    assert_eq!(c.eal.main_lcore(), 0);
    let c = ok(&edit(&edit(BASE, "\"0,1\"", "\"2-3\""), "[1]", "[3]"));
    assert_eq!(c.eal.main_lcore(), 2);
    let moved = edit(BASE, "\"0,1\"", "\"0,1\", \"--main-lcore=1\"");
    let c = ok(&edit(&moved, "[1]", "[0]"));
    assert_eq!(c.eal.main_lcore(), 1);
}
