/* tfjs.c — TensorFlow.js layers-model importer; see include/frtui/tfjs.h for the mapping.
 *
 * Design note
 *   Three passes over untrusted input, each failing with one line that names the file and the
 *   layer or tensor:
 *   1. the weights manifest (src/import/tfjs_weights.c): every tensor's shape/dtype is checked, byte offsets are computed
 *      with overflow checks, the shard sizes must equal the manifest's total *before* anything
 *      proportional to them is allocated, then each tensor is decoded to float;
 *   2. the topology: layers are indexed by name (sorted, duplicates refused), inbound nodes are
 *      resolved, and an iterative depth-first post-order from the output layer gives a
 *      topological order with the output last (no recursion, so deep chains cannot overflow the
 *      stack; cycles and dangling references are detected here);
 *   3. emission: each layer appends zero or more fr_nodes; per-node shapes are computed as we go
 *      (SAME padding and Flatten need the input shape), then fr_graph_validate re-checks the
 *      whole graph, BN is folded, and the graph is validated again.
 *   Nothing here is global; the importer is reentrant.
 */
#include "frtui/tfjs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tfjs_int.h"

static const char *layer_name(const imp *I, int li)
{
    const char *nm = fr_json_str(fr_json_get(I->L[li], "name"));
    if (!nm) nm = fr_json_str(fr_json_get(fr_json_get(I->L[li], "config"), "name"));
    return nm ? nm : "?";
}


/* ------------------------------------------------------------- config helpers ---- */

/* An int or a list of two ints (Keras kernel_size/strides/dilation_rate), each in [lo, hi]. */
static int cfg_int2(imp *I, const char *layer, const fr_json *cfg, const char *key, int dflt, int lo, int hi, int out[2])
{
    const fr_json *v = fr_json_get(cfg, key);
    int64_t a, b;
    if (!v || v->type == FR_JSON_NULL) { out[0] = out[1] = dflt; return FR_OK; }
    if (fr_json_int(v, lo, hi, &a)) { out[0] = out[1] = (int)a; return FR_OK; }
    if (fr_json_len(v) == 2 && v->type == FR_JSON_ARRAY && fr_json_int(v->items[0], lo, hi, &a) &&
        fr_json_int(v->items[1], lo, hi, &b)) {
        out[0] = (int)a; out[1] = (int)b;
        return FR_OK;
    }
    return IERR("%s: layer %s: %s must be an integer or two integers in [%d, %d]", I->path, layer, key, lo, hi);
}

static int cfg_int(imp *I, const char *layer, const fr_json *cfg, const char *key, int dflt, int lo, int hi, int *out)
{
    const fr_json *v = fr_json_get(cfg, key);
    int64_t a;
    if (!v || v->type == FR_JSON_NULL) { *out = dflt; return FR_OK; }
    if (!fr_json_int(v, lo, hi, &a))
        return IERR("%s: layer %s: %s must be an integer in [%d, %d]", I->path, layer, key, lo, hi);
    *out = (int)a;
    return FR_OK;
}

static int cfg_bool(imp *I, const char *layer, const fr_json *cfg, const char *key, int dflt, int *out)
{
    const fr_json *v = fr_json_get(cfg, key);
    if (!v) { *out = dflt; return FR_OK; }
    int b = fr_json_bool(v);
    if (b < 0) return IERR("%s: layer %s: %s must be true or false", I->path, layer, key);
    *out = b;
    return FR_OK;
}

/* String field; missing -> dflt; wrong type -> error. */
static int cfg_str(imp *I, const char *layer, const fr_json *cfg, const char *key, const char *dflt, const char **out)
{
    const fr_json *v = fr_json_get(cfg, key);
    if (!v || v->type == FR_JSON_NULL) { *out = dflt; return FR_OK; }
    if (!(*out = fr_json_str(v))) return IERR("%s: layer %s: %s must be a string", I->path, layer, key);
    return FR_OK;
}

/* ---------------------------------------------------------------- emission ---- */

/* Computes node i's per-sample shape (mirrors fr_graph_infer_shapes for the ops we emit) so
 * later layers can use it; returns an error naming the Keras layer when it is invalid. */
static int set_shape(imp *I, const char *layer, int i)
{
    fr_graph *g = &I->m->g;
    fr_node *n = &g->nodes[i];
    const fr_node *x = n->n_in ? &g->nodes[n->in[0]] : NULL;
    const fr_attrs *a = &n->a;
    int64_t c = x ? x->c : 0, h = x ? x->h : 0, w = x ? x->w : 0;
    switch (n->op) {
    case FR_OP_CONV:
        c = g->tensors[n->param[0]].dim[0];
        h = (h + a->pt + a->pb - (int64_t)a->dh * (a->kh - 1) - 1) / a->sh + 1;
        w = (w + a->pl + a->pr - (int64_t)a->dw * (a->kw - 1) - 1) / a->sw + 1;
        if (x->h + a->pt + a->pb < (int64_t)a->dh * (a->kh - 1) + 1 || x->w + a->pl + a->pr < (int64_t)a->dw * (a->kw - 1) + 1)
            h = w = 0;
        break;
    case FR_OP_MAXPOOL: case FR_OP_AVGPOOL:
        if (x->h + a->pt + a->pb < a->kh || x->w + a->pl + a->pr < a->kw) { h = w = 0; break; }
        h = (h + a->pt + a->pb - a->kh) / a->sh + 1;
        w = (w + a->pl + a->pr - a->kw) / a->sw + 1;
        break;
    case FR_OP_LINEAR: c = g->tensors[n->param[0]].dim[0]; h = w = 1; break;
    case FR_OP_GAP: h = w = 1; break;
    case FR_OP_FLATTEN: c = c * h * w; h = w = 1; break;
    case FR_OP_PAD: h += a->pt + a->pb; w += a->pl + a->pr; break;
    case FR_OP_CONCAT:
        c = 0;
        for (int k = 0; k < n->n_in; k++) {
            const fr_node *y = &g->nodes[n->in[k]];
            if (y->h != x->h || y->w != x->w)
                return IERR("%s: layer %s: concatenated inputs differ in spatial size", I->path, layer);
            c += y->c;
        }
        break;
    case FR_OP_ADD: case FR_OP_SUB: case FR_OP_MUL:
        if (n->n_in == 2) {
            const fr_node *y = &g->nodes[n->in[1]];
            if (y->c != x->c || y->h != x->h || y->w != x->w)
                return IERR("%s: layer %s: inputs have different shapes (%dx%dx%d vs %dx%dx%d, CHW)", I->path, layer,
                            x->c, x->h, x->w, y->c, y->h, y->w);
        }
        break;
    case FR_OP_TRANSPOSE: {
        int64_t d[3] = {c, h, w};
        c = d[a->perm[0]]; h = d[a->perm[1]]; w = d[a->perm[2]];
        break;
    }
    case FR_OP_RESHAPE: c = a->out_c; h = a->out_h; w = a->out_w; break;
    default: break;   /* elementwise ops keep the shape; the input node is set by its caller */
    }
    if (h < 1 || w < 1 || c < 1 || c * h * w > ((int64_t)1 << 28))
        return IERR("%s: layer %s: output shape %lldx%lldx%lld (CHW) is empty or too large", I->path, layer,
                    (long long)c, (long long)h, (long long)w);
    n->c = (int)c; n->h = (int)h; n->w = (int)w;
    return FR_OK;
}

