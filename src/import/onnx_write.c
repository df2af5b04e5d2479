/* onnx_write.c — fake-quant ONNX export: overwrite weight payloads of an existing ONNX file.
 *
 * Design note
 *   The new values are written *in place, in the tensor's original encoding* (FLOAT raw_data or
 *   float_data, DOUBLE raw_data or double_data, FLOAT16 raw_data).  Element sizes do not change,
 *   so no TensorProto, NodeProto, GraphProto or ModelProto length prefix changes either: the
 *   output differs from the input only in the bytes of the replaced elements.
 *
 *   The caller hands us weights as they are laid out in the *imported graph*.  We re-import the
 *   original file without BN folding to recover, per graph tensor, its ONNX name and the
 *   transformation applied at import (transpose for Gemm transB=0 / MatMul, Gemm alpha/beta
 *   scaling), and which convolutions fr_graph_fold_bn would fold (same criterion as graph.c:
 *   a conv/linear whose only consumer is a BatchNormalization and which is not the last node).
 *   For those the per-output-channel factor gamma/sqrt(var+eps) is divided back out, because
 *   the exported file keeps its BatchNormalization node.  A folded layer's bias cannot be
 *   written back (BN's beta/mean absorbed it) and is refused with a message.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/half.h"
#include "onnx_int.h"

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_val(uint8_t *p, int dt, double v)
{
    if (dt == 1) { float f = (float)v; uint32_t u; memcpy(&u, &f, 4); put_le(p, u, 4); }
    else if (dt == 11) { uint64_t u; memcpy(&u, &v, 8); put_le(p, u, 8); }
    else put_le(p, fr_f32_to_f16((float)v), 2);
}

/* Overwrites the payload of TensorProto [tp, tp+len) (inside the mutable buffer) with v. */
static int patch_tensor(uint8_t *tp, size_t len, const double *v, int64_t n, const char *src, const char *name, fr_err *e)
{
    fr_pb r;
    fr_pb_field f;
    int64_t dt = 0, k = 0;
    fr_pb_init(&r, tp, len);
    while (fr_pb_next(&r, &f) == 1)
        if (f.num == 2 && f.wt == FR_PB_VARINT) dt = (int64_t)f.v;
    if (dt != 1 && dt != 11 && dt != 10)
        return fr_err_set(e, FR_EINPUT, "%s: tensor %s has data type %lld; only FLOAT, DOUBLE and FLOAT16 can be rewritten",
                          src, name, (long long)dt);
    int es = dt == 1 ? 4 : dt == 11 ? 8 : 2;
    int typed = dt == 1 ? 4 : dt == 11 ? 10 : -1;
    fr_pb_init(&r, tp, len);
    while (fr_pb_next(&r, &f) == 1) {
        uint8_t *base = tp + (f.start - tp);
        if (f.num == 9 && f.wt == FR_PB_LEN) {
            if (f.len != (size_t)n * (size_t)es) break;
            uint8_t *p = base + (f.data - f.start);
            for (int64_t i = 0; i < n; i++) put_val(p + (size_t)i * (size_t)es, (int)dt, v[i]);
            k = n;
        } else if ((int)f.num == typed) {
            if (f.wt == FR_PB_LEN) {
                uint8_t *p = base + (f.data - f.start);
                for (size_t o = 0; o + (size_t)es <= f.len && k < n; o += (size_t)es) put_val(p + o, (int)dt, v[k++]);
            } else if (k < n) {
                put_val(base + (f.end - f.start) - es, (int)dt, v[k++]);
            }
        } else if (f.num == 5 && dt == 10) {
            return fr_err_set(e, FR_EINPUT, "%s: tensor %s stores FLOAT16 in int32_data; cannot rewrite in place", src, name);
        }
    }
    if (k != n) return fr_err_set(e, FR_EINPUT, "%s: tensor %s: payload does not hold %lld elements", src, name, (long long)n);
    return FR_OK;
}

