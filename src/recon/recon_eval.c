/* recon_eval.c — what runs over finished units rather than inside the unit loop: the
 * whole-network evaluations of the quantized model (accuracy, fidelity to FP), compare (a
 * finished unit re-run with another method from a saved copy of its state) and restart
 * (rebuilding the stores a later unit reads by replaying the finished ones).
 *
 * Separate from recon.c because none of it is part of the begin / step / end loop: each drives
 * that loop, or the executor with every done unit's final weights, from the outside, and only
 * needs the engine's state (recon_impl.h) plus the few loop helpers declared there. */
#include "frtui/recon.h"

#include <stdlib.h>
#include <string.h>

#include "frtui/exec.h"
#include "frtui/fidelity.h"

#include "recon_impl.h"

/* The quantized network as executor overrides: the final weights of every done unit and its
 * activation quantizers (w, h: n_nodes entries; hooks backs h). */
static void quant_overrides(fr_recon *r, const float **w, const fr_out_hook **h, fr_out_hook *hooks)
{
    for (int k = 0; k < r->part.n; k++) {
        if (!r->us[k].res) continue;
        const fr_unit *u = &r->part.units[k];
        for (int l = 0; l < u->n_layers; l++) w[u->layers[l]] = r->us[k].res[l].w_hat;
        for (int i = u->first; i <= u->last; i++)
            if (r->aq[i]) {
                hooks[i] = fr_recon_aq_full(r, i);
                h[i] = &hooks[i];
            }
    }
}

int fr_recon_accuracy(fr_recon *r, int quantized, int max_samples, double *acc, fr_err *e)
{
    const fr_graph *g = &r->fm.g;
    const float **w = fr_xcalloc((size_t)g->n_nodes, sizeof(float *));
    const fr_out_hook **h = fr_xcalloc((size_t)g->n_nodes, sizeof(fr_out_hook *));
    fr_out_hook *hooks = fr_xcalloc((size_t)g->n_nodes, sizeof(fr_out_hook));
    if (quantized) quant_overrides(r, w, h, hooks);
    int rc = fr_eval_accuracy_ex(g, &r->fm.meta, &r->orig->eval, w, h, r->eval_b, max_samples,
                                 acc, e);
    free(w); free(h); free(hooks);
    return rc;
}

int fr_recon_fidelity(fr_recon *r, const char *feature, int max_samples, fr_fidelity *fid, double *acc_fp,
                      double *acc_q, fr_err *e)
{
    const fr_graph *g = &r->fm.g;
    int node;
    /* By name in the BN-folded graph: folding removes nodes, so indices of the bundle's graph
     * do not carry over. */
    int rc = fr_fid_resolve(g, feature, &node, e);
    if (rc) return rc;
    const float **w = fr_xcalloc((size_t)g->n_nodes, sizeof(float *));
    const fr_out_hook **h = fr_xcalloc((size_t)g->n_nodes, sizeof(fr_out_hook *));
    fr_out_hook *hooks = fr_xcalloc((size_t)g->n_nodes, sizeof(fr_out_hook));
    quant_overrides(r, w, h, hooks);
    rc = fr_eval_fidelity(g, &r->fm.meta, &r->orig->eval, w, h, r->eval_b, max_samples, node, fid,
                          acc_fp, acc_q, e);
    free(w); free(h); free(hooks);
    return rc;
}

int fr_recon_compare(fr_recon *r, int unit, fr_method m, fr_unit_view **out, fr_err *e)
{
    *out = NULL;
    unit_state *s = &r->us[unit];
    if (!fr_recon_done(r, unit)) return fr_err_set(e, FR_EINPUT, "unit %s is not finished", r->part.units[unit].name);
    if (s->alt[m]) { fr_unit_view_retain(s->alt[m]); *out = s->alt[m]; return FR_OK; }
    const fr_unit *u = &r->part.units[unit];
    for (int q = 0; q < u->n_ext; q++)
        if (!fr_calib_resident(r, u->ext[q]) || !r->fp[u->last])
            return fr_err_set(e, FR_EINPUT, "unit %s: its calibration caches were released (they did not fit "
                              "--max-cache-mb or the memory budget); compare it while it runs", u->name);
    if (r->cur >= 0) return fr_err_set(e, FR_EINPUT, "compare runs between units");
    if (r->cfg.act_bits > 0)
        return fr_err_set(e, FR_EINPUT, "compare is not available with activation quantization (the activation "
                          "steps are shared with the run)");
    /* Run the unit again with method m from a saved copy of its state, then restore. */
    unit_state saved = *s;
    memset(s, 0, sizeof *s);
    s->method = m;
    s->iters = r->cfg.iters;
    s->rtn = saved.rtn;
    float *keep_last = r->qs[u->last];
    r->qs[u->last] = NULL;   /* end() would overwrite the quantized-path output */
    int rc = r->tick && r->tick(r->tick_ctx, m, -1, s->iters) ? fr_err_set(e, FR_ECANCEL, "compare cancelled") : FR_OK;
    if (!rc) rc = fr_recon_begin(r, unit, e);
    if (!rc) {
        while (r->iter < s->iters && fr_recon_step(r) == FR_OK)
            if (r->tick && r->tick(r->tick_ctx, m, r->iter, s->iters)) {
                rc = fr_err_set(e, FR_ECANCEL, "compare cancelled at iteration %d of %d", r->iter, s->iters);
                break;
            }
        if (rc) fr_recon_free_current(r), r->cur = -1;
        else rc = fr_recon_end(r, e);
    }
    fr_unit_view *v = rc ? NULL : fr_recon_view(r, unit);
    if (r->qs[u->last]) r->res_bytes -= nsize(&r->fm.g, u->last) * (size_t)r->sh_n * sizeof(float);
    fr_afree(r->qs[u->last]);
    r->qs[u->last] = keep_last;
    s->rtn = NULL;
    fr_recon_unit_free(s, u->n_layers);
    *s = saved;
    if (rc) return rc;
    s->alt[m] = v;
    fr_unit_view_retain(v);
    /* The cached view predates this alternative. */
    fr_unit_view_release(s->view);
    s->view = NULL;
    *out = v;
    return FR_OK;
}

