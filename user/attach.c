// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * attach.c - XDP and TC attach, replacement in one step, detach.
 *
 * XDP goes through a BPF link and TC through tcx links (kernel >= 6.6):
 * the kernel removes a link when its last file descriptor or pin goes, so
 * a foreground synguard that dies by any signal, SIGKILL included, leaves
 * nothing attached. Without tcx, TC programs are clsact filters synguard
 * recognises as its own (handle 0x5347, priority 1, a program named
 * sg_tc_*): a restart replaces an orphan instead of failing on it.
 *
 * Replacing is never detach-then-attach: --force swaps another program
 * (netlink-attached) for ours with XDP_FLAGS_REPLACE, adoption of a pinned
 * instance swaps programs on its links with bpf_link_update(). Everything
 * done is recorded in struct sg_attach, so until sg_attach_commit() a
 * failure puts back exactly what was there (the replaced programs, in one
 * step again) and removes what was added.
 *
 * By default the XDP program joins libxdp's dispatcher instead
 * (multiprog.c), when the hook is free or has the dispatcher; a hook with
 * another kind of XDP program is refused as ever, or with --force replaced
 * in one step through netlink as above.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"

#define SG_TC_HANDLE 0x5347 /* "SG" */
#define SG_TC_PRIO 1

/* UAPI of kernels >= 6.6 that the build host's headers (6.1) may lack. */
#define SG_BPF_TCX_INGRESS 46
#define SG_BPF_TCX_EGRESS 47

static const char *const tc_dir[2] = { "egress", "ingress" };

void sg_attach_init(struct sg_attach *a)
{
	memset(a, 0, sizeof(*a));
	a->xdp_link_fd = a->xdp_prog_fd = a->xdp_old_fd = a->mp_old_fd = -1;
	for (int i = 0; i < 2; i++)
		a->tc_link_fd[i] = a->tc_prog_fd[i] = a->tc_old_fd[i] = -1;
}

/* SYNGUARD_TEST_FAIL=WHAT makes the step WHAT fail (integration tests). */
static int test_fail(const char *what)
{
	const char *e = getenv("SYNGUARD_TEST_FAIL");

	if (!e || strcmp(e, what))
		return 0;
	fprintf(stderr, "synguard: SYNGUARD_TEST_FAIL=%s: failing here (test hook)\n", what);
	return -EIO;
}

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

__u32 sg_find_link(int ifindex, __u32 link_type, __u32 prog_id)
{
	__u32 id = 0, found = 0;

	while (!found && !bpf_link_get_next_id(id, &id)) {
		struct bpf_link_info li;
		__u32 len = sizeof(li);
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&li, 0, sizeof(li));
		/* xdp.ifindex and tcx.ifindex are both the union's first word */
		if (!bpf_obj_get_info_by_fd(fd, &li, &len) && li.type == link_type &&
		    li.xdp.ifindex == (__u32)ifindex && li.prog_id == prog_id)
			found = id;
		close(fd);
	}
	return found;
}

/* A program's name by id ("" if it cannot be read). */
static void prog_name(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info pi = {};
	__u32 il = sizeof(pi);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd >= 0) {
		bpf_obj_get_info_by_fd(fd, &pi, &il);
		close(fd);
	}
	snprintf(buf, len, "%s", pi.name);
}

