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
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_int.h"

enum {
    TV_LIN,    /* x W^T (+ b): w [O, I], b [O] or NULL */
    TV_NORM,   /* RMSNorm / LayerNorm of x with gain g (and bias b) */
    TV_XC,     /* x * c (c a constant broadcast against x) */
    TV_SIG,    /* sigmoid(x) */
    TV_SQ,     /* x^2 */
    TV_MS,     /* mean_last(x^2) */
    TV_MSE,    /* mean_last(x^2) + eps */
    TV_RMS,    /* sqrt(mean_last(x^2) + eps) */
    TV_IRMS,   /* 1 / TV_RMS */
    TV_MEAN,   /* mean_last(x) */
    TV_CEN,    /* x - mean_last(x) */
    TV_CSQ,    /* TV_CEN^2 */
    TV_VAR,    /* mean_last(TV_CSQ) */
    TV_VARE,   /* TV_VAR + eps */
    TV_STD,    /* sqrt(TV_VARE) */
    TV_ISTD,   /* 1 / TV_STD */
    TV_ERF,    /* erf(x / sqrt 2) */
    TV_ERF1,   /* 1 + erf(x / sqrt 2) */
    TV_XERF1,  /* x (1 + erf(x / sqrt 2)) */
    TV_HERF1,  /* 0.5 (1 + erf(x / sqrt 2)) */
    TV_HALF0,  /* first half of each head of x (HT) */
    TV_HALF1,  /* second half */
    TV_NHALF,  /* -second half */
    TV_ROT,    /* rotate_half(x) */
    TV_ROTS,   /* rotate_half(x) * sin table */
    TV_SC,     /* scores q k^T * s (+ causal mask) */
    TV_P,      /* softmax of causal scores */
    TV_CUBE,   /* x^3 (tanh GELU) */
    TV_CUBEC,  /* 0.044715 x^3 */
    TV_INNER,  /* x + 0.044715 x^3 */
    TV_INNERS, /* sqrt(2/pi) (x + 0.044715 x^3) */
    TV_TANH,   /* tanh(sqrt(2/pi) (x + 0.044715 x^3)) */
};

struct ox_tv {
    int k;
    ox_val *x, *y;           /* operands (real token values): x; scores: q = x, k = y */
    const ox_node *nd;       /* the node that started the pattern: names and messages */
    float s;                 /* eps; XC/scores scalar multiplier */
    int masked;              /* scores: causal mask applied */
    const ox_const *c;       /* XC multiplier (NULL = scalar s); ROTS sin table */
    int64_t O, I;            /* LIN */
    float *w, *b;
    const char *wsrc, *bsrc; /* ONNX names of LIN weight and bias when taken whole (the rewriter) */
    int ln;                  /* NORM: 1 LayerNorm, 0 RMSNorm */
    float *g, *beta;
    int gain_done;           /* NORM: a Mul folded after a bias would scale the bias too */
    int part;                /* LIN: index of a Split/Slice piece of a fused layer, -1 whole */
    int form;                /* ERF1/XERF1/HERF1: 0 erf, 1 tanh (FR_OP_GELU's form) */
};

static int is_op(const ox_node *nd, const char *op) { return strcmp(nd->op, op) == 0; }
static int is_tok(const ox_val *v) { return v && (v->kind == OX_ACT || v->kind == OX_VIRT) && v->t.lay; }
static int is_virt(const ox_val *v, int k) { return v && v->kind == OX_VIRT && v->tv->k == k; }
static int is_const(const ox_val *v) { return v && v->kind == OX_CONST; }

static int scalar(const ox_val *v, double *out)
{
    if (!is_const(v) || v->c.n != 1) return 0;
    *out = ox_const_get(&v->c, 0);
    return 1;
}

static int near(double a, double b) { return fabs(a - b) <= 1e-6 * fmax(1.0, fabs(b)); }

static ox_val *out0(ox_ctx *x, const ox_node *nd) { return nd->nout >= 1 && nd->out[0][0] ? ox_find(x, nd->out[0]) : NULL; }

/* A node named like the module it came from: "/blocks.0/q/MatMul" -> "blocks.0.q" for layers and
 * norms, "/blocks.0/MatMul_1" -> "blocks.0.attention" for the rest, so units are named "blocks.0"
 * and sub-layers read as q, k, v, o in the inspector; repeats get _2, _3... */
static int tok_node(ox_ctx *x, const ox_node *nd, const char *suffix, fr_op op, int n_in, const int *in)
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

static void set_tok(ox_val *v, int node, const ox_tok *t)
{
    if (!v) return;
    v->kind = OX_ACT;
    v->node = node;
    v->t = *t;
    v->tv = NULL;
    v->rank = 1;
    v->d[0] = t->F; v->d[1] = v->d[2] = 1;
}

static ox_tok tf(int64_t T, int64_t F) { ox_tok t = {OX_TOK_TF, T, F, 1, (int)F, 1, NULL, 0}; return t; }

static ox_tv *pend(ox_ctx *x, const ox_node *nd, ox_val *out, int k, ox_val *xv, const ox_tok *t)
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
static int cidx(const ox_const *c, const ox_tok *t, int64_t tt, int64_t f, int64_t *k)
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
static int fits(const ox_const *c, const ox_tok *t)
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
            cidx(c, t, tt, f, &a);
            cidx(c, t, 0, f, &b);
            per_tok = a != b;
        }
    int64_t d[3] = {c->n == 1 ? 1 : per_tok ? t->T : 1, 1, c->n == 1 ? 1 : t->F};
    float *p = ox_alloc(&x->ar, (size_t)(d[0] * d[2]) * sizeof(float));
    for (int64_t tt = 0; tt < d[0]; tt++)
        for (int64_t f = 0; f < d[2]; f++) {
            int64_t k = 0;
            if (c->n > 1) cidx(c, t, tt, f, &k);
            p[tt * d[2] + f] = (float)(mul * src[k]);
        }
    (void)nd;
    (void)onnx;   /* laid out (T, 1, F) and tiled over heads: not the ONNX tensor, so not written back */
    return ox_add_tensor(x, NULL, 3, d, p);
}

