/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tcpkit.c - small TCP client/server used by synguard's integration tests and
 * benchmarks to produce real kernel TCP connections with precise teardown
 * behaviours (who closes first, RST abort, half-close with data in
 * CLOSE_WAIT, simultaneous close, long-held flows).  libc only; meant to be
 * run as `ip netns exec NS build/tcpkit ...`.
 *
 *   tcpkit server --listen ADDR --port P [--close MODE] [--count N] ...
 *   tcpkit client --connect ADDR --port P [--close MODE] [--count N] ...
 *
 * Protocol: the client sends "REQ <i>\n" (simultaneous mode:
 * "REQ <i> <deadline_ms_since_epoch>\n"), the server answers
 * "OK <request bytes>\n", then both sides tear down per --close.
 *
 * Server: one process per connection (fork), so hundreds of connections can
 * be open at once; --sequential handles them in-process one at a time.
 * Client: one poll() event loop driving up to --parallel connections.
 *
 * Output: one JSON line on stdout at the end (client and server).
 * Exit status: 0 ok, 1 failure(s), 2 usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

/* server child exit codes */
#define CH_OK		0
#define CH_FAIL		1
#define CH_RESET	3
#define CH_TIMEOUT	4

#define REQ_MAX		4096
#define REPLY_TIMEOUT_MS 2000	/* client: reply must arrive within this */
#define SLICE_MS	1000	/* longest single poll() wait */
#define SIM_MAX_AHEAD_MS 10000	/* server: ignore simultaneous deadlines further out */

enum close_mode {
	CM_CLIENT,
	CM_SERVER,
	CM_LINGER0,
	CM_HALFCLOSE,
	CM_HOLD,
	CM_SIMULTANEOUS,
};

static const char *const close_names[] = {
	[CM_CLIENT] = "client",
	[CM_SERVER] = "server",
	[CM_LINGER0] = "linger0",
	[CM_HALFCLOSE] = "halfclose",
	[CM_HOLD] = "hold",
	[CM_SIMULTANEOUS] = "simultaneous",
};

struct config {
	int is_server;
	const char *addr;
	int port;
	const char *bind_addr;
	int sport;		/* client: fixed source port (0 = ephemeral) */
	int backlog;
	long count;		/* server: 0 = unlimited */
	int parallel;
	int interval_ms;
	enum close_mode close;
	int connect_timeout_ms;
	int hold_ms;
	int io_timeout_ms;
	int timeout_s;		/* server: total lifetime; client: 0 = none */
	const char *ready_file;
	int sequential;
	int max_children;
	int hc_writes;
	int hc_bytes;
	int hc_interval_ms;
	int sim_delay_ms;
	int verbose;
};

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void on_chld(int sig)
{
	(void)sig;
}

/* ------------------------------------------------------------------ */
/* time helpers                                                        */

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec ns_to_ts(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };

	return ts;
}

#define MS(x) ((int64_t)(x) * 1000000LL)

/* poll timeout (ms, rounded up, capped at SLICE_MS) until deadline_ns */
static int slice_until(int64_t deadline_ns, int64_t now)
{
	int64_t left = deadline_ns - now;

	if (left <= 0)
		return 0;
	left = (left + 999999) / 1000000;
	return left > SLICE_MS ? SLICE_MS : (int)left;
}

static void sleep_until(int64_t deadline_ns)
{
	for (;;) {
		int64_t now = mono_ns();
		struct timespec ts;
		int64_t left;

		if (now >= deadline_ns || g_stop)
			return;
		left = deadline_ns - now;
		if (left > MS(SLICE_MS))
			left = MS(SLICE_MS);
		ts.tv_sec = left / 1000000000LL;
		ts.tv_nsec = left % 1000000000LL;
		nanosleep(&ts, NULL);	/* EINTR: just loop */
	}
}

/* ------------------------------------------------------------------ */
/* address / socket helpers                                            */

static int parse_addr(const char *addr, int port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char pbuf[16];
	int rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(pbuf, sizeof(pbuf), "%d", port);
	rc = getaddrinfo(addr, pbuf, &hints, &res);
	if (rc != 0 || !res) {
		fprintf(stderr, "tcpkit: bad address '%s': %s\n", addr,
			rc ? gai_strerror(rc) : "no result");
		return -1;
	}
	if (res->ai_addrlen > sizeof(*ss)) {
		freeaddrinfo(res);
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int set_linger0(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	return setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

static void xclose(int fd)
{
	/* Linux: the fd is released even on EINTR; never retry. */
	if (fd >= 0 && close(fd) < 0 && errno != EINTR)
		fprintf(stderr, "tcpkit: close: %s\n", strerror(errno));
}

/*
 * Wait for @ev on @fd until @deadline_ns, in slices of at most SLICE_MS.
 * Returns 1 ready (revents in *rev), 0 timeout/stop, -1 poll error.
 */
static int wait_fd(int fd, short ev, int64_t deadline_ns, short *rev)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = ev };
		int64_t now = mono_ns();
		int rc;

		if (now >= deadline_ns || g_stop)
			return 0;
		rc = poll(&p, 1, slice_until(deadline_ns, now));
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (rc > 0) {
			if (rev)
				*rev = p.revents;
			return 1;
		}
	}
}

/* Read once. >0 bytes, 0 EOF, -1 error (errno), -2 timeout. */
static ssize_t read_dl(int fd, void *buf, size_t len, int64_t deadline_ns)
{
	for (;;) {
		ssize_t n;
		int rc;

		n = recv(fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		rc = wait_fd(fd, POLLIN, deadline_ns, NULL);
		if (rc == 0)
			return -2;
		if (rc < 0)
			return -1;
	}
}

/* Write everything. 0 ok, -1 error (errno), -2 timeout. */
static int write_all_dl(int fd, const void *buf, size_t len, int64_t deadline_ns)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		int rc;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		rc = wait_fd(fd, POLLOUT, deadline_ns, NULL);
		if (rc == 0)
			return -2;
		if (rc < 0)
			return -1;
	}
	return 0;
}

/*
 * Read and discard until EOF. Returns 0 on EOF, -1 error (errno), -2 timeout.
 * Bytes read are added to *bytes when non-NULL.
 */
