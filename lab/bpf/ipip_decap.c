// SPDX-License-Identifier: GPL-2.0
// Tunnel decapsulation for the lab's TUN-mode real servers, both IP families:
//   IPIP     IPv4-in-IPv4, outer protocol 4
//   ip6ip6   IPv6-in-IPv6, outer next header 41 (RFC 2473)
//
// This kernel has neither the `ipip` nor the `ip6_tunnel` module, so a real server cannot
// make a tunnel device. Instead this tc ingress program strips the outer header in place;
// the inner packet (sent to the VIP, which the real server holds on lo) then goes up the
// stack as if it had arrived bare, and the reply (source VIP) leaves by the server's
// ordinary routes, as in LVS/TUN.
//
// Any inner packet of the outer header's family is decapsulated, not only one for the VIP:
// the real servers do not forward, so the stack delivers the inner packet only if its
// destination is one of the server's own addresses (the VIP on lo) and drops it otherwise,
// exactly as a tunnel device would.
//
// Built by scripts/lab:  clang -O2 -g -target bpf -c ipip_decap.c -o ipip_decap.o
// Attached:              tc qdisc add dev eth0 clsact
//                        tc filter add dev eth0 ingress bpf da obj ipip_decap.o sec tc
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

// Remove `len` bytes right after the Ethernet header (BPF_ADJ_ROOM_MAC). No flags: the
// protocol does not change (same family inside and out), and lab packets are not GSO.
static __always_inline int strip_outer(struct __sk_buff *skb, __u32 len)
{
	if (bpf_skb_adjust_room(skb, -(__s32)len, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

static __always_inline int decap_ipip(struct __sk_buff *skb)
{
	/* Frames sent through an af_packet TX ring (DPDK's af_packet PMD) carry only the
	 * link-layer header in the linear area; the IP headers sit in page fragments,
	 * where direct packet access cannot reach. Pull both IPv4 headers in first. */
	bpf_skb_pull_data(skb, sizeof(struct ethhdr) + 2 * sizeof(struct iphdr));
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *outer = (void *)(eth + 1);

	if ((void *)(outer + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (outer->version != 4 || outer->protocol != IPPROTO_IPIP)
		return TC_ACT_OK;
	// A fragmented tunnel packet cannot be decapsulated piecewise; leave it to the stack
	// (which drops it: nothing listens on protocol 4).
	if (outer->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return TC_ACT_OK;

	__u32 outer_len = outer->ihl * 4;
	if (outer_len < sizeof(struct iphdr))
		return TC_ACT_OK;

	// The inner header must be there and be IPv4: the frame keeps its ETH_P_IP type.
	struct iphdr *inner = (void *)outer + outer_len;
	if ((void *)(inner + 1) > data_end || inner->version != 4)
		return TC_ACT_OK;
	return strip_outer(skb, outer_len);
}

static __always_inline int decap_ip6ip6(struct __sk_buff *skb)
{
	// Same af_packet caveat as above: pull both IPv6 headers into the linear area.
	bpf_skb_pull_data(skb, sizeof(struct ethhdr) + 2 * sizeof(struct ipv6hdr));
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *outer = (void *)(eth + 1);

	if ((void *)(outer + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	// Only an inner packet right after the fixed header (next header 41). An outer
	// extension header (a Fragment header, or RFC 2473's Tunnel Encapsulation Limit
	// option) is left to the stack, which drops it: nothing listens on next header 41.
	if (outer->version != 6 || outer->nexthdr != IPPROTO_IPV6)
		return TC_ACT_OK;

	// The inner header must be there and be IPv6: the frame keeps its ETH_P_IPV6 type.
	struct ipv6hdr *inner = outer + 1;
	if ((void *)(inner + 1) > data_end || inner->version != 6)
		return TC_ACT_OK;
	return strip_outer(skb, sizeof(struct ipv6hdr));
}

SEC("tc")
int ipip_decap(struct __sk_buff *skb)
{
	// skb->protocol is the frame's EtherType, readable before any packet data is pulled.
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return decap_ipip(skb);
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return decap_ip6ip6(skb);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
