#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# --syn-limit and --synack-cap under a bounded flood (issue 13): a source
# over the limit is cut to it, the reflection cap holds at its value, and
# a legitimate client elsewhere keeps every connection. The namespaces and
# flood set-up are cookie.sh's (ck_*): the flood leaves sg_cli with spoofed
# sources in 10.99.0.0/16, whose SYN-ACKs the client veth drops at XDP.
# Both policies count per second of the kernel's monotonic clock: a flood
# of S seconds touches at most ceil(S) + 1 of them, and every whole second
# in it passes exactly the limit; the bounds asserted are those (the
# floods last n.5 s, so that a few ms of queueing cannot touch one more).

source "$SG_ROOT/tests/integration/cookie.sh"

# lim_flood SRC RATE COUNT: a bounded SYN flood to CK_PORT from SRC (a CIDR
# in 10.99/16) while 50 legitimate connections are made from the client's
# own address; prints "sent seconds legit_ok".
lim_flood() {
	local src=$1 rate=$2 count=$3 out secs sent
	cli timeout 60 "$FLOOD" -i sgc0 --dst $SRV4 --dport $CK_PORT --src "$src" --dst-mac "$CK_SMAC" \
		--rate "$rate" --count "$count" --duration 20 --seed 7 >"$TMPD/flood" 2>"$TMPD/flood.err" &
	local fpid=$!
	sleep 0.5
	out=$(ck_client $SRV4 --count 50)
	wait $fpid || fail "synflood: $(cat "$TMPD/flood" "$TMPD/flood.err")"
	sent=$(tail -n1 "$TMPD/flood" | jq -r .sent) secs=$(tail -n1 "$TMPD/flood" | jq -r .seconds)
	[[ $sent =~ ^[0-9]+$ ]] || fail "synflood printed no count: $(cat "$TMPD/flood" "$TMPD/flood.err")"
	echo "$sent $secs $(ck_kv reply_ok "$out")"
}

# lim_bounds LIMIT SECS: "lo hi": what a flood over LIMIT/s for SECS seconds may pass.
lim_bounds() {
	awk -v l="$1" -v s="$2" 'BEGIN { lo = int(s) - 1; if (lo < 1) lo = 1; hi = int(s) + 2;
		printf "%d %d\n", l * lo, l * hi }'
}

# lim_limit_run LIMIT SRC RATE COUNT ARGS...: synguard --mode protect ARGS,
# then lim_flood; sets sent secs ok dropped passed lo hi (the caller's
# locals), and checks the legitimate client and the limit's bounds.
lim_limit_run() {
	local lim=$1 src=$2 rate=$3 count=$4
	shift 4
	ck_setup
	ck_server --listen 0.0.0.0
	ck_sg_start 60 --mode protect --ports $CK_PORT "$@"
	read -r sent secs ok <<<"$(lim_flood "$src" "$rate" "$count")"
	sleep 0.3
	sg_stop
	dropped=$(summary drop_syn_limited)
	passed=$((sent - dropped))
	read -r lo hi <<<"$(lim_bounds "$lim" "$secs")"
	echo "info: synguard $*: $src sent $sent SYNs in $secs s: $passed passed (bounds $lo-$hi), drop_syn_limited=$dropped; legitimate client $ok/50"
	((ok == 50)) || fail "the legitimate client got $ok/50 connections"
	((passed >= lo && passed <= hi)) || fail "$passed SYNs from $src passed, outside $lo-$hi"
}

