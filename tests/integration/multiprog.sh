#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Sharing sgs0 with xdp-filter through libxdp's dispatcher (issue 13):
# either loading order, foreground and --pin; xdp-filter drops port 9999
# before synguard sees it (priority 10 < 20), synguard tracks and answers
# with cookies on its protected port; unloading either leaves the other
# working; a synguard killed with -9 leaves its program in the dispatcher
# until the next synguard or `synguard unload` takes it out.
#
# The dispatcher runs its members as BPF extension (freplace) programs: a
# kernel that refuses them (lockdown, no trampolines) has no dispatcher, and
# libxdp loads xdp-filter alone. Then the dispatcher tests skip, and
# test_multiprog_no_freplace_falls_back checks what synguard does instead
# (it runs everywhere: SYNGUARD_TEST_FAIL=freplace plays such a kernel).
#
# synguard and xdp-filter run in sg_srv through nsenter --net (the host's
# /sys/fs/bpf, where libxdp keeps the dispatcher's pins). Helpers are
# prefixed mp_; every test removes what it loaded (mp_cleanup, its EXIT trap).

MP_PIN=/sys/fs/bpf/synguard/sgs0
MP_PORT=8080 MP_DENY=9999

mp_ns() { nsenter --net=/run/netns/sg_srv "$@"; }

mp_cleanup() {
	if [[ -n ${SG_PID:-} ]]; then
		kill -9 "$SG_PID" 2>/dev/null; wait "$SG_PID" 2>/dev/null
		SG_PID=
	fi
	if [[ -e /run/netns/sg_srv ]]; then
		mp_ns "$SG" unload sgs0 >/dev/null 2>&1	# pinned, or stale in the dispatcher
		mp_ns xdp-filter unload sgs0 >/dev/null 2>&1
		mp_ns "$SG" unload sgs0 >/dev/null 2>&1
	fi
	[[ -e $MP_PIN ]] && { "$SG" unload sgs0 >/dev/null 2>&1; rm -rf "$MP_PIN"; }
	ns_cleanup
}

mp_setup() {
	for t in "$SG" "$TCPKIT"; do
		[[ -e $t ]] || skip "missing $t (make)"
	done
	for c in xdp-filter xdp-loader nsenter jq; do
		command -v $c >/dev/null || skip "$c not installed (make deps: xdp-tools, util-linux, jq)"
	done
	trap mp_cleanup EXIT
	[[ -e $MP_PIN ]] && fail "$MP_PIN exists before the test: another run's leftover?"
	ns_setup
	srv sysctl -qw net.ipv4.tcp_syncookies=1
	tcp_server --listen 0.0.0.0 --port $MP_PORT
	local ready=$TMPD/ready.deny
	srv "$TCPKIT" server --listen 0.0.0.0 --port $MP_DENY --ready-file "$ready" >"$TMPD/server.deny" 2>&1 &
	BG_PIDS+=($!)
	wait_until 5 test -e "$ready"
}

# mp_status: xdp-loader's view of sgs0.
mp_status() { mp_ns xdp-loader status sgs0 2>&1; }

# mp_dispatcher: sgs0's XDP program is libxdp's dispatcher.
mp_dispatcher() { mp_status | grep -q xdp_dispatcher; }

# mp_filter_load: xdp-filter on sgs0, dropping TCP to MP_DENY; skips the
# test if the kernel gave libxdp no dispatcher.
mp_filter_load() {
	mp_ns xdp-filter load sgs0 >"$TMPD/filter.out" 2>&1 || fail "xdp-filter load: $(cat "$TMPD/filter.out")"
	if ! mp_dispatcher; then
		mp_ns xdp-filter unload sgs0 >/dev/null 2>&1
		skip "this kernel gives libxdp no dispatcher (it refuses BPF extension programs: lockdown?): xdp-filter was loaded alone"
	fi
	mp_ns xdp-filter port $MP_DENY >>"$TMPD/filter.out" 2>&1 || fail "xdp-filter port: $(cat "$TMPD/filter.out")"
}

mp_filter_unload() {
	mp_ns xdp-filter unload sgs0 >>"$TMPD/filter.out" 2>&1 || fail "xdp-filter unload: $(cat "$TMPD/filter.out")"
}

# mp_sg_start ARGS...: synguard --json ARGS on sgs0 (nsenter), output in $TMPD/sg.out/.err.
mp_sg_start() {
	: >"$TMPD/sg.out"
	nsenter --net=/run/netns/sg_srv "$SG" --json "$@" sgs0 >"$TMPD/sg.out" 2>"$TMPD/sg.err" &
	SG_PID=$!
	wait_until 15 sg_started
	grep -q "refuses BPF extension" "$TMPD/sg.err" &&
		skip "this kernel gives libxdp no dispatcher (it refuses BPF extension programs: lockdown?)"
	[[ $(jq -r 'select(.type=="start") | .xdp_attach' "$TMPD/sg.out") == libxdp ]] ||
		fail "synguard did not join libxdp's dispatcher: $(head -n1 "$TMPD/sg.out") $(cat "$TMPD/sg.err")"
}

