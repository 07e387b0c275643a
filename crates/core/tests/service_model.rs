//! The service model's derives: serde (the admin protocol and any file format) round-trips
//! every field, with addresses as IP text and enums lowercase; equality is derived.

use rvs_core::addr::{Addr, Protocol};
use rvs_core::service::{
    ConfigError, DestSpec, FwdMethod, Persistence, SchedFlags, ServiceDef, ServiceKey, ServiceSpec,
};
use std::net::IpAddr;

fn a(s: &str) -> Addr {
    Addr::from(s.parse::<IpAddr>().unwrap())
}

fn defs() -> Vec<ServiceDef> {
    let mut web = ServiceSpec::new(ServiceKey::Proto { proto: Protocol::Tcp, addr: a("10.0.0.1"), port: 0 });
    web.scheduler = "sh".into();
    web.flags = SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2);
    web.persistence = Some(Persistence { timeout_s: 600, prefix: 24 });
    let masq = DestSpec {
        fwd: FwdMethod::Masq,
        weight: 3,
        u_threshold: 100,
        l_threshold: 10,
        ..DestSpec::new(a("192.168.1.10"), 8080)
    };
    let mut dns = ServiceSpec::new(ServiceKey::Proto { proto: Protocol::Udp, addr: a("2001:db8::1"), port: 53 });
    dns.one_packet = true;
    let tun = DestSpec { fwd: FwdMethod::Tunnel, weight: 0, ..DestSpec::new(a("2001:db8::2"), 53) };
    let fnat = DestSpec { fwd: FwdMethod::FullNat, ..DestSpec::new(a("2001:db8::3"), 53) };
    let fw = ServiceSpec::new(ServiceKey::Fwmark { mark: u32::MAX, v6: true });
    vec![
        ServiceDef { spec: web, dests: vec![masq, DestSpec::new(a("192.168.1.11"), 0)], laddrs: vec![] },
        ServiceDef { spec: dns, dests: vec![tun, fnat], laddrs: vec![] },
        ServiceDef { spec: fw, dests: vec![], laddrs: vec![] },
    ]
}

#[test]
fn service_defs_round_trip_through_serde() {
    let defs = defs();
    let text = serde_json::to_string(&defs).unwrap();
    let back: Vec<ServiceDef> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, defs);
    // Every field takes part in equality.
    let mut other = defs.clone();
    other[1].dests[1].port = 54;
    assert_ne!(other, defs);
}

#[test]
fn addresses_are_ip_text_and_enums_lowercase() {
    let key = ServiceKey::Proto { proto: Protocol::Tcp, addr: a("10.0.0.1"), port: 80 };
    assert_eq!(serde_json::to_string(&key).unwrap(), r#"{"proto":{"proto":"tcp","addr":"10.0.0.1","port":80}}"#);
    assert_eq!(serde_json::to_string(&a("2001:db8::1")).unwrap(), r#""2001:db8::1""#);
    let fwds = [FwdMethod::Masq, FwdMethod::Route, FwdMethod::Tunnel, FwdMethod::FullNat];
    assert_eq!(serde_json::to_string(&fwds).unwrap(), r#"["masq","route","tunnel","fullnat"]"#);
    assert_eq!(serde_json::to_string(&Protocol::Sctp).unwrap(), r#""sctp""#);
    assert_eq!(serde_json::to_string(&SchedFlags(5)).unwrap(), "5");
    let fw = ServiceKey::Fwmark { mark: 7, v6: false };
    assert_eq!(serde_json::from_str::<ServiceKey>(r#"{"fwmark":{"mark":7,"v6":false}}"#).unwrap(), fw);
    assert!(serde_json::from_str::<Addr>(r#""10.0.0.300""#).is_err());
    assert!(serde_json::from_str::<FwdMethod>(r#""FullNat""#).is_err());
}

#[test]
fn only_tcp_and_udp_services_are_forwardable() {
    let key = |proto| ServiceKey::Proto { proto, addr: a("10.0.0.1"), port: 80 };
    assert_eq!(key(Protocol::Tcp).check_forwardable(), Ok(()));
    assert_eq!(key(Protocol::Udp).check_forwardable(), Ok(()));
    let e = key(Protocol::Sctp).check_forwardable().unwrap_err();
    assert_eq!(
        (e.clone(), e.to_string().as_str()),
        (ConfigError::SctpUnsupported, "SCTP services are not supported: rvs has no SCTP forwarding")
    );
    let e = ServiceKey::Fwmark { mark: 1, v6: false }.check_forwardable().unwrap_err();
    assert_eq!(e.to_string(), "firewall-mark services are not supported: rvs has no firewall-mark classifier");
}

#[test]
fn sched_flag_names_are_ipvsadms() {
    let f = SchedFlags(SchedFlags::FLAG1 | SchedFlags::FLAG2 | SchedFlags::FLAG3);
    assert_eq!(f.names("sh"), "sh-fallback,sh-port");
    assert_eq!(f.names("mh"), "mh-fallback,mh-port");
    assert_eq!(f.names("wlc"), "flag-1,flag-2,flag-3");
    assert_eq!(SchedFlags(SchedFlags::FLAG3).names("mh"), "");
    for list in ["sh-port", "sh-fallback,sh-port"] {
        assert_eq!(SchedFlags::parse(list, "sh").unwrap().names("sh"), list);
    }
}
