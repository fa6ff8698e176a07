// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_syncookie.c - SYN cookies through the real XDP/TC programs with
 * BPF_PROG_TEST_RUN: SYN -> SYN-ACK bytes checked by an independent decoder,
 * ACK validation (valid, wrong, expired, rotations), what must pass
 * untouched, and the TC handoff program without a listener.
 *
 * The program runs in protect mode with an explicit --ports list. A SYN is
 * answered only when a listener exists (bpf_skc_lookup_tcp in the test's
 * netns, where BPF_PROG_TEST_RUN runs XDP), so the test listens on
 * 0.0.0.0:P and [::]:P. SG_BENCH=N also times N single runs per case.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "decode.h"
#include "sg_cookie.h"
#include "cookie.h"
#include "skhint.h"

#define XDP_DROP_ 1
#define XDP_PASS_ 2
#define XDP_TX_ 3


struct ck_cfg {
	int ts, sack, ws;	/* sysctls as the program sees them */
	int untracked;		/* a -p filter no test port matches */
};

static __u16 port_open, port_closed, port_unprot;
static int lfd4 = -1, lfd6 = -1;

static void configure(struct synguard_bpf *skel, void *arg)
{
	struct ck_cfg *c = arg;

	struct sg_settings *s = &skel->rodata->sg_cfg;

	s->mode = SG_MODE_PROTECT;
	s->explicit_ports = 1;	/* --ports */
	s->allow_ts = c->ts;
	s->allow_sack = c->sack;
	s->allow_ws = c->ws;
	s->wscale = 7;
	s->mss4 = 1460;
	s->mss6 = 1440;
	s->port_filter = c->untracked;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int free_port(void)
{
	__u16 p = 0;
	int fd = h_listen(AF_INET, &p);

	close(fd);
	return p;
}

static void set_port(struct h_ctx *h, __u32 port, __u32 flags)
{
	struct sg_port_cfg pc = { .flags = flags };

	bpf_map_update_elem(bpf_map__fd(h->skel->maps.sg_ck_ports), &port, &pc, BPF_ANY);
}

/* The rotation synguard runs (user/cookie.c): a fresh key in the idle slot. */
static int rotate(struct h_ctx *h)
{
	return sg_cookie_rotate(bpf_map__fd(h->skel->maps.sg_ck_secrets));
}

static void get_keys(struct h_ctx *h, struct sg_cookie_secrets *s)
{
	__u32 zero = 0;

	memset(s, 0, sizeof(*s));
	bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.sg_ck_secrets), &zero, s);
}

/* ---- the SYN-ACK decoder: tests/prog/decode.c ---- */

static void cookie_in(struct sg_cookie_in *in, int family, const char *cli, const char *srv,
		      __u16 sport, __u16 dport, __u32 isn)
{
	memset(in, 0, sizeof(*in));
	inet_pton(family == 6 ? AF_INET6 : AF_INET, cli, in->saddr);
	inet_pton(family == 6 ? AF_INET6 : AF_INET, srv, in->daddr);
	in->sport = sport;
	in->dport = dport;
	in->isn = isn;
	in->family = family;
}

/* ---- SYN cases ---- */

struct syn_case {
	const char *name;
	int family, vlan;
	const __u8 *opts;
	__u32 optlen, payload;
	/* what the client offered */
	int c_mss, c_ts, c_ws, c_sack;
	__u16 mss_val;
	__u8 ws_val;
	__u32 tsval;
};

static const __u8 o_mss[] = { 2, 4, 0x05, 0xb4 };
static const __u8 o_odd[] = { 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0,	/* TS 12345 first */
			      3, 3, 2, 1,				/* WS 2, NOP */
			      2, 4, 0x05, 0x78,				/* MSS 1400 */
			      1, 1, 4, 2, 0, 0 };			/* NOP NOP SACK_PERM EOL */
static const __u8 o_ws14[] = { 2, 4, 0x23, 0x28,			/* MSS 9000 */
			       4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0,	/* SACK, TS 7 */
			       1, 3, 3, 14 };				/* WS 14 */
static const __u8 o_nots[] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7 };
static const __u8 o_overrun[] = { 2, 4, 0x05, 0xb4, 8, 30, 0, 0 };	/* TS len 30 */

