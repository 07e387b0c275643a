//! Independent decoders read what `wire::ipvs_sync` emits: Wireshark's `ipvs` dissector
//! through tshark (the fixed fields; it walks neither v1 options nor padding) and
//! tests/golden/ipvs_sync_decode.py, written from ip_vs_sync.c's receive path
//! (`ip_vs_process_message`, `ip_vs_proc_sync_conn`: options and padding too). A missing
//! decoder fails the test (scripts/setup installs both): a check that did not run must
//! not pass.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::ipvs_sync::*;
use common::{hex, to_hex};
use wire::ipvs_sync::{
    conn_flags, opt, other_state, SyncConnRepr, SyncMessageBuilder, SyncOptionRepr, DEFAULT_MAX_LEN,
};

/// Ethernet / IPv4 / UDP 8848 to 224.0.0.81 around each message, in a classic pcap.
fn write_pcap(name: &str, msgs: &[Vec<u8>]) -> PathBuf {
    let mut f = Vec::new();
    f.extend_from_slice(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, m) in msgs.iter().enumerate() {
        let mut fr = hex("01005e000051020000000001");
        fr.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + 8 + m.len()) as u16;
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0x40, 0, 1, 17, 0, 0, 10, 0, 0, 1, 224, 0, 0, 81]);
        let mut sum: u32 = ip.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        fr.extend_from_slice(&ip);
        fr.extend_from_slice(&34567u16.to_be_bytes());
        fr.extend_from_slice(&8848u16.to_be_bytes());
        fr.extend_from_slice(&(8 + m.len() as u16).to_be_bytes());
        fr.extend_from_slice(&[0, 0]);
        fr.extend_from_slice(m);
        for v in [i as u32 + 1, 0, fr.len() as u32, fr.len() as u32] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        f.extend_from_slice(&fr);
    }
    let p = std::env::temp_dir().join(format!("rvs-ipvs-sync-{}-{name}.pcap", std::process::id()));
    std::fs::write(&p, f).unwrap();
    p
}

fn tshark_fields(pcap: &PathBuf, fields: &[&str]) -> Option<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-r"]).arg(pcap).args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=|"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().ok()?;
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect())
}

/// Option-less records (Wireshark's dissector steps 36 / 72 bytes per v1 record and
/// reads no options) in one message, and the PE record alone (its options trail the
/// fixed part the dissector reads).
fn tshark_messages() -> Vec<Vec<u8>> {
    let mut udp6 = g_seq_v6_reprs()[1].clone();
    udp6.options.clear();
    let tpl = conn4(
        6,
        conn_flags::TEMPLATE | conn_flags::TUNNEL,
        other_state::TPL_ASSURED,
        (0, 443, 443),
        360,
        [[198, 51, 100, 7], [203, 0, 113, 10], [10, 0, 1, 11]],
    );
    let mut msgs = SyncMessageBuilder::pack(42, DEFAULT_MAX_LEN, &[g_v4_repr(), udp6, tpl]).unwrap();
    msgs.extend(SyncMessageBuilder::pack(3, DEFAULT_MAX_LEN, &[g_pe_repr()]).unwrap());
    msgs
}

