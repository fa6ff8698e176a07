/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * secret.h - --secret-file FILE: SYN-cookie keys shared by a fleet.
 *
 * FILE holds 32 random bytes (the fleet key), owned by root, mode 0600.
 * Time is cut into windows of --rotate seconds of CLOCK_REALTIME
 * (window = realtime / rotate), so every node agrees on the window's
 * number; the window's 128-bit cookie key is derived from the fleet key
 * and that number, so every node holding FILE computes the same key:
 *
 *   k0 = SipHash-2-4(K[0..15], m(w, 0)) ^ SipHash-2-4(K[16..31], m(w, 0))
 *   k1 = SipHash-2-4(K[0..15], m(w, 1)) ^ SipHash-2-4(K[16..31], m(w, 1))
 *   m(w, i) = the 48-byte message "synguard-cookie-v1\0..." (words 0-2),
 *             w (word 3), i (word 4), 0 (word 5)
 *
 * (SipHash is a PRF; the XOR of two PRFs under independent halves of the
 * fleet key is one as long as either half is secret.) The two key slots
 * of sg_ck_secrets hold window w's key in slot w & 1 (current) and window
 * w - 1's in the other: a cookie made by any node in the current or the
 * previous window validates on every node. The cookie's own time window
 * (include/sg_cookie.h) is counted on CLOCK_REALTIME too (clock_off_ns).
 * Keys are never printed or logged; the fleet key is wiped when freed.
 */
#ifndef SG_SECRET_H
#define SG_SECRET_H

#include <linux/types.h>

#include "sg_cookie.h"

#define SG_SECRET_BYTES 32

struct sg_secret;

/* Read and check FILE (regular file, owner root, mode 0600, exactly 32
 * bytes). NULL with a message on stderr naming what is wrong. */
struct sg_secret *sg_secret_open(const char *path);
void sg_secret_free(struct sg_secret *s);

/* The cookie key of window w. */
void sg_secret_derive(const struct sg_secret *s, __u64 w, struct sg_cookie_key *k);

/* Bring sg_ck_secrets up to date at realtime_ns / mono_ns (the clocks
 * now): the keys of the current and previous window, cur = w & 1, and the
 * realtime offset. Writes the map only when the window changed, the
 * offset moved by more than a millisecond, or force. 1 if written, 0 if
 * not needed, -errno. */
int sg_secret_update(struct sg_secret *s, int secrets_fd, __u32 rotate, __u64 realtime_ns, __u64 mono_ns,
		     int force);

/* The same from a fleet key in memory (tests). */
struct sg_secret *sg_secret_from_bytes(const __u8 key[SG_SECRET_BYTES]);

#endif /* SG_SECRET_H */
