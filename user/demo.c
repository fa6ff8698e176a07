// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * demo.c - `synguard demo`: the main job on an embedded default. Two network
 * namespaces joined by a veth pair, a small server in one, a client making
 * real connections from the other, synguard attached to the server side for
 * a while; then everything is removed, also on Ctrl-C or failure.
 *
 * Traffic stays inside the two namespaces this function creates.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "sg_user.h"
#include "run.h"

#define DEMO_PORT 8080
#define DEMO_SRV_ADDR "10.201.0.1"
#define DEMO_CLI_ADDR "10.201.0.2"

static char ns_srv[32], ns_cli[32];
static pid_t kids[2];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

static void demo_cleanup(void)
{
	for (int i = 0; i < 2; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
	if (ns_srv[0])
		sh("ip netns del %s 2>/dev/null", ns_srv);
	if (ns_cli[0])
		sh("ip netns del %s 2>/dev/null", ns_cli);
	ns_srv[0] = ns_cli[0] = '\0';
}

/* In a forked child: default signal handling (the parent's handlers only set a flag), die with the parent. */
static void child_init(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static int enter_netns(const char *name)
{
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = setns(fd, CLONE_NEWNET) ? -errno : 0;
	close(fd);
	return err;
}

/* Server: accept, read a request, answer, and close first on every other connection. */
static void run_server(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(DEMO_PORT) };
	int one = 1, ls, n = 0;

	inet_pton(AF_INET, DEMO_SRV_ADDR, &a.sin_addr);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (void *)&a, sizeof(a)) || listen(ls, 128))
		_exit(1);
	for (;;) {
		char buf[256];
		int c = accept(ls, NULL, NULL);

		if (c < 0)
			continue;
		if (read(c, buf, sizeof(buf)) > 0 && write(c, "hello from the server\n", 22) < 0)
			;
		if (n++ % 2) {
			close(c); /* server closes first */
		} else {
			while (read(c, buf, sizeof(buf)) > 0) /* wait for the client's FIN */
				;
			close(c);
		}
	}
}

/* Client: a connection every 700 ms; alternately closes first. */
static void run_client(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(DEMO_PORT) };

	inet_pton(AF_INET, DEMO_SRV_ADDR, &a.sin_addr);
	for (int i = 0;; i++) {
		char buf[256];
		int s = socket(AF_INET, SOCK_STREAM, 0);

		usleep(700 * 1000);
		if (s < 0 || connect(s, (void *)&a, sizeof(a))) {
			if (s >= 0)
				close(s);
			continue;
		}
		if (write(s, "GET / demo\n", 11) < 0 || read(s, buf, sizeof(buf)) < 0)
			;
		if (i % 2 == 0) {
			usleep(100 * 1000);
			close(s);
		} else {
			while (read(s, buf, sizeof(buf)) > 0)
				;
			close(s);
		}
	}
}

int sg_demo(int argc, char **argv)
{
	struct sg_config cfg;
	pid_t pid = getpid();
	double secs = 8;
	int rc;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: synguard demo [SECONDS]\n\n"
		       "Creates namespaces sgd-srv-PID and sgd-cli-PID joined by a veth pair\n"
		       "(%s <-> %s), starts a TCP server and a client making a connection\n"
		       "every 0.7 s, attaches synguard to the server side for SECONDS (default 8)\n"
		       "and prints what it sees; then removes everything.\n",
		       DEMO_SRV_ADDR, DEMO_CLI_ADDR);
		return 0;
	}
	if (argc > 1 && sg_parse_seconds(argv[1], 1, 3600, &secs)) {
		fprintf(stderr, "synguard demo: invalid duration '%s' (seconds, 1 to 3600)\n", argv[1]);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "synguard demo: must run as root (creates namespaces, attaches BPF)\n");
		return 1;
	}
	snprintf(ns_srv, sizeof(ns_srv), "sgd-srv-%d", pid);
	snprintf(ns_cli, sizeof(ns_cli), "sgd-cli-%d", pid);
	atexit(demo_cleanup);

	if (sh("ip netns add %s && ip netns add %s", ns_srv, ns_cli) ||
	    sh("ip -n %s link add sgd0 type veth peer name sgd1 netns %s", ns_srv, ns_cli) ||
	    sh("ip -n %s addr add %s/24 dev sgd0 && ip -n %s link set sgd0 up && ip -n %s link set lo up",
	       ns_srv, DEMO_SRV_ADDR, ns_srv, ns_srv) ||
	    sh("ip -n %s addr add %s/24 dev sgd1 && ip -n %s link set sgd1 up && ip -n %s link set lo up",
	       ns_cli, DEMO_CLI_ADDR, ns_cli, ns_cli)) {
		fprintf(stderr, "synguard demo: setting up namespaces failed (is iproute2 installed?)\n");
		demo_cleanup();
		return 1;
	}

	kids[0] = fork();
	if (kids[0] == 0) {
		child_init();
		if (enter_netns(ns_srv))
			_exit(1);
		run_server();
	}
	usleep(200 * 1000);
	kids[1] = fork();
	if (kids[1] == 0) {
		child_init();
		if (enter_netns(ns_cli))
			_exit(1);
		run_client();
	}

	if (enter_netns(ns_srv)) {
		fprintf(stderr, "synguard demo: cannot enter namespace %s: %s\n", ns_srv, strerror(errno));
		demo_cleanup();
		return 1;
	}
	printf("synguard demo: server %s:%d in netns %s, client %s in netns %s, veth sgd0<->sgd1; "
	       "watching sgd0 for %.0f s\n",
	       DEMO_SRV_ADDR, DEMO_PORT, ns_srv, DEMO_CLI_ADDR, ns_cli, secs);
	fflush(stdout);

	sg_config_defaults(&cfg);
	cfg.ifname = "sgd0";
	cfg.duration = secs;
	cfg.interval = 2;
	rc = sg_run(&cfg);
	demo_cleanup();
	printf("synguard demo: namespaces removed\n");
	return rc;
}
