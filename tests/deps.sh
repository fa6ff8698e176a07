#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Install what synguard needs to build, test and benchmark, if missing (Debian/Ubuntu),
# and mount bpffs. Idempotent and quiet when everything is present.
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
	# test only: renders the ladder diagrams (tests/integration/ladder.sh);
	# pulls a headless JRE (~190 MB installed, ~10 s with the JRE present)
	"plantuml:plantuml"
)
missing=()
for pair in "${need[@]}"; do
	what=${pair%%:*} pkg=${pair#*:}
	if [[ $what == /* ]]; then
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
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ $(id -u) -eq 0 ]] && ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null || echo "synguard: warning: could not mount bpffs at /sys/fs/bpf" >&2
fi
exit 0
