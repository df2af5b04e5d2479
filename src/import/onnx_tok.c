/* onnx_tok.c — transformer graphs as torch.onnx.export writes them, lowered onto frtui's token ops.
 *
 * Design note
 *   A model whose input is token ids ([N, T] int32/int64) runs in token mode: every activation
 *   is one fr node of shape (T, 1, F) and carries a logical layout (ox_tok): [T, F], the per-head
 *   views [T, H, hd] and [H, T, hd] (a Reshape and a Transpose that move no data in frtui), and
 *   the transposed keys [H, hd, T].  Exporters write LayerNorm, RMSNorm, GELU, SiLU, rotary
 *   embeddings, grouped KV heads and attention as chains of primitive operators; frtui has one
 *   operator for each whole chain.  Rather than matching fixed subgraphs, each primitive on a
 *   token value either produces a real node or a *pending pattern* (ox_tv, value kind OX_VIRT)
 *   that records what it has seen so far: Pow(x, 2) -> "x squared", ReduceMean of that -> "mean
 *   square of x", + eps, Sqrt, then x / that -> RMSNorm(x).  The next operator either extends
 *   the pattern or asks for a real value, which materialises the pattern if it is a complete
 *   computation by itself (x * const, a linear layer, a sigmoid) or refuses with a one-line
 *   message naming the node (a lone Slice of half a head has no frtui node).  The order in which
 *   exporters write commutative operands and the scale before or after the product do not
 *   matter; other formulas are refused, never approximated.
 *   Linear layers and norms stay pending until used so that a following bias Add, a gain Mul,
 *   a Split of fused q/k/v rows or a beta Add fold into their parameters without leaving dead
 *   nodes.  Attention is matched from MatMul(q, k^T) through scale, the causal mask (Add of a
 *   constant or Where), Softmax and the product with v; keys repeated for grouped heads
 *   (repeat_interleave or HF's expand/reshape) are tracked as a head map, which must be the
 *   grouping FR_OP_ATTENTION implements (head h reads kv head h / (H / KV)).  RoPE tables are
 *   checked against cos/sin of t * theta^(-2i/hd) in rotate-half order, theta recovered from
 *   the tables; anything else is refused.
 *   Ownership: patterns, head maps and folded weights live in the import arena.
 *   Files: this one holds layouts, materialising, the shape operators and the dispatch;
 *   onnx_tok_ops.c the arithmetic patterns and linear layers; onnx_tok_int.h what they share.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_tok_int.h"

/* A node named like the module it came from: "/blocks.0/q/MatMul" -> "blocks.0.q" for layers and
 * norms, "/blocks.0/MatMul_1" -> "blocks.0.attention" for the rest, so units are named "blocks.0"
 * and sub-layers read as q, k, v, o in the inspector; repeats get _2, _3... */
int ox_tok_node(ox_ctx *x, const ox_node *nd, const char *suffix, fr_op op, int n_in, const int *in)
{
    char nm[FR_NAME_MAX];
    const char *b = nd->name[0] ? nd->name : nd->nout && nd->out[0][0] ? nd->out[0] : "";
    while (*b == '/') b++;
    const char *cut = strrchr(b, '/');
    int named = op == FR_OP_LINEAR || op == FR_OP_RMSNORM || op == FR_OP_LAYERNORM || op == FR_OP_EMBED;
    size_t n = cut && cut[1] >= 'A' && cut[1] <= 'Z' ? (size_t)(cut - b) : named ? strlen(b) : 0;
    const char *opn = named ? "" : fr_op_name(op);
    if ((n == 0 && named) || n + strlen(suffix) + strlen(opn) + 8 >= FR_NAME_MAX) return ox_new_node(x, nd, suffix, op, n_in, in);
    snprintf(nm, sizeof nm, "%.*s%s%s%s", (int)n, b, n && !named ? "." : "", opn, suffix);
    for (char *p = nm; *p; p++) if (*p == '/') *p = '.';
    size_t len = strlen(nm);
    for (int k = 2; ox_find_node(x, nm) >= 0; k++) snprintf(nm + len, sizeof nm - len, "_%d", k);
    return fr_graph_add_node(&x->m->g, nm, op, n_in, in);
}

void ox_tok_set(ox_val *v, int node, const ox_tok *t)
{
    if (!v) return;
    v->kind = OX_ACT;
    v->node = node;
    v->t = *t;
    v->tv = NULL;
    v->rank = 1;
    v->d[0] = t->F; v->d[1] = v->d[2] = 1;
}


ox_tv *ox_tok_pend(ox_ctx *x, const ox_node *nd, ox_val *out, int k, ox_val *xv, const ox_tok *t)
{
    ox_tv *p = ox_alloc(&x->ar, sizeof *p);
    p->k = k;
    p->part = -1;
    p->x = xv;
    p->nd = nd;
    if (out) {
        out->kind = OX_VIRT;
        out->node = -1;
        out->t = *t;
        out->tv = p;
    }
    return p;
}

