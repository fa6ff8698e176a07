/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * synguard.h - names and records shared by the BPF programs and userspace:
 * TCP endpoint states, transition causes, packet/drop counters, the
 * ring-buffer event record, and the limits and defaults the BPF maps and
 * the options share. (The load-time settings: sg_settings.h.)
 *
 * One name per concept: sg_state_name() spells a state exactly as the
 * console and the JSON output show it.
 */
#ifndef SYNGUARD_H
#define SYNGUARD_H

#include "sg_types.h"

#define SG_VERSION "0.1.0"

/*
 * Limits and defaults the BPF maps and the options share. The maps are
 * declared with them (the object loaded on its own gets the defaults); the
 * loader resizes the two flow tables to --max-flows and --max-halfopen.
 */
#define SG_MAX_PORTS		64	/* -p (sg_filter_ports) and --ports list entries */
#define SG_MAX_CIDRS		8	/* -a networks (sg_filter_addr) */
#define SG_MAX_FLOWS_DEFAULT	262144	/* --max-flows (sg_flows) */
#define SG_MAX_HALFOPEN_DEFAULT	65536	/* --max-halfopen (sg_halfopen) */
#define SG_SYN_THRESHOLD_DEFAULT 1000	/* --syn-threshold: --mode auto, SYNs/s per port */
#define SG_SYN_ALERT_DEFAULT 1000	/* --syn-alert: SYNs/s on the interface */
#define SG_SYN_SUMMARY_DEFAULT 1000	/* --syn-summary: handshakes/s per port and CPU */
#define SG_SYN_LIMIT_TABLE_DEFAULT 65536	/* --syn-limit-table: source prefixes rated at once */
#define SG_SYNACK_CAP_DEFAULT	5000	/* --synack-cap: SYN-ACKs/s per /24 or /48 */
#define SG_CAP_SLOTS		16384	/* one row of the reflection cap's sketch (power of 2);
					 * both rows, 256 KiB, stay in the CPU's cache */
#define SG_QUIET_PORTS_MAX	1024	/* ports with a summarised SYN window at once (sg_quiet_ports) */
#define SG_SYN_WINDOW_SHIFT	30	/* SYN-rate window number: ns >> 30 (~1.07 s) */

/* TCP header flag bits (byte 13 of the header). */
#define SG_TCP_FIN 0x01
#define SG_TCP_SYN 0x02
#define SG_TCP_RST 0x04
#define SG_TCP_PSH 0x08
#define SG_TCP_ACK 0x10
#define SG_TCP_URG 0x20
#define SG_TCP_ECE 0x40
#define SG_TCP_CWR 0x80

/* RFC 793 endpoint states. Order is stable: it is the wire format of events. */
enum sg_state {
	SG_CLOSED = 0,
	SG_LISTEN,
	SG_SYN_SENT,
	SG_SYN_RCVD,
	SG_ESTABLISHED,
	SG_FIN_WAIT_1,
	SG_FIN_WAIT_2,
	SG_CLOSING,
	SG_TIME_WAIT,
	SG_CLOSE_WAIT,
	SG_LAST_ACK,
	SG_STATE_MAX,
};

/* Which endpoint of a flow: the one that sent the first SYN is the client. */
enum sg_side {
	SG_SIDE_CLIENT = 0,
	SG_SIDE_SERVER = 1,
};

/* Why a transition happened. */
enum sg_cause {
	SG_CAUSE_SYN = 0,	/* a SYN was sent / received */
	SG_CAUSE_SYNACK,	/* a SYN-ACK */
	SG_CAUSE_ACK,		/* an acknowledgement */
	SG_CAUSE_FIN,		/* a FIN */
	SG_CAUSE_RST,		/* an acceptable RST */
	SG_CAUSE_TIMEOUT,	/* a timer: 2MSL, half-open or idle expiry */
	SG_CAUSE_REUSE,		/* a new SYN reused a 4-tuple in TIME_WAIT */
	SG_CAUSE_COOKIE,	/* handshake completed through a synguard SYN cookie */
	SG_CAUSE_MIDSTREAM,	/* flow already open when first seen */
	SG_CAUSE_MAX,
};

/*
 * Per-CPU packet counters: classes first, then drop and loss reasons.
 * Every XDP_DROP increments exactly one SG_DROP_* reason.
 */
