// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pin.c - pinned instances (--pin, see pin.h): create, adopt, remove.
 *
 * Adoption never leaves an instant without the XDP program: the new
 * programs are loaded against the pinned maps (bpf_map__reuse_fd), then
 * attach.c swaps each pinned link's program in one step
 * (bpf_link_update with BPF_F_REPLACE), and only then are the new programs
 * pinned and the meta updated. The old programs' pins are informational:
 * what is attached is read from the links themselves.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"
#include "pin.h"
#include "synguard.skel.h"

/* The maps that hold state across processes: pinned, and reused on
 * adoption. The rest (ring buffer, filters, per-CPU scratch, the settings)
 * each load makes new: they belong to the new programs. */
static const char *const state_maps[] = {
	"sg_flows4", "sg_flows", "sg_halfopen", "sg_ho_count", "sg_ck_secrets", "sg_ck_ports", "sg_ck_stats",
	"sg_ck_slots", "sg_ck_handed", "sg_ck_handed_any", "sg_counters", "sg_syn_rate", "sg_quiet_ports",
};
#define N_STATE_MAPS (sizeof(state_maps) / sizeof(state_maps[0]))
/* The tables --max-flows / --max-halfopen size: cannot change live. */
#define SIZED(name) (!strcmp(name, "sg_flows4") || !strcmp(name, "sg_flows") || !strcmp(name, "sg_halfopen"))

static const char *const link_names[3] = { "xdp", "tc_egress", "tc_ingress" };
enum { L_XDP, L_TC_EGRESS, L_TC_INGRESS };

struct sg_pin {
	char ifname[32];
	char dir[256];
	bool adopt;
	bool committed;
	int meta_fd;
	struct sg_meta meta;
};

void sg_pin_dir(char *buf, size_t len, const char *ifname)
{
	snprintf(buf, len, "%s/%s", SG_PIN_ROOT, ifname);
}

static void path_of(char *buf, size_t len, const char *dir, const char *sub, const char *name)
{
	if (sub)
		snprintf(buf, len, "%s/%s/%s", dir, sub, name);
	else
		snprintf(buf, len, "%s/%s", dir, name);
}

static __u64 netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : st.st_ino;
}

static __u64 realtime_s(void)
{
	return (__u64)time(NULL);
}

/* ---- meta ---- */

static int read_meta(const char *dir, struct sg_meta *m, int *fdp)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi), zero = 0;
	char path[320];
	int fd, err = 0;

	memset(m, 0, sizeof(*m));
	path_of(path, sizeof(path), dir, NULL, "meta");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return fd == -ENOENT ? -ENOENT : fd;
	if (bpf_obj_get_info_by_fd(fd, &mi, &len) || mi.type != BPF_MAP_TYPE_ARRAY ||
	    mi.value_size != sizeof(*m) || bpf_map_lookup_elem(fd, &zero, m) || m->magic != SG_PIN_MAGIC)
		err = -EPROTO;
	else if (m->layout != SG_LAYOUT_VERSION)
		err = -EPROTO;
	if (err || !fdp)
		close(fd);
	else
		*fdp = fd;
	return err;
}

int sg_pin_read_meta(const char *ifname, struct sg_meta *m)
{
	char dir[256];

	sg_pin_dir(dir, sizeof(dir), ifname);
	return read_meta(dir, m, NULL);
}

int sg_pin_exists(const char *ifname)
{
	char dir[256];
	struct stat st;

	sg_pin_dir(dir, sizeof(dir), ifname);
	return !stat(dir, &st) && S_ISDIR(st.st_mode);
}

static int write_meta(struct sg_pin *p)
{
	__u32 zero = 0;

	return bpf_map_update_elem(p->meta_fd, &zero, &p->meta, BPF_ANY) ? -errno : 0;
}