void fr_recon_set_tick(fr_recon *r, fr_recon_tick_fn fn, void *ctx)
{
    r->tick = fn;
    r->tick_ctx = ctx;
}

/* ---- restart ------------------------------------------------------------------------------- */

/* Rebuilds the FP and quantized-path stores that units >= k read, by replaying units 0..k-1
 * (all finished) with their final weights: the FP pass begin() makes and the quantized pass
 * end() makes, in unit order, dropping stores after their last reader exactly as end() does. */
static int replay_stores(fr_recon *r, int k, fr_err *e)
{
    fr_graph *g = &r->fm.g;
    for (int j = 0; j < k; j++) {
        const fr_unit *u = &r->part.units[j];
        unit_state *s = &r->us[j];
        if (!s->res) return fr_err_set(e, FR_EINPUT, "unit %s has no results to replay", u->name);
        fr_exec *x = fr_exec_new(g, u->first, u->last, unit_plan_batch(r, j), FR_EXEC_GRAD, e);
        if (!x) return e->code;
        int rc = fr_calib_pass(r, x, u, 0, 1, NULL, e);
        if (!rc) {
            for (int l = 0; l < u->n_layers; l++) fr_exec_set_weight(x, u->layers[l], s->res[l].w_hat);
            fr_out_hook hk[FR_UNIT_MAX_LAYERS];
            for (int l = 0; l < u->n_layers && r->cfg.act_bits > 0; l++) {
                int a = fr_recon_aq_node(r, u->layers[l], u);
                if (a < 0 || !r->aq[a]) continue;
                hk[l] = fr_recon_aq_full(r, a);
                fr_exec_set_hook(x, a, &hk[l]);
            }
            rc = fr_calib_pass(r, x, u, 1, 1, NULL, e);
        }
        fr_exec_free(x);
        if (rc) return rc;
        fr_calib_release(r, j);
    }
    return FR_OK;
}

int fr_recon_reset_from(fr_recon *r, int k, fr_err *e)
{
    FR_ASSERT(k >= 0 && k < r->part.n);
    if (r->cur >= 0 && r->cur < k) return FR_OK;   /* units after a running one are pending */
    for (int j = 0; j < k; j++)
        if (!fr_recon_done(r, j))
            return fr_err_set(e, FR_EINPUT, "unit %s: the units before it have not all run", r->part.units[k].name);
    if (r->cur >= 0) {   /* abandon the running unit: no finalize, no propagation */
        fr_recon_free_current(r);
        r->cur = -1;
    }
    for (int j = k; j < r->part.n; j++) {
        const fr_unit *u = &r->part.units[j];
        fr_recon_unit_free(&r->us[j], u->n_layers);
        r->us[j].method = r->cfg.method;
        r->us[j].iters = r->cfg.iters;
        for (int a = u->first; a <= u->last; a++)
            if (r->aq[a]) { free(r->aq[a]->keep); free(r->aq[a]); r->aq[a] = NULL; }
    }
    /* Every store a unit >= k reads that a unit before k produced must be there. */
    int first = r->part.units[k].first;
    for (int j = k; j < r->part.n; j++) {
        const fr_unit *u = &r->part.units[j];
        for (int q = 0; q < u->n_ext; q++)
            if (u->ext[q] < first && !fr_calib_have(r, u->ext[q])) return replay_stores(r, k, e);
    }
    return FR_OK;
}