static void check_synack(struct h_ctx *h, const struct syn_case *sc, const struct ck_cfg *cfg)
{
	const char *cli = sc->family == 6 ? "fd00::2" : "10.1.0.2";
	const char *srv = sc->family == 6 ? "fd00::1" : "10.1.0.1";
	struct h_pkt pk = { .family = sc->family, .vlan = sc->vlan, .saddr = cli, .daddr = srv,
			    .sport = 40000, .dport = port_open, .seq = 0x11223344,
			    .flags = SG_TCP_SYN | SG_TCP_ECE | SG_TCP_CWR, .opts = sc->opts,
			    .optlen = sc->optlen, .payload = sc->payload };
	__u8 in[H_MAX_FRAME];
	struct h_run r;
	struct h_synack s;
	struct sg_cookie_secrets sec;
	struct sg_cookie_in ci;
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX];
	__u32 idx = 99;
	int len = h_build(&pk, in, sizeof(in)), ts, ws, sack, ecn, rc;
	__u8 a[16];

	h_counters(h, before);
	rc = h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, len, &r);
	h_counters(h, after);
	printf("  %s:\n", sc->name);
	CHECK(!rc && r.retval == XDP_TX_, "    XDP_TX (retval %u)", r.retval);
	if (rc || r.retval != XDP_TX_)
		return;
	CHECK(after[SG_CNT_COOKIE_SENT] == before[SG_CNT_COOKIE_SENT] + 1, "    cookies_sent +1");
	CHECK(h_verify_csums(r.out, r.out_len) == 0, "    IP and TCP checksums valid (recomputed)");
	CHECK(h_synack_decode(r.out, r.out_len, &s) == 0, "    decodes as TCP/IP%d", sc->family);
	CHECK(!memcmp(s.dmac, in + 6, 6) && !memcmp(s.smac, in, 6), "    MACs swapped");
	CHECK(s.vlan == sc->vlan, "    VLAN tag kept (%d)", s.vlan);
	inet_pton(sc->family == 6 ? AF_INET6 : AF_INET, cli, a);
	CHECK(!memcmp(s.daddr, a, sc->family == 6 ? 16 : 4), "    daddr = client");
	inet_pton(sc->family == 6 ? AF_INET6 : AF_INET, srv, a);
	CHECK(!memcmp(s.saddr, a, sc->family == 6 ? 16 : 4), "    saddr = server");
	CHECK(s.sport == port_open && s.dport == 40000, "    ports swapped");
	CHECK(s.flags == (SG_TCP_SYN | SG_TCP_ACK), "    flags SYN|ACK only (0x%02x; no ECE)", s.flags);
	CHECK(s.ack == 0x11223345, "    ack = ISN+1");
	CHECK(s.win != 0, "    window %u != 0", s.win);
	CHECK(s.ttl == 64, "    TTL/hop limit 64");
	if (sc->family == 4)
		CHECK(s.df && s.ipid == 0, "    IPv4 DF, id 0");
	CHECK(s.tcp_len == (__u32)s.doff, "    no payload (TCP length %u)", s.tcp_len);
	CHECK(r.out_len == (sc->vlan ? 18u : 14u) + (sc->family == 6 ? 40 : 20) + s.doff,
	      "    frame length %u", r.out_len);

	get_keys(h, &sec);
	cookie_in(&ci, sc->family, cli, srv, 40000, port_open, 0x11223344);
	CHECK(sg_cookie_check(sg_cookie_mac, sec.key, &ci, s.seq, mono_ns(), &idx) == SG_COOKIE_OK,
	      "    seq 0x%08x is a valid cookie", s.seq);
	{
		__u16 cm = sc->c_mss ? sc->mss_val : (sc->family == 6 ? 1220 : 536);

		CHECK(idx == sg_mss_idx(cm, sc->family), "    cookie MSS index %u (client %u -> %u)", idx,
		      cm, sg_mss_val(idx));
	}
	CHECK(s.has_mss && s.mss == (sc->family == 6 ? 1440 : 1460), "    MSS option %u", s.mss);
	ts = sc->c_ts && cfg->ts;
	CHECK(s.has_ts == ts, "    timestamps %s", ts ? "echoed" : "absent");
	CHECK(s.has_ws == (ts && sc->c_ws && cfg->ws), "    window scale %s",
	      s.has_ws ? "offered" : "absent");
	CHECK(s.has_sack == (ts && sc->c_sack && cfg->sack), "    SACK_PERM %s",
	      s.has_sack ? "offered" : "absent");
	if (s.has_ws)
		CHECK(s.ws == 7, "    our wscale 7");
	if (ts) {
		CHECK(s.tsecr == sc->tsval, "    TSecr = client TSval (%u)", s.tsecr);
		sg_tsopts_decode(s.tsval, &ws, &sack, &ecn);
		CHECK(ws == (sc->c_ws && cfg->ws ? sc->ws_val : -1) && sack == s.has_sack && !ecn,
		      "    TSval carries wscale %d sack %d ecn %d", ws, sack, ecn);
	}
}

/* ---- ACKs ---- */

static const __u8 *ack_ts_opts(__u32 tsval, __u32 tsecr, __u8 *o)
{
	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	sg_put_be32(o + 4, tsval);
	sg_put_be32(o + 8, tsecr);
	return o;
}

