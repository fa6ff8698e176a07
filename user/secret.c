// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* secret.c - --secret-file: fleet-wide SYN-cookie keys (see secret.h). */
#define _GNU_SOURCE	/* explicit_bzero() */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "secret.h"

struct sg_secret {
	struct sg_cookie_key half[2];	/* the fleet key's two 128-bit halves */
	__u64 window;			/* last written */
	__u64 off;			/* last written clock offset */
	int written;
};

static __u64 le64(const __u8 *p)
{
	__u64 v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

struct sg_secret *sg_secret_from_bytes(const __u8 key[SG_SECRET_BYTES])
{
	struct sg_secret *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	mlock(s, sizeof(*s));	/* best effort: keep the key out of swap */
	s->half[0].k0 = le64(key);
	s->half[0].k1 = le64(key + 8);
	s->half[1].k0 = le64(key + 16);
	s->half[1].k1 = le64(key + 24);
	return s;
}

struct sg_secret *sg_secret_open(const char *path)
{
	__u8 key[SG_SECRET_BYTES + 1];
	struct sg_secret *s;
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fprintf(stderr, "synguard: --secret-file %s: %s%s\n", path, strerror(errno),
			errno == ELOOP ? " (a symbolic link: give the file itself)" : "");
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "synguard: --secret-file %s: not a regular file\n", path);
		close(fd);
		return NULL;
	}
	if (st.st_uid != 0 || (st.st_mode & 07777) != 0600) {
		fprintf(stderr,
			"synguard: --secret-file %s: refused: it must be owned by root with mode 0600 "
			"(it is owned by uid %u with mode %04o); chown root:root and chmod 600 it\n",
			path, (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	n = read(fd, key, sizeof(key));	/* one byte more: a longer file is wrong too */
	close(fd);
	if (n != SG_SECRET_BYTES) {
		explicit_bzero(key, sizeof(key));
		fprintf(stderr,
			"synguard: --secret-file %s: must hold exactly %d random bytes, not %s%zd "
			"(e.g. head -c %d /dev/urandom > FILE)\n",
			path, SG_SECRET_BYTES, n > SG_SECRET_BYTES ? "more than " : "",
			n > SG_SECRET_BYTES ? (ssize_t)SG_SECRET_BYTES : n, SG_SECRET_BYTES);
		return NULL;
	}
	s = sg_secret_from_bytes(key);
	explicit_bzero(key, sizeof(key));
	return s;
}

void sg_secret_free(struct sg_secret *s)
{
	if (!s)
		return;
	explicit_bzero(s, sizeof(*s));
	munlock(s, sizeof(*s));
	free(s);
}

void sg_secret_derive(const struct sg_secret *s, __u64 w, struct sg_cookie_key *k)
{
	/* "synguard-cookie-v1" NUL-padded to 24 bytes, little-endian words */
	static const char label[24] = "synguard-cookie-v1";
	__u64 m[SG_SIPHASH_WORDS];

	for (int i = 0; i < 3; i++)
		m[i] = le64((const __u8 *)label + 8 * i);
	m[3] = w;
	m[5] = 0;
	m[4] = 0;
	k->k0 = sg_siphash24(&s->half[0], m) ^ sg_siphash24(&s->half[1], m);
	m[4] = 1;
	k->k1 = sg_siphash24(&s->half[0], m) ^ sg_siphash24(&s->half[1], m);
	if (!k->k0 && !k->k1)	/* an empty slot means "no key" to the program */
		k->k0 = 1;
	explicit_bzero(m, sizeof(m));
}

int sg_secret_update(struct sg_secret *s, int fd, __u32 rotate, __u64 realtime_ns, __u64 mono_ns, int force)
{
	struct sg_cookie_secrets sec = {};
	__u64 w, off = realtime_ns - mono_ns, drift;
	__u32 zero = 0;
	int err;

	if (!rotate)
		rotate = 60;
	w = realtime_ns / 1000000000ull / rotate;
	drift = off > s->off ? off - s->off : s->off - off;
	if (!force && s->written && w == s->window && drift <= 1000000)
		return 0;
	if (bpf_map_lookup_elem(fd, &zero, &sec))
		return -errno;
	sg_secret_derive(s, w, &sec.key[w & 1]);
	sg_secret_derive(s, w - 1, &sec.key[(w & 1) ^ 1]);
	if (s->written && w != s->window)
		sec.gen++;
	sec.cur = w & 1;
	sec.clock_off_ns = off;
	err = bpf_map_update_elem(fd, &zero, &sec, BPF_ANY) ? -errno : 0;
	explicit_bzero(&sec, sizeof(sec));
	if (err)
		return err;
	s->window = w;
	s->off = off;
	s->written = 1;
	return 1;
}