int sg_check_existing_xdp(struct sg_attach *a, bool force)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[BPF_OBJ_NAME_LEN];
	__u32 id, link;
	int err, fd;

	if (a->mp_want) {
		const char *why = "";

		if (sg_mp_usable(&why) || sg_mp_kernel_ok(&why)) {
			fprintf(stderr, "synguard: %s: attaching through a BPF link instead; no other XDP program can "
					"share %s while synguard runs\n", why, a->ifname);
			a->mp_want = false;
		} else {
			err = sg_mp_check(a);
			if (err < 0)
				return err;
			if (err == 1)
				return 0;	/* libxdp's dispatcher: we join it */
		}
	}
	err = bpf_xdp_query(a->ifindex, 0, &q);
	if (err) {
		fprintf(stderr, "synguard: cannot query XDP on %s: %s\n", a->ifname, strerror(-err));
		return err;
	}
	if (q.attach_mode == XDP_ATTACHED_NONE)
		return 0;
	id = q.prog_id ? q.prog_id : q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id ? q.skb_prog_id : q.hw_prog_id;
	link = sg_find_link(a->ifindex, BPF_LINK_TYPE_XDP, id);
	if (link && link == a->xdp_own_link_id)
		return 0;	/* the pinned instance's link: updated in place */
	if (!link && a->xdp_old_id && id == a->xdp_old_id)
		return 0;	/* the pinned instance's netlink program: replaced in one step */
	prog_name(id, name, sizeof(name));
	if (link) {
		if (!strcmp(name, "sg_xdp"))	/* pinned, but not where this process looks */
			fprintf(stderr,
				"synguard: %s already has synguard's XDP program (id %u) attached through a BPF "
				"link (id %u) this process cannot find pinned: a pinned instance seen from another "
				"mount namespace? ('synguard status', 'synguard unload %s' from the host)\n",
				a->ifname, id, link, a->ifname);
		else
			fprintf(stderr,
				"synguard: %s already has an XDP program (id %u) attached through a BPF link (id %u) "
				"that synguard does not own; it cannot be replaced in one step%s: remove it first "
				"(bpftool link detach id %u)\n",
				a->ifname, id, link, force ? ", not even with --force" : "", link);
		return -EBUSY;
	}
	if (!force) {
		fprintf(stderr,
			"synguard: %s already has an XDP program (%s, id %u) that is not in libxdp's dispatcher; detach "
			"it or use --force to replace it\n",
			a->ifname, name[0] ? name : "unnamed", id);
		return -EBUSY;
	}
	if (q.attach_mode != XDP_ATTACHED_DRV && q.attach_mode != XDP_ATTACHED_SKB) {
		fprintf(stderr, "synguard: %s has XDP programs in several modes or offloaded (id %u); "
				"--force replaces one native or skb program only\n", a->ifname, id);
		return -EBUSY;
	}
	if ((q.attach_mode == XDP_ATTACHED_SKB) != (a->xdp_mode == SG_XDP_SKB)) {
		const char *m = q.attach_mode == XDP_ATTACHED_SKB ? "skb" : "native";

		fprintf(stderr,
			"synguard: the XDP program on %s (id %u) runs in %s mode; --force replaces it in one "
			"step in the same mode only: add --xdp-mode %s\n", a->ifname, id, m, m);
		return -EINVAL;
	}
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0) {
		fprintf(stderr, "synguard: cannot open the XDP program id %u on %s: %s\n", id, a->ifname,
			strerror(-fd));
		return fd;
	}
	a->xdp_old_fd = fd;
	a->xdp_old_id = id;
	a->mp_want = false;	/* replaced in one step, through netlink */
	return 0;
}

/* A link's program, swapped in one step; BPF_F_REPLACE: only if it is still old_fd. */
static int link_swap(int link_fd, int new_fd, int old_fd)
{
	LIBBPF_OPTS(bpf_link_update_opts, o, .flags = old_fd >= 0 ? BPF_F_REPLACE : 0, .old_prog_fd = old_fd);

	return bpf_link_update(link_fd, new_fd, &o);
}

static __u32 xdp_mode_flag(const struct sg_attach *a)
{
	return a->xdp_mode == SG_XDP_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

int sg_attach_xdp(struct sg_attach *a, int prog_fd)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = xdp_mode_flag(a));
	int err, fd;

	if (a->xdp_link_fd >= 0) {	/* adoption: the pinned link gets the new program */
		err = link_swap(a->xdp_link_fd, prog_fd, a->xdp_old_fd);
		if (err) {
			fprintf(stderr, "synguard: replacing the pinned XDP program on %s failed: %s "
					"(the previous one stays)\n", a->ifname, strerror(-err));
			return err;
		}
		a->xdp_how = SG_XDP_LINK;
		a->xdp_prog_fd = prog_fd;
		return test_fail("replace");
	}
	if (a->xdp_old_fd >= 0) {	/* --force, or a pinned netlink program: one step */
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = a->xdp_old_fd);

		err = bpf_xdp_attach(a->ifindex, prog_fd, xdp_mode_flag(a) | XDP_FLAGS_REPLACE, &o);
		if (err) {
			if (err == -EEXIST || err == -EBUSY)
				fprintf(stderr, "synguard: the XDP program on %s changed meanwhile; nothing replaced\n",
					a->ifname);
			else
				fprintf(stderr, "synguard: replacing the XDP program on %s failed: %s "
						"(the previous one stays)\n", a->ifname, strerror(-err));
			return err;
		}
		a->xdp_how = SG_XDP_NETLINK;
		a->xdp_flags = xdp_mode_flag(a);
		a->xdp_prog_fd = prog_fd;
		if (!a->adopt)
			fprintf(stderr,
				"synguard: replaced XDP program id %u on %s in one step; it is attached through "
				"netlink, not a link: a clean exit removes it, a kill -9 would leave it\n",
				a->xdp_old_id, a->ifname);
		return test_fail("replace");
	}
	fd = bpf_link_create(prog_fd, a->ifindex, BPF_XDP, &lo);
	if (fd < 0) {
		err = fd;
		if (a->xdp_mode == SG_XDP_NATIVE && (err == -EOPNOTSUPP || err == -EINVAL))
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
	a->xdp_how = SG_XDP_LINK;
	a->xdp_link_fd = fd;
	a->xdp_prog_fd = prog_fd;
	return 0;
}

