// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * ladder.c - ladder mode: each tracked flow drawn as a ladder diagram from
 * its segments as they pass (--ladder), and written as a PlantUML or
 * Mermaid sequence diagram when it closes or at exit (--diagram DIR).
 *
 * Input: the per-segment records of bpf/sg_ladder.h (struct sg_seg_event:
 * the segment, the tracker's verdict, the transitions it caused) and,
 * through the output object's tap, the state events of the sweeper's
 * timers (TIME_WAIT -> CLOSED and the like), which no segment causes.
 *
 * A line (at most LINE_COLS columns; colours only on a terminal):
 *
 *   f1       +0.041             |<---------------- SYN,ACK seq=0 ack=1 .. -| SYN_RCVD
 *   ^id      ^ms since the      ^client's state  ^the arrow, client on      ^server's state,
 *            flow's first       when it changes   the left                   when it changes
 *            segment
 *
 * Sequence and acknowledgement numbers are relative to each side's ISN,
 * as Wireshark shows them; windows are scaled once both SYNs offered
 * window scaling. Nothing is cut silently: the flow's own segment counters
 * in each record say how many segments were not drawn (steady data without
 * --ladder-data, past --ladder-max, over --ladder-rate, a full ring), and
 * the ladder says so where they were. A retransmission is marked, and
 * what it shows was lost is marked lost: the earlier copy, unless the peer
 * had acknowledged it (then that acknowledgement was lost).
 */
#include <argp.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"
#include "sg_cookie.h"
#include "ladder.h"
#include "output.h"
#include "synguard.skel.h"

/* ---- options ---------------------------------------------------------- */

enum {
	OPT_LADDER = 0x200,
	OPT_NO_COLOR,
	OPT_DIAGRAM,
	OPT_DIAGRAM_FORMAT,
	OPT_LADDER_MAX,
	OPT_LADDER_DATA,
	OPT_LADDER_RATE,
};

static const struct argp_option ladder_opts[] = {
	{ "ladder", OPT_LADDER, NULL, 0,
	  "Draw each flow as a ladder diagram as its segments pass: arrows with flags, relative seq/ack, "
	  "window, options, length; each side's state as it changes (replaces the state lines)", 0 },
	{ "no-color", OPT_NO_COLOR, NULL, 0, "No colours in the ladder (also: the NO_COLOR environment variable)", 0 },
	{ "diagram", OPT_DIAGRAM, "DIR", 0,
	  "Write each flow's ladder to DIR as a sequence diagram when it closes (or at exit)", 0 },
	{ "diagram-format", OPT_DIAGRAM_FORMAT, "FMT", 0, "plantuml (default) or mermaid", 0 },
	{ "ladder-max", OPT_LADDER_MAX, "N", 0,
	  "Draw a flow's first N segments (default 200); after them only SYN, FIN, RST and state changes", 0 },
	{ "ladder-data", OPT_LADDER_DATA, NULL, 0,
	  "Draw every data segment of established flows too (default: counted and summarised)", 0 },
	{ "ladder-rate", OPT_LADDER_RATE, "N", 0, "At most N segment records per second, all flows (default 10000)",
	  0 },
	{},
};

static error_t ladder_parse(int key, char *arg, struct argp_state *state)
{
	struct sg_config *cfg = state->input;
	struct sg_ladder_cfg *lc;

	if (!cfg)
		return ARGP_ERR_UNKNOWN;
	lc = &cfg->ladder;
	switch (key) {
	case OPT_LADDER:
		lc->on = true;
		break;
	case OPT_NO_COLOR:
		lc->no_color = true;
		break;
	case OPT_DIAGRAM:
		if (!*arg)
			argp_failure(state, 2, 0, "--diagram needs a directory");
		lc->diagram_dir = arg;
		break;
	case OPT_DIAGRAM_FORMAT:
		if (!strcmp(arg, "plantuml"))
			lc->diagram_fmt = SG_DIAGRAM_PLANTUML;
		else if (!strcmp(arg, "mermaid"))
			lc->diagram_fmt = SG_DIAGRAM_MERMAID;
		else
			argp_failure(state, 2, 0, "--diagram-format must be plantuml or mermaid, not '%s'", arg);
		break;
	case OPT_LADDER_MAX:
		if (sg_parse_u32(arg, 1, 1000000, &lc->max))
			argp_failure(state, 2, 0, "invalid --ladder-max '%s' (segments per flow, 1-1000000)", arg);
		break;
	case OPT_LADDER_DATA:
		lc->data = true;
		break;
	case OPT_LADDER_RATE:
		if (sg_parse_u32(arg, 1, 10000000, &lc->rate))
			argp_failure(state, 2, 0, "invalid --ladder-rate '%s' (records per second, 1-10000000)", arg);
		break;
	case ARGP_KEY_END:
		if (!lc->on && !lc->diagram_dir) {
			if (lc->max || lc->rate || lc->data)
				argp_failure(state, 2, 0, "--ladder-max, --ladder-rate and --ladder-data need --ladder "
							  "or --diagram");
			break;
		}
		/* one ladder per flow on a busy interface helps nobody: say which */
		if (!cfg->nports && !cfg->ncidrs && !cfg->only4 && !cfg->only6)
			argp_failure(state, 2, 0, "%s needs a filter to say which flows: -p PORTS, -a CIDR, -4 or -6",
				     lc->on ? "--ladder" : "--diagram");
		if (lc->on && cfg->json)
			argp_failure(state, 2, 0, "--ladder draws text, not JSON (--diagram works with --json)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp sg_ladder_argp = { .options = ladder_opts, .parser = ladder_parse };

bool sg_ladder_wanted(const struct sg_config *cfg)
{
	return cfg->ladder.on || cfg->ladder.diagram_dir;
}

void sg_ladder_settings(struct sg_settings *s, const struct sg_config *cfg)
{
	s->ladder = sg_ladder_wanted(cfg);
	s->ladder_data = s->ladder && cfg->ladder.data;	/* (BPF tests it alone) */
	s->ladder_max = cfg->ladder.max ? cfg->ladder.max : SG_LADDER_MAX_DEFAULT;
	s->ladder_rate = cfg->ladder.rate ? cfg->ladder.rate : SG_LADDER_RATE_DEFAULT;
}

int sg_ladder_preload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	long page = sysconf(_SC_PAGESIZE);
	/* 1 MiB: ~6500 records, more than half a second at the default rate */
	__u32 size = sg_ladder_wanted(cfg) ? 1u << 20 : (__u32)(page > 0 ? page : 4096);
	int err = bpf_map__set_max_entries(skel->maps.sg_ladder, size);

	if (err)
		fprintf(stderr, "synguard: cannot size the ladder ring buffer: %s\n", strerror(-err));
	return err;
}

/* ---- the drawing ------------------------------------------------------ */

#define LINE_COLS	100
#define ID_W		4	/* "f12 " */
#define TIME_W		10	/* "+12345.678" (ms) */
#define STATE_W		11	/* "ESTABLISHED" */
#define AREA_W		58	/* the two lifelines and what is between them */
#define INNER_W		(AREA_W - 2)
#define LABEL_W		(INNER_W - 5)	/* an arrow's text: "-- " label " ->" */
#define MAX_FLOWS	1024	/* flows drawn at once; more are counted */
#define ITEMS_EXTRA	128	/* a flow's diagram items beyond --ladder-max */

_Static_assert(ID_W + 1 + TIME_W + 1 + STATE_W + 1 + AREA_W + 1 + STATE_W <= LINE_COLS, "line width");

/* ANSI colours */
#define C_RESET	"\033[0m"
#define C_BOLD	"\033[1m"
#define C_DIM	"\033[2m"
#define C_RED	"\033[31m"
#define C_GREEN	"\033[32m"
#define C_YELLOW "\033[33m"
#define C_BLUE	"\033[34m"
#define C_MAGENTA "\033[35m"
#define C_CYAN	"\033[36m"

enum item_kind { IT_ARROW, IT_STATE, IT_GAP, IT_NOTE };

/* One element of a flow's diagram, in order. */
struct item {
	__u8 kind;		/* enum item_kind */
	__u8 side;		/* ARROW: the sender; STATE: whose */
	__u8 lost;		/* ARROW: judged lost */
	__u8 ack_flag;		/* ARROW: carries an ACK */
	__u8 syn;		/* ARROW: SYN */
	__u8 retrans;		/* ARROW: the tracker's verdict */
	__u64 t_ns;		/* since the flow's first segment */
	__u32 seq, end, ack;	/* ARROW: relative; end = seq + len (+SYN/FIN) */
	char *text;		/* ARROW: label (options after a '\n'); STATE: the state; GAP, NOTE: text */
};

struct lflow {
	struct lflow *next;	/* hash chain */
	int id;
	__u8 family;
	__u32 caddr[4], saddr[4];
	__u16 cport, sport;
	__u64 start_ns;		/* BPF's start of this incarnation (identity) */
	__u64 first_ts;		/* the first segment drawn */
	__u64 last_ts;		/* the last record */
	__u32 base[2];		/* relative sequence numbers: each side's ISN */
	__u8 base_known;	/* bit per side */
	__u8 ws[2];		/* window scale each SYN offered */
	__u8 ws_seen;		/* bit per side: its SYN was drawn; bit 2+side: it offered WS */
	__u8 state[2];
	__u8 closer;		/* enum sg_closer, once known */
	bool counts;		/* pkts/bytes hold a record's counters */
	__u32 pkts[2], bytes[2];
	__u64 skipped;		/* segments not drawn, all told */
	struct item *items;
	size_t n, cap;
	__u64 items_dropped;	/* diagram items beyond the cap */
};

struct sg_ladder {
	pthread_mutex_t lock;
	struct sg_out *out;
	struct sg_ladder_cfg cfg;
	bool terminal;		/* --ladder: lines on stdout */
	bool color;
	bool json;
	int stats_fd;		/* sg_ladder_stats, -1 without BPF */
	__u32 max;
	__u64 boot_offset;
	struct lflow *hash[256];
	int nflows;
	int next_id;
	__u64 records, flows_drawn, flows_not_drawn, diagrams, diagram_errors;
};

static unsigned int flow_hash(__u8 family, const __u32 *ca, const __u32 *sa, __u16 cp, __u16 sp)
{
	__u32 h = 2166136261u ^ family;

	for (int i = 0; i < 4; i++)
		h = (h ^ ca[i]) * 16777619u, h = (h ^ sa[i]) * 16777619u;
	h = (h ^ cp) * 16777619u;
	h = (h ^ sp) * 16777619u;
	return (h ^ (h >> 16)) & 255;
}

static struct lflow *flow_find(struct sg_ladder *l, __u8 family, const __u32 *ca, const __u32 *sa, __u16 cp,
			       __u16 sp)
{
	struct lflow *f = l->hash[flow_hash(family, ca, sa, cp, sp)];

	for (; f; f = f->next)
		if (f->family == family && f->cport == cp && f->sport == sp && !memcmp(f->caddr, ca, 16) &&
		    !memcmp(f->saddr, sa, 16))
			return f;
	return NULL;
}

static void flow_unlink(struct sg_ladder *l, struct lflow *f)
{
	struct lflow **pp = &l->hash[flow_hash(f->family, f->caddr, f->saddr, f->cport, f->sport)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			l->nflows--;
			return;
		}
}

static void flow_free(struct lflow *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->items[i].text);
	free(f->items);
	free(f);
}

/* A diagram item (kept for --diagram only). Returns it, or NULL. */
static struct item *item_add(struct sg_ladder *l, struct lflow *f, int kind, int side, __u64 t, const char *text)
{
	struct item *it;

	if (!l->cfg.diagram_dir)
		return NULL;
	if (f->n >= (size_t)l->max + ITEMS_EXTRA) {
		f->items_dropped++;
		return NULL;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		struct item *p = realloc(f->items, cap * sizeof(*p));

		if (!p) {
			f->items_dropped++;
			return NULL;
		}
		f->items = p;
		f->cap = cap;
	}
	it = &f->items[f->n];
	memset(it, 0, sizeof(*it));
	it->text = strdup(text ? text : "");
	if (!it->text) {
		f->items_dropped++;
		return NULL;
	}
	it->kind = kind;
	it->side = side;
	it->t_ns = t;
	f->n++;
	return it;
}

static void endpoint_str(__u8 family, const __u32 *a, __u16 port, char *buf, size_t len)
{
	char s[64];

	sg_format_addr(family, a, s, sizeof(s));
	snprintf(buf, len, family == 6 ? "[%s]:%u" : "%s:%u", s, port);
}

/* "+0.041": ms since the flow's first segment; seconds past 100 s. */
static void time_str(__u64 ns, char *buf, size_t len)
{
	if (ns < 100000000000ull)
		snprintf(buf, len, "+%.3f", ns / 1e6);
	else
		snprintf(buf, len, "+%.1fs", ns / 1e9);
}

static void flags_str(__u8 f, char *buf, size_t len)
{
	static const struct {
		__u8 bit;
		const char *name;
	} names[] = { { SG_TCP_FIN, "FIN" }, { SG_TCP_SYN, "SYN" }, { SG_TCP_RST, "RST" }, { SG_TCP_PSH, "PSH" },
		      { SG_TCP_ACK, "ACK" }, { SG_TCP_URG, "URG" }, { SG_TCP_ECE, "ECE" }, { SG_TCP_CWR, "CWR" } };
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit)
			n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "", names[i].name);
	if (!n)
		snprintf(buf, len, "none");
}

