/* snapshot.h — immutable, reference-counted views of a reconstruction run.
 *
 * Design note
 *   The worker thread owns all mutable optimisation state.  What other threads see is a chain
 *   of *immutable* objects:
 *     fr_snapshot  — one per publication: run status, counters, and an array of pointers to
 *     fr_unit_view — one per unit and version: the unit's loss history and per-layer arrays.
 *   A unit view is never modified after it is published.  Done and pending units keep the same
 *   view object across many snapshots (shared through reference counts); the running unit gets
 *   a fresh view at each publication (every ~100 ms, never per iteration).
 *
 *   Readers (TUI, checkpoint writer, PNG exporter, batch reporter) call fr_worker_acquire()
 *   and later fr_snapshot_release(); while they hold a snapshot every pointer inside it stays
 *   valid.  Reference counts are C11 atomics, so no lock is held while rendering.
 *
 *   All arrays are float32 in the weight's natural layout [o, i, kh, kw] flattened; a heatmap
 *   shows them as a matrix of o rows and i*kh*kw columns.
 */
#ifndef FRTUI_SNAPSHOT_H
#define FRTUI_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "frtui/qdefs.h"   /* fr_method, the per-weight classes, the histogram layouts */

typedef enum { FR_UNIT_PENDING = 0, FR_UNIT_RUNNING, FR_UNIT_DONE, FR_UNIT_FALLBACK } fr_unit_status;
typedef enum { FR_RUN_IDLE = 0, FR_RUN_RUNNING, FR_RUN_PAUSED, FR_RUN_DONE, FR_RUN_FAILED, FR_RUN_REPLAY } fr_run_status;

/* Statistics of one quantized layer, computed by the engine (quant module). */
typedef struct fr_layer_stats {
    double sqnr_db;          /* 10 log10(|W|^2 / |W - Ŵ|^2) */
    /* Fractions of the layer's weights per class (fr_qclass, qdefs.h): aggressive = rounded
     * beyond the two grid points nearest to W/s1 (final s1); clipped = pinned at a grid end
     * because W/s1 lies beyond it.  Disjoint; inside = 1 - aggressive - clipped. */
    double aggressive;
    double clipped;
    double aggressive_init;  /* aggressive against the initial RTN grid (Ŵ/s1_init, "init grid") */
    double changed_vs_rtn;   /* fraction of codes that differ from RTN's ("flip%") */
    double undecided;        /* AdaRound: fraction of h(V) in (0.01, 0.99); 0 otherwise */
    double shift_hist[FR_SHIFT_BINS];  /* counts; under/overflow go to the end bins */
    double s2_hist[FR_S2_BINS];        /* counts of ln(S2) (FlexRound) */
    double h_hist[FR_H_BINS];          /* counts of h(V) (AdaRound) */
} fr_layer_stats;

typedef struct fr_layer_view {
    char name[96];
    int o, i, kh, kw;        /* weight shape; linear: kh = kw = 1 */
    int64_t n;               /* o * i * kh * kw */
    int bits;
    int n_s1;                /* 1 (per tensor) or o (per channel) */
    int head_rows, head_cols;/* attention projections: rows (q/k/v) or columns (o) per head; else 0 */
    const float *s1;         /* [n_s1] final (or current) grid step */
    const float *s1_init;    /* [n_s1] the searched step RTN and AdaRound quantize with; NULL when unknown */
    const float *qlo, *qhi;  /* [n_s1] clamp bounds of the centred code c; NULL when unknown */
    /* FlexRound's per-row and per-column factors (the equation strip shows them separately;
     * s_comb is their per-weight product with S2).  NULL for other methods. */
    const float *s3;         /* [o] per output channel (heatmap row): exp(d3) */
    const float *s4;         /* [i] per input channel (heatmap column group of kh*kw): exp(d4); NULL for linear layers */
    /* Per-weight arrays, n entries each; NULL when not applicable to the method. */
    const float *w;          /* full-precision weight */
    const float *s2;         /* FlexRound S2 = exp(D2) */
    const float *s_comb;     /* FlexRound S2 * s3 * s4 (the per-weight division factor over s1) */
    const float *u;          /* W / s1 (grid units, current s1) */
    const float *code;       /* current integer code (as float), zero point removed */
    const float *rtn_code;   /* RTN code with the initial grid */
    const float *shift;      /* code - W/s1: the rounding shift in grid units */
    const float *grad_s2;    /* dL/dS2 from the latest step (reciprocal rule view) */
    const float *h;          /* AdaRound h(V) */
    const uint8_t *cls;      /* enum fr_wclass per weight (inside / aggressive / clipped) */
    fr_layer_stats st;
} fr_layer_view;
/* The s1 group of weight k: 0 per tensor, its row per channel, k / group size per group (groups
 * are equal consecutive runs of a row, quant.h). */
