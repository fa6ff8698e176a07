// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * multiprog.c - synguard's XDP program in libxdp's dispatcher, so that it
 * shares the interface with xdp-filter and other libxdp programs
 * (README: Sharing the interface with other XDP programs).
 *
 * libxdp attaches one dispatcher program to the interface (through
 * netlink) and each member program as an freplace (BPF_PROG_TYPE_EXT)
 * extension of one of its slots, in the order of their run priorities;
 * the extensions' links are pinned under /sys/fs/bpf/xdp/dispatch-IFINDEX-ID.
 * Adding or removing a program builds a new dispatcher and swaps it in
 * with one netlink replace. So:
 *
 *  - sg_xdp is loaded as an extension from an object of its own, opened
 *    from the skeleton's ELF with every map reused from the skeleton's
 *    (loaded first, with sg_xdp's autoload off): the same flows, cookie
 *    secrets, counters and ring buffer as the rest of synguard.
 *  - The dispatcher and its pins outlive a synguard killed with -9 (a BPF
 *    link of our own would not): the next synguard on the interface, and
 *    `synguard unload IFACE`, take such a stale sg_xdp out.
 *  - A pinned instance's program is found through progs/sg_xdp; adoption
 *    takes it out and puts the new one in (two dispatcher swaps: for that
 *    instant the dispatcher runs without synguard's program; the TC
 *    programs and the maps carry on).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "sg_user.h"
#include "synguard.skel.h"

#define SG_XDP_PROG "sg_xdp"
#define HOST_BPFFS "/proc/1/root/sys/fs/bpf"

static bool verbose;

/* libxdp's own messages only with -v (synguard says what went wrong). */
static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return verbose ? vfprintf(stderr, fmt, ap) : 0;
}

void sg_mp_verbose(bool on)
{
	verbose = on;
}

static void quiet_libxdp(void)
{
	static bool done;
	const char *why;

	if (done)
		return;
	done = true;
	libxdp_set_print(libxdp_print);
	sg_mp_usable(&why);	/* (points libxdp at the host's BPF filesystem if need be) */
}

/* libxdp returns NULL or an error pointer. */
static long ptr_err(const void *p)
{
	long err = libxdp_get_error(p);

	return p && !err ? 0 : err ? err : -ENOENT;
}

static bool is_bpffs(const char *path)
{
	struct statfs sf;

	return !statfs(path, &sf) && sf.f_type == BPF_FS_MAGIC;
}

/*
 * libxdp keeps the dispatcher's pins (and its lock) in the BPF filesystem
 * at /sys/fs/bpf, which must be the host's: every libxdp user on the
 * interface has to find them. Under `ip netns exec` /sys is private and
 * has none; the host's is then reached through pid 1's root where that is
 * allowed, else synguard says so and uses a BPF link.
 */
int sg_mp_usable(const char **why)
{
	struct stat here, host;
	const char *env = getenv("LIBXDP_BPFFS");

	libxdp_set_print(libxdp_print);
	if (env && *env)
		return 0;	/* the operator's choice */
	if (is_bpffs("/sys/fs/bpf") &&
	    (stat("/sys/fs/bpf", &here) || stat(HOST_BPFFS, &host) || here.st_dev == host.st_dev))
		return 0;
	if (is_bpffs(HOST_BPFFS)) {
		setenv("LIBXDP_BPFFS", HOST_BPFFS, 1);
		return 0;
	}
	*why = "no BPF filesystem at /sys/fs/bpf, where libxdp keeps the dispatcher's state (ip netns exec "
	       "gives commands a private /sys: nsenter --net=/run/netns/NAME synguard ... shares the host's)";
	return -ENOENT;
}

/* SYNGUARD_TEST_FAIL=freplace: as on a kernel that refuses extensions (tests). */
static bool test_fail_freplace(void)
{
	const char *e = getenv("SYNGUARD_TEST_FAIL");

	return e && !strcmp(e, "freplace");
}

/*
 * Can this kernel run programs in the dispatcher? libxdp's own answer is
 * to attach a lone program without it (through netlink, which a kill -9
 * would leave behind); synguard asks first, the way libxdp does: the
 * dispatcher object's xdp_pass, loaded, and an extension of it. (A kernel
 * without BPF trampolines, or one in lockdown, refuses the extension.)
 */
