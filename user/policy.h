/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * policy.h - --deny and --allow (policy.c): the lists read from the
 * command line and files, built into LPM tries and swapped into the
 * programs' one-slot arrays of maps (bpf/sg_maps.h sg_deny, sg_allow;
 * the order of the policy: bpf/sg_policy.h).
 *
 * An argument is a CIDR or an address (IPv4 or IPv6; host bits are
 * cleared: 10.1.2.3/24 is 10.1.2.0/24) or @FILE: one address or CIDR per
 * line, '#' or ';' starts a comment, blank lines and surrounding blanks
 * are ignored (firehol .netset/.ipset lists, Spamhaus DROP).
 */
#ifndef SG_POLICY_USER_H
#define SG_POLICY_USER_H

#include <stddef.h>
#include <linux/types.h>

#include "synguard.h"

struct sg_out;
struct sg_policy;

enum { SG_POL_DENY_LIST = 0, SG_POL_ALLOW_LIST = 1 };

/* 0 if arg is a CIDR or @FILE with a name (the file is read later); else
 * -1 with one line in msg. */
int sg_policy_arg_check(const char *opt, const char *arg, char *msg, size_t len);

/* Read every list (main, before sg_run): NULL after one line on stderr
 * (bad usage: exit 2). */
struct sg_policy *sg_policy_new(const char *const *deny, int ndeny, const char *const *allow, int nallow);
void sg_policy_free(struct sg_policy *pol);

/* After load, before attach: build the tries of what sg_policy_new()
 * read, each sized to its entries, and put them in the slots. 0, or
 * -errno (one line on stderr). */
int sg_policy_install(struct sg_policy *pol, int deny_fd, int allow_fd);
/* One line (JSON: a "policy" record) saying what the lists hold now. */
void sg_policy_print(struct sg_policy *pol, struct sg_out *out, __u64 now);
/* SIGHUP: read the lists again, build new tries, swap them in (one map
 * update each: no packet sees a half-built list). On any failure the
 * loaded lists stay, one line says why, and it is counted. 0 or -errno. */
int sg_policy_reload(struct sg_policy *pol, struct sg_out *out, __u64 now);
/* Entries loaded now in one list; reloads that failed so far. */
__u64 sg_policy_entries(const struct sg_policy *pol, int list);
__u64 sg_policy_failed_reloads(const struct sg_policy *pol);

/* The LPM key of one line or argument (parse.c's sg_parse_cidr()): 0, or -1. */
int sg_policy_parse_key(const char *s, struct sg_lpm_key *k);
/* Read one source (a CIDR or @FILE) into *keys (grown as needed; *n
 * entries). 0, or -1 with one line in msg ("FILE:LINE: ..."). */
int sg_policy_read_source(const char *arg, struct sg_lpm_key **keys, size_t *n, size_t *cap, char *msg,
			  size_t len);
/* A new LPM trie holding keys (sorted and deduplicated in place), sized
 * to the distinct ones (*uniq; at least 1): its fd, or -errno. */
int sg_policy_build_trie(struct sg_lpm_key *keys, size_t n, size_t *uniq);

#endif /* SG_POLICY_USER_H */
