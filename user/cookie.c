// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* cookie.c - SYN-cookie mode setup, secret rotation, per-port summaries. */
#include <stdio.h>

#include "sg_user.h"
#include "synguard.skel.h"

int sg_cookie_preload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	if (cfg->mode != SG_MODE_MONITOR) {
		fprintf(stderr, "synguard: --mode protect/auto is not available yet\n");
		return -1;
	}
	return 0;
}

int sg_cookie_postload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	return 0;
}

void sg_cookie_tick(struct synguard_bpf *skel, const struct sg_config *cfg, __u64 now_ns)
{
}

void sg_cookie_summary(struct synguard_bpf *skel, const struct sg_config *cfg)
{
}