/* FNV-1a over the state maps' definitions as this build opened them. */
static __u64 fnv(__u64 h, const void *data, size_t n)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static __u64 layout_hash(struct bpf_object *obj)
{
	__u64 h = 1469598103934665603ull;
	__u32 meta_size = sizeof(struct sg_meta);

	for (size_t i = 0; i < N_STATE_MAPS; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, state_maps[i]);
		__u32 v[5] = {};

		h = fnv(h, state_maps[i], strlen(state_maps[i]) + 1);
		if (m) {
			v[0] = bpf_map__type(m);
			v[1] = bpf_map__key_size(m);
			v[2] = bpf_map__value_size(m);
			v[3] = bpf_map__map_flags(m);
			v[4] = SIZED(state_maps[i]) ? 0 : bpf_map__max_entries(m);
		}
		h = fnv(h, v, sizeof(v));
	}
	return fnv(h, &meta_size, sizeof(meta_size));
}

/* ---- removal ---- */

/* Unlink everything under dir (links detached first), then dir. */
static void remove_tree(const char *dir)
{
	static const char *const subs[] = { "links", "progs", "maps" };
	char path[512];

	for (size_t s = 0; s < sizeof(subs) / sizeof(subs[0]); s++) {
		struct dirent *d;
		DIR *dp;

		path_of(path, sizeof(path), dir, NULL, subs[s]);
		dp = opendir(path);
		if (!dp)
			continue;
		while ((d = readdir(dp))) {
			if (d->d_name[0] == '.')
				continue;
			path_of(path, sizeof(path), dir, subs[s], d->d_name);
			if (s == 0) {	/* a link: detach it even if someone still holds it */
				int fd = bpf_obj_get(path);

				if (fd >= 0) {
					bpf_link_detach(fd);
					close(fd);
				}
			}
			unlink(path);
		}
		closedir(dp);
		path_of(path, sizeof(path), dir, NULL, subs[s]);
		rmdir(path);
	}
	path_of(path, sizeof(path), dir, NULL, "meta");
	unlink(path);
	if (rmdir(dir) && errno != ENOENT)
		fprintf(stderr, "synguard: warning: cannot remove %s: %s\n", dir, strerror(errno));
}

static __u32 prog_id_of(int fd)
{
	struct bpf_prog_info pi = {};
	__u32 len = sizeof(pi);

	return bpf_obj_get_info_by_fd(fd, &pi, &len) ? 0 : pi.id;
}

/* Enter the named network namespace (/run/netns/NAME) whose inode is ino. */
static int enter_netns_ino(__u64 ino, char *name, size_t len)
{
	struct dirent *d;
	DIR *dp = opendir("/run/netns");
	int err = -ENOENT;

	if (!dp)
		return err;
	while ((d = readdir(dp))) {
		char path[300];
		struct stat st;
		int fd;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", d->d_name);
		if (stat(path, &st) || st.st_ino != ino)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			err = setns(fd, CLONE_NEWNET) ? -errno : 0;
			close(fd);
		}
		snprintf(name, len, "%s", d->d_name);
		break;
	}
	closedir(dp);
	return err;
}

