#!/usr/bin/env python3
"""Golden packets for crates/wire/tests/common/vectors.rs, built with scapy (an implementation
independent of ours) with the field values real stacks send (Linux 6.x ping, SYN, DNS
query; a Linux router's ICMP errors; LVS TUN; MLDv2). Re-run to print the hex and write
the fuzz seed corpus: python3 gen.py [../../../../fuzz/corpus/parse_packet]

`python3 gen.py emit > ../common/emit_vectors.rs` (then cargo fmt) writes the frames the
Repr/emit side must produce byte for byte (tests/golden_emit.rs): every Repr variant and
both tunnels. They stay out of the fuzz corpus, which mirrors ALL only."""
import sys, os
from scapy.all import (Ether, Dot1Q, ARP, IP, ICMP, TCP, UDP, DNS, DNSQR, IPv6,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrRouting, RouterAlert, PadN, ICMPv6EchoRequest,
                       ICMPv6PacketTooBig, ICMPv6MLReport2, ICMPv6MLDMultAddrRec, raw,
                       IPOption_Router_Alert)
from scapy.all import (ICMPv6EchoReply, ICMPv6DestUnreach, ICMPv6TimeExceeded, ICMPv6ParamProblem,
                       ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr)
from scapy.contrib.igmp import IGMP

C = "52:54:00:12:34:56"   # client / host NIC
R = "00:1a:2b:3c:4d:5e"   # router
D = "02:00:00:00:00:01"   # director
# Linux ping: a 16-byte struct timeval (little-endian) then bytes 0x10..0x37.
ping_data = bytes.fromhex("5e7c3b6700000000a1b2030000000000") + bytes(range(0x10, 0x38))
syn_opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (2316216134, 0)), ("NOP", None), ("WScale", 7)]

