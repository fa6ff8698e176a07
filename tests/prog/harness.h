/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * harness.h - BPF_PROG_TEST_RUN test harness: frame builders with correct
 * checksums, program runners, counter and event collection; CHECK() comes
 * from tests/check.h.
 */
#ifndef SG_HARNESS_H
#define SG_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "synguard.h"
#include "sg_flow.h"
#include "sg_user.h"
#include "synguard.skel.h"

#define H_MAX_FRAME 1600
#define H_MAX_EVENTS 4096

struct h_pkt {
	int family;		/* 4 or 6 */
	int vlan;		/* 0 = untagged, else 802.1Q VLAN id */
	const char *saddr, *daddr;
	__u16 sport, dport;
	__u32 seq, ack;
	__u8 flags;		/* SG_TCP_* */
	__u16 win;		/* 0 = default 64240 */
	const __u8 *opts;	/* raw TCP options, padded to 4 bytes by the caller */
	__u32 optlen;
	__u32 payload;		/* payload bytes (filled with 'x') */
	__u8 ttl;		/* 0 = 64 */
	const __u8 *smac, *dmac; /* NULL = fixed test MACs */
};

/* Build an Ethernet frame; returns its length. Checksums are correct. */
int h_build(const struct h_pkt *p, __u8 *buf, size_t len);

/* Linux's SYN options: MSS 1460, SACK_PERM, TS (tsval, 0), NOP, WS 7. 20 bytes. */
extern const __u8 h_linux_syn_opts[20];

/* Checksum helpers for independent verification of output frames. */
__u16 h_csum_fold(__u32 sum);
__u32 h_csum_add(__u32 sum, const void *data, size_t len);
/* 0 if the IPv4 header checksum (if IPv4) and TCP checksum of frame are valid. */
int h_verify_csums(const __u8 *frame, __u32 len);

struct h_run {
	__u32 retval;
	__u32 out_len;
	__u8 out[H_MAX_FRAME];
	__u32 duration_ns;
};

int h_run_xdp(int prog_fd, const __u8 *in, __u32 len, struct h_run *r);
int h_run_tc(int prog_fd, const __u8 *in, __u32 len, struct h_run *r);

/* Loaded skeleton plus an event collector. */
struct h_ctx {
	struct synguard_bpf *skel;
	struct ring_buffer *rb;
	struct sg_event ev[H_MAX_EVENTS];
	int nev;
};

/* Open, let the caller adjust rodata (cb may be NULL), load. */
/* A listener at *port on the family's wildcard address (0: any port,
 * written back); its fd or -1. */
int h_listen(int family, __u16 *port);

int h_open(struct h_ctx *h, void (*configure)(struct synguard_bpf *skel, void *arg), void *arg);
void h_close(struct h_ctx *h);
/* Pull all pending events into h->ev (appending). */
void h_drain(struct h_ctx *h);
void h_counters(struct h_ctx *h, __u64 *c);
/* The established flow under k (sg_flows4 or sg_flows, by family): 0 and
 * its record in *v, or -1. */
int h_flow_get(struct h_ctx *h, const struct sg_flow_key *k, struct sg_flow *v);

/* Test groups, one per file. */
void test_parse(void);
void test_track(void);
void test_syncookie(void);
void test_metrics(void);
void test_fleet(void);
void test_limit(void);
void test_policy(void);

#endif /* SG_HARNESS_H */
