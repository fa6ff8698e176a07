/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * cookie.h - SYN-cookie mode: setup around the BPF object's load
 * (preconditions, secret, protected ports: stateless) and the cookie
 * controller object: secret rotation every --rotate s; once a second
 * per-port cookie events and --mode auto's switch (cookies on above
 * --syn-threshold SYN/s on a port, off after AUTO_OFF_SECS below half of
 * it, then GRACE_SECS still validating ACKs without dropping; each switch
 * an alert). Its tick takes "now" from the caller (a fake clock in tests).
 */
#ifndef SG_COOKIE_USER_H
#define SG_COOKIE_USER_H

#include <stdbool.h>
#include <linux/types.h>

#include "sg_user.h"

struct synguard_bpf;
struct sg_out;

/* 1 if the running kernel has the kfunc, 0 if not, <0 if BTF is unreadable. */
int sg_cookie_kfunc_present(void);
int sg_cookie_preload(struct synguard_bpf *skel, const struct sg_config *cfg);
int sg_cookie_postload(struct synguard_bpf *skel, const struct sg_config *cfg);
/* The protected ports (--ports) into the ports map, once the programs are
 * attached: an adoption that fails before then leaves the pinned
 * instance's ports as they were. A port may briefly go without cookies
 * (the kernel answers its SYNs, with its own cookies if need be). */
int sg_cookie_ports(struct synguard_bpf *skel, const struct sg_config *cfg);
/* A fresh secret in the idle key slot of the secrets map, made current:
 * cookies of the previous slot stay valid until the next rotation. */
int sg_cookie_rotate(int secrets_fd);

struct sg_cookie_maps {
	int secrets;	/* sg_ck_secrets */
	int ports;	/* sg_ck_ports: per-port flags */
	int stats;	/* sg_ck_stats: per-CPU per-port counts, and the ports' list */
	int slots;	/* sg_ck_slots: per-CPU per-port counts, direct-mapped */
};

struct sg_port_stats;

/* A port's cookie counts summed over the CPUs: its sg_ck_stats entry and
 * the sg_ck_slots slots it holds (include/sg_cookie.h). slots_fd < 0: the
 * hash alone. 0, or -errno (-ENOENT: the port was never counted). */
int sg_port_stats_sum(int stats_fd, int slots_fd, int ncpu, __u32 port, struct sg_port_stats *out);

struct sg_cookies;

/* NULL in monitor mode (nothing to control); the functions accept NULL. */
struct sg_cookies *sg_cookies_new(const struct sg_cookie_maps *maps, const struct sg_config *cfg,
				  struct sg_out *out, __u64 now);
void sg_cookies_tick(struct sg_cookies *c, __u64 now);
/* A pinned instance adopted: its secret was last rotated at last_rotate_ns
 * (CLOCK_MONOTONIC), so a rotation due meanwhile happens at the next tick. */
void sg_cookies_resume(struct sg_cookies *c, __u64 last_rotate_ns);
/* When the secret was last rotated (or the controller made). */
__u64 sg_cookies_last_rotate(const struct sg_cookies *c);
/* Whether a port's SYNs get cookies now (safe from any thread: /metrics). */
bool sg_cookies_port_on(const struct sg_cookies *c, __u16 port);
/* The last partial second's events, then a cookie_summary per port. */
void sg_cookies_summary(struct sg_cookies *c, __u64 now);
void sg_cookies_free(struct sg_cookies *c);

#endif /* SG_COOKIE_USER_H */
