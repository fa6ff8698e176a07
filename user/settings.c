// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * settings.c - the one writer of the BPF programs' load-time settings
 * (include/sg_settings.h; the object's read-only global sg_cfg).
 *
 * Every constant the programs are verified with is decided here: from the
 * options and, when SYN cookies may be used, from what the kernel will
 * accept when a cookie handshake is handed to it: the TCP sysctls of the
 * current network namespace and the interface's MTU. Nothing system-wide
 * is changed, and monitor mode reads nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "sg_user.h"
#include "ladder.h"
#include "synguard.skel.h"

int sg_read_sysctl(const char *name, int *val)
{
	char path[128];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ok = fscanf(f, "%d", val) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/* The interface's MTU, 0 if unknown. */
/* The MSS to offer on an interface of this MTU: IPv4 and IPv6 (IPv6 needs
 * 1280 bytes; below that, the smallest MSS the kernel accepts for an IPv6
 * handoff). */
void sg_mss_for_mtu(int mtu, __u16 *mss4, __u16 *mss6)
{
	*mss4 = mtu - 40;
	*mss6 = mtu >= 1280 ? mtu - 60 : 1220;
}

int sg_read_mtu(const char *ifname)
{
	struct ifreq ifr = {};
	int fd, mtu = 0;

	/* an ioctl in our network namespace: /sys may be another's (nsenter) */
	if (!ifname || strlen(ifname) >= sizeof(ifr.ifr_name))
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	strcpy(ifr.ifr_name, ifname);
	if (!ioctl(fd, SIOCGIFMTU, &ifr))
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

void sg_settings_apply(struct synguard_bpf *skel, const struct sg_config *cfg)
{
	struct sg_settings s = SG_SETTINGS_DEFAULTS;
	int ts = 1, sack = 1, ws = 1, mtu;

	s.mode = cfg->mode;
	s.family = cfg->only4 ? 4 : cfg->only6 ? 6 : 0;
	s.port_filter = cfg->nports > 0;
	s.addr_filter = cfg->ncidrs > 0;
	s.syn_quiet = cfg->syn_summary;
	s.deny = cfg->ndeny > 0;	/* --deny, --allow (user/policy.c) */
	s.allow = cfg->nallow > 0;
	sg_ladder_settings(&s, cfg);
	s.syn_limit = cfg->syn_limit;
	s.limit_prefix4 = cfg->limit_prefix4;
	s.limit_prefix6 = cfg->limit_prefix6;
	if (cfg->mode != SG_MODE_MONITOR) {
		s.explicit_ports = cfg->nprot_ports > 0;
		/* Offer only what the kernel will accept for the handoff; an
		 * unreadable sysctl keeps the kernel's default (on). */
		sg_read_sysctl("tcp_timestamps", &ts);
		sg_read_sysctl("tcp_sack", &sack);
		sg_read_sysctl("tcp_window_scaling", &ws);
		s.allow_ts = ts != 0;
		s.allow_sack = sack != 0;
		s.allow_ws = ws != 0;
		/* IPv6 needs 1280 bytes; below that, the smallest MSS the
		 * kernel accepts for an IPv6 handoff */
		mtu = sg_read_mtu(cfg->ifname);
		if (mtu >= 576 && mtu <= 65535)
			sg_mss_for_mtu(mtu, &s.mss4, &s.mss6);
		/* the reflection cap: only where cookies may answer; a fresh
		 * seed for its sketch each load (getrandom() cannot fail for
		 * 4 bytes once the pool is ready; 0 is a seed too) */
		s.synack_cap = cfg->synack_cap;
		if (getrandom(&s.cap_seed, sizeof(s.cap_seed), 0) != sizeof(s.cap_seed))
			s.cap_seed = 0;
	}
	skel->rodata->sg_cfg = s;
}