/* Finds the TensorProto span of an initializer or Constant-node value named `name`. */
static int find_tensor(const uint8_t *buf, size_t n, const char *name, const uint8_t **tp, size_t *tl)
{
    fr_pb r, rg, rn, ra, rt;
    fr_pb_field f, fg, fn, fa, ft;
    size_t nl = strlen(name);
    fr_pb_init(&r, buf, n);
    while (fr_pb_next(&r, &f) == 1) {
        if (f.num != 7 || f.wt != FR_PB_LEN) continue;
        fr_pb_init(&rg, f.data, f.len);
        while (fr_pb_next(&rg, &fg) == 1) {
            if (fg.wt != FR_PB_LEN) continue;
            if (fg.num == 5) {
                fr_pb_init(&rt, fg.data, fg.len);
                int hit = 0;
                while (fr_pb_next(&rt, &ft) == 1)
                    if (ft.num == 8 && ft.wt == FR_PB_LEN) hit = ft.len == nl && !memcmp(ft.data, name, nl);
                if (hit) { *tp = fg.data; *tl = fg.len; return 1; }
            } else if (fg.num == 1) {
                int is_const = 0, out_hit = 0, nout = 0;
                const uint8_t *vt = NULL;
                size_t vl = 0;
                fr_pb_init(&rn, fg.data, fg.len);
                while (fr_pb_next(&rn, &fn) == 1) {
                    if (fn.wt != FR_PB_LEN) continue;
                    if (fn.num == 4) is_const = fn.len == 8 && !memcmp(fn.data, "Constant", 8);
                    if (fn.num == 2 && nout++ == 0) out_hit = fn.len == nl && !memcmp(fn.data, name, nl);
                    if (fn.num == 5) {
                        int is_value = 0;
                        const uint8_t *t = NULL;
                        size_t tlen = 0;
                        fr_pb_init(&ra, fn.data, fn.len);
                        while (fr_pb_next(&ra, &fa) == 1) {
                            if (fa.num == 1 && fa.wt == FR_PB_LEN) is_value = fa.len == 5 && !memcmp(fa.data, "value", 5);
                            if (fa.num == 5 && fa.wt == FR_PB_LEN) { t = fa.data; tlen = fa.len; }
                        }
                        if (is_value && t) { vt = t; vl = tlen; }
                    }
                }
                if (is_const && out_hit && vt) { *tp = vt; *tl = vl; return 1; }
            }
        }
    }
    return 0;
}

int fr_onnx_rewrite_weights(const char *in_path, const char *out_path, const char *const *names,
                            const float *const *data, const int64_t *numel, int n, fr_err *e)
{
    uint8_t *buf;
    size_t len;
    int rc = fr_onnx_rewrite_weights_mem(in_path, names, data, numel, n, &buf, &len, e);
    if (rc) return rc;
    rc = fr_atomic_write(out_path, buf, len, e);
    free(buf);
    return rc;
}

int fr_onnx_rewrite_weights_mem(const char *in_path, const char *const *names, const float *const *data,
                                const int64_t *numel, int n, uint8_t **out, size_t *out_n, fr_err *e)
{
    return fr_onnx_rewrite_weights_mem_shaped(in_path, NULL, names, data, numel, n, out, out_n, e);
}

