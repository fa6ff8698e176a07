#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Shared helpers for integration tests. Traffic stays inside the namespaces
# created here (sg_srv, sg_cli, sg_fld); ns_cleanup removes them and is
# installed as an EXIT trap by the runner, so it runs even on failure.
#
#   sg_srv: sgs0 10.210.0.1/24 fd00:210::1/64 (synguard attaches here)
#   sg_cli: sgc0 10.210.0.2/24 fd00:210::2/64
SG_ROOT=${SG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SG=$SG_ROOT/build/synguard
TCPKIT=$SG_ROOT/build/tcpkit
FLOOD=$SG_ROOT/build/synflood
SRV4=10.210.0.1 CLI4=10.210.0.2 SRV6=fd00:210::1 CLI6=fd00:210::2
TMPD=$(mktemp -d /tmp/sgtest.XXXXXX)
BG_PIDS=()
SG_PID=

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }
info() { echo "info: $*"; }
srv() { ip netns exec sg_srv "$@"; }
cli() { ip netns exec sg_cli "$@"; }

# wait_until TIMEOUT_S CMD [ARGS...]: run CMD every 50 ms until it succeeds;
# fail the test, naming CMD, if TIMEOUT_S (may be fractional) pass first.
# For a condition the test can observe: a fixed sleep either wastes time or,
# on a loaded machine, is too short. CMD runs in this shell, so it may be a
# function, and one that calls fail (e.g. when the process it waits for died).
wait_until() {
	local secs=$1 deadline
	shift
	deadline=$((${EPOCHREALTIME//[!0-9]/} + $(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000000 }')))
	until "$@"; do
		((${EPOCHREALTIME//[!0-9]/} < deadline)) || fail "timed out after ${secs} s waiting for: $*"
		sleep 0.05
	done
}

ns_setup() {
	ns_cleanup_ns
	ip netns add sg_srv && ip netns add sg_cli || fail "cannot create namespaces"
	ip -n sg_srv link add sgs0 type veth peer name sgc0 netns sg_cli || fail "cannot create veth pair"
	ip -n sg_srv addr add $SRV4/24 dev sgs0
	ip -n sg_srv addr add $SRV6/64 dev sgs0 nodad
	ip -n sg_cli addr add $CLI4/24 dev sgc0
	ip -n sg_cli addr add $CLI6/64 dev sgc0 nodad
	for ns in sg_srv sg_cli; do
		ip -n $ns link set lo up
		# veth hands XDP partial checksums unless tx checksum offload is off
		ip netns exec $ns ethtool -K "$([[ $ns == sg_srv ]] && echo sgs0 || echo sgc0)" tx off >/dev/null 2>&1
	done
	ip -n sg_srv link set sgs0 up
	ip -n sg_cli link set sgc0 up
	# A veth receiving XDP_TX frames needs an XDP program on its peer.
	# (NS_PEER_XDP: another object for it, e.g. the flood tests' sink.)
	ip -n sg_cli link set dev sgc0 xdp obj "${NS_PEER_XDP:-$SG_ROOT/build/xdp_pass.bpf.o}" sec xdp ||
		fail "cannot attach XDP to the client veth"
}

ns_cleanup_ns() {
	local pids
	for ns in sg_srv sg_cli sg_fld; do
		# whatever still runs in it (a server started in the background
		# through srv/cli outlives the subshell that BG_PIDS knows)
		pids=$(ip netns pids $ns 2>/dev/null)
		[[ -n $pids ]] && kill -9 $pids 2>/dev/null
		ip netns del $ns 2>/dev/null
	done
	return 0
}

ns_cleanup() {
	local p
	[[ -n ${SG_PID:-} ]] && kill -INT "$SG_PID" 2>/dev/null && wait "$SG_PID" 2>/dev/null
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ns_cleanup_ns
	rm -rf "$TMPD"
}

# sg_started: synguard printed its start line (fails the test if it exited).
sg_started() {
	grep -q '"type":"start"' "$TMPD/sg.out" 2>/dev/null && return 0
	kill -0 "$SG_PID" 2>/dev/null || { cat "$TMPD/sg.err"; fail "synguard exited early"; }
	return 1
}

# sg_start ARGS...: synguard on sgs0 in sg_srv, JSON to $TMPD/sg.out; waits for the start line.
# (nsenter --net, not ip netns exec: synguard then sees the host's
# /sys/fs/bpf, where libxdp keeps its dispatcher's state; with the private
# /sys of ip netns exec it attaches through a BPF link instead, and says so.)
sg_start() {
	: >"$TMPD/sg.out"
	nsenter --net=/run/netns/sg_srv "$SG" --json "$@" sgs0 >"$TMPD/sg.out" 2>"$TMPD/sg.err" &
	SG_PID=$!
	wait_until 10 sg_started
}

# sg_errors [FILE]: synguard's stderr ($TMPD/sg.err) without its notice
# that it uses a BPF link because the kernel or the BPF filesystem gives
# it no libxdp dispatcher (README: Sharing the interface): a test's "one
# line saying why" holds on every kernel.
sg_errors() {
	grep -v 'attaching through a BPF link instead' "${1:-$TMPD/sg.err}"
}

# sg_stop [SIGNAL]: stop synguard, require exit status 0.
sg_stop() {
	local rc
	kill -"${1:-INT}" "$SG_PID" 2>/dev/null
	wait "$SG_PID"; rc=$?
	SG_PID=
	((rc == 0)) || { cat "$TMPD/sg.err"; fail "synguard exited with $rc"; }
}

# Nothing of ours left on sgs0: no XDP program, no clsact qdisc, no filter.
assert_detached() {
	ip -n sg_srv link show sgs0 | grep -q 'xdp' && fail "XDP program left on sgs0"
	srv tc qdisc show dev sgs0 | grep -q clsact && fail "clsact qdisc left on sgs0"
	srv tc filter show dev sgs0 egress 2>/dev/null | grep -q . && fail "egress filter left on sgs0"
	return 0
}

# tcp_server ARGS...: tcpkit server in sg_srv (background), waits until listening.
tcp_server() {
	local ready=$TMPD/ready.$RANDOM
	srv "$TCPKIT" server --ready-file "$ready" "$@" >"$TMPD/server.out" 2>&1 &
	BG_PIDS+=($!)
	wait_until 5 test -e "$ready"
}

# json_states SIDE [PORT]: the "to" states of one side, comma-separated, in order.
json_states() {
	local side=$1 port=${2:-}
	jq -r --arg side "$side" --arg port "$port" \
		'select(.type=="state" and .side==$side and ($port=="" or (.sport|tostring)==$port)) | .to' \
		"$TMPD/sg.out" | paste -sd, -
}

# summary KEY: a counter from synguard's exit summary.
summary() {
	jq -r --arg k "$1" 'select(.type=="summary") | .[$k]' "$TMPD/sg.out" | tail -n1
}

expect_eq() {
	[[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"
}
