//! (e) wire::PacketBuf on an Mbuf: prepend/adj/append/trim/headroom, checked against
//! VecBuf (the reference implementation) op by op.
mod common;

use wire::{PacketBuf, VecBuf};

#[test]
fn packetbuf_on_mbuf_matches_vecbuf() {
    let _eal = common::eal();
    // --no-huge: the tables stay off DPDK memory (transparent huge pages instead).
    assert!(!dpdk::use_hugepages_for_tables());
    assert_ne!(rvs_hint::HugeSlice::new(1 << 20, 0u32).backing(), rvs_hint::Backing::Hugetlb);
    let pool = common::pool("pbuf", 63);
    let mut m = pool.alloc().unwrap();
    assert_eq!(m.len(), 0);
    assert_eq!(m.headroom(), 128);
    assert_eq!(m.tailroom(), 2048);
    let mut v = VecBuf::with_room(&[], 128, 2048);

    fn same(m: &dpdk::Mbuf, v: &VecBuf) {
        assert_eq!(PacketBuf::data(m), v.data());
        assert_eq!(PacketBuf::headroom(m), v.headroom());
        assert_eq!(PacketBuf::len(m), v.len());
    }

    let payload: Vec<u8> = (0..100u8).collect();
    m.append(100).unwrap().copy_from_slice(&payload);
    v.append(100).unwrap().copy_from_slice(&payload);
    same(&m, &v);

    // Encapsulate: 20 bytes in front.
    let hdr = [0xAB; 20];
    {
        let d = m.prepend(20).unwrap();
        assert_eq!(d.len(), 120, "prepend returns the whole new packet");
        d[..20].copy_from_slice(&hdr);
    }
    v.prepend(20).unwrap()[..20].copy_from_slice(&hdr);
    same(&m, &v);
    assert_eq!(m.headroom(), 108);

    // Decapsulate.
    assert!(m.adj(20) && v.adj(20));
    same(&m, &v);
    assert_eq!(m.data(), &payload[..]);

    // Refusals leave the buffer untouched.
    assert!(m.prepend(129).is_none() && v.prepend(129).is_none());
    assert!(m.prepend(70_000).is_none());
    assert!(!m.adj(101) && !v.adj(101));
    assert!(!m.trim(101) && !v.trim(101));
    assert!(m.append(2048 - 99).is_none() && v.append(2048 - 99).is_none());
    same(&m, &v);

    assert!(m.trim(40) && v.trim(40));
    same(&m, &v);
    m.data_mut()[0] = 0xFF;
    v.data_mut()[0] = 0xFF;
    same(&m, &v);

    // Exactly all the headroom, then all the tailroom.
    assert!(m.prepend(128).is_some() && v.prepend(128).is_some());
    let room = m.tailroom();
    assert!(m.append(room).is_some() && v.append(room).is_some());
    same(&m, &v);
    assert_eq!((m.headroom(), m.tailroom()), (0, 0));

    assert!(m.set_data(b"hello"));
    assert_eq!(m.data(), b"hello");
    assert_eq!(m.pkt_len(), 5);

    // An Mbuf through into_raw/from_raw keeps its bytes.
    let raw = m.into_raw();
    // SAFETY: raw came from into_raw just above and is reclaimed once.
    let m = unsafe { dpdk::Mbuf::from_raw(raw) };
    assert_eq!(m.data(), b"hello");
    drop(m);
    assert_eq!(pool.in_use(), 0);
}
