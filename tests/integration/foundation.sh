#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Foundation: attach, count real traffic, detach cleanly; refusals.

test_counts_real_tcp_and_detaches() {
	ns_setup
	sg_start -i 1
	tcp_server --listen $SRV4 --port 8080 --count 5
	cli "$TCPKIT" client --connect $SRV4 --port 8080 --count 5 >"$TMPD/cli.out" || fail "client failed: $(cat "$TMPD/cli.out")"
	wait_until 3 grep -q '"type":"stats"' "$TMPD/sg.out"
	sg_stop INT
	local syn tcp egress
	syn=$(summary syn) tcp=$(summary tcp) egress=$(summary egress_tcp)
	((syn >= 5)) || fail "expected >= 5 SYNs counted, got $syn"
	((tcp >= 20)) || fail "expected >= 20 TCP segments counted, got $tcp"
	((egress >= 15)) || fail "expected >= 15 egress TCP segments, got $egress"
	grep -q '"type":"stats"' "$TMPD/sg.out" || fail "no periodic stats line with -i 1"
	assert_detached
	info "counted syn=$syn tcp=$tcp egress_tcp=$egress"
}

test_sigterm_detaches() {
	ns_setup
	sg_start
	sg_stop TERM
	assert_detached
}

test_refuses_bad_input() {
	ns_setup
	local out rc
	out=$(srv "$SG" no-such-if0 2>&1); rc=$?
	((rc == 1)) || fail "missing interface: exit $rc"
	[[ $(wc -l <<<"$out") -eq 1 && $out == *"does not exist"* ]] || fail "missing interface message: $out"
	out=$("$SG" --interval abc lo 2>&1); rc=$?
	((rc == 2)) || fail "bad interval: exit $rc"
	out=$("$SG" --mode bogus lo 2>&1); rc=$?
	((rc == 2)) || fail "bad mode: exit $rc"
	out=$("$SG" 2>&1); rc=$?
	((rc == 2)) || fail "no interface: exit $rc"
	out=$("$SG" -T bogus lo 2>&1); rc=$?
	((rc == 2)) || fail "bad -T: exit $rc"
	# -T takes its style as the next word (it was taken for the interface)
	out=$(srv "$SG" -T iso -i 0.2 --duration 0.7 sgs0 2>&1); rc=$?
	((rc == 0)) || fail "-T iso sgs0: exit $rc: $out"
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z stats:' <<<"$out" || fail "-T iso: no ISO timestamps: $out"
	"$SG" --help | grep -q -- '--xdp-mode' || fail "--help lacks --xdp-mode"
	"$SG" -V | grep -q 'synguard' || fail "-V"
	# Non-root: refused with a message (nobody exists on Debian).
	if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
		out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$SG" lo 2>&1); rc=$?
		((rc == 1)) && [[ $out == *root* ]] || fail "non-root: exit $rc: $out"
	fi
	# An interface that already has an XDP program: refused without --force.
	ip -n sg_srv link set dev sgs0 xdp obj "$SG_ROOT/build/xdp_pass.bpf.o" sec xdp
	out=$(srv "$SG" --duration 1 sgs0 2>&1); rc=$?
	((rc == 1)) && [[ $out == *"already has an XDP program"* ]] || fail "existing XDP: exit $rc: $out"
	out=$(srv "$SG" --force --duration 0.5 sgs0 2>&1); rc=$?
	((rc == 0)) || fail "--force: exit $rc: $out"
	ip -n sg_srv link show sgs0 | grep -q xdp && fail "--force run left its program attached"
	return 0
}

# A kernel without what the programs use: refused at start with one line
# naming what is missing and the kernel it takes, nothing attached. The
# older kernel is played by an LD_PRELOAD shim over bpf(2)
# (tests/integration/oldkernel.c) that refuses exactly that feature.
test_refuses_old_kernel() {
	local lack want out rc
	command -v gcc >/dev/null || skip "gcc not installed"
	gcc -shared -fPIC -o "$TMPD/oldkernel.so" "$SG_ROOT/tests/integration/oldkernel.c" -ldl ||
		fail "cannot build the oldkernel shim"
	ns_setup
	for lack in ringbuf:5.8 coarse:5.11 cmpxchg:5.12 syscall:5.14 loop:5.17 coarse,loop:5.17; do
		want=${lack#*:} lack=${lack%:*}
		out=$(srv env LD_PRELOAD="$TMPD/oldkernel.so" SG_FAKE_LACK=$lack timeout 30 "$SG" sgs0 2>&1); rc=$?
		((rc == 1)) || fail "kernel without $lack: exit $rc: $out"
		[[ $(wc -l <<<"$out") -eq 1 && $out == "synguard: this kernel lacks "*": needs kernel >= $want" ]] ||
			fail "kernel without $lack: expected one line ending 'needs kernel >= $want', got: $out"
		info "$lack: $out"
	done
	[[ $(srv env LD_PRELOAD="$TMPD/oldkernel.so" SG_FAKE_LACK=coarse,loop "$SG" sgs0 2>&1) == *"bpf_ktime_get_coarse_ns"*"bpf_loop"* ]] ||
		fail "two features missing: both not named"
	assert_detached
}

test_standalone_object_passes_traffic() {
	ns_setup
	ip -n sg_srv link set dev sgs0 xdp obj "$SG_ROOT/build/synguard.bpf.o" sec xdp ||
		fail "ip link ... xdp obj build/synguard.bpf.o sec xdp failed"
	tcp_server --listen $SRV4 --port 8081 --count 3
	cli "$TCPKIT" client --connect $SRV4 --port 8081 --count 3 >"$TMPD/cli.out" || fail "traffic through the standalone object failed"
	ip -n sg_srv link set dev sgs0 xdp off
}

test_skb_mode() {
	ns_setup
	sg_start --xdp-mode skb
	tcp_server --listen $SRV4 --port 8082 --count 2
	cli "$TCPKIT" client --connect $SRV4 --port 8082 --count 2 >/dev/null || fail "client failed in skb mode"
	sg_stop
	grep -q '"xdp_mode":"skb"' "$TMPD/sg.out" || fail "mode not reported"
	assert_detached
}