/* Empty a map (the flow tables between independent cases). */
static void map_clear(struct bpf_map *m)
{
	__u8 key[64], next[64];
	int fd = bpf_map__fd(m);

	while (!bpf_map_get_next_key(fd, NULL, next)) {
		memcpy(key, next, sizeof(key));
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

/* 1: run_ack() keeps what the tracker learnt from the previous segments
 * (a connection's sequence); 0: every ACK is the first of its tuple. */
static int keep_flows;

static int run_ack(struct h_ctx *h, int family, __u16 dport, __u32 isn, __u32 cookie, __u8 flags,
		   __u32 payload, __u32 *retval, __u64 *delta)
{
	__u8 o[12], in[H_MAX_FRAME];
	struct h_pkt pk = { .family = family, .saddr = family == 6 ? "fd00::2" : "10.1.0.2",
			    .daddr = family == 6 ? "fd00::1" : "10.1.0.1", .sport = 40000,
			    .dport = dport, .seq = isn + 1, .ack = cookie + 1, .flags = flags,
			    .opts = ack_ts_opts(1000, 0x12345687, o), .optlen = 12,
			    .payload = payload };
	__u64 b[SG_CNT_MAX], a[SG_CNT_MAX];
	struct h_run r;
	int len = h_build(&pk, in, sizeof(in)), rc;

	if (!keep_flows) {
		map_clear(h->skel->maps.sg_flows4);
		map_clear(h->skel->maps.sg_flows);
		map_clear(h->skel->maps.sg_halfopen);
		map_clear(h->skel->maps.sg_ck_handed);
	}
	h_counters(h, b);
	rc = h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, len, &r);
	h_counters(h, a);
	for (int i = 0; i < SG_CNT_MAX; i++)
		delta[i] = a[i] - b[i];
	*retval = r.retval;
	return rc;
}


static __u32 make_cookie(struct h_ctx *h, int family, __u32 isn, __u64 now, int slot)
{
	struct sg_cookie_secrets sec;
	struct sg_cookie_in ci;

	get_keys(h, &sec);
	cookie_in(&ci, family, family == 6 ? "fd00::2" : "10.1.0.2",
		  family == 6 ? "fd00::1" : "10.1.0.1", 40000, port_open, isn);
	return sg_cookie_make(sg_cookie_mac, &sec.key[slot < 0 ? sec.cur : slot], slot < 0 ? sec.cur : slot,
			      &ci, now, 6);
}

/*
 * Exactly one handoff per connection: after the handshake's ACK, the
 * segments that still carry the cookie's ack number (the first request)
 * reach the new socket without a second cookie check and handoff -- the
 * tracker's flow record says so, or, for a flow it does not keep,
 * sg_ck_handed. A new handshake on the same tuple (another ISN) is
 * validated again.
 */
static void test_one_handoff(struct h_ctx *h, const char *how)
{
	__u64 d[SG_CNT_MAX];
	__u32 rv, ck, isn = 0x01020304;
	int rc;

	printf("  one handoff per connection (%s):\n", how);
	for (int fam = 4; fam <= 6; fam += 2) {
		keep_flows = 0;
		ck = make_cookie(h, fam, isn, mono_ns(), -1);
		rc = run_ack(h, fam, port_open, isn, ck, SG_TCP_ACK, 0, &rv, d);
		CHECK(!rc && rv == XDP_PASS_ && d[SG_CNT_COOKIE_VALID] == 1,
		      "    IPv%d handshake ACK: valid, handed off", fam);
		keep_flows = 1;
		rc = run_ack(h, fam, port_open, isn, ck, SG_TCP_ACK | SG_TCP_PSH, 100, &rv, d);
		CHECK(!rc && rv == XDP_PASS_ && !d[SG_CNT_COOKIE_VALID] && !d[SG_DROP_COOKIE_BAD],
		      "    IPv%d first request (same ack number): XDP_PASS, not validated again", fam);
		rc = run_ack(h, fam, port_open, isn, ck, SG_TCP_ACK | SG_TCP_PSH, 100, &rv, d);
		CHECK(!rc && rv == XDP_PASS_ && !d[SG_CNT_COOKIE_VALID],
		      "    IPv%d its retransmission: the same", fam);
		ck = make_cookie(h, fam, isn + 5000, mono_ns(), -1);
		rc = run_ack(h, fam, port_open, isn + 5000, ck, SG_TCP_ACK, 0, &rv, d);
		if (!strcmp(how, "untracked"))
			CHECK(!rc && rv == XDP_PASS_ && d[SG_CNT_COOKIE_VALID] == 1,
			      "    IPv%d a new handshake on the tuple (another ISN): validated", fam);
		else
			CHECK(!rc && rv == XDP_PASS_ && !d[SG_CNT_COOKIE_VALID] && !d[SG_DROP_COOKIE_BAD],
			      "    IPv%d any ACK of the tracked established flow: the socket's, passed", fam);
	}
	keep_flows = 0;
}

static void test_acks(struct h_ctx *h)
{
	__u64 d[SG_CNT_MAX];
	__u32 rv, ck, isn = 0x55667788;
	int rc;

	printf("  ACKs:\n");
	for (int fam = 4; fam <= 6; fam += 2) {
		ck = make_cookie(h, fam, isn, mono_ns(), -1);
		rc = run_ack(h, fam, port_open, isn, ck, SG_TCP_ACK, 0, &rv, d);
		CHECK(!rc && rv == XDP_PASS_ && d[SG_CNT_COOKIE_VALID] == 1 && !d[SG_DROP_COOKIE_BAD],
		      "    IPv%d valid cookie -> XDP_PASS, cookies_valid +1 (retval %u)", fam, rv);
		rc = run_ack(h, fam, port_open, isn, ck ^ 0x40, SG_TCP_ACK, 0, &rv, d);
		CHECK(!rc && rv == XDP_DROP_ && d[SG_DROP_COOKIE_BAD] == 1,
		      "    IPv%d wrong cookie -> XDP_DROP, drop_bad_cookie +1 (retval %u)", fam, rv);
	}
	ck = make_cookie(h, 4, isn, mono_ns(), -1);
	rc = run_ack(h, 4, port_open, isn + 1, ck, SG_TCP_ACK, 0, &rv, d);
	CHECK(!rc && rv == XDP_DROP_, "    cookie for another ISN -> XDP_DROP");
	ck = make_cookie(h, 4, isn, mono_ns(), -1);
	rc = run_ack(h, 4, port_open, isn, ck, SG_TCP_ACK | SG_TCP_PSH, 100, &rv, d);
	CHECK(!rc && rv == XDP_PASS_ && d[SG_CNT_COOKIE_VALID] == 1,
	      "    first data segment with the cookie (lost ACK) -> XDP_PASS, valid");
	ck = make_cookie(h, 4, isn, mono_ns() - (2ull << SG_COOKIE_WINDOW_SHIFT), -1);
	rc = run_ack(h, 4, port_open, isn, ck, SG_TCP_ACK, 0, &rv, d);
	CHECK(!rc && rv == XDP_DROP_ && d[SG_DROP_COOKIE_BAD] == 1,
	      "    cookie two windows old -> XDP_DROP");
	/* one window old, less twice the check's lead: its clock (the
	 * tick's, up to two ticks behind, read SG_COOKIE_CHECK_AHEAD_NS
	 * ahead) is then one window later than the cookie's, or the same */
	ck = make_cookie(h, 4, isn, mono_ns() - (1ull << SG_COOKIE_WINDOW_SHIFT) + 2 * SG_COOKIE_CHECK_AHEAD_NS, -1);
	rc = run_ack(h, 4, port_open, isn, ck, SG_TCP_ACK, 0, &rv, d);
	CHECK(!rc && rv == XDP_PASS_, "    cookie one window old -> XDP_PASS");

	/* rotation: old cookie valid after one, rejected after two */
	ck = make_cookie(h, 4, isn, mono_ns(), -1);
	rc = rotate(h);	/* not inside CHECK(): it evaluates its condition twice */
	CHECK(rc == 0, "    rotate");
	rc = run_ack(h, 4, port_open, isn, ck, SG_TCP_ACK, 0, &rv, d);
	CHECK(!rc && rv == XDP_PASS_, "    after one rotation: still valid (retval %u, rc %d)", rv, rc);
	rc = rotate(h);
	CHECK(rc == 0, "    rotate again");
	rc = run_ack(h, 4, port_open, isn, ck, SG_TCP_ACK, 0, &rv, d);
	CHECK(!rc && rv == XDP_DROP_ && d[SG_DROP_COOKIE_BAD] == 1, "    after two rotations: rejected");

	rc = run_ack(h, 4, port_open, isn, 0x1234, SG_TCP_RST, 0, &rv, d);
	CHECK(!rc && rv == XDP_PASS_, "    RST to a protected port passes");
	rc = run_ack(h, 4, port_open, isn, 0x1234, SG_TCP_RST | SG_TCP_ACK, 0, &rv, d);
	CHECK(!rc && rv == XDP_PASS_, "    RST|ACK to a protected port passes");
	rc = run_ack(h, 4, port_unprot, isn, 0x1234, SG_TCP_ACK, 10, &rv, d);
	CHECK(!rc && rv == XDP_PASS_ && !d[SG_DROP_COOKIE_BAD], "    bad ACK to an unprotected port passes");
}

/* Data on an established connection (real sockets on loopback): passes. */
static void test_established(struct h_ctx *h)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port_open),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, ca;
	socklen_t sl = sizeof(ca);
	int cfd = socket(AF_INET, SOCK_STREAM, 0);
	__u8 o[12], in[H_MAX_FRAME];
	struct h_run r;
	__u64 b[SG_CNT_MAX], a[SG_CNT_MAX];

	if (cfd < 0 || connect(cfd, (void *)&sa, sizeof(sa))) {
		CHECK(0, "  connect over loopback: %s", strerror(errno));
		return;
	}
	getsockname(cfd, (void *)&ca, &sl);
	{
		struct h_pkt pk = { .family = 4, .saddr = "127.0.0.1", .daddr = "127.0.0.1",
				    .sport = ntohs(ca.sin_port), .dport = port_open, .seq = 777,
				    .ack = 888, .flags = SG_TCP_ACK | SG_TCP_PSH,
				    .opts = ack_ts_opts(1, 2, o), .optlen = 12, .payload = 50 };
		int len = h_build(&pk, in, sizeof(in));

		h_counters(h, b);
		h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, len, &r);
		h_counters(h, a);
		CHECK(r.retval == XDP_PASS_ && a[SG_DROP_COOKIE_BAD] == b[SG_DROP_COOKIE_BAD],
		      "  data on an established connection to a protected port passes (retval %u)",
		      r.retval);
	}
	close(cfd);
	/* the accepted child stays in the listener's queue; closed with it */
}

