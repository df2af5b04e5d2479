/* onnx_fold.c — import-time constant folding of ONNX nodes whose inputs are all constant.
 *
 * Design note
 *   Exporters emit "shape plumbing" — Shape -> Gather -> Unsqueeze -> Concat -> Reshape and
 *   friends — that only exists to compute a target shape.  We evaluate it here on int64/float
 *   constants.  Shape of an activation yields [OX_BATCH, d1, ...]: the batch dimension is
 *   symbolic, may be moved around (Gather, Slice, Concat, Squeeze, Cast to an int type) but any
 *   arithmetic on it, materialising it (ConstantOfShape/Expand) or casting it to float is
 *   refused, and Reshape (onnx_ops.c) accepts it only as the leading dimension.
 *   Every folded constant is capped at OX_MAX_CONST elements, so a tiny file cannot make us
 *   allocate gigabytes.  All memory is arena memory.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_int.h"

static int is_op(const ox_node *nd, const char *op) { return strcmp(nd->op, op) == 0; }

static void set_out(ox_ctx *x, const ox_node *nd, int k, const ox_const *c)
{
    if (k >= nd->nout || !nd->out[k][0]) return;
    ox_val *v = ox_find(x, nd->out[k]);
    v->kind = OX_CONST;
    v->c = *c;
}

static int has_batch(const ox_const *c)
{
    if (c->cls != OX_I) return 0;
    for (int64_t k = 0; k < c->n; k++) if (c->i[k] == OX_BATCH) return 1;
    return 0;
}

static void strides_of(const ox_const *c, int64_t *st)
{
    int64_t s = 1;
    for (int k = c->ndim - 1; k >= 0; k--) { st[k] = s; s *= c->dim[k]; }
}

/* Copies element src[k] to dst[j] across classes. */
static void put(ox_const *dst, int64_t j, const ox_const *src, int64_t k)
{
    if (dst->cls == OX_F) dst->f[j] = src->cls == OX_F ? src->f[k] : (float)src->i[k];
    else dst->i[j] = src->cls == OX_I ? src->i[k] : (int64_t)src->f[k];
}

static int int_list(ox_ctx *x, const ox_node *nd, const ox_const *c, int64_t *out, int cap, int *n, const char *what)
{
    if (c->cls != OX_I || c->ndim > 1 || c->n > cap)
        return ox_err(x, nd, "%s must be a 1-D integer tensor of at most %d entries", what, cap);
    for (int64_t k = 0; k < c->n; k++) out[k] = c->i[k];
    *n = (int)c->n;
    return FR_OK;
}

static int const_from_attr(ox_ctx *x, const ox_node *nd, ox_const *c)
{
    for (int k = 0; k < nd->nattr; k++) {
        const ox_attr *a = &nd->attr[k];
        if (strcmp(a->name, "value") == 0 && a->has_t) {
            char what[160];
            snprintf(what, sizeof what, "%.120s (Constant)", ox_node_name(nd));
            return ox_decode_tensor(x, a->t, a->tlen, c, what);
        }
        if (strcmp(a->name, "value_float") == 0 && a->has_f) {
            int rc = ox_const_alloc(x, nd, c, OX_F, 0, NULL);
            if (!rc) c->f[0] = a->f;
            return rc;
        }
        if (strcmp(a->name, "value_int") == 0 && a->has_i) {
            int rc = ox_const_alloc(x, nd, c, OX_I, 0, NULL);
            if (!rc) c->i[0] = a->i;
            return rc;
        }
        if (strcmp(a->name, "value_floats") == 0 && a->has_fs) {
            int64_t d = a->nfs;
            int rc = ox_const_alloc(x, nd, c, OX_F, 1, &d);
            if (!rc) memcpy(c->f, a->fs, (size_t)a->nfs * sizeof(float));
            return rc;
        }
        if (strcmp(a->name, "value_ints") == 0 && a->has_is) {
            int64_t d = a->nis;
            int rc = ox_const_alloc(x, nd, c, OX_I, 1, &d);
            if (!rc) memcpy(c->i, a->is, (size_t)a->nis * sizeof(int64_t));
            return rc;
        }
    }
    return ox_unsupported(x, nd, "Constant without a value/value_float(s)/value_int(s) attribute");
}

