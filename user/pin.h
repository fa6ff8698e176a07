/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * pin.h - a pinned instance (--pin): the data path that outlives the process
 * (pin.c).
 *
 *   /sys/fs/bpf/synguard/IFACE/      (mode 0700)
 *     meta                 sg_meta: one struct sg_meta (what, since when, who)
 *     maps/NAME            the maps that hold state: flows, handshakes, cookie
 *                          secrets and ports, counters, SYN windows
 *     progs/NAME           the programs attached now
 *     links/xdp, links/tc_egress, links/tc_ingress
 *                          the links (XDP; tcx), which keep the programs attached
 *
 * A --pin process that exits, by any means, leaves all of it in place:
 * protection and tracking go on in the kernel and cookies stay valid. The
 * next `synguard --pin IFACE` adopts it: it loads new programs against the
 * pinned maps (same flows, same secrets) and swaps them in on the links in
 * one step each. `synguard unload IFACE` removes it (service.c).
 */
#ifndef SG_PIN_H
#define SG_PIN_H

#include <stdbool.h>
#include <linux/types.h>

#include "sg_user.h"

#define SG_PIN_ROOT "/sys/fs/bpf/synguard"
#define SG_PIN_MAGIC 0x53474d31u	/* "SGM1" */
/*
 * The pinned layout's version: bump it when the meaning of a pinned map's
 * contents changes (bpf/sg_maps.h, include/sg_flow.h, include/sg_cookie.h)
 * without its size changing; size and type changes are caught by the
 * layout hash (pin.c) on their own. Either refuses adoption across builds.
 */
#define SG_LAYOUT_VERSION 1

struct sg_meta {
	__u32 magic;		/* SG_PIN_MAGIC */
	__u32 layout;		/* SG_LAYOUT_VERSION */
	__u64 layout_hash;	/* of the pinned maps' definitions */
	__u64 pinned_since;	/* CLOCK_REALTIME, seconds */
	__u64 adopted_at;	/* CLOCK_REALTIME, seconds, of the last adoption; 0 never */
	__u64 last_rotate_ns;	/* CLOCK_MONOTONIC of the last cookie secret rotation; 0 none */
	__u64 netns_ino;	/* the network namespace: inode of /proc/self/ns/net */
	__u32 ifindex;
	__u32 owner_pid;	/* the process serving it; 0 after it exited cleanly */
	__u32 adoptions;
	__u32 max_flows, max_halfopen;
	__u8 mode;		/* enum sg_mode */
	__u8 xdp_mode;		/* enum sg_xdp_mode */
	__u8 xdp_how;		/* enum sg_xdp_how */
	__u8 tc_how;		/* enum sg_tc_how */
	__u8 tc_ingress;	/* the TC ingress program is attached */
	__u8 tc_qdisc_created;	/* SG_TC_CLSACT: synguard created the clsact qdisc */
	__u8 explicit_ports;	/* --ports given (else: every port with a listener) */
	__u8 pad;
	char version[16];	/* SG_VERSION of the last owner */
};

struct synguard_bpf;
struct sg_pin;

/* The pin directory of an interface. */
void sg_pin_dir(char *buf, size_t len, const char *ifname);
/* 1 if IFACE has a pinned instance (its meta), 0 if not. */
int sg_pin_exists(const char *ifname);
/* Read DIR/meta: 0, -ENOENT (none), -EPROTO (another layout; message printed if verbose). */
int sg_pin_read_meta(const char *ifname, struct sg_meta *m);

/* --pin: mount bpffs if needed; if IFACE has a pinned instance, check it
 * can be adopted and record its links and programs in at. 0 or -errno
 * (message printed). */
int sg_pin_open(struct sg_pin **pp, const struct sg_config *cfg, struct sg_attach *at);
bool sg_pin_adopting(const struct sg_pin *p);
const struct sg_meta *sg_pin_meta(const struct sg_pin *p);
/* Between open and load: adoption reuses the pinned maps (layout and table sizes checked). */
int sg_pin_reuse(struct sg_pin *p, struct synguard_bpf *skel, const struct sg_config *cfg);
/* After attach: pin what is new, write the meta. A failure undoes its pins. */
int sg_pin_commit(struct sg_pin *p, struct synguard_bpf *skel, struct sg_attach *at, const struct sg_config *cfg);
/* The cookie controller's last rotation (kept in the meta for the next owner). */
void sg_pin_note_rotation(struct sg_pin *p, __u64 last_rotate_ns);
/* The end of this process's ownership (the pins stay if committed). */
void sg_pin_close(struct sg_pin *p);

/* Remove IFACE's pinned instance: detach everything it attached, unpin it
 * all. The caller holds the owner lock. 0, or -errno (message printed). */
int sg_pin_remove(const char *ifname);

#endif /* SG_PIN_H */
