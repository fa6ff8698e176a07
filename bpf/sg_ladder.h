/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_ladder.h - ladder mode (--ladder, --diagram): one record per segment
 * of a tracked flow (struct sg_seg_event, include/sg_ladder_ev.h) on a ring
 * buffer of its own, for userspace to draw the flow's ladder diagram.
 *
 * Off (sg_cfg.ladder == 0, the default) none of this is even verified:
 * every entry point tests the read-only setting first, so the fast path
 * is exactly what it is without ladder mode. On, it costs only tracked
 * flows (the -p/-a/-4/-6 filters, which --ladder requires, run first):
 *
 *  - the tracker fills the per-CPU scratch record (sg_ladder_note_seg)
 *    while it has the flow at hand; the program that parsed the frame then
 *    submits it (sg_ladder_flush_*), adding a SYN's raw option bytes,
 *    which only it can read (the tracker runs in global functions that
 *    cannot touch the packet). A filtered segment costs one per-CPU array
 *    lookup. Steady segments (--ladder-data) are submitted by the tracker
 *    (sg_ladder_note_steady): the established-flow fast path has no flush.
 *  - Bounded: a flow's first sg_cfg.ladder_max segments get a record, and
 *    after them only SYN, FIN, RST and segments that change a state; the
 *    steady segments of an established flow only with --ladder-data
 *    (ladder_data); quiet (SYN-flood time) handshakes none; at most
 *    sg_cfg.ladder_rate records a second in all, the rest counted
 *    (sg_ladder_stats). Every record carries the flow's segment counters,
 *    so userspace says exactly how many segments it was not shown.
 *
 * The maps are here rather than in sg_maps.h: they exist for this feature
 * only, and the ring is shrunk to one page when the feature is off
 * (user/ladder.c).
 */
#ifndef SG_LADDER_H
#define SG_LADDER_H

#include "synguard.h"
#include "sg_ladder_ev.h"
#include "sg_flow.h"
#include "sg_parse.h"
#include "sg_maps.h"

/* The records; user/ladder.c sizes it (1 MiB on, a page off). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} sg_ladder SEC(".maps");

/* Records sent, capped by the rate, lost to a full ring (per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_ladder_stats);
} sg_ladder_stats SEC(".maps");

/* The rate cap's window (~1.07 s, global). */
struct sg_ladder_window {
	__u64 win;		/* ns >> SG_SYN_WINDOW_SHIFT */
	__u64 n;		/* records in it so far */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_ladder_window);
} sg_ladder_window SEC(".maps");

/* The record being made for the current frame (per CPU: programs do not
 * preempt each other on one CPU). */
struct sg_ladder_scratch {
	struct sg_seg_event ev;
	__u8 spare[64 - SG_LADDER_OPT_MAX];	/* after ev.opts: room for the verifier's bound */
	__u32 opt_off;		/* offset of the frame's first TCP option byte */
	__u16 optlen;		/* the frame's TCP option bytes */
	__u8 egress;		/* the frame is leaving (TC egress) */
	__u8 pending;		/* ev is filled: submit it */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_ladder_scratch);
} sg_ladder_scratch SEC(".maps");

static __always_inline struct sg_ladder_scratch *sg_ladder_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sg_ladder_scratch, &zero);
}

/* The tracker is about to handle a tracked segment: remember where its
 * options are and which way it goes (for the record made later). */
static __always_inline void sg_ladder_frame(const struct sg_pkt *p, __u32 how)
{
	struct sg_ladder_scratch *s;

	if (!sg_cfg.ladder)
		return;
	s = sg_ladder_scratch_get();
	if (!s)
		return;
	s->opt_off = p->l4_off + 20;
	s->optlen = p->tcp_hlen > 20 ? p->tcp_hlen - 20 : 0;
	s->egress = (how & 0x2) ? 1 : 0;	/* SG_TRACK_EGRESS */
}

/*
 * Fill the scratch record for one segment of flow f (its record after the
 * segment), transitions from out (NULL: none). Bounded as said above.
 */
