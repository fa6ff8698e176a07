/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * json.h - the one JSON writer: every record synguard prints as JSON
 * (state, syn_summary, cookie, alert, loss, stats, summary, start,
 * track_summary, cookie_summary) is built with it. An appender over a
 * caller's buffer: never writes past cap, and, like snprintf(), counts what
 * the whole object would take. Strings are escaped (RFC 8259); keys are the
 * program's own literals. No snprintf() on the hot path (state events come
 * by the 100,000 per second).
 */
#ifndef SG_JSON_H
#define SG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct sg_json {
	char *buf;
	size_t cap;
	size_t n;	/* bytes the object takes so far (may exceed cap) */
	bool first;	/* no member written yet */
};

/* Start an object: "{". */
void sg_json_begin(struct sg_json *j, char *buf, size_t cap);
/* Members. */
void sg_json_str(struct sg_json *j, const char *key, const char *val);
void sg_json_u64(struct sg_json *j, const char *key, __u64 val);
void sg_json_bool(struct sg_json *j, const char *key, bool val);
/* A number with prec decimals (rates, seconds). */
void sg_json_double(struct sg_json *j, const char *key, double val, int prec);
/* [a,b]: per-side pairs (client, server). */
void sg_json_pair(struct sg_json *j, const char *key, __u64 a, __u64 b);
/* A nested array or object: "key":[ ... ] (key NULL: an element of the
 * array being written). bracket: '[' or '{', then ']' or '}' to close. */
void sg_json_open(struct sg_json *j, const char *key, char bracket);
void sg_json_close(struct sg_json *j, char bracket);
/* End the object: "}", NUL-terminated within cap. Returns its length
 * (which, if >= cap, means it was cut, as snprintf() says). */
int sg_json_end(struct sg_json *j);

#endif /* SG_JSON_H */