/* ---- materialising ---- */

static int tok_real(ox_ctx *x, const ox_node *user, ox_val *v);

static int act_param(ox_ctx *x, const ox_node *nd, ox_val *out, fr_op op, ox_val *a, const ox_const *c, double mul,
                     const char *onnx, const char *suffix)
{
    int t = const_param(x, nd, c, &a->t, mul, onnx);
    int n = tok_node(x, nd, suffix, op, 1, &a->node);
    x->m->g.nodes[n].param[0] = t;
    x->m->g.nodes[n].n_param = 1;
    if (out) set_tok(out, n, &a->t);
    return n;
}

static int scal_param(ox_ctx *x, const ox_node *nd, ox_val *out, fr_op op, ox_val *a, double s, const char *suffix)
{
    ox_const c;
    memset(&c, 0, sizeof c);
    if (ox_const_alloc(x, nd, &c, OX_F, 0, NULL)) return -1;
    c.f[0] = (float)s;
    return act_param(x, nd, out, op, a, &c, 1.0, NULL, suffix);
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
    int n = tok_node(x, p->nd, suf, FR_OP_LINEAR, 1, &p->x->node);
    fr_node *f = &x->m->g.nodes[n];
    f->param[0] = t; f->param[1] = tb; f->n_param = tb >= 0 ? 2 : 1;
    f->a.tokens = (int)p->x->t.T;
    ox_tok o = tf(p->x->t.T, p->O);
    o.lay = v->t.lay;   /* TF or R2 */
    set_tok(v, n, &o);
    return FR_OK;
}

static int mat_norm(ox_ctx *x, ox_val *v)
{
    ox_tv *p = v->tv;
    int64_t F = p->x->t.F;
    int tg = ox_add_tensor(x, NULL, 1, &F, p->g), tb = -1;
    if (p->ln && p->beta) tb = ox_add_tensor(x, NULL, 1, &F, p->beta);
    int n = tok_node(x, p->nd, "", p->ln ? FR_OP_LAYERNORM : FR_OP_RMSNORM, 1, &p->x->node);
    fr_node *f = &x->m->g.nodes[n];
    f->param[0] = tg; f->param[1] = tb; f->n_param = p->ln ? 2 : 1;
    f->a.eps = p->s;
    ox_tok o = p->x->t;
    set_tok(v, n, &o);
    return FR_OK;
}

/* Turns v into a node if it is pending; refuses patterns that are not a value of their own. */
static int tok_real(ox_ctx *x, const ox_node *user, ox_val *v)
{
    if (!v || v->kind != OX_VIRT) return FR_OK;
    ox_tv *p = v->tv;
    ox_tok t = v->t;
    switch (p->k) {
    case TV_LIN: return mat_lin(x, v);
    case TV_NORM: return mat_norm(x, v);
    case TV_XC:
        if (p->x->t.map || p->x->t.rep) break;
        if (p->c) { if (act_param(x, p->nd, v, FR_OP_MUL, p->x, p->c, p->s, NULL, "") < 0) return FR_EINPUT; }
        else if (scal_param(x, p->nd, v, FR_OP_MUL, p->x, p->s, "") < 0) return FR_EINPUT;
        v->t = t;
        return FR_OK;
    case TV_SIG: {
        int n = tok_node(x, p->nd, "", FR_OP_SIGMOID, 1, &p->x->node);
        set_tok(v, n, &t);
        return FR_OK;
    }
    case TV_SQ: {
        int in[2] = {p->x->node, p->x->node};
        int n = tok_node(x, p->nd, "", FR_OP_MUL, 2, in);
        set_tok(v, n, &t);
        return FR_OK;
    }
    default: break;
    }
    char why[320];
    snprintf(why, sizeof why, "its input %.60s is a %s (from node %.60s) that frtui can only use inside the whole "
             "operator it belongs to", v->name, tv_what(p->k), ox_node_name(p->nd));
    return ox_unsupported(x, user, why);
}

static int real_all(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    for (int k = 0; k < nd->nin; k++)
        if (in[k] && in[k]->kind == OX_VIRT && tok_real(x, nd, in[k])) return FR_EINPUT;
    return FR_OK;
}

/* ---- attention and RoPE ---- */

/* Rotate-half RoPE tables: cos (c) and sin (s) broadcast against x (HT) must be, at token t and
 * head position i, cos/sin(t * inv[i mod hd/2]) with inv[j] = theta^(-2j/hd).  Sets *theta. */
static int rope_tables(const ox_const *c, const ox_const *s, const ox_tok *t, double *theta)
{
    const int hd = t->hd, h2 = hd / 2;
    if (hd % 2 || t->T < 2) return 0;
    const float *cf = c->f, *sf = s->f;
    if (c->cls != OX_F || s->cls != OX_F) return 0;
    int64_t k0, k1;
    *theta = 10000.0;
    if (h2 > 1) {
        cidx(c, t, 1, 1, &k0);
        cidx(s, t, 1, 1, &k1);
        double ang = atan2(sf[k1], cf[k0]);
        if (!(ang > 0 && ang < 1)) return 0;
        *theta = pow(ang, -(double)hd / 2.0);
        if (!(*theta > 1) || !isfinite(*theta)) return 0;
    }
    for (int64_t tt = 0; tt < t->T; tt++)
        for (int i = 0; i < hd; i++) {
            double a = (double)tt * pow(*theta, -2.0 * (i % h2) / hd);
            cidx(c, t, tt, i, &k0);
            cidx(s, t, tt, i, &k1);
            if (fabs(cf[k0] - cos(a)) > 2e-5 + 1e-6 * fabs(a) || fabs(sf[k1] - sin(a)) > 2e-5 + 1e-6 * fabs(a)) return 0;
        }
    return 1;
}

