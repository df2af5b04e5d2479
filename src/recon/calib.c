/* calib.c — the calibration cache: activation stores of the FP and the quantized path over the
 * calibration set, and the full passes that fill them.  Part of the reconstruction engine
 * (state in recon_impl.h, public figures fr_recon_cache_* in recon.h).
 *
 * Design note
 *   Ownership: the engine (struct fr_recon) owns two arrays of per-node stores, fp[] and qs[],
 *   each store n_calib x (c*h*w) floats (fr_amalloc).  fp[i] holds node i's output through the
 *   FP weights, qs[i] through the quantized ones (BRECQ's X~).  qs[0] aliases fp[0] (the
 *   network input is shared), so a store is freed once when qs[i] == fp[i].
 *   Sizes: 2 x n_calib x node size x 4 bytes per kept node.  A store is produced when the unit
 *   that computes it begins (FP path) or ends (quantized path) and is needed until its last
 *   reader (last_reader[i], the last unit taking node i as an input) has ended; then it is
 *   dropped, unless every store fits max_cache_mb (2048 MB when unset): then keep_all keeps
 *   them all so a finished unit can be re-run for the compare view.  fr_calib_plan computes
 *   the peak up front by walking the units in the same order (fr_recon_cache_estimate) and
 *   refuses a run whose peak exceeds an explicit --max-cache-mb before allocating anything
 *   but the input store.  fr_calib_load_input fills that store; the caller checks the whole run's
 *   derived memory (caches + executor plans) between the two.
 */
#include <stdlib.h>
#include <string.h>

#include "frtui/exec.h"

#include "recon_impl.h"

static size_t store_bytes(const fr_recon *r, int node) { return nsize(&r->fm.g, node) * (size_t)r->n_calib * sizeof(float); }

int fr_calib_plan(fr_recon *r, fr_err *e)
{
    const fr_model *m = r->orig;
    const fr_graph *g = &r->fm.g;
    r->n_calib = r->cfg.n_calib > 0 && r->cfg.n_calib < m->calib.n ? r->cfg.n_calib : m->calib.n;
    int N = g->n_nodes;
    r->fp = fr_xcalloc((size_t)N, sizeof(float *));
    r->qs = fr_xcalloc((size_t)N, sizeof(float *));
    r->last_reader = fr_xmalloc((size_t)N * sizeof(int));
    for (int i = 0; i < N; i++) r->last_reader[i] = -1;
    for (int k = 0; k < r->part.n; k++)
        for (int q = 0; q < r->part.units[k].n_ext; q++) r->last_reader[r->part.units[k].ext[q]] = k;
    /* Keep every store (enables compare on finished units) when the total fits the limit. */
    size_t total = 0;
    for (int i = 0; i < N; i++)
        if (r->last_reader[i] >= 0) total += 2 * store_bytes(r, i);
    size_t limit = r->cfg.max_cache_mb ? r->cfg.max_cache_mb << 20 : (size_t)2048 << 20;
    r->keep_all = total <= limit;
    size_t peak = fr_recon_cache_estimate(r);
    if (r->cfg.max_cache_mb && peak > ((size_t)r->cfg.max_cache_mb << 20)) {
        fr_err_set(e, FR_ENOMEM, "%s: the calibration caches need %.0f MB at peak (%d samples), more than "
                   "--max-cache-mb %zu; use fewer samples (--n-calib) or raise the limit",
                   m->meta.name, (double)peak / 1048576.0, r->n_calib, r->cfg.max_cache_mb);
        return e->code;
    }
    return FR_OK;
}

int fr_calib_load_input(fr_recon *r, fr_err *e)
{
    const fr_model *m = r->orig;
    /* The network input is shared by both paths. */
    size_t per = nsize(&r->fm.g, 0);
    r->fp[0] = fr_amalloc(store_bytes(r, 0));
    if (!r->fp[0]) return fr_err_set(e, FR_ENOMEM, "out of memory for calibration inputs");
    for (int s = 0; s < r->n_calib; s++) fr_dataset_sample(&m->calib, &m->meta, s, r->fp[0] + (size_t)s * per);
    r->qs[0] = r->fp[0];
    return FR_OK;
}