test_limit_syn_limit_cuts_a_source() {
	local sent secs ok passed dropped lo hi top
	lim_limit_run 500 10.99.7.7/32 4000 14000 --syn-limit 500 -i 1
	(($(summary cookies_sent) >= passed + 50 - 5)) || fail "cookies_sent $(summary cookies_sent): passed SYNs not answered"
	# Each stats line names what was cut since the one before: every line
	# whose drop_syn_limited grew names the source (a scan follows the
	# counters' read, so the sum may pass them by the SYNs of that moment).
	local lines named last unnamed
	read -r lines named last unnamed <<<"$(jq -rs '[.[] | select(.type=="stats")] as $s |
		[range(1; $s | length) | select($s[.].drop_syn_limited - $s[. - 1].drop_syn_limited >= 10) |
		 select([$s[.].limited[] | select(.source == "10.99.7.7/32")] | length == 0)] as $u |
		"\($s | length) \([$s[].limited[] | select(.source == "10.99.7.7/32") | .drops] | add // 0) \($s[-1].drop_syn_limited // 0) \($u | length)"' "$TMPD/sg.out")"
	echo "info: $lines stats lines name 10.99.7.7/32 with $named drops in all (their counter: $last; summary: $dropped); lines with drops not naming it: $unnamed"
	((last > 0 && unnamed == 0)) || fail "$unnamed stats lines with new drops do not name 10.99.7.7/32"
	((named >= last && named <= dropped)) || fail "the stats lines name $named drops in all, not within $last-$dropped"
	top=$(jq -r 'select(.type=="summary") | .limited[0] | "\(.source) \(.drops)"' "$TMPD/sg.out" | tail -n1)
	[[ $top == "10.99.7.7/32 $dropped" ]] || fail "the summary names '$top' first, not 10.99.7.7/32 with $dropped drops"
	return 0
}

# 300/s for a whole /24 of spoofed sources, each of them rarely twice
test_limit_syn_limit_prefix() {
	local sent secs ok dropped passed lo hi top
	lim_limit_run 300 10.99.9.0/24 3000 7500 --syn-limit 300/24
	top=$(jq -r 'select(.type=="summary") | .limited[0].source' "$TMPD/sg.out" | tail -n1)
	[[ $top == 10.99.9.0/24 ]] || fail "the summary names '$top' first, not 10.99.9.0/24"
	return 0
}

test_limit_synack_cap_holds() {
	local cap=1000 sent secs ok capped sent_ck lo hi
	ck_setup
	ck_server --listen 0.0.0.0
	ck_sg_start 60 --mode protect --ports $CK_PORT --synack-cap $cap
	read -r sent secs ok <<<"$(lim_flood 10.99.8.0/24 5000 12500)"
	sleep 0.3
	sg_stop
	capped=$(summary drop_synack_capped) sent_ck=$(summary cookies_sent)
	read -r lo hi <<<"$(lim_bounds $cap "$secs")"
	echo "info: --synack-cap $cap: a flood naming 10.99.8.0/24, $sent SYNs in $secs s: $((sent - capped)) SYN-ACKs to that /24 (bounds $lo-$hi), drop_synack_capped=$capped; legitimate client (another /24) $ok/50, cookies_sent=$sent_ck"
	((ok == 50)) || fail "the legitimate client got $ok/50 connections"
	((sent - capped >= lo && sent - capped <= hi)) || fail "$((sent - capped)) SYN-ACKs to the capped /24, outside $lo-$hi"
	((sent_ck == sent - capped + 50)) || fail "cookies_sent $sent_ck: expected $((sent - capped)) + 50"
	return 0
}

# The reflection cap is on by default; monitor mode sends no SYN-ACK and caps nothing.
test_limit_cap_default() {
	ck_setup
	ck_server --listen 0.0.0.0
	ck_sg_start 60 --mode monitor
	read -r sent secs ok <<<"$(lim_flood 10.99.8.0/24 4000 8000)"
	sg_stop
	echo "info: monitor mode: $sent SYNs, drop_synack_capped=$(summary drop_synack_capped)"
	(($(summary drop_synack_capped) == 0)) || fail "monitor mode capped SYNs"
	"$SG" --help | tr -s ' \n' ' ' | grep -q 'synack-cap=PPS.*(default 5000; 0: off)' ||
		fail "--help does not give the cap's default"
	return 0
}
