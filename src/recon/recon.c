/* recon.c — the reconstruction engine; the contract is in include/frtui/recon.h.
 *
 * Decisions on points the spec leaves open ([I]/[R] in ../shared/spec/flexround.md):
 *   - Mini-batches are drawn with replacement (QDrop's randint) so the sampler's whole state is
 *     the fr_rng: a checkpoint needs nothing else to resume bit-exactly.
 *   - Learning-rate schedule: FlexRound uses Adam + cosine to 0 over the unit's iterations
 *     (official code, spec 2.4); AdaRound uses a constant lr (BRECQ/QDrop code, spec 3.2).
 *   - Loss (spec 2.3): squared error summed over channels, mean over batch and spatial
 *     positions, i.e. sum((y - t)^2) / (B * H * W).
 *   - First and last layer (first conv/linear and last conv/linear in graph order) use
 *     first_last_bits (8 by default, spec 5.10); they are still reconstructed (QDrop does,
 *     BRECQ skips the first) so their views are populated.
 *   - Activation quantization (act_bits > 0): one per-tensor asymmetric quantizer on the output
 *     of every conv/linear (after its directly following activation), except the network
 *     output (spec 2.5).  In the QDrop setting (qdrop = 1) each element keeps its quantized
 *     value with probability drop_p during reconstruction and the unit input mixes quantized
 *     and FP inputs element-wise with the same probability; step sizes are learned jointly
 *     with Adam(act_lr) + cosine.
 *   - Data parallel inside a unit (`mpirun -n K frtui run`, issue 17): recon_dp.c's design note
 *     (which share of a mini-batch a rank computes, how partials are added, the sharded cache).
 */
#include "frtui/recon.h"

#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/conv.h"
#include "frtui/dp.h"
#include "frtui/exec.h"
#include "frtui/fidelity.h"
#include "frtui/par.h"
#include "frtui/qstats.h"

#include "recon_impl.h"


static int layer_bits(const fr_recon *r, int node)
{
    if ((node == r->first_layer || node == r->last_layer) && r->cfg.first_last_bits > 0) return r->cfg.first_last_bits;
    return r->cfg.bits;
}

static fr_qconfig qconfig(const fr_recon *r, int node)
{
    fr_qconfig c;
    fr_qconfig_default(&c);
    c.bits = layer_bits(r, node);
    c.per_channel = r->cfg.per_channel || r->cfg.group_size > 0;   /* a group grid is per channel too */
    c.group = r->cfg.group_size;
    c.symmetric = r->cfg.symmetric;
    c.init = r->cfg.init_minmax ? FR_QINIT_MINMAX : FR_QINIT_MSE;
    c.lambda = r->cfg.lambda;
    c.scale_lr = r->cfg.scale_lr;
    c.s1_direct = r->cfg.s1_direct;
    return c;
}

int fr_recon_init_layer(const fr_recon *r, int node, fr_method m, fr_qlayer *q, fr_err *e)
{
    const fr_node *n = &r->fm.g.nodes[node];
    const fr_tensor *W = &r->fm.g.tensors[n->param[0]];
    fr_qconfig c = qconfig(r, node);
    int o = (int)W->dim[0], i = (int)W->dim[1], kh = W->ndim == 4 ? (int)W->dim[2] : 1, kw = W->ndim == 4 ? (int)W->dim[3] : 1;
    /* [I] --group-size on a layer whose rows it does not divide (a 3x3x3 stem, a depthwise conv,
     * a head of odd width): that layer keeps one scale per output channel rather than failing
     * the run; its s1 count in views and exports shows which layers were grouped. */
    if (c.group && ((int64_t)i * kh * kw) % c.group) c.group = 0;
    return fr_qlayer_init(q, m, &c, o, i, kh, kw, n->op == FR_OP_CONV, W->data, e);
}

/* Batch of the accuracy / fidelity passes: EVAL_BATCH, fewer when a whole-network plan at that
 * batch would exceed EVAL_PLAN_BYTES (a 224x224 MobileNetV2 holds ~70 MB of activations per
 * sample, so 64 of them took 4.3 GiB -- more than the calibration caches of 256 samples).
 * The batch depends on the model only, so results stay deterministic (the chunked conv path makes
 * the last bits depend on the batch, so this is part of the result's definition). */
#define EVAL_PLAN_BYTES ((size_t)1 << 30)
static int eval_batch_of(fr_recon *r, int n)
{
    size_t per = fr_exec_plan_bytes(&r->fm.g, 0, r->fm.g.n_nodes - 1, 1, FR_EXEC_INFER);
    int cap = per == 0 || per == SIZE_MAX ? EVAL_BATCH : (int)FR_MAX((size_t)1, FR_MIN((size_t)EVAL_BATCH, EVAL_PLAN_BYTES / per));
    return FR_MIN(cap, n > 0 ? n : 1);
}

static size_t sat_add(size_t a, size_t b) { return b > SIZE_MAX - a ? SIZE_MAX : a + b; }
static size_t sat_mul(size_t a, size_t b) { return a && b > SIZE_MAX / a ? SIZE_MAX : a * b; }

/* Bytes a unit's begin() allocates beside the caches, with its executor planned for maxb
 * samples: the executor, the activation-quantizer hooks (pre-hook buffer, init sample) and the
 * training mini-batch buffers.  *keep gets the hooks' keep masks, which live for the whole run.
 * Mirrors fr_recon_begin. */