/* Mask m (broadcast against [T, T] scores) is causal: 0 on and below the diagonal, <= -1e4
 * (or -inf) above. */
static int causal_add(const ox_const *m, int64_t T)
{
    if (m->cls != OX_F || m->ndim < 2 || m->dim[m->ndim - 1] != T || m->dim[m->ndim - 2] != T) return 0;
    for (int q = 0; q < m->ndim - 2; q++) if (m->dim[q] != 1) return 0;
    for (int64_t i = 0; i < T; i++)
        for (int64_t j = 0; j < T; j++) {
            float v = m->f[i * T + j];
            if (j <= i ? v != 0.0f : !(v <= -1e4f)) return 0;
        }
    return 1;
}

/* Where(cond, a, b) masks when it keeps the scores on and below the diagonal and puts a large
 * negative value above it. */
static int causal_where(const ox_const *cond, int64_t T, int scores_if_true)
{
    if (cond->ndim < 2 || cond->dim[cond->ndim - 1] != T || cond->dim[cond->ndim - 2] != T) return 0;
    for (int q = 0; q < cond->ndim - 2; q++) if (cond->dim[q] != 1) return 0;
    for (int64_t i = 0; i < T; i++)
        for (int64_t j = 0; j < T; j++) {
            int c = ox_const_get(cond, i * T + j) != 0;
            if ((j <= i) != (c == scores_if_true)) return 0;
        }
    return 1;
}

static int attention(ox_ctx *x, const ox_node *nd, ox_val *P, ox_val *V)
{
    ox_tv *sc = P->tv;
    ox_val *Q = sc->x, *K = sc->y;
    const int H = Q->t.H, hd = Q->t.hd;
    if (V->t.lay != OX_TOK_HT || V->t.rep || V->t.H != H || V->t.hd != hd || V->t.T != Q->t.T)
        return ox_unsupported(x, nd, "attention values that are not [heads, T, head size] like the queries");
    if (K->t.HP != V->t.HP) return ox_unsupported(x, nd, "keys and values with different head counts");
    const int KV = K->t.HP;
    if (KV < 1 || H % KV) return ox_unsupported(x, nd, "a query head count that is not a multiple of the kv heads");
    for (int h = 0; h < H; h++) {
        int kh = K->t.map ? K->t.map[h] : h, vh = V->t.map ? V->t.map[h] : h;
        if (kh != h / (H / KV) || vh != h / (H / KV))
            return ox_unsupported(x, nd, "a head grouping other than query head h reading kv head h / (H / KV)");
    }
    int q = Q->node;
    double want = 1.0 / sqrt((double)hd);
    if (!near(sc->s, want)) q = scal_param(x, nd, NULL, FR_OP_MUL, Q, sc->s / want, ".qscale");
    if (q < 0) return FR_EINPUT;
    int in[3] = {q, K->node, V->node};
    int n = tok_node(x, nd, "", FR_OP_ATTENTION, 3, in);
    x->m->g.nodes[n].a.heads = H;
    x->m->g.nodes[n].a.kv_heads = KV;
    ox_tok o = Q->t;
    set_tok(out0(x, nd), n, &o);
    return FR_OK;
}

/* ---- per operator ---- */

