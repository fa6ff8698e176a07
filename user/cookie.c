// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * cookie.c - SYN-cookie mode setup, secret rotation, per-port summaries and
 * --mode auto.
 *
 * preload:  preconditions (kfunc, net.ipv4.tcp_syncookies); what the SYN-ACKs
 *           offer is decided in settings.c.
 * postload: a random secret (getrandom(2)) and the --ports list.
 * tick:     rotation every --rotate s; once a second per-port SG_EV_COOKIE
 *           summaries and the auto-mode switch (on above --syn-threshold
 *           SYN/s, off after 3 s below half of it; each switch an alert).
 * Nothing system-wide is ever changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"
#include "sg_cookie.h"
#include "synguard.skel.h"

#define AUTO_OFF_SECS	3	/* seconds below threshold/2 before cookies go off */
#define GRACE_SECS	30	/* after off: still validate ACKs of cookies in flight */

struct port_state {
	struct sg_port_stats prev;	/* totals at the last summary */
	__u8 on;			/* auto: cookies on */
	__u8 low;			/* auto: consecutive low seconds */
	__u32 grace;			/* auto: seconds of grace left */
};

static struct port_state *ports;	/* [65536], allocated in postload */
static __u64 last_rotate_ns, last_sec_ns;
static int ncpu;

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
int sg_cookie_rotate(struct synguard_bpf *skel)
{
	int fd = bpf_map__fd(skel->maps.sg_ck_secrets);
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

static int set_port_flags(struct synguard_bpf *skel, __u32 port, __u32 set, __u32 clear)
{
	int fd = bpf_map__fd(skel->maps.sg_ck_ports);
	struct sg_port_cfg pc;

	if (bpf_map_lookup_elem(fd, &port, &pc))
		return -errno;
	pc.flags = (pc.flags & ~clear) | set;
	return bpf_map_update_elem(fd, &port, &pc, BPF_ANY) ? -errno : 0;
}

int sg_cookie_postload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	struct sg_cookie_secrets s = {};
	__u32 zero = 0;

	if (cfg->mode == SG_MODE_MONITOR)
		return 0;
	if (new_key(&s.key[0])) {
		fprintf(stderr, "synguard: getrandom() failed: %s\n", strerror(errno));
		return -1;
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.sg_ck_secrets), &zero, &s, BPF_ANY)) {
		fprintf(stderr, "synguard: writing the cookie secret failed: %s\n", strerror(errno));
		return -1;
	}
	for (int i = 0; i < cfg->nprot_ports; i++)
		if (set_port_flags(skel, cfg->prot_ports[i], SG_PORT_PROTECTED, 0)) {
			fprintf(stderr, "synguard: setting protected port %u failed\n", cfg->prot_ports[i]);
			return -1;
		}
	free(ports);
	ports = calloc(65536, sizeof(*ports));
	if (!ports)
		return -1;
	ncpu = libbpf_num_possible_cpus();
	last_rotate_ns = last_sec_ns = sg_now_ns();
	return 0;
}

/* Sum one port's per-CPU stats. */
static int port_totals(struct synguard_bpf *skel, __u32 port, struct sg_port_stats *out)
{
	struct sg_port_stats v[ncpu > 0 ? ncpu : 1];

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.sg_ck_stats), &port, v))
		return -errno;
	for (int i = 0; i < ncpu; i++) {
		out->syns += v[i].syns;
		out->sent += v[i].sent;
		out->valid += v[i].valid;
		out->rejected += v[i].rejected;
	}
	return 0;
}

static void alert(__u32 kind, __u16 port, __u32 value)
{
	struct sg_event e = { .ts_ns = sg_now_ns(), .type = SG_EV_ALERT, .dport = port };

	e.alert = kind;
	e.value = value;
	sg_emit(&e);
}

