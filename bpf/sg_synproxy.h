/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_synproxy.h - SYN cookies at XDP (SYN -> SYN-ACK with XDP_TX, ACK cookie
 * check) and the TC-ingress handoff to the real listener with
 * bpf_sk_assign_tcp_reqsk().
 *
 * XDP, for a protected port with cookies on:
 *   SYN (no ACK/RST/FIN)  -> rewritten in place into our SYN-ACK, XDP_TX.
 *                            Data in the SYN (TFO) is cut: the client resends
 *                            it after the handshake (its SYN data is not acked).
 *   ACK (no SYN/RST)      -> of a flow the tracker knows established: not
 *                            seen here at all (synguard.bpf.c); else the
 *                            cookie check (ack-1 = cookie, seq-1 = ISN):
 *                            valid -> metadata for TC, XDP_PASS (once per
 *                                     handshake, see sg_ck_handed);
 *                            bad   -> socket lookup: an existing socket
 *                                     (established, time-wait, request) ->
 *                                     pass; none -> XDP_DROP (SG_DROP_COOKIE_BAD).
 *   RST, anything else    -> untouched.
 * A port is protected when it is in --ports (SG_PORT_PROTECTED) or, without
 * --ports, when it has a listener; either way a SYN is answered only when
 * its 4-tuple's socket is a listener (sg_syn_listener), so closed ports
 * still get the kernel's RST and a SYN that reuses a TIME_WAIT tuple goes
 * to the kernel's TIME_WAIT socket. The socket lookup that tells is spared
 * when the socket hint (include/sg_skhint.h) rules out any socket for the
 * tuple and a listener for the local address and port was found < 100 ms
 * ago.
 * Frames we do not answer (IPv4 options, IPv6 extension headers, malformed
 * TCP options) go to the kernel, which has its own SYN cookies; a SYN with
 * a wrong IPv4 or TCP checksum goes to it untracked, and it drops it
 * (sg_syn_csum_ok).
 *
 * TC ingress: an ACK carrying our metadata, with no socket but the listener,
 * is handed to the listener with bpf_sk_assign_tcp_reqsk().
 */
#ifndef SG_SYNPROXY_H
#define SG_SYNPROXY_H

#include "synguard.h"
#include "sg_defs.h"
#include "sg_cookie.h"
#include "sg_parse.h"
#include "sg_maps.h"
#include "sg_limit.h"
#include "sg_policy.h"

enum sg_sp_verdict {
	SG_SP_CONTINUE = 0,	/* not for the cookie path: track and pass */
	SG_SP_TX,		/* rewritten into a SYN-ACK: XDP_TX */
	SG_SP_DROP,		/* bad cookie, no socket: XDP_DROP (reason counted) */
	SG_SP_COOKIE_OK,	/* valid cookie ACK: track as a cookie handshake, pass */
	SG_SP_PASS,		/* a SYN with a bad checksum: pass untouched, untracked
				 * (the kernel drops it; reason counted) */
};

#define SG_SYNACK_WINDOW	65535
#define SG_SYNACK_TTL		64	/* our SYN-ACKs' TTL / hop limit */
#define SG_IP4_VER_IHL		0x4500	/* IPv4 word 0: version 4, IHL 5 (no options), TOS 0 */

/* Bounds the verifier needs on frame offsets; real headers are far shorter. */
#define SG_L3_OFF_MAX		64	/* the IP header's offset */
#define SG_OPT_OFF_MAX		1024	/* the first TCP option byte's offset */

extern int bpf_sk_assign_tcp_reqsk(struct __sk_buff *skb, struct sock *sk,
				   struct bpf_tcp_req_attrs *attrs, int attrs__sz) __ksym;

#define SG_BARRIER_VAR(x) asm volatile("" : "+r"(x))
/* Read an xdp_md field through a barrier: clang-14 otherwise may merge the
 * data/data_end loads into one load from a computed ctx offset, which the
 * verifier rejects ("dereference of modified ctx ptr"). */
#define SG_CTX(ctx, field) ({ struct xdp_md *c_ = (ctx); SG_BARRIER_VAR(c_); \
			       (void *)(long)c_->field; })

/* This CPU's counts for a port: its slot, or its sg_ck_stats entry when
 * another port holds the slot (include/sg_cookie.h). NULL: no room. */
static __always_inline struct sg_port_stats *sg_ck_port_stats(__u32 port)
{
	__u32 i = port & (SG_CK_SLOTS - 1);
	struct sg_port_slot *sl = bpf_map_lookup_elem(&sg_ck_slots, &i);
	struct sg_port_stats zero = {}, *s;
	int err;

	if (sl && sl->tag == port + 1)
		return &sl->s;
	if (sl && !sl->tag) {
		/* the port's entry first: readers find the slot through it */
		err = bpf_map_update_elem(&sg_ck_stats, &port, &zero, BPF_NOEXIST);
		if (!err || err == -EEXIST) {
			sl->tag = port + 1;
			return &sl->s;
		}
	}
	s = bpf_map_lookup_elem(&sg_ck_stats, &port);
	if (!s) {
		bpf_map_update_elem(&sg_ck_stats, &port, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&sg_ck_stats, &port);
	}
	return s;
}

/* ---- the cookie MAC: a global function, so the verifier walks SipHash
 * once, not once per caller state; the MAC sg_cookie_make/check are
 * given below. ---- */

