#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Flow tracking on real kernel TCP: the client runs in sg_cli, the server in
# sg_srv, synguard is attached to sgs0. Each test asserts the JSON transition
# sequence PER SIDE (docs/states.md, the transition table), plus a differential
# test against the kernel's own sock:inet_sock_set_state tracepoint and a
# bounded SYN flood with an established flow living through it.
#
# Helpers below are prefixed tr_ (only test_* functions are run).

# tr_jq ARGS...: jq over synguard's JSON output with a few helpers defined.
tr_jq() {
	jq "$@" "$TMPD/sg.out"
}

# tr_ports SERVER_PORT: the distinct client ports of state lines to SERVER_PORT.
tr_ports() {
	tr_jq -r --argjson dp "$1" 'select(.type=="state" and .dport==$dp) | .sport' | sort -un | paste -sd' ' -
}

# tr_port SERVER_PORT: the single client port seen for SERVER_PORT (waits up to
# 3 s for the first line; prints a message and returns 1 unless exactly one).
tr_port() {
	local p i
	for i in $(seq 15); do
		p=$(tr_ports "$1")
		[[ -n $p ]] && break
		sleep 0.2
	done
	[[ $p =~ ^[0-9]+$ ]] || { echo "expected exactly one flow to port $1, got client ports '$p'"; return 1; }
	echo "$p"
}

# tr_path SIDE SPORT [DPORT]: the side's path "FROM,TO1,TO2,..." (first from,
# then every to, in order). A line whose from is not the previous to is
# marked BREAK:<from>> so that the comparison fails.
tr_path() {
	local dp=${3:-0}
	jq -rs --arg side "$1" --argjson sp "$2" --argjson dp "$dp" '
		[.[] | select(.type=="state" and .side==$side and .sport==$sp and ($dp==0 or .dport==$dp))] as $l
		| if ($l|length)==0 then "" else
		  ([$l[0].from] + [range(0; $l|length) as $i
		    | (if $i>0 and $l[$i].from != $l[$i-1].to then "BREAK:" + $l[$i].from + ">" else "" end)
		      + $l[$i].to]) | join(",") end' "$TMPD/sg.out"
}

# tr_field SIDE SPORT TO FIELD: FIELD of the (last) line where SIDE entered TO.
tr_field() {
	tr_jq -r --arg side "$1" --argjson sp "$2" --arg to "$3" --arg f "$4" \
		'select(.type=="state" and .side==$side and .sport==$sp and .to==$to) | .[$f] // "none" | tostring' |
		tail -n1
}

# tr_wait SECS JQ-CONDITION [ARGS...]: poll until a JSON line matches (jq -e select).
tr_wait() {
	local secs=$1 cond=$2 end
	shift 2
	end=$((SECONDS + secs))
	while ((SECONDS <= end)); do
		[[ -n $(tr_jq -c "$@" "select($cond)" 2>/dev/null | head -n1) ]] && return 0
		sleep 0.2
	done
	return 1
}

# tr_wait_state SECS SIDE SPORT TO: wait for SIDE of flow SPORT entering TO.
tr_wait_state() {
	tr_wait "$1" '.type=="state" and .side==$side and .sport==$sp and .to==$to' \
		--arg side "$2" --argjson sp "$3" --arg to "$4"
}

# tr_expect_path SIDE SPORT EXPECTED
tr_expect_path() {
	local got
	got=$(tr_path "$1" "$2")
	[[ $got == "$3" ]] || { tr_dump; fail "$1 side of :$2: expected $3, got '$got'"; }
	info "$1 :$2 $got"
}

tr_dump() {
	tr_jq -c 'select(.type=="state") | [.side,.sport,.from,.to,.cause]' 2>/dev/null | tail -n 30 | sed 's/^/    /'
}

# tr_conn ADDR PORT MODE[/CLIENT_MODE] [server args...]: one connection, the
# server (--count 1) with --close MODE, the client with --close CLIENT_MODE
# (default MODE); the client's JSON line is in $TMPD/cli.out.
tr_conn() {
	local addr=$1 port=$2 smode=${3%/*} cmode=${3#*/}
	shift 3
	tcp_server --listen "$addr" --port "$port" --count 1 --close "$smode" "$@"
	cli timeout 20 "$TCPKIT" client --connect "$addr" --port "$port" --close "$cmode" >"$TMPD/cli.out" 2>&1 ||
		fail "client ($cmode) failed: $(cat "$TMPD/cli.out")"
}

CLIENT_CLOSES="CLOSED,SYN_SENT,ESTABLISHED,FIN_WAIT_1,FIN_WAIT_2,TIME_WAIT,CLOSED"
PASSIVE_CLOSE_SRV="LISTEN,SYN_RCVD,ESTABLISHED,CLOSE_WAIT,LAST_ACK,CLOSED"
PASSIVE_CLOSE_CLI="CLOSED,SYN_SENT,ESTABLISHED,CLOSE_WAIT,LAST_ACK,CLOSED"
ACTIVE_CLOSE_SRV="LISTEN,SYN_RCVD,ESTABLISHED,FIN_WAIT_1,FIN_WAIT_2,TIME_WAIT,CLOSED"

