/* recon_hist.c — each unit's bounded parameter history and wall clock (issue 18, item 3), and
 * the views a replay builds from that history.
 *
 * Design note
 *   Recording: at begin() and after every step whose iteration is a multiple of `every`, the
 *   unit's learnable tensors (d1, D2, d3, d4 | V; data only) are copied into the next of
 *   hist_k slots.  When the slots are full every other moment is dropped and `every` doubles,
 *   so the moments always span the run evenly (0, e, 2e, ...) and the memory is bounded by
 *   hist_k moments whatever the iteration count; recording happens O(hist_k log iters) times a
 *   unit, so the copies cost nothing next to a step.  hist_k is one number for the whole run:
 *   FR_CKPT_HIST_MAX (16), fewer when 16 copies of every learnable tensor of the model would
 *   pass HIST_BUDGET (64 MiB) raw bytes (MobileNetV2: 4), and none below 4 (ResNet-18) (a 4-frame film says little
 *   and a model that large would double its checkpoint).  A moment is recorded only when all
 *   its values are finite (a NaN step falls back to RTN and is not history worth replaying).
 *   The history is engine state: the checkpoint saves it (HIST frame) and resume restores it,
 *   so a resumed run writes the same bytes as an uninterrupted one.
 *
 *   The wall clock (loss_t, seconds since begin per iteration) is for the loss chart's time
 *   axis only.  It is not saved: a checkpoint holds no clock, so equal runs give equal files.
 *
 *   Replay views: fr_recon_hist_view rebuilds the unit's quantizers from the grid search (the
 *   same init the run had), writes the moment's tensors into them and builds an ordinary view
 *   (recon_view.c), so every panel reads a historical moment exactly as it reads the present.
 *   Only the engine's owner calls anything here (the worker; in a replay the UI thread).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recon_impl.h"

#define HIST_BUDGET ((size_t)64 << 20)    /* raw bytes of history for the whole model */
#define HIST_MIN 4

static int hist_k(fr_recon *r)
{
    if (r->hist_k) return r->hist_k;
    const fr_graph *g = &r->fm.g;
    size_t floats = 0;
    for (int k = 0; k < r->part.n; k++)
        for (int l = 0; l < r->part.units[k].n_layers; l++) {
            const fr_tensor *W = &g->tensors[g->nodes[r->part.units[k].layers[l]].param[0]];
            size_t n = 1;
            for (int d = 0; d < W->ndim; d++) n *= (size_t)W->dim[d];
            floats += n + 3 * (size_t)W->dim[0] + (W->ndim > 1 ? (size_t)W->dim[1] : 0);   /* D2|V, d1, d3, d4 */
        }
    size_t k = floats ? HIST_BUDGET / (floats * sizeof(float)) : FR_CKPT_HIST_MAX;
    r->hist_k = k >= FR_CKPT_HIST_MAX ? FR_CKPT_HIST_MAX : k >= HIST_MIN ? (int)k : -1;
    return r->hist_k;
}

static size_t unit_stride(const unit_state *s, int nl)
{
    size_t t = 0;
    for (int l = 0; s->q && l < nl; l++) {
        fr_qparam P[FR_CKPT_MAX_PARAMS];
        int np = fr_qlayer_params(&s->q[l], P, FR_CKPT_MAX_PARAMS);
        for (int p = 0; p < np; p++) t += P[p].n;
    }
    return t;
}

static void record(fr_recon *r, int k)
{
    unit_state *s = &r->us[k];
    fr_ckpt_hist *h = &s->hist;
    int K = hist_k(r), nl = r->part.units[k].n_layers;
    if (K <= 0 || !h->data || !h->stride) return;
    if (h->n == K) {   /* full: keep the moments on the doubled interval */
        int j = 0;
        for (int i = 0; i < h->n; i++)
            if (h->iter[i] % (2 * h->every) == 0) {
                if (i != j) memcpy(h->data + (size_t)j * h->stride, h->data + (size_t)i * h->stride, h->stride * sizeof(float));
                h->iter[j++] = h->iter[i];
            }
        h->n = j;
        h->every *= 2;
        if (r->iter % h->every) return;
    }
    float *dst = h->data + (size_t)h->n * h->stride;
    size_t off = 0;
    for (int l = 0; l < nl; l++) {
        fr_qparam P[FR_CKPT_MAX_PARAMS];
        int np = fr_qlayer_params(&s->q[l], P, FR_CKPT_MAX_PARAMS);
        for (int p = 0; p < np; p++) {
            for (size_t t = 0; t < P[p].n; t++)
                if (!isfinite(P[p].data[t])) return;
            memcpy(dst + off, P[p].data, P[p].n * sizeof(float));
            off += P[p].n;
        }
    }
    h->iter[h->n++] = r->iter;
}

void fr_recon_hist_begin(fr_recon *r, int k)
{
    unit_state *s = &r->us[k];
    fr_recon_hist_free(s);
    s->t0 = fr_now();
    s->hist.every = 1;
    s->hist.stride = unit_stride(s, r->part.units[k].n_layers);
    int K = hist_k(r);
    if (K > 0 && s->hist.stride) s->hist.data = fr_xmalloc((size_t)K * s->hist.stride * sizeof(float));
    record(r, k);
}

