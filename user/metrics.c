// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * metrics.c - /metrics (see metrics.h): collect a snapshot, format it as
 * Prometheus text 0.0.4 or OpenMetrics 1.0, serve it with libmicrohttpd.
 *
 * Families (base units, _total for counters, only low-cardinality labels:
 * directions, classes, reasons, sides, states, and ports from bounded
 * sets: the protected ports with a listener, the handshake histograms'
 * SG_HS_PORTS_DEFAULT or -p/--ports ports plus "other"). README
 * "Monitoring" lists them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>

#include "sg_user.h"
#include "sg_cookie.h"
#include "cookie.h"
#include "counters.h"
#include "metrics.h"
#include "synguard.skel.h"

/* ---- the handshake histogram map: size and fixed entries ---- */

/* The ports of -p and --ports, each once; returns how many. */
static int listed_ports(const struct sg_config *cfg, __u32 *out, int max)
{
	int n = 0;

	for (int l = 0; l < 2; l++) {
		const __u16 *p = l ? cfg->prot_ports : cfg->ports;
		int np = l ? cfg->nprot_ports : cfg->nports;

		for (int i = 0; i < np; i++) {
			int dup = 0;

			for (int j = 0; j < n; j++)
				dup |= out[j] == p[i];
			if (!dup && n < max)
				out[n++] = p[i];
		}
	}
	return n;
}

int sg_metrics_preload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	__u32 ports[2 * SG_MAX_PORTS];
	int n = listed_ports(cfg, ports, 2 * SG_MAX_PORTS);

	if (bpf_map__set_max_entries(skel->maps.sg_hs_hist, (n ? n : SG_HS_PORTS_DEFAULT) + 1)) {
		fprintf(stderr, "synguard: cannot size the handshake histograms\n");
		return -1;
	}
	return 0;
}

int sg_metrics_postload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.sg_hs_hist);
	__u32 ports[2 * SG_MAX_PORTS + 1];
	int n = listed_ports(cfg, ports, 2 * SG_MAX_PORTS), err = 0;
	void *zero;

	if (ncpu <= 0 || !(zero = calloc(ncpu, sizeof(struct sg_hs_hist))))
		return -1;
	ports[n++] = SG_HS_OTHER;
	for (int i = 0; i < n && !err; i++)
		err = bpf_map_update_elem(fd, &ports[i], zero, BPF_NOEXIST);
	free(zero);
	if (err)
		fprintf(stderr, "synguard: writing the handshake histogram ports failed: %s\n", strerror(errno));
	return err ? -1 : 0;
}

/* ---- collect ---- */

int sg_metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
	const char *port_s = s, *colon;
	__u32 port;

	if (!s || !*s)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, end - s - 1);
		host[end - s - 1] = '\0';
		port_s = end + 2;
	} else if ((colon = strrchr(s, ':'))) {
		if (colon != s) {
			if ((size_t)(colon - s) >= sizeof(host) || memchr(s, ':', colon - s))
				return -1;	/* bare IPv6 without brackets */
			memcpy(host, s, colon - s);
			host[colon - s] = '\0';
		}
		port_s = colon + 1;
	}
	if (sg_parse_u32(port_s, 0, 65535, &port))
		return -1;
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -1;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -1;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		*len = sizeof(*a);
	}
	return 0;
}

static int collect_ck(const struct sg_metrics_src *src, struct sg_metrics_snap *s, int ncpu)
{
	__u32 key, next, *prev = NULL;
	int cap = 0;

	while (!bpf_map_get_next_key(src->ck_stats, prev, &next)) {
		struct sg_metrics_ck_port *p;
		struct sg_port_stats t;

		key = next;
		prev = &key;
		if (sg_port_stats_sum(src->ck_stats, src->ck_slots, ncpu, key, &t))
			continue;	/* deleted meanwhile */
		if (s->nck == cap) {
			int ncap = cap ? cap * 2 : 16;
			void *n = realloc(s->ck, ncap * sizeof(*s->ck));

			if (!n)
				break;
			s->ck = n;
			cap = ncap;
		}
		p = &s->ck[s->nck++];
		memset(p, 0, sizeof(*p));
		p->port = key;
		p->syns = t.syns;
		p->sent = t.sent;
		p->valid = t.valid;
		p->rejected = t.rejected;
		p->on = sg_cookies_port_on(src->ck, key & 0xffff);
	}
	return 0;
}