/*
 * The socket hint (include/sg_skhint.h), armed by a dump as synguard's
 * loop does it: a SYN whose tuple has an established or TIME_WAIT socket
 * still goes to the kernel although the listener cache is warm (a SYN of
 * a fresh tuple from the same address was just answered without a
 * lookup), and fresh tuples are still answered.
 */
/* A Linux SYN over loopback to dport through sg_xdp: its verdict. */
static int syn_to(struct h_ctx *h, int family, __u16 dport, __u16 sport, __u32 isn)
{
	const char *a = family == 6 ? "::1" : "127.0.0.1";
	struct h_pkt pk = { .family = family, .saddr = a, .daddr = a, .sport = sport,
			    .dport = dport, .seq = isn, .flags = SG_TCP_SYN,
			    .opts = h_linux_syn_opts, .optlen = 20 };
	__u8 in[H_MAX_FRAME];
	struct h_run r;
	int len = h_build(&pk, in, sizeof(in));

	h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, len, &r);
	return r.retval;
}

static int skhint_syn_fam(struct h_ctx *h, int family, __u16 sport, __u32 isn)
{
	return syn_to(h, family, port_open, sport, isn);
}

static int skhint_syn(struct h_ctx *h, __u16 sport, __u32 isn)
{
	return skhint_syn_fam(h, 4, sport, isn);
}

/* A connection over loopback closed by the server first: its tuple's
 * client port; the server's socket is in TIME_WAIT. 0 on failure. */
static __u16 tw_conn(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port_open),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, ca, pa;
	socklen_t sl = sizeof(ca), pl = sizeof(pa);
	int c = socket(AF_INET, SOCK_STREAM, 0), a;

	if (c < 0 || connect(c, (void *)&sa, sizeof(sa)) || getsockname(c, (void *)&ca, &sl)) {
		if (c >= 0)
			close(c);
		return 0;
	}
	a = accept(lfd4, (void *)&pa, &pl);
	if (a >= 0)
		close(a);
	usleep(20000);
	close(c);
	usleep(50000);
	return a >= 0 ? ntohs(ca.sin_port) : 0;
}

