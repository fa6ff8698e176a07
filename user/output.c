// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * output.c - events as console lines or JSON objects (the client is always
 * on the left: saddr/sport; states, causes and sides spelled as in
 * synguard.h's enums), and the output object every module writes through:
 * one line per write, whichever thread writes it; events counted by type;
 * lines a failed write lost counted, never silent.
 */
#define _GNU_SOURCE	/* memrchr() */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "sg_user.h"
#include "json.h"
#include "output.h"

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
	default: {
		/* localtime_r() once per second and thread, as gmtime_r() above */
		static __thread time_t last = -1;
		static __thread char hms[16];

		if (sec != last) {
			localtime_r(&sec, &tm);
			snprintf(hms, sizeof(hms), "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
			last = sec;
		}
		if (len < 16)
			return snprintf(buf, len, "%s.%06lu", hms, usec);
		memcpy(buf, hms, 8);
		buf[8] = '.';
		for (int i = 5; i >= 0; i--, usec /= 10)
			buf[9 + i] = '0' + usec % 10;
		buf[15] = '\0';
		return 15;
	}
	}
}

static const char *closer_name(unsigned int c)
{
	static const char *const n[] = { "", "client FIN", "server FIN", "client RST", "server RST",
					 "timeout" };
	return c < sizeof(n) / sizeof(n[0]) ? n[c] : "?";
}

/* "10.0.0.2:51234" or "[fd00::2]:51234" (len >= INET6_ADDRSTRLEN + 8) */
static void endpoint(__u8 family, const __u32 *addr, __u16 port, char *buf, size_t len)
{
	char *p = buf;

	if (family == 6)
		*p++ = '[';
	sg_format_addr(family, addr, p, len - 8);
	p += strlen(p);
	if (family == 6)
		*p++ = ']';
	*p++ = ':';
	p = put_dec(p, port);
	*p = '\0';
}

/* The flow an event is about: client (s) and server (d), and the side. */
static void json_flow(struct sg_json *j, const struct sg_event *e)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];

	sg_format_addr(e->family, e->saddr, sa, sizeof(sa));
	sg_format_addr(e->family, e->daddr, da, sizeof(da));
	sg_json_u64(j, "family", e->family);
	sg_json_str(j, "saddr", sa);
	sg_json_u64(j, "sport", e->sport);
	sg_json_str(j, "daddr", da);
	sg_json_u64(j, "dport", e->dport);
	sg_json_str(j, "side", sg_side_name(e->side));
}

static int format_json(const struct sg_event *e, const char *ts, char *buf, size_t len)
{
	struct sg_json j;

	sg_json_begin(&j, buf, len);
	sg_json_str(&j, "ts", ts);
	switch (e->type) {
	case SG_EV_STATE:
		sg_json_str(&j, "type", "state");
		json_flow(&j, e);
		sg_json_str(&j, "from", sg_state_name(e->from));
		sg_json_str(&j, "to", sg_state_name(e->to));
		sg_json_str(&j, "cause", sg_cause_name(e->cause));
		if (e->to == SG_ESTABLISHED && !(e->flags & SG_F_MIDSTREAM) && (e->rtt_syn_us || e->rtt_ack_us)) {
			sg_json_u64(&j, "rtt_syn_us", e->rtt_syn_us);
			sg_json_u64(&j, "rtt_ack_us", e->rtt_ack_us);
		}
		if (e->syn_retrans)
			sg_json_u64(&j, "syn_retrans", e->syn_retrans);
		if (e->closer)
			sg_json_str(&j, "closed_by", closer_name(e->closer));
		if (sg_event_has_dur(e))
			sg_json_u64(&j, "duration_ms", e->dur_ms);
		if (e->to == SG_CLOSED) {
			sg_json_pair(&j, "pkts", e->pkts[0], e->pkts[1]);
			sg_json_pair(&j, "bytes", e->bytes[0], e->bytes[1]);
		}
		if (e->flags & SG_F_MIDSTREAM)
			sg_json_bool(&j, "midstream", true);
		if (e->flags & SG_F_TFO)
			sg_json_bool(&j, "tfo", true);
		if (e->flags & SG_F_COOKIE)
			sg_json_bool(&j, "cookie", true);
		break;
	case SG_EV_SYN_SUMMARY:
		sg_json_str(&j, "type", "syn_summary");
		sg_json_u64(&j, "dport", e->dport);
		sg_json_u64(&j, "syns", e->syns);
		sg_json_u64(&j, "not_printed", e->not_printed);
		sg_json_u64(&j, "interval_s", 1);
		break;
	case SG_EV_COOKIE:
		sg_json_str(&j, "type", "cookie");
		sg_json_u64(&j, "dport", e->dport);
		sg_json_u64(&j, "sent", e->sent);
		sg_json_u64(&j, "validated", e->validated);
		sg_json_u64(&j, "rejected", e->rejected);
		sg_json_u64(&j, "interval_s", 1);
		break;
	case SG_EV_ALERT:
		sg_json_str(&j, "type", "alert");
		sg_json_str(&j, "alert", sg_alert_name(e->alert));
		if (e->family) {	/* about one flow (CLOSE_WAIT) */
			json_flow(&j, e);
		} else {
			sg_json_u64(&j, "dport", e->dport);
		}
		sg_json_u64(&j, "value", e->value);
		break;
	case SG_EV_LOSS:
		sg_json_str(&j, "type", "loss");
		sg_json_str(&j, "what", sg_counter_name(e->counter));
		sg_json_u64(&j, "lost", e->lost);
		break;
	default:
		sg_json_str(&j, "type", "unknown");
		sg_json_u64(&j, "code", e->type);
	}
	return sg_json_end(&j);
}