int sg_pin_remove(const char *ifname)
{
	struct sg_meta m;
	struct sg_attach at;
	char dir[256], path[320];
	int err;

	sg_pin_dir(dir, sizeof(dir), ifname);
	err = read_meta(dir, &m, NULL);
	if (!err && (m.xdp_how == SG_XDP_NETLINK || m.xdp_how == SG_XDP_DISPATCHER || m.tc_how == SG_TC_CLSACT)) {
		/* attached by ifindex, not a link: that needs its network namespace */
		if (m.netns_ino != netns_ino()) {
			char name[256] = "";

			if (enter_netns_ino(m.netns_ino, name, sizeof(name))) {
				/* gone with its namespace, most likely: remove the pins anyway */
				fprintf(stderr,
					"synguard: warning: the instance on %s was attached (%s) in network namespace "
					"net:[%llu], which has no name under /run/netns: if it still exists, what was "
					"attached there stays; removing the pins\n",
					ifname, m.xdp_how == SG_XDP_NETLINK ? "XDP through netlink" :
						m.xdp_how == SG_XDP_DISPATCHER ? "XDP in libxdp's dispatcher" :
						"clsact filters",
					(unsigned long long)m.netns_ino);
				remove_tree(dir);
				return 0;
			}
		}
		sg_attach_init(&at);
		at.ifindex = m.ifindex;
		snprintf(at.ifname, sizeof(at.ifname), "%s", ifname);
		at.committed = true;
		if (m.xdp_how == SG_XDP_NETLINK) {
			path_of(path, sizeof(path), dir, "progs", "sg_xdp");
			at.xdp_prog_fd = bpf_obj_get(path);
			if (at.xdp_prog_fd >= 0) {
				at.xdp_how = SG_XDP_NETLINK;
				at.xdp_flags = m.xdp_mode == SG_XDP_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
			}
		}
		if (m.xdp_how == SG_XDP_DISPATCHER) {
			/* ours out of the dispatcher, the other programs stay */
			path_of(path, sizeof(path), dir, "progs", "sg_xdp");
			at.xdp_prog_fd = bpf_obj_get(path);
			if (at.xdp_prog_fd >= 0) {
				__u32 id = prog_id_of(at.xdp_prog_fd);
				int e = id ? sg_mp_remove_id(m.ifindex, id) : -ENOENT;

				if (e && e != -ENOENT)
					fprintf(stderr, "synguard: warning: taking XDP program id %u out of libxdp's "
							"dispatcher on %s: %s\n", id, ifname, strerror(-e));
				close(at.xdp_prog_fd);
				at.xdp_prog_fd = -1;
			}
		}
		if (m.tc_how == SG_TC_CLSACT) {
			at.tc_how = SG_TC_CLSACT;
			at.tc_egress_attached = true;
			at.tc_ingress_attached = m.tc_ingress;
			at.tc_hook_created = m.tc_qdisc_created;
		}
		sg_detach_all(&at);	/* (only what is still ours: XDP_FLAGS_REPLACE, filter names) */
		if (at.xdp_prog_fd >= 0)
			close(at.xdp_prog_fd);
	}
	remove_tree(dir);
	return 0;
}

/* ---- open / adopt ---- */

/*
 * /sys/fs/bpf must be the host's BPF filesystem: a bpffs private to this
 * mount namespace (ip netns exec gives commands a private /sys) would
 * take the pins with it when synguard exits. Mounted here only where
 * that can be told: in pid 1's mount namespace.
 */
static int ensure_bpffs(void)
{
	static const char msg[] =
		"synguard: --pin: /sys/fs/bpf here is %s (ip netns exec gives commands a private /sys): "
		"pins made here would vanish with synguard. Enter only the network namespace instead: "
		"nsenter --net=/run/netns/NAME synguard --pin ...\n";
	struct stat self, init, here, host;
	struct statfs sf;
	bool same_ns;

	same_ns = !stat("/proc/self/ns/mnt", &self) && !stat("/proc/1/ns/mnt", &init) &&
		  self.st_ino == init.st_ino && self.st_dev == init.st_dev;
	if (!statfs("/sys/fs/bpf", &sf) && sf.f_type == BPF_FS_MAGIC) {
		if (!same_ns && !stat("/sys/fs/bpf", &here) && !stat("/proc/1/root/sys/fs/bpf", &host) &&
		    here.st_dev != host.st_dev) {
			fprintf(stderr, msg, "not the host's BPF filesystem");
			return -EPERM;
		}
		return 0;
	}
	if (!same_ns) {
		fprintf(stderr, msg, "no BPF filesystem, in a mount namespace of its own");
		return -EPERM;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		fprintf(stderr, "synguard: --pin: cannot mount the BPF filesystem at /sys/fs/bpf: %s\n",
			strerror(errno));
		return -errno;
	}
	return 0;
}

static int link_info(int fd, struct bpf_link_info *li)
{
	__u32 len = sizeof(*li);

	memset(li, 0, sizeof(*li));
	return bpf_obj_get_info_by_fd(fd, li, &len);
}