# mp_client PORT N: N request/reply connections to SRV4:PORT must succeed.
mp_client() {
	local out
	out=$(cli timeout 30 "$TCPKIT" client --connect $SRV4 --port "$1" --count "$2" 2>&1 | tail -n1)
	[[ $(jq -r .reply_ok <<<"$out" 2>/dev/null) == "$2" ]] || fail "clients to port $1: $out"
}

# mp_denied: a connection to MP_DENY must not be made (xdp-filter drops
# the SYN): tcpkit gives up after its 500 ms connect timeout.
mp_denied() {
	local out
	out=$(cli timeout 30 "$TCPKIT" client --connect $SRV4 --port $MP_DENY --count 1 --connect-timeout-ms 500 2>&1 |
		tail -n1)
	[[ $(jq -r .connected <<<"$out" 2>/dev/null) == 0 ]] || fail "a connection to port $MP_DENY was made: $out"
}

# mp_order: the dispatcher's programs in run order (names, comma-separated).
mp_order() {
	mp_status | awk '$1 == "=>" {print $3}' | paste -sd, -
}

# mp_sg_in_dispatcher: synguard's program is one of the dispatcher's.
mp_sg_in_dispatcher() { mp_order | tr ',' '\n' | grep -qx sg_xdp; }

# mp_check_synguard N: N connections to MP_PORT got cookies and were tracked
# (synguard's summary; call after sg_stop).
mp_check_synguard() {
	local n=$1 est
	(($(summary cookies_sent) >= n)) || fail "cookies_sent $(summary cookies_sent) < $n"
	(($(summary handoffs) == n)) || fail "handoffs $(summary handoffs) for $n connections"
	est=$(jq -r --argjson p $MP_PORT 'select(.type=="state" and .side=="server" and .dport==$p and
		.to=="ESTABLISHED") | .sport' "$TMPD/sg.out" | wc -l)
	((est >= n)) || fail "$est server ESTABLISHED transitions on port $MP_PORT for $n connections: $(json_states server)"
}

# ---- xdp-filter first, then synguard; synguard leaves, xdp-filter stays ----
test_multiprog_filter_then_synguard() {
	mp_setup
	mp_filter_load
	mp_sg_start --mode protect --ports $MP_PORT
	[[ $(mp_order) == xdpfilt_*,sg_xdp ]] || fail "run order: $(mp_order) (xdp-filter, priority 10, first)"
	mp_client $MP_PORT 3
	mp_denied
	sg_stop
	mp_check_synguard 3
	mp_dispatcher && ! mp_sg_in_dispatcher || fail "after synguard's exit: $(mp_status)"
	mp_denied
	mp_client $MP_PORT 2
	mp_filter_unload
	[[ -z $(ip -n sg_srv -d -j link show sgs0 | jq -r '.[0].xdp // empty') ]] || fail "XDP left: $(mp_status)"
	info "xdp-filter then synguard: order $(mp_order 2>/dev/null) -> after synguard left, xdp-filter still drops $MP_DENY"
}

# ---- synguard first, then xdp-filter; xdp-filter leaves, synguard stays ----
test_multiprog_synguard_then_filter() {
	mp_setup
	mp_sg_start --mode protect --ports $MP_PORT
	mp_dispatcher || fail "synguard alone is not in a dispatcher: $(mp_status)"
	mp_filter_load
	[[ $(mp_order) == xdpfilt_*,sg_xdp ]] || fail "run order: $(mp_order)"
	mp_denied
	mp_client $MP_PORT 2
	mp_filter_unload
	[[ $(mp_order) == sg_xdp ]] || fail "after xdp-filter's unload: $(mp_order)"
	mp_client $MP_PORT 2
	sg_stop
	mp_check_synguard 4
	[[ -z $(ip -n sg_srv -d -j link show sgs0 | jq -r '.[0].xdp // empty') ]] || fail "XDP left: $(mp_status)"
	ls -d /sys/fs/bpf/xdp/dispatch-"$(ip -n sg_srv -j link show sgs0 | jq -r '.[0].ifindex')"-* 2>/dev/null &&
		fail "libxdp's pins of the dispatcher left"
	return 0
}