static size_t unit_work(fr_recon *r, int k, size_t maxb, size_t *keep)
{
    fr_graph *g = &r->fm.g;
    const fr_unit *u = &r->part.units[k];
    size_t B = (size_t)r->cfg.batch;
    size_t w = fr_exec_plan_bytes(g, u->first, u->last, (int)maxb, FR_EXEC_GRAD);
    for (int q = 0; q < u->n_ext; q++) w = sat_add(w, sat_mul(B * sizeof(float), nsize(g, u->ext[q])));
    w = sat_add(w, sat_mul(2 * B * sizeof(float), nsize(g, u->last)));
    w = sat_add(w, B * sizeof(int32_t));
    if (r->cfg.act_bits > 0)
        for (int l = 0; l < u->n_layers; l++) {
            int a = fr_recon_aq_node(r, u->layers[l], u);
            if (a < 0) continue;
            size_t per = nsize(g, a);
            w = sat_add(w, sat_mul(maxb * sizeof(float), per));
            if (keep) *keep = sat_add(*keep, sat_mul(maxb, per));
            w = sat_add(w, sat_mul((size_t)FR_MIN(r->n_calib, 256) * sizeof(float), per));
        }
    return w;
}

/* The accuracy pass at batch nb: its plan, input batch and hook buffers (fr_eval_accuracy_ex). */
static size_t eval_work(fr_recon *r, int nb)
{
    fr_graph *g = &r->fm.g;
    size_t hooks = 0;
    if (r->cfg.act_bits > 0)
        for (int k = 0; k < r->part.n; k++)
            for (int l = 0; l < r->part.units[k].n_layers; l++) {
                int a = fr_recon_aq_node(r, r->part.units[k].layers[l], &r->part.units[k]);
                if (a >= 0) hooks = sat_add(hooks, sat_mul((size_t)nb * sizeof(float), nsize(g, a)));
            }
    size_t w = fr_exec_plan_bytes(g, 0, g->n_nodes - 1, nb, FR_EXEC_INFER);
    return sat_add(w, sat_add(hooks, sat_mul((size_t)nb * sizeof(float), nsize(g, 0))));
}

/* Every unit's work, and the accuracy pass at its usual batch and at halves of it down to 1
 * (fr_calib_budget picks). */
static void run_work(fr_recon *r, const fr_dataset *eval, fr_work *w)
{
    int n = r->part.n ? r->part.n : 1;
    w->keep = 0;
    for (int d = 0; d < FR_PASS_DIVS; d++) {
        w->big[d] = fr_xcalloc((size_t)n, sizeof(size_t));
        int pb = (prop_batch(r) + (1 << d) - 1) >> d;
        for (int k = 0; k < r->part.n; k++)
            w->big[d][k] = unit_work(r, k, (size_t)FR_MAX(r->cfg.batch, pb), d ? NULL : &w->keep);
    }
    w->eval_n = eval->n;
    w->eval_b0 = eval_batch_of(r, eval->n);
    for (int i = 0; i < FR_WORK_EVAL; i++)
        w->eval[i] = eval->n > 0 ? eval_work(r, FR_MAX(1, w->eval_b0 >> i)) : 0;
}