pkts = {
    "arp_request": Ether(dst="ff:ff:ff:ff:ff:ff", src=C) / ARP(op=1, hwsrc=C, psrc="192.168.1.100", hwdst="00:00:00:00:00:00", pdst="192.168.1.1"),
    "arp_reply": Ether(dst=C, src=R) / ARP(op=2, hwsrc=R, psrc="192.168.1.1", hwdst=C, pdst="192.168.1.100") / (b"\x00" * 18),
    "icmp_echo": Ether(dst=R, src=C) / IP(id=0x3c5e, flags="DF", ttl=64, src="192.168.1.100", dst="8.8.8.8") / ICMP(type=8, id=0x1c46, seq=1) / ping_data,
    "tcp_syn": Ether(dst=D, src=R) / IP(id=0xa3f1, flags="DF", ttl=63, src="198.51.100.7", dst="203.0.113.10") / TCP(sport=54321, dport=80, seq=0x5f3a1c2d, flags="S", window=64240, options=syn_opts),
    "udp_dns": Ether(dst=R, src=C) / IP(id=0x6d2b, ttl=64, src="192.168.1.100", dst="8.8.8.8") / UDP(sport=51234, dport=53) / DNS(id=0x1a2b, rd=1, qd=DNSQR(qname="example.com", qtype="A")),
    "icmp_port_unreach": Ether(dst=C, src=R) / IP(id=0x0f13, ttl=64, tos=0xc0, src="192.168.1.1", dst="192.168.1.100") / ICMP(type=3, code=3) /
        IP(id=0x6d2b, ttl=64, src="192.168.1.100", dst="192.168.1.1") / UDP(sport=51234, dport=33434) / b"@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_",
    "icmp_frag_needed": Ether(dst=D, src=R) / IP(id=0x0001, ttl=64, src="198.51.100.1", dst="203.0.113.10") / ICMP(type=3, code=4, nexthopmtu=1400) /
        raw(IP(id=0xa3f2, flags="DF", ttl=62, src="203.0.113.10", dst="198.51.100.7") / TCP(sport=80, dport=54321, seq=1, ack=2, flags="A", window=502) / (b"x" * 1460))[:28],
    "ipip_syn": Ether(dst="52:54:00:aa:bb:cc", src=D) / IP(id=0x0000, flags="DF", ttl=64, src="10.0.0.1", dst="10.0.1.10", proto=4) /
        IP(id=0xa3f1, flags="DF", ttl=62, src="198.51.100.7", dst="203.0.113.10") / TCP(sport=54321, dport=80, seq=0x5f3a1c2d, flags="S", window=64240, options=syn_opts),
    "vlan_udp": Ether(dst=R, src=C) / Dot1Q(prio=5, vlan=100) / IP(id=0x0042, ttl=64, src="10.100.0.2", dst="10.100.0.1") / UDP(sport=40000, dport=5353) / b"hello",
    "ipv6_mldv2": Ether(dst="33:33:00:00:00:16", src=C) / IPv6(src="fe80::5054:ff:fe12:3456", dst="ff02::16", hlim=1) /
        IPv6ExtHdrHopByHop(options=[RouterAlert(value=0), PadN(optdata=b"")]) / ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst="ff02::fb")]),
    "ipv6_ext_udp": Ether(dst=R, src=C) / IPv6(src="2001:db8::100", dst="2001:db8:1::53", hlim=64, tc=0, fl=0x12345) /
        IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00\x00\x00\x00")]) / IPv6ExtHdrRouting(type=0, segleft=0, addresses=[]) /
        IPv6ExtHdrFragment(offset=0, m=0, id=0xdeadbeef) / UDP(sport=40001, dport=53) / b"rvs-wire",
    "ipv6_echo": Ether(dst=R, src=C) / IPv6(src="2001:db8::100", dst="2001:db8:1::1", hlim=64, fl=0xabcde) / ICMPv6EchoRequest(id=0x2a, seq=3, data=b"rvs!"),
    "ipv6_ptb": Ether(dst=D, src=R) / IPv6(src="2001:db8:ff::1", dst="2001:db8::10", hlim=64) / ICMPv6PacketTooBig(mtu=1280) /
        raw(IPv6(src="2001:db8::10", dst="2001:db8:1::7", hlim=63) / TCP(sport=443, dport=50000, seq=10, ack=20, flags="A", window=500) / (b"y" * 1400))[:1232],
    "ipv6_tcp_syn": Ether(dst=D, src=R) / IPv6(src="2001:db8:1::7", dst="2001:db8::10", hlim=62) / TCP(sport=50000, dport=443, seq=0x01020304, flags="S", window=64800, options=syn_opts),
    # A server's ACK carrying two SACK blocks behind timestamps, as Linux aligns them.
    "tcp_ack_sack": Ether(dst=R, src=D) / IP(id=0x51c0, flags="DF", ttl=64, src="203.0.113.10", dst="198.51.100.7") /
        TCP(sport=80, dport=54321, seq=0x10000001, ack=0x5f3a1c2e, flags="A", window=501,
            options=[("NOP", None), ("NOP", None), ("Timestamp", (3339741520, 2316216200)), ("NOP", None), ("NOP", None), ("SAck", (0x5f3a2e8e, 0x5f3a3436, 0x5f3a39de, 0x5f3a3f86))]),
    # IGMPv2 report: IPv4 options (Router Alert, RFC 2113), TTL 1, CS6.
    "igmp_report_ra": Ether(dst="01:00:5e:00:00:fb", src=C) / IP(id=0, flags="DF", ttl=1, tos=0xc0, src="192.168.1.100", dst="224.0.0.251", options=[IPOption_Router_Alert()]) /
        IGMP(type=0x16, gaddr="224.0.0.251"),
    # The second fragment of a 1600-byte UDP datagram: offset 1480, MF clear.
    "ipv4_frag_second": Ether(dst=D, src=R) / IP(id=0x1234, flags=0, frag=185, ttl=63, proto=17, src="198.51.100.7", dst="203.0.113.10") / (b"z" * 128),
}