# Scenario 1 (and 6): client closes first; TIME_WAIT -> CLOSED after --time-wait 2.
tr_client_closes_first() {
	local addr=$1 port=$2 sp
	ns_setup
	sg_start --time-wait 2
	tr_conn "$addr" "$port" client
	sp=$(tr_port "$port") || fail "$sp"
	tr_wait_state 5 server "$sp" CLOSED || { tr_dump; fail "server side never reached CLOSED"; }
	tr_wait_state 6 client "$sp" TIME_WAIT || { tr_dump; fail "client side never reached TIME_WAIT"; }
	# TIME_WAIT lasts --time-wait 2 (sweeper every 0.5 s): CLOSED within ~3 s
	tr_wait 5 '.type=="state" and .side=="client" and .sport==$sp and .from=="TIME_WAIT"' --argjson sp "$sp" ||
		{ tr_dump; fail "client TIME_WAIT never expired (--time-wait 2)"; }
	sleep 0.6	# anything extra would show up now
	sg_stop
	tr_expect_path client "$sp" "$CLIENT_CLOSES"
	tr_expect_path server "$sp" "$PASSIVE_CLOSE_SRV"
	expect_eq "$(tr_field client "$sp" CLOSED cause)" timeout "client TIME_WAIT->CLOSED cause"
	expect_eq "$(tr_field server "$sp" CLOSED cause)" ACK "server LAST_ACK->CLOSED cause"
	expect_eq "$(tr_field server "$sp" CLOSED closed_by)" "client FIN" "closed_by"
	expect_eq "$(tr_field client "$sp" FIN_WAIT_1 cause)" FIN "client FIN_WAIT_1 cause"
	# addresses: the client is always saddr
	expect_eq "$(tr_jq -r --argjson sp "$sp" 'select(.type=="state" and .sport==$sp) | "\(.saddr)>\(.daddr):\(.dport)"' |
		sort -u)" "$CLI_ADDR>$addr:$port" "addresses (client on the left)"
	local rtt
	rtt=$(tr_field client "$sp" ESTABLISHED rtt_syn_us)
	[[ $rtt =~ ^[0-9]+$ ]] || fail "no rtt_syn_us on the client's ESTABLISHED line: $rtt"
	[[ $(tr_field client "$sp" ESTABLISHED midstream) == none ]] || fail "a handshake flow marked midstream"
}

test_track_client_closes_first() {
	CLI_ADDR=$CLI4 tr_client_closes_first $SRV4 8090
}

test_track_ipv6_client_closes_first() {
	CLI_ADDR=$CLI6 tr_client_closes_first $SRV6 8096
	expect_eq "$(tr_jq -r 'select(.type=="state") | .family' | sort -u)" 6 "family"
}

# Scenario 2: server closes first (the mirror).
test_track_server_closes_first() {
	local sp
	ns_setup
	sg_start --time-wait 2
	tr_conn $SRV4 8091 server
	sp=$(tr_port 8091) || fail "$sp"
	tr_wait_state 5 client "$sp" CLOSED || { tr_dump; fail "client side never reached CLOSED"; }
	tr_wait 6 '.type=="state" and .side=="server" and .sport==$sp and .from=="TIME_WAIT"' --argjson sp "$sp" ||
		{ tr_dump; fail "server TIME_WAIT never expired (--time-wait 2)"; }
	sleep 0.6
	sg_stop
	tr_expect_path client "$sp" "$PASSIVE_CLOSE_CLI"
	tr_expect_path server "$sp" "$ACTIVE_CLOSE_SRV"
	expect_eq "$(tr_field server "$sp" CLOSED cause)" timeout "server TIME_WAIT->CLOSED cause"
	expect_eq "$(tr_field client "$sp" CLOSED closed_by)" "server FIN" "closed_by"
}

# Scenario 3: refused (RST to the SYN): client SYN_SENT -> CLOSED (RST), no server lines.
test_track_refused() {
	local sp out
	ns_setup
	sg_start
	out=$(cli timeout 10 "$TCPKIT" client --connect $SRV4 --port 8099 2>&1) &&
		fail "connect to a port without listener succeeded: $out"
	sp=$(tr_port 8099) || fail "$sp"
	tr_wait_state 3 client "$sp" CLOSED || { tr_dump; fail "client side never reached CLOSED"; }
	sleep 0.5
	sg_stop
	tr_expect_path client "$sp" "CLOSED,SYN_SENT,CLOSED"
	expect_eq "$(tr_field client "$sp" CLOSED cause)" RST "refusal cause"
	expect_eq "$(tr_field client "$sp" CLOSED closed_by)" "server RST" "closed_by"
	expect_eq "$(tr_path server "$sp")" "" "server lines for a refused SYN"
}

