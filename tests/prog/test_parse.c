// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_parse.c - the parser and packet classes: every frame, well-formed or
 * not, passes untouched in monitor mode and lands in exactly the right
 * counters.
 *
 * One table row per frame: how it is built, what is then broken in it, and
 * the counters it must move. The expected verdict and output are the same
 * for every row (XDP_PASS, the frame unchanged): that is the point.
 */
#include <string.h>
#include <bpf/bpf.h>

#include "check.h"
#include "harness.h"

/* Byte offsets in an untagged frame. */
#define ETH		14
#define IP(off)		(ETH + (off))		/* IPv4 or IPv6 header field */
#define TCP4(off)	(ETH + 20 + (off))	/* TCP after an option-less IPv4 header */

struct parse_case {
	const char *name;
	/* the frame as built: 10.0.0.2 -> 10.0.0.1 (IPv4) or fd00::2 -> fd00::1
	 * (IPv6), port 40000 -> 80, seq 1000; flags 0 means a SYN */
	int family;
	int vlan;		/* 802.1Q VLAN id, 0 untagged */
	__u8 flags;
	bool linux_opts;	/* Linux's SYN options (h_linux_syn_opts) */
	__u32 payload;
	bool hop_by_hop;	/* IPv6: an 8-byte hop-by-hop header before TCP */
	/* then broken: bytes overwritten (a zero offset ends the list) ... */
	struct {
		int off;
		__u8 val;
	} set[2];
	int cut;		/* ... and the frame cut to this length (0: not) */
	/* counters that move by one, besides 'packets' (0 = unused slot) */
	int counted[2];
};

