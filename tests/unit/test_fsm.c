// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_fsm.c - unit test of the per-flow TCP state machine (include/sg_flow.h).
 *
 *   make build/test_fsm && build/test_fsm
 *
 * Drives segment sequences through the machine and asserts the exact
 * transitions (side, from, to, cause) of every segment, the per-side paths
 * of the canonical scenarios of docs/states.md, and the retransmission / RST /
 * reuse flags. Sequence numbers wrap around 2^32 in most scenarios.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "check.h"
#include "sg_flow.h"

static const char *st_name(int s)
{
	static const char *n[] = { "CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD",
		"ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSING", "TIME_WAIT",
		"CLOSE_WAIT", "LAST_ACK" };
	return s >= 0 && s < SG_STATE_MAX ? n[s] : "?";
}

static const char *cause_name(int c)
{
	static const char *n[] = { "SYN", "SYNACK", "ACK", "FIN", "RST", "TIMEOUT",
		"REUSE", "COOKIE", "MIDSTREAM" };
	return c >= 0 && c < SG_CAUSE_MAX ? n[c] : "?";
}

/* "C:SYN_SENT>ESTABLISHED/SYNACK S:SYN_RCVD>ESTABLISHED/ACK", "-" if none */
static void fmt_out(const struct sg_fsm_out *o, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = 0;
	if (!o->n) {
		snprintf(buf, len, "-");
		return;
	}
	for (i = 0; i < o->n && i < SG_FSM_MAX_TR; i++)
		off += snprintf(buf + off, len - off, "%s%c:%s>%s/%s", i ? " " : "",
				o->tr[i].side == SG_SIDE_CLIENT ? 'C' : 'S',
				st_name(o->tr[i].from), st_name(o->tr[i].to),
				cause_name(o->tr[i].cause));
}

/* A scenario: the flow, the last output, a clock and each side's path. */
struct sc {
	const char *name;
	struct sg_flow f;
	struct sg_fsm_out o;
	__u64 now;
	char path[2][256];
	int step;
};

static void record(struct sc *s)
{
	int i;

	for (i = 0; i < s->o.n; i++) {
		const struct sg_tr *t = &s->o.tr[i];
		char *p = s->path[t->side & 1];
		size_t l = strlen(p);
		const char *last = NULL;

		if (l) {
			last = strrchr(p, '>');
			last = last ? last + 1 : p;
		}
		if (!l)
			snprintf(p, 256, "%s>%s", st_name(t->from), st_name(t->to));
		else if (strcmp(last, st_name(t->from)) == 0)
			snprintf(p + l, 256 - l, ">%s", st_name(t->to));
		else /* discontinuity: make it visible */
			snprintf(p + l, 256 - l, "|%s>%s", st_name(t->from), st_name(t->to));
	}
	if (s->o.overflow)
		CHECK(0, "%s: out overflow", s->name);
}

static void expect_out(struct sc *s, const char *what, const char *exp, int retrans)
{
	char got[256];

	fmt_out(&s->o, got, sizeof(got));
	CHECK(strcmp(got, exp) == 0, "%s #%d %s: [%s]%s%s", s->name, s->step, what,
	      got, strcmp(got, exp) ? " expected " : "", strcmp(got, exp) ? exp : "");
	if (retrans >= 0)
		CHECK(s->o.retrans == retrans, "%s #%d %s: retrans=%d", s->name, s->step,
		      what, s->o.retrans);
}

#define F SG_TCP_FIN
#define S SG_TCP_SYN
#define R SG_TCP_RST
#define P SG_TCP_PSH
#define A SG_TCP_ACK

#define MS 1000000ULL
#define SEC 1000000000ULL

static void init(struct sc *s, const char *name, int sender_is_lo, __u8 flags,
		 __u32 seq, __u32 ack, __u32 len, __u16 win, int tfo, const char *exp)
{
	memset(s, 0, sizeof(*s));
	memset(&s->f, 0xa5, sizeof(s->f));	/* init must not rely on zeroed memory */
	s->name = name;
	s->now = 1000 * SEC;
	sg_flow_init(&s->f, sender_is_lo, flags, seq, ack, len, win, s->now, tfo, &s->o);
	record(s);
	expect_out(s, "init", exp, 0);
}

/* one segment, 'adv_us' microseconds after the previous one */
static void seg(struct sc *s, __u64 adv_us, int from_client, __u8 flags, __u32 seq,
		__u32 ack, __u32 len, __u16 win, const char *exp, int retrans)
{
	char what[64];

	s->step++;
	s->now += adv_us * 1000;
	sg_flow_segment(&s->f, from_client, flags, seq, ack, len, win, s->now, &s->o);
	record(s);
	snprintf(what, sizeof(what), "%s %s%s%s%s%s len %u", from_client ? "C->S" : "S->C",
		 flags & S ? "S" : "", flags & F ? "F" : "", flags & R ? "R" : "",
		 flags & P ? "P" : "", flags & A ? "A" : "", len);
	expect_out(s, what, exp, retrans);
}

static void expire(struct sc *s, __u64 adv_ms, __u64 tw, __u64 ho, __u64 idle,
		   const char *exp, int exp_done)
{
	int done;
	char what[64];

	s->step++;
	s->now += adv_ms * MS;
	done = sg_flow_expire(&s->f, s->now, tw, ho, idle, &s->o);
	record(s);
	snprintf(what, sizeof(what), "expire +%llums", (unsigned long long)adv_ms);
	expect_out(s, what, exp, -1);
	CHECK(done == exp_done, "%s #%d expire: done=%d", s->name, s->step, done);
}

static void expect_paths(struct sc *s, const char *client, const char *server)
{
	CHECK(strcmp(s->path[0], client) == 0, "%s: client path %s%s%s", s->name,
	      s->path[0], strcmp(s->path[0], client) ? " expected " : "",
	      strcmp(s->path[0], client) ? client : "");
	CHECK(strcmp(s->path[1], server) == 0, "%s: server path %s%s%s", s->name,
	      s->path[1][0] ? s->path[1] : "(none)", strcmp(s->path[1], server) ? " expected " : "",
	      strcmp(s->path[1], server) ? (server[0] ? server : "(none)") : "");
}

#define TW_NS	(60 * SEC)
#define HO_NS	(75 * SEC)
#define IDLE_NS	(3600 * SEC)

/* client ISN and server ISN chosen so the handshake and data wrap 2^32 */
#define CISN 0xfffffff0u
#define SISN 0xffffff00u

/* SYN, SYN-ACK, ACK: client is 'hi' (sender_is_lo = 0) */
static void handshake(struct sc *s, const char *name, __u32 ci, __u32 si)
{
	init(s, name, 0, S, ci, 0, 0, 64240, 0, "C:CLOSED>SYN_SENT/SYN");
	seg(s, 1500, 0, S | A, si, ci + 1, 0, 65160, "S:LISTEN>SYN_RCVD/SYNACK", 0);
	seg(s, 200, 1, A, ci + 1, si + 1, 0, 502,
	    "C:SYN_SENT>ESTABLISHED/SYNACK S:SYN_RCVD>ESTABLISHED/ACK", 0);
}

