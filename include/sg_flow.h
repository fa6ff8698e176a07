/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_flow.h - the per-flow record and a pure TCP tracking state machine.
 *
 * Compiles in userspace (linux/types.h) and in BPF (vmlinux.h first): no
 * libc, no globals, no tables, no loops; everything is always_inline.
 *
 * Model: each endpoint runs its own RFC 793 machine. The tracker sees
 * segments at one interface, and any of them may still be lost after it,
 * in either direction, so an endpoint X moves only on evidence:
 *  - X sends something: its SYN, FIN or RST, or an ACK whose number proves
 *    what X has received (X acking Y's FIN is the only proof that X got it);
 *  - Y's acknowledgement number covers what X sent: X's SYN (SYN_RCVD ->
 *    ESTABLISHED) or X's FIN (FIN_WAIT_1 -> FIN_WAIT_2, CLOSING ->
 *    TIME_WAIT, LAST_ACK -> CLOSED). Such an ack is taken to reach X: no
 *    endpoint acknowledges an ack, so nothing X sends later could confirm it.
 * Nothing Y sends moves X on the assumption that X received it. One case
 * waits: X in FIN_WAIT_1 whose FIN Y acknowledges after Y sent a FIN that
 * did not. X gets Y's FIN first (CLOSING) unless that FIN was lost, so X's
 * state stays open until X acknowledges Y's FIN; X's ack answers the latest
 * copy of Y's FIN, and X went FIN_WAIT_2 -> TIME_WAIT if that copy also
 * acknowledged X's FIN, else CLOSING (-> TIME_WAIT at once, Y's ack being
 * already known). An acceptable RST closes both endpoints at once: no
 * endpoint acknowledges a RST, so no evidence of its arrival ever comes.
 * All sequence comparisons use serial arithmetic.
 *
 * Size: key 40 bytes (IPv4: 12, struct sg_flow_key4) + value 88 bytes.
 */
#ifndef SG_FLOW_H
#define SG_FLOW_H

#include "sg_types.h"
#include "synguard.h"

/*
 * Normalised 4-tuple: both directions build the same key. The 'lo'
 * endpoint is the one with the lower port (ties broken by the lower
 * address), so port_lo <= port_hi. Addresses in network byte order, IPv4
 * in [0] and the rest 0; ports in host order; family 4 or 6.
 */
struct sg_flow_key {
	__u32 addr_lo[4];
	__u32 addr_hi[4];
	__u16 port_lo;
	__u16 port_hi;
	__u8 family;
	__u8 pad[3];
};

/*
 * IPv4 flows are kept under a 12-byte key (map sg_flows4; IPv6 in
 * sg_flows under the 40-byte one): the map hashes and compares the whole
 * key on every lookup and insert, and 12 bytes cost about half of 40.
 * Code works on struct sg_flow_key and converts at the map.
 */
struct sg_flow_key4 {
	__u32 addr_lo;
	__u32 addr_hi;
	__u16 port_lo;
	__u16 port_hi;
};

SG_INLINE void sg_flow_key4_of(struct sg_flow_key4 *k4, const struct sg_flow_key *k)
{
	k4->addr_lo = k->addr_lo[0];
	k4->addr_hi = k->addr_hi[0];
	k4->port_lo = k->port_lo;
	k4->port_hi = k->port_hi;
}

SG_INLINE void sg_flow_key_of4(struct sg_flow_key *k, const struct sg_flow_key4 *k4)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->addr_lo[0] = k4->addr_lo;
	k->addr_hi[0] = k4->addr_hi;
	k->port_lo = k4->port_lo;
	k->port_hi = k4->port_hi;
	k->family = 4;
}

/* close_how: how the flow started closing (first closer = close_side). */
#define SG_CLOSE_NONE		0
#define SG_CLOSE_FIN		1
#define SG_CLOSE_RST		2
#define SG_CLOSE_TIMEOUT	3	/* closed by sg_flow_expire, no FIN/RST seen */

/* sg_flow.priv: internal bits (per side: client bit, server bit << 1). */
#define SG_FP_NXT(s)	((__u8)(0x01u << ((s) & 1)))	/* snd_nxt[s] known */
#define SG_FP_FIN(s)	((__u8)(0x04u << ((s) & 1)))	/* s has sent its FIN (fin_seq[s] valid) */
#define SG_FP_ISN(s)	((__u8)(0x10u << ((s) & 1)))	/* isn[s] known */
#define SG_FP_FINACK(s)	((__u8)(0x40u << ((s) & 1)))	/* s's latest FIN copy acked the peer's FIN */

/*
 * The map value. Arrays of two are indexed by enum sg_side. Times: start_ns
 * is a bpf_ktime_get_ns() value (CLOCK_MONOTONIC in userspace); the others
 * are offsets from start_ns. The BPF side changes states only while holding
 * busy (two CPUs may see the two directions of one flow at once); segments
 * that cannot change a state take the flag-free sg_flow_count() path.
 */
