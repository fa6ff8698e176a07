/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tool_safety.h - what the two flood generators (synflood.c: AF_PACKET,
 * xdpgen.c: BPF_PROG_TEST_RUN live frames) share: the refusal, the strict
 * option parsers and the first safety rule, never in the initial network
 * namespace. Each defines TOOL_NAME ("synflood", "xdpgen") and
 * EXIT_REFUSE before including it.
 */
#ifndef SG_TOOL_SAFETY_H
#define SG_TOOL_SAFETY_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Print "TOOL: refusing: ..." and exit with EXIT_REFUSE. */
static void die_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_refuse(const char *fmt, ...)
{
	va_list ap;

	fputs(TOOL_NAME ": refusing: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_REFUSE);
}

/* Digits only (no sign, no blank), min..max; 0 or -1. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* aa:bb:cc:dd:ee:ff, nothing after it; 0 or -1. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char extra;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &extra) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/*
 * Refuse to run in the initial network namespace: its inode is
 * PROC_NET_INIT_INO (include/linux/proc_ns.h, fixed since Linux 3.8), and
 * where PID 1's namespace can be read, ours must differ from it.
 */
#define PROC_NET_INIT_INO 0xEFFFFFF9U

static void check_netns(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/net", &self) != 0)
		die_refuse("cannot stat /proc/self/ns/net: %s", strerror(errno));
	if (self.st_ino == PROC_NET_INIT_INO)
		die_refuse("running in the initial network namespace (netns inode "
			   "%lu is init_net). Run it inside a test namespace: "
			   "ip netns exec NS " TOOL_NAME " ...",
			   (unsigned long)self.st_ino);
	if (stat("/proc/1/ns/net", &init) != 0) {
		if (errno != EACCES && errno != EPERM)
			die_refuse("cannot stat /proc/1/ns/net (%s); cannot prove we "
				   "are outside the initial network namespace",
				   strerror(errno));
		/* PID 1 not inspectable (no ptrace access): the init_net inode
		 * check above already proved we are not in the initial netns. */
		fprintf(stderr, TOOL_NAME ": note: /proc/1/ns/net not readable (%s); "
			"relying on the init_net inode check\n", strerror(errno));
		return;
	}
	if (self.st_ino == init.st_ino && self.st_dev == init.st_dev)
		die_refuse("running in the initial network namespace (same netns "
			   "as PID 1). Run it inside a test namespace: "
			   "ip netns exec NS " TOOL_NAME " ...");
}

#endif /* SG_TOOL_SAFETY_H */
