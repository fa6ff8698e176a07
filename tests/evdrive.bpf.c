// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * evdrive.bpf.c - the events benchmark's driver (build/bench_ns --events,
 * make bench phase 3). BPF_PROG_TEST_RUN runs it `repeat` times on one
 * IPv4 SYN frame, the template; each run writes the next new 4-tuple into
 * the frame (the same ones the driver made frame by frame before: source
 * 10.98.(i / 64000), source port 1024 + i % 64000, ISN i * 2654435761),
 * fixes both checksums from sums userspace took over the rest of the
 * template, and tail-calls the XDP program of a running synguard (slot 0
 * of `target`, put there by bench_ns): one new flow, one event per run.
 *
 * One syscall per SYN (1.1-2.2 us each on the benchmark VM even for an
 * XDP_PASS program) capped the benchmark below the event rates it was to
 * measure; this way the syscall is paid once per `repeat` SYNs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "csum.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ED_IP	14	/* untagged Ethernet */
#define ED_TCP	(ED_IP + 20)

/* set by bench_ns before load: the one's-complement sums (of native 16-bit
 * words) of the template's IPv4 header and of its TCP pseudo-header and
 * segment, with the source address, source port and ISN zero */
const volatile struct {
	__u32 ip_sum, tcp_sum;
} ed_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target SEC(".maps");

/* one run at a time, on one CPU: plain increments */
struct {
	__u64 made;		/* frames written */
	__u64 tail_failed;	/* runs whose tail call did not happen */
} ed_stats = {};

SEC("xdp")
int evdrive(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u8 *f = data;
	__u64 i = ed_stats.made++;
	__u32 saddr, seq;
	__u16 sport;

	if (data + ED_TCP + 20 > end)
		return XDP_ABORTED;
	saddr = bpf_htonl(0x0a620000 | (__u32)(i / 64000));
	sport = bpf_htons(1024 + i % 64000);
	seq = bpf_htonl((__u32)i * 2654435761u);
	*(__u32 *)(f + ED_IP + 12) = saddr;
	*(__u16 *)(f + ED_TCP) = sport;
	*(__u32 *)(f + ED_TCP + 4) = seq;
	*(__u16 *)(f + ED_IP + 10) = fold(ed_cfg.ip_sum + halves(saddr));
	*(__u16 *)(f + ED_TCP + 16) = fold(ed_cfg.tcp_sum + halves(saddr) + sport + halves(seq));
	bpf_tail_call(ctx, &target, 0);
	ed_stats.tail_failed++;
	return XDP_ABORTED;
}
