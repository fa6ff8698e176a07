// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* parse.c - option value parsing and the names of states, causes, counters. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sg_user.h"

void sg_config_defaults(struct sg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->xdp_mode = SG_XDP_NATIVE;
	cfg->mode = SG_MODE_MONITOR;
	cfg->ts_style = SG_TS_TIME;
	cfg->time_wait = 60;
	cfg->half_open = 30;
	cfg->idle = 7200;
	cfg->max_flows = SG_MAX_FLOWS_DEFAULT;
	cfg->max_halfopen = SG_MAX_HALFOPEN_DEFAULT;
	cfg->syn_threshold = SG_SYN_THRESHOLD_DEFAULT;
	cfg->syn_alert = SG_SYN_ALERT_DEFAULT;
	cfg->syn_summary = SG_SYN_SUMMARY_DEFAULT;
	cfg->close_wait_alert = 60;
	cfg->time_wait_alert = 10000;
	cfg->rotate = 60;
	cfg->limit_prefix4 = 32;
	cfg->limit_prefix6 = 64;
	cfg->syn_limit_table = SG_SYN_LIMIT_TABLE_DEFAULT;
	cfg->synack_cap = SG_SYNACK_CAP_DEFAULT;
}

int sg_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v;
	char *end;

	/* digits only: strtoull() would also take leading blanks and a sign after them */
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (__u32)v;
	return 0;
}

int sg_parse_seconds(const char *s, double min, double max, double *out)
{
	double v;
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v != v || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "80,443,8000-8010": ports 1..65535, ranges inclusive, at most max ports. */
int sg_parse_port_list(const char *s, __u16 *ports, int max, int *n)
{
	char buf[512], *tok, *save = NULL;
	__u16 tmp[SG_MAX_PORTS];
	int cnt = 0;

	if (!s || !*s || strlen(s) >= sizeof(buf) || max > SG_MAX_PORTS)
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		__u32 lo, hi, p;

		if (dash) {
			*dash = '\0';
			if (sg_parse_u32(tok, 1, 65535, &lo) || sg_parse_u32(dash + 1, 1, 65535, &hi) || hi < lo)
				return -1;
		} else {
			if (sg_parse_u32(tok, 1, 65535, &lo))
				return -1;
			hi = lo;
		}
		for (p = lo; p <= hi; p++) {
			if (cnt >= max)
				return -1;
			tmp[cnt++] = (__u16)p;
		}
	}
	if (!cnt)
		return -1;
	memcpy(ports, tmp, cnt * sizeof(*ports));
	*n = cnt;
	return 0;
}

/* "10.0.0.0/8", "fd00::/8", or a bare address (full-length prefix). */
int sg_parse_syn_limit(const char *s, __u32 *pps, __u8 *prefix4, __u8 *prefix6)
{
	char buf[64], *slash, *comma;
	__u32 v, p4 = *prefix4, p6 = *prefix6;

	if (!s || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash++ = '\0';
		comma = strchr(slash, ',');
		if (comma) {
			*comma++ = '\0';
			if (sg_parse_u32(comma, 0, 128, &p6))
				return -1;
		}
		if (sg_parse_u32(slash, 0, 32, &p4))
			return -1;
	}
	if (sg_parse_u32(buf, 1, 100000000, &v))
		return -1;
	*pps = v;
	*prefix4 = (__u8)p4;
	*prefix6 = (__u8)p6;
	return 0;
}

int sg_parse_cidr(const char *s, struct sg_cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	struct sg_cidr r = {};
	__u32 prefix, maxp;

	if (!s || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, &r.addr[0]) == 1) {
		r.family = 4;
		maxp = 32;
	} else if (inet_pton(AF_INET6, buf, r.addr) == 1) {
		r.family = 6;
		maxp = 128;
	} else {
		return -1;
	}
	if (slash) {
		if (sg_parse_u32(slash + 1, 0, maxp, &prefix))
			return -1;
	} else {
		prefix = maxp;
	}
	r.prefix = (__u8)prefix;
	/* Clear host bits so matching is a plain masked compare. */
	for (int w = 0; w < 4; w++) {
		int bits = (int)prefix - w * 32;
		__u32 mask;

		if (bits >= 32)
			continue;
		mask = bits <= 0 ? 0 : htonl(~0u << (32 - bits));
		r.addr[w] &= mask;
	}
	*c = r;
	return 0;
}