static __always_inline void sg_ladder__note(const struct sg_flow_key *k, const struct sg_flow *f, __u64 now,
					    __u32 seq, __u32 ack, __u32 len, __u16 win, __u8 flags, int lo,
					    const struct sg_fsm_out *out, __u8 verdict)
{
	struct sg_ladder_scratch *s;
	struct sg_seg_event *e;
	const __u32 *ca, *sa;
	__u8 ntr = out ? out->n : 0;

	if (!sg_cfg.ladder || !f)
		return;
	if (!ntr && !(flags & (SG_TCP_SYN | SG_TCP_FIN | SG_TCP_RST)) &&
	    f->pkts[SG_SIDE_CLIENT] + f->pkts[SG_SIDE_SERVER] > sg_cfg.ladder_max)
		return;
	s = sg_ladder_scratch_get();
	if (!s)
		return;
	e = &s->ev;
	ca = f->client_is_lo ? k->addr_lo : k->addr_hi;
	sa = f->client_is_lo ? k->addr_hi : k->addr_lo;
	e->ts_ns = now;
	e->start_ns = f->start_ns;
	e->caddr[0] = ca[0]; e->caddr[1] = ca[1]; e->caddr[2] = ca[2]; e->caddr[3] = ca[3];
	e->saddr[0] = sa[0]; e->saddr[1] = sa[1]; e->saddr[2] = sa[2]; e->saddr[3] = sa[3];
	e->cport = f->client_is_lo ? k->port_lo : k->port_hi;
	e->sport = f->client_is_lo ? k->port_hi : k->port_lo;
	e->seq = seq;
	e->ack = ack;
	e->isn[0] = f->isn[0];
	e->isn[1] = f->isn[1];
	e->isn_known = ((f->priv & SG_FP_ISN(SG_SIDE_CLIENT)) ? 1 : 0) |
		       ((f->priv & SG_FP_ISN(SG_SIDE_SERVER)) ? 2 : 0);
	e->pkts[0] = f->pkts[0];
	e->pkts[1] = f->pkts[1];
	e->bytes[0] = f->bytes[0];
	e->bytes[1] = f->bytes[1];
	e->win = win;
	e->len = len > 0xffff ? 0xffff : len;
	e->family = k->family;
	e->from_client = sg_flow_from_client(f, lo);
	e->tcp_flags = flags;
	e->verdict = verdict | (s->egress ? SG_LV_EGRESS : 0);
	e->state[0] = f->state[0];
	e->state[1] = f->state[1];
	e->flow_flags = f->flags;
	e->closer = sg__closer(f);
	e->ntr = ntr > SG_FSM_MAX_TR ? SG_FSM_MAX_TR : ntr;
	if (out) {
		e->tr[0] = out->tr[0];
		e->tr[1] = out->tr[1];
		e->tr[2] = out->tr[2];
		e->tr[3] = out->tr[3];
	}
	e->optlen = 0;
	if ((flags & SG_TCP_SYN) && s->optlen)
		e->optlen = s->optlen > SG_LADDER_OPT_MAX ? SG_LADDER_OPT_MAX : s->optlen;
	s->pending = 1;
}

/* A segment the state machine handled (sg_track, sg_track_new). */
static __always_inline void sg_ladder_note_seg(const struct sg_flow_key *k, const struct sg_flow *f,
					       const struct sg_seg *sg, const struct sg_fsm_out *out)
{
	__u8 v = 0;

	if (!sg_cfg.ladder || !sg || !out)
		return;
	if (out->retrans)
		v |= SG_LV_RETRANS;
	if (out->rst_ignored)
		v |= SG_LV_RST_IGNORED;
	if (out->new_syn)
		v |= SG_LV_NEW_SYN;
	sg_ladder__note(k, f, sg->now, sg->seq, sg->ack, sg->len, sg->window, sg->flags, sg->lo, out, v);
}

