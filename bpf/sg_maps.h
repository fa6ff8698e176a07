/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_maps.h - every map of synguard's BPF programs, their load-time
 * settings (.rodata) and the per-CPU counter helpers.
 *
 * One home: what the programs share with each other and with userspace
 * (which finds each map as skel->maps.<name>) is listed here, and the
 * feature headers (sg_synproxy.h, sg_track.h) hold only code. Value types
 * shared with userspace live in include/; those of BPF-only work areas
 * are defined here, next to their map.
 *
 * --pin pins the maps that hold state (user/pin.c, state_maps[]) and a
 * restart reuses them: a map added here that must survive a restart goes
 * on that list; a change to the meaning of a pinned map's contents bumps
 * SG_LAYOUT_VERSION (user/pin.h); size and type changes are caught alone.
 */
#ifndef SG_MAPS_H
#define SG_MAPS_H

#include "synguard.h"
#include "sg_settings.h"
#include "sg_flow.h"
#include "sg_cookie.h"
#include "sg_metrics.h"
#include "sg_skhint.h"

/* ---- load-time settings ---- */

/* The programs' settings (include/sg_settings.h), set by user/settings.c before load. */
const volatile struct sg_settings sg_cfg = SG_SETTINGS_DEFAULTS;

/*
 * The MSS the SYN-ACKs offer now, IPv4 and IPv6, when the interface's MTU
 * changed after load (userspace follows it, user/run.c); 0: sg_cfg's.
 */
__u16 sg_mss_live[2];

/* ---- counters and events ---- */

/* Per-CPU packet counters and drop/loss reasons, indexed by enum sg_counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_counters);
} sg_counters SEC(".maps");

/* State transitions, summaries, alerts: one fixed-size struct sg_event each. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);	/* 16 MiB: ~190k events */
} sg_events SEC(".maps");

/*
 * Wakeups of the consumer (user/run.c). By default every record that finds
 * the consumer caught up wakes it: an irq_work (a self-IPI) and a task
 * wakeup per event when it keeps up, which at 10^5-10^6 events/s cost the
 * producing CPU more than the event itself and handed the consumer one
 * record per poll. Instead (sg_rb_flags()) the first record after a quiet
 * SG_RB_WAKE_NS always wakes the consumer, at once; within that time
 * records wait, and the consumer, after a poll that found records, polls
 * again with a SG_RB_BUSY_POLL_MS timeout, twice more before it idles
 * (user/run.c: the first may return at once on the wakeup of a record it
 * already read), so no record waits longer than that for the consumer; while records keep coming, one wakeup
 * per SG_RB_WAKE_NS. sg_rb_woke: the time of the last wakeup asked for
 * (racy between CPUs by design: the worst case is one wakeup too many, or
 * a record waiting for the consumer's short poll).
 */
#define SG_RB_WAKE_NS 1000000ull	/* 1 ms; userspace's busy poll: SG_RB_BUSY_POLL_MS */
__u64 sg_rb_woke;

static __always_inline __u64 sg_rb_flags(__u64 now)
{
	if (now - sg_rb_woke < SG_RB_WAKE_NS)
		return BPF_RB_NO_WAKEUP;
	sg_rb_woke = now;
	return BPF_RB_FORCE_WAKEUP;
}

/* ---- SYN cookies (sg_synproxy.h) ---- */

/* The two cookie secrets and the current slot; written by userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_cookie_secrets);
} sg_ck_secrets SEC(".maps");

/* Per destination port: userspace's decision (flags), the listener last seen. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct sg_port_cfg);
} sg_ck_ports SEC(".maps");

/* Per-CPU cookie counts by destination port (summaries, --mode auto,
 * /metrics): the slots, and the hash that lists the ports and counts those
 * whose slot another port holds (include/sg_cookie.h, struct sg_port_slot). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_CK_SLOTS);
	__type(key, __u32);
	__type(value, struct sg_port_slot);
} sg_ck_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct sg_port_stats);
} sg_ck_stats SEC(".maps");

/*
 * Handshakes handed off whose flow the tracker does not keep (filtered out,
 * flow table full), keyed by the client's tuple and ISN: the segments
 * after the handshake's ACK still carry the cookie's ack number and must
 * reach the new socket, not be handed off again. (Tracked flows are
 * recognised by their sg_flows record.) LRU: a forgotten entry only costs
 * the TC handoff's socket lookup once the child socket exists.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sg_cookie_in);
	__type(value, __u8);
} sg_ck_handed SEC(".maps");

/* [0] != 0 once anything went into sg_ck_handed: until then (no filter,
 * a flow table with room: always, as a rule) a valid cookie ACK skips
 * that lookup. Never reset (LRU evictions are not counted); pinned with
 * sg_ck_handed (user/pin.c). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sg_ck_handed_any SEC(".maps");

/*
 * "May this tuple have a socket?" (include/sg_skhint.h): spares most SYNs
 * the kernel's socket lookup. Marked by the programs and, from
 * /proc/net/tcp*, by userspace (user/skhint.c) through its mmap.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct sg_skhint);
} sg_sk_hint SEC(".maps");

/* Per destination port: the local address a lookup last found a listener
 * for, and when (bpf/sg_synproxy.h, sg_syn_listener()). */
