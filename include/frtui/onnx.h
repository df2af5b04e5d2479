/* onnx.h — ONNX import into an fr_model, and fake-quant ONNX export by weight rewriting.
 *
 * Design note
 *   The importer reads ModelProto with the bounds-checked wire reader in pb.h (no protobuf
 *   library: see the note at the top of src/import/onnx.c), topologically sorts the graph, constant-
 *   folds shape plumbing (Shape/Gather/Concat/... feeding Reshape) with the batch dimension kept
 *   symbolic, and lowers each operator onto the fr_op set.  Then fr_graph_fold_bn and
 *   fr_graph_validate run, so an imported model obeys every invariant in graph.h.
 *   Every refusal is FR_EINPUT with one line "PATH: node NAME: ..." — nothing is skipped.
 *
 *   Name mapping (for fr_onnx_rewrite_weights): a conv/linear weight or bias tensor of the
 *   imported graph carries the ONNX initializer (or Constant-node output) name it came from.
 *   Names longer than FR_NAME_MAX-1 are replaced by "onnx#<k>" (k = index of the initializer in
 *   the file) and the rewriter resolves them the same way.  Transformations the importer made
 *   (Gemm transB=0 / MatMul transpose, Gemm alpha/beta scaling, BatchNormalization folding) are
 *   *undone* by the rewriter, which re-derives them from the original file: callers pass the
 *   weights exactly as they live in the imported graph (e.g. the dequantised BN-folded conv
 *   weight) and the rewriter divides the per-output-channel BN factor gamma/sqrt(var+eps) back
 *   out, so the exported ONNX (which still contains the BatchNormalization node) computes the
 *   fake-quantised function up to float rounding.  Biases created by BN folding (named
 *   "<node>.bias", absent from the ONNX file) and folded biases are refused: only pass weights.
 */
#ifndef FRTUI_ONNX_H
#define FRTUI_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "frtui/graph.h"

/* Input shape for models whose input dims are symbolic (dim_param "height", -1, absent).
 * From --input-shape (strict = 1): every dim the model declares statically must agree.  From
 * the calibration data (strict = 0): fills only the symbolic per-sample dims; static ones stay
 * (the data are resized to them afterwards).  d holds the dims with the batch (n = model rank)
 * or without it (n = rank - 1).  n = 0: none given. */
typedef struct fr_onnx_shape {
    int n;
    int64_t d[4];
    int strict;
} fr_onnx_shape;
/* Parses "1x3x224x224", "3x224x224", "3,224,224" (1..4 positive dims) into s (strict = 1). */
int fr_onnx_parse_shape(const char *text, fr_onnx_shape *s, fr_err *e);

/* Imports an ONNX file.  m must be fr_model_init'ed (or freed); on failure m is left empty. */
int fr_onnx_import(const char *path, fr_model *m, fr_err *e);
/* Same from memory (fuzzers); `name` is used in messages and as the default model name. */
int fr_onnx_import_mem(const void *buf, size_t n, const char *name, fr_model *m, fr_err *e);
/* The same with symbolic input dims resolved from `shape` (NULL = none: symbolic spatial dims
 * are refused with a message asking for --input-shape). */
int fr_onnx_import_shaped(const char *path, const fr_onnx_shape *shape, fr_model *m, fr_err *e);
int fr_onnx_import_mem_shaped(const void *buf, size_t n, const char *name, const fr_onnx_shape *shape, fr_model *m,
                              fr_err *e);

/* Copies in_path to out_path (atomically), replacing the float payload of the listed
 * initializers / Constant-node tensors by data[i] (numel[i] floats, in the layout of the
 * imported graph tensor of that name).  The payload is overwritten in place in its original
 * encoding (raw_data or float_data; FLOAT, DOUBLE or FLOAT16), so every other byte of the file
 * — including all length prefixes — is preserved. */
int fr_onnx_rewrite_weights(const char *in_path, const char *out_path, const char *const *names,
                            const float *const *data, const int64_t *numel, int n, fr_err *e);
/* The same, into a new buffer (*out, freed by the caller) instead of a file. */
int fr_onnx_rewrite_weights_mem(const char *in_path, const char *const *names, const float *const *data,
                                const int64_t *numel, int n, uint8_t **out, size_t *out_n, fr_err *e);
/* The same for a file with symbolic input dims: `shape` as at import (the bundle's input). */
int fr_onnx_rewrite_weights_mem_shaped(const char *in_path, const fr_onnx_shape *shape, const char *const *names,
                                       const float *const *data, const int64_t *numel, int n, uint8_t **out,
                                       size_t *out_n, fr_err *e);

/* Largest ONNX file we read (bytes). */
#define FR_ONNX_MAX_FILE ((size_t)4 << 30)

#endif
