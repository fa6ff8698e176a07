// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_prog.c - tier 2: crafted frames through the real programs with
 * BPF_PROG_TEST_RUN. Usage: test_prog [parse|track|syncookie|metrics|fleet|policy]...
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} groups[] = {
		{ "parse", test_parse },
		{ "track", test_track },
		{ "syncookie", test_syncookie },
		{ "metrics", test_metrics },
		{ "fleet", test_fleet },
		{ "limit", test_limit },
		{ "policy", test_policy },
	};

	if (geteuid() != 0) {
		check_skip("prog: BPF_PROG_TEST_RUN needs root");
		return check_summary("prog");
	}
	libbpf_set_print(quiet_print);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		bool run = argc < 2;

		for (int a = 1; a < argc; a++)
			run |= !strcmp(argv[a], groups[i].name);
		if (!run)
			continue;
		printf("[%s]\n", groups[i].name);
		groups[i].fn();
	}
	return check_summary("prog");
}
