/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * memout.h - an output object writing JSON lines into memory, for unit tests
 * of the modules that print: mem_out() makes it, mem_count() counts a
 * substring in what was printed, mem_clear() forgets it.
 */
#ifndef SG_MEMOUT_H
#define SG_MEMOUT_H

#include <stdio.h>
#include <string.h>

#include "output.h"

static char *mem_buf;
static size_t mem_len;
static FILE *mem_f;

static inline struct sg_out *mem_out(void)
{
	struct sg_out_opts oo = { .json = true, .ts = SG_TS_NONE };

	mem_f = open_memstream(&mem_buf, &mem_len);
	return mem_f ? sg_out_new(mem_f, &oo) : NULL;
}

static inline int mem_count(const char *needle)
{
	int n = 0;

	fflush(mem_f);
	for (const char *p = mem_buf; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static inline void mem_clear(void)
{
	static size_t seen;	/* the most the stream ever held */

	fflush(mem_f);
	if (mem_len > seen)
		seen = mem_len;
	/* all of it: after a rewind, a shorter write leaves the old tail behind */
	if (mem_buf)
		memset(mem_buf, 0, seen);
	rewind(mem_f);
	mem_len = 0;
}

static inline void mem_close(struct sg_out *o)
{
	sg_out_free(o);
	fclose(mem_f);
	free(mem_buf);
}

#endif /* SG_MEMOUT_H */