/* One output line: id, time, the client's state, the area, the server's state. */
static void put_line(struct sg_ladder *l, const struct lflow *f, const char *t, const char *cst, const char *area,
		     const char *area_color, const char *sst)
{
	char line[1024], id[16];
	int n;

	snprintf(id, sizeof(id), "f%d", f->id);
	if (l->color)
		n = snprintf(line, sizeof(line), "%-*s %*s %s%-*s%s %s%s%s %s%s%s", ID_W, id, TIME_W, t,
			     cst[0] ? C_BOLD C_GREEN : "", STATE_W, cst, cst[0] ? C_RESET : "",
			     area_color ? area_color : "", area, area_color ? C_RESET : "", sst[0] ? C_BOLD C_GREEN : "",
			     sst, sst[0] ? C_RESET : "");
	else
		n = snprintf(line, sizeof(line), "%-*s %*s %-*s %s %s", ID_W, id, TIME_W, t, STATE_W, cst, area, sst);
	if (n < 0)
		return;
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	while (n > 0 && line[n - 1] == ' ')	/* no trailing blanks */
		n--;
	line[n++] = '\n';
	sg_out_write(l->out, line, n);
}

/* A free-form line of a flow (header, end), cut at LINE_COLS. */
static void put_text(struct sg_ladder *l, const struct lflow *f, const char *color, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void put_text(struct sg_ladder *l, const struct lflow *f, const char *color, const char *fmt, ...)
{
	char text[512], line[640], id[16];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(id, sizeof(id), "f%d", f->id);
	if ((int)strlen(text) > LINE_COLS - ID_W - 1)
		text[LINE_COLS - ID_W - 1] = '\0';
	if (l->color && color)
		n = snprintf(line, sizeof(line), "%-*s %s%s%s\n", ID_W, id, color, text, C_RESET);
	else
		n = snprintf(line, sizeof(line), "%-*s %s\n", ID_W, id, text);
	if (n > 0)
		sg_out_write(l->out, line, n < (int)sizeof(line) ? n : (int)sizeof(line) - 1);
}

/* The area with an arrow carrying label (at most LABEL_W). */
static void area_arrow(char *a, int from_client, const char *label)
{
	int len = strlen(label), start;

	if (len > LABEL_W)
		len = LABEL_W;
	memset(a, '-', AREA_W);
	a[0] = '|';
	a[AREA_W - 1] = '|';
	a[AREA_W] = '\0';
	if (from_client) {		/* |-- label ------->| */
		a[AREA_W - 2] = '>';
		start = 4;
	} else {			/* |<------- label --| */
		a[1] = '<';
		start = AREA_W - 4 - len;
	}
	a[start - 1] = ' ';
	memcpy(a + start, label, len);
	a[start + len] = ' ';
}

/* The area with text between the lifelines, near the given side. */
static void area_text(char *a, int side, const char *text)
{
	int len = strlen(text), start;

	if (len > INNER_W - 4)
		len = INNER_W - 4;
	memset(a, ' ', AREA_W);
	a[0] = '|';
	a[AREA_W - 1] = '|';
	a[AREA_W] = '\0';
	if (side == SG_SIDE_SERVER)
		start = AREA_W - 3 - len;
	else if (side == SG_SIDE_CLIENT)
		start = 3;
	else
		start = (AREA_W - len) / 2;
	memcpy(a + start, text, len);
}

/* Split text at a blank so that the first part fits width: returns its
 * length; *rest points after the blank (or at the end). */
static int split_at(const char *text, int width, const char **rest)
{
	int len = strlen(text), cut;

	if (len <= width) {
		*rest = text + len;
		return len;
	}
	for (cut = width; cut > 0 && text[cut] != ' '; cut--)
		;
	if (cut == 0)
		cut = width;
	*rest = text + cut + (text[cut] == ' ');
	return cut;
}

static void area_lines(struct sg_ladder *l, const struct lflow *f, int side, const char *text, const char *color)
{
	char a[AREA_W + 1], part[AREA_W + 1];
	const char *rest;

	while (*text) {
		int n = split_at(text, INNER_W - 4, &rest);

		memcpy(part, text, n);
		part[n] = '\0';
		area_text(a, side, part);
		put_line(l, f, "", "", a, color, "");
		text = rest;
	}
}

static const char *cause_note(__u8 cause)
{
	switch (cause) {
	case SG_CAUSE_TIMEOUT:
		return "timer";
	case SG_CAUSE_REUSE:
		return "4-tuple reused";
	case SG_CAUSE_COOKIE:
		return "SYN cookie";
	case SG_CAUSE_MIDSTREAM:
		return "picked up mid-stream";
	default:
		return NULL;
	}
}

/* A state line for side s entering 'to' (with an annotation for the causes
 * no arrow shows). */
static void put_state(struct sg_ladder *l, struct lflow *f, int s, __u8 to, __u8 cause, __u64 t, bool timed)
{
	char a[AREA_W + 1], ts[32] = "", txt[64];
	const char *why = cause_note(cause);

	if (timed)
		time_str(t, ts, sizeof(ts));
	area_text(a, s, why ? why : "");
	if (!l->terminal) {
		/* --diagram only */
	} else if (why && l->color) {
		/* (the annotation dim: put_line colours the whole area) */
		put_line(l, f, ts, s == SG_SIDE_CLIENT ? sg_state_name(to) : "", a, C_DIM,
			 s == SG_SIDE_SERVER ? sg_state_name(to) : "");
	} else {
		put_line(l, f, ts, s == SG_SIDE_CLIENT ? sg_state_name(to) : "", a, NULL,
			 s == SG_SIDE_SERVER ? sg_state_name(to) : "");
	}
	snprintf(txt, sizeof(txt), why ? "%s (%s)" : "%s", sg_state_name(to), why);
	item_add(l, f, IT_STATE, s, t, txt);
}

/* Segments the flow's counters say were not drawn since the last record:
 * said on the ladder where they were. */
static void put_gap(struct sg_ladder *l, struct lflow *f, const __u32 *pkts, const __u32 *bytes, int this_seg,
		    __u32 this_len, __u64 t)
{
	__u64 had = (__u64)f->pkts[0] + f->pkts[1], now = (__u64)pkts[0] + pkts[1];
	__u64 hadb = (__u64)f->bytes[0] + f->bytes[1], nowb = (__u64)bytes[0] + bytes[1];
	__u64 miss, missb;
	char a[AREA_W + 1], txt[128], dur[32];

	/* (f->pkts start at 0: a flow's first record may come after segments
	 * it was not sent for, a handshake summarised during a SYN flood) */
	if (now <= had + this_seg) {
		if (!f->counts || now >= had) {
			memcpy(f->pkts, pkts, sizeof(f->pkts));
			memcpy(f->bytes, bytes, sizeof(f->bytes));
		}
		f->counts = true;
		return;
	}
	miss = now - had - this_seg;
	missb = nowb > hadb + this_len ? nowb - hadb - this_len : 0;
	memcpy(f->pkts, pkts, sizeof(f->pkts));
	memcpy(f->bytes, bytes, sizeof(f->bytes));
	f->skipped += miss;
	if (!f->counts) {
		snprintf(txt, sizeof(txt), "%llu earlier segment%s, %llu bytes not shown", (unsigned long long)miss,
			 miss == 1 ? "" : "s", (unsigned long long)missb);
	} else {
		time_str(t > f->last_ts - f->first_ts ? t - (f->last_ts - f->first_ts) : 0, dur, sizeof(dur));
		snprintf(txt, sizeof(txt), "%llu segment%s, %llu bytes not shown (%s ms)", (unsigned long long)miss,
			 miss == 1 ? "" : "s", (unsigned long long)missb, dur + 1);
	}
	f->counts = true;
	if (l->terminal) {
		char dots[160];

		snprintf(dots, sizeof(dots), "... %s ...", txt);
		area_text(a, -1, dots);
		put_line(l, f, "", "", a, C_DIM, "");
	}
	item_add(l, f, IT_GAP, 0, t, txt);
}

static void write_diagram(struct sg_ladder *l, struct lflow *f, const char *end);

/* The flow is over (or the run is): its end line, its diagram, gone. */
static void flow_end(struct sg_ladder *l, struct lflow *f, const char *why)
{
	char tot[160];

	snprintf(tot, sizeof(tot), "%u/%u segments, %u/%u bytes (client/server)", f->pkts[0], f->pkts[1],
		 f->bytes[0], f->bytes[1]);
	if (l->terminal) {
		if (f->skipped)
			put_text(l, f, C_BLUE, "%s; %s, %llu not drawn", why, tot, (unsigned long long)f->skipped);
		else
			put_text(l, f, C_BLUE, "%s; %s", why, tot);
	}
	write_diagram(l, f, why);
	flow_unlink(l, f);
	flow_free(f);
}

static bool flow_over(const struct lflow *f)
{
	return f->state[SG_SIDE_CLIENT] == SG_CLOSED &&
	       (f->state[SG_SIDE_SERVER] == SG_CLOSED || f->state[SG_SIDE_SERVER] == SG_LISTEN);
}

static const char *closer_str(__u8 c)
{
	static const char *const n[] = { "closed", "closed by the client (FIN)", "closed by the server (FIN)",
					 "aborted by the client (RST)", "aborted by the server (RST)",
					 "closed by a timer" };

	return c < sizeof(n) / sizeof(n[0]) ? n[c] : "closed";
}

static struct lflow *flow_new(struct sg_ladder *l, const struct sg_seg_event *r)
{
	struct lflow *f;
	unsigned int h;

	/* (counted once per flow: at its first record, the one that opened it) */
	bool first = r->ntr && r->tr[0].from == SG_CLOSED;

	if (l->nflows >= MAX_FLOWS) {
		l->flows_not_drawn += first;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		l->flows_not_drawn += first;
		return NULL;
	}
	f->id = ++l->next_id % 1000;
	f->family = r->family;
	memcpy(f->caddr, r->caddr, 16);
	memcpy(f->saddr, r->saddr, 16);
	f->cport = r->cport;
	f->sport = r->sport;
	f->start_ns = r->start_ns;
	f->first_ts = r->ts_ns;
	f->last_ts = r->ts_ns;
	h = flow_hash(f->family, f->caddr, f->saddr, f->cport, f->sport);
	f->next = l->hash[h];
	l->hash[h] = f;
	l->nflows++;
	l->flows_drawn++;
	return f;
}

/* The header of a new flow and each side's state before its first segment. */
static void flow_start(struct sg_ladder *l, struct lflow *f, const struct sg_seg_event *r)
{
	char c[80], s[80], ts[48] = "";
	__u8 init[2];

	endpoint_str(f->family, f->caddr, f->cport, c, sizeof(c));
	endpoint_str(f->family, f->saddr, f->sport, s, sizeof(s));
	if (l->terminal) {
		sg_out_time(l->out, r->ts_ns, ts, sizeof(ts));
		put_text(l, f, C_BLUE, "%s%sclient %s  <->  server %s", ts, ts[0] ? " " : "", c, s);
	}
	for (int side = 0; side < 2; side++) {
		init[side] = r->state[side];
		for (int i = r->ntr - 1; i >= 0; i--)
			if (r->tr[i].side == side)
				init[side] = r->tr[i].from;
		f->state[side] = init[side];
	}
	if (l->terminal)
		put_line(l, f, "", sg_state_name(init[0]), "|                                                        |",
			 NULL, sg_state_name(init[1]));
	item_add(l, f, IT_STATE, SG_SIDE_CLIENT, 0, sg_state_name(init[0]));
	item_add(l, f, IT_STATE, SG_SIDE_SERVER, 0, sg_state_name(init[1]));
}

/* What a retransmission from side x of [seq, end) shows was lost: the
 * earlier copy, unless the peer acknowledged it after that copy (then the
 * acknowledgement was). Marks the item; returns it, or NULL. */
static struct item *judge_lost(struct lflow *f, int x, __u32 seq, __u32 end)
{
	struct item *prev = NULL;
	ssize_t i, p = -1;

	for (i = (ssize_t)f->n - 1; i >= 0; i--) {
		struct item *it = &f->items[i];

		if (it->kind == IT_ARROW && it->side == x && it->seq == seq && it->end == end) {
			prev = it;
			p = i;
			break;
		}
	}
	if (!prev)
		return NULL;
	/* the peer retransmitted since: this may answer it (a SYN-ACK sent
	 * again for a SYN received again), no timeout, nothing judged */
	for (i = p + 1; i < (ssize_t)f->n; i++)
		if (f->items[i].kind == IT_ARROW && f->items[i].side != x && f->items[i].retrans)
			return NULL;
	for (i = p + 1; i < (ssize_t)f->n; i++) {
		struct item *it = &f->items[i];

		if (it->kind == IT_ARROW && it->side != x && it->ack_flag && (__s32)(it->ack - end) >= 0) {
			if (it->lost)
				return NULL;	/* said already */
			it->lost = 1;
			return it;
		}
	}
	if (prev->lost)
		return NULL;
	prev->lost = 1;
	return prev;
}

/* Lightweight arrow memory for the terminal-only case (no diagram items):
 * the judgement needs the earlier arrows, so they are kept as items with
 * an empty text. */
static struct item *arrow_item(struct sg_ladder *l, struct lflow *f, int x, __u64 t, const char *label)
{
	struct item *it;

	if (l->cfg.diagram_dir)
		return item_add(l, f, IT_ARROW, x, t, label);
	if (f->n >= (size_t)l->max + ITEMS_EXTRA)
		return NULL;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		struct item *p = realloc(f->items, cap * sizeof(*p));

		if (!p)
			return NULL;
		f->items = p;
		f->cap = cap;
	}
	it = &f->items[f->n++];
	memset(it, 0, sizeof(*it));
	it->kind = IT_ARROW;
	it->side = x;
	it->t_ns = t;
	return it;
}