/* s, then spaces up to width: "%-*s" by hand (p has room) */
static char *put_padded(char *p, const char *s, size_t width)
{
	size_t l = strlen(s);

	memcpy(p, s, l);
	p += l;
	if (l < width) {
		memset(p, ' ', width - l);
		p += width - l;
	}
	return p;
}

/* The fixed part of a state line (below), as snprintf() would print it
 * with a buffer of OUT_STATE_MIN bytes or more: by hand, at 10^5-10^6
 * lines a second. Every piece is bounded: a timestamp < 40 bytes, an
 * endpoint < INET6_ADDRSTRLEN + 8, names < 24. */
#define OUT_STATE_MIN 320

static int format_state_text(const struct sg_event *e, const char *ts, const char *src, const char *dst,
			     char *buf)
{
	char *p = buf;
	size_t l = strlen(ts);

	memcpy(p, ts, l);
	p += l;
	if (l)
		*p++ = ' ';
	p = put_padded(p, src, 22);
	memcpy(p, " -> ", 4);
	p = put_padded(p + 4, dst, 22);
	*p++ = ' ';
	p = put_padded(p, sg_side_name(e->side), 6);
	*p++ = ' ';
	p = put_padded(p, sg_state_name(e->from), 11);
	memcpy(p, " -> ", 4);
	p = put_padded(p + 4, sg_state_name(e->to), 11);
	*p++ = ' ';
	p = put_padded(p, sg_cause_name(e->cause), 0);
	*p = '\0';
	return p - buf;
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
		if (len >= OUT_STATE_MIN && strlen(ts) < 40)
			n = format_state_text(e, ts, src, dst, buf);
		else
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
		if (sg_event_has_dur(e))
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " duration=%u.%03us",
				      e->dur_ms / 1000, e->dur_ms % 1000);
		if (e->flags & SG_F_MIDSTREAM)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " [midstream]");
		if (e->flags & SG_F_TFO)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " [tfo]");
		if (e->flags & SG_F_COOKIE)
			n += snprintf(buf + n, len > (size_t)n ? len - n : 0, " [cookie]");
		return n;
	case SG_EV_SYN_SUMMARY:
		return snprintf(buf, len, "%s%sport %u SYN summary: %u new handshakes in 1s, %u not printed",
				ts, sep, e->dport, e->syns, e->not_printed);
	case SG_EV_COOKIE:
		return snprintf(buf, len, "%s%sport %u cookies: sent %u, validated %u, rejected %u in 1s", ts,
				sep, e->dport, e->sent, e->validated, e->rejected);
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

/* ---- the output object ---- */