static const char *tv_what(int k)
{
    static const char *w[] = {"linear layer", "normalisation", "product with a constant", "sigmoid", "square",
                              "mean of squares", "mean of squares + eps", "RMS", "1 / RMS", "mean", "centred value",
                              "square of a centred value", "variance", "variance + eps", "standard deviation",
                              "1 / standard deviation", "erf of x/sqrt(2) (GELU)", "1 + erf (GELU)",
                              "x (1 + erf) (GELU)", "(1 + erf) / 2 (GELU)", "first half of each head (RoPE)",
                              "second half of each head (RoPE)", "negated half head (RoPE)", "rotate_half (RoPE)",
                              "rotate_half * sin (RoPE)", "attention scores", "attention probabilities", "cube (GELU)",
                              "0.044715 x^3 (GELU)", "x + 0.044715 x^3 (GELU)", "sqrt(2/pi) (x + 0.044715 x^3) (GELU)",
                              "tanh (GELU)"};
    return k >= 0 && k < (int)(sizeof w / sizeof *w) ? w[k] : "pattern";
}

/* ---- constants against token values ---- */

/* The value of constant c broadcast against token value v's logical ONNX shape (batch first),
 * at physical position (t, f).  Returns 0 when c does not broadcast (or varies over batch). */
int ox_tok_cidx(const ox_const *c, const ox_tok *t, int64_t tt, int64_t f, int64_t *k)
{
    int64_t L[4], r;
    int64_t h = f / t->hd, i = f % t->hd;
    if (t->lay == OX_TOK_TF) { L[0] = 1; L[1] = tt; L[2] = f; r = 3; }
    else if (t->lay == OX_TOK_R2) { L[0] = tt; L[1] = f; r = 2; }
    else if (t->lay == OX_TOK_TH) { L[0] = 1; L[1] = tt; L[2] = h; L[3] = i; r = 4; }
    else { L[0] = 1; L[1] = h; L[2] = tt; L[3] = i; r = 4; }
    if (c->ndim > r) return 0;
    int64_t off = 0, s = 1;
    for (int q = c->ndim - 1; q >= 0; q--) {
        int64_t li = L[q + (r - c->ndim)];
        int64_t full = q + (r - c->ndim) == 0 ? 1 : 0;
        (void)full;
        off += (c->dim[q] == 1 ? 0 : li) * s;
        s *= c->dim[q];
    }
    *k = off;
    return 1;
}

/* Does c broadcast against v without enlarging it (dims 1 or equal to v's, batch dim 1)? */
int ox_tok_fits(const ox_const *c, const ox_tok *t)
{
    int64_t L[4];
    int r;
    if (t->lay == OX_TOK_TF) { L[0] = 1; L[1] = t->T; L[2] = t->F; r = 3; }
    else if (t->lay == OX_TOK_R2) { L[0] = t->T; L[1] = t->F; r = 2; }
    else if (t->lay == OX_TOK_TH) { L[0] = 1; L[1] = t->T; L[2] = t->H; L[3] = t->hd; r = 4; }
    else if (t->lay == OX_TOK_HT) { L[0] = 1; L[1] = t->H; L[2] = t->T; L[3] = t->hd; r = 4; }
    else return 0;
    if (c->ndim > r) return 0;
    for (int q = 0; q < c->ndim; q++) {
        int64_t want = L[q + (r - c->ndim)];
        if (c->dim[q] != 1 && c->dim[q] != want) return 0;
    }
    return t->map == NULL && t->rep == 0;
}

/* An fr parameter holding c laid out against v physically: (1,1,1) for a scalar, (1,1,F) when
 * it does not depend on the token, else (T,1,F). */
static int const_param(ox_ctx *x, const ox_node *nd, const ox_const *c, const ox_tok *t, double mul, const char *onnx)
{
    const float *src = ox_fdata(x, c);
    int per_tok = 0;
    for (int64_t tt = 1; tt < t->T && !per_tok; tt++)
        for (int64_t f = 0; f < t->F && !per_tok; f++) {
            int64_t a, b;
            ox_tok_cidx(c, t, tt, f, &a);
            ox_tok_cidx(c, t, 0, f, &b);
            per_tok = a != b;
        }
    int64_t d[3] = {c->n == 1 ? 1 : per_tok ? t->T : 1, 1, c->n == 1 ? 1 : t->F};
    if (d[0] * d[2] > OX_MAX_CONST) return -ox_err(x, nd, "a constant broadcast to %lld x %lld values is too large", (long long)d[0], (long long)d[2]);
    if (ox_tok_budget(x, nd, (size_t)(d[0] * d[2]) * 2 * sizeof(float))) return -FR_ENOMEM;
    float *p = ox_alloc(&x->ar, (size_t)(d[0] * d[2]) * sizeof(float));
    for (int64_t tt = 0; tt < d[0]; tt++)
        for (int64_t f = 0; f < d[2]; f++) {
            int64_t k = 0;
            if (c->n > 1) ox_tok_cidx(c, t, tt, f, &k);
            p[tt * d[2] + f] = (float)(mul * src[k]);
        }
    (void)nd;
    (void)onnx;   /* laid out (T, 1, F) and tiled over heads: not the ONNX tensor, so not written back */
    return ox_add_tensor(x, NULL, 3, d, p);
}

/* ---- materialising ---- */

int ox_tok_real(ox_ctx *x, const ox_node *user, ox_val *v);

/* What token mode derives (broadcast parameters, transposed weight copies) counts against the
 * memory there is, like the tensors the file declares: a small file must not grow into
 * gigabytes (issue 14, item 3).  Twice the bytes: the arena copy and the graph tensor. */
int ox_tok_budget(ox_ctx *x, const ox_node *nd, size_t bytes)
{
    x->declared += bytes;
    size_t avail = fr_mem_available();
    if (x->declared > avail / 2)
        return ox_err(x, nd, "the imported model would need %zu MB, more than half the %zu MB available", x->declared >> 20,
                      avail >> 20);
    return FR_OK;
}

