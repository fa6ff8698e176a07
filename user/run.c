// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * run.c - one synguard run on one interface: checks, open, configure, load,
 * attach, the event loop, the summary, clean detach. It wires the modules
 * together: the output object, the tracker (sweeper thread), the cookie
 * controller; each gets what it needs passed in, nobody calls back here.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <net/if.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"
#include "clock.h"
#include "cookie.h"
#include "counters.h"
#include "metrics.h"
#include "ladder.h"
#include "output.h"
#include "owner.h"
#include "pin.h"
#include "policy.h"
#include "run.h"
#include "limit.h"
#include "track.h"
#include "skhint.h"
#include "synguard.skel.h"

/* Set from a signal handler (sg_run_stop()); read by the loop. */
static volatile sig_atomic_t stop_requested;
static bool verbose;

void sg_run_stop(void)
{
	stop_requested = 1;
}

static volatile sig_atomic_t reopen_requested;

void sg_run_reopen(void)
{
	reopen_requested = 1;
}

/* libbpf speaks only with -v: every failure gets one line of our own. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* The stats line ("stats", -i) and the exit "summary": counters, then the
 * tracker's flow counts; one write, so the sweeper's lines never cut in. */
static void print_counters(struct sg_out *out, struct sg_tracker *trk, int limit_fd,
			   struct sg_limit_hist *limit_hist, const char *what,
			   const __u64 *c, const __u64 *prev, double secs, __u64 now)
{
	static const int shown[] = { SG_CNT_PACKETS, SG_CNT_TCP, SG_CNT_SYN, SG_CNT_SYNACK, SG_CNT_FIN,
				     SG_CNT_RST, SG_CNT_OTHER, SG_CNT_MALFORMED, SG_CNT_EGRESS_TCP };
	struct sg_limited top[SG_LIMIT_TOP];
	char line[4096];
	size_t i, n = 0;
	int ntop = 0;

	/* --syn-limit: the sources it cut since the last stats line (stats)
	 * or since first seen (summary) */
	if (limit_fd >= 0)
		ntop = sg_limit_top(limit_fd, prev ? limit_hist : NULL, top, SG_LIMIT_TOP);
	if (ntop < 0)
		ntop = 0;

	if (sg_out_json(out)) {
		struct sg_json j;

		sg_out_record_begin(out, &j, line, sizeof(line), what, now);
		for (i = 0; i < SG_CNT_MAX; i++)
			sg_json_u64(&j, sg_counter_name(i), c[i]);
		if (prev && secs > 0)
			sg_json_double(&j, "pps", (c[SG_CNT_PACKETS] - prev[SG_CNT_PACKETS]) / secs, 0);
		sg_json_u64(&j, "lost_lines", sg_out_lost(out));
		if (limit_fd >= 0)
			sg_limit_json(&j, top, ntop);
		sg_tracker_counts_json(trk, &j);
		sg_out_record_end(out, &j);
		sg_out_flush(out);
		return;
	}
#define ADD(...) (n += snprintf(line + n, n < sizeof(line) ? sizeof(line) - n : 0, __VA_ARGS__))
	n = sg_out_time(out, now, line, sizeof(line));
	ADD("%s%s:", n ? " " : "", what);
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		ADD(" %s=%llu", sg_counter_name(shown[i]), (unsigned long long)c[shown[i]]);
	for (i = SG_CNT_COOKIE_SENT; i < SG_CNT_MAX; i++)
		if (c[i])
			ADD(" %s=%llu", sg_counter_name(i), (unsigned long long)c[i]);
	if (prev && secs > 0)
		ADD(" pps=%.0f", (c[SG_CNT_PACKETS] - prev[SG_CNT_PACKETS]) / secs);
	if (sg_out_lost(out))
		ADD(" lost_lines=%llu", (unsigned long long)sg_out_lost(out));
#undef ADD
	if (n < sizeof(line))
		n += sg_limit_text(top, ntop, line + n, sizeof(line) - n);
	if (n < sizeof(line))
		n += sg_tracker_counts_text(trk, line + n, sizeof(line) - n);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	sg_out_write(out, line, n);
	sg_out_flush(out);
}

