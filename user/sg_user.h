/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_user.h - userspace configuration, option value parsers, the names of
 * states/causes/counters, event formatting and attach/detach. The objects
 * (output, tracker, cookie controller) have headers of their own.
 */
#ifndef SG_USER_H
#define SG_USER_H

#include <stdbool.h>
#include <stdio.h>
#include "synguard.h"
#include "sg_settings.h"

enum sg_xdp_mode { SG_XDP_NATIVE = 0, SG_XDP_SKB };
/* --xdp-attach: through libxdp's dispatcher (shared with other libxdp
 * programs, the default) or a BPF link of synguard's own. */
enum sg_xdp_attach { SG_XDP_ATTACH_LIBXDP = 0, SG_XDP_ATTACH_LINK };
enum sg_ts_style { SG_TS_TIME = 0, SG_TS_NONE, SG_TS_ISO, SG_TS_UNIX };

struct sg_cidr {
	__u8 family;
	__u8 prefix;
	__u32 addr[4]; /* network order */
};

/* --ladder, --diagram (user/ladder.c) */
enum sg_diagram_fmt { SG_DIAGRAM_PLANTUML = 0, SG_DIAGRAM_MERMAID };

struct sg_ladder_cfg {
	bool on;		/* --ladder: draw each flow's ladder on stdout */
	bool no_color;		/* --no-color */
	bool data;		/* --ladder-data: every segment of established flows too */
	const char *diagram_dir;	/* --diagram DIR */
	enum sg_diagram_fmt diagram_fmt;
	__u32 max;		/* --ladder-max: segments per flow (0: default) */
	__u32 rate;		/* --ladder-rate: records per second (0: default) */
};

struct sg_config {
	const char *ifname;
	enum sg_xdp_mode xdp_mode;
	enum sg_xdp_attach xdp_attach;
	enum sg_mode mode;
	enum sg_ts_style ts_style;
	bool force;
	bool pin;		/* --pin: the data path outlives the process (pin.c) */
	bool json;
	bool quiet;
	bool verbose;
	bool only4, only6;
	double interval;	/* seconds, 0 = no periodic stats */
	double duration;	/* seconds, 0 = until signalled */
	__u16 ports[SG_MAX_PORTS];	/* -p: track only these (either side) */
	int nports;
	struct sg_cidr cidrs[SG_MAX_CIDRS];	/* -a: track only these */
	int ncidrs;
	__u16 prot_ports[SG_MAX_PORTS];	/* --ports: cookie-protected ports */
	int nprot_ports;
	__u32 time_wait;	/* seconds */
	__u32 half_open;	/* seconds */
	__u32 idle;		/* seconds */
	__u32 max_flows;
	__u32 max_halfopen;
	__u32 syn_threshold;	/* --mode auto: a port's SYN/s that turns its cookies on */
	__u32 syn_alert;	/* SYN/s on the interface that starts a syn_flood alert */
	__u32 syn_summary;	/* new handshakes/s per port (and CPU) printed one by one */
	__u32 close_wait_alert;	/* seconds in CLOSE_WAIT before an alert */
	__u32 time_wait_alert;	/* TIME_WAIT flows before an alert */
	__u32 rotate;		/* seconds between cookie secret rotations */
	const char *metrics;	/* --metrics [ADDR]:PORT, NULL: no HTTP server */
	const char *secret_file;	/* --secret-file: fleet cookie keys (secret.h) */
	const char *output;	/* --output FILE: JSON lines appended there, reopened on SIGHUP */
	struct sg_ladder_cfg ladder;	/* --ladder, --diagram */
	/* policy (limit.c, bpf/sg_limit.h) */
	__u32 syn_limit;	/* --syn-limit: SYNs/s per source prefix, 0 = off */
	__u8 limit_prefix4, limit_prefix6;	/* its prefixes (default /32, /64) */
	__u32 syn_limit_table;	/* --syn-limit-table: source prefixes rated at once */
	__u32 synack_cap;	/* --synack-cap: SYN-ACKs/s per /24 or /48, 0 = off */
	/* --deny, --allow CIDR|@FILE, in the order given; policy: what main
	 * read of them (user/policy.h), NULL without either */
	const char **deny, **allow;
	int ndeny, nallow;
	struct sg_policy *policy;
};