int ox_tok_act_param(ox_ctx *x, const ox_node *nd, ox_val *out, fr_op op, ox_val *a, const ox_const *c, double mul,
                     const char *onnx, const char *suffix)
{
    int t = const_param(x, nd, c, &a->t, mul, onnx);
    if (t < 0) return -1;
    int n = ox_tok_node(x, nd, suffix, op, 1, &a->node);
    x->m->g.nodes[n].param[0] = t;
    x->m->g.nodes[n].n_param = 1;
    if (out) ox_tok_set(out, n, &a->t);
    return n;
}

int ox_tok_scal_param(ox_ctx *x, const ox_node *nd, ox_val *out, fr_op op, ox_val *a, double s, const char *suffix)
{
    ox_const c;
    memset(&c, 0, sizeof c);
    if (ox_const_alloc(x, nd, &c, OX_F, 0, NULL)) return -1;
    c.f[0] = (float)s;
    return ox_tok_act_param(x, nd, out, op, a, &c, 1.0, NULL, suffix);
}

static int mat_lin(ox_ctx *x, ox_val *v)
{
    ox_tv *p = v->tv;
    int64_t wd[2] = {p->O, p->I};
    int t = ox_add_tensor(x, p->wsrc, 2, wd, p->w), tb = -1;
    if (p->wsrc) { x->orig[t].transposed = 1; x->orig[t].rows = p->I; x->orig[t].cols = p->O; }
    if (p->b) {
        tb = ox_add_tensor(x, p->bsrc, 1, &p->O, p->b);
        x->orig[tb].is_bias = 1;
    }
    char suf[16] = "";
    if (p->part >= 0) snprintf(suf, sizeof suf, ".%d", p->part);
    int n = ox_tok_node(x, p->nd, suf, FR_OP_LINEAR, 1, &p->x->node);
    fr_node *f = &x->m->g.nodes[n];
    f->param[0] = t; f->param[1] = tb; f->n_param = tb >= 0 ? 2 : 1;
    f->a.tokens = (int)p->x->t.T;
    ox_tok o = tf(p->x->t.T, p->O);
    o.lay = v->t.lay;   /* TF or R2 */
    ox_tok_set(v, n, &o);
    return FR_OK;
}

static int mat_norm(ox_ctx *x, ox_val *v)
{
    ox_tv *p = v->tv;
    int64_t F = p->x->t.F;
    int tg = ox_add_tensor(x, NULL, 1, &F, p->g), tb = -1;
    if (p->ln && p->beta) tb = ox_add_tensor(x, NULL, 1, &F, p->beta);
    int n = ox_tok_node(x, p->nd, "", p->ln ? FR_OP_LAYERNORM : FR_OP_RMSNORM, 1, &p->x->node);
    fr_node *f = &x->m->g.nodes[n];
    f->param[0] = tg; f->param[1] = tb; f->n_param = p->ln ? 2 : 1;
    f->a.eps = p->s;
    ox_tok o = p->x->t;
    ox_tok_set(v, n, &o);
    return FR_OK;
}

/* Turns v into a node if it is pending; refuses patterns that are not a value of their own. */
int ox_tok_real(ox_ctx *x, const ox_node *user, ox_val *v)
{
    if (!v || v->kind != OX_VIRT) return FR_OK;
    ox_tv *p = v->tv;
    ox_tok t = v->t;
    switch (p->k) {
    case TV_LIN: return mat_lin(x, v);
    case TV_NORM: return mat_norm(x, v);
    case TV_XC:
        if (p->x->t.map || p->x->t.rep) break;
        if (p->c) { if (ox_tok_act_param(x, p->nd, v, FR_OP_MUL, p->x, p->c, p->s, NULL, "") < 0) return FR_EINPUT; }
        else if (ox_tok_scal_param(x, p->nd, v, FR_OP_MUL, p->x, p->s, "") < 0) return FR_EINPUT;
        v->t = t;
        return FR_OK;
    case TV_SIG: {
        int n = ox_tok_node(x, p->nd, "", FR_OP_SIGMOID, 1, &p->x->node);
        ox_tok_set(v, n, &t);
        return FR_OK;
    }
    case TV_SQ: {
        int in[2] = {p->x->node, p->x->node};
        int n = ox_tok_node(x, p->nd, "", FR_OP_MUL, 2, in);
        ox_tok_set(v, n, &t);
        return FR_OK;
    }
    default: break;
    }
    char why[320];
    snprintf(why, sizeof why, "its input %.60s is a %s (from node %.60s) that frtui can only use inside the whole "
             "operator it belongs to", v->name, tv_what(p->k), ox_node_name(p->nd));
    return ox_unsupported(x, user, why);
}

int ox_tok_real_all(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    for (int k = 0; k < nd->nin; k++)
        if (in[k] && in[k]->kind == OX_VIRT && ox_tok_real(x, nd, in[k])) return FR_EINPUT;
    return FR_OK;
}

/* Axes of a reduction: attribute (opset < 18) or second input. */
static int last_axis_only(ox_ctx *x, const ox_node *nd, ox_val **in, int r)
{
    const ox_attr *a = ox_attr_get(nd, "axes");
    int64_t ax;
    if (a && a->nis == 1) ax = a->is[0];
    else if (nd->nin > 1 && is_const(in[1]) && in[1]->c.n == 1 && in[1]->c.cls == OX_I) ax = in[1]->c.i[0];
    else return 0;
    (void)x;
    return norm_axis(ax, r) == r - 1 && ox_attr_int(nd, "keepdims", 1) == 1;
}

