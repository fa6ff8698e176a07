/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_track.h - per-flow TCP state tracking, fed by XDP (ingress) and TC
 * (egress): filters, flow lookup from either direction, the endpoint state
 * machines (include/sg_flow.h), ring-buffer events.
 *
 * Half-open flows live in their own bounded map (sg_embryo) and move to
 * sg_flows once a side is ESTABLISHED, so a SYN flood churns sg_embryo and
 * never evicts established flows. Above cfg_syn_quiet SYNs per second per
 * port (per CPU), new handshakes are not printed one by one: a per-port
 * SG_EV_SYN_SUMMARY is emitted each second instead.
 */
#ifndef SG_TRACK_H
#define SG_TRACK_H

#include "synguard.h"
#include "sg_flow.h"
#include "sg_parse.h"
#include "sg_maps.h"

#define SG_TRACK_INGRESS 0x1
#define SG_TRACK_EGRESS	 0x2
#define SG_TRACK_COOKIE	 0x4	/* a valid synguard cookie ACK */

/* Load-time settings (rodata), written by user/track.c. */
const volatile __u8 cfg_track = 1;		/* 0: count only, no flow tracking */
const volatile __u8 cfg_family;			/* 0 any, 4 or 6 */
const volatile __u8 cfg_port_filter;		/* 1: only ports in sg_filter_ports */
const volatile __u8 cfg_addr_filter;		/* 1: only endpoints in sg_filter_addr */
const volatile __u32 cfg_syn_quiet = 1000;	/* SYN/s per port and CPU before summaries */

struct sg_lpm_key {
	__u32 prefixlen;	/* 32 (family word) + address prefix */
	__u32 family;
	__u32 addr[4];
};

struct sg_syn_window {
	__u64 win;		/* window number: ns >> 30 (~1.07 s) */
	__u32 syns;		/* SYNs opening new flows in this window */
	__u32 quiet;		/* of which not printed */
};

/*
 * Plain hash maps, not LRU: an LRU map evicts silently, a full hash map
 * refuses the insert, which is counted (SG_LOSS_FLOW_FULL/EMBRYO_FULL). The
 * userspace sweeper frees entries as their timers expire.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);	/* --max-flows */
	__type(key, struct sg_flow_key);
	__type(value, struct sg_flow);
} sg_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);	/* --max-halfopen */
	__type(key, struct sg_flow_key);
	__type(value, struct sg_flow);
} sg_embryo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u8);
} sg_filter_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sg_lpm_key);
	__type(value, __u8);
} sg_filter_addr SEC(".maps");

/* Per-CPU SYN windows, indexed by destination port. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct sg_syn_window);
} sg_syn_rate SEC(".maps");

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
	if (cfg_family && cfg_family != p->family)
		return 1;
	if (cfg_port_filter) {
		__u16 sp = p->sport, dp = p->dport;

		if (!bpf_map_lookup_elem(&sg_filter_ports, &sp) && !bpf_map_lookup_elem(&sg_filter_ports, &dp))
			return 1;
	}
	if (cfg_addr_filter && !sg_addr_match(p->family, p->saddr) && !sg_addr_match(p->family, p->daddr))
		return 1;
	return 0;
}

static __always_inline void sg_emit_tr(struct sg_counters *c, const struct sg_flow_key *k,
				       const struct sg_flow *f, const struct sg_tr *t, __u64 now)
{
	struct sg_event *e = bpf_ringbuf_reserve(&sg_events, sizeof(*e), 0);

	if (!e) {
		sg_count(c, SG_LOSS_RINGBUF);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	sg_flow_event(e, k, f, t, now);
	bpf_ringbuf_submit(e, 0);
}

/* Emit the transitions in out, unless the flow is a quiet (flood-time) handshake. */
static __always_inline void sg_emit_out(struct sg_counters *c, const struct sg_flow_key *k,
					struct sg_flow *f, const struct sg_fsm_out *out, __u64 now)
{
	int i;

	if (f->flags & SG_F_QUIET) {
		if (f->state[SG_SIDE_CLIENT] < SG_ESTABLISHED && f->state[SG_SIDE_SERVER] < SG_ESTABLISHED)
			return;
		f->flags &= ~SG_F_QUIET; /* it completed: from now on, every line */
	}
#pragma unroll
	for (i = 0; i < SG_FSM_MAX_TR; i++) {
		if (i >= out->n)
			break;
		sg_emit_tr(c, k, f, &out->tr[i], now);
	}
}