int sg_mp_kernel_ok(const char **why)
{
	static int cached = 1;	/* 1: not asked yet */
	static const char *cached_why;
	DECLARE_LIBXDP_OPTS(xdp_program_opts, o, .find_filename = "xdp-dispatcher.o", .prog_name = "xdp_pass");
	struct xdp_program *tgt = NULL, *ext = NULL;
	struct bpf_program *tp, *ep, *p;
	struct bpf_object *eobj;
	int err, lfd;

	if (cached <= 0) {
		*why = cached_why;
		return cached;
	}
	/* SYNGUARD_TEST_NO_PROBE=1: leave it to libxdp (tests: its lone-program fallback) */
	if (getenv("SYNGUARD_TEST_NO_PROBE"))
		return cached = 0;
	quiet_libxdp();
	if (test_fail_freplace()) {
		err = -EPERM;
		goto out;
	}
	tgt = xdp_program__create(&o);
	ext = xdp_program__create(&o);
	if (ptr_err(tgt) || ptr_err(ext)) {
		cached_why = "libxdp's dispatcher object (xdp-dispatcher.o) cannot be found";
		err = -ENOENT;
		goto out;
	}
	err = bpf_object__load(xdp_program__bpf_obj(tgt));
	tp = bpf_object__find_program_by_name(xdp_program__bpf_obj(tgt), "xdp_pass");
	eobj = xdp_program__bpf_obj(ext);
	ep = bpf_object__find_program_by_name(eobj, "xdp_pass");
	if (err || !tp || !ep) {
		cached_why = "libxdp's dispatcher does not load on this kernel";
		err = err ? err : -ENOENT;
		goto out;
	}
	bpf_object__for_each_program(p, eobj)
		bpf_program__set_autoload(p, p == ep);
	bpf_program__set_type(ep, BPF_PROG_TYPE_EXT);
	bpf_program__set_expected_attach_type(ep, 0);
	err = bpf_program__set_attach_target(ep, bpf_program__fd(tp), "xdp_pass");
	if (!err)
		err = bpf_object__load(eobj);
	if (!err) {
		lfd = bpf_link_create(bpf_program__fd(ep), bpf_program__fd(tp), 0, NULL);
		if (lfd < 0)
			err = -errno;
		else
			close(lfd);
	}
out:
	if (err && !cached_why)
		cached_why = "this kernel refuses BPF extension (freplace) programs, which libxdp's dispatcher "
			     "runs its members as (kernel lockdown, or no BPF trampolines)";
	if (!ptr_err(ext))
		xdp_program__close(ext);
	if (!ptr_err(tgt))
		xdp_program__close(tgt);
	cached = err ? err : 0;
	*why = cached_why;
	return cached;
}

static enum xdp_attach_mode lx_mode(const struct sg_attach *a)
{
	return a->xdp_mode == SG_XDP_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE;
}

bool sg_mp_has_id(int ifindex, __u32 id)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;
	bool found = false;

	quiet_libxdp();
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (ptr_err(mp))
		return false;
	if (!xdp_multiprog__is_legacy(mp))
		while ((p = xdp_multiprog__next_prog(p, mp)))
			if (xdp_program__id(p) == id)
				found = true;
	xdp_multiprog__close(mp);
	return found;
}

int sg_mp_check(struct sg_attach *a)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;
	bool found = false;

	quiet_libxdp();
	mp = xdp_multiprog__get_from_ifindex(a->ifindex);
	if (ptr_err(mp))
		return 0;	/* nothing there, or not libxdp's */
	if (xdp_multiprog__is_legacy(mp)) {
		xdp_multiprog__close(mp);
		return 0;
	}
	if (xdp_multiprog__attach_mode(mp) != lx_mode(a)) {
		const char *m = xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ? "skb" : "native";

		fprintf(stderr, "synguard: libxdp's dispatcher on %s runs in %s mode: add --xdp-mode %s to join it\n",
			a->ifname, m, m);
		xdp_multiprog__close(mp);
		return -EINVAL;
	}
	while ((p = xdp_multiprog__next_prog(p, mp)))
		if (a->mp_old_id && xdp_program__id(p) == a->mp_old_id)
			found = true;
	xdp_multiprog__close(mp);
	if (a->mp_old_id && !found) {	/* the pinned instance's program is not in it any more */
		close(a->mp_old_fd);
		a->mp_old_fd = -1;
		a->mp_old_id = 0;
	}
	return 1;
}

