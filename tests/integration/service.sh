#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Running as a service: links that go with a killed foreground process,
# --pin instances that outlive theirs and are adopted by the next one (same
# flows, same cookie secret), status, unload, one owner per interface, and
# --force / adoption that put back the previous program when they fail.
#
# A pinned synguard runs in sg_srv through nsenter --net, not ip netns exec:
# the latter gives the command a private /sys, whose bpffs (and pins) would
# vanish with it. Every test removes what it pinned (sv_cleanup, its EXIT
# trap), also on failure. Helpers are prefixed sv_ (only test_* are run).
#
# These tests are about synguard's own BPF links (--xdp-attach link): what
# a kill -9 leaves, adoption in one step. In libxdp's dispatcher (the
# default where the kernel has one) the same is covered by multiprog.sh.

BPFLINKS=$SG_ROOT/build/bpflinks
SV_PIN=/sys/fs/bpf/synguard/sgs0
SV_PIDS=()

# sv_ns CMD...: CMD in sg_srv's network namespace, with the host's mounts.
sv_ns() { nsenter --net=/run/netns/sg_srv "$@"; }

# Kill our synguards, unload what they pinned, then lib.sh's cleanup.
sv_cleanup() {
	local p
	for p in "${SV_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${SV_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if [[ -e $SV_PIN ]]; then
		if [[ -e /run/netns/sg_srv ]]; then
			sv_ns "$SG" unload sgs0 >/dev/null 2>&1
		else
			"$SG" unload sgs0 >/dev/null 2>&1
		fi
		rm -rf "$SV_PIN"
	fi
	ns_cleanup
}

sv_setup() {
	for t in "$SG" "$TCPKIT" "$BPFLINKS"; do
		[[ -e $t ]] || skip "missing $t (make)"
	done
	command -v nsenter >/dev/null || skip "nsenter not installed (util-linux)"
	command -v jq >/dev/null || skip "jq not installed"
	trap sv_cleanup EXIT
	[[ -e $SV_PIN ]] && fail "$SV_PIN exists before the test: another run's leftover?"
	ns_setup
	srv sysctl -qw net.ipv4.tcp_syncookies=1
	SV_IFINDEX=$(ip -n sg_srv -j link show sgs0 | jq -r '.[0].ifindex')
}

# sv_start NAME ARGS...: synguard --json ARGS on sgs0 in sg_srv (nsenter),
# output in $TMPD/NAME.out/.err; waits for its start line; sets SV_PID.
sv_start() {
	local name=$1
	shift
	: >"$TMPD/$name.out"
	# (nsenter itself, not sv_ns: $! must be synguard's pid, and nsenter
	# without --fork execs it)
	nsenter --net=/run/netns/sg_srv "$SG" --json --xdp-attach link "$@" sgs0 >"$TMPD/$name.out" 2>"$TMPD/$name.err" &
	SV_PID=$!
	SV_PIDS+=($SV_PID)
	wait_until 15 sv_started "$name" $SV_PID
}

sv_started() {
	grep -q '"type":"start"' "$TMPD/$1.out" 2>/dev/null && return 0
	kill -0 "$2" 2>/dev/null || fail "synguard exited early: $(cat "$TMPD/$1.err")"
	return 1
}

# sv_xdp_id: the id of the XDP program on sgs0, empty if none.
sv_xdp_id() {
	ip -n sg_srv -d -j link show sgs0 | jq -r '.[0].xdp.prog.id // .[0].xdp.progs[0].id // empty'
}

# sv_links: our links still bound to sgs0 ("ID TYPE PROG NAME IFINDEX" lines).
sv_links() {
	"$BPFLINKS" | awk -v i="$SV_IFINDEX" '$5 == i && $4 ~ /^sg_/'
}

# Nothing of synguard's on sgs0: no XDP program, no tcx link, no clsact, no pins.
sv_nothing_attached() {
	[[ -z $(sv_xdp_id) ]] && [[ -z $(sv_links) ]] &&
		! srv tc qdisc show dev sgs0 | grep -q clsact && [[ ! -e $SV_PIN ]]
}

sv_assert_nothing() {
	[[ -z $(sv_xdp_id) ]] || fail "$1: an XDP program (id $(sv_xdp_id)) is still on sgs0"
	[[ -z $(sv_links) ]] || fail "$1: links still bound to sgs0: $(sv_links)"
	srv tc qdisc show dev sgs0 | grep -q clsact && fail "$1: a clsact qdisc is on sgs0"
	[[ -e $SV_PIN ]] && fail "$1: $SV_PIN still exists"
	return 0
}

