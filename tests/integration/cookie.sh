#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# SYN cookies end to end: synguard --mode protect|auto on the server veth,
# an unmodified server (tcpkit server: plain listen/accept), real kernel
# clients, the project's own flood generator, in lib.sh's namespaces (the
# flood from sg_cli with spoofed sources 10.99.0.0/16, routed back there).
# Helpers are prefixed ck_ (only test_* are run).

CK_PORT=8080

# The namespaces of lib.sh, with the flood's extras: the client veth drops,
# at XDP, the SYN-ACKs that answer the spoofed sources (10.99.0.0/16: on a
# real network they would leave for those hosts), and its receive path runs
# in its own kthread at real-time priority on the generator's CPU (as in
# make bench), so the flood's returning SYN-ACKs cannot starve the
# legitimate client's (best effort).
ck_setup() {
	local np
	for t in "$SG" "$TCPKIT" "$FLOOD" "$SG_ROOT/build/xdp_sink.bpf.o"; do
		[[ -e $t ]] || skip "missing $t (make)"
	done
	command -v jq >/dev/null || skip "jq not installed"
	NS_PEER_XDP=$SG_ROOT/build/xdp_sink.bpf.o ns_setup
	if cli sh -c 'echo 1 > /sys/class/net/sgc0/threaded' 2>/dev/null; then
		np=$(ps -eo pid,comm --sort=start_time | awk 'index($2, "napi/sgc0-") == 1 {print $1}' | tail -n1)
		[[ -n $np ]] && taskset -pc 1 "$np" >/dev/null 2>&1 && chrt -f -p 10 "$np" >/dev/null 2>&1
	fi
	ip -n sg_srv route add 10.99.0.0/16 via $CLI4
	srv sysctl -qw net.ipv4.tcp_syncookies=1
	CK_SMAC=$(ip -n sg_srv -j link show sgs0 | jq -r '.[0].address')
}

# ck_sg_start DURATION ARGS...: synguard --json -q on sgs0 (lib.sh's sg_start), at most DURATION s.
ck_sg_start() {
	local dur=$1
	shift
	sg_start -q --duration "$dur" "$@"
}

# ck_server ARGS...: tcpkit server in sg_srv on CK_PORT (background).
# (tcpkit's "::" listener is IPv6-only: use one server per family.)
ck_server() {
	local ready=$TMPD/ready.$RANDOM
	srv timeout 200 "$TCPKIT" server --port $CK_PORT --ready-file "$ready" --timeout 180 "$@" \
		>>"$TMPD/server.out" 2>&1 &
	BG_PIDS+=($!)
	for _ in $(seq 50); do [[ -e $ready ]] && return 0; sleep 0.1; done
	fail "tcpkit server did not start: $(cat "$TMPD/server.out")"
}

# ck_client ADDR ARGS...: prints the client's JSON line.
ck_client() {
	local addr=$1
	shift
	cli timeout 120 "$TCPKIT" client --connect "$addr" --port $CK_PORT "$@" 2>/dev/null | tail -n1
}

ck_kv() { jq -r ".$1" <<<"$2"; }

# ---- (a) handoff: real clients through cookies, IPv4/IPv6, TS on/off ----
test_cookie_handoff() {
	local out n ts
	ck_setup
	ck_server --listen 0.0.0.0
	ck_server --listen ::
	ck_sg_start 60 --mode protect --ports $CK_PORT
	n=0
	for ts in 1 0; do
		cli sysctl -qw net.ipv4.tcp_timestamps=$ts
		for addr in $SRV4 $SRV6; do
			out=$(ck_client $addr --count 20 --parallel 4)
			[[ $(ck_kv reply_ok "$out") == 20 && $(ck_kv failed "$out") == 0 ]] ||
				fail "clients to $addr (client tcp_timestamps=$ts): $out"
			echo "info: $addr timestamps=$ts: 20/20 connections exchanged data, p99 connect $(ck_kv connect_p99_ms "$out") ms"
			n=$((n + 20))
		done
	done
	sg_stop
	local sent valid hand fail
	sent=$(summary cookies_sent) valid=$(summary cookies_valid) hand=$(summary handoffs) fail=$(summary handoff_failed)
	echo "info: cookies_sent=$sent cookies_valid=$valid handoffs=$hand handoff_failed=$fail"
	((sent >= n)) || fail "cookies_sent $sent < $n connections"
	((hand >= n)) || fail "handoffs $hand < $n connections"
	((valid >= n)) || fail "cookies_valid $valid < $n"
	((fail == 0)) || fail "handoff_failed $fail"
	grep -q '"type":"cookie"' "$TMPD/sg.out" || fail "no per-port cookie events"
	return 0
}