static int collect_hs(const struct sg_metrics_src *src, struct sg_metrics_snap *s, int ncpu)
{
	struct sg_hs_hist *v = calloc(ncpu, sizeof(*v));
	__u32 key, next, *prev = NULL;
	int cap = 0;

	if (!v)
		return -ENOMEM;
	while (!bpf_map_get_next_key(src->hs_hist, prev, &next)) {
		struct sg_metrics_hs_port *p;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(src->hs_hist, &key, v))
			continue;
		if (s->nhs == cap) {
			int ncap = cap ? cap * 2 : 32;
			void *n = realloc(s->hs, ncap * sizeof(*s->hs));

			if (!n)
				break;
			s->hs = n;
			cap = ncap;
		}
		p = &s->hs[s->nhs++];
		memset(p, 0, sizeof(*p));
		p->port = key;
		for (int c = 0; c < ncpu; c++)
			for (int h = 0; h < SG_HS_HALVES; h++) {
				p->h.half[h].sum_us += v[c].half[h].sum_us;
				for (int b = 0; b < SG_HS_BUCKETS; b++)
					p->h.half[h].bucket[b] += v[c].half[h].bucket[b];
			}
	}
	free(v);
	return 0;
}

static int cmp_ck(const void *a, const void *b)
{
	return (int)((const struct sg_metrics_ck_port *)a)->port - (int)((const struct sg_metrics_ck_port *)b)->port;
}

static int cmp_hs(const void *a, const void *b)
{
	__u32 x = ((const struct sg_metrics_hs_port *)a)->port, y = ((const struct sg_metrics_hs_port *)b)->port;

	/* "other" last */
	x = x == SG_HS_OTHER ? 0x10000 : x;
	y = y == SG_HS_OTHER ? 0x10000 : y;
	return (int)x - (int)y;
}

int sg_metrics_collect(const struct sg_metrics_src *src, struct sg_metrics_snap *s)
{
	int ncpu = libbpf_num_possible_cpus(), err;

	memset(s, 0, sizeof(*s));
	if (ncpu <= 0)
		return -EINVAL;
	err = sg_counters_read(src->counters, s->cnt);
	if (err)
		return err;
	s->lost_lines = sg_out_lost(src->out);
	sg_out_counts(src->out, &s->oc);
	sg_tracker_counts(src->trk, &s->tc);
	s->max_flows = src->cfg->max_flows;
	s->max_halfopen = src->cfg->max_halfopen;
	if ((err = collect_ck(src, s, ncpu)) || (err = collect_hs(src, s, ncpu))) {
		sg_metrics_snap_free(s);
		return err;
	}
	/* --ports named but not seen yet: their mode too */
	for (int i = 0; i < src->cfg->nprot_ports && src->ck; i++) {
		int found = 0;

		for (int j = 0; j < s->nck; j++)
			found |= s->ck[j].port == src->cfg->prot_ports[i];
		if (!found) {
			void *n = realloc(s->ck, (s->nck + 1) * sizeof(*s->ck));

			if (!n)
				break;
			s->ck = n;
			memset(&s->ck[s->nck], 0, sizeof(s->ck[0]));
			s->ck[s->nck].port = src->cfg->prot_ports[i];
			s->ck[s->nck].on = sg_cookies_port_on(src->ck, src->cfg->prot_ports[i]);
			s->nck++;
		}
	}
	if (s->nck > 1)
		qsort(s->ck, s->nck, sizeof(*s->ck), cmp_ck);
	if (s->nhs > 1)
		qsort(s->hs, s->nhs, sizeof(*s->hs), cmp_hs);
	return 0;
}

void sg_metrics_snap_free(struct sg_metrics_snap *s)
{
	free(s->ck);
	free(s->hs);
	s->ck = NULL;
	s->hs = NULL;
	s->nck = s->nhs = 0;
}

/* ---- format ---- */

