/* onnx_tok_ops.c — token mode's arithmetic: the patterns that become RMSNorm, LayerNorm, GELU
 * (erf and tanh), SiLU, RoPE and causal attention, and linear layers with their folded biases.
 * The mechanism (pending patterns, materialising) is onnx_tok.c's; see its design note. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx_tok_int.h"

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
        ox_tok_cidx(c, t, 1, 1, &k0);
        ox_tok_cidx(s, t, 1, 1, &k1);
        double ang = atan2(sf[k1], cf[k0]);
        if (!(ang > 0 && ang < 1)) return 0;
        *theta = pow(ang, -(double)hd / 2.0);
        if (!(*theta > 1) || !isfinite(*theta)) return 0;
    }
    for (int64_t tt = 0; tt < t->T; tt++)
        for (int i = 0; i < hd; i++) {
            double a = (double)tt * pow(*theta, -2.0 * (i % h2) / hd);
            ox_tok_cidx(c, t, tt, i, &k0);
            ox_tok_cidx(s, t, tt, i, &k1);
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
int ox_tok_causal_where(const ox_const *cond, int64_t T, int scores_if_true)
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
    if (!near(sc->s, want)) q = ox_tok_scal_param(x, nd, NULL, FR_OP_MUL, Q, sc->s / want, ".qscale");
    if (q < 0) return FR_EINPUT;
    int in[3] = {q, K->node, V->node};
    int n = ox_tok_node(x, nd, "", FR_OP_ATTENTION, 3, in);
    x->m->g.nodes[n].a.heads = H;
    x->m->g.nodes[n].a.kv_heads = KV;
    ox_tok o = Q->t;
    ox_tok_set(out0(x, nd), n, &o);
    return FR_OK;
}

/* x / RMS(x), x * (1/RMS(x)), (x - mean) / std or (x - mean) * (1/std): a pending RMSNorm or
 * LayerNorm of X with unit gain, so that a following Mul, Div or Add by a constant folds into
 * it (ox_tok_binary's folding patterns).  d is the pending RMS, 1/RMS, std or 1/std. */
static int norm(ox_ctx *x, const ox_node *nd, ox_val *out, ox_val *X, const ox_tv *d)
{
    ox_tv *p = ox_tok_pend(x, nd, out, TV_NORM, X, &X->t);
    p->ln = d->k == TV_STD || d->k == TV_ISTD;
    p->s = d->s;
    if (X->t.lay != OX_TOK_TF && X->t.lay != OX_TOK_TH && X->t.lay != OX_TOK_R2)
        return ox_unsupported(x, nd, "a normalisation over an axis other than the features");
    p->g = ox_alloc(&x->ar, (size_t)X->t.F * sizeof(float));
    for (int64_t f = 0; f < X->t.F; f++) p->g[f] = 1.0f;
    return FR_OK;
}