__noinline __u32 sg_ck_mac(const struct sg_cookie_key *k, const struct sg_cookie_in *in, __u64 t,
			   __u32 mss_idx)
{
	if (!k || !in)
		return 0;
	return sg_cookie_mac(k, in, t, mss_idx);
}

/* ---- TCP options, parsed in a bpf_loop() callback ---- */

struct sg_optctx {
	struct xdp_md *ctx;
	__u32 opt_off;		/* offset of the first option byte in the frame */
	__u32 optlen;
	__u32 off;
	int res;
	struct sg_syn_opts o;
};

static long sg_opt_cb(__u32 i, void *arg)
{
	struct sg_optctx *oc = arg;
	void *data = SG_CTX(oc->ctx, data);
	void *end = SG_CTX(oc->ctx, data_end);
	__u32 off = oc->opt_off;
	int r;

	if (off > SG_OPT_OFF_MAX) {
		oc->res = SG_OPT_BAD;
		return 1;
	}
	r = sg_syn_opts_parse_step((const __u8 *)data + off, end, oc->optlen, &oc->off, &oc->o);
	if (r != SG_OPT_CONT) {
		oc->res = r;
		return 1;
	}
	return 0;
}

/*
 * The two layouts Linux (and most stacks) send, read at fixed offsets
 * without the option walk: a SYN's MSS, SACK_PERM, TS, NOP, WS (20 bytes)
 * and an ACK's NOP, NOP, TS (12 bytes). 1 if the layout matched.
 */
static __always_inline int sg_opts_fast(struct xdp_md *ctx, const struct sg_pkt *p, struct sg_syn_opts *o)
{
	void *data = SG_CTX(ctx, data);
	void *end = SG_CTX(ctx, data_end);
	__u32 off = p->l4_off + 20;
	__u8 *q;

	if (off > SG_OPT_OFF_MAX)
		return 0;
	q = (__u8 *)data + off;
	if (p->tcp_hlen == 40) {
		if ((void *)(q + 20) > end)
			return 0;
		if (q[0] != SG_TCPOPT_MSS || q[1] != 4 || q[4] != SG_TCPOPT_SACK_PERM || q[5] != 2 ||
		    q[6] != SG_TCPOPT_TS || q[7] != 10 || q[16] != SG_TCPOPT_NOP || q[17] != SG_TCPOPT_WS ||
		    q[18] != 3)
			return 0;
		o->mss = sg_get_be16(q + 2);
		o->sack_ok = 1;
		o->has_ts = 1;
		o->tsval = sg_get_be32(q + 8);
		o->tsecr = sg_get_be32(q + 12);
		o->has_ws = 1;
		o->wscale = q[19] > SG_WSCALE_MAX ? SG_WSCALE_MAX : q[19];
		return 1;
	}
	if (p->tcp_hlen == 32) {
		if ((void *)(q + 12) > end)
			return 0;
		if (q[0] != SG_TCPOPT_NOP || q[1] != SG_TCPOPT_NOP || q[2] != SG_TCPOPT_TS || q[3] != 10)
			return 0;
		o->has_ts = 1;
		o->tsval = sg_get_be32(q + 4);
		o->tsecr = sg_get_be32(q + 8);
		return 1;
	}
	return 0;
}

static __always_inline int sg_parse_opts(struct xdp_md *ctx, const struct sg_pkt *p,
					 struct sg_optctx *oc)
{
	oc->ctx = ctx;
	oc->opt_off = p->l4_off + 20;
	oc->optlen = p->tcp_hlen - 20;
	oc->off = 0;
	oc->res = SG_OPT_DONE;
	__builtin_memset(&oc->o, 0, sizeof(oc->o));
	if (oc->optlen && !sg_opts_fast(ctx, p, &oc->o))
		bpf_loop(SG_TCP_OPT_MAX, sg_opt_cb, oc, 0);
	return oc->res;
}

/* ---- checksums: one's-complement sums of native 16-bit words ---- */

static __always_inline __u64 sg_sum32(__u32 v)
{
	return (v & 0xffff) + (v >> 16);
}

static __always_inline __u16 sg_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* ---- the SYN's checksums, verified before it is answered ---- */

#define SG_CSUM_SEG_MAX		16384	/* longest SYN segment we verify (and answer) */
#define SG_CSUM_OFF_MAX		(SG_L3_OFF_MAX + 40 + 60 + SG_CSUM_SEG_MAX)

/* Add a constant n (a multiple of 4, <= 256) bytes at q to cs->sum;
 * 0 if they pass end. */
#define SG_CSUM_BLOCK(cs, q, end, n) ({					\
	int ok_ = (void *)((q) + (n)) <= (end);				\
	if (ok_) {							\
		(cs)->sum += (__u32)bpf_csum_diff(NULL, 0, (void *)(q), (n), 0); \
		(q) += (n);						\
	}								\
	ok_; })

/* bpf_loop() callback (arg: the XDP context): the data of a SYN (TCP Fast
 * Open), 256 bytes per call through bpf_csum_diff(), the rest in one go on
 * the last call; the running state in sg_ck_scratch.cs. */