/*
 * Lines go through our own buffer to the file descriptor: when stdout is a
 * pipe or a socket, it is made non-blocking, so a reader that stalls never
 * stops the timers, rotation and alerts that print; a line that does not
 * fit the buffer meanwhile is dropped whole and counted (never half a
 * line). Terminals and regular files are written as they are. A FILE
 * without a descriptor (the tests' memory streams) goes through stdio.
 */
#define OUT_BUF (1u << 20)
#define OUT_PAGE 4096	/* a pipe's slot: one page */
#define OUT_PIPE_SZ (1 << 20)
#define OUT_FINAL_WAIT_MS 1000	/* at exit: how long a stalled reader is waited for */

struct sg_out {
	FILE *f;
	int fd;			/* -1: through stdio (f) */
	int fl_saved;		/* the descriptor's flags before, -1 if untouched */
	int pipe_slots;		/* a pipe: its capacity in pages; else 0 */
	bool regular;		/* a regular file: written in as large writes as may be */
	struct sg_out_opts opt;
	__u64 boot_offset;
	__u64 emitted[SG_EV_STATS + 1];	/* atomics: two threads emit */
	struct sg_out_counts cnt;	/* atomics, for /metrics */
	pthread_mutex_t lock;		/* buf, len, lost */
	char *buf;
	size_t len;
	__u64 lost;			/* lines dropped: reader stalled, write failed, too long */
	sg_out_tap_fn tap;		/* set before any event (ladder mode) */
	void *tap_ctx;
};

/* What the descriptor is, for flush_locked(): a pipe (grown, its size
 * taken) or a regular file. */
static void out_kind(struct sg_out *o)
{
	struct stat st;

	o->pipe_slots = 0;
	o->regular = false;
	if (fstat(o->fd, &st))
		return;
	o->regular = S_ISREG(st.st_mode);
	if (S_ISFIFO(st.st_mode)) {
		int sz;

		/* a larger pipe (the default pipe-max-size; best effort):
		 * fewer, larger writes, and a reader's pause absorbed */
		if (fcntl(o->fd, F_GETPIPE_SZ) < OUT_PIPE_SZ)
			fcntl(o->fd, F_SETPIPE_SZ, OUT_PIPE_SZ);
		sz = fcntl(o->fd, F_GETPIPE_SZ);
		o->pipe_slots = sz > 0 ? sz / OUT_PAGE : 0;
	}
}

struct sg_out *sg_out_new(FILE *f, const struct sg_out_opts *opt)
{
	struct sg_out *o = calloc(1, sizeof(*o));
	struct stat st;

	if (!o)
		return NULL;
	o->f = f;
	o->opt = *opt;
	o->boot_offset = sg_boot_offset_ns();
	o->fl_saved = -1;
	o->fd = fileno(f);
	pthread_mutex_init(&o->lock, NULL);
	if (o->fd >= 0) {
		o->buf = malloc(OUT_BUF);
		if (!o->buf) {
			free(o);
			return NULL;
		}
		fflush(f);	/* what stdio holds goes first */
		if (!fstat(o->fd, &st) && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
			o->fl_saved = fcntl(o->fd, F_GETFL);
			if (o->fl_saved >= 0 && fcntl(o->fd, F_SETFL, o->fl_saved | O_NONBLOCK))
				o->fl_saved = -1;
		}
		out_kind(o);
	}
	return o;
}

static __u64 count_lines(const char *p, size_t n)
{
	__u64 l = 0;

	for (size_t i = 0; i < n; i++)
		l += p[i] == '\n';
	return l;
}

/*
 * Bytes a write to our pipe takes whole now. A pipe holds its data in
 * pages (slots): a write of n bytes takes at most ceil(n / page) free ones,
 * and a non-blocking write that finds too few writes part of its bytes.
 * The slots in use are not visible, only the bytes unread (FIONREAD); but
 * from our own writes two consecutive pages after the first always hold
 * more than a page (a write starts a page only when the last one has no
 * room for it, and fills the pages it starts but its last), so unread
 * bytes u take at most 2 ceil(u / page) + 2 slots. 0 if not a pipe, or
 * unknown. (Another writer into the same pipe voids this, as it would the
 * order of lines.)
 */
