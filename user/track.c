// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * track.c - flow tracking from userspace: BPF filters and table sizes, and
 * the sweeper object (see track.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"
#include "sg_flow.h"
#include "counters.h"
#include "output.h"
#include "track.h"
#include "synguard.skel.h"

#define NS 1000000000ull

struct sg_tracker {
	struct sg_track_maps m;
	struct bpf_object *sweep_obj;	/* sg_sweep only, on the maps in m */
	int sweep_fd;			/* sg_sweep: applies the sweep's writes */
	struct sg_config cfg;
	struct sg_out *out;
	__u64 last_sweep, last_rate;
	__u64 prev_cnt[SG_CNT_MAX];
	bool have_prev;
	bool syn_flood, tw_pileup;
	struct sg_track_counts cur;	/* being counted by the sweep */
	pthread_mutex_t lock;		/* guards pub, expired, alerts */
	struct sg_track_counts pub;	/* the last complete sweep */
	__u64 expired;			/* flows closed by timers */
	__u64 alerts;
	void (*sweep_hook)(void *arg, int fd);	/* tests only */
	void *sweep_hook_arg;
};

int sg_track_preload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	if (bpf_map__set_max_entries(skel->maps.sg_flows4, cfg->max_flows) ||
	    bpf_map__set_max_entries(skel->maps.sg_flows, cfg->max_flows) ||
	    bpf_map__set_max_entries(skel->maps.sg_halfopen, cfg->max_halfopen)) {
		fprintf(stderr, "synguard: cannot size the flow tables\n");
		return -1;
	}
	return 0;
}

