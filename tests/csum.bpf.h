/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * csum.bpf.h - the ones'-complement helpers of the test generators that
 * write SYNs in BPF (tests/xdpgen.bpf.c, tests/evdrive.bpf.c): a sum of
 * 16-bit words kept unfolded in 64 bits, folded at the end.
 */
#ifndef SG_TEST_CSUM_BPF_H
#define SG_TEST_CSUM_BPF_H

/* The checksum of a sum: folded to 16 bits and complemented. */
static __always_inline __u16 fold(__u64 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* A 32-bit word's two 16-bit halves, summed. */
static __always_inline __u64 halves(__u32 v)
{
	return (v & 0xffff) + (v >> 16);
}

#endif /* SG_TEST_CSUM_BPF_H */
