/* recon.h — block-wise reconstruction (BRECQ / QDrop setting) with RTN, AdaRound, FlexRound.
 *
 * Design note
 *   An fr_recon is single-threaded: the worker thread (or the batch CLI, or a test) drives it
 *   unit by unit:  begin(k) -> step() x iters -> end().  It owns
 *   - a private copy of the model graph with batch-norm folded (the FP network),
 *   - two activation stores over the calibration set: the FP path (inputs/targets of every
 *     unit through FP weights) and the quantized path (outputs of the already-quantized
 *     network: BRECQ's asymmetric reconstruction input X̃).  Stores are kept for as long as
 *     a later unit reads them; when the whole set fits in max_cache_mb they are all kept so a
 *     finished unit can be re-run for the compare view,
 *   - per unit and layer: the quantizers while running, and the final results afterwards.
 *
 *   Determinism: every random draw (mini-batch indices, QDrop masks) comes from one fr_rng
 *   stream per unit derived from (seed, unit index, method); with the same BLAS thread count
 *   the run is bit-identical, and a resumed run matches an uninterrupted one because the
 *   stores are rebuilt by replaying finished units' final weights.
 *
 *   Numerics: a non-finite loss or gradient in a unit is detected at the iteration it happens;
 *   the unit falls back to RTN (fr_qlayer_reset_to_rtn) and the note says where.
 */
#ifndef FRTUI_RECON_H
#define FRTUI_RECON_H

#include <stdio.h>

#include "frtui/partition.h"
#include "frtui/aquant.h"
#include "frtui/quant.h"
#include "frtui/snapshot.h"
#include "frtui/runcfg.h"

typedef struct fr_recon fr_recon;

/* Final state of one quantized layer (what a checkpoint stores and an exporter writes). */
typedef struct fr_layer_result {
    int node;               /* node index in the recon graph */
    char name[96];
    int bits, ns1;
    int o, i, kh, kw;
    int64_t n;
    float *s1;              /* [ns1] */
    float *zp;              /* [ns1] */
    int32_t *code;          /* [n] stored codes c + zp */
    float *w_hat;           /* [n] dequantised */
} fr_layer_result;

fr_recon *fr_recon_new(const fr_model *m, const fr_run_config *cfg, fr_err *e);
/* The same checks and memory plan as fr_recon_new, against the same budget, but nothing is
 * allocated for the run (no calibration store, no unit state): for `frtui info`.  Only
 * fr_recon_mem_plan, fr_recon_mem_plan_print, fr_recon_partition, fr_recon_cache_estimate and
 * fr_recon_free may be called on the result.  NULL with e set when fr_recon_new would refuse. */
fr_recon *fr_recon_plan_new(const fr_model *m, const fr_run_config *cfg, fr_err *e);
void fr_recon_free(fr_recon *r);

const fr_partition *fr_recon_partition(const fr_recon *r);
const fr_model *fr_recon_model(const fr_recon *r);          /* the BN-folded FP model */
const fr_run_config *fr_recon_config(const fr_recon *r);
/* Changes method/bits/iters for units begun from now on. */
void fr_recon_set_method(fr_recon *r, fr_method m);
void fr_recon_set_bits(fr_recon *r, int bits);
void fr_recon_set_iters(fr_recon *r, int iters);
/* Bytes of calibration caches (FP and quantized path) the run needs at peak, estimated up
 * front. */
size_t fr_recon_cache_estimate(const fr_recon *r);
/* Under `ranks` MPI ranks with a sharded cache (c->dp_replicate 0), n_calib samples must give
 * every rank one: FR_EINPUT naming `what` otherwise (the CLI says it once before the run; the
 * engine checks again when a run is created). */
int fr_recon_shard_check(const char *what, int n_calib, int ranks, const fr_run_config *c, fr_err *e);

/* The memory plan (issue 19), decided in fr_recon_new against cfg.max_mem (or a safe share of
 * what the machine has): per unit, the bytes of calibration caches in memory, of executor
 * activations / im2col / batch buffers, their total, and the raw bytes of stores on disk. */
typedef enum { FR_MEM_RESIDENT, FR_MEM_SPILL, FR_MEM_DISK } fr_mem_mode;
typedef struct fr_mem_row {
    size_t cache, work, total, disk;
    int batch;          /* batch of the unit's passes over the calibration set */
    fr_mem_mode mode;   /* RESIDENT: all caches in memory; SPILL: on disk, this unit's hot set in
                           memory; DISK: this unit's mini-batches gathered from disk (LRU) */
} fr_mem_row;
typedef struct fr_mem_summary {
    size_t budget;      /* bytes the whole process may use (--max-mem, or start + safe share) */
    size_t base;        /* bytes the process held when the plan was made (model, datasets) */
    size_t peak;        /* largest planned total of a unit (on top of base) */
    size_t disk_peak;   /* largest raw bytes spilled at once (compressed on disk) */
    int spill, n;
    int eval_batch;     /* batch of the accuracy passes */
} fr_mem_summary;
const fr_mem_row *fr_recon_mem_plan(const fr_recon *r, fr_mem_summary *s);   /* n rows */
size_t fr_recon_resident_bytes(const fr_recon *r);  /* calibration caches in memory now */
/* Writes the plan as text lines (one per unit, with a header and a summary). */
void fr_recon_mem_plan_print(const fr_recon *r, FILE *f);
const char *fr_mem_mode_name(fr_mem_mode m);   /* "memory", "spill", "disk" */