/* Broadcast shape of a and b (numpy rules). */
static int bcast_shape(ox_ctx *x, const ox_node *nd, const ox_const *a, const ox_const *b, int *nd_out, int64_t *d)
{
    int r = FR_MAX(a->ndim, b->ndim);
    for (int k = 0; k < r; k++) {
        int ka = k - (r - a->ndim), kb = k - (r - b->ndim);
        int64_t da = ka >= 0 ? a->dim[ka] : 1, db = kb >= 0 ? b->dim[kb] : 1;
        if (da != db && da != 1 && db != 1) return ox_err(x, nd, "constant shapes do not broadcast");
        d[k] = da == 1 ? db : da;
    }
    *nd_out = r;
    return FR_OK;
}

/* Flat index into c of output multi-index idx (rank r), broadcasting. */
static int64_t bidx(const ox_const *c, const int64_t *idx, int r)
{
    int64_t off = 0, s = 1;
    for (int k = c->ndim - 1; k >= 0; k--) {
        int64_t i = idx[k + (r - c->ndim)];
        off += (c->dim[k] == 1 ? 0 : i) * s;
        s *= c->dim[k];
    }
    return off;
}

static void next_idx(int64_t *idx, const int64_t *d, int r)
{
    for (int k = r - 1; k >= 0; k--) {
        if (++idx[k] < d[k]) return;
        idx[k] = 0;
    }
}

static int fold_binary(ox_ctx *x, const ox_node *nd, const ox_const *a, const ox_const *b, ox_const *o)
{
    int r;
    int64_t d[OX_MAXD], idx[OX_MAXD] = {0};
    if (bcast_shape(x, nd, a, b, &r, d)) return FR_EINPUT;
    if (has_batch(a) || has_batch(b))
        return ox_err(x, nd, "arithmetic on the batch dimension cannot be folded (batch is symbolic)");
    int cls = a->cls == OX_F || b->cls == OX_F ? OX_F : OX_I;
    if (ox_const_alloc(x, nd, o, cls, r, d)) return FR_EINPUT;
    char op = nd->op[0];
    for (int64_t k = 0; k < o->n; k++, next_idx(idx, d, r)) {
        int64_t ia = bidx(a, idx, r), ib = bidx(b, idx, r);
        if (cls == OX_F) {
            double p = ox_const_get(a, ia), q = ox_const_get(b, ib);
            o->f[k] = (float)(op == 'A' ? p + q : op == 'S' ? p - q : op == 'M' ? p * q : p / q);
        } else {
            int64_t p = a->i[ia], q = b->i[ib];
            if ((op == 'D' && q == 0) || llabs(p) > ((int64_t)1 << 40) || llabs(q) > ((int64_t)1 << 40))
                return ox_err(x, nd, "integer %s out of range", nd->op);
            o->i[k] = op == 'A' ? p + q : op == 'S' ? p - q : op == 'M' ? p * q : p / q;
        }
    }
    return FR_OK;
}

static int fold_gather(ox_ctx *x, const ox_node *nd, const ox_const *a, const ox_const *ix, ox_const *o)
{
    int64_t axis = ox_attr_int(nd, "axis", 0);
    if (axis < 0) axis += a->ndim;
    if (axis < 0 || axis >= a->ndim || ix->cls != OX_I) return ox_err(x, nd, "Gather: bad axis or non-integer indices");
    if (a->ndim - 1 + ix->ndim > OX_MAXD) return ox_err(x, nd, "Gather: result rank too large");
    int64_t d[OX_MAXD];
    int r = 0;
    for (int k = 0; k < axis; k++) d[r++] = a->dim[k];
    for (int k = 0; k < ix->ndim; k++) d[r++] = ix->dim[k];
    for (int k = (int)axis + 1; k < a->ndim; k++) d[r++] = a->dim[k];
    if (ox_const_alloc(x, nd, o, a->cls, r, d)) return FR_EINPUT;
    o->dtype = a->dtype;
    int64_t outer = 1, inner = 1, ax = a->dim[axis];
    for (int k = 0; k < axis; k++) outer *= a->dim[k];
    for (int k = (int)axis + 1; k < a->ndim; k++) inner *= a->dim[k];
    int64_t j = 0;
    for (int64_t p = 0; p < outer; p++)
        for (int64_t q = 0; q < ix->n; q++) {
            int64_t i = ix->i[q] < 0 ? ix->i[q] + ax : ix->i[q];
            if (i < 0 || i >= ax) return ox_err(x, nd, "Gather: index %lld out of range [0, %lld)", (long long)ix->i[q], (long long)ax);
            for (int64_t s = 0; s < inner; s++) put(o, j++, a, (p * ax + i) * inner + s);
        }
    return FR_OK;
}

