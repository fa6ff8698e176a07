// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_metrics.c - the handshake histograms kept in BPF (sg_hs_hist):
 * real handshakes through sg_xdp (client segments) and sg_tc_egress (the
 * server's), one observation per half and handshake under the server
 * port, the bounded port set ("other" once the map is full, and with a
 * fixed -p list), and what /metrics makes of it (sg_metrics_collect on
 * the loaded maps).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "metrics.h"
#include "output.h"
#include "track.h"

static struct h_ctx H;

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
static struct sg_config mcfg;

static void configure(struct synguard_bpf *skel, void *arg)
{
	(void)arg;
	bpf_map__set_max_entries(skel->maps.sg_flows4, 4096);
	bpf_map__set_max_entries(skel->maps.sg_flows, 4096);
	bpf_map__set_max_entries(skel->maps.sg_halfopen, 4096);
	sg_metrics_preload(skel, &mcfg);
}

static int run(int from_client, __u16 cport, __u16 sport, __u8 flags, __u32 seq, __u32 ack)
{
	struct h_pkt p = { .family = 4, .saddr = from_client ? "10.0.0.2" : "10.0.0.1",
			   .daddr = from_client ? "10.0.0.1" : "10.0.0.2", .sport = from_client ? cport : sport,
			   .dport = from_client ? sport : cport, .seq = seq, .ack = ack, .flags = flags };
	__u8 buf[H_MAX_FRAME];
	struct h_run r;
	int n = h_build(&p, buf, sizeof(buf));

	return from_client ? h_run_xdp(bpf_program__fd(H.skel->progs.sg_xdp), buf, n, &r)
			   : h_run_tc(bpf_program__fd(H.skel->progs.sg_tc_egress), buf, n, &r);
}

/* SYN, SYN-ACK, ACK; then the client's FIN and the rest of a close. */
static void handshake(__u16 cport, __u16 sport)
{
	run(1, cport, sport, SG_TCP_SYN, 1000, 0);
	run(0, cport, sport, SG_TCP_SYN | SG_TCP_ACK, 5000, 1001);
	run(1, cport, sport, SG_TCP_ACK, 1001, 5001);
}

/* Summed observations of port's histogram (count of one half, sum). */
static __u64 observed(__u32 port, int half, __u64 *sum_us)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sg_hs_hist *v = calloc(ncpu, sizeof(*v));
	__u64 n = 0;

	*sum_us = 0;
	if (v && !bpf_map_lookup_elem(bpf_map__fd(H.skel->maps.sg_hs_hist), &port, v))
		for (int c = 0; c < ncpu; c++) {
			*sum_us += v[c].half[half].sum_us;
			for (int b = 0; b < SG_HS_BUCKETS; b++)
				n += v[c].half[half].bucket[b];
		}
	free(v);
	return n;
}

