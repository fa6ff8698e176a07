// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_limit.c - --syn-limit and --synack-cap through the real XDP program
 * (BPF_PROG_TEST_RUN): a source prefix cut to PPS SYNs per second, the
 * next second open again; the reflection cap on SYN-ACKs to one /24 or
 * /48; their order (a SYN over the limit never counts against the cap);
 * what they leave alone (other prefixes, non-SYN segments, SYNs the
 * kernel answers); and the sources userspace names (user/limit.c).
 *
 * Both count per second of bpf_ktime_get_ns(): each burst starts early in
 * a second (wait_second_start), and takes well under a millisecond.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "limit.h"
#include "sg_cookie.h"

#define XDP_DROP_ 1
#define XDP_PASS_ 2
#define XDP_TX_ 3

struct lim_cfg {
	int mode;
	__u32 syn_limit, cap;
	__u8 p4, p6;
};

static void configure(struct synguard_bpf *skel, void *arg)
{
	const struct lim_cfg *l = arg;
	struct sg_settings *s = &skel->rodata->sg_cfg;

	bpf_map__set_max_entries(skel->maps.sg_flows4, 4096);
	bpf_map__set_max_entries(skel->maps.sg_flows, 4096);
	bpf_map__set_max_entries(skel->maps.sg_halfopen, 4096);
	bpf_map__set_max_entries(skel->maps.sg_limit, 1024);
	s->mode = l->mode;
	s->explicit_ports = l->mode != SG_MODE_MONITOR;
	s->syn_limit = l->syn_limit;
	s->limit_prefix4 = l->p4;
	s->limit_prefix6 = l->p6;
	s->synack_cap = l->cap;
	s->cap_seed = 0x5eed;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Sleep to the first 200 ms of a second of the programs' clock. */
static void wait_second_start(void)
{
	__u64 in = mono_ns() % 1000000000ull;

	if (in > 200000000ull)
		usleep((1000000000ull - in) / 1000 + 1000);
}

static __u16 sport_next = 20000;

/* One segment from src to dst:port through sg_xdp: the verdict (or ~0). */
static __u32 send_seg(struct h_ctx *h, int family, const char *src, const char *dst, __u16 port, __u8 flags)
{
	struct h_pkt pk = { .family = family, .saddr = src, .daddr = dst, .sport = sport_next++, .dport = port,
			    .seq = 1000u * sport_next, .ack = flags & SG_TCP_ACK ? 77 : 0, .flags = flags,
			    .opts = h_linux_syn_opts, .optlen = 20 };
	__u8 in[H_MAX_FRAME];
	struct h_run r;
	int len = h_build(&pk, in, sizeof(in));

	if (len <= 0 || h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, (__u32)len, &r))
		return ~0u;
	return r.retval;
}

static __u64 cnt(struct h_ctx *h, int idx)
{
	__u64 c[SG_CNT_MAX];

	h_counters(h, c);
	return c[idx];
}

/* n SYNs from srcs[i % nsrc]: how many got each verdict. */
static void burst(struct h_ctx *h, int family, const char *const *srcs, int nsrc, const char *dst, __u16 port,
		  int n, int *pass, int *drop, int *tx)
{
	*pass = *drop = *tx = 0;
	for (int i = 0; i < n; i++) {
		__u32 v = send_seg(h, family, srcs[i % nsrc], dst, port, SG_TCP_SYN);

		*pass += v == XDP_PASS_;
		*drop += v == XDP_DROP_;
		*tx += v == XDP_TX_;
	}
}