static int drain_dl(int fd, int64_t deadline_ns, long long *bytes)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read_dl(fd, buf, sizeof(buf), deadline_ns);

		if (n == 0)
			return 0;
		if (n < 0)
			return (int)n;
		if (bytes)
			*bytes += n;
	}
}

/* ------------------------------------------------------------------ */
/* server                                                              */

static int child_status(int rc, int err)
{
	if (rc == -2)
		return CH_TIMEOUT;
	if (err == ECONNRESET || err == EPIPE)
		return CH_RESET;
	return CH_FAIL;
}

static int handle_conn(int fd, const struct config *cfg, int64_t deadline,
		       long idx)
{
	char req[REQ_MAX + 1], reply[64];
	int64_t io_dl = mono_ns() + MS(cfg->io_timeout_ms);
	size_t got = 0;
	long long sim_ms = 0;
	long reqno = -1;
	int rc, len, ret = CH_OK;

	if (io_dl > deadline)
		io_dl = deadline;

	/* 1. request: up to newline, EOF or 4 KiB */
	while (got < REQ_MAX) {
		ssize_t n = read_dl(fd, req + got, REQ_MAX - got, io_dl);

		if (n == 0)
			break;
		if (n < 0) {
			int e = errno;

			fprintf(stderr, "tcpkit server: conn %ld: read request: %s\n",
				idx, n == -2 ? "timeout" : strerror(e));
			ret = child_status((int)n, e);
			goto out;
		}
		got += (size_t)n;
		if (memchr(req + got - (size_t)n, '\n', (size_t)n))
			break;
	}
	req[got] = '\0';
	if (got == 0) {
		fprintf(stderr, "tcpkit server: conn %ld: EOF before request\n", idx);
		ret = CH_FAIL;
		goto out;
	}
	if (sscanf(req, "REQ %ld %lld", &reqno, &sim_ms) < 2)
		sim_ms = 0;

	/* 2. reply */
	len = snprintf(reply, sizeof(reply), "OK %zu\n", got);
	rc = write_all_dl(fd, reply, (size_t)len, io_dl);
	if (rc < 0) {
		int e = errno;

		fprintf(stderr, "tcpkit server: conn %ld: write reply: %s\n", idx,
			rc == -2 ? "timeout" : strerror(e));
		ret = child_status(rc, e);
		goto out;
	}

	/* 3. teardown */
	switch (cfg->close) {
	case CM_CLIENT:
	case CM_HOLD:
		/* the client closes first: wait for its FIN (bounded by --timeout) */
		rc = drain_dl(fd, deadline, NULL);
		if (rc < 0) {
			int e = errno;

			ret = child_status(rc, e);
			if (ret != CH_RESET)
				fprintf(stderr, "tcpkit server: conn %ld: waiting for client FIN: %s\n",
					idx, rc == -2 ? "timeout" : strerror(e));
		}
		break;
	case CM_SERVER:
		break;
	case CM_LINGER0:
		if (set_linger0(fd) < 0) {
			fprintf(stderr, "tcpkit server: SO_LINGER: %s\n", strerror(errno));
			ret = CH_FAIL;
		}
		break;
	case CM_HALFCLOSE: {
		char data[65536];
		int i, n = cfg->hc_bytes;

		rc = drain_dl(fd, deadline, NULL);
		if (rc < 0) {
			int e = errno;

			fprintf(stderr, "tcpkit server: conn %ld: waiting for client SHUT_WR: %s\n",
				idx, rc == -2 ? "timeout" : strerror(e));
			ret = child_status(rc, e);
			break;
		}
		/* CLOSE_WAIT now: keep sending data */
		for (i = 0; i < n && i < (int)sizeof(data); i++)
			data[i] = (char)('a' + i % 26);
		for (i = 0; i < cfg->hc_writes; i++) {
			int64_t wdl;

			if (i > 0)
				sleep_until(mono_ns() + MS(cfg->hc_interval_ms));
			wdl = mono_ns() + MS(cfg->io_timeout_ms);
			if (wdl > deadline)
				wdl = deadline;
			rc = write_all_dl(fd, data, (size_t)n, wdl);
			if (rc < 0) {
				int e = errno;

				fprintf(stderr, "tcpkit server: conn %ld: half-close write %d: %s\n",
					idx, i, rc == -2 ? "timeout" : strerror(e));
				ret = child_status(rc, e);
				break;
			}
		}
		break;
	}
	case CM_SIMULTANEOUS: {
		int64_t at = (int64_t)sim_ms * 1000000LL, dl;

		/* absolute wall-clock sleep: the client waits for the same instant */
		if (sim_ms > 0 && at - real_ns() <= MS(SIM_MAX_AHEAD_MS) &&
		    at - real_ns() < deadline - mono_ns()) {
			struct timespec ts = ns_to_ts(at);

			prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
			while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		if (shutdown(fd, SHUT_WR) < 0) {
			/* peer may already have reset us: acceptable here */
			if (errno != ENOTCONN && errno != ECONNRESET) {
				fprintf(stderr, "tcpkit server: shutdown: %s\n", strerror(errno));
				ret = CH_FAIL;
			}
			break;
		}
		dl = mono_ns() + MS(cfg->io_timeout_ms);
		if (dl > deadline)
			dl = deadline;
		rc = drain_dl(fd, dl, NULL);
		if (rc == -2) {
			fprintf(stderr, "tcpkit server: conn %ld: simultaneous: no FIN from client\n",
				idx);
			ret = CH_TIMEOUT;
		}
		/* RST instead of FIN is accepted: best effort scenario */
		break;
	}
	}
out:
	xclose(fd);
	if (cfg->verbose)
		fprintf(stderr, "tcpkit server: conn %ld (req %ld) done: %d\n", idx,
			reqno, ret);
	return ret;
}

struct srv_stats {
	long accepted, ok, failed, resets, timeouts;
};

static void account(struct srv_stats *st, int code)
{
	switch (code) {
	case CH_OK:
		st->ok++;
		break;
	case CH_RESET:
		st->resets++;
		break;
	case CH_TIMEOUT:
		st->timeouts++;
		st->failed++;
		break;
	default:
		st->failed++;
		break;
	}
}

static int write_ready_file(const char *path, int port)
{
	char tmp[PATH_MAX], buf[32];
	int fd, len;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "%d\n", port);
	if (write(fd, buf, (size_t)len) != len) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int reap(pid_t *kids, int *nkids, struct srv_stats *st, int block)
{
	int reaped = 0;

	for (;;) {
		int status, i;
		pid_t p = waitpid(-1, &status, block ? 0 : WNOHANG);

		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0)
			break;
		for (i = 0; i < *nkids; i++) {
			if (kids[i] == p) {
				kids[i] = kids[--*nkids];
				break;
			}
		}
		if (WIFEXITED(status))
			account(st, WEXITSTATUS(status));
		else
			account(st, CH_FAIL);
		reaped++;
		block = 0;
	}
	return reaped;
}

