/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_maps.h - the maps shared by synguard's programs and the per-CPU
 * counter helper.
 */
#ifndef SG_MAPS_H
#define SG_MAPS_H

#include "synguard.h"

/* Per-CPU packet counters and drop/loss reasons, indexed by enum sg_counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_counters);
} sg_counters SEC(".maps");

/* State transitions, summaries, alerts: one fixed-size struct sg_event each. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);	/* 16 MiB: ~190k events */
} sg_events SEC(".maps");

static __always_inline struct sg_counters *sg_cnt(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sg_counters, &zero);
}

static __always_inline void sg_count(struct sg_counters *c, __u32 idx)
{
	if (c && idx < SG_CNT_MAX)
		c->c[idx]++;
}

#endif /* SG_MAPS_H */
