/* onnx_tensor.c — ONNX TensorProto decoding into import-time constants, and the fr tensors the
 * importer adds (onnx_int.h).
 *
 * Design note
 *   Split from onnx.c, whose parser keeps initializers as byte spans: this file turns a span
 *   into an ox_const the first time a node needs it (ox_resolve), and gives a mapped file's
 *   pages back once they are decoded.  Every declared count and size is checked against
 *   the bytes present and the memory there is (fr_mem_check_total) before anything is
 *   allocated, because TensorProtos come from untrusted files (the fuzzers reach this code).
 *   Ownership: constants live in the import arena; ox_add_tensor copies into the fr_model
 *   and records where each tensor came from (x->orig) for the weight rewriter.
 *   Single-threaded, like the rest of the import.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frtui/fmap.h"
#include "frtui/half.h"
#include "onnx_int.h"

int ox_const_alloc(ox_ctx *x, const ox_node *nd, ox_const *c, int cls, int ndim, const int64_t *dim)
{
    memset(c, 0, sizeof *c);
    if (ndim < 0 || ndim > OX_MAXD) return ox_err(x, nd, "tensor of rank %d (at most %d supported)", ndim, OX_MAXD);
    int64_t n = 1;
    for (int k = 0; k < ndim; k++) {
        if (dim[k] < 0 || dim[k] > OX_MAX_CONST) return ox_err(x, nd, "tensor dimension %lld is invalid", (long long)dim[k]);
        n *= dim[k];
        if (n > OX_MAX_CONST) return ox_err(x, nd, "constant tensor of more than %lld elements", (long long)OX_MAX_CONST);
        c->dim[k] = dim[k];
    }
    c->cls = cls;
    c->dtype = cls == OX_F ? 1 : 7;
    c->ndim = ndim;
    c->n = n;
    if (cls == OX_F) c->f = ox_alloc(&x->ar, (size_t)(n ? n : 1) * sizeof(float));
    else c->i = ox_alloc(&x->ar, (size_t)(n ? n : 1) * sizeof(int64_t));
    return FR_OK;
}

double ox_const_get(const ox_const *c, int64_t k) { return c->cls == OX_F ? (double)c->f[k] : (double)c->i[k]; }

static int elem_size(int dt)
{
    switch (dt) {
    case 1: case 6: case 12: return 4;          /* float, int32, uint32 */
    case 2: case 3: case 9: return 1;           /* uint8, int8, bool */
    case 4: case 5: case 10: case 16: return 2; /* uint16, int16, float16, bfloat16 */
    case 7: case 11: case 13: return 8;         /* int64, double, uint64 */
    default: return 0;
    }
}

static int64_t raw_int(int dt, const uint8_t *p)
{
    uint64_t u = 0;
    int es = elem_size(dt);
    for (int b = es - 1; b >= 0; b--) u = (u << 8) | p[b];
    switch (dt) {
    case 3: return (int8_t)u;
    case 5: return (int16_t)u;
    case 6: return (int32_t)u;
    default: return (int64_t)u;
    }
}

