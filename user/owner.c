// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * owner.c - one synguard per interface: a POSIX lock on
 * /run/synguard/IFACE.lock (see owner.h).
 *
 * POSIX (fcntl) locks, not flock(): F_GETLK names the holder's pid, which
 * the refusal and `synguard status` report. The lock goes with the process
 * (any death) and is not inherited by children.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "owner.h"

static void lock_path(char *buf, size_t len, const char *ifname)
{
	snprintf(buf, len, "%s/%s.lock", SG_RUN_DIR, ifname);
}

int sg_owner_lock(struct sg_owner *o, const char *ifname, pid_t *holder)
{
	*holder = 0;
	o->fd = -1;
	lock_path(o->path, sizeof(o->path), ifname);
	if (mkdir(SG_RUN_DIR, 0755) && errno != EEXIST) {
		fprintf(stderr, "synguard: cannot create %s: %s\n", SG_RUN_DIR, strerror(errno));
		return -errno;
	}
	/* The file may be unlinked by an owner exiting between our open and
	 * our lock: then we locked a dead inode, and retry on the new one. */
	for (int tries = 0; tries < 10; tries++) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		struct stat a, b;
		int fd = open(o->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0) {
			fprintf(stderr, "synguard: cannot open %s: %s\n", o->path, strerror(errno));
			return -errno;
		}
		if (fcntl(fd, F_SETLK, &fl)) {
			int err = errno;

			if (err == EACCES || err == EAGAIN) {
				struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

				if (!fcntl(fd, F_GETLK, &q) && q.l_type != F_UNLCK)
					*holder = q.l_pid;
				close(fd);
				if (!*holder)
					continue; /* released meanwhile: try again */
				fprintf(stderr,
					"synguard: %s is already served by synguard pid %d; stop it first "
					"(kill %d, or systemctl stop synguard@%s)\n",
					ifname, (int)*holder, (int)*holder, ifname);
				return -EBUSY;
			}
			close(fd);
			fprintf(stderr, "synguard: cannot lock %s: %s\n", o->path, strerror(err));
			return -err;
		}
		if (!fstat(fd, &a) && !stat(o->path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			o->fd = fd;
			sg_owner_describe(o, "");
			return 0;
		}
		close(fd);
	}
	fprintf(stderr, "synguard: cannot take the lock %s (it keeps changing)\n", o->path);
	return -EAGAIN;
}

void sg_owner_describe(struct sg_owner *o, const char *text)
{
	char buf[1024];
	int n;

	if (o->fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "pid=%d\n%s", (int)getpid(), text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (ftruncate(o->fd, 0) || pwrite(o->fd, buf, n, 0) != n)
		; /* a description only: status then shows less */
}

void sg_owner_unlock(struct sg_owner *o)
{
	if (o->fd < 0)
		return;
	unlink(o->path);	/* while still holding it: nobody takes the old inode */
	close(o->fd);
	o->fd = -1;
}

pid_t sg_owner_query(const char *ifname, char *text, size_t len)
{
	struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[128];
	ssize_t n;
	int fd;

	if (text && len)
		text[0] = '\0';
	lock_path(path, sizeof(path), ifname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* F_GETLK with a read-only fd: ask about a read lock (conflicts with the write lock) */
	q.l_type = F_RDLCK;
	if (fcntl(fd, F_GETLK, &q) || q.l_type == F_UNLCK) {
		close(fd);
		return 0;
	}
	if (text && len) {
		n = pread(fd, text, len - 1, 0);
		text[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	return q.l_pid;
}
