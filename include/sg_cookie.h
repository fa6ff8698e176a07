/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_cookie.h - synguard's SYN cookie math and SYN/SYN-ACK TCP options.
 *
 * Pure functions shared by the BPF programs and userspace (unit tests):
 * no libc, no globals, no static const tables (clang-14 may put them in
 * .rodata.cst* sections that libbpf 1.1 rejects), no unbounded loops.
 *
 * Cookie (32 bits, the SYN-ACK's seq):
 *   [31:6] top 26 bits of SipHash-2-4(secret[slot], 4-tuple, client ISN, t)
 *   [5]    key slot (0/1)            [4:3] t & 3        [2:0] MSS index
 * t = now_ns >> SG_COOKIE_WINDOW_SHIFT (~68.7 s); a cookie is accepted in
 * its own window and the next one (68-137 s). The secrets live in a 2-slot
 * array: userspace writes the idle slot, then flips the current one, so one
 * rotation never breaks a handshake in flight and a check costs exactly one
 * SipHash.
 *
 * When the client sent timestamps, its window scale, SACK-permitted and ECN
 * ride in the low 6 bits of our TSval (as Linux does) and come back in the
 * ACK's TSecr; without timestamps they cannot be remembered, so they are not
 * offered.
 */
#ifndef SG_COOKIE_H
#define SG_COOKIE_H

#include "synguard.h"

#define SG_COOKIE_WINDOW_SHIFT	36

/* sg_cookie_check() results; never collide with program return codes. */
#define SG_COOKIE_OK		0
#define SG_COOKIE_ERR_EXPIRED	(-1)	/* window 2 or 3 behind (or ahead) */
#define SG_COOKIE_ERR_HASH	(-2)	/* MAC mismatch: forged or rotated out */
#define SG_COOKIE_ERR_NOKEY	(-3)	/* that slot has no secret yet */

struct sg_cookie_key {
	__u64 k0, k1;
};

/* The CLIENT's view: saddr/sport = client, daddr/dport = server. Addresses
 * as they sit in the packet (IPv4: addr[0] only), ports in host order,
 * isn = the client's ISN (SYN seq; for the ACK: seq - 1), family 4 or 6. */
struct sg_cookie_in {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport, dport;
	__u32 isn;
	__u8 family;
};

/* ---- SipHash-2-4 over exactly 6 little-endian 64-bit words (48 bytes) ---- */

#define SG_ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define SG_SIPROUND(v0, v1, v2, v3)                                            \
	do {                                                                   \
		v0 += v1; v1 = SG_ROTL64(v1, 13); v1 ^= v0;                    \
		v0 = SG_ROTL64(v0, 32);                                        \
		v2 += v3; v3 = SG_ROTL64(v3, 16); v3 ^= v2;                    \
		v0 += v3; v3 = SG_ROTL64(v3, 21); v3 ^= v0;                    \
		v2 += v1; v1 = SG_ROTL64(v1, 17); v1 ^= v2;                    \
		v2 = SG_ROTL64(v2, 32);                                        \
	} while (0)

#define SG_SIPCOMPRESS(v0, v1, v2, v3, m)                                      \
	do {                                                                   \
		__u64 m_ = (m);                                                \
		v3 ^= m_;                                                      \
		SG_SIPROUND(v0, v1, v2, v3);                                   \
		SG_SIPROUND(v0, v1, v2, v3);                                   \
		v0 ^= m_;                                                      \
	} while (0)

#define SG_SIPHASH_WORDS 6

/* Equals reference SipHash-2-4 (key bytes = k0,k1 little-endian) of the
 * 48-byte message w[0..5] in little-endian byte order. */
SG_INLINE __u64 sg_siphash24(const struct sg_cookie_key *k, const __u64 *w)
{
	__u64 v0 = k->k0 ^ 0x736f6d6570736575ULL;
	__u64 v1 = k->k1 ^ 0x646f72616e646f6dULL;
	__u64 v2 = k->k0 ^ 0x6c7967656e657261ULL;
	__u64 v3 = k->k1 ^ 0x7465646279746573ULL;

	SG_SIPCOMPRESS(v0, v1, v2, v3, w[0]);
	SG_SIPCOMPRESS(v0, v1, v2, v3, w[1]);
	SG_SIPCOMPRESS(v0, v1, v2, v3, w[2]);
	SG_SIPCOMPRESS(v0, v1, v2, v3, w[3]);
	SG_SIPCOMPRESS(v0, v1, v2, v3, w[4]);
	SG_SIPCOMPRESS(v0, v1, v2, v3, w[5]);
	/* final block: message length in the top byte, no tail bytes */
	SG_SIPCOMPRESS(v0, v1, v2, v3, (__u64)(SG_SIPHASH_WORDS * 8) << 56);

	v2 ^= 0xff;
	SG_SIPROUND(v0, v1, v2, v3);
	SG_SIPROUND(v0, v1, v2, v3);
	SG_SIPROUND(v0, v1, v2, v3);
	SG_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- MSS table: 536 1220 1280 1360 1400 1440 1460 8960 ---- */

#define SG_MSS_IDX_MAX 7

SG_INLINE __u16 sg_mss_val(__u32 idx)
{
	switch (idx & SG_MSS_IDX_MAX) {
	case 0: return 536;
	case 1: return 1220;
	case 2: return 1280;
	case 3: return 1360;
	case 4: return 1400;
	case 5: return 1440;
	case 6: return 1460;
	default: return 8960;
	}
}

/* Largest table entry <= the client's MSS, floored at what the kernel
 * accepts for the handoff: 536 (IPv4) / 1220 (IPv6). 0 = no MSS option. */
SG_INLINE __u32 sg_mss_idx(__u16 client_mss, __u8 family)
{
	__u32 idx;

	if (client_mss >= 8960)
		idx = 7;
	else if (client_mss >= 1460)
		idx = 6;
	else if (client_mss >= 1440)
		idx = 5;
	else if (client_mss >= 1400)
		idx = 4;
	else if (client_mss >= 1360)
		idx = 3;
	else if (client_mss >= 1280)
		idx = 2;
	else if (client_mss >= 1220)
		idx = 1;
	else
		idx = 0;
	if (family == 6 && idx < 1)
		idx = 1;
	return idx;
}

/* ---- the cookie ---- */

/*
 * The check reads its clock this much ahead: a cookie made by a clock up to
 * this far ahead of the checker's is still in its window. The SYN path
 * makes cookies with bpf_ktime_get_coarse_ns(), the ACK path checks them
 * with the tick's time (sg_tick_ns(), bpf/sg_maps.h), which can lag it by a
 * tick; fleet nodes' clocks differ by what NTP leaves. 20 ms is two ticks
 * at HZ=100, and a cookie's life (two windows, ~137 s) shrinks by as much.
 */
#define SG_COOKIE_CHECK_AHEAD_NS 20000000ull

SG_INLINE __u64 sg_cookie_window(__u64 now_ns)
{
	return now_ns >> SG_COOKIE_WINDOW_SHIFT;
}

SG_INLINE void sg_cookie_words(__u64 w[6], const struct sg_cookie_in *in,
			       __u64 t, __u32 mss_idx)
{
	if (in->family == 6) {
		w[0] = in->saddr[0] | (__u64)in->saddr[1] << 32;
		w[1] = in->saddr[2] | (__u64)in->saddr[3] << 32;
		w[2] = in->daddr[0] | (__u64)in->daddr[1] << 32;
		w[3] = in->daddr[2] | (__u64)in->daddr[3] << 32;
	} else {
		w[0] = in->saddr[0];
		w[1] = 0;
		w[2] = in->daddr[0];
		w[3] = 0;
	}
	w[4] = in->sport | (__u64)in->dport << 16 | (__u64)in->isn << 32;
	w[5] = (t & 0x0000ffffffffffffULL) | (__u64)(mss_idx & SG_MSS_IDX_MAX) << 48 |
	       (__u64)in->family << 56;
}

SG_INLINE __u32 sg_cookie_mac(const struct sg_cookie_key *k,
			      const struct sg_cookie_in *in, __u64 t, __u32 mss_idx)
{
	__u64 w[6];

	sg_cookie_words(w, in, t, mss_idx);
	return (__u32)(sg_siphash24(k, w) >> 38);	/* top 26 bits */
}

/*
 * The MAC make/check compute, passed explicitly: userspace and the unit
 * tests pass sg_cookie_mac itself; BPF passes a global function that wraps
 * it (bpf/sg_synproxy.h's sg_ck_mac), so the verifier walks SipHash once,
 * not once per caller state. make/check are always inlined, so a BPF
 * caller's constant argument becomes a direct call.
 */
typedef __u32 (*sg_cookie_mac_fn)(const struct sg_cookie_key *k,
				  const struct sg_cookie_in *in, __u64 t,
				  __u32 mss_idx);

/* mss_idx fills bits 2:0 and is covered by the MAC (w5), so it cannot be
 * changed without invalidating the cookie. */
SG_INLINE __u32 sg_cookie_make(sg_cookie_mac_fn mac,
			       const struct sg_cookie_key *k, __u32 slot,
			       const struct sg_cookie_in *in, __u64 now_ns,
			       __u32 mss_idx)
{
	__u64 t = sg_cookie_window(now_ns);

	return mac(k, in, t, mss_idx) << 6 | (slot & 1) << 5 |
	       (__u32)(t & 3) << 3 | (mss_idx & SG_MSS_IDX_MAX);
}

/* cookie = the ACK's ack_seq - 1, in->isn = the ACK's seq - 1, keys = the
 * two-slot secret array, mac as for sg_cookie_make(). Returns SG_COOKIE_OK
 * and fills *mss_idx, or a negative SG_COOKIE_ERR_*. */
SG_INLINE int sg_cookie_check(sg_cookie_mac_fn mac,
			      const struct sg_cookie_key keys[2],
			      const struct sg_cookie_in *in, __u32 cookie,
			      __u64 now_ns, __u32 *mss_idx)
{
	__u64 t_now = sg_cookie_window(now_ns + SG_COOKIE_CHECK_AHEAD_NS);
	__u64 age = (t_now - ((cookie >> 3) & 3)) & 3;
	const struct sg_cookie_key *k = &keys[(cookie >> 5) & 1];

	if (age > 1)
		return SG_COOKIE_ERR_EXPIRED;
	if (!k->k0 && !k->k1)
		return SG_COOKIE_ERR_NOKEY;
	if (mac(k, in, t_now - age, cookie & SG_MSS_IDX_MAX) != cookie >> 6)
		return SG_COOKIE_ERR_HASH;
	*mss_idx = cookie & SG_MSS_IDX_MAX;
	return SG_COOKIE_OK;
}

/* ---- options carried in the SYN-ACK's TSval (echoed in the ACK's TSecr) ---- */

#define SG_TSOPT_MASK		0x3fU
#define SG_TSOPT_WS_NONE	0xfU
#define SG_TSOPT_SACK		0x10U
#define SG_TSOPT_ECN		0x20U
#define SG_WSCALE_MAX		14	/* RFC 7323 */

/* wscale: the client's window scale (clamped to 14), -1 = it sent none. */
SG_INLINE __u32 sg_tsopts_encode(__u32 ts_clock, int wscale, int sack, int ecn)
{
	__u32 opts;

	if (wscale < 0)
		opts = SG_TSOPT_WS_NONE;
	else if (wscale > SG_WSCALE_MAX)
		opts = SG_WSCALE_MAX;
	else
		opts = (__u32)wscale;
	if (sack)
		opts |= SG_TSOPT_SACK;
	if (ecn)
		opts |= SG_TSOPT_ECN;
	return (ts_clock & ~SG_TSOPT_MASK) | opts;
}

SG_INLINE void sg_tsopts_decode(__u32 tsecr, int *wscale, int *sack, int *ecn)
{
	__u32 ws = tsecr & 0xf;

	*wscale = ws == SG_TSOPT_WS_NONE ? -1 : (int)ws;
	*sack = !!(tsecr & SG_TSOPT_SACK);
	*ecn = !!(tsecr & SG_TSOPT_ECN);
}

/* ---- TCP options ---- */

#define SG_TCPOPT_EOL		0
#define SG_TCPOPT_NOP		1
#define SG_TCPOPT_MSS		2
#define SG_TCPOPT_WS		3
#define SG_TCPOPT_SACK_PERM	4
#define SG_TCPOPT_TS		8
#define SG_TCPOPT_TFO		34
#define SG_TCPOPT_EXP		254
#define SG_TCPOPT_TFO_MAGIC	0xf989

#define SG_TCP_OPT_MAX		40	/* (15 - 5) * 4 */
#define SG_SYNACK_OPT_MAX	20	/* MSS(4) + SACK_PERM+TS(12) + NOP+WS(4) */

/* What a SYN offered. wscale is clamped to 14 as Linux does. */
struct sg_syn_opts {
	__u16 mss;		/* 0 = no MSS option */
	__u8 wscale;
	__u8 has_ws, sack_ok, has_ts, tfo;
	__u32 tsval, tsecr;	/* host order */
};

/* sg_syn_opts_parse_step() results */
#define SG_OPT_CONT	1	/* one option consumed, *off advanced */
#define SG_OPT_DONE	0	/* end of options (or EOL) */
#define SG_OPT_BAD	(-1)	/* malformed: len < 2, overrun, truncated */

SG_INLINE __u16 sg_get_be16(const __u8 *q)
{
	return (__u16)(q[0] << 8 | q[1]);
}

SG_INLINE __u32 sg_get_be32(const __u8 *q)
{
	return (__u32)q[0] << 24 | (__u32)q[1] << 16 | (__u32)q[2] << 8 | q[3];
}

SG_INLINE void sg_put_be32(__u8 *q, __u32 v)
{
	q[0] = v >> 24;
	q[1] = v >> 16;
	q[2] = v >> 8;
	q[3] = v;
}

/*
 * Parse the one option at p + *off. p = the first option byte, optlen =
 * doff * 4 - 20, end = the end of readable bytes (data_end in BPF; p + optlen
 * in userspace). Every read is checked against both, and *off is bounded by
 * SG_TCP_OPT_MAX, so a BPF caller needs nothing else: call it until it
 * returns something other than SG_OPT_CONT, at most SG_TCP_OPT_MAX times.
 * Fields parsed before a malformed option are kept; the caller zeroes *o.
 *
 * BPF: use a bpf_loop(SG_TCP_OPT_MAX, cb, &ctx, 0) callback holding p, end,
 * optlen, off and o in ctx. On 6.18 a plain loop around this step exceeds
 * the verifier's 1M-instruction limit; bpf_loop verifies in ~10-20k.
 * The MSS index is covered by the MAC (w5), so the hash can only be computed
 * after the parse; to keep the verifier from walking SipHash once per
 * post-parse state, compute it in a global BPF function (verified once), as
 * bpf/sg_synproxy.h's sg_ck_mac() does.
 */
SG_INLINE int sg_syn_opts_parse_step(const __u8 *p, const void *end,
				     __u32 optlen, __u32 *off,
				     struct sg_syn_opts *o)
{
	__u32 i = *off, kind, len;
	const __u8 *q;

	if (i >= optlen || i >= SG_TCP_OPT_MAX)
		return SG_OPT_DONE;
	q = p + i;
	if ((const void *)(q + 1) > end)
		return SG_OPT_BAD;
	kind = q[0];
	if (kind == SG_TCPOPT_EOL)
		return SG_OPT_DONE;
	if (kind == SG_TCPOPT_NOP) {
		*off = i + 1;
		return SG_OPT_CONT;
	}
	if (i + 2 > optlen || (const void *)(q + 2) > end)
		return SG_OPT_BAD;
	len = q[1];
	if (len < 2 || i + len > optlen)
		return SG_OPT_BAD;

	/* Known options are read only at their exact length (as Linux does);
	 * anything else is skipped by its length. */
	switch (kind) {
	case SG_TCPOPT_MSS:
		if (len != 4)
			break;
		if ((const void *)(q + 4) > end)
			return SG_OPT_BAD;
		o->mss = sg_get_be16(q + 2);
		break;
	case SG_TCPOPT_WS:
		if (len != 3)
			break;
		if ((const void *)(q + 3) > end)
			return SG_OPT_BAD;
		o->wscale = q[2] > SG_WSCALE_MAX ? SG_WSCALE_MAX : q[2];
		o->has_ws = 1;
		break;
	case SG_TCPOPT_SACK_PERM:
		if (len == 2)
			o->sack_ok = 1;
		break;
	case SG_TCPOPT_TS:
		if (len != 10)
			break;
		if ((const void *)(q + 10) > end)
			return SG_OPT_BAD;
		o->tsval = sg_get_be32(q + 2);
		o->tsecr = sg_get_be32(q + 6);
		o->has_ts = 1;
		break;
	case SG_TCPOPT_TFO:
		o->tfo = 1;
		break;
	case SG_TCPOPT_EXP:
		if (len < 4)
			break;
		if ((const void *)(q + 4) > end)
			return SG_OPT_BAD;
		if (sg_get_be16(q + 2) == SG_TCPOPT_TFO_MAGIC)
			o->tfo = 1;
		break;
	}
	*off = i + len;
	return SG_OPT_CONT;
}

/* Userspace convenience: zero *o, parse all options. 0 ok, -1 malformed
 * (fields parsed before the bad option are kept). */
SG_INLINE int sg_syn_opts_parse(const __u8 *opts, __u32 len,
				struct sg_syn_opts *o)
{
	__u32 off = 0;
	int i, r = SG_OPT_DONE;

	*o = (struct sg_syn_opts){ 0 };
	for (i = 0; i < SG_TCP_OPT_MAX; i++) {
		r = sg_syn_opts_parse_step(opts, opts + len, len, &off, o);
		if (r != SG_OPT_CONT)
			break;
	}
	return r == SG_OPT_BAD ? -1 : 0;
}

/*
 * Write the SYN-ACK's options at p (>= SG_SYNACK_OPT_MAX bytes) and return
 * their length (a multiple of 4, <= 20). Linux's layout:
 *   MSS                               02 04 mss
 *   TS with SACK_PERM packed in       04 02 08 0a tsval tsecr
 *   TS without SACK                   01 01 08 0a tsval tsecr
 *   WS                                01 03 03 wscale
 * TS (tsecr = the client's tsval) only if the client sent TS and allow_ts.
 * SACK_PERM and WS only with TS (otherwise the ACK could not tell us what
 * was agreed), and only if the client offered them and they are allowed.
 * tsval should be sg_tsopts_encode() of exactly what is offered here.
 */
SG_INLINE __u32 sg_synack_opts_write(__u8 *p, const struct sg_syn_opts *client,
				     __u16 mss, __u8 our_wscale, __u32 tsval,
				     int allow_ts, int allow_sack, int allow_ws)
{
	int ts = client->has_ts && allow_ts;

	p[0] = SG_TCPOPT_MSS;
	p[1] = 4;
	p[2] = mss >> 8;
	p[3] = mss;
	if (!ts)
		return 4;
	if (client->sack_ok && allow_sack) {
		p[4] = SG_TCPOPT_SACK_PERM;
		p[5] = 2;
	} else {
		p[4] = SG_TCPOPT_NOP;
		p[5] = SG_TCPOPT_NOP;
	}
	p[6] = SG_TCPOPT_TS;
	p[7] = 10;
	sg_put_be32(p + 8, tsval);
	sg_put_be32(p + 12, client->tsval);
	if (!(client->has_ws && allow_ws))
		return 16;
	p[16] = SG_TCPOPT_NOP;
	p[17] = SG_TCPOPT_WS;
	p[18] = 3;
	p[19] = our_wscale > SG_WSCALE_MAX ? SG_WSCALE_MAX : our_wscale;
	return 20;
}

/* ---- maps shared by the BPF programs and user/cookie.c ---- */

/* sg_ck_secrets[0]: the two key slots and the one new cookies use. Userspace
 * rotates by writing the idle slot and flipping cur in one update. */
struct sg_cookie_secrets {
	struct sg_cookie_key key[2];
	__u32 cur;		/* slot for new cookies (0/1) */
	__u32 gen;		/* rotations so far */
	/* added to bpf_ktime_get_ns() for the cookie's time window: 0 (the
	 * monotonic clock), or with --secret-file CLOCK_REALTIME - CLOCK_MONOTONIC,
	 * so that every node of a fleet counts the same windows */
	__u64 clock_off_ns;
};

/* sg_ck_ports[port] (array, 65536): what userspace decided and what the
 * program saw. flags: written by userspace only; seen4/seen6: written by
 * the program only (ms of bpf_ktime_get_ns() when a listener was found). */
#define SG_PORT_PROTECTED	0x1	/* in --ports */
#define SG_PORT_COOKIES		0x2	/* --mode auto: cookies on now */
#define SG_PORT_GRACE		0x4	/* --mode auto: cookies just turned off:
					 * still validate ACKs, never drop */
struct sg_port_cfg {
	__u32 flags;
	__u32 seen4;		/* listener seen (IPv4), ms; 0 = never */
	__u32 seen6;
	__u32 pad;
};

/* Cumulative per-port cookie counts for the per-second SG_EV_COOKIE
 * summaries, --mode auto and /metrics. */
struct sg_port_stats {
	__u64 syns;		/* SYNs to the port (protected, listener present) */
	__u64 sent;		/* SYN-ACKs with a cookie */
	__u64 valid;		/* ACKs with a valid cookie */
	__u64 rejected;		/* ACKs with a bad cookie, no socket: dropped */
};

/*
 * Where they are counted. sg_ck_slots, a per-CPU array, direct-mapped by
 * port & (SG_CK_SLOTS - 1): on each CPU a slot counts the first port that
 * came to it (tag = port + 1, 0 = free), with no hash (a per-CPU hash
 * lookup cost 15-30 ns per SYN and per cookie ACK on the development VM;
 * kernels >= 6.10 inline the array's lookup, older ones call it). A
 * port whose slot another port holds on that CPU is counted in sg_ck_stats
 * (per-CPU hash keyed by __u32 port) instead. sg_ck_stats also lists every
 * port counted: its entry, zero or not, is made before a port takes a
 * slot. A port's totals: its sg_ck_stats entry plus, on each CPU, its slot
 * if the tag is its own (user/cookie.c, sg_port_stats_sum()).
 */
#define SG_CK_SLOTS		1024

struct sg_port_slot {
	__u32 tag;		/* port + 1; 0: free */
	__u32 pad;
	struct sg_port_stats s;
};

/* XDP -> TC metadata (bpf_xdp_adjust_meta) for a validated cookie ACK. */
#define SG_META_MAGIC		0x5347434bU	/* "SGCK" */
#define SG_META_TS		0x1
#define SG_META_SACK		0x2
#define SG_META_WS		0x4
#define SG_META_ECN		0x8
struct sg_cookie_meta {
	__u32 magic;
	__u16 mss;
	__u8 opts;		/* SG_META_* */
	__u8 snd_wscale;	/* the client's window scale */
	__u32 tsval;		/* the ACK's TSval */
	__u32 tsecr;		/* the ACK's TSecr (exactly) */
};

#endif /* SG_COOKIE_H */
