/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_ladder_ev.h - the per-segment record of ladder mode (--ladder,
 * --diagram), shared by the BPF programs (bpf/sg_ladder.h) and userspace
 * (user/ladder.c).
 *
 * One record per segment of a tracked flow, on its own ring buffer
 * (sg_ladder), and only when ladder mode is on: the segment as it crossed
 * the interface (raw seq/ack/window, flags, payload length, a SYN's raw
 * option bytes), the tracker's verdict on it and the transitions it
 * caused, in order, so a record alone places its arrow and the states it
 * moved on the ladder. The flow's segment counters, copied into every
 * record, tell userspace exactly how many segments between two records it
 * was not sent (steady data summarised, per-flow cap, rate cap, ring full).
 */
#ifndef SG_LADDER_EV_H
#define SG_LADDER_EV_H

#include "synguard.h"
#include "sg_flow.h"

#define SG_LADDER_OPT_MAX	40	/* TCP option bytes at most (doff 15) */
#define SG_LADDER_MAX_DEFAULT	200	/* --ladder-max: segments per flow with a record */
#define SG_LADDER_RATE_DEFAULT	10000	/* --ladder-rate: records per second, all flows */

/* sg_seg_event.verdict: what the tracker made of the segment */
#define SG_LV_RETRANS		0x01	/* a retransmission: changed nothing */
#define SG_LV_RST_IGNORED	0x02	/* a RST not at the sender's next sequence number: ignored */
#define SG_LV_NEW_SYN		0x04	/* a SYN that started the 4-tuple over (reuse) */
#define SG_LV_EGRESS		0x08	/* seen leaving the interface (TC), else arriving (XDP) */
#define SG_LV_STEADY		0x10	/* a steady segment of an established flow (--ladder-data) */

struct sg_seg_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() when the segment was seen */
	__u64 start_ns;		/* the flow's first segment (identifies this incarnation) */
	__u32 caddr[4];		/* the client (network order, IPv4 in [0]) */
	__u32 saddr[4];		/* the server */
	__u16 cport, sport;	/* host order */
	__u32 seq, ack;		/* raw, host order */
	__u32 isn[2];		/* by enum sg_side, valid per isn_known */
	__u32 pkts[2];		/* the flow's segments sent by client, server: this one included */
	__u32 bytes[2];		/* and their payload bytes */
	__u16 win;		/* raw (unscaled) window */
	__u16 len;		/* payload bytes */
	__u8 family;		/* 4 or 6 */
	__u8 from_client;	/* 1: client -> server */
	__u8 tcp_flags;
	__u8 verdict;		/* SG_LV_* */
	__u8 state[2];		/* each side's state after the segment (enum sg_state) */
	__u8 isn_known;		/* bit 1 << side: isn[side] valid */
	__u8 ntr;		/* transitions in tr[] */
	struct sg_tr tr[SG_FSM_MAX_TR];	/* the transitions this segment caused, in order */
	__u8 flow_flags;	/* SG_F_* */
	__u8 optlen;		/* bytes in opts[] (SYNs only) */
	__u8 closer;		/* enum sg_closer: who closed first and how, once known */
	__u8 pad;
	__u8 opts[SG_LADDER_OPT_MAX];	/* a SYN's TCP options, raw */
};

/* Per-CPU counters of the ladder records (sg_ladder_stats). */
struct sg_ladder_stats {
	__u64 sent;		/* records put on the ring */
	__u64 capped;		/* not sent: over --ladder-rate */
	__u64 lost;		/* not sent: the ring buffer was full */
};

#endif /* SG_LADDER_EV_H */
