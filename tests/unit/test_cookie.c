// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_cookie.c - unit tests for include/sg_cookie.h: SipHash-2-4 against the
 * reference vectors and an independent byte-oriented implementation, the
 * cookie (round trip, tampering, time windows, key rotation), the MSS table,
 * the TSval-carried options, the SYN option parser and the SYN-ACK writer.
 *
 * Build: make build/test_cookie
 * Output: one line per check, then "cookie: N passed, M failed" (tests/check.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sg_cookie.h"

/* ---- independent reference SipHash-2-4, byte oriented, any length ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void sipround(uint64_t v[4])
{
	v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
	v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

static uint64_t ref_siphash(const uint8_t key[16], const uint8_t *in, size_t len)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8), m, b;
	uint64_t v[4] = { 0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
			  0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1 };
	size_t i, full = len - len % 8;

	for (i = 0; i < full; i += 8) {
		m = le64(in + i);
		v[3] ^= m;
		sipround(v);
		sipround(v);
		v[0] ^= m;
	}
	b = (uint64_t)len << 56;
	for (i = 0; i < len % 8; i++)
		b |= (uint64_t)in[full + i] << (8 * i);
	v[3] ^= b;
	sipround(v);
	sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void test_siphash(void)
{
	uint8_t key[16], msg[64];
	struct sg_cookie_key k;
	__u64 w[6];
	int i, ok;

	for (i = 0; i < 16; i++)
		key[i] = i;
	for (i = 0; i < 64; i++)
		msg[i] = i;
	k.k0 = le64(key);
	k.k1 = le64(key + 8);

	/* vectors_sip64[0], [15], [48] of the SipHash reference implementation */
	CHECK(ref_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL,
	      "siphash: reference impl, published vector len 0");
	CHECK(ref_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL,
	      "siphash: reference impl, published vector len 15");
	CHECK(ref_siphash(key, msg, 48) == 0xe612a3cb9ecba951ULL,
	      "siphash: reference impl, published vector len 48");

	for (i = 0; i < 6; i++)
		w[i] = le64(msg + 8 * i);
	CHECK(sg_siphash24(&k, w) == 0xe612a3cb9ecba951ULL,
	      "siphash: sg_siphash24 = published vector len 48 (0x%016llx)",
	      (unsigned long long)sg_siphash24(&k, w));

	ok = 1;
	for (int n = 0; n < 1000; n++) {
		uint8_t rk[16], rm[48];

		k.k0 = rnd();
		k.k1 = rnd();
		put_le64(rk, k.k0);
		put_le64(rk + 8, k.k1);
		for (i = 0; i < 6; i++) {
			w[i] = rnd();
			put_le64(rm + 8 * i, w[i]);
		}
		if (sg_siphash24(&k, w) != ref_siphash(rk, rm, 48))
			ok = 0;
	}
	CHECK(ok, "siphash: sg_siphash24 = reference on 1000 random keys/messages");
}

/* ---- cookie ---- */

static const struct sg_cookie_key KEY_A = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };
static const struct sg_cookie_key KEY_B = { 0x1111111122222222ULL, 0x3333333344444444ULL };
static const struct sg_cookie_key KEY_C = { 0x5555555566666666ULL, 0x7777777788888888ULL };

#define WIN (1ULL << SG_COOKIE_WINDOW_SHIFT)
#define BASE_NS (1000 * WIN + 12345)	/* window 1000, t & 3 == 0 */

static struct sg_cookie_in in4(void)
{
	struct sg_cookie_in in = { 0 };

	in.saddr[0] = 0x0200000a;	/* 10.0.0.2 as stored in the packet */
	in.daddr[0] = 0x0100000a;
	in.sport = 51234;
	in.dport = 8080;
	in.isn = 0xdeadbeef;
	in.family = 4;
	return in;
}

static struct sg_cookie_in in6(void)
{
	struct sg_cookie_in in = { 0 };

	in.saddr[0] = 0x000080fd;	/* fd80::2 */
	in.saddr[3] = 0x02000000;
	in.daddr[0] = 0x000080fd;	/* fd80::1 */
	in.daddr[3] = 0x01000000;
	in.sport = 40000;
	in.dport = 443;
	in.isn = 0x12345678;
	in.family = 6;
	return in;
}

static int check(const struct sg_cookie_key keys[2], const struct sg_cookie_in *in,
		 __u32 cookie, __u64 now)
{
	__u32 idx = 99;

	return sg_cookie_check(sg_cookie_mac, keys, in, cookie, now, &idx);
}

