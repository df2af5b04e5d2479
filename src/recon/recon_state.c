/* recon_state.c — engine state capture and restore for checkpoints (declared in recon.h,
 * "checkpoint support"; the file format is ckpt.c's business).
 *
 * Design note
 *   Capture deep-copies, with memcpy only, everything a bit-exact resume needs: per unit the
 *   status, method, iterations, loss histories and notes; per layer of every begun unit the
 *   learnable tensors (with Adam moments for the running unit), the frozen grid state, the
 *   flags, and the final codes/scales of finished units; every activation quantizer; the
 *   running unit's iteration counter and both RNG streams.  It runs on the engine's thread.
 *
 *   Restore goes the other way on a fresh engine.  Resume (replay_only = 0) re-runs the normal
 *   begin/end lifecycle of each finished unit with the saved parameters put back before end,
 *   so both calibration caches (FP and quantized path) are rebuilt by exactly the code that
 *   built them originally; the codes end() produces are then checked against the saved ones.
 *   The running unit is begun, its parameters, Adam moments, activation steps, RNG streams
 *   and counters are overwritten, and stepping continues as if nothing happened.
 *   Replay (replay_only = 1) only rebuilds the quantizers and results (no caches, no passes),
 *   which is all views, exports and the accuracy of the quantized model need.
 */
#include <stdlib.h>
#include <string.h>

#include "frtui/ckpt.h"
#include "recon_impl.h"

static float *dup_f(const float *p, size_t n)
{
    if (!p || !n) return NULL;
    float *q = fr_xmalloc(n * sizeof(float));
    memcpy(q, p, n * sizeof(float));
    return q;
}

static int unit_bits(const fr_recon *r, int k)
{
    const unit_state *s = &r->us[k];
    const fr_unit *u = &r->part.units[k];
    if (s->q)
        for (int l = 0; l < u->n_layers; l++) {
            int node = u->layers[l];
            if (r->cfg.first_last_bits == 0 || (node != r->first_layer && node != r->last_layer)) return s->q[l].cfg.bits;
        }
    return r->cfg.bits;
}

static void tensor_copy(fr_ckpt_tensor *t, const fr_qparam *p, int with_mv)
{
    snprintf(t->name, sizeof t->name, "%s", p->name);
    t->n = (uint32_t)p->n;
    t->data = dup_f(p->data, p->n);
    if (with_mv && p->m && p->v) { t->m = dup_f(p->m, p->n); t->v = dup_f(p->v, p->n); }
}

