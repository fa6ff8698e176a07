// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bpflinks.c - list the BPF links of the running kernel, one per line:
 *
 *   LINK_ID TYPE PROG_ID PROG_NAME IFINDEX
 *
 * TYPE is the kernel's number (6 XDP, 11 tcx); IFINDEX is 0 for links not
 * bound to a device. The integration tests use it to prove that nothing
 * of synguard's is linked to an interface any more: bpftool 7.1 (Debian
 * 12) knows no tcx links and prints no interface for them. libc only
 * (raw bpf(2)); needs root.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int info(int fd, void *buf, __u32 len)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info_len = len;
	a.info.info = (__u64)(unsigned long)buf;
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
}

int main(void)
{
	__u32 id = 0;

	for (;;) {
		struct bpf_link_info li;
		struct bpf_prog_info pi;
		union bpf_attr a;
		int fd, pfd;

		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (sys_bpf(BPF_LINK_GET_NEXT_ID, &a)) {
			if (errno == ENOENT)
				return 0;
			perror("bpflinks: BPF_LINK_GET_NEXT_ID");
			return 1;
		}
		id = a.next_id;
		memset(&a, 0, sizeof(a));
		a.link_id = id;
		fd = sys_bpf(BPF_LINK_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&li, 0, sizeof(li));
		memset(&pi, 0, sizeof(pi));
		if (!info(fd, &li, sizeof(li))) {
			memset(&a, 0, sizeof(a));
			a.prog_id = li.prog_id;
			pfd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
			if (pfd >= 0) {
				info(pfd, &pi, sizeof(pi));
				close(pfd);
			}
			/* XDP and tcx (kernels >= 6.6) links: the union's first word is the ifindex */
			printf("%u %u %u %s %u\n", li.id, li.type, li.prog_id, pi.name[0] ? pi.name : "-",
			       li.type == 6 || li.type == 11 ? li.xdp.ifindex : 0);
		}
		close(fd);
	}
}