static void test_skhint(struct h_ctx *h)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port_open),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, ca;
	struct sg_skhint_user *skh = sg_skhint_open(bpf_map__fd(h->skel->maps.sg_sk_hint));
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port_open),
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT }, ca6;
	socklen_t sl = sizeof(ca);
	int cfd = socket(AF_INET, SOCK_STREAM, 0), cfd6 = socket(AF_INET6, SOCK_STREAM, 0), afd = -1,
	    afd6 = -1, n;
	__u16 est, tw, est6 = 0;

	printf("  the socket hint:\n");
	if (!skh || cfd < 0 || connect(cfd, (void *)&sa, sizeof(sa))) {
		CHECK(0, "    hint mapped, connect over loopback: %s", strerror(errno));
		goto out;
	}
	getsockname(cfd, (void *)&ca, &sl);
	est = ntohs(ca.sin_port);
	/* a second connection, closed by the server first: TIME_WAIT */
	{
		int c2 = socket(AF_INET, SOCK_STREAM, 0);

		if (c2 < 0 || connect(c2, (void *)&sa, sizeof(sa))) {
			CHECK(0, "    second connection: %s", strerror(errno));
			goto out;
		}
		sl = sizeof(ca);
		getsockname(c2, (void *)&ca, &sl);
		tw = ntohs(ca.sin_port);
		/* accept both; close the one for c2 first (server side) */
		for (int i = 0; i < 2; i++) {
			struct sockaddr_in pa;
			socklen_t pl = sizeof(pa);
			int fd = accept(lfd4, (void *)&pa, &pl);

			if (fd >= 0 && ntohs(pa.sin_port) == tw) {
				close(fd);
				usleep(20000);
				close(c2);
			} else {
				afd = fd;
			}
		}
		usleep(50000);
	}
	/* and one over IPv6 (/proc/net/tcp6) */
	sl = sizeof(ca6);
	if (cfd6 >= 0 && !connect(cfd6, (void *)&sa6, sizeof(sa6)) && !getsockname(cfd6, (void *)&ca6, &sl)) {
		est6 = ntohs(ca6.sin6_port);
		afd6 = accept(lfd6, NULL, NULL);
	}
	n = sg_skhint_dump(skh);
	CHECK(n >= 3, "    dump of /proc/net/tcp*: %d sockets marked, hint armed", n);
	CHECK(skhint_syn(h, 50001, 1000) == XDP_TX_, "    SYN of a fresh tuple: SYN-ACK (listener cached)");
	CHECK(skhint_syn(h, 50002, 2000) == XDP_TX_, "    another fresh tuple: SYN-ACK");
	CHECK(skhint_syn(h, est, 3000) == XDP_PASS_,
	      "    SYN on the tuple of an established connection: XDP_PASS (its socket decides)");
	CHECK(skhint_syn(h, tw, 4000) == XDP_PASS_,
	      "    SYN on a tuple in TIME_WAIT: XDP_PASS (the TIME_WAIT socket decides)");
	CHECK(skhint_syn_fam(h, 6, 50003, 4500) == XDP_TX_, "    IPv6: a fresh tuple: SYN-ACK (listener cached)");
	CHECK(est6 && skhint_syn_fam(h, 6, est6, 4600) == XDP_PASS_,
	      "    IPv6: SYN on the tuple of an established connection: XDP_PASS");
	/* a TIME_WAIT made after the dump: the server's FIN through TC
	 * egress marks it (loopback's own FIN went elsewhere: replayed) */
	tw = tw_conn();
	{
		struct h_pkt fin = { .family = 4, .saddr = "127.0.0.1", .daddr = "127.0.0.1",
				     .sport = port_open, .dport = tw, .seq = 5000, .ack = 6000,
				     .flags = SG_TCP_FIN | SG_TCP_ACK };
		__u8 in[H_MAX_FRAME];
		struct h_run r;
		int len = h_build(&fin, in, sizeof(in));

		CHECK(tw && !h_run_tc(bpf_program__fd(h->skel->progs.sg_tc_egress), in, len, &r),
		      "    a new connection closed by the server, its FIN through TC egress");
	}
	CHECK(skhint_syn(h, tw, 7000) == XDP_PASS_,
	      "    SYN on that TIME_WAIT tuple, no dump since: XDP_PASS (the FIN marked it)");
out:
	if (afd6 >= 0)
		close(afd6);
	if (cfd6 >= 0)
		close(cfd6);
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	sg_skhint_close(skh);
}

static void test_passes(struct h_ctx *h)
{
	__u8 in[H_MAX_FRAME];
	struct h_run r;
	int len;

	printf("  untouched:\n");
	{
		struct h_pkt pk = { .family = 4, .saddr = "10.1.0.2", .daddr = "10.1.0.1", .sport = 40000,
				    .dport = port_unprot, .seq = 1, .flags = SG_TCP_SYN,
				    .opts = h_linux_syn_opts, .optlen = 20 };

		len = h_build(&pk, in, sizeof(in));
		h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, len, &r);
		CHECK(r.retval == XDP_PASS_ && r.out_len == (__u32)len && !memcmp(r.out, in, len),
		      "    SYN to an unprotected port: XDP_PASS, bytes unchanged");
		pk.dport = port_closed;
		len = h_build(&pk, in, sizeof(in));
		h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, len, &r);
		CHECK(r.retval == XDP_PASS_ && !memcmp(r.out, in, len),
		      "    SYN to a protected port without listener: XDP_PASS (kernel RSTs)");
		pk.dport = port_open;
		pk.opts = o_overrun;
		pk.optlen = sizeof(o_overrun);
		len = h_build(&pk, in, sizeof(in));
		h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, len, &r);
		CHECK(r.retval == XDP_PASS_ && !memcmp(r.out, in, len),
		      "    SYN with overrunning options: XDP_PASS, untouched");
		/* truncated: the IP length claims more than the frame holds */
		pk.opts = h_linux_syn_opts;
		pk.optlen = 20;
		len = h_build(&pk, in, sizeof(in));
		h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, len - 12, &r);
		CHECK(r.retval == XDP_PASS_, "    truncated SYN: XDP_PASS");
		pk.flags = SG_TCP_SYN | SG_TCP_FIN;
		len = h_build(&pk, in, sizeof(in));
		h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, len, &r);
		CHECK(r.retval == XDP_PASS_ && !memcmp(r.out, in, len), "    SYN|FIN: XDP_PASS, untouched");
	}
}

/*
 * A SYN is answered only if its checksums hold: one damaged on the way is
 * passed to the kernel untouched (which drops it), counted as
 * bad_checksum, and not tracked. A SYN from a local sender with transmit
 * checksum offload (veth: CHECKSUM_PARTIAL) carries only the pseudo-header's
 * sum in its checksum field, and is answered.
 */
