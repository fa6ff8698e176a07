// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_policy.c - --deny and --allow through the real XDP program with
 * BPF_PROG_TEST_RUN, and the order of the policy (bpf/sg_policy.h):
 * deny -> allow -> per-source limit and reflection cap -> cookies ->
 * tracking. The lists are built and swapped in as synguard does it
 * (user/policy.c).
 *
 *   deny:  10.9.0.0/24, 10.8.0.5, fd00:9::/64
 *   allow: 10.9.0.7 (inside the denied /24: deny wins), 10.7.0.0/16, fd00:7::/48
 *
 * Protect mode with an explicit --ports list and a listener on it, so a
 * SYN from a source on no list is answered with a cookie (XDP_TX).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "sg_cookie.h"
#include "cookie.h"
#include "policy.h"

#define XDP_DROP_ 1
#define XDP_PASS_ 2
#define XDP_TX_ 3

struct pol_cfg {
	int mode;		/* enum sg_mode */
	int deny, allow;	/* the settings (rodata) */
	__u32 syn_limit, synack_cap;
};

static __u16 port;
static int lfd4 = -1, lfd6 = -1;

static void configure(struct synguard_bpf *skel, void *arg)
{
	const struct pol_cfg *c = arg;
	struct sg_settings *s = &skel->rodata->sg_cfg;

	s->mode = c->mode;
	s->explicit_ports = 1;
	s->wscale = 7;
	s->mss4 = 1460;
	s->mss6 = 1440;
	s->deny = c->deny;
	s->allow = c->allow;
	s->syn_limit = c->syn_limit;
	s->synack_cap = c->synack_cap;
}