static void test_cookie_layout(void)
{
	struct sg_cookie_in in = in6();
	uint8_t key[16], msg[48];
	__u64 t = sg_cookie_window(BASE_NS + 3 * WIN);
	__u64 w[6] = {
		in.saddr[0] | (__u64)in.saddr[1] << 32, in.saddr[2] | (__u64)in.saddr[3] << 32,
		in.daddr[0] | (__u64)in.daddr[1] << 32, in.daddr[2] | (__u64)in.daddr[3] << 32,
		in.sport | (__u64)in.dport << 16 | (__u64)in.isn << 32,
		t | (__u64)5 << 48 | (__u64)6 << 56,
	};
	__u32 c;
	int i;

	put_le64(key, KEY_A.k0);
	put_le64(key + 8, KEY_A.k1);
	for (i = 0; i < 6; i++)
		put_le64(msg + 8 * i, w[i]);
	c = sg_cookie_make(sg_cookie_mac, &KEY_A, 1, &in, BASE_NS + 3 * WIN, 5);
	CHECK(c >> 6 == (__u32)(ref_siphash(key, msg, 48) >> 38),
	      "cookie layout: bits 31:6 = top 26 bits of SipHash over the spec'd words (v6)");
	CHECK((c >> 5 & 1) == 1 && (c >> 3 & 3) == (t & 3) && (c & 7) == 5,
	      "cookie layout: slot bit 5, t&3 in bits 4:3, mss idx in bits 2:0");

	in = in4();
	in.saddr[1] = 0xffffffff;	/* must be ignored for IPv4 */
	t = sg_cookie_window(BASE_NS);
	w[0] = in.saddr[0];
	w[1] = 0;
	w[2] = in.daddr[0];
	w[3] = 0;
	w[4] = in.sport | (__u64)in.dport << 16 | (__u64)in.isn << 32;
	w[5] = t | (__u64)2 << 48 | (__u64)4 << 56;
	for (i = 0; i < 6; i++)
		put_le64(msg + 8 * i, w[i]);
	c = sg_cookie_make(sg_cookie_mac, &KEY_A, 0, &in, BASE_NS, 2);
	CHECK(c >> 6 == (__u32)(ref_siphash(key, msg, 48) >> 38),
	      "cookie layout: IPv4 words use addr[0] only");
}

static void test_cookie_roundtrip(void)
{
	struct sg_cookie_key keys[2] = { KEY_A, KEY_B };
	struct sg_cookie_in ins[2] = { in4(), in6() };

	for (int f = 0; f < 2; f++) {
		for (__u32 idx = 0; idx < 8; idx++) {
			for (__u32 slot = 0; slot < 2; slot++) {
				__u32 c = sg_cookie_make(sg_cookie_mac, &keys[slot], slot, &ins[f],
							 BASE_NS + idx * 7777, idx);
				__u32 got = 99;
				int r = sg_cookie_check(sg_cookie_mac, keys, &ins[f], c,
							BASE_NS + idx * 7777 + 1000, &got);

				CHECK(r == 0 && got == idx,
				      "round trip: IPv%d mss idx %u (%u) slot %u -> r=%d idx=%u",
				      ins[f].family, idx, sg_mss_val(idx), slot, r, got);
			}
		}
	}
}

