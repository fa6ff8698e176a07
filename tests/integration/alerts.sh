#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Alerts from the seeds' anomalies: CLOSE_WAIT and TIME_WAIT pile-ups;
# the exit summary; -q keeps alerts but drops per-transition lines.

test_close_wait_alert() {
	ns_setup
	sg_start --close-wait-alert 1
	# The server keeps sending for ~3 s after the client's FIN: stuck in CLOSE_WAIT.
	tcp_server --listen $SRV4 --port 8090 --count 1 --close halfclose --hc-writes 30 --hc-interval-ms 100
	cli "$TCPKIT" client --connect $SRV4 --port 8090 --close halfclose >"$TMPD/cli.out" ||
		fail "client: $(cat "$TMPD/cli.out")"
	wait_until 3 grep -q '"alert":"close_wait_pileup"' "$TMPD/sg.out"
	sg_stop
	local a
	a=$(jq -c 'select(.type=="alert" and .alert=="close_wait_pileup")' "$TMPD/sg.out")
	[[ -n $a ]] || fail "no close_wait_pileup alert"
	[[ $(jq -r '.side' <<<"$a" | head -n1) == server && $(jq -r '.dport' <<<"$a" | head -n1) == 8090 &&
		$(jq -r '.daddr' <<<"$a" | head -n1) == "$SRV4" ]] || fail "alert names the wrong flow: $a"
	[[ $(wc -l <<<"$a") -eq 1 ]] || fail "the alert repeats for one flow: $a"
	info "$a"
}

test_time_wait_pileup_and_quiet() {
	ns_setup
	sg_start -q --time-wait-alert 5 --time-wait 30
	tcp_server --listen $SRV4 --port 8091 --count 12
	cli "$TCPKIT" client --connect $SRV4 --port 8091 --count 12 >"$TMPD/cli.out" || fail "client failed"
	# (not polled: with -q nothing shows when the sweeper, every 0.5 s, has
	# counted the last TIME_WAITs that the exit summary reports)
	sleep 1.5
	sg_stop
	# (jq 1.6's -e looks at the last input only: count the matches instead)
	jq -c 'select(.type=="alert" and .alert=="time_wait_pileup" and .value > 5)' "$TMPD/sg.out" | grep -q . ||
		fail "no time_wait_pileup alert: $(cat "$TMPD/sg.out")"
	grep -q '"type":"state"' "$TMPD/sg.out" && fail "-q printed per-transition lines"
	local t
	t=$(jq -r 'select(.type=="track_summary") | "\(.flows_seen) \(.transitions) \(.TIME_WAIT)"' "$TMPD/sg.out")
	read -r seen trans tw <<<"$t"
	((seen == 12)) || fail "summary: flows_seen $seen, expected 12"
	((trans >= 12 * 8)) || fail "summary: transitions $trans, expected >= 96"
	((tw == 12)) || fail "summary: TIME_WAIT endpoints $tw, expected 12"
	info "track_summary: $(jq -c 'select(.type=="track_summary")' "$TMPD/sg.out")"
}
