/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * prog_maps.h - a map of a loaded program, found by name through the
 * program's map ids: how the test tools (flowfill.c) and the benchmark's
 * driver (tests/bench/bench_ns.c) reach synguard's maps without its
 * skeleton.
 */
#ifndef SG_PROG_MAPS_H
#define SG_PROG_MAPS_H

#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

/* An fd of the map called name that prog_fd uses (the caller closes it), or -1. */
static int map_fd_by_name(int prog_fd, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 ids[64], len = sizeof(info);

	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -1;
	for (__u32 i = 0; i < info.nr_map_ids && i < 64; i++) {
		struct bpf_map_info mi = {};
		__u32 ml = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &ml) && !strcmp(mi.name, name))
			return fd;
		close(fd);
	}
	return -1;
}

#endif /* SG_PROG_MAPS_H */
