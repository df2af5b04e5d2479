/* graph.h — the in-memory model: tensors, the operator graph, metadata and datasets.
 *
 * Design note
 *   Everything a bundle (.frm), an importer (ONNX, tfjs) or the trainer produces is an fr_model.
 *   Ownership: the model owns every tensor's data, every node and every dataset; fr_model_free
 *   releases all of it.  Nothing else frees model memory.
 *
 *   Layouts (asserted at module boundaries):
 *   - conv weights  [out, in/groups, kh, kw] row-major; linear weights [out, in] row-major;
 *   - activations   NCHW, batch first.  A node's `shape` is the *per-sample* shape (C, H, W);
 *     vectors (linear outputs, flattened maps) are (C, 1, 1).  The batch size is the only
 *     free dimension of a graph.
 *
 *   Graph invariants (fr_graph_validate checks them; every loader calls it):
 *   - nodes are stored in topological order: every node input index is < the node's own index;
 *   - node 0 is the single FR_OP_INPUT node; the last node is the graph output (logits);
 *   - param tensor indices are valid and their shapes match the node's attributes.
 */
#ifndef FRTUI_GRAPH_H
#define FRTUI_GRAPH_H

#include <stdint.h>

#include "frtui/common.h"

#define FR_NAME_MAX 96
#define FR_MAX_IN 8
#define FR_MAX_PARAM 4
#define FR_MAX_CLASSES 1000

typedef struct fr_tensor {
    char name[FR_NAME_MAX];
    int ndim;            /* 1..4 */
    int64_t dim[4];      /* unused trailing dims are 1 */
    float *data;         /* owned; numel() floats, 64-byte aligned (fr_amalloc) */
} fr_tensor;

int64_t fr_tensor_numel(const fr_tensor *t);

typedef enum fr_op {
    FR_OP_INPUT = 0,
    FR_OP_CONV,        /* params: W [O, I/g, kh, kw], B [O] or -1 */
    FR_OP_LINEAR,      /* params: W [O, I], B [O] or -1; input is flattened per sample */
    FR_OP_RELU,
    FR_OP_RELU6,
    FR_OP_ADD,         /* two activation inputs (same shape), or one input + param 0 broadcast */
    FR_OP_MAXPOOL,
    FR_OP_AVGPOOL,     /* count_include_pad attribute */
    FR_OP_GAP,         /* global average pool -> (C,1,1) */
    FR_OP_FLATTEN,     /* (C,H,W) -> (C*H*W,1,1), no data movement */
    FR_OP_BN,          /* params: gamma, beta, running mean, running var (all [C]); attr eps */
    FR_OP_SOFTMAX,     /* over channels; only used for evaluation output */
    /* Operators that importers need beyond the trained samples. */
    FR_OP_SIGMOID,
    FR_OP_HARDSIGMOID, /* y = clamp(alpha*x + beta, 0, 1) */
    FR_OP_HARDSWISH,   /* y = x * hardsigmoid(x) with alpha=1/6, beta=0.5 */
    FR_OP_CLIP,        /* y = clamp(x, lo, hi) (ReLU6 is imported as FR_OP_RELU6) */
    FR_OP_MUL,         /* elementwise with broadcast: two inputs or input + param 0 */
    FR_OP_SUB,
    FR_OP_DIV,
    FR_OP_CONCAT,      /* along channels (axis 1) */
    FR_OP_PAD,         /* zero padding of H/W (tfjs ZeroPadding2D) */
    FR_OP_TRANSPOSE,   /* permutation of the per-sample dims; attr perm[3] */
    FR_OP_RESHAPE,     /* to attr out shape (C,H,W); data order unchanged */
    /* Token ops (issue 16): a sequence is one sample of shape (T, 1, d), token t's d features
     * contiguous; the normalisations work on each of the C*H rows of W values. */
    FR_OP_LAYERNORM,   /* params: gamma [W], beta [W] or -1; attr eps */
    FR_OP_RMSNORM,     /* params: gamma [W]; attr eps */
    FR_OP_GELU,        /* attr form: 0 erf, 1 tanh approximation */
    FR_OP_SILU,
    FR_OP_ROPE,        /* rotary embedding of (T, 1, heads*hd), positions 0..T-1; attrs heads, theta */
    FR_OP_ATTENTION,   /* inputs q (T,1,heads*hd), k, v (T,1,kv_heads*hd); causal; attrs heads,
                        * kv_heads; scale 1/sqrt(hd) */
    FR_OP_EMBED,       /* input token ids (T,1,1) as exact floats; param table [vocab, d] */
    FR_OP__COUNT
} fr_op;

const char *fr_op_name(fr_op op);
/* Returns -1 for an unknown name. */
int fr_op_from_name(const char *name);

typedef struct fr_attrs {
    int kh, kw;            /* conv / pool kernel */
    int sh, sw;            /* strides */
    int pt, pl, pb, pr;    /* padding top, left, bottom, right */
    int dh, dw;            /* dilation */
    int groups;
    int count_include_pad; /* avgpool */
    float eps;             /* batchnorm */
    float alpha, beta;     /* hardsigmoid; clip lo/hi */
    int perm[3];           /* transpose of per-sample dims */
    int out_c, out_h, out_w; /* reshape target */
    int tokens;            /* linear: > 0 applies W to each of the input's `tokens` rows (input
                            * (tokens, 1, d_in) -> (tokens, 1, d_out)); 0 flattens the input */
    int form;              /* gelu: 0 erf, 1 tanh */
    int heads, kv_heads;   /* rope, attention */
    float theta;           /* rope base (10000 in LLaMA) */
} fr_attrs;