static int run_server(const struct config *cfg)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	struct srv_stats st = { 0 };
	int64_t t0 = mono_ns(), deadline = t0 + (int64_t)cfg->timeout_s * 1000000000LL;
	sigset_t block, orig;
	struct sigaction sa = { 0 };
	pid_t *kids;
	int nkids = 0, lfd, one = 1, port = cfg->port, done = 0, ret;

	if (parse_addr(cfg->addr, cfg->port, &ss, &slen) < 0)
		return EXIT_USAGE;
	kids = calloc((size_t)cfg->max_children, sizeof(*kids));
	if (!kids) {
		perror("tcpkit: calloc");
		return EXIT_FAIL;
	}

	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("tcpkit: socket");
		free(kids);
		return EXIT_FAIL;
	}
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto syserr;
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto syserr;
	if (bind(lfd, (struct sockaddr *)&ss, slen) < 0)
		goto syserr;
	if (listen(lfd, cfg->backlog) < 0)
		goto syserr;
	slen = sizeof(ss);
	if (getsockname(lfd, (struct sockaddr *)&ss, &slen) < 0)
		goto syserr;
	port = ntohs(ss.ss_family == AF_INET6 ?
		     ((struct sockaddr_in6 *)&ss)->sin6_port :
		     ((struct sockaddr_in *)&ss)->sin_port);

	/* SIGCHLD/SIGTERM/SIGINT only delivered inside ppoll() */
	sa.sa_handler = on_chld;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		goto syserr;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, &orig) < 0)
		goto syserr;

	if (cfg->ready_file && write_ready_file(cfg->ready_file, port) < 0) {
		fprintf(stderr, "tcpkit: ready file %s: %s\n", cfg->ready_file,
			strerror(errno));
		goto fail;
	}
	fprintf(stderr, "tcpkit server: listening on %s port %d (close=%s)\n",
		cfg->addr, port, close_names[cfg->close]);

	while (!done && !g_stop) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int64_t now = mono_ns(), left;
		struct timespec ts;
		int full = nkids >= cfg->max_children, rc;

		if (now >= deadline)
			break;
		left = deadline - now;
		if (left > MS(SLICE_MS))
			left = MS(SLICE_MS);
		ts.tv_sec = left / 1000000000LL;
		ts.tv_nsec = left % 1000000000LL;
		if (full)
			p.fd = -1;	/* at the child limit: only wait for exits */
		rc = ppoll(&p, 1, &ts, &orig);
		if (rc < 0 && errno != EINTR) {
			perror("tcpkit: ppoll");
			goto fail;
		}
		reap(kids, &nkids, &st, 0);
		if (rc <= 0 || !(p.revents & POLLIN))
			continue;

		/* accept everything pending */
		while (!done && nkids < cfg->max_children) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			long idx;
			pid_t pid;

			if (cfd < 0) {
				if (errno == EINTR || errno == ECONNABORTED)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (errno == EMFILE || errno == ENFILE ||
				    errno == ENOBUFS || errno == ENOMEM) {
					fprintf(stderr, "tcpkit: accept: %s\n", strerror(errno));
					break;
				}
				perror("tcpkit: accept");
				goto fail;
			}
			idx = st.accepted++;
			if (cfg->count && st.accepted >= cfg->count)
				done = 1;
			if (cfg->sequential) {
				account(&st, handle_conn(cfd, cfg, deadline, idx));
				continue;
			}
			pid = fork();
			if (pid < 0) {
				perror("tcpkit: fork");
				xclose(cfd);
				account(&st, CH_FAIL);
				continue;
			}
			if (pid == 0) {
				struct sigaction dfl = { .sa_handler = SIG_DFL };

				sigemptyset(&dfl.sa_mask);
				sigaction(SIGTERM, &dfl, NULL);
				sigaction(SIGINT, &dfl, NULL);
				sigaction(SIGCHLD, &dfl, NULL);
				sigprocmask(SIG_SETMASK, &orig, NULL);
				xclose(lfd);
				_exit(handle_conn(cfd, cfg, deadline, idx));
			}
			kids[nkids++] = pid;
			xclose(cfd);
		}
	}
	xclose(lfd);
	lfd = -1;

	/* wait for running connections (they end by `deadline` themselves) */
	while (nkids > 0) {
		int64_t now = mono_ns();
		struct timespec ts = { 0, 100000000 };
		int i;

		if (g_stop || now >= deadline + MS(1000)) {
			for (i = 0; i < nkids; i++)
				kill(kids[i], g_stop ? SIGTERM : SIGKILL);
			reap(kids, &nkids, &st, 1);
			continue;
		}
		if (ppoll(NULL, 0, &ts, &orig) < 0 && errno != EINTR) {
			perror("tcpkit: ppoll");
			break;
		}
		reap(kids, &nkids, &st, 0);
	}

	ret = (st.failed == 0 && (!cfg->count || st.accepted >= cfg->count) &&
	       !g_stop) ? EXIT_OK : EXIT_FAIL;
	/* no --count: running until --timeout (or SIGTERM) is the normal end */
	if (!cfg->count && st.failed == 0)
		ret = EXIT_OK;
	printf("{\"role\":\"server\",\"accepted\":%ld,\"ok\":%ld,\"failed\":%ld,"
	       "\"timeouts\":%ld,\"resets\":%ld,\"seconds\":%.3f}\n",
	       st.accepted, st.ok, st.failed, st.timeouts, st.resets,
	       (double)(mono_ns() - t0) / 1e9);
	fflush(stdout);
	free(kids);
	return ret;