# Scenario 4: abort with SO_LINGER {1,0}: both ESTABLISHED -> CLOSED (RST).
# tr_abort PORT MODES WHO: WHO (client|server) is the only side with linger0.
tr_abort() {
	local port=$1 modes=$2 who=$3 sp side
	ns_setup
	sg_start
	tr_conn $SRV4 "$port" "$modes"
	[[ $who == server ]] && { grep -q '"resets":1' "$TMPD/cli.out" || fail "client saw no RST: $(cat "$TMPD/cli.out")"; }
	sp=$(tr_port "$port") || fail "$sp"
	tr_wait_state 3 server "$sp" CLOSED || { tr_dump; fail "server side never reached CLOSED"; }
	tr_wait_state 3 client "$sp" CLOSED || { tr_dump; fail "client side never reached CLOSED"; }
	sleep 0.5
	sg_stop
	tr_expect_path client "$sp" "CLOSED,SYN_SENT,ESTABLISHED,CLOSED"
	tr_expect_path server "$sp" "LISTEN,SYN_RCVD,ESTABLISHED,CLOSED"
	for side in client server; do
		expect_eq "$(tr_field $side "$sp" CLOSED cause)" RST "$side abort cause"
		expect_eq "$(tr_field $side "$sp" CLOSED closed_by)" "$who RST" "$side closed_by"
	done
}

test_track_abort_linger0_client() {
	tr_abort 8092 client/linger0 client
}

test_track_abort_linger0_server() {
	tr_abort 8089 linger0/server server
}

# Scenario 5: half-close: the server keeps sending in CLOSE_WAIT (5 x 100 B,
# 150 ms apart), then closes. Its CLOSE_WAIT spans the data, nothing extra.
test_track_halfclose_close_wait_data() {
	local sp span bytes
	ns_setup
	sg_start --time-wait 1
	tr_conn $SRV4 8093 halfclose --hc-writes 5 --hc-bytes 100 --hc-interval-ms 150
	bytes=$(jq -r .halfclose_bytes "$TMPD/cli.out" | tail -n1)
	expect_eq "$bytes" 500 "bytes the client received after its FIN"
	sp=$(tr_port 8093) || fail "$sp"
	tr_wait 5 '.type=="state" and .side=="client" and .sport==$sp and .from=="TIME_WAIT"' --argjson sp "$sp" ||
		{ tr_dump; fail "client TIME_WAIT never expired"; }
	sleep 0.5
	sg_stop
	tr_expect_path client "$sp" "$CLIENT_CLOSES"
	tr_expect_path server "$sp" "$PASSIVE_CLOSE_SRV"
	# the server sat in CLOSE_WAIT while its 5 writes (>= 4 x 150 ms) went out
	span=$(jq -rs --argjson sp "$sp" '
		def secs: (.ts[0:19]+"Z"|fromdate) + ("0"+.ts[19:-1]|tonumber);
		[.[] | select(.type=="state" and .side=="server" and .sport==$sp)] as $l
		| (($l[] | select(.to=="LAST_ACK") | secs) - ($l[] | select(.to=="CLOSE_WAIT") | secs)) * 1000 | floor' \
		"$TMPD/sg.out")
	((span >= 550)) || fail "server CLOSE_WAIT lasted ${span} ms, expected >= 550 (data flowing)"
	info "server in CLOSE_WAIT for ${span} ms while sending $bytes bytes"
}

# Scenario 7: a flow opened before synguard starts is picked up in
# ESTABLISHED ("midstream":true), then torn down normally.
test_track_midstream_before_attach() {
	local sp cpid n
	ns_setup
	tcp_server --listen $SRV4 --port 8094 --count 1 --close hold
	cli timeout 20 "$TCPKIT" client --connect $SRV4 --port 8094 --close hold --hold-ms 8000 >"$TMPD/cli.out" 2>&1 &
	cpid=$!
	for _ in $(seq 50); do
		n=$(cli ss -Htn state established '( dport = :8094 )' | wc -l)
		((n == 1)) && break
		sleep 0.1
	done
	((n == 1)) || fail "client connection not established"
	# (loading synguard takes a few seconds: the hold is long enough for it)
	sg_start --time-wait 1
	n=$(cli ss -Htn state established '( dport = :8094 )' | wc -l)
	((n == 1)) || fail "the connection ended before synguard was attached"
	wait $cpid || fail "client failed: $(cat "$TMPD/cli.out")"
	sp=$(tr_port 8094) || fail "$sp"
	tr_wait_state 5 server "$sp" CLOSED || { tr_dump; fail "server side never reached CLOSED"; }
	tr_wait 5 '.type=="state" and .side=="client" and .sport==$sp and .from=="TIME_WAIT"' --argjson sp "$sp" ||
		{ tr_dump; fail "client TIME_WAIT never expired"; }
	sleep 0.5
	sg_stop
	tr_expect_path client "$sp" "CLOSED,ESTABLISHED,FIN_WAIT_1,FIN_WAIT_2,TIME_WAIT,CLOSED"
	tr_expect_path server "$sp" "CLOSED,ESTABLISHED,CLOSE_WAIT,LAST_ACK,CLOSED"
	for side in client server; do
		expect_eq "$(tr_field $side "$sp" ESTABLISHED midstream)" true "$side ESTABLISHED midstream"
		expect_eq "$(tr_field $side "$sp" ESTABLISHED cause)" midstream "$side ESTABLISHED cause"
	done
	expect_eq "$(tr_jq -r --argjson sp "$sp" 'select(.type=="state" and .sport==$sp) | "\(.saddr)>\(.daddr):\(.dport)"' |
		sort -u)" "$CLI4>$SRV4:8094" "midstream roles (client on the left)"
}