static int int_list(const ox_val *v, int64_t *o, int cap)
{
    if (!is_const(v) || v->c.cls != OX_I || v->c.n > cap) return -1;
    for (int64_t k = 0; k < v->c.n; k++) o[k] = v->c.i[k];
    return (int)v->c.n;
}

static int reshape(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    ox_val *A = in[0], *out = out0(x, nd);
    int64_t s[8];
    int r = nd->nin > 1 ? int_list(in[1], s, 8) : -1;
    if (r < 0) return ox_unsupported(x, nd, "a shape that is not a constant");
    /* dims from the file are bounded before any product is formed (a fuzzed 7e17 overflowed) */
    for (int k = 0; k < r; k++)
        if (!(k == 0 && s[k] == OX_BATCH) && (s[k] < -1 || s[k] > ((int64_t)1 << 30)))
            return ox_err(x, nd, "shape dim %lld out of range", (long long)s[k]);
    ox_tok t = A->t;
    /* tokens to rows and back (Hugging Face's Conv1D: x.view(-1, F), Gemm, .view(N, T, O)); rows
     * are per sequence here, so N * T rows are T per sample.  A pending linear layer stays pending
     * (its q/k/v rows may be split next). */
    int to = -1;
    if ((t.lay == OX_TOK_TF || t.lay == OX_TOK_R2) && r == 2 && (s[1] == t.F || (s[1] == 0 && t.lay == OX_TOK_R2)) &&
        (s[0] == -1 || s[0] == t.T * (x->batch0 > 0 ? x->batch0 : 1)))
        to = OX_TOK_R2;
    else if (t.lay == OX_TOK_R2 && r == 3 && (s[0] == 1 || s[0] == OX_BATCH || s[0] == x->batch0 || s[0] == 0) &&
             s[1] == t.T && (s[2] == t.F || s[2] == -1))
        to = OX_TOK_TF;
    else if (t.lay == OX_TOK_R2)
        return ox_unsupported(x, nd, "rows of tokens reshaped other than back to [N, T, F]");
    if (to >= 0 && is_virt(A, TV_LIN)) {
        ox_tv *p = ox_tok_pend(x, nd, out, TV_LIN, A->tv->x, &A->t);
        *p = *A->tv;
        if (out) out->t.lay = to;
        return FR_OK;
    }
    if (ox_tok_real(x, nd, A)) return FR_EINPUT;
    t = A->t;
    if (to >= 0) {
        t.lay = to;
        ox_tok_set(out, A->node, &t);
        return FR_OK;
    }
    /* resolve 0 (copy) and -1 (infer) against the logical shape, batch first */
    int64_t L[5] = {1, 0, 0, 0, 0}, tot = 1;
    int lr = lrank(&t);
    if (t.lay == OX_TOK_TF) { L[1] = t.T; L[2] = t.F; }
    else if (t.lay == OX_TOK_TH) { L[1] = t.T; L[2] = t.H; L[3] = t.hd; }
    else if (t.lay == OX_TOK_HT && t.rep) { L[1] = t.H; L[2] = t.rep; L[3] = t.T; L[4] = t.hd; }
    else if (t.lay == OX_TOK_HT) { L[1] = t.H; L[2] = t.T; L[3] = t.hd; }
    else return ox_unsupported(x, nd, "reshaping transposed keys");
    for (int k = 1; k < lr; k++) tot *= L[k];
    int neg = -1;
    int64_t known = 1;
    for (int k = 0; k < r; k++) {
        if (s[k] == 0 && !ox_attr_int(nd, "allowzero", 0)) s[k] = k < lr ? L[k] : 0;
        if (s[k] == OX_BATCH && k == 0) s[k] = 1;
        if (s[k] == -1) { if (neg >= 0) return ox_err(x, nd, "two -1 dims"); neg = k; }
        else if (s[k] < 1) return ox_err(x, nd, "bad dim %lld", (long long)s[k]);
        else if (k > 0 && (known *= s[k]) > ((int64_t)1 << 40)) return ox_err(x, nd, "shape too large");
    }
    if (neg == 0) return ox_unsupported(x, nd, "a reshape that infers the batch dimension");
    if (neg > 0) { if (tot % known) return ox_err(x, nd, "shape does not divide"); s[neg] = tot / known; }
    if (r < 1 || s[0] != 1) return ox_unsupported(x, nd, "a reshape that moves data into the batch dimension");
    if (t.lay == OX_TOK_TF && r == 4 && s[1] == t.T && s[2] * s[3] == t.F) {
        if (s[2] > OX_TOK_MAX_HEADS) return ox_unsupported(x, nd, "more than 65536 heads");
        t.lay = OX_TOK_TH; t.H = t.HP = (int)s[2]; t.hd = (int)s[3];
    } else if (t.lay == OX_TOK_TF && r == 3 && s[1] == t.T && s[2] == t.F) {
    } else if (t.lay == OX_TOK_TH && r == 3 && s[1] == t.T && s[2] == t.F && !t.map) {
        t = tf(t.T, t.F);
    } else if (t.lay == OX_TOK_TH && r == 4 && s[1] == t.T && s[2] == t.H && s[3] == t.hd) {
    } else if (t.lay == OX_TOK_HT && t.rep && r == 4 && s[1] == (int64_t)t.H * t.rep && s[2] == t.T && s[3] == t.hd) {
        int *m = ox_alloc(&x->ar, (size_t)(t.H * t.rep) * sizeof(int));
        for (int h = 0; h < t.H; h++)
            for (int j = 0; j < t.rep; j++) m[h * t.rep + j] = t.map ? t.map[h] : h;
        t.map = m; t.H *= t.rep; t.rep = 0;
    } else if (t.lay == OX_TOK_HT && !t.rep && r == 4 && s[1] == t.H && s[2] == t.T && s[3] == t.hd) {
    } else {
        return ox_unsupported(x, nd, "a reshape other than splitting the features into heads or merging them back");
    }
    ox_tok_set(out, A->node, &t);
    return FR_OK;
}