# ---- frames the director builds (emit goldens) ----
RS = "52:54:00:aa:bb:cc"  # real server
# The director's answer to icmp_echo, and what it quotes in errors: Linux's rules.
udp_probe = raw(IP(id=0x6d2b, ttl=1, src="192.168.1.100", dst="10.0.2.100") / UDP(sport=51234, dport=33434) / b"@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_")
big_tcp = raw(IP(id=0xa3f2, flags="DF", ttl=62, src="203.0.113.10", dst="198.51.100.7") / TCP(sport=80, dport=54321, seq=1, ack=2, flags="A", window=502) / (b"x" * 1460))
bad_opt = raw(IP(id=0x0101, ttl=64, src="192.168.1.100", dst="10.0.2.100", options=[IPOption_Router_Alert()]) / UDP(sport=1, dport=2))
v6_udp = raw(IPv6(src="2001:db8::100", dst="2001:db8:1::7", hlim=1) / UDP(sport=40001, dport=33434) / b"rvs-wire")
v6_big = raw(IPv6(src="2001:db8::10", dst="2001:db8:1::7", hlim=63) / TCP(sport=443, dport=50000, seq=10, ack=20, flags="A", window=500) / (b"y" * 1400))
DL = "fe80::ff:fe00:1"        # the director's link-local address
emit_pkts = {
    "arp_probe": Ether(dst="ff:ff:ff:ff:ff:ff", src=D) / ARP(op=1, hwsrc=D, psrc="10.0.2.2", hwdst="00:00:00:00:00:00", pdst="10.0.2.1"),
    "arp_answer": Ether(dst=R, src=D) / ARP(op=2, hwsrc=D, psrc="10.0.2.100", hwdst=R, pdst="10.0.2.1"),
    "icmp_echo_request_emit": Ether(dst=R, src=D) / IP(id=0x0001, flags="DF", ttl=64, src="10.0.2.2", dst="10.0.2.1") / ICMP(type=8, id=0x0b0b, seq=7) / ping_data,
    "icmp_echo_reply_emit": Ether(dst=R, src=D) / IP(id=0x3c5e, ttl=64, src="8.8.8.8", dst="192.168.1.100") / ICMP(type=0, id=0x1c46, seq=1) / ping_data,
    "icmp_port_unreach_emit": Ether(dst=R, src=D) / IP(id=0, ttl=64, tos=0xc0, src="10.0.2.100", dst="192.168.1.100") / ICMP(type=3, code=3) / udp_probe,
    "icmp_frag_needed_emit": Ether(dst=R, src=D) / IP(id=0, ttl=64, src="10.0.2.2", dst="203.0.113.10") / ICMP(type=3, code=4, nexthopmtu=1480) / big_tcp[:548],
    "icmp_time_exceeded_emit": Ether(dst=R, src=D) / IP(id=0, ttl=64, tos=0xc0, src="10.0.2.2", dst="192.168.1.100") / ICMP(type=11, code=0) / udp_probe,
    "icmp_param_problem_emit": Ether(dst=R, src=D) / IP(id=0, ttl=64, src="10.0.2.2", dst="192.168.1.100") / ICMP(type=12, code=0, ptr=20) / bad_opt,
    "icmpv6_echo_request_emit": Ether(dst=R, src=D) / IPv6(src="2001:db8::10", dst="2001:db8::1", hlim=64, tc=0, fl=0x12345) / ICMPv6EchoRequest(id=0x2a, seq=3, data=b"rvs!"),
    "icmpv6_echo_reply_emit": Ether(dst=R, src=D) / IPv6(src="2001:db8:1::1", dst="2001:db8::100", hlim=64, tc=0xb8) / ICMPv6EchoReply(id=0x2a, seq=3, data=b"rvs!"),
    "icmpv6_port_unreach_emit": Ether(dst=R, src=D) / IPv6(src="2001:db8:1::7", dst="2001:db8::100", hlim=64) / ICMPv6DestUnreach(code=4) / v6_udp,
    "icmpv6_ptb_emit": Ether(dst=R, src=D) / IPv6(src="2001:db8::1", dst="2001:db8::10", hlim=64) / ICMPv6PacketTooBig(mtu=1280) / v6_big[:1232],
    "icmpv6_time_exceeded_emit": Ether(dst=R, src=D) / IPv6(src="2001:db8::1", dst="2001:db8::100", hlim=64) / ICMPv6TimeExceeded(code=0) / v6_udp,
    "icmpv6_param_problem_emit": Ether(dst=R, src=D) / IPv6(src="2001:db8::1", dst="2001:db8::100", hlim=64) / ICMPv6ParamProblem(code=1, ptr=6) / v6_udp,
    "ndp_ns": Ether(dst="33:33:ff:00:00:01", src=D) / IPv6(src=DL, dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="2001:db8::1") / ICMPv6NDOptSrcLLAddr(lladdr=D),
    "ndp_ns_dad": Ether(dst="33:33:ff:00:00:10", src=D) / IPv6(src="::", dst="ff02::1:ff00:10", hlim=255) / ICMPv6ND_NS(tgt="2001:db8::10"),
    "ndp_na": Ether(dst=R, src=D) / IPv6(src="2001:db8::10", dst="fe80::21a:2bff:fe3c:4d5e", hlim=255) / ICMPv6ND_NA(R=0, S=1, O=1, tgt="2001:db8::10") / ICMPv6NDOptDstLLAddr(lladdr=D),
    "ndp_na_unsolicited": Ether(dst="33:33:00:00:00:01", src=D) / IPv6(src=DL, dst="ff02::1", hlim=255) / ICMPv6ND_NA(R=1, S=0, O=1, tgt="2001:db8::10"),
    # TUN to an IPv6 real server: the client's SYN (traffic class 0x28, copied out) in
    # an outer header from the director (RFC 2473, next header 41).
    "ip6tnl_syn": Ether(dst=RS, src=D) / IPv6(src="2001:db8::2", dst="2001:db8:3::11", hlim=64, fl=0xbeef, tc=0x28) /
        IPv6(src="2001:db8:1::7", dst="2001:db8::10", hlim=62, tc=0x28) / TCP(sport=50000, dport=443, seq=0x01020304, flags="S", window=64800, options=syn_opts),
}

