// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_frames.c - a structure-aware frame fuzzer for synguard's BPF programs
 * through BPF_PROG_TEST_RUN, with the invariants of each mode checked on
 * every case.
 *
 *   fuzz_frames [--seed N|random]... [--cases N] [--mode monitor|protect|auto|all]
 *               [--replay PCT] [--out DIR] [-v]
 *
 * A case is one frame (or one segment of a flow replay) through the
 * programs of a mode: sg_xdp, then sg_tc_egress, then (protect, auto)
 * sg_tc_ingress -- every frame through every program, as if it arrived and
 * as if the host sent it. --cases is per seed, split evenly between the
 * modes; --replay PCT of each mode's cases are flow replays (default 15).
 * Every case's frame comes from its own PRNG stream, splitmix64 of (seed,
 * mode, case), so a seed reproduces a run; the maps' state carries from
 * case to case, as on a real interface. A violation prints a FAIL line and
 * writes OUT/fuzz-fail-<seed>-<case>.pcap (classic pcap, Ethernet: the
 * frame; for a replay, the replay's recent frames up to it). The last line
 * is "fuzz: N passed, M failed" (cases), exit status 1 if M > 0.
 *
 * THE INVARIANTS (docs/fuzzing.md explains each one)
 *
 * Every program, every mode:
 *  I1  BPF_PROG_TEST_RUN succeeds. (The kernel itself refuses frames
 *      shorter than 14 bytes for XDP, and for TC shorter than Ethernet +
 *      the IPv4 (20) or IPv6 (40) header its ethertype names: such runs are
 *      counted as refused, never generated for XDP.)
 *  I2  The parser's class agrees with an independent one (tests/prog/
 *      decode.c, h_frame_parse): XDP adds exactly one of tcp / other /
 *      malformed, and syn / synack / fin / rst by the flags; TC egress adds
 *      egress and, for TCP, egress_tcp. packets +1 per XDP run.
 *  I3  A drop_* counter moves only with XDP_DROP, and an XDP_DROP moves
 *      exactly one of them by exactly one. (Drop reasons are the counters
 *      whose name, user/parse.c, starts with "drop_".)
 *  I4  TC egress and TC ingress return TC_ACT_OK with the frame unchanged
 *      and move no XDP, cookie or drop counter.
 *  I5  No event is lost (the fuzzer drains the ring buffer after every
 *      case) and every event is well-formed: a known type; for a state
 *      change, side client/server, from != to, both < SG_STATE_MAX, a known
 *      cause and closer, family 4 or 6.
 *  I6  The flow tables stay self-consistent (checked every 16384 cases,
 *      and after every replay segment): every entry's states < SG_STATE_MAX,
 *      busy flag released, key normalised (port_lo <= port_hi, ties by
 *      address; IPv4 words 1-3 and padding zero; family 4 or 6), client
 *      side, close side and close cause in range; no key in both sg_flows4/sg_flows
 *      and sg_halfopen; sg_ho_count counts exactly sg_halfopen's entries
 *      in each slot.
 * monitor:
 *  M1  XDP returns XDP_PASS with the frame unchanged (no metadata); no
 *      cookie counter moves.
 * protect, auto (a port is protected: --ports given ? flagged : any; its
 * cookies are on: protect ? always : the port's cookie flag):
 *  P1  XDP_TX if and only if the frame is a well-formed SYN for the cookie
 *      path: class TCP; SYN set and ACK, RST, FIN clear; a protected port
 *      with cookies on and a listener for the family; IPv4 without options
 *      or IPv6 without extension headers; well-formed TCP options; a valid
 *      IPv4 header checksum and a TCP checksum complete or holding just the
 *      pseudo-header's sum (CHECKSUM_PARTIAL), over at most 16 KiB of data.
 *  P2  An XDP_TX frame is a SYN-ACK that the independent decoder accepts:
 *      IPv4/TCP checksums valid, tags and MACs (swapped), addresses and
 *      ports swapped, flags SYN|ACK, ack = ISN + 1, window != 0, TTL 64,
 *      IPv4 DF id 0 / IPv6 flow label 0, no payload, options well-formed
 *      and exactly what the client offered and the settings allow (MSS of
 *      the settings, TS with TSecr = the client's TSval, SACK and WS only
 *      with TS, the TSval carrying the client's WS and SACK), and seq a
 *      valid cookie (include/sg_cookie.h, the secrets read from the map)
 *      whose MSS index is the client's MSS's. cookies_sent +1.
 *  P3  XDP_DROP only for an ACK (ACK set, SYN and RST clear) to a
 *      protected port with cookies on whose cookie is not valid.
 *  P5  (policy, on in some loads: --syn-limit, --synack-cap, random small
 *      values) XDP_DROP by drop_syn_limited only for a SYN (ACK and RST
 *      clear) with the limit on, in any mode; by drop_synack_capped only
 *      for a SYN the cookie path would answer but for its checks of the
 *      frame (protect/auto, SYN alone, protected port with cookies on and
 *      a listener) with the cap on. These, and P1's TX, are the only
 *      verdicts such a SYN may get; M1 and P1 allow for them.
 *  P6  (--deny and --allow, on in a quarter of the loads each, with a few
 *      prefixes of the generator's addresses) a frame that parses (TCP or
 *      not) from a denied source is XDP_DROP by drop_denied, whatever the
 *      mode, and drop_denied moves for no other; an allowed source's TCP
 *      segment is never dropped by the SYN limit, the cap or a bad cookie,
 *      and its SYN is never answered (P1 allows for both).
 *  P4  XDP_PASS leaves the frame unchanged, except that it may prepend the
 *      16-byte handoff metadata, and does so exactly when cookies_valid
 *      moves: then the frame is an ACK to a protected port with cookies on
 *      (or in its grace period) carrying a valid cookie, and the metadata
 *      holds the cookie's MSS and the ACK's timestamps and options.
 * Flow replays (a few tuples, tiny tables, seq/ack near the 2^32 wrap,
 * scripted handshakes and closes mixed with random flags, retransmissions
 * and RSTs in every state): the same invariants on every segment, and I6
 * after every one.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "decode.h"
#include "sg_cookie.h"
#include "sg_flow.h"

#define XDP_DROP_ 1
#define XDP_PASS_ 2
#define XDP_TX_ 3
#define TC_ACT_OK_ 0

#define MAXF 2048		/* frame buffer */
#define EPOCH_CASES 1000000	/* frame cases per skeleton load (one settings draw) */
#define CLEAR_EVERY 16384	/* frame cases between flow-table checks and clears */
#define FRAME_TABLE 1024	/* sg_flows / sg_halfopen size for frame cases */
#define REPLAY_TABLE 4		/* ... for flow replays: full most of the time */
#define REPLAY_CLEAR 2048	/* replay segments between clears */
#define MAX_PCAPS 20
#define REPLAY_KEEP 64		/* recent replay frames written with a failure */

/* service ports in the fuzzer's own network namespace */
enum { P_BOTH = 8080, P_V4 = 8081, P_V6 = 8082, P_CLOSED = 8083, P_UNPROT = 8084 };
static const __u16 svc_ports[] = { P_BOTH, P_V4, P_V6, P_CLOSED, P_UNPROT };
#define NSVC (int)(sizeof(svc_ports) / sizeof(svc_ports[0]))

static const char *mode_names[] = { "monitor", "protect", "auto" };

/* ---- PRNG: splitmix64 ---- */

struct rng {
	__u64 s;
};

static __u64 mix64(__u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u64 rnext(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

static __u32 rbelow(struct rng *r, __u32 n)
{
	return n ? (__u32)(((rnext(r) >> 32) * (__u64)n) >> 32) : 0;
}

static int rchance(struct rng *r, int pct)
{
	return (int)rbelow(r, 100) < pct;
}

static void rbytes(struct rng *r, __u8 *p, __u32 n)
{
	while (n) {
		__u64 v = rnext(r);

		for (int i = 0; i < 8 && n; i++, n--)
			*p++ = (__u8)(v >> (8 * i));
	}
}

/* a stream of its own for (seed, a, b, c) */
static struct rng rstream(__u64 seed, __u64 a, __u64 b, __u64 c)
{
	struct rng r = { mix64(seed ^ mix64(a + 0x1234567ULL) ^ mix64(b * 0x9e3779b97f4a7c15ULL + 17) ^
			       mix64(c + 0xabcdefULL)) };
	return r;
}

/* The clock the programs make cookies with (bpf_ktime_get_coarse_ns(): up
 * to a tick behind CLOCK_MONOTONIC; a cookie made by the fine clock in the
 * last tick of a window is one window ahead of theirs). They check them with
 * the tick's time (sg_tick_ns()), which can lag that by one more tick: a
 * run's check time lies between coarse_ns() - tick_ns() before it and
 * CLOCK_MONOTONIC after it (struct fz, ack_lo/ack_hi). */
static __u64 tick_ns(void)
{
	struct timespec ts;

	if (clock_getres(CLOCK_MONOTONIC_COARSE, &ts) || ts.tv_sec)
		return 10000000ull;	/* (HZ=100) */
	return (__u64)ts.tv_nsec;
}

static __u64 coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = (__u8)v;
}

static void put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = (__u8)(v >> 16);
	p[2] = (__u8)(v >> 8);
	p[3] = (__u8)v;
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

/* ---- statistics and coverage ---- */

enum { V_PASS, V_TX, V_DROP, V_META, V_NUM };

struct stats {
	__u64 cases, bad, frames, steps, refused, secs_ns;
	__u64 verdict[V_NUM];
	__u64 cls[3];
	__u64 flags_seen[4];	/* bitmap: TCP flag bytes seen in TCP-class frames */
	__u32 doff_seen;	/* bitmap: data offsets 0-15 of frames with a TCP header */
	__u64 vlans[3], ipopts, exthdrs, frags, lying, trunc, flips, bad_opts, policy_drops, listed;
	__u64 loss_flows, loss_halfopen, events, epochs;
	__u32 rst_c, rst_s;	/* bitmaps: states of client/server when an RST was replayed */
	__u64 wraps;		/* replayed segments whose sequence number wrapped */
	__u64 auto_on, auto_off;	/* auto: answerable SYNs with the port's cookies on / off */
};

/* ---- the fuzzer's context ---- */

struct fz {
	/* run */
	__u64 seed;
	int mode;		/* enum sg_mode */
	int replay;		/* 1 while replaying flows */
	__u64 case_no;		/* global case number (pcap names) */
	const char *out_dir;
	int verbose, pcaps;
	/* skeleton */
	struct h_ctx *h;
	struct ring_buffer *rb;
	int fd_xdp, fd_eg, fd_in, fd_cnt, fd_sec, fd_ports, fd_flows4, fd_flows, fd_half, fd_hoc;
	/* The XDP run's clock lies between these two: CLOCK_MONOTONIC_COARSE
	 * before it (never ahead of the fine clock) and CLOCK_MONOTONIC after */
	__u64 ack_lo, ack_hi;
	__u32 table_size;
	int ncpu;
	struct sg_counters *pcpu;
	int drop_idx[SG_CNT_MAX], ndrop;
	__u64 cnt[SG_CNT_MAX];	/* counters after the last read */
	/* settings of this load */
	struct sg_settings set;
	struct sg_lpm_key lists[2][4];	/* --deny [0], --allow [1] of this load */
	int nlist[2];
	__u32 pflags[NSVC];	/* sg_ck_ports flags of the service ports */
	struct sg_cookie_secrets sec;
	__u32 rotations;
	/* the current case */
	char why[512];
	int nwhy;
	int ev_bad;
	char ev_why[160];
	struct stats st;
};

static void fail(struct fz *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct fz *z, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (z->nwhy >= (int)sizeof(z->why) - 2)
		return;
	if (z->nwhy)
		z->why[z->nwhy++] = ';', z->why[z->nwhy++] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(z->why + z->nwhy, sizeof(z->why) - z->nwhy, fmt, ap);
	va_end(ap);
	if (n > 0)
		z->nwhy += n;
	if (z->nwhy >= (int)sizeof(z->why))
		z->nwhy = sizeof(z->why) - 1;
}

/* ---- ports and listeners ---- */

static int svc_idx(__u16 port)
{
	for (int i = 0; i < NSVC; i++)
		if (svc_ports[i] == port)
			return i;
	return -1;
}

static int has_listener(__u16 port, int family)
{
	switch (port) {
	case P_BOTH:
	case P_UNPROT:
		return 1;
	case P_V4:
		return family == 4;
	case P_V6:
		return family == 6;
	default:
		return 0;
	}
}

static __u32 port_flags(const struct fz *z, __u16 port)
{
	int i = svc_idx(port);

	return i < 0 ? 0 : z->pflags[i];
}

static int port_protected(const struct fz *z, __u16 port)
{
	return z->set.explicit_ports ? !!(port_flags(z, port) & SG_PORT_PROTECTED) : 1;
}

static int port_cookies(const struct fz *z, __u16 port)
{
	return z->set.mode == SG_MODE_PROTECT || (port_flags(z, port) & SG_PORT_COOKIES);
}

/* A listener on port (the shared harness's, at a fixed port). */
static int listen_on(int family, __u16 port)
{
	return h_listen(family, &port);
}

/* ---- loading ---- */

static void configure(struct synguard_bpf *skel, void *arg)
{
	struct fz *z = arg;

	skel->rodata->sg_cfg = z->set;
	bpf_map__set_max_entries(skel->maps.sg_flows4, z->table_size);
	bpf_map__set_max_entries(skel->maps.sg_flows, z->table_size);
	bpf_map__set_max_entries(skel->maps.sg_halfopen, z->table_size);
	if (z->set.mode == SG_MODE_MONITOR)	/* as user/cookie.c: not even loaded */
		bpf_program__set_autoload(skel->progs.sg_tc_ingress, false);
}

static void check_event(struct fz *z, const struct sg_event *e, size_t len)
{
	const char *bad = NULL;

	z->st.events++;
	if (len < sizeof(*e))
		bad = "short record";
	else if (e->type < SG_EV_STATE || e->type > SG_EV_STATS)
		bad = "unknown type";
	else if (e->type == SG_EV_STATE) {
		if (e->family != 4 && e->family != 6)
			bad = "family";
		else if (e->side > SG_SIDE_SERVER)
			bad = "side";
		else if (e->from >= SG_STATE_MAX || e->to >= SG_STATE_MAX)
			bad = "state out of range";
		else if (e->from == e->to)
			bad = "from == to";
		else if (e->cause >= SG_CAUSE_MAX)
			bad = "cause";
		else if (e->closer > SG_CLOSER_TIMEOUT)
			bad = "closer";
	} else if (e->type == SG_EV_SYN_SUMMARY) {
		if (e->not_printed > e->syns)
			bad = "summary: not_printed > syns";
	}
	if (bad && !z->ev_bad++)
		snprintf(z->ev_why, sizeof(z->ev_why), "event: %s (type %u side %u %u->%u cause %u)", bad,
			 e->type, e->side, e->from, e->to, e->cause);
}

/* Each transition of a record (two for a twin), checked. */
static int on_event(void *ctx, void *data, size_t len)
{
	struct sg_event a, b;
	int n;

	if (len < sizeof(a)) {
		check_event(ctx, data, len);
		return 0;
	}
	n = sg_event_split(data, &a, &b);
	check_event(ctx, &a, len);
	if (n == 2)
		check_event(ctx, &b, len);
	return 0;
}

static void read_counters(struct fz *z, __u64 *c)
{
	__u32 zero = 0;

	memset(c, 0, sizeof(__u64) * SG_CNT_MAX);
	if (bpf_map_lookup_elem(z->fd_cnt, &zero, z->pcpu))
		return;
	for (int i = 0; i < z->ncpu; i++)
		for (int j = 0; j < SG_CNT_MAX; j++)
			c[j] += z->pcpu[i].c[j];
}

static int write_secrets(struct fz *z)
{
	__u32 zero = 0;

	return bpf_map_update_elem(z->fd_sec, &zero, &z->sec, BPF_ANY);
}

/* as sg_cookie_rotate(), with keys from the seed: reproducible cookies */
static int rotate(struct fz *z, struct rng *r)
{
	__u32 idle = (z->sec.cur & 1) ^ 1;

	z->sec.key[idle].k0 = rnext(r) | 1;
	z->sec.key[idle].k1 = rnext(r);
	z->sec.cur = idle;
	z->sec.gen++;
	z->rotations++;
	return write_secrets(z);
}

static int write_port_flags(struct fz *z)
{
	for (int i = 0; i < NSVC; i++) {
		struct sg_port_cfg pc;
		__u32 port = svc_ports[i];

		if (bpf_map_lookup_elem(z->fd_ports, &port, &pc))
			return -1;
		pc.flags = z->pflags[i];	/* seen4/seen6 are the program's */
		if (bpf_map_update_elem(z->fd_ports, &port, &pc, BPF_ANY))
			return -1;
	}
	return 0;
}

/* auto mode: cookie flags of the service ports on and off */
static void draw_port_flags(struct fz *z, struct rng *r)
{
	for (int i = 0; i < NSVC; i++) {
		__u32 f = 0;

		if (z->set.explicit_ports && svc_ports[i] != P_UNPROT)
			f |= SG_PORT_PROTECTED;
		if (z->set.mode == SG_MODE_AUTO) {
			int k = rbelow(r, 4);

			f |= k == 1 ? SG_PORT_COOKIES : k == 2 ? SG_PORT_GRACE : 0;
		}
		z->pflags[i] = f;
	}
}

static void gen_addr(struct rng *r, int family, __u8 *a);

/* The settings of one load, drawn from the seed. */
static void draw_settings(struct fz *z, struct rng *r)
{
	struct sg_settings s = SG_SETTINGS_DEFAULTS;

	s.mode = z->mode;
	if (z->mode != SG_MODE_MONITOR) {
		s.explicit_ports = rchance(r, z->mode == SG_MODE_PROTECT ? 70 : 50);
		s.allow_ts = rchance(r, 80);
		s.allow_sack = rchance(r, 80);
		s.allow_ws = rchance(r, 80);
		s.wscale = rbelow(r, 15);
		s.mss4 = rchance(r, 70) ? 1460 : 536 + rbelow(r, 8500);
		s.mss6 = rchance(r, 70) ? 1440 : 1220 + rbelow(r, 7800);
	}
	s.family = rchance(r, 80) ? 0 : rchance(r, 50) ? 4 : 6;
	s.port_filter = rchance(r, 20);
	s.addr_filter = rchance(r, 20);
	s.syn_quiet = rchance(r, 70) ? SG_SYN_SUMMARY_DEFAULT : 1 + rbelow(r, 4);
	/* the policy's rate stages, with values small enough to bite */
	if (rchance(r, 30)) {
		s.syn_limit = 1 + rbelow(r, 400);
		s.limit_prefix4 = rbelow(r, 33);
		s.limit_prefix6 = rbelow(r, 129);
	}
	if (z->mode != SG_MODE_MONITOR && rchance(r, 40)) {
		s.synack_cap = 1 + rbelow(r, 400);
		s.cap_seed = (__u32)rnext(r);
	}
	/* --deny, --allow: a few prefixes of the generator's addresses,
	 * mostly whole ones (a short prefix would take a family whole) */
	for (int l = 0; l < 2; l++) {
		z->nlist[l] = 0;
		if (!rchance(r, 25))
			continue;
		z->nlist[l] = 1 + rbelow(r, 4);
		for (int i = 0; i < z->nlist[l]; i++) {
			struct sg_lpm_key *k = &z->lists[l][i];
			int fam = rchance(r, 50) ? 4 : 6, bits = fam == 4 ? 32 : 128;
			__u32 plen = rchance(r, 70) ? (__u32)bits : rbelow(r, bits + 1);

			memset(k, 0, sizeof(*k));
			k->family = fam;
			k->prefixlen = 32 + plen;
			gen_addr(r, fam, (__u8 *)k->addr);
			for (int w = 0; w < 4; w++) {
				int b = (int)plen - w * 32;

				k->addr[w] &= b >= 32 ? ~0u : b <= 0 ? 0 : htonl(~0u << (32 - b));
			}
		}
	}
	s.deny = z->nlist[0] > 0;
	s.allow = z->nlist[1] > 0;
	z->set = s;
}

static int load(struct fz *z, struct rng *r, __u32 table_size)
{
	__u8 one = 1;

	z->table_size = table_size;
	if (h_open(z->h, configure, z)) {
		fprintf(stderr, "fuzz_frames: cannot load synguard.bpf.o (%s)\n", mode_names[z->mode]);
		return -1;
	}
	/* our own event callback: every record is checked */
	ring_buffer__free(z->h->rb);
	z->h->rb = z->rb = ring_buffer__new(bpf_map__fd(z->h->skel->maps.sg_events), on_event, z, NULL);
	if (!z->rb)
		return -1;
	z->fd_xdp = bpf_program__fd(z->h->skel->progs.sg_xdp);
	z->fd_eg = bpf_program__fd(z->h->skel->progs.sg_tc_egress);
	z->fd_in = z->mode == SG_MODE_MONITOR ? -1 : bpf_program__fd(z->h->skel->progs.sg_tc_ingress);
	z->fd_cnt = bpf_map__fd(z->h->skel->maps.sg_counters);
	z->fd_sec = bpf_map__fd(z->h->skel->maps.sg_ck_secrets);
	z->fd_ports = bpf_map__fd(z->h->skel->maps.sg_ck_ports);
	z->fd_flows4 = bpf_map__fd(z->h->skel->maps.sg_flows4);
	z->fd_flows = bpf_map__fd(z->h->skel->maps.sg_flows);
	z->fd_half = bpf_map__fd(z->h->skel->maps.sg_halfopen);
	z->fd_hoc = bpf_map__fd(z->h->skel->maps.sg_ho_count);
	memset(&z->sec, 0, sizeof(z->sec));
	z->sec.cur = 1;
	if (rotate(z, r) || rotate(z, r))	/* both slots keyed */
		return -1;
	draw_port_flags(z, r);
	if (write_port_flags(z))
		return -1;
	if (z->set.port_filter) {
		__u16 p1 = P_BOTH, p2 = 443;

		bpf_map_update_elem(bpf_map__fd(z->h->skel->maps.sg_filter_ports), &p1, &one, BPF_ANY);
		bpf_map_update_elem(bpf_map__fd(z->h->skel->maps.sg_filter_ports), &p2, &one, BPF_ANY);
	}
	if (z->set.addr_filter) {
		struct sg_lpm_key k4 = { .prefixlen = 32 + 8, .family = 4 }, k6 = { .prefixlen = 32 + 8, .family = 6 };
		int fd = bpf_map__fd(z->h->skel->maps.sg_filter_addr);

		inet_pton(AF_INET, "10.0.0.0", k4.addr);
		inet_pton(AF_INET6, "fd00::", k6.addr);
		bpf_map_update_elem(fd, &k4, &one, BPF_ANY);
		bpf_map_update_elem(fd, &k6, &one, BPF_ANY);
	}
	/* the lists, as user/policy.c installs them: a trie in each outer slot */
	for (int l = 0; l < 2; l++) {
		int tfd, outer = bpf_map__fd(l ? z->h->skel->maps.sg_allow : z->h->skel->maps.sg_deny);
		LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_NO_PREALLOC);
		__u32 zero = 0;

		if (!z->nlist[l])
			continue;
		tfd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "fz_list", sizeof(struct sg_lpm_key), 1, 8, &mo);
		if (tfd < 0)
			return -1;
		for (int i = 0; i < z->nlist[l]; i++)
			bpf_map_update_elem(tfd, &z->lists[l][i], &one, BPF_ANY);
		if (bpf_map_update_elem(outer, &zero, &tfd, BPF_ANY)) {
			close(tfd);
			return -1;
		}
		close(tfd);
	}
	read_counters(z, z->cnt);
	z->st.epochs++;
	return 0;
}

/* 1 if the frame's source is on list l (0 deny, 1 allow) of this load. */
static int on_list(const struct fz *z, int l, const struct h_frame *r)
{
	for (int i = 0; i < z->nlist[l]; i++) {
		const struct sg_lpm_key *k = &z->lists[l][i];
		__u32 a[4] = {}, plen = k->prefixlen - 32, w;

		if ((int)k->family != r->family)
			continue;
		memcpy(a, r->saddr, r->family == 6 ? 16 : 4);
		for (w = 0; w < 4; w++) {
			int b = (int)plen - (int)w * 32;
			__u32 m = b >= 32 ? ~0u : b <= 0 ? 0 : htonl(~0u << (32 - b));

			if ((a[w] & m) != k->addr[w])
				break;
		}
		if (w == 4)
			return 1;
	}
	return 0;
}

static void unload(struct fz *z)
{
	h_close(z->h);
	z->rb = NULL;
}

/* ---- flow tables: consistency (I6) and clearing ---- */

static void check_flow(struct fz *z, const char *map, const struct sg_flow_key *k, const struct sg_flow *f)
{
	const char *bad = NULL;

	if (k->family != 4 && k->family != 6)
		bad = "key family";
	else if (k->pad[0] || k->pad[1] || k->pad[2])
		bad = "key padding";
	else if (k->family == 4 && (k->addr_lo[1] | k->addr_lo[2] | k->addr_lo[3] | k->addr_hi[1] |
				    k->addr_hi[2] | k->addr_hi[3]))
		bad = "IPv4 key with IPv6 words";
	else if (k->port_lo > k->port_hi)
		bad = "key not normalised (ports)";
	else if (k->port_lo == k->port_hi) {
		for (int i = 0; i < 4; i++) {
			if (k->addr_lo[i] != k->addr_hi[i]) {
				if (k->addr_lo[i] > k->addr_hi[i])
					bad = "key not normalised (addresses)";
				break;
			}
		}
	}
	if (!bad) {
		if (f->state[0] >= SG_STATE_MAX || f->state[1] >= SG_STATE_MAX)
			bad = "state out of range";
		else if (f->busy)
			bad = "busy flag left set";
		else if (f->client_is_lo > 1)
			bad = "client_is_lo";
		else if (f->close_side > 1 || f->close_how > SG_CLOSE_TIMEOUT)
			bad = "close side/how";
	}
	if (bad)
		fail(z, "I6 %s entry %u:%u<->%u: %s (states %u/%u busy %u)", map, k->family, k->port_lo,
		     k->port_hi, bad, f->state[0], f->state[1], f->busy);
}

/* Read (and with del, empty) a flow table in batches; returns the entries.
 * Keys of ksz bytes (sg_flows4: struct sg_flow_key4). */
static int table_read(struct fz *z, int fd, int del, void *keys, size_t ksz, struct sg_flow *vals, __u32 max)
{
	__u32 n = 0, count;
	__u64 in_batch = 0, out_batch = 0;
	int first = 1, err;
	LIBBPF_OPTS(bpf_map_batch_opts, o);

	while (n < max) {
		count = max - n;
		if (del)
			err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in_batch, &out_batch,
							      (char *)keys + n * ksz, vals + n, &count, &o);
		else
			err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, (char *)keys + n * ksz,
						   vals + n, &count, &o);
		if (err && errno != ENOENT) {
			fail(z, "I6 batch read of a flow table: %s", strerror(errno));
			break;
		}
		n += count;
		if (err)
			break;	/* ENOENT: the last batch */
		in_batch = out_batch;
		first = 0;
	}
	return (int)n;
}