static int transpose(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    ox_val *A = in[0], *out = out0(x, nd);
    const ox_attr *pa = ox_attr_get(nd, "perm");
    if (ox_tok_real(x, nd, A)) return FR_EINPUT;
    ox_tok t = A->t;
    if (!pa || pa->nis != lrank(&t)) return ox_unsupported(x, nd, "a transpose without a full perm");
    const int64_t *p = pa->is;
    int swap12 = pa->nis == 4 && p[0] == 0 && p[1] == 2 && p[2] == 1 && p[3] == 3;
    int swap23 = pa->nis == 4 && p[0] == 0 && p[1] == 1 && p[2] == 3 && p[3] == 2;
    int th_kt = pa->nis == 4 && p[0] == 0 && p[1] == 2 && p[2] == 3 && p[3] == 1;
    if (t.lay == OX_TOK_TH && swap12) t.lay = OX_TOK_HT;
    else if (t.lay == OX_TOK_HT && swap12 && !t.map && !t.rep) t.lay = OX_TOK_TH;
    else if ((t.lay == OX_TOK_HT && swap23 && !t.rep) || (t.lay == OX_TOK_TH && th_kt)) t.lay = OX_TOK_KT;
    else if (t.lay == OX_TOK_KT && swap23) t.lay = OX_TOK_HT;
    else return ox_unsupported(x, nd, "a transpose other than between tokens and heads or of the keys");
    ox_tok_set(out, A->node, &t);
    return FR_OK;
}

/* Split / Slice of fused q/k/v rows of a pending linear layer, of heads (grouped-KV repeats),
 * or of each head's halves (RoPE). */
static int take(ox_ctx *x, const ox_node *nd, ox_val *A, ox_val *out, int axis, int64_t b, int64_t e, int part)
{
    ox_tok t = A->t;
    int lr = lrank(&t);
    if (is_virt(A, TV_LIN) && axis == lr - 1) {
        ox_tv *a = A->tv, *p = ox_tok_pend(x, nd, out, TV_LIN, a->x, &A->t);
        *p = *a;
        p->part = part;
        p->O = e - b;
        p->w = a->w + b * a->I;
        p->b = a->b ? a->b + b : NULL;
        p->wsrc = p->bsrc = NULL;   /* a part of an ONNX tensor cannot be written back as one */
        if (out) { ox_tok o = tf(t.T, e - b); o.lay = t.lay; out->t = o; }
        return FR_OK;
    }
    if (ox_tok_real(x, nd, A)) return FR_EINPUT;
    if (t.lay == OX_TOK_HT && !t.rep && axis == 1) {
        int *m = ox_alloc(&x->ar, (size_t)(e - b) * sizeof(int));
        for (int64_t h = b; h < e; h++) m[h - b] = t.map ? t.map[h] : (int)h;
        t.map = m; t.H = (int)(e - b);
        ox_tok_set(out, A->node, &t);
        return FR_OK;
    }
    if (t.lay == OX_TOK_HT && !t.map && !t.rep && axis == 3 && t.hd % 2 == 0 && (b == 0 || b == t.hd / 2) && e - b == t.hd / 2) {
        ox_tok_pend(x, nd, out, b == 0 ? TV_HALF0 : TV_HALF1, A, &t);
        return FR_OK;
    }
    return ox_unsupported(x, nd, "a slice other than q/k/v rows of a linear layer, whole heads or half heads (RoPE)");
}

static int split(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    ox_val *A = in[0];
    int lr = lrank(&A->t);
    int axis = norm_axis(ox_attr_int(nd, "axis", 0), lr);
    int64_t full = A->t.lay == OX_TOK_TF || A->t.lay == OX_TOK_R2 ? (axis == lr - 1 ? A->t.F : -1)
                 : A->t.lay == OX_TOK_HT && !A->t.rep ? (axis == 1 ? A->t.H : axis == 3 ? A->t.hd : -1) : -1;
    if (full < 0) return ox_unsupported(x, nd, "a split along this axis");
    int64_t sz[64];
    int n = -1;
    const ox_attr *sa = ox_attr_get(nd, "split");
    if (nd->nin > 1 && in[1]) n = int_list(in[1], sz, 64);
    else if (sa && sa->nis <= 64) { n = sa->nis; for (int k = 0; k < n; k++) sz[k] = sa->is[k]; }
    else if (nd->nout <= 64 && nd->nout > 0) {
        n = nd->nout;
        int64_t each = (full + n - 1) / n;
        for (int k = 0; k < n; k++) sz[k] = FR_MIN(each, full - each * k);
    }
    if (n != nd->nout) return ox_err(x, nd, "split sizes do not match the %d outputs", nd->nout);
    int64_t b = 0;
    for (int k = 0; k < n; k++) {
        if (sz[k] < 1 || sz[k] > full - b) return ox_err(x, nd, "split sizes exceed the axis (%lld)", (long long)full);
        ox_val *o = nd->out[k][0] ? ox_find(x, nd->out[k]) : NULL;
        if (take(x, nd, A, o, axis, b, b + sz[k], k)) return FR_EINPUT;
        b += sz[k];
    }
    return FR_OK;
}

