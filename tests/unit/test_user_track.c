// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_user_track.c - the tracker's userspace object (user/track.c) driven
 * by a fake clock over real BPF maps of the programs' layout: the sweeper's
 * timers (TIME_WAIT 2MSL, half-open, idle), the alerts and their hysteresis
 * (SYN flood start/end, CLOSE_WAIT and TIME_WAIT pile-ups), loss events;
 * and the sweeper's races with BPF: a flow BPF changes between the sweep's
 * read and its decision is neither deleted nor overwritten.
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
#include "sg_flow.h"
#include "output.h"
#include "memout.h"
#include "track.h"


#define S 1000000000ull
#define T0 (1000 * S)	/* the fake clock's start */

static struct sg_track_maps m;
static int ncpu;

static int make_maps(void)
{
	/* the test's flows are IPv4: in flows4, under 12-byte keys */
	m.flows4 = bpf_map_create(BPF_MAP_TYPE_HASH, "t_flows4", sizeof(struct sg_flow_key4),
				  sizeof(struct sg_flow), 1024, NULL);
	m.flows = bpf_map_create(BPF_MAP_TYPE_HASH, "t_flows", sizeof(struct sg_flow_key),
				 sizeof(struct sg_flow), 1024, NULL);
	m.halfopen = bpf_map_create(BPF_MAP_TYPE_HASH, "t_halfopen", sizeof(struct sg_flow_key),
				    sizeof(struct sg_flow), 1024, NULL);
	m.quiet_ports = bpf_map_create(BPF_MAP_TYPE_HASH, "t_quiet", 4, 8, 64, NULL);
	m.syn_rate = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "t_synrate", 4, sizeof(struct sg_syn_window),
				    65536, NULL);
	m.counters = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "t_counters", 4, sizeof(struct sg_counters), 1,
				    NULL);
	m.ho_count = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_ho_count", 4, sizeof(struct sg_ho_count), 1, NULL);
	return m.ho_count < 0 || m.flows4 < 0 || m.flows < 0 || m.halfopen < 0 || m.quiet_ports < 0 || m.syn_rate < 0 || m.counters < 0 ? -1 : 0;
}

/* Set one counter (on CPU 0; the others zero). */
static void set_counter(int idx, __u64 v)
{
	struct sg_counters c[ncpu];
	__u32 zero = 0;

	memset(c, 0, sizeof(c));
	bpf_map_lookup_elem(m.counters, &zero, c);
	c[0].c[idx] = v;
	bpf_map_update_elem(m.counters, &zero, c, BPF_ANY);
}

/* The key as the table fd holds it (m.flows4: struct sg_flow_key4). */
static const void *mkey(int fd, const struct sg_flow_key *k, struct sg_flow_key4 *k4)
{
	if (fd != m.flows4)
		return k;
	sg_flow_key4_of(k4, k);
	return k4;
}

/* A flow 10.0.0.2:port -> 10.0.0.1:80 driven to a state by real segments
 * through the state machine, starting at start_ns. */
enum shape { ESTABLISHED, SERVER_TIME_WAIT, SERVER_CLOSE_WAIT, HALF_OPEN };

static void put_flow(int fd, __u16 port, enum shape sh, __u64 start_ns)
{
	__u32 c = 0x0200000a, s = 0x0100000a;	/* 10.0.0.2, 10.0.0.1 (network order) */
	__u32 ca[4] = { c }, sa[4] = { s };
	struct sg_flow_key k;
	struct sg_flow_key4 k4;
	struct sg_flow f;
	struct sg_fsm_out o;
	int lo = sg_flow_key_make(&k, 4, ca, sa, port, 80);	/* the client sends first */

	memset(&f, 0, sizeof(f));	/* busy 0, as BPF inserts it */
	sg_flow_init(&f, lo, SG_TCP_SYN, 100, 0, 0, 1000, start_ns, 0, &o);
	if (sh != HALF_OPEN) {
		sg_flow_segment(&f, 0, SG_TCP_SYN | SG_TCP_ACK, 500, 101, 0, 1000, start_ns, &o);
		sg_flow_segment(&f, 1, SG_TCP_ACK, 101, 501, 0, 1000, start_ns, &o);
	}
	if (sh == SERVER_TIME_WAIT) {	/* the server closes first */
		sg_flow_segment(&f, 0, SG_TCP_FIN | SG_TCP_ACK, 501, 101, 0, 1000, start_ns, &o);
		sg_flow_segment(&f, 1, SG_TCP_FIN | SG_TCP_ACK, 101, 502, 0, 1000, start_ns, &o);
		sg_flow_segment(&f, 0, SG_TCP_ACK, 502, 102, 0, 1000, start_ns, &o);
	} else if (sh == SERVER_CLOSE_WAIT) {	/* the client closes, the server does not */
		sg_flow_segment(&f, 1, SG_TCP_FIN | SG_TCP_ACK, 101, 501, 0, 1000, start_ns, &o);
		sg_flow_segment(&f, 0, SG_TCP_ACK, 501, 102, 0, 1000, start_ns, &o);
	}
	bpf_map_update_elem(fd, mkey(fd, &k, &k4), &f, BPF_ANY);
}