static long sg_csum_cb(__u32 i, void *arg)
{
	struct xdp_md *ctx = *(struct xdp_md **)arg;
	struct sg_ck_scratch *sc;
	struct sg_csum_state *cs;
	__u32 zero = 0, off, len;
	void *end;
	__u8 *q;

	sc = bpf_map_lookup_elem(&sg_ck_scratch, &zero);
	if (!sc)
		return 1;
	cs = &sc->cs;
	off = cs->off;
	len = cs->len;
	if (off > SG_CSUM_OFF_MAX || len > SG_CSUM_SEG_MAX)
		goto bad;
	end = SG_CTX(ctx, data_end);
	q = (__u8 *)SG_CTX(ctx, data) + off;
	if (len >= 256) {
		if (!SG_CSUM_BLOCK(cs, q, end, 256))
			goto bad;
		cs->off = off + 256;
		cs->len = len - 256;
		return cs->len == 0;
	}
	if (((len & 128) && !SG_CSUM_BLOCK(cs, q, end, 128)) ||
	    ((len & 64) && !SG_CSUM_BLOCK(cs, q, end, 64)) ||
	    ((len & 32) && !SG_CSUM_BLOCK(cs, q, end, 32)) ||
	    ((len & 16) && !SG_CSUM_BLOCK(cs, q, end, 16)) ||
	    ((len & 8) && !SG_CSUM_BLOCK(cs, q, end, 8)) ||
	    ((len & 4) && !SG_CSUM_BLOCK(cs, q, end, 4)))
		goto bad;
	if (len & 2) {
		if ((void *)(q + 2) > end)
			goto bad;
		cs->sum += *(__u16 *)q;
		q += 2;
	}
	if (len & 1) {
		if ((void *)(q + 1) > end)
			goto bad;
		/* the odd byte, padded with a zero byte to a 16-bit word */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		cs->sum += *q;
#else
		cs->sum += (__u16)*q << 8;
#endif
	}
	cs->len = 0;
	return 1;
bad:
	cs->bad = 1;
	return 1;
}

/* The sum of dlen bytes at off into sg_ck_scratch.cs.sum; 1 if the frame
 * holds them. A global function: verified once, whatever the caller's
 * state (the callback is verified in the caller's). */
__noinline int sg_csum_data(struct xdp_md *ctx, __u64 off, __u64 len)
{
	struct sg_ck_scratch *sc;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&sg_ck_scratch, &zero);
	if (!ctx || !sc)
		return 0;
	sc->cs.sum = 0;
	sc->cs.off = off;
	sc->cs.len = len;
	sc->cs.bad = 0;
	bpf_loop(SG_CSUM_SEG_MAX / 256 + 1, sg_csum_cb, &ctx, 0);
	return !sc->cs.bad && !sc->cs.len;
}

/*
 * 1 if a SYN's checksums hold: the IPv4 header's, and the TCP checksum over
 * the pseudo-header and the whole segment (header, options and the data of
 * a TFO SYN). A frame that arrives with a wrong one is not the one its
 * sender sent: answering it would send our SYN-ACK to whatever the damage
 * made of the addresses; the kernel drops it. The exception is a SYN from a
 * local sender with transmit checksum offload (a veth peer: the skb is
 * CHECKSUM_PARTIAL and XDP sees the frame before anyone completed it): its
 * checksum field holds the pseudo-header's sum alone, and the kernel
 * accepts such a frame, so we do too. l3: the IP header's offset (no IPv4
 * options, no IPv6 extension headers: sg_sp_syn checked), hl the TCP header
 * length, dlen the data length (from the IP length). Inlined into the
 * SYN path (a call cost ~20 ns more per SYN than the inlined sums); the
 * rare data of a Fast Open SYN goes through the global sg_csum_data().
 * (64-bit arguments: clang may re-extend a 32-bit one after its check,
 * and the verifier then loses the bound.)
 */
static __always_inline int sg_syn_csum_ok(struct xdp_md *ctx, __u64 l3, __u64 family, __u64 hl, __u64 dlen)
{
	struct sg_ck_scratch *sc;
	__u32 zero = 0;
	void *data = SG_CTX(ctx, data);
	void *end = SG_CTX(ctx, data_end);
	__u64 pseudo = 0, sum = 0, l4;
	__u32 *w, i;

	if (!ctx || l3 > SG_L3_OFF_MAX || hl < 20 || hl > 60 || (hl & 3) || dlen > SG_CSUM_SEG_MAX)
		return 0;
	if (family == 4) {
		w = data + l3;
		if ((void *)(w + 5) > end)
			return 0;
		if (sg_fold((__u64)w[0] + w[1] + w[2] + w[3] + w[4]))
			return 0;	/* the IPv4 header's checksum */
		pseudo = sg_sum32(w[3]) + sg_sum32(w[4]);
		l4 = l3 + 20;
	} else {
		w = data + l3 + 8;
		if ((void *)(w + 8) > end)
			return 0;
#pragma unroll
		for (i = 0; i < 8; i++)
			pseudo += sg_sum32(w[i]);
		l4 = l3 + 40;
	}
	pseudo += bpf_htons(IPPROTO_TCP) + (__u64)bpf_htons(hl + dlen);

	/* the TCP header with its options: up to 15 words; Linux's SYN (40
	 * bytes: MSS, SACK_PERM, TS, NOP, WS) with one bounds check */
	w = data + l4;
	if (hl == 40 && (void *)(w + 10) <= end) {
		sum = (__u64)w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7] + w[8] + w[9];
	} else {
#pragma unroll
		for (i = 0; i < 15; i++) {
			if (i * 4 < hl) {
				if ((void *)(w + i + 1) > end)
					return 0;
				sum += w[i];
			}
		}
	}
	/* data in the SYN (TCP Fast Open) */
	if (dlen) {
		sc = bpf_map_lookup_elem(&sg_ck_scratch, &zero);
		if (!sc || !sg_csum_data(ctx, l4 + hl, dlen))
			return 0;
		sum += sc->cs.sum;
	}
	if (!sg_fold(sum + pseudo))
		return 1;
	/* CHECKSUM_PARTIAL: the field (word 4 of the header) is the
	 * pseudo-header's sum, not complemented */
	w = data + l4;
	if ((void *)(w + 5) > end)
		return 0;
	return (__u16)w[4] == (__u16)~sg_fold(pseudo);
}