enum damage { D_IP_CSUM, D_TCP_CSUM, D_SADDR, D_LAST_DATA_BYTE, D_PARTIAL };

static void csum_case(struct h_ctx *h, const char *what, int family, __u32 payload, enum damage d)
{
	const char *cli = family == 6 ? "fd00::2" : "10.1.0.2", *srv = family == 6 ? "fd00::1" : "10.1.0.1";
	struct h_pkt pk = { .family = family, .saddr = cli, .daddr = srv, .sport = 40123, .dport = port_open,
			    .seq = 0x01020304, .flags = SG_TCP_SYN, .opts = h_linux_syn_opts, .optlen = 20,
			    .payload = payload };
	__u32 l3 = 14, l4 = l3 + (family == 6 ? 40 : 20), tcplen = 20 + 20 + payload;
	__u64 b[SG_CNT_MAX], a[SG_CNT_MAX];
	__u8 in[H_MAX_FRAME];
	struct h_run r;
	int len = h_build(&pk, in, sizeof(in)), rc, flows;

	switch (d) {
	case D_IP_CSUM:
		in[l3 + 10] ^= 0x01;
		break;
	case D_TCP_CSUM:
		in[l4 + 16] ^= 0x40;
		break;
	case D_SADDR:	/* a source address bit flipped, the IPv4 header checksum fixed up */
		in[l3 + (family == 6 ? 8 + 15 : 12 + 3)] ^= 0x08;
		if (family == 4) {
			__u16 c;

			in[l3 + 10] = in[l3 + 11] = 0;
			c = h_csum_fold(h_csum_add(0, in + l3, 20));
			in[l3 + 10] = c >> 8;
			in[l3 + 11] = c & 0xff;
		}
		break;
	case D_LAST_DATA_BYTE:
		in[l4 + tcplen - 1] ^= 0x20;
		break;
	case D_PARTIAL: {	/* what a veth peer with tx offload sends */
		__u32 sum = h_csum_add(0, in + l3 + (family == 6 ? 8 : 12), family == 6 ? 32 : 8) + 6 + tcplen;
		__u16 c = (__u16)~h_csum_fold(sum);

		in[l4 + 16] = c >> 8;
		in[l4 + 17] = c & 0xff;
		break;
	}
	}
	map_clear(h->skel->maps.sg_halfopen);
	h_counters(h, b);
	rc = h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), in, len, &r);
	h_counters(h, a);
	flows = bpf_map_get_next_key(bpf_map__fd(h->skel->maps.sg_halfopen), NULL, (__u8[64]){ 0 }) == 0;
	if (d == D_PARTIAL) {
		CHECK(!rc && r.retval == XDP_TX_ && a[SG_CNT_COOKIE_SENT] == b[SG_CNT_COOKIE_SENT] + 1 &&
			      a[SG_CNT_BAD_CSUM] == b[SG_CNT_BAD_CSUM] && h_verify_csums(r.out, r.out_len) == 0,
		      "    %s: answered (XDP_TX, SYN-ACK checksums valid)", what);
		return;
	}
	CHECK(!rc && r.retval == XDP_PASS_ && r.out_len == (__u32)len && !memcmp(r.out, in, len),
	      "    %s: XDP_PASS, untouched (retval %u)", what, r.retval);
	CHECK(a[SG_CNT_BAD_CSUM] == b[SG_CNT_BAD_CSUM] + 1 && a[SG_CNT_COOKIE_SENT] == b[SG_CNT_COOKIE_SENT] &&
		      a[SG_CNT_SYN] == b[SG_CNT_SYN] + 1 && !flows,
	      "    %s: bad_checksum +1, no cookie, not tracked", what);
}

static void test_csums(struct h_ctx *h)
{
	printf("  SYN checksums:\n");
	csum_case(h, "IPv4 header checksum wrong", 4, 0, D_IP_CSUM);
	csum_case(h, "IPv4 TCP checksum wrong", 4, 0, D_TCP_CSUM);
	csum_case(h, "IPv4 source address damaged (header checksum fixed up)", 4, 0, D_SADDR);
	csum_case(h, "IPv4 TFO SYN, 1000 bytes, last data byte damaged", 4, 1000, D_LAST_DATA_BYTE);
	csum_case(h, "IPv4 TFO SYN, 333 bytes (odd), last data byte damaged", 4, 333, D_LAST_DATA_BYTE);
	csum_case(h, "IPv6 TCP checksum wrong", 6, 0, D_TCP_CSUM);
	csum_case(h, "IPv6 source address damaged", 6, 0, D_SADDR);
	csum_case(h, "IPv6 TFO SYN, 77 bytes, last data byte damaged", 6, 77, D_LAST_DATA_BYTE);
	csum_case(h, "IPv4 SYN with a partial checksum (tx offload)", 4, 0, D_PARTIAL);
	csum_case(h, "IPv6 SYN with a partial checksum (tx offload)", 6, 0, D_PARTIAL);
	csum_case(h, "IPv4 TFO SYN, 100 bytes, partial checksum", 4, 100, D_PARTIAL);
}

static void test_tc(struct h_ctx *h)
{
	__u8 o[12], in[H_MAX_FRAME];
	struct h_pkt pk = { .family = 4, .saddr = "10.1.0.2", .daddr = "10.1.0.1", .sport = 40000,
			    .dport = port_open, .seq = 2, .ack = 0x1001, .flags = SG_TCP_ACK,
			    .opts = ack_ts_opts(1, 2, o), .optlen = 12 };
	__u64 b[SG_CNT_MAX], a[SG_CNT_MAX];
	struct h_run r;
	int len = h_build(&pk, in, sizeof(in)), rc;

	h_counters(h, b);
	rc = h_run_tc(bpf_program__fd(h->skel->progs.sg_tc_ingress), in, len, &r);
	h_counters(h, a);
	CHECK(!rc && r.retval == 0 && a[SG_CNT_COOKIE_HANDOFF] == b[SG_CNT_COOKIE_HANDOFF],
	      "  TC ingress: ACK without XDP metadata -> TC_ACT_OK, no handoff attempted (rc %d)", rc);
}

