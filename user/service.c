// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * service.c - `synguard status` and `synguard unload` (see service.h).
 *
 * status reads, never changes: the pinned instances' meta and maps
 * (/sys/fs/bpf/synguard/IFACE), and the owner locks of running synguard
 * processes (/run/synguard/IFACE.lock, whose description names their
 * counters map: foreground runs have counters too).
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"
#include "sg_flow.h"
#include "sg_cookie.h"
#include "counters.h"
#include "json.h"
#include "owner.h"
#include "pin.h"
#include "service.h"

#define MAX_INST 256

static const char *const mode_names[] = { "monitor", "protect", "auto" };
static const char *const xdp_how_names[] = { "none", "link", "netlink", "libxdp" };
static const char *const tc_how_names[] = { "none", "tcx", "clsact" };

struct inst {
	char ifname[32];
	bool pinned;		/* has a pin directory */
	int meta_err;		/* 0: meta read */
	struct sg_meta m;
	pid_t pid;		/* live owner, 0 none */
	char desc[1024];	/* its lock file's description */
	const char *mode;
	char ports[400];
	bool have_cnt;
	__u64 cnt[SG_CNT_MAX];
	long long flows, halfopen;	/* -1: unknown */
	long long started;		/* a foreground owner's start (realtime s), 0 unknown */
};

static int usage(const char *cmd, const char *msg)
{
	if (msg)
		fprintf(stderr, "synguard %s: %s\n", cmd, msg);
	fprintf(msg ? stderr : stdout,
		!strcmp(cmd, "status") ?
		"usage: synguard status [--json] [IFACE]\n\n"
		"Lists the synguard instances on this host: interface, mode, protected ports,\n"
		"pinned since, the pid of the process serving it (if any), counters.\n"
		"--json: one {\"type\":\"instance\",...} object per line.\n" :
		"usage: synguard unload IFACE\n\n"
		"Removes IFACE's pinned instance (synguard --pin) and everything it attached.\n"
		"Refused while a synguard process serves IFACE (stop it first).\n");
	return msg ? 2 : 0;
}

static bool valid_name(const char *s)
{
	return s && *s && strlen(s) < 32 && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* Entries of a hash map (-1 if unreadable): batched, or key by key. */
static long long count_entries(int fd)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi), batch, cnt;
	enum { CHUNK = 4096 };
	long long n = 0;
	void *keys, *vals, *k = NULL, *next;
	bool first = true;
	int err;

	if (bpf_obj_get_info_by_fd(fd, &mi, &len))
		return -1;
	keys = malloc((size_t)mi.key_size * CHUNK);
	vals = malloc((size_t)mi.value_size * CHUNK);
	next = malloc(mi.key_size);
	if (!keys || !vals || !next) {
		n = -1;
		goto out;
	}
	for (;;) {
		cnt = CHUNK;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals, &cnt, NULL);
		first = false;
		n += cnt;
		if (err) {
			if (errno == ENOENT)
				goto out;
			break;
		}
	}
	/* no batch lookups for this map: walk the keys */
	n = 0;
	k = malloc(mi.key_size);
	while (k && !bpf_map_get_next_key(fd, n ? k : NULL, next)) {
		memcpy(k, next, mi.key_size);
		n++;
	}
out:
	free(keys);
	free(vals);
	free(next);
	free(k);
	return n;
}

static int pinned_map(const char *ifname, const char *name)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s/maps/%s", SG_PIN_ROOT, ifname, name);
	return bpf_obj_get(path);
}

/* "8080,8443" from the ports map's SG_PORT_PROTECTED flags. */
static void protected_ports(int fd, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (__u32 port = 1; port < 65536 && n < len - 8; port++) {
		struct sg_port_cfg pc;

		if (!bpf_map_lookup_elem(fd, &port, &pc) && (pc.flags & SG_PORT_PROTECTED))
			n += snprintf(buf + n, len - n, "%s%u", n ? "," : "", port);
	}
}

/* A value from the owner's "key=value" description. */
static const char *desc_get(const char *desc, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);

	buf[0] = '\0';
	for (const char *p = desc; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			size_t vl = strcspn(p + kl + 1, "\n");

			if (vl >= len)
				vl = len - 1;
			memcpy(buf, p + kl + 1, vl);
			buf[vl] = '\0';
			return buf;
		}
	}
	return NULL;
}