static int norm_axis(int64_t a, int r) { return (int)(a < 0 ? a + r : a); }
static int lrank(const ox_tok *t)
{
    return t->lay == OX_TOK_TF ? 3 : t->lay == OX_TOK_IDS || t->lay == OX_TOK_R2 ? 2 : 4 + (t->rep > 0);
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

static int binary(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (nd->nin != 2 || !in[0] || !in[1]) return ox_err(x, nd, "%s needs two inputs", nd->op);
    const char o = nd->op[0];
    const int comm = o == 'A' || o == 'M';
    ox_val *A = in[0], *B = in[1], *out = out0(x, nd);
    double s;
    /* the patterns, operands in either order where the operator commutes */
    for (int sw = 0; sw < 1 + comm; sw++, A = in[1], B = in[0]) {
        ox_tv *a = A->kind == OX_VIRT ? A->tv : NULL, *b = B->kind == OX_VIRT ? B->tv : NULL;
        if (o == 'D' && b && b->k == TV_RMS && b->x == A) goto rms;
        if (o == 'M' && b && b->k == TV_IRMS && b->x == A) goto rms;
        if (o == 'D' && a && b && a->k == TV_CEN && b->k == TV_STD && a->x == b->x) { A = a->x; goto ln; }
        if (o == 'M' && a && b && a->k == TV_CEN && b->k == TV_ISTD && a->x == b->x) { A = a->x; goto ln; }
        if (o == 'A' && a && (a->k == TV_MS || a->k == TV_VAR) && scalar(B, &s) && s > 0) {
            ox_tv *p = pend(x, nd, out, a->k == TV_MS ? TV_MSE : TV_VARE, a->x, &A->t);
            p->s = (float)s;
            return FR_OK;
        }
        if (o == 'S' && b && b->k == TV_MEAN && b->x == A && A->kind == OX_ACT) { pend(x, nd, out, TV_CEN, A, &A->t); return FR_OK; }
        if (o == 'M' && a && b && a->k == TV_CEN && b->k == TV_CEN && a->x == b->x) { pend(x, nd, out, TV_CSQ, a->x, &A->t); return FR_OK; }
        if (o == 'D' && scalar(A, &s) && s == 1.0 && b && (b->k == TV_RMS || b->k == TV_STD)) {
            ox_tv *p = pend(x, nd, out, b->k == TV_RMS ? TV_IRMS : TV_ISTD, b->x, &B->t);
            p->s = b->s;
            return FR_OK;
        }
        if (o == 'M' && b && b->k == TV_SIG && b->x == A) {
            int n = tok_node(x, nd, "", FR_OP_SILU, 1, &A->node);
            set_tok(out, n, &A->t);
            return FR_OK;
        }
        if (o == 'A' && a && (a->k == TV_ERF || a->k == TV_TANH) && scalar(B, &s) && s == 1.0) {
            pend(x, nd, out, TV_ERF1, a->x, &A->t)->form = a->k == TV_TANH;
            return FR_OK;
        }
        if (o == 'M' && b && b->k == TV_ERF1 && b->x == A) { pend(x, nd, out, TV_XERF1, A, &A->t)->form = b->form; return FR_OK; }
        if (o == 'M' && a && a->k == TV_ERF1 && scalar(B, &s) && near(s, 0.5)) { pend(x, nd, out, TV_HERF1, a->x, &A->t)->form = a->form; return FR_OK; }
        /* tanh GELU's inner polynomial: sqrt(2/pi) (x + 0.044715 x^3), factors in either place */
        if (o == 'M' && a && a->k == TV_CUBE && scalar(B, &s) && near(s, 0.044715)) { pend(x, nd, out, TV_CUBEC, a->x, &A->t); return FR_OK; }
        if (o == 'A' && b && b->k == TV_CUBEC && b->x == A) { pend(x, nd, out, TV_INNER, A, &A->t); return FR_OK; }
        if (o == 'M' && a && a->k == TV_INNER && scalar(B, &s) && near(s, sqrt(2.0 / M_PI))) { pend(x, nd, out, TV_INNERS, a->x, &A->t); return FR_OK; }
        ox_val *X = NULL;   /* GELU: x (1 + erf) * 0.5, x * (0.5 (1 + erf)), (0.5 x) (1 + erf); tanh likewise */
        int form = 0;
        if (o == 'M' && a && a->k == TV_XERF1 && scalar(B, &s) && near(s, 0.5)) X = a->x, form = a->form;
        if (o == 'M' && b && b->k == TV_HERF1 && b->x == A) X = A, form = b->form;
        if (o == 'M' && a && b && a->k == TV_XC && !a->c && near(a->s, 0.5) && b->k == TV_ERF1 && a->x == b->x) X = a->x, form = b->form;
        if (X) {
            int n = tok_node(x, nd, "", FR_OP_GELU, 1, &X->node);
            x->m->g.nodes[n].a.form = form;
            set_tok(out, n, &X->t);
            return FR_OK;
        }
        if (o == 'M' && a && a->k == TV_ROT && is_const(B)) {
            if (!fits(&B->c, &a->x->t)) return ox_unsupported(x, nd, "a RoPE sin table that does not broadcast over the heads");
            ox_tv *p = pend(x, nd, out, TV_ROTS, a->x, &A->t);
            p->c = &B->c;
            return FR_OK;
        }
        if (o == 'A' && a && b && a->k == TV_XC && b->k == TV_ROTS && a->x == b->x && a->c && a->s == 1.0f) {
            double theta;
            ox_val *R = a->x;
            if (!rope_tables(a->c, b->c, &R->t, &theta))
                return ox_unsupported(x, nd, "rotary tables that are not cos/sin(t * theta^(-2i/d)) in rotate-half order");
            int n = tok_node(x, nd, "", FR_OP_ROPE, 1, &R->node);
            x->m->g.nodes[n].a.heads = R->t.H;
            x->m->g.nodes[n].a.theta = (float)theta;
            set_tok(out, n, &R->t);
            return FR_OK;
        }
        if (a && a->k == TV_SC && !a->masked && (o == 'D' || o == 'M') && scalar(B, &s) && s != 0 && isfinite(s)) {
            ox_tv *p = pend(x, nd, out, TV_SC, a->x, &A->t);
            *p = *a;
            p->s = (float)(o == 'D' ? a->s / s : a->s * s);
            return FR_OK;
        }
        if (o == 'A' && a && a->k == TV_SC && !a->masked && is_const(B)) {
            if (!causal_add(&B->c, a->x->t.T)) return ox_unsupported(x, nd, "an attention mask that is not causal (0 on and below the diagonal, <= -1e4 above)");
            ox_tv *p = pend(x, nd, out, TV_SC, a->x, &A->t);
            *p = *a;
            p->masked = 1;
            return FR_OK;
        }
        /* folding constants into pending linear layers and norms */
        if (o == 'A' && a && a->k == TV_LIN && !a->b && is_const(B) && B->c.n == a->O && B->c.dim[B->c.ndim - 1] == a->O) {
            ox_tv *p = pend(x, nd, out, TV_LIN, a->x, &A->t);
            *p = *a;
            p->b = (float *)ox_fdata(x, &B->c);
            p->bsrc = B->name;
            return FR_OK;
        }
        if ((o == 'M' || (o == 'D' && !sw)) && a && a->k == TV_NORM && !a->gain_done && is_const(B) &&
            (B->c.n == 1 || (B->c.n == A->t.F && B->c.dim[B->c.ndim - 1] == A->t.F))) {
            ox_tv *p = pend(x, nd, out, TV_NORM, a->x, &A->t);
            *p = *a;
            const float *c = ox_fdata(x, &B->c);
            p->g = ox_alloc(&x->ar, (size_t)A->t.F * sizeof(float));
            for (int64_t f = 0; f < A->t.F; f++) p->g[f] = o == 'M' ? a->g[f] * c[B->c.n == 1 ? 0 : f] : a->g[f] / c[B->c.n == 1 ? 0 : f];
            return FR_OK;
        }
        if (o == 'A' && a && a->k == TV_NORM && is_const(B) && (B->c.n == A->t.F && B->c.dim[B->c.ndim - 1] == A->t.F)) {
            if (!a->ln) return ox_unsupported(x, nd, "a bias after an RMS normalisation (frtui's RMSNorm has none)");
            ox_tv *p = pend(x, nd, out, TV_NORM, a->x, &A->t);
            *p = *a;
            const float *c = ox_fdata(x, &B->c);
            p->beta = ox_alloc(&x->ar, (size_t)A->t.F * sizeof(float));
            for (int64_t f = 0; f < A->t.F; f++) p->beta[f] = (a->beta ? a->beta[f] : 0.0f) + c[f];
            p->gain_done = 1;
            return FR_OK;
        }
    }
    A = in[0]; B = in[1];
    if (0) {
    rms:;
    ln:;
        /* A is the normalised input, B the pending 1/RMS, RMS, 1/std or std */
        ox_tv *p = pend(x, nd, out, TV_NORM, A, &A->t);
        p->ln = B->tv->k == TV_STD || B->tv->k == TV_ISTD;
        p->s = B->tv->s;
        if (A->t.lay != OX_TOK_TF && A->t.lay != OX_TOK_TH && A->t.lay != OX_TOK_R2)
            return ox_unsupported(x, nd, "a normalisation over an axis other than the features");
        p->g = ox_alloc(&x->ar, (size_t)A->t.F * sizeof(float));
        for (int64_t f = 0; f < A->t.F; f++) p->g[f] = 1.0f;
        return FR_OK;
    }
    /* new patterns: x * x, x * const, x / scalar */
    if (o == 'M' && A == B && A->kind == OX_ACT) { pend(x, nd, out, TV_SQ, A, &A->t); return FR_OK; }
    for (int sw = 0; sw < 1 + comm; sw++) {
        ox_val *Xv = sw ? in[1] : in[0], *C = sw ? in[0] : in[1];
        if (!is_tok(Xv) || !is_const(C)) continue;
        if (Xv->kind == OX_VIRT && Xv->tv->k == TV_SC) return ox_unsupported(x, nd, "arithmetic on attention scores other than a scale and a causal mask");
        if (tok_real(x, nd, Xv)) return FR_EINPUT;
        if (!fits(&C->c, &Xv->t) && Xv->t.lay != OX_TOK_KT) return ox_unsupported(x, nd, "a constant that does not broadcast against the activation");
        if ((o == 'M' || o == 'D') && Xv->t.lay != OX_TOK_KT) {
            if (o == 'D' && C->c.n != 1) break;
            double v = C->c.n == 1 ? ox_const_get(&C->c, 0) : 1.0;
            if (o == 'D' && (v == 0 || !isfinite(v))) return ox_err(x, nd, "division by %g", v);
            ox_tv *p = pend(x, nd, out, TV_XC, Xv, &Xv->t);
            p->s = (float)(o == 'D' ? 1.0 / v : v);
            p->c = C->c.n == 1 ? NULL : &C->c;
            return FR_OK;
        }
        if (Xv->t.lay == OX_TOK_KT) return ox_unsupported(x, nd, "arithmetic on transposed keys");
        if (o == 'A' || (o == 'S' && !sw)) {
            if (act_param(x, nd, out, FR_OP_ADD, Xv, &C->c, o == 'S' ? -1.0 : 1.0, C->name, "") < 0) return FR_EINPUT;
            return FR_OK;
        }
        if (o == 'S') {   /* c - x = (-1) x + c */
            int n1 = scal_param(x, nd, NULL, FR_OP_MUL, Xv, -1.0, ".neg");
            if (n1 < 0) return FR_EINPUT;
            ox_val tmp = *Xv;
            tmp.node = n1;
            if (act_param(x, nd, out, FR_OP_ADD, &tmp, &C->c, 1.0, C->name, "") < 0) return FR_EINPUT;
            return FR_OK;
        }
    }
    if (o == 'D' && is_tok(A) && is_const(B)) {
        if (tok_real(x, nd, A)) return FR_EINPUT;
        if (!fits(&B->c, &A->t)) return ox_unsupported(x, nd, "a constant that does not broadcast against the activation");
        return act_param(x, nd, out, FR_OP_DIV, A, &B->c, 1.0, B->name, "") < 0 ? FR_EINPUT : FR_OK;
    }
    if (!is_tok(A) || !is_tok(B)) return ox_unsupported(x, nd, "a constant divided by an activation");
    if (real_all(x, nd, in)) return FR_EINPUT;
    if (A->t.lay != B->t.lay || A->t.T != B->t.T || A->t.F != B->t.F || A->t.H != B->t.H || A->t.map || B->t.map ||
        A->t.rep || B->t.rep || A->t.lay == OX_TOK_KT)
        return ox_unsupported(x, nd, "activations of different shapes (frtui adds and multiplies equal shapes only)");
    int ins[2] = {A->node, B->node};
    int n = tok_node(x, nd, "", o == 'A' ? FR_OP_ADD : o == 'S' ? FR_OP_SUB : o == 'M' ? FR_OP_MUL : FR_OP_DIV, 2, ins);
    set_tok(out, n, &A->t);
    return FR_OK;
}

/* A pending linear layer: x (TF or R2) times constant B ([I, O], or [O, I] when transB), times
 * alpha, plus beta * C when given (Gemm). */
static int linear(ox_ctx *x, const ox_node *nd, ox_val *A, ox_val *B, int transB, double alpha, ox_val *C, double beta)
{
    ox_val *out = out0(x, nd);
    if (A->t.lay != OX_TOK_TF && A->t.lay != OX_TOK_R2)
        return ox_unsupported(x, nd, "a per-head product with a constant (only [T, F] x [F, O])");
    int64_t I = B->c.ndim == 2 ? B->c.dim[transB] : -1, O = B->c.ndim == 2 ? B->c.dim[!transB] : -1;
    if (I != A->t.F || O < 1) return ox_err(x, nd, "weight '%.80s' is not [%lld, O]", B->name, (long long)A->t.F);
    ox_tv *p = pend(x, nd, out, TV_LIN, A, &A->t);
    p->I = I;
    p->O = O;
    const float *src = ox_fdata(x, &B->c);
    p->w = ox_alloc(&x->ar, (size_t)(O * I) * sizeof(float));
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++) p->w[o * I + i] = (float)(alpha * (transB ? src[o * I + i] : src[i * O + o]));
    p->wsrc = transB || alpha != 1.0 ? NULL : B->name;   /* the rewriter writes back the transposed [I, O] form only */
    if (C) {
        if (!is_const(C) || C->c.n != O || C->c.dim[C->c.ndim - 1] != O) return ox_unsupported(x, nd, "a bias that is not O constants");
        const float *c = ox_fdata(x, &C->c);
        p->b = ox_alloc(&x->ar, (size_t)O * sizeof(float));
        for (int64_t o = 0; o < O; o++) p->b[o] = (float)(beta * c[o]);
        p->bsrc = beta == 1.0 ? C->name : NULL;
    }
    if (out) { ox_tok t = tf(A->t.T, O); t.lay = A->t.lay; out->t = t; }
    return FR_OK;
}

