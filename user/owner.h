/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * owner.h - one synguard process per interface at a time (owner.c).
 *
 * The owner holds a POSIX write lock on /run/synguard/IFACE.lock for as
 * long as it runs (foreground or --pin); the kernel drops the lock when
 * the process dies, by any signal. A second synguard for the same
 * interface name is refused with the holder's pid (F_GETLK reports it).
 * The file also says what the owner does (key=value lines), for
 * `synguard status`. Interface names are host-wide here, as the pin
 * directory's are.
 */
#ifndef SG_OWNER_H
#define SG_OWNER_H

#include <sys/types.h>

#define SG_RUN_DIR "/run/synguard"

struct sg_owner {
	int fd;
	char path[128];
};

/* Take the interface's lock: 0; -EBUSY with *holder = the live owner's pid
 * (message printed); other -errno (message printed). */
int sg_owner_lock(struct sg_owner *o, const char *ifname, pid_t *holder);
/* Replace the lock file's description (key=value lines, '\n'-separated). */
void sg_owner_describe(struct sg_owner *o, const char *text);
/* Drop the lock and remove the file (no-op if not held). */
void sg_owner_unlock(struct sg_owner *o);
/* The pid of the live process holding IFACE's lock, 0 if none. If text is
 * not NULL, the lock file's description is copied there (up to len). */
pid_t sg_owner_query(const char *ifname, char *text, size_t len);

#endif /* SG_OWNER_H */
