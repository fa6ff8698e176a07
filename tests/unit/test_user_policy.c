// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_user_policy.c - --deny/--allow arguments and list files
 * (user/policy.c): what a line may hold (comments, blanks, IPv4, IPv6,
 * host bits), what is refused and how it is named (FILE:LINE).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "policy.h"

static char dir[] = "/tmp/sgpolicy.XXXXXX";

static const char *make(const char *name, const char *text)
{
	static char arg[300];
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	snprintf(arg, sizeof(arg), "@%s", path);
	return arg;
}

static int key_is(const struct sg_lpm_key *k, int family, const char *addr, int prefix)
{
	__u32 a[4] = {};

	inet_pton(family == 6 ? AF_INET6 : AF_INET, addr, a);
	return k->family == (__u32)family && k->prefixlen == 32u + prefix && !memcmp(k->addr, a, sizeof(a));
}

static void test_args(void)
{
	char msg[256];

	printf("arguments\n");
	CHECK(!sg_policy_arg_check("--deny", "192.0.2.0/24", msg, sizeof(msg)), "  192.0.2.0/24");
	CHECK(!sg_policy_arg_check("--deny", "2001:db8::/32", msg, sizeof(msg)), "  2001:db8::/32");
	CHECK(!sg_policy_arg_check("--deny", "192.0.2.1", msg, sizeof(msg)), "  a bare address");
	CHECK(!sg_policy_arg_check("--deny", "@/no/such/file", msg, sizeof(msg)), "  @FILE (read later)");
	CHECK(sg_policy_arg_check("--deny", "192.0.2.0/33", msg, sizeof(msg)) && strstr(msg, "--deny") &&
		      strstr(msg, "'192.0.2.0/33'"),
	      "  /33 refused, named: %s", msg);
	CHECK(sg_policy_arg_check("--allow", "@", msg, sizeof(msg)), "  '@' alone refused: %s", msg);
	CHECK(sg_policy_arg_check("--allow", "", msg, sizeof(msg)), "  '' refused");
	CHECK(sg_policy_arg_check("--allow", "10.0.0.0/8 ", msg, sizeof(msg)), "  a trailing blank refused");
}

static void test_files(void)
{
	struct sg_lpm_key *keys = NULL;
	size_t n = 0, cap = 0;
	char msg[512], *big;
	const char *f;
	int r;

	printf("list files\n");
	f = make("good", "# firehol-style header\n"
			 "#\n"
			 "\n"
			 "192.0.2.0/24\n"
			 "  198.51.100.7  \n"
			 "\t203.0.113.0/24\t# a comment after it\n"
			 "10.1.2.3/8\r\n"
			 "2001:db8::/32 ; Spamhaus style\n"
			 "fd00::1\n"
			 "   # an indented comment\n"
			 "0.0.0.0/0\n"
			 "10.9.9.9"); /* no newline at the end */
	r = sg_policy_read_source(f, &keys, &n, &cap, msg, sizeof(msg));
	CHECK(!r && n == 8, "  8 entries read (%d, %zu)%s%s", r, n, r ? ": " : "", r ? msg : "");
	if (!r && n == 8) {
		CHECK(key_is(&keys[0], 4, "192.0.2.0", 24), "  192.0.2.0/24");
		CHECK(key_is(&keys[1], 4, "198.51.100.7", 32), "  surrounding blanks: 198.51.100.7/32");
		CHECK(key_is(&keys[2], 4, "203.0.113.0", 24), "  tab, trailing comment");
		CHECK(key_is(&keys[3], 4, "10.0.0.0", 8), "  host bits cleared, CRLF: 10.1.2.3/8 is 10.0.0.0/8");
		CHECK(key_is(&keys[4], 6, "2001:db8::", 32), "  ';' comment, IPv6 network");
		CHECK(key_is(&keys[5], 6, "fd00::1", 128), "  IPv6 address: /128");
		CHECK(key_is(&keys[6], 4, "0.0.0.0", 0), "  0.0.0.0/0");
		CHECK(key_is(&keys[7], 4, "10.9.9.9", 32), "  last line without a newline");
	}
	r = sg_policy_read_source("10.0.0.1", &keys, &n, &cap, msg, sizeof(msg));
	CHECK(!r && n == 9 && key_is(&keys[8], 4, "10.0.0.1", 32), "  a CIDR argument appends to the list");

	n = 0;
	f = make("bad", "10.0.0.0/8\n# fine\n10.0.0.300\n");
	r = sg_policy_read_source(f, &keys, &n, &cap, msg, sizeof(msg));
	CHECK(r && strstr(msg, "/bad:3: invalid address or CIDR '10.0.0.300'"), "  a bad line: %s", msg);
	f = make("two", "10.0.0.0/8 10.1.0.0/16\n");
	r = sg_policy_read_source(f, &keys, &n, &cap, msg, sizeof(msg));
	CHECK(r && strstr(msg, "/two:1: one address or CIDR per line"), "  two on a line: %s", msg);
	f = make("ipset", "add myset 10.0.0.0/8\n");
	r = sg_policy_read_source(f, &keys, &n, &cap, msg, sizeof(msg));
	CHECK(r && strstr(msg, "/ipset:1:"), "  'ipset save' syntax refused: %s", msg);
	f = make("host", "10.0.0.0/8\nexample.com\n");
	r = sg_policy_read_source(f, &keys, &n, &cap, msg, sizeof(msg));
	CHECK(r && strstr(msg, "/host:2:"), "  a host name refused (no DNS): %s", msg);
	big = malloc(1000);
	memset(big, '1', 999);
	big[999] = '\0';
	f = make("long", big);
	free(big);
	r = sg_policy_read_source(f, &keys, &n, &cap, msg, sizeof(msg));
	CHECK(r && strstr(msg, "/long:1: line longer than"), "  a long line: %s", msg);
	f = make("empty", "# nothing yet\n\n");
	n = 0;
	r = sg_policy_read_source(f, &keys, &n, &cap, msg, sizeof(msg));
	CHECK(!r && n == 0, "  a file of comments only: an empty list");
	r = sg_policy_read_source("@/no/such/file", &keys, &n, &cap, msg, sizeof(msg));
	CHECK(r && strstr(msg, "/no/such/file: No such file"), "  a missing file: %s", msg);
	free(keys);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		check_skip("policy: no temporary directory");
		return check_summary("policy");
	}
	test_args();
	test_files();
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			perror(cmd);
	}
	return check_summary("policy");
}