/* plan_only: stop after the memory plan (fr_recon_plan_new), before the input store. */
static fr_recon *recon_new(const fr_model *m, const fr_run_config *cfg, int plan_only, fr_err *e)
{
    if (fr_run_config_check(cfg, e)) return NULL;
    if (m->calib.n == 0) {
        fr_err_set(e, FR_EINPUT, "%s: the bundle has no calibration data (import it with --calib)", m->meta.name);
        return NULL;
    }
    if (m->calib.c != m->meta.in_c || m->calib.h != m->meta.in_h || m->calib.w != m->meta.in_w) {
        fr_err_set(e, FR_EINPUT, "%s: calibration samples are %dx%dx%d but the model input is %dx%dx%d", m->meta.name,
                   m->calib.c, m->calib.h, m->calib.w, m->meta.in_c, m->meta.in_h, m->meta.in_w);
        return NULL;
    }
    if (cfg->qdrop && fr_dp_size() > 1) {
        fr_err_set(e, FR_EINPUT, "--qdrop cannot run on %d MPI ranks (its drop decisions are one serial random "
                   "stream over the whole mini-batch); run it on one rank", fr_dp_size());
        return NULL;
    }
    fr_recon *r = fr_xcalloc(1, sizeof *r);
    r->orig = m;
    r->cfg = *cfg;
    r->dp_rank = fr_dp_rank();
    r->dp_size = fr_dp_size();
    if (r->cfg.act_token < 0) r->cfg.act_token = fr_graph_lm_vocab(&m->g) > 0;   /* per token for LMs */
    r->cur = -1;
    fr_model_init(&r->fm);
    r->fm.meta = m->meta;
    r->fm.meta.class_names = NULL;  /* not owned here */
    r->fm.meta.n_classes = 0;
    fr_graph_copy(&r->fm.g, &m->g);
    fr_graph_fold_bn(&r->fm.g);
    fr_graph *g = &r->fm.g;
    if (fr_graph_infer_shapes(g, m->meta.in_c, m->meta.in_h, m->meta.in_w, e) ||
        fr_partition_build(g, cfg->layerwise, (fr_unit_rule)cfg->unit_rule, &r->part, e)) {
        fr_recon_free(r);
        return NULL;
    }
    r->n_run = r->part.n;
    int feat;
    if (cfg->feature[0] && fr_fid_resolve(g, cfg->feature, &feat, e)) {   /* refused now, not after the run */
        fr_err_prefix(e, m->meta.name);
        fr_recon_free(r);
        return NULL;
    }
    if (cfg->stop_unit[0]) {
        int k = fr_partition_find(&r->part, g, cfg->stop_unit);
        if (k < 0) {
            fr_err_set(e, FR_EINPUT, "%s: unit '%s' does not exist (units are named like '%s'; see frtui info)",
                       m->meta.name, cfg->stop_unit, r->part.units[r->part.n > 1 ? 1 : 0].name);
            fr_recon_free(r);
            return NULL;
        }
        r->n_run = k + 1;
    }
    r->first_layer = r->last_layer = -1;
    for (int i = 1; i < g->n_nodes; i++)
        if (fr_node_is_layer(&g->nodes[i])) {
            if (r->first_layer < 0) r->first_layer = i;
            r->last_layer = i;
        }
    /* A language model's first layer is its embedding, which stays full precision (FlexRound's
     * LLM code and GPTQ quantize the decoder blocks' linears only); the first linear of block 0
     * is an ordinary layer.  The output head keeps first_last_bits, the closest this grid
     * family comes to the FP16 head those tools keep. */
    if (fr_graph_lm_vocab(g)) r->first_layer = -1;
    r->aq = fr_xcalloc((size_t)g->n_nodes, sizeof(aq_hook *));
    if (fr_calib_plan(r, e)) { fr_recon_free(r); return NULL; }
    /* Everything the run derives (caches + each unit's executor, or the accuracy pass), against
     * --max-mem or the memory there is, before the first store is allocated (issue 14 item 3,
     * issue 19): the plan keeps the caches in memory, or spills them, or refuses. */
    /* A budget holds only if freed memory goes back to the system: glibc's dynamic mmap
     * threshold would serve the next blocks of up to the largest freed size from the heap and
     * keep them (measured: 16 % over a 90M budget on resnet-fmnist).  Fixing the threshold at
     * 1 MB returns every large buffer on free. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    fr_work w;
    run_work(r, &m->eval, &w);
    int rc = fr_calib_budget(r, &w, e);
    for (int d = 0; d < FR_PASS_DIVS; d++) free(w.big[d]);
    if (plan_only && !rc) return r;
    if (rc || fr_calib_load_input(r, e)) {
        fr_recon_free(r);
        return NULL;
    }
    r->us = fr_xcalloc((size_t)r->part.n, sizeof *r->us);
    for (int k = 0; k < r->part.n; k++) {
        r->us[k].method = cfg->method;
        r->us[k].iters = cfg->iters;
    }
    return r;
}

fr_recon *fr_recon_new(const fr_model *m, const fr_run_config *cfg, fr_err *e) { return recon_new(m, cfg, 0, e); }
fr_recon *fr_recon_plan_new(const fr_model *m, const fr_run_config *cfg, fr_err *e) { return recon_new(m, cfg, 1, e); }

void fr_recon_unit_free(unit_state *s, int n_layers)
{
    for (int l = 0; l < n_layers; l++) {
        if (s->q) fr_qlayer_free(&s->q[l]);
        if (s->rtn) fr_qlayer_free(&s->rtn[l]);
        if (s->res) { free(s->res[l].s1); free(s->res[l].zp); free(s->res[l].code); fr_afree(s->res[l].w_hat); }
    }
    free(s->q); free(s->rtn); free(s->res); free(s->loss); free(s->loss_rec);
    fr_recon_hist_free(s);
    fr_recon_best_free(s);
    fr_unit_view_release(s->view);
    for (int m = 0; m < FR_METHOD__COUNT; m++) fr_unit_view_release(s->alt[m]);
    memset(s, 0, sizeof *s);
}

void fr_recon_free_current(fr_recon *r)
{
    fr_exec_free(r->x);
    r->x = NULL;
    for (int q = 0; q < FR_UNIT_MAX_EXT; q++) { fr_afree(r->bin[q]); r->bin[q] = NULL; }
    fr_afree(r->tgt); fr_afree(r->dy); free(r->idx); free(r->lidx); fr_afree(r->qd_fp); free(r->dp_buf);
    r->tgt = r->dy = r->qd_fp = r->dp_buf = NULL;
    r->dp_n = 0;
    r->idx = NULL;
    r->lidx = NULL;
}

void fr_recon_free(fr_recon *r)
{
    if (!r) return;
    fr_recon_free_current(r);
    int N = r->fm.g.n_nodes;
    fr_calib_free(r);
    for (int i = 0; i < N && r->aq; i++)
        if (r->aq[i]) { free(r->aq[i]->keep); free(r->aq[i]); }
    for (int k = 0; r->us && k < r->part.n; k++) fr_recon_unit_free(&r->us[k], r->part.units[k].n_layers);
    free(r->us); free(r->aq);
    fr_partition_free(&r->part);
    fr_graph_free(&r->fm.g);
    free(r);
}

const fr_partition *fr_recon_partition(const fr_recon *r) { return &r->part; }
const fr_model *fr_recon_model(const fr_recon *r) { return &r->fm; }
const fr_run_config *fr_recon_config(const fr_recon *r) { return &r->cfg; }
int fr_recon_current(const fr_recon *r) { return r->cur; }
int fr_recon_n_run(const fr_recon *r) { return r->n_run; }
int fr_recon_iter(const fr_recon *r) { return r->iter; }
int fr_recon_iters(const fr_recon *r) { return r->cur >= 0 ? r->us[r->cur].iters : 0; }
int fr_recon_done(const fr_recon *r, int unit) { return r->us[unit].status == FR_UNIT_DONE || r->us[unit].status == FR_UNIT_FALLBACK; }

void fr_recon_set_method(fr_recon *r, fr_method m)
{
    r->cfg.method = m;
    for (int k = 0; k < r->part.n; k++)
        if (r->us[k].status == FR_UNIT_PENDING) r->us[k].method = m;
}

void fr_recon_set_bits(fr_recon *r, int bits)
{
    r->cfg.bits = bits;
    /* Pending previews were computed with the old bits. */
    for (int k = 0; k < r->part.n; k++)
        if (r->us[k].status == FR_UNIT_PENDING) {
            int nl = r->part.units[k].n_layers;
            for (int l = 0; l < nl && r->us[k].rtn; l++) fr_qlayer_free(&r->us[k].rtn[l]);
            free(r->us[k].rtn);
            r->us[k].rtn = NULL;
            fr_unit_view_release(r->us[k].view);
            r->us[k].view = NULL;
        }
}

