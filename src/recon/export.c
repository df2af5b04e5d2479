/* export.c — quantized .frm / safetensors export of a checkpoint, and PNG export of views.
 * Contract in include/frtui/export.h; file layouts in docs/FORMAT.md.
 *
 * Design note: the quantized weights come from a replay engine (fr_recon_state_restore with
 * replay_only = 1), whose results are rebuilt from the checkpoint's codes and scales exactly as
 * fr_qlayer_finalize computes them (Ŵ = s1·c in float), so the exported bundle evaluates to the
 * same logits the run's quantized accuracy was measured on (same graph, same batch of 64).
 */
#include "frtui/export.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/frm.h"
#include "frtui/pngplot.h"
#include "frtui/recon.h"
#include "frtui/sb.h"

static fr_recon *replay_engine(const fr_ckpt *c, const fr_model *m, fr_err *e)
{
    if (fr_ckpt_check_model(c, m, c->src[0] ? c->src : m->meta.name, e)) return NULL;
    fr_recon *r = fr_recon_new(m, &c->cfg, e);
    if (!r) return NULL;
    if (fr_recon_state_restore(r, c, 1, e)) { fr_ckpt_prefix_error(e, c); fr_recon_free(r); return NULL; }
    return r;
}

void fr_export_model_free(fr_model *out)
{
    fr_graph_free(&out->g);
    free(out->quant_json);
    memset(out, 0, sizeof *out);
}

int fr_export_model(const fr_ckpt *c, const fr_model *m, fr_model *out, double *acc_q, fr_err *e)
{
    memset(out, 0, sizeof *out);
    if (acc_q) *acc_q = -1;
    fr_recon *r = replay_engine(c, m, e);
    if (!r) return e->code;
    const fr_model *fm = fr_recon_model(r);
    const fr_partition *p = fr_recon_partition(r);
    out->meta = m->meta;
    out->calib = m->calib;
    out->eval = m->eval;
    fr_graph_copy(&out->g, &fm->g);
    fr_sb j = {0};
    fr_sb_printf(&j, "{\"format\": \"frtui-quant\", \"version\": 1, \"model\": ");
    fr_sb_json_str(&j, m->meta.name);
    fr_sb_printf(&j, ", \"method\": \"%s\", \"bits\": %d, \"first_last_bits\": %d, \"act_bits\": %d, \"seed\": %llu, "
              "\"scheme\": \"%s\", \"granularity\": \"%s\", \"codes_encoding\": \"f32-integers\",\n \"layers\": [",
              fr_method_name(c->cfg.method), c->cfg.bits, c->cfg.first_last_bits, c->cfg.act_bits,
              (unsigned long long)c->cfg.seed, c->cfg.symmetric ? "symmetric" : "asymmetric",
              c->cfg.per_channel ? "per-channel" : "per-tensor");
    int first = 1;
    for (int k = 0; k < p->n; k++) {
        int nl;
        const fr_layer_result *res = fr_recon_results(r, k, &nl);
        if (!res) continue;
        for (int l = 0; l < nl; l++) {
            const fr_layer_result *L = &res[l];
            const fr_node *nd = &out->g.nodes[L->node];
            fr_tensor *W = &out->g.tensors[nd->param[0]];
            FR_ASSERT(fr_tensor_numel(W) == L->n);
            memcpy(W->data, L->w_hat, (size_t)L->n * sizeof(float));
            char qn[FR_NAME_MAX + 16];
            snprintf(qn, sizeof qn, "%s.qcodes", L->name);
            if (strlen(qn) >= FR_NAME_MAX) snprintf(qn, sizeof qn, "q%d.qcodes", L->node);
            int64_t dim[4] = {W->dim[0], W->dim[1], W->dim[2], W->dim[3]};
            int ndim = W->ndim;
            int t = fr_graph_add_tensor(&out->g, qn, ndim, dim);
            fr_tensor *Q = &out->g.tensors[t];
            for (int64_t q = 0; q < L->n; q++) Q->data[q] = (float)L->code[q];
            fr_sb_printf(&j, "%s\n  {\"name\": ", first ? "" : ",");
            first = 0;
            fr_sb_json_str(&j, L->name);
            fr_sb_printf(&j, ", \"node\": %d, \"unit\": ", L->node);
            fr_sb_json_str(&j, p->units[k].name);
            fr_sb_printf(&j, ", \"method\": \"%s\", \"bits\": %d, \"scheme\": \"%s\", \"codes\": ",
                      fr_method_name((fr_method)c->units[k].method), L->bits, c->cfg.symmetric ? "symmetric" : "asymmetric");
            fr_sb_json_str(&j, qn);
            fr_sb_printf(&j, ", \"s1\": [");
            for (int g = 0; g < L->ns1; g++) fr_sb_printf(&j, "%s%.9g", g ? ", " : "", (double)L->s1[g]);
            fr_sb_printf(&j, "], \"zp\": [");
            for (int g = 0; g < L->ns1; g++) fr_sb_printf(&j, "%s%.9g", g ? ", " : "", (double)L->zp[g]);
            fr_sb_printf(&j, "]}");
        }
    }
    fr_sb_printf(&j, "]");
    if (c->n_aq) {
        fr_sb_printf(&j, ",\n \"act_quant\": [");
        for (int a = 0; a < c->n_aq; a++) {
            fr_sb_printf(&j, "%s{\"node\": ", a ? ", " : "");
            fr_sb_json_str(&j, fm->g.nodes[c->aq[a].node].name);
            fr_sb_printf(&j, ", \"bits\": %d, \"step\": %.9g, \"zp\": %.9g}", c->aq[a].aq.bits, (double)c->aq[a].aq.s,
                      (double)c->aq[a].aq.zp);
        }
        fr_sb_printf(&j, "]");
    }
    fr_sb_printf(&j, "}\n");
    out->quant_json = j.p;
    int rc = FR_OK;
    if (acc_q && m->eval.n > 0 && m->eval.labels) rc = fr_recon_accuracy(r, 1, 0, acc_q, e);
    fr_recon_free(r);
    if (rc) fr_export_model_free(out);
    return rc;
}