static void key_of(__u16 port, struct sg_flow_key *k)
{
	__u32 ca[4] = { 0x0200000a }, sa[4] = { 0x0100000a };

	sg_flow_key_make(k, 4, ca, sa, port, 80);
}

static int get(int fd, __u16 port, struct sg_flow *f)
{
	struct sg_flow_key k;
	struct sg_flow_key4 k4;

	key_of(port, &k);
	return bpf_map_lookup_elem(fd, mkey(fd, &k, &k4), f);
}

static int entries(int fd)
{
	__u8 key[64], next[64];
	int n = 0;

	for (void *prev = NULL; !bpf_map_get_next_key(fd, prev, next); prev = key, n++)
		memcpy(key, next, sizeof(key));
	return n;
}

static void empty(int fd)
{
	__u8 next[64];

	while (!bpf_map_get_next_key(fd, NULL, next))
		bpf_map_delete_elem(fd, next);
}

static struct sg_tracker *fresh(struct sg_config *cfg, struct sg_out *out)
{
	empty(m.flows4);
	empty(m.halfopen);
	set_counter(SG_CNT_SYN, 0);
	set_counter(SG_LOSS_RINGBUF, 0);
	mem_clear();
	return sg_tracker_new(&m, cfg, out);
}

static void test_timers(struct sg_config *cfg, struct sg_out *out)
{
	struct sg_tracker *t = fresh(cfg, out);
	struct sg_track_counts c;

	printf("  timers:\n");
	put_flow(m.flows4, 40001, SERVER_TIME_WAIT, T0);
	put_flow(m.flows4, 40002, ESTABLISHED, T0);
	put_flow(m.halfopen, 40003, HALF_OPEN, T0);
	sg_tracker_tick(t, T0 + 29 * S);
	sg_tracker_counts(t, &c);
	CHECK(entries(m.flows4) == 2 && entries(m.halfopen) == 1 && !mem_count("\"cause\":\"timeout\""),
	      "    at 29 s nothing expired");
	CHECK(c.flows == 2 && c.halfopen == 1 && c.states[SG_TIME_WAIT] == 1 && c.states[SG_ESTABLISHED] == 2 &&
		      c.states[SG_SYN_SENT] == 1,
	      "    counts by state after a sweep (flows %llu, half-open %llu, TIME_WAIT %llu)",
	      (unsigned long long)c.flows, (unsigned long long)c.halfopen,
	      (unsigned long long)c.states[SG_TIME_WAIT]);
	sg_tracker_tick(t, T0 + 31 * S);
	CHECK(entries(m.halfopen) == 0 && mem_count("\"sport\":40003") >= 1 && mem_count("\"cause\":\"timeout\"") >= 1,
	      "    at 31 s the half-open handshake expired (--half-open 30), reported");
	CHECK(entries(m.flows4) == 2, "    ... and nothing else");
	mem_clear();
	sg_tracker_tick(t, T0 + 59 * S);
	CHECK(entries(m.flows4) == 2 && !mem_count("\"sport\":40001"), "    at 59 s TIME_WAIT holds (--time-wait 60)");
	sg_tracker_tick(t, T0 + 61 * S);
	CHECK(entries(m.flows4) == 1 && mem_count("\"sport\":40001") == 1 && mem_count("\"from\":\"TIME_WAIT\"") == 1,
	      "    at 61 s TIME_WAIT -> CLOSED, reported once, entry deleted");
	mem_clear();
	sg_tracker_tick(t, T0 + 7199 * S);
	CHECK(entries(m.flows4) == 1, "    an established flow idle for 7199 s stays (--idle 7200)");
	sg_tracker_tick(t, T0 + 7201 * S);
	CHECK(entries(m.flows4) == 0 && mem_count("\"sport\":40002") == 2,
	      "    idle for 7201 s: both endpoints reported closed, entry deleted");
	sg_tracker_free(t);
}

