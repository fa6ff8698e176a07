#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# make fuzz: the frame fuzzer through BPF_PROG_TEST_RUN (FUZZ_CASES cases in
# all, split between monitor, protect and auto; seed FUZZ_SEED, "random" by
# default and then printed), then the libFuzzer target of the userspace
# parsers for FUZZ_TIME seconds. Ends with "fuzz: N passed, M failed"
# (frame cases, plus one for the libFuzzer run); exit 1 on any failure.
# See docs/fuzzing.md.
set -u -o pipefail
cd "$(dirname "$0")/../.."
bdir=${SG_OUT:-build}
cases=${FUZZ_CASES:-10000000}
seed=${FUZZ_SEED:-random}
secs=${FUZZ_TIME:-30}
passed=0 failed=0

echo "== frames: $cases cases through sg_xdp, sg_tc_egress, sg_tc_ingress (monitor, protect, auto)"
start=$(date +%s)
out=$("$bdir"/fuzz_frames --seed "$seed" --cases "$cases" --out "$bdir" 2>&1 | tee /dev/stderr); rc=$?
line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n1)
if [[ -z $line ]]; then
	echo "FAIL fuzz_frames: no summary line (exit $rc)"
	failed=$((failed + 1))
else
	passed=$((passed + $(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")))
	failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
	((rc != 0)) && [[ $line == *" 0 failed" ]] && failed=$((failed + 1))
fi
echo "   ($(($(date +%s) - start)) s)"

echo "== libFuzzer: user/parse.c and include/ parsers, ${secs} s (ASan + UBSan)"
corpus=$bdir/fuzz-corpus/parsers
mkdir -p "$corpus"
# Seeds, one per target (the first byte picks it); libFuzzer grows the corpus.
seed_file() { printf "$2" >"$corpus/seed-$1"; }
seed_file u32 '\000\001\000\000\000\377\377\000\000443'
seed_file seconds '\001\000\061\056\065'
seed_file ports '\002\100\070\060\054\064\064\063\054\070\060\060\060\055\070\060\061\060'
seed_file cidr4 '\00310.0.0.0/8'
seed_file cidr6 '\003fd00::/8'
seed_file opts '\004\377\002\004\005\264\004\002\010\012\000\000\000\001\000\000\000\000\001\003\003\007'
seed_file cookie "\\005$(printf '\\%03o' $(seq 1 80))"
seed_file flow "\\006$(printf '\\%03o' $(seq 2 2 120))"
log=$bdir/fuzz-parsers.log
fseed=()
[[ $seed =~ ^[0-9]+$ ]] && fseed=(-seed=$((seed % 4294967295 + 1)))
"$bdir"/fuzz_parsers -max_total_time="$secs" -print_final_stats=1 -dict=tests/fuzz/parsers.dict \
	-artifact_prefix="$bdir/fuzz-parsers-" "${fseed[@]}" "$corpus" >"$log" 2>&1
rc=$?
grep -E '^INFO: Seed:|stat::number_of_executed_units|stat::new_units_added|^Done [0-9]+ runs' "$log" | sed 's/^/    /'
if ((rc == 0)); then
	passed=$((passed + 1))
	echo "ok   fuzz_parsers: $(grep -oE 'Done [0-9]+ runs' "$log" | tail -n1), corpus $(ls "$corpus" | wc -l) inputs"
else
	failed=$((failed + 1))
	echo "FAIL fuzz_parsers (exit $rc): the input is in $bdir/fuzz-parsers-*; log $log"
	grep -E 'ERROR|SUMMARY|fuzz_parsers:|runtime error' "$log" | head -n 20 | sed 's/^/    /'
fi
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