static const char *const state_names[SG_STATE_MAX] = {
	[SG_CLOSED] = "CLOSED",		  [SG_LISTEN] = "LISTEN",
	[SG_SYN_SENT] = "SYN_SENT",	  [SG_SYN_RCVD] = "SYN_RCVD",
	[SG_ESTABLISHED] = "ESTABLISHED", [SG_FIN_WAIT_1] = "FIN_WAIT_1",
	[SG_FIN_WAIT_2] = "FIN_WAIT_2",	  [SG_CLOSING] = "CLOSING",
	[SG_TIME_WAIT] = "TIME_WAIT",	  [SG_CLOSE_WAIT] = "CLOSE_WAIT",
	[SG_LAST_ACK] = "LAST_ACK",
};

static const char *const cause_names[SG_CAUSE_MAX] = {
	[SG_CAUSE_SYN] = "SYN",		[SG_CAUSE_SYNACK] = "SYN-ACK",
	[SG_CAUSE_ACK] = "ACK",		[SG_CAUSE_FIN] = "FIN",
	[SG_CAUSE_RST] = "RST",		[SG_CAUSE_TIMEOUT] = "timeout",
	[SG_CAUSE_REUSE] = "reuse",	[SG_CAUSE_COOKIE] = "cookie",
	[SG_CAUSE_MIDSTREAM] = "midstream",
};

static const char *const counter_names[SG_CNT_MAX] = {
	[SG_CNT_PACKETS] = "packets",
	[SG_CNT_TCP] = "tcp",
	[SG_CNT_SYN] = "syn",
	[SG_CNT_SYNACK] = "synack",
	[SG_CNT_FIN] = "fin",
	[SG_CNT_RST] = "rst",
	[SG_CNT_OTHER] = "other",
	[SG_CNT_MALFORMED] = "malformed",
	[SG_CNT_EGRESS] = "egress",
	[SG_CNT_EGRESS_TCP] = "egress_tcp",
	[SG_CNT_COOKIE_SENT] = "cookies_sent",
	[SG_CNT_COOKIE_VALID] = "cookies_valid",
	[SG_CNT_COOKIE_HANDOFF] = "handoffs",
	[SG_CNT_HANDOFF_FAIL] = "handoff_failed",
	[SG_CNT_BAD_CSUM] = "bad_checksum",
	[SG_DROP_COOKIE_BAD] = "drop_bad_cookie",
	[SG_DROP_DENIED] = "drop_denied",
	[SG_DROP_SYN_LIMITED] = "drop_syn_limited",
	[SG_DROP_SYNACK_CAPPED] = "drop_synack_capped",
	[SG_LOSS_RINGBUF] = "lost_events",
	[SG_LOSS_FLOW_FULL] = "lost_flows",
	[SG_LOSS_HALFOPEN_FULL] = "lost_halfopen",
	[SG_CNT_FLOW_NEW] = "flows_new",
	[SG_CNT_RETRANS] = "retransmits",
	[SG_CNT_SYN_RETRANS] = "syn_retransmits",
	[SG_CNT_RST_IGNORED] = "rst_ignored",
	[SG_CNT_FILTERED] = "filtered",
	[SG_CNT_LOCK_CONTENDED] = "flow_contended",
	[SG_CNT_EGRESS_PULL_FAIL] = "egress_pull_failed",
};

static const char *const alert_names[] = {
	[SG_ALERT_SYN_FLOOD_START] = "syn_flood_start",
	[SG_ALERT_SYN_FLOOD_END] = "syn_flood_end",
	[SG_ALERT_CLOSE_WAIT] = "close_wait_pileup",
	[SG_ALERT_TIME_WAIT] = "time_wait_pileup",
	[SG_ALERT_COOKIES_ON] = "cookies_on",
	[SG_ALERT_COOKIES_OFF] = "cookies_off",
};

const char *sg_state_name(unsigned int s)
{
	return s < SG_STATE_MAX ? state_names[s] : "?";
}

const char *sg_cause_name(unsigned int c)
{
	return c < SG_CAUSE_MAX ? cause_names[c] : "?";
}

const char *sg_side_name(unsigned int s)
{
	return s == SG_SIDE_CLIENT ? "client" : s == SG_SIDE_SERVER ? "server" : "?";
}

const char *sg_counter_name(unsigned int c)
{
	return c < SG_CNT_MAX && counter_names[c] ? counter_names[c] : "?";
}

const char *sg_alert_name(unsigned int a)
{
	return a < sizeof(alert_names) / sizeof(alert_names[0]) && alert_names[a] ? alert_names[a] : "?";
}
