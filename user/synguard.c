// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synguard - SYN-flood defence and live TCP connection-state tracking
 * with XDP. This file: the command line; run.c does the rest.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_user.h"
#include "metrics.h"
#include "ladder.h"
#include "run.h"
#include "service.h"
#include "policy.h"

static struct sg_config cfg;	/* filled by parse_arg() */

const char *argp_program_version = "synguard " SG_VERSION;
static const char doc[] =
	"synguard: SYN-flood defence and live TCP connection-state tracking with XDP.\n"
	"\n"
	"Attaches an XDP program (ingress) and a TC program (egress) to IFACE and\n"
	"reports what TCP does on it. Ctrl-C or SIGTERM detaches everything; with\n"
	"--pin, the programs and maps stay pinned and protecting when it exits.\n"
	"The XDP program joins libxdp's dispatcher at run priority 20: it shares\n"
	"IFACE with xdp-filter (priority 10, runs first) and other libxdp programs;\n"
	"its XDP_PASS goes on to the next program, XDP_DROP and XDP_TX end there.\n"
	"\n"
	"USAGE: synguard [OPTIONS] IFACE\n"
	"       synguard status [--json] [IFACE]   (instances, pinned or running)\n"
	"       synguard unload IFACE              (remove a pinned instance)\n"
	"       synguard demo      (namespaces + veth pair, a server, a client)\n"
	"\n"
	"EXAMPLES:\n"
	"    synguard eth0                  # count TCP packets by class on eth0\n"
	"    synguard -i 1 eth0             # print a stats line every second\n"
	"    synguard --xdp-mode skb eth0   # generic XDP for drivers without native XDP\n"
	"    synguard --pin --mode protect eth0  # a service: survives its process\n"
	"    synguard demo                  # self-contained demo, no NIC needed\n"
	"\n"
	"Exit status: 0 ok, 1 runtime error, 2 bad usage.";

enum {
	OPT_XDP_MODE = 0x100,
	OPT_DURATION,
	OPT_MODE,
	OPT_PORTS,
	OPT_SYN_THRESHOLD,
	OPT_SYN_ALERT,
	OPT_SYN_SUMMARY,
	OPT_ROTATE,
	OPT_TIME_WAIT,
	OPT_HALF_OPEN,
	OPT_IDLE,
	OPT_MAX_FLOWS,
	OPT_MAX_HALFOPEN,
	OPT_CLOSE_WAIT_ALERT,
	OPT_TIME_WAIT_ALERT,
	OPT_METRICS,
	OPT_SECRET_FILE,
	OPT_OUTPUT,
	OPT_PIN,
	OPT_SYN_LIMIT,
	OPT_SYN_LIMIT_TABLE,
	OPT_SYNACK_CAP,
	OPT_DENY,
	OPT_ALLOW,
	OPT_XDP_ATTACH,
};