# Scenario 8: TIME_WAIT expiry with --time-wait 1: cause timeout, 1-2 s later.
test_track_time_wait_expiry() {
	local sp dt
	ns_setup
	sg_start --time-wait 1
	tr_conn $SRV4 8095 client
	sp=$(tr_port 8095) || fail "$sp"
	tr_wait 4 '.type=="state" and .side=="client" and .sport==$sp and .from=="TIME_WAIT"' --argjson sp "$sp" ||
		{ tr_dump; fail "client TIME_WAIT never expired (--time-wait 1)"; }
	sg_stop
	tr_expect_path client "$sp" "$CLIENT_CLOSES"
	expect_eq "$(tr_field client "$sp" CLOSED cause)" timeout "TIME_WAIT->CLOSED cause"
	dt=$(jq -rs --argjson sp "$sp" '
		def secs: (.ts[0:19]+"Z"|fromdate) + ("0"+.ts[19:-1]|tonumber);
		[.[] | select(.type=="state" and .side=="client" and .sport==$sp)] as $l
		| (($l[] | select(.from=="TIME_WAIT") | secs) - ($l[] | select(.to=="TIME_WAIT") | secs)) * 1000 | floor' \
		"$TMPD/sg.out")
	((dt >= 1000 && dt <= 2000)) || fail "TIME_WAIT lasted ${dt} ms, expected 1000..2000 with --time-wait 1"
	info "TIME_WAIT -> CLOSED after ${dt} ms (--time-wait 1)"
}

# ---- differential test against the kernel -------------------------------

TR_TRACE=/sys/kernel/tracing

# Kernel tcp_set_state() names -> synguard states, for the SERVER socket
# (the accepted child; sport == server port, dport == client port):
#   TCP_SYN_RECV -> SYN_RCVD, TCP_ESTABLISHED -> ESTABLISHED,
#   TCP_FIN_WAIT1 -> FIN_WAIT_1, TCP_FIN_WAIT2 -> FIN_WAIT_2, TCP_CLOSING -> CLOSING,
#   TCP_CLOSE_WAIT -> CLOSE_WAIT, TCP_LAST_ACK -> LAST_ACK, TCP_CLOSE -> CLOSED,
#   TCP_LISTEN -> LISTEN.
# The kernel never reports TIME_WAIT for a full socket: tcp_time_wait() hands
# the connection to a timewait mini-socket and moves the full socket
# FIN_WAIT2 -> CLOSE (or CLOSING -> CLOSE); the mini-socket's end is not
# traced. So a FIN_WAIT2/CLOSING -> CLOSE line maps to TIME_WAIT,CLOSED (that
# CLOSED is synguard's 2MSL expiry). Any other X -> CLOSE is CLOSED. The
# child's first line is LISTEN -> SYN_RECV (emitted when the handshake ACK
# creates it; the request socket itself, TCP_NEW_SYN_RECV, is not traced),
# so its path starts "LISTEN", like synguard's server side.
tr_kernel_map() {
	awk '
	function m(s) {
		sub(/^TCP_/, "", s)
		if (s == "SYN_RECV") return "SYN_RCVD"
		if (s == "FIN_WAIT1") return "FIN_WAIT_1"
		if (s == "FIN_WAIT2") return "FIN_WAIT_2"
		if (s == "CLOSE") return "CLOSED"
		return s
	}
	{
		old = new = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^oldstate=/) old = substr($i, 10)
			if ($i ~ /^newstate=/) new = substr($i, 10)
		}
		if (path == "") path = m(old)
		# the kernel sometimes sets a state it is already in (a second
		# FIN in CLOSING): not a transition
		if (old == new) next
		if (new == "TCP_CLOSE" && (old == "TCP_FIN_WAIT2" || old == "TCP_CLOSING"))
			path = path ",TIME_WAIT,CLOSED"
		else
			path = path "," m(new)
	}
	END { print path }'
}

tr_trace_cleanup() {
	if [[ -n ${TR_INST:-} && -d $TR_INST ]]; then
		echo 0 >"$TR_INST/events/sock/inet_sock_set_state/enable" 2>/dev/null
		rmdir "$TR_INST" 2>/dev/null
	fi
	ns_cleanup
}