void fr_recon_set_iters(fr_recon *r, int iters)
{
    r->cfg.iters = iters;
    for (int k = 0; k < r->part.n; k++)
        if (r->us[k].status == FR_UNIT_PENDING) r->us[k].iters = iters;
}

/* ---- activation quantization hooks --------------------------------------------------------- */

static void aq_fwd(void *ctx, const float *x, float *y, size_t n)
{
    aq_hook *h = ctx;
    if (!h->active) { memcpy(y, x, n * sizeof(float)); return; }
    fr_aquant_forward(&h->aq, x, y, n, h->keep_p, h->keep_p < 1 ? h->rng : NULL, h->keep_p < 1 ? h->keep : NULL);
}

static void aq_bwd(void *ctx, const float *x, const float *dy, float *dx, size_t n)
{
    aq_hook *h = ctx;
    if (!h->active) { memcpy(dx, dy, n * sizeof(float)); return; }
    fr_aquant_backward(&h->aq, x, dy, dx, n, h->keep_p < 1 ? h->keep : NULL);
}

fr_out_hook fr_recon_aq_full(fr_recon *r, int a)
{
    r->aq[a]->active = 1;
    r->aq[a]->keep_p = 1.0f;
    return (fr_out_hook){aq_fwd, aq_bwd, r->aq[a]};
}

/* The node whose output is activation-quantized for layer node L: its directly following
 * single-consumer activation if any, else L itself.  -1 for the network output.  Per token
 * (LLM W8A8) it is the producer of L's input instead, inside the unit (a norm, the attention,
 * the SwiGLU product; q/k/v share theirs), and the head's input stays full precision. */
int fr_recon_aq_node(const fr_recon *r, int L, const fr_unit *u)
{
    const fr_graph *g = &r->fm.g;
    if (r->cfg.act_token > 0) {
        int p = g->nodes[L].in[0];
        return L == r->last_layer || p < u->first || p > u->last || g->nodes[p].op == FR_OP_INPUT ? -1 : p;
    }
    int n = L;
    if (L + 1 <= u->last && g->nodes[L + 1].n_in == 1 && g->nodes[L + 1].in[0] == L) {
        fr_op op = g->nodes[L + 1].op;
        if (op == FR_OP_RELU || op == FR_OP_RELU6 || op == FR_OP_CLIP || op == FR_OP_HARDSWISH) n = L + 1;
    }
    return n == g->n_nodes - 1 || L == r->last_layer ? -1 : n;
}

static void set_weights(fr_recon *r, fr_exec *x, const fr_unit *u, const fr_qlayer *q)
{
    for (int l = 0; l < u->n_layers; l++) fr_exec_set_weight(x, u->layers[l], q ? q[l].w_hat : NULL);
}

void fr_recon_set_aq(fr_recon *r, const fr_unit *u, int active, float keep_p)
{
    for (int l = 0; l < u->n_layers; l++) {
        int a = fr_recon_aq_node(r, u->layers[l], u);
        if (a >= 0 && r->aq[a]) { r->aq[a]->active = active; r->aq[a]->keep_p = keep_p; }
    }
}

int fr_recon_ensure_rtn(fr_recon *r, int k, fr_err *e)
{
    unit_state *s = &r->us[k];
    const fr_unit *u = &r->part.units[k];
    if (s->rtn) return FR_OK;
    s->rtn = fr_xcalloc((size_t)(u->n_layers ? u->n_layers : 1), sizeof(fr_qlayer));
    for (int l = 0; l < u->n_layers; l++) {
        int rc = fr_recon_init_layer(r, u->layers[l], FR_METHOD_RTN, &s->rtn[l], e);
        if (rc) return rc;
        fr_qlayer_finalize(&s->rtn[l]);
    }
    return FR_OK;
}

static void loss_push(unit_state *s, float total, float rec)
{
    if (s->n_loss == s->cap_loss) {
        s->cap_loss = s->cap_loss ? 2 * s->cap_loss : 1024;
        s->loss = fr_xrealloc(s->loss, (size_t)s->cap_loss * sizeof(float));
        s->loss_rec = fr_xrealloc(s->loss_rec, (size_t)s->cap_loss * sizeof(float));
    }
    s->loss[s->n_loss] = total;
    s->loss_rec[s->n_loss++] = rec;
}

