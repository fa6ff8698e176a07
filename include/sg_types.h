/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sg_types.h - fixed-width types and inline markers usable from both BPF
 * (vmlinux.h already included) and userspace (linux/types.h).
 */
#ifndef SG_TYPES_H
#define SG_TYPES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifndef SG_INLINE
#define SG_INLINE static inline __attribute__((always_inline))
#endif

#endif /* SG_TYPES_H */