syserr:
	perror("tcpkit: listen socket");
fail:
	if (lfd >= 0)
		xclose(lfd);
	free(kids);
	return EXIT_FAIL;
}

/* ------------------------------------------------------------------ */
/* client                                                              */

enum cstate {
	C_FREE,
	C_CONNECTING,
	C_SENDING,
	C_READING,
	C_HOLD,
	C_SIMWAIT,
	C_DRAIN,
};

struct slot {
	enum cstate st;
	int fd;
	long idx;
	int64_t t_start;	/* connect() called */
	int64_t t_req;		/* request sent from here (connect completed) */
	int64_t deadline;	/* current state's deadline */
	int64_t sim_at;		/* simultaneous close time (monotonic) */
	char wbuf[64];
	size_t wlen, woff;
	char rbuf[REQ_MAX];
	size_t rlen;
	int success;
};

struct cli_stats {
	long attempted, connected, failed, timeouts, reply_ok, reply_timeouts;
	long resets, close_errors;
	long long hc_bytes;
	double *lat;		/* connect latency, ms */
	long nlat;
	double *rlat;		/* request -> complete reply, ms */
	long nrlat;
};

static void slot_finish(struct slot *s, struct cli_stats *st, int64_t *next_start,
			const struct config *cfg)
{
	if (s->fd >= 0)
		xclose(s->fd);
	s->fd = -1;
	if (!s->success)
		st->failed++;
	if (cfg->verbose)
		fprintf(stderr, "tcpkit client: conn %ld %s\n", s->idx,
			s->success ? "ok" : "FAILED");
	s->st = C_FREE;
	if (cfg->parallel == 1 && cfg->interval_ms > 0)
		*next_start = mono_ns() + MS(cfg->interval_ms);
}

static void start_conn(struct slot *s, long idx, const struct config *cfg,
		       const struct sockaddr_storage *dst, socklen_t dlen,
		       const struct sockaddr_storage *src, socklen_t srclen,
		       struct cli_stats *st, int64_t *next_start)
{
	int fd, rc;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->idx = idx;
	st->attempted++;

	fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "tcpkit client: conn %ld: socket: %s\n", idx, strerror(errno));
		st->failed++;
		return;
	}
	s->fd = fd;
	if (src) {
		int one = 1;

		/* a pinned source port: reused from one connection to the next */
		if (cfg->sport && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
			fprintf(stderr, "tcpkit client: SO_REUSEADDR: %s\n", strerror(errno));
		/* harmless if unsupported */
		if (!cfg->sport &&
		    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0 &&
		    cfg->verbose)
			fprintf(stderr, "tcpkit client: IP_BIND_ADDRESS_NO_PORT: %s\n",
				strerror(errno));
		if (bind(fd, (const struct sockaddr *)src, srclen) < 0) {
			fprintf(stderr, "tcpkit client: conn %ld: bind %s: %s\n", idx,
				cfg->bind_addr, strerror(errno));
			slot_finish(s, st, next_start, cfg);
			return;
		}
	}
	s->t_start = mono_ns();
	s->deadline = s->t_start + MS(cfg->connect_timeout_ms);
	s->st = C_CONNECTING;
	/* non-blocking: EINTR means the handshake goes on asynchronously */
	rc = connect(fd, (const struct sockaddr *)dst, dlen);
	if (rc < 0 && errno != EINPROGRESS && errno != EINTR) {
		fprintf(stderr, "tcpkit client: conn %ld: connect: %s\n", idx, strerror(errno));
		slot_finish(s, st, next_start, cfg);
	}
	/* rc == 0 (immediate) or EINPROGRESS/EINTR: wait for POLLOUT */
}

static void begin_teardown(struct slot *s, const struct config *cfg,
			   struct cli_stats *st, int64_t *next_start)
{
	int64_t now = mono_ns();

	switch (cfg->close) {
	case CM_CLIENT:
	case CM_HOLD:
		slot_finish(s, st, next_start, cfg);
		break;
	case CM_LINGER0:
		if (set_linger0(s->fd) < 0) {
			fprintf(stderr, "tcpkit client: SO_LINGER: %s\n", strerror(errno));
			st->close_errors++;
		}
		slot_finish(s, st, next_start, cfg);
		break;
	case CM_SERVER:
		s->st = C_DRAIN;
		s->deadline = now + MS(cfg->io_timeout_ms);
		break;
	case CM_HALFCLOSE:
	case CM_SIMULTANEOUS:
		if (cfg->close == CM_SIMULTANEOUS && now < s->sim_at) {
			s->st = C_SIMWAIT;
			s->deadline = s->sim_at;
			break;
		}
		if (shutdown(s->fd, SHUT_WR) < 0) {
			if (errno == ENOTCONN || errno == ECONNRESET) {
				st->resets++;
				if (cfg->close != CM_SIMULTANEOUS)
					st->close_errors++;
			} else {
				fprintf(stderr, "tcpkit client: conn %ld: shutdown: %s\n",
					s->idx, strerror(errno));
				st->close_errors++;
			}
			slot_finish(s, st, next_start, cfg);
			break;
		}
		s->st = C_DRAIN;
		s->deadline = now + MS(cfg->io_timeout_ms);
		break;
	default:
		slot_finish(s, st, next_start, cfg);
	}
}

static void after_reply(struct slot *s, const struct config *cfg,
			struct cli_stats *st, int64_t *next_start)
{
	if (cfg->hold_ms > 0) {
		s->st = C_HOLD;
		s->deadline = mono_ns() + MS(cfg->hold_ms);
		return;
	}
	begin_teardown(s, cfg, st, next_start);
}

/* Advance one connection's state machine. */
static void step(struct slot *s, short rev, const struct config *cfg,
		 struct cli_stats *st, int64_t *next_start)
{
	int64_t now = mono_ns();

