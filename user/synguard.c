// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synguard - SYN-flood defence and live TCP connection-state tracking
 * with XDP. This file: command line, load, attach, event loop, clean detach.
 */
#include <argp.h>
#include <errno.h>
#include <pthread.h>
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
	OPT_MODE,
	OPT_PORTS,
	OPT_SYN_THRESHOLD,
	OPT_ROTATE,
	OPT_TIME_WAIT,
	OPT_HALF_OPEN,
	OPT_IDLE,
	OPT_MAX_FLOWS,
	OPT_MAX_HALFOPEN,
	OPT_CLOSE_WAIT_ALERT,
	OPT_TIME_WAIT_ALERT,
};

static const struct argp_option opts[] = {
	{ NULL, 0, NULL, 0, "Attaching:", 1 },
	{ "xdp-mode", OPT_XDP_MODE, "MODE", 0, "XDP attach mode: native (default) or skb", 1 },
	{ "force", 'f', NULL, 0, "Replace an XDP program already on IFACE", 0 },
	{ "duration", OPT_DURATION, "SEC", 0, "Detach and exit after SEC seconds", 1 },
	{ NULL, 0, NULL, 0, "Output:", 2 },
	{ "interval", 'i', "SEC", 0, "Print a stats line (counters, flows by state) every SEC seconds", 2 },
	{ "json", 'j', NULL, 0, "One JSON object per line", 2 },
	{ "quiet", 'q', NULL, 0, "No per-transition lines: stats, alerts and summary only", 2 },
	{ "timestamp", 'T', "STYLE", OPTION_ARG_OPTIONAL,
	  "Timestamps: time (default), iso, unix, none; -T alone = iso", 2 },
	{ "verbose", 'v', NULL, 0, "Show libbpf debug output", 2 },
	{ NULL, 0, NULL, 0, "Tracking filters (applied in BPF):", 3 },
	{ "port", 'p', "PORTS", 0, "Only flows with this port on either side (list: 80,443,8000-8010)", 3 },
	{ "ipv4", '4', NULL, 0, "Only IPv4 flows", 3 },
	{ "ipv6", '6', NULL, 0, "Only IPv6 flows", 3 },
	{ "addr", 'a', "CIDR", 0, "Only flows with an endpoint in CIDR (repeatable, up to 8)", 3 },
	{ NULL, 0, NULL, 0, "Tracking timers and limits:", 4 },
	{ "time-wait", OPT_TIME_WAIT, "SEC", 0, "TIME_WAIT -> CLOSED after SEC (2MSL; default 60)", 4 },
	{ "half-open", OPT_HALF_OPEN, "SEC", 0, "Handshakes not completed in SEC expire (default 30)", 4 },
	{ "idle", OPT_IDLE, "SEC", 0, "Flows idle for SEC expire (default 7200)", 4 },
	{ "max-flows", OPT_MAX_FLOWS, "N", 0, "Flow table size (default 262144; 128 bytes each)", 4 },
	{ "max-halfopen", OPT_MAX_HALFOPEN, "N", 0, "Half-open (handshake) table size (default 65536)", 4 },
	{ "close-wait-alert", OPT_CLOSE_WAIT_ALERT, "SEC", 0,
	  "Alert when a flow stays in CLOSE_WAIT longer than SEC (default 60)", 4 },
	{ "time-wait-alert", OPT_TIME_WAIT_ALERT, "N", 0,
	  "Alert when more than N flows are in TIME_WAIT (default 10000)", 4 },
	{ NULL, 0, NULL, 0, "SYN-flood defence:", 5 },
	{ "mode", OPT_MODE, "MODE", 0,
	  "monitor (default: never changes a packet), protect (SYN cookies for protected ports), "
	  "auto (cookies while a port's SYN rate is over --syn-threshold)", 5 },
	{ "ports", OPT_PORTS, "PORTS", 0, "Protected ports (default: every port with a listener)", 5 },
	{ "syn-threshold", OPT_SYN_THRESHOLD, "PPS", 0,
	  "SYN rate per port for flood alerts, SYN summaries and --mode auto (default 1000)", 5 },
	{ "rotate", OPT_ROTATE, "SEC", 0, "Cookie secret rotation period (default 60)", 5 },
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
	case 'T':
		if (!arg || !strcmp(arg, "iso"))
			cfg.ts_style = SG_TS_ISO;
		else if (!strcmp(arg, "time"))
			cfg.ts_style = SG_TS_TIME;
		else if (!strcmp(arg, "unix"))
			cfg.ts_style = SG_TS_UNIX;
		else if (!strcmp(arg, "none"))
			cfg.ts_style = SG_TS_NONE;
		else
			argp_error(state, "-T must be time, iso, unix or none, not '%s'", arg);
		break;
	case 'p':
		if (sg_parse_port_list(arg, cfg.ports, SG_MAX_PORTS, &cfg.nports))
			argp_error(state, "invalid port list '%s' (1-65535, e.g. 80,443,8000-8010; at most %d)",
				   arg, SG_MAX_PORTS);
		break;
	case '4':
		cfg.only4 = true;
		break;
	case '6':
		cfg.only6 = true;
		break;
	case 'a':
		if (cfg.ncidrs >= SG_MAX_CIDRS)
			argp_error(state, "at most %d --addr filters", SG_MAX_CIDRS);
		if (sg_parse_cidr(arg, &cfg.cidrs[cfg.ncidrs]))
			argp_error(state, "invalid address or CIDR '%s'", arg);
		cfg.ncidrs++;
		break;
	case OPT_TIME_WAIT:
		if (sg_parse_u32(arg, 1, 3600, &cfg.time_wait))
			argp_error(state, "invalid --time-wait '%s' (seconds, 1-3600)", arg);
		break;
	case OPT_HALF_OPEN:
		if (sg_parse_u32(arg, 1, 3600, &cfg.half_open))
			argp_error(state, "invalid --half-open '%s' (seconds, 1-3600)", arg);
		break;
	case OPT_IDLE:
		if (sg_parse_u32(arg, 1, 604800, &cfg.idle))
			argp_error(state, "invalid --idle '%s' (seconds, 1-604800)", arg);
		break;
	case OPT_MAX_FLOWS:
		if (sg_parse_u32(arg, 1024, 16777216, &cfg.max_flows))
			argp_error(state, "invalid --max-flows '%s' (1024-16777216)", arg);
		break;
	case OPT_MAX_HALFOPEN:
		if (sg_parse_u32(arg, 1024, 16777216, &cfg.max_embryonic))
			argp_error(state, "invalid --max-halfopen '%s' (1024-16777216)", arg);
		break;
	case OPT_CLOSE_WAIT_ALERT:
		if (sg_parse_u32(arg, 1, 86400, &cfg.close_wait_alert))
			argp_error(state, "invalid --close-wait-alert '%s' (seconds, 1-86400)", arg);
		break;
	case OPT_TIME_WAIT_ALERT:
		if (sg_parse_u32(arg, 1, 16777216, &cfg.time_wait_alert))
			argp_error(state, "invalid --time-wait-alert '%s'", arg);
		break;
	case OPT_MODE:
		if (!strcmp(arg, "monitor"))
			cfg.mode = SG_MODE_MONITOR;
		else if (!strcmp(arg, "protect"))
			cfg.mode = SG_MODE_PROTECT;
		else if (!strcmp(arg, "auto"))
			cfg.mode = SG_MODE_AUTO;
		else
			argp_error(state, "--mode must be monitor, protect or auto, not '%s'", arg);
		break;
	case OPT_PORTS:
		if (sg_parse_port_list(arg, cfg.prot_ports, SG_MAX_PORTS, &cfg.nprot_ports))
			argp_error(state, "invalid --ports '%s' (1-65535, e.g. 80,443; at most %d)", arg,
				   SG_MAX_PORTS);
		break;
	case OPT_SYN_THRESHOLD:
		if (sg_parse_u32(arg, 1, 100000000, &cfg.syn_threshold))
			argp_error(state, "invalid --syn-threshold '%s' (SYNs per second, >= 1)", arg);
		break;
	case OPT_ROTATE:
		if (sg_parse_u32(arg, 1, 86400, &cfg.rotate))
			argp_error(state, "invalid --rotate '%s' (seconds, 1-86400)", arg);
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
		if (cfg.only4 && cfg.only6)
			argp_error(state, "-4 and -6 exclude each other");
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

/* Sum the per-CPU counters into out (all zero if they cannot be read). */
int sg_read_counters(struct synguard_bpf *skel, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sg_counters *vals;
	__u32 zero = 0;
	int err;

	memset(out, 0, sizeof(__u64) * SG_CNT_MAX);
	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	err = bpf_map_lookup_elem(bpf_map__fd(skel->maps.sg_counters), &zero, vals);
	if (!err) {
		for (int cpu = 0; cpu < ncpu; cpu++)
			for (int i = 0; i < SG_CNT_MAX; i++)
				out[i] += vals[cpu].c[i];
	}
	free(vals);
	return err ? -errno : 0;
}

/* The stats/summary line, written with one call so the sweeper thread's lines never cut into it. */
static void print_counters(const char *what, const __u64 *c, const __u64 *prev, double secs)
{
	static const int shown[] = { SG_CNT_PACKETS, SG_CNT_TCP, SG_CNT_SYN, SG_CNT_SYNACK, SG_CNT_FIN,
				     SG_CNT_RST, SG_CNT_OTHER, SG_CNT_MALFORMED, SG_CNT_EGRESS_TCP };
	char ts[40], line[4096];
	size_t i, n = 0;

#define ADD(...) (n += snprintf(line + n, n < sizeof(line) ? sizeof(line) - n : 0, __VA_ARGS__))
	sg_format_time(sg_boot_offset_ns() + sg_now_ns(), cfg.ts_style, cfg.json, ts, sizeof(ts));
	if (cfg.json) {
		ADD("{\"ts\":\"%s\",\"type\":\"%s\"", ts, what);
		for (i = 0; i < SG_CNT_MAX; i++)
			ADD(",\"%s\":%llu", sg_counter_name(i), (unsigned long long)c[i]);
		if (prev && secs > 0)
			ADD(",\"pps\":%.0f", (c[SG_CNT_PACKETS] - prev[SG_CNT_PACKETS]) / secs);
	} else {
		ADD("%s%s%s:", ts, ts[0] ? " " : "", what);
		for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
			ADD(" %s=%llu", sg_counter_name(shown[i]), (unsigned long long)c[shown[i]]);
		for (i = SG_CNT_COOKIE_SENT; i < SG_CNT_MAX; i++)
			if (c[i])
				ADD(" %s=%llu", sg_counter_name(i), (unsigned long long)c[i]);
		if (prev && secs > 0)
			ADD(" pps=%.0f", (c[SG_CNT_PACKETS] - prev[SG_CNT_PACKETS]) / secs);
	}
	if (n < sizeof(line))
		n += sg_track_format_states(line + n, sizeof(line) - n, cfg.json);
	ADD(cfg.json ? "}\n" : "\n");
#undef ADD
	fputs(line, stdout);
	fflush(stdout);
}

static __u64 boot_offset;

__u64 sg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Called from the ring-buffer loop and from the sweeper thread: one line, one call. */
void sg_emit(const struct sg_event *e)
{
	char line[512];
	int n;

	if (e->type <= SG_EV_STATS)
		__atomic_fetch_add(&sg_emitted[e->type], 1, __ATOMIC_RELAXED);
	/* -q keeps alerts, losses and summaries; it drops per-transition lines. */
	if (cfg.quiet && e->type == SG_EV_STATE)
		return;
	n = sg_format_event(e, cfg.json, cfg.ts_style, boot_offset, line, sizeof(line) - 1);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n] = '\n';
	line[n + 1] = '\0';
	fputs(line, stdout);
}

