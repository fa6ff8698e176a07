/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * synflood.c - bounded, namespace-confined SYN / ACK flood generator used by
 * synguard's tests and benchmarks.
 *
 * Safety rules enforced in code (not just documented):
 *   - refuses to run in the initial network namespace (the netns of PID 1);
 *     it has to be started through `ip netns exec NS synflood ...`;
 *   - the destination must be loopback (127.0.0.0/8, ::1) or inside a
 *     subnet configured on the chosen interface (getifaddrs in this netns);
 *   - the spoofed source range is an explicit CIDR that must lie entirely
 *     inside a private range (10/8, 172.16/12, 192.168/16, 198.18/15,
 *     fd00::/8);
 *   - both --count (<= 100,000,000) and --duration (<= 600 s) are required;
 *     it stops at whichever comes first, or on SIGINT/SIGTERM.
 *
 * Frames are built in userspace (Ethernet [+ 802.1Q] + IPv4/IPv6 + TCP) and
 * sent with sendmmsg() on an AF_PACKET/SOCK_RAW socket bound to the
 * interface, with PACKET_QDISC_BYPASS when available.
 *
 * Output: one JSON line on stdout at the end:
 *   {"sent":N,"seconds":S,"pps":P,"errors":E}
 *
 * Exit status: 0 ok, 1 runtime failure, 2 usage error / safety refusal.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_QDISC_BYPASS
#define PACKET_QDISC_BYPASS 20
#endif

#define MAX_COUNT	100000000ULL
#define MAX_DURATION	600.0
#define MAX_THREADS	4
#define MAX_BATCH	1024
#define MAX_RATE	100000000ULL
#define SLOT_SIZE	128	/* bytes reserved per frame; largest is 98 */
#define MAX_CONSEC_ERR	100000	/* give up a thread after this many in a row */

#define EXIT_REFUSE	2
#define TOOL_NAME	"synflood"
#include "tool_safety.h"

enum mode { MODE_SYN, MODE_ACK, MODE_RST, MODE_FIN };

struct config {
	char ifname[IF_NAMESIZE];
	int ifindex;
	int family;			/* AF_INET or AF_INET6 */
	uint8_t dst[16];		/* network order */
	uint8_t src_net[16];		/* network order, host bits cleared */
	unsigned int src_plen;
	uint16_t dport;
	uint16_t sport_lo, sport_hi;
	uint8_t dst_mac[6], src_mac[6];
	int have_src_mac;
	uint64_t count;
	double duration;
	uint64_t rate;			/* total pps, 0 = unlimited */
	enum mode mode;
	int ack_ts;			/* ACK mode: add NOP,NOP,TS option */
	int vlan;			/* -1 = none */
	unsigned int batch;
	unsigned int threads;
	uint64_t seed;
};

struct thread_ctx {
	const struct config *cfg;
	pthread_t tid;
	unsigned int idx;
	int fd;
	uint64_t count;		/* this thread's share */
	double rate;		/* this thread's share, 0 = unlimited */
	uint64_t rng;
	uint64_t sent;
	uint64_t errors;
	uint64_t retries;
	int failed;
	struct timespec deadline;
	/* frame layout */
	unsigned int l3off, l4off, tcplen, framelen;
	uint8_t *frames;
	struct mmsghdr *msgs;
	struct iovec *iovs;
};