/*
 * The sweeper (timers, alerts, flow counts) walks whole flow tables: in its
 * own thread, so the ring buffer is read on while it works.
 */
struct sweeper {
	struct sg_tracker *trk;
	pthread_t thread;
	int stop;	/* atomic */
};

/* The sweeper's nice value: when the CPU is short, the ring buffer's
 * reader (whose backlog becomes lost events) goes first; a sweep that comes
 * late only fires its timers late. */
#define SG_SWEEPER_NICE 10

static void *sweeper_main(void *arg)
{
	struct sweeper *sw = arg;

	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SG_SWEEPER_NICE);	/* this thread */

	while (!__atomic_load_n(&sw->stop, __ATOMIC_ACQUIRE)) {
		sg_tracker_tick(sw->trk, sg_now_ns());
		usleep(100 * 1000);
	}
	return NULL;
}

/* The event loop's poll timeouts: while records come (the programs do not
 * wake us for each, see sg_rb_flags() in bpf/sg_maps.h), and once they
 * stopped. */
#define SG_RB_BUSY_POLL_MS 5
#define SG_RB_IDLE_POLL_MS 100

static int on_event(void *ctx, void *data, size_t len)
{
	struct sg_event a, b;
	int n;

	if (len < sizeof(struct sg_event))
		return 0;
	n = sg_event_split(data, &a, &b);	/* (a twin record: two transitions) */
	sg_out_event(ctx, &a);
	if (n == 2)
		sg_out_event(ctx, &b);
	return 0;
}

/* Lines the output could not write since the last call: said once a
 * second as a loss record (which itself may be lost, but is counted). */
static void report_lost_lines(struct sg_out *out, __u64 *reported, __u64 now)
{
	__u64 lost = sg_out_lost(out);

	if (lost == *reported)
		return;
	if (sg_out_json(out)) {
		char buf[256];
		struct sg_json j;

		sg_out_record_begin(out, &j, buf, sizeof(buf), "loss", now);
		sg_json_str(&j, "what", "lost_lines");
		sg_json_u64(&j, "lost", lost - *reported);
		sg_out_record_end(out, &j);
	} else {
		char ts[40];

		sg_out_time(out, now, ts, sizeof(ts));
		sg_out_text(out, "%s%sLOSS %llu lost_lines", ts, ts[0] ? " " : "",
			    (unsigned long long)(lost - *reported));
	}
	*reported = lost;
}

/* The MSS our SYN-ACKs offer follows the interface's MTU (checked once a
 * second): a changed MTU is written to the programs' live value. */
static void follow_mtu(struct synguard_bpf *skel, const struct sg_config *cfg, const struct sg_attach *at,
		       int *last)
{
	int mtu = sg_read_mtu(at->ifname);
	__u16 m4, m6;

	if (cfg->mode == SG_MODE_MONITOR || mtu < 576 || mtu > 65535 || mtu == *last)
		return;
	sg_mss_for_mtu(mtu, &m4, &m6);
	skel->bss->sg_mss_live[0] = m4;
	skel->bss->sg_mss_live[1] = m6;
	if (!cfg->json || cfg->verbose)
		fprintf(stderr, "synguard: %s: MTU now %d, SYN-ACKs offer MSS %u (IPv4), %u (IPv6)\n", at->ifname,
			mtu, m4, m6);
	*last = mtu;
}

/* 1 if the interface we attached to is gone (deleted, or its veth peer's
 * namespace removed): the kernel dropped our programs with it. */
static int iface_gone(const struct sg_attach *at)
{
	char name[IF_NAMESIZE];

	return !if_indextoname(at->ifindex, name) && errno == ENXIO;
}

/*
 * The named network namespace (ip netns) we run in, if any: "removing" it
 * (ip netns del) only unmounts its name while we keep it alive, with the
 * interface and our programs in it. Its operator meant it gone: so do we.
 */
struct netns_name {
	char path[300];
	dev_t dev;
	ino_t ino;
};

