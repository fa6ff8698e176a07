/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * service.h - the service subcommands (service.c):
 *
 *   synguard status [--json] [IFACE]   the instances on this host: pinned
 *                                      ones (/sys/fs/bpf/synguard/IFACE) and
 *                                      running ones (/run/synguard/IFACE.lock)
 *   synguard unload IFACE              remove IFACE's pinned instance and
 *                                      everything it attached
 *
 * argv[0] is the subcommand's name. Return the exit status: 0 ok,
 * 1 runtime error (nothing to report or remove, not root), 2 bad usage.
 */
#ifndef SG_SERVICE_H
#define SG_SERVICE_H

int sg_status_cmd(int argc, char **argv);
int sg_unload_cmd(int argc, char **argv);

#endif /* SG_SERVICE_H */