/* ---- listener lookup ---- */

static __always_inline void sg_tuple(const struct sg_pkt *p, struct bpf_sock_tuple *t, __u32 *tlen)
{
	if (p->family == 4) {
		t->ipv4.saddr = p->saddr[0];
		t->ipv4.daddr = p->daddr[0];
		t->ipv4.sport = bpf_htons(p->sport);
		t->ipv4.dport = bpf_htons(p->dport);
		*tlen = sizeof(t->ipv4);
	} else {
		__builtin_memcpy(t->ipv6.saddr, p->saddr, 16);
		__builtin_memcpy(t->ipv6.daddr, p->daddr, 16);
		t->ipv6.sport = bpf_htons(p->sport);
		t->ipv6.dport = bpf_htons(p->dport);
		*tlen = sizeof(t->ipv6);
	}
}

/* ---- the socket hint (include/sg_skhint.h) ---- */

/* Mark a tuple, the client's view (caddr/cport: the remote endpoint):
 * a socket for it may exist from now on. The slot is written only when
 * its epoch changes (no cache line dirtied per packet). */
static __always_inline void sg_skhint_mark(__u8 family, const __u32 *caddr, const __u32 *saddr,
					   __u16 cport, __u16 sport)
{
	struct sg_skhint *h;
	__u32 zero = 0, i;
	__u8 e;

	h = bpf_map_lookup_elem(&sg_sk_hint, &zero);
	if (!h)
		return;
	i = sg_skhint_slot(family, caddr, saddr, cport, sport) & (SG_SKHINT_SLOTS - 1);
	e = sg_skhint_epoch(bpf_ktime_get_coarse_ns());
	if (h->slot[i] != e)
		h->slot[i] = e;
}

/* An ingress segment's tuple (its sender is the client). */
static __always_inline void sg_skhint_mark_in(const struct sg_pkt *p)
{
	sg_skhint_mark(p->family, p->saddr, p->daddr, p->sport, p->dport);
}

/* 1 if the hint is armed and says this ingress tuple has no socket. */
static __always_inline int sg_skhint_none(const struct sg_pkt *p, __u64 now_ns)
{
	struct sg_skhint *h;
	__u32 zero = 0, i, a;
	__u8 e, m;

	h = bpf_map_lookup_elem(&sg_sk_hint, &zero);
	if (!h)
		return 0;
	a = h->armed;
	if (!sg_skhint_trusted(sg_skhint_epoch32(now_ns), a))
		return 0;	/* no recent dump: the hint may miss sockets */
	e = sg_skhint_epoch(now_ns);
	i = sg_skhint_slot(p->family, p->saddr, p->daddr, p->sport, p->dport) & (SG_SKHINT_SLOTS - 1);
	m = h->slot[i];
	return !sg_skhint_recent(e, m);
}

/* 1: a listener answers this SYN's tuple; 0: no socket, or another one:
 * a SYN whose 4-tuple has an established, request or TIME_WAIT socket is
 * the kernel's business (port reuse from TIME_WAIT). The lookup itself;
 * sg_syn_listener() decides when it is needed. */
static __always_inline int sg_has_listener(struct xdp_md *ctx, struct sg_pkt *p,
					   struct sg_port_cfg *pc, __u32 now_ms)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 seen = p->family == 4 ? pc->seen4 : pc->seen6, tlen;
	int listen;

	sg_tuple(p, &t, &tlen);
	sk = bpf_skc_lookup_tcp(ctx, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	listen = sk->state == BPF_TCP_LISTEN;
	bpf_sk_release(sk);
	if (!listen)
		sg_skhint_mark_in(p);	/* (it should be marked already) */
	/* the port's listener (for ACKs without --ports), refreshed at most
	 * once a second: no cache line bounced per SYN */
	if (listen && (!seen || now_ms - seen >= 1000)) {
		if (p->family == 4)
			pc->seen4 = now_ms | 1;
		else
			pc->seen6 = now_ms | 1;
	}
	return listen;
}

/* How long a listener found by a lookup is taken to be there for SYNs to
 * the same local address and port whose tuple has no socket (the hint). */
#define SG_LISTEN_CACHE_MS	100

/*
 * sg_has_listener() for a SYN, without the socket lookup when it cannot
 * tell anything new: the hint says no socket can exist for the tuple, and
 * a lookup less than SG_LISTEN_CACHE_MS ago found a listener for the same
 * local address and port. Otherwise the lookup, which refreshes the cache.
 * (A listener closed in the last 100 ms may still get a SYN answered; the
 * client's ACK then meets no listener at TC and gets the kernel's RST.)
 */
