/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * check.h - the one assertion and report of synguard's C tests (unit and
 * BPF_PROG_TEST_RUN tiers), so every test speaks the format tests/run.sh
 * parses.
 *
 * CHECK(cond, fmt, ...) evaluates cond exactly once, counts it and prints
 *   "  ok   <message>"                 when it holds,
 *   "  FAIL <message>  <-- <cond>"     when it does not (run.sh collects
 *                                      the lines starting with FAIL),
 * and yields 1 or 0, so a test can stop early: if (!CHECK(...)) return;
 *
 * check_summary("name") prints the last line, the one run.sh adds up:
 *   "name: N passed, M failed"         (", K skipped" when something was)
 * and returns the program's exit status: 0 only when nothing failed.
 */
#ifndef SG_CHECK_H
#define SG_CHECK_H

#define CHECK(cond, ...) check_result(!!(cond), #cond, __VA_ARGS__)

int check_result(int ok, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A group that cannot run here: prints "SKIP <reason>", counts one skip. */
void check_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int check_summary(const char *name);

#endif /* SG_CHECK_H */