static void opts_str(const struct sg_seg_event *r, struct sg_syn_opts *o, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	memset(o, 0, sizeof(*o));
	if (!r->optlen)
		return;
	if (sg_syn_opts_parse(r->opts, r->optlen > SG_LADDER_OPT_MAX ? SG_LADDER_OPT_MAX : r->optlen, o))
		n += snprintf(buf + n, n < len ? len - n : 0, "malformed options ");
#define ADD(...) (n += snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__))
	if (o->mss)
		ADD("mss=%u ", o->mss);
	if (o->sack_ok)
		ADD("sack ");
	if (o->has_ts)
		ADD("ts ");
	if (o->has_ws)
		ADD("ws=%u ", o->wscale);
	if (o->tfo)
		ADD("tfo ");
#undef ADD
	if (n && n < len && buf[n - 1] == ' ')
		buf[n - 1] = '\0';
}

static void on_record(struct sg_ladder *l, const struct sg_seg_event *r)
{
	struct lflow *f = flow_find(l, r->family, r->caddr, r->saddr, r->cport, r->sport);
	int x = r->from_client ? SG_SIDE_CLIENT : SG_SIDE_SERVER, y = x ^ 1;
	char flags[48], label[160], opts[80], ts[32], a[AREA_W + 1], note[128];
	const char *rest, *acolor;
	struct sg_syn_opts o;
	struct item *it, *lost = NULL;
	__u32 rseq, rack, rend, win;
	int first_c = -1, first_s = -1, cut;
	__u64 t;

	l->records++;
	if (f && f->start_ns != r->start_ns) {
		/* the 4-tuple started over (reuse) while drawn: the old one ends */
		flow_end(l, f, (r->verdict & SG_LV_NEW_SYN) ? "4-tuple reused by a new connection"
							    : "flow restarted");
		f = NULL;
	}
	if (!f) {
		f = flow_new(l, r);
		if (!f)
			return;
		flow_start(l, f, r);
	}
	t = r->ts_ns > f->first_ts ? r->ts_ns - f->first_ts : 0;
	put_gap(l, f, r->pkts, r->bytes, 1, r->len, t);
	f->last_ts = r->ts_ns > f->last_ts ? r->ts_ns : f->last_ts;

	/* relative numbers: each side's ISN (the tracker's when it knows it,
	 * else as Wireshark: a first segment without SYN as if after one) */
	for (int s = 0; s < 2; s++)
		if (r->isn_known & (1u << s)) {
			f->base[s] = r->isn[s];
			f->base_known |= 1u << s;
		}
	if (!(f->base_known & (1u << x))) {
		f->base[x] = (r->tcp_flags & SG_TCP_SYN) ? r->seq : r->seq - 1;
		f->base_known |= 1u << x;
	}
	if ((r->tcp_flags & SG_TCP_ACK) && !(f->base_known & (1u << y))) {
		f->base[y] = r->ack - 1;
		f->base_known |= 1u << y;
	}
	rseq = r->seq - f->base[x];
	rack = r->ack - f->base[y];
	rend = rseq + r->len + !!(r->tcp_flags & SG_TCP_SYN) + !!(r->tcp_flags & SG_TCP_FIN);

	opts_str(r, &o, opts, sizeof(opts));
	if (r->tcp_flags & SG_TCP_SYN) {
		f->ws_seen |= 1u << x;
		f->ws[x] = o.has_ws ? o.wscale : 0;
		if (o.has_ws)
			f->ws_seen |= 4u << x;
	}
	win = r->win;
	if (!(r->tcp_flags & SG_TCP_SYN) && (f->ws_seen & 0xf) == 0xf)
		win <<= f->ws[x];

	flags_str(r->tcp_flags, flags, sizeof(flags));
	cut = snprintf(label, sizeof(label), "%s seq=%u", flags, rseq);
	if (r->tcp_flags & SG_TCP_ACK)
		cut += snprintf(label + cut, sizeof(label) - cut, " ack=%u", rack);
	cut += snprintf(label + cut, sizeof(label) - cut, " win=%u len=%u", win, r->len);
	if (r->verdict & SG_LV_RETRANS)
		snprintf(label + cut, sizeof(label) - cut, " RETRANS");
	else if (r->verdict & SG_LV_RST_IGNORED)
		snprintf(label + cut, sizeof(label) - cut, " IGNORED");

	/* the lost judgement before this arrow joins the items */
	note[0] = '\0';
	if (r->verdict & SG_LV_RETRANS) {
		lost = judge_lost(f, x, rseq, rend);
		if (lost) {
			char lf[48], lt[32];

			flags_str(lost->syn ? (SG_TCP_SYN | (lost->ack_flag ? SG_TCP_ACK : 0)) : 0, lf, sizeof(lf));
			time_str(lost->t_ns, lt, sizeof(lt));
			snprintf(note, sizeof(note), "^ so the %s at %s ms is taken as lost",
				 lost->syn ? lf : lost->side == x ? "first copy" : "acknowledgement", lt);
		}
	}
	if (r->verdict & SG_LV_RST_IGNORED)
		snprintf(note, sizeof(note), "^ RST not at the sender's next seq: changes nothing");

	{
		char full[256];

		snprintf(full, sizeof(full), "%s%s%s", label, opts[0] ? "\n" : "", opts);
		it = arrow_item(l, f, x, t, full);
	}
	if (it) {
		it->seq = rseq;
		it->end = rend;
		it->ack = rack;
		it->ack_flag = !!(r->tcp_flags & SG_TCP_ACK);
		it->syn = !!(r->tcp_flags & SG_TCP_SYN);
		it->retrans = !!(r->verdict & SG_LV_RETRANS);
		it->lost = 0;
	}

	/* the first transition of each side goes on the arrow's line */
	for (int i = 0; i < r->ntr && i < SG_FSM_MAX_TR; i++) {
		if (r->tr[i].side == SG_SIDE_CLIENT && first_c < 0)
			first_c = i;
		if (r->tr[i].side == SG_SIDE_SERVER && first_s < 0)
			first_s = i;
	}
	if (l->terminal) {
		int len = split_at(label, LABEL_W, &rest);
		char head[LABEL_W + 1];

		memcpy(head, label, len);
		head[len] = '\0';
		area_arrow(a, x == SG_SIDE_CLIENT, head);
		time_str(t, ts, sizeof(ts));
		acolor = (r->tcp_flags & SG_TCP_RST) ? C_RED
			 : (r->verdict & (SG_LV_RETRANS | SG_LV_RST_IGNORED)) ? C_YELLOW
			 : x == SG_SIDE_CLIENT ? C_CYAN : C_MAGENTA;
		put_line(l, f, ts, first_c >= 0 ? sg_state_name(r->tr[first_c].to) : "", a, acolor,
			 first_s >= 0 ? sg_state_name(r->tr[first_s].to) : "");
		if (*rest)
			area_lines(l, f, x, rest, acolor);
		if (opts[0])
			area_lines(l, f, x, opts, NULL);
	}
	for (int i = 0; i < r->ntr && i < SG_FSM_MAX_TR; i++) {
		const struct sg_tr *tr = &r->tr[i];
		const char *why = cause_note(tr->cause);
		char txt[64];

		if (tr->side > 1)
			continue;
		if (l->terminal && i != first_c && i != first_s)
			put_state(l, f, tr->side, tr->to, tr->cause, t, false);
		else {
			snprintf(txt, sizeof(txt), why ? "%s (%s)" : "%s", sg_state_name(tr->to), why);
			item_add(l, f, IT_STATE, tr->side, t, txt);
		}
		if (tr->to == SG_CLOSED && tr->closer)
			f->closer = tr->closer;
	}
	if (note[0]) {
		if (l->terminal)
			area_lines(l, f, x, note, C_YELLOW);
		/* the diagram's note stands apart: "retransmission: the SYN at ..." */
		if (!strncmp(note, "^ so ", 5)) {
			char dn[160];

			snprintf(dn, sizeof(dn), "retransmission: %s", note + 5);
			item_add(l, f, IT_NOTE, x, t, dn);
		} else {
			item_add(l, f, IT_NOTE, x, t, note + 2);	/* without the "^ " */
		}
	}
	f->state[0] = r->state[0];
	f->state[1] = r->state[1];
	if (r->closer)
		f->closer = r->closer;
	if (flow_over(f))
		flow_end(l, f, closer_str(f->closer));
}

