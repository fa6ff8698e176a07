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
	enum sg_mode mode;
	enum sg_ts_style ts_style;
	bool force;
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
	struct sg_ladder_cfg ladder;	/* --ladder, --diagram */
};

void sg_config_defaults(struct sg_config *cfg);

/* Option value parsers: 0 on success, -1 (and nothing written) on bad input. */
int sg_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out);
int sg_parse_seconds(const char *s, double min, double max, double *out);
int sg_parse_port_list(const char *s, __u16 *ports, int max, int *n);
int sg_parse_cidr(const char *s, struct sg_cidr *c);
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

/* Attach/detach (attach.c). */
struct sg_attach {
	int ifindex;
	char ifname[32];
	int xdp_fd;
	__u32 xdp_flags;
	bool xdp_attached;
	bool tc_hook_created;
	bool tc_egress_attached;
	bool tc_ingress_attached;
	int tc_egress_fd, tc_ingress_fd;
	bool gone;		/* the interface disappeared: nothing left to detach */
};
int sg_check_iface(const char *ifname, int *ifindex);
int sg_check_existing_xdp(int ifindex, const char *ifname, bool force);
int sg_attach_xdp(struct sg_attach *a, int prog_fd, enum sg_xdp_mode mode, bool force);
int sg_attach_tc(struct sg_attach *a, int egress_fd, int ingress_fd);
void sg_detach_all(struct sg_attach *a);

/* settings.c: the one writer of the BPF programs' load-time settings
 * (struct sg_settings): call between open and load, before the preloads. */
struct synguard_bpf;
void sg_settings_apply(struct synguard_bpf *skel, const struct sg_config *cfg);
/* net.ipv4.<name> of the current network namespace: 0, or -errno. */
int sg_read_sysctl(const char *name, int *val);

/* demo.c: namespaces, a veth pair, a server, a client, and sg_run(). */
int sg_demo(int argc, char **argv);

#endif /* SG_USER_H */