struct mbuf {
	char *p;
	size_t len, cap;
	bool oom;
	bool om;	/* OpenMetrics */
};

static void put(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += n;
			return;
		}
		{
			size_t ncap = (b->cap + n + 1) * 2;
			char *np = realloc(b->p, ncap);

			if (!np) {
				b->oom = true;
				return;
			}
			b->p = np;
			b->cap = ncap;
		}
	}
}

enum ftype { F_COUNTER, F_GAUGE, F_HISTOGRAM, F_INFO };

/*
 * A family's HELP and TYPE. name is the family's name as OpenMetrics has
 * it (counters without _total, info without _info); the Prometheus text
 * format names a counter's family by its sample name, and has no info
 * type (a gauge *_info).
 */
static void family(struct mbuf *b, const char *name, enum ftype t, const char *unit, const char *help)
{
	static const char *const om_type[] = { "counter", "gauge", "histogram", "info" };
	static const char *const text_type[] = { "counter", "gauge", "histogram", "gauge" };
	const char *suffix = "";

	if (!b->om)
		suffix = t == F_COUNTER ? "_total" : t == F_INFO ? "_info" : "";
	put(b, "# HELP %s%s %s\n", name, suffix, help);
	put(b, "# TYPE %s%s %s\n", name, suffix, b->om ? om_type[t] : text_type[t]);
	if (b->om && unit)
		put(b, "# UNIT %s %s\n", name, unit);
}

/* A value in base units, exactly: v / 10^digits as a decimal ("0.000008"). */
static void put_fixed(struct mbuf *b, __u64 v, int digits)
{
	__u64 div = 1;
	char frac[24];
	int n;

	for (int i = 0; i < digits; i++)
		div *= 10;
	if (v % div == 0) {
		put(b, "%llu", (unsigned long long)(v / div));
		return;
	}
	n = snprintf(frac, sizeof(frac), "%0*llu", digits, (unsigned long long)(v % div));
	while (n > 1 && frac[n - 1] == '0')
		frac[--n] = '\0';
	put(b, "%llu.%s", (unsigned long long)(v / div), frac);
}

/*
 * One histogram series: buckets (cumulative, le in seconds: 2^(i + shift)
 * units of 10^-digits s, then +Inf), _sum (sum of the unit) and _count.
 * labels: "port=\"80\",half=\"syn_synack\"" (no braces).
 */
