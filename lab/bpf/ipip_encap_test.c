// SPDX-License-Identifier: GPL-2.0
// Test-only tunnel encapsulation, used by lab/selftest (never by `scripts/lab up`): attached
// on the router's egress towards rvs-far1, it plays rvsd's part in TUN mode, so that a
// whole TCP connection (handshake, a 20 MiB download, teardown) crosses ipip_decap.c
// without rvsd:
// - IPv4: every packet whose destination is outside 10.0.4.0/24 (the router sends the VIP
//   there by a host route during the test) is wrapped in IPIP, outer 10.0.4.1 → 10.0.4.11.
// - IPv6: every packet whose destination is in the wan subnet 2001:db8:2::/64 (the VIP6,
//   sent there by a host route during the test) is wrapped in ip6ip6 (RFC 2473, next
//   header 41), outer 2001:db8:4::1 → 2001:db8:4::11. Not "outside the far subnet" as
//   for IPv4: the router's neighbour solicitations (to ff02::1:ffXX:XXXX) must go bare.
//
// MTU: every lab link is 1500. A full-size client segment (1500 bytes) becomes 1520 (IPv4)
// or 1540 (IPv6) once encapsulated and the veth drops it (receiver's rx_dropped), so only
// downloads work here; rvsd in TUN mode must do what IPVS does (ICMP fragmentation-needed,
// MTU - 20, or ICMPv6 Packet Too Big, MTU - 40, to the client for packets that no longer
// fit).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define FAR_NET   0x0a000400 /* 10.0.4.0/24 */
#define OUTER_SRC 0x0a000401 /* 10.0.4.1 (router) */
#define OUTER_DST 0x0a00040b /* 10.0.4.11 (rvs-far1) */

static __always_inline __u16 ip_csum(struct iphdr *h)
{
	__u32 s = 0;
	__u16 *w = (__u16 *)h;
#pragma unroll
	for (int i = 0; i < 10; i++)
		s += w[i];
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return ~s;
}

static __always_inline int encap_ipip(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if ((bpf_ntohl(ip->daddr) & 0xffffff00) == FAR_NET)
		return TC_ACT_OK;

	struct iphdr outer = {
		.version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_IPIP,
		.tot_len = bpf_htons(bpf_ntohs(ip->tot_len) + sizeof(struct iphdr)),
		.frag_off = bpf_htons(0x4000),
		.saddr = bpf_htonl(OUTER_SRC), .daddr = bpf_htonl(OUTER_DST),
	};
	outer.check = ip_csum(&outer);
	if (bpf_skb_adjust_room(skb, sizeof(outer), BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, sizeof(struct ethhdr), &outer, sizeof(outer), 0))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

static __always_inline int encap_ip6ip6(struct __sk_buff *skb)
{
	bpf_skb_pull_data(skb, sizeof(struct ethhdr) + sizeof(struct ipv6hdr));
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);

	if ((void *)(ip6 + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	// 2001:db8:2::/64, the wan subnet that holds the VIP6.
	__u32 *d = ip6->daddr.in6_u.u6_addr32;
	if (d[0] != bpf_htonl(0x20010db8) || d[1] != bpf_htonl(0x00020000))
		return TC_ACT_OK;

	struct ipv6hdr outer = {
		.version = 6, .nexthdr = IPPROTO_IPV6, .hop_limit = 64,
		.payload_len = bpf_htons(bpf_ntohs(ip6->payload_len) + sizeof(struct ipv6hdr)),
	};
	outer.saddr.in6_u.u6_addr32[0] = bpf_htonl(0x20010db8); /* 2001:db8:4::1 (router) */
	outer.saddr.in6_u.u6_addr32[1] = bpf_htonl(0x00040000);
	outer.saddr.in6_u.u6_addr32[3] = bpf_htonl(0x1);
	outer.daddr.in6_u.u6_addr32[0] = bpf_htonl(0x20010db8); /* 2001:db8:4::11 (rvs-far1) */
	outer.daddr.in6_u.u6_addr32[1] = bpf_htonl(0x00040000);
	outer.daddr.in6_u.u6_addr32[3] = bpf_htonl(0x11);
	if (bpf_skb_adjust_room(skb, sizeof(outer), BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_ENCAP_L3_IPV6))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, sizeof(struct ethhdr), &outer, sizeof(outer), 0))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc")
int ipip_encap(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return encap_ipip(skb);
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return encap_ip6ip6(skb);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