void fr_recon_hist_step(fr_recon *r, int k)
{
    unit_state *s = &r->us[k];
    if (s->n_t == s->n_loss - 1) {   /* stamps stay aligned with the losses or stop (resume) */
        if (s->n_t == s->cap_t) {
            s->cap_t = s->cap_t ? 2 * s->cap_t : 1024;
            s->loss_t = fr_xrealloc(s->loss_t, (size_t)s->cap_t * sizeof(float));
        }
        s->loss_t[s->n_t++] = (float)(fr_now() - s->t0);
    }
    if (r->iter % s->hist.every == 0) record(r, k);
}

void fr_recon_hist_free(unit_state *s)
{
    free(s->hist.data);
    memset(&s->hist, 0, sizeof s->hist);
    free(s->loss_t);
    s->loss_t = NULL;
    s->n_t = s->cap_t = 0;
}

void fr_recon_hist_put(fr_recon *r, int k, const fr_ckpt_hist *h)
{
    unit_state *s = &r->us[k];
    free(s->hist.data);
    memset(&s->hist, 0, sizeof s->hist);
    s->hist.every = 1;
    s->n_t = 0;   /* restored iterations have no clock: the time axis is off for this unit */
    int K = hist_k(r);
    size_t stride = unit_stride(s, r->part.units[k].n_layers);
    s->hist.stride = stride;
    if (K <= 0 || !stride) return;
    s->hist.data = fr_xmalloc((size_t)K * stride * sizeof(float));
    /* A file from a run with a larger K keeps its newest moments that fit (stride checked by
     * the loader against the same tensors). */
    if (!h || h->n <= 0 || h->stride != stride) return;
    int n = FR_MIN(h->n, K), first = h->n - n;
    memcpy(s->hist.data, h->data + (size_t)first * stride, (size_t)n * stride * sizeof(float));
    memcpy(s->hist.iter, h->iter + first, (size_t)n * sizeof(int32_t));
    s->hist.n = n;
    s->hist.every = h->every;
}

/* ---- replay views --------------------------------------------------------------------------- */

fr_unit_view *fr_recon_hist_view(fr_recon *r, int k, const fr_ckpt_unit *U, int j, fr_err *e)
{
    const fr_ckpt_hist *h = &U->hist;
    const fr_unit *u = &r->part.units[k];
    if (j < 0 || j >= h->n) { fr_err_set(e, FR_EINPUT, "unit %s: no recorded moment %d", U->name, j); return NULL; }
    if (U->n_layers != u->n_layers) { fr_err_set(e, FR_EINPUT, "unit %s: layer count differs", U->name); return NULL; }
    int nl = u->n_layers, bits0 = r->cfg.bits, rc = FR_OK;
    fr_qlayer *Q = fr_xcalloc((size_t)(nl ? nl : 1), sizeof *Q);
    size_t off = 0;
    r->cfg.bits = U->bits;   /* the width the unit ran with, as restore does */
    for (int l = 0; l < nl && !rc; l++) {
        rc = fr_recon_init_layer(r, u->layers[l], (fr_method)U->method, &Q[l], e);
        if (rc) break;
        fr_qparam P[FR_CKPT_MAX_PARAMS];
        int np = fr_qlayer_params(&Q[l], P, FR_CKPT_MAX_PARAMS);
        for (int p = 0; p < np && !rc; p++) {
            if (off + P[p].n > h->stride) { rc = fr_err_set(e, FR_EINPUT, "unit %s: history does not fit its tensors", U->name); break; }
            memcpy(P[p].data, h->data + (size_t)j * h->stride + off, P[p].n * sizeof(float));
            off += P[p].n;
        }
        /* The frozen grid state the run saved, so the moment sits on the run's grid. */
        const fr_ckpt_layer *L = &U->layers[l];
        np = fr_qlayer_frozen(&Q[l], P, FR_CKPT_MAX_FROZEN);
        for (int p = 0; p < np && p < L->n_frozen && !rc; p++)
            if (P[p].n == L->frozen[p].n && strcmp(P[p].name, L->frozen[p].name) == 0)
                memcpy(P[p].data, L->frozen[p].data, P[p].n * sizeof(float));
        fr_qlayer_sync(&Q[l]);
    }
    r->cfg.bits = bits0;
    if (!rc && off != h->stride) rc = fr_err_set(e, FR_EINPUT, "unit %s: history does not fit its tensors", U->name);
    fr_unit_view *v = NULL;
    if (!rc) {
        int it = h->iter[j];
        v = fr_recon_view_make(r, k, Q, FR_UNIT_RUNNING, it, FR_MIN(it, U->n_loss));
        snprintf(v->note, sizeof v->note, "replay: iteration %d of %d (moment %d of %d)", it, U->n_loss, j + 1, h->n + 1);
    }
    for (int l = 0; l < nl; l++) fr_qlayer_free(&Q[l]);
    free(Q);
    return v;
}
