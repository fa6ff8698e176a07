// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * cookie.c - SYN-cookie mode setup (preload, postload: stateless) and the
 * cookie controller object (see cookie.h): secret rotation, per-port
 * summaries and --mode auto. Nothing system-wide is ever changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"
#include "sg_cookie.h"
#include "output.h"
#include "cookie.h"
#include "secret.h"
#include "synguard.skel.h"

#define AUTO_OFF_SECS	3	/* seconds below threshold/2 before cookies go off */
#define GRACE_SECS	30	/* after off: still validate ACKs of cookies in flight */

struct port_state {
	struct sg_port_stats prev;	/* totals at the last summary */
	__u8 on;			/* auto: cookies on */
	__u8 low;			/* auto: consecutive low seconds */
	__u32 grace;			/* auto: seconds of grace left */
};

struct sg_cookies {
	struct sg_cookie_maps m;
	struct sg_config cfg;
	struct sg_out *out;
	struct port_state ports[65536];
	__u64 last_rotate_ns, last_sec_ns;
	int ncpu;
	struct sg_secret *secret;	/* --secret-file: fleet keys, else random ones */
};

/* --secret-file: the keys of the current and previous window of
 * CLOCK_REALTIME (mono_ns = CLOCK_MONOTONIC now). */
static int secret_update(struct sg_secret *s, int fd, __u32 rotate, __u64 mono_ns, int force)
{
	return sg_secret_update(s, fd, rotate, mono_ns + sg_boot_offset_ns(), mono_ns, force);
}

/* 1 if the running kernel has the kfunc, 0 if not, <0 if BTF is unreadable. */
int sg_cookie_kfunc_present(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int id;

	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, "bpf_sk_assign_tcp_reqsk", BTF_KIND_FUNC);
	btf__free(btf);
	return id > 0;
}

int sg_cookie_preload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	const struct sg_settings *set = &skel->rodata->sg_cfg;
	int syncookies = -1, r;

	if (cfg->mode == SG_MODE_MONITOR) {
		/* The TC handoff program needs the kfunc; without it the whole
		 * object would fail to load on kernels < 6.9. Monitor needs none. */
		bpf_program__set_autoload(skel->progs.sg_tc_ingress, false);
		return 0;
	}
	r = sg_cookie_kfunc_present();
	if (r <= 0) {
		fprintf(stderr,
			"synguard: --mode %s needs the kfunc bpf_sk_assign_tcp_reqsk (kernel >= 6.9), "
			"%s; use --mode monitor\n",
			cfg->mode == SG_MODE_AUTO ? "auto" : "protect",
			r < 0 ? "and the kernel BTF could not be read" : "which this kernel lacks");
		return -1;
	}
	if (sg_read_sysctl("tcp_syncookies", &syncookies)) {
		fprintf(stderr, "synguard: cannot read /proc/sys/net/ipv4/tcp_syncookies\n");
		return -1;
	}
	if (syncookies == 0) {
		fprintf(stderr,
			"synguard: net.ipv4.tcp_syncookies is 0 in this network namespace: the kernel "
			"would reset every connection handed over from a SYN cookie. Run "
			"'sysctl -w net.ipv4.tcp_syncookies=1' (synguard does not change it) or use "
			"--mode monitor\n");
		return -1;
	}
	if (cfg->verbose || !cfg->json)
		fprintf(stderr,
			"synguard: SYN cookies (%s) for %s; offering timestamps %s, SACK %s, "
			"window scaling %s (from this netns's sysctls), MSS %u/%u\n",
			cfg->mode == SG_MODE_AUTO ? "auto" : "protect",
			cfg->nprot_ports ? "the --ports list" : "every port with a listener",
			set->allow_ts ? "on" : "off", set->allow_sack ? "on" : "off",
			set->allow_ws ? "on" : "off", set->mss4, set->mss6);
	return 0;
}

static int new_key(struct sg_cookie_key *k)
{
	do {
		if (getrandom(k, sizeof(*k), 0) != sizeof(*k))
			return -errno;
	} while (!k->k0 && !k->k1);
	return 0;
}

/* Write a fresh secret into the idle slot and make it current. */
int sg_cookie_rotate(int fd)
{
	struct sg_cookie_secrets s;
	__u32 zero = 0, idle;

	if (bpf_map_lookup_elem(fd, &zero, &s))
		return -errno;
	idle = (s.cur & 1) ^ 1;
	if (new_key(&s.key[idle]))
		return -errno;
	s.cur = idle;
	s.gen++;
	return bpf_map_update_elem(fd, &zero, &s, BPF_ANY) ? -errno : 0;
}

