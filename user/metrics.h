/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * metrics.h - --metrics [ADDR]:PORT: /metrics for Prometheus, served by
 * libmicrohttpd from a thread of its own.
 *
 * A scrape reads only what is cheap and never waits on the loop: the
 * per-CPU counters, the per-port cookie statistics and the handshake
 * histograms (BPF maps, one lookup each), the tracker's counts of its last
 * sweep (sg_tracker_counts(): a copy under its mutex, never a walk of the
 * flow table) and the output object's atomic counts (alerts, transitions,
 * flow durations). The text is the Prometheus exposition format 0.0.4, or
 * OpenMetrics 1.0 when the scraper's Accept header asks for
 * application/openmetrics-text.
 *
 * The collection (maps, objects) and the formatting are apart: the unit
 * test formats a snapshot it made up.
 */
#ifndef SG_METRICS_USER_H
#define SG_METRICS_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>

#include "sg_user.h"
#include "sg_metrics.h"
#include "output.h"
#include "track.h"

struct synguard_bpf;
struct sg_cookies;

/* Size the handshake histogram map (before load) and write its fixed
 * entries (after): the -p/--ports ports and "other", or only "other" (the
 * first SG_HS_PORTS_DEFAULT ports seen then get their own). */
int sg_metrics_preload(struct synguard_bpf *skel, const struct sg_config *cfg);
int sg_metrics_postload(struct synguard_bpf *skel, const struct sg_config *cfg);

/* "[ADDR]:PORT", "ADDR:PORT", ":PORT" or "PORT" (ADDR defaults to
 * 127.0.0.1; IPv6 in brackets). 0, or -1 for a bad address. */
int sg_metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* Where a scrape reads (the objects outlive the server). */
struct sg_metrics_src {
	int counters;		/* sg_counters (per-CPU array) */
	int ck_stats;		/* sg_ck_stats (per-CPU hash by port) */
	int ck_slots;		/* sg_ck_slots (per-CPU array; -1: none) */
	int hs_hist;		/* sg_hs_hist (per-CPU hash by port) */
	struct sg_tracker *trk;
	struct sg_cookies *ck;	/* NULL in monitor mode */
	struct sg_out *out;
	const struct sg_config *cfg;
};

/* One scrape's numbers. */
struct sg_metrics_ck_port {
	__u32 port;
	__u64 syns, sent, valid, rejected;
	bool on;		/* cookies on for the port now */
};

struct sg_metrics_hs_port {
	__u32 port;		/* SG_HS_OTHER: every other port */
	struct sg_hs_hist h;	/* summed over the CPUs */
};

struct sg_metrics_snap {
	__u64 cnt[SG_CNT_MAX];
	__u64 lost_lines;
	struct sg_track_counts tc;
	struct sg_out_counts oc;
	__u64 max_flows, max_halfopen;
	struct sg_metrics_ck_port *ck;
	int nck;
	struct sg_metrics_hs_port *hs;
	int nhs;
};

/* Fill s from the maps and objects (s->ck, s->hs allocated: free with
 * sg_metrics_snap_free()). 0 or -errno. */
int sg_metrics_collect(const struct sg_metrics_src *src, struct sg_metrics_snap *s);
void sg_metrics_snap_free(struct sg_metrics_snap *s);

/* The exposition of s: a malloc()ed, NUL-terminated text (*len bytes), or
 * NULL when out of memory. */
char *sg_metrics_format(const struct sg_metrics_snap *s, bool openmetrics, size_t *len);
/* Content-Type of each format. */
#define SG_METRICS_CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define SG_METRICS_CT_OM "application/openmetrics-text; version=1.0.0; charset=utf-8"
/* 1 if an Accept header value asks for OpenMetrics. */
bool sg_metrics_wants_om(const char *accept);

struct sg_metrics;

/* Listen on addr ("[ADDR]:PORT") and serve /metrics from a thread of its
 * own. NULL (with a message on stderr) if the address is bad or taken. */
struct sg_metrics *sg_metrics_start(const char *addr, const struct sg_metrics_src *src);
/* The port it listens on (with PORT 0: the one the kernel chose). */
int sg_metrics_port(const struct sg_metrics *m);
void sg_metrics_stop(struct sg_metrics *m);

#endif /* SG_METRICS_USER_H */