int sg_track_postload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	__u8 one = 1;

	for (int i = 0; i < cfg->nports; i++)
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.sg_filter_ports), &cfg->ports[i], &one, BPF_ANY)) {
			fprintf(stderr, "synguard: setting the port filter failed: %s\n", strerror(errno));
			return -1;
		}
	for (int i = 0; i < cfg->ncidrs; i++) {
		struct sg_lpm_key k = { .prefixlen = 32 + cfg->cidrs[i].prefix, .family = cfg->cidrs[i].family };

		memcpy(k.addr, cfg->cidrs[i].addr, sizeof(k.addr));
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.sg_filter_addr), &k, &one, BPF_ANY)) {
			fprintf(stderr, "synguard: setting the address filter failed: %s\n", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void alert(struct sg_tracker *t, __u32 kind, __u32 value, __u16 dport, __u64 now)
{
	struct sg_event e = { .ts_ns = now, .type = SG_EV_ALERT, .alert = kind, .value = value, .dport = dport };

	pthread_mutex_lock(&t->lock);
	t->alerts++;
	pthread_mutex_unlock(&t->lock);
	sg_out_event(t->out, &e);
}

/*
 * Apply the sweep's decision on one flow (include/sg_flow.h: struct
 * sg_sweep_req) through sg_sweep, under the flow's busy flag: the read and
 * the decision are not atomic, and BPF may reopen, move or change the flow
 * in between; a write from here would then delete or overwrite it with a
 * stale copy. Returns enum sg_sweep_res, or -1 if the program did not run.
 */
static int sweep_commit(struct sg_tracker *t, const struct sg_flow_key *k, const struct sg_flow *seen,
			const struct sg_flow *want, __u32 op, __u32 check, bool halfopen)
{
	struct sg_sweep_req r = { .key = *k, .seen = *seen, .want = *want, .op = op, .check = check,
				  .halfopen = halfopen };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &r, .ctx_size_in = sizeof(r));

	if (bpf_prog_test_run_opts(t->sweep_fd, &o))
		return -1;
	return (int)o.retval;
}

/*
 * One pass over a flow table: timers, CLOSE_WAIT alerts, counts by state.
 * Keys and values are read first (a snapshot), then each flow is decided
 * on its copy; what the decision changes is written through sweep_commit()
 * and reported only once written. v4: sg_flows4, whose keys are struct
 * sg_flow_key4 (widened here to struct sg_flow_key).
 */
static void sweep(struct sg_tracker *t, int fd, __u64 now, bool halfopen, bool v4)
{
	const struct sg_config *cfg = &t->cfg;
	enum { CHUNK = 4096 };
	size_t ksz = v4 ? sizeof(struct sg_flow_key4) : sizeof(struct sg_flow_key);
	struct sg_flow_key *keys = NULL;
	struct sg_flow *vals = NULL;
	char *raw = NULL;
	size_t n = 0, cap = 0;
	__u64 batch = 0;
	bool first = true;
	int err = 0;

	/* Read the table in batches (one syscall per CHUNK entries), keys and values together. */
	while (!err) {
		__u32 cnt = CHUNK;

		if (n + CHUNK > cap) {
			size_t ncap = cap ? cap * 2 : 4 * CHUNK;
			char *nr = realloc(raw, ncap * ksz);
			struct sg_flow *nv = nr ? realloc(vals, ncap * sizeof(*vals)) : NULL;

			if (nr)
				raw = nr;
			if (!nr || !nv)
				break;
			vals = nv;
			cap = ncap;
		}
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, raw + n * ksz, vals + n, &cnt, NULL);
		first = false;
		if (err && errno != ENOENT)
			break; /* (a table changing under us: the next sweep sees the rest) */
		n += cnt;
	}
	if (v4) {
		keys = n ? malloc(n * sizeof(*keys)) : NULL;
		if (n && !keys)
			n = 0;
		for (size_t i = 0; i < n; i++)
			sg_flow_key_of4(&keys[i], (const struct sg_flow_key4 *)(raw + i * ksz));
		free(raw);
	} else {
		keys = (struct sg_flow_key *)raw;
	}
	if (t->sweep_hook)
		t->sweep_hook(t->sweep_hook_arg, fd);

	for (size_t i = 0; i < n; i++) {
		struct sg_flow f = vals[i];
		struct sg_fsm_out out;
		struct sg_event alert_ev;
		bool alerted = false;
		int done, res;

		done = sg_flow_expire(&f, now, (__u64)cfg->time_wait * NS, (__u64)cfg->half_open * NS,
				      (__u64)cfg->idle * NS, &out);
		for (int s = 0; s < 2 && !done; s++) {
			__u64 entered = f.start_ns + (__u64)f.state_ms[s] * 1000000;

			if (f.state[s] == SG_CLOSE_WAIT && !(f.flags & SG_F_ALERTED) && now > entered &&
			    now - entered >= (__u64)cfg->close_wait_alert * NS) {
				struct sg_tr tr = { .side = s, .from = SG_CLOSE_WAIT, .to = SG_CLOSE_WAIT };

				/* the flow's addresses, in alert form */
				memset(&alert_ev, 0, sizeof(alert_ev));
				sg_flow_event(&alert_ev, &keys[i], &f, &tr, now);
				alert_ev.type = SG_EV_ALERT;
				memset(&alert_ev.rtt_syn_us, 0, sizeof(alert_ev) - offsetof(struct sg_event, rtt_syn_us));
				alert_ev.alert = SG_ALERT_CLOSE_WAIT;
				alert_ev.value = (__u32)((now - entered) / NS);
				f.flags |= SG_F_ALERTED;
				alerted = true;
			}
		}
		if (done || out.n || alerted) {
			/* a timer's decision holds only if no segment came since */
			res = sweep_commit(t, &keys[i], &vals[i], &f, done ? SG_SWEEP_DELETE : SG_SWEEP_UPDATE,
					   out.n ? SG_SWEEP_SAME_LAST : 0, halfopen);
			if (res == SG_SWEEP_GONE)
				continue;
			if (res != SG_SWEEP_OK) {
				/* changed or busy: decided again at the next sweep */
				f = vals[i];
				done = 0;
				out.n = 0;
				alerted = false;
			}
		}
		for (int k = 0; k < out.n; k++) {
			struct sg_event e = {};

			sg_flow_event(&e, &keys[i], &f, &out.tr[k], now);
			if (!(f.flags & SG_F_QUIET))
				sg_out_event(t->out, &e);
		}
		if (done) {
			if (out.n > 0) {
				pthread_mutex_lock(&t->lock);
				t->expired++;
				pthread_mutex_unlock(&t->lock);
			}
			continue;
		}
		if (alerted) {
			pthread_mutex_lock(&t->lock);
			t->alerts++;
			pthread_mutex_unlock(&t->lock);
			sg_out_event(t->out, &alert_ev);
		}
		for (int s = 0; s < 2; s++)
			if (f.state[s] < SG_STATE_MAX) {
				t->cur.states[f.state[s]]++;
				t->cur.side_states[s][f.state[s]]++;
			}
		if (halfopen)
			t->cur.halfopen++;
		else
			t->cur.flows++;
	}
	free(keys);
	free(vals);
}