int fr_recon_begin(fr_recon *r, int k, fr_err *e)
{
    FR_ASSERT(r->cur < 0 && k >= 0 && k < r->part.n);
    const fr_unit *u = &r->part.units[k];
    unit_state *s = &r->us[k];
    fr_graph *g = &r->fm.g;
    for (int q = 0; q < u->n_ext; q++)
        if (!fr_calib_have(r, u->ext[q]))
            return fr_err_set(e, FR_EINPUT, "unit %s: its inputs are not computed yet (run the units in order)", u->name);
    /* Restarting a finished unit discards its results. */
    int nl = u->n_layers;
    if (s->status != FR_UNIT_PENDING) {
        fr_method m = s->method;
        int it = s->iters;
        fr_recon_unit_free(s, nl);
        s->method = m;
        s->iters = it;
    }
    r->bsz = r->cfg.batch;
    int maxb = unit_plan_batch(r, k);
    r->x = fr_exec_new(g, u->first, u->last, maxb, FR_EXEC_GRAD, e);
    if (!r->x) return e->code;
    fr_exec_set_bias_grads(r->x, 0);   /* rounding learns weights only */
    /* FP targets (and FP inputs of later units). */
    int rc = fr_calib_pass(r, r->x, u, 0, 1, NULL, e);
    /* Spill plan: this unit's training data in memory now (calib.c). */
    if (!rc) rc = fr_calib_hot(r, k, e);
    if (rc) { fr_recon_free_current(r); fr_calib_cold(r); return rc; }
    /* Quantizers. */
    rc = fr_recon_ensure_rtn(r, k, e);
    if (rc) { fr_recon_free_current(r); return rc; }
    fr_method m = s->method;
    s->q = fr_xcalloc((size_t)(nl ? nl : 1), sizeof(fr_qlayer));
    for (int l = 0; l < nl; l++)
        if ((rc = fr_recon_init_layer(r, u->layers[l], m, &s->q[l], e))) { fr_recon_free_current(r); return rc; }
    /* Activation quantizers, initialised on the FP outputs of this unit. */
    if (r->cfg.act_bits > 0)
        for (int l = 0; l < nl; l++) {
            int a = fr_recon_aq_node(r, u->layers[l], u);
            if (a < 0) continue;
            if (!r->aq[a] && r->cfg.act_token > 0) {   /* computed per token: nothing to initialise from */
                aq_hook *h = fr_xcalloc(1, sizeof *h);
                if ((rc = fr_aquant_init_token(&h->aq, r->cfg.act_bits, g->nodes[a].w, e))) { free(h); fr_recon_free_current(r); return rc; }
                h->keep = fr_xmalloc((size_t)maxb * nsize(g, a));
                h->rng = &r->drop_rng;
                h->keep_p = 1.0f;
                r->aq[a] = h;
            }
            if (!r->aq[a]) {
                aq_hook *h = fr_xcalloc(1, sizeof *h);
                /* From the FP outputs of node a on the first ns samples, run through the unit
                 * in batches of the unsliced plan batch, in the unit's slices (the same bits).
                 * A sharded cache: each rank runs the part of them its shard holds, rank 0
                 * collects them in rank order (the shards are in sample order), initialises,
                 * and gives the others its result (aq_share). */
                int ns = FR_MIN(r->n_calib, 256), s0, b, gn, off;
                int mine = FR_MAX(0, FR_MIN(r->sh_n, ns - r->sh_lo));
                size_t per = nsize(g, a);
                set_weights(r, r->x, u, NULL);
                float *sample = fr_amalloc((size_t)(r->dp_rank == 0 ? ns : FR_MAX(mine, 1)) * per * sizeof(float));
                FR_ASSERT(sample);
                fr_calib_stage st = {{0}, {0}};
                for (int p = 0; fr_calib_piece(r, k, mine, FR_MAX(r->cfg.batch, prop_batch(r)), p, &s0, &b, &gn, &off) && !rc; p++) {
                    if (!b) continue;
                    if ((rc = fr_calib_bind(r, r->x, 0, s0, b, &st, e))) break;
                    fr_calib_forward(r->x, b, gn, off);
                    memcpy(sample + (size_t)s0 * per, fr_exec_out(r->x, a), (size_t)b * per * sizeof(float));
                }
                fr_calib_stage_free(&st);
                if (r->sharded && fr_dp_gather_f(sample, (size_t)mine * per, sample) && !rc)
                    rc = fr_err_set(e, FR_ENOMEM, "the activation sample of %s (%d samples) is too large to collect "
                                    "over MPI; use --dp-cache replicate", g->nodes[a].name, ns);
                if (!rc && (!r->sharded || r->dp_rank == 0)) rc = fr_aquant_init(&h->aq, r->cfg.act_bits, FR_QINIT_MSE, sample, (size_t)ns * per, e);
                fr_afree(sample);
                rc = fr_recon_aq_share(r, &h->aq, rc, e);
                if (rc) { free(h); fr_recon_free_current(r); return rc; }
                h->keep = fr_xmalloc((size_t)maxb * nsize(g, a));
                h->rng = &r->drop_rng;
                r->aq[a] = h;
            }
            fr_out_hook hk = {aq_fwd, aq_bwd, r->aq[a]};
            fr_exec_set_hook(r->x, a, &hk);
        }
    fr_recon_set_aq(r, u, 1, 1.0f);
    /* RTN baseline loss on all calibration samples (quantized-path inputs). */
    set_weights(r, r->x, u, s->rtn);
    rc = fr_calib_pass(r, r->x, u, 1, 0, &s->loss_rtn, e);
    if (rc) { fr_recon_free_current(r); return rc; }
    /* Training buffers. */
    for (int q = 0; q < fr_exec_n_inputs(r->x); q++) {
        r->bin[q] = fr_amalloc((size_t)r->bsz * nsize(g, fr_exec_input_node(r->x, q)) * sizeof(float));
        FR_ASSERT(r->bin[q]);
    }
    r->tgt = fr_amalloc((size_t)r->bsz * nsize(g, u->last) * sizeof(float));
    r->dy = fr_amalloc((size_t)r->bsz * nsize(g, u->last) * sizeof(float));
    r->idx = fr_xmalloc((size_t)r->bsz * sizeof(int32_t));
    r->lidx = fr_xmalloc((size_t)r->bsz * sizeof(int32_t));
    FR_ASSERT(r->tgt && r->dy);
    if (r->cfg.qdrop) {   /* FP rows of a QDrop mini-batch (the largest input) */
        size_t mx = 0;
        for (int q = 0; q < u->n_ext; q++) mx = FR_MAX(mx, nsize(g, u->ext[q]));
        r->qd_fp = fr_amalloc((size_t)r->bsz * mx * sizeof(float));
        FR_ASSERT(r->qd_fp);
    }
    if (r->dp_size > 1) {   /* exchanged per step: every layer's dL/dW, then the unit's activation steps */
        r->dp_n = 0;
        for (int l = 0; l < nl; l++) r->dp_n += s->q[l].n;
        for (int a = u->first; a <= u->last; a++) r->dp_n += r->aq[a] != NULL;
        r->dp_buf = fr_xcalloc(r->dp_n ? r->dp_n : 1, sizeof(float));
    }
    fr_rng_stream(&r->rng, r->cfg.seed, (uint64_t)k * 8 + (uint64_t)m);
    fr_rng_stream(&r->drop_rng, r->cfg.seed, (uint64_t)k * 8 + (uint64_t)m + 0x10000);
    set_weights(r, r->x, u, s->q);
    fr_recon_set_aq(r, u, 1, fr_recon_train_keep(r));
    s->status = FR_UNIT_RUNNING;
    s->n_loss = 0;
    s->note[0] = 0;
    if (m == FR_METHOD_RTN) s->iters = 0;
    if (s->iters > s->cap_loss) {   /* whole unit's loss history up front: step() never allocates */
        s->cap_loss = s->iters;
        s->loss = fr_xrealloc(s->loss, (size_t)s->cap_loss * sizeof(float));
        s->loss_rec = fr_xrealloc(s->loss_rec, (size_t)s->cap_loss * sizeof(float));
    }
    r->cur = k;
    r->iter = 0;
    fr_recon_hist_begin(r, k);
    fr_unit_view_release(s->view);
    s->view = NULL;
    if ((rc = fr_recon_best_begin(r, e))) {
        fr_recon_best_free(s);
        fr_recon_free_current(r);
        r->cur = -1;
        return rc;
    }
    return FR_OK;
}

