// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * anchor.c - the anchor of `make bench`'s ns/packet figures: the kernel's
 * own XDP SYN-cookie program, tools/testing/selftests/bpf/progs/
 * xdp_synproxy_kern.c (program syncookie_xdp), as built from Debian's
 * linux-source-6.12 by tests/bench/anchor_build.sh. None of its code is in
 * this repository.
 *
 * Its configuration is what its userspace (selftests/bpf/xdp_synproxy.c)
 * writes for the options the selftest runs it with (prog_tests/
 * xdp_synproxy.c: --ports 8080 --mss4 1460 --mss6 1440 --wscale 7 --ttl 64):
 *   map allowed_ports: [0] = port, [1] = 0 (terminator)
 *   map values:        [0] = mss6 << 32 | ttl << 24 | wscale << 16 | mss4
 * ([1] is its SYN-ACK counter). Its paths, per packet:
 *   SYN: conntrack lookup (bpf_xdp_ct_lookup: none), port check, IPv4 and
 *        TCP checksum check, bpf_tcp_raw_gen_syncookie_ipv4/6 (the
 *        kernel's own cookie), options parsed with bpf_loop, SYN-ACK
 *        written in place (MSS, SACK, TS, WS), checksums, two
 *        bpf_xdp_adjust_tail calls; XDP_TX.
 *   ACK: conntrack lookup (none), bpf_tcp_raw_check_syncookie_ipv4: valid
 *        -> XDP_PASS (the kernel's SYNPROXY target completes the
 *        connection later, in the stack), invalid -> XDP_DROP.
 * It tracks nothing, emits no event and hands nothing off: it is the floor
 * a stateless XDP cookie responder costs on this kernel and CPU.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "anchor.h"

#define A_XDP_DROP 1
#define A_XDP_PASS 2
#define A_XDP_TX 3

#define A_MSS4 1460ULL
#define A_MSS6 1440ULL
#define A_WSCALE 7ULL
#define A_TTL 64ULL

static int a_port;
static __u32 a_isn;

static __u32 get_be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void put_be32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static __u32 tcp_off(const __u8 *f)
{
	return f[12] == 0x86 && f[13] == 0xdd ? 14 + 40 : 14 + (f[14] & 0xf) * 4;
}

static int fail(struct anchor *a, const char *fmt, const char *arg)
{
	snprintf(a->whybuf, sizeof(a->whybuf), fmt, arg);
	a->why = a->whybuf;
	return -1;
}

/* The SYN-ACK's TSval (0 without timestamps). */
static __u32 synack_tsval(const __u8 *f, __u32 len)
{
	__u32 t = tcp_off(f), hl = (f[t + 12] >> 4) * 4, i = 20;

	while (i < hl && t + i + 1 < len) {
		__u8 k = f[t + i];

		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		if (f[t + i + 1] < 2)
			break;
		if (k == 8 && f[t + i + 1] == 10 && t + i + 6 <= len)
			return get_be32(f + t + i + 2);
		i += f[t + i + 1];
	}
	return 0;
}

const char *anchor_bad_synack(const struct h_run *r, __u32 isn)
{
	const __u8 *f = r->out;
	__u32 t;

	if (r->retval != A_XDP_TX)
		return "the verdict is not XDP_TX";
	t = tcp_off(f);
	if (r->out_len < t + 20)
		return "the output is too short";
	if ((f[t + 13] & 0x3f) != 0x12)
		return "the output is not a SYN-ACK";
	if (get_be32(f + t + 8) != isn + 1)
		return "the SYN-ACK does not acknowledge ISN + 1";
	if (h_verify_csums(f, r->out_len))
		return "a SYN-ACK checksum is wrong";
	return NULL;
}

/* The client's handshake ACK, as bench_ns builds synguard's: seq ISN + 1,
 * ack = cookie + 1, NOP NOP TS(tsval, tsecr = the SYN-ACK's TSval). */
static int build_ack(const char *saddr, __u16 sport, __u32 isn, __u32 ackno, __u32 tsval,
		     __u32 tsecr, __u8 *buf)
{
	__u8 o[12] = { 1, 1, 8, 10 };
	struct h_pkt p = {
		.family = 4, .saddr = saddr, .daddr = "10.0.0.1", .sport = sport,
		.dport = a_port, .seq = isn + 1, .ack = ackno, .flags = SG_TCP_ACK, .win = 502,
		.opts = o, .optlen = sizeof(o),
	};

	put_be32(o + 4, tsval);
	put_be32(o + 8, tsecr);
	return h_build(&p, buf, H_MAX_FRAME);
}

/* SYN through the anchor, then the ACK from its SYN-ACK; returns its length. */
static int handshake_ack(struct anchor *a, const char *saddr, __u16 sport, __u32 isn, __u32 tsval,
			 __u8 *ack, struct h_run *hr)
{
	__u8 b[H_MAX_FRAME];
	struct h_pkt p = {
		.family = 4, .saddr = saddr, .daddr = "10.0.0.1", .sport = sport, .dport = a_port,
		.seq = isn, .flags = SG_TCP_SYN, .opts = h_linux_syn_opts,
		.optlen = sizeof(h_linux_syn_opts),
	};
	int n = h_build(&p, b, sizeof(b));

	if (h_run_xdp(a->prog_fd, b, n, hr) || anchor_bad_synack(hr, isn))
		return -1;
	return build_ack(saddr, sport, isn, get_be32(hr->out + tcp_off(hr->out) + 4) + 1, tsval,
			 synack_tsval(hr->out, hr->out_len), ack);
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (!f)
		return;
	while (fgets(buf, len, f))	/* the last line */
		;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

int anchor_open(struct anchor *a, const char *path, int port,
		const __u8 *syn4, __u32 len4, const __u8 *syn6, __u32 len6,
		const __u8 *bad_ack, __u32 bad_len)
{
	char dir[512], file[600], why[320], *d;
	struct bpf_program *prog, *p;
	struct bpf_map *m_ports, *m_values;
	struct h_run *hr;
	__u64 opts = A_MSS6 << 32 | A_TTL << 24 | A_WSCALE << 16 | A_MSS4, synacks = 0;
	__u32 k0 = 0, k1 = 1;
	__u16 ports[2] = { port, 0 };
	const char *e;
	int n, err = -1;

	memset(a, 0, sizeof(*a));
	a->prog_fd = -1;
	a_port = port;
	snprintf(dir, sizeof(dir), "%s", path);
	d = dirname(dir);
	snprintf(file, sizeof(file), "%s/source", d);
	if (access(path, R_OK)) {
		snprintf(file, sizeof(file), "%s/why", d);
		read_line(file, why, sizeof(why));
		return fail(a, "%s", why[0] ? why : "the anchor was not built (tests/bench/anchor_build.sh)");
	}
	read_line(file, a->source, sizeof(a->source));

	a->obj = bpf_object__open_file(path, NULL);
	if (!a->obj)
		return fail(a, "libbpf cannot open %s", path);
	prog = bpf_object__find_program_by_name(a->obj, "syncookie_xdp");
	if (!prog)
		return fail(a, "%s has no program syncookie_xdp", path);
	bpf_object__for_each_program(p, a->obj)	/* its TC variant is not measured */
		if (p != prog)
			bpf_program__set_autoload(p, false);
	if (bpf_object__load(a->obj))
		return fail(a, "the kernel refused syncookie_xdp (%s)", strerror(errno));
	a->prog_fd = bpf_program__fd(prog);
	m_ports = bpf_object__find_map_by_name(a->obj, "allowed_ports");
	m_values = bpf_object__find_map_by_name(a->obj, "values");
	if (!m_ports || !m_values)
		return fail(a, "%s", "no allowed_ports/values map (not the selftest this bench knows)");
	for (__u32 i = 0; i < 2; i++)
		if (bpf_map_update_elem(bpf_map__fd(m_ports), &i, &ports[i], BPF_ANY))
			return fail(a, "cannot configure allowed_ports: %s", strerror(errno));
	if (bpf_map_update_elem(bpf_map__fd(m_values), &k0, &opts, BPF_ANY))
		return fail(a, "cannot configure values: %s", strerror(errno));

	/* verify it on the frames it will be timed on */
	hr = calloc(1, sizeof(*hr));
	if (!hr)
		return fail(a, "%s", "out of memory");
	if (getrandom(&a_isn, sizeof(a_isn), 0) != sizeof(a_isn))
		a_isn = 0x2468ace0;
	if (h_run_xdp(a->prog_fd, syn4, len4, hr)) {
		fail(a, "BPF_PROG_TEST_RUN failed: %s", strerror(errno));
		goto out;
	}
	if ((e = anchor_bad_synack(hr, get_be32(syn4 + tcp_off(syn4) + 4)))) {
		fail(a, "IPv4 SYN: %s", e);
		goto out;
	}
	if (h_run_xdp(a->prog_fd, syn6, len6, hr) ||
	    (e = anchor_bad_synack(hr, get_be32(syn6 + tcp_off(syn6) + 4)))) {
		fail(a, "IPv6 SYN: %s", e ? e : "BPF_PROG_TEST_RUN failed");
		goto out;
	}
	{
		__u8 ack[H_MAX_FRAME];

		n = handshake_ack(a, "10.0.0.2", 40004, a_isn, 0x12345679, ack, hr);
		if (n < 0) {
			fail(a, "%s", "the handshake's SYN was not answered");
			goto out;
		}
		if (h_run_xdp(a->prog_fd, ack, n, hr) || hr->retval != A_XDP_PASS) {
			fail(a, "%s", "an ACK with its own valid cookie is not passed");
			goto out;
		}
	}
	if (h_run_xdp(a->prog_fd, bad_ack, bad_len, hr) || hr->retval != A_XDP_DROP) {
		fail(a, "%s", "an ACK with a wrong cookie is not dropped");
		goto out;
	}
	if (bpf_map_lookup_elem(bpf_map__fd(m_values), &k1, &synacks) || synacks < 3) {
		fail(a, "%s", "its SYN-ACK counter did not count the SYN-ACKs");
		goto out;
	}
	err = 0;
out:
	free(hr);
	return err;
}

int anchor_acks(struct anchor *a, int round, int n, __u8 *buf, size_t stride, __u32 *len)
{
	struct h_run *hr = calloc(1, sizeof(*hr));

	if (!hr)
		return -1;
	for (int i = 0; i < n; i++) {
		__u32 g = (__u32)round * n + i, isn = a_isn + g * 7919;
		__u16 sport = 1024 + g % 60000;
		char sa[32];
		int l;

		snprintf(sa, sizeof(sa), "10.%u.%u.%u", 100 + (g / 60000) / 65536,
			 ((g / 60000) >> 8) & 0xff, (g / 60000) & 0xff);
		l = handshake_ack(a, sa, sport, isn, 0x1000 + g, buf + (size_t)i * stride, hr);
		if (l < 0) {
			free(hr);
			return -1;
		}
		len[i] = l;
	}
	free(hr);
	return 0;
}

void anchor_close(struct anchor *a)
{
	bpf_object__close(a->obj);
	a->obj = NULL;
	a->prog_fd = -1;
}
