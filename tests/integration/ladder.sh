#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Ladder mode (--ladder, --diagram): the ladder of each canonical scenario
# against a golden file (tests/golden/ladder_*.txt), the PlantUML diagrams
# rendered to PNG by plantuml, the Mermaid ones checked structurally, and
# a SYN flood to another port that must draw nothing.
#
# Goldens: times, windows and window scales are masked (they depend on the
# clock and the machine's buffer sizes); relative seq/ack, flags, lengths,
# options, states and the client's port (fixed with --sport) are not.
# Scenarios whose order at the interface is a race get no golden file:
# tcpkit's --close simultaneous makes the FINs cross only when the two
# closes, microseconds apart, fall the right way, so the crossing FINs are
# forced as in track.sh's sfin case (the server's FIN is dropped past the
# interface until the client has sent its own: each FIN leaves before the
# other arrives); a lost first SYN-ACK makes two 1 s timers race (the
# server's SYN-ACK and the client's SYN both sent again): that ladder is
# only checked for the SYN-ACK judged lost.
# LADDER_UPDATE=1 rewrites the goldens from this run (then review the diff);
# LADDER_KEEP=DIR keeps the run's whole output and diagrams there.
# SG_DIAGRAMS_OUT=DIR (make diagrams) copies the client-closes ladder and
# its rendered diagram there (docs/ladder-client-closes.{txt,png}).
#
# Helpers are prefixed ld_ (only test_* functions are run).

LD_GOLDEN=$SG_ROOT/tests/golden

# name:server port:server --close:client --close (crossing: hold, 300 ms)
LD_CASES="client_closes:8120:client:client server_closes:8121:server:server
	crossing_fins:8122:server:hold refused:8123:-:client
	abort:8124:client:linger0 syn_lost:8125:client:client synack_lost:8126:client:client"

# ld_start ARGS...: synguard --ladder (text) on sgs0, stdout in $TMPD/ladder.txt.
ld_start() {
	: >"$TMPD/ladder.txt"
	nsenter --net=/run/netns/sg_srv "$SG" --ladder --no-color -T none "$@" sgs0 >"$TMPD/ladder.txt" 2>"$TMPD/sg.err" &
	SG_PID=$!
	wait_until 10 ld_started
}

ld_started() {
	grep -q 'attached to sgs0' "$TMPD/ladder.txt" 2>/dev/null && return 0
	kill -0 "$SG_PID" 2>/dev/null || { cat "$TMPD/sg.err"; fail "synguard exited early"; }
	return 1
}

# nftables: the first SYN to 8125 dropped in sg_srv (past synguard's XDP),
# the first SYN-ACK from 8126 dropped in sg_cli (past synguard's TC egress),
# 8122's server FINs dropped in sg_cli until the client has sent its own.
ld_loss_rules() {
	srv nft -f - <<-'NFT' || fail "nft rules in sg_srv"
	table inet sgladder {
		set once { type inet_service; flags dynamic; }
		chain in {
			type filter hook input priority 0; policy accept;
			tcp dport 8125 tcp flags & (syn | ack) == syn tcp sport != @once add @once { tcp sport } drop
		}
	}
	NFT
	cli nft -f - <<-'NFT' || fail "nft rules in sg_cli"
	table inet sgladder {
		set once { type inet_service; flags dynamic; }
		set cfin { type inet_service; flags dynamic; }
		chain in {
			type filter hook input priority 0; policy accept;
			tcp sport 8126 tcp flags & (syn | ack) == (syn | ack) tcp dport != @once add @once { tcp dport } drop
			tcp sport 8122 tcp flags & (fin | psh) == fin tcp dport != @cfin drop
		}
		chain out {
			type filter hook output priority 0; policy accept;
			tcp dport 8122 tcp flags & fin == fin add @cfin { tcp sport }
		}
	}
	NFT
}

