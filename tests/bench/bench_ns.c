// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bench_ns.c - ns/packet of synguard's XDP paths through BPF_PROG_TEST_RUN
 * (part of `make bench`; run by tests/bench.sh inside its own netns).
 *
 * Method: one packet per BPF_PROG_TEST_RUN call (repeat = 1), so every
 * timed run processes exactly the frame it claims to (an XDP SYN -> SYN-ACK
 * rewrite changes the buffer; with repeat > 1 the kernel would run the
 * program again on its own SYN-ACK). The kernel's `duration` for one run is
 * the program plus the test runner's fixed cost (two ktime reads, the
 * migrate/RCU bracket); that fixed cost is removed by subtracting the same
 * measurement of a trivial XDP_PASS program (build/xdp_pass.bpf.o).
 * Per case: --calls runs per round, the median duration of each round, the
 * median over --rounds rounds. Pinned to one CPU (sched_setaffinity).
 *
 * Cases:
 *   xdp_pass             XDP_PASS baseline, the 74-byte SYN
 *   synack / synack6     protect mode, Linux's SYN (MSS, SACK, TS, WS) ->
 *                        XDP_TX; the SYN-ACK is verified (flags, ack, checksums);
 *                        each call's SYN from another /24 (/48), and the
 *                        reflection cap on as by default (--synack-cap 5000)
 *   ack_valid            protect mode, the handshake-completing ACK (NOP NOP TS)
 *                        whose ack-1 is a cookie from a real SYN-ACK; every
 *                        run a new 4-tuple (cookie check + metadata + new
 *                        tracked flow), XDP_PASS
 *   ack_valid_repeat     the same valid ACK again and again (flow exists)
 *   ack_invalid          protect mode, ACK with a wrong cookie, no socket ->
 *                        XDP_DROP
 *   track_established    monitor mode, in-order data segments (100 bytes,
 *                        TS) of a flow made ESTABLISHED by SYN (XDP),
 *                        SYN-ACK (TC egress), ACK (XDP); XDP_PASS
 *   other_port / other_port_ladder
 *                        the same data segments with -p 9999 (another
 *                        port): without and with ladder mode (--ladder),
 *                        whose cost for traffic it does not draw is this
 *                        difference
 * The protect cases need a listener: bench_ns opens one on --port (IPv4 and
 * IPv6) in the current netns, where BPF_PROG_TEST_RUN's socket lookups run.
 *
 * The anchor (--anchor OBJ, see anchor.c): the kernel selftests' XDP
 * SYN-cookie program, timed in the same rounds on the same CPU against the
 * same baseline: anchor_synack/anchor_synack6 on synguard's very SYN
 * frames, anchor_ack_invalid on synguard's bad-cookie ACK, anchor_ack_valid
 * on ACKs built from its own SYN-ACKs (a new 4-tuple each, as ack_valid).
 *
 * Output: one JSON object on stdout; progress on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "sg_cookie.h"
#include "anchor.h"
#include "skhint.h"
#include "../tools/prog_maps.h"

#ifndef XDP_ABORTED
#define XDP_ABORTED 0
#define XDP_DROP 1
#define XDP_PASS 2
#define XDP_TX 3
#endif

#define MAX_CALLS 200000
#define MAX_ROUNDS 51

static int opt_cpu = 0, opt_calls = 20000, opt_rounds = 7, opt_port = 8080;
static const char *opt_pass_obj = "build/xdp_pass.bpf.o";
static const char *opt_driver_obj = "build/evdrive.bpf.o";	/* --events */
static const char *opt_anchor_obj = "build/anchor/xdp_synproxy_kern.bpf.o";

static __u32 *durs;		/* one round's durations */

/* ---- statistics ---- */

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_u32(__u32 *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static double median_dbl(double *v, int n)
{
	double t[MAX_ROUNDS];

	memcpy(t, v, n * sizeof(*v));
	qsort(t, n, sizeof(*t), cmp_dbl);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2.0;
}

struct result {
	const char *name;
	int ok;			/* measured and verified */
	const char *why;	/* when !ok */
	double round_med[MAX_ROUNDS];
	double p90[MAX_ROUNDS];
	int nrounds;
	__u32 expect;		/* XDP verdict every timed run must return */
	long bad_verdicts;
};

static double res_median(const struct result *r)
{
	return median_dbl((double *)r->round_med, r->nrounds);
}

/* Frames for one round: either one frame for all calls or one per call. */
struct frames {
	__u8 *buf;		/* n * H_MAX_FRAME */
	__u32 *len;
	int n;
};

static __u8 *frame_at(struct frames *f, int i)
{
	return f->buf + (size_t)(f->n == 1 ? 0 : i) * H_MAX_FRAME;
}

static __u32 frame_len(struct frames *f, int i)
{
	return f->len[f->n == 1 ? 0 : i];
}

/* Time one round: calls runs of prog_fd, one frame per run. */
static int time_round(int prog_fd, struct frames *f, int calls, struct result *r)
{
	static __u8 out[H_MAX_FRAME];

	for (int i = 0; i < calls; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame_at(f, i),
			    .data_size_in = frame_len(f, i), .data_out = out,
			    .data_size_out = sizeof(out), .repeat = 1);

		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			fprintf(stderr, "bench_ns: %s: BPF_PROG_TEST_RUN: %s\n", r->name, strerror(errno));
			return -1;
		}
		if (o.retval != r->expect)
			r->bad_verdicts++;
		durs[i] = o.duration;
	}
	{
		int k = r->nrounds++;

		r->round_med[k] = median_u32(durs, calls);	/* sorts durs */
		r->p90[k] = durs[(int)(calls * 0.9)];
	}
	return 0;
}

/* ---- frames ---- */

static const __u8 ack_ts_opts_tmpl[12] = { 1, 1, 8, 10 };

