/* export_run.c — all-or-nothing multi-target export; contract in include/frtui/export_run.h. */
#include "frtui/export_run.h"

#include <stdio.h>
#include <stdlib.h>

#include "frtui/export_gguf.h"
#include "frtui/export_model.h"
#include "frtui/export_onnx.h"
#include "frtui/export_st.h"
#include "frtui/outset.h"
#include "frtui/recon_ckpt.h"

/* What a user comparing with llama.cpp needs to know: which tensors are blocks, which stayed
 * F32 and why, and how far fp16 block scales moved any weight. */
static void gguf_table(const char *path, const fr_gguf_report *r)
{
    printf("%s: GGUF for llama.cpp, %d blocks, vocabulary %d%s, %.1f MB\n", path, r->blocks, r->vocab,
           r->byte_vocab ? " (byte tokenizer: text in, its bytes as ids)" : " (no tokenizer: token ids only)", (double)r->bytes / 1e6);
    int nq = 0;
    double worst = 0;
    for (int i = 0; i < r->n; i++) {
        const fr_gguf_tinfo *t = &r->t[i];
        if (!t->bits) continue;
        nq++;
        if (t->type == FR_GGML_F32) {
            printf("  %-28s F32   %d-bit codes not expressible as blocks (%s): dequantised values, exact\n", t->name,
                   t->bits, t->why);
            continue;
        }
        double rel = t->max_abs > 0 ? t->max_err / t->max_abs : 0;
        if (rel > worst) worst = rel;
        printf("  %-28s %-5s %d-bit codes exact; fp16 scales move a weight by at most %.2e (%.1e of max |W|)\n",
               t->name, fr_ggml_type_name(t->type), t->bits, t->max_err, rel);
    }
    printf("  %d quantized tensors; embedding, norms and full-precision layers are F32", nq);
    if (nq) printf("; worst fp16 scale error %.1e of a tensor's max |W|", worst);
    printf("\n");
}

static void gguf_notes(const fr_ckpt *c, const char *path, const fr_gguf_report *rep)
{
    gguf_table(path, rep);
    if (c && c->cfg.act_bits < 32)
        printf("  note: the run's %d-bit activation quantizers have no GGUF form (llama.cpp quantizes activations its "
               "own way)\n", c->cfg.act_bits);
}

/* *rep is filled on success (free with fr_gguf_report_free). */
static int encode_gguf(const fr_ckpt *c, const fr_model *m, const fr_graph *g, const char *src, fr_gguf_report *rep,
                       uint8_t **out, size_t *n, fr_err *e)
{
    int nql = 0;
    fr_gguf_qlayer *ql = NULL;
    for (int pass = 0; c && pass < 2; pass++) {
        for (int k = 0; k < c->n_units; k++) {
            if (k == c->cur_unit || c->units[k].status == FR_UNIT_PENDING) continue;
            for (int l = 0; l < c->units[k].n_layers; l++) {
                const fr_ckpt_layer *L = &c->units[k].layers[l];
                if (!L->has_result) continue;
                if (pass) ql[nql] = (fr_gguf_qlayer){L->node, L->bits, c->cfg.symmetric, L->ns1, L->s1, L->zp, L->code};
                nql++;
            }
        }
        if (!pass) ql = fr_xcalloc((size_t)(nql ? nql : 1), sizeof *ql), nql = 0;
    }
    char gran[32];
    fr_gguf_meta gm = {0};
    if (c) gm = (fr_gguf_meta){fr_method_name(c->cfg.method), fr_run_granularity(&c->cfg, gran, sizeof gran), c->cfg.bits,
                               c->cfg.act_bits};
    int rc = fr_gguf_encode_llama(g, &m->meta, ql, nql, c ? &gm : NULL, out, n, rep, e);
    free(ql);
    if (rc) {
        char msg[sizeof e->msg];
        snprintf(msg, sizeof msg, "%s", e->msg);
        return fr_err_set(e, rc, "%s: %s", src, msg);
    }
    return FR_OK;
}

int fr_export_gguf_fp(const fr_model *m, const char *src, const char *path, int quiet, fr_err *e)
{
    uint8_t *buf;
    size_t n;
    fr_gguf_report rep;
    int rc = encode_gguf(NULL, m, &m->g, src, &rep, &buf, &n, e);
    if (rc) return rc;
    fr_outfile f = {.path = path, .data = buf, .n = n};
    rc = fr_outset_write(&f, 1, e);
    if (!rc && !quiet) gguf_notes(NULL, path, &rep);
    fr_gguf_report_free(&rep);
    free(buf);
    return rc;
}

int fr_export_run(const fr_ckpt *c, const fr_model *m, const fr_export_req *r, double *acc_q, fr_err *e)
{
    if (acc_q) *acc_q = -1;
    fr_outfile f[4];
    uint8_t *bufs[4] = {0};
    int n = 0, rc = FR_OK, have_q = 0;
    fr_qmodel q;
    fr_gguf_report rep = {0};
    if (r->frm || r->onnx || r->gguf) {
        if ((rc = fr_qmodel_build(c, m, &q, r->frm ? acc_q : NULL, e))) return rc;
        have_q = 1;
    }
    if (!rc && r->frm && !(rc = fr_qmodel_encode_frm(&q, r->frm, &bufs[n], &f[n].n, e))) f[n].path = r->frm, n++;
    if (!rc && r->safetensors && !(rc = fr_export_safetensors_encode(c, m, r->safetensors, &bufs[n], &f[n].n, e)))
        f[n].path = r->safetensors, n++;
    if (!rc && r->onnx && !(rc = fr_export_onnx_encode(&q, r->onnx_source, &bufs[n], &f[n].n, e))) f[n].path = r->onnx, n++;
    /* the folded graph the checkpoint's node indices refer to, with frtui's dequantised weights */
    if (!rc && r->gguf && !(rc = encode_gguf(c, m, &q.g, c->bundle_path[0] ? c->bundle_path : m->meta.name, &rep, &bufs[n], &f[n].n, e))) f[n].path = r->gguf, n++;
    if (have_q) fr_qmodel_free(&q);
    for (int i = 0; i < n; i++) f[i].data = bufs[i];
    if (!rc) rc = fr_outset_write(f, n, e);
    if (!rc && r->gguf && !r->quiet) gguf_notes(c, r->gguf, &rep);
    fr_gguf_report_free(&rep);
    for (int i = 0; i < 4; i++) free(bufs[i]);
    return rc;
}
