/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_parse.h - bounded, bounds-checked parsing of Ethernet (802.1Q/802.1ad),
 * IPv4, IPv6 and TCP headers, shared by the XDP and TC programs.
 *
 * Every access is checked against data_end. Anything we do not understand is
 * classified, never dropped: the caller passes it on untouched.
 */
#ifndef SG_PARSE_H
#define SG_PARSE_H

#include "synguard.h"
#include "sg_defs.h"

#define SG_MAX_VLANS	2
#define SG_MAX_EXTHDRS	4

enum sg_parse_res {
	SG_P_TCP = 0,	/* a complete TCP header is available */
	SG_P_OTHER,	/* well-formed, but not (first-fragment) TCP: family is
			 * 4 or 6 with saddr/daddr filled if IP, else 0 */
	SG_P_MALFORMED,	/* truncated or invalid headers */
};

struct sg_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct sg_pkt {
	__u32 saddr[4];			/* network order, IPv4 in [0] */
	__u32 daddr[4];
	__u16 sport;			/* host order */
	__u16 dport;
	__u32 seq;			/* host order */
	__u32 ack;
	__u16 window;			/* raw header value */
	__u16 l3_off;			/* offset of the IP header */
	__u16 l4_off;			/* offset of the TCP header */
	__u16 tcp_hlen;			/* TCP header length incl. options */
	__u16 payload_len;		/* TCP payload bytes, from the IP length */
	__u8 family;			/* 4 or 6 */
	__u8 flags;			/* TCP flag byte */
	__u8 vlans;
	__u8 tfo;			/* a SYN's Fast Open option (set by the XDP program) */
	__u64 now;			/* the segment's time if a path read it already, else 0
					 * (the cookie ACK: one read for the check and the tracker) */
};

static __always_inline __u8 sg_tcp_flags(const struct tcphdr *tcp)
{
	return ((const __u8 *)tcp)[13];
}

/* IPv6 extension headers we skip; a fragment header (SG_IPPROTO_FRAGMENT)
 * ends TCP parsing. */
static __always_inline int sg_ipv6_is_ext(__u8 nh)
{
	return nh == SG_IPPROTO_HOPOPTS || nh == SG_IPPROTO_ROUTING ||
	       nh == SG_IPPROTO_DSTOPTS || nh == IPPROTO_AH;
}

/*
 * Parse the frame at [data, data_end). len is the whole frame's length: at
 * XDP data_end - data; at TC skb->len, which also counts what lies beyond
 * the linear part (the headers must be in it; see sg_tc_egress). The IP
 * length must fit in the frame and must cover the headers, and the TCP
 * payload length comes from it, never from the frame: a frame may carry
 * Ethernet padding (a 40-byte IPv4/TCP packet in a 60-byte frame).
 */
static __always_inline int sg_parse(void *data, void *data_end, __u32 len, struct sg_pkt *p)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__u16 proto;
	__u8 nh = 0;
	int i;

	if ((void *)(eth + 1) > data_end)
		return SG_P_MALFORMED;
	p->vlans = 0;
	p->tfo = 0;
	p->now = 0;
	p->family = 0;		/* (SG_P_OTHER: 0 unless IPv4 or IPv6) */
	proto = bpf_ntohs(eth->h_proto);

#pragma unroll
	for (i = 0; i < SG_MAX_VLANS; i++) {
		struct sg_vlan_hdr *vh;

		if (proto != SG_ETH_P_8021Q && proto != SG_ETH_P_8021AD)
			break;
		vh = data + off;
		if ((void *)(vh + 1) > data_end)
			return SG_P_MALFORMED;
		proto = bpf_ntohs(vh->proto);
		off += sizeof(*vh);
		p->vlans++;
	}
	p->l3_off = off;

	if (proto == SG_ETH_P_IP) {
		struct iphdr *ip = data + off;
		__u32 ihl, tot;

		if ((void *)(ip + 1) > data_end)
			return SG_P_MALFORMED;
		ihl = ip->ihl * 4;
		tot = bpf_ntohs(ip->tot_len);
		if (ip->version != 4 || ihl < sizeof(*ip) || tot < ihl || tot > len - off ||
		    (void *)ip + ihl > data_end)
			return SG_P_MALFORMED;
		/* the addresses even for what is not TCP: --deny drops every
		 * frame of a denied source (sg_policy.h) */
		p->family = 4;
		p->saddr[0] = ip->saddr;
		p->daddr[0] = ip->daddr;
		p->saddr[1] = p->saddr[2] = p->saddr[3] = 0;
		p->daddr[1] = p->daddr[2] = p->daddr[3] = 0;
		if (ip->protocol != IPPROTO_TCP)
			return SG_P_OTHER;
		/* Fragments: only an unfragmented datagram has a TCP header we trust. */
		if (ip->frag_off & bpf_htons(SG_IP_MF | SG_IP_OFFSET))
			return SG_P_OTHER;
		off += ihl;
		if (tot < ihl + sizeof(struct tcphdr))
			return SG_P_MALFORMED;
		p->payload_len = tot - ihl; /* minus TCP header below */
	} else if (proto == SG_ETH_P_IPV6) {
		struct ipv6hdr *ip6 = data + off;
		__u32 plen;

		if ((void *)(ip6 + 1) > data_end)
			return SG_P_MALFORMED;
		if (ip6->version != 6)
			return SG_P_MALFORMED;
		p->family = 6;
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		plen = bpf_ntohs(ip6->payload_len);
		nh = ip6->nexthdr;
		off += sizeof(*ip6);
		if (plen > len - off)
			return SG_P_MALFORMED;

#pragma unroll
		for (i = 0; i < SG_MAX_EXTHDRS; i++) {
			__u8 *ext = data + off;
			__u32 len;

			if (!sg_ipv6_is_ext(nh))
				break;
			if ((void *)(ext + 2) > data_end)
				return SG_P_MALFORMED;
			/* AH counts 4-byte words minus 2, the others 8-byte words minus 1 */
			len = nh == IPPROTO_AH ? (ext[1] + 2) * 4 : (ext[1] + 1) * 8;
			if (plen < len)
				return SG_P_MALFORMED;
			plen -= len;
			nh = ext[0];
			off += len;
		}
		if (nh != IPPROTO_TCP)
			return SG_P_OTHER; /* includes fragments and too many ext headers */
		if (plen < sizeof(struct tcphdr))
			return SG_P_MALFORMED;
		p->payload_len = plen;
	} else {
		return SG_P_OTHER;
	}

	{
		struct tcphdr *tcp = data + (off & 0xFFFF);
		__u32 hlen;

		if ((void *)(tcp + 1) > data_end)
			return SG_P_MALFORMED;
		hlen = tcp->doff * 4;
		if (hlen < sizeof(*tcp) || hlen > p->payload_len)
			return SG_P_MALFORMED;
		if ((void *)tcp + hlen > data_end)
			return SG_P_MALFORMED;
		p->l4_off = off;
		p->tcp_hlen = hlen;
		p->payload_len -= hlen;
		p->sport = bpf_ntohs(tcp->source);
		p->dport = bpf_ntohs(tcp->dest);
		p->flags = sg_tcp_flags(tcp);
		p->seq = bpf_ntohl(tcp->seq);
		p->ack = bpf_ntohl(tcp->ack_seq);
		p->window = bpf_ntohs(tcp->window);
	}
	return SG_P_TCP;
}

#endif /* SG_PARSE_H */