# sv_status_field KEY: a field of sgs0's `synguard status --json` line.
sv_status_field() {
	"$SG" status --json sgs0 | jq -r --arg k "$1" '.[$k] | tostring'
}

# sv_client PORT [N]: N (default 3) request/reply connections to SRV4:PORT must succeed.
sv_client() {
	local out n=${2:-3}
	out=$(cli timeout 30 "$TCPKIT" client --connect $SRV4 --port "$1" --count "$n" 2>&1 | tail -n1)
	[[ $(jq -r .reply_ok <<<"$out" 2>/dev/null) == "$n" ]] || fail "clients to port $1: $out"
}

# sv_counter NAME: a counter of the pinned instance (status --json).
sv_counter() { sv_status_field "$1"; }

# ---- a foreground synguard killed with -9 leaves nothing attached ----
test_service_foreground_kill9_leaves_nothing() {
	local t0 ms
	sv_setup
	tcp_server --listen $SRV4 --port 8080
	# protect mode: XDP, TC egress and TC ingress all attached
	sv_start fg --mode protect --ports 8080
	[[ -n $(sv_xdp_id) ]] || fail "no XDP program while running"
	(($(sv_links | wc -l) == 3)) || fail "expected 3 links (XDP, tcx egress, tcx ingress): $(sv_links)"
	sv_client 8080
	t0=$(date +%s%N)
	kill -9 "$SV_PID"
	wait_until 1 sv_nothing_attached
	ms=$((($(date +%s%N) - t0) / 1000000))
	sv_assert_nothing "after kill -9"
	[[ -z $(srv tc filter show dev sgs0 egress) ]] || fail "a TC egress filter is left on sgs0"
	sv_client 8080
	info "foreground synguard killed with -9: XDP, tcx links and pins gone after $ms ms"
}