enum sg_counter {
	SG_CNT_PACKETS = 0,	/* every frame seen by XDP */
	SG_CNT_TCP,
	SG_CNT_SYN,
	SG_CNT_SYNACK,
	SG_CNT_FIN,
	SG_CNT_RST,
	SG_CNT_OTHER,		/* not TCP (ARP, UDP, ICMP, ...) */
	SG_CNT_MALFORMED,	/* truncated or invalid headers: passed untouched */
	SG_CNT_EGRESS,		/* frames seen by TC egress */
	SG_CNT_EGRESS_TCP,
	/* SYN cookies */
	SG_CNT_COOKIE_SENT,
	SG_CNT_COOKIE_VALID,
	SG_CNT_COOKIE_HANDOFF,	/* TC ingress: bpf_sk_assign_tcp_reqsk() succeeded */
	SG_CNT_HANDOFF_FAIL,	/* TC ingress: handoff failed, packet left to the kernel */
	SG_CNT_BAD_CSUM,	/* a SYN to answer with a bad IPv4 or TCP checksum: passed untouched */
	/* drop reasons */
	SG_DROP_COOKIE_BAD,	/* ACK to a protected port, no socket, bad cookie */
	SG_DROP_DENIED,		/* policy: the source is on the --deny list */
	SG_DROP_SYN_LIMITED,	/* policy: a SYN over --syn-limit for its source prefix */
	SG_DROP_SYNACK_CAPPED,	/* policy: a SYN whose SYN-ACK would pass --synack-cap
				 * for its source's /24 or /48 (reflection cap) */
	/* tracking losses: nothing lost silently */
	SG_LOSS_RINGBUF,	/* ring buffer full: event not delivered */
	SG_LOSS_FLOW_FULL,	/* flow map insert failed */
	SG_LOSS_HALFOPEN_FULL,	/* half-open map insert failed */
	SG_CNT_FLOW_NEW,
	SG_CNT_RETRANS,		/* retransmitted segments (no transition) */
	SG_CNT_SYN_RETRANS,
	SG_CNT_RST_IGNORED,	/* RST outside the window: changed nothing */
	SG_CNT_FILTERED,	/* TCP segments skipped by the -p/-4/-6/address filters */
	SG_CNT_LOCK_CONTENDED,	/* a flow stayed busy on another CPU: updated without the flag */
	SG_CNT_EGRESS_PULL_FAIL, /* TC egress: headers past the linear part could not be pulled in */
	SG_CNT_MAX,
};

/* The value of the per-CPU counter array (one entry). */
struct sg_counters {
	__u64 c[SG_CNT_MAX];
};

/* Per-CPU, per-port window of SYNs opening new flows (tracking). */
struct sg_syn_window {
	__u64 win;		/* window number: ns >> SG_SYN_WINDOW_SHIFT */
	__u32 syns;		/* SYNs opening new flows in this window */
	__u32 quiet;		/* of which not printed */
};

/* The key of sg_filter_addr (an LPM trie), one entry per -a network. */
struct sg_lpm_key {
	__u32 prefixlen;	/* 32 (family word) + address prefix */
	__u32 family;		/* 4 or 6 */
	__u32 addr[4];		/* network order, IPv4 in addr[0] */
};

/* --syn-limit (sg_limit, an LRU hash): a source prefix, the host bits zero. */
struct sg_src_key {
	__u32 family;		/* 4 or 6 */
	__u32 prefix;		/* its length */
	__u32 addr[4];		/* network order, IPv4 in addr[0] */
};

struct sg_limit_val {
	__u64 win;		/* the second these counts are of (ktime / 1e9) */
	__u32 syns;		/* SYNs this second, passed or dropped */
	__u32 pad;
	__u64 total_drops;	/* dropped since the entry was made (the stats
				 * lines name what it grew by since the last) */
};

/* --synack-cap (sg_cap, two rows of SG_CAP_SLOTS): one slot's second. */
struct sg_cap_slot {
	__u32 win;		/* the second (coarse CLOCK_MONOTONIC) */
	__u32 n;		/* SYN-ACKs asked for this second */
};

/* Event record types (the JSON "type" key). */
enum sg_event_type {
	SG_EV_STATE = 1,	/* one endpoint changed state */
	SG_EV_SYN_SUMMARY,	/* per-port SYN summary replacing per-SYN lines */
	SG_EV_COOKIE,		/* per-port cookie counts */
	SG_EV_ALERT,
	SG_EV_LOSS,
	SG_EV_STATS,
};

enum sg_alert_kind {
	SG_ALERT_SYN_FLOOD_START = 1,
	SG_ALERT_SYN_FLOOD_END,
	SG_ALERT_CLOSE_WAIT,
	SG_ALERT_TIME_WAIT,
	SG_ALERT_COOKIES_ON,	/* --mode auto switched a port to cookies */
	SG_ALERT_COOKIES_OFF,
	SG_ALERT_KINDS,		/* (the number of kinds, 0 unused) */
};

