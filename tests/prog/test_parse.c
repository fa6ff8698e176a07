// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_parse.c - the parser and packet classes: every frame, well-formed or
 * not, passes untouched in monitor mode and lands in exactly the right
 * counters.
 */
#include <string.h>
#include <bpf/bpf.h>

#include "harness.h"

struct pcase {
	const char *name;
	__u8 frame[H_MAX_FRAME];
	int len;
	int cls;	/* counter expected to move by one */
	int cls2;	/* a second one (e.g. SYN also counts as TCP), or -1 */
	int cls3;
};

static void expect(struct h_ctx *h, struct pcase *c)
{
	__u64 before[SG_CNT_MAX], after[SG_CNT_MAX];
	struct h_run r;
	int err, extra = 0;

	h_counters(h, before);
	err = h_run_xdp(bpf_program__fd(h->skel->progs.sg_xdp), c->frame, c->len, &r);
	h_counters(h, after);
	/* the class counters; tracking counters (flows_new ...) are test_track's */
	for (int i = 0; i <= SG_CNT_EGRESS_TCP; i++) {
		__u64 d = after[i] - before[i];
		int want = i == SG_CNT_PACKETS || i == c->cls || i == c->cls2 || i == c->cls3;

		if (d != (__u64)want)
			extra++;
	}
	CHECK(!err && r.retval == XDP_PASS && r.out_len == (__u32)c->len &&
		      !memcmp(r.out, c->frame, c->len) && extra == 0,
	      "%-38s XDP_PASS, unchanged, counted as %s%s%s", c->name, sg_counter_name(c->cls),
	      c->cls2 >= 0 ? "+" : "", c->cls2 >= 0 ? sg_counter_name(c->cls2) : "");
}

static int mk(struct pcase *c, const char *name, struct h_pkt p, int cls, int cls2, int cls3)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->len = h_build(&p, c->frame, sizeof(c->frame));
	c->cls = cls;
	c->cls2 = cls2;
	c->cls3 = cls3;
	return c->len;
}

