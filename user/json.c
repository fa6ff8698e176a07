// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* json.c - the JSON writer (see json.h). */
#include <stdio.h>

#include "json.h"

static inline void put_c(struct sg_json *j, char c)
{
	if (j->n + 1 < j->cap)
		j->buf[j->n] = c;
	j->n++;
}

static inline void put_raw(struct sg_json *j, const char *s)
{
	while (*s)
		put_c(j, *s++);
}

static void put_u64(struct sg_json *j, __u64 v)
{
	char tmp[21];
	int i = sizeof(tmp);

	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (i < (int)sizeof(tmp))
		put_c(j, tmp[i++]);
}

/* A string, quoted and escaped: ", \ and control characters. */
static void put_str(struct sg_json *j, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	put_c(j, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			put_c(j, '\\');
			put_c(j, (char)c);
		} else if (c < 0x20) {
			put_raw(j, "\\u00");
			put_c(j, hex[c >> 4]);
			put_c(j, hex[c & 15]);
		} else {
			put_c(j, (char)c);
		}
	}
	put_c(j, '"');
}

static void put_key(struct sg_json *j, const char *key)
{
	if (!j->first)
		put_c(j, ',');
	j->first = false;
	put_c(j, '"');
	put_raw(j, key);
	put_raw(j, "\":");
}

void sg_json_begin(struct sg_json *j, char *buf, size_t cap)
{
	j->buf = buf;
	j->cap = cap;
	j->n = 0;
	j->first = true;
	put_c(j, '{');
}

void sg_json_str(struct sg_json *j, const char *key, const char *val)
{
	put_key(j, key);
	put_str(j, val ? val : "");
}

void sg_json_u64(struct sg_json *j, const char *key, __u64 val)
{
	put_key(j, key);
	put_u64(j, val);
}

void sg_json_bool(struct sg_json *j, const char *key, bool val)
{
	put_key(j, key);
	put_raw(j, val ? "true" : "false");
}

void sg_json_double(struct sg_json *j, const char *key, double val, int prec)
{
	char tmp[64];

	put_key(j, key);
	if (val != val || val > 1e300 || val < -1e300) {	/* no NaN or inf in JSON */
		put_raw(j, "null");
		return;
	}
	snprintf(tmp, sizeof(tmp), "%.*f", prec, val);
	put_raw(j, tmp);
}

void sg_json_pair(struct sg_json *j, const char *key, __u64 a, __u64 b)
{
	put_key(j, key);
	put_c(j, '[');
	put_u64(j, a);
	put_c(j, ',');
	put_u64(j, b);
	put_c(j, ']');
}

void sg_json_open(struct sg_json *j, const char *key, char bracket)
{
	if (key) {
		put_key(j, key);
	} else {
		if (!j->first)
			put_c(j, ',');
	}
	put_c(j, bracket);
	j->first = true;
}

void sg_json_close(struct sg_json *j, char bracket)
{
	put_c(j, bracket);
	j->first = false;
}

int sg_json_end(struct sg_json *j)
{
	put_c(j, '}');
	if (j->cap)
		j->buf[j->n < j->cap ? j->n : j->cap - 1] = '\0';
	return (int)j->n;
}