static void fill(struct inst *in)
{
	char v[256];
	int fd;

	in->flows = in->halfopen = -1;
	in->pid = sg_owner_query(in->ifname, in->desc, sizeof(in->desc));
	in->mode = "?";
	snprintf(in->ports, sizeof(in->ports), "-");
	if (in->pinned) {
		in->meta_err = sg_pin_read_meta(in->ifname, &in->m);
		if (!in->meta_err) {
			in->mode = in->m.mode < 3 ? mode_names[in->m.mode] : "?";
			if (in->m.mode == SG_MODE_MONITOR)
				snprintf(in->ports, sizeof(in->ports), "none");
			else if (!in->m.explicit_ports)
				snprintf(in->ports, sizeof(in->ports), "listeners");
			else if ((fd = pinned_map(in->ifname, "sg_ck_ports")) >= 0) {
				protected_ports(fd, in->ports, sizeof(in->ports));
				close(fd);
			}
		}
		if ((fd = pinned_map(in->ifname, "sg_counters")) >= 0) {
			in->have_cnt = !sg_counters_read(fd, in->cnt);
			close(fd);
		}
		in->flows = 0;
		for (int v = 0; v < 2 && in->flows >= 0; v++) {	/* IPv4, IPv6 */
			long long n = -1;

			if ((fd = pinned_map(in->ifname, v ? "sg_flows" : "sg_flows4")) >= 0) {
				n = count_entries(fd);
				close(fd);
			}
			in->flows = n < 0 ? -1 : in->flows + n;
		}
		if ((fd = pinned_map(in->ifname, "sg_halfopen")) >= 0) {
			in->halfopen = count_entries(fd);
			close(fd);
		}
		return;
	}
	/* a foreground process: what its lock file says */
	if (desc_get(in->desc, "mode", v, sizeof(v)))
		in->mode = !strcmp(v, "protect") ? mode_names[1] : !strcmp(v, "auto") ? mode_names[2] : mode_names[0];
	if (desc_get(in->desc, "ports", v, sizeof(v)))
		snprintf(in->ports, sizeof(in->ports), "%s",
			 strcmp(in->mode, "monitor") ? (v[0] ? v : "listeners") : "none");
	if (desc_get(in->desc, "started", v, sizeof(v)))
		in->started = atoll(v);
	if (desc_get(in->desc, "counters_map_id", v, sizeof(v)) && atoi(v) > 0 &&
	    (fd = bpf_map_get_fd_by_id(atoi(v))) >= 0) {
		in->have_cnt = !sg_counters_read(fd, in->cnt);
		close(fd);
	}
}

static void iso(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_json(const struct inst *in)
{
	char buf[4096], t[40];
	struct sg_json j;

	sg_json_begin(&j, buf, sizeof(buf));
	sg_json_str(&j, "type", "instance");
	sg_json_str(&j, "iface", in->ifname);
	sg_json_bool(&j, "pinned", in->pinned);
	sg_json_u64(&j, "pid", in->pid);
	sg_json_str(&j, "mode", in->mode);
	sg_json_str(&j, "ports", in->ports);
	if (in->pinned && in->meta_err) {
		sg_json_str(&j, "error", in->meta_err == -EPROTO ? "another layout" : "no meta (incomplete)");
	} else if (in->pinned) {
		iso(in->m.pinned_since, t, sizeof(t));
		sg_json_str(&j, "pinned_since", t);
		if (in->m.adoptions) {
			iso(in->m.adopted_at, t, sizeof(t));
			sg_json_str(&j, "adopted_at", t);
		}
		sg_json_u64(&j, "adoptions", in->m.adoptions);
		sg_json_str(&j, "xdp_mode", in->m.xdp_mode == SG_XDP_SKB ? "skb" : "native");
		sg_json_str(&j, "xdp", xdp_how_names[in->m.xdp_how % 4]);
		sg_json_str(&j, "tc", tc_how_names[in->m.tc_how % 3]);
		sg_json_u64(&j, "max_flows", in->m.max_flows);
		sg_json_u64(&j, "max_halfopen", in->m.max_halfopen);
		sg_json_str(&j, "version", in->m.version);
	} else if (in->started) {
		iso(in->started, t, sizeof(t));
		sg_json_str(&j, "started", t);
	}
	if (in->flows >= 0)
		sg_json_u64(&j, "flows", in->flows);
	if (in->halfopen >= 0)
		sg_json_u64(&j, "halfopen", in->halfopen);
	if (in->have_cnt)
		for (int i = 0; i < SG_CNT_MAX; i++)
			sg_json_u64(&j, sg_counter_name(i), in->cnt[i]);
	if (sg_json_end(&j) < (int)sizeof(buf))
		printf("%s\n", buf);
}

static void print_text(const struct inst *in)
{
	char t[40], line[2048];
	size_t n = 0;

	if (in->pinned && in->meta_err) {
		printf("%s: pinned at %s/%s, %s; 'synguard unload %s' removes it\n", in->ifname, SG_PIN_ROOT,
		       in->ifname, in->meta_err == -EPROTO ? "made by a synguard with another map layout"
							    : "incomplete (no meta)", in->ifname);
		return;
	}
	if (in->pinned) {
		iso(in->m.pinned_since, t, sizeof(t));
		printf("%s: pinned since %s, ", in->ifname, t);
	} else {
		iso(in->started, t, sizeof(t));
		printf("%s: not pinned (stops with its process), started %s, ", in->ifname, t);
	}
	if (in->pid)
		printf("served by pid %d\n", (int)in->pid);
	else
		printf("no process serving it (protection and tracking go on in the kernel)\n");
	printf("  mode %s, protected ports %s", in->mode, in->ports);
	if (in->pinned) {
		printf(", XDP %s (%s), TC %s, tables %u/%u, synguard %s", in->m.xdp_mode == SG_XDP_SKB ? "skb" : "native",
		       xdp_how_names[in->m.xdp_how % 4], tc_how_names[in->m.tc_how % 3], in->m.max_flows,
		       in->m.max_halfopen, in->m.version);
		if (in->m.adoptions) {
			iso(in->m.adopted_at, t, sizeof(t));
			printf(", adopted %u time%s (last %s)", in->m.adoptions, in->m.adoptions == 1 ? "" : "s", t);
		}
	}
	printf("\n");
#define ADD(...) (n += snprintf(line + n, n < sizeof(line) ? sizeof(line) - n : 0, __VA_ARGS__))
	if (in->flows >= 0)
		ADD(" flows=%lld", in->flows);
	if (in->halfopen >= 0)
		ADD(" halfopen=%lld", in->halfopen);
	if (in->have_cnt)
		for (int i = 0; i < SG_CNT_MAX; i++)
			if (in->cnt[i] || i <= SG_CNT_SYN)
				ADD(" %s=%llu", sg_counter_name(i), (unsigned long long)in->cnt[i]);
#undef ADD
	if (n)
		printf(" %s\n", line);
}

static int add_name(struct inst *v, int n, const char *name, bool pinned)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v[i].ifname, name)) {
			v[i].pinned |= pinned;
			return n;
		}
	if (n >= MAX_INST || !valid_name(name))
		return n;
	memset(&v[n], 0, sizeof(v[n]));
	snprintf(v[n].ifname, sizeof(v[n].ifname), "%s", name);
	v[n].pinned = pinned;
	return n + 1;
}

