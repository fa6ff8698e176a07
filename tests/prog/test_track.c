// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include "harness.h"

void test_track(void)
{
	printf("  (no track tests yet)\n");
}
