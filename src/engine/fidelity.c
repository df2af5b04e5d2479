/* fidelity.c — label-free fidelity metrics (feature cosine, relative MSE, top-1 agreement, KL)
 * of a quantized network against its full-precision self.  See fidelity.h for the definitions
 * and the feature-layer rule.
 *
 * Design note: fr_eval_fidelity uses ONE executor for both passes of a batch (the overrides and
 * hooks are switched off for the full-precision pass and on for the quantized one), so the two
 * networks see bit-identical inputs and the plan's memory is paid once; the full-precision
 * features and outputs of the batch are copied aside before the second pass overwrites them.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/fidelity.h"
#include "frtui/tops.h"

void fr_fid_acc_init(fr_fid_acc *a) { memset(a, 0, sizeof *a); }

static size_t argmax(const float *y, size_t k)
{
    size_t b = 0;
    for (size_t i = 1; i < k; i++)
        if (y[i] > y[b]) b = i;
    return b;
}

/* log-softmax of y into out (double). */
static void log_softmax(const float *y, size_t k, double *out)
{
    double mx = -INFINITY, s = 0;
    for (size_t i = 0; i < k; i++) mx = y[i] > mx ? y[i] : mx;
    for (size_t i = 0; i < k; i++) s += exp((double)y[i] - mx);
    double lse = mx + log(s);
    for (size_t i = 0; i < k; i++) out[i] = (double)y[i] - lse;
}

void fr_fid_add(fr_fid_acc *a, const float *f, const float *fq, size_t d, const float *y, const float *yq, size_t k,
                int probs)
{
    double ff = 0, qq = 0, fq_ = 0, dd = 0;
    for (size_t i = 0; i < d; i++) {
        double x = f[i], q = fq[i];
        ff += x * x;
        qq += q * q;
        fq_ += x * q;
        dd += (q - x) * (q - x);
    }
    double c = ff == 0 && qq == 0 ? 1.0 : ff == 0 || qq == 0 ? 0.0 : fq_ / (sqrt(ff) * sqrt(qq));
    a->cos_sum += c;
    a->zero_q += qq == 0 && ff > 0;
    a->d2 += dd;
    a->r2 += ff;
    if (k > 0) {
        a->agree += argmax(y, k) == argmax(yq, k);
        double kl = 0;
        if (probs) {
            for (size_t i = 0; i < k; i++) {
                double p = y[i] > 0 ? y[i] : 0, q = yq[i] > 1e-30f ? yq[i] : 1e-30;
                if (p > 0) kl += p * (log(p) - log(q));
            }
        } else {
            double lp_[64], lq_[64], *lp = k <= 64 ? lp_ : fr_xmalloc(k * sizeof(double)),
                                     *lq = k <= 64 ? lq_ : fr_xmalloc(k * sizeof(double));
            log_softmax(y, k, lp);
            log_softmax(yq, k, lq);
            for (size_t i = 0; i < k; i++) kl += exp(lp[i]) * (lp[i] - lq[i]);
            if (k > 64) { free(lp); free(lq); }
        }
        a->kl_sum += kl > 0 ? kl : 0;   /* rounding can make an exact match come out at -1e-17 */
    }
    a->n++;
}

void fr_fid_finish(const fr_fid_acc *a, fr_fidelity *out)
{
    out->n = (int)a->n;
    out->zero_q = (int)a->zero_q;
    if (a->n == 0) { out->cos = out->rel_mse = out->agree = out->kl = NAN; return; }
    out->cos = a->cos_sum / (double)a->n;
    out->rel_mse = a->r2 > 0 ? a->d2 / a->r2 : a->d2 > 0 ? INFINITY : 0;
    out->agree = (double)a->agree / (double)a->n;
    out->kl = a->kl_sum / (double)a->n;
}

const char *fr_fid_zero_note(char *buf, size_t cap, int zero_q, int n, int lm)
{
    if (zero_q <= 0) snprintf(buf, cap, "%s", "");
    else snprintf(buf, cap, "; the quantized feature is all zeros on %d of %d %s (its activations died; cosine 0 there)",
                  zero_q, n, lm ? "tokens" : "samples");
    return buf;
}

