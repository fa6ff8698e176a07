// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * track.c - flow tracking from userspace: BPF filters and table sizes, the
 * expiry sweeper (TIME_WAIT 2MSL, half-open and idle timers), alerts
 * (SYN flood, CLOSE_WAIT and TIME_WAIT pile-ups), loss events, flow counts
 * by state and the exit summary.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sg_user.h"
#include "sg_flow.h"
#include "synguard.skel.h"

#define NS 1000000000ull

static struct {
	__u64 last_sweep, last_rate;
	__u64 prev_cnt[SG_CNT_MAX];
	bool have_prev;
	bool syn_flood, tw_pileup;
	__u64 states[SG_STATE_MAX];	/* endpoints per state, last sweep */
	__u64 flows, halfopen;		/* entries, last sweep */
	__u64 expired;			/* flows closed by timers */
	__u64 alerts;
} T;

__u64 sg_emitted[SG_EV_STATS + 1];

int sg_track_preload(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	if (bpf_map__set_max_entries(skel->maps.sg_flows, cfg->max_flows) ||
	    bpf_map__set_max_entries(skel->maps.sg_embryo, cfg->max_embryonic)) {
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
	memset(&T, 0, sizeof(T));
	return 0;
}

static void alert(__u32 kind, __u32 value, __u16 dport, __u64 now)
{
	struct sg_event e = { .ts_ns = now, .type = SG_EV_ALERT, .alert = kind, .value = value, .dport = dport };

	T.alerts++;
	sg_emit(&e);
}

/*
 * One pass over a flow table: timers, CLOSE_WAIT alerts, counts by state.
 * Keys are collected first, then visited, so deleting while walking is safe.
 */
static void sweep(int fd, const struct sg_config *cfg, __u64 now, bool embryo)
{
	enum { CHUNK = 4096 };
	struct sg_flow_key *keys = NULL;
	struct sg_flow *vals = NULL;
	size_t n = 0, cap = 0;
	__u64 batch = 0;
	bool first = true;
	int err = 0;

	/* Read the table in batches (one syscall per CHUNK entries), keys and values together. */
	while (!err) {
		__u32 cnt = CHUNK;

		if (n + CHUNK > cap) {
			size_t ncap = cap ? cap * 2 : 4 * CHUNK;
			struct sg_flow_key *nk = realloc(keys, ncap * sizeof(*keys));
			struct sg_flow *nv = nk ? realloc(vals, ncap * sizeof(*vals)) : NULL;

			if (nk)
				keys = nk;
			if (!nk || !nv)
				break;
			vals = nv;
			cap = ncap;
		}
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys + n, vals + n, &cnt, NULL);
		first = false;
		if (err && errno != ENOENT)
			break; /* (a table changing under us: the next sweep sees the rest) */
		n += cnt;
	}

	for (size_t i = 0; i < n; i++) {
		struct sg_flow f = vals[i];
		struct sg_fsm_out out;
		bool dirty = false;
		int done;

		done = sg_flow_expire(&f, now, (__u64)cfg->time_wait * NS, (__u64)cfg->half_open * NS,
				      (__u64)cfg->idle * NS, &out);
		for (int t = 0; t < out.n; t++) {
			struct sg_event e = {};

			sg_flow_event(&e, &keys[i], &f, &out.tr[t], now);
			if (!(f.flags & SG_F_QUIET))
				sg_emit(&e);
			dirty = true;
		}
		if (done) {
			bpf_map_delete_elem(fd, &keys[i]);
			T.expired += out.n > 0;
			continue;
		}
		for (int s = 0; s < 2; s++) {
			__u64 entered = f.start_ns + (__u64)f.state_ms[s] * 1000000;

			if (f.state[s] < SG_STATE_MAX)
				T.states[f.state[s]]++;
			if (f.state[s] == SG_CLOSE_WAIT && !(f.flags & SG_F_ALERTED) && now > entered &&
			    now - entered >= (__u64)cfg->close_wait_alert * NS) {
				struct sg_event e = {};
				struct sg_tr tr = { .side = s, .from = SG_CLOSE_WAIT, .to = SG_CLOSE_WAIT };

				/* the flow's addresses, in alert form */
				sg_flow_event(&e, &keys[i], &f, &tr, now);
				e.type = SG_EV_ALERT;
				memset(&e.rtt_syn_us, 0, sizeof(e) - offsetof(struct sg_event, rtt_syn_us));
				e.alert = SG_ALERT_CLOSE_WAIT;
				e.value = (__u32)((now - entered) / NS);
				T.alerts++;
				sg_emit(&e);
				f.flags |= SG_F_ALERTED;
				dirty = true;
			}
		}
		if (dirty) {
			f.busy = 0; /* never write back a flag a CPU held while we read */
			bpf_map_update_elem(fd, &keys[i], &f, BPF_EXIST);
		}
		if (embryo)
			T.halfopen++;
		else
			T.flows++;
	}
	free(keys);
	free(vals);
}

/*
 * A port's last summarised SYN window is reported by BPF when the next SYN
 * opens a new window; when the flood simply stops, nobody does. Report such
 * stale windows here, once every CPU's window for the port has ended.
 */