	switch (s->st) {
	case C_FREE:
		return;
	case C_CONNECTING: {
		int err = 0;
		socklen_t el = sizeof(err);

		if (!rev) {
			if (now < s->deadline)
				return;
			st->timeouts++;
			if (cfg->verbose)
				fprintf(stderr, "tcpkit client: conn %ld: connect timeout\n", s->idx);
			slot_finish(s, st, next_start, cfg);
			return;
		}
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err == 0 && !(rev & POLLOUT))
			err = ECONNREFUSED;	/* POLLERR/POLLHUP without error */
		if (err) {
			if (err == ETIMEDOUT)
				st->timeouts++;
			fprintf(stderr, "tcpkit client: conn %ld: connect: %s\n", s->idx,
				strerror(err));
			slot_finish(s, st, next_start, cfg);
			return;
		}
		st->connected++;
		st->lat[st->nlat++] = (double)(now - s->t_start) / 1e6;
		if (cfg->close == CM_SIMULTANEOUS) {
			/* deadline on an exact ms boundary of the wall clock */
			int64_t rnow = real_ns(), mnow = mono_ns();
			int64_t at_ms = (rnow + MS(cfg->sim_delay_ms) + 999999) / 1000000;

			s->wlen = (size_t)snprintf(s->wbuf, sizeof(s->wbuf), "REQ %ld %lld\n",
						   s->idx, (long long)at_ms);
			s->sim_at = mnow + (at_ms * 1000000LL - rnow);
		} else {
			s->wlen = (size_t)snprintf(s->wbuf, sizeof(s->wbuf), "REQ %ld\n", s->idx);
		}
		s->woff = 0;
		s->t_req = now;
		s->st = C_SENDING;
		s->deadline = now + MS(REPLY_TIMEOUT_MS);	/* send + reply */
		rev = POLLOUT;
	}
	/* fall through */
	case C_SENDING:
		if (rev & (POLLOUT | POLLERR | POLLHUP)) {
			while (s->woff < s->wlen) {
				ssize_t n = send(s->fd, s->wbuf + s->woff, s->wlen - s->woff,
						 MSG_NOSIGNAL);

				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				if (n < 0) {
					if (errno == ECONNRESET || errno == EPIPE)
						st->resets++;
					fprintf(stderr, "tcpkit client: conn %ld: send: %s\n",
						s->idx, strerror(errno));
					slot_finish(s, st, next_start, cfg);
					return;
				}
				s->woff += (size_t)n;
			}
			if (s->woff == s->wlen) {
				s->st = C_READING;
				return;
			}
		}
		if (now >= s->deadline) {
			st->reply_timeouts++;
			fprintf(stderr, "tcpkit client: conn %ld: send timeout\n", s->idx);
			slot_finish(s, st, next_start, cfg);
		}
		return;
	case C_READING:
		if (rev) {
			for (;;) {
				ssize_t n;
				char *nl;

				n = recv(s->fd, s->rbuf + s->rlen, sizeof(s->rbuf) - s->rlen, 0);
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				if (n <= 0) {
					if (n < 0 && errno == ECONNRESET)
						st->resets++;
					fprintf(stderr, "tcpkit client: conn %ld: reading reply: %s\n",
						s->idx, n == 0 ? "EOF before reply" : strerror(errno));
					slot_finish(s, st, next_start, cfg);
					return;
				}
				s->rlen += (size_t)n;
				nl = memchr(s->rbuf, '\n', s->rlen);
				if (nl || s->rlen == sizeof(s->rbuf)) {
					if (s->rlen >= 2 && !memcmp(s->rbuf, "OK", 2)) {
						st->reply_ok++;
						st->rlat[st->nrlat++] =
							(double)(mono_ns() - s->t_req) / 1e6;
						s->success = 1;
						/* bytes after the reply line */
						if (nl && cfg->close == CM_HALFCLOSE)
							st->hc_bytes += (long long)(s->rlen - (size_t)(nl + 1 - s->rbuf));
						after_reply(s, cfg, st, next_start);
					} else {
						fprintf(stderr, "tcpkit client: conn %ld: bad reply\n",
							s->idx);
						slot_finish(s, st, next_start, cfg);
					}
					return;
				}
			}
		}
		if (now >= s->deadline) {
			st->reply_timeouts++;
			fprintf(stderr, "tcpkit client: conn %ld: reply timeout\n", s->idx);
			slot_finish(s, st, next_start, cfg);
		}
		return;
	case C_HOLD:
		if (now >= s->deadline)
			begin_teardown(s, cfg, st, next_start);
		return;
	case C_SIMWAIT:
		if (now >= s->deadline)
			begin_teardown(s, cfg, st, next_start);
		return;
	case C_DRAIN:
		if (rev) {
			char buf[4096];

			for (;;) {
				ssize_t n = recv(s->fd, buf, sizeof(buf), 0);

				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				if (n == 0) {
					slot_finish(s, st, next_start, cfg);
					return;
				}
				if (n < 0) {
					if (errno == ECONNRESET) {
						st->resets++;
					} else {
						fprintf(stderr, "tcpkit client: conn %ld: read: %s\n",
							s->idx, strerror(errno));
						st->close_errors++;
					}
					slot_finish(s, st, next_start, cfg);
					return;
				}
				if (cfg->close == CM_HALFCLOSE) {
					st->hc_bytes += n;
					/* idle timeout: data keeps it alive */
					s->deadline = mono_ns() + MS(cfg->io_timeout_ms);
				}
			}
		}
		if (now >= s->deadline) {
			fprintf(stderr, "tcpkit client: conn %ld: timeout waiting for server FIN\n",
				s->idx);
			st->close_errors++;
			slot_finish(s, st, next_start, cfg);
		}
		return;
	}
}