static int set_port_flags(int fd, __u32 port, __u32 set, __u32 clear)
{
	struct sg_port_cfg pc;

	if (bpf_map_lookup_elem(fd, &port, &pc))
		return -errno;
	pc.flags = (pc.flags & ~clear) | set;
	return bpf_map_update_elem(fd, &port, &pc, BPF_ANY) ? -errno : 0;
}

/* 1 if the secrets map already holds a key (a pinned instance's, adopted). */
static int have_secret(int fd)
{
	struct sg_cookie_secrets s;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &s))
		return 0;
	for (int i = 0; i < 2; i++)
		if (s.key[i].k0 || s.key[i].k1)
			return 1;
	return 0;
}

/*
 * Every port's flags as the options say: SG_PORT_PROTECTED exactly on the
 * --ports list; outside --mode auto, no auto switch left on. Maps of a
 * pinned instance carry the previous run's flags (its ports, its auto
 * switches); a new map is all zero and only the listed ports change.
 */
static int reconcile_ports(int fd, const struct sg_config *cfg)
{
	static __u8 listed[65536];
	__u32 batch, cnt = 65536;
	struct sg_port_cfg *v = calloc(65536, sizeof(*v));
	__u32 *keys = calloc(65536, sizeof(*keys));
	int err = 0;

	memset(listed, 0, sizeof(listed));
	for (int i = 0; i < cfg->nprot_ports; i++)
		listed[cfg->prot_ports[i]] = 1;
	if (!v || !keys) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_batch(fd, NULL, &batch, keys, v, &cnt, NULL) && errno != ENOENT) {
		/* no batch ops: one port at a time */
		for (__u32 k = 0; k < 65536; k++) {
			keys[k] = k;
			if (bpf_map_lookup_elem(fd, &k, &v[k]))
				memset(&v[k], 0, sizeof(v[k]));
		}
		cnt = 65536;
	}
	for (__u32 i = 0; i < cnt && !err; i++) {
		__u32 port = keys[i] & 0xffff, want = v[i].flags & ~SG_PORT_PROTECTED;

		if (listed[port])
			want |= SG_PORT_PROTECTED;
		if (cfg->mode != SG_MODE_AUTO)
			want &= ~(SG_PORT_COOKIES | SG_PORT_GRACE);
		if (want != v[i].flags) {
			v[i].flags = want;
			if (bpf_map_update_elem(fd, &keys[i], &v[i], BPF_ANY))
				err = -errno;
		}
	}
out:
	free(v);
	free(keys);
	return err;
}

int sg_cookie_postload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	struct sg_cookie_secrets s = {};
	int fd = bpf_map__fd(skel->maps.sg_ck_secrets);
	__u32 zero = 0;

	if (cfg->mode == SG_MODE_MONITOR)
		return 0;
	if (cfg->secret_file) {
		/* the fleet's key: every window's secret derived from the file */
		struct sg_secret *fs = sg_secret_open(cfg->secret_file);
		struct timespec ts;
		int err;

		if (!fs)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		err = secret_update(fs, fd, cfg->rotate, ts.tv_sec * 1000000000ull + ts.tv_nsec, 1);
		sg_secret_free(fs);
		if (err < 0) {
			fprintf(stderr, "synguard: writing the cookie secret failed: %s\n", strerror(-err));
			return -1;
		}
		return 0;
	}
	/* a pinned instance's secret is kept: its cookies in flight stay valid */
	if (!have_secret(fd)) {
		if (new_key(&s.key[0])) {
			fprintf(stderr, "synguard: getrandom() failed: %s\n", strerror(errno));
			return -1;
		}
		if (bpf_map_update_elem(fd, &zero, &s, BPF_ANY)) {
			fprintf(stderr, "synguard: writing the cookie secret failed: %s\n", strerror(errno));
			return -1;
		}
	}
	return 0;
}

int sg_cookie_ports(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	int err;

	if (cfg->mode == SG_MODE_MONITOR)
		return 0;
	err = reconcile_ports(bpf_map__fd(skel->maps.sg_ck_ports), cfg);
	if (err)
		fprintf(stderr, "synguard: setting the protected ports failed: %s\n", strerror(-err));
	return err;
}

