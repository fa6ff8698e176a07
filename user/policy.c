// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * policy.c - --deny and --allow (policy.h): read the lists, build an LPM
 * trie per list, swap it into the programs' one-slot array of maps.
 *
 * A trie is built whole before it is swapped in, so the kernel holds the
 * old and the new one at once during a reload (twice the memory for a
 * moment); the old one is freed when the last program run that may see
 * it is over (RCU). Each new trie is sized to its distinct entries and
 * filled with BPF_MAP_UPDATE_BATCH (the kernel's generic batch: one
 * update each, in one system call per 64 Ki entries), or one update at
 * a time where a kernel refuses it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "sg_user.h"
#include "clock.h"
#include "output.h"
#include "policy.h"

#define LINE_MAX_LEN 256	/* a longer line is an error, not an address */

struct pol_list {
	const char *opt;		/* "--deny", "--allow" */
	const char *const *src;		/* the arguments, in the order given */
	int nsrc;
	int outer_fd;			/* the program's array of maps; -1 before install */
	struct sg_lpm_key *keys;	/* read, not yet built (sg_policy_new -> install) */
	size_t n, cap;
	__u64 entries;			/* distinct entries in the trie loaded now */
};

struct sg_policy {
	struct pol_list l[2];		/* [SG_POL_DENY_LIST], [SG_POL_ALLOW_LIST] */
	__u64 loads, failed;		/* successful swaps; reloads that failed */
	double secs;			/* the last load's duration */
};

int sg_policy_parse_key(const char *s, struct sg_lpm_key *k)
{
	struct sg_cidr c;

	if (sg_parse_cidr(s, &c))
		return -1;
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + c.prefix;
	k->family = c.family;
	memcpy(k->addr, c.addr, sizeof(k->addr));
	return 0;
}

int sg_policy_arg_check(const char *opt, const char *arg, char *msg, size_t len)
{
	struct sg_lpm_key k;

	if (arg[0] == '@') {
		if (!arg[1]) {
			snprintf(msg, len, "%s @FILE: no file name", opt);
			return -1;
		}
		return 0;
	}
	if (sg_policy_parse_key(arg, &k)) {
		snprintf(msg, len, "%s: invalid address or CIDR '%s' (e.g. 192.0.2.0/24, 2001:db8::/32, @FILE)",
			 opt, arg);
		return -1;
	}
	return 0;
}

static int push_key(const struct sg_lpm_key *k, struct sg_lpm_key **keys, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		struct sg_lpm_key *nk = realloc(*keys, ncap * sizeof(*nk));

		if (!nk)
			return -1;
		*keys = nk;
		*cap = ncap;
	}
	(*keys)[(*n)++] = *k;
	return 0;
}

/* One line of a list file: the entry, or nothing (blank, comment). 1: an
 * entry in *k, 0: nothing, -1: bad (msg). */
static int parse_line(char *line, struct sg_lpm_key *k, char *msg, size_t len)
{
	char *s = line, *e;

	e = s + strcspn(s, "#;");	/* a comment runs to the end of the line */
	*e = '\0';
	while (isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (!*s)
		return 0;
	if (s[strcspn(s, " \t\r\v\f")]) {
		snprintf(msg, len, "one address or CIDR per line, got '%.64s'", s);
		return -1;
	}
	if (sg_policy_parse_key(s, k)) {
		snprintf(msg, len, "invalid address or CIDR '%.64s'", s);
		return -1;
	}
	return 1;
}

int sg_policy_read_source(const char *arg, struct sg_lpm_key **keys, size_t *n, size_t *cap, char *msg,
			  size_t len)
{
	char line[LINE_MAX_LEN + 2], why[160];
	const char *path = arg + 1;
	struct sg_lpm_key k;
	unsigned long lineno = 0;
	FILE *f;
	int r = 0;

	if (arg[0] != '@') {
		if (sg_policy_parse_key(arg, &k)) {
			snprintf(msg, len, "invalid address or CIDR '%s'", arg);
			return -1;
		}
		if (push_key(&k, keys, n, cap)) {
			snprintf(msg, len, "out of memory");
			return -1;
		}
		return 0;
	}
	f = fopen(path, "re");
	if (!f) {
		snprintf(msg, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);

		lineno++;
		if (l > LINE_MAX_LEN && line[l - 1] != '\n') {
			snprintf(msg, len, "%s:%lu: line longer than %d bytes", path, lineno, LINE_MAX_LEN);
			r = -1;
			break;
		}
		r = parse_line(line, &k, why, sizeof(why));
		if (r < 0) {
			snprintf(msg, len, "%s:%lu: %s", path, lineno, why);
			break;
		}
		if (r > 0 && push_key(&k, keys, n, cap)) {
			snprintf(msg, len, "out of memory");
			r = -1;
			break;
		}
		r = 0;
	}
	if (!r && ferror(f)) {
		snprintf(msg, len, "%s: %s", path, strerror(errno));
		r = -1;
	}
	fclose(f);
	return r;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sg_lpm_key));
}

