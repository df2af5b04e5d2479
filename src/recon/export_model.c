/* export_model.c — the quantized model of a checkpoint (fr_qmodel) and its .frm bundle.
 * Contract in include/frtui/export_model.h; bundle layout in docs/FORMAT.md.
 *
 * Design note: the quantized weights come from a replay engine (fr_recon_state_restore with
 * replay_only = 1), whose results are rebuilt from the checkpoint's codes and scales exactly as
 * fr_qlayer_finalize computes them (Ŵ = s1·c in float), so the exported bundle evaluates to the
 * same logits the run's quantized accuracy was measured on (same graph, same batch of 64).
 * An fr_qmodel owns only what it made (graph, JSON); meta and datasets stay the source
 * bundle's and are lent to the .frm writer through a shallow fr_model that is never freed.
 */
#include "frtui/export_model.h"

#include <stdlib.h>
#include <string.h>

#include "frtui/frm.h"
#include "frtui/recon.h"
#include "frtui/recon_ckpt.h"
#include "frtui/sb.h"

static fr_recon *replay_engine(const fr_ckpt *c, const fr_model *m, fr_err *e)
{
    if (fr_ckpt_check_model(c, m, c->src[0] ? c->src : m->meta.name, e)) return NULL;
    fr_recon *r = fr_recon_new(m, &c->cfg, e);
    if (!r) return NULL;
    if (fr_recon_state_restore(r, c, 1, e)) { fr_ckpt_prefix_error(e, c); fr_recon_free(r); return NULL; }
    return r;
}

void fr_qmodel_free(fr_qmodel *q)
{
    fr_graph_free(&q->g);
    free(q->quant_json);
    memset(q, 0, sizeof *q);
}

int fr_qmodel_build(const fr_ckpt *c, const fr_model *m, fr_qmodel *out, double *acc_q, fr_err *e)
{
    memset(out, 0, sizeof *out);
    if (acc_q) *acc_q = -1;
    fr_recon *r = replay_engine(c, m, e);
    if (!r) return e->code;
    const fr_model *fm = fr_recon_model(r);
    const fr_partition *p = fr_recon_partition(r);
    out->src = m;
    fr_graph_copy(&out->g, &fm->g);
    fr_sb j = {0};
    char gran[32];
    fr_sb_printf(&j, "{\"format\": \"frtui-quant\", \"version\": 1, \"model\": ");
    fr_sb_json_str(&j, m->meta.name);
    fr_sb_printf(&j, ", \"method\": \"%s\", \"bits\": %d, \"first_last_bits\": %d, \"act_bits\": %d, \"seed\": %llu, "
              "\"scheme\": \"%s\", \"granularity\": \"%s\", \"codes_encoding\": \"f32-integers\",\n \"layers\": [",
              fr_method_name(c->cfg.method), c->cfg.bits, c->cfg.first_last_bits, c->cfg.act_bits,
              (unsigned long long)c->cfg.seed, c->cfg.symmetric ? "symmetric" : "asymmetric",
              fr_run_granularity(&c->cfg, gran, sizeof gran));
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
    if (first) {   /* a bundle with no quantized layer is not a quantized model */
        free(j.p);
        fr_recon_free(r);
        fr_qmodel_free(out);
        return fr_err_set(e, FR_EINPUT, "%s: no finished unit to export (the run stopped before its first unit ended)",
                          c->src[0] ? c->src : m->meta.name);
    }
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
    if (rc) fr_qmodel_free(out);
    return rc;
}

/* The bundle a quantized model is written as: its own graph and JSON, the source's meta and
 * datasets.  A shallow view, never freed: nothing here is owned by it. */
static fr_model bundle_view(const fr_qmodel *q)
{
    fr_model v;
    fr_model_init(&v);
    v.meta = q->src->meta;
    v.calib = q->src->calib;
    v.eval = q->src->eval;
    v.g = q->g;
    v.quant_json = q->quant_json;
    return v;
}

int fr_qmodel_encode_frm(const fr_qmodel *q, const char *path, uint8_t **out, size_t *out_n, fr_err *e)
{
    fr_model v = bundle_view(q);
    fr_err sub;
    fr_err_clear(&sub);
    int rc = fr_frm_write_mem(&v, 1, out, out_n, &sub);
    if (rc) return fr_err_set(e, rc, "%s: %s", path, sub.msg);
    return FR_OK;
}

int fr_export_frm(const fr_ckpt *c, const fr_model *m, const char *path, double *acc_q, fr_err *e)
{
    fr_qmodel q;
    int rc = fr_qmodel_build(c, m, &q, acc_q, e);
    if (rc) return rc;
    fr_model v = bundle_view(&q);
    rc = fr_frm_write(path, &v, 1, e);
    fr_qmodel_free(&q);
    return rc;
}