int sg_ladder_record(struct sg_ladder *l, const struct sg_seg_event *r)
{
	pthread_mutex_lock(&l->lock);
	on_record(l, r);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static int ring_cb(void *ctx, void *data, size_t len)
{
	if (len >= sizeof(struct sg_seg_event))
		sg_ladder_record(ctx, data);
	return 0;
}

/* The tap: every event before it is printed. Timer transitions go on the
 * ladder (the segments' own come with their records); with --ladder, the
 * state lines give way to the ladders. */
bool sg_ladder_event(struct sg_ladder *l, const struct sg_event *e)
{
	struct lflow *f;

	if (e->type != SG_EV_STATE)
		return false;
	if (e->cause == SG_CAUSE_TIMEOUT && e->side <= 1) {
		pthread_mutex_lock(&l->lock);
		f = flow_find(l, e->family, e->saddr, e->daddr, e->sport, e->dport);
		if (f) {
			__u64 t = e->ts_ns > f->first_ts ? e->ts_ns - f->first_ts : 0;

			put_gap(l, f, e->pkts, e->bytes, 0, 0, t);
			put_state(l, f, e->side, e->to, e->cause, t, true);
			f->state[e->side] = e->to;
			if (e->to == SG_CLOSED && e->closer)
				f->closer = e->closer;
			if (flow_over(f))
				flow_end(l, f, closer_str(f->closer));
		}
		pthread_mutex_unlock(&l->lock);
	}
	return l->terminal;
}

static bool tap(void *ctx, const struct sg_event *e)
{
	return sg_ladder_event(ctx, e);
}

/* ---- diagrams --------------------------------------------------------- */

/* "10.210.0.2_40112-10.210.0.1_8090-20261129T034001.123456Z" */
static void diagram_name(struct sg_ladder *l, const struct lflow *f, char *buf, size_t len)
{
	char c[64], s[64], when[80];
	__u64 wall = f->first_ts + l->boot_offset;
	time_t sec = wall / 1000000000ull;
	struct tm tm;

	sg_format_addr(f->family, f->caddr, c, sizeof(c));
	sg_format_addr(f->family, f->saddr, s, sizeof(s));
	for (char *p = c; *p; p++)
		if (*p == ':')
			*p = '-';
	for (char *p = s; *p; p++)
		if (*p == ':')
			*p = '-';
	gmtime_r(&sec, &tm);
	snprintf(when, sizeof(when), "%04d%02d%02dT%02d%02d%02d.%06lluZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned long long)(wall % 1000000000ull) / 1000);
	snprintf(buf, len, "%s_%u-%s_%u-%s", c, f->cport, s, f->sport, when);
}

/* Text for a diagram: no characters the format would read as syntax. */
static void diag_text(FILE *o, const char *t, bool mermaid)
{
	for (; *t; t++) {
		if (*t == '\n')
			fputs(mermaid ? "<br/>" : "\\n", o);
		else if (mermaid && (*t == ';' || *t == '#'))
			fputc(',', o);
		else
			fputc(*t, o);
	}
}

static void write_plantuml(struct sg_ladder *l, const struct lflow *f, FILE *o, const char *c, const char *s,
			   const char *end)
{
	char ts[32];

	(void)l;
	fprintf(o, "@startuml\n");
	fprintf(o, "title TCP %s -> %s (synguard ladder)\n", c, s);
	fprintf(o, "participant \"Client\\n%s\" as Client\n", c);
	fprintf(o, "participant \"Server\\n%s\" as Server\n", s);
	for (size_t i = 0, paired = 0; i < f->n; i++) {
		const struct item *it = &f->items[i];
		const char *who = it->side == SG_SIDE_CLIENT ? "Client" : "Server";
		const struct item *prev = i ? &f->items[i - 1] : NULL;

		switch (it->kind) {
		case IT_ARROW:
			time_str(it->t_ns, ts, sizeof(ts));
			fprintf(o, "%s %s %s: %s ms ", who, it->lost ? "->x" : "->",
				it->side == SG_SIDE_CLIENT ? "Server" : "Client", ts);
			diag_text(o, it->text, false);
			fprintf(o, "%s\n", it->lost ? "\\n(lost)" : "");
			break;
		case IT_STATE:
			/* the two sides' notes of one moment side by side ("/ note") */
			paired = !paired && prev && prev->kind == IT_STATE && prev->side != it->side &&
				 prev->t_ns == it->t_ns;
			fprintf(o, "%snote %s of %s: ", paired ? "/ " : "", it->side == SG_SIDE_CLIENT ? "left" : "right",
				who);
			diag_text(o, it->text, false);
			fputc('\n', o);
			continue;
		case IT_GAP:
			fprintf(o, "...");
			diag_text(o, it->text, false);
			fprintf(o, "...\n");
			break;
		case IT_NOTE:
			fprintf(o, "note over Client, Server: ");
			diag_text(o, it->text, false);
			fputc('\n', o);
			break;
		}
	}
	if (f->items_dropped)
		fprintf(o, "...%llu more items not kept (--ladder-max)...\n", (unsigned long long)f->items_dropped);
	fprintf(o, "note over Client, Server: %s\n", end);
	fprintf(o, "@enduml\n");
}

static void write_mermaid(struct sg_ladder *l, const struct lflow *f, FILE *o, const char *c, const char *s,
			  const char *end)
{
	char ts[32];

	(void)l;
	fprintf(o, "sequenceDiagram\n");
	fprintf(o, "    participant Client as Client ");
	diag_text(o, c, true);
	fprintf(o, "\n    participant Server as Server ");
	diag_text(o, s, true);
	fputc('\n', o);
	for (size_t i = 0; i < f->n; i++) {
		const struct item *it = &f->items[i];
		const char *who = it->side == SG_SIDE_CLIENT ? "Client" : "Server";

		switch (it->kind) {
		case IT_ARROW:
			time_str(it->t_ns, ts, sizeof(ts));
			fprintf(o, "    %s%s%s: %s ms ", who, it->lost ? "-x" : "->>",
				it->side == SG_SIDE_CLIENT ? "Server" : "Client", ts);
			diag_text(o, it->text, true);
			fprintf(o, "%s\n", it->lost ? "<br/>(lost)" : "");
			break;
		case IT_STATE:
			fprintf(o, "    Note %s of %s: ", it->side == SG_SIDE_CLIENT ? "left" : "right", who);
			diag_text(o, it->text, true);
			fputc('\n', o);
			break;
		case IT_GAP:
			fprintf(o, "    Note over Client,Server: ... ");
			diag_text(o, it->text, true);
			fprintf(o, " ...\n");
			break;
		case IT_NOTE:
			fprintf(o, "    Note over Client,Server: ");
			diag_text(o, it->text, true);
			fputc('\n', o);
			break;
		}
	}
	if (f->items_dropped)
		fprintf(o, "    Note over Client,Server: ... %llu more items not kept (--ladder-max) ...\n",
			(unsigned long long)f->items_dropped);
	fprintf(o, "    Note over Client,Server: %s\n", end);
}

static void write_diagram(struct sg_ladder *l, struct lflow *f, const char *end)
{
	bool mermaid = l->cfg.diagram_fmt == SG_DIAGRAM_MERMAID;
	char name[256], path[4096], tmp[4200], c[80], s[80];
	FILE *o;

	if (!l->cfg.diagram_dir)
		return;
	diagram_name(l, f, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s.%s", l->cfg.diagram_dir, name, mermaid ? "mmd" : "puml");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	endpoint_str(f->family, f->caddr, f->cport, c, sizeof(c));
	endpoint_str(f->family, f->saddr, f->sport, s, sizeof(s));
	o = fopen(tmp, "w");
	if (!o) {
		if (!l->diagram_errors++)
			fprintf(stderr, "synguard: cannot write %s: %s\n", tmp, strerror(errno));
		return;
	}
	if (mermaid)
		write_mermaid(l, f, o, c, s, end);
	else
		write_plantuml(l, f, o, c, s, end);
	if (fclose(o) || rename(tmp, path)) {
		if (!l->diagram_errors++)
			fprintf(stderr, "synguard: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return;
	}
	l->diagrams++;
	if (l->terminal)
		put_text(l, f, C_DIM, "diagram: %s.%s", name, mermaid ? "mmd" : "puml");	/* in --diagram DIR */
}

/* ---- the object ------------------------------------------------------- */

struct sg_ladder *sg_ladder_new_bare(const struct sg_config *cfg, struct sg_out *out, bool color)
{
	struct sg_ladder *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	pthread_mutex_init(&l->lock, NULL);
	l->out = out;
	l->cfg = cfg->ladder;
	l->terminal = cfg->ladder.on;
	l->json = cfg->json;
	l->color = color;
	l->stats_fd = -1;
	l->max = cfg->ladder.max ? cfg->ladder.max : SG_LADDER_MAX_DEFAULT;
	l->boot_offset = sg_boot_offset_ns();
	return l;
}

struct sg_ladder *sg_ladder_new(const struct sg_config *cfg, struct synguard_bpf *skel, struct ring_buffer *rb,
				struct sg_out *out, int *err)
{
	struct sg_ladder *l;
	const char *nc = getenv("NO_COLOR");
	bool color;

	*err = 0;
	if (!sg_ladder_wanted(cfg))
		return NULL;
	if (cfg->ladder.diagram_dir) {
		struct stat st;

		if (mkdir(cfg->ladder.diagram_dir, 0755) && errno != EEXIST) {
			*err = -errno;
			fprintf(stderr, "synguard: --diagram %s: %s\n", cfg->ladder.diagram_dir, strerror(errno));
			return NULL;
		}
		if (stat(cfg->ladder.diagram_dir, &st) || !S_ISDIR(st.st_mode) ||
		    access(cfg->ladder.diagram_dir, W_OK | X_OK)) {
			*err = -ENOTDIR;
			fprintf(stderr, "synguard: --diagram %s: not a writable directory\n", cfg->ladder.diagram_dir);
			return NULL;
		}
	}
	color = cfg->ladder.on && !cfg->ladder.no_color && !(nc && *nc) && isatty(STDOUT_FILENO);
	l = sg_ladder_new_bare(cfg, out, color);
	if (!l) {
		*err = -ENOMEM;
		return NULL;
	}
	l->stats_fd = bpf_map__fd(skel->maps.sg_ladder_stats);
	*err = ring_buffer__add(rb, bpf_map__fd(skel->maps.sg_ladder), ring_cb, l);
	if (*err) {
		fprintf(stderr, "synguard: ladder ring buffer setup failed: %s\n", strerror(-*err));
		sg_ladder_free(l);
		return NULL;
	}
	sg_out_set_tap(out, tap, l);
	return l;
}

static void read_stats(struct sg_ladder *l, struct sg_ladder_stats *tot)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sg_ladder_stats *v;
	__u32 zero = 0;

	memset(tot, 0, sizeof(*tot));
	if (l->stats_fd < 0 || ncpu <= 0)
		return;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return;
	if (!bpf_map_lookup_elem(l->stats_fd, &zero, v))
		for (int i = 0; i < ncpu; i++) {
			tot->sent += v[i].sent;
			tot->capped += v[i].capped;
			tot->lost += v[i].lost;
		}
	free(v);
}

void sg_ladder_finish(struct sg_ladder *l)
{
	struct sg_ladder_stats st;
	char why[96];

	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	for (int h = 0; h < 256; h++)
		while (l->hash[h]) {
			struct lflow *f = l->hash[h];

			snprintf(why, sizeof(why), "still open at exit (client %s, server %s)",
				 sg_state_name(f->state[0]), sg_state_name(f->state[1]));
			flow_end(l, f, why);
		}
	read_stats(l, &st);
	if (l->json) {
		char buf[512];
		struct sg_json j;

		sg_out_record_begin(l->out, &j, buf, sizeof(buf), "ladder_summary", 0);
		sg_json_u64(&j, "flows", l->flows_drawn);
		sg_json_u64(&j, "flows_not_drawn", l->flows_not_drawn);
		sg_json_u64(&j, "records", l->records);
		sg_json_u64(&j, "over_rate", st.capped);
		sg_json_u64(&j, "lost", st.lost);
		sg_json_u64(&j, "diagrams", l->diagrams);
		sg_out_record_end(l->out, &j);
	} else {
		/* (not drawn: more than MAX_FLOWS open at once) */
		sg_out_text(l->out,
			    "ladder: %llu flows drawn, %llu segment records, %llu over --ladder-rate, %llu lost, "
			    "%llu flows not drawn, %llu diagrams",
			    (unsigned long long)l->flows_drawn, (unsigned long long)l->records,
			    (unsigned long long)st.capped, (unsigned long long)st.lost,
			    (unsigned long long)l->flows_not_drawn, (unsigned long long)l->diagrams);
	}
	pthread_mutex_unlock(&l->lock);
	sg_out_flush(l->out);
}

void sg_ladder_free(struct sg_ladder *l)
{
	if (!l)
		return;
	sg_out_set_tap(l->out, NULL, NULL);
	for (int h = 0; h < 256; h++)
		while (l->hash[h]) {
			struct lflow *f = l->hash[h];

			l->hash[h] = f->next;
			flow_free(f);
		}
	pthread_mutex_destroy(&l->lock);
	free(l);
}