void sg_config_defaults(struct sg_config *cfg);

/* Option value parsers: 0 on success, -1 (and nothing written) on bad input. */
int sg_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out);
int sg_parse_seconds(const char *s, double min, double max, double *out);
int sg_parse_port_list(const char *s, __u16 *ports, int max, int *n);
int sg_parse_cidr(const char *s, struct sg_cidr *c);
/* --syn-limit PPS[/PREFIX4[,PREFIX6]]: PPS >= 1, IPv4 0-32, IPv6 0-128. */
int sg_parse_syn_limit(const char *s, __u32 *pps, __u8 *prefix4, __u8 *prefix6);
const char *sg_state_name(unsigned int s);
const char *sg_cause_name(unsigned int c);
const char *sg_side_name(unsigned int s);
const char *sg_counter_name(unsigned int c);
const char *sg_alert_name(unsigned int a);

/* Output: format one event into buf (no trailing newline). Returns length. */
int sg_format_event(const struct sg_event *e, bool json, enum sg_ts_style ts,
		    __u64 boot_offset_ns, char *buf, size_t len);
/* Wall-clock ns minus monotonic ns: converts bpf_ktime_get_ns() to wall time. */
__u64 sg_boot_offset_ns(void);
int sg_format_time(__u64 wall_ns, enum sg_ts_style ts, bool json, char *buf, size_t len);
int sg_format_addr(__u8 family, const __u32 *addr, char *buf, size_t len);

/* Attach/detach (attach.c): XDP through libxdp's dispatcher (multiprog.c)
 * or a BPF link, TC through tcx links (kernel >= 6.6) or else clsact
 * filters synguard owns. */
enum sg_xdp_how { SG_XDP_NONE = 0, SG_XDP_LINK, SG_XDP_NETLINK, SG_XDP_DISPATCHER };
enum sg_tc_how { SG_TC_NONE = 0, SG_TC_TCX, SG_TC_CLSACT };
enum { SG_TC_EGRESS = 0, SG_TC_INGRESS = 1 };

struct sg_attach {
	int ifindex;
	char ifname[32];
	enum sg_xdp_mode xdp_mode;
	/* XDP */
	enum sg_xdp_how xdp_how;
	int xdp_link_fd;	/* SG_XDP_LINK: the link (ours or the pinned instance's) */
	int xdp_prog_fd;	/* the program now attached (not owned) */
	__u32 xdp_flags;	/* SG_XDP_NETLINK: the mode flag */
	int xdp_old_fd;		/* the program replaced (owned): put back on failure */
	__u32 xdp_old_id;
	__u32 xdp_own_link_id;	/* the pinned instance's XDP link: ours to update */
	/* libxdp's dispatcher (multiprog.c) */
	bool mp_want;		/* attach through the dispatcher (decided by sg_check_existing_xdp) */
	struct xdp_program *mp_prog;	/* SG_XDP_DISPATCHER: ours, in the dispatcher */
	struct bpf_object *xdp_obj;	/* the object sg_xdp was loaded from (not the skeleton's) */
	int mp_old_fd;		/* a synguard program in the dispatcher to take out (owned) */
	__u32 mp_old_id;
	bool mp_old_stale;	/* left by a killed synguard (else: the pinned instance's) */
	bool mp_old_removed;	/* taken out of the dispatcher by this run */
	/* TC, [SG_TC_EGRESS] and [SG_TC_INGRESS] */
	enum sg_tc_how tc_how;
	int tc_link_fd[2];	/* SG_TC_TCX: links (ours or the pinned instance's) */
	int tc_prog_fd[2];	/* the programs now attached (not owned); -1: none */
	int tc_old_fd[2];	/* adoption: the programs replaced (owned): put back on failure */
	bool tc_link_new[2];	/* the link was created by this run */
	bool tc_drop_ingress;	/* adoption into monitor mode: remove the ingress link at commit */
	bool tc_hook_created;	/* SG_TC_CLSACT: we created the clsact qdisc */
	bool tc_egress_attached, tc_ingress_attached;
	/* life cycle */
	bool adopt;		/* updating a pinned instance's links and programs */
	bool committed;		/* set up completely: no rollback from here on */
	bool keep;		/* --pin: leave the data path attached at exit */
	bool gone;		/* the interface disappeared: nothing left to detach */
};
void sg_attach_init(struct sg_attach *a);
int sg_check_iface(const char *ifname, int *ifindex);
/* What is on the XDP hook: refuse (message) unless it is free, ours to
 * update (xdp_own_link_id) or --force may replace it (then records it). */
