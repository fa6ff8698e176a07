// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * output.c - events as console lines or JSON objects. The client is always
 * on the left (saddr/sport); states, causes and sides are spelled as in
 * synguard.h's enums.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sg_user.h"

__u64 sg_boot_offset_ns(void)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	return (rt.tv_sec - mono.tv_sec) * 1000000000ull + rt.tv_nsec - mono.tv_nsec;
}

int sg_format_addr(__u8 family, const __u32 *addr, char *buf, size_t len)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, len)) {
		snprintf(buf, len, "?");
		return -1;
	}
	return 0;
}

int sg_format_time(__u64 wall_ns, enum sg_ts_style ts, bool json, char *buf, size_t len)
{
	time_t sec = wall_ns / 1000000000ull;
	unsigned long usec = (wall_ns % 1000000000ull) / 1000;
	struct tm tm;

	if (json || ts == SG_TS_ISO) {
		gmtime_r(&sec, &tm);
		return snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06luZ", tm.tm_year + 1900,
				tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	}
	switch (ts) {
	case SG_TS_NONE:
		buf[0] = '\0';
		return 0;
	case SG_TS_UNIX:
		return snprintf(buf, len, "%lld.%06lu", (long long)sec, usec);
	default:
		localtime_r(&sec, &tm);
		return snprintf(buf, len, "%02d:%02d:%02d.%06lu", tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	}
}

static const char *closer_name(unsigned int c)
{
	static const char *const n[] = { "", "client FIN", "server FIN", "client RST", "server RST",
					 "timeout" };
	return c < sizeof(n) / sizeof(n[0]) ? n[c] : "?";
}

/* "10.0.0.2:51234" or "[fd00::2]:51234" */
static void endpoint(__u8 family, const __u32 *addr, __u16 port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	sg_format_addr(family, addr, a, sizeof(a));
	snprintf(buf, len, family == 6 ? "[%s]:%u" : "%s:%u", a, port);
}

static int format_json(const struct sg_event *e, const char *ts, char *buf, size_t len)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	int n;

	sg_format_addr(e->family, e->saddr, sa, sizeof(sa));
	sg_format_addr(e->family, e->daddr, da, sizeof(da));
	switch (e->type) {
	case SG_EV_STATE:
		n = snprintf(buf, len,
			     "{\"ts\":\"%s\",\"type\":\"state\",\"family\":%u,\"saddr\":\"%s\",\"sport\":%u,"
			     "\"daddr\":\"%s\",\"dport\":%u,\"side\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
			     "\"cause\":\"%s\"",
			     ts, e->family, sa, e->sport, da, e->dport, sg_side_name(e->side),
			     sg_state_name(e->from), sg_state_name(e->to), sg_cause_name(e->cause));
		if (e->to == SG_ESTABLISHED && !(e->flags & SG_F_MIDSTREAM) && (e->rtt_syn_us || e->rtt_ack_us))
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0,
				      ",\"rtt_syn_us\":%u,\"rtt_ack_us\":%u", e->rtt_syn_us, e->rtt_ack_us);
		if (e->syn_retrans)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, ",\"syn_retrans\":%u",
				      e->syn_retrans);
		if (e->closer)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, ",\"closed_by\":\"%s\"",
				      closer_name(e->closer));
		if (e->to == SG_CLOSED)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0,
				      ",\"pkts\":[%u,%u],\"bytes\":[%u,%u]", e->pkts[0], e->pkts[1], e->bytes[0],
				      e->bytes[1]);
		if (e->flags & SG_F_MIDSTREAM)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, ",\"midstream\":true");
		if (e->flags & SG_F_TFO)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, ",\"tfo\":true");
		if (e->flags & SG_F_COOKIE)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, ",\"cookie\":true");
		n += snprintf(buf + n, len > (size_t)n ? len - n : 0, "}");
		return n;
	case SG_EV_SYN_SUMMARY:
		return snprintf(buf, len,
				"{\"ts\":\"%s\",\"type\":\"syn_summary\",\"dport\":%u,\"syns\":%u,"
				"\"not_printed\":%u,\"interval_s\":1}",
				ts, e->dport, e->syns, e->valid);
	case SG_EV_COOKIE:
		return snprintf(buf, len,
				"{\"ts\":\"%s\",\"type\":\"cookie\",\"dport\":%u,\"sent\":%u,\"validated\":%u,"
				"\"rejected\":%u,\"interval_s\":1}",
				ts, e->dport, e->syns, e->valid, e->rejected);
	case SG_EV_ALERT:
		if (e->family)	/* about one flow (CLOSE_WAIT) */
			return snprintf(buf, len,
					"{\"ts\":\"%s\",\"type\":\"alert\",\"alert\":\"%s\",\"family\":%u,"
					"\"saddr\":\"%s\",\"sport\":%u,\"daddr\":\"%s\",\"dport\":%u,\"side\":\"%s\","
					"\"value\":%u}",
					ts, sg_alert_name(e->alert), e->family, sa, e->sport, da, e->dport,
					sg_side_name(e->side), e->value);
		return snprintf(buf, len,
				"{\"ts\":\"%s\",\"type\":\"alert\",\"alert\":\"%s\",\"dport\":%u,\"value\":%u}",
				ts, sg_alert_name(e->alert), e->dport, e->value);
	case SG_EV_LOSS:
		return snprintf(buf, len, "{\"ts\":\"%s\",\"type\":\"loss\",\"what\":\"%s\",\"lost\":%u}", ts,
				sg_counter_name(e->counter), e->lost);
	default:
		return snprintf(buf, len, "{\"ts\":\"%s\",\"type\":\"unknown\",\"code\":%u}", ts, e->type);
	}
}

