/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_histo.h - what the programs record for /metrics beyond the
 * counters: the handshake halves of each completed handshake, as log2
 * histograms per server port (include/sg_metrics.h, map sg_hs_hist).
 * Recorded where the tracker computes them: when a server endpoint reaches
 * ESTABLISHED through the handshake's ACK (once per handshake; midstream
 * and cookie flows have no halves).
 */
#ifndef SG_HISTO_H
#define SG_HISTO_H

#include "synguard.h"
#include "sg_flow.h"
#include "sg_metrics.h"
#include "sg_maps.h"

static __always_inline void sg_hs_add(struct sg_hs_half_hist *h, __u32 us)
{
	__u32 b = sg_hist_bucket(us, SG_HS_SHIFT, SG_HS_BUCKETS);

	h->sum_us += us;
	if (b < SG_HS_BUCKETS)	/* (always: for the verifier) */
		h->bucket[b]++;
}

/*
 * After a segment's transitions (out) on flow f (key k): if the server
 * endpoint completed the handshake, count its two halves under the server
 * port's histogram (its own entry, a new one while the map has room, else
 * "other"). A global function: verified once, off the caller's stack.
 */
__noinline int sg_hs_observe(const struct sg_flow_key *k, const struct sg_flow *f,
			     const struct sg_fsm_out *out)
{
	struct sg_hs_hist *h;
	__u32 port, zero = 0;
	void *z;
	int i, done = 0;

	if (!k || !f || !out)
		return 0;
#pragma unroll
	for (i = 0; i < SG_FSM_MAX_TR; i++)
		if (i < out->n && out->tr[i].side == SG_SIDE_SERVER && out->tr[i].to == SG_ESTABLISHED &&
		    out->tr[i].cause == SG_CAUSE_ACK)
			done = 1;
	if (!done)
		return 0;
	port = f->client_is_lo ? k->port_hi : k->port_lo;
	h = bpf_map_lookup_elem(&sg_hs_hist, &port);
	if (!h) {
		z = bpf_map_lookup_elem(&sg_hs_zero, &zero);
		/* full (or a fixed port list): the insert fails, "other" counts it */
		if (z && !bpf_map_update_elem(&sg_hs_hist, &port, z, BPF_NOEXIST))
			h = bpf_map_lookup_elem(&sg_hs_hist, &port);
		else
			h = bpf_map_lookup_elem(&sg_hs_hist, &port);	/* another CPU's insert */
		if (!h) {
			port = SG_HS_OTHER;
			h = bpf_map_lookup_elem(&sg_hs_hist, &port);
		}
	}
	if (!h)
		return 0;
	sg_hs_add(&h->half[SG_HS_SYN_SYNACK], f->rtt_syn_us);
	sg_hs_add(&h->half[SG_HS_SYNACK_ACK], f->rtt_ack_us);
	return 1;
}

#endif /* SG_HISTO_H */