static int fold_slice(ox_ctx *x, const ox_node *nd, ox_val **in, ox_const *o)
{
    const ox_const *a = &in[0]->c;
    int64_t st[OX_MAXD], en[OX_MAXD], ax[OX_MAXD], sp[OX_MAXD];
    int ns = 0, ne = 0, na = 0, nsp = 0;
    if (x->opset < 10) {
        const ox_attr *s = ox_attr_get(nd, "starts"), *e = ox_attr_get(nd, "ends"), *aa = ox_attr_get(nd, "axes");
        if (!s || !e || s->nis > OX_MAXD || e->nis > OX_MAXD || (aa && aa->nis > OX_MAXD))
            return ox_err(x, nd, "Slice: missing or too long starts/ends");
        ns = s->nis; ne = e->nis;
        memcpy(st, s->is, (size_t)ns * 8); memcpy(en, e->is, (size_t)ne * 8);
        if (aa) { na = aa->nis; memcpy(ax, aa->is, (size_t)na * 8); }
    } else {
        if (nd->nin < 3 || !in[1] || !in[2]) return ox_err(x, nd, "Slice needs starts and ends inputs");
        if (int_list(x, nd, &in[1]->c, st, OX_MAXD, &ns, "Slice starts") ||
            int_list(x, nd, &in[2]->c, en, OX_MAXD, &ne, "Slice ends")) return FR_EINPUT;
        if (nd->nin > 3 && in[3] && int_list(x, nd, &in[3]->c, ax, OX_MAXD, &na, "Slice axes")) return FR_EINPUT;
        if (nd->nin > 4 && in[4] && int_list(x, nd, &in[4]->c, sp, OX_MAXD, &nsp, "Slice steps")) return FR_EINPUT;
    }
    if (ns != ne || (na && na != ns) || (nsp && nsp != ns)) return ox_err(x, nd, "Slice: starts/ends/axes/steps lengths differ");
    int64_t b[OX_MAXD], s[OX_MAXD], d[OX_MAXD];
    for (int k = 0; k < a->ndim; k++) { b[k] = 0; s[k] = 1; d[k] = a->dim[k]; }
    for (int q = 0; q < ns; q++) {
        int64_t k = na ? ax[q] : q, step = nsp ? sp[q] : 1;
        if (k < 0) k += a->ndim;
        if (k < 0 || k >= a->ndim || step == 0) return ox_err(x, nd, "Slice: bad axis or zero step");
        int64_t dim = a->dim[k], lo = st[q], hi = en[q];
        if (lo == OX_BATCH || hi == OX_BATCH) return ox_err(x, nd, "Slice bounds depend on the batch size");
        if (lo < 0) lo += dim;
        if (hi < 0) hi += dim;
        if (step > 0) { lo = FR_MAX(0, FR_MIN(lo, dim)); hi = FR_MAX(0, FR_MIN(hi, dim)); }
        else { lo = FR_MAX(-1, FR_MIN(lo, dim - 1)); hi = FR_MAX(-1, FR_MIN(hi, dim - 1)); }
        int64_t cnt = step > 0 ? (hi - lo + step - 1) / step : (lo - hi + (-step) - 1) / (-step);
        b[k] = lo; s[k] = step; d[k] = FR_MAX(0, cnt);
    }
    if (ox_const_alloc(x, nd, o, a->cls, a->ndim, d)) return FR_EINPUT;
    o->dtype = a->dtype;
    int64_t str[OX_MAXD], idx[OX_MAXD] = {0};
    strides_of(a, str);
    for (int64_t j = 0; j < o->n; j++, next_idx(idx, d, a->ndim)) {
        int64_t off = 0;
        for (int k = 0; k < a->ndim; k++) off += (b[k] + idx[k] * s[k]) * str[k];
        put(o, j, a, off);
    }
    return FR_OK;
}