static void t_client_closes(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	handshake(&s, "client-first", CISN, SISN);
	CHECK(s.f.rtt_syn_us == 1500 && s.f.rtt_ack_us == 200,
	      "client-first: rtt_syn_us=%u rtt_ack_us=%u", s.f.rtt_syn_us, s.f.rtt_ack_us);
	CHECK(s.f.client_is_lo == 0 && sg_flow_client_is_lo(&s.f) == 0,
	      "client-first: client is hi");
	/* request crosses 2^32 */
	seg(&s, 100, 1, P | A, c, v, 100, 502, "-", 0);
	c += 100;
	seg(&s, 300, 0, A, v, c, 0, 509, "-", 0);
	seg(&s, 100, 0, P | A, v, c, 3000, 509, "-", 0);
	v += 3000;
	seg(&s, 100, 1, A, c, v, 0, 501, "-", 0);
	seg(&s, 1000, 1, F | A, c, v, 0, 501, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	seg(&s, 100, 0, A, v, c + 1, 0, 509,
	    "S:ESTABLISHED>CLOSE_WAIT/FIN C:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	seg(&s, 100, 0, F | A, v, c + 1, 0, 509, "S:CLOSE_WAIT>LAST_ACK/FIN", 0);
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 501,
	    "C:FIN_WAIT_2>TIME_WAIT/FIN S:LAST_ACK>CLOSED/ACK", 0);
	CHECK(s.f.close_how == SG_CLOSE_FIN && s.f.close_side == SG_SIDE_CLIENT,
	      "client-first: closer client/FIN");
	CHECK(s.f.pkts[0] == 6 && s.f.pkts[1] == 5 && s.f.bytes[0] == 100 &&
	      s.f.bytes[1] == 3000, "client-first: pkts %u/%u bytes %u/%u",
	      s.f.pkts[0], s.f.pkts[1], s.f.bytes[0], s.f.bytes[1]);
	expire(&s, 59000, TW_NS, HO_NS, IDLE_NS, "-", 0);
	expire(&s, 1000, TW_NS, HO_NS, IDLE_NS, "C:TIME_WAIT>CLOSED/TIMEOUT", 1);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED",
		     "LISTEN>SYN_RCVD>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
	/* a late duplicate FIN of a deleted-to-be flow changes nothing */
	seg(&s, 10, 0, F | A, v, c + 1, 0, 509, "-", 1);
}

static void t_server_closes(void)
{
	struct sc s;
	__u32 c = 0x7fffff00u, v = 0xfffffffeu;

	handshake(&s, "server-first", c - 1, v - 1);
	seg(&s, 100, 1, P | A, c, v, 10, 502, "-", 0);
	c += 10;
	seg(&s, 100, 0, F | P | A, v, c, 20, 509, "S:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	v += 20;	/* FIN at v, wraps: v + 1 == 0x00000012 */
	seg(&s, 100, 1, A, c, v + 1, 0, 502,
	    "C:ESTABLISHED>CLOSE_WAIT/FIN S:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	seg(&s, 100, 1, F | A, c, v + 1, 0, 502, "C:CLOSE_WAIT>LAST_ACK/FIN", 0);
	seg(&s, 100, 0, A, v + 1, c + 1, 0, 509,
	    "S:FIN_WAIT_2>TIME_WAIT/FIN C:LAST_ACK>CLOSED/ACK", 0);
	CHECK(s.f.close_how == SG_CLOSE_FIN && s.f.close_side == SG_SIDE_SERVER,
	      "server-first: closer server/FIN");
	expire(&s, 60000, TW_NS, HO_NS, IDLE_NS, "S:TIME_WAIT>CLOSED/TIMEOUT", 1);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED",
		     "LISTEN>SYN_RCVD>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED");
}

static void t_simultaneous(int client_acks_first)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;
	const char *sim_path = "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT>CLOSED";

	handshake(&s, client_acks_first ? "simultaneous(C acks first)" :
		  "simultaneous(S acks first)", CISN, SISN);
	seg(&s, 100, 1, F | A, c, v, 0, 502, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	/* the server's FIN crossed the client's: its ack does not cover it */
	seg(&s, 10, 0, F | A, v, c, 0, 509, "S:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	/*
	 * The first ack moves its sender to CLOSING; the other side has not
	 * acknowledged the FIN it was sent yet, and whether it got that FIN
	 * before this ack (CLOSING) or lost it (FIN_WAIT_2) is unknown: it
	 * moves on its own ack, which the kernel sends when the FIN arrives.
	 */
	if (client_acks_first) {
		seg(&s, 100, 1, A, c + 1, v + 1, 0, 502, "C:FIN_WAIT_1>CLOSING/FIN", 0);
		CHECK(s.f.state[1] == SG_FIN_WAIT_1,
		      "%s: server stays FIN_WAIT_1 until it acks the client's FIN", s.name);
		seg(&s, 10, 0, A, v + 1, c + 1, 0, 509,
		    "S:FIN_WAIT_1>CLOSING/FIN S:CLOSING>TIME_WAIT/ACK C:CLOSING>TIME_WAIT/ACK", 0);
	} else {
		seg(&s, 100, 0, A, v + 1, c + 1, 0, 509, "S:FIN_WAIT_1>CLOSING/FIN", 0);
		CHECK(s.f.state[0] == SG_FIN_WAIT_1,
		      "%s: client stays FIN_WAIT_1 until it acks the server's FIN", s.name);
		seg(&s, 10, 1, A, c + 1, v + 1, 0, 502,
		    "C:FIN_WAIT_1>CLOSING/FIN C:CLOSING>TIME_WAIT/ACK S:CLOSING>TIME_WAIT/ACK", 0);
	}
	expire(&s, 60000, TW_NS, HO_NS, IDLE_NS,
	       "C:TIME_WAIT>CLOSED/TIMEOUT S:TIME_WAIT>CLOSED/TIMEOUT", 1);
	expect_paths(&s, sim_path, "LISTEN>SYN_RCVD>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT>CLOSED");
	(void)sim_path;
}

static void t_fin_ack_combined(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	handshake(&s, "fin+ack", CISN, SISN);
	seg(&s, 100, 1, F | A, c, v, 0, 502, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	/* server FIN|ACK acking the client's FIN: three transitions, causal order */
	seg(&s, 100, 0, F | A, v, c + 1, 0, 509,
	    "S:ESTABLISHED>CLOSE_WAIT/FIN S:CLOSE_WAIT>LAST_ACK/FIN C:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502,
	    "C:FIN_WAIT_2>TIME_WAIT/FIN S:LAST_ACK>CLOSED/ACK", 0);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT",
		     "LISTEN>SYN_RCVD>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
	/* the client's final ACK retransmitted (server re-sent FIN): nothing new */
	seg(&s, 200000, 0, F | A, v, c + 1, 0, 509, "-", 1);
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502, "-", 0);
}

static void t_half_close(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;
	int i;

	handshake(&s, "half-close", CISN, SISN);
	seg(&s, 100, 1, P | A, c, v, 50, 502, "-", 0);
	c += 50;
	seg(&s, 100, 1, F | A, c, v, 0, 502, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	seg(&s, 100, 0, A, v, c + 1, 0, 509,
	    "S:ESTABLISHED>CLOSE_WAIT/FIN C:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	for (i = 0; i < 3; i++) {	/* server keeps sending, client keeps acking */
		seg(&s, 100, 0, P | A, v, c + 1, 1448, 509, "-", 0);
		v += 1448;
		seg(&s, 100, 1, A, c + 1, v, 0, 502, "-", 0);
	}
	CHECK(s.f.state[0] == SG_FIN_WAIT_2 && s.f.state[1] == SG_CLOSE_WAIT,
	      "half-close: FIN_WAIT_2 / CLOSE_WAIT while data flows");
	seg(&s, 100, 0, F | A, v, c + 1, 0, 509, "S:CLOSE_WAIT>LAST_ACK/FIN", 0);
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502,
	    "C:FIN_WAIT_2>TIME_WAIT/FIN S:LAST_ACK>CLOSED/ACK", 0);
	CHECK(s.f.bytes[1] == 3 * 1448, "half-close: server bytes %u", s.f.bytes[1]);
}

static void t_refused(void)
{
	struct sc s;

	init(&s, "refused", 0, S, CISN, 0, 0, 64240, 0, "C:CLOSED>SYN_SENT/SYN");
	/* a RST not acking the SYN is not acceptable */
	seg(&s, 100, 0, R | A, 0, CISN + 2, 0, 0, "-", 0);
	CHECK(s.o.rst_ignored == 1, "refused: RST with bad ack ignored");
	seg(&s, 100, 0, R, 0, 0, 0, 0, "-", 0);
	CHECK(s.o.rst_ignored == 1, "refused: RST without ACK ignored");
	seg(&s, 100, 0, R | A, 0, CISN + 1, 0, 0, "C:SYN_SENT>CLOSED/RST", 0);
	CHECK(s.o.rst_ignored == 0, "refused: RST|ACK acking SYN accepted");
	CHECK(s.f.close_how == SG_CLOSE_RST && s.f.close_side == SG_SIDE_SERVER,
	      "refused: closer server/RST");
	expect_paths(&s, "CLOSED>SYN_SENT>CLOSED", "");
	expire(&s, 1, TW_NS, HO_NS, IDLE_NS, "-", 1);
}

static void t_abort(int by_client)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	handshake(&s, by_client ? "abort(client RST)" : "abort(server RST)", CISN, SISN);
	seg(&s, 100, 1, P | A, c, v, 20, 502, "-", 0);
	c += 20;
	seg(&s, 100, 0, A, v, c, 0, 509, "-", 0);
	if (by_client) {
		/* out-of-window RST first: ignored */
		seg(&s, 100, 1, R | A, c + 100000, v, 0, 0, "-", 0);
		CHECK(s.o.rst_ignored == 1, "%s: out-of-window RST ignored", s.name);
		seg(&s, 100, 1, R | A, c - 1, v, 0, 0, "-", 0);
		CHECK(s.o.rst_ignored == 1, "%s: RST below snd_nxt ignored", s.name);
		/* in the window but not at snd_nxt: the kernel answers with a
		 * challenge ACK and resets nothing (RFC 5961) */
		seg(&s, 100, 1, R | A, c + 509, v, 0, 0, "-", 0);
		CHECK(s.o.rst_ignored == 1, "%s: in-window RST not at snd_nxt ignored", s.name);
		seg(&s, 100, 1, R | A, c, v, 0, 0,
		    "C:ESTABLISHED>CLOSED/RST S:ESTABLISHED>CLOSED/RST", 0);
		CHECK(s.f.close_side == SG_SIDE_CLIENT, "%s: closer client", s.name);
	} else {
		seg(&s, 100, 0, R, v, 0, 0, 0,
		    "S:ESTABLISHED>CLOSED/RST C:ESTABLISHED>CLOSED/RST", 0);
		CHECK(s.f.close_side == SG_SIDE_SERVER, "%s: closer server", s.name);
	}
	CHECK(s.o.rst_ignored == 0 && s.f.close_how == SG_CLOSE_RST, "%s: RST accepted",
	      s.name);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED>CLOSED",
		     "LISTEN>SYN_RCVD>ESTABLISHED>CLOSED");
	/* a second RST has nothing left to close */
	seg(&s, 100, 0, R, v, 0, 0, 0, "-", 0);
	expire(&s, 1, TW_NS, HO_NS, IDLE_NS, "-", 1);
}

static void t_rst_window(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	handshake(&s, "rst-window", CISN, SISN);
	seg(&s, 100, 1, F | A, c, v, 0, 502, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	/* server RSTs not at the server's snd_nxt */
	seg(&s, 100, 0, R, v + 503, 0, 0, 0, "-", 0);
	CHECK(s.o.rst_ignored == 1, "rst-window: seq beyond window ignored");
	seg(&s, 100, 0, R, v - 0x40000000u, 0, 0, 0, "-", 0);
	CHECK(s.o.rst_ignored == 1, "rst-window: far-behind seq ignored");
	CHECK(s.f.state[0] == SG_FIN_WAIT_1 && s.f.state[1] == SG_ESTABLISHED,
	      "rst-window: states unchanged");
	seg(&s, 100, 0, R, v + 502, 0, 0, 0, "-", 0);
	CHECK(s.o.rst_ignored == 1, "rst-window: the window's right edge ignored (RFC 5961)");
	seg(&s, 100, 0, R, v, 0, 0, 0,
	    "S:ESTABLISHED>CLOSED/RST C:FIN_WAIT_1>CLOSED/RST", 0);
	CHECK(s.f.close_how == SG_CLOSE_FIN && s.f.close_side == SG_SIDE_CLIENT,
	      "rst-window: first closer stays client/FIN");
}

static void t_retrans(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	init(&s, "retrans", 0, S, CISN, 0, 0, 64240, 0, "C:CLOSED>SYN_SENT/SYN");
	seg(&s, 1000000, 1, S, CISN, 0, 0, 64240, "-", 1);
	seg(&s, 2000000, 1, S, CISN, 0, 0, 64240, "-", 1);
	CHECK(s.f.syn_retrans == 2, "retrans: syn_retrans=%u", s.f.syn_retrans);
	seg(&s, 700, 0, S | A, SISN, c, 0, 65160, "S:LISTEN>SYN_RCVD/SYNACK", 0);
	CHECK(s.f.rtt_syn_us == 700, "retrans: rtt_syn from the latest SYN: %u us",
	      s.f.rtt_syn_us);
	seg(&s, 1000, 0, S | A, SISN, c, 0, 65160, "-", 1);	/* SYN-ACK retrans */
	seg(&s, 10, 1, S, CISN, 0, 0, 64240, "-", 1);		/* SYN again */
	CHECK(s.f.syn_retrans == 3, "retrans: syn_retrans=%u", s.f.syn_retrans);
	seg(&s, 100, 1, A, c, v, 0, 502,
	    "C:SYN_SENT>ESTABLISHED/SYNACK S:SYN_RCVD>ESTABLISHED/ACK", 0);
	seg(&s, 100, 1, P | A, c, v, 1000, 502, "-", 0);
	seg(&s, 200000, 1, P | A, c, v, 1000, 502, "-", 1);	/* data retrans */
	seg(&s, 100, 1, P | A, c + 500, v, 500, 502, "-", 1);	/* tail retrans */
	seg(&s, 100, 1, P | A, c + 500, v, 1000, 502, "-", 0);	/* overlaps, new data */
	c += 1500;
	seg(&s, 100, 0, A, v, c, 0, 509, "-", 0);
	seg(&s, 100, 0, A, v, c, 0, 509, "-", 0);		/* dup ACK: not a retrans */
	seg(&s, 100, 1, F | A, c, v, 0, 502, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	seg(&s, 200000, 1, F | A, c, v, 0, 502, "-", 1);	/* FIN retrans */
	seg(&s, 100, 0, F | A, v, c + 1, 0, 509,
	    "S:ESTABLISHED>CLOSE_WAIT/FIN S:CLOSE_WAIT>LAST_ACK/FIN C:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	seg(&s, 200000, 0, F | A, v, c + 1, 0, 509, "-", 1);	/* server FIN retrans */
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502,
	    "C:FIN_WAIT_2>TIME_WAIT/FIN S:LAST_ACK>CLOSED/ACK", 0);
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502, "-", 0);
	CHECK(s.f.syn_retrans == 3, "retrans: syn_retrans still %u", s.f.syn_retrans);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT",
		     "LISTEN>SYN_RCVD>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
}

static void t_reuse(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;
	__u32 c2 = 0x12345678u, v2 = 0x9abcdef0u;

	handshake(&s, "reuse", CISN, SISN);
	seg(&s, 100, 1, F | A, c, v, 0, 502, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	seg(&s, 100, 0, F | A, v, c + 1, 0, 509,
	    "S:ESTABLISHED>CLOSE_WAIT/FIN S:CLOSE_WAIT>LAST_ACK/FIN C:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502,
	    "C:FIN_WAIT_2>TIME_WAIT/FIN S:LAST_ACK>CLOSED/ACK", 0);
	/* a delayed copy of the old SYN: retransmission, not a new connection */
	seg(&s, 100, 1, S, CISN, 0, 0, 64240, "-", 1);
	CHECK(s.o.new_syn == 0, "reuse: old ISN is not a new SYN");
	/* new SYN in TIME_WAIT */
	seg(&s, 5000000, 1, S, c2, 0, 0, 64240,
	    "C:TIME_WAIT>CLOSED/REUSE C:CLOSED>SYN_SENT/SYN", 0);
	CHECK(s.o.new_syn == 1, "reuse: new_syn set");
	CHECK(s.f.pkts[0] == 1 && s.f.pkts[1] == 0 && s.f.syn_retrans == 0 &&
	      s.f.close_how == SG_CLOSE_NONE && s.f.state[1] == SG_LISTEN,
	      "reuse: record re-initialised");
	seg(&s, 300, 0, S | A, v2, c2 + 1, 0, 65160, "S:LISTEN>SYN_RCVD/SYNACK", 0);
	CHECK(s.f.rtt_syn_us == 300, "reuse: rtt_syn %u", s.f.rtt_syn_us);
	seg(&s, 50, 1, A, c2 + 1, v2 + 1, 0, 502,
	    "C:SYN_SENT>ESTABLISHED/SYNACK S:SYN_RCVD>ESTABLISHED/ACK", 0);
	CHECK(s.f.rtt_ack_us == 50, "reuse: rtt_ack %u", s.f.rtt_ack_us);
	expect_paths(&s,
		     "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED>SYN_SENT>ESTABLISHED",
		     /* no event for the implicit CLOSED -> LISTEN */
		     "LISTEN>SYN_RCVD>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED|LISTEN>SYN_RCVD>ESTABLISHED");
	/* a SYN into an established flow is ignored */
	seg(&s, 100, 1, S, 0x55555555u, 0, 0, 64240, "-", 0);
	CHECK(s.o.new_syn == 0 && s.f.state[0] == SG_ESTABLISHED,
	      "reuse: SYN into ESTABLISHED ignored");
}

static void t_reuse_server_tw(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	/* server closed first; server sits in TIME_WAIT, client CLOSED */
	handshake(&s, "reuse(server TW)", CISN, SISN);
	seg(&s, 100, 0, F | A, v, c, 0, 509, "S:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	seg(&s, 100, 1, F | A, c, v + 1, 0, 502,
	    "C:ESTABLISHED>CLOSE_WAIT/FIN C:CLOSE_WAIT>LAST_ACK/FIN S:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	seg(&s, 100, 0, A, v + 1, c + 1, 0, 509,
	    "S:FIN_WAIT_2>TIME_WAIT/FIN C:LAST_ACK>CLOSED/ACK", 0);
	seg(&s, 100, 1, S, 0x01020304u, 0, 0, 64240,
	    "S:TIME_WAIT>CLOSED/REUSE C:CLOSED>SYN_SENT/SYN", 0);
	CHECK(s.o.new_syn == 1 && s.f.state[1] == SG_LISTEN, "reuse(server TW): fresh");
	/* after a refusal (client CLOSED, server LISTEN) a new attempt just starts */
	seg(&s, 100, 0, R | A, 0, 0x01020305u, 0, 0, "C:SYN_SENT>CLOSED/RST", 0);
	seg(&s, 100, 1, S, 0x0a0b0c0du, 0, 0, 64240, "C:CLOSED>SYN_SENT/SYN", 0);
	CHECK(s.o.new_syn == 1, "reuse(after RST): new_syn");
	/* connect() retried with a new ISN while unanswered */
	seg(&s, 100, 1, S, 0x0e0f0000u, 0, 0, 64240,
	    "C:SYN_SENT>CLOSED/REUSE C:CLOSED>SYN_SENT/SYN", 0);
	CHECK(s.o.new_syn == 1 && s.f.isn[0] == 0x0e0f0000u, "reuse(unanswered SYN): new ISN");
}

static void t_reuse_swap(void)
{
	struct sc s;
	__u32 c = CISN + 1;
	int was_lo;

	handshake(&s, "reuse(roles swap)", CISN, SISN);
	seg(&s, 100, 1, R, c, 0, 0, 0, "C:ESTABLISHED>CLOSED/RST S:ESTABLISHED>CLOSED/RST", 0);
	was_lo = sg_flow_client_is_lo(&s.f);
	/* the old server now opens towards the old client, same ports */
	seg(&s, 100, 0, S, 0x42424242u, 0, 0, 64240, "C:CLOSED>SYN_SENT/SYN", 0);
	CHECK(s.o.new_syn == 1 && sg_flow_client_is_lo(&s.f) == !was_lo,
	      "reuse(roles swap): client is now the old server");
	CHECK(sg_flow_from_client(&s.f, !was_lo) == 1, "reuse(roles swap): from_client helper");
}

static void t_midstream(void)
{
	struct sc s;
	__u32 c = 0xfffffff8u, v = 0x10000000u;

	/* first segment seen: data from port 443 (lo) to 51234 (hi) */
	init(&s, "midstream", 1, P | A, v, c, 100, 509, 0,
	     "C:CLOSED>ESTABLISHED/MIDSTREAM S:CLOSED>ESTABLISHED/MIDSTREAM");
	v += 100;
	CHECK(s.f.flags & SG_F_MIDSTREAM, "midstream: flag set");
	CHECK(s.f.client_is_lo == 0, "midstream: client is the hi-port endpoint");
	CHECK(s.f.pkts[1] == 1 && s.f.bytes[1] == 100 && s.f.pkts[0] == 0,
	      "midstream: counted as server packet");
	seg(&s, 100, 1, A, c, v, 0, 502, "-", 0);
	seg(&s, 100, 1, P | A, c, v, 16, 502, "-", 0);	/* crosses 2^32 */
	c += 16;
	/* RST acceptability works once both sides sent */
	seg(&s, 100, 0, R, v + 60000, 0, 0, 0, "-", 0);
	CHECK(s.o.rst_ignored == 1, "midstream: far RST ignored");
	seg(&s, 100, 1, F | A, c, v, 0, 502, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	seg(&s, 100, 0, F | A, v, c + 1, 0, 509,
	    "S:ESTABLISHED>CLOSE_WAIT/FIN S:CLOSE_WAIT>LAST_ACK/FIN C:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502,
	    "C:FIN_WAIT_2>TIME_WAIT/FIN S:LAST_ACK>CLOSED/ACK", 0);
	expect_paths(&s, "CLOSED>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT",
		     "CLOSED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");

	/* first seen: a FIN from the hi side */
	init(&s, "midstream(FIN)", 0, F | A, c, v, 0, 502, 0,
	     "C:CLOSED>ESTABLISHED/MIDSTREAM S:CLOSED>ESTABLISHED/MIDSTREAM C:ESTABLISHED>FIN_WAIT_1/FIN");
	/* first seen: a RST */
	init(&s, "midstream(RST)", 1, R, v, 0, 0, 0, 0,
	     "C:CLOSED>ESTABLISHED/MIDSTREAM S:CLOSED>ESTABLISHED/MIDSTREAM S:ESTABLISHED>CLOSED/RST C:ESTABLISHED>CLOSED/RST");
	/* first seen: a SYN-ACK (the SYN was missed) */
	init(&s, "init(SYN-ACK)", 1, S | A, SISN, CISN + 1, 0, 65160, 0,
	     "C:CLOSED>SYN_SENT/SYN S:LISTEN>SYN_RCVD/SYNACK");
	CHECK(s.f.client_is_lo == 0 && !(s.f.flags & SG_F_MIDSTREAM),
	      "init(SYN-ACK): receiver is the client");
	seg(&s, 100, 1, A, CISN + 1, SISN + 1, 0, 502,
	    "C:SYN_SENT>ESTABLISHED/SYNACK S:SYN_RCVD>ESTABLISHED/ACK", 0);
}

static void t_expiry(void)
{
	struct sc s;

	/* no answer: SYN retransmitted, then the half-open timer */
	init(&s, "no-answer", 0, S, CISN, 0, 0, 64240, 0, "C:CLOSED>SYN_SENT/SYN");
	seg(&s, 1000000, 1, S, CISN, 0, 0, 64240, "-", 1);
	seg(&s, 2000000, 1, S, CISN, 0, 0, 64240, "-", 1);
	seg(&s, 4000000, 1, S, CISN, 0, 0, 64240, "-", 1);
	CHECK(s.f.syn_retrans == 3, "no-answer: syn_retrans=%u", s.f.syn_retrans);
	expire(&s, 60000, TW_NS, HO_NS, IDLE_NS, "-", 0);	/* 67 s after SYN */
	expire(&s, 8000, TW_NS, HO_NS, IDLE_NS, "C:SYN_SENT>CLOSED/TIMEOUT", 1);
	CHECK(s.f.close_how == SG_CLOSE_TIMEOUT, "no-answer: close_how TIMEOUT");
	expect_paths(&s, "CLOSED>SYN_SENT>CLOSED", "");

	/* SYN-ACK but no final ACK: both half-open sides time out */
	init(&s, "half-open", 0, S, CISN, 0, 0, 64240, 0, "C:CLOSED>SYN_SENT/SYN");
	seg(&s, 1000, 0, S | A, SISN, CISN + 1, 0, 65160, "S:LISTEN>SYN_RCVD/SYNACK", 0);
	expire(&s, 74998, TW_NS, HO_NS, IDLE_NS, "-", 0);
	expire(&s, 1, TW_NS, HO_NS, IDLE_NS, "C:SYN_SENT>CLOSED/TIMEOUT", 0);
	expire(&s, 1, TW_NS, HO_NS, IDLE_NS, "S:SYN_RCVD>CLOSED/TIMEOUT", 1);

	/* idle established flow */
	handshake(&s, "idle", CISN, SISN);
	expire(&s, 3599999, TW_NS, HO_NS, IDLE_NS, "-", 0);
	seg(&s, 0, 1, A, CISN + 1, SISN + 1, 0, 502, "-", 0);	/* keeps it alive */
	expire(&s, 3599999, TW_NS, HO_NS, IDLE_NS, "-", 0);
	expire(&s, 1, TW_NS, HO_NS, IDLE_NS,
	       "C:ESTABLISHED>CLOSED/TIMEOUT S:ESTABLISHED>CLOSED/TIMEOUT", 1);
	/* zero disables a timer */
	handshake(&s, "idle(disabled)", CISN, SISN);
	expire(&s, 100000000, TW_NS, HO_NS, 0, "-", 0);

	/* TIME_WAIT counts from entering it, not from the last segment */
	handshake(&s, "time-wait", CISN, SISN);
	seg(&s, 100, 1, F | A, CISN + 1, SISN + 1, 0, 502, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	seg(&s, 100, 0, F | A, SISN + 1, CISN + 2, 0, 509,
	    "S:ESTABLISHED>CLOSE_WAIT/FIN S:CLOSE_WAIT>LAST_ACK/FIN C:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	seg(&s, 5000000, 1, A, CISN + 2, SISN + 2, 0, 502,
	    "C:FIN_WAIT_2>TIME_WAIT/FIN S:LAST_ACK>CLOSED/ACK", 0);
	seg(&s, 30000000, 0, F | A, SISN + 1, CISN + 2, 0, 509, "-", 1);
	expire(&s, 29990, TW_NS, HO_NS, IDLE_NS, "-", 0);
	expire(&s, 20, TW_NS, HO_NS, IDLE_NS, "C:TIME_WAIT>CLOSED/TIMEOUT", 1);
}

static void t_tfo(void)
{
	struct sc s;

	init(&s, "tfo(data)", 0, S, CISN, 0, 120, 64240, 0, "C:CLOSED>SYN_SENT/SYN");
	CHECK(s.f.flags & SG_F_TFO, "tfo(data): flag set");
	/* server does not accept the data: acks only the SYN; still a SYN-ACK */
	seg(&s, 100, 0, S | A, SISN, CISN + 1, 0, 65160, "S:LISTEN>SYN_RCVD/SYNACK", 0);
	seg(&s, 100, 1, P | A, CISN + 1, SISN + 1, 120, 502,
	    "C:SYN_SENT>ESTABLISHED/SYNACK S:SYN_RCVD>ESTABLISHED/ACK", 1);

	init(&s, "tfo(accepted)", 0, S, CISN, 0, 120, 64240, 0, "C:CLOSED>SYN_SENT/SYN");
	seg(&s, 100, 0, S | A, SISN, CISN + 121, 0, 65160, "S:LISTEN>SYN_RCVD/SYNACK", 0);
	/* server answers the data before the handshake ACK */
	seg(&s, 100, 0, P | A, SISN + 1, CISN + 121, 300, 509, "-", 0);
	seg(&s, 100, 1, A, CISN + 121, SISN + 301, 0, 502,
	    "C:SYN_SENT>ESTABLISHED/SYNACK S:SYN_RCVD>ESTABLISHED/ACK", 0);

	init(&s, "tfo(cookie option)", 0, S, CISN, 0, 0, 64240, 1, "C:CLOSED>SYN_SENT/SYN");
	CHECK(s.f.flags & SG_F_TFO, "tfo(cookie option): flag set");
	init(&s, "no-tfo", 0, S, CISN, 0, 0, 64240, 0, "C:CLOSED>SYN_SENT/SYN");
	CHECK(!(s.f.flags & SG_F_TFO) && s.f.flags == 0, "no-tfo: no flags");
	/* SYN-ACK not acking the SYN: ignored */
	seg(&s, 100, 0, S | A, SISN, CISN + 7, 0, 65160, "-", 0);
}

/*
 * Segments lost after the interface. The tracker saw them, their receiver
 * did not: the receiver's state may move only on its own acks. Each
 * scenario ends with the paths the kernel's sockets take (ss/tracepoint).
 */

/*
 * The user's report: the server's FIN leaves through the interface and is
 * lost further on; the client, not having received it, closes too (its FIN
 * acks only data). The server acks the client's FIN, later resends its own
 * FIN, and the client acks that. Kernel: client FIN_WAIT_1 -> FIN_WAIT_2 ->
 * TIME_WAIT, server FIN_WAIT_1 -> CLOSING -> TIME_WAIT.
 */
static void t_lost_fin_crossing(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	handshake(&s, "lost FIN, crossing", CISN, SISN);
	seg(&s, 100, 1, P | A, c, v, 10, 502, "-", 0);
	c += 10;
	seg(&s, 100, 0, P | A, v, c, 20, 509, "-", 0);
	v += 20;
	seg(&s, 100, 0, F | A, v, c, 0, 509, "S:ESTABLISHED>FIN_WAIT_1/FIN", 0);	/* lost */
	/* a tail loss probe of it, lost as well */
	seg(&s, 2000, 0, F | A, v, c, 0, 509, "-", 1);
	seg(&s, 100, 1, F | A, c, v, 0, 502, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	/* the server got the client's FIN before any ack of its own */
	seg(&s, 100, 0, A, v + 1, c + 1, 0, 509, "S:FIN_WAIT_1>CLOSING/FIN", 0);
	CHECK(s.f.state[0] == SG_FIN_WAIT_1,
	      "lost FIN, crossing: the client did not ack the server's FIN: not CLOSING");
	/* the retransmitted FIN now also acks the client's FIN */
	seg(&s, 200000, 0, F | A, v, c + 1, 0, 509, "-", 1);
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502,
	    "C:FIN_WAIT_1>FIN_WAIT_2/ACK C:FIN_WAIT_2>TIME_WAIT/FIN S:CLOSING>TIME_WAIT/ACK", 0);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT",
		     "LISTEN>SYN_RCVD>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT");
	CHECK(s.f.close_how == SG_CLOSE_FIN && s.f.close_side == SG_SIDE_SERVER,
	      "lost FIN, crossing: closer server/FIN");
	/* the client's ack of the resent FIN, again: nothing new */
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502, "-", 0);
	expire(&s, 60000, TW_NS, HO_NS, IDLE_NS,
	       "C:TIME_WAIT>CLOSED/TIMEOUT S:TIME_WAIT>CLOSED/TIMEOUT", 1);
}

/*
 * The mirror: the client's FIN is lost after the interface (the server
 * never gets it) while the server closes too. The client gets the server's
 * FIN first (CLOSING); the server gets the client's ack of its FIN first
 * (FIN_WAIT_2), then the client's resent FIN (TIME_WAIT).
 */
static void t_lost_fin_crossing_mirror(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	handshake(&s, "lost client FIN, crossing", CISN, SISN);
	seg(&s, 100, 1, F | A, c, v, 0, 502, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);	/* lost */
	seg(&s, 100, 0, F | A, v, c, 0, 509, "S:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502, "C:FIN_WAIT_1>CLOSING/FIN", 0);
	CHECK(s.f.state[1] == SG_FIN_WAIT_1,
	      "lost client FIN, crossing: server undecided until it acks the client's FIN");
	seg(&s, 200000, 1, F | A, c, v + 1, 0, 502, "-", 1);
	seg(&s, 100, 0, A, v + 1, c + 1, 0, 509,
	    "S:FIN_WAIT_1>FIN_WAIT_2/ACK S:FIN_WAIT_2>TIME_WAIT/FIN C:CLOSING>TIME_WAIT/ACK", 0);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT",
		     "LISTEN>SYN_RCVD>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT");
}

/*
 * A FIN lost after the interface in an ordinary close: its receiver stays
 * ESTABLISHED (not CLOSE_WAIT) until it acks the resent FIN, and the
 * closer stays FIN_WAIT_1 until that ack. Neither endpoint moves on its own
 * segments that prove nothing (data, acks below the FIN).
 */
static void t_lost_fin_passive(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	handshake(&s, "lost FIN, passive close", CISN, SISN);
	seg(&s, 100, 0, F | A, v, c, 0, 509, "S:ESTABLISHED>FIN_WAIT_1/FIN", 0);	/* lost */
	/* the client sends data and acks below the FIN: it has not got it */
	seg(&s, 100, 1, P | A, c, v, 30, 502, "-", 0);
	c += 30;
	seg(&s, 100, 0, A, v + 1, c, 0, 509, "-", 0);	/* server acks data: not its FIN's ack */
	seg(&s, 100, 1, A, c, v, 0, 502, "-", 0);
	CHECK(s.f.state[0] == SG_ESTABLISHED && s.f.state[1] == SG_FIN_WAIT_1,
	      "lost FIN, passive close: client ESTABLISHED, server FIN_WAIT_1");
	seg(&s, 200000, 0, F | A, v, c, 0, 509, "-", 1);
	seg(&s, 100, 1, A, c, v + 1, 0, 502,
	    "C:ESTABLISHED>CLOSE_WAIT/FIN S:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	seg(&s, 100, 1, F | A, c, v + 1, 0, 502, "C:CLOSE_WAIT>LAST_ACK/FIN", 0);
	seg(&s, 100, 0, A, v + 1, c + 1, 0, 509,
	    "S:FIN_WAIT_2>TIME_WAIT/FIN C:LAST_ACK>CLOSED/ACK", 0);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED",
		     "LISTEN>SYN_RCVD>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT");
}

/*
 * A SYN-ACK lost after the interface: the server is SYN_RCVD (its own
 * SYN-ACK), the client stays SYN_SENT through its SYN retransmission and the
 * resent SYN-ACK, and both become ESTABLISHED on the client's ACK.
 */
static void t_lost_synack(void)
{
	struct sc s;

	init(&s, "lost SYN-ACK", 0, S, CISN, 0, 0, 64240, 0, "C:CLOSED>SYN_SENT/SYN");
	seg(&s, 300, 0, S | A, SISN, CISN + 1, 0, 65160, "S:LISTEN>SYN_RCVD/SYNACK", 0); /* lost */
	seg(&s, 1000000, 1, S, CISN, 0, 0, 64240, "-", 1);
	CHECK(s.f.state[0] == SG_SYN_SENT && s.f.syn_retrans == 1,
	      "lost SYN-ACK: client still SYN_SENT, SYN retransmitted");
	seg(&s, 300, 0, S | A, SISN, CISN + 1, 0, 65160, "-", 1);
	seg(&s, 300, 1, A, CISN + 1, SISN + 1, 0, 502,
	    "C:SYN_SENT>ESTABLISHED/SYNACK S:SYN_RCVD>ESTABLISHED/ACK", 0);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED", "LISTEN>SYN_RCVD>ESTABLISHED");
}

/*
 * The handshake ACK lost after the interface. The client's ack of the
 * SYN-ACK is the client's own proof (ESTABLISHED) and moves the server as
 * acks do; the loss shows as the server's SYN-ACK retransmission, counted,
 * and the kernel's server takes the same path (SYN_RECV -> ESTABLISHED on the
 * next client segment carrying that ack).
 */
static void t_lost_handshake_ack(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	init(&s, "lost handshake ACK", 0, S, CISN, 0, 0, 64240, 0, "C:CLOSED>SYN_SENT/SYN");
	seg(&s, 300, 0, S | A, SISN, c, 0, 65160, "S:LISTEN>SYN_RCVD/SYNACK", 0);
	seg(&s, 300, 1, A, c, v, 0, 502,
	    "C:SYN_SENT>ESTABLISHED/SYNACK S:SYN_RCVD>ESTABLISHED/ACK", 0);	/* lost */
	seg(&s, 1000000, 0, S | A, SISN, c, 0, 65160, "-", 1);
	seg(&s, 300, 1, A, c, v, 0, 502, "-", 0);
	seg(&s, 100, 1, P | A, c, v, 8, 502, "-", 0);
	seg(&s, 100, 0, P | A, v, c + 8, 12, 509, "-", 0);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED", "LISTEN>SYN_RCVD>ESTABLISHED");
}

/*
 * The last ACK lost after the interface: the client's ack of the server's
 * FIN is its own proof (TIME_WAIT) and moves the server as acks do; the
 * resent FIN and the repeated ack change nothing.
 */
static void t_lost_last_ack(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	handshake(&s, "lost last ACK", CISN, SISN);
	seg(&s, 100, 1, F | A, c, v, 0, 502, "C:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	seg(&s, 100, 0, F | A, v, c + 1, 0, 509,
	    "S:ESTABLISHED>CLOSE_WAIT/FIN S:CLOSE_WAIT>LAST_ACK/FIN C:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502,
	    "C:FIN_WAIT_2>TIME_WAIT/FIN S:LAST_ACK>CLOSED/ACK", 0);	/* lost */
	seg(&s, 200000, 0, F | A, v, c + 1, 0, 509, "-", 1);
	seg(&s, 100, 1, A, c + 1, v + 1, 0, 502, "-", 0);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT",
		     "LISTEN>SYN_RCVD>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
}

/*
 * Data lost after the interface, then the FIN behind it: the receiver
 * cannot take the FIN in sequence, so its acks stay below it (duplicate
 * acks, then an ack of the resent data only) until the hole is filled.
 */
static void t_lost_data(void)
{
	struct sc s;
	__u32 c = CISN + 1, v = SISN + 1;

	handshake(&s, "lost data", CISN, SISN);
	seg(&s, 100, 1, P | A, c, v, 10, 502, "-", 0);
	c += 10;
	seg(&s, 100, 0, A, v, c, 1448, 509, "-", 0);		/* lost */
	seg(&s, 10, 0, P | A, v + 1448, c, 552, 509, "-", 0);
	seg(&s, 10, 0, F | A, v + 2000, c, 0, 509, "S:ESTABLISHED>FIN_WAIT_1/FIN", 0);
	seg(&s, 100, 1, A, c, v, 0, 502, "-", 0);		/* duplicate acks */
	seg(&s, 10, 1, A, c, v, 0, 502, "-", 0);
	seg(&s, 200000, 0, A, v, c, 1448, 509, "-", 1);	/* the hole, resent */
	CHECK(s.f.state[0] == SG_ESTABLISHED && s.f.state[1] == SG_FIN_WAIT_1,
	      "lost data: client ESTABLISHED while its acks stay below the FIN");
	seg(&s, 100, 1, A, c, v + 2000, 0, 502, "-", 0);	/* all data, not the FIN */
	seg(&s, 100, 1, A, c, v + 2001, 0, 502,
	    "C:ESTABLISHED>CLOSE_WAIT/FIN S:FIN_WAIT_1>FIN_WAIT_2/ACK", 0);
	CHECK(s.f.bytes[1] == 1448 + 552 + 1448, "lost data: server bytes %u (the hole twice)",
	      s.f.bytes[1]);
	expect_paths(&s, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT",
		     "LISTEN>SYN_RCVD>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2");
}

static int key_eq(const struct sg_flow_key *a, const struct sg_flow_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void t_key(void)
{
	struct sg_flow_key k1, k2;
	__u32 a4 = inet_addr("10.0.0.2"), b4 = inet_addr("10.0.0.1");
	__u32 a6[4], b6[4];
	int l1, l2;

	memset(&k1, 0xff, sizeof(k1));
	memset(&k2, 0x11, sizeof(k2));
	l1 = sg_flow_key_make(&k1, 4, &a4, &b4, 51234, 8080);
	l2 = sg_flow_key_make(&k2, 4, &b4, &a4, 8080, 51234);
	CHECK(key_eq(&k1, &k2) && l1 == 0 && l2 == 1, "key v4: both directions equal, lo=%d/%d",
	      l1, l2);
	CHECK(k1.port_lo == 8080 && k1.port_hi == 51234 && k1.addr_lo[0] == b4 &&
	      k1.addr_hi[0] == a4 && !k1.addr_lo[1] && !k1.addr_hi[3] && k1.family == 4 &&
	      !k1.pad[0] && !k1.pad[1] && !k1.pad[2], "key v4: fields");

	/* same ports: the lower address is lo */
	l1 = sg_flow_key_make(&k1, 4, &a4, &b4, 179, 179);
	l2 = sg_flow_key_make(&k2, 4, &b4, &a4, 179, 179);
	CHECK(key_eq(&k1, &k2) && l1 != l2, "key v4 equal ports: both directions equal");

	inet_pton(AF_INET6, "2001:db8::2", a6);
	inet_pton(AF_INET6, "2001:db8::1", b6);
	memset(&k1, 0xff, sizeof(k1));
	l1 = sg_flow_key_make(&k1, 6, a6, b6, 40000, 443);
	l2 = sg_flow_key_make(&k2, 6, b6, a6, 443, 40000);
	CHECK(key_eq(&k1, &k2) && l1 == 0 && l2 == 1, "key v6: both directions equal");
	CHECK(memcmp(k1.addr_lo, b6, 16) == 0 && memcmp(k1.addr_hi, a6, 16) == 0 &&
	      k1.family == 6, "key v6: fields");
	l1 = sg_flow_key_make(&k1, 6, a6, b6, 443, 443);
	l2 = sg_flow_key_make(&k2, 6, b6, a6, 443, 443);
	CHECK(key_eq(&k1, &k2) && l1 != l2, "key v6 equal ports: differ only in last word");
	/* v4 and v6 never collide */
	sg_flow_key_make(&k2, 4, &a4, &b4, 443, 443);
	CHECK(!key_eq(&k1, &k2), "key: families differ");

	/* the flow built from the first SYN labels directions consistently */
	{
		struct sg_flow f;
		struct sg_fsm_out o;

		l1 = sg_flow_key_make(&k1, 4, &a4, &b4, 51234, 8080);	/* client -> server */
		sg_flow_init(&f, l1, S, 1, 0, 0, 1000, 1, 0, &o);
		l2 = sg_flow_key_make(&k2, 4, &b4, &a4, 8080, 51234);	/* server -> client */
		CHECK(sg_flow_from_client(&f, l1) == 1 && sg_flow_from_client(&f, l2) == 0,
		      "key: from_client from sender_is_lo");
	}
	CHECK(sizeof(struct sg_flow_key) + sizeof(struct sg_flow) <= 128,
	      "size: key %zu + value %zu = %zu bytes", sizeof(struct sg_flow_key),
	      sizeof(struct sg_flow), sizeof(struct sg_flow_key) + sizeof(struct sg_flow));
}

/*
 * The lock-free path: for every segment sg_flow_steady() accepts,
 * sg_flow_count() must leave the record exactly as sg_flow_segment() does,
 * and it must never accept a segment that changes a state.
 */
static void t_steady(void)
{
	static const __u8 flagsets[] = { A, P | A, 0, F | A, R, S, S | A, R | A };
	__u32 rnd = 12345, steady = 0, same = 0, moved = 0;
	struct sc s;

	handshake(&s, "steady", CISN, SISN);
	for (int i = 0; i < 4000; i++) {
		struct sg_flow a = s.f, b = s.f;
		struct sg_fsm_out oa;
		int rtx;
		__u8 fl;
		__u32 seq, ack, len;
		int fc;

		rnd = rnd * 1103515245 + 12345;
		fl = flagsets[(rnd >> 8) % sizeof(flagsets)];
		fc = (rnd >> 4) & 1;
		len = (rnd >> 12) % 3 == 0 ? 0 : (rnd >> 14) % 1400;
		/* around what each side has sent: new data, retransmissions, old acks */
		seq = a.snd_nxt[fc ? SG_SIDE_CLIENT : SG_SIDE_SERVER] + (int)((rnd >> 16) % 3000) - 1500;
		ack = a.snd_nxt[fc ? SG_SIDE_SERVER : SG_SIDE_CLIENT] - (rnd >> 20) % 2000;
		sg_flow_segment(&a, fc, fl, seq, ack, len, 500, s.now + i, &oa);
		if (oa.n)
			moved += sg_flow_steady(&b, fl);
		if (!sg_flow_steady(&b, fl))
			continue;
		steady++;
		rtx = sg_flow_count(&b, fc, seq, len, 500, s.now + i);
		same += !memcmp(&a, &b, sizeof(a)) && oa.retrans == rtx && oa.n == 0;
		s.f = a; /* carry on from the reference */
	}
	CHECK(steady > 1000 && same == steady, "steady: sg_flow_count == sg_flow_segment on %u/%u steady segments",
	      same, steady);
	CHECK(moved == 0, "steady: no segment that changed a state was called steady (%u)", moved);
}

int main(void)
{
	t_steady();
	t_client_closes();
	t_server_closes();
	t_simultaneous(1);
	t_simultaneous(0);
	t_fin_ack_combined();
	t_half_close();
	t_refused();
	t_abort(1);
	t_abort(0);
	t_rst_window();
	t_retrans();
	t_reuse();
	t_reuse_server_tw();
	t_reuse_swap();
	t_midstream();
	t_expiry();
	t_tfo();
	t_lost_fin_crossing();
	t_lost_fin_crossing_mirror();
	t_lost_fin_passive();
	t_lost_synack();
	t_lost_handshake_ack();
	t_lost_last_ack();
	t_lost_data();
	t_key();
	return check_summary("fsm");
}