static __u32 verified_insns(int fd)
{
	struct bpf_prog_info info = {};
	__u32 l = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &l) ? 0 : info.verified_insns;
}

static double time_runs(int fd, const __u8 *in, int len, int n)
{
	struct h_run r;
	double sum = 0;

	for (int i = 0; i < n; i++) {
		h_run_xdp(fd, in, len, &r);
		sum += r.duration_ns;
	}
	return sum / n;
}

static void bench(struct h_ctx *h, int n)
{
	int fd = bpf_program__fd(h->skel->progs.sg_xdp);
	__u8 syn[H_MAX_FRAME], ack[H_MAX_FRAME], bad[H_MAX_FRAME], base[H_MAX_FRAME], o[12];
	struct h_pkt pk = { .family = 4, .saddr = "10.1.0.2", .daddr = "10.1.0.1", .sport = 40000,
			    .dport = port_open, .seq = 0x55667788, .flags = SG_TCP_SYN,
			    .opts = h_linux_syn_opts, .optlen = 20 };
	int ls, la, lb, l0;
	double t0, ts, ta, tb;
	__u32 ck = make_cookie(h, 4, 0x55667788, mono_ns(), -1);

	ls = h_build(&pk, syn, sizeof(syn));
	pk.dport = port_unprot;	/* baseline: a SYN to an unprotected port, XDP_PASS */
	l0 = h_build(&pk, base, sizeof(base));
	pk.dport = port_open;
	pk.flags = SG_TCP_ACK;
	pk.seq = 0x55667789;
	pk.ack = ck + 1;
	pk.opts = ack_ts_opts(1000, 0x12345687, o);
	pk.optlen = 12;
	la = h_build(&pk, ack, sizeof(ack));
	pk.ack = ck + 2;
	lb = h_build(&pk, bad, sizeof(bad));
	t0 = time_runs(fd, base, l0, n);
	ts = time_runs(fd, syn, ls, n);
	ta = time_runs(fd, ack, la, n);
	tb = time_runs(fd, bad, lb, n);
	printf("  bench (%d single runs each, mean ns): baseline XDP_PASS %.0f; SYN->SYN-ACK %.0f (+%.0f); "
	       "valid ACK %.0f (+%.0f); bad ACK (cookie+lookup+drop) %.0f (+%.0f)\n",
	       n, t0, ts, ts - t0, ta, ta - t0, tb, tb - t0);
}

/*
 * Per-port counts (include/sg_cookie.h, sg_ck_slots): a port counts in its
 * slot, a second port mapped to the same slot in its sg_ck_stats entry,
 * and the totals userspace reads are each port's own. On one CPU, so that
 * the slot is the first port's for all the SYNs.
 */
