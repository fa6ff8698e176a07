#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# A real Prometheus scrapes synguard: both run in sg_srv (Prometheus on
# 127.0.0.1 there, scraping synguard's --metrics on 127.0.0.1 every
# second), synguard protects a port under a bounded SYN flood from sg_cli
# (cookie.sh's setup: spoofed sources routed back to sg_cli, whose veth
# drops the answers), and the test reads Prometheus' HTTP API: what
# Prometheus stored must be what synguard says in its own exit summary.
# Nothing leaves the test's namespaces.
# Helpers are prefixed pm_ (only test_* are run).

source "$SG_ROOT/tests/integration/cookie.sh"	# ck_setup, ck_client, ck_kv

PM_METRICS=9464
PM_PROM=9090
PM_PLAIN=8081		# an unprotected port: handshakes the tracker times
PM_FLOOD_PPS=2000	# modest: this tests the numbers, not the capacity

# pm_query PROMQL: the first result's value ("" if none).
pm_query() {
	srv curl -sf --max-time 5 "http://127.0.0.1:$PM_PROM/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty'
}

pm_ready() {
	[[ $(srv curl -sf --max-time 2 "http://127.0.0.1:$PM_PROM/-/ready" 2>/dev/null) == *Ready* ]] && return 0
	kill -0 "$PM_PID" 2>/dev/null || { tail -n 20 "$TMPD/prom.log"; fail "prometheus exited"; }
	return 1
}

# pm_scraped_after EPOCH_S: Prometheus has a synguard sample newer than EPOCH_S.
pm_scraped_after() {
	local ts
	ts=$(pm_query 'timestamp(synguard_up)')
	[[ -n $ts ]] && awk -v a="$ts" -v b="$1" 'BEGIN { exit !(a > b) }'
}

# pm_server PORT: tcpkit server in sg_srv (not through srv() as ck_server
# does: $! must be the server itself, which ns_cleanup kills).
pm_server() {
	ip netns exec sg_srv timeout 200 "$TCPKIT" server --listen 0.0.0.0 --port "$1" --timeout 180 \
		--ready-file "$TMPD/ready.$1" >>"$TMPD/server.out" 2>&1 &
	BG_PIDS+=($!)
	wait_until 5 test -e "$TMPD/ready.$1"
}

test_prometheus_scrapes_synguard() {
	local sent_prom sent_sum hs n=10 t_end out up
	command -v prometheus >/dev/null || skip "prometheus not installed (tests/deps.sh installs it)"
	command -v curl >/dev/null || skip "curl not installed"
	ck_setup
	pm_server $CK_PORT
	pm_server $PM_PLAIN
	ck_sg_start 120 --mode protect --ports $CK_PORT --metrics 127.0.0.1:$PM_METRICS

	cat >"$TMPD/prom.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  scrape_timeout: 1s
	scrape_configs:
	  - job_name: synguard
	    static_configs:
	      - targets: ["127.0.0.1:$PM_METRICS"]
	EOF
	ip netns exec sg_srv timeout 250 prometheus --config.file="$TMPD/prom.yml" --storage.tsdb.path="$TMPD/tsdb" \
		--web.listen-address=127.0.0.1:$PM_PROM --log.level=warn >"$TMPD/prom.log" 2>&1 &
	PM_PID=$!
	BG_PIDS+=($PM_PID)
	wait_until 30 pm_ready
	wait_until 10 pm_scraped_after 0
	up=$(pm_query 'up{job="synguard"}')
	expect_eq "$up" 1 "Prometheus' up for synguard"

	# timed handshakes on the unprotected port, then the flood on the protected one
	out=$(cli timeout 60 "$TCPKIT" client --connect $SRV4 --port $PM_PLAIN --count $n 2>/dev/null | tail -n1)
	[[ $(ck_kv reply_ok "$out") == "$n" ]] || fail "clients to $PM_PLAIN: $out"
	cli timeout 30 "$FLOOD" -i sgc0 --dst $SRV4 --dport $CK_PORT --src 10.99.0.0/16 \
		--dst-mac "$CK_SMAC" --count $((PM_FLOOD_PPS * 4)) --duration 4 --rate $PM_FLOOD_PPS \
		>"$TMPD/flood" 2>&1 || fail "synflood: $(cat "$TMPD/flood")"
	out=$(ck_client $SRV4 --count 5)
	[[ $(ck_kv reply_ok "$out") == 5 ]] || fail "legitimate clients through the cookies: $out"
	# nothing is sent any more: one scrape after this holds the final count
	t_end=$(date +%s.%N)
	sleep 0.2
	wait_until 10 pm_scraped_after "$t_end"
	sent_prom=$(pm_query "sum(synguard_cookies_total{job=\"synguard\",port=\"$CK_PORT\",result=\"sent\"})")
	# (with --ports the histograms' ports are that list, so $PM_PLAIN counts under "other")
	hs=$(pm_query 'synguard_handshake_seconds_count{port="other",half="syn_synack"}')
	info "Prometheus: cookies sent $sent_prom, handshake histogram count (port other) $hs, p99 syn_synack $(pm_query 'histogram_quantile(0.99, rate(synguard_handshake_seconds_bucket{port="other",half="syn_synack"}[1m]))') s"
	sg_stop
	sent_sum=$(jq -r --argjson p $CK_PORT 'select(.type=="cookie_summary" and .dport==$p) | .sent' "$TMPD/sg.out")
	info "synguard's exit summary: cookies sent to $CK_PORT $sent_sum (counter cookies_sent $(summary cookies_sent))"
	[[ -n $sent_prom && -n $sent_sum ]] || fail "no value: Prometheus '$sent_prom', summary '$sent_sum'"
	((sent_sum >= PM_FLOOD_PPS * 4)) || fail "the flood's $((PM_FLOOD_PPS * 4)) SYNs got only $sent_sum cookies"
	expect_eq "$sent_prom" "$sent_sum" "cookies sent: Prometheus' last scrape vs synguard's summary"
	expect_eq "$hs" "$n" "handshakes observed on port $PM_PLAIN (port=\"other\")"
	return 0
}