static __always_inline int sg_syn_listener(struct xdp_md *ctx, struct sg_pkt *p, struct sg_port_cfg *pc,
					   __u64 now)
{
	struct sg_listen_cache *lc;
	__u32 port = p->dport, now_ms = (__u32)(now / 1000000), at;
	int listen;

	lc = bpf_map_lookup_elem(&sg_listen_cache, &port);
	if (!lc)
		return sg_has_listener(ctx, p, pc, now_ms);
	at = p->family == 4 ? lc->ms4 : lc->ms6;
	if (at && now_ms - at < SG_LISTEN_CACHE_MS &&
	    (p->family == 4 ? lc->addr4 == p->daddr[0] :
	     lc->addr6[0] == p->daddr[0] && lc->addr6[1] == p->daddr[1] &&
	     lc->addr6[2] == p->daddr[2] && lc->addr6[3] == p->daddr[3]) &&
	    sg_skhint_none(p, now))
		return 1;
	listen = sg_has_listener(ctx, p, pc, now_ms);
	if (listen) {
		if (p->family == 4) {
			lc->addr4 = p->daddr[0];
			lc->ms4 = now_ms | 1;
		} else {
			lc->addr6[0] = p->daddr[0];
			lc->addr6[1] = p->daddr[1];
			lc->addr6[2] = p->daddr[2];
			lc->addr6[3] = p->daddr[3];
			lc->ms6 = now_ms | 1;
		}
	}
	return listen;
}

/* ---- SYN -> SYN-ACK ---- */

/* Turn the frame into our SYN-ACK: l3/l4 offsets, the family, the cookie,
 * the client's ISN and olen option bytes in ob. The frame already has its
 * new length. */
static __noinline int sg_sp_synack_write(struct xdp_md *ctx, __u32 l3, __u32 family,
					 const struct sg_ck_scratch *sc)
{
	const union sg_optbuf *ob = &sc->ob;
	__u32 cookie = sc->cookie, isn = sc->isn, olen = sc->olen;
	void *data = SG_CTX(ctx, data);
	void *end = SG_CTX(ctx, data_end);
	struct ethhdr *eth = data;
	struct tcphdr *tcp;
	__u32 tcplen, sport, dport;
	__u64 sum = 0;
	__u8 mac[6];

	if (l3 > SG_L3_OFF_MAX || olen > SG_SYNACK_OPT_MAX)
		return SG_SP_DROP;
	tcplen = 20 + olen;
	if ((void *)(eth + 1) > end)
		return SG_SP_DROP;
	__builtin_memcpy(mac, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, mac, 6);

	if (family == 4) {
		struct iphdr *ip = data + l3;
		__u32 s, d;
		__u64 isum;

		if ((void *)(ip + 1) > end)
			return SG_SP_DROP;
		s = ip->saddr;
		d = ip->daddr;
		ip->saddr = d;
		ip->daddr = s;
		*(__u16 *)ip = bpf_htons(SG_IP4_VER_IHL);
		ip->tot_len = bpf_htons(20 + tcplen);
		ip->id = 0;
		ip->frag_off = bpf_htons(SG_IP_DF);
		ip->ttl = SG_SYNACK_TTL;
		ip->protocol = IPPROTO_TCP;
		ip->check = 0;
		isum = bpf_htons(SG_IP4_VER_IHL) + (__u64)bpf_htons(20 + tcplen) + bpf_htons(SG_IP_DF) +
		       bpf_htons(SG_SYNACK_TTL << 8 | IPPROTO_TCP) + sg_sum32(s) + sg_sum32(d);
		ip->check = sg_fold(isum);
		sum = sg_sum32(s) + sg_sum32(d);
		tcp = (void *)(ip + 1);
	} else {
		struct ipv6hdr *ip6 = data + l3;
		__u32 *sa, *da, t;

		if ((void *)(ip6 + 1) > end)
			return SG_SP_DROP;
		sa = ip6->saddr.in6_u.u6_addr32;
		da = ip6->daddr.in6_u.u6_addr32;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			t = sa[i];
			sa[i] = da[i];
			da[i] = t;
			sum += sg_sum32(sa[i]) + sg_sum32(t);
		}
		*(__u32 *)ip6 = bpf_htonl(0x60000000);	/* version, TC 0, no flow label */
		ip6->payload_len = bpf_htons(tcplen);
		ip6->nexthdr = IPPROTO_TCP;
		ip6->hop_limit = SG_SYNACK_TTL;
		tcp = (void *)(ip6 + 1);
	}
	if ((void *)(tcp + 1) > end)
		return SG_SP_DROP;
	sport = tcp->source;
	dport = tcp->dest;
	tcp->source = dport;
	tcp->dest = sport;
	tcp->seq = bpf_htonl(cookie);
	tcp->ack_seq = bpf_htonl(isn + 1);
	((__u16 *)tcp)[6] = bpf_htons(((tcplen / 4) << 12) | SG_TCP_SYN | SG_TCP_ACK);
	tcp->window = bpf_htons(SG_SYNACK_WINDOW);
	tcp->check = 0;
	tcp->urg_ptr = 0;