static void test_first_ports(void)
{
	__u64 sum, n;
	int ok = 1;

	sg_config_defaults(&mcfg);
	if (!CHECK(!h_open(&H, configure, NULL), "load (no -p/--ports)"))
		return;
	CHECK(bpf_map__max_entries(H.skel->maps.sg_hs_hist) == SG_HS_PORTS_DEFAULT + 1,
	      "sg_hs_hist sized %u: %d ports + other", bpf_map__max_entries(H.skel->maps.sg_hs_hist),
	      SG_HS_PORTS_DEFAULT);
	CHECK(!sg_metrics_postload(H.skel, &mcfg), "postload writes \"other\"");
	for (int i = 0; i < 3; i++)
		handshake(40000 + i, 8080);
	n = observed(8080, SG_HS_SYN_SYNACK, &sum);
	CHECK(n == 3, "3 handshakes to 8080: 3 syn_synack observations (%llu)", (unsigned long long)n);
	n = observed(8080, SG_HS_SYNACK_ACK, &sum);
	CHECK(n == 3, "and 3 synack_ack observations (%llu, sum %llu us)", (unsigned long long)n,
	      (unsigned long long)sum);
	/* a retransmitted ACK and data: no further observation */
	run(1, 40000, 8080, SG_TCP_ACK, 1001, 5001);
	run(1, 40000, 8080, SG_TCP_ACK | SG_TCP_PSH, 1001, 5001);
	CHECK(observed(8080, SG_HS_SYN_SYNACK, &sum) == 3, "segments after the handshake add nothing");
	/* more ports than slots: the first SG_HS_PORTS_DEFAULT get their own */
	for (int p = 0; p < SG_HS_PORTS_DEFAULT + 4; p++)
		handshake(41000, 9000 + p);
	for (int p = 0; p < SG_HS_PORTS_DEFAULT - 1; p++)
		ok &= observed(9000 + p, SG_HS_SYN_SYNACK, &sum) == 1;
	CHECK(ok, "ports 9000..%d: one observation each, their own entry", 9000 + SG_HS_PORTS_DEFAULT - 2);
	n = observed(SG_HS_OTHER, SG_HS_SYN_SYNACK, &sum);
	CHECK(n == 5 && observed(9000 + SG_HS_PORTS_DEFAULT - 1, SG_HS_SYN_SYNACK, &sum) == 0,
	      "the 5 ports beyond the map's room: under \"other\" (%llu)", (unsigned long long)n);

	/* what a scrape makes of it */
	{
		struct sg_track_maps tm = { .flows4 = bpf_map__fd(H.skel->maps.sg_flows4),
					    .flows = bpf_map__fd(H.skel->maps.sg_flows),
					    .halfopen = bpf_map__fd(H.skel->maps.sg_halfopen),
					    .quiet_ports = bpf_map__fd(H.skel->maps.sg_quiet_ports),
					    .syn_rate = bpf_map__fd(H.skel->maps.sg_syn_rate),
					    .counters = bpf_map__fd(H.skel->maps.sg_counters),
					    .ho_count = bpf_map__fd(H.skel->maps.sg_ho_count) };
		struct sg_out_opts oo = { .json = true };
		FILE *devnull = fopen("/dev/null", "w");
		struct sg_out *out = sg_out_new(devnull, &oo);
		struct sg_tracker *trk = sg_tracker_new(&tm, &mcfg, out);
		struct sg_metrics_src src = { .counters = tm.counters, .ck_stats = bpf_map__fd(H.skel->maps.sg_ck_stats),
					      .ck_slots = bpf_map__fd(H.skel->maps.sg_ck_slots),
					      .hs_hist = bpf_map__fd(H.skel->maps.sg_hs_hist), .trk = trk,
					      .out = out, .cfg = &mcfg };
		struct sg_metrics_snap s;
		char *t = NULL;
		size_t len;

		char want[128];

		sg_tracker_tick(trk, mono_ns());	/* one sweep: counts by side and state */
		snprintf(want, sizeof(want), "synguard_endpoints{side=\"server\",state=\"ESTABLISHED\"} %d\n",
			 3 + SG_HS_PORTS_DEFAULT + 4);
		if (CHECK(!sg_metrics_collect(&src, &s), "collect from the loaded maps")) {
			t = sg_metrics_format(&s, false, &len);
			CHECK(s.nhs == SG_HS_PORTS_DEFAULT + 1 && s.hs[s.nhs - 1].port == SG_HS_OTHER,
			      "%d histogram ports, \"other\" last", s.nhs);
			CHECK(t && strstr(t, "synguard_handshake_seconds_count{port=\"8080\",half=\"synack_ack\"} 3\n") &&
				      strstr(t, "synguard_handshake_seconds_count{port=\"other\",half=\"syn_synack\"} 5\n"),
			      "exposed: port 8080 x3, other x5");
			CHECK(t && strstr(t, want), "exposed: the sweep's %d server endpoints ESTABLISHED",
			      3 + SG_HS_PORTS_DEFAULT + 4);
			free(t);
			sg_metrics_snap_free(&s);
		}
		sg_tracker_free(trk);
		sg_out_free(out);
		fclose(devnull);
	}
	h_close(&H);
}

static void test_fixed_ports(void)
{
	__u64 sum;

	sg_config_defaults(&mcfg);
	mcfg.nports = 1;
	mcfg.ports[0] = 8443;		/* -p 8443 */
	mcfg.nprot_ports = 2;
	mcfg.prot_ports[0] = 8443;	/* --ports 8443,8080 (8443 once) */
	mcfg.prot_ports[1] = 8080;
	if (!CHECK(!h_open(&H, configure, NULL), "load (-p 8443 --ports 8443,8080)"))
		return;
	CHECK(bpf_map__max_entries(H.skel->maps.sg_hs_hist) == 3, "sg_hs_hist sized 3: 8443, 8080, other");
	CHECK(!sg_metrics_postload(H.skel, &mcfg), "postload writes the listed ports and \"other\"");
	handshake(40000, 8080);
	handshake(40001, 9999);
	CHECK(observed(8080, SG_HS_SYN_SYNACK, &sum) == 1, "a listed port: its own histogram");
	CHECK(observed(SG_HS_OTHER, SG_HS_SYN_SYNACK, &sum) == 1 && observed(9999, SG_HS_SYN_SYNACK, &sum) == 0,
	      "an unlisted port: \"other\", never an entry of its own");
	h_close(&H);
}

void test_metrics(void)
{
	test_first_ports();
	test_fixed_ports();
}
