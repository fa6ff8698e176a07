#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#
# make bench: synguard side by side with what users would pick instead.
# Writes build/bench/results.json and prints a table. Root; a few minutes.
#
#   1. ns/packet of the XDP paths (build/bench_ns, BPF_PROG_TEST_RUN, see
#      tests/bench/bench_ns.c), in its own netns sgb_ns, and of the anchor:
#      the kernel's BPF selftest xdp_synproxy_kern.c, built from Debian's
#      linux-source-6.12 (tests/bench/anchor_build.sh), timed the same way;
#      results.json: anchor.*, ratio.* (synguard over-baseline ns / the
#      anchor's) and goals.*.
#   2. SYN-flood capacity on a veth pair: the same max-rate spoofed SYN flood
#      against (a) the kernel alone with tcp_syncookies=1, (b) nftables
#      SYNPROXY, (c) synguard --mode protect, with a legitimate client
#      connecting during each flood; $FLOOD_RUNS runs of each, the median
#      kept. Then each again, paced at $PACE of the rate it answered
#      (*_paced): what a defence does for legitimate clients at the edge
#      of its capacity. At full offer the excess is refused at the veth's
#      receive ring, which the legitimate client's packets share, before
#      any defence sees it: no defence can do better than answered/offered
#      there, so legitimate success is judged on the paced run. The generator is build/xdpgen (BPF_PROG_TEST_RUN live frames,
#      several Mpps from one core: the receive core saturates first);
#      SGB_GEN=synflood brings back the AF_PACKET one (~0.8 Mpps, which
#      synguard outran).
#   3. events/s streamed through `synguard --json` (monitor mode), and a
#      forced ring-buffer overflow to show losses are counted.
#   4. memory per tracked flow (key + value, and the hash map's own cost).
#   5. the /metrics scrape (--metrics) with 262,144 tracked flows, as a
#      scraper sees it (curl's time_total), while the sweeper walks them.
#   6. time to protection: attach_ms, from the exec of `synguard [--mode
#      protect] sgbs0` to its start record (median of 5 each).
#
# Namespaces (all created here, removed on exit, also on failure/Ctrl-C):
#   sgb_ns   bench_ns only (a listener for the protect-mode test runs)
#   sgb_srv  sgbs0 10.220.0.1/24: the server (tcpkit, default backlog 128)
#   sgb_cli  sgbc0 10.220.0.2/24: the legitimate client and the generator;
#            the spoofed range 10.0.0.0/9 is routed from sgb_srv back to it
# CPU layout: the server veth's receive path (threaded NAPI kthread
# napi/sgbs0-*) on CPU $RX_CPU; the generator and the client veth's NAPI
# kthread on CPU $GEN_CPU. Nothing leaves the namespaces.
#
# Environment: SGB_FLOOD_SECS (default 8), SGB_FLOOD_RUNS (default 3),
# SGB_GEN (xdpgen or synflood, default xdpgen), SGB_LEGIT (connections, default
# 300), SGB_PACE (the paced runs' fraction of the answered rate, default 0.9), SGB_NS_CALLS / SGB_NS_ROUNDS (bench_ns, default 20000 / 7),
# SGB_EV_RUNS (events runs, default 3),
# SGB_SKIP (space-separated phases to skip: ns flood events memory metrics attach).
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${SGB_BUILD:-$ROOT/build}	# SGB_BUILD: binaries from another build dir
OUT=$B/bench
SG=$B/synguard TCPKIT=$B/tcpkit FLOOD=$B/synflood PASS_OBJ=$B/xdp_pass.bpf.o
XDPGEN=$B/xdpgen
GEN=${SGB_GEN:-xdpgen}
FLOOD_RUNS=${SGB_FLOOD_RUNS:-3}
BENCH_NS=$ROOT/build/bench_ns
EV_DRIVER=$ROOT/build/evdrive.bpf.o	# bench_ns --events' SYN driver
SINK_OBJ=$B/xdp_sink.bpf.o
FLOOD_SECS=${SGB_FLOOD_SECS:-8}
LEGIT=${SGB_LEGIT:-300}
PACE=${SGB_PACE:-0.9}
NS_CALLS=${SGB_NS_CALLS:-20000}
NS_ROUNDS=${SGB_NS_ROUNDS:-7}
EV_RUNS=${SGB_EV_RUNS:-3}
SKIP=" ${SGB_SKIP:-} "
RX_CPU=0 GEN_CPU=1
# The spoofed range: 32,768 /24s, so that the reflection cap (--synack-cap,
# 5000 SYN-ACKs/s per /24 by default) does not bite at several Mpps: the
# flood measures capacity, with the cap's per-SYN cost paid as users run it.
SRV=10.220.0.1 CLI=10.220.0.2 SPOOF=10.0.0.0/9 PORT=8080
NSS=(sgb_ns sgb_srv sgb_cli)
TMPD=$(mktemp -d /tmp/sgbench.XXXXXX)
PIDS=()		# background processes we started (killed by PID on exit)
SG_PID=

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
srv() { ip netns exec sgb_srv "$@"; }
cli() { ip netns exec sgb_cli "$@"; }

cleanup() {
	local p
	[[ -n $SG_PID ]] && kill -INT "$SG_PID" 2>/dev/null && wait "$SG_PID" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

((EUID == 0)) || die "make bench needs root (namespaces, XDP, BPF_PROG_TEST_RUN)"
# Not while make test's integration tier runs on this machine (other
# checkouts included), nor the other way round: both attach synguard to
# veths, and a test that lists the links bound to its interface index
# cannot tell another namespace's from its own. (The same lock as
# tests/run.sh; held until exit, and cleanup() ends what we start.)
exec 9>/run/lock/synguard-integration.lock
flock 9
case $GEN in
xdpgen) GEN_BIN=$XDPGEN GEN_COUNT=1000000000 ;;	# (its own limit; 8 s at 100 Mpps)
synflood) GEN_BIN=$FLOOD GEN_COUNT=100000000 ;;
*) die "SGB_GEN=$GEN: xdpgen or synflood" ;;
esac
for f in "$SG" "$TCPKIT" "$GEN_BIN" "$PASS_OBJ" "$BENCH_NS" "$EV_DRIVER"; do
	[[ -x $f || -f $f ]] || die "$f missing: run make"
done
for c in jq nft ethtool nstat taskset clang; do
	command -v $c >/dev/null || die "$c not found (tests/deps.sh installs it)"
done
mkdir -p "$OUT"
for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done

# ---- helpers -----------------------------------------------------------