static void per_second(struct synguard_bpf *skel, const struct sg_config *cfg, double secs, bool final)
{
	int fd = bpf_map__fd(skel->maps.sg_ck_stats);
	__u32 key, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct sg_port_stats t;
		struct port_state *ps = &ports[next & 0xffff];
		__u64 dsyn, dsent, dvalid, drej;
		__u32 rate;

		key = next;
		prev = &key;
		if (port_totals(skel, key, &t))
			continue;
		dsyn = t.syns - ps->prev.syns;
		dsent = t.sent - ps->prev.sent;
		dvalid = t.valid - ps->prev.valid;
		drej = t.rejected - ps->prev.rejected;
		ps->prev = t;
		if (dsent || dvalid || drej) {
			struct sg_event e = { .ts_ns = sg_now_ns(), .type = SG_EV_COOKIE, .dport = key };

			e.syns = dsent;
			e.valid = dvalid;
			e.rejected = drej;
			sg_emit(&e);
		}
		if (cfg->mode != SG_MODE_AUTO || final)
			continue;
		rate = (__u32)(dsyn / (secs > 0.5 ? secs : 1.0));
		if (!ps->on && rate > cfg->syn_threshold) {
			ps->on = 1;
			ps->low = 0;
			ps->grace = 0;
			set_port_flags(skel, key, SG_PORT_COOKIES, SG_PORT_GRACE);
			alert(SG_ALERT_COOKIES_ON, key, rate);
		} else if (ps->on) {
			ps->low = rate < cfg->syn_threshold / 2 ? ps->low + 1 : 0;
			if (ps->low >= AUTO_OFF_SECS) {
				ps->on = 0;
				ps->grace = GRACE_SECS;
				set_port_flags(skel, key, SG_PORT_GRACE, SG_PORT_COOKIES);
				alert(SG_ALERT_COOKIES_OFF, key, rate);
			}
		} else if (ps->grace && !--ps->grace) {
			set_port_flags(skel, key, 0, SG_PORT_GRACE);
		}
	}
}

void sg_cookie_tick(struct synguard_bpf *skel, const struct sg_config *cfg, __u64 now_ns)
{
	if (cfg->mode == SG_MODE_MONITOR || !ports)
		return;
	if (cfg->rotate && now_ns - last_rotate_ns >= (__u64)cfg->rotate * 1000000000ull) {
		if (sg_cookie_rotate(skel))
			fprintf(stderr, "synguard: cookie secret rotation failed: %s\n", strerror(errno));
		last_rotate_ns = now_ns;
	}
	if (now_ns - last_sec_ns >= 1000000000ull) {
		per_second(skel, cfg, (now_ns - last_sec_ns) / 1e9, false);
		last_sec_ns = now_ns;
	}
}

void sg_cookie_summary(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	int fd;
	__u32 key, next, *prev = NULL;

	if (cfg->mode == SG_MODE_MONITOR || !ports)
		return;
	/* the last partial second's per-port cookie events */
	per_second(skel, cfg, (sg_now_ns() - last_sec_ns) / 1e9, true);
	fd = bpf_map__fd(skel->maps.sg_ck_stats);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct sg_port_stats t;

		key = next;
		prev = &key;
		if (port_totals(skel, key, &t))
			continue;
		if (cfg->json)
			printf("{\"type\":\"cookie_summary\",\"dport\":%u,\"syns\":%llu,\"sent\":%llu,"
			       "\"validated\":%llu,\"rejected\":%llu,\"cookies_on\":%s}\n",
			       key, (unsigned long long)t.syns, (unsigned long long)t.sent,
			       (unsigned long long)t.valid, (unsigned long long)t.rejected,
			       cfg->mode == SG_MODE_PROTECT || ports[key & 0xffff].on ? "true" : "false");
		else
			printf("port %u: %llu SYNs, %llu cookies sent, %llu validated, %llu rejected\n", key,
			       (unsigned long long)t.syns, (unsigned long long)t.sent,
			       (unsigned long long)t.valid, (unsigned long long)t.rejected);
	}
	fflush(stdout);
	free(ports);
	ports = NULL;
}