static void test_cookie_tamper(void)
{
	struct sg_cookie_key keys[2] = { KEY_A, KEY_B };
	struct sg_cookie_in ins[2] = { in4(), in6() };

	for (int f = 0; f < 2; f++) {
		struct sg_cookie_in in = ins[f], x;
		__u32 c = sg_cookie_make(sg_cookie_mac, &keys[0], 0, &in, BASE_NS, 6);
		int fam = in.family, all;

		x = in; x.isn++;
		CHECK(check(keys, &x, c, BASE_NS) == SG_COOKIE_ERR_HASH, "tamper v%d: wrong isn rejected", fam);
		x = in; x.sport++;
		CHECK(check(keys, &x, c, BASE_NS) == SG_COOKIE_ERR_HASH, "tamper v%d: wrong sport rejected", fam);
		x = in; x.dport++;
		CHECK(check(keys, &x, c, BASE_NS) == SG_COOKIE_ERR_HASH, "tamper v%d: wrong dport rejected", fam);
		x = in; x.saddr[0] ^= 0x01000000;
		CHECK(check(keys, &x, c, BASE_NS) == SG_COOKIE_ERR_HASH, "tamper v%d: wrong saddr rejected", fam);
		x = in; x.daddr[0] ^= 0x01000000;
		CHECK(check(keys, &x, c, BASE_NS) == SG_COOKIE_ERR_HASH, "tamper v%d: wrong daddr rejected", fam);
		if (fam == 6) {
			x = in; x.saddr[3] ^= 1;
			CHECK(check(keys, &x, c, BASE_NS) == SG_COOKIE_ERR_HASH, "tamper v6: wrong saddr[3] rejected");
			x = in; x.daddr[2] ^= 1;
			CHECK(check(keys, &x, c, BASE_NS) == SG_COOKIE_ERR_HASH, "tamper v6: wrong daddr[2] rejected");
		}
		x = in; x.family = fam == 4 ? 6 : 4;
		CHECK(check(keys, &x, c, BASE_NS) == SG_COOKIE_ERR_HASH, "tamper v%d: wrong family rejected", fam);
		x = in; x.sport = in.dport; x.dport = in.sport;
		memcpy(x.saddr, in.daddr, sizeof(x.saddr));
		memcpy(x.daddr, in.saddr, sizeof(x.daddr));
		CHECK(check(keys, &x, c, BASE_NS) == SG_COOKIE_ERR_HASH, "tamper v%d: reversed tuple rejected", fam);

		all = 1;
		for (int b = 3; b < 32; b++)
			if (check(keys, &in, c ^ (1U << b), BASE_NS) == 0)
				all = 0;
		CHECK(all, "tamper v%d: every single-bit flip in bits 31:3 rejected", fam);
		all = 1;
		for (int b = 6; b < 32; b++)
			for (int b2 = b + 1; b2 < 32; b2++)
				if (check(keys, &in, c ^ (1U << b) ^ (1U << b2), BASE_NS) == 0)
					all = 0;
		CHECK(all, "tamper v%d: every two-bit flip in the MAC bits rejected", fam);
		{
			__u32 idx = 99;
			int r = sg_cookie_check(sg_cookie_mac, keys, &in, (c & ~7U) | 2, BASE_NS, &idx);

			CHECK(r != 0 && idx == 99,
			      "tamper v%d: changing the MSS index bits 2:0 is rejected (MAC-covered)", fam);
		}
		CHECK(check(keys, &in, 0, BASE_NS) != 0 && check(keys, &in, 0xffffffff, BASE_NS) != 0,
		      "tamper v%d: cookies 0 and 0xffffffff rejected", fam);
	}
}

static void test_cookie_time(void)
{
	struct sg_cookie_key keys[2] = { KEY_A, KEY_B };
	struct sg_cookie_in in = in4();
	__u64 end_of_win = (BASE_NS | (WIN - 1));
	__u32 c = sg_cookie_make(sg_cookie_mac, &keys[0], 0, &in, BASE_NS, 3), c2;

	CHECK(check(keys, &in, c, BASE_NS) == 0, "time: same instant OK");
	CHECK(check(keys, &in, c, end_of_win) == 0, "time: end of same window OK");
	CHECK(check(keys, &in, c, end_of_win + 1) == 0, "time: start of next window OK");
	CHECK(check(keys, &in, c, BASE_NS + WIN) == 0, "time: next window OK");
	/* the check reads its clock SG_COOKIE_CHECK_AHEAD_NS ahead (a cookie
	 * maker's clock may be that far ahead of the checker's) */
	CHECK(check(keys, &in, c, BASE_NS - 12345 + 2 * WIN - 1 - SG_COOKIE_CHECK_AHEAD_NS) == 0,
	      "time: last ns of next window (less the check's lead) OK");
	CHECK(check(keys, &in, c, BASE_NS - 12345 + 2 * WIN - SG_COOKIE_CHECK_AHEAD_NS) == SG_COOKIE_ERR_EXPIRED,
	      "time: from two windows later less the check's lead, rejected (expired)");
	CHECK(check(keys, &in, c, BASE_NS - 12345 + 2 * WIN) == SG_COOKIE_ERR_EXPIRED,
	      "time: first ns two windows later rejected (expired)");
	c2 = sg_cookie_make(sg_cookie_mac, &keys[0], 0, &in, BASE_NS - 12345 + WIN, 3);
	CHECK(check(keys, &in, c2, BASE_NS - 12345 + WIN - SG_COOKIE_CHECK_AHEAD_NS) == 0,
	      "time: made by a clock SG_COOKIE_CHECK_AHEAD_NS ahead, in the next window: OK");
	CHECK(check(keys, &in, c2, BASE_NS - 12345 + WIN - SG_COOKIE_CHECK_AHEAD_NS - 1) != 0,
	      "time: made by a clock further ahead, in the next window: rejected");
	CHECK(check(keys, &in, c, BASE_NS + 2 * WIN) == SG_COOKIE_ERR_EXPIRED, "time: two windows later rejected");
	CHECK(check(keys, &in, c, BASE_NS + 3 * WIN) == SG_COOKIE_ERR_EXPIRED, "time: three windows later rejected");
	CHECK(check(keys, &in, c, BASE_NS + 4 * WIN) == SG_COOKIE_ERR_HASH,
	      "time: four windows later (t&3 wraps) rejected by the MAC");
	CHECK(check(keys, &in, c, BASE_NS + 5 * WIN) == SG_COOKIE_ERR_HASH, "time: five windows later rejected");
	CHECK(check(keys, &in, c, BASE_NS - WIN) != 0, "time: cookie from the future (clock went back) rejected");

	/* made at the last ns of a window whose t&3 == 3: wrap of the 2-bit counter */
	c2 = sg_cookie_make(sg_cookie_mac, &keys[0], 0, &in, BASE_NS - 12345 + 4 * WIN - 1, 1);
	CHECK((c2 >> 3 & 3) == 3, "time: t&3 == 3 encoded");
	CHECK(check(keys, &in, c2, BASE_NS - 12345 + 4 * WIN) == 0, "time: next window across t&3 wrap OK");
	CHECK(check(keys, &in, c2, BASE_NS - 12345 + 5 * WIN) == SG_COOKIE_ERR_EXPIRED,
	      "time: two windows later across wrap rejected");
	CHECK(check(keys, &in, c2, BASE_NS - 12345 + 3 * WIN) == 0, "time: same window (t&3 == 3) OK");

	/* early after boot: t_now < t&3 of a bogus cookie must not be accepted */
	c2 = sg_cookie_make(sg_cookie_mac, &keys[0], 0, &in, 5, 0);
	CHECK(check(keys, &in, c2, 5) == 0 && check(keys, &in, c2 ^ (3 << 3), 5) != 0,
	      "time: window 0 works, forged t bits at window 0 rejected");
}