static short want_events(const struct slot *s)
{
	switch (s->st) {
	case C_CONNECTING:
	case C_SENDING:
		return POLLOUT;
	case C_READING:
	case C_DRAIN:
		return POLLIN;
	default:
		return 0;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, long n, double p)
{
	long i;

	if (n <= 0)
		return 0.0;
	i = (long)((double)n * p + 0.999999999) - 1;	/* nearest rank */
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

static void raise_nofile(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)need + 16) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)need + 16 ?
			      (rlim_t)need + 16 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int run_client(const struct config *cfg)
{
	struct sockaddr_storage dst, src;
	socklen_t dlen, srclen = 0;
	struct cli_stats st = { 0 };
	struct slot *slots;
	struct pollfd *pfd;
	int *map;
	int64_t t0 = mono_ns(), next_start = t0, end = 0;
	long launched = 0;
	int active = 0, i, ret;

	if (parse_addr(cfg->addr, cfg->port, &dst, &dlen) < 0)
		return EXIT_USAGE;
	if (cfg->bind_addr || cfg->sport) {
		const char *any = dst.ss_family == AF_INET6 ? "::" : "0.0.0.0";

		if (parse_addr(cfg->bind_addr ? cfg->bind_addr : any, cfg->sport, &src, &srclen) < 0)
			return EXIT_USAGE;
		if (src.ss_family != dst.ss_family) {
			fprintf(stderr, "tcpkit: --bind and --connect address families differ\n");
			return EXIT_USAGE;
		}
	}
	if (cfg->close == CM_SIMULTANEOUS)
		prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if (cfg->timeout_s > 0)
		end = t0 + (int64_t)cfg->timeout_s * 1000000000LL;
	raise_nofile(cfg->parallel);

	slots = calloc((size_t)cfg->parallel, sizeof(*slots));
	pfd = calloc((size_t)cfg->parallel, sizeof(*pfd));
	map = calloc((size_t)cfg->parallel, sizeof(*map));
	st.lat = calloc((size_t)cfg->count, sizeof(*st.lat));
	st.rlat = calloc((size_t)cfg->count, sizeof(*st.rlat));
	if (!slots || !pfd || !map || !st.lat || !st.rlat) {
		perror("tcpkit: calloc");
		free(slots);
		free(pfd);
		free(map);
		free(st.lat);
		free(st.rlat);
		return EXIT_FAIL;
	}
	for (i = 0; i < cfg->parallel; i++)
		slots[i].fd = -1;

	for (;;) {
		int64_t now = mono_ns(), wake;
		struct timespec ts;
		int np = 0, rc, stopping = g_stop || (end && now >= end);

		/* launch new connections into free slots */
		for (i = 0; i < cfg->parallel && !stopping && launched < cfg->count; i++) {
			if (slots[i].st != C_FREE)
				continue;
			now = mono_ns();
			if (now < next_start)
				break;
			start_conn(&slots[i], launched++, cfg, &dst, dlen,
				   srclen ? &src : NULL, srclen, &st, &next_start);
			if (cfg->interval_ms > 0)
				next_start = mono_ns() + MS(cfg->interval_ms);
		}
		if (stopping) {
			/* abort whatever is in flight */
			for (i = 0; i < cfg->parallel; i++)
				if (slots[i].st != C_FREE)
					slot_finish(&slots[i], &st, &next_start, cfg);
			break;
		}

		active = 0;
		now = mono_ns();
		wake = now + MS(SLICE_MS);
		if (launched < cfg->count && next_start > now && next_start < wake)
			wake = next_start;
		for (i = 0; i < cfg->parallel; i++) {
			struct slot *s = &slots[i];

			if (s->st == C_FREE)
				continue;
			active++;
			if (s->deadline < wake)
				wake = s->deadline;
			if (want_events(s)) {
				pfd[np].fd = s->fd;
				pfd[np].events = want_events(s);
				pfd[np].revents = 0;
				map[np++] = i;
			}
		}
		if (!active && launched >= cfg->count)
			break;
		if (end && end < wake)
			wake = end;

		/* ppoll: ns resolution (matters for the simultaneous-close instant) */
		ts = ns_to_ts(wake > now ? wake - now : 0);
		rc = ppoll(pfd, (nfds_t)np, &ts, NULL);
		if (rc < 0 && errno != EINTR) {
			perror("tcpkit: poll");
			break;
		}
		/* events first, then deadlines of everybody */
		for (i = 0; rc > 0 && i < np; i++)
			if (pfd[i].revents)
				step(&slots[map[i]], pfd[i].revents, cfg, &st, &next_start);
		now = mono_ns();
		for (i = 0; i < cfg->parallel; i++)
			if (slots[i].st != C_FREE && now >= slots[i].deadline)
				step(&slots[i], 0, cfg, &st, &next_start);
	}

	qsort(st.lat, (size_t)st.nlat, sizeof(*st.lat), cmp_double);
	qsort(st.rlat, (size_t)st.nrlat, sizeof(*st.rlat), cmp_double);
	printf("{\"attempted\":%ld,\"connected\":%ld,\"failed\":%ld,\"timeouts\":%ld,"
	       "\"reply_ok\":%ld,\"connect_p50_ms\":%.3f,\"connect_p99_ms\":%.3f,"
	       "\"connect_max_ms\":%.3f,\"request_p50_ms\":%.3f,\"request_p99_ms\":%.3f,"
	       "\"request_max_ms\":%.3f,\"seconds\":%.3f,\"reply_timeouts\":%ld,"
	       "\"resets\":%ld,\"close_errors\":%ld,\"halfclose_bytes\":%lld,"
	       "\"close\":\"%s\"}\n",
	       st.attempted, st.connected, st.failed, st.timeouts, st.reply_ok,
	       pct(st.lat, st.nlat, 0.50), pct(st.lat, st.nlat, 0.99),
	       st.nlat ? st.lat[st.nlat - 1] : 0.0,
	       pct(st.rlat, st.nrlat, 0.50), pct(st.rlat, st.nrlat, 0.99),
	       st.nrlat ? st.rlat[st.nrlat - 1] : 0.0,
	       (double)(mono_ns() - t0) / 1e9, st.reply_timeouts, st.resets,
	       st.close_errors, st.hc_bytes, close_names[cfg->close]);
	fflush(stdout);

	ret = (st.attempted == cfg->count && st.failed == 0 && st.close_errors == 0 &&
	       st.reply_ok == cfg->count) ? EXIT_OK : EXIT_FAIL;
	free(slots);
	free(pfd);
	free(map);
	free(st.lat);
	free(st.rlat);
	return ret;
}

/* ------------------------------------------------------------------ */
/* command line                                                        */

