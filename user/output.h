/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * output.h - where every line synguard prints goes: an object created by
 * the loader with the output settings and passed to each module that
 * prints (no module reads them from a global). Thread-safe: the ring-buffer
 * loop and the sweeper thread write through it at once.
 */
#ifndef SG_OUTPUT_H
#define SG_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "sg_user.h"
#include "json.h"
#include "sg_metrics.h"

struct sg_out_opts {
	bool json;		/* one JSON object per line, else text */
	bool quiet;		/* no per-transition (state) lines */
	enum sg_ts_style ts;	/* text timestamps (JSON: always ISO 8601 UTC) */
};

struct sg_out;

struct sg_out *sg_out_new(FILE *f, const struct sg_out_opts *opt);
/* Writes what is left (waiting at most a second for a stalled reader),
 * says on stderr how many lines were lost, restores the descriptor. */
void sg_out_free(struct sg_out *o);
bool sg_out_json(const struct sg_out *o);

/* A tap sees every event before it is printed, from whichever thread
 * emits it; returning true keeps the event's line off the output (it is
 * counted all the same). One tap at most (ladder mode). */
typedef bool (*sg_out_tap_fn)(void *ctx, const struct sg_event *e);
void sg_out_set_tap(struct sg_out *o, sg_out_tap_fn fn, void *ctx);

/* An event (ring buffer or userspace timers): one line, counted by type. */
void sg_out_event(struct sg_out *o, const struct sg_event *e);
/* Events emitted so far of one enum sg_event_type (quiet ones included). */
__u64 sg_out_emitted(const struct sg_out *o, unsigned int type);
/* Lines lost: a stalled reader (the buffer was full), writes that failed,
 * records too long to print whole. */
__u64 sg_out_lost(struct sg_out *o);

/* What the output counted for /metrics (user/metrics.c): alerts by kind,
 * state transitions by side and new state, and the endpoints' connection
 * durations (ESTABLISHED -> CLOSED, include/sg_metrics.h buckets in ms),
 * by side. Every event that went through sg_out_event(), printed or not. */
struct sg_out_counts {
	__u64 alerts[SG_ALERT_KINDS];			/* by enum sg_alert_kind */
	__u64 transitions[2][SG_STATE_MAX];		/* [side][to] */
	__u64 dur_bucket[2][SG_DUR_BUCKETS];		/* [side][bucket] */
	__u64 dur_sum_ms[2];
};
void sg_out_counts(const struct sg_out *o, struct sg_out_counts *c);

/* Other records. JSON: begin (ts if mono_ns != 0, then type), members
 * with sg_json_*(), end writes the line. Text: sg_out_text(). */
void sg_out_record_begin(struct sg_out *o, struct sg_json *j, char *buf, size_t cap, const char *type,
			 __u64 mono_ns);
void sg_out_record_end(struct sg_out *o, struct sg_json *j);
void sg_out_text(struct sg_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The timestamp of a record at mono_ns (CLOCK_MONOTONIC), as events show it. */
int sg_out_time(const struct sg_out *o, __u64 mono_ns, char *buf, size_t len);

/* --output FILE: FILE opened for appending (created 0640), or NULL with
 * errno set. */
FILE *sg_out_open_file(const char *path);
/* Reopen path (SIGHUP, logrotate's convention: the old file was renamed):
 * what is buffered goes to the old file, the lines after it to the new
 * one, under the lock, so no line is split or lost. 0, or -errno (the
 * old file is kept). */
int sg_out_reopen(struct sg_out *o, const char *path);

void sg_out_write(struct sg_out *o, const char *line, size_t n);
void sg_out_flush(struct sg_out *o);

#endif /* SG_OUTPUT_H */