# ---- (b) SYN flood: legitimate success with and without synguard ----
ck_flood_run() {
	# ck_flood_run LABEL: bounded spoofed SYN flood + 200 legit clients; prints success %.
	local label=$1 fl out ok
	# one generator thread at full speed on CPU 1 (two would leave no CPU to
	# the legitimate client on this 2-CPU class of machine)
	cli timeout 60 taskset -c 1 "$FLOOD" -i sgc0 --dst $SRV4 --dport $CK_PORT --src 10.99.0.0/16 \
		--dst-mac "$CK_SMAC" --count 20000000 --duration 12 >"$TMPD/flood.$label" 2>"$TMPD/flood.$label.err" &
	fl=$!
	sleep 2
	out=$(ck_client $SRV4 --count 200 --parallel 4 --connect-timeout-ms 1000 --timeout 60)
	wait $fl
	ok=$(ck_kv reply_ok "$out")
	echo "$ok $(grep -o '"pps":[0-9.]*' "$TMPD/flood.$label" | cut -d: -f2)"
}

test_cookie_flood() {
	local r ok pps
	ck_setup
	ck_server --listen 0.0.0.0 --backlog 128
	# kernel alone (its own SYN cookies), same flood: printed, not asserted
	r=$(ck_flood_run nosg)
	read -r ok pps <<<"$r"
	echo "info: without synguard: $ok/200 legitimate connections succeeded during a ${pps} pps SYN flood"
	ck_sg_start 60 --mode protect --ports $CK_PORT
	r=$(ck_flood_run sg)
	read -r ok pps <<<"$r"
	sg_stop
	echo "info: with synguard: $ok/200 legitimate connections succeeded during a ${pps} pps SYN flood (cookies_sent $(summary cookies_sent), handoffs $(summary handoffs))"
	((ok >= 198)) || fail "only $ok/200 legitimate connections succeeded under the flood"
	return 0
}

# ---- (c) ACK flood with random cookies: dropped at XDP ----
ck_netstat() {
	# ck_netstat FIELD: TcpExt/Tcp counter in sg_srv
	srv awk -v f="$1" '
		/^(TcpExt|Tcp):/ { if (!n[$1]) { for (i = 2; i <= NF; i++) h[$1, i] = $i; n[$1] = 1 }
				   else for (i = 2; i <= NF; i++) if (h[$1, i] == f) print $i }' \
		/proc/net/netstat /proc/net/snmp
}