/* The pinned link NAME if it is still attached to ifindex (else it went with
 * an older interface of that name): its fd, *prog_fd its program. */
static int open_link(const char *dir, const char *name, int ifindex, __u32 *id, int *prog_fd)
{
	struct bpf_link_info li;
	char path[320];
	int fd;

	*prog_fd = -1;
	path_of(path, sizeof(path), dir, "links", name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	if (link_info(fd, &li) || li.xdp.ifindex != (__u32)ifindex ||
	    (*prog_fd = bpf_prog_get_fd_by_id(li.prog_id)) < 0) {
		close(fd);
		*prog_fd = -1;
		return -1;
	}
	if (id)
		*id = li.id;
	return fd;
}

/* Record what the pinned instance has attached in at, for the swap. */
static int adopt_attach_state(struct sg_pin *p, const struct sg_config *cfg, struct sg_attach *at)
{
	const struct sg_meta *m = &p->meta;
	static const char *const mname[] = { "native", "skb" };
	bool xdp_there = false;

	at->adopt = true;
	if (m->xdp_how != SG_XDP_NONE)
		at->mp_want = m->xdp_how == SG_XDP_DISPATCHER;	/* attached as the instance was */
	if (m->xdp_how == SG_XDP_DISPATCHER) {
		char path[320];
		int fd;

		path_of(path, sizeof(path), p->dir, "progs", "sg_xdp");
		fd = bpf_obj_get(path);
		if (fd >= 0 && sg_mp_has_id(at->ifindex, prog_id_of(fd))) {
			at->mp_old_fd = fd;
			at->mp_old_id = prog_id_of(fd);
			xdp_there = true;
		} else if (fd >= 0) {
			close(fd);
		}
	} else if (m->xdp_how == SG_XDP_LINK) {
		at->xdp_link_fd = open_link(p->dir, link_names[L_XDP], at->ifindex, &at->xdp_own_link_id,
					    &at->xdp_old_fd);
		xdp_there = at->xdp_link_fd >= 0;
	} else if (m->xdp_how == SG_XDP_NETLINK) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		char path[320];
		int fd;

		path_of(path, sizeof(path), p->dir, "progs", "sg_xdp");
		fd = bpf_obj_get(path);
		if (fd >= 0 && !bpf_xdp_query(at->ifindex, 0, &q) && q.prog_id && q.prog_id == prog_id_of(fd)) {
			at->xdp_old_fd = fd;
			at->xdp_old_id = q.prog_id;
			xdp_there = true;
		} else if (fd >= 0) {
			close(fd);
		}
	}
	if (xdp_there && m->xdp_mode != cfg->xdp_mode) {
		fprintf(stderr,
			"synguard: the pinned instance on %s runs XDP in %s mode; --xdp-mode cannot change "
			"live: add --xdp-mode %s, or 'synguard unload %s' first\n",
			at->ifname, mname[m->xdp_mode & 1], mname[m->xdp_mode & 1], at->ifname);
		return -EINVAL;
	}
	if (!xdp_there)
		fprintf(stderr, "synguard: the pinned instance on %s had no XDP program attached any more "
				"(the interface was re-created?): attaching anew, with its maps\n", at->ifname);
	if (m->tc_how == SG_TC_TCX) {
		at->tc_how = SG_TC_TCX;
		for (int dir = 0; dir < 2; dir++) {
			at->tc_link_fd[dir] = open_link(p->dir, link_names[L_TC_EGRESS + dir], at->ifindex, NULL,
							&at->tc_old_fd[dir]);
			if (at->tc_link_fd[dir] >= 0) {
				if (dir == SG_TC_INGRESS)
					at->tc_ingress_attached = true;
				else
					at->tc_egress_attached = true;
			}
		}
	} else if (m->tc_how == SG_TC_CLSACT) {
		at->tc_how = SG_TC_CLSACT;
		for (int dir = 0; dir < 2; dir++) {
			__u32 id = sg_clsact_prog(at->ifindex, dir);

			if (!id)
				continue;
			at->tc_old_fd[dir] = bpf_prog_get_fd_by_id(id);
			if (dir == SG_TC_INGRESS)
				at->tc_ingress_attached = true;
			else
				at->tc_egress_attached = true;
		}
	}
	return 0;
}

