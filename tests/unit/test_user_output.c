// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* test_user_output.c - option value parsing, event formatting (text, JSON), the output object. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <stdlib.h>

#include "check.h"
#include "sg_user.h"
#include "json.h"
#include "output.h"

static void test_parsers(void)
{
	__u16 ports[SG_MAX_PORTS];
	struct sg_cidr c;
	double d;
	__u32 u;
	int n;

	CHECK(!sg_parse_u32("42", 1, 100, &u) && u == 42, "u32 42");
	CHECK(sg_parse_u32("0", 1, 100, &u), "u32 below min refused");
	CHECK(sg_parse_u32("101", 1, 100, &u), "u32 above max refused");
	CHECK(sg_parse_u32("-1", 0, 100, &u), "u32 negative refused");
	/* found by tests/fuzz/fuzz_parsers.c: blanks, then a sign, were taken */
	CHECK(sg_parse_u32(" -0", 0, 100, &u) && sg_parse_u32(" +5", 0, 100, &u) &&
	      sg_parse_u32("\t7", 0, 100, &u) && sg_parse_u32("+5", 0, 100, &u),
	      "u32 leading blanks or sign refused");
	CHECK(sg_parse_u32("12x", 0, 100, &u), "u32 trailing junk refused");
	CHECK(sg_parse_u32("", 0, 100, &u), "u32 empty refused");
	CHECK(sg_parse_u32("99999999999999999999", 0, ~0u, &u), "u32 overflow refused");
	CHECK(!sg_parse_seconds("0.5", 0.1, 10, &d) && d == 0.5, "seconds 0.5");
	CHECK(sg_parse_seconds("nan", 0.1, 10, &d), "seconds nan refused");
	CHECK(sg_parse_seconds("0.01", 0.1, 10, &d), "seconds below min refused");

	CHECK(!sg_parse_port_list("80,443,8000-8002", ports, SG_MAX_PORTS, &n) && n == 5 && ports[0] == 80 &&
		      ports[1] == 443 && ports[4] == 8002,
	      "port list with a range");
	CHECK(sg_parse_port_list("0", ports, SG_MAX_PORTS, &n), "port 0 refused");
	CHECK(sg_parse_port_list("65536", ports, SG_MAX_PORTS, &n), "port 65536 refused");
	CHECK(sg_parse_port_list("90-80", ports, SG_MAX_PORTS, &n), "reversed range refused");
	CHECK(sg_parse_port_list("1-100", ports, SG_MAX_PORTS, &n), "more than the maximum refused");
	CHECK(sg_parse_port_list("80,,", ports, SG_MAX_PORTS, &n) == 0 && n == 1, "empty items skipped");
	CHECK(sg_parse_port_list("http", ports, SG_MAX_PORTS, &n), "names refused");

	CHECK(!sg_parse_cidr("10.1.2.3/8", &c) && c.family == 4 && c.prefix == 8 && c.addr[0] == htonl(0x0a000000),
	      "IPv4 CIDR, host bits cleared");
	CHECK(!sg_parse_cidr("10.1.2.3", &c) && c.prefix == 32 && c.addr[0] == htonl(0x0a010203), "bare IPv4");
	CHECK(!sg_parse_cidr("fd00:1::5/64", &c) && c.family == 6 && c.prefix == 64 && c.addr[2] == 0 &&
		      c.addr[0] == htonl(0xfd000001),
	      "IPv6 CIDR");
	CHECK(!sg_parse_cidr("fd00::1/127", &c) && c.addr[3] == 0, "IPv6 /127 clears the last bit");
	CHECK(sg_parse_cidr("10.0.0.0/33", &c), "IPv4 /33 refused");
	CHECK(sg_parse_cidr("300.0.0.0/8", &c), "bad address refused");
	CHECK(sg_parse_cidr("fd00::/129", &c), "IPv6 /129 refused");

	{
		__u32 pps = 7;
		__u8 p4 = 32, p6 = 64;

		CHECK(!sg_parse_syn_limit("100", &pps, &p4, &p6) && pps == 100 && p4 == 32 && p6 == 64,
		      "--syn-limit 100: /32 and /64 kept");
		CHECK(!sg_parse_syn_limit("50/24", &pps, &p4, &p6) && pps == 50 && p4 == 24 && p6 == 64,
		      "--syn-limit 50/24: IPv4 /24, IPv6 /64");
		CHECK(!sg_parse_syn_limit("5/0,48", &pps, &p4, &p6) && pps == 5 && p4 == 0 && p6 == 48,
		      "--syn-limit 5/0,48: both prefixes");
		pps = 9, p4 = 32, p6 = 64;
		CHECK(sg_parse_syn_limit("0", &pps, &p4, &p6) && sg_parse_syn_limit("100/33", &pps, &p4, &p6) &&
			      sg_parse_syn_limit("100/24,129", &pps, &p4, &p6) &&
			      sg_parse_syn_limit("100/", &pps, &p4, &p6) && sg_parse_syn_limit("/24", &pps, &p4, &p6) &&
			      sg_parse_syn_limit("100/24,", &pps, &p4, &p6) && sg_parse_syn_limit("-1", &pps, &p4, &p6) &&
			      sg_parse_syn_limit("1e3", &pps, &p4, &p6) && pps == 9 && p4 == 32 && p6 == 64,
		      "--syn-limit refuses 0, /33, ,129, empty parts, signs and exponents, writing nothing");
	}
}

