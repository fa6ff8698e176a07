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
#include <string.h>
#include <linux/types.h>

struct sg_json {
	char *buf;
	size_t cap;
	size_t n;	/* bytes the object takes so far (may exceed cap) */
	bool first;	/* no member written yet */
};

/* Start an object: "{". */
void sg_json_begin(struct sg_json *j, char *buf, size_t cap);
/* A number with prec decimals (rates, seconds). */
void sg_json_double(struct sg_json *j, const char *key, double val, int prec);
/* A nested array or object: "key":[ ... ] (key NULL: an element of the
 * array being written). bracket: '[' or '{', then ']' or '}' to close. */
void sg_json_open(struct sg_json *j, const char *key, char bracket);
void sg_json_close(struct sg_json *j, char bracket);
/* End the object: "}", NUL-terminated within cap. Returns its length
 * (which, if >= cap, means it was cut, as snprintf() says). */
int sg_json_end(struct sg_json *j);

/*
 * The appending itself, and the members every event has, inline: a state
 * event is a dozen members, and with the key a literal its length and copy
 * are known where it is written. (sg_json_put_*: not for callers.)
 */
static inline void sg_json_put_c(struct sg_json *j, char c)
{
	if (j->n + 1 < j->cap)
		j->buf[j->n] = c;
	j->n++;
}

/* len bytes of s: one copy when they fit (the usual case), else byte by
 * byte, as far as cap allows. */
static inline __attribute__((always_inline)) void sg_json_put_mem(struct sg_json *j, const char *s, size_t len)
{
	if (j->n + len < j->cap) {
		memcpy(j->buf + j->n, s, len);
		j->n += len;
		return;
	}
	while (len--)
		sg_json_put_c(j, *s++);
}

static inline void sg_json_put_raw(struct sg_json *j, const char *s)
{
	sg_json_put_mem(j, s, strlen(s));
}

static inline void sg_json_put_u64(struct sg_json *j, __u64 v)
{
	char tmp[21];
	int i = sizeof(tmp);

	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	sg_json_put_mem(j, tmp + i, sizeof(tmp) - i);
}

/* 1 for the characters a JSON string escapes (", \, controls) and NUL */
extern const unsigned char sg_json_esc[256];
/* the rest of put_str from the first such character (json.c) */
void sg_json_put_str_esc(struct sg_json *j, const char *p);

/* A string, quoted and escaped: ", \ and control characters. */
static inline __attribute__((always_inline)) void sg_json_put_str(struct sg_json *j, const char *s)
{
	const char *p = s;

	sg_json_put_c(j, '"');
	/* the plain run up to the first character to escape (usually all) */
	while (!sg_json_esc[(unsigned char)*p])
		p++;
	sg_json_put_mem(j, s, p - s);
	if (*p)
		sg_json_put_str_esc(j, p);
	sg_json_put_c(j, '"');
}

/* ,"key": (keys are the program's literals: nothing to escape) */
static inline __attribute__((always_inline)) void sg_json_put_key(struct sg_json *j, const char *key)
{
	size_t len = strlen(key);

	if (j->n + len + 4 < j->cap) {
		char *d = j->buf + j->n;

		if (!j->first)
			*d++ = ',';
		*d++ = '"';
		memcpy(d, key, len);
		d += len;
		*d++ = '"';
		*d++ = ':';
		j->n = d - j->buf;
		j->first = false;
		return;
	}
	if (!j->first)
		sg_json_put_c(j, ',');
	j->first = false;
	sg_json_put_c(j, '"');
	sg_json_put_mem(j, key, len);
	sg_json_put_mem(j, "\":", 2);
}

/* Members. */
static inline __attribute__((always_inline)) void sg_json_str(struct sg_json *j, const char *key, const char *val)
{
	sg_json_put_key(j, key);
	sg_json_put_str(j, val ? val : "");
}

static inline __attribute__((always_inline)) void sg_json_u64(struct sg_json *j, const char *key, __u64 val)
{
	sg_json_put_key(j, key);
	sg_json_put_u64(j, val);
}

static inline __attribute__((always_inline)) void sg_json_bool(struct sg_json *j, const char *key, bool val)
{
	sg_json_put_key(j, key);
	sg_json_put_raw(j, val ? "true" : "false");
}

/* [a,b]: per-side pairs (client, server). */
static inline __attribute__((always_inline)) void sg_json_pair(struct sg_json *j, const char *key, __u64 a, __u64 b)
{
	sg_json_put_key(j, key);
	sg_json_put_c(j, '[');
	sg_json_put_u64(j, a);
	sg_json_put_c(j, ',');
	sg_json_put_u64(j, b);
	sg_json_put_c(j, ']');
}

#endif /* SG_JSON_H */