/* sg_halfopen's counting filter counts exactly its entries, slot by slot
 * (every slot when the tables are cleared; then it is zeroed with them): a
 * slot below its entries would make the tracker skip a lookup that finds
 * a flow. */
static void check_ho_count(struct fz *z, const struct sg_flow_key *kh, int nh, int clear)
{
	static struct sg_ho_count hc, want;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(z->fd_hoc, &zero, &hc)) {
		fail(z, "I6 sg_ho_count unreadable: %s", strerror(errno));
		return;
	}
	memset(&want, 0, sizeof(want));
	for (int i = 0; i < nh; i++)
		want.n[sg_ho_slot(&kh[i])]++;
	for (__u32 i = 0; i < SG_HO_SLOTS; i++) {
		if ((clear || want.n[i]) && hc.n[i] != want.n[i]) {
			fail(z, "I6 sg_ho_count slot %u counts %u, sg_halfopen has %u there", i, hc.n[i],
			     want.n[i]);
			break;
		}
	}
	if (clear) {
		memset(&hc, 0, sizeof(hc));
		if (bpf_map_update_elem(z->fd_hoc, &zero, &hc, BPF_ANY))
			fail(z, "I6 cannot clear sg_ho_count: %s", strerror(errno));
	}
}

static void check_tables(struct fz *z, int clear)
{
	static struct sg_flow_key kf[2 * (FRAME_TABLE + 64)], kh[FRAME_TABLE + 64];
	static struct sg_flow_key4 k4[FRAME_TABLE + 64];
	static struct sg_flow vf[2 * (FRAME_TABLE + 64)], vh[FRAME_TABLE + 64];
	/* sg_flows4 first (its keys widened), then sg_flows after them */
	int n4 = table_read(z, z->fd_flows4, clear, k4, sizeof(k4[0]), vf, z->table_size + 64);
	int n6 = table_read(z, z->fd_flows, clear, kf + n4, sizeof(kf[0]), vf + n4, z->table_size + 64);
	int nh = table_read(z, z->fd_half, clear, kh, sizeof(kh[0]), vh, z->table_size + 64);
	int nf = n4 + n6;

	if (n4 > (int)z->table_size || n6 > (int)z->table_size || nh > (int)z->table_size)
		fail(z, "I6 more entries than max_entries (%d, %d, %d)", n4, n6, nh);
	for (int i = 0; i < n4; i++)
		sg_flow_key_of4(&kf[i], &k4[i]);
	for (int i = 0; i < nf; i++) {
		check_flow(z, i < n4 ? "sg_flows4" : "sg_flows", &kf[i], &vf[i]);
		if (i >= n4 && kf[i].family == 4)
			fail(z, "I6 an IPv4 flow in sg_flows (port %u)", kf[i].port_hi);
	}
	for (int i = 0; i < nh; i++) {
		check_flow(z, "sg_halfopen", &kh[i], &vh[i]);
		for (int j = 0; j < nf; j++)
			if (!memcmp(&kh[i], &kf[j], sizeof(kh[i])))
				fail(z, "I6 a key in both sg_flows and sg_halfopen (port %u)", kh[i].port_hi);
	}
	check_ho_count(z, kh, nh, clear);
}