int ox_tok_binary(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    if (nd->nin != 2 || !in[0] || !in[1]) return ox_err(x, nd, "%s needs two inputs", nd->op);
    const char o = nd->op[0];
    const int comm = o == 'A' || o == 'M';
    ox_val *A = in[0], *B = in[1], *out = out0(x, nd);
    double s;
    /* the patterns, operands in either order where the operator commutes */
    for (int sw = 0; sw < 1 + comm; sw++, A = in[1], B = in[0]) {
        ox_tv *a = A->kind == OX_VIRT ? A->tv : NULL, *b = B->kind == OX_VIRT ? B->tv : NULL;
        if (o == 'D' && b && b->k == TV_RMS && b->x == A) return norm(x, nd, out, A, b);
        if (o == 'M' && b && b->k == TV_IRMS && b->x == A) return norm(x, nd, out, A, b);
        if (o == 'D' && a && b && a->k == TV_CEN && b->k == TV_STD && a->x == b->x) return norm(x, nd, out, a->x, b);
        if (o == 'M' && a && b && a->k == TV_CEN && b->k == TV_ISTD && a->x == b->x) return norm(x, nd, out, a->x, b);
        if (o == 'A' && a && (a->k == TV_MS || a->k == TV_VAR) && scalar(B, &s) && s > 0) {
            ox_tv *p = ox_tok_pend(x, nd, out, a->k == TV_MS ? TV_MSE : TV_VARE, a->x, &A->t);
            p->s = (float)s;
            return FR_OK;
        }
        if (o == 'S' && b && b->k == TV_MEAN && b->x == A && A->kind == OX_ACT) { ox_tok_pend(x, nd, out, TV_CEN, A, &A->t); return FR_OK; }
        if (o == 'M' && a && b && a->k == TV_CEN && b->k == TV_CEN && a->x == b->x) { ox_tok_pend(x, nd, out, TV_CSQ, a->x, &A->t); return FR_OK; }
        if (o == 'D' && scalar(A, &s) && s == 1.0 && b && (b->k == TV_RMS || b->k == TV_STD)) {
            ox_tv *p = ox_tok_pend(x, nd, out, b->k == TV_RMS ? TV_IRMS : TV_ISTD, b->x, &B->t);
            p->s = b->s;
            return FR_OK;
        }
        if (o == 'M' && b && b->k == TV_SIG && b->x == A) {
            int n = ox_tok_node(x, nd, "", FR_OP_SILU, 1, &A->node);
            ox_tok_set(out, n, &A->t);
            return FR_OK;
        }
        if (o == 'A' && a && (a->k == TV_ERF || a->k == TV_TANH) && scalar(B, &s) && s == 1.0) {
            ox_tok_pend(x, nd, out, TV_ERF1, a->x, &A->t)->form = a->k == TV_TANH;
            return FR_OK;
        }
        if (o == 'M' && b && b->k == TV_ERF1 && b->x == A) { ox_tok_pend(x, nd, out, TV_XERF1, A, &A->t)->form = b->form; return FR_OK; }
        if (o == 'M' && a && a->k == TV_ERF1 && scalar(B, &s) && near(s, 0.5)) { ox_tok_pend(x, nd, out, TV_HERF1, a->x, &A->t)->form = a->form; return FR_OK; }
        /* tanh GELU's inner polynomial: sqrt(2/pi) (x + 0.044715 x^3), factors in either place */
        if (o == 'M' && b && b->k == TV_SQ && b->x == A) { ox_tok_pend(x, nd, out, TV_CUBE, A, &A->t); return FR_OK; }   /* x (x x) */
        if (o == 'M' && a && a->k == TV_CUBE && scalar(B, &s) && near(s, 0.044715)) { ox_tok_pend(x, nd, out, TV_CUBEC, a->x, &A->t); return FR_OK; }
        if (o == 'A' && b && b->k == TV_CUBEC && b->x == A) { ox_tok_pend(x, nd, out, TV_INNER, A, &A->t); return FR_OK; }
        if (o == 'M' && a && a->k == TV_INNER && scalar(B, &s) && near(s, sqrt(2.0 / M_PI))) { ox_tok_pend(x, nd, out, TV_INNERS, a->x, &A->t); return FR_OK; }
        ox_val *X = NULL;   /* GELU: x (1 + erf) * 0.5, x * (0.5 (1 + erf)), (0.5 x) (1 + erf); tanh likewise */
        int form = 0;
        if (o == 'M' && a && a->k == TV_XERF1 && scalar(B, &s) && near(s, 0.5)) X = a->x, form = a->form;
        if (o == 'M' && b && b->k == TV_HERF1 && b->x == A) X = A, form = b->form;
        if (o == 'M' && a && b && a->k == TV_XC && !a->c && near(a->s, 0.5) && b->k == TV_ERF1 && a->x == b->x) X = a->x, form = b->form;
        if (X) {
            int n = ox_tok_node(x, nd, "", FR_OP_GELU, 1, &X->node);
            x->m->g.nodes[n].a.form = form;
            ox_tok_set(out, n, &X->t);
            return FR_OK;
        }
        if (o == 'M' && a && a->k == TV_ROT && is_const(B)) {
            if (!ox_tok_fits(&B->c, &a->x->t)) return ox_unsupported(x, nd, "a RoPE sin table that does not broadcast over the heads");
            ox_tv *p = ox_tok_pend(x, nd, out, TV_ROTS, a->x, &A->t);
            p->c = &B->c;
            return FR_OK;
        }
        if (o == 'A' && a && b && a->k == TV_XC && b->k == TV_ROTS && a->x == b->x && a->c && a->s == 1.0f) {
            double theta;
            ox_val *R = a->x;
            if (!rope_tables(a->c, b->c, &R->t, &theta))
                return ox_unsupported(x, nd, "rotary tables that are not cos/sin(t * theta^(-2i/d)) in rotate-half order");
            int n = ox_tok_node(x, nd, "", FR_OP_ROPE, 1, &R->node);
            x->m->g.nodes[n].a.heads = R->t.H;
            x->m->g.nodes[n].a.theta = (float)theta;
            ox_tok_set(out, n, &R->t);
            return FR_OK;
        }
        if (a && a->k == TV_SC && !a->masked && (o == 'D' || o == 'M') && scalar(B, &s) && s != 0 && isfinite(s)) {
            ox_tv *p = ox_tok_pend(x, nd, out, TV_SC, a->x, &A->t);
            *p = *a;
            p->s = (float)(o == 'D' ? a->s / s : a->s * s);
            return FR_OK;
        }
        if (o == 'A' && a && a->k == TV_SC && !a->masked && is_const(B)) {
            if (!causal_add(&B->c, a->x->t.T)) return ox_unsupported(x, nd, "an attention mask that is not causal (0 on and below the diagonal, <= -1e4 above)");
            ox_tv *p = ox_tok_pend(x, nd, out, TV_SC, a->x, &A->t);
            *p = *a;
            p->masked = 1;
            return FR_OK;
        }
        /* folding constants into pending linear layers and norms */
        if (o == 'A' && a && a->k == TV_LIN && !a->b && is_const(B) && B->c.n == a->O && B->c.dim[B->c.ndim - 1] == a->O) {
            ox_tv *p = ox_tok_pend(x, nd, out, TV_LIN, a->x, &A->t);
            *p = *a;
            p->b = (float *)ox_fdata(x, &B->c);
            p->bsrc = B->name;
            return FR_OK;
        }
        if ((o == 'M' || (o == 'D' && !sw)) && a && a->k == TV_NORM && !a->gain_done && is_const(B) &&
            (B->c.n == 1 || (B->c.n == A->t.F && B->c.dim[B->c.ndim - 1] == A->t.F))) {
            ox_tv *p = ox_tok_pend(x, nd, out, TV_NORM, a->x, &A->t);
            *p = *a;
            const float *c = ox_fdata(x, &B->c);
            p->g = ox_alloc(&x->ar, (size_t)A->t.F * sizeof(float));
            for (int64_t f = 0; f < A->t.F; f++) p->g[f] = o == 'M' ? a->g[f] * c[B->c.n == 1 ? 0 : f] : a->g[f] / c[B->c.n == 1 ? 0 : f];
            return FR_OK;
        }
        if (o == 'A' && a && a->k == TV_NORM && is_const(B) && (B->c.n == A->t.F && B->c.dim[B->c.ndim - 1] == A->t.F)) {
            if (!a->ln) return ox_unsupported(x, nd, "a bias after an RMS normalisation (frtui's RMSNorm has none)");
            ox_tv *p = ox_tok_pend(x, nd, out, TV_NORM, a->x, &A->t);
            *p = *a;
            const float *c = ox_fdata(x, &B->c);
            p->beta = ox_alloc(&x->ar, (size_t)A->t.F * sizeof(float));
            for (int64_t f = 0; f < A->t.F; f++) p->beta[f] = (a->beta ? a->beta[f] : 0.0f) + c[f];
            p->gain_done = 1;
            return FR_OK;
        }
    }
    A = in[0]; B = in[1];
    /* new patterns: x * x, x * const, x / scalar */
    if (o == 'M' && A == B && is_tok(A)) {   /* x * x (a pending linear layer becomes its node first) */
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        ox_tok_pend(x, nd, out, TV_SQ, A, &A->t);
        return FR_OK;
    }
    for (int sw = 0; sw < 1 + comm; sw++) {
        ox_val *Xv = sw ? in[1] : in[0], *C = sw ? in[0] : in[1];
        if (!is_tok(Xv) || !is_const(C)) continue;
        if (Xv->kind == OX_VIRT && Xv->tv->k == TV_SC) return ox_unsupported(x, nd, "arithmetic on attention scores other than a scale and a causal mask");
        if (ox_tok_real(x, nd, Xv)) return FR_EINPUT;
        if (!ox_tok_fits(&C->c, &Xv->t) && Xv->t.lay != OX_TOK_KT) return ox_unsupported(x, nd, "a constant that does not broadcast against the activation");
        /* a scalar on the transposed keys: torch 2's scaled_dot_product_attention splits the scale
         * as sqrt(s) on q and sqrt(s) on k^T */
        if ((o == 'M' || o == 'D') && (Xv->t.lay != OX_TOK_KT || C->c.n == 1)) {
            if (o == 'D' && C->c.n != 1) break;
            double v = C->c.n == 1 ? ox_const_get(&C->c, 0) : 1.0;
            if (o == 'D' && (v == 0 || !isfinite(v))) return ox_err(x, nd, "division by %g", v);
            ox_tv *p = ox_tok_pend(x, nd, out, TV_XC, Xv, &Xv->t);
            p->s = (float)(o == 'D' ? 1.0 / v : v);
            p->c = C->c.n == 1 ? NULL : &C->c;
            return FR_OK;
        }
        if (Xv->t.lay == OX_TOK_KT) return ox_unsupported(x, nd, "arithmetic on transposed keys");
        if (o == 'A' || (o == 'S' && !sw)) {
            if (ox_tok_act_param(x, nd, out, FR_OP_ADD, Xv, &C->c, o == 'S' ? -1.0 : 1.0, C->name, "") < 0) return FR_EINPUT;
            return FR_OK;
        }
        if (o == 'S') {   /* c - x = (-1) x + c */
            int n1 = ox_tok_scal_param(x, nd, NULL, FR_OP_MUL, Xv, -1.0, ".neg");
            if (n1 < 0) return FR_EINPUT;
            ox_val tmp = *Xv;
            tmp.node = n1;
            if (ox_tok_act_param(x, nd, out, FR_OP_ADD, &tmp, &C->c, 1.0, C->name, "") < 0) return FR_EINPUT;
            return FR_OK;
        }
    }
    if (o == 'D' && is_tok(A) && is_const(B)) {
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        if (!ox_tok_fits(&B->c, &A->t)) return ox_unsupported(x, nd, "a constant that does not broadcast against the activation");
        return ox_tok_act_param(x, nd, out, FR_OP_DIV, A, &B->c, 1.0, B->name, "") < 0 ? FR_EINPUT : FR_OK;
    }
    if (!is_tok(A) || !is_tok(B)) return ox_unsupported(x, nd, "a constant divided by an activation");
    if (ox_tok_real_all(x, nd, in)) return FR_EINPUT;
    if (A->t.lay != B->t.lay || A->t.T != B->t.T || A->t.F != B->t.F || A->t.H != B->t.H || A->t.map || B->t.map ||
        A->t.rep || B->t.rep || A->t.lay == OX_TOK_KT)
        return ox_unsupported(x, nd, "activations of different shapes (frtui adds and multiplies equal shapes only)");
    int ins[2] = {A->node, B->node};
    int n = ox_tok_node(x, nd, "", o == 'A' ? FR_OP_ADD : o == 'S' ? FR_OP_SUB : o == 'M' ? FR_OP_MUL : FR_OP_DIV, 2, ins);
    ox_tok_set(out, n, &A->t);
    return FR_OK;
}