struct sg_flow {
	__u32 busy;		/* 1 while a CPU changes the states (see sg_track.h) */
	__u32 last_ms;		/* ms after start_ns of the last segment, either direction */
	__u64 start_ns;		/* first segment of this incarnation (the SYN) */
	__u32 isn[2];		/* SYN / SYN-ACK sequence number (SG_FP_ISN) */
	__u32 snd_nxt[2];	/* highest seq + len (+SYN/FIN) sent (SG_FP_NXT) */
	__u32 fin_seq[2];	/* sequence number of the side's FIN (SG_FP_FIN) */
	__u32 pkts[2];		/* segments sent by the side */
	__u32 bytes[2];		/* payload bytes sent by the side (incl. retrans) */
	__u32 state_ms[2];	/* ms after start_ns when state[side] was entered */
	__u32 syn_us;		/* us after start_ns of the latest (re)transmitted SYN */
	__u32 rtt_syn_us;	/* SYN -> SYN-ACK at the interface (0: unknown) */
	__u32 rtt_ack_us;	/* SYN-ACK -> handshake ACK (0: unknown) */
	__u16 win[2];		/* last raw (unscaled) window advertised by the side */
	__u8 state[2];		/* enum sg_state per side */
	__u8 flags;		/* SG_F_* */
	__u8 client_is_lo;	/* 1: the client is the key's 'lo' endpoint */
	__u8 syn_retrans;	/* client SYN retransmissions (saturates at 255) */
	__u8 close_side;	/* enum sg_side that closed first (if close_how) */
	__u8 close_how;		/* SG_CLOSE_* */
	__u8 priv;		/* SG_FP_* */
};

_Static_assert(sizeof(struct sg_flow_key) == 40, "sg_flow_key layout");
_Static_assert(sizeof(struct sg_flow_key4) == 12, "sg_flow_key4 layout");
_Static_assert(sizeof(struct sg_flow) == 88, "sg_flow layout");
_Static_assert(sizeof(struct sg_flow_key) + sizeof(struct sg_flow) <= 128,
	       "flow entry must fit 128 bytes");

#define SG_FSM_MAX_TR 4	/* sg__tr() has one case per slot */

struct sg_tr {
	__u8 side;		/* enum sg_side */
	__u8 from;		/* enum sg_state */
	__u8 to;		/* enum sg_state */
	__u8 cause;		/* enum sg_cause */
	__u8 closer;		/* to CLOSED: enum sg_closer as of the transition (0: take it from the flow) */
};

struct sg_fsm_out {
	__u8 n;			/* valid entries in tr[] (in causal order) */
	__u8 retrans;		/* the segment was a retransmission (SYN, SYN-ACK, FIN, data) */
	__u8 rst_ignored;	/* RST with an unacceptable sequence number */
	__u8 new_syn;		/* a new SYN re-initialised the flow (4-tuple reuse) */
	struct sg_tr tr[SG_FSM_MAX_TR];
	__u8 overflow;		/* transitions that did not fit (by design always 0) */
	__u8 pad[3];
};


/* ---- helpers ----------------------------------------------------------- */

/* serial-number arithmetic: a after b, a at-or-after b */
#define SG_SEQ_GT(a, b)	((__s32)((__u32)(a) - (__u32)(b)) > 0)
#define SG_SEQ_GE(a, b)	((__s32)((__u32)(a) - (__u32)(b)) >= 0)

SG_INLINE __u64 sg__since(const struct sg_flow *f, __u64 now_ns)
{
	return now_ns > f->start_ns ? now_ns - f->start_ns : 0;
}

SG_INLINE __u32 sg__sat32(__u64 v)
{
	return v > 0xffffffffULL ? 0xffffffffu : (__u32)v;
}

SG_INLINE __u32 sg__us(const struct sg_flow *f, __u64 now_ns)
{
	return sg__sat32(sg__since(f, now_ns) / 1000);
}

SG_INLINE void sg__out_init(struct sg_fsm_out *o)
{
	o->n = 0;
	o->retrans = 0;
	o->rst_ignored = 0;
	o->new_syn = 0;
	o->overflow = 0;
}

/* Who closed first and how (enum sg_closer), from the flow's close_* fields. */
SG_INLINE __u8 sg__closer(const struct sg_flow *f)
{
	if (f->close_how == SG_CLOSE_FIN)
		return f->close_side == SG_SIDE_CLIENT ? SG_CLOSER_CLIENT_FIN : SG_CLOSER_SERVER_FIN;
	if (f->close_how == SG_CLOSE_RST)
		return f->close_side == SG_SIDE_CLIENT ? SG_CLOSER_CLIENT_RST : SG_CLOSER_SERVER_RST;
	if (f->close_how == SG_CLOSE_TIMEOUT)
		return SG_CLOSER_TIMEOUT;
	return SG_CLOSER_NONE;
}

/* Move side s to state 'to' and record the transition. */
SG_INLINE void sg__tr(struct sg_flow *f, struct sg_fsm_out *o, int s, __u8 to,
		      __u8 cause, __u64 now_ns)
{
	struct sg_tr t;
	__u8 n = o->n;

	s &= 1;
	t.side = (__u8)s;
	t.from = f->state[s];
	t.to = to;
	t.cause = cause;
	/* a REUSE wipes the record right after: keep the old closer with it */
	t.closer = to == SG_CLOSED ? sg__closer(f) : SG_CLOSER_NONE;
	/* constant slots only: a computed &tr[n] on the stack can come out of
	 * clang as a pointer OR, which the verifier rejects */
	switch (n) {
	case 0: o->tr[0] = t; break;
	case 1: o->tr[1] = t; break;
	case 2: o->tr[2] = t; break;
	case 3: o->tr[3] = t; break;
	default: o->overflow++; n--; break;
	}
	o->n = n + 1;
	f->state[s] = to;
	f->state_ms[s] = sg__sat32(sg__since(f, now_ns) / 1000000);
}

