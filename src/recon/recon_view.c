/* recon_view.c — builds the immutable fr_unit_view objects the UI, exporters and reports read.
 *
 * Design note: a view copies everything it shows (arrays included) so that it stays valid and
 * unchanged however the engine moves on.  Views of finished and pending units never change
 * and are cached in the unit state; the running unit gets a fresh one per call.  Only the
 * worker thread (the engine's owner) calls these functions.
 */
#include <math.h>
#include <string.h>

#include "frtui/qstats.h"
#include "recon_impl.h"

static void fill_stats(const fr_qlayer *q, fr_layer_stats *st)
{
    fr_qstats qs;
    memset(st, 0, sizeof *st);
    if (fr_qlayer_stats(q, &qs) != FR_OK) return;
    st->sqnr_db = qs.sqnr_db;
    st->aggressive = qs.frac_aggressive;
    st->clipped = qs.frac_clipped;
    st->aggressive_init = qs.frac_aggressive_init;
    st->changed_vs_rtn = qs.frac_changed_vs_rtn;
    st->undecided = qs.frac_undecided;
    for (int b = 0; b < FR_SHIFT_BINS; b++) st->shift_hist[b] = (double)qs.shift_hist[b];
    st->shift_hist[0] += (double)qs.shift_under;
    st->shift_hist[FR_SHIFT_BINS - 1] += (double)qs.shift_over;
    for (int b = 0; b < FR_S2_BINS; b++) st->s2_hist[b] = (double)qs.s2_hist[b];
    if (q->method == FR_METHOD_FLEXROUND) {
        st->s2_hist[0] += (double)qs.s2_under;
        st->s2_hist[FR_S2_BINS - 1] += (double)qs.s2_over;
    }
    if (q->method == FR_METHOD_ADAROUND && q->V.n) {
        for (size_t k = 0; k < q->n; k++) {
            int b = fr_qhist_bin(fr_qada_h(q->V.data[k]), 0.0, 1.0, FR_H_BINS);
            if (b == FR_QBIN_NAN) continue;
            st->h_hist[b < 0 ? 0 : b >= FR_H_BINS ? FR_H_BINS - 1 : b] += 1;
        }
    }
}

static float *array_copy(fr_unit_view *v, const fr_qlayer *q, enum fr_qarray which)
{
    float *a = fr_unit_view_alloc_floats(v, q->n);
    if (fr_qlayer_array(q, which, a) != FR_OK) memset(a, 0, q->n * sizeof(float));
    return a;
}

/* Codes come out as stored (c + zp); the views show centred integers. */
static void remove_zp(const fr_qlayer *q, float *code)
{
    size_t per = q->n / (size_t)q->ns1;
    for (size_t k = 0; k < q->n; k++) code[k] -= q->zp[k / per];
}

fr_unit_view *fr_recon_view(fr_recon *r, int k)
{
    unit_state *s = &r->us[k];
    if (s->status != FR_UNIT_RUNNING && s->view) {
        fr_unit_view_retain(s->view);
        return s->view;
    }
    const fr_qlayer *Q;
    if (s->status == FR_UNIT_PENDING) {
        fr_err e;
        if (fr_recon_ensure_rtn(r, k, &e) != FR_OK) return NULL;
        Q = s->rtn;
    } else {
        Q = s->q;
    }
    fr_unit_view *v = fr_recon_view_make(r, k, Q, s->status, s->status == FR_UNIT_RUNNING ? r->iter : s->n_loss, s->n_loss);
    if (s->status != FR_UNIT_RUNNING) {
        s->view = v;
        fr_unit_view_retain(v);
    }
    return v;
}

