// SPDX-License-Identifier: GPL-2.0
// Keeps the director's own kernel off rvsd's lab ports (dwan, dlan).
//
// On a real box the NICs are bound to DPDK and the kernel never sees their frames; its
// only way onto the wire is the ports' kernel twins (net_tap), through rvsd. In the lab
// rvsd reads veths through af_packet, and the kernel would also take every frame those
// veths receive: with the director's addresses on the twins (weak host model) it would
// answer pings and TCP twice, once through rvsd and once on its own. This tc ingress
// program drops everything on the veth after the packet taps have run: af_packet (a
// ptype_all tap) still gets each frame, the kernel's protocol handlers never do.
//
// Built by scripts/lab:  clang -O2 -g -target bpf -c stack_off.c -o stack_off.o
// Attached:              tc qdisc add dev dwan clsact
//                        tc filter add dev dwan ingress bpf da obj stack_off.o sec tc
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int stack_off(struct __sk_buff *skb)
{
	return TC_ACT_SHOT;
}

char _license[] SEC("license") = "GPL";