/* ---- TC: clsact filters (kernels without tcx) ---- */

static int print_nothing(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level, (void)fmt, (void)args;
	return 0;
}

/* The clsact filter at our handle/priority: its program id, *own = 1 if
 * it is ours (a program named sg_tc_*); 0 if there is none. (Asked
 * quietly: without a clsact qdisc libbpf would print the kernel's
 * complaint.) */
static __u32 clsact_query(int ifindex, int dir, int *own)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = dir == SG_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE, .priority = SG_TC_PRIO);
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi);
	int fd;

	libbpf_print_fn_t prev;
	int err;

	*own = 0;
	prev = libbpf_set_print(print_nothing);
	err = bpf_tc_query(&hook, &opts);
	libbpf_set_print(prev);
	if (err)
		return 0;
	fd = bpf_prog_get_fd_by_id(opts.prog_id);
	if (fd >= 0) {
		*own = !bpf_obj_get_info_by_fd(fd, &pi, &len) && !strncmp(pi.name, "sg_tc_", 6);
		close(fd);
	}
	return opts.prog_id;
}

__u32 sg_clsact_prog(int ifindex, int dir)
{
	int own;
	__u32 id = clsact_query(ifindex, dir, &own);

	return own ? id : 0;
}

/* 1 ours, 0 none, -EEXIST someone else's */
static int clsact_own(struct sg_attach *a, int dir)
{
	int own;

	if (!clsact_query(a->ifindex, dir, &own))
		return 0;
	return own ? 1 : -EEXIST;
}

static int clsact_attach(struct sg_attach *a, int dir, int fd, bool replace)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
			    .attach_point = dir == SG_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE, .priority = SG_TC_PRIO,
			    .prog_fd = fd, .flags = replace ? BPF_TC_F_REPLACE : 0);

	return bpf_tc_attach(&hook, &opts);
}

static void clsact_detach(struct sg_attach *a, int dir)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
			    .attach_point = dir == SG_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE, .priority = SG_TC_PRIO);
	int err = bpf_tc_detach(&hook, &opts);

	if (err && err != -ENOENT)
		fprintf(stderr, "synguard: warning: detaching TC %s program from %s: %s\n", tc_dir[dir], a->ifname,
			strerror(-err));
}

static int tc_attach_clsact(struct sg_attach *a, int dir, int fd)
{
	int err, own;

	if (!a->tc_egress_attached && !a->tc_ingress_attached && !a->tc_hook_created) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = BPF_TC_EGRESS);

		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST) {
			fprintf(stderr, "synguard: creating clsact qdisc on %s failed: %s\n", a->ifname,
				strerror(-err));
			return err;
		}
		a->tc_hook_created = err == 0;
	}
	own = clsact_own(a, dir);
	if (own < 0) {
		fprintf(stderr, "synguard: %s has a TC %s filter at synguard's handle 0x%x priority %d that is "
				"not synguard's; remove it first\n", a->ifname, tc_dir[dir], SG_TC_HANDLE, SG_TC_PRIO);
		return own;
	}
	err = clsact_attach(a, dir, fd, own);
	if (err) {
		fprintf(stderr, "synguard: attaching TC %s program to %s failed: %s\n", tc_dir[dir], a->ifname,
			strerror(-err));
		return err;
	}
	if (own && !a->adopt)
		fprintf(stderr, "synguard: replaced an orphaned synguard TC %s filter on %s\n", tc_dir[dir],
			a->ifname);
	if (dir == SG_TC_INGRESS)
		a->tc_ingress_attached = true;
	else
		a->tc_egress_attached = true;
	a->tc_prog_fd[dir] = fd;
	return 0;
}

