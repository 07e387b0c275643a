//! IPVS sync v1 (`wire::ipvs_sync`): golden messages hand-written from the kernel's
//! struct layout (`struct ip_vs_sync_mesg`, `ip_vs_sync_v4`, `ip_vs_sync_v6`, the option
//! TLVs of `ip_vs_sync_conn`) decode to the expected reprs and emit back byte for byte;
//! what Linux drops is refused; the packing follows `ip_vs_sync_conn`; random reprs
//! round-trip and random bytes never panic. The goldens live in common/ipvs_sync.rs;
//! tests/ipvs_sync_oracles.rs has independent decoders (tshark, Python) read our output.

mod common;

use std::net::IpAddr;

use common::formats::ipvs_sync as walk;
use common::ipvs_sync::*;
use common::{hex, to_hex};
use proptest::prelude::*;
use wire::ipvs_sync::{
    conn_flags, opt, other_state, pack_into, SeqOptionRepr, SeqRepr, SyncConn, SyncConnRepr, SyncMessage,
    SyncMessageBuilder, SyncMessageRepr, SyncOptionRepr, DEFAULT_MAX_LEN,
};
use wire::Error;

#[test]
fn golden_decode_and_emit_byte_for_byte() {
    let cases = [(G_V4, 7, vec![g_v4_repr()]), (G_SEQ_V6, 42, g_seq_v6_reprs()), (G_PE, 3, vec![g_pe_repr()])];
    for (h, syncid, conns) in cases {
        let bytes = hex(h);
        let want = SyncMessageRepr { syncid, conns, skipped: 0 };
        assert_eq!(parse(&bytes).unwrap(), want, "{h}");
        assert_eq!(to_hex(&emit(&want)), to_hex(&bytes));
        let packed = SyncMessageBuilder::pack(syncid, DEFAULT_MAX_LEN, &want.conns).unwrap();
        assert_eq!(packed, vec![bytes]);
    }
    let m = hex(G_SEQ_V6);
    let m = SyncMessage::new_checked(&m[..]).unwrap();
    let recs: Vec<_> = m.records().map(Result::unwrap).collect();
    assert_eq!((recs[0].size(), recs[1].size(), recs[1].is_v6()), (62, 92, true));
    assert_eq!(recs[1].options().next().unwrap().unwrap().kind, opt::RVS_FNAT_LADDR);
    let r = SyncConnRepr::parse(&recs[1]).unwrap();
    assert_eq!(r.raw_option(opt::RVS_FNAT_LADDR).map(|d| d.len()), Some(18));
    assert_eq!(SyncConnRepr::parse(&recs[0]).unwrap().seq().unwrap().out_seq.delta, 0xffff_fff0);
}

#[test]
fn unknown_mandatory_option_skips_the_record_only() {
    let b = hex(G_MANDATORY);
    let r = parse(&b).unwrap();
    assert_eq!(r.skipped, 1);
    let tpl = conn4(
        6,
        conn_flags::TEMPLATE | conn_flags::DROUTE,
        other_state::TPL_NONE,
        (0, 80, 80),
        360,
        [[10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3]],
    );
    assert_eq!(r.conns, vec![tpl]);
    let m = SyncMessage::new_checked(&b[..]).unwrap();
    let first = m.records().next().unwrap().unwrap();
    assert_eq!(first.unknown_mandatory(), Some(9));
    assert_eq!(SyncConnRepr::parse(&first), Err(Error::Malformed));
    // The same type with the optional bit is kept.
    let mut b2 = b.clone();
    b2[8 + 36] = 0x49;
    let r2 = parse(&b2).unwrap();
    assert_eq!((r2.skipped, r2.conns.len()), (0, 2));
    assert_eq!(r2.conns[0].raw_option(0x49), Some(&[0xde, 0xad, 0xbe, 0xef][..]));
}

