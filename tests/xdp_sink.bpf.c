// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * xdp_sink.bpf.c - benchmark client-side veth program: drops the SYN-ACKs a
 * flood provokes towards the spoofed ranges, 10.0.0.0/9 (the tests' spoofed
 * 10.99.0.0/16 and the benchmark's 10.0.0.0/9; on a real network
 * they would leave for the spoofed hosts; here the kernel stack answering
 * them would eat the generator's CPU) and passes everything else, including
 * XDP_TX frames for the real client. It is also the XDP program a veth
 * receiving XDP_TX frames needs on its peer (see docs/design.md).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(0x0800))
		return XDP_PASS;
	if ((ip->daddr & bpf_htonl(0xff800000)) == bpf_htonl(0x0a000000))
		return XDP_DROP;
	return XDP_PASS;
}
