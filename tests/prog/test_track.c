// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_track.c - flow tracking through the real programs, segment by segment,
 * the way a server's interface sees a connection: the client's segments
 * arrive through sg_xdp (ingress), the server's own go out through
 * sg_tc_egress (egress). Each scenario loads a fresh skeleton (empty maps),
 * feeds the segments and asserts the exact ordered list of emitted events
 * (docs/states.md's table is the contract) and the flow's entry in sg_flows /
 * sg_halfopen.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "sg_flow.h"

#define fS SG_TCP_SYN
#define fA SG_TCP_ACK
#define fF SG_TCP_FIN
#define fR SG_TCP_RST
#define fP SG_TCP_PSH

/* One connection: the client (initiator) and the server behind this interface. */
struct flow {
	int family;
	const char *c, *s;	/* client, server address */
	__u16 cp, sp;		/* client, server port */
	int vlan;
};

static const struct flow F4 = { 4, "10.0.0.2", "10.0.0.1", 51234, 8080, 0 };
static const struct flow F6 = { 6, "fd00::2", "fd00::1", 51234, 8080, 0 };
static const struct flow F4V = { 4, "10.0.0.2", "10.0.0.1", 51234, 8080, 100 };

static struct h_ctx H;
static int cur;		/* events already matched by expect_events() */
static int seg_bad;	/* segments that did not pass unchanged */
static int nseg;

enum { NOWHERE = 0, IN_FLOWS = 1, IN_HALFOPEN = 2 };

static void (*user_cb)(struct synguard_bpf *, void *);

/* Small flow tables (fast loads: the default 262144-entry sg_flows is
 * preallocated), then the scenario's own settings. */
static void configure(struct synguard_bpf *skel, void *arg)
{
	bpf_map__set_max_entries(skel->maps.sg_flows4, 4096);
	bpf_map__set_max_entries(skel->maps.sg_flows, 4096);
	bpf_map__set_max_entries(skel->maps.sg_halfopen, 4096);
	if (user_cb)
		user_cb(skel, arg);
}

static int open_skel(void (*cb)(struct synguard_bpf *, void *), void *arg)
{
	cur = 0;
	seg_bad = 0;
	nseg = 0;
	user_cb = cb;
	if (h_open(&H, configure, arg)) {
		CHECK(0, "load synguard.bpf.o");
		return -1;
	}
	return 0;
}

static void addr_of(int family, const char *s, __u32 *a)
{
	memset(a, 0, 16);
	inet_pton(family == 6 ? AF_INET6 : AF_INET, s, a);
}

static __u64 now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int build(const struct flow *fl, int from_client, __u8 flags, __u32 seq, __u32 ack, __u32 len,
		 __u8 *buf)
{
	struct h_pkt p = {
		.family = fl->family, .vlan = fl->vlan,
		.saddr = from_client ? fl->c : fl->s, .daddr = from_client ? fl->s : fl->c,
		.sport = from_client ? fl->cp : fl->sp, .dport = from_client ? fl->sp : fl->cp,
		.seq = seq, .ack = ack, .flags = flags, .win = 64240, .payload = len,
	};

	return h_build(&p, buf, H_MAX_FRAME);
}

/*
 * One segment on the wire: from the client through sg_xdp (must pass
 * unchanged), from the server through sg_tc_egress (TC_ACT_OK, unchanged).
 */
static void seg(const struct flow *fl, int from_client, __u8 flags, __u32 seq, __u32 ack, __u32 len)
{
	__u8 buf[H_MAX_FRAME];
	struct h_run r;
	int n = build(fl, from_client, flags, seq, ack, len, buf), err;

	nseg++;
	if (n < 0) {
		seg_bad++;
		return;
	}
	if (from_client)
		err = h_run_xdp(bpf_program__fd(H.skel->progs.sg_xdp), buf, n, &r);
	else
		err = h_run_tc(bpf_program__fd(H.skel->progs.sg_tc_egress), buf, n, &r);
	if (err || r.retval != (from_client ? XDP_PASS : 0 /* TC_ACT_OK */) || r.out_len != (__u32)n ||
	    memcmp(r.out, buf, n))
		seg_bad++;
}

#define C(fl, flags, seq, ack, len) seg(fl, 1, flags, seq, ack, len)
#define S(fl, flags, seq, ack, len) seg(fl, 0, flags, seq, ack, len)

static void handshake(const struct flow *fl, __u32 c, __u32 s)
{
	C(fl, fS, c, 0, 0);
	S(fl, fS | fA, s, c + 1, 0);
	C(fl, fA, c + 1, s + 1, 0);
}

static int ev_addr_ok(const struct flow *fl, const struct sg_event *e)
{
	__u32 ca[4], sa[4];

	addr_of(fl->family, fl->c, ca);
	addr_of(fl->family, fl->s, sa);
	return e->family == fl->family && !memcmp(e->saddr, ca, 16) && !memcmp(e->daddr, sa, 16) &&
	       e->sport == fl->cp && e->dport == fl->sp;
}

static void ev_str(const struct sg_event *e, char *b, size_t n)
{
	if (e->type == SG_EV_STATE)
		snprintf(b, n, "%s:%s>%s:%s", sg_side_name(e->side), sg_state_name(e->from), sg_state_name(e->to),
			 sg_cause_name(e->cause));
	else if (e->type == SG_EV_SYN_SUMMARY)
		snprintf(b, n, "SUMMARY:%u", e->dport);
	else
		snprintf(b, n, "EVENT%u", e->type);
}

/*
 * Drain the ring buffer and compare the events since the last call with
 * spec ("side:FROM>TO:cause, ...", "" for none). With fl, every state event
 * must also name fl's client as source and fl's server as destination.
 * Returns the index in H.ev of the first new event.
 */
static int expect_events(const struct flow *fl, const char *what, const char *spec)
{
	char got[8192], one[96];
	size_t o = 0;
	int start = cur, addr_ok = 1, nstate = 0;

	h_drain(&H);
	got[0] = 0;
	for (int i = cur; i < H.nev; i++) {
		ev_str(&H.ev[i], one, sizeof(one));
		if (o < sizeof(got))
			o += snprintf(got + o, sizeof(got) - o, "%s%s", i > cur ? ", " : "", one);
		if (H.ev[i].type == SG_EV_STATE) {
			nstate++;
			if (fl && !ev_addr_ok(fl, &H.ev[i]))
				addr_ok = 0;
		}
	}
	cur = H.nev;
	CHECK(!strcmp(got, spec), "%s: [%s]", what, spec);
	if (strcmp(got, spec))
		printf("         got: [%s]\n", got);
	if (fl && nstate)
		CHECK(addr_ok, "%s: family %d, client %s:%u is the source of every event", what, fl->family, fl->c,
		      fl->cp);
	return start;
}

/* Every event in [from, cur) carries exactly these flow flags. */
static void expect_flags(int from, __u8 flags, const char *what)
{
	int ok = from < cur;

	for (int i = from; i < cur; i++)
		if (H.ev[i].type == SG_EV_STATE && H.ev[i].flags != flags)
			ok = 0;
	CHECK(ok, "%s: flags 0x%x on every event", what, flags);
}

/* Every CLOSED event in [from, cur) names this closer, the others none; at least one CLOSED. */
static void expect_closer(int from, __u8 closer, const char *what)
{
	int ok = 1, n = 0;

	for (int i = from; i < cur; i++) {
		if (H.ev[i].type != SG_EV_STATE)
			continue;
		if (H.ev[i].to == SG_CLOSED) {
			n++;
			ok &= H.ev[i].closer == closer;
		} else {
			ok &= H.ev[i].closer == 0;
		}
	}
	CHECK(ok && n > 0, "%s: closer %u on the CLOSED events (%d)", what, closer, n);
}

static void flow_key(const struct flow *fl, struct sg_flow_key *k)
{
	__u32 ca[4], sa[4];

	addr_of(fl->family, fl->c, ca);
	addr_of(fl->family, fl->s, sa);
	sg_flow_key_make(k, fl->family, ca, sa, fl->cp, fl->sp);
}

/* Where the flow is (IN_FLOWS | IN_HALFOPEN bits) and its value (from sg_flows4/sg_flows first). */
static int get_flow(const struct flow *fl, struct sg_flow *v)
{
	struct sg_flow_key k;
	struct sg_flow t;
	int w = 0;

	flow_key(fl, &k);
	memset(v, 0, sizeof(*v));
	if (!h_flow_get(&H, &k, v))
		w |= IN_FLOWS;
	if (!bpf_map_lookup_elem(bpf_map__fd(H.skel->maps.sg_halfopen), &k, &t)) {
		if (!w)
			*v = t;
		w |= IN_HALFOPEN;
	}
	return w;
}

static const char *where_name(int w)
{
	return w == IN_FLOWS ? "in sg_flows only" : w == IN_HALFOPEN ? "in sg_halfopen only" :
	       w ? "in BOTH maps" : "in no map";
}

static void expect_map(const struct flow *fl, const char *what, int where, int cst, int sst)
{
	struct sg_flow v;
	int w = get_flow(fl, &v);

	if (where == NOWHERE)
		CHECK(w == NOWHERE, "%s: no entry in sg_flows or sg_halfopen", what);
	else
		CHECK(w == where && v.state[SG_SIDE_CLIENT] == cst && v.state[SG_SIDE_SERVER] == sst,
		      "%s: %s, client %s, server %s", what, where_name(where), sg_state_name(cst), sg_state_name(sst));
	if (where != NOWHERE && w != NOWHERE && (w != where || v.state[0] != cst || v.state[1] != sst))
		printf("         got: %s, client %s, server %s\n", where_name(w), sg_state_name(v.state[0]),
		       sg_state_name(v.state[1]));
}

static __u64 cnt(int idx)
{
	__u64 c[SG_CNT_MAX];

	h_counters(&H, c);
	return c[idx];
}

static int map_count(struct bpf_map *m)
{
	struct sg_flow_key k, nk;
	int n = 0, fd = bpf_map__fd(m);
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &nk)) {
		n++;
		k = nk;
		prev = &k;
	}
	return n;
}