/*
 * A port's last summarised SYN window is reported by BPF when the next SYN
 * opens a new window; when the flood simply stops, nobody does. Report such
 * stale windows here, once every CPU's window for the port has ended.
 */
static void flush_syn_summaries(struct sg_tracker *t, __u64 now)
{
	int qfd = t->m.quiet_ports, rfd = t->m.syn_rate;
	int ncpu = libbpf_num_possible_cpus();
	struct sg_syn_window *w;
	__u32 port, next, ports[SG_QUIET_PORTS_MAX];
	int n = 0, err;

	if (ncpu <= 0 || !(w = calloc(ncpu, sizeof(*w))))
		return;
	err = bpf_map_get_next_key(qfd, NULL, &next);
	while (!err && n < SG_QUIET_PORTS_MAX) {
		ports[n++] = next;
		port = next;
		err = bpf_map_get_next_key(qfd, &port, &next);
	}
	for (int i = 0; i < n; i++) {
		struct sg_event e = { .ts_ns = now, .type = SG_EV_SYN_SUMMARY, .dport = (__u16)ports[i] };
		bool stale = true;

		if (bpf_map_lookup_elem(rfd, &ports[i], w))
			continue;
		for (int c = 0; c < ncpu; c++) {
			if (w[c].syns && w[c].win >= now >> SG_SYN_WINDOW_SHIFT)
				stale = false;
			e.syns += w[c].quiet ? w[c].syns : 0;
			e.not_printed += w[c].quiet;
		}
		if (!stale)
			continue; /* a window is still open: BPF reports it when it rolls over */
		if (e.not_printed) {
			e.family = 0;
			sg_out_event(t->out, &e);
		}
		memset(w, 0, ncpu * sizeof(*w));
		bpf_map_update_elem(rfd, &ports[i], w, BPF_ANY);
		bpf_map_delete_elem(qfd, &ports[i]);
	}
	free(w);
}