static void netns_find(struct netns_name *nn)
{
	struct stat self, st;
	struct dirent *d;
	DIR *dir;

	nn->path[0] = '\0';
	if (stat("/proc/self/ns/net", &self) || !(dir = opendir("/run/netns")))
		return;
	while ((d = readdir(dir))) {
		char p[sizeof(nn->path)];

		if (d->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/run/netns/%s", d->d_name);
		if (!stat(p, &st) && st.st_dev == self.st_dev && st.st_ino == self.st_ino) {
			snprintf(nn->path, sizeof(nn->path), "%s", p);
			nn->dev = st.st_dev;
			nn->ino = st.st_ino;
			break;
		}
	}
	closedir(dir);
}

static int netns_removed(const struct netns_name *nn)
{
	struct stat st;

	return nn->path[0] && (stat(nn->path, &st) || st.st_dev != nn->dev || st.st_ino != nn->ino);
}

/* Without --pin, an interface a pinned instance serves is not ours to take. */
static int refuse_pinned(const char *ifname)
{
	if (!sg_pin_exists(ifname))
		return 0;
	fprintf(stderr,
		"synguard: %s is served by a pinned synguard instance (%s/%s): run 'synguard --pin ... %s' to "
		"adopt it, or 'synguard unload %s' first\n",
		ifname, SG_PIN_ROOT, ifname, ifname, ifname);
	return -EBUSY;
}

/* 1 if the kernel's verifier accepts a 64-bit BPF_CMPXCHG (Linux 5.12):
 * a program that swaps a stack slot. libbpf has no probe for instructions. */
static int probe_cmpxchg(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_10, .off = -8, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1 },
		{ .code = BPF_STX | BPF_ATOMIC | BPF_DW, .dst_reg = BPF_REG_10, .src_reg = BPF_REG_1, .off = -8,
		  .imm = BPF_CMPXCHG },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 2 /* XDP_PASS */ },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", insns, sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/*
 * What the programs need of the kernel, each probed: one line naming what
 * is missing and the kernel it takes, rather than a verifier log at load.
 * (--mode protect/auto's kfunc is checked by the cookie controller.)
 */
static int check_kernel(void)
{
	struct {
		const char *what, *version;
		int ok;
	} f[] = {
		{ "BPF ring buffers", "5.8", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) > 0 },
		{ "the bpf_ktime_get_coarse_ns() helper", "5.11",
		  libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_coarse_ns, NULL) > 0 },
		{ "64-bit BPF atomic compare-and-exchange", "5.12", probe_cmpxchg() },
		{ "BPF syscall programs", "5.14", libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, NULL) > 0 },
		{ "the bpf_loop() helper", "5.17", libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_loop, NULL) > 0 },
	};
	const char *need = NULL;
	char line[512];
	size_t n = 0;
	struct stat st;

	if (stat("/sys/kernel/btf/vmlinux", &st)) {
		fprintf(stderr, "synguard: this kernel has no BTF (/sys/kernel/btf/vmlinux): "
				"CO-RE needs CONFIG_DEBUG_INFO_BTF=y (kernel >= 5.17 built with BTF)\n");
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].ok)
			continue;
		n += snprintf(line + n, n < sizeof(line) ? sizeof(line) - n : 0, "%s%s (%s)", need ? ", " : "",
			      f[i].what, f[i].version);
		need = f[i].version;	/* (the table is in version order) */
	}
	if (!need)
		return 0;
	fprintf(stderr, "synguard: this kernel lacks %s: needs kernel >= %s\n", line, need);
	return -ENOTSUP;
}

