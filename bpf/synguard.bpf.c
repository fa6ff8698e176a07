// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synguard.bpf.c - the XDP (ingress) and TC (egress) programs.
 *
 * Monitor mode never changes a packet: both programs parse, classify and
 * count. Loaded on its own (ip link set dev X xdp obj synguard.bpf.o sec xdp)
 * the XDP program runs with the defaults below and passes all traffic.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "synguard.h"
#include "sg_defs.h"
#include "sg_parse.h"
#include "sg_maps.h"
#include "sg_synproxy.h"
#include "sg_track.h"
#include "sg_policy.h"
#include "sg_limit.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Run order in libxdp's dispatcher (README: Sharing the interface with
 * other XDP programs), read by libxdp from this section's BTF: the struct
 * named "_" + the program's name, as libxdp's XDP_RUN_CONFIG() in
 * <xdp/xdp_helpers.h> declares it (defined here: the BPF object does not
 * need libxdp's headers). Lower priorities run first: 20 runs after
 * firewalls such as xdp-filter (10), so traffic they drop never costs a
 * SYN cookie or a flow entry, and before programs at libxdp's default
 * (50). After XDP_PASS the next program runs; XDP_DROP, XDP_TX (a SYN
 * cookie's SYN-ACK) and XDP_ABORTED end the chain.
 */
#define SG_XDP_RUN_CONFIG(prog) _##prog SEC(".xdp_run_config")
#define SG_XDP_RUN_PRIO 20
struct {
	__uint(priority, SG_XDP_RUN_PRIO);
	__uint(XDP_PASS, 1);
} SG_XDP_RUN_CONFIG(sg_xdp);

static __always_inline void sg_count_tcp(struct sg_counters *c, const struct sg_pkt *p)
{
	__u8 f = p->flags;

	sg_count(c, SG_CNT_TCP);
	if ((f & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN)
		sg_count(c, SG_CNT_SYN);
	else if ((f & (SG_TCP_SYN | SG_TCP_ACK)) == (SG_TCP_SYN | SG_TCP_ACK))
		sg_count(c, SG_CNT_SYNACK);
	if (f & SG_TCP_FIN)
		sg_count(c, SG_CNT_FIN);
	if (f & SG_TCP_RST)
		sg_count(c, SG_CNT_RST);
}

/*
 * Tracking as a global function: verified once on its own, and its frame
 * is not stacked on the parser's and the cookie path's (512 bytes in all).
 */
__noinline int sg_track_xdp(struct sg_pkt *p, struct sg_counters *c, __u32 how)
{
	if (!p)
		return 0;
	return sg_track(p, c, how);	/* (sg_count() copes with a NULL c) */
}

/* 1 if a SYN carries a TCP Fast Open option (a cookie or a cookie request). */
static __noinline int sg_syn_tfo(struct xdp_md *ctx, struct sg_pkt *p)
{
	struct sg_optctx oc;

	if (!p)
		return 0;
	sg_parse_opts(ctx, p, &oc);
	return oc.o.tfo;
}

SEC("xdp")
int sg_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sg_counters *c = sg_cnt();
	struct sg_pkt p;
	int res, known, verdict, pol = SG_POL_NONE;
	__u32 absent;

	sg_count(c, SG_CNT_PACKETS);
	res = sg_parse(data, data_end, data_end - data, &p);
	if (res == SG_P_MALFORMED) {
		sg_count(c, SG_CNT_MALFORMED);
		return XDP_PASS;
	}
	if (res != SG_P_TCP) {
		sg_count(c, SG_CNT_OTHER);
		/* --deny covers a denied source's every IP frame (sg_policy.h) */
		if (p.family && sg_policy_denied(&p)) {
			sg_count(c, SG_DROP_DENIED);
			return XDP_DROP;
		}
		return XDP_PASS;
	}
	sg_count_tcp(c, &p);

	/* The operator's policy first (sg_policy.h): deny, allow, then the
	 * per-source SYN limit; the reflection cap sits in the cookie path,
	 * in front of the SYN-ACK it caps. */
	if (sg_cfg.deny || sg_cfg.allow) {
		pol = sg_policy_src(&p, c);
		if (pol == SG_POL_DENY) {
			sg_count(c, SG_DROP_DENIED);
			return XDP_DROP;
		}
	}
	if (sg_cfg.syn_limit && pol != SG_POL_ALLOW &&
	    (p.flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) == SG_TCP_SYN && sg_syn_limited(&p)) {
		sg_count(c, SG_DROP_SYN_LIMITED);
		return XDP_DROP;
	}

	/* A flow the tracker knows to be established belongs to its socket:
	 * steady segments are only counted, and no segment but a SYN goes
	 * through the cookie path (no cookie check, no socket lookup, never
	 * a second handoff: the first data segment still carries the
	 * cookie's ack number, and may pass XDP before the handshake's ACK
	 * has made the kernel's socket). */
	known = p.flags & SG_TCP_SYN ? SG_KNOWN_NONE : sg_track_known(&p, c);
	if (known == SG_KNOWN_COUNTED)
		return XDP_PASS;
	absent = known == SG_KNOWN_ABSENT ? SG_TRACK_ABSENT : 0;	/* (one lookup less) */
	if (known == SG_KNOWN_OPEN && !(p.flags & SG_TCP_SYN))
		verdict = SG_SP_CONTINUE;
	else
		verdict = sg_synproxy_xdp(ctx, &p, c, pol == SG_POL_ALLOW);

	switch (verdict) {
	case SG_SP_TX:
		return XDP_TX;
	case SG_SP_DROP:
		return XDP_DROP;
	case SG_SP_PASS:
		return XDP_PASS;
	case SG_SP_COOKIE_OK:
		/* a connection the tracker does not keep is remembered apart */
		if (!sg_track_xdp(&p, c, SG_TRACK_INGRESS | SG_TRACK_COOKIE | absent))
			sg_ck_mark_handed(&p);
		sg_ladder_flush_xdp(ctx);	/* ladder mode: the segment's record, if any */
		return XDP_PASS;
	default:
		if ((p.flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) == SG_TCP_SYN && p.tcp_hlen > 20)
			p.tfo = sg_syn_tfo(ctx, &p);
		sg_track_xdp(&p, c, SG_TRACK_INGRESS | absent);
		sg_ladder_flush_xdp(ctx);	/* ladder mode: the segment's record, if any */
		return XDP_PASS;
	}
}

/* TC ingress: only attached when cookies may be in use (--mode protect|auto). */
SEC("tc")
int sg_tc_ingress(struct __sk_buff *skb)
{
	return sg_synproxy_tc(skb);
}

/* What the parser may read of a frame: Ethernet, two VLAN tags, IPv4 with
 * options or IPv6 with small extension headers, TCP with options. */
#define SG_HDRS_MAX	256

SEC("tc")
int sg_tc_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct sg_counters *c = sg_cnt();
	struct sg_pkt p;
	__u32 len = skb->len, lin = data_end - data;
	int res;

	sg_count(c, SG_CNT_EGRESS);
	res = sg_parse(data, data_end, len, &p);
	/* Headers past the linear part of the skb (a packet socket's TX ring,
	 * a driver with a short head, another program's work): pull them in
	 * (the bytes stay as they are) and parse again. The kernel's own TCP
	 * segments have their headers linear and never get here. */
	if (res == SG_P_MALFORMED && len > lin && lin < SG_HDRS_MAX) {
		if (bpf_skb_pull_data(skb, len < SG_HDRS_MAX ? len : SG_HDRS_MAX)) {
			sg_count(c, SG_CNT_EGRESS_PULL_FAIL);
			return TC_ACT_OK;
		}
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		res = sg_parse(data, data_end, skb->len, &p);
	}
	if (res != SG_P_TCP)
		return TC_ACT_OK;
	sg_count(c, SG_CNT_EGRESS_TCP);
	/* a SYN, SYN-ACK or FIN of ours: its socket (a FIN's TIME_WAIT to
	 * come) goes into the socket hint (include/sg_skhint.h), the peer
	 * being the client of the tuple */
	if (sg_cfg.mode != SG_MODE_MONITOR && (p.flags & (SG_TCP_SYN | SG_TCP_FIN)))
		sg_skhint_mark(p.family, p.daddr, p.saddr, p.dport, p.sport);
	sg_track_xdp(&p, c, SG_TRACK_EGRESS);
	sg_ladder_flush_skb(skb);	/* ladder mode: the segment's record, if any */
	return TC_ACT_OK;
}

/*
 * The userspace sweeper's writes (user/track.c): expiries and alert flags
 * applied under each flow's busy flag. Run with BPF_PROG_TEST_RUN; loaded
 * by the sweeper on its own ("?": not with the other programs).
 */
SEC("?syscall")
int sg_sweep(struct sg_sweep_req *r)
{
	return sg_sweep_commit(r);
}