static atomic_int g_stop;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store_explicit(&g_stop, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* PRNG: splitmix64 for seeding, xorshift64* for the hot path.        */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static inline uint64_t xrand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* ------------------------------------------------------------------ */
/* Internet checksum (RFC 1071). Summing native 16-bit words gives a  */
/* result that is stored back natively: byte-order independent.       */

static inline uint64_t csum_add(uint64_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint16_t w;

	while (len >= 2) {
		memcpy(&w, p, 2);
		sum += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t tail[2] = { *p, 0 };

		memcpy(&w, tail, 2);
		sum += w;
	}
	return sum;
}

static inline uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                            */

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
"Usage: %s -i IFACE --dst ADDR --dport PORT --src CIDR --dst-mac MAC\n"
"          --count N --duration SEC [options]\n"
"\n"
"Bounded SYN/ACK flood generator for synguard tests. Must be run inside a\n"
"non-initial network namespace: ip netns exec NS %s ...\n"
"\n"
"Required:\n"
"  -i, --iface IFACE        interface to send on (in the current netns)\n"
"      --dst ADDR           destination IPv4/IPv6 address; must be loopback\n"
"                           or inside a subnet configured on IFACE\n"
"      --dport PORT         destination TCP port (1-65535)\n"
"      --src CIDR           spoofed source range, e.g. 10.99.0.0/16; must be\n"
"                           inside 10/8, 172.16/12, 192.168/16, 198.18/15\n"
"                           or fd00::/8, same family as --dst\n"
"      --dst-mac MAC        destination MAC aa:bb:cc:dd:ee:ff\n"
"  -n, --count N            packets to send in total (1-%llu)\n"
"  -d, --duration SEC       time limit in seconds (0 < SEC <= %.0f)\n"
"\n"
"Options:\n"
"      --src-mac MAC        source MAC (default: IFACE's MAC)\n"
"  -r, --rate PPS           total packet rate, 0 = as fast as possible (default 0)\n"
"  -m, --mode syn|ack|rst|fin  SYN (Linux-like options, default), or a bare\n"
"                           ACK, RST or FIN|ACK with random seq/ack\n"
"      --ack-ts             ACK mode: add NOP,NOP,TS options (32-byte TCP header)\n"
"      --sport-range LO-HI  source port range (default 1024-65535)\n"
"  -6                       accepted for clarity; the family follows --dst\n"
"      --vlan ID            add an 802.1Q tag with this VLAN id (0-4094)\n"
"  -b, --batch N            frames per sendmmsg() (1-%d, default 64)\n"
"  -t, --threads N          sender threads, each with its own socket (1-%d)\n"
"      --seed N             PRNG seed (default: random)\n"
"  -h, --help               this text\n"
"\n"
"Stops at --count, --duration or SIGINT/SIGTERM, whichever comes first, and\n"
"prints one JSON line: {\"sent\":N,\"seconds\":S,\"pps\":P,\"errors\":E}\n"
"Exit status: 0 ok, 1 runtime failure, 2 usage error or safety refusal.\n",
		argv0, argv0, (unsigned long long)MAX_COUNT, MAX_DURATION,
		MAX_BATCH, MAX_THREADS);
}

static int parse_addr(const char *s, int *family, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

/* Clear bits beyond plen; returns 1 if any were set. */
static int mask_prefix(uint8_t *a, unsigned int alen, unsigned int plen)
{
	int changed = 0;

	for (unsigned int i = 0; i < alen; i++) {
		unsigned int bits = plen > i * 8 ? plen - i * 8 : 0;
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if (a[i] & ~m)
			changed = 1;
		a[i] &= m;
	}
	return changed;
}

static int prefix_match(const uint8_t *a, const uint8_t *b, unsigned int plen)
{
	unsigned int full = plen / 8, rem = plen % 8;

	if (memcmp(a, b, full))
		return 0;
	if (rem) {
		uint8_t m = (uint8_t)(0xff << (8 - rem));

		if ((a[full] & m) != (b[full] & m))
			return 0;
	}
	return 1;
}

static unsigned int netmask_len(const uint8_t *m, unsigned int alen)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < alen; i++) {
		uint8_t b = m[i];

		while (b & 0x80) {
			n++;
			b <<= 1;
		}
		if (m[i] != 0xff)
			break;
	}
	return n;
}

/* Is the whole CIDR (net/plen) inside a private range? */
static int cidr_is_private(int family, const uint8_t *net, unsigned int plen)
{
	static const struct { uint8_t a[4]; unsigned int plen; } v4[] = {
		{ { 10, 0, 0, 0 }, 8 },
		{ { 172, 16, 0, 0 }, 12 },
		{ { 192, 168, 0, 0 }, 16 },
		{ { 198, 18, 0, 0 }, 15 },
	};

	if (family == AF_INET) {
		for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
			if (plen >= v4[i].plen && prefix_match(net, v4[i].a, v4[i].plen))
				return 1;
		return 0;
	}
	/* fd00::/8 (ULA, locally assigned) */
	return plen >= 8 && net[0] == 0xfd;
}

/* ------------------------------------------------------------------ */
/* Safety checks                                                      */

static int is_loopback(int family, const uint8_t *a)
{
	static const uint8_t lo6[16] = { [15] = 1 };

	if (family == AF_INET)
		return a[0] == 127;
	return memcmp(a, lo6, 16) == 0;
}

/*
 * Verify the destination is on-link on cfg->ifname (or loopback) and fetch
 * the interface MAC if none was given.
 */
