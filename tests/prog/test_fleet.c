// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_fleet.c - --secret-file: two synguard instances (two loaded copies
 * of the programs, each with its own maps, like two nodes behind anycast
 * or ECMP) with the same fleet key: a SYN-ACK cookie made by A's XDP
 * program validates at B's (the ACK of the same handshake reaching the
 * other node), across one rotation; with another fleet key it is dropped.
 * The keys are written as user/cookie.c does (sg_secret_update) from one
 * made-up CLOCK_REALTIME, so the window arithmetic is deterministic.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "sg_cookie.h"
#include "secret.h"

#define XDP_DROP_ 1
#define XDP_PASS_ 2
#define XDP_TX_ 3

static __u16 port;
/* one client port per handshake: a tracked flow's later ACKs skip the cookie check */
#define SPORT(isn) ((__u16)(40000 + ((isn) & 0xff)))

static void configure(struct synguard_bpf *skel, void *arg)
{
	struct sg_settings *s = &skel->rodata->sg_cfg;

	(void)arg;
	bpf_map__set_max_entries(skel->maps.sg_flows4, 4096);
	bpf_map__set_max_entries(skel->maps.sg_flows, 4096);
	bpf_map__set_max_entries(skel->maps.sg_halfopen, 4096);
	s->mode = SG_MODE_PROTECT;
	s->explicit_ports = 1;
}

static int listen4(__u16 *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (void *)&a, sizeof(a)) || listen(fd, 16))
		return -1;
	getsockname(fd, (void *)&a, &l);
	*p = ntohs(a.sin_port);
	return fd;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

struct node {
	struct h_ctx h;
	struct sg_secret *s;
};

static int node_up(struct node *n, const __u8 *key, __u64 rt)
{
	struct sg_port_cfg pc = { .flags = SG_PORT_PROTECTED };
	__u32 p = port;

	if (h_open(&n->h, configure, NULL))
		return -1;
	bpf_map_update_elem(bpf_map__fd(n->h.skel->maps.sg_ck_ports), &p, &pc, BPF_ANY);
	n->s = sg_secret_from_bytes(key);
	return n->s && sg_secret_update(n->s, bpf_map__fd(n->h.skel->maps.sg_ck_secrets), 1, rt, mono_ns(), 1) == 1
		       ? 0 : -1;
}

static void node_down(struct node *n)
{
	sg_secret_free(n->s);
	h_close(&n->h);
}

static __u64 cnt(struct node *n, int idx)
{
	__u64 c[SG_CNT_MAX];

	h_counters(&n->h, c);
	return c[idx];
}

/* A SYN from the client through n's XDP: the cookie of its SYN-ACK (0 if none). */
static __u32 syn_cookie(struct node *n, __u32 isn)
{
	struct h_pkt pk = { .family = 4, .saddr = "10.1.0.2", .daddr = "10.1.0.1", .sport = SPORT(isn), .dport = port,
			    .seq = isn, .flags = SG_TCP_SYN, .opts = h_linux_syn_opts, .optlen = 20 };
	__u8 in[H_MAX_FRAME];
	struct h_run r;
	int len = h_build(&pk, in, sizeof(in));
	const __u8 *tcp = r.out + 14 + 20;

	if (h_run_xdp(bpf_program__fd(n->h.skel->progs.sg_xdp), in, len, &r) || r.retval != XDP_TX_)
		return 0;
	return (__u32)tcp[4] << 24 | tcp[5] << 16 | tcp[6] << 8 | tcp[7];
}

/* The client's ACK of that SYN-ACK through n's XDP: its verdict. */
static __u32 ack(struct node *n, __u32 isn, __u32 cookie)
{
	__u8 o[12] = { 1, 1, 8, 10 }, in[H_MAX_FRAME];
	struct h_pkt pk = { .family = 4, .saddr = "10.1.0.2", .daddr = "10.1.0.1", .sport = SPORT(isn), .dport = port,
			    .seq = isn + 1, .ack = cookie + 1, .flags = SG_TCP_ACK, .opts = o, .optlen = 12 };
	struct h_run r;
	int len;

	/* TSecr: the low bits of a SYN-ACK TSval (wscale 7, SACK) */
	sg_put_be32(o + 4, 1000);
	sg_put_be32(o + 8, 0x12345687);
	len = h_build(&pk, in, sizeof(in));
	if (h_run_xdp(bpf_program__fd(n->h.skel->progs.sg_xdp), in, len, &r))
		return 0;
	return r.retval;
}

