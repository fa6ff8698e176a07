// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * flowfill - fill a running synguard's flow table with synthetic
 * established flows, to measure what a full table costs (the /metrics
 * scrape, the sweeper). No packet is sent: the entries are written into
 * the sg_flows4 map (IPv4 flows) of the XDP program attached to IFACE in the current
 * network namespace (run it with `ip netns exec NS`).
 *
 *   flowfill --iface IFACE --count N
 *
 * Flows: IPv4 clients 10.250.0.0/16, ports 10000 + i / 65536, to
 * 10.251.0.1:8080, both endpoints ESTABLISHED, last seen now (so the idle
 * timer keeps them). Prints {"filled":N,"seconds":S}.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "synguard.h"
#include "sg_flow.h"
#include "prog_maps.h"

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "iface", 1, 0, 'i' }, { "count", 1, 0, 'n' }, {} };
	const char *iface = NULL;
	long count = 0;
	__u32 prog_id = 0, chunk = 4096;
	int c, ifindex, prog_fd, fd;
	struct sg_flow_key4 *keys;
	struct sg_flow *vals;
	__u64 t0 = mono_ns();
	long done = 0;

	while ((c = getopt_long(argc, argv, "i:n:", lo, NULL)) != -1) {
		if (c == 'i')
			iface = optarg;
		else if (c == 'n')
			count = atol(optarg);
		else
			return 2;
	}
	if (!iface || count <= 0 || count > 16777216) {
		fprintf(stderr, "usage: flowfill --iface IFACE --count N (1..16777216)\n");
		return 2;
	}
	ifindex = if_nametoindex(iface);
	if (!ifindex || bpf_xdp_query_id(ifindex, 0, &prog_id) || !prog_id) {
		fprintf(stderr, "flowfill: no XDP program on %s\n", iface);
		return 1;
	}
	prog_fd = bpf_prog_get_fd_by_id(prog_id);
	fd = prog_fd < 0 ? -1 : map_fd_by_name(prog_fd, "sg_flows4");
	if (fd < 0) {
		fprintf(stderr, "flowfill: %s's XDP program has no sg_flows4 map\n", iface);
		return 1;
	}
	keys = calloc(chunk, sizeof(*keys));
	vals = calloc(chunk, sizeof(*vals));
	if (!keys || !vals)
		return 1;
	while (done < count) {
		__u32 n = count - done < chunk ? count - done : chunk;
		__u64 now = mono_ns();
		LIBBPF_OPTS(bpf_map_batch_opts, o);

		for (__u32 i = 0; i < n; i++) {
			long id = done + i;
			struct sg_flow_key4 *k = &keys[i];
			struct sg_flow *f = &vals[i];

			memset(k, 0, sizeof(*k));
			memset(f, 0, sizeof(*f));
			/* lo = the server 10.251.0.1:8080, hi = client 10.250.x.y:port */
			k->addr_lo = htonl(0x0afb0001);
			k->addr_hi = htonl(0x0afa0000 | (id & 0xffff));
			k->port_lo = 8080;
			k->port_hi = 10000 + (id >> 16);
			f->start_ns = now;
			f->client_is_lo = 0;
			f->state[SG_SIDE_CLIENT] = SG_ESTABLISHED;
			f->state[SG_SIDE_SERVER] = SG_ESTABLISHED;
			f->isn[0] = 1000;
			f->isn[1] = 2000;
			f->snd_nxt[0] = 1001;
			f->snd_nxt[1] = 2001;
			f->priv = SG_FP_ISN(0) | SG_FP_ISN(1) | SG_FP_NXT(0) | SG_FP_NXT(1);
			f->pkts[0] = f->pkts[1] = 2;
		}
		if (bpf_map_update_batch(fd, keys, vals, &n, &o)) {
			fprintf(stderr, "flowfill: update after %ld entries: %s\n", done + n, strerror(errno));
			return 1;
		}
		done += n;
	}
	printf("{\"filled\":%ld,\"seconds\":%.3f}\n", done, (mono_ns() - t0) / 1e9);
	return 0;
}
