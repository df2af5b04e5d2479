/* recon_impl.h — private state of the reconstruction engine, shared by recon.c (the loop),
 * recon_eval.c (evaluations, compare, restart), calib.c (the calibration cache), recon_view.c
 * (UI views), recon_state.c (checkpoints), recon_best.c (--keep-best), recon_hist.c (history)
 * and recon_dp.c (data parallel).
 * Not a public header: nothing outside those modules may include it. */
#ifndef FRTUI_RECON_IMPL_H
#define FRTUI_RECON_IMPL_H

#include "frtui/ckpt.h"
#include "frtui/exec.h"
#include "frtui/recon.h"
#include "frtui/spill.h"

#define PROP_BATCH 64   /* batch for full-calibration passes (targets, losses, propagation) */
#define EVAL_BATCH 64   /* batch of the accuracy passes */

typedef struct aq_hook {
    fr_aquant aq;
    int active;
    float keep_p;
    fr_rng *rng;
    uint8_t *keep;      /* [max_batch * node size] */
} aq_hook;

typedef struct unit_state {
    fr_unit_status status;
    fr_method method;
    int iters;
    float *loss, *loss_rec;
    int n_loss, cap_loss;
    double loss_rtn, loss_before, loss_after;
    char note[128];
    fr_qlayer *q;           /* [n_layers] the method's quantizers (kept after the unit is done) */
    fr_qlayer *rtn;         /* [n_layers] RTN quantizers (preview, baseline) */
    fr_layer_result *res;   /* [n_layers] once done */
    fr_unit_view *view;     /* cached immutable view of a done/pending unit */
    fr_unit_view *alt[FR_METHOD__COUNT];
    fr_ckpt_hist hist;      /* bounded parameter history (recon_hist.c); data holds hist_k moments */
    float *loss_t;          /* [n_t] seconds since begin at each iteration (live runs only: not saved) */
    int n_t, cap_t;
    double t0;
    /* --keep-best (recon_best.c): the best iterate evaluated so far, while the unit runs */
    int best_iter;          /* its iteration (0 = the RTN start), -1 none */
    double best_loss;       /* its loss on the whole calibration set */
    float *best;            /* [n_best] learnable tensors, then activation steps */
    size_t n_best;
} unit_state;

struct fr_recon {
    const fr_model *orig;
    fr_model fm;            /* folded FP model: own graph, meta copy, no datasets */
    fr_run_config cfg;
    fr_partition part;
    int n_calib;
    int first_layer, last_layer;
    int n_run;              /* units covered by this run (cfg.stop_unit) */
    float **fp, **qs;       /* per node: [n_calib * size] resident stores */
    fr_spill **fps, **qss;  /* per node: the same stores on disk (spill plan) */
    int *last_reader;       /* per node: last unit index reading it, -1 */
    int keep_all;           /* all stores fit: keep them for the compare view */
    int spill;              /* the plan spills (calib.c) */
    unsigned char *train_spill; /* per unit: mini-batches gathered from disk */
    size_t *unit_lru;       /* per unit: LRU bytes per gathered store */
    fr_mem_row *mem;        /* per unit: the memory plan */
    int *pass_div;          /* per unit: its passes run each batch of prop_batch in 1, 2 or 4 slices */
    int eval_b;             /* batch of the accuracy passes (the plan's) */
    size_t mem_budget, mem_base, res_bytes;
    float *qd_fp;           /* QDrop: FP rows of a mini-batch gathered from disk */
    char err[sizeof(((fr_err *)0)->msg)];   /* why the last step failed with FR_EIO */
    unit_state *us;
    aq_hook **aq;           /* per node */
    /* current unit */
    int cur, iter;
    fr_exec *x;
    fr_rng rng;
    int bsz;
    float *bin[FR_UNIT_MAX_EXT];
    float *tgt, *dy;
    int32_t *idx;
    fr_rng drop_rng;
    /* compare progress / cancellation hook (fr_recon_set_tick) */
    fr_recon_tick_fn tick;
    void *tick_ctx;
    int hist_k;             /* moments kept per unit: 0 not decided yet, -1 none (recon_hist.c) */
    int no_best;            /* resume is re-running a finished unit: no --keep-best evaluations */
    /* data parallel (dp.h, recon_dp.c): this process is rank dp_rank of dp_size,
     * fixed when the run is created; dp_buf holds the running unit's exchanged partials */
    int dp_rank, dp_size;
    float *dp_buf;
    size_t dp_n;
    /* This rank's calibration samples [sh_lo, sh_lo + sh_n): every store holds those rows only,
     * and every row index inside calib.c (pieces, binds, gathers) is relative to sh_lo.  One
     * rank, or --dp-cache replicate: [0, n_calib).  sh0_n: rank 0's count (calib.c fr_calib_plan). */
    int sharded, sh_lo, sh_n, sh0_n;
    int32_t *lidx;          /* [bsz] the running step's draws that fall in this shard, shard-relative */
};


