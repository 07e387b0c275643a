//! `[kernel]` and each port's `twin`: the exception path's configuration.
mod config_common;

use config_common::{edit, err, ok, BASE};

#[test]
fn every_port_has_a_twin_named_after_it_by_default() {
    let c = ok(BASE);
    let twins: Vec<_> = c.ports.iter().map(|p| p.twin.as_deref()).collect();
    assert_eq!(twins, [Some("wan"), Some("lan")]);
    assert!(c.kernel.enabled);
    assert_eq!((c.kernel.rate_pps, c.kernel.burst), (50_000, 256));
}

#[test]
fn twin_names_rates_and_switching_off() {
    let t = edit(BASE, "device = \"net_null0\"", "device = \"net_null0\"\ntwin = \"eth0\"");
    let t = edit(&t, "device = \"net_null1\"", "device = \"net_null1\"\ntwin = \"\"");
    let c = ok(&format!("{t}\n[kernel]\nrate_pps = 1000\nburst = 10\n"));
    assert_eq!(c.ports[0].twin.as_deref(), Some("eth0"));
    assert_eq!(c.ports[1].twin, None, "twin = \"\": none for this port");
    assert_eq!((c.kernel.rate_pps, c.kernel.burst), (1000, 10));
    let c = ok(&format!("{BASE}\n[kernel]\nenabled = false\n"));
    assert!(c.ports.iter().all(|p| p.twin.is_none()));
}

#[test]
fn bad_twins_are_refused_with_their_line() {
    let t = edit(BASE, "device = \"net_null0\"", "device = \"net_null0\"\ntwin = \"a/b\"");
    assert!(err(&t).starts_with("t.toml:7: port[0].twin: 'a/b' is not a Linux interface name"), "{}", err(&t));
    let t = edit(BASE, "device = \"net_null0\"", "device = \"net_null0\"\ntwin = \"sixteen-chars-xx\"");
    assert!(err(&t).contains("at most 15 characters"), "{}", err(&t));
    let t = edit(BASE, "device = \"net_null1\"", "device = \"net_null1\"\ntwin = \"wan\"");
    assert!(err(&t).contains("port[1].twin: kernel twin 'wan' is also port[0]'s"), "{}", err(&t));
    let t = format!("{BASE}\n[kernel]\nrate_pps = 0\n");
    assert!(err(&t).contains("kernel.rate_pps: must be at least 1"), "{}", err(&t));
    let t = format!("{BASE}\n[kernel]\nrate = 5\n");
    assert!(err(&t).contains("rate"), "unknown keys are errors: {}", err(&t));
}

#[test]
fn vrrp_needs_a_keepalived_conf() {
    let t = format!("{BASE}\n[control]\nvrrp = true\n");
    assert!(
        err(&t).contains("control.vrrp: keepalived --vrrp runs on the file control.keepalived names"),
        "{}",
        err(&t)
    );
    let c = ok(&format!("{BASE}\n[control]\nkeepalived = \"/etc/keepalived/keepalived.conf\"\nvrrp = true\n"));
    assert!(c.control.vrrp);
    assert!(!ok(BASE).control.vrrp, "off unless asked");
}