/* ---- pcap ---- */

static void pcap_write(struct fz *z, const __u8 *const *frames, const __u32 *lens, int n)
{
	char path[512];
	FILE *f;
	struct {
		__u32 magic;
		__u16 vmaj, vmin;
		__s32 zone;
		__u32 sigfigs, snaplen, linktype;
	} gh = { 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1 };

	if (z->pcaps >= MAX_PCAPS)
		return;
	z->pcaps++;
	snprintf(path, sizeof(path), "%s/fuzz-fail-%llu-%llu.pcap", z->out_dir, z->seed,
		 z->case_no);
	f = fopen(path, "wb");
	if (!f) {
		printf("    (cannot write %s: %s)\n", path, strerror(errno));
		return;
	}
	fwrite(&gh, sizeof(gh), 1, f);
	for (int i = 0; i < n; i++) {
		__u32 rh[4] = { (__u32)(z->case_no / 1000000), (__u32)(z->case_no % 1000000) + (__u32)i, lens[i],
				lens[i] };

		fwrite(rh, sizeof(rh), 1, f);
		fwrite(frames[i], 1, lens[i], f);
	}
	fclose(f);
	printf("    frame%s written to %s\n", n > 1 ? "s" : "", path);
}

static void hexdump(const __u8 *p, __u32 len)
{
	__u32 n = len < 96 ? len : 96;

	printf("    %u bytes:", len);
	for (__u32 i = 0; i < n; i++)
		printf("%s%02x", i % 32 ? " " : "\n      ", p[i]);
	printf("%s\n", n < len ? " ..." : "");
}

/* ---- running one frame through the programs ---- */

struct xdp_out {
	__u32 retval, len, meta;
	__u8 buf[4096];
};

static int run_xdp(struct fz *z, const __u8 *in, __u32 len, struct xdp_out *o)
{
	struct xdp_md ctx = { .data = 0, .data_end = len };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in, .data_size_in = len, .data_out = o->buf,
		    .data_size_out = sizeof(o->buf), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(z->fd_xdp, &t))
		return -errno;
	o->retval = t.retval;
	o->len = t.data_size_out;
	o->meta = ctx.data;
	return 0;
}

static int run_tc(int fd, const __u8 *in, __u32 len, struct h_run *r)
{
	return h_run_tc(fd, in, len, r);
}

/* The kernel's own refusal of short TC frames (bpf_prog_test_run_skb
 * pulls the L3 header its ethertype names). */
static int tc_refuses(const __u8 *f, __u32 len)
{
	__u16 proto = len >= 14 ? get16(f + 12) : 0;

	return len < 14 || (proto == 0x0800 && len < 34) || (proto == 0x86dd && len < 54);
}

static void cookie_in_of(const struct h_frame *r, struct sg_cookie_in *in, __u32 isn)
{
	memset(in, 0, sizeof(*in));
	memcpy(in->saddr, r->saddr, r->family == 6 ? 16 : 4);
	memcpy(in->daddr, r->daddr, r->family == 6 ? 16 : 4);
	in->sport = r->sport;
	in->dport = r->dport;
	in->isn = isn;
	in->family = r->family;
}

/* The secrets as the program sees them: read from sg_ck_secrets. */
static void map_secrets(struct fz *z, struct sg_cookie_secrets *s)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(z->fd_sec, &zero, s)) {
		fail(z, "I1 sg_ck_secrets lookup: %s", strerror(errno));
		*s = z->sec;
	} else if (memcmp(s, &z->sec, sizeof(*s))) {
		fail(z, "I1 sg_ck_secrets is not what was written");
	}
}

/* Whether the last XDP run had to find the ACK's cookie valid: 1 yes, 0 no,
 * -1 either (a window boundary fell within the run: its clock is known
 * only to lie between z->ack_lo and z->ack_hi). */
static int cookie_valid(struct fz *z, const struct h_frame *r, __u32 *mss_idx)
{
	struct sg_cookie_secrets sec;
	struct sg_cookie_in in;
	__u32 idx = 0, idx2 = 0;
	int lo, hi;

	map_secrets(z, &sec);
	cookie_in_of(r, &in, r->seq - 1);
	lo = sg_cookie_check(sg_cookie_mac, sec.key, &in, r->ack - 1, z->ack_lo, &idx) == SG_COOKIE_OK;
	hi = sg_cookie_check(sg_cookie_mac, sec.key, &in, r->ack - 1, z->ack_hi, &idx2) == SG_COOKIE_OK;
	if (mss_idx && (lo || hi))
		*mss_idx = lo ? idx : idx2;
	return lo == hi ? lo : -1;
}

