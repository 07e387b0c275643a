// SPDX-License-Identifier: GPL-2.0
// IPIP (IPv4-in-IPv4, protocol 4) decapsulation for the lab's TUN-mode real servers.
//
// This kernel has no `ipip` module, so a real server cannot make a tunnel device. Instead
// this tc ingress program strips the outer IPv4 header in place; the inner packet (sent to
// the VIP, which the real server holds on lo) then goes up the stack as if it had arrived
// bare, and the reply (source VIP) leaves by the server's ordinary routes, as in LVS/TUN.
//
// Built by scripts/lab:  clang -O2 -g -target bpf -c ipip_decap.c -o ipip_decap.o
// Attached:              tc qdisc add dev eth0 clsact
//                        tc filter add dev eth0 ingress bpf da obj ipip_decap.o sec tc
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

SEC("tc")
int ipip_decap(struct __sk_buff *skb)
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

	// Remove outer_len bytes right after the Ethernet header (BPF_ADJ_ROOM_MAC). No flags:
	// the protocol does not change (IPv4 in IPv4), and lab packets are not GSO.
	if (bpf_skb_adjust_room(skb, -(__s32)outer_len, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
