/* onnx_shape.c — the ONNX input's per-sample dims, with symbolic ones resolved, the
 * --input-shape parser, and the public import entry points (fr_onnx_import*; the work is
 * ox_import in onnx.c).
 *
 * Design note
 *   Exporters mark dims they were told are dynamic with a dim_param name ("batch", "height")
 *   or leave them empty (read as -1; some writers store -1 or 0 in dim_value, treated alike).
 *   The batch may stay symbolic (onnx_fold.c carries it as OX_BATCH).  A symbolic per-sample
 *   dim needs a value before anything is lowered, because every shape downstream (and the
 *   folded Shape -> Gather -> Concat -> Reshape arithmetic) depends on it:
 *   - --input-shape (strict): given with or without the batch; static dims must agree, so a
 *     typo is caught instead of silently building a different network;
 *   - the calibration data (not strict): fills only symbolic dims; static ones stay and the
 *     CLI resizes the data to them.  Data are (C,H,W); a rank-1 input takes C*H*W, a rank-2
 *     one (C, H*W).
 *   Without either, the message names the dim and says which flag resolves it.
 */
#include <stdlib.h>
#include <string.h>

#include "frtui/fmap.h"
#include "onnx_int.h"

int fr_onnx_parse_shape(const char *text, fr_onnx_shape *s, fr_err *e)
{
    memset(s, 0, sizeof *s);
    s->strict = 1;
    const char *p = text;
    int ok = 0;   /* the text so far ends with a dim, not a separator */
    while (*p) {
        char *end;
        ok = 0;
        if (*p < '0' || *p > '9') break;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 1 || v > (1 << 24) || s->n == 4) break;
        s->d[s->n++] = v;
        p = end;
        ok = 1;
        if (*p == 'x' || *p == 'X' || *p == ',') p++, ok = 0;
        else if (*p) break;
    }
    if (*p || !ok || s->n == 0)
        return fr_err_set(e, FR_EINPUT, "--input-shape '%.60s': expected 1 to 4 positive dims like 3x224x224 or 1x3x224x224",
                          text);
    return FR_OK;
}

static int sym(int64_t d) { return d < 1; }

int ox_input_dims(ox_ctx *x, const ox_vi *in, int64_t *d, int *rank)
{
    /* token ids [N, T] (int64 as torch exports them, or int32): a transformer, lowered by onnx_tok.c */
    if ((in->elem == 7 || in->elem == 6) && in->has_shape && in->ndim == 2) {
        x->tok_input = 1;
    } else if (in->elem != 1) {
        return ox_err(x, NULL, "input %.80s has element type %d; only float32 inputs (or int32/int64 token ids [N, T]) are "
                      "supported", in->name, in->elem);
    }
    if (!in->has_shape || in->ndim < 2 || in->ndim > 4)
        return ox_err(x, NULL, "input %.80s must have a known rank [N, C(, H, W)] (rank 2..4), has rank %d", in->name, in->ndim);
    int r = in->ndim - 1;
    *rank = r;
    int64_t want[3] = {0, 0, 0};   /* per-sample values from the shape option, 0 = none */
    const fr_onnx_shape *s = x->shape;
    if (s && s->strict) {
        if (s->n != in->ndim && s->n != r)
            return ox_err(x, NULL, "--input-shape has %d dims; input %.80s has rank %d (give %d dims, or %d with the batch)",
                          s->n, in->name, in->ndim, r, in->ndim);
        for (int k = 0; k < r; k++) want[k] = s->d[k + (s->n == in->ndim)];
    } else if (s) {
        int64_t c = s->d[0], h = s->n > 1 ? s->d[1] : 1, w = s->n > 2 ? s->d[2] : 1;
        if (r == 3) { want[0] = c; want[1] = h; want[2] = w; }
        else if (r == 2) { want[0] = c; want[1] = h * w; }
        else want[0] = c * h * w;
    }
    for (int k = 0; k < r; k++) {
        int64_t v = in->dim[k + 1];
        const char *nm = in->dparam[k + 1] && in->dparam[k + 1][0] ? in->dparam[k + 1] : NULL;
        if (sym(v)) {
            if (!want[k])
                return ox_err(x, NULL,
                              "input %.80s: dimension %d%s%.40s%s is symbolic; give --input-shape (e.g. %s) or --calib data "
                              "to fix it", in->name, k + 1, nm ? " ('" : "", nm ? nm : "", nm ? "')" : "",
                              x->tok_input ? "128, the window" : r == 3 ? "3x224x224" : r == 2 ? "64x100" : "784");
            v = want[k];
        } else if (s && s->strict && want[k] != v) {
            return ox_err(x, NULL, "--input-shape gives %lld for dimension %d of input %.80s, which the model fixes at %lld",
                          (long long)want[k], k + 1, in->name, (long long)v);
        }
        if (v > (1 << 24)) return ox_err(x, NULL, "input %.80s: dimension %d is %lld, too large", in->name, k + 1, (long long)v);
        d[k] = v;
    }
    return FR_OK;
}

/* ---- entry points ---- */

int fr_onnx_import_mem_shaped(const void *buf, size_t n, const char *name, const fr_onnx_shape *shape, fr_model *m,
                              fr_err *e)
{
    return ox_import(buf, n, name ? name : "(memory)", shape, m, 1, NULL, NULL, NULL, e);
}

int fr_onnx_import_mem(const void *buf, size_t n, const char *name, fr_model *m, fr_err *e)
{
    return fr_onnx_import_mem_shaped(buf, n, name, NULL, m, e);
}

int fr_onnx_import_shaped(const char *path, const fr_onnx_shape *shape, fr_model *m, fr_err *e)
{
    /* Mapped, not read (include/frtui/fmap.h): the protobuf walk skips raw_data fields
     * without touching them, and each initializer's pages are dropped once it is decoded. */
    fr_fmap f;
    fr_model_init(m);
    int rc = fr_fmap_open(path, FR_ONNX_MAX_FILE, NULL, NULL, &f, e);
    if (rc) return rc;
    rc = fr_onnx_import_mem_shaped(f.p, f.n, path, shape, m, e);
    fr_fmap_close(&f);
    return rc;
}

int fr_onnx_import(const char *path, fr_model *m, fr_err *e) { return fr_onnx_import_shaped(path, NULL, m, e); }