void test_parse(void)
{
	struct h_pkt base = { .family = 4, .saddr = "10.0.0.2", .daddr = "10.0.0.1", .sport = 40000,
			      .dport = 80, .seq = 1000, .ack = 0, .flags = SG_TCP_SYN };
	struct h_pkt b6 = base;
	struct h_ctx h;
	struct pcase c;
	struct h_pkt p;

	b6.family = 6;
	b6.saddr = "fd00::2";
	b6.daddr = "fd00::1";
	if (h_open(&h, NULL, NULL)) {
		CHECK(0, "load synguard.bpf.o");
		return;
	}

	mk(&c, "IPv4 SYN", base, SG_CNT_TCP, SG_CNT_SYN, -1);
	expect(&h, &c);
	p = base;
	p.opts = h_linux_syn_opts;
	p.optlen = 20;
	mk(&c, "IPv4 SYN, Linux options", p, SG_CNT_TCP, SG_CNT_SYN, -1);
	expect(&h, &c);
	p = base;
	p.flags = SG_TCP_SYN | SG_TCP_ACK;
	mk(&c, "IPv4 SYN-ACK", p, SG_CNT_TCP, SG_CNT_SYNACK, -1);
	expect(&h, &c);
	p.flags = SG_TCP_FIN | SG_TCP_ACK;
	mk(&c, "IPv4 FIN-ACK", p, SG_CNT_TCP, SG_CNT_FIN, -1);
	expect(&h, &c);
	p.flags = SG_TCP_RST;
	mk(&c, "IPv4 RST", p, SG_CNT_TCP, SG_CNT_RST, -1);
	expect(&h, &c);
	p.flags = SG_TCP_ACK | SG_TCP_PSH;
	p.payload = 100;
	mk(&c, "IPv4 data", p, SG_CNT_TCP, -1, -1);
	expect(&h, &c);
	p = base;
	p.vlan = 100;
	mk(&c, "802.1Q VLAN 100, IPv4 SYN", p, SG_CNT_TCP, SG_CNT_SYN, -1);
	expect(&h, &c);
	mk(&c, "IPv6 SYN", b6, SG_CNT_TCP, SG_CNT_SYN, -1);
	expect(&h, &c);
	p = b6;
	p.vlan = 7;
	p.flags = SG_TCP_FIN | SG_TCP_ACK;
	mk(&c, "802.1Q VLAN 7, IPv6 FIN", p, SG_CNT_TCP, SG_CNT_FIN, -1);
	expect(&h, &c);

	/* Not TCP: UDP, ARP, IPv4 fragment, IPv6 fragment header. */
	mk(&c, "IPv4 UDP", base, SG_CNT_OTHER, -1, -1);
	c.frame[14 + 9] = 17;
	expect(&h, &c);
	mk(&c, "ARP", base, SG_CNT_OTHER, -1, -1);
	c.frame[12] = 0x08;
	c.frame[13] = 0x06;
	expect(&h, &c);
	mk(&c, "IPv4 non-first fragment", base, SG_CNT_OTHER, -1, -1);
	c.frame[14 + 6] = 0x00;
	c.frame[14 + 7] = 0x10;
	expect(&h, &c);
	mk(&c, "IPv4 first fragment (MF)", base, SG_CNT_OTHER, -1, -1);
	c.frame[14 + 6] = 0x20;
	expect(&h, &c);
	mk(&c, "IPv6 fragment header", b6, SG_CNT_OTHER, -1, -1);
	c.frame[14 + 6] = 44;
	expect(&h, &c);
	{
		/* IPv6 with a hop-by-hop header in front of TCP: still TCP. */
		__u8 tmp[H_MAX_FRAME];
		int n = mk(&c, "IPv6 hop-by-hop + TCP SYN", b6, SG_CNT_TCP, SG_CNT_SYN, -1);

		memcpy(tmp, c.frame, n);
		memcpy(c.frame, tmp, 54);
		c.frame[14 + 6] = 0;		/* next header: hop-by-hop */
		c.frame[54] = 6;		/* hbh next: TCP */
		c.frame[55] = 0;		/* 8 bytes */
		c.frame[56] = 1;		/* PadN */
		c.frame[57] = 4;
		memset(c.frame + 58, 0, 4);
		memcpy(c.frame + 62, tmp + 54, n - 54);
		c.frame[14 + 5] += 8;		/* payload length */
		c.len = n + 8;
		expect(&h, &c);
	}

	/* Malformed: every one passes untouched and is counted. */
	/* (BPF_PROG_TEST_RUN refuses XDP frames shorter than an Ethernet header.) */
	mk(&c, "Ethernet header only, IPv4 missing", base, SG_CNT_MALFORMED, -1, -1);
	c.len = 14;
	expect(&h, &c);
	mk(&c, "truncated IPv4 header", base, SG_CNT_MALFORMED, -1, -1);
	c.len = 14 + 12;
	expect(&h, &c);
	mk(&c, "IPv4 IHL 3", base, SG_CNT_MALFORMED, -1, -1);
	c.frame[14] = 0x43;
	expect(&h, &c);
	mk(&c, "IPv4 IHL 15 beyond frame", base, SG_CNT_MALFORMED, -1, -1);
	c.frame[14] = 0x4f;
	c.len = 14 + 40;
	expect(&h, &c);
	mk(&c, "IPv4 version 5", base, SG_CNT_MALFORMED, -1, -1);
	c.frame[14] = 0x55;
	expect(&h, &c);
	mk(&c, "truncated TCP header", base, SG_CNT_MALFORMED, -1, -1);
	c.len = 14 + 20 + 10;
	c.frame[14 + 3] = 30;
	expect(&h, &c);
	mk(&c, "TCP doff 3", base, SG_CNT_MALFORMED, -1, -1);
	c.frame[14 + 20 + 12] = 0x30;
	expect(&h, &c);
	p = base;
	p.opts = h_linux_syn_opts;
	p.optlen = 20;
	mk(&c, "TCP options overrun the frame", p, SG_CNT_MALFORMED, -1, -1);
	c.frame[14 + 20 + 12] = 0xf0; /* doff 15 = 60 bytes, frame has 40 */
	expect(&h, &c);
	mk(&c, "IPv4 total length < headers", base, SG_CNT_MALFORMED, -1, -1);
	c.frame[14 + 3] = 24;
	expect(&h, &c);
	mk(&c, "truncated IPv6 header", b6, SG_CNT_MALFORMED, -1, -1);
	c.len = 14 + 30;
	expect(&h, &c);
	mk(&c, "IPv6 payload length < TCP header", b6, SG_CNT_MALFORMED, -1, -1);
	c.frame[14 + 5] = 8;
	expect(&h, &c);
	p = base;
	p.vlan = 5;
	mk(&c, "VLAN tag cut short", p, SG_CNT_MALFORMED, -1, -1);
	c.len = 16;
	expect(&h, &c);

	/* TC egress sees the host's own segments. */
	{
		__u64 before[SG_CNT_MAX], after[SG_CNT_MAX];
		struct h_run r;
		int err;

		mk(&c, "egress", base, 0, 0, 0);
		h_counters(&h, before);
		err = h_run_tc(bpf_program__fd(h.skel->progs.sg_tc_egress), c.frame, c.len, &r);
		h_counters(&h, after);
		CHECK(!err && r.retval == 0 /* TC_ACT_OK */ &&
			      after[SG_CNT_EGRESS] - before[SG_CNT_EGRESS] == 1 &&
			      after[SG_CNT_EGRESS_TCP] - before[SG_CNT_EGRESS_TCP] == 1 &&
			      after[SG_CNT_PACKETS] == before[SG_CNT_PACKETS],
		      "TC egress: IPv4 SYN passes, counted as egress+egress_tcp");
	}
	h_close(&h);
}
