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
static int read_mtu(const char *ifname)
{
	char path[128];
	FILE *f;
	int mtu = 0;

	if (!ifname)
		return 0;
	snprintf(path, sizeof(path), "/sys/class/net/%s/mtu", ifname);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &mtu) != 1)
		mtu = 0;
	fclose(f);
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
	sg_ladder_settings(&s, cfg);
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
		mtu = read_mtu(cfg->ifname);
		if (mtu >= 576 && mtu <= 65535) {
			s.mss4 = mtu - 40;
			s.mss6 = mtu >= 1280 ? mtu - 60 : 1220;
		}
	}
	skel->rodata->sg_cfg = s;
}
