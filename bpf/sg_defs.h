/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_defs.h - the UAPI constants the BPF programs use that vmlinux.h does
 * not carry: BTF describes types and enums, not #defines, so errno values,
 * TC actions, EtherTypes, IP header bits and the IPv6 extension-header
 * numbers are missing from it. (IPPROTO_TCP and IPPROTO_AH belong to an
 * enum, so vmlinux.h has them: they are used from there.)
 */
#ifndef SG_DEFS_H
#define SG_DEFS_H

#ifndef EEXIST
#define EEXIST		17
#endif

#ifndef TC_ACT_OK
#define TC_ACT_OK	0
#endif

/* EtherTypes (linux/if_ether.h ETH_P_*) */
#define SG_ETH_P_IP	0x0800
#define SG_ETH_P_IPV6	0x86DD
#define SG_ETH_P_8021Q	0x8100
#define SG_ETH_P_8021AD	0x88A8

/* IPv4 frag_off bits, host order (net/ip.h IP_*) */
#define SG_IP_DF	0x4000	/* don't fragment */
#define SG_IP_MF	0x2000	/* more fragments */
#define SG_IP_OFFSET	0x1FFF	/* fragment offset */

/* IPv6 next-header values of extension headers (linux/in6.h IPPROTO_*) */
#define SG_IPPROTO_HOPOPTS	0	/* hop-by-hop options */
#define SG_IPPROTO_ROUTING	43
#define SG_IPPROTO_FRAGMENT	44
#define SG_IPPROTO_DSTOPTS	60	/* destination options */

#endif /* SG_DEFS_H */