static void test_syn_limit(void)
{
	struct lim_cfg l = { .mode = SG_MODE_MONITOR, .syn_limit = 5, .p4 = 24, .p6 = 64 };
	static const char *const net_a[] = { "10.2.0.1", "10.2.0.77", "10.2.0.200" };
	static const char *const net_b[] = { "10.2.1.1" };
	static const char *const v6_a[] = { "fd00:1::1", "fd00:1::ffff:2" };
	static const char *const v6_b[] = { "fd00:1:0:1::1" };
	struct sg_limited top[SG_LIMIT_TOP];
	struct sg_limit_hist *hist;
	struct h_ctx h;
	int pass, drop, tx, n;
	__u64 lim0;
	char txt[256];

	if (h_open(&h, configure, &l)) {
		CHECK(0, "limit: open with --syn-limit 5/24");
		return;
	}
	wait_second_start();
	burst(&h, 4, net_a, 3, "10.2.9.1", 80, 8, &pass, &drop, &tx);
	CHECK(pass == 5 && drop == 3, "limit 5/24: 8 SYNs from three hosts of one /24 -> 5 pass, 3 dropped (%d, %d)",
	      pass, drop);
	CHECK(cnt(&h, SG_DROP_SYN_LIMITED) == 3, "    drop_syn_limited = 3 (%llu)",
	      (unsigned long long)cnt(&h, SG_DROP_SYN_LIMITED));
	burst(&h, 4, net_b, 1, "10.2.9.1", 80, 5, &pass, &drop, &tx);
	CHECK(pass == 5 && drop == 0, "    another /24: its own 5 pass (%d pass, %d dropped)", pass, drop);
	lim0 = cnt(&h, SG_DROP_SYN_LIMITED);
	CHECK(send_seg(&h, 4, "10.2.0.1", "10.2.9.1", 80, SG_TCP_ACK) == XDP_PASS_ &&
		      send_seg(&h, 4, "10.2.0.1", "10.2.9.1", 80, SG_TCP_SYN | SG_TCP_ACK) == XDP_PASS_ &&
		      send_seg(&h, 4, "10.2.0.1", "10.2.9.1", 80, SG_TCP_RST) == XDP_PASS_ &&
		      cnt(&h, SG_DROP_SYN_LIMITED) == lim0,
	      "    the limited /24's ACK, SYN-ACK and RST pass, uncounted");
	burst(&h, 6, v6_a, 2, "fd00:9::1", 80, 7, &pass, &drop, &tx);
	CHECK(pass == 5 && drop == 2, "    IPv6: 7 SYNs from two hosts of one /64 -> 5 pass, 2 dropped (%d, %d)", pass,
	      drop);
	burst(&h, 6, v6_b, 1, "fd00:9::1", 80, 1, &pass, &drop, &tx);
	CHECK(pass == 1, "    IPv6: the next /64 passes");

	/* what the stats line names: the drops since the previous line */
	hist = sg_limit_hist_new();
	n = sg_limit_top(bpf_map__fd(h.skel->maps.sg_limit), hist, top, SG_LIMIT_TOP);
	sg_limit_text(top, n > 0 ? n : 0, txt, sizeof(txt));
	CHECK(n == 2 && top[0].drops == 3 && top[1].drops == 2 &&
		      !strcmp(txt, " limited=10.2.0.0/24:3,fd00:1::/64:2"),
	      "    top limited sources, most first: '%s' (%d)", txt, n);

	/* the next second: open again */
	usleep((1000000000ull - mono_ns() % 1000000000ull) / 1000 + 1000);
	wait_second_start();
	burst(&h, 4, net_a, 3, "10.2.9.1", 80, 6, &pass, &drop, &tx);
	CHECK(pass == 5 && drop == 1, "    the next second: 5 pass again, the 6th dropped (%d, %d)", pass, drop);
	n = sg_limit_top(bpf_map__fd(h.skel->maps.sg_limit), hist, top, SG_LIMIT_TOP);
	sg_limit_text(top, n > 0 ? n : 0, txt, sizeof(txt));
	CHECK(n == 1 && !strcmp(txt, " limited=10.2.0.0/24:1"),
	      "    the next stats line: only the drop since the last: '%s' (%d)", txt, n);
	n = sg_limit_top(bpf_map__fd(h.skel->maps.sg_limit), hist, top, SG_LIMIT_TOP);
	CHECK(n == 0, "    and the one after: nobody (%d)", n);
	n = sg_limit_top(bpf_map__fd(h.skel->maps.sg_limit), NULL, top, SG_LIMIT_TOP);
	CHECK(n == 2 && top[0].drops == 4 && top[0].key.family == 4 && top[0].key.prefix == 24,
	      "    summary: since first seen, 10.2.0.0/24 has 4 drops (%d sources, %llu)", n,
	      n > 0 ? (unsigned long long)top[0].drops : 0ull);
	sg_limit_hist_free(hist);
	h_close(&h);
}