static int tc_attach_one(struct sg_attach *a, int dir, int fd)
{
	int err, lfd;

	if (a->tc_link_fd[dir] >= 0) {	/* adoption: the pinned link gets the new program */
		err = link_swap(a->tc_link_fd[dir], fd, a->tc_old_fd[dir]);
		if (err) {
			fprintf(stderr, "synguard: replacing the pinned TC %s program on %s failed: %s\n", tc_dir[dir],
				a->ifname, strerror(-err));
			return err;
		}
		a->tc_prog_fd[dir] = fd;
		return 0;
	}
	if (a->tc_how != SG_TC_CLSACT) {
		/* (SYNGUARD_TEST_FAIL=tcx: as on a kernel without tcx) */
		lfd = test_fail("tcx") ? -EINVAL :
		      bpf_link_create(fd, a->ifindex,
				      (enum bpf_attach_type)(dir == SG_TC_INGRESS ? SG_BPF_TCX_INGRESS : SG_BPF_TCX_EGRESS),
				      NULL);
		if (lfd >= 0) {
			a->tc_how = SG_TC_TCX;
			a->tc_link_fd[dir] = lfd;
			a->tc_link_new[dir] = true;
			a->tc_prog_fd[dir] = fd;
			if (dir == SG_TC_INGRESS)
				a->tc_ingress_attached = true;
			else
				a->tc_egress_attached = true;
			return 0;
		}
		if (lfd != -EINVAL || a->tc_how == SG_TC_TCX) {
			fprintf(stderr, "synguard: attaching TC %s program to %s failed: %s\n", tc_dir[dir], a->ifname,
				strerror(-lfd));
			return lfd;
		}
		fprintf(stderr, "synguard: this kernel has no tcx links (< 6.6): the TC programs are clsact "
				"filters, which a kill -9 would leave attached (the next synguard replaces them)\n");
		a->tc_how = SG_TC_CLSACT;
	}
	return tc_attach_clsact(a, dir, fd);
}

int sg_attach_tc(struct sg_attach *a, int egress_fd, int ingress_fd)
{
	int err = tc_attach_one(a, SG_TC_EGRESS, egress_fd);

	if (err)
		return err;
	if (ingress_fd >= 0)
		return tc_attach_one(a, SG_TC_INGRESS, ingress_fd);
	/* adoption into monitor mode: the instance's ingress program goes at commit */
	if (a->tc_link_fd[SG_TC_INGRESS] >= 0 || (a->tc_how == SG_TC_CLSACT && a->tc_ingress_attached))
		a->tc_drop_ingress = true;
	return 0;
}

/* tcx in use: orphaned synguard clsact filters (a killed clsact-era synguard) would
 * run a second, stale copy of our programs; remove them. */
static void remove_clsact_orphans(struct sg_attach *a)
{
	for (int dir = 0; dir < 2; dir++)
		if (clsact_own(a, dir) == 1) {
			clsact_detach(a, dir);
			fprintf(stderr, "synguard: removed an orphaned synguard TC %s filter from %s\n", tc_dir[dir],
				a->ifname);
		}
}

