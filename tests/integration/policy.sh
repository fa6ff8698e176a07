#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# --deny and --allow end to end (issue 13): synguard --mode protect on the
# server veth, a second client address (10.210.0.3) so that one client
# namespace holds an allowed and a denied source, the project's flood
# generator with spoofed sources 10.99.0.0/16 (cookie.sh's setup: the
# client veth drops, at XDP, the SYN-ACKs to them). Helpers are prefixed
# pol_ (only test_* are run); cookie.sh's ck_ helpers are reused.

source "$(dirname "${BASH_SOURCE[0]}")/cookie.sh"

POL_CLI2=10.210.0.3	# the second client address: denied in the tests

pol_setup() {
	ck_setup
	ip -n sg_cli addr add $POL_CLI2/24 dev sgc0 || fail "cannot add $POL_CLI2 to sgc0"
	ck_server --listen 0.0.0.0 --backlog 128
}

# pol_records N: synguard printed at least N "policy" records
pol_records() {
	(($(grep -c '"type":"policy"' "$TMPD/sg.out") >= $1))
}

# pol_last KEY: a key of the last "policy" record
pol_last() {
	jq -r --arg k "$1" 'select(.type=="policy") | .[$k]' "$TMPD/sg.out" | tail -n1
}

# ---- under a bounded flood: the allowed client 100 %, the denied one 0 % ----
test_policy_allow_deny_under_flood() {
	local fl out ok den
	pol_setup
	printf '# denied\n%s\n' $POL_CLI2 >"$TMPD/deny.txt"
	ck_sg_start 60 --mode protect --ports $CK_PORT --allow $CLI4 --deny @"$TMPD/deny.txt" --deny 10.98.0.0/16
	wait_until 10 pol_records 1
	[[ $(pol_last deny) == 2 && $(pol_last allow) == 1 ]] || fail "policy record: $(grep '"policy"' "$TMPD/sg.out")"
	cli timeout 60 taskset -c 1 "$FLOOD" -i sgc0 --dst $SRV4 --dport $CK_PORT --src 10.99.0.0/16 \
		--dst-mac "$CK_SMAC" --count 2000000 --duration 10 --rate 100000 \
		>"$TMPD/flood.out" 2>"$TMPD/flood.err" &
	fl=$!
	sleep 1
	out=$(ck_client $SRV4 --bind $CLI4 --count 200 --parallel 4 --connect-timeout-ms 1000 --timeout 60)
	ok=$(ck_kv reply_ok "$out")
	den=$(ck_client $SRV4 --bind $POL_CLI2 --count 10 --connect-timeout-ms 200 --timeout 30)
	wait $fl
	sg_stop
	info "allowed client $CLI4: $ok/200 under a $(grep -o '"pps":[0-9.]*' "$TMPD/flood.out" | cut -d: -f2) pps SYN flood (connect p99 $(ck_kv connect_p99_ms "$out") ms); denied client $POL_CLI2: $(ck_kv reply_ok "$den")/10"
	info "summary: cookies_sent=$(summary cookies_sent) handoffs=$(summary handoffs) drop_denied=$(summary drop_denied)"
	((ok == 200)) || fail "the allowed client: only $ok/200 connections: $out"
	(($(ck_kv reply_ok "$den") == 0 && $(ck_kv connected "$den") == 0)) || fail "the denied client connected: $den"
	(($(summary cookies_sent) > 0)) || fail "no cookies sent: the flood was not answered by synguard"
	# the allowed client's handshakes were the kernel's, never a cookie's
	(($(summary handoffs) == 0)) || fail "$(summary handoffs) cookie handoffs: the allowed client got cookies"
	# each of the denied client's SYNs (10 connections, retransmitted) was dropped
	(($(summary drop_denied) >= 10)) || fail "drop_denied $(summary drop_denied) < 10"
	return 0
}

