#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Faults while attached: the interface deleted, its namespace removed,
# stdout nobody reads. Helpers are prefixed fl_ (only test_* are run).

# fl_wait_exit PID SECONDS: the exit status of PID if it exits within
# SECONDS (polled every 50 ms), else fails the test.
fl_wait_exit() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 20; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			return $?
		fi
		sleep 0.05
	done
	fail "synguard still running ${secs}s later"
}

fl_start_bg() {
	# fl_start_bg ARGS...: synguard on sgs0 (JSON), waits for its start line; sets FL_PID
	nsenter --net=/run/netns/sg_srv "$SG" --json "$@" sgs0 >"$TMPD/sg.out" 2>"$TMPD/sg.err" &
	FL_PID=$!
	BG_PIDS+=($FL_PID)
	for _ in $(seq 100); do
		grep -q '"type":"start"' "$TMPD/sg.out" 2>/dev/null && return 0
		kill -0 $FL_PID 2>/dev/null || fail "synguard exited early: $(cat "$TMPD/sg.err")"
		sleep 0.05
	done
	fail "synguard did not start: $(cat "$TMPD/sg.err")"
}

test_fault_interface_deleted() {
	local rc t0 ms
	ns_setup
	fl_start_bg --mode monitor
	t0=$(date +%s%N)
	ip -n sg_srv link del sgs0
	fl_wait_exit $FL_PID 2; rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	((rc == 1)) || fail "exit status $rc after the interface was deleted"
	[[ $(sg_errors | wc -l) -eq 1 ]] && grep -q 'sgs0.*disappeared' "$TMPD/sg.err" ||
		fail "expected one line saying sgs0 disappeared: $(cat "$TMPD/sg.err")"
	info "interface deleted: exit 1 after $ms ms: $(cat "$TMPD/sg.err")"
}

test_fault_namespace_removed() {
	local rc t0 ms
	ns_setup
	fl_start_bg --mode protect --ports 8080
	t0=$(date +%s%N)
	ip netns del sg_srv
	fl_wait_exit $FL_PID 2; rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	((rc == 1)) || fail "exit status $rc after the namespace was removed"
	[[ $(sg_errors | wc -l) -eq 1 ]] && grep -q 'sg_srv was removed' "$TMPD/sg.err" ||
		fail "expected one line saying sg_srv was removed: $(cat "$TMPD/sg.err")"
	# with its last user gone the namespace, its veth and our programs are gone
	ip -n sg_cli link show sgc0 >/dev/null 2>&1 &&
		{ sleep 1; ip -n sg_cli link show sgc0 >/dev/null 2>&1; } && fail "the veth pair outlived the namespace"
	info "namespace removed: exit 1 after $ms ms: $(cat "$TMPD/sg.err")"
}

# stdout is a pipe nobody reads while SYNs stream in (every one printed):
# synguard's loop never blocks on it (its --duration timer ends while the
# reader still sleeps), the lines that did not fit are dropped whole and
# counted (said on stderr), and what the reader gets is whole JSON.
test_fault_stdout_blocked() {
	local lost lines t0 secs smac bad
	NS_PEER_XDP=$SG_ROOT/build/xdp_sink.bpf.o ns_setup
	ip -n sg_srv route add 10.99.0.0/16 via $CLI4
	t0=$(date +%s%N)
	# stdout: a pipe whose reader sleeps 14 s, then reads everything
	nsenter --net=/run/netns/sg_srv "$SG" --json --syn-summary 100000000 -i 0.5 --duration 6 sgs0 \
		2>"$TMPD/sg.err" > >(sleep 14; cat >"$TMPD/sg.out"; touch "$TMPD/read.done") &
	FL_PID=$!
	BG_PIDS+=($FL_PID)
	sleep 1
	kill -0 $FL_PID 2>/dev/null || fail "synguard exited: $(cat "$TMPD/sg.err")"
	smac=$(ip -n sg_srv -j link show sgs0 | jq -r '.[0].address')
	# 40000 spoofed SYNs to a closed port: each a printed transition
	cli timeout 30 "$FLOOD" -i sgc0 --dst $SRV4 --dport 8080 --src 10.99.0.0/16 --dst-mac "$smac" \
		--count 40000 --rate 40000 --duration 5 >"$TMPD/flood" 2>&1 || fail "synflood failed: $(cat "$TMPD/flood")"
	fl_wait_exit $FL_PID 10
	(($? == 0)) || fail "synguard: exit status $? ($(cat "$TMPD/sg.err"))"
	secs=$((($(date +%s%N) - t0) / 1000000000))
	((secs < 12)) || fail "synguard took ${secs}s to finish a 6 s run: it waited for the reader"
	for _ in $(seq 200); do	# the reader: done 14 s after the start
		[[ -e $TMPD/read.done ]] && break
		sleep 0.1
	done
	[[ -e $TMPD/read.done ]] || fail "the reader did not finish"
	lost=$(grep -oE '[0-9]+ output lines lost' "$TMPD/sg.err" | grep -oE '^[0-9]+')
	lines=$(wc -l <"$TMPD/sg.out")
	bad=$(grep -cv '^{.*}$' "$TMPD/sg.out")
	info "stdout unread for 14 s: synguard finished its 6 s run in ${secs}s; the reader got $lines lines, ${lost:-no} lines counted lost"
	((bad == 0)) || fail "$bad lines are not whole JSON objects"
	[[ -n $lost && $lost -gt 0 ]] || fail "no lines counted lost: $(cat "$TMPD/sg.err")"
	((lines + lost >= 40000)) || fail "$lines read + $lost lost < 40000 SYN lines: lines lost silently"
	return 0
}