int ox_decode_tensor(ox_ctx *x, const uint8_t *tp, size_t len, ox_const *c, const char *what)
{
    fr_pb r;
    fr_pb_field f;
    int64_t dim[OX_MAXD];
    int64_t nd = 0, dt = 0, cnt[16] = {0};
    const uint8_t *raw = NULL;
    size_t rawlen = 0;
    int rc, external = 0, has_raw = 0;
    fr_pb_init(&r, tp, len);
    while ((rc = fr_pb_next(&r, &f)) == 1) {
        switch (f.num) {
        case 1:
            if (fr_pb_get_varints(&f, dim, OX_MAXD, &nd) != 0)
                return ox_err(x, NULL, "tensor %.80s: malformed or more than %d dims", what, OX_MAXD);
            break;
        case 2: if (f.wt != FR_PB_VARINT) goto bad; dt = (int64_t)f.v; break;
        case 3: return ox_err(x, NULL, "tensor %.80s: segmented tensors are not supported", what);
        case 4: { int64_t k = fr_pb_count_fixed(&f, 4); if (k < 0) goto bad; cnt[4] += k; break; }
        case 5: case 7: case 11: { int64_t k = fr_pb_count_varints(&f); if (k < 0) goto bad; cnt[f.num] += k; break; }
        case 10: { int64_t k = fr_pb_count_fixed(&f, 8); if (k < 0) goto bad; cnt[10] += k; break; }
        case 6: return ox_err(x, NULL, "tensor %.80s: string tensors are not supported", what);
        case 9: if (f.wt != FR_PB_LEN) goto bad; raw = f.data; rawlen = f.len; has_raw = 1; break;
        case 13: external = 1; break;
        case 14: if (f.wt != FR_PB_VARINT) goto bad; if (f.v == 1) external = 1; break;
        default: break;
        }
    }
    if (rc < 0) goto bad;
    if (external)
        return ox_err(x, NULL, "tensor %.80s: external data (data_location=EXTERNAL) is not supported; "
                      "re-save the model with all tensors inside the file", what);
    int es = elem_size((int)dt);
    if (!es) return ox_err(x, NULL, "tensor %.80s: unsupported data type %lld", what, (long long)dt);
    int isf = dt == 1 || dt == 10 || dt == 11 || dt == 16;
    int64_t n = 1;
    for (int k = 0; k < nd; k++) {
        if (dim[k] < 0 || dim[k] > ((int64_t)1 << 32))
            return ox_err(x, NULL, "tensor %.80s: dimension %d is %lld", what, k, (long long)dim[k]);
        size_t t;
        if (fr_size_mul(&t, (size_t)n, (size_t)dim[k]) != FR_OK || t > ((size_t)1 << 32))
            return ox_err(x, NULL, "tensor %.80s: too many elements", what);
        n = (int64_t)t;
    }
    /* Which field carries the data, and does it hold exactly n elements? */
    int src = 0;
    int64_t have;
    if (has_raw) { src = 9; have = (int64_t)(rawlen / (size_t)es); if (rawlen % (size_t)es) have = -1; }
    else if (dt == 1) { src = 4; have = cnt[4]; }
    else if (dt == 11) { src = 10; have = cnt[10]; }
    else if (dt == 7) { src = 7; have = cnt[7]; }
    else if (dt == 12 || dt == 13) { src = 11; have = cnt[11]; }
    else { src = 5; have = cnt[5]; }
    if (have != n)
        return ox_err(x, NULL, "tensor %.80s: %lld elements declared by dims, %lld present in the data", what,
                      (long long)n, (long long)have);
    memset(c, 0, sizeof *c);
    c->cls = isf ? OX_F : OX_I;
    c->dtype = (int)dt;
    c->ndim = (int)nd;
    for (int k = 0; k < nd; k++) c->dim[k] = dim[k];
    c->n = n;
    /* ox_alloc aborts on failure, and an int8 tensor grows 8x as int64: check first. */
    if (fr_mem_check_total(x->e, &x->declared, (size_t)n * (isf ? sizeof(float) : sizeof(int64_t)), "%s: tensor %.80s",
                           x->src, what))
        return FR_ENOMEM;
    if (isf) c->f = ox_alloc(&x->ar, (size_t)(n ? n : 1) * sizeof(float));
    else c->i = ox_alloc(&x->ar, (size_t)(n ? n : 1) * sizeof(int64_t));
    if (src == 9) {
        for (int64_t k = 0; k < n; k++) {
            const uint8_t *p = raw + (size_t)k * (size_t)es;
            if (dt == 1) c->f[k] = fr_pb_f32(raw_int(12, p));
            else if (dt == 11) c->f[k] = (float)fr_pb_f64((uint64_t)raw_int(13, p));
            else if (dt == 10) c->f[k] = fr_f16_to_f32((uint16_t)raw_int(4, p));
            else if (dt == 16) c->f[k] = fr_pb_f32((uint64_t)raw_int(4, p) << 16);
            else c->i[k] = raw_int((int)dt, p);
        }
        fr_fmap_drop(raw, rawlen);   /* decoded: the file's pages are given back (mapped input) */
        return FR_OK;
    }
    int64_t k = 0;
    fr_pb_init(&r, tp, len);
    while (fr_pb_next(&r, &f) == 1) {
        if ((int)f.num != src) continue;
        if (f.wt == FR_PB_LEN) {
            const uint8_t *p = f.data, *end = f.data + f.len;
            while (p < end && k < n) {
                uint64_t v;
                if (src == 4) { v = raw_int(12, p); p += 4; }
                else if (src == 10) { v = (uint64_t)raw_int(13, p); p += 8; }
                else if (fr_pb_varint(&p, end, &v) != 0) goto bad;
                if (src == 4) c->f[k++] = fr_pb_f32(v);
                else if (src == 10) c->f[k++] = (float)fr_pb_f64(v);
                else if (dt == 10) c->f[k++] = fr_f16_to_f32((uint16_t)v);
                else if (dt == 16) c->f[k++] = fr_pb_f32((uint64_t)(uint16_t)v << 16);
                else c->i[k++] = dt == 6 || dt == 5 || dt == 3 ? (int64_t)(int32_t)v : (int64_t)v;
            }
        } else if (k < n) {
            if (src == 4) c->f[k++] = fr_pb_f32(f.v);
            else if (src == 10) c->f[k++] = (float)fr_pb_f64(f.v);
            else if (dt == 10) c->f[k++] = fr_f16_to_f32((uint16_t)f.v);
            else if (dt == 16) c->f[k++] = fr_pb_f32((uint64_t)(uint16_t)f.v << 16);
            else c->i[k++] = dt == 6 || dt == 5 || dt == 3 ? (int64_t)(int32_t)f.v : (int64_t)f.v;
        }
    }
    return FR_OK;
bad:
    return ox_err(x, NULL, "tensor %.80s: malformed TensorProto", what);
}

