/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_settings.h - the BPF programs' load-time settings: one struct, the
 * object's read-only global sg_cfg (bpf/sg_maps.h), and the modes.
 *
 * Userspace writes the whole struct once, between opening and loading the
 * object (user/settings.c). libbpf then freezes .rodata, so the verifier
 * reads every field as a constant and skips the code a setting turns off
 * (monitor mode verifies none of the cookie path, no filter costs a
 * lookup unless it is on).
 *
 * SG_SETTINGS_DEFAULTS is monitor mode: the object attached on its own
 * (ip link set dev X xdp obj synguard.bpf.o sec xdp) counts and tracks,
 * and never changes a packet.
 */
#ifndef SG_SETTINGS_H
#define SG_SETTINGS_H

#include "synguard.h"

/* --mode: what the XDP program may do to SYNs and ACKs. */
enum sg_mode {
	SG_MODE_MONITOR = 0,	/* never change a packet */
	SG_MODE_PROTECT,	/* SYN cookies on every protected port */
	SG_MODE_AUTO,		/* SYN cookies on a port while it is flooded */
};

struct sg_settings {
	/* SYN cookies (bpf/sg_synproxy.h) */
	__u8 mode;		/* enum sg_mode */
	__u8 explicit_ports;	/* 1: --ports given, only SG_PORT_PROTECTED ports are
				 * protected; 0: every port with a listener */
	__u8 allow_ts;		/* offer timestamps (net.ipv4.tcp_timestamps); SACK and
				 * window scaling ride in them, so both need them too */
	__u8 allow_sack;	/* offer SACK (net.ipv4.tcp_sack) */
	__u8 allow_ws;		/* offer window scaling (net.ipv4.tcp_window_scaling) */
	__u8 wscale;		/* the window scale our SYN-ACK advertises */
	__u16 mss4;		/* the MSS our IPv4 SYN-ACK advertises: MTU - 40 */
	__u16 mss6;		/* the MSS our IPv6 SYN-ACK advertises: MTU - 60 */
	/* tracking (bpf/sg_track.h) */
	__u8 family;		/* 0: track both families; 4 or 6: only that one (-4/-6) */
	__u8 port_filter;	/* 1: track only flows with a port in sg_filter_ports (-p) */
	__u8 addr_filter;	/* 1: track only flows with an endpoint in sg_filter_addr (-a) */
	__u8 pad[3];		/* explicit: no hidden hole in the rodata layout */
	__u32 syn_quiet;	/* SYNs/s per port (per CPU) above which new handshakes
				 * are summarised, not printed one by one */
	/* ladder mode (bpf/sg_ladder.h): per-segment records of tracked flows */
	__u8 ladder;		/* 1: --ladder or --diagram; 0: none of its code is verified */
	__u8 ladder_data;	/* 1: also each steady segment of an established flow */
	__u8 pad_ladder[2];
	__u32 ladder_max;	/* a flow's first N segments get a record; after them only
				 * SYN/FIN/RST and segments that change a state */
	__u32 ladder_rate;	/* records per second at most, all flows (then counted) */
	/* policy (bpf/sg_policy.h): deny -> allow -> limit and cap -> cookies -> tracking */
	__u8 deny;		/* 1: --deny given: every frame's source is looked up */
	__u8 allow;		/* 1: --allow given: SYNs' sources are looked up */
	__u8 limit_prefix4;	/* --syn-limit's source prefix, IPv4 (default 32) */
	__u8 limit_prefix6;	/* and IPv6 (default 64) */
	__u32 syn_limit;	/* --syn-limit: SYNs/s per source prefix; 0: off */
	__u32 synack_cap;	/* --synack-cap: SYN-ACKs/s per destination /24 or /48; 0: off */
	__u32 cap_seed;		/* the sketch's hash seed (random at each load) */
};

/* Monitor mode, everything tracked; the cookie fields are what a Linux
 * server with default sysctls and a 1500-byte MTU would accept. */
#define SG_SETTINGS_DEFAULTS {			\
	.mode = SG_MODE_MONITOR,		\
	.explicit_ports = 0,			\
	.allow_ts = 1,				\
	.allow_sack = 1,			\
	.allow_ws = 1,				\
	.wscale = 7,				\
	.mss4 = 1460,				\
	.mss6 = 1440,				\
	.family = 0,				\
	.port_filter = 0,			\
	.addr_filter = 0,			\
	.syn_quiet = SG_SYN_SUMMARY_DEFAULT,	\
	.ladder = 0,				\
	.ladder_data = 0,			\
	.ladder_max = 200,			\
	.ladder_rate = 10000,			\
	.deny = 0,				\
	.allow = 0,				\
	.limit_prefix4 = 32,			\
	.limit_prefix6 = 64,			\
	.syn_limit = 0,				\
	.synack_cap = 0,			\
}

#endif /* SG_SETTINGS_H */