static void check_iface_and_dst(struct config *cfg)
{
	struct ifaddrs *ifa_list, *ifa;
	unsigned int alen = cfg->family == AF_INET ? 4 : 16;
	int onlink = 0, have_mac = 0;
	uint8_t mac[6] = { 0 };
	char dbuf[INET6_ADDRSTRLEN];

	inet_ntop(cfg->family, cfg->dst, dbuf, sizeof(dbuf));

	if (cfg->family == AF_INET) {
		if (cfg->dst[0] >= 224 || cfg->dst[0] == 0)
			die_refuse("destination %s is multicast/broadcast/reserved", dbuf);
	} else {
		static const uint8_t zero[16];

		if (cfg->dst[0] == 0xff || !memcmp(cfg->dst, zero, 16))
			die_refuse("destination %s is multicast/unspecified", dbuf);
	}

	if (getifaddrs(&ifa_list) != 0) {
		fprintf(stderr, "synflood: getifaddrs: %s\n", strerror(errno));
		exit(1);
	}
	for (ifa = ifa_list; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || strcmp(ifa->ifa_name, cfg->ifname))
			continue;
		if (ifa->ifa_addr->sa_family == AF_PACKET) {
			const struct sockaddr_ll *ll = (const void *)ifa->ifa_addr;

			if (ll->sll_halen == 6) {
				memcpy(mac, ll->sll_addr, 6);
				have_mac = 1;
			}
			continue;
		}
		if (ifa->ifa_addr->sa_family != cfg->family || !ifa->ifa_netmask)
			continue;

		const uint8_t *addr, *mask;

		if (cfg->family == AF_INET) {
			addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr;
			mask = (const uint8_t *)&((const struct sockaddr_in *)(const void *)ifa->ifa_netmask)->sin_addr;
		} else {
			addr = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)->sin6_addr;
			mask = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)ifa->ifa_netmask)->sin6_addr;
		}
		unsigned int plen = netmask_len(mask, alen);

		if (plen == 0)
			continue;	/* a /0 "subnet" proves nothing */
		if (!prefix_match(addr, cfg->dst, plen))
			continue;
		if (!memcmp(addr, cfg->dst, alen))
			continue;	/* our own address, not a peer */
		if (cfg->family == AF_INET && plen < 31) {
			/* refuse the subnet broadcast address */
			uint8_t bc[4];

			for (int i = 0; i < 4; i++)
				bc[i] = addr[i] | (uint8_t)~mask[i];
			if (!memcmp(bc, cfg->dst, 4))
				die_refuse("destination %s is the broadcast address of "
					   "%s", dbuf, cfg->ifname);
		}
		onlink = 1;
	}
	freeifaddrs(ifa_list);

	if (!onlink && !is_loopback(cfg->family, cfg->dst))
		die_refuse("destination %s is neither loopback nor inside a subnet "
			   "configured on %s (in this network namespace)",
			   dbuf, cfg->ifname);
	if (!cfg->have_src_mac) {
		if (!have_mac)
			die_refuse("cannot determine the MAC of %s; pass --src-mac",
				   cfg->ifname);
		memcpy(cfg->src_mac, mac, 6);
	}
}

/* ------------------------------------------------------------------ */
/* Frame construction                                                 */

static const uint8_t syn_opts[20] = {
	0x02, 0x04, 0x05, 0xb4,		/* MSS 1460 (patched for IPv6) */
	0x04, 0x02,			/* SACK permitted */
	0x08, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, /* TS val, ecr=0 */
	0x01,				/* NOP */
	0x03, 0x03, 0x07,		/* window scale 7 */
};
#define SYN_TSVAL_OFF	(20 + 8)

static const uint8_t ack_ts_opts[12] = {
	0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0,
};
#define ACK_TSVAL_OFF	(20 + 4)
#define ACK_TSECR_OFF	(20 + 8)