/* Wipe the record, except the busy flag (its holder releases it). */
SG_INLINE void sg__zero(struct sg_flow *f)
{
	__builtin_memset((char *)f + sizeof(f->busy), 0, sizeof(*f) - sizeof(f->busy));
}

SG_INLINE void sg__touch(struct sg_flow *f, __u64 now_ns)
{
	f->last_ms = sg__sat32(sg__since(f, now_ns) / 1000000);
}

/*
 * A state only reached after receiving the peer's FIN: an endpoint there
 * has acknowledged the peer's FIN (sg__segment() moves it there only then).
 */
SG_INLINE int sg__got_fin(__u8 st)
{
	return st == SG_CLOSE_WAIT || st == SG_LAST_ACK || st == SG_CLOSING ||
	       st == SG_TIME_WAIT;
}

/* A side that never did anything (implicit LISTEN) or is gone. */
SG_INLINE int sg__idle_state(__u8 st)
{
	return st == SG_CLOSED || st == SG_LISTEN;
}

/* ---- key --------------------------------------------------------------- */

/*
 * Build the normalised key from a segment's (src, dst). family 6 reads four
 * address words, anything else one (IPv4). Returns 1 if the segment's
 * sender is the 'lo' endpoint.
 */
SG_INLINE int sg_flow_key_make(struct sg_flow_key *k, __u8 family,
			       const __u32 *saddr, const __u32 *daddr,
			       __u16 sport, __u16 dport)
{
	__u32 s0 = saddr[0], s1 = 0, s2 = 0, s3 = 0;
	__u32 d0 = daddr[0], d1 = 0, d2 = 0, d3 = 0;
	int lo;

	if (family == 6) {
		s1 = saddr[1]; s2 = saddr[2]; s3 = saddr[3];
		d1 = daddr[1]; d2 = daddr[2]; d3 = daddr[3];
	}
	if (sport != dport)
		lo = sport < dport;
	else if (s0 != d0)
		lo = s0 < d0;
	else if (s1 != d1)
		lo = s1 < d1;
	else if (s2 != d2)
		lo = s2 < d2;
	else
		lo = s3 <= d3;

	k->family = family;
	k->pad[0] = 0; k->pad[1] = 0; k->pad[2] = 0;
	if (lo) {
		k->addr_lo[0] = s0; k->addr_lo[1] = s1; k->addr_lo[2] = s2; k->addr_lo[3] = s3;
		k->addr_hi[0] = d0; k->addr_hi[1] = d1; k->addr_hi[2] = d2; k->addr_hi[3] = d3;
		k->port_lo = sport;
		k->port_hi = dport;
	} else {
		k->addr_lo[0] = d0; k->addr_lo[1] = d1; k->addr_lo[2] = d2; k->addr_lo[3] = d3;
		k->addr_hi[0] = s0; k->addr_hi[1] = s1; k->addr_hi[2] = s2; k->addr_hi[3] = s3;
		k->port_lo = dport;
		k->port_hi = sport;
	}
	return lo;
}

SG_INLINE int sg_flow_client_is_lo(const struct sg_flow *f)
{
	return f->client_is_lo;
}

/*
 * sg_ho_count: how many sg_halfopen entries hash to each of SG_HO_SLOTS
 * slots (a counting filter). Raised before an insert, lowered after a
 * delete, so a slot is never below its entries: 0 proves the key absent,
 * and the tracker skips that lookup, a cache miss in a table of 65,536
 * buckets and more (the valid cookie ACK of a new connection, whose SYN
 * left no state). Collisions and counts left high (a failed path, a table
 * emptied from userspace) only cost lookups. 128 KiB.
 */
#define SG_HO_BITS	15
#define SG_HO_SLOTS	(1u << SG_HO_BITS)

struct sg_ho_count {
	__u32 n[SG_HO_SLOTS];
};

SG_INLINE __u32 sg_ho_slot(const struct sg_flow_key *k)
{
	__u64 x = (__u64)(k->addr_lo[0] ^ k->addr_lo[1] ^ k->addr_lo[2] ^ k->addr_lo[3]) << 32 |
		  (k->addr_hi[0] ^ k->addr_hi[1] ^ k->addr_hi[2] ^ k->addr_hi[3]);

	x ^= ((__u64)k->port_lo << 16 | k->port_hi | (__u64)k->family << 40) * 0x9e3779b97f4a7c15ULL;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 31;
	return (__u32)(x >> (64 - SG_HO_BITS));
}

/* from_client argument for sg_flow_segment(), from sg_flow_key_make()'s result. */
SG_INLINE int sg_flow_from_client(const struct sg_flow *f, int sender_is_lo)
{
	return (sender_is_lo ? 1 : 0) == (f->client_is_lo ? 1 : 0);
}

/* ---- the machine ------------------------------------------------------- */

/* Start a fresh handshake: wipe the record, the client sent SYN 'seq'. */
SG_INLINE void sg__fresh_syn(struct sg_flow *f, __u8 client_is_lo, __u32 seq,
			     __u32 len, __u16 window, __u64 now_ns, int tfo,
			     struct sg_fsm_out *o)
{
	sg__zero(f);
	f->client_is_lo = client_is_lo;
	f->start_ns = now_ns;
	f->last_ms = 0;
	f->isn[SG_SIDE_CLIENT] = seq;
	f->snd_nxt[SG_SIDE_CLIENT] = seq + 1 + len;
	f->priv = SG_FP_ISN(SG_SIDE_CLIENT) | SG_FP_NXT(SG_SIDE_CLIENT);
	f->win[SG_SIDE_CLIENT] = window;
	f->pkts[SG_SIDE_CLIENT] = 1;
	f->bytes[SG_SIDE_CLIENT] = len;
	if (tfo || len)
		f->flags |= SG_F_TFO;
	f->state[SG_SIDE_SERVER] = SG_LISTEN;
	sg__tr(f, o, SG_SIDE_CLIENT, SG_SYN_SENT, SG_CAUSE_SYN, now_ns);
}

