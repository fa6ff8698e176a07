// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* check.c - see check.h */
#include <stdarg.h>
#include <stdio.h>

#include "check.h"

/* one set per test program, whichever of its files ran the check */
static int passed, failed, skipped;

int check_result(int ok, const char *cond, const char *fmt, ...)
{
	va_list ap;

	printf("  %s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (ok) {
		passed++;
		putchar('\n');
	} else {
		failed++;
		printf("  <-- %s\n", cond);
	}
	return ok;
}

void check_skip(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	skipped++;
}

int check_summary(const char *name)
{
	if (skipped)
		printf("%s: %d passed, %d failed, %d skipped\n", name, passed, failed, skipped);
	else
		printf("%s: %d passed, %d failed\n", name, passed, failed);
	return failed ? 1 : 0;
}