/* P2: the SYN-ACK */
static void check_synack(struct fz *z, const __u8 *in, const struct h_frame *r, const struct xdp_out *o)
{
	const struct h_tcpopts *c = &r->opts;
	struct sg_cookie_secrets sec;
	struct h_synack s;
	struct sg_cookie_in ci;
	int alen = r->family == 6 ? 16 : 4, ts, ws, sack, ecn, want_ws;
	__u32 idx = 99;
	__u16 cmss;

	if (h_synack_decode(o->buf, o->len, &s)) {
		fail(z, "P2 SYN-ACK does not decode%s", s.bad_opt ? " (options)" : "");
		return;
	}
	if (!s.ip_csum_ok || !s.tcp_csum_ok)
		fail(z, "P2 checksum (IP %s, TCP %s)", s.ip_csum_ok ? "ok" : "bad", s.tcp_csum_ok ? "ok" : "bad");
	if (s.family != r->family || s.l3 != r->l3 || memcmp(o->buf + 12, in + 12, r->l3 - 12))
		fail(z, "P2 tags or family changed");
	if (memcmp(s.dmac, in + 6, 6) || memcmp(s.smac, in, 6))
		fail(z, "P2 MACs not swapped");
	if (memcmp(s.saddr, r->daddr, alen) || memcmp(s.daddr, r->saddr, alen))
		fail(z, "P2 addresses not swapped");
	if (s.sport != r->dport || s.dport != r->sport)
		fail(z, "P2 ports not swapped");
	if (s.flags != (SG_TCP_SYN | SG_TCP_ACK))
		fail(z, "P2 flags 0x%02x", s.flags);
	if (s.ack != r->seq + 1)
		fail(z, "P2 ack %u != ISN+1 %u", s.ack, r->seq + 1);
	if (!s.win || s.urg)
		fail(z, "P2 window %u urg %u", s.win, s.urg);
	if (s.ttl != 64)
		fail(z, "P2 TTL %u", s.ttl);
	if (r->family == 4 && (!s.df || s.ipid || s.frag || s.tos))
		fail(z, "P2 IPv4 DF %d id %d frag 0x%x tos %u", s.df, s.ipid, s.frag, s.tos);
	if (r->family == 6 && s.flowlabel)
		fail(z, "P2 IPv6 class/flow label 0x%x", s.flowlabel);
	if (s.tcp_len != (__u32)s.doff || o->len != s.l4 + s.doff)
		fail(z, "P2 payload or trailing bytes (TCP %u, doff %d, frame %u)", s.tcp_len, s.doff, o->len);
	/* options */
	ts = c->has_ts && z->set.allow_ts;
	if (!s.has_mss || s.mss != (r->family == 6 ? z->set.mss6 : z->set.mss4))
		fail(z, "P2 MSS option %d/%u", s.has_mss, s.mss);
	if (s.has_ts != ts)
		fail(z, "P2 timestamps %d, expected %d", s.has_ts, ts);
	if (s.has_sack != (ts && c->has_sack && z->set.allow_sack))
		fail(z, "P2 SACK_PERM %d", s.has_sack);
	if (s.has_ws != (ts && c->has_ws && z->set.allow_ws))
		fail(z, "P2 window scale %d", s.has_ws);
	if (s.has_ws && s.ws != (z->set.wscale > 14 ? 14 : z->set.wscale))
		fail(z, "P2 our wscale %u", s.ws);
	if (ts) {
		if (s.tsecr != c->tsval)
			fail(z, "P2 TSecr %u != client TSval %u", s.tsecr, c->tsval);
		sg_tsopts_decode(s.tsval, &ws, &sack, &ecn);
		want_ws = c->has_ws && z->set.allow_ws ? (c->ws > 14 ? 14 : c->ws) : -1;
		if (ws != want_ws || sack != s.has_sack || ecn)
			fail(z, "P2 TSval carries ws %d sack %d ecn %d, expected ws %d sack %d", ws, sack, ecn,
			     want_ws, s.has_sack);
	}
	/* the cookie, checked with the secrets in the map */
	map_secrets(z, &sec);
	cookie_in_of(r, &ci, r->seq);
	if (sg_cookie_check(sg_cookie_mac, sec.key, &ci, s.seq, mono_ns(), &idx) != SG_COOKIE_OK) {
		fail(z, "P2 seq 0x%08x is not a valid cookie", s.seq);
	} else {
		cmss = c->has_mss && c->mss ? c->mss : (r->family == 6 ? 1220 : 536);
		if (idx != sg_mss_idx(cmss, r->family))
			fail(z, "P2 cookie MSS index %u, client MSS %u", idx, cmss);
	}
}

/* P4: the handoff metadata */
static void check_meta(struct fz *z, const struct h_frame *r, const struct xdp_out *o, const __u64 *d)
{
	struct sg_cookie_meta m;
	__u32 idx = 99;
	int ws, sack, ecn;
	__u8 want = 0;

	memcpy(&m, o->buf, sizeof(m));
	if (o->meta != sizeof(m)) {
		fail(z, "P4 metadata of %u bytes", o->meta);
		return;
	}
	if (!d[SG_CNT_COOKIE_VALID])
		fail(z, "P4 metadata without cookies_valid");
	if (z->mode == SG_MODE_MONITOR || r->cls != H_TCP ||
	    (r->flags & (SG_TCP_SYN | SG_TCP_RST | SG_TCP_ACK)) != SG_TCP_ACK || !port_protected(z, r->dport) ||
	    !(port_cookies(z, r->dport) || (port_flags(z, r->dport) & SG_PORT_GRACE))) {
		fail(z, "P4 metadata for a frame off the cookie path");
		return;
	}
	if (!cookie_valid(z, r, &idx)) {
		fail(z, "P4 metadata for an invalid cookie");
		return;
	}
	if (m.magic != SG_META_MAGIC || m.mss != sg_mss_val(idx))
		fail(z, "P4 metadata magic 0x%x mss %u (cookie's %u)", m.magic, m.mss, sg_mss_val(idx));
	if (r->opts_ok && r->opts.has_ts && z->set.allow_ts) {
		want = SG_META_TS;
		sg_tsopts_decode(r->opts.tsecr, &ws, &sack, &ecn);
		if (sack && z->set.allow_sack)
			want |= SG_META_SACK;
		if (ws >= 0 && z->set.allow_ws)
			want |= SG_META_WS;
		if (m.tsval != r->opts.tsval || m.tsecr != r->opts.tsecr)
			fail(z, "P4 metadata timestamps %u/%u, ACK's %u/%u", m.tsval, m.tsecr, r->opts.tsval,
			     r->opts.tsecr);
		if ((want & SG_META_WS) && m.snd_wscale != ws)
			fail(z, "P4 metadata wscale %u, ACK's TSecr says %d", m.snd_wscale, ws);
	}
	if (m.opts != want)
		fail(z, "P4 metadata options 0x%x, expected 0x%x", m.opts, want);
}

/* Run one frame through the mode's programs and check every invariant.
 * xo (may be NULL) receives XDP's output. Returns 1 if the case held. */