static void test_cookie_rotation(void)
{
	struct sg_cookie_key keys[2] = { KEY_A, { 0, 0 } };
	struct sg_cookie_in in = in6();
	__u32 c0, c1;

	c0 = sg_cookie_make(sg_cookie_mac, &keys[0], 0, &in, BASE_NS, 4);
	CHECK(check(keys, &in, c0, BASE_NS) == 0, "rotation: slot 0 cookie valid initially");
	CHECK(check(keys, &in, c0 ^ (1 << 5), BASE_NS) == SG_COOKIE_ERR_NOKEY,
	      "rotation: cookie pointing at an empty slot rejected (no key)");

	keys[1] = KEY_B;	/* rotation 1: write slot 1, current = 1 */
	CHECK(check(keys, &in, c0, BASE_NS + 10) == 0, "rotation: slot 0 cookie valid after one rotation");
	c1 = sg_cookie_make(sg_cookie_mac, &keys[1], 1, &in, BASE_NS + 10, 4);
	CHECK(check(keys, &in, c1, BASE_NS + 20) == 0, "rotation: new slot 1 cookie valid");
	CHECK(check(keys, &in, c0 ^ (1 << 5), BASE_NS + 20) == SG_COOKIE_ERR_HASH,
	      "rotation: slot bit flipped to the other key rejected");

	keys[0] = KEY_C;	/* rotation 2: write slot 0, current = 0 */
	CHECK(check(keys, &in, c0, BASE_NS + 30) == SG_COOKIE_ERR_HASH,
	      "rotation: slot 0 cookie invalid after two rotations");
	CHECK(check(keys, &in, c1, BASE_NS + 30) == 0, "rotation: slot 1 cookie still valid after second rotation");
}

/* ---- MSS ---- */

