/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * ladder.h - ladder mode: the per-segment records of tracked flows
 * (bpf/sg_ladder.h) drawn as ladder diagrams, two lifelines per flow,
 * client on the left, live on stdout (--ladder), and written as one
 * PlantUML or Mermaid file per flow when it closes or at exit (--diagram).
 *
 * The object is fed from two threads: the ring-buffer loop (segment
 * records) and, through the output object's tap, every event printed (the
 * sweeper's timer transitions, e.g. TIME_WAIT -> CLOSED); it locks itself.
 */
#ifndef SG_LADDER_USER_H
#define SG_LADDER_USER_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sg_user.h"
#include "sg_settings.h"
#include "sg_ladder_ev.h"

struct synguard_bpf;
struct ring_buffer;
struct sg_out;
struct sg_ladder;

/* The options (--ladder, --diagram, ...): an argp child; its input is the
 * struct sg_config being filled (state->child_inputs[i] = &cfg). */
extern const struct argp sg_ladder_argp;

/* Ladder mode asked for (--ladder or --diagram). */
bool sg_ladder_wanted(const struct sg_config *cfg);
/* The BPF settings of ladder mode (settings.c). */
void sg_ladder_settings(struct sg_settings *s, const struct sg_config *cfg);
/* Between open and load: the ring's size (one page when off). */
int sg_ladder_preload(struct synguard_bpf *skel, const struct sg_config *cfg);

/* After load, once the ring-buffer manager exists: adds the ladder ring to
 * rb and taps out. NULL with ladder mode off (or on error, said on stderr:
 * *err < 0). */
struct sg_ladder *sg_ladder_new(const struct sg_config *cfg, struct synguard_bpf *skel, struct ring_buffer *rb,
				struct sg_out *out, int *err);
/* At exit, the ring drained: the open flows' diagrams, the ladder's totals. */
void sg_ladder_finish(struct sg_ladder *l);
void sg_ladder_free(struct sg_ladder *l);

/* For tests: a ladder writing to out without BPF, fed by hand. */
struct sg_ladder *sg_ladder_new_bare(const struct sg_config *cfg, struct sg_out *out, bool color);
int sg_ladder_record(struct sg_ladder *l, const struct sg_seg_event *r);
bool sg_ladder_event(struct sg_ladder *l, const struct sg_event *e);

#endif /* SG_LADDER_USER_H */