static void test_port_stats(struct h_ctx *h)
{
	int fds = bpf_map__fd(h->skel->maps.sg_ck_stats), fdl = bpf_map__fd(h->skel->maps.sg_ck_slots);
	int ncpu = libbpf_num_possible_cpus(), lfd = -1, cpu = sched_getcpu(), ok = 1;
	struct sg_port_stats a0 = {}, b0 = {}, a1 = {}, b1 = {}, bh = {}, ah0 = {}, ah1 = {};
	cpu_set_t old, one;
	__u16 p2 = 0;

	for (int k = 1; k < 63 && lfd < 0; k++) {
		p2 = port_open ^ (k << 10);	/* the same slot: the same low 10 bits */
		if (p2 >= 1024)
			lfd = h_listen(AF_INET, &p2);
	}
	if (!CHECK(lfd >= 0 && (p2 & (SG_CK_SLOTS - 1)) == (port_open & (SG_CK_SLOTS - 1)),
		   "  a listener on port %u, which shares port %u's slot", p2, port_open))
		return;
	set_port(h, p2, SG_PORT_PROTECTED);
	sched_getaffinity(0, sizeof(old), &old);
	CPU_ZERO(&one);
	CPU_SET(cpu < 0 ? 0 : cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
	sg_port_stats_sum(fds, fdl, ncpu, port_open, &a0);
	sg_port_stats_sum(fds, -1, ncpu, port_open, &ah0);
	sg_port_stats_sum(fds, fdl, ncpu, p2, &b0);
	for (int i = 0; i < 5; i++)
		ok &= syn_to(h, 4, port_open, 41000 + i, 0x1000 + i) == XDP_TX;
	for (int i = 0; i < 3; i++)
		ok &= syn_to(h, 4, p2, 42000 + i, 0x2000 + i) == XDP_TX;
	CHECK(ok, "  5 SYNs to %u, 3 to %u: all answered", port_open, p2);
	ok = !sg_port_stats_sum(fds, fdl, ncpu, port_open, &a1);
	ok &= !sg_port_stats_sum(fds, fdl, ncpu, p2, &b1);
	ok &= !sg_port_stats_sum(fds, -1, ncpu, p2, &bh);
	ok &= !sg_port_stats_sum(fds, -1, ncpu, port_open, &ah1);
	CHECK(ok, "  both ports' counts read");
	CHECK(a1.syns - a0.syns == 5 && a1.sent - a0.sent == 5,
	      "  port %u: +%llu SYNs, +%llu cookies sent (want 5, 5)", port_open,
	      (unsigned long long)(a1.syns - a0.syns), (unsigned long long)(a1.sent - a0.sent));
	CHECK(b1.syns - b0.syns == 3 && b1.sent - b0.sent == 3,
	      "  port %u: +%llu SYNs, +%llu cookies sent (want 3, 3)", p2,
	      (unsigned long long)(b1.syns - b0.syns), (unsigned long long)(b1.sent - b0.sent));
	CHECK(ah1.syns == ah0.syns && ah1.sent == ah0.sent,
	      "  port %u counted in its slot: its sg_ck_stats entry did not move (+%llu)", port_open,
	      (unsigned long long)(ah1.syns - ah0.syns));
	CHECK(bh.syns == b1.syns,
	      "  port %u counted in its sg_ck_stats entry: its slot is %u's", p2, port_open);
	sched_setaffinity(0, sizeof(old), &old);
	set_port(h, p2, 0);
	close(lfd);
}

void test_syncookie(void)
{
	static const struct ck_cfg all = { 1, 1, 1 }, nots = { 0, 1, 1 };
	struct h_ctx *h = calloc(1, sizeof(*h));
	struct ck_cfg cfg = all;
	const struct syn_case cases[] = {
		{ "IPv4 SYN, no options", 4, 0, NULL, 0, 0, 0, 0, 0, 0 },
		{ "IPv4 SYN, MSS only", 4, 0, o_mss, 4, 0, 1, 0, 0, 0, 1460 },
		{ "IPv4 SYN, full Linux set", 4, 0, h_linux_syn_opts, 20, 0, 1, 1, 1, 1, 1460, 7,
		  0x12345678 },
		{ "IPv4 SYN, odd option order", 4, 0, o_odd, sizeof(o_odd), 0, 1, 1, 1, 1, 1400, 2, 12345 },
		{ "IPv4 SYN, wscale 14, MSS 9000", 4, 0, o_ws14, 20, 0, 1, 1, 1, 1, 9000, 14, 7 },
		{ "IPv4 SYN, no timestamps", 4, 0, o_nots, sizeof(o_nots), 0, 1, 0, 1, 1, 1460, 7 },
		{ "IPv4 SYN with 100 bytes of data (TFO): answered, data cut", 4, 0, h_linux_syn_opts, 20,
		  100, 1, 1, 1, 1, 1460, 7, 0x12345678 },
		{ "IPv4 SYN with 1400 bytes of data (TFO; checksum over 5 blocks and a tail)", 4, 0,
		  h_linux_syn_opts, 20, 1400, 1, 1, 1, 1, 1460, 7, 0x12345678 },
		{ "IPv4 SYN with 333 bytes of data (TFO; odd length)", 4, 0, h_linux_syn_opts, 20, 333, 1, 1,
		  1, 1, 1460, 7, 0x12345678 },
		{ "IPv6 SYN with 1 byte of data (TFO)", 6, 0, o_mss, 4, 1, 1, 0, 0, 0, 1460 },
		{ "IPv6 SYN, full Linux set", 6, 0, h_linux_syn_opts, 20, 0, 1, 1, 1, 1, 1460, 7,
		  0x12345678 },
		{ "IPv6 SYN, no options", 6, 0, NULL, 0, 0, 0, 0, 0, 0 },
		{ "VLAN 42 IPv4 SYN, full Linux set", 4, 42, h_linux_syn_opts, 20, 0, 1, 1, 1, 1, 1460, 7,
		  0x12345678 },
		{ "VLAN 42 IPv6 SYN, MSS only", 6, 42, o_mss, 4, 0, 1, 0, 0, 0, 1460 },
	};
	int err;

	port_unprot = free_port();
	port_closed = free_port();
	port_open = 0;
	lfd4 = h_listen(AF_INET, &port_open);
	lfd6 = h_listen(AF_INET6, &port_open);
	if (lfd4 < 0 || lfd6 < 0) {
		CHECK(0, "  listening sockets: %s", strerror(errno));
		return;
	}
	if (!h_open(h, NULL, NULL)) {
		printf("  verifier, monitor mode (defaults): sg_xdp %u insns processed\n",
		       verified_insns(bpf_program__fd(h->skel->progs.sg_xdp)));
		h_close(h);
	}
	for (int pass = 0; pass < 2; pass++) {
		cfg = pass ? nots : all;
		printf(" %s\n", pass ? "[server sysctl tcp_timestamps=0]" : "[all options allowed]");
		err = h_open(h, configure, &cfg);
		CHECK(!err, "  load in protect mode (%d)", err);
		if (err)
			break;
		set_port(h, port_open, SG_PORT_PROTECTED);
		set_port(h, port_closed, SG_PORT_PROTECTED);
		err = rotate(h);
		CHECK(err == 0, "  secret + --ports %u,%u", port_open, port_closed);
		if (!pass)
			printf("  verifier: sg_xdp %u insns processed, sg_tc_ingress %u\n",
			       verified_insns(bpf_program__fd(h->skel->progs.sg_xdp)),
			       verified_insns(bpf_program__fd(h->skel->progs.sg_tc_ingress)));
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			if (!pass || cases[i].c_ts)
				check_synack(h, &cases[i], &cfg);
		if (!pass) {
			test_acks(h);
			test_established(h);
			test_skhint(h);
			test_passes(h);
			test_csums(h);
			test_tc(h);
			test_one_handoff(h, "tracked");
			test_port_stats(h);
			if (getenv("SG_BENCH"))
				bench(h, atoi(getenv("SG_BENCH")) > 0 ? atoi(getenv("SG_BENCH")) : 20000);
		}
		h_close(h);
	}
	cfg = all;
	cfg.untracked = 1;
	err = h_open(h, configure, &cfg);
	CHECK(!err, "  load in protect mode, tracking filtered out (%d)", err);
	if (!err) {
		set_port(h, port_open, SG_PORT_PROTECTED);
		rotate(h);
		test_one_handoff(h, "untracked");
		h_close(h);
	}
	close(lfd4);
	close(lfd6);
	free(h);
}