static int axes_of(ox_ctx *x, const ox_node *nd, ox_val **in, int64_t *ax, int *na, int *given)
{
    *na = 0;
    *given = 0;
    if (x->opset < 13) {
        const ox_attr *a = ox_attr_get(nd, "axes");
        if (!a) return FR_OK;
        if (a->nis > OX_MAXD) return ox_err(x, nd, "too many axes");
        *na = a->nis;
        memcpy(ax, a->is, (size_t)a->nis * 8);
        *given = 1;
        return FR_OK;
    }
    if (nd->nin < 2 || !in[1]) return FR_OK;
    *given = 1;
    return int_list(x, nd, &in[1]->c, ax, OX_MAXD, na, "axes");
}

static int fold_squeeze(ox_ctx *x, const ox_node *nd, ox_val **in, ox_const *o, int unsq)
{
    const ox_const *a = &in[0]->c;
    int64_t ax[OX_MAXD];
    int na, given;
    if (axes_of(x, nd, in, ax, &na, &given)) return FR_EINPUT;
    *o = *a;
    int r = unsq ? a->ndim + na : a->ndim;
    if (r > OX_MAXD) return ox_err(x, nd, "result rank too large");
    unsigned mark = 0;
    for (int q = 0; q < na; q++) {
        int64_t k = ax[q] < 0 ? ax[q] + r : ax[q];
        if (k < 0 || k >= r || (mark & (1u << k))) return ox_err(x, nd, "%s: bad axis %lld", nd->op, (long long)ax[q]);
        mark |= 1u << k;
    }
    int n = 0;
    if (unsq) {
        if (!given) return ox_err(x, nd, "Unsqueeze without axes");
        for (int k = 0, src = 0; k < r; k++) o->dim[n++] = (mark & (1u << k)) ? 1 : a->dim[src++];
    } else {
        for (int k = 0; k < a->ndim; k++) {
            int drop = given ? (int)((mark >> k) & 1) : a->dim[k] == 1;
            if (drop && a->dim[k] != 1) return ox_err(x, nd, "Squeeze of a dimension of size %lld", (long long)a->dim[k]);
            if (!drop) o->dim[n++] = a->dim[k];
        }
    }
    o->ndim = n;
    return FR_OK;
}

static int fold_concat(ox_ctx *x, const ox_node *nd, ox_val **in, ox_const *o)
{
    if (nd->nin < 1 || !in[0]) return ox_err(x, nd, "Concat without inputs");
    const ox_const *a = &in[0]->c;
    int64_t axis = ox_attr_int(nd, "axis", 0);
    if (axis < 0) axis += a->ndim;
    if (axis < 0 || axis >= a->ndim) return ox_err(x, nd, "Concat: bad axis");
    int64_t d[OX_MAXD];
    memcpy(d, a->dim, sizeof d);
    d[axis] = 0;
    int cls = OX_I;
    for (int q = 0; q < nd->nin; q++) {
        if (!in[q]) return ox_err(x, nd, "Concat with an empty input name");
        const ox_const *b = &in[q]->c;
        if (b->ndim != a->ndim) return ox_err(x, nd, "Concat inputs differ in rank");
        for (int k = 0; k < a->ndim; k++)
            if (k != axis && b->dim[k] != a->dim[k]) return ox_err(x, nd, "Concat inputs differ in shape");
        d[axis] += b->dim[axis];
        if (b->cls == OX_F) cls = OX_F;
    }
    if (ox_const_alloc(x, nd, o, cls, a->ndim, d)) return FR_EINPUT;
    int64_t outer = 1, j = 0;
    for (int k = 0; k < axis; k++) outer *= a->dim[k];
    for (int64_t p = 0; p < outer; p++)
        for (int q = 0; q < nd->nin; q++) {
            const ox_const *b = &in[q]->c;
            int64_t chunk = outer ? b->n / outer : 0;
            for (int64_t s = 0; s < chunk; s++) put(o, j++, b, p * chunk + s);
        }
    return FR_OK;
}

static int shape_list(ox_ctx *x, const ox_node *nd, const ox_const *c, int64_t *d, int *r)
{
    if (int_list(x, nd, c, d, OX_MAXD, r, "shape")) return FR_EINPUT;
    for (int k = 0; k < *r; k++)
        if (d[k] == OX_BATCH)
            return ox_err(x, nd, "%s over the batch dimension cannot be folded (batch is symbolic)", nd->op);
    return FR_OK;
}

