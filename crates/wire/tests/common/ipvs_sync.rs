//! IPVS sync v1 goldens, hand-written from the kernel's struct layout (`struct
//! ip_vs_sync_mesg`, `ip_vs_sync_v4`, `ip_vs_sync_v6`, the option TLVs `ip_vs_sync_conn`
//! writes), the reprs they decode to, and the all-accessors walk (tests/ipvs_sync.rs,
//! tests/ipvs_sync_oracles.rs, tests/no_panic.rs).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::hex;
use wire::ipvs_sync::{
    conn_flags, opt, other_state, tcp_state, SeqOptionRepr, SeqRepr, SyncConnRepr, SyncMessage, SyncMessageRepr,
    SyncOptionRepr,
};

/// One IPv4 TCP connection, direct routing, established; no options.
pub const G_V4: &str = concat!(
    "00", "07", "002c", "01", "01", "0000", // reserved, syncid 7, size 44, 1 conn, v1, spare
    "00", "06", "0024", "00000003", // type v4, TCP, ver 0 size 36, flags DROUTE
    "0001", "d431", "0050", "1f90", // ESTABLISHED, cport 54321, vport 80, dport 8080
    "00000000", "00000384", // fwmark 0, timeout 900 s
    "0a000001", "c0a80101", "ac100002", // 10.0.0.1, 192.168.1.1, 172.16.0.2
);

/// IPv4 TCP NAT with the sequence option, 2 bytes of padding, then IPv6 UDP carrying the
/// rvs FullNAT laddr option (optional type 0x50: lport 10000, fd00::2).
pub const G_SEQ_V6: &str = concat!(
    "00",
    "2a",
    "00a4",
    "02",
    "01",
    "0000", // syncid 42, size 164, 2 conns
    "00",
    "06",
    "003e",
    "00000600", // v4 TCP, size 62, MASQ|IN_SEQ|OUT_SEQ
    "0001",
    "c350",
    "01bb",
    "01bb",
    "00000000",
    "00000384", // EST, 50000, 443, 443, 0, 900
    "c6336407",
    "cb00710a",
    "0a00010a", // 198.51.100.7, 203.0.113.10, 10.0.1.10
    "01",
    "18", // IPVS_OPT_SEQ_DATA, 24
    "11223344",
    "00000010",
    "00000008", // in_seq
    "55667788",
    "fffffff0",
    "00000000", // out_seq
    "0000",     // padding to 4 (62 -> 64), outside the record's size
    "01",
    "11",
    "005c",
    "00000100", // v6 UDP, size 92, INACTIVE
    "0000",
    "1388",
    "0035",
    "0035",
    "00000007",
    "0000012c",                         // NORMAL, 5000, 53, 53, fwmark 7, 300
    "20010db8000000000000000000000001", // 2001:db8::1
    "20010db8000000000000000000000100", // 2001:db8::100
    "fd00000000000000000000000000000a", // fd00::a
    "50",
    "12",
    "2710",
    "fd000000000000000000000000000002", // rvs laddr, 18: 10000, fd00::2
);

/// A record with an unknown mandatory option (type 9), which Linux skips, then a
/// persistence template.
pub const G_MANDATORY: &str = concat!(
    "00", "01", "0058", "02", "01", "0000", // syncid 1, size 88, 2 conns
    "00", "06", "002a", "00000002", "0001", "04d2", "0050", "0050", "00000000", "0000003c", "0a000001", "0a000002",
    "0a000003", "09", "04", "deadbeef", // type 9 (mandatory), 4 bytes
    "0000",     // padding 42 -> 44
    "00", "06", "0024", "00001003", "0000", "0000", "0050", "0050", "00000000", "00000168", "0a000001", "0a000002",
    "0a000003", // TEMPLATE|DROUTE, TPL_NONE, cport 0, 360 s
);

