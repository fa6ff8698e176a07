/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * rawsend.c - send a few hand-made TCP segments on an interface, for tests
 * that need frames no socket makes: a wrong checksum, or an skb whose
 * linear part is the Ethernet header alone.
 *
 * The frame (Ethernet + IPv4/IPv6 + TCP, no options, --payload bytes of
 * 'x') goes out through a PACKET_TX_RING of an AF_PACKET socket bound to
 * the interface, through the qdisc layer (so TC egress sees it). The
 * kernel builds such an skb with only the link-layer header (14 bytes) in
 * its linear part and the rest in page fragments, as a driver with a short
 * head or another program's work could leave it; on the receiving side it
 * is a normal frame.
 *
 * Safety: refuses to run in the initial network namespace (start it with
 * `ip netns exec NS rawsend ...`); at most 100 frames.
 *
 * Exit status: 0 sent, 1 runtime failure, 2 usage error / refusal.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_COUNT	100
#define MAX_PAYLOAD	1400
#define FRAME_SIZE	2048	/* one ring slot: header + frame */
#define PROC_NET_INIT_INO 0xEFFFFFF9U	/* init_net's namespace inode (fixed since 3.8) */

static void usage(FILE *f, const char *me)
{
	fprintf(f,
		"usage: ip netns exec NS %s -i IFACE --src ADDR --dst ADDR --sport P --dport P\n"
		"          [--flags SAFRP] [--seq N] [--ack N] [--payload N] [--dst-mac MAC]\n"
		"          [--bad-csum] [--count N]\n"
		"Sends --count (default 1, at most %d) TCP segments through a TX ring: the skb's\n"
		"linear part is the Ethernet header only. --flags: S(YN) A(CK) F(IN) R(ST) P(SH),\n"
		"default S. --bad-csum: the TCP checksum is off by one bit. --payload at most %d.\n",
		me, MAX_COUNT, MAX_PAYLOAD);
}

static __u32 sum16(__u32 s, const __u8 *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		s += p[0] << 8 | p[1];
	if (n)
		s += p[0] << 8;
	return s;
}