static void put_be32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static __u32 get_be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* Offsets of the TCP header in an untagged frame. */
static __u32 tcp_off(const __u8 *f)
{
	return f[12] == 0x86 && f[13] == 0xdd ? 14 + 40 : 14 + (f[14] & 0xf) * 4;
}

/* TSval of a SYN-ACK's TS option; 0 if none. */
static int synack_tsval(const __u8 *f, __u32 len, __u32 *tsval)
{
	__u32 t = tcp_off(f), hl = (f[t + 12] >> 4) * 4, i = 20;

	while (i < hl && t + i < len) {
		__u8 k = f[t + i];

		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		if (i + 1 >= hl || f[t + i + 1] < 2)
			break;
		if (k == 8 && f[t + i + 1] == 10) {
			*tsval = get_be32(f + t + i + 2);
			return 1;
		}
		i += f[t + i + 1];
	}
	return 0;
}

static int build_syn(int family, const char *saddr, __u16 sport, __u32 isn, __u8 *buf)
{
	struct h_pkt p = {
		.family = family, .saddr = saddr,
		.daddr = family == 4 ? "10.0.0.1" : "fd00::1",
		.sport = sport, .dport = opt_port, .seq = isn, .flags = SG_TCP_SYN,
		.opts = h_linux_syn_opts, .optlen = sizeof(h_linux_syn_opts),
	};

	return h_build(&p, buf, H_MAX_FRAME);
}

/* The client's handshake ACK for a SYN-ACK: seq isn+1, ack = cookie+1,
 * NOP NOP TS(tsval+1, synack tsval). */
static int build_ack(int family, const char *saddr, __u16 sport, __u32 isn, __u32 ackno,
		     __u32 tsval, __u32 tsecr, __u32 payload, __u8 *buf)
{
	__u8 o[12];
	struct h_pkt p = {
		.family = family, .saddr = saddr,
		.daddr = family == 4 ? "10.0.0.1" : "fd00::1",
		.sport = sport, .dport = opt_port, .seq = isn + 1, .ack = ackno,
		.flags = SG_TCP_ACK | (payload ? SG_TCP_PSH : 0), .win = 502,
		.opts = o, .optlen = sizeof(o), .payload = payload,
	};

	memcpy(o, ack_ts_opts_tmpl, sizeof(o));
	put_be32(o + 4, tsval);
	put_be32(o + 8, tsecr);
	return h_build(&p, buf, H_MAX_FRAME);
}

/* One SYN per call, the source's /24 (/48) different for each. */
static void syn_frames(struct frames *f, int family, __u32 isn)
{
	f->n = opt_calls;
	f->buf = realloc(f->buf, (size_t)opt_calls * H_MAX_FRAME);
	f->len = realloc(f->len, opt_calls * sizeof(__u32));
	for (int i = 0; i < opt_calls; i++) {
		char sa[48];

		if (family == 4)
			snprintf(sa, sizeof(sa), "11.%u.%u.2", (i >> 8) & 0xff, i & 0xff);
		else
			snprintf(sa, sizeof(sa), "fd00:0:%x::2", i & 0xffff);
		f->len[i] = build_syn(family, sa, 40003, isn, frame_at(f, i));
	}
}

/* ---- protect-mode setup (what user/cookie.c does, for a test run) ---- */

/*
 * Protect mode, a connection established through a cookie (10.0.0.2:40002):
 * its client's data segments, 100 bytes each, all still carrying the
 * cookie's ack number (the server has sent nothing): the tracker's flow
 * record must spare them the cookie check and the socket lookup.
 */
static __u32 pest_isn, pest_ack, pest_tsv;

static void pest_frames(struct frames *f, int round)
{
	for (int i = 0; i < f->n; i++)
		f->len[i] = build_ack(4, "10.0.0.2", 40002, pest_isn + ((__u32)round * f->n + i) * 100,
				      pest_ack, 0x3000 + i, pest_tsv, 100, frame_at(f, i));
}

static void cfg_protect(struct synguard_bpf *skel, void *arg)
{
	struct sg_settings *s = &skel->rodata->sg_cfg;

	(void)arg;
	s->mode = SG_MODE_PROTECT;
	s->explicit_ports = 1;	/* --ports */
	s->allow_ts = 1;
	s->allow_sack = 1;
	s->allow_ws = 1;
	s->wscale = 7;
	/* the reflection cap as synguard loads it by default (--synack-cap
	 * 5000, a fresh seed: user/settings.c), so the SYN path timed here
	 * is the one users run */
	s->synack_cap = SG_SYNACK_CAP_DEFAULT;
	if (getrandom(&s->cap_seed, sizeof(s->cap_seed), 0) != sizeof(s->cap_seed))
		s->cap_seed = 0x5eed;
}

static void cfg_monitor(struct synguard_bpf *skel, void *arg)
{
	(void)arg;
	/* The TC handoff program is only loaded in protect/auto (as synguard does). */
	bpf_program__set_autoload(skel->progs.sg_tc_ingress, false);
}

/* -p 9999, ladder mode on (arg != NULL) or off */
static void cfg_other_port(struct synguard_bpf *skel, void *arg)
{
	struct sg_settings *s = &skel->rodata->sg_cfg;

	s->port_filter = 1;
	s->ladder = arg != NULL;
	bpf_program__set_autoload(skel->progs.sg_tc_ingress, false);
}

static int other_port_open(struct h_ctx *h, int ladder)
{
	__u16 port = 9999;
	__u8 one = 1;

	if (h_open(h, cfg_other_port, ladder ? (void *)1 : NULL))
		return -1;
	return bpf_map_update_elem(bpf_map__fd(h->skel->maps.sg_filter_ports), &port, &one, BPF_ANY);
}

/* The socket hint, dumped as synguard does (user/skhint.c): at start and
 * again each round (synguard: every SG_SKHINT_DUMP_S seconds). */