static void print_start(struct sg_out *out, const struct sg_config *cfg, const struct sg_attach *at,
			const struct sg_pin *pin)
{
	static const char *const mode_name[] = { "monitor", "protect", "auto" };
	const char *xdp_mode = cfg->xdp_mode == SG_XDP_SKB ? "skb" : "native";
	static const char *const how_name[] = { "none", "link", "netlink", "libxdp" };
	const char *how = how_name[at->xdp_how & 3];
	const struct sg_meta *m = sg_pin_meta(pin);

	if (sg_out_json(out)) {
		char buf[512];
		struct sg_json j;

		sg_out_record_begin(out, &j, buf, sizeof(buf), "start", 0);
		sg_json_str(&j, "iface", at->ifname);
		sg_json_u64(&j, "ifindex", at->ifindex);
		sg_json_str(&j, "xdp_mode", xdp_mode);
		sg_json_str(&j, "xdp_attach", how);
		sg_json_str(&j, "mode", mode_name[cfg->mode]);
		if (pin) {
			sg_json_bool(&j, "pinned", true);
			sg_json_bool(&j, "adopted", sg_pin_adopting(pin));
			sg_json_u64(&j, "pinned_since", m->pinned_since);
		}
		sg_out_record_end(out, &j);
	} else {
		char since[64] = "";

		if (pin && sg_pin_adopting(pin)) {
			time_t t = (time_t)m->pinned_since;
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(since, sizeof(since), ", adopted the instance pinned since %Y-%m-%dT%H:%M:%SZ", &tm);
		} else if (pin) {
			snprintf(since, sizeof(since), ", pinned");
		}
		sg_out_text(out, "synguard %s: attached to %s (ifindex %d), XDP mode %s%s, TC egress%s, mode %s%s",
			    SG_VERSION, at->ifname, at->ifindex, xdp_mode,
			    at->xdp_how == SG_XDP_DISPATCHER ? " in libxdp's dispatcher" : "",
			    at->tc_ingress_attached ? "+ingress" : "", mode_name[cfg->mode], since);
	}
	sg_out_flush(out);
}

/* The owner lock's description, for `synguard status` (key=value lines). */
static void describe_owner(struct sg_owner *own, const struct sg_config *cfg, const struct synguard_bpf *skel)
{
	static const char *const mode_name[] = { "monitor", "protect", "auto" };
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	char text[512];
	int n;

	bpf_obj_get_info_by_fd(bpf_map__fd(skel->maps.sg_counters), &mi, &len);
	n = snprintf(text, sizeof(text), "iface=%s\nmode=%s\npinned=%d\nstarted=%lld\ncounters_map_id=%u\nports=",
		     cfg->ifname, mode_name[cfg->mode], cfg->pin ? 1 : 0, (long long)time(NULL), mi.id);
	for (int i = 0; i < cfg->nprot_ports && n > 0 && (size_t)n < sizeof(text) - 8; i++)
		n += snprintf(text + n, sizeof(text) - n, "%s%u", i ? "," : "", cfg->prot_ports[i]);
	if (n > 0 && (size_t)n < sizeof(text) - 1)
		snprintf(text + n, sizeof(text) - n, "\n");
	sg_owner_describe(own, text);
}