def check_with_scapy():
    """scapy's own dissector reads back what the goldens say (the NA with its option)."""
    na = Ether(raw(emit_pkts["ndp_na"]))
    assert na.haslayer(ICMPv6ND_NA) and na[ICMPv6ND_NA].S == 1 and na[ICMPv6ND_NA].R == 0 and na[ICMPv6ND_NA].O == 1
    assert na.haslayer(ICMPv6NDOptDstLLAddr) and na[ICMPv6NDOptDstLLAddr].lladdr == D and na[ICMPv6NDOptDstLLAddr].len == 1
    ns = Ether(raw(emit_pkts["ndp_ns"]))
    assert ns.haslayer(ICMPv6NDOptSrcLLAddr) and ns[ICMPv6NDOptSrcLLAddr].lladdr == D
    assert not Ether(raw(emit_pkts["ndp_ns_dad"])).haslayer(ICMPv6NDOptSrcLLAddr)
    assert len(raw(emit_pkts["icmpv6_ptb_emit"])) == 14 + 1280
    assert len(raw(emit_pkts["icmp_frag_needed_emit"])) == 14 + 576
    t = Ether(raw(emit_pkts["ip6tnl_syn"]))
    assert t[IPv6].nh == 41 and t[IPv6].payload[IPv6].haslayer(TCP)

if len(sys.argv) > 1 and sys.argv[1] == "emit":
    check_with_scapy()
    print("//! Frames the build side must emit byte for byte, generated by `tests/golden/gen.py emit`")
    print("//! (scapy, whose own dissector reads the NDP ones back with their options).")
    print()
    for name, p in emit_pkts.items():
        print(f"// {name}: {p.summary()}")
        print(f'pub const {name.upper()}: &str = "{raw(p).hex()}";')
    print()
    print("/// Every emit golden, by name.")
    print("pub const ALL: &[(&str, &str)] = &[")
    for name in emit_pkts:
        print(f'    ("{name}", {name.upper()}),')
    print("];")
    sys.exit(0)

corpus = sys.argv[1] if len(sys.argv) > 1 else None
for name, p in pkts.items():
    b = raw(p)
    print(f"// {name}: {p.summary()}")
    print(f'const {name.upper()}: &str = "{b.hex()}";')
    if corpus:
        os.makedirs(corpus, exist_ok=True)
        open(os.path.join(corpus, "seed-" + name), "wb").write(b)
