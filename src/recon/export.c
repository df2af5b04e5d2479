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
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/frm.h"
#include "frtui/plotmodel.h"
#include "frtui/recon.h"

typedef struct sbuf { char *p; size_t n, cap; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->n;
        int k = vsnprintf(b->p ? b->p + b->n : NULL, room, fmt, ap);
        va_end(ap);
        FR_ASSERT(k >= 0);
        if ((size_t)k < room) { b->n += (size_t)k; return; }
        b->cap = (b->cap + (size_t)k + 1) * 2;
        b->p = fr_xrealloc(b->p, b->cap);
    }
}

/* JSON string body: names come from bundles, so escape what JSON requires. */
static void sb_json_str(sbuf *b, const char *s)
{
    sb_printf(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') sb_printf(b, "\\%c", ch);
        else if (ch < 0x20) sb_printf(b, "\\u%04x", ch);
        else sb_printf(b, "%c", ch);
    }
    sb_printf(b, "\"");
}

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
    sbuf j = {0};
    sb_printf(&j, "{\"format\": \"frtui-quant\", \"version\": 1, \"model\": ");
    sb_json_str(&j, m->meta.name);
    sb_printf(&j, ", \"method\": \"%s\", \"bits\": %d, \"first_last_bits\": %d, \"act_bits\": %d, \"seed\": %llu, "
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
            sb_printf(&j, "%s\n  {\"name\": ", first ? "" : ",");
            first = 0;
            sb_json_str(&j, L->name);
            sb_printf(&j, ", \"node\": %d, \"unit\": ", L->node);
            sb_json_str(&j, p->units[k].name);
            sb_printf(&j, ", \"method\": \"%s\", \"bits\": %d, \"scheme\": \"%s\", \"codes\": ",
                      fr_method_name((fr_method)c->units[k].method), L->bits, c->cfg.symmetric ? "symmetric" : "asymmetric");
            sb_json_str(&j, qn);
            sb_printf(&j, ", \"s1\": [");
            for (int g = 0; g < L->ns1; g++) sb_printf(&j, "%s%.9g", g ? ", " : "", (double)L->s1[g]);
            sb_printf(&j, "], \"zp\": [");
            for (int g = 0; g < L->ns1; g++) sb_printf(&j, "%s%.9g", g ? ", " : "", (double)L->zp[g]);
            sb_printf(&j, "]}");
        }
    }
    sb_printf(&j, "]");
    if (c->n_aq) {
        sb_printf(&j, ",\n \"act_quant\": [");
        for (int a = 0; a < c->n_aq; a++) {
            sb_printf(&j, "%s{\"node\": ", a ? ", " : "");
            sb_json_str(&j, fm->g.nodes[c->aq[a].node].name);
            sb_printf(&j, ", \"bits\": %d, \"step\": %.9g, \"zp\": %.9g}", c->aq[a].aq.bits, (double)c->aq[a].aq.s,
                      (double)c->aq[a].aq.zp);
        }
        sb_printf(&j, "]");
    }
    sb_printf(&j, "}\n");
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
    sbuf h = {0};
    size_t off = 0;
    int any = 0;
    sb_printf(&h, "{\"__metadata__\":{\"format\":\"frtui-qcodes\",\"method\":\"%s\",\"bits\":\"%d\",\"act_bits\":\"%d\","
              "\"seed\":\"%llu\",\"granularity\":\"%s\",\"scheme\":\"%s\",\"model\":",
              fr_method_name(c->cfg.method), c->cfg.bits, c->cfg.act_bits, (unsigned long long)c->cfg.seed,
              c->cfg.per_channel ? "per-channel" : "per-tensor", c->cfg.symmetric ? "symmetric" : "asymmetric");
    sb_json_str(&h, m->meta.name);
    sb_printf(&h, "}");
    for (int pass = 0; pass < 1; pass++)
        for (int k = 0; k < c->n_units; k++) {
            const fr_ckpt_unit *U = &c->units[k];
            if (k == c->cur_unit || U->status == FR_UNIT_PENDING) continue;
            for (int l = 0; l < U->n_layers; l++) {
                const fr_ckpt_layer *L = &U->layers[l];
                if (!L->has_result) continue;
                any = 1;
                int sym = L->zp[0] == 0 && c->cfg.symmetric;
                sb_printf(&h, ",");
                char nm[128];
                snprintf(nm, sizeof nm, "%s.qcodes", L->name);
                sb_json_str(&h, nm);
                if (L->kh == 1 && L->kw == 1 && !L->is_conv)
                    sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}", sym ? "I8" : "U8", L->o,
                              L->i, off, off + (size_t)L->n);
                else
                    sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[%d,%d,%d,%d],\"data_offsets\":[%zu,%zu]}", sym ? "I8" : "U8",
                              L->o, L->i, L->kh, L->kw, off, off + (size_t)L->n);
                off += (size_t)L->n;
                snprintf(nm, sizeof nm, "%s.scale", L->name);
                sb_printf(&h, ",");
                sb_json_str(&h, nm);
                sb_printf(&h, ":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}", L->ns1, off,
                          off + 4 * (size_t)L->ns1);
                off += 4 * (size_t)L->ns1;
                snprintf(nm, sizeof nm, "%s.zero_point", L->name);
                sb_printf(&h, ",");
                sb_json_str(&h, nm);
                sb_printf(&h, ":{\"dtype\":\"I32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}", L->ns1, off,
                          off + 4 * (size_t)L->ns1);
                off += 4 * (size_t)L->ns1;
            }
        }
    sb_printf(&h, "}");
    if (!any) { free(h.p); return fr_err_set(e, FR_EINPUT, "%s: no finished unit to export", path); }
    while (h.n % 8) sb_printf(&h, " ");
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

/* The plot model (src/view/plotmodel.c) decides ranges, smoothing, axes and classes; without
 * a panel the view's start-up state is used, the same as a fresh inspector shows. */
int fr_export_png_view_ex(const fr_snapshot *s, int unit, int layer, const char *view, const char *path, fr_err *e)
{
    return fr_plot_export_png(s, unit, layer, view, NULL, path, e);
}

int fr_export_png_view(const fr_snapshot *s, int unit, const char *view, const char *path, fr_err *e)
{
    return fr_export_png_view_ex(s, unit, 0, view, path, e);
}