/* Batch of the full-calibration passes: PROP_BATCH, or the whole set when it is smaller (the
 * passes never use more, so a plan for more would be memory nobody touches). */
static inline int prop_batch(const fr_recon *r) { return FR_MIN(PROP_BATCH, r->n_calib); }
static inline int plan_batch(const fr_recon *r) { return FR_MAX(r->cfg.batch, prop_batch(r)); }

/* Unit k's pass batch and executor batch under the plan.  A pass's bits are those of batches of
 * prop_batch (the chunked convs stack a batch's samples into GEMMs whose rounding depends on the
 * stacking), so a tight plan cuts each such batch into 2 or 4 slices that keep its chunks
 * (fr_exec_forward_slice): the executor holds a slice, the bits stay (calib.c fr_calib_piece). */
static inline int unit_pass_div(const fr_recon *r, int k) { return r->pass_div ? r->pass_div[k] : 1; }
static inline int unit_pass_batch(const fr_recon *r, int k) { int d = unit_pass_div(r, k); return (prop_batch(r) + d - 1) / d; }
static inline int unit_plan_batch(const fr_recon *r, int k) { return FR_MAX(r->cfg.batch, unit_pass_batch(r, k)); }

#define FR_PASS_DIVS 3   /* pass slices 1, 2, 4 */
#define FR_WORK_EVAL 7   /* accuracy pass at batch eval_b0 >> i, i < 7 */
typedef struct fr_work {
    size_t *big[FR_PASS_DIVS];  /* per unit: work at the plan batch of passes cut in 1 << i slices */
    size_t eval[FR_WORK_EVAL];
    int eval_n, eval_b0;    /* eval samples; the accuracy batch without a budget (recon.c eval_batch_of) */
    size_t keep;            /* bytes that live for the whole run */
} fr_work;

static inline size_t nsize(const fr_graph *g, int i) { return (size_t)g->nodes[i].c * g->nodes[i].h * g->nodes[i].w; }

int fr_recon_init_layer(const fr_recon *r, int node, fr_method m, fr_qlayer *q, fr_err *e);
/* Switches the activation quantizers of unit u's layers (keep_p 1: always quantize, as in every
 * full-calibration pass; training uses fr_recon_train_keep: QDrop's drop_p, else 1). */
void fr_recon_set_aq(fr_recon *r, const fr_unit *u, int active, float keep_p);
static inline float fr_recon_train_keep(const fr_recon *r) { return r->cfg.qdrop ? r->cfg.drop_p : 1.0f; }
/* The node whose output carries layer node L's activation quantizer in unit u, -1 none. */
int fr_recon_aq_node(const fr_recon *r, int L, const fr_unit *u);
/* Node a's activation quantizer (r->aq[a] must exist) switched to always quantize, as an
 * executor hook: how the finished network runs (recon_eval.c). */
fr_out_hook fr_recon_aq_full(fr_recon *r, int a);
/* Frees what a unit's state owns and zeroes it (recon.c; compare and restart reuse it). */
void fr_recon_unit_free(unit_state *s, int n_layers);
/* Frees the running unit's executor and buffers without finishing it; the caller sets cur. */
void fr_recon_free_current(fr_recon *r);

/* Parameter history and wall clock of the running unit (recon_hist.c). */
void fr_recon_hist_begin(fr_recon *r, int k);         /* begin(): clear, record iteration 0 */
void fr_recon_hist_step(fr_recon *r, int k);          /* after each step: time stamp, record on the interval */
void fr_recon_hist_free(unit_state *s);
void fr_recon_hist_put(fr_recon *r, int k, const fr_ckpt_hist *h);   /* restore (resume) */
/* A view of unit k built from quantizers Q (recon_view.c), as of iteration `iter` with the
 * first n_loss losses: the live view is make(r, k, s->q, status, r->iter, s->n_loss). */
fr_unit_view *fr_recon_view_make(fr_recon *r, int k, const fr_qlayer *Q, fr_unit_status status, int iter, int n_loss);
int fr_recon_ensure_rtn(fr_recon *r, int k, fr_err *e);