void sg_tracker_tick(struct sg_tracker *t, __u64 now)
{
	static const int losses[] = { SG_LOSS_RINGBUF, SG_LOSS_FLOW_FULL, SG_LOSS_HALFOPEN_FULL };
	const struct sg_config *cfg = &t->cfg;
	__u64 cnt[SG_CNT_MAX];

	if (now - t->last_sweep >= NS / 2) {
		t->last_sweep = now;
		memset(&t->cur, 0, sizeof(t->cur));
		sweep(t, t->m.flows4, now, false, true);
		sweep(t, t->m.flows, now, false, false);
		sweep(t, t->m.halfopen, now, true, false);
		pthread_mutex_lock(&t->lock);
		t->pub = t->cur;
		pthread_mutex_unlock(&t->lock);
		if (!t->tw_pileup && t->cur.states[SG_TIME_WAIT] > cfg->time_wait_alert) {
			t->tw_pileup = true;
			alert(t, SG_ALERT_TIME_WAIT, (__u32)t->cur.states[SG_TIME_WAIT], 0, now);
		} else if (t->tw_pileup && t->cur.states[SG_TIME_WAIT] * 10 < (__u64)cfg->time_wait_alert * 9) {
			t->tw_pileup = false;
		}
	}

	if (now - t->last_rate < NS)
		return;
	flush_syn_summaries(t, now);
	if (sg_counters_read(t->m.counters, cnt))
		return;
	if (t->have_prev) {
		double secs = (now - t->last_rate) / 1e9;
		__u64 syn_rate = (__u64)((cnt[SG_CNT_SYN] - t->prev_cnt[SG_CNT_SYN]) / secs);

		if (!t->syn_flood && syn_rate > cfg->syn_alert) {
			t->syn_flood = true;
			alert(t, SG_ALERT_SYN_FLOOD_START, (__u32)syn_rate, 0, now);
		} else if (t->syn_flood && syn_rate < cfg->syn_alert / 2) {
			t->syn_flood = false;
			alert(t, SG_ALERT_SYN_FLOOD_END, (__u32)syn_rate, 0, now);
		}
		for (size_t i = 0; i < sizeof(losses) / sizeof(losses[0]); i++) {
			__u64 d = cnt[losses[i]] - t->prev_cnt[losses[i]];

			if (d) {
				struct sg_event e = { .ts_ns = now, .type = SG_EV_LOSS, .counter = losses[i],
						      .lost = (__u32)d };
				sg_out_event(t->out, &e);
			}
		}
	}
	memcpy(t->prev_cnt, cnt, sizeof(cnt));
	t->have_prev = true;
	t->last_rate = now;
}

/*
 * The sweeper's BPF program, sg_sweep (bpf/synguard.bpf.c), from the object
 * the skeleton embeds: a bpf_object of its own in which only sg_sweep is
 * loaded, on the two flow tables the tracker was given (any map of the
 * right layout: the programs' own, or a test's); of the other maps only the
 * small .rodata is created.
 */
static int sweep_load(struct sg_tracker *t)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "synguard_sweep");
	struct bpf_program *p, *prog = NULL;
	const void *elf;
	struct bpf_map *m;
	size_t sz;
	int err;

	elf = synguard_bpf__elf_bytes(&sz);
	t->sweep_obj = bpf_object__open_mem(elf, sz, &oo);
	if (!t->sweep_obj)
		return -errno;
	bpf_object__for_each_program(p, t->sweep_obj) {
		bool it = !strcmp(bpf_program__name(p), "sg_sweep");

		bpf_program__set_autoload(p, it);
		if (it)
			prog = p;
	}
	if (!prog)
		return -ENOENT;
	bpf_object__for_each_map(m, t->sweep_obj) {
		const char *name = bpf_map__name(m);

		if (!strcmp(name, "sg_flows4"))
			err = bpf_map__reuse_fd(m, t->m.flows4);
		else if (!strcmp(name, "sg_flows"))
			err = bpf_map__reuse_fd(m, t->m.flows);
		else if (!strcmp(name, "sg_halfopen"))
			err = bpf_map__reuse_fd(m, t->m.halfopen);
		else if (!strcmp(name, "sg_ho_count"))
			err = bpf_map__reuse_fd(m, t->m.ho_count);
		else if (!bpf_map__is_internal(m))	/* (.rodata: libbpf binds it to every program) */
			err = bpf_map__set_autocreate(m, false);
		else
			err = 0;
		if (err)
			return err;
	}
	err = bpf_object__load(t->sweep_obj);
	if (err)
		return err;
	t->sweep_fd = bpf_program__fd(prog);
	return 0;
}

struct sg_tracker *sg_tracker_new(const struct sg_track_maps *maps, const struct sg_config *cfg,
				  struct sg_out *out)
{
	struct sg_tracker *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return NULL;
	t->m = *maps;
	t->cfg = *cfg;
	t->out = out;
	t->sweep_fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	err = sweep_load(t);
	if (err) {
		fprintf(stderr, "synguard: loading the sweeper's BPF program (sg_sweep) failed: %s\n",
			strerror(err < 0 ? -err : err));
		sg_tracker_free(t);
		return NULL;
	}
	return t;
}