static const struct parse_case cases[] = {
	/* TCP, well formed */
	{ "IPv4 SYN", 4, .counted = { SG_CNT_TCP, SG_CNT_SYN } },
	{ "IPv4 SYN, Linux options", 4, .linux_opts = true,
	  .counted = { SG_CNT_TCP, SG_CNT_SYN } },
	{ "IPv4 SYN-ACK", 4, .flags = SG_TCP_SYN | SG_TCP_ACK,
	  .counted = { SG_CNT_TCP, SG_CNT_SYNACK } },
	{ "IPv4 FIN-ACK", 4, .flags = SG_TCP_FIN | SG_TCP_ACK,
	  .counted = { SG_CNT_TCP, SG_CNT_FIN } },
	{ "IPv4 RST", 4, .flags = SG_TCP_RST, .counted = { SG_CNT_TCP, SG_CNT_RST } },
	{ "IPv4 data", 4, .flags = SG_TCP_ACK | SG_TCP_PSH, .payload = 100,
	  .counted = { SG_CNT_TCP } },
	{ "802.1Q VLAN 100, IPv4 SYN", 4, .vlan = 100, .counted = { SG_CNT_TCP, SG_CNT_SYN } },
	{ "IPv6 SYN", 6, .counted = { SG_CNT_TCP, SG_CNT_SYN } },
	{ "802.1Q VLAN 7, IPv6 FIN", 6, .vlan = 7, .flags = SG_TCP_FIN | SG_TCP_ACK,
	  .counted = { SG_CNT_TCP, SG_CNT_FIN } },

	/* not TCP */
	{ "IPv4 UDP", 4, .set = { { IP(9), 17 } }, .counted = { SG_CNT_OTHER } },
	{ "ARP", 4, .set = { { 12, 0x08 }, { 13, 0x06 } }, .counted = { SG_CNT_OTHER } },
	{ "IPv4 non-first fragment", 4, .set = { { IP(6), 0x00 }, { IP(7), 0x10 } },
	  .counted = { SG_CNT_OTHER } },
	{ "IPv4 first fragment (MF)", 4, .set = { { IP(6), 0x20 } }, .counted = { SG_CNT_OTHER } },
	{ "IPv6 fragment header", 6, .set = { { IP(6), 44 } }, .counted = { SG_CNT_OTHER } },
	/* an extension header the parser walks: still TCP */
	{ "IPv6 hop-by-hop + TCP SYN", 6, .hop_by_hop = true,
	  .counted = { SG_CNT_TCP, SG_CNT_SYN } },

	/* malformed: passes untouched, counted
	 * (BPF_PROG_TEST_RUN refuses XDP frames shorter than an Ethernet header) */
	{ "Ethernet header only, IPv4 missing", 4, .cut = ETH, .counted = { SG_CNT_MALFORMED } },
	{ "truncated IPv4 header", 4, .cut = ETH + 12, .counted = { SG_CNT_MALFORMED } },
	{ "IPv4 IHL 3", 4, .set = { { IP(0), 0x43 } }, .counted = { SG_CNT_MALFORMED } },
	{ "IPv4 IHL 15 beyond frame", 4, .set = { { IP(0), 0x4f } }, .cut = ETH + 40,
	  .counted = { SG_CNT_MALFORMED } },
	{ "IPv4 version 5", 4, .set = { { IP(0), 0x55 } }, .counted = { SG_CNT_MALFORMED } },
	{ "truncated TCP header", 4, .set = { { IP(3), 30 } }, .cut = ETH + 20 + 10,
	  .counted = { SG_CNT_MALFORMED } },
	{ "TCP doff 3", 4, .set = { { TCP4(12), 0x30 } }, .counted = { SG_CNT_MALFORMED } },
	/* doff 15 = 60 bytes, the frame has 40 */
	{ "TCP options overrun the frame", 4, .linux_opts = true, .set = { { TCP4(12), 0xf0 } },
	  .counted = { SG_CNT_MALFORMED } },
	{ "IPv4 total length < headers", 4, .set = { { IP(3), 24 } },
	  .counted = { SG_CNT_MALFORMED } },
	/* the SYN's 40 bytes are padded to a 60-byte frame: 46 bytes from the IP header on */
	{ "IPv4 total length 1 past the frame", 4, .set = { { IP(3), 47 } },
	  .counted = { SG_CNT_MALFORMED } },
	{ "IPv4 total length 65535, frame 60", 4, .set = { { IP(2), 0xff }, { IP(3), 0xff } },
	  .counted = { SG_CNT_MALFORMED } },
	{ "IPv4 total length to the frame's end", 4, .set = { { IP(3), 46 } },
	  .counted = { SG_CNT_TCP, SG_CNT_SYN } },
	{ "IPv6 payload length 1 past the frame", 6, .set = { { IP(5), 21 } },
	  .counted = { SG_CNT_MALFORMED } },
	{ "truncated IPv6 header", 6, .cut = ETH + 30, .counted = { SG_CNT_MALFORMED } },
	{ "IPv6 payload length < TCP header", 6, .set = { { IP(5), 8 } },
	  .counted = { SG_CNT_MALFORMED } },
	{ "VLAN tag cut short", 4, .vlan = 5, .cut = ETH + 2, .counted = { SG_CNT_MALFORMED } },
};

static const struct h_pkt base4 = {
	.family = 4, .saddr = "10.0.0.2", .daddr = "10.0.0.1",
	.sport = 40000, .dport = 80, .seq = 1000, .flags = SG_TCP_SYN,
};

static const struct h_pkt base6 = {
	.family = 6, .saddr = "fd00::2", .daddr = "fd00::1",
	.sport = 40000, .dport = 80, .seq = 1000, .flags = SG_TCP_SYN,
};

/* Insert an 8-byte hop-by-hop header (PadN) between the IPv6 header and TCP. */
static int add_hop_by_hop(__u8 *frame, int len)
{
	static const __u8 hbh[8] = { 6 /* next: TCP */, 0 /* 8 bytes */, 1, 4 /* PadN */ };
	int l4 = ETH + 40;

	memmove(frame + l4 + sizeof(hbh), frame + l4, len - l4);
	memcpy(frame + l4, hbh, sizeof(hbh));
	frame[IP(6)] = 0;		/* next header: hop-by-hop */
	frame[IP(5)] += sizeof(hbh);	/* payload length (low byte) */
	return len + sizeof(hbh);
}

