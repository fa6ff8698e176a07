// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_user_cookie.c - the cookie controller (user/cookie.c) driven by a
 * fake clock over real BPF maps of the programs' layout: --mode auto's
 * switching (on above --syn-threshold, off after 3 s below half of it,
 * then 30 s of grace), per-port cookie events, secret rotation.
 * Needs root (BPF maps); skipped otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "sg_user.h"
#include "sg_cookie.h"
#include "cookie.h"
#include "output.h"
#include "memout.h"


#define S 1000000000ull
#define T0 (1000 * S)
#define PORT 8080

static struct sg_cookie_maps m;
static int ncpu;
/* The port's per-CPU stats as the programs keep them: half in its
 * sg_ck_stats entry on CPU 0, the rest in its slot on the last CPU; on
 * CPU 0 (with more than one) the slot held by another port (8080 + 1024),
 * whose counts are not the port's. */
static void set_stats(__u64 syns, __u64 sent, __u64 valid, __u64 rejected)
{
	struct sg_port_stats v[ncpu];
	struct sg_port_slot sl[ncpu];
	__u32 port = PORT, i = PORT & (SG_CK_SLOTS - 1);

	memset(v, 0, sizeof(v));
	memset(sl, 0, sizeof(sl));
	v[0].syns = syns / 2;
	v[0].sent = sent / 2;
	v[0].valid = valid / 2;
	v[0].rejected = rejected / 2;
	sl[ncpu - 1].tag = PORT + 1;
	sl[ncpu - 1].s.syns = syns - syns / 2;
	sl[ncpu - 1].s.sent = sent - sent / 2;
	sl[ncpu - 1].s.valid = valid - valid / 2;
	sl[ncpu - 1].s.rejected = rejected - rejected / 2;
	if (ncpu > 1)
		sl[0] = (struct sg_port_slot){ .tag = PORT + SG_CK_SLOTS + 1,
					       .s = { 7777, 7777, 7777, 7777 } };
	bpf_map_update_elem(m.stats, &port, v, BPF_ANY);
	bpf_map_update_elem(m.slots, &i, sl, BPF_ANY);
}

static __u32 port_flags(void)
{
	struct sg_port_cfg pc = {};
	__u32 port = PORT;

	bpf_map_lookup_elem(m.ports, &port, &pc);
	return pc.flags;
}

static void test_auto(struct sg_out *out)
{
	struct sg_config cfg;
	struct sg_cookies *c;
	__u64 now = T0, syns = 0;
	int on_at = -1, off_at = -1, grace_end = -1;

	printf("  --mode auto, --syn-threshold 1000:\n");
	sg_config_defaults(&cfg);
	cfg.mode = SG_MODE_AUTO;
	cfg.rotate = 0;
	c = sg_cookies_new(&m, &cfg, out, now);
	CHECK(c && !sg_cookies_port_on(c, PORT) && !port_flags(), "    starts with cookies off");
	/* 2 s at 500 SYN/s, 2 s at 5000, then 100/s */
	for (int sec = 1; sec <= 40; sec++) {
		syns += sec <= 2 ? 500 : sec <= 4 ? 5000 : 100;
		set_stats(syns, 0, 0, 0);
		now += S;
		sg_cookies_tick(c, now);
		if (on_at < 0 && (port_flags() & SG_PORT_COOKIES))
			on_at = sec;
		if (on_at > 0 && off_at < 0 && !(port_flags() & SG_PORT_COOKIES))
			off_at = sec;
		if (off_at > 0 && grace_end < 0 && !(port_flags() & SG_PORT_GRACE))
			grace_end = sec;
		if (sec == 4)
			CHECK(sg_cookies_port_on(c, PORT), "    on at 5000 SYN/s (controller's view)");
	}
	CHECK(on_at == 3, "    cookies on in the first second above the threshold (second %d)", on_at);
	CHECK(off_at == 7, "    off after 3 seconds below half of it (second %d)", off_at);
	CHECK(grace_end == 37, "    then 30 s of grace: ACKs still validated, never dropped (ended second %d)",
	      grace_end);
	CHECK(mem_count("\"alert\":\"cookies_on\"") == 1 && mem_count("\"value\":5000") &&
		      mem_count("\"alert\":\"cookies_off\"") == 1,
	      "    one cookies_on (value 5000) and one cookies_off alert");
	sg_cookies_free(c);
}

static void test_events_and_rotation(struct sg_out *out)
{
	struct sg_cookie_secrets s0, s1;
	struct sg_config cfg;
	struct sg_cookies *c;
	__u32 zero = 0;
	__u64 now = T0;

	printf("  --mode protect: events, rotation every 60 s:\n");
	sg_config_defaults(&cfg);
	cfg.mode = SG_MODE_PROTECT;
	set_stats(0, 0, 0, 0);
	c = sg_cookies_new(&m, &cfg, out, now);
	CHECK(sg_cookie_rotate(m.secrets) == 0, "    a first secret");
	bpf_map_lookup_elem(m.secrets, &zero, &s0);
	set_stats(30, 30, 12, 4);
	now += S;
	sg_cookies_tick(c, now);
	CHECK(mem_count("\"type\":\"cookie\",\"dport\":8080,\"sent\":30,\"validated\":12,\"rejected\":4"),
	      "    a per-port cookie event for the second");
	now += 58 * S;
	sg_cookies_tick(c, now);
	bpf_map_lookup_elem(m.secrets, &zero, &s1);
	CHECK(s1.gen == s0.gen && s1.cur == s0.cur, "    59 s: not rotated yet");
	now += 2 * S;
	sg_cookies_tick(c, now);
	bpf_map_lookup_elem(m.secrets, &zero, &s1);
	CHECK(s1.gen == s0.gen + 1 && s1.cur != s0.cur && (s1.key[s1.cur].k0 || s1.key[s1.cur].k1) &&
		      !memcmp(&s1.key[s0.cur], &s0.key[s0.cur], sizeof(s0.key[0])),
	      "    61 s: a fresh key in the other slot, the previous key kept (its cookies stay valid)");
	sg_cookies_summary(c, now);
	CHECK(mem_count("\"type\":\"cookie_summary\",\"dport\":8080,\"syns\":30,\"sent\":30,\"validated\":12,"
		    "\"rejected\":4,\"cookies_on\":true"),
	      "    the exit summary per port");
	sg_cookies_free(c);
	CHECK(!sg_cookies_new(&m, &(struct sg_config){ .mode = SG_MODE_MONITOR }, out, now),
	      "    monitor mode: no controller");
}

int main(void)
{
	struct sg_out *out;

	if (geteuid() != 0) {
		check_skip("not root: the controllers' tests need BPF maps");
		return check_summary("user_cookie");
	}
	ncpu = libbpf_num_possible_cpus();
	m.secrets = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_secrets", 4, sizeof(struct sg_cookie_secrets), 1, NULL);
	m.ports = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_ports", 4, sizeof(struct sg_port_cfg), 65536, NULL);
	m.stats = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "t_stats", 4, sizeof(struct sg_port_stats), 64, NULL);
	m.slots = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "t_slots", 4, sizeof(struct sg_port_slot), SG_CK_SLOTS,
				 NULL);
	if (m.secrets < 0 || m.ports < 0 || m.stats < 0 || m.slots < 0) {
		CHECK(0, "create the BPF maps");
		return check_summary("user_cookie");
	}
	out = mem_out();
	test_auto(out);
	test_events_and_rotation(out);
	mem_close(out);
	return check_summary("user_cookie");
}