void fr_recon_state_capture(fr_recon *r, fr_ckpt *c)
{
    memset(c, 0, sizeof *c);
    c->major = FR_CKPT_MAJOR;
    c->minor = FR_CKPT_MINOR;
    c->cfg = r->cfg;
    snprintf(c->model_name, sizeof c->model_name, "%s", r->fm.meta.name);
    c->n_nodes = r->fm.g.n_nodes;
    c->n_units = r->part.n;
    c->n_calib = r->n_calib;
    c->cur_unit = r->cur;
    c->iter = r->cur >= 0 ? r->iter : 0;
    if (r->cur >= 0) { c->rng = r->rng; c->drop_rng = r->drop_rng; }
    c->acc_fp = c->acc_q = -1;
    c->units = fr_xcalloc((size_t)(c->n_units ? c->n_units : 1), sizeof *c->units);
    for (int k = 0; k < r->part.n; k++) {
        const unit_state *s = &r->us[k];
        const fr_unit *u = &r->part.units[k];
        fr_ckpt_unit *U = &c->units[k];
        snprintf(U->name, sizeof U->name, "%s", u->name);
        U->status = s->status;
        U->method = s->method;
        U->iters = s->iters;
        U->bits = unit_bits(r, k);
        if (s->status == FR_UNIT_PENDING || !s->q) { U->status = FR_UNIT_PENDING; continue; }
        U->n_loss = s->n_loss;
        U->loss = dup_f(s->loss, (size_t)s->n_loss);
        U->loss_rec = dup_f(s->loss_rec, (size_t)s->n_loss);
        U->loss_rtn = s->loss_rtn;
        U->loss_before = s->loss_before;
        U->loss_after = s->loss_after;
        snprintf(U->note, sizeof U->note, "%s", s->note);
        U->n_layers = u->n_layers;
        if (k == r->cur && s->best) {
            U->best_iter = s->best_iter;
            U->best_loss = s->best_loss;
            U->n_best = (uint32_t)s->n_best;
            U->best = dup_f(s->best, s->n_best);
        }
        if (s->hist.n > 0) {
            U->hist = s->hist;
            U->hist.data = dup_f(s->hist.data, (size_t)s->hist.n * s->hist.stride);
        }
        U->layers = fr_xcalloc((size_t)(u->n_layers ? u->n_layers : 1), sizeof *U->layers);
        for (int l = 0; l < u->n_layers; l++) {
            fr_qlayer *q = &s->q[l];
            fr_ckpt_layer *L = &U->layers[l];
            snprintf(L->name, sizeof L->name, "%s", r->fm.g.nodes[u->layers[l]].name);
            L->node = u->layers[l];
            L->method = q->method;
            L->bits = q->cfg.bits;
            L->ns1 = q->ns1;
            L->o = q->o; L->i = q->i; L->kh = q->kh; L->kw = q->kw; L->is_conv = q->is_conv;
            L->n = (int64_t)q->n;
            L->finalized = q->finalized;
            L->fell_back = q->fell_back;
            L->nonfinite = q->nonfinite;
            fr_qparam P[FR_CKPT_MAX_PARAMS];
            L->n_params = fr_qlayer_params(q, P, FR_CKPT_MAX_PARAMS);
            for (int t = 0; t < L->n_params; t++) tensor_copy(&L->params[t], &P[t], k == r->cur);
            L->n_frozen = fr_qlayer_frozen(q, P, FR_CKPT_MAX_FROZEN);
            for (int t = 0; t < L->n_frozen; t++) tensor_copy(&L->frozen[t], &P[t], 0);
            if (s->res) {
                const fr_layer_result *R = &s->res[l];
                L->has_result = 1;
                L->s1 = dup_f(R->s1, (size_t)R->ns1);
                L->zp = dup_f(R->zp, (size_t)R->ns1);
                L->code = fr_xmalloc((size_t)R->n * sizeof(int32_t));
                memcpy(L->code, R->code, (size_t)R->n * sizeof(int32_t));
            }
        }
    }
    for (int i = 0; i < r->fm.g.n_nodes; i++)
        if (r->aq[i]) c->n_aq++;
    if (c->n_aq) {
        c->aq = fr_xcalloc((size_t)c->n_aq, sizeof *c->aq);
        int j = 0;
        for (int i = 0; i < r->fm.g.n_nodes; i++)
            if (r->aq[i]) { c->aq[j].node = i; c->aq[j].aq = r->aq[i]->aq; j++; }
    }
}

/* ---- restore ---------------------------------------------------------------------------------- */

static int put_tensors(const char *unit, const char *layer, fr_qparam *P, int n, const fr_ckpt_tensor *T, int nt,
                       int with_mv, fr_err *e)
{
    if (n != nt)
        return fr_err_set(e, FR_EINPUT, "unit %s layer %s: the checkpoint has %d tensors, this quantizer %d", unit, layer,
                          nt, n);
    for (int t = 0; t < n; t++) {
        if (strcmp(P[t].name, T[t].name) != 0 || P[t].n != T[t].n)
            return fr_err_set(e, FR_EINPUT, "unit %s layer %s: tensor %s[%u] does not match %s[%zu]", unit, layer,
                              T[t].name, T[t].n, P[t].name, P[t].n);
        memcpy(P[t].data, T[t].data, P[t].n * sizeof(float));
        if (with_mv && P[t].m) {
            if (T[t].m) memcpy(P[t].m, T[t].m, P[t].n * sizeof(float)); else memset(P[t].m, 0, P[t].n * sizeof(float));
            if (T[t].v) memcpy(P[t].v, T[t].v, P[t].n * sizeof(float)); else memset(P[t].v, 0, P[t].n * sizeof(float));
        }
    }
    return FR_OK;
}