int fr_onnx_rewrite_weights_mem_shaped(const char *in_path, const fr_onnx_shape *shape, const char *const *names,
                                       const float *const *data, const int64_t *numel, int n, uint8_t **out,
                                       size_t *out_n, fr_err *e)
{
    *out = NULL;
    *out_n = 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = fr_read_file(in_path, FR_ONNX_MAX_FILE, &buf, &len, e);
    if (rc) return rc;
    fr_model m;
    ox_arena ar = {0};
    ox_origin *orig = NULL;
    int norig = 0;
    rc = ox_import(buf, len, in_path, shape, &m, 0, &ar, &orig, &norig, e);
    if (rc) { free(buf); return rc; }
    fr_graph *g = &m.g;
    /* BN folding factors per weight tensor (mirrors fr_graph_fold_bn's criterion). */
    int *uses = fr_xcalloc((size_t)g->n_nodes, sizeof(int)), *fold_bn = fr_xcalloc((size_t)g->n_tensors + 1, sizeof(int));
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) uses[g->nodes[i].in[k]]++;
    for (int t = 0; t < g->n_tensors; t++) fold_bn[t] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const fr_node *b = &g->nodes[i];
        if (b->op != FR_OP_BN || b->n_in != 1) continue;
        const fr_node *p = &g->nodes[b->in[0]];
        if (!fr_node_is_layer(p) || uses[b->in[0]] != 1 || b->in[0] == g->n_nodes - 1) continue;
        fold_bn[p->param[0]] = i;
        if (p->param[1] >= 0) fold_bn[p->param[1]] = -2 - i;
    }
    double *v = NULL;
    for (int q = 0; q < n && rc == FR_OK; q++) {
        int t = fr_graph_find_tensor(g, names[q]);
        if (t < 0 || t >= norig) { rc = fr_err_set(e, FR_EINPUT, "%s: %s is not a weight of this ONNX model (tensors created by "
                                                   "BN folding have no ONNX counterpart)", in_path, names[q]); break; }
        const ox_origin *o = &orig[t];
        const fr_tensor *T = &g->tensors[t];
        int64_t cnt = fr_tensor_numel(T);
        if (!o->onnx) { rc = fr_err_set(e, FR_EINPUT, "%s: %s was synthesised at import and cannot be written back", in_path, names[q]); break; }
        if (numel[q] != cnt) { rc = fr_err_set(e, FR_EINPUT, "%s: %s has %lld values, %lld given", in_path, names[q], (long long)cnt, (long long)numel[q]); break; }
        if (fold_bn[t] <= -2) { rc = fr_err_set(e, FR_EINPUT, "%s: %s is the bias of a BN-folded layer; export weights only", in_path, names[q]); break; }
        free(v);
        v = fr_xmalloc((size_t)(cnt ? cnt : 1) * sizeof(double));
        for (int64_t k = 0; k < cnt; k++) v[k] = data[q][k];
        if (fold_bn[t] >= 0) {
            const fr_node *b = &g->nodes[fold_bn[t]];
            int64_t O = T->dim[0], per = cnt / O;
            const float *gam = g->tensors[b->param[0]].data, *var = g->tensors[b->param[3]].data;
            for (int64_t c = 0; c < O; c++) {
                double sc = (double)gam[c] / sqrt((double)var[c] + (double)b->a.eps);
                if (sc == 0) { rc = fr_err_set(e, FR_EINPUT, "%s: %s: BN scale is zero for channel %lld", in_path, names[q], (long long)c); break; }
                for (int64_t k = 0; k < per; k++) v[c * per + k] /= sc;
            }
            if (rc) break;
        }
        double *w = fr_xmalloc((size_t)(cnt ? cnt : 1) * sizeof(double));
        if (o->transposed) {   /* graph [O, I]; ONNX [rows = I, cols = O] */
            for (int64_t r = 0; r < o->rows; r++)
                for (int64_t c = 0; c < o->cols; c++) w[r * o->cols + c] = v[c * o->rows + r] / o->scale;
        } else {
            for (int64_t k = 0; k < cnt; k++) w[k] = v[k] / o->scale;
        }
        const uint8_t *tp;
        size_t tl;
        if (!find_tensor(buf, len, o->onnx, &tp, &tl))
            rc = fr_err_set(e, FR_EINPUT, "%s: %s is not an initializer or Constant node (it was computed at import)", in_path, o->onnx);
        else
            rc = patch_tensor(buf + (tp - buf), tl, w, cnt, in_path, o->onnx, e);
        free(w);
    }
    free(v);
    free(uses);
    free(fold_bn);
    fr_model_free(&m);
    ox_arena_free(&ar);
    if (rc == FR_OK) { *out = buf; *out_n = len; }
    else free(buf);
    return rc;
}