/* The dispatcher's mode on ifindex (libxdp rebuilds it in the mode it is
 * asked for: "unspecified" would be native on a driver that has it). */
static enum xdp_attach_mode mp_mode(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	enum xdp_attach_mode m = XDP_MODE_UNSPEC;

	if (!ptr_err(mp)) {
		m = xdp_multiprog__attach_mode(mp);
		xdp_multiprog__close(mp);
	}
	return m;
}

int sg_mp_remove_id(int ifindex, __u32 id)
{
	struct xdp_program *p;
	int err;

	quiet_libxdp();
	p = xdp_program__from_id(id);
	if (ptr_err(p))
		return -ENOENT;
	err = xdp_program__detach(p, ifindex, mp_mode(ifindex), 0);
	xdp_program__close(p);
	return err;
}

int sg_mp_remove_stale(int ifindex, const char *ifname, __u32 keep_id)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;
	__u32 ids[16];
	int n = 0, removed = 0;

	quiet_libxdp();
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (ptr_err(mp))
		return 0;
	if (!xdp_multiprog__is_legacy(mp))
		while ((p = xdp_multiprog__next_prog(p, mp)) && n < 16)
			if (!strcmp(xdp_program__name(p), SG_XDP_PROG) && xdp_program__id(p) != keep_id)
				ids[n++] = xdp_program__id(p);
	xdp_multiprog__close(mp);
	for (int i = 0; i < n; i++) {
		int err = sg_mp_remove_id(ifindex, ids[i]);

		if (err && err != -ENOENT) {
			fprintf(stderr, "synguard: cannot take a stale synguard XDP program (id %u) out of libxdp's "
					"dispatcher on %s: %s\n", ids[i], ifname, strerror(-err));
			return err;
		}
		if (!err) {
			fprintf(stderr, "synguard: took a stale synguard XDP program (id %u, left by a synguard killed "
					"with -9) out of libxdp's dispatcher on %s\n", ids[i], ifname);
			removed++;
		}
	}
	return removed;
}

/* sg_xdp alone, from the skeleton's ELF, against the skeleton's maps. */
static struct bpf_object *open_xdp_obj(struct synguard_bpf *skel, struct bpf_program **xp)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "synguard_bpf");
	struct bpf_object *obj;
	struct bpf_program *p;
	struct bpf_map *m;
	const void *elf;
	size_t sz;
	int err = 0;

	*xp = NULL;
	elf = synguard_bpf__elf_bytes(&sz);
	obj = bpf_object__open_mem(elf, sz, &oo);
	if (!obj)
		return NULL;
	bpf_object__for_each_program(p, obj) {
		bool it = !strcmp(bpf_program__name(p), SG_XDP_PROG);

		bpf_program__set_autoload(p, it);
		if (it)
			*xp = p;
	}
	bpf_object__for_each_map(m, obj) {
		struct bpf_map *sm = bpf_object__find_map_by_name(skel->obj, bpf_map__name(m));
		int fd = sm ? bpf_map__fd(sm) : -1;

		err = fd >= 0 ? bpf_map__reuse_fd(m, fd) : bpf_map__set_autocreate(m, false);
		if (err)
			break;
	}
	if (err || !*xp) {
		bpf_object__close(obj);
		errno = err ? -err : ENOENT;
		return NULL;
	}
	return obj;
}

/* The dispatcher does not take ours: load sg_xdp as an XDP program and link it. */
static int fall_back_to_link(struct sg_attach *a, struct synguard_bpf *skel)
{
	struct bpf_program *xp;
	int err;

	a->xdp_obj = open_xdp_obj(skel, &xp);
	if (!a->xdp_obj)
		return -errno;
	err = bpf_object__load(a->xdp_obj);
	if (err) {
		fprintf(stderr, "synguard: loading the XDP program failed: %s\n", strerror(-err));
		return err;
	}
	return sg_attach_xdp(a, bpf_program__fd(xp));
}

