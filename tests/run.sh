#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# The test runner (make test): tier 1 unit tests, tier 2 BPF_PROG_TEST_RUN,
# tier 3 integration on veth pairs between namespaces the tests create.
# Ends with "N passed, N failed, N skipped". Usage: tests/run.sh [PATTERN]
# (PATTERN selects integration test functions by substring).
# SG_OUT: the build directory (make passes build, or build/san with SAN=1);
# SG_SAN=1: the sanitizer build, tiers 1 and 2 only.
set -u
cd "$(dirname "$0")/.."
export SG_ROOT=$PWD
pattern=${1:-}
bdir=${SG_OUT:-build}
san=${SG_SAN:-}
passed=0 failed=0 skipped=0
failures=()

# Add "X: N passed, M failed[, K skipped]" from a program's last line.
count_summary() {
	local name=$1 rc=$2 out=$3 line p f s
	line=$(grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n1)
	if [[ -z $line ]]; then
		echo "FAIL $name: no summary line (exit $rc)"
		failed=$((failed + 1)); failures+=("$name")
		return
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	s=0
	[[ $line == *skipped* ]] && s=$(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	if ((f > 0 || rc != 0)); then
		grep -E '^ *FAIL' <<<"$out" | sed 's/^/    /'
		((f == 0)) && failed=$((failed + 1))
		failures+=("$name")
	fi
	echo "$line"
}

if [[ -z $pattern ]]; then
	echo "== tier 1: unit tests${san:+ (ASan + UBSan)}"
	for t in "$bdir"/test_*; do
		[[ $t == "$bdir"/test_prog ]] && continue
		[[ -x $t ]] || continue
		out=$("$t" 2>&1); rc=$?
		count_summary "$(basename "$t")" $rc "$out"
	done

	echo "== tier 2: BPF_PROG_TEST_RUN${san:+ (ASan + UBSan)}"
	res=$("$bdir"/test_prog 2>&1); rc=$?
	count_summary test_prog $rc "$res"
	# A bounded run of the frame fuzzer (make fuzz runs >= 10 M cases): a
	# fixed seed and a random one, both printed, each 150 k cases.
	res=$("$bdir"/fuzz_frames --cases 150000 --seed 1 --seed random --out "$bdir" 2>&1); rc=$?
	grep -E '^seed ' <<<"$res" | sed 's/^/    /'
	count_summary fuzz $rc "$res"
fi

echo "== tier 3: integration (veth pairs between namespaces)"
if [[ -n $san ]]; then
	echo "SKIP tier 3 with SAN=1 (tiers 1 and 2 only)"
	skipped=$((skipped + 1))
elif [[ $(id -u) -ne 0 ]]; then
	echo "SKIP integration: needs root (namespaces, XDP)"
	skipped=$((skipped + 1))
else
	# One integration run at a time on this machine (other checkouts
	# included): the tests' namespaces have fixed names. (The tests do not
	# inherit the lock: a process one leaves behind cannot hold it.)
	exec 9>/run/lock/synguard-integration.lock
	flock 9
	for file in tests/integration/*.sh; do
		[[ $(basename "$file") == lib.sh ]] && continue
		for fn in $(grep -oE '^test_[a-z0-9_]+' "$file"); do
			[[ -n $pattern && $fn != *$pattern* && $file != *$pattern* ]] && continue
			start=$(date +%s.%N)
			out=$(timeout --kill-after=10 300 bash -c \
				"set -u; source tests/integration/lib.sh; source '$file'; trap ns_cleanup EXIT; $fn" 2>&1 9>&-)
			rc=$?
			secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
			if ((rc == 0)); then
				passed=$((passed + 1)); echo "ok   $fn (${secs}s)"
				grep -E '^(info|INFO):' <<<"$out" | sed 's/^/    /'
			elif ((rc == 77)); then
				skipped=$((skipped + 1)); echo "SKIP $fn: $(tail -n1 <<<"$out")"
			else
				failed=$((failed + 1)); failures+=("$fn")
				echo "FAIL $fn (exit $rc, ${secs}s)"; tail -n 25 <<<"$out" | sed 's/^/    /'
			fi
		done
	done
	# Nothing of ours may survive the tests.
	left=$(ip netns list 2>/dev/null | grep -E '^(sg_|sgk_)' || true)
	if [[ -n $left ]]; then
		echo "FAIL leftover namespaces: $left"; failed=$((failed + 1)); failures+=(leftovers)
		for n in $left; do ip netns del "$n" 2>/dev/null; done
	fi
	# nor anything pinned for the tests' interfaces (synguard --pin)
	left=$(cd /sys/fs/bpf/synguard 2>/dev/null && ls -d sg* 2>/dev/null || true)
	if [[ -n $left ]]; then
		echo "FAIL leftover pinned instances: $left"; failed=$((failed + 1)); failures+=(leftover-pins)
		for n in $left; do build/synguard unload "$n" >/dev/null 2>&1; rm -rf "/sys/fs/bpf/synguard/$n"; done
	fi
fi

((${#failures[@]})) && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