static void usage(FILE *f)
{
	fprintf(f,
"Usage:\n"
"  tcpkit server --listen ADDR --port P [options]\n"
"  tcpkit client --connect ADDR --port P [options]\n"
"  tcpkit --help\n"
"\n"
"Small TCP client/server for synguard tests (run it via `ip netns exec NS`).\n"
"Client sends \"REQ <i>\\n\", server answers \"OK <request bytes>\\n\", then the\n"
"connection is torn down according to --close.  IPv4/IPv6 chosen from ADDR.\n"
"\n"
"--close MODE (both sides should use the same mode):\n"
"  client        client closes first after the reply; server waits for its FIN (default)\n"
"  server        server closes right after replying; client waits for EOF, then closes\n"
"  linger0       SO_LINGER {1,0} + close on the side given this mode -> RST abort\n"
"  halfclose     client shutdown(SHUT_WR); server, after EOF (CLOSE_WAIT), sends\n"
"                --hc-writes x --hc-bytes every --hc-interval-ms, then closes;\n"
"                client counts the bytes (\"halfclose_bytes\")\n"
"  hold          like client (server waits for the client's FIN; use with --hold-ms)\n"
"  simultaneous  both sides shutdown(SHUT_WR) at a wall-clock deadline sent by the\n"
"                client (\"REQ <i> <deadline_ms>\"); FIN or RST both accepted\n"
"\n"
"Server options:\n"
"  --listen ADDR          address to listen on (0.0.0.0, ::, 10.0.0.1, fd00::1 ...)\n"
"  --port P               port (0 = ephemeral; the port is written to --ready-file)\n"
"  --backlog N            listen backlog (default 128)\n"
"  --count N              exit after handling N connections (default: unlimited)\n"
"  --ready-file PATH      created (atomically, containing the port) once listening\n"
"  --timeout SEC          total lifetime, default 60; connections still open then\n"
"                         are closed\n"
"  --sequential           handle connections one at a time in-process (no fork)\n"
"  --max-children N       concurrent connection processes (default 4096)\n"
"  --hc-writes N          halfclose: writes after the client's FIN (default 5)\n"
"  --hc-bytes N           halfclose: bytes per write (default 100, max 65536)\n"
"  --hc-interval-ms M     halfclose: pause between writes (default 100)\n"
"  Output: {\"role\":\"server\",\"accepted\":..,\"ok\":..,\"failed\":..,\"timeouts\":..,\n"
"           \"resets\":..,\"seconds\":..}; exit 1 if a connection failed or\n"
"           --count was not reached (peer resets are not failures).\n"
"\n"
"Client options:\n"
"  --connect ADDR         server address\n"
"  --port P               server port\n"
"  --count N              connections to make (default 1)\n"
"  --parallel K           connections in flight at once (default 1)\n"
"  --interval-ms M        pause between connection starts (and, with --parallel 1,\n"
"                         after each connection ends) (default 0)\n"
"  --connect-timeout-ms T non-blocking connect timeout (default 1000)\n"
"  --hold-ms H            keep each connection open H ms after the reply, then close\n"
"  --bind ADDR            source address\n"
"  --sport P              source port, the same for every connection (SO_REUSEADDR;\n"
"                         use with --parallel 1: port reuse from TIME_WAIT)\n"
"  --sim-delay-ms D       simultaneous: close deadline = request time + D (default 300)\n"
"  --timeout SEC          stop after SEC seconds in total (default: none)\n"
"  --json, --stats        accepted for compatibility (the JSON line is always printed)\n"
"  Output (one JSON line):\n"
"    {\"attempted\",\"connected\",\"failed\",\"timeouts\",\"reply_ok\",\"connect_p50_ms\",\n"
"     \"connect_p99_ms\",\"connect_max_ms\",\"request_p50_ms\",\"request_p99_ms\",\n"
"     \"request_max_ms\" (request sent -> reply read),\"seconds\",\"reply_timeouts\",\"resets\",\n"
"     \"close_errors\",\"halfclose_bytes\",\"close\"}\n"
"    A connection succeeds iff connect succeeded and \"OK\" was read within 2 s;\n"
"    failed = attempted - successes (includes connect timeouts, counted in\n"
"    \"timeouts\"). close_errors = teardown went wrong (e.g. no FIN from the\n"
"    server within --io-timeout-ms); resets = RSTs seen (not errors).\n"
"    Exit 0 iff every connection succeeded and close_errors == 0.\n"
"\n"
"Common:\n"
"  --io-timeout-ms T      per-read/write inactivity timeout (default 5000)\n"
"  --verbose              per-connection log on stderr\n"
"\n"
"Exit status: 0 ok, 1 failure(s), 2 usage error.\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

enum {
	O_LISTEN = 256, O_CONNECT, O_PORT, O_BACKLOG, O_COUNT, O_CLOSE, O_READY,
	O_TIMEOUT, O_PARALLEL, O_INTERVAL, O_CTIMEOUT, O_HOLD, O_BIND, O_JSON,
	O_STATS, O_IOTIMEOUT, O_SEQ, O_MAXCH, O_HCW, O_HCB, O_HCI, O_SIMD,
	O_VERBOSE, O_HELP, O_SPORT,
};

static const struct option opts[] = {
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "connect", required_argument, NULL, O_CONNECT },
	{ "port", required_argument, NULL, O_PORT },
	{ "backlog", required_argument, NULL, O_BACKLOG },
	{ "count", required_argument, NULL, O_COUNT },
	{ "close", required_argument, NULL, O_CLOSE },
	{ "ready-file", required_argument, NULL, O_READY },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "parallel", required_argument, NULL, O_PARALLEL },
	{ "interval-ms", required_argument, NULL, O_INTERVAL },
	{ "connect-timeout-ms", required_argument, NULL, O_CTIMEOUT },
	{ "hold-ms", required_argument, NULL, O_HOLD },
	{ "bind", required_argument, NULL, O_BIND },
	{ "sport", required_argument, NULL, O_SPORT },
	{ "json", no_argument, NULL, O_JSON },
	{ "stats", no_argument, NULL, O_STATS },
	{ "io-timeout-ms", required_argument, NULL, O_IOTIMEOUT },
	{ "sequential", no_argument, NULL, O_SEQ },
	{ "max-children", required_argument, NULL, O_MAXCH },
	{ "hc-writes", required_argument, NULL, O_HCW },
	{ "hc-bytes", required_argument, NULL, O_HCB },
	{ "hc-interval-ms", required_argument, NULL, O_HCI },
	{ "sim-delay-ms", required_argument, NULL, O_SIMD },
	{ "verbose", no_argument, NULL, O_VERBOSE },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static int bad(const char *opt, const char *val)
{
	fprintf(stderr, "tcpkit: invalid value for --%s: '%s' (see --help)\n", opt, val);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct config cfg = {
		.port = -1,
		.backlog = 128,
		.count = -1,
		.parallel = 1,
		.close = CM_CLIENT,
		.connect_timeout_ms = 1000,
		.io_timeout_ms = 5000,
		.timeout_s = -1,
		.max_children = 4096,
		.hc_writes = 5,
		.hc_bytes = 100,
		.hc_interval_ms = 100,
		.sim_delay_ms = 300,
	};
	struct sigaction sa = { 0 };
	int c, i;
	long v;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "server")) {
		cfg.is_server = 1;
	} else if (strcmp(argv[1], "client")) {
		fprintf(stderr, "tcpkit: unknown mode '%s' (server|client|--help)\n", argv[1]);
		return EXIT_USAGE;
	}

	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *name = NULL;

		for (i = 0; opts[i].name; i++)
			if (opts[i].val == c)
				name = opts[i].name;
		switch (c) {
		case O_LISTEN:
			if (!cfg.is_server)
				goto wrong_mode;
			cfg.addr = optarg;
			break;
		case O_CONNECT:
			if (cfg.is_server)
				goto wrong_mode;
			cfg.addr = optarg;
			break;
		case O_PORT:
			if (parse_long(optarg, 0, 65535, &v))
				return bad(name, optarg);
			cfg.port = (int)v;
			break;
		case O_BACKLOG:
			if (parse_long(optarg, 1, 1 << 20, &v))
				return bad(name, optarg);
			cfg.backlog = (int)v;
			break;
		case O_COUNT:
			if (parse_long(optarg, 1, 100000000, &v))
				return bad(name, optarg);
			cfg.count = v;
			break;
		case O_CLOSE:
			for (i = 0; i < (int)(sizeof(close_names) / sizeof(close_names[0])); i++)
				if (!strcmp(optarg, close_names[i]))
					break;
			if (i == (int)(sizeof(close_names) / sizeof(close_names[0])))
				return bad(name, optarg);
			cfg.close = (enum close_mode)i;
			break;
		case O_READY:
			if (!cfg.is_server)
				goto wrong_mode;
			cfg.ready_file = optarg;
			break;
		case O_TIMEOUT:
			if (parse_long(optarg, 1, 86400, &v))
				return bad(name, optarg);
			cfg.timeout_s = (int)v;
			break;
		case O_PARALLEL:
			if (cfg.is_server)
				goto wrong_mode;
			if (parse_long(optarg, 1, 65536, &v))
				return bad(name, optarg);
			cfg.parallel = (int)v;
			break;
		case O_INTERVAL:
			if (parse_long(optarg, 0, 3600000, &v))
				return bad(name, optarg);
			cfg.interval_ms = (int)v;
			break;
		case O_CTIMEOUT:
			if (parse_long(optarg, 1, 600000, &v))
				return bad(name, optarg);
			cfg.connect_timeout_ms = (int)v;
			break;
		case O_HOLD:
			if (parse_long(optarg, 0, 3600000, &v))
				return bad(name, optarg);
			cfg.hold_ms = (int)v;
			break;
		case O_BIND:
			if (cfg.is_server)
				goto wrong_mode;
			cfg.bind_addr = optarg;
			break;
		case O_SPORT:
			if (cfg.is_server)
				goto wrong_mode;
			if (parse_long(optarg, 1, 65535, &v))
				return bad(name, optarg);
			cfg.sport = (int)v;
			break;
		case O_JSON:
		case O_STATS:
			break;
		case O_IOTIMEOUT:
			if (parse_long(optarg, 1, 600000, &v))
				return bad(name, optarg);
			cfg.io_timeout_ms = (int)v;
			break;
		case O_SEQ:
			cfg.sequential = 1;
			break;
		case O_MAXCH:
			if (parse_long(optarg, 1, 65536, &v))
				return bad(name, optarg);
			cfg.max_children = (int)v;
			break;
		case O_HCW:
			if (parse_long(optarg, 0, 100000, &v))
				return bad(name, optarg);
			cfg.hc_writes = (int)v;
			break;
		case O_HCB:
			if (parse_long(optarg, 1, 65536, &v))
				return bad(name, optarg);
			cfg.hc_bytes = (int)v;
			break;
		case O_HCI:
			if (parse_long(optarg, 0, 60000, &v))
				return bad(name, optarg);
			cfg.hc_interval_ms = (int)v;
			break;
		case O_SIMD:
			if (parse_long(optarg, 0, SIM_MAX_AHEAD_MS, &v))
				return bad(name, optarg);
			cfg.sim_delay_ms = (int)v;
			break;
		case O_VERBOSE:
			cfg.verbose = 1;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "tcpkit: see --help\n");
			return EXIT_USAGE;
		}
		continue;
