/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * track.h - the tracker's userspace half: BPF filters and table sizes
 * (preload/postload, stateless), and the sweeper object: timers (TIME_WAIT
 * 2MSL, half-open, idle), alerts with hysteresis (SYN flood, CLOSE_WAIT and
 * TIME_WAIT pile-ups), loss events, flow counts by state, the exit summary.
 *
 * The sweeper runs in its own thread; its tick takes "now" from the caller
 * (a fake clock in tests) and touches only the maps it was given.
 */
#ifndef SG_TRACK_USER_H
#define SG_TRACK_USER_H

#include <stdbool.h>
#include <linux/types.h>

#include "sg_user.h"
#include "json.h"

struct synguard_bpf;
struct sg_out;

int sg_track_preload(struct synguard_bpf *skel, const struct sg_config *cfg);
int sg_track_postload(struct synguard_bpf *skel, const struct sg_config *cfg);

/* The maps the sweeper reads and writes (file descriptors). */
struct sg_track_maps {
	int flows4;		/* sg_flows4: established flows, IPv4 */
	int flows;		/* sg_flows: established flows, IPv6 */
	int halfopen;		/* sg_halfopen: handshakes in progress */
	int quiet_ports;	/* ports with a summarised SYN window */
	int syn_rate;		/* per-CPU SYN windows per port */
	int counters;		/* per-CPU packet/loss counters */
	int ho_count;		/* sg_halfopen's counting filter (the sweeper lowers it) */
};

/* Flow counts of the last sweep: endpoints per state, table entries. */
struct sg_track_counts {
	__u64 states[SG_STATE_MAX];		/* both sides */
	__u64 side_states[2][SG_STATE_MAX];	/* by enum sg_side (/metrics) */
	__u64 flows, halfopen;
};

struct sg_tracker;

struct sg_tracker *sg_tracker_new(const struct sg_track_maps *maps, const struct sg_config *cfg,
				  struct sg_out *out);
/* Every ~100 ms: a sweep each 0.5 s, rates, alerts and losses each second. */
void sg_tracker_tick(struct sg_tracker *t, __u64 now);
/* The counts of the last complete sweep (safe from any thread). */
void sg_tracker_counts(struct sg_tracker *t, struct sg_track_counts *c);
/* Counts as stats-line members: JSON into j, or " flows=N ..." text. */
void sg_tracker_counts_json(struct sg_tracker *t, struct sg_json *j);
int sg_tracker_counts_text(struct sg_tracker *t, char *buf, size_t len);
/* The exit summary (track_summary). */
void sg_tracker_summary(struct sg_tracker *t);
__u64 sg_tracker_alerts(struct sg_tracker *t);
void sg_tracker_free(struct sg_tracker *t);

/* Tests: fn(arg, fd) runs after a sweep has read the table fd and before it
 * acts on what it read: the window in which BPF may change any flow. */
void sg_tracker_set_sweep_hook(struct sg_tracker *t, void (*fn)(void *arg, int fd), void *arg);

#endif /* SG_TRACK_USER_H */
