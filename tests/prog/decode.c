// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* decode.c - see decode.h */
#include <string.h>

#include "decode.h"

static __u16 be16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __u32 be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

int h_tcpopts_parse(const __u8 *p, __u32 len, struct h_tcpopts *o)
{
	__u32 i = 0;

	memset(o, 0, sizeof(*o));
	o->only_synack = 1;
	while (i < len) {
		__u8 kind = p[i], l;

		if (kind == 0)		/* EOL: the rest is padding */
			return 0;
		if (kind == 1) {	/* NOP */
			i++;
			continue;
		}
		if (len - i < 2)
			return -1;
		l = p[i + 1];
		if (l < 2 || l > len - i)
			return -1;
		o->kinds++;
		switch (kind) {
		case 2:
			if (l == 4) {
				o->has_mss = 1;
				o->mss = be16(p + i + 2);
			} else {
				o->only_synack = 0;
			}
			break;
		case 3:
			if (l == 3) {
				o->has_ws = 1;
				o->ws = p[i + 2];
			} else {
				o->only_synack = 0;
			}
			break;
		case 4:
			if (l == 2)
				o->has_sack = 1;
			else
				o->only_synack = 0;
			break;
		case 8:
			if (l == 10) {
				o->has_ts = 1;
				o->tsval = be32(p + i + 2);
				o->tsecr = be32(p + i + 6);
			} else {
				o->only_synack = 0;
			}
			break;
		case 34:		/* TCP Fast Open (RFC 7413) */
			o->tfo = 1;
			o->only_synack = 0;
			break;
		case 254:		/* experimental: TFO before RFC 7413 (magic 0xf989) */
			if (l >= 4 && be16(p + i + 2) == 0xf989)
				o->tfo = 1;
			o->only_synack = 0;
			break;
		default:
			o->only_synack = 0;
		}
		i += l;
	}
	return 0;
}

static int is_ext(__u8 nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 51;	/* HBH, routing, dest opts, AH */
}

int h_frame_parse(const __u8 *f, __u32 len, struct h_frame *r)
{
	__u32 off = 14, plen;
	__u16 proto;
	const __u8 *t;

	memset(r, 0, sizeof(*r));
	r->cls = H_MALFORMED;
	if (len < 14)
		return r->cls;
	proto = be16(f + 12);
	while (r->vlans < 2 && (proto == 0x8100 || proto == 0x88a8)) {
		if (off + 4 > len)
			return r->cls;
		proto = be16(f + off + 2);
		off += 4;
		r->vlans++;
	}
	r->l3 = off;
	if (proto == 0x0800) {
		__u32 ihl, tot;

		if (off + 20 > len)
			return r->cls;
		ihl = (f[off] & 0xf) * 4;
		tot = be16(f + off + 2);
		/* the IP length must fit in the frame (padding may follow it) */
		if (f[off] >> 4 != 4 || ihl < 20 || tot < ihl || tot > len - off || off + ihl > len)
			return r->cls;
		/* (the addresses also for what is not TCP, as sg_parse: --deny) */
		r->family = 4;
		memcpy(r->saddr, f + off + 12, 4);
		memcpy(r->daddr, f + off + 16, 4);
		if (f[off + 9] != 6 || (be16(f + off + 6) & 0x3fff))
			return r->cls = H_OTHER;	/* not TCP, or a fragment */
		r->plain = ihl == 20;
		r->ip_len = tot;
		if (tot < ihl + 20)
			return r->cls;
		plen = tot - ihl;
		off += ihl;
	} else if (proto == 0x86dd) {
		__u8 nh;

		if (off + 40 > len || f[off] >> 4 != 6)
			return r->cls;
		r->family = 6;
		plen = r->ip_len = be16(f + off + 4);
		nh = f[off + 6];
		memcpy(r->saddr, f + off + 8, 16);
		memcpy(r->daddr, f + off + 24, 16);
		off += 40;
		if (plen > len - off)	/* the payload length must fit in the frame */
			return r->cls;
		while (r->exthdrs < 4 && is_ext(nh)) {
			__u32 hl;

			if (off + 2 > len)
				return r->cls;
			hl = nh == 51 ? (f[off + 1] + 2) * 4u : (f[off + 1] + 1) * 8u;
			if (plen < hl)
				return r->cls;
			plen -= hl;
			nh = f[off];
			off += hl;
			r->exthdrs++;
		}
		r->plain = r->exthdrs == 0;
		if (nh != 6)
			return r->cls = H_OTHER;	/* fragment, other protocol, long chain */
		if (plen < 20)
			return r->cls;
	} else {
		return r->cls = H_OTHER;
	}
	if (off + 20 > len)
		return r->cls;
	t = f + off;
	r->tcphdr = 1;
	r->tcp_hlen = (t[12] >> 4) * 4;
	if (r->tcp_hlen < 20 || r->tcp_hlen > plen || off + r->tcp_hlen > len)
		return r->cls;
	r->l4 = off;
	r->payload = plen - r->tcp_hlen;
	r->sport = be16(t);
	r->dport = be16(t + 2);
	r->seq = be32(t + 4);
	r->ack = be32(t + 8);
	r->flags = t[13];
	r->win = be16(t + 14);
	r->opts_ok = h_tcpopts_parse(t + 20, r->tcp_hlen - 20, &r->opts) == 0;
	return r->cls = H_TCP;
}

