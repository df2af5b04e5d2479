/* recon_best.c — `--keep-best N`: a FlexRound unit ends with the best of N evaluated iterates
 * instead of the last one (declared in recon_impl.h).
 *
 * Why (issue 15, docs/issue15-flexround-diagnosis.md): on per-tensor grids with large outliers
 * (the real MobileNetV2's first depthwise conv) the straight-through gradient of FlexRound's
 * shared log-scales d1, d3, d4 keeps one sign -- it is dominated by the layer's own rounding
 * error -- so Adam drifts them by about lr per step until clipping sets in: the block's loss
 * falls below RTN's, then rises to twice it by iteration 800.  The spec's algorithm returns the
 * last iterate whatever happened.  [I] decision: keep the spec's algorithm as the default and
 * offer the model-selection step that AutoRound (Intel's auto-round, a FlexRound relative)
 * applies per block -- remember the best parameters seen, restore them at the end -- measured
 * on the whole calibration set instead of the noisy mini-batch loss, at N points only.
 *
 * What is evaluated: the hard-rounded weights of the current parameters (FlexRound's forward is
 * already hard: Ŵ = s1·clamp(round(W/S))), activation quantizers on without dropping, on all
 * calibration samples of the quantized path -- the pass and reduction that give loss_rtn and
 * loss_after, so the three numbers are comparable.  Points: iteration 0 (the RTN start; the
 * division by exp(log s1) can differ from RTN's by an ulp, so it is evaluated, not assumed),
 * iterations round(j·T/(N-1)) for j = 1..N-2, and the end (T), whose loss end() computes
 * anyway.  So N = 2 compares start and end only.  Ties keep the later iterate.
 *
 * Ownership/threading: runs on the engine's thread inside begin/step/end; the snapshot lives in
 * the unit's state until the unit ends (checkpoints carry it as the BEST frame, recon_state.c)
 * and is freed there.  AdaRound is excluded: its iterates round softly until the β schedule has
 * annealed h(V), so an early iterate's hard rounding is not what was optimised.
 */
#include <stdlib.h>
#include <string.h>

#include "recon_impl.h"

int fr_recon_best_active(const fr_recon *r, int k)
{
    return r->cfg.keep_best > 1 && r->us[k].method == FR_METHOD_FLEXROUND && r->us[k].iters > 0;
}

size_t fr_recon_best_size(const fr_recon *r, int k)
{
    const unit_state *s = &r->us[k];
    const fr_unit *u = &r->part.units[k];
    size_t n = 0;
    for (int l = 0; s->q && l < u->n_layers; l++) {
        fr_qparam P[FR_CKPT_MAX_PARAMS];
        int np = fr_qlayer_params(&s->q[l], P, FR_CKPT_MAX_PARAMS);
        for (int p = 0; p < np; p++) n += P[p].n;
    }
    for (int a = u->first; a <= u->last; a++)
        if (r->aq[a]) n++;
    return n;
}

/* dir 0: state -> snapshot; 1: snapshot -> state. */
static void copy_state(fr_recon *r, int dir)
{
    unit_state *s = &r->us[r->cur];
    const fr_unit *u = &r->part.units[r->cur];
    float *b = s->best;
    for (int l = 0; l < u->n_layers; l++) {
        fr_qparam P[FR_CKPT_MAX_PARAMS];
        int np = fr_qlayer_params(&s->q[l], P, FR_CKPT_MAX_PARAMS);
        for (int p = 0; p < np; p++) {
            if (dir) memcpy(P[p].data, b, P[p].n * sizeof(float)); else memcpy(b, P[p].data, P[p].n * sizeof(float));
            b += P[p].n;
        }
    }
    for (int a = u->first; a <= u->last; a++)
        if (r->aq[a]) { if (dir) r->aq[a]->aq.s = *b; else *b = r->aq[a]->aq.s; b++; }
    FR_ASSERT((size_t)(b - s->best) == s->n_best);
}

/* The unit's loss on the whole calibration set with the current parameters' hard weights. */
static int evaluate(fr_recon *r, double *loss, fr_err *e)
{
    unit_state *s = &r->us[r->cur];
    const fr_unit *u = &r->part.units[r->cur];
    /* The executor holds pointers to each layer's w_hat (set_weights in begin), refreshed here
     * in place; the next step's forward refreshes them again. */
    for (int l = 0; l < u->n_layers; l++) fr_qlayer_forward(&s->q[l]);
    fr_recon_set_aq(r, u, 1, 1.0f);
    int rc = fr_calib_pass(r, r->x, u, 1, 0, loss, e);
    fr_recon_set_aq(r, u, 1, fr_recon_train_keep(r));
    return rc;
}

static int consider(fr_recon *r, int it, fr_err *e)
{
    unit_state *s = &r->us[r->cur];
    double loss;
    int rc = evaluate(r, &loss, e);
    if (rc) return rc;
    if (s->best_iter < 0 || loss <= s->best_loss) {
        s->best_iter = it;
        s->best_loss = loss;
        copy_state(r, 0);
    }
    return FR_OK;
}

int fr_recon_best_begin(fr_recon *r, fr_err *e)
{
    unit_state *s = &r->us[r->cur];
    fr_recon_best_free(s);
    if (r->no_best || !fr_recon_best_active(r, r->cur)) return FR_OK;
    s->n_best = fr_recon_best_size(r, r->cur);
    s->best = fr_xmalloc((s->n_best ? s->n_best : 1) * sizeof(float));
    return consider(r, 0, e);
}

/* Is iteration t (1..T-1) one of the interior evaluation points round(j·T/(N-1)), j = 1..N-2?
 * (At most 1000 points: a loop is cheaper than a step by orders of magnitude.) */
static int due(int t, int T, int N)
{
    for (long long j = 1; j <= N - 2 && t > 0 && t < T; j++)
        if ((2 * j * T + (N - 1)) / (2LL * (N - 1)) == t) return 1;
    return 0;
}

int fr_recon_best_after_step(fr_recon *r, fr_err *e)
{
    unit_state *s = &r->us[r->cur];
    if (!s->best || !due(r->iter, s->iters, r->cfg.keep_best)) return FR_OK;
    return consider(r, r->iter, e);
}

int fr_recon_best_end(fr_recon *r, fr_err *e)
{
    unit_state *s = &r->us[r->cur];
    const fr_unit *u = &r->part.units[r->cur];
    if (!s->best || s->status == FR_UNIT_FALLBACK) return FR_OK;
    int T = s->n_loss, rc = FR_OK;   /* iterations run (the unit may have been ended early) */
    if (s->best_loss < s->loss_after) {
        double last = s->loss_after;
        copy_state(r, 1);
        for (int l = 0; l < u->n_layers; l++) {
            s->q[l].finalized = 0;
            fr_qlayer_sync(&s->q[l]);
            fr_qlayer_finalize(&s->q[l]);
        }
        rc = fr_calib_pass(r, r->x, u, 1, 0, &s->loss_after, e);
        snprintf(s->note, sizeof s->note, "kept iteration %d of %d (--keep-best): loss %.6g, last iterate %.6g",
                 s->best_iter, T, s->loss_after, last);
    } else {
        snprintf(s->note, sizeof s->note, "kept the last iteration (--keep-best: best of %d evaluations)",
                 r->cfg.keep_best);
    }
    fr_recon_best_free(s);
    return rc;
}

void fr_recon_best_free(unit_state *s)
{
    free(s->best);
    s->best = NULL;
    s->n_best = 0;
    s->best_iter = -1;
    s->best_loss = 0;
}