static void test_mss(void)
{
	static const struct { __u16 mss; __u8 fam; __u32 idx; } cases[] = {
		{ 0, 4, 0 }, { 1, 4, 0 }, { 535, 4, 0 }, { 536, 4, 0 }, { 1219, 4, 0 },
		{ 1220, 4, 1 }, { 1279, 4, 1 }, { 1280, 4, 2 }, { 1360, 4, 3 }, { 1400, 4, 4 },
		{ 1440, 4, 5 }, { 1459, 4, 5 }, { 1460, 4, 6 }, { 8959, 4, 6 }, { 8960, 4, 7 },
		{ 9000, 4, 7 }, { 65535, 4, 7 },
		{ 0, 6, 1 }, { 536, 6, 1 }, { 1219, 6, 1 }, { 1220, 6, 1 }, { 1440, 6, 5 },
		{ 1460, 6, 6 }, { 9000, 6, 7 },
	};
	static const __u16 vals[8] = { 536, 1220, 1280, 1360, 1400, 1440, 1460, 8960 };
	unsigned int i;
	int ok;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(sg_mss_idx(cases[i].mss, cases[i].fam) == cases[i].idx,
		      "mss: IPv%u client %u -> idx %u (%u)", cases[i].fam, cases[i].mss,
		      cases[i].idx, vals[cases[i].idx]);
	ok = 1;
	for (i = 0; i < 8; i++)
		if (sg_mss_val(i) != vals[i])
			ok = 0;
	CHECK(ok && sg_mss_val(8) == 536 && sg_mss_val(15) == 8960, "mss: value table, idx masked to 3 bits");
	ok = 1;
	for (i = 1; i <= 65535; i++) {
		__u32 i4 = sg_mss_idx(i, 4), i6 = sg_mss_idx(i, 6);

		if (i >= 536 && sg_mss_val(i4) > i)
			ok = 0;
		if (i >= 1220 && sg_mss_val(i6) > i)
			ok = 0;
		if (sg_mss_val(i4) < 536 || sg_mss_val(i6) < 1220)
			ok = 0;
		if (i4 < 7 && sg_mss_val(i4 + 1) <= i)	/* largest entry <= mss */
			ok = 0;
	}
	CHECK(ok, "mss: exhaustive 1..65535: largest entry <= client MSS, floors 536/1220");
}

/* ---- TSval-carried options ---- */

static void test_tsopts(void)
{
	int ws, sack, ecn, ok;

	for (int w = -1; w <= 14; w++) {
		ok = 1;
		for (int s = 0; s < 2; s++)
			for (int e = 0; e < 2; e++) {
				__u32 v = sg_tsopts_encode(0xabcdef99, w, s, e);

				sg_tsopts_decode(v, &ws, &sack, &ecn);
				if (ws != w || sack != s || ecn != e || (v & ~0x3fU) != 0xabcdef80)
					ok = 0;
			}
		CHECK(ok, "tsopts: round trip wscale %d x sack x ecn, clock bits kept", w);
	}
	CHECK(sg_tsopts_encode(0, -1, 0, 0) == 0xf, "tsopts: no wscale encodes 0xF");
	CHECK(sg_tsopts_encode(0, 14, 1, 1) == 0x3e, "tsopts: wscale 14 + sack + ecn = 0x3e");
	CHECK(sg_tsopts_encode(0xffffffff, 0, 0, 0) == 0xffffffc0, "tsopts: low 6 clock bits replaced");
	sg_tsopts_decode(sg_tsopts_encode(0, 15, 0, 0), &ws, &sack, &ecn);
	CHECK(ws == 14, "tsopts: wscale 15 clamped to 14");
	sg_tsopts_decode(sg_tsopts_encode(0, 200, 1, 0), &ws, &sack, &ecn);
	CHECK(ws == 14 && sack == 1 && ecn == 0, "tsopts: wscale 200 clamped to 14, sack kept");
}

/* ---- SYN option parser ---- */

static int parse(const __u8 *b, __u32 len, struct sg_syn_opts *o)
{
	__u8 buf[64];

	/* copy so a read past len would hit poison, not the caller's bytes */
	memset(buf, 0xee, sizeof(buf));
	memcpy(buf, b, len);
	return sg_syn_opts_parse(buf, len, o);
}

static int opts_eq(const struct sg_syn_opts *o, __u16 mss, int has_ws, __u8 ws, int sack,
		   int has_ts, __u32 tsval, __u32 tsecr, int tfo)
{
	return o->mss == mss && o->has_ws == has_ws && (!has_ws || o->wscale == ws) &&
	       o->sack_ok == sack && o->has_ts == has_ts && (!has_ts || (o->tsval == tsval && o->tsecr == tsecr)) &&
	       o->tfo == tfo;
}

