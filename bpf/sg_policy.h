/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_policy.h - the operator's policy at XDP, in this order:
 *
 *   deny  -> the source is on --deny: XDP_DROP (drop_denied), nothing else runs
 *   allow -> the source is on --allow: its SYNs go to the kernel, never a
 *            cookie nor a limit; its flows are tracked
 *   limit -> a SYN over --syn-limit for its source prefix: XDP_DROP
 *            (drop_syn_limited, bpf/sg_limit.h)
 *   cap   -> a SYN whose SYN-ACK would pass --synack-cap for the
 *            source's /24 or /48: XDP_DROP (drop_synack_capped, sg_limit.h)
 *   cookies (sg_synproxy.h) -> tracking (sg_track.h)
 *
 * Deny comes first and is final: a source on both lists (an allowed /32
 * inside a denied /24, say) is denied. It covers every IPv4 and IPv6
 * frame whose headers parse, TCP or not (sg_parse() fills the source
 * address of the non-TCP ones too); malformed frames and non-IP frames
 * (ARP, ...) pass as always. Allow is looked up for SYNs (what it changes:
 * cookie, limit, cap) and, in the cookie path, for an ACK that would be
 * dropped as a bad cookie (a handshake the kernel answered is the
 * kernel's). The lists are two LPM tries behind one-slot arrays of maps
 * (sg_maps.h: sg_deny, sg_allow) that userspace swaps whole.
 */
#ifndef SG_POLICY_H
#define SG_POLICY_H

#include "sg_maps.h"
#include "sg_parse.h"

enum sg_pol {
	SG_POL_NONE = 0,	/* on no list */
	SG_POL_ALLOW,		/* on --allow */
	SG_POL_DENY,		/* on --deny: drop */
};

/* 1 if the source of p (family and saddr filled) is on the list whose
 * array of maps is outer; an empty slot matches nothing. */
static __always_inline int sg_pol_lookup(void *outer, const struct sg_pkt *p)
{
	struct sg_lpm_key k;
	__u32 zero = 0;
	void *trie;

	trie = bpf_map_lookup_elem(outer, &zero);
	if (!trie)
		return 0;
	k.prefixlen = p->family == 6 ? 32 + 128 : 32 + 32;
	k.family = p->family;
	k.addr[0] = p->saddr[0];
	k.addr[1] = p->saddr[1];
	k.addr[2] = p->saddr[2];
	k.addr[3] = p->saddr[3];
	return bpf_map_lookup_elem(trie, &k) != NULL;
}

/* 1 if a frame's source is on --deny. p: family 4 or 6 and saddr filled
 * (SG_P_TCP, or SG_P_OTHER with p->family set). */
static __always_inline int sg_policy_denied(const struct sg_pkt *p)
{
	return sg_cfg.deny && sg_pol_lookup(&sg_deny, p);
}

/* 1 if a segment's source is on --allow. */
static __noinline int sg_policy_allowed(const struct sg_pkt *p)
{
	if (!p || !sg_cfg.allow)
		return 0;
	return sg_pol_lookup(&sg_allow, p);
}

/* A TCP segment's source's place in the deny and allow lists (enum
 * sg_pol). c: the caller counts the drop. */
static __always_inline int sg_policy_src(const struct sg_pkt *p, struct sg_counters *c)
{
	(void)c;
	if (sg_policy_denied(p))
		return SG_POL_DENY;
	if (sg_cfg.allow && (p->flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) == SG_TCP_SYN &&
	    sg_policy_allowed(p))
		return SG_POL_ALLOW;
	return SG_POL_NONE;
}

#endif /* SG_POLICY_H */