# Busy % of each CPU over $1 seconds: prints "cpu0 cpu1 ..." busy values.
cpu_busy() {
	local a b
	a=$(grep -E '^cpu[0-9]' /proc/stat)
	sleep "$1"
	b=$(grep -E '^cpu[0-9]' /proc/stat)
	paste <(echo "$a") <(echo "$b") | awk '{n=NF/2; t1=0; t2=0
		for (i=2;i<=n;i++) { t1+=$i; t2+=$(i+n) }
		idle=($(5+n)+$(6+n))-($5+$6); printf "%.0f ", 100*(1-idle/(t2-t1)) }'
}

# Wait (up to 30 s) until the machine is idle, so other work does not skew
# the figures; warns (and records) when it never gets there.
NOISE=()
wait_idle() {
	local what=$1 b max
	for _ in $(seq 30); do
		b=$(cpu_busy 1)
		max=$(tr ' ' '\n' <<<"$b" | sort -n | tail -n1)
		((max < 20)) && return 0
	done
	log "warning: machine busy (CPU busy: $b%) before $what; figures may be low"
	NOISE+=("$what: CPUs busy $b% before the run")
}

# Processes busy during a measurement that are not part of it.
note_others() {
	local what=$1 o
	o=$(top -b -n1 -w 200 | awk 'NR>7 && $9+0 >= 20 {print $12"("$9"%)"}' |
		grep -vE '^(napi/sgb|synflood|xdpgen|synguard|tcpkit|top|bench_ns)' | paste -sd' ' -)
	[[ -n $o ]] && { log "warning: other busy processes during $what: $o"; NOISE+=("$what: other busy processes: $o"); }
	return 0
}

# newest kthread napi/DEV-<napi id> (an old netns may still be going away)
napi_pid() { ps -eo pid,comm --sort=start_time | awk -v p="napi/$1-" 'index($2, p) == 1 {print $1}' | tail -n1; }

# Threaded NAPI for a veth (needs NAPI: XDP attached) and pin its kthread.
napi_pin() {
	local ns=$1 dev=$2 cpu=$3 pid
	ip netns exec "$ns" sh -c "echo 1 > /sys/class/net/$dev/threaded" 2>/dev/null ||
		die "cannot enable threaded NAPI on $dev (no NAPI: is an XDP program attached?)"
	pid=$(napi_pid "$dev")
	[[ -n $pid ]] || die "no napi/$dev-* kthread after enabling threaded NAPI"
	taskset -pc "$cpu" "$pid" >/dev/null || die "cannot pin napi/$dev to CPU $cpu"
}

# The generator's sink: XDP on the client veth that drops frames to the
# spoofed range (the SYN-ACKs the flood provokes; on a real network they
# would leave for the spoofed hosts) and passes everything else, including
# XDP_TX frames for the real client. It also serves as the XDP program a
# veth receiving XDP_TX frames needs on its peer (see docs/design.md).

# Fresh sgb_srv/sgb_cli pair; $1 = XDP program for sgbs0 ("pass" or "none").
topo_setup() {
	for ns in sgb_srv sgb_cli; do ip netns del $ns 2>/dev/null; done
	# netns removal is asynchronous: wait until the old veth's NAPI kthreads
	# are gone, or we could pin the wrong one
	for _ in $(seq 100); do
		[[ -z $(napi_pid sgbs0)$(napi_pid sgbc0) ]] && break
		sleep 0.1
	done
	ip netns add sgb_srv && ip netns add sgb_cli || die "cannot create namespaces"
	ip -n sgb_srv link add sgbs0 type veth peer name sgbc0 netns sgb_cli || die "veth"
	ip -n sgb_srv addr add $SRV/24 dev sgbs0
	ip -n sgb_cli addr add $CLI/24 dev sgbc0
	for ns in sgb_srv sgb_cli; do ip -n $ns link set lo up; done
	# veth hands XDP partial checksums unless tx checksum offload is off
	srv ethtool -K sgbs0 tx off >/dev/null 2>&1
	cli ethtool -K sgbc0 tx off >/dev/null 2>&1
	ip -n sgb_srv link set sgbs0 up
	ip -n sgb_cli link set sgbc0 up
	ip -n sgb_srv route add $SPOOF via $CLI || die "route for the spoofed range"
	srv sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.sgbs0.rp_filter=0 \
		net.ipv4.tcp_syncookies=1 >/dev/null
	ip -n sgb_cli link set dev sgbc0 xdp obj "$SINK_OBJ" sec xdp || die "XDP sink on sgbc0"
	napi_pin sgb_cli sgbc0 $GEN_CPU
	# The return path must not lose the legitimate client's SYN-ACKs because
	# the generator hogs CPU $GEN_CPU: the client veth's NAPI kthread runs
	# SCHED_FIFO there (it only drops/passes frames; the generator gets the rest).
	chrt -f -p 10 "$(napi_pid sgbc0)" || die "cannot make napi/sgbc0 SCHED_FIFO"
	if [[ $1 == pass ]]; then
		ip -n sgb_srv link set dev sgbs0 xdp obj "$PASS_OBJ" sec xdp || die "XDP_PASS on sgbs0"
		napi_pin sgb_srv sgbs0 $RX_CPU
	fi
	cli ping -c1 -W2 $SRV >/dev/null 2>&1 || true
}

# tcpkit server in sgb_srv (default backlog 128); sets SRV_PID.
server_start() {
	local ready=$TMPD/ready.$RANDOM
	ip netns exec sgb_srv "$TCPKIT" server --listen 0.0.0.0 --port $PORT --ready-file "$ready" \
		--timeout $((FLOOD_SECS + 60)) >"$TMPD/server.out" 2>&1 &
	SRV_PID=$!
	PIDS+=($SRV_PID)
	for _ in $(seq 50); do [[ -e $ready ]] && return 0; sleep 0.1; done
	die "tcpkit server did not start: $(cat "$TMPD/server.out")"
}

server_stop() { kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=; }

# synguard in sgb_srv on sgbs0, JSON to $TMPD/sg.out; sets SG_PID.
sg_start() {
	: >"$TMPD/sg.out"
	ip netns exec sgb_srv "$SG" "$@" sgbs0 >"$TMPD/sg.out" 2>"$TMPD/sg.err" &
	SG_PID=$!
	for _ in $(seq 100); do
		grep -q '"type":"start"' "$TMPD/sg.out" 2>/dev/null && return 0
		kill -0 $SG_PID 2>/dev/null || { SG_PID=; return 1; }
		sleep 0.1
	done
	return 1
}

sg_stop() {
	[[ -n $SG_PID ]] || return 0
	kill -INT "$SG_PID" 2>/dev/null
	wait "$SG_PID" 2>/dev/null
	SG_PID=
}

link_stat() {	# NS DEV rx|tx packets|dropped
	ip -n "$1" -s -j link show "$2" | jq -r ".[0].stats64.$3.$4"
}