fr_unit_view *fr_recon_view_make(fr_recon *r, int k, const fr_qlayer *Q, fr_unit_status status, int iter, int n_loss)
{
    unit_state *s = &r->us[k];
    const fr_unit *u = &r->part.units[k];
    int nl = u->n_layers;
    int with_t = s->n_t >= n_loss && n_loss > 0;   /* a clock for every loss shown */
    size_t floats = 3 * (size_t)n_loss + 64;
    for (int l = 0; l < nl; l++)
        floats += 4 * ((size_t)Q[l].ns1 + 16) + (size_t)Q[l].o + Q[l].i + 32 + 9 * (Q[l].n + 16) + Q[l].n / 4 + 32;
    fr_unit_view *v = fr_unit_view_new(nl, floats);
    snprintf(v->name, sizeof v->name, "%s", u->name);
    snprintf(v->ops, sizeof v->ops, "%s", u->ops);
    const fr_node *o = &r->fm.g.nodes[u->last];
    snprintf(v->shape, sizeof v->shape, "%dx%dx%d", o->c, o->h, o->w);
    v->method = status == FR_UNIT_PENDING ? FR_METHOD_RTN : s->method;
    v->bits = r->cfg.bits;   /* set below to the layers' width when they agree (first/last layers run at 8) */
    v->status = status;
    v->iter = iter;
    v->iters = s->iters;
    v->n_loss = n_loss;
    if (n_loss) {
        float *L = fr_unit_view_alloc_floats(v, (size_t)n_loss), *R = fr_unit_view_alloc_floats(v, (size_t)n_loss);
        memcpy(L, s->loss, (size_t)n_loss * sizeof(float));
        memcpy(R, s->loss_rec, (size_t)n_loss * sizeof(float));
        v->loss = L;
        v->loss_rec = R;
        if (with_t) {
            float *T = fr_unit_view_alloc_floats(v, (size_t)n_loss);
            memcpy(T, s->loss_t, (size_t)n_loss * sizeof(float));
            v->loss_t = T;
        }
    }
    v->loss_rtn = s->loss_rtn;
    v->loss_before = s->loss_before;
    v->loss_after = status == FR_UNIT_RUNNING ? (n_loss ? s->loss_rec[n_loss - 1] : s->loss_rtn) : s->loss_after;
    v->rel_vs_rtn = v->loss_rtn > 0 ? v->loss_after / v->loss_rtn : 1.0;
    snprintf(v->note, sizeof v->note, "%s", s->note);
    double agg = 0, clip = 0, total = 0;
    for (int l = 0; l < nl; l++) {
        const fr_qlayer *q = &Q[l];
        fr_layer_view *lv = &v->layers[l];
        snprintf(lv->name, sizeof lv->name, "%s", r->fm.g.nodes[u->layers[l]].name);
        lv->o = q->o; lv->i = q->i; lv->kh = q->kh; lv->kw = q->kw;
        lv->n = (int64_t)q->n;
        fr_graph_head_split(&r->fm.g, u->layers[l], &lv->head_rows, &lv->head_cols);
        lv->bits = q->cfg.bits;
        lv->n_s1 = q->ns1;
        float *s1 = fr_unit_view_alloc_floats(v, (size_t)q->ns1);
        memcpy(s1, q->s1, (size_t)q->ns1 * sizeof(float));
        lv->s1 = s1;
        /* the grid the strip needs to show a code's whole computation: o + i + 3 ns1 floats */
        float *s0 = fr_unit_view_alloc_floats(v, (size_t)q->ns1), *lo = fr_unit_view_alloc_floats(v, (size_t)q->ns1),
              *hi = fr_unit_view_alloc_floats(v, (size_t)q->ns1);
        memcpy(s0, q->s1_init, (size_t)q->ns1 * sizeof(float));
        memcpy(lo, q->qlo, (size_t)q->ns1 * sizeof(float));
        memcpy(hi, q->qhi, (size_t)q->ns1 * sizeof(float));
        lv->s1_init = s0;
        lv->qlo = lo;
        lv->qhi = hi;
        if (q->method == FR_METHOD_FLEXROUND && q->d3.n == (size_t)q->o) {
            float *e3 = fr_unit_view_alloc_floats(v, (size_t)q->o);
            for (int r2 = 0; r2 < q->o; r2++) e3[r2] = expf(q->d3.data[r2]);   /* as the quantizer forms it */
            lv->s3 = e3;
            if (q->d4.n == (size_t)q->i) {
                float *e4 = fr_unit_view_alloc_floats(v, (size_t)q->i);
                for (int j = 0; j < q->i; j++) e4[j] = expf(q->d4.data[j]);
                lv->s4 = e4;
            }
        }
        lv->w = array_copy(v, q, FR_QA_W);
        if (q->method == FR_METHOD_FLEXROUND) {
            lv->s2 = array_copy(v, q, FR_QA_S2);
            lv->s_comb = array_copy(v, q, FR_QA_SCOMB);
            lv->grad_s2 = array_copy(v, q, FR_QA_GRAD_S2);
        }
        lv->u = array_copy(v, q, FR_QA_U1);
        float *code = array_copy(v, q, FR_QA_CODE), *rtn = array_copy(v, q, FR_QA_RTN_CODE);
        remove_zp(q, code);
        remove_zp(q, rtn);
        lv->code = code;
        lv->rtn_code = rtn;
        lv->shift = array_copy(v, q, FR_QA_SHIFT);
        if (q->method == FR_METHOD_ADAROUND && q->V.n) {
            float *h = fr_unit_view_alloc_floats(v, q->n);
            for (size_t t = 0; t < q->n; t++) h[t] = fr_qada_h(q->V.data[t]);
            lv->h = h;
        }
        uint8_t *cls = (uint8_t *)fr_unit_view_alloc_floats(v, (q->n + sizeof(float) - 1) / sizeof(float));
        if (fr_qlayer_classes(q, cls) != FR_OK) memset(cls, FR_WC_INSIDE, q->n);
        lv->cls = cls;
        fill_stats(q, &lv->st);
        agg += lv->st.aggressive * (double)q->n;
        clip += lv->st.clipped * (double)q->n;
        total += (double)q->n;
    }
    v->aggressive = total > 0 ? agg / total : 0;
    v->clipped = total > 0 ? clip / total : 0;
    int lo, hi;
    fr_unit_view_bits(v, &lo, &hi);
    if (nl > 0 && lo == hi) v->bits = lo;
    for (int m = 0; m < FR_METHOD__COUNT; m++) {
        v->alt[m] = s->alt[m];
        fr_unit_view_retain(s->alt[m]);
    }
    return v;
}