# ld_conn NAME PORT SMODE CMODE: one connection, client port PORT + 32000.
ld_conn() {
	local name=$1 port=$2 smode=$3 cmode=$4 rc args=()
	[[ $smode != - ]] && tcp_server --listen $SRV4 --port "$port" --count 1 --close "$smode"
	[[ $cmode == hold ]] && args=(--hold-ms 300)
	cli timeout 20 "$TCPKIT" client --connect $SRV4 --port "$port" --sport $((port + 32000)) --close "$cmode" \
		--connect-timeout-ms 5000 "${args[@]}" >"$TMPD/cli.$name.out" 2>&1
	rc=$?
	if [[ $smode == - ]]; then
		((rc != 0)) || fail "$name: connect to a port without listener succeeded"
	else
		((rc == 0)) || fail "$name: client failed: $(cat "$TMPD/cli.$name.out")"
	fi
}

# ld_flow PORT: the lines of the flow to server port PORT (by its id).
ld_flow() {
	local id
	id=$(grep -E "^f[0-9]+ +client [^ ]+:[0-9]+ +<-> +server [^ ]+:$1\$" "$TMPD/ladder.txt" | awk '{print $1}' | head -n1)
	[[ -n $id ]] || return 1
	grep -E "^$id " "$TMPD/ladder.txt"
}

# ld_mask: what varies from run to run or machine to machine: the flow id,
# times (the time column keeps its width), windows, window scales.
ld_mask() {
	awk '/^f[0-9]+ / {
		t = substr($0, 6, 10)
		if (t ~ /\+[0-9]/) t = sprintf("%10s", "+T")
		print "f    " t substr($0, 16); next
	} { print }' |
		sed -E -e 's/\+[0-9]+\.[0-9]+ ms/+T ms/g' -e 's/\(([0-9.]+) ms\)/(T ms)/g' \
			-e 's/win=[0-9]+/win=W/g' -e 's/ws=[0-9]+/ws=S/g' -e '/ diagram: /d'
}

# ld_ended PORT: the flow's end line is there.
ld_ended() {
	ld_flow "$1" 2>/dev/null | grep -qE '^f[0-9]+ +(closed|aborted|still open)'
}

