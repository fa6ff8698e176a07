// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * xdp_pass.bpf.c - a trivial XDP_PASS program: the baseline for the ns/packet
 * benchmarks, and the program on the client-side veth peer in tests (a veth
 * receiving XDP_TX frames needs an XDP program on its peer).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