/* An RST sent by side x. */
SG_INLINE void sg__rst(struct sg_flow *f, int x, __u8 tcp_flags, __u32 seq,
		       __u32 ack, __u64 now_ns, struct sg_fsm_out *o)
{
	int y = x ^ 1;
	int ok, changed = 0;

	if (x == SG_SIDE_SERVER && f->state[SG_SIDE_SERVER] == SG_LISTEN) {
		/* answer to the SYN: must acknowledge it (RFC 793 SYN-SENT) */
		ok = (tcp_flags & SG_TCP_ACK) &&
		     f->state[SG_SIDE_CLIENT] == SG_SYN_SENT &&
		     SG_SEQ_GT(ack, f->isn[SG_SIDE_CLIENT]) &&
		     SG_SEQ_GE(f->snd_nxt[SG_SIDE_CLIENT], ack);
	} else if (f->priv & SG_FP_NXT(x)) {
		/* RFC 5961 3.2, as Linux: only a RST at exactly the next
		 * sequence number resets; one elsewhere in the window draws a
		 * challenge ACK and changes nothing. (A window test would let a
		 * blind RST flood close flows here that the kernel keeps.) */
		ok = seq == f->snd_nxt[x];
	} else {
		ok = 1;	/* nothing known to check against (mid-stream) */
	}
	if (!ok) {
		o->rst_ignored = 1;
		return;
	}
	if (!sg__idle_state(f->state[x])) {
		sg__tr(f, o, x, SG_CLOSED, SG_CAUSE_RST, now_ns);
		changed = 1;
	}
	if (!sg__idle_state(f->state[y])) {
		sg__tr(f, o, y, SG_CLOSED, SG_CAUSE_RST, now_ns);
		changed = 1;
	}
	if (changed && f->close_how == SG_CLOSE_NONE) {
		f->close_side = (__u8)x;
		f->close_how = SG_CLOSE_RST;
	}
}

/* A segment with SYN (and no RST) sent by side x. */
SG_INLINE void sg__syn(struct sg_flow *f, int x, __u8 tcp_flags, __u32 seq,
		       __u32 ack, __u32 len, __u16 window, __u64 now_ns,
		       struct sg_fsm_out *o)
{
	__u8 c = f->state[SG_SIDE_CLIENT], s = f->state[SG_SIDE_SERVER];

	if (!(tcp_flags & SG_TCP_ACK)) {
		if (x == SG_SIDE_CLIENT && (f->priv & SG_FP_ISN(SG_SIDE_CLIENT)) &&
		    seq == f->isn[SG_SIDE_CLIENT]) {
			o->retrans = 1;
			if (f->syn_retrans < 255)
				f->syn_retrans++;
			if (c == SG_SYN_SENT && s == SG_LISTEN)
				f->syn_us = sg__us(f, now_ns);
			return;
		}
		/* a new connection may reuse the tuple only once this one is gone */
		if (!((c == SG_CLOSED || c == SG_TIME_WAIT ||
		       (x == SG_SIDE_CLIENT && c == SG_SYN_SENT && s == SG_LISTEN)) &&
		      (sg__idle_state(s) || s == SG_TIME_WAIT)))
			return;	/* stray SYN (or simultaneous open): ignored */
		o->new_syn = 1;
		if (x == SG_SIDE_SERVER) {
			/* the old server opens: roles swap */
			f->state[SG_SIDE_CLIENT] = s;
			f->state[SG_SIDE_SERVER] = c;
			f->client_is_lo = !f->client_is_lo;
		}
		if (!sg__idle_state(f->state[SG_SIDE_CLIENT]))
			sg__tr(f, o, SG_SIDE_CLIENT, SG_CLOSED, SG_CAUSE_REUSE, now_ns);
		if (!sg__idle_state(f->state[SG_SIDE_SERVER]))
			sg__tr(f, o, SG_SIDE_SERVER, SG_CLOSED, SG_CAUSE_REUSE, now_ns);
		sg__fresh_syn(f, f->client_is_lo, seq, len, window, now_ns, 0, o);
		return;
	}

	/* SYN-ACK */
	if (x != SG_SIDE_SERVER)
		return;
	if (s == SG_LISTEN) {
		if (c == SG_SYN_SENT && SG_SEQ_GT(ack, f->isn[SG_SIDE_CLIENT]) &&
		    SG_SEQ_GE(f->snd_nxt[SG_SIDE_CLIENT], ack)) {
			f->isn[SG_SIDE_SERVER] = seq;
			f->snd_nxt[SG_SIDE_SERVER] = seq + 1 + len;
			f->priv |= SG_FP_ISN(SG_SIDE_SERVER) | SG_FP_NXT(SG_SIDE_SERVER);
			__u32 t = sg__us(f, now_ns);

			f->rtt_syn_us = t > f->syn_us ? t - f->syn_us : 0;
			sg__tr(f, o, SG_SIDE_SERVER, SG_SYN_RCVD, SG_CAUSE_SYNACK, now_ns);
		}
		return;
	}
	if ((f->priv & SG_FP_ISN(SG_SIDE_SERVER)) && seq == f->isn[SG_SIDE_SERVER])
		o->retrans = 1;
}