int sg_run(const struct sg_config *cfg)
{
	struct sg_attach at;
	struct sg_owner own = { .fd = -1 };
	struct sg_pin *pin = NULL;
	pid_t holder;
	struct sg_out_opts oo = { .json = cfg->json, .quiet = cfg->quiet, .ts = cfg->ts_style };
	struct ring_buffer *rb = NULL;
	struct synguard_bpf *skel = NULL;
	struct sg_out *out = NULL;
	struct sg_tracker *trk = NULL;
	struct sg_cookies *ck = NULL;
	struct sg_skhint_user *skh = NULL;	/* the socket hint's dumps (protect, auto) */
	struct sg_metrics *mx = NULL;
	FILE *of = stdout;
	struct sg_ladder *ladder = NULL;
	struct sweeper sw = {};
	struct netns_name nn;
	__u64 cnt[SG_CNT_MAX] = {}, prev[SG_CNT_MAX] = {}, start, last_tick, last_sec, last_check = 0;
	__u64 lost_reported = 0;
	int mtu = 0, limit_fd = -1;
	struct sg_limit_hist *limit_hist = NULL;
	bool sweeper_started = false;
	int busy = 0;	/* busy polls left before the idle one */
	int err;

	verbose = cfg->verbose;
	libbpf_set_print(libbpf_print);
	sg_attach_init(&at);
	at.xdp_mode = cfg->xdp_mode;
	at.mp_want = cfg->xdp_attach == SG_XDP_ATTACH_LIBXDP;	/* (adoption: as the instance was) */
	sg_mp_verbose(cfg->verbose);

	err = sg_check_iface(cfg->ifname, &at.ifindex);
	if (err)
		return 1;
	snprintf(at.ifname, sizeof(at.ifname), "%s", cfg->ifname);
	if (geteuid() != 0) {
		fprintf(stderr, "synguard: must run as root (needs CAP_BPF and CAP_NET_ADMIN)\n");
		return 1;
	}
	if (check_kernel())
		return 1;
	/* one synguard per interface; --pin: adopt a pinned instance */
	err = sg_owner_lock(&own, at.ifname, &holder);
	if (err)
		goto out;
	err = cfg->pin ? sg_pin_open(&pin, cfg, &at) : refuse_pinned(at.ifname);
	if (err)
		goto out;
	err = sg_check_existing_xdp(&at, cfg->force);
	if (err)
		goto out;
	if (cfg->output && !(of = sg_out_open_file(cfg->output))) {
		fprintf(stderr, "synguard: --output %s: %s\n", cfg->output, strerror(errno));
		err = -errno;
		goto out;
	}
	out = sg_out_new(of, &oo);
	if (!out) {
		err = -ENOMEM;
		goto out;
	}

	skel = synguard_bpf__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "synguard: opening BPF object failed: %s\n", strerror(-err));
		goto out;
	}
	sg_settings_apply(skel, cfg);
	if (sg_track_preload(skel, cfg) || sg_cookie_preload(skel, cfg) || sg_metrics_preload(skel, cfg) ||
	    sg_ladder_preload(skel, cfg) || sg_limit_preload(skel, cfg)) {
		err = -EINVAL;
		goto out;
	}
	err = sg_pin_reuse(pin, skel, cfg);
	if (err)
		goto out;
	/* libxdp's dispatcher: sg_xdp is loaded apart, as an extension (multiprog.c) */
	if (at.mp_want)
		bpf_program__set_autoload(skel->progs.sg_xdp, false);
	err = synguard_bpf__load(skel);
	if (err == -ENOMEM || err == -E2BIG) {
		/* preallocated hash maps, the kernel's ~64 bytes per entry
		 * included: IPv4 flows 168, IPv6 flows and handshakes 192 */
		fprintf(stderr,
			"synguard: cannot allocate the flow tables (--max-flows %u per family + --max-halfopen %u, "
			"about %llu MiB): %s; lower them or raise the memory limit\n",
			cfg->max_flows, cfg->max_halfopen,
			((unsigned long long)cfg->max_flows * (168 + 192) + (unsigned long long)cfg->max_halfopen * 192) >> 20,
			strerror(-err));
		goto out;
	}
	if (err) {
		fprintf(stderr, "synguard: loading BPF programs failed: %s (run with -v for libbpf's log)\n",
			strerror(-err));
		goto out;
	}

	if (cfg->syn_limit) {
		limit_fd = bpf_map__fd(skel->maps.sg_limit);
		limit_hist = sg_limit_hist_new();
		if (!limit_hist) {
			fprintf(stderr, "synguard: out of memory\n");
			err = -ENOMEM;
			goto out;
		}
	}
	if (sg_track_postload(skel, cfg) || sg_cookie_postload(skel, cfg) || sg_metrics_postload(skel, cfg)) {
		err = -EINVAL;
		goto out;
	}
	{
		struct sg_track_maps tm = {
			.flows4 = bpf_map__fd(skel->maps.sg_flows4),
			.flows = bpf_map__fd(skel->maps.sg_flows),
			.halfopen = bpf_map__fd(skel->maps.sg_halfopen),
			.quiet_ports = bpf_map__fd(skel->maps.sg_quiet_ports),
			.syn_rate = bpf_map__fd(skel->maps.sg_syn_rate),
			.counters = bpf_map__fd(skel->maps.sg_counters),
			.ho_count = bpf_map__fd(skel->maps.sg_ho_count),
		};
		struct sg_cookie_maps cm = {
			.secrets = bpf_map__fd(skel->maps.sg_ck_secrets),
			.ports = bpf_map__fd(skel->maps.sg_ck_ports),
			.stats = bpf_map__fd(skel->maps.sg_ck_stats),
			.slots = bpf_map__fd(skel->maps.sg_ck_slots),
		};

		trk = sg_tracker_new(&tm, cfg, out);
		ck = sg_cookies_new(&cm, cfg, out, sg_now_ns());
		if (!trk || (!ck && cfg->mode != SG_MODE_MONITOR)) {
			err = -ENOMEM;
			goto out;
		}
		if (sg_pin_adopting(pin))
			sg_cookies_resume(ck, sg_pin_meta(pin)->last_rotate_ns);
		/* (first dump in the loop, once attached: no socket made
		 * before then is missed; unarmed until it, and if it fails) */
		if (cfg->mode != SG_MODE_MONITOR)
			skh = sg_skhint_open(bpf_map__fd(skel->maps.sg_sk_hint));
	}
	if (cfg->metrics) {	/* before attaching: a taken port attaches nothing */
		struct sg_metrics_src ms = {
			.counters = bpf_map__fd(skel->maps.sg_counters),
			.ck_stats = bpf_map__fd(skel->maps.sg_ck_stats),
			.ck_slots = bpf_map__fd(skel->maps.sg_ck_slots),
			.hs_hist = bpf_map__fd(skel->maps.sg_hs_hist),
			.trk = trk, .ck = ck, .out = out, .cfg = cfg,
		};

		mx = sg_metrics_start(cfg->metrics, &ms);
		if (!mx) {
			err = -EINVAL;
			goto out;
		}
	}

	/* --deny, --allow: filled before the program is attached (or swapped in) */
	if (sg_policy_install(cfg->policy, bpf_map__fd(skel->maps.sg_deny), bpf_map__fd(skel->maps.sg_allow))) {
		err = -EINVAL;
		goto out;
	}
	err = at.mp_want ? sg_mp_attach(&at, skel) : sg_attach_xdp(&at, bpf_program__fd(skel->progs.sg_xdp));
	if (err)
		goto out;
	err = sg_attach_tc(&at, bpf_program__fd(skel->progs.sg_tc_egress),
			   cfg->mode == SG_MODE_MONITOR ? -1 : bpf_program__fd(skel->progs.sg_tc_ingress));
	if (err)
		goto out;
	err = sg_pin_commit(pin, skel, &at, cfg);
	if (err)
		goto out;
	sg_attach_commit(&at, pin != NULL);
	describe_owner(&own, cfg, skel);
	err = sg_cookie_ports(skel, cfg);
	if (err)
		goto out;

	rb = ring_buffer__new(bpf_map__fd(skel->maps.sg_events), on_event, out, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "synguard: ring buffer setup failed: %s\n", strerror(-err));
		goto out;
	}
	ladder = sg_ladder_new(cfg, skel, rb, out, &err);	/* --ladder, --diagram */
	if (err)
		goto out;
	print_start(out, cfg, &at, pin);
	if (cfg->policy)
		sg_policy_print(cfg->policy, out, sg_now_ns());

	sw.trk = trk;
	err = pthread_create(&sw.thread, NULL, sweeper_main, &sw);
	if (err) {
		fprintf(stderr, "synguard: cannot start the sweeper thread: %s\n", strerror(err));
		err = -err;
		goto out;
	}
	sweeper_started = true;

	netns_find(&nn);
	mtu = skel->rodata->sg_cfg.mss4 + 40;	/* the MTU the programs were loaded for */
	start = last_tick = last_sec = sg_now_ns();
	while (!stop_requested) {
		__u64 now;

		/* The programs wake us for the first record after a quiet
		 * millisecond, then at most once a millisecond (sg_rb_flags(),
		 * bpf/sg_maps.h): records that came without a wakeup are read
		 * when the poll times out, after SG_RB_BUSY_POLL_MS while
		 * records come, SG_RB_IDLE_POLL_MS once they stopped. */
		err = ring_buffer__poll(rb, busy ? SG_RB_BUSY_POLL_MS : SG_RB_IDLE_POLL_MS);
		if (err == 0)
			err = ring_buffer__consume(rb);
		if (err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0) {
			fprintf(stderr, "synguard: ring buffer poll failed: %s\n", strerror(-err));
			break;
		}
		/* two empty busy polls before the idle one: the first may
		 * return at once on the wakeup of a record already read (by
		 * the consume after a timeout), while a record that came
		 * without one waits in the ring */
		busy = err > 0 ? 2 : busy > 0 ? busy - 1 : 0;
		err = 0;
		now = sg_now_ns();
		/* (three syscalls: not after every batch of records) */
		if (now - last_check >= SG_RB_IDLE_POLL_MS * 1000000ull) {
			last_check = now;
			if (iface_gone(&at)) {
				fprintf(stderr, "synguard: interface %s (ifindex %d) disappeared; exiting\n",
					at.ifname, at.ifindex);
				at.gone = true;
				err = -ENODEV;
				break;
			}
		}
		if (reopen_requested) {
			reopen_requested = 0;
			err = cfg->output ? sg_out_reopen(out, cfg->output) : 0;
			if (err)
				fprintf(stderr, "synguard: reopening %s failed (%s); still writing to the old file\n",
					cfg->output, strerror(-err));
			sg_policy_reload(cfg->policy, out, sg_now_ns());	/* (a failure keeps the old lists) */
			err = 0;
		}
		sg_cookies_tick(ck, now);
		sg_skhint_tick(skh, now);
		sg_pin_note_rotation(pin, sg_cookies_last_rotate(ck));
		if (now - last_sec >= 1000000000ull) {
			report_lost_lines(out, &lost_reported, now);
			follow_mtu(skel, cfg, &at, &mtu);
			last_sec = now;
			if (netns_removed(&nn)) {
				fprintf(stderr, "synguard: network namespace %s was removed; detaching and exiting\n",
					nn.path + strlen("/run/netns/"));
				err = -ENODEV;
				break;
			}
		}
		/* live output into pipes and files too (stdout is then block-buffered) */
		sg_out_flush(out);
		if (cfg->interval > 0 && now - last_tick >= cfg->interval * 1e9) {
			if (!sg_counters_read(bpf_map__fd(skel->maps.sg_counters), cnt))
				print_counters(out, trk, limit_fd, limit_hist, "stats", cnt, prev, (now - last_tick) / 1e9, now);
			memcpy(prev, cnt, sizeof(cnt));
			last_tick = now;
		}
		if (cfg->duration > 0 && now - start >= cfg->duration * 1e9)
			break;
	}
	__atomic_store_n(&sw.stop, 1, __ATOMIC_RELEASE);
	pthread_join(sw.thread, NULL);
	sweeper_started = false;
	/* Drain what is already in the ring buffer before the summary. */
	ring_buffer__consume(rb);
	if (!sg_counters_read(bpf_map__fd(skel->maps.sg_counters), cnt))
		print_counters(out, trk, limit_fd, limit_hist, "summary", cnt, NULL, 0, sg_now_ns());
	sg_tracker_summary(trk);
	sg_cookies_summary(ck, sg_now_ns());
	sg_ladder_finish(ladder);

out:
	if (sweeper_started) {
		__atomic_store_n(&sw.stop, 1, __ATOMIC_RELEASE);
		pthread_join(sw.thread, NULL);
	}
	sg_metrics_stop(mx);	/* (it reads the objects below) */
	ring_buffer__free(rb);
	sg_ladder_free(ladder);
	sg_detach_all(&at);
	synguard_bpf__destroy(skel);
	sg_cookies_free(ck);
	sg_skhint_close(skh);
	sg_tracker_free(trk);
	sg_limit_hist_free(limit_hist);
	if (out)
		sg_out_flush(out);
	sg_out_free(out);
	if (of && of != stdout)
		fclose(of);
	if (!err && !cfg->json && at.keep)
		fprintf(stderr, "synguard: left %s protected: the data path stays pinned at %s/%s "
				"('synguard unload %s' removes it)\n", at.ifname, SG_PIN_ROOT, at.ifname, at.ifname);
	else if (!err && !cfg->json)
		fprintf(stderr, "synguard: detached from %s\n", at.ifname);
	sg_pin_close(pin);
	sg_owner_unlock(&own);
	return err ? 1 : 0;
}