static void test_same_key(void)
{
	static const __u8 k1[SG_SECRET_BYTES] = "fleet key one, 32 bytes exactly";
	static const __u8 k2[SG_SECRET_BYTES] = "fleet key two, 32 bytes exactly";
	/* a made-up CLOCK_REALTIME: 30 s into a cookie window, on a 1 s rotation boundary */
	__u64 rt = ((1800000000ull * 1000000000ull) >> SG_COOKIE_WINDOW_SHIFT << SG_COOKIE_WINDOW_SHIFT) +
		   30000000000ull;
	struct node a = {}, b = {}, c = {};
	__u32 ck, ck3, isn = 0x7000, v;
	__u64 ok0, bad0;

	rt -= rt % 1000000000ull;
	if (!CHECK(!node_up(&a, k1, rt) && !node_up(&b, k1, rt) && !node_up(&c, k2, rt),
		   "nodes A and B (one fleet key) and C (another) up, protect mode, --rotate 1"))
		goto out;
	ck = syn_cookie(&a, isn);
	if (!CHECK(ck, "A answers the SYN with a cookie SYN-ACK (XDP_TX)"))
		goto out;
	ok0 = cnt(&b, SG_CNT_COOKIE_VALID);
	v = ack(&b, isn, ck);
	CHECK(v == XDP_PASS_ && cnt(&b, SG_CNT_COOKIE_VALID) == ok0 + 1,
	      "the ACK reaches B: valid cookie, passed to B's listener (retval %u)", v);
	bad0 = cnt(&c, SG_DROP_COOKIE_BAD);
	v = ack(&c, isn, ck);
	CHECK(v == XDP_DROP_ && cnt(&c, SG_DROP_COOKIE_BAD) == bad0 + 1,
	      "the ACK reaches C (another fleet key): bad cookie, dropped (retval %u)", v);
	ck = syn_cookie(&b, isn + 1);
	v = ack(&a, isn + 1, ck);
	CHECK(ck && v == XDP_PASS_, "and the other way: B's cookie validates at A");

	/* B one rotation ahead (its clock, or A's, a second off at the boundary) */
	/* (two handshakes: B tracks the first once valid, and a tracked
	 * flow's ACKs skip the cookie check) */
	ck = syn_cookie(&a, isn + 2);
	ck3 = syn_cookie(&a, isn + 3);
	sg_secret_update(b.s, bpf_map__fd(b.h.skel->maps.sg_ck_secrets), 1, rt + 1000000000ull, mono_ns(), 0);
	v = ack(&b, isn + 2, ck);
	CHECK(v == XDP_PASS_, "B in the next rotation window: A's cookie still valid (previous key)");
	sg_secret_update(b.s, bpf_map__fd(b.h.skel->maps.sg_ck_secrets), 1, rt + 2000000000ull, mono_ns(), 0);
	v = ack(&b, isn + 3, ck3);
	CHECK(v == XDP_DROP_, "two rotations later: rejected (retval %u)", v);
out:
	node_down(&a);
	node_down(&b);
	node_down(&c);
}

/* Two nodes booted at different times agree: same keys, same cookie window. */
static void test_clocks(void)
{
	static const __u8 k1[SG_SECRET_BYTES] = "fleet key one, 32 bytes exactly";
	struct sg_secret *s1 = sg_secret_from_bytes(k1), *s2 = sg_secret_from_bytes(k1);
	struct node n = {};
	struct sg_cookie_secrets x, y;
	__u64 rt = 1800000000123456789ull;
	__u32 zero = 0;
	int fd;

	if (!CHECK(s1 && s2 && !h_open(&n.h, configure, NULL), "open"))
		goto out;
	fd = bpf_map__fd(n.h.skel->maps.sg_ck_secrets);
	sg_secret_update(s1, fd, 60, rt, 1000ull * 1000000000ull, 1);	/* up 1000 s */
	bpf_map_lookup_elem(fd, &zero, &x);
	sg_secret_update(s2, fd, 60, rt, 3000000ull * 1000000000ull, 1);	/* up 34 days */
	bpf_map_lookup_elem(fd, &zero, &y);
	CHECK(!memcmp(x.key, y.key, sizeof(x.key)) && x.cur == y.cur, "same realtime, different uptimes: same keys and slot");
	CHECK(1000ull * 1000000000ull + x.clock_off_ns == rt && 3000000ull * 1000000000ull + y.clock_off_ns == rt,
	      "each node's monotonic clock + its offset = the realtime: the same cookie windows");
	CHECK(x.cur == (rt / 1000000000ull / 60) % 2, "current slot = window & 1 (window = realtime / rotate)");
out:
	sg_secret_free(s1);
	sg_secret_free(s2);
	if (n.h.skel)
		h_close(&n.h);
}

void test_fleet(void)
{
	int lfd = listen4(&port);

	if (!CHECK(lfd >= 0, "a listener for the protected port"))
		return;
	test_same_key();
	test_clocks();
	close(lfd);
}