static int run_case(struct fz *z, const __u8 *in, __u32 len, int do_xdp, int do_egress, struct xdp_out *xo_ret)
{
	static struct xdp_out xo;
	struct h_frame r;
	struct h_run tr;
	__u64 a[SG_CNT_MAX], d[SG_CNT_MAX];
	int err, expect_tx, ndrop = 0, dropped_by = -1, syn, ackc, denied, allowed, allowed_syn;
	__u32 idx;

	z->nwhy = 0;
	z->why[0] = 0;
	z->ev_bad = 0;
	h_frame_parse(in, len, &r);
	syn = r.cls == H_TCP && (r.flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST | SG_TCP_FIN)) == SG_TCP_SYN;
	ackc = r.cls == H_TCP && (r.flags & (SG_TCP_SYN | SG_TCP_RST | SG_TCP_ACK)) == SG_TCP_ACK;
	/* P6: the lists. deny: any frame that parses, from a listed source;
	 * allow: a TCP segment's (its SYN is the kernel's) */
	denied = z->set.deny && r.cls != H_MALFORMED && r.family && on_list(z, 0, &r);
	allowed = !denied && z->set.allow && r.cls == H_TCP && on_list(z, 1, &r);
	allowed_syn = allowed && (r.flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) == SG_TCP_SYN;
	expect_tx = z->mode != SG_MODE_MONITOR && syn && port_protected(z, r.dport) && port_cookies(z, r.dport) &&
		    has_listener(r.dport, r.family) && r.plain && r.opts_ok && h_syn_csum_ok(in, len, &r) &&
		    !denied && !allowed_syn;

	/* coverage */
	if (do_xdp && z->mode == SG_MODE_AUTO && syn && port_protected(z, r.dport) && has_listener(r.dport, r.family) &&
	    r.plain && r.opts_ok) {
		if (port_cookies(z, r.dport))
			z->st.auto_on++;
		else
			z->st.auto_off++;
	}
	z->st.cls[r.cls]++;
	if (r.cls == H_TCP)
		z->st.flags_seen[r.flags >> 6] |= 1ull << (r.flags & 63);
	if (r.tcphdr)
		z->st.doff_seen |= 1u << (r.tcp_hlen / 4);
	if (r.cls == H_TCP && !r.opts_ok)
		z->st.bad_opts++;
	z->st.vlans[r.vlans]++;

	if (do_xdp) {
		z->ack_lo = coarse_ns() - tick_ns();
		err = len < 14 ? -EINVAL : run_xdp(z, in, len, &xo);
		z->ack_hi = mono_ns();
		if (err) {
			fail(z, "I1 XDP test run: %s", strerror(-err));
			goto out;
		}
		read_counters(z, a);
		for (int i = 0; i < SG_CNT_MAX; i++)
			d[i] = a[i] - z->cnt[i];
		memcpy(z->cnt, a, sizeof(a));
		/* I2 */
		if (d[SG_CNT_PACKETS] != 1)
			fail(z, "I2 packets +%llu", (unsigned long long)d[SG_CNT_PACKETS]);
		if (d[SG_CNT_TCP] != (r.cls == H_TCP) || d[SG_CNT_OTHER] != (r.cls == H_OTHER) ||
		    d[SG_CNT_MALFORMED] != (r.cls == H_MALFORMED))
			fail(z, "I2 class: tcp +%llu other +%llu malformed +%llu, reference says %s",
			     (unsigned long long)d[SG_CNT_TCP], (unsigned long long)d[SG_CNT_OTHER],
			     (unsigned long long)d[SG_CNT_MALFORMED],
			     r.cls == H_TCP ? "tcp" : r.cls == H_OTHER ? "other" : "malformed");
		if (r.cls == H_TCP &&
		    (d[SG_CNT_SYN] != ((r.flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN) ||
		     d[SG_CNT_SYNACK] != ((r.flags & (SG_TCP_SYN | SG_TCP_ACK)) == (SG_TCP_SYN | SG_TCP_ACK)) ||
		     d[SG_CNT_FIN] != !!(r.flags & SG_TCP_FIN) || d[SG_CNT_RST] != !!(r.flags & SG_TCP_RST)))
			fail(z, "I2 flag counters for flags 0x%02x", r.flags);
		if (d[SG_CNT_EGRESS] || d[SG_CNT_EGRESS_TCP] || d[SG_CNT_COOKIE_HANDOFF] || d[SG_CNT_HANDOFF_FAIL])
			fail(z, "I2 XDP moved a TC counter");
		/* I3 */
		for (int i = 0; i < z->ndrop; i++) {
			if (d[z->drop_idx[i]]) {
				ndrop++;
				dropped_by = z->drop_idx[i];
				if (d[z->drop_idx[i]] != 1)
					fail(z, "I3 %s +%llu", sg_counter_name(z->drop_idx[i]),
					     (unsigned long long)d[z->drop_idx[i]]);
			}
		}
		if (xo.retval == XDP_DROP_ && ndrop != 1)
			fail(z, "I3 XDP_DROP with %d drop reasons", ndrop);
		if (denied && (xo.retval != XDP_DROP_ || dropped_by != SG_DROP_DENIED))
			fail(z, "P6 a frame from a denied source got %u (%s)", xo.retval,
			     dropped_by >= 0 ? sg_counter_name(dropped_by) : "no drop reason");
		if (!denied && dropped_by == SG_DROP_DENIED)
			fail(z, "P6 drop_denied for a source on no deny list (class %d)", r.cls);
		if (allowed && (dropped_by == SG_DROP_SYN_LIMITED || dropped_by == SG_DROP_SYNACK_CAPPED ||
				dropped_by == SG_DROP_COOKIE_BAD))
			fail(z, "P6 an allowed source's segment dropped as %s", sg_counter_name(dropped_by));
		if (denied || allowed)
			z->st.listed++;
		if (xo.retval != XDP_DROP_ && ndrop)
			fail(z, "I3 %s moved without XDP_DROP", sg_counter_name(dropped_by));
		if (d[SG_LOSS_RINGBUF])
			fail(z, "I5 lost_events +%llu", (unsigned long long)d[SG_LOSS_RINGBUF]);
		z->st.loss_flows += d[SG_LOSS_FLOW_FULL];
		z->st.loss_halfopen += d[SG_LOSS_HALFOPEN_FULL];
		if (d[SG_CNT_COOKIE_SENT] != (xo.retval == XDP_TX_))
			fail(z, "P2 cookies_sent +%llu with retval %u", (unsigned long long)d[SG_CNT_COOKIE_SENT],
			     xo.retval);

		switch (xo.retval) {
		case XDP_PASS_:
			if (xo.meta) {
				z->st.verdict[V_META]++;
				check_meta(z, &r, &xo, d);
			} else {
				z->st.verdict[V_PASS]++;
				if (d[SG_CNT_COOKIE_VALID])
					fail(z, "P4 cookies_valid +%llu without metadata",
					     (unsigned long long)d[SG_CNT_COOKIE_VALID]);
			}
			if (xo.len != len + xo.meta || memcmp(xo.buf + xo.meta, in, len))
				fail(z, "%s XDP_PASS changed the frame (%u -> %u bytes)",
				     z->mode == SG_MODE_MONITOR ? "M1" : "P4", len, xo.len - xo.meta);
			if (z->mode == SG_MODE_MONITOR && xo.meta)
				fail(z, "M1 metadata in monitor mode");
			if (expect_tx)
				fail(z, "P1 a well-formed SYN to protected port %u with a listener was passed", r.dport);
			break;
		case XDP_TX_:
			z->st.verdict[V_TX]++;
			if (z->mode == SG_MODE_MONITOR)
				fail(z, "M1 XDP_TX in monitor mode");
			if (!expect_tx)
				fail(z, "P1 XDP_TX for a frame that is no well-formed SYN for the cookie path "
					"(class %d flags 0x%02x port %u plain %d options %s)",
				     r.cls, r.flags, r.dport, r.plain, r.opts_ok ? "ok" : "bad");
			else
				check_synack(z, in, &r, &xo);
			break;
		case XDP_DROP_:
			z->st.verdict[V_DROP]++;
			if (dropped_by == SG_DROP_DENIED) {
				z->st.policy_drops++;	/* (P6 above) */
			} else if (dropped_by == SG_DROP_SYN_LIMITED || dropped_by == SG_DROP_SYNACK_CAPPED) {
				int limsyn = r.cls == H_TCP &&
					     (r.flags & (SG_TCP_SYN | SG_TCP_ACK | SG_TCP_RST)) == SG_TCP_SYN;

				z->st.policy_drops++;
				if (dropped_by == SG_DROP_SYN_LIMITED && (!z->set.syn_limit || !limsyn))
					fail(z, "P5 drop_syn_limited for flags 0x%02x (limit %u)", r.flags,
					     z->set.syn_limit);
				if (dropped_by == SG_DROP_SYNACK_CAPPED &&
				    (!z->set.synack_cap || z->mode == SG_MODE_MONITOR || !syn ||
				     !port_protected(z, r.dport) || !port_cookies(z, r.dport) ||
				     !has_listener(r.dport, r.family)))
					fail(z, "P5 drop_synack_capped off the cookie SYN path (flags 0x%02x port %u)",
					     r.flags, r.dport);
			} else if (z->mode == SG_MODE_MONITOR)
				fail(z, "M1 XDP_DROP in monitor mode");
			else if (!ackc || !port_protected(z, r.dport) || !port_cookies(z, r.dport))
				fail(z, "P3 XDP_DROP of a frame off the cookie ACK path (flags 0x%02x port %u)",
				     r.flags, r.dport);
			else if (cookie_valid(z, &r, &idx) == 1)
				fail(z, "P3 XDP_DROP of an ACK with a valid cookie");
			break;
		default:
			fail(z, "I1 XDP returned %u", xo.retval);
		}
		if (z->mode == SG_MODE_MONITOR && (d[SG_CNT_COOKIE_SENT] || d[SG_CNT_COOKIE_VALID]))
			fail(z, "M1 a cookie counter moved in monitor mode");
		if (xo_ret)
			*xo_ret = xo;
	}

	/* I4: TC egress, TC ingress */
	if (do_egress || z->fd_in >= 0) {
		int ran_eg = 0;

		if (do_egress) {
			err = run_tc(z->fd_eg, in, len, &tr);
			if (err == -EINVAL && tc_refuses(in, len)) {
				z->st.refused++;
			} else if (err) {
				fail(z, "I1 TC egress test run: %s", strerror(-err));
			} else {
				ran_eg = 1;
				if (tr.retval != TC_ACT_OK_ || tr.out_len != len || memcmp(tr.out, in, len))
					fail(z, "I4 TC egress: retval %u, frame %s", tr.retval,
					     tr.out_len != len || memcmp(tr.out, in, len) ? "changed" : "unchanged");
			}
		}
		if (z->fd_in >= 0 && do_xdp) {
			err = run_tc(z->fd_in, in, len, &tr);
			if (err == -EINVAL && tc_refuses(in, len)) {
				z->st.refused++;
			} else if (err) {
				fail(z, "I1 TC ingress test run: %s", strerror(-err));
			} else if (tr.retval != TC_ACT_OK_ || tr.out_len != len || memcmp(tr.out, in, len)) {
				fail(z, "I4 TC ingress: retval %u, frame %s", tr.retval,
				     tr.out_len != len || memcmp(tr.out, in, len) ? "changed" : "unchanged");
			}
		}
		read_counters(z, a);
		for (int i = 0; i < SG_CNT_MAX; i++)
			d[i] = a[i] - z->cnt[i];
		memcpy(z->cnt, a, sizeof(a));
		if (d[SG_CNT_EGRESS] != (__u64)ran_eg || d[SG_CNT_EGRESS_TCP] != (__u64)(ran_eg && r.cls == H_TCP))
			fail(z, "I2 egress +%llu egress_tcp +%llu, reference says %s",
			     (unsigned long long)d[SG_CNT_EGRESS], (unsigned long long)d[SG_CNT_EGRESS_TCP],
			     r.cls == H_TCP ? "tcp" : "not tcp");
		for (int i = SG_CNT_PACKETS; i <= SG_CNT_MALFORMED; i++)
			if (d[i])
				fail(z, "I4 TC moved %s", sg_counter_name(i));
		for (int i = SG_CNT_COOKIE_SENT; i <= SG_DROP_COOKIE_BAD; i++)
			if (d[i])
				fail(z, "I4 TC moved %s", sg_counter_name(i));
		for (int i = 0; i < z->ndrop; i++)
			if (d[z->drop_idx[i]])
				fail(z, "I4 TC moved %s", sg_counter_name(z->drop_idx[i]));
		if (d[SG_LOSS_RINGBUF])
			fail(z, "I5 lost_events +%llu", (unsigned long long)d[SG_LOSS_RINGBUF]);
		z->st.loss_flows += d[SG_LOSS_FLOW_FULL];
		z->st.loss_halfopen += d[SG_LOSS_HALFOPEN_FULL];
	}
out:
	ring_buffer__consume(z->rb);
	if (z->ev_bad)
		fail(z, "I5 %s (%d bad records)", z->ev_why, z->ev_bad);
	return z->nwhy == 0;
}

static void report(struct fz *z, const __u8 *const *frames, const __u32 *lens, int n)
{
	z->st.bad++;
	if (z->st.bad <= 50 || z->verbose) {
		printf("  FAIL %s case %llu (seed %llu%s): %s\n", mode_names[z->mode], z->case_no,
		       z->seed, z->replay ? ", flow replay" : "", z->why);
		hexdump(frames[n - 1], lens[n - 1]);
		pcap_write(z, frames, lens, n);
	} else if (z->st.bad == 51) {
		printf("  (further failures of this mode counted, not printed)\n");
	}
}

/* ---- the frame generator ---- */

static const __u8 v4_pool[][4] = { { 10, 0, 0, 1 }, { 10, 0, 0, 2 }, { 10, 0, 0, 3 },
				   { 192, 168, 1, 1 }, { 127, 0, 0, 1 }, { 10, 1, 0, 2 } };
static const char *const v6_pool_s[] = { "fd00::1", "fd00::2", "fe80::1", "::1", "2001:db8::1", "::ffff:10.0.0.2" };
static __u8 v6_pool[6][16];

static void gen_addr(struct rng *r, int family, __u8 *a)
{
	int k = rbelow(r, 6);

	memset(a, 0, 16);
	if (rchance(r, 20)) {
		rbytes(r, a, family == 6 ? 16 : 4);
		return;
	}
	if (family == 6)
		memcpy(a, v6_pool[k], 16);
	else
		memcpy(a, v4_pool[k], 4);
}

static __u16 gen_port(struct rng *r, int server)
{
	static const __u16 wk[] = { 80, 443, 22, 53, 0, 65535, 40000, 51234 };

	if (server && rchance(r, 70))
		return svc_ports[rbelow(r, NSVC)];
	if (rchance(r, 25))
		return wk[rbelow(r, 8)];
	if (!server && rchance(r, 40))
		return 40000 + rbelow(r, 4);
	return (__u16)rnext(r);
}