/* Next-token targets of one sample are its ids shifted by one (the last position is not
 * scored); returns the sample's summed nll and adds the scored count. */
static double lm_nll_sum(const float *ids, int T, int V, const float *logits, int32_t *tgt, long *count)
{
    for (int t = 0; t < T; t++) tgt[t] = t + 1 < T ? (int32_t)ids[t + 1] : -1;
    int c = 0;
    double m = fr_lm_xent(T, V, logits, tgt, NULL, &c);
    *count += c;
    return m * c;
}

static int is_head_op(fr_op op)
{
    return op == FR_OP_LINEAR || op == FR_OP_SOFTMAX || op == FR_OP_RELU || op == FR_OP_RELU6 || op == FR_OP_SIGMOID ||
           op == FR_OP_FLATTEN || op == FR_OP_RESHAPE || op == FR_OP_HARDSWISH || op == FR_OP_CLIP;
}

int fr_fid_feature_node(const fr_graph *g)
{
    int last = g->n_nodes - 1, first_lin = -1, last_lin = -1;
    for (int cur = last; cur > 0 && g->nodes[cur].n_in == 1 && is_head_op(g->nodes[cur].op); cur = g->nodes[cur].in[0])
        if (g->nodes[cur].op == FR_OP_LINEAR) {
            first_lin = cur;
            if (last_lin < 0) last_lin = cur;
        }
    if (first_lin < 0) return last;
    int f = g->nodes[first_lin].in[0];
    /* Flatten/reshape just before the head carry the same numbers: name the producer (the GAP). */
    while (f > 0 && g->nodes[f].n_in == 1 && (g->nodes[f].op == FR_OP_FLATTEN || g->nodes[f].op == FR_OP_RESHAPE))
        f = g->nodes[f].in[0];
    if (f == 0 || g->nodes[f].op == FR_OP_INPUT) return g->nodes[last_lin].in[0];   /* an MLP: no backbone */
    return f;
}

int fr_fid_resolve(const fr_graph *g, const char *name, int *node, fr_err *e)
{
    if (!name || !name[0]) { *node = fr_fid_feature_node(g); return FR_OK; }
    for (int i = 1; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) { *node = i; return FR_OK; }
    return fr_err_set(e, FR_EINPUT, "--feature %s: no node of that name (frtui info lists them)", name);
}

int fr_eval_fidelity(const fr_graph *g, const fr_meta *meta, const fr_dataset *ds, const float *const *weights,
                     const fr_out_hook *const *hooks, int batch, int max_samples, int feat_node, fr_fidelity *fid,
                     double *acc_fp, double *acc_q, fr_err *e)
{
    return fr_eval_fidelity2(g, feat_node, g, feat_node, weights, hooks, meta, ds, batch, max_samples, fid, acc_fp, acc_q, e);
}