/// SIP persistence: PE data then PE name, the last record unpadded (size 49).
pub const G_PE: &str = concat!(
    "00",
    "03",
    "0039",
    "01",
    "01",
    "0000", // syncid 3, size 57, 1 conn
    "00",
    "11",
    "0031",
    "00001000",
    "0000",
    "13c4",
    "13c4",
    "13c4",
    "00000000",
    "00000384",
    "c0000201",
    "c0000264",
    "0a000005", // 192.0.2.1, 192.0.2.100, 10.0.0.5
    "02",
    "06",
    "63616c6c2d31", // IPVS_OPT_PE_DATA "call-1"
    "03",
    "03",
    "736970", // IPVS_OPT_PE_NAME "sip"
);

pub fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

pub fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

pub fn conn4(
    protocol: u8,
    flags: u32,
    state: u16,
    ports: (u16, u16, u16),
    timeout: u32,
    a: [[u8; 4]; 3],
) -> SyncConnRepr {
    SyncConnRepr {
        v6: false,
        protocol,
        flags,
        state,
        cport: ports.0,
        vport: ports.1,
        dport: ports.2,
        fwmark: 0,
        timeout,
        caddr: v4(a[0]),
        vaddr: v4(a[1]),
        daddr: v4(a[2]),
        options: vec![],
    }
}

pub fn g_v4_repr() -> SyncConnRepr {
    conn4(
        6,
        conn_flags::DROUTE,
        tcp_state::ESTABLISHED,
        (54321, 80, 8080),
        900,
        [[10, 0, 0, 1], [192, 168, 1, 1], [172, 16, 0, 2]],
    )
}

pub fn g_seq_v6_reprs() -> Vec<SyncConnRepr> {
    let mut a = conn4(
        6,
        conn_flags::SEQ_MASK,
        1,
        (50000, 443, 443),
        900,
        [[198, 51, 100, 7], [203, 0, 113, 10], [10, 0, 1, 10]],
    );
    a.options = vec![SyncOptionRepr::Seq(SeqOptionRepr {
        in_seq: SeqRepr { init_seq: 0x1122_3344, delta: 16, previous_delta: 8 },
        out_seq: SeqRepr { init_seq: 0x5566_7788, delta: 0xffff_fff0, previous_delta: 0 },
    })];
    let mut laddr = vec![0x27, 0x10];
    laddr.extend_from_slice(&"fd00::2".parse::<Ipv6Addr>().unwrap().octets());
    let b = SyncConnRepr {
        v6: true,
        protocol: 17,
        flags: conn_flags::INACTIVE,
        state: other_state::UDP_NORMAL,
        cport: 5000,
        vport: 53,
        dport: 53,
        fwmark: 7,
        timeout: 300,
        caddr: v6("2001:db8::1"),
        vaddr: v6("2001:db8::100"),
        daddr: v6("fd00::a"),
        options: vec![SyncOptionRepr::Raw { kind: opt::RVS_FNAT_LADDR, data: laddr }],
    };
    vec![a, b]
}

pub fn g_pe_repr() -> SyncConnRepr {
    let mut c =
        conn4(17, conn_flags::TEMPLATE, 0, (5060, 5060, 5060), 900, [[192, 0, 2, 1], [192, 0, 2, 100], [10, 0, 0, 5]]);
    c.options = vec![SyncOptionRepr::PeData(b"call-1".to_vec()), SyncOptionRepr::PeName(b"sip".to_vec())];
    c
}

pub fn emit(r: &SyncMessageRepr) -> Vec<u8> {
    let mut b = vec![0xa5; r.buffer_len()];
    r.emit(&mut SyncMessage::new_unchecked(&mut b[..])).unwrap();
    b
}

pub fn parse(b: &[u8]) -> wire::Result<SyncMessageRepr> {
    SyncMessageRepr::parse(&SyncMessage::new_unchecked(b))
}

/// All goldens, decoded.
pub fn goldens() -> Vec<Vec<u8>> {
    [G_V4, G_SEQ_V6, G_MANDATORY, G_PE].iter().map(|h| hex(h)).collect()
}
