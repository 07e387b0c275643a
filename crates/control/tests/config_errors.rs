//! Every configuration error names file, line and key.

mod config_common;

use config_common::{edit, err, ok, BASE};

/// Assert the error's `file:line: key: ` prefix and part of its message.
#[track_caller]
fn check(text: &str, prefix: &str, message_part: &str) {
    let e = err(text);
    assert!(e.starts_with(prefix), "expected prefix {prefix:?}, got {e:?}");
    assert!(e.contains(message_part), "expected {message_part:?} in {e:?}");
}

// --- TOML syntax and serde-level errors ---

#[test]
fn syntax_error_names_line_and_key() {
    check(&edit(BASE, "lcores = [1]", "lcores = [1"), "t.toml:22: workers.lcores", "expected");
    check(&edit(BASE, "lcores = [1]", "lcores = [1]\nlcores = [2]"), "t.toml:23: workers.lcores: ", "duplicate key");
    check(&edit(BASE, "name = \"lan\"", "name = \"lan\"\nname = \"x\""), "t.toml:11: port[1].name: ", "duplicate key");
}

#[test]
fn unknown_keys_rejected() {
    check(
        &edit(BASE, "device = \"net_null1\"", "bogus = 1\ndevice = \"net_null1\""),
        "t.toml:11: port[1].bogus: ",
        "unknown field `bogus`",
    );
    check(&edit(BASE, "[eal]\n", "[eal]\nfoo = 1\n"), "t.toml:2: eal.foo: ", "unknown field `foo`");
    check(&format!("{BASE}\n[frobnicate]\nx = 1\n"), "t.toml:24: frobnicate: ", "unknown field `frobnicate`");
    check(&format!("{BASE}burst_size = 8\n"), "t.toml:23: workers.burst_size: ", "unknown field");
    check(&format!("{BASE}[control]\nmetric = \"127.0.0.1:1\"\n"), "t.toml:24: control.metric: ", "unknown field");
    check(
        &edit(BASE, "gateway = \"10.0.2.1\"", "gateway = \"10.0.2.1\"\nvia = \"wan\""),
        "t.toml:20: route[0].via: ",
        "unknown field",
    );
}

#[test]
fn missing_required_keys_named() {
    check(&edit(BASE, "device = \"net_null1\"\n", ""), "t.toml:9: port[1].device: ", "missing field `device`");
    check(&edit(BASE, "addresses = [\"10.0.2.2/24\"]\n", ""), "t.toml:4: port[0].addresses: ", "missing field");
    check(&edit(BASE, "lcores = [1]\n", ""), "t.toml:21: workers.lcores: ", "missing field `lcores`");
    check(&edit(BASE, "address = \"10.0.2.100\"\n", ""), "t.toml:14: vip[0].address: ", "missing field");
    check(&edit(BASE, "gateway = \"10.0.2.1\"\n", ""), "t.toml:17: route[0].gateway: ", "missing field");
    check(&edit(BASE, "[workers]\nlcores = [1]\n", ""), "t.toml: workers: ", "missing field `workers`");
    check(&edit(BASE, "[eal]\nargs", "[xeal]\nargs"), "t.toml:1: xeal: ", "unknown field");
    check(&edit(BASE, "args = [", "argz = ["), "t.toml:2: eal.argz: ", "unknown field");
}

#[test]
fn wrong_types_named() {
    check(&format!("{BASE}burst = \"x\"\n"), "t.toml:23: workers.burst: ", "invalid type");
    check(&edit(BASE, "name = \"lan\"", "name = \"lan\"\nmtu = 100000"), "t.toml:11: port[1].mtu: ", "100000");
    check(&edit(BASE, "lcores = [1]", "lcores = [-1]"), "t.toml:22: workers.lcores[0]: ", "invalid value");
    check(&edit(BASE, "[[vip]]", "[vip]"), "t.toml:14: vip: ", "[[vip]]");
    check(&edit(BASE, "address = \"10.0.2.100\"", "address = 10"), "t.toml:15: vip[0].address: ", "invalid type");
}

// --- addresses ---

#[test]
fn malformed_port_addresses() {
    let at = "t.toml:7: port[0].addresses[0]: ";
    check(&edit(BASE, "10.0.2.2/24", "10.0.2.300/24"), at, "'10.0.2.300' in '10.0.2.300/24' is not an IPv4 address");
    check(&edit(BASE, "10.0.2.2/24", "10.0.2.2/33"), at, "prefix length '33'");
    check(&edit(BASE, "10.0.2.2/24", "10.0.2.2"), at, "no prefix length");
    check(&edit(BASE, "10.0.2.2/24", "10.0.2.2/"), at, "prefix length ''");
    check(&edit(BASE, "10.0.2.2/24", "10.0.2.2/+8"), at, "prefix length '+8'");
    check(&edit(BASE, "10.0.2.2/24", "10.0.2.0/24"), at, "network address");
    check(&edit(BASE, "10.0.2.2/24", "10.0.2.255/24"), at, "broadcast address");
    check(&edit(BASE, "10.0.2.2/24", "224.0.0.1/24"), at, "multicast");
    check(
        &edit(BASE, "addresses = [\"10.0.3.1/24\"]", "addresses = [\"10.0.3.1/24\", \"10.0.5.1/24x\"]"),
        "t.toml:12: port[1].addresses[1]: ",
        "10.0.5.1/24x",
    );
    check(
        &edit(BASE, "addresses = [\"10.0.3.1/24\"]", "addresses = []"),
        "t.toml:12: port[1].addresses: ",
        "at least one address",
    );
}