static int port_totals(struct sg_cookies *c, __u32 port, struct sg_port_stats *out);

/* Maps already in use (a pinned instance adopted): the counts so far are
 * not this second's, and --mode auto's switches stay as they were. */
static void take_over(struct sg_cookies *c)
{
	__u32 key, next, *prev = NULL;

	while (!bpf_map_get_next_key(c->m.stats, prev, &next)) {
		key = next;
		prev = &key;
		port_totals(c, key, &c->ports[key & 0xffff].prev);
	}
	if (c->cfg.mode != SG_MODE_AUTO)
		return;
	for (__u32 port = 0; port < 65536; port++) {
		struct sg_port_cfg pc;

		if (bpf_map_lookup_elem(c->m.ports, &port, &pc))
			break;
		if (pc.flags & SG_PORT_COOKIES)
			c->ports[port].on = 1;
		else if (pc.flags & SG_PORT_GRACE)
			c->ports[port].grace = GRACE_SECS;
	}
}

struct sg_cookies *sg_cookies_new(const struct sg_cookie_maps *maps, const struct sg_config *cfg,
				  struct sg_out *out, __u64 now)
{
	struct sg_cookies *c;

	if (cfg->mode == SG_MODE_MONITOR)
		return NULL;	/* nothing to control */
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->m = *maps;
	c->cfg = *cfg;
	c->out = out;
	c->ncpu = libbpf_num_possible_cpus();
	c->last_rotate_ns = c->last_sec_ns = now;
	if (cfg->secret_file && !(c->secret = sg_secret_open(cfg->secret_file))) {
		free(c);
		return NULL;
	}
	take_over(c);
	return c;
}

void sg_cookies_resume(struct sg_cookies *c, __u64 last_rotate_ns)
{
	if (c && last_rotate_ns && last_rotate_ns <= c->last_rotate_ns)
		c->last_rotate_ns = last_rotate_ns;
}

__u64 sg_cookies_last_rotate(const struct sg_cookies *c)
{
	return c ? c->last_rotate_ns : 0;
}

void sg_cookies_free(struct sg_cookies *c)
{
	if (c)
		sg_secret_free(c->secret);
	free(c);
}

/* (also from the metrics thread: `on` is read and written atomically) */
bool sg_cookies_port_on(const struct sg_cookies *c, __u16 port)
{
	return c && (c->cfg.mode == SG_MODE_PROTECT || __atomic_load_n(&c->ports[port].on, __ATOMIC_RELAXED));
}

static void stats_add(struct sg_port_stats *t, const struct sg_port_stats *v)
{
	t->syns += v->syns;
	t->sent += v->sent;
	t->valid += v->valid;
	t->rejected += v->rejected;
}

int sg_port_stats_sum(int stats_fd, int slots_fd, int ncpu, __u32 port, struct sg_port_stats *out)
{
	int n = ncpu > 0 ? ncpu : 1;
	struct sg_port_stats v[n];
	struct sg_port_slot sl[n];
	__u32 i = port & (SG_CK_SLOTS - 1);

	memset(out, 0, sizeof(*out));
	/* the entry first: the programs make it before a slot's tag */
	if (bpf_map_lookup_elem(stats_fd, &port, v))
		return -errno;
	for (int c = 0; c < n; c++)
		stats_add(out, &v[c]);
	if (slots_fd < 0)
		return 0;
	if (bpf_map_lookup_elem(slots_fd, &i, sl))
		return -errno;
	for (int c = 0; c < n; c++)
		if (sl[c].tag == port + 1)
			stats_add(out, &sl[c].s);
	return 0;
}

/* Sum one port's per-CPU stats. */
static int port_totals(struct sg_cookies *c, __u32 port, struct sg_port_stats *out)
{
	return sg_port_stats_sum(c->m.stats, c->m.slots, c->ncpu, port, out);
}

static void alert(struct sg_cookies *c, __u32 kind, __u16 port, __u32 value, __u64 now)
{
	struct sg_event e = { .ts_ns = now, .type = SG_EV_ALERT, .dport = port };

	e.alert = kind;
	e.value = value;
	sg_out_event(c->out, &e);
}