static void histogram(struct mbuf *b, const char *name, const char *labels, const __u64 *bucket, int n,
		      int shift, __u64 sum, int digits)
{
	__u64 cum = 0;

	for (int i = 0; i < n; i++) {
		cum += bucket[i];
		put(b, "%s_bucket{%s,le=\"", name, labels);
		if (i == n - 1)
			put(b, "+Inf");
		else
			put_fixed(b, 1ull << (i + shift), digits);
		put(b, "\"} %llu\n", (unsigned long long)cum);
	}
	put(b, "%s_sum{%s} ", name, labels);
	put_fixed(b, sum, digits);
	put(b, "\n%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
}

static const char *port_label(__u32 port, char *buf, size_t len)
{
	if (port == SG_HS_OTHER)
		return "other";
	snprintf(buf, len, "%u", port);
	return buf;
}

bool sg_metrics_wants_om(const char *accept)
{
	const char *p = accept;

	/* "application/openmetrics-text; version=1.0.0, text/plain;q=0.5":
	 * any openmetrics entry that is not "q=0" */
	while (p && (p = strstr(p, "application/openmetrics-text"))) {
		const char *end = strchr(p, ',');
		const char *q = strstr(p, "q=");

		if (!q || (end && q > end) || strtod(q + 2, NULL) > 0)
			return true;
		p = end;
	}
	return false;
}

char *sg_metrics_format(const struct sg_metrics_snap *s, bool om, size_t *len)
{
	static const struct {
		const char *dir, *cls;
		int idx;
	} pk[] = {
		{ "ingress", "tcp", SG_CNT_TCP },	  { "ingress", "syn", SG_CNT_SYN },
		{ "ingress", "synack", SG_CNT_SYNACK },	  { "ingress", "fin", SG_CNT_FIN },
		{ "ingress", "rst", SG_CNT_RST },	  { "ingress", "other", SG_CNT_OTHER },
		{ "ingress", "malformed", SG_CNT_MALFORMED }, { "egress", "tcp", SG_CNT_EGRESS_TCP },
	};
	static const struct {
		const char *name;
		int idx;
	} lost[] = {
		{ "events", SG_LOSS_RINGBUF },
		{ "flows", SG_LOSS_FLOW_FULL },
		{ "halfopen", SG_LOSS_HALFOPEN_FULL },
	};
	static const char *const half_name[SG_HS_HALVES] = { "syn_synack", "synack_ack" };
	struct mbuf b = { .om = om };
	char lab[128], pb[16];
	const __u64 *c = s->cnt;

	b.cap = 32768;
	b.p = malloc(b.cap);
	if (!b.p)
		return NULL;
	b.p[0] = '\0';

	family(&b, "synguard_up", F_GAUGE, NULL, "1 while synguard is attached and serving metrics.");
	put(&b, "synguard_up 1\n");
	family(&b, "synguard_build", F_INFO, NULL, "synguard's version.");
	put(&b, "synguard_build_info{version=\"%s\"} 1\n", SG_VERSION);

	family(&b, "synguard_packets", F_COUNTER, NULL,
	       "Frames seen, by direction and class. Every frame is one of tcp, other or malformed; "
	       "syn, synack, fin and rst count TCP segments again by their flags (ingress only).");
	for (size_t i = 0; i < sizeof(pk) / sizeof(pk[0]); i++)
		put(&b, "synguard_packets_total{direction=\"%s\",class=\"%s\"} %llu\n", pk[i].dir, pk[i].cls,
		    (unsigned long long)c[pk[i].idx]);
	put(&b, "synguard_packets_total{direction=\"egress\",class=\"other\"} %llu\n",
	    (unsigned long long)(c[SG_CNT_EGRESS] - c[SG_CNT_EGRESS_TCP]));

	family(&b, "synguard_drops", F_COUNTER, NULL, "Frames dropped at XDP, by reason (exactly one each).");
	for (int i = 0; i < SG_CNT_MAX; i++)
		if (!strncmp(sg_counter_name(i), "drop_", 5))
			put(&b, "synguard_drops_total{reason=\"%s\"} %llu\n", sg_counter_name(i) + 5,
			    (unsigned long long)c[i]);

	family(&b, "synguard_lost", F_COUNTER, NULL,
	       "Records lost and counted: events (ring buffer full), flows / halfopen (table full), "
	       "lines (output not written).");
	for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++)
		put(&b, "synguard_lost_total{what=\"%s\"} %llu\n", lost[i].name, (unsigned long long)c[lost[i].idx]);
	put(&b, "synguard_lost_total{what=\"lines\"} %llu\n", (unsigned long long)s->lost_lines);

	family(&b, "synguard_alerts", F_COUNTER, NULL, "Alerts raised, by type.");
	for (int a = 1; a < SG_ALERT_KINDS; a++)
		put(&b, "synguard_alerts_total{type=\"%s\"} %llu\n", sg_alert_name(a),
		    (unsigned long long)s->oc.alerts[a]);

	family(&b, "synguard_flows_new", F_COUNTER, NULL,
	       "First segments of flows not in the tables (each new flow, tracked or not).");
	put(&b, "synguard_flows_new_total %llu\n", (unsigned long long)c[SG_CNT_FLOW_NEW]);
	family(&b, "synguard_retransmits", F_COUNTER, NULL,
	       "Retransmitted segments seen by the tracker: kind segment (any), syn (client SYNs).");
	put(&b, "synguard_retransmits_total{kind=\"segment\"} %llu\n", (unsigned long long)c[SG_CNT_RETRANS]);
	put(&b, "synguard_retransmits_total{kind=\"syn\"} %llu\n", (unsigned long long)c[SG_CNT_SYN_RETRANS]);

	family(&b, "synguard_endpoints", F_GAUGE, NULL,
	       "Tracked endpoints by side and TCP state, as of the tracker's last sweep (every 0.5 s).");
	for (int side = 0; side < 2; side++)
		for (int st = SG_SYN_SENT; st < SG_STATE_MAX; st++)
			put(&b, "synguard_endpoints{side=\"%s\",state=\"%s\"} %llu\n", sg_side_name(side),
			    sg_state_name(st), (unsigned long long)s->tc.side_states[side][st]);
	family(&b, "synguard_flow_table_entries", F_GAUGE, NULL,
	       "Entries in the flow tables (flows: established, halfopen: handshakes), as of the last sweep.");
	put(&b, "synguard_flow_table_entries{table=\"flows\"} %llu\n", (unsigned long long)s->tc.flows);
	put(&b, "synguard_flow_table_entries{table=\"halfopen\"} %llu\n", (unsigned long long)s->tc.halfopen);
	family(&b, "synguard_flow_table_size", F_GAUGE, NULL, "Capacity of the flow tables (flows: --max-flows, each of the IPv4 and IPv6 tables; halfopen: --max-halfopen).");
	put(&b, "synguard_flow_table_size{table=\"flows\"} %llu\n", (unsigned long long)s->max_flows);
	put(&b, "synguard_flow_table_size{table=\"halfopen\"} %llu\n", (unsigned long long)s->max_halfopen);

	family(&b, "synguard_transitions", F_COUNTER, NULL,
	       "State transitions reported (state records, printed or -q), by side and new state; "
	       "the handshakes summarised during a SYN flood are not reported one by one.");
	for (int side = 0; side < 2; side++)
		for (int st = SG_CLOSED; st < SG_STATE_MAX; st++)
			if (st != SG_LISTEN)
				put(&b, "synguard_transitions_total{side=\"%s\",to=\"%s\"} %llu\n", sg_side_name(side),
				    sg_state_name(st), (unsigned long long)s->oc.transitions[side][st]);

	family(&b, "synguard_cookies", F_COUNTER, NULL,
	       "SYN cookies by protected port: sent (SYN-ACKs), validated (ACKs with a valid cookie), "
	       "rejected (bad cookie, no socket: dropped).");
	for (int i = 0; i < s->nck; i++) {
		put(&b, "synguard_cookies_total{port=\"%u\",result=\"sent\"} %llu\n", s->ck[i].port,
		    (unsigned long long)s->ck[i].sent);
		put(&b, "synguard_cookies_total{port=\"%u\",result=\"validated\"} %llu\n", s->ck[i].port,
		    (unsigned long long)s->ck[i].valid);
		put(&b, "synguard_cookies_total{port=\"%u\",result=\"rejected\"} %llu\n", s->ck[i].port,
		    (unsigned long long)s->ck[i].rejected);
	}
	family(&b, "synguard_port_syns", F_COUNTER, NULL,
	       "SYNs to a protected port that found a listener (--mode protect/auto), answered with a "
	       "cookie or not.");
	for (int i = 0; i < s->nck; i++)
		put(&b, "synguard_port_syns_total{port=\"%u\"} %llu\n", s->ck[i].port, (unsigned long long)s->ck[i].syns);
	family(&b, "synguard_cookie_mode", F_GAUGE, NULL,
	       "1 while a protected port's SYNs are answered with cookies (--mode protect: always; "
	       "auto: while flooded).");
	for (int i = 0; i < s->nck; i++)
		put(&b, "synguard_cookie_mode{port=\"%u\"} %d\n", s->ck[i].port, s->ck[i].on ? 1 : 0);
	family(&b, "synguard_handoffs", F_COUNTER, NULL,
	       "Cookie connections handed to the listener at TC ingress: ok, failed (left to the kernel).");
	put(&b, "synguard_handoffs_total{result=\"ok\"} %llu\n", (unsigned long long)c[SG_CNT_COOKIE_HANDOFF]);
	put(&b, "synguard_handoffs_total{result=\"failed\"} %llu\n", (unsigned long long)c[SG_CNT_HANDOFF_FAIL]);

	family(&b, "synguard_handshake_seconds", F_HISTOGRAM, "seconds",
	       "Handshake halves at the interface, by server port (the first ports seen or -p/--ports; the "
	       "rest: other): syn_synack (SYN -> SYN-ACK), synack_ack (SYN-ACK -> ACK).");
	for (int i = 0; i < s->nhs; i++)
		for (int h = 0; h < SG_HS_HALVES; h++) {
			snprintf(lab, sizeof(lab), "port=\"%s\",half=\"%s\"", port_label(s->hs[i].port, pb, sizeof(pb)),
				 half_name[h]);
			histogram(&b, "synguard_handshake_seconds", lab, s->hs[i].h.half[h].bucket, SG_HS_BUCKETS,
				  SG_HS_SHIFT, s->hs[i].h.half[h].sum_us, 6);
		}

	family(&b, "synguard_flow_duration_seconds", F_HISTOGRAM, "seconds",
	       "How long endpoints stayed connected: from the handshake's completion to the endpoint's CLOSED "
	       "(TIME_WAIT included), by side; from the reported CLOSED transitions.");
	for (int side = 0; side < 2; side++) {
		snprintf(lab, sizeof(lab), "side=\"%s\"", sg_side_name(side));
		histogram(&b, "synguard_flow_duration_seconds", lab, s->oc.dur_bucket[side], SG_DUR_BUCKETS,
			  SG_DUR_SHIFT, s->oc.dur_sum_ms[side], 3);
	}

	if (om)
		put(&b, "# EOF\n");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- the server ---- */

struct sg_metrics {
	struct MHD_Daemon *d;
	struct sg_metrics_src src;
	int fd;		/* the listening socket (MHD's once started) */
	int port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *ctype, char *body,
			     size_t len, bool must_free)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r) {
		if (must_free)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	static char index_page[] = "synguard: metrics at /metrics\n";
	static char not_found[] = "not found: metrics at /metrics\n";
	static char not_allowed[] = "only GET and HEAD\n";
	static char failed[] = "could not read the metrics\n";
	struct sg_metrics *m = cls;
	struct sg_metrics_snap snap;
	const char *accept;
	char *body;
	size_t len;
	bool om;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed, sizeof(not_allowed) - 1,
			     false);
	if (*upload_data_size)	/* a GET with a body: ignore it */
		*upload_data_size = 0;
	if (!strcmp(url, "/"))
		return reply(conn, MHD_HTTP_OK, "text/plain", index_page, sizeof(index_page) - 1, false);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1, false);

	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	om = sg_metrics_wants_om(accept);
	if (sg_metrics_collect(&m->src, &snap))
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", failed, sizeof(failed) - 1, false);
	body = sg_metrics_format(&snap, om, &len);
	sg_metrics_snap_free(&snap);
	if (!body)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", failed, sizeof(failed) - 1, false);
	return reply(conn, MHD_HTTP_OK, om ? SG_METRICS_CT_OM : SG_METRICS_CT_TEXT, body, len, true);
}

