// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_user_metrics.c - /metrics without BPF: the log2 bucket function, the
 * exposition of a made-up snapshot in both formats (families, cumulative
 * buckets, exact le values, _count = +Inf bucket, # EOF), Accept
 * negotiation and --metrics address parsing. (promtool and a real scrape:
 * tests/integration/metrics.sh.)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static void test_buckets(void)
{
	/* bucket i: v <= 2^(i + shift), the last one +Inf */
	CHECK(sg_hist_bucket(0, 3, 24) == 0 && sg_hist_bucket(8, 3, 24) == 0, "0 and 8 us: bucket le=8us");
	CHECK(sg_hist_bucket(9, 3, 24) == 1 && sg_hist_bucket(16, 3, 24) == 1, "9..16 us: bucket le=16us");
	CHECK(sg_hist_bucket(17, 3, 24) == 2, "17 us: le=32us");
	CHECK(sg_hist_bucket(1u << 25, 3, 24) == 22, "2^25 us: the last finite bucket");
	CHECK(sg_hist_bucket((1u << 25) + 1, 3, 24) == 23, "above: +Inf");
	CHECK(sg_hist_bucket(~0ull, 3, 24) == 23, "u64 max: +Inf");
	CHECK(sg_hist_bucket(1, 0, 26) == 0 && sg_hist_bucket(2, 0, 26) == 1 && sg_hist_bucket(3, 0, 26) == 2,
	      "ms buckets: 1 -> le 1, 2 -> le 2, 3 -> le 4");
	for (__u64 v = 1; v < 5000; v++) {
		__u32 b = sg_hist_bucket(v, 0, 26);

		if (!(v <= (1ull << b) && (b == 0 || v > (1ull << (b - 1))))) {
			CHECK(0, "bucket of %llu is %u", (unsigned long long)v, b);
			return;
		}
	}
	CHECK(1, "every v in 1..4999: 2^(b-1) < v <= 2^b");
}

static void fill(struct sg_metrics_snap *s)
{
	static struct sg_metrics_ck_port ck[1] = { { .port = 8080, .syns = 10, .sent = 9, .valid = 7, .rejected = 2,
						     .on = true } };
	static struct sg_metrics_hs_port hs[2];

	memset(s, 0, sizeof(*s));
	s->cnt[SG_CNT_PACKETS] = 100;
	s->cnt[SG_CNT_TCP] = 90;
	s->cnt[SG_CNT_SYN] = 10;
	s->cnt[SG_CNT_OTHER] = 9;
	s->cnt[SG_CNT_MALFORMED] = 1;
	s->cnt[SG_CNT_EGRESS] = 50;
	s->cnt[SG_CNT_EGRESS_TCP] = 45;
	s->cnt[SG_DROP_COOKIE_BAD] = 2;
	s->cnt[SG_DROP_DENIED] = 3;
	s->cnt[SG_DROP_SYN_LIMITED] = 4;
	s->cnt[SG_DROP_SYNACK_CAPPED] = 5;
	s->cnt[SG_LOSS_RINGBUF] = 3;
	s->lost_lines = 4;
	s->tc.side_states[SG_SIDE_SERVER][SG_ESTABLISHED] = 5;
	s->tc.side_states[SG_SIDE_CLIENT][SG_TIME_WAIT] = 6;
	s->tc.flows = 11;
	s->max_flows = 262144;
	s->max_halfopen = 65536;
	s->oc.alerts[SG_ALERT_COOKIES_ON] = 1;
	s->oc.transitions[SG_SIDE_SERVER][SG_ESTABLISHED] = 7;
	s->oc.dur_bucket[SG_SIDE_CLIENT][0] = 2;	/* <= 1 ms */
	s->oc.dur_bucket[SG_SIDE_CLIENT][3] = 1;	/* <= 8 ms */
	s->oc.dur_sum_ms[SG_SIDE_CLIENT] = 1234;
	hs[0].port = 8080;
	hs[0].h.half[SG_HS_SYN_SYNACK].bucket[0] = 3;	/* <= 8 us */
	hs[0].h.half[SG_HS_SYN_SYNACK].bucket[2] = 4;	/* <= 32 us */
	hs[0].h.half[SG_HS_SYN_SYNACK].bucket[SG_HS_BUCKETS - 1] = 1;	/* +Inf */
	hs[0].h.half[SG_HS_SYN_SYNACK].sum_us = 40000123;
	hs[1].port = SG_HS_OTHER;
	s->ck = ck;
	s->nck = 1;
	s->hs = hs;
	s->nhs = 2;
}

static void test_text(void)
{
	struct sg_metrics_snap s;
	size_t len;
	char *t;

	fill(&s);
	t = sg_metrics_format(&s, false, &len);
	if (!CHECK(t && len == strlen(t), "text format rendered (%zu bytes)", len))
		return;
	CHECK(has_line(t, "# TYPE synguard_packets_total counter"), "counter family named by its sample (text)");
	CHECK(has_line(t, "synguard_packets_total{direction=\"ingress\",class=\"tcp\"} 90"), "packets tcp");
	CHECK(has_line(t, "synguard_packets_total{direction=\"egress\",class=\"other\"} 5"), "egress other = 50 - 45");
	CHECK(has_line(t, "synguard_drops_total{reason=\"bad_cookie\"} 2"), "drops by reason");
	CHECK(has_line(t, "synguard_drops_total{reason=\"denied\"} 3") &&
		      has_line(t, "synguard_drops_total{reason=\"syn_limited\"} 4") &&
		      has_line(t, "synguard_drops_total{reason=\"synack_capped\"} 5"),
	      "the policy's drops by reason: denied, syn_limited, synack_capped");
	CHECK(has_line(t, "synguard_lost_total{what=\"events\"} 3") && has_line(t, "synguard_lost_total{what=\"lines\"} 4"),
	      "lost: events, lines");
	CHECK(has_line(t, "synguard_alerts_total{type=\"cookies_on\"} 1") &&
		      has_line(t, "synguard_alerts_total{type=\"syn_flood_start\"} 0"),
	      "alerts by type, zeros included");
	CHECK(has_line(t, "synguard_endpoints{side=\"server\",state=\"ESTABLISHED\"} 5") &&
		      has_line(t, "synguard_endpoints{side=\"client\",state=\"TIME_WAIT\"} 6"),
	      "endpoints by side and state");
	CHECK(has_line(t, "synguard_transitions_total{side=\"server\",to=\"ESTABLISHED\"} 7") &&
		      !strstr(t, "to=\"LISTEN\""),
	      "transitions by side and to (no LISTEN)");
	CHECK(has_line(t, "synguard_cookies_total{port=\"8080\",result=\"rejected\"} 2") &&
		      has_line(t, "synguard_cookie_mode{port=\"8080\"} 1") &&
		      has_line(t, "synguard_port_syns_total{port=\"8080\"} 10"),
	      "cookies, cookie mode, SYNs by port");
	CHECK(has_line(t, "synguard_handshake_seconds_bucket{port=\"8080\",half=\"syn_synack\",le=\"0.000008\"} 3") &&
		      has_line(t, "synguard_handshake_seconds_bucket{port=\"8080\",half=\"syn_synack\",le=\"0.000016\"} 3") &&
		      has_line(t, "synguard_handshake_seconds_bucket{port=\"8080\",half=\"syn_synack\",le=\"0.000032\"} 7") &&
		      has_line(t, "synguard_handshake_seconds_bucket{port=\"8080\",half=\"syn_synack\",le=\"33.554432\"} 7") &&
		      has_line(t, "synguard_handshake_seconds_bucket{port=\"8080\",half=\"syn_synack\",le=\"+Inf\"} 8"),
	      "handshake buckets cumulative, exact le in seconds");
	CHECK(has_line(t, "synguard_handshake_seconds_sum{port=\"8080\",half=\"syn_synack\"} 40.000123") &&
		      has_line(t, "synguard_handshake_seconds_count{port=\"8080\",half=\"syn_synack\"} 8"),
	      "handshake _sum in seconds, _count = +Inf bucket");
	CHECK(has_line(t, "synguard_handshake_seconds_count{port=\"other\",half=\"synack_ack\"} 0"),
	      "port 0 is \"other\"");
	CHECK(has_line(t, "synguard_flow_duration_seconds_bucket{side=\"client\",le=\"0.001\"} 2") &&
		      has_line(t, "synguard_flow_duration_seconds_bucket{side=\"client\",le=\"0.008\"} 3") &&
		      has_line(t, "synguard_flow_duration_seconds_bucket{side=\"client\",le=\"16777.216\"} 3") &&
		      has_line(t, "synguard_flow_duration_seconds_sum{side=\"client\"} 1.234") &&
		      has_line(t, "synguard_flow_duration_seconds_count{side=\"client\"} 3"),
	      "flow duration histogram in seconds");
	CHECK(has_line(t, "# TYPE synguard_build_info gauge") && has_line(t, "synguard_up 1"),
	      "build_info a gauge in the text format; up");
	CHECK(!strstr(t, "# EOF") && !strstr(t, "# UNIT"), "no OpenMetrics-only lines");
	free(t);

	t = sg_metrics_format(&s, true, &len);
	if (!CHECK(t, "OpenMetrics rendered"))
		return;
	CHECK(len > 6 && !strcmp(t + len - 6, "# EOF\n"), "OpenMetrics ends with # EOF");
	CHECK(has_line(t, "# TYPE synguard_packets counter") &&
		      has_line(t, "synguard_packets_total{direction=\"ingress\",class=\"tcp\"} 90"),
	      "OpenMetrics counter: family without _total, samples with");
	CHECK(has_line(t, "# TYPE synguard_build info") && has_line(t, "synguard_build_info{version=\"" SG_VERSION "\"} 1"),
	      "OpenMetrics info type");
	CHECK(has_line(t, "# UNIT synguard_handshake_seconds seconds"), "OpenMetrics unit of the histograms");
	free(t);
}

static void test_accept(void)
{
	CHECK(sg_metrics_wants_om("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
				  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
	      "Prometheus' Accept: OpenMetrics");
	CHECK(!sg_metrics_wants_om(NULL) && !sg_metrics_wants_om("*/*") && !sg_metrics_wants_om("text/plain"),
	      "no Accept, */*, text/plain: text");
	CHECK(!sg_metrics_wants_om("application/openmetrics-text;q=0, text/plain"), "q=0: text");
}

static void test_addr(void)
{
	struct sockaddr_storage ss;
	socklen_t l;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

	CHECK(!sg_metrics_parse_addr("9100", &ss, &l) && a4->sin_family == AF_INET &&
		      a4->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(a4->sin_port) == 9100,
	      "9100 -> 127.0.0.1:9100");
	CHECK(!sg_metrics_parse_addr(":9100", &ss, &l) && a4->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	      ":9100 -> 127.0.0.1:9100");
	CHECK(!sg_metrics_parse_addr("0.0.0.0:80", &ss, &l) && a4->sin_addr.s_addr == 0 && ntohs(a4->sin_port) == 80,
	      "0.0.0.0:80");
	CHECK(!sg_metrics_parse_addr("[::1]:9100", &ss, &l) && a6->sin6_family == AF_INET6 &&
		      ntohs(a6->sin6_port) == 9100 && l == sizeof(*a6),
	      "[::1]:9100");
	CHECK(sg_metrics_parse_addr("::1:9100", &ss, &l) && sg_metrics_parse_addr("1.2.3:80", &ss, &l) &&
		      sg_metrics_parse_addr("1.2.3.4:65536", &ss, &l) && sg_metrics_parse_addr("", &ss, &l) &&
		      sg_metrics_parse_addr("[::1]9100", &ss, &l) && sg_metrics_parse_addr("host:x", &ss, &l),
	      "bad: bare IPv6, short IPv4, port > 65535, empty, no colon after ], port not a number");
}

int main(void)
{
	test_buckets();
	test_text();
	test_accept();
	test_addr();
	return check_summary("metrics");
}