static void test_parser(void)
{
	struct sg_syn_opts o;
	int r;

	{
		__u8 b[1] = { 0 };

		r = parse(b, 0, &o);
		CHECK(r == 0 && opts_eq(&o, 0, 0, 0, 0, 0, 0, 0, 0), "parse: no options");
	}
	{
		__u8 b[] = { 2, 4, 0x05, 0xb4 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == 0 && opts_eq(&o, 1460, 0, 0, 0, 0, 0, 0, 0), "parse: MSS only");
	}
	{
		__u8 b[] = { 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x12, 0x34, 0x56, 0x78,
			     0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == 0 && opts_eq(&o, 1460, 1, 7, 1, 1, 0x12345678, 0, 0),
		      "parse: full Linux SYN set (MSS SACK_PERM TS NOP WS 7)");
	}
	{
		__u8 b[] = { 0x01, 0x03, 0x03, 0x0e, 0x01, 0x01, 0x08, 0x0a, 0xaa, 0xbb, 0xcc, 0xdd,
			     0x11, 0x22, 0x33, 0x44, 0x04, 0x02, 0x02, 0x04, 0x23, 0x28 };
		__u8 p[24];

		memcpy(p, b, sizeof(b));
		p[22] = 0; p[23] = 0;	/* EOL padding */
		r = parse(p, sizeof(p), &o);
		CHECK(r == 0 && opts_eq(&o, 9000, 1, 14, 1, 1, 0xaabbccdd, 0x11223344, 0),
		      "parse: odd order (WS 14, TS, SACK_PERM, MSS 9000, EOL)");
	}
	{
		__u8 b[] = { 0x03, 0x03, 0x0f, 0x00 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == 0 && opts_eq(&o, 0, 1, 14, 0, 0, 0, 0, 0), "parse: wscale 15 clamped to 14");
	}
	{
		__u8 b[] = { 0x02, 0x04, 0x05, 0xb4, 0x22, 0x02, 0x01, 0x01 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == 0 && opts_eq(&o, 1460, 0, 0, 0, 0, 0, 0, 1), "parse: TFO cookie request (kind 34 len 2)");
	}
	{
		__u8 b[] = { 0x22, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 0x04, 0x05, 0x78 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == 0 && opts_eq(&o, 1400, 0, 0, 0, 0, 0, 0, 1), "parse: TFO cookie (kind 34 len 10) then MSS");
	}
	{
		__u8 b[] = { 0xfe, 0x04, 0xf9, 0x89 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == 0 && o.tfo == 1, "parse: experimental TFO (kind 254 magic 0xF989)");
	}
	{
		__u8 b[] = { 0xfe, 0x04, 0x12, 0x34, 0x02, 0x04, 0x02, 0x18 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == 0 && opts_eq(&o, 536, 0, 0, 0, 0, 0, 0, 0), "parse: kind 254 other magic skipped");
	}
	{
		__u8 b[] = { 0x1e, 0x06, 1, 2, 3, 4, 0x05, 0x02, 0x02, 0x04, 0x05, 0xb4 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == 0 && opts_eq(&o, 1460, 0, 0, 0, 0, 0, 0, 0),
		      "parse: unknown kind 30 skipped by length, odd-length SACK (kind 5 len 2) skipped");
	}
	{
		__u8 b[] = { 0x02, 0x05, 0x05, 0xb4, 0x00, 0x03, 0x04, 0x07, 0x01, 0x01, 0x01, 0x01 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == 0 && opts_eq(&o, 0, 0, 0, 0, 0, 0, 0, 0),
		      "parse: MSS/WS with wrong length ignored (as Linux)");
	}
	{
		__u8 b[] = { 0x02, 0x04, 0x05, 0xb4, 0x00, 0x04, 0x02 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == 0 && opts_eq(&o, 1460, 0, 0, 0, 0, 0, 0, 0), "parse: EOL stops parsing");
	}
	{
		__u8 b[] = { 0x02, 0x04, 0x05, 0xb4, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == -1 && opts_eq(&o, 1460, 0, 0, 0, 0, 0, 0, 0),
		      "parse: truncated TS (len overruns) -> -1, MSS kept");
	}
	{
		__u8 b[] = { 0x02, 0x04, 0x05 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == -1 && opts_eq(&o, 0, 0, 0, 0, 0, 0, 0, 0), "parse: truncated MSS -> -1");
	}
	{
		__u8 b[] = { 0x04, 0x02, 0x01, 0x03 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == -1 && o.sack_ok == 1 && o.has_ws == 0, "parse: kind with no room for len byte -> -1");
	}
	{
		__u8 b[] = { 0x04, 0x02, 0x03, 0x00, 0x03, 0x03, 0x07, 0x01 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == -1 && o.sack_ok == 1 && o.has_ws == 0, "parse: len 0 -> -1, earlier fields kept");
	}
	{
		__u8 b[] = { 0x02, 0x04, 0x05, 0xb4, 0x03, 0x01, 0x07, 0x01 };

		r = parse(b, sizeof(b), &o);
		CHECK(r == -1 && o.mss == 1460 && o.has_ws == 0, "parse: len 1 -> -1, earlier fields kept");
	}
	{
		__u8 b[40];

		memset(b, 1, sizeof(b));
		b[36] = 2; b[37] = 4; b[38] = 0x05; b[39] = 0xb4;
		r = parse(b, sizeof(b), &o);
		CHECK(r == 0 && o.mss == 1460, "parse: 36 NOPs then MSS (40 bytes) fits the step bound");
	}
	{
		/* the step itself must respect 'end' even if optlen claims more */
		__u8 b[8] = { 0x02, 0x04, 0x05, 0xb4, 0x08, 0x0a, 0, 0 };
		__u32 off = 0;

		o = (struct sg_syn_opts){ 0 };
		r = sg_syn_opts_parse_step(b, b + 8, 40, &off, &o);
		CHECK(r == SG_OPT_CONT && off == 4 && o.mss == 1460, "parse step: MSS consumed, off 4");
		r = sg_syn_opts_parse_step(b, b + 8, 40, &off, &o);
		CHECK(r == SG_OPT_BAD && o.has_ts == 0, "parse step: TS past 'end' (optlen says more) -> BAD");
		off = 8;
		r = sg_syn_opts_parse_step(b, b + 8, 40, &off, &o);
		CHECK(r == SG_OPT_BAD, "parse step: offset at 'end' with optlen left -> BAD");
		off = 40;
		r = sg_syn_opts_parse_step(b, b + 8, 60, &off, &o);
		CHECK(r == SG_OPT_DONE, "parse step: offset 40 -> DONE");
	}
}

