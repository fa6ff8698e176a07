/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * oldkernel.c - an LD_PRELOAD shim that makes bpf(2) answer like an older
 * kernel, for foundation.sh's test_refuses_old_kernel: built by the test
 * itself (gcc -shared), not by make.
 *
 * SG_FAKE_LACK is a comma-separated list of what the "kernel" lacks:
 *   ringbuf  BPF_MAP_TYPE_RINGBUF maps (Linux 5.8)
 *   coarse   the bpf_ktime_get_coarse_ns() helper (5.11)
 *   cmpxchg  BPF_ATOMIC BPF_CMPXCHG instructions (5.12)
 *   syscall  BPF_PROG_TYPE_SYSCALL programs (5.14)
 *   loop     the bpf_loop() helper (5.17)
 * A map or program that uses one is refused with EINVAL and, for helpers,
 * the verifier's words for an unknown one ("invalid func unknown#N"), as
 * such a kernel would. Everything else goes to the real bpf(2).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

static int lacks(const char *what)
{
	const char *e = getenv("SG_FAKE_LACK");
	size_t n = strlen(what);

	for (const char *p = e; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, what, n) && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

static int refuse(union bpf_attr *a, int cmd)
{
	if (cmd == BPF_MAP_CREATE)
		return a->map_type == BPF_MAP_TYPE_RINGBUF && lacks("ringbuf");
	if (cmd != BPF_PROG_LOAD)
		return 0;
	if (a->prog_type == BPF_PROG_TYPE_SYSCALL && lacks("syscall"))
		return 1;
	for (__u32 i = 0; i < a->insn_cnt; i++) {
		const struct bpf_insn *in = (const struct bpf_insn *)(unsigned long)a->insns + i;

		if (in->code == (BPF_JMP | BPF_CALL) && in->src_reg == 0 &&
		    ((in->imm == BPF_FUNC_loop && lacks("loop")) ||
		     (in->imm == BPF_FUNC_ktime_get_coarse_ns && lacks("coarse")))) {
			if (a->log_buf && a->log_size)
				snprintf((char *)(unsigned long)a->log_buf, a->log_size,
					 "invalid func unknown#%d\n", in->imm);
			return 1;
		}
		if (in->code == (BPF_STX | BPF_ATOMIC | BPF_DW) && in->imm == BPF_CMPXCHG && lacks("cmpxchg"))
			return 1;
	}
	return 0;
}

long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (nr == __NR_bpf && refuse((union bpf_attr *)a[1], (int)a[0])) {
		errno = EINVAL;
		return -1;
	}
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