static void end_scenario(const char *what)
{
	CHECK(nseg > 0 && seg_bad == 0, "%s: all %d segments passed unchanged (XDP_PASS / TC_ACT_OK)", what, nseg);
	CHECK(cnt(SG_LOSS_RINGBUF) == 0 && cnt(SG_LOSS_FLOW_FULL) == 0 && cnt(SG_LOSS_HALFOPEN_FULL) == 0,
	      "%s: nothing lost", what);
	h_close(&H);
}

/* ---- the canonical table ------------------------------------------------ */

/* Client closes first; also run for IPv6 and 802.1Q VLAN. ISNs wrap. */
static void sc_client_closes(const struct flow *fl, const char *name)
{
	__u32 c = 0xfffffff0, s = 0xffffff80, cn, sn;
	struct sg_fsm_out out = { 0 };
	struct sg_flow v;
	int st, done;

	printf(" %s\n", name);
	if (open_skel(NULL, NULL))
		return;
	C(fl, fS, c, 0, 0);
	st = expect_events(fl, "SYN", "client:CLOSED>SYN_SENT:SYN");
	expect_map(fl, "after SYN", IN_HALFOPEN, SG_SYN_SENT, SG_LISTEN);
	S(fl, fS | fA, s, c + 1, 0);
	expect_events(fl, "SYN-ACK", "server:LISTEN>SYN_RCVD:SYN-ACK");
	expect_map(fl, "after SYN-ACK", IN_HALFOPEN, SG_SYN_SENT, SG_SYN_RCVD);
	C(fl, fA, c + 1, s + 1, 0);
	expect_events(fl, "ACK", "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	expect_map(fl, "handshake done", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);

	/* data both ways, sequence numbers wrapping through 0 */
	C(fl, fA | fP, c + 1, s + 1, 100);
	S(fl, fA, s + 1, c + 101, 0);
	S(fl, fA | fP, s + 1, c + 101, 300);
	C(fl, fA, c + 101, s + 301, 0);
	cn = c + 101;
	sn = s + 301;
	/* both wrapped through 0: client 0x55, server 0xad */
	expect_events(fl, "data both ways", "");

	C(fl, fF | fA, cn, sn, 0);
	expect_events(fl, "client FIN", "client:ESTABLISHED>FIN_WAIT_1:FIN");
	S(fl, fA, sn, cn + 1, 0);
	expect_events(fl, "server ACKs the FIN",
		      "server:ESTABLISHED>CLOSE_WAIT:FIN, client:FIN_WAIT_1>FIN_WAIT_2:ACK");
	S(fl, fF | fA, sn, cn + 1, 0);
	expect_events(fl, "server FIN", "server:CLOSE_WAIT>LAST_ACK:FIN");
	C(fl, fA, cn + 1, sn + 1, 0);
	expect_events(fl, "client ACKs the FIN", "client:FIN_WAIT_2>TIME_WAIT:FIN, server:LAST_ACK>CLOSED:ACK");
	expect_closer(st, SG_CLOSER_CLIENT_FIN, "client closed first with a FIN");
	expect_flags(st, 0, "plain handshake");
	expect_map(fl, "after teardown", IN_FLOWS, SG_TIME_WAIT, SG_CLOSED);

	get_flow(fl, &v);
	CHECK(v.pkts[SG_SIDE_CLIENT] == 6 && v.pkts[SG_SIDE_SERVER] == 5 && v.bytes[SG_SIDE_CLIENT] == 100 &&
		      v.bytes[SG_SIDE_SERVER] == 300,
	      "per-direction counts: client 6 pkts/100 B, server 5 pkts/300 B (got %u/%u, %u/%u)",
	      v.pkts[0], v.bytes[0], v.pkts[1], v.bytes[1]);
	CHECK(v.close_side == SG_SIDE_CLIENT && v.close_how == SG_CLOSE_FIN, "entry: client closed first, FIN");

	/* 2MSL: the sweeper's expiry applied to the real entry */
	done = sg_flow_expire(&v, v.start_ns + v.last_ms * 1000000ull + 59000000000ull, 60000000000ull, 30000000000ull, 0, &out);
	CHECK(out.n == 0 && !done, "TIME_WAIT holds before 2MSL (60 s)");
	done = sg_flow_expire(&v, v.start_ns + v.last_ms * 1000000ull + 61000000000ull, 60000000000ull, 30000000000ull, 0, &out);
	CHECK(out.n == 1 && done && out.tr[0].side == SG_SIDE_CLIENT && out.tr[0].from == SG_TIME_WAIT &&
		      out.tr[0].to == SG_CLOSED && out.tr[0].cause == SG_CAUSE_TIMEOUT,
	      "after 2MSL: client:TIME_WAIT>CLOSED:timeout, entry done");
	CHECK(cnt(SG_CNT_FLOW_NEW) == 1 && cnt(SG_CNT_RETRANS) == 0 && cnt(SG_CNT_RST_IGNORED) == 0,
	      "counters: 1 new flow, no retransmits, no RST ignored");
	end_scenario(name);
}

static void sc_server_closes(void)
{
	const struct flow *fl = &F4;
	__u32 c = 1000000, s = 3000000000u, cn = c + 1 + 50, sn = s + 1 + 1400;
	int st;

	printf(" server closes first\n");
	if (open_skel(NULL, NULL))
		return;
	st = cur;
	handshake(fl, c, s);
	C(fl, fA | fP, c + 1, s + 1, 50);
	S(fl, fA | fP, s + 1, cn, 1400);
	C(fl, fA, cn, sn, 0);
	expect_events(fl, "handshake + data",
		      "client:CLOSED>SYN_SENT:SYN, server:LISTEN>SYN_RCVD:SYN-ACK, "
		      "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	S(fl, fF | fA, sn, cn, 0);
	expect_events(fl, "server FIN", "server:ESTABLISHED>FIN_WAIT_1:FIN");
	C(fl, fA, cn, sn + 1, 0);
	expect_events(fl, "client ACKs the FIN",
		      "client:ESTABLISHED>CLOSE_WAIT:FIN, server:FIN_WAIT_1>FIN_WAIT_2:ACK");
	C(fl, fF | fA, cn, sn + 1, 0);
	expect_events(fl, "client FIN", "client:CLOSE_WAIT>LAST_ACK:FIN");
	S(fl, fA, sn + 1, cn + 1, 0);
	expect_events(fl, "server ACKs the FIN", "server:FIN_WAIT_2>TIME_WAIT:FIN, client:LAST_ACK>CLOSED:ACK");
	expect_closer(st, SG_CLOSER_SERVER_FIN, "server closed first with a FIN");
	expect_map(fl, "after teardown", IN_FLOWS, SG_CLOSED, SG_TIME_WAIT);
	end_scenario("server closes first");
}

/* The FINs cross: the server's goes out, the client's arrives before it saw the server's. */
static void sc_simultaneous(void)
{
	const struct flow *fl = &F4;
	__u32 c = 0x80000000u, s = 0x7fffffffu, cn = c + 1, sn = s + 1;
	int st;

	printf(" simultaneous close\n");
	if (open_skel(NULL, NULL))
		return;
	st = cur;
	handshake(fl, c, s);
	S(fl, fF | fA, sn, cn, 0);
	C(fl, fF | fA, cn, sn, 0);
	expect_events(fl, "crossing FINs",
		      "client:CLOSED>SYN_SENT:SYN, server:LISTEN>SYN_RCVD:SYN-ACK, "
		      "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK, "
		      "server:ESTABLISHED>FIN_WAIT_1:FIN, client:ESTABLISHED>FIN_WAIT_1:FIN");
	/* the client has not acked the server's FIN: whether it got it before
	 * this ack (CLOSING) or not (FIN_WAIT_2), its own ack tells */
	S(fl, fA, sn + 1, cn + 1, 0);
	expect_events(fl, "server ACKs the client's FIN", "server:FIN_WAIT_1>CLOSING:FIN");
	C(fl, fA, cn + 1, sn + 1, 0);
	expect_events(fl, "client ACKs the server's FIN",
		      "client:FIN_WAIT_1>CLOSING:FIN, client:CLOSING>TIME_WAIT:ACK, server:CLOSING>TIME_WAIT:ACK");
	expect_map(fl, "both in TIME_WAIT", IN_FLOWS, SG_TIME_WAIT, SG_TIME_WAIT);
	{
		struct sg_flow v;

		get_flow(fl, &v);
		CHECK(v.close_side == SG_SIDE_SERVER && v.close_how == SG_CLOSE_FIN,
		      "entry: the server's FIN was first");
	}
	(void)st;
	end_scenario("simultaneous close");
}

/* FIN+ACK that acknowledges the peer's FIN and closes: every implied transition. */
static void sc_finack(int server_answers)
{
	const struct flow *fl = &F4;
	__u32 c = 4000000000u, s = 12345, cn = c + 1, sn = s + 1;
	const char *name = server_answers ? "FIN+ACK from the server (acks the client's FIN and closes)"
					  : "FIN+ACK from the client (acks the server's FIN and closes)";
	int st;

	printf(" %s\n", name);
	if (open_skel(NULL, NULL))
		return;
	handshake(fl, c, s);
	expect_events(fl, "handshake",
		      "client:CLOSED>SYN_SENT:SYN, server:LISTEN>SYN_RCVD:SYN-ACK, "
		      "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	st = cur;
	if (server_answers) {
		C(fl, fF | fA, cn, sn, 0);
		expect_events(fl, "client FIN", "client:ESTABLISHED>FIN_WAIT_1:FIN");
		S(fl, fF | fA, sn, cn + 1, 0);
		expect_events(fl, "server FIN+ACK",
			      "server:ESTABLISHED>CLOSE_WAIT:FIN, server:CLOSE_WAIT>LAST_ACK:FIN, "
			      "client:FIN_WAIT_1>FIN_WAIT_2:ACK");
		C(fl, fA, cn + 1, sn + 1, 0);
		expect_events(fl, "last ACK", "client:FIN_WAIT_2>TIME_WAIT:FIN, server:LAST_ACK>CLOSED:ACK");
		expect_closer(st, SG_CLOSER_CLIENT_FIN, "client closed first");
		expect_map(fl, "after teardown", IN_FLOWS, SG_TIME_WAIT, SG_CLOSED);
	} else {
		S(fl, fF | fA, sn, cn, 0);
		expect_events(fl, "server FIN", "server:ESTABLISHED>FIN_WAIT_1:FIN");
		C(fl, fF | fA, cn, sn + 1, 0);
		expect_events(fl, "client FIN+ACK",
			      "client:ESTABLISHED>CLOSE_WAIT:FIN, client:CLOSE_WAIT>LAST_ACK:FIN, "
			      "server:FIN_WAIT_1>FIN_WAIT_2:ACK");
		S(fl, fA, sn + 1, cn + 1, 0);
		expect_events(fl, "last ACK", "server:FIN_WAIT_2>TIME_WAIT:FIN, client:LAST_ACK>CLOSED:ACK");
		expect_closer(st, SG_CLOSER_SERVER_FIN, "server closed first");
		expect_map(fl, "after teardown", IN_FLOWS, SG_CLOSED, SG_TIME_WAIT);
	}
	end_scenario(name);
}

/* The client half-closes; the server keeps sending in CLOSE_WAIT, then closes. */
static void sc_half_close(void)
{
	const struct flow *fl = &F4;
	__u32 c = 0xfffff000u, s = 0xffffffffu, cn = c + 1, sn = s + 1;
	struct sg_flow v;
	int st;

	printf(" half-close, data in CLOSE_WAIT\n");
	if (open_skel(NULL, NULL))
		return;
	handshake(fl, c, s);
	C(fl, fA | fP, cn, sn, 20);
	cn += 20;
	expect_events(fl, "handshake + request",
		      "client:CLOSED>SYN_SENT:SYN, server:LISTEN>SYN_RCVD:SYN-ACK, "
		      "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	st = cur;
	C(fl, fF | fA, cn, sn, 0);
	S(fl, fA, sn, cn + 1, 0);
	expect_events(fl, "client FIN, server ACK",
		      "client:ESTABLISHED>FIN_WAIT_1:FIN, server:ESTABLISHED>CLOSE_WAIT:FIN, "
		      "client:FIN_WAIT_1>FIN_WAIT_2:ACK");
	for (int i = 0; i < 5; i++) {
		S(fl, fA | fP, sn, cn + 1, 1400);
		sn += 1400;
		C(fl, fA, cn + 1, sn, 0);
	}
	expect_events(fl, "5 x 1400 B from the server in CLOSE_WAIT, acked", "");
	expect_map(fl, "during the half-close", IN_FLOWS, SG_FIN_WAIT_2, SG_CLOSE_WAIT);
	get_flow(fl, &v);
	CHECK(v.bytes[SG_SIDE_SERVER] == 7000 && v.pkts[SG_SIDE_SERVER] == 7, "server sent 7000 B in 7 segments");
	S(fl, fF | fA, sn, cn + 1, 0);
	C(fl, fA, cn + 1, sn + 1, 0);
	expect_events(fl, "server closes",
		      "server:CLOSE_WAIT>LAST_ACK:FIN, client:FIN_WAIT_2>TIME_WAIT:FIN, "
		      "server:LAST_ACK>CLOSED:ACK");
	expect_closer(st, SG_CLOSER_CLIENT_FIN, "client closed first");
	CHECK(cnt(SG_CNT_RETRANS) == 0, "no segment taken for a retransmission");
	end_scenario("half-close");
}

/* Refused: the server answers the SYN with RST+ACK. */
static void sc_refused(void)
{
	const struct flow *fl = &F4;
	__u32 c = 0xfffffffeu;
	struct sg_flow v;
	int st;

	printf(" refused (RST to SYN)\n");
	if (open_skel(NULL, NULL))
		return;
	C(fl, fS, c, 0, 0);
	st = expect_events(fl, "SYN", "client:CLOSED>SYN_SENT:SYN");
	S(fl, fR | fA, 0, c + 5, 0);
	expect_events(fl, "RST acking the wrong sequence", "");
	CHECK(cnt(SG_CNT_RST_IGNORED) == 1, "rst_ignored counts it");
	S(fl, fR | fA, 0, c + 1, 0);
	expect_events(fl, "RST+ACK of the SYN", "client:SYN_SENT>CLOSED:RST");
	expect_closer(st, SG_CLOSER_SERVER_RST, "server refused with a RST");
	expect_map(fl, "after the RST", IN_HALFOPEN, SG_CLOSED, SG_LISTEN);
	get_flow(fl, &v);
	CHECK(v.close_side == SG_SIDE_SERVER && v.close_how == SG_CLOSE_RST, "entry: server RST");
	CHECK(cnt(SG_CNT_RST_IGNORED) == 1, "rst_ignored still 1");
	end_scenario("refused");
}

/* Abort: a RST while established closes both sides. */
static void sc_abort(int by_server)
{
	const struct flow *fl = &F4;
	__u32 c = 77777, s = 0xfffffff0u, cn = c + 1 + 500, sn = s + 1;
	const char *name = by_server ? "abort by the server (RST+ACK)" : "abort by the client (RST)";
	int st;

	printf(" %s\n", name);
	if (open_skel(NULL, NULL))
		return;
	handshake(fl, c, s);
	C(fl, fA | fP, c + 1, sn, 500);
	S(fl, fA, sn, cn, 0);
	expect_events(fl, "handshake + data",
		      "client:CLOSED>SYN_SENT:SYN, server:LISTEN>SYN_RCVD:SYN-ACK, "
		      "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	st = cur;
	if (by_server) {
		S(fl, fR | fA, sn, cn, 0);
		expect_events(fl, "server RST", "server:ESTABLISHED>CLOSED:RST, client:ESTABLISHED>CLOSED:RST");
		expect_closer(st, SG_CLOSER_SERVER_RST, "server aborted");
	} else {
		C(fl, fR, cn, 0, 0);
		expect_events(fl, "client RST", "client:ESTABLISHED>CLOSED:RST, server:ESTABLISHED>CLOSED:RST");
		expect_closer(st, SG_CLOSER_CLIENT_RST, "client aborted");
	}
	expect_map(fl, "after the RST", IN_FLOWS, SG_CLOSED, SG_CLOSED);
	C(fl, fR, cn, 0, 0);
	S(fl, fR, sn, 0, 0);
	expect_events(fl, "more RSTs on the closed flow", "");
	end_scenario(name);
}

/* RSTs anywhere but at the sender's next sequence number change nothing
 * (RFC 5961, as Linux: in the window they draw a challenge ACK); one at
 * snd_nxt closes. */
static void sc_rst_window(void)
{
	const struct flow *fl = &F4;
	__u32 c = 0xffff0000u, s = 100, cn = c + 1 + 1000, sn = s + 1;
	int st;

	printf(" RST outside the window\n");
	if (open_skel(NULL, NULL))
		return;
	handshake(fl, c, s);
	C(fl, fA | fP, c + 1, sn, 1000);
	S(fl, fA, sn, cn, 0);
	st = expect_events(fl, "handshake", "client:CLOSED>SYN_SENT:SYN, server:LISTEN>SYN_RCVD:SYN-ACK, "
					    "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	C(fl, fR, cn + 100000, 0, 0);
	C(fl, fR, cn - 1, 0, 0);
	S(fl, fR | fA, sn + 64241, cn, 0);
	S(fl, fR | fA, sn - 2000, cn, 0);
	expect_events(fl, "4 RSTs outside [snd_nxt, snd_nxt + window]", "");
	CHECK(cnt(SG_CNT_RST_IGNORED) == 4, "rst_ignored = 4 (got %llu)", (unsigned long long)cnt(SG_CNT_RST_IGNORED));
	expect_map(fl, "untouched", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);
	{
		struct sg_flow v;

		get_flow(fl, &v);
		CHECK(v.close_how == SG_CLOSE_NONE, "entry: no closer recorded");
	}
	S(fl, fR | fA, sn + 64240, cn, 0);
	expect_events(fl, "RST at the window's right edge: a challenge ACK, no reset (RFC 5961)", "");
	CHECK(cnt(SG_CNT_RST_IGNORED) == 5, "rst_ignored = 5 (got %llu)", (unsigned long long)cnt(SG_CNT_RST_IGNORED));
	S(fl, fR | fA, sn, cn, 0);
	expect_events(fl, "RST at snd_nxt",
		      "server:ESTABLISHED>CLOSED:RST, client:ESTABLISHED>CLOSED:RST");
	expect_closer(st, SG_CLOSER_SERVER_RST, "server RST");
	CHECK(cnt(SG_CNT_RST_IGNORED) == 5, "rst_ignored still 5");
	end_scenario("RST outside the window");
}

/* No answer: the SYN is retransmitted, then the half-open timer closes it. */
static void sc_no_answer(void)
{
	const struct flow *fl = &F4;
	__u32 c = 0x00000001;
	struct sg_fsm_out out = { 0 };
	struct sg_flow v;
	struct sg_event e;
	struct sg_flow_key k;
	int done;

	printf(" no answer\n");
	if (open_skel(NULL, NULL))
		return;
	C(fl, fS, c, 0, 0);
	C(fl, fS, c, 0, 0);
	C(fl, fS, c, 0, 0);
	expect_events(fl, "SYN, 2 retransmissions", "client:CLOSED>SYN_SENT:SYN");
	CHECK(cnt(SG_CNT_SYN_RETRANS) == 2, "syn_retransmits = 2");
	expect_map(fl, "half-open", IN_HALFOPEN, SG_SYN_SENT, SG_LISTEN);
	get_flow(fl, &v);
	CHECK(v.syn_retrans == 2, "entry: syn_retrans = 2");
	done = sg_flow_expire(&v, v.start_ns + 31000000000ull, 60000000000ull, 30000000000ull, 0, &out);
	flow_key(fl, &k);
	memset(&e, 0, sizeof(e));
	if (out.n)
		sg_flow_event(&e, &k, &v, &out.tr[0], v.start_ns + 31000000000ull);
	CHECK(out.n == 1 && done && out.tr[0].from == SG_SYN_SENT && out.tr[0].to == SG_CLOSED &&
		      out.tr[0].cause == SG_CAUSE_TIMEOUT && e.closer == SG_CLOSER_TIMEOUT && e.syn_retrans == 2,
	      "half-open expiry (30 s): client:SYN_SENT>CLOSED:timeout, closer timeout, syn_retrans 2");
	end_scenario("no answer");
}

/* ---- special cases ------------------------------------------------------ */

static void sc_retransmissions(void)
{
	const struct flow *fl = &F4;
	__u32 c = 0xfffffffcu, s = 0xdeadbeefu, cn, sn = s + 1;
	struct sg_flow v;
	int st, ok;

	printf(" retransmitted SYN / SYN-ACK / data / FIN\n");
	if (open_skel(NULL, NULL))
		return;
	C(fl, fS, c, 0, 0);
	C(fl, fS, c, 0, 0);
	C(fl, fS, c, 0, 0);
	expect_events(fl, "SYN x3", "client:CLOSED>SYN_SENT:SYN");
	CHECK(cnt(SG_CNT_SYN_RETRANS) == 2, "syn_retransmits = 2");
	S(fl, fS | fA, s, c + 1, 0);
	S(fl, fS | fA, s, c + 1, 0);
	expect_events(fl, "SYN-ACK x2", "server:LISTEN>SYN_RCVD:SYN-ACK");
	C(fl, fA, c + 1, sn, 0);
	C(fl, fA, c + 1, sn, 0);
	st = expect_events(fl, "handshake ACK x2",
			   "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	C(fl, fA | fP, c + 1, sn, 700);
	C(fl, fA | fP, c + 1, sn, 700);
	cn = c + 1 + 700;
	S(fl, fA, sn, cn, 0);
	S(fl, fA, sn, cn, 0);
	expect_events(fl, "data x2, dup ACK", "");
	C(fl, fF | fA, cn, sn, 0);
	C(fl, fF | fA, cn, sn, 0);
	expect_events(fl, "FIN x2", "client:ESTABLISHED>FIN_WAIT_1:FIN");
	S(fl, fA, sn, cn + 1, 0);
	S(fl, fA, sn, cn + 1, 0);
	expect_events(fl, "ACK of the FIN x2",
		      "server:ESTABLISHED>CLOSE_WAIT:FIN, client:FIN_WAIT_1>FIN_WAIT_2:ACK");
	S(fl, fF | fA, sn, cn + 1, 0);
	S(fl, fF | fA, sn, cn + 1, 0);
	expect_events(fl, "server FIN x2", "server:CLOSE_WAIT>LAST_ACK:FIN");
	C(fl, fA, cn + 1, sn + 1, 0);
	C(fl, fA, cn + 1, sn + 1, 0);
	expect_events(fl, "last ACK x2", "client:FIN_WAIT_2>TIME_WAIT:FIN, server:LAST_ACK>CLOSED:ACK");
	ok = 1;
	for (int i = st; i < cur; i++)
		ok &= H.ev[i].syn_retrans == 2;
	CHECK(ok && cur - st == 8, "syn_retrans = 2 in every event after the handshake");
	CHECK(cnt(SG_CNT_SYN_RETRANS) == 2, "syn_retransmits still 2");
	CHECK(cnt(SG_CNT_RETRANS) == 6, "retransmits = 6 (2 SYN, SYN-ACK, data, 2 FIN; got %llu)",
	      (unsigned long long)cnt(SG_CNT_RETRANS));
	get_flow(fl, &v);
	CHECK(v.syn_retrans == 2 && v.bytes[SG_SIDE_CLIENT] == 1400, "entry: syn_retrans 2, client bytes 1400 (incl. retrans)");
	end_scenario("retransmissions");
}

/* A new SYN on a 4-tuple in TIME_WAIT: REUSE, then a fresh handshake. */
static void sc_reuse(int server_in_tw)
{
	const struct flow *fl = &F4;
	__u32 c = 5000, s = 0xfffffffdu, cn = c + 1, sn = s + 1, c2 = 0x90000000u, s2 = 42;
	const char *name = server_in_tw ? "new SYN, server in TIME_WAIT (it closed first)"
					: "new SYN, client in TIME_WAIT (it closed first)";
	struct sg_flow v;
	int st;

	printf(" %s\n", name);
	if (open_skel(NULL, NULL))
		return;
	handshake(fl, c, s);
	if (server_in_tw) {
		S(fl, fF | fA, sn, cn, 0);
		C(fl, fF | fA, cn, sn + 1, 0);
		S(fl, fA, sn + 1, cn + 1, 0);
		expect_map(fl, "first incarnation over", IN_FLOWS, SG_CLOSED, SG_TIME_WAIT);
	} else {
		C(fl, fF | fA, cn, sn, 0);
		S(fl, fF | fA, sn, cn + 1, 0);
		C(fl, fA, cn + 1, sn + 1, 0);
		expect_map(fl, "first incarnation over", IN_FLOWS, SG_TIME_WAIT, SG_CLOSED);
	}
	h_drain(&H);
	cur = H.nev;
	st = cur;
	C(fl, fS, c2, 0, 0);
	expect_events(fl, "new SYN", server_in_tw ? "server:TIME_WAIT>CLOSED:reuse, client:CLOSED>SYN_SENT:SYN"
						  : "client:TIME_WAIT>CLOSED:reuse, client:CLOSED>SYN_SENT:SYN");
	expect_closer(st, server_in_tw ? SG_CLOSER_SERVER_FIN : SG_CLOSER_CLIENT_FIN,
		      "the REUSE line names who closed the old connection");
	S(fl, fS | fA, s2, c2 + 1, 0);
	C(fl, fA, c2 + 1, s2 + 1, 0);
	expect_events(fl, "fresh handshake", "server:LISTEN>SYN_RCVD:SYN-ACK, "
					     "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	expect_map(fl, "second incarnation", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);
	get_flow(fl, &v);
	CHECK(v.isn[SG_SIDE_CLIENT] == c2 && v.isn[SG_SIDE_SERVER] == s2 && v.close_how == SG_CLOSE_NONE &&
		      v.pkts[SG_SIDE_CLIENT] == 2 && v.syn_retrans == 0,
	      "entry re-initialised: new ISNs, no closer, counts restart");
	CHECK(cnt(SG_CNT_SYN_RETRANS) == 0 && cnt(SG_CNT_FLOW_NEW) == 1, "not a retransmission, not a new entry");
	end_scenario(name);
}

/* First seen mid-stream: ESTABLISHED, marked; then a normal close. */
static void sc_midstream(int server_first)
{
	const struct flow *fl = &F4;
	__u32 cn = 0x12345678u, sn = 0xfffffff0u;
	const char *name = server_first ? "mid-stream, first segment from the server"
					: "mid-stream, first segment from the client";
	int st;

	printf(" %s\n", name);
	if (open_skel(NULL, NULL))
		return;
	if (server_first) {
		S(fl, fA | fP, sn, cn, 1000);
		sn += 1000;
	} else {
		C(fl, fA | fP, cn, sn, 200);
		cn += 200;
	}
	st = expect_events(fl, "first segment",
			   "client:CLOSED>ESTABLISHED:midstream, server:CLOSED>ESTABLISHED:midstream");
	expect_map(fl, "picked up", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);
	S(fl, fA | fP, sn, cn, 100);
	sn += 100;
	C(fl, fA, cn, sn, 0);
	C(fl, fF | fA, cn, sn, 0);
	S(fl, fF | fA, sn, cn + 1, 0);
	C(fl, fA, cn + 1, sn + 1, 0);
	expect_events(fl, "client closes",
		      "client:ESTABLISHED>FIN_WAIT_1:FIN, server:ESTABLISHED>CLOSE_WAIT:FIN, "
		      "server:CLOSE_WAIT>LAST_ACK:FIN, client:FIN_WAIT_1>FIN_WAIT_2:ACK, "
		      "client:FIN_WAIT_2>TIME_WAIT:FIN, server:LAST_ACK>CLOSED:ACK");
	expect_flags(st, SG_F_MIDSTREAM, "marked mid-stream");
	expect_closer(st, SG_CLOSER_CLIENT_FIN, "client closed first");
	CHECK(cnt(SG_CNT_RETRANS) == 0, "no retransmits");
	end_scenario(name);
}

static void sc_tfo(void)
{
	const struct flow *fl = &F4;
	__u32 c = 0xffffffc0u, s = 999;
	struct sg_flow v;
	int st;

	printf(" TFO (data in the SYN)\n");
	if (open_skel(NULL, NULL))
		return;
	C(fl, fS, c, 0, 64);
	st = expect_events(fl, "SYN with 64 B", "client:CLOSED>SYN_SENT:SYN");
	S(fl, fS | fA, s, c + 65, 0);
	C(fl, fA, c + 65, s + 1, 0);
	expect_events(fl, "SYN-ACK acks the data, ACK",
		      "server:LISTEN>SYN_RCVD:SYN-ACK, client:SYN_SENT>ESTABLISHED:SYN-ACK, "
		      "server:SYN_RCVD>ESTABLISHED:ACK");
	expect_flags(st, SG_F_TFO, "flagged TFO");
	expect_map(fl, "established", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);
	get_flow(fl, &v);
	CHECK((v.flags & SG_F_TFO) && v.bytes[SG_SIDE_CLIENT] == 64, "entry: TFO, 64 B from the client");
	CHECK(cnt(SG_CNT_RETRANS) == 0, "no retransmits");
	end_scenario("TFO");

	/* A Fast Open cookie request: no data, a TFO option (kind 34) in the SYN. */
	printf(" TFO (cookie option in the SYN, no data)\n");
	if (open_skel(NULL, NULL))
		return;
	{
		static const __u8 opts[8] = { 2, 4, 0x05, 0xb4, 34, 2, 1, 1 };
		struct h_pkt p = { .family = 4, .saddr = "10.0.0.2", .daddr = "10.0.0.1", .sport = 40123,
				   .dport = 443, .seq = 77, .flags = fS, .opts = opts, .optlen = 8 };
		__u8 buf[H_MAX_FRAME];
		struct h_run r;
		int n = h_build(&p, buf, sizeof(buf));

		CHECK(n > 0 && !h_run_xdp(bpf_program__fd(H.skel->progs.sg_xdp), buf, n, &r) &&
			      r.retval == XDP_PASS,
		      "SYN with a TFO option passes");
		h_drain(&H);
		CHECK(H.nev == 1 && H.ev[0].to == SG_SYN_SENT && (H.ev[0].flags & SG_F_TFO),
		      "CLOSED->SYN_SENT flagged TFO (%d events)", H.nev);
		p.opts = h_linux_syn_opts;
		p.optlen = 20;
		p.sport = 40124;
		n = h_build(&p, buf, sizeof(buf));
		H.nev = 0;
		h_run_xdp(bpf_program__fd(H.skel->progs.sg_xdp), buf, n, &r);
		h_drain(&H);
		CHECK(H.nev == 1 && !(H.ev[0].flags & SG_F_TFO), "a plain Linux SYN is not flagged TFO");
	}
	h_close(&H);
}

/* ---- filters ------------------------------------------------------------ */

static void cfg_family4(struct synguard_bpf *skel, void *arg)
{
	(void)arg;
	skel->rodata->sg_cfg.family = 4;
}

static void cfg_ports(struct synguard_bpf *skel, void *arg)
{
	(void)arg;
	skel->rodata->sg_cfg.port_filter = 1;
}

static void cfg_addrs(struct synguard_bpf *skel, void *arg)
{
	(void)arg;
	skel->rodata->sg_cfg.addr_filter = 1;
}

static const char *HS_SPEC = "client:CLOSED>SYN_SENT:SYN, server:LISTEN>SYN_RCVD:SYN-ACK, "
			     "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK";

static void sc_filter_family(void)
{
	printf(" filter -4\n");
	if (open_skel(cfg_family4, NULL))
		return;
	handshake(&F6, 1000, 2000);
	expect_events(&F6, "IPv6 handshake", "");
	expect_map(&F6, "IPv6 flow", NOWHERE, 0, 0);
	CHECK(cnt(SG_CNT_FILTERED) == 3, "filtered = 3");
	handshake(&F4, 1000, 2000);
	expect_events(&F4, "IPv4 handshake", HS_SPEC);
	expect_map(&F4, "IPv4 flow", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);
	CHECK(cnt(SG_CNT_FILTERED) == 3 && cnt(SG_CNT_FLOW_NEW) == 1, "filtered still 3, one flow");
	end_scenario("filter -4");
}

static void sc_filter_port(void)
{
	struct flow f80 = F4, f443 = F4;
	__u16 port = 443;
	__u8 one = 1;

	f80.sp = 80;
	f443.sp = 443;
	printf(" filter -p 443\n");
	if (open_skel(cfg_ports, NULL))
		return;
	CHECK(!bpf_map_update_elem(bpf_map__fd(H.skel->maps.sg_filter_ports), &port, &one, BPF_ANY),
	      "sg_filter_ports: 443");
	handshake(&f80, 1, 2);
	expect_events(&f80, "port-80 handshake", "");
	expect_map(&f80, "port-80 flow", NOWHERE, 0, 0);
	CHECK(cnt(SG_CNT_FILTERED) == 3, "filtered = 3");
	handshake(&f443, 0xffffffffu, 0xfffffffeu);
	expect_events(&f443, "port-443 handshake", HS_SPEC);
	expect_map(&f443, "port-443 flow", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);
	CHECK(cnt(SG_CNT_FILTERED) == 3, "filtered still 3");
	end_scenario("filter -p");
}

static void sc_filter_addr(void)
{
	struct flow in_c = { 4, "10.1.2.3", "10.0.0.1", 40000, 8080, 0 };	/* client in 10.1/16 */
	struct flow in_s = { 4, "192.168.7.7", "10.1.9.9", 40001, 22, 0 };	/* server in 10.1/16 */
	struct flow out = { 4, "10.0.0.2", "10.0.0.1", 40002, 8080, 0 };
	struct flow in6 = { 6, "2001:db8:1::5", "fd00::1", 40003, 443, 0 };	/* client in 2001:db8:1::/48 */
	struct flow out6 = { 6, "2001:db8:2::5", "fd00::1", 40004, 443, 0 };
	struct sg_lpm_key k4 = { 32 + 16, 4, { 0 } }, k6 = { 32 + 48, 6, { 0 } };
	__u8 one = 1;
	int fd;

	printf(" filter -a 10.1.0.0/16 -a 2001:db8:1::/48\n");
	if (open_skel(cfg_addrs, NULL))
		return;
	fd = bpf_map__fd(H.skel->maps.sg_filter_addr);
	addr_of(4, "10.1.0.0", k4.addr);
	addr_of(6, "2001:db8:1::", k6.addr);
	CHECK(!bpf_map_update_elem(fd, &k4, &one, BPF_ANY) && !bpf_map_update_elem(fd, &k6, &one, BPF_ANY),
	      "sg_filter_addr: two LPM entries");
	handshake(&out, 10, 20);
	handshake(&out6, 10, 20);
	expect_events(NULL, "handshakes outside the prefixes", "");
	expect_map(&out, "10.0.0.2 flow", NOWHERE, 0, 0);
	CHECK(cnt(SG_CNT_FILTERED) == 6, "filtered = 6");
	handshake(&in_c, 10, 20);
	expect_events(&in_c, "client 10.1.2.3", HS_SPEC);
	handshake(&in_s, 10, 20);
	expect_events(&in_s, "server 10.1.9.9", HS_SPEC);
	handshake(&in6, 10, 20);
	expect_events(&in6, "client 2001:db8:1::5", HS_SPEC);
	expect_map(&in6, "2001:db8:1::5 flow", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);
	CHECK(cnt(SG_CNT_FILTERED) == 6 && cnt(SG_CNT_FLOW_NEW) == 3, "filtered still 6, 3 flows");
	end_scenario("filter -a");
}

/* ---- flood safety, losses ------------------------------------------------ */

static void cfg_quiet5(struct synguard_bpf *skel, void *arg)
{
	(void)arg;
	skel->rodata->sg_cfg.syn_quiet = 5;
}

/* Sleep into the start of the next SYN-rate window (ns >> 30, CLOCK_MONOTONIC). */
static void next_window(void)
{
	__u64 now = now_mono(), next = ((now >> 30) + 1) << 30, d = next - now + 20000000;
	struct timespec ts = { d / 1000000000ull, d % 1000000000ull };

	nanosleep(&ts, NULL);
}

static void sc_flood(void)
{
	static char addrs[51][32];
	struct flow fl[51];
	struct sg_flow before, after;
	int lines_ok = 1, quiet_ok = 1, st;

	printf(" SYN flood: 50 spoofed SYNs, syn_quiet 5\n");
	if (open_skel(cfg_quiet5, NULL))
		return;
	handshake(&F4, 0xfffffff0u, 7);
	C(&F4, fA | fP, 0xfffffff1u, 8, 100);
	S(&F4, fA, 8, 0xfffffff1u + 100, 0);
	expect_events(&F4, "established flow", HS_SPEC);
	get_flow(&F4, &before);

	next_window();
	for (int i = 0; i < 51; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "10.9.%d.%d", i / 200, 1 + i % 200);
		fl[i] = (struct flow){ 4, addrs[i], "10.0.0.1", (__u16)(1024 + i * 7), 8080, 0 };
	}
	for (int i = 0; i < 50; i++) {
		int n0;

		h_drain(&H);
		n0 = H.nev;
		C(&fl[i], fS, 0x1000u * i, 0, 0);
		h_drain(&H);
		if (i < 5)
			lines_ok &= H.nev == n0 + 1 && H.ev[n0].type == SG_EV_STATE && H.ev[n0].to == SG_SYN_SENT &&
				    ev_addr_ok(&fl[i], &H.ev[n0]);
		else
			lines_ok &= H.nev == n0;
	}
	cur = H.nev;
	CHECK(lines_ok, "SYNs 1-5: one CLOSED>SYN_SENT line each (own addresses), SYNs 6-50: none");
	CHECK(map_count(H.skel->maps.sg_halfopen) == 50 &&
		      map_count(H.skel->maps.sg_flows4) + map_count(H.skel->maps.sg_flows) == 1,
	      "50 half-open entries in sg_halfopen, sg_flows4/sg_flows hold only the established flow");
	for (int i = 0; i < 50; i++) {
		struct sg_flow v;

		quiet_ok &= get_flow(&fl[i], &v) == IN_HALFOPEN && v.state[0] == SG_SYN_SENT &&
			    !!(v.flags & SG_F_QUIET) == (i >= 5);
	}
	CHECK(quiet_ok, "each in sg_halfopen, SYN_SENT; only the 45 unprinted are flagged quiet");
	get_flow(&F4, &after);
	CHECK(get_flow(&F4, &after) == IN_FLOWS && !memcmp(&before, &after, sizeof(before)),
	      "the established flow is untouched (entry byte-identical)");

	/* a quiet handshake that completes is printed from ESTABLISHED on */
	S(&fl[10], fS | fA, 5555, 0x1000u * 10 + 1, 0);
	expect_events(&fl[10], "quiet flow: SYN-ACK", "");
	C(&fl[10], fA, 0x1000u * 10 + 1, 5556, 0);
	expect_events(&fl[10], "quiet flow: ACK",
		      "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	expect_map(&fl[10], "quiet flow completed", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);
	/* the established flow still lives, to the end */
	C(&F4, fF | fA, 0xfffffff1u + 100, 8, 0);
	S(&F4, fF | fA, 8, 0xfffffff1u + 101, 0);
	C(&F4, fA, 0xfffffff1u + 101, 9, 0);
	expect_events(&F4, "established flow closes",
		      "client:ESTABLISHED>FIN_WAIT_1:FIN, server:ESTABLISHED>CLOSE_WAIT:FIN, "
		      "server:CLOSE_WAIT>LAST_ACK:FIN, client:FIN_WAIT_1>FIN_WAIT_2:ACK, "
		      "client:FIN_WAIT_2>TIME_WAIT:FIN, server:LAST_ACK>CLOSED:ACK");

	next_window();
	C(&fl[50], fS, 1, 0, 0);
	st = expect_events(NULL, "next window: one SYN", "SUMMARY:8080, client:CLOSED>SYN_SENT:SYN");
	if (cur - st == 2)
		CHECK(H.ev[st].syns == 50 && H.ev[st].not_printed == 45 && H.ev[st].family == 4 &&
			      ev_addr_ok(&fl[50], &H.ev[st + 1]),
		      "summary: port 8080, 50 SYNs of which 45 not printed (got %u, %u)", H.ev[st].syns,
		      H.ev[st].not_printed);
	else
		CHECK(0, "summary event present");
	CHECK(cnt(SG_CNT_SYN) == 52, "syn counter = 52");
	end_scenario("SYN flood");
}

static void cfg_halfopen4(struct synguard_bpf *skel, void *arg)
{
	(void)arg;
	bpf_map__set_max_entries(skel->maps.sg_halfopen, 4);
}

static void sc_halfopen_full(void)
{
	static char addrs[7][32];
	struct flow fl[7];
	int ok = 1;

	printf(" half-open map full (max_entries 4)\n");
	if (open_skel(cfg_halfopen4, NULL))
		return;
	CHECK(bpf_map__max_entries(H.skel->maps.sg_halfopen) == 4, "sg_halfopen sized to 4");
	for (int i = 0; i < 7; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "10.8.0.%d", i + 1);
		fl[i] = (struct flow){ 4, addrs[i], "10.0.0.1", 33000, 8080, 0 };
	}
	for (int i = 0; i < 6; i++)
		C(&fl[i], fS, 100 * i, 0, 0);
	expect_events(NULL, "6 SYNs", "client:CLOSED>SYN_SENT:SYN, client:CLOSED>SYN_SENT:SYN, "
				      "client:CLOSED>SYN_SENT:SYN, client:CLOSED>SYN_SENT:SYN");
	for (int i = 0; i < 4; i++)
		ok &= get_flow(&fl[i], &(struct sg_flow){ 0 }) == IN_HALFOPEN;
	CHECK(ok && get_flow(&fl[4], &(struct sg_flow){ 0 }) == NOWHERE &&
		      get_flow(&fl[5], &(struct sg_flow){ 0 }) == NOWHERE,
	      "the first 4 in sg_halfopen, the other 2 nowhere");
	CHECK(cnt(SG_LOSS_HALFOPEN_FULL) == 2, "lost_halfopen = 2 (got %llu)",
	      (unsigned long long)cnt(SG_LOSS_HALFOPEN_FULL));
	/* the lost flow's handshake goes on: SYN-ACK also lost, ACK picks it up mid-stream */
	S(&fl[4], fS | fA, 9000, 401, 0);
	CHECK(cnt(SG_LOSS_HALFOPEN_FULL) == 3, "its SYN-ACK: lost_halfopen = 3");
	C(&fl[4], fA, 401, 9001, 0);
	expect_events(&fl[4], "its ACK", "client:CLOSED>ESTABLISHED:midstream, server:CLOSED>ESTABLISHED:midstream");
	expect_map(&fl[4], "picked up", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);
	/* a completed handshake frees its half-open slot */
	S(&fl[0], fS | fA, 7000, 1, 0);
	C(&fl[0], fA, 1, 7001, 0);
	expect_events(&fl[0], "flow 1 completes", "server:LISTEN>SYN_RCVD:SYN-ACK, "
						  "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	expect_map(&fl[0], "flow 1", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);
	C(&fl[6], fS, 600, 0, 0);
	expect_events(&fl[6], "a new SYN fits again", "client:CLOSED>SYN_SENT:SYN");
	expect_map(&fl[6], "new SYN", IN_HALFOPEN, SG_SYN_SENT, SG_LISTEN);
	CHECK(cnt(SG_LOSS_HALFOPEN_FULL) == 3 && map_count(H.skel->maps.sg_halfopen) == 4,
	      "lost_halfopen still 3, sg_halfopen full again");
	CHECK(nseg > 0 && seg_bad == 0, "half-open map full: all %d segments passed unchanged", nseg);
	h_close(&H);
}

/*
 * The handshake completes while another CPU holds the half-open entry's
 * busy flag (set here by hand): the record moved into sg_flows must not
 * carry the flag, or every later state change on the flow would find it
 * taken for good.
 */
static void sc_move_busy(void)
{
	const struct flow *fl = &F4;
	__u32 c = 5000, s = 9000;
	struct sg_flow_key k;
	struct sg_flow v;
	__u64 contended;

	printf(" handshake done while the half-open entry's busy flag is held\n");
	if (open_skel(NULL, NULL))
		return;
	C(fl, fS, c, 0, 0);
	S(fl, fS | fA, s, c + 1, 0);
	flow_key(fl, &k);
	CHECK(!bpf_map_lookup_elem(bpf_map__fd(H.skel->maps.sg_halfopen), &k, &v), "half-open entry");
	v.busy = 1;
	bpf_map_update_elem(bpf_map__fd(H.skel->maps.sg_halfopen), &k, &v, BPF_EXIST);
	C(fl, fA, c + 1, s + 1, 0);
	expect_events(fl, "handshake", "client:CLOSED>SYN_SENT:SYN, server:LISTEN>SYN_RCVD:SYN-ACK, "
				       "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	expect_map(fl, "handshake done", IN_FLOWS, SG_ESTABLISHED, SG_ESTABLISHED);
	get_flow(fl, &v);
	CHECK(v.busy == 0, "sg_flows entry: busy 0 (got %u)", v.busy);
	contended = cnt(SG_CNT_LOCK_CONTENDED);
	C(fl, fF | fA, c + 1, s + 1, 0);
	expect_events(fl, "client FIN", "client:ESTABLISHED>FIN_WAIT_1:FIN");
	CHECK(cnt(SG_CNT_LOCK_CONTENDED) == contended,
	      "the next state change takes the flag: flow_contended unchanged (%llu -> %llu)",
	      (unsigned long long)contended, (unsigned long long)cnt(SG_CNT_LOCK_CONTENDED));
	end_scenario("busy flag at the move");
}

/*
 * Ethernet padding: a 40-byte IPv4/TCP segment travels in a 60-byte frame
 * (the minimum), whatever the padding bytes hold. The payload length comes
 * from the IP length: padding is neither data (bytes, a SYN's TFO flag) nor
 * a sequence-space advance (retransmissions).
 */
static void sc_padding(void)
{
	const struct flow *fl = &F4;
	__u32 c = 777, s = 999;
	__u8 buf[H_MAX_FRAME];
	struct h_run r;
	struct sg_flow v;
	int n, ok = 1;

	printf(" Ethernet padding (60-byte frames, garbage in the padding)\n");
	if (open_skel(NULL, NULL))
		return;
	/* each frame: built, padding filled with 0xa5, then sent */
#define PADDED(from_client, flags, seq, ack)							\
	do {											\
		n = build(fl, from_client, flags, seq, ack, 0, buf);				\
		ok &= n == 60;									\
		memset(buf + 54, 0xa5, 6);							\
		if (from_client)								\
			ok &= !h_run_xdp(bpf_program__fd(H.skel->progs.sg_xdp), buf, n, &r) &&	\
			      r.retval == XDP_PASS;						\
		else										\
			ok &= !h_run_tc(bpf_program__fd(H.skel->progs.sg_tc_egress), buf, n, &r) && \
			      r.retval == 0;							\
	} while (0)
	PADDED(1, fS, c, 0);
	get_flow(fl, &v);
	CHECK(ok && !(v.flags & SG_F_TFO) && v.bytes[SG_SIDE_CLIENT] == 0,
	      "SYN in a 60-byte frame: payload 0 (no TFO flag, 0 bytes; got flags 0x%x, %u bytes)", v.flags,
	      v.bytes[SG_SIDE_CLIENT]);
	PADDED(0, fS | fA, s, c + 1);
	PADDED(1, fA, c + 1, s + 1);
	PADDED(1, fA, c + 1, s + 1);
	PADDED(0, fA, s + 1, c + 1);
#undef PADDED
	expect_events(fl, "handshake in padded frames",
		      "client:CLOSED>SYN_SENT:SYN, server:LISTEN>SYN_RCVD:SYN-ACK, "
		      "client:SYN_SENT>ESTABLISHED:SYN-ACK, server:SYN_RCVD>ESTABLISHED:ACK");
	get_flow(fl, &v);
	CHECK(ok && v.bytes[SG_SIDE_CLIENT] == 0 && v.bytes[SG_SIDE_SERVER] == 0 && cnt(SG_CNT_RETRANS) == 0,
	      "pure ACKs in 60-byte frames: 0 bytes each way, no retransmission (got %u/%u, %llu)",
	      v.bytes[0], v.bytes[1], (unsigned long long)cnt(SG_CNT_RETRANS));
	h_close(&H);
}

/* ---- per-packet cost ------------------------------------------------------ */

/*
 * The established path's idle clock (bpf/sg_maps.h, sg_tick_ns()): read
 * once per tick per CPU and reused within it. A steady segment after a
 * 150 ms pause must move the flow's last_ms to its own time, not keep an
 * older tick's: two ticks behind CLOCK_MONOTONIC at most (20 ms at HZ=100),
 * more only when the host delays the timekeeping tick itself, so the
 * test allows 75 ms (a cache never refreshed misses by the pause).
 */
static void sc_idle_clock(void)
{
	struct timespec pause = { 0, 150 * 1000000 };
	__u32 c = 1000, s = 5000;
	struct sg_flow v;
	int ok = 1;

	printf(" idle clock of steady segments\n");
	if (open_skel(NULL, NULL))
		return;
	handshake(&F4, c, s);
	c++;
	s++;
	for (int i = 0; i < 3; i++) {
		__u64 before, after, seen;

		nanosleep(&pause, NULL);
		before = now_mono();
		C(&F4, fA | fP, c, s, 100);
		after = now_mono();
		c += 100;
		if (get_flow(&F4, &v) != IN_FLOWS) {
			ok = 0;
			break;
		}
		seen = v.start_ns + v.last_ms * 1000000ull;
		CHECK(seen + 75000000ull >= before && seen <= after,
		      "pause %d: last_ms %u puts the segment at %lld ms from the call (within 75 ms before it)",
		      i + 1, v.last_ms, ((long long)seen - (long long)before) / 1000000);
	}
	CHECK(ok && v.pkts[SG_SIDE_CLIENT] == 5, "the flow (in sg_flows) counted the steady segments");
	end_scenario("idle clock");
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

#define BENCH_RUNS 20000

static void bench(void)
{
	static __u32 d_sg[BENCH_RUNS], d_pass[BENCH_RUNS];
	static __u8 frames[64][H_MAX_FRAME];
	int lens[64], sg_fd, pass_fd = -1, ok = 1;
	struct bpf_object *obj;
	struct bpf_program *prog;
	__u32 c = 1, s = 2, cn = c + 1;
	struct h_run r;

	printf(" per-packet cost (BPF_PROG_TEST_RUN, repeat=1 x %d, median)\n", BENCH_RUNS);
	if (open_skel(NULL, NULL))
		return;
	handshake(&F4, c, s);
	sg_fd = bpf_program__fd(H.skel->progs.sg_xdp);
	/* a ring of 64 frames with advancing sequence numbers: new data each time
	 * until the ring wraps, retransmissions after that (same path cost) */
	for (int i = 0; i < 64; i++)
		lens[i] = build(&F4, 1, fA | fP, cn + 1000 * i, s + 1, 1000, frames[i]);
	obj = bpf_object__open_file("build/xdp_pass.bpf.o", NULL);
	if (!obj || bpf_object__load(obj)) {
		CHECK(0, "load build/xdp_pass.bpf.o");
		h_close(&H);
		return;
	}
	bpf_object__for_each_program(prog, obj)
		pass_fd = bpf_program__fd(prog);
	for (int i = 0; i < BENCH_RUNS; i++) {
		ok &= !h_run_xdp(sg_fd, frames[i % 64], lens[i % 64], &r) && r.retval == XDP_PASS;
		d_sg[i] = r.duration_ns;
		ok &= !h_run_xdp(pass_fd, frames[i % 64], lens[i % 64], &r) && r.retval == XDP_PASS;
		d_pass[i] = r.duration_ns;
	}
	qsort(d_sg, BENCH_RUNS, sizeof(__u32), cmp_u32);
	qsort(d_pass, BENCH_RUNS, sizeof(__u32), cmp_u32);
	h_drain(&H);
	CHECK(ok && H.nev == 4, "%d runs each, all XDP_PASS, no events from data", BENCH_RUNS);
	printf("  cost: sg_xdp established-flow data segment median %u ns (p10 %u, p90 %u), "
	       "xdp_pass median %u ns (p10 %u, p90 %u): %d ns over baseline\n",
	       d_sg[BENCH_RUNS / 2], d_sg[BENCH_RUNS / 10], d_sg[BENCH_RUNS * 9 / 10], d_pass[BENCH_RUNS / 2],
	       d_pass[BENCH_RUNS / 10], d_pass[BENCH_RUNS * 9 / 10],
	       (int)d_sg[BENCH_RUNS / 2] - (int)d_pass[BENCH_RUNS / 2]);
	bpf_object__close(obj);
	h_close(&H);
}

void test_track(void)
{
	cpu_set_t old, one;
	int pinned;

	/* per-CPU SYN windows and counters: keep every run on one CPU */
	pinned = !sched_getaffinity(0, sizeof(old), &old);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	if (pinned)
		sched_setaffinity(0, sizeof(one), &one);

	sc_client_closes(&F4, "client closes first (IPv4)");
	sc_server_closes();
	sc_simultaneous();
	sc_finack(1);
	sc_finack(0);
	sc_half_close();
	sc_refused();
	sc_abort(0);
	sc_abort(1);
	sc_rst_window();
	sc_no_answer();
	sc_retransmissions();
	sc_reuse(0);
	sc_reuse(1);
	sc_midstream(0);
	sc_midstream(1);
	sc_client_closes(&F6, "client closes first (IPv6)");
	sc_client_closes(&F4V, "client closes first (802.1Q VLAN 100)");
	sc_tfo();
	sc_filter_family();
	sc_filter_port();
	sc_filter_addr();
	sc_flood();
	sc_halfopen_full();
	sc_move_busy();
	sc_padding();
	sc_idle_clock();
	bench();

	if (pinned)
		sched_setaffinity(0, sizeof(old), &old);
}