int sg_status_cmd(int argc, char **argv)
{
	static struct inst v[MAX_INST];
	const char *only = NULL;
	bool json = false;
	struct dirent *d;
	DIR *dp;
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage("status", NULL);
		else if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = true;
		else if (argv[i][0] == '-' || only)
			return usage("status", "unexpected argument");
		else
			only = argv[i];
	}
	if (only && !valid_name(only))
		return usage("status", "invalid interface name");
	if (geteuid() != 0) {
		fprintf(stderr, "synguard status: must run as root (reads BPF maps)\n");
		return 1;
	}
	if ((dp = opendir(SG_PIN_ROOT))) {
		while ((d = readdir(dp)))
			if (d->d_name[0] != '.' && (!only || !strcmp(d->d_name, only)))
				n = add_name(v, n, d->d_name, true);
		closedir(dp);
	}
	if ((dp = opendir(SG_RUN_DIR))) {
		while ((d = readdir(dp))) {
			char name[64];
			size_t l = strlen(d->d_name);

			if (l <= 5 || l - 5 >= sizeof(name) || strcmp(d->d_name + l - 5, ".lock"))
				continue;
			memcpy(name, d->d_name, l - 5);
			name[l - 5] = '\0';
			if ((!only || !strcmp(name, only)) && sg_owner_query(name, NULL, 0))
				n = add_name(v, n, name, false);
		}
		closedir(dp);
	}
	if (!n) {
		if (only) {
			fprintf(stderr, "synguard status: no synguard instance on %s\n", only);
			return 1;
		}
		if (!json)
			printf("no synguard instances\n");
		return 0;
	}
	for (int i = 0; i < n; i++) {
		fill(&v[i]);
		if (json)
			print_json(&v[i]);
		else
			print_text(&v[i]);
	}
	return 0;
}

int sg_unload_cmd(int argc, char **argv)
{
	struct sg_owner own;
	const char *ifname = NULL;
	pid_t holder;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage("unload", NULL);
		else if (argv[i][0] == '-' || ifname)
			return usage("unload", "unexpected argument");
		else
			ifname = argv[i];
	}
	if (!ifname)
		return usage("unload", "no interface given");
	if (!valid_name(ifname))
		return usage("unload", "invalid interface name");
	if (geteuid() != 0) {
		fprintf(stderr, "synguard unload: must run as root\n");
		return 1;
	}
	if (!sg_pin_exists(ifname)) {
		unsigned int ifindex = if_nametoindex(ifname);
		int n = 0;

		/* what a foreground synguard killed with -9 left in libxdp's dispatcher */
		if (ifindex && !sg_owner_lock(&own, ifname, &holder)) {
			n = sg_mp_remove_stale((int)ifindex, ifname, 0);
			sg_owner_unlock(&own);
			if (n < 0)
				return 1;
		}
		if (n > 0) {
			fprintf(stderr, "synguard: unloaded %s: no pinned instance; took %d stale synguard XDP "
					"program%s out of libxdp's dispatcher\n", ifname, n, n > 1 ? "s" : "");
			return 0;
		}
		fprintf(stderr, "synguard unload: no pinned synguard instance on %s (nothing at %s/%s)\n", ifname,
			SG_PIN_ROOT, ifname);
		return 1;
	}
	/* nobody may adopt it meanwhile; a live owner is refused with its pid */
	if (sg_owner_lock(&own, ifname, &holder))
		return 1;
	err = sg_pin_remove(ifname);
	sg_owner_unlock(&own);
	if (err)
		return 1;
	fprintf(stderr, "synguard: unloaded %s: its programs are detached, its maps and pins removed\n", ifname);
	return 0;
}