static void flush_syn_summaries(struct synguard_bpf *skel, __u64 now)
{
	int qfd = bpf_map__fd(skel->maps.sg_quiet_ports), rfd = bpf_map__fd(skel->maps.sg_syn_rate);
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
			e.valid += w[c].quiet;
		}
		if (!stale)
			continue; /* a window is still open: BPF reports it when it rolls over */
		if (e.valid) {
			e.family = 0;
			sg_emit(&e);
		}
		memset(w, 0, ncpu * sizeof(*w));
		bpf_map_update_elem(rfd, &ports[i], w, BPF_ANY);
		bpf_map_delete_elem(qfd, &ports[i]);
	}
	free(w);
}

void sg_track_tick(struct synguard_bpf *skel, const struct sg_config *cfg, __u64 now)
{
	static const int losses[] = { SG_LOSS_RINGBUF, SG_LOSS_FLOW_FULL, SG_LOSS_EMBRYO_FULL };
	__u64 cnt[SG_CNT_MAX];

	if (now - T.last_sweep >= NS / 2) {
		T.last_sweep = now;
		memset(T.states, 0, sizeof(T.states));
		T.flows = T.halfopen = 0;
		sweep(bpf_map__fd(skel->maps.sg_flows), cfg, now, false);
		sweep(bpf_map__fd(skel->maps.sg_embryo), cfg, now, true);
		if (!T.tw_pileup && T.states[SG_TIME_WAIT] > cfg->time_wait_alert) {
			T.tw_pileup = true;
			alert(SG_ALERT_TIME_WAIT, (__u32)T.states[SG_TIME_WAIT], 0, now);
		} else if (T.tw_pileup && T.states[SG_TIME_WAIT] * 10 < (__u64)cfg->time_wait_alert * 9) {
			T.tw_pileup = false;
		}
	}

	if (now - T.last_rate < NS)
		return;
	flush_syn_summaries(skel, now);
	sg_read_counters(skel, cnt);
	if (T.have_prev) {
		double secs = (now - T.last_rate) / 1e9;
		__u64 syn_rate = (__u64)((cnt[SG_CNT_SYN] - T.prev_cnt[SG_CNT_SYN]) / secs);

		if (!T.syn_flood && syn_rate > cfg->syn_threshold) {
			T.syn_flood = true;
			alert(SG_ALERT_SYN_FLOOD_START, (__u32)syn_rate, 0, now);
		} else if (T.syn_flood && syn_rate < cfg->syn_threshold / 2) {
			T.syn_flood = false;
			alert(SG_ALERT_SYN_FLOOD_END, (__u32)syn_rate, 0, now);
		}
		for (size_t i = 0; i < sizeof(losses) / sizeof(losses[0]); i++) {
			__u64 d = cnt[losses[i]] - T.prev_cnt[losses[i]];

			if (d) {
				struct sg_event e = { .ts_ns = now, .type = SG_EV_LOSS, .counter = losses[i],
						      .lost = (__u32)d };
				sg_emit(&e);
			}
		}
	}
	memcpy(T.prev_cnt, cnt, sizeof(cnt));
	T.have_prev = true;
	T.last_rate = now;
}

/* Flow counts for the stats line: "flows=N halfopen=M ESTABLISHED=.. ..." */
int sg_track_format_states(char *buf, size_t len, bool json)
{
	int n = snprintf(buf, len, json ? ",\"flows\":%llu,\"halfopen\":%llu" : " flows=%llu halfopen=%llu",
			 (unsigned long long)T.flows, (unsigned long long)T.halfopen);

	for (int s = SG_SYN_SENT; s < SG_STATE_MAX && (size_t)n < len; s++)
		if (T.states[s] || json)
			n += snprintf(buf + n, len - n, json ? ",\"%s\":%llu" : " %s=%llu", sg_state_name(s),
				      (unsigned long long)T.states[s]);
	return n;
}

void sg_track_summary(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	char states[512];
	__u64 cnt[SG_CNT_MAX];

	sg_read_counters(skel, cnt);
	static const char *const fmt[2] = {
		"tracking: flows seen %llu, transitions %llu, expired by timers %llu, alerts %llu, "
		"lost: events %llu, flows %llu, half-open %llu; final states:%s\n",
		"{\"type\":\"track_summary\",\"flows_seen\":%llu,\"transitions\":%llu,\"expired\":%llu,"
		"\"alerts\":%llu,\"lost_events\":%llu,\"lost_flows\":%llu,\"lost_halfopen\":%llu%s}\n",
	};

	sg_track_format_states(states, sizeof(states), cfg->json);
	printf(fmt[cfg->json ? 1 : 0], (unsigned long long)cnt[SG_CNT_FLOW_NEW],
	       (unsigned long long)sg_emitted[SG_EV_STATE], (unsigned long long)T.expired,
	       (unsigned long long)T.alerts, (unsigned long long)cnt[SG_LOSS_RINGBUF],
	       (unsigned long long)cnt[SG_LOSS_FLOW_FULL], (unsigned long long)cnt[SG_LOSS_EMBRYO_FULL], states);
	fflush(stdout);
}