static int matmul(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    ox_val *A = in[0], *B = in[1], *out = out0(x, nd);
    if (nd->nin != 2 || !A || !B) return ox_err(x, nd, "MatMul needs two inputs");
    if (is_tok(A) && is_const(B)) {
        if (tok_real(x, nd, A)) return FR_EINPUT;
        return linear(x, nd, A, B, 0, 1.0, NULL, 1.0);
    }
    ox_val *Q = A;
    double qs = 1.0;
    if (is_virt(A, TV_XC) && !A->tv->c) { Q = A->tv->x; qs = A->tv->s; }
    if (is_tok(Q) && Q->kind == OX_ACT && Q->t.lay == OX_TOK_HT && !Q->t.map && !Q->t.rep && is_tok(B) &&
        B->kind == OX_ACT && B->t.lay == OX_TOK_KT) {
        if (B->t.hd != Q->t.hd || B->t.H != Q->t.H || B->t.T != Q->t.T)
            return ox_unsupported(x, nd, "query and key shapes that differ");
        ox_val *K = B;
        ox_tv *p = pend(x, nd, out, TV_SC, Q, &Q->t);
        p->y = K;
        p->s = (float)qs;
        return FR_OK;
    }
    if (is_virt(A, TV_P) && is_tok(B) && B->kind == OX_ACT) return attention(x, nd, A, B);
    if (is_virt(A, TV_SC)) return ox_unsupported(x, nd, "attention probabilities without a causal mask and softmax");
    return ox_unsupported(x, nd, "a product of activations other than attention's q k^T and p v");
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
        ox_tv *p = pend(x, nd, out, TV_LIN, A->tv->x, &A->t);
        *p = *A->tv;
        if (out) out->t.lay = to;
        return FR_OK;
    }
    if (tok_real(x, nd, A)) return FR_EINPUT;
    t = A->t;
    if (to >= 0) {
        t.lay = to;
        set_tok(out, A->node, &t);
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
        else if (k > 0) known *= s[k];
    }
    if (neg == 0) return ox_unsupported(x, nd, "a reshape that infers the batch dimension");
    if (neg > 0) { if (tot % known) return ox_err(x, nd, "shape does not divide"); s[neg] = tot / known; }
    if (r < 1 || s[0] != 1) return ox_unsupported(x, nd, "a reshape that moves data into the batch dimension");
    if (t.lay == OX_TOK_TF && r == 4 && s[1] == t.T && s[2] * s[3] == t.F) {
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
    set_tok(out, A->node, &t);
    return FR_OK;
}

