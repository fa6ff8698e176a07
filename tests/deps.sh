#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Install what synguard needs to build, test and benchmark, if missing (Debian/Ubuntu),
# and mount bpffs. Idempotent and quiet when everything is present.
# `tests/deps.sh bench` (make bench) also installs what only the benchmark
# uses: Debian's linux-source-6.12, whose BPF selftest xdp_synproxy_kern.c
# is the anchor of the ns/packet figures. Failing that is not fatal: the
# benchmark then reports why it has no anchor.
set -euo pipefail

# command-or-file -> Debian package
need=(
	"clang:clang"
	"llvm-strip:llvm"
	"bpftool:bpftool"
	"ip:iproute2"
	"tc:iproute2"
	"nft:nftables"
	"gcc:gcc"
	"make:make"
	"/usr/include/bpf/libbpf.h:libbpf-dev"
	"/usr/include/libelf.h:libelf-dev"
	"/usr/include/zlib.h:zlib1g-dev"
	"/usr/include/linux/bpf.h:linux-libc-dev"
	"pkg-config:pkg-config"
	"jq:jq"
	"ethtool:ethtool"
	"sysctl:procps"
	# libFuzzer and the sanitizer runtimes of clang (make fuzz: tests/fuzz/fuzz_parsers.c)
	"/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a:libclang-rt-dev"
	# --metrics: the HTTP server (README: Monitoring)
	"/usr/include/microhttpd.h:libmicrohttpd-dev"
	# the XDP program joins libxdp's dispatcher (README: Sharing the
	# interface); libxdp-dev pulls libxdp1, which has xdp-dispatcher.o
	"/usr/include/xdp/libxdp.h:libxdp-dev"
	# tests only: xdp-filter and xdp-loader (tests/integration/multiprog.sh)
	"xdp-filter:xdp-tools"
	# tests only: promtool check metrics/rules, a real Prometheus, its HTTP API
	"promtool:prometheus"
	"curl:curl"
	"nsenter:util-linux"
	"man:man-db"
	# test only: renders the ladder diagrams (tests/integration/ladder.sh);
	# pulls a headless JRE (~190 MB installed, ~10 s with the JRE present)
	"plantuml:plantuml"
)
missing=()
for pair in "${need[@]}"; do
	what=${pair%%:*} pkg=${pair#*:}
	if [[ $what == *'*'* ]]; then
		compgen -G "$what" >/dev/null && continue
	elif [[ $what == /* ]]; then
		[[ -e $what ]] && continue
	else
		command -v "$what" >/dev/null 2>&1 && continue
		[[ -x /usr/sbin/$what || -x /sbin/$what ]] && continue
	fi
	[[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "synguard: missing packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
		exit 1
	fi
	if ! command -v apt-get >/dev/null; then
		echo "synguard: missing packages: ${missing[*]} and no apt-get; install them by hand" >&2
		exit 1
	fi
	echo "synguard: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	# The prometheus package is for the tests (promtool, and a server the
	# integration test starts in its own namespace): its maintainer scripts
	# must not start a system-wide daemon. policy-rc.d (exit 101: "action
	# forbidden") is Debian's way to say so during an install; ours only if
	# none exists, and removed right after.
	policy=
	if [[ " ${missing[*]} " == *" prometheus "* && ! -e /usr/sbin/policy-rc.d ]]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
	fi
	apt-get update -qq >/dev/null
	rc=0
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	[[ -n $policy ]] && rm -f "$policy"
	((rc == 0)) || exit $rc
fi

# bench-only: file -> Debian package (bookworm-security has linux-source-6.12)
if [[ ${1:-} == bench ]]; then
	bench_need=("/usr/src/linux-source-6.12.tar.xz:linux-source-6.12")
	for pair in "${bench_need[@]}"; do
		what=${pair%%:*} pkg=${pair#*:}
		[[ -e $what ]] && continue
		if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
			echo "synguard: bench: $pkg missing (apt-get install $pkg as root); no anchor" >&2
			continue
		fi
		echo "synguard: bench: installing $pkg" >&2
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1; then
			apt-get update -qq >/dev/null 2>&1 || true
			apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1 ||
				echo "synguard: bench: could not install $pkg; no anchor" >&2
		fi
	done
fi

if [[ $(id -u) -eq 0 ]] && ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null || echo "synguard: warning: could not mount bpffs at /sys/fs/bpf" >&2
fi
exit 0