int ox_resolve(ox_ctx *x, ox_val *v)
{
    if (v->kind != OX_UNRESOLVED) return FR_OK;
    int rc = ox_decode_tensor(x, v->tp, v->tplen, &v->c, v->name);
    if (rc) return rc;
    v->kind = OX_CONST;
    return FR_OK;
}

int ox_add_tensor(ox_ctx *x, const char *onnx_name, int ndim, const int64_t *dim, const float *data)
{
    fr_graph *g = &x->m->g;
    char nm[FR_NAME_MAX];
    if (onnx_name && strlen(onnx_name) < FR_NAME_MAX && onnx_name[0] && fr_graph_find_tensor(g, onnx_name) < 0)
        snprintf(nm, sizeof nm, "%s", onnx_name);
    else
        snprintf(nm, sizeof nm, "onnx#%d", g->n_tensors);
    int t = fr_graph_add_tensor(g, nm, ndim, dim);
    memcpy(g->tensors[t].data, data, (size_t)fr_tensor_numel(&g->tensors[t]) * sizeof(float));
    if (t >= x->caporig) {
        int cap = x->caporig ? 2 * x->caporig : 64;
        while (cap <= t) cap *= 2;
        ox_origin *o = ox_alloc(&x->ar, (size_t)cap * sizeof *o);
        if (x->norig) memcpy(o, x->orig, (size_t)x->norig * sizeof *o);
        x->orig = o;
        x->caporig = cap;
    }
    memset(&x->orig[t], 0, sizeof x->orig[t]);
    x->orig[t].onnx = onnx_name;
    x->orig[t].scale = 1.0;
    if (t + 1 > x->norig) x->norig = t + 1;
    return t;
}