static void fallback(fr_recon *r, const char *what)
{
    unit_state *s = &r->us[r->cur];
    const fr_unit *u = &r->part.units[r->cur];
    snprintf(s->note, sizeof s->note, "%s at iteration %d: fell back to RTN", what, r->iter);
    for (int l = 0; l < u->n_layers; l++) fr_qlayer_reset_to_rtn(&s->q[l]);
    s->status = FR_UNIT_FALLBACK;
}

/* The loss is a memory-bound pass over B activations (9.6 MB each for a 96-channel 28x28
 * unit), as costly as the GEMMs on small units, so it is split over the kernels' parts (par.h)
 * by sample (so are the gathers, calib.c). */
#define LOSS_CHUNKS 16
typedef struct loss_job {
    const float *y, *tgt;
    const float *store;      /* non-NULL: the targets are read in place, row idx[s] of it */
    const int32_t *idx;
    float *dy;
    int n;
    size_t per;
    int act;                 /* the unit's last activation, left to the loss (exec.h's tail), or NONE */
    float lo, hi;
    double norm, part[LOSS_CHUNKS];
} loss_job;

/* One sample's row: d = act(y) - t, loss += d^2, dy = act'(y) 2d/N -- the activation's forward
 * and backward element by element as its own passes compute them, so the same bits (with act
 * NONE, the plain loss).  `act` is a constant at each call site so the loop vectorises. */
static inline __attribute__((always_inline)) double loss_row(const float *y, const float *t, float *dy, size_t n, float g2,
                                                             double loss, int act, float lo, float hi)
{
    for (size_t e = 0; e < n; e++) {
        const float v = y[e], d = fr_conv_act_fwd(act, lo, hi, v) - t[e];
        loss += (double)d * d;
        dy[e] = fr_conv_act_bwd(act, lo, hi, v, g2 * d);
    }
    return loss;
}

/* The loss is summed in LOSS_CHUNKS fixed sample ranges, added in chunk order, so its value
 * does not depend on the thread count (parts take whole chunks).  Sample by sample, in the
 * same element order whether the target row comes from the gathered batch or, when the FP
 * store is resident, straight from the store: the same additions, so the same bits. */