static int format_text(const struct sg_event *e, const char *ts, char *buf, size_t len)
{
	char src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8];
	const char *sep = ts[0] ? " " : "";
	int n;

	endpoint(e->family, e->saddr, e->sport, src, sizeof(src));
	endpoint(e->family, e->daddr, e->dport, dst, sizeof(dst));
	switch (e->type) {
	case SG_EV_STATE:
		n = snprintf(buf, len, "%s%s%-22s -> %-22s %-6s %-11s -> %-11s %s", ts, sep, src, dst,
			     sg_side_name(e->side), sg_state_name(e->from), sg_state_name(e->to),
			     sg_cause_name(e->cause));
		if (e->to == SG_ESTABLISHED && !(e->flags & SG_F_MIDSTREAM) && (e->rtt_syn_us || e->rtt_ack_us))
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " rtt=%.3fms (syn->synack %.3fms)",
				      (e->rtt_syn_us + e->rtt_ack_us) / 1000.0, e->rtt_syn_us / 1000.0);
		if (e->syn_retrans)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " syn_retrans=%u", e->syn_retrans);
		if (e->closer)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " closed_by=%s",
				      closer_name(e->closer));
		if (e->to == SG_CLOSED)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " pkts=%u/%u bytes=%u/%u",
				      e->pkts[0], e->pkts[1], e->bytes[0], e->bytes[1]);
		if (e->flags & SG_F_MIDSTREAM)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " [midstream]");
		if (e->flags & SG_F_TFO)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " [tfo]");
		if (e->flags & SG_F_COOKIE)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " [cookie]");
		return n;
	case SG_EV_SYN_SUMMARY:
		return snprintf(buf, len, "%s%sport %u SYN summary: %u new handshakes in 1s, %u not printed",
				ts, sep, e->dport, e->syns, e->valid);
	case SG_EV_COOKIE:
		return snprintf(buf, len, "%s%sport %u cookies: sent %u, validated %u, rejected %u in 1s", ts,
				sep, e->dport, e->syns, e->valid, e->rejected);
	case SG_EV_ALERT:
		if (e->family)
			return snprintf(buf, len, "%s%s%-22s -> %-22s %-6s ALERT %s for %us", ts, sep, src, dst,
					sg_side_name(e->side), sg_alert_name(e->alert), e->value);
		return snprintf(buf, len, "%s%sALERT %s%s%.0u value %u", ts, sep, sg_alert_name(e->alert),
				e->dport ? " port " : "", e->dport, e->value);
	case SG_EV_LOSS:
		return snprintf(buf, len, "%s%sLOSS %u %s", ts, sep, e->lost, sg_counter_name(e->counter));
	default:
		return snprintf(buf, len, "%s%sunknown event %u", ts, sep, e->type);
	}
}

int sg_format_event(const struct sg_event *e, bool json, enum sg_ts_style ts_style, __u64 boot_offset_ns,
		    char *buf, size_t len)
{
	char ts[40];

	sg_format_time(e->ts_ns + boot_offset_ns, ts_style, json, ts, sizeof(ts));
	return json ? format_json(e, ts, buf, len) : format_text(e, ts, buf, len);
}