static struct sg_skhint_user *skh;

static int protect_postload(struct synguard_bpf *skel)
{
	struct sg_cookie_secrets s = {};
	struct sg_port_cfg pc = { .flags = SG_PORT_PROTECTED };
	__u32 zero = 0, port = opt_port;

	if (getrandom(&s.key[0], sizeof(s.key[0]), 0) != sizeof(s.key[0]))
		return -1;
	s.key[0].k0 |= 1;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.sg_ck_secrets), &zero, &s, BPF_ANY))
		return -1;
	skh = sg_skhint_open(bpf_map__fd(skel->maps.sg_sk_hint));
	if (!skh || sg_skhint_dump(skh) < 0)
		fprintf(stderr, "bench_ns: the socket hint is not armed\n");
	return bpf_map_update_elem(bpf_map__fd(skel->maps.sg_ck_ports), &port, &pc, BPF_ANY);
}

/* A listener on the bench port (family 4 or 6). */
static int listen_on(int family)
{
	__u16 port = opt_port;

	return h_listen(family == 4 ? AF_INET : AF_INET6, &port);
}


/* ---- --events PROG_ID: drive synguard's own XDP program ----
 *
 * Runs N distinct SYNs (new 4-tuples) through the XDP program of a running
 * synguard (found by id): each opens a flow and emits one transition
 * (client CLOSED -> SYN_SENT) into synguard's ring buffer, which synguard
 * formats and prints. Measures the time from the first SYN until
 * synguard's consumer position reaches the producer position (everything
 * read), and the ring-buffer loss counter.
 *
 * The SYNs come from tests/evdrive.bpf.c, run by BPF_PROG_TEST_RUN with
 * `repeat`: each run writes the next 4-tuple into the frame and tail-calls
 * synguard's program, so one syscall drives them all. (One syscall per
 * SYN cost 1.1-2.2 us on the benchmark VM even for an XDP_PASS program:
 * the driver, not synguard, was the limit.) */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __u64 lost_events(int cnt_fd)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sg_counters v[ncpu];
	__u32 zero = 0;
	__u64 s = 0;

	if (bpf_map_lookup_elem(cnt_fd, &zero, v))
		return 0;
	for (int i = 0; i < ncpu; i++)
		s += v[i].c[SG_LOSS_RINGBUF];
	return s;
}

#define FRAME_SZ 128	/* a 74-byte SYN, padded */
/* SYNs per BPF_PROG_TEST_RUN call: as many as possible, since a run with
 * repeat > 1 installs the program in the XDP dispatcher before and removes
 * it after, each a synchronize_rcu() (milliseconds asleep) */
#define EV_CHUNK (1u << 30)

/* tests/evdrive.bpf.c's ed_cfg and ed_stats */
struct ed_cfg {
	__u32 ip_sum, tcp_sum;
};
struct ed_stats {
	__u64 made, tail_failed;
};

static struct bpf_map *internal_map(struct bpf_object *obj, const char *suffix)
{
	struct bpf_map *m;
	size_t sl = strlen(suffix);

	bpf_object__for_each_map(m, obj) {
		const char *n = bpf_map__name(m);
		size_t nl = strlen(n);

		if (bpf_map__is_internal(m) && nl >= sl && !strcmp(n + nl - sl, suffix))
			return m;
	}
	return NULL;
}

/* The driver, loaded, with synguard's program prog_fd in its tail-call
 * slot; returns its program fd, sets *bss_fd. */
static int driver_open(const char *path, int prog_fd, const __u8 *frame, struct bpf_object **objp,
		       int *bss_fd)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_map *ro, *bss, *target;
	struct bpf_program *prog;
	struct ed_cfg cfg;
	size_t sz = 0;
	__u32 zero = 0;

	*objp = obj;
	if (!obj)
		return -1;
	ro = internal_map(obj, ".rodata");
	bss = internal_map(obj, ".bss");
	target = bpf_object__find_map_by_name(obj, "target");
	prog = bpf_object__find_program_by_name(obj, "evdrive");
	if (!ro || !bss || !target || !prog || !bpf_map__initial_value(ro, &sz) || sz != sizeof(cfg))
		return -1;
	/* the template's checksums undone: the sums over everything else */
	cfg.ip_sum = (__u16)~*(const __u16 *)(frame + 14 + 10);
	cfg.tcp_sum = (__u16)~*(const __u16 *)(frame + 34 + 16);
	if (bpf_map__set_initial_value(ro, &cfg, sizeof(cfg)) || bpf_object__load(obj))
		return -1;
	if (bpf_map_update_elem(bpf_map__fd(target), &zero, &prog_fd, BPF_ANY)) {
		fprintf(stderr, "bench_ns: cannot put synguard's program into the driver's tail-call slot: %s\n",
			strerror(errno));
		return -1;
	}
	*bss_fd = bpf_map__fd(bss);
	return bpf_program__fd(prog);
}