# ---- --pin: kill -9, restart, adoption keeps cookies and flows ----
# A client's SYN is answered with a cookie, its ACK held back (nftables in
# sg_cli); synguard is killed with -9 and started again; the ACK, sent only
# now, must pass with the same secret. A connection opened before the kill
# closes after the restart: reported by the new process from the flow it
# adopted, not picked up "midstream".
test_service_pin_kill9_adopt() {
	local pid1 xdp1 xdp2 held sp out
	sv_setup
	ip netns exec sg_cli nft add table inet sv_hold &&
		ip netns exec sg_cli nft add chain inet sv_hold out '{ type filter hook output priority 0; }' ||
		fail "nftables in sg_cli"
	tcp_server --listen $SRV4 --port 8080 --close client
	tcp_server --listen $SRV4 --port 8081 --close hold
	sv_start a --pin --mode protect --ports 8080,8081 --time-wait 1
	pid1=$SV_PID
	jq -e 'select(.type=="start") | .pinned and (.adopted | not)' "$TMPD/a.out" >/dev/null ||
		fail "start line: $(grep start "$TMPD/a.out")"
	xdp1=$(sv_xdp_id)
	[[ -d $SV_PIN/maps && -e $SV_PIN/links/xdp && -e $SV_PIN/meta ]] || fail "pins missing: $(find $SV_PIN)"
	[[ $(stat -c %a $SV_PIN) == 700 ]] || fail "$SV_PIN has mode $(stat -c %a $SV_PIN), not 700"

	# a connection held open across the kill (handshake through a cookie)
	cli timeout 30 "$TCPKIT" client --connect $SRV4 --port 8081 --close hold --hold-ms 9000 \
		>"$TMPD/held.out" 2>&1 &
	held=$!
	BG_PIDS+=($held)
	wait_until 5 eval '[[ $(cli ss -Htn state established "( dport = :8081 )" | wc -l) == 1 ]]'
	sp=$(cli ss -Htn state established '( dport = :8081 )' | awk '{split($3, a, ":"); print a[2]}')

	# a handshake whose ACK waits: SYN-ACK (cookie) now, ACK after the restart
	ip netns exec sg_cli nft add rule inet sv_hold out tcp dport 8080 'tcp flags & syn == 0' drop
	cli bash -c "exec 3<>/dev/tcp/$SRV4/8080 || exit 1; touch $TMPD/connected
		while [[ ! -e $TMPD/go ]]; do sleep 0.05; done
		echo 'REQ 1' >&3; read -t 15 -r line <&3; echo \"\$line\" >$TMPD/reply" &
	BG_PIDS+=($!)
	wait_until 5 test -e "$TMPD/connected"
	(($(sv_counter cookies_sent) >= 2)) || fail "cookies_sent $(sv_counter cookies_sent): no cookie SYN-ACKs"

	kill -9 $pid1
	wait $pid1 2>/dev/null
	sleep 0.5
	[[ $(sv_xdp_id) == "$xdp1" ]] || fail "XDP program changed after kill -9: '$xdp1' -> '$(sv_xdp_id)'"
	[[ $("$SG" status --json sgs0 | jq -r .pid) == 0 ]] || fail "status names a pid after the kill"

	sv_start b --pin --mode protect --ports 8080,8081 --time-wait 1
	jq -e 'select(.type=="start") | .pinned and .adopted' "$TMPD/b.out" >/dev/null ||
		fail "restart did not adopt: $(grep start "$TMPD/b.out")"
	xdp2=$(sv_xdp_id)
	[[ -n $xdp2 && $xdp2 != "$xdp1" ]] || fail "XDP program not swapped: $xdp1 -> $xdp2"
	ip netns exec sg_cli nft delete table inet sv_hold
	touch "$TMPD/go"
	wait_until 15 test -s "$TMPD/reply"
	[[ $(cat "$TMPD/reply") == OK* ]] || fail "reply after the restart: '$(cat "$TMPD/reply")'"
	(($(sv_counter handoffs) >= 2)) || fail "handoffs $(sv_counter handoffs)"

	wait $held || fail "held client failed: $(cat "$TMPD/held.out")"
	for _ in $(seq 50); do
		out=$(jq -c --argjson sp "$sp" 'select(.type=="state" and .sport==$sp) | [.side,.from,.to,.cause,.midstream]' "$TMPD/b.out")
		grep -q '"client","FIN_WAIT_2","TIME_WAIT"' <<<"$out" && break
		sleep 0.1
	done
	info "held flow :$sp after the restart: $(tr '\n' ' ' <<<"$out")"
	grep -q midstream <<<"$out" && fail "the held flow was reported midstream after the restart: $out"
	grep -q '"client","ESTABLISHED","FIN_WAIT_1"' <<<"$out" ||
		fail "the held flow's close not reported from ESTABLISHED: $out"
	info "SYN-ACK before kill -9, ACK after the restart: '$(cat "$TMPD/reply")'; XDP program $xdp1 -> $xdp2, never detached"
}

# ---- adoption applies changed --mode and --ports ----
test_service_adopt_changes_mode_and_ports() {
	local h0
	sv_setup
	tcp_server --listen $SRV4 --port 8080
	tcp_server --listen $SRV4 --port 9090
	sv_start a --pin --mode monitor
	kill -TERM "$SV_PID"; wait "$SV_PID"
	[[ $(sv_status_field mode) == monitor ]] || fail "mode $(sv_status_field mode)"
	(($(sv_links | wc -l) == 2)) || fail "monitor: expected XDP + tcx egress links: $(sv_links)"

	sv_start b --pin --mode protect --ports 8080
	kill -TERM "$SV_PID"; wait "$SV_PID"
	[[ $(sv_status_field mode) == protect && $(sv_status_field ports) == 8080 ]] ||
		fail "after adoption: mode $(sv_status_field mode) ports $(sv_status_field ports)"
	(($(sv_links | wc -l) == 3)) || fail "protect: expected a tcx ingress link too: $(sv_links)"
	h0=$(sv_counter handoffs)
	sv_client 8080 3
	(($(sv_counter handoffs) == h0 + 3)) || fail "port 8080 protected: handoffs $h0 -> $(sv_counter handoffs)"
	sv_client 9090 2
	(($(sv_counter handoffs) == h0 + 3)) || fail "port 9090 got cookies though not in --ports"

	sv_start c --pin --mode protect --ports 9090
	h0=$(sv_counter handoffs)
	sv_client 8080 2
	sv_client 9090 2
	(($(sv_counter handoffs) == h0 + 2)) ||
		fail "--ports 9090 after 8080: handoffs $h0 -> $(sv_counter handoffs), expected +2"
	kill -TERM "$SV_PID"; wait "$SV_PID"

	sv_start d --pin --mode monitor
	kill -TERM "$SV_PID"; wait "$SV_PID"
	(($(sv_links | wc -l) == 2)) || fail "back to monitor: the tcx ingress link should be gone: $(sv_links)"
	h0=$(sv_counter handoffs)
	sv_client 8080 2
	(($(sv_counter handoffs) == h0)) || fail "monitor mode still hands off"
	[[ $(sv_status_field adoptions) == 3 ]] || fail "adoptions $(sv_status_field adoptions)"
	info "monitor -> protect 8080 -> protect 9090 -> monitor: each took effect on adoption"
}

