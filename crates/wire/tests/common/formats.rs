//! The all-accessors walk over the control formats in `wire` — IPVS sync v1 messages and
//! records, PROXY v1/v2 headers and their TLVs, the TOA option (parse, strip, insertion
//! on whatever passes as a TCP header) — with round trips asserted. Depends on `wire`
//! alone, so fuzz/fuzz_targets/wire_formats.rs includes it by path (tests/no_panic.rs
//! runs it over the golden frames and their mutations).

use std::net::{Ipv6Addr, SocketAddr};

use wire::ipvs_sync::{SyncConn, SyncConnRepr, SyncMessage, SyncMessageRepr};

pub fn walk_formats(b: &[u8]) {
    ipvs_sync(b);
    proxy_and_toa(b);
}

pub fn ipvs_sync(b: &[u8]) {
    if let Ok(c) = SyncConn::new_checked(b) {
        let _ = (c.size(), c.flags(), c.caddr(), c.vaddr(), c.daddr(), c.timeout(), c.unknown_mandatory());
        let _ = c.options().count();
    }
    let Ok(m) = SyncMessage::new_checked(b) else { return };
    let _ = (m.syncid(), m.nr_conns(), m.size());
    for c in m.records().flatten() {
        let _ = (c.protocol(), c.state(), c.cport(), c.vport(), c.dport(), c.fwmark(), c.daddr());
        let _ = c.options().count();
        if let Ok(r) = SyncConnRepr::parse(&c) {
            let mut out = vec![0; r.buffer_len()];
            r.emit(&mut SyncConn::new_unchecked(&mut out[..])).expect("room for its own length");
            assert_eq!(SyncConnRepr::parse(&SyncConn::new_unchecked(&out[..])).ok(), Some(r));
        }
    }
    if let Ok(r) = SyncMessageRepr::parse(&m) {
        let mut out = vec![0xa5; r.buffer_len()];
        r.emit(&mut SyncMessage::new_unchecked(&mut out[..])).expect("room for its own length");
        let again = SyncMessageRepr::parse(&SyncMessage::new_unchecked(&out[..])).expect("reads back");
        assert_eq!(again.conns, r.conns);
    }
}

/// PROXY headers and TOA on the same bytes: parse, TLV walk, and a TOA strip and
/// insertion on whatever passes as a TCP header (IPv6 client: the largest option).
pub fn proxy_and_toa(b: &[u8]) {
    if let Ok((r, _)) = wire::ProxyHeaderRepr::parse(b) {
        let mut out = [0u8; 128];
        if let Ok(n) = r.emit(&mut out) {
            assert_eq!(wire::ProxyHeaderRepr::parse(&out[..n]).map(|x| x.0), Ok(r));
        }
    }
    let _ = wire::ProxyVersion::detect(b);
    if let Ok(t) = wire::proxy_proto::ProxyTlvs::of_header(b) {
        for x in t.take(64) {
            let _ = x;
        }
    }
    let _ = wire::ToaRepr::parse(b);
    let mut c = b.to_vec();
    if let Ok(mut t) = wire::TcpPacket::new_checked(&mut c[..]) {
        let _ = wire::ToaRepr::find(&t);
        wire::toa::strip_toa(&mut t);
    }
    let client = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 1);
    let mut buf = wire::VecBuf::from_slice(b);
    let _ = wire::toa::insert_toa(&mut buf, 0, b.len(), &wire::ToaRepr { client }, b.len() + 8);
}