int sg_pin_open(struct sg_pin **pp, const struct sg_config *cfg, struct sg_attach *at)
{
	struct sg_pin *p = calloc(1, sizeof(*p));
	struct stat st;
	int err;

	*pp = NULL;
	if (!p)
		return -ENOMEM;
	p->meta_fd = -1;
	snprintf(p->ifname, sizeof(p->ifname), "%s", at->ifname);
	sg_pin_dir(p->dir, sizeof(p->dir), at->ifname);
	err = ensure_bpffs();
	if (err)
		goto fail;
	if (mkdir(SG_PIN_ROOT, 0700) && errno != EEXIST) {
		err = -errno;
		fprintf(stderr, "synguard: --pin: cannot create %s: %s\n", SG_PIN_ROOT, strerror(errno));
		goto fail;
	}
	err = read_meta(p->dir, &p->meta, &p->meta_fd);
	if (err == -ENOENT) {
		if (!stat(p->dir, &st)) {
			/* killed while creating it (the meta is pinned last) */
			fprintf(stderr, "synguard: removing an incomplete pinned instance at %s\n", p->dir);
			remove_tree(p->dir);
		}
		*pp = p;
		return 0;
	}
	if (err == -EPROTO) {
		fprintf(stderr,
			"synguard: the pinned instance at %s has another layout (made by a synguard whose maps "
			"differ from this build's, layout %u vs %u): it cannot be adopted; 'synguard unload %s' "
			"removes it (its flows and cookie secrets are lost)\n",
			p->dir, p->meta.magic == SG_PIN_MAGIC ? p->meta.layout : 0, SG_LAYOUT_VERSION, at->ifname);
		goto fail;
	}
	if (err) {
		fprintf(stderr, "synguard: cannot read %s/meta: %s\n", p->dir, strerror(-err));
		goto fail;
	}
	if (p->meta.netns_ino != netns_ino()) {
		fprintf(stderr,
			"synguard: the instance pinned at %s serves a %s in another network namespace "
			"(net:[%llu]); 'synguard unload %s' there first\n",
			p->dir, at->ifname, (unsigned long long)p->meta.netns_ino, at->ifname);
		err = -EXDEV;
		goto fail;
	}
	if (cfg->max_flows != p->meta.max_flows || cfg->max_halfopen != p->meta.max_halfopen) {
		fprintf(stderr,
			"synguard: the pinned instance on %s has --max-flows %u --max-halfopen %u; table sizes "
			"cannot change live (asked: %u, %u): give the same, or 'synguard unload %s' first "
			"(its flows and cookie secrets are lost)\n",
			at->ifname, p->meta.max_flows, p->meta.max_halfopen, cfg->max_flows, cfg->max_halfopen,
			at->ifname);
		err = -EINVAL;
		goto fail;
	}
	p->adopt = true;
	err = adopt_attach_state(p, cfg, at);
	if (err)
		goto fail;
	*pp = p;
	return 0;
fail:
	if (p->meta_fd >= 0)
		close(p->meta_fd);
	free(p);
	return err ? err : -EINVAL;
}

bool sg_pin_adopting(const struct sg_pin *p)
{
	return p && p->adopt;
}

const struct sg_meta *sg_pin_meta(const struct sg_pin *p)
{
	return p ? &p->meta : NULL;
}