static int drive_events(__u32 prog_id, long count, const char *driver)
{
	int prog_fd = bpf_prog_get_fd_by_id(prog_id), rb_fd, cnt_fd, drv_fd, bss_fd = -1;
	long page = sysconf(_SC_PAGESIZE), pass = 0;
	volatile unsigned long *cons, *prod;
	struct bpf_object *dobj = NULL;
	struct ed_stats st = {};
	__u64 lost0, lost1;
	__u8 frame[FRAME_SZ];
	double t0, t1, t2;
	__u32 zero = 0;
	int n;

	if (prog_fd < 0) {
		fprintf(stderr, "bench_ns: no BPF program with id %u\n", prog_id);
		return 1;
	}
	rb_fd = map_fd_by_name(prog_fd, "sg_events");
	cnt_fd = map_fd_by_name(prog_fd, "sg_counters");
	if (rb_fd < 0 || cnt_fd < 0) {
		fprintf(stderr, "bench_ns: program %u has no sg_events/sg_counters map\n", prog_id);
		return 1;
	}
	cons = mmap(NULL, page, PROT_READ, MAP_SHARED, rb_fd, 0);
	prod = mmap(NULL, page, PROT_READ, MAP_SHARED, rb_fd, page);
	if (cons == MAP_FAILED || prod == MAP_FAILED) {
		fprintf(stderr, "bench_ns: cannot map the ring buffer: %s\n", strerror(errno));
		return 1;
	}
	/* the template: source address, port and ISN zero (the driver's) */
	{
		struct h_pkt p = {
			.family = 4, .saddr = "0.0.0.0", .daddr = "10.0.0.1", .sport = 0, .dport = opt_port,
			.seq = 0, .flags = SG_TCP_SYN, .opts = h_linux_syn_opts, .optlen = sizeof(h_linux_syn_opts),
		};

		n = h_build(&p, frame, sizeof(frame));
	}
	drv_fd = n > 0 ? driver_open(driver, prog_fd, frame, &dobj, &bss_fd) : -1;
	if (drv_fd < 0) {
		fprintf(stderr, "bench_ns: cannot load the driver %s\n", driver);
		bpf_object__close(dobj);
		return 1;
	}
	lost0 = lost_events(cnt_fd);
	t0 = now_s();
	for (long done = 0; done < count;) {
		__u32 k = count - done < EV_CHUNK ? count - done : EV_CHUNK;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = n, .repeat = k);

		if (bpf_prog_test_run_opts(drv_fd, &o)) {
			fprintf(stderr, "bench_ns: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
			bpf_object__close(dobj);
			return 1;
		}
		pass += o.retval == XDP_PASS;	/* (the last run's) */
		done += k;
	}
	t1 = now_s();
	/* wait until the consumer has read everything (at most 60 s) */
	while (*cons != *prod && now_s() - t1 < 60)
		usleep(200);
	t2 = now_s();
	lost1 = lost_events(cnt_fd);
	bpf_map_lookup_elem(bss_fd, &zero, &st);
	bpf_object__close(dobj);
	if (st.made != (__u64)count || st.tail_failed) {
		fprintf(stderr, "bench_ns: the driver made %llu SYNs of %ld, %llu not handed to synguard\n",
			(unsigned long long)st.made, count, (unsigned long long)st.tail_failed);
		return 1;
	}
	printf("{\"syns\":%ld,\"passed\":%s,\"drive_s\":%.3f,\"drained_s\":%.3f,\"drained\":%s,"
	       "\"lost_events\":%llu,\"drive_pps\":%.0f}\n",
	       count, pass == (count + EV_CHUNK - 1) / EV_CHUNK ? "true" : "false", t1 - t0, t2 - t0,
	       *cons == *prod ? "true" : "false", (unsigned long long)(lost1 - lost0), count / (t1 - t0));
	return 0;
}

/* ---- output ---- */

static void json_num(const char *key, const struct result *r, double base, int over, int *first)
{
	printf("%s\"%s\":", *first ? "" : ",", key);
	*first = 0;
	if (!r->ok) {
		printf("null");
		return;
	}
	printf("%.1f", over ? res_median(r) - base : res_median(r));
}