/* One segment sent by side x (the body of sg_flow_segment). */
SG_INLINE void sg__segment(struct sg_flow *f, int x, __u8 tcp_flags, __u32 seq,
			   __u32 ack, __u32 len, __u16 window, __u64 now_ns,
			   struct sg_fsm_out *o)
{
	int y, fin, newd, acks_yfin = 0;
	__u32 end;
	__u8 st;

	x &= 1;
	y = x ^ 1;
	sg__touch(f, now_ns);
	f->pkts[x]++;
	f->bytes[x] += len;

	if (tcp_flags & SG_TCP_RST) {
		sg__rst(f, x, tcp_flags, seq, ack, now_ns, o);
		return;
	}
	f->win[x] = window;
	if (tcp_flags & SG_TCP_SYN) {
		sg__syn(f, x, tcp_flags, seq, ack, len, window, now_ns, o);
		return;
	}

	fin = (tcp_flags & SG_TCP_FIN) ? 1 : 0;
	end = seq + len + (__u32)fin;
	newd = !(f->priv & SG_FP_NXT(x)) || SG_SEQ_GT(end, f->snd_nxt[x]);
	if (newd) {
		f->snd_nxt[x] = end;
		f->priv |= SG_FP_NXT(x);
	}
	if ((fin && (f->priv & SG_FP_FIN(x))) || (len && !newd))
		o->retrans = 1;

	if (tcp_flags & SG_TCP_ACK) {
		if (!(f->priv & SG_FP_NXT(y))) {
			f->snd_nxt[y] = ack;
			f->priv |= SG_FP_NXT(y);
		}
		/* 1. handshake: the client's ACK of the SYN-ACK */
		if (x == SG_SIDE_CLIENT &&
		    f->state[SG_SIDE_CLIENT] == SG_SYN_SENT &&
		    f->state[SG_SIDE_SERVER] == SG_SYN_RCVD &&
		    SG_SEQ_GT(ack, f->isn[SG_SIDE_SERVER]) &&
		    SG_SEQ_GE(f->snd_nxt[SG_SIDE_SERVER], ack)) {
			__u32 t = sg__us(f, now_ns), t0 = f->syn_us + f->rtt_syn_us;

			f->rtt_ack_us = t > t0 ? t - t0 : 0;
			sg__tr(f, o, SG_SIDE_CLIENT, SG_ESTABLISHED, SG_CAUSE_SYNACK, now_ns);
			sg__tr(f, o, SG_SIDE_SERVER, SG_ESTABLISHED, SG_CAUSE_ACK, now_ns);
		}
		/* 2. x has received y's FIN: x's own ack is the only proof */
		acks_yfin = (f->priv & SG_FP_FIN(y)) && SG_SEQ_GT(ack, f->fin_seq[y]);
		if (acks_yfin) {
			st = f->state[x];
			if (st == SG_ESTABLISHED) {
				sg__tr(f, o, x, SG_CLOSE_WAIT, SG_CAUSE_FIN, now_ns);
			} else if (st == SG_FIN_WAIT_1 && (f->priv & SG_FP_FINACK(y))) {
				/* the copy of y's FIN that x answers (the latest)
				 * acked x's FIN too; an ack is taken before the
				 * FIN it travels with (RFC 9293 3.10.7.4) */
				sg__tr(f, o, x, SG_FIN_WAIT_2, SG_CAUSE_ACK, now_ns);
				sg__tr(f, o, x, SG_TIME_WAIT, SG_CAUSE_FIN, now_ns);
			} else if (st == SG_FIN_WAIT_1) {
				/* that copy did not: y's acks only grow, so x got
				 * y's FIN before any ack of its own FIN, and an
				 * ack y sent since (y acked x's FIN) comes after */
				sg__tr(f, o, x, SG_CLOSING, SG_CAUSE_FIN, now_ns);
				if (sg__got_fin(f->state[y]))
					sg__tr(f, o, x, SG_TIME_WAIT, SG_CAUSE_ACK, now_ns);
			} else if (st == SG_FIN_WAIT_2) {
				sg__tr(f, o, x, SG_TIME_WAIT, SG_CAUSE_FIN, now_ns);
			}
		}
	}

	/* 3. x closes, or sends its FIN again (with what it acks now) */
	st = f->state[x];
	if (fin && (f->priv & SG_FP_FIN(x)) && seq + len == f->fin_seq[x]) {
		if (acks_yfin)
			f->priv |= SG_FP_FINACK(x);
		else
			f->priv &= (__u8)~SG_FP_FINACK(x);
	} else if (fin && !(f->priv & SG_FP_FIN(x)) &&
		   (st == SG_ESTABLISHED || st == SG_CLOSE_WAIT)) {
		f->fin_seq[x] = seq + len;
		f->priv |= SG_FP_FIN(x);
		if (acks_yfin)
			f->priv |= SG_FP_FINACK(x);
		if (f->close_how == SG_CLOSE_NONE) {
			f->close_side = (__u8)x;
			f->close_how = SG_CLOSE_FIN;
		}
		sg__tr(f, o, x, st == SG_ESTABLISHED ? SG_FIN_WAIT_1 : SG_LAST_ACK,
		       SG_CAUSE_FIN, now_ns);
	}

