// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * attach.c - XDP and TC (clsact) attach and detach. Everything attached is
 * recorded in struct sg_attach so sg_detach_all() removes exactly what we
 * added, also after a failure half-way through.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"

#define SG_TC_HANDLE 0x5347 /* "SG" */
#define SG_TC_PRIO 1

int sg_check_iface(const char *ifname, int *ifindex)
{
	unsigned int idx;

	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE) {
		fprintf(stderr, "synguard: invalid interface name '%s'\n", ifname ? ifname : "");
		return -EINVAL;
	}
	idx = if_nametoindex(ifname);
	if (!idx) {
		fprintf(stderr, "synguard: interface '%s' does not exist\n", ifname);
		return -ENODEV;
	}
	*ifindex = (int)idx;
	return 0;
}

int sg_check_existing_xdp(int ifindex, const char *ifname, bool force)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err) {
		fprintf(stderr, "synguard: cannot query XDP on %s: %s\n", ifname, strerror(-err));
		return err;
	}
	if (q.attach_mode != XDP_ATTACHED_NONE && !force) {
		fprintf(stderr,
			"synguard: %s already has an XDP program (id %u); detach it or use --force to replace it\n",
			ifname, q.prog_id ? q.prog_id : q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id);
		return -EBUSY;
	}
	return 0;
}

int sg_attach_xdp(struct sg_attach *a, int prog_fd, enum sg_xdp_mode mode, bool force)
{
	__u32 flags = mode == SG_XDP_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	int err;

	if (!force)
		flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
	err = bpf_xdp_attach(a->ifindex, prog_fd, flags, NULL);
	if (err) {
		if (mode == SG_XDP_NATIVE && (err == -EOPNOTSUPP || err == -EINVAL))
			fprintf(stderr,
				"synguard: native XDP not supported on %s (%s); try --xdp-mode skb "
				"(generic XDP, slower)\n",
				a->ifname, strerror(-err));
		else if (err == -EBUSY || err == -EEXIST)
			fprintf(stderr, "synguard: %s already has an XDP program; use --force to replace it\n",
				a->ifname);
		else
			fprintf(stderr, "synguard: attaching XDP to %s failed: %s\n", a->ifname, strerror(-err));
		return err;
	}
	a->xdp_fd = prog_fd;
	a->xdp_flags = flags & ~XDP_FLAGS_UPDATE_IF_NOEXIST;
	a->xdp_attached = true;
	return 0;
}

static int tc_attach_one(struct sg_attach *a, enum bpf_tc_attach_point where, int fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE, .priority = SG_TC_PRIO,
			    .prog_fd = fd);
	int err = bpf_tc_attach(&hook, &opts);

	if (err)
		fprintf(stderr, "synguard: attaching TC %s program to %s failed: %s\n",
			where == BPF_TC_EGRESS ? "egress" : "ingress", a->ifname, strerror(-err));
	return err;
}

int sg_attach_tc(struct sg_attach *a, int egress_fd, int ingress_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = BPF_TC_EGRESS);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		fprintf(stderr, "synguard: creating clsact qdisc on %s failed: %s\n", a->ifname, strerror(-err));
		return err;
	}
	a->tc_hook_created = err == 0;
	if (egress_fd >= 0) {
		err = tc_attach_one(a, BPF_TC_EGRESS, egress_fd);
		if (err)
			return err;
		a->tc_egress_attached = true;
		a->tc_egress_fd = egress_fd;
	}
	if (ingress_fd >= 0) {
		err = tc_attach_one(a, BPF_TC_INGRESS, ingress_fd);
		if (err)
			return err;
		a->tc_ingress_attached = true;
		a->tc_ingress_fd = ingress_fd;
	}
	return 0;
}

static void tc_detach_one(struct sg_attach *a, enum bpf_tc_attach_point where)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE, .priority = SG_TC_PRIO);
	int err = bpf_tc_detach(&hook, &opts);

	if (err && err != -ENOENT)
		fprintf(stderr, "synguard: warning: detaching TC %s program from %s: %s\n",
			where == BPF_TC_EGRESS ? "egress" : "ingress", a->ifname, strerror(-err));
}

void sg_detach_all(struct sg_attach *a)
{
	if (a->gone)	/* the kernel removed everything with the interface */
		a->xdp_attached = a->tc_egress_attached = a->tc_ingress_attached = a->tc_hook_created = false;
	if (a->xdp_attached) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = a->xdp_fd);
		int err = bpf_xdp_detach(a->ifindex, a->xdp_flags | XDP_FLAGS_REPLACE, &o);

		if (err && err != -ENODEV)
			fprintf(stderr, "synguard: warning: detaching XDP from %s: %s\n", a->ifname,
				strerror(-err));
		a->xdp_attached = false;
	}
	if (a->tc_egress_attached) {
		tc_detach_one(a, BPF_TC_EGRESS);
		a->tc_egress_attached = false;
	}
	if (a->tc_ingress_attached) {
		tc_detach_one(a, BPF_TC_INGRESS);
		a->tc_ingress_attached = false;
	}
	if (a->tc_hook_created) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
				    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
		int err = bpf_tc_hook_destroy(&hook);

		if (err && err != -ENOENT && err != -EINVAL)
			fprintf(stderr, "synguard: warning: removing clsact qdisc from %s: %s\n", a->ifname,
				strerror(-err));
		a->tc_hook_created = false;
	}
}
