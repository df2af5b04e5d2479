/* recon_ckpt.h — checkpoints seen from the engine: capture, model checks, resume, replay.
 *
 * Design note
 *   The .frc codec (ckpt.h) reads and writes plain fr_ckpt structs and knows no engine; this
 *   module connects it to one: it copies an engine's state into a blob (fr_recon_state_capture
 *   plus the run-level facts of fr_ckpt_info), checks a loaded checkpoint against the bundle it
 *   claims (fingerprints), and rebuilds engines (resume) or snapshots (replay) from it.
 *   Threading: capture runs on the thread that owns the engine (the worker) between two steps;
 *   the rest is thread-agnostic and never keeps pointers into the checkpoint.
 */
#ifndef FRTUI_RECON_CKPT_H
#define FRTUI_RECON_CKPT_H

#include <stdint.h>

#include "frtui/ckpt.h"
#include "frtui/graph.h"
#include "frtui/snapshot.h"

/* Run-level facts the engine does not know; the worker / CLI fill them. */
typedef struct fr_ckpt_info {
    const char *bundle_path;
    uint64_t model_fp, calib_fp;
    double acc_fp, acc_q;
    int run_status;
    int64_t it_total;
} fr_ckpt_info;

/* FNV-1a-64 of the calibration samples the run uses (shape, dtype, scale/offset and the first
 * n_calib samples' bytes; n_calib 0 = all). */
uint64_t fr_ckpt_calib_fingerprint(const fr_model *m, int n_calib);

/* Copies the engine state into a new blob (worker thread; memcpy only, no compression). */
struct fr_recon;
fr_ckpt_blob *fr_ckpt_capture(struct fr_recon *r, const fr_ckpt_info *info);
/* Checks that c belongs to bundle m (fingerprints, node/unit counts, layer shapes against the
 * folded graph) and, when cfg != NULL, that cfg does not change a bit-exactness setting.
 * threads: the BLAS thread count of this process (0 = do not check).  One line naming what
 * differs; FR_EINPUT. */
int fr_ckpt_check_model(const fr_ckpt *c, const fr_model *m, const char *path, fr_err *e);
/* Replay: immutable views of every unit (all arrays and stats), status FR_RUN_REPLAY, run info
 * from the checkpoint.  m is the bundle (checked with fr_ckpt_check_model). */
fr_snapshot *fr_ckpt_snapshot(const fr_ckpt *c, const fr_model *m, fr_err *e);

/* Resume: builds a new engine for m with the checkpoint's settings and restores it (finished
 * units are replayed, the running unit continues at its saved iteration).  */
struct fr_recon *fr_ckpt_resume_engine(const fr_ckpt *c, const fr_model *m, fr_err *e);

#endif
