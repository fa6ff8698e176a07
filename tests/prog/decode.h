/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * decode.h - independent frame decoders for the BPF_PROG_TEST_RUN tests and
 * the frame fuzzer (tests/fuzz/fuzz_frames.c). Written from the protocol
 * specifications and synguard's documented parser contract, sharing no code
 * with bpf/ or include/sg_cookie.h, so a bug there is not mirrored here:
 *
 *  - h_frame_parse(): how synguard's parser must classify a frame (TCP,
 *    other, malformed) and where its headers are: Ethernet with up to two
 *    802.1Q/802.1ad tags, IPv4 (fragments are "other"), IPv6 with up to four
 *    hop-by-hop/routing/destination/AH extension headers, a TCP header whose
 *    data offset fits both the IP length and the frame;
 *  - h_tcpopts_parse(): TCP options (RFC 9293 3.2): well-formed or not, and
 *    what a SYN offered (MSS, window scale, SACK-permitted, timestamps);
 *  - h_synack_decode(): a SYN-ACK as synguard's XDP program must send it,
 *    checksums recomputed.
 */
#ifndef SG_DECODE_H
#define SG_DECODE_H

#include <linux/types.h>

/* TCP options as a peer would read them. Known options count only at
 * their exact length (MSS 4, WS 3, SACK_PERM 2, TS 10), as Linux reads them;
 * a later copy of an option replaces an earlier one. */
struct h_tcpopts {
	int has_mss, has_ws, has_sack, has_ts, tfo;
	__u16 mss;
	__u8 ws;		/* as sent (not clamped) */
	__u32 tsval, tsecr;
	int kinds;		/* options seen (NOPs not counted) */
	int only_synack;	/* only MSS, WS, SACK_PERM, TS, NOP, EOL */
};

/* 0: well-formed (EOL ends the list; every other option but NOP has a
 * length >= 2 that fits), -1: malformed. What was read before is kept. */
int h_tcpopts_parse(const __u8 *p, __u32 len, struct h_tcpopts *o);

enum h_class { H_TCP = 0, H_OTHER, H_MALFORMED };

struct h_frame {
	int cls;		/* enum h_class */
	int vlans;		/* 802.1Q/802.1ad tags read (<= 2) */
	int family;		/* 4 or 6, 0 = not IP */
	__u32 l3, l4;		/* offsets of the IP and TCP headers */
	int plain;		/* IPv4 without options / IPv6 without extension headers */
	int exthdrs;		/* IPv6 extension headers skipped */
	__u32 ip_len;		/* IPv4 total length / IPv6 payload length, as claimed */
	__u32 tcp_hlen;		/* TCP header with options (data offset * 4) */
	int tcphdr;		/* the TCP header's first 20 bytes are in the frame */
	__u32 payload;		/* TCP payload per the IP length (may exceed the frame) */
	__u8 saddr[16], daddr[16];	/* IPv4: first 4 bytes */
	__u16 sport, dport;
	__u32 seq, ack;
	__u8 flags;
	__u16 win;
	int opts_ok;		/* h_tcpopts_parse() == 0 */
	struct h_tcpopts opts;
};

/* Classify and locate; returns r->cls. */
int h_frame_parse(const __u8 *f, __u32 len, struct h_frame *r);
/* 1 if a plain IPv4/IPv6 TCP segment (r from h_frame_parse) has a valid
 * IPv4 header checksum and a TCP checksum that is either complete or holds
 * just the pseudo-header's sum (a local sender's CHECKSUM_PARTIAL), over at
 * most 16 KiB of data: the SYNs synguard may answer. */
int h_syn_csum_ok(const __u8 *f, __u32 len, const struct h_frame *r);

/* A SYN-ACK (or any TCP segment over plain IPv4/IPv6, up to two tags). */
struct h_synack {
	int family, vlan, vlans;	/* vlan: the first tag's id */
	__u32 l3, l4;
	__u8 smac[6], dmac[6];
	__u8 saddr[16], daddr[16];
	__u16 sport, dport, win, urg;
	__u32 seq, ack;
	__u8 flags, ttl, tos;
	int df, ipid, frag, doff;
	__u32 flowlabel;		/* IPv6: traffic class and flow label */
	int has_mss, has_ts, has_ws, has_sack, bad_opt;
	__u16 mss;
	__u8 ws;
	__u32 tsval, tsecr;
	__u32 tcp_len;			/* header + payload per IP length */
	int ip_csum_ok, tcp_csum_ok;
};

/* 0 if f holds one well-formed TCP segment over IPv4 (no options) or IPv6
 * (no extension headers) whose IP length fits the frame, options well-formed
 * and only those a SYN-ACK carries; -1 otherwise. Checksums are checked and
 * reported in ip_csum_ok/tcp_csum_ok, not required. */
int h_synack_decode(const __u8 *f, __u32 len, struct h_synack *s);

#endif /* SG_DECODE_H */