static int slice(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    ox_val *A = in[0];
    int64_t st[1] = {0}, en[1] = {0}, ax[1] = {0}, sp[1] = {1};
    if (nd->nin < 3 || int_list(in[1], st, 1) != 1 || int_list(in[2], en, 1) != 1 ||
        (nd->nin > 3 && in[3] && int_list(in[3], ax, 1) != 1) || (nd->nin > 4 && in[4] && int_list(in[4], sp, 1) != 1))
        return ox_unsupported(x, nd, "a slice that is not one constant range on one axis");
    int lr = lrank(&A->t);
    int axis = norm_axis(ax[0], lr);
    int64_t full = A->t.lay == OX_TOK_TF || A->t.lay == OX_TOK_R2 ? (axis == lr - 1 ? A->t.F : -1)
                 : A->t.lay == OX_TOK_HT ? (axis == 1 ? A->t.H : axis == 3 ? A->t.hd : -1) : -1;
    if (full < 0 || sp[0] != 1) return ox_unsupported(x, nd, "a slice along this axis or with a step");
    int64_t b = st[0] < 0 ? st[0] + full : st[0], e = en[0] < 0 ? en[0] + full : en[0];
    b = FR_MAX(0, FR_MIN(b, full));
    e = FR_MAX(0, FR_MIN(e, full));
    if (e <= b) return ox_err(x, nd, "empty slice");
    return take(x, nd, A, out0(x, nd), axis, b, e, (int)(b / (e - b)));
}

static int concat(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    ox_val *out = out0(x, nd);
    if (nd->nin == 2 && is_virt(in[0], TV_NHALF) && is_virt(in[1], TV_HALF0) && in[0]->tv->x == in[1]->tv->x) {
        int axis = norm_axis(ox_attr_int(nd, "axis", 0), 4);
        if (axis != 3) return ox_unsupported(x, nd, "half heads concatenated along another axis");
        ox_tok_pend(x, nd, out, TV_ROT, in[0]->tv->x, &in[0]->t);
        return FR_OK;
    }
    if (ox_tok_real_all(x, nd, in)) return FR_EINPUT;
    ox_val *A = in[0];
    if (A->t.lay != OX_TOK_HT || norm_axis(ox_attr_int(nd, "axis", 0), lrank(&A->t)) != 1 || A->t.rep)
        return ox_unsupported(x, nd, "a concatenation other than of heads of one activation");
    int H = 0;
    for (int k = 0; k < nd->nin; k++) {
        ox_val *v = in[k];
        if (!is_tok(v) || v->node != A->node || v->t.lay != OX_TOK_HT || v->t.rep || v->t.hd != A->t.hd)
            return ox_unsupported(x, nd, "a concatenation of heads from different activations");
        H += v->t.H;
        if (H > OX_TOK_MAX_HEADS) return ox_unsupported(x, nd, "more than 65536 heads");
    }
    int *m = ox_alloc(&x->ar, (size_t)H * sizeof(int)), h = 0;
    for (int k = 0; k < nd->nin; k++)
        for (int j = 0; j < in[k]->t.H; j++) m[h++] = in[k]->t.map ? in[k]->t.map[j] : j;
    ox_tok t = A->t;
    t.H = H;
    t.map = m;
    int ident = H == t.HP;
    for (int j = 0; j < H && ident; j++) ident = m[j] == j;
    if (ident) t.map = NULL;
    ox_tok_set(out, A->node, &t);
    return FR_OK;
}