static int restore_layer(fr_qlayer *q, const fr_ckpt_unit *U, const fr_ckpt_layer *L, int with_mv, fr_err *e)
{
    if ((int)q->method != L->method || q->o != L->o || q->i != L->i || q->kh != L->kh || q->kw != L->kw ||
        q->ns1 != L->ns1 || q->cfg.bits != L->bits || (int64_t)q->n != L->n)
        return fr_err_set(e, FR_EINPUT, "unit %s layer %s: checkpoint has %s W%d %dx%dx%dx%d (%d scales), the model "
                          "gives %s W%d %dx%dx%dx%d (%d scales)", U->name, L->name, fr_method_name(L->method), L->bits,
                          L->o, L->i, L->kh, L->kw, L->ns1, fr_method_name(q->method), q->cfg.bits, q->o, q->i, q->kh,
                          q->kw, q->ns1);
    fr_qparam P[FR_CKPT_MAX_PARAMS];
    int np = fr_qlayer_params(q, P, FR_CKPT_MAX_PARAMS);
    if (put_tensors(U->name, L->name, P, np, L->params, L->n_params, with_mv, e)) return e->code;
    np = fr_qlayer_frozen(q, P, FR_CKPT_MAX_FROZEN);
    if (put_tensors(U->name, L->name, P, np, L->frozen, L->n_frozen, 0, e)) return e->code;
    q->fell_back = L->fell_back;
    q->nonfinite = L->nonfinite;
    q->finalized = L->finalized;
    fr_qlayer_sync(q);
    return FR_OK;
}

static void put_loss(unit_state *s, const fr_ckpt_unit *U)
{
    free(s->loss); free(s->loss_rec);
    s->cap_loss = U->n_loss > 1024 ? U->n_loss : 1024;
    s->loss = fr_xmalloc((size_t)s->cap_loss * sizeof(float));
    s->loss_rec = fr_xmalloc((size_t)s->cap_loss * sizeof(float));
    if (U->n_loss) {
        memcpy(s->loss, U->loss, (size_t)U->n_loss * sizeof(float));
        memcpy(s->loss_rec, U->loss_rec, (size_t)U->n_loss * sizeof(float));
    }
    s->n_loss = U->n_loss;
    s->loss_rtn = U->loss_rtn;
    s->loss_before = U->loss_before;
    s->loss_after = U->loss_after;
    snprintf(s->note, sizeof s->note, "%s", U->note);
}

static int put_aq(fr_recon *r, const fr_ckpt *c, int first, int last, int create, fr_err *e)
{
    for (int j = 0; j < c->n_aq; j++) {
        int a = c->aq[j].node;
        if (a < first || a > last) continue;
        if (!r->aq[a]) {
            if (!create)
                return fr_err_set(e, FR_EINPUT, "activation quantizer of node %s is in the checkpoint but not in this run",
                                  r->fm.g.nodes[a].name);
            aq_hook *h = fr_xcalloc(1, sizeof *h);
            h->rng = &r->drop_rng;
            h->keep_p = 1.0f;
            r->aq[a] = h;
        }
        r->aq[a]->aq = c->aq[j].aq;
        /* the per-token row length is not stored: it follows from the settings and the graph */
        r->aq[a]->aq.tok = r->cfg.act_token > 0 ? r->fm.g.nodes[a].w : 0;
    }
    return FR_OK;
}