test_track_differential_kernel() {
	local port=8097 ev mode sp kpath spath n=0 ksp
	[[ -d $TR_TRACE/events ]] || mount -t tracefs nodev $TR_TRACE 2>/dev/null
	[[ -d $TR_TRACE/events/sock/inet_sock_set_state ]] || skip "no tracefs sock:inet_sock_set_state"
	TR_INST=$TR_TRACE/instances/sgtest_$$
	trap tr_trace_cleanup EXIT
	mkdir "$TR_INST" || skip "cannot create a tracefs instance"
	ev=$TR_INST/events/sock/inet_sock_set_state
	# the tracepoint is global (all namespaces): keep only this test's port
	echo "protocol == 6 && (sport == $port || dport == $port)" >"$ev/filter" || fail "tracepoint filter"
	echo 1 >"$ev/enable" || fail "cannot enable sock:inet_sock_set_state"
	ns_setup
	sg_start --time-wait 1
	# client closes, server closes, client aborts (RST), half-close, again
	for mode in client server client/linger0 halfclose client server; do
		tr_conn $SRV4 $port $mode
		sleep 0.3
	done
	# server-side TIME_WAITs (--close server) must expire in synguard too
	wait_until 5 tr_jq -se --argjson dp $port \
		'[.[] | select(.type=="state" and .side=="server" and .dport==$dp and .to=="CLOSED")] | length >= 6'
	sg_stop
	echo 0 >"$ev/enable"
	grep -v '^#' "$TR_INST/trace" >"$TMPD/ktrace"
	for sp in $(tr_ports $port); do
		n=$((n + 1))
		# the server's connected socket: sport == server port, dport == client port
		kpath=$(grep -E "sport=$port dport=$sp " "$TMPD/ktrace" | tr_kernel_map)
		spath=$(tr_path server "$sp" $port)
		info "client :$sp kernel  $kpath"
		info "client :$sp synguard $spath"
		[[ -n $kpath ]] || fail "no kernel trace for the server socket of :$sp"
		[[ $kpath == "$spath" ]] || fail "server side of :$sp differs: kernel '$kpath', synguard '$spath'"
	done
	((n == 6)) || fail "expected 6 connections, synguard saw $n"
	# and the kernel saw no more connections than synguard
	ksp=$(grep -oE "sport=$port dport=[1-9][0-9]* " "$TMPD/ktrace" | sort -u | wc -l)
	((ksp == 6)) || fail "kernel traced $ksp server sockets, expected 6"
}

# ---- loss after the interface: differential against the kernel, both sides --
#
# nftables drops chosen segments AFTER they crossed sgs0, where synguard saw
# them: server segments in sg_cli's input hook (past sgs0's TC egress),
# client segments in sg_srv's input hook (past sgs0's XDP). Each drop is
# one-shot, or gated on a later event, so the kernel recovers by
# retransmission and every connection completes.
#
# Ground truth: sock:inet_sock_set_state for BOTH sockets (the client's in
# sg_cli, sport = client port; the server's child in sg_srv, sport = server
# port), mapped as in tr_kernel_map. What is compared: each endpoint's
# sequence of states, synguard's against its kernel socket's, nothing else.
# The times legitimately differ, because synguard sees a segment before its
# loss: a client ack dropped in sg_srv still moves the server at once (an
# ack is taken to reach its receiver; the kernel moves on the resent one),
# and in the crossing-FIN case the client's FIN_WAIT_2 is reported only with
# the client's ack of the resent server FIN, the first moment the interface
# shows which of the two the client got first. TIME_WAIT's end is
# synguard's --time-wait timer (the kernel does not trace its mini-socket).
#
# Cases (server port, client port = server port + 32000; what is dropped; who
# closes):
#   synack   8110  sg_cli: the first SYN-ACK                  client first
#   hsack    8111  sg_srv: the handshake ACK                  client first
#   cfin     8112  sg_srv: the client's first FIN             client first
#   sfin     8113  sg_cli: every server FIN until the client  server first, the
#                  has sent its own                         client 300 ms later
#                  (the FINs cross: the reported bug; the kernel's paths are
#                  checked to be the crossing ones)
#   lastack  8114  sg_srv: the client's ack of the server's   client first
#                  FIN
#   data     8115  sg_cli: the server's first data (reply)    server first
#   sim      8116  nothing: a reference, the FINs cross       both at once
#                  unforced (simultaneous close)
TR_LOSS_CASES="synack:8110:client:client hsack:8111:client:client cfin:8112:client:client
	sfin:8113:server:hold lastack:8114:client:client data:8115:server:server
	sim:8116:simultaneous:simultaneous"

