/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * xdpgen.c - bounded, namespace-confined SYN flood generator for `make
 * bench` that is not the limit: the frames are made and sent by the kernel.
 *
 * It runs tests/xdpgen.bpf.c with BPF_PROG_TEST_RUN in live-frames mode
 * (BPF_F_TEST_XDP_LIVE_FRAMES, Linux >= 5.18, the method of xdp-trafficgen):
 * each call runs the program --repeat times on page-pool frames initialised
 * from a template SYN; the program rewrites each frame (random source address
 * inside --src, source port, ISN, TSval; checksums) and returns XDP_TX, which
 * the kernel turns into a redirect out of IFACE (on a veth: into the peer's
 * receive ring, as a NIC's driver would hand frames to XDP). No socket, no
 * skb, no copy to or from userspace per frame.
 *
 * Safety rules, the same as tests/tools/synflood.c's and enforced in code:
 *   - refuses to run in the initial network namespace (the netns of PID 1);
 *   - the destination must be inside a subnet configured on IFACE (on-link)
 *     in this namespace, not its broadcast address;
 *   - the spoofed source range is an explicit IPv4 CIDR entirely inside a
 *     private range (10/8, 172.16/12, 192.168/16, 198.18/15);
 *   - both --count (<= 1,000,000,000) and --duration (<= 600 s) are required;
 *     it stops at whichever comes first, or on SIGINT/SIGTERM (checked
 *     between calls; a call is at most --repeat frames and, from the rate
 *     so far, at most the time left).
 * Frames per call: each BPF_PROG_TEST_RUN call sets up and tears down its
 * own page pool, tens of ms here; at 65536 frames a call that made the
 * generator 3x slower than at 1M.
 * IPv4 only.
 *
 * Output: one JSON line on stdout at the end, synflood's keys plus its own:
 *   {"sent":N,"seconds":S,"pps":P,"errors":E,"calls":C,"repeat":R,"batch":B}
 * "sent" counts the frames the program returned XDP_TX for, i.e. handed to
 * the interface; a full receive ring on the peer drops some of them (the
 * caller reads those from the interface's counters).
 *
 * Exit status: 0 ok, 1 runtime failure, 2 usage error / safety refusal.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <linux/if_packet.h>
#include <linux/types.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "../xdpgen.h"

#define MAX_COUNT	1000000000ULL
#define MAX_DURATION	600.0
#define MAX_REPEAT	(1U << 24)
#define MAX_RATE	100000000ull	/* --rate: frames per second at most */
#define MAX_BATCH	256	/* the kernel's limit for live frames */
#define EXIT_REFUSE	2
#define TOOL_NAME	"xdpgen"
#include "tool_safety.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

#define BAD_ARG(...) do { \
	fprintf(stderr, "xdpgen: "); \
	fprintf(stderr, __VA_ARGS__); \
	fprintf(stderr, "\n(see xdpgen --help)\n"); \
	exit(EXIT_REFUSE); \
} while (0)

static void usage(FILE *f)
{
	fprintf(f,
"Usage: xdpgen -i IFACE --dst ADDR --dport PORT --src CIDR --dst-mac MAC\n"
"              --count N --duration SEC [options]\n"
"\n"
"Bounded IPv4 SYN flood made by an XDP program in BPF_PROG_TEST_RUN's\n"
"live-frames mode (Linux >= 5.18). Must be run inside a non-initial network\n"
"namespace: ip netns exec NS xdpgen ...\n"
"\n"
"Required:\n"
"  -i, --iface IFACE      interface the frames leave by (in this netns)\n"
"      --dst ADDR         destination IPv4 address, inside a subnet on IFACE\n"
"      --dport PORT       destination TCP port (1-65535)\n"
"      --src CIDR         spoofed source range, inside 10/8, 172.16/12,\n"
"                         192.168/16 or 198.18/15\n"
"      --dst-mac MAC      destination MAC aa:bb:cc:dd:ee:ff\n"
"  -n, --count N          frames in total (1-%llu)\n"
"  -d, --duration SEC     time limit (0 < SEC <= %.0f)\n"
"\n"
"Options:\n"
"      --src-mac MAC      source MAC (default: IFACE's)\n"
"      --rate PPS         frames per second, evenly spaced (default: as fast\n"
"                         as the kernel makes them)\n"
"      --sport-range LO-HI  source ports (default 1024-65535)\n"
"      --repeat N         frames per BPF_PROG_TEST_RUN call at most\n"
"                         (default 1048576; fewer near the end)\n"
"  -b, --batch N          frames per kernel batch, 1-%d (default 64)\n"
"      --obj PATH         the XDP program (default: xdpgen.bpf.o next to\n"
"                         this binary)\n"
"  -h, --help             this text\n"
"\n"
"Prints one JSON line: {\"sent\":N,\"seconds\":S,\"pps\":P,\"errors\":E,...}\n"
"Exit status: 0 ok, 1 runtime failure, 2 usage error or safety refusal.\n",
		(unsigned long long)MAX_COUNT, MAX_DURATION, MAX_BATCH);
}

/* ---- safety checks (as synflood's) ---- */

/* Is net/plen entirely inside a private IPv4 range? (host order) */
static int cidr_is_private(uint32_t net, unsigned int plen)
{
	static const struct { uint32_t a; unsigned int plen; } r[] = {
		{ 0x0a000000, 8 }, { 0xac100000, 12 }, { 0xc0a80000, 16 }, { 0xc6120000, 15 },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (plen >= r[i].plen && (net >> (32 - r[i].plen)) == (r[i].a >> (32 - r[i].plen)))
			return 1;
	return 0;
}

/* The destination must be on-link on IFACE (not our own address, not the
 * subnet's broadcast); fills the interface's MAC into mac when found. */
static void check_dst(const char *ifname, uint32_t dst, uint8_t mac[6], int *have_mac)
{
	struct ifaddrs *list, *ifa;
	int onlink = 0;
	char dbuf[INET_ADDRSTRLEN];
	struct in_addr d = { htonl(dst) };

	inet_ntop(AF_INET, &d, dbuf, sizeof(dbuf));
	if ((dst >> 24) >= 224 || (dst >> 24) == 0 || (dst >> 24) == 127)
		die_refuse("destination %s is multicast/broadcast/reserved/loopback", dbuf);
	if (getifaddrs(&list) != 0) {
		fprintf(stderr, "xdpgen: getifaddrs: %s\n", strerror(errno));
		exit(1);
	}
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		uint32_t addr, mask;

		if (!ifa->ifa_addr || strcmp(ifa->ifa_name, ifname))
			continue;
		if (ifa->ifa_addr->sa_family == AF_PACKET) {
			const struct sockaddr_ll *ll = (const void *)ifa->ifa_addr;

			if (ll->sll_halen == 6) {
				memcpy(mac, ll->sll_addr, 6);
				*have_mac = 1;
			}
			continue;
		}
		if (ifa->ifa_addr->sa_family != AF_INET || !ifa->ifa_netmask)
			continue;
		addr = ntohl(((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr.s_addr);
		mask = ntohl(((const struct sockaddr_in *)(const void *)ifa->ifa_netmask)->sin_addr.s_addr);
		if (!mask || (addr & mask) != (dst & mask) || addr == dst)
			continue;	/* a /0 proves nothing; our own address is no peer */
		if (mask < 0xfffffffe && (addr | ~mask) == dst)
			die_refuse("destination %s is the broadcast address of %s", dbuf, ifname);
		onlink = 1;
	}
	freeifaddrs(list);
	if (!onlink)
		die_refuse("destination %s is not inside a subnet configured on %s (in this "
			   "network namespace)", dbuf, ifname);
}

/* ---- the template ---- */

static uint32_t sum16(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	uint16_t w;

	for (size_t i = 0; i + 1 < len; i += 2) {
		memcpy(&w, p + i, 2);
		s += w;
	}
	return s;
}

/* Linux's SYN options: MSS 1460, SACK_PERM, TS, NOP, WS 7 (synflood's). */
static const uint8_t syn_opts[20] = {
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x03, 0x03, 0x07,
};

static void build_cfg(struct xg_cfg *c, const uint8_t dmac[6], const uint8_t smac[6], uint32_t dst,
		      uint16_t dport, uint32_t src_net, unsigned int plen, uint16_t lo, uint16_t hi)
{
	uint8_t *f = c->frame, *ip = f + XG_IP, *tcp = f + XG_TCP;
	uint16_t v;
	uint32_t a;

	memset(c, 0, sizeof(*c));
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;			/* IPv4 */
	ip[0] = 0x45;
	v = htons(20 + 40);
	memcpy(ip + 2, &v, 2);
	ip[6] = 0x40;			/* DF */
	ip[8] = 64;			/* TTL */
	ip[9] = IPPROTO_TCP;
	a = htonl(dst);
	memcpy(ip + 16, &a, 4);
	v = htons(dport);
	memcpy(tcp + 2, &v, 2);
	tcp[12] = 10 << 4;		/* 40 bytes */
	tcp[13] = 0x02;			/* SYN */
	v = htons(64240);
	memcpy(tcp + 14, &v, 2);
	memcpy(tcp + 20, syn_opts, sizeof(syn_opts));

	c->ip_sum = sum16(ip, 20);
	/* pseudo header: saddr (0 here) + daddr, protocol, TCP length */
	c->tcp_sum = sum16(ip + 12, 8) + htons(IPPROTO_TCP) + htons(40) + sum16(tcp, 40);
	c->src_net = htonl(src_net);
	c->src_host = htonl(plen >= 32 ? 0 : 0xffffffffU >> plen);
	c->sport_lo = lo;
	c->sport_span = (uint32_t)hi - lo + 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What the program counted (its .bss): 0, or -1 if unreadable. */
static int read_stats(struct bpf_object *obj, struct xg_stats *st)
{
	struct bpf_map *m, *bss = NULL;
	__u32 zero = 0;

	bpf_object__for_each_map(m, obj)
		if (bpf_map__is_internal(m) && strstr(bpf_map__name(m), ".bss"))
			bss = m;
	if (!bss || bpf_map__value_size(bss) != sizeof(*st))
		return -1;
	return bpf_map_lookup_elem(bpf_map__fd(bss), &zero, st) ? -1 : 0;
}

/* Frames the program has sent so far, or 0. */
static uint64_t made_so_far(struct bpf_object *obj)
{
	struct xg_stats st = {};

	return read_stats(obj, &st) ? 0 : st.made;
}

int main(int argc, char **argv)
{
	enum { O_DST = 256, O_DPORT, O_SRC, O_DMAC, O_SMAC, O_SPORT, O_REPEAT, O_OBJ, O_RATE };
	static const struct option lo[] = {
		{ "iface", required_argument, 0, 'i' },
		{ "dst", required_argument, 0, O_DST },
		{ "dport", required_argument, 0, O_DPORT },
		{ "src", required_argument, 0, O_SRC },
		{ "dst-mac", required_argument, 0, O_DMAC },
		{ "src-mac", required_argument, 0, O_SMAC },
		{ "count", required_argument, 0, 'n' },
		{ "duration", required_argument, 0, 'd' },
		{ "sport-range", required_argument, 0, O_SPORT },
		{ "repeat", required_argument, 0, O_REPEAT },
		{ "rate", required_argument, 0, O_RATE },
		{ "batch", required_argument, 0, 'b' },
		{ "obj", required_argument, 0, O_OBJ },
		{ "help", no_argument, 0, 'h' },
		{}
	};
	const char *iface = NULL, *dst = NULL, *src = NULL, *dport = NULL, *dmac = NULL,
		   *count = NULL, *duration = NULL, *obj_path = NULL;
	uint8_t dst_mac[6], src_mac[6], if_mac[6];
	int have_smac = 0, have_ifmac = 0, opt, ifindex, prog_fd, rc = 0;
	uint64_t v, n_count, repeat = 1U << 20, batch = 64, sent = 0, calls = 0, errors = 0, rate = 0;
	uint16_t sport_lo = 1024, sport_hi = 65535, port;
	uint32_t dst4, net;
	unsigned int plen;
	double secs, t0, t1, deadline;
	char objbuf[4096];
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *m, *rodata = NULL;
	struct xg_cfg *cfg;
	size_t sz;
	struct in_addr ia;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
	check_netns();

	while ((opt = getopt_long(argc, argv, "i:n:d:b:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'i': iface = optarg; break;
		case O_DST: dst = optarg; break;
		case O_DPORT: dport = optarg; break;
		case O_SRC: src = optarg; break;
		case O_DMAC: dmac = optarg; break;
		case O_SMAC:
			if (parse_mac(optarg, src_mac))
				BAD_ARG("bad --src-mac '%s'", optarg);
			have_smac = 1;
			break;
		case 'n': count = optarg; break;
		case 'd': duration = optarg; break;
		case O_SPORT: {
			unsigned int a, b;
			char extra;

			if (sscanf(optarg, "%u-%u%c", &a, &b, &extra) != 2 || !a || a > b || b > 65535)
				BAD_ARG("bad --sport-range '%s' (1 <= LO <= HI <= 65535)", optarg);
			sport_lo = a;
			sport_hi = b;
			break;
		}
		case O_REPEAT:
			if (parse_u64(optarg, 1, MAX_REPEAT, &repeat))
				BAD_ARG("bad --repeat '%s' (1-%u)", optarg, MAX_REPEAT);
			break;
		case 'b':
			if (parse_u64(optarg, 1, MAX_BATCH, &batch))
				BAD_ARG("bad --batch '%s' (1-%d)", optarg, MAX_BATCH);
			break;
		case O_OBJ: obj_path = optarg; break;
		case O_RATE:
			if (parse_u64(optarg, 1, MAX_RATE, &rate))
				BAD_ARG("bad --rate '%s' (1-%llu)", optarg, (unsigned long long)MAX_RATE);
			break;
		default:
			fprintf(stderr, "(see xdpgen --help)\n");
			return EXIT_REFUSE;
		}
	}
	if (optind < argc)
		BAD_ARG("unexpected argument '%s'", argv[optind]);
	if (!iface || !dst || !dport || !src || !dmac)
		BAD_ARG("-i, --dst, --dport, --src and --dst-mac are required");
	if (!count)
		BAD_ARG("--count is required (1-%llu)", (unsigned long long)MAX_COUNT);
	if (!duration)
		BAD_ARG("--duration is required (0 < SEC <= %.0f)", MAX_DURATION);
	ifindex = (int)if_nametoindex(iface);
	if (!ifindex)
		BAD_ARG("no interface '%s' in this network namespace", iface);
	if (parse_u64(dport, 1, 65535, &v))
		BAD_ARG("bad --dport '%s' (1-65535)", dport);
	port = (uint16_t)v;
	if (parse_mac(dmac, dst_mac))
		BAD_ARG("bad --dst-mac '%s'", dmac);
	if (parse_u64(count, 1, MAX_COUNT, &n_count))
		BAD_ARG("bad --count '%s' (1-%llu)", count, (unsigned long long)MAX_COUNT);
	{
		char *end;

		errno = 0;
		secs = strtod(duration, &end);
		if (errno || *end || end == duration || !(secs > 0) || secs > MAX_DURATION)
			BAD_ARG("bad --duration '%s' (0 < SEC <= %.0f)", duration, MAX_DURATION);
	}
	if (inet_pton(AF_INET, dst, &ia) != 1)
		BAD_ARG("bad --dst '%s' (IPv4 only)", dst);
	dst4 = ntohl(ia.s_addr);
	{
		char buf[32], *slash;

		if (strlen(src) >= sizeof(buf) || !(slash = strchr(strcpy(buf, src), '/')))
			BAD_ARG("--src must be an IPv4 CIDR (ADDR/PREFIX), got '%s'", src);
		*slash = 0;
		if (inet_pton(AF_INET, buf, &ia) != 1 || parse_u64(slash + 1, 0, 32, &v))
			BAD_ARG("bad --src '%s'", src);
		plen = (unsigned int)v;
		net = ntohl(ia.s_addr) & (plen ? 0xffffffffU << (32 - plen) : 0);
		if (!cidr_is_private(net, plen))
			die_refuse("--src %s is not entirely inside a private range (10/8, "
				   "172.16/12, 192.168/16, 198.18/15)", src);
	}
	check_dst(iface, dst4, if_mac, &have_ifmac);
	if (!have_smac) {
		if (!have_ifmac)
			die_refuse("cannot determine the MAC of %s; pass --src-mac", iface);
		memcpy(src_mac, if_mac, 6);
	}

	/* the program, configured through its .rodata before load */
	if (!obj_path) {
		ssize_t l = readlink("/proc/self/exe", objbuf, sizeof(objbuf) - 32);
		char *d;

		if (l <= 0) {
			fprintf(stderr, "xdpgen: cannot find my own path; pass --obj\n");
			return 1;
		}
		objbuf[l] = 0;
		d = dirname(objbuf);
		memmove(objbuf, d, strlen(d) + 1);
		strcat(objbuf, "/xdpgen.bpf.o");
		obj_path = objbuf;
	}
	libbpf_set_print(NULL);
	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj) {
		fprintf(stderr, "xdpgen: cannot open %s: %s\n", obj_path, strerror(errno));
		return 1;
	}
	bpf_object__for_each_map(m, obj)
		if (bpf_map__is_internal(m) && strstr(bpf_map__name(m), ".rodata"))
			rodata = m;
	/* (writable until load: what skeletons write their .rodata through) */
	cfg = rodata ? (struct xg_cfg *)(uintptr_t)bpf_map__initial_value(rodata, &sz) : NULL;
	if (!cfg || sz < sizeof(*cfg)) {
		fprintf(stderr, "xdpgen: %s has no configuration (.rodata)\n", obj_path);
		return 1;
	}
	build_cfg(cfg, dst_mac, src_mac, dst4, port, net, plen, sport_lo, sport_hi);
	cfg->gap_ns = rate ? 1000000000ull / rate : 0;
	cfg->max_frames = n_count;
	if (getrandom(&cfg->seed, sizeof(cfg->seed), 0) != sizeof(cfg->seed))
		cfg->seed = (uint64_t)time(NULL) * 2654435761u;
	if (bpf_object__load(obj) || !(prog = bpf_object__find_program_by_name(obj, "xdpgen"))) {
		fprintf(stderr, "xdpgen: cannot load %s: %s\n", obj_path, strerror(errno));
		return 1;
	}
	prog_fd = bpf_program__fd(prog);

	{
		struct sigaction sa = { .sa_handler = on_signal };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	inet_ntop(AF_INET, &(struct in_addr){ htonl(dst4) }, objbuf, 64);
	fprintf(stderr, "xdpgen: SYN flood out of %s -> %s:%u from %s, count=%llu duration=%gs "
		"repeat=%llu batch=%llu (BPF_PROG_TEST_RUN live frames)\n", iface, objbuf, port, src,
		(unsigned long long)n_count, secs, (unsigned long long)repeat,
		(unsigned long long)batch);

	t0 = now_s();
	deadline = t0 + secs;
	/* (sent: runs of the program; all frames, unless --rate holds some:
	 * the program then stops at --count by itself) */
	while (!g_stop && (rate || sent < n_count) && !(rate && made_so_far(obj) >= n_count)) {
		struct xdp_md md = { .data = 0, .data_end = XG_LEN, .ingress_ifindex = ifindex };
		double t = now_s(), left = deadline - t;
		__u32 r = !rate && n_count - sent < repeat ? (__u32)(n_count - sent) : (__u32)repeat;

		if (left <= 0)
			break;
		/* no call past the deadline, at the rate so far (the first:
		 * 65536 frames, to learn it) */
		if (!calls && r > 65536)
			r = 65536;
		else if (calls && sent / (t - t0) * left < r)
			r = (__u32)(sent / (t - t0) * left) + 1;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = cfg->frame, .data_size_in = XG_LEN,
			    .ctx_in = &md, .ctx_size_in = sizeof(md), .repeat = r,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = (__u32)batch);

		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			if (errno == EINTR)
				continue;	/* a signal: g_stop says whether to go on */
			fprintf(stderr, "xdpgen: BPF_PROG_TEST_RUN (live frames): %s%s\n",
				strerror(errno), errno == EINVAL ? " (needs Linux >= 5.18)" : "");
			errors++;
			rc = 1;
			break;
		}
		calls++;
		sent += r;
	}
	t1 = now_s();
	{
		/* what the program counted: frames made, frames aborted (too short
		 * for the SYN: never expected) */
		struct xg_stats st = {};

		if (read_stats(obj, &st)) {
			fprintf(stderr, "xdpgen: cannot read the program's counters\n");
			rc = 1;
		} else {
			if (st.aborted)
				fprintf(stderr, "xdpgen: %llu frames aborted\n",
					(unsigned long long)st.aborted);
			if (st.made + st.held + st.aborted != sent || (!rate && st.held))
				fprintf(stderr, "xdpgen: the program made %llu frames and held %llu, %llu expected\n",
					(unsigned long long)st.made, (unsigned long long)st.held,
					(unsigned long long)sent);
			errors += st.aborted;
			sent = st.made;
		}
	}
	printf("{\"sent\":%llu,\"seconds\":%.3f,\"pps\":%.0f,\"errors\":%llu,\"calls\":%llu,"
	       "\"repeat\":%llu,\"batch\":%llu}\n", (unsigned long long)sent, t1 - t0,
	       t1 > t0 ? sent / (t1 - t0) : 0.0, (unsigned long long)errors,
	       (unsigned long long)calls, (unsigned long long)repeat, (unsigned long long)batch);
	fflush(stdout);
	bpf_object__close(obj);
	return rc;
}
