/* onnx_int.h — private to src/onnx*.c: parsed ONNX structures shared by the parser (onnx.c),
 * the operator lowering (onnx_ops.c), the constant folder (onnx_fold.c) and the weight
 * rewriter (onnx_write.c).  All parse-time memory comes from one arena freed at the end. */
#ifndef FRTUI_ONNX_INT_H
#define FRTUI_ONNX_INT_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/graph.h"
#include "frtui/onnx.h"
#include "frtui/pb.h"

typedef struct ox_blk ox_blk;
typedef struct ox_arena { ox_blk *head; } ox_arena;
void *ox_alloc(ox_arena *a, size_t n);          /* zeroed; aborts on OOM (sizes pre-checked) */
void ox_arena_free(ox_arena *a);

/* The batch dimension inside folded shape tensors.  It may be moved around (Gather, Concat,
 * Slice...) but any arithmetic on it is refused, and Reshape only accepts it in front. */
#define OX_BATCH (INT64_MIN / 2 + 7)
#define OX_MAXD 8
#define OX_MAX_CONST ((int64_t)1 << 26)   /* elements of a folded constant */

enum { OX_F = 1, OX_I = 2 };
typedef struct ox_const {
    int cls;                 /* OX_F: float data in f; OX_I: int64 data in i */
    int dtype;               /* ONNX TensorProto.DataType it came from / casts to */
    int ndim;
    int64_t dim[OX_MAXD];
    int64_t n;
    float *f;
    int64_t *i;
} ox_const;

typedef struct ox_attr {
    const char *name;
    int has_f, has_i, has_s, has_t, has_g, has_fs, has_is;
    float f;
    int64_t i;
    const char *s;
    const uint8_t *t;
    size_t tlen;
    int nfs, nis;
    float *fs;
    int64_t *is;
} ox_attr;

typedef struct ox_node {
    const char *name, *op, *domain;
    int nin, nout, nattr;
    const char **in, **out;
    ox_attr *attr;
} ox_node;

/* OX_VIRT: a token-mode value still inside an operator pattern (onnx_tok.c), not yet a node. */
enum { OX_UNRESOLVED = 0, OX_CONST = 1, OX_ACT = 2, OX_VIRT = 3 };

/* Token mode (onnx_tok.c): the activations of a transformer fed token ids.  Physically every
 * token activation is one fr node of shape (T, 1, F), F = HP * hd for per-head layouts; its
 * ONNX (logical) shape is one of these layouts, batch first in ONNX and left out here. */
enum { OX_TOK_NONE = 0, OX_TOK_IDS, OX_TOK_TF, OX_TOK_TH, OX_TOK_HT, OX_TOK_KT, OX_TOK_R2 };
typedef struct ox_tok {
    int lay;                 /* OX_TOK_*: IDS [T]; TF [T, F]; TH [T, H, hd]; HT [H, T, hd]; KT [H, hd, T];
                              * R2 [N*T, F]: the tokens of all sequences as rows (x.view(-1, F), Gemm) */
    int64_t T, F;            /* tokens; physical features of the node */
    int H, hd, HP;           /* logical heads, head size, physical heads of the node */
    int *map;                /* logical head -> physical head (arena; NULL = identity, H == HP) */
    int rep;                 /* 0, or r after Unsqueeze(axis 2)/Expand: logical [H, r, T, hd] */
} ox_tok;
typedef struct ox_tv ox_tv;  /* a pending pattern: onnx_tok.c */
typedef struct ox_val {
    const char *name;
    int kind;
    const uint8_t *tp;       /* TensorProto of an initializer (decoded lazily) */
    size_t tplen;
    int init_index;          /* initializer index or -1 */
    ox_const c;
    int node;                /* fr node of an activation */
    int rank;                /* per-sample ONNX rank (batch excluded), 1..3 */
    int64_t d[3];
    int uses;                /* consumers, graph outputs included */
    int producer;            /* ONNX node index, -1 for graph inputs / initializers */
    ox_tok t;                /* token mode only (t.lay != 0) */
    ox_tv *tv;               /* OX_VIRT only */
} ox_val;

/* How a graph tensor relates to the ONNX tensor it came from (for the rewriter). */
typedef struct ox_origin {
    const char *onnx;        /* ONNX initializer / Constant output name; NULL = synthesised */
    int transposed;          /* stored as the transpose of the 2-D ONNX tensor */
    int64_t rows, cols;      /* ONNX 2-D dims when transposed */
    double scale;            /* graph = scale * onnx */
    int is_bias;
} ox_origin;