static __u16 fold(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

static int parse_mac(const char *s, __u8 *m)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "iface", required_argument, NULL, 'i' }, { "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },   { "sport", required_argument, NULL, 'S' },
		{ "dport", required_argument, NULL, 'D' }, { "flags", required_argument, NULL, 'f' },
		{ "seq", required_argument, NULL, 'q' },   { "ack", required_argument, NULL, 'a' },
		{ "payload", required_argument, NULL, 'p' }, { "dst-mac", required_argument, NULL, 'm' },
		{ "bad-csum", no_argument, NULL, 'b' },    { "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },        { 0 }
	};
	const char *ifname = NULL, *src = NULL, *dst = NULL, *flags = "S";
	unsigned long sport = 0, dport = 0, seq = 1, ack = 0, payload = 0, count = 1;
	__u8 dmac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, smac[6], frame[FRAME_SIZE], *t, tf = 0;
	int bad = 0, family, fd, c, ifindex;
	__u32 l3 = 14, l4, len, tcplen, sum;
	struct tpacket_req req = { .tp_block_size = 4096, .tp_block_nr = 1, .tp_frame_size = FRAME_SIZE,
				   .tp_frame_nr = 2 };
	int ver = TPACKET_V2;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct stat st;
	struct ifreq ifr = {};
	__u8 *ring;

	while ((c = getopt_long(argc, argv, "i:h", lo, NULL)) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 's': src = optarg; break;
		case 'd': dst = optarg; break;
		case 'S': sport = strtoul(optarg, NULL, 0); break;
		case 'D': dport = strtoul(optarg, NULL, 0); break;
		case 'f': flags = optarg; break;
		case 'q': seq = strtoul(optarg, NULL, 0); break;
		case 'a': ack = strtoul(optarg, NULL, 0); break;
		case 'p': payload = strtoul(optarg, NULL, 0); break;
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 'b': bad = 1; break;
		case 'm':
			if (parse_mac(optarg, dmac)) {
				fprintf(stderr, "rawsend: bad --dst-mac %s\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout, argv[0]); return 0;
		default: usage(stderr, argv[0]); return 2;
		}
	}
	if (!ifname || !src || !dst || !sport || sport > 65535 || !dport || dport > 65535 || !count ||
	    count > MAX_COUNT || payload > MAX_PAYLOAD) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (stat("/proc/self/ns/net", &st) || st.st_ino == PROC_NET_INIT_INO) {
		fprintf(stderr, "rawsend: refusing to run in the initial network namespace "
				"(use ip netns exec NS %s ...)\n", argv[0]);
		return 2;
	}
	for (const char *p = flags; *p; p++)
		tf |= *p == 'F' ? 0x01 : *p == 'S' ? 0x02 : *p == 'R' ? 0x04 : *p == 'P' ? 0x08 :
		      *p == 'A' ? 0x10 : 0;

	memset(frame, 0, sizeof(frame));
	family = strchr(dst, ':') ? 6 : 4;
	tcplen = 20 + payload;
	if (family == 4) {
		frame[12] = 0x08, frame[13] = 0x00;
		frame[l3] = 0x45;
		frame[l3 + 2] = (20 + tcplen) >> 8, frame[l3 + 3] = (20 + tcplen) & 0xff;
		frame[l3 + 6] = 0x40;	/* DF */
		frame[l3 + 8] = 64, frame[l3 + 9] = IPPROTO_TCP;
		if (inet_pton(AF_INET, src, frame + l3 + 12) != 1 || inet_pton(AF_INET, dst, frame + l3 + 16) != 1)
			goto bad_addr;
		sum = fold(sum16(0, frame + l3, 20));
		frame[l3 + 10] = sum >> 8, frame[l3 + 11] = sum & 0xff;
		l4 = l3 + 20;
		sum = sum16(0, frame + l3 + 12, 8);
	} else {
		frame[12] = 0x86, frame[13] = 0xdd;
		frame[l3] = 0x60;
		frame[l3 + 4] = tcplen >> 8, frame[l3 + 5] = tcplen & 0xff;
		frame[l3 + 6] = IPPROTO_TCP, frame[l3 + 7] = 64;
		if (inet_pton(AF_INET6, src, frame + l3 + 8) != 1 || inet_pton(AF_INET6, dst, frame + l3 + 24) != 1)
			goto bad_addr;
		l4 = l3 + 40;
		sum = sum16(0, frame + l3 + 8, 32);
	}
	t = frame + l4;
	t[0] = sport >> 8, t[1] = sport & 0xff, t[2] = dport >> 8, t[3] = dport & 0xff;
	*(__u32 *)(t + 4) = htonl((__u32)seq);
	*(__u32 *)(t + 8) = htonl((__u32)ack);
	t[12] = 5 << 4, t[13] = tf;
	*(__u16 *)(t + 14) = htons(64240);
	memset(t + 20, 'x', payload);
	sum = fold(sum16(sum + IPPROTO_TCP + tcplen, t, tcplen)) ^ (bad ? 0x0001 : 0);
	t[16] = sum >> 8, t[17] = sum & 0xff;
	len = l4 + tcplen;

	fd = socket(AF_PACKET, SOCK_RAW, 0);	/* (protocol 0: sends only) */
	if (fd < 0) {
		perror("rawsend: socket");
		return 1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifindex = if_nametoindex(ifname);
	if (!ifindex || ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		fprintf(stderr, "rawsend: no interface %s\n", ifname);
		return 1;
	}
	memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
	memcpy(frame, dmac, 6);
	memcpy(frame + 6, smac, 6);
	sll.sll_ifindex = ifindex;
	sll.sll_protocol = htons(family == 4 ? ETH_P_IP : ETH_P_IPV6);
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("rawsend: TX ring setup");
		return 1;
	}
	ring = mmap(NULL, req.tp_block_size * req.tp_block_nr, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED) {
		perror("rawsend: mmap");
		return 1;
	}
	for (unsigned long i = 0; i < count; i++) {
		struct tpacket2_hdr *h = (void *)(ring + (i % req.tp_frame_nr) * FRAME_SIZE);
		/* the frame follows the header (no PACKET_TX_HAS_OFF) */
		__u8 *data = (__u8 *)h + TPACKET_ALIGN(sizeof(*h));

		for (int w = 0; h->tp_status != TP_STATUS_AVAILABLE; w++) {
			if (w == 1000) {
				fprintf(stderr, "rawsend: the TX ring slot was not released in 1 s\n");
				return 1;
			}
			usleep(1000);
		}
		memcpy(data, frame, len);
		h->tp_len = len;
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
		if (send(fd, NULL, 0, 0) < 0) {	/* blocks until sent */
			perror("rawsend: send");
			return 1;
		}
	}
	printf("{\"sent\":%lu,\"bytes\":%u}\n", count, len);
	return 0;
bad_addr:
	fprintf(stderr, "rawsend: bad --src/--dst (same family, numeric)\n");
	return 2;
}