/* ---- SYN-ACK option writer ---- */

static void test_writer(void)
{
	struct sg_syn_opts cl = { .mss = 1460, .wscale = 7, .has_ws = 1, .sack_ok = 1, .has_ts = 1,
				  .tsval = 0x01020304, .tsecr = 0 };
	__u8 buf[24];
	__u32 n;

#define WRITE(c, ts, sack, ws) (memset(buf, 0xee, sizeof(buf)), \
	sg_synack_opts_write(buf, (c), 1460, 9, 0xa0b0c0d0, (ts), (sack), (ws)))
#define BYTES(...) ((const __u8[]){ __VA_ARGS__ })
#define EQ(n, ...) (n == sizeof(BYTES(__VA_ARGS__)) && \
	!memcmp(buf, BYTES(__VA_ARGS__), sizeof(BYTES(__VA_ARGS__))) && \
	buf[n] == 0xee)

	n = WRITE(&cl, 1, 1, 1);
	CHECK(EQ(n, 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0xa0, 0xb0, 0xc0, 0xd0, 1, 2, 3, 4, 1, 3, 3, 9),
	      "synack: MSS + SACK_PERM/TS + WS (20 bytes)");
	n = WRITE(&cl, 1, 0, 1);
	CHECK(EQ(n, 2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0xa0, 0xb0, 0xc0, 0xd0, 1, 2, 3, 4, 1, 3, 3, 9),
	      "synack: SACK not allowed -> NOP NOP TS + WS");
	n = WRITE(&cl, 1, 1, 0);
	CHECK(EQ(n, 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0xa0, 0xb0, 0xc0, 0xd0, 1, 2, 3, 4),
	      "synack: WS not allowed -> MSS + SACK_PERM/TS (16)");
	n = WRITE(&cl, 1, 0, 0);
	CHECK(EQ(n, 2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0xa0, 0xb0, 0xc0, 0xd0, 1, 2, 3, 4),
	      "synack: TS only -> MSS + NOP NOP TS (16)");
	n = WRITE(&cl, 0, 1, 1);
	CHECK(EQ(n, 2, 4, 0x05, 0xb4), "synack: TS not allowed -> MSS only (no SACK/WS without TS)");

	{
		struct sg_syn_opts c2 = cl;

		c2.sack_ok = 0;
		n = WRITE(&c2, 1, 1, 1);
		CHECK(EQ(n, 2, 4, 0x05, 0xb4, 1, 1, 8, 10, 0xa0, 0xb0, 0xc0, 0xd0, 1, 2, 3, 4, 1, 3, 3, 9),
		      "synack: client without SACK -> NOP NOP TS + WS");
		c2 = cl;
		c2.has_ws = 0;
		n = WRITE(&c2, 1, 1, 1);
		CHECK(EQ(n, 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0xa0, 0xb0, 0xc0, 0xd0, 1, 2, 3, 4),
		      "synack: client without WS -> no WS");
		c2 = cl;
		c2.has_ts = 0;
		n = WRITE(&c2, 1, 1, 1);
		CHECK(EQ(n, 2, 4, 0x05, 0xb4), "synack: client without TS -> MSS only");
		c2 = (struct sg_syn_opts){ 0 };
		memset(buf, 0xee, sizeof(buf));
		n = sg_synack_opts_write(buf, &c2, 536, 0, 0, 1, 1, 1);
		CHECK(EQ(n, 2, 4, 0x02, 0x18), "synack: bare client -> MSS 536 only");
		c2 = cl;
		c2.tsval = 0xfffffffe;
		memset(buf, 0xee, sizeof(buf));
		n = sg_synack_opts_write(buf, &c2, 8960, 15, 0x12345678, 1, 1, 1);
		CHECK(EQ(n, 2, 4, 0x23, 0x00, 4, 2, 8, 10, 0x12, 0x34, 0x56, 0x78, 0xff, 0xff, 0xff, 0xfe,
			 1, 3, 3, 14),
		      "synack: MSS 8960, big-endian TS, our wscale clamped to 14");
	}

	{
		/* what we write parses back to what we meant */
		struct sg_syn_opts back;
		int r;

		n = WRITE(&cl, 1, 1, 1);
		r = sg_syn_opts_parse(buf, n, &back);
		CHECK(r == 0 && opts_eq(&back, 1460, 1, 9, 1, 1, 0xa0b0c0d0, 0x01020304, 0),
		      "synack: written options parse back");
	}