/* A list of CIDRs built into a trie and swapped into outer's slot. */
static int load_list(struct bpf_map *outer, const char *const *cidrs, int n)
{
	struct sg_lpm_key *keys = calloc(n + 1, sizeof(*keys));
	size_t uniq;
	__u32 zero = 0;
	int fd, err = 0;

	for (int i = 0; i < n; i++)
		if (sg_policy_parse_key(cidrs[i], &keys[i]))
			err = -EINVAL;
	fd = err ? err : sg_policy_build_trie(keys, n, &uniq);
	free(keys);
	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(bpf_map__fd(outer), &zero, &fd, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

static const char *const deny_list[] = { "10.9.0.0/24", "10.8.0.5", "fd00:9::/64" };
static const char *const allow_list[] = { "10.9.0.7", "10.7.0.0/16", "fd00:7::/48" };

static int load_lists(struct h_ctx *h)
{
	return load_list(h->skel->maps.sg_deny, deny_list, 3) ?: load_list(h->skel->maps.sg_allow, allow_list, 3);
}

static void set_port(struct h_ctx *h, __u32 p)
{
	struct sg_port_cfg pc = { .flags = SG_PORT_PROTECTED };

	bpf_map_update_elem(bpf_map__fd(h->skel->maps.sg_ck_ports), &p, &pc, BPF_ANY);
}

enum { K_SYN, K_ACK, K_UDP, K_TRUNC };

/* One frame from src through sg_xdp: its verdict, the counters' deltas. */
static __u32 run(struct h_ctx *h, const char *src, int kind, __u64 *d)
{
	int v6 = strchr(src, ':') != NULL;
	struct h_pkt pk = { .family = v6 ? 6 : 4, .saddr = src, .daddr = v6 ? "fd00::1" : "10.1.0.1",
			    .sport = 40000 + (rand() & 0x3fff), .dport = port, .seq = 0x11223344,
			    .ack = kind == K_ACK ? 0x55667788 : 0,
			    .flags = kind == K_ACK ? SG_TCP_ACK : SG_TCP_SYN };
	__u8 in[H_MAX_FRAME];
	__u64 b[SG_CNT_MAX], a[SG_CNT_MAX];
	struct h_run r = {};
	int len = h_build(&pk, in, sizeof(in));

	if (kind == K_UDP) {	/* the same frame, IP protocol UDP */
		if (v6)
			in[14 + 6] = 17;
		else
			in[14 + 9] = 17;
	}
	if (kind == K_TRUNC)	/* the TCP header cut short: malformed */
		len = 14 + (v6 ? 40 : 20) + 10;
	h_counters(h, b);
	if (h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, len, &r))
		r.retval = ~0u;
	h_counters(h, a);
	for (int i = 0; i < SG_CNT_MAX; i++)
		d[i] = a[i] - b[i];
	return r.retval;
}

static const char *const kind_name[] = { "SYN", "ACK", "UDP", "truncated TCP" };

static void test_deny(struct h_ctx *h)
{
	static const struct {
		const char *src;
		int kind;
	} denied[] = {
		{ "10.9.0.1", K_SYN }, { "10.9.0.1", K_ACK }, { "10.9.0.200", K_UDP }, { "10.8.0.5", K_SYN },
		{ "fd00:9::5", K_SYN }, { "fd00:9::5", K_ACK }, { "fd00:9::ffff", K_UDP },
		{ "10.9.0.7", K_SYN },	/* also on --allow: deny wins */
	};
	__u64 d[SG_CNT_MAX];
	__u32 rv;

	printf("  denied sources: XDP_DROP, drop_denied +1, nothing else runs\n");
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		rv = run(h, denied[i].src, denied[i].kind, d);
		CHECK(rv == XDP_DROP_ && d[SG_DROP_DENIED] == 1 && !d[SG_CNT_COOKIE_SENT] && !d[SG_CNT_FLOW_NEW] &&
			      !d[SG_DROP_SYN_LIMITED] && !d[SG_DROP_SYNACK_CAPPED],
		      "    %s from %s: dropped (verdict %u, drop_denied +%llu)", kind_name[denied[i].kind],
		      denied[i].src, rv, (unsigned long long)d[SG_DROP_DENIED]);
	}
	rv = run(h, "10.9.0.1", K_TRUNC, d);
	CHECK(rv == XDP_PASS_ && d[SG_CNT_MALFORMED] == 1 && !d[SG_DROP_DENIED],
	      "    a malformed frame from a denied source passes (as every malformed frame)");
	printf("  sources next to the denied ones are not denied\n");
	rv = run(h, "10.9.1.1", K_UDP, d);
	CHECK(rv == XDP_PASS_ && !d[SG_DROP_DENIED], "    UDP from 10.9.1.1: passed");
	rv = run(h, "10.8.0.4", K_SYN, d);
	CHECK(rv == XDP_TX_ && d[SG_CNT_COOKIE_SENT] == 1 && !d[SG_DROP_DENIED], "    SYN from 10.8.0.4: a cookie");
	rv = run(h, "fd00:9:0:1::5", K_SYN, d);
	CHECK(rv == XDP_TX_ && d[SG_CNT_COOKIE_SENT] == 1, "    SYN from fd00:9:0:1::5: a cookie");
	rv = run(h, "::ffff:10.9.0.1", K_SYN, d);
	CHECK(rv == XDP_TX_ && !d[SG_DROP_DENIED], "    IPv6 ::ffff:10.9.0.1 is not IPv4 10.9.0.1");
}