# ---- --pin with xdp-filter: survives its process, adopted, unloaded ----
test_multiprog_pin() {
	local id1 id2
	mp_setup
	mp_filter_load
	mp_sg_start --pin --mode protect --ports $MP_PORT
	id1=$(mp_status | awk '$1 == "=>" && $3 == "sg_xdp" {print $4}')
	sg_stop
	mp_sg_in_dispatcher || fail "the pinned instance's program left the dispatcher: $(mp_status)"
	mp_client $MP_PORT 2
	mp_denied
	[[ $("$SG" status --json sgs0 | jq -r .handoffs) == 2 ]] ||
		fail "the pinned instance did not hand off 2 cookie connections: $("$SG" status --json sgs0)"
	# adoption: the new program replaces the instance's in the dispatcher
	mp_sg_start --pin --mode protect --ports $MP_PORT
	id2=$(mp_status | awk '$1 == "=>" && $3 == "sg_xdp" {print $4}')
	[[ -n $id2 && $id2 != "$id1" && $(mp_order) == xdpfilt_*,sg_xdp ]] ||
		fail "adoption: sg_xdp $id1 -> $id2, order $(mp_order)"
	kill -9 "$SG_PID"; wait "$SG_PID" 2>/dev/null; SG_PID=
	mp_client $MP_PORT 1
	mp_ns "$SG" unload sgs0 2>"$TMPD/unload.err" || fail "unload: $(cat "$TMPD/unload.err")"
	! mp_sg_in_dispatcher && mp_dispatcher || fail "after unload: $(mp_status)"
	[[ -e $MP_PIN ]] && fail "$MP_PIN left after unload"
	mp_denied
	mp_client $MP_PORT 1
	info "--pin in the dispatcher: sg_xdp $id1 adopted as $id2, unloaded; xdp-filter kept dropping $MP_DENY"
}

# ---- a foreground synguard killed with -9: its program stays, the next takes it out ----
test_multiprog_kill9_recovers() {
	local stale
	mp_setup
	mp_filter_load
	mp_sg_start --mode protect --ports $MP_PORT
	stale=$(mp_status | awk '$1 == "=>" && $3 == "sg_xdp" {print $4}')
	kill -9 "$SG_PID"; wait "$SG_PID" 2>/dev/null; SG_PID=
	mp_sg_in_dispatcher || fail "expected the killed synguard's program in the dispatcher: $(mp_status)"
	mp_sg_start --mode protect --ports $MP_PORT
	grep -q "stale synguard XDP program (id $stale" "$TMPD/sg.err" || fail "no word of the stale program: $(cat "$TMPD/sg.err")"
	[[ $(mp_order) == xdpfilt_*,sg_xdp ]] || fail "after the restart: $(mp_order)"
	mp_client $MP_PORT 2
	mp_denied
	kill -9 "$SG_PID"; wait "$SG_PID" 2>/dev/null; SG_PID=
	mp_ns "$SG" unload sgs0 2>"$TMPD/unload.err" || fail "unload of the stale program: $(cat "$TMPD/unload.err")"
	grep -q "stale synguard XDP program" "$TMPD/unload.err" || fail "unload: $(cat "$TMPD/unload.err")"
	! mp_sg_in_dispatcher && mp_dispatcher || fail "after unload: $(mp_status)"
	mp_denied
	info "kill -9 left sg_xdp $stale in the dispatcher; the next synguard and 'synguard unload' took theirs out"
}

# ---- no dispatcher (a kernel without freplace): one line, a BPF link ----
test_multiprog_no_freplace_falls_back() {
	local out rc n
	mp_setup
	: >"$TMPD/sg.out"
	SYNGUARD_TEST_FAIL=freplace nsenter --net=/run/netns/sg_srv "$SG" --json --mode protect --ports $MP_PORT sgs0 \
		>"$TMPD/sg.out" 2>"$TMPD/sg.err" &
	SG_PID=$!
	wait_until 15 sg_started
	[[ $(jq -r 'select(.type=="start") | .xdp_attach' "$TMPD/sg.out") == link ]] ||
		fail "expected a BPF link: $(head -n1 "$TMPD/sg.out")"
	n=$(grep -c . "$TMPD/sg.err")
	((n == 1)) && grep -q "refuses BPF extension (freplace).*attaching through a BPF link instead" "$TMPD/sg.err" ||
		fail "expected one line saying why and what instead: $(cat "$TMPD/sg.err")"
	mp_client $MP_PORT 2
	# the link goes with the process, even with kill -9
	kill -9 "$SG_PID"; wait "$SG_PID" 2>/dev/null; SG_PID=
	wait_until 2 sh -c "[ -z \"\$(ip -n sg_srv -d -j link show sgs0 | jq -r '.[0].xdp // empty')\" ]"
	# a program libxdp loaded alone (xdp-filter on such a kernel): refused in one
	# line naming it, as any program outside a dispatcher
	mp_ns xdp-filter load sgs0 >"$TMPD/filter.out" 2>&1 || fail "xdp-filter load: $(cat "$TMPD/filter.out")"
	if mp_dispatcher; then
		out=$(mp_ns "$SG" --xdp-attach link --duration 1 sgs0 2>&1); rc=$?
	else
		out=$(SYNGUARD_TEST_FAIL=freplace mp_ns "$SG" --duration 1 sgs0 2>&1); rc=$?
		out=$(grep -v "freplace" <<<"$out")
	fi
	# (in a dispatcher, synguard forced to a link is refused the dispatcher itself)
	((rc == 1)) && [[ $(wc -l <<<"$out") -eq 1 && $out == *"already has an XDP program (xdp"* ]] ||
		fail "xdp-filter on sgs0: exit $rc: $out"
	mp_filter_unload
	info "no dispatcher: '$(cat "$TMPD/sg.err")'"
}