/* A pending linear layer: x (TF or R2) times constant B ([I, O], or [O, I] when transB), times
 * alpha, plus beta * C when given (Gemm). */
int ox_tok_linear(ox_ctx *x, const ox_node *nd, ox_val *A, ox_val *B, int transB, double alpha, ox_val *C, double beta)
{
    ox_val *out = out0(x, nd);
    if (A->t.lay != OX_TOK_TF && A->t.lay != OX_TOK_R2)
        return ox_unsupported(x, nd, "a per-head product with a constant (only [T, F] x [F, O])");
    int64_t I = B->c.ndim == 2 ? B->c.dim[transB] : -1, O = B->c.ndim == 2 ? B->c.dim[!transB] : -1;
    if (I != A->t.F || O < 1) return ox_err(x, nd, "weight '%.80s' is not [%lld, O]", B->name, (long long)A->t.F);
    int rc = ox_tok_budget(x, nd, (size_t)(O * I) * 2 * sizeof(float));
    if (rc) return rc;
    ox_tv *p = ox_tok_pend(x, nd, out, TV_LIN, A, &A->t);
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

int ox_tok_matmul(ox_ctx *x, const ox_node *nd, ox_val **in)
{
    ox_val *A = in[0], *B = in[1], *out = out0(x, nd);
    if (nd->nin != 2 || !A || !B) return ox_err(x, nd, "MatMul needs two inputs");
    if (is_tok(A) && is_const(B)) {
        if (ox_tok_real(x, nd, A)) return FR_EINPUT;
        return ox_tok_linear(x, nd, A, B, 0, 1.0, NULL, 1.0);
    }
    ox_val *Q = A;
    double qs = 1.0;
    if (is_virt(A, TV_XC) && !A->tv->c) { Q = A->tv->x; qs = A->tv->s; }
    if (is_virt(B, TV_XC) && !B->tv->c && B->tv->x->t.lay == OX_TOK_KT) { qs *= B->tv->s; B = B->tv->x; }
    if (is_tok(Q) && Q->kind == OX_ACT && Q->t.lay == OX_TOK_HT && !Q->t.map && !Q->t.rep && is_tok(B) &&
        B->kind == OX_ACT && B->t.lay == OX_TOK_KT) {
        if (B->t.hd != Q->t.hd || B->t.H != Q->t.H || B->t.T != Q->t.T)
            return ox_unsupported(x, nd, "query and key shapes that differ");
        ox_val *K = B;
        ox_tv *p = ox_tok_pend(x, nd, out, TV_SC, Q, &Q->t);
        p->y = K;
        p->s = (float)qs;
        return FR_OK;
    }
    if (is_virt(A, TV_P) && is_tok(B) && B->kind == OX_ACT) return attention(x, nd, A, B);
    if (is_virt(A, TV_SC)) return ox_unsupported(x, nd, "attention probabilities without a causal mask and softmax");
    return ox_unsupported(x, nd, "a product of activations other than attention's q k^T and p v");
}
