// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synguard - SYN-flood defence and live TCP connection-state tracking
 * with XDP. This file: command line, load, attach, event loop, clean detach.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"
#include "synguard.skel.h"

volatile int sg_exiting;
static struct sg_config cfg;

const char *argp_program_version = "synguard " SG_VERSION;
const char *argp_program_bug_address = "<https://github.com/synguard/synguard/issues>";
static const char doc[] =
	"synguard: SYN-flood defence and live TCP connection-state tracking with XDP.\n"
	"\n"
	"Attaches an XDP program (ingress) and a TC program (egress) to IFACE and\n"
	"reports what TCP does on it. Ctrl-C or SIGTERM detaches everything.\n"
	"\n"
	"USAGE: synguard [OPTIONS] IFACE\n"
	"       synguard demo      (namespaces + veth pair, a server, a client)\n"
	"\n"
	"EXAMPLES:\n"
	"    synguard eth0                  # count TCP packets by class on eth0\n"
	"    synguard -i 1 eth0             # print a stats line every second\n"
	"    synguard --xdp-mode skb eth0   # generic XDP for drivers without native XDP\n"
	"    synguard demo                  # self-contained demo, no NIC needed\n"
	"\n"
	"Exit status: 0 ok, 1 runtime error, 2 bad usage.";

enum {
	OPT_XDP_MODE = 0x100,
	OPT_DURATION,
};