static __always_inline void sg_ladder_count(int what)
{
	__u32 zero = 0;
	struct sg_ladder_stats *st = bpf_map_lookup_elem(&sg_ladder_stats, &zero);

	if (!st)
		return;
	if (what == 0)
		st->sent++;
	else if (what == 1)
		st->capped++;
	else
		st->lost++;
}

/* Under the rate cap: 1 to send (counted in the window). */
static __always_inline int sg_ladder_rate_ok(__u64 now)
{
	__u32 zero = 0;
	struct sg_ladder_window *w = bpf_map_lookup_elem(&sg_ladder_window, &zero);
	__u64 win = now >> SG_SYN_WINDOW_SHIFT;

	if (!w)
		return 0;
	if (w->win != win) {	/* racy between CPUs: a few extra records at most */
		w->win = win;
		w->n = 0;
	}
	return __sync_fetch_and_add(&w->n, 1) < sg_cfg.ladder_rate;
}

static __always_inline void sg_ladder__submit(struct sg_ladder_scratch *s)
{
	s->pending = 0;
	if (!sg_ladder_rate_ok(s->ev.ts_ns)) {
		sg_ladder_count(1);
		return;
	}
	if (bpf_ringbuf_output(&sg_ladder, &s->ev, sizeof(s->ev), 0)) {
		sg_ladder_count(2);
		return;
	}
	sg_ladder_count(0);
}

/*
 * A steady segment of an established flow: only with --ladder-data (which
 * implies ladder), submitted at once (no options to add), so the steady
 * path needs no flush: with ladder_data off, its cost is this one test of
 * a read-only byte.
 */
static __always_inline void sg_ladder_note_steady(const struct sg_flow_key *k, const struct sg_flow *f,
						  const struct sg_pkt *p, int lo, int retrans, __u32 how)
{
	struct sg_ladder_scratch *s;

	if (!sg_cfg.ladder_data)
		return;
	sg_ladder_frame(p, how);
	sg_ladder__note(k, f, bpf_ktime_get_ns(), p->seq, p->ack, p->payload_len, p->window, p->flags, lo, NULL,
			SG_LV_STEADY | (retrans ? SG_LV_RETRANS : 0));
	s = sg_ladder_scratch_get();
	if (s && s->pending)
		sg_ladder__submit(s);
}

/* The frame's pending record, if any, and in *n how many option bytes it
 * still needs from the frame: 0, or [1, 64] for the verifier, whatever
 * clang makes of a two-sided bound (it tests a copy); opts + spare hold 64. */
static __always_inline struct sg_ladder_scratch *sg_ladder_pending(__u32 *n)
{
	struct sg_ladder_scratch *s;

	if (!sg_cfg.ladder)
		return NULL;
	s = sg_ladder_scratch_get();
	if (!s || !s->pending)
		return NULL;
	*n = s->ev.optlen;	/* 0..SG_LADDER_OPT_MAX (sg_ladder__note) */
	if (*n)
		*n = ((*n - 1) & 0x3f) + 1;
	return s;
}

/* After the XDP program's tracking: submit the frame's record, if any. */
static __always_inline void sg_ladder_flush_xdp(struct xdp_md *ctx)
{
	__u32 n = 0;
	struct sg_ladder_scratch *s = sg_ladder_pending(&n);

	if (!s)
		return;
	if (n && bpf_xdp_load_bytes(ctx, s->opt_off, s->ev.opts, n))
		s->ev.optlen = 0;
	sg_ladder__submit(s);
}

/* After the TC egress program's tracking. */
static __always_inline void sg_ladder_flush_skb(struct __sk_buff *skb)
{
	__u32 n = 0;
	struct sg_ladder_scratch *s = sg_ladder_pending(&n);

	if (!s)
		return;
	if (n && bpf_skb_load_bytes(skb, s->opt_off, s->ev.opts, n))
		s->ev.optlen = 0;
	sg_ladder__submit(s);
}

#endif /* SG_LADDER_H */