static void loss_part(void *ctx, int part, int nparts)
{
    loss_job *j = ctx;
    int c0, c1;
    fr_par_range(LOSS_CHUNKS, part, nparts, &c0, &c1);
    const float g2 = (float)(2.0 * j->norm);
    for (int c = c0; c < c1; c++) {
        int lo, hi;
        fr_par_range(j->n, c, LOSS_CHUNKS, &lo, &hi);
        double loss = 0;
        for (int s = lo; s < hi; s++) {
            const size_t at = (size_t)s * j->per;
            const float *y = j->y + at, *t = j->store ? j->store + (size_t)j->idx[s] * j->per : j->tgt + at;
            float *dy = j->dy + at;
            switch (j->act) {
            case FR_CONV_ACT_RELU: loss = loss_row(y, t, dy, j->per, g2, loss, FR_CONV_ACT_RELU, 0, 0); break;
            case FR_CONV_ACT_CLIP: loss = loss_row(y, t, dy, j->per, g2, loss, FR_CONV_ACT_CLIP, j->lo, j->hi); break;
            default: loss = loss_row(y, t, dy, j->per, g2, loss, FR_CONV_ACT_NONE, 0, 0); break;
            }
        }
        j->part[c] = loss;
    }
}

int fr_recon_step(fr_recon *r)
{
    FR_ASSERT(r->cur >= 0);
    int k = r->cur;
    const fr_unit *u = &r->part.units[k];
    unit_state *s = &r->us[k];
    const fr_graph *g = &r->fm.g;
    if (s->status == FR_UNIT_FALLBACK || r->iter >= s->iters) return s->status == FR_UNIT_FALLBACK ? FR_ENUM : FR_OK;
    int B = r->bsz;
    for (int j = 0; j < B; j++) r->idx[j] = (int32_t)fr_rng_below(&r->rng, (uint32_t)r->n_calib);
    const int32_t *idx;
    int nb = fr_recon_dp_share(r, B, &idx);   /* this rank's draws (all of them on one rank) */
    fr_err ge;
    fr_err_clear(&ge);
    for (int q = 0; q < fr_exec_n_inputs(r->x); q++) {
        int e = fr_exec_input_node(r->x, q);
        size_t per = nsize(g, e);
        float *dst = r->bin[q];
        if (fr_calib_gather(r, 1, e, idx, nb, dst, &ge)) goto io_fail;
        if (r->cfg.qdrop && e != 0) {   /* one rank only (fr_recon_new): idx, nb are the whole batch */
            /* QDrop: keep the quantized-path value with probability drop_p, else FP.  Serial:
             * the drop stream is one RNG sequence.  (Node 0 is the same on both paths.) */
            if (fr_calib_gather(r, 0, e, r->idx, B, r->qd_fp, &ge)) goto io_fail;
            for (size_t t = 0; t < (size_t)B * per; t++)
                if (!(fr_rng_uniform(&r->drop_rng) < r->cfg.drop_p)) dst[t] = r->qd_fp[t];
        }
        fr_exec_bind_input(r->x, q, dst);
    }
    size_t oper = nsize(g, u->last);
    /* The target: read in place from a resident FP store (saves a copy of the batch's largest
     * array: 51 MB per step for a 32x112x112 output), else gathered. */
    const float *tstore = fr_calib_store(r, 0, u->last);
    if (!tstore && fr_calib_gather(r, 0, u->last, idx, nb, r->tgt, &ge)) goto io_fail;
    for (int l = 0; l < u->n_layers; l++) fr_qlayer_forward(&s->q[l]);
    int hw = g->nodes[u->last].h * g->nodes[u->last].w;
    /* the normaliser of the whole batch on every rank: the ranks' partials add up to the loss */
    loss_job lj = {NULL, r->tgt, tstore, idx, r->dy, nb, oper, FR_CONV_ACT_NONE, 0, 0, 1.0 / ((double)B * hw), {0}};
    double loss = 0;
    if (nb > 0) {
        /* A trailing ReLU6 (the stem's) is applied by the loss pass: two passes over the unit's
         * largest output fewer per step, same bits.  Only for this forward: the full passes
         * that share the executor read its output as usual. */
        fr_exec_set_tail_act(r->x, 1);
        fr_exec_forward(r->x, nb);
        fr_exec_set_tail_act(r->x, 0);
        int tin = fr_exec_tail(r->x, &lj.act, &lj.lo, &lj.hi);
        lj.y = tin >= 0 ? fr_exec_out(r->x, tin) : fr_exec_output(r->x);
        fr_par_run(loss_part, &lj);
        for (int c = 0; c < LOSS_CHUNKS; c++) loss += lj.part[c];   /* chunk order: deterministic */
    }
    if (r->dp_size > 1) {
        /* one exchange per step, loss and gradients together: the backward runs before the
         * loss is known to be finite (a non-finite one falls back all the same, on every rank,
         * since every rank holds the same sum) */
        for (int a = u->first; a <= u->last; a++) if (r->aq[a]) fr_aquant_zero_grad(&r->aq[a]->aq);
        if (nb > 0) fr_exec_backward(r->x, nb, r->dy, 0);
        fr_recon_dp_exchange(r, u, s, nb, B, &loss);
    }
    loss *= lj.norm;
    if (!isfinite(loss)) { fallback(r, "non-finite loss"); return FR_ENUM; }
    if (r->dp_size == 1) {
        for (int a = u->first; a <= u->last; a++) if (r->aq[a]) fr_aquant_zero_grad(&r->aq[a]->aq);
        fr_exec_backward(r->x, nb, r->dy, 0);
    }
    int T = s->iters, t = r->iter;
    float cosf_ = 0.5f * (1.0f + cosf(3.14159265358979f * (float)t / (float)T));
    float lr0 = fr_run_config_lr(&r->cfg, s->method);
    float lr = s->method == FR_METHOD_FLEXROUND ? lr0 * cosf_ : lr0;
    double reg_total = 0;
    for (int l = 0; l < u->n_layers; l++) {
        fr_qlayer *q = &s->q[l];
        float beta = 0;
        int reg_on = 0;
        if (s->method == FR_METHOD_ADAROUND) fr_qsched_adaround(&q->cfg, t + 1, T, &beta, &reg_on);
        const float *G = fr_exec_param_grad(r->x, g->nodes[u->layers[l]].param[0]);
        if (r->dp_size > 1) G = fr_recon_dp_grad(r, s, l);
        double reg = 0;
        if (fr_qlayer_step(q, G, lr, t + 1, beta, q->cfg.lambda, reg_on, &reg) != FR_OK) {
            fallback(r, "non-finite gradient");
            return FR_ENUM;
        }
        reg_total += reg;
    }
    for (int a = u->first; a <= u->last; a++)
        if (r->aq[a] && r->aq[a]->active && r->cfg.act_bits > 0)
            if (fr_aquant_adam(&r->aq[a]->aq, r->cfg.act_lr * cosf_, t + 1) != FR_OK) {
                fallback(r, "non-finite activation step");
                return FR_ENUM;
            }
    if (t == 0) s->loss_before = loss;
    loss_push(s, (float)(loss + reg_total), (float)loss);
    r->iter++;
    fr_recon_hist_step(r, r->cur);
    if (s->best && fr_recon_best_after_step(r, &ge)) goto io_fail;
    return FR_OK;
io_fail:
    snprintf(r->err, sizeof r->err, "%s", ge.msg);
    return FR_EIO;
}