void sg_tracker_set_sweep_hook(struct sg_tracker *t, void (*fn)(void *arg, int fd), void *arg)
{
	t->sweep_hook = fn;
	t->sweep_hook_arg = arg;
}

void sg_tracker_free(struct sg_tracker *t)
{
	if (!t)
		return;
	bpf_object__close(t->sweep_obj);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void sg_tracker_counts(struct sg_tracker *t, struct sg_track_counts *c)
{
	pthread_mutex_lock(&t->lock);
	*c = t->pub;
	pthread_mutex_unlock(&t->lock);
}

__u64 sg_tracker_alerts(struct sg_tracker *t)
{
	__u64 a;

	pthread_mutex_lock(&t->lock);
	a = t->alerts;
	pthread_mutex_unlock(&t->lock);
	return a;
}

void sg_tracker_counts_json(struct sg_tracker *t, struct sg_json *j)
{
	struct sg_track_counts c;

	sg_tracker_counts(t, &c);
	sg_json_u64(j, "flows", c.flows);
	sg_json_u64(j, "halfopen", c.halfopen);
	for (int s = SG_SYN_SENT; s < SG_STATE_MAX; s++)
		sg_json_u64(j, sg_state_name(s), c.states[s]);
}

/* " flows=N halfopen=M ESTABLISHED=..." (states with endpoints only) */
int sg_tracker_counts_text(struct sg_tracker *t, char *buf, size_t len)
{
	struct sg_track_counts c;
	int n;

	sg_tracker_counts(t, &c);
	n = snprintf(buf, len, " flows=%llu halfopen=%llu", (unsigned long long)c.flows,
		     (unsigned long long)c.halfopen);
	for (int s = SG_SYN_SENT; s < SG_STATE_MAX && n >= 0 && (size_t)n < len; s++)
		if (c.states[s])
			n += snprintf(buf + n, len - n, " %s=%llu", sg_state_name(s),
				      (unsigned long long)c.states[s]);
	return n;
}

void sg_tracker_summary(struct sg_tracker *t)
{
	__u64 cnt[SG_CNT_MAX], expired, alerts;

	sg_counters_read(t->m.counters, cnt);
	pthread_mutex_lock(&t->lock);
	expired = t->expired;
	alerts = t->alerts;
	pthread_mutex_unlock(&t->lock);
	if (sg_out_json(t->out)) {
		char buf[2048];
		struct sg_json j;

		sg_out_record_begin(t->out, &j, buf, sizeof(buf), "track_summary", 0);
		sg_json_u64(&j, "flows_seen", cnt[SG_CNT_FLOW_NEW]);
		sg_json_u64(&j, "transitions", sg_out_emitted(t->out, SG_EV_STATE));
		sg_json_u64(&j, "expired", expired);
		sg_json_u64(&j, "alerts", alerts);
		sg_json_u64(&j, "lost_events", cnt[SG_LOSS_RINGBUF]);
		sg_json_u64(&j, "lost_flows", cnt[SG_LOSS_FLOW_FULL]);
		sg_json_u64(&j, "lost_halfopen", cnt[SG_LOSS_HALFOPEN_FULL]);
		sg_tracker_counts_json(t, &j);
		sg_out_record_end(t->out, &j);
	} else {
		char states[512];

		sg_tracker_counts_text(t, states, sizeof(states));
		sg_out_text(t->out,
			    "tracking: flows seen %llu, transitions %llu, expired by timers %llu, alerts %llu, "
			    "lost: events %llu, flows %llu, half-open %llu; final states:%s",
			    (unsigned long long)cnt[SG_CNT_FLOW_NEW],
			    (unsigned long long)sg_out_emitted(t->out, SG_EV_STATE), (unsigned long long)expired,
			    (unsigned long long)alerts, (unsigned long long)cnt[SG_LOSS_RINGBUF],
			    (unsigned long long)cnt[SG_LOSS_FLOW_FULL], (unsigned long long)cnt[SG_LOSS_HALFOPEN_FULL],
			    states);
	}
	sg_out_flush(t->out);
}
