/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_track.h - per-flow TCP state tracking, fed by XDP (ingress) and TC
 * (egress): filters, flow lookup from either direction, the endpoint state
 * machines (include/sg_flow.h), ring-buffer events.
 *
 * Half-open flows live in their own bounded map (sg_halfopen) and move to
 * sg_flows once a side is ESTABLISHED, so a SYN flood churns sg_halfopen and
 * never evicts established flows. Above sg_cfg.syn_quiet SYNs per second per
 * port (per CPU), new handshakes are not printed one by one: a per-port
 * SG_EV_SYN_SUMMARY is emitted each second instead.
 */
#ifndef SG_TRACK_H
#define SG_TRACK_H

#include "synguard.h"
#include "sg_defs.h"
#include "sg_flow.h"
#include "sg_parse.h"
#include "sg_maps.h"
#include "sg_histo.h"
#include "sg_ladder.h"

#define SG_TRACK_INGRESS 0x1
#define SG_TRACK_EGRESS	 0x2
#define SG_TRACK_COOKIE	 0x4	/* a valid synguard cookie ACK */
#define SG_TRACK_ABSENT	 0x8	/* sg_track_known() just found no sg_flows
				 * record: not looked up again */

/*
 * A per-flow busy flag instead of a bpf_spin_lock: the verifier forbids
 * function calls, helper calls and copies of the value while a spin lock is
 * held, which the state machine and the map moves need. Contention (two
 * CPUs changing one flow's state at the same instant, e.g. crossing RSTs)
 * lasts the few dozen instructions of one segment: spin a bounded number
 * of times, and if the flag is still taken, go on and count it.
 */
#define SG_LOCK_SPINS 256

/* A global function: the verifier walks its bounded spin once per program,
 * not once per caller (the flow step, the half-open move, the sweeper). */
__noinline int sg_flow_lock(struct sg_flow *f)
{
	/* 64-bit atomics on the word {busy, last_ms} (busy is the low half:
	 * little-endian); clang-14 emits 32-bit cmpxchg only with -mcpu=v3,
	 * whose register fills this kernel's verifier rejects here. */
	__u64 *w;
	int i;

	if (!f)
		return 0;
	w = (__u64 *)&f->busy;
	for (i = 0; i < SG_LOCK_SPINS; i++) {
		__u64 old = *(volatile __u64 *)w;

		if ((__u32)old)
			continue;
		if (__sync_val_compare_and_swap(w, old, old | 1) == old)
			return 1;
	}
	return 0;
}

static __always_inline void sg_flow_unlock(struct sg_flow *f, int held)
{
	if (held)
		__sync_fetch_and_and((__u64 *)&f->busy, 0xffffffff00000000ull);
}

/*
 * The established-flow table by family (bpf/sg_maps.h): find, add, delete.
 * Each map keeps a call instruction of its own (barrier_var()): clang would
 * otherwise merge the two calls into one whose map the verifier cannot
 * know, and it would neither inline the lookup nor call the map's own
 * function directly (measured: +40 ns a lookup).
 */
static __always_inline struct sg_flow *sg_flows_get(const struct sg_flow_key *k)
{
	struct sg_flow_key4 k4;
	struct sg_flow *f;

	if (k->family != 4) {
		f = bpf_map_lookup_elem(&sg_flows, k);
		barrier_var(f);
		return f;
	}
	sg_flow_key4_of(&k4, k);
	return bpf_map_lookup_elem(&sg_flows4, &k4);
}

static __always_inline long sg_flows_add(const struct sg_flow_key *k, const struct sg_flow *f)
{
	struct sg_flow_key4 k4;
	long err;

	if (k->family != 4) {
		err = bpf_map_update_elem(&sg_flows, k, f, BPF_NOEXIST);
		barrier_var(err);
		return err;
	}
	sg_flow_key4_of(&k4, k);
	return bpf_map_update_elem(&sg_flows4, &k4, f, BPF_NOEXIST);
}