int ox_tok_lower(ox_ctx *x, const ox_node *nd, ox_val **in, int *done)
{
    int any = 0;
    for (int k = 0; k < nd->nin; k++) any |= is_tok(in[k]);
    *done = any;
    if (!any) return FR_OK;
    ox_val *A = in[0], *out = out0(x, nd);
    double s;
    if (is_op(nd, "Gather")) {
        if (nd->nin != 2 || !is_const(A) || A->c.ndim != 2 || !is_tok(in[1]) || in[1]->t.lay != OX_TOK_IDS ||
            ox_attr_int(nd, "axis", 0) != 0)
            return ox_unsupported(x, nd, "a gather other than an embedding table indexed by the token ids");
        int t = ox_add_tensor(x, A->name, 2, A->c.dim, ox_fdata(x, &A->c));
        int n = ox_tok_node(x, nd, "", FR_OP_EMBED, 1, &in[1]->node);
        x->m->g.nodes[n].param[0] = t;
        x->m->g.nodes[n].n_param = 1;
        ox_tok o = tf(in[1]->t.T, A->c.dim[1]);
        ox_tok_set(out, n, &o);
        return FR_OK;
    }
    if (!is_tok(A) && !is_op(nd, "Add") && !is_op(nd, "Mul") && !is_op(nd, "Sub") && !is_op(nd, "Div") &&
        !is_op(nd, "Where") && !is_op(nd, "Concat") && !is_op(nd, "MatMul"))
        return ox_unsupported(x, nd, "an activation in an input other than the first");
    if (is_op(nd, "Shape")) {   /* the logical shape, batch first (symbolic batch stays OX_BATCH) */
        const ox_tok *t = &A->t;   /* a pending value has its shape already: not materialised */
        int64_t L[5] = {x->batch0 > 0 ? x->batch0 : OX_BATCH, t->T, t->F, 0, 0}, r = lrank(t);
        if (t->lay == OX_TOK_R2) {
            if (x->batch0 < 1) return ox_unsupported(x, nd, "the shape of token rows with a symbolic batch");
            L[0] = x->batch0 * t->T;
            L[1] = t->F;
        }
        if (t->lay == OX_TOK_TH) { L[2] = t->H; L[3] = t->hd; }
        if (t->lay == OX_TOK_HT) { L[1] = t->H; L[2] = t->rep ? t->rep : t->T; L[3] = t->rep ? t->T : t->hd; L[4] = t->hd; }
        if (t->lay == OX_TOK_KT) { L[1] = t->H; L[2] = t->hd; L[3] = t->T; }
        ox_const c;
        if (ox_const_alloc(x, nd, &c, OX_I, 1, &r)) return FR_EINPUT;
        memcpy(c.i, L, (size_t)r * sizeof *L);
        c.dtype = 7;
        if (out) { out->kind = OX_CONST; out->c = c; }
        return FR_OK;
    }
    if (is_tok(A) && A->t.lay == OX_TOK_IDS) return ox_unsupported(x, nd, "token ids used other than by an embedding Gather");
    if (is_op(nd, "Add") || is_op(nd, "Sub") || is_op(nd, "Mul") || is_op(nd, "Div")) return ox_tok_binary(x, nd, in);
    if (is_op(nd, "MatMul")) return ox_tok_matmul(x, nd, in);
    if (is_op(nd, "Gemm")) {
        if (nd->nin < 2 || !is_const(in[1]) || ox_attr_int(nd, "transA", 0))
            return ox_unsupported(x, nd, "a Gemm other than rows times a constant weight");
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        return ox_tok_linear(x, nd, A, in[1], (int)ox_attr_int(nd, "transB", 0), ox_attr_float(nd, "alpha", 1.0f),
                      nd->nin > 2 && in[2] && ox_attr_float(nd, "beta", 1.0f) != 0 ? in[2] : NULL, ox_attr_float(nd, "beta", 1.0f));
    }
    if (is_op(nd, "Reshape")) return reshape(x, nd, in);
    if (is_op(nd, "Transpose")) return transpose(x, nd, in);
    if (is_op(nd, "Split")) return split(x, nd, in);
    if (is_op(nd, "Slice")) return slice(x, nd, in);
    if (is_op(nd, "Concat")) return concat(x, nd, in);
    if (is_op(nd, "Identity") || is_op(nd, "Dropout") || (is_op(nd, "Cast") && ox_attr_int(nd, "to", 1) == 1)) {
        if (nd->nout > 1 && nd->out[1][0] && ox_find(x, nd->out[1])->uses) return ox_unsupported(x, nd, "mask output");
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        ox_tok_set(out, A->node, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Pow")) {
        if (nd->nin == 2 && scalar(in[1], &s) && s == 3.0) {
            if (ox_tok_real(x, nd, A)) return FR_EINPUT;
            ox_tok_pend(x, nd, out, TV_CUBE, A, &A->t);
            return FR_OK;
        }
        if (nd->nin != 2 || !scalar(in[1], &s) || s != 2.0) return ox_unsupported(x, nd, "a power other than 2 (norms) or 3 (tanh GELU)");
        if (is_virt(A, TV_CEN)) { ox_tok_pend(x, nd, out, TV_CSQ, A->tv->x, &A->t); return FR_OK; }
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        ox_tok_pend(x, nd, out, TV_SQ, A, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "ReduceMean")) {
        if (!last_axis_only(x, nd, in, lrank(&A->t))) return ox_unsupported(x, nd, "a mean over an axis other than the last (keepdims)");
        if (is_virt(A, TV_SQ)) { ox_tok_pend(x, nd, out, TV_MS, A->tv->x, &A->t); return FR_OK; }
        if (is_virt(A, TV_CSQ)) { ox_tok_pend(x, nd, out, TV_VAR, A->tv->x, &A->t); return FR_OK; }
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        if (A->t.lay != OX_TOK_TF) return ox_unsupported(x, nd, "a mean over each head");
        ox_tok_pend(x, nd, out, TV_MEAN, A, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Sqrt") || is_op(nd, "Reciprocal")) {
        int sq = nd->op[0] == 'S';
        int from = A->kind == OX_VIRT ? A->tv->k : -1;
        int to = sq ? (from == TV_MSE ? TV_RMS : from == TV_VARE ? TV_STD : -1) : (from == TV_RMS ? TV_IRMS : from == TV_STD ? TV_ISTD : -1);
        if (to < 0) return ox_unsupported(x, nd, "outside a normalisation");
        ox_tv *p = ox_tok_pend(x, nd, out, to, A->tv->x, &A->t);
        p->s = A->tv->s;
        return FR_OK;
    }
    if (is_op(nd, "Sigmoid")) {
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        ox_tok_pend(x, nd, out, TV_SIG, A, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Erf")) {
        if (!is_virt(A, TV_XC) || A->tv->c || !near(A->tv->s, M_SQRT1_2))
            return ox_unsupported(x, nd, "erf outside GELU's x * 0.5 * (1 + erf(x / sqrt 2))");
        ox_tok_pend(x, nd, out, TV_ERF, A->tv->x, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Tanh")) {
        if (!is_virt(A, TV_INNERS)) return ox_unsupported(x, nd, "tanh outside GELU's 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))");
        ox_tok_pend(x, nd, out, TV_TANH, A->tv->x, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Gelu")) {
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        const ox_attr *ap = ox_attr_get(nd, "approximate");
        int tanh_form = ap && ap->s && strcmp(ap->s, "tanh") == 0;
        int n = ox_tok_node(x, nd, "", FR_OP_GELU, 1, &A->node);
        x->m->g.nodes[n].a.form = tanh_form;
        ox_tok_set(out, n, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Neg")) {
        if (is_virt(A, TV_HALF1)) { ox_tok_pend(x, nd, out, TV_NHALF, A->tv->x, &A->t); return FR_OK; }
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        return ox_tok_scal_param(x, nd, out, FR_OP_MUL, A, -1.0, "") < 0 ? FR_EINPUT : FR_OK;
    }
    if (is_op(nd, "Softmax")) {
        if (!is_virt(A, TV_SC)) return ox_unsupported(x, nd, "a softmax outside attention");
        if (norm_axis(ox_attr_int(nd, "axis", -1), 4) != 3) return ox_unsupported(x, nd, "attention softmax over an axis other than the keys");
        if (!A->tv->masked) return ox_unsupported(x, nd, "attention without a causal mask (frtui's attention is causal)");
        ox_tv *p = ox_tok_pend(x, nd, out, TV_P, A->tv->x, &A->t);
        *p = *A->tv;
        p->k = TV_P;
        return FR_OK;
    }
    if (is_op(nd, "Where")) {
        /* Where(cond, scores, -big) or Where(cond, -big, scores): masked_fill of a causal mask */
        if (nd->nin == 3 && is_const(in[0])) {
            int si = is_virt(in[1], TV_SC) ? 1 : is_virt(in[2], TV_SC) ? 2 : 0;
            if (si && !in[si]->tv->masked && scalar(in[3 - si], &s) && s <= -1e4 &&
                ox_tok_causal_where(&in[0]->c, in[si]->tv->x->t.T, si == 1)) {
                ox_tv *p = ox_tok_pend(x, nd, out, TV_SC, in[si]->tv->x, &in[si]->t);
                *p = *in[si]->tv;
                p->masked = 1;
                return FR_OK;
            }
        }
        return ox_unsupported(x, nd, "a Where other than a causal attention mask");
    }
    if (is_op(nd, "Unsqueeze")) {
        int64_t a[1];
        const ox_attr *aa = ox_attr_get(nd, "axes");
        int na = aa ? (aa->nis == 1 ? (a[0] = aa->is[0], 1) : -1) : nd->nin > 1 ? int_list(in[1], a, 1) : -1;
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        if (na != 1 || A->t.lay != OX_TOK_HT || A->t.rep || norm_axis(a[0], 5) != 2)
            return ox_unsupported(x, nd, "an unsqueeze other than before repeating kv heads");
        ox_tok t = A->t;
        t.rep = 1;
        ox_tok_set(out, A->node, &t);
        return FR_OK;
    }
    if (is_op(nd, "Expand")) {
        int64_t sh[8];
        int r = nd->nin > 1 ? int_list(in[1], sh, 8) : -1;
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        ox_tok t = A->t;
        if (t.lay == OX_TOK_HT && t.rep == 1 && r == 5 && (sh[1] == 1 || sh[1] == t.H) && sh[2] >= 1 &&
            sh[2] <= OX_TOK_MAX_HEADS / t.H &&
            (sh[3] == 1 || sh[3] == t.T) && (sh[4] == 1 || sh[4] == t.hd)) {
            t.rep = (int)sh[2];
            ox_tok_set(out, A->node, &t);
            return FR_OK;
        }
        return ox_unsupported(x, nd, "an expand other than repeating kv heads");
    }
    if (is_op(nd, "LayerNormalization") || is_op(nd, "RMSNormalization") || is_op(nd, "SimplifiedLayerNormalization")) {
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        int ln = nd->op[0] == 'L';
        if (A->t.lay != OX_TOK_TF || norm_axis(ox_attr_int(nd, "axis", -1), 3) != 2)
            return ox_unsupported(x, nd, "a normalisation over an axis other than the features");
        if (nd->nin < 2 || !is_const(in[1]) || in[1]->c.n != A->t.F || (nd->nin > 2 && in[2] && (!is_const(in[2]) || in[2]->c.n != A->t.F)))
            return ox_err(x, nd, "scale and bias must be constants of %lld values", (long long)A->t.F);
        ox_tv *p = ox_tok_pend(x, nd, out, TV_NORM, A, &A->t);
        p->ln = ln;
        p->s = ox_attr_float(nd, "epsilon", 1e-5f);
        p->g = (float *)ox_fdata(x, &in[1]->c);
        if (nd->nin > 2 && in[2]) {
            if (!ln) return ox_unsupported(x, nd, "a bias on an RMS normalisation");
            p->beta = (float *)ox_fdata(x, &in[2]->c);
        }
        p->gain_done = nd->nin > 2 && in[2];
        return FR_OK;
    }
    return ox_unsupported(x, nd, "on a transformer activation");
}

int ox_tok_finish(ox_ctx *x, ox_val *out)
{
    if (!out || out->kind != OX_VIRT) return FR_OK;
    if (ox_tok_real(x, out->tv->nd, out)) return FR_EINPUT;
    if (out->t.lay != OX_TOK_TF) return ox_err(x, NULL, "the output %.80s is not [N, T, vocabulary]", out->name);
    return FR_OK;
}