typedef struct ox_ctx {
    const char *src;
    fr_err *e;
    size_t declared;         /* running total of declared tensor bytes (fr_mem_check_total) */
    ox_arena ar;
    int opset;
    int64_t batch0;          /* declared batch size of the input, -1 when symbolic */
    int nn;
    ox_node *nodes;
    int nv, capv;
    ox_val *vals;
    int *hash;               /* open addressing over vals, capacity hcap (power of two) */
    int hcap;
    fr_model *m;
    int norig, caporig;
    ox_origin *orig;         /* indexed by fr tensor */
    int n_synth;
    int *nhash;              /* node names of m->g: open addressing (arena memory), nhcap slots, */
    int nhcap, nhashed;      /* covering nodes [0, nhashed) */
    const fr_onnx_shape *shape;   /* resolves symbolic input dims (NULL = none); onnx_shape.c */
    int tok_input;           /* the input is token ids (int32/int64 [N, T]): token mode */
} ox_ctx;
/* Index of the graph node called name, or -1: hashed, so that naming n nodes is O(n) (a linear
 * fr_graph_find_node per new node made a 5000-node import quadratic: F5). */
int ox_find_node(ox_ctx *x, const char *name);

int ox_err(ox_ctx *x, const ox_node *nd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A graph input or value_info as parsed: dims -1 where symbolic, with the dim_param name
 * ("" when the dim has neither value nor name). */
typedef struct ox_vi {
    const char *name;
    int elem, ndim, has_shape;
    int64_t dim[OX_MAXD];
    const char *dparam[OX_MAXD];
} ox_vi;
/* onnx_shape.c: the input's per-sample dims d[0..rank-1] (batch excluded), symbolic ones
 * resolved from x->shape; one-line error naming the dim otherwise. */
int ox_input_dims(ox_ctx *x, const ox_vi *in, int64_t *d, int *rank);
int ox_unsupported(ox_ctx *x, const ox_node *nd, const char *why);
const char *ox_node_name(const ox_node *nd);

ox_val *ox_find(ox_ctx *x, const char *name);
ox_val *ox_define(ox_ctx *x, const char *name);
/* Decodes a TensorProto into c (arena memory).  `what` names it in messages. */
int ox_decode_tensor(ox_ctx *x, const uint8_t *tp, size_t len, ox_const *c, const char *what);
/* Resolves a lazily-decoded initializer. */
int ox_resolve(ox_ctx *x, ox_val *v);

const ox_attr *ox_attr_get(const ox_node *nd, const char *name);
int64_t ox_attr_int(const ox_node *nd, const char *name, int64_t def);
float ox_attr_float(const ox_node *nd, const char *name, float def);
int ox_const_alloc(ox_ctx *x, const ox_node *nd, ox_const *c, int cls, int ndim, const int64_t *dim);
double ox_const_get(const ox_const *c, int64_t k);

/* Adds an fr tensor copying `n` floats, recording its origin; returns the tensor index. */
int ox_add_tensor(ox_ctx *x, const char *onnx_name, int ndim, const int64_t *dim, const float *data);

/* onnx_fold.c: when every input is constant (or the op is Shape), computes the outputs as
 * constants and sets *done.  Returns FR_OK or an error. */
int ox_fold(ox_ctx *x, const ox_node *nd, ox_val **in, int *done);
/* onnx_ops.c: lowers one node onto fr nodes. */
int ox_lower(ox_ctx *x, const ox_node *nd, ox_val **in);
/* A new fr node named after nd (+ suffix), unique in the graph. */
int ox_new_node(ox_ctx *x, const ox_node *nd, const char *suffix, fr_op op, int n_in, const int *in);
/* Float copy of a constant (ints converted; arena memory). */
const float *ox_fdata(ox_ctx *x, const ox_const *c);
/* onnx_tok.c: lowers nd when it touches a token-mode value (sets *done); ox_tok_finish turns a
 * graph output still inside a pattern into its node. */
int ox_tok_lower(ox_ctx *x, const ox_node *nd, ox_val **in, int *done);
int ox_tok_finish(ox_ctx *x, ox_val *out);

/* onnx.c: full import with options (fold_bn = 0 keeps FR_OP_BN nodes; the rewriter uses it).
 * When origins is non-NULL it receives the origin table (caller frees with ox_arena_free of
 * *ar, which then owns it). */
int ox_import(const uint8_t *buf, size_t n, const char *src, const fr_onnx_shape *shape, fr_model *m, int fold_bn,
              ox_arena *keep, ox_origin **origins, int *norig, fr_err *e);

#endif