struct sg_listen_cache {
	__u32 ms4;		/* coarse ms of the last IPv4 listener found; 0 = none */
	__u32 ms6;
	__u32 addr4;
	__u32 addr6[4];
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct sg_listen_cache);
} sg_listen_cache SEC(".maps");

/* ---- tracking (sg_track.h) ---- */

/*
 * The flow tables are plain hash maps, not LRU: an LRU map evicts
 * silently, a full hash map refuses the insert, which is counted
 * (SG_LOSS_FLOW_FULL/HALFOPEN_FULL). The userspace sweeper frees entries as
 * their timers expire. Half-open flows live apart, so a SYN flood churns
 * sg_halfopen and never evicts established flows.
 */

/* Flows with an endpoint ESTABLISHED or beyond, per family (IPv4 under a
 * 12-byte key: include/sg_flow.h); each sized by --max-flows. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_FLOWS_DEFAULT);
	__type(key, struct sg_flow_key4);
	__type(value, struct sg_flow);
} sg_flows4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_FLOWS_DEFAULT);
	__type(key, struct sg_flow_key);
	__type(value, struct sg_flow);
} sg_flows SEC(".maps");	/* IPv6 */

/* Handshakes in progress; sized by --max-halfopen. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_HALFOPEN_DEFAULT);
	__type(key, struct sg_flow_key);
	__type(value, struct sg_flow);
} sg_halfopen SEC(".maps");

/* sg_halfopen's counting filter (include/sg_flow.h, sg_ho_count). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_ho_count);
} sg_ho_count SEC(".maps");

/* -p: the ports tracked (either side); consulted when the port filter is on. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u8);
} sg_filter_ports SEC(".maps");

/* -a: the networks tracked (either endpoint); consulted when the address filter is on. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SG_MAX_CIDRS);
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

/* Ports with a summarised (quiet) SYN window: the userspace sweeper emits
 * the last window's summary once a flood stops (no SYN rolls it over). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_QUIET_PORTS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sg_quiet_ports SEC(".maps");

/* ---- policy (sg_policy.h, sg_limit.h) ---- */

/* --syn-limit: per source prefix, this second's SYNs; resized by
 * userspace to --syn-limit-table (1 entry when off). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SG_SYN_LIMIT_TABLE_DEFAULT);
	__type(key, struct sg_src_key);
	__type(value, struct sg_limit_val);
} sg_limit SEC(".maps");

/* --synack-cap: the count-min sketch, two rows of SG_CAP_SLOTS. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SG_CAP_SLOTS);
	__type(key, __u32);
	__type(value, struct sg_cap_slot);
} sg_cap SEC(".maps");

/*
 * --deny, --allow (sg_policy.h, user/policy.c): each list is one LPM trie
 * (IPv4 and IPv6 keys in one, struct sg_lpm_key) held in the one slot of
 * an array of maps. Userspace builds a new trie whole, sized to its
 * entries, and swaps it in with one update of the slot (start, SIGHUP):
 * a packet sees the old list or the new one, never a half-filled one. An
 * empty slot matches nothing. Not pinned: each load fills its own from
 * its options before it is attached (adoption included).
 */
struct sg_pol_trie {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);		/* (each inner trie: its own size) */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sg_lpm_key);
	__type(value, __u8);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct sg_pol_trie);
} sg_deny SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct sg_pol_trie);
} sg_allow SEC(".maps");

/* ---- metrics (sg_metrics.h; --metrics) ---- */