int fr_eval_fidelity2(const fr_graph *grc, int rf_node, const fr_graph *gqc, int fq_node, const float *const *weights,
                      const fr_out_hook *const *hooks, const fr_meta *meta, const fr_dataset *ds, int batch, int max_samples,
                      fr_fidelity *fid, double *acc_fp, double *acc_q, fr_err *e)
{
    if (acc_fp) *acc_fp = -1;
    if (acc_q) *acc_q = -1;
    memset(fid, 0, sizeof *fid);
    if (ds->n == 0) return fr_err_set(e, FR_EINPUT, "%s: no evaluation data", meta->name);
    fr_graph *gr = (fr_graph *)grc, *gq = (fr_graph *)gqc;   /* inference mode never writes the graph */
    if (rf_node < 1 || rf_node >= gr->n_nodes || fq_node < 1 || fq_node >= gq->n_nodes)
        return fr_err_set(e, FR_EINPUT, "%s: feature node out of range", meta->name);
    size_t per = (size_t)meta->in_c * meta->in_h * meta->in_w;
    if ((size_t)ds->c * ds->h * ds->w != per)
        return fr_err_set(e, FR_EINPUT, "%s: evaluation samples are %dx%dx%d, the model expects %dx%dx%d", meta->name,
                          ds->c, ds->h, ds->w, meta->in_c, meta->in_h, meta->in_w);
    const fr_node *fn = &gr->nodes[rf_node], *on = &gr->nodes[gr->n_nodes - 1];
    const fr_node *fnq = &gq->nodes[fq_node], *onq = &gq->nodes[gq->n_nodes - 1];
    size_t d = (size_t)fn->c * fn->h * fn->w, k = (size_t)on->c * on->h * on->w;
    if ((size_t)fnq->c * fnq->h * fnq->w != d || (size_t)onq->c * onq->h * onq->w != k)
        return fr_err_set(e, FR_EINPUT, "%s: the two networks differ in feature (%s) or output size", meta->name, fn->name);
    /* A language model is compared token by token: T rows of d/T features and V logits per
     * sample, and both networks' next-token loss is summed. */
    const int V = fr_graph_lm_vocab(gr), T = meta->in_c;
    if (V && (fr_graph_lm_vocab(gq) != V || d % (size_t)T))
        return fr_err_set(e, FR_EINPUT, "%s: the two language models differ in vocabulary, or the feature node %s is not "
                          "per token", meta->name, fn->name);
    const int rows = V ? T : 1;
    const size_t dr = d / (size_t)rows, kr = k / (size_t)rows;
    double nll[2] = {0, 0};
    long scored = 0;
    int total = max_samples > 0 && max_samples < ds->n ? max_samples : ds->n;
    if (batch > total) batch = total;
    fr_exec *xr = fr_exec_new(gr, 0, gr->n_nodes - 1, batch, FR_EXEC_INFER, e), *xq = xr;
    if (!xr) return e ? e->code : FR_ENOMEM;
    if (gq != gr && !(xq = fr_exec_new(gq, 0, gq->n_nodes - 1, batch, FR_EXEC_INFER, e))) {
        fr_exec_free(xr);
        return e ? e->code : FR_ENOMEM;
    }
    int probs = on->op == FR_OP_SOFTMAX;
    float *in = fr_amalloc((size_t)batch * per * sizeof(float));
    float *f0 = fr_amalloc((size_t)batch * d * sizeof(float)), *y0 = fr_amalloc((size_t)batch * k * sizeof(float));
    if (!in || !f0 || !y0) {
        fr_afree(in); fr_afree(f0); fr_afree(y0); fr_exec_free(xr);
        if (xq != xr) fr_exec_free(xq);
        return fr_err_set(e, FR_ENOMEM, "out of memory for the fidelity batch");
    }
    fr_exec_bind_input(xr, 0, in);
    if (xq != xr) fr_exec_bind_input(xq, 0, in);
    int32_t *tgt = V ? fr_xmalloc(sizeof(int32_t) * (size_t)T) : NULL;
    fr_fid_acc a;
    fr_fid_acc_init(&a);
    long c_fp = 0, c_q = 0;
    for (int s0 = 0; s0 < total; s0 += batch) {
        int nb = FR_MIN(batch, total - s0);
        for (int s = 0; s < nb; s++) fr_dataset_sample(ds, meta, s0 + s, in + (size_t)s * per);
        for (int pass = 0; pass < 2; pass++) {
            fr_exec *x = pass ? xq : xr;
            for (int i = 1; x == xq && i < gq->n_nodes; i++) {   /* the quantized side: overrides on in pass 1 */
                if (weights && weights[i]) fr_exec_set_weight(x, i, pass ? weights[i] : NULL);
                if (hooks && hooks[i]) fr_exec_set_hook(x, i, pass ? hooks[i] : NULL);
            }
            fr_exec_forward(x, nb);
            const float *fy = fr_exec_out(x, pass ? fq_node : rf_node), *y = fr_exec_output(x);
            if (pass == 0) {
                memcpy(f0, fy, (size_t)nb * d * sizeof(float));
                memcpy(y0, y, (size_t)nb * k * sizeof(float));
            } else {
                for (size_t r = 0; r < (size_t)nb * rows; r++)
                    fr_fid_add(&a, f0 + r * dr, fy + r * dr, dr, y0 + r * kr, y + r * kr, kr, probs);
            }
            for (int s = 0; V && s < nb; s++) {
                long c = 0;
                nll[pass] += lm_nll_sum(in + (size_t)s * per, T, V, y + (size_t)s * k, tgt, &c);
                if (pass) scored += c;
            }
            if (ds->labels)
                for (int s = 0; s < nb; s++) {
                    int hit = (int32_t)argmax((pass ? y : y0) + (size_t)s * k, k) == ds->labels[s0 + s];
                    if (pass) c_q += hit; else c_fp += hit;
                }
        }
    }
    fr_fid_finish(&a, fid);
    free(tgt);
    fid->lm_vocab = V;
    fid->lm_tokens = scored;
    fid->nll_fp = V && scored ? nll[0] / (double)scored : NAN;
    fid->nll_q = V && scored ? nll[1] / (double)scored : NAN;
    fid->feat_node = rf_node;
    fid->feat_dim = (int)dr;
    snprintf(fid->feat_name, sizeof fid->feat_name, "%s", fn->name);
    if (ds->labels) {
        if (acc_fp) *acc_fp = (double)c_fp / total;
        if (acc_q) *acc_q = (double)c_q / total;
    }
    fr_afree(in); fr_afree(f0); fr_afree(y0);
    fr_exec_free(xr);
    if (xq != xr) fr_exec_free(xq);
    return FR_OK;
}