#[test]
fn what_linux_drops_is_refused() {
    let good = hex(G_SEQ_V6);
    let v4opt = 8 + 36; // first option of the first record
    let v6rec = 8 + 64;
    let cases: &[(&str, usize, u8, Error)] = &[
        ("reserved (a v0 message)", 0, 1, Error::Malformed),
        ("version", 5, 0, Error::Malformed),
        ("spare", 7, 1, Error::Malformed),
        ("size > datagram", 3, 0xa5, Error::Truncated),
        ("size < datagram", 3, 0xa3, Error::Malformed),
        ("record version 1", 8 + 2, 0x10, Error::Malformed),
        ("record type 2", 8, 2, Error::Malformed),
        ("option length 0", v4opt + 1, 0, Error::Malformed),
        ("seq option not 24", v4opt + 1, 23, Error::Malformed),
        ("record size past the end", v6rec + 3, 0x61, Error::Truncated),
        ("record size under the fixed part", v6rec + 3, 0x40, Error::Truncated),
        ("option past the record", v6rec + 73, 0x13, Error::Truncated),
        ("more records than there are", 4, 3, Error::Truncated),
    ];
    for &(what, at, v, err) in cases {
        let mut b = good.clone();
        b[at] = v;
        assert_eq!(parse(&b), Err(err), "{what}");
    }
    // As Linux, the walk yields the records before the fault.
    let mut b = good.clone();
    b[v6rec + 3] = 0x61;
    let m = SyncMessage::new_checked(&b[..]).unwrap();
    let walked: Vec<_> = m.records().map(|r| r.map(|c| c.size())).collect();
    assert_eq!(walked, vec![Ok(62), Err(Error::Truncated)]);
    // A known option twice drops the message; so does a PE name over 16 bytes.
    let mut c = g_pe_repr();
    c.options.push(SyncOptionRepr::Raw { kind: 0x42, data: vec![1] });
    assert_eq!(c.check(), Err(Error::Malformed), "a raw kind Linux reads as PE data");
    c.options = vec![SyncOptionRepr::PeName(vec![b'x'; 17])];
    assert_eq!(c.check(), Err(Error::Malformed));
    let mut pe = hex(G_PE);
    pe[8 + 44] = opt::PE_DATA; // the PE name's type byte becomes a second PE data
    assert_eq!(parse(&pe), Err(Error::Malformed));
    pe[8 + 44] = 0x43; // PE name with the optional bit: still the PE name
    assert_eq!(parse(&pe).unwrap().conns[0], g_pe_repr());
}

#[test]
fn reprs_that_cannot_be_sent_are_refused() {
    let mut c = g_v4_repr();
    c.daddr = v6("::1");
    assert_eq!(c.check(), Err(Error::Malformed), "mixed families");
    let mut c = g_v4_repr();
    c.options = vec![SyncOptionRepr::PeData(vec![])];
    assert_eq!(c.check(), Err(Error::Malformed), "empty option");
    c.options = (0..16).map(|_| SyncOptionRepr::Raw { kind: 0x60, data: vec![0; 255] }).collect();
    assert_eq!(c.check(), Err(Error::Malformed), "record over 4095 bytes");
    let mut short = [0u8; 40];
    assert_eq!(g_seq_v6_reprs()[0].emit(&mut SyncConn::new_unchecked(&mut short[..])), Err(Error::Truncated));
    assert!(SyncMessageBuilder::new(0, 43).is_err());
    let mut b = SyncMessageBuilder::new(0, 60).unwrap();
    assert_eq!(b.push(g_seq_v6_reprs()[0].clone()), Err(Error::Malformed), "62 + 8 > 60");
    assert_eq!(b.push(g_v4_repr()), Ok(()));
}

#[test]
fn packing_follows_ip_vs_sync_conn() {
    // 1472 bytes: 8 + 40 * 36 = 1448 fits, 41 does not.
    let plain: Vec<_> = (0..100).map(|i| SyncConnRepr { cport: i, ..g_v4_repr() }).collect();
    let msgs = SyncMessageBuilder::pack(9, DEFAULT_MAX_LEN, &plain).unwrap();
    assert_eq!(msgs.iter().map(|m| parse(m).unwrap().conns.len()).collect::<Vec<_>>(), vec![40, 40, 20]);
    // 62-byte records padded to 64: 8 + 22 * 64 - 2 = 1414; a 23rd would end at 1478.
    let seq: Vec<_> = (0..30).map(|i| SyncConnRepr { cport: i, ..g_seq_v6_reprs()[0].clone() }).collect();
    let msgs = SyncMessageBuilder::pack(9, DEFAULT_MAX_LEN, &seq).unwrap();
    assert_eq!(msgs.iter().map(Vec::len).collect::<Vec<_>>(), vec![1414, 8 + 8 * 64 - 2]);
    let back: Vec<_> = msgs.iter().flat_map(|m| parse(m).unwrap().conns).collect();
    assert_eq!(back, seq);
    // nr_conns is a byte.
    let msgs = SyncMessageBuilder::pack(9, 65535, &[plain.clone(), plain.clone(), plain.clone()].concat()).unwrap();
    assert_eq!(msgs.iter().map(|m| m[4]).collect::<Vec<_>>(), vec![255, 45]);
    // Into a caller's buffer: as many as fit, the rest for the next message.
    let mut buf = [0u8; 200];
    let (n, len) = pack_into(5, &seq, &mut buf).unwrap();
    assert_eq!((n, len), (3, 8 + 3 * 64 - 2));
    assert_eq!(parse(&buf[..len]).unwrap().conns, seq[..3]);
    assert_eq!(pack_into(5, &seq, &mut buf[..60]).unwrap(), (0, 8));
}