static inline int fr_layer_view_group(const fr_layer_view *L, int64_t k)
{
    return L->n_s1 > 1 ? (int)(k / (L->n / L->n_s1)) : 0;
}

typedef struct fr_unit_view {
    atomic_int refs;
    char name[96];
    char ops[96];            /* e.g. "conv+relu" or "block: conv,relu,conv,add,relu" */
    char shape[64];          /* output shape text, e.g. "32x14x14" */
    fr_method method;
    int bits;
    fr_unit_status status;
    int iter;                /* iterations done */
    int iters;               /* iterations planned */
    int n_loss;
    const float *loss;       /* [n_loss] reconstruction loss per iteration */
    const float *loss_rec;   /* [n_loss] reconstruction part (AdaRound: loss minus λ·f_reg) or NULL */
    const float *loss_t;     /* [n_loss] seconds since the unit began, or NULL (not recorded: replays) */
    double loss_rtn;         /* unit loss with RTN weights (same data) */
    double loss_before;      /* at iteration 0 */
    double loss_after;       /* latest (done: with hard-rounded weights) */
    double rel_vs_rtn;       /* loss_after / loss_rtn */
    double aggressive;       /* over all layers of the unit, weighted by size */
    double clipped;          /* the same for clipped weights */
    char note[128];          /* e.g. "NaN at iteration 812: fell back to RTN" */
    int n_layers;
    fr_layer_view *layers;
    /* Same unit under the other methods, when computed (compare view); may be NULL. */
    struct fr_unit_view *alt[FR_METHOD__COUNT];
    float *owned;            /* private: single block holding the arrays */
    size_t owned_cap, owned_used;
} fr_unit_view;

typedef struct fr_run_info {
    char model[128];
    fr_method method;
    int bits, act_bits;
    int act_token;           /* activations per token (1) or per tensor (0); -1 until resolved */
    int iters;               /* per unit */
    int batch;
    float lr;                /* as given (0 = the method's default, fr_run_config_lr) */
    float scale_lr;          /* FlexRound shared-scale lr multiplier (--scale-lr) */
    int keep_best;           /* FlexRound --keep-best evaluations per unit (0 = off) */
    int s1_direct;           /* FlexRound --s1-param direct */
    uint64_t seed;
    int threads;
    char preset[32];
    char granularity[8];     /* "block" | "layer" */
    char unit_rule[8];       /* "brecq" | "split" (partition.h) */
    char blas_core[32];      /* OpenBLAS core in use */
    int lm_vocab;            /* > 0: a language model (fr_graph_lm_vocab); the views explain LLM terms */
} fr_run_info;

/* The compare view's computation (FR_CMD_COMPARE_UNIT).  It runs on the worker thread
 * between units, so the main run waits while it computes (run_waits = 1). */
typedef struct fr_compare_progress {
    int unit;                /* unit being compared, -1 when none */
    fr_method method;        /* method being computed now */
    int iter, iters;         /* its iterations */
    int methods_left;        /* methods still to compute after this one */
    double it_per_s;         /* compare iterations per second */
    double eta_s;            /* seconds until the comparison is complete; < 0 unknown */
    int run_waits;
} fr_compare_progress;

