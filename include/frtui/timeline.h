/* timeline.h — moving through a replayed run's time, and the exports that show it (issue 18,
 * items 2, 3 and 7): the animated heatmap (APNG and a PNG sequence), slides of every view,
 * and the CSV of a loss curve.
 *
 * Design note
 *   A replayed checkpoint's snapshot carries an fr_history (snapshot.h): the recorded moments
 *   of each unit.  A "time shot" is a new snapshot equal to its base except that one unit's
 *   view is the view at one moment; every panel, plot model and exporter then reads that
 *   moment as it reads the present, so scrubbing needs no special case anywhere downstream.
 *   A shot keeps a non-owning copy of the base's history (the base must outlive it: fr_ui
 *   retains it) and never outlives the UI thread that built it.  Moments are numbered
 *   0..count-1; count itself means "now" (the checkpoint's final state).
 */
#ifndef FRTUI_TIMELINE_H
#define FRTUI_TIMELINE_H

#include <stddef.h>
#include "frtui/common.h"
#include "frtui/plotmodel.h"
#include "frtui/snapshot.h"

/* Recorded moments of unit k (0 when the snapshot has no history). */
int fr_timeline_count(const fr_snapshot *s, int k);
/* Iterations done at moment j (j == count: the unit's view now). */
int fr_timeline_iter(const fr_snapshot *s, int k, int j);
/* New snapshot (refs 1) showing unit k at moment j < count; NULL with msg set on failure. */
fr_snapshot *fr_timeline_shot(const fr_snapshot *base, int k, int j, char *msg, size_t msg_n);

/* The loss curve(s) of unit k as CSV: iteration, seconds (empty when not recorded), raw loss,
 * reconstruction part, EMA smoothed with `smooth` (the panel's); one block per method when
 * every = 1 and the unit has compare views ("method" first column).  Atomic write. */
int fr_export_loss_csv(const fr_snapshot *s, int k, double smooth, int all_methods, const char *path, fr_err *e);

/* S evolving: the heatmap (or `view`) of unit k / layer at every moment and now, as one
 * animated PNG (APNG, delay_ms per frame; apng may be NULL) and/or one PNG per moment named
 * PREFIX-it%06d.png (seq_prefix may be NULL).  *n_frames gets the frame count. */
int fr_export_timeline(const fr_snapshot *base, int k, int layer, const char *view, const fr_plot_state *st,
                       const char *apng, const char *seq_prefix, int delay_ms, int *n_frames, fr_err *e);

/* Slides: every view of unit k / layer (loss, heatmap, scatter, hist, reciprocal, compare when
 * computed, then the loss overlay and the equation strip of st->eqn_row/eqn_col, teachpng.h) as
 * w x h PNGs (0: 1920 x 1080) in dir (created when missing), named NN-VIEW.png, each titled with model,
 * unit, method, bits and iteration.  Views with nothing to show are skipped.  *n_written. */
int fr_export_slides(const fr_snapshot *s, int k, int layer, const fr_plot_state *st, const char *dir, int w, int h,
                     int *n_written, fr_err *e);

#endif