#[test]
fn tshark_decodes_what_rvs_emits() {
    let pcap = write_pcap("tshark", &tshark_messages());
    let fields = [
        "ipvs.syncid",
        "ipvs.conncount",
        "ipvs.size",
        "ipvs.version",
        "ipvs.type",
        "ipvs.proto",
        "ipvs.ver",
        "ipvs.size.v1",
        "ipvs.flags.v1",
        "ipvs.state",
        "ipvs.cport",
        "ipvs.vport",
        "ipvs.dport",
        "ipvs.fwmark",
        "ipvs.timeout",
        "ipvs.caddr",
        "ipvs.vaddr",
        "ipvs.daddr",
        "ipvs.caddr6",
        "ipvs.vaddr6",
        "ipvs.daddr6",
    ];
    let Some(lines) = tshark_fields(&pcap, &fields) else {
        panic!("tshark not found: the Wireshark cross-check cannot run (scripts/setup installs it)");
    };
    let _ = std::fs::remove_file(&pcap);
    let want = [
        concat!(
            "42|3|152|1|0,1,0|0x06,0x11,0x06|0,0,0|36,72,36|0x00000003,0x00000100,0x00001002|0x0001,0x0000,0x0001|",
            "54321,5000,0|80,53,443|8080,53,443|0x00000000,0x00000007,0x00000000|900,300,360|",
            "10.0.0.1,198.51.100.7|192.168.1.1,203.0.113.10|172.16.0.2,10.0.1.11|2001:db8::1|2001:db8::100|fd00::a"
        ),
        concat!(
            "3|1|57|1|0|0x11|0|49|0x00001000|0x0000|5060|5060|5060|0x00000000|900|",
            "192.0.2.1|192.0.2.100|10.0.0.5|||"
        ),
    ];
    assert_eq!(lines, want);
}

fn decoder_line(c: &SyncConnRepr) -> String {
    let opts: Vec<String> = c
        .options
        .iter()
        .map(|o| match o {
            SyncOptionRepr::Seq(s) => {
                let (i, o) = (s.in_seq, s.out_seq);
                format!(
                    "seq:{}:{}:{}:{}:{}:{}",
                    i.init_seq, i.delta, i.previous_delta, o.init_seq, o.delta, o.previous_delta
                )
            }
            SyncOptionRepr::PeData(d) => format!("{}:{}", opt::PE_DATA, to_hex(d)),
            SyncOptionRepr::PeName(d) => format!("{}:{}", opt::PE_NAME, to_hex(d)),
            SyncOptionRepr::Raw { kind, data } => format!("{kind}:{}", to_hex(data)),
        })
        .collect();
    format!(
        "conn v6={} proto={} flags={:#x} state={} cport={} vport={} dport={} fwmark={} timeout={} caddr={} vaddr={} daddr={} opts={}",
        u8::from(c.v6), c.protocol, c.flags, c.state, c.cport, c.vport, c.dport, c.fwmark, c.timeout, c.caddr, c.vaddr, c.daddr, opts.join(",")
    )
}

#[test]
fn independent_python_decoder_reads_what_rvs_emits() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/ipvs_sync_decode.py");
    let mut all = g_seq_v6_reprs();
    all.push(g_pe_repr());
    all.push(g_v4_repr());
    let mut fnat = g_v4_repr();
    fnat.options = vec![
        SyncOptionRepr::Raw { kind: opt::RVS_FNAT_LADDR, data: hex("27100a000063") },
        SyncOptionRepr::Raw { kind: opt::RVS_FNAT_SEQ, data: hex("0102030400000100fffffff0") },
        SyncOptionRepr::Raw { kind: opt::RVS_SYNPROXY_SEQ, data: hex("0a0b0c0d00001000") },
        SyncOptionRepr::Raw { kind: opt::RVS_TCP_TS, data: hex("0000100000002000") },
    ];
    all.push(fnat);
    let mut msgs = SyncMessageBuilder::pack(200, 300, &[all.clone(), all.clone(), all.clone()].concat()).unwrap();
    msgs.push(hex(G_MANDATORY));
    let out = match Command::new("/usr/bin/python3").arg(script).args(msgs.iter().map(|m| to_hex(m))).output() {
        Ok(o) => o,
        Err(e) => panic!("python3 not runnable ({e}): the Python cross-check cannot run"),
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut want = Vec::new();
    for m in &msgs {
        let r = parse(m).unwrap();
        want.push(format!("msg syncid={} nr_conns={} size={}", r.syncid, m[4], m.len()));
        if r.skipped == 1 {
            want.push("skip type=9".to_owned());
        }
        want.extend(r.conns.iter().map(decoder_line));
    }
    let got: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect();
    assert!(msgs.len() > 3, "several messages of at most 300 bytes");
    assert_eq!(got, want);
}
