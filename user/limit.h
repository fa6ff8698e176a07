/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * limit.h - userspace of the per-source SYN limit and the reflection cap
 * (bpf/sg_limit.h): their maps' sizes before load, and the sources the
 * limit cuts, named in the stats line, its JSON and the exit summary.
 */
#ifndef SG_LIMIT_USER_H
#define SG_LIMIT_USER_H

#include <stdbool.h>
#include <stddef.h>
#include "synguard.h"

struct sg_config;
struct synguard_bpf;
struct sg_json;

#define SG_LIMIT_TOP 5	/* sources named at most */

/* One source prefix the limit dropped SYNs of. */
struct sg_limited {
	struct sg_src_key key;
	__u64 drops;	/* since the previous stats line, or since it was first seen */
};

/* What the previous stats line's scan saw (each limited source's total). */
struct sg_limit_hist;
struct sg_limit_hist *sg_limit_hist_new(void);
void sg_limit_hist_free(struct sg_limit_hist *h);

/* Before load: size sg_limit to --syn-limit-table (1 entry when the limit
 * is off) and sg_cap (2 entries when the cap is not in use). 0 or -1. */
int sg_limit_preload(struct synguard_bpf *skel, const struct sg_config *cfg);

/*
 * The sources with the most dropped SYNs, at most max, most first: with
 * since, those dropped since since's scan (a stats line: every source cut
 * in its interval, whatever second of the limit's windows it falls on),
 * and since then holds this scan; without, since each was first seen
 * (the summary; evicted sources are forgotten). Returns how many, or -errno.
 */
int sg_limit_top(int map_fd, struct sg_limit_hist *since, struct sg_limited *top, int max);

/* " limited=10.0.0.7/32:950,fd00::/64:12" (nothing when n == 0). Returns
 * the length written (snprintf's convention). */
int sg_limit_text(const struct sg_limited *top, int n, char *buf, size_t len);
/* "limited":[{"source":"10.0.0.7/32","drops":950},...] (always, [] when n == 0). */
void sg_limit_json(struct sg_json *j, const struct sg_limited *top, int n);

#endif /* SG_LIMIT_USER_H */