test_ladder_golden() {
	local c name port smode cmode got bad=0 png n
	ns_setup
	ld_loss_rules
	mkdir -p "$TMPD/diag"
	ld_start -p 8120-8126 --time-wait 1 --diagram "$TMPD/diag"
	for c in $LD_CASES; do
		IFS=: read -r name port smode cmode <<<"$c"
		ld_conn "$name" "$port" "$smode" "$cmode"
	done
	for c in $LD_CASES; do
		IFS=: read -r name port _ <<<"$c"
		wait_until 8 ld_ended "$port"
	done
	sg_stop
	[[ -n ${LADDER_KEEP:-} ]] && cp "$TMPD/ladder.txt" "$TMPD"/diag/*.puml "$LADDER_KEEP/"
	grep -q '^ladder: 7 flows drawn' "$TMPD/ladder.txt" || { cat "$TMPD/ladder.txt"; fail "not 7 flows drawn"; }
	# every ladder line at most 100 columns
	n=$(grep -E '^f[0-9]+ ' "$TMPD/ladder.txt" | awk 'length > 100' | wc -l)
	((n == 0)) || { awk 'length > 100' "$TMPD/ladder.txt"; fail "$n ladder lines longer than 100 columns"; }
	for c in $LD_CASES; do
		IFS=: read -r name port _ <<<"$c"
		got=$(ld_flow "$port" | ld_mask)
		if [[ $name == synack_lost ]]; then
			grep -qE 'SYN,ACK seq=0 ack=1 win=W len=0 RETRANS' <<<"$got" &&
				grep -qE '\^ so the SYN,ACK at \+T ms is taken as lost' <<<"$got" ||
				{ echo "$got"; fail "synack_lost: the lost SYN-ACK is not judged lost"; }
			info "synack_lost: the first SYN-ACK judged lost"
			continue
		fi
		if [[ ${LADDER_UPDATE:-} == 1 ]]; then
			mkdir -p "$LD_GOLDEN"
			printf '%s\n' "$got" >"$LD_GOLDEN/ladder_$name.txt"
			info "$name: golden rewritten"
			continue
		fi
		if ! diff -u "$LD_GOLDEN/ladder_$name.txt" <(printf '%s\n' "$got") >"$TMPD/$name.diff"; then
			bad=$((bad + 1))
			echo "ladder $name differs from tests/golden/ladder_$name.txt:"
			cat "$TMPD/$name.diff"
		else
			info "$name: $(grep -c -- '-->\||<--' <<<"$got") arrows, as the golden file"
		fi
	done
	((bad == 0)) || fail "$bad ladders differ from their golden files"

	# PlantUML: one file per flow, all rendered in one plantuml run
	n=$(ls "$TMPD/diag"/*.puml 2>/dev/null | wc -l)
	((n == 7)) || fail "expected 7 PlantUML files, found $n"
	command -v plantuml >/dev/null || skip "plantuml not installed (tests/deps.sh installs it)"
	plantuml -failfast2 -tpng "$TMPD/diag"/*.puml >"$TMPD/plantuml.out" 2>&1 ||
		{ cat "$TMPD/plantuml.out"; fail "plantuml could not render the diagrams"; }
	for png in "$TMPD/diag"/*.png; do
		[[ $(head -c 8 "$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png is not a PNG"
		(($(stat -c %s "$png") > 5000)) || fail "$png is suspiciously small"
	done
	n=$(ls "$TMPD/diag"/*.png | wc -l)
	((n == 7)) || fail "plantuml rendered $n of 7 diagrams"
	grep -q '^Server ->x Client: .* SYN,ACK seq=0 ack=1' "$TMPD/diag"/10.210.0.2_40126-*.puml ||
		fail "synack_lost: the lost SYN-ACK is not drawn lost (->x) in its diagram"
	info "7 PlantUML diagrams rendered to PNG"
	if [[ -n ${SG_DIAGRAMS_OUT:-} ]]; then
		cp "$TMPD/diag"/10.210.0.2_40120-*.png "$SG_DIAGRAMS_OUT/ladder-client-closes.png"
		ld_flow 8120 | sed -E '/ diagram: /d' >"$SG_DIAGRAMS_OUT/ladder-client-closes.txt"
		info "wrote $SG_DIAGRAMS_OUT/ladder-client-closes.{png,txt}"
	fi
}

# A SYN flood to port 8080 with --ladder -p 8127: nothing drawn, nothing
# recorded (the filter runs before any ladder code); a connection to 8127
# right after it is drawn as usual. (-p matches either side: the flood's
# spoofed source ports stay above 10000.)
test_ladder_flood_other_port() {
	local mac fout sent lines
	ns_setup
	srv sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.sgs0.rp_filter=0 >/dev/null
	ip -n sg_srv route add 10.99.0.0/16 via $CLI4 || fail "route for the spoofed range"
	mac=$(ip -n sg_srv -j link show sgs0 | jq -r '.[0].address')
	ld_start -p 8127 --time-wait 1
	fout=$(cli timeout 20 "$FLOOD" -i sgc0 --src 10.99.0.0/16 --dst $SRV4 --dport 8080 --dst-mac "$mac" \
		--count 20000 --duration 10 --rate 20000 --sport-range 10000-65535 2>"$TMPD/flood.err") ||
		fail "synflood failed: $fout $(cat "$TMPD/flood.err")"
	sent=$(jq -r .sent <<<"$fout")
	((sent == 20000)) || fail "synflood sent $sent SYNs, expected 20000"
	sleep 0.5
	lines=$(grep -cE '^f[0-9]+ ' "$TMPD/ladder.txt")
	((lines == 0)) || { head -n 20 "$TMPD/ladder.txt"; fail "$lines ladder lines for a flood to another port"; }
	ld_conn after 8127 client client
	wait_until 6 ld_ended 8127
	sg_stop
	grep -q '^ladder: 1 flows drawn, 6 segment records, 0 over --ladder-rate, 0 lost' "$TMPD/ladder.txt" ||
		{ grep '^ladder:' "$TMPD/ladder.txt"; fail "the ladder's totals: not only the one flow to 8127"; }
	grep -qE 'summary: .*filtered=[0-9]{5}' "$TMPD/ladder.txt" ||
		{ grep 'summary:' "$TMPD/ladder.txt"; fail "the flood's SYNs were not filtered"; }
	info "20000 SYNs to another port: 0 ladder lines; then 1 flow drawn:" \
		"$(grep -cE -- '-->\||\|<--' <(ld_flow 8127)) arrows"
}

# Bad usage: one line on stderr, exit 2.
test_ladder_usage() {
	local out rc
	for args in "--ladder sgs0" "--diagram /tmp sgs0" "--ladder -p 80 --json sgs0" "--ladder-max 5 sgs0" \
		"--ladder -p 80 --diagram-format svg sgs0"; do
		# shellcheck disable=SC2086
		out=$("$SG" $args 2>&1 >/dev/null); rc=$?
		((rc == 2)) || fail "synguard $args: exit $rc, expected 2"
		(($(wc -l <<<"$out") == 1)) || fail "synguard $args: not one line: $out"
		info "synguard $args: $out"
	done
}

# --ladder-data draws each data segment; --ladder-max caps a flow at its
# first N segments, after which only SYN/FIN/RST and state changes are
# drawn and the rest is announced, never dropped silently. A half-close:
# the server sends 5 x 100 bytes in CLOSE_WAIT, then closes. The Mermaid
# file of the flow (--diagram-format mermaid) has the participants, one
# message per arrow drawn and one note per state drawn.
test_ladder_data_and_cap() {
	local got shown gap mmd states n
	ns_setup
	mkdir -p "$TMPD/diag"
	ld_start -p 8128 --time-wait 1 --ladder-data --ladder-max 8 --diagram "$TMPD/diag" --diagram-format mermaid
	tcp_server --listen $SRV4 --port 8128 --count 1 --close halfclose --hc-writes 5 --hc-bytes 100 \
		--hc-interval-ms 50
	cli timeout 20 "$TCPKIT" client --connect $SRV4 --port 8128 --sport 40128 --close halfclose \
		>"$TMPD/cli.out" 2>&1 || fail "client failed: $(cat "$TMPD/cli.out")"
	wait_until 6 ld_ended 8128
	sg_stop
	got=$(ld_flow 8128)
	# the request is drawn, with its length (not summarised)
	grep -qE 'PSH,ACK seq=1 ack=1 win=[0-9]+ len=6 ' <<<"$got" || { echo "$got"; fail "request not drawn"; }
	# at most 8 segments before the cap, then only FINs (and state changes)
	shown=$(grep -cE -- '-->\||\|<--' <<<"$got")
	gap=$(grep -E '\.\.\. [0-9]+ segments?, [0-9]+ bytes not shown' <<<"$got" | head -n1)
	[[ -n $gap ]] || { echo "$got"; fail "segments past --ladder-max not announced"; }
	grep -qE 'LAST_ACK' <<<"$got" && grep -qE 'TIME_WAIT' <<<"$got" ||
		{ echo "$got"; fail "state changes past --ladder-max not drawn"; }
	info "$shown arrows drawn with --ladder-max 8; then: $(sed -E 's/^.*\.\.\. (.*) \.\.\..*$/\1/' <<<"$gap")"

	mmd=$(ls "$TMPD/diag"/10.210.0.2_40128-10.210.0.1_8128-*.mmd 2>/dev/null)
	[[ -f $mmd ]] || fail "no Mermaid file for the flow: $(ls "$TMPD/diag")"
	[[ $(head -n1 "$mmd") == sequenceDiagram ]] || fail "$mmd does not start with sequenceDiagram"
	grep -qx '    participant Client as Client 10.210.0.2:40128' "$mmd" &&
		grep -qx '    participant Server as Server 10.210.0.1:8128' "$mmd" || fail "$mmd: participants"
	n=$(grep -cE '^    (Client(->>|-x)Server|Server(->>|-x)Client): ' "$mmd")
	((n == shown)) || { cat "$mmd"; fail "$mmd: $n messages for $shown arrows drawn"; }
	# states drawn: the initial two, then each state column entry of the ladder
	states=$(awk 'substr($0, 1, 1) == "f" && substr($0, 17, 11) ~ /[A-Z]/ { n++ }
		substr($0, 1, 1) == "f" && length($0) > 88 && substr($0, 88) ~ /[A-Z]/ { n++ } END { print n }' <<<"$got")
	n=$(grep -cE '^    Note (left of Client|right of Server): ' "$mmd")
	((n == states)) || { cat "$mmd"; fail "$mmd: $n state notes for $states states drawn"; }
	grep -qE '^    Note over Client,Server: \.\.\. [0-9]+ segments?, [0-9]+ bytes not shown' "$mmd" ||
		fail "$mmd: the segments not drawn are not said"
	info "Mermaid: $n state notes, $shown messages, the gap noted"
}

# IPv6, with -6 as the only filter: the client-closes ladder is the IPv4
# golden's, addresses aside.
test_ladder_ipv6() {
	local got want
	ns_setup
	ld_start -6 --time-wait 1
	tcp_server --listen $SRV6 --port 8120 --count 1 --close client
	cli timeout 20 "$TCPKIT" client --connect $SRV6 --port 8120 --sport 40120 --close client \
		>"$TMPD/cli.out" 2>&1 || fail "client failed: $(cat "$TMPD/cli.out")"
	wait_until 6 ld_ended 8120
	sg_stop
	got=$(ld_flow 8120 | ld_mask | sed -e "s/\[$CLI6\]:/$CLI4:/; s/\[$SRV6\]:/$SRV4:/")
	want=$(sed -e "s/10\.210\.0\.2:/$CLI4:/; s/10\.210\.0\.1:/$SRV4:/" "$LD_GOLDEN/ladder_client_closes.txt")
	# IPv6's MSS is 20 bytes smaller
	want=${want//mss=1460/mss=1440}
	diff -u <(printf '%s\n' "$want") <(printf '%s\n' "$got") || fail "the IPv6 ladder differs from the IPv4 golden"
	grep -q "client \[$CLI6\]:40120  <->  server \[$SRV6\]:8120" "$TMPD/ladder.txt" || fail "IPv6 header"
	info "IPv6: $(grep -cE -- '-->\||\|<--' <<<"$got") arrows, as the IPv4 golden file"
}

# --ladder-rate: records over the cap are not sent but counted, and the
# ladder says where segments are missing.
test_ladder_rate_cap() {
	local got
	ns_setup
	ld_start -p 8120 --time-wait 1 --ladder-rate 3
	tcp_server --listen $SRV4 --port 8120 --count 1 --close client
	cli timeout 20 "$TCPKIT" client --connect $SRV4 --port 8120 --sport 40120 --close client \
		>"$TMPD/cli.out" 2>&1 || fail "client failed: $(cat "$TMPD/cli.out")"
	sleep 2
	sg_stop
	local sum rec over
	got=$(ld_flow 8120)
	sum=$(grep '^ladder:' "$TMPD/ladder.txt")
	[[ $sum =~ ^ladder:\ 1\ flows\ drawn,\ ([0-9]+)\ segment\ records,\ ([0-9]+)\ over\ --ladder-rate,\ 0\ lost ]] ||
		{ echo "$got"; fail "ladder totals: $sum"; }
	rec=${BASH_REMATCH[1]} over=${BASH_REMATCH[2]}
	# 6 segments with a record in ~1 ms: 3 in the rate window (more only
	# if the 1.07 s window happened to turn in that millisecond)
	((rec + over == 6 && rec >= 3)) || { echo "$got"; fail "ladder totals: $sum"; }
	((over == 0)) || grep -qE 'still open at exit|not drawn' <<<"$got" ||
		{ echo "$got"; fail "what was cut is not said"; }
	info "--ladder-rate 3: $(grep '^ladder:' "$TMPD/ladder.txt")"
}