static const struct argp_option opts[] = {
	{ "xdp-mode", OPT_XDP_MODE, "MODE", 0, "XDP attach mode: native (default) or skb", 0 },
	{ "force", 'f', NULL, 0, "Replace an XDP program already on IFACE", 0 },
	{ "interval", 'i', "SEC", 0, "Print a stats line every SEC seconds", 0 },
	{ "duration", OPT_DURATION, "SEC", 0, "Detach and exit after SEC seconds", 0 },
	{ "json", 'j', NULL, 0, "One JSON object per line", 0 },
	{ "quiet", 'q', NULL, 0, "No per-event lines: stats and summary only", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf debug output", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show this help", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_XDP_MODE:
		if (!strcmp(arg, "native") || !strcmp(arg, "drv"))
			cfg.xdp_mode = SG_XDP_NATIVE;
		else if (!strcmp(arg, "skb") || !strcmp(arg, "generic"))
			cfg.xdp_mode = SG_XDP_SKB;
		else
			argp_error(state, "--xdp-mode must be 'native' or 'skb', not '%s'", arg);
		break;
	case 'f':
		cfg.force = true;
		break;
	case 'i':
		if (sg_parse_seconds(arg, 0.1, 86400, &cfg.interval))
			argp_error(state, "invalid interval '%s' (seconds, 0.1 to 86400)", arg);
		break;
	case OPT_DURATION:
		if (sg_parse_seconds(arg, 0.1, 31536000, &cfg.duration))
			argp_error(state, "invalid duration '%s' (seconds)", arg);
		break;
	case 'j':
		cfg.json = true;
		break;
	case 'q':
		cfg.quiet = true;
		break;
	case 'v':
		cfg.verbose = true;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		if (cfg.ifname)
			argp_error(state, "only one interface, got '%s' and '%s'", cfg.ifname, arg);
		cfg.ifname = arg;
		break;
	case ARGP_KEY_END:
		if (!cfg.ifname)
			argp_error(state, "no interface given (or use 'synguard demo')");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !cfg.verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void on_signal(int sig)
{
	(void)sig;
	sg_exiting = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sum the per-CPU counters. */
static int read_counters(struct synguard_bpf *skel, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sg_counters *vals;
	__u32 zero = 0;
	int err;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	err = bpf_map_lookup_elem(bpf_map__fd(skel->maps.sg_counters), &zero, vals);
	if (!err) {
		memset(out, 0, sizeof(__u64) * SG_CNT_MAX);
		for (int cpu = 0; cpu < ncpu; cpu++)
			for (int i = 0; i < SG_CNT_MAX; i++)
				out[i] += vals[cpu].c[i];
	}
	free(vals);
	return err ? -errno : 0;
}

static void print_counters(const char *what, const __u64 *c, const __u64 *prev, double secs)
{
	static const int shown[] = { SG_CNT_PACKETS, SG_CNT_TCP, SG_CNT_SYN, SG_CNT_SYNACK, SG_CNT_FIN,
				     SG_CNT_RST, SG_CNT_OTHER, SG_CNT_MALFORMED, SG_CNT_EGRESS_TCP };
	char ts[40];
	size_t i;

	sg_format_time(sg_boot_offset_ns() + (__u64)(now_s() * 1e9), cfg.ts_style, cfg.json, ts, sizeof(ts));
	if (cfg.json) {
		printf("{\"ts\":\"%s\",\"type\":\"%s\"", ts, what);
		for (i = 0; i < SG_CNT_MAX; i++)
			printf(",\"%s\":%llu", sg_counter_name(i), (unsigned long long)c[i]);
		if (prev && secs > 0)
			printf(",\"pps\":%.0f", (c[SG_CNT_PACKETS] - prev[SG_CNT_PACKETS]) / secs);
		printf("}\n");
	} else {
		printf("%s%s%s:", ts, ts[0] ? " " : "", what);
		for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
			printf(" %s=%llu", sg_counter_name(shown[i]), (unsigned long long)c[shown[i]]);
		for (i = SG_CNT_COOKIE_SENT; i < SG_CNT_MAX; i++)
			if (c[i])
				printf(" %s=%llu", sg_counter_name(i), (unsigned long long)c[i]);
		if (prev && secs > 0)
			printf(" pps=%.0f", (c[SG_CNT_PACKETS] - prev[SG_CNT_PACKETS]) / secs);
		printf("\n");
	}
	fflush(stdout);
}

struct run_ctx {
	__u64 boot_offset;
	__u64 events;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct run_ctx *rc = ctx;
	char line[512];

	if (len < sizeof(struct sg_event))
		return 0;
	rc->events++;
	if (cfg.quiet)
		return 0;
	sg_format_event(data, cfg.json, cfg.ts_style, rc->boot_offset, line, sizeof(line));
	puts(line);
	return 0;
}

static int check_kernel(void)
{
	struct stat st;

	if (stat("/sys/kernel/btf/vmlinux", &st)) {
		fprintf(stderr, "synguard: this kernel has no BTF (/sys/kernel/btf/vmlinux): "
				"CO-RE needs CONFIG_DEBUG_INFO_BTF=y (kernel >= 5.8 built with BTF)\n");
		return -ENOTSUP;
	}
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) <= 0) {
		fprintf(stderr, "synguard: this kernel lacks BPF ring buffers (needs >= 5.8)\n");
		return -ENOTSUP;
	}
	return 0;
}

int sg_run(struct sg_config *c)
{
	struct sg_attach at = { .tc_egress_fd = -1, .tc_ingress_fd = -1 };
	struct run_ctx rc = { .boot_offset = sg_boot_offset_ns() };
	struct ring_buffer *rb = NULL;
	struct synguard_bpf *skel = NULL;
	__u64 cnt[SG_CNT_MAX] = {}, prev[SG_CNT_MAX] = {};
	double start, last_tick;
	int err;

	if (c != &cfg)
		cfg = *c;
	libbpf_set_print(libbpf_print);

	err = sg_check_iface(cfg.ifname, &at.ifindex);
	if (err)
		return 1;
	snprintf(at.ifname, sizeof(at.ifname), "%s", cfg.ifname);
	if (geteuid() != 0) {
		fprintf(stderr, "synguard: must run as root (needs CAP_BPF and CAP_NET_ADMIN)\n");
		return 1;
	}
	if (check_kernel())
		return 1;
	if (sg_check_existing_xdp(at.ifindex, at.ifname, cfg.force))
		return 1;

	skel = synguard_bpf__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "synguard: opening BPF object failed: %s\n", strerror(-err));
		goto out;
	}
	err = synguard_bpf__load(skel);
	if (err) {
		fprintf(stderr, "synguard: loading BPF programs failed: %s (run with -v for the verifier log)\n",
			strerror(-err));
		goto out;
	}

	err = sg_attach_xdp(&at, bpf_program__fd(skel->progs.sg_xdp), cfg.xdp_mode, cfg.force);
	if (err)
		goto out;
	err = sg_attach_tc(&at, bpf_program__fd(skel->progs.sg_tc_egress), -1);
	if (err)
		goto out;

	rb = ring_buffer__new(bpf_map__fd(skel->maps.sg_events), on_event, &rc, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "synguard: ring buffer setup failed: %s\n", strerror(-err));
		goto out;
	}

	if (!cfg.json)
		printf("synguard %s: attached to %s (ifindex %d), XDP mode %s, TC egress, mode monitor\n",
		       SG_VERSION, at.ifname, at.ifindex, cfg.xdp_mode == SG_XDP_SKB ? "skb" : "native");
	else
		printf("{\"type\":\"start\",\"iface\":\"%s\",\"ifindex\":%d,\"xdp_mode\":\"%s\",\"mode\":\"monitor\"}\n",
		       at.ifname, at.ifindex, cfg.xdp_mode == SG_XDP_SKB ? "skb" : "native");
	fflush(stdout);

	start = last_tick = now_s();
	while (!sg_exiting) {
		double t;

		err = ring_buffer__poll(rb, 100);
		if (err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0) {
			fprintf(stderr, "synguard: ring buffer poll failed: %s\n", strerror(-err));
			break;
		}
		err = 0;
		t = now_s();
		if (cfg.interval > 0 && t - last_tick >= cfg.interval) {
			if (!read_counters(skel, cnt))
				print_counters("stats", cnt, prev, t - last_tick);
			memcpy(prev, cnt, sizeof(cnt));
			last_tick = t;
		}
		if (cfg.duration > 0 && t - start >= cfg.duration)
			break;
	}
	/* Drain what is already in the ring buffer before the summary. */
	ring_buffer__consume(rb);
	if (!read_counters(skel, cnt))
		print_counters("summary", cnt, NULL, 0);

out:
	ring_buffer__free(rb);
	sg_detach_all(&at);
	synguard_bpf__destroy(skel);
	if (!err && !cfg.json)
		fprintf(stderr, "synguard: detached from %s\n", at.ifname);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .args_doc = "IFACE", .doc = doc };
	struct sigaction sa = { .sa_handler = on_signal };

	argp_err_exit_status = 2;
	sg_config_defaults(&cfg);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (argc >= 2 && !strcmp(argv[1], "demo"))
		return sg_demo(argc - 1, argv + 1);
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	return sg_run(&cfg);
}