static void test_alerts(struct sg_config *cfg, struct sg_out *out)
{
	struct sg_tracker *t = fresh(cfg, out);
	__u64 now = T0;

	printf("  alerts:\n");
	/* SYN flood: --syn-alert 1000; start above it, end below half */
	sg_tracker_tick(t, now);
	now += S;
	set_counter(SG_CNT_SYN, 5000);
	sg_tracker_tick(t, now);
	CHECK(mem_count("\"alert\":\"syn_flood_start\"") == 1 && mem_count("\"value\":5000"),
	      "    5000 SYN/s: syn_flood_start, value 5000");
	now += S;
	set_counter(SG_CNT_SYN, 10000);
	sg_tracker_tick(t, now);
	CHECK(mem_count("\"alert\":\"syn_flood_start\"") == 1, "    still flooding: no second start");
	now += S;
	set_counter(SG_CNT_SYN, 10600);
	sg_tracker_tick(t, now);
	CHECK(!mem_count("syn_flood_end"), "    600 SYN/s (above half the threshold): the flood goes on");
	now += S;
	set_counter(SG_CNT_SYN, 10900);
	sg_tracker_tick(t, now);
	CHECK(mem_count("\"alert\":\"syn_flood_end\"") == 1, "    300 SYN/s: syn_flood_end");
	now += S;
	set_counter(SG_CNT_SYN, 11800);
	sg_tracker_tick(t, now);
	CHECK(mem_count("\"alert\":\"syn_flood_start\"") == 1, "    900 SYN/s: below the threshold, no new start");

	/* losses: counted per second */
	now += S;
	set_counter(SG_LOSS_RINGBUF, 7);
	sg_tracker_tick(t, now);
	CHECK(mem_count("\"type\":\"loss\",\"what\":\"lost_events\",\"lost\":7"), "    7 events lost: a loss event");

	/* TIME_WAIT pile-up: --time-wait-alert 3, re-armed below 90 % */
	mem_clear();
	for (int i = 0; i < 4; i++)
		put_flow(m.flows4, 41000 + i, SERVER_TIME_WAIT, now);
	now += S;
	sg_tracker_tick(t, now);
	CHECK(mem_count("\"alert\":\"time_wait_pileup\"") == 1 && mem_count("\"value\":4"), "    4 flows in TIME_WAIT > 3: alert");
	now += S;
	sg_tracker_tick(t, now);
	CHECK(mem_count("\"alert\":\"time_wait_pileup\"") == 1, "    still 4: no second alert");
	empty(m.flows4);
	put_flow(m.flows4, 41000, SERVER_TIME_WAIT, now);
	put_flow(m.flows4, 41001, SERVER_TIME_WAIT, now);
	now += S;
	sg_tracker_tick(t, now);
	for (int i = 2; i < 5; i++)
		put_flow(m.flows4, 41000 + i, SERVER_TIME_WAIT, now);
	now += S;
	sg_tracker_tick(t, now);
	CHECK(mem_count("\"alert\":\"time_wait_pileup\"") == 2, "    down to 2, up to 5: alerted again");

	/* CLOSE_WAIT: --close-wait-alert 60, once per flow */
	empty(m.flows4);
	mem_clear();
	put_flow(m.flows4, 42000, SERVER_CLOSE_WAIT, now);
	now += S;
	sg_tracker_tick(t, now);
	now += 30 * S;
	sg_tracker_tick(t, now);
	CHECK(!mem_count("close_wait"), "    31 s in CLOSE_WAIT: no alert yet");
	now += 30 * S;
	sg_tracker_tick(t, now);
	CHECK(mem_count("\"alert\":\"close_wait_pileup\"") == 1 && mem_count("\"sport\":42000") && mem_count("\"side\":\"server\""),
	      "    61 s: close_wait alert for the server side of that flow");
	now += 30 * S;
	sg_tracker_tick(t, now);
	CHECK(mem_count("\"alert\":\"close_wait_pileup\"") == 1, "    once per flow (the flag is written back)");
	CHECK(sg_tracker_alerts(t) == 5, "    alerts counted: %llu", (unsigned long long)sg_tracker_alerts(t));
	sg_tracker_free(t);
}