/* Unit lifecycle.  begin builds the unit's caches and quantizers (may fail with FR_ENOMEM when
 * a unit does not fit max_cache_mb).  step runs one iteration and returns FR_OK, or FR_ENUM
 * when it fell back to RTN (the unit is then finished early: call end), or FR_EIO when a
 * spilled cache could not be read (fr_recon_error says why; the run cannot go on).  end finalizes the
 * rounding, measures the loss on all calibration samples and propagates the quantized path. */
int fr_recon_begin(fr_recon *r, int unit, fr_err *e);
int fr_recon_step(fr_recon *r);
/* Why the last fr_recon_step returned FR_EIO (a spilled cache could not be read back). */
const char *fr_recon_error(const fr_recon *r);
int fr_recon_end(fr_recon *r, fr_err *e);
int fr_recon_current(const fr_recon *r);    /* unit begun and not ended, or -1 */
int fr_recon_iter(const fr_recon *r);       /* iterations done in the current unit */
int fr_recon_iters(const fr_recon *r);      /* planned iterations of the current unit */
int fr_recon_done(const fr_recon *r, int unit);
/* Number of units the run covers: all, or up to and including cfg.stop_unit. */
int fr_recon_n_run(const fr_recon *r);
/* Re-runs unit k (already done) with another method on the same cached inputs, for the
 * compare view; does not change the run's results.  FR_EINPUT when its caches are gone.
 * When a tick hook is set it is called before the unit is begun (iter = -1) and after every
 * iteration; a nonzero return cancels: the unit is restored as it was and FR_ECANCEL comes
 * back, after at most one more iteration. */
int fr_recon_compare(fr_recon *r, int unit, fr_method m, fr_unit_view **out, fr_err *e);
typedef int (*fr_recon_tick_fn)(void *ctx, fr_method m, int iter, int iters);
void fr_recon_set_tick(fr_recon *r, fr_recon_tick_fn fn, void *ctx);

/* Restart: discards unit k and every later unit (results, quantizers, loss histories, views,
 * compare results, activation quantizers) so they run again, in order, with the current
 * method / bits / iterations (fr_recon_set_*).  A running unit at or after k is abandoned
 * without finalizing.  When k's inputs on the quantized path were released (they did not fit
 * max_cache_mb), they are rebuilt by replaying the finished units before k with their final
 * weights, through the same passes that built them.  A running unit before k is left alone
 * (the units after it are pending anyway).  Units before k are unchanged, so re-running k
 * with unchanged settings reproduces its previous results bit for bit. */
int fr_recon_reset_from(fr_recon *r, int k, fr_err *e);

/* Views for the UI (new reference each call; caller releases).  For the running unit this
 * reflects the current parameters; for a pending unit it is the RTN preview. */
fr_unit_view *fr_recon_view(fr_recon *r, int unit);
/* Loss history of the running unit (valid until the next step). */
const float *fr_recon_loss(const fr_recon *r, int *n);

/* Top-1 accuracy on the model's eval set: quantized = 1 uses the final weights of every done
 * unit (others stay FP).  max_samples limits the evaluation (0 = all). */
int fr_recon_accuracy(fr_recon *r, int quantized, int max_samples, double *acc, fr_err *e);
/* Fidelity of the quantized network (every done unit quantized) to the full-precision one on
 * the eval set (fidelity.h), at the node named `feature` ("" or NULL = the default rule); the
 * top-1 accuracies of both when the eval set has labels, else -1. */
struct fr_fidelity;
int fr_recon_fidelity(fr_recon *r, const char *feature, int max_samples, struct fr_fidelity *fid, double *acc_fp,
                      double *acc_q, fr_err *e);

/* Results of a done unit: n layers. */
const fr_layer_result *fr_recon_results(const fr_recon *r, int unit, int *n_layers);

/* ---- checkpoint support (src/recon/recon_state.c; format and I/O in include/frtui/ckpt.h) ---------- */
struct fr_ckpt;
/* Deep-copies the engine's resumable state into *c (memcpy only; call on the engine's thread
 * between steps).  Run-level facts (fingerprints, paths, accuracies) are left for the caller. */
void fr_recon_state_capture(fr_recon *r, struct fr_ckpt *c);
/* Restores c into a fresh engine (fr_recon_new with c->cfg, nothing begun yet).
 * replay_only = 0 (resume): finished units are re-run through begin/end with their saved
 * parameters, rebuilding both calibration caches, and their codes are checked against the
 * saved ones; the running unit is begun and continues at its saved iteration with its saved
 * parameters, Adam moments, activation steps and RNG streams.
 * replay_only = 1: only quantizers, results and histories are rebuilt (views, exports, the
 * quantized accuracy); no caches, no passes over the calibration set.
 * FR_EINPUT with a message naming the mismatch when c does not fit this engine. */
int fr_recon_state_restore(fr_recon *r, const struct fr_ckpt *c, int replay_only, fr_err *e);
/* Replay: a view of unit k as it was at moment j of its saved parameter history U->hist
 * (src/recon/recon_hist.c): the run's quantizers with that moment's tensors, losses up to it.
 * New reference; NULL with e set when the moment does not fit the unit. */
struct fr_ckpt_unit;
fr_unit_view *fr_recon_hist_view(fr_recon *r, int k, const struct fr_ckpt_unit *U, int j, fr_err *e);

#endif