static void build_template(struct thread_ctx *t, uint8_t *f)
{
	const struct config *c = t->cfg;
	unsigned int off = 0;
	uint16_t ethertype = htons(c->family == AF_INET ? ETH_P_IP : ETH_P_IPV6);

	memset(f, 0, SLOT_SIZE);
	memcpy(f, c->dst_mac, 6);
	memcpy(f + 6, c->src_mac, 6);
	off = 12;
	if (c->vlan >= 0) {
		uint16_t tpid = htons(ETH_P_8021Q), tci = htons((uint16_t)c->vlan);

		memcpy(f + off, &tpid, 2);
		memcpy(f + off + 2, &tci, 2);
		off += 4;
	}
	memcpy(f + off, &ethertype, 2);
	off += 2;
	t->l3off = off;

	if (c->mode == MODE_SYN)
		t->tcplen = 40;
	else
		t->tcplen = c->ack_ts ? 32 : 20;

	uint8_t *ip = f + off;

	if (c->family == AF_INET) {
		uint16_t tot = htons((uint16_t)(20 + t->tcplen));

		ip[0] = 0x45;
		ip[1] = 0;
		memcpy(ip + 2, &tot, 2);
		ip[6] = 0x40;			/* DF */
		ip[8] = 64;			/* TTL */
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 16, c->dst, 4);
		t->l4off = off + 20;
	} else {
		uint16_t plen = htons((uint16_t)t->tcplen);

		ip[0] = 0x60;
		memcpy(ip + 4, &plen, 2);
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;			/* hop limit */
		memcpy(ip + 24, c->dst, 16);
		t->l4off = off + 40;
	}

	uint8_t *tcp = f + t->l4off;
	uint16_t dport = htons(c->dport);

	memcpy(tcp + 2, &dport, 2);
	tcp[12] = (uint8_t)((t->tcplen / 4) << 4);
	if (c->mode == MODE_SYN) {
		uint16_t win = htons(64240);

		tcp[13] = 0x02;			/* SYN */
		memcpy(tcp + 14, &win, 2);
		memcpy(tcp + 20, syn_opts, sizeof(syn_opts));
		if (c->family == AF_INET6) {	/* Linux: 1500 - 40 - 20 */
			tcp[22] = 0x05;
			tcp[23] = 0xa0;		/* 1440 */
		}
	} else {
		uint16_t win = htons(502);

		tcp[13] = c->mode == MODE_RST ? 0x04 :	/* RST */
			  c->mode == MODE_FIN ? 0x11 :	/* FIN|ACK */
			  0x10;				/* ACK */
		memcpy(tcp + 14, &win, 2);
		if (c->ack_ts)
			memcpy(tcp + 20, ack_ts_opts, sizeof(ack_ts_opts));
	}
	t->framelen = t->l4off + t->tcplen;
}

/* Patch per-packet random fields and recompute checksums. */
static inline void patch_frame(struct thread_ctx *t, uint8_t *f)
{
	const struct config *c = t->cfg;
	uint8_t *ip = f + t->l3off;
	uint8_t *tcp = f + t->l4off;
	uint64_t r1 = xrand(&t->rng), r2 = xrand(&t->rng);
	uint64_t sum;
	uint16_t sport;
	uint32_t seq = (uint32_t)r1, tsval = (uint32_t)(r1 >> 32);
	uint32_t span = (uint32_t)c->sport_hi - c->sport_lo + 1;

	sport = htons((uint16_t)(c->sport_lo +
				 (((uint64_t)(uint32_t)r2 * span) >> 32)));
	memcpy(tcp, &sport, 2);
	memcpy(tcp + 4, &seq, 4);
	tcp[16] = tcp[17] = 0;		/* TCP checksum */

	if (c->mode == MODE_SYN) {
		memcpy(tcp + SYN_TSVAL_OFF, &tsval, 4);
	} else {
		uint32_t ack = (uint32_t)(r2 >> 32);

		memcpy(tcp + 8, &ack, 4);
		if (c->ack_ts) {
			uint32_t ecr = (uint32_t)xrand(&t->rng);

			memcpy(tcp + ACK_TSVAL_OFF, &tsval, 4);
			memcpy(tcp + ACK_TSECR_OFF, &ecr, 4);
		}
	}

	if (c->family == AF_INET) {
		uint32_t hostmask = c->src_plen >= 32 ? 0 :
				    (uint32_t)(0xffffffffULL >> c->src_plen);
		uint32_t net, saddr;
		uint16_t id = (uint16_t)(r2 >> 16), ipcs;

		memcpy(&net, c->src_net, 4);
		saddr = ntohl(net) | ((uint32_t)xrand(&t->rng) & hostmask);
		saddr = htonl(saddr);
		memcpy(ip + 12, &saddr, 4);
		memcpy(ip + 4, &id, 2);
		ip[10] = ip[11] = 0;
		ipcs = csum_fold(csum_add(0, ip, 20));
		memcpy(ip + 10, &ipcs, 2);

		/* pseudo header: src, dst, zero/proto, tcp length */
		sum = csum_add(0, ip + 12, 8);
		sum += htons(IPPROTO_TCP);
		sum += htons((uint16_t)t->tcplen);
	} else {
		uint8_t *src = ip + 8;

		memcpy(src, c->src_net, 16);
		if (c->src_plen < 128) {
			uint64_t hi, lo, rhi = xrand(&t->rng), rlo = xrand(&t->rng);
			uint64_t mhi, mlo;	/* host-bit masks */

			memcpy(&hi, src, 8);
			memcpy(&lo, src + 8, 8);
			hi = be64toh(hi);
			lo = be64toh(lo);
			if (c->src_plen >= 64) {
				mhi = 0;
				mlo = c->src_plen == 64 ? ~0ULL : (~0ULL >> (c->src_plen - 64));
			} else {
				mhi = c->src_plen == 0 ? ~0ULL : (~0ULL >> c->src_plen);
				mlo = ~0ULL;
			}
			hi = htobe64(hi | (rhi & mhi));
			lo = htobe64(lo | (rlo & mlo));
			memcpy(src, &hi, 8);
			memcpy(src + 8, &lo, 8);
		}
		sum = csum_add(0, ip + 8, 32);
		sum += htons((uint16_t)t->tcplen);	/* upper 16 bits are 0 */
		sum += htons(IPPROTO_TCP);
	}
	uint16_t tcs = csum_fold(csum_add(sum, tcp, t->tcplen));

	memcpy(tcp + 16, &tcs, 2);
}

