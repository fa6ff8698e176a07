// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* track.c - flow tracking setup, the expiry sweeper, alerts, state counts. */
#include <stdio.h>

#include "sg_user.h"
#include "synguard.skel.h"

int sg_track_preload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	return 0;
}

int sg_track_postload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	return 0;
}

void sg_track_tick(struct synguard_bpf *skel, const struct sg_config *cfg, __u64 now_ns)
{
}

void sg_track_summary(struct synguard_bpf *skel, const struct sg_config *cfg)
{
}