/*
 * What BPF does to a flow in the sweep's window (the hook runs after the
 * sweep read the table, before it acts), as the programs would do it: the
 * state machine on the map's value, written back.
 */
enum race { RACE_NONE, RACE_REOPEN, RACE_SERVER_FIN, RACE_DATA, RACE_SERVER_DATA, RACE_BUSY };

static struct {
	enum race what;
	__u16 port;
	__u64 now;
	int done;
} race;

static void race_hook(void *arg, int fd)
{
	struct sg_flow_key k;
	struct sg_flow_key4 k4;
	struct sg_fsm_out o;
	struct sg_flow f;

	(void)arg;
	key_of(race.port, &k);
	if (race.what == RACE_NONE || bpf_map_lookup_elem(fd, mkey(fd, &k, &k4), &f))
		return;
	switch (race.what) {
	case RACE_REOPEN:	/* a new SYN on the tuple in TIME_WAIT (reuse) */
		sg_flow_segment(&f, 1, SG_TCP_SYN, 7000, 0, 0, 1000, race.now, &o);
		break;
	case RACE_SERVER_FIN:	/* the server closes: CLOSE_WAIT -> LAST_ACK */
		sg_flow_segment(&f, 0, SG_TCP_FIN | SG_TCP_ACK, 501, 102, 0, 1000, race.now, &o);
		break;
	case RACE_DATA:		/* a data segment (the flag-free steady path) */
		sg_flow_count(&f, 1, 101, 10, 1000, race.now);
		break;
	case RACE_SERVER_DATA:	/* the server sends data in CLOSE_WAIT (no state change) */
		sg_flow_segment(&f, 0, SG_TCP_ACK | SG_TCP_PSH, 501, 102, 100, 1000, race.now, &o);
		break;
	case RACE_BUSY:		/* a CPU is changing the flow's states right now */
		f.busy = 1;
		break;
	default:
		break;
	}
	bpf_map_update_elem(fd, mkey(fd, &k, &k4), &f, BPF_EXIST);
	race.what = RACE_NONE;
	race.done = 1;
}

static void arm(enum race what, __u16 port, __u64 now)
{
	race.what = what;
	race.port = port;
	race.now = now;
	race.done = 0;
}

