// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_user_secret.c - --secret-file: what files are refused (mode, owner,
 * size, symbolic links), and the key derivation: deterministic, one key
 * per window and fleet key, pinned to a reference value (other nodes, or
 * another implementation, must compute the same).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "check.h"
#include "secret.h"

static char dir[] = "/tmp/sgsecret.XXXXXX";

static const char *make(const char *name, int bytes, mode_t mode)
{
	static char path[256];
	__u8 buf[64];
	int fd;

	for (int i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (__u8)(i * 7 + 1);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, bytes) != bytes)
		return NULL;
	fchmod(fd, mode);
	close(fd);
	return path;
}

static void test_files(void)
{
	struct sg_secret *s;
	const char *p;
	char link[300];

	p = make("ok", 32, 0600);
	s = sg_secret_open(p);
	CHECK(geteuid() != 0 || s, "32 bytes, root, 0600: accepted");
	sg_secret_free(s);
	p = make("open", 32, 0644);
	s = sg_secret_open(p);
	CHECK(!s, "mode 0644: refused");
	p = make("grp", 32, 0640);
	CHECK(!(s = sg_secret_open(p)), "mode 0640: refused");
	p = make("short", 31, 0600);
	CHECK(!(s = sg_secret_open(p)), "31 bytes: refused");
	p = make("long", 33, 0600);
	CHECK(!(s = sg_secret_open(p)), "33 bytes: refused");
	if (geteuid() == 0) {
		p = make("nobody", 32, 0600);
		if (!chown(p, 65534, 65534))
			CHECK(!(s = sg_secret_open(p)), "owned by uid 65534: refused");
	}
	snprintf(link, sizeof(link), "%s/link", dir);
	p = make("ok", 32, 0600);
	if (!symlink(p, link))
		CHECK(!(s = sg_secret_open(link)), "a symbolic link: refused");
	CHECK(!(s = sg_secret_open(dir)), "a directory: refused");
	CHECK(!(s = sg_secret_open("/nonexistent/key")), "a missing file: refused");
}

static void test_derive(void)
{
	static const __u8 k1[SG_SECRET_BYTES] = "fleet key one, 32 bytes exactly";
	static const __u8 k2[SG_SECRET_BYTES] = "fleet key two, 32 bytes exactly";
	struct sg_secret *a = sg_secret_from_bytes(k1), *b = sg_secret_from_bytes(k1), *c = sg_secret_from_bytes(k2);
	struct sg_cookie_key x, y, z, w;

	if (!CHECK(a && b && c, "keys"))
		return;
	sg_secret_derive(a, 29999999, &x);
	sg_secret_derive(b, 29999999, &y);
	sg_secret_derive(a, 30000000, &z);
	sg_secret_derive(c, 29999999, &w);
	CHECK(x.k0 == y.k0 && x.k1 == y.k1, "one fleet key, one window: one cookie key (every node)");
	CHECK(x.k0 != z.k0 && x.k1 != z.k1, "the next window: another key");
	CHECK(x.k0 != w.k0 && x.k1 != w.k1, "another fleet key: another key");
	CHECK(x.k0 != x.k1 && (x.k0 || x.k1), "the two halves differ, never empty");
	printf("  window 29999999: k0 %016llx k1 %016llx\n", (unsigned long long)x.k0, (unsigned long long)x.k1);
	CHECK(x.k0 == 0x9c6824fb0f1540b0ull && x.k1 == 0xd130aad487aecaefull,
	      "the reference value (secret.h's derivation computed independently in Python)");
	sg_secret_free(a);
	sg_secret_free(b);
	sg_secret_free(c);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		check_skip("secret: no temporary directory");
		return check_summary("secret");
	}
	test_files();
	test_derive();
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			perror(cmd);
	}
	return check_summary("secret");
}