# ---- SIGHUP: lists re-read and swapped while connections go on ----
test_policy_sighup_reload() {
	local cl out i n=1 good='# allowed
10.210.0.2   # the client
fd00:210::/64'
	pol_setup
	echo "$good" >"$TMPD/allow.txt"
	echo "10.97.0.0/16" >"$TMPD/deny.txt"
	ck_sg_start 120 --mode protect --ports $CK_PORT --allow @"$TMPD/allow.txt" --deny @"$TMPD/deny.txt"
	wait_until 10 pol_records 1
	# 10.210.0.3 is on no list: it connects (through cookies)
	out=$(ck_client $SRV4 --bind $POL_CLI2 --count 2 --timeout 10)
	(($(ck_kv reply_ok "$out") == 2)) || fail "10.210.0.3 before it is denied: $out"
	# 200 sequential connections from the allowed client while the lists
	# are reloaded; the allow list drops and takes back the client, so
	# handshakes cross a swap both ways (kernel's SYN-ACK, then no longer
	# allowed; a cookie, then allowed)
	cli timeout 120 "$TCPKIT" client --connect $SRV4 --port $CK_PORT --bind $CLI4 --count 200 --interval-ms 20 \
		--timeout 100 >"$TMPD/steady.out" 2>/dev/null &
	cl=$!
	# (reloads until the client is done: each one meets traffic)
	i=0
	while kill -0 $cl 2>/dev/null || ((i < 4)); do
		i=$((i + 1))
		if ((i % 2)); then
			echo "fd00:210::/64" >"$TMPD/allow.txt"
			printf '10.97.0.0/16\n%s\n' $POL_CLI2 >"$TMPD/deny.txt"
		else
			echo "$good" >"$TMPD/allow.txt"
		fi
		kill -HUP "$SG_PID"
		n=$((n + 1))
		wait_until 20 pol_records $n
		sleep 0.1
	done
	# a bad line: the loaded lists stay, one line says where
	printf '10.1.2.3\nnot-an-address\n' >"$TMPD/deny.txt"
	kill -HUP "$SG_PID"
	wait_until 10 grep -q "deny.txt:2: invalid address or CIDR 'not-an-address'" "$TMPD/sg.err"
	wait $cl
	out=$(tail -n1 "$TMPD/steady.out")
	info "steady client during $i reloads: $(ck_kv reply_ok "$out")/200, connect max $(ck_kv connect_max_ms "$out") ms"
	(($(ck_kv reply_ok "$out") == 200 && $(ck_kv failed "$out") == 0)) || fail "connections lost: $out"
	# 10.210.0.3 is denied now (the last good deny list), still after the failed reload
	out=$(ck_client $SRV4 --bind $POL_CLI2 --count 2 --connect-timeout-ms 200 --timeout 10)
	(($(ck_kv reply_ok "$out") == 0)) || fail "10.210.0.3 after the reload denied it: $out"
	kill -0 "$SG_PID" || fail "synguard exited on SIGHUP"
	sg_stop
	[[ $(pol_last deny) == 2 && $(pol_last loads) == $n ]] ||
		fail "last policy record: $(grep '"policy"' "$TMPD/sg.out" | tail -n1)"
	grep -q '1 failed reloads' "$TMPD/sg.err" || fail "the failed reload was not counted: $(cat "$TMPD/sg.err")"
	return 0
}

# ---- a 1,000,000-entry list loads (and the data path works with it) ----
test_policy_million_entries() {
	local out
	pol_setup
	# 1,000,000 distinct /32s in 10.0.0.0/8 minus 10.210/16 (and a comment)
	awk 'BEGIN { print "# a million"; for (i = 0; i < 1000000; i++) {
		a = 1 + int(i / 65536); if (a >= 210) a++
		printf "10.%d.%d.%d\n", a, int(i / 256) % 256, i % 256 } }' >"$TMPD/million.txt"
	ck_sg_start 120 --mode protect --ports $CK_PORT --deny @"$TMPD/million.txt"
	wait_until 60 pol_records 1
	(($(pol_last deny) == 1000000)) || fail "policy record: $(grep '"policy"' "$TMPD/sg.out")"
	info "1,000,000 /32s: built and swapped in $(pol_last load_s) s"
	out=$(ck_client $SRV4 --count 20 --timeout 30)
	(($(ck_kv reply_ok "$out") == 20)) || fail "a client on no list: $out"
	kill -HUP "$SG_PID"
	wait_until 60 pol_records 2
	info "reloaded in $(pol_last load_s) s"
	sg_stop
	return 0
}
