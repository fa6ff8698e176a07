/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * xdpgen.h - the configuration tests/tools/xdpgen.c writes into the .rodata
 * of tests/xdpgen.bpf.c before loading it.
 */
#ifndef SG_XDPGEN_H
#define SG_XDPGEN_H

/* Ethernet + IPv4 + TCP with Linux's 20 bytes of SYN options */
#define XG_LEN 74
#define XG_IP 14			/* IPv4 header */
#define XG_TCP (XG_IP + 20)		/* TCP header */
#define XG_TSVAL (XG_TCP + 20 + 8)	/* TSval in the options */

struct xg_cfg {
	__u8 frame[80];		/* the SYN, XG_LEN bytes (the rest 0); its
				 * saddr, sport, seq, TSval and checksums 0 */
	__u32 ip_sum;		/* ones'-complement sum (16-bit words as they
				 * lie in memory, unfolded) of its IPv4 header */
	__u32 tcp_sum;		/* the same of its TCP header and pseudo header */
	__u32 src_net;		/* spoofed range, network byte order */
	__u32 src_host;		/* its host bits, network byte order */
	__u32 sport_lo;		/* source ports sport_lo .. sport_lo + sport_span - 1 */
	__u32 sport_span;
	__u64 seed;		/* the frame counter's start */
	__u64 gap_ns;		/* --rate: 1e9 / PPS between frames (0: as fast as it goes) */
	__u64 max_frames;	/* --count: frames sent at most */
};

/* --rate: after a stall (the generator preempted), at most this many
 * frames owed are sent back to back */
#define XG_BURST 64

/* its .bss: frames made, frames too short for the SYN (never expected) */
struct xg_stats {
	__u64 made;
	__u64 aborted;
	__u64 held;		/* runs that sent nothing: not yet time (--rate), or --count reached */
	__u64 next_ns;		/* --rate: when the next frame is due */
};

#endif /* SG_XDPGEN_H */
