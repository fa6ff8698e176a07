// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * limit.c - userspace of --syn-limit and --synack-cap (see limit.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"
#include "json.h"
#include "limit.h"
#include "synguard.skel.h"

int sg_limit_preload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	bool cap = cfg->synack_cap && cfg->mode != SG_MODE_MONITOR;

	if (bpf_map__set_max_entries(skel->maps.sg_limit, cfg->syn_limit ? cfg->syn_limit_table : 1) ||
	    bpf_map__set_max_entries(skel->maps.sg_cap, cap ? 2 * SG_CAP_SLOTS : 2)) {
		fprintf(stderr, "synguard: cannot size the SYN limit's tables\n");
		return -1;
	}
	return 0;
}

/* Keep top[] sorted, most drops first. */
static void top_insert(struct sg_limited *top, int *n, int max, const struct sg_src_key *k, __u64 drops)
{
	int i;

	if (*n == max && top[max - 1].drops >= drops)
		return;
	i = *n < max ? (*n)++ : max - 1;
	for (; i > 0 && top[i - 1].drops < drops; i--)
		top[i] = top[i - 1];
	top[i].key = *k;
	top[i].drops = drops;
}

#define BATCH 4096

/* The totals of the last stats line's scan, sorted by key. */
struct sg_limit_hist {
	struct sg_limited *seen;
	size_t n, cap;
};

struct sg_limit_hist *sg_limit_hist_new(void)
{
	return calloc(1, sizeof(struct sg_limit_hist));
}

void sg_limit_hist_free(struct sg_limit_hist *h)
{
	if (h)
		free(h->seen);
	free(h);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct sg_limited *)a)->key, &((const struct sg_limited *)b)->key,
		      sizeof(struct sg_src_key));
}

/* Drops since the previous scan: a source not in it, or whose entry was
 * evicted and made again (its total went down), counts whole. */
static __u64 since_last(const struct sg_limit_hist *h, const struct sg_src_key *k, __u64 total)
{
	struct sg_limited want = { .key = *k }, *was;

	was = h->n ? bsearch(&want, h->seen, h->n, sizeof(*h->seen), key_cmp) : NULL;
	return was && was->drops <= total ? total - was->drops : total;
}

static int remember(struct sg_limit_hist *h, const struct sg_src_key *k, __u64 total)
{
	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 64;
		struct sg_limited *nv = realloc(h->seen, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		h->seen = nv;
		h->cap = nc;
	}
	h->seen[h->n].key = *k;
	h->seen[h->n++].drops = total;
	return 0;
}

int sg_limit_top(int map_fd, struct sg_limit_hist *since, struct sg_limited *top, int max)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	struct sg_src_key *keys = calloc(BATCH, sizeof(*keys));
	struct sg_limit_val *vals = calloc(BATCH, sizeof(*vals));
	struct sg_limit_hist now = {};	/* this scan's totals: since's next */
	__u32 in = 0, out = 0, cnt;
	bool first = true;
	int n = 0, err = 0;
	__u64 d;

	if (!keys || !vals || max <= 0) {
		free(keys);
		free(vals);
		return max <= 0 ? 0 : -ENOMEM;
	}
	for (;;) {
		cnt = BATCH;
		err = bpf_map_lookup_batch(map_fd, first ? NULL : &in, &out, keys, vals, &cnt, &o);
		if (err && errno != ENOENT) {
			err = -errno;
			break;
		}
		for (__u32 i = 0; i < cnt; i++) {
			if (!vals[i].total_drops)
				continue;
			d = since ? since_last(since, &keys[i], vals[i].total_drops) : vals[i].total_drops;
			if (d)
				top_insert(top, &n, max, &keys[i], d);
			if (since && remember(&now, &keys[i], vals[i].total_drops)) {
				err = -ENOMEM;
				break;
			}
		}
		if (err == -ENOMEM)
			break;
		if (err) {	/* ENOENT: that was the last batch */
			err = 0;
			break;
		}
		in = out;
		first = false;
	}
	free(keys);
	free(vals);
	if (since && !err) {
		qsort(now.seen, now.n, sizeof(*now.seen), key_cmp);
		free(since->seen);
		*since = now;
	} else {
		free(now.seen);
	}
	return err ? err : n;
}

static void prefix_str(const struct sg_src_key *k, char *buf, size_t len)
{
	char a[64];

	sg_format_addr((__u8)k->family, k->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, k->prefix);
}

int sg_limit_text(const struct sg_limited *top, int n, char *buf, size_t len)
{
	size_t w = 0;
	char p[80];

	if (len)
		buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		prefix_str(&top[i].key, p, sizeof(p));
		w += snprintf(buf + (w < len ? w : len), w < len ? len - w : 0, "%s%s:%llu",
			      i ? "," : " limited=", p, (unsigned long long)top[i].drops);
	}
	return (int)w;
}

void sg_limit_json(struct sg_json *j, const struct sg_limited *top, int n)
{
	char p[80];

	sg_json_open(j, "limited", '[');
	for (int i = 0; i < n; i++) {
		prefix_str(&top[i].key, p, sizeof(p));
		sg_json_open(j, NULL, '{');
		sg_json_str(j, "source", p);
		sg_json_u64(j, "drops", top[i].drops);
		sg_json_close(j, '}');
	}
	sg_json_close(j, ']');
}