/*
 * Handshake-half histograms by server port (key __u32; 0 = every other
 * port). A bounded set: userspace sizes the map to SG_HS_PORTS_DEFAULT + 1
 * (the first ports seen get their own entry, the program inserts them) or
 * to the -p/--ports ports + 1 and fills it (so no insert succeeds), and
 * writes the "other" entry before attaching.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SG_HS_PORTS_DEFAULT + 1);
	__type(key, __u32);
	__type(value, struct sg_hs_hist);
} sg_hs_hist SEC(".maps");

/* A zeroed histogram: the source of sg_hs_hist's new entries (too big for
 * the BPF stack). Never written. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_hs_hist);
} sg_hs_zero SEC(".maps");

/* ---- per-CPU work areas ----
 *
 * The BPF stack (512 bytes for the whole call chain) is spent by the
 * parser and the cookie path, so bulky temporaries live in one per-CPU
 * entry each. Programs do not preempt each other on one CPU, so one entry
 * per CPU is safe.
 */

union sg_optbuf {
	__u8 b[SG_SYNACK_OPT_MAX];
	__u16 w[SG_SYNACK_OPT_MAX / 2];
	__u32 d[SG_SYNACK_OPT_MAX / 4];
};

/* The sum over a SYN's data (sg_csum_data()'s bpf_loop() callback):
 * kept here, where the verifier does not follow the values from one call
 * to the next, so that it checks the callback once, not once per call. */
struct sg_csum_state {
	__u64 sum;
	__u32 off;		/* next byte to add (frame offset, even from the segment start) */
	__u32 len;		/* bytes left */
	__u32 bad;		/* the frame ended first */
	__u32 pad;
};

/* The SYN path's cookie input and SYN-ACK options. */
struct sg_ck_scratch {
	struct sg_cookie_in in;
	union sg_optbuf ob;
	__u32 cookie, isn, olen;
	struct sg_csum_state cs;
};

/* Scratch of the SYN -> SYN-ACK path (sg_sp_syn). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_ck_scratch);
} sg_ck_scratch SEC(".maps");

/* One segment, as the state machine needs it. */
struct sg_seg {
	__u64 now;
	__u32 seq, ack, len;
	__u16 window;
	__u8 flags;		/* TCP flags */
	__u8 lo;		/* the sender is the key's 'lo' endpoint */
	__u8 cookie;		/* a valid synguard cookie ACK */
	__u8 tfo;		/* a SYN's Fast Open option */
	__u16 dport;
	__u8 pad2[4];
};

/* Working space of one tracking pass. */
struct sg_track_work {
	struct sg_flow nf;		/* a new flow's record */
	struct sg_fsm_out out;
	struct sg_seg seg;
	struct sg_flow_key k;
};

/* Working space of the tracking pass that may change a flow's states (sg_track). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_track_work);
} sg_track_work SEC(".maps");

/*
 * The coarse clock, read at most once per tick per CPU (sg_tick_ns()):
 * bpf_jiffies64() is inlined by the verifier into one load, while
 * bpf_ktime_get_coarse_ns() is a call (about 15-30 ns where returns are
 * mitigated, SRSO on AMD). For what a tick or two does not move: a steady
 * segment's idle time, the cookie check (SG_COOKIE_CHECK_AHEAD_NS), the
 * time of a cookie-validated flow's start and first events.
 */
struct sg_tick_clock {
	__u64 jiffies;		/* bpf_jiffies64() when ns was read */
	__u64 ns;		/* bpf_ktime_get_coarse_ns() then */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_tick_clock);
} sg_tick_clock SEC(".maps");

/*
 * The coarse clock as of this tick: the first read in a tick calls the
 * helper, the others reuse its value. A read in the instant between the
 * tick's jiffies update and its timekeeping update keeps the previous
 * tick's time for this one: the value lags the fine clock by at most two
 * ticks (8 ms at HZ=250), as against one for the helper itself.
 */
static __always_inline __u64 sg_tick_ns(void)
{
	__u32 zero = 0;
	struct sg_tick_clock *t = bpf_map_lookup_elem(&sg_tick_clock, &zero);
	__u64 j = bpf_jiffies64();

	if (!t)
		return bpf_ktime_get_coarse_ns();
	if (t->jiffies != j) {
		t->ns = bpf_ktime_get_coarse_ns();
		t->jiffies = j;
	}
	return t->ns;
}

/* ---- counter helpers ---- */

static __always_inline struct sg_counters *sg_cnt(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sg_counters, &zero);
}

static __always_inline void sg_count(struct sg_counters *c, __u32 idx)
{
	if (c && idx < SG_CNT_MAX)
		c->c[idx]++;
}

#endif /* SG_MAPS_H */