/* Appends a node reading `in` (n_in entries) and computes its shape.  Returns its index or -1. */
static int add(imp *I, const char *layer, const char *suffix, fr_op op, int n_in, const int *in, const fr_attrs *a,
               int n_param, const int *param)
{
    char nm[FR_NAME_MAX];
    snprintf(nm, sizeof nm, "%s%s%s", layer, suffix ? "/" : "", suffix ? suffix : "");
    fr_graph *g = &I->m->g;
    int i = fr_graph_add_node(g, nm, op, n_in, in);
    fr_node *n = &g->nodes[i];
    if (a) n->a = *a;
    n->n_param = n_param;
    for (int k = 0; k < n_param; k++) n->param[k] = param[k];
    return set_shape(I, layer, i) == FR_OK ? i : -1;
}

static fr_attrs attrs0(void)
{
    fr_attrs a;
    memset(&a, 0, sizeof a);
    a.sh = a.sw = a.dh = a.dw = a.groups = 1;
    a.eps = 1e-5f;
    a.perm[0] = 0; a.perm[1] = 1; a.perm[2] = 2;
    return a;
}

/* Appends the activation `act` after node x; "linear" appends nothing.  Returns the output
 * node or -1. */
static int add_activation(imp *I, const char *layer, const char *act, int x)
{
    fr_attrs a = attrs0();
    if (!act || strcmp(act, "linear") == 0) return x;
    if (strcmp(act, "relu") == 0) return add(I, layer, "relu", FR_OP_RELU, 1, &x, NULL, 0, NULL);
    if (strcmp(act, "relu6") == 0) return add(I, layer, "relu6", FR_OP_RELU6, 1, &x, NULL, 0, NULL);
    if (strcmp(act, "sigmoid") == 0) return add(I, layer, "sigmoid", FR_OP_SIGMOID, 1, &x, NULL, 0, NULL);
    if (strcmp(act, "softmax") == 0) return add(I, layer, "softmax", FR_OP_SOFTMAX, 1, &x, NULL, 0, NULL);
    if (strcmp(act, "hard_sigmoid") == 0) {   /* Keras 2 / tfjs: clip(0.2 x + 0.5, 0, 1) */
        a.alpha = 0.2f; a.beta = 0.5f;
        return add(I, layer, "hard_sigmoid", FR_OP_HARDSIGMOID, 1, &x, &a, 0, NULL);
    }
    IERR("%s: layer %s: activation \"%.40s\" is not supported", I->path, layer, act);
    return -1;
}

/* TF "same" padding along one axis. */
static void same_pad(int in, int k, int s, int d, int *lo, int *hi)
{
    int64_t eff = (int64_t)(k - 1) * d + 1, out = ((int64_t)in + s - 1) / s;
    int64_t tot = (out - 1) * s + eff - in;
    if (tot < 0) tot = 0;
    *lo = (int)(tot / 2);
    *hi = (int)(tot - tot / 2);
}

static int padding_mode(imp *I, const char *layer, const fr_json *cfg, int *same)
{
    const char *p;
    if (cfg_str(I, layer, cfg, "padding", "valid", &p) != FR_OK) return -1;
    if (strcmp(p, "valid") == 0) *same = 0;
    else if (strcmp(p, "same") == 0) *same = 1;
    else { IERR("%s: layer %s: padding \"%.20s\" is not supported (valid, same)", I->path, layer, p); return -1; }
    return 0;
}

/* New graph tensor "<layer>.<what>" with the given dims. */
static int new_tensor(imp *I, const char *layer, const char *what, int nd, const int64_t *dim)
{
    char nm[FR_NAME_MAX];
    snprintf(nm, sizeof nm, "%s.%s", layer, what);
    return fr_graph_add_tensor(&I->m->g, nm, nd, dim);
}