#undef WRITE
#undef BYTES
#undef EQ
}

/*
 * Forged ACKs, measured: random tuples, ISNs and cookies against two real
 * keys (both slots filled, as after the first rotation). A forgery passes
 * only if its window bits are current or one behind (1/2) and the 26-bit
 * MAC matches (2^-26): 2^-27 per forged ACK. The MAC's top k bits are
 * matched 2^-k of the time (each within 6 sigma): it behaves as a random
 * function, so the full-width rate is the extrapolation.
 */
static void test_forgery_rate(void)
{
	const long n = 1L << 24;
	struct sg_cookie_key keys[2] = { { rnd(), rnd() }, { rnd(), rnd() } };
	static const int kbits[] = { 4, 8, 12, 16 };
	long expired = 0, accepted = 0, prefix[4] = { 0 }, live = 0;
	__u64 now = 1000ull << SG_COOKIE_WINDOW_SHIFT;

	for (long i = 0; i < n; i++) {
		struct sg_cookie_in in = { .family = 4 };
		__u64 r = rnd();
		__u32 cookie = (__u32)r, mss_idx, mac, age;

		in.saddr[0] = (__u32)(r >> 32);
		in.daddr[0] = 0x0100000a;
		in.sport = (__u16)rnd();
		in.dport = 8080;
		in.isn = (__u32)rnd();
		switch (sg_cookie_check(sg_cookie_mac, keys, &in, cookie, now, &mss_idx)) {
		case SG_COOKIE_OK:
			accepted++;
			break;
		case SG_COOKIE_ERR_EXPIRED:
			expired++;
			continue;
		}
		live++;
		age = (sg_cookie_window(now) - ((cookie >> 3) & 3)) & 3;
		mac = sg_cookie_mac(&keys[(cookie >> 5) & 1], &in, sg_cookie_window(now) - age,
				    cookie & SG_MSS_IDX_MAX);
		for (int k = 0; k < 4; k++)
			prefix[k] += (mac >> (26 - kbits[k])) == (cookie >> (32 - kbits[k]));
	}
	CHECK(live > n / 2 - 6 * 2048 && live < n / 2 + 6 * 2048,
	      "forgery: %ld of %ld forged cookies in a live window (expected half)", live, n);
	for (int k = 0; k < 4; k++) {
		double e = (double)live / (1L << kbits[k]), sd = 1;

		while (sd * sd < e)	/* sqrt, to one unit: no libm */
			sd++;

		CHECK(prefix[k] > e - 6 * sd && prefix[k] < e + 6 * sd,
		      "forgery: the MAC's top %d bits matched %ld times (expected %.0f)", kbits[k], prefix[k], e);
	}
	CHECK(accepted <= 4, "forgery: %ld of %ld forged ACKs accepted (expected %.3f = n x 2^-27)", accepted, n,
	      (double)n / (1 << 27));
	printf("  forged ACKs: %ld tried, %ld accepted; expected n x 2^-27 = %.3f\n", n, accepted,
	       (double)n / (1 << 27));
}

int main(void)
{
	test_siphash();
	test_cookie_layout();
	test_cookie_roundtrip();
	test_cookie_tamper();
	test_cookie_time();
	test_cookie_rotation();
	test_mss();
	test_tsopts();
	test_parser();
	test_writer();
	test_forgery_rate();
	return check_summary("cookie");
}