#[test]
fn overlapping_addresses() {
    // The same address on two ports.
    check(
        &edit(BASE, "10.0.3.1/24", "10.0.2.2/24"),
        "t.toml:12: port[1].addresses[0]: ",
        "already assigned at port[0].addresses[0]",
    );
    // Subnets of two ports overlapping.
    check(
        &edit(BASE, "10.0.3.1/24", "10.0.2.200/25"),
        "t.toml:12: port[1].addresses[0]: ",
        "overlaps 10.0.2.2/24 at port[0].addresses[0]",
    );
    check(&edit(BASE, "10.0.3.1/24", "10.0.3.1/8"), "t.toml:12: port[1].addresses[0]: ", "overlaps");
    // Twice on one port.
    check(
        &edit(BASE, "[\"10.0.2.2/24\"]", "[\"10.0.2.2/24\", \"10.0.2.2/32\"]"),
        "t.toml:7: port[0].addresses[1]: ",
        "already assigned",
    );
}

#[test]
fn secondary_subnet_on_same_port_is_fine() {
    let c = ok(&edit(BASE, "[\"10.0.2.2/24\"]", "[\"10.0.2.2/24\", \"10.0.2.3/24\", \"172.16.0.1/16\"]"));
    assert_eq!(c.ports[0].addresses.len(), 3);
}

// --- devices ---

#[test]
fn unknown_device() {
    check(
        &edit(BASE, "device = \"net_null1\"", "device = \"net_foo0\""),
        "t.toml:11: port[1].device: ",
        "unknown device 'net_foo0': not created by any --vdev or -a/--allow in eal.args",
    );
}

#[test]
fn vdev_as_separate_argument() {
    let t = edit(BASE, "\"--vdev=net_null1\"", "\"--vdev\", \"net_null1,size=64\"");
    assert_eq!(ok(&t).ports[1].device, "net_null1");
}

#[test]
fn pci_devices() {
    let no_pci = edit(BASE, "\"--no-pci\", ", "");
    // No allow list: any PCI address is accepted, named as DPDK names it.
    let c = ok(&edit(&no_pci, "device = \"net_null1\"", "device = \"03:00.1\""));
    assert_eq!(c.ports[1].device, "0000:03:00.1");
    // With an allow list the device must be on it (short or long form).
    let allow = edit(&no_pci, "\"-l\"", "\"-a\", \"0000:03:00.0,txq_inline=1\", \"-l\"");
    let c = ok(&edit(&allow, "device = \"net_null1\"", "device = \"03:00.0\""));
    assert_eq!(c.ports[1].device, "0000:03:00.0");
    check(
        &edit(&allow, "device = \"net_null1\"", "device = \"0000:03:00.1\""),
        "t.toml:11: port[1].device: ",
        "unknown device '0000:03:00.1'",
    );
    let allow = edit(&no_pci, "\"-l\"", "\"--allow=0000:81:00.0\", \"-w\", \"0000:82:00.0\", \"-l\"");
    let c = ok(&edit(&allow, "device = \"net_null1\"", "device = \"0000:82:00.0\""));
    assert_eq!(c.ports[1].device, "0000:82:00.0");
    // --no-pci disables the PCI bus.
    check(
        &edit(BASE, "device = \"net_null1\"", "device = \"0000:03:00.0\""),
        "t.toml:11: port[1].device: ",
        "--no-pci",
    );
    // Blocked devices.
    let blocked = edit(&no_pci, "\"-l\"", "\"-b\", \"0000:03:00.0\", \"-l\"");
    check(
        &edit(&blocked, "device = \"net_null1\"", "device = \"0000:03:00.0\""),
        "t.toml:11: port[1].device: ",
        "blocked",
    );
    // Not a PCI address and no vdev.
    check(
        &edit(&no_pci, "device = \"net_null1\"", "device = \"03:00.9\""),
        "t.toml:11: port[1].device: ",
        "unknown device",
    );
}

#[test]
fn duplicate_ports() {
    check(
        &edit(BASE, "name = \"lan\"", "name = \"wan\""),
        "t.toml:10: port[1].name: ",
        "duplicate port name 'wan' (also port[0].name)",
    );
    check(
        &edit(BASE, "device = \"net_null1\"", "device = \"net_null0\""),
        "t.toml:11: port[1].device: ",
        "device 'net_null0' is already port[0]",
    );
    check(&edit(BASE, "name = \"lan\"", "name = \"\""), "t.toml:10: port[1].name: ", "non-empty");
}

#[test]
fn at_least_one_port() {
    let t = "[eal]\nargs = []\n[workers]\nlcores = [1]\n";
    check(t, "t.toml: port: ", "at least one port");
}

#[test]
fn port_limits() {
    check(&edit(BASE, "name = \"lan\"", "name = \"lan\"\nrx_desc = 0"), "t.toml:11: port[1].rx_desc: ", "at least 1");
    check(&edit(BASE, "name = \"lan\"", "name = \"lan\"\nmtu = 60"), "t.toml:11: port[1].mtu: ", "at least 68");
}