/*
 * The sweeper (timers, alerts, flow counts) walks whole flow tables: in its
 * own thread, so the ring buffer is read on while it works.
 */
static volatile int sweeper_stop;

static void *sweeper_main(void *arg)
{
	struct synguard_bpf *skel = arg;

	while (!sweeper_stop) {
		sg_track_tick(skel, &cfg, sg_now_ns());
		usleep(100 * 1000);
	}
	return NULL;
}

static int on_event(void *ctx, void *data, size_t len)
{
	if (len >= sizeof(struct sg_event))
		sg_emit(data);
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
	static const char *const mode_name[] = { "monitor", "protect", "auto" };
	struct sg_attach at = { .tc_egress_fd = -1, .tc_ingress_fd = -1 };
	struct ring_buffer *rb = NULL;
	struct synguard_bpf *skel = NULL;
	__u64 cnt[SG_CNT_MAX] = {}, prev[SG_CNT_MAX] = {};
	double start, last_tick;
	pthread_t sweeper;
	bool sweeper_started = false;
	int err;

	if (c != &cfg)
		cfg = *c;
	boot_offset = sg_boot_offset_ns();
	/* Into a pipe or a file: large writes (the loop flushes every 100 ms). */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
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
	if (sg_track_preload(skel, &cfg) || sg_cookie_preload(skel, &cfg)) {
		err = -EINVAL;
		goto out;
	}
	err = synguard_bpf__load(skel);
	if (err) {
		fprintf(stderr, "synguard: loading BPF programs failed: %s (run with -v for the verifier log)\n",
			strerror(-err));
		goto out;
	}

	if (sg_track_postload(skel, &cfg) || sg_cookie_postload(skel, &cfg)) {
		err = -EINVAL;
		goto out;
	}

	err = sg_attach_xdp(&at, bpf_program__fd(skel->progs.sg_xdp), cfg.xdp_mode, cfg.force);
	if (err)
		goto out;
	err = sg_attach_tc(&at, bpf_program__fd(skel->progs.sg_tc_egress),
			   cfg.mode == SG_MODE_MONITOR ? -1 : bpf_program__fd(skel->progs.sg_tc_ingress));
	if (err)
		goto out;

	rb = ring_buffer__new(bpf_map__fd(skel->maps.sg_events), on_event, NULL, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "synguard: ring buffer setup failed: %s\n", strerror(-err));
		goto out;
	}

	if (!cfg.json)
		printf("synguard %s: attached to %s (ifindex %d), XDP mode %s, TC egress%s, mode %s\n",
		       SG_VERSION, at.ifname, at.ifindex, cfg.xdp_mode == SG_XDP_SKB ? "skb" : "native",
		       at.tc_ingress_attached ? "+ingress" : "", mode_name[cfg.mode]);
	else
		printf("{\"type\":\"start\",\"iface\":\"%s\",\"ifindex\":%d,\"xdp_mode\":\"%s\",\"mode\":\"%s\"}\n",
		       at.ifname, at.ifindex, cfg.xdp_mode == SG_XDP_SKB ? "skb" : "native", mode_name[cfg.mode]);
	fflush(stdout);

	err = pthread_create(&sweeper, NULL, sweeper_main, skel);
	if (err) {
		fprintf(stderr, "synguard: cannot start the sweeper thread: %s\n", strerror(err));
		err = -err;
		goto out;
	}
	sweeper_started = true;

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
		sg_cookie_tick(skel, &cfg, sg_now_ns());
		/* live output into pipes and files too (stdout is then block-buffered) */
		fflush(stdout);
		if (cfg.interval > 0 && t - last_tick >= cfg.interval) {
			if (!sg_read_counters(skel, cnt))
				print_counters("stats", cnt, prev, t - last_tick);
			memcpy(prev, cnt, sizeof(cnt));
			last_tick = t;
		}
		if (cfg.duration > 0 && t - start >= cfg.duration)
			break;
	}
	sweeper_stop = 1;
	pthread_join(sweeper, NULL);
	sweeper_started = false;
	/* Drain what is already in the ring buffer before the summary. */
	ring_buffer__consume(rb);
	if (!sg_read_counters(skel, cnt))
		print_counters("summary", cnt, NULL, 0);
	sg_track_summary(skel, &cfg);
	sg_cookie_summary(skel, &cfg);

out:
	if (sweeper_started) {
		sweeper_stop = 1;
		pthread_join(sweeper, NULL);
	}
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