static void test_allow(struct h_ctx *h)
{
	static const char *const allowed[] = { "10.7.3.4", "fd00:7:0:5::9" };
	__u64 d[SG_CNT_MAX];
	__u32 rv;

	printf("  allowed sources: the kernel answers, tracked as usual\n");
	for (int i = 0; i < 2; i++) {
		rv = run(h, allowed[i], K_SYN, d);
		CHECK(rv == XDP_PASS_ && !d[SG_CNT_COOKIE_SENT] && d[SG_CNT_FLOW_NEW] == 1 && !d[SG_DROP_DENIED],
		      "    SYN from %s: XDP_PASS, no cookie, a new tracked flow (verdict %u, flows_new +%llu)",
		      allowed[i], rv, (unsigned long long)d[SG_CNT_FLOW_NEW]);
		rv = run(h, allowed[i], K_ACK, d);
		CHECK(rv == XDP_PASS_ && !d[SG_DROP_COOKIE_BAD],
		      "    ACK from %s without a socket nor a valid cookie: passed, the kernel's", allowed[i]);
	}
	rv = run(h, "10.6.0.1", K_SYN, d);
	CHECK(rv == XDP_TX_ && d[SG_CNT_COOKIE_SENT] == 1, "    SYN from 10.6.0.1 (no list): a cookie");
	rv = run(h, "10.6.0.1", K_ACK, d);
	CHECK(rv == XDP_DROP_ && d[SG_DROP_COOKIE_BAD] == 1, "    ACK from 10.6.0.1 with a bad cookie: dropped");
}

/* deny -> allow -> limit/cap: a limit or a cap never sees a denied or an
 * allowed source's SYN. */
static void test_order(struct h_ctx *h, const struct pol_cfg *c)
{
	__u64 d[SG_CNT_MAX], sum[SG_CNT_MAX] = {};
	__u32 rv;
	int ok = 1;

	printf("  order with --syn-limit %u, --synack-cap %u\n", c->syn_limit, c->synack_cap);
	for (int i = 0; i < 5; i++) {
		rv = run(h, "10.9.0.3", K_SYN, d);
		ok &= rv == XDP_DROP_ && d[SG_DROP_DENIED] == 1 && !d[SG_DROP_SYN_LIMITED] &&
		      !d[SG_DROP_SYNACK_CAPPED];
	}
	CHECK(ok, "    5 SYNs from a denied source: all drop_denied, never limited nor capped");
	ok = 1;
	for (int i = 0; i < 5; i++) {
		rv = run(h, "10.7.9.9", K_SYN, d);
		ok &= rv == XDP_PASS_ && !d[SG_DROP_SYN_LIMITED] && !d[SG_DROP_SYNACK_CAPPED] &&
		      !d[SG_CNT_COOKIE_SENT];
	}
	CHECK(ok, "    5 SYNs from an allowed source: all passed to the kernel, never limited nor capped");
	for (int i = 0; i < 5; i++) {
		run(h, "10.5.0.1", K_SYN, d);
		for (int k = 0; k < SG_CNT_MAX; k++)
			sum[k] += d[k];
	}
	/* (5 SYNs well within one second; the window may turn once among them) */
	if (c->syn_limit)
		CHECK(sum[SG_DROP_SYN_LIMITED] >= 1 && sum[SG_CNT_COOKIE_SENT] + sum[SG_DROP_SYN_LIMITED] == 5,
		      "    5 SYNs from a source on no list: %llu limited, %llu cookies",
		      (unsigned long long)sum[SG_DROP_SYN_LIMITED], (unsigned long long)sum[SG_CNT_COOKIE_SENT]);
	else
		CHECK(sum[SG_DROP_SYNACK_CAPPED] >= 1 && sum[SG_CNT_COOKIE_SENT] + sum[SG_DROP_SYNACK_CAPPED] == 5,
		      "    5 SYNs from a source on no list: %llu capped, %llu cookies",
		      (unsigned long long)sum[SG_DROP_SYNACK_CAPPED], (unsigned long long)sum[SG_CNT_COOKIE_SENT]);
}

