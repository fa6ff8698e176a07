/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * anchor.h - the kernel's own XDP SYN-cookie program (the BPF selftest
 * xdp_synproxy_kern.c, built by tests/bench/anchor_build.sh), loaded and
 * configured for bench_ns, which times it with its own method (one packet
 * per BPF_PROG_TEST_RUN call, the same XDP_PASS baseline, CPU and frames).
 */
#ifndef SG_BENCH_ANCHOR_H
#define SG_BENCH_ANCHOR_H

#include <stddef.h>
#include <linux/types.h>

struct bpf_object;

struct anchor {
	struct bpf_object *obj;
	int prog_fd;
	const char *why;	/* NULL: loaded, configured and verified */
	char whybuf[384];
	char source[256];	/* what it was built from (build/anchor/source) */
};

/*
 * Open PATH (the why file next to it says why it is missing), configure it as
 * the selftest's userspace does for --ports PORT --mss4 1460 --mss6 1440
 * --wscale 7 --ttl 64, load it, and verify it on bench_ns's own frames: the
 * IPv4 and IPv6 SYNs must come back as SYN-ACKs with correct checksums, an
 * ACK built from its SYN-ACK must pass, BAD_ACK (a wrong cookie) must be
 * dropped. 0 when usable; otherwise a->why says why not.
 */
int anchor_open(struct anchor *a, const char *path, int port,
		const __u8 *syn4, __u32 len4, const __u8 *syn6, __u32 len6,
		const __u8 *bad_ack, __u32 bad_len);

/*
 * N handshake-completing ACKs for a round, each of a new 4-tuple: its SYN
 * is run through the anchor (untimed) and the ACK is built from the
 * anchor's SYN-ACK, as bench_ns does for synguard. Frame i at buf + i *
 * stride, its length in len[i]. 0 ok, -1 if a SYN was not answered.
 */
int anchor_acks(struct anchor *a, int round, int n, __u8 *buf, size_t stride, __u32 *len);

void anchor_close(struct anchor *a);

struct h_run;
/* NULL if r is a correct SYN-ACK (XDP_TX, flags, ack = ISN + 1, both
 * checksums) to a SYN with ISN isn; else what is wrong. bench_ns checks
 * synguard's answers with it too. */
const char *anchor_bad_synack(const struct h_run *r, __u32 isn);

#endif /* SG_BENCH_ANCHOR_H */