fn addr(is6: bool) -> BoxedStrategy<IpAddr> {
    if is6 {
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(o.into())).boxed()
    } else {
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(o.into())).boxed()
    }
}

fn option() -> impl Strategy<Value = SyncOptionRepr> {
    let seq = any::<[u32; 6]>().prop_map(|s| {
        SyncOptionRepr::Seq(SeqOptionRepr {
            in_seq: SeqRepr { init_seq: s[0], delta: s[1], previous_delta: s[2] },
            out_seq: SeqRepr { init_seq: s[3], delta: s[4], previous_delta: s[5] },
        })
    });
    let data = || proptest::collection::vec(any::<u8>(), 1..40);
    let raw_kind = (0x44u8..=0xff).prop_filter("optional", |k| k & opt::F_OPTIONAL != 0);
    prop_oneof![
        seq,
        data().prop_map(SyncOptionRepr::PeData),
        proptest::collection::vec(any::<u8>(), 1..=16).prop_map(SyncOptionRepr::PeName),
        (raw_kind, data()).prop_map(|(kind, data)| SyncOptionRepr::Raw { kind, data }),
    ]
}

prop_compose! {
    fn conn()(is6 in any::<bool>())(
        v6 in Just(is6), protocol in any::<u8>(), flags in any::<u32>(), state in any::<u16>(),
        ports in any::<(u16, u16, u16)>(), fwmark in any::<u32>(), timeout in any::<u32>(),
        caddr in addr(is6), vaddr in addr(is6), daddr in addr(is6),
        options in proptest::collection::vec(option(), 0..5),
    ) -> SyncConnRepr {
        let mut options = options;
        // Each known option at most once, as Linux requires.
        let mut seen = [false; 4];
        options.retain(|o| match o {
            SyncOptionRepr::Seq(_) => !std::mem::replace(&mut seen[1], true),
            SyncOptionRepr::PeData(_) => !std::mem::replace(&mut seen[2], true),
            SyncOptionRepr::PeName(_) => !std::mem::replace(&mut seen[3], true),
            SyncOptionRepr::Raw { .. } => true,
        });
        SyncConnRepr { v6, protocol, flags, state, cport: ports.0, vport: ports.1, dport: ports.2, fwmark, timeout, caddr, vaddr, daddr, options }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip(syncid in any::<u8>(), conns in proptest::collection::vec(conn(), 0..12), max in 200usize..2000) {
        let r = SyncMessageRepr { syncid, conns: conns.clone(), skipped: 0 };
        let b = emit(&r);
        prop_assert_eq!(b.len(), r.buffer_len());
        prop_assert_eq!(parse(&b).unwrap(), r.clone());
        // Packed into messages of at most `max`: each parses, all in order.
        let msgs = SyncMessageBuilder::pack(syncid, max, &conns);
        if conns.iter().all(|c| c.buffer_len() + 8 <= max) {
            let msgs = msgs.unwrap();
            prop_assert!(msgs.iter().all(|m| m.len() <= max));
            let back: Vec<_> = msgs.iter().flat_map(|m| parse(m).unwrap().conns).collect();
            prop_assert_eq!(back, conns);
        } else {
            prop_assert!(msgs.is_err());
        }
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), golden in 0usize..4, at in any::<usize>(), v in any::<u8>(), cut in any::<usize>()) {
        walk(&bytes);
        let mut g = hex([G_V4, G_SEQ_V6, G_MANDATORY, G_PE][golden]);
        let n = g.len();
        g[at % n] = v;
        walk(&g);
        g.truncate(cut % (n + 1));
        walk(&g);
        // A consistent size field lets the walk reach the records.
        if g.len() >= 4 {
            let l = g.len() as u16;
            g[2..4].copy_from_slice(&l.to_be_bytes());
            walk(&g);
        }
    }
}