#pragma unroll
	for (int i = 0; i < SG_SYNACK_OPT_MAX / 4; i++) {
		__u32 *w = (void *)(tcp + 1) + i * 4;

		if (i * 4 >= olen)
			break;
		if ((void *)(w + 1) > end)
			return SG_SP_DROP;
		*w = ob->d[i];
	}
	/* pseudo header + TCP header; option bytes past olen are zero */
	sum += bpf_htons(IPPROTO_TCP) + (__u64)bpf_htons(tcplen) + sport + dport +
	       sg_sum32(bpf_htonl(cookie)) + sg_sum32(bpf_htonl(isn + 1)) +
	       bpf_htons(((tcplen / 4) << 12) | SG_TCP_SYN | SG_TCP_ACK) + bpf_htons(SG_SYNACK_WINDOW);
#pragma unroll
	for (int i = 0; i < SG_SYNACK_OPT_MAX / 2; i++)
		sum += ob->w[i];
	tcp->check = sg_fold(sum);
	return SG_SP_TX;
}

/* The MSS our SYN-ACKs offer: the interface's MTU less the headers (the
 * live value once the MTU changed under us, else the one at load). */
static __always_inline __u16 sg_mss_offered(__u32 family)
{
	__u16 live = sg_mss_live[family == 4 ? 0 : 1];

	return live ? live : family == 4 ? sg_cfg.mss4 : sg_cfg.mss6;
}

/* now: bpf_ktime_get_coarse_ns(), the SYN path's one clock read (the
 * cookie's ~68 s window and our TSval's ~1 ms units need no finer). */
static __noinline int sg_sp_syn(struct xdp_md *ctx, struct sg_pkt *p, struct sg_counters *c,
				struct sg_port_stats *st, __u64 now)
{
	struct sg_cookie_secrets *sec;
	struct sg_ck_scratch *sc;
	struct sg_optctx oc;
	__u32 zero = 0, slot, cookie, mss_idx, olen, tsval, isn = p->seq;
	__u32 l3 = p->l3_off, l4 = p->l4_off, hl, family = p->family;
	__u16 mss;
	int ws, sack, delta, res;

	/* Only plain headers: IPv4 without options, IPv6 without extensions. */
	hl = family == 4 ? 20 : 40;
	if (l4 != l3 + hl || l3 > SG_L3_OFF_MAX)
		return SG_SP_CONTINUE;
	sec = bpf_map_lookup_elem(&sg_ck_secrets, &zero);
	sc = bpf_map_lookup_elem(&sg_ck_scratch, &zero);
	if (!sec || !sc)
		return SG_SP_CONTINUE;
	slot = sec->cur & 1;
	if (!sec->key[slot].k0 && !sec->key[slot].k1)
		return SG_SP_CONTINUE;	/* no secret yet */

	if (sg_parse_opts(ctx, p, &oc) == SG_OPT_BAD)
		return SG_SP_CONTINUE;	/* malformed options: the kernel decides */
	if (p->payload_len > SG_CSUM_SEG_MAX)
		return SG_SP_CONTINUE;	/* (a jumbo SYN: not ours to verify) */
	if (!sg_syn_csum_ok(ctx, l3, family, p->tcp_hlen, p->payload_len)) {
		sg_count(c, SG_CNT_BAD_CSUM);
		return SG_SP_PASS;	/* damaged on the way: the kernel drops it */
	}

	__builtin_memcpy(sc->in.saddr, p->saddr, 16);
	__builtin_memcpy(sc->in.daddr, p->daddr, 16);
	sc->in.sport = p->sport;
	sc->in.dport = p->dport;
	sc->in.isn = isn;
	sc->in.family = family;
	mss = oc.o.mss ? oc.o.mss : (family == 4 ? 536 : 1220);
	mss_idx = sg_mss_idx(mss, family);
	/* The MSS index is covered by the MAC: hash after the option parse,
	 * in the global sg_ck_mac() (verified once). */
	cookie = sg_cookie_make(sg_ck_mac, &sec->key[slot], slot, &sc->in, now + sec->clock_off_ns, mss_idx);

	ws = oc.o.has_ws && sg_cfg.allow_ws ? oc.o.wscale : -1;
	sack = oc.o.sack_ok && sg_cfg.allow_sack;
	tsval = sg_tsopts_encode((__u32)(now >> 20), ws, sack, 0);
	__builtin_memset(&sc->ob, 0, sizeof(sc->ob));
	olen = sg_synack_opts_write(sc->ob.b, &oc.o, sg_mss_offered(family),
				    sg_cfg.wscale, tsval, sg_cfg.allow_ts, sg_cfg.allow_sack,
				    sg_cfg.allow_ws);
	if (olen > SG_SYNACK_OPT_MAX)
		return SG_SP_CONTINUE;

	/* New frame: headers up to TCP, 20 + olen bytes of TCP, no payload
	 * (data in a SYN is cut: the client sends it again). */
	delta = (int)(l4 + 20 + olen) - (int)(SG_CTX(ctx, data_end) - SG_CTX(ctx, data));
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return SG_SP_CONTINUE;

	sc->cookie = cookie;
	sc->isn = isn;
	sc->olen = olen;
	res = sg_sp_synack_write(ctx, l3, family, sc);
	if (res == SG_SP_TX) {
		sg_count(c, SG_CNT_COOKIE_SENT);
		if (st)
			st->sent++;
	}
	return res;
}

/* ---- ACK: check the cookie, then (only if bad) look for a socket ---- */

/* The cookie's input for an ACK (the client's ISN is seq - 1), all bytes
 * set: also the key of sg_ck_handed. */