static void set_result(fr_layer_result *R, const fr_qlayer *q, const fr_ckpt_layer *L, const char *name)
{
    R->node = L->node;
    snprintf(R->name, sizeof R->name, "%s", name);
    R->bits = L->bits; R->ns1 = L->ns1;
    R->o = L->o; R->i = L->i; R->kh = L->kh; R->kw = L->kw; R->n = L->n;
    R->s1 = dup_f(L->s1, (size_t)L->ns1);
    R->zp = dup_f(L->zp, (size_t)L->ns1);
    R->code = fr_xmalloc((size_t)L->n * sizeof(int32_t));
    memcpy(R->code, L->code, (size_t)L->n * sizeof(int32_t));
    R->w_hat = fr_amalloc((size_t)L->n * sizeof(float));
    FR_ASSERT(R->w_hat);
    size_t per = (size_t)L->n / (size_t)L->ns1;
    for (size_t k = 0; k < (size_t)L->n; k++) {
        size_t g = k / per;
        R->w_hat[k] = L->s1[g] * (float)(L->code[k] - (int32_t)L->zp[g]);
    }
    (void)q;
}

int fr_recon_state_restore(fr_recon *r, const fr_ckpt *c, int replay_only, fr_err *e)
{
    const fr_graph *g = &r->fm.g;
    if (c->n_nodes != g->n_nodes || c->n_units != r->part.n)
        return fr_err_set(e, FR_EINPUT, "the checkpoint has %d nodes in %d units, the model %d nodes in %d units",
                          c->n_nodes, c->n_units, g->n_nodes, r->part.n);
    if (c->n_calib != r->n_calib)
        return fr_err_set(e, FR_EINPUT, "the checkpoint used %d calibration samples, this run has %d", c->n_calib,
                          r->n_calib);
    for (int j = 0; j < c->n_aq; j++)
        if (c->aq[j].node < 1 || c->aq[j].node >= g->n_nodes || c->aq[j].aq.bits != c->cfg.act_bits)
            return fr_err_set(e, FR_EINPUT, "activation quantizer %d (node %d, %d bits) does not fit the run (act bits %d)",
                              j, c->aq[j].node, c->aq[j].aq.bits, c->cfg.act_bits);
    if (c->cur_unit >= c->n_units || c->cur_unit < -1) return fr_err_set(e, FR_EINPUT, "running unit %d is out of range", c->cur_unit);
    for (int k = 0; k < c->n_units; k++) {
        const fr_ckpt_unit *U = &c->units[k];
        const fr_unit *u = &r->part.units[k];
        if (strcmp(U->name, u->name) != 0)
            return fr_err_set(e, FR_EINPUT, "unit %d is '%s' in the checkpoint but '%s' in the model", k, U->name, u->name);
        int begun = U->status != FR_UNIT_PENDING;
        if (begun && U->n_layers != u->n_layers)
            return fr_err_set(e, FR_EINPUT, "unit %s: %d layers in the checkpoint, %d in the model", u->name, U->n_layers,
                              u->n_layers);
        if ((k == c->cur_unit) != (U->status == FR_UNIT_RUNNING) && !(k == c->cur_unit && U->status == FR_UNIT_FALLBACK))
            return fr_err_set(e, FR_EINPUT, "unit %s: status %d does not agree with the running unit %d", u->name, U->status,
                              c->cur_unit);
        for (int l = 0; begun && l < u->n_layers; l++) {
            const fr_ckpt_layer *L = &U->layers[l];
            if (L->node != u->layers[l] || strcmp(L->name, g->nodes[L->node].name) != 0)
                return fr_err_set(e, FR_EINPUT, "unit %s: layer %d is '%s' in the checkpoint but '%s' in the model", u->name,
                                  l, L->name, g->nodes[u->layers[l]].name);
            int done = U->status == FR_UNIT_DONE || (U->status == FR_UNIT_FALLBACK && k != c->cur_unit);
            if (done && !L->has_result)
                return fr_err_set(e, FR_EINPUT, "unit %s layer %s: finished but has no codes", u->name, L->name);
        }
    }
    int bits0 = r->cfg.bits;
    for (int k = 0; k < c->n_units; k++) {
        const fr_ckpt_unit *U = &c->units[k];
        const fr_unit *u = &r->part.units[k];
        unit_state *s = &r->us[k];
        s->method = (fr_method)U->method;
        s->iters = U->iters;
        if (U->status == FR_UNIT_PENDING) continue;
        int running = k == c->cur_unit;
        r->cfg.bits = U->bits;
        int rc = FR_OK;
        if (replay_only) {
            s->q = fr_xcalloc((size_t)(u->n_layers ? u->n_layers : 1), sizeof(fr_qlayer));
            for (int l = 0; l < u->n_layers && !rc; l++) {
                rc = fr_recon_init_layer(r, u->layers[l], s->method, &s->q[l], e);
                if (!rc) rc = restore_layer(&s->q[l], U, &U->layers[l], running, e);
            }
            for (int l = 0; l < u->n_layers && !rc && !running; l++)
                if (!s->q[l].finalized || memcmp(s->q[l].code, U->layers[l].code, (size_t)U->layers[l].n * 4) != 0 ||
                    memcmp(s->q[l].s1, U->layers[l].s1, (size_t)U->layers[l].ns1 * 4) != 0)
                    rc = fr_err_set(e, FR_EINPUT, "unit %s layer %s: the saved parameters do not reproduce the saved codes",
                                    U->name, U->layers[l].name);
            if (!rc && !running) {
                s->res = fr_xcalloc((size_t)(u->n_layers ? u->n_layers : 1), sizeof(fr_layer_result));
                for (int l = 0; l < u->n_layers; l++) set_result(&s->res[l], &s->q[l], &U->layers[l], U->layers[l].name);
            }
            if (!rc) rc = put_aq(r, c, u->first, u->last, 1, e);
            if (rc) { r->cfg.bits = bits0; return rc; }
            put_loss(s, U);
            s->status = (fr_unit_status)U->status;
            if (running) r->iter = c->iter;
            continue;
        }
        r->no_best = !running;   /* a finished unit's saved parameters are already the kept ones */
        rc = fr_recon_begin(r, k, e);
        r->no_best = 0;
        if (!rc) rc = put_aq(r, c, u->first, u->last, 0, e);
        for (int l = 0; l < u->n_layers && !rc; l++) rc = restore_layer(&s->q[l], U, &U->layers[l], running, e);
        r->cfg.bits = bits0;
        if (rc) return rc;
        if (running) {
            put_loss(s, U);
            fr_recon_hist_put(r, k, &U->hist);
            if (!!s->best != !!U->n_best || (s->best && U->n_best != s->n_best))
                return fr_err_set(e, FR_EINPUT, "unit %s: the checkpoint's best iterate (%u values) does not fit this "
                                  "run (--keep-best %d: %zu)", u->name, U->n_best, c->cfg.keep_best, s->n_best);
            if (s->best) {
                memcpy(s->best, U->best, s->n_best * sizeof(float));
                s->best_iter = U->best_iter;
                s->best_loss = U->best_loss;
            }
            s->status = (fr_unit_status)U->status;
            r->iter = c->iter;
            r->rng = c->rng;
            r->drop_rng = c->drop_rng;
            continue;
        }
        s->status = (fr_unit_status)U->status;
        rc = fr_recon_end(r, e);
        if (rc) return rc;
        for (int l = 0; l < u->n_layers; l++)
            if (memcmp(s->res[l].code, U->layers[l].code, (size_t)U->layers[l].n * sizeof(int32_t)) != 0 ||
                memcmp(s->res[l].s1, U->layers[l].s1, (size_t)U->layers[l].ns1 * sizeof(float)) != 0)
                return fr_err_set(e, FR_EINPUT, "unit %s layer %s: the saved parameters do not reproduce the saved codes",
                                  U->name, U->layers[l].name);
        put_loss(s, U);
        fr_recon_hist_put(r, k, &U->hist);
    }
    r->cfg = c->cfg;
    return FR_OK;
}