static void per_second(struct sg_cookies *c, __u64 now, double secs, bool final)
{
	const struct sg_config *cfg = &c->cfg;
	int fd = c->m.stats;
	__u32 key, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct sg_port_stats t;
		struct port_state *ps = &c->ports[next & 0xffff];
		__u64 dsyn, dsent, dvalid, drej;
		__u32 rate;

		key = next;
		prev = &key;
		if (port_totals(c, key, &t))
			continue;
		dsyn = t.syns - ps->prev.syns;
		dsent = t.sent - ps->prev.sent;
		dvalid = t.valid - ps->prev.valid;
		drej = t.rejected - ps->prev.rejected;
		ps->prev = t;
		if (dsent || dvalid || drej) {
			struct sg_event e = { .ts_ns = now, .type = SG_EV_COOKIE, .dport = key };

			e.sent = dsent;
			e.validated = dvalid;
			e.rejected = drej;
			sg_out_event(c->out, &e);
		}
		if (cfg->mode != SG_MODE_AUTO || final)
			continue;
		rate = (__u32)(dsyn / (secs > 0.5 ? secs : 1.0));
		if (!ps->on && rate > cfg->syn_threshold) {
			__atomic_store_n(&ps->on, 1, __ATOMIC_RELAXED);
			ps->low = 0;
			ps->grace = 0;
			set_port_flags(c->m.ports, key, SG_PORT_COOKIES, SG_PORT_GRACE);
			alert(c, SG_ALERT_COOKIES_ON, key, rate, now);
		} else if (ps->on) {
			ps->low = rate < cfg->syn_threshold / 2 ? ps->low + 1 : 0;
			if (ps->low >= AUTO_OFF_SECS) {
				__atomic_store_n(&ps->on, 0, __ATOMIC_RELAXED);
				ps->grace = GRACE_SECS;
				set_port_flags(c->m.ports, key, SG_PORT_GRACE, SG_PORT_COOKIES);
				alert(c, SG_ALERT_COOKIES_OFF, key, rate, now);
			}
		} else if (ps->grace && !--ps->grace) {
			set_port_flags(c->m.ports, key, 0, SG_PORT_GRACE);
		}
	}
}

void sg_cookies_tick(struct sg_cookies *c, __u64 now)
{
	if (!c)
		return;
	if (c->secret) {
		/* the window of CLOCK_REALTIME decides, as on every node of the fleet */
		int err = secret_update(c->secret, c->m.secrets, c->cfg.rotate, now, 0);

		if (err < 0)
			fprintf(stderr, "synguard: cookie secret rotation failed: %s\n", strerror(-err));
	} else if (c->cfg.rotate && now - c->last_rotate_ns >= (__u64)c->cfg.rotate * 1000000000ull) {
		int err = sg_cookie_rotate(c->m.secrets);

		if (err)
			fprintf(stderr, "synguard: cookie secret rotation failed: %s\n", strerror(-err));
		c->last_rotate_ns = now;
	}
	if (now - c->last_sec_ns >= 1000000000ull) {
		per_second(c, now, (now - c->last_sec_ns) / 1e9, false);
		c->last_sec_ns = now;
	}
}

void sg_cookies_summary(struct sg_cookies *c, __u64 now)
{
	__u32 key, next, *prev = NULL;

	if (!c)
		return;
	/* the last partial second's per-port cookie events */
	per_second(c, now, (now - c->last_sec_ns) / 1e9, true);
	while (!bpf_map_get_next_key(c->m.stats, prev, &next)) {
		struct sg_port_stats t;

		key = next;
		prev = &key;
		if (port_totals(c, key, &t))
			continue;
		if (sg_out_json(c->out)) {
			char buf[512];
			struct sg_json j;

			sg_out_record_begin(c->out, &j, buf, sizeof(buf), "cookie_summary", 0);
			sg_json_u64(&j, "dport", key);
			sg_json_u64(&j, "syns", t.syns);
			sg_json_u64(&j, "sent", t.sent);
			sg_json_u64(&j, "validated", t.valid);
			sg_json_u64(&j, "rejected", t.rejected);
			sg_json_bool(&j, "cookies_on", sg_cookies_port_on(c, key));
			sg_out_record_end(c->out, &j);
		} else {
			sg_out_text(c->out, "port %u: %llu SYNs, %llu cookies sent, %llu validated, %llu rejected",
				    key, (unsigned long long)t.syns, (unsigned long long)t.sent,
				    (unsigned long long)t.valid, (unsigned long long)t.rejected);
		}
	}
	sg_out_flush(c->out);
}