tr_loss_rules() {
	cli nft -f - <<-'NFT' || fail "nft rules in sg_cli"
	table inet sgloss {
		set once { type inet_service; flags dynamic; }	# client ports that lost their segment
		set cfin { type inet_service; flags dynamic; }	# client ports whose FIN has left
		counter synack { }
		counter sfin { }
		counter data { }
		chain in {
			type filter hook input priority 0; policy accept;
			tcp sport 8110 tcp flags & (syn | ack) == (syn | ack) tcp dport != @once add @once { tcp dport } counter name synack drop
			tcp sport 8113 tcp flags & (fin | psh) == fin tcp dport != @cfin counter name sfin drop
			tcp sport 8115 tcp flags & psh == psh tcp dport != @once add @once { tcp dport } counter name data drop
		}
		chain out {
			type filter hook output priority 0; policy accept;
			tcp dport 8113 tcp flags & fin == fin add @cfin { tcp sport }
		}
	}
	NFT
	srv nft -f - <<-'NFT' || fail "nft rules in sg_srv"
	table inet sgloss {
		set once { type inet_service; flags dynamic; }	# client ports that lost their segment
		set sfin { type inet_service; flags dynamic; }	# client ports the server's FIN went to
		counter hsack { }
		counter cfin { }
		counter lastack { }
		chain in {
			type filter hook input priority 0; policy accept;
			tcp dport 8111 tcp flags & (syn | ack | fin | rst | psh) == ack tcp sport != @once add @once { tcp sport } counter name hsack drop
			tcp dport 8112 tcp flags & fin == fin tcp sport != @once add @once { tcp sport } counter name cfin drop
			tcp dport 8114 tcp flags & (syn | fin | rst) == 0 tcp sport @sfin tcp sport != @once add @once { tcp sport } counter name lastack drop
		}
		chain out {
			type filter hook output priority 0; policy accept;
			tcp sport 8114 tcp flags & fin == fin add @sfin { tcp dport }
		}
	}
	NFT
}

# tr_loss_drops CASE: packets the case's nft counter dropped ("-" if none).
tr_loss_drops() {
	local ns=sg_cli
	[[ $1 == sim ]] && { echo -; return; }
	[[ $1 == hsack || $1 == cfin || $1 == lastack ]] && ns=sg_srv
	ip netns exec $ns nft -j list counter inet sgloss "$1" | jq '.nftables[] | select(.counter) | .counter.packets'
}

# tr_loss_paths PORT CPORT: "kernel client|synguard client|kernel server|synguard server"
tr_loss_paths() {
	local port=$1 csp=$2
	grep -v '^#' "$TR_INST/trace" >"$TMPD/ktrace"
	echo "$(grep -E "sport=$csp dport=$port " "$TMPD/ktrace" | tr_kernel_map)|$(tr_path client "$csp" "$port")|$(grep -E "sport=$port dport=$csp " "$TMPD/ktrace" | tr_kernel_map)|$(tr_path server "$csp" "$port")"
}

test_track_loss_differential_kernel() {
	local ev c name port smode cmode csp args p kc sc ks ss drops end all
	[[ -d $TR_TRACE/events ]] || mount -t tracefs nodev $TR_TRACE 2>/dev/null
	[[ -d $TR_TRACE/events/sock/inet_sock_set_state ]] || skip "no tracefs sock:inet_sock_set_state"
	TR_INST=$TR_TRACE/instances/sgtest_$$
	trap tr_trace_cleanup EXIT
	mkdir "$TR_INST" || skip "cannot create a tracefs instance"
	ev=$TR_INST/events/sock/inet_sock_set_state
	# the tracepoint is global (all namespaces): keep only this test's ports
	echo "protocol == 6 && ((sport >= 8110 && sport <= 8116) || (dport >= 8110 && dport <= 8116))" \
		>"$ev/filter" || fail "tracepoint filter"
	echo 1 >"$ev/enable" || fail "cannot enable sock:inet_sock_set_state"
	ns_setup
	tr_loss_rules
	sg_start --time-wait 1
	for c in $TR_LOSS_CASES; do
		IFS=: read -r name port smode cmode <<<"$c"
		csp=$((port + 32000))
		args=(--close "$cmode" --connect-timeout-ms 5000)
		# sfin: the client closes on its own 300 ms after the reply, while
		# the server's FIN (sent right after the reply) is being dropped
		[[ $cmode == hold ]] && args+=(--hold-ms 300)
		tcp_server --listen $SRV4 --port "$port" --count 1 --close "$smode"
		cli timeout 20 "$TCPKIT" client --connect $SRV4 --port "$port" --sport "$csp" "${args[@]}" \
			>"$TMPD/cli.$name.out" 2>&1 || fail "$name: client failed: $(cat "$TMPD/cli.$name.out")"
	done
	# wait until the kernel's and synguard's paths agree for every case
	# (the kernel recovers by retransmission; TIME_WAIT ends after 1 s)
	end=$((SECONDS + 12))
	while ((SECONDS <= end)); do
		all=1
		for c in $TR_LOSS_CASES; do
			IFS=: read -r name port _ <<<"$c"
			IFS='|' read -r kc sc ks ss <<<"$(tr_loss_paths "$port" $((port + 32000)))"
			[[ -n $kc && $kc == "$sc" && -n $ks && $ks == "$ss" ]] || { all=0; break; }
		done
		((all)) && break
		sleep 0.5
	done
	sleep 0.6	# anything extra would show up now
	sg_stop
	echo 0 >"$ev/enable"
	for c in $TR_LOSS_CASES; do
		IFS=: read -r name port _ <<<"$c"
		csp=$((port + 32000))
		IFS='|' read -r kc sc ks ss <<<"$(tr_loss_paths "$port" "$csp")"
		drops=$(tr_loss_drops "$name")
		info "$name: dropped $drops; client kernel $kc"
		info "$name:            client synguard $sc"
		info "$name:            server kernel $ks"
		info "$name:            server synguard $ss"
		[[ $drops == - ]] || ((drops >= 1)) || fail "$name: nothing was dropped: the case did not happen"
		[[ -n $kc && -n $ks ]] || fail "$name: no kernel trace (client '$kc', server '$ks')"
		[[ $kc == "$sc" ]] || { tr_dump; fail "$name: client differs: kernel '$kc', synguard '$sc'"; }
		[[ $ks == "$ss" ]] || { tr_dump; fail "$name: server differs: kernel '$ks', synguard '$ss'"; }
	done
	# sfin is the reported case only if the FINs really crossed: the client
	# got the server's ack of its FIN first, the server the client's FIN
	IFS='|' read -r kc _ ks _ <<<"$(tr_loss_paths 8113 40113)"
	[[ $kc == *FIN_WAIT_1,FIN_WAIT_2,TIME_WAIT* && $ks == *FIN_WAIT_1,CLOSING,TIME_WAIT* ]] ||
		fail "sfin: the FINs did not cross as intended (client '$kc', server '$ks')"
}