	/* 4. y's FIN is acknowledged */
	if (acks_yfin) {
		st = f->state[y];
		if (st == SG_FIN_WAIT_1) {
			/* x CLOSING: x's FIN, sent before x got y's, is not
			 * acknowledged by y yet, and y may get it before this
			 * ack (CLOSING) or not (FIN_WAIT_2). y's ack of x's
			 * FIN decides (step 2 on y's segment). */
			if (f->state[x] != SG_CLOSING)
				sg__tr(f, o, y, SG_FIN_WAIT_2, SG_CAUSE_ACK, now_ns);
		} else if (st == SG_CLOSING) {
			sg__tr(f, o, y, SG_TIME_WAIT, SG_CAUSE_ACK, now_ns);
		} else if (st == SG_LAST_ACK) {
			sg__tr(f, o, y, SG_CLOSED, SG_CAUSE_ACK, now_ns);
		}
	}
}

/*
 * Initialise a new flow from the first segment seen. sender_is_lo comes
 * from sg_flow_key_make(). SYN without ACK: the sender is the client
 * (CLOSED->SYN_SENT). SYN-ACK: the receiver is the client (CLOSED->SYN_SENT,
 * then LISTEN->SYN_RCVD). Anything else: mid-stream, both sides
 * CLOSED->ESTABLISHED (MIDSTREAM), client = the higher-port ('hi')
 * endpoint, then the segment itself is processed (a FIN or RST in it
 * yields its transitions too). Counters start with this segment.
 */
SG_INLINE void sg_flow_init(struct sg_flow *f, int sender_is_lo, __u8 tcp_flags,
			    __u32 seq, __u32 ack, __u32 payload_len, __u16 window,
			    __u64 now_ns, int tfo, struct sg_fsm_out *out)
{
	sg__out_init(out);
	if ((tcp_flags & (SG_TCP_SYN | SG_TCP_RST | SG_TCP_ACK)) == SG_TCP_SYN) {
		sg__fresh_syn(f, sender_is_lo ? 1 : 0, seq, payload_len, window,
			      now_ns, tfo, out);
		return;
	}
	sg__zero(f);
	f->start_ns = now_ns;
	f->last_ms = 0;
	if ((tcp_flags & (SG_TCP_SYN | SG_TCP_RST | SG_TCP_ACK)) ==
	    (SG_TCP_SYN | SG_TCP_ACK)) {
		/* SYN-ACK: its ack proves the client's SYN */
		f->client_is_lo = sender_is_lo ? 0 : 1;
		f->isn[SG_SIDE_CLIENT] = ack - 1;
		f->snd_nxt[SG_SIDE_CLIENT] = ack;
		f->priv = SG_FP_ISN(SG_SIDE_CLIENT) | SG_FP_NXT(SG_SIDE_CLIENT);
		f->state[SG_SIDE_SERVER] = SG_LISTEN;
		sg__tr(f, out, SG_SIDE_CLIENT, SG_SYN_SENT, SG_CAUSE_SYN, now_ns);
		sg__segment(f, SG_SIDE_SERVER, tcp_flags, seq, ack, payload_len,
			    window, now_ns, out);
		return;
	}
	/* mid-stream */
	f->client_is_lo = 0;
	f->flags = SG_F_MIDSTREAM;
	sg__tr(f, out, SG_SIDE_CLIENT, SG_ESTABLISHED, SG_CAUSE_MIDSTREAM, now_ns);
	sg__tr(f, out, SG_SIDE_SERVER, SG_ESTABLISHED, SG_CAUSE_MIDSTREAM, now_ns);
	if (sender_is_lo) {
		f->snd_nxt[SG_SIDE_SERVER] = seq;
		f->priv = SG_FP_NXT(SG_SIDE_SERVER);
		sg__segment(f, SG_SIDE_SERVER, tcp_flags, seq, ack, payload_len,
			    window, now_ns, out);
	} else {
		f->snd_nxt[SG_SIDE_CLIENT] = seq;
		f->priv = SG_FP_NXT(SG_SIDE_CLIENT);
		sg__segment(f, SG_SIDE_CLIENT, tcp_flags, seq, ack, payload_len,
			    window, now_ns, out);
	}
}

/*
 * A handshake completed through a synguard SYN cookie: the SYN and SYN-ACK
 * never reached the kernel or the tracker, the client's ACK (sent by the
 * endpoint sender_is_lo names) proves both. Client SYN_SENT->ESTABLISHED and
 * server SYN_RCVD->ESTABLISHED, cause COOKIE.
 */
