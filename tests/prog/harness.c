// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* harness.c - see harness.h */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "harness.h"

const __u8 h_linux_syn_opts[20] = {
	2, 4, 0x05, 0xb4,		/* MSS 1460 */
	4, 2,				/* SACK_PERM */
	8, 10, 0x12, 0x34, 0x56, 0x78,	/* TS val */
	0, 0, 0, 0,			/* TS ecr */
	1,				/* NOP */
	3, 3, 7,			/* WS 7 */
};

static const __u8 smac_default[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const __u8 dmac_default[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

__u32 h_csum_add(__u32 sum, const void *data, size_t len)
{
	const __u8 *p = data;

	while (len > 1) {
		sum += (p[0] << 8) | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += p[0] << 8;
	return sum;
}

__u16 h_csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u16 tcp_csum(int family, const __u8 *l3, const __u8 *tcp, __u32 tcplen)
{
	__u32 sum = 0;

	if (family == 4) {
		sum = h_csum_add(sum, l3 + 12, 8);
	} else {
		sum = h_csum_add(sum, l3 + 8, 32);
	}
	sum += 6 + tcplen;
	sum = h_csum_add(sum, tcp, tcplen);
	return h_csum_fold(sum);
}

int h_build(const struct h_pkt *p, __u8 *buf, size_t len)
{
	__u32 tcplen = 20 + p->optlen + p->payload, off = 0, l3;
	__u8 *tcp;

	if (p->optlen % 4 || p->optlen > 40)
		return -1;
	if (14 + 4 + 40 + tcplen > len)
		return -1;
	memset(buf, 0, len);
	memcpy(buf, p->dmac ? p->dmac : dmac_default, 6);
	memcpy(buf + 6, p->smac ? p->smac : smac_default, 6);
	off = 12;
	if (p->vlan) {
		buf[off++] = 0x81;
		buf[off++] = 0x00;
		buf[off++] = (p->vlan >> 8) & 0x0f;
		buf[off++] = p->vlan & 0xff;
	}
	if (p->family == 6) {
		buf[off++] = 0x86;
		buf[off++] = 0xdd;
	} else {
		buf[off++] = 0x08;
		buf[off++] = 0x00;
	}
	l3 = off;
	if (p->family == 6) {
		buf[off] = 0x60;
		buf[off + 4] = tcplen >> 8;
		buf[off + 5] = tcplen & 0xff;
		buf[off + 6] = 6;
		buf[off + 7] = p->ttl ? p->ttl : 64;
		if (inet_pton(AF_INET6, p->saddr, buf + off + 8) != 1 ||
		    inet_pton(AF_INET6, p->daddr, buf + off + 24) != 1)
			return -1;
		off += 40;
	} else {
		__u32 tot = 20 + tcplen;
		__u16 c;

		buf[off] = 0x45;
		buf[off + 2] = tot >> 8;
		buf[off + 3] = tot & 0xff;
		buf[off + 6] = 0x40; /* DF */
		buf[off + 8] = p->ttl ? p->ttl : 64;
		buf[off + 9] = 6;
		if (inet_pton(AF_INET, p->saddr, buf + off + 12) != 1 ||
		    inet_pton(AF_INET, p->daddr, buf + off + 16) != 1)
			return -1;
		c = h_csum_fold(h_csum_add(0, buf + off, 20));
		buf[off + 10] = c >> 8;
		buf[off + 11] = c & 0xff;
		off += 20;
	}
	tcp = buf + off;
	tcp[0] = p->sport >> 8;
	tcp[1] = p->sport & 0xff;
	tcp[2] = p->dport >> 8;
	tcp[3] = p->dport & 0xff;
	/* byte by byte: the TCP header is not 4-byte aligned behind a 14-byte
	 * Ethernet header (UBSan: misaligned store) */
	{
		__u32 seq = htonl(p->seq), ack = htonl(p->ack);
		__u16 win = htons(p->win ? p->win : 64240);

		memcpy(tcp + 4, &seq, 4);
		memcpy(tcp + 8, &ack, 4);
		memcpy(tcp + 14, &win, 2);
	}
	tcp[12] = ((20 + p->optlen) / 4) << 4;
	tcp[13] = p->flags;
	if (p->optlen)
		memcpy(tcp + 20, p->opts, p->optlen);
	memset(tcp + 20 + p->optlen, 'x', p->payload);
	{
		__u16 c = tcp_csum(p->family, buf + l3, tcp, tcplen);

		tcp[16] = c >> 8;
		tcp[17] = c & 0xff;
	}
	off += tcplen;
	/* Ethernet minimum frame (without FCS) is 60 bytes: pad like a NIC would. */
	return off < 60 ? 60 : (int)off;
}

int h_verify_csums(const __u8 *f, __u32 len)
{
	__u32 off = 12, l3, tcplen;
	__u16 proto;

	proto = f[off] << 8 | f[off + 1];
	off += 2;
	if (proto == 0x8100) {
		proto = f[off + 2] << 8 | f[off + 3];
		off += 4;
	}
	l3 = off;
	if (proto == 0x0800) {
		__u32 ihl = (f[l3] & 0xf) * 4, tot = f[l3 + 2] << 8 | f[l3 + 3];

		if (l3 + tot > len || h_csum_fold(h_csum_add(0, f + l3, ihl)) != 0)
			return -1;
		tcplen = tot - ihl;
		off = l3 + ihl;
		{
			__u32 sum = h_csum_add(0, f + l3 + 12, 8) + 6 + tcplen;

			return h_csum_fold(h_csum_add(sum, f + off, tcplen)) == 0 ? 0 : -2;
		}
	} else if (proto == 0x86dd) {
		tcplen = f[l3 + 4] << 8 | f[l3 + 5];
		off = l3 + 40;
		if (off + tcplen > len)
			return -1;
		{
			__u32 sum = h_csum_add(0, f + l3 + 8, 32) + 6 + tcplen;

			return h_csum_fold(h_csum_add(sum, f + off, tcplen)) == 0 ? 0 : -2;
		}
	}
	return -3;
}

static int run(int prog_fd, const __u8 *in, __u32 len, struct h_run *r, bool tc)
{
	struct __sk_buff skb = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .repeat = 1);
	int err;

	if (tc) {
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	}
	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err)
		return -errno;
	r->retval = o.retval;
	r->out_len = o.data_size_out;
	r->duration_ns = o.duration;
	return 0;
}

int h_run_xdp(int prog_fd, const __u8 *in, __u32 len, struct h_run *r)
{
	return run(prog_fd, in, len, r, false);
}

int h_run_tc(int prog_fd, const __u8 *in, __u32 len, struct h_run *r)
{
	return run(prog_fd, in, len, r, true);
}

static int on_ev(void *ctx, void *data, size_t len)
{
	struct h_ctx *h = ctx;
	struct sg_event a, b;
	int n;

	if (len < sizeof(struct sg_event))
		return 0;
	n = sg_event_split(data, &a, &b);	/* (a twin record: two) */
	if (h->nev < H_MAX_EVENTS)
		h->ev[h->nev++] = a;
	if (n == 2 && h->nev < H_MAX_EVENTS)
		h->ev[h->nev++] = b;
	return 0;
}

int h_open(struct h_ctx *h, void (*configure)(struct synguard_bpf *skel, void *arg), void *arg)
{
	memset(h, 0, sizeof(*h));
	h->skel = synguard_bpf__open();
	if (!h->skel)
		return -errno;
	if (configure)
		configure(h->skel, arg);
	if (synguard_bpf__load(h->skel)) {
		synguard_bpf__destroy(h->skel);
		h->skel = NULL;
		return -1;
	}
	h->rb = ring_buffer__new(bpf_map__fd(h->skel->maps.sg_events), on_ev, h, NULL);
	return h->rb ? 0 : -1;
}

void h_close(struct h_ctx *h)
{
	ring_buffer__free(h->rb);
	synguard_bpf__destroy(h->skel);
	h->rb = NULL;
	h->skel = NULL;
}

void h_drain(struct h_ctx *h)
{
	ring_buffer__consume(h->rb);
}

int h_flow_get(struct h_ctx *h, const struct sg_flow_key *k, struct sg_flow *v)
{
	struct sg_flow_key4 k4;

	if (k->family != 4)
		return bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.sg_flows), k, v) ? -1 : 0;
	sg_flow_key4_of(&k4, k);
	return bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.sg_flows4), &k4, v) ? -1 : 0;
}

void h_counters(struct h_ctx *h, __u64 *c)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sg_counters *v = calloc(ncpu, sizeof(*v));
	__u32 zero = 0;

	memset(c, 0, sizeof(__u64) * SG_CNT_MAX);
	if (v && !bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.sg_counters), &zero, v))
		for (int i = 0; i < ncpu; i++)
			for (int j = 0; j < SG_CNT_MAX; j++)
				c[j] += v[i].c[j];
	free(v);
}

/* A listening TCP socket on the wildcard address of family (IPv6 only for
 * AF_INET6) at *port; 0 picks one, written back. Returns its fd or -1. */
int h_listen(int family, __u16 *port)
{
	int fd = socket(family, SOCK_STREAM, 0), one = 1;
	struct sockaddr_storage ss = {};
	socklen_t sl;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (void *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(*port);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(*port);
		sl = sizeof(*a);
	}
	if (bind(fd, (void *)&ss, sl) || listen(fd, 128)) {
		close(fd);
		return -1;
	}
	getsockname(fd, (void *)&ss, &sl);
	*port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					 : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