static void json_str(const char *w)
{
	putchar('"');
	for (; w && *w; w++)
		if (*w == '"' || *w == '\\')
			printf("\\%c", *w);
		else if ((unsigned char)*w >= 0x20)
			putchar(*w);
	putchar('"');
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cpu", required_argument, 0, 'c' },
		{ "calls", required_argument, 0, 'n' },
		{ "rounds", required_argument, 0, 'r' },
		{ "port", required_argument, 0, 'p' },
		{ "xdp-pass", required_argument, 0, 'x' },
		{ "events", required_argument, 0, 'e' },
		{ "count", required_argument, 0, 'k' },
		{ "anchor", required_argument, 0, 'a' },
		{ "driver", required_argument, 0, 'd' },
		{ "help", no_argument, 0, 'h' },
		{}
	};
	struct result r_pass = { "xdp_pass", .expect = XDP_PASS },
		      r_syn = { "synack", .expect = XDP_TX },
		      r_syn6 = { "synack6", .expect = XDP_TX },
		      r_ackv = { "ack_valid", .expect = XDP_PASS },
		      r_ackr = { "ack_valid_repeat", .expect = XDP_PASS },
		      r_acki = { "ack_invalid", .expect = XDP_DROP },
		      r_trk = { "track_established", .expect = XDP_PASS },
		      r_pest = { "protect_established", .expect = XDP_PASS },
		      r_asyn = { "anchor_synack", .expect = XDP_TX },
		      r_asyn6 = { "anchor_synack6", .expect = XDP_TX },
		      r_aackv = { "anchor_ack_valid", .expect = XDP_PASS },
		      r_aacki = { "anchor_ack_invalid", .expect = XDP_DROP },
		      r_oth = { "other_port", .expect = XDP_PASS },
		      r_othl = { "other_port_ladder", .expect = XDP_PASS };
	struct result *all[] = { &r_pass, &r_syn, &r_syn6, &r_ackv, &r_ackr, &r_acki, &r_trk, &r_pest,
				 &r_asyn, &r_asyn6, &r_aackv, &r_aacki, &r_oth, &r_othl };
	static struct anchor an;
	struct frames f_aackv = {};
	static struct h_ctx hp, hm, ho, hol;	/* protect, monitor, -p other port without/with ladder */
	struct frames f_syn4 = {}, f_syn6 = {}, f_ackv = {}, f_ackr = {}, f_acki = {}, f_data = {},
		      f_pest = {};
	struct bpf_object *pobj;
	struct bpf_program *pprog;
	int pass_fd, xdp_p = -1, xdp_m, tc_m, c, l4 = -1, l6 = -1, have_protect = 0;
	const char *protect_why = "n/a (cookie path not available)";
	struct h_run *hr = calloc(1, sizeof(*hr));
	cpu_set_t set;
	__u64 cnt0[SG_CNT_MAX], cnt1[SG_CNT_MAX];
	__u32 isn_base, ev_prog = 0;
	long ev_count = 1000000;

	while ((c = getopt_long(argc, argv, "c:n:r:p:x:e:k:a:d:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': opt_cpu = atoi(optarg); break;
		case 'n': opt_calls = atoi(optarg); break;
		case 'r': opt_rounds = atoi(optarg); break;
		case 'p': opt_port = atoi(optarg); break;
		case 'x': opt_pass_obj = optarg; break;
		case 'e':
			ev_prog = strtoul(optarg, NULL, 0);
			if (!ev_prog) {
				fprintf(stderr, "bench_ns: --events needs a program id\n");
				return 2;
			}
			break;
		case 'k': ev_count = atol(optarg); break;
		case 'a': opt_anchor_obj = optarg; break;
		case 'd': opt_driver_obj = optarg; break;
		default:
			fprintf(stderr, "usage: %s [--cpu N] [--calls N] [--rounds R] [--port P] "
				"[--xdp-pass OBJ] [--anchor OBJ]\n"
				"       %s --events XDP_PROG_ID [--count N] [--cpu N] [--driver OBJ]   (drive a "
				"running synguard's XDP program: events/s)\n", argv[0], argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (opt_calls < 100 || opt_calls > MAX_CALLS || opt_rounds < 1 || opt_rounds > MAX_ROUNDS) {
		fprintf(stderr, "bench_ns: --calls 100..%d, --rounds 1..%d\n", MAX_CALLS, MAX_ROUNDS);
		return 2;
	}
	durs = calloc(opt_calls, sizeof(*durs));
	CPU_ZERO(&set);
	CPU_SET(opt_cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "bench_ns: sched_setaffinity(cpu %d): %s\n", opt_cpu, strerror(errno));
		return 1;
	}
	libbpf_set_print(NULL);
	if (ev_prog)
		return drive_events(ev_prog, ev_count, opt_driver_obj);

	/* baseline */
	pobj = bpf_object__open_file(opt_pass_obj, NULL);
	if (!pobj || bpf_object__load(pobj) ||
	    !(pprog = bpf_object__find_program_by_name(pobj, "xdp_pass"))) {
		fprintf(stderr, "bench_ns: cannot load %s\n", opt_pass_obj);
		return 1;
	}
	pass_fd = bpf_program__fd(pprog);

	/* monitor-mode skeleton */
	if (h_open(&hm, cfg_monitor, NULL)) {
		fprintf(stderr, "bench_ns: cannot load the synguard skeleton (monitor)\n");
		return 1;
	}
	xdp_m = bpf_program__fd(hm.skel->progs.sg_xdp);
	tc_m = bpf_program__fd(hm.skel->progs.sg_tc_egress);
	if (other_port_open(&ho, 0))
		r_oth.why = "n/a (cannot load the -p 9999 skeleton)";
	if (other_port_open(&hol, 1))
		r_othl.why = "n/a (cannot load the -p 9999 --ladder skeleton)";

	/* protect-mode skeleton + listeners */
	l4 = listen_on(4);
	l6 = listen_on(6);
	if (l4 < 0 || l6 < 0)
		protect_why = "n/a (cannot listen on the bench port)";
	else if (h_open(&hp, cfg_protect, NULL))
		protect_why = "n/a (cookie path not available: protect-mode load failed)";
	else if (protect_postload(hp.skel))
		protect_why = "n/a (cookie path not available: cannot configure maps)";
	else
		have_protect = 1;
	if (have_protect)
		xdp_p = bpf_program__fd(hp.skel->progs.sg_xdp);

	if (getrandom(&isn_base, sizeof(isn_base), 0) != sizeof(isn_base))
		isn_base = 0x12345678;

	/* frames that do not change between rounds */
	f_syn4.n = f_syn6.n = f_acki.n = f_ackr.n = 1;
	for (struct frames *f = &f_syn4; f; f = f == &f_syn4 ? &f_syn6 : f == &f_syn6 ? &f_acki :
				     f == &f_acki ? &f_ackr : NULL) {
		f->buf = calloc(1, H_MAX_FRAME);
		f->len = calloc(1, sizeof(__u32));
	}
	f_syn4.len[0] = build_syn(4, "10.0.0.2", 40000, isn_base, f_syn4.buf);
	f_syn6.len[0] = build_syn(6, "fd00::2", 40000, isn_base, f_syn6.buf);
	f_acki.len[0] = build_ack(4, "10.0.0.2", 40001, isn_base, 0xdeadbeef, 1000, 2000, 0, f_acki.buf);
	f_ackv.n = f_data.n = f_pest.n = opt_calls;
	f_pest.buf = calloc(opt_calls, H_MAX_FRAME);
	f_pest.len = calloc(opt_calls, sizeof(__u32));
	f_ackv.buf = calloc(opt_calls, H_MAX_FRAME);
	f_ackv.len = calloc(opt_calls, sizeof(__u32));
	f_data.buf = calloc(opt_calls, H_MAX_FRAME);
	f_data.len = calloc(opt_calls, sizeof(__u32));

	/* ---- verify the protect paths once ---- */
	if (have_protect) {
		const char *err;
		__u32 tsv = 0;

		if (h_run_xdp(xdp_p, f_syn4.buf, f_syn4.len[0], hr) || (err = anchor_bad_synack(hr, isn_base))) {
			protect_why = "n/a (cookie path not available: the IPv4 SYN is not answered "
				      "with a valid SYN-ACK)";
			fprintf(stderr, "bench_ns: protect IPv4 SYN: %s (retval %u)\n",
				h_run_xdp(xdp_p, f_syn4.buf, f_syn4.len[0], hr) ? "run failed" :
				anchor_bad_synack(hr, isn_base), hr->retval);
			have_protect = 0;
		} else {
			synack_tsval(hr->out, hr->out_len, &tsv);
			f_ackr.len[0] = build_ack(4, "10.0.0.2", 40000, isn_base,
						  get_be32(hr->out + tcp_off(hr->out) + 4) + 1,
						  0x12345679, tsv, 0, f_ackr.buf);
			if (h_run_xdp(xdp_p, f_ackr.buf, f_ackr.len[0], hr) || hr->retval != XDP_PASS) {
				fprintf(stderr, "bench_ns: protect: valid-cookie ACK returned %u, not "
					"XDP_PASS\n", hr->retval);
				protect_why = "n/a (cookie path not available: a valid cookie ACK is not passed)";
				have_protect = 0;
			} else if (h_run_xdp(xdp_p, f_acki.buf, f_acki.len[0], hr) || hr->retval != XDP_DROP) {
				protect_why = "n/a (cookie path not available: a bad cookie ACK is not dropped)";
				have_protect = 0;
			}
		}
		if (have_protect && (h_run_xdp(xdp_p, f_syn6.buf, f_syn6.len[0], hr) ||
				     anchor_bad_synack(hr, isn_base))) {
			fprintf(stderr, "bench_ns: protect IPv6 SYN: %s (retval %u)\n",
				anchor_bad_synack(hr, isn_base) ?: "?", hr->retval);
			r_syn6.why = "n/a (IPv6 SYN not answered with a valid SYN-ACK)";
		}
	}
	if (!have_protect)
		fprintf(stderr, "bench_ns: %s\n", protect_why);
	/* the timed SYNs: tuples the tracker has no record of, as a flood's
	 * (the verification's ACK above established 40000's), each from
	 * another /24 (/48): spoofed sources spread over the reflection
	 * cap's sketch, as in a flood, and no source network reaches the cap
	 * (one per call: 65536 networks in 11/8 and fd00:0:x::/48) */
	syn_frames(&f_syn4, 4, isn_base);
	syn_frames(&f_syn6, 6, isn_base);
	/* the anchor, verified on the same SYNs and bad-cookie ACK */
	if (anchor_open(&an, opt_anchor_obj, opt_port, f_syn4.buf, f_syn4.len[0], f_syn6.buf,
			f_syn6.len[0], f_acki.buf, f_acki.len[0])) {
		fprintf(stderr, "bench_ns: no anchor: %s\n", an.why);
	} else {
		f_aackv.n = opt_calls;
		f_aackv.buf = calloc(opt_calls, H_MAX_FRAME);
		f_aackv.len = calloc(opt_calls, sizeof(__u32));
	}
	if (have_protect) {
		__u8 b[H_MAX_FRAME];
		int n;

		pest_isn = isn_base ^ 0x5a5a5a5a;
		n = build_syn(4, "10.0.0.2", 40002, pest_isn, b);
		if (!h_run_xdp(xdp_p, b, n, hr) && hr->retval == XDP_TX) {
			synack_tsval(hr->out, hr->out_len, &pest_tsv);
			pest_ack = get_be32(hr->out + tcp_off(hr->out) + 4) + 1;
			n = build_ack(4, "10.0.0.2", 40002, pest_isn, pest_ack, 0x2fff, pest_tsv, 0, b);
			if (h_run_xdp(xdp_p, b, n, hr) || hr->retval != XDP_PASS)
				r_pest.why = "n/a (the cookie handshake did not complete)";
		} else {
			r_pest.why = "n/a (the SYN was not answered)";
		}
		h_drain(&hp);
	}

	/* ---- monitor mode: establish one flow for the data segments ---- */
	{
		__u8 b[H_MAX_FRAME];
		struct h_pkt sa = {
			.family = 4, .saddr = "10.0.0.1", .daddr = "10.0.0.2", .sport = 80,
			.dport = 41000, .seq = 7000, .ack = isn_base + 1,
			.flags = SG_TCP_SYN | SG_TCP_ACK, .opts = h_linux_syn_opts,
			.optlen = sizeof(h_linux_syn_opts),
		};
		struct h_pkt syn = {
			.family = 4, .saddr = "10.0.0.2", .daddr = "10.0.0.1", .sport = 41000,
			.dport = 80, .seq = isn_base, .flags = SG_TCP_SYN,
			.opts = h_linux_syn_opts, .optlen = sizeof(h_linux_syn_opts),
		};
		int n, ok = 1;

		h_counters(&hm, cnt0);
		n = h_build(&syn, b, sizeof(b));
		ok &= !h_run_xdp(xdp_m, b, n, hr) && hr->retval == XDP_PASS;
		n = h_build(&sa, b, sizeof(b));
		ok &= !h_run_tc(tc_m, b, n, hr);
		{
			struct h_pkt ack = syn;
			__u8 o[12];

			memcpy(o, ack_ts_opts_tmpl, 12);
			put_be32(o + 4, 0x1000);
			put_be32(o + 8, 0x2000);
			ack.seq = isn_base + 1;
			ack.ack = 7001;
			ack.flags = SG_TCP_ACK;
			ack.opts = o;
			ack.optlen = 12;
			n = h_build(&ack, b, sizeof(b));
			ok &= !h_run_xdp(xdp_m, b, n, hr) && hr->retval == XDP_PASS;
			/* the data segments: in order, 100 bytes each */
			for (int i = 0; i < opt_calls; i++) {
				ack.seq = isn_base + 1 + (__u32)i * 100;
				ack.payload = 100;
				ack.flags = SG_TCP_ACK | SG_TCP_PSH;
				put_be32(o + 4, 0x1001 + i);
				f_data.len[i] = h_build(&ack, f_data.buf + (size_t)i * H_MAX_FRAME, H_MAX_FRAME);
			}
		}
		h_drain(&hm);
		h_counters(&hm, cnt1);
		{
			int established = 0;

			for (int i = 0; i < hm.nev; i++)
				if (hm.ev[i].type == SG_EV_STATE && hm.ev[i].to == SG_ESTABLISHED)
					established++;
			if (!ok || established < 2) {
				fprintf(stderr, "bench_ns: monitor: flow not established (%d ESTABLISHED "
					"events, ok %d)\n", established, ok);
				r_trk.why = "n/a (the flow did not reach ESTABLISHED)";
			}
		}
	}

	/* ---- rounds ---- */
	for (int round = 0; round < opt_rounds; round++) {
		fprintf(stderr, "bench_ns: round %d/%d\n", round + 1, opt_rounds);
		if (time_round(pass_fd, &f_syn4, opt_calls, &r_pass))
			return 1;
		if (!r_trk.why) {
			/* a fresh run of seqs each round: every segment is new data */
			for (int i = 0; i < opt_calls; i++) {
				__u8 *fr = f_data.buf + (size_t)i * H_MAX_FRAME;
				__u32 t = tcp_off(fr), seq = get_be32(fr + t + 4) + (__u32)opt_calls * 100;
				struct h_pkt d = {
					.family = 4, .saddr = "10.0.0.2", .daddr = "10.0.0.1",
					.sport = 41000, .dport = 80, .seq = seq, .ack = 7001,
					.flags = SG_TCP_ACK | SG_TCP_PSH, .win = 502,
					.opts = fr + t + 20, .optlen = 12, .payload = 100,
				};
				__u8 o[12];

				if (round == 0)
					break;
				memcpy(o, fr + t + 20, 12);
				d.opts = o;
				h_build(&d, fr, H_MAX_FRAME);
			}
			h_counters(&hm, cnt0);
			if (time_round(xdp_m, &f_data, opt_calls, &r_trk))
				return 1;
			h_counters(&hm, cnt1);
			if (cnt1[SG_CNT_RETRANS] != cnt0[SG_CNT_RETRANS]) {
				fprintf(stderr, "bench_ns: track_established: %llu segments counted as "
					"retransmissions\n",
					(unsigned long long)(cnt1[SG_CNT_RETRANS] - cnt0[SG_CNT_RETRANS]));
			}
			h_drain(&hm);
		}
		if (!an.why) {
			if (time_round(an.prog_fd, &f_syn4, opt_calls, &r_asyn) ||
			    time_round(an.prog_fd, &f_syn6, opt_calls, &r_asyn6) ||
			    time_round(an.prog_fd, &f_acki, opt_calls, &r_aacki))
				return 1;
			if (anchor_acks(&an, round, opt_calls, f_aackv.buf, H_MAX_FRAME, f_aackv.len)) {
				fprintf(stderr, "bench_ns: anchor: a SYN was not answered\n");
				return 1;
			}
			if (time_round(an.prog_fd, &f_aackv, opt_calls, &r_aackv))
				return 1;
		}
		/* the same segments to skeletons tracking another port */
		if (!r_trk.why && !r_oth.why &&
		    time_round(bpf_program__fd(ho.skel->progs.sg_xdp), &f_data, opt_calls, &r_oth))
			return 1;
		if (!r_trk.why && !r_othl.why &&
		    time_round(bpf_program__fd(hol.skel->progs.sg_xdp), &f_data, opt_calls, &r_othl))
			return 1;
		if (!have_protect)
			continue;
		sg_skhint_dump(skh);
		if (time_round(xdp_p, &f_syn4, opt_calls, &r_syn))
			return 1;
		if (!r_syn6.why && time_round(xdp_p, &f_syn6, opt_calls, &r_syn6))
			return 1;
		if (time_round(xdp_p, &f_acki, opt_calls, &r_acki))
			return 1;
		if (time_round(xdp_p, &f_ackr, opt_calls, &r_ackr))
			return 1;
		if (!r_pest.why) {
			pest_frames(&f_pest, round);
			h_counters(&hp, cnt0);
			if (time_round(xdp_p, &f_pest, opt_calls, &r_pest))
				return 1;
			h_counters(&hp, cnt1);
			if (cnt1[SG_CNT_COOKIE_VALID] != cnt0[SG_CNT_COOKIE_VALID]) {
				fprintf(stderr, "bench_ns: protect_established: %llu data segments went "
					"through the cookie check\n",
					(unsigned long long)(cnt1[SG_CNT_COOKIE_VALID] - cnt0[SG_CNT_COOKIE_VALID]));
				r_pest.why = "n/a (data segments of the established flow took the cookie path)";
			}
		}
		h_drain(&hp);
		/* fresh handshakes: one SYN (untimed) per ACK, a new 4-tuple each */
		for (int i = 0; i < opt_calls; i++) {
			__u32 g = (__u32)round * opt_calls + i, isn = isn_base + g * 7919;
			char sa[32];
			__u8 b[H_MAX_FRAME];
			__u32 tsv = 0;
			__u16 sport = 1024 + g % 60000;
			int n;

			/* a new /24 every 256 handshakes: the reflection cap
			 * (5000/s per /24) never holds these SYNs back */
			snprintf(sa, sizeof(sa), "10.%u.%u.%u", 100 + (g >> 16), (g >> 8) & 0xff, g & 0xff);
			n = build_syn(4, sa, sport, isn, b);
			if (h_run_xdp(xdp_p, b, n, hr) || hr->retval != XDP_TX) {
				fprintf(stderr, "bench_ns: ack_valid: SYN not answered\n");
				return 1;
			}
			synack_tsval(hr->out, hr->out_len, &tsv);
			f_ackv.len[i] = build_ack(4, sa, sport, isn,
						  get_be32(hr->out + tcp_off(hr->out) + 4) + 1,
						  0x1000 + g, tsv, 0, f_ackv.buf + (size_t)i * H_MAX_FRAME);
		}
		h_counters(&hp, cnt0);
		if (time_round(xdp_p, &f_ackv, opt_calls, &r_ackv))
			return 1;
		h_counters(&hp, cnt1);
		if (cnt1[SG_CNT_COOKIE_VALID] - cnt0[SG_CNT_COOKIE_VALID] != (__u64)opt_calls)
			fprintf(stderr, "bench_ns: ack_valid: %llu of %d cookies validated\n",
				(unsigned long long)(cnt1[SG_CNT_COOKIE_VALID] - cnt0[SG_CNT_COOKIE_VALID]),
				opt_calls);
		h_drain(&hp);
	}

	/* ---- results ---- */
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct result *r = all[i];

		r->ok = r->nrounds > 0 && !r->why;
		if (r->ok && r->bad_verdicts) {
			fprintf(stderr, "bench_ns: %s: %ld runs returned another verdict than %u\n",
				r->name, r->bad_verdicts, r->expect);
			r->ok = 0;
			r->why = "n/a (wrong verdicts)";
		}
		if (!r->ok && !r->why && !strncmp(r->name, "anchor", 6))
			r->why = an.why ? an.why : "n/a";
		if (!r->ok && !r->why)
			r->why = (r == &r_trk || r == &r_pass || r == &r_oth || r == &r_othl) ? "n/a" : protect_why;
	}
	{
		double base = res_median(&r_pass);
		int first = 1;

		printf("{");
		json_num("xdp_pass_ns", &r_pass, 0, 0, &first);
		json_num("synack_ns", &r_syn, base, 0, &first);
		json_num("synack6_ns", &r_syn6, base, 0, &first);
		json_num("ack_valid_ns", &r_ackv, base, 0, &first);
		json_num("ack_invalid_ns", &r_acki, base, 0, &first);
		json_num("track_established_ns", &r_trk, base, 0, &first);
		json_num("protect_established_ns", &r_pest, base, 0, &first);
		json_num("ack_valid_repeat_ns", &r_ackr, base, 0, &first);
		json_num("other_port_ns", &r_oth, base, 0, &first);
		json_num("other_port_ladder_ns", &r_othl, base, 0, &first);
		printf(",\"over_baseline\":{");
		first = 1;
		json_num("synack_ns", &r_syn, base, 1, &first);
		json_num("synack6_ns", &r_syn6, base, 1, &first);
		json_num("ack_valid_ns", &r_ackv, base, 1, &first);
		json_num("ack_invalid_ns", &r_acki, base, 1, &first);
		json_num("track_established_ns", &r_trk, base, 1, &first);
		json_num("protect_established_ns", &r_pest, base, 1, &first);
		json_num("ack_valid_repeat_ns", &r_ackr, base, 1, &first);
		json_num("other_port_ns", &r_oth, base, 1, &first);
		json_num("other_port_ladder_ns", &r_othl, base, 1, &first);
		/* the anchor: all four measured, or null and why */
		printf("},\"anchor\":");
		if (r_asyn.ok && r_asyn6.ok && r_aackv.ok && r_aacki.ok) {
			printf("{");
			first = 1;
			json_num("synack_ns", &r_asyn, base, 0, &first);
			json_num("synack6_ns", &r_asyn6, base, 0, &first);
			json_num("ack_valid_ns", &r_aackv, base, 0, &first);
			json_num("ack_invalid_ns", &r_aacki, base, 0, &first);
			json_num("xdp_pass_ns", &r_pass, 0, 0, &first);
			printf(",\"over_baseline\":{");
			first = 1;
			json_num("synack_ns", &r_asyn, base, 1, &first);
			json_num("synack6_ns", &r_asyn6, base, 1, &first);
			json_num("ack_valid_ns", &r_aackv, base, 1, &first);
			json_num("ack_invalid_ns", &r_aacki, base, 1, &first);
			printf("},\"program\":\"xdp_synproxy_kern.c syncookie_xdp (BPF selftest)\","
			       "\"source\":");
			json_str(an.source);
			printf("}");
		} else {
			const char *w = an.why ? an.why : r_asyn.ok ? r_aackv.ok ? r_aacki.ok ?
				r_asyn6.why : r_aacki.why : r_aackv.why : r_asyn.why;

			printf("null,\"anchor_why\":");
			json_str(w);
		}
		printf(",\"ns_notes\":{");
		first = 1;
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			if (!all[i]->ok && !(an.why && !strncmp(all[i]->name, "anchor", 6))) {
				printf("%s\"%s\":\"%s\"", first ? "" : ",", all[i]->name, all[i]->why);
				first = 0;
			}
		printf("},\"ns_rounds\":{");
		first = 1;
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
			struct result *r = all[i];

			if (!r->nrounds)
				continue;
			printf("%s\"%s\":{\"median\":[", first ? "" : ",", r->name);
			first = 0;
			for (int k = 0; k < r->nrounds; k++)
				printf("%s%.1f", k ? "," : "", r->round_med[k]);
			printf("],\"p90\":[");
			for (int k = 0; k < r->nrounds; k++)
				printf("%s%.0f", k ? "," : "", r->p90[k]);
			printf("]}");
		}
		printf("},\"ns_method\":{\"calls_per_round\":%d,\"rounds\":%d,\"cpu\":%d,\"repeat\":1}}\n",
		       opt_calls, opt_rounds, opt_cpu);
	}
	h_close(&hm);
	if (ho.skel)
		h_close(&ho);
	if (hol.skel)
		h_close(&hol);
	if (hp.skel)
		h_close(&hp);
	anchor_close(&an);
	bpf_object__close(pobj);
	return 0;
}