const char *fr_recon_error(const fr_recon *r) { return r->err; }

int fr_recon_end(fr_recon *r, fr_err *e)
{
    FR_ASSERT(r->cur >= 0);
    int k = r->cur;
    const fr_unit *u = &r->part.units[k];
    unit_state *s = &r->us[k];
    for (int l = 0; l < u->n_layers; l++) fr_qlayer_finalize(&s->q[l]);
    set_weights(r, r->x, u, s->q);
    fr_recon_set_aq(r, u, 1, 1.0f);
    /* One pass gives loss_after and stores the quantized outputs later units read; only when
     * --keep-best may put an earlier iterate back are the outputs stored in a second pass
     * (a full forward over the calibration set, ~2.5 % of the 224x224 reference run). */
    const int may_restore = s->best && s->status != FR_UNIT_FALLBACK;
    int rc = fr_calib_pass(r, r->x, u, 1, !may_restore, &s->loss_after, e);
    if (!rc) rc = fr_recon_best_end(r, e);
    if (!rc && may_restore) rc = fr_calib_pass(r, r->x, u, 1, 1, NULL, e);
    if (rc) return rc;
    if (s->n_loss == 0) s->loss_before = s->loss_after;
    s->res = fr_xcalloc((size_t)(u->n_layers ? u->n_layers : 1), sizeof(fr_layer_result));
    for (int l = 0; l < u->n_layers; l++) {
        const fr_qlayer *q = &s->q[l];
        fr_layer_result *L = &s->res[l];
        L->node = u->layers[l];
        snprintf(L->name, sizeof L->name, "%s", r->fm.g.nodes[L->node].name);
        L->bits = q->cfg.bits; L->ns1 = q->ns1;
        L->o = q->o; L->i = q->i; L->kh = q->kh; L->kw = q->kw; L->n = (int64_t)q->n;
        L->s1 = fr_xmalloc((size_t)q->ns1 * sizeof(float));
        L->zp = fr_xmalloc((size_t)q->ns1 * sizeof(float));
        L->code = fr_xmalloc(q->n * sizeof(int32_t));
        L->w_hat = fr_amalloc(q->n * sizeof(float));
        FR_ASSERT(L->w_hat);
        memcpy(L->s1, q->s1, (size_t)q->ns1 * sizeof(float));
        memcpy(L->zp, q->zp, (size_t)q->ns1 * sizeof(float));
        memcpy(L->code, q->code, q->n * sizeof(int32_t));
        memcpy(L->w_hat, q->w_hat, q->n * sizeof(float));
    }
    if (s->status != FR_UNIT_FALLBACK) s->status = FR_UNIT_DONE;
    fr_recon_free_current(r);
    fr_calib_release(r, k);
    r->cur = -1;
    return FR_OK;
}

const fr_layer_result *fr_recon_results(const fr_recon *r, int unit, int *n_layers)
{
    *n_layers = r->part.units[unit].n_layers;
    return r->us[unit].res;
}

const float *fr_recon_loss(const fr_recon *r, int *n)
{
    if (r->cur < 0) { *n = 0; return NULL; }
    *n = r->us[r->cur].n_loss;
    return r->us[r->cur].loss;
}