static __u32 sum16(__u32 s, const __u8 *p, __u32 n)
{
	for (; n > 1; p += 2, n -= 2)
		s += (__u32)(p[0] << 8 | p[1]);
	if (n)
		s += (__u32)p[0] << 8;
	return s;
}

static int folds_to_zero(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

int h_synack_decode(const __u8 *f, __u32 len, struct h_synack *s)
{
	__u32 off = 12, l3, l4, tcplen, sum;
	__u16 proto;
	struct h_tcpopts o;
	const __u8 *t;

	memset(s, 0, sizeof(*s));
	if (len < 14)
		return -1;
	memcpy(s->dmac, f, 6);
	memcpy(s->smac, f + 6, 6);
	proto = be16(f + off);
	off += 2;
	while (s->vlans < 2 && (proto == 0x8100 || proto == 0x88a8)) {
		if (off + 4 > len)
			return -1;
		if (!s->vlans)
			s->vlan = be16(f + off) & 0xfff;
		proto = be16(f + off + 2);
		off += 4;
		s->vlans++;
	}
	l3 = off;
	if (proto == 0x0800) {
		s->family = 4;
		if (l3 + 20 > len || f[l3] != 0x45 || f[l3 + 9] != 6)
			return -1;
		s->tos = f[l3 + 1];
		memcpy(s->saddr, f + l3 + 12, 4);
		memcpy(s->daddr, f + l3 + 16, 4);
		s->ttl = f[l3 + 8];
		s->df = !!(f[l3 + 6] & 0x40);
		s->frag = be16(f + l3 + 6) & 0xbfff;	/* reserved bit, MF, offset */
		s->ipid = be16(f + l3 + 4);
		if (be16(f + l3 + 2) < 20)
			return -1;
		tcplen = be16(f + l3 + 2) - 20;
		l4 = l3 + 20;
		s->ip_csum_ok = folds_to_zero(sum16(0, f + l3, 20));
		sum = sum16(0, f + l3 + 12, 8);
	} else if (proto == 0x86dd) {
		s->family = 6;
		if (l3 + 40 > len || f[l3] >> 4 != 6 || f[l3 + 6] != 6)
			return -1;
		s->flowlabel = be32(f + l3) & 0x0fffffff;
		memcpy(s->saddr, f + l3 + 8, 16);
		memcpy(s->daddr, f + l3 + 24, 16);
		s->ttl = f[l3 + 7];
		tcplen = be16(f + l3 + 4);
		l4 = l3 + 40;
		s->ip_csum_ok = 1;	/* IPv6 has none */
		sum = sum16(0, f + l3 + 8, 32);
	} else {
		return -1;
	}
	s->l3 = l3;
	s->l4 = l4;
	if (tcplen < 20 || l4 + tcplen > len)
		return -1;
	s->tcp_len = tcplen;
	t = f + l4;
	s->tcp_csum_ok = folds_to_zero(sum16(sum + 6 + tcplen, t, tcplen));
	s->sport = be16(t);
	s->dport = be16(t + 2);
	s->seq = be32(t + 4);
	s->ack = be32(t + 8);
	s->doff = (t[12] >> 4) * 4;
	s->flags = t[13];
	s->win = be16(t + 14);
	s->urg = be16(t + 18);
	if (s->doff < 20 || s->doff > (int)tcplen)
		return -1;
	if (h_tcpopts_parse(t + 20, s->doff - 20, &o) || !o.only_synack) {
		s->bad_opt = 1;
		return -1;
	}
	s->has_mss = o.has_mss;
	s->mss = o.mss;
	s->has_ws = o.has_ws;
	s->ws = o.ws;
	s->has_sack = o.has_sack;
	s->has_ts = o.has_ts;
	s->tsval = o.tsval;
	s->tsecr = o.tsecr;
	return 0;
}

/* One's-complement sum of n bytes at p in network order (odd: zero pad). */
static __u32 ocsum(const __u8 *p, __u32 n, __u32 sum)
{
	for (__u32 i = 0; i + 1 < n; i += 2)
		sum += (__u32)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (__u32)p[n - 1] << 8;
	return sum;
}

static __u16 ofold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

int h_syn_csum_ok(const __u8 *f, __u32 len, const struct h_frame *r)
{
	__u32 tcplen = r->tcp_hlen + r->payload, pseudo;

	if (!r->plain || r->payload > 16384 || r->l4 + tcplen > len)
		return 0;
	if (r->family == 4) {
		if (ofold(ocsum(f + r->l3, 20, 0)) != 0xffff)
			return 0;
		pseudo = ocsum(r->saddr, 4, ocsum(r->daddr, 4, 0));
	} else {
		pseudo = ocsum(r->saddr, 16, ocsum(r->daddr, 16, 0));
	}
	pseudo += 6 + tcplen;
	if (ofold(ocsum(f + r->l4, tcplen, pseudo)) == 0xffff)
		return 1;
	return be16(f + r->l4 + 16) == ofold(pseudo);	/* CHECKSUM_PARTIAL */
}
