// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* counters.c - read the per-CPU counter array. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "synguard.h"
#include "counters.h"

int sg_counters_read(int map_fd, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sg_counters *vals;
	__u32 zero = 0;
	int err;

	memset(out, 0, sizeof(__u64) * SG_CNT_MAX);
	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	err = bpf_map_lookup_elem(map_fd, &zero, vals) ? -errno : 0;
	if (!err)
		for (int cpu = 0; cpu < ncpu; cpu++)
			for (int i = 0; i < SG_CNT_MAX; i++)
				out[i] += vals[cpu].c[i];
	free(vals);
	return err;
}