int sg_pin_reuse(struct sg_pin *p, struct synguard_bpf *skel, const struct sg_config *cfg)
{
	(void)cfg;
	if (!p || !p->adopt)
		return 0;
	if (layout_hash(skel->obj) != p->meta.layout_hash) {
		fprintf(stderr,
			"synguard: the pinned instance at %s was made by a synguard whose maps differ from this "
			"build's (layout hash %016llx vs %016llx): it cannot be adopted; 'synguard unload %s' "
			"removes it (its flows and cookie secrets are lost)\n",
			p->dir, (unsigned long long)p->meta.layout_hash,
			(unsigned long long)layout_hash(skel->obj), p->ifname);
		return -EPROTO;
	}
	for (size_t i = 0; i < N_STATE_MAPS; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, state_maps[i]);
		struct bpf_map_info mi = {};
		__u32 len = sizeof(mi);
		char path[320];
		int fd, err;

		path_of(path, sizeof(path), p->dir, "maps", state_maps[i]);
		fd = bpf_obj_get(path);
		if (!m || fd < 0 || bpf_obj_get_info_by_fd(fd, &mi, &len) || mi.type != bpf_map__type(m) ||
		    mi.key_size != bpf_map__key_size(m) || mi.value_size != bpf_map__value_size(m) ||
		    mi.max_entries != bpf_map__max_entries(m)) {
			fprintf(stderr, "synguard: the pinned map %s does not match this build's: the instance cannot "
					"be adopted; 'synguard unload %s' removes it\n", path, p->ifname);
			if (fd >= 0)
				close(fd);
			return -EPROTO;
		}
		err = bpf_map__reuse_fd(m, fd);
		close(fd);
		if (err) {
			fprintf(stderr, "synguard: cannot reuse the pinned map %s: %s\n", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* ---- commit ---- */

/* Pin fd at dir/sub/name, replacing what is there in one rename. */
static int pin_replace(const char *dir, const char *sub, const char *name, int fd)
{
	char path[320], tmp[340];

	path_of(path, sizeof(path), dir, sub, name);
	snprintf(tmp, sizeof(tmp), "%s_new", path); /* (bpffs names have no dots) */
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp))
		return -errno;
	if (rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

static void unpin(const char *dir, const char *sub, const char *name)
{
	char path[320];

	path_of(path, sizeof(path), dir, sub, name);
	unlink(path);
}

static int pin_links(struct sg_pin *p, struct sg_attach *at)
{
	int err = 0;

	if (at->xdp_how == SG_XDP_LINK && !at->xdp_own_link_id)
		err = pin_replace(p->dir, "links", link_names[L_XDP], at->xdp_link_fd);
	else if (at->xdp_how != SG_XDP_LINK)
		unpin(p->dir, "links", link_names[L_XDP]);
	for (int dir = 0; dir < 2 && !err; dir++) {
		if (at->tc_link_fd[dir] >= 0 && at->tc_link_new[dir])
			err = pin_replace(p->dir, "links", link_names[L_TC_EGRESS + dir], at->tc_link_fd[dir]);
		else if (at->tc_link_fd[dir] < 0 || (dir == SG_TC_INGRESS && at->tc_drop_ingress))
			unpin(p->dir, "links", link_names[L_TC_EGRESS + dir]);
	}
	if (err)
		fprintf(stderr, "synguard: --pin: pinning a link under %s failed: %s\n", p->dir, strerror(-err));
	return err;
}

static void pin_progs(struct sg_pin *p, struct synguard_bpf *skel, const struct sg_attach *at)
{
	struct bpf_program *progs[] = { skel->progs.sg_xdp, skel->progs.sg_tc_egress, skel->progs.sg_tc_ingress };

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		const char *name = bpf_program__name(progs[i]);
		/* (sg_xdp: in libxdp's dispatcher, loaded apart from the skeleton) */
		int fd = i == 0 ? at->xdp_prog_fd : bpf_program__fd(progs[i]);

		if (fd < 0)
			unpin(p->dir, "progs", name);
		else if (pin_replace(p->dir, "progs", name, fd))
			fprintf(stderr, "synguard: warning: cannot pin program %s under %s\n", name, p->dir);
	}
}

static void meta_fill(struct sg_pin *p, struct synguard_bpf *skel, const struct sg_attach *at,
		      const struct sg_config *cfg)
{
	struct sg_meta *m = &p->meta;

	m->magic = SG_PIN_MAGIC;
	m->layout = SG_LAYOUT_VERSION;
	m->layout_hash = layout_hash(skel->obj);
	m->netns_ino = netns_ino();
	m->ifindex = at->ifindex;
	m->owner_pid = getpid();
	m->max_flows = cfg->max_flows;
	m->max_halfopen = cfg->max_halfopen;
	m->mode = cfg->mode;
	m->xdp_mode = cfg->xdp_mode;
	m->xdp_how = at->xdp_how;
	m->tc_how = at->tc_how;
	m->tc_ingress = at->tc_ingress_attached && !at->tc_drop_ingress;
	if (at->tc_hook_created)
		m->tc_qdisc_created = 1;
	m->explicit_ports = cfg->nprot_ports > 0;
	snprintf(m->version, sizeof(m->version), "%s", SG_VERSION);
}

int sg_pin_commit(struct sg_pin *p, struct synguard_bpf *skel, struct sg_attach *at, const struct sg_config *cfg)
{
	static const char *const subs[] = { "maps", "progs", "links" };
	char path[320];
	int err = 0;

	if (!p)
		return 0;
	if (p->adopt) {
		err = pin_links(p, at);
		if (err)
			return err;
		pin_progs(p, skel, at);
		meta_fill(p, skel, at, cfg);
		p->meta.adopted_at = realtime_s();
		p->meta.adoptions++;
		if (write_meta(p))
			fprintf(stderr, "synguard: warning: cannot update %s/meta: %s\n", p->dir, strerror(errno));
		p->committed = true;
		return 0;
	}

	/* a new instance: everything, the meta last (its presence means complete) */
	if (mkdir(p->dir, 0700) && errno != EEXIST)
		err = -errno;
	for (size_t i = 0; !err && i < sizeof(subs) / sizeof(subs[0]); i++) {
		path_of(path, sizeof(path), p->dir, NULL, subs[i]);
		if (mkdir(path, 0700) && errno != EEXIST)
			err = -errno;
	}
	for (size_t i = 0; !err && i < N_STATE_MAPS; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, state_maps[i]);

		path_of(path, sizeof(path), p->dir, "maps", state_maps[i]);
		if (!m || bpf_obj_pin(bpf_map__fd(m), path))
			err = m ? -errno : -ENOENT;
	}
	if (!err)
		err = pin_links(p, at);
	if (!err) {
		pin_progs(p, skel, at);
		meta_fill(p, skel, at, cfg);
		p->meta.pinned_since = realtime_s();
		p->meta_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sg_meta", sizeof(__u32), sizeof(struct sg_meta), 1,
					    NULL);
		if (p->meta_fd < 0)
			err = p->meta_fd;
	}
	if (!err)
		err = write_meta(p);
	if (!err) {
		path_of(path, sizeof(path), p->dir, NULL, "meta");
		if (bpf_obj_pin(p->meta_fd, path))
			err = -errno;
	}
	if (err) {
		fprintf(stderr, "synguard: --pin: pinning under %s failed: %s\n", p->dir, strerror(-err));
		remove_tree(p->dir);
		return err;
	}
	p->committed = true;
	return 0;
}

void sg_pin_note_rotation(struct sg_pin *p, __u64 last_rotate_ns)
{
	if (!p || !p->committed || !last_rotate_ns || p->meta.last_rotate_ns == last_rotate_ns)
		return;
	p->meta.last_rotate_ns = last_rotate_ns;
	write_meta(p);
}

void sg_pin_close(struct sg_pin *p)
{
	if (!p)
		return;
	if (p->committed) {
		p->meta.owner_pid = 0;
		write_meta(p);
	}
	if (p->meta_fd >= 0)
		close(p->meta_fd);
	free(p);
}