int fr_export_frm(const fr_ckpt *c, const fr_model *m, const char *path, double *acc_q, fr_err *e)
{
    fr_model out;
    int rc = fr_export_model(c, m, &out, acc_q, e);
    if (rc) return rc;
    rc = fr_frm_write(path, &out, 1, e);
    fr_export_model_free(&out);
    return rc;
}

/* ---- safetensors --------------------------------------------------------------------------- */

int fr_export_safetensors(const fr_ckpt *c, const fr_model *m, const char *path, fr_err *e)
{
    /* Straight from the checkpoint: no engine needed, but the bundle must match. */
    if (fr_ckpt_check_model(c, m, c->src[0] ? c->src : m->meta.name, e)) return e->code;
    fr_sb h = {0};
    size_t off = 0;
    int any = 0;
    fr_sb_printf(&h, "{\"__metadata__\":{\"format\":\"frtui-qcodes\",\"method\":\"%s\",\"bits\":\"%d\",\"act_bits\":\"%d\","
              "\"seed\":\"%llu\",\"granularity\":\"%s\",\"scheme\":\"%s\",\"model\":",
              fr_method_name(c->cfg.method), c->cfg.bits, c->cfg.act_bits, (unsigned long long)c->cfg.seed,
              c->cfg.per_channel ? "per-channel" : "per-tensor", c->cfg.symmetric ? "symmetric" : "asymmetric");
    fr_sb_json_str(&h, m->meta.name);
    fr_sb_printf(&h, "}");
    for (int pass = 0; pass < 1; pass++)
        for (int k = 0; k < c->n_units; k++) {
            const fr_ckpt_unit *U = &c->units[k];
            if (k == c->cur_unit || U->status == FR_UNIT_PENDING) continue;
            for (int l = 0; l < U->n_layers; l++) {
                const fr_ckpt_layer *L = &U->layers[l];
                if (!L->has_result) continue;
                any = 1;
                int sym = L->zp[0] == 0 && c->cfg.symmetric;
                fr_sb_printf(&h, ",");
                char nm[128];
                snprintf(nm, sizeof nm, "%s.qcodes", L->name);
                fr_sb_json_str(&h, nm);
                if (L->kh == 1 && L->kw == 1 && !L->is_conv)
                    fr_sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}", sym ? "I8" : "U8", L->o,
                              L->i, off, off + (size_t)L->n);
                else
                    fr_sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[%d,%d,%d,%d],\"data_offsets\":[%zu,%zu]}", sym ? "I8" : "U8",
                              L->o, L->i, L->kh, L->kw, off, off + (size_t)L->n);
                off += (size_t)L->n;
                snprintf(nm, sizeof nm, "%s.scale", L->name);
                fr_sb_printf(&h, ",");
                fr_sb_json_str(&h, nm);
                fr_sb_printf(&h, ":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}", L->ns1, off,
                          off + 4 * (size_t)L->ns1);
                off += 4 * (size_t)L->ns1;
                snprintf(nm, sizeof nm, "%s.zero_point", L->name);
                fr_sb_printf(&h, ",");
                fr_sb_json_str(&h, nm);
                fr_sb_printf(&h, ":{\"dtype\":\"I32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}", L->ns1, off,
                          off + 4 * (size_t)L->ns1);
                off += 4 * (size_t)L->ns1;
            }
        }
    fr_sb_printf(&h, "}");
    if (!any) { free(h.p); return fr_err_set(e, FR_EINPUT, "%s: no finished unit to export", path); }
    while (h.n % 8) fr_sb_printf(&h, " ");
    fr_atomic a;
    if (fr_atomic_open(&a, path, e)) { free(h.p); return e->code; }
    uint64_t hl = h.n;
    fwrite(&hl, 8, 1, a.f);
    fwrite(h.p, 1, h.n, a.f);
    free(h.p);
    for (int k = 0; k < c->n_units; k++) {
        const fr_ckpt_unit *U = &c->units[k];
        if (k == c->cur_unit || U->status == FR_UNIT_PENDING) continue;
        for (int l = 0; l < U->n_layers; l++) {
            const fr_ckpt_layer *L = &U->layers[l];
            if (!L->has_result) continue;
            uint8_t *b = fr_xmalloc((size_t)L->n);
            for (int64_t q = 0; q < L->n; q++) b[q] = (uint8_t)(int8_t)L->code[q];  /* I8 two's complement or U8 */
            fwrite(b, 1, (size_t)L->n, a.f);
            free(b);
            fwrite(L->s1, 4, (size_t)L->ns1, a.f);
            for (int g = 0; g < L->ns1; g++) { int32_t z = (int32_t)L->zp[g]; fwrite(&z, 4, 1, a.f); }
        }
    }
    return fr_atomic_commit(&a, e);
}