int sg_check_existing_xdp(struct sg_attach *a, bool force);
/* Attach, or in one step replace (--force, adoption), the XDP program. */
int sg_attach_xdp(struct sg_attach *a, int prog_fd);

/* multiprog.c: libxdp's dispatcher. */
/* Between sg_attach_init() and the check: can libxdp be used from here
 * (its BPF filesystem)? 0, or -errno with *why set (fall back to a link). */
int sg_mp_usable(const char **why);
/* Does the kernel run extension programs in libxdp's dispatcher? 0, or
 * -errno with *why set (asked once). */
int sg_mp_kernel_ok(const char **why);
/* The hook has libxdp's dispatcher: 1 (records a synguard program in it:
 * the pinned instance's, or a stale one), 0 if it has no dispatcher, or
 * -errno (message printed). */
int sg_mp_check(struct sg_attach *a);
/* Load sg_xdp from the skeleton's object against its maps (loaded, with
 * sg_xdp's autoload off) and put it in the dispatcher; on failure other
 * than a conflict, says why and attaches it through a BPF link instead. */
struct synguard_bpf;
int sg_mp_attach(struct sg_attach *a, struct synguard_bpf *skel);
/* Take ours out of the dispatcher (others stay); rollback puts the old one back. */
void sg_mp_detach(struct sg_attach *a, bool rollback);
/* Let go of ours without taking it out (--pin, interface gone). */
void sg_mp_release(struct sg_attach *a);
/* Take program id out of the dispatcher on ifindex: 0, -ENOENT (not there), -errno. */
int sg_mp_remove_id(int ifindex, __u32 id);
/* Synguard programs (named sg_xdp) in the dispatcher on ifindex other than
 * keep_id: taken out, each reported. The number removed, or -errno. */
int sg_mp_remove_stale(int ifindex, const char *ifname, __u32 keep_id);
/* The interface went away: libxdp's pins of its dispatcher go too. */
void sg_mp_forget(int ifindex);
/* 1 if program id is in the dispatcher on ifindex. */
bool sg_mp_has_id(int ifindex, __u32 id);
/* -v: libxdp's own messages too. */
void sg_mp_verbose(bool on);
/* TC egress (always) and ingress (ingress_fd >= 0). */
int sg_attach_tc(struct sg_attach *a, int egress_fd, int ingress_fd);
/* Everything is set up: no rollback from now on; keep: leave attached at exit. */
void sg_attach_commit(struct sg_attach *a, bool keep);
/* Before commit: put back what was replaced and remove what was added.
 * After: remove what we attached, unless keep (then only close). */
void sg_detach_all(struct sg_attach *a);
/* The XDP (type BPF_LINK_TYPE_XDP) or tcx link id on ifindex running prog_id, 0 if none. */
__u32 sg_find_link(int ifindex, __u32 link_type, __u32 prog_id);
/* The program id of synguard's clsact filter (TC handle 0x5347) in direction
 * dir, 0 if there is none or it is not synguard's. */
__u32 sg_clsact_prog(int ifindex, int dir);

/* settings.c: the one writer of the BPF programs' load-time settings
 * (struct sg_settings): call between open and load, before the preloads. */
struct synguard_bpf;
void sg_settings_apply(struct synguard_bpf *skel, const struct sg_config *cfg);
/* net.ipv4.<name> of the current network namespace: 0, or -errno. */
int sg_read_sysctl(const char *name, int *val);
/* An interface's MTU (0 if unreadable), and the MSS to offer for one. */
int sg_read_mtu(const char *ifname);
void sg_mss_for_mtu(int mtu, __u16 *mss4, __u16 *mss6);

/* demo.c: namespaces, a veth pair, a server, a client, and sg_run(). */
int sg_demo(int argc, char **argv);

#endif /* SG_USER_H */