/* Empty slots match nothing; a swap replaces a whole list at once. */
static void test_swap(struct h_ctx *h)
{
	static const char *const other[] = { "10.4.0.0/16" };
	__u64 d[SG_CNT_MAX];
	__u32 rv;

	printf("  empty slots, swaps\n");
	rv = run(h, "10.9.0.1", K_SYN, d);
	CHECK(rv == XDP_TX_ && !d[SG_DROP_DENIED], "    before any list is loaded: nothing denied (a cookie)");
	CHECK(!load_lists(h), "    lists built and swapped in");
	rv = run(h, "10.9.0.1", K_SYN, d);
	CHECK(rv == XDP_DROP_ && d[SG_DROP_DENIED] == 1, "    10.9.0.1 denied");
	CHECK(!load_list(h->skel->maps.sg_deny, other, 1), "    a new deny list swapped in (10.4.0.0/16)");
	rv = run(h, "10.9.0.1", K_SYN, d);
	CHECK(rv == XDP_TX_ && !d[SG_DROP_DENIED], "    10.9.0.1 no longer denied");
	rv = run(h, "10.4.200.1", K_UDP, d);
	CHECK(rv == XDP_DROP_ && d[SG_DROP_DENIED] == 1, "    10.4.200.1 denied");
	CHECK(!load_list(h->skel->maps.sg_deny, NULL, 0), "    an empty deny list swapped in");
	rv = run(h, "10.4.200.1", K_UDP, d);
	CHECK(rv == XDP_PASS_ && !d[SG_DROP_DENIED], "    10.4.200.1 no longer denied");
	CHECK(!load_lists(h), "    the test's lists back");
}

static int open_with(struct h_ctx *h, struct pol_cfg *c, const char *what)
{
	int err = h_open(h, configure, c);

	CHECK(!err, "  load: %s (%d)", what, err);
	if (err)
		return err;
	set_port(h, port);
	sg_cookie_rotate(bpf_map__fd(h->skel->maps.sg_ck_secrets));
	return 0;
}

void test_policy(void)
{
	struct h_ctx *h = calloc(1, sizeof(*h));
	struct pol_cfg c = { .mode = SG_MODE_PROTECT, .deny = 1, .allow = 1 };
	__u64 d[SG_CNT_MAX];

	port = 0;
	lfd4 = h_listen(AF_INET, &port);
	lfd6 = h_listen(AF_INET6, &port);
	if (!h || lfd4 < 0 || lfd6 < 0) {
		CHECK(0, "  listening sockets: %s", strerror(errno));
		goto out;
	}
	if (!open_with(h, &c, "protect mode, --deny and --allow")) {
		test_swap(h);
		test_deny(h);
		test_allow(h);
		h_close(h);
	}
	c.syn_limit = 2;
	if (!open_with(h, &c, "protect mode, lists, --syn-limit 2")) {
		load_lists(h);
		test_order(h, &c);
		h_close(h);
	}
	c.syn_limit = 0;
	c.synack_cap = 2;
	if (!open_with(h, &c, "protect mode, lists, --synack-cap 2")) {
		load_lists(h);
		test_order(h, &c);
		h_close(h);
	}
	c = (struct pol_cfg){ .mode = SG_MODE_MONITOR, .deny = 1 };
	if (!open_with(h, &c, "monitor mode, --deny only")) {
		load_lists(h);
		printf("  monitor mode: deny drops all the same\n");
		CHECK(run(h, "fd00:9::1", K_SYN, d) == XDP_DROP_ && d[SG_DROP_DENIED] == 1, "    IPv6 SYN dropped");
		CHECK(run(h, "10.9.0.9", K_UDP, d) == XDP_DROP_ && d[SG_DROP_DENIED] == 1, "    UDP dropped");
		CHECK(run(h, "10.7.0.1", K_SYN, d) == XDP_PASS_ && d[SG_CNT_FLOW_NEW] == 1,
		      "    --allow not given: its list is never read (10.7.0.1 tracked, passed)");
		h_close(h);
	}
	c = (struct pol_cfg){ .mode = SG_MODE_PROTECT };
	if (!open_with(h, &c, "protect mode, no lists (the lookups verified away)")) {
		load_lists(h);	/* filled, but the programs never look */
		CHECK(run(h, "10.9.0.1", K_SYN, d) == XDP_TX_ && !d[SG_DROP_DENIED],
		      "    without --deny nothing is denied");
		h_close(h);
	}
out:
	if (lfd4 >= 0)
		close(lfd4);
	if (lfd6 >= 0)
		close(lfd6);
	free(h);
}
