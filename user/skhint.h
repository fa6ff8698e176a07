/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * skhint.h - userspace's half of the socket hint (include/sg_skhint.h):
 * every SG_SKHINT_DUMP_S seconds each TCP socket of the network namespace
 * (/proc/net/tcp, tcp6: established, request and TIME_WAIT sockets) is
 * marked in the BPF map through its mmap, then the dump's epoch is
 * published (sg_skhint.armed): the programs trust the hint only while
 * such dumps keep coming.
 */
#ifndef SG_SKHINT_USER_H
#define SG_SKHINT_USER_H

#include <linux/types.h>

struct sg_skhint_user;

/* The map (sg_sk_hint) mapped; NULL on failure (the hint stays unarmed:
 * every SYN gets its socket lookup, as without it). */
struct sg_skhint_user *sg_skhint_open(int map_fd);
/* Dump now: marks every socket, then arms. Returns the sockets marked or -errno. */
int sg_skhint_dump(struct sg_skhint_user *h);
/* From the main loop: a dump when SG_SKHINT_DUMP_S seconds have passed. */
void sg_skhint_tick(struct sg_skhint_user *h, __u64 now);
void sg_skhint_close(struct sg_skhint_user *h);

#endif /* SG_SKHINT_USER_H */