static void test_format(void)
{
	struct sg_event e = { .type = SG_EV_STATE, .family = 4, .sport = 51234, .dport = 8080,
			      .side = SG_SIDE_SERVER, .from = SG_SYN_RCVD, .to = SG_ESTABLISHED,
			      .cause = SG_CAUSE_ACK };
	__u64 wall = 1795310150123456000ull; /* 2026-11-22T01:15:50.123456Z */
	char buf[512];

	inet_pton(AF_INET, "10.0.0.2", e.saddr);
	inet_pton(AF_INET, "10.0.0.1", e.daddr);
	e.rtt_syn_us = 40;
	e.rtt_ack_us = 60;
	sg_format_event(&e, true, SG_TS_TIME, 0, buf, sizeof(buf));
	e.ts_ns = wall;
	sg_format_event(&e, true, SG_TS_TIME, 0, buf, sizeof(buf));
	CHECK(!strcmp(buf, "{\"ts\":\"2026-11-22T01:15:50.123456Z\",\"type\":\"state\",\"family\":4,"
			   "\"saddr\":\"10.0.0.2\",\"sport\":51234,\"daddr\":\"10.0.0.1\",\"dport\":8080,"
			   "\"side\":\"server\",\"from\":\"SYN_RCVD\",\"to\":\"ESTABLISHED\",\"cause\":\"ACK\","
			   "\"rtt_syn_us\":40,\"rtt_ack_us\":60}"),
	      "state event JSON: %s\n", buf);
	sg_format_event(&e, false, SG_TS_NONE, 0, buf, sizeof(buf));
	CHECK(strstr(buf, "10.0.0.2:51234") && strstr(buf, "10.0.0.1:8080") &&
		      strstr(buf, "10.0.0.2:51234") < strstr(buf, "10.0.0.1:8080") && strstr(buf, "server") &&
		      strstr(buf, "SYN_RCVD") && strstr(buf, "ESTABLISHED") && strstr(buf, "rtt=0.100ms"),
	      "state event text, client on the left: %s\n", buf);

	e.family = 6;
	inet_pton(AF_INET6, "fd00::2", e.saddr);
	inet_pton(AF_INET6, "fd00::1", e.daddr);
	e.to = SG_CLOSED;
	e.from = SG_LAST_ACK;
	e.closer = SG_CLOSER_CLIENT_FIN;
	e.flags = SG_F_MIDSTREAM;
	e.pkts[0] = 7;
	e.pkts[1] = 5;
	e.bytes[0] = 120;
	e.bytes[1] = 4000;
	sg_format_event(&e, false, SG_TS_NONE, 0, buf, sizeof(buf));
	CHECK(strstr(buf, "pkts=7/5 bytes=120/4000"), "CLOSED text carries packets/bytes per direction: %s\n", buf);
	CHECK(strstr(buf, "[fd00::2]:51234") && strstr(buf, "closed_by=client FIN") && strstr(buf, "[midstream]"),
	      "IPv6 text with closer and midstream: %s\n", buf);
	sg_format_event(&e, true, SG_TS_NONE, 0, buf, sizeof(buf));
	CHECK(strstr(buf, "\"saddr\":\"fd00::2\"") && strstr(buf, "\"closed_by\":\"client FIN\"") &&
		      strstr(buf, "\"midstream\":true") && !strstr(buf, "rtt_syn_us") &&
		      strstr(buf, "\"pkts\":[7,5],\"bytes\":[120,4000]"),
	      "IPv6 JSON with closer and midstream: %s\n", buf);

	memset(&e, 0, sizeof(e));
	e.type = SG_EV_COOKIE;
	e.dport = 443;
	e.sent = 1000;
	e.validated = 7;
	e.rejected = 3;
	sg_format_event(&e, true, SG_TS_NONE, wall, buf, sizeof(buf));
	CHECK(strstr(buf, "\"type\":\"cookie\"") && strstr(buf, "\"dport\":443") && strstr(buf, "\"sent\":1000") &&
		      strstr(buf, "\"validated\":7") && strstr(buf, "\"rejected\":3"),
	      "cookie summary JSON: %s\n", buf);
	memset(&e, 0, sizeof(e));
	e.type = SG_EV_LOSS;
	e.counter = SG_LOSS_RINGBUF;
	e.lost = 12;
	sg_format_event(&e, true, SG_TS_NONE, wall, buf, sizeof(buf));
	CHECK(strstr(buf, "\"type\":\"loss\"") && strstr(buf, "\"what\":\"lost_events\"") && strstr(buf, "\"lost\":12"),
	      "loss JSON: %s\n", buf);
	memset(&e, 0, sizeof(e));
	e.type = SG_EV_ALERT;
	e.alert = SG_ALERT_SYN_FLOOD_START;
	e.value = 50000;
	sg_format_event(&e, true, SG_TS_NONE, wall, buf, sizeof(buf));
	CHECK(strstr(buf, "\"alert\":\"syn_flood_start\"") && strstr(buf, "\"value\":50000"), "alert JSON: %s\n",
	      buf);

	{
		__u32 a[4] = {};
		char ab[64], tb[64];

		inet_pton(AF_INET, "255.255.255.255", a);
		sg_format_addr(4, a, ab, sizeof(ab));
		CHECK(!strcmp(ab, "255.255.255.255"), "IPv4 255.255.255.255: %s\n", ab);
		inet_pton(AF_INET, "0.10.0.1", a);
		sg_format_addr(4, a, ab, sizeof(ab));
		CHECK(!strcmp(ab, "0.10.0.1"), "IPv4 0.10.0.1: %s\n", ab);
		sg_format_time(1795310150000042000ull, SG_TS_ISO, false, tb, sizeof(tb));
		CHECK(!strcmp(tb, "2026-11-22T01:15:50.000042Z"), "ISO time, microseconds zero-padded: %s\n", tb);
		sg_format_time(1795310151999999000ull, SG_TS_ISO, true, tb, sizeof(tb));
		CHECK(!strcmp(tb, "2026-11-22T01:15:51.999999Z"), "ISO time, next second: %s\n", tb);
	}
	for (unsigned int s = 0; s < SG_STATE_MAX; s++)
		CHECK(strcmp(sg_state_name(s), "?"), "state %u has a name", s);
	for (unsigned int c = 0; c < SG_CAUSE_MAX; c++)
		CHECK(strcmp(sg_cause_name(c), "?"), "cause %u has a name", c);
	for (unsigned int c = 0; c < SG_CNT_MAX; c++)
		CHECK(strcmp(sg_counter_name(c), "?"), "counter %u has a name", c);
}