size_t fr_recon_cache_estimate(const fr_recon *r)
{
    /* Walk the units in order, adding stores as they are produced and dropping them after
     * their last reader, exactly as begin/end do. */
    const fr_graph *g = &r->fm.g;
    size_t live = store_bytes(r, 0), peak = live;
    for (int k = 0; k < r->part.n; k++) {
        const fr_unit *u = &r->part.units[k];
        for (int i = u->first; i <= u->last; i++)
            if (r->last_reader[i] > k || i == u->last) live += 2 * store_bytes(r, i);
        if (live > peak) peak = live;
        if (!r->keep_all)
            for (int i = 0; i < g->n_nodes; i++)
                if (r->last_reader[i] == k && i != 0) live -= 2 * store_bytes(r, i);
    }
    return peak;
}

void fr_calib_release(fr_recon *r, int k)
{
    const fr_unit *u = &r->part.units[k];
    /* Drop stores no later unit reads. */
    if (!r->keep_all)
        for (int i = 1; i < r->fm.g.n_nodes; i++)
            if (r->last_reader[i] <= k && i != u->last) {
                if (r->qs[i] != r->fp[i]) fr_afree(r->qs[i]);
                fr_afree(r->fp[i]);
                r->qs[i] = r->fp[i] = NULL;
            }
    if (!r->keep_all && r->last_reader[u->last] < 0 && u->last != r->fm.g.n_nodes - 1) {
        fr_afree(r->qs[u->last]); fr_afree(r->fp[u->last]);
        r->qs[u->last] = r->fp[u->last] = NULL;
    }
}

void fr_calib_free(fr_recon *r)
{
    for (int i = 0; i < r->fm.g.n_nodes && r->fp; i++) {
        if (r->qs[i] != r->fp[i]) fr_afree(r->qs[i]);
        fr_afree(r->fp[i]);
    }
    free(r->fp); free(r->qs); free(r->last_reader);
    r->fp = r->qs = NULL;
    r->last_reader = NULL;
}

/* ---- full-calibration passes --------------------------------------------------------------- */

void fr_calib_bind(fr_recon *r, fr_exec *x, const fr_unit *u, float **store, int s0)
{
    for (int q = 0; q < fr_exec_n_inputs(x); q++) {
        int e = fr_exec_input_node(x, q);
        fr_exec_bind_input(x, q, store[e] + (size_t)s0 * nsize(&r->fm.g, e));
    }
    (void)u;
}

/* Runs the unit over all calibration samples from `in` stores.  When out_store != NULL the
 * outputs of nodes that later units read (and of the last node) are copied into it.  When
 * loss != NULL the loss against fp[last] is accumulated (same reduction as training). */
int fr_calib_pass(fr_recon *r, fr_exec *x, const fr_unit *u, float **in, float **out_store, double *loss, fr_err *e)
{
    const fr_graph *g = &r->fm.g;
    if (out_store)
        for (int i = u->first; i <= u->last; i++)
            if ((r->last_reader[i] > (int)(u - r->part.units) || i == u->last) && !out_store[i]) {
                out_store[i] = fr_amalloc(store_bytes(r, i));
                if (!out_store[i])
                    return fr_err_set(e, FR_ENOMEM, "out of memory for the calibration cache of %s (%.0f MB)",
                                      g->nodes[i].name, (double)store_bytes(r, i) / 1048576.0);
            }
    size_t oper = nsize(g, u->last);
    int hw = g->nodes[u->last].h * g->nodes[u->last].w;
    double acc = 0;
    for (int s0 = 0; s0 < r->n_calib; s0 += PROP_BATCH) {
        int nb = FR_MIN(PROP_BATCH, r->n_calib - s0);
        fr_calib_bind(r, x, u, in, s0);
        fr_exec_forward(x, nb);
        if (out_store)
            for (int i = u->first; i <= u->last; i++)
                if (out_store[i] && (r->last_reader[i] > (int)(u - r->part.units) || i == u->last))
                    memcpy(out_store[i] + (size_t)s0 * nsize(g, i), fr_exec_out(x, i), (size_t)nb * nsize(g, i) * sizeof(float));
        if (loss) {
            const float *y = fr_exec_output(x), *t = r->fp[u->last] + (size_t)s0 * oper;
            double s = 0;
            for (size_t k = 0; k < (size_t)nb * oper; k++) { double d = (double)y[k] - t[k]; s += d * d; }
            acc += s;
        }
    }
    if (loss) *loss = acc / ((double)r->n_calib * hw);
    return FR_OK;
}