static __always_inline long sg_flows_del(const struct sg_flow_key *k)
{
	struct sg_flow_key4 k4;
	long err;

	if (k->family != 4) {
		err = bpf_map_delete_elem(&sg_flows, k);
		barrier_var(err);
		return err;
	}
	sg_flow_key4_of(&k4, k);
	return bpf_map_delete_elem(&sg_flows4, &k4);
}

static __always_inline int sg_addr_match(__u8 family, const __u32 *a)
{
	struct sg_lpm_key k = { .prefixlen = 32 + (family == 6 ? 128 : 32), .family = family };

	k.addr[0] = a[0];
	k.addr[1] = a[1];
	k.addr[2] = a[2];
	k.addr[3] = a[3];
	return bpf_map_lookup_elem(&sg_filter_addr, &k) != NULL;
}

/* 1 if the segment is outside the -4/-6/-p/-a filters. */
static __always_inline int sg_filtered(const struct sg_pkt *p)
{
	if (sg_cfg.family && sg_cfg.family != p->family)
		return 1;
	if (sg_cfg.port_filter) {
		__u16 sp = p->sport, dp = p->dport;

		if (!bpf_map_lookup_elem(&sg_filter_ports, &sp) && !bpf_map_lookup_elem(&sg_filter_ports, &dp))
			return 1;
	}
	if (sg_cfg.addr_filter && !sg_addr_match(p->family, p->saddr) && !sg_addr_match(p->family, p->daddr))
		return 1;
	return 0;
}

