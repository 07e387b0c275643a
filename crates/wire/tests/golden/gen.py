#!/usr/bin/env python3
"""Golden packets for crates/wire/tests/common/vectors.rs, built with scapy (an implementation
independent of ours) with the field values real stacks send (Linux 6.x ping, SYN, DNS
query; a Linux router's ICMP errors; LVS TUN; MLDv2). Re-run to print the hex and write
the fuzz seed corpus: python3 gen.py [../../../../fuzz/corpus/parse_packet]"""
import sys, os
from scapy.all import (Ether, Dot1Q, ARP, IP, ICMP, TCP, UDP, DNS, DNSQR, IPv6,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrRouting, RouterAlert, PadN, ICMPv6EchoRequest,
                       ICMPv6PacketTooBig, ICMPv6MLReport2, ICMPv6MLDMultAddrRec, raw,
                       IPOption_Router_Alert)
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

corpus = sys.argv[1] if len(sys.argv) > 1 else None
for name, p in pkts.items():
    b = raw(p)
    print(f"// {name}: {p.summary()}")
    print(f'const {name.upper()}: &str = "{b.hex()}";')
    if corpus:
        os.makedirs(corpus, exist_ok=True)
        open(os.path.join(corpus, "seed-" + name), "wb").write(b)