/* Sort and drop duplicates (a list may name an entry twice, several
 * lists may overlap): the trie is then sized to what it holds. */
static size_t dedup(struct sg_lpm_key *keys, size_t n)
{
	size_t i, u = 0;

	if (!n)
		return 0;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n; i++)
		if (memcmp(&keys[i], &keys[u], sizeof(*keys)))
			keys[++u] = keys[i];
	return u + 1;
}

#define BATCH 65536

int sg_policy_build_trie(struct sg_lpm_key *keys, size_t n, size_t *uniq)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	static __u8 ones[BATCH];
	size_t i = 0;
	int fd, err;

	n = dedup(keys, n);
	if (n > 0xffffffffu)
		return -E2BIG;
	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "sg_pol_trie", sizeof(struct sg_lpm_key), sizeof(__u8),
			    n ? (__u32)n : 1, &o);
	if (fd < 0)
		return -errno;
	if (!ones[0])
		memset(ones, 1, sizeof(ones));
	/* batches where the kernel has them for LPM tries (the generic
	 * one: an update each, without a system call each), else one by one */
	while (i < n) {
		__u32 cnt = n - i < BATCH ? n - i : BATCH;

		if (!bpf_map_update_batch(fd, &keys[i], ones, &cnt, NULL)) {
			i += cnt;
			continue;
		}
		err = -errno;
		if (err != -EINVAL && err != -ENOTSUP && err != -EOPNOTSUPP && err != -524 /* ENOTSUPP */)
			goto fail;
		for (; i < n; i++)
			if (bpf_map_update_elem(fd, &keys[i], ones, BPF_ANY)) {
				err = -errno;
				goto fail;
			}
	}
	if (uniq)
		*uniq = n;
	return fd;
fail:
	close(fd);
	return err;
}

/* Read every source of one list into l->keys. */
static int read_list(struct pol_list *l, char *msg, size_t len)
{
	char why[512];

	l->n = 0;
	for (int i = 0; i < l->nsrc; i++) {
		if (sg_policy_read_source(l->src[i], &l->keys, &l->n, &l->cap, why, sizeof(why))) {
			snprintf(msg, len, "%s %s: %s", l->opt, l->src[i], why);
			return -1;
		}
	}
	return 0;
}

static void drop_keys(struct sg_policy *pol)
{
	for (int i = 0; i < 2; i++) {
		free(pol->l[i].keys);
		pol->l[i].keys = NULL;
		pol->l[i].n = pol->l[i].cap = 0;
	}
}

struct sg_policy *sg_policy_new(const char *const *deny, int ndeny, const char *const *allow, int nallow)
{
	struct sg_policy *pol = calloc(1, sizeof(*pol));
	char msg[640];

	if (!pol) {
		fprintf(stderr, "synguard: out of memory\n");
		return NULL;
	}
	pol->l[SG_POL_DENY_LIST] = (struct pol_list){ .opt = "--deny", .src = deny, .nsrc = ndeny, .outer_fd = -1 };
	pol->l[SG_POL_ALLOW_LIST] = (struct pol_list){ .opt = "--allow", .src = allow, .nsrc = nallow, .outer_fd = -1 };
	for (int i = 0; i < 2; i++) {
		if (read_list(&pol->l[i], msg, sizeof(msg))) {
			fprintf(stderr, "synguard: %s\n", msg);
			sg_policy_free(pol);
			return NULL;
		}
	}
	return pol;
}

void sg_policy_free(struct sg_policy *pol)
{
	if (!pol)
		return;
	drop_keys(pol);
	free(pol);
}

/* List i's previous table (an fd held since before the swap, -1: the
 * slot was empty) back in its slot: the other list's swap failed, and a
 * reload is all or nothing. */
static void swap_back(struct sg_policy *pol, int i, int old_fd)
{
	__u32 zero = 0;

	if (old_fd < 0) {
		bpf_map_delete_elem(pol->l[i].outer_fd, &zero);
		return;
	}
	if (bpf_map_update_elem(pol->l[i].outer_fd, &zero, &old_fd, BPF_ANY))
		fprintf(stderr, "synguard: %s: cannot put the previous table back: %s\n", pol->l[i].opt,
			strerror(errno));
}

/* Build both lists' tries from the keys read, then swap them in (deny
 * first; if allow's swap fails, deny's previous table goes back). Nothing
 * is swapped unless both built. 0, or -errno (msg). */