static const struct argp_option opts[] = {
	{ NULL, 0, NULL, 0, "Attaching:", 1 },
	{ "xdp-mode", OPT_XDP_MODE, "MODE", 0, "XDP attach mode: native (default) or skb", 1 },
	{ "xdp-attach", OPT_XDP_ATTACH, "HOW", 0,
	  "libxdp (default: in libxdp's dispatcher, shared with other libxdp programs; a kill -9 leaves the "
	  "program there until the next synguard or 'synguard unload IFACE') or link (a BPF link of its own: "
	  "IFACE to itself, nothing left by a kill -9)", 1 },
	{ "force", 'f', NULL, 0,
	  "Replace an XDP program already on IFACE that is not in libxdp's dispatcher (in one step)", 0 },
	{ "pin", OPT_PIN, NULL, 0,
	  "Pin programs, maps and links under /sys/fs/bpf/synguard/IFACE: they stay attached after exit; "
	  "adopt an instance pinned there ('synguard unload IFACE' removes it)", 1 },
	{ "duration", OPT_DURATION, "SEC", 0, "Detach and exit after SEC seconds", 1 },
	{ NULL, 0, NULL, 0, "Output:", 2 },
	{ "interval", 'i', "SEC", 0, "Print a stats line (counters, flows by state) every SEC seconds", 2 },
	{ "json", 'j', NULL, 0, "One JSON object per line", 2 },
	{ "output", OPT_OUTPUT, "FILE", 0,
	  "Append the JSON lines to FILE instead of standard output (implies --json); "
	  "SIGHUP reopens it (log rotation)", 2 },
	{ "quiet", 'q', NULL, 0, "No per-transition lines: stats, alerts and summary only", 2 },
	{ "timestamp", 'T', "STYLE", 0, "Timestamps: time (default), iso, unix or none (-T iso)", 2 },
	{ "verbose", 'v', NULL, 0, "Show libbpf debug output", 2 },
	{ "metrics", OPT_METRICS, "[ADDR]:PORT", 0,
	  "Serve Prometheus metrics at http://ADDR:PORT/metrics (ADDR defaults to 127.0.0.1)", 2 },
	{ NULL, 0, NULL, 0, "Tracking filters (applied in BPF):", 3 },
	{ "port", 'p', "PORTS", 0, "Only flows with this port on either side (list: 80,443,8000-8010)", 3 },
	{ "ipv4", '4', NULL, 0, "Only IPv4 flows", 3 },
	{ "ipv6", '6', NULL, 0, "Only IPv6 flows", 3 },
	{ "addr", 'a', "CIDR", 0, "Only flows with an endpoint in CIDR (repeatable, up to 8)", 3 },
	{ NULL, 0, NULL, 0, "Tracking timers and limits:", 4 },
	{ "time-wait", OPT_TIME_WAIT, "SEC", 0, "TIME_WAIT -> CLOSED after SEC (2MSL; default 60)", 4 },
	{ "half-open", OPT_HALF_OPEN, "SEC", 0, "Handshakes not completed in SEC expire (default 30)", 4 },
	{ "idle", OPT_IDLE, "SEC", 0, "Flows idle for SEC expire (default 7200)", 4 },
	{ "max-flows", OPT_MAX_FLOWS, "N", 0, "Flow table size, per address family (default 262144; about 170 bytes an IPv4 entry, 190 an IPv6 one)", 4 },
	{ "max-halfopen", OPT_MAX_HALFOPEN, "N", 0, "Half-open (handshake) table size (default 65536)", 4 },
	{ "close-wait-alert", OPT_CLOSE_WAIT_ALERT, "SEC", 0,
	  "Alert when a flow stays in CLOSE_WAIT longer than SEC (default 60)", 4 },
	{ "time-wait-alert", OPT_TIME_WAIT_ALERT, "N", 0,
	  "Alert when more than N flows are in TIME_WAIT (default 10000)", 4 },
	{ "syn-alert", OPT_SYN_ALERT, "PPS", 0,
	  "Alert (syn_flood_start) when the interface sees more than PPS SYNs/s; ends below half (default 1000)", 4 },
	{ "syn-summary", OPT_SYN_SUMMARY, "PPS", 0,
	  "Above PPS new handshakes/s on a port (per CPU), one summary line a second replaces their lines "
	  "(default 1000)", 4 },
	{ NULL, 0, NULL, 0, "SYN-flood defence:", 5 },
	{ "mode", OPT_MODE, "MODE", 0,
	  "monitor (default: never changes a packet), protect (SYN cookies for protected ports), "
	  "auto (cookies while a port's SYN rate is over --syn-threshold)", 5 },
	{ "ports", OPT_PORTS, "PORTS", 0, "Protected ports (default: every port with a listener)", 5 },
	{ "syn-threshold", OPT_SYN_THRESHOLD, "PPS", 0,
	  "--mode auto: SYNs/s on a port that turn its cookies on (off again below half; default 1000)", 5 },
	{ "rotate", OPT_ROTATE, "SEC", 0, "Cookie secret rotation period (default 60)", 5 },
	{ "secret-file", OPT_SECRET_FILE, "FILE", 0,
	  "Cookie keys derived from FILE's 32 bytes (root, mode 0600) and the CLOCK_REALTIME window: "
	  "every node with FILE accepts the others' cookies", 5 },
	{ NULL, 0, NULL, 0, "Policy (order: --deny, --allow, --syn-limit and --synack-cap, cookies, tracking):", 7 },
	{ "deny", OPT_DENY, "CIDR|@FILE", 0,
	  "Drop every frame from these sources at XDP, first (repeatable; FILE: one address or CIDR a line, "
	  "'#' comments; SIGHUP re-reads the files)", 7 },
	{ "allow", OPT_ALLOW, "CIDR|@FILE", 0,
	  "Never send these sources a cookie nor limit them: the kernel answers their SYNs; tracked as usual "
	  "(repeatable, as --deny; --deny wins)", 7 },
	{ "syn-limit", OPT_SYN_LIMIT, "PPS[/PREFIX[,PREFIX6]]", 0,
	  "Drop SYNs over PPS per second from one source prefix (default /32 and /64; e.g. 100, 100/24, "
	  "100/24,48); any mode", 7 },
	{ "syn-limit-table", OPT_SYN_LIMIT_TABLE, "N", 0,
	  "Source prefixes --syn-limit rates at once, oldest evicted (default 65536; 48 bytes each)", 7 },
	{ "synack-cap", OPT_SYNACK_CAP, "PPS", 0,
	  "Reflection cap: SYN-ACKs per second synguard's cookies send to one /24 or /48, SYNs over it "
	  "dropped (default 5000; 0: off)", 7 },
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
	case OPT_XDP_ATTACH:
		if (!strcmp(arg, "libxdp"))
			cfg.xdp_attach = SG_XDP_ATTACH_LIBXDP;
		else if (!strcmp(arg, "link"))
			cfg.xdp_attach = SG_XDP_ATTACH_LINK;
		else
			argp_error(state, "--xdp-attach must be 'libxdp' or 'link', not '%s'", arg);
		break;
	case 'f':
		cfg.force = true;
		break;
	case OPT_PIN:
		cfg.pin = true;
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
		if (!strcmp(arg, "iso"))
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
		if (sg_parse_u32(arg, 1024, 16777216, &cfg.max_halfopen))
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
	case OPT_SYN_ALERT:
		if (sg_parse_u32(arg, 1, 100000000, &cfg.syn_alert))
			argp_error(state, "invalid --syn-alert '%s' (SYNs per second, >= 1)", arg);
		break;
	case OPT_SYN_SUMMARY:
		if (sg_parse_u32(arg, 1, 100000000, &cfg.syn_summary))
			argp_error(state, "invalid --syn-summary '%s' (handshakes per second, >= 1)", arg);
		break;
	case OPT_ROTATE:
		if (sg_parse_u32(arg, 1, 86400, &cfg.rotate))
			argp_error(state, "invalid --rotate '%s' (seconds, 1-86400)", arg);
		break;
	case OPT_METRICS:
		if (sg_metrics_parse_addr(arg, &(struct sockaddr_storage){}, &(socklen_t){ 0 }))
			argp_error(state, "invalid --metrics '%s' ([ADDR]:PORT, e.g. 9100, :9100, "
				   "0.0.0.0:9100, [::1]:9100)", arg);
		cfg.metrics = arg;
		break;
	case OPT_OUTPUT:
		cfg.output = arg;
		cfg.json = true;
		break;
	case OPT_SECRET_FILE:
		cfg.secret_file = arg;
		break;
	case OPT_SYN_LIMIT:
		if (sg_parse_syn_limit(arg, &cfg.syn_limit, &cfg.limit_prefix4, &cfg.limit_prefix6))
			argp_error(state, "invalid --syn-limit '%s' (PPS >= 1, then /PREFIX 0-32 and ,PREFIX6 "
				   "0-128: e.g. 100, 100/24, 100/24,48)", arg);
		break;
	case OPT_SYN_LIMIT_TABLE:
		if (sg_parse_u32(arg, 16, 16777216, &cfg.syn_limit_table))
			argp_error(state, "invalid --syn-limit-table '%s' (16-16777216)", arg);
		break;
	case OPT_SYNACK_CAP:
		if (sg_parse_u32(arg, 0, 100000000, &cfg.synack_cap))
			argp_error(state, "invalid --synack-cap '%s' (SYN-ACKs per second; 0: off)", arg);
		break;
	case OPT_DENY:
	case OPT_ALLOW: {
		const char ***list = key == OPT_DENY ? &cfg.deny : &cfg.allow;
		int *n = key == OPT_DENY ? &cfg.ndeny : &cfg.nallow;
		const char **grown;
		char msg[256];

		if (sg_policy_arg_check(key == OPT_DENY ? "--deny" : "--allow", arg, msg, sizeof(msg)))
			argp_error(state, "%s", msg);
		grown = realloc(*list, (*n + 1) * sizeof(**list));
		if (!grown)
			argp_failure(state, 1, ENOMEM, "--deny/--allow");
		*list = grown;
		(*list)[(*n)++] = arg;
		break;
	}
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &cfg;	/* the ladder options */
		break;
	case ARGP_KEY_ARG:
		if (cfg.ifname)
			argp_error(state, "only one interface, got '%s' and '%s'", cfg.ifname, arg);
		cfg.ifname = arg;
		break;
	case ARGP_KEY_END:
		if (cfg.only4 && cfg.only6)
			argp_error(state, "-4 and -6 exclude each other");
		if (cfg.secret_file && cfg.mode == SG_MODE_MONITOR)
			argp_error(state, "--secret-file is for SYN cookies: use it with --mode protect or auto");
		if (!cfg.ifname)
			argp_error(state, "no interface given (or use 'synguard demo')");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	sg_run_stop();
}

