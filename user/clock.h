/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * clock.h - CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns(), so
 * userspace timers compare directly with times the programs recorded.
 * Controllers never read it themselves: the loop passes "now" to their
 * tick functions, and tests pass a fake one.
 */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

#include <time.h>
#include <linux/types.h>

static inline __u64 sg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#endif /* SG_CLOCK_H */