static __always_inline void sg_ck_handed_key(struct sg_cookie_in *in, const struct sg_pkt *p)
{
	__builtin_memset(in, 0, sizeof(*in));
	__builtin_memcpy(in->saddr, p->saddr, 16);
	__builtin_memcpy(in->daddr, p->daddr, 16);
	in->sport = p->sport;
	in->dport = p->dport;
	in->isn = p->seq - 1;
	in->family = p->family;
}

/* Remember a handed-off handshake the tracker does not keep. */
static __noinline int sg_ck_mark_handed(const struct sg_pkt *p)
{
	struct sg_cookie_in in;
	__u32 zero = 0, *any;
	__u8 one = 1;

	if (!p)
		return 0;
	/* first the flag, then the entry (whose insert takes the bucket's
	 * lock): a CPU that finds the entry finds the flag set */
	any = bpf_map_lookup_elem(&sg_ck_handed_any, &zero);
	if (any && !*(volatile __u32 *)any)
		*(volatile __u32 *)any = 1;
	sg_ck_handed_key(&in, p);
	bpf_map_update_elem(&sg_ck_handed, &in, &one, BPF_ANY);
	return 0;
}

/* 1 if this handshake was handed off already (sg_ck_mark_handed()). */
static __always_inline int sg_ck_was_handed(struct sg_cookie_in *in)
{
	__u32 zero = 0, *any = bpf_map_lookup_elem(&sg_ck_handed_any, &zero);

	if (any && !*(volatile __u32 *)any)
		return 0;	/* the table was never written: no lookup */
	return bpf_map_lookup_elem(&sg_ck_handed, in) != NULL;
}

static __noinline int sg_sp_ack(struct xdp_md *ctx, struct sg_pkt *p, struct sg_counters *c,
				     int may_drop)
{
	struct sg_cookie_secrets *sec;
	struct sg_cookie_in in;
	struct sg_port_stats *st;
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 zero = 0, mss_idx = 0, tlen;
	int r;

	sec = bpf_map_lookup_elem(&sg_ck_secrets, &zero);
	if (!sec)
		return SG_SP_CONTINUE;
	sg_ck_handed_key(&in, p);
	mss_idx = 0;
	/* One clock read for the check and the tracker (p->now: the flow's
	 * start and its events' time): the tick's time, which costs no call
	 * on most segments and no wait for the loads in flight (the fine
	 * clock's rdtsc is ordered behind them, the flow lookup's cache miss
	 * among them). It can lag the SYN path's coarse clock by a tick:
	 * SG_COOKIE_CHECK_AHEAD_NS covers that. Ladder mode, whose records
	 * show sub-ms times, reads the fine clock. */
	p->now = sg_cfg.ladder ? bpf_ktime_get_ns() : sg_tick_ns();
	r = sg_cookie_check(sg_ck_mac, sec->key, &in, p->ack - 1, p->now + sec->clock_off_ns, &mss_idx);

	if (r == SG_COOKIE_OK) {
		struct sg_cookie_meta m = { .magic = SG_META_MAGIC };
		struct sg_optctx oc;
		struct sg_cookie_meta *mp;
		void *data;

		/* handed off already (an untracked flow's next segment) */
		if (sg_ck_was_handed(&in))
			return SG_SP_CONTINUE;
		sg_count(c, SG_CNT_COOKIE_VALID);
		st = sg_ck_port_stats(p->dport);
		if (st)
			st->valid++;
		m.mss = sg_mss_val(mss_idx);
		if (sg_parse_opts(ctx, p, &oc) != SG_OPT_BAD && oc.o.has_ts && sg_cfg.allow_ts) {
			int ws, sack, ecn;

			sg_tsopts_decode(oc.o.tsecr, &ws, &sack, &ecn);
			m.opts = SG_META_TS;
			m.tsval = oc.o.tsval;
			m.tsecr = oc.o.tsecr;
			if (sack && sg_cfg.allow_sack)
				m.opts |= SG_META_SACK;
			if (ws >= 0 && sg_cfg.allow_ws) {
				m.opts |= SG_META_WS;
				m.snd_wscale = ws;
			}
		}
		if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(m)))
			return SG_SP_COOKIE_OK;	/* driver without metadata: no handoff */
		data = SG_CTX(ctx, data);
		mp = SG_CTX(ctx, data_meta);
		if ((void *)(mp + 1) > data)
			return SG_SP_COOKIE_OK;
		*mp = m;
		return SG_SP_COOKIE_OK;
	}

	sg_tuple(p, &t, &tlen);
	sk = bpf_skc_lookup_tcp(ctx, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (sk) {
		int listen = sk->state == BPF_TCP_LISTEN;

		bpf_sk_release(sk);
		if (!listen) {
			sg_skhint_mark_in(p);
			return SG_SP_CONTINUE;	/* established, time-wait, request */
		}
	}
	/* (--allow: a handshake the kernel answered is the kernel's) */
	if (!may_drop || sg_policy_allowed(p)) {
		sg_skhint_mark_in(p);	/* (the kernel's own cookie may make a socket) */
		return SG_SP_CONTINUE;
	}
	st = sg_ck_port_stats(p->dport);
	if (st)
		st->rejected++;
	sg_count(c, SG_DROP_COOKIE_BAD);
	return SG_SP_DROP;
}

