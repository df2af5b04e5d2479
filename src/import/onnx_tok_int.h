/* onnx_tok_int.h — private to src/import/onnx_tok*.c: the pending patterns of token mode.
 * onnx_tok.c owns layouts, materialising and the shape operators; onnx_tok_ops.c the arithmetic
 * patterns (norms, GELU, SiLU, RoPE, attention) and linear layers.  See onnx_tok.c's design note. */
#ifndef FRTUI_ONNX_TOK_INT_H
#define FRTUI_ONNX_TOK_INT_H

#include <math.h>
#include <string.h>

#include "onnx_int.h"

#define OX_TOK_MAX_HEADS 65536   /* bounds head maps (arena ints) and attention's head attributes */

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

static inline int is_op(const ox_node *nd, const char *op) { return strcmp(nd->op, op) == 0; }
static inline int is_tok(const ox_val *v) { return v && (v->kind == OX_ACT || v->kind == OX_VIRT) && v->t.lay; }
static inline int is_virt(const ox_val *v, int k) { return v && v->kind == OX_VIRT && v->tv->k == k; }
static inline int is_const(const ox_val *v) { return v && v->kind == OX_CONST; }

static inline int scalar(const ox_val *v, double *out)
{
    if (!is_const(v) || v->c.n != 1) return 0;
    *out = ox_const_get(&v->c, 0);
    return 1;
}

static inline int near(double a, double b) { return fabs(a - b) <= 1e-6 * fmax(1.0, fabs(b)); }

static inline ox_val *out0(ox_ctx *x, const ox_node *nd) { return nd->nout >= 1 && nd->out[0][0] ? ox_find(x, nd->out[0]) : NULL; }

static inline int norm_axis(int64_t a, int r) { return (int)(a < 0 ? a + r : a); }
static inline int lrank(const ox_tok *t)
{
    return t->lay == OX_TOK_TF ? 3 : t->lay == OX_TOK_IDS || t->lay == OX_TOK_R2 ? 2 : 4 + (t->rep > 0);
}


static inline ox_tok tf(int64_t T, int64_t F) { ox_tok t = {OX_TOK_TF, T, F, 1, (int)F, 1, NULL, 0}; return t; }

/* onnx_tok.c */
int ox_tok_node(ox_ctx *x, const ox_node *nd, const char *suffix, fr_op op, int n_in, const int *in);
void ox_tok_set(ox_val *v, int node, const ox_tok *t);
ox_tv *ox_tok_pend(ox_ctx *x, const ox_node *nd, ox_val *out, int k, ox_val *xv, const ox_tok *t);
int ox_tok_fits(const ox_const *c, const ox_tok *t);
int ox_tok_budget(ox_ctx *x, const ox_node *nd, size_t bytes);
/* Flat index into constant c of physical position (token tt, feature f) of a value laid out as t. */
int ox_tok_cidx(const ox_const *c, const ox_tok *t, int64_t tt, int64_t f, int64_t *k);
int ox_tok_act_param(ox_ctx *x, const ox_node *nd, ox_val *out, fr_op op, ox_val *a, const ox_const *c, double mul,
                     const char *onnx, const char *suffix);
int ox_tok_scal_param(ox_ctx *x, const ox_node *nd, ox_val *out, fr_op op, ox_val *a, double s, const char *suffix);
int ox_tok_real(ox_ctx *x, const ox_node *user, ox_val *v);
int ox_tok_real_all(ox_ctx *x, const ox_node *nd, ox_val **in);
/* onnx_tok_ops.c */
int ox_tok_binary(ox_ctx *x, const ox_node *nd, ox_val **in);
/* Where(cond, ...) keeps the scores exactly on and below the diagonal. */
int ox_tok_causal_where(const ox_const *cond, int64_t T, int scores_if_true);
int ox_tok_matmul(ox_ctx *x, const ox_node *nd, ox_val **in);
int ox_tok_linear(ox_ctx *x, const ox_node *nd, ox_val *A, ox_val *B, int transB, double alpha, ox_val *C, double beta);

#endif