/* Count a SYN opening a flow to dport; returns 1 if it should be quiet. */
static __always_inline int sg_syn_rate_quiet(struct sg_counters *c, __u16 dport, const struct sg_flow_key *k,
					     __u64 now)
{
	__u32 idx = dport;
	struct sg_syn_window *w = bpf_map_lookup_elem(&sg_syn_rate, &idx);
	__u64 win = now >> 30;

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
				e->valid = w->quiet;
				bpf_ringbuf_submit(e, 0);
			} else {
				sg_count(c, SG_LOSS_RINGBUF);
			}
		}
		w->win = win;
		w->syns = 0;
		w->quiet = 0;
	}
	w->syns++;
	if (w->syns > cfg_syn_quiet) {
		w->quiet++;
		return 1;
	}
	return 0;
}

static __always_inline void sg_track(struct sg_pkt *p, struct sg_counters *c, __u32 how)
{
	struct sg_flow_key k;
	struct sg_flow nf, *f;
	struct sg_fsm_out out;
	__u64 now;
	int lo, embryo = 0;
	__u8 fl = p->flags;

	if (!cfg_track)
		return;
	if (sg_filtered(p)) {
		sg_count(c, SG_CNT_FILTERED);
		return;
	}
	now = bpf_ktime_get_ns();
	lo = sg_flow_key_make(&k, p->family, p->saddr, p->daddr, p->sport, p->dport);

	f = bpf_map_lookup_elem(&sg_flows, &k);
	if (!f) {
		f = bpf_map_lookup_elem(&sg_embryo, &k);
		embryo = f != NULL;
	}

	if (!f) {
		int quiet = 0;

		/* A RST or a bare ACK with nothing known about the flow opens nothing
		 * when it is a cookie ACK: that one starts the flow established. */
		if (how & SG_TRACK_COOKIE) {
			sg_flow_init_cookie(&nf, lo, p->seq, p->ack, p->payload_len, p->window, now, &out);
		} else {
			if (fl & SG_TCP_RST)
				return; /* an answer to something we never saw (a scan, a stale flow) */
			sg_flow_init(&nf, lo, fl, p->seq, p->ack, p->payload_len, p->window, now,
				     (fl & SG_TCP_SYN) && p->payload_len > 0, &out);
		}
		sg_count(c, SG_CNT_FLOW_NEW);
		if (nf.state[SG_SIDE_CLIENT] < SG_ESTABLISHED && nf.state[SG_SIDE_SERVER] < SG_ESTABLISHED) {
			/* a handshake in progress: the half-open map */
			if ((fl & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN)
				quiet = sg_syn_rate_quiet(c, p->dport, &k, now);
			if (quiet)
				nf.flags |= SG_F_QUIET;
			if (bpf_map_update_elem(&sg_embryo, &k, &nf, BPF_NOEXIST)) {
				sg_count(c, SG_LOSS_EMBRYO_FULL);
				return;
			}
		} else if (bpf_map_update_elem(&sg_flows, &k, &nf, BPF_NOEXIST)) {
			sg_count(c, SG_LOSS_FLOW_FULL);
			return;
		}
		sg_emit_out(c, &k, &nf, &out, now);
		return;
	}

	if ((fl & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN && sg_flow_from_client(f, lo) &&
	    f->isn[SG_SIDE_CLIENT] == p->seq && (f->priv & SG_FP_ISN(SG_SIDE_CLIENT)))
		sg_count(c, SG_CNT_SYN_RETRANS);
	sg_flow_segment(f, sg_flow_from_client(f, lo), fl, p->seq, p->ack, p->payload_len, p->window, now,
			&out);
	if (out.retrans)
		sg_count(c, SG_CNT_RETRANS);
	if (out.rst_ignored)
		sg_count(c, SG_CNT_RST_IGNORED);
	sg_emit_out(c, &k, f, &out, now);

	if (embryo && (f->state[SG_SIDE_CLIENT] >= SG_ESTABLISHED || f->state[SG_SIDE_SERVER] >= SG_ESTABLISHED)) {
		/* handshake done: move to the flow table, out of the flood's reach */
		if (bpf_map_update_elem(&sg_flows, &k, f, BPF_ANY))
			sg_count(c, SG_LOSS_FLOW_FULL);
		else
			bpf_map_delete_elem(&sg_embryo, &k);
	}
}

#endif /* SG_TRACK_H */