int sg_mp_attach(struct sg_attach *a, struct synguard_bpf *skel)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, po, .prog_name = SG_XDP_PROG);
	struct xdp_multiprog *mp;
	struct bpf_program *xp;
	struct xdp_program *prog;
	char why[128];
	int err;

	quiet_libxdp();
	if (a->mp_old_fd >= 0 && !a->mp_old_removed) {	/* adoption: the instance's program goes out */
		err = sg_mp_remove_id(a->ifindex, a->mp_old_id);
		if (err && err != -ENOENT) {
			fprintf(stderr, "synguard: taking the pinned instance's XDP program (id %u) out of libxdp's "
					"dispatcher on %s failed: %s\n", a->mp_old_id, a->ifname, strerror(-err));
			return err;
		}
		a->mp_old_removed = !err;
	}
	err = sg_mp_remove_stale(a->ifindex, a->ifname, 0);
	if (err < 0)
		return err;

	a->xdp_obj = open_xdp_obj(skel, &xp);
	if (!a->xdp_obj) {
		err = -errno;
		fprintf(stderr, "synguard: opening the XDP program failed: %s\n", strerror(-err));
		return err;
	}
	po.obj = a->xdp_obj;
	prog = xdp_program__create(&po);
	err = ptr_err(prog);
	if (!err)
		err = xdp_program__attach(prog, a->ifindex, lx_mode(a), 0);
	if (!err) {
		mp = xdp_multiprog__get_from_ifindex(a->ifindex);
		if (!ptr_err(mp) && xdp_multiprog__is_legacy(mp)) {
			/* libxdp fell back to attaching it alone, through netlink */
			fprintf(stderr,
				"synguard: this kernel cannot run programs in libxdp's dispatcher (freplace): synguard's "
				"XDP program is attached alone, through netlink; no other XDP program can share %s, and "
				"a kill -9 would leave it attached\n", a->ifname);
			a->xdp_how = SG_XDP_NETLINK;
			a->xdp_flags = a->xdp_mode == SG_XDP_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
			xdp_program__close(prog);
		} else {
			a->xdp_how = SG_XDP_DISPATCHER;
			a->mp_prog = prog;
		}
		if (!ptr_err(mp))
			xdp_multiprog__close(mp);
		a->xdp_prog_fd = bpf_program__fd(xp);
		return 0;
	}
	xdp_program__close(prog);
	bpf_object__close(a->xdp_obj);
	a->xdp_obj = NULL;
	libbpf_strerror(err, why, sizeof(why));
	if (err == -EBUSY || err == -EEXIST) {
		fprintf(stderr, "synguard: %s: another XDP program took the interface meanwhile (%s); nothing attached\n",
			a->ifname, why);
		return err;
	}
	if (a->xdp_mode == SG_XDP_NATIVE && err == -EOPNOTSUPP) {
		fprintf(stderr, "synguard: native XDP not supported on %s (%s); try --xdp-mode skb "
				"(generic XDP, slower)\n", a->ifname, why);
		return err;
	}
	fprintf(stderr,
		"synguard: libxdp could not put synguard's XDP program in its dispatcher on %s (%s): attaching it "
		"through a BPF link instead; no other XDP program can share %s while it runs\n",
		a->ifname, why, a->ifname);
	return fall_back_to_link(a, skel);
}

void sg_mp_detach(struct sg_attach *a, bool rollback)
{
	int err;

	if (a->mp_prog) {
		err = xdp_program__detach(a->mp_prog, a->ifindex, lx_mode(a), 0);
		if (err && err != -ENOENT)
			fprintf(stderr, "synguard: warning: taking synguard's XDP program out of libxdp's dispatcher "
					"on %s failed: %s\n", a->ifname, strerror(-err));
		xdp_program__close(a->mp_prog);
		a->mp_prog = NULL;
	}
	if (rollback && a->mp_old_removed && !a->mp_old_stale && a->mp_old_fd >= 0) {
		struct xdp_program *old = xdp_program__from_fd(a->mp_old_fd);

		err = ptr_err(old);
		if (!err)
			err = xdp_program__attach(old, a->ifindex, lx_mode(a), 0);
		if (err)
			fprintf(stderr, "synguard: warning: putting back the pinned instance's XDP program (id %u) "
					"on %s failed: %s\n", a->mp_old_id, a->ifname, strerror(-err));
		else
			fprintf(stderr, "synguard: put back the previous XDP program (id %u) on %s\n", a->mp_old_id,
				a->ifname);
		if (!ptr_err(old))
			xdp_program__close(old);
	}
}

void sg_mp_release(struct sg_attach *a)
{
	xdp_program__close(a->mp_prog);	/* (the dispatcher's pinned link holds the program) */
	a->mp_prog = NULL;
}

void sg_mp_forget(int ifindex)
{
	quiet_libxdp();
	libxdp_clean_references(ifindex);
}
