// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_parsers.c - libFuzzer target (clang -fsanitize=fuzzer,address,undefined)
 * for synguard's pure-C parsers and state machine. The first input byte
 * picks the target, the rest is its input:
 *
 *   0 sg_parse_u32        a number in [min, max] or -1, nothing written on -1
 *   1 sg_parse_seconds    finite, in [min, max], or -1
 *   2 sg_parse_port_list  1..max ports in 1..65535, or -1 and nothing written
 *   3 sg_parse_cidr       family 4/6, prefix in range, host bits clear, or -1
 *   4 TCP options         include/sg_cookie.h's parser never reads past the
 *                         options or the frame's end, agrees with the
 *                         independent tests/prog/decode.c parser, and the
 *                         SYN-ACK options written from it are well-formed
 *   5 cookie and TSval    make/check round trip in the cookie's window and the
 *                         next, rejected two windows later; TSval option bits
 *                         decode to what was encoded
 *   6 flow state machine  include/sg_flow.h fed a segment sequence: states in
 *                         range, transitions chain (each from = the side's
 *                         state, from != to), never more than SG_FSM_MAX_TR,
 *                         and sg_flow_count() doing exactly what
 *                         sg_flow_segment() does for a steady segment
 *
 * A broken property calls abort(), which libFuzzer reports with the input.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_user.h"
#include "sg_cookie.h"
#include "sg_flow.h"
#include "decode.h"

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_parsers: %s:%d: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Input bytes as a NUL-terminated string in a buffer of exactly that size. */
static char *str_of(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, d, n);
	s[n] = 0;
	return s;
}