/* Well-formed option lists of random options. Returns the length, padded to 4. */
static int gen_opts_list(struct rng *r, __u8 *o, int max)
{
	int n = 0;

	while (n < max && rchance(r, 80)) {
		__u8 tmp[40];
		int l = 0, k = rbelow(r, 14);

		switch (k) {
		case 0: tmp[0] = 1; l = 1; break;				/* NOP */
		case 1: tmp[0] = 2; tmp[1] = 4; put16(tmp + 2, (__u16)rnext(r)); l = 4; break;
		case 2: tmp[0] = 3; tmp[1] = 3; tmp[2] = rbelow(r, 20); l = 3; break;
		case 3: tmp[0] = 4; tmp[1] = 2; l = 2; break;
		case 4: tmp[0] = 8; tmp[1] = 10; rbytes(r, tmp + 2, 8); l = 10; break;
		case 5: l = 2 + 8 * (1 + rbelow(r, 4)); tmp[0] = 5; tmp[1] = l; rbytes(r, tmp + 2, l - 2); break;
		case 6: tmp[0] = 19; tmp[1] = 18; rbytes(r, tmp + 2, 16); l = 18; break;	/* MD5 */
		case 7: l = 2 + rbelow(r, 17); tmp[0] = 34; tmp[1] = l; rbytes(r, tmp + 2, l - 2); break;
		case 8: l = 4 + rbelow(r, 8); tmp[0] = 254; tmp[1] = l; rbytes(r, tmp + 2, l - 2);
			if (rchance(r, 60))
				put16(tmp + 2, 0xf989);
			break;
		case 9: l = 2 + rbelow(r, 8); tmp[0] = 9 + rbelow(r, 240); tmp[1] = l; rbytes(r, tmp + 2, l - 2); break;
		case 10: l = rchance(r, 50) ? 3 : 5; tmp[0] = 2; tmp[1] = l; rbytes(r, tmp + 2, l - 2); break;
		case 11: l = 2 + rbelow(r, 12); tmp[0] = 8; tmp[1] = l; rbytes(r, tmp + 2, l - 2); break;
		case 12: l = 2 + rbelow(r, 4); tmp[0] = 3; tmp[1] = l; rbytes(r, tmp + 2, l - 2); break;
		default: tmp[0] = 0; l = 1; break;				/* EOL, then anything */
		}
		if (n + l > max)
			break;
		memcpy(o + n, tmp, l);
		n += l;
		if (tmp[0] == 0 && l == 1) {
			int pad = (4 - n % 4) % 4;

			if (rchance(r, 50))
				rbytes(r, o + n, pad);
			else
				memset(o + n, 0, pad);
			return n + pad;
		}
	}
	while (n % 4)
		o[n++] = rchance(r, 70) ? 1 : 0;
	return n;
}

/* A SYN's options: the usual layouts, random well-formed lists, garbage. */
static int gen_syn_opts(struct rng *r, __u8 *o)
{
	static const __u8 odd[] = { 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 3, 3, 2, 1, 2, 4, 0x05, 0x78,
				    1, 1, 4, 2, 0, 0 };
	static const __u8 nots[] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7 };
	static const __u8 overrun[] = { 2, 4, 0x05, 0xb4, 8, 30, 0, 0 };
	int k = rbelow(r, 12), n;

	switch (k) {
	case 0:
		return 0;
	case 1:
		o[0] = 2, o[1] = 4;
		put16(o + 2, rchance(r, 50) ? 1460 : (__u16)rnext(r));
		return 4;
	case 2:
	case 3:
	case 4:
		memcpy(o, h_linux_syn_opts, 20);
		put16(o + 2, rchance(r, 60) ? 1460 : (__u16)rnext(r));
		rbytes(r, o + 8, 8);
		o[19] = rbelow(r, 18);
		return 20;
	case 5:
		memcpy(o, odd, sizeof(odd));
		rbytes(r, o + 2, 4);
		return sizeof(odd);
	case 6:
		memcpy(o, nots, sizeof(nots));
		return sizeof(nots);
	case 7:
		memcpy(o, overrun, sizeof(overrun));
		return sizeof(overrun);
	case 8:
		n = 4 * rbelow(r, 11);
		rbytes(r, o, n);
		return n;
	default:
		return gen_opts_list(r, o, 40);
	}
}

/* What a frame was made of, for coverage. */
struct gen_info {
	int ipopts, exthdrs, frag, lying, trunc, flips;
};

enum { K_SYN, K_COOKIE_ACK, K_ACK, K_FLAGS, K_RST };

/*
 * One frame: Ethernet, 0-2 tags (802.1Q / 802.1ad), IPv4 (options,
 * fragments) or IPv6 (extension chains) or something else, TCP of a kind,
 * checksums right; then the mutations: lying lengths, data offsets 0-15,
 * truncation at any byte, bit flips, trailers.
 */
