#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# --output FILE: JSON lines appended to FILE, and logrotate's convention:
# the file is renamed, SIGHUP makes synguard reopen the name; every line
# lands whole in one file or the other, none is lost.
# Helpers are prefixed op_ (only test_* are run).

# op_count FILE JQ-SELECT: how many lines of FILE match.
op_count() {
	jq -c "select($2)" "$1" 2>/dev/null | wc -l
}

op_has() {	# op_has FILE N JQ-SELECT: at least N lines match
	(($(op_count "$1" "$3") >= $2))
}

test_output_file_reopen() {
	local log=$TMPD/events.jsonl est='.type=="state" and .side=="server" and .to=="ESTABLISHED"' a b
	for t in "$SG" "$TCPKIT"; do [[ -e $t ]] || skip "missing $t (make)"; done
	command -v jq >/dev/null || skip "jq not installed"
	ns_setup
	tcp_server --listen 0.0.0.0 --port 8080
	echo '{"type":"before"}' >"$log"	# appended to, never truncated
	nsenter --net=/run/netns/sg_srv "$SG" --output "$log" sgs0 >"$TMPD/sg.stdout" 2>"$TMPD/sg.err" &
	SG_PID=$!
	wait_until 10 grep -q '"type":"start"' "$log"
	cli "$TCPKIT" client --connect $SRV4 --port 8080 --count 5 >/dev/null || fail "clients (1) failed"
	wait_until 5 op_has "$log" 5 "$est"
	mv "$log" "$log.1"
	kill -HUP "$SG_PID"
	wait_until 5 test -e "$log"
	cli "$TCPKIT" client --connect $SRV4 --port 8080 --count 7 >/dev/null || fail "clients (2) failed"
	wait_until 5 op_has "$log" 7 "$est"
	sg_stop
	[[ ! -s $TMPD/sg.stdout ]] || fail "records on stdout with --output: $(head -n2 "$TMPD/sg.stdout")"
	jq -e . "$log.1" "$log" >/dev/null || fail "a line that is not JSON"
	expect_eq "$(head -n1 "$log.1")" '{"type":"before"}' "the file's first line (appended, not truncated)"
	a=$(op_count "$log.1" "$est") b=$(op_count "$log" "$est")
	info "before SIGHUP: $(wc -l <"$log.1") lines ($a handshakes); after: $(wc -l <"$log") lines ($b handshakes)"
	expect_eq "$a" 5 "handshakes in the rotated file"
	expect_eq "$b" 7 "handshakes in the reopened file"
	expect_eq "$(op_count "$log" '.type=="track_summary"')" 1 "the exit summary in the new file"
	# nothing lost: the tracker's count of transitions = the state lines of both files
	expect_eq "$(jq -r 'select(.type=="track_summary") | .transitions' "$log")" \
		"$(($(op_count "$log.1" '.type=="state"') + $(op_count "$log" '.type=="state"')))" "transitions vs lines"
	return 0
}
