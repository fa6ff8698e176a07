#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# --secret-file end to end: two nodes with one anycast address, the worst
# case of ECMP: every SYN reaches node A, every other segment node B.
#
#   sg_srv (node A): sgs0 10.210.0.1/24   synguard A, a listener on 8080
#   sg_fld (node B): sgf0 10.210.0.1/24   synguard B, a listener on 8080
#   sg_cli: sgc0 10.210.0.2/24 (to A), sgc1 (to B, no address); a TC
#           filter on sgc0's egress sends TCP segments without SYN to B
#           (redirected out of sgc1; sgf0 has sgs0's MAC, as anycast
#           nodes would share the address); B's answers come back on sgc1.
#
# A answers the SYN with a cookie; the client's ACK reaches B, whose
# synguard must validate it (the same fleet key) and hand it to B's
# listener, which accept()s and serves the request. With another key B
# drops the ACK. Nothing leaves the namespaces. Helpers are prefixed fl_.

FL_PORT=8080

fl_setup() {
	local amac
	for t in "$SG" "$TCPKIT" "$SG_ROOT/build/xdp_pass.bpf.o"; do
		[[ -e $t ]] || skip "missing $t (make)"
	done
	command -v jq >/dev/null || skip "jq not installed"
	ns_setup
	ip netns add sg_fld || fail "cannot create sg_fld"
	ip -n sg_fld link add sgf0 type veth peer name sgc1 netns sg_cli || fail "cannot create the second veth pair"
	ip -n sg_fld addr add $SRV4/24 dev sgf0
	ip -n sg_fld link set lo up
	ip -n sg_fld link set sgf0 up
	ip -n sg_cli link set sgc1 up
	ip netns exec sg_fld ethtool -K sgf0 tx off >/dev/null 2>&1
	ip netns exec sg_cli ethtool -K sgc1 tx off >/dev/null 2>&1
	ip -n sg_cli link set dev sgc1 xdp obj "$SG_ROOT/build/xdp_pass.bpf.o" sec xdp ||
		fail "cannot attach XDP to sgc1"
	# B's answers arrive on sgc1 for an address of sgc0
	for c in all default sgc0 sgc1; do cli sysctl -qw net.ipv4.conf.$c.rp_filter=0; done
	ip netns exec sg_fld sysctl -qw net.ipv4.tcp_syncookies=1
	srv sysctl -qw net.ipv4.tcp_syncookies=1
	# one anycast address, one MAC: frames for A are frames for B
	amac=$(ip -n sg_srv -j link show sgs0 | jq -r '.[0].address')
	ip -n sg_fld link set sgf0 address "$amac" || fail "cannot set sgf0's MAC"
	# IPv4 TCP to FL_PORT without SYN (flags byte at IP offset 33, no IP
	# options): out of sgc1, to B (u32 and mirred: the classifier and
	# action every kernel with clsact has)
	cli tc qdisc add dev sgc0 clsact || fail "clsact on sgc0"
	cli tc filter add dev sgc0 egress protocol ip u32 match ip protocol 6 0xff match ip dport $FL_PORT 0xffff \
		match u8 0 0x02 at 33 action mirred egress redirect dev sgc1 || fail "cannot steer segments to node B"
	umask 077
	head -c 32 /dev/urandom >"$TMPD/fleet.key"
	head -c 32 /dev/urandom >"$TMPD/other.key"
	chmod 600 "$TMPD/fleet.key" "$TMPD/other.key"
}

# fl_server NS: a listener on FL_PORT in NS (its output: $TMPD/server.NS).
fl_server() {
	local ns=$1
	ip netns exec "$ns" timeout 100 "$TCPKIT" server --listen 0.0.0.0 --port $FL_PORT --timeout 90 \
		--ready-file "$TMPD/ready.$ns" >"$TMPD/server.$ns" 2>&1 &
	BG_PIDS+=($!)
	wait_until 5 test -e "$TMPD/ready.$ns"
}

# fl_sg NS IFACE KEYFILE: synguard --mode protect there, JSON to $TMPD/sg.NS.
fl_sg() {
	local ns=$1 dev=$2 key=$3
	: >"$TMPD/sg.$ns"
	ip netns exec "$ns" "$SG" --json -q --duration 60 --mode protect --ports $FL_PORT --secret-file "$key" \
		"$dev" >"$TMPD/sg.$ns" 2>"$TMPD/sg.$ns.err" &
	FL_PIDS+=($!)
	BG_PIDS+=($!)
	wait_until 10 grep -q '"type":"start"' "$TMPD/sg.$ns"
}

fl_stop_all() {
	local p
	for p in "${FL_PIDS[@]}"; do kill -INT "$p"; wait "$p" || fail "synguard exited with $?"; done
	FL_PIDS=()
}

# fl_sum NS KEY: a counter of that synguard's exit summary.
fl_sum() {
	jq -r --arg k "$2" 'select(.type=="summary") | .[$k]' "$TMPD/sg.$1" | tail -n1
}

test_fleet_cookie_other_node() {
	local out n=5
	FL_PIDS=()
	fl_setup
	fl_server sg_srv
	fl_server sg_fld
	fl_sg sg_srv sgs0 "$TMPD/fleet.key"
	fl_sg sg_fld sgf0 "$TMPD/fleet.key"
	out=$(cli timeout 30 "$TCPKIT" client --connect $SRV4 --port $FL_PORT --count $n 2>/dev/null | tail -n1)
	fl_stop_all
	info "client: $out"
	info "node A: cookies_sent $(fl_sum sg_srv cookies_sent), handoffs $(fl_sum sg_srv handoffs); node B: cookies_valid $(fl_sum sg_fld cookies_valid), handoffs $(fl_sum sg_fld handoffs), drop_bad_cookie $(fl_sum sg_fld drop_bad_cookie)"
	[[ $(jq -r .reply_ok <<<"$out") == "$n" ]] || fail "the client's $n connections through two nodes: $out"
	(($(fl_sum sg_srv cookies_sent) >= n)) || fail "node A sent $(fl_sum sg_srv cookies_sent) cookies"
	expect_eq "$(fl_sum sg_srv handoffs)" 0 "node A's handoffs (it never saw an ACK)"
	expect_eq "$(fl_sum sg_fld handoffs)" $n "node B's handoffs"
	expect_eq "$(fl_sum sg_fld cookies_sent)" 0 "node B's cookies sent (it never saw a SYN)"
	# (the replies came from B's listener: it accept()ed what B handed off,
	# A's socket never existed)
	return 0
}

test_fleet_other_key_dropped() {
	local out
	FL_PIDS=()
	fl_setup
	fl_server sg_srv
	fl_server sg_fld
	fl_sg sg_srv sgs0 "$TMPD/fleet.key"
	fl_sg sg_fld sgf0 "$TMPD/other.key"
	out=$(cli timeout 30 "$TCPKIT" client --connect $SRV4 --port $FL_PORT --count 2 --io-timeout-ms 1500 \
		2>/dev/null | tail -n1)
	fl_stop_all
	info "client: $out; node B: drop_bad_cookie $(fl_sum sg_fld drop_bad_cookie), handoffs $(fl_sum sg_fld handoffs)"
	expect_eq "$(jq -r .reply_ok <<<"$out")" 0 "connections whose ACK met another fleet key"
	(($(fl_sum sg_fld drop_bad_cookie) >= 2)) || fail "node B dropped $(fl_sum sg_fld drop_bad_cookie) ACKs"
	expect_eq "$(fl_sum sg_fld handoffs)" 0 "node B's handoffs"
	return 0
}