SG_INLINE void sg_flow_init_cookie(struct sg_flow *f, int sender_is_lo, __u32 seq,
				   __u32 ack, __u32 payload_len, __u16 window,
				   __u64 now_ns, struct sg_fsm_out *out)
{
	sg__out_init(out);
	sg__zero(f);
	f->start_ns = now_ns;
	f->last_ms = 0;
	f->client_is_lo = sender_is_lo ? 1 : 0;
	f->flags = SG_F_COOKIE;
	f->isn[SG_SIDE_CLIENT] = seq - 1;
	f->isn[SG_SIDE_SERVER] = ack - 1;
	f->snd_nxt[SG_SIDE_CLIENT] = seq + payload_len;
	f->snd_nxt[SG_SIDE_SERVER] = ack;
	f->priv = SG_FP_ISN(SG_SIDE_CLIENT) | SG_FP_NXT(SG_SIDE_CLIENT) |
		  SG_FP_ISN(SG_SIDE_SERVER) | SG_FP_NXT(SG_SIDE_SERVER);
	f->win[SG_SIDE_CLIENT] = window;
	f->pkts[SG_SIDE_CLIENT] = 1;
	f->bytes[SG_SIDE_CLIENT] = payload_len;
	f->state[SG_SIDE_CLIENT] = SG_SYN_SENT;
	f->state[SG_SIDE_SERVER] = SG_SYN_RCVD;
	sg__tr(f, out, SG_SIDE_CLIENT, SG_ESTABLISHED, SG_CAUSE_COOKIE, now_ns);
	sg__tr(f, out, SG_SIDE_SERVER, SG_ESTABLISHED, SG_CAUSE_COOKIE, now_ns);
}

/*
 * Fill a state event from a flow and one of its transitions: the client
 * is always the source.
 */
SG_INLINE void sg_flow_event(struct sg_event *e, const struct sg_flow_key *k,
			     const struct sg_flow *f, const struct sg_tr *t, __u64 now_ns)
{
	const __u32 *ca = f->client_is_lo ? k->addr_lo : k->addr_hi;
	const __u32 *sa = f->client_is_lo ? k->addr_hi : k->addr_lo;
	__u8 closer = 0;

	e->ts_ns = now_ns;
	e->type = SG_EV_STATE;
	e->family = k->family;
	e->saddr[0] = ca[0]; e->saddr[1] = ca[1]; e->saddr[2] = ca[2]; e->saddr[3] = ca[3];
	e->daddr[0] = sa[0]; e->daddr[1] = sa[1]; e->daddr[2] = sa[2]; e->daddr[3] = sa[3];
	e->sport = f->client_is_lo ? k->port_lo : k->port_hi;
	e->dport = f->client_is_lo ? k->port_hi : k->port_lo;
	e->side = t->side;
	e->from = t->from;
	e->to = t->to;
	e->cause = t->cause;
	e->flags = f->flags;
	e->syn_retrans = f->syn_retrans;
	if (t->to == SG_CLOSED) {
		/* how long the connection lasted: since the handshake's ACK
		 * (syn_us + rtt_syn_us + rtt_ack_us; the first segment for
		 * midstream and cookie flows, whose three are 0) */
		__u64 est_us = (__u64)f->syn_us + f->rtt_syn_us + f->rtt_ack_us;
		__u64 since_us = sg__since(f, now_ns) / 1000;

		e->dur_ms = sg__sat32(since_us > est_us ? (since_us - est_us) / 1000 : 0);
		e->pad_dur = 0;
		closer = t->closer ? t->closer : sg__closer(f);
	} else {
		e->rtt_syn_us = f->rtt_syn_us;
		e->rtt_ack_us = f->rtt_ack_us;
	}
	e->closer = closer;
	e->pkts[0] = f->pkts[SG_SIDE_CLIENT];
	e->pkts[1] = f->pkts[SG_SIDE_SERVER];
	e->bytes[0] = f->bytes[SG_SIDE_CLIENT];
	e->bytes[1] = f->bytes[SG_SIDE_SERVER];
}

/*
 * 1 if this segment cannot change either endpoint's state: both sides
 * ESTABLISHED with their next sequence numbers known, no FIN sent yet, and
 * no SYN, FIN or RST in the segment. Such a segment (the bulk of any flow)
 * only moves counters: sg_flow_count() does exactly what sg_flow_segment()
 * would, without a lock. Read without the lock, the answer may be stale when
 * another CPU is changing the state right now; the worst case is a
 * transition reported one segment later (acks are cumulative), never a
 * wrong one, as sg_flow_count() never changes states or FIN/NXT bits.
 */
SG_INLINE int sg_flow_steady(const struct sg_flow *f, __u8 tcp_flags)
{
	return !(tcp_flags & (SG_TCP_SYN | SG_TCP_FIN | SG_TCP_RST)) &&
	       f->state[SG_SIDE_CLIENT] == SG_ESTABLISHED &&
	       f->state[SG_SIDE_SERVER] == SG_ESTABLISHED &&
	       (f->priv & (SG_FP_NXT(0) | SG_FP_NXT(1) | SG_FP_FIN(0) | SG_FP_FIN(1))) ==
		       (SG_FP_NXT(0) | SG_FP_NXT(1));
}

/* The counters of a steady segment (see sg_flow_steady()). Returns 1 for
 * a retransmission (data at or below what the side had already sent). */
SG_INLINE int sg_flow_count(struct sg_flow *f, int from_client, __u32 seq, __u32 len,
			    __u16 window, __u64 now_ns)
{
	int x = from_client ? SG_SIDE_CLIENT : SG_SIDE_SERVER;
	__u32 end = seq + len;

	sg__touch(f, now_ns);
	if (x == SG_SIDE_CLIENT) {
		f->pkts[SG_SIDE_CLIENT]++;
		f->bytes[SG_SIDE_CLIENT] += len;
		f->win[SG_SIDE_CLIENT] = window;
		if (SG_SEQ_GT(end, f->snd_nxt[SG_SIDE_CLIENT]))
			f->snd_nxt[SG_SIDE_CLIENT] = end;
		else if (len)
			return 1;
	} else {
		f->pkts[SG_SIDE_SERVER]++;
		f->bytes[SG_SIDE_SERVER] += len;
		f->win[SG_SIDE_SERVER] = window;
		if (SG_SEQ_GT(end, f->snd_nxt[SG_SIDE_SERVER]))
			f->snd_nxt[SG_SIDE_SERVER] = end;
		else if (len)
			return 1;
	}
	return 0;
}