static int build_and_swap(struct sg_policy *pol, char *msg, size_t len)
{
	int fd[2] = { -1, -1 }, old_fd[2] = { -1, -1 }, err = 0;
	size_t uniq[2] = {};
	__u32 zero = 0;
	__u64 t0 = sg_now_ns();

	for (int i = 0; i < 2; i++) {
		struct pol_list *l = &pol->l[i];

		if (!l->nsrc)
			continue;
		fd[i] = sg_policy_build_trie(l->keys, l->n, &uniq[i]);
		if (fd[i] < 0) {
			err = fd[i];
			snprintf(msg, len, "%s: cannot build a table of %zu entries: %s%s", l->opt, l->n,
				 strerror(-err), err == -ENOMEM ? " (memory limit?)" : "");
			goto out;
		}
	}
	for (int i = 0; i < 2; i++) {
		__u32 old_id = 0;

		if (fd[i] < 0)
			continue;
		/* the table in use, held open (the slot's reference is its only
		 * one): put back if the other list's swap fails */
		if (!bpf_map_lookup_elem(pol->l[i].outer_fd, &zero, &old_id) && old_id)
			old_fd[i] = bpf_map_get_fd_by_id(old_id);
		if (bpf_map_update_elem(pol->l[i].outer_fd, &zero, &fd[i], BPF_ANY)) {
			err = -errno;
			snprintf(msg, len, "%s: cannot swap the table in: %s", pol->l[i].opt, strerror(-err));
			for (int j = 0; j < i; j++)
				if (fd[j] >= 0)
					swap_back(pol, j, old_fd[j]);
			goto out;
		}
	}
	for (int i = 0; i < 2; i++)
		if (fd[i] >= 0)
			pol->l[i].entries = uniq[i];
	pol->loads++;
	pol->secs = (sg_now_ns() - t0) / 1e9;
out:
	for (int i = 0; i < 2; i++) {
		if (fd[i] >= 0)
			close(fd[i]);	/* (the slot holds the trie now) */
		if (old_fd[i] >= 0)
			close(old_fd[i]);
	}
	drop_keys(pol);
	return err;
}

int sg_policy_install(struct sg_policy *pol, int deny_fd, int allow_fd)
{
	char msg[640];
	int err;

	if (!pol)
		return 0;
	pol->l[SG_POL_DENY_LIST].outer_fd = deny_fd;
	pol->l[SG_POL_ALLOW_LIST].outer_fd = allow_fd;
	err = build_and_swap(pol, msg, sizeof(msg));
	if (err)
		fprintf(stderr, "synguard: %s\n", msg);
	return err;
}

void sg_policy_print(struct sg_policy *pol, struct sg_out *out, __u64 now)
{
	const struct pol_list *d = &pol->l[SG_POL_DENY_LIST], *a = &pol->l[SG_POL_ALLOW_LIST];

	if (sg_out_json(out)) {
		char buf[512];
		struct sg_json j;

		sg_out_record_begin(out, &j, buf, sizeof(buf), "policy", now);
		if (d->nsrc)
			sg_json_u64(&j, "deny", d->entries);
		if (a->nsrc)
			sg_json_u64(&j, "allow", a->entries);
		sg_json_double(&j, "load_s", pol->secs, 3);
		sg_json_u64(&j, "loads", pol->loads);
		sg_json_u64(&j, "failed_reloads", pol->failed);
		sg_out_record_end(out, &j);
	} else {
		char ts[40], lists[160] = "";
		int n = 0;

		if (d->nsrc)
			n += snprintf(lists + n, sizeof(lists) - n, " deny %llu entries", (unsigned long long)d->entries);
		if (a->nsrc)
			snprintf(lists + n, sizeof(lists) - n, "%s allow %llu entries", n ? "," : "",
				 (unsigned long long)a->entries);
		sg_out_time(out, now, ts, sizeof(ts));
		sg_out_text(out, "%s%spolicy:%s (%s in %.3f s)", ts, ts[0] ? " " : "", lists,
			    pol->loads > 1 ? "reloaded" : "loaded", pol->secs);
	}
	sg_out_flush(out);
}

int sg_policy_reload(struct sg_policy *pol, struct sg_out *out, __u64 now)
{
	char msg[640];
	int err = 0;

	if (!pol)
		return 0;
	for (int i = 0; i < 2 && !err; i++)
		if (read_list(&pol->l[i], msg, sizeof(msg)))
			err = -EINVAL;
	if (!err)
		err = build_and_swap(pol, msg, sizeof(msg));
	else
		drop_keys(pol);
	if (err) {
		pol->failed++;
		fprintf(stderr, "synguard: SIGHUP: %s; the lists loaded before stay (%llu failed reloads)\n", msg,
			(unsigned long long)pol->failed);
		return err;
	}
	sg_policy_print(pol, out, now);
	return 0;
}

__u64 sg_policy_entries(const struct sg_policy *pol, int list)
{
	return pol && (list == 0 || list == 1) ? pol->l[list].entries : 0;
}

__u64 sg_policy_failed_reloads(const struct sg_policy *pol)
{
	return pol ? pol->failed : 0;
}