# ---- sg_xdp loaded apart from the skeleton, against its maps ----
# In the dispatcher, synguard's XDP program comes from an object of its own
# whose maps are the skeleton's. SYNGUARD_TEST_NO_PROBE=1 skips synguard's
# probe: where the kernel has a dispatcher this joins it; where it has none,
# libxdp attaches that same program alone (through netlink), and synguard
# says so. Either way cookies and tracking must work as with the skeleton's
# program, and a clean exit must leave no XDP program.
test_multiprog_program_from_own_object() {
	local how
	mp_setup
	: >"$TMPD/sg.out"
	SYNGUARD_TEST_NO_PROBE=1 nsenter --net=/run/netns/sg_srv "$SG" --json --mode protect --ports $MP_PORT sgs0 \
		>"$TMPD/sg.out" 2>"$TMPD/sg.err" &
	SG_PID=$!
	wait_until 15 sg_started
	how=$(jq -r 'select(.type=="start") | .xdp_attach' "$TMPD/sg.out")
	case $how in
	libxdp) mp_sg_in_dispatcher || fail "start line says libxdp: $(mp_status)" ;;
	netlink) grep -q "cannot run programs in libxdp's dispatcher" "$TMPD/sg.err" ||
		fail "attached alone without a word: $(cat "$TMPD/sg.err")" ;;
	*) fail "xdp_attach $how: $(cat "$TMPD/sg.err")" ;;
	esac
	mp_client $MP_PORT 3
	sg_stop
	mp_check_synguard 3
	[[ -z $(ip -n sg_srv -d -j link show sgs0 | jq -r '.[0].xdp // empty') ]] || fail "XDP left: $(mp_status)"
	info "sg_xdp from its own object ($how): 3 connections with cookies ($(summary handoffs) handoffs), tracked"
}

# ---- the same with --pin: pinned, adopted, unloaded ----
test_multiprog_program_from_own_object_pin() {
	local how
	mp_setup
	: >"$TMPD/sg.out"
	SYNGUARD_TEST_NO_PROBE=1 nsenter --net=/run/netns/sg_srv "$SG" --json --pin --mode protect --ports $MP_PORT sgs0 \
		>"$TMPD/sg.out" 2>"$TMPD/sg.err" &
	SG_PID=$!
	wait_until 15 sg_started
	how=$(jq -r 'select(.type=="start") | .xdp_attach' "$TMPD/sg.out")
	sg_stop
	[[ -e $MP_PIN/progs/sg_xdp ]] || fail "the XDP program is not pinned: $(ls -R "$MP_PIN")"
	mp_client $MP_PORT 2
	[[ $("$SG" status --json sgs0 | jq -r .handoffs) == 2 ]] ||
		fail "the pinned instance ($how) did not hand off 2 connections: $("$SG" status --json sgs0)"
	[[ $("$SG" status --json sgs0 | jq -r .xdp) == "$how" ]] || fail "status: $("$SG" status --json sgs0)"
	# adopted as it was attached (the same program path, SYNGUARD_TEST_NO_PROBE again)
	SYNGUARD_TEST_NO_PROBE=1 nsenter --net=/run/netns/sg_srv "$SG" --json --pin --mode protect --ports $MP_PORT sgs0 \
		>"$TMPD/sg.out" 2>"$TMPD/sg.err" &
	SG_PID=$!
	wait_until 15 sg_started
	[[ $(jq -r 'select(.type=="start") | .adopted' "$TMPD/sg.out") == true ]] || fail "not adopted: $(cat "$TMPD/sg.out")"
	mp_client $MP_PORT 2
	sg_stop
	mp_ns "$SG" unload sgs0 2>"$TMPD/unload.err" || fail "unload: $(cat "$TMPD/unload.err")"
	[[ -z $(ip -n sg_srv -d -j link show sgs0 | jq -r '.[0].xdp // empty') ]] || fail "XDP left after unload: $(mp_status)"
	[[ -e $MP_PIN ]] && fail "$MP_PIN left after unload"
	info "--pin with sg_xdp from its own object ($how): pinned, served 2 + 2 connections, adopted, unloaded"
}