static void test_races(struct sg_config *cfg, struct sg_out *out)
{
	struct sg_tracker *t = fresh(cfg, out);
	struct sg_flow f;
	__u64 B = T0;	/* each case's start; the tracker sweeps at most every 0.5 s */

	printf("  the sweeper against BPF changing a flow after the sweep read it:\n");
	sg_tracker_set_sweep_hook(t, race_hook, NULL);

	/* TIME_WAIT expires, but a new SYN reopened the tuple meanwhile */
	put_flow(m.flows4, 43001, SERVER_TIME_WAIT, B);
	arm(RACE_REOPEN, 43001, B + 61 * S);
	sg_tracker_tick(t, B + 61 * S);
	CHECK(race.done && !get(m.flows4, 43001, &f) && f.state[SG_SIDE_CLIENT] == SG_SYN_SENT &&
		      f.start_ns == B + 61 * S && !mem_count("\"cause\":\"timeout\""),
	      "    2MSL over, tuple reopened by a new SYN meanwhile: the new flow is kept, no timeout line");
	empty(m.flows4);
	mem_clear();
	B += 10000 * S;

	/* idle expiry, but a segment arrived meanwhile */
	put_flow(m.flows4, 43002, ESTABLISHED, B);
	arm(RACE_DATA, 43002, B + 7201 * S);
	sg_tracker_tick(t, B + 7201 * S);
	CHECK(race.done && !get(m.flows4, 43002, &f) && f.state[SG_SIDE_CLIENT] == SG_ESTABLISHED &&
		      f.state[SG_SIDE_SERVER] == SG_ESTABLISHED && f.bytes[SG_SIDE_CLIENT] == 10 &&
		      !mem_count("\"cause\":\"timeout\""),
	      "    idle timeout, a data segment meanwhile: flow kept, ESTABLISHED, no timeout line");
	empty(m.flows4);
	mem_clear();
	B += 10000 * S;

	/* CLOSE_WAIT alert (the flag is written back), the server closed meanwhile */
	put_flow(m.flows4, 43003, SERVER_CLOSE_WAIT, B);
	arm(RACE_SERVER_FIN, 43003, B + 61 * S);
	sg_tracker_tick(t, B + 61 * S);
	CHECK(race.done && !get(m.flows4, 43003, &f) && f.state[SG_SIDE_SERVER] == SG_LAST_ACK &&
		      !(f.flags & SG_F_ALERTED) && !mem_count("close_wait_pileup"),
	      "    CLOSE_WAIT alert due, the server sent its FIN meanwhile: LAST_ACK kept, no stale alert");
	empty(m.flows4);
	mem_clear();
	B += 10000 * S;

	/* CLOSE_WAIT alert, the server sent data meanwhile: alert, counters kept */
	put_flow(m.flows4, 43004, SERVER_CLOSE_WAIT, B);
	arm(RACE_SERVER_DATA, 43004, B + 61 * S);
	sg_tracker_tick(t, B + 61 * S);
	CHECK(race.done && !get(m.flows4, 43004, &f) && f.state[SG_SIDE_SERVER] == SG_CLOSE_WAIT &&
		      (f.flags & SG_F_ALERTED) && f.bytes[SG_SIDE_SERVER] == 100 &&
		      mem_count("\"alert\":\"close_wait_pileup\"") == 1,
	      "    CLOSE_WAIT alert, server data meanwhile: alerted, flag set, its 100 bytes not overwritten");
	empty(m.flows4);
	mem_clear();
	B += 10000 * S;

	/* TIME_WAIT expires while a CPU holds the flow's busy flag */
	put_flow(m.flows4, 43005, SERVER_TIME_WAIT, B);
	arm(RACE_BUSY, 43005, B + 61 * S);
	sg_tracker_tick(t, B + 61 * S);
	CHECK(race.done && !get(m.flows4, 43005, &f) && f.state[SG_SIDE_SERVER] == SG_TIME_WAIT &&
		      !mem_count("\"cause\":\"timeout\""),
	      "    2MSL over while a CPU holds the flow's busy flag: left alone");
	f.busy = 0;
	{
		struct sg_flow_key k;
		struct sg_flow_key4 k4;

		key_of(43005, &k);
		bpf_map_update_elem(m.flows4, mkey(m.flows4, &k, &k4), &f, BPF_EXIST);
	}
	sg_tracker_tick(t, B + 62 * S);
	CHECK(get(m.flows4, 43005, &f) && mem_count("\"cause\":\"timeout\"") == 1,
	      "    flag released: expired at the next sweep, one timeout line");
	empty(m.flows4);
	mem_clear();
	B += 10000 * S;

	/* a half-open handshake expires, but the SYN-ACK came meanwhile */
	put_flow(m.halfopen, 43006, HALF_OPEN, B);
	arm(RACE_NONE, 0, 0);
	{
		struct sg_fsm_out o;
		struct sg_flow_key k;

		/* (no hook: the change is made between two sweeps, the second sees it) */
		key_of(43006, &k);
		bpf_map_lookup_elem(m.halfopen, &k, &f);
		sg_flow_segment(&f, 0, SG_TCP_SYN | SG_TCP_ACK, 500, 101, 0, 1000, B + 29 * S, &o);
		bpf_map_update_elem(m.halfopen, &k, &f, BPF_EXIST);
	}
	sg_tracker_tick(t, B + 31 * S);
	CHECK(!get(m.halfopen, 43006, &f) && f.state[SG_SIDE_SERVER] == SG_SYN_RCVD,
	      "    (control) a SYN-ACK 2 s before the sweep restarts the server's half-open timer");
	empty(m.halfopen);
	mem_clear();
	sg_tracker_set_sweep_hook(t, NULL, NULL);
	sg_tracker_free(t);
}

int main(void)
{
	struct sg_config cfg;
	struct sg_out *out;

	if (geteuid() != 0) {
		check_skip("not root: the controllers' tests need BPF maps");
		return check_summary("user_track");
	}
	ncpu = libbpf_num_possible_cpus();
	if (make_maps()) {
		CHECK(0, "create the BPF maps");
		return check_summary("user_track");
	}
	sg_config_defaults(&cfg);
	cfg.time_wait_alert = 3;
	out = mem_out();
	test_timers(&cfg, out);
	test_alerts(&cfg, out);
	test_races(&cfg, out);
	mem_close(out);
	return check_summary("user_track");
}
