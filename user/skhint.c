// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * skhint.c - userspace's half of the socket hint (skhint.h,
 * include/sg_skhint.h): marks every TCP socket that is not a listener, from
 * /proc/net/tcp and /proc/net/tcp6 of synguard's network namespace (the
 * interface's), into the map's mmap. Slots are single bytes that BPF and
 * this code only ever set to a current epoch, so plain byte stores race
 * harmlessly with the programs' own.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "sg_skhint.h"
#include "clock.h"
#include "skhint.h"

struct sg_skhint_user {
	struct sg_skhint *map;
	size_t len;
	__u64 last_ns;
	int warned;
};

struct sg_skhint_user *sg_skhint_open(int map_fd)
{
	struct sg_skhint_user *h;
	long page = sysconf(_SC_PAGESIZE);

	if (map_fd < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->len = (sizeof(struct sg_skhint) + page - 1) / page * page;
	h->map = mmap(NULL, h->len, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (h->map == MAP_FAILED) {
		free(h);
		return NULL;
	}
	return h;
}

void sg_skhint_close(struct sg_skhint_user *h)
{
	if (!h)
		return;
	munmap(h->map, h->len);
	free(h);
}

/* One /proc/net/tcp{,6} address "HEX:PORT": the address words as the
 * kernel printed them (%08X of each network-order word read as a native
 * one: strtoul gives that native value back), the port in host order. */
static int parse_addr(const char *s, int words, __u32 *a, __u16 *port)
{
	char w[9];
	int i;

	for (i = 0; i < words; i++) {
		memcpy(w, s + 8 * i, 8);
		w[8] = 0;
		a[i] = (__u32)strtoul(w, NULL, 16);
	}
	if (s[8 * words] != ':')
		return -1;
	*port = (__u16)strtoul(s + 8 * words + 1, NULL, 16);
	return 0;
}

static int dump_file(struct sg_skhint_user *h, const char *path, int family, __u8 e)
{
	char line[512], la[64], ra[64];
	unsigned st;
	int n = 0, words = family == 4 ? 1 : 4;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? 0 : -errno;	/* (no IPv6) */
	if (!fgets(line, sizeof(line), f)) {	/* the header */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		__u32 l[4] = {}, r[4] = {};
		__u16 lp, rp;

		if (sscanf(line, "%*d: %63s %63s %x", la, ra, &st) != 3 || st == 0x0a /* LISTEN */)
			continue;
		if (parse_addr(la, words, l, &lp) || parse_addr(ra, words, r, &rp))
			continue;
		h->map->slot[sg_skhint_slot(family, r, l, rp, lp)] = e;
		/* an IPv4 peer of a dual-stack socket (::ffff:a.b.c.d): its
		 * packets are IPv4 */
		if (family == 6 && !r[0] && !r[1] && r[2] == htonl(0xffff)) {
			__u32 r4[4] = { r[3] }, l4[4] = { l[3] };

			h->map->slot[sg_skhint_slot(4, r4, l4, rp, lp)] = e;
		}
		n++;
	}
	fclose(f);
	return n;
}

/* The programs' clock (bpf_ktime_get_coarse_ns()): a dump's epoch must
 * never be ahead of theirs by more than sg_skhint_recent() allows. */
static __u64 coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

int sg_skhint_dump(struct sg_skhint_user *h)
{
	/* the epoch when the dump starts: every socket older than that is
	 * in it, and every one made since was marked by the programs */
	__u64 t = coarse_ns();
	__u8 e = sg_skhint_epoch(t);
	int n4, n6;

	if (!h)
		return -EINVAL;
	n4 = dump_file(h, "/proc/net/tcp", 4, e);
	n6 = dump_file(h, "/proc/net/tcp6", 6, e);
	if (n4 < 0 || n6 < 0)
		return n4 < 0 ? n4 : n6;	/* not armed: lookups as before */
	__atomic_store_n(&h->map->armed, sg_skhint_epoch32(t), __ATOMIC_RELEASE);
	return n4 + n6;
}

void sg_skhint_tick(struct sg_skhint_user *h, __u64 now)
{
	if (!h || (h->last_ns && now - h->last_ns < SG_SKHINT_DUMP_S * 1000000000ull))
		return;
	h->last_ns = now;
	if (sg_skhint_dump(h) < 0 && !h->warned) {
		h->warned = 1;
		fprintf(stderr, "synguard: cannot read /proc/net/tcp: the socket hint is off "
			"(every SYN gets a socket lookup)\n");
	}
}