/*
 * Feed one segment sent by the client (from_client=1) or by the server.
 * After a call with out->new_syn set, the roles may have swapped (a pure
 * SYN from the old server re-opened the tuple): read sg_flow_client_is_lo()
 * again before labelling the transitions.
 */
SG_INLINE void sg_flow_segment(struct sg_flow *f, int from_client, __u8 tcp_flags,
			       __u32 seq, __u32 ack, __u32 payload_len,
			       __u16 window, __u64 now_ns, struct sg_fsm_out *out)
{
	sg__out_init(out);
	/* two constant-side copies: every array index is a constant (BPF) */
	if (from_client)
		sg__segment(f, SG_SIDE_CLIENT, tcp_flags, seq, ack, payload_len,
			    window, now_ns, out);
	else
		sg__segment(f, SG_SIDE_SERVER, tcp_flags, seq, ack, payload_len,
			    window, now_ns, out);
}

SG_INLINE void sg__expire_side(struct sg_flow *f, int s, __u64 now_ns,
			       __u64 time_wait_ns, __u64 half_open_ns,
			       __u64 idle_ns, struct sg_fsm_out *o)
{
	__u8 st = f->state[s];
	__u64 entered = f->start_ns + (__u64)f->state_ms[s] * 1000000;
	__u64 in_state = now_ns > entered ? now_ns - entered : 0;
	__u64 last = f->start_ns + (__u64)f->last_ms * 1000000;
	__u64 idle = now_ns > last ? now_ns - last : 0;

	if (sg__idle_state(st))
		return;
	if ((st == SG_TIME_WAIT && time_wait_ns && in_state >= time_wait_ns) ||
	    ((st == SG_SYN_SENT || st == SG_SYN_RCVD) && half_open_ns &&
	     in_state >= half_open_ns) ||
	    (idle_ns && idle >= idle_ns)) {
		if (f->close_how == SG_CLOSE_NONE) {
			f->close_side = (__u8)s;
			f->close_how = SG_CLOSE_TIMEOUT;
		}
		sg__tr(f, o, s, SG_CLOSED, SG_CAUSE_TIMEOUT, now_ns);
	}
}

/*
 * Timers (userspace sweeper). TIME_WAIT lasts time_wait_ns, SYN_SENT and
 * SYN_RCVD half_open_ns (both from when the state was entered, ms
 * resolution), any state idle_ns after the flow's last segment; a zero
 * duration disables that timer. Client first, then server. Returns 1 when
 * the flow is over (client CLOSED, server CLOSED or never left LISTEN) and
 * the entry can be deleted.
 */
SG_INLINE int sg_flow_expire(struct sg_flow *f, __u64 now_ns, __u64 time_wait_ns,
			     __u64 half_open_ns, __u64 idle_ns,
			     struct sg_fsm_out *out)
{
	sg__out_init(out);
	sg__expire_side(f, SG_SIDE_CLIENT, now_ns, time_wait_ns, half_open_ns,
			idle_ns, out);
	sg__expire_side(f, SG_SIDE_SERVER, now_ns, time_wait_ns, half_open_ns,
			idle_ns, out);
	return f->state[SG_SIDE_CLIENT] == SG_CLOSED &&
	       sg__idle_state(f->state[SG_SIDE_SERVER]);
}

/*
 * The sweeper's decision on one flow, applied by the BPF program sg_sweep
 * (bpf/sg_track.h, run with BPF_PROG_TEST_RUN) under the flow's busy flag:
 * userspace has no compare-and-swap on a map value, and between the
 * sweeper's read and its write BPF may have reopened or moved the flow.
 * The decision is applied only if the live record is still the one it was
 * made on: same incarnation (start_ns), same states entered at the same
 * times (state_ms), and with SG_SWEEP_SAME_LAST (a timer fired) no segment
 * since (last_ms). An update writes only what the sweeper changes (states,
 * state_ms, close_side/close_how, the SG_F_ALERTED flag), never the
 * counters BPF keeps moving without the flag.
 */
#define SG_SWEEP_UPDATE		0	/* op: apply want's states and SG_F_ALERTED */
#define SG_SWEEP_DELETE		1	/* op: the flow is over, delete it */
#define SG_SWEEP_SAME_LAST	0x1	/* check: last_ms must be unchanged too */

enum sg_sweep_res {
	SG_SWEEP_OK = 0,	/* applied */
	SG_SWEEP_GONE,		/* no such entry any more (moved, deleted) */
	SG_SWEEP_CHANGED,	/* the record changed since it was read: nothing done */
	SG_SWEEP_BUSY,		/* its busy flag stayed taken: nothing done */
};

struct sg_sweep_req {
	struct sg_flow_key key;
	struct sg_flow seen;	/* the record as the sweeper read it */
	struct sg_flow want;	/* the record as the sweeper decided it */
	__u32 op;		/* SG_SWEEP_UPDATE / SG_SWEEP_DELETE */
	__u32 check;		/* SG_SWEEP_SAME_LAST */
	__u32 halfopen;		/* 1: the entry is in sg_halfopen, 0: in sg_flows */
	__u32 pad;
};

#endif /* SG_FLOW_H */