static int emit_conv(imp *I, const char *name, const fr_json *cfg, int x, int depthwise)
{
    fr_graph *g = &I->m->g;
    int ks[2] = {0, 0}, st[2] = {1, 1}, dl[2] = {1, 1}, same = 0, bias = 1, filters = 0, mult = 1, groups = 1;
    const char *act;
    if (cfg_int2(I, name, cfg, "kernel_size", -1, 1, 4096, ks) || cfg_int2(I, name, cfg, "strides", 1, 1, 4096, st) ||
        cfg_int2(I, name, cfg, "dilation_rate", 1, 1, 4096, dl) || padding_mode(I, name, cfg, &same) ||
        cfg_bool(I, name, cfg, "use_bias", 1, &bias) || cfg_str(I, name, cfg, "activation", "linear", &act))
        return -1;
    if (ks[0] < 0) { IERR("%s: layer %s: kernel_size missing", I->path, name); return -1; }
    const fr_node *in = &g->nodes[x];
    int C = in->c;
    if (depthwise) {
        if (cfg_int(I, name, cfg, "depth_multiplier", 1, 1, 4096, &mult)) return -1;
        filters = C * mult;
        groups = C;
    } else {
        if (cfg_int(I, name, cfg, "filters", -1, 1, 1 << 20, &filters) || cfg_int(I, name, cfg, "groups", 1, 1, 1 << 20, &groups))
            return -1;
        if (filters < 0) { IERR("%s: layer %s: filters missing", I->path, name); return -1; }
        if (C % groups || filters % groups) {
            IERR("%s: layer %s: %d input channels / %d filters not divisible by groups %d", I->path, name, C, filters, groups);
            return -1;
        }
    }
    int cg = C / groups;
    int64_t kd[4] = {ks[0], ks[1], depthwise ? C : cg, depthwise ? mult : filters};
    const wt *K = tj_get_weight(I, name, depthwise ? "depthwise_kernel" : "kernel", 4, kd);
    if (!K) return -1;
    const wt *B = NULL;
    int64_t bd[1] = {filters};
    if (bias && !(B = tj_get_weight(I, name, "bias", 1, bd))) return -1;
    int64_t wd[4] = {filters, depthwise ? 1 : cg, ks[0], ks[1]};
    int tw = new_tensor(I, name, "weight", 4, wd);
    float *W = g->tensors[tw].data;
    for (int y = 0; y < ks[0]; y++)
        for (int xx = 0; xx < ks[1]; xx++)
            for (int i = 0; i < (int)kd[2]; i++)
                for (int o = 0; o < (int)kd[3]; o++) {
                    float v = K->data[(((size_t)y * ks[1] + xx) * kd[2] + i) * kd[3] + o];
                    /* depthwise: channel i, multiplier o -> output i*mult+o (TF order) */
                    size_t oo = depthwise ? (size_t)i * mult + o : (size_t)o, ii = depthwise ? 0 : (size_t)i;
                    W[((oo * wd[1] + ii) * ks[0] + y) * ks[1] + xx] = v;
                }
    int params[2] = {tw, -1}, np = 1;
    if (B) {
        params[1] = new_tensor(I, name, "bias", 1, bd);
        memcpy(g->tensors[params[1]].data, B->data, (size_t)filters * sizeof(float));
        np = 2;
    }
    fr_attrs a = attrs0();
    a.kh = ks[0]; a.kw = ks[1]; a.sh = st[0]; a.sw = st[1]; a.dh = dl[0]; a.dw = dl[1]; a.groups = groups;
    if (same) {
        same_pad(in->h, ks[0], st[0], dl[0], &a.pt, &a.pb);
        same_pad(in->w, ks[1], st[1], dl[1], &a.pl, &a.pr);
    }
    int y = add(I, name, NULL, FR_OP_CONV, 1, &x, &a, np, params);
    return y < 0 ? -1 : add_activation(I, name, act, y);
}

static int emit_dense(imp *I, const char *name, const fr_json *cfg, int x)
{
    fr_graph *g = &I->m->g;
    int units = -1, bias = 1;
    const char *act;
    if (cfg_int(I, name, cfg, "units", -1, 1, 1 << 24, &units) || cfg_bool(I, name, cfg, "use_bias", 1, &bias) ||
        cfg_str(I, name, cfg, "activation", "linear", &act))
        return -1;
    if (units < 0) { IERR("%s: layer %s: units missing", I->path, name); return -1; }
    const fr_node *in = &g->nodes[x];
    if (in->h != 1 || in->w != 1) {
        IERR("%s: layer %s: Dense on a %dx%d map is not supported (add a Flatten)", I->path, name, in->h, in->w);
        return -1;
    }
    int64_t kd[2] = {in->c, units}, bd[1] = {units};
    const wt *K = tj_get_weight(I, name, "kernel", 2, kd), *B = NULL;
    if (!K || (bias && !(B = tj_get_weight(I, name, "bias", 1, bd)))) return -1;
    int64_t wd[2] = {units, in->c};
    int tw = new_tensor(I, name, "weight", 2, wd);
    float *W = g->tensors[tw].data;
    for (int64_t i = 0; i < kd[0]; i++)
        for (int64_t o = 0; o < units; o++) W[o * kd[0] + i] = K->data[i * units + o];
    int params[2] = {tw, -1}, np = 1;
    if (B) {
        params[1] = new_tensor(I, name, "bias", 1, bd);
        memcpy(g->tensors[params[1]].data, B->data, (size_t)units * sizeof(float));
        np = 2;
    }
    int y = add(I, name, NULL, FR_OP_LINEAR, 1, &x, NULL, np, params);
    return y < 0 ? -1 : add_activation(I, name, act, y);
}

