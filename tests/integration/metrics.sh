#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# --metrics: /metrics scraped with curl inside sg_srv (127.0.0.1 there, so
# nothing leaves the test's namespaces), checked by promtool and against
# the traffic the test made and synguard's own JSON.
# Helpers are prefixed mx_ (only test_* are run).

MX_PORT=9464
MX_SRV_PORT=8080

mx_need() {
	for t in "$SG" "$TCPKIT"; do
		[[ -e $t ]] || skip "missing $t (make)"
	done
	for c in jq curl promtool; do
		command -v $c >/dev/null || skip "$c not installed (tests/deps.sh installs it)"
	done
}

# mx_scrape [CURL ARGS...]: /metrics from synguard in sg_srv, on stdout.
mx_scrape() {
	srv curl -sf --max-time 5 "$@" "http://127.0.0.1:$MX_PORT/metrics"
}

# mx_val TEXT NAME{LABELS}: the sample's value ("" if absent).
mx_val() {
	awk -v k="$2" '$1 == k { print $2 }' <<<"$1"
}

# mx_has_endpoints N: a scrape shows N established server endpoints.
mx_established() {
	local t
	t=$(mx_scrape) || return 1
	[[ $(mx_val "$t" 'synguard_endpoints{side="server",state="TIME_WAIT"}') -ge $1 ]]
}

test_metrics_scrape() {
	local n=12 t om v cnt ms
	mx_need
	ns_setup
	tcp_server --listen 0.0.0.0 --port $MX_SRV_PORT --close server
	sg_start --metrics 127.0.0.1:$MX_PORT -p $MX_SRV_PORT
	srv curl -sf --max-time 5 "http://127.0.0.1:$MX_PORT/" >/dev/null || fail "no HTTP server on $MX_PORT"
	cli "$TCPKIT" client --connect $SRV4 --port $MX_SRV_PORT --count $n --close server >/dev/null ||
		fail "clients failed"
	# the server closes first: its endpoints wait in TIME_WAIT; the sweep
	# (every 0.5 s) counts them
	wait_until 5 mx_established $n
	t=$(mx_scrape) || fail "scrape failed"
	promtool check metrics <<<"$t" >"$TMPD/promtool.out" 2>&1 ||
		fail "promtool check metrics: $(cat "$TMPD/promtool.out")"
	[[ -s $TMPD/promtool.out ]] && info "promtool lint: $(head -n3 "$TMPD/promtool.out")"
	expect_eq "$(mx_val "$t" synguard_up)" 1 "synguard_up"
	expect_eq "$(mx_val "$t" "synguard_build_info{version=\"$("$SG" -V | awk '{print $2}')\"}")" 1 "build_info"
	v=$(mx_val "$t" 'synguard_packets_total{direction="ingress",class="syn"}')
	((v >= n)) || fail "ingress SYNs $v < $n"
	v=$(mx_val "$t" 'synguard_transitions_total{side="server",to="ESTABLISHED"}')
	expect_eq "$v" $n "server transitions to ESTABLISHED"
	v=$(mx_val "$t" 'synguard_transitions_total{side="client",to="CLOSED"}')
	expect_eq "$v" $n "client transitions to CLOSED"
	cnt=$(mx_val "$t" "synguard_handshake_seconds_count{port=\"$MX_SRV_PORT\",half=\"syn_synack\"}")
	expect_eq "$cnt" $n "handshake histogram count (port $MX_SRV_PORT, syn_synack)"
	v=$(mx_val "$t" "synguard_handshake_seconds_bucket{port=\"$MX_SRV_PORT\",half=\"synack_ack\",le=\"+Inf\"}")
	expect_eq "$v" $n "handshake histogram +Inf bucket"
	v=$(mx_val "$t" 'synguard_flow_duration_seconds_count{side="client"}')
	expect_eq "$v" $n "client flow durations"
	# the histogram's sum is the sum of the JSON's halves
	ms=$(jq -s --argjson p $MX_SRV_PORT '[.[] | select(.type=="state" and .side=="server" and .to=="ESTABLISHED"
		and .dport==$p) | .rtt_syn_us // 0] | add' "$TMPD/sg.out")
	v=$(mx_val "$t" "synguard_handshake_seconds_sum{port=\"$MX_SRV_PORT\",half=\"syn_synack\"}")
	# (the metric is seconds with 6 decimals: compared in whole microseconds, as
	# 0.000123 * 10^6 is 122.99999999999999 in floating point)
	[[ $(awk -v a="$v" -v b="$ms" 'BEGIN { print (sprintf("%.0f", a * 1000000) == sprintf("%.0f", b)) ? "eq" : "ne" }') == eq ]] ||
		fail "handshake sum $v s, the JSON's rtt_syn_us add up to $ms us"
	info "handshake syn_synack: $cnt observations, sum ${v}s; $(grep -c . <<<"$t") lines"
	# OpenMetrics when asked for
	om=$(mx_scrape -H 'Accept: application/openmetrics-text; version=1.0.0; charset=utf-8' -D "$TMPD/h") ||
		fail "OpenMetrics scrape failed"
	grep -qi '^content-type: application/openmetrics-text; version=1.0.0' "$TMPD/h" ||
		fail "OpenMetrics content type: $(grep -i content-type "$TMPD/h")"
	[[ $(tail -n1 <<<"$om") == "# EOF" ]] || fail "OpenMetrics text does not end with # EOF"
	grep -q '^# TYPE synguard_packets counter$' <<<"$om" || fail "OpenMetrics counter family name"
	grep -q '^# TYPE synguard_packets_total counter$' <<<"$t" || fail "text format counter family name"
	# only GET/HEAD, only /metrics
	[[ $(srv curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MX_PORT/metrics") == 405 ]] ||
		fail "POST not refused"
	[[ $(srv curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MX_PORT/nope") == 404 ]] ||
		fail "unknown path not 404"
	sg_stop
	assert_detached
	return 0
}

# A taken port: refused at start, nothing attached.
test_metrics_port_taken() {
	mx_need
	ns_setup
	# (not through srv(): $! must be the server itself, which ns_cleanup kills)
	ip netns exec sg_srv "$TCPKIT" server --listen 127.0.0.1 --port $MX_PORT --timeout 30 >/dev/null 2>&1 &
	BG_PIDS+=($!)
	wait_until 5 srv bash -c "exec 3<>/dev/tcp/127.0.0.1/$MX_PORT"
	srv "$SG" --json --metrics 127.0.0.1:$MX_PORT sgs0 >"$TMPD/sg.out" 2>"$TMPD/sg.err" &&
		fail "synguard started with its metrics port taken"
	grep -q "cannot listen" "$TMPD/sg.err" || fail "no message: $(cat "$TMPD/sg.err")"
	assert_detached
	"$SG" --metrics '1.2.3.4.5:9' lo >/dev/null 2>&1
	(($? == 2)) || fail "a bad --metrics address is not a usage error"
	return 0
}