static size_t pipe_room(const struct sg_out *o)
{
	int unread, used;

	if (o->pipe_slots <= 0 || ioctl(o->fd, FIONREAD, &unread) || unread < 0)
		return 0;
	used = 2 * ((unread + OUT_PAGE - 1) / OUT_PAGE) + 2;
	return used < o->pipe_slots ? (size_t)(o->pipe_slots - used) * OUT_PAGE : 0;
}

/* Write what the buffer holds; keep what the descriptor would not take
 * now (EAGAIN). Whole lines only, in writes the descriptor takes all or
 * nothing, so a reader never sees half a line, even of a run that gave up
 * on it: into a pipe, as many whole lines as it has room for (pipe_room())
 * in one write, or else at most PIPE_BUF bytes (a pipe takes such a write
 * whole or not at all); into a regular file, all of it. With lock held. */
static void flush_locked(struct sg_out *o)
{
	size_t off = 0;

	while (off < o->len) {
		size_t n = o->len - off, lim = PIPE_BUF;
		ssize_t w;

		if (n > PIPE_BUF) {
			size_t room = o->regular ? n : pipe_room(o);

			if (room > lim)
				lim = room < n ? room : n;
		}
		if (n > lim) {
			const char *nl = memrchr(o->buf + off, '\n', lim);

			if (nl)
				n = nl + 1 - (o->buf + off);
			else if ((nl = memchr(o->buf + off, '\n', n)))
				n = nl + 1 - (o->buf + off);	/* one line longer than PIPE_BUF */
		}
		w = write(o->fd, o->buf + off, n);

		if (w > 0) {
			off += w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EPIPE and the like: nobody will ever read these lines */
		o->lost += count_lines(o->buf + off, o->len - off);
		off = o->len;
	}
	if (off && off < o->len)
		memmove(o->buf, o->buf + off, o->len - off);
	o->len -= off;
}

void sg_out_free(struct sg_out *o)
{
	if (!o)
		return;
	if (o->fd >= 0) {
		struct pollfd p = { .fd = o->fd, .events = POLLOUT };
		int waited = 0;

		pthread_mutex_lock(&o->lock);
		flush_locked(o);
		while (o->len && waited < OUT_FINAL_WAIT_MS) {
			if (poll(&p, 1, 50) == 0)
				waited += 50;
			flush_locked(o);
		}
		o->lost += count_lines(o->buf, o->len);
		o->len = 0;
		pthread_mutex_unlock(&o->lock);
		if (o->fl_saved >= 0)
			fcntl(o->fd, F_SETFL, o->fl_saved);
	}
	if (o->lost)
		fprintf(stderr, "synguard: %llu output lines lost (the reader of stdout stalled or left)\n",
			(unsigned long long)o->lost);
	pthread_mutex_destroy(&o->lock);
	free(o->buf);
	free(o);
}

FILE *sg_out_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "a");
	if (!f)
		close(fd);
	return f;
}

int sg_out_reopen(struct sg_out *o, const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640), err = 0;

	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&o->lock);
	if (o->fd < 0) {
		fflush(o->f);
		if (dup2(fd, fileno(o->f)) < 0)
			err = -errno;
	} else {
		flush_locked(o);	/* (a regular file takes it all) */
		if (dup2(fd, o->fd) < 0)	/* same descriptor, new file */
			err = -errno;
		out_kind(o);
	}
	pthread_mutex_unlock(&o->lock);
	close(fd);
	return err;
}

bool sg_out_json(const struct sg_out *o)
{
	return o->opt.json;
}

/* One complete line (n bytes, newline included), kept whole. */
void sg_out_write(struct sg_out *o, const char *line, size_t n)
{
	pthread_mutex_lock(&o->lock);
	if (o->fd < 0) {
		if (fwrite(line, 1, n, o->f) != n)
			o->lost++;
	} else {
		if (o->len + n > OUT_BUF)
			flush_locked(o);
		if (o->len + n > OUT_BUF) {
			o->lost++;
		} else {
			memcpy(o->buf + o->len, line, n);
			o->len += n;
			if (o->len >= OUT_BUF / 4)
				flush_locked(o);
		}
	}
	pthread_mutex_unlock(&o->lock);
}