wrong_mode:
		fprintf(stderr, "tcpkit: --%s is not a %s option\n", name,
			cfg.is_server ? "server" : "client");
		return EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "tcpkit: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!cfg.addr || cfg.port < 0) {
		fprintf(stderr, "tcpkit: %s and --port are required (see --help)\n",
			cfg.is_server ? "--listen" : "--connect");
		return EXIT_USAGE;
	}
	if (cfg.is_server) {
		if (cfg.count < 0)
			cfg.count = 0;
		if (cfg.timeout_s < 0)
			cfg.timeout_s = 60;
	} else {
		if (cfg.port == 0) {
			fprintf(stderr, "tcpkit: client needs a non-zero --port\n");
			return EXIT_USAGE;
		}
		if (cfg.close == CM_HOLD)
			cfg.close = CM_CLIENT;
		if (cfg.count < 0)
			cfg.count = 1;
		if (cfg.timeout_s < 0)
			cfg.timeout_s = 0;
		if (cfg.parallel > cfg.count)
			cfg.parallel = (int)cfg.count;
	}

	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) < 0) {
		perror("tcpkit: sigaction");
		return EXIT_FAIL;
	}
	sa.sa_handler = on_stop;	/* no SA_RESTART: interrupt poll() */
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
		perror("tcpkit: sigaction");
		return EXIT_FAIL;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	return cfg.is_server ? run_server(&cfg) : run_client(&cfg);
}