# Both sides abort at once (SO_LINGER {1,0} on both): the two RSTs cross, one
# is seen by XDP (ingress) and the other by TC (egress), often on two CPUs at
# the same time. Each side must still go ESTABLISHED -> CLOSED exactly once.
test_track_crossing_rsts_no_duplicates() {
	local sp bad=0 n=0 p
	ns_setup
	sg_start
	for _ in $(seq 60); do
		tr_conn $SRV4 8088 linger0
	done
	sleep 0.5
	sg_stop
	for sp in $(tr_ports 8088); do
		n=$((n + 1))
		p="$(tr_path client "$sp") / $(tr_path server "$sp")"
		if [[ $p != "CLOSED,SYN_SENT,ESTABLISHED,CLOSED / LISTEN,SYN_RCVD,ESTABLISHED,CLOSED" ]]; then
			bad=$((bad + 1))
			info "client :$sp $p"
		fi
	done
	((n == 60)) || fail "expected 60 flows, saw $n"
	((bad == 0)) || fail "$bad of $n flows with crossing RSTs have wrong or duplicate transitions"
}

# ---- flood --------------------------------------------------------------

# 20000 spoofed SYNs to the port of an established flow (--syn-summary 200):
# the flow is still tracked to CLOSED, SYNs are summarised, an alert fires.
test_track_flood_keeps_established() {
	local sp cpid mac fout syn_lines summaries alert sent
	ns_setup
	srv sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.sgs0.rp_filter=0 >/dev/null
	ip -n sg_srv route add 10.99.0.0/16 via $CLI4 || fail "route for the spoofed range"
	mac=$(ip -n sg_srv -j link show sgs0 | jq -r '.[0].address')
	sg_start --syn-summary 200 --time-wait 1
	tcp_server --listen $SRV4 --port 8080 --count 1 --close hold
	cli timeout 25 "$TCPKIT" client --connect $SRV4 --port 8080 --close hold --hold-ms 8000 \
		>"$TMPD/cli.out" 2>&1 &
	cpid=$!
	tr_wait 3 '.type=="state" and .side=="server" and .dport==8080 and .to=="ESTABLISHED"' ||
		fail "the legitimate flow did not establish"
	sp=$(tr_port 8080) || fail "$sp"
	fout=$(cli timeout 20 "$FLOOD" -i sgc0 --src 10.99.0.0/16 --dst $SRV4 --dport 8080 --dst-mac "$mac" \
		--count 20000 --duration 10 --rate 20000 2>"$TMPD/flood.err") || fail "synflood failed: $fout $(cat "$TMPD/flood.err")"
	sent=$(jq -r .sent <<<"$fout")
	((sent == 20000)) || fail "synflood sent $sent SYNs, expected 20000"
	wait $cpid || fail "the established client failed during the flood: $(cat "$TMPD/cli.out")"
	tr_wait_state 5 server "$sp" CLOSED || { tr_dump; fail "established flow not tracked to CLOSED"; }
	tr_wait 5 '.type=="state" and .side=="client" and .sport==$sp and .from=="TIME_WAIT"' --argjson sp "$sp" ||
		{ tr_dump; fail "established flow's TIME_WAIT never expired"; }
	sg_stop
	tr_expect_path client "$sp" "$CLIENT_CLOSES"
	tr_expect_path server "$sp" "$PASSIVE_CLOSE_SRV"
	syn_lines=$(tr_jq -c 'select(.type=="state" and .to=="SYN_SENT" and .dport==8080)' | wc -l)
	summaries=$(tr_jq -c 'select(.type=="syn_summary" and .dport==8080)' | wc -l)
	alert=$(tr_jq -c 'select(.type=="alert" and .alert=="syn_flood_start")' | wc -l)
	info "SYNs sent $sent, SYN_SENT lines $syn_lines, state lines $(tr_jq -c 'select(.type=="state")' | wc -l)," \
		"syn_summary lines $summaries (covering $(tr_jq -s '[.[] | select(.type=="syn_summary") | .syns] | add // 0') SYNs)," \
		"syn_flood_start alerts $alert, lost events/flows/halfopen" \
		"$(summary lost_events)/$(summary lost_flows)/$(summary lost_halfopen)"
	((syn_lines >= 1 && syn_lines < 2000)) || fail "$syn_lines SYN_SENT lines for $sent SYNs (want 1..1999)"
	((summaries >= 1)) || fail "no syn_summary event"
	((alert >= 1)) || fail "no syn_flood_start alert"
	# Nothing lost silently: every SYN was printed, summarised or counted lost
	# (the legitimate client's SYN_SENT line aside; a few spoofed tuples may collide).
	local quiet lost total
	quiet=$(tr_jq -s '[.[] | select(.type=="syn_summary" and .dport==8080) | .not_printed] | add // 0')
	lost=$(summary lost_halfopen)
	total=$((syn_lines - 1 + quiet + lost))
	info "accounted for: $((syn_lines - 1)) printed + $quiet summarised + $lost lost = $total of $sent"
	((total >= sent - 5 && total <= sent)) || fail "SYNs unaccounted for: $total of $sent"
}