# ---- what cannot change live is refused, and the instance stays ----
test_service_adopt_refusals() {
	local xdp out rc meta
	sv_setup
	sv_start a --pin --xdp-mode skb
	kill -9 "$SV_PID"; wait "$SV_PID" 2>/dev/null
	xdp=$(sv_xdp_id)
	out=$(sv_ns "$SG" --xdp-attach link --pin --xdp-mode skb --max-flows 2048 --duration 1 sgs0 2>&1); rc=$?
	((rc == 1)) && [[ $out == *"table sizes cannot change live"*"synguard unload sgs0"* ]] ||
		fail "--max-flows change: exit $rc: $out"
	out=$(sv_ns "$SG" --xdp-attach link --pin --duration 1 sgs0 2>&1); rc=$?
	((rc == 1)) && [[ $out == *"--xdp-mode cannot change live"* ]] || fail "--xdp-mode change: exit $rc: $out"
	out=$(sv_ns "$SG" --xdp-attach link --xdp-mode skb --duration 1 sgs0 2>&1); rc=$?
	((rc == 1)) && [[ $out == *"served by a pinned synguard instance"* ]] || fail "without --pin: exit $rc: $out"
	out=$(ip netns exec sg_srv "$SG" --pin --xdp-mode skb --duration 1 sgs0 2>&1); rc=$?
	((rc == 1)) && [[ $out == *"nsenter --net"* ]] || fail "--pin under ip netns exec: exit $rc: $out"
	# a build with another layout: the meta's layout version changed
	meta=$(bpftool -j map lookup pinned $SV_PIN/meta key 0 0 0 0 | jq -r '.value | map(.) | join(" ")')
	[[ -n $meta ]] || fail "cannot read the meta with bpftool"
	bpftool map update pinned $SV_PIN/meta key 0 0 0 0 value $(awk '{$5 = "0x63"; print}' <<<"$meta") ||
		fail "cannot write the meta"
	out=$(sv_ns "$SG" --xdp-attach link --pin --xdp-mode skb --duration 1 sgs0 2>&1); rc=$?
	((rc == 1)) && [[ $out == *"another layout"*"cannot be adopted"* ]] || fail "another layout: exit $rc: $out"
	[[ $(sv_xdp_id) == "$xdp" ]] || fail "a refusal changed the XDP program: $xdp -> $(sv_xdp_id)"
	[[ -e $SV_PIN/meta ]] || fail "a refusal removed the pins"
	info "refused: --max-flows, --xdp-mode changes, no --pin, ip netns exec, another layout; instance untouched"
}

# ---- unload removes everything; nothing to unload: exit 1 ----
test_service_unload_leaves_nothing() {
	local out rc
	sv_setup
	tcp_server --listen $SRV4 --port 8080
	sv_start a --pin --mode protect --ports 8080
	out=$(sv_ns "$SG" unload sgs0 2>&1); rc=$?
	((rc == 1)) && [[ $out == *"pid $SV_PID"* ]] || fail "unload while served: exit $rc: $out"
	kill -TERM "$SV_PID"; wait "$SV_PID" || fail "synguard --pin: exit $? on SIGTERM"
	[[ -n $(sv_xdp_id) ]] || fail "SIGTERM of a --pin process removed the XDP program"
	sv_client 8080
	out=$(sv_ns "$SG" unload sgs0 2>&1); rc=$?
	((rc == 0)) || fail "unload: exit $rc: $out"
	sv_assert_nothing "after unload"
	sv_client 8080
	out=$(sv_ns "$SG" unload sgs0 2>&1); rc=$?
	((rc == 1)) && [[ $out == *"no pinned synguard instance on sgs0"* ]] || fail "second unload: exit $rc: $out"
	info "unload: nothing left; a second unload: exit 1, $out"
	out=$("$SG" status sgs0 2>&1); rc=$?
	((rc == 1)) || fail "status of nothing: exit $rc: $out"
}