/* Monitor mode (the default) never changes a packet. */
static __always_inline int sg_synproxy_xdp(struct xdp_md *ctx, struct sg_pkt *p, struct sg_counters *c,
					   int allowed)
{
	struct sg_port_cfg *pc;
	__u32 port = p->dport, tcpf = p->flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST | SG_TCP_FIN);
	__u32 flags, seen;
	int cookies;

	if (sg_cfg.mode == SG_MODE_MONITOR)
		return SG_SP_CONTINUE;
	pc = bpf_map_lookup_elem(&sg_ck_ports, &port);
	if (!pc)
		return SG_SP_CONTINUE;
	flags = pc->flags;
	if (sg_cfg.explicit_ports && !(flags & SG_PORT_PROTECTED))
		return SG_SP_CONTINUE;
	cookies = sg_cfg.mode == SG_MODE_PROTECT || (flags & SG_PORT_COOKIES);

	if (tcpf == SG_TCP_SYN) {
		struct sg_port_stats *st;
		__u64 now = bpf_ktime_get_coarse_ns();
		int res;

		if (!sg_syn_listener(ctx, p, pc, now))
			return SG_SP_CONTINUE;	/* closed port: the kernel RSTs */
		st = sg_ck_port_stats(port);
		if (st)
			st->syns++;
		if (!cookies || allowed) {
			sg_skhint_mark_in(p);	/* the kernel's SYN: its socket may follow */
			return SG_SP_CONTINUE;	/* (--allow: the kernel answers) */
		}
		if (sg_cfg.synack_cap && sg_synack_capped(p)) {
			sg_count(c, SG_DROP_SYNACK_CAPPED);
			return SG_SP_DROP;
		}
		res = sg_sp_syn(ctx, p, c, st, now);
		if (res == SG_SP_DROP)	/* impossible after the checks above */
			sg_count(c, SG_DROP_COOKIE_BAD);
		if (res == SG_SP_CONTINUE)
			sg_skhint_mark_in(p);	/* not ours to answer: the kernel's */
		return res;
	}
	if ((p->flags & (SG_TCP_SYN | SG_TCP_RST | SG_TCP_ACK)) == SG_TCP_ACK) {
		if (!cookies && !(flags & SG_PORT_GRACE))
			return SG_SP_CONTINUE;
		/* Without --ports only ports where a listener was seen. */
		seen = p->family == 4 ? pc->seen4 : pc->seen6;
		if (!sg_cfg.explicit_ports && !seen)
			return SG_SP_CONTINUE;
		return sg_sp_ack(ctx, p, c, cookies);
	}
	if ((p->flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN)
		sg_skhint_mark_in(p);	/* (SYN with FIN or RST: the kernel's) */
	return SG_SP_CONTINUE;
}

/* TC ingress: hand a validated cookie ACK to the listener. Returns a TC_ACT_*. */
static __always_inline int sg_synproxy_tc(struct __sk_buff *skb)
{
	struct sg_counters *c;
	struct sg_cookie_meta m, *mp;
	struct bpf_tcp_req_attrs attrs = {};
	struct bpf_sock_tuple t = {};
	struct bpf_sock *skc;
	struct tcp_sock *tp;
	struct sg_pkt p;
	void *data, *end;
	__u32 tlen;
	int err;

	if (sg_cfg.mode == SG_MODE_MONITOR)
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	mp = (void *)(long)skb->data_meta;
	if ((void *)(mp + 1) > data || mp->magic != SG_META_MAGIC)
		return TC_ACT_OK;
	m = *mp;
	c = sg_cnt();
	end = (void *)(long)skb->data_end;
	if (sg_parse(data, end, skb->len, &p) != SG_P_TCP) {
		sg_count(c, SG_CNT_HANDOFF_FAIL);
		return TC_ACT_OK;
	}
	sg_tuple(&p, &t, &tlen);
	skc = bpf_skc_lookup_tcp(skb, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!skc) {
		sg_count(c, SG_CNT_HANDOFF_FAIL);	/* no listener any more */
		return TC_ACT_OK;
	}
	if (skc->state != BPF_TCP_LISTEN) {
		/* The child exists already (a data segment after the ACK). */
		bpf_sk_release(skc);
		return TC_ACT_OK;
	}
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp) {
		bpf_sk_release(skc);
		sg_count(c, SG_CNT_HANDOFF_FAIL);
		return TC_ACT_OK;
	}
	attrs.mss = m.mss;
	if (m.opts & SG_META_TS) {
		attrs.tstamp_ok = 1;
		attrs.rcv_tsval = m.tsval;
		attrs.rcv_tsecr = m.tsecr;
	}
	if (m.opts & SG_META_WS) {
		attrs.wscale_ok = 1;
		attrs.snd_wscale = m.snd_wscale;
		attrs.rcv_wscale = sg_cfg.wscale > SG_WSCALE_MAX ? SG_WSCALE_MAX : sg_cfg.wscale;
	}
	attrs.sack_ok = !!(m.opts & SG_META_SACK);
	attrs.ecn_ok = 0;
	attrs.usec_ts_ok = 0;
	err = bpf_sk_assign_tcp_reqsk(skb, (struct sock *)tp, &attrs, sizeof(attrs));
	bpf_sk_release(skc);
	sg_count(c, err ? SG_CNT_HANDOFF_FAIL : SG_CNT_COOKIE_HANDOFF);
	return TC_ACT_OK;
}

#endif /* SG_SYNPROXY_H */
