/* recon_impl.h — private state of the reconstruction engine, shared by recon.c (the loop),
 * calib.c (the calibration cache), recon_view.c (UI views) and recon_state.c (checkpoints).
 * Not a public header: nothing outside those modules may include it. */
#ifndef FRTUI_RECON_IMPL_H
#define FRTUI_RECON_IMPL_H

#include "frtui/exec.h"
#include "frtui/recon.h"

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
} unit_state;

struct fr_recon {
    const fr_model *orig;
    fr_model fm;            /* folded FP model: own graph, meta copy, no datasets */
    fr_run_config cfg;
    fr_partition part;
    int n_calib;
    int first_layer, last_layer;
    int n_run;              /* units covered by this run (cfg.stop_unit) */
    float **fp, **qs;       /* per node: [n_calib * size] stores */
    int *last_reader;       /* per node: last unit index reading it, -1 */
    int keep_all;           /* all stores fit: keep them for the compare view */
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
};


static inline size_t nsize(const fr_graph *g, int i) { return (size_t)g->nodes[i].c * g->nodes[i].h * g->nodes[i].w; }

int fr_recon_init_layer(const fr_recon *r, int node, fr_method m, fr_qlayer *q, fr_err *e);
int fr_recon_ensure_rtn(fr_recon *r, int k, fr_err *e);

/* The calibration cache (calib.c; its design note says who owns which store and for how long). */
int fr_calib_plan(fr_recon *r, fr_err *e);          /* n_calib, stores, last readers, --max-cache-mb */
int fr_calib_load_input(fr_recon *r, fr_err *e);    /* the input store, shared by both paths */
void fr_calib_release(fr_recon *r, int k);          /* after unit k ended: drop stores nobody reads */
void fr_calib_free(fr_recon *r);
void fr_calib_bind(fr_recon *r, fr_exec *x, const fr_unit *u, float **store, int s0);
/* Runs the unit over all calibration samples from `in` stores; see calib.c. */
int fr_calib_pass(fr_recon *r, fr_exec *x, const fr_unit *u, float **in, float **out_store, double *loss, fr_err *e);

#endif
