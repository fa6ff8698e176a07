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

/* Decimal digits of v at p, returns the end (no terminator). */
static char *put_dec(char *p, unsigned int v)
{
	char tmp[10];
	int n = 0;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

int sg_format_addr(__u8 family, const __u32 *addr, char *buf, size_t len)
{
	if (family != 6 && len >= 16) { /* dotted quad without inet_ntop (hot path) */
		const unsigned char *b = (const unsigned char *)addr;
		char *p = buf;

		for (int i = 0; i < 4; i++) {
			p = put_dec(p, b[i]);
			*p++ = i < 3 ? '.' : '\0';
		}
		return 0;
	}
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
		/* gmtime_r() once per second and thread: events come by the 100,000 */
		static __thread time_t last = -1;
		static __thread char prefix[64];

		if (sec != last) {
			gmtime_r(&sec, &tm);
			snprintf(prefix, sizeof(prefix), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
				 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
			last = sec;
		}
		{
			/* "<prefix>.uuuuuuZ" by hand: one line per event */
			size_t n = strlen(prefix);

			if (n + 9 > len)
				return snprintf(buf, len, "%s.%06luZ", prefix, usec);
			memcpy(buf, prefix, n);
			buf[n++] = '.';
			for (int i = 5; i >= 0; i--, usec /= 10)
				buf[n + i] = '0' + usec % 10;
			n += 6;
			buf[n++] = 'Z';
			buf[n] = '\0';
			return (int)n;
		}
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

/*
 * State events come by the 100,000 per second: built by hand, not with
 * snprintf(). A small appender that never writes past len and returns what
 * the full line would take, like snprintf().
 */
struct sb {
	char *p;
	size_t len, n;
};

static void sb_str(struct sb *b, const char *s)
{
	while (*s) {
		if (b->n + 1 < b->len)
			b->p[b->n] = *s;
		b->n++;
		s++;
	}
}

static void sb_u32(struct sb *b, __u32 v)
{
	char tmp[11];
	int i = sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	sb_str(b, tmp + i);
}

static int format_json_state(const struct sg_event *e, const char *ts, const char *sa, const char *da, char *buf,
			     size_t len)
{
	struct sb b = { .p = buf, .len = len };

	sb_str(&b, "{\"ts\":\"");
	sb_str(&b, ts);
	sb_str(&b, "\",\"type\":\"state\",\"family\":");
	sb_u32(&b, e->family);
	sb_str(&b, ",\"saddr\":\"");
	sb_str(&b, sa);
	sb_str(&b, "\",\"sport\":");
	sb_u32(&b, e->sport);
	sb_str(&b, ",\"daddr\":\"");
	sb_str(&b, da);
	sb_str(&b, "\",\"dport\":");
	sb_u32(&b, e->dport);
	sb_str(&b, ",\"side\":\"");
	sb_str(&b, sg_side_name(e->side));
	sb_str(&b, "\",\"from\":\"");
	sb_str(&b, sg_state_name(e->from));
	sb_str(&b, "\",\"to\":\"");
	sb_str(&b, sg_state_name(e->to));
	sb_str(&b, "\",\"cause\":\"");
	sb_str(&b, sg_cause_name(e->cause));
	sb_str(&b, "\"");
	if (e->to == SG_ESTABLISHED && !(e->flags & SG_F_MIDSTREAM) && (e->rtt_syn_us || e->rtt_ack_us)) {
		sb_str(&b, ",\"rtt_syn_us\":");
		sb_u32(&b, e->rtt_syn_us);
		sb_str(&b, ",\"rtt_ack_us\":");
		sb_u32(&b, e->rtt_ack_us);
	}
	if (e->syn_retrans) {
		sb_str(&b, ",\"syn_retrans\":");
		sb_u32(&b, e->syn_retrans);
	}
	if (e->closer) {
		sb_str(&b, ",\"closed_by\":\"");
		sb_str(&b, closer_name(e->closer));
		sb_str(&b, "\"");
	}
	if (e->to == SG_CLOSED) {
		sb_str(&b, ",\"pkts\":[");
		sb_u32(&b, e->pkts[0]);
		sb_str(&b, ",");
		sb_u32(&b, e->pkts[1]);
		sb_str(&b, "],\"bytes\":[");
		sb_u32(&b, e->bytes[0]);
		sb_str(&b, ",");
		sb_u32(&b, e->bytes[1]);
		sb_str(&b, "]");
	}
	if (e->flags & SG_F_MIDSTREAM)
		sb_str(&b, ",\"midstream\":true");
	if (e->flags & SG_F_TFO)
		sb_str(&b, ",\"tfo\":true");
	if (e->flags & SG_F_COOKIE)
		sb_str(&b, ",\"cookie\":true");
	sb_str(&b, "}");
	if (len)
		buf[b.n < len ? b.n : len - 1] = '\0';
	return (int)b.n;
}

static int format_json(const struct sg_event *e, const char *ts, char *buf, size_t len)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];

	sg_format_addr(e->family, e->saddr, sa, sizeof(sa));
	sg_format_addr(e->family, e->daddr, da, sizeof(da));
	switch (e->type) {
	case SG_EV_STATE:
		return format_json_state(e, ts, sa, da, buf, len);
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