static int emit_bn(imp *I, const char *name, const fr_json *cfg, int x)
{
    fr_graph *g = &I->m->g;
    int center = 1, scale = 1, axis = -1;
    double eps;
    if (cfg_bool(I, name, cfg, "center", 1, &center) || cfg_bool(I, name, cfg, "scale", 1, &scale) ||
        cfg_int(I, name, cfg, "axis", -1, -1, 3, &axis))
        return -1;
    const fr_node *in = &g->nodes[x];
    int flat = in->h == 1 && in->w == 1;
    if (!(axis == -1 || axis == 3 || (flat && axis == 1))) {
        IERR("%s: layer %s: BatchNormalization over axis %d is not supported (channels only)", I->path, name, axis);
        return -1;
    }
    const fr_json *ej = fr_json_get(cfg, "epsilon");
    if (!ej) eps = 1e-3;   /* Keras default */
    else if (!fr_json_num(ej, &eps) || !(eps > 0) || eps > 1) {
        IERR("%s: layer %s: epsilon must be a number in (0, 1]", I->path, name);
        return -1;
    }
    int64_t cd[1] = {in->c};
    static const char *const sfx[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    int params[4];
    for (int k = 0; k < 4; k++) {
        const wt *t = NULL;
        if ((k == 0 && !scale) || (k == 1 && !center)) {
            params[k] = new_tensor(I, name, sfx[k], 1, cd);
            if (k == 0)
                for (int c = 0; c < in->c; c++) g->tensors[params[k]].data[c] = 1.0f;
            continue;
        }
        if (!(t = tj_get_weight(I, name, sfx[k], 1, cd))) return -1;
        if (k == 3)
            for (int c = 0; c < in->c; c++)
                if (t->data[c] < 0) {
                    IERR("%s: layer %s: tensor %s has a negative variance at %d", I->path, name, t->name, c);
                    return -1;
                }
        params[k] = new_tensor(I, name, sfx[k], 1, cd);
        memcpy(g->tensors[params[k]].data, t->data, (size_t)in->c * sizeof(float));
    }
    fr_attrs a = attrs0();
    a.eps = (float)eps;
    return add(I, name, NULL, FR_OP_BN, 1, &x, &a, 4, params);
}

static int emit_pool(imp *I, const char *name, const fr_json *cfg, int x, int is_max)
{
    int ps[2] = {1, 1}, st[2] = {1, 1}, same = 0;
    if (cfg_int2(I, name, cfg, "pool_size", 2, 1, 4096, ps) || padding_mode(I, name, cfg, &same)) return -1;
    const fr_json *sj = fr_json_get(cfg, "strides");
    if (!sj || sj->type == FR_JSON_NULL) { st[0] = ps[0]; st[1] = ps[1]; }   /* Keras: strides default to pool */
    else if (cfg_int2(I, name, cfg, "strides", 1, 1, 4096, st)) return -1;
    const fr_node *in = &I->m->g.nodes[x];
    fr_attrs a = attrs0();
    a.kh = ps[0]; a.kw = ps[1]; a.sh = st[0]; a.sw = st[1];
    if (same) {
        same_pad(in->h, ps[0], st[0], 1, &a.pt, &a.pb);
        same_pad(in->w, ps[1], st[1], 1, &a.pl, &a.pr);
    }
    a.count_include_pad = 0;   /* TF averages over the valid pixels only */
    /* A valid average pool whose window is the whole input is a global average pool. */
    if (!is_max && !same && ps[0] == in->h && ps[1] == in->w)
        return add(I, name, NULL, FR_OP_GAP, 1, &x, NULL, 0, NULL);
    return add(I, name, NULL, is_max ? FR_OP_MAXPOOL : FR_OP_AVGPOOL, 1, &x, &a, 0, NULL);
}

static int emit_zeropad(imp *I, const char *name, const fr_json *cfg, int x)
{
    const fr_json *p = fr_json_get(cfg, "padding");
    int64_t v[4] = {1, 1, 1, 1};   /* top, bottom, left, right; Keras default 1 */
    int ok = 1;
    if (!p) ok = 1;
    else if (fr_json_int(p, 0, 65536, &v[0])) v[1] = v[2] = v[3] = v[0];
    else if (p->type == FR_JSON_ARRAY && p->n == 2 && p->items[0]->type == FR_JSON_NUMBER) {
        ok = fr_json_int(p->items[0], 0, 65536, &v[0]) && fr_json_int(p->items[1], 0, 65536, &v[2]);
        v[1] = v[0]; v[3] = v[2];
    } else if (p->type == FR_JSON_ARRAY && p->n == 2) {
        const fr_json *a = p->items[0], *b = p->items[1];
        ok = fr_json_len(a) == 2 && fr_json_len(b) == 2 && a->type == FR_JSON_ARRAY && b->type == FR_JSON_ARRAY &&
             fr_json_int(a->items[0], 0, 65536, &v[0]) && fr_json_int(a->items[1], 0, 65536, &v[1]) &&
             fr_json_int(b->items[0], 0, 65536, &v[2]) && fr_json_int(b->items[1], 0, 65536, &v[3]);
    } else ok = 0;
    if (!ok) { IERR("%s: layer %s: padding must be n, [h, w] or [[top, bottom], [left, right]]", I->path, name); return -1; }
    fr_attrs a = attrs0();
    a.pt = (int)v[0]; a.pb = (int)v[1]; a.pl = (int)v[2]; a.pr = (int)v[3];
    return add(I, name, NULL, FR_OP_PAD, 1, &x, &a, 0, NULL);
}

/* Keras flattens NHWC: transpose (C,H,W) -> (H,W,C) first unless the map is 1x1. */
static int emit_flatten(imp *I, const char *name, int x)
{
    const fr_node *in = &I->m->g.nodes[x];
    if (in->h == 1 && in->w == 1) return add(I, name, NULL, FR_OP_FLATTEN, 1, &x, NULL, 0, NULL);
    fr_attrs a = attrs0();
    a.perm[0] = 1; a.perm[1] = 2; a.perm[2] = 0;
    int t = add(I, name, "nhwc", FR_OP_TRANSPOSE, 1, &x, &a, 0, NULL);
    return t < 0 ? -1 : add(I, name, NULL, FR_OP_FLATTEN, 1, &t, NULL, 0, NULL);
}

/* Reshape to [N] or [H, W, C] (Keras data order NHWC). */
static int emit_reshape(imp *I, const char *name, const fr_json *cfg, int x)
{
    const fr_json *ts = fr_json_get(cfg, "target_shape");
    int64_t d[3] = {1, 1, 1};
    size_t nd = fr_json_len(ts);
    if (!ts || ts->type != FR_JSON_ARRAY || (nd != 1 && nd != 3)) {
        IERR("%s: layer %s: only Reshape to [n] or [h, w, c] is supported", I->path, name);
        return -1;
    }
    for (size_t k = 0; k < nd; k++)
        if (!fr_json_int(ts->items[k], 1, 1 << 28, &d[k])) {
            IERR("%s: layer %s: target_shape entries must be positive integers (no -1)", I->path, name);
            return -1;
        }
    const fr_node *in = &I->m->g.nodes[x];
    if (d[0] * d[1] * d[2] != (int64_t)in->c * in->h * in->w) {
        IERR("%s: layer %s: cannot reshape %d values to the target shape", I->path, name, in->c * in->h * in->w);
        return -1;
    }
    if (nd == 1) return emit_flatten(I, name, x);
    if (in->h != 1 || in->w != 1) {
        fr_attrs t = attrs0();
        t.perm[0] = 1; t.perm[1] = 2; t.perm[2] = 0;
        if ((x = add(I, name, "nhwc", FR_OP_TRANSPOSE, 1, &x, &t, 0, NULL)) < 0) return -1;
    }
    fr_attrs a = attrs0();
    a.out_c = (int)d[0]; a.out_h = (int)d[1]; a.out_w = (int)d[2];
    int r = add(I, name, "hwc", FR_OP_RESHAPE, 1, &x, &a, 0, NULL);
    if (r < 0) return -1;
    fr_attrs b = attrs0();
    b.perm[0] = 2; b.perm[1] = 0; b.perm[2] = 1;   /* (H,W,C) -> (C,H,W) */
    return add(I, name, NULL, FR_OP_TRANSPOSE, 1, &r, &b, 0, NULL);
}

static int emit_relu(imp *I, const char *name, const fr_json *cfg, int x)
{
    double mv = -1, ns = 0, th = 0;
    const fr_json *v = fr_json_get(cfg, "max_value");
    if (v && v->type != FR_JSON_NULL && (!fr_json_num(v, &mv) || mv < 0)) {
        IERR("%s: layer %s: max_value must be a non-negative number or null", I->path, name);
        return -1;
    }
    if ((fr_json_get(cfg, "negative_slope") && !fr_json_num(fr_json_get(cfg, "negative_slope"), &ns)) ||
        (fr_json_get(cfg, "threshold") && !fr_json_num(fr_json_get(cfg, "threshold"), &th)) || ns != 0 || th != 0) {
        IERR("%s: layer %s: ReLU with negative_slope/threshold other than 0 is not supported", I->path, name);
        return -1;
    }
    if (mv < 0) return add(I, name, NULL, FR_OP_RELU, 1, &x, NULL, 0, NULL);
    if (mv == 6) return add(I, name, NULL, FR_OP_RELU6, 1, &x, NULL, 0, NULL);
    fr_attrs a = attrs0();
    a.alpha = 0; a.beta = (float)mv;
    return add(I, name, NULL, FR_OP_CLIP, 1, &x, &a, 0, NULL);
}

/* Add/Subtract/Multiply (chained pairwise) and Concatenate (channels). */
static int emit_merge(imp *I, const char *name, const char *cls, const fr_json *cfg, int n_in, const int *in)
{
    if (strcmp(cls, "Concatenate") == 0) {
        int axis;
        if (cfg_int(I, name, cfg, "axis", -1, -4, 3, &axis)) return -1;
        if (axis != -1 && axis != 3) {
            IERR("%s: layer %s: Concatenate over axis %d is not supported (channels only)", I->path, name, axis);
            return -1;
        }
        if (n_in > FR_MAX_IN) { IERR("%s: layer %s: more than %d inputs", I->path, name, FR_MAX_IN); return -1; }
        return add(I, name, NULL, FR_OP_CONCAT, n_in, in, NULL, 0, NULL);
    }
    fr_op op = cls[0] == 'A' ? FR_OP_ADD : cls[0] == 'S' ? FR_OP_SUB : FR_OP_MUL;
    if (n_in < 2 || (op == FR_OP_SUB && n_in != 2)) {
        IERR("%s: layer %s: %s needs %s inputs, has %d", I->path, name, cls, op == FR_OP_SUB ? "2" : "at least 2", n_in);
        return -1;
    }
    int acc = in[0];
    for (int k = 1; k < n_in && acc >= 0; k++) {
        int pair[2] = {acc, in[k]};
        char sfx[16];
        snprintf(sfx, sizeof sfx, "%d", k);
        acc = add(I, name, k == n_in - 1 ? NULL : sfx, op, 2, pair, NULL, 0, NULL);
    }
    return acc;
}

/* Input shape from batch_input_shape / batch_shape: [null, H, W, C] or [null, N]. */
static int set_input(imp *I, const char *name, const fr_json *cfg)
{
    const fr_json *s = fr_json_get(cfg, "batch_input_shape");
    if (!s) s = fr_json_get(cfg, "batch_shape");
    int64_t d[3] = {1, 1, 1};
    size_t n = fr_json_len(s);
    if (!s || s->type != FR_JSON_ARRAY || (n != 4 && n != 2) ||
        (s->items[0]->type != FR_JSON_NULL && !fr_json_int(s->items[0], 1, 1 << 20, &d[0])))
        return IERR("%s: layer %s: batch_input_shape must be [null, H, W, C] or [null, N]", I->path, name);
    for (size_t k = 1; k < n; k++)
        if (!fr_json_int(s->items[k], 1, 1 << 20, &d[k - 1]))
            return IERR("%s: layer %s: batch_input_shape[%zu] must be a positive integer", I->path, name, k);
    fr_meta *m = &I->m->meta;
    if (n == 4) { m->in_h = (int)d[0]; m->in_w = (int)d[1]; m->in_c = (int)d[2]; }
    else { m->in_c = (int)d[0]; m->in_h = m->in_w = 1; }
    if ((int64_t)m->in_c * m->in_h * m->in_w > ((int64_t)1 << 26))
        return IERR("%s: layer %s: input shape is too large", I->path, name);
    int i = fr_graph_add_node(&I->m->g, name, FR_OP_INPUT, 0, NULL);
    I->m->g.nodes[i].c = m->in_c; I->m->g.nodes[i].h = m->in_h; I->m->g.nodes[i].w = m->in_w;
    return FR_OK;
}

/* Emits layer li whose inputs are the fr nodes in[0..n_in); sets I->l_out[li]. */
static int emit_layer(imp *I, int li, int n_in, const int *in)
{
    const fr_json *L = I->L[li], *cfg = fr_json_get(L, "config");
    const char *cls = fr_json_str(fr_json_get(L, "class_name"));
    const char *name = layer_name(I, li);
    const char *df;
    if (cfg_str(I, name, cfg, "data_format", "channels_last", &df)) return FR_EINPUT;
    if (strcmp(df, "channels_last") != 0)
        return IERR("%s: layer %s: data_format %.20s is not supported (channels_last only)", I->path, name, df);
    if (strcmp(cls, "InputLayer") == 0) {
        if (I->m->g.n_nodes != 0) return IERR("%s: layer %s: more than one input layer", I->path, name);
        if (set_input(I, name, cfg)) return FR_EINPUT;
        I->l_out[li] = 0;
        return FR_OK;
    }
    if (n_in < 1) return IERR("%s: layer %s (%s) has no inbound nodes", I->path, name, cls);
    int multi = strcmp(cls, "Add") == 0 || strcmp(cls, "Subtract") == 0 || strcmp(cls, "Multiply") == 0 ||
                strcmp(cls, "Concatenate") == 0;
    if (!multi && n_in != 1) return IERR("%s: layer %s (%s) has %d inputs, expected 1", I->path, name, cls, n_in);
    int x = in[0], y;
    const char *act;
    if (multi) y = emit_merge(I, name, cls, cfg, n_in, in);
    else if (strcmp(cls, "Conv2D") == 0) y = emit_conv(I, name, cfg, x, 0);
    else if (strcmp(cls, "DepthwiseConv2D") == 0) y = emit_conv(I, name, cfg, x, 1);
    else if (strcmp(cls, "Dense") == 0) y = emit_dense(I, name, cfg, x);
    else if (strcmp(cls, "BatchNormalization") == 0) y = emit_bn(I, name, cfg, x);
    else if (strcmp(cls, "ReLU") == 0) y = emit_relu(I, name, cfg, x);
    else if (strcmp(cls, "Activation") == 0)
        y = cfg_str(I, name, cfg, "activation", NULL, &act) ? -1
          : !act ? (IERR("%s: layer %s: activation missing", I->path, name), -1) : add_activation(I, name, act, x);
    else if (strcmp(cls, "ZeroPadding2D") == 0) y = emit_zeropad(I, name, cfg, x);
    else if (strcmp(cls, "AveragePooling2D") == 0) y = emit_pool(I, name, cfg, x, 0);
    else if (strcmp(cls, "MaxPooling2D") == 0) y = emit_pool(I, name, cfg, x, 1);
    else if (strcmp(cls, "GlobalAveragePooling2D") == 0) y = add(I, name, NULL, FR_OP_GAP, 1, &x, NULL, 0, NULL);
    else if (strcmp(cls, "GlobalMaxPooling2D") == 0) {
        fr_attrs a = attrs0();
        a.kh = I->m->g.nodes[x].h; a.kw = I->m->g.nodes[x].w;
        y = add(I, name, NULL, FR_OP_MAXPOOL, 1, &x, &a, 0, NULL);
    } else if (strcmp(cls, "Flatten") == 0) y = emit_flatten(I, name, x);
    else if (strcmp(cls, "Reshape") == 0) y = emit_reshape(I, name, cfg, x);
    else if (strcmp(cls, "Dropout") == 0 || strcmp(cls, "SpatialDropout2D") == 0) y = x;
    else return IERR("%s: layer %s: unsupported layer class %.60s", I->path, name, cls);
    if (y < 0) return I->e ? I->e->code : FR_EINPUT;
    I->l_out[li] = y;
    return FR_OK;
}

/* ---------------------------------------------------------------- topology ---- */

/* [name, node_index, tensor_index(, kwargs)] with both indices 0 (each layer called once). */
static int parse_ref(imp *I, const char *who, const fr_json *r, const char **name)
{
    int64_t a, b;
    if (!r || r->type != FR_JSON_ARRAY || r->n < 3 || r->n > 4 || !(*name = fr_json_str(r->items[0])) ||
        !fr_json_int(r->items[1], 0, 0, &a) || !fr_json_int(r->items[2], 0, 0, &b) ||
        (r->n == 4 && r->items[3]->type != FR_JSON_OBJECT))
        return IERR("%s: layer %s: inbound reference must be [name, 0, 0, {}] (shared layers are not supported)",
                    I->path, who);
    return FR_OK;
}

static int lookup_layer(imp *I, const char *who, const char *ref)
{
    int j = tj_nkey_find(I->l_sorted, I->nl, ref);
    if (j < 0) IERR("%s: layer %s: inbound node \"%.80s\" names no layer", I->path, who, ref);
    return j;
}

static int import_graph(imp *I, const fr_json *root)
{
    const fr_json *topo = fr_json_get(root, "modelTopology");
    if (!topo || topo->type != FR_JSON_OBJECT) return IERR("%s: modelTopology missing or not an object", I->path);
    const fr_json *mc = fr_json_get(topo, "model_config");
    if (!mc) mc = topo;   /* newer converters put the Keras config directly here */
    const char *cls = fr_json_str(fr_json_get(mc, "class_name"));
    const fr_json *cfg = fr_json_get(mc, "config");
    if (!cls) return IERR("%s: model_config.class_name missing", I->path);
    I->sequential = strcmp(cls, "Sequential") == 0;
    if (!I->sequential && strcmp(cls, "Model") != 0 && strcmp(cls, "Functional") != 0)
        return IERR("%s: model class %.40s is not supported (Model, Functional, Sequential)", I->path, cls);
    const fr_json *layers = cfg && cfg->type == FR_JSON_ARRAY ? cfg : fr_json_get(cfg, "layers");
    if (!layers || layers->type != FR_JSON_ARRAY || layers->n == 0)
        return IERR("%s: model_config.config.layers missing or empty", I->path);
    if (layers->n > FR_TFJS_MAX_LAYERS) return IERR("%s: %u layers (limit %d)", I->path, layers->n, FR_TFJS_MAX_LAYERS);
    const char *mname = fr_json_str(fr_json_get(cfg, "name"));
    if (mname) snprintf(I->m->meta.name, sizeof I->m->meta.name, "%s", mname);
    I->nl = (int)layers->n;
    I->L = fr_xcalloc((size_t)I->nl, sizeof *I->L);
    I->l_out = fr_xcalloc((size_t)I->nl, sizeof *I->l_out);
    I->l_sorted = fr_xcalloc((size_t)I->nl, sizeof *I->l_sorted);
    for (int i = 0; i < I->nl; i++) {
        const fr_json *L = layers->items[i];
        I->L[i] = L;
        I->l_out[i] = -1;
        const char *lc = fr_json_str(fr_json_get(L, "class_name"));
        const fr_json *lcfg = fr_json_get(L, "config");
        const char *nm = fr_json_str(fr_json_get(L, "name"));
        if (!nm) nm = fr_json_str(fr_json_get(lcfg, "name"));
        if (!nm || !*nm) return IERR("%s: layers[%d]: name missing", I->path, i);
        if (strlen(nm) > NAME_LIMIT) return IERR("%s: layers[%d]: name longer than %d characters", I->path, i, NAME_LIMIT);
        if (!lc) return IERR("%s: layer %s: class_name missing", I->path, nm);
        if (!lcfg || lcfg->type != FR_JSON_OBJECT) return IERR("%s: layer %s: config missing or not an object", I->path, nm);
        I->l_sorted[i] = (nkey){nm, i};
    }
    qsort(I->l_sorted, (size_t)I->nl, sizeof *I->l_sorted, tj_nkey_cmp);
    for (int i = 1; i < I->nl; i++)
        if (strcmp(I->l_sorted[i - 1].name, I->l_sorted[i].name) == 0)
            return IERR("%s: layer %s: name used twice", I->path, I->l_sorted[i].name);

    if (I->sequential) {
        for (int i = 0; i < I->nl; i++) {
            const fr_json *L = I->L[i];
            int is_input = strcmp(fr_json_str(fr_json_get(L, "class_name")), "InputLayer") == 0;
            if (i == 0 && !is_input && set_input(I, "input", fr_json_get(L, "config"))) return FR_EINPUT;
            int x = i == 0 ? 0 : I->l_out[i - 1];
            if (emit_layer(I, i, i == 0 && is_input ? 0 : 1, &x)) return FR_EINPUT;
        }
        return FR_OK;
    }

    /* Functional: resolve every layer's inputs into one flat array. */
    int *in_off = fr_xcalloc((size_t)I->nl + 1, sizeof(int));
    int cap = 64, nflat = 0, rc = FR_OK;
    int *flat = fr_xmalloc((size_t)cap * sizeof(int));
    for (int i = 0; i < I->nl && rc == FR_OK; i++) {
        const fr_json *L = I->L[i];
        const char *nm = layer_name(I, i);
        in_off[i] = nflat;
        const fr_json *ib = fr_json_get(L, "inbound_nodes");
        if (!ib || ib->type != FR_JSON_ARRAY) { rc = IERR("%s: layer %s: inbound_nodes missing", I->path, nm); break; }
        if (ib->n == 0) continue;
        const fr_json *node = ib->items[0];
        if (ib->n > 1) { rc = IERR("%s: layer %s: called %u times (shared layers are not supported)", I->path, nm, ib->n); break; }
        if (node->type != FR_JSON_ARRAY || node->n == 0 || node->n > 64) {
            rc = IERR("%s: layer %s: inbound_nodes[0] must be a list of 1..64 references", I->path, nm);
            break;
        }
        for (uint32_t k = 0; k < node->n; k++) {
            const char *ref;
            int j;
            if ((rc = parse_ref(I, nm, node->items[k], &ref)) != FR_OK) break;
            if ((j = lookup_layer(I, nm, ref)) < 0) { rc = FR_EINPUT; break; }
            if (nflat == cap) { cap *= 2; flat = fr_xrealloc(flat, (size_t)cap * sizeof(int)); }
            flat[nflat++] = j;
        }
    }
    in_off[I->nl] = nflat;
    int out_layer = -1;
    if (rc == FR_OK) {
        const fr_json *ol = fr_json_get(cfg, "output_layers"), *il = fr_json_get(cfg, "input_layers");
        const char *ref, *iref;
        if (!ol || ol->type != FR_JSON_ARRAY || ol->n != 1 || !il || il->type != FR_JSON_ARRAY || il->n != 1)
            rc = IERR("%s: model needs exactly one entry in input_layers and output_layers", I->path);
        else if ((rc = parse_ref(I, "output_layers", ol->items[0], &ref)) == FR_OK &&
                 (rc = parse_ref(I, "input_layers", il->items[0], &iref)) == FR_OK) {
            out_layer = lookup_layer(I, "output_layers", ref);
            int in_layer = lookup_layer(I, "input_layers", iref);
            if (out_layer < 0 || in_layer < 0) rc = FR_EINPUT;
            else if (strcmp(fr_json_str(fr_json_get(I->L[in_layer], "class_name")), "InputLayer") != 0)
                rc = IERR("%s: input_layers names %s, which is not an InputLayer", I->path, iref);
        }
    }
    /* Iterative DFS post-order from the output layer: 0 new, 1 on the stack, 2 emitted. */
    unsigned char *state = fr_xcalloc((size_t)I->nl, 1);
    int *stk = fr_xmalloc((size_t)I->nl * sizeof(int)), *pos = fr_xcalloc((size_t)I->nl, sizeof(int)), sp = 0;
    if (rc == FR_OK) { stk[sp++] = out_layer; state[out_layer] = 1; }
    while (rc == FR_OK && sp > 0) {
        int li = stk[sp - 1];
        if (in_off[li] + pos[li] < in_off[li + 1]) {
            int j = flat[in_off[li] + pos[li]++];
            if (state[j] == 1) {
                rc = IERR("%s: layer %s: cycle through inbound node %s", I->path, layer_name(I, li), layer_name(I, j));
                break;
            }
            if (state[j] == 0) { state[j] = 1; stk[sp++] = j; }
            continue;
        }
        /* All inputs emitted: emit this layer. */
        int n_in = in_off[li + 1] - in_off[li], ins[64];
        for (int k = 0; k < n_in; k++) ins[k] = I->l_out[flat[in_off[li] + k]];
        rc = emit_layer(I, li, n_in, ins);
        state[li] = 2;
        sp--;
    }
    if (rc == FR_OK && I->l_out[out_layer] != I->m->g.n_nodes - 1)
        rc = IERR("%s: output layer does not produce the last node", I->path);
    free(state); free(stk); free(pos); free(flat); free(in_off);
    return rc;
}

/* Shared by the file and memory entry points: json[0..n) is model.json, `path` names it. */
static int import_core(imp *I, const char *json, size_t n, const char *weights_path)
{
    const char *model_json_path = I->path;
    fr_model *m = I->m;
    fr_err *e = I->e;
    fr_json_doc *doc = NULL;
    int rc = fr_json_parse(json, n, model_json_path, &doc, e);
    const fr_json *root = fr_json_root(doc);
    /* A bare weights manifest (a top-level array, no topology): the one such network frtui
     * knows, face-api's face-recognition ResNet (src/import/faceres.c), sets its own meta. */
    int bare = rc == FR_OK && root && root->type == FR_JSON_ARRAY &&
               !(root->n > 0 && fr_json_get(root->items[0], "modelTopology"));   /* a model.json in a list */
    if (rc == FR_OK && !bare && (!root || root->type != FR_JSON_OBJECT))
        rc = IERR("%s: top-level JSON value is not an object (a model.json) nor a weights-manifest array", I->path);
    if (rc == FR_OK && bare) {
        m->meta.n_classes = 0;
        if ((rc = tj_import_faceres(I, root, weights_path)) == FR_OK) {
            snprintf(m->meta.layout, sizeof m->meta.layout, "NCHW");
            rc = fr_graph_validate(&m->g, &m->meta, model_json_path, e);   /* infers the shapes */
            m->meta.n_classes = m->g.nodes[m->g.n_nodes - 1].c;              /* the 128-d embedding */
        }
    } else {
        if (rc == FR_OK) rc = tj_load_weights(I, root, weights_path);
        if (rc == FR_OK) rc = import_graph(I, root);
    }
    if (rc == FR_OK && !bare) {
        fr_meta *mt = &m->meta;
        if (!mt->name[0]) {
            const char *b = strrchr(model_json_path, '/');
            snprintf(mt->name, sizeof mt->name, "%s", b ? b + 1 : model_json_path);
        }
        snprintf(mt->layout, sizeof mt->layout, "NCHW");
        for (int c = 0; c < 4; c++) { mt->mean[c] = 0; mt->std[c] = 1; }
        mt->n_classes = m->g.nodes[m->g.n_nodes - 1].c;
        const char *kv = fr_json_str(fr_json_get(fr_json_get(root, "modelTopology"), "keras_version"));
        const char *bn = strrchr(model_json_path, '/');
        snprintf(mt->provenance, sizeof mt->provenance,
                 "tfjs layers-model import of %.200s (Keras %.20s, %d layers, %d weight tensors); frtui input is "
                 "NCHW %dx%dx%d (the Keras model takes NHWC [N,%d,%d,%d]); uint8/uint16-quantized weights "
                 "dequantized as min+scale*q; BatchNorm folded into the preceding conv/dense where possible",
                 bn ? bn + 1 : model_json_path, kv ? kv : "?", I->nl, I->nw, mt->in_c, mt->in_h, mt->in_w, mt->in_h,
                 mt->in_w, mt->in_c);
        rc = fr_graph_validate(&m->g, mt, model_json_path, e);
        if (rc == FR_OK) {
            fr_graph_fold_bn(&m->g);
            fr_graph_fuse_acts(&m->g);
            rc = fr_graph_validate(&m->g, mt, model_json_path, e);
        }
    }
    for (int i = 0; i < I->nw; i++) fr_afree(I->w[i].data);
    free(I->w); free(I->w_sorted); free(I->L); free(I->l_out); free(I->l_sorted);
    fr_json_free(doc);
    if (rc != FR_OK) fr_model_free(m);
    return rc;
}

int fr_tfjs_import(const char *model_json_path, const char *weights_path, fr_model *m, fr_err *e)
{
    fr_err local;
    fr_err_clear(&local);
    if (!e) e = &local;
    fr_model_init(m);
    imp II;
    memset(&II, 0, sizeof II);
    II.path = model_json_path;
    II.e = e;
    II.m = m;
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = fr_read_file(model_json_path, FR_TFJS_MAX_JSON, &buf, &n, e);
    if (rc == FR_OK) rc = import_core(&II, (const char *)buf, n, weights_path);
    free(buf);
    return rc;
}

int fr_tfjs_import_mem(const char *json, size_t json_n, const uint8_t *weights, size_t weights_n, const char *name,
                       fr_model *m, fr_err *e)
{
    fr_err local;
    fr_err_clear(&local);
    if (!e) e = &local;
    fr_model_init(m);
    if (json_n > FR_TFJS_MAX_JSON)
        return fr_err_set(e, FR_EINPUT, "%s: model.json too large (%zu bytes)", name, json_n);
    imp II;
    memset(&II, 0, sizeof II);
    II.path = name;
    II.e = e;
    II.m = m;
    II.use_mem = 1;
    II.wmem = weights;
    II.wmem_n = weights ? weights_n : 0;
    return import_core(&II, json, json_n, NULL);
}