# --max-flows 16777216 where memory is short (a 300 MiB memory cgroup):
# one clear line, exit 1, nothing attached.
test_fault_tables_too_big_for_memory() {
	local cg rc out
	ns_setup
	if [[ -e /sys/fs/cgroup/cgroup.controllers ]]; then
		cg=/sys/fs/cgroup/sgtest_mem.$$
		mkdir "$cg" 2>/dev/null && echo $((300 << 20)) >"$cg/memory.max" 2>/dev/null ||
			{ rmdir "$cg" 2>/dev/null; skip "cannot make a memory cgroup (v2)"; }
	elif [[ -d /sys/fs/cgroup/memory ]]; then
		cg=/sys/fs/cgroup/memory/sgtest_mem.$$
		mkdir "$cg" && echo $((300 << 20)) >"$cg/memory.limit_in_bytes" ||
			{ rmdir "$cg" 2>/dev/null; skip "cannot make a memory cgroup (v1)"; }
	else
		skip "no memory cgroup controller"
	fi
	out=$(sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$cg" \
		nsenter --net=/run/netns/sg_srv "$SG" --max-flows 16777216 --duration 1 sgs0 2>&1); rc=$?
	out=$(grep -v 'attaching through a BPF link instead' <<<"$out")
	rmdir "$cg"
	((rc == 1)) || fail "exit $rc with 16M flows in 300 MiB: $out"
	[[ $(wc -l <<<"$out") -eq 1 && $out == *"cannot allocate the flow tables"* ]] ||
		fail "expected one line about the flow tables: $out"
	assert_detached
	info "16M flows in a 300 MiB cgroup: exit 1: $out"
}

# The link goes down and up, then its MTU changes, while synguard protects
# a port: tracking and protection continue, and the MSS the SYN-ACKs offer
# follows the new MTU (the client's connection gets the smaller segments).
test_fault_link_flap_and_mtu() {
	local out mss h0
	ns_setup
	srv sysctl -qw net.ipv4.tcp_syncookies=1
	tcp_server --listen 0.0.0.0 --port 8080 --close hold --timeout 60
	sg_start --mode protect --ports 8080
	out=$(cli timeout 20 "$TCPKIT" client --connect $SRV4 --port 8080 --count 5 --close hold 2>/dev/null | tail -n1)
	[[ $(jq -r .reply_ok <<<"$out") == 5 ]] || fail "before: $out"
	ip -n sg_srv link set sgs0 down
	sleep 0.3
	ip -n sg_srv link set sgs0 up
	wait_until 5 sh -c "ip -n sg_srv -j link show sgs0 | jq -e '.[0].operstate == \"UP\"' >/dev/null"
	out=$(cli timeout 20 "$TCPKIT" client --connect $SRV4 --port 8080 --count 5 --close hold 2>/dev/null | tail -n1)
	[[ $(jq -r .reply_ok <<<"$out") == 5 ]] || fail "after the link went down and up: $out"
	ip -n sg_srv link set sgs0 mtu 1400
	sleep 1.5	# synguard checks the MTU once a second
	# a connection held open: its MSS as the client's kernel took it
	cli timeout 20 "$TCPKIT" client --connect $SRV4 --port 8080 --count 1 --close hold --hold-ms 3000 \
		>"$TMPD/held.out" 2>&1 &
	BG_PIDS+=($!)
	wait_until 5 sh -c "ip netns exec sg_cli ss -Htni state established '( dport = :8080 )' | grep -q mss:"
	mss=$(cli ss -Htni state established "( dport = :8080 )" | grep -oE '\bmss:[0-9]+' | head -n1 | cut -d: -f2)
	sleep 3.5
	sg_stop
	info "after MTU 1400 on sgs0: the client's MSS $mss (1400 - 40, less 12 for timestamps); handoffs $(summary handoffs)"
	((mss == 1348 || mss == 1360)) || fail "the client's MSS $mss: the SYN-ACK did not follow the MTU of 1400"
	(($(summary handoffs) == 11)) || fail "$(summary handoffs) handoffs for 11 connections"
	[[ $(json_states server 2>/dev/null | tr ',' '\n' | grep -c ESTABLISHED) -ge 11 ]] ||
		fail "not all 11 connections tracked: $(json_states server)"
}
