// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_skhint.c - the socket hint's clock arithmetic (include/sg_skhint.h):
 * while the hint is trusted, no mark of the last dump may read as "no
 * socket"; the trust ends within SG_SKHINT_EPOCHS + 1 epochs of the last
 * dump, however the dump's start fell in its epoch; a mark written one
 * clock tick ahead of the reader (across an epoch boundary) still counts;
 * the 8-bit epoch's wrap only ever makes marks look recent.
 *
 *   make build/test_skhint && build/test_skhint
 */
#include <stdio.h>

#include "check.h"
#include "sg_skhint.h"

#define EPOCH_NS (1ull << SG_SKHINT_EPOCH_SHIFT)

static void test_trust_matches_marks(void)
{
	unsigned long bad = 0, late = 0, runs = 0;

	/* dumps starting anywhere in epochs 1..600 (both parities, through
	 * the slots' 255-epoch wrap), read from 0 to 6 epochs later */
	for (__u64 d = 1 * EPOCH_NS; d < 600 * EPOCH_NS; d += EPOCH_NS / 7 + 12345) {
		__u32 armed = sg_skhint_epoch32(d);
		__u8 mark = sg_skhint_epoch(d);
		__u64 last_trusted = d;

		for (__u64 now = d; now < d + 6 * EPOCH_NS; now += EPOCH_NS / 5 + 777) {
			int trusted = sg_skhint_trusted(sg_skhint_epoch32(now), armed);

			if (trusted && !sg_skhint_recent(sg_skhint_epoch(now), mark))
				bad++;
			if (trusted)
				last_trusted = now;
		}
		if (last_trusted - d >= (SG_SKHINT_EPOCHS + 1 + 1) * EPOCH_NS)
			late++;
		runs++;
	}
	CHECK(runs > 1000 && bad == 0, "trusted => the dump's marks are recent (%lu dumps, %lu violations)", runs,
	      bad);
	CHECK(late == 0, "trust ends within %d epochs of the last dump (%lu too late)", SG_SKHINT_EPOCHS + 2, late);
	CHECK(!sg_skhint_trusted(sg_skhint_epoch32(5 * EPOCH_NS), 0), "no dump yet: not trusted");
}

static void test_skew_and_wrap(void)
{
	int bad = 0;

	/* a writer 4 ms ahead of the reader, across every epoch boundary */
	for (__u64 b = EPOCH_NS; b < 600 * EPOCH_NS; b += EPOCH_NS) {
		__u64 reader = b - 1000000, writer = b + 3000000;

		if (!sg_skhint_recent(sg_skhint_epoch(reader), sg_skhint_epoch(writer)) ||
		    !sg_skhint_trusted(sg_skhint_epoch32(reader), sg_skhint_epoch32(writer)))
			bad++;
	}
	CHECK(bad == 0, "a mark or a dump one tick ahead of the reader counts (%d boundaries failed)", bad);
	CHECK(!sg_skhint_recent(7, 0), "an unmarked slot is not recent");
	CHECK(sg_skhint_recent(1, 255) && sg_skhint_recent(2, 255) && !sg_skhint_recent(4, 255),
	      "across the 255 -> 1 wrap: 1 and 2 epochs old recent, 4 not");
	CHECK(!sg_skhint_recent(100, 96) && sg_skhint_recent(100, 98), "4 epochs old: none; 2: maybe");
}

int main(void)
{
	test_trust_matches_marks();
	test_skew_and_wrap();
	return check_summary("skhint");
}