/* ------------------------------------------------------------------ */
/* Sender                                                             */

static inline double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(a->tv_sec - b->tv_sec) + (a->tv_nsec - b->tv_nsec) / 1e9;
}

static inline int ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

static void sleep_sec(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);	/* EINTR is fine: the loop re-checks */
}

static int open_socket(const struct config *c)
{
	struct sockaddr_ll sll;
	int one = 1, sndbuf = 4 << 20;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	/* protocol 0: the socket never receives anything */
	int fd = socket(AF_PACKET, SOCK_RAW, 0);

	if (fd < 0) {
		fprintf(stderr, "synflood: socket(AF_PACKET): %s\n", strerror(errno));
		return -1;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = c->ifindex;
	sll.sll_protocol = 0;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		fprintf(stderr, "synflood: bind(%s): %s\n", c->ifname, strerror(errno));
		close(fd);
		return -1;
	}
	/* optional tuning; unsupported options are ignored */
	(void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static void *sender(void *arg)
{
	struct thread_ctx *t = arg;
	const struct config *c = t->cfg;
	unsigned int batch = c->batch;
	uint64_t remaining = t->count;
	unsigned long consec_err = 0;
	double tokens = 0, burst = 0;
	struct timespec now, last;

	for (unsigned int i = 0; i < batch; i++) {
		uint8_t *f = t->frames + (size_t)i * SLOT_SIZE;

		build_template(t, f);
		t->iovs[i].iov_base = f;
		t->iovs[i].iov_len = t->framelen;
		memset(&t->msgs[i], 0, sizeof(t->msgs[i]));
		t->msgs[i].msg_hdr.msg_iov = &t->iovs[i];
		t->msgs[i].msg_hdr.msg_iovlen = 1;
	}

	if (t->rate > 0) {
		/* refill at least ~every millisecond's worth of tokens */
		double want = t->rate * 0.001;

		if (want < 1)
			want = 1;
		if (want > batch)
			want = batch;
		burst = t->rate * 0.002;
		if (burst < batch)
			burst = batch;
		tokens = want;
	}
	clock_gettime(CLOCK_MONOTONIC, &last);

	while (remaining && !atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		unsigned int n = batch;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_after(&now, &t->deadline))
			break;
		if (n > remaining)
			n = (unsigned int)remaining;

		if (t->rate > 0) {
			double want = t->rate * 0.001;

			tokens += ts_diff(&now, &last) * t->rate;
			if (tokens > burst)
				tokens = burst;
			last = now;
			if (want < 1)
				want = 1;
			if (want > n)
				want = n;
			if (tokens < want) {
				double wait = (want - tokens) / t->rate;
				double left = ts_diff(&t->deadline, &now);

				if (wait > 0.01)
					wait = 0.01;
				if (wait > left)
					wait = left;
				sleep_sec(wait);
				continue;
			}
			if ((double)n > tokens)
				n = (unsigned int)tokens;
		}

		for (unsigned int i = 0; i < n; i++)
			patch_frame(t, t->frames + (size_t)i * SLOT_SIZE);

		unsigned int done = 0;

		while (done < n) {
			int r = sendmmsg(t->fd, t->msgs + done, n - done, 0);

			if (r > 0) {
				done += (unsigned int)r;
				t->sent += (uint64_t)r;
				consec_err = 0;
				continue;
			}
			if (r == 0)
				continue;
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
				/* transient back-pressure: retry, bounded by time */
				t->retries++;
				if (atomic_load_explicit(&g_stop, memory_order_relaxed))
					break;
				clock_gettime(CLOCK_MONOTONIC, &now);
				if (ts_after(&now, &t->deadline))
					break;
				if (errno != EINTR)
					sleep_sec(20e-6);
				continue;
			}
			/* real failure of the message at `done`: skip it */
			t->errors++;
			done++;
			if (++consec_err >= MAX_CONSEC_ERR) {
				fprintf(stderr, "synflood: thread %u: giving up after "
					"%lu consecutive send errors (last: %s)\n",
					t->idx, consec_err, strerror(errno));
				t->failed = 1;
				remaining = 0;
				break;
			}
		}
		if (remaining) {
			/* packets that were attempted (sent or failed) */
			remaining = remaining > done ? remaining - done : 0;
			if (t->rate > 0)
				tokens -= done;
		}
		if (done < n)	/* stopped by deadline/signal mid-batch */
			break;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */

enum {
	OPT_DST = 256, OPT_DPORT, OPT_SRC, OPT_DST_MAC, OPT_SRC_MAC,
	OPT_SPORT_RANGE, OPT_VLAN, OPT_SEED, OPT_ACK_TS,
};

static const struct option long_opts[] = {
	{ "iface",	 required_argument, NULL, 'i' },
	{ "dst",	 required_argument, NULL, OPT_DST },
	{ "dport",	 required_argument, NULL, OPT_DPORT },
	{ "src",	 required_argument, NULL, OPT_SRC },
	{ "dst-mac",	 required_argument, NULL, OPT_DST_MAC },
	{ "src-mac",	 required_argument, NULL, OPT_SRC_MAC },
	{ "count",	 required_argument, NULL, 'n' },
	{ "duration",	 required_argument, NULL, 'd' },
	{ "rate",	 required_argument, NULL, 'r' },
	{ "mode",	 required_argument, NULL, 'm' },
	{ "ack-ts",	 no_argument,	    NULL, OPT_ACK_TS },
	{ "sport-range", required_argument, NULL, OPT_SPORT_RANGE },
	{ "vlan",	 required_argument, NULL, OPT_VLAN },
	{ "batch",	 required_argument, NULL, 'b' },
	{ "threads",	 required_argument, NULL, 't' },
	{ "seed",	 required_argument, NULL, OPT_SEED },
	{ "help",	 no_argument,	    NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define BAD_ARG(...) do { \
	fprintf(stderr, "synflood: "); \
	fprintf(stderr, __VA_ARGS__); \
	fprintf(stderr, "\n(see %s --help)\n", argv[0]); \
	exit(EXIT_REFUSE); \
} while (0)

int main(int argc, char **argv)
{
	struct config cfg;
	const char *iface = NULL, *dst = NULL, *src = NULL, *dport = NULL;
	const char *dmac = NULL, *count = NULL, *duration = NULL;
	int have_seed = 0, want6 = 0, opt;
	uint64_t v;

	memset(&cfg, 0, sizeof(cfg));
	cfg.sport_lo = 1024;
	cfg.sport_hi = 65535;
	cfg.vlan = -1;
	cfg.batch = 64;
	cfg.threads = 1;
	cfg.mode = MODE_SYN;

	/* --help works anywhere; everything else needs a test netns */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout, argv[0]);
			return 0;
		}
	check_netns();

	while ((opt = getopt_long(argc, argv, "i:n:d:r:m:b:t:6h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'i': iface = optarg; break;
		case OPT_DST: dst = optarg; break;
		case OPT_DPORT: dport = optarg; break;
		case OPT_SRC: src = optarg; break;
		case OPT_DST_MAC: dmac = optarg; break;
		case OPT_SRC_MAC:
			if (parse_mac(optarg, cfg.src_mac))
				BAD_ARG("bad --src-mac '%s'", optarg);
			cfg.have_src_mac = 1;
			break;
		case 'n': count = optarg; break;
		case 'd': duration = optarg; break;
		case 'r':
			if (parse_u64(optarg, 0, MAX_RATE, &cfg.rate))
				BAD_ARG("bad --rate '%s' (0-%llu)", optarg,
					(unsigned long long)MAX_RATE);
			break;
		case 'm':
			if (!strcmp(optarg, "syn"))
				cfg.mode = MODE_SYN;
			else if (!strcmp(optarg, "ack"))
				cfg.mode = MODE_ACK;
			else if (!strcmp(optarg, "rst"))
				cfg.mode = MODE_RST;
			else if (!strcmp(optarg, "fin"))
				cfg.mode = MODE_FIN;
			else
				BAD_ARG("bad --mode '%s' (syn|ack|rst|fin)", optarg);
			break;
		case OPT_ACK_TS: cfg.ack_ts = 1; break;
		case OPT_SPORT_RANGE: {
			char buf[32], *dash;
			uint64_t lo, hi;

			if (strlen(optarg) >= sizeof(buf))
				BAD_ARG("bad --sport-range '%s'", optarg);
			strcpy(buf, optarg);
			dash = strchr(buf, '-');
			if (!dash)
				BAD_ARG("bad --sport-range '%s' (LO-HI)", optarg);
			*dash = 0;
			if (parse_u64(buf, 1, 65535, &lo) ||
			    parse_u64(dash + 1, 1, 65535, &hi) || lo > hi)
				BAD_ARG("bad --sport-range '%s' (1 <= LO <= HI <= 65535)", optarg);
			cfg.sport_lo = (uint16_t)lo;
			cfg.sport_hi = (uint16_t)hi;
			break;
		}
		case '6': want6 = 1; break;
		case OPT_VLAN:
			if (parse_u64(optarg, 0, 4094, &v))
				BAD_ARG("bad --vlan '%s' (0-4094)", optarg);
			cfg.vlan = (int)v;
			break;
		case 'b':
			if (parse_u64(optarg, 1, MAX_BATCH, &v))
				BAD_ARG("bad --batch '%s' (1-%d)", optarg, MAX_BATCH);
			cfg.batch = (unsigned int)v;
			break;
		case 't':
			if (parse_u64(optarg, 1, MAX_THREADS, &v))
				BAD_ARG("bad --threads '%s' (1-%d)", optarg, MAX_THREADS);
			cfg.threads = (unsigned int)v;
			break;
		case OPT_SEED:
			if (parse_u64(optarg, 0, UINT64_MAX, &cfg.seed))
				BAD_ARG("bad --seed '%s'", optarg);
			have_seed = 1;
			break;
		default:
			fprintf(stderr, "(see %s --help)\n", argv[0]);
			return EXIT_REFUSE;
		}
	}
	if (optind < argc)
		BAD_ARG("unexpected argument '%s'", argv[optind]);

	/* required options */
	if (!iface)
		BAD_ARG("-i/--iface is required");
	if (!dst)
		BAD_ARG("--dst is required");
	if (!dport)
		BAD_ARG("--dport is required");
	if (!src)
		BAD_ARG("--src CIDR is required (explicit private spoofed source range)");
	if (!dmac)
		BAD_ARG("--dst-mac is required");
	if (!count)
		BAD_ARG("--count is required (1-%llu)", (unsigned long long)MAX_COUNT);
	if (!duration)
		BAD_ARG("--duration is required (0 < SEC <= %.0f)", MAX_DURATION);

	if (strlen(iface) >= IF_NAMESIZE)
		BAD_ARG("interface name too long: '%s'", iface);
	strcpy(cfg.ifname, iface);
	cfg.ifindex = (int)if_nametoindex(iface);
	if (!cfg.ifindex)
		BAD_ARG("no interface '%s' in this network namespace", iface);

	if (parse_u64(dport, 1, 65535, &v))
		BAD_ARG("bad --dport '%s' (1-65535)", dport);
	cfg.dport = (uint16_t)v;
	if (parse_mac(dmac, cfg.dst_mac))
		BAD_ARG("bad --dst-mac '%s'", dmac);
	if (parse_u64(count, 1, MAX_COUNT, &cfg.count))
		BAD_ARG("bad --count '%s' (1-%llu)", count, (unsigned long long)MAX_COUNT);
	{
		char *end;

		errno = 0;
		cfg.duration = strtod(duration, &end);
		if (errno || *end || end == duration || !(cfg.duration > 0) ||
		    cfg.duration > MAX_DURATION)
			BAD_ARG("bad --duration '%s' (0 < SEC <= %.0f)", duration,
				MAX_DURATION);
	}

	if (parse_addr(dst, &cfg.family, cfg.dst))
		BAD_ARG("bad --dst address '%s'", dst);
	if (want6 && cfg.family != AF_INET6)
		BAD_ARG("-6 given but --dst '%s' is not IPv6", dst);

	/* source CIDR: explicit, same family, entirely private */
	{
		char buf[INET6_ADDRSTRLEN + 8], *slash;
		int sfam;
		unsigned int alen;

		if (strlen(src) >= sizeof(buf))
			BAD_ARG("bad --src '%s'", src);
		strcpy(buf, src);
		slash = strchr(buf, '/');
		if (!slash)
			BAD_ARG("--src must be a CIDR (ADDR/PREFIX), got '%s'", src);
		*slash = 0;
		if (parse_addr(buf, &sfam, cfg.src_net))
			BAD_ARG("bad --src address '%s'", buf);
		if (sfam != cfg.family)
			BAD_ARG("--src '%s' and --dst '%s' are different address families",
				src, dst);
		alen = sfam == AF_INET ? 4 : 16;
		if (parse_u64(slash + 1, 0, alen * 8, &v))
			BAD_ARG("bad --src prefix length '%s'", slash + 1);
		cfg.src_plen = (unsigned int)v;
		if (mask_prefix(cfg.src_net, alen, cfg.src_plen))
			fprintf(stderr, "synflood: note: --src host bits cleared\n");
		if (!cidr_is_private(sfam, cfg.src_net, cfg.src_plen))
			die_refuse("--src %s is not entirely inside a private range "
				   "(10/8, 172.16/12, 192.168/16, 198.18/15, fd00::/8)", src);
	}

	check_iface_and_dst(&cfg);

	if (!have_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		cfg.seed = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
			   ((uint64_t)getpid() << 16);
	}
	if (cfg.threads > cfg.count)
		cfg.threads = (unsigned int)cfg.count;

	/* signals: no SA_RESTART so sleeps/sends return early */
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}

	struct thread_ctx ctx[MAX_THREADS];
	uint64_t seedstate = cfg.seed;
	struct timespec start, end, deadline;
	int rc = 0;

	memset(ctx, 0, sizeof(ctx));
	for (unsigned int i = 0; i < cfg.threads; i++) {
		struct thread_ctx *t = &ctx[i];

		t->cfg = &cfg;
		t->idx = i;
		t->count = cfg.count / cfg.threads + (i < cfg.count % cfg.threads);
		t->rate = (double)cfg.rate / cfg.threads;
		t->rng = splitmix64(&seedstate);
		if (!t->rng)
			t->rng = 0x9E3779B97F4A7C15ULL;
		t->fd = open_socket(&cfg);
		t->frames = aligned_alloc(64, (size_t)cfg.batch * SLOT_SIZE);
		t->msgs = calloc(cfg.batch, sizeof(*t->msgs));
		t->iovs = calloc(cfg.batch, sizeof(*t->iovs));
		if (t->fd < 0 || !t->frames || !t->msgs || !t->iovs) {
			if (t->fd >= 0 && (!t->frames || !t->msgs || !t->iovs))
				fprintf(stderr, "synflood: out of memory\n");
			return 1;
		}
	}

	{
		char dbuf[INET6_ADDRSTRLEN];

		inet_ntop(cfg.family, cfg.dst, dbuf, sizeof(dbuf));
		fprintf(stderr, "synflood: %s flood on %s -> %s:%u from %s, "
			"count=%llu duration=%gs rate=%llu threads=%u batch=%u%s seed=%llu\n",
			cfg.mode == MODE_SYN ? "SYN" : cfg.mode == MODE_ACK ? "ACK" :
			cfg.mode == MODE_RST ? "RST" : "FIN", cfg.ifname, dbuf,
			cfg.dport, src, (unsigned long long)cfg.count, cfg.duration,
			(unsigned long long)cfg.rate, cfg.threads, cfg.batch,
			cfg.vlan >= 0 ? " vlan" : "", (unsigned long long)cfg.seed);
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	deadline = start;
	deadline.tv_sec += (time_t)cfg.duration;
	deadline.tv_nsec += (long)((cfg.duration - (double)(time_t)cfg.duration) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	unsigned int started = 0;

	for (unsigned int i = 0; i < cfg.threads; i++) {
		ctx[i].deadline = deadline;
		if (cfg.threads == 1) {
			sender(&ctx[0]);
			started = 0;
			break;
		}
		if (pthread_create(&ctx[i].tid, NULL, sender, &ctx[i]) != 0) {
			fprintf(stderr, "synflood: pthread_create failed\n");
			atomic_store(&g_stop, 1);
			rc = 1;
			break;
		}
		started++;
	}
	for (unsigned int i = 0; i < started; i++)
		pthread_join(ctx[i].tid, NULL);
	clock_gettime(CLOCK_MONOTONIC, &end);

	uint64_t sent = 0, errors = 0, retries = 0;

	for (unsigned int i = 0; i < cfg.threads; i++) {
		sent += ctx[i].sent;
		errors += ctx[i].errors;
		retries += ctx[i].retries;
		if (ctx[i].failed)
			rc = 1;
		if (ctx[i].fd >= 0)
			close(ctx[i].fd);
		free(ctx[i].frames);
		free(ctx[i].msgs);
		free(ctx[i].iovs);
	}

	double secs = ts_diff(&end, &start);

	if (retries)
		fprintf(stderr, "synflood: %llu transient ENOBUFS/EAGAIN retries\n",
			(unsigned long long)retries);
	printf("{\"sent\":%llu,\"seconds\":%.3f,\"pps\":%.0f,\"errors\":%llu}\n",
	       (unsigned long long)sent, secs, secs > 0 ? (double)sent / secs : 0.0,
	       (unsigned long long)errors);
	fflush(stdout);
	return rc;
}