/* The JSON writer: escaping, numbers, pairs, cut objects. */
static void test_json(void)
{
	char buf[256], small[16];
	struct sg_json j;
	int n;

	sg_json_begin(&j, buf, sizeof(buf));
	sg_json_str(&j, "iface", "ve\"th\\0\n\x01");
	sg_json_u64(&j, "n", 18446744073709551615ull);
	sg_json_bool(&j, "b", false);
	sg_json_pair(&j, "p", 0, 42);
	sg_json_double(&j, "r", 2.5, 1);
	sg_json_double(&j, "nan", 0.0 / 0.0, 1);
	n = sg_json_end(&j);
	CHECK(!strcmp(buf, "{\"iface\":\"ve\\\"th\\\\0\\u000a\\u0001\",\"n\":18446744073709551615,"
			   "\"b\":false,\"p\":[0,42],\"r\":2.5,\"nan\":null}") &&
		      n == (int)strlen(buf),
	      "JSON writer: escaped string, u64 max, bool, pair, number, NaN as null: %s\n", buf);
	sg_json_begin(&j, small, sizeof(small));
	sg_json_str(&j, "key", "a value longer than the buffer");
	n = sg_json_end(&j);
	CHECK(n >= (int)sizeof(small) && strlen(small) == sizeof(small) - 1,
	      "JSON writer: a cut object says so (%d) and stays within its buffer", n);
}

