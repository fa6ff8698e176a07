/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_metrics.h - the log2 histograms behind /metrics (--metrics), shared by
 * the BPF programs (handshake halves, per server port) and userspace (the
 * renderer; flow durations). Pure C, no libc: compiles in BPF and in
 * userspace.
 *
 * A histogram is an array of SG_*_BUCKETS counts: bucket i (i < n - 1)
 * counts values v with 2^(i + shift - 1) < v <= 2^(i + shift) (bucket 0:
 * v <= 2^shift), the last bucket the values above 2^(n - 2 + shift): the
 * upper bounds are Prometheus' "le" and exact powers of two of the unit.
 * The count is the sum of the buckets (never kept apart, so it always
 * equals the +Inf bucket, even in a snapshot read while CPUs count).
 */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include "sg_types.h"

/* Handshake halves (SYN -> SYN-ACK, SYN-ACK -> ACK), in microseconds:
 * le = 8 us, 16 us, ... 2^25 us (33.6 s), +Inf. */
#define SG_HS_SHIFT		3
#define SG_HS_BUCKETS		24
/* Ports with a handshake histogram of their own: the first N server ports
 * seen, or those of -p/--ports; the rest are counted under port 0
 * ("other"). */
#define SG_HS_PORTS_DEFAULT	16
#define SG_HS_OTHER		0

enum sg_hs_half {
	SG_HS_SYN_SYNACK = 0,	/* rtt_syn_us */
	SG_HS_SYNACK_ACK,	/* rtt_ack_us */
	SG_HS_HALVES,
};

struct sg_hs_half_hist {
	__u64 sum_us;
	__u64 bucket[SG_HS_BUCKETS];
};

/* The value of sg_hs_hist (per-CPU hash, key: __u32 server port, 0 = other). */
struct sg_hs_hist {
	struct sg_hs_half_hist half[SG_HS_HALVES];
};

/* Flow durations (an endpoint's ESTABLISHED -> CLOSED), in milliseconds:
 * le = 1 ms, 2 ms, ... 2^24 ms (4.66 h), +Inf. */
#define SG_DUR_SHIFT		0
#define SG_DUR_BUCKETS		26

/* Number of significant bits of x (0 for 0), branch-only (no clz in BPF). */
SG_INLINE __u32 sg_bits64(__u64 x)
{
	__u32 n = 0;

	if (x >> 32) { n += 32; x >>= 32; }
	if (x >> 16) { n += 16; x >>= 16; }
	if (x >> 8) { n += 8; x >>= 8; }
	if (x >> 4) { n += 4; x >>= 4; }
	if (x >> 2) { n += 2; x >>= 2; }
	if (x >> 1) { n += 1; x >>= 1; }
	return n + (__u32)x;
}

/* The bucket of v: the smallest i with v <= 2^(i + shift), at most n - 1. */
SG_INLINE __u32 sg_hist_bucket(__u64 v, __u32 shift, __u32 n)
{
	__u32 i;

	if (v <= (1ull << shift))
		return 0;
	i = sg_bits64((v - 1) >> shift);
	return i < n - 1 ? i : n - 1;
}

#endif /* SG_METRICS_H */