static int fold_reshape_const(ox_ctx *x, const ox_node *nd, const ox_const *a, const ox_const *s, ox_const *o)
{
    int64_t d[OX_MAXD];
    int r, neg = -1;
    if (shape_list(x, nd, s, d, &r)) return FR_EINPUT;
    int64_t known = 1;
    for (int k = 0; k < r; k++) {
        if (d[k] == 0 && !ox_attr_int(nd, "allowzero", 0)) {
            if (k >= a->ndim) return ox_err(x, nd, "Reshape: 0 refers to a missing dim");
            d[k] = a->dim[k];
        }
        if (d[k] == -1) { if (neg >= 0) return ox_err(x, nd, "Reshape: two -1 entries"); neg = k; continue; }
        if (d[k] < 0) return ox_err(x, nd, "Reshape: negative dim");
        known *= d[k];
        if (known > OX_MAX_CONST) return ox_err(x, nd, "Reshape: too large");
    }
    if (neg >= 0) { if (known == 0 || a->n % known) return ox_err(x, nd, "Reshape: cannot infer -1"); d[neg] = a->n / known; known = a->n; }
    if (known != a->n) return ox_err(x, nd, "Reshape of %lld elements to %lld", (long long)a->n, (long long)known);
    *o = *a;
    o->ndim = r;
    memcpy(o->dim, d, sizeof d);
    return FR_OK;
}

static int fold_transpose(ox_ctx *x, const ox_node *nd, const ox_const *a, ox_const *o)
{
    const ox_attr *pa = ox_attr_get(nd, "perm");
    int64_t perm[OX_MAXD], d[OX_MAXD], st[OX_MAXD], idx[OX_MAXD] = {0};
    unsigned seen = 0;
    for (int k = 0; k < a->ndim; k++) {
        perm[k] = pa ? (k < pa->nis ? pa->is[k] : -1) : a->ndim - 1 - k;
        if (perm[k] < 0 || perm[k] >= a->ndim || (seen & (1u << perm[k])) || (pa && pa->nis != a->ndim))
            return ox_err(x, nd, "Transpose: invalid perm");
        seen |= 1u << perm[k];
        d[k] = a->dim[perm[k]];
    }
    if (ox_const_alloc(x, nd, o, a->cls, a->ndim, d)) return FR_EINPUT;
    o->dtype = a->dtype;
    strides_of(a, st);
    for (int64_t j = 0; j < o->n; j++, next_idx(idx, d, a->ndim)) {
        int64_t off = 0;
        for (int k = 0; k < a->ndim; k++) off += idx[k] * st[perm[k]];
        put(o, j, a, off);
    }
    return FR_OK;
}

/* Split of a constant into nout pieces along axis: sizes from the input (opset >= 13), the
 * attribute, or equal parts. */
static int fold_split(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    const ox_const *a = &in[0]->c;
    int64_t ax = ox_attr_int(nd, "axis", 0);
    if (ax < 0) ax += a->ndim;
    if (ax < 0 || ax >= a->ndim || nd->nout < 1 || nd->nout > 64) return ox_err(x, nd, "Split: bad axis or output count");
    int64_t sz[64];
    int n = 0;
    const ox_attr *sa = ox_attr_get(nd, "split");
    if (nd->nin > 1 && in[1]) {
        if (int_list(x, nd, &in[1]->c, sz, 64, &n, "split")) return FR_EINPUT;
    } else if (sa) {
        if (sa->nis > 64) return ox_err(x, nd, "Split: too many parts");
        n = sa->nis;
        for (int k = 0; k < n; k++) sz[k] = sa->is[k];
    } else {
        n = nd->nout;
        int64_t each = (a->dim[ax] + n - 1) / n;
        for (int k = 0; k < n; k++) sz[k] = FR_MAX(0, FR_MIN(each, a->dim[ax] - each * k));
    }
    if (n != nd->nout) return ox_err(x, nd, "Split: %d sizes for %d outputs", n, nd->nout);
    int64_t off = 0, outer = 1, inner = 1;
    for (int k = 0; k < ax; k++) outer *= a->dim[k];
    for (int k = (int)ax + 1; k < a->ndim; k++) inner *= a->dim[k];
    for (int q = 0; q < n; q++) {
        if (sz[q] < 0 || off + sz[q] > a->dim[ax]) return ox_err(x, nd, "Split: sizes exceed the axis");
        ox_const o;
        int64_t d[OX_MAXD];
        memcpy(d, a->dim, sizeof d);
        d[ax] = sz[q];
        int rc = ox_const_alloc(x, nd, &o, a->cls, a->ndim, d);
        if (rc) return rc;
        o.dtype = a->dtype;
        int64_t j = 0;
        for (int64_t u = 0; u < outer; u++)
            for (int64_t r = 0; r < sz[q] * inner; r++) put(&o, j++, a, u * a->dim[ax] * inner + off * inner + r);
        set_out(x, nd, q, &o);
        off += sz[q];
    }
    return FR_OK;
}