test_cookie_ackflood() {
	local n=200000 before_in before_fail after_in after_fail drops
	ck_setup
	ck_server --listen 0.0.0.0
	ck_sg_start 60 --mode protect --ports $CK_PORT
	before_in=$(ck_netstat InSegs) before_fail=$(ck_netstat SyncookiesFailed)
	cli timeout 60 "$FLOOD" -i sgc0 --mode ack --dst $SRV4 --dport $CK_PORT --src 10.99.0.0/16 \
		--dst-mac "$CK_SMAC" --count $n --duration 20 >"$TMPD/flood" 2>&1 ||
		fail "synflood: $(cat "$TMPD/flood")"
	sleep 0.5
	after_in=$(ck_netstat InSegs) after_fail=$(ck_netstat SyncookiesFailed)
	# a legitimate client still works
	out=$(ck_client $SRV4 --count 5)
	[[ $(ck_kv reply_ok "$out") == 5 ]] || fail "legit clients after the ACK flood: $out"
	sg_stop
	drops=$(summary drop_bad_cookie)
	echo "info: ACK flood of $n: drop_bad_cookie=$drops, server InSegs +$((after_in - before_in)), SyncookiesFailed +$((after_fail - before_fail))"
	((drops >= n * 99 / 100)) || fail "only $drops of $n flood ACKs dropped at XDP"
	((after_in - before_in < n / 100)) || fail "server InSegs grew by $((after_in - before_in))"
	((after_fail - before_fail < n / 100)) || fail "server SyncookiesFailed grew by $((after_fail - before_fail))"
	return 0
}

# ---- (d) closed ports still get RST (protect mode, no --ports) ----
test_cookie_closed_port() {
	local out t0 t1
	ck_setup
	ck_server --listen 0.0.0.0
	ck_sg_start 30 --mode protect
	out=$(ck_client $SRV4 --count 5)
	[[ $(ck_kv reply_ok "$out") == 5 ]] || fail "listener port through listener-mode cookies: $out"
	t0=$(date +%s%N)
	out=$(cli timeout 10 "$TCPKIT" client --connect $SRV4 --port 8081 --connect-timeout-ms 2000 2>/dev/null | tail -n1)
	t1=$(date +%s%N)
	sg_stop
	[[ $(ck_kv reply_ok "$out") == 0 ]] || fail "connect to a closed port succeeded: $out"
	[[ $(ck_kv timeouts "$out") == 0 ]] || fail "closed port: connect timed out instead of RST: $out"
	(((t1 - t0) / 1000000 < 1000)) || fail "closed port: refusal took $(((t1 - t0) / 1000000)) ms"
	echo "info: closed port refused in $(((t1 - t0) / 1000000)) ms; cookies_sent=$(summary cookies_sent) handoffs=$(summary handoffs)"
	(($(summary handoffs) >= 5)) || fail "listener-mode handoffs $(summary handoffs) < 5"
	return 0
}

# ---- (e) auto mode: cookies only during a flood, alerts both ways ----
test_cookie_auto() {
	local out on off
	ck_setup
	ck_server --listen 0.0.0.0
	ck_sg_start 40 --mode auto --ports $CK_PORT --syn-threshold 2000
	out=$(ck_client $SRV4 --count 10)
	[[ $(ck_kv reply_ok "$out") == 10 ]] || fail "clients below threshold: $out"
	sleep 1.5
	cli timeout 30 "$FLOOD" -i sgc0 --dst $SRV4 --dport $CK_PORT --src 10.99.0.0/16 \
		--dst-mac "$CK_SMAC" --count 2000000 --duration 5 --rate 50000 >"$TMPD/flood" 2>&1 &
	BG_PIDS+=($!)
	sleep 3
	out=$(ck_client $SRV4 --count 20 --parallel 4)
	[[ $(ck_kv reply_ok "$out") == 20 ]] || fail "clients during the flood: $out"
	sleep 8	# flood ends, 3 s below threshold/2, then off
	out=$(ck_client $SRV4 --count 5)
	sg_stop
	on=$(jq -c 'select(.type=="alert" and .alert=="cookies_on")' "$TMPD/sg.out" | head -n1)
	off=$(jq -c 'select(.type=="alert" and .alert=="cookies_off")' "$TMPD/sg.out" | head -n1)
	[[ -n $on ]] || fail "no cookies_on alert"
	[[ -n $off ]] || fail "no cookies_off alert"
	echo "info: $on"
	echo "info: $off"
	[[ $(ck_kv reply_ok "$out") == 5 ]] || fail "clients after cookies went off: $out"
	(($(summary handoffs) >= 20)) || fail "handoffs $(summary handoffs) < 20 during the flood"
	return 0
}
