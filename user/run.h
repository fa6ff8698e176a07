/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* run.h - one synguard run on one interface (run.c). */
#ifndef SG_RUN_H
#define SG_RUN_H

#include "sg_user.h"

/* Attach to cfg->ifname in the current netns, report until stopped, detach.
 * Returns the exit status (0 ok, 1 runtime error). */
int sg_run(const struct sg_config *cfg);
/* Ask the running loop to stop (async-signal-safe: SIGINT/SIGTERM). */
void sg_run_stop(void);
/* Ask it to reopen --output FILE and re-read the --deny/--allow files
 * (async-signal-safe: SIGHUP). */
void sg_run_reopen(void);

#endif /* SG_RUN_H */