void sg_attach_commit(struct sg_attach *a, bool keep)
{
	if (a->tc_drop_ingress) {
		if (a->tc_link_fd[SG_TC_INGRESS] >= 0) {
			bpf_link_detach(a->tc_link_fd[SG_TC_INGRESS]);
			close(a->tc_link_fd[SG_TC_INGRESS]);
			a->tc_link_fd[SG_TC_INGRESS] = -1;
		} else {
			clsact_detach(a, SG_TC_INGRESS);
		}
		a->tc_ingress_attached = false;
		a->tc_drop_ingress = false;
	}
	if (a->tc_how == SG_TC_TCX)
		remove_clsact_orphans(a);
	a->committed = true;
	a->keep = keep;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Before commit: put back what was replaced, remove what was added. */
static void rollback(struct sg_attach *a)
{
	int err;

	/* What this run put on the hook comes off before the adopted
	 * instance's program goes back into a dispatcher (which needs the
	 * hook free): libxdp's program attached alone, or our fallback link. */
	if (a->xdp_how == SG_XDP_NETLINK && a->xdp_prog_fd >= 0 && a->xdp_old_fd < 0) {
		/* libxdp attached it alone (no dispatcher): nothing to put back */
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = a->xdp_prog_fd);

		bpf_xdp_detach(a->ifindex, a->xdp_flags | XDP_FLAGS_REPLACE, &o);
	}
	if (a->xdp_how == SG_XDP_LINK && a->mp_old_removed && a->xdp_old_fd < 0)
		close_fd(&a->xdp_link_fd);	/* (a link of this run's: it goes with its fd) */
	if (a->xdp_how == SG_XDP_DISPATCHER || a->mp_old_removed)
		sg_mp_detach(a, true);
	if (a->xdp_prog_fd >= 0 && a->xdp_old_fd >= 0) {
		if (a->xdp_how == SG_XDP_LINK) {
			err = link_swap(a->xdp_link_fd, a->xdp_old_fd, a->xdp_prog_fd);
		} else {
			LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = a->xdp_prog_fd);

			err = bpf_xdp_attach(a->ifindex, a->xdp_old_fd, a->xdp_flags | XDP_FLAGS_REPLACE, &o);
		}
		if (err)
			fprintf(stderr, "synguard: warning: putting back XDP program id %u on %s failed: %s\n",
				a->xdp_old_id, a->ifname, strerror(-err));
		else
			fprintf(stderr, "synguard: put back the previous XDP program (id %u) on %s\n", a->xdp_old_id,
				a->ifname);
	}
	/* a link created by this run goes when its fd is closed (below) */
	for (int dir = 0; dir < 2; dir++) {
		if (a->tc_prog_fd[dir] < 0)
			continue;
		if (a->tc_link_fd[dir] >= 0 && !a->tc_link_new[dir] && a->tc_old_fd[dir] >= 0) {
			err = link_swap(a->tc_link_fd[dir], a->tc_old_fd[dir], a->tc_prog_fd[dir]);
			if (err)
				fprintf(stderr, "synguard: warning: putting back the TC %s program on %s failed: %s\n",
					tc_dir[dir], a->ifname, strerror(-err));
		} else if (a->tc_how == SG_TC_CLSACT) {
			if (a->tc_old_fd[dir] >= 0)
				clsact_attach(a, dir, a->tc_old_fd[dir], true);
			else
				clsact_detach(a, dir);
		}
	}
	if (a->tc_how == SG_TC_CLSACT && a->tc_hook_created) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
				    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		bpf_tc_hook_destroy(&hook);
	}
}

/* After commit, not kept: remove what is ours. */
static void detach(struct sg_attach *a)
{
	if (a->xdp_how == SG_XDP_DISPATCHER)
		sg_mp_detach(a, false);	/* ours out, the others stay */
	if (a->xdp_how == SG_XDP_NETLINK) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = a->xdp_prog_fd);
		int err = bpf_xdp_detach(a->ifindex, a->xdp_flags | XDP_FLAGS_REPLACE, &o);

		if (err && err != -ENODEV)
			fprintf(stderr, "synguard: warning: detaching XDP from %s: %s\n", a->ifname, strerror(-err));
	}
	/* links: closing the last fd detaches (below) */
	if (a->tc_how == SG_TC_CLSACT) {
		if (a->tc_egress_attached && clsact_own(a, SG_TC_EGRESS) == 1)
			clsact_detach(a, SG_TC_EGRESS);
		if (a->tc_ingress_attached && clsact_own(a, SG_TC_INGRESS) == 1)
			clsact_detach(a, SG_TC_INGRESS);
		if (a->tc_hook_created) {
			DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
					    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
			int err = bpf_tc_hook_destroy(&hook);

			if (err && err != -ENOENT && err != -EINVAL)
				fprintf(stderr, "synguard: warning: removing clsact qdisc from %s: %s\n", a->ifname,
					strerror(-err));
		}
	}
}

void sg_detach_all(struct sg_attach *a)
{
	if (a->gone) {
		/* the kernel removed everything with the interface; libxdp's pins stay */
		if (a->xdp_how == SG_XDP_DISPATCHER)
			sg_mp_forget(a->ifindex);
	} else if (!a->committed) {
		rollback(a);
	} else if (!a->keep) {
		detach(a);
	}
	sg_mp_release(a);	/* (kept or gone: closed, not detached) */
	if (a->xdp_obj)
		bpf_object__close(a->xdp_obj);
	a->xdp_obj = NULL;
	close_fd(&a->xdp_link_fd);
	close_fd(&a->xdp_old_fd);
	close_fd(&a->mp_old_fd);
	for (int dir = 0; dir < 2; dir++) {
		close_fd(&a->tc_link_fd[dir]);
		close_fd(&a->tc_old_fd[dir]);
		a->tc_prog_fd[dir] = -1;
	}
	a->xdp_prog_fd = -1;
	a->xdp_how = SG_XDP_NONE;
	a->tc_egress_attached = a->tc_ingress_attached = a->tc_hook_created = false;
}