struct sg_metrics *sg_metrics_start(const char *addr, const struct sg_metrics_src *src)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct sg_metrics *m;
	sigset_t block, old;
	int one = 1;

	if (sg_metrics_parse_addr(addr, &ss, &sl)) {
		fprintf(stderr, "synguard: bad --metrics address '%s' ([ADDR]:PORT)\n", addr);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->src = *src;
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->fd, (struct sockaddr *)&ss, sl) || listen(m->fd, 64)) {
		fprintf(stderr, "synguard: --metrics %s: cannot listen: %s\n", addr, strerror(errno));
		goto fail;
	}
	sl = sizeof(ss);
	getsockname(m->fd, (struct sockaddr *)&ss, &sl);
	m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);

	/* The server's thread takes no signals: SIGINT/SIGTERM/SIGHUP are the
	 * main loop's (a thread inherits the mask it was created with). */
	sigfillset(&block);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
					(ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, on_request, m, MHD_OPTION_LISTEN_SOCKET, m->fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)10, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->d) {
		fprintf(stderr, "synguard: --metrics %s: cannot start the HTTP server\n", addr);
		goto fail;
	}
	return m;
fail:
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	return NULL;
}

int sg_metrics_port(const struct sg_metrics *m)
{
	return m ? m->port : -1;
}

void sg_metrics_stop(struct sg_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);	/* joins its thread, closes the socket it was given */
	free(m);
}
