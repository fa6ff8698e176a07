/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_policy.h - the operator's policy at XDP, in this order:
 *
 *   deny  -> the source is on --deny: XDP_DROP (drop_denied), nothing else runs
 *   allow -> the source is on --allow: its SYNs go to the kernel, never a
 *            cookie nor a limit; its flows are tracked
 *   limit -> a SYN over --syn-limit for its source prefix: XDP_DROP
 *            (drop_syn_limited, bpf/sg_limit.h)
 *   cap   -> a SYN whose SYN-ACK would pass --synack-cap for the
 *            source's /24 or /48: XDP_DROP (drop_synack_capped, sg_limit.h)
 *   cookies (sg_synproxy.h) -> tracking (sg_track.h)
 */
#ifndef SG_POLICY_H
#define SG_POLICY_H

#include "sg_maps.h"
#include "sg_parse.h"

enum sg_pol {
	SG_POL_NONE = 0,	/* on no list */
	SG_POL_ALLOW,		/* on --allow */
	SG_POL_DENY,		/* on --deny: drop */
};

/* The source's place in the deny and allow lists (enum sg_pol). */
static __always_inline int sg_policy_src(const struct sg_pkt *p, struct sg_counters *c)
{
	(void)p;
	(void)c;
	return SG_POL_NONE;	/* (the lists: to come) */
}

#endif /* SG_POLICY_H */