void sg_out_flush(struct sg_out *o)
{
	pthread_mutex_lock(&o->lock);
	if (o->fd < 0)
		fflush(o->f);
	else
		flush_locked(o);
	pthread_mutex_unlock(&o->lock);
}

__u64 sg_out_emitted(const struct sg_out *o, unsigned int type)
{
	return type <= SG_EV_STATS ? __atomic_load_n(&o->emitted[type], __ATOMIC_RELAXED) : 0;
}

__u64 sg_out_lost(struct sg_out *o)
{
	__u64 l;

	pthread_mutex_lock(&o->lock);
	l = o->lost;
	pthread_mutex_unlock(&o->lock);
	return l;
}

/* The /metrics counts of one event (relaxed atomics: two threads emit,
 * the metrics thread reads). */
static void count_event(struct sg_out_counts *c, const struct sg_event *e)
{
	unsigned int side = e->side & 1;

	if (e->type == SG_EV_ALERT && e->alert < SG_ALERT_KINDS)
		__atomic_fetch_add(&c->alerts[e->alert], 1, __ATOMIC_RELAXED);
	if (e->type != SG_EV_STATE || e->to >= SG_STATE_MAX)
		return;
	__atomic_fetch_add(&c->transitions[side][e->to], 1, __ATOMIC_RELAXED);
	if (sg_event_has_dur(e)) {
		__atomic_fetch_add(&c->dur_bucket[side][sg_hist_bucket(e->dur_ms, SG_DUR_SHIFT, SG_DUR_BUCKETS)],
				   1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&c->dur_sum_ms[side], e->dur_ms, __ATOMIC_RELAXED);
	}
}

void sg_out_counts(const struct sg_out *o, struct sg_out_counts *c)
{
	const __u64 *src = (const __u64 *)&o->cnt;
	__u64 *dst = (__u64 *)c;

	for (size_t i = 0; i < sizeof(*c) / sizeof(__u64); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* A formatted line of n characters (snprintf's count: maybe cut) in a
 * buffer of cap bytes: ended with a newline, written whole. */
static void write_line(struct sg_out *o, char *line, size_t cap, int n)
{
	if (n < 0)
		return;
	if (n > (int)cap - 2)
		n = cap - 2;
	line[n++] = '\n';
	sg_out_write(o, line, n);
}

void sg_out_set_tap(struct sg_out *o, sg_out_tap_fn fn, void *ctx)
{
	o->tap = fn;
	o->tap_ctx = ctx;
}

void sg_out_event(struct sg_out *o, const struct sg_event *e)
{
	char line[512];
	int n;

	if (e->type <= SG_EV_STATS)
		__atomic_fetch_add(&o->emitted[e->type], 1, __ATOMIC_RELAXED);
	count_event(&o->cnt, e);
	if (o->tap && o->tap(o->tap_ctx, e))
		return;
	/* -q keeps alerts, losses and summaries; it drops per-transition lines. */
	if (o->opt.quiet && e->type == SG_EV_STATE)
		return;
	n = sg_format_event(e, o->opt.json, o->opt.ts, o->boot_offset, line, sizeof(line) - 1);
	write_line(o, line, sizeof(line), n);
}

int sg_out_time(const struct sg_out *o, __u64 mono_ns, char *buf, size_t len)
{
	return sg_format_time(o->boot_offset + mono_ns, o->opt.ts, o->opt.json, buf, len);
}

void sg_out_record_begin(struct sg_out *o, struct sg_json *j, char *buf, size_t cap, const char *type,
			 __u64 mono_ns)
{
	char ts[40];

	sg_json_begin(j, buf, cap);
	if (mono_ns) {
		sg_out_time(o, mono_ns, ts, sizeof(ts));
		sg_json_str(j, "ts", ts);
	}
	sg_json_str(j, "type", type);
}

void sg_out_record_end(struct sg_out *o, struct sg_json *j)
{
	int n = sg_json_end(j);

	if (n >= (int)j->cap - 1) {	/* cut: never print half an object */
		pthread_mutex_lock(&o->lock);
		o->lost++;
		pthread_mutex_unlock(&o->lock);
		return;
	}
	j->buf[n++] = '\n';
	sg_out_write(o, j->buf, n);
}

void sg_out_text(struct sg_out *o, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	write_line(o, line, sizeof(line), n);
}