/* Data parallel (recon_dp.c; its design note says how a step is shared).  dp_share: this rank's
 * draws of the step's r->idx[0..B) (*idx; shard-relative under a sharded cache), returns their
 * count (B with one rank; a rank may get none).  dp_exchange: the rank-order sums of the step's
 * loss partial and gradients; dp_grad: layer l's summed dL/dW afterwards.  aq_share: rank 0's
 * activation quantizer (and status rc) on every rank of a sharded run; returns rc otherwise. */
int fr_recon_dp_share(fr_recon *r, int B, const int32_t **idx);
void fr_recon_dp_exchange(fr_recon *r, const fr_unit *u, const unit_state *s, int nb, int B, double *loss);
const float *fr_recon_dp_grad(const fr_recon *r, const unit_state *s, int l);
int fr_recon_aq_share(const fr_recon *r, fr_aquant *a, int rc, fr_err *e);

/* --keep-best (recon_best.c).  FlexRound units evaluate their hard-rounded iterate on the whole
 * calibration set cfg.keep_best times (the start, evenly spaced iterations, the end) and end
 * with the best one.  begin: after the unit's quantizers and hooks are set (evaluates the
 * start); after_step: after each step (evaluates when due); end: after loss_after of the last
 * iterate is known, before the unit's outputs are propagated -- restores the best iterate when
 * it was strictly better and recomputes loss_after.  All return FR_OK or a pass's error. */
int fr_recon_best_active(const fr_recon *r, int k);
int fr_recon_best_begin(fr_recon *r, fr_err *e);
int fr_recon_best_after_step(fr_recon *r, fr_err *e);
int fr_recon_best_end(fr_recon *r, fr_err *e);
size_t fr_recon_best_size(const fr_recon *r, int k);   /* floats in unit k's snapshot */
void fr_recon_best_free(unit_state *s);

/* The calibration cache (calib.c; its design note says who owns which store and for how long). */
typedef struct fr_calib_stage { float *buf[FR_UNIT_MAX_EXT + 1]; int cap[FR_UNIT_MAX_EXT + 1]; } fr_calib_stage;   /* batches staged from disk */
int fr_calib_plan(fr_recon *r, fr_err *e);          /* n_calib, this rank's shard, stores, last readers, --max-cache-mb */
/* The memory plan against --max-mem / the machine: resident or spilled, per unit (work[k]: unit
 * k's executor and buffers, extra: bytes that live for the whole run).  FR_ENOMEM when even
 * spilling cannot fit. */
int fr_calib_budget(fr_recon *r, const fr_work *w, fr_err *e);
int fr_calib_load_input(fr_recon *r, fr_err *e);    /* the input store, shared by both paths */
int fr_calib_have(const fr_recon *r, int node);     /* both paths' stores exist (memory or disk) */
int fr_calib_resident(const fr_recon *r, int node); /* both in memory */
int fr_calib_hot(fr_recon *r, int k, fr_err *e);    /* spill plan: load unit k's hot set */
void fr_calib_cold(fr_recon *r);                    /* spill plan: free every resident copy */
void fr_calib_release(fr_recon *r, int k);          /* after unit k ended: drop stores nobody reads */
void fr_calib_free(fr_recon *r);
/* Binds the executor's inputs to samples [s0, s0 + nb) of path q (0 = FP, 1 = quantized); s0
 * relative to this rank's shard (sh_lo), as in every function below. */
int fr_calib_bind(fr_recon *r, fr_exec *x, int q, int s0, int nb, fr_calib_stage *st, fr_err *e);
void fr_calib_stage_free(fr_calib_stage *st);
/* Runs the unit over all calibration samples from path-q stores; see calib.c. */
int fr_calib_pass(fr_recon *r, fr_exec *x, const fr_unit *u, int q, int out, double *loss, fr_err *e);
/* Piece i of unit k's pass schedule over the shard's first n samples (batch gb cut into the unit's
 * slices): samples [*s0, *s0 + *nb), slice *off of a batch of *gn.  Returns 0 past the end; a
 * piece may be empty (*nb == 0) when a batch has fewer samples than slices. */
int fr_calib_piece(const fr_recon *r, int k, int n, int gb, int i, int *s0, int *nb, int *gn, int *off);
/* Forward of one piece: fr_exec_forward, or the slice of its batch. */
void fr_calib_forward(fr_exec *x, int nb, int gn, int off);
/* Node i's store on path q when it is resident (rows count from the shard's start), else NULL. */
const float *fr_calib_store(const fr_recon *r, int q, int i);
/* dst[j] = sample idx[j] of node i on path q, j < n (memory or disk). */
int fr_calib_gather(fr_recon *r, int q, int i, const int32_t *idx, int n, float *dst, fr_err *e);

#endif