static void on_hup(int sig)
{
	(void)sig;
	sg_run_reopen();
}

int main(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{ &sg_ladder_argp, 0, "Ladder diagrams (needs a filter: -p, -a, -4 or -6):", 6 },
		{},
	};
	static const struct argp argp = { .options = opts, .parser = parse_arg, .args_doc = "IFACE", .doc = doc,
					  .children = children };
	struct sigaction sa = { .sa_handler = on_signal };
	int rc;

	argp_err_exit_status = 2;
	sg_config_defaults(&cfg);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (argc >= 2 && !strcmp(argv[1], "demo"))
		return sg_demo(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "status"))
		return sg_status_cmd(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "unload"))
		return sg_unload_cmd(argc - 1, argv + 1);
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	/* the lists are read now: a bad line is bad usage */
	if ((cfg.ndeny || cfg.nallow) &&
	    !(cfg.policy = sg_policy_new(cfg.deny, cfg.ndeny, cfg.allow, cfg.nallow)))
		return 2;
	/* SIGHUP: reopen --output (logrotate's convention), re-read the
	 * --deny/--allow files; without either it stays fatal */
	if (cfg.output || cfg.policy) {
		struct sigaction hup = { .sa_handler = on_hup };

		sigaction(SIGHUP, &hup, NULL);
	}
	rc = sg_run(&cfg);
	sg_policy_free(cfg.policy);
	free(cfg.deny);
	free(cfg.allow);
	return rc;
}
