// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * xdpgen.bpf.c - the SYN generator's XDP program. tests/tools/xdpgen.c runs
 * it with BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES,
 * as xdp-trafficgen does): the kernel hands it page-pool frames and sends
 * whatever it returns XDP_TX for out of the interface named in the run's
 * xdp_md (on a veth: straight into the peer's receive ring).
 *
 * Every frame is written whole from the template in .rodata: a page may come
 * back from the peer recycled, holding whatever was last done to it (a
 * SYN-ACK rewritten in place, say). Then a fresh source address (inside the
 * configured range), source port, ISN and TSval, and both checksums, from
 * sums userspace computed over the rest of the template.
 *
 * The fields come from a counter, not bpf_get_prandom_u32() (three calls
 * were an eighth of the generator's time): its low 32 bits times an odd
 * constant, a bijection, give the source host bits and port, so a 4-tuple
 * hardly repeats within 2^32 frames (the port range is scaled, the source
 * range may be smaller than 16 bits); a mix of that gives the ISN. The counter starts at a random seed (cfg.seed).
 *
 * --rate (cfg.gap_ns): a run before the next frame is due returns XDP_DROP
 * (nothing sent, the page recycled), so the frames leave evenly spaced
 * however fast the runs go; --count (cfg.max_frames) is enforced here too.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "csum.bpf.h"

#include "xdpgen.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile struct xg_cfg cfg = {};

/* BPF_PROG_TEST_RUN keeps a run on one CPU and xdpgen makes one run at a
 * time: plain increments */
struct xg_stats stats = {};

SEC("xdp")
int xdpgen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u8 *f = data;
	__u32 saddr, seq, r, m;
	__u16 sport;

	if (data + XG_LEN > end) {
		stats.aborted++;
		return XDP_ABORTED;
	}
	if (stats.made >= cfg.max_frames) {
		stats.held++;
		return XDP_DROP;
	}
	/* --rate: a frame every gap_ns; a run before its time sends nothing
	 * (the frame goes back to the pool), so the peer sees an even rate */
	if (cfg.gap_ns) {
		__u64 now = bpf_ktime_get_ns(), next = stats.next_ns;

		if (now < next) {
			stats.held++;
			return XDP_DROP;
		}
		if (next + XG_BURST * cfg.gap_ns < now)
			next = now - XG_BURST * cfg.gap_ns;
		stats.next_ns = next + cfg.gap_ns;
	}
#pragma clang loop unroll(full)
	for (int i = 0; i < XG_LEN / 8; i++)
		((__u64 *)f)[i] = ((const volatile __u64 *)cfg.frame)[i];
	*(__u16 *)(f + XG_LEN - 2) = *(const volatile __u16 *)(cfg.frame + XG_LEN - 2);

	m = (__u32)(cfg.seed + stats.made++) * 0x9e3779b1u;
	saddr = cfg.src_net | (bpf_htonl(m >> 16) & cfg.src_host);
	sport = bpf_htons(cfg.sport_lo + (((m & 0xffff) * (__u64)cfg.sport_span) >> 16));
	seq = (m ^ (m >> 15)) * 0x2c1b3c6du;
	seq ^= seq >> 12;
	r = seq * 0x297a2d39u;

	*(__u32 *)(f + XG_IP + 12) = saddr;
	*(__u16 *)(f + XG_TCP) = sport;
	*(__u32 *)(f + XG_TCP + 4) = seq;
	*(__u32 *)(f + XG_TSVAL) = r;	/* TSval: any value will do */
	*(__u16 *)(f + XG_IP + 10) = fold(cfg.ip_sum + halves(saddr));
	*(__u16 *)(f + XG_TCP + 16) = fold(cfg.tcp_sum + halves(saddr) + sport + halves(seq) + halves(r));
	return XDP_TX;
}
