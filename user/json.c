// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* json.c - the JSON writer (see json.h). */
#include <stdio.h>
#include <string.h>

#include "json.h"

#define ESC8(c) [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1, [c + 4] = 1, [c + 5] = 1, [c + 6] = 1, [c + 7] = 1
const unsigned char sg_json_esc[256] = { ESC8(0), ESC8(8), ESC8(16), ESC8(24), ['"'] = 1, ['\\'] = 1 };

void sg_json_put_str_esc(struct sg_json *j, const char *p)
{
	static const char hex[] = "0123456789abcdef";

	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			sg_json_put_c(j, '\\');
			sg_json_put_c(j, (char)c);
		} else if (c < 0x20) {
			sg_json_put_raw(j, "\\u00");
			sg_json_put_c(j, hex[c >> 4]);
			sg_json_put_c(j, hex[c & 15]);
		} else {
			sg_json_put_c(j, (char)c);
		}
	}
}

void sg_json_begin(struct sg_json *j, char *buf, size_t cap)
{
	j->buf = buf;
	j->cap = cap;
	j->n = 0;
	j->first = true;
	sg_json_put_c(j, '{');
}

void sg_json_double(struct sg_json *j, const char *key, double val, int prec)
{
	char tmp[64];

	sg_json_put_key(j, key);
	if (val != val || val > 1e300 || val < -1e300) {	/* no NaN or inf in JSON */
		sg_json_put_raw(j, "null");
		return;
	}
	snprintf(tmp, sizeof(tmp), "%.*f", prec, val);
	sg_json_put_raw(j, tmp);
}

void sg_json_open(struct sg_json *j, const char *key, char bracket)
{
	if (key) {
		sg_json_put_key(j, key);
	} else {
		if (!j->first)
			sg_json_put_c(j, ',');
	}
	sg_json_put_c(j, bracket);
	j->first = true;
}

void sg_json_close(struct sg_json *j, char bracket)
{
	sg_json_put_c(j, bracket);
	j->first = false;
}

int sg_json_end(struct sg_json *j)
{
	sg_json_put_c(j, '}');
	if (j->cap)
		j->buf[j->n < j->cap ? j->n : j->cap - 1] = '\0';
	return (int)j->n;
}