typedef struct fr_node {
    char name[FR_NAME_MAX];
    fr_op op;
    int n_in;
    int in[FR_MAX_IN];       /* indices of producer nodes */
    int n_param;
    int param[FR_MAX_PARAM]; /* tensor indices into fr_graph.tensors; -1 = absent */
    fr_attrs a;
    int c, h, w;             /* per-sample output shape, filled by fr_graph_infer_shapes */
} fr_node;

typedef struct fr_graph {
    int n_nodes, cap_nodes;
    fr_node *nodes;
    int n_tensors, cap_tensors;
    fr_tensor *tensors;
} fr_graph;

/* A dataset stored compactly: raw samples as uint8 (or float32) with an affine map to the
 * model's input range, x = raw * scale + offset, then the model's per-channel normalisation
 * (x - mean[c]) / std[c].  Samples are NCHW, n x c x h x w. */
typedef struct fr_dataset {
    int n, c, h, w;
    int dtype;          /* 0 = uint8, 1 = float32 */
    uint8_t *u8;        /* owned when dtype == 0 */
    float *f32;         /* owned when dtype == 1 */
    float scale, offset;
    int32_t *labels;    /* owned, n entries, or NULL for unlabeled calibration data */
} fr_dataset;

typedef struct fr_meta {
    char name[128];
    int in_c, in_h, in_w;          /* input per-sample shape (NCHW) */
    char layout[8];                /* "NCHW" — the only layout the engine uses */
    float mean[4], std[4];         /* per-channel input normalisation (first in_c used) */
    int n_classes;
    char **class_names;            /* n_classes owned strings, may be NULL */
    char provenance[1024];         /* free text: how it was made (trainer seed, importer source…) */
    int train_threads;             /* thread count the weights were produced with (0 = n/a) */
    char train_blas_core[32];      /* OpenBLAS core they were trained with ("" = n/a) */
    uint64_t train_seed;
} fr_meta;

typedef struct fr_model {
    fr_meta meta;
    fr_graph g;
    fr_dataset calib;              /* n == 0 when absent */
    fr_dataset eval;               /* n == 0 when absent; labels required when present */
    /* Quantization metadata carried by exported quantized bundles: per conv/linear node, the
     * bits and number of scales (see docs/FORMAT.md).  Optional, may be NULL. */
    char *quant_json;
} fr_model;

/* ---- construction ---- */
void fr_graph_init(fr_graph *g);
void fr_graph_free(fr_graph *g);
/* Adds a tensor with the given shape, zero-filled; returns its index.  Aborts on OOM (sizes
 * come from our own code here; loaders check sizes before calling). */
int fr_graph_add_tensor(fr_graph *g, const char *name, int ndim, const int64_t *dim);
/* Adds a node; returns its index.  `in` has n_in entries. */
int fr_graph_add_node(fr_graph *g, const char *name, fr_op op, int n_in, const int *in);
int fr_graph_find_node(const fr_graph *g, const char *name);
int fr_graph_find_tensor(const fr_graph *g, const char *name);

/* Infers every node's per-sample shape from the input shape and attributes, checking
 * parameter shapes.  Returns FR_EINPUT with a message naming the node on any mismatch. */
int fr_graph_infer_shapes(fr_graph *g, int in_c, int in_h, int in_w, fr_err *e);
/* Structural checks (topological order, index ranges, one input, parameter presence), then
 * shape inference, then a scan for NaN/Inf in every tensor.  `src` names the file in messages. */
int fr_graph_validate(fr_graph *g, const fr_meta *m, const char *src, fr_err *e);

/* A language model is a graph whose input (token ids, (T, 1, 1)) is read only by embedding
 * nodes and whose output is (T, 1, V) logits: position t predicts the token at t + 1, so a
 * sample's targets are its own ids shifted by one and no labels are stored.  Returns V, or 0
 * when g is not such a graph. */
int fr_graph_lm_vocab(const fr_graph *g);

/* How the weight of linear node i splits into attention heads: *head_rows = rows per head when
 * its output feeds RoPE or an attention's q/k/v input (q, k, v projections), *head_cols = columns
 * per head when it reads an attention's output (the o projection); 0 otherwise.  The inspector
 * marks head boundaries with them. */
void fr_graph_head_split(const fr_graph *g, int i, int *head_rows, int *head_cols);

/* Number of scalar parameters (sum of tensor sizes). */
int64_t fr_graph_param_count(const fr_graph *g);
/* 1 when the node carries quantizable weights (conv or linear). */
int fr_node_is_layer(const fr_node *n);

/* Folds every FR_OP_BN that directly follows a conv (whose output has no other consumer) into
 * that conv, and removes the BN node (rewiring consumers).  Creates a bias where missing. */
void fr_graph_fold_bn(fr_graph *g);
/* Fuses pairs of clamp-family activations (Relu, Relu6, Clip) where the first has no other
 * consumer into one: torch exports ReLU6 as Relu followed by Clip(0, 6), which would otherwise
 * be two nodes between convs.  The result is Relu, Relu6 or Clip of the intersected interval.
 * A clamp that contains its input's whole range (Relu after Relu6, sigmoid or hard-sigmoid;
 * Clip(0,6) after Relu6) is removed outright, unless it is the output node.  Returns the number
 * of nodes removed.  Importers call it; stored bundles are not rewritten. */
int fr_graph_fuse_acts(fr_graph *g);

/* Deep copy (tensors included) into an uninitialised dst. */
void fr_graph_copy(fr_graph *dst, const fr_graph *src);

/* ---- model ---- */
void fr_model_init(fr_model *m);
void fr_model_free(fr_model *m);
void fr_dataset_free(fr_dataset *d);
/* Writes sample i of d into out (c*h*w floats), applying scale/offset and the model's
 * normalisation. */
void fr_dataset_sample(const fr_dataset *d, const fr_meta *m, int i, float *out);

#endif