static int build(const struct parse_case *c, __u8 *frame, size_t size)
{
	struct h_pkt p = c->family == 6 ? base6 : base4;
	int len;

	p.vlan = c->vlan;
	if (c->flags)
		p.flags = c->flags;
	if (c->linux_opts) {
		p.opts = h_linux_syn_opts;
		p.optlen = sizeof(h_linux_syn_opts);
	}
	p.payload = c->payload;
	len = h_build(&p, frame, size);
	if (c->hop_by_hop)
		len = add_hop_by_hop(frame, len);
	for (int i = 0; i < 2 && c->set[i].off; i++)
		frame[c->set[i].off] = c->set[i].val;
	return c->cut ? c->cut : len;
}

static void expect(struct h_ctx *h, const struct parse_case *c)
{
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX];
	__u8 frame[H_MAX_FRAME] = { 0 };
	struct h_run r;
	int len, err, extra = 0;

	len = build(c, frame, sizeof(frame));
	h_counters(h, before);
	err = h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), frame, len, &r);
	h_counters(h, after);
	/* the class counters; tracking counters (flows_new ...) are test_track's */
	for (int i = 0; i <= SG_CNT_EGRESS_TCP; i++) {
		__u64 d = after[i] - before[i];
		int want = i == SG_CNT_PACKETS || i == c->counted[0] || i == c->counted[1];

		if (d != (__u64)want)
			extra++;
	}
	CHECK(!err && r.retval == XDP_PASS && r.out_len == (__u32)len &&
		      !memcmp(r.out, frame, len) && extra == 0,
	      "%-38s XDP_PASS, unchanged, counted as %s%s%s", c->name,
	      sg_counter_name(c->counted[0]), c->counted[1] ? "+" : "",
	      c->counted[1] ? sg_counter_name(c->counted[1]) : "");
}

/* TC egress sees the host's own segments. */
static void expect_egress(struct h_ctx *h)
{
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX];
	__u8 frame[H_MAX_FRAME];
	struct h_run r;
	int len, err;

	len = h_build(&base4, frame, sizeof(frame));
	h_counters(h, before);
	err = h_run_tc(bpf_program__fd(h->skel->progs.sg_tc_egress), frame, len, &r);
	h_counters(h, after);
	CHECK(!err && r.retval == 0 /* TC_ACT_OK */ &&
		      after[SG_CNT_EGRESS] - before[SG_CNT_EGRESS] == 1 &&
		      after[SG_CNT_EGRESS_TCP] - before[SG_CNT_EGRESS_TCP] == 1 &&
		      after[SG_CNT_PACKETS] == before[SG_CNT_PACKETS],
	      "TC egress: IPv4 SYN passes, counted as egress+egress_tcp");
	/* the IP length past the frame: not TCP to us (the frame is the skb) */
	frame[IP(3)] = 47;
	h_counters(h, before);
	err = h_run_tc(bpf_program__fd(h->skel->progs.sg_tc_egress), frame, len, &r);
	h_counters(h, after);
	CHECK(!err && r.retval == 0 && after[SG_CNT_EGRESS] - before[SG_CNT_EGRESS] == 1 &&
		      after[SG_CNT_EGRESS_TCP] == before[SG_CNT_EGRESS_TCP] &&
		      after[SG_CNT_EGRESS_PULL_FAIL] == before[SG_CNT_EGRESS_PULL_FAIL] &&
		      r.out_len == (__u32)len && !memcmp(r.out, frame, len),
	      "TC egress: IPv4 total length past the frame: passes untouched, not egress_tcp");
}

void test_parse(void)
{
	struct h_ctx h;

	if (h_open(&h, NULL, NULL)) {
		CHECK(0, "load synguard.bpf.o");
		return;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect(&h, &cases[i]);
	expect_egress(&h);
	h_close(&h);
}