# ---- one live synguard per interface ----
test_service_second_instance_refused() {
	local out rc first
	sv_setup
	sv_start a
	first=$SV_PID
	for args in "" "--pin" "--force"; do
		out=$(sv_ns "$SG" --xdp-attach link $args --duration 1 sgs0 2>&1); rc=$?
		((rc == 1)) && [[ $out == *"already served by synguard pid $first"* ]] ||
			fail "second synguard ($args): exit $rc: $out"
	done
	[[ $("$SG" status --json sgs0 | jq -r .pid) == "$first" ]] || fail "status: $("$SG" status --json sgs0)"
	kill -TERM $first; wait $first
	sv_start b --pin
	out=$(sv_ns "$SG" --xdp-attach link --pin --duration 1 sgs0 2>&1); rc=$?
	((rc == 1)) && [[ $out == *"already served by synguard pid $SV_PID"* ]] || fail "second --pin: exit $rc: $out"
	info "refused: $out"
}

# ---- a failed --force leaves the previous program attached and working ----
test_service_force_failure_keeps_previous() {
	local out rc xdp
	sv_setup
	tcp_server --listen $SRV4 --port 8080
	ip -n sg_srv link set dev sgs0 xdp obj "$SG_ROOT/build/xdp_pass.bpf.o" sec xdp || fail "xdp_pass"
	xdp=$(sv_xdp_id)
	out=$(SYNGUARD_TEST_FAIL=replace sv_ns "$SG" --xdp-attach link --force --mode protect --ports 8080 --duration 5 sgs0 2>&1); rc=$?
	((rc == 1)) || fail "injected failure: exit $rc: $out"
	[[ $out == *"test hook"* && $out == *"put back the previous XDP program (id $xdp)"* ]] || fail "messages: $out"
	[[ $(sv_xdp_id) == "$xdp" ]] || fail "XDP program after the failed --force: $(sv_xdp_id), was $xdp"
	[[ -z $(sv_links) ]] || fail "links left after the failed --force: $(sv_links)"
	srv tc qdisc show dev sgs0 | grep -q clsact && fail "a clsact qdisc left"
	sv_client 8080
	# and the same --force without the failure replaces it
	out=$(sv_ns "$SG" --xdp-attach link --force --duration 0.5 sgs0 2>&1); rc=$?
	((rc == 0)) && [[ $out == *"replaced XDP program id $xdp"*"in one step"* ]] || fail "--force: exit $rc: $out"
	info "failed --force: program $xdp still attached, traffic passes"
}

# ---- a failed adoption leaves the pinned instance as it was ----
test_service_adopt_failure_keeps_instance() {
	local out rc xdp links
	sv_setup
	tcp_server --listen $SRV4 --port 8080
	sv_start a --pin --mode protect --ports 8080
	kill -9 "$SV_PID"; wait "$SV_PID" 2>/dev/null
	xdp=$(sv_xdp_id) links=$(sv_links)
	out=$(SYNGUARD_TEST_FAIL=replace sv_ns "$SG" --xdp-attach link --pin --mode monitor --duration 5 sgs0 2>&1); rc=$?
	((rc == 1)) || fail "injected failure: exit $rc: $out"
	[[ $(sv_xdp_id) == "$xdp" ]] || fail "XDP program after the failed adoption: $(sv_xdp_id), was $xdp"
	[[ $(sv_links) == "$links" ]] || fail "links changed: $links -> $(sv_links)"
	[[ $(sv_status_field mode) == protect ]] || fail "meta changed: mode $(sv_status_field mode)"
	local h0
	h0=$(sv_counter handoffs)
	sv_client 8080
	(($(sv_counter handoffs) == h0 + 3)) || fail "cookies no longer handed off after the failed adoption"
	info "failed adoption: the pinned protect instance (XDP $xdp) still serves cookies"
}

# sv_filters: synguard's clsact filters on sgs0 ("egress"/"ingress" per line)
sv_filters() {
	local dir
	for dir in egress ingress; do
		srv tc filter show dev sgs0 $dir 2>/dev/null | grep -q 'sg_tc_' && echo $dir
	done
}