/* Flow flags (struct sg_event.flags and the flow entry). */
#define SG_F_MIDSTREAM	(1u << 0)	/* first seen already established */
#define SG_F_TFO	(1u << 1)	/* data or a Fast Open cookie in the SYN */
#define SG_F_COOKIE	(1u << 2)	/* handshake completed through our cookie */
#define SG_F_QUIET	(1u << 3)	/* opened during a SYN flood: handshake lines summarised */
#define SG_F_ALERTED	(1u << 4)	/* a CLOSE_WAIT alert was raised for this flow */

/*
 * One ring-buffer record, fixed size. Addresses are in network
 * byte order, IPv4 in addr[0]; ports in host byte order. The client is
 * always saddr/sport.
 */
struct sg_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;
	__u16 dport;
	__u8 type;		/* enum sg_event_type */
	__u8 family;		/* 4 or 6 */
	__u8 side;		/* enum sg_side */
	__u8 from;		/* enum sg_state */
	__u8 to;		/* enum sg_state */
	__u8 cause;		/* enum sg_cause */
	__u8 flags;		/* SG_F_* */
	__u8 syn_retrans;
	union {
		struct {		/* SG_EV_STATE */
			union {
				struct {	/* to ESTABLISHED (any other: as the flow has them) */
					__u32 rtt_syn_us;	/* SYN -> SYN-ACK at the interface */
					__u32 rtt_ack_us;	/* SYN-ACK -> ACK at the interface */
				};
				struct {	/* to CLOSED */
					__u32 dur_ms;	/* sg_event_has_dur(): since the handshake completed */
					__u32 pad_dur;
				};
			};
			__u8 closer;		/* SG_CLOSER_*: who closed first, how */
			__u8 twin;		/* 1: the other side too (sg_event_split()) */
			__u8 twin_from;		/* its state before */
			__u8 pad_state;
			__u32 pkts[2];		/* segments sent by client, server */
			__u32 bytes[2];		/* payload bytes sent by client, server */
		};
		struct {		/* SG_EV_SYN_SUMMARY: dport, about 1 s */
			__u32 syns;		/* SYNs that opened a flow */
			__u32 not_printed;	/* of which summarised, not printed */
		};
		struct {		/* SG_EV_COOKIE: dport, about 1 s */
			__u32 sent;		/* cookies sent (SYN-ACKs) */
			__u32 validated;	/* cookie ACKs validated */
			__u32 rejected;		/* cookie ACKs rejected (dropped) */
		};
		struct {		/* SG_EV_ALERT */
			__u32 alert;		/* enum sg_alert_kind */
			__u32 value;		/* rate or count that triggered it */
		};
		struct {		/* SG_EV_LOSS */
			__u32 counter;		/* enum sg_counter */
			__u32 lost;		/* how many since the previous loss event */
		};
	};
};

/* 1 if a state event carries dur_ms: an endpoint that had been ESTABLISHED
 * reached CLOSED (not by reuse: the flow record started over with the new
 * SYN, the old connection's times are gone). */
#define sg_event_has_dur(e)                                                     \
	((e)->type == SG_EV_STATE && (e)->to == SG_CLOSED && (e)->from >= SG_ESTABLISHED && \
	 (e)->cause != SG_CAUSE_REUSE)

/*
 * A state record may carry two transitions: with twin set, the other side
 * went from twin_from to the same state, for the same cause (and closer),
 * on the same segment, right after this one (a cookie handshake makes both
 * endpoints ESTABLISHED at once; one record costs the programs half of
 * two). Readers see two: sg_event_split() makes the first (twin cleared)
 * and the second; returns how many (1 or 2).
 */
SG_INLINE int sg_event_split(const struct sg_event *e, struct sg_event *first, struct sg_event *second)
{
	*first = *e;
	if (e->type != SG_EV_STATE || !e->twin)
		return 1;
	first->twin = 0;
	first->twin_from = 0;
	*second = *first;
	second->side = e->side == SG_SIDE_CLIENT ? SG_SIDE_SERVER : SG_SIDE_CLIENT;
	second->from = e->twin_from;
	return 2;
}

/* Who closed first, and how (struct sg_event.closer). */
enum sg_closer {
	SG_CLOSER_NONE = 0,
	SG_CLOSER_CLIENT_FIN,
	SG_CLOSER_SERVER_FIN,
	SG_CLOSER_CLIENT_RST,
	SG_CLOSER_SERVER_RST,
	SG_CLOSER_TIMEOUT,
};

#endif /* SYNGUARD_H */
