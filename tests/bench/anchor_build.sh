#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#
# make bench: build the anchor, the kernel's own XDP SYN-cookie program
# (tools/testing/selftests/bpf/progs/xdp_synproxy_kern.c), from Debian's
# linux-source-6.12 package (installed by `tests/deps.sh bench`).
#
# Nothing of it is kept in the repository: the two source files it needs are
# extracted from /usr/src/linux-source-6.12.tar.xz into build/anchor/src and
# compiled with the same clang, -target bpf, against our vmlinux/ARCH/vmlinux.h
# and the system's libbpf headers (it also includes the selftests'
# bpf_compiler.h and <asm/errno.h>).
#
# Output: build/anchor/xdp_synproxy_kern.bpf.o and build/anchor/source (the
# tarball and package version), or build/anchor/why: one line saying why
# there is no anchor (bench_ns reports it as anchor_why in results.json).
# Exits 0 either way: a missing anchor is reported, not fatal.
#
# Environment: SGB_ANCHOR_TAR (default: /usr/src/linux-source-6.12.tar.xz,
# else the newest /usr/src/linux-source-*.tar.xz), CLANG, ARCH, V=1.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$ROOT/build/anchor
OBJ=$OUT/xdp_synproxy_kern.bpf.o
CLANG=${CLANG:-clang}
ARCH=${ARCH:-$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')}
REL=tools/testing/selftests/bpf/progs

mkdir -p "$OUT"
no_anchor() {
	rm -f "$OBJ" "$OUT/source"
	echo "$*" >"$OUT/why"
	echo "  ANCHOR   none: $*" >&2
	exit 0
}

tar=${SGB_ANCHOR_TAR:-}
if [[ -z $tar ]]; then
	tar=/usr/src/linux-source-6.12.tar.xz
	[[ -f $tar ]] || tar=$(ls -t /usr/src/linux-source-*.tar.xz 2>/dev/null | head -n1)
fi
[[ -n $tar && -f $tar ]] ||
	no_anchor "no kernel source tarball (${tar:-/usr/src/linux-source-6.12.tar.xz}): install Debian's linux-source-6.12 (tests/deps.sh bench does)"

stamp="$tar $(stat -c '%s %Y' "$tar")"
if [[ -f $OBJ && -f $OUT/source && $(head -n1 "$OUT/source") == "$stamp" &&
      $OBJ -nt $ROOT/vmlinux/$ARCH/vmlinux.h ]]; then
	exit 0	# up to date
fi
rm -f "$OUT/why"

# The top directory inside the tarball (linux-source-6.12/).
top=$(tar -tJf "$tar" 2>/dev/null | head -n1 | cut -d/ -f1)
[[ -n $top ]] || no_anchor "cannot read $tar"
echo "  ANCHOR   build/anchor/xdp_synproxy_kern.bpf.o (from $(basename "$tar"))" >&2
rm -rf "$OUT/src"
mkdir -p "$OUT/src"
tar -xJf "$tar" -C "$OUT/src" "$top/$REL/xdp_synproxy_kern.c" "$top/$REL/bpf_compiler.h" \
	2>"$OUT/tar.err" ||
	no_anchor "$REL/xdp_synproxy_kern.c not found in $tar: $(head -c 200 "$OUT/tar.err")"
rm -f "$OUT/tar.err"

multiarch=$(gcc -print-multiarch 2>/dev/null)
cmd=("$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_"$ARCH" -w
     -I"$ROOT/vmlinux/$ARCH" -I"$OUT/src/$top/$REL"
     ${multiarch:+-idirafter /usr/include/$multiarch}
     -c "$OUT/src/$top/$REL/xdp_synproxy_kern.c" -o "$OBJ")
[[ ${V:-} == 1 ]] && echo "${cmd[*]}" >&2
if ! "${cmd[@]}" 2>"$OUT/cc.err"; then
	no_anchor "clang could not compile $REL/xdp_synproxy_kern.c: $(grep -m1 error "$OUT/cc.err" | head -c 300)"
fi
rm -f "$OUT/cc.err"
{
	echo "$stamp"
	echo "$top/$REL/xdp_synproxy_kern.c from $(basename "$tar")" \
		"(Debian $(dpkg-query -W -f '${Package} ${Version}' "$(basename "$tar" .tar.xz)" 2>/dev/null || echo '?'))"
} >"$OUT/source"
exit 0