nstat_val() {	# NS COUNTER: absolute value
	ip netns exec "$1" nstat -az "$2" 2>/dev/null | awk -v k="$2" '$1==k {print $2}' | tail -n1
}

synproxy_stat() {	# column (1 = syn_received, 3 = cookie_valid) summed over CPUs
	local s=0 v
	for v in $(srv cat /proc/net/stat/synproxy 2>/dev/null | awk -v c="$1" 'NR>1 {print $(c+1)}'); do
		s=$((s + 16#$v))
	done
	echo $s
}

# tests/run.sh (make test) removes every sgb_* namespace it finds at its end:
# a concurrent make test would pull the floor from under us. Say so clearly.
ns_alive() {
	local ns
	for ns in "$@"; do
		ip netns list | grep -qw "$ns" ||
			die "namespace $ns vanished during the run (a concurrent 'make test' removes sgb_* namespaces); run make bench alone"
	done
}

# ---- 1. ns/packet ------------------------------------------------------

NS_JSON='{}'
phase_ns() {
	log "ns/packet: BPF_PROG_TEST_RUN, $NS_ROUNDS rounds x $NS_CALLS runs per case, CPU $RX_CPU"
	ip netns add sgb_ns || die "cannot create sgb_ns"
	ip -n sgb_ns link set lo up
	# the anchor (or build/anchor/why); up to date: nothing to do
	bash "$ROOT/tests/bench/anchor_build.sh"
	wait_idle "ns/packet"
	(cd "$ROOT" && ip netns exec sgb_ns "$BENCH_NS" --cpu $RX_CPU --calls "$NS_CALLS" \
		--rounds "$NS_ROUNDS" --port $PORT --anchor "$ROOT/build/anchor/xdp_synproxy_kern.bpf.o" \
		>"$TMPD/ns.json" 2>"$TMPD/ns.err") ||
		{ cat "$TMPD/ns.err" >&2; die "bench_ns failed"; }
	grep -v '^bench_ns: round' "$TMPD/ns.err" >&2
	NS_JSON=$(cat "$TMPD/ns.json")
	jq -e . >/dev/null <<<"$NS_JSON" || die "bench_ns printed invalid JSON"
	ip netns del sgb_ns
}

# ---- 2. flood capacity -------------------------------------------------

declare -A FLOOD_JSON
# flood_run NAME: the topology and config are set up; runs the flood with
# the legitimate client and stores FLOOD_JSON[NAME].
flood_run() {
	local name=$1 rate=${2:-} mac fpid cpid busy b0 a0 t0 d0 ck0 sp0 spv0 na nb nd nck nsp nspv fl cl
	local sent secs pps att ok succ p50 p99 rxpps answered native x0 x1
	mac=$(ip -n sgb_srv -j link show sgbs0 | jq -r '.[0].address')
	# sanity: a legitimate connection works before the flood
	cli "$TCPKIT" client --connect $SRV --port $PORT --count 3 --connect-timeout-ms 1000 \
		>"$TMPD/pre.out" 2>&1 || { log "$name: legitimate connections fail even without a flood: $(cat "$TMPD/pre.out")"; }
	wait_idle "flood $name"
	b0=$(link_stat sgb_srv sgbs0 rx packets)
	a0=$(link_stat sgb_cli sgbc0 rx packets)
	d0=$(link_stat sgb_cli sgbc0 tx dropped)
	ck0=$(nstat_val sgb_srv TcpExtSyncookiesSent)
	sp0=$(synproxy_stat 1)
	spv0=$(synproxy_stat 3)
	x0=$(xmit_stat)
	ip netns exec sgb_cli taskset -c $GEN_CPU "$GEN_BIN" -i sgbc0 --dst $SRV --dport $PORT --src $SPOOF --dst-mac "$mac" \
		--count $GEN_COUNT --duration "$FLOOD_SECS" ${rate:+--rate $rate --repeat 16777216} >"$TMPD/flood.out" 2>"$TMPD/flood.err" &
	fpid=$!
	PIDS+=($fpid)
	sleep 1
	# the legitimate client: $LEGIT connections spread over the flood, each
	# request + reply, 1 s connect timeout
	ip netns exec sgb_cli "$TCPKIT" client --connect $SRV --port $PORT --count "$LEGIT" --parallel 8 \
		--interval-ms $(((FLOOD_SECS - 3) * 1000 / LEGIT)) --connect-timeout-ms 1000 \
		--timeout $((FLOOD_SECS - 1)) >"$TMPD/legit.out" 2>&1 &
	cpid=$!
	PIDS+=($cpid)
	busy=$(cpu_busy 3)
	note_others "flood $name"
	wait $cpid
	ns_alive sgb_srv sgb_cli
	wait $fpid || log "$name: synflood exited with an error: $(cat "$TMPD/flood.err")"
	sleep 0.5
	nb=$(link_stat sgb_srv sgbs0 rx packets)
	na=$(link_stat sgb_cli sgbc0 rx packets)
	nd=$(link_stat sgb_cli sgbc0 tx dropped)
	nck=$(nstat_val sgb_srv TcpExtSyncookiesSent)
	nsp=$(synproxy_stat 1)
	nspv=$(synproxy_stat 3)
	x1=$(xmit_stat)
	fl=$(tail -n1 "$TMPD/flood.out")
	cl=$(tail -n1 "$TMPD/legit.out")
	jq -e . >/dev/null 2>&1 <<<"$fl" || { log "$name: no generator output: $(cat "$TMPD/flood.err")"; fl='{}'; }
	jq -e . >/dev/null 2>&1 <<<"$cl" || { log "$name: no client output: $(cat "$TMPD/legit.out")"; cl='{}'; }
	secs=$(jq -r '.seconds // 0' <<<"$fl")
	FLOOD_JSON[$name]=$(jq -n --argjson fl "$fl" --argjson cl "$cl" --arg busy "$busy" \
		--argjson rx $((nb - b0)) --argjson ans $((na - a0)) --argjson drop $((nd - d0)) \
		--argjson ck $(( ${nck:-0} - ${ck0:-0} )) --argjson sp $((nsp - sp0)) --argjson spv $((nspv - spv0)) \
		--argjson secs "$secs" --argjson x0 "$x0" --argjson x1 "$x1" --arg retries "$(grep -oE '[0-9]+ transient' "$TMPD/flood.err" | grep -oE '[0-9]+')" \
		'def r: . * 10 | round / 10;
		 ($busy | split(" ") | map(select(. != "") | tonumber)) as $b |
		 {offered_pps: ($fl.pps // null | if . then round else . end),
		  rx_pps: null,
		  client_rx_pps: (if $secs > 0 then ($ans / $secs | round) else null end),
		  legit_success: (if ($cl.attempted // 0) > 0 then
			(100 * ($cl.attempted - $cl.failed) / $cl.attempted | r) else null end),
		  connect_p50_ms: ($cl.connect_p50_ms // null),
		  connect_p99_ms: ($cl.connect_p99_ms // null),
		  request_p50_ms: ($cl.request_p50_ms // null),
		  request_p99_ms: ($cl.request_p99_ms // null),
		  server_veth_rx_pps: (if $secs > 0 then ($rx / $secs | round) else null end),
		  generator_sent: ($fl.sent // null), generator_seconds: $secs,
		  generator_enobufs_retries: ($retries | tonumber? // 0),
		  generator_tx_dropped: $drop,
		  legit: $cl, rx_cpu_busy_pct: $b[0], gen_cpu_busy_pct: $b[1],
		  kernel_syncookies_sent: $ck, synproxy_syn_received: $sp, synproxy_cookie_valid: $spv,
		  generator_xdp_xmit: ($x1[0] - $x0[0]), generator_xdp_xmit_errors: ($x1[1] - $x0[1])}')
}

# The client veth's XDP transmit counters, [frames into the server veth's
# ring, frames refused because it was full] (xdpgen's frames; 0 for
# synflood's, which take the skb path).
xmit_stat() {
	cli ethtool -S sgbc0 2>/dev/null | awk '/^ *tx_queue_[0-9]+_xdp_xmit:/ {x += $2}
		/^ *tx_queue_[0-9]+_xdp_xmit_errors:/ {e += $2} END {printf "[%d,%d]\n", x, e}'
}

# $FLOOD_RUNS runs of the three floods; FLOOD_JSON[X] becomes the median
# of each figure over the runs, plus the runs themselves. cpu_ns_per_syn:
# receive CPU busy % x 1e9 / answered per second (what one answered SYN
# costs the receive core; meaningful when it is saturated, rx_saturated).
phase_flood() {
	local r k
	local -A runs=()
	if (($(nproc) < 2)); then
		log "flood: needs 2 CPUs, skipped"
		return
	fi
	for ((r = 1; r <= FLOOD_RUNS; r++)); do
		log "flood run $r/$FLOOD_RUNS (generator $GEN)"
		flood_once
		for k in $FLOOD_KEYS; do
			runs[$k]+="${FLOOD_JSON[$k]:-null}"$'\n'
		done
	done
	for k in $FLOOD_KEYS; do
		FLOOD_JSON[$k]=$(jq -s -c --arg gen "$GEN" '
		  def med: map(select(type == "number")) | sort |
			if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		  map(select(. != null) | . + {cpu_ns_per_syn: (if (.rx_pps // 0) > 0 and .rx_cpu_busy_pct != null
			then (.rx_cpu_busy_pct / 100 * 1e9 / .rx_pps | round) else null end),
			rx_saturated: (if .rx_cpu_busy_pct != null then .rx_cpu_busy_pct >= 95 else null end)}) as $runs |
		  if ($runs | length) == 0 then null else
		  # the median run by answered rate gives the fields that are not numbers
		  ($runs | sort_by(.rx_pps // 0) | .[(length - 1) / 2 | floor]) as $mid |
		  reduce ($mid | keys[]) as $key ($mid;
			if ([$runs[][$key]] | map(select(type == "number")) | length) > 0
			then .[$key] = ([$runs[][$key]] | med) else . end) |
		  .rx_saturated = ([$runs[].rx_saturated] | all) |
		  . + {generator: $gen, runs: [$runs[] | {offered_pps, rx_pps, rx_cpu_busy_pct, cpu_ns_per_syn,
			legit_success, connect_p50_ms, connect_p99_ms, generator_xdp_xmit, generator_xdp_xmit_errors}]}
		  end' <<<"${runs[$k]}")
	done
}

# The three at full offer, then each paced at $PACE of what it answered
# (*_paced: its receive core near saturation, the ring not overflowing).
FLOOD_KEYS="kernel_syncookies nft_synproxy synguard kernel_syncookies_paced nft_synproxy_paced synguard_paced"

# pace_rate NAME: $PACE x the answered rate of NAME's run just made (empty
# when there is none: no paced run).
pace_rate() {
	jq -r --argjson p "$PACE" '(.rx_pps // 0) * $p | floor | select(. > 0)' <<<"${FLOOD_JSON[$1]:-null}" 2>/dev/null
}

# Answered rate of a kernel / SYNPROXY run, from the counters flood_run read.
post_kernel() {
	FLOOD_JSON[$1]=$(jq -c '.rx_pps = (if .generator_seconds > 0 then
		(.kernel_syncookies_sent / .generator_seconds | round) else null end) |
		.rx_pps_source = "nstat TcpExtSyncookiesSent / s"' <<<"${FLOOD_JSON[$1]}")
}
post_synproxy() {
	FLOOD_JSON[$1]=$(jq -c '.rx_pps = (if .generator_seconds > 0 then
		(.synproxy_syn_received / .generator_seconds | round) else null end) |
		.rx_pps_source = "/proc/net/stat/synproxy syn_received / s"' <<<"${FLOOD_JSON[$1]}")
}

# synguard --mode protect for one flood (NAME, [RATE]), its answered rate
# from its exit summaries.
sg_flood() {
	if sg_start --mode protect --ports $PORT --json -q; then
		napi_pin sgb_srv sgbs0 $RX_CPU
		flood_run "$@"
		sg_stop
		FLOOD_JSON[$1]=$(jq -c --slurpfile s <(jq -c 'select(.type=="cookie_summary" or .type=="summary")' "$TMPD/sg.out") \
			'. + {cookies_sent: ([$s[] | select(.type=="cookie_summary") | .sent] | add),
			      cookies_validated: ([$s[] | select(.type=="cookie_summary") | .validated] | add)} |
			 .rx_pps = (if .generator_seconds > 0 and .cookies_sent then (.cookies_sent / .generator_seconds | round) else null end) |
			 .rx_pps_source = "synguard cookie_summary sent (SYN-ACKs sent with XDP_TX) / s"' \
			<<<"${FLOOD_JSON[$1]}")
	else
		log "flood (c): synguard --mode protect did not start: $(head -c 600 "$TMPD/sg.err")"
		FLOOD_JSON[$1]=$(jq -n --arg e "$(grep -m1 'synguard:' "$TMPD/sg.err")" \
			'{offered_pps: null, rx_pps: null, legit_success: null, connect_p50_ms: null,
			  connect_p99_ms: null, request_p50_ms: null, request_p99_ms: null, note: ("n/a (cookie path not available): " + $e)}')
	fi
}

kernel_flood() { flood_run "$@"; post_kernel "$1"; }
synproxy_flood() { flood_run "$@"; post_synproxy "$1"; }

# flood_both NAME RUN WHAT: RUN NAME (a flood at full offer and its answered
# rate), then RUN NAME_paced RATE at $PACE of that rate.
flood_both() {
	local rate
	"$2" "$1"
	rate=$(pace_rate "$1")
	[[ -n $rate ]] || return 0
	log "flood: $3, paced at $rate SYN/s"
	"$2" "$1_paced" "$rate"
}

# One flood against each of the three, and one paced.
flood_once() {
	local s
	# (a) the kernel alone: SYN cookies, XDP_PASS on sgbs0 (the same veth
	#     NAPI receive path as synguard, so only the SYN handling differs)
	log "flood (a): kernel alone, tcp_syncookies=1, XDP_PASS on the server veth"
	topo_setup pass
	server_start
	flood_both kernel_syncookies kernel_flood "kernel alone"
	server_stop

	# (b) nftables SYNPROXY (standard rules), XDP_PASS on sgbs0
	log "flood (b): nftables SYNPROXY"
	topo_setup pass
	srv nft -f - <<-EOF || die "nft synproxy rules"
	table ip sp {
		chain pre {
			type filter hook prerouting priority raw;
			tcp dport $PORT tcp flags syn notrack
		}
		chain in {
			type filter hook input priority filter;
			tcp dport $PORT ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
			ct state invalid drop
		}
	}
	EOF
	srv sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 net.ipv4.tcp_syncookies=1 >/dev/null ||
		die "conntrack sysctls"
	server_start
	flood_both nft_synproxy synproxy_flood "nftables SYNPROXY"
	server_stop
	s=$(jq -r .synproxy_syn_received <<<"${FLOOD_JSON[nft_synproxy]}")
	((s > 0)) || log "warning: SYNPROXY never engaged (synproxy syn_received = 0)"
	FLOOD_JSON[nft_synproxy]=$(jq -c --arg r "$(srv nft list ruleset | tr '\n\t' '  ' | tr -s ' ')" \
		'. + {ruleset: $r}' <<<"${FLOOD_JSON[nft_synproxy]}")

	# (c) synguard --mode protect on sgbs0
	log "flood (c): synguard --mode protect --ports $PORT"
	topo_setup none
	server_start
	flood_both synguard sg_flood "synguard --mode protect"
	server_stop
}

# ---- 3. events/s -------------------------------------------------------

EV_JSON='{}'
EV_RES='{}'
# ev_run COUNT [stop]: synguard --json in monitor mode on sgbs0 (pinned to
# CPU $GEN_CPU), every SYN printed (--syn-summary 1e8), stdout piped into
# `tail -n 20` (it keeps only the exit summary and discards the rest, as
# /dev/null would, at one read() per 64 KiB). bench_ns --events, on CPU
# $RX_CPU, runs COUNT new-flow SYNs through synguard's own XDP program with
# BPF_PROG_TEST_RUN (one transition each: client CLOSED -> SYN_SENT) and
# waits until synguard's consumer has read the whole ring buffer. The SYNs
# come from build/evdrive.bpf.o (tests/evdrive.bpf.c), which writes each
# new 4-tuple into the frame and tail-calls synguard's program, all in one
# BPF_PROG_TEST_RUN call with repeat=COUNT (one call per SYN cost more
# than the events it was to measure).
# "stop": SIGSTOP synguard for 2 s meanwhile (forced ring-buffer overflow).
ev_run() {
	local count=$1 mode=${2:-} prog dpid drv tsum summ
	EV_RES='{}'
	topo_setup none
	: >"$TMPD/ev.out"
	# ip netns exec execs synguard: $! is synguard itself
	ip netns exec sgb_srv taskset -c $GEN_CPU "$SG" --json --syn-summary 100000000 \
		--max-halfopen 4194304 --half-open 600 sgbs0 \
		2>"$TMPD/ev.err" > >(tail -n 20 >"$TMPD/ev.out") &
	SG_PID=$!
	for _ in $(seq 150); do
		prog=$(ip -n sgb_srv -j link show sgbs0 | jq -r '.[0].xdp.prog.id // empty')
		[[ -n $prog ]] && break
		sleep 0.1
	done
	[[ -n $prog ]] || { log "events: synguard did not attach: $(cat "$TMPD/ev.err")"; sg_stop; return 1; }
	sleep 0.5
	wait_idle "events"
	ip netns exec sgb_srv "$BENCH_NS" --events "$prog" --count "$count" --cpu $RX_CPU \
		--driver "$EV_DRIVER" >"$TMPD/drv.out" 2>"$TMPD/drv.err" &
	dpid=$!
	PIDS+=($dpid)
	if [[ $mode == stop ]]; then
		sleep 0.3
		kill -STOP "$SG_PID"
		sleep 2
		kill -CONT "$SG_PID"
	fi
	wait $dpid || log "events: bench_ns --events failed: $(cat "$TMPD/drv.err")"
	sg_stop
	for _ in $(seq 50); do grep -q track_summary "$TMPD/ev.out" && break; sleep 0.1; done
	drv=$(tail -n1 "$TMPD/drv.out")
	tsum=$(jq -c 'select(.type=="track_summary")' "$TMPD/ev.out" 2>/dev/null | tail -n1)
	summ=$(jq -c 'select(.type=="summary")' "$TMPD/ev.out" 2>/dev/null | tail -n1)
	jq -e . >/dev/null 2>&1 <<<"$drv" || drv=null
	EV_RES=$(jq -n --argjson d "$drv" --argjson t "${tsum:-null}" --argjson s "${summ:-null}" \
		'{syns: $d.syns, drive_pps: $d.drive_pps, seconds: $d.drained_s, drained: $d.drained,
		  transitions: $t.transitions, lost_events: $t.lost_events,
		  events_per_s: (if ($d.drained_s // 0) > 0 and $t.transitions then ($t.transitions / $d.drained_s | round) else null end),
		  transitions_plus_lost: (if $t.transitions then $t.transitions + $t.lost_events else null end),
		  all_counted: (if $t.transitions and $d.syns then ($t.transitions + $t.lost_events == $d.syns) else null end)}')
}

# $EV_RUNS runs; events_per_s is their median (run: the median run), lost
# their sum: the goal is the median rate with nothing lost in any run.
phase_events() {
	local runs='' loss r
	for ((r = 1; r <= EV_RUNS; r++)); do
		log "events/s run $r/$EV_RUNS: monitor mode, every SYN printed, 1M new flows driven through synguard's XDP program"
		ev_run 1000000
		runs+="$EV_RES"$'\n'
	done
	log "events/s: forced loss (consumer stopped for 2 s)"
	ev_run 1000000 stop
	loss=$EV_RES
	EV_JSON=$(jq -s -c --argjson l "$loss" '
		map(select(.events_per_s != null)) as $r |
		{run: (if ($r | length) > 0 then ($r | sort_by(.events_per_s) | .[(length - 1) / 2 | floor]) else {} end),
		 lost_all_runs: (if ($r | length) > 0 then ([$r[].lost_events] | add) else null end),
		 runs: [.[] | {events_per_s, lost_events, drive_pps, seconds, all_counted}],
		 forced_loss: $l}' <<<"$runs")
}

# ---- 4. memory per flow ------------------------------------------------

MEM_JSON='{}'
map_memlock() {	# memlock of synguard's map $1 (sg_flows4, sg_flows: the XDP prog's on sgbs0)
	local prog ids id
	prog=$(ip -n sgb_srv -j link show sgbs0 | jq -r '.[0].xdp.prog.id // empty')
	[[ -n $prog ]] || return 1
	ids=$(bpftool prog show id "$prog" -j | jq -r '.map_ids[]')
	for id in $ids; do
		bpftool map show id "$id" -j | jq -r --arg n "$1" 'select(.name==$n) | .bytes_memlock'
	done
}

phase_memory() {
	local n1=65536 n2=262144 m1 m2 q1 q2
	log "memory: sg_flows4 and sg_flows memlock at --max-flows $n1 and $n2"
	topo_setup none
	sg_start --json -q --max-flows $n1 || { log "memory: synguard did not start"; return; }
	m1=$(map_memlock sg_flows)
	q1=$(map_memlock sg_flows4)
	sg_stop
	sg_start --json -q --max-flows $n2 || { log "memory: synguard did not start"; return; }
	m2=$(map_memlock sg_flows)
	q2=$(map_memlock sg_flows4)
	sg_stop
	# the top level: sg_flows (IPv6, and until issue 14 every flow); .ipv4: sg_flows4
	MEM_JSON=$(jq -n --argjson n1 $n1 --argjson n2 $n2 --argjson m1 "${m1:-null}" --argjson m2 "${m2:-null}" \
		--argjson q1 "${q1:-null}" --argjson q2 "${q2:-null}" '
		def per($a; $b; $kv): {memlock_bytes: {($n1|tostring): $a, ($n2|tostring): $b},
			map_bytes_per_flow: (if $a and $b then (($b - $a) / ($n2 - $n1)) else null end)}
			| . + {map_overhead_per_flow: (if .map_bytes_per_flow then .map_bytes_per_flow - $kv else null end)};
		{bytes_per_flow: 128, key_bytes: 40, value_bytes: 88} + per($m1; $m2; 128)
		+ {ipv4: ({bytes_per_flow: 100, key_bytes: 12, value_bytes: 88} + per($q1; $q2; 100))}')
}

# ---- 5. the /metrics scrape with a full flow table ------------------------

MX_JSON='{}'
phase_metrics() {
	local n=262144 scrapes=200 port=9464 fill t sg_pid flows
	[[ -x $B/flowfill ]] || { log "metrics: $B/flowfill missing: run make"; return; }
	command -v curl >/dev/null || { log "metrics: curl missing (tests/deps.sh installs it)"; return; }
	log "metrics: $scrapes scrapes of /metrics with $n tracked flows"
	ip netns add sgb_ns || die "cannot create sgb_ns"
	ip -n sgb_ns link set lo up
	ip -n sgb_ns link add sgbm0 type veth peer name sgbm1
	ip -n sgb_ns link set sgbm0 up
	ip -n sgb_ns link set sgbm1 up
	wait_idle "metrics"
	ip netns exec sgb_ns "$SG" --json -q --max-flows $n --metrics 127.0.0.1:$port sgbm0 \
		>"$TMPD/mx.out" 2>"$TMPD/mx.err" &
	sg_pid=$!
	PIDS+=($sg_pid)
	for _ in $(seq 100); do
		ip netns exec sgb_ns curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" && break
		sleep 0.1
	done
	fill=$(ip netns exec sgb_ns "$B/flowfill" --iface sgbm0 --count $n) || die "flowfill failed"
	# the tracker's next sweep counts them
	for _ in $(seq 100); do
		flows=$(ip netns exec sgb_ns curl -sf "http://127.0.0.1:$port/metrics" |
			awk '$1 == "synguard_flow_table_entries{table=\"flows\"}" {print $2}')
		[[ $flows == "$n" ]] && break
		sleep 0.1
	done
	[[ $flows == "$n" ]] || die "metrics: the tracker counted ${flows:-no} flows, not $n"
	for _ in $(seq $scrapes); do
		ip netns exec sgb_ns curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' \
			"http://127.0.0.1:$port/metrics"
	done >"$TMPD/mx.times"
	kill -INT $sg_pid
	wait $sg_pid
	ip netns del sgb_ns
	MX_JSON=$(sort -n "$TMPD/mx.times" | jq -Rn --argjson n $n --argjson fill "$fill" '
		[inputs | split(" ") | {t: (.[0] | tonumber * 1000000 | round / 1000), b: (.[1] | tonumber)}] as $s
		| ($s | length) as $k
		| {flows: $n, scrapes: $k, fill: $fill, bytes: $s[0].b,
		   p50_ms: $s[($k / 2 | floor)].t, p99_ms: $s[($k * 0.99 | floor)].t, max_ms: $s[$k - 1].t}')
}

# ---- 6. time to protection ---------------------------------------------

ATTACH_JSON=null
# attach_once ARGS...: ms from the exec of `synguard ARGS --json sgbs0` to
# the moment its start record (printed once XDP and TC are attached) can be
# read. The clock starts in the shell that execs synguard, inside the
# namespace (ip netns exec's own setup is not synguard's); the line is read
# from a pipe as soon as synguard writes it.
attach_once() {
	local line t1= pid t0 ms
	: >"$TMPD/at.err"
	coproc SGA { ip netns exec sgb_srv bash -c 'echo "$$ $EPOCHREALTIME" >&2; exec "$@"' _ \
		"$SG" "$@" --json sgbs0 2>>"$TMPD/at.err"; }
	while IFS= read -r -t 20 line <&"${SGA[0]}"; do
		if [[ $line == *'"type":"start"'* ]]; then t1=$EPOCHREALTIME; break; fi
	done
	read -r pid t0 _ <"$TMPD/at.err"
	[[ $pid =~ ^[0-9]+$ ]] && kill -INT "$pid" 2>/dev/null
	wait "$SGA_PID" 2>/dev/null
	[[ -n $t1 && -n ${t0:-} ]] || { log "attach: synguard $* did not start: $(tail -n +2 "$TMPD/at.err" | head -c 300)"; return 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
}

phase_attach() {
	local mode ms runs out=()
	log "attach_ms: exec of synguard [--mode protect] to its start record, 5 runs each"
	topo_setup none
	server_start
	for mode in monitor protect; do
		runs=()
		for _ in 1 2 3 4 5; do
			ms=$(attach_once --mode "$mode") && runs+=("$ms")
		done
		out+=("$(printf '%s\n' "${runs[@]}" | jq -R 'select(. != "") | tonumber' |
			jq -s --arg m "$mode" '{($m): {median: (if length > 0 then (sort | .[length / 2 | floor]) else null end), runs: .}}')")
	done
	server_stop
	ATTACH_JSON=$(printf '%s\n' "${out[@]}" | jq -s 'add')
}

# ---- run ---------------------------------------------------------------

T0=$(date +%s)
[[ $SKIP == *" ns "* ]] || phase_ns
[[ $SKIP == *" flood "* ]] || phase_flood
[[ $SKIP == *" events "* ]] || phase_events
[[ $SKIP == *" memory "* ]] || phase_memory
[[ $SKIP == *" metrics "* ]] || phase_metrics
[[ $SKIP == *" attach "* ]] || phase_attach

fj() { echo "${FLOOD_JSON[$1]:-null}"; }
noise=$(printf '%s\n' "${NOISE[@]}" | jq -R . | jq -s 'map(select(. != ""))')
jq -n --argjson ns "$NS_JSON" --argjson k "$(fj kernel_syncookies)" --argjson n "$(fj nft_synproxy)" \
	--argjson s "$(fj synguard)" --argjson kp "$(fj kernel_syncookies_paced)" \
	--argjson np "$(fj nft_synproxy_paced)" --argjson sp "$(fj synguard_paced)" --argjson pace "$PACE" --argjson ev "$EV_JSON" --argjson mem "$MEM_JSON" --argjson mx "$MX_JSON" \
	--arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
	--arg kernel "$(uname -r)" --argjson nproc "$(nproc)" --arg date "$(date -u +%FT%TZ)" \
	--argjson secs $(($(date +%s) - T0)) --argjson noise "$noise" \
	--argjson fsecs "$FLOOD_SECS" --argjson legit "$LEGIT" --argjson fruns "$FLOOD_RUNS" --arg gen "$GEN" \
	'$ns + {
	  flood: {synguard: $s, kernel_syncookies: $k, nft_synproxy: $n,
		synguard_paced: $sp, kernel_syncookies_paced: $kp, nft_synproxy_paced: $np},
	  events_per_s: ($ev.run.events_per_s // null), events_lost: ($ev.lost_all_runs // null),
	  events: $ev,
	  bytes_per_flow: ($mem.bytes_per_flow // 128),
	  map_overhead_per_flow: ($mem.map_overhead_per_flow // null),
	  memory: $mem,
	  metrics_scrape_ms: ($mx.p50_ms // null), metrics: $mx,
	  machine: {nproc: $nproc, kernel: $kernel, cpu: $cpu},
	  method: {flood_seconds: $fsecs, legit_connections: $legit, rx_cpu: 0, gen_cpu: 1, paced_fraction: $pace,
		flood_runs: $fruns, flood_generator: $gen},
	  noise: $noise, date: $date, bench_seconds: $secs}' >"$OUT/results.json" ||
	die "could not assemble results.json"

# ---- ratios against the anchor, goals ----------------------------------
# ratio.X: synguard's ns over XDP_PASS for path X / the anchor's, both from
# the same rounds (null when either is missing or the anchor's is not > 0);
# ratio.flood_*: synguard's answered SYNs/s and receive-CPU ns per answered
# SYN / the kernel's cookies' and SYNPROXY's (medians of the flood runs);
# ratio.protect_established: protect mode's established segment / monitor
# mode's (the anchor has no tracking path to compare with). goals.*: the
# issue's targets, with the value each is judged on.
jq --argjson at "$ATTACH_JSON" '
  def r2: . * 100 | round / 100;
  def ratio(a; b): if a != null and b != null and b > 0 then (a / b | r2) else null end;
  def goal(v; op; lim; unit): {value: (if v == null then null else (v | r2) end), goal: "\(op) \(lim)\(unit)",
	met: (if v == null then null elif op == "<=" then v <= lim else v >= lim end)};
  .over_baseline as $o | (.anchor.over_baseline // {}) as $a |
  .anchor_why = (.anchor_why // (if .anchor == null then "not measured: the ns phase did not run" else null end)) |
  . + {ratio: {
	synack: ratio($o.synack_ns; $a.synack_ns),
	synack6: ratio($o.synack6_ns; $a.synack6_ns),
	ack_valid: ratio($o.ack_valid_ns; $a.ack_valid_ns),
	ack_invalid: ratio($o.ack_invalid_ns; $a.ack_invalid_ns),
	protect_established: ratio($o.protect_established_ns; $o.track_established_ns),
	flood_answered_vs_kernel: ratio(.flood.synguard.rx_pps; .flood.kernel_syncookies.rx_pps),
	flood_answered_vs_synproxy: ratio(.flood.synguard.rx_pps; .flood.nft_synproxy.rx_pps),
	flood_cpu_ns_per_syn_vs_kernel: ratio(.flood.synguard.cpu_ns_per_syn; .flood.kernel_syncookies.cpu_ns_per_syn),
	flood_cpu_ns_per_syn_vs_synproxy: ratio(.flood.synguard.cpu_ns_per_syn; .flood.nft_synproxy.cpu_ns_per_syn)}} |
  . + {goals: {
	synack_vs_anchor: goal(.ratio.synack; "<="; 0.5; "x the anchor"),
	ack_valid_vs_anchor: goal(.ratio.ack_valid; "<="; 2; "x the anchor"),
	protect_minus_track_established_ns: goal(if $o.protect_established_ns != null and $o.track_established_ns != null
		then $o.protect_established_ns - $o.track_established_ns else null end; "<="; 10; " ns"),
	track_established_over_ns: goal($o.track_established_ns; "<="; 60; " ns"),
	flood_answered_vs_kernel: goal(.ratio.flood_answered_vs_kernel; ">="; 5; "x the kernel cookies per receive core"),
	legit_success_paced: goal(.flood.synguard_paced.legit_success; ">="; 99;
		" %, flood paced at \(.method.paced_fraction) of the rate synguard answered"),
	events_per_s: goal(.events_per_s; ">="; 1000000; " /s, median of \(.events.runs // [] | length) runs"),
	events_lost: goal(.events_lost; "<="; 0; " in all runs")}} |
  . + {attach_ms: (if $at then {monitor: $at.monitor.median, protect: $at.protect.median} else null end),
	attach_runs_ms: (if $at then {monitor: $at.monitor.runs, protect: $at.protect.runs} else null end)}
' "$OUT/results.json" >"$OUT/results.json.tmp" && mv "$OUT/results.json.tmp" "$OUT/results.json" ||
	die "could not add the ratios to results.json"

# ---- table -------------------------------------------------------------
jq -r '
  def n: if . == null then "n/a" elif type == "number" then (. * 10 | round / 10 | tostring) else tostring end;
  def k: if . == null then "n/a" else (. / 1000 | . * 10 | round / 10 | tostring) + "k" end;
  def x: if . == null then "n/a" else (. * 100 | round / 100 | tostring) + "x" end;
  def g: if . == null or .value == null then "n/a" else "\(.value) (goal \(.goal): \(if .met then "met" else "missed" end))" end;
  "ratios to the anchor, ns over XDP_PASS (synguard / the kernel selftest xdp_synproxy_kern.c):",
  (if .anchor == null then "  no anchor: \(.anchor_why // "n/a")" else
  "  synack   IPv4 SYN -> SYN-ACK     \(.ratio.synack|x)   (\(.over_baseline.synack_ns|n) / \(.anchor.over_baseline.synack_ns|n) ns)",
  "  synack6  IPv6 SYN -> SYN-ACK     \(.ratio.synack6|x)   (\(.over_baseline.synack6_ns|n) / \(.anchor.over_baseline.synack6_ns|n) ns)",
  "  ack_valid   new connection       \(.ratio.ack_valid|x)   (\(.over_baseline.ack_valid_ns|n) / \(.anchor.over_baseline.ack_valid_ns|n) ns)",
  "  ack_invalid bad cookie, drop     \(.ratio.ack_invalid|x)   (\(.over_baseline.ack_invalid_ns|n) / \(.anchor.over_baseline.ack_invalid_ns|n) ns)" end),
  "goals: SYN-ACK \(.goals.synack_vs_anchor|g); valid ACK \(.goals.ack_valid_vs_anchor|g)",
  "       monitor tracking \(.goals.track_established_over_ns|g); protect - monitor \(.goals.protect_minus_track_established_ns|g)",
  "",
  "machine: \(.machine.cpu), \(.machine.nproc) CPUs, kernel \(.machine.kernel)",
  "",
  "ns/packet (BPF_PROG_TEST_RUN, one packet per run)   absolute   over XDP_PASS   anchor (over)",
  "  xdp_pass (baseline)                              \(.xdp_pass_ns|n)",
  "  synack  (IPv4 SYN -> SYN-ACK, XDP_TX)             \(.synack_ns|n)        \(.over_baseline.synack_ns|n)          \(.anchor.synack_ns|n) (\(.anchor.over_baseline.synack_ns|n))",
  "  synack6 (IPv6)                                    \(.synack6_ns|n)        \(.over_baseline.synack6_ns|n)          \(.anchor.synack6_ns|n) (\(.anchor.over_baseline.synack6_ns|n))",
  "  ack_valid (new handshake, cookie OK)              \(.ack_valid_ns|n)        \(.over_baseline.ack_valid_ns|n)          \(.anchor.ack_valid_ns|n) (\(.anchor.over_baseline.ack_valid_ns|n))",
  "  ack_invalid (bad cookie, XDP_DROP)                \(.ack_invalid_ns|n)        \(.over_baseline.ack_invalid_ns|n)          \(.anchor.ack_invalid_ns|n) (\(.anchor.over_baseline.ack_invalid_ns|n))",
  "  track_established (monitor, data segment)         \(.track_established_ns|n)        \(.over_baseline.track_established_ns|n)",
  "  protect_established (protect, first request)      \(.protect_established_ns|n)        \(.over_baseline.protect_established_ns|n)",
  "  other_port (-p 9999, a data segment to port 80)   \(.other_port_ns|n)        \(.over_baseline.other_port_ns|n)",
  "  other_port_ladder (the same with --ladder)        \(.other_port_ladder_ns|n)        \(.over_baseline.other_port_ladder_ns|n)",
  (.ns_notes // {} | to_entries[] | "  note: \(.key): \(.value)"),
  "",
  "SYN flood on veth (\(.method.flood_seconds) s, \(.method.legit_connections) legitimate connections, generator \(.method.flood_generator // "synflood"), median of \(.method.flood_runs // 1) runs)",
  "  synguard / kernel cookies: answered \(.ratio.flood_answered_vs_kernel|x), CPU ns per SYN \(.ratio.flood_cpu_ns_per_syn_vs_kernel|x); / nft SYNPROXY: answered \(.ratio.flood_answered_vs_synproxy|x), CPU ns per SYN \(.ratio.flood_cpu_ns_per_syn_vs_synproxy|x)",
  "  goals: answered \(.goals.flood_answered_vs_kernel|g); legitimate success \(.goals.legit_success_paced|g)",
  "  config                    offered    rx(answered)  rx CPU%  CPU ns/SYN  legit%   connect p50/p99 ms   request p50/p99 ms",
  (.flood | to_entries[] | "  \(.key | . + "                        " | .[0:24])  \(.value.offered_pps|k)    \(.value.rx_pps|k)         \(.value.rx_cpu_busy_pct|n)     \(.value.cpu_ns_per_syn|n)       \(.value.legit_success|n)    \(.value.connect_p50_ms|n)/\(.value.connect_p99_ms|n)          \(.value.request_p50_ms|n)/\(.value.request_p99_ms|n)" + (if .value.note then "  " + .value.note else "" end)),
  "",
  "events/s through --json: \(.events_per_s|n), median of \(.events.runs // [] | length) runs (\([.events.runs[]?.events_per_s] | map(n) | join(", "))); lost \(.events_lost|n) in all; \(.events.run.syns|n) SYNs per run, driven at \(.events.run.drive_pps|n)/s in the median run",
  "  goals: \(.goals.events_per_s|g); lost \(.goals.events_lost|g)",
  "forced loss (consumer stopped 2 s): \(.events.forced_loss.lost_events|n) lost; transitions + lost = \(.events.forced_loss.transitions_plus_lost|n) of \(.events.forced_loss.syns|n) (all counted: \(.events.forced_loss.all_counted))",
  "memory per flow: IPv4 key+value \(.memory.ipv4.bytes_per_flow // "?") B, hash map overhead \(.memory.ipv4.map_overhead_per_flow|n) B; IPv6 key+value \(.bytes_per_flow) B, hash map overhead \(.map_overhead_per_flow|n) B",
  "/metrics scrape with \(.metrics.flows|n) flows: p50 \(.metrics_scrape_ms|n) ms, p99 \(.metrics.p99_ms|n) ms, max \(.metrics.max_ms|n) ms (\(.metrics.scrapes|n) scrapes of \(.metrics.bytes|n) bytes)",
  "time to protection (exec to attached, median of 5): monitor \(.attach_ms.monitor|n) ms, protect \(.attach_ms.protect|n) ms",
  (.noise[]? | "noise: " + .),
  "",
  "results: build/bench/results.json (\(.bench_seconds) s)"' "$OUT/results.json"
