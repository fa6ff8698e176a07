/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* counters.h - the programs' per-CPU counters (enum sg_counter), summed. */
#ifndef SG_COUNTERS_H
#define SG_COUNTERS_H

#include <linux/types.h>

/* Sum the per-CPU sg_counters map (fd) into out[SG_CNT_MAX]; out is zeroed
 * first. 0 or -errno. */
int sg_counters_read(int map_fd, __u64 *out);

#endif /* SG_COUNTERS_H */