static uint32_t rd32(const uint8_t *d)
{
	return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

static uint64_t rd64(const uint8_t *d)
{
	return rd32(d) | (uint64_t)rd32(d + 4) << 32;
}

static void t_u32(const uint8_t *d, size_t n)
{
	uint32_t min, max, out = 0xdeadbeef;
	char *s;

	if (n < 8)
		return;
	min = rd32(d);
	max = rd32(d + 4);
	s = str_of(d + 8, n - 8);
	if (sg_parse_u32(s, min, max, &out) == 0) {
		REQUIRE(out >= min && out <= max);
		REQUIRE(s[0] >= '0' && s[0] <= '9');
	} else {
		REQUIRE(out == 0xdeadbeef);
	}
	free(s);
}

static void t_seconds(const uint8_t *d, size_t n)
{
	static const double ranges[][2] = { { 0.1, 86400 }, { 0.1, 31536000 }, { 1, 3600 }, { 0, 1e300 } };
	double out = -42.0, min, max;
	char *s;

	if (n < 1)
		return;
	min = ranges[d[0] & 3][0];
	max = ranges[d[0] & 3][1];
	s = str_of(d + 1, n - 1);
	if (sg_parse_seconds(s, min, max, &out) == 0)
		REQUIRE(isfinite(out) && out >= min && out <= max);
	else
		REQUIRE(out == -42.0);
	free(s);
}

static void t_ports(const uint8_t *d, size_t n)
{
	__u16 ports[SG_MAX_PORTS + 8];
	int max, cnt = -7;
	char *s;

	if (n < 1)
		return;
	max = d[0] % (SG_MAX_PORTS + 8);	/* also more than SG_MAX_PORTS: refused */
	s = str_of(d + 1, n - 1);
	memset(ports, 0xa5, sizeof(ports));
	if (sg_parse_port_list(s, ports, max, &cnt) == 0) {
		REQUIRE(cnt >= 1 && cnt <= max && max <= SG_MAX_PORTS);
		for (int i = 0; i < cnt; i++)
			REQUIRE(ports[i] >= 1);
		for (int i = cnt; i < SG_MAX_PORTS + 8; i++)
			REQUIRE(ports[i] == 0xa5a5);
	} else {
		REQUIRE(cnt == -7);
		for (int i = 0; i < SG_MAX_PORTS + 8; i++)
			REQUIRE(ports[i] == 0xa5a5);
	}
	free(s);
}

static void t_cidr(const uint8_t *d, size_t n)
{
	struct sg_cidr c, before;
	char *s = str_of(d, n);

	memset(&c, 0x5a, sizeof(c));
	before = c;
	if (sg_parse_cidr(s, &c) == 0) {
		int maxp = c.family == 4 ? 32 : 128;

		REQUIRE(c.family == 4 || c.family == 6);
		REQUIRE(c.prefix <= maxp);
		if (c.family == 4)
			REQUIRE(!c.addr[1] && !c.addr[2] && !c.addr[3]);
		for (int b = c.prefix; b < maxp; b++)	/* host bits clear */
			REQUIRE(!(((const uint8_t *)c.addr)[b / 8] & (0x80 >> (b % 8))));
	} else {
		REQUIRE(!memcmp(&c, &before, sizeof(c)));
	}
	free(s);
}

static void t_tcpopts(const uint8_t *d, size_t n)
{
	struct sg_syn_opts o;
	struct h_tcpopts ref;
	__u8 *p, out[SG_SYNACK_OPT_MAX + 8];
	__u32 olen, len, avail, off = 0;
	int r, rr;

	if (n < 1)
		return;
	len = n - 1 > 60 ? 60 : (__u32)(n - 1);
	/* the options in a heap block of exactly their size: any overread is ASan's */
	p = malloc(len ? len : 1);
	if (!p)
		abort();
	memcpy(p, d + 1, len);
	r = sg_syn_opts_parse(p, len, &o);
	if (len <= SG_TCP_OPT_MAX) {
		/* the same verdict and values as the independent parser */
		rr = h_tcpopts_parse(p, len, &ref);
		REQUIRE((r == 0) == (rr == 0));
		if (r == 0) {
			REQUIRE(o.mss == (ref.has_mss ? ref.mss : 0));
			REQUIRE(o.has_ws == ref.has_ws);
			if (o.has_ws)
				REQUIRE(o.wscale == (ref.ws > SG_WSCALE_MAX ? SG_WSCALE_MAX : ref.ws));
			REQUIRE(o.sack_ok == ref.has_sack && o.has_ts == ref.has_ts && o.tfo == ref.tfo);
			if (o.has_ts)
				REQUIRE(o.tsval == ref.tsval && o.tsecr == ref.tsecr);
		}
	}
	/* a frame cut short: the step never reads at or past end */
	avail = d[0] % (len + 1);
	for (int i = 0; i < SG_TCP_OPT_MAX; i++) {
		struct sg_syn_opts t = { 0 };

		if (sg_syn_opts_parse_step(p, p + avail, len, &off, &t) != SG_OPT_CONT)
			break;
		REQUIRE(off <= len);
	}
	/* the SYN-ACK options written from what was parsed */
	memset(out, 0xee, sizeof(out));
	olen = sg_synack_opts_write(out, &o, (__u16)(d[0] << 8 | (n > 1 ? d[1] : 0)), d[0] & 15, 0x12345678, d[0] & 16, d[0] & 32,
				    d[0] & 64);
	REQUIRE(olen <= SG_SYNACK_OPT_MAX && olen % 4 == 0);
	REQUIRE(out[SG_SYNACK_OPT_MAX] == 0xee);
	REQUIRE(h_tcpopts_parse(out, olen, &ref) == 0 && ref.only_synack && ref.has_mss);
	free(p);
}

static void t_cookie(const uint8_t *d, size_t n)
{
	struct sg_cookie_key keys[2];
	struct sg_cookie_in in;
	__u64 now;
	__u32 slot, mss_idx, c, idx = 99;
	int ws, sack, ecn, w;

	if (n < 80)
		return;
	memset(&in, 0, sizeof(in));
	keys[0].k0 = rd64(d) | 1;
	keys[0].k1 = rd64(d + 8);
	keys[1].k0 = rd64(d + 16) | 1;
	keys[1].k1 = rd64(d + 24);
	in.family = d[32] & 1 ? 6 : 4;
	memcpy(in.saddr, d + 33, in.family == 6 ? 16 : 4);
	memcpy(in.daddr, d + 49, in.family == 6 ? 16 : 4);
	in.sport = (__u16)rd32(d + 65);
	in.dport = (__u16)(rd32(d + 65) >> 16);
	in.isn = rd32(d + 69);
	now = rd64(d + 72) >> 1;	/* a monotonic clock value */
	slot = d[32] >> 1 & 1;
	mss_idx = d[32] >> 2 & 7;
	c = sg_cookie_make(sg_cookie_mac, &keys[slot], slot, &in, now, mss_idx);
	REQUIRE(sg_cookie_check(sg_cookie_mac, keys, &in, c, now, &idx) == SG_COOKIE_OK && idx == mss_idx);
	REQUIRE(sg_cookie_check(sg_cookie_mac, keys, &in, c, now + (1ull << SG_COOKIE_WINDOW_SHIFT), &idx) ==
		SG_COOKIE_OK);
	REQUIRE(sg_cookie_check(sg_cookie_mac, keys, &in, c, now + (2ull << SG_COOKIE_WINDOW_SHIFT), &idx) ==
		SG_COOKIE_ERR_EXPIRED);
	in.isn++;	/* another ISN: almost surely rejected; must not crash */
	(void)sg_cookie_check(sg_cookie_mac, keys, &in, c, now, &idx);
	REQUIRE(sg_mss_idx((__u16)rd32(d + 4), in.family) <= SG_MSS_IDX_MAX);
	w = (int)(d[40] % 18) - 1;	/* -1..16 */
	sg_tsopts_decode(sg_tsopts_encode(rd32(d + 44), w, d[41] & 1, d[41] & 2), &ws, &sack, &ecn);
	REQUIRE(ws == (w < 0 ? -1 : w > SG_WSCALE_MAX ? SG_WSCALE_MAX : w));
	REQUIRE(sack == (d[41] & 1) && ecn == !!(d[41] & 2));
}

/* The transitions of out applied to st[] must chain and end in f's states.
 * A new handshake (out->new_syn) puts the server in LISTEN without a
 * transition, as a flow's first SYN does: LISTEN is implicit. */
static void chain(const struct sg_flow *f, __u8 st[2], const struct sg_fsm_out *out)
{
	REQUIRE(out->n <= SG_FSM_MAX_TR && !out->overflow);
	for (int i = 0; i < out->n; i++) {
		const struct sg_tr *t = &out->tr[i];

		REQUIRE(t->side <= SG_SIDE_SERVER && t->from < SG_STATE_MAX && t->to < SG_STATE_MAX);
		REQUIRE(t->cause < SG_CAUSE_MAX && t->closer <= SG_CLOSER_TIMEOUT);
		REQUIRE(t->from != t->to);
		REQUIRE(t->from == st[t->side]);
		st[t->side] = t->to;
	}
	if (out->new_syn && st[SG_SIDE_SERVER] == SG_CLOSED && f->state[SG_SIDE_SERVER] == SG_LISTEN)
		st[SG_SIDE_SERVER] = SG_LISTEN;
	REQUIRE(st[0] == f->state[0] && st[1] == f->state[1]);
	REQUIRE(f->state[0] < SG_STATE_MAX && f->state[1] < SG_STATE_MAX);
}

/* The states before out's transitions, from f's states after them. */
static void states_before(const struct sg_flow *f, const struct sg_fsm_out *out, __u8 st[2])
{
	st[0] = f->state[0];
	st[1] = f->state[1];
	for (int k = (out->n <= SG_FSM_MAX_TR ? out->n : SG_FSM_MAX_TR) - 1; k >= 0; k--)
		st[out->tr[k].side & 1] = out->tr[k].from;
}

static void t_flow(const uint8_t *d, size_t n)
{
	struct sg_flow f, a;
	struct sg_fsm_out out;
	__u64 now = 1000000000ull;
	__u8 st[2];

	if (n < 11)
		return;
	memset(&f, 0, sizeof(f));
	if (d[0] & 1)
		sg_flow_init_cookie(&f, d[0] >> 1 & 1, rd32(d + 1), rd32(d + 5), d[9], 0xffff, now, &out);
	else
		sg_flow_init(&f, d[0] >> 1 & 1, d[9], rd32(d + 1), rd32(d + 5), d[10], 0xffff, now, d[0] >> 2 & 1,
			     &out);
	states_before(&f, &out, st);
	chain(&f, st, &out);
	for (size_t i = 11; i + 12 <= n; i += 12) {
		const uint8_t *s = d + i;
		int from_client = s[0] & 1;
		__u8 flags = s[1];
		__u32 seq = rd32(s + 2), ack = rd32(s + 6), len = s[10] & 0x80 ? 0 : s[10];
		__u16 win = (__u16)(s[11] << 8 | s[0]);

		now += (__u64)s[11] * 1000000;
		if (s[0] & 0x80) {
			/* a timer instead */
			sg_flow_expire(&f, now + ((__u64)s[1] << 30), 60000000000ull, 30000000000ull,
				       7200000000000ull, &out);
			chain(&f, st, &out);
			continue;
		}
		if (s[0] & 0x40) {
			/* relative to what each side sent: handshakes and closes happen */
			int x = from_client ? SG_SIDE_CLIENT : SG_SIDE_SERVER;

			seq = f.snd_nxt[x] + (__u32)(__s8)s[2];
			ack = f.snd_nxt[x ^ 1] + (__u32)(__s8)s[6];
		}
		if (sg_flow_steady(&f, flags)) {
			/* sg_flow_count() must do exactly what sg_flow_segment() does */
			int rtx;

			a = f;
			rtx = sg_flow_count(&a, from_client, seq, len, win, now);
			sg_flow_segment(&f, from_client, flags, seq, ack, len, win, now, &out);
			REQUIRE(out.n == 0 && rtx == out.retrans);
			REQUIRE(!memcmp(&a, &f, sizeof(f)));
		} else {
			sg_flow_segment(&f, from_client, flags, seq, ack, len, win, now, &out);
		}
		/* a new SYN on the tuple re-initialises the record (and may swap
		 * the roles): its transitions chain from the states it left */
		if (out.new_syn)
			states_before(&f, &out, st);
		chain(&f, st, &out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 7) {
	case 0: t_u32(data + 1, size - 1); break;
	case 1: t_seconds(data + 1, size - 1); break;
	case 2: t_ports(data + 1, size - 1); break;
	case 3: t_cidr(data + 1, size - 1); break;
	case 4: t_tcpopts(data + 1, size - 1); break;
	case 5: t_cookie(data + 1, size - 1); break;
	default: t_flow(data + 1, size - 1); break;
	}
	return 0;
}
