/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_track.h - per-flow TCP state tracking: flow lookup from either
 * direction, the endpoint state machines (include/sg_flow.h), events.
 */
#ifndef SG_TRACK_H
#define SG_TRACK_H

#include "synguard.h"
#include "sg_parse.h"
#include "sg_maps.h"

#define SG_TRACK_INGRESS 0x1
#define SG_TRACK_EGRESS	 0x2
#define SG_TRACK_COOKIE	 0x4	/* a valid synguard cookie ACK */

static __always_inline void sg_track(struct sg_pkt *p, struct sg_counters *c, __u32 how)
{
}

#endif /* SG_TRACK_H */
