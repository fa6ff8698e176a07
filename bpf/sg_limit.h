/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_limit.h - the two rate policies on SYNs (order: bpf/sg_policy.h).
 *
 * --syn-limit PPS[/PREFIX]: SYNs per second from one source prefix (/32 and
 * /64 by default). One entry per prefix in sg_limit (an LRU hash: under a
 * flood of spoofed sources the oldest prefixes are evicted, which forgets
 * rate state, never a connection). A window is one second of
 * bpf_ktime_get_ns(); the first PPS SYNs of a window pass, the rest are
 * dropped and counted in the entry (userspace names the top sources).
 *
 * --synack-cap N (default SG_SYNACK_CAP_DEFAULT): SYN-ACKs per second that
 * synguard's cookies send to one /24 or /48 (the SYN's source: whoever a
 * spoofed SYN names). Counted in a count-min sketch (sg_cap: two rows of
 * SG_CAP_SLOTS one-second counters, slots chosen by a keyed hash whose
 * seed userspace draws at load), so the cost per SYN is two array updates
 * whatever the number of sources; a prefix is capped only when both of its
 * slots are over the cap, so an innocent prefix shares the fate of a
 * flooded one only if both of its slots collide with heavy prefixes.
 * SG_CAP_SLOTS is sized for the CPU's cache, not for memory: every SYN
 * touches two random slots, and a sketch that does not stay in cache cost
 * a miss per SYN (2 x 65536 slots of 16 bytes: ~160 ns per SYN, most of
 * the SYN path; 2 x 16384 of 8 bytes: ~30 ns). With V sources flooded
 * over the cap, an innocent prefix is capped with probability about
 * (V / SG_CAP_SLOTS)^2 (V = 100: 4e-5, V = 1000: 0.4%); a flood spread
 * evenly over all sources caps nobody below 16384 x the cap per second
 * (82 M SYN/s at 5000).
 */
#ifndef SG_LIMIT_H
#define SG_LIMIT_H

#include "sg_maps.h"
#include "sg_parse.h"

#define SG_NS_PER_S 1000000000ULL

/* The source's prefix of a given length, family in the key. */
static __always_inline void sg_src_prefix(const struct sg_pkt *p, __u32 plen, struct sg_src_key *k)
{
	__u32 i, bits;

	k->family = p->family;
	k->prefix = plen;
	for (i = 0; i < 4; i++) {
		bits = plen > i * 32 ? plen - i * 32 : 0;
		if (bits >= 32)
			k->addr[i] = p->saddr[i];
		else if (bits)
			k->addr[i] = p->saddr[i] & bpf_htonl(~0u << (32 - bits));
		else
			k->addr[i] = 0;
	}
}

/* 1 if this SYN is over --syn-limit for its source prefix (then counted). */
static __noinline int sg_syn_limited(const struct sg_pkt *p)
{
	struct sg_src_key k = {};
	struct sg_limit_val *v, nv = {};
	__u64 win;
	__u32 n;

	if (!p)
		return 0;
	sg_src_prefix(p, p->family == 4 ? sg_cfg.limit_prefix4 : sg_cfg.limit_prefix6, &k);
	win = bpf_ktime_get_ns() / SG_NS_PER_S;
	v = bpf_map_lookup_elem(&sg_limit, &k);
	if (!v) {
		nv.win = win;
		nv.syns = 1;
		if (!bpf_map_update_elem(&sg_limit, &k, &nv, BPF_NOEXIST))
			return sg_cfg.syn_limit < 1;
		v = bpf_map_lookup_elem(&sg_limit, &k);	/* another CPU's insert */
		if (!v)
			return 0;
	}
	if (v->win != win) {
		/* a new window (two CPUs may both start it: a SYN or two
		 * more pass, never fewer) */
		v->win = win;
		v->syns = 1;
		return 0;
	}
	/* (the add's own result needs BPF v3 atomics: read back instead) */
	__sync_fetch_and_add(&v->syns, 1);
	n = *(volatile __u32 *)&v->syns;
	if (n <= sg_cfg.syn_limit)
		return 0;
	__sync_fetch_and_add(&v->total_drops, 1);
	return 1;
}

static __always_inline __u32 sg_cap_hash(__u64 x, __u32 row)
{
	x ^= (__u64)sg_cfg.cap_seed << 32 | (sg_cfg.cap_seed ^ (row + 1) * 0x9e3779b9u);
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (__u32)x & (SG_CAP_SLOTS - 1);
}

/* 1 if a SYN-ACK to this SYN's source would pass --synack-cap for its /24
 * or /48 this second (each one answered or not is counted). */
static __noinline int sg_synack_capped(const struct sg_pkt *p)
{
	struct sg_cap_slot *s;
	__u64 key;
	__u32 win, row, idx, n, least = ~0u;

	if (!p)
		return 0;
	if (p->family == 4)
		key = (__u64)(p->saddr[0] & bpf_htonl(0xffffff00));
	else
		key = ((__u64)p->saddr[0] << 32 | (p->saddr[1] & bpf_htonl(0xffff0000))) ^ 0x6;
	/* coarse time: a one-second window needs no finer, and the fine
	 * clock costs ~45 ns per SYN in a VM */
	win = (__u32)(bpf_ktime_get_coarse_ns() / SG_NS_PER_S);
	for (row = 0; row < 2; row++) {
		idx = row * SG_CAP_SLOTS + sg_cap_hash(key, row);
		s = bpf_map_lookup_elem(&sg_cap, &idx);
		if (!s)
			return 0;
		if (s->win != win) {
			s->win = win;
			s->n = 1;
			n = 1;
		} else {
			__sync_fetch_and_add(&s->n, 1);
			n = *(volatile __u32 *)&s->n;
		}
		if (n < least)
			least = n;
	}
	return least > sg_cfg.synack_cap;
}

#endif /* SG_LIMIT_H */