/* One state record: t, and t2 (if not NULL) as its twin (sg_event_split()). */
static __always_inline void sg_emit_tr(struct sg_counters *c, const struct sg_flow_key *k,
				       const struct sg_flow *f, const struct sg_tr *t,
				       const struct sg_tr *t2, __u64 now)
{
	struct sg_event *e = bpf_ringbuf_reserve(&sg_events, sizeof(*e), 0);

	if (!e) {
		sg_count(c, SG_LOSS_RINGBUF);
		if (t2)
			sg_count(c, SG_LOSS_RINGBUF);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	sg_flow_event(e, k, f, t, now);
	if (t2) {
		e->twin = 1;
		e->twin_from = t2->from;
	}
	bpf_ringbuf_submit(e, sg_rb_flags(now));
}

/* t2 is t's twin: the other side, to the same state, for the same cause. */
static __always_inline int sg_tr_twins(const struct sg_tr *t, const struct sg_tr *t2)
{
	return t->side != t2->side && t->to == t2->to && t->cause == t2->cause && t->closer == t2->closer;
}

/*
 * 1 if the transitions of a quiet (flood-time) handshake are to be kept
 * off the console; a quiet flow that completes its handshake is printed
 * from then on. Called with the flow's busy flag held (or on a private copy).
 */
static __always_inline int sg_quiet(struct sg_flow *f)
{
	if (!(f->flags & SG_F_QUIET))
		return 0;
	if (f->state[SG_SIDE_CLIENT] < SG_ESTABLISHED && f->state[SG_SIDE_SERVER] < SG_ESTABLISHED)
		return 1;
	f->flags &= ~SG_F_QUIET;
	return 0;
}

/* Emit the transitions in out. */
static __always_inline void sg_emit_out(struct sg_counters *c, const struct sg_flow_key *k,
					struct sg_flow *f, const struct sg_fsm_out *out, __u64 now)
{
	int i, twin = 0;

#pragma unroll
	for (i = 0; i < SG_FSM_MAX_TR; i++) {
		if (i >= out->n)
			break;
		if (twin) {	/* (sent with the one before) */
			twin = 0;
			continue;
		}
		twin = i + 1 < SG_FSM_MAX_TR && i + 1 < out->n && sg_tr_twins(&out->tr[i], &out->tr[i + 1]);
		sg_emit_tr(c, k, f, &out->tr[i], twin ? &out->tr[i + 1] : NULL, now);
	}
}

/* Count a SYN opening a flow to dport; returns 1 if it should be quiet. */
static __always_inline int sg_syn_rate_quiet(struct sg_counters *c, __u16 dport, const struct sg_flow_key *k,
					     __u64 now)
{
	__u32 idx = dport;
	struct sg_syn_window *w = bpf_map_lookup_elem(&sg_syn_rate, &idx);
	__u64 win = now >> SG_SYN_WINDOW_SHIFT;

	if (!w)
		return 0;
	if (w->win != win) {
		if (w->quiet) {
			/* the previous window was summarised: say how many */
			struct sg_event *e = bpf_ringbuf_reserve(&sg_events, sizeof(*e), 0);

			if (e) {
				__builtin_memset(e, 0, sizeof(*e));
				e->ts_ns = now;
				e->type = SG_EV_SYN_SUMMARY;
				e->family = k->family;
				e->dport = dport;
				e->syns = w->syns;
				e->not_printed = w->quiet;
				bpf_ringbuf_submit(e, sg_rb_flags(now));
			} else {
				sg_count(c, SG_LOSS_RINGBUF);
			}
		}
		w->win = win;
		w->syns = 0;
		w->quiet = 0;
	}
	w->syns++;
	if (w->syns > sg_cfg.syn_quiet) {
		if (!w->quiet++)
			bpf_map_update_elem(&sg_quiet_ports, &idx, &win, BPF_ANY);
		return 1;
	}
	return 0;
}

/* sg_halfopen's counting filter (sg_ho_slot()): the key's slot, or NULL. */
static __always_inline __u32 *sg_ho_cnt(const struct sg_flow_key *k)
{
	__u32 zero = 0;
	struct sg_ho_count *h = bpf_map_lookup_elem(&sg_ho_count, &zero);

	return h ? &h->n[sg_ho_slot(k) & (SG_HO_SLOTS - 1)] : NULL;
}

static __always_inline void sg_ho_add(const struct sg_flow_key *k, int d)
{
	__u32 *n = sg_ho_cnt(k);

	if (n)
		__sync_fetch_and_add(n, d);
}

/* The key is in sg_halfopen, or might be. */
static __always_inline int sg_ho_maybe(const struct sg_flow_key *k)
{
	__u32 *n = sg_ho_cnt(k);

	return !n || *(volatile __u32 *)n;
}

/* sg_flow_step() result bits */
#define SG_STEP_ESTABLISHED	0x1	/* a side is ESTABLISHED or beyond */
#define SG_STEP_QUIET		0x2	/* keep the transitions off the console */
#define SG_STEP_SYN_RTX		0x4	/* a retransmitted SYN */
#define SG_STEP_CONTENDED	0x8	/* the busy flag stayed taken */

/*
 * The state machine runs in global functions: the verifier checks a global
 * function once, on its own, instead of once per path of every caller,
 * which keeps the programs far below its instruction limit.
 *
 * sg_flow_step: a segment of a known flow that may change states, with the
 * flow's busy flag held.
 */
__noinline int sg_flow_step(struct sg_flow *f, const struct sg_seg *s, struct sg_fsm_out *out)
{
	int held, from_client, ret = 0;

	if (!f || !s || !out)
		return 0;
	held = sg_flow_lock(f);
	from_client = sg_flow_from_client(f, s->lo);
	if ((s->flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN && from_client &&
	    f->isn[SG_SIDE_CLIENT] == s->seq && (f->priv & SG_FP_ISN(SG_SIDE_CLIENT)))
		ret |= SG_STEP_SYN_RTX;
	sg_flow_segment(f, from_client, s->flags, s->seq, s->ack, s->len, s->window, s->now, out);
	if (f->state[SG_SIDE_CLIENT] >= SG_ESTABLISHED || f->state[SG_SIDE_SERVER] >= SG_ESTABLISHED)
		ret |= SG_STEP_ESTABLISHED;
	if (sg_quiet(f))
		ret |= SG_STEP_QUIET;
	sg_flow_unlock(f, held);
	return held ? ret : ret | SG_STEP_CONTENDED;
}

/*
 * sg_track_new: a flow's first segment: build the record, insert it into
 * the half-open or the flow table, emit its first transitions. Returns 1
 * if the record is in sg_flows.
 */
__noinline int sg_track_new(struct sg_track_work *w)
{
	struct sg_counters *c = sg_cnt();
	int quiet = 0, err, in_flows = 0;

	if (!w)
		return 0;
	__builtin_memset(&w->nf, 0, sizeof(w->nf));
	if (w->seg.cookie)
		sg_flow_init_cookie(&w->nf, w->seg.lo, w->seg.seq, w->seg.ack, w->seg.len, w->seg.window,
				    w->seg.now, &w->out);
	else
		sg_flow_init(&w->nf, w->seg.lo, w->seg.flags, w->seg.seq, w->seg.ack, w->seg.len, w->seg.window,
			     w->seg.now, (w->seg.flags & SG_TCP_SYN) && (w->seg.len > 0 || w->seg.tfo), &w->out);
	sg_count(c, SG_CNT_FLOW_NEW);
	if (w->nf.state[SG_SIDE_CLIENT] < SG_ESTABLISHED && w->nf.state[SG_SIDE_SERVER] < SG_ESTABLISHED) {
		/* a handshake in progress: the half-open map */
		if ((w->seg.flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN)
			quiet = sg_syn_rate_quiet(c, w->seg.dport, &w->k, w->seg.now);
		if (quiet)
			w->nf.flags |= SG_F_QUIET;
		sg_ho_add(&w->k, 1);	/* (before the entry: never below it) */
		err = bpf_map_update_elem(&sg_halfopen, &w->k, &w->nf, BPF_NOEXIST);
		if (err) {
			sg_ho_add(&w->k, -1);
			/* -EEXIST: another CPU created it this instant (not a loss) */
			if (err != -EEXIST)
				sg_count(c, SG_LOSS_HALFOPEN_FULL);
			return 0;
		}
	} else {
		err = sg_flows_add(&w->k, &w->nf);
		if (err) {
			if (err != -EEXIST)
				sg_count(c, SG_LOSS_FLOW_FULL);
			return err == -EEXIST;
		}
		in_flows = 1;
	}
	if (!sg_quiet(&w->nf)) {
		sg_emit_out(c, &w->k, &w->nf, &w->out, w->seg.now);
		sg_ladder_note_seg(&w->k, &w->nf, &w->seg, &w->out);
	}
	return in_flows;
}

/*
 * sg_flow_move: a handshake in sg_halfopen is complete; its record moves to
 * sg_flows. The copy is taken with the flag held, so that no other CPU is
 * halfway through a change of it, into the per-CPU work area, and inserted
 * with busy = 0: the half-open entry's flag, ours or one another CPU holds,
 * is never copied (a flag copied set would stay set for good). The
 * half-open entry is then deleted with the flag still held and never
 * touched again: its memory may be reused by the next insert at once, and
 * a CPU still spinning on it gives up after SG_LOCK_SPINS and is counted.
 * If another CPU moved the flow first, its record stays. Returns 1 if the
 * flow is in sg_flows.
 */
__noinline int sg_flow_move(struct sg_track_work *w, struct sg_flow *f)
{
	struct sg_counters *c = sg_cnt();
	int held, err;

	if (!w || !f)
		return 0;
	held = sg_flow_lock(f);
	if (!held)
		sg_count(c, SG_CNT_LOCK_CONTENDED);
	w->nf = *f;
	w->nf.busy = 0;
	err = sg_flows_add(&w->k, &w->nf);
	if (err && err != -EEXIST) {
		sg_flow_unlock(f, held);
		sg_count(c, SG_LOSS_FLOW_FULL);
		return 0;
	}
	if (!bpf_map_delete_elem(&sg_halfopen, &w->k))
		sg_ho_add(&w->k, -1);	/* (after it) */
	return 1;
}

/* The bulk of a flow: data and acks between two ESTABLISHED endpoints
 * (sg_flow_steady()). The tick's time is plenty for the idle timer, and
 * costs no helper call on most segments (sg_tick_ns()). */
static __always_inline void sg_track_steady(const struct sg_flow_key *k, struct sg_flow *f, int lo,
					    const struct sg_pkt *p, struct sg_counters *c, __u32 how)
{
	int rt = sg_flow_count(f, sg_flow_from_client(f, lo), p->seq, p->payload_len, p->window,
			       sg_tick_ns());

	if (rt)
		sg_count(c, SG_CNT_RETRANS);
	sg_ladder_note_steady(k, f, p, lo, rt, how);	/* --ladder-data only */
}

/* 1: the flow's server endpoint is ESTABLISHED or closing, so the kernel
 * has a socket for it and owns its segments (no cookie check, no handoff). */
static __always_inline int sg_flow_server_open(const struct sg_flow *f)
{
	return f->state[SG_SIDE_SERVER] >= SG_ESTABLISHED && f->state[SG_SIDE_SERVER] != SG_TIME_WAIT;
}

/* sg_track_known() results */
#define SG_KNOWN_NONE	 0	/* not in sg_flows (or not tracked): the full path */
#define SG_KNOWN_COUNTED 1	/* a steady segment of an established flow: counted, done */
#define SG_KNOWN_OPEN	 2	/* the flow's server socket exists (sg_flow_server_open()) */
#define SG_KNOWN_ABSENT	 3	/* tracked, but no record in sg_flows: the full path
				 * (which then skips that lookup: SG_TRACK_ABSENT) */

/*
 * The established-flow fast path, before the cookie path: a steady segment
 * of a flow in sg_flows is only counted (exactly what sg_track() does with
 * it). A global function: verified once, its key off the caller's stack.
 */
__noinline int sg_track_known(struct sg_pkt *p, struct sg_counters *c)
{
	struct sg_flow_key k;
	struct sg_flow *f;
	int lo;

	if (!p || sg_filtered(p))
		return SG_KNOWN_NONE;
	lo = sg_flow_key_make(&k, p->family, p->saddr, p->daddr, p->sport, p->dport);
	f = sg_flows_get(&k);
	if (!f)
		return SG_KNOWN_ABSENT;
	if (sg_flow_steady(f, p->flags)) {
		sg_track_steady(&k, f, lo, p, c, SG_TRACK_INGRESS);
		return SG_KNOWN_COUNTED;
	}
	return sg_flow_server_open(f) ? SG_KNOWN_OPEN : SG_KNOWN_NONE;
}

/* Returns 1 if, after this segment, the flow has its record in sg_flows. */
static __always_inline int sg_track(struct sg_pkt *p, struct sg_counters *c, __u32 how)
{
	struct sg_track_work *w;
	struct sg_flow_key k;
	struct sg_flow *f;
	__u32 zero = 0;
	int lo, halfopen = 0, ret;
	__u8 fl = p->flags;

	if (sg_filtered(p)) {
		sg_count(c, SG_CNT_FILTERED);
		return 0;
	}
	lo = sg_flow_key_make(&k, p->family, p->saddr, p->daddr, p->sport, p->dport);
	/* (a record another CPU moves into sg_flows meanwhile is found by
	 * the insert below: -EEXIST, as when the two race here) */
	f = (how & SG_TRACK_ABSENT) ? NULL : sg_flows_get(&k);

	if (f && sg_flow_steady(f, fl)) {
		sg_track_steady(&k, f, lo, p, c, how);
		return 1;
	}
	sg_ladder_frame(p, how);	/* ladder mode: where the options are, which way */

	w = bpf_map_lookup_elem(&sg_track_work, &zero);
	if (!w)
		return 0;
	w->k = k;
	w->seg.now = p->now ? p->now : bpf_ktime_get_ns();
	w->seg.seq = p->seq;
	w->seg.ack = p->ack;
	w->seg.len = p->payload_len;
	w->seg.window = p->window;
	w->seg.flags = fl;
	w->seg.lo = lo;
	w->seg.cookie = (how & SG_TRACK_COOKIE) ? 1 : 0;
	w->seg.dport = p->dport;
	w->seg.tfo = p->tfo;

	if (!f && sg_ho_maybe(&w->k)) {
		f = bpf_map_lookup_elem(&sg_halfopen, &w->k);
		halfopen = f != NULL;
	}
	if (!f) {
		/* a RST answers something we never saw (a scan, a stale flow) */
		if (!(fl & SG_TCP_RST) || w->seg.cookie)
			return sg_track_new(w);
		return 0;
	}

	/* A segment that may change states: one CPU at a time per flow. */
	ret = sg_flow_step(f, &w->seg, &w->out);
	if (ret & SG_STEP_CONTENDED)
		sg_count(c, SG_CNT_LOCK_CONTENDED);
	if (ret & SG_STEP_SYN_RTX)
		sg_count(c, SG_CNT_SYN_RETRANS);
	if (w->out.retrans)
		sg_count(c, SG_CNT_RETRANS);
	if (w->out.rst_ignored)
		sg_count(c, SG_CNT_RST_IGNORED);
	if (!(ret & SG_STEP_QUIET)) {
		sg_emit_out(c, &w->k, f, &w->out, w->seg.now);
		sg_ladder_note_seg(&w->k, f, &w->seg, &w->out);
	}
	sg_hs_observe(&w->k, f, &w->out);

	/* handshake done: move to the flow table, out of the flood's reach */
	if (halfopen && (ret & SG_STEP_ESTABLISHED))
		return sg_flow_move(w, f);
	return !halfopen;
}

/*
 * The sweeper's decision on one flow (struct sg_sweep_req, include/sg_flow.h),
 * applied by the BPF_PROG_TYPE_SYSCALL program sg_sweep that user/track.c
 * runs with BPF_PROG_TEST_RUN: with the flow's busy flag held, and only if
 * the record is still the one the decision was made on. A deleted entry
 * takes the flag with it (see sg_flow_move()).
 */
static __always_inline int sg_sweep_same(const struct sg_flow *f, const struct sg_sweep_req *r)
{
	return f->start_ns == r->seen.start_ns && f->state[0] == r->seen.state[0] &&
	       f->state[1] == r->seen.state[1] && f->state_ms[0] == r->seen.state_ms[0] &&
	       f->state_ms[1] == r->seen.state_ms[1] &&
	       (!(r->check & SG_SWEEP_SAME_LAST) || f->last_ms == r->seen.last_ms);
}

static __always_inline int sg_sweep_commit(struct sg_sweep_req *r)
{
	struct sg_flow_key k;
	struct sg_flow *f;
	int halfopen = r->halfopen;

	__builtin_memcpy(&k, &r->key, sizeof(k));
	if (halfopen)
		f = bpf_map_lookup_elem(&sg_halfopen, &k);
	else
		f = sg_flows_get(&k);
	if (!f)
		return SG_SWEEP_GONE;
	if (!sg_flow_lock(f))
		return SG_SWEEP_BUSY;
	if (!sg_sweep_same(f, r)) {
		sg_flow_unlock(f, 1);
		return SG_SWEEP_CHANGED;
	}
	if (r->op == SG_SWEEP_DELETE) {
		if (halfopen) {
			if (!bpf_map_delete_elem(&sg_halfopen, &k))
				sg_ho_add(&k, -1);
		} else
			sg_flows_del(&k);
		return SG_SWEEP_OK;
	}
	f->state[0] = r->want.state[0];
	f->state[1] = r->want.state[1];
	f->state_ms[0] = r->want.state_ms[0];
	f->state_ms[1] = r->want.state_ms[1];
	f->close_side = r->want.close_side;
	f->close_how = r->want.close_how;
	f->flags |= r->want.flags & SG_F_ALERTED;
	sg_flow_unlock(f, 1);
	return SG_SWEEP_OK;
}

#endif /* SG_TRACK_H */