/* Memory of the run (issue 19): the plan made before it started and what is held now. */
typedef struct fr_mem_unit {
    double cache, work, total, disk;   /* planned bytes: caches in memory, executor and buffers, their sum, raw on disk */
    int batch;               /* batch of the unit's passes */
    int mode;                /* 0 caches in memory, 1 spilled with the hot set in memory, 2 mini-batches from disk */
} fr_mem_unit;
typedef struct fr_mem_live {
    int spill;               /* the plan spills caches to disk */
    int eval_batch;
    double budget, base, planned_peak;   /* bytes; planned_peak includes base */
    double rss, rss_peak;    /* the process now and its high-water mark */
    double cache;            /* calibration caches in memory now */
    double disk;             /* bytes in spill files now (compressed) */
    double spilled_raw, spilled_packed, put_s, read_raw, get_s;   /* spill traffic so far */
} fr_mem_live;
/* Fidelity of the quantized network to its full-precision self on the eval set (definitions in
 * fidelity.h): n == 0 when not measured.  Plain copy so the view needs no engine header. */
typedef struct fr_fid_view {
    int n, dim;
    char feature[96];      /* name of the feature node */
    double cos, rel_mse, agree, kl;
    int zero_q;            /* samples whose quantized feature is all zeros (fidelity.h) */
    int lm_vocab;          /* language models: > 0, and the numbers above are per token */
    long lm_tokens;        /* next-token predictions scored */
    double nll_fp, nll_q;  /* nats per token (perplexity = exp) */
} fr_fid_view;

/* Replay time travel (issue 18): the recorded moments of each unit's run, turned into views on
 * demand (a view of every moment of every unit would hold the model many times over).  The
 * checkpoint replay attaches one (recon_ckpt.c); live snapshots have none.  view() builds a new
 * reference (caller releases) or returns NULL with a message; it may use an engine, so only one
 * thread calls it (the UI's).  Owned by the snapshot that carries it: freed with it. */
typedef struct fr_history {
    int (*count)(void *ctx, int unit);             /* moments recorded for the unit (0: none) */
    int (*iter)(void *ctx, int unit, int j);       /* iterations done at moment j */
    struct fr_unit_view *(*view)(void *ctx, int unit, int j, char *msg, size_t msg_n);
    void (*free)(void *ctx);
    void *ctx;
    const struct fr_snapshot *base;   /* in a time shot (timeline.h): the snapshot it shifts, else NULL */
} fr_history;

typedef struct fr_snapshot {
    atomic_int refs;
    uint64_t gen;            /* increments with every publication */
    fr_run_info info;
    fr_run_status status;
    int step_mode;           /* 1: the worker pauses after each unit ("debugger" mode) */
    int cur_unit;            /* running unit index, -1 when none */
    double it_per_s;         /* iterations per second over the last publication window */
    double eta_s;            /* estimated seconds to finish all units */
    double elapsed_s;
    double acc_fp, acc_q;    /* top-1 on the eval set; < 0 when unknown */
    fr_fid_view fid;
    char message[768];       /* last event, shown in the status line */
    fr_compare_progress cmp;
    int n_units;
    fr_unit_view **units;    /* [n_units], each retained by this snapshot */
    fr_mem_live mem;
    fr_mem_unit *mem_units;  /* [n_units] the memory plan, owned; NULL when unknown (replay) */
    fr_history *hist;        /* replay time travel, owned; NULL when none */
} fr_snapshot;

/* The weight widths a unit really ran with (first and last layers run at first_last_bits):
 * *lo..*hi over its layers (u->bits when it has none).  The text is "W4", or "W4/W8" when
 * its layers differ. */
void fr_unit_view_bits(const fr_unit_view *u, int *lo, int *hi);
void fr_unit_view_bits_text(const fr_unit_view *u, char *buf, size_t n);

/* Reference counting.  Retain/release are thread-safe; the last release frees. */
void fr_unit_view_retain(fr_unit_view *u);
void fr_unit_view_release(fr_unit_view *u);
void fr_snapshot_retain(fr_snapshot *s);
void fr_snapshot_release(fr_snapshot *s);

/* Builders used by the worker, the checkpoint loader (replay) and tests. */
fr_snapshot *fr_snapshot_new(int n_units);        /* refs = 1, units all NULL */
/* Allocates a view with n_layers layer slots and one block of `floats` floats for arrays
 * (refs = 1); fr_unit_view_alloc_floats hands out pieces of that block. */
fr_unit_view *fr_unit_view_new(int n_layers, size_t floats);
float *fr_unit_view_alloc_floats(fr_unit_view *u, size_t n);

#endif