static int transpose(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    ox_val *A = in[0], *out = out0(x, nd);
    const ox_attr *pa = ox_attr_get(nd, "perm");
    if (tok_real(x, nd, A)) return FR_EINPUT;
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
    set_tok(out, A->node, &t);
    return FR_OK;
}

/* Split / Slice of fused q/k/v rows of a pending linear layer, of heads (grouped-KV repeats),
 * or of each head's halves (RoPE). */
static int take(ox_ctx *x, const ox_node *nd, ox_val *A, ox_val *out, int axis, int64_t b, int64_t e, int part)
{
    ox_tok t = A->t;
    int lr = lrank(&t);
    if (is_virt(A, TV_LIN) && axis == lr - 1) {
        ox_tv *a = A->tv, *p = pend(x, nd, out, TV_LIN, a->x, &A->t);
        *p = *a;
        p->part = part;
        p->O = e - b;
        p->w = a->w + b * a->I;
        p->b = a->b ? a->b + b : NULL;
        p->wsrc = p->bsrc = NULL;   /* a part of an ONNX tensor cannot be written back as one */
        if (out) { ox_tok o = tf(t.T, e - b); o.lay = t.lay; out->t = o; }
        return FR_OK;
    }
    if (tok_real(x, nd, A)) return FR_EINPUT;
    if (t.lay == OX_TOK_HT && !t.rep && axis == 1) {
        int *m = ox_alloc(&x->ar, (size_t)(e - b) * sizeof(int));
        for (int64_t h = b; h < e; h++) m[h - b] = t.map ? t.map[h] : (int)h;
        t.map = m; t.H = (int)(e - b);
        set_tok(out, A->node, &t);
        return FR_OK;
    }
    if (t.lay == OX_TOK_HT && !t.map && !t.rep && axis == 3 && t.hd % 2 == 0 && (b == 0 || b == t.hd / 2) && e - b == t.hd / 2) {
        pend(x, nd, out, b == 0 ? TV_HALF0 : TV_HALF1, A, &t);
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
        if (sz[k] < 1 || b + sz[k] > full) return ox_err(x, nd, "split sizes exceed the axis (%lld)", (long long)full);
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
        pend(x, nd, out, TV_ROT, in[0]->tv->x, &in[0]->t);
        return FR_OK;
    }
    if (real_all(x, nd, in)) return FR_EINPUT;
    ox_val *A = in[0];
    if (A->t.lay != OX_TOK_HT || norm_axis(ox_attr_int(nd, "axis", 0), lrank(&A->t)) != 1 || A->t.rep)
        return ox_unsupported(x, nd, "a concatenation other than of heads of one activation");
    int H = 0;
    for (int k = 0; k < nd->nin; k++) {
        ox_val *v = in[k];
        if (!is_tok(v) || v->node != A->node || v->t.lay != OX_TOK_HT || v->t.rep || v->t.hd != A->t.hd)
            return ox_unsupported(x, nd, "a concatenation of heads from different activations");
        H += v->t.H;
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
    set_tok(out, A->node, &t);
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
        int n = tok_node(x, nd, "", FR_OP_EMBED, 1, &in[1]->node);
        x->m->g.nodes[n].param[0] = t;
        x->m->g.nodes[n].n_param = 1;
        ox_tok o = tf(in[1]->t.T, A->c.dim[1]);
        set_tok(out, n, &o);
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
    if (is_op(nd, "Add") || is_op(nd, "Sub") || is_op(nd, "Mul") || is_op(nd, "Div")) return binary(x, nd, in);
    if (is_op(nd, "MatMul")) return matmul(x, nd, in);
    if (is_op(nd, "Gemm")) {
        if (nd->nin < 2 || !is_const(in[1]) || ox_attr_int(nd, "transA", 0))
            return ox_unsupported(x, nd, "a Gemm other than rows times a constant weight");
        if (tok_real(x, nd, A)) return FR_EINPUT;
        return linear(x, nd, A, in[1], (int)ox_attr_int(nd, "transB", 0), ox_attr_float(nd, "alpha", 1.0f),
                      nd->nin > 2 && in[2] && ox_attr_float(nd, "beta", 1.0f) != 0 ? in[2] : NULL, ox_attr_float(nd, "beta", 1.0f));
    }
    if (is_op(nd, "Reshape")) return reshape(x, nd, in);
    if (is_op(nd, "Transpose")) return transpose(x, nd, in);
    if (is_op(nd, "Split")) return split(x, nd, in);
    if (is_op(nd, "Slice")) return slice(x, nd, in);
    if (is_op(nd, "Concat")) return concat(x, nd, in);
    if (is_op(nd, "Identity") || is_op(nd, "Dropout") || (is_op(nd, "Cast") && ox_attr_int(nd, "to", 1) == 1)) {
        if (nd->nout > 1 && nd->out[1][0] && ox_find(x, nd->out[1])->uses) return ox_unsupported(x, nd, "mask output");
        if (tok_real(x, nd, A)) return FR_EINPUT;
        set_tok(out, A->node, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Pow")) {
        if (nd->nin == 2 && scalar(in[1], &s) && s == 3.0) {
            if (tok_real(x, nd, A)) return FR_EINPUT;
            pend(x, nd, out, TV_CUBE, A, &A->t);
            return FR_OK;
        }
        if (nd->nin != 2 || !scalar(in[1], &s) || s != 2.0) return ox_unsupported(x, nd, "a power other than 2 (norms) or 3 (tanh GELU)");
        if (is_virt(A, TV_CEN)) { pend(x, nd, out, TV_CSQ, A->tv->x, &A->t); return FR_OK; }
        if (tok_real(x, nd, A)) return FR_EINPUT;
        pend(x, nd, out, TV_SQ, A, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "ReduceMean")) {
        if (!last_axis_only(x, nd, in, lrank(&A->t))) return ox_unsupported(x, nd, "a mean over an axis other than the last (keepdims)");
        if (is_virt(A, TV_SQ)) { pend(x, nd, out, TV_MS, A->tv->x, &A->t); return FR_OK; }
        if (is_virt(A, TV_CSQ)) { pend(x, nd, out, TV_VAR, A->tv->x, &A->t); return FR_OK; }
        if (tok_real(x, nd, A)) return FR_EINPUT;
        if (A->t.lay != OX_TOK_TF) return ox_unsupported(x, nd, "a mean over each head");
        pend(x, nd, out, TV_MEAN, A, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Sqrt") || is_op(nd, "Reciprocal")) {
        int sq = nd->op[0] == 'S';
        int from = A->kind == OX_VIRT ? A->tv->k : -1;
        int to = sq ? (from == TV_MSE ? TV_RMS : from == TV_VARE ? TV_STD : -1) : (from == TV_RMS ? TV_IRMS : from == TV_STD ? TV_ISTD : -1);
        if (to < 0) return ox_unsupported(x, nd, "outside a normalisation");
        ox_tv *p = pend(x, nd, out, to, A->tv->x, &A->t);
        p->s = A->tv->s;
        return FR_OK;
    }
    if (is_op(nd, "Sigmoid")) {
        if (tok_real(x, nd, A)) return FR_EINPUT;
        pend(x, nd, out, TV_SIG, A, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Erf")) {
        if (!is_virt(A, TV_XC) || A->tv->c || !near(A->tv->s, M_SQRT1_2))
            return ox_unsupported(x, nd, "erf outside GELU's x * 0.5 * (1 + erf(x / sqrt 2))");
        pend(x, nd, out, TV_ERF, A->tv->x, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Tanh")) {
        if (!is_virt(A, TV_INNERS)) return ox_unsupported(x, nd, "tanh outside GELU's 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))");
        pend(x, nd, out, TV_TANH, A->tv->x, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Gelu")) {
        if (tok_real(x, nd, A)) return FR_EINPUT;
        const ox_attr *ap = ox_attr_get(nd, "approximate");
        int tanh_form = ap && ap->s && strcmp(ap->s, "tanh") == 0;
        int n = tok_node(x, nd, "", FR_OP_GELU, 1, &A->node);
        x->m->g.nodes[n].a.form = tanh_form;
        set_tok(out, n, &A->t);
        return FR_OK;
    }
    if (is_op(nd, "Neg")) {
        if (is_virt(A, TV_HALF1)) { pend(x, nd, out, TV_NHALF, A->tv->x, &A->t); return FR_OK; }
        if (tok_real(x, nd, A)) return FR_EINPUT;
        return scal_param(x, nd, out, FR_OP_MUL, A, -1.0, "") < 0 ? FR_EINPUT : FR_OK;
    }
    if (is_op(nd, "Softmax")) {
        if (!is_virt(A, TV_SC)) return ox_unsupported(x, nd, "a softmax outside attention");
        if (norm_axis(ox_attr_int(nd, "axis", -1), 4) != 3) return ox_unsupported(x, nd, "attention softmax over an axis other than the keys");
        if (!A->tv->masked) return ox_unsupported(x, nd, "attention without a causal mask (frtui's attention is causal)");
        ox_tv *p = pend(x, nd, out, TV_P, A->tv->x, &A->t);
        *p = *A->tv;
        p->k = TV_P;
        return FR_OK;
    }
    if (is_op(nd, "Where")) {
        /* Where(cond, scores, -big) or Where(cond, -big, scores): masked_fill of a causal mask */
        if (nd->nin == 3 && is_const(in[0])) {
            int si = is_virt(in[1], TV_SC) ? 1 : is_virt(in[2], TV_SC) ? 2 : 0;
            if (si && !in[si]->tv->masked && scalar(in[3 - si], &s) && s <= -1e4 &&
                causal_where(&in[0]->c, in[si]->tv->x->t.T, si == 1)) {
                ox_tv *p = pend(x, nd, out, TV_SC, in[si]->tv->x, &in[si]->t);
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
        if (tok_real(x, nd, A)) return FR_EINPUT;
        if (na != 1 || A->t.lay != OX_TOK_HT || A->t.rep || norm_axis(a[0], 5) != 2)
            return ox_unsupported(x, nd, "an unsqueeze other than before repeating kv heads");
        ox_tok t = A->t;
        t.rep = 1;
        set_tok(out, A->node, &t);
        return FR_OK;
    }
    if (is_op(nd, "Expand")) {
        int64_t sh[8];
        int r = nd->nin > 1 ? int_list(in[1], sh, 8) : -1;
        if (tok_real(x, nd, A)) return FR_EINPUT;
        ox_tok t = A->t;
        if (t.lay == OX_TOK_HT && t.rep == 1 && r == 5 && (sh[1] == 1 || sh[1] == t.H) && sh[2] >= 1 &&
            (sh[3] == 1 || sh[3] == t.T) && (sh[4] == 1 || sh[4] == t.hd)) {
            t.rep = (int)sh[2];
            set_tok(out, A->node, &t);
            return FR_OK;
        }
        return ox_unsupported(x, nd, "an expand other than repeating kv heads");
    }
    if (is_op(nd, "LayerNormalization") || is_op(nd, "RMSNormalization") || is_op(nd, "SimplifiedLayerNormalization")) {
        if (tok_real(x, nd, A)) return FR_EINPUT;
        int ln = nd->op[0] == 'L';
        if (A->t.lay != OX_TOK_TF || norm_axis(ox_attr_int(nd, "axis", -1), 3) != 2)
            return ox_unsupported(x, nd, "a normalisation over an axis other than the features");
        if (nd->nin < 2 || !is_const(in[1]) || in[1]->c.n != A->t.F || (nd->nin > 2 && in[2] && (!is_const(in[2]) || in[2]->c.n != A->t.F)))
            return ox_err(x, nd, "scale and bias must be constants of %lld values", (long long)A->t.F);
        ox_tv *p = pend(x, nd, out, TV_NORM, A, &A->t);
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
    if (tok_real(x, out->tv->nd, out)) return FR_EINPUT;
    if (out->t.lay != OX_TOK_TF) return ox_err(x, NULL, "the output %.80s is not [N, T, vocabulary]", out->name);
    return FR_OK;
}
