#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# make install / uninstall, the man page and the systemd unit template.
# No namespaces, nothing installed outside $TMPD. Helpers are prefixed in_.

IN_MAN=$SG_ROOT/man/synguard.8

# in_make ARGS...: make in the repository, quiet; fails the test on error.
in_make() {
	local out
	out=$(make -C "$SG_ROOT" "$@" 2>&1) || fail "make $*: $out"
}

# "SHORT--long" per option ("_--long" without a short one), sorted.
in_opts_from_help() {
	"$SG" --help | grep -E '^ {2,6}(-[^ -], )?--[a-z]' | sed -E 's/^ +//' |
		sed -E 's/^(-([^ -]), )?(--[a-z0-9-]+).*/\2\3/; s/^--/_--/' | sort
}

in_opts_from_man() {
	awk '/^\.SH OPTIONS/ { o = 1; next } /^\.SH/ { o = 0 } o && prev == ".TP" { print } { prev = $0 }' "$IN_MAN" |
		sed 's/\\-/-/g' | while read -r line; do
			local long short
			long=$(grep -oE -- '--[a-z0-9-]+' <<<"$line" | head -n1)
			short=$(grep -oE -- '(^|[ "])-[^- "]' <<<"$line" | head -n1 | tr -d ' "-')
			echo "${short:-_}$long"
		done | sort
}

test_install_destdir_exact_files() {
	local d=$TMPD/dest got
	in_make install DESTDIR="$d"
	got=$(cd "$d" && find . -type f -o -type l | sort)
	[[ $got == "./usr/local/lib/systemd/system/synguard@.service
./usr/local/sbin/synguard
./usr/local/share/man/man8/synguard.8" ]] || fail "make install DESTDIR installed: $got"
	grep -qx 'ExecStart=/usr/local/sbin/synguard --pin $SYNGUARD_OPTS %i' \
		"$d/usr/local/lib/systemd/system/synguard@.service" || fail "unit's ExecStart: $(grep ExecStart "$d"/usr/local/lib/systemd/system/*)"
	"$d/usr/local/sbin/synguard" -V | grep -q synguard || fail "the installed binary does not run"
	[[ $(stat -c %a "$d/usr/local/sbin/synguard") == 755 &&
		$(stat -c %a "$d/usr/local/share/man/man8/synguard.8") == 644 &&
		$(stat -c %a "$d/usr/local/lib/systemd/system/synguard@.service") == 644 ]] || fail "file modes"
	in_make uninstall DESTDIR="$d"
	got=$(cd "$d" && find . -type f -o -type l)
	[[ -z $got ]] || fail "make uninstall left: $got"
	# PREFIX moves all three
	in_make install DESTDIR="$d" PREFIX=/usr
	got=$(cd "$d" && find . -type f | sort | paste -sd' ')
	[[ $got == "./usr/lib/systemd/system/synguard@.service ./usr/sbin/synguard ./usr/share/man/man8/synguard.8" ]] ||
		fail "PREFIX=/usr: $got"
	grep -q '^ExecStart=/usr/sbin/synguard ' "$d/usr/lib/systemd/system/synguard@.service" || fail "PREFIX=/usr: ExecStart"
	info "make install DESTDIR=...: exactly $(paste -sd' ' <<<"$got")"
}

test_install_man_lists_help_options() {
	local help man
	[[ -x $SG ]] || skip "missing $SG (make)"
	help=$(in_opts_from_help)
	man=$(in_opts_from_man)
	(($(wc -l <<<"$help") > 20)) || fail "could not read the options of --help: $help"
	[[ $help == "$man" ]] || fail "synguard(8) and --help list different options:
$(diff <(echo "$man") <(echo "$help") | grep '^[<>]' | sed 's/^</  man page only:/; s/^>/  --help only:/')"
	info "synguard(8) and --help: the same $(wc -l <<<"$help") options"
}

test_install_man_renders_without_warnings() {
	local out
	command -v man >/dev/null || skip "man not installed (Debian package man-db)"
	out=$(MANWIDTH=80 man --warnings -l "$IN_MAN" 2>&1 >/dev/null)
	[[ -z $out ]] || fail "man --warnings -l man/synguard.8: $out"
	MANWIDTH=80 man -l "$IN_MAN" 2>/dev/null | grep -q 'systemctl stop synguard@eth0' ||
		fail "the page does not say what systemctl stop leaves"
}

test_install_systemd_unit_verifies() {
	local p=$TMPD/prefix out
	command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed (systemd): unit not verified"
	# a real prefix (no DESTDIR): ExecStart names a binary that exists, and
	# Documentation=man:synguard(8) resolves through MANPATH
	in_make install PREFIX="$p"
	for unit in synguard@.service synguard@eth0.service; do
		out=$(MANPATH=$p/share/man systemd-analyze verify "$p/lib/systemd/system/$unit" 2>&1) ||
			fail "systemd-analyze verify $unit: $out"
		[[ -z $out ]] || fail "systemd-analyze verify $unit says: $out"
	done
	info "systemd-analyze verify: synguard@.service and synguard@eth0.service clean"
}