static void test_synack_cap(int lfd, __u16 port)
{
	struct lim_cfg l = { .mode = SG_MODE_PROTECT, .cap = 3, .p4 = 32, .p6 = 64 };
	static const char *const victim[] = { "10.3.0.1", "10.3.0.2", "10.3.0.99" };
	static const char *const other[] = { "10.3.1.1" };
	static const char *const v6_victim[] = { "fd00:3:0:1::1", "fd00:3:0:2::1" };
	struct sg_port_cfg pc = { .flags = SG_PORT_PROTECTED };
	struct sg_cookie_secrets sec = {};
	struct h_ctx h;
	int pass, drop, tx;
	__u32 p = port, zero = 0;

	(void)lfd;
	if (h_open(&h, configure, &l)) {
		CHECK(0, "cap: open with --synack-cap 3");
		return;
	}
	bpf_map_update_elem(bpf_map__fd(h.skel->maps.sg_ck_ports), &p, &pc, BPF_ANY);
	sec.key[0].k0 = 1;
	sec.key[0].k1 = 2;
	bpf_map_update_elem(bpf_map__fd(h.skel->maps.sg_ck_secrets), &zero, &sec, BPF_ANY);

	wait_second_start();
	burst(&h, 4, victim, 3, "127.0.0.1", port, 7, &pass, &drop, &tx);
	CHECK(tx == 3 && drop == 4 && cnt(&h, SG_DROP_SYNACK_CAPPED) == 4 && cnt(&h, SG_CNT_COOKIE_SENT) == 3,
	      "cap 3: 7 spoofed SYNs naming one /24 -> 3 SYN-ACKs, 4 dropped as drop_synack_capped (%d tx, %d drop)",
	      tx, drop);
	burst(&h, 4, other, 1, "127.0.0.1", port, 3, &pass, &drop, &tx);
	CHECK(tx == 3 && drop == 0, "    another /24 gets its own 3 (%d tx)", tx);
	burst(&h, 6, v6_victim, 2, "::1", port, 5, &pass, &drop, &tx);
	CHECK(tx == 3 && drop == 2, "    IPv6: two /64s of one /48 share a cap: 3 SYN-ACKs, 2 dropped (%d, %d)", tx,
	      drop);
	CHECK(send_seg(&h, 4, "10.3.0.1", "127.0.0.1", (__u16)(port + 1), SG_TCP_SYN) == XDP_PASS_,
	      "    a SYN to an unprotected port passes to the kernel (the kernel's SYN-ACKs are not ours to cap)");
	CHECK(cnt(&h, SG_DROP_SYN_LIMITED) == 0 && cnt(&h, SG_DROP_COOKIE_BAD) == 0,
	      "    no other drop reason moved");
	/* (+20 ms: the cap counts seconds of the coarse clock, up to a
	 * scheduler tick behind) */
	usleep((1000000000ull - mono_ns() % 1000000000ull) / 1000 + 20000);
	wait_second_start();
	burst(&h, 4, victim, 3, "127.0.0.1", port, 4, &pass, &drop, &tx);
	CHECK(tx == 3 && drop == 1, "    the next second: 3 again (%d tx, %d drop)", tx, drop);
	h_close(&h);

	/* order: limit before cap; a SYN the limit drops never counts against the cap */
	l.syn_limit = 2;
	l.cap = 4;
	if (h_open(&h, configure, &l)) {
		CHECK(0, "order: open with --syn-limit 2 --synack-cap 4");
		return;
	}
	bpf_map_update_elem(bpf_map__fd(h.skel->maps.sg_ck_ports), &p, &pc, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(h.skel->maps.sg_ck_secrets), &zero, &sec, BPF_ANY);
	wait_second_start();
	{
		static const char *const one[] = { "10.5.0.1" };
		static const char *const two[] = { "10.5.0.2" };
		static const char *const three[] = { "10.5.0.3" };

		burst(&h, 4, one, 1, "127.0.0.1", port, 5, &pass, &drop, &tx);
		CHECK(tx == 2 && drop == 3 && cnt(&h, SG_DROP_SYN_LIMITED) == 3 && cnt(&h, SG_DROP_SYNACK_CAPPED) == 0,
		      "order: 5 SYNs from one source, limit 2, cap 4 -> 2 SYN-ACKs, 3 syn_limited, 0 capped");
		burst(&h, 4, two, 1, "127.0.0.1", port, 2, &pass, &drop, &tx);
		CHECK(tx == 2, "    a second host of that /24: its 2 SYN-ACKs fit the cap of 4 (the limited 3 did not count)");
		burst(&h, 4, three, 1, "127.0.0.1", port, 2, &pass, &drop, &tx);
		CHECK(tx == 0 && drop == 2 && cnt(&h, SG_DROP_SYNACK_CAPPED) == 2 && cnt(&h, SG_DROP_SYN_LIMITED) == 3,
		      "    a third: within its limit, over the /24's cap -> 2 synack_capped (%d tx)", tx);
	}
	h_close(&h);
}

void test_limit(void)
{
	__u16 port = 0;
	int lfd = h_listen(AF_INET, &port), lfd6;
	__u16 p6 = port;

	lfd6 = h_listen(AF_INET6, &p6);
	test_syn_limit();
	if (lfd < 0 || lfd6 < 0 || p6 != port) {
		CHECK(0, "cap: listeners on one port for IPv4 and IPv6");
	} else {
		test_synack_cap(lfd, port);
	}
	if (lfd >= 0)
		close(lfd);
	if (lfd6 >= 0)
		close(lfd6);
}