int fr_eval_lm(const fr_graph *gc, const fr_meta *meta, const fr_dataset *ds, const float *const *weights,
               const fr_out_hook *const *hooks, int batch, int max_samples, double *nll, long *tokens, fr_err *e)
{
    *nll = NAN;
    *tokens = 0;
    fr_graph *g = (fr_graph *)gc;   /* inference mode never writes the graph */
    const int V = fr_graph_lm_vocab(g), T = meta->in_c;
    if (!V) return fr_err_set(e, FR_EINPUT, "%s: not a language model (token ids in, next-token logits out)", meta->name);
    if (ds->n == 0) return fr_err_set(e, FR_EINPUT, "%s: no evaluation text", meta->name);
    if (ds->c != T || ds->h != 1 || ds->w != 1)
        return fr_err_set(e, FR_EINPUT, "%s: evaluation samples are %dx%dx%d, the model reads %d token ids", meta->name,
                          ds->c, ds->h, ds->w, T);
    int total = max_samples > 0 && max_samples < ds->n ? max_samples : ds->n;
    if (batch > total) batch = total;
    fr_exec *x = fr_exec_new(g, 0, g->n_nodes - 1, batch, FR_EXEC_INFER, e);
    if (!x) return e ? e->code : FR_ENOMEM;
    for (int i = 1; i < g->n_nodes; i++) {
        if (weights && weights[i]) fr_exec_set_weight(x, i, weights[i]);
        if (hooks && hooks[i]) fr_exec_set_hook(x, i, hooks[i]);
    }
    float *in = fr_amalloc((size_t)batch * T * sizeof(float));
    int32_t *tgt = fr_xmalloc(sizeof(int32_t) * (size_t)T);
    if (!in) { free(tgt); fr_exec_free(x); return fr_err_set(e, FR_ENOMEM, "out of memory for the evaluation batch"); }
    fr_exec_bind_input(x, 0, in);
    double sum = 0;
    long n = 0;
    const size_t k = (size_t)T * V;
    for (int s0 = 0; s0 < total; s0 += batch) {
        int nb = FR_MIN(batch, total - s0);
        for (int s = 0; s < nb; s++) fr_dataset_sample(ds, meta, s0 + s, in + (size_t)s * T);
        fr_exec_forward(x, nb);
        const float *y = fr_exec_output(x);
        for (int s = 0; s < nb; s++) sum += lm_nll_sum(in + (size_t)s * T, T, V, y + (size_t)s * k, tgt, &n);
    }
    fr_afree(in);
    free(tgt);
    fr_exec_free(x);
    *nll = n ? sum / (double)n : NAN;
    *tokens = n;
    return FR_OK;
}