# ---- text mode ----------------------------------------------------------

test_track_text_mode() {
	local sp line
	ns_setup
	: >"$TMPD/sg.txt"
	# not via srv(): a background subshell would ignore sg_stop's SIGINT
	nsenter --net=/run/netns/sg_srv "$SG" --time-wait 1 sgs0 >"$TMPD/sg.txt" 2>"$TMPD/sg.err" &
	SG_PID=$!
	for _ in $(seq 100); do
		grep -q 'attached to sgs0' "$TMPD/sg.txt" && break
		kill -0 $SG_PID 2>/dev/null || fail "synguard (text mode) exited: $(cat "$TMPD/sg.err")"
		sleep 0.1
	done
	grep -q 'attached to sgs0' "$TMPD/sg.txt" || fail "synguard (text mode) did not start: $(cat "$TMPD/sg.err")"
	tr_conn $SRV4 8098 client
	wait_until 3 grep -qE 'server +LAST_ACK +-> +CLOSED' "$TMPD/sg.txt"
	sg_stop
	grep -q '^{' "$TMPD/sg.txt" && fail "JSON output without --json"
	line=$(grep -E 'client' "$TMPD/sg.txt" | grep SYN_SENT | head -n1)
	[[ -n $line ]] || { cat "$TMPD/sg.txt"; fail "no client SYN_SENT line in text mode"; }
	[[ $line =~ 10\.210\.0\.2:([0-9]+)\ +-\>\ +10\.210\.0\.1:8098 ]] ||
		fail "text line lacks 'client -> server' addresses: $line"
	sp=${BASH_REMATCH[1]}
	[[ $line =~ CLOSED\ +-\>\ +SYN_SENT ]] || fail "text line lacks 'CLOSED -> SYN_SENT': $line"
	grep -E "10\.210\.0\.2:$sp +-> +10\.210\.0\.1:8098 +server +LAST_ACK +-> +CLOSED" "$TMPD/sg.txt" >/dev/null ||
		{ cat "$TMPD/sg.txt"; fail "no server LAST_ACK -> CLOSED text line"; }
	info "text: $line"
}

# ---- headers outside the skb's linear part (TC egress) ----------------------

# The host sends segments whose skb holds only the Ethernet header in its
# linear part (a packet socket's TX ring; a driver with a short head or
# another program can leave the same): TC egress pulls the headers in and
# tracks them like any other. A data segment from the server to a port
# nobody uses, IPv4 and IPv6: each is a flow's first segment (midstream).
test_track_egress_nonlinear_headers() {
	local raw=$SG_ROOT/build/rawsend addr src cli sp=41001
	[[ -x $raw ]] || skip "missing $raw (make)"
	ns_setup
	sg_start
	for addr in 4 6; do
		if [[ $addr == 4 ]]; then src=$SRV4 cli=$CLI4; else src=$SRV6 cli=$CLI6; fi
		srv "$raw" -i sgs0 --src "$src" --dst "$cli" --sport 8099 --dport $sp --flags AP --seq 5000 \
			--ack 7000 --payload 100 >/dev/null || fail "rawsend failed"
		tr_wait 3 '.type=="state" and .sport==$sp and .cause=="midstream"' --argjson sp $sp ||
			{ tr_dump; fail "IPv$addr segment with its headers past the linear part: not tracked"; }
		sp=$((sp + 1))
	done
	sg_stop
	expect_eq "$(tr_jq -r 'select(.type=="state" and .cause=="midstream") | "\(.family) \(.side)"' | sort | paste -sd, -)" \
		"4 client,4 server,6 client,6 server" "midstream lines of the two flows"
	expect_eq "$(summary egress_pull_failed)" 0 "egress_pull_failed"
	info "egress_tcp=$(summary egress_tcp): headers pulled in, both flows tracked"
}