static __u32 gen_frame(struct fz *z, struct rng *r, __u8 *f, struct gen_info *gi)
{
	__u32 off = 12, l3, l4 = 0, tcplen, iplen_off = 0, len;
	int family, vlans, kind, optlen = 0, payload = 0, ihl = 20, ext_total = 0, ipproto = 6, ip_hdr = 0;
	__u8 opts[40], saddr[16], daddr[16];
	__u16 sport, dport;
	__u32 seq = (__u32)rnext(r), ack = (__u32)rnext(r);
	__u8 flags;

	memset(gi, 0, sizeof(*gi));
	rbytes(r, f, 12);		/* MACs */
	if (rchance(r, 60)) {
		memcpy(f, "\x02\0\0\0\0\x01", 6);
		memcpy(f + 6, "\x02\0\0\0\0\x02", 6);
	}
	vlans = rchance(r, 65) ? 0 : rchance(r, 60) ? 1 : 2;
	{
		int p = rbelow(r, 100);

		family = p < 45 ? 4 : p < 90 ? 6 : 0;
	}
	for (int i = 0; i < vlans; i++) {
		put16(f + off, rchance(r, 70) ? 0x8100 : 0x88a8);
		put16(f + off + 2, (__u16)rnext(r));
		off += 4;
	}
	if (!family) {
		/* not IP: ARP, a third tag, LLDP, anything */
		static const __u16 types[] = { 0x0806, 0x8100, 0x88cc, 0x8847, 0x0000, 0x86dd, 0x0800 };
		__u16 t = rchance(r, 70) ? types[rbelow(r, 7)] : (__u16)rnext(r);
		__u32 n = rbelow(r, 120);

		put16(f + off, t);
		off += 2;
		rbytes(r, f + off, n);
		len = off + n;
		goto mutate;
	}
	put16(f + off, family == 4 ? 0x0800 : 0x86dd);
	off += 2;
	l3 = off;
	gen_addr(r, family, saddr);
	gen_addr(r, family, daddr);
	sport = gen_port(r, 0);
	dport = gen_port(r, 1);

	if (family == 4) {
		if (rchance(r, 12)) {
			ihl = 20 + 4 * (1 + rbelow(r, 10));
			gi->ipopts = 1;
		}
		f[off] = 0x40 | (ihl / 4);
		f[off + 1] = rchance(r, 80) ? 0 : (__u8)rnext(r);
		put16(f + off + 4, (__u16)rnext(r));
		put16(f + off + 6, 0x4000);
		if (rchance(r, 6)) {
			put16(f + off + 6, rchance(r, 50) ? 0x2000 : (__u16)(rnext(r) & 0x3fff) | 1);
			gi->frag = 1;
		}
		f[off + 8] = rchance(r, 80) ? 64 : (__u8)rnext(r);
		if (rchance(r, 5)) {
			static const __u8 protos[] = { 17, 1, 47, 0, 255 };

			ipproto = protos[rbelow(r, 5)];
		}
		f[off + 9] = ipproto;
		memcpy(f + off + 12, saddr, 4);
		memcpy(f + off + 16, daddr, 4);
		if (ihl > 20) {
			if (rchance(r, 50))
				rbytes(r, f + off + 20, ihl - 20);
			else
				memset(f + off + 20, 1, ihl - 20);	/* NOPs */
		}
		iplen_off = off + 2;
		off += ihl;
		ip_hdr = ihl;
	} else {
		__u8 *nhp = f + off + 6;
		int next;

		put32(f + off, 0x60000000 | (rchance(r, 70) ? 0 : (__u32)rnext(r) & 0x0fffffff));
		f[off + 7] = 64;
		memcpy(f + off + 8, saddr, 16);
		memcpy(f + off + 24, daddr, 16);
		iplen_off = off + 4;
		off += 40;
		if (rchance(r, 15)) {
			int n = 1 + rbelow(r, 5);

			gi->exthdrs = n;
			for (int i = 0; i < n; i++) {
				static const __u8 ext[] = { 0, 43, 60, 51, 60, 43, 44 };
				__u8 t = ext[rbelow(r, i == 0 ? 6 : 7)];
				int hl = t == 51 ? (rbelow(r, 3) + 2) * 4 : (rbelow(r, 3) + 1) * 8;

				if (t == 44)
					hl = 8, gi->frag = 1;
				*nhp = t;
				rbytes(r, f + off, hl);
				f[off + 1] = t == 51 ? hl / 4 - 2 : t == 44 ? 0 : hl / 8 - 1;
				nhp = f + off;
				off += hl;
				ext_total += hl;
			}
		}
		next = 6;
		if (rchance(r, 5)) {
			static const __u8 protos[] = { 17, 58, 59, 44, 255 };

			next = protos[rbelow(r, 5)];
		}
		*nhp = next;
		ipproto = next;
	}
	l4 = off;

	/* TCP */
	{
		int p = rbelow(r, 100);

		kind = p < 35 ? K_SYN : p < 50 ? K_COOKIE_ACK : p < 62 ? K_ACK : p < 95 ? K_FLAGS : K_RST;
	}
	switch (kind) {
	case K_SYN:
		flags = SG_TCP_SYN;
		if (rchance(r, 20))
			flags |= SG_TCP_ECE | SG_TCP_CWR;
		if (rchance(r, 10))
			flags |= (__u8)rnext(r) & (SG_TCP_PSH | SG_TCP_URG);
		optlen = gen_syn_opts(r, opts);
		if (rchance(r, 8))
			payload = 1 + rbelow(r, 200);	/* TFO */
		break;
	case K_COOKIE_ACK: {
		struct sg_cookie_in in = { .sport = sport, .dport = dport, .family = family };
		__u32 isn = (__u32)rnext(r), slot = rchance(r, 80) ? z->sec.cur & 1 : (z->sec.cur & 1) ^ 1;
		__u64 now = coarse_ns();	/* (the programs' clock) */

		memcpy(in.saddr, saddr, family == 6 ? 16 : 4);
		memcpy(in.daddr, daddr, family == 6 ? 16 : 4);
		in.isn = isn;
		if (rchance(r, 5))	/* a window too old */
			now -= 2ull << SG_COOKIE_WINDOW_SHIFT;
		seq = isn + 1;
		ack = sg_cookie_make(sg_cookie_mac, &z->sec.key[slot], slot, &in, now, rbelow(r, 8)) + 1;
		if (rchance(r, 5))
			ack ^= 1u << rbelow(r, 32);
		flags = SG_TCP_ACK;
		if (rchance(r, 30))
			flags |= SG_TCP_PSH;
		if (rchance(r, 5))
			flags |= SG_TCP_FIN;
		if (rchance(r, 70)) {
			int ws = (int)rbelow(r, 17) - 1;

			opts[0] = 1, opts[1] = 1, opts[2] = 8, opts[3] = 10;
			put32(opts + 4, (__u32)rnext(r));
			put32(opts + 8, sg_tsopts_encode((__u32)rnext(r), ws > 14 ? 14 : ws, rchance(r, 50),
							 rchance(r, 10)));
			optlen = 12;
		} else if (rchance(r, 30)) {
			optlen = gen_opts_list(r, opts, 40);
		}
		if (rchance(r, 30))
			payload = 1 + rbelow(r, 300);
		break;
	}
	case K_ACK:
		flags = SG_TCP_ACK | (rchance(r, 30) ? SG_TCP_PSH : 0);
		if (rchance(r, 60)) {
			opts[0] = 1, opts[1] = 1, opts[2] = 8, opts[3] = 10;
			rbytes(r, opts + 4, 8);
			optlen = 12;
		}
		if (rchance(r, 40))
			payload = rbelow(r, 400);
		break;
	case K_RST:
		flags = SG_TCP_RST | (rchance(r, 50) ? SG_TCP_ACK : 0);
		break;
	default:
		flags = (__u8)rnext(r);	/* every combination */
		if (rchance(r, 50))
			optlen = rchance(r, 50) ? gen_syn_opts(r, opts) : gen_opts_list(r, opts, 40);
		if (rchance(r, 30))
			payload = rbelow(r, 300);
	}
	tcplen = 20 + optlen + payload;
	put16(f + off, sport);
	put16(f + off + 2, dport);
	put32(f + off + 4, seq);
	put32(f + off + 8, ack);
	f[off + 12] = (__u8)(((20 + optlen) / 4) << 4);
	f[off + 13] = flags;
	put16(f + off + 14, rchance(r, 80) ? 64240 : (__u16)rnext(r));
	put16(f + off + 16, 0);
	put16(f + off + 18, rchance(r, 95) ? 0 : (__u16)rnext(r));
	memcpy(f + off + 20, opts, optlen);
	if (rchance(r, 50))
		rbytes(r, f + off + 20 + optlen, payload);
	else
		memset(f + off + 20 + optlen, 'x', payload);
	len = off + tcplen;
	if (family == 4) {
		__u32 s;

		put16(f + iplen_off, ip_hdr + tcplen);
		s = h_csum_add(0, f + l3, ihl);
		put16(f + l3 + 10, h_csum_fold(s));
	} else {
		put16(f + iplen_off, ext_total + tcplen);
	}
	if (ipproto == 6) {
		__u32 s = family == 4 ? h_csum_add(0, f + l3 + 12, 8) : h_csum_add(0, f + l3 + 8, 32);

		s += 6 + tcplen;
		s = h_csum_add(s, f + l4, tcplen);
		put16(f + l4 + 16, h_csum_fold(s));
	}

mutate:
	/* lying lengths */
	if (family && rchance(r, 10)) {
		__u16 real = get16(f + iplen_off), v;
		int k = rbelow(r, 7);

		gi->lying = 1;
		v = k == 0 ? 0 : k == 1 ? real + 1 + rbelow(r, 40) : k == 2 ? real - 1 - rbelow(r, 40) :
		    k == 3 ? 0xffff : k == 4 ? (__u16)(ip_hdr + 19) : k == 5 ? (__u16)ip_hdr : (__u16)rnext(r);
		put16(f + iplen_off, v);
		if (family == 4 && rchance(r, 30))
			f[l3] = (rchance(r, 80) ? 0x40 : (__u8)(rnext(r) & 0xf0)) | rbelow(r, 16);	/* IHL 0-15 */
		if (family == 6 && ext_total && rchance(r, 50))
			f[l4 - ext_total + 1] = (__u8)rnext(r);
	}
	/* data offsets 0-15 */
	if (l4 && l4 + 13 <= len && rchance(r, 8))
		f[l4 + 12] = (__u8)(rbelow(r, 16) << 4) | (f[l4 + 12] & 0x0f);
	/* Ethernet trailer past the IP length */
	if (rchance(r, 5)) {
		__u32 n = 1 + rbelow(r, 24);

		rbytes(r, f + len, n);
		len += n;
	}
	/* truncation at any byte (the kernel refuses < 14) */
	if (rchance(r, 12)) {
		__u32 hi = len;

		if (l4 && rchance(r, 60) && l4 + 60 < len)
			hi = l4 + 60;
		len = 14 + rbelow(r, hi - 14 + 1);
		gi->trunc = 1;
	}
	/* bit flips */
	if (rchance(r, 12)) {
		int n = 1 + rbelow(r, 4);

		for (int i = 0; i < n; i++) {
			__u32 at = rchance(r, 70) ? rbelow(r, len < 100 ? len : 100) : rbelow(r, len);

			f[at] ^= (__u8)(1u << rbelow(r, 8));
		}
		gi->flips = 1;
	} else if (rchance(r, 4)) {
		f[rbelow(r, len)] = (__u8)rnext(r);
		gi->flips = 1;
	}
	/* NIC padding to the Ethernet minimum */
	if (len < 60 && rchance(r, 60)) {
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	return len;
}

/* I6 between cases: check (and with clear, empty) the flow tables. */
static void checkpoint(struct fz *z, int clear, const char *where)
{
	z->nwhy = 0;
	check_tables(z, clear);
	if (z->nwhy) {
		printf("  FAIL %s %s case %llu (seed %llu): %s\n", mode_names[z->mode], where,
		       z->case_no, z->seed, z->why);
		z->st.bad++;
	}
}

static void frame_cases(struct fz *z, __u64 first_case, __u64 n)
{
	static __u8 f[MAXF];
	struct gen_info gi;
	__u64 epoch_at = 0, epoch = 0;
	struct rng er = {}, cr;

	for (__u64 i = 0; i < n; i++) {
		const __u8 *fp = f;
		__u32 len;

		if (i == epoch_at) {
			if (i) {
				checkpoint(z, 1, "after");
				unload(z);
			}
			er = rstream(z->seed, z->mode, 1000 + epoch++, 0);
			draw_settings(z, &er);
			if (load(z, &er, FRAME_TABLE)) {
				z->st.bad++;
				return;
			}
			epoch_at = i + EPOCH_CASES;
		}
		if (i && !(i % CLEAR_EVERY))
			checkpoint(z, 1, "after");
		if (i && !(i % 4096)) {
			if (z->mode == SG_MODE_AUTO) {
				draw_port_flags(z, &er);
				write_port_flags(z);
			}
			if (!(i % 131072))
				rotate(z, &er);
		}
		cr = rstream(z->seed, z->mode, first_case + i, 1);
		len = gen_frame(z, &cr, f, &gi);
		z->st.ipopts += gi.ipopts;
		z->st.exthdrs += !!gi.exthdrs;
		z->st.frags += gi.frag;
		z->st.lying += gi.lying;
		z->st.trunc += gi.trunc;
		z->st.flips += gi.flips;
		z->case_no = first_case + i;
		z->st.cases++;
		z->st.frames++;
		if (!run_case(z, f, len, 1, 1, NULL))
			report(z, &fp, &len, 1);
	}
	checkpoint(z, 0, "after");
	unload(z);
}

/* ---- flow replays ---- */

struct tuple {
	int family, vlan, local_client;	/* local_client: the host behind the interface opened it */
	const char *c, *s;		/* client, server */
	__u16 cp, sp;
};

/* A few tuples; more than the tiny tables hold. */
static const struct tuple tuples[] = {
	{ 4, 0, 0, "10.0.0.2", "10.0.0.1", 40000, P_BOTH },
	{ 4, 0, 0, "10.0.0.3", "10.0.0.1", 40001, P_BOTH },
	{ 6, 0, 0, "fd00::2", "fd00::1", 40000, P_BOTH },
	{ 4, 0, 1, "10.0.0.1", "10.0.0.9", 50000, 443 },
	{ 6, 0, 1, "fd00::1", "fd00::9", 50001, 80 },
	{ 4, 7, 0, "10.0.0.4", "10.0.0.1", 40002, P_UNPROT },
	{ 4, 0, 0, "10.0.0.2", "10.0.0.1", P_BOTH, P_BOTH },	/* equal ports: the address decides */
	{ 6, 0, 0, "fd00::5", "fd00::1", 40003, P_V6 },
};
#define NTUPLES (int)(sizeof(tuples) / sizeof(tuples[0]))

struct conn {
	int stage;		/* 0 closed, 1 SYN sent, 2 SYN-ACK sent, 3 open, 4.. closing */
	__u32 nxt[2];		/* next seq of client, server */
	__u32 isn[2];
	int closer;
	__u8 last[MAXF];	/* the last segment, for retransmissions */
	__u32 last_len;
	int last_side;
};

struct replay_ring {
	__u8 f[REPLAY_KEEP][256];
	__u32 len[REPLAY_KEEP];
	__u64 n;
};

static __u32 gen_isn(struct rng *r)
{
	return rchance(r, 35) ? 0xffffffffu - rbelow(r, 3000) : (__u32)rnext(r);
}

static int seg_build(const struct tuple *t, int from_client, __u32 seq, __u32 ack, __u8 flags, __u32 payload,
		     int syn_opts, __u8 *f)
{
	struct h_pkt p = { .family = t->family, .vlan = t->vlan, .seq = seq, .ack = ack, .flags = flags,
			   .payload = payload };

	p.saddr = from_client ? t->c : t->s;
	p.daddr = from_client ? t->s : t->c;
	p.sport = from_client ? t->cp : t->sp;
	p.dport = from_client ? t->sp : t->cp;
	if (syn_opts) {
		p.opts = h_linux_syn_opts;
		p.optlen = 20;
	}
	return h_build(&p, f, MAXF);
}

/* The states of a tuple's flow, 0 if the tables have none. */
static int flow_states(struct fz *z, const struct tuple *t, __u8 *c, __u8 *s)
{
	struct sg_flow_key k;
	struct sg_flow_key4 k4;
	struct sg_flow f;
	__u32 sa[4] = {}, da[4] = {};
	int miss;

	inet_pton(t->family == 6 ? AF_INET6 : AF_INET, t->c, sa);
	inet_pton(t->family == 6 ? AF_INET6 : AF_INET, t->s, da);
	sg_flow_key_make(&k, t->family, sa, da, t->cp, t->sp);
	sg_flow_key4_of(&k4, &k);
	miss = t->family == 4 ? bpf_map_lookup_elem(z->fd_flows4, &k4, &f) : bpf_map_lookup_elem(z->fd_flows, &k, &f);
	if (miss && bpf_map_lookup_elem(z->fd_half, &k, &f))
		return 0;
	*c = f.state[SG_SIDE_CLIENT];
	*s = f.state[SG_SIDE_SERVER];
	return 1;
}

static void replay_cases(struct fz *z, __u64 first_case, __u64 n)
{
	static struct conn conns[NTUPLES];
	static struct replay_ring ring;
	static __u8 f[MAXF];
	struct rng r = rstream(z->seed, z->mode, 7777, 2);
	struct xdp_out *xo = malloc(sizeof(*xo));
	int focus = 0;

	if (!xo)
		return;
	z->replay = 1;
	draw_settings(z, &r);
	z->set.port_filter = 0;
	z->set.addr_filter = 0;
	z->set.family = 0;
	if (load(z, &r, REPLAY_TABLE)) {
		z->st.bad++;
		free(xo);
		z->replay = 0;
		return;
	}
	memset(conns, 0, sizeof(conns));
	ring.n = 0;
	for (__u64 i = 0; i < n; i++) {
		const struct tuple *t;
		struct conn *c;
		int ti, from_client, act = rbelow(&r, 100), len, via_xdp, do_rst = 0, syn_opts = 0;
		__u32 seq, ack, payload = 0;
		__u8 flags;

		if (i && !(i % REPLAY_CLEAR)) {
			checkpoint(z, 1, "after");
			memset(conns, 0, sizeof(conns));
		}
		if (z->mode == SG_MODE_AUTO && !(i % 512)) {
			draw_port_flags(z, &r);
			write_port_flags(z);
		}
		if (!(i % 32))
			focus = rbelow(&r, NTUPLES);
		ti = rchance(&r, 65) ? focus : (int)rbelow(&r, NTUPLES);
		t = &tuples[ti];
		c = &conns[ti];

		if (act < 55) {
			/* the connection's next step */
			switch (c->stage) {
			case 0:
				c->isn[0] = gen_isn(&r);
				c->isn[1] = gen_isn(&r);
				c->nxt[0] = c->isn[0] + 1;
				c->nxt[1] = c->isn[1] + 1;
				from_client = 1, seq = c->isn[0], ack = 0, flags = SG_TCP_SYN, syn_opts = 1;
				c->stage = 1;
				break;
			case 1:
				from_client = 0, seq = c->isn[1], ack = c->nxt[0], flags = SG_TCP_SYN | SG_TCP_ACK;
				syn_opts = 1;
				c->stage = 2;
				break;
			case 2:
				from_client = 1, seq = c->nxt[0], ack = c->nxt[1], flags = SG_TCP_ACK;
				c->stage = 3;
				break;
			case 3:
				from_client = rchance(&r, 50);
				seq = c->nxt[!from_client];
				ack = c->nxt[from_client];
				payload = rbelow(&r, 3) ? 1 + rbelow(&r, 200) : 0;
				flags = SG_TCP_ACK | (payload ? SG_TCP_PSH : 0);
				c->nxt[!from_client] += payload;
				if (rchance(&r, 25)) {
					flags |= SG_TCP_FIN;
					c->nxt[!from_client]++;
					c->closer = !from_client;
					c->stage = 4;
				}
				break;
			case 4:	/* the other side acks the FIN */
			case 5:	/* and sends its own */
			case 6:	/* the closer acks it */
				from_client = c->stage == 6 ? c->closer == 0 : c->closer != 0;
				seq = c->nxt[!from_client];
				ack = c->nxt[from_client];
				flags = SG_TCP_ACK;
				if (c->stage == 5) {
					flags |= SG_TCP_FIN;
					c->nxt[!from_client]++;
				}
				c->stage = c->stage == 6 ? 0 : c->stage + 1;
				break;
			default:
				c->stage = 0;
				continue;
			}
		} else if (act < 70) {
			/* RST from either side: exact, in the window, or anywhere */
			int k = rbelow(&r, 3);

			from_client = rchance(&r, 50);
			seq = c->nxt[!from_client] + (k == 0 ? 0 : k == 1 ? rbelow(&r, 70000) : (__u32)rnext(&r));
			ack = c->nxt[from_client];
			flags = SG_TCP_RST | (rchance(&r, 50) ? SG_TCP_ACK : 0);
			do_rst = 1;
		} else if (act < 80 && c->last_len) {
			/* a retransmission */
			memcpy(f, c->last, c->last_len);
			len = c->last_len;
			from_client = c->last_side;
			goto run;
		} else {
			/* anything: every flag combination, seq/ack near or far */
			from_client = rchance(&r, 50);
			seq = c->nxt[!from_client] + (rchance(&r, 70) ? (__u32)(int)(rbelow(&r, 4000) - 2000) :
									 (__u32)rnext(&r));
			ack = rchance(&r, 70) ? c->nxt[from_client] + (__u32)(int)(rbelow(&r, 200) - 100) :
						 (__u32)rnext(&r);
			flags = (__u8)rnext(&r);
			payload = rchance(&r, 30) ? rbelow(&r, 100) : 0;
			syn_opts = (flags & SG_TCP_SYN) && rchance(&r, 70);
			if ((flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN && from_client && rchance(&r, 50)) {
				/* a new connection reusing the tuple */
				c->isn[0] = seq = gen_isn(&r);
				c->nxt[0] = seq + 1;
				c->stage = 1;
			}
		}
		/* the sender's sequence space wrapped past 2^32 since its ISN */
		if (seq < c->isn[!from_client] && seq - c->isn[!from_client] < 0x80000000u)
			z->st.wraps++;
		len = seg_build(t, from_client, seq, ack, flags, payload, syn_opts, f);
		if (len < 0)
			continue;
		memcpy(c->last, f, len);
		c->last_len = len;
		c->last_side = from_client;
run:
		if (do_rst) {
			__u8 cs, ss;

			if (flow_states(z, t, &cs, &ss)) {
				z->st.rst_c |= 1u << (cs & 31);
				z->st.rst_s |= 1u << (ss & 31);
			}
		}
		/* the host behind the interface sends through TC egress; the
		 * far end's segments arrive through XDP (then TC ingress) */
		via_xdp = from_client != t->local_client;
		memcpy(ring.f[ring.n % REPLAY_KEEP], f, len < 256 ? len : 256);
		ring.len[ring.n % REPLAY_KEEP] = len < 256 ? len : 256;
		ring.n++;
		z->case_no = first_case + i;
		z->st.cases++;
		z->st.steps++;
		if (run_case(z, f, len, via_xdp, !via_xdp, xo)) {
			z->nwhy = 0;
			check_tables(z, 0);
		}
		if (z->nwhy) {
			const __u8 *frames[REPLAY_KEEP];
			__u32 lens[REPLAY_KEEP];
			int m = ring.n < REPLAY_KEEP ? (int)ring.n : REPLAY_KEEP;

			for (int j = 0; j < m; j++) {
				__u64 at = ring.n - m + j;

				frames[j] = ring.f[at % REPLAY_KEEP];
				lens[j] = ring.len[at % REPLAY_KEEP];
			}
			frames[m - 1] = f;	/* the failing one, whole */
			lens[m - 1] = len;
			report(z, frames, lens, m);
		}
		/* our cookie answered the SYN: the client goes on with it */
		if (via_xdp && xo->retval == XDP_TX_ && c->stage == 1 && xo->len >= 54) {
			struct h_synack s;

			if (!h_synack_decode(xo->buf, xo->len, &s)) {
				c->isn[1] = s.seq;
				c->nxt[1] = s.seq + 1;
				c->stage = 2;
			}
		}
	}
	free(xo);
	unload(z);
	z->replay = 0;
}

/* ---- main ---- */

static void print_stats(struct fz *z)
{
	struct stats *s = &z->st;
	int nflags = 0, ndoff = 0, nrc = 0, nrs = 0;
	double secs = s->secs_ns / 1e9;

	for (int i = 0; i < 4; i++)
		nflags += __builtin_popcountll(s->flags_seen[i]);
	ndoff = __builtin_popcount(s->doff_seen);
	nrc = __builtin_popcount(s->rst_c);
	nrs = __builtin_popcount(s->rst_s);
	printf("%s: %llu cases (%llu frames, %llu replay segments) in %.1f s, %.0f cases/s, "
	       "%llu violations\n",
	       mode_names[z->mode], s->cases, s->frames, s->steps, secs, secs > 0 ? s->cases / secs : 0.0, s->bad);
	printf("  verdicts: pass %llu, pass+metadata %llu, tx %llu, drop %llu (policy %llu; listed sources %llu)"
	       "; classes: tcp %llu, other %llu, malformed %llu; TC refused %llu\n",
	       s->verdict[V_PASS], s->verdict[V_META], s->verdict[V_TX], s->verdict[V_DROP], s->policy_drops, s->listed,
	       s->cls[H_TCP],
	       s->cls[H_OTHER], s->cls[H_MALFORMED], s->refused);
	printf("  coverage: TCP flag bytes %d/256, data offsets %d/16, tags 0/1/2 %llu/%llu/%llu"
	       ", IPv4 options %llu, IPv6 ext chains %llu, fragments %llu, lying lengths %llu"
	       ", truncated %llu, bit flips %llu, bad TCP options %llu\n",
	       nflags, ndoff, s->vlans[0], s->vlans[1], s->vlans[2], s->ipopts, s->exthdrs, s->frags, s->lying,
	       s->trunc, s->flips, s->bad_opts);
	printf("  tracking: events %llu, table full: flows %llu, half-open %llu; loads %llu\n", s->events,
	       s->loss_flows, s->loss_halfopen, s->epochs);
	if (s->steps) {
		printf("  replays: seq wraps %llu; RST with the client in %d states, the server in %d (of %d); never in:",
		       s->wraps, nrc, nrs, SG_STATE_MAX);
		for (int i = 0; i < SG_STATE_MAX; i++)
			if (!(s->rst_c & (1u << i)))
				printf(" client %s", sg_state_name(i));
		for (int i = 0; i < SG_STATE_MAX; i++)
			if (!(s->rst_s & (1u << i)))
				printf(" server %s", sg_state_name(i));
		printf("\n");
	}
	if (z->mode == SG_MODE_AUTO)
		printf("  auto: well-formed SYNs to protected ports with a listener: %llu with the port's cookies on "
		       "(answered), %llu off (passed)\n", s->auto_on, s->auto_off);
}

static __u64 random_seed(void)
{
	__u64 s = 0;

	if (getrandom(&s, sizeof(s), 0) != sizeof(s))
		s = mono_ns() ^ ((__u64)getpid() << 32);
	return s % 1000000000000ull;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: fuzz_frames [--seed N|random]... [--cases N] [--mode monitor|protect|auto|all]\n"
			"                   [--replay PCT] [--out DIR] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	__u64 seeds[16], cases = 200000, total = 0, bad = 0;
	int nseeds = 0, modes[3], nmodes = 0, replay_pct = 15, verbose = 0, lfds[8], nl = 0;
	const char *out = "build", *mode = "all";
	struct fz *z;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-v")) {
			verbose = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--seed") && nseeds < 16)
			seeds[nseeds++] = !strcmp(v, "random") ? random_seed() : strtoull(v, NULL, 0);
		else if (!strcmp(a, "--cases"))
			cases = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--mode"))
			mode = v;
		else if (!strcmp(a, "--replay"))
			replay_pct = atoi(v);
		else if (!strcmp(a, "--out"))
			out = v;
		else
			usage();
	}
	if (!nseeds)
		seeds[nseeds++] = random_seed();
	for (int m = 0; m < 3; m++)
		if (!strcmp(mode, "all") || !strcmp(mode, mode_names[m]))
			modes[nmodes++] = m;
	if (!nmodes || replay_pct < 0 || replay_pct > 100)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		check_skip("fuzz: BPF_PROG_TEST_RUN needs root");
		return check_summary("fuzz");
	}
	/* A network namespace of our own: the listeners' ports are ours, and
	 * no one else's socket changes what a lookup finds. */
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "fuzz_frames: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	lfds[nl++] = listen_on(AF_INET, P_BOTH);
	lfds[nl++] = listen_on(AF_INET6, P_BOTH);
	lfds[nl++] = listen_on(AF_INET, P_V4);
	lfds[nl++] = listen_on(AF_INET6, P_V6);
	lfds[nl++] = listen_on(AF_INET, P_UNPROT);
	lfds[nl++] = listen_on(AF_INET6, P_UNPROT);
	for (int i = 0; i < nl; i++) {
		if (lfds[i] < 0) {
			fprintf(stderr, "fuzz_frames: listen: %s\n", strerror(errno));
			return 1;
		}
	}
	for (int i = 0; i < 6; i++)
		inet_pton(AF_INET6, v6_pool_s[i], v6_pool[i]);
	libbpf_set_print(quiet_print);

	z = calloc(1, sizeof(*z));
	if (!z)
		return 1;
	z->h = calloc(1, sizeof(*z->h));
	z->ncpu = libbpf_num_possible_cpus();
	z->pcpu = z->ncpu > 0 ? calloc(z->ncpu, sizeof(*z->pcpu)) : NULL;
	if (!z->h || !z->pcpu)
		return 1;
	for (int i = 0; i < SG_CNT_MAX; i++)
		if (!strncmp(sg_counter_name(i), "drop_", 5))
			z->drop_idx[z->ndrop++] = i;
	z->out_dir = out;
	z->verbose = verbose;

	for (int si = 0; si < nseeds; si++) {
		__u64 per_mode = (cases + nmodes - 1) / nmodes, base = 0;

		printf("seed %llu (reproduce: %s --seed %llu --cases %llu --mode %s), "
		       "%llu cases per mode\n",
		       seeds[si], argv[0], seeds[si], cases, mode, per_mode);
		for (int mi = 0; mi < nmodes; mi++) {
			__u64 nrep = per_mode * replay_pct / 100, t0 = mono_ns();

			memset(&z->st, 0, sizeof(z->st));
			z->seed = seeds[si];
			z->mode = modes[mi];
			z->pcaps = 0;
			base = (__u64)mi * per_mode;
			frame_cases(z, base, per_mode - nrep);
			if (nrep)
				replay_cases(z, base + per_mode - nrep, nrep);
			z->st.secs_ns = mono_ns() - t0;
			print_stats(z);
			total += z->st.cases;
			bad += z->st.bad;
		}
	}
	for (int i = 0; i < nl; i++)
		close(lfds[i]);
	free(z->pcpu);
	free(z->h);
	free(z);
	printf("fuzz: %llu passed, %llu failed\n", total - (bad > total ? total : bad), bad);
	return bad ? 1 : 0;
}