/* The output object: events counted by type, -q, records, names escaped. */
static void test_out(void)
{
	struct sg_out_opts oo = { .json = true, .quiet = true, .ts = SG_TS_NONE };
	struct sg_event e = { .type = SG_EV_STATE, .family = 4, .to = SG_ESTABLISHED };
	char *mem = NULL, buf[256];
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	struct sg_out *o = sg_out_new(f, &oo);
	struct sg_json j;

	sg_out_event(o, &e);
	e.type = SG_EV_LOSS;
	e.counter = SG_LOSS_RINGBUF;
	e.lost = 3;
	sg_out_event(o, &e);
	sg_out_record_begin(o, &j, buf, sizeof(buf), "start", 0);
	sg_json_str(&j, "iface", "a\"b");
	sg_out_record_end(o, &j);
	sg_out_flush(o);
	CHECK(sg_out_emitted(o, SG_EV_STATE) == 1 && sg_out_emitted(o, SG_EV_LOSS) == 1,
	      "output: events counted by type, quiet ones included");
	CHECK(mem && !strstr(mem, "\"type\":\"state\"") && strstr(mem, "\"type\":\"loss\""),
	      "output: -q drops state lines only: %s", mem ? mem : "");
	CHECK(mem && strstr(mem, "{\"type\":\"start\",\"iface\":\"a\\\"b\"}\n"),
	      "output: a record with an escaped interface name: %s", mem ? mem : "");
	CHECK(sg_out_lost(o) == 0, "output: nothing lost");
	sg_out_free(o);
	fclose(f);
	free(mem);
}

/* Read what the pipe holds now (non-blocking): whole lines are counted,
 * a line not whole is counted in *cut. */
static void drain_pipe(int fd, long *lines, long *cut)
{
	static char b[1 << 16];
	char last = '\n';
	ssize_t r;

	while ((r = read(fd, b, sizeof(b))) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			if (b[i] == '\n') {
				*lines += 1;
				*cut += i > 0 ? b[i - 1] != '}' : last != '}';
			} else if ((i > 0 ? b[i - 1] : last) == '\n' && b[i] != '{') {
				*cut += 1;	/* a line that does not start an object */
			}
		}
		last = b[r - 1];
	}
	*cut += last != '\n';	/* the pipe's data ends inside a line */
}

/*
 * Into a pipe nobody reads for a while: flushes every few lines (small
 * writes that leave the pipe's pages part full), until the pipe and the
 * buffer are full and lines are lost. The pipe then holds whole lines
 * only (a large write sized from the pipe's room must never come out
 * partial), and every line is either read or counted lost.
 */
static void test_out_pipe(void)
{
	struct sg_out_opts oo = { .json = true, .ts = SG_TS_ISO };
	struct sg_event e = { .type = SG_EV_STATE, .family = 4, .to = SG_SYN_SENT, .dport = 8080 };
	long written = 0, lines = 0, cut = 0;
	int p[2], fl;
	FILE *f;
	struct sg_out *o;

	if (pipe(p)) {
		CHECK(0, "pipe: %s", strerror(errno));
		return;
	}
	f = fdopen(p[1], "w");
	o = sg_out_new(f, &oo);
	fl = fcntl(p[0], F_GETFL);
	fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
	for (long i = 0; i < 200000 && !sg_out_lost(o); i++, written++) {
		e.ts_ns = 1000000000ull + i * 1000;
		e.saddr[0] = htonl(0x0a620000 | (__u32)(i % 5000));
		e.sport = 1024 + i % 64000;
		sg_out_event(o, &e);
		if (i % 8 == 7)
			sg_out_flush(o);
	}
	for (long i = 0; i < 5000; i++, written++)	/* the buffer well over PIPE_BUF */
		sg_out_event(o, &e);
	sg_out_flush(o);
	drain_pipe(p[0], &lines, &cut);
	CHECK(cut == 0, "output: a stalled pipe holds whole lines only (%ld cut of %ld)", cut, lines);
	for (int k = 0; k < 100; k++) {	/* the rest: the buffer's lines, read as they come */
		sg_out_flush(o);
		drain_pipe(p[0], &lines, &cut);
	}
	CHECK(cut == 0 && lines + (long)sg_out_lost(o) == written,
	      "output: every line read or counted lost (%ld read + %llu lost of %ld, %ld cut)", lines,
	      (unsigned long long)sg_out_lost(o), written, cut);
	sg_out_free(o);
	fclose(f);
	close(p[0]);
}

int main(void)
{
	test_parsers();
	test_format();
	test_json();
	test_out();
	test_out_pipe();
	return check_summary("user_output");
}