int ox_fold(ox_ctx *x, const ox_node *nd, ox_val **in, int *done)
{
    ox_const o;
    int rc = FR_OK;
    *done = 0;
    if (is_op(nd, "Constant")) {
        if ((rc = const_from_attr(x, nd, &o)) == 0) set_out(x, nd, 0, &o);
        *done = 1;
        return rc;
    }
    if (is_op(nd, "Shape") || is_op(nd, "Size")) {
        if (nd->nin < 1 || !in[0]) return ox_err(x, nd, "%s without input", nd->op);
        int64_t d[OX_MAXD + 1];
        int r;
        if (in[0]->kind == OX_ACT) {
            r = in[0]->rank + 1;
            d[0] = OX_BATCH;
            for (int k = 1; k < r; k++) d[k] = in[0]->d[k - 1];
        } else {
            r = in[0]->c.ndim;
            memcpy(d, in[0]->c.dim, sizeof(int64_t) * (size_t)r);
        }
        if (is_op(nd, "Size")) {
            if (in[0]->kind == OX_ACT) return ox_err(x, nd, "Size of an activation depends on the batch size");
            if (ox_const_alloc(x, nd, &o, OX_I, 0, NULL)) return FR_EINPUT;
            o.i[0] = in[0]->c.n;
        } else {
            int64_t s = ox_attr_int(nd, "start", 0), e = ox_attr_int(nd, "end", r);
            if (s < 0) s += r;
            if (e < 0) e += r;
            s = FR_MAX(0, FR_MIN(s, r)); e = FR_MAX(s, FR_MIN(e, r));
            int64_t len = e - s;
            if (ox_const_alloc(x, nd, &o, OX_I, 1, &len)) return FR_EINPUT;
            for (int64_t k = 0; k < len; k++) o.i[k] = d[s + k];
        }
        set_out(x, nd, 0, &o);
        *done = 1;
        return FR_OK;
    }
    int any = 0;
    for (int k = 0; k < nd->nin; k++) {
        if (!in[k]) continue;
        if (in[k]->kind != OX_CONST) return FR_OK;   /* an activation flows in: lower it */
        any = 1;
    }
    if (!any) return ox_unsupported(x, nd, "no inputs");
    *done = 1;
    const ox_const *a = in[0] ? &in[0]->c : NULL;
    if (!a) return ox_err(x, nd, "first input is missing");
    if (is_op(nd, "Identity") || is_op(nd, "Dropout")) {
        o = *a;
    } else if (is_op(nd, "Cast")) {
        int64_t to = ox_attr_int(nd, "to", 1);
        int isf = to == 1 || to == 10 || to == 11 || to == 16;
        if (!isf && !(to >= 2 && to <= 7) && to != 9 && to != 12 && to != 13) return ox_unsupported(x, nd, "Cast to this type");
        if (isf && has_batch(a)) return ox_err(x, nd, "Cast of the batch dimension to float");
        if ((rc = ox_const_alloc(x, nd, &o, isf ? OX_F : OX_I, a->ndim, a->dim))) return rc;
        for (int64_t k = 0; k < a->n; k++) {
            if (!isf && a->cls == OX_F && !(fabsf(a->f[k]) < 9.2e18f)) return ox_err(x, nd, "Cast of %g to integer", (double)a->f[k]);
            put(&o, k, a, k);
            if (to == 9 && !isf) o.i[k] = o.i[k] != 0;
        }
        o.dtype = (int)to;
    } else if (is_op(nd, "Add") || is_op(nd, "Sub") || is_op(nd, "Mul") || is_op(nd, "Div")) {
        if (nd->nin != 2 || !in[1]) return ox_err(x, nd, "%s needs two inputs", nd->op);
        rc = fold_binary(x, nd, a, &in[1]->c, &o);
    } else if (is_op(nd, "Neg") || is_op(nd, "Sqrt") || is_op(nd, "Reciprocal")) {
        if (has_batch(a)) return ox_err(x, nd, "arithmetic on the batch dimension cannot be folded");
        if ((rc = ox_const_alloc(x, nd, &o, a->cls == OX_F || nd->op[0] != 'N' ? OX_F : OX_I, a->ndim, a->dim))) return rc;
        for (int64_t k = 0; k < a->n; k++) {
            double v = ox_const_get(a, k);
            if (o.cls == OX_I) o.i[k] = -a->i[k];
            else o.f[k] = (float)(nd->op[0] == 'N' ? -v : nd->op[0] == 'S' ? sqrt(v) : 1.0 / v);
        }
    } else if (is_op(nd, "Equal") || is_op(nd, "Where")) {
        /* exporters compute Expand shapes this way (torch's repeat_interleave, masks) */
        int w = nd->op[0] == 'W';
        if (nd->nin != 2 + w || !in[1] || (w && !in[2])) return ox_err(x, nd, "%s needs %d inputs", nd->op, 2 + w);
        const ox_const *p = w ? &in[1]->c : a, *q = w ? &in[2]->c : &in[1]->c;
        int r, r2;
        int64_t d[OX_MAXD], d2[OX_MAXD], idx[OX_MAXD] = {0};
        if (bcast_shape(x, nd, p, q, &r, d)) return FR_EINPUT;
        if (w) {
            ox_const pq;
            memset(&pq, 0, sizeof pq);
            pq.ndim = r;
            memcpy(pq.dim, d, sizeof d);
            if (bcast_shape(x, nd, a, &pq, &r2, d2)) return FR_EINPUT;
            r = r2;
            memcpy(d, d2, sizeof d2);
        }
        int cls = w ? (p->cls == OX_F || q->cls == OX_F ? OX_F : OX_I) : OX_I;
        if ((rc = ox_const_alloc(x, nd, &o, cls, r, d))) return rc;
        o.dtype = w ? (cls == OX_F ? 1 : p->dtype) : 9;
        for (int64_t k = 0; k < o.n; k++, next_idx(idx, d, r)) {
            double pv = ox_const_get(p, bidx(p, idx, r)), qv = ox_const_get(q, bidx(q, idx, r));
            if (!w) { o.i[k] = pv == qv; continue; }
            double v = ox_const_get(a, bidx(a, idx, r)) != 0 ? pv : qv;
            if (cls == OX_F) o.f[k] = (float)v;
            else o.i[k] = (int64_t)v;
        }
    } else if (is_op(nd, "Split")) {
        return fold_split(x, nd, in);
    } else if (is_op(nd, "Trilu")) {   /* causal masks built in the graph (torch.triu / tril) */
        int64_t k = 0;
        if (nd->nin > 1 && in[1]) {
            if (in[1]->c.n != 1 || in[1]->c.cls != OX_I) return ox_err(x, nd, "Trilu: k must be one integer");
            k = in[1]->c.i[0];
        }
        if (a->ndim < 2 || has_batch(a)) return ox_err(x, nd, "Trilu needs a constant of rank >= 2");
        int up = (int)ox_attr_int(nd, "upper", 1);
        int64_t R = a->dim[a->ndim - 2], C = a->dim[a->ndim - 1];
        o = *a;
        if ((rc = ox_const_alloc(x, nd, &o, a->cls, a->ndim, a->dim))) return rc;
        o.dtype = a->dtype;
        for (int64_t q = 0; q < a->n; q++) {
            int64_t i = (q / C) % R, j = q % C;
            int keep = up ? j - i >= k : j - i <= k;
            if (keep) put(&o, q, a, q);
            else if (o.cls == OX_F) o.f[q] = 0.0f;
            else o.i[q] = 0;
        }
    } else if (is_op(nd, "Gather")) {
        if (nd->nin != 2 || !in[1]) return ox_err(x, nd, "Gather needs two inputs");
        rc = fold_gather(x, nd, a, &in[1]->c, &o);
    } else if (is_op(nd, "Slice")) {
        rc = fold_slice(x, nd, in, &o);
    } else if (is_op(nd, "Unsqueeze") || is_op(nd, "Squeeze")) {
        rc = fold_squeeze(x, nd, in, &o, nd->op[0] == 'U');
    } else if (is_op(nd, "Concat")) {
        rc = fold_concat(x, nd, in, &o);
    } else if (is_op(nd, "ConstantOfShape")) {
        int64_t d[OX_MAXD];
        int r;
        ox_const v;
        const ox_attr *va = ox_attr_get(nd, "value");
        if (shape_list(x, nd, a, d, &r)) return FR_EINPUT;
        if (va && va->has_t) { if ((rc = ox_decode_tensor(x, va->t, va->tlen, &v, "ConstantOfShape value"))) return rc; }
        else { if ((rc = ox_const_alloc(x, nd, &v, OX_F, 0, NULL))) return rc; v.f[0] = 0; }
        if (v.n != 1) return ox_err(x, nd, "ConstantOfShape value must have one element");
        if ((rc = ox_const_alloc(x, nd, &o, v.cls, r, d))) return rc;
        for (int64_t k = 0; k < o.n; k++) put(&o, k, &v, 0);
    } else if (is_op(nd, "Range")) {
        if (nd->nin != 3 || !in[1] || !in[2] || a->n != 1 || in[1]->c.n != 1 || in[2]->c.n != 1)
            return ox_err(x, nd, "Range needs three scalar inputs");
        if (has_batch(a) || has_batch(&in[1]->c) || has_batch(&in[2]->c)) return ox_err(x, nd, "Range over the batch dimension");
        double s = ox_const_get(a, 0), l = ox_const_get(&in[1]->c, 0), dl = ox_const_get(&in[2]->c, 0);
        if (dl == 0 || !isfinite(s) || !isfinite(l) || !isfinite(dl)) return ox_err(x, nd, "Range with zero or non-finite delta");
        double cnt = fmax(0.0, ceil((l - s) / dl));
        if (cnt > (double)OX_MAX_CONST) return ox_err(x, nd, "Range too long");
        int64_t n = (int64_t)cnt;
        if ((rc = ox_const_alloc(x, nd, &o, a->cls, 1, &n))) return rc;
        for (int64_t k = 0; k < n; k++) {
            if (o.cls == OX_F) o.f[k] = (float)(s + (double)k * dl);
            else o.i[k] = a->i[0] + k * in[2]->c.i[0];
        }
    } else if (is_op(nd, "Expand")) {
        int64_t d[OX_MAXD], idx[OX_MAXD] = {0};
        int r;
        if (nd->nin != 2 || !in[1] || shape_list(x, nd, &in[1]->c, d, &r)) return x->e && x->e->code ? x->e->code : ox_err(x, nd, "Expand needs a shape");
        ox_const sh;
        memset(&sh, 0, sizeof sh);
        sh.ndim = r;
        memcpy(sh.dim, d, sizeof d);
        if (bcast_shape(x, nd, a, &sh, &r, d)) return FR_EINPUT;
        if ((rc = ox_const_alloc(x, nd, &o, a->cls, r, d))) return rc;
        for (int64_t k = 0; k < o.n; k++, next_idx(idx, d, r)) put(&o, k, a, bidx(a, idx, r));
    } else if (is_op(nd, "Reshape")) {
        if (nd->nin != 2 || !in[1]) return ox_err(x, nd, "Reshape needs a shape input");
        rc = fold_reshape_const(x, nd, a, &in[1]->c, &o);
    } else if (is_op(nd, "Flatten")) {
        int64_t ax = ox_attr_int(nd, "axis", 1);
        if (ax < 0) ax += a->ndim;
        if (ax < 0 || ax > a->ndim) return ox_err(x, nd, "Flatten: bad axis");
        int64_t p = 1;
        for (int k = 0; k < ax; k++) p *= a->dim[k];
        o = *a;
        o.ndim = 2;
        o.dim[0] = p;
        o.dim[1] = p ? a->n / p : 0;
    } else if (is_op(nd, "Transpose")) {
        rc = fold_transpose(x, nd, a, &o);
    } else {
        return ox_unsupported(x, nd, "on constant inputs (cannot fold)");
    }
    if (rc == FR_OK) set_out(x, nd, 0, &o);
    return rc;
}