# ---- kernels without tcx: clsact filters, recognised as synguard's ----
# (SYNGUARD_TEST_FAIL=tcx: tcx links fail as on kernels < 6.6.) A kill -9
# leaves such filters; the next synguard replaces them (clsact) or removes
# them (tcx) instead of failing on them, as the issue's restart did.
test_service_clsact_fallback_orphans() {
	local out rc
	sv_setup
	tcp_server --listen $SRV4 --port 8080
	SYNGUARD_TEST_FAIL=tcx sv_start a --mode protect --ports 8080
	grep -q 'no tcx links' "$TMPD/a.err" || fail "fallback not said: $(cat "$TMPD/a.err")"
	[[ $(sv_filters | paste -sd,) == egress,ingress ]] || fail "clsact filters: $(sv_filters)"
	kill -9 "$SV_PID"; wait "$SV_PID" 2>/dev/null
	wait_until 1 eval '[[ -z $(sv_xdp_id) ]]'
	[[ $(sv_filters | paste -sd,) == egress,ingress ]] || fail "expected orphaned filters after kill -9"
	SYNGUARD_TEST_FAIL=tcx sv_start b --mode protect --ports 8080
	grep -q 'replaced an orphaned synguard TC egress filter' "$TMPD/b.err" &&
		grep -q 'replaced an orphaned synguard TC ingress filter' "$TMPD/b.err" ||
		fail "orphans not replaced: $(cat "$TMPD/b.err")"
	sv_client 8080
	kill -TERM "$SV_PID"; wait "$SV_PID" || fail "exit $? after SIGTERM: $(cat "$TMPD/b.err")"
	(($(jq -r 'select(.type=="summary") | .handoffs' "$TMPD/b.out") == 3)) || fail "handoffs through clsact"
	[[ -z $(sv_filters) ]] || fail "filters left after a clean exit: $(sv_filters)"
	SYNGUARD_TEST_FAIL=tcx sv_start c
	kill -9 "$SV_PID"; wait "$SV_PID" 2>/dev/null
	[[ $(sv_filters) == egress ]] || fail "expected an orphaned egress filter: $(sv_filters)"
	sv_start d
	grep -q 'removed an orphaned synguard TC egress filter' "$TMPD/d.err" || fail "orphan not removed: $(cat "$TMPD/d.err")"
	[[ -z $(sv_filters) ]] || fail "orphans still there under tcx: $(sv_filters)"
	(($(sv_links | wc -l) == 2)) || fail "tcx run: links $(sv_links)"
	kill -TERM "$SV_PID"; wait "$SV_PID"
	srv tc qdisc del dev sgs0 clsact 2>/dev/null
	sv_assert_nothing "at the end"
	info "clsact fallback: orphans of kill -9 replaced (clsact) and removed (tcx)"
}

# ---- --pin --force over a netlink program: adopted and unloaded by REPLACE ----
test_service_pin_force_netlink() {
	local old x1 x2 h0
	sv_setup
	tcp_server --listen $SRV4 --port 8080
	ip -n sg_srv link set dev sgs0 xdp obj "$SG_ROOT/build/xdp_pass.bpf.o" sec xdp || fail "xdp_pass"
	old=$(sv_xdp_id)
	sv_start a --pin --force --mode protect --ports 8080
	x1=$(sv_xdp_id)
	[[ -n $x1 && $x1 != "$old" ]] || fail "--force --pin did not replace $old"
	[[ $(sv_status_field xdp) == netlink ]] || fail "status: xdp $(sv_status_field xdp)"
	kill -9 "$SV_PID"; wait "$SV_PID" 2>/dev/null
	[[ $(sv_xdp_id) == "$x1" ]] || fail "kill -9 removed the pinned netlink program"
	sv_start b --pin --mode protect --ports 8080
	x2=$(sv_xdp_id)
	[[ -n $x2 && $x2 != "$x1" ]] || fail "adoption did not swap the netlink program: $x1 -> $x2"
	h0=$(sv_counter handoffs)
	sv_client 8080
	(($(sv_counter handoffs) == h0 + 3)) || fail "handoffs after adopting a netlink instance"
	kill -9 "$SV_PID"; wait "$SV_PID" 2>/dev/null
	sv_ns "$SG" unload sgs0 >/dev/null 2>&1 || fail "unload"
	sv_assert_nothing "after unload"
	info "netlink instance: $old replaced by $x1 (--force --pin), adopted as $x2, unloaded"
}