/* ---- PNG views ----------------------------------------------------------------------------- */

static void title_of(const fr_snapshot *s, const fr_unit_view *v, const fr_layer_view *lv, char *buf, size_t n)
{
    if (lv)
        snprintf(buf, n, "%s / %s (%s) / %s / W%d / it %d", s->info.model, v->name, lv->name, fr_method_name(v->method),
                 lv->bits, v->iter);
    else
        snprintf(buf, n, "%s / %s / %s / W%d / it %d", s->info.model, v->name, fr_method_name(v->method), v->bits, v->iter);
}

static int scatter_in(const fr_layer_view *lv, fr_scatter_in *in, float **xbuf, const char *title, fr_err *e)
{
    if (!lv->w || !lv->shift) return fr_err_set(e, FR_EINPUT, "layer %s has no weight/shift arrays", lv->name);
    float *x = fr_xmalloc((size_t)lv->n * sizeof(float));
    for (int64_t k = 0; k < lv->n; k++) x[k] = fabsf(lv->w[k]);
    memset(in, 0, sizeof *in);
    in->x = x;
    in->y = lv->shift;
    in->n = (size_t)lv->n;
    in->title = title;
    in->xlabel = "|W|";
    *xbuf = x;
    return FR_OK;
}

int fr_export_png_view_ex(const fr_snapshot *s, int unit, int layer, const char *view, const char *path, fr_err *e)
{
    if (unit < 0 || unit >= s->n_units || !s->units[unit])
        return fr_err_set(e, FR_EINPUT, "unit %d is out of range (0..%d)", unit, s->n_units - 1);
    const fr_unit_view *v = s->units[unit];
    if (layer < 0 || layer >= FR_MAX(v->n_layers, 1))
        return fr_err_set(e, FR_EINPUT, "unit %s: layer %d is out of range (0..%d)", v->name, layer, v->n_layers - 1);
    const fr_layer_view *lv = v->n_layers ? &v->layers[layer] : NULL;
    char title[512];
    int rc;
    if (strcmp(view, "heatmap") == 0) {
        if (!lv) return fr_err_set(e, FR_EINPUT, "unit %s has no layers", v->name);
        title_of(s, v, lv, title, sizeof title);
        const float *S = lv->s_comb ? lv->s_comb : lv->s2;
        if (!S)
            return fr_err_set(e, FR_EINPUT, "unit %s: heatmap shows FlexRound's learned scales; this unit is %s", v->name,
                              fr_method_name(v->method));
        fr_heatmap_in in = {S, lv->o, (int)(lv->n / lv->o), 0, title, NULL, NULL};
        rc = fr_pngplot_heatmap(path, &in, e);
    } else if (strcmp(view, "scatter") == 0) {
        if (!lv) return fr_err_set(e, FR_EINPUT, "unit %s has no layers", v->name);
        title_of(s, v, lv, title, sizeof title);
        fr_scatter_in in;
        float *x = NULL;
        if ((rc = scatter_in(lv, &in, &x, title, e))) return rc;
        rc = fr_pngplot_scatter(path, &in, e);
        free(x);
    } else if (strcmp(view, "loss") == 0) {
        title_of(s, v, NULL, title, sizeof title);
        if (v->n_loss == 0) return fr_err_set(e, FR_EINPUT, "unit %s has no loss history yet", v->name);
        fr_loss_in in = {v->loss, NULL, (size_t)v->n_loss, 0.9f, 1, title, "reconstruction loss"};
        rc = fr_pngplot_loss(path, &in, e);
    } else if (strcmp(view, "hist") == 0) {
        title_of(s, v, NULL, title, sizeof title);
        if (!v->n_layers) return fr_err_set(e, FR_EINPUT, "unit %s has no layers", v->name);
        float edges[FR_SHIFT_BINS + 1];
        for (int b = 0; b <= FR_SHIFT_BINS; b++) edges[b] = -FR_SHIFT_RANGE + 2 * FR_SHIFT_RANGE * (float)b / FR_SHIFT_BINS;
        fr_hist_series ser[FR_HIST_MAX_SERIES];
        int ns = FR_MIN(v->n_layers, FR_HIST_MAX_SERIES);
        for (int l = 0; l < ns; l++)
            ser[l] = (fr_hist_series){edges, v->layers[l].st.shift_hist, FR_SHIFT_BINS, v->layers[l].name};
        fr_hist_in in = {ser, ns, 1, title, "rounding shift (grid units)", "weights"};
        rc = fr_pngplot_hist(path, &in, e);
    } else if (strcmp(view, "compare") == 0) {
        if (!lv) return fr_err_set(e, FR_EINPUT, "unit %s has no layers", v->name);
        for (int m = 0; m < FR_METHOD__COUNT; m++)
            if (!v->alt[m] || v->alt[m]->n_layers <= layer)
                return fr_err_set(e, FR_EINPUT, "unit %s: no %s result to compare; run compare first", v->name,
                                  fr_method_name((fr_method)m));
        fr_scatter_in panels[3];
        float *xs[3] = {0};
        char sub[3][160];
        rc = FR_OK;
        for (int m = 0; m < 3 && !rc; m++) {
            snprintf(sub[m], sizeof sub[m], "%s", fr_method_name((fr_method)m));
            rc = scatter_in(&v->alt[m]->layers[layer], &panels[m], &xs[m], sub[m], e);
        }
        title_of(s, v, lv, title, sizeof title);
        if (!rc) rc = fr_pngplot_compare(path, panels, title, e);
        for (int m = 0; m < 3; m++) free(xs[m]);
    } else {
        return fr_err_set(e, FR_EINPUT, "unknown view '%s' (heatmap, scatter, loss, hist, compare)", view);
    }
    return rc;
}

int fr_export_png_view(const fr_snapshot *s, int unit, const char *view, const char *path, fr_err *e)
{
    return fr_export_png_view_ex(s, unit, 0, view, path, e);
}
