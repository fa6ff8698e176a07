/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_skhint.h - "may this 4-tuple have a socket?", the hint that spares a
 * SYN to a protected port the kernel's socket lookup (bpf/sg_synproxy.h).
 *
 * A SYN is answered with a cookie only when the socket its 4-tuple leads to
 * is a listener: a tuple with an established, request or TIME_WAIT socket
 * is the kernel's. bpf_skc_lookup_tcp() tells, and costs most of a SYN's
 * time (~180 ns of helper, plus a cache miss into the kernel's established
 * hash for every spoofed tuple). The hint answers "certainly no socket" for
 * most tuples without it, and "maybe" (then the lookup decides) for every
 * tuple that has one:
 *
 *   sg_sk_hint: SG_SKHINT_SLOTS one-byte slots, a slot per hash of the
 *   tuple (client address and port, server address and port, family),
 *   holding the epoch (SG_SKHINT_EPOCH_SHIFT of CLOCK_MONOTONIC, 1..255)
 *   when a socket for a tuple hashing there was last known; 0 = never.
 *   A slot marked within the last SG_SKHINT_EPOCHS epochs means "maybe".
 *
 * Marked by the BPF programs when a socket may appear: every SYN to a
 * protected port that is not answered with a cookie (it goes to the
 * kernel), every ACK the cookie path passes without a cookie (the
 * kernel's own cookies), every socket a lookup finds, every SYN, SYN-ACK
 * and FIN leaving through the interface (connect(), answers to SYNs that
 * came in elsewhere, and the FIN that puts a server socket in TIME_WAIT);
 * and by userspace (user/skhint.c) from /proc/net/tcp and tcp6 every
 * SG_SKHINT_DUMP_S seconds: every socket that exists, whatever made it
 * (before synguard started, through another interface), is marked again
 * there. Slots are only ever overwritten with a current epoch, never
 * cleared: two writers race harmlessly.
 *
 * A handshake handed off with a valid cookie is not marked (at 20k new
 * connections a second, marks would fill the slots): its socket is
 * established, and until the next dump (<= SG_SKHINT_DUMP_S s) a SYN on
 * its tuple gets a cookie SYN-ACK where the kernel would send a challenge
 * ACK: only a third party can send that SYN (the client holds the tuple),
 * and the client answers our SYN-ACK with the same challenge ACK, which
 * its connection's socket ignores. Its TIME_WAIT, the case that matters
 * (a client reusing its port), follows the server's FIN, which is marked.
 *
 * The program trusts the hint only while userspace keeps it up to date:
 * sg_sk_hint.armed holds the epoch when the last complete dump started,
 * and one older than SG_SKHINT_EPOCHS (synguard stopped, not yet dumped)
 * means a lookup for every SYN, as without the hint. The dump's marks and
 * armed are the same epoch, judged by the same rule (sg_skhint_recent(),
 * sg_skhint_trusted()): the hint stops being trusted in the very epoch
 * the dump's marks stop counting. While it is recent,
 * every socket that existed then carries a mark at least that recent, and
 * every one made since was marked by the programs. Collisions, and a high
 * rate of new connections (each marks a slot for a few seconds), only
 * cost lookups.
 */
#ifndef SG_SKHINT_H
#define SG_SKHINT_H

#include "synguard.h"

#define SG_SKHINT_BITS		16
#define SG_SKHINT_SLOTS		(1u << SG_SKHINT_BITS)	/* 64 KiB: stays in cache */
#define SG_SKHINT_EPOCH_SHIFT	31			/* ~2.1 s per epoch */
#define SG_SKHINT_EPOCHS	2	/* a mark counts for 2 epochs more (4.3-6.4 s) */
#define SG_SKHINT_DUMP_S	2	/* userspace marks every socket this often */

struct sg_skhint {
	__u32 armed;		/* sg_skhint_epoch32() when the last complete dump
				 * started; 0 = none yet */
	__u32 pad;
	__u8 slot[SG_SKHINT_SLOTS];
};

/* The epoch of a CLOCK_MONOTONIC time: 1..255 (0 means "unmarked"). */
SG_INLINE __u8 sg_skhint_epoch(__u64 mono_ns)
{
	return (__u8)(1 + (mono_ns >> SG_SKHINT_EPOCH_SHIFT) % 255);
}

/* The full epoch number, for armed: the same epoch as sg_skhint_epoch()'s,
 * counted from 1 (0 means "no dump yet"); no wrap in practice, so a stale
 * dump never looks recent again. */
SG_INLINE __u32 sg_skhint_epoch32(__u64 mono_ns)
{
	return (__u32)(mono_ns >> SG_SKHINT_EPOCH_SHIFT) + 1;
}

/* Epochs from e to now (serial, 1..255 wrap); 0 = same epoch. A slot's
 * wrap only makes an old mark look recent: a lookup more. */
SG_INLINE __u32 sg_skhint_age(__u8 now, __u8 e)
{
	return (__u32)(now + 255 - e) % 255;
}

/*
 * 1 if a mark of epoch m is recent at epoch now: at most SG_SKHINT_EPOCHS
 * old, or one ahead (a writer whose clock read a tick later, just past an
 * epoch's start: userspace and the programs read the same coarse clock,
 * but not at the same instant).
 */
SG_INLINE int sg_skhint_recent(__u8 now, __u8 m)
{
	__u32 age = sg_skhint_age(now, m);

	return m && (age <= SG_SKHINT_EPOCHS || age == 254);
}

/*
 * 1 if the last dump (armed: sg_skhint_epoch32() of its start) is recent
 * enough at now32 for its marks to count: exactly the marks' own rule
 * (sg_skhint_recent()), so no socket the dump marked can read as "none"
 * while the hint is trusted.
 */
SG_INLINE int sg_skhint_trusted(__u32 now32, __u32 armed)
{
	__s32 d = (__s32)(now32 - armed);

	return armed && d >= -1 && d <= SG_SKHINT_EPOCHS;
}

/*
 * The slot of a tuple, client's view: caddr/cport the remote endpoint,
 * saddr/sport ours; addresses as in the packet (IPv4 in [0], the rest 0),
 * ports in host order. Not keyed: a crafted collision only costs its
 * sender a socket lookup.
 */
SG_INLINE __u32 sg_skhint_slot(__u8 family, const __u32 *caddr, const __u32 *saddr,
			       __u16 cport, __u16 sport)
{
	__u64 h = ((__u64)caddr[0] << 32 | saddr[0]) ^ ((__u64)cport << 16 | sport) ^
		  (__u64)family << 56;

	if (family == 6) {
		h ^= ((__u64)caddr[1] << 32 | caddr[2]) * 0x9e3779b97f4a7c15ULL;
		h ^= ((__u64)caddr[3] << 32 | saddr[1]) * 0xc2b2ae3d27d4eb4fULL;
		h ^= ((__u64)saddr[2] << 32 | saddr[3]) * 0x165667b19e3779f9ULL;
	}
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return (__u32)(h >> 32) & (SG_SKHINT_SLOTS - 1);
}

#endif /* SG_SKHINT_H */
